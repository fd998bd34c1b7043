//! Symmetric mechanisms through the engine: ciphers single- and multi-part with exact output
//! lengths, MACs, key generation, wrapping and derivation; every bad input answers its exact
//! `CKR_*` and leaves the token as it was.
#![allow(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]

use alloc::boxed::Box;
use alloc::vec;
use alloc::vec::Vec;

use super::*;
use crate::attribute::{AttrValue, Attribute};
use crate::consts::flags::{
    CKF_DECRYPT, CKF_DERIVE, CKF_ENCRYPT, CKF_GENERATE, CKF_SIGN, CKF_UNWRAP, CKF_VERIFY, CKF_WRAP,
};
use crate::consts::{AttrType as A, KeyType, MechanismType as M, ObjectClass};
use crate::info::AttrLookup;
use crate::info::{
    CounterFormat, HkdfParams, HkdfSalt, MechParam, Mechanism, OutBuf, Output, Pbkdf2Params, PrfDataParam,
    Sp800108Params,
};
use crate::rng::{DeterministicRng, NoClock};
use crate::secret::SecretBytes;
use crate::store::MemoryStore;

const SO: &[u8] = b"12345678";
const USER: &[u8] = b"1234";
const RW: u64 = CKF_SERIAL_SESSION | CKF_RW_SESSION;
const P256: &[u8] = &[0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];

fn ready() -> (Engine, u64) {
    let config = EngineConfig { fast_pin_kdf: true, ..EngineConfig::default() };
    let mut e = Engine::new(
        Box::new(MemoryStore::new()),
        Box::new(DeterministicRng::from_seed([7; 32])),
        Box::new(NoClock),
        config,
    )
    .unwrap();
    e.init_token(0, SO, &pad("sym")).unwrap();
    let s = e.open_session(0, RW).unwrap();
    e.login(s, UserType::SO, SO).unwrap();
    e.init_pin(s, USER).unwrap();
    e.logout(s).unwrap();
    e.login(s, UserType::USER, USER).unwrap();
    (e, s)
}

fn h(s: &str) -> Vec<u8> {
    hex::decode(s.replace(' ', "")).unwrap()
}

fn data(out: Output) -> Vec<u8> {
    match out {
        Output::Data(d) => d,
        Output::Length(n) => panic!("expected data, got a length {n}"),
    }
}

fn mech(ty: M, param: MechParam) -> Mechanism {
    Mechanism { ty, param }
}

/// Every object the session sees (a token "unchanged" check compares these).
fn objects(e: &mut Engine, s: u64) -> Vec<u64> {
    e.find_objects_init(s, &[]).unwrap();
    let mut v = e.find_objects(s, 10_000).unwrap();
    e.find_objects_final(s).unwrap();
    v.sort_unstable();
    v
}

/// A secret key with a known value: usable for everything, readable, a token object.
fn secret(e: &mut Engine, s: u64, kt: KeyType, value: &[u8], extra: &[Attribute]) -> u64 {
    let mut t = vec![
        Attribute::ulong(A::CLASS, ObjectClass::SECRET_KEY.0),
        Attribute::ulong(A::KEY_TYPE, kt.0),
        Attribute::bytes(A::VALUE, value),
        Attribute::bool(A::TOKEN, true),
    ];
    for ty in [A::ENCRYPT, A::DECRYPT, A::SIGN, A::VERIFY, A::WRAP, A::UNWRAP, A::DERIVE, A::EXTRACTABLE] {
        if !extra.iter().any(|a| a.ty == ty) {
            t.push(Attribute::bool(ty, true));
        }
    }
    if !extra.iter().any(|a| a.ty == A::SENSITIVE) {
        t.push(Attribute::bool(A::SENSITIVE, false));
    }
    t.extend_from_slice(extra);
    e.create_object(s, &t).unwrap()
}

fn value_of(e: &mut Engine, s: u64, k: u64) -> Vec<u8> {
    match e.attribute_values(s, k, &[A::VALUE]).unwrap().remove(0) {
        AttrLookup::Value(AttrValue::Secret(v)) => v.expose().to_vec(),
        AttrLookup::Value(AttrValue::Bytes(v)) => v,
        other => panic!("no value: {other:?}"),
    }
}

fn flag_of(e: &mut Engine, s: u64, k: u64, ty: A) -> bool {
    match e.attribute_values(s, k, &[ty]).unwrap().remove(0) {
        AttrLookup::Value(AttrValue::Bool(b)) => b,
        other => panic!("{ty:?}: {other:?}"),
    }
}

fn ulong_of(e: &mut Engine, s: u64, k: u64, ty: A) -> u64 {
    match e.attribute_values(s, k, &[ty]).unwrap().remove(0) {
        AttrLookup::Value(AttrValue::Ulong(v)) => v,
        other => panic!("{ty:?}: {other:?}"),
    }
}

fn encrypt(e: &mut Engine, s: u64, m: &Mechanism, k: u64, pt: &[u8]) -> Result<Vec<u8>> {
    e.encrypt_init(s, m, k)?;
    e.encrypt(s, pt, OutBuf::Capacity(pt.len() + 64)).map(data)
}

fn decrypt(e: &mut Engine, s: u64, m: &Mechanism, k: u64, ct: &[u8]) -> Result<Vec<u8>> {
    e.decrypt_init(s, m, k)?;
    e.decrypt(s, ct, OutBuf::Capacity(ct.len() + 64)).map(data)
}

/// Multi-part in `chunk`-byte updates: every update's output length is what a NULL-buffer
/// query said, and the final step's length query is an upper bound.
fn multi(
    e: &mut Engine,
    s: u64,
    m: &Mechanism,
    k: u64,
    encrypt: bool,
    input: &[u8],
    chunk: usize,
) -> Result<Vec<u8>> {
    if encrypt {
        e.encrypt_init(s, m, k)?
    } else {
        e.decrypt_init(s, m, k)?
    };
    let mut out = Vec::new();
    for part in input.chunks(chunk.max(1)) {
        let q = if encrypt {
            e.encrypt_update(s, part, OutBuf::Query)?
        } else {
            e.decrypt_update(s, part, OutBuf::Query)?
        };
        let Output::Length(n) = q else { panic!("query gave data") };
        let got = if encrypt {
            e.encrypt_update(s, part, OutBuf::Capacity(n))?
        } else {
            e.decrypt_update(s, part, OutBuf::Capacity(n))?
        };
        let got = data(got);
        assert_eq!(got.len(), n, "{m:?} update output length");
        out.extend(got);
    }
    let q = if encrypt { e.encrypt_final(s, OutBuf::Query)? } else { e.decrypt_final(s, OutBuf::Query)? };
    let Output::Length(bound) = q else { panic!("query gave data") };
    let last = data(if encrypt {
        e.encrypt_final(s, OutBuf::Capacity(bound))?
    } else {
        e.decrypt_final(s, OutBuf::Capacity(bound))?
    });
    assert!(last.len() <= bound);
    out.extend(last);
    Ok(out)
}

#[test]
fn mechanism_info_is_truthful() {
    let (mut e, _s) = ready();
    let list = e.mechanism_list(0).unwrap();
    let ed = CKF_ENCRYPT | CKF_DECRYPT;
    let wu = CKF_WRAP | CKF_UNWRAP;
    let sv = CKF_SIGN | CKF_VERIFY;
    let expect: &[(M, u64, u64, u64)] = &[
        (M::AES_KEY_GEN, 16, 32, CKF_GENERATE),
        (M::AES_ECB, 16, 32, ed | wu),
        (M::AES_CBC, 16, 32, ed | wu),
        (M::AES_CBC_PAD, 16, 32, ed | wu),
        (M::AES_CTR, 16, 32, ed),
        (M::AES_GCM, 16, 32, ed | wu),
        (M::AES_CCM, 16, 32, ed),
        (M::AES_CTS, 16, 32, ed),
        (M::AES_OFB, 16, 32, ed),
        (M::AES_CFB8, 16, 32, ed),
        (M::AES_CFB128, 16, 32, ed),
        (M::AES_KEY_WRAP, 16, 32, ed | wu),
        (M::AES_KEY_WRAP_KWP, 16, 32, ed | wu),
        (M::AES_KEY_WRAP_PAD, 16, 32, ed | wu),
        (M::AES_CMAC, 16, 32, sv),
        (M::AES_CMAC_GENERAL, 16, 32, sv),
        (M::AES_MAC, 16, 32, sv),
        (M::AES_ECB_ENCRYPT_DATA, 16, 32, CKF_DERIVE),
        (M::AES_CBC_ENCRYPT_DATA, 16, 32, CKF_DERIVE),
        (M::CHACHA20_KEY_GEN, 32, 32, CKF_GENERATE),
        (M::CHACHA20_POLY1305, 32, 32, ed),
        (M::DES2_KEY_GEN, 16, 16, CKF_GENERATE),
        (M::DES3_KEY_GEN, 24, 24, CKF_GENERATE),
        (M::DES3_ECB, 16, 24, ed | wu),
        (M::DES3_CBC, 16, 24, ed | wu),
        (M::DES3_CBC_PAD, 16, 24, ed | wu),
        (M::DES3_CMAC, 16, 24, sv),
        (M::DES3_ECB_ENCRYPT_DATA, 16, 24, CKF_DERIVE),
        (M::DES3_CBC_ENCRYPT_DATA, 16, 24, CKF_DERIVE),
        (M::SHA256_KEY_GEN, 1, 1024, CKF_GENERATE),
        (M::SHA3_512_KEY_GEN, 1, 1024, CKF_GENERATE),
        (M::HKDF_KEY_GEN, 1, 1024, CKF_GENERATE),
        (M::HKDF_DERIVE, 1, 1024, CKF_DERIVE),
        (M::HKDF_DATA, 1, 1024, CKF_DERIVE),
        (M::PKCS5_PBKD2, 1, 1024, CKF_GENERATE),
        (M::SP800_108_COUNTER_KDF, 1, 1024, CKF_DERIVE),
        (M::SP800_108_FEEDBACK_KDF, 1, 1024, CKF_DERIVE),
        (M::SP800_108_DOUBLE_PIPELINE_KDF, 1, 1024, CKF_DERIVE),
        (M::CONCATENATE_BASE_AND_KEY, 1, 1024, CKF_DERIVE),
        (M::CONCATENATE_BASE_AND_DATA, 1, 1024, CKF_DERIVE),
        (M::CONCATENATE_DATA_AND_BASE, 1, 1024, CKF_DERIVE),
        (M::XOR_BASE_AND_DATA, 1, 1024, CKF_DERIVE),
        (M::EXTRACT_KEY_FROM_KEY, 1, 1024, CKF_DERIVE),
        (M::SHA256_HMAC_GENERAL, 1, 1024, sv),
    ];
    for &(m, min, max, flags) in expect {
        assert!(list.contains(&m), "{m:?} listed");
        let info = e.mechanism_info(0, m).unwrap();
        assert_eq!((info.min_key_size, info.max_key_size, info.flags), (min, max, flags), "{m:?}");
    }
    // Single DES is not offered at all.
    for m in [M::DES_KEY_GEN, M::DES_ECB, M::DES_CBC, M::DES_CBC_PAD, M::DES_MAC] {
        assert!(!list.contains(&m));
        assert_eq!(e.mechanism_info(0, m), Err(Error::MechanismInvalid));
    }
}

#[test]
fn key_generation() {
    let (mut e, s) = ready();
    let keygen = |e: &mut Engine, m: M, t: &[Attribute]| e.generate_key(s, &Mechanism::new(m), t);
    let len = |n| Attribute::ulong(A::VALUE_LEN, n);
    let readable = [Attribute::bool(A::SENSITIVE, false), Attribute::bool(A::EXTRACTABLE, true)];
    for (m, kt, t, n) in [
        (M::AES_KEY_GEN, KeyType::AES, vec![len(24)], 24usize),
        (M::DES2_KEY_GEN, KeyType::DES2, vec![], 16),
        (M::DES3_KEY_GEN, KeyType::DES3, vec![], 24),
        (M::CHACHA20_KEY_GEN, KeyType::CHACHA20, vec![], 32),
        (M::CHACHA20_KEY_GEN, KeyType::CHACHA20, vec![len(32)], 32),
        (M::GENERIC_SECRET_KEY_GEN, KeyType::GENERIC_SECRET, vec![len(40)], 40),
        (M::HKDF_KEY_GEN, KeyType::HKDF, vec![len(32)], 32),
        (M::SHA_1_KEY_GEN, KeyType::SHA_1_HMAC, vec![len(20)], 20),
        (M::SHA256_KEY_GEN, KeyType::SHA256_HMAC, vec![len(32)], 32),
        (M::SHA512_256_KEY_GEN, KeyType::SHA512_256_HMAC, vec![len(32)], 32),
        (M::SHA3_384_KEY_GEN, KeyType::SHA3_384_HMAC, vec![len(48)], 48),
    ] {
        let mut t = t.clone();
        t.extend_from_slice(&readable);
        let k = keygen(&mut e, m, &t).unwrap();
        assert_eq!(ulong_of(&mut e, s, k, A::KEY_TYPE), kt.0, "{m:?}");
        assert_eq!(ulong_of(&mut e, s, k, A::KEY_GEN_MECHANISM), m.0);
        let v = value_of(&mut e, s, k);
        assert_eq!(v.len(), n, "{m:?}");
        if matches!(kt, KeyType::DES2 | KeyType::DES3) {
            assert!(v.iter().all(|b| b.count_ones() % 2 == 1), "odd parity");
            assert_ne!(v[..8], v[8..16]);
        }
    }
    // The HMAC key types sign with their hash and with no other.
    let k = keygen(&mut e, M::SHA256_KEY_GEN, &[len(32), Attribute::bool(A::SIGN, true)]).unwrap();
    e.sign_init(s, &Mechanism::new(M::SHA256_HMAC), k).unwrap();
    assert_eq!(data(e.sign(s, b"x", OutBuf::Capacity(32)).unwrap()).len(), 32);
    assert_eq!(e.sign_init(s, &Mechanism::new(M::SHA384_HMAC), k), Err(Error::KeyTypeInconsistent));

    let before = objects(&mut e, s);
    assert_eq!(keygen(&mut e, M::AES_KEY_GEN, &[len(20)]), Err(Error::KeySizeRange));
    assert_eq!(keygen(&mut e, M::AES_KEY_GEN, &[]), Err(Error::TemplateIncomplete));
    assert_eq!(keygen(&mut e, M::SHA256_KEY_GEN, &[]), Err(Error::TemplateIncomplete));
    assert_eq!(keygen(&mut e, M::SHA256_KEY_GEN, &[len(0)]), Err(Error::KeySizeRange));
    assert_eq!(keygen(&mut e, M::CHACHA20_KEY_GEN, &[len(16)]), Err(Error::KeySizeRange));
    assert_eq!(keygen(&mut e, M::DES3_KEY_GEN, &[len(16)]), Err(Error::KeySizeRange));
    assert_eq!(
        keygen(&mut e, M::SHA256_KEY_GEN, &[len(32), Attribute::ulong(A::KEY_TYPE, KeyType::AES.0)]),
        Err(Error::TemplateInconsistent)
    );
    assert_eq!(
        keygen(&mut e, M::GENERIC_SECRET_KEY_GEN, &[len(16), Attribute::ulong(A::KEY_TYPE, KeyType::DES2.0)]),
        Err(Error::TemplateInconsistent)
    );
    assert_eq!(keygen(&mut e, M::DES_KEY_GEN, &[]), Err(Error::MechanismInvalid));
    // A single-DES key cannot even be stored.
    let des = [
        Attribute::ulong(A::CLASS, ObjectClass::SECRET_KEY.0),
        Attribute::ulong(A::KEY_TYPE, KeyType::DES.0),
        Attribute::bytes(A::VALUE, &[1; 8]),
    ];
    assert_eq!(e.create_object(s, &des), Err(Error::AttributeValueInvalid));
    let bad_des3 = [
        Attribute::ulong(A::CLASS, ObjectClass::SECRET_KEY.0),
        Attribute::ulong(A::KEY_TYPE, KeyType::DES3.0),
        Attribute::bytes(A::VALUE, &[1; 16]),
    ];
    assert_eq!(e.create_object(s, &bad_des3), Err(Error::AttributeValueInvalid));
    assert_eq!(objects(&mut e, s), before, "token unchanged");
}

const K128: &str = "2b7e151628aed2a6abf7158809cf4f3c";
const PT: &str = "6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51\
                  30c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710";
const IV: &str = "000102030405060708090a0b0c0d0e0f";

/// SP 800-38A vectors through the engine, one call and multi-part in every chunk size.
#[test]
fn aes_modes_through_the_engine() {
    let (mut e, s) = ready();
    let k = secret(&mut e, s, KeyType::AES, &h(K128), &[]);
    let pt = h(PT);
    let iv = || MechParam::Bytes(h(IV));
    let cases: Vec<(Mechanism, Vec<u8>)> = vec![
        (
            Mechanism::new(M::AES_ECB),
            h("3ad77bb40d7a3660a89ecaf32466ef97f5d3d58503b9699de785895a96fdbaaf\
               43b1cd7f598ece23881b00e3ed0306887b0c785e27e8ad3f8223207104725dd4"),
        ),
        (
            mech(M::AES_CBC, iv()),
            h("7649abac8119b246cee98e9b12e9197d5086cb9b507219ee95db113a917678b2\
               73bed6b8e3c1743b7116e69e222295163ff1caa1681fac09120eca307586e1a7"),
        ),
        (
            mech(
                M::AES_CTR,
                MechParam::AesCtr {
                    counter_bits: 128,
                    block: h("f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff").try_into().unwrap(),
                },
            ),
            h("874d6191b620e3261bef6864990db6ce9806f66b7970fdff8617187bb9fffdff\
               5ae4df3edbd5d35e5b4f09020db03eab1e031dda2fbe03d1792170a0f3009cee"),
        ),
        (
            mech(M::AES_OFB, iv()),
            h("3b3fd92eb72dad20333449f8e83cfb4a7789508d16918f03f53c52dac54ed825\
               9740051e9c5fecf64344f7a82260edcc304c6528f659c77866a510d9c1d6ae5e"),
        ),
        (
            mech(M::AES_CFB128, iv()),
            h("3b3fd92eb72dad20333449f8e83cfb4ac8a64537a0b3a93fcde3cdad9f1ce58b\
               26751f67a3cbb140b1808cf187a4f4dfc04b05357c5d1c0eeac4c66f9ff7f2e6"),
        ),
    ];
    for (m, ct) in &cases {
        assert_eq!(&encrypt(&mut e, s, m, k, &pt).unwrap(), ct, "{m:?}");
        assert_eq!(decrypt(&mut e, s, m, k, ct).unwrap(), pt, "{m:?}");
        for chunk in [1, 5, 16, 17, 64] {
            assert_eq!(&multi(&mut e, s, m, k, true, &pt, chunk).unwrap(), ct, "{m:?} /{chunk}");
            assert_eq!(multi(&mut e, s, m, k, false, ct, chunk).unwrap(), pt, "{m:?} /{chunk}");
        }
    }
    // CFB8, CTS, CBC-PAD round trips at awkward lengths.
    for m in [mech(M::AES_CFB8, iv()), mech(M::AES_CTS, iv()), mech(M::AES_CBC_PAD, iv())] {
        for len in [16usize, 17, 31, 32, 33, 63] {
            let ct = encrypt(&mut e, s, &m, k, &pt[..len]).unwrap();
            assert_eq!(decrypt(&mut e, s, &m, k, &ct).unwrap(), pt[..len]);
            for chunk in [1, 7, 16, 40] {
                assert_eq!(
                    multi(&mut e, s, &m, k, true, &pt[..len], chunk).unwrap(),
                    ct,
                    "{m:?} {len}/{chunk}"
                );
                assert_eq!(multi(&mut e, s, &m, k, false, &ct, chunk).unwrap(), pt[..len]);
            }
        }
    }
    // One-call length queries: CBC-PAD pads, the others keep the length.
    e.encrypt_init(s, &mech(M::AES_CBC_PAD, iv()), k).unwrap();
    assert_eq!(e.encrypt(s, &pt[..20], OutBuf::Query).unwrap(), Output::Length(32));
    assert_eq!(e.encrypt(s, &pt[..20], OutBuf::Capacity(31)).unwrap(), Output::Length(32));
    assert_eq!(data(e.encrypt(s, &pt[..20], OutBuf::Capacity(32)).unwrap()).len(), 32);
}

#[test]
fn triple_des() {
    let (mut e, s) = ready();
    // SP 800-67 TDEA example, three keys, ECB.
    let k3 = secret(&mut e, s, KeyType::DES3, &h("0123456789ABCDEF23456789ABCDEF01456789ABCDEF0123"), &[]);
    let pt = h("5468652071756663 6B2062726F776E20 666F78206A756D70");
    let ct = h("A826FD8CE53B855F CCE21C8112256FE6 68D5C05DD9B6B900");
    assert_eq!(encrypt(&mut e, s, &Mechanism::new(M::DES3_ECB), k3, &pt).unwrap(), ct);
    assert_eq!(decrypt(&mut e, s, &Mechanism::new(M::DES3_ECB), k3, &ct).unwrap(), pt);
    let k2 = secret(&mut e, s, KeyType::DES2, &h("0123456789ABCDEF23456789ABCDEF01"), &[]);
    for k in [k2, k3] {
        for m in [
            mech(M::DES3_CBC, MechParam::Bytes(vec![1; 8])),
            mech(M::DES3_CBC_PAD, MechParam::Bytes(vec![1; 8])),
        ] {
            let input = if m.ty == M::DES3_CBC { &pt[..] } else { &pt[..21] };
            let c = encrypt(&mut e, s, &m, k, input).unwrap();
            assert_eq!(decrypt(&mut e, s, &m, k, &c).unwrap(), input);
            assert_eq!(multi(&mut e, s, &m, k, true, input, 3).unwrap(), c);
            assert_eq!(multi(&mut e, s, &m, k, false, &c, 5).unwrap(), input);
        }
    }
    // SP 800-38B D.4: three-key TDEA CMAC of 20 bytes.
    let kc = secret(&mut e, s, KeyType::DES3, &h("8aa83bf8cbda1062 0bc1bf19fbb6cd58 bc313d4a371ca8b5"), &[]);
    e.sign_init(s, &Mechanism::new(M::DES3_CMAC), kc).unwrap();
    assert_eq!(
        data(e.sign(s, &h("6bc1bee22e409f96e93d7e117393172aae2d8a57"), OutBuf::Capacity(8)).unwrap()),
        h("743ddbe0ce2dc2ed")
    );
    // Wrong IV length, an AES key for a DES mechanism.
    let aes = secret(&mut e, s, KeyType::AES, &[0; 16], &[]);
    assert_eq!(
        e.encrypt_init(s, &mech(M::DES3_CBC, MechParam::Bytes(vec![0; 16])), k3),
        Err(Error::MechanismParamInvalid)
    );
    assert_eq!(e.encrypt_init(s, &Mechanism::new(M::DES3_ECB), aes), Err(Error::KeyTypeInconsistent));
    assert_eq!(e.encrypt_init(s, &Mechanism::new(M::AES_ECB), k3), Err(Error::KeyTypeInconsistent));
}

#[test]
fn cipher_errors_have_exact_codes() {
    let (mut e, s) = ready();
    let k = secret(&mut e, s, KeyType::AES, &h(K128), &[]);
    let hmac = secret(&mut e, s, KeyType::GENERIC_SECRET, &[5; 16], &[]);
    let no_enc = secret(&mut e, s, KeyType::AES, &h(K128), &[Attribute::bool(A::ENCRYPT, false)]);
    let before = objects(&mut e, s);
    let iv = |n| MechParam::Bytes(vec![0; n]);
    // Parameters.
    for (m, code) in [
        (mech(M::AES_CBC, iv(15)), Error::MechanismParamInvalid),
        (mech(M::AES_CBC, iv(17)), Error::MechanismParamInvalid),
        (mech(M::AES_CBC, MechParam::None), Error::MechanismParamInvalid),
        (mech(M::AES_ECB, iv(16)), Error::MechanismParamInvalid),
        (mech(M::AES_CTS, iv(8)), Error::MechanismParamInvalid),
        (mech(M::AES_OFB, iv(0)), Error::MechanismParamInvalid),
        (
            mech(M::AES_CTR, MechParam::AesCtr { counter_bits: 0, block: [0; 16] }),
            Error::MechanismParamInvalid,
        ),
        (
            mech(M::AES_CTR, MechParam::AesCtr { counter_bits: 129, block: [0; 16] }),
            Error::MechanismParamInvalid,
        ),
        (
            mech(M::AES_GCM, MechParam::Gcm { iv: vec![], aad: vec![], tag_bits: 128 }),
            Error::MechanismParamInvalid,
        ),
        (
            mech(M::AES_GCM, MechParam::Gcm { iv: vec![0; 12], aad: vec![], tag_bits: 100 }),
            Error::MechanismParamInvalid,
        ),
        (
            mech(M::AES_CCM, MechParam::Ccm { data_len: 4, nonce: vec![0; 6], aad: vec![], mac_len: 8 }),
            Error::MechanismParamInvalid,
        ),
        (
            mech(M::AES_CCM, MechParam::Ccm { data_len: 4, nonce: vec![0; 12], aad: vec![], mac_len: 5 }),
            Error::MechanismParamInvalid,
        ),
        (mech(M::AES_KEY_WRAP, iv(4)), Error::MechanismParamInvalid),
        (mech(M::AES_KEY_WRAP_KWP, iv(8)), Error::MechanismParamInvalid),
    ] {
        assert_eq!(e.encrypt_init(s, &m, k), Err(code), "{m:?}");
    }
    // Key type and usage.
    assert_eq!(e.encrypt_init(s, &Mechanism::new(M::AES_ECB), hmac), Err(Error::KeyTypeInconsistent));
    assert_eq!(
        e.encrypt_init(
            s,
            &mech(M::CHACHA20_POLY1305, MechParam::ChaCha20Poly1305 { nonce: vec![0; 12], aad: vec![] }),
            k
        ),
        Err(Error::KeyTypeInconsistent)
    );
    assert_eq!(e.encrypt_init(s, &Mechanism::new(M::AES_ECB), no_enc), Err(Error::KeyFunctionNotPermitted));
    assert_eq!(e.encrypt_init(s, &Mechanism::new(M::DES_ECB), k), Err(Error::MechanismInvalid));
    assert_eq!(e.sign_init(s, &Mechanism::new(M::AES_ECB), k), Err(Error::MechanismInvalid));

    // Lengths.
    assert_eq!(encrypt(&mut e, s, &Mechanism::new(M::AES_ECB), k, &[0; 17]), Err(Error::DataLenRange));
    assert_eq!(decrypt(&mut e, s, &mech(M::AES_CBC, iv(16)), k, &[0; 31]), Err(Error::EncryptedDataLenRange));
    assert_eq!(
        decrypt(&mut e, s, &mech(M::AES_CBC_PAD, iv(16)), k, &[0; 20]),
        Err(Error::EncryptedDataLenRange)
    );
    assert_eq!(encrypt(&mut e, s, &mech(M::AES_CTS, iv(16)), k, &[0; 15]), Err(Error::DataLenRange));
    assert_eq!(decrypt(&mut e, s, &mech(M::AES_CTS, iv(16)), k, &[0; 15]), Err(Error::EncryptedDataLenRange));
    // A multi-part ECB that ends between blocks fails at the final step, which ends it.
    e.encrypt_init(s, &Mechanism::new(M::AES_ECB), k).unwrap();
    assert_eq!(data(e.encrypt_update(s, &[0; 20], OutBuf::Capacity(32)).unwrap()).len(), 16);
    assert_eq!(e.encrypt_final(s, OutBuf::Capacity(32)), Err(Error::DataLenRange));
    assert_eq!(e.encrypt_final(s, OutBuf::Capacity(32)), Err(Error::OperationNotInitialized));
    // Padding: a block that decrypts to bad PKCS #7 padding.
    let mut block = [9u8; 16];
    block[15] = 0x20;
    let bad = encrypt(&mut e, s, &mech(M::AES_CBC, iv(16)), k, &block).unwrap();
    assert_eq!(decrypt(&mut e, s, &mech(M::AES_CBC_PAD, iv(16)), k, &bad), Err(Error::EncryptedDataInvalid));
    // CTR: the counter field may not wrap. 8 bits from 0xfe leaves 2 blocks.
    let mut cb = [0u8; 16];
    cb[15] = 0xfe;
    let ctr = mech(M::AES_CTR, MechParam::AesCtr { counter_bits: 8, block: cb });
    assert_eq!(encrypt(&mut e, s, &ctr, k, &[0; 32]).unwrap().len(), 32);
    assert_eq!(encrypt(&mut e, s, &ctr, k, &[0; 33]), Err(Error::DataLenRange));
    e.encrypt_init(s, &ctr, k).unwrap();
    assert_eq!(data(e.encrypt_update(s, &[0; 31], OutBuf::Capacity(31)).unwrap()).len(), 31);
    assert_eq!(e.encrypt_update(s, &[0; 2], OutBuf::Capacity(2)), Err(Error::DataLenRange));
    assert_eq!(decrypt(&mut e, s, &ctr, k, &[0; 48]), Err(Error::DataLenRange));
    // AEAD tags.
    let gcm = mech(M::AES_GCM, MechParam::Gcm { iv: vec![1; 12], aad: b"hdr".to_vec(), tag_bits: 96 });
    let mut c = encrypt(&mut e, s, &gcm, k, b"secret").unwrap();
    assert_eq!(c.len(), 6 + 12);
    c[2] ^= 1;
    assert_eq!(decrypt(&mut e, s, &gcm, k, &c), Err(Error::EncryptedDataInvalid));
    assert_eq!(decrypt(&mut e, s, &gcm, k, &c[..11]), Err(Error::EncryptedDataLenRange));
    let ccm = mech(M::AES_CCM, MechParam::Ccm { data_len: 6, nonce: vec![2; 12], aad: vec![], mac_len: 8 });
    let mut c = encrypt(&mut e, s, &ccm, k, b"secret").unwrap();
    assert_eq!(encrypt(&mut e, s, &ccm, k, b"secrets"), Err(Error::DataLenRange));
    c[13] ^= 1;
    assert_eq!(decrypt(&mut e, s, &ccm, k, &c), Err(Error::EncryptedDataInvalid));
    assert_eq!(decrypt(&mut e, s, &ccm, k, &c[..13]), Err(Error::EncryptedDataLenRange));
    let kw = Mechanism::new(M::AES_KEY_WRAP);
    assert_eq!(encrypt(&mut e, s, &kw, k, &[0; 12]), Err(Error::DataLenRange));
    let mut w = encrypt(&mut e, s, &kw, k, &[3; 16]).unwrap();
    w[0] ^= 1;
    assert_eq!(decrypt(&mut e, s, &kw, k, &w), Err(Error::EncryptedDataInvalid));
    assert_eq!(decrypt(&mut e, s, &kw, k, &w[..20]), Err(Error::EncryptedDataLenRange));
    assert_eq!(objects(&mut e, s), before, "token unchanged");
}

#[test]
fn aeads_through_the_engine() {
    let (mut e, s) = ready();
    // SP 800-38C example 2, single and multi-part.
    let k = secret(&mut e, s, KeyType::AES, &h("404142434445464748494a4b4c4d4e4f"), &[]);
    let ccm = mech(
        M::AES_CCM,
        MechParam::Ccm {
            data_len: 16,
            nonce: h("1011121314151617"),
            aad: h("000102030405060708090a0b0c0d0e0f"),
            mac_len: 6,
        },
    );
    let pt = h("202122232425262728292a2b2c2d2e2f");
    let ct = h("d2a1f0e051ea5f62081a7792073d593d1fc64fbfaccd");
    assert_eq!(encrypt(&mut e, s, &ccm, k, &pt).unwrap(), ct);
    assert_eq!(multi(&mut e, s, &ccm, k, true, &pt, 5).unwrap(), ct);
    assert_eq!(multi(&mut e, s, &ccm, k, false, &ct, 7).unwrap(), pt);
    // RFC 8439 §2.8.2.
    let kc = secret(
        &mut e,
        s,
        KeyType::CHACHA20,
        &h("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f"),
        &[],
    );
    let cp = mech(
        M::CHACHA20_POLY1305,
        MechParam::ChaCha20Poly1305 {
            nonce: h("070000004041424344454647"),
            aad: h("50515253c0c1c2c3c4c5c6c7"),
        },
    );
    let pt = b"Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.";
    let c = encrypt(&mut e, s, &cp, kc, pt).unwrap();
    assert_eq!(&c[c.len() - 16..], &h("1ae10b594f09e26a7e902ecbd0600691")[..]);
    assert_eq!(multi(&mut e, s, &cp, kc, false, &c, 10).unwrap(), pt);
    let mut bad = c.clone();
    bad[0] ^= 1;
    assert_eq!(decrypt(&mut e, s, &cp, kc, &bad), Err(Error::EncryptedDataInvalid));
    let short = mech(M::CHACHA20_POLY1305, MechParam::ChaCha20Poly1305 { nonce: vec![0; 8], aad: vec![] });
    assert_eq!(e.encrypt_init(s, &short, kc), Err(Error::MechanismParamInvalid));
    // GCM multi-part: ciphertext streams out, the tag comes last; decryption holds everything
    // until the tag is checked.
    let gcm = mech(M::AES_GCM, MechParam::Gcm { iv: vec![7; 16], aad: b"aad".to_vec(), tag_bits: 128 });
    let msg: Vec<u8> = (0..100u8).collect();
    let one = encrypt(&mut e, s, &gcm, k, &msg).unwrap();
    assert_eq!(multi(&mut e, s, &gcm, k, true, &msg, 7).unwrap(), one);
    e.decrypt_init(s, &gcm, k).unwrap();
    assert_eq!(e.decrypt_update(s, &one[..50], OutBuf::Query).unwrap(), Output::Length(0));
    assert_eq!(data(e.decrypt_update(s, &one[..50], OutBuf::Capacity(0)).unwrap()), b"");
    assert_eq!(data(e.decrypt_update(s, &one[50..], OutBuf::Capacity(0)).unwrap()), b"");
    assert_eq!(data(e.decrypt_final(s, OutBuf::Capacity(100)).unwrap()), msg);
}

#[test]
fn macs_through_the_engine() {
    let (mut e, s) = ready();
    let k = secret(&mut e, s, KeyType::AES, &h(K128), &[]);
    let msg = h(PT);
    let sign = |e: &mut Engine, m: &Mechanism, data_: &[u8]| -> Result<Vec<u8>> {
        e.sign_init(s, m, k)?;
        e.sign(s, data_, OutBuf::Capacity(64)).map(data)
    };
    // SP 800-38B D.1 (AES-128, 40 bytes).
    let tag = h("dfa66747de9ae63030ca32611497c827");
    assert_eq!(sign(&mut e, &Mechanism::new(M::AES_CMAC), &msg[..40]).unwrap(), tag);
    assert_eq!(sign(&mut e, &mech(M::AES_CMAC_GENERAL, MechParam::Ulong(4)), &msg[..40]).unwrap(), tag[..4]);
    // Multi-part signing gives the same tag.
    e.sign_init(s, &Mechanism::new(M::AES_CMAC), k).unwrap();
    for part in msg[..40].chunks(7) {
        e.sign_update(s, part).unwrap();
    }
    assert_eq!(data(e.sign_final(s, OutBuf::Capacity(16)).unwrap()), tag);
    // AES_MAC: CBC-MAC, half a block; _GENERAL picks the length.
    // AES_MAC is the last block of CBC under a zero IV, cut to half a block.
    let cbc = encrypt(&mut e, s, &mech(M::AES_CBC, MechParam::Bytes(vec![0; 16])), k, &msg[..32]).unwrap();
    let mac = sign(&mut e, &Mechanism::new(M::AES_MAC), &msg[..32]).unwrap();
    assert_eq!(mac, cbc[16..24]);
    let full = sign(&mut e, &mech(M::AES_MAC_GENERAL, MechParam::Ulong(16)), &msg[..32]).unwrap();
    assert_eq!(full, cbc[16..]);
    // A partial last block is padded with zeros.
    let mut padded = msg[..20].to_vec();
    padded.resize(32, 0);
    let cbc = encrypt(&mut e, s, &mech(M::AES_CBC, MechParam::Bytes(vec![0; 16])), k, &padded).unwrap();
    assert_eq!(sign(&mut e, &Mechanism::new(M::AES_MAC), &msg[..20]).unwrap(), cbc[16..24]);
    // Verification: right, wrong, wrong length.
    e.verify_init(s, &Mechanism::new(M::AES_CMAC), k).unwrap();
    assert_eq!(e.verify(s, &msg[..40], &tag), Ok(()));
    let mut bad = tag.clone();
    bad[15] ^= 1;
    e.verify_init(s, &Mechanism::new(M::AES_CMAC), k).unwrap();
    assert_eq!(e.verify(s, &msg[..40], &bad), Err(Error::SignatureInvalid));
    e.verify_init(s, &Mechanism::new(M::AES_CMAC), k).unwrap();
    assert_eq!(e.verify(s, &msg[..40], &tag[..15]), Err(Error::SignatureLenRange));
    e.verify_init(s, &mech(M::AES_CMAC_GENERAL, MechParam::Ulong(8)), k).unwrap();
    assert_eq!(e.verify(s, &msg[..40], &tag[..8]), Ok(()));
    for p in [MechParam::Ulong(0), MechParam::Ulong(17), MechParam::None] {
        assert_eq!(e.sign_init(s, &mech(M::AES_CMAC_GENERAL, p), k), Err(Error::MechanismParamInvalid));
    }
    assert_eq!(e.sign_init(s, &mech(M::AES_CMAC, MechParam::Ulong(4)), k), Err(Error::MechanismParamInvalid));
    // HMAC _GENERAL: RFC 4231 case 2 truncated to 16 bytes.
    let hk = secret(&mut e, s, KeyType::GENERIC_SECRET, b"Jefe", &[]);
    e.sign_init(s, &mech(M::SHA256_HMAC_GENERAL, MechParam::Ulong(16)), hk).unwrap();
    assert_eq!(
        data(e.sign(s, b"what do ya want for nothing?", OutBuf::Capacity(16)).unwrap()),
        h("5bdcc146bf60754e6a042426089575c7")
    );
    let wrong = secret(&mut e, s, KeyType::SHA256_HMAC, &[1; 32], &[]);
    assert_eq!(e.sign_init(s, &Mechanism::new(M::AES_CMAC), wrong), Err(Error::KeyTypeInconsistent));
}

/// Keys wrapped by every wrapping mechanism come back with the same value; the RFC vectors
/// come out of `C_WrapKey`.
#[test]
fn wrap_and_unwrap_secret_keys() {
    let (mut e, s) = ready();
    let kek = secret(&mut e, s, KeyType::AES, &(0..16).collect::<Vec<u8>>(), &[]);
    let target = secret(&mut e, s, KeyType::AES, &h("00112233445566778899AABBCCDDEEFF"), &[]);
    // RFC 3394 §4.1.
    let kw = Mechanism::new(M::AES_KEY_WRAP);
    e.wrap_key(s, &kw, kek, target, OutBuf::Query).unwrap();
    assert_eq!(e.wrap_key(s, &kw, kek, target, OutBuf::Query).unwrap(), Output::Length(24));
    assert_eq!(e.wrap_key(s, &kw, kek, target, OutBuf::Capacity(23)).unwrap(), Output::Length(24));
    let wrapped = data(e.wrap_key(s, &kw, kek, target, OutBuf::Capacity(24)).unwrap());
    assert_eq!(wrapped, h("1FA68B0A8112B447AEF34BD8FB5A7B829D3E862371D2CFE5"));

    let unwrap_t = |kt: KeyType| {
        vec![
            Attribute::ulong(A::CLASS, ObjectClass::SECRET_KEY.0),
            Attribute::ulong(A::KEY_TYPE, kt.0),
            Attribute::bool(A::SENSITIVE, false),
            Attribute::bool(A::EXTRACTABLE, true),
            Attribute::bool(A::ENCRYPT, true),
        ]
    };
    let hmac = secret(&mut e, s, KeyType::GENERIC_SECRET, &[0x42; 20], &[]);
    let gcm = mech(M::AES_GCM, MechParam::Gcm { iv: vec![3; 12], aad: b"wrap".to_vec(), tag_bits: 128 });
    let wrappers: Vec<(Mechanism, bool)> = vec![
        (Mechanism::new(M::AES_KEY_WRAP), false),
        (mech(M::AES_KEY_WRAP, MechParam::Bytes(vec![1; 8])), false),
        (Mechanism::new(M::AES_KEY_WRAP_KWP), true),
        (Mechanism::new(M::AES_KEY_WRAP_PAD), true),
        (mech(M::AES_KEY_WRAP_KWP, MechParam::Bytes(vec![1, 2, 3, 4])), true),
        (mech(M::AES_CBC_PAD, MechParam::Bytes(vec![5; 16])), true),
        (gcm.clone(), true),
        (Mechanism::new(M::AES_ECB), false),
        (mech(M::AES_CBC, MechParam::Bytes(vec![5; 16])), false),
    ];
    for (m, any_length) in &wrappers {
        for (key, kt) in [(target, KeyType::AES), (hmac, KeyType::GENERIC_SECRET)] {
            let r = e.wrap_key(s, m, kek, key, OutBuf::Capacity(256));
            if kt == KeyType::GENERIC_SECRET && m.ty == M::AES_KEY_WRAP {
                // 20 bytes are not whole 64-bit blocks.
                assert_eq!(r, Err(Error::KeySizeRange), "{m:?}");
                continue;
            }
            let w = data(r.unwrap());
            let mut t = unwrap_t(kt);
            if !any_length {
                // ECB and CBC pad with zeros: the length comes from the template.
                t.push(Attribute::ulong(A::VALUE_LEN, if kt == KeyType::AES { 16 } else { 20 }));
            }
            let u = e.unwrap_key(s, m, kek, &w, &t).unwrap();
            assert_eq!(value_of(&mut e, s, u), value_of(&mut e, s, key), "{m:?} {kt:?}");
            assert!(!flag_of(&mut e, s, u, A::LOCAL));
            assert!(!flag_of(&mut e, s, u, A::NEVER_EXTRACTABLE));
        }
    }
    // KWP matches RFC 5649 §6 through the engine.
    let kek2 = secret(&mut e, s, KeyType::AES, &h("5840df6e29b02af1ab493b705bf16ea1ae8338f4dcc176a8"), &[]);
    let k20 = secret(&mut e, s, KeyType::GENERIC_SECRET, &h("c37b7e6492584340bed12207808941155068f738"), &[]);
    assert_eq!(
        data(e.wrap_key(s, &Mechanism::new(M::AES_KEY_WRAP_KWP), kek2, k20, OutBuf::Capacity(64)).unwrap()),
        h("138bdeaa9b8fa7fc61f97742e72248ee5ae6ae5360d1ae6a5f54f373fa543b6a")
    );
}

#[test]
fn wrap_and_unwrap_errors() {
    let (mut e, s) = ready();
    let kek = secret(&mut e, s, KeyType::AES, &[1; 32], &[]);
    let target = secret(&mut e, s, KeyType::AES, &[2; 16], &[]);
    let locked = secret(&mut e, s, KeyType::AES, &[3; 16], &[Attribute::bool(A::EXTRACTABLE, false)]);
    let no_wrap = secret(
        &mut e,
        s,
        KeyType::AES,
        &[4; 16],
        &[Attribute::bool(A::WRAP, false), Attribute::bool(A::UNWRAP, false)],
    );
    let hmac_kek = secret(&mut e, s, KeyType::GENERIC_SECRET, &[5; 16], &[]);
    let short_kek = secret(&mut e, s, KeyType::AES, &[6; 16], &[]);
    let only_aes16 = secret(
        &mut e,
        s,
        KeyType::AES,
        &[7; 16],
        &[Attribute {
            ty: A::WRAP_TEMPLATE,
            value: AttrValue::Template(vec![Attribute::ulong(A::VALUE_LEN, 32)]),
        }],
    );
    let unwrap_only_aes = secret(
        &mut e,
        s,
        KeyType::AES,
        &[8; 16],
        &[Attribute {
            ty: A::UNWRAP_TEMPLATE,
            value: AttrValue::Template(vec![
                Attribute::ulong(A::KEY_TYPE, KeyType::AES.0),
                Attribute::bool(A::SENSITIVE, true),
            ]),
        }],
    );
    let with_trusted =
        secret(&mut e, s, KeyType::AES, &[9; 16], &[Attribute::bool(A::WRAP_WITH_TRUSTED, true)]);
    let kw = Mechanism::new(M::AES_KEY_WRAP);
    let kwp = Mechanism::new(M::AES_KEY_WRAP_KWP);
    let good = data(e.wrap_key(s, &kw, kek, target, OutBuf::Capacity(64)).unwrap());
    let aes_t = vec![
        Attribute::ulong(A::CLASS, ObjectClass::SECRET_KEY.0),
        Attribute::ulong(A::KEY_TYPE, KeyType::AES.0),
    ];
    let before = objects(&mut e, s);

    let wrap = |e: &mut Engine, m: &Mechanism, wk: u64, k: u64| {
        e.wrap_key(s, m, wk, k, OutBuf::Capacity(256)).map(|_| ())
    };
    assert_eq!(wrap(&mut e, &kw, kek, locked), Err(Error::KeyUnextractable));
    assert_eq!(wrap(&mut e, &kw, no_wrap, target), Err(Error::KeyFunctionNotPermitted));
    assert_eq!(wrap(&mut e, &kw, hmac_kek, target), Err(Error::WrappingKeyTypeInconsistent));
    assert_eq!(wrap(&mut e, &kw, 0xdead, target), Err(Error::WrappingKeyHandleInvalid));
    assert_eq!(wrap(&mut e, &kw, kek, 0xdead), Err(Error::KeyHandleInvalid));
    assert_eq!(wrap(&mut e, &kw, only_aes16, target), Err(Error::KeyNotWrappable), "CKA_WRAP_TEMPLATE");
    assert_eq!(wrap(&mut e, &kw, kek, with_trusted), Err(Error::KeyNotWrappable), "CKA_WRAP_WITH_TRUSTED");
    assert_eq!(wrap(&mut e, &Mechanism::new(M::AES_CTR), kek, target), Err(Error::MechanismInvalid));
    assert_eq!(wrap(&mut e, &Mechanism::new(M::AES_CCM), kek, target), Err(Error::MechanismInvalid));
    assert_eq!(
        wrap(&mut e, &mech(M::AES_KEY_WRAP, MechParam::Bytes(vec![0; 7])), kek, target),
        Err(Error::MechanismParamInvalid)
    );

    let unwrap = |e: &mut Engine, m: &Mechanism, uk: u64, w: &[u8], t: &[Attribute]| {
        e.unwrap_key(s, m, uk, w, t).map(|_| ())
    };
    // Tampered blobs, wrong lengths, the wrong key.
    for i in 0..good.len() {
        let mut bad = good.clone();
        bad[i] ^= 0x80;
        assert_eq!(unwrap(&mut e, &kw, kek, &bad, &aes_t), Err(Error::WrappedKeyInvalid), "byte {i}");
    }
    assert_eq!(unwrap(&mut e, &kw, kek, &good[..20], &aes_t), Err(Error::WrappedKeyLenRange));
    assert_eq!(unwrap(&mut e, &kw, kek, &good[..16], &aes_t), Err(Error::WrappedKeyLenRange));
    assert_eq!(unwrap(&mut e, &kw, short_kek, &good, &aes_t), Err(Error::WrappedKeyInvalid));
    assert_eq!(
        unwrap(&mut e, &kwp, kek, &good, &aes_t),
        Err(Error::WrappedKeyInvalid),
        "a KW blob is not KWP"
    );
    assert_eq!(unwrap(&mut e, &kw, hmac_kek, &good, &aes_t), Err(Error::UnwrappingKeyTypeInconsistent));
    assert_eq!(unwrap(&mut e, &kw, no_wrap, &good, &aes_t), Err(Error::KeyFunctionNotPermitted));
    assert_eq!(unwrap(&mut e, &kw, 0xdead, &good, &aes_t), Err(Error::UnwrappingKeyHandleInvalid));
    let gcm = mech(M::AES_GCM, MechParam::Gcm { iv: vec![3; 12], aad: vec![], tag_bits: 128 });
    let g = data(e.wrap_key(s, &gcm, kek, target, OutBuf::Capacity(64)).unwrap());
    let mut bad = g.clone();
    bad[20] ^= 1;
    assert_eq!(unwrap(&mut e, &gcm, kek, &bad, &aes_t), Err(Error::WrappedKeyInvalid));
    assert_eq!(unwrap(&mut e, &gcm, kek, &g[..15], &aes_t), Err(Error::WrappedKeyLenRange));
    let cbc = mech(M::AES_CBC_PAD, MechParam::Bytes(vec![0; 16]));
    let c = data(e.wrap_key(s, &cbc, kek, target, OutBuf::Capacity(64)).unwrap());
    assert_eq!(unwrap(&mut e, &cbc, kek, &c[..31], &aes_t), Err(Error::WrappedKeyLenRange));
    assert_eq!(unwrap(&mut e, &cbc, short_kek, &c, &aes_t), Err(Error::WrappedKeyInvalid));
    // Templates: no class, the wrong length for the type, against CKA_UNWRAP_TEMPLATE.
    assert_eq!(unwrap(&mut e, &kw, kek, &good, &aes_t[1..]), Err(Error::TemplateIncomplete));
    let mut t = aes_t.clone();
    t.push(Attribute::ulong(A::VALUE_LEN, 24));
    assert_eq!(unwrap(&mut e, &kw, kek, &good, &t), Err(Error::KeySizeRange));
    let des_t = vec![
        Attribute::ulong(A::CLASS, ObjectClass::SECRET_KEY.0),
        Attribute::ulong(A::KEY_TYPE, KeyType::DES3.0),
    ];
    assert_eq!(unwrap(&mut e, &kw, kek, &good, &des_t), Err(Error::KeySizeRange));
    let w = data(e.wrap_key(s, &kw, unwrap_only_aes, target, OutBuf::Capacity(64)).unwrap());
    let mut not_sensitive = aes_t.clone();
    not_sensitive.push(Attribute::bool(A::SENSITIVE, false));
    assert_eq!(unwrap(&mut e, &kw, unwrap_only_aes, &w, &not_sensitive), Err(Error::TemplateInconsistent));
    let generic = vec![
        Attribute::ulong(A::CLASS, ObjectClass::SECRET_KEY.0),
        Attribute::ulong(A::KEY_TYPE, KeyType::GENERIC_SECRET.0),
    ];
    assert_eq!(unwrap(&mut e, &kw, unwrap_only_aes, &w, &generic), Err(Error::TemplateInconsistent));
    assert_eq!(objects(&mut e, s), before, "token unchanged");
    // …and the unwrap template fills in what the caller left out.
    let u = e.unwrap_key(s, &kw, unwrap_only_aes, &w, &aes_t).unwrap();
    assert!(flag_of(&mut e, s, u, A::SENSITIVE));
}

/// A trusted wrapping key (set by the SO) wraps keys marked CKA_WRAP_WITH_TRUSTED.
#[test]
fn wrap_with_trusted() {
    let (mut e, s) = ready();
    e.logout(s).unwrap();
    e.login(s, UserType::SO, SO).unwrap();
    let t = [
        Attribute::ulong(A::CLASS, ObjectClass::SECRET_KEY.0),
        Attribute::ulong(A::KEY_TYPE, KeyType::AES.0),
        Attribute::bytes(A::VALUE, &[1; 16]),
        Attribute::bool(A::TOKEN, true),
        Attribute::bool(A::PRIVATE, false),
        Attribute::bool(A::WRAP, true),
        Attribute::bool(A::TRUSTED, true),
    ];
    let trusted = e.create_object(s, &t).unwrap();
    e.logout(s).unwrap();
    e.login(s, UserType::USER, USER).unwrap();
    let mut t2 = t.to_vec();
    t2.pop();
    assert_eq!(e.create_object(s, &t), Err(Error::AttributeReadOnly), "only the SO sets CKA_TRUSTED");
    let untrusted = e.create_object(s, &t2).unwrap();
    let k = secret(&mut e, s, KeyType::AES, &[2; 16], &[Attribute::bool(A::WRAP_WITH_TRUSTED, true)]);
    let kw = Mechanism::new(M::AES_KEY_WRAP);
    assert_eq!(e.wrap_key(s, &kw, untrusted, k, OutBuf::Capacity(64)), Err(Error::KeyNotWrappable));
    assert_eq!(data(e.wrap_key(s, &kw, trusted, k, OutBuf::Capacity(64)).unwrap()).len(), 24);
}

/// A P-256 private key wrapped as PKCS #8 under KWP, CBC-PAD and GCM comes back and signs.
#[test]
fn wrap_and_unwrap_private_keys() {
    let (mut e, s) = ready();
    let kek = secret(&mut e, s, KeyType::AES, &[1; 32], &[]);
    let (pub_k, priv_k) = e
        .generate_key_pair(
            s,
            &Mechanism::new(M::EC_KEY_PAIR_GEN),
            &[Attribute::bytes(A::EC_PARAMS, P256), Attribute::bool(A::VERIFY, true)],
            &[
                Attribute::bool(A::SIGN, true),
                Attribute::bool(A::EXTRACTABLE, true),
                Attribute::bool(A::SENSITIVE, true),
            ],
        )
        .unwrap();
    let t = vec![
        Attribute::ulong(A::CLASS, ObjectClass::PRIVATE_KEY.0),
        Attribute::ulong(A::KEY_TYPE, KeyType::EC.0),
        Attribute::bool(A::SIGN, true),
        Attribute::bool(A::TOKEN, false),
    ];
    for m in [
        Mechanism::new(M::AES_KEY_WRAP_KWP),
        mech(M::AES_CBC_PAD, MechParam::Bytes(vec![9; 16])),
        mech(M::AES_GCM, MechParam::Gcm { iv: vec![2; 12], aad: vec![], tag_bits: 128 }),
    ] {
        let w = data(e.wrap_key(s, &m, kek, priv_k, OutBuf::Capacity(512)).unwrap());
        let u = e.unwrap_key(s, &m, kek, &w, &t).unwrap();
        e.sign_init(s, &Mechanism::new(M::ECDSA_SHA256), u).unwrap();
        let sig = data(e.sign(s, b"message", OutBuf::Capacity(64)).unwrap());
        e.verify_init(s, &Mechanism::new(M::ECDSA_SHA256), pub_k).unwrap();
        assert_eq!(e.verify(s, b"message", &sig), Ok(()), "{m:?}");
        // A private key blob unwrapped as the wrong type is refused.
        let mut wrong = t.clone();
        wrong[1] = Attribute::ulong(A::KEY_TYPE, KeyType::RSA.0);
        let n = objects(&mut e, s);
        assert_eq!(e.unwrap_key(s, &m, kek, &w, &wrong).map(|_| ()), Err(Error::WrappedKeyInvalid));
        assert_eq!(objects(&mut e, s), n);
    }
}

#[test]
fn hkdf() {
    let (mut e, s) = ready();
    // RFC 5869 A.1 through C_DeriveKey, the salt as data, as a key, and extract + expand split.
    let ikm =
        secret(&mut e, s, KeyType::GENERIC_SECRET, &h("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b"), &[]);
    let salt = h("000102030405060708090a0b0c");
    let info = h("f0f1f2f3f4f5f6f7f8f9");
    let okm = h("3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865");
    let prk = h("077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5");
    let salt_key = secret(&mut e, s, KeyType::GENERIC_SECRET, &salt, &[]);
    let p = |extract, expand, salt: HkdfSalt| {
        mech(
            M::HKDF_DERIVE,
            MechParam::Hkdf(HkdfParams { extract, expand, prf: M::SHA256, salt, info: info.clone() }),
        )
    };
    let out_t = |n: u64| {
        vec![
            Attribute::ulong(A::CLASS, ObjectClass::SECRET_KEY.0),
            Attribute::ulong(A::KEY_TYPE, KeyType::GENERIC_SECRET.0),
            Attribute::ulong(A::VALUE_LEN, n),
            Attribute::bool(A::SENSITIVE, false),
            Attribute::bool(A::EXTRACTABLE, true),
            Attribute::bool(A::DERIVE, true),
        ]
    };
    let (k, extra) = e.derive_key(s, &p(true, true, HkdfSalt::Data(salt.clone())), ikm, &out_t(42)).unwrap();
    assert!(extra.is_empty());
    assert_eq!(value_of(&mut e, s, k), okm);
    let (k, _) = e.derive_key(s, &p(true, true, HkdfSalt::Key(salt_key)), ikm, &out_t(42)).unwrap();
    assert_eq!(value_of(&mut e, s, k), okm);
    let (pk, _) = e.derive_key(s, &p(true, false, HkdfSalt::Data(salt.clone())), ikm, &out_t(32)).unwrap();
    assert_eq!(value_of(&mut e, s, pk), prk);
    let (k, _) = e.derive_key(s, &p(false, true, HkdfSalt::Null), pk, &out_t(42)).unwrap();
    assert_eq!(value_of(&mut e, s, k), okm);
    // An AES key takes its size from the template; no CKA_VALUE_LEN gives a hash length.
    let aes_t = [
        Attribute::ulong(A::CLASS, ObjectClass::SECRET_KEY.0),
        Attribute::ulong(A::KEY_TYPE, KeyType::AES.0),
        Attribute::ulong(A::VALUE_LEN, 16),
    ];
    let (k, _) = e.derive_key(s, &p(true, true, HkdfSalt::Null), ikm, &aes_t).unwrap();
    assert_eq!(ulong_of(&mut e, s, k, A::VALUE_LEN), 16);
    let (k, _) = e.derive_key(s, &p(true, true, HkdfSalt::Null), ikm, &out_t(42)[..2]).unwrap();
    assert_eq!(ulong_of(&mut e, s, k, A::VALUE_LEN), 32);
    // RFC 5869 A.3 (no salt, no info).
    let a3 = mech(
        M::HKDF_DERIVE,
        MechParam::Hkdf(HkdfParams {
            extract: true,
            expand: true,
            prf: M::SHA256,
            salt: HkdfSalt::Null,
            info: vec![],
        }),
    );
    let (k, _) = e.derive_key(s, &a3, ikm, &out_t(42)).unwrap();
    assert_eq!(
        value_of(&mut e, s, k),
        h("8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8")
    );
    // CKM_HKDF_DATA makes a readable data object; a data object can also be the input.
    let data_m = mech(
        M::HKDF_DATA,
        MechParam::Hkdf(HkdfParams {
            extract: true,
            expand: true,
            prf: M::SHA256,
            salt: HkdfSalt::Data(salt.clone()),
            info: info.clone(),
        }),
    );
    let d_t = [
        Attribute::ulong(A::CLASS, ObjectClass::DATA.0),
        Attribute::ulong(A::VALUE_LEN, 42),
        Attribute::bool(A::TOKEN, false),
    ];
    let (d, _) = e.derive_key(s, &data_m, ikm, &d_t).unwrap();
    assert_eq!(ulong_of(&mut e, s, d, A::CLASS), ObjectClass::DATA.0);
    assert_eq!(value_of(&mut e, s, d), okm);
    let ikm_data = e
        .create_object(
            s,
            &[
                Attribute::ulong(A::CLASS, ObjectClass::DATA.0),
                Attribute::bytes(A::VALUE, &h("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b")),
            ],
        )
        .unwrap();
    let (k, _) = e.derive_key(s, &p(true, true, HkdfSalt::Data(salt.clone())), ikm_data, &out_t(42)).unwrap();
    assert_eq!(value_of(&mut e, s, k), okm);
    assert!(!flag_of(&mut e, s, k, A::ALWAYS_SENSITIVE), "from outside the token");

    let before = objects(&mut e, s);
    let no_derive =
        secret(&mut e, s, KeyType::GENERIC_SECRET, &[1; 16], &[Attribute::bool(A::DERIVE, false)]);
    let aes = secret(&mut e, s, KeyType::AES, &[1; 16], &[]);
    let mut before2 = before.clone();
    before2.extend([no_derive, aes]);
    before2.sort_unstable();
    let d = |e: &mut Engine, m: &Mechanism, b: u64, t: &[Attribute]| e.derive_key(s, m, b, t).map(|_| ());
    assert_eq!(
        d(&mut e, &p(true, true, HkdfSalt::Null), no_derive, &out_t(16)),
        Err(Error::KeyFunctionNotPermitted)
    );
    assert_eq!(d(&mut e, &p(true, true, HkdfSalt::Null), aes, &out_t(16)), Err(Error::KeyTypeInconsistent));
    assert_eq!(
        d(&mut e, &p(false, false, HkdfSalt::Null), ikm, &out_t(16)),
        Err(Error::MechanismParamInvalid)
    );
    assert_eq!(
        d(&mut e, &p(true, true, HkdfSalt::Data(vec![])), ikm, &out_t(16)),
        Err(Error::MechanismParamInvalid)
    );
    assert_eq!(
        d(&mut e, &p(true, true, HkdfSalt::Key(0xdead)), ikm, &out_t(16)),
        Err(Error::KeyHandleInvalid)
    );
    assert_eq!(
        d(&mut e, &p(true, true, HkdfSalt::Key(aes)), ikm, &out_t(16)),
        Err(Error::MechanismParamInvalid)
    );
    assert_eq!(d(&mut e, &p(true, false, HkdfSalt::Null), ikm, &out_t(16)), Err(Error::TemplateInconsistent));
    assert_eq!(
        d(&mut e, &p(true, true, HkdfSalt::Null), ikm, &out_t(255 * 32 + 1)),
        Err(Error::KeySizeRange)
    );
    let bad_prf = mech(
        M::HKDF_DERIVE,
        MechParam::Hkdf(HkdfParams {
            extract: true,
            expand: true,
            prf: M::AES_ECB,
            salt: HkdfSalt::Null,
            info: vec![],
        }),
    );
    assert_eq!(d(&mut e, &bad_prf, ikm, &out_t(16)), Err(Error::MechanismParamInvalid));
    assert_eq!(
        d(&mut e, &mech(M::HKDF_DERIVE, MechParam::None), ikm, &out_t(16)),
        Err(Error::MechanismParamInvalid)
    );
    assert_eq!(d(&mut e, &data_m, ikm, &out_t(16)), Err(Error::TemplateInconsistent), "HKDF_DATA makes data");
    let des_t = [
        Attribute::ulong(A::CLASS, ObjectClass::SECRET_KEY.0),
        Attribute::ulong(A::KEY_TYPE, KeyType::DES3.0),
        Attribute::ulong(A::VALUE_LEN, 16),
    ];
    assert_eq!(d(&mut e, &p(true, true, HkdfSalt::Null), ikm, &des_t), Err(Error::KeySizeRange));
    assert_eq!(objects(&mut e, s), before2, "token unchanged");
}

#[test]
fn pbkdf2() {
    let (mut e, s) = ready();
    let p = |iterations: u64, prf: u64, salt: &[u8]| {
        mech(
            M::PKCS5_PBKD2,
            MechParam::Pbkdf2(Pbkdf2Params {
                salt_source: 1,
                salt: salt.to_vec(),
                iterations,
                prf,
                prf_data: vec![],
                password: SecretBytes::from_slice(b"password"),
            }),
        )
    };
    let t = |n: u64| {
        vec![
            Attribute::ulong(A::CLASS, ObjectClass::SECRET_KEY.0),
            Attribute::ulong(A::KEY_TYPE, KeyType::GENERIC_SECRET.0),
            Attribute::ulong(A::VALUE_LEN, n),
            Attribute::bool(A::SENSITIVE, false),
            Attribute::bool(A::EXTRACTABLE, true),
        ]
    };
    // RFC 6070: c = 4096, 20 bytes; PBKDF2-HMAC-SHA256 of the same (RFC 7914-style check).
    let k = e.generate_key(s, &p(4096, 1, b"salt"), &t(20)).unwrap();
    assert_eq!(value_of(&mut e, s, k), h("4b007901b765489abead49d926f721d065a429c1"));
    let k = e.generate_key(s, &p(1, 4, b"salt"), &t(32)).unwrap();
    assert_eq!(value_of(&mut e, s, k), h("120fb6cffcf8b32c43e7225256c4f837a86548c92ccc35480805987cb70be17b"));
    // An AES key takes its length from the template.
    let aes = [Attribute::ulong(A::KEY_TYPE, KeyType::AES.0), Attribute::ulong(A::VALUE_LEN, 32)];
    let k = e.generate_key(s, &p(2, 6, b"NaCl"), &aes).unwrap();
    assert_eq!(ulong_of(&mut e, s, k, A::KEY_TYPE), KeyType::AES.0);
    let before = objects(&mut e, s);
    assert_eq!(e.generate_key(s, &p(0, 4, b"s"), &t(16)), Err(Error::MechanismParamInvalid));
    assert_eq!(e.generate_key(s, &p(1, 2, b"s"), &t(16)), Err(Error::MechanismParamInvalid), "GOST PRF");
    assert_eq!(e.generate_key(s, &p(1, 99, b"s"), &t(16)), Err(Error::MechanismParamInvalid));
    assert_eq!(e.generate_key(s, &p(1, 4, b"s"), &t(16)[..2]), Err(Error::TemplateIncomplete));
    assert_eq!(
        e.generate_key(
            s,
            &p(1, 4, b"s"),
            &[Attribute::ulong(A::KEY_TYPE, KeyType::AES.0), Attribute::ulong(A::VALUE_LEN, 17)]
        ),
        Err(Error::KeySizeRange)
    );
    assert_eq!(e.generate_key(s, &Mechanism::new(M::PKCS5_PBKD2), &t(16)), Err(Error::MechanismParamInvalid));
    assert_eq!(objects(&mut e, s), before, "token unchanged");
}

#[test]
fn sp800_108() {
    let (mut e, s) = ready();
    // CAVP counter mode, HMAC-SHA256, 32-bit counter before the fixed data.
    let base = secret(
        &mut e,
        s,
        KeyType::GENERIC_SECRET,
        &h("dd1d91b7d90b2bd3138533ce92b272fbf8a369316aefe242e659cc0ae238afe0"),
        &[],
    );
    let fixed = h(
        "01322b96b30acd197979444e468e1c5c6859bf1b1cf951b7e725303e237e46b864a145fab25e517b08f8683d0315bb2911d80a0e8aba17f3b413faac",
    );
    let it = PrfDataParam::IterationVariable(Some(CounterFormat { little_endian: false, width_bits: 32 }));
    let readable = |n: u64| {
        vec![
            Attribute::ulong(A::CLASS, ObjectClass::SECRET_KEY.0),
            Attribute::ulong(A::KEY_TYPE, KeyType::GENERIC_SECRET.0),
            Attribute::ulong(A::VALUE_LEN, n),
            Attribute::bool(A::SENSITIVE, false),
            Attribute::bool(A::EXTRACTABLE, true),
        ]
    };
    let m = |ty, data: Vec<PrfDataParam>, iv: Vec<u8>, extra: Vec<Vec<Attribute>>| {
        mech(
            ty,
            MechParam::Sp800108(Sp800108Params { prf: M::SHA256_HMAC, data, iv, additional_keys: extra }),
        )
    };
    let counter =
        m(M::SP800_108_COUNTER_KDF, vec![it.clone(), PrfDataParam::ByteArray(fixed.clone())], vec![], vec![]);
    let (k, extra) = e.derive_key(s, &counter, base, &readable(16)).unwrap();
    assert!(extra.is_empty());
    assert_eq!(value_of(&mut e, s, k), h("10621342bfb0fd40046c0e29f2cfdbf0"));
    // Additional keys: each starts on a new PRF block; the first 16 bytes match.
    let with_extra = m(
        M::SP800_108_COUNTER_KDF,
        vec![it.clone(), PrfDataParam::ByteArray(fixed.clone())],
        vec![],
        vec![readable(16), readable(40)],
    );
    let (k0, extra) = e.derive_key(s, &with_extra, base, &readable(16)).unwrap();
    assert_eq!(extra.len(), 2);
    assert_eq!(value_of(&mut e, s, k0), h("10621342bfb0fd40046c0e29f2cfdbf0"));
    let (k64, _) = e.derive_key(s, &counter, base, &readable(128)).unwrap();
    let stream = value_of(&mut e, s, k64);
    assert_eq!(value_of(&mut e, s, extra[0]), stream[32..48]);
    assert_eq!(value_of(&mut e, s, extra[1]), stream[64..104]);
    // Feedback and double pipeline run through the engine too.
    let fb = m(
        M::SP800_108_FEEDBACK_KDF,
        vec![PrfDataParam::IterationVariable(None), PrfDataParam::ByteArray(fixed.clone())],
        vec![1; 32],
        vec![],
    );
    let (k, _) = e.derive_key(s, &fb, base, &readable(48)).unwrap();
    assert_eq!(value_of(&mut e, s, k).len(), 48);
    let dp = m(
        M::SP800_108_DOUBLE_PIPELINE_KDF,
        vec![PrfDataParam::IterationVariable(None), PrfDataParam::ByteArray(fixed.clone())],
        vec![],
        vec![],
    );
    let (k, _) = e.derive_key(s, &dp, base, &readable(48)).unwrap();
    assert_eq!(value_of(&mut e, s, k).len(), 48);
    // CMAC as the PRF needs an AES key.
    let aes = secret(&mut e, s, KeyType::AES, &h("dff1e50ac0b69dc40f1051d46c2b069c"), &[]);
    let cmac = mech(
        M::SP800_108_COUNTER_KDF,
        MechParam::Sp800108(Sp800108Params {
            prf: M::AES_CMAC,
            data: vec![
                PrfDataParam::IterationVariable(Some(CounterFormat { little_endian: false, width_bits: 8 })),
                PrfDataParam::ByteArray(h(
                    "c16e6e02c5a3dcc8d78b9ac1306877761310455b4e41469951d9e6c2245a064b33fd8c3b01203a7824485bf0a64060c4648b707d2607935699316ea5",
                )),
            ],
            iv: vec![],
            additional_keys: vec![],
        }),
    );
    let (k, _) = e.derive_key(s, &cmac, aes, &readable(16)).unwrap();
    assert_eq!(value_of(&mut e, s, k), h("8be8f0869b3c0ba97b71863d1b9f7813"));

    // A template silent on CKA_SENSITIVE / CKA_EXTRACTABLE gives every derived key the base
    // key's values, not the token's defaults (PKCS #11 3.2 §6.42, "Key Derivation Attribute
    // Rules"); where the template speaks, it decides.
    let bare = |n: u64| {
        vec![
            Attribute::ulong(A::CLASS, ObjectClass::SECRET_KEY.0),
            Attribute::ulong(A::KEY_TYPE, KeyType::GENERIC_SECRET.0),
            Attribute::ulong(A::VALUE_LEN, n),
        ]
    };
    let inheriting = m(
        M::SP800_108_COUNTER_KDF,
        vec![it.clone(), PrfDataParam::ByteArray(fixed.clone())],
        vec![],
        vec![bare(16)],
    );
    let (k, extra) = e.derive_key(s, &inheriting, base, &bare(16)).unwrap();
    for key in [k, extra[0]] {
        assert!(!flag_of(&mut e, s, key, A::SENSITIVE), "the base is not sensitive");
        assert!(flag_of(&mut e, s, key, A::EXTRACTABLE), "the base is extractable");
    }
    assert_eq!(value_of(&mut e, s, k), h("10621342bfb0fd40046c0e29f2cfdbf0"));
    let locked = secret(
        &mut e,
        s,
        KeyType::GENERIC_SECRET,
        &h("dd1d91b7d90b2bd3138533ce92b272fbf8a369316aefe242e659cc0ae238afe0"),
        &[Attribute::bool(A::SENSITIVE, true), Attribute::bool(A::EXTRACTABLE, false)],
    );
    let (k, extra) = e.derive_key(s, &inheriting, locked, &bare(16)).unwrap();
    for key in [k, extra[0]] {
        assert!(flag_of(&mut e, s, key, A::SENSITIVE), "the base is sensitive");
        assert!(!flag_of(&mut e, s, key, A::EXTRACTABLE), "the base is not extractable");
    }
    let (k, _) = e.derive_key(s, &counter, locked, &readable(16)).unwrap();
    assert_eq!(value_of(&mut e, s, k), h("10621342bfb0fd40046c0e29f2cfdbf0"));

    let before = objects(&mut e, s);
    let d = |e: &mut Engine, m: &Mechanism, b: u64, t: &[Attribute]| e.derive_key(s, m, b, t).map(|_| ());
    assert_eq!(d(&mut e, &cmac, base, &readable(16)), Err(Error::KeyTypeInconsistent));
    assert_eq!(d(&mut e, &counter, aes, &readable(16)), Err(Error::KeyTypeInconsistent));
    let no_iter = m(M::SP800_108_COUNTER_KDF, vec![PrfDataParam::ByteArray(fixed.clone())], vec![], vec![]);
    assert_eq!(d(&mut e, &no_iter, base, &readable(16)), Err(Error::MechanismParamInvalid));
    let iv_in_counter = m(M::SP800_108_COUNTER_KDF, vec![it.clone()], vec![1], vec![]);
    assert_eq!(d(&mut e, &iv_in_counter, base, &readable(16)), Err(Error::MechanismParamInvalid));
    let bad_prf = mech(
        M::SP800_108_COUNTER_KDF,
        MechParam::Sp800108(Sp800108Params {
            prf: M::SHA256,
            data: vec![it.clone()],
            iv: vec![],
            additional_keys: vec![],
        }),
    );
    assert_eq!(d(&mut e, &bad_prf, base, &readable(16)), Err(Error::MechanismParamInvalid));
    assert_eq!(d(&mut e, &counter, base, &readable(16)[..2]), Err(Error::TemplateIncomplete));
    let bad_extra = m(M::SP800_108_COUNTER_KDF, vec![it.clone()], vec![], vec![readable(16)[..2].to_vec()]);
    assert_eq!(d(&mut e, &bad_extra, base, &readable(16)), Err(Error::TemplateIncomplete));
    // An additional key's template is checked like the main one: none is created.
    let mut ro = readable(16);
    ro.push(Attribute::bool(A::LOCAL, true));
    let ro_extra = m(M::SP800_108_COUNTER_KDF, vec![it.clone()], vec![], vec![ro]);
    assert_eq!(d(&mut e, &ro_extra, base, &readable(16)), Err(Error::AttributeReadOnly));
    assert_eq!(objects(&mut e, s), before, "token unchanged");
}

#[test]
fn simple_derivations_and_inheritance() {
    let (mut e, s) = ready();
    let a = secret(&mut e, s, KeyType::GENERIC_SECRET, &[0x11; 8], &[]);
    let b = secret(&mut e, s, KeyType::GENERIC_SECRET, &[0x22; 8], &[]);
    let readable = [Attribute::bool(A::SENSITIVE, false), Attribute::bool(A::EXTRACTABLE, true)];
    let derive = |e: &mut Engine, m: Mechanism, base: u64, t: &[Attribute]| {
        e.derive_key(s, &m, base, t).map(|(k, _)| k)
    };
    let k = derive(&mut e, mech(M::CONCATENATE_BASE_AND_KEY, MechParam::Ulong(b)), a, &readable).unwrap();
    assert_eq!(value_of(&mut e, s, k), [[0x11; 8], [0x22; 8]].concat());
    let k = derive(&mut e, mech(M::CONCATENATE_BASE_AND_DATA, MechParam::Bytes(vec![0x33; 4])), a, &readable)
        .unwrap();
    assert_eq!(value_of(&mut e, s, k), [&[0x11; 8][..], &[0x33; 4]].concat());
    let k = derive(&mut e, mech(M::CONCATENATE_DATA_AND_BASE, MechParam::Bytes(vec![0x33; 4])), a, &readable)
        .unwrap();
    assert_eq!(value_of(&mut e, s, k), [&[0x33; 4][..], &[0x11; 8]].concat());
    let k =
        derive(&mut e, mech(M::XOR_BASE_AND_DATA, MechParam::Bytes(vec![0x01; 6])), a, &readable).unwrap();
    assert_eq!(value_of(&mut e, s, k), [0x10; 6]);
    let ex = secret(&mut e, s, KeyType::GENERIC_SECRET, &[0x32, 0x9f, 0x84, 0xa9], &[]);
    let mut t = readable.to_vec();
    t.push(Attribute::ulong(A::VALUE_LEN, 2));
    let k = derive(&mut e, mech(M::EXTRACT_KEY_FROM_KEY, MechParam::Ulong(21)), ex, &t).unwrap();
    assert_eq!(value_of(&mut e, s, k), [0x95, 0x26], "the spec's example");
    // The result takes the template's type and length from the leading bytes.
    let aes_t = [
        Attribute::ulong(A::KEY_TYPE, KeyType::AES.0),
        Attribute::ulong(A::VALUE_LEN, 16),
        readable[0].clone(),
        readable[1].clone(),
    ];
    let k = derive(&mut e, mech(M::CONCATENATE_BASE_AND_KEY, MechParam::Ulong(b)), a, &aes_t).unwrap();
    assert_eq!(ulong_of(&mut e, s, k, A::KEY_TYPE), KeyType::AES.0);
    // ECB/CBC_ENCRYPT_DATA: the data encrypted under the base key.
    let aes = secret(&mut e, s, KeyType::AES, &h(K128), &[]);
    let k =
        derive(&mut e, mech(M::AES_ECB_ENCRYPT_DATA, MechParam::Bytes(h(PT)[..32].to_vec())), aes, &readable)
            .unwrap();
    assert_eq!(value_of(&mut e, s, k), h("3ad77bb40d7a3660a89ecaf32466ef97f5d3d58503b9699de785895a96fdbaaf"));
    let cbc = MechParam::CbcEncryptData { iv: h(IV), data: h(PT)[..16].to_vec() };
    let k = derive(&mut e, mech(M::AES_CBC_ENCRYPT_DATA, cbc), aes, &readable).unwrap();
    assert_eq!(value_of(&mut e, s, k), h("7649abac8119b246cee98e9b12e9197d"));
    let d3 = secret(&mut e, s, KeyType::DES3, &h("0123456789ABCDEF23456789ABCDEF01456789ABCDEF0123"), &[]);
    let k = derive(
        &mut e,
        mech(M::DES3_ECB_ENCRYPT_DATA, MechParam::Bytes(h("5468652071756663"))),
        d3,
        &readable,
    )
    .unwrap();
    assert_eq!(value_of(&mut e, s, k), h("A826FD8CE53B855F"));
    let k = derive(
        &mut e,
        mech(
            M::DES3_CBC_ENCRYPT_DATA,
            MechParam::CbcEncryptData { iv: vec![0; 8], data: h("5468652071756663") },
        ),
        d3,
        &readable,
    )
    .unwrap();
    assert_eq!(value_of(&mut e, s, k), h("A826FD8CE53B855F"));

    // Sensitivity: a derived key is sensitive / unextractable when a source key is, and was
    // always sensitive / never extractable only when every source key was.
    let keygen = |e: &mut Engine, extra: &[Attribute]| {
        let mut t = vec![Attribute::ulong(A::VALUE_LEN, 16), Attribute::bool(A::DERIVE, true)];
        t.extend_from_slice(extra);
        e.generate_key(s, &Mechanism::new(M::GENERIC_SECRET_KEY_GEN), &t).unwrap()
    };
    let born_secret =
        keygen(&mut e, &[Attribute::bool(A::SENSITIVE, true), Attribute::bool(A::EXTRACTABLE, false)]);
    let k = derive(&mut e, mech(M::CONCATENATE_BASE_AND_DATA, MechParam::Bytes(vec![1])), born_secret, &[])
        .unwrap();
    assert!(flag_of(&mut e, s, k, A::SENSITIVE));
    assert!(!flag_of(&mut e, s, k, A::EXTRACTABLE));
    assert!(flag_of(&mut e, s, k, A::ALWAYS_SENSITIVE));
    assert!(flag_of(&mut e, s, k, A::NEVER_EXTRACTABLE));
    let k = derive(&mut e, mech(M::CONCATENATE_BASE_AND_KEY, MechParam::Ulong(a)), born_secret, &[]).unwrap();
    assert!(flag_of(&mut e, s, k, A::SENSITIVE));
    assert!(!flag_of(&mut e, s, k, A::ALWAYS_SENSITIVE), "a was imported");
    assert!(!flag_of(&mut e, s, k, A::NEVER_EXTRACTABLE));
    let k = derive(&mut e, mech(M::CONCATENATE_BASE_AND_KEY, MechParam::Ulong(born_secret)), a, &[]).unwrap();
    assert!(flag_of(&mut e, s, k, A::SENSITIVE), "either source key");
    assert!(!flag_of(&mut e, s, k, A::EXTRACTABLE));
    // HKDF follows the generic rule: ALWAYS_SENSITIVE from the base, SENSITIVE from the template.
    let hk = mech(
        M::HKDF_DERIVE,
        MechParam::Hkdf(HkdfParams {
            extract: true,
            expand: true,
            prf: M::SHA256,
            salt: HkdfSalt::Null,
            info: vec![],
        }),
    );
    let k = derive(&mut e, hk.clone(), born_secret, &[Attribute::bool(A::SENSITIVE, true)]).unwrap();
    assert!(flag_of(&mut e, s, k, A::ALWAYS_SENSITIVE));
    let k = derive(&mut e, hk.clone(), born_secret, &[Attribute::bool(A::SENSITIVE, false)]).unwrap();
    assert!(!flag_of(&mut e, s, k, A::ALWAYS_SENSITIVE));

    let before = objects(&mut e, s);
    let d =
        |e: &mut Engine, m: Mechanism, base: u64, t: &[Attribute]| e.derive_key(s, &m, base, t).map(|_| ());
    assert_eq!(
        d(
            &mut e,
            mech(M::CONCATENATE_BASE_AND_DATA, MechParam::Bytes(vec![1])),
            born_secret,
            &[Attribute::bool(A::SENSITIVE, false)]
        ),
        Err(Error::TemplateInconsistent),
        "cannot make a sensitive key's derivative readable"
    );
    assert_eq!(
        d(&mut e, mech(M::CONCATENATE_BASE_AND_KEY, MechParam::Ulong(0xdead)), a, &[]),
        Err(Error::KeyHandleInvalid)
    );
    assert_eq!(
        d(&mut e, mech(M::CONCATENATE_BASE_AND_KEY, MechParam::Bytes(vec![1])), a, &[]),
        Err(Error::MechanismParamInvalid)
    );
    assert_eq!(
        d(&mut e, mech(M::XOR_BASE_AND_DATA, MechParam::Bytes(vec![])), a, &[]),
        Err(Error::KeySizeRange)
    );
    assert_eq!(
        d(&mut e, mech(M::EXTRACT_KEY_FROM_KEY, MechParam::Ulong(32)), ex, &t),
        Err(Error::MechanismParamInvalid)
    );
    let mut long = readable.to_vec();
    long.push(Attribute::ulong(A::VALUE_LEN, 5));
    assert_eq!(
        d(&mut e, mech(M::EXTRACT_KEY_FROM_KEY, MechParam::Ulong(0)), ex, &long),
        Err(Error::TemplateInconsistent)
    );
    assert_eq!(
        d(&mut e, mech(M::EXTRACT_KEY_FROM_KEY, MechParam::Ulong(0)), ex, &readable),
        Err(Error::TemplateIncomplete)
    );
    assert_eq!(
        d(&mut e, mech(M::AES_ECB_ENCRYPT_DATA, MechParam::Bytes(vec![0; 15])), aes, &readable),
        Err(Error::MechanismParamInvalid)
    );
    assert_eq!(
        d(
            &mut e,
            mech(M::AES_CBC_ENCRYPT_DATA, MechParam::CbcEncryptData { iv: vec![0; 8], data: vec![0; 16] }),
            aes,
            &readable
        ),
        Err(Error::MechanismParamInvalid)
    );
    assert_eq!(
        d(&mut e, mech(M::AES_ECB_ENCRYPT_DATA, MechParam::Bytes(vec![0; 16])), a, &readable),
        Err(Error::KeyTypeInconsistent)
    );
    assert_eq!(d(&mut e, mech(M::AES_ECB, MechParam::None), aes, &readable), Err(Error::MechanismInvalid));
    // CKA_DERIVE_TEMPLATE binds what may be derived.
    let bound = secret(
        &mut e,
        s,
        KeyType::GENERIC_SECRET,
        &[7; 16],
        &[Attribute {
            ty: A::DERIVE_TEMPLATE,
            value: AttrValue::Template(vec![Attribute::bool(A::SENSITIVE, true)]),
        }],
    );
    let mut before = before;
    before.push(bound);
    before.sort_unstable();
    assert_eq!(
        d(&mut e, mech(M::XOR_BASE_AND_DATA, MechParam::Bytes(vec![1; 16])), bound, &readable),
        Err(Error::TemplateInconsistent)
    );
    assert_eq!(objects(&mut e, s), before, "token unchanged");
    let k = derive(&mut e, mech(M::XOR_BASE_AND_DATA, MechParam::Bytes(vec![1; 16])), bound, &[]).unwrap();
    assert!(flag_of(&mut e, s, k, A::SENSITIVE));
}
