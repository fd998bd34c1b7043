//! RSA keys (`CKK_RSA`), `CKM_RSA_PKCS_KEY_PAIR_GEN`, and the RSA mechanisms: PKCS #1 v1.5
//! (`CKM_RSA_PKCS`, `CKM_SHA*_RSA_PKCS`), PSS (`CKM_RSA_PKCS_PSS`, `CKM_SHA*_RSA_PKCS_PSS`),
//! OAEP (`CKM_RSA_PKCS_OAEP`), raw RSA (`CKM_RSA_X_509`), and `CKM_RSA_AES_KEY_WRAP` (OAEP
//! around a temporary AES key that wraps the target key with KWP).

use alloc::boxed::Box;
use alloc::vec::Vec;

use super::{require, template_bytes, template_ulong};
use crate::attribute::{AttrValue, Attribute};
use crate::consts::{AttrType, KeyType, MechanismType as M, ObjectClass};
use crate::info::{MechParam, Mechanism, RsaOaepParams, RsaPssParams};
use crate::mechanism::aes_kw::{self, KWP_AIV};
use crate::mechanism::block::BlockCipher;
use crate::mechanism::digest::{DigestAlg, Hasher};
use crate::mechanism::rsa::{self, OaepParams, PrivateKey, PrivateParts, PublicKey};
use crate::mechanism::{Cipher, Family, KeyKind, KeyPairAttributes, Signer};
use crate::object::Object;
use crate::object::policy::{Dflt, FIXED, Origin, REQ, Rule, SECRET};
use crate::rng::Rng;
use crate::secret::SecretBytes;
use crate::{Error, Result};

/// `CKZ_DATA_SPECIFIED`: the OAEP label is `pSourceData`.
pub const CKZ_DATA_SPECIFIED: u64 = 1;

/// `CKG_MGF1_*` → the MGF1 hash.
pub fn mgf1_hash(mgf: u64) -> Option<DigestAlg> {
    Some(match mgf {
        1 => DigestAlg::Sha1,
        2 => DigestAlg::Sha256,
        3 => DigestAlg::Sha384,
        4 => DigestAlg::Sha512,
        5 => DigestAlg::Sha224,
        6 => DigestAlg::Sha3_224,
        7 => DigestAlg::Sha3_256,
        8 => DigestAlg::Sha3_384,
        9 => DigestAlg::Sha3_512,
        _ => return None,
    })
}

// ---- key objects ----

static RSA_PUBLIC: &[Rule] = &[
    Rule::new(AttrType::MODULUS, REQ | FIXED, Dflt::Absent),
    // Given in the generation template; computed (and checked if given) on import.
    Rule::new(AttrType::MODULUS_BITS, FIXED, Dflt::Absent),
    Rule::new(AttrType::PUBLIC_EXPONENT, REQ | FIXED, Dflt::Absent),
];

static RSA_PRIVATE: &[Rule] = &[
    // The public parts, readable on the private key too.
    Rule::new(AttrType::MODULUS, REQ | FIXED, Dflt::Absent),
    Rule::new(AttrType::PUBLIC_EXPONENT, REQ | FIXED, Dflt::Absent),
    Rule::new(AttrType::PRIVATE_EXPONENT, REQ | FIXED | SECRET, Dflt::Absent),
    // Optional on import (recovered from n, e, d when absent), always stored.
    Rule::new(AttrType::PRIME_1, FIXED | SECRET, Dflt::Absent),
    Rule::new(AttrType::PRIME_2, FIXED | SECRET, Dflt::Absent),
    Rule::new(AttrType::EXPONENT_1, FIXED | SECRET, Dflt::Absent),
    Rule::new(AttrType::EXPONENT_2, FIXED | SECRET, Dflt::Absent),
    Rule::new(AttrType::COEFFICIENT, FIXED | SECRET, Dflt::Absent),
];

/// `CKK_RSA`.
#[derive(Debug)]
pub struct RsaKey;

/// A size problem is a bad value for an imported key, a size error otherwise.
fn for_origin(e: Error, origin: Origin) -> Error {
    match (e, origin) {
        (Error::KeySizeRange, Origin::Create) => Error::AttributeValueInvalid,
        (e, _) => e,
    }
}

fn secret_attr(ty: AttrType, v: &SecretBytes) -> Attribute {
    Attribute { ty, value: AttrValue::Secret(v.clone()) }
}

/// The private attributes of a key's components.
fn private_attrs(parts: &PrivateParts) -> Vec<Attribute> {
    alloc::vec![
        Attribute::bytes(AttrType::MODULUS, &parts.n),
        Attribute::bytes(AttrType::PUBLIC_EXPONENT, &parts.e),
        secret_attr(AttrType::PRIVATE_EXPONENT, &parts.d),
        secret_attr(AttrType::PRIME_1, &parts.p),
        secret_attr(AttrType::PRIME_2, &parts.q),
        secret_attr(AttrType::EXPONENT_1, &parts.dp),
        secret_attr(AttrType::EXPONENT_2, &parts.dq),
        secret_attr(AttrType::COEFFICIENT, &parts.qinv),
    ]
}

/// The stored components of a private key object.
fn parts_of(key: &Object) -> Result<PrivateParts> {
    let get = |ty| key.bytes(ty).ok_or(Error::KeyTypeInconsistent);
    Ok(PrivateParts {
        n: get(AttrType::MODULUS)?.to_vec(),
        e: get(AttrType::PUBLIC_EXPONENT)?.to_vec(),
        d: SecretBytes::from_slice(get(AttrType::PRIVATE_EXPONENT)?),
        p: SecretBytes::from_slice(get(AttrType::PRIME_1)?),
        q: SecretBytes::from_slice(get(AttrType::PRIME_2)?),
        dp: SecretBytes::from_slice(get(AttrType::EXPONENT_1)?),
        dq: SecretBytes::from_slice(get(AttrType::EXPONENT_2)?),
        qinv: SecretBytes::from_slice(get(AttrType::COEFFICIENT)?),
    })
}

fn public_of(key: &Object) -> Result<PublicKey> {
    let n = key.bytes(AttrType::MODULUS).ok_or(Error::KeyTypeInconsistent)?;
    let e = key.bytes(AttrType::PUBLIC_EXPONENT).ok_or(Error::KeyTypeInconsistent)?;
    rsa::public_key(n, e).map_err(|_| Error::KeyTypeInconsistent)
}

fn private_of(key: &Object) -> Result<PrivateKey> {
    rsa::private_key(&parts_of(key)?)
}

impl KeyKind for RsaKey {
    fn rules(&self, class: ObjectClass) -> Option<&'static [Rule]> {
        match class {
            ObjectClass::PUBLIC_KEY => Some(RSA_PUBLIC),
            ObjectClass::PRIVATE_KEY => Some(RSA_PRIVATE),
            _ => None,
        }
    }

    fn complete(&self, obj: &mut Object, class: ObjectClass, origin: Origin) -> Result<()> {
        let n = obj.bytes(AttrType::MODULUS).ok_or(Error::TemplateIncomplete)?.to_vec();
        let e = obj.bytes(AttrType::PUBLIC_EXPONENT).ok_or(Error::TemplateIncomplete)?.to_vec();
        let public = if class == ObjectClass::PUBLIC_KEY {
            let public = rsa::public_key(&n, &e).map_err(|err| for_origin(err, origin))?;
            let bits = public.bits() as u64;
            match obj.ulong(AttrType::MODULUS_BITS) {
                Some(given) if given != bits => return Err(Error::TemplateInconsistent),
                _ => obj.set(AttrType::MODULUS_BITS, AttrValue::Ulong(bits)),
            }
            public
        } else {
            let d = obj.bytes(AttrType::PRIVATE_EXPONENT).ok_or(Error::TemplateIncomplete)?;
            let crt = rsa::CrtInput {
                p: obj.bytes(AttrType::PRIME_1),
                q: obj.bytes(AttrType::PRIME_2),
                dp: obj.bytes(AttrType::EXPONENT_1),
                dq: obj.bytes(AttrType::EXPONENT_2),
                qinv: obj.bytes(AttrType::COEFFICIENT),
            };
            let parts = rsa::complete_private(&n, &e, d, crt).map_err(|err| for_origin(err, origin))?;
            let public = rsa::public_key(&parts.n, &parts.e)?;
            for a in private_attrs(&parts) {
                obj.set(a.ty, a.value);
            }
            public
        };
        // Stored in the minimal big-integer form whatever the client sent.
        obj.set(AttrType::MODULUS, AttrValue::Bytes(public.modulus()));
        obj.set(AttrType::PUBLIC_EXPONENT, AttrValue::Bytes(public.exponent()));
        obj.set(AttrType::PUBLIC_KEY_INFO, AttrValue::Bytes(public.public_key_info()?));
        Ok(())
    }

    fn export_pkcs8(&self, key: &Object) -> Result<SecretBytes> {
        private_of(key).map_err(|_| Error::KeyNotWrappable)?.to_pkcs8()
    }

    fn import_pkcs8(&self, der: &[u8]) -> Result<Vec<Attribute>> {
        Ok(private_attrs(&rsa::from_pkcs8(der)?))
    }
}

// ---- key-pair generation ----

/// `CKM_RSA_PKCS_KEY_PAIR_GEN`.
#[derive(Debug)]
pub struct RsaKeyGen;

/// The template's own bytes for `ty` when they name the same integer as `value` (so a client
/// writing `00 01 00 01` is not told its template is inconsistent), else `value`.
fn echo(template: &[Attribute], ty: AttrType, value: &[u8]) -> Attribute {
    match template_bytes(template, ty) {
        Some(given) if rsa::strip_zeros(given) == rsa::strip_zeros(value) => Attribute::bytes(ty, given),
        _ => Attribute::bytes(ty, value),
    }
}

/// A key-pair template that names another class or key type than the mechanism makes is
/// inconsistent (checked before the attribute rules of that other type would apply).
///
/// # Errors
/// `Error::TemplateInconsistent`.
pub(crate) fn check_classes(public: &[Attribute], private: &[Attribute], kt: KeyType) -> Result<()> {
    for (t, class) in [(public, ObjectClass::PUBLIC_KEY), (private, ObjectClass::PRIVATE_KEY)] {
        let wrong_class = template_ulong(t, AttrType::CLASS).is_some_and(|c| c != class.0);
        let wrong_type = template_ulong(t, AttrType::KEY_TYPE).is_some_and(|k| k != kt.0);
        if wrong_class || wrong_type {
            return Err(Error::TemplateInconsistent);
        }
    }
    Ok(())
}

impl Family for RsaKeyGen {
    fn generate_key_pair(
        &self,
        mech: &Mechanism,
        public: &[Attribute],
        private: &[Attribute],
        rng: &mut dyn Rng,
    ) -> Result<KeyPairAttributes> {
        if mech.ty != M::RSA_PKCS_KEY_PAIR_GEN {
            return Err(Error::MechanismInvalid);
        }
        if mech.param != MechParam::None {
            return Err(Error::MechanismParamInvalid);
        }
        check_classes(public, private, KeyType::RSA)?;
        let bits = template_ulong(public, AttrType::MODULUS_BITS).ok_or(Error::TemplateIncomplete)?;
        let bits = usize::try_from(bits).map_err(|_| Error::KeySizeRange)?;
        let e = match (
            template_bytes(public, AttrType::PUBLIC_EXPONENT),
            template_bytes(private, AttrType::PUBLIC_EXPONENT),
        ) {
            (Some(a), Some(b)) if rsa::strip_zeros(a) != rsa::strip_zeros(b) => {
                return Err(Error::TemplateInconsistent);
            }
            (Some(a), _) | (None, Some(a)) => a.to_vec(),
            (None, None) => rsa::DEFAULT_EXPONENT.to_vec(),
        };
        let parts = rsa::generate(bits, &e, rng)?;
        let common = |class: ObjectClass| {
            alloc::vec![
                Attribute::ulong(AttrType::CLASS, class.0),
                Attribute::ulong(AttrType::KEY_TYPE, KeyType::RSA.0),
            ]
        };
        let mut pub_attrs = common(ObjectClass::PUBLIC_KEY);
        pub_attrs.push(Attribute::bytes(AttrType::MODULUS, &parts.n));
        pub_attrs.push(echo(public, AttrType::PUBLIC_EXPONENT, &parts.e));
        let mut priv_attrs = common(ObjectClass::PRIVATE_KEY);
        for a in private_attrs(&parts) {
            priv_attrs.push(if a.ty == AttrType::PUBLIC_EXPONENT {
                echo(private, a.ty, &parts.e)
            } else {
                a
            });
        }
        Ok((pub_attrs, priv_attrs))
    }
}

// ---- the mechanisms ----

/// Every RSA mechanism but key generation.
#[derive(Debug)]
pub struct Rsa;

/// The hash of a hash-then-sign PKCS #1 v1.5 mechanism.
fn pkcs1_hash(ty: M) -> Option<DigestAlg> {
    Some(match ty {
        M::SHA1_RSA_PKCS => DigestAlg::Sha1,
        M::SHA224_RSA_PKCS => DigestAlg::Sha224,
        M::SHA256_RSA_PKCS => DigestAlg::Sha256,
        M::SHA384_RSA_PKCS => DigestAlg::Sha384,
        M::SHA512_RSA_PKCS => DigestAlg::Sha512,
        M::SHA3_224_RSA_PKCS => DigestAlg::Sha3_224,
        M::SHA3_256_RSA_PKCS => DigestAlg::Sha3_256,
        M::SHA3_384_RSA_PKCS => DigestAlg::Sha3_384,
        M::SHA3_512_RSA_PKCS => DigestAlg::Sha3_512,
        _ => return None,
    })
}

/// The hash of a hash-then-sign PSS mechanism.
fn pss_hash(ty: M) -> Option<DigestAlg> {
    Some(match ty {
        M::SHA1_RSA_PKCS_PSS => DigestAlg::Sha1,
        M::SHA224_RSA_PKCS_PSS => DigestAlg::Sha224,
        M::SHA256_RSA_PKCS_PSS => DigestAlg::Sha256,
        M::SHA384_RSA_PKCS_PSS => DigestAlg::Sha384,
        M::SHA512_RSA_PKCS_PSS => DigestAlg::Sha512,
        M::SHA3_224_RSA_PKCS_PSS => DigestAlg::Sha3_224,
        M::SHA3_256_RSA_PKCS_PSS => DigestAlg::Sha3_256,
        M::SHA3_384_RSA_PKCS_PSS => DigestAlg::Sha3_384,
        M::SHA3_512_RSA_PKCS_PSS => DigestAlg::Sha3_512,
        _ => return None,
    })
}

/// A hash PSS and OAEP take (`hashAlg`): SHA-1, SHA-2 or SHA-3, not SHA-512/t.
fn scheme_hash(ty: M) -> Result<DigestAlg> {
    match DigestAlg::from_mechanism(ty) {
        Some(DigestAlg::Sha512_224 | DigestAlg::Sha512_256) | None => Err(Error::MechanismParamInvalid),
        Some(alg) => Ok(alg),
    }
}

/// Checked `CK_RSA_PKCS_PSS_PARAMS`: the hash (which must be the mechanism's own for the
/// hash-then-sign forms), MGF1 with that same hash, and a salt the key has room for.
fn pss_params(p: &RsaPssParams, mech_hash: Option<DigestAlg>, key_bits: usize) -> Result<(DigestAlg, usize)> {
    let hash = scheme_hash(p.hash)?;
    if mech_hash.is_some_and(|h| h != hash) || mgf1_hash(p.mgf) != Some(hash) {
        return Err(Error::MechanismParamInvalid);
    }
    let salt = usize::try_from(p.salt_len).map_err(|_| Error::MechanismParamInvalid)?;
    if salt > rsa::max_pss_salt(key_bits, hash) {
        return Err(Error::MechanismParamInvalid);
    }
    Ok((hash, salt))
}

/// Checked `CK_RSA_PKCS_OAEP_PARAMS` (SHA-1 or SHA-2 for both hashes).
fn oaep_params(p: &RsaOaepParams) -> Result<OaepParams> {
    let hash = scheme_hash(p.hash)?;
    let mgf = mgf1_hash(p.mgf).ok_or(Error::MechanismParamInvalid)?;
    let sha12 = |a: DigestAlg| {
        matches!(
            a,
            DigestAlg::Sha1 | DigestAlg::Sha224 | DigestAlg::Sha256 | DigestAlg::Sha384 | DigestAlg::Sha512
        )
    };
    if !sha12(hash) || !sha12(mgf) {
        return Err(Error::MechanismParamInvalid);
    }
    let label = match p.source {
        CKZ_DATA_SPECIFIED => p.source_data.clone(),
        0 if p.source_data.is_empty() => Vec::new(),
        _ => return Err(Error::MechanismParamInvalid),
    };
    Ok(OaepParams { hash, mgf, label })
}

#[derive(Clone, Debug)]
enum Key {
    Private(Box<PrivateKey>),
    Public(PublicKey),
}

impl Key {
    fn of(key: &Object, private: bool) -> Result<Self> {
        let class = if private { ObjectClass::PRIVATE_KEY } else { ObjectClass::PUBLIC_KEY };
        require(key, class, &[KeyType::RSA])?;
        Ok(if private { Key::Private(Box::new(private_of(key)?)) } else { Key::Public(public_of(key)?) })
    }

    fn size(&self) -> usize {
        match self {
            Key::Private(k) => k.size(),
            Key::Public(k) => k.size(),
        }
    }

    fn bits(&self) -> usize {
        match self {
            Key::Private(k) => k.public().bits(),
            Key::Public(k) => k.bits(),
        }
    }

    fn private(&self) -> Result<&PrivateKey> {
        match self {
            Key::Private(k) => Ok(k),
            Key::Public(_) => Err(Error::OperationNotInitialized),
        }
    }

    fn public(&self) -> Result<&PublicKey> {
        match self {
            Key::Public(k) => Ok(k),
            Key::Private(_) => Err(Error::OperationNotInitialized),
        }
    }
}

#[derive(Clone, Copy, Debug)]
enum SignScheme {
    /// PKCS #1 v1.5 over a `DigestInfo` of this hash, or over the caller's data (`None`).
    Pkcs1(Option<DigestAlg>),
    /// PSS with this hash and salt length.
    Pss(DigestAlg, usize),
    /// `CKM_RSA_X_509`.
    Raw,
}

#[derive(Clone, Debug)]
enum Input {
    Hash(Box<Hasher>),
    Raw(Vec<u8>),
}

#[derive(Clone, Debug)]
struct RsaSignOp {
    key: Key,
    scheme: SignScheme,
    input: Input,
}

impl RsaSignOp {
    /// The hash or data the scheme signs.
    fn message(&self) -> Vec<u8> {
        match &self.input {
            Input::Hash(h) => h.finish(),
            Input::Raw(b) => b.clone(),
        }
    }
}

impl Signer for RsaSignOp {
    fn update(&mut self, data: &[u8]) -> Result<()> {
        match &mut self.input {
            Input::Hash(h) => {
                h.update(data);
                Ok(())
            }
            // CKM_RSA_PKCS, CKM_RSA_PKCS_PSS and CKM_RSA_X_509 are single-part.
            Input::Raw(_) => Err(Error::FunctionNotSupported),
        }
    }

    fn feed_all(&mut self, data: &[u8]) -> Result<()> {
        match &mut self.input {
            Input::Hash(h) => h.update(data),
            Input::Raw(b) => b.extend_from_slice(data),
        }
        Ok(())
    }

    fn max_len(&self) -> usize {
        self.key.size()
    }

    fn sign(&self, rng: &mut dyn Rng) -> Result<Vec<u8>> {
        let key = self.key.private()?;
        let msg = self.message();
        match self.scheme {
            SignScheme::Pkcs1(Some(alg)) => rsa::sign_pkcs1v15(key, &rsa::digest_info(alg, &msg)?, rng),
            SignScheme::Pkcs1(None) => rsa::sign_pkcs1v15(key, &msg, rng),
            SignScheme::Pss(alg, salt) => rsa::sign_pss(key, alg, &msg, salt, rng),
            SignScheme::Raw => Ok(rsa::raw_private(key, &msg, rng)?.expose().to_vec()),
        }
    }

    fn verify(&self, signature: &[u8]) -> Result<()> {
        let key = self.key.public()?;
        let msg = self.message();
        match self.scheme {
            SignScheme::Pkcs1(Some(alg)) => {
                rsa::verify_pkcs1v15(key, &rsa::digest_info(alg, &msg)?, signature)
            }
            SignScheme::Pkcs1(None) => rsa::verify_pkcs1v15(key, &msg, signature),
            SignScheme::Pss(alg, salt) => rsa::verify_pss(key, alg, &msg, salt, signature),
            SignScheme::Raw => verify_raw(key, &msg, signature),
        }
    }

    fn box_clone(&self) -> Box<dyn Signer> {
        Box::new(self.clone())
    }
}

/// `CKM_RSA_X_509` verification: the signature's public image equals the data, zero-padded
/// on the left to the modulus length.
fn verify_raw(key: &PublicKey, data: &[u8], signature: &[u8]) -> Result<()> {
    let k = key.size();
    if signature.len() != k {
        return Err(Error::SignatureLenRange);
    }
    if data.len() > k {
        return Err(Error::DataLenRange);
    }
    let image = rsa::raw_public(key, signature).map_err(|_| Error::SignatureInvalid)?;
    let mut expected = alloc::vec![0u8; k - data.len()];
    expected.extend_from_slice(data);
    if image == expected { Ok(()) } else { Err(Error::SignatureInvalid) }
}

#[derive(Clone, Debug)]
enum CryptScheme {
    Pkcs1,
    Oaep(OaepParams),
    Raw,
}

fn crypt_scheme(mech: &Mechanism) -> Result<CryptScheme> {
    match (mech.ty, &mech.param) {
        (M::RSA_PKCS, MechParam::None) => Ok(CryptScheme::Pkcs1),
        (M::RSA_X_509, MechParam::None) => Ok(CryptScheme::Raw),
        (M::RSA_PKCS_OAEP, MechParam::RsaOaep(p)) => Ok(CryptScheme::Oaep(oaep_params(p)?)),
        (M::RSA_PKCS | M::RSA_X_509 | M::RSA_PKCS_OAEP, _) => Err(Error::MechanismParamInvalid),
        _ => Err(Error::MechanismInvalid),
    }
}

fn encrypt_with(key: &PublicKey, scheme: &CryptScheme, data: &[u8], rng: &mut dyn Rng) -> Result<Vec<u8>> {
    match scheme {
        CryptScheme::Pkcs1 => rsa::encrypt_pkcs1v15(key, data, rng),
        CryptScheme::Oaep(p) => rsa::encrypt_oaep(key, p, data, rng),
        CryptScheme::Raw => rsa::raw_public(key, data),
    }
}

fn decrypt_with(
    key: &PrivateKey,
    scheme: &CryptScheme,
    data: &[u8],
    rng: &mut dyn Rng,
) -> Result<SecretBytes> {
    match scheme {
        CryptScheme::Pkcs1 => rsa::decrypt_pkcs1v15(key, data, rng),
        CryptScheme::Oaep(p) => rsa::decrypt_oaep(key, p, data, rng),
        CryptScheme::Raw => {
            if data.len() != key.size() {
                return Err(Error::EncryptedDataLenRange);
            }
            rsa::raw_private(key, data, rng).map_err(|e| match e {
                Error::DataInvalid | Error::DataLenRange => Error::EncryptedDataInvalid,
                other => other,
            })
        }
    }
}

/// RSA encryption is one block: input is gathered and processed at the end.
#[derive(Clone, Debug)]
struct RsaCryptOp {
    key: Key,
    scheme: CryptScheme,
    buffer: Vec<u8>,
}

impl Cipher for RsaCryptOp {
    fn update_len(&self, _n: usize) -> usize {
        0
    }

    fn update(&mut self, data: &[u8]) -> Result<Vec<u8>> {
        self.buffer.extend_from_slice(data);
        Ok(Vec::new())
    }

    fn final_len(&self) -> usize {
        let k = self.key.size();
        match (&self.key, &self.scheme) {
            (Key::Public(_), _) | (Key::Private(_), CryptScheme::Raw) => k,
            (Key::Private(_), CryptScheme::Pkcs1) => k.saturating_sub(11),
            (Key::Private(_), CryptScheme::Oaep(p)) => rsa::max_oaep_message(k, p.hash),
        }
    }

    fn finish(&self, rng: &mut dyn Rng) -> Result<Vec<u8>> {
        match &self.key {
            Key::Public(k) => encrypt_with(k, &self.scheme, &self.buffer, rng),
            Key::Private(k) => Ok(decrypt_with(k, &self.scheme, &self.buffer, rng)?.expose().to_vec()),
        }
    }

    fn box_clone(&self) -> Box<dyn Cipher> {
        Box::new(self.clone())
    }
}

impl Family for Rsa {
    fn signer(&self, mech: &Mechanism, key: &Object, verify: bool) -> Result<Box<dyn Signer>> {
        let hashed = |alg| Input::Hash(Box::new(Hasher::new(alg)));
        let raw = || Input::Raw(Vec::new());
        let (scheme, input) = match mech.ty {
            M::RSA_PKCS => (SignScheme::Pkcs1(None), raw()),
            M::RSA_X_509 => (SignScheme::Raw, raw()),
            M::RSA_PKCS_PSS => {
                let MechParam::RsaPss(p) = &mech.param else {
                    return Err(Error::MechanismParamInvalid);
                };
                let key = Key::of(key, !verify)?;
                let (hash, salt) = pss_params(p, None, key.bits())?;
                return Ok(Box::new(RsaSignOp { key, scheme: SignScheme::Pss(hash, salt), input: raw() }));
            }
            ty => match (pkcs1_hash(ty), pss_hash(ty)) {
                (Some(alg), _) => (SignScheme::Pkcs1(Some(alg)), hashed(alg)),
                (None, Some(alg)) => {
                    let MechParam::RsaPss(p) = &mech.param else {
                        return Err(Error::MechanismParamInvalid);
                    };
                    let key = Key::of(key, !verify)?;
                    let (hash, salt) = pss_params(p, Some(alg), key.bits())?;
                    return Ok(Box::new(RsaSignOp {
                        key,
                        scheme: SignScheme::Pss(hash, salt),
                        input: hashed(alg),
                    }));
                }
                (None, None) => return Err(Error::MechanismInvalid),
            },
        };
        if mech.param != MechParam::None {
            return Err(Error::MechanismParamInvalid);
        }
        let key = Key::of(key, !verify)?;
        Ok(Box::new(RsaSignOp { key, scheme, input }))
    }

    fn cipher(&self, mech: &Mechanism, key: &Object, encrypt: bool) -> Result<Box<dyn Cipher>> {
        let scheme = crypt_scheme(mech)?;
        let key = Key::of(key, !encrypt)?;
        Ok(Box::new(RsaCryptOp { key, scheme, buffer: Vec::new() }))
    }

    fn sign_recover(
        &self,
        mech: &Mechanism,
        key: &Object,
        data: &[u8],
        rng: &mut dyn Rng,
    ) -> Result<Vec<u8>> {
        if mech.param != MechParam::None {
            return Err(Error::MechanismParamInvalid);
        }
        let raw = match mech.ty {
            M::RSA_PKCS => false,
            M::RSA_X_509 => true,
            _ => return Err(Error::MechanismInvalid),
        };
        let Key::Private(k) = Key::of(key, true)? else {
            return Err(Error::KeyTypeInconsistent);
        };
        if raw {
            Ok(rsa::raw_private(&k, data, rng)?.expose().to_vec())
        } else {
            rsa::sign_pkcs1v15(&k, data, rng)
        }
    }

    fn verify_recover(&self, mech: &Mechanism, key: &Object, signature: &[u8]) -> Result<Vec<u8>> {
        if mech.param != MechParam::None {
            return Err(Error::MechanismParamInvalid);
        }
        let raw = match mech.ty {
            M::RSA_PKCS => false,
            M::RSA_X_509 => true,
            _ => return Err(Error::MechanismInvalid),
        };
        let Key::Public(k) = Key::of(key, false)? else {
            return Err(Error::KeyTypeInconsistent);
        };
        if !raw {
            return rsa::recover_pkcs1v15(&k, signature);
        }
        if signature.len() != k.size() {
            return Err(Error::SignatureLenRange);
        }
        rsa::raw_public(&k, signature).map_err(|_| Error::SignatureInvalid)
    }

    fn wrap(
        &self,
        mech: &Mechanism,
        wrapping_key: &Object,
        material: &[u8],
        rng: &mut dyn Rng,
    ) -> Result<Vec<u8>> {
        if mech.ty == M::RSA_AES_KEY_WRAP {
            let (aes_len, oaep) = rsa_aes_params(mech)?;
            let Ok(Key::Public(k)) = Key::of(wrapping_key, false) else {
                return Err(Error::WrappingKeyTypeInconsistent);
            };
            return rsa_aes_wrap(&k, aes_len, &oaep, material, rng);
        }
        let scheme = match crypt_scheme(mech)? {
            CryptScheme::Raw => return Err(Error::MechanismInvalid),
            s => s,
        };
        let Ok(Key::Public(k)) = Key::of(wrapping_key, false) else {
            return Err(Error::WrappingKeyTypeInconsistent);
        };
        encrypt_with(&k, &scheme, material, rng).map_err(|e| match e {
            Error::DataLenRange => Error::KeySizeRange,
            other => other,
        })
    }

    fn unwrap(&self, mech: &Mechanism, unwrapping_key: &Object, wrapped: &[u8]) -> Result<SecretBytes> {
        if mech.ty == M::RSA_AES_KEY_WRAP {
            let (aes_len, oaep) = rsa_aes_params(mech)?;
            let Ok(Key::Private(k)) = Key::of(unwrapping_key, true) else {
                return Err(Error::UnwrappingKeyTypeInconsistent);
            };
            return rsa_aes_unwrap(&k, aes_len, &oaep, wrapped);
        }
        let scheme = match crypt_scheme(mech)? {
            CryptScheme::Raw => return Err(Error::MechanismInvalid),
            s => s,
        };
        let Ok(Key::Private(k)) = Key::of(unwrapping_key, true) else {
            return Err(Error::UnwrappingKeyTypeInconsistent);
        };
        // Blinding needs randomness the unwrap hook is not given; a fixed-seed stream still
        // blinds against timing (the factors are unknown to an attacker who does not know the
        // key), but a fresh one is better: derive it from the wrapped bytes and the key.
        let mut rng = unwrap_blinding_rng(&k, wrapped);
        decrypt_with(&k, &scheme, wrapped, &mut rng).map_err(|e| match e {
            Error::EncryptedDataLenRange => Error::WrappedKeyLenRange,
            Error::EncryptedDataInvalid => Error::WrappedKeyInvalid,
            other => other,
        })
    }
}

// ---- CKM_RSA_AES_KEY_WRAP ----

/// Checked `CK_RSA_AES_KEY_WRAP_PARAMS`: the temporary AES key's length in bytes (`ulAESKeyBits`
/// may only be 128, 192 or 256) and the OAEP parameters that wrap it, checked as for
/// `CKM_RSA_PKCS_OAEP`.
fn rsa_aes_params(mech: &Mechanism) -> Result<(usize, OaepParams)> {
    let MechParam::RsaAesKeyWrap { aes_key_bits, oaep } = &mech.param else {
        return Err(Error::MechanismParamInvalid);
    };
    let len = match aes_key_bits {
        128 => 16,
        192 => 24,
        256 => 32,
        _ => return Err(Error::MechanismParamInvalid),
    };
    Ok((len, oaep_params(oaep)?))
}

/// `C_WrapKey` with `CKM_RSA_AES_KEY_WRAP`: a fresh AES key of `aes_len` bytes, which no handle
/// ever names, wrapped with OAEP under `key`, followed by `material` wrapped under that AES key
/// with KWP (RFC 5649). The temporary key is zeroized when this returns.
fn rsa_aes_wrap(
    key: &PublicKey,
    aes_len: usize,
    oaep: &OaepParams,
    material: &[u8],
    rng: &mut dyn Rng,
) -> Result<Vec<u8>> {
    let mut buf = zeroize::Zeroizing::new([0u8; 32]);
    let temp = &mut buf[..aes_len];
    rng.fill(temp)?;
    let mut out = rsa::encrypt_oaep(key, oaep, temp, rng).map_err(|e| match e {
        // The modulus has no room for the AES key under this hash (1024 bits with SHA-512).
        Error::DataLenRange => Error::WrappingKeySizeRange,
        other => other,
    })?;
    let kwp = aes_kw::wrap_pad(&BlockCipher::aes(temp)?, &KWP_AIV, material).map_err(|e| match e {
        Error::DataLenRange => Error::KeySizeRange,
        other => other,
    })?;
    out.extend_from_slice(&kwp);
    Ok(out)
}

/// `C_UnwrapKey` with `CKM_RSA_AES_KEY_WRAP`: the first k bytes (the modulus length) are the
/// OAEP-wrapped AES key, the rest the KWP-wrapped target. Every integrity failure, in either
/// part, is one `CKR_WRAPPED_KEY_INVALID`; so is a temporary key of another length than
/// `ulAESKeyBits` names.
fn rsa_aes_unwrap(
    key: &PrivateKey,
    aes_len: usize,
    oaep: &OaepParams,
    wrapped: &[u8],
) -> Result<SecretBytes> {
    let k = key.size();
    // KWP output is whole 64-bit blocks, at least two.
    let kwp_len = wrapped.len().checked_sub(k).ok_or(Error::WrappedKeyLenRange)?;
    if kwp_len < 16 || !kwp_len.is_multiple_of(8) {
        return Err(Error::WrappedKeyLenRange);
    }
    let (rsa_part, kwp_part) = wrapped.split_at(k);
    let mut rng = unwrap_blinding_rng(key, wrapped);
    let temp = rsa::decrypt_oaep(key, oaep, rsa_part, &mut rng).map_err(|e| match e {
        Error::EncryptedDataInvalid | Error::EncryptedDataLenRange => Error::WrappedKeyInvalid,
        other => other,
    })?;
    if temp.len() != aes_len {
        return Err(Error::WrappedKeyInvalid);
    }
    aes_kw::unwrap_pad(&BlockCipher::aes(temp.expose())?, &KWP_AIV, kwp_part).map_err(|e| match e {
        Error::EncryptedDataInvalid => Error::WrappedKeyInvalid,
        Error::EncryptedDataLenRange => Error::WrappedKeyLenRange,
        other => other,
    })
}

/// A generator for the blinding factors of `C_UnwrapKey` (the `Family::unwrap` hook takes no
/// RNG): ChaCha20 keyed by SHA-256(d ‖ ciphertext), secret to anyone without the key.
fn unwrap_blinding_rng(key: &PrivateKey, wrapped: &[u8]) -> crate::rng::DeterministicRng {
    use sha2::Digest as _;
    let mut h = sha2::Sha256::new();
    if let Ok(parts) = key.parts() {
        h.update(parts.d.expose());
    }
    h.update(wrapped);
    crate::rng::DeterministicRng::from_seed(h.finalize().into())
}
