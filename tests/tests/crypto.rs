//! Cryptographic operations, each checked against an independent implementation (RustCrypto):
//! digests, random numbers, AES-GCM, HMAC-SHA256, ECDSA on P-256; and the operation state machine
//! (one active operation per kind, length queries, `CKR_BUFFER_TOO_SMALL` keeping the operation).

mod common;

use core::ptr;

use aes_gcm::aead::{Aead as _, KeyInit as _, Payload};
use aes_gcm::{Aes128Gcm, Aes256Gcm};
use cryptoki::mechanism::aead::GcmParams;
use cryptoki::mechanism::{Mechanism, MechanismType};
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki_sys::{
    CK_MECHANISM_TYPE, CKM_SHA_1, CKM_SHA3_224, CKM_SHA3_256, CKM_SHA3_384, CKM_SHA3_512, CKM_SHA224,
    CKM_SHA256, CKM_SHA256_HMAC, CKM_SHA384, CKM_SHA512, CKM_SHA512_224, CKM_SHA512_256,
};
use hmac::Mac as _;
use p256::ecdsa::Signature;
use p256::ecdsa::signature::Verifier as _;
use p256::ecdsa::signature::hazmat::PrehashVerifier as _;
use sha2::Digest as _;

use common::keys::{self, SecretKeyOptions};
use common::raw::ulong;
use common::{Hsm, Skip, bytes_attr, run};

/// Messages of the lengths that matter to block-based hashes.
fn messages() -> Vec<Vec<u8>> {
    let pattern = |n: usize| (0..n).map(|i| (i * 31 % 251).to_le_bytes()[0]).collect::<Vec<u8>>();
    vec![Vec::new(), b"abc".to_vec(), pattern(55), pattern(64), pattern(1000), pattern(100_000)]
}

fn reference_digest(mech: CK_MECHANISM_TYPE, data: &[u8]) -> Vec<u8> {
    match mech {
        CKM_SHA_1 => sha1::Sha1::digest(data).to_vec(),
        CKM_SHA224 => sha2::Sha224::digest(data).to_vec(),
        CKM_SHA256 => sha2::Sha256::digest(data).to_vec(),
        CKM_SHA384 => sha2::Sha384::digest(data).to_vec(),
        CKM_SHA512 => sha2::Sha512::digest(data).to_vec(),
        CKM_SHA512_224 => sha2::Sha512_224::digest(data).to_vec(),
        CKM_SHA512_256 => sha2::Sha512_256::digest(data).to_vec(),
        CKM_SHA3_224 => sha3::Sha3_224::digest(data).to_vec(),
        CKM_SHA3_256 => sha3::Sha3_256::digest(data).to_vec(),
        CKM_SHA3_384 => sha3::Sha3_384::digest(data).to_vec(),
        CKM_SHA3_512 => sha3::Sha3_512::digest(data).to_vec(),
        _ => panic!("no reference for mechanism 0x{mech:x}"),
    }
}

/// Single-part and multi-part digests of every message, compared with the reference.
fn check_digests(mechs: &[(CK_MECHANISM_TYPE, &str)]) {
    let hsm = Hsm::load();
    let slot = hsm.token();
    let session = hsm.ctx.open_ro_session(slot).expect("C_OpenSession");
    let raw = hsm.raw();
    let s = session.handle();
    for &(mech, name) in mechs {
        for data in messages() {
            let want = reference_digest(mech, &data);
            let what = format!("{name} of {} bytes", data.len());
            // Single part, with a length query first.
            assert_ck!(raw.digest_init(s, mech), CKR_OK);
            let (rv, len) = raw.digest(s, &data, None);
            assert_ck!(rv, CKR_OK);
            assert_eq!(len, ulong(want.len()), "{what}: length query");
            let mut out = vec![0; want.len()];
            let (rv, len) = raw.digest(s, &data, Some(&mut out));
            assert_ck!(rv, CKR_OK);
            assert_eq!(len, ulong(want.len()));
            assert_eq!(out, want, "{what}: single-part C_Digest");
            // Multi-part, in uneven pieces.
            for piece in [1, 7, 64, 4096] {
                assert_ck!(raw.digest_init(s, mech), CKR_OK);
                for chunk in data.chunks(piece).take(200) {
                    assert_ck!(raw.digest_update(s, chunk), CKR_OK);
                }
                let fed = data.chunks(piece).take(200).flatten().count();
                let mut out = vec![0; want.len()];
                let (rv, len) = raw.digest_final(s, Some(&mut out));
                assert_ck!(rv, CKR_OK);
                assert_eq!(len, ulong(want.len()));
                assert_eq!(
                    out,
                    reference_digest(mech, &data[..fed]),
                    "{what}: C_DigestUpdate in pieces of {piece} bytes"
                );
            }
        }
    }
}

#[test]
fn digests_sha1_and_sha2() {
    run("digests_sha1_and_sha2", Skip::Never, || {
        check_digests(&[
            (CKM_SHA_1, "SHA-1"),
            (CKM_SHA224, "SHA-224"),
            (CKM_SHA256, "SHA-256"),
            (CKM_SHA384, "SHA-384"),
            (CKM_SHA512, "SHA-512"),
        ]);
    });
}

#[test]
fn digests_sha512_t_and_sha3() {
    run(
        "digests_sha512_t_and_sha3",
        Skip::OnSoftHsm("SoftHSM 2.6 has no CKM_SHA512_224, CKM_SHA512_256 or CKM_SHA3_*"),
        || {
            check_digests(&[
                (CKM_SHA512_224, "SHA-512/224"),
                (CKM_SHA512_256, "SHA-512/256"),
                (CKM_SHA3_224, "SHA3-224"),
                (CKM_SHA3_256, "SHA3-256"),
                (CKM_SHA3_384, "SHA3-384"),
                (CKM_SHA3_512, "SHA3-512"),
            ]);
        },
    );
}

#[test]
fn digest_operation_rules() {
    run("digest_operation_rules", Skip::Never, || {
        let hsm = Hsm::load();
        let slot = hsm.token();
        let session = hsm.ctx.open_ro_session(slot).expect("C_OpenSession");
        let raw = hsm.raw();
        let s = session.handle();
        let want = sha2::Sha256::digest(b"hello").to_vec();

        // No operation yet.
        assert_ck!(raw.digest_update(s, b"x"), CKR_OPERATION_NOT_INITIALIZED);
        assert_ck!(raw.digest(s, b"x", None).0, CKR_OPERATION_NOT_INITIALIZED);
        assert_ck!(raw.digest_final(s, None).0, CKR_OPERATION_NOT_INITIALIZED);

        // One digest at a time.
        assert_ck!(raw.digest_init(s, CKM_SHA256), CKR_OK);
        assert_ck!(raw.digest_init(s, CKM_SHA256), CKR_OPERATION_ACTIVE);

        // Length query and a short buffer keep the operation; success ends it.
        let (rv, len) = raw.digest(s, b"hello", None);
        assert_ck!(rv, CKR_OK);
        assert_eq!(len, 32);
        let mut short = [0u8; 31];
        let (rv, len) = raw.digest(s, b"hello", Some(&mut short));
        assert_ck!(rv, CKR_BUFFER_TOO_SMALL);
        assert_eq!(len, 32, "CKR_BUFFER_TOO_SMALL reports the needed length");
        let mut out = [0u8; 32];
        let (rv, _) = raw.digest(s, b"hello", Some(&mut out));
        assert_ck!(rv, CKR_OK);
        assert_eq!(out.to_vec(), want);
        assert_ck!(raw.digest_update(s, b"x"), CKR_OPERATION_NOT_INITIALIZED);

        // The same for C_DigestFinal.
        assert_ck!(raw.digest_init(s, CKM_SHA256), CKR_OK);
        assert_ck!(raw.digest_update(s, b"hel"), CKR_OK);
        assert_ck!(raw.digest_update(s, b"lo"), CKR_OK);
        let (rv, len) = raw.digest_final(s, None);
        assert_ck!(rv, CKR_OK);
        assert_eq!(len, 32);
        let (rv, len) = raw.digest_final(s, Some(&mut short));
        assert_ck!(rv, CKR_BUFFER_TOO_SMALL);
        assert_eq!(len, 32);
        let (rv, _) = raw.digest_final(s, Some(&mut out));
        assert_ck!(rv, CKR_OK);
        assert_eq!(out.to_vec(), want);
        assert_ck!(raw.digest_final(s, None).0, CKR_OPERATION_NOT_INITIALIZED);

        // An unknown mechanism.
        assert_ck!(raw.digest_init(s, 0x0000_7ff0), CKR_MECHANISM_INVALID);
        // A signing mechanism is no digest.
        assert_ck!(raw.digest_init(s, CKM_SHA256_HMAC), CKR_MECHANISM_INVALID);
        // The session still works.
        assert_ck!(raw.digest_init(s, CKM_SHA256), CKR_OK);
        let (rv, _) = raw.digest(s, b"hello", Some(&mut out));
        assert_ck!(rv, CKR_OK);
        assert_eq!(out.to_vec(), want);
    });
}

#[test]
fn digest_after_update_is_operation_active() {
    run(
        "digest_after_update_is_operation_active",
        Skip::OnSoftHsm("SoftHSM lets C_Digest finish a digest begun with C_DigestUpdate"),
        || {
            let hsm = Hsm::load();
            let slot = hsm.token();
            let session = hsm.ctx.open_ro_session(slot).expect("C_OpenSession");
            let raw = hsm.raw();
            let s = session.handle();
            let mut out = [0u8; 32];
            // "C_Digest cannot be used to terminate a multi-part operation" (2.40, 5.10).
            assert_ck!(raw.digest_init(s, CKM_SHA256), CKR_OK);
            assert_ck!(raw.digest_update(s, b"hel"), CKR_OK);
            assert_ck!(raw.digest(s, b"lo", Some(&mut out)).0, CKR_OPERATION_ACTIVE);
            // Whether that ended the operation is not specified: finish it either way.
            let _ = raw.digest_final(s, Some(&mut out));
            assert_ck!(raw.digest_init(s, CKM_SHA256), CKR_OK);
        },
    );
}

#[test]
fn digest_key_mixes_the_key_value() {
    run("digest_key_mixes_the_key_value", Skip::Never, || {
        let hsm = Hsm::load();
        let slot = hsm.token();
        let session = hsm.user_session(slot);
        let value = [0x5au8; 32];
        let key = session
            .create_object(&[
                Attribute::Class(ObjectClass::SECRET_KEY),
                Attribute::KeyType(KeyType::GENERIC_SECRET),
                Attribute::Token(false),
                Attribute::Value(value.to_vec()),
                Attribute::Sensitive(true),
            ])
            .expect("C_CreateObject(generic secret)");
        session.digest_init(&Mechanism::Sha256).expect("C_DigestInit");
        session.digest_update(b"before ").expect("C_DigestUpdate");
        session.digest_key(key).expect("C_DigestKey");
        session.digest_update(b" after").expect("C_DigestUpdate");
        let got = session.digest_final().expect("C_DigestFinal");
        let mut want = sha2::Sha256::new();
        want.update(b"before ");
        want.update(value);
        want.update(b" after");
        assert_eq!(got, want.finalize().to_vec(), "C_DigestKey digests CKA_VALUE");

        // Without an active digest.
        assert_rv!(session.digest_key(key), OperationNotInitialized);
        // An invalid key handle.
        session.digest_init(&Mechanism::Sha256).expect("C_DigestInit");
        // SAFETY: an arbitrary handle value is exactly what is tested.
        let bogus = unsafe { ObjectHandle::new_from_raw(0x0bad_f00d) };
        assert_rv!(session.digest_key(bogus), KeyHandleInvalid);
        let _ = session.digest_final();
    });
}

#[test]
fn generate_random_and_seed() {
    run("generate_random_and_seed", Skip::Never, || {
        let hsm = Hsm::load();
        let slot = hsm.token();
        let session = hsm.ctx.open_ro_session(slot).expect("C_OpenSession");
        for len in [1u32, 16, 32, 1000, 65_536] {
            let a = session.generate_random_vec(len).expect("C_GenerateRandom");
            assert_eq!(a.len(), usize::try_from(len).expect("len"));
        }
        let a = session.generate_random_vec(32).expect("C_GenerateRandom");
        let b = session.generate_random_vec(32).expect("C_GenerateRandom");
        assert_ne!(a, b, "two 32-byte random strings are equal");
        assert_ne!(a, vec![0; 32], "random bytes are all zero");
        // Roughly uniform: each of 65536 bytes' bit is set about half the time.
        let big = session.generate_random_vec(65_536).expect("C_GenerateRandom");
        let ones: u32 = big.iter().map(|b| b.count_ones()).sum();
        assert!((250_000..274_288).contains(&ones), "{ones} of 524288 random bits set");
        // A zero-length request is fine.
        let raw = hsm.raw();
        let mut byte = [0u8; 1];
        // SAFETY: `byte` is live; the length is 0.
        let rv = unsafe { ck_fn!(raw, C_GenerateRandom)(session.handle(), byte.as_mut_ptr(), 0) };
        assert_ck!(rv, CKR_OK);
        session.seed_random(b"some extra entropy").expect("C_SeedRandom");
        session.generate_random_vec(32).expect("C_GenerateRandom after C_SeedRandom");
    });
}

fn gcm_reference_encrypt(key: &[u8], iv: &[u8; 12], aad: &[u8], msg: &[u8]) -> Vec<u8> {
    let payload = Payload { msg, aad };
    match key.len() {
        16 => Aes128Gcm::new_from_slice(key).expect("key").encrypt(iv.into(), payload),
        32 => Aes256Gcm::new_from_slice(key).expect("key").encrypt(iv.into(), payload),
        n => panic!("no reference for AES-{}", n * 8),
    }
    .expect("reference AES-GCM encryption")
}

#[test]
fn aes_gcm_matches_reference() {
    run("aes_gcm_matches_reference", Skip::Never, || {
        let hsm = Hsm::load();
        let slot = hsm.token();
        let session = hsm.user_session(slot);
        for key_len in [16u64, 32] {
            let key = keys::aes_key(&session, key_len, SecretKeyOptions::SESSION_READABLE);
            let value = bytes_attr(&session, key, AttributeType::Value);
            assert_eq!(value.len() as u64, key_len, "CKA_VALUE of a generated AES key");
            for (msg, aad) in [
                (&b""[..], &b""[..]),
                (b"attack at dawn", b""),
                (b"attack at dawn", b"header"),
                (&[0x33; 1000][..], &[0x44; 77][..]),
            ] {
                let what =
                    format!("AES-{}-GCM of {} bytes with {} bytes of AAD", key_len * 8, msg.len(), aad.len());
                let iv = [0x24u8; 12];
                let want = gcm_reference_encrypt(&value, &iv, aad, msg);
                let mut iv_buf = iv;
                let params = GcmParams::new(&mut iv_buf, aad, 128.into()).expect("GCM params");
                let got = session
                    .encrypt(&Mechanism::AesGcm(params), key, msg)
                    .unwrap_or_else(|e| panic!("{what}: C_Encrypt: {e}"));
                assert_eq!(got, want, "{what}: ciphertext || tag");

                let mut iv_buf = iv;
                let params = GcmParams::new(&mut iv_buf, aad, 128.into()).expect("GCM params");
                let plain = session
                    .decrypt(&Mechanism::AesGcm(params), key, &got)
                    .unwrap_or_else(|e| panic!("{what}: C_Decrypt: {e}"));
                assert_eq!(plain, msg, "{what}: decryption");
            }
        }
    });
}

#[test]
fn aes_gcm_detects_tampering() {
    run(
        "aes_gcm_detects_tampering",
        Skip::OnSoftHsm("SoftHSM answers a failed GCM tag check with CKR_GENERAL_ERROR"),
        || {
            let hsm = Hsm::load();
            let slot = hsm.token();
            let session = hsm.user_session(slot);
            let key = keys::aes_key(&session, 32, SecretKeyOptions::SESSION_SECRET);
            let iv = [0x11u8; 12];
            let mut iv_buf = iv;
            let good =
                session.encrypt(&gcm_aad(&mut iv_buf, b"aad"), key, b"attack at dawn").expect("C_Encrypt");
            let mut bad_tag = good.clone();
            *bad_tag.last_mut().expect("a tag") ^= 1;
            let mut bad_body = good.clone();
            bad_body[0] ^= 0x80;
            for (what, ct, aad) in [
                ("a changed tag", &bad_tag, &b"aad"[..]),
                ("a changed ciphertext", &bad_body, b"aad"),
                ("other AAD", &good, b"other aad"),
            ] {
                let mut iv_buf = iv;
                let result = session.decrypt(&gcm_aad(&mut iv_buf, aad), key, ct);
                assert!(
                    common::is_rv(&result, cryptoki::error::RvError::EncryptedDataInvalid),
                    "AES-GCM decryption with {what}: expected CKR_ENCRYPTED_DATA_INVALID, got \
                     {result:?}"
                );
            }
            // Shorter than the tag.
            let mut iv_buf = iv;
            let result = session.decrypt(&gcm_aad(&mut iv_buf, b"aad"), key, &good[..8]);
            assert!(
                common::is_rv(&result, cryptoki::error::RvError::EncryptedDataInvalid)
                    || common::is_rv(&result, cryptoki::error::RvError::EncryptedDataLenRange),
                "AES-GCM decryption of 8 bytes: {result:?}"
            );
            // The key still works after the failures.
            let mut iv_buf = iv;
            let plain = session.decrypt(&gcm_aad(&mut iv_buf, b"aad"), key, &good).expect("C_Decrypt");
            assert_eq!(plain, b"attack at dawn");
        },
    );
}

#[test]
fn aes_gcm_needs_the_right_key() {
    run("aes_gcm_needs_the_right_key", Skip::Never, || {
        let hsm = Hsm::load();
        let slot = hsm.token();
        let session = hsm.user_session(slot);
        let iv = [0u8; 12];
        // CKA_ENCRYPT false.
        let no_encrypt = session
            .generate_key(
                &Mechanism::AesKeyGen,
                &[Attribute::ValueLen(32.into()), Attribute::Encrypt(false), Attribute::Decrypt(true)],
            )
            .expect("C_GenerateKey");
        let mut iv_buf = iv;
        assert_rv!(session.encrypt(&gcm(&mut iv_buf), no_encrypt, b"x"), KeyFunctionNotPermitted);
        // A key of another type.
        let hmac = keys::hmac_key(&session, 32, SecretKeyOptions::SESSION_SECRET);
        let mut iv_buf = iv;
        assert_rv!(session.encrypt(&gcm(&mut iv_buf), hmac, b"x"), KeyTypeInconsistent);
        // Not a key at all.
        let data = session
            .create_object(&[Attribute::Class(ObjectClass::DATA), Attribute::Value(b"x".to_vec())])
            .expect("C_CreateObject");
        let mut iv_buf = iv;
        let result = session.encrypt(&gcm(&mut iv_buf), data, b"x");
        assert!(
            common::is_rv(&result, cryptoki::error::RvError::KeyHandleInvalid)
                || common::is_rv(&result, cryptoki::error::RvError::KeyTypeInconsistent)
                || common::is_rv(&result, cryptoki::error::RvError::KeyFunctionNotPermitted),
            "C_EncryptInit with a data object (the spec names no single code): {result:?}"
        );
    });
}

fn gcm_aad<'a>(iv: &'a mut [u8; 12], aad: &'a [u8]) -> Mechanism<'a> {
    Mechanism::AesGcm(GcmParams::new(iv, aad, 128.into()).expect("GCM params"))
}

fn gcm(iv: &mut [u8; 12]) -> Mechanism<'_> {
    Mechanism::AesGcm(GcmParams::new(iv, b"", 128.into()).expect("GCM params"))
}

fn hmac_sha256(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(key).expect("any key length");
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

#[test]
fn hmac_sha256_matches_reference() {
    run("hmac_sha256_matches_reference", Skip::Never, || {
        let hsm = Hsm::load();
        let slot = hsm.token();
        let session = hsm.user_session(slot);
        let key = keys::hmac_key(&session, 32, SecretKeyOptions::SESSION_READABLE);
        let value = bytes_attr(&session, key, AttributeType::Value);
        assert_eq!(value.len(), 32);
        for data in messages() {
            let want = hmac_sha256(&value, &data);
            let got = session.sign(&Mechanism::Sha256Hmac, key, &data).expect("C_Sign(CKM_SHA256_HMAC)");
            assert_eq!(got, want, "HMAC-SHA256 of {} bytes", data.len());
            session.verify(&Mechanism::Sha256Hmac, key, &data, &want).expect("C_Verify of the right MAC");
            // Multi-part.
            session.sign_init(&Mechanism::Sha256Hmac, key).expect("C_SignInit");
            for chunk in data.chunks(333) {
                session.sign_update(chunk).expect("C_SignUpdate");
            }
            assert_eq!(session.sign_final().expect("C_SignFinal"), want);
        }
        let mut wrong = hmac_sha256(&value, b"abc");
        wrong[5] ^= 4;
        assert_rv!(session.verify(&Mechanism::Sha256Hmac, key, b"abc", &wrong), SignatureInvalid);
        assert_rv!(session.verify(&Mechanism::Sha256Hmac, key, b"abc", &wrong[..16]), SignatureLenRange);
        // A key imported with a known value.
        let imported = session
            .create_object(&[
                Attribute::Class(ObjectClass::SECRET_KEY),
                Attribute::KeyType(KeyType::GENERIC_SECRET),
                Attribute::Token(false),
                Attribute::Value(b"0123456789abcdef0123456789abcdef".to_vec()),
                Attribute::Sign(true),
            ])
            .expect("C_CreateObject(generic secret)");
        assert_eq!(
            session.sign(&Mechanism::Sha256Hmac, imported, b"message").expect("C_Sign"),
            hmac_sha256(b"0123456789abcdef0123456789abcdef", b"message")
        );
    });
}

#[test]
fn sign_length_query_keeps_the_operation() {
    run("sign_length_query_keeps_the_operation", Skip::Never, || {
        let hsm = Hsm::load();
        let slot = hsm.token();
        let session = hsm.user_session(slot);
        let key = keys::hmac_key(&session, 32, SecretKeyOptions::SESSION_READABLE);
        let want = hmac_sha256(&bytes_attr(&session, key, AttributeType::Value), b"data");
        let raw = hsm.raw();
        let s = session.handle();
        assert_ck!(raw.sign(s, b"data", None).0, CKR_OPERATION_NOT_INITIALIZED);
        assert_ck!(raw.sign_init(s, CKM_SHA256_HMAC, key.handle()), CKR_OK);
        assert_ck!(raw.sign_init(s, CKM_SHA256_HMAC, key.handle()), CKR_OPERATION_ACTIVE);
        let (rv, len) = raw.sign(s, b"data", None);
        assert_ck!(rv, CKR_OK);
        assert_eq!(len, 32, "length query of C_Sign");
        let mut short = [0u8; 16];
        let (rv, len) = raw.sign(s, b"data", Some(&mut short));
        assert_ck!(rv, CKR_BUFFER_TOO_SMALL);
        assert_eq!(len, 32, "CKR_BUFFER_TOO_SMALL reports the needed length");
        let mut out = [0u8; 32];
        let (rv, len) = raw.sign(s, b"data", Some(&mut out));
        assert_ck!(rv, CKR_OK);
        assert_eq!(len, 32);
        assert_eq!(out.to_vec(), want);
        assert_ck!(raw.sign(s, b"data", None).0, CKR_OPERATION_NOT_INITIALIZED);
        // No mechanism.
        // SAFETY: NULL mechanism is the bad argument under test.
        let rv = unsafe { ck_fn!(raw, C_SignInit)(s, ptr::null_mut(), key.handle()) };
        assert_ck!(rv, CKR_ARGUMENTS_BAD);
    });
}

fn p256_signature(sig: &[u8]) -> Signature {
    assert_eq!(sig.len(), 64, "a P-256 ECDSA signature is r || s, 64 bytes");
    Signature::from_slice(sig).expect("r and s in range")
}

#[test]
fn ecdsa_p256_matches_reference() {
    run("ecdsa_p256_matches_reference", Skip::Never, || {
        let hsm = Hsm::load();
        let slot = hsm.token();
        let session = hsm.user_session(slot);
        let (public, private) = keys::ec_pair(&session, false, "ecdsa", &[]);
        let ec_point = bytes_attr(&session, public, AttributeType::EcPoint);
        assert_eq!(ec_point.len(), 67, "CKA_EC_POINT: 04 41 04 x y");
        let verifying = keys::verifying_key(&session, public);
        assert_eq!(bytes_attr(&session, public, AttributeType::EcParams), keys::P256_PARAMS);
        for msg in [&b"hello"[..], &[0u8; 1000][..]] {
            let digest = sha2::Sha256::digest(msg);
            let sig = session.sign(&Mechanism::Ecdsa, private, &digest).expect("C_Sign(CKM_ECDSA)");
            let parsed = p256_signature(&sig);
            verifying.verify_prehash(&digest, &parsed).expect("p256 verifies the token's ECDSA signature");
            session
                .verify(&Mechanism::Ecdsa, public, &digest, &sig)
                .expect("C_Verify(CKM_ECDSA) of its own signature");
            let mut tampered = sig.clone();
            tampered[40] ^= 1;
            assert_rv!(session.verify(&Mechanism::Ecdsa, public, &digest, &tampered), SignatureInvalid);
            let mut other = digest;
            other[0] ^= 1;
            assert_rv!(session.verify(&Mechanism::Ecdsa, public, &other, &sig), SignatureInvalid);
            assert_rv!(session.verify(&Mechanism::Ecdsa, public, &digest, &sig[..63]), SignatureLenRange);
        }
        // A public key cannot sign.
        let result = session.sign(&Mechanism::Ecdsa, public, &[0; 32]);
        assert!(
            common::is_rv(&result, cryptoki::error::RvError::KeyTypeInconsistent)
                || common::is_rv(&result, cryptoki::error::RvError::KeyFunctionNotPermitted),
            "C_SignInit(CKM_ECDSA) with a public key: {result:?}"
        );
    });
}

#[test]
fn ecdsa_sha256_matches_reference() {
    run("ecdsa_sha256_matches_reference", Skip::OnSoftHsm("SoftHSM 2.6 has no CKM_ECDSA_SHA256"), || {
        let hsm = Hsm::load();
        let slot = hsm.token();
        let session = hsm.user_session(slot);
        let (public, private) = keys::ec_pair(&session, false, "ecdsa-sha256", &[]);
        let verifying = keys::verifying_key(&session, public);
        let msg = b"message to be hashed by the token";
        let sig = session.sign(&Mechanism::EcdsaSha256, private, msg).expect("C_Sign(CKM_ECDSA_SHA256)");
        verifying
            .verify(msg, &p256_signature(&sig))
            .expect("p256 verifies the token's ECDSA-SHA256 signature");
        // Multi-part gives a signature of the same message.
        session.sign_init(&Mechanism::EcdsaSha256, private).expect("C_SignInit");
        for chunk in msg.chunks(5) {
            session.sign_update(chunk).expect("C_SignUpdate");
        }
        let sig2 = session.sign_final().expect("C_SignFinal");
        verifying.verify(msg, &p256_signature(&sig2)).expect("p256 verifies the multi-part signature");
        session.verify(&Mechanism::EcdsaSha256, public, msg, &sig).expect("C_Verify(CKM_ECDSA_SHA256)");
        let mut tampered = sig.clone();
        tampered[3] ^= 0x10;
        assert_rv!(session.verify(&Mechanism::EcdsaSha256, public, msg, &tampered), SignatureInvalid);
    });
}

#[test]
fn key_usage_and_allowed_mechanisms_are_enforced() {
    run("key_usage_and_allowed_mechanisms_are_enforced", Skip::Never, || {
        let hsm = Hsm::load();
        let slot = hsm.token();
        let session = hsm.user_session(slot);
        let digest = [7u8; 32];
        // CKA_SIGN false.
        let (_, cannot_sign) = keys::ec_pair(&session, false, "no sign", &[Attribute::Sign(false)]);
        assert_rv!(session.sign(&Mechanism::Ecdsa, cannot_sign, &digest), KeyFunctionNotPermitted);
        // CKA_ALLOWED_MECHANISMS.
        let (_, only_hmac_like) = keys::ec_pair(
            &session,
            false,
            "restricted",
            &[Attribute::AllowedMechanisms(vec![MechanismType::ECDSA_SHA256])],
        );
        assert_rv!(session.sign(&Mechanism::Ecdsa, only_hmac_like, &digest), MechanismInvalid);
        let (_, allowed) = keys::ec_pair(
            &session,
            false,
            "allowed",
            &[Attribute::AllowedMechanisms(vec![MechanismType::ECDSA])],
        );
        session.sign(&Mechanism::Ecdsa, allowed, &digest).expect("C_Sign with an allowed mechanism");
        // An HMAC key restricted to another MAC.
        let mac_key = session
            .generate_key(
                &Mechanism::GenericSecretKeyGen,
                &[
                    Attribute::ValueLen(32.into()),
                    Attribute::Sign(true),
                    Attribute::AllowedMechanisms(vec![MechanismType::SHA384_HMAC]),
                ],
            )
            .expect("C_GenerateKey");
        assert_rv!(session.sign(&Mechanism::Sha256Hmac, mac_key, b"x"), MechanismInvalid);
        // An EC key for HMAC.
        let (_, unrestricted) = keys::ec_pair(&session, false, "unrestricted", &[]);
        assert_rv!(session.sign(&Mechanism::Sha256Hmac, unrestricted, b"x"), KeyTypeInconsistent);
        // A failed C_SignInit leaves no operation behind.
        assert_rv!(session.sign_update(b"x"), OperationNotInitialized);
    });
}

#[test]
fn ecdsa_with_a_secret_key_is_key_type_inconsistent() {
    run(
        "ecdsa_with_a_secret_key_is_key_type_inconsistent",
        Skip::OnSoftHsm(
            "SoftHSM's C_SignInit(CKM_ECDSA) accepts a generic secret key; C_Sign then fails \
             with CKR_GENERAL_ERROR",
        ),
        || {
            let hsm = Hsm::load();
            let slot = hsm.token();
            let session = hsm.user_session(slot);
            let hmac = keys::hmac_key(&session, 32, SecretKeyOptions::SESSION_SECRET);
            assert_rv!(session.sign_init(&Mechanism::Ecdsa, hmac), KeyTypeInconsistent);
            assert_rv!(session.sign_update(b"x"), OperationNotInitialized);
        },
    );
}

#[test]
fn keys_of_a_session_need_the_user() {
    run("keys_of_a_session_need_the_user", Skip::Never, || {
        let hsm = Hsm::load();
        let slot = hsm.token();
        let session = hsm.user_session(slot);
        let (public, private) = keys::ec_pair(&session, true, "token ec", &[]);
        let digest = [9u8; 32];
        let sig = session.sign(&Mechanism::Ecdsa, private, &digest).expect("C_Sign");
        session.logout().expect("C_Logout");
        // The public key still verifies without login.
        session
            .verify(&Mechanism::Ecdsa, public, &digest, &sig)
            .expect("C_Verify with a public key and nobody logged in");
    });
}

#[test]
fn invalid_key_handles_are_key_handle_invalid() {
    run(
        "invalid_key_handles_are_key_handle_invalid",
        Skip::OnSoftHsm(
            "SoftHSM's C_SignInit/C_EncryptInit/... return CKR_OBJECT_HANDLE_INVALID for an \
             invalid key handle; the spec's code is CKR_KEY_HANDLE_INVALID",
        ),
        || {
            let hsm = Hsm::load();
            let slot = hsm.token();
            let session = hsm.user_session(slot);
            // SAFETY: an arbitrary handle value is exactly what is tested.
            let bogus = unsafe { ObjectHandle::new_from_raw(0x0bad_f00d) };
            let mut iv = [0u8; 12];
            assert_rv!(session.sign(&Mechanism::Sha256Hmac, bogus, b"x"), KeyHandleInvalid);
            assert_rv!(session.verify(&Mechanism::Ecdsa, bogus, &[0; 32], &[0; 64]), KeyHandleInvalid);
            assert_rv!(session.encrypt(&gcm(&mut iv), bogus, b"x"), KeyHandleInvalid);
            assert_rv!(session.decrypt(&gcm(&mut iv), bogus, &[0; 32]), KeyHandleInvalid);
            // A private key after C_Logout: its handle is no longer valid.
            let (_, private) = keys::ec_pair(&session, true, "token ec", &[]);
            session.logout().expect("C_Logout");
            let result = session.sign(&Mechanism::Ecdsa, private, &[0; 32]);
            assert!(
                common::is_rv(&result, cryptoki::error::RvError::KeyHandleInvalid)
                    || common::is_rv(&result, cryptoki::error::RvError::UserNotLoggedIn),
                "C_SignInit with a private key after C_Logout: {result:?}"
            );
        },
    );
}
