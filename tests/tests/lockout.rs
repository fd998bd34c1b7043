//! PIN lockout across processes (issue 5): wrong user PINs tried by two processes add up in
//! the durable counter; at the limit (10) the PIN is locked for both (`CKR_PIN_LOCKED`, even
//! for the right PIN, with `CKF_USER_PIN_LOCKED` in `C_GetTokenInfo`), and the SO's
//! `C_InitPIN` unlocks it for both. On the file and SQLite stores.

mod storage_common;

use cryptoki::context::Pkcs11;
use cryptoki::error::Error;
use cryptoki::session::UserType;
use cryptoki::slot::Slot;

use storage_common::{LABEL, SO_PIN, USER_PIN, init_token, load, pin, report, run_role, slot_by_label};

const NEW_PIN: &str = "new-user-pin-99";

#[test]
fn lockout() {
    storage_common::main(
        "lockout",
        &[("failures_from_two_processes_add_up", failures_from_two_processes_add_up)],
        &[("other", other)],
    );
}

fn rv<T>(r: cryptoki::error::Result<T>) -> String {
    match r {
        Ok(_) => "ok".into(),
        Err(Error::Pkcs11(e, _)) => format!("{e:?}"),
        Err(e) => format!("{e}"),
    }
}

/// `CK_TOKEN_INFO`'s user PIN flags as `low,final,locked` (0/1 each).
fn flags(ctx: &Pkcs11, slot: Slot) -> String {
    let i = ctx.get_token_info(slot).expect("C_GetTokenInfo");
    format!(
        "{},{},{}",
        u8::from(i.user_pin_count_low()),
        u8::from(i.user_pin_final_try()),
        u8::from(i.user_pin_locked())
    )
}

/// `n` wrong user logins, their results joined.
fn wrong_logins(ctx: &Pkcs11, slot: Slot, n: usize) -> String {
    let session = ctx.open_ro_session(slot).expect("C_OpenSession");
    (0..n)
        .map(|_| rv(session.login(UserType::User, Some(&pin("wrong-pin-000")))))
        .collect::<Vec<_>>()
        .join(",")
}

fn failures_from_two_processes_add_up() {
    let ctx = load();
    let slot = init_token(&ctx, LABEL);
    let incorrect = |n: usize| vec!["PinIncorrect"; n].join(",");

    // 4 here, 4 there: 8 failures, which this process sees without re-initialising.
    assert_eq!(wrong_logins(&ctx, slot, 4), incorrect(4));
    assert_eq!(run_role("other", "wrong 4"), [incorrect(4), "1,0,0".into()]);
    assert_eq!(flags(&ctx, slot), "1,0,0", "count low after 8 of 10");
    // The 9th here: the final try, seen by the other process too.
    assert_eq!(wrong_logins(&ctx, slot, 1), incorrect(1));
    assert_eq!(flags(&ctx, slot), "1,1,0");
    assert_eq!(run_role("other", "flags"), ["1,1,0"]);
    // The 10th there locks the PIN: for both, even the right PIN is refused.
    assert_eq!(run_role("other", "wrong 1"), [incorrect(1), "0,0,1".into()]);
    let session = ctx.open_ro_session(slot).expect("C_OpenSession");
    assert_eq!(rv(session.login(UserType::User, Some(&pin(USER_PIN)))), "PinLocked");
    assert_eq!(flags(&ctx, slot), "0,0,1");
    assert_eq!(run_role("other", "login user-pin-1234"), ["PinLocked"]);
    drop(session);

    // The SO unlocks it (in the other process), with a new user PIN.
    assert_eq!(run_role("other", "unlock"), ["ok", "0,0,0"]);
    assert_eq!(flags(&ctx, slot), "0,0,0", "unlocked, counter reset");
    let session = ctx.open_ro_session(slot).expect("C_OpenSession");
    assert_eq!(
        rv(session.login(UserType::User, Some(&pin(USER_PIN)))),
        "PinIncorrect",
        "the old PIN is gone"
    );
    session.login(UserType::User, Some(&pin(NEW_PIN))).expect("C_Login with the new PIN");
    session.logout().expect("C_Logout");
    // A success resets the count: one failure is "low" again, not a step towards 10+1.
    assert_eq!(wrong_logins(&ctx, slot, 1), incorrect(1));
    session.login(UserType::User, Some(&pin(NEW_PIN))).expect("C_Login");
    assert_eq!(flags(&ctx, slot), "0,0,0");
    assert_eq!(run_role("other", &format!("login {NEW_PIN}")), ["ok"]);
}

fn other(arg: &str) {
    let ctx = load();
    let slot = slot_by_label(&ctx, LABEL).expect("the token");
    let mut words = arg.split(' ');
    match (words.next(), words.next()) {
        (Some("wrong"), Some(n)) => {
            report(&wrong_logins(&ctx, slot, n.parse().expect("a count")));
            report(&flags(&ctx, slot));
        }
        (Some("flags"), None) => report(&flags(&ctx, slot)),
        (Some("login"), Some(p)) => {
            let session = ctx.open_ro_session(slot).expect("C_OpenSession");
            report(&rv(session.login(UserType::User, Some(&pin(p)))));
        }
        (Some("unlock"), None) => {
            let session = ctx.open_rw_session(slot).expect("C_OpenSession");
            session.login(UserType::So, Some(&pin(SO_PIN))).expect("C_Login(SO)");
            report(&rv(session.init_pin(&pin(NEW_PIN))));
            session.logout().expect("C_Logout");
            report(&flags(&ctx, slot));
        }
        other => panic!("unknown request {other:?}"),
    }
}
