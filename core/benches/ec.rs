//! EC, EdDSA, X25519 and ML-DSA figures for docs/support/ec.md: key generation, signing and
//! verification through the algorithm modules the mechanisms call.
//!
//!     cargo bench -p anyhsm-core --bench ec

#![allow(clippy::unwrap_used, reason = "a benchmark that fails should stop")]

use core::hint::black_box;

use anyhsm_core::mechanism::digest::{DigestAlg, digest};
use anyhsm_core::mechanism::ec::{self, Curve};
use anyhsm_core::mechanism::edwards::{self, EdCurve};
use anyhsm_core::mechanism::mldsa::{self, Input, ParamSet, PrivateKey};
use anyhsm_core::rng::{DeterministicRng, Rng};
use criterion::{Criterion, criterion_group, criterion_main};

fn ecdsa_benches(c: &mut Criterion) {
    let mut rng = DeterministicRng::from_seed([1; 32]);
    for (name, curve, alg) in [
        ("ecdsa-p256", Curve::P256, DigestAlg::Sha256),
        ("ecdsa-p384", Curve::P384, DigestAlg::Sha384),
        ("ecdsa-p521", Curve::P521, DigestAlg::Sha512),
        ("ecdsa-secp256k1", Curve::Secp256k1, DigestAlg::Sha256),
    ] {
        let (d, q) = ec::generate(curve, &mut rng).unwrap();
        let hash = digest(alg, b"benchmark message");
        let sig = ec::sign_prehash(curve, d.expose(), &hash).unwrap();
        let mut g = c.benchmark_group(name);
        g.bench_function("keygen", |b| b.iter(|| ec::generate(curve, &mut rng).unwrap()));
        g.bench_function("sign", |b| {
            b.iter(|| ec::sign_prehash(curve, d.expose(), black_box(&hash)).unwrap())
        });
        g.bench_function("verify", |b| {
            b.iter(|| ec::verify_prehash(curve, &q, black_box(&hash), &sig).unwrap())
        });
        let (_, peer) = ec::generate(curve, &mut rng).unwrap();
        g.bench_function("ecdh", |b| b.iter(|| ec::ecdh(curve, d.expose(), black_box(&peer)).unwrap()));
        g.finish();
    }
}

fn eddsa_benches(c: &mut Criterion) {
    let mut rng = DeterministicRng::from_seed([2; 32]);
    let msg = [0x5au8; 64];
    for (name, curve) in [("ed25519", EdCurve::Ed25519), ("ed448", EdCurve::Ed448)] {
        let (sk, pk) = edwards::generate(curve, &mut rng).unwrap();
        let sig = edwards::sign(curve, sk.expose(), None, &msg).unwrap();
        let mut g = c.benchmark_group(name);
        g.bench_function("keygen", |b| b.iter(|| edwards::generate(curve, &mut rng).unwrap()));
        g.bench_function("sign", |b| {
            b.iter(|| edwards::sign(curve, sk.expose(), None, black_box(&msg)).unwrap())
        });
        g.bench_function("verify", |b| {
            b.iter(|| edwards::verify(curve, &pk, None, black_box(&msg), &sig).unwrap())
        });
        g.finish();
    }
    for (name, curve) in [("x25519", EdCurve::X25519), ("x448", EdCurve::X448)] {
        let (sk, _) = edwards::generate(curve, &mut rng).unwrap();
        let (_, peer) = edwards::generate(curve, &mut rng).unwrap();
        let mut g = c.benchmark_group(name);
        g.bench_function("keygen", |b| b.iter(|| edwards::generate(curve, &mut rng).unwrap()));
        g.bench_function("derive", |b| {
            b.iter(|| edwards::diffie_hellman(curve, sk.expose(), black_box(&peer)).unwrap())
        });
        g.finish();
    }
}

fn mldsa_benches(c: &mut Criterion) {
    let mut rng = DeterministicRng::from_seed([3; 32]);
    for (name, ps) in
        [("ml-dsa-44", ParamSet::MlDsa44), ("ml-dsa-65", ParamSet::MlDsa65), ("ml-dsa-87", ParamSet::MlDsa87)]
    {
        let mut seed = [0u8; 32];
        rng.fill(&mut seed).unwrap();
        let (expanded, public) = mldsa::keygen_from_seed(ps, &seed).unwrap();
        let msg = [0x5au8; 64];
        let sig = mldsa::sign(ps, PrivateKey::Seed(&seed), b"", Input::Message(&msg), &[7; 32]).unwrap();
        let mut g = c.benchmark_group(name);
        g.bench_function("keygen", |b| {
            b.iter(|| {
                let mut s = [0u8; 32];
                rng.fill(&mut s).unwrap();
                mldsa::keygen_from_seed(ps, &s).unwrap()
            })
        });
        // A token key is stored with its seed; each signature expands it again.
        g.bench_function("sign (from seed)", |b| {
            b.iter(|| {
                mldsa::sign(ps, PrivateKey::Seed(&seed), b"", Input::Message(black_box(&msg)), &[7; 32])
                    .unwrap()
            })
        });
        g.bench_function("sign (expanded key)", |b| {
            b.iter(|| {
                mldsa::sign(
                    ps,
                    PrivateKey::Expanded(expanded.expose()),
                    b"",
                    Input::Message(black_box(&msg)),
                    &[7; 32],
                )
                .unwrap()
            })
        });
        g.bench_function("verify", |b| {
            b.iter(|| mldsa::verify(ps, &public, b"", Input::Message(black_box(&msg)), &sig).unwrap())
        });
        g.finish();
    }
}

criterion_group!(benches, ecdsa_benches, eddsa_benches, mldsa_benches);
criterion_main!(benches);
