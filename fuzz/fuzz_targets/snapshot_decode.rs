//! The snapshot decoder (`importToken` / `C_*` import of a portable token) on arbitrary
//! bytes: refuse cleanly or accept something that re-encodes to the same snapshot.
#![no_main]

use anyhsm_core::store::snapshot;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(snap) = snapshot::decode(data) {
        let again = snapshot::encode(&snap).expect("an accepted snapshot encodes");
        let back = snapshot::decode(&again).expect("and decodes again");
        assert_eq!(back, snap, "a snapshot survives a round trip");
    }
});
