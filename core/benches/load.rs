//! Loading a token: `Token::from_snapshot` over 10,000 public data objects as the engine
//! writes them (`C_CreateObject` of `p11bench`'s template: CLASS DATA, TOKEN, PRIVATE false,
//! a unique label, a 64-byte CKA_VALUE; the token is dropped outside the measurement). This is the part of `C_Initialize` that every store
//! pays after reading its blobs (docs/benchmarks.md, "File store C_Initialize").
//!
//!     cargo bench -p anyhsm-core --bench load

#![allow(clippy::unwrap_used, reason = "a benchmark that fails should stop")]

use core::hint::black_box;

use anyhsm_core::attribute::Attribute;
use anyhsm_core::consts::flags::{CKF_RW_SESSION, CKF_SERIAL_SESSION};
use anyhsm_core::consts::{AttrType, ObjectClass};
use anyhsm_core::engine::{Engine, EngineConfig};
use anyhsm_core::object::policy::{self, Origin};
use anyhsm_core::rng::{DeterministicRng, NoClock, Rng};
use anyhsm_core::seal::{self, Opened};
use anyhsm_core::store::{MemoryStore, TokenSnapshot, snapshot};
use anyhsm_core::token::Token;
use criterion::{Criterion, criterion_group, criterion_main};

const OBJECTS: usize = 10_000;

fn template(label: &[u8]) -> [Attribute; 5] {
    [
        Attribute::ulong(AttrType::CLASS, ObjectClass::DATA.0),
        Attribute::bool(AttrType::TOKEN, true),
        Attribute::bool(AttrType::PRIVATE, false),
        Attribute::bytes(AttrType::LABEL, label),
        Attribute::bytes(AttrType::VALUE, &[0x5a; 64]),
    ]
}

/// The attribute types of an object record, as the engine reads it back.
fn types(blob: &[u8], id: u64, serial: &str) -> Vec<AttrType> {
    match seal::decode_object(blob, id, serial, None).unwrap() {
        Opened::Full(o) => o.attributes().map(|(t, _)| *t).collect(),
        other => panic!("{other:?}"),
    }
}

/// A token of `n` public data objects as the engine stores them. The token and one object
/// come from the engine itself; the other records are built the way `C_CreateObject` builds
/// them (`policy::new_object`, `seal::encode_object`, a random id and unique id), since
/// creating 10,000 through the memory store takes seconds.
fn snapshot_of(n: usize) -> TokenSnapshot {
    let config = EngineConfig { fast_pin_kdf: true, ..EngineConfig::default() };
    let mut e = Engine::new(
        Box::new(MemoryStore::new()),
        Box::new(DeterministicRng::from_seed([5; 32])),
        Box::new(NoClock),
        config,
    )
    .unwrap();
    let mut label = [b' '; 32];
    label[..5].copy_from_slice(b"bench");
    e.init_token(0, b"so-pin-1", &label).unwrap();
    let s = e.open_session(0, CKF_SERIAL_SESSION | CKF_RW_SESSION).unwrap();
    e.create_object(s, &template(b"bench object engine")).unwrap();
    let mut snap = snapshot::decode(&e.export_token(0).unwrap()).unwrap();
    let (engine_id, engine_blob) = snap.records.pop().unwrap();

    let mut rng = DeterministicRng::from_seed([6; 32]);
    let mut random = |len: usize| {
        let mut b = vec![0u8; len];
        rng.fill(&mut b).unwrap();
        b
    };
    let mut records: Vec<(u64, Vec<u8>)> = (0..n)
        .map(|i| {
            let uid: Vec<u8> = random(16).iter().flat_map(|x| format!("{x:02x}").into_bytes()).collect();
            let id = u64::from_le_bytes(random(8).try_into().unwrap());
            let label = format!("bench object {i:06}");
            let obj = policy::new_object(&template(label.as_bytes()), &[], Origin::Create, &uid).unwrap();
            let mut seal_rng = DeterministicRng::from_seed([7; 32]);
            (id, seal::encode_object(&obj, id, &snap.name, None, &mut seal_rng).unwrap())
        })
        .collect();
    assert_eq!(types(&records[0].1, records[0].0, &snap.name), types(&engine_blob, engine_id, &snap.name));
    // Stores hand records over sorted by id.
    records.sort_by_key(|(id, _)| *id);
    records.dedup_by_key(|(id, _)| *id);
    snap.records = records;
    snap
}

fn from_snapshot(c: &mut Criterion) {
    let snap = snapshot_of(OBJECTS);
    assert_eq!(snap.records.len(), OBJECTS);
    let locate = |name: &str, id: u64| format!("{name}/{id:016x}");
    let mut g = c.benchmark_group("load-10k-data-objects");
    g.sample_size(30);
    g.bench_function("from_snapshot", |b| {
        b.iter_with_large_drop(|| {
            let mut warnings = Vec::new();
            let t = Token::from_snapshot(black_box(&snap), None, &mut warnings, &locate).unwrap();
            assert!(warnings.is_empty());
            t
        });
    });
    g.finish();
}

criterion_group!(benches, from_snapshot);
criterion_main!(benches);
