//! DSA: the RFC 6979 known answers, and every bad input.
#![allow(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]

use alloc::vec;
use alloc::vec::Vec;

use super::*;
use crate::mechanism::digest::digest;
use crate::rng::DeterministicRng;

#[path = "vectors.rs"]
pub(crate) mod vectors;
use vectors::*;

fn h(s: &str) -> Vec<u8> {
    hex::decode(s).unwrap()
}

fn params_1024() -> Params {
    params(&h(K1024_P), &h(K1024_Q), &h(K1024_G)).unwrap()
}

fn params_2048() -> Params {
    params(&h(K2048_P), &h(K2048_Q), &h(K2048_G)).unwrap()
}

#[test]
fn rfc6979_signatures() {
    let keys = [(1024, params_1024(), K1024_X, K1024_Y), (2048, params_2048(), K2048_X, K2048_Y)];
    for (alg, bits, msg, expected) in CASES {
        let (_, p, x, y) = keys.iter().find(|k| k.0 == *bits).unwrap();
        let key = private_key(p, &h(x)).unwrap();
        assert_eq!(key.public().value(), h(y), "y = g^x");
        let hash = digest(*alg, msg.as_bytes());
        let sig = sign(&key, *alg, &hash).unwrap();
        assert_eq!(sig, h(expected), "{alg:?} {bits} {msg}");
        let public = public_key(p, &h(y)).unwrap();
        verify(&public, &hash, &sig).unwrap();
        assert_eq!(verify(&public, &digest(*alg, b"other"), &sig), Err(Error::SignatureInvalid));
    }
}

#[test]
fn signature_errors() {
    let p = params_1024();
    let key = private_key(&p, &h(K1024_X)).unwrap();
    let public = public_key(&p, &h(K1024_Y)).unwrap();
    let hash = digest(DigestAlg::Sha1, b"sample");
    let sig = sign(&key, DigestAlg::Sha1, &hash).unwrap();
    assert_eq!(sig.len(), 40);
    for i in [0, 19, 20, 39] {
        let mut bad = sig.clone();
        bad[i] ^= 1;
        assert_eq!(verify(&public, &hash, &bad), Err(Error::SignatureInvalid), "{i}");
    }
    for len in [0, 39, 41, 64] {
        let mut wrong = sig.clone();
        wrong.resize(len, 0);
        assert_eq!(verify(&public, &hash, &wrong), Err(Error::SignatureLenRange));
    }
    // r or s of zero, or not below q.
    let q = h(K1024_Q);
    for (r, s) in [
        (&[0u8; 20][..], &sig[20..]),
        (&sig[..20], &[0u8; 20][..]),
        (&q[..], &sig[20..]),
        (&sig[..20], &q[..]),
    ] {
        let bad = [r, s].concat();
        assert_eq!(verify(&public, &hash, &bad), Err(Error::SignatureInvalid));
    }
    assert_eq!(sign(&key, DigestAlg::Sha1, &[]), Err(Error::DataLenRange));
    assert_eq!(verify(&public, &[], &sig), Err(Error::DataLenRange));
    // Another key does not verify.
    let other = generate(&p, &mut DeterministicRng::from_seed([1; 32])).unwrap();
    let other = public_key(&p, &other.1).unwrap();
    assert_eq!(verify(&other, &hash, &sig), Err(Error::SignatureInvalid));
}

#[test]
fn parameter_and_key_checks() {
    let (pp, q, g) = (h(K1024_P), h(K1024_Q), h(K1024_G));
    assert_eq!(params_1024().prime_bits(), 1024);
    assert_eq!(params_1024().subprime_bits(), 160);
    assert_eq!(params_1024().pqg(), (pp.clone(), q.clone(), g.clone()));
    // Leading zeros are fine.
    params(&[&[0][..], &pp].concat(), &[&[0][..], &q].concat(), &g).unwrap();
    let mut even = pp.clone();
    even[127] &= 0xfe;
    for (p, q, g) in [
        (&even, &q, &g),
        (&pp, &q, &pp),
        (&pp[..100].to_vec(), &q, &g),
        (&pp, &q[..10].to_vec(), &g),
        (&pp, &q, &vec![1]),
    ] {
        assert_eq!(params(p, q, g).map(|_| ()), Err(Error::DomainParamsInvalid));
    }
    let p = params_1024();
    for x in [Vec::new(), vec![0], q.clone(), vec![0xff; 20], vec![1; 21]] {
        assert_eq!(private_key(&p, &x).map(|_| ()), Err(Error::AttributeValueInvalid), "{x:02x?}");
    }
    private_key(&p, &[1]).unwrap();
    for y in [vec![1], vec![0], pp.clone(), vec![2]] {
        assert_eq!(public_key(&p, &y).map(|_| ()), Err(Error::AttributeValueInvalid), "{y:02x?}");
    }
    for (l, n) in [(1024, None), (1024, Some(160)), (2048, Some(224)), (2048, None), (3072, Some(256))] {
        assert!(key_size(l, n).is_ok(), "{l} {n:?}");
    }
    for (l, n) in [(1024, Some(224)), (2048, Some(160)), (4096, None), (512, None)] {
        assert_eq!(key_size(l, n).map(|_| ()), Err(Error::KeySizeRange), "{l} {n:?}");
    }
}

#[test]
fn generation_and_encodings() {
    let mut rng = DeterministicRng::from_seed([5; 32]);
    let p = generate_params(key_size(1024, None).unwrap(), &mut rng).unwrap();
    assert_eq!((p.prime_bits(), p.subprime_bits()), (1024, 160));
    let (pp, q, g) = p.pqg();
    let again = params(&pp, &q, &g).unwrap();
    let (x, y) = generate(&again, &mut rng).unwrap();
    let key = private_key(&again, x.expose()).unwrap();
    assert_eq!(key.public().value(), y);
    let hash = digest(DigestAlg::Sha256, b"generated");
    let sig = sign(&key, DigestAlg::Sha256, &hash).unwrap();
    verify(&public_key(&again, &y).unwrap(), &hash, &sig).unwrap();
    // PKCS #8 round trip; the SPKI starts with id-dsa.
    let der = key.to_pkcs8().unwrap();
    let (p2, x2) = from_pkcs8(der.expose()).unwrap();
    assert_eq!(p2.pqg(), again.pqg());
    assert_eq!(x2.expose(), x.expose());
    assert_eq!(from_pkcs8(b"junk").map(|_| ()), Err(Error::WrappedKeyInvalid));
    let spki = key.public().public_key_info().unwrap();
    let id_dsa = [0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x38, 0x04, 0x01];
    assert!(spki.windows(id_dsa.len()).any(|w| w == id_dsa));
}
