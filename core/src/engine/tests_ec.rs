//! EC (P-256, P-384, P-521, secp256k1), ECDH, Ed25519/Ed448, X25519/X448 and ML-DSA through the
//! engine: key-pair generation and import, every mechanism, wrapping as PKCS#8, and the exact
//! `CKR_*` of each bad input.
#![allow(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]

use alloc::boxed::Box;
use alloc::vec;
use alloc::vec::Vec;

use super::*;
use crate::attribute::{AttrValue, Attribute};
use crate::consts::ckd::{CKD_NULL, CKD_SHA256_KDF, CKD_SHA256_KDF_SP800, CKD_SHA512_KDF};
use crate::consts::flags::{CKF_DERIVE, CKF_EC_COMPRESS, CKF_GENERATE_KEY_PAIR, CKF_SIGN};
use crate::consts::{AttrType, KeyType, MechanismType as M, ObjectClass};
use crate::info::{AttrLookup, MechParam, Mechanism, OutBuf, Output};
use crate::mechanism::digest::{DigestAlg, digest};
use crate::mechanism::{ec, edwards};
use crate::rng::{DeterministicRng, NoClock};
use crate::store::MemoryStore;
use mechanism::mldsa::{ckh, ckp};

const SO: &[u8] = b"12345678";
const USER: &[u8] = b"1234";
const RW: u64 = CKF_SERIAL_SESSION | CKF_RW_SESSION;

const P256: &str = "06082a8648ce3d030107";
const P384: &str = "06052b81040022";
const P521: &str = "06052b81040023";
const K256: &str = "06052b8104000a";
const ED25519: &str = "06032b6570";
const ED448: &str = "06032b6571";
const X25519: &str = "06032b656e";
const X448: &str = "06032b656f";

fn h(s: &str) -> Vec<u8> {
    hex::decode(s).unwrap()
}

fn ready() -> (Engine, u64) {
    let config = EngineConfig { fast_pin_kdf: true, ..EngineConfig::default() };
    let mut e = Engine::new(
        Box::new(MemoryStore::new()),
        Box::new(DeterministicRng::from_seed([6; 32])),
        Box::new(NoClock),
        config,
    )
    .unwrap();
    e.init_token(0, SO, &pad("ec")).unwrap();
    let s = e.open_session(0, RW).unwrap();
    e.login(s, UserType::SO, SO).unwrap();
    e.init_pin(s, USER).unwrap();
    e.logout(s).unwrap();
    e.login(s, UserType::USER, USER).unwrap();
    (e, s)
}

fn data(out: Output) -> Vec<u8> {
    match out {
        Output::Data(d) => d,
        Output::Length(n) => panic!("expected data, got a length {n}"),
    }
}

fn bytes(e: &mut Engine, s: u64, h: u64, ty: AttrType) -> Vec<u8> {
    match e.attribute_values(s, h, &[ty]).unwrap().remove(0) {
        AttrLookup::Value(AttrValue::Bytes(b)) => b,
        AttrLookup::Value(AttrValue::Secret(b)) => b.expose().to_vec(),
        other => panic!("{ty:?}: {other:?}"),
    }
}

fn pair(e: &mut Engine, s: u64, mech: M, public: &[Attribute], private: &[Attribute]) -> (u64, u64) {
    e.generate_key_pair(s, &Mechanism::new(mech), public, private).unwrap()
}

fn ec_pair(e: &mut Engine, s: u64, mech: M, params: &str) -> (u64, u64) {
    let derive = [Attribute::bool(AttrType::DERIVE, true)];
    pair(e, s, mech, &[Attribute::bytes(AttrType::EC_PARAMS, &h(params))], &derive)
}

fn sign(e: &mut Engine, s: u64, m: &Mechanism, key: u64, msg: &[u8]) -> Vec<u8> {
    e.sign_init(s, m, key).unwrap();
    data(e.sign(s, msg, OutBuf::Capacity(8192)).unwrap())
}

fn verify(e: &mut Engine, s: u64, m: &Mechanism, key: u64, msg: &[u8], sig: &[u8]) -> Result<()> {
    e.verify_init(s, m, key)?;
    e.verify(s, msg, sig)
}

fn secret_template(len: u64) -> Vec<Attribute> {
    vec![
        Attribute::ulong(AttrType::CLASS, ObjectClass::SECRET_KEY.0),
        Attribute::ulong(AttrType::KEY_TYPE, KeyType::GENERIC_SECRET.0),
        Attribute::ulong(AttrType::VALUE_LEN, len),
        Attribute::bool(AttrType::SENSITIVE, false),
        Attribute::bool(AttrType::EXTRACTABLE, true),
    ]
}

fn ecdh(kdf: u64, shared: &[u8], public: &[u8]) -> Mechanism {
    Mechanism {
        ty: M::ECDH1_DERIVE,
        param: MechParam::Ecdh1 { kdf, shared_data: shared.to_vec(), public_data: public.to_vec() },
    }
}

#[test]
fn table_rows_are_truthful() {
    for (ty, min, max) in [
        (M::EC_KEY_PAIR_GEN, 256, 521),
        (M::ECDSA_SHA3_512, 256, 521),
        (M::ECDH1_DERIVE, 255, 521),
        (M::EC_EDWARDS_KEY_PAIR_GEN, 255, 448),
        (M::EDDSA, 255, 448),
        (M::ML_DSA_KEY_PAIR_GEN, 128, 256),
        (M::HASH_ML_DSA_SHAKE256, 128, 256),
    ] {
        let e = mechanism::lookup(ty).unwrap();
        assert_eq!((e.info.min_key_size, e.info.max_key_size), (min, max), "{ty:?}");
    }
    let flags = |ty| mechanism::lookup(ty).unwrap().info.flags;
    assert_ne!(flags(M::ECDH1_DERIVE) & CKF_DERIVE, 0);
    assert_ne!(flags(M::ECDH1_DERIVE) & CKF_EC_COMPRESS, 0);
    assert_ne!(flags(M::EC_MONTGOMERY_KEY_PAIR_GEN) & CKF_GENERATE_KEY_PAIR, 0);
    assert_ne!(flags(M::HASH_ML_DSA) & CKF_SIGN, 0);
}

#[test]
fn ecdsa_on_every_curve() {
    let (mut e, s) = ready();
    for (params, curve) in [
        (P256, ec::Curve::P256),
        (P384, ec::Curve::P384),
        (P521, ec::Curve::P521),
        (K256, ec::Curve::Secp256k1),
    ] {
        let (pk, sk) = ec_pair(&mut e, s, M::EC_KEY_PAIR_GEN, params);
        let point = bytes(&mut e, s, pk, AttrType::EC_POINT);
        assert_eq!(point[0], 0x04, "EC_POINT is a DER OCTET STRING");
        assert_eq!(point.len(), 2 + 1 + 2 * curve.field_bytes() + usize::from(curve == ec::Curve::P521));
        assert_eq!(bytes(&mut e, s, sk, AttrType::EC_POINT), point, "readable on the private key");
        let spki = bytes(&mut e, s, pk, AttrType::PUBLIC_KEY_INFO);
        assert_eq!(bytes(&mut e, s, sk, AttrType::PUBLIC_KEY_INFO), spki);
        assert_eq!(e.attribute_values(s, sk, &[AttrType::VALUE]).unwrap()[0], AttrLookup::Sensitive);
        let siglen = ec::signature_len(curve);
        for mech in [M::ECDSA_SHA1, M::ECDSA_SHA256, M::ECDSA_SHA384, M::ECDSA_SHA3_224, M::ECDSA_SHA3_512] {
            let m = Mechanism::new(mech);
            // Multi-part and one-call give signatures that verify either way.
            e.sign_init(s, &m, sk).unwrap();
            e.sign_update(s, b"multi ").unwrap();
            e.sign_update(s, b"part").unwrap();
            let sig = data(e.sign_final(s, OutBuf::Capacity(siglen)).unwrap());
            assert_eq!(sig.len(), siglen);
            verify(&mut e, s, &m, pk, b"multi part", &sig).unwrap();
            assert_eq!(verify(&mut e, s, &m, pk, b"multi parT", &sig), Err(Error::SignatureInvalid));
        }
        let m = Mechanism::new(M::ECDSA);
        let hash = digest(DigestAlg::Sha384, b"prehashed");
        let sig = sign(&mut e, s, &m, sk, &hash);
        verify(&mut e, s, &m, pk, &hash, &sig).unwrap();
        let mut bad = sig.clone();
        bad[siglen - 1] ^= 1;
        assert_eq!(verify(&mut e, s, &m, pk, &hash, &bad), Err(Error::SignatureInvalid));
        assert_eq!(verify(&mut e, s, &m, pk, &hash, &sig[..siglen - 1]), Err(Error::SignatureLenRange));
        // A short buffer: the length, CKR_BUFFER_TOO_SMALL at the edge, and the operation kept.
        e.sign_init(s, &m, sk).unwrap();
        assert_eq!(e.sign(s, &hash, OutBuf::Capacity(siglen - 1)).unwrap(), Output::Length(siglen));
        assert_eq!(e.sign(s, &hash, OutBuf::Query).unwrap(), Output::Length(siglen));
        assert_eq!(data(e.sign(s, &hash, OutBuf::Capacity(siglen)).unwrap()), sig, "deterministic");
        assert_eq!(e.sign(s, &hash, OutBuf::Capacity(siglen)), Err(Error::OperationNotInitialized));
    }
}

#[test]
fn ec_key_pair_templates() {
    let (mut e, s) = ready();
    let keygen = Mechanism::new(M::EC_KEY_PAIR_GEN);
    let p = |v: &str| Attribute::bytes(AttrType::EC_PARAMS, &h(v));
    // Printable names work; the stored params are what the caller gave.
    let name = [Attribute::bytes(AttrType::EC_PARAMS, b"\x13\x09secp384r1")];
    let (pk, _) = e.generate_key_pair(s, &keygen, &name, &[]).unwrap();
    assert_eq!(bytes(&mut e, s, pk, AttrType::EC_POINT).len(), 2 + 97);
    // The private template may carry the curve; both may, if they agree.
    e.generate_key_pair(s, &keygen, &[], &[p(P521)]).unwrap();
    e.generate_key_pair(s, &keygen, &[p(P256)], &[p(P256)]).unwrap();
    assert_eq!(e.generate_key_pair(s, &keygen, &[p(P256)], &[p(P384)]), Err(Error::TemplateInconsistent));
    let wrong_type = [p(P256), Attribute::ulong(AttrType::KEY_TYPE, KeyType::RSA.0)];
    assert_eq!(e.generate_key_pair(s, &keygen, &wrong_type, &[]), Err(Error::TemplateInconsistent));
    let wrong_class = [Attribute::ulong(AttrType::CLASS, ObjectClass::PRIVATE_KEY.0)];
    assert_eq!(
        e.generate_key_pair(s, &keygen, &[p(P256), wrong_class[0].clone()], &[]),
        Err(Error::TemplateInconsistent)
    );
    assert_eq!(e.generate_key_pair(s, &keygen, &[p(ED25519)], &[]), Err(Error::CurveNotSupported));
    assert_eq!(e.generate_key_pair(s, &keygen, &[p("06052b81040021")], &[]), Err(Error::CurveNotSupported));
    assert_eq!(e.generate_key_pair(s, &keygen, &[p("0605")], &[]), Err(Error::DomainParamsInvalid));
    assert_eq!(e.generate_key_pair(s, &keygen, &[], &[]), Err(Error::TemplateIncomplete));
    let given_point = [p(P256), Attribute::bytes(AttrType::EC_POINT, &[4; 65])];
    assert_eq!(e.generate_key_pair(s, &keygen, &given_point, &[]), Err(Error::TemplateInconsistent));
    let param = Mechanism { ty: M::EC_KEY_PAIR_GEN, param: MechParam::Bytes(vec![1]) };
    assert_eq!(e.generate_key_pair(s, &param, &[p(P256)], &[]), Err(Error::MechanismParamInvalid));
}

/// RFC 6979 A.2.6's P-384 key, imported (public point raw and DER, private scalar), signs
/// exactly RFC 6979's SHA-384 signature over "sample".
#[test]
fn ec_import_and_rfc6979() {
    let (mut e, s) = ready();
    let x =
        h("6b9d3dad2e1b8c1c05b19875b6659f4de23c3b667bf297ba9aa47740787137d896d5724e4c70a825f872c9ea60d2edf5");
    let mut point = vec![4];
    point.extend(h(
        "ec3a4e415b4e19a4568618029f427fa5da9a8bc4ae92e02e06aae5286b300c64def8f0ea9055866064a254515480bc13",
    ));
    point.extend(h(
        "8015d9b72d7d57244ea8ef9ac0c621896708a59367f9dfb9f54ca84b3f1c9db1288b231c3ae0d4fe7344fd2533264720",
    ));
    let expected = h(
        "94edbb92a5ecb8aad4736e56c691916b3f88140666ce9fa73d64c4ea95ad133c81a648152e44acf96e36dd1e80fabe4699ef4aeb15f178cea1fe40db2603138f130e740a19624526203b6351d0a3a94fa329c145786e679e7b82c71a38628ac8",
    );
    let public = |pt: &[u8]| {
        vec![
            Attribute::ulong(AttrType::CLASS, ObjectClass::PUBLIC_KEY.0),
            Attribute::ulong(AttrType::KEY_TYPE, KeyType::EC.0),
            Attribute::bytes(AttrType::EC_PARAMS, &h(P384)),
            Attribute::bytes(AttrType::EC_POINT, pt),
        ]
    };
    let raw = e.create_object(s, &public(&point)).unwrap();
    let der = e.create_object(s, &public(&ec::encode_ec_point(&point))).unwrap();
    assert_eq!(bytes(&mut e, s, raw, AttrType::EC_POINT), ec::encode_ec_point(&point), "stored DER");
    let private = vec![
        Attribute::ulong(AttrType::CLASS, ObjectClass::PRIVATE_KEY.0),
        Attribute::ulong(AttrType::KEY_TYPE, KeyType::EC.0),
        Attribute::bytes(AttrType::EC_PARAMS, &h(P384)),
        Attribute::bytes(AttrType::VALUE, &x),
    ];
    let sk = e.create_object(s, &private).unwrap();
    assert_eq!(bytes(&mut e, s, sk, AttrType::EC_POINT), ec::encode_ec_point(&point));
    assert_eq!(e.attribute_values(s, sk, &[AttrType::VALUE]).unwrap()[0], AttrLookup::Sensitive);
    let m = Mechanism::new(M::ECDSA_SHA384);
    let sig = sign(&mut e, s, &m, sk, b"sample");
    assert_eq!(sig, expected);
    verify(&mut e, s, &m, raw, b"sample", &sig).unwrap();
    verify(&mut e, s, &m, der, b"sample", &sig).unwrap();
    // Points off the curve, of another curve, or of the wrong length are refused.
    let mut off = point.clone();
    off[96] ^= 1;
    assert_eq!(e.create_object(s, &public(&off)), Err(Error::AttributeValueInvalid));
    assert_eq!(e.create_object(s, &public(&point[..96])), Err(Error::AttributeValueInvalid));
    let mut p256_point = public(&point);
    p256_point[2] = Attribute::bytes(AttrType::EC_PARAMS, &h(P256));
    assert_eq!(e.create_object(s, &p256_point), Err(Error::AttributeValueInvalid));
    let mut zero = private.clone();
    zero[3] = Attribute::bytes(AttrType::VALUE, &[0; 48]);
    assert_eq!(e.create_object(s, &zero), Err(Error::AttributeValueInvalid));
    let mut no_value = private.clone();
    no_value.pop();
    assert_eq!(e.create_object(s, &no_value), Err(Error::TemplateIncomplete));
}

#[test]
fn wrong_key_types_and_parameters() {
    let (mut e, s) = ready();
    let (ec_pk, ec_sk) = ec_pair(&mut e, s, M::EC_KEY_PAIR_GEN, P256);
    let (ed_pk, ed_sk) = ec_pair(&mut e, s, M::EC_EDWARDS_KEY_PAIR_GEN, ED25519);
    let (_, x_sk) = ec_pair(&mut e, s, M::EC_MONTGOMERY_KEY_PAIR_GEN, X25519);
    let ml = [Attribute::ulong(AttrType::PARAMETER_SET, ckp::CKP_ML_DSA_44)];
    let (ml_pk, ml_sk) = pair(&mut e, s, M::ML_DSA_KEY_PAIR_GEN, &ml, &[]);
    let ecdsa = Mechanism::new(M::ECDSA_SHA256);
    let eddsa = Mechanism::new(M::EDDSA);
    let mldsa = Mechanism::new(M::ML_DSA);
    for (m, key) in
        [(&ecdsa, ed_sk), (&ecdsa, ml_sk), (&eddsa, ec_sk), (&eddsa, ml_sk), (&mldsa, ec_sk), (&mldsa, ed_sk)]
    {
        assert_eq!(e.sign_init(s, m, key), Err(Error::KeyTypeInconsistent), "{m:?}");
    }
    for (m, key) in [(&ecdsa, ed_pk), (&eddsa, ec_pk), (&mldsa, ed_pk), (&eddsa, ml_pk)] {
        assert_eq!(e.verify_init(s, m, key), Err(Error::KeyTypeInconsistent), "{m:?}");
    }
    // EdDSA cannot agree keys, X25519 cannot sign (no CKA_SIGN; with it, still the wrong type).
    let ed_derive = ecdh(CKD_NULL, &[], &[9; 32]);
    assert_eq!(e.derive_key(s, &ed_derive, ed_sk, &secret_template(32)), Err(Error::KeyTypeInconsistent));
    assert_eq!(e.sign_init(s, &eddsa, x_sk), Err(Error::KeyTypeInconsistent));
    // Parameters of the wrong shape or out of range.
    let with = |ty, param| Mechanism { ty, param };
    assert_eq!(
        e.sign_init(s, &with(M::ECDSA, MechParam::Bytes(vec![1])), ec_sk),
        Err(Error::MechanismParamInvalid)
    );
    let long_ctx = MechParam::Eddsa { prehash: false, context: vec![0; 256] };
    assert_eq!(e.sign_init(s, &with(M::EDDSA, long_ctx), ed_sk), Err(Error::MechanismParamInvalid));
    assert_eq!(
        e.sign_init(s, &with(M::EDDSA, MechParam::Ulong(1)), ed_sk),
        Err(Error::MechanismParamInvalid)
    );
    let bad_hedge = MechParam::SignContext { hedge: 7, context: vec![] };
    assert_eq!(e.sign_init(s, &with(M::ML_DSA, bad_hedge), ml_sk), Err(Error::MechanismParamInvalid));
    let long = MechParam::SignContext { hedge: 0, context: vec![1; 256] };
    assert_eq!(e.sign_init(s, &with(M::ML_DSA, long), ml_sk), Err(Error::MechanismParamInvalid));
    assert_eq!(e.sign_init(s, &Mechanism::new(M::HASH_ML_DSA), ml_sk), Err(Error::MechanismParamInvalid));
    let sha1 = MechParam::HashSignContext { hedge: 0, context: vec![], hash: M::SHA_1 };
    assert_eq!(e.sign_init(s, &with(M::HASH_ML_DSA, sha1), ml_sk), Err(Error::MechanismParamInvalid));
    let not_hash = MechParam::HashSignContext { hedge: 0, context: vec![], hash: M::AES_ECB };
    assert_eq!(e.sign_init(s, &with(M::HASH_ML_DSA, not_hash), ml_sk), Err(Error::MechanismParamInvalid));
    let gen_param = Mechanism { ty: M::ML_DSA_KEY_PAIR_GEN, param: MechParam::Ulong(1) };
    assert_eq!(e.generate_key_pair(s, &gen_param, &ml, &[]), Err(Error::MechanismParamInvalid));
}

/// RFC 8032 keys imported raw and DER; the engine's CKM_EDDSA reproduces the published
/// signatures for Ed25519, Ed25519ctx, Ed25519ph, Ed448 and Ed448ph.
#[test]
fn eddsa_rfc8032_through_the_engine() {
    let (mut e, s) = ready();
    let import = |e: &mut Engine, params: &str, sk: &str, pk: &[u8]| -> (u64, u64) {
        let common = |class: ObjectClass| {
            vec![
                Attribute::ulong(AttrType::CLASS, class.0),
                Attribute::ulong(AttrType::KEY_TYPE, KeyType::EC_EDWARDS.0),
                Attribute::bytes(AttrType::EC_PARAMS, &h(params)),
            ]
        };
        let mut public = common(ObjectClass::PUBLIC_KEY);
        public.push(Attribute::bytes(AttrType::EC_POINT, pk));
        let mut private = common(ObjectClass::PRIVATE_KEY);
        private.push(Attribute::bytes(AttrType::VALUE, &h(sk)));
        (e.create_object(s, &public).unwrap(), e.create_object(s, &private).unwrap())
    };
    let eddsa = |prehash: bool, ctx: &[u8]| Mechanism {
        ty: M::EDDSA,
        param: MechParam::Eddsa { prehash, context: ctx.to_vec() },
    };
    // TEST 2 of §7.1 (pure Ed25519, one-byte message), public key as raw bytes.
    let (pk, sk) = import(
        &mut e,
        ED25519,
        "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
        &h("3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c"),
    );
    let sig = h(
        "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
    );
    assert_eq!(sign(&mut e, s, &Mechanism::new(M::EDDSA), sk, &h("72")), sig);
    // A CK_EDDSA_PARAMS without flag and context is pure Ed25519 too.
    assert_eq!(sign(&mut e, s, &eddsa(false, &[]), sk, &h("72")), sig);
    verify(&mut e, s, &Mechanism::new(M::EDDSA), pk, &h("72"), &sig).unwrap();
    assert_eq!(
        verify(&mut e, s, &Mechanism::new(M::EDDSA), pk, &h("73"), &sig),
        Err(Error::SignatureInvalid)
    );
    assert_eq!(
        verify(&mut e, s, &Mechanism::new(M::EDDSA), pk, &h("72"), &sig[..63]),
        Err(Error::SignatureLenRange)
    );
    // The stored point is the DER form; the private key shows it.
    let der = edwards::encode_point(&h("3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c"));
    assert_eq!(bytes(&mut e, s, pk, AttrType::EC_POINT), der);
    assert_eq!(bytes(&mut e, s, sk, AttrType::EC_POINT), der);
    assert_eq!(e.attribute_values(s, sk, &[AttrType::VALUE]).unwrap()[0], AttrLookup::Sensitive);
    assert_eq!(bytes(&mut e, s, pk, AttrType::PUBLIC_KEY_INFO)[..12], h("302a300506032b6570032100")[..]);

    // §7.2 Ed25519ctx ("foo") and §7.3 Ed25519ph ("abc"), the public keys given in DER.
    let ctx_pk = h("dfc9425e4f968f7f0c29f0259cf5f9aed6851c2bb4ad8bfb860cfee0ab248292");
    let (pk, sk) = import(
        &mut e,
        ED25519,
        "0305334e381af78f141cb666f6199f57bc3495335a256a95bd2a55bf546663f6",
        &edwards::encode_point(&ctx_pk),
    );
    let msg = h("f726936d19c800494e3fdaff20b276a8");
    let sig = h(
        "55a4cc2f70a54e04288c5f4cd1e45a7bb520b36292911876cada7323198dd87a8b36950b95130022907a7fb7c4e9b2d5f6cca685a587b4b21f4b888e4e7edb0d",
    );
    assert_eq!(sign(&mut e, s, &eddsa(false, b"foo"), sk, &msg), sig);
    verify(&mut e, s, &eddsa(false, b"foo"), pk, &msg, &sig).unwrap();
    assert_eq!(verify(&mut e, s, &eddsa(false, b"bar"), pk, &msg, &sig), Err(Error::SignatureInvalid));
    let (pk, sk) = import(
        &mut e,
        ED25519,
        "833fe62409237b9d62ec77587520911e9a759cec1d19755b7da901b96dca3d42",
        &h("ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf"),
    );
    let sig = h(
        "98a70222f0b8121aa9d30f813d683f809e462b469c7ff87639499bb94e6dae4131f85042463c2a355a2003d062adf5aaa10b8c61e636062aaad11c2a26083406",
    );
    // Ed25519ph hashes as it goes: multi-part works.
    e.sign_init(s, &eddsa(true, &[]), sk).unwrap();
    e.sign_update(s, b"a").unwrap();
    e.sign_update(s, b"bc").unwrap();
    assert_eq!(data(e.sign_final(s, OutBuf::Capacity(64)).unwrap()), sig);
    verify(&mut e, s, &eddsa(true, &[]), pk, b"abc", &sig).unwrap();
    assert_eq!(verify(&mut e, s, &Mechanism::new(M::EDDSA), pk, b"abc", &sig), Err(Error::SignatureInvalid));

    // §7.4 Ed448 (one-octet message) and §7.5 Ed448ph ("abc").
    let (pk, sk) = import(
        &mut e,
        ED448,
        "c4eab05d357007c632f3dbb48489924d552b08fe0c353a0d4a1f00acda2c463afbea67c5e8d2877c5e3bc397a659949ef8021e954e0a12274e",
        &h(
            "43ba28f430cdff456ae531545f7ecd0ac834a55d9358c0372bfa0c6c6798c0866aea01eb00742802b8438ea4cb82169c235160627b4c3a9480",
        ),
    );
    let sig = h(
        "26b8f91727bd62897af15e41eb43c377efb9c610d48f2335cb0bd0087810f4352541b143c4b981b7e18f62de8ccdf633fc1bf037ab7cd779805e0dbcc0aae1cbcee1afb2e027df36bc04dcecbf154336c19f0af7e0a6472905e799f1953d2a0ff3348ab21aa4adafd1d234441cf807c03a00",
    );
    assert_eq!(sign(&mut e, s, &Mechanism::new(M::EDDSA), sk, &h("03")), sig);
    assert_eq!(sign(&mut e, s, &eddsa(false, &[]), sk, &h("03")), sig);
    verify(&mut e, s, &Mechanism::new(M::EDDSA), pk, &h("03"), &sig).unwrap();
    let (pk, sk) = import(
        &mut e,
        ED448,
        "833fe62409237b9d62ec77587520911e9a759cec1d19755b7da901b96dca3d42ef7822e0d5104127dc05d6dbefde69e3ab2cec7c867c6e2c49",
        &h(
            "259b71c19f83ef77a7abd26524cbdb3161b590a48f7d17de3ee0ba9c52beb743c09428a131d6b1b57303d90d8132c276d5ed3d5d01c0f53880",
        ),
    );
    let sig = h(
        "822f6901f7480f3d5f562c592994d9693602875614483256505600bbc281ae381f54d6bce2ea911574932f52a4e6cadd78769375ec3ffd1b801a0d9b3f4030cd433964b6457ea39476511214f97469b57dd32dbc560a9a94d00bff07620464a3ad203df7dc7ce360c3cd3696d9d9fab90f00",
    );
    assert_eq!(sign(&mut e, s, &eddsa(true, &[]), sk, b"abc"), sig);
    verify(&mut e, s, &eddsa(true, &[]), pk, b"abc", &sig).unwrap();
    // Too-small buffer: the length, operation kept.
    e.sign_init(s, &eddsa(true, &[]), sk).unwrap();
    assert_eq!(e.sign(s, b"abc", OutBuf::Capacity(113)).unwrap(), Output::Length(114));
    assert_eq!(data(e.sign(s, b"abc", OutBuf::Capacity(114)).unwrap()), sig);

    // Imports that must fail: wrong lengths, a Montgomery curve for an Edwards key.
    let bad = [
        Attribute::ulong(AttrType::CLASS, ObjectClass::PRIVATE_KEY.0),
        Attribute::ulong(AttrType::KEY_TYPE, KeyType::EC_EDWARDS.0),
        Attribute::bytes(AttrType::EC_PARAMS, &h(ED25519)),
        Attribute::bytes(AttrType::VALUE, &[1; 31]),
    ];
    assert_eq!(e.create_object(s, &bad), Err(Error::AttributeValueInvalid));
    let mut montgomery = bad.clone();
    montgomery[2] = Attribute::bytes(AttrType::EC_PARAMS, &h(X25519));
    montgomery[3] = Attribute::bytes(AttrType::VALUE, &[1; 32]);
    assert_eq!(e.create_object(s, &montgomery), Err(Error::CurveNotSupported));
}

#[test]
fn edwards_and_montgomery_generation() {
    let (mut e, s) = ready();
    let names = [
        (M::EC_EDWARDS_KEY_PAIR_GEN, ED25519, &b"\x13\x0cedwards25519"[..], 32),
        (M::EC_EDWARDS_KEY_PAIR_GEN, ED448, &b"\x13\x0aedwards448"[..], 57),
        (M::EC_MONTGOMERY_KEY_PAIR_GEN, X25519, &b"\x13\x0acurve25519"[..], 32),
        (M::EC_MONTGOMERY_KEY_PAIR_GEN, X448, &b"\x13\x08curve448"[..], 56),
    ];
    for (mech, oid, name, len) in names {
        for params in [h(oid), name.to_vec()] {
            let (pk, sk) = pair(&mut e, s, mech, &[Attribute::bytes(AttrType::EC_PARAMS, &params)], &[]);
            let point = bytes(&mut e, s, pk, AttrType::EC_POINT);
            assert_eq!(point[..2], [0x04, u8::try_from(len).unwrap()], "{mech:?}");
            assert_eq!(point.len(), len + 2);
            assert_eq!(bytes(&mut e, s, sk, AttrType::EC_POINT), point);
            assert_eq!(bytes(&mut e, s, pk, AttrType::EC_PARAMS), params);
            if mech == M::EC_EDWARDS_KEY_PAIR_GEN {
                for m in [
                    Mechanism::new(M::EDDSA),
                    Mechanism {
                        ty: M::EDDSA,
                        param: MechParam::Eddsa { prehash: true, context: b"c".to_vec() },
                    },
                ] {
                    let sig = sign(&mut e, s, &m, sk, b"generated");
                    verify(&mut e, s, &m, pk, b"generated", &sig).unwrap();
                }
            }
        }
    }
    let ed = Mechanism::new(M::EC_EDWARDS_KEY_PAIR_GEN);
    let mont = Mechanism::new(M::EC_MONTGOMERY_KEY_PAIR_GEN);
    let p = |v: &str| [Attribute::bytes(AttrType::EC_PARAMS, &h(v))];
    assert_eq!(e.generate_key_pair(s, &ed, &p(X25519), &[]), Err(Error::CurveNotSupported));
    assert_eq!(e.generate_key_pair(s, &mont, &p(ED448), &[]), Err(Error::CurveNotSupported));
    assert_eq!(e.generate_key_pair(s, &ed, &p(P256), &[]), Err(Error::CurveNotSupported));
    assert_eq!(e.generate_key_pair(s, &ed, &[], &[]), Err(Error::TemplateIncomplete));
    assert_eq!(e.generate_key_pair(s, &ed, &p(ED25519), &p(ED448)), Err(Error::TemplateInconsistent));
    let typed = [p(ED25519)[0].clone(), Attribute::ulong(AttrType::KEY_TYPE, KeyType::EC.0)];
    assert_eq!(e.generate_key_pair(s, &ed, &typed, &[]), Err(Error::TemplateInconsistent));
}

/// RFC 7748 §6.1 through the engine: both sides' CKM_ECDH1_DERIVE give the published secret,
/// with the peer's key raw or DER; then the KDFs and every bad parameter.
#[test]
fn x25519_x448_derive() {
    let (mut e, s) = ready();
    let import = |e: &mut Engine, params: &str, sk: &[u8]| {
        e.create_object(
            s,
            &[
                Attribute::ulong(AttrType::CLASS, ObjectClass::PRIVATE_KEY.0),
                Attribute::ulong(AttrType::KEY_TYPE, KeyType::EC_MONTGOMERY.0),
                Attribute::bytes(AttrType::EC_PARAMS, &h(params)),
                Attribute::bytes(AttrType::VALUE, sk),
                Attribute::bool(AttrType::DERIVE, true),
            ],
        )
        .unwrap()
    };
    let a = import(&mut e, X25519, &h("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a"));
    let b = import(&mut e, X25519, &h("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb"));
    let a_pub = bytes(&mut e, s, a, AttrType::EC_POINT);
    assert_eq!(a_pub[2..], h("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a")[..]);
    let b_pub = bytes(&mut e, s, b, AttrType::EC_POINT);
    let k = h("4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");
    let (ka, _) = e.derive_key(s, &ecdh(CKD_NULL, &[], &b_pub[2..]), a, &secret_template(32)).unwrap();
    let (kb, _) = e.derive_key(s, &ecdh(CKD_NULL, &[], &a_pub), b, &secret_template(32)).unwrap();
    assert_eq!(bytes(&mut e, s, ka, AttrType::VALUE), k);
    assert_eq!(bytes(&mut e, s, kb, AttrType::VALUE), k);
    // A cut key takes the leading bytes; a KDF with shared data agrees on both sides.
    let (short, _) = e.derive_key(s, &ecdh(CKD_NULL, &[], &b_pub), a, &secret_template(16)).unwrap();
    assert_eq!(bytes(&mut e, s, short, AttrType::VALUE), k[..16]);
    let (ka, _) = e.derive_key(s, &ecdh(CKD_SHA256_KDF, b"info", &b_pub), a, &secret_template(48)).unwrap();
    let (kb, _) = e.derive_key(s, &ecdh(CKD_SHA256_KDF, b"info", &a_pub), b, &secret_template(48)).unwrap();
    let expected = mechanism::ops::ecdh::x963_kdf(DigestAlg::Sha256, &k, b"info", 48).unwrap();
    assert_eq!(bytes(&mut e, s, ka, AttrType::VALUE), expected.expose());
    assert_eq!(bytes(&mut e, s, kb, AttrType::VALUE), expected.expose());
    // An AES key from a SHA-512 KDF without CKA_VALUE_LEN: 32 bytes.
    let aes = [
        Attribute::ulong(AttrType::CLASS, ObjectClass::SECRET_KEY.0),
        Attribute::ulong(AttrType::KEY_TYPE, KeyType::AES.0),
    ];
    let (k_aes, _) = e.derive_key(s, &ecdh(CKD_SHA512_KDF, &[], &b_pub), a, &aes).unwrap();
    assert_eq!(
        e.attribute_values(s, k_aes, &[AttrType::VALUE_LEN]).unwrap()[0],
        AttrLookup::Value(AttrValue::Ulong(32))
    );
    // Bad parameters.
    let cases = [
        (ecdh(CKD_NULL, b"shared", &b_pub), Error::MechanismParamInvalid),
        (ecdh(0x99, &[], &b_pub), Error::MechanismParamInvalid),
        (ecdh(CKD_NULL, &[], &[]), Error::MechanismParamInvalid),
        (ecdh(CKD_NULL, &[], &b_pub[3..]), Error::MechanismParamInvalid),
        (ecdh(CKD_NULL, &[], &[0; 32]), Error::MechanismParamInvalid),
        (
            Mechanism { ty: M::ECDH1_DERIVE, param: MechParam::Bytes(b_pub.clone()) },
            Error::MechanismParamInvalid,
        ),
        (ecdh(CKD_NULL, &[], &b_pub), Error::KeySizeRange),
    ];
    for (i, (m, err)) in cases.into_iter().enumerate() {
        let template = if i == 6 { secret_template(33) } else { secret_template(32) };
        assert_eq!(e.derive_key(s, &m, a, &template), Err(err), "case {i}");
    }
    let (b_pk, _) = ec_pair(&mut e, s, M::EC_MONTGOMERY_KEY_PAIR_GEN, X25519);
    assert_eq!(
        e.derive_key(s, &ecdh(CKD_NULL, &[], &b_pub), b_pk, &secret_template(32)),
        Err(Error::KeyFunctionNotPermitted)
    );

    // RFC 7748 §6.2 (X448), both sides.
    let a = import(
        &mut e,
        X448,
        &h(
            "9a8f4925d1519f5775cf46b04b5800d4ee9ee8bae8bc5565d498c28dd9c9baf574a9419744897391006382a6f127ab1d9ac2d8c0a598726b",
        ),
    );
    let b = import(
        &mut e,
        X448,
        &h(
            "1c306a7ac2a0e2e0990b294470cba339e6453772b075811d8fad0d1d6927c120bb5ee8972b0d3e21374c9c921b09d1b0366f10b65173992d",
        ),
    );
    let a_pub = bytes(&mut e, s, a, AttrType::EC_POINT);
    let b_pub = bytes(&mut e, s, b, AttrType::EC_POINT);
    let k = h(
        "07fff4181ac6cc95ec1c16a94a0f74d12da232ce40a77552281d282bb60c0b56fd2464c335543936521c24403085d59a449a5037514a879d",
    );
    let (ka, _) = e.derive_key(s, &ecdh(CKD_NULL, &[], &b_pub), a, &secret_template(56)).unwrap();
    let (kb, _) = e.derive_key(s, &ecdh(CKD_NULL, &[], &a_pub[2..]), b, &secret_template(56)).unwrap();
    assert_eq!(bytes(&mut e, s, ka, AttrType::VALUE), k);
    assert_eq!(bytes(&mut e, s, kb, AttrType::VALUE), k);
}

/// `CKD_SHA256_KDF_SP800` (PKCS #11 3.2 §6.3: NIST SP 800-56A §5.8.1.1, `SHA-256(counter || Z
/// || sharedData)`) after X25519: the OpenPGP ECDH vector (RFC 6637 §7 KDF, its `Param` as
/// shared data) of the `cryptoki` 0.12 test `derive_key_sp800`, which Python `cryptography`'s
/// `X25519PrivateKey.exchange` + `ConcatKDFHash` reproduce.
#[test]
fn x25519_sp800_56a_kdf() {
    let (mut e, s) = ready();
    let sk = e
        .create_object(
            s,
            &[
                Attribute::ulong(AttrType::CLASS, ObjectClass::PRIVATE_KEY.0),
                Attribute::ulong(AttrType::KEY_TYPE, KeyType::EC_MONTGOMERY.0),
                Attribute::bytes(AttrType::EC_PARAMS, &h(X25519)),
                Attribute::bytes(
                    AttrType::VALUE,
                    &h("f00670c5f139e7e6c2511ea04ff507afbbe237ce3c71a89ca59a1c5cf8856562"),
                ),
                Attribute::bool(AttrType::DERIVE, true),
            ],
        )
        .unwrap();
    let ephemeral = h("533b3f09e53b3deed661a13f7a7d9694ab71ce156c728e00dee87a1ee3a14c4a");
    let param = h(concat!(
        "0a2b0601040197550105011203010807416e6f6e796d6f75732053656e64657220202020",
        "5633a4c5ae4305bc0fe2abb699a8ee54632790a0"
    ));
    let mech = ecdh(CKD_SHA256_KDF_SP800, &param, &ephemeral);
    let (k, _) = e.derive_key(s, &mech, sk, &secret_template(16)).unwrap();
    assert_eq!(bytes(&mut e, s, k, AttrType::VALUE), h("af8ce51d0139a6d60831a9babab20186"));
}

/// Generated pairs on every Weierstrass curve agree on secrets with both mechanisms, peers
/// given raw, DER or compressed; the Wycheproof P-521 case through imported keys.
#[test]
fn ecdh_weierstrass() {
    let (mut e, s) = ready();
    for params in [P256, P384, P521, K256] {
        let (apk, ask) = ec_pair(&mut e, s, M::EC_KEY_PAIR_GEN, params);
        let (bpk, bsk) = ec_pair(&mut e, s, M::EC_KEY_PAIR_GEN, params);
        let a_der = bytes(&mut e, s, apk, AttrType::EC_POINT);
        let b_der = bytes(&mut e, s, bpk, AttrType::EC_POINT);
        let b_raw = &b_der[if b_der[1] == 0x81 { 3 } else { 2 }..];
        let mut b_compressed = vec![2 + (b_raw[b_raw.len() - 1] & 1)];
        b_compressed.extend_from_slice(&b_raw[1..=(b_raw.len() - 1) / 2]);
        let mut values = Vec::new();
        for (m, base, peer) in [
            (M::ECDH1_DERIVE, ask, b_der.clone()),
            (M::ECDH1_DERIVE, ask, b_raw.to_vec()),
            (M::ECDH1_COFACTOR_DERIVE, ask, b_compressed),
            (M::ECDH1_DERIVE, bsk, a_der.clone()),
        ] {
            let mut mech = ecdh(CKD_SHA256_KDF, b"shared", &peer);
            mech.ty = m;
            let (k, _) = e.derive_key(s, &mech, base, &secret_template(24)).unwrap();
            values.push(bytes(&mut e, s, k, AttrType::VALUE));
        }
        assert!(values.windows(2).all(|w| w[0] == w[1]), "{params}");
        // The other curve's point is not a valid peer.
        let other = if params == P256 { ec::encode_ec_point(&[4; 97]) } else { h("04") };
        assert_eq!(
            e.derive_key(s, &ecdh(CKD_NULL, &[], &other), ask, &secret_template(16)),
            Err(Error::MechanismParamInvalid)
        );
    }
    let private = [
        Attribute::ulong(AttrType::CLASS, ObjectClass::PRIVATE_KEY.0),
        Attribute::ulong(AttrType::KEY_TYPE, KeyType::EC.0),
        Attribute::bytes(AttrType::EC_PARAMS, &h(P521)),
        Attribute::bytes(
            AttrType::VALUE,
            &h(
                "01939982b529596ce77a94bc6efd03e92c21a849eb4f87b8f619d506efc9bb22e7c61640c90d598f795b64566dc6df43992ae34a1341d458574440a7371f611c7dcd",
            ),
        ),
        Attribute::bool(AttrType::DERIVE, true),
    ];
    let sk = e.create_object(s, &private).unwrap();
    let peer = h(
        "040064da3e94733db536a74a0d8a5cb2265a31c54a1da6529a198377fbd38575d9d79769ca2bdf2d4c972642926d444891a652e7f492337251adf1613cf3077999b5ce00e04ad19cf9fd4722b0c824c069f70c3c0e7ebc5288940dfa92422152ae4a4f79183ced375afb54db1409ddf338b85bb6dbfc5950163346bb63a90a70c5aba098f7",
    );
    let (k, _) = e.derive_key(s, &ecdh(CKD_NULL, &[], &peer), sk, &secret_template(66)).unwrap();
    assert_eq!(
        bytes(&mut e, s, k, AttrType::VALUE),
        h(
            "01f1e410f2c6262bce6879a3f46dfb7dd11d30eeee9ab49852102e1892201dd10f27266c2cf7cbccc7f6885099043dad80ff57f0df96acf283fb090de53df95f7d87"
        )
    );
}

#[test]
fn ml_dsa_through_the_engine() {
    let (mut e, s) = ready();
    let ps = |v| [Attribute::ulong(AttrType::PARAMETER_SET, v)];
    let keygen = Mechanism::new(M::ML_DSA_KEY_PAIR_GEN);
    let (pk, sk) = e.generate_key_pair(s, &keygen, &ps(ckp::CKP_ML_DSA_65), &[]).unwrap();
    let public = bytes(&mut e, s, pk, AttrType::VALUE);
    assert_eq!(public.len(), 1952);
    let spki = bytes(&mut e, s, pk, AttrType::PUBLIC_KEY_INFO);
    assert_eq!(bytes(&mut e, s, sk, AttrType::PUBLIC_KEY_INFO), spki);
    assert_eq!(spki[spki.len() - 1952..], public[..]);
    for ty in [AttrType::VALUE, AttrType::SEED] {
        assert_eq!(e.attribute_values(s, sk, &[ty]).unwrap()[0], AttrLookup::Sensitive, "{ty:?}");
    }
    let ctx = |hedge, context: &[u8]| MechParam::SignContext { hedge, context: context.to_vec() };
    let with = |ty, param| Mechanism { ty, param };
    // Pure ML-DSA, with and without context, hedged and deterministic; multi-part.
    for m in [
        Mechanism::new(M::ML_DSA),
        with(M::ML_DSA, ctx(ckh::CKH_HEDGE_REQUIRED, b"context")),
        with(M::ML_DSA, ctx(ckh::CKH_DETERMINISTIC_REQUIRED, b"")),
        Mechanism::new(M::HASH_ML_DSA_SHA256),
        with(M::HASH_ML_DSA_SHA3_384, ctx(ckh::CKH_HEDGE_PREFERRED, b"x")),
        Mechanism::new(M::HASH_ML_DSA_SHAKE128),
        Mechanism::new(M::HASH_ML_DSA_SHAKE256),
    ] {
        e.sign_init(s, &m, sk).unwrap();
        e.sign_update(s, b"hello ").unwrap();
        e.sign_update(s, b"world").unwrap();
        let sig = data(e.sign_final(s, OutBuf::Capacity(3309)).unwrap());
        assert_eq!(sig.len(), 3309);
        verify(&mut e, s, &m, pk, b"hello world", &sig).unwrap();
        assert_eq!(verify(&mut e, s, &m, pk, b"hello worle", &sig), Err(Error::SignatureInvalid), "{m:?}");
        let mut bad = sig.clone();
        bad[100] ^= 1;
        assert_eq!(verify(&mut e, s, &m, pk, b"hello world", &bad), Err(Error::SignatureInvalid));
        assert_eq!(verify(&mut e, s, &m, pk, b"hello world", &sig[1..]), Err(Error::SignatureLenRange));
    }
    let det = with(M::ML_DSA, ctx(ckh::CKH_DETERMINISTIC_REQUIRED, b"d"));
    assert_eq!(sign(&mut e, s, &det, sk, b"m"), sign(&mut e, s, &det, sk, b"m"));
    let hedged = with(M::ML_DSA, ctx(ckh::CKH_HEDGE_REQUIRED, b"d"));
    assert_ne!(sign(&mut e, s, &hedged, sk, b"m"), sign(&mut e, s, &hedged, sk, b"m"));
    // The context is bound: another context does not verify.
    let sig = sign(&mut e, s, &hedged, sk, b"m");
    assert_eq!(
        verify(&mut e, s, &with(M::ML_DSA, ctx(0, b"e")), pk, b"m", &sig),
        Err(Error::SignatureInvalid)
    );
    // CKM_HASH_ML_DSA: the caller hashes, single-part, the hash named in the parameter; it
    // equals CKM_HASH_ML_DSA_SHA512 over the message.
    let hashed = with(
        M::HASH_ML_DSA,
        MechParam::HashSignContext {
            hedge: ckh::CKH_DETERMINISTIC_REQUIRED,
            context: vec![],
            hash: M::SHA512,
        },
    );
    let ph = digest(DigestAlg::Sha512, b"message");
    let sig = sign(&mut e, s, &hashed, sk, &ph);
    verify(&mut e, s, &Mechanism::new(M::HASH_ML_DSA_SHA512), pk, b"message", &sig).unwrap();
    let det512 = with(M::HASH_ML_DSA_SHA512, ctx(ckh::CKH_DETERMINISTIC_REQUIRED, b""));
    assert_eq!(sign(&mut e, s, &det512, sk, b"message"), sig);
    e.sign_init(s, &hashed, sk).unwrap();
    assert_eq!(e.sign(s, &ph[1..], OutBuf::Capacity(4000)), Err(Error::DataLenRange));
    e.sign_init(s, &hashed, sk).unwrap();
    assert_eq!(e.sign_update(s, &ph), Err(Error::FunctionNotSupported));
    // Too small a buffer keeps the operation.
    e.sign_init(s, &Mechanism::new(M::ML_DSA), sk).unwrap();
    assert_eq!(e.sign(s, b"x", OutBuf::Capacity(100)).unwrap(), Output::Length(3309));
    assert_eq!(data(e.sign(s, b"x", OutBuf::Capacity(3309)).unwrap()).len(), 3309);
    // Templates: missing, unknown or conflicting parameter sets.
    assert_eq!(e.generate_key_pair(s, &keygen, &[], &[]), Err(Error::TemplateIncomplete));
    assert_eq!(e.generate_key_pair(s, &keygen, &ps(9), &[]), Err(Error::ParameterSetNotSupported));
    assert_eq!(
        e.generate_key_pair(s, &keygen, &ps(ckp::CKP_ML_DSA_44), &ps(ckp::CKP_ML_DSA_87)),
        Err(Error::TemplateInconsistent)
    );
    let (_, sk87) = e.generate_key_pair(s, &keygen, &[], &ps(ckp::CKP_ML_DSA_87)).unwrap();
    assert_eq!(sign(&mut e, s, &Mechanism::new(M::ML_DSA), sk87, b"m").len(), 4627);
}

/// ML-DSA keys imported from a seed, from the expanded form, and the public key: the LAMPS
/// example keys sign, and every inconsistency is refused.
#[test]
fn ml_dsa_import() {
    let (mut e, s) = ready();
    let seed: Vec<u8> = (0..32).collect();
    let (expanded, public) =
        mechanism::mldsa::keygen_from_seed(mechanism::mldsa::ParamSet::MlDsa44, &seed).unwrap();
    let private = |extra: &[Attribute]| {
        let mut t = vec![
            Attribute::ulong(AttrType::CLASS, ObjectClass::PRIVATE_KEY.0),
            Attribute::ulong(AttrType::KEY_TYPE, KeyType::ML_DSA.0),
            Attribute::ulong(AttrType::PARAMETER_SET, ckp::CKP_ML_DSA_44),
        ];
        t.extend_from_slice(extra);
        t
    };
    let from_seed = e.create_object(s, &private(&[Attribute::bytes(AttrType::SEED, &seed)])).unwrap();
    let from_expanded =
        e.create_object(s, &private(&[Attribute::bytes(AttrType::VALUE, expanded.expose())])).unwrap();
    let both = e
        .create_object(
            s,
            &private(&[
                Attribute::bytes(AttrType::SEED, &seed),
                Attribute::bytes(AttrType::VALUE, expanded.expose()),
            ]),
        )
        .unwrap();
    let pk = e
        .create_object(
            s,
            &[
                Attribute::ulong(AttrType::CLASS, ObjectClass::PUBLIC_KEY.0),
                Attribute::ulong(AttrType::KEY_TYPE, KeyType::ML_DSA.0),
                Attribute::ulong(AttrType::PARAMETER_SET, ckp::CKP_ML_DSA_44),
                Attribute::bytes(AttrType::VALUE, &public),
            ],
        )
        .unwrap();
    let det = Mechanism {
        ty: M::ML_DSA,
        param: MechParam::SignContext { hedge: ckh::CKH_DETERMINISTIC_REQUIRED, context: b"ctx".to_vec() },
    };
    let sig = sign(&mut e, s, &det, from_seed, b"imported");
    assert_eq!(sign(&mut e, s, &det, from_expanded, b"imported"), sig);
    assert_eq!(sign(&mut e, s, &det, both, b"imported"), sig);
    verify(&mut e, s, &det, pk, b"imported", &sig).unwrap();
    assert_eq!(
        bytes(&mut e, s, from_expanded, AttrType::PUBLIC_KEY_INFO),
        bytes(&mut e, s, pk, AttrType::PUBLIC_KEY_INFO)
    );
    // The LAMPS example's SubjectPublicKeyInfo is what the seed-imported key reports.
    let kat = include_str!("../mechanism/testdata/mldsa_kat.txt");
    let lamps44 = kat.lines().find(|l| l.starts_with("lamps 44 ")).unwrap();
    assert_eq!(bytes(&mut e, s, from_seed, AttrType::PUBLIC_KEY_INFO), h(lamps44.split(' ').nth(3).unwrap()));

    let mut other_value = expanded.expose().to_vec();
    other_value[70] ^= 1;
    for (extra, err) in [
        (vec![], Error::TemplateIncomplete),
        (vec![Attribute::bytes(AttrType::SEED, &seed[1..])], Error::AttributeValueInvalid),
        (vec![Attribute::bytes(AttrType::VALUE, &expanded.expose()[1..])], Error::AttributeValueInvalid),
        (vec![Attribute::bytes(AttrType::VALUE, &other_value)], Error::AttributeValueInvalid),
        (
            vec![Attribute::bytes(AttrType::SEED, &seed), Attribute::bytes(AttrType::VALUE, &other_value)],
            Error::TemplateInconsistent,
        ),
    ] {
        assert_eq!(e.create_object(s, &private(&extra)), Err(err), "{extra:?}");
    }
    let mut unknown = private(&[Attribute::bytes(AttrType::SEED, &seed)]);
    unknown[2] = Attribute::ulong(AttrType::PARAMETER_SET, 0);
    assert_eq!(e.create_object(s, &unknown), Err(Error::ParameterSetNotSupported));
    let short_public = [
        Attribute::ulong(AttrType::CLASS, ObjectClass::PUBLIC_KEY.0),
        Attribute::ulong(AttrType::KEY_TYPE, KeyType::ML_DSA.0),
        Attribute::ulong(AttrType::PARAMETER_SET, ckp::CKP_ML_DSA_65),
        Attribute::bytes(AttrType::VALUE, &public),
    ];
    assert_eq!(e.create_object(s, &short_public), Err(Error::AttributeValueInvalid));
}

/// Private keys of every type leave the token as PKCS#8 under an AES key (CKM_AES_KEY_WRAP_PAD)
/// and come back working; unextractable ones do not leave.
#[test]
fn wrap_and_unwrap_as_pkcs8() {
    let (mut e, s) = ready();
    let kek = e
        .generate_key(
            s,
            &Mechanism::new(M::AES_KEY_GEN),
            &[
                Attribute::ulong(AttrType::VALUE_LEN, 32),
                Attribute::bool(AttrType::WRAP, true),
                Attribute::bool(AttrType::UNWRAP, true),
            ],
        )
        .unwrap();
    let extractable = [Attribute::bool(AttrType::EXTRACTABLE, true)];
    let ml = [Attribute::ulong(AttrType::PARAMETER_SET, ckp::CKP_ML_DSA_44)];
    let cases = [
        (
            M::EC_KEY_PAIR_GEN,
            vec![Attribute::bytes(AttrType::EC_PARAMS, &h(P384))],
            KeyType::EC,
            Mechanism::new(M::ECDSA_SHA256),
        ),
        (
            M::EC_KEY_PAIR_GEN,
            vec![Attribute::bytes(AttrType::EC_PARAMS, &h(K256))],
            KeyType::EC,
            Mechanism::new(M::ECDSA_SHA256),
        ),
        (
            M::EC_EDWARDS_KEY_PAIR_GEN,
            vec![Attribute::bytes(AttrType::EC_PARAMS, &h(ED448))],
            KeyType::EC_EDWARDS,
            Mechanism::new(M::EDDSA),
        ),
        (M::ML_DSA_KEY_PAIR_GEN, ml.to_vec(), KeyType::ML_DSA, Mechanism::new(M::ML_DSA)),
    ];
    let wrap = Mechanism::new(M::AES_KEY_WRAP_PAD);
    for (keygen, public, kt, sig_mech) in cases {
        let (pk, sk) = e.generate_key_pair(s, &Mechanism::new(keygen), &public, &extractable).unwrap();
        let wrapped = data(e.wrap_key(s, &wrap, kek, sk, OutBuf::Capacity(8192)).unwrap());
        let template = [
            Attribute::ulong(AttrType::CLASS, ObjectClass::PRIVATE_KEY.0),
            Attribute::ulong(AttrType::KEY_TYPE, kt.0),
        ];
        let back = e.unwrap_key(s, &wrap, kek, &wrapped, &template).unwrap();
        let sig = sign(&mut e, s, &sig_mech, back, b"unwrapped");
        verify(&mut e, s, &sig_mech, pk, b"unwrapped", &sig).unwrap();
        assert_eq!(
            bytes(&mut e, s, back, AttrType::PUBLIC_KEY_INFO),
            bytes(&mut e, s, pk, AttrType::PUBLIC_KEY_INFO)
        );
        // The wrong key type for the PKCS#8 content.
        let wrong = [template[0].clone(), Attribute::ulong(AttrType::KEY_TYPE, KeyType::EC_MONTGOMERY.0)];
        assert_eq!(e.unwrap_key(s, &wrap, kek, &wrapped, &wrong), Err(Error::WrappedKeyInvalid), "{kt:?}");
    }
    let (_, locked) = e
        .generate_key_pair(
            s,
            &Mechanism::new(M::EC_EDWARDS_KEY_PAIR_GEN),
            &[Attribute::bytes(AttrType::EC_PARAMS, &h(ED25519))],
            &[],
        )
        .unwrap();
    assert_eq!(e.wrap_key(s, &wrap, kek, locked, OutBuf::Capacity(8192)), Err(Error::KeyUnextractable));
}
