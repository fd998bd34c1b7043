//! RSA through the engine: key-pair generation and import, every RSA mechanism, and the exact
//! `CKR_*` of each bad input.
#![allow(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]

use alloc::boxed::Box;
use alloc::vec;
use alloc::vec::Vec;

use super::*;
use crate::attribute::{AttrValue, Attribute};
use crate::consts::flags::{CKF_DECRYPT, CKF_ENCRYPT, CKF_GENERATE_KEY_PAIR, CKF_SIGN, CKF_UNWRAP, CKF_WRAP};
use crate::consts::{AttrType, KeyType, MechanismType as M, ObjectClass};
use crate::info::{AttrLookup, MechParam, Mechanism, OutBuf, Output, RsaOaepParams, RsaPssParams};
use crate::mechanism::dh::tests::vectors as dh_vectors;
use crate::mechanism::digest::{DigestAlg, digest};
use crate::mechanism::dsa::tests::vectors as dsa_vectors;
use crate::mechanism::rsa;
use crate::mechanism::rsa::tests::pkcs1;
use crate::object::policy;
use crate::rng::{DeterministicRng, NoClock};
use crate::store::MemoryStore;

const SO: &[u8] = b"12345678";
const USER: &[u8] = b"1234";
const RW: u64 = CKF_SERIAL_SESSION | CKF_RW_SESSION;
/// `CKG_MGF1_SHA1`, `CKG_MGF1_SHA256`.
const MGF1_SHA1: u64 = 1;
const MGF1_SHA256: u64 = 2;

fn ready() -> (Engine, u64) {
    let config = EngineConfig { fast_pin_kdf: true, ..EngineConfig::default() };
    let mut e = Engine::new(
        Box::new(MemoryStore::new()),
        Box::new(DeterministicRng::from_seed([4; 32])),
        Box::new(NoClock),
        config,
    )
    .unwrap();
    e.init_token(0, SO, &pad("rsa")).unwrap();
    let s = e.open_session(0, RW).unwrap();
    e.login(s, UserType::SO, SO).unwrap();
    e.init_pin(s, USER).unwrap();
    e.logout(s).unwrap();
    e.login(s, UserType::USER, USER).unwrap();
    (e, s)
}

fn h(s: &str) -> Vec<u8> {
    hex::decode(s).unwrap()
}

fn data(out: Output) -> Vec<u8> {
    match out {
        Output::Data(d) => d,
        Output::Length(n) => panic!("expected data, got a length {n}"),
    }
}

fn value(e: &mut Engine, s: u64, obj: u64, ty: AttrType) -> AttrLookup {
    e.attribute_values(s, obj, &[ty]).unwrap().remove(0)
}

fn bytes_of(e: &mut Engine, s: u64, obj: u64, ty: AttrType) -> Vec<u8> {
    match value(e, s, obj, ty) {
        AttrLookup::Value(v) => v.as_bytes().unwrap().to_vec(),
        other => panic!("{ty:?}: {other:?}"),
    }
}

fn gen_mech() -> Mechanism {
    Mechanism::new(M::RSA_PKCS_KEY_PAIR_GEN)
}

fn keypair(e: &mut Engine, s: u64, bits: u64) -> (u64, u64) {
    let pub_t = [Attribute::ulong(AttrType::MODULUS_BITS, bits), Attribute::bool(AttrType::TOKEN, true)];
    let priv_t = [Attribute::bool(AttrType::TOKEN, true), Attribute::bytes(AttrType::ID, b"rsa")];
    e.generate_key_pair(s, &gen_mech(), &pub_t, &priv_t).unwrap()
}

fn pss(hash: M, mgf: u64, salt_len: u64) -> MechParam {
    MechParam::RsaPss(RsaPssParams { hash, mgf, salt_len })
}

fn oaep(hash: M, mgf: u64, label: &[u8]) -> MechParam {
    MechParam::RsaOaep(RsaOaepParams {
        hash,
        mgf,
        source: if label.is_empty() { 0 } else { 1 },
        source_data: label.to_vec(),
    })
}

fn with(ty: M, param: MechParam) -> Mechanism {
    Mechanism { ty, param }
}

fn sign(e: &mut Engine, s: u64, m: &Mechanism, key: u64, msg: &[u8]) -> Vec<u8> {
    e.sign_init(s, m, key).unwrap();
    data(e.sign(s, msg, OutBuf::Capacity(1024)).unwrap())
}

fn verify(e: &mut Engine, s: u64, m: &Mechanism, key: u64, msg: &[u8], sig: &[u8]) -> Result<()> {
    e.verify_init(s, m, key).unwrap();
    e.verify(s, msg, sig)
}

/// The attributes of an imported private key: the SIG_KEY example's components.
fn import_template(parts: &rsa::PrivateParts, crt: bool) -> Vec<Attribute> {
    let mut t = vec![
        Attribute::ulong(AttrType::CLASS, ObjectClass::PRIVATE_KEY.0),
        Attribute::ulong(AttrType::KEY_TYPE, KeyType::RSA.0),
        Attribute::bytes(AttrType::MODULUS, &parts.n),
        Attribute::bytes(AttrType::PUBLIC_EXPONENT, &parts.e),
        Attribute::bytes(AttrType::PRIVATE_EXPONENT, parts.d.expose()),
        Attribute::bool(AttrType::SENSITIVE, false),
        Attribute::bool(AttrType::EXTRACTABLE, true),
    ];
    if crt {
        t.push(Attribute::bytes(AttrType::PRIME_1, parts.p.expose()));
        t.push(Attribute::bytes(AttrType::PRIME_2, parts.q.expose()));
        t.push(Attribute::bytes(AttrType::EXPONENT_1, parts.dp.expose()));
        t.push(Attribute::bytes(AttrType::EXPONENT_2, parts.dq.expose()));
        t.push(Attribute::bytes(AttrType::COEFFICIENT, parts.qinv.expose()));
    }
    t
}

fn public_template(n: &[u8], e: &[u8]) -> Vec<Attribute> {
    vec![
        Attribute::ulong(AttrType::CLASS, ObjectClass::PUBLIC_KEY.0),
        Attribute::ulong(AttrType::KEY_TYPE, KeyType::RSA.0),
        Attribute::bytes(AttrType::MODULUS, n),
        Attribute::bytes(AttrType::PUBLIC_EXPONENT, e),
    ]
}

#[test]
fn mechanism_info_is_truthful() {
    let (mut e, _) = ready();
    let list = e.mechanism_list(0).unwrap();
    for m in [
        M::RSA_PKCS_KEY_PAIR_GEN,
        M::RSA_PKCS,
        M::RSA_X_509,
        M::RSA_PKCS_OAEP,
        M::RSA_PKCS_PSS,
        M::SHA3_512_RSA_PKCS_PSS,
    ] {
        assert!(list.contains(&m), "{m:?}");
    }
    let info = e.mechanism_info(0, M::RSA_PKCS).unwrap();
    assert_eq!((info.min_key_size, info.max_key_size), (1024, 8192));
    assert_eq!(
        info.flags & (CKF_ENCRYPT | CKF_SIGN | CKF_WRAP | CKF_UNWRAP),
        CKF_ENCRYPT | CKF_SIGN | CKF_WRAP | CKF_UNWRAP
    );
    let keygen = e.mechanism_info(0, M::RSA_PKCS_KEY_PAIR_GEN).unwrap();
    assert_eq!(keygen.flags, CKF_GENERATE_KEY_PAIR);
    let x509 = e.mechanism_info(0, M::RSA_X_509).unwrap();
    assert_eq!(x509.flags & CKF_WRAP, 0);
    let pss = e.mechanism_info(0, M::SHA256_RSA_PKCS_PSS).unwrap();
    assert_eq!(pss.flags & (CKF_ENCRYPT | CKF_DECRYPT), 0);
}

#[test]
fn generated_pair_attributes() {
    let (mut e, s) = ready();
    let (pk, sk) = keypair(&mut e, s, 2048);
    let n = bytes_of(&mut e, s, pk, AttrType::MODULUS);
    assert_eq!(n.len(), 256);
    assert_eq!(value(&mut e, s, pk, AttrType::MODULUS_BITS), AttrLookup::Value(AttrValue::Ulong(2048)));
    assert_eq!(bytes_of(&mut e, s, pk, AttrType::PUBLIC_EXPONENT), vec![1, 0, 1]);
    // The private key shows its public parts, hides the rest.
    assert_eq!(bytes_of(&mut e, s, sk, AttrType::MODULUS), n);
    assert_eq!(bytes_of(&mut e, s, sk, AttrType::PUBLIC_EXPONENT), vec![1, 0, 1]);
    for ty in [
        AttrType::PRIVATE_EXPONENT,
        AttrType::PRIME_1,
        AttrType::PRIME_2,
        AttrType::EXPONENT_1,
        AttrType::EXPONENT_2,
        AttrType::COEFFICIENT,
    ] {
        assert_eq!(value(&mut e, s, sk, ty), AttrLookup::Sensitive, "{ty:?}");
    }
    let spki = bytes_of(&mut e, s, pk, AttrType::PUBLIC_KEY_INFO);
    assert_eq!(bytes_of(&mut e, s, sk, AttrType::PUBLIC_KEY_INFO), spki);
    assert_eq!(spki[..4], [0x30, 0x82, 0x01, 0x22], "a 2048-bit SPKI is 294 bytes");
    assert_eq!(value(&mut e, s, sk, AttrType::LOCAL), AttrLookup::Value(AttrValue::Bool(true)));
    assert_eq!(
        value(&mut e, s, pk, AttrType::KEY_GEN_MECHANISM),
        AttrLookup::Value(AttrValue::Ulong(M::RSA_PKCS_KEY_PAIR_GEN.0))
    );
    assert_eq!(value(&mut e, s, sk, AttrType::ALWAYS_SENSITIVE), AttrLookup::Value(AttrValue::Bool(true)));
    assert_eq!(value(&mut e, s, sk, AttrType::EC_POINT), AttrLookup::Invalid);
}

#[test]
fn generation_templates() {
    let (mut e, s) = ready();
    let bits = |b| Attribute::ulong(AttrType::MODULUS_BITS, b);
    // Another exponent, given in a long form: kept as given... and stored minimal.
    let pub_t = [bits(1024), Attribute::bytes(AttrType::PUBLIC_EXPONENT, &[0, 0, 3])];
    let (pk, sk) = e.generate_key_pair(s, &gen_mech(), &pub_t, &[]).unwrap();
    assert_eq!(bytes_of(&mut e, s, pk, AttrType::PUBLIC_EXPONENT), vec![3]);
    assert_eq!(bytes_of(&mut e, s, sk, AttrType::PUBLIC_EXPONENT), vec![3]);
    // The same exponent in both templates is fine; different ones are not.
    let e3 = Attribute::bytes(AttrType::PUBLIC_EXPONENT, &[3]);
    let f4 = Attribute::bytes(AttrType::PUBLIC_EXPONENT, &[1, 0, 1]);
    e.generate_key_pair(s, &gen_mech(), &[bits(1024), e3.clone()], core::slice::from_ref(&e3)).unwrap();
    let cases: Vec<(Vec<Attribute>, Vec<Attribute>, Error)> = vec![
        (vec![bits(1024), e3.clone()], vec![f4.clone()], Error::TemplateInconsistent),
        (
            vec![bits(1024), Attribute::ulong(AttrType::KEY_TYPE, KeyType::EC.0)],
            vec![],
            Error::TemplateInconsistent,
        ),
        (
            vec![bits(1024), Attribute::ulong(AttrType::CLASS, ObjectClass::PRIVATE_KEY.0)],
            vec![],
            Error::TemplateInconsistent,
        ),
        (
            vec![bits(1024), Attribute::bytes(AttrType::MODULUS, &[0xff; 128])],
            vec![],
            Error::TemplateInconsistent,
        ),
        (
            vec![bits(1024), Attribute::bytes(AttrType::PUBLIC_EXPONENT, &[1, 0, 0])],
            vec![],
            Error::TemplateInconsistent,
        ),
        (
            vec![bits(1024), Attribute::bytes(AttrType::PUBLIC_EXPONENT, &[1])],
            vec![],
            Error::TemplateInconsistent,
        ),
        (vec![], vec![bits(1024)], Error::TemplateIncomplete),
        (vec![bits(512)], vec![], Error::KeySizeRange),
        (vec![bits(8200)], vec![], Error::KeySizeRange),
        (
            vec![bits(1024)],
            vec![Attribute::bytes(AttrType::PRIVATE_EXPONENT, &[3])],
            Error::TemplateInconsistent,
        ),
        (
            vec![bits(1024), Attribute::bytes(AttrType::PUBLIC_KEY_INFO, b"x")],
            vec![],
            Error::AttributeReadOnly,
        ),
    ];
    for (i, (p, q, want)) in cases.into_iter().enumerate() {
        assert_eq!(e.generate_key_pair(s, &gen_mech(), &p, &q), Err(want), "case {i}");
    }
    // An exponent named only in the private template is the pair's exponent.
    let (pk, _) = e.generate_key_pair(s, &gen_mech(), &[bits(1024)], &[f4]).unwrap();
    assert_eq!(bytes_of(&mut e, s, pk, AttrType::PUBLIC_EXPONENT), vec![1, 0, 1]);
    let with_param = with(M::RSA_PKCS_KEY_PAIR_GEN, MechParam::Bytes(vec![1]));
    assert_eq!(e.generate_key_pair(s, &with_param, &[bits(1024)], &[]), Err(Error::MechanismParamInvalid));
    assert_eq!(e.generate_key(s, &gen_mech(), &[bits(1024)]), Err(Error::MechanismInvalid));
}

#[test]
fn pkcs1v15_signatures() {
    let (mut e, s) = ready();
    let (pk, sk) = keypair(&mut e, s, 1024);
    for m in [
        M::SHA1_RSA_PKCS,
        M::SHA224_RSA_PKCS,
        M::SHA256_RSA_PKCS,
        M::SHA384_RSA_PKCS,
        M::SHA512_RSA_PKCS,
        M::SHA3_224_RSA_PKCS,
        M::SHA3_256_RSA_PKCS,
        M::SHA3_384_RSA_PKCS,
        M::SHA3_512_RSA_PKCS,
    ] {
        let m = Mechanism::new(m);
        // Multi-part and one-call signatures agree (PKCS #1 v1.5 is deterministic).
        e.sign_init(s, &m, sk).unwrap();
        e.sign_update(s, b"hello ").unwrap();
        e.sign_update(s, b"world").unwrap();
        let multi = data(e.sign_final(s, OutBuf::Capacity(128)).unwrap());
        assert_eq!(sign(&mut e, s, &m, sk, b"hello world"), multi, "{m:?}");
        verify(&mut e, s, &m, pk, b"hello world", &multi).unwrap();
        e.verify_init(s, &m, pk).unwrap();
        e.verify_update(s, b"hello world").unwrap();
        e.verify_final(s, &multi).unwrap();
        assert_eq!(verify(&mut e, s, &m, pk, b"hello worle", &multi), Err(Error::SignatureInvalid));
    }
    // CKM_RSA_PKCS signs the DigestInfo the caller built: the same signature.
    let t = rsa::digest_info(DigestAlg::Sha256, &digest(DigestAlg::Sha256, b"hello world")).unwrap();
    let raw = sign(&mut e, s, &Mechanism::new(M::RSA_PKCS), sk, &t);
    assert_eq!(raw, sign(&mut e, s, &Mechanism::new(M::SHA256_RSA_PKCS), sk, b"hello world"));
    verify(&mut e, s, &Mechanism::new(M::RSA_PKCS), pk, &t, &raw).unwrap();
}

#[test]
fn signature_output_and_length_rules() {
    let (mut e, s) = ready();
    let (pk, sk) = keypair(&mut e, s, 1024);
    let m = Mechanism::new(M::SHA256_RSA_PKCS);
    e.sign_init(s, &m, sk).unwrap();
    assert_eq!(e.sign(s, b"msg", OutBuf::Query).unwrap(), Output::Length(128));
    // A short buffer gives the length and keeps the operation.
    assert_eq!(e.sign(s, b"msg", OutBuf::Capacity(127)).unwrap(), Output::Length(128));
    let sig = data(e.sign(s, b"msg", OutBuf::Capacity(128)).unwrap());
    assert_eq!(e.sign(s, b"msg", OutBuf::Capacity(128)), Err(Error::OperationNotInitialized));
    // The same for multi-part.
    e.sign_init(s, &m, sk).unwrap();
    e.sign_update(s, b"msg").unwrap();
    assert_eq!(e.sign_final(s, OutBuf::Capacity(3)).unwrap(), Output::Length(128));
    assert_eq!(data(e.sign_final(s, OutBuf::Capacity(200)).unwrap()), sig);
    // Wrong signature lengths, tampered signatures.
    for len in [0, 1, 127, 129, 256] {
        let mut wrong = sig.clone();
        wrong.resize(len, 0);
        assert_eq!(verify(&mut e, s, &m, pk, b"msg", &wrong), Err(Error::SignatureLenRange), "{len}");
    }
    for i in [0, 64, 127] {
        let mut bad = sig.clone();
        bad[i] ^= 1;
        assert_eq!(verify(&mut e, s, &m, pk, b"msg", &bad), Err(Error::SignatureInvalid));
    }
    // Single-part mechanisms refuse updates; too much data for CKM_RSA_PKCS.
    let raw = Mechanism::new(M::RSA_PKCS);
    e.sign_init(s, &raw, sk).unwrap();
    assert_eq!(e.sign_update(s, b"x"), Err(Error::FunctionNotSupported));
    e.sign_init(s, &raw, sk).unwrap();
    assert_eq!(e.sign(s, &[1; 118], OutBuf::Capacity(128)), Err(Error::DataLenRange));
    e.sign_init(s, &raw, sk).unwrap();
    data(e.sign(s, &[1; 117], OutBuf::Capacity(128)).unwrap());
}

#[test]
fn wrong_keys_and_parameters() {
    let (mut e, s) = ready();
    let (pk, sk) = keypair(&mut e, s, 1024);
    let p256 = [0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
    let (ec_pk, ec_sk) = e
        .generate_key_pair(
            s,
            &Mechanism::new(M::EC_KEY_PAIR_GEN),
            &[Attribute::bytes(AttrType::EC_PARAMS, &p256)],
            &[],
        )
        .unwrap();
    let aes = e
        .generate_key(s, &Mechanism::new(M::AES_KEY_GEN), &[Attribute::ulong(AttrType::VALUE_LEN, 16)])
        .unwrap();
    let m = Mechanism::new(M::SHA256_RSA_PKCS);
    assert_eq!(e.sign_init(s, &m, ec_sk), Err(Error::KeyTypeInconsistent));
    assert_eq!(e.verify_init(s, &m, ec_pk), Err(Error::KeyTypeInconsistent));
    assert_eq!(e.sign_init(s, &m, aes), Err(Error::KeyTypeInconsistent));
    assert_eq!(e.encrypt_init(s, &Mechanism::new(M::RSA_PKCS), aes), Err(Error::KeyTypeInconsistent));
    assert_eq!(e.sign_init(s, &m, pk), Err(Error::KeyFunctionNotPermitted));
    assert_eq!(e.encrypt_init(s, &Mechanism::new(M::RSA_PKCS), sk), Err(Error::KeyFunctionNotPermitted));
    assert_eq!(e.sign_init(s, &Mechanism::new(M::ECDSA), sk), Err(Error::KeyTypeInconsistent));
    // Parameters where none belong, and bad PSS/OAEP parameters.
    assert_eq!(
        e.sign_init(s, &with(M::SHA256_RSA_PKCS, MechParam::Bytes(vec![0])), sk),
        Err(Error::MechanismParamInvalid)
    );
    assert_eq!(
        e.encrypt_init(s, &with(M::RSA_PKCS, MechParam::Bytes(vec![0])), pk),
        Err(Error::MechanismParamInvalid)
    );
    let bad_pss = [
        with(M::RSA_PKCS_PSS, MechParam::None),
        with(M::SHA256_RSA_PKCS_PSS, MechParam::None),
        with(M::SHA256_RSA_PKCS_PSS, pss(M::SHA_1, MGF1_SHA1, 20)),
        with(M::SHA256_RSA_PKCS_PSS, pss(M::SHA256, MGF1_SHA1, 32)),
        with(M::RSA_PKCS_PSS, pss(M::SHA256, 99, 32)),
        with(M::RSA_PKCS_PSS, pss(M::SHA256, MGF1_SHA256, 95)),
        with(M::RSA_PKCS_PSS, pss(M::SHA512_256, MGF1_SHA256, 32)),
        with(M::RSA_PKCS_PSS, pss(M::AES_GCM, MGF1_SHA256, 32)),
    ];
    for m in &bad_pss {
        assert_eq!(e.sign_init(s, m, sk), Err(Error::MechanismParamInvalid), "{:?}", m.param);
        assert_eq!(e.verify_init(s, m, pk), Err(Error::MechanismParamInvalid), "{:?}", m.param);
    }
    // 1024 bits, SHA-256: emLen 128, room for 128 - 32 - 2 = 94 bytes of salt.
    e.sign_init(s, &with(M::RSA_PKCS_PSS, pss(M::SHA256, MGF1_SHA256, 94)), sk).unwrap();
    let bad_oaep = [
        with(M::RSA_PKCS_OAEP, MechParam::None),
        with(M::RSA_PKCS_OAEP, oaep(M::SHA256, 99, b"")),
        with(M::RSA_PKCS_OAEP, oaep(M::SHA3_256, MGF1_SHA256, b"")),
        with(
            M::RSA_PKCS_OAEP,
            MechParam::RsaOaep(RsaOaepParams {
                hash: M::SHA256,
                mgf: MGF1_SHA256,
                source: 2,
                source_data: vec![],
            }),
        ),
        with(
            M::RSA_PKCS_OAEP,
            MechParam::RsaOaep(RsaOaepParams {
                hash: M::SHA256,
                mgf: MGF1_SHA256,
                source: 0,
                source_data: vec![1],
            }),
        ),
    ];
    for m in &bad_oaep {
        assert_eq!(e.encrypt_init(s, m, pk), Err(Error::MechanismParamInvalid), "{:?}", m.param);
    }
}

#[test]
fn pss_signatures() {
    let (mut e, s) = ready();
    let (pk, sk) = keypair(&mut e, s, 2048);
    let cases = [
        (M::SHA1_RSA_PKCS_PSS, M::SHA_1, 1, 20),
        (M::SHA224_RSA_PKCS_PSS, M::SHA224, 5, 28),
        (M::SHA256_RSA_PKCS_PSS, M::SHA256, 2, 32),
        (M::SHA384_RSA_PKCS_PSS, M::SHA384, 3, 0),
        (M::SHA512_RSA_PKCS_PSS, M::SHA512, 4, 64),
        (M::SHA3_224_RSA_PKCS_PSS, M::SHA3_224, 6, 28),
        (M::SHA3_256_RSA_PKCS_PSS, M::SHA3_256, 7, 32),
        (M::SHA3_384_RSA_PKCS_PSS, M::SHA3_384, 8, 48),
        (M::SHA3_512_RSA_PKCS_PSS, M::SHA3_512, 9, 64),
    ];
    for (mech, hash, mgf, salt) in cases {
        let m = with(mech, pss(hash, mgf, salt));
        e.sign_init(s, &m, sk).unwrap();
        e.sign_update(s, b"pss ").unwrap();
        e.sign_update(s, b"message").unwrap();
        let sig = data(e.sign_final(s, OutBuf::Capacity(256)).unwrap());
        verify(&mut e, s, &m, pk, b"pss message", &sig).unwrap();
        // The same signature through CKM_RSA_PKCS_PSS over the hash.
        let alg = DigestAlg::from_mechanism(hash).unwrap();
        let prehashed = with(M::RSA_PKCS_PSS, pss(hash, mgf, salt));
        verify(&mut e, s, &prehashed, pk, &digest(alg, b"pss message"), &sig).unwrap();
        assert_eq!(verify(&mut e, s, &m, pk, b"pss messagf", &sig), Err(Error::SignatureInvalid), "{mech:?}");
        // Another salt length does not verify.
        let other = with(mech, pss(hash, mgf, salt + 1));
        assert_eq!(verify(&mut e, s, &other, pk, b"pss message", &sig), Err(Error::SignatureInvalid));
    }
    let raw = with(M::RSA_PKCS_PSS, pss(M::SHA256, MGF1_SHA256, 32));
    let hash = digest(DigestAlg::Sha256, b"x");
    let sig = sign(&mut e, s, &raw, sk, &hash);
    verify(&mut e, s, &raw, pk, &hash, &sig).unwrap();
    // CKM_RSA_PKCS_PSS takes exactly one hash: other lengths are DataLenRange.
    e.sign_init(s, &raw, sk).unwrap();
    assert_eq!(e.sign(s, &hash[..31], OutBuf::Capacity(256)), Err(Error::DataLenRange));
    e.sign_init(s, &raw, sk).unwrap();
    assert_eq!(e.sign_update(s, &hash), Err(Error::FunctionNotSupported));
    assert_eq!(verify(&mut e, s, &raw, pk, &[0; 33], &sig), Err(Error::DataLenRange));
}

#[test]
fn encryption_and_decryption() {
    let (mut e, s) = ready();
    let (pk, sk) = keypair(&mut e, s, 2048);
    let mechs = [
        Mechanism::new(M::RSA_PKCS),
        with(M::RSA_PKCS_OAEP, oaep(M::SHA_1, MGF1_SHA1, b"")),
        with(M::RSA_PKCS_OAEP, oaep(M::SHA256, MGF1_SHA256, b"label")),
        with(M::RSA_PKCS_OAEP, oaep(M::SHA384, MGF1_SHA1, b"")),
    ];
    for m in &mechs {
        e.encrypt_init(s, m, pk).unwrap();
        assert_eq!(e.encrypt(s, b"secret", OutBuf::Query).unwrap(), Output::Length(256));
        assert_eq!(e.encrypt(s, b"secret", OutBuf::Capacity(10)).unwrap(), Output::Length(256));
        let ct = data(e.encrypt(s, b"secret", OutBuf::Capacity(256)).unwrap());
        e.decrypt_init(s, m, sk).unwrap();
        // A short buffer gives the exact length and keeps the operation.
        assert_eq!(e.decrypt(s, &ct, OutBuf::Capacity(2)).unwrap(), Output::Length(6));
        assert_eq!(data(e.decrypt(s, &ct, OutBuf::Capacity(6)).unwrap()), b"secret");
        // Multi-part input is gathered into the one block.
        e.decrypt_init(s, m, sk).unwrap();
        assert_eq!(data(e.decrypt_update(s, &ct[..100], OutBuf::Capacity(0)).unwrap()), b"");
        assert_eq!(data(e.decrypt_update(s, &ct[100..], OutBuf::Capacity(0)).unwrap()), b"");
        assert_eq!(data(e.decrypt_final(s, OutBuf::Capacity(256)).unwrap()), b"secret");
        // Wrong lengths.
        e.decrypt_init(s, m, sk).unwrap();
        assert_eq!(e.decrypt(s, &ct[..255], OutBuf::Capacity(256)), Err(Error::EncryptedDataLenRange));
        e.encrypt_init(s, m, pk).unwrap();
        assert_eq!(e.encrypt(s, &[0; 256], OutBuf::Capacity(256)), Err(Error::DataLenRange));
    }
    // OAEP: every tampered ciphertext and a wrong label give the one error.
    let m = with(M::RSA_PKCS_OAEP, oaep(M::SHA256, MGF1_SHA256, b"label"));
    e.encrypt_init(s, &m, pk).unwrap();
    let ct = data(e.encrypt(s, b"secret", OutBuf::Capacity(256)).unwrap());
    for i in [0, 1, 128, 255] {
        let mut bad = ct.clone();
        bad[i] ^= 0x80;
        e.decrypt_init(s, &m, sk).unwrap();
        assert_eq!(e.decrypt(s, &bad, OutBuf::Capacity(256)), Err(Error::EncryptedDataInvalid), "{i}");
    }
    let other_label = with(M::RSA_PKCS_OAEP, oaep(M::SHA256, MGF1_SHA256, b"lab3l"));
    e.decrypt_init(s, &other_label, sk).unwrap();
    assert_eq!(e.decrypt(s, &ct, OutBuf::Capacity(256)), Err(Error::EncryptedDataInvalid));
    e.decrypt_init(s, &m, sk).unwrap();
    assert_eq!(e.decrypt(s, &[0xff; 256], OutBuf::Capacity(256)), Err(Error::EncryptedDataInvalid));
    // PKCS #1 v1.5 with bad padding: no error, a synthetic plaintext (implicit rejection).
    let v15 = Mechanism::new(M::RSA_PKCS);
    e.encrypt_init(s, &v15, pk).unwrap();
    let mut ct = data(e.encrypt(s, b"secret", OutBuf::Capacity(256)).unwrap());
    ct[200] ^= 1;
    e.decrypt_init(s, &v15, sk).unwrap();
    let synthetic = data(e.decrypt(s, &ct, OutBuf::Capacity(256)).unwrap());
    assert_ne!(synthetic, b"secret");
    e.decrypt_init(s, &v15, sk).unwrap();
    assert_eq!(data(e.decrypt(s, &ct, OutBuf::Capacity(256)).unwrap()), synthetic, "deterministic");
}

#[test]
fn raw_rsa_and_recovery() {
    let (mut e, s) = ready();
    let (pk, sk) = keypair(&mut e, s, 1024);
    let x509 = Mechanism::new(M::RSA_X_509);
    // Raw encryption of a short block decrypts to the block, zero-padded to k.
    e.encrypt_init(s, &x509, pk).unwrap();
    let ct = data(e.encrypt(s, b"raw", OutBuf::Capacity(128)).unwrap());
    e.decrypt_init(s, &x509, sk).unwrap();
    let pt = data(e.decrypt(s, &ct, OutBuf::Capacity(128)).unwrap());
    assert_eq!(pt.len(), 128);
    assert_eq!(&pt[125..], b"raw");
    // Raw signatures verify against the data zero-padded on the left.
    let sig = sign(&mut e, s, &x509, sk, b"raw");
    verify(&mut e, s, &x509, pk, b"raw", &sig).unwrap();
    verify(&mut e, s, &x509, pk, &pt, &sig).unwrap();
    assert_eq!(verify(&mut e, s, &x509, pk, b"rav", &sig), Err(Error::SignatureInvalid));
    assert_eq!(verify(&mut e, s, &x509, pk, b"raw", &sig[1..]), Err(Error::SignatureLenRange));
    e.sign_init(s, &x509, sk).unwrap();
    assert_eq!(e.sign(s, &[0xff; 128], OutBuf::Capacity(128)), Err(Error::DataInvalid));
    e.sign_init(s, &x509, sk).unwrap();
    assert_eq!(e.sign(s, &[1; 129], OutBuf::Capacity(128)), Err(Error::DataLenRange));
    e.decrypt_init(s, &x509, sk).unwrap();
    assert_eq!(e.decrypt(s, &[0xff; 128], OutBuf::Capacity(128)), Err(Error::EncryptedDataInvalid));
    // Sign and verify with recovery.
    for m in [Mechanism::new(M::RSA_PKCS), x509.clone()] {
        e.sign_recover_init(s, &m, sk).unwrap();
        assert_eq!(e.sign_recover(s, b"recover me", OutBuf::Query).unwrap(), Output::Length(128));
        assert_eq!(e.sign_recover(s, b"recover me", OutBuf::Capacity(1)).unwrap(), Output::Length(128));
        let sig = data(e.sign_recover(s, b"recover me", OutBuf::Capacity(128)).unwrap());
        e.verify_recover_init(s, &m, pk).unwrap();
        let back = data(e.verify_recover(s, &sig, OutBuf::Capacity(128)).unwrap());
        assert!(back.ends_with(b"recover me"), "{m:?}");
        e.verify_recover_init(s, &m, pk).unwrap();
        assert_eq!(e.verify_recover(s, &sig[..127], OutBuf::Capacity(128)), Err(Error::SignatureLenRange));
    }
    let v15 = Mechanism::new(M::RSA_PKCS);
    e.sign_recover_init(s, &v15, sk).unwrap();
    let sig = data(e.sign_recover(s, b"recover me", OutBuf::Capacity(128)).unwrap());
    e.verify_recover_init(s, &v15, pk).unwrap();
    assert_eq!(data(e.verify_recover(s, &sig, OutBuf::Capacity(10)).unwrap()), b"recover me");
    let mut bad = sig.clone();
    bad[3] ^= 1;
    e.verify_recover_init(s, &v15, pk).unwrap();
    assert_eq!(e.verify_recover(s, &bad, OutBuf::Capacity(128)), Err(Error::SignatureInvalid));
    assert_eq!(e.sign_recover_init(s, &Mechanism::new(M::SHA256_RSA_PKCS), sk), Err(Error::MechanismInvalid));
}

#[test]
fn wrap_and_unwrap_a_secret_key() {
    let (mut e, s) = ready();
    let (pk, sk) = keypair(&mut e, s, 2048);
    let aes = e
        .generate_key(
            s,
            &Mechanism::new(M::AES_KEY_GEN),
            &[
                Attribute::ulong(AttrType::VALUE_LEN, 32),
                Attribute::bool(AttrType::EXTRACTABLE, true),
                Attribute::bool(AttrType::SENSITIVE, false),
            ],
        )
        .unwrap();
    let value = bytes_of(&mut e, s, aes, AttrType::VALUE);
    let template = [
        Attribute::ulong(AttrType::CLASS, ObjectClass::SECRET_KEY.0),
        Attribute::ulong(AttrType::KEY_TYPE, KeyType::AES.0),
        Attribute::bool(AttrType::SENSITIVE, false),
        Attribute::bool(AttrType::EXTRACTABLE, true),
    ];
    for m in [Mechanism::new(M::RSA_PKCS), with(M::RSA_PKCS_OAEP, oaep(M::SHA256, MGF1_SHA256, b"wrap"))] {
        assert_eq!(e.wrap_key(s, &m, pk, aes, OutBuf::Query).unwrap(), Output::Length(256));
        let wrapped = data(e.wrap_key(s, &m, pk, aes, OutBuf::Capacity(256)).unwrap());
        let back = e.unwrap_key(s, &m, sk, &wrapped, &template).unwrap();
        assert_eq!(bytes_of(&mut e, s, back, AttrType::VALUE), value, "{m:?}");
        let mut bad = wrapped.clone();
        bad[10] ^= 1;
        if m.ty == M::RSA_PKCS_OAEP {
            assert_eq!(e.unwrap_key(s, &m, sk, &bad, &template), Err(Error::WrappedKeyInvalid));
        }
        assert_eq!(e.unwrap_key(s, &m, sk, &wrapped[1..], &template), Err(Error::WrappedKeyLenRange));
        assert_eq!(e.wrap_key(s, &m, sk, aes, OutBuf::Capacity(256)), Err(Error::KeyFunctionNotPermitted));
    }
    assert_eq!(
        e.wrap_key(s, &Mechanism::new(M::RSA_X_509), pk, aes, OutBuf::Capacity(256)),
        Err(Error::MechanismInvalid)
    );
}

/// `CKM_RSA_AES_KEY_WRAP` with `CK_RSA_AES_KEY_WRAP_PARAMS { ulAESKeyBits, pOAEPParams }`.
fn rsa_aes(aes_key_bits: u64, hash: M, mgf: u64, label: &[u8]) -> Mechanism {
    let MechParam::RsaOaep(oaep) = oaep(hash, mgf, label) else { unreachable!() };
    with(M::RSA_AES_KEY_WRAP, MechParam::RsaAesKeyWrap { aes_key_bits, oaep })
}

fn extractable_aes(e: &mut Engine, s: u64, len: u64) -> u64 {
    let t = [
        Attribute::ulong(AttrType::VALUE_LEN, len),
        Attribute::bool(AttrType::EXTRACTABLE, true),
        Attribute::bool(AttrType::SENSITIVE, false),
    ];
    e.generate_key(s, &Mechanism::new(M::AES_KEY_GEN), &t).unwrap()
}

fn aes_template() -> [Attribute; 4] {
    [
        Attribute::ulong(AttrType::CLASS, ObjectClass::SECRET_KEY.0),
        Attribute::ulong(AttrType::KEY_TYPE, KeyType::AES.0),
        Attribute::bool(AttrType::SENSITIVE, false),
        Attribute::bool(AttrType::EXTRACTABLE, true),
    ]
}

fn object_count(e: &mut Engine, s: u64) -> usize {
    e.find_objects_init(s, &[]).unwrap();
    let n = e.find_objects(s, 1000).unwrap().len();
    e.find_objects_final(s).unwrap();
    n
}

#[test]
fn rsa_aes_key_wrap_is_listed_for_wrapping_only() {
    let (mut e, _) = ready();
    assert!(e.mechanism_list(0).unwrap().contains(&M::RSA_AES_KEY_WRAP));
    let info = e.mechanism_info(0, M::RSA_AES_KEY_WRAP).unwrap();
    assert_eq!((info.min_key_size, info.max_key_size, info.flags), (1024, 8192, CKF_WRAP | CKF_UNWRAP));
}

#[test]
fn rsa_aes_key_wrap_round_trips_a_secret_key() {
    let (mut e, s) = ready();
    let (pk, sk) = keypair(&mut e, s, 2048);
    let aes = extractable_aes(&mut e, s, 32);
    let value = bytes_of(&mut e, s, aes, AttrType::VALUE);
    for (bits, hash, mgf, label) in [
        (128, M::SHA_1, MGF1_SHA1, &b""[..]),
        (192, M::SHA256, MGF1_SHA256, b"label"),
        (256, M::SHA384, 3, b""),
    ] {
        let m = rsa_aes(bits, hash, mgf, label);
        // 256 bytes of OAEP, then KWP of 32 bytes: an 8-byte block more.
        assert_eq!(e.wrap_key(s, &m, pk, aes, OutBuf::Query).unwrap(), Output::Length(256 + 40));
        assert_eq!(e.wrap_key(s, &m, pk, aes, OutBuf::Capacity(10)).unwrap(), Output::Length(296));
        let wrapped = data(e.wrap_key(s, &m, pk, aes, OutBuf::Capacity(296)).unwrap());
        assert_eq!(wrapped.len(), 296);
        // The layout, taken apart with the plain mechanisms: OAEP(temporary key) ‖ KWP(value).
        let MechParam::RsaAesKeyWrap { oaep: o, .. } = &m.param else { unreachable!() };
        e.decrypt_init(s, &with(M::RSA_PKCS_OAEP, MechParam::RsaOaep(o.clone())), sk).unwrap();
        let temp = data(e.decrypt(s, &wrapped[..256], OutBuf::Capacity(256)).unwrap());
        assert_eq!(temp.len() as u64 * 8, bits);
        let kek = mechanism::block::BlockCipher::aes(&temp).unwrap();
        let inner = mechanism::aes_kw::unwrap_pad(&kek, &mechanism::aes_kw::KWP_AIV, &wrapped[256..]);
        assert_eq!(inner.unwrap().expose(), &value[..]);

        let back = e.unwrap_key(s, &m, sk, &wrapped, &aes_template()).unwrap();
        assert_eq!(bytes_of(&mut e, s, back, AttrType::VALUE), value, "{bits} bits, {hash:?}");
        // A fresh temporary key each time.
        let again = data(e.wrap_key(s, &m, pk, aes, OutBuf::Capacity(296)).unwrap());
        assert_ne!(again[256..], wrapped[256..]);
    }
    // A 1-byte generic secret: KWP pads it to one block.
    let t = [
        Attribute::ulong(AttrType::CLASS, ObjectClass::SECRET_KEY.0),
        Attribute::ulong(AttrType::KEY_TYPE, KeyType::GENERIC_SECRET.0),
        Attribute::bytes(AttrType::VALUE, &[0x5a]),
        Attribute::bool(AttrType::EXTRACTABLE, true),
        Attribute::bool(AttrType::SENSITIVE, false),
    ];
    let tiny = e.create_object(s, &t).unwrap();
    let m = rsa_aes(256, M::SHA256, MGF1_SHA256, b"");
    let wrapped = data(e.wrap_key(s, &m, pk, tiny, OutBuf::Capacity(1024)).unwrap());
    assert_eq!(wrapped.len(), 256 + 16);
    let back = e.unwrap_key(s, &m, sk, &wrapped, &[&t[..2], &t[3..]].concat()).unwrap();
    assert_eq!(bytes_of(&mut e, s, back, AttrType::VALUE), [0x5a]);
}

#[test]
fn rsa_aes_key_wrap_round_trips_private_keys() {
    let (mut e, s) = ready();
    let (pk, sk) = keypair(&mut e, s, 2048);
    let m = rsa_aes(256, M::SHA256, MGF1_SHA256, b"pkcs8");
    let export = [Attribute::bool(AttrType::EXTRACTABLE, true), Attribute::bool(AttrType::SENSITIVE, false)];
    let priv_template = |kt: KeyType| {
        vec![
            Attribute::ulong(AttrType::CLASS, ObjectClass::PRIVATE_KEY.0),
            Attribute::ulong(AttrType::KEY_TYPE, kt.0),
            Attribute::bool(AttrType::SENSITIVE, false),
            Attribute::bool(AttrType::EXTRACTABLE, true),
            Attribute::bool(AttrType::SIGN, true),
        ]
    };

    // An EC P-256 key: the PKCS #8 of a few dozen bytes.
    let ec_params = Attribute::bytes(AttrType::EC_PARAMS, &h("06082a8648ce3d030107"));
    let (_, ec) = e.generate_key_pair(s, &Mechanism::new(M::EC_KEY_PAIR_GEN), &[ec_params], &export).unwrap();
    let wrapped = data(e.wrap_key(s, &m, pk, ec, OutBuf::Capacity(4096)).unwrap());
    let back = e.unwrap_key(s, &m, sk, &wrapped, &priv_template(KeyType::EC)).unwrap();
    for ty in [AttrType::VALUE, AttrType::EC_PARAMS, AttrType::EC_POINT] {
        assert_eq!(bytes_of(&mut e, s, back, ty), bytes_of(&mut e, s, ec, ty), "{ty:?}");
    }

    // An RSA key, which CKM_RSA_PKCS_OAEP alone cannot carry (its PKCS #8 exceeds the modulus).
    let pub_t = [Attribute::ulong(AttrType::MODULUS_BITS, 2048)];
    let (_, rsa_sk) = e.generate_key_pair(s, &gen_mech(), &pub_t, &export).unwrap();
    let oaep_only = with(M::RSA_PKCS_OAEP, oaep(M::SHA256, MGF1_SHA256, b""));
    assert_eq!(e.wrap_key(s, &oaep_only, pk, rsa_sk, OutBuf::Capacity(4096)), Err(Error::KeySizeRange));
    let wrapped = data(e.wrap_key(s, &m, pk, rsa_sk, OutBuf::Capacity(4096)).unwrap());
    assert!(wrapped.len() > 256 + 1000, "{}", wrapped.len());
    let back = e.unwrap_key(s, &m, sk, &wrapped, &priv_template(KeyType::RSA)).unwrap();
    for ty in [AttrType::MODULUS, AttrType::PRIVATE_EXPONENT, AttrType::PRIME_1, AttrType::COEFFICIENT] {
        assert_eq!(bytes_of(&mut e, s, back, ty), bytes_of(&mut e, s, rsa_sk, ty), "{ty:?}");
    }
    // The unwrapped key works: it signs what the original's public half verifies.
    let pss_m = with(M::SHA256_RSA_PKCS_PSS, pss(M::SHA256, MGF1_SHA256, 32));
    let sig = sign(&mut e, s, &pss_m, back, b"unwrapped");
    let n = bytes_of(&mut e, s, rsa_sk, AttrType::MODULUS);
    let exp = bytes_of(&mut e, s, rsa_sk, AttrType::PUBLIC_EXPONENT);
    let rsa_pk = e.create_object(s, &public_template(&n, &exp)).unwrap();
    verify(&mut e, s, &pss_m, rsa_pk, b"unwrapped", &sig).unwrap();
}

#[test]
fn rsa_aes_key_wrap_refuses_tampering_and_bad_parameters() {
    let (mut e, s) = ready();
    let (pk, sk) = keypair(&mut e, s, 2048);
    let aes = extractable_aes(&mut e, s, 16);
    let m = rsa_aes(256, M::SHA256, MGF1_SHA256, b"label");
    let wrapped = data(e.wrap_key(s, &m, pk, aes, OutBuf::Capacity(1024)).unwrap());
    assert_eq!(wrapped.len(), 256 + 24);
    let before = object_count(&mut e, s);
    let t = aes_template();

    // Integrity: a flipped bit anywhere, in the RSA part or the KWP part, is one error.
    for i in [0, 10, 255, 256, 263, 264, wrapped.len() - 1] {
        let mut bad = wrapped.clone();
        bad[i] ^= 0x04;
        assert_eq!(e.unwrap_key(s, &m, sk, &bad, &t), Err(Error::WrappedKeyInvalid), "byte {i}");
    }
    // Other parameters than the wrap's: the label, the hash, the temporary key's size.
    for other in [
        rsa_aes(256, M::SHA256, MGF1_SHA256, b"other"),
        rsa_aes(256, M::SHA_1, MGF1_SHA1, b"label"),
        rsa_aes(128, M::SHA256, MGF1_SHA256, b"label"),
    ] {
        assert_eq!(e.unwrap_key(s, &other, sk, &wrapped, &t), Err(Error::WrappedKeyInvalid));
    }
    // Lengths: the RSA part is the modulus length, the KWP part whole blocks, at least two.
    for len in [0, 255, 256, 256 + 8, wrapped.len() - 1, wrapped.len() + 4] {
        let mut cut = wrapped.clone();
        cut.resize(len, 0);
        assert_eq!(e.unwrap_key(s, &m, sk, &cut, &t), Err(Error::WrappedKeyLenRange), "{len} bytes");
    }
    assert_eq!(object_count(&mut e, s), before, "a failed unwrap creates nothing");

    // Bad parameters, for wrapping and unwrapping alike.
    let bad_params = [
        rsa_aes(0, M::SHA256, MGF1_SHA256, b""),
        rsa_aes(64, M::SHA256, MGF1_SHA256, b""),
        rsa_aes(255, M::SHA256, MGF1_SHA256, b""),
        rsa_aes(512, M::SHA256, MGF1_SHA256, b""),
        rsa_aes(256, M::SHA3_256, 7, b""),
        rsa_aes(256, M::SHA512_256, MGF1_SHA256, b""),
        rsa_aes(256, M::SHA256, 0, b""),
        rsa_aes(256, M::SHA256, 99, b""),
        with(M::RSA_AES_KEY_WRAP, MechParam::None),
        with(M::RSA_AES_KEY_WRAP, oaep(M::SHA256, MGF1_SHA256, b"")),
        with(
            M::RSA_AES_KEY_WRAP,
            MechParam::RsaAesKeyWrap {
                aes_key_bits: 256,
                oaep: RsaOaepParams { hash: M::SHA256, mgf: MGF1_SHA256, source: 2, source_data: vec![] },
            },
        ),
    ];
    for bad in &bad_params {
        assert_eq!(e.wrap_key(s, bad, pk, aes, OutBuf::Capacity(1024)), Err(Error::MechanismParamInvalid));
        assert_eq!(e.unwrap_key(s, bad, sk, &wrapped, &t), Err(Error::MechanismParamInvalid));
    }
    assert_eq!(object_count(&mut e, s), before);

    // The wrapping key must be an RSA public key, the unwrapping key an RSA private key.
    let kek = e
        .generate_key(
            s,
            &Mechanism::new(M::AES_KEY_GEN),
            &[Attribute::ulong(AttrType::VALUE_LEN, 32), Attribute::bool(AttrType::WRAP, true)],
        )
        .unwrap();
    assert_eq!(e.wrap_key(s, &m, kek, aes, OutBuf::Capacity(1024)), Err(Error::WrappingKeyTypeInconsistent));
    assert_eq!(e.unwrap_key(s, &m, kek, &wrapped, &t), Err(Error::UnwrappingKeyTypeInconsistent));
    // A modulus without room for the AES key under OAEP-SHA-512 (2·64 + 2 > 128 bytes).
    let (small_pk, _) = keypair(&mut e, s, 1024);
    let sha512 = rsa_aes(128, M::SHA512, 4, b"");
    assert_eq!(
        e.wrap_key(s, &sha512, small_pk, aes, OutBuf::Capacity(1024)),
        Err(Error::WrappingKeySizeRange)
    );
    // Wrapping only: no encryption with it.
    assert_eq!(e.encrypt_init(s, &m, pk), Err(Error::MechanismInvalid));

    // The generic checks: CKA_EXTRACTABLE on the target, CKA_WRAP / CKA_UNWRAP on the keys.
    let locked = e
        .generate_key(s, &Mechanism::new(M::AES_KEY_GEN), &[Attribute::ulong(AttrType::VALUE_LEN, 16)])
        .unwrap();
    assert_eq!(e.wrap_key(s, &m, pk, locked, OutBuf::Capacity(1024)), Err(Error::KeyUnextractable));
    let (no_wrap, no_unwrap) = e
        .generate_key_pair(
            s,
            &gen_mech(),
            &[Attribute::ulong(AttrType::MODULUS_BITS, 1024), Attribute::bool(AttrType::WRAP, false)],
            &[Attribute::bool(AttrType::UNWRAP, false)],
        )
        .unwrap();
    assert_eq!(e.wrap_key(s, &m, no_wrap, aes, OutBuf::Capacity(1024)), Err(Error::KeyFunctionNotPermitted));
    assert_eq!(e.unwrap_key(s, &m, no_unwrap, &wrapped, &t), Err(Error::KeyFunctionNotPermitted));
}

#[test]
fn pkcs8_export_and_import() {
    let kind = mechanism::key_kind(KeyType::RSA).unwrap();
    let parts = rsa::from_pkcs8(&h(pkcs1::SIG_KEY)).unwrap();
    let attrs = kind.import_pkcs8(&h(pkcs1::SIG_KEY)).unwrap();
    let (mut e, s) = ready();
    let mut t = attrs.clone();
    t.push(Attribute::ulong(AttrType::CLASS, ObjectClass::PRIVATE_KEY.0));
    t.push(Attribute::ulong(AttrType::KEY_TYPE, KeyType::RSA.0));
    let sk = e.create_object(s, &t).unwrap();
    assert_eq!(bytes_of(&mut e, s, sk, AttrType::MODULUS), parts.n);
    let obj = policy::new_object(&t, &[], policy::Origin::Create, b"id").unwrap();
    assert_eq!(kind.export_pkcs8(&obj).unwrap().expose(), &h(pkcs1::SIG_KEY)[..]);
    assert_eq!(kind.import_pkcs8(b"junk"), Err(Error::WrappedKeyInvalid));
}

#[test]
fn imported_keys_sign_the_published_vectors() {
    let (mut e, s) = ready();
    let parts = rsa::from_pkcs8(&h(pkcs1::SIG_KEY)).unwrap();
    let msg = h(pkcs1::SIG_MESSAGE);
    let pk = e.create_object(s, &public_template(&parts.n, &parts.e)).unwrap();
    for crt in [true, false] {
        let sk = e.create_object(s, &import_template(&parts, crt)).unwrap();
        assert_eq!(sign(&mut e, s, &Mechanism::new(M::SHA1_RSA_PKCS), sk, &msg), h(pkcs1::SIG_SHA1));
        assert_eq!(sign(&mut e, s, &Mechanism::new(M::SHA256_RSA_PKCS), sk, &msg), h(pkcs1::SIG_SHA256));
        // Without CKA_SENSITIVE the components are readable, the computed CRT values included.
        assert_eq!(bytes_of(&mut e, s, sk, AttrType::COEFFICIENT), parts.qinv.expose());
        assert_eq!(bytes_of(&mut e, s, sk, AttrType::PRIVATE_EXPONENT), parts.d.expose());
    }
    verify(&mut e, s, &Mechanism::new(M::SHA1_RSA_PKCS), pk, &msg, &h(pkcs1::SIG_SHA1)).unwrap();
    let pss = with(M::SHA1_RSA_PKCS_PSS, pss(M::SHA_1, MGF1_SHA1, 20));
    verify(&mut e, s, &pss, pk, &h(pkcs1::PSS_MESSAGE), &h(pkcs1::PSS_SIGNATURE)).unwrap();
    assert_eq!(value(&mut e, s, pk, AttrType::MODULUS_BITS), AttrLookup::Value(AttrValue::Ulong(1024)));
    assert_eq!(value(&mut e, s, pk, AttrType::LOCAL), AttrLookup::Value(AttrValue::Bool(false)));
    // The OAEP example decrypts with its key imported.
    let enc = rsa::from_pkcs8(&h(pkcs1::ENC_KEY)).unwrap();
    let dk = e.create_object(s, &import_template(&enc, true)).unwrap();
    e.decrypt_init(s, &with(M::RSA_PKCS_OAEP, oaep(M::SHA_1, MGF1_SHA1, b"")), dk).unwrap();
    assert_eq!(
        data(e.decrypt(s, &h(pkcs1::OAEP_CIPHERTEXT), OutBuf::Capacity(128)).unwrap()),
        h(pkcs1::OAEP_MESSAGE)
    );
    e.decrypt_init(s, &Mechanism::new(M::RSA_PKCS), dk).unwrap();
    assert_eq!(
        data(e.decrypt(s, &h(pkcs1::V15_CIPHERTEXT), OutBuf::Capacity(128)).unwrap()),
        h(pkcs1::V15_MESSAGE)
    );
    assert_eq!(bytes_of(&mut e, s, dk, AttrType::PUBLIC_KEY_INFO), h(pkcs1::ENC_SPKI));
}

#[test]
fn import_validation() {
    let (mut e, s) = ready();
    let parts = rsa::from_pkcs8(&h(pkcs1::SIG_KEY)).unwrap();
    let replace = |ty: AttrType, v: &[u8]| {
        let mut t = import_template(&parts, true);
        t.retain(|a| a.ty != ty);
        t.push(Attribute::bytes(ty, v));
        t
    };
    let mut bad_dp = parts.dp.expose().to_vec();
    bad_dp[5] ^= 1;
    let mut bad_p = parts.p.expose().to_vec();
    bad_p[60] ^= 2;
    let cases = [
        (replace(AttrType::EXPONENT_1, &bad_dp), Error::AttributeValueInvalid),
        (replace(AttrType::PRIME_1, &bad_p), Error::AttributeValueInvalid),
        (replace(AttrType::PUBLIC_EXPONENT, &[3]), Error::AttributeValueInvalid),
        (replace(AttrType::MODULUS, &parts.n[..64]), Error::AttributeValueInvalid),
        (replace(AttrType::PUBLIC_KEY_INFO, b"x"), Error::AttributeReadOnly),
    ];
    for (i, (t, want)) in cases.into_iter().enumerate() {
        assert_eq!(e.create_object(s, &t), Err(want), "case {i}");
    }
    let mut missing = import_template(&parts, true);
    missing.retain(|a| a.ty != AttrType::PRIVATE_EXPONENT);
    assert_eq!(e.create_object(s, &missing), Err(Error::TemplateIncomplete));
    let mut half = import_template(&parts, false);
    half.push(Attribute::bytes(AttrType::PRIME_1, parts.p.expose()));
    assert_eq!(e.create_object(s, &half), Err(Error::TemplateIncomplete));
    // Public keys: size, exponent, and a CKA_MODULUS_BITS that must agree.
    let mut t = public_template(&parts.n, &parts.e);
    t.push(Attribute::ulong(AttrType::MODULUS_BITS, 2048));
    assert_eq!(e.create_object(s, &t), Err(Error::TemplateInconsistent));
    t.pop();
    t.push(Attribute::ulong(AttrType::MODULUS_BITS, 1024));
    e.create_object(s, &t).unwrap();
    assert_eq!(e.create_object(s, &public_template(&parts.n, &[2])), Err(Error::AttributeValueInvalid));
    assert_eq!(
        e.create_object(s, &public_template(&parts.n[..100], &[3])),
        Err(Error::AttributeValueInvalid)
    );
    let mut no_e = public_template(&parts.n, &parts.e);
    no_e.pop();
    assert_eq!(e.create_object(s, &no_e), Err(Error::TemplateIncomplete));
    // A leading zero on the modulus is accepted and dropped.
    let mut padded = vec![0];
    padded.extend_from_slice(&parts.n);
    let pk = e.create_object(s, &public_template(&padded, &parts.e)).unwrap();
    assert_eq!(bytes_of(&mut e, s, pk, AttrType::MODULUS), parts.n);
}

#[test]
fn sensitive_components_stay_hidden() {
    let (mut e, s) = ready();
    let parts = rsa::from_pkcs8(&h(pkcs1::SIG_KEY)).unwrap();
    let mut t = import_template(&parts, true);
    t.retain(|a| a.ty != AttrType::SENSITIVE && a.ty != AttrType::EXTRACTABLE);
    t.push(Attribute::bool(AttrType::SENSITIVE, false));
    t.push(Attribute::bool(AttrType::EXTRACTABLE, false));
    let unextractable = e.create_object(s, &t).unwrap();
    assert_eq!(value(&mut e, s, unextractable, AttrType::PRIME_2), AttrLookup::Sensitive);
    assert_eq!(bytes_of(&mut e, s, unextractable, AttrType::MODULUS), parts.n);
    let mut t = import_template(&parts, true);
    t.retain(|a| a.ty != AttrType::SENSITIVE);
    let sensitive = e.create_object(s, &t).unwrap();
    assert_eq!(value(&mut e, s, sensitive, AttrType::PRIVATE_EXPONENT), AttrLookup::Sensitive);
    assert_eq!(
        value(&mut e, s, sensitive, AttrType::ALWAYS_SENSITIVE),
        AttrLookup::Value(AttrValue::Bool(false))
    );
    // Once sensitive, always sensitive.
    let open = e.create_object(s, &import_template(&parts, true)).unwrap();
    assert!(matches!(value(&mut e, s, open, AttrType::PRIME_1), AttrLookup::Value(_)));
    e.set_attribute_values(s, open, &[Attribute::bool(AttrType::SENSITIVE, true)]).unwrap();
    assert_eq!(value(&mut e, s, open, AttrType::PRIME_1), AttrLookup::Sensitive);
    assert_eq!(
        e.set_attribute_values(s, open, &[Attribute::bytes(AttrType::MODULUS, &parts.n)]),
        Err(Error::AttributeReadOnly)
    );
}

// ---- DSA ----

fn domain(e: &mut Engine, s: u64, obj: u64) -> [Vec<u8>; 3] {
    [
        bytes_of(e, s, obj, AttrType::PRIME),
        bytes_of(e, s, obj, AttrType::SUBPRIME),
        bytes_of(e, s, obj, AttrType::BASE),
    ]
}

fn dsa_template(class: ObjectClass, p: &[u8], q: &[u8], g: &[u8], value: &[u8]) -> Vec<Attribute> {
    vec![
        Attribute::ulong(AttrType::CLASS, class.0),
        Attribute::ulong(AttrType::KEY_TYPE, KeyType::DSA.0),
        Attribute::bytes(AttrType::PRIME, p),
        Attribute::bytes(AttrType::SUBPRIME, q),
        Attribute::bytes(AttrType::BASE, g),
        Attribute::bytes(AttrType::VALUE, value),
    ]
}

#[test]
fn dsa_parameters_keys_and_signatures() {
    let (mut e, s) = ready();
    let bits = Attribute::ulong(AttrType::PRIME_BITS, 1024);
    let dp = e
        .generate_key(
            s,
            &Mechanism::new(M::DSA_PARAMETER_GEN),
            &[bits.clone(), Attribute::bytes(AttrType::LABEL, b"dsa")],
        )
        .unwrap();
    assert_eq!(
        value(&mut e, s, dp, AttrType::CLASS),
        AttrLookup::Value(AttrValue::Ulong(ObjectClass::DOMAIN_PARAMETERS.0))
    );
    assert_eq!(value(&mut e, s, dp, AttrType::KEY_TYPE), AttrLookup::Value(AttrValue::Ulong(KeyType::DSA.0)));
    assert_eq!(value(&mut e, s, dp, AttrType::PRIME_BITS), AttrLookup::Value(AttrValue::Ulong(1024)));
    assert_eq!(value(&mut e, s, dp, AttrType::SUBPRIME_BITS), AttrLookup::Value(AttrValue::Ulong(160)));
    assert_eq!(value(&mut e, s, dp, AttrType::LOCAL), AttrLookup::Value(AttrValue::Bool(true)));
    let [p, q, g] = domain(&mut e, s, dp);
    let pub_t = [
        Attribute::bytes(AttrType::PRIME, &p),
        Attribute::bytes(AttrType::SUBPRIME, &q),
        Attribute::bytes(AttrType::BASE, &g),
    ];
    let (pk, sk) = e.generate_key_pair(s, &Mechanism::new(M::DSA_KEY_PAIR_GEN), &pub_t, &[]).unwrap();
    assert_eq!(value(&mut e, s, sk, AttrType::VALUE), AttrLookup::Sensitive);
    assert_eq!(domain(&mut e, s, sk), [p.clone(), q.clone(), g.clone()]);
    assert_eq!(
        bytes_of(&mut e, s, sk, AttrType::PUBLIC_KEY_INFO),
        bytes_of(&mut e, s, pk, AttrType::PUBLIC_KEY_INFO)
    );
    for m in [
        M::DSA_SHA1,
        M::DSA_SHA224,
        M::DSA_SHA256,
        M::DSA_SHA384,
        M::DSA_SHA512,
        M::DSA_SHA3_256,
        M::DSA_SHA3_512,
    ] {
        let m = Mechanism::new(m);
        e.sign_init(s, &m, sk).unwrap();
        assert_eq!(e.sign(s, b"msg", OutBuf::Query).unwrap(), Output::Length(40));
        assert_eq!(e.sign(s, b"msg", OutBuf::Capacity(39)).unwrap(), Output::Length(40));
        e.sign_update(s, b"m").unwrap();
        e.sign_update(s, b"sg").unwrap();
        let sig = data(e.sign_final(s, OutBuf::Capacity(40)).unwrap());
        verify(&mut e, s, &m, pk, b"msg", &sig).unwrap();
        assert_eq!(verify(&mut e, s, &m, pk, b"msh", &sig), Err(Error::SignatureInvalid), "{m:?}");
        assert_eq!(verify(&mut e, s, &m, pk, b"msg", &sig[..39]), Err(Error::SignatureLenRange));
        let mut bad = sig.clone();
        bad[30] ^= 4;
        assert_eq!(verify(&mut e, s, &m, pk, b"msg", &bad), Err(Error::SignatureInvalid));
    }
    let raw = Mechanism::new(M::DSA);
    let hash = digest(DigestAlg::Sha256, b"msg");
    let sig = sign(&mut e, s, &raw, sk, &hash);
    verify(&mut e, s, &raw, pk, &hash, &sig).unwrap();
    e.sign_init(s, &raw, sk).unwrap();
    assert_eq!(e.sign_update(s, &hash), Err(Error::FunctionNotSupported));
    // Keys of the other families are refused, and DSA keys by them.
    let (rsa_pk, rsa_sk) = keypair(&mut e, s, 1024);
    assert_eq!(e.sign_init(s, &raw, rsa_sk), Err(Error::KeyTypeInconsistent));
    assert_eq!(e.verify_init(s, &raw, rsa_pk), Err(Error::KeyTypeInconsistent));
    assert_eq!(e.sign_init(s, &Mechanism::new(M::SHA256_RSA_PKCS), sk), Err(Error::KeyTypeInconsistent));
    assert_eq!(
        e.sign_init(s, &with(M::DSA, MechParam::Bytes(vec![1])), sk),
        Err(Error::MechanismParamInvalid)
    );
    // Bad templates.
    let pgen = Mechanism::new(M::DSA_PARAMETER_GEN);
    assert_eq!(e.generate_key(s, &pgen, &[]), Err(Error::TemplateIncomplete));
    assert_eq!(
        e.generate_key(s, &pgen, &[Attribute::ulong(AttrType::PRIME_BITS, 1536)]),
        Err(Error::KeySizeRange)
    );
    assert_eq!(
        e.generate_key(s, &pgen, &[bits.clone(), Attribute::ulong(AttrType::KEY_TYPE, KeyType::DH.0)]),
        Err(Error::TemplateInconsistent)
    );
    let kp = Mechanism::new(M::DSA_KEY_PAIR_GEN);
    assert_eq!(e.generate_key_pair(s, &kp, &pub_t[..2], &[]), Err(Error::TemplateIncomplete));
    let bad_g = [pub_t[0].clone(), pub_t[1].clone(), Attribute::bytes(AttrType::BASE, &[1])];
    assert_eq!(e.generate_key_pair(s, &kp, &bad_g, &[]), Err(Error::DomainParamsInvalid));
    let mut wrong_type = pub_t.to_vec();
    wrong_type.push(Attribute::ulong(AttrType::KEY_TYPE, KeyType::RSA.0));
    assert_eq!(e.generate_key_pair(s, &kp, &wrong_type, &[]), Err(Error::TemplateInconsistent));
}

#[test]
fn dsa_imported_keys_match_rfc6979() {
    use dsa_vectors::*;
    let (mut e, s) = ready();
    let (p, q, g) = (h(K1024_P), h(K1024_Q), h(K1024_G));
    let sk = e.create_object(s, &dsa_template(ObjectClass::PRIVATE_KEY, &p, &q, &g, &h(K1024_X))).unwrap();
    let pk = e.create_object(s, &dsa_template(ObjectClass::PUBLIC_KEY, &p, &q, &g, &h(K1024_Y))).unwrap();
    assert_eq!(
        bytes_of(&mut e, s, sk, AttrType::PUBLIC_KEY_INFO),
        bytes_of(&mut e, s, pk, AttrType::PUBLIC_KEY_INFO)
    );
    let (_, _, msg, expected) = CASES[0];
    let sig = sign(&mut e, s, &Mechanism::new(M::DSA_SHA1), sk, msg.as_bytes());
    assert_eq!(sig, h(expected));
    verify(&mut e, s, &Mechanism::new(M::DSA_SHA1), pk, msg.as_bytes(), &sig).unwrap();
    // Bad key material.
    let cases = [
        (dsa_template(ObjectClass::PRIVATE_KEY, &p, &q, &g, &q), Error::AttributeValueInvalid),
        (dsa_template(ObjectClass::PUBLIC_KEY, &p, &q, &g, &[1]), Error::AttributeValueInvalid),
        (dsa_template(ObjectClass::PUBLIC_KEY, &p, &q, &[1], &h(K1024_Y)), Error::AttributeValueInvalid),
        (dsa_template(ObjectClass::PUBLIC_KEY, &p[..64], &q, &g, &h(K1024_Y)), Error::AttributeValueInvalid),
    ];
    for (i, (t, want)) in cases.into_iter().enumerate() {
        assert_eq!(e.create_object(s, &t), Err(want), "case {i}");
    }
    // Domain parameters made by the application are not local.
    let mut t = dsa_template(ObjectClass::DOMAIN_PARAMETERS, &p, &q, &g, &[]);
    t.pop();
    let dp = e.create_object(s, &t).unwrap();
    assert_eq!(value(&mut e, s, dp, AttrType::LOCAL), AttrLookup::Value(AttrValue::Bool(false)));
    assert_eq!(value(&mut e, s, dp, AttrType::PRIME_BITS), AttrLookup::Value(AttrValue::Ulong(1024)));
    t.push(Attribute::ulong(AttrType::PRIME_BITS, 2048));
    assert_eq!(e.create_object(s, &t), Err(Error::TemplateInconsistent));
    t.pop();
    t.push(Attribute::bool(AttrType::LOCAL, true));
    assert_eq!(e.create_object(s, &t), Err(Error::AttributeReadOnly));
    t.pop();
    t[4] = Attribute::bytes(AttrType::BASE, &[1]);
    assert_eq!(e.create_object(s, &t), Err(Error::DomainParamsInvalid));
    // The PKCS #8 form round-trips through the key kind.
    let kind = mechanism::key_kind(KeyType::DSA).unwrap();
    let obj = policy::new_object(
        &dsa_template(ObjectClass::PRIVATE_KEY, &p, &q, &g, &h(K1024_X)),
        &[],
        policy::Origin::Create,
        b"i",
    )
    .unwrap();
    let der = kind.export_pkcs8(&obj).unwrap();
    let attrs = kind.import_pkcs8(der.expose()).unwrap();
    assert_eq!(
        attrs.iter().find(|a| a.ty == AttrType::VALUE).unwrap().value.as_bytes().unwrap(),
        &h(K1024_X)[..]
    );
}

// ---- DH ----

fn dh_pair(e: &mut Engine, s: u64, p: &[u8], value_bits: Option<u64>) -> (u64, u64) {
    let pub_t = [Attribute::bytes(AttrType::PRIME, p), Attribute::bytes(AttrType::BASE, &[2])];
    let mut priv_t = vec![Attribute::bool(AttrType::DERIVE, true)];
    if let Some(b) = value_bits {
        priv_t.push(Attribute::ulong(AttrType::VALUE_BITS, b));
    }
    e.generate_key_pair(s, &Mechanism::new(M::DH_PKCS_KEY_PAIR_GEN), &pub_t, &priv_t).unwrap()
}

fn derive_template(len: u64) -> Vec<Attribute> {
    vec![
        Attribute::ulong(AttrType::CLASS, ObjectClass::SECRET_KEY.0),
        Attribute::ulong(AttrType::KEY_TYPE, KeyType::GENERIC_SECRET.0),
        Attribute::ulong(AttrType::VALUE_LEN, len),
        Attribute::bool(AttrType::SENSITIVE, false),
        Attribute::bool(AttrType::EXTRACTABLE, true),
    ]
}

#[test]
fn dh_agreement() {
    use dh_vectors::*;
    let (mut e, s) = ready();
    let p = h(FFDHE2048);
    let (apk, ask) = dh_pair(&mut e, s, &p, None);
    let (bpk, bsk) = dh_pair(&mut e, s, &p, Some(256));
    assert_eq!(value(&mut e, s, bsk, AttrType::VALUE_BITS), AttrLookup::Value(AttrValue::Ulong(256)));
    assert_eq!(value(&mut e, s, ask, AttrType::VALUE), AttrLookup::Sensitive);
    let ya = bytes_of(&mut e, s, apk, AttrType::VALUE);
    let yb = bytes_of(&mut e, s, bpk, AttrType::VALUE);
    let derive = |y: &[u8]| with(M::DH_PKCS_DERIVE, MechParam::Bytes(y.to_vec()));
    let (ka, _) = e.derive_key(s, &derive(&yb), ask, &derive_template(256)).unwrap();
    let (kb, _) = e.derive_key(s, &derive(&ya), bsk, &derive_template(256)).unwrap();
    assert_eq!(bytes_of(&mut e, s, ka, AttrType::VALUE), bytes_of(&mut e, s, kb, AttrType::VALUE));
    // An AES key from the first 32 bytes.
    let aes = [
        Attribute::ulong(AttrType::CLASS, ObjectClass::SECRET_KEY.0),
        Attribute::ulong(AttrType::KEY_TYPE, KeyType::AES.0),
        Attribute::ulong(AttrType::VALUE_LEN, 32),
    ];
    e.derive_key(s, &derive(&yb), ask, &aes).unwrap();
    // The known answer with imported keys.
    let dh_key = |class: ObjectClass, v: &[u8]| {
        vec![
            Attribute::ulong(AttrType::CLASS, class.0),
            Attribute::ulong(AttrType::KEY_TYPE, KeyType::DH.0),
            Attribute::bytes(AttrType::PRIME, &p),
            Attribute::bytes(AttrType::BASE, &[2]),
            Attribute::bytes(AttrType::VALUE, v),
            Attribute::bool(AttrType::DERIVE, true),
        ]
    };
    let xa = e.create_object(s, &dh_key(ObjectClass::PRIVATE_KEY, &h(XA))).unwrap();
    let (z, _) = e.derive_key(s, &derive(&h(YB)), xa, &derive_template(256)).unwrap();
    assert_eq!(bytes_of(&mut e, s, z, AttrType::VALUE), h(Z));
    let mut pub_only = dh_key(ObjectClass::PUBLIC_KEY, &h(YA));
    pub_only.pop();
    let ya_obj = e.create_object(s, &pub_only).unwrap();
    assert!(bytes_of(&mut e, s, ya_obj, AttrType::PUBLIC_KEY_INFO).len() > 256);
    // Bad public values, parameters and keys.
    let mut p_minus_1 = p.clone();
    p_minus_1[255] -= 1;
    for y in [vec![1], p_minus_1, p.clone(), vec![]] {
        assert_eq!(
            e.derive_key(s, &derive(&y), ask, &derive_template(32)),
            Err(Error::MechanismParamInvalid)
        );
    }
    assert_eq!(
        e.derive_key(s, &Mechanism::new(M::DH_PKCS_DERIVE), ask, &derive_template(32)),
        Err(Error::MechanismParamInvalid)
    );
    assert_eq!(e.derive_key(s, &derive(&yb), ask, &derive_template(257)), Err(Error::KeySizeRange));
    let (_, no_derive) = e
        .generate_key_pair(
            s,
            &Mechanism::new(M::DH_PKCS_KEY_PAIR_GEN),
            &[Attribute::bytes(AttrType::PRIME, &p), Attribute::bytes(AttrType::BASE, &[2])],
            &[],
        )
        .unwrap();
    assert_eq!(
        e.derive_key(s, &derive(&yb), no_derive, &derive_template(32)),
        Err(Error::KeyFunctionNotPermitted)
    );
    assert_eq!(e.create_object(s, &dh_key(ObjectClass::PUBLIC_KEY, &[1])), Err(Error::AttributeValueInvalid));
    let kp = Mechanism::new(M::DH_PKCS_KEY_PAIR_GEN);
    assert_eq!(
        e.generate_key_pair(s, &kp, &[Attribute::bytes(AttrType::PRIME, &p)], &[]),
        Err(Error::TemplateIncomplete)
    );
    assert_eq!(
        e.generate_key_pair(
            s,
            &kp,
            &[Attribute::bytes(AttrType::PRIME, &p[..64]), Attribute::bytes(AttrType::BASE, &[2])],
            &[]
        ),
        Err(Error::KeySizeRange)
    );
    assert_eq!(
        e.generate_key_pair(
            s,
            &kp,
            &[Attribute::bytes(AttrType::PRIME, &p), Attribute::bytes(AttrType::BASE, &[2])],
            &[Attribute::ulong(AttrType::VALUE_BITS, 4096)]
        ),
        Err(Error::TemplateInconsistent)
    );
}

#[test]
fn dh_parameter_generation() {
    let (mut e, s) = ready();
    let pgen = Mechanism::new(M::DH_PKCS_PARAMETER_GEN);
    let dp = e.generate_key(s, &pgen, &[Attribute::ulong(AttrType::PRIME_BITS, 1024)]).unwrap();
    assert_eq!(value(&mut e, s, dp, AttrType::PRIME_BITS), AttrLookup::Value(AttrValue::Ulong(1024)));
    assert_eq!(bytes_of(&mut e, s, dp, AttrType::BASE), vec![2]);
    assert_eq!(value(&mut e, s, dp, AttrType::KEY_TYPE), AttrLookup::Value(AttrValue::Ulong(KeyType::DH.0)));
    let p = bytes_of(&mut e, s, dp, AttrType::PRIME);
    let (apk, ask) = dh_pair(&mut e, s, &p, None);
    let (bpk, bsk) = dh_pair(&mut e, s, &p, None);
    let ya = bytes_of(&mut e, s, apk, AttrType::VALUE);
    let yb = bytes_of(&mut e, s, bpk, AttrType::VALUE);
    let (ka, _) =
        e.derive_key(s, &with(M::DH_PKCS_DERIVE, MechParam::Bytes(yb)), ask, &derive_template(128)).unwrap();
    let (kb, _) =
        e.derive_key(s, &with(M::DH_PKCS_DERIVE, MechParam::Bytes(ya)), bsk, &derive_template(128)).unwrap();
    assert_eq!(bytes_of(&mut e, s, ka, AttrType::VALUE), bytes_of(&mut e, s, kb, AttrType::VALUE));
    assert_eq!(e.generate_key(s, &pgen, &[]), Err(Error::TemplateIncomplete));
    assert_eq!(
        e.generate_key(s, &pgen, &[Attribute::ulong(AttrType::PRIME_BITS, 512)]),
        Err(Error::KeySizeRange)
    );
    assert_eq!(
        e.generate_key(
            s,
            &pgen,
            &[
                Attribute::ulong(AttrType::PRIME_BITS, 1024),
                Attribute::ulong(AttrType::CLASS, ObjectClass::SECRET_KEY.0)
            ]
        ),
        Err(Error::TemplateInconsistent)
    );
}
