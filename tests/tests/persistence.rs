//! Persistence: token objects, PINs and labels survive `C_Finalize`/`C_Initialize` and are seen by
//! other processes (which run as helper "tests" of this binary, in their own process, on the same
//! token directory); slot IDs are stable.

mod common;

use cryptoki::mechanism::Mechanism;
use cryptoki::mechanism::aead::GcmParams;
use cryptoki::object::{Attribute, AttributeType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use p256::ecdsa::Signature;
use p256::ecdsa::signature::hazmat::PrehashVerifier as _;
use sha2::Digest as _;

use common::keys::{self};
use common::{Hsm, SO_PIN, Skip, TOKEN_LABEL, USER_PIN, bytes_attr, helper, pin, run, run_helper};

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex")).collect()
}

/// The value of `KEY=value` among a helper's results.
fn result<'a>(results: &'a [String], key: &str) -> &'a str {
    results
        .iter()
        .find_map(|line| line.strip_prefix(key)?.strip_prefix('='))
        .unwrap_or_else(|| panic!("the helper reported no {key}: {results:?}"))
}

fn find_one(session: &Session, template: &[Attribute]) -> ObjectHandle {
    let found = session.find_objects(template).expect("C_FindObjects");
    assert_eq!(found.len(), 1, "expected one object for {template:?}, found {found:?}");
    found[0]
}

fn labels(session: &Session, class: ObjectClass) -> Vec<String> {
    let mut labels: Vec<String> = session
        .find_objects(&[Attribute::Class(class)])
        .expect("C_FindObjects")
        .into_iter()
        .map(|h| String::from_utf8_lossy(&bytes_attr(session, h, AttributeType::Label)).into_owned())
        .collect();
    labels.sort();
    labels
}

fn create_data(session: &Session, label: &str, token: bool) -> ObjectHandle {
    session
        .create_object(&[
            Attribute::Class(ObjectClass::DATA),
            Attribute::Token(token),
            Attribute::Private(false),
            Attribute::Label(label.as_bytes().to_vec()),
            Attribute::Value(label.as_bytes().to_vec()),
        ])
        .expect("C_CreateObject(data)")
}

fn gcm_encrypt(session: &Session, key: ObjectHandle) -> Vec<u8> {
    let mut iv = [7u8; 12];
    let params = GcmParams::new(&mut iv, b"", 128.into()).expect("GCM params");
    session.encrypt(&Mechanism::AesGcm(params), key, b"persistent secret").expect("C_Encrypt(CKM_AES_GCM)")
}

#[test]
fn token_survives_finalize_and_initialize() {
    run("token_survives_finalize_and_initialize", Skip::Never, || {
        let hsm = Hsm::load();
        let slot = hsm.token();
        let serial = hsm.ctx.get_token_info(slot).expect("C_GetTokenInfo").serial_number().to_owned();
        let (ciphertext, public_point) = {
            let session = hsm.user_session(slot);
            let key = session
                .generate_key(
                    &Mechanism::AesKeyGen,
                    &[
                        Attribute::Token(true),
                        Attribute::Private(true),
                        Attribute::Sensitive(true),
                        Attribute::ValueLen(32.into()),
                        Attribute::Encrypt(true),
                        Attribute::Label(b"persistent aes".to_vec()),
                        Attribute::Id(vec![0xae, 5]),
                    ],
                )
                .expect("C_GenerateKey");
            let (public, _) = keys::ec_pair(&session, true, "persistent ec", &[]);
            create_data(&session, "token data", true);
            create_data(&session, "session data", false);
            (gcm_encrypt(&session, key), bytes_attr(&session, public, AttributeType::EcPoint))
        };
        hsm.finalize();
        hsm.reinitialize();

        let slot = hsm.slot_by_label(TOKEN_LABEL).expect("the token after C_Finalize/C_Initialize");
        let info = hsm.ctx.get_token_info(slot).expect("C_GetTokenInfo");
        assert_eq!(info.serial_number(), serial);
        assert!(info.token_initialized() && info.user_pin_initialized());
        let session = hsm.ctx.open_rw_session(slot).expect("C_OpenSession");
        assert_eq!(labels(&session, ObjectClass::DATA), ["token data"]);
        assert_eq!(labels(&session, ObjectClass::SECRET_KEY), Vec::<String>::new());
        session.login(UserType::User, Some(&pin(USER_PIN))).expect("C_Login with the same user PIN");
        let key =
            find_one(&session, &[Attribute::Class(ObjectClass::SECRET_KEY), Attribute::Id(vec![0xae, 5])]);
        assert_eq!(bytes_attr(&session, key, AttributeType::Label), b"persistent aes");
        assert_eq!(gcm_encrypt(&session, key), ciphertext, "the reloaded key is the same key");
        let public = find_one(
            &session,
            &[Attribute::Class(ObjectClass::PUBLIC_KEY), Attribute::Label(b"persistent ec".to_vec())],
        );
        assert_eq!(bytes_attr(&session, public, AttributeType::EcPoint), public_point);
        find_one(
            &session,
            &[Attribute::Class(ObjectClass::PRIVATE_KEY), Attribute::Label(b"persistent ec".to_vec())],
        );
        assert!(common::bool_attr(&session, key, AttributeType::Local), "CKA_LOCAL survives");
    });
}

#[test]
fn pin_and_label_changes_persist() {
    run("pin_and_label_changes_persist", Skip::Never, || {
        let hsm = Hsm::load();
        let slot = hsm.token();
        {
            let session = hsm.user_session(slot);
            session.set_pin(&pin(USER_PIN), &pin("changed-user-pin")).expect("C_SetPIN(user)");
            session.logout().expect("C_Logout");
            session.login(UserType::So, Some(&pin(SO_PIN))).expect("C_Login(SO)");
            session.set_pin(&pin(SO_PIN), &pin("changed-so-pin")).expect("C_SetPIN(SO)");
        }
        hsm.finalize();
        hsm.reinitialize();
        let slot = hsm.slot_by_label(TOKEN_LABEL).expect("the token");
        let session = hsm.ctx.open_rw_session(slot).expect("C_OpenSession");
        assert_rv!(session.login(UserType::User, Some(&pin(USER_PIN))), PinIncorrect);
        session
            .login(UserType::User, Some(&pin("changed-user-pin")))
            .expect("C_Login with the changed user PIN");
        session.logout().expect("C_Logout");
        assert_rv!(session.login(UserType::So, Some(&pin(SO_PIN))), PinIncorrect);
        session.login(UserType::So, Some(&pin("changed-so-pin"))).expect("C_Login with the changed SO PIN");
        session.logout().expect("C_Logout");
        drop(session);
        // Re-initialise under the new SO PIN with a new label: that persists too.
        hsm.ctx.init_token(slot, &pin("changed-so-pin"), "relabelled").expect("C_InitToken");
        hsm.finalize();
        hsm.reinitialize();
        assert!(hsm.slot_by_label(TOKEN_LABEL).is_none(), "the old label is gone");
        let slot = hsm.slot_by_label("relabelled").expect("the relabelled token");
        let info = hsm.ctx.get_token_info(slot).expect("C_GetTokenInfo");
        assert!(!info.user_pin_initialized());
    });
}

#[test]
fn another_process_uses_the_token() {
    run("another_process_uses_the_token", Skip::Never, || {
        let hsm = Hsm::load();
        let slot = hsm.token();
        let session = hsm.user_session(slot);
        let (public, _) = keys::ec_pair(&session, true, "shared ec", &[]);
        create_data(&session, "from the parent", true);
        let verifying = keys::verifying_key(&session, public);

        let results = run_helper("helper_signs_with_the_token_key", &[]);
        let sig = unhex(result(&results, "signature"));
        let sig = Signature::from_slice(&sig).expect("a P-256 signature from the child");
        verifying
            .verify_prehash(&sha2::Sha256::digest(b"signed by the child"), &sig)
            .expect("the child signed with the parent's key");
        assert_eq!(result(&results, "data"), "from the parent");
    });
}

#[test]
#[ignore = "helper: run by another_process_uses_the_token in its own process"]
fn helper_signs_with_the_token_key() {
    helper("helper_signs_with_the_token_key", || {
        let hsm = Hsm::load();
        let slot = hsm.slot_by_label(TOKEN_LABEL).expect("the parent's token");
        let session = hsm.user_session(slot);
        let private = find_one(
            &session,
            &[Attribute::Class(ObjectClass::PRIVATE_KEY), Attribute::Label(b"shared ec".to_vec())],
        );
        let sig = session
            .sign(&Mechanism::Ecdsa, private, &sha2::Sha256::digest(b"signed by the child"))
            .expect("C_Sign");
        println!("RESULT signature={}", hex(&sig));
        let data = find_one(&session, &[Attribute::Class(ObjectClass::DATA)]);
        let value = bytes_attr(&session, data, AttributeType::Value);
        println!("RESULT data={}", String::from_utf8_lossy(&value));
    });
}

#[test]
fn objects_made_elsewhere_are_seen_without_reinitializing() {
    run("objects_made_elsewhere_are_seen_without_reinitializing", Skip::Never, || {
        let hsm = Hsm::load();
        let slot = hsm.token();
        let session = hsm.user_session(slot);
        create_data(&session, "parent 1", true);

        // Another process adds an object while this one is initialised and logged in.
        run_helper("helper_edits_objects", &[("HELPER_ADD", "child 1")]);
        assert_eq!(
            labels(&session, ObjectClass::DATA),
            ["child 1", "parent 1"],
            "an object created by another process is visible here"
        );
        // This process writes after the other one: nothing of either is lost.
        create_data(&session, "parent 2", true);
        let results = run_helper("helper_edits_objects", &[("HELPER_DELETE", "child 1")]);
        assert_eq!(result(&results, "labels"), "child 1,parent 1,parent 2");
        assert_eq!(
            labels(&session, ObjectClass::DATA),
            ["parent 1", "parent 2"],
            "an object destroyed by another process is gone here"
        );
    });
}

#[test]
#[ignore = "helper: run by objects_made_elsewhere_are_seen_without_reinitializing"]
fn helper_edits_objects() {
    helper("helper_edits_objects", || {
        let hsm = Hsm::load();
        let slot = hsm.slot_by_label(TOKEN_LABEL).expect("the parent's token");
        let session = hsm.user_session(slot);
        println!("RESULT labels={}", labels(&session, ObjectClass::DATA).join(","));
        if let Ok(label) = std::env::var("HELPER_ADD") {
            create_data(&session, &label, true);
        }
        if let Ok(label) = std::env::var("HELPER_DELETE") {
            let object = find_one(&session, &[Attribute::Label(label.into_bytes())]);
            session.destroy_object(object).expect("C_DestroyObject");
        }
    });
}

#[test]
fn slot_ids_are_stable() {
    run(
        "slot_ids_are_stable",
        Skip::OnSoftHsm(
            "SoftHSM renumbers an initialised token's slot from its serial number when the \
             library is next initialised",
        ),
        || {
            let hsm = Hsm::load();
            let slot = hsm.token();
            let second = hsm.token_labelled("second token");
            let results = run_helper("helper_reports_slots", &[]);
            assert_eq!(
                result(&results, "first"),
                slot.id().to_string(),
                "another process sees the token in another slot"
            );
            assert_eq!(result(&results, "second"), second.id().to_string());
            hsm.finalize();
            hsm.reinitialize();
            assert_eq!(hsm.slot_by_label(TOKEN_LABEL), Some(slot), "after C_Initialize");
            assert_eq!(hsm.slot_by_label("second token"), Some(second));
            // The empty slot is still listed last, under an ID no token has.
            let empty = hsm.empty_slot();
            let all = hsm.ctx.get_all_slots().expect("C_GetSlotList");
            assert_eq!(all.last(), Some(&empty));
            assert!(empty != slot && empty != second);
        },
    );
}

#[test]
#[ignore = "helper: run by slot_ids_are_stable"]
fn helper_reports_slots() {
    helper("helper_reports_slots", || {
        let hsm = Hsm::load();
        let first = hsm.slot_by_label(TOKEN_LABEL).expect("the first token");
        let second = hsm.slot_by_label("second token").expect("the second token");
        println!("RESULT first={}", first.id());
        println!("RESULT second={}", second.id());
    });
}
