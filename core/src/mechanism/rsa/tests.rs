//! Known-answer and error tests of the RSA algorithm module: the RSA Laboratories PKCS #1 v2.1
//! examples, the implicit-rejection vectors of draft-irtf-cfrg-rsa-guidance, and every way an
//! input can be wrong.
#![allow(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]

use alloc::vec;
use alloc::vec::Vec;

use super::*;
use crate::mechanism::digest::digest;
use crate::rng::DeterministicRng;

#[path = "cfrg_vectors.rs"]
mod cfrg;
#[path = "pkcs1_vectors.rs"]
pub(crate) mod pkcs1;

fn h(s: &str) -> Vec<u8> {
    hex::decode(s).unwrap()
}

fn rng() -> DeterministicRng {
    DeterministicRng::from_seed([9; 32])
}

fn key(pkcs8_hex: &str) -> PrivateKey {
    private_key(&from_pkcs8(&h(pkcs8_hex)).unwrap()).unwrap()
}

fn sha1_oaep() -> OaepParams {
    OaepParams { hash: DigestAlg::Sha1, mgf: DigestAlg::Sha1, label: Vec::new() }
}

/// A generator that always fails.
struct Broken;

impl Rng for Broken {
    fn fill(&mut self, _dest: &mut [u8]) -> Result<()> {
        Err(Error::DeviceError)
    }
}

#[test]
fn spki_matches_the_published_encoding() {
    let k = key(pkcs1::ENC_KEY);
    assert_eq!(k.public().public_key_info().unwrap(), h(pkcs1::ENC_SPKI));
    assert_eq!(k.public().bits(), 1024);
    assert_eq!(k.size(), 128);
    assert_eq!(k.public().exponent(), vec![1, 0, 1]);
}

#[test]
fn pkcs1v15_decryption_example() {
    let k = key(pkcs1::ENC_KEY);
    let m = decrypt_pkcs1v15(&k, &h(pkcs1::V15_CIPHERTEXT), &mut rng()).unwrap();
    assert_eq!(m.expose(), &h(pkcs1::V15_MESSAGE)[..]);
}

#[test]
fn oaep_decryption_example() {
    let k = key(pkcs1::ENC_KEY);
    let m = decrypt_oaep(&k, &sha1_oaep(), &h(pkcs1::OAEP_CIPHERTEXT), &mut rng()).unwrap();
    assert_eq!(m.expose(), &h(pkcs1::OAEP_MESSAGE)[..]);
}

#[test]
fn pkcs1v15_signature_examples() {
    let k = key(pkcs1::SIG_KEY);
    let msg = h(pkcs1::SIG_MESSAGE);
    for (alg, expected) in [(DigestAlg::Sha1, pkcs1::SIG_SHA1), (DigestAlg::Sha256, pkcs1::SIG_SHA256)] {
        let t = digest_info(alg, &digest(alg, &msg)).unwrap();
        let sig = sign_pkcs1v15(&k, &t, &mut rng()).unwrap();
        assert_eq!(sig, h(expected), "{alg:?}");
        verify_pkcs1v15(&k.public(), &t, &sig).unwrap();
        // The recovered block is T itself.
        assert_eq!(recover_pkcs1v15(&k.public(), &sig).unwrap(), t);
    }
}

#[test]
fn pss_signature_example_and_round_trips() {
    let k = key(pkcs1::SIG_KEY);
    let hash = digest(DigestAlg::Sha1, &h(pkcs1::PSS_MESSAGE));
    verify_pss(&k.public(), DigestAlg::Sha1, &hash, 20, &h(pkcs1::PSS_SIGNATURE)).unwrap();
    // The salt length is checked exactly.
    assert_eq!(
        verify_pss(&k.public(), DigestAlg::Sha1, &hash, 19, &h(pkcs1::PSS_SIGNATURE)),
        Err(Error::SignatureInvalid)
    );
    for alg in [
        DigestAlg::Sha1,
        DigestAlg::Sha224,
        DigestAlg::Sha256,
        DigestAlg::Sha384,
        DigestAlg::Sha3_224,
        DigestAlg::Sha3_256,
        DigestAlg::Sha3_384,
    ] {
        let hash = digest(alg, b"pss");
        let salt = alg.output_len();
        let sig = sign_pss(&k, alg, &hash, salt, &mut rng()).unwrap();
        verify_pss(&k.public(), alg, &hash, salt, &sig).unwrap();
        // Randomised: another RNG state, another signature, both valid.
        let again = sign_pss(&k, alg, &hash, salt, &mut DeterministicRng::from_seed([1; 32])).unwrap();
        assert_ne!(sig, again);
        verify_pss(&k.public(), alg, &hash, salt, &again).unwrap();
    }
    // A 1024-bit key has no room for SHA-512 with a 64-byte salt (128 - 64 - 2 = 62).
    let hash = digest(DigestAlg::Sha512, b"pss");
    assert_eq!(max_pss_salt(1024, DigestAlg::Sha512), 62);
    assert_eq!(sign_pss(&k, DigestAlg::Sha512, &hash, 63, &mut rng()), Err(Error::MechanismParamInvalid));
    let sig = sign_pss(&k, DigestAlg::Sha512, &hash, 62, &mut rng()).unwrap();
    verify_pss(&k.public(), DigestAlg::Sha512, &hash, 62, &sig).unwrap();
    assert_eq!(sign_pss(&k, DigestAlg::Sha256, &hash, 32, &mut rng()), Err(Error::DataLenRange));
}

#[test]
fn implicit_rejection_vectors() {
    for (key_hex, cases) in [(cfrg::B2048_KEY, cfrg::B2048_CASES), (cfrg::B2049_KEY, cfrg::B2049_CASES)] {
        let k = key(key_hex);
        for (id, ct, expected) in cases {
            let m = decrypt_pkcs1v15(&k, &h(ct), &mut rng()).unwrap();
            assert_eq!(m.expose(), &h(expected)[..], "{id}");
        }
    }
}

#[test]
fn signature_errors() {
    let k = key(pkcs1::SIG_KEY);
    let public = k.public();
    let t = digest_info(DigestAlg::Sha256, &digest(DigestAlg::Sha256, b"x")).unwrap();
    let sig = sign_pkcs1v15(&k, &t, &mut rng()).unwrap();
    for i in [0, 1, 64, 127] {
        let mut bad = sig.clone();
        bad[i] ^= 0x10;
        assert_eq!(verify_pkcs1v15(&public, &t, &bad), Err(Error::SignatureInvalid), "byte {i}");
    }
    for len in [0, 127, 129, 256] {
        let mut wrong = sig.clone();
        wrong.resize(len, 0);
        assert_eq!(verify_pkcs1v15(&public, &t, &wrong), Err(Error::SignatureLenRange));
        assert_eq!(recover_pkcs1v15(&public, &wrong), Err(Error::SignatureLenRange));
    }
    // A signature not below n, and one that is not a type-1 block.
    assert_eq!(verify_pkcs1v15(&public, &t, &[0xff; 128]), Err(Error::SignatureInvalid));
    assert_eq!(recover_pkcs1v15(&public, &[0xff; 128]), Err(Error::SignatureInvalid));
    let not_a_signature = raw_private(&k, &[0x42; 100], &mut rng()).unwrap();
    assert_eq!(recover_pkcs1v15(&public, not_a_signature.expose()), Err(Error::SignatureInvalid));
    // T too long for the key.
    assert_eq!(sign_pkcs1v15(&k, &[1; 118], &mut rng()), Err(Error::DataLenRange));
    sign_pkcs1v15(&k, &[1; 117], &mut rng()).unwrap();
    assert_eq!(verify_pkcs1v15(&public, &[1; 118], &sig), Err(Error::DataLenRange));
    assert_eq!(digest_info(DigestAlg::Sha512_256, &[0; 32]), Err(Error::MechanismInvalid));
    assert_eq!(
        verify_pss(&public, DigestAlg::Sha256, &[0; 32], 32, &sig[..100]),
        Err(Error::SignatureLenRange)
    );
}

#[test]
fn decryption_errors() {
    let k = key(pkcs1::ENC_KEY);
    let ct = h(pkcs1::OAEP_CIPHERTEXT);
    // Every tampered OAEP ciphertext fails the same way.
    for i in [0, 1, 50, 127] {
        let mut bad = ct.clone();
        bad[i] ^= 0x01;
        assert_eq!(decrypt_oaep(&k, &sha1_oaep(), &bad, &mut rng()), Err(Error::EncryptedDataInvalid), "{i}");
    }
    let labelled = OaepParams { label: b"label".to_vec(), ..sha1_oaep() };
    assert_eq!(decrypt_oaep(&k, &labelled, &ct, &mut rng()), Err(Error::EncryptedDataInvalid));
    let sha256 = OaepParams { hash: DigestAlg::Sha256, ..sha1_oaep() };
    assert_eq!(decrypt_oaep(&k, &sha256, &ct, &mut rng()), Err(Error::EncryptedDataInvalid));
    for len in [0, 127, 129] {
        let mut wrong = ct.clone();
        wrong.resize(len, 0);
        assert_eq!(decrypt_oaep(&k, &sha1_oaep(), &wrong, &mut rng()), Err(Error::EncryptedDataLenRange));
        assert_eq!(decrypt_pkcs1v15(&k, &wrong, &mut rng()).map(|_| ()), Err(Error::EncryptedDataLenRange));
    }
    // Not below n.
    assert_eq!(decrypt_pkcs1v15(&k, &[0xff; 128], &mut rng()).map(|_| ()), Err(Error::EncryptedDataInvalid));
    assert_eq!(decrypt_oaep(&k, &sha1_oaep(), &[0xff; 128], &mut rng()), Err(Error::EncryptedDataInvalid));
    // A PKCS #1 v1.5 ciphertext with bad padding decrypts to a synthetic message, repeatably.
    let mut bad = h(pkcs1::V15_CIPHERTEXT);
    bad[5] ^= 0x01;
    let a = decrypt_pkcs1v15(&k, &bad, &mut rng()).unwrap();
    let b = decrypt_pkcs1v15(&k, &bad, &mut DeterministicRng::from_seed([2; 32])).unwrap();
    assert_eq!(a.expose(), b.expose());
    assert_ne!(a.expose(), &h(pkcs1::V15_MESSAGE)[..]);
    // Hashes OAEP does not take here.
    let sha3 = OaepParams { hash: DigestAlg::Sha3_256, ..sha1_oaep() };
    assert_eq!(decrypt_oaep(&k, &sha3, &ct, &mut rng()), Err(Error::MechanismParamInvalid));
}

#[test]
fn encryption_round_trips_and_limits() {
    let k = key(pkcs1::ENC_KEY);
    let public = k.public();
    for (hash, mgf) in [
        (DigestAlg::Sha1, DigestAlg::Sha1),
        (DigestAlg::Sha256, DigestAlg::Sha256),
        (DigestAlg::Sha256, DigestAlg::Sha1),
        (DigestAlg::Sha384, DigestAlg::Sha512),
        (DigestAlg::Sha224, DigestAlg::Sha224),
    ] {
        let p = OaepParams { hash, mgf, label: b"a label".to_vec() };
        let max = max_oaep_message(128, hash);
        let msg = vec![0x5a; max];
        let ct = encrypt_oaep(&public, &p, &msg, &mut rng()).unwrap();
        assert_eq!(ct.len(), 128);
        assert_eq!(decrypt_oaep(&k, &p, &ct, &mut rng()).unwrap().expose(), &msg[..]);
        assert_eq!(encrypt_oaep(&public, &p, &vec![0; max + 1], &mut rng()), Err(Error::DataLenRange));
    }
    // SHA-512 OAEP does not fit a 1024-bit key's... it does: 128 - 130 < 0, so nothing fits.
    let p512 = OaepParams { hash: DigestAlg::Sha512, mgf: DigestAlg::Sha512, label: Vec::new() };
    assert_eq!(encrypt_oaep(&public, &p512, b"", &mut rng()), Err(Error::DataLenRange));
    let msg = vec![7u8; 117];
    let ct = encrypt_pkcs1v15(&public, &msg, &mut rng()).unwrap();
    assert_eq!(decrypt_pkcs1v15(&k, &ct, &mut rng()).unwrap().expose(), &msg[..]);
    assert_eq!(encrypt_pkcs1v15(&public, &[7; 118], &mut rng()), Err(Error::DataLenRange));
    // Empty messages are messages.
    let ct = encrypt_pkcs1v15(&public, b"", &mut rng()).unwrap();
    assert!(decrypt_pkcs1v15(&k, &ct, &mut rng()).unwrap().is_empty());
}

#[test]
fn raw_operations() {
    let k = key(pkcs1::ENC_KEY);
    let public = k.public();
    let x = vec![0x12; 100];
    let y = raw_private(&k, &x, &mut rng()).unwrap();
    assert_eq!(y.len(), 128);
    let back = raw_public(&public, y.expose()).unwrap();
    assert_eq!(back[..28], [0u8; 28]);
    assert_eq!(back[28..], x[..]);
    assert_eq!(raw_public(&public, &[0xff; 128]), Err(Error::DataInvalid));
    assert_eq!(raw_public(&public, &[1; 129]), Err(Error::DataLenRange));
    assert_eq!(raw_private(&k, &[0xff; 128], &mut rng()).map(|_| ()), Err(Error::DataInvalid));
    // Leading zero bytes beyond k are still too long.
    assert_eq!(raw_public(&public, &[0; 129]), Err(Error::DataLenRange));
    assert_eq!(raw_public(&public, &[]).unwrap(), vec![0u8; 128]);
}

#[test]
fn rng_failures_surface() {
    let k = key(pkcs1::ENC_KEY);
    let t = [1u8; 35];
    assert_eq!(sign_pkcs1v15(&k, &t, &mut Broken), Err(Error::DeviceError));
    assert_eq!(encrypt_pkcs1v15(&k.public(), b"m", &mut Broken), Err(Error::DeviceError));
    assert_eq!(
        decrypt_pkcs1v15(&k, &h(pkcs1::V15_CIPHERTEXT), &mut Broken).map(|_| ()),
        Err(Error::DeviceError)
    );
    assert_eq!(generate(1024, DEFAULT_EXPONENT, &mut Broken).map(|_| ()), Err(Error::DeviceError));
}

#[test]
fn component_checks() {
    let parts = from_pkcs8(&h(pkcs1::ENC_KEY)).unwrap();
    fn crt(p: &PrivateParts) -> CrtInput<'_> {
        CrtInput {
            p: Some(p.p.expose()),
            q: Some(p.q.expose()),
            dp: Some(p.dp.expose()),
            dq: Some(p.dq.expose()),
            qinv: Some(p.qinv.expose()),
        }
    }
    let full = complete_private(&parts.n, &parts.e, parts.d.expose(), crt(&parts)).unwrap();
    assert_eq!(full.qinv.expose(), parts.qinv.expose());
    // n, e, d only: the factors are recovered.
    let recovered = complete_private(&parts.n, &parts.e, parts.d.expose(), CrtInput::default()).unwrap();
    let mut pq = [recovered.p.expose().to_vec(), recovered.q.expose().to_vec()];
    pq.sort();
    let mut expected = [parts.p.expose().to_vec(), parts.q.expose().to_vec()];
    expected.sort();
    assert_eq!(pq, expected);
    // Leading zeros are ignored.
    let mut padded_n = vec![0, 0];
    padded_n.extend_from_slice(&parts.n);
    complete_private(&padded_n, &[0, 1, 0, 1], parts.d.expose(), crt(&parts)).unwrap();
    // Inconsistent CRT values.
    let mut wrong = parts.dp.expose().to_vec();
    wrong[10] ^= 1;
    let bad = CrtInput { dp: Some(&wrong), ..crt(&parts) };
    assert_eq!(
        complete_private(&parts.n, &parts.e, parts.d.expose(), bad).map(|_| ()),
        Err(Error::AttributeValueInvalid)
    );
    let bad = CrtInput { qinv: Some(&wrong), ..crt(&parts) };
    assert_eq!(
        complete_private(&parts.n, &parts.e, parts.d.expose(), bad).map(|_| ()),
        Err(Error::AttributeValueInvalid)
    );
    // A prime that does not divide n, a wrong d, a wrong e.
    let mut p = parts.p.expose().to_vec();
    p[63] ^= 2;
    let bad = CrtInput { p: Some(&p), dp: None, dq: None, qinv: None, ..crt(&parts) };
    assert_eq!(
        complete_private(&parts.n, &parts.e, parts.d.expose(), bad).map(|_| ()),
        Err(Error::AttributeValueInvalid)
    );
    let mut d = parts.d.expose().to_vec();
    d[100] ^= 4;
    assert_eq!(
        complete_private(&parts.n, &parts.e, &d, crt(&parts)).map(|_| ()),
        Err(Error::AttributeValueInvalid)
    );
    assert_eq!(
        complete_private(&parts.n, &[3], parts.d.expose(), crt(&parts)).map(|_| ()),
        Err(Error::AttributeValueInvalid)
    );
    // One prime alone, or CRT exponents without primes.
    let half = CrtInput { p: Some(parts.p.expose()), ..CrtInput::default() };
    assert_eq!(
        complete_private(&parts.n, &parts.e, parts.d.expose(), half).map(|_| ()),
        Err(Error::TemplateIncomplete)
    );
    let half = CrtInput { dp: Some(parts.dp.expose()), ..CrtInput::default() };
    assert_eq!(
        complete_private(&parts.n, &parts.e, parts.d.expose(), half).map(|_| ()),
        Err(Error::TemplateIncomplete)
    );
    // Sizes.
    assert_eq!(
        complete_private(&parts.n[..64], &parts.e, &[1], CrtInput::default()).map(|_| ()),
        Err(Error::KeySizeRange)
    );
}

#[test]
fn public_key_checks() {
    let parts = from_pkcs8(&h(pkcs1::ENC_KEY)).unwrap();
    public_key(&parts.n, &[1, 0, 1]).unwrap();
    public_key(&parts.n, &[3]).unwrap();
    // A large exponent (2^64 + 1) is accepted.
    let big = public_key(&parts.n, &[1, 0, 0, 0, 0, 0, 0, 0, 1]).unwrap();
    assert_eq!(big.exponent(), vec![1, 0, 0, 0, 0, 0, 0, 0, 1]);
    for e in [&[][..], &[1], &[2], &[1, 0, 0], &[0, 0]] {
        assert_eq!(public_key(&parts.n, e).map(|_| ()), Err(Error::AttributeValueInvalid), "{e:?}");
    }
    let mut even = parts.n.clone();
    even[127] &= 0xfe;
    assert_eq!(public_key(&even, &[3]).map(|_| ()), Err(Error::AttributeValueInvalid));
    assert_eq!(
        public_key(&even, &[1, 0, 0, 0, 0, 0, 0, 0, 1]).map(|_| ()),
        Err(Error::AttributeValueInvalid)
    );
    assert_eq!(public_key(&parts.n[..100], &[3]).map(|_| ()), Err(Error::KeySizeRange));
    assert_eq!(public_key(&[0xff; 1025], &[3]).map(|_| ()), Err(Error::KeySizeRange));
    assert_eq!(bit_len(&[0, 0, 1, 0]), 9);
    assert_eq!(bit_len(&[]), 0);
}

#[test]
fn generation() {
    let a = generate(1024, DEFAULT_EXPONENT, &mut rng()).unwrap();
    let b = generate(1024, DEFAULT_EXPONENT, &mut rng()).unwrap();
    assert_eq!(a.n, b.n, "a seeded RNG gives the same key");
    assert_eq!(bit_len(&a.n), 1024);
    assert_eq!(a.e, vec![1, 0, 1]);
    let k = private_key(&a).unwrap();
    let t = digest_info(DigestAlg::Sha256, &[0; 32]).unwrap();
    verify_pkcs1v15(&k.public(), &t, &sign_pkcs1v15(&k, &t, &mut rng()).unwrap()).unwrap();
    // Odd sizes and other exponents, including one above the crate's 2^33 bound.
    let odd = generate(1025, &[3], &mut rng()).unwrap();
    assert_eq!(bit_len(&odd.n), 1025);
    let large_e = [1, 0, 0, 0, 0, 0x01];
    let big = generate(1024, &large_e, &mut rng()).unwrap();
    assert_eq!(big.e, large_e.to_vec());
    assert_eq!(bit_len(&big.n), 1024);
    let k = private_key(&big).unwrap();
    let y = raw_private(&k, &[9; 64], &mut rng()).unwrap();
    assert_eq!(raw_public(&k.public(), y.expose()).unwrap()[64..], [9; 64]);
    // Bad sizes and exponents.
    assert_eq!(generate(1023, DEFAULT_EXPONENT, &mut rng()).map(|_| ()), Err(Error::KeySizeRange));
    assert_eq!(generate(8193, DEFAULT_EXPONENT, &mut rng()).map(|_| ()), Err(Error::KeySizeRange));
    for e in [&[1, 0, 0][..], &[1], &[2], &[]] {
        assert_eq!(generate(1024, e, &mut rng()).map(|_| ()), Err(Error::TemplateInconsistent), "{e:?}");
    }
}

#[test]
fn pkcs8_round_trip() {
    let k = key(pkcs1::SIG_KEY);
    let der = k.to_pkcs8().unwrap();
    assert_eq!(der.expose(), &h(pkcs1::SIG_KEY)[..]);
    assert_eq!(from_pkcs8(b"not der").map(|_| ()), Err(Error::WrappedKeyInvalid));
    let mut broken = h(pkcs1::SIG_KEY);
    broken[200] ^= 1;
    assert_eq!(from_pkcs8(&broken).map(|_| ()), Err(Error::WrappedKeyInvalid));
}
