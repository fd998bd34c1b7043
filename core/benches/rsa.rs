//! RSA (and DSA/DH) figures for docs/support/rsa.md: key generation, signing and verification
//! through the algorithm modules the mechanisms call.
//!
//!     cargo bench -p anyhsm-core --bench rsa

#![allow(clippy::unwrap_used, reason = "a benchmark that fails should stop")]

use core::hint::black_box;

use anyhsm_core::mechanism::digest::{DigestAlg, digest};
use anyhsm_core::mechanism::{dh, dsa, rsa};
use anyhsm_core::rng::DeterministicRng;
use criterion::{Criterion, criterion_group, criterion_main};

fn rsa_benches(c: &mut Criterion) {
    let mut rng = DeterministicRng::from_seed([1; 32]);
    let mut g = c.benchmark_group("rsa-2048");
    g.sample_size(10);
    g.bench_function("keygen", |b| b.iter(|| rsa::generate(2048, rsa::DEFAULT_EXPONENT, &mut rng).unwrap()));
    g.finish();

    let parts = rsa::generate(2048, rsa::DEFAULT_EXPONENT, &mut rng).unwrap();
    let key = rsa::private_key(&parts).unwrap();
    let public = key.public();
    let hash = digest(DigestAlg::Sha256, b"benchmark message");
    let t = rsa::digest_info(DigestAlg::Sha256, &hash).unwrap();
    let sig = rsa::sign_pkcs1v15(&key, &t, &mut rng).unwrap();
    let pss = rsa::sign_pss(&key, DigestAlg::Sha256, &hash, 32, &mut rng).unwrap();
    let oaep = rsa::OaepParams { hash: DigestAlg::Sha256, mgf: DigestAlg::Sha256, label: Vec::new() };
    let ct = rsa::encrypt_oaep(&public, &oaep, b"a 32-byte session key goes here", &mut rng).unwrap();

    let mut g = c.benchmark_group("rsa-2048");
    g.bench_function("sign pkcs1v15 sha256", |b| {
        b.iter(|| rsa::sign_pkcs1v15(&key, black_box(&t), &mut rng).unwrap())
    });
    g.bench_function("verify pkcs1v15 sha256", |b| {
        b.iter(|| rsa::verify_pkcs1v15(&public, black_box(&t), &sig).unwrap())
    });
    g.bench_function("sign pss sha256", |b| {
        b.iter(|| rsa::sign_pss(&key, DigestAlg::Sha256, black_box(&hash), 32, &mut rng).unwrap())
    });
    g.bench_function("verify pss sha256", |b| {
        b.iter(|| rsa::verify_pss(&public, DigestAlg::Sha256, black_box(&hash), 32, &pss).unwrap())
    });
    g.bench_function("decrypt oaep sha256", |b| {
        b.iter(|| rsa::decrypt_oaep(&key, &oaep, black_box(&ct), &mut rng).unwrap())
    });
    // What a C_SignInit pays to turn stored components into a checked key.
    g.bench_function("load private key", |b| b.iter(|| rsa::private_key(black_box(&parts)).unwrap()));
    g.finish();
}

fn dsa_dh_benches(c: &mut Criterion) {
    let mut rng = DeterministicRng::from_seed([2; 32]);
    let params = dsa::generate_params(dsa::key_size(2048, Some(256)).unwrap(), &mut rng).unwrap();
    let (x, y) = dsa::generate(&params, &mut rng).unwrap();
    let key = dsa::private_key(&params, x.expose()).unwrap();
    let public = dsa::public_key(&params, &y).unwrap();
    let hash = digest(DigestAlg::Sha256, b"benchmark message");
    let sig = dsa::sign(&key, DigestAlg::Sha256, &hash).unwrap();
    let mut g = c.benchmark_group("dsa-2048-256");
    g.bench_function("keygen (given parameters)", |b| b.iter(|| dsa::generate(&params, &mut rng).unwrap()));
    g.bench_function("sign sha256", |b| {
        b.iter(|| dsa::sign(&key, DigestAlg::Sha256, black_box(&hash)).unwrap())
    });
    g.bench_function("verify sha256", |b| b.iter(|| dsa::verify(&public, black_box(&hash), &sig).unwrap()));
    g.finish();

    let p = hex_prime();
    let group = dh::params(&p, &[2]).unwrap();
    let (xa, _) = dh::generate(&group, None, &mut rng).unwrap();
    let (_, yb) = dh::generate(&group, None, &mut rng).unwrap();
    let mut g = c.benchmark_group("dh-ffdhe2048");
    g.bench_function("keygen", |b| b.iter(|| dh::generate(&group, None, &mut rng).unwrap()));
    g.bench_function("derive", |b| {
        b.iter(|| dh::shared_secret(&group, xa.expose(), black_box(&yb)).unwrap())
    });
    g.finish();
}

/// RFC 7919 ffdhe2048.
fn hex_prime() -> Vec<u8> {
    let src = include_str!("../src/mechanism/dh/vectors.rs");
    let start = src.find("FFDHE2048: &str = \"").unwrap() + 19;
    hex::decode(&src[start..start + 512]).unwrap()
}

criterion_group!(benches, rsa_benches, dsa_dh_benches);
criterion_main!(benches);
