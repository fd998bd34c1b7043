//! The record decoder on arbitrary bytes: every blob a store hands the engine goes through
//! it (a damaged file, a record from another token, a future version). It must refuse
//! cleanly, never panic, and whatever it accepts must survive a re-encode unchanged.
#![no_main]

use anyhsm_core::rng::DeterministicRng;
use anyhsm_core::seal::{self, MasterKey};
use anyhsm_core::store::record::{self, ObjectRecord, RecordKind};
use anyhsm_core::token::TokenMeta;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(rec) = record::decode::<ObjectRecord>(RecordKind::Object, data) {
        let again = record::encode(RecordKind::Object, &rec).expect("an accepted record encodes");
        let back = record::decode::<ObjectRecord>(RecordKind::Object, &again).expect("and decodes again");
        assert_eq!(back, rec, "a record survives a round trip");
    }
    if let Ok(meta) = record::decode::<TokenMeta>(RecordKind::Meta, data) {
        let again = meta.encode().expect("accepted metadata encodes");
        let back = record::decode::<TokenMeta>(RecordKind::Meta, &again).expect("and decodes again");
        assert_eq!(back, meta, "metadata survives a round trip");
    }
    // The whole object path: header, clear part, and (with a key) the AEAD open, which
    // must fail on anything not sealed under this key for this token and id.
    let _ = seal::decode_object(data, 7, "FUZZ000000000001", None);
    let mut rng = DeterministicRng::from_seed([7; 32]);
    let master = MasterKey::generate(&mut rng).expect("a key from the DRBG");
    let _ = seal::decode_object(data, 7, "FUZZ000000000001", Some(&master));
});
