//! core's engine and store suites compiled for wasm32 and run in Node by
//! wasm-bindgen-test-runner (`cargo test -p anyhsm-wasm --target wasm32-unknown-unknown
//! --test core_on_wasm`, runner set through CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER; see
//! scripts/test-wasm.sh). core's own unit tests use plain #[test], which the wasm runner
//! cannot see, so this file runs core's public conformance cases and the engine flows the
//! npm package relies on, on the same wasm32 code the package ships.
#![cfg(target_arch = "wasm32")]
#![allow(clippy::unwrap_used, clippy::panic)]

use anyhsm_core::Error;
use anyhsm_core::attribute::{AttrValue, Attribute};
use anyhsm_core::consts::flags::{
    CKF_RW_SESSION, CKF_SERIAL_SESSION, CKF_USER_PIN_COUNT_LOW, CKF_USER_PIN_LOCKED,
};
use anyhsm_core::consts::{AttrType, KeyType, MechanismType, ObjectClass, UserType};
use anyhsm_core::engine::{Engine, EngineConfig};
use anyhsm_core::info::{AttrLookup, MechParam, Mechanism, OutBuf, Output};
use anyhsm_core::rng::{DeterministicRng, NoClock};
use anyhsm_core::store::{Batch, MemoryStore, Store, StoreError, TokenName, TokenSnapshot};
use anyhsm_wasm::Mirror;
use wasm_bindgen_test::wasm_bindgen_test;

const SO: &[u8] = b"12345678";
const USER: &[u8] = b"1234";
const RW: u64 = CKF_SERIAL_SESSION | CKF_RW_SESSION;
const P256: &[u8] = &[0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];

/// The mirror as the package drives it when every write succeeds: apply, then commit.
struct Committing(Mirror);

impl Store for Committing {
    fn load_all(&mut self) -> Result<Vec<TokenSnapshot>, StoreError> {
        self.0.load_all()
    }
    fn load(&mut self, name: &str) -> Result<TokenSnapshot, StoreError> {
        self.0.load(name)
    }
    fn generation(&mut self, name: &str) -> Result<u64, StoreError> {
        self.0.generation(name)
    }
    fn apply(&mut self, name: &str, expected: u64, batch: &Batch) -> Result<u64, StoreError> {
        let g = self.0.apply(name, expected, batch)?;
        self.0.commit();
        Ok(g)
    }
    fn list(&mut self) -> Result<Vec<TokenName>, StoreError> {
        self.0.list()
    }
}

macro_rules! conformance {
    ($module:ident, $make:expr) => {
        mod $module {
            use super::*;
            conformance!(@each $make;
                missing_token_is_absent, create_token_with_metadata, creating_without_metadata_is_refused,
                metadata_never_becomes_empty, put_replace_delete, ops_apply_in_order,
                generation_increments_by_one, stale_writer_is_refused_and_changes_nothing,
                wipe_removes_every_record_first, list_and_load_all_show_every_token, tokens_are_independent,
                ids_and_blobs_are_kept_exactly, large_blob_round_trips, many_records_round_trip);
        }
    };
    (@each $make:expr; $($case:ident),*) => {
        $(
            #[wasm_bindgen_test]
            fn $case() {
                let mut store = $make;
                anyhsm_core::store::conformance::$case(&mut store);
            }
        )*
    };
}

conformance!(memory_store, MemoryStore::new());
conformance!(mirror_store, Committing(Mirror::new()));

fn engine_on(store: Box<dyn Store>, seed: u8) -> Engine {
    let config = EngineConfig { fast_pin_kdf: true, ..EngineConfig::default() };
    Engine::new(store, Box::new(DeterministicRng::from_seed([seed; 32])), Box::new(NoClock), config).unwrap()
}

fn label(s: &str) -> [u8; 32] {
    let mut l = [b' '; 32];
    l[..s.len()].copy_from_slice(s.as_bytes());
    l
}

fn ready(store: Box<dyn Store>, seed: u8) -> (Engine, u64) {
    let mut e = engine_on(store, seed);
    e.init_token(0, SO, &label("wasm")).unwrap();
    let s = e.open_session(0, RW).unwrap();
    e.login(s, UserType::SO, SO).unwrap();
    e.init_pin(s, USER).unwrap();
    e.logout(s).unwrap();
    e.login(s, UserType::USER, USER).unwrap();
    (e, s)
}

fn data(o: Output) -> Vec<u8> {
    match o {
        Output::Data(d) => d,
        Output::Length(n) => panic!("expected data, got length {n}"),
    }
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

#[wasm_bindgen_test]
fn pins_count_failures_and_lock() {
    let (mut e, s) = ready(Box::new(MemoryStore::new()), 1);
    e.logout(s).unwrap();
    assert_eq!(e.login(s, UserType::USER, b"0000"), Err(Error::PinIncorrect));
    assert_ne!(e.token_info(0).unwrap().flags & CKF_USER_PIN_COUNT_LOW, 0);
    for _ in 0..9 {
        assert_eq!(e.login(s, UserType::USER, b"0000"), Err(Error::PinIncorrect));
    }
    assert_ne!(e.token_info(0).unwrap().flags & CKF_USER_PIN_LOCKED, 0);
    assert_eq!(e.login(s, UserType::USER, USER), Err(Error::PinLocked));
    e.login(s, UserType::SO, SO).unwrap();
    e.init_pin(s, b"5678").unwrap();
    e.logout(s).unwrap();
    e.login(s, UserType::USER, b"5678").unwrap();
}

#[wasm_bindgen_test]
fn digests_match_known_answers() {
    let (mut e, s) = ready(Box::new(MemoryStore::new()), 2);
    for (m, want) in [
        (MechanismType::SHA256, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        (MechanismType::SHA_1, "a9993e364706816aba3e25717850c26c9cd0d89d"),
        (MechanismType::SHA3_256, "3a985da74fe225b2045c172d6bd390bd855f086e3e9d525b46bfe24511431532"),
    ] {
        e.digest_init(s, &Mechanism::new(m)).unwrap();
        assert_eq!(data(e.digest(s, b"abc", OutBuf::Capacity(64)).unwrap()), unhex(want), "{m:?}");
    }
    // RFC 4231 case 2
    let key = e
        .create_object(
            s,
            &[
                Attribute::ulong(AttrType::CLASS, ObjectClass::SECRET_KEY.0),
                Attribute::ulong(AttrType::KEY_TYPE, KeyType::GENERIC_SECRET.0),
                Attribute::bytes(AttrType::VALUE, b"Jefe"),
                Attribute::bool(AttrType::SIGN, true),
            ],
        )
        .unwrap();
    e.sign_init(s, &Mechanism::new(MechanismType::SHA256_HMAC), key).unwrap();
    let mac = data(e.sign(s, b"what do ya want for nothing?", OutBuf::Capacity(64)).unwrap());
    assert_eq!(mac, unhex("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"));
}

#[wasm_bindgen_test]
fn aes_gcm_and_ecdsa_round_trip() {
    let (mut e, s) = ready(Box::new(MemoryStore::new()), 3);
    let key = e
        .generate_key(
            s,
            &Mechanism::new(MechanismType::AES_KEY_GEN),
            &[Attribute::ulong(AttrType::VALUE_LEN, 32), Attribute::bool(AttrType::TOKEN, true)],
        )
        .unwrap();
    let gcm = Mechanism {
        ty: MechanismType::AES_GCM,
        param: MechParam::Gcm { iv: vec![1; 12], aad: b"aad".to_vec(), tag_bits: 128 },
    };
    e.encrypt_init(s, &gcm, key).unwrap();
    let ct = data(e.encrypt(s, b"secret", OutBuf::Capacity(1024)).unwrap());
    e.decrypt_init(s, &gcm, key).unwrap();
    assert_eq!(data(e.decrypt(s, &ct, OutBuf::Capacity(1024)).unwrap()), b"secret");
    assert_eq!(e.attribute_values(s, key, &[AttrType::VALUE]).unwrap(), vec![AttrLookup::Sensitive]);

    let (public, private) = e
        .generate_key_pair(
            s,
            &Mechanism::new(MechanismType::EC_KEY_PAIR_GEN),
            &[Attribute::bytes(AttrType::EC_PARAMS, P256), Attribute::bool(AttrType::VERIFY, true)],
            &[Attribute::bool(AttrType::SIGN, true)],
        )
        .unwrap();
    let ecdsa = Mechanism::new(MechanismType::ECDSA_SHA256);
    e.sign_init(s, &ecdsa, private).unwrap();
    let sig = data(e.sign(s, b"msg", OutBuf::Capacity(128)).unwrap());
    e.verify_init(s, &ecdsa, public).unwrap();
    assert_eq!(e.verify(s, b"msg", &sig), Ok(()));
    e.verify_init(s, &ecdsa, public).unwrap();
    assert_eq!(e.verify(s, b"other", &sig), Err(Error::SignatureInvalid));
}

#[wasm_bindgen_test]
fn deterministic_engines_repeat_exactly() {
    let run = || {
        let (mut e, s) = ready(Box::new(MemoryStore::new()), 9);
        let (public, private) = e
            .generate_key_pair(
                s,
                &Mechanism::new(MechanismType::EC_KEY_PAIR_GEN),
                &[Attribute::bytes(AttrType::EC_PARAMS, P256)],
                &[Attribute::bool(AttrType::SIGN, true)],
            )
            .unwrap();
        let point = e.attribute_values(s, public, &[AttrType::EC_POINT]).unwrap();
        e.sign_init(s, &Mechanism::new(MechanismType::ECDSA_SHA256), private).unwrap();
        let sig = data(e.sign(s, b"x", OutBuf::Capacity(128)).unwrap());
        (e.token_info(0).unwrap().serial, point, sig)
    };
    assert_eq!(run(), run());
}

#[wasm_bindgen_test]
fn a_reverted_mirror_write_leaves_the_token_as_it_was() {
    let mirror = Mirror::new();
    let (mut e, s) = ready(Box::new(mirror.clone()), 4);
    mirror.commit();
    let keep = e
        .create_object(
            s,
            &[
                Attribute::ulong(AttrType::CLASS, ObjectClass::DATA.0),
                Attribute::bool(AttrType::TOKEN, true),
                Attribute::bytes(AttrType::LABEL, b"keep"),
            ],
        )
        .unwrap();
    mirror.commit();
    let generation = mirror.generation_of(&String::from_utf8_lossy(&e.token_info(0).unwrap().serial));
    // The engine commits, the durable write fails, the mirror goes back.
    e.set_attribute_values(s, keep, &[Attribute::bytes(AttrType::LABEL, b"changed")]).unwrap();
    assert_eq!(mirror.pending().len(), 1);
    mirror.revert();
    let serial = String::from_utf8_lossy(&e.token_info(0).unwrap().serial).to_string();
    assert_eq!(mirror.generation_of(&serial), generation);
    assert_eq!(
        e.attribute_values(s, keep, &[AttrType::LABEL]).unwrap(),
        vec![AttrLookup::Value(AttrValue::Bytes(b"keep".to_vec()))]
    );
}

#[wasm_bindgen_test]
fn a_failed_store_write_changes_nothing() {
    let mut store = MemoryStore::new();
    store.fail_next_apply(Error::DeviceMemory);
    let mut e = engine_on(Box::new(store), 5);
    assert_eq!(e.init_token(0, SO, &label("x")), Err(Error::DeviceMemory));
    assert_eq!(e.slot_list(false).unwrap(), vec![0]);
    e.init_token(0, SO, &label("x")).unwrap();
    assert_eq!(e.slot_list(false).unwrap(), vec![0, 1]);
}

#[wasm_bindgen_test]
fn snapshots_move_between_engines() {
    let (mut a, s) = ready(Box::new(MemoryStore::new()), 6);
    a.create_object(
        s,
        &[
            Attribute::ulong(AttrType::CLASS, ObjectClass::DATA.0),
            Attribute::bool(AttrType::TOKEN, true),
            Attribute::bytes(AttrType::LABEL, b"moved"),
        ],
    )
    .unwrap();
    let snap = a.export_token(0).unwrap();
    let mut b = engine_on(Box::new(MemoryStore::new()), 7);
    let slot = b.import_token(&snap).unwrap();
    let t = b.open_session(slot, RW).unwrap();
    b.find_objects_init(t, &[Attribute::bytes(AttrType::LABEL, b"moved")]).unwrap();
    assert_eq!(b.find_objects(t, 10).unwrap().len(), 1);
}

#[wasm_bindgen_test]
fn the_wasm_engine_uses_the_host_rng() {
    let mut e = anyhsm_wasm::WasmEngine::new(None, true, 10, wasm_bindgen::JsValue::UNDEFINED).unwrap();
    e.init_token(0.0, SO, "host rng").unwrap();
    let s = e.open_session(0.0, true).unwrap();
    let a = e.generate_random(s, 32.0).unwrap();
    let b = e.generate_random(s, 32.0).unwrap();
    assert_eq!(a.len(), 32);
    assert_ne!(a, b);
    assert_eq!(e.pending().length(), 1);
}
