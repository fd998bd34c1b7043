//! Symmetric figures for docs/support/symmetric.md: AES-256-GCM on 1 MiB and HMAC-SHA256 on
//! 64 bytes through the engine (`C_EncryptInit` + `C_Encrypt`, `C_SignInit` + `C_Sign` on a
//! memory-store token) beside the raw `aes-gcm` and `hmac` crates, and AES-CBC / CTR
//! throughput through the engine.
//!
//!     cargo bench -p anyhsm-core --bench symmetric

#![allow(clippy::unwrap_used, reason = "a benchmark that fails should stop")]

use core::hint::black_box;

use aes_gcm::aead::{AeadInOut, KeyInit};
use anyhsm_core::attribute::Attribute;
use anyhsm_core::consts::flags::{CKF_RW_SESSION, CKF_SERIAL_SESSION};
use anyhsm_core::consts::{AttrType, KeyType, MechanismType, ObjectClass, UserType};
use anyhsm_core::engine::{Engine, EngineConfig};
use anyhsm_core::info::{MechParam, Mechanism, OutBuf, Output};
use anyhsm_core::rng::{DeterministicRng, NoClock};
use anyhsm_core::store::MemoryStore;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use hmac::Mac as _;

const MIB: usize = 1 << 20;

/// An engine with a logged-in R/W session and a session key of `key_type` holding `value`.
fn engine_with_key(key_type: KeyType, value: &[u8]) -> (Engine, u64, u64) {
    let config = EngineConfig { fast_pin_kdf: true, ..EngineConfig::default() };
    let mut e = Engine::new(
        Box::new(MemoryStore::new()),
        Box::new(DeterministicRng::from_seed([9; 32])),
        Box::new(NoClock),
        config,
    )
    .unwrap();
    let mut label = [b' '; 32];
    label[..5].copy_from_slice(b"bench");
    e.init_token(0, b"so-pin-1", &label).unwrap();
    let s = e.open_session(0, CKF_SERIAL_SESSION | CKF_RW_SESSION).unwrap();
    e.login(s, UserType::SO, b"so-pin-1").unwrap();
    e.init_pin(s, b"user-pin").unwrap();
    e.logout(s).unwrap();
    e.login(s, UserType::USER, b"user-pin").unwrap();
    let k = e
        .create_object(
            s,
            &[
                Attribute::ulong(AttrType::CLASS, ObjectClass::SECRET_KEY.0),
                Attribute::ulong(AttrType::KEY_TYPE, key_type.0),
                Attribute::bytes(AttrType::VALUE, value),
                Attribute::bool(AttrType::ENCRYPT, true),
                Attribute::bool(AttrType::SIGN, true),
            ],
        )
        .unwrap();
    (e, s, k)
}

fn out(o: Output) -> Vec<u8> {
    match o {
        Output::Data(d) => d,
        Output::Length(n) => panic!("length {n}"),
    }
}

fn gcm(c: &mut Criterion) {
    let key = [7u8; 32];
    let iv = [3u8; 12];
    let data = vec![0x5au8; MIB];
    let (mut e, s, k) = engine_with_key(KeyType::AES, &key);
    let mech = Mechanism {
        ty: MechanismType::AES_GCM,
        param: MechParam::Gcm { iv: iv.to_vec(), aad: vec![], tag_bits: 128 },
    };
    let mut g = c.benchmark_group("aes-256-gcm-1MiB");
    g.throughput(Throughput::Bytes(MIB as u64));
    g.sample_size(50);
    g.bench_function("engine", |b| {
        b.iter(|| {
            e.encrypt_init(s, &mech, k).unwrap();
            out(e.encrypt(s, black_box(&data), OutBuf::Capacity(MIB + 16)).unwrap())
        })
    });
    // The algorithm module alone (no engine around it).
    g.bench_function("module", |b| {
        b.iter(|| anyhsm_core::mechanism::aes_gcm::seal(&key, &iv, b"", 16, black_box(&data)).unwrap())
    });
    // The raw crate, given the same work: key setup, a copy of the plaintext, encryption.
    g.bench_function("aes-gcm crate", |b| {
        b.iter(|| {
            let cipher = aes_gcm::Aes256Gcm::new_from_slice(&key).unwrap();
            let mut buf = Vec::with_capacity(MIB + 16);
            buf.extend_from_slice(black_box(&data));
            let tag = cipher.encrypt_inout_detached(&iv.into(), b"", buf.as_mut_slice().into()).unwrap();
            buf.extend_from_slice(&tag);
            buf
        })
    });
    g.finish();
}

fn block_modes(c: &mut Criterion) {
    let data = vec![0x5au8; MIB];
    let mut g = c.benchmark_group("aes-1MiB");
    g.throughput(Throughput::Bytes(MIB as u64));
    g.sample_size(30);
    for (name, n) in [("128", 16usize), ("256", 32)] {
        let (mut e, s, k) = engine_with_key(KeyType::AES, &vec![1u8; n]);
        let cbc = Mechanism { ty: MechanismType::AES_CBC, param: MechParam::Bytes(vec![0; 16]) };
        g.bench_function(format!("cbc-{name} encrypt"), |b| {
            b.iter(|| {
                e.encrypt_init(s, &cbc, k).unwrap();
                out(e.encrypt(s, black_box(&data), OutBuf::Capacity(MIB)).unwrap())
            })
        });
        let ctr = Mechanism {
            ty: MechanismType::AES_CTR,
            param: MechParam::AesCtr { counter_bits: 128, block: [0; 16] },
        };
        g.bench_function(format!("ctr-{name}"), |b| {
            b.iter(|| {
                e.encrypt_init(s, &ctr, k).unwrap();
                out(e.encrypt(s, black_box(&data), OutBuf::Capacity(MIB)).unwrap())
            })
        });
    }
    // CBC decryption runs blocks in parallel; the engine needs the DECRYPT usage for it.
    let (mut e, s, k) = engine_with_key(KeyType::AES, &[1u8; 32]);
    e.set_attribute_values(s, k, &[Attribute::bool(AttrType::DECRYPT, true)]).unwrap();
    let cbc = Mechanism { ty: MechanismType::AES_CBC, param: MechParam::Bytes(vec![0; 16]) };
    e.encrypt_init(s, &cbc, k).unwrap();
    let ct = out(e.encrypt(s, &data, OutBuf::Capacity(MIB)).unwrap());
    g.bench_function("cbc-256 decrypt", |b| {
        b.iter(|| {
            e.decrypt_init(s, &cbc, k).unwrap();
            out(e.decrypt(s, black_box(&ct), OutBuf::Capacity(MIB)).unwrap())
        })
    });
    g.finish();
}

fn hmac_sha256(c: &mut Criterion) {
    let key = [0x0bu8; 32];
    let msg = [0xa5u8; 64];
    let (mut e, s, k) = engine_with_key(KeyType::GENERIC_SECRET, &key);
    let mech = Mechanism::new(MechanismType::SHA256_HMAC);
    let mut g = c.benchmark_group("hmac-sha256-64B");
    g.throughput(Throughput::Elements(1));
    g.bench_function("engine", |b| {
        b.iter(|| {
            e.sign_init(s, &mech, k).unwrap();
            out(e.sign(s, black_box(&msg), OutBuf::Capacity(32)).unwrap())
        })
    });
    g.bench_function("hmac crate", |b| {
        b.iter(|| {
            let mut m = hmac::Hmac::<sha2::Sha256>::new_from_slice(&key).unwrap();
            m.update(black_box(&msg));
            m.finalize().into_bytes()
        })
    });
    g.finish();
}

criterion_group!(benches, gcm, block_modes, hmac_sha256);
criterion_main!(benches);
