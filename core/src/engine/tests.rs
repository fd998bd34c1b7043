//! Engine tests on the memory store: the PKCS#11 rules, end to end, without a front-end.

use alloc::boxed::Box;
use alloc::vec;
use alloc::vec::Vec;

use super::*;
use crate::attribute::{AttrValue, Attribute};
use crate::consts::{AttrType, KeyType, MechanismType, ObjectClass, SessionState};
use crate::info::{AttrLookup, MechParam, Mechanism, OutBuf, Output};
use crate::mechanism::digest;
use crate::rng::{DeterministicRng, NoClock};
use crate::store::MemoryStore;

const SO: &[u8] = b"12345678";
const USER: &[u8] = b"1234";
const RW: u64 = CKF_SERIAL_SESSION | CKF_RW_SESSION;
const P256: &[u8] = &[0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];

fn engine_on(store: MemoryStore, seed: u8) -> Engine {
    let config = EngineConfig { fast_pin_kdf: true, ..EngineConfig::default() };
    Engine::new(Box::new(store), Box::new(DeterministicRng::from_seed([seed; 32])), Box::new(NoClock), config)
        .unwrap()
}

fn engine() -> Engine {
    engine_on(MemoryStore::new(), 1)
}

/// A token in slot 0 with a user PIN, and an R/W session logged in as the user.
fn ready() -> (Engine, u64) {
    let mut e = engine();
    e.init_token(0, SO, &pad("test")).unwrap();
    let s = e.open_session(0, RW).unwrap();
    e.login(s, UserType::SO, SO).unwrap();
    e.init_pin(s, USER).unwrap();
    e.logout(s).unwrap();
    e.login(s, UserType::USER, USER).unwrap();
    (e, s)
}

fn data_object(label: &[u8], token: bool) -> Vec<Attribute> {
    vec![
        Attribute::ulong(AttrType::CLASS, ObjectClass::DATA.0),
        Attribute::bool(AttrType::TOKEN, token),
        Attribute::bytes(AttrType::LABEL, label),
        Attribute::bytes(AttrType::VALUE, b"payload"),
    ]
}

fn aes_key(e: &mut Engine, s: u64, extra: &[Attribute]) -> u64 {
    let mut t = vec![Attribute::ulong(AttrType::VALUE_LEN, 32), Attribute::bool(AttrType::TOKEN, true)];
    t.extend_from_slice(extra);
    e.generate_key(s, &Mechanism::new(MechanismType::AES_KEY_GEN), &t).unwrap()
}

fn data(out: Output) -> Vec<u8> {
    match out {
        Output::Data(d) => d,
        Output::Length(n) => panic!("expected data, got a length {n}"),
    }
}

#[test]
fn empty_slot_is_listed_last_and_slot_ids_are_stable() {
    let mut store = MemoryStore::new();
    {
        let mut e = engine_on(store.clone(), 1);
        assert_eq!(e.slot_list(false).unwrap(), vec![0]);
        assert_eq!(e.open_session(0, RW), Err(Error::TokenNotRecognized));
        e.init_token(0, SO, &pad("a")).unwrap();
        assert_eq!(e.slot_list(false).unwrap(), vec![0, 1]);
        e.init_token(1, SO, &pad("b")).unwrap();
        assert_eq!(e.slot_list(true).unwrap(), vec![0, 1, 2]);
        assert_eq!(e.slot_info(7), Err(Error::SlotIdInvalid));
        store = take_store(e);
    }
    let mut again = engine_on(store, 2);
    assert_eq!(again.slot_list(false).unwrap(), vec![0, 1, 2]);
    assert_eq!(&again.token_info(1).unwrap().label[..1], b"b");
}

/// Get the memory store back out of an engine (tests only).
fn take_store(e: Engine) -> MemoryStore {
    let mut store = e.store;
    let mut copy = MemoryStore::new();
    for snap in store.load_all().unwrap() {
        let batch = crate::store::Batch {
            ops: core::iter::once(crate::store::Op::PutMeta(snap.meta.clone()))
                .chain(
                    snap.records
                        .iter()
                        .map(|(id, blob)| crate::store::Op::Put { id: *id, blob: blob.clone() }),
                )
                .collect(),
            wipe: false,
        };
        copy.apply(&snap.name, 0, &batch).unwrap();
    }
    copy
}

#[test]
fn token_info_is_truthful() {
    let mut e = engine();
    let empty = e.token_info(0).unwrap();
    assert_eq!(empty.flags & CKF_TOKEN_INITIALIZED, 0);
    e.init_token(0, SO, &pad("label")).unwrap();
    let t = e.token_info(0).unwrap();
    assert_eq!(&t.label[..6], b"label ");
    assert_ne!(t.flags & CKF_TOKEN_INITIALIZED, 0);
    assert_ne!(t.flags & CKF_RNG, 0);
    assert_ne!(t.flags & CKF_LOGIN_REQUIRED, 0);
    assert_eq!(t.flags & CKF_USER_PIN_INITIALIZED, 0);
    assert_eq!(t.total_public_memory, UNAVAILABLE);
    assert!(t.serial.iter().all(u8::is_ascii_hexdigit));
    assert_eq!(&t.model[..13], MODEL_DETERMINISTIC.as_bytes());
    let s = e.open_session(0, RW).unwrap();
    assert_eq!(e.token_info(0).unwrap().session_count, 1);
    assert_eq!(e.token_info(0).unwrap().rw_session_count, 1);
    e.login(s, UserType::SO, SO).unwrap();
    e.init_pin(s, USER).unwrap();
    assert_ne!(e.token_info(0).unwrap().flags & CKF_USER_PIN_INITIALIZED, 0);
}

#[test]
fn utc_time_formats_civil_dates() {
    assert_eq!(&utc_time(0), b"1970010100000000");
    assert_eq!(&utc_time(951_782_400), b"2000022900000000");
    assert_eq!(&utc_time(1_796_300_000), b"2026120312132000");
}

#[test]
fn init_token_rules() {
    let mut e = engine();
    assert_eq!(e.init_token(0, b"123", &pad("x")), Err(Error::PinLenRange));
    e.init_token(0, SO, &pad("x")).unwrap();
    let s = e.open_session(0, RW).unwrap();
    let so = e.open_session(0, RW).unwrap();
    e.create_object(s, &data_object(b"d", true)).unwrap();
    assert_eq!(e.init_token(0, SO, &pad("y")), Err(Error::SessionExists));
    e.close_session(s).unwrap();
    e.close_session(so).unwrap();
    assert_eq!(e.init_token(0, b"wrongpin", &pad("y")), Err(Error::PinIncorrect));
    e.init_token(0, SO, &pad("y")).unwrap();
    let s = e.open_session(0, RW).unwrap();
    e.find_objects_init(s, &[]).unwrap();
    assert!(e.find_objects(s, 10).unwrap().is_empty(), "re-init destroys objects");
    assert_eq!(&e.token_info(0).unwrap().label[..1], b"y");
}

#[test]
fn login_state_machine() {
    let mut e = engine();
    e.init_token(0, SO, &pad("x")).unwrap();
    let ro = e.open_session(0, CKF_SERIAL_SESSION).unwrap();
    assert_eq!(e.login(ro, UserType::USER, USER), Err(Error::UserPinNotInitialized));
    assert_eq!(e.login(ro, UserType::SO, SO), Err(Error::SessionReadOnlyExists));
    assert_eq!(e.logout(ro), Err(Error::UserNotLoggedIn));
    assert_eq!(e.login(ro, UserType(7), SO), Err(Error::UserTypeInvalid));
    e.close_session(ro).unwrap();
    let s = e.open_session(0, RW).unwrap();
    assert_eq!(e.login(s, UserType::SO, b"nope"), Err(Error::PinIncorrect));
    e.login(s, UserType::SO, SO).unwrap();
    assert_eq!(e.session_info(s).unwrap().state, SessionState::RW_SO_FUNCTIONS);
    assert_eq!(e.open_session(0, CKF_SERIAL_SESSION), Err(Error::SessionReadWriteSoExists));
    assert_eq!(e.login(s, UserType::SO, SO), Err(Error::UserAlreadyLoggedIn));
    assert_eq!(e.login(s, UserType::USER, USER), Err(Error::UserAnotherAlreadyLoggedIn));
    assert_eq!(e.init_pin(s, b"12"), Err(Error::PinLenRange));
    e.init_pin(s, USER).unwrap();
    e.logout(s).unwrap();
    assert_eq!(e.init_pin(s, USER), Err(Error::UserNotLoggedIn));
    e.login(s, UserType::USER, USER).unwrap();
    let ro = e.open_session(0, CKF_SERIAL_SESSION).unwrap();
    assert_eq!(e.session_info(ro).unwrap().state, SessionState::RO_USER_FUNCTIONS);
    assert_eq!(e.session_info(s).unwrap().state, SessionState::RW_USER_FUNCTIONS);
    assert_eq!(e.open_session(0, CKF_RW_SESSION), Err(Error::SessionParallelNotSupported));
    // Closing every session logs the token out.
    e.close_all_sessions(0).unwrap();
    let s = e.open_session(0, RW).unwrap();
    assert_eq!(e.session_info(s).unwrap().state, SessionState::RW_PUBLIC_SESSION);
    assert_eq!(e.session_info(999), Err(Error::SessionHandleInvalid));
}

#[test]
fn set_pin_for_user_and_so() {
    let (mut e, s) = ready();
    assert_eq!(e.set_pin(s, b"bad!", b"5678"), Err(Error::PinIncorrect));
    assert_eq!(e.set_pin(s, USER, b"56"), Err(Error::PinLenRange));
    e.set_pin(s, USER, b"5678").unwrap();
    e.logout(s).unwrap();
    assert_eq!(e.login(s, UserType::USER, USER), Err(Error::PinIncorrect));
    e.login(s, UserType::USER, b"5678").unwrap();
    e.logout(s).unwrap();
    e.login(s, UserType::SO, SO).unwrap();
    e.set_pin(s, SO, b"abcdefgh").unwrap();
    e.logout(s).unwrap();
    e.login(s, UserType::SO, b"abcdefgh").unwrap();
    let ro = {
        e.logout(s).unwrap();
        e.open_session(0, CKF_SERIAL_SESSION).unwrap()
    };
    assert_eq!(e.set_pin(ro, b"5678", b"9999"), Err(Error::SessionReadOnly));
}

#[test]
fn failed_logins_lock_the_pin_durably_and_the_so_unlocks() {
    let (mut e, s) = ready();
    e.logout(s).unwrap();
    for _ in 0..DEFAULT_MAX_FAILURES_FOR_TEST - 2 {
        assert_eq!(e.login(s, UserType::USER, b"wrong"), Err(Error::PinIncorrect));
    }
    let f = e.token_info(0).unwrap().flags;
    assert_ne!(f & CKF_USER_PIN_COUNT_LOW, 0);
    assert_eq!(f & CKF_USER_PIN_FINAL_TRY, 0);
    assert_eq!(e.login(s, UserType::USER, b"wrong"), Err(Error::PinIncorrect));
    assert_ne!(e.token_info(0).unwrap().flags & CKF_USER_PIN_FINAL_TRY, 0);
    assert_eq!(e.login(s, UserType::USER, b"wrong"), Err(Error::PinIncorrect));
    assert_ne!(e.token_info(0).unwrap().flags & CKF_USER_PIN_LOCKED, 0);
    assert_eq!(e.login(s, UserType::USER, USER), Err(Error::PinLocked), "even the right PIN");
    // The count survives a restart: it is in the store.
    let mut e2 = engine_on(take_store(e), 3);
    let s2 = e2.open_session(0, RW).unwrap();
    assert_eq!(e2.login(s2, UserType::USER, USER), Err(Error::PinLocked));
    e2.login(s2, UserType::SO, SO).unwrap();
    e2.init_pin(s2, USER).unwrap();
    e2.logout(s2).unwrap();
    e2.login(s2, UserType::USER, USER).unwrap();
    assert_eq!(e2.token_info(0).unwrap().flags & (CKF_USER_PIN_LOCKED | CKF_USER_PIN_COUNT_LOW), 0);
}

const DEFAULT_MAX_FAILURES_FOR_TEST: u32 = token::DEFAULT_MAX_FAILURES;

#[test]
fn object_visibility_and_lifetimes() {
    let (mut e, s) = ready();
    let private = {
        let mut t = data_object(b"secret", true);
        t.push(Attribute::bool(AttrType::PRIVATE, true));
        e.create_object(s, &t).unwrap()
    };
    let session_obj = e.create_object(s, &data_object(b"temp", false)).unwrap();
    let other = e.open_session(0, RW).unwrap();
    // Handles are valid in every session of the application.
    assert!(matches!(
        e.attribute_values(other, session_obj, &[AttrType::LABEL]).unwrap()[0],
        AttrLookup::Value(_)
    ));
    e.logout(s).unwrap();
    assert_eq!(e.attribute_values(s, private, &[AttrType::LABEL]), Err(Error::ObjectHandleInvalid));
    e.find_objects_init(s, &[]).unwrap();
    let visible = e.find_objects(s, 100).unwrap();
    e.find_objects_final(s).unwrap();
    assert_eq!(visible, vec![session_obj]);
    // A private object cannot be created without the user.
    let mut t = data_object(b"p", false);
    t.push(Attribute::bool(AttrType::PRIVATE, true));
    assert_eq!(e.create_object(s, &t), Err(Error::UserNotLoggedIn));
    e.close_session(s).unwrap();
    assert_eq!(e.attribute_values(other, session_obj, &[AttrType::LABEL]), Err(Error::ObjectHandleInvalid));
}

#[test]
fn read_only_sessions_cannot_write_token_objects() {
    let (mut e, _s) = ready();
    let ro = e.open_session(0, CKF_SERIAL_SESSION).unwrap();
    assert_eq!(e.create_object(ro, &data_object(b"x", true)), Err(Error::SessionReadOnly));
    let h = e.create_object(ro, &data_object(b"x", false)).unwrap();
    e.destroy_object(ro, h).unwrap();
}

#[test]
fn template_errors() {
    let (mut e, s) = ready();
    assert_eq!(
        e.create_object(s, &[Attribute::bytes(AttrType::LABEL, b"x")]),
        Err(Error::TemplateIncomplete)
    );
    let cert = vec![
        Attribute::ulong(AttrType::CLASS, ObjectClass::CERTIFICATE.0),
        Attribute::ulong(AttrType::CERTIFICATE_TYPE, crate::consts::CertificateType::X_509.0),
        Attribute::bytes(AttrType::SUBJECT, b"subject"),
    ];
    assert_eq!(e.create_object(s, &cert), Err(Error::TemplateIncomplete), "X.509 needs CKA_VALUE");
    let mut full = cert.clone();
    full.push(Attribute::bytes(AttrType::VALUE, b"der"));
    e.create_object(s, &full).unwrap();
    let mut bad = data_object(b"x", false);
    bad.push(Attribute::ulong(AttrType::KEY_TYPE, 0));
    assert_eq!(e.create_object(s, &bad), Err(Error::AttributeTypeInvalid), "a data object has no key type");
    let mut dup = data_object(b"x", false);
    dup.push(Attribute::bytes(AttrType::LABEL, b"y"));
    assert_eq!(e.create_object(s, &dup), Err(Error::TemplateInconsistent));
    let mut local = data_object(b"x", false);
    local[0] = Attribute::ulong(AttrType::CLASS, ObjectClass::SECRET_KEY.0);
    local.push(Attribute::ulong(AttrType::KEY_TYPE, KeyType::AES.0));
    local.retain(|a| a.ty != AttrType::VALUE);
    local.push(Attribute::bytes(AttrType::VALUE, &[0; 16]));
    local.push(Attribute::bool(AttrType::LOCAL, true));
    assert_eq!(e.create_object(s, &local), Err(Error::AttributeReadOnly), "only the token sets CKA_LOCAL");
    local.pop();
    local.retain(|a| a.ty != AttrType::VALUE);
    local.push(Attribute::bytes(AttrType::VALUE, &[0; 15]));
    assert_eq!(
        e.create_object(s, &local),
        Err(Error::AttributeValueInvalid),
        "AES keys are 16, 24 or 32 bytes"
    );
    let before = e.store.generation(&e.token(0).unwrap().meta.serial.clone()).unwrap();
    assert!(before > 0);
}

#[test]
fn key_attribute_policy() {
    let (mut e, s) = ready();
    let k = aes_key(
        &mut e,
        s,
        &[Attribute::bool(AttrType::SENSITIVE, false), Attribute::bool(AttrType::EXTRACTABLE, true)],
    );
    let get = |e: &mut Engine, ty| e.attribute_values(s, k, &[ty]).unwrap().remove(0);
    assert_eq!(get(&mut e, AttrType::LOCAL), AttrLookup::Value(AttrValue::Bool(true)));
    assert_eq!(get(&mut e, AttrType::ALWAYS_SENSITIVE), AttrLookup::Value(AttrValue::Bool(false)));
    assert_eq!(get(&mut e, AttrType::NEVER_EXTRACTABLE), AttrLookup::Value(AttrValue::Bool(false)));
    assert_eq!(
        get(&mut e, AttrType::KEY_GEN_MECHANISM),
        AttrLookup::Value(AttrValue::Ulong(MechanismType::AES_KEY_GEN.0))
    );
    assert_eq!(get(&mut e, AttrType::VALUE_LEN), AttrLookup::Value(AttrValue::Ulong(32)));
    assert!(matches!(get(&mut e, AttrType::VALUE), AttrLookup::Value(AttrValue::Secret(v)) if v.len() == 32));
    assert_eq!(get(&mut e, AttrType::MODULUS), AttrLookup::Invalid);
    // One way: sensitive false → true, extractable true → false, never back.
    e.set_attribute_values(s, k, &[Attribute::bool(AttrType::SENSITIVE, true)]).unwrap();
    assert_eq!(get(&mut e, AttrType::VALUE), AttrLookup::Sensitive);
    assert_eq!(get(&mut e, AttrType::ALWAYS_SENSITIVE), AttrLookup::Value(AttrValue::Bool(false)));
    assert_eq!(
        e.set_attribute_values(s, k, &[Attribute::bool(AttrType::SENSITIVE, false)]),
        Err(Error::AttributeReadOnly)
    );
    e.set_attribute_values(s, k, &[Attribute::bool(AttrType::EXTRACTABLE, false)]).unwrap();
    assert_eq!(
        e.set_attribute_values(s, k, &[Attribute::bool(AttrType::EXTRACTABLE, true)]),
        Err(Error::AttributeReadOnly)
    );
    assert_eq!(
        e.set_attribute_values(s, k, &[Attribute::ulong(AttrType::VALUE_LEN, 16)]),
        Err(Error::AttributeReadOnly)
    );
    assert_eq!(
        e.set_attribute_values(s, k, &[Attribute::bool(AttrType::LOCAL, false)]),
        Err(Error::AttributeReadOnly)
    );
    e.set_attribute_values(s, k, &[Attribute::bytes(AttrType::LABEL, b"renamed")]).unwrap();
    // A generated sensitive key was always sensitive.
    let k2 = aes_key(&mut e, s, &[Attribute::bool(AttrType::SENSITIVE, true)]);
    let all = e
        .attribute_values(
            s,
            k2,
            &[AttrType::ALWAYS_SENSITIVE, AttrType::NEVER_EXTRACTABLE, AttrType::VALUE, AttrType::UNIQUE_ID],
        )
        .unwrap();
    assert_eq!(all[0], AttrLookup::Value(AttrValue::Bool(true)));
    assert_eq!(all[1], AttrLookup::Value(AttrValue::Bool(true)));
    assert_eq!(all[2], AttrLookup::Sensitive);
    let uid2 = all[3].clone();
    let uid1 = get(&mut e, AttrType::UNIQUE_ID);
    assert_ne!(uid1, uid2);
    assert_eq!(
        e.set_attribute_values(s, k2, &[Attribute::bytes(AttrType::UNIQUE_ID, b"x")]),
        Err(Error::AttributeReadOnly)
    );
}

/// A secret key made without CKA_SENSITIVE is not sensitive: the default of the table "Common
/// Secret Key Attributes" (PKCS #11 3.2), for created, generated and derived keys alike. Its
/// value still cannot be read: CKA_EXTRACTABLE, whose default is the token's, is false.
#[test]
fn secret_keys_are_not_sensitive_by_default() {
    let (mut e, s) = ready();
    let generated = aes_key(&mut e, s, &[]);
    let created = e
        .create_object(
            s,
            &[
                Attribute::ulong(AttrType::CLASS, ObjectClass::SECRET_KEY.0),
                Attribute::ulong(AttrType::KEY_TYPE, KeyType::GENERIC_SECRET.0),
                Attribute::bytes(AttrType::VALUE, &[7; 16]),
                Attribute::bool(AttrType::DERIVE, true),
            ],
        )
        .unwrap();
    let concatenate =
        Mechanism { ty: MechanismType::CONCATENATE_BASE_AND_DATA, param: MechParam::Bytes(vec![1]) };
    let (derived, _) = e.derive_key(s, &concatenate, created, &[]).unwrap();
    for k in [generated, created, derived] {
        let got = e
            .attribute_values(
                s,
                k,
                &[AttrType::SENSITIVE, AttrType::ALWAYS_SENSITIVE, AttrType::EXTRACTABLE, AttrType::VALUE],
            )
            .unwrap();
        assert_eq!(got[0], AttrLookup::Value(AttrValue::Bool(false)), "{k}: CKA_SENSITIVE");
        assert_eq!(got[1], AttrLookup::Value(AttrValue::Bool(false)), "{k}: CKA_ALWAYS_SENSITIVE");
        assert_eq!(got[2], AttrLookup::Value(AttrValue::Bool(false)), "{k}: CKA_EXTRACTABLE");
        assert_eq!(got[3], AttrLookup::Sensitive, "{k}: unextractable, so unreadable");
    }
    // And it may still become sensitive.
    e.set_attribute_values(s, generated, &[Attribute::bool(AttrType::SENSITIVE, true)]).unwrap();
}

#[test]
fn modifiable_copyable_destroyable() {
    let (mut e, s) = ready();
    let mut t = data_object(b"fixed", true);
    t.extend([
        Attribute::bool(AttrType::MODIFIABLE, false),
        Attribute::bool(AttrType::COPYABLE, false),
        Attribute::bool(AttrType::DESTROYABLE, false),
    ]);
    let h = e.create_object(s, &t).unwrap();
    assert_eq!(
        e.set_attribute_values(s, h, &[Attribute::bytes(AttrType::LABEL, b"x")]),
        Err(Error::ActionProhibited)
    );
    assert_eq!(e.copy_object(s, h, &[]), Err(Error::ActionProhibited));
    assert_eq!(e.destroy_object(s, h), Err(Error::ActionProhibited));
    let h2 = e.create_object(s, &data_object(b"free", true)).unwrap();
    let c = e
        .copy_object(
            s,
            h2,
            &[Attribute::bool(AttrType::TOKEN, false), Attribute::bytes(AttrType::LABEL, b"copy")],
        )
        .unwrap();
    assert_ne!(c, h2);
    let v = e.attribute_values(s, c, &[AttrType::TOKEN, AttrType::LABEL, AttrType::VALUE]).unwrap();
    assert_eq!(v[0], AttrLookup::Value(AttrValue::Bool(false)));
    assert_eq!(v[1], AttrLookup::Value(AttrValue::Bytes(b"copy".to_vec())));
    e.destroy_object(s, h2).unwrap();
    assert_eq!(e.destroy_object(s, h2), Err(Error::ObjectHandleInvalid));
    assert!(matches!(e.attribute_values(s, c, &[AttrType::LABEL]).unwrap()[0], AttrLookup::Value(_)));
}

#[test]
fn find_uses_the_index_and_handles_are_never_reused() {
    let (mut e, s) = ready();
    let mut handles = Vec::new();
    for i in 0..50u8 {
        handles.push(e.create_object(s, &data_object(&[b'a', i], true)).unwrap());
    }
    e.find_objects_init(s, &[Attribute::bytes(AttrType::LABEL, &[b'a', 7])]).unwrap();
    assert_eq!(e.find_objects_init(s, &[]), Err(Error::OperationActive));
    assert_eq!(e.find_objects(s, 10).unwrap(), vec![handles[7]]);
    assert!(e.find_objects(s, 10).unwrap().is_empty());
    e.find_objects_final(s).unwrap();
    assert_eq!(e.find_objects_final(s), Err(Error::OperationNotInitialized));
    e.find_objects_init(s, &[Attribute::ulong(AttrType::CLASS, ObjectClass::DATA.0)]).unwrap();
    let mut got = Vec::new();
    loop {
        let page = e.find_objects(s, 7).unwrap();
        if page.is_empty() {
            break;
        }
        got.extend(page);
    }
    e.find_objects_final(s).unwrap();
    got.sort_unstable();
    assert_eq!(got, handles);
    e.destroy_object(s, handles[0]).unwrap();
    let fresh = e.create_object(s, &data_object(b"new", true)).unwrap();
    assert!(!handles.contains(&fresh));
}

#[test]
fn digests_single_multi_and_rules() {
    let (mut e, s) = ready();
    let m = Mechanism::new(MechanismType::SHA256);
    assert_eq!(e.digest(s, b"abc", OutBuf::Query), Err(Error::OperationNotInitialized));
    e.digest_init(s, &m).unwrap();
    assert_eq!(e.digest_init(s, &m), Err(Error::OperationActive));
    assert_eq!(e.digest(s, b"abc", OutBuf::Query).unwrap(), Output::Length(32));
    assert_eq!(e.digest(s, b"abc", OutBuf::Capacity(10)).unwrap(), Output::Length(32));
    let one = data(e.digest(s, b"abc", OutBuf::Capacity(32)).unwrap());
    assert_eq!(one, digest::digest(digest::DigestAlg::Sha256, b"abc"));
    e.digest_init(s, &m).unwrap();
    e.digest_update(s, b"a").unwrap();
    assert_eq!(e.digest(s, b"bc", OutBuf::Capacity(64)), Err(Error::OperationActive));
    e.digest_update(s, b"bc").unwrap();
    assert_eq!(data(e.digest_final(s, OutBuf::Capacity(64)).unwrap()), one);
    assert_eq!(e.digest_init(s, &Mechanism::new(MechanismType::AES_GCM)), Err(Error::MechanismInvalid));
    let bad = Mechanism { ty: MechanismType::SHA256, param: MechParam::Bytes(vec![1]) };
    assert_eq!(e.digest_init(s, &bad), Err(Error::MechanismParamInvalid));
    // C_DigestKey feeds the key's value.
    let k = aes_key(
        &mut e,
        s,
        &[Attribute::bool(AttrType::SENSITIVE, false), Attribute::bool(AttrType::EXTRACTABLE, true)],
    );
    let AttrLookup::Value(AttrValue::Secret(v)) =
        e.attribute_values(s, k, &[AttrType::VALUE]).unwrap().remove(0)
    else {
        panic!("value")
    };
    e.digest_init(s, &m).unwrap();
    e.digest_key(s, k).unwrap();
    let got = data(e.digest_final(s, OutBuf::Capacity(32)).unwrap());
    assert_eq!(got, digest::digest(digest::DigestAlg::Sha256, v.expose()));
}

#[test]
fn aes_gcm_round_trip_and_tamper() {
    let (mut e, s) = ready();
    let k = aes_key(&mut e, s, &[]);
    let m = Mechanism {
        ty: MechanismType::AES_GCM,
        param: MechParam::Gcm { iv: vec![9; 12], aad: b"aad".to_vec(), tag_bits: 128 },
    };
    e.encrypt_init(s, &m, k).unwrap();
    let ct = data(e.encrypt(s, b"hello world", OutBuf::Capacity(64)).unwrap());
    assert_eq!(ct.len(), 11 + 16);
    e.decrypt_init(s, &m, k).unwrap();
    assert_eq!(data(e.decrypt(s, &ct, OutBuf::Capacity(64)).unwrap()), b"hello world");
    // Multi-part gives the same ciphertext.
    e.encrypt_init(s, &m, k).unwrap();
    let mut multi = data(e.encrypt_update(s, b"hello ", OutBuf::Capacity(64)).unwrap());
    multi.extend(data(e.encrypt_update(s, b"world", OutBuf::Capacity(64)).unwrap()));
    assert_eq!(
        e.encrypt_final(s, OutBuf::Capacity(3)).unwrap(),
        // Encryption streams: the updates gave the ciphertext, the final step the tag.
        Output::Length(16),
        "short buffer keeps the op"
    );
    multi.extend(data(e.encrypt_final(s, OutBuf::Capacity(64)).unwrap()));
    assert_eq!(multi, ct);
    let mut bad = ct.clone();
    bad[0] ^= 1;
    e.decrypt_init(s, &m, k).unwrap();
    assert_eq!(e.decrypt(s, &bad, OutBuf::Capacity(64)), Err(Error::EncryptedDataInvalid));
    assert_eq!(
        e.decrypt(s, &ct, OutBuf::Capacity(64)),
        Err(Error::OperationNotInitialized),
        "error ended it"
    );
    let no_param = Mechanism::new(MechanismType::AES_GCM);
    assert_eq!(e.encrypt_init(s, &no_param, k), Err(Error::MechanismParamInvalid));
    let bad_tag = Mechanism {
        ty: MechanismType::AES_GCM,
        param: MechParam::Gcm { iv: vec![9; 12], aad: vec![], tag_bits: 100 },
    };
    assert_eq!(e.encrypt_init(s, &bad_tag, k), Err(Error::MechanismParamInvalid));
    // Usage flags are enforced.
    let no_enc = aes_key(&mut e, s, &[Attribute::bool(AttrType::ENCRYPT, false)]);
    assert_eq!(e.encrypt_init(s, &m, no_enc), Err(Error::KeyFunctionNotPermitted));
    assert_eq!(e.encrypt_init(s, &m, 12345), Err(Error::KeyHandleInvalid));
}

#[test]
fn hmac_sign_verify_and_allowed_mechanisms() {
    let (mut e, s) = ready();
    let t = [Attribute::ulong(AttrType::VALUE_LEN, 32)];
    let k = e.generate_key(s, &Mechanism::new(MechanismType::GENERIC_SECRET_KEY_GEN), &t).unwrap();
    let m = Mechanism::new(MechanismType::SHA256_HMAC);
    e.sign_init(s, &m, k).unwrap();
    let tag = data(e.sign(s, b"msg", OutBuf::Capacity(32)).unwrap());
    e.verify_init(s, &m, k).unwrap();
    e.verify(s, b"msg", &tag).unwrap();
    let mut bad = tag.clone();
    bad[31] ^= 0x80;
    e.verify_init(s, &m, k).unwrap();
    assert_eq!(e.verify(s, b"msg", &bad), Err(Error::SignatureInvalid));
    e.verify_init(s, &m, k).unwrap();
    assert_eq!(e.verify(s, b"msg", &tag[..31]), Err(Error::SignatureLenRange));
    // Multi-part equals single-part.
    e.sign_init(s, &m, k).unwrap();
    e.sign_update(s, b"m").unwrap();
    e.sign_update(s, b"sg").unwrap();
    assert_eq!(data(e.sign_final(s, OutBuf::Capacity(32)).unwrap()), tag);
    // General-length HMAC truncates.
    let g = Mechanism { ty: MechanismType::SHA256_HMAC_GENERAL, param: MechParam::Ulong(10) };
    e.sign_init(s, &g, k).unwrap();
    assert_eq!(data(e.sign(s, b"msg", OutBuf::Capacity(32)).unwrap()), tag[..10].to_vec());
    let g0 = Mechanism { ty: MechanismType::SHA256_HMAC_GENERAL, param: MechParam::Ulong(33) };
    assert_eq!(e.sign_init(s, &g0, k), Err(Error::MechanismParamInvalid));
    // CKA_ALLOWED_MECHANISMS restricts a key.
    let t = [
        Attribute::ulong(AttrType::VALUE_LEN, 32),
        Attribute {
            ty: AttrType::ALLOWED_MECHANISMS,
            value: AttrValue::MechanismList(vec![MechanismType::SHA384_HMAC]),
        },
    ];
    let limited = e.generate_key(s, &Mechanism::new(MechanismType::GENERIC_SECRET_KEY_GEN), &t).unwrap();
    assert_eq!(e.sign_init(s, &m, limited), Err(Error::MechanismInvalid));
    e.sign_init(s, &Mechanism::new(MechanismType::SHA384_HMAC), limited).unwrap();
    // An AES key is not an HMAC key.
    let aes = aes_key(&mut e, s, &[]);
    assert_eq!(e.verify_init(s, &m, aes), Err(Error::KeyTypeInconsistent));
}

#[test]
fn ecdsa_pipeline() {
    let (mut e, s) = ready();
    let pub_t = [Attribute::bytes(AttrType::EC_PARAMS, P256), Attribute::bool(AttrType::TOKEN, true)];
    let priv_t = [Attribute::bool(AttrType::TOKEN, true), Attribute::bytes(AttrType::ID, b"k1")];
    let (pk, sk) =
        e.generate_key_pair(s, &Mechanism::new(MechanismType::EC_KEY_PAIR_GEN), &pub_t, &priv_t).unwrap();
    let point = e.attribute_values(s, pk, &[AttrType::EC_POINT]).unwrap().remove(0);
    let priv_point = e.attribute_values(s, sk, &[AttrType::EC_POINT, AttrType::VALUE]).unwrap();
    assert_eq!(priv_point[0], point, "the private key shows its public point");
    assert_eq!(priv_point[1], AttrLookup::Sensitive);
    let hash = [7u8; 32];
    e.sign_init(s, &Mechanism::new(MechanismType::ECDSA), sk).unwrap();
    assert_eq!(e.sign(s, &hash, OutBuf::Query).unwrap(), Output::Length(64));
    assert_eq!(e.sign_update(s, &hash), Err(Error::FunctionNotSupported), "raw ECDSA is single-part");
    e.sign_init(s, &Mechanism::new(MechanismType::ECDSA), sk).unwrap();
    let sig = data(e.sign(s, &hash, OutBuf::Capacity(64)).unwrap());
    e.verify_init(s, &Mechanism::new(MechanismType::ECDSA), pk).unwrap();
    e.verify(s, &hash, &sig).unwrap();
    let m = Mechanism::new(MechanismType::ECDSA_SHA256);
    e.sign_init(s, &m, sk).unwrap();
    e.sign_update(s, b"hello ").unwrap();
    e.sign_update(s, b"world").unwrap();
    let sig = data(e.sign_final(s, OutBuf::Capacity(64)).unwrap());
    e.verify_init(s, &m, pk).unwrap();
    e.verify(s, b"hello world", &sig).unwrap();
    e.verify_init(s, &m, pk).unwrap();
    assert_eq!(e.verify(s, b"hello worle", &sig), Err(Error::SignatureInvalid));
    assert_eq!(e.sign_init(s, &m, pk), Err(Error::KeyFunctionNotPermitted), "public keys do not sign");
    let bad_curve = [Attribute::bytes(AttrType::EC_PARAMS, &[0x06, 0x03, 0x2b, 0x65, 0x70])];
    assert!(
        e.generate_key_pair(s, &Mechanism::new(MechanismType::EC_KEY_PAIR_GEN), &bad_curve, &[]).is_err()
    );
    assert_eq!(
        e.generate_key_pair(s, &Mechanism::new(MechanismType::EC_KEY_PAIR_GEN), &[], &[]),
        Err(Error::TemplateIncomplete)
    );
}

#[test]
fn always_authenticate_needs_a_context_login() {
    let (mut e, s) = ready();
    let pub_t = [Attribute::bytes(AttrType::EC_PARAMS, P256)];
    let priv_t = [Attribute::bool(AttrType::ALWAYS_AUTHENTICATE, true)];
    let (_, sk) =
        e.generate_key_pair(s, &Mechanism::new(MechanismType::EC_KEY_PAIR_GEN), &pub_t, &priv_t).unwrap();
    assert_eq!(e.login(s, UserType::CONTEXT_SPECIFIC, USER), Err(Error::OperationNotInitialized));
    e.sign_init(s, &Mechanism::new(MechanismType::ECDSA), sk).unwrap();
    assert_eq!(e.sign(s, &[1; 32], OutBuf::Capacity(64)), Err(Error::UserNotLoggedIn));
    assert_eq!(e.login(s, UserType::CONTEXT_SPECIFIC, b"nope"), Err(Error::PinIncorrect));
    e.login(s, UserType::CONTEXT_SPECIFIC, USER).unwrap();
    assert!(matches!(e.sign(s, &[1; 32], OutBuf::Capacity(64)).unwrap(), Output::Data(_)));
}

#[test]
fn a_failed_persist_changes_nothing() {
    let mut store = MemoryStore::new();
    store.fail_next_apply(Error::DeviceMemory);
    let mut e = engine_on(store, 1);
    assert_eq!(e.init_token(0, SO, &pad("x")), Err(Error::DeviceMemory));
    assert_eq!(e.slot_list(false).unwrap(), vec![0]);
}

#[test]
fn deterministic_engines_agree() {
    let run = || {
        let (mut e, s) = ready();
        let pub_t = [Attribute::bytes(AttrType::EC_PARAMS, P256)];
        let (pk, sk) =
            e.generate_key_pair(s, &Mechanism::new(MechanismType::EC_KEY_PAIR_GEN), &pub_t, &[]).unwrap();
        e.sign_init(s, &Mechanism::new(MechanismType::ECDSA_SHA256), sk).unwrap();
        let sig = data(e.sign(s, b"x", OutBuf::Capacity(64)).unwrap());
        (e.attribute_values(s, pk, &[AttrType::EC_POINT]).unwrap(), sig, e.token_info(0).unwrap().serial)
    };
    assert_eq!(run(), run());
}

#[test]
fn random_and_seed() {
    let (mut e, s) = ready();
    let a = e.generate_random(s, 32).unwrap();
    let b = e.generate_random(s, 32).unwrap();
    assert_ne!(a, b);
    assert_eq!(e.seed_random(s, b"seed"), Err(Error::RandomSeedNotSupported));
    assert_eq!(e.generate_random(99, 1), Err(Error::SessionHandleInvalid));
}

#[test]
fn export_and_import_move_a_token() {
    let (mut e, s) = ready();
    let h = e.create_object(s, &data_object(b"moved", true)).unwrap();
    let _ = h;
    let snap = e.export_token(0).unwrap();
    assert_eq!(e.import_token(&snap), Err(Error::TokenNotRecognized), "already here");
    assert_eq!(e.export_token(1), Err(Error::TokenNotRecognized), "the empty slot has no token");
    // Another seed, so the serials differ (same-seed tokens share a serial by design).
    let mut other = engine_on(MemoryStore::new(), 5);
    other.init_token(0, SO, &pad("mine")).unwrap();
    let slot = other.import_token(&snap).unwrap();
    assert_eq!(slot, 1);
    assert_eq!(other.slot_list(false).unwrap(), vec![0, 1, 2]);
    let s2 = other.open_session(slot, RW).unwrap();
    other.login(s2, UserType::USER, USER).unwrap();
    other.find_objects_init(s2, &[Attribute::bytes(AttrType::LABEL, b"moved")]).unwrap();
    assert_eq!(other.find_objects(s2, 5).unwrap().len(), 1);
    assert_eq!(other.import_token(b"junk"), Err(Error::DataInvalid));
}

/// A token key with a known value, for the at-rest tests.
fn known_aes(private: bool) -> Vec<Attribute> {
    vec![
        Attribute::ulong(AttrType::CLASS, ObjectClass::SECRET_KEY.0),
        Attribute::ulong(AttrType::KEY_TYPE, KeyType::AES.0),
        Attribute::bool(AttrType::TOKEN, true),
        Attribute::bool(AttrType::PRIVATE, private),
        Attribute::bytes(AttrType::LABEL, if private { b"private" } else { b"public" }),
        Attribute::bytes(AttrType::VALUE, &[0xa7; 32]),
    ]
}

#[test]
fn key_material_is_sealed_at_rest() {
    let (mut e, s) = ready();
    e.create_object(s, &known_aes(true)).unwrap();
    e.create_object(s, &known_aes(false)).unwrap();
    let mut store = take_store(e);
    for snap in store.load_all().unwrap() {
        for (_, blob) in snap.records.iter().chain(core::iter::once(&(0, snap.meta.clone()))) {
            assert!(!blob.windows(32).any(|w| w == [0xa7; 32]), "key bytes found in a record");
        }
    }
    // Without a login: the public key is visible but cannot be used; the private one is not there.
    let mut e = engine_on(store, 9);
    let s = e.open_session(0, RW).unwrap();
    e.find_objects_init(s, &[Attribute::ulong(AttrType::CLASS, ObjectClass::SECRET_KEY.0)]).unwrap();
    let found = e.find_objects(s, 10).unwrap();
    e.find_objects_final(s).unwrap();
    assert_eq!(found.len(), 1);
    let m = Mechanism {
        ty: MechanismType::AES_GCM,
        param: MechParam::Gcm { iv: vec![1; 12], aad: vec![], tag_bits: 128 },
    };
    assert_eq!(e.encrypt_init(s, &m, found[0]), Err(Error::UserNotLoggedIn));
    assert_eq!(
        e.set_attribute_values(s, found[0], &[Attribute::bytes(AttrType::LABEL, b"x")]),
        Err(Error::UserNotLoggedIn)
    );
    e.login(s, UserType::USER, USER).unwrap();
    e.encrypt_init(s, &m, found[0]).unwrap();
    let ct = data(e.encrypt(s, b"x", OutBuf::Capacity(64)).unwrap());
    assert_eq!(ct.len(), 17);
    e.find_objects_init(s, &[Attribute::ulong(AttrType::CLASS, ObjectClass::SECRET_KEY.0)]).unwrap();
    assert_eq!(e.find_objects(s, 10).unwrap().len(), 2, "the private key appears after login");
    e.find_objects_final(s).unwrap();
    // Logging out forgets the private key again.
    e.logout(s).unwrap();
    e.find_objects_init(s, &[]).unwrap();
    assert_eq!(e.find_objects(s, 10).unwrap().len(), 1);
}

#[test]
fn set_pin_rewraps_the_master_key_and_objects_survive() {
    let (mut e, s) = ready();
    e.create_object(s, &known_aes(true)).unwrap();
    e.set_pin(s, USER, b"9876").unwrap();
    let mut e = engine_on(take_store(e), 11);
    let s = e.open_session(0, RW).unwrap();
    assert_eq!(e.login(s, UserType::USER, USER), Err(Error::PinIncorrect));
    e.login(s, UserType::USER, b"9876").unwrap();
    e.find_objects_init(s, &[Attribute::bytes(AttrType::LABEL, b"private")]).unwrap();
    assert_eq!(e.find_objects(s, 10).unwrap().len(), 1);
}

#[test]
fn protected_public_keys_need_a_login_to_be_stored() {
    let (mut e, s) = ready();
    e.logout(s).unwrap();
    assert_eq!(e.create_object(s, &known_aes(false)), Err(Error::UserNotLoggedIn));
    let mut plain = known_aes(false);
    plain.push(Attribute::bool(AttrType::SENSITIVE, false));
    plain.push(Attribute::bool(AttrType::EXTRACTABLE, true));
    e.create_object(s, &plain).unwrap();
}

/// Every handle `C_FindObjects` gives for `template`.
fn find_all(e: &mut Engine, s: u64, template: &[Attribute]) -> Vec<u64> {
    e.find_objects_init(s, template).unwrap();
    let found = e.find_objects(s, 100).unwrap();
    e.find_objects_final(s).unwrap();
    found
}

#[test]
fn damaged_records_answer_device_error_until_destroyed() {
    let (mut e, s) = ready();
    e.create_object(s, &data_object(b"good", true)).unwrap();
    let bad = e.create_object(s, &data_object(b"bad", true)).unwrap();
    let private = aes_key(&mut e, s, &[Attribute::bool(AttrType::PRIVATE, true)]);
    let public = aes_key(
        &mut e,
        s,
        &[Attribute::bool(AttrType::PRIVATE, false), Attribute::bytes(AttrType::LABEL, b"pk")],
    );
    let id = |e: &Engine, h: u64| e.handles[&h].1;
    let (bad_id, private_id, public_id) = (id(&e, bad), id(&e, private), id(&e, public));
    // Damage the records as stored: cut the clear one short, break the tag of the sealed ones.
    let mut store = take_store(e);
    let snap = store.load_all().unwrap().remove(0);
    let mut ops = Vec::new();
    for (id, blob) in &snap.records {
        let mut blob = blob.clone();
        if *id == bad_id {
            blob.pop();
        } else if *id == private_id || *id == public_id {
            *blob.last_mut().unwrap() ^= 1;
        } else {
            continue;
        }
        ops.push(crate::store::Op::Put { id: *id, blob });
    }
    assert_eq!(ops.len(), 3);
    store.apply(&snap.name, snap.generation, &crate::store::Batch { ops, wipe: false }).unwrap();

    let mut e = engine_on(store, 2);
    let ro = e.open_session(0, CKF_SERIAL_SESSION).unwrap();
    // Without a login: the clear record is known to be public, so its placeholder shows;
    // the private key's record is not even opened; the public key is intact but sealed.
    let all = find_all(&mut e, ro, &[]);
    assert_eq!(all.len(), 3, "good, the placeholder of bad, the public key");
    let warnings = e.take_warnings();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].contains(&alloc::format!("{bad_id:016x}")) && warnings[0].contains("CKR_DEVICE_ERROR")
    );
    let by_label = |e: &mut Engine, s, l: &[u8]| find_all(e, s, &[Attribute::bytes(AttrType::LABEL, l)]);
    assert!(by_label(&mut e, ro, b"bad").is_empty(), "nothing readable to match a label against");
    let good = by_label(&mut e, ro, b"good")[0];
    assert!(matches!(e.attribute_values(ro, good, &[AttrType::VALUE]).unwrap()[0], AttrLookup::Value(_)));
    let placeholder = *all.iter().find(|h| e.object_size(ro, **h) == Err(Error::DeviceError)).unwrap();
    assert_eq!(e.attribute_values(ro, placeholder, &[AttrType::LABEL]), Err(Error::DeviceError));
    assert_eq!(e.copy_object(ro, placeholder, &[]), Err(Error::DeviceError));
    assert_eq!(e.destroy_object(ro, placeholder), Err(Error::SessionReadOnly));

    // Logged in, the sealed records are opened and two more placeholders appear; the
    // public key's is still found by its clear label, and refuses to work.
    let s = e.open_session(0, RW).unwrap();
    e.login(s, UserType::USER, USER).unwrap();
    assert_eq!(find_all(&mut e, s, &[]).len(), 4);
    assert_eq!(e.take_warnings().len(), 2);
    let pk = by_label(&mut e, s, b"pk");
    assert_eq!(pk.len(), 1);
    let ecb = Mechanism::new(MechanismType::AES_ECB);
    assert_eq!(e.encrypt_init(s, &ecb, pk[0]), Err(Error::DeviceError));
    assert_eq!(
        e.set_attribute_values(s, pk[0], &[Attribute::bytes(AttrType::LABEL, b"x")]),
        Err(Error::DeviceError)
    );
    let private_placeholder = *find_all(&mut e, s, &[])
        .iter()
        .find(|h| **h != placeholder && **h != pk[0] && e.object_size(s, **h) == Err(Error::DeviceError))
        .unwrap();

    // Destroying a placeholder removes its record from the store; the rest is untouched.
    e.destroy_object(s, placeholder).unwrap();
    assert_eq!(e.object_size(s, placeholder), Err(Error::ObjectHandleInvalid));
    assert_eq!(find_all(&mut e, s, &[]).len(), 3);
    let stored = e.store.load(&snap.name).unwrap();
    assert!(stored.records.iter().all(|(id, _)| *id != bad_id));
    assert_eq!(stored.records.len(), snap.records.len() - 1);
    // After a logout the private record's placeholder is gone with the other private objects.
    e.logout(s).unwrap();
    assert_eq!(e.object_size(ro, private_placeholder), Err(Error::ObjectHandleInvalid));
    assert_eq!(find_all(&mut e, ro, &[]).len(), 2);
    assert!(matches!(e.attribute_values(ro, good, &[AttrType::VALUE]).unwrap()[0], AttrLookup::Value(_)));
}
