//! Tokens, PINs and the login state machine: `C_InitToken`, `C_InitPIN`, `C_SetPIN`, `C_Login`,
//! `C_Logout`, with every error the spec names for them.

mod common;

use core::ptr;

use cryptoki::object::{Attribute, ObjectClass};
use cryptoki::session::{Session, SessionState, UserType};
use cryptoki_sys::{CK_ULONG, CK_USER_TYPE, CKR_OK, CKU_CONTEXT_SPECIFIC};

use common::raw::ulong;
use common::{Hsm, SO_PIN, Skip, TOKEN_LABEL, USER_PIN, pin, run};

fn data_object(session: &Session, label: &str) -> cryptoki::object::ObjectHandle {
    session
        .create_object(&[
            Attribute::Class(ObjectClass::DATA),
            Attribute::Token(true),
            Attribute::Private(false),
            Attribute::Label(label.as_bytes().to_vec()),
            Attribute::Value(b"some data".to_vec()),
        ])
        .expect("C_CreateObject(data)")
}

#[test]
fn init_token_sets_label_and_is_found_by_label() {
    run("init_token_sets_label_and_is_found_by_label", Skip::Never, || {
        let hsm = Hsm::load();
        let slot = hsm.token();
        let info = hsm.ctx.get_token_info(slot).expect("C_GetTokenInfo");
        assert_eq!(info.label(), TOKEN_LABEL);
        assert!(info.token_initialized() && info.user_pin_initialized());
        // A second token goes into the next empty slot; the first one is untouched.
        let second = hsm.token_labelled("second token");
        assert_ne!(second, slot, "the second token took the first one's slot");
        assert_eq!(hsm.slot_by_label(TOKEN_LABEL), Some(slot));
        assert_eq!(hsm.slot_by_label("second token"), Some(second));
        let info = hsm.ctx.get_token_info(second).expect("C_GetTokenInfo");
        assert_ne!(
            info.serial_number(),
            hsm.ctx.get_token_info(slot).expect("C_GetTokenInfo").serial_number(),
            "two tokens with one serial number"
        );
    });
}

#[test]
fn reinit_with_wrong_so_pin_is_pin_incorrect() {
    run("reinit_with_wrong_so_pin_is_pin_incorrect", Skip::Never, || {
        let hsm = Hsm::load();
        let slot = hsm.token();
        assert_rv!(hsm.ctx.init_token(slot, &pin("wrong-so-pin"), "relabelled"), PinIncorrect);
        let info = hsm.ctx.get_token_info(slot).expect("C_GetTokenInfo");
        assert_eq!(info.label(), TOKEN_LABEL, "a refused C_InitToken changed the label");
        assert!(info.user_pin_initialized(), "a refused C_InitToken reset the user PIN");
    });
}

#[test]
fn reinit_with_session_open_is_session_exists() {
    run("reinit_with_session_open_is_session_exists", Skip::Never, || {
        let hsm = Hsm::load();
        let slot = hsm.token();
        let session = hsm.ctx.open_ro_session(slot).expect("C_OpenSession");
        assert_rv!(hsm.ctx.init_token(slot, &pin(SO_PIN), "relabelled"), SessionExists);
        session.close().expect("C_CloseSession");
        hsm.ctx.init_token(slot, &pin(SO_PIN), "relabelled").expect("C_InitToken once the session is closed");
    });
}

#[test]
fn reinit_destroys_objects_and_user_pin() {
    run("reinit_destroys_objects_and_user_pin", Skip::Never, || {
        let hsm = Hsm::load();
        let slot = hsm.token();
        {
            let session = hsm.user_session(slot);
            data_object(&session, "doomed");
            session
                .create_object(&[
                    Attribute::Class(ObjectClass::DATA),
                    Attribute::Token(true),
                    Attribute::Private(true),
                    Attribute::Label(b"doomed private".to_vec()),
                ])
                .expect("C_CreateObject(private data)");
            let found = session.find_objects(&[]).expect("C_FindObjects");
            assert_eq!(found.len(), 2, "two objects before re-initialisation");
        }
        hsm.ctx.init_token(slot, &pin(SO_PIN), "reborn").expect("C_InitToken (re-initialise)");
        let slot = hsm.slot_by_label("reborn").expect("the re-initialised token");
        let info = hsm.ctx.get_token_info(slot).expect("C_GetTokenInfo");
        assert!(info.token_initialized());
        assert!(!info.user_pin_initialized(), "C_InitToken must leave the user PIN uninitialised");
        let session = hsm.ctx.open_rw_session(slot).expect("C_OpenSession");
        assert_eq!(
            session.find_objects(&[]).expect("C_FindObjects"),
            vec![],
            "public objects survived C_InitToken"
        );
        assert_rv!(session.login(UserType::User, Some(&pin(USER_PIN))), UserPinNotInitialized);
        session.login(UserType::So, Some(&pin(SO_PIN))).expect("the SO PIN is the one given to C_InitToken");
        session.init_pin(&pin(USER_PIN)).expect("C_InitPIN");
        session.logout().expect("C_Logout");
        session.login(UserType::User, Some(&pin(USER_PIN))).expect("C_Login(USER)");
        assert_eq!(
            session.find_objects(&[]).expect("C_FindObjects"),
            vec![],
            "private objects survived C_InitToken"
        );
    });
}

#[test]
fn init_pin_needs_the_so() {
    run("init_pin_needs_the_so", Skip::Never, || {
        let hsm = Hsm::load();
        let slot = hsm.init_token_only(TOKEN_LABEL);
        let session = hsm.ctx.open_rw_session(slot).expect("C_OpenSession");
        assert_rv!(session.init_pin(&pin(USER_PIN)), UserNotLoggedIn);
        assert_rv!(session.login(UserType::User, Some(&pin(USER_PIN))), UserPinNotInitialized);
        session.login(UserType::So, Some(&pin(SO_PIN))).expect("C_Login(SO)");
        session.init_pin(&pin(USER_PIN)).expect("C_InitPIN");
        session.logout().expect("C_Logout");
        session.login(UserType::User, Some(&pin(USER_PIN))).expect("C_Login(USER)");
        // A user cannot set its own PIN with C_InitPIN.
        assert_rv!(session.init_pin(&pin("another-pin")), UserNotLoggedIn);
    });
}

#[test]
fn set_pin_changes_user_and_so_pins() {
    run("set_pin_changes_user_and_so_pins", Skip::Never, || {
        let hsm = Hsm::load();
        let slot = hsm.token();
        let new_user = "new-user-pin";
        let new_so = "new-so-pin-99";

        // The user's PIN, from a user session.
        let session = hsm.user_session(slot);
        assert_rv!(session.set_pin(&pin("not-the-pin"), &pin(new_user)), PinIncorrect);
        session.set_pin(&pin(USER_PIN), &pin(new_user)).expect("C_SetPIN(user)");
        session.logout().expect("C_Logout");
        assert_rv!(session.login(UserType::User, Some(&pin(USER_PIN))), PinIncorrect);
        session.login(UserType::User, Some(&pin(new_user))).expect("C_Login with the new user PIN");
        session.logout().expect("C_Logout");

        // Not logged in, C_SetPIN changes the user's PIN.
        session.set_pin(&pin(new_user), &pin(USER_PIN)).expect("C_SetPIN(user) in a public session");
        session
            .login(UserType::User, Some(&pin(USER_PIN)))
            .expect("C_Login with the user PIN set in a public session");
        session.logout().expect("C_Logout");

        // The SO's PIN, from an SO session.
        session.login(UserType::So, Some(&pin(SO_PIN))).expect("C_Login(SO)");
        assert_rv!(session.set_pin(&pin("not-the-pin"), &pin(new_so)), PinIncorrect);
        session.set_pin(&pin(SO_PIN), &pin(new_so)).expect("C_SetPIN(SO)");
        session.logout().expect("C_Logout");
        assert_rv!(session.login(UserType::So, Some(&pin(SO_PIN))), PinIncorrect);
        session.login(UserType::So, Some(&pin(new_so))).expect("C_Login with the new SO PIN");
        session.logout().expect("C_Logout");
        drop(session);
        // The user PIN is untouched by the SO's change.
        drop(hsm.user_session(slot));

        // C_SetPIN is refused in a read-only session.
        let ro = hsm.ctx.open_ro_session(slot).expect("C_OpenSession(R/O)");
        assert_rv!(ro.set_pin(&pin(USER_PIN), &pin(new_user)), SessionReadOnly);
    });
}

#[test]
fn pin_length_is_checked() {
    run("pin_length_is_checked", Skip::Never, || {
        let hsm = Hsm::load();
        let slot = hsm.init_token_only(TOKEN_LABEL);
        let info = hsm.ctx.get_token_info(slot).expect("C_GetTokenInfo");
        let (min, max) = (info.min_pin_length(), info.max_pin_length());
        let too_long = "9".repeat(max + 1);
        let session = hsm.ctx.open_rw_session(slot).expect("C_OpenSession");
        session.login(UserType::So, Some(&pin(SO_PIN))).expect("C_Login(SO)");
        if min > 1 {
            let too_short = "1".repeat(min - 1);
            assert_rv!(session.init_pin(&pin(&too_short)), PinLenRange);
        } else {
            common::note(&format!("minimum PIN length is {min}: no too-short PIN to test"));
        }
        assert_rv!(session.init_pin(&pin(&too_long)), PinLenRange);
        session.init_pin(&pin(USER_PIN)).expect("C_InitPIN");
        session.logout().expect("C_Logout");
        session.login(UserType::User, Some(&pin(USER_PIN))).expect("C_Login(USER)");
        assert_rv!(session.set_pin(&pin(USER_PIN), &pin(&too_long)), PinLenRange);
        if min > 1 {
            let too_short = "1".repeat(min - 1);
            assert_rv!(session.set_pin(&pin(USER_PIN), &pin(&too_short)), PinLenRange);
        }
        // The refused changes left the PIN as it was.
        session.logout().expect("C_Logout");
        session.login(UserType::User, Some(&pin(USER_PIN))).expect("C_Login(USER) with the unchanged PIN");
    });
}

#[test]
fn login_state_machine() {
    run("login_state_machine", Skip::Never, || {
        let hsm = Hsm::load();
        let slot = hsm.token();
        let a = hsm.ctx.open_rw_session(slot).expect("C_OpenSession");
        let b = hsm.ctx.open_rw_session(slot).expect("C_OpenSession");

        assert_rv!(a.login(UserType::User, Some(&pin("wrong-pin"))), PinIncorrect);
        assert_rv!(a.login(UserType::So, Some(&pin("wrong-pin"))), PinIncorrect);

        a.login(UserType::User, Some(&pin(USER_PIN))).expect("C_Login(USER)");
        assert_rv!(a.login(UserType::User, Some(&pin(USER_PIN))), UserAlreadyLoggedIn);
        // Login state belongs to the application, not the session.
        assert_rv!(b.login(UserType::User, Some(&pin(USER_PIN))), UserAlreadyLoggedIn);
        assert_rv!(b.login(UserType::So, Some(&pin(SO_PIN))), UserAnotherAlreadyLoggedIn);
        b.logout().expect("C_Logout from the other session");
        let info = a.get_session_info().expect("C_GetSessionInfo");
        assert_eq!(info.session_state(), SessionState::RwPublic, "logout in b logs a out");

        // The SO cannot log in while a read-only session is open.
        let ro = hsm.ctx.open_ro_session(slot).expect("C_OpenSession(R/O)");
        assert_rv!(a.login(UserType::So, Some(&pin(SO_PIN))), SessionReadOnlyExists);
        ro.close().expect("C_CloseSession");
        a.login(UserType::So, Some(&pin(SO_PIN))).expect("C_Login(SO)");
        assert_rv!(a.login(UserType::So, Some(&pin(SO_PIN))), UserAlreadyLoggedIn);
        assert_rv!(b.login(UserType::User, Some(&pin(USER_PIN))), UserAnotherAlreadyLoggedIn);
        // While the SO is logged in, no read-only session can be opened.
        assert_rv!(hsm.ctx.open_ro_session(slot), SessionReadWriteSoExists);
        let info = b.get_session_info().expect("C_GetSessionInfo");
        assert_eq!(info.session_state(), SessionState::RwSecurityOfficer);
        a.logout().expect("C_Logout(SO)");
        // After the SO logs out, the user can log in.
        b.login(UserType::User, Some(&pin(USER_PIN))).expect("C_Login(USER) after the SO logged out");
    });
}

#[test]
fn login_rejects_bad_user_types() {
    run("login_rejects_bad_user_types", Skip::Never, || {
        let hsm = Hsm::load();
        let slot = hsm.token();
        let session = hsm.ctx.open_rw_session(slot).expect("C_OpenSession");
        let raw = hsm.raw();
        let user_pin = USER_PIN.as_bytes();
        let login = |user: CK_USER_TYPE| {
            // SAFETY: the PIN buffer is live for its length.
            unsafe {
                ck_fn!(raw, C_Login)(
                    session.handle(),
                    user,
                    user_pin.as_ptr().cast_mut(),
                    ulong(user_pin.len()),
                )
            }
        };
        assert_ck!(login(7), CKR_USER_TYPE_INVALID);
        // CKU_CONTEXT_SPECIFIC without an operation that needs it.
        assert_ck!(login(CKU_CONTEXT_SPECIFIC), CKR_OPERATION_NOT_INITIALIZED);
        // C_Login with a NULL PIN of length 0 is a protected-path login, which this token
        // does not have; it must not be taken for an empty PIN that matches.
        // SAFETY: NULL with length 0 is allowed by the ABI.
        let rv = unsafe {
            ck_fn!(raw, C_Login)(session.handle(), cryptoki_sys::CKU_USER, ptr::null_mut(), 0 as CK_ULONG)
        };
        assert!(rv != CKR_OK, "C_Login(USER, NULL, 0) logged in");
        assert_ck!(login(cryptoki_sys::CKU_USER), CKR_OK);
    });
}

#[test]
fn logout_of_the_last_session_ends_the_login() {
    run("logout_of_the_last_session_ends_the_login", Skip::Never, || {
        let hsm = Hsm::load();
        let slot = hsm.token();
        let session = hsm.user_session(slot);
        session.close().expect("C_CloseSession");
        let session = hsm.ctx.open_rw_session(slot).expect("C_OpenSession");
        let info = session.get_session_info().expect("C_GetSessionInfo");
        assert_eq!(
            info.session_state(),
            SessionState::RwPublic,
            "closing the last session must log the user out"
        );
    });
}

#[test]
fn logout_without_login_is_user_not_logged_in() {
    run(
        "logout_without_login_is_user_not_logged_in",
        Skip::OnSoftHsm("SoftHSM's C_Logout returns CKR_OK when nobody is logged in"),
        || {
            let hsm = Hsm::load();
            let slot = hsm.token();
            let a = hsm.ctx.open_rw_session(slot).expect("C_OpenSession");
            let b = hsm.ctx.open_ro_session(slot).expect("C_OpenSession");
            assert_rv!(a.logout(), UserNotLoggedIn);
            a.login(UserType::User, Some(&pin(USER_PIN))).expect("C_Login(USER)");
            b.logout().expect("C_Logout from another session");
            assert_rv!(a.logout(), UserNotLoggedIn);
            assert_rv!(b.logout(), UserNotLoggedIn);
        },
    );
}
