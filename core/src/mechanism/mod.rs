//! Mechanisms: one table, sorted by `CKM_*` code, drives `C_GetMechanismList`,
//! `C_GetMechanismInfo`, parameter parsing at the edge, and dispatch: each row names the
//! [`Family`] that implements it. The algorithm modules (`digest`, `hmac`, `aes_gcm`, `ec`)
//! are the only code that calls crypto crates (the provider seam of DESIGN §1); the
//! families in [`ops`] turn PKCS#11 mechanisms and key objects into calls on them.

use alloc::boxed::Box;
use alloc::vec::Vec;

use crate::attribute::Attribute;
use crate::consts::flags::{
    CKF_DECRYPT, CKF_DIGEST, CKF_EC_F_P, CKF_EC_NAMEDCURVE, CKF_EC_UNCOMPRESS, CKF_ENCRYPT, CKF_GENERATE,
    CKF_GENERATE_KEY_PAIR, CKF_SIGN, CKF_VERIFY,
};
use crate::consts::{KeyType, MechanismType, ObjectClass};
use crate::info::{Mechanism, MechanismInfo};
use crate::object::Object;
use crate::object::policy::{Origin, Rule};
use crate::rng::Rng;
use crate::secret::SecretBytes;
use crate::{Error, Result};

pub mod aes_gcm;
pub mod aes_kw;
pub mod block;
pub mod ccm;
pub mod chacha;
pub mod cmac;
pub mod dh;
pub mod digest;
pub mod dsa;
pub mod ec;
pub mod edwards;
pub mod hmac;
pub mod kdf;
pub mod mldsa;
pub mod ops;
pub mod rsa;
pub mod support;

/// A running signature or verification (`C_Sign*`, `C_Verify*`, MACs included).
pub trait Signer: Send + core::fmt::Debug {
    /// Feed data of a multi-part operation.
    ///
    /// # Errors
    /// `FunctionNotSupported` for single-part-only mechanisms.
    fn update(&mut self, data: &[u8]) -> Result<()>;
    /// Feed the whole input of a one-call `C_Sign`/`C_Verify`.
    ///
    /// # Errors
    /// `DataLenRange` when the input cannot be signed by this mechanism.
    fn feed_all(&mut self, data: &[u8]) -> Result<()>;
    /// The longest signature this operation can produce.
    fn max_len(&self) -> usize;
    /// The signature over everything fed; must not consume the state.
    ///
    /// # Errors
    /// Algorithm errors.
    fn sign(&self, rng: &mut dyn Rng) -> Result<Vec<u8>>;
    /// Check a signature over everything fed.
    ///
    /// # Errors
    /// `SignatureInvalid`, `SignatureLenRange`.
    fn verify(&self, signature: &[u8]) -> Result<()>;
    /// A copy of the state (one-call forms work on a copy so a short buffer keeps the operation).
    fn box_clone(&self) -> Box<dyn Signer>;
    /// A one-call `C_Sign` over `data` from this state, which is not consumed. The default
    /// works on a boxed copy; MACs override it to skip the box on the hot path.
    ///
    /// # Errors
    /// As [`Signer::feed_all`] and [`Signer::sign`].
    fn sign_all(&self, data: &[u8], rng: &mut dyn Rng) -> Result<Vec<u8>> {
        let mut op = self.box_clone();
        op.feed_all(data)?;
        op.sign(rng)
    }
    /// [`Signer::sign_all`] when the operation ends with this call (`C_Sign` with a buffer
    /// large enough for [`Signer::max_len`]): the state is consumed, so nothing is copied.
    ///
    /// # Errors
    /// As [`Signer::sign_all`].
    fn sign_all_once(mut self: Box<Self>, data: &[u8], rng: &mut dyn Rng) -> Result<Vec<u8>> {
        self.feed_all(data)?;
        self.sign(rng)
    }
    /// A one-call `C_Verify` over `data`, as [`Signer::sign_all`].
    ///
    /// # Errors
    /// As [`Signer::feed_all`] and [`Signer::verify`].
    fn verify_all(&self, data: &[u8], signature: &[u8]) -> Result<()> {
        let mut op = self.box_clone();
        op.feed_all(data)?;
        op.verify(signature)
    }
}

/// A running encryption or decryption.
pub trait Cipher: Send + core::fmt::Debug {
    /// Output an `update` with `n` more input bytes produces, exactly.
    fn update_len(&self, n: usize) -> usize;
    /// Feed input; returns the output produced now.
    ///
    /// # Errors
    /// `DataLenRange`, `EncryptedDataLenRange`, algorithm errors.
    fn update(&mut self, data: &[u8]) -> Result<Vec<u8>>;
    /// An upper bound of the final output, for length queries.
    fn final_len(&self) -> usize;
    /// The remaining output; must not consume the state.
    ///
    /// # Errors
    /// `EncryptedDataInvalid`, `EncryptedDataLenRange`, `DataLenRange`.
    fn finish(&self, rng: &mut dyn Rng) -> Result<Vec<u8>>;
    /// A copy of the state.
    fn box_clone(&self) -> Box<dyn Cipher>;
    /// The whole output of a one-call `C_Encrypt`/`C_Decrypt` over `data` from this state,
    /// which is not consumed. The default runs `update` and `finish` on a copy; ciphers
    /// override it to skip the copies on the hot path.
    ///
    /// # Errors
    /// As [`Cipher::update`] and [`Cipher::finish`].
    fn one_shot(&self, data: &[u8], rng: &mut dyn Rng) -> Result<Vec<u8>> {
        let mut op = self.box_clone();
        let mut v = op.update(data)?;
        v.extend_from_slice(&op.finish(rng)?);
        Ok(v)
    }
    /// An upper bound of [`Cipher::one_shot`]'s output, for length queries.
    fn one_shot_len(&self, data: &[u8]) -> usize {
        let mut probe = self.box_clone();
        probe.update(data).map(|v| v.len()).unwrap_or(0) + probe.final_len()
    }
}

/// The attributes a key-pair generation computed: (public, private).
pub type KeyPairAttributes = (Vec<Attribute>, Vec<Attribute>);

/// A group of mechanisms implemented together. Every method defaults to
/// `CKR_MECHANISM_INVALID`, so a family implements only what it offers.
pub trait Family: Sync {
    /// Start a signature (`verify == false`) or verification with `key`.
    ///
    /// # Errors
    /// `MechanismInvalid`, `MechanismParamInvalid`, `KeyTypeInconsistent`.
    fn signer(&self, _mech: &Mechanism, _key: &Object, _verify: bool) -> Result<Box<dyn Signer>> {
        Err(Error::MechanismInvalid)
    }
    /// Start an encryption or decryption with `key`.
    ///
    /// # Errors
    /// `MechanismInvalid`, `MechanismParamInvalid`, `KeyTypeInconsistent`, `KeySizeRange`.
    fn cipher(&self, _mech: &Mechanism, _key: &Object, _encrypt: bool) -> Result<Box<dyn Cipher>> {
        Err(Error::MechanismInvalid)
    }
    /// Generate a secret key: the attributes the token computes (`CKA_CLASS`,
    /// `CKA_KEY_TYPE`, `CKA_VALUE`, …) from the application's template.
    ///
    /// # Errors
    /// `TemplateIncomplete`, `TemplateInconsistent`, `KeySizeRange`.
    fn generate_key(
        &self,
        _mech: &Mechanism,
        _template: &[Attribute],
        _rng: &mut dyn Rng,
    ) -> Result<Vec<Attribute>> {
        Err(Error::MechanismInvalid)
    }
    /// Generate a key pair: the computed attributes of the public and private objects.
    ///
    /// # Errors
    /// `TemplateIncomplete`, `TemplateInconsistent`, `CurveNotSupported`, `KeySizeRange`.
    fn generate_key_pair(
        &self,
        _mech: &Mechanism,
        _public: &[Attribute],
        _private: &[Attribute],
        _rng: &mut dyn Rng,
    ) -> Result<KeyPairAttributes> {
        Err(Error::MechanismInvalid)
    }
    /// `C_SignRecover`: sign `data` so that the signature reveals it (RSA).
    ///
    /// # Errors
    /// `MechanismInvalid`, `DataLenRange`, `KeyTypeInconsistent`.
    fn sign_recover(
        &self,
        _mech: &Mechanism,
        _key: &Object,
        _data: &[u8],
        _rng: &mut dyn Rng,
    ) -> Result<Vec<u8>> {
        Err(Error::MechanismInvalid)
    }
    /// `C_VerifyRecover`: check `signature` and return the data it carries.
    ///
    /// # Errors
    /// `SignatureInvalid`, `SignatureLenRange`, `MechanismInvalid`.
    fn verify_recover(&self, _mech: &Mechanism, _key: &Object, _signature: &[u8]) -> Result<Vec<u8>> {
        Err(Error::MechanismInvalid)
    }
    /// `C_DeriveKey`: the new key's computed attributes from `base`. `others` holds the
    /// other key objects the parameter names by handle (a salt key, a second base key),
    /// already resolved and checked by the engine.
    ///
    /// # Errors
    /// `MechanismParamInvalid`, `KeyTypeInconsistent`, `TemplateIncomplete`,
    /// `TemplateInconsistent`, `KeySizeRange`.
    fn derive(
        &self,
        _mech: &Mechanism,
        _base: &Object,
        _template: &[Attribute],
        _others: &[(u64, Object)],
        _rng: &mut dyn Rng,
    ) -> Result<Derived> {
        Err(Error::MechanismInvalid)
    }
    /// `C_WrapKey`: encrypt `material` (a secret key's value, or a private key's PKCS#8
    /// `PrivateKeyInfo`) under `wrapping_key`.
    ///
    /// # Errors
    /// `MechanismParamInvalid`, `WrappingKeyTypeInconsistent`, `WrappingKeySizeRange`, `KeySizeRange`.
    fn wrap(
        &self,
        _mech: &Mechanism,
        _wrapping_key: &Object,
        _material: &[u8],
        _rng: &mut dyn Rng,
    ) -> Result<Vec<u8>> {
        Err(Error::MechanismInvalid)
    }
    /// `C_UnwrapKey`: decrypt and authenticate `wrapped`, returning the key material.
    ///
    /// # Errors
    /// `WrappedKeyInvalid` (any integrity failure), `WrappedKeyLenRange`,
    /// `UnwrappingKeyTypeInconsistent`, `MechanismParamInvalid`.
    fn unwrap(&self, _mech: &Mechanism, _unwrapping_key: &Object, _wrapped: &[u8]) -> Result<SecretBytes> {
        Err(Error::MechanismInvalid)
    }
}

/// What a key derivation computed: the attributes of the new key, and of each additional
/// key the mechanism makes (SP 800-108), with the template the caller gave for it.
#[derive(Debug, Default)]
pub struct Derived {
    /// The token-computed attributes of the derived key (`CKA_CLASS`, `CKA_KEY_TYPE`, `CKA_VALUE`, …).
    pub attrs: Vec<Attribute>,
    /// (template, computed attributes) of each additional derived key.
    pub additional: Vec<(Vec<Attribute>, Vec<Attribute>)>,
}

impl core::fmt::Debug for dyn Family {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Family")
    }
}

/// The type-specific attribute rules and checks of one key type.
pub trait KeyKind: Sync {
    /// The rules for objects of `class` with this key type, or `None` if the type has no
    /// such class (an AES public key).
    fn rules(&self, class: ObjectClass) -> Option<&'static [Rule]>;
    /// Validate the key material and set the attributes derived from it
    /// (`CKA_VALUE_LEN`, `CKA_EC_POINT`, `CKA_PUBLIC_KEY_INFO`, …).
    ///
    /// # Errors
    /// `AttributeValueInvalid`, `TemplateInconsistent`, `TemplateIncomplete`, `KeySizeRange`.
    fn complete(&self, obj: &mut Object, class: ObjectClass, origin: Origin) -> Result<()>;
    /// A private key of this type as a PKCS#8 `PrivateKeyInfo` (DER), for `C_WrapKey`.
    ///
    /// # Errors
    /// `KeyNotWrappable` when the type cannot be exported.
    fn export_pkcs8(&self, _key: &Object) -> Result<SecretBytes> {
        Err(Error::KeyNotWrappable)
    }
    /// The attributes (`CKA_VALUE`, `CKA_EC_PARAMS`, `CKA_MODULUS`, …) of a private key of
    /// this type from a PKCS#8 `PrivateKeyInfo`, for `C_UnwrapKey`.
    ///
    /// # Errors
    /// `WrappedKeyInvalid` when the DER is not a key of this type.
    fn import_pkcs8(&self, _der: &[u8]) -> Result<Vec<Attribute>> {
        Err(Error::WrappedKeyInvalid)
    }
}

/// Every key type the engine stores, sorted by code (a test keeps it so).
pub static KEY_KINDS: &[(KeyType, &dyn KeyKind)] = &[
    (KeyType::RSA, &ops::rsa::RsaKey),
    (KeyType::DSA, &ops::dsa::DsaKey),
    (KeyType::DH, &ops::dh::DhKey),
    (KeyType::EC, &ops::ec_keys::EcKey),
    (KeyType::GENERIC_SECRET, &ops::secret_keys::GENERIC),
    (KeyType::DES2, &ops::secret_keys::DES2),
    (KeyType::DES3, &ops::secret_keys::DES3),
    (KeyType::AES, &ops::secret_keys::AES),
    (KeyType::SHA_1_HMAC, &ops::secret_keys::GENERIC),
    (KeyType::SHA256_HMAC, &ops::secret_keys::GENERIC),
    (KeyType::SHA384_HMAC, &ops::secret_keys::GENERIC),
    (KeyType::SHA512_HMAC, &ops::secret_keys::GENERIC),
    (KeyType::SHA224_HMAC, &ops::secret_keys::GENERIC),
    (KeyType::CHACHA20, &ops::secret_keys::CHACHA20),
    (KeyType::SHA3_224_HMAC, &ops::secret_keys::GENERIC),
    (KeyType::SHA3_256_HMAC, &ops::secret_keys::GENERIC),
    (KeyType::SHA3_384_HMAC, &ops::secret_keys::GENERIC),
    (KeyType::SHA3_512_HMAC, &ops::secret_keys::GENERIC),
    (KeyType::EC_EDWARDS, &ops::eddsa::EDWARDS),
    (KeyType::EC_MONTGOMERY, &ops::eddsa::MONTGOMERY),
    (KeyType::HKDF, &ops::secret_keys::GENERIC),
    (KeyType::SHA512_224_HMAC, &ops::secret_keys::GENERIC),
    (KeyType::SHA512_256_HMAC, &ops::secret_keys::GENERIC),
    (KeyType::ML_DSA, &ops::mldsa::MlDsaKey),
];

/// The rules and checks of a key type, or `None` for a type the engine does not store.
pub fn key_kind(kt: KeyType) -> Option<&'static dyn KeyKind> {
    KEY_KINDS.binary_search_by_key(&kt, |(k, _)| *k).ok().map(|i| KEY_KINDS[i].1)
}

/// The parameter shape a mechanism takes: front-ends parse exactly this from
/// `CK_MECHANISM` into the matching [`MechParam`](crate::info::MechParam) variant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParamKind {
    /// No parameter → `MechParam::None`.
    None,
    /// A byte string (an IV, a DH public value) → `MechParam::Bytes`.
    Bytes,
    /// An optional byte string: NULL → `MechParam::None`, else `MechParam::Bytes` (AES-KW IVs).
    OptionalBytes,
    /// One `CK_ULONG`: `CK_MAC_GENERAL_PARAMS`, `CK_EXTRACT_PARAMS` → `MechParam::Ulong`.
    Ulong,
    /// A `CK_OBJECT_HANDLE` (`CKM_CONCATENATE_BASE_AND_KEY`) → `MechParam::Ulong`.
    ObjectHandle,
    /// `CK_KEY_DERIVATION_STRING_DATA` → `MechParam::Bytes`.
    KeyDerivationString,
    /// `CK_GCM_PARAMS` → `MechParam::Gcm`.
    Gcm,
    /// `CK_CCM_PARAMS` → `MechParam::Ccm`.
    Ccm,
    /// `CK_AES_CTR_PARAMS` → `MechParam::AesCtr`.
    AesCtr,
    /// `CK_SALSA20_CHACHA20_POLY1305_PARAMS` → `MechParam::ChaCha20Poly1305`.
    ChaCha20Poly1305,
    /// `CK_AES_CBC_ENCRYPT_DATA_PARAMS` → `MechParam::CbcEncryptData` (16-byte IV).
    AesCbcEncryptData,
    /// `CK_DES_CBC_ENCRYPT_DATA_PARAMS` → `MechParam::CbcEncryptData` (8-byte IV).
    DesCbcEncryptData,
    /// `CK_RSA_PKCS_PSS_PARAMS` → `MechParam::RsaPss`.
    RsaPss,
    /// `CK_RSA_PKCS_OAEP_PARAMS` → `MechParam::RsaOaep`.
    RsaOaep,
    /// `CK_RSA_AES_KEY_WRAP_PARAMS` → `MechParam::RsaAesKeyWrap`.
    RsaAesKeyWrap,
    /// Optional `CK_EDDSA_PARAMS`: NULL → `MechParam::None`, else `MechParam::Eddsa`.
    Eddsa,
    /// `CK_ECDH1_DERIVE_PARAMS` → `MechParam::Ecdh1`.
    Ecdh1,
    /// Optional `CK_SIGN_ADDITIONAL_CONTEXT`: NULL → `MechParam::None`, else `MechParam::SignContext`.
    SignContext,
    /// `CK_HASH_SIGN_ADDITIONAL_CONTEXT` → `MechParam::HashSignContext`.
    HashSignContext,
    /// `CK_HKDF_PARAMS` → `MechParam::Hkdf`.
    Hkdf,
    /// `CK_PKCS5_PBKD2_PARAMS2` (or the older `CK_PKCS5_PBKD2_PARAMS`) → `MechParam::Pbkdf2`.
    Pbkdf2,
    /// `CK_SP800_108_KDF_PARAMS` → `MechParam::Sp800108` (no IV).
    Sp800108Counter,
    /// `CK_SP800_108_FEEDBACK_KDF_PARAMS` → `MechParam::Sp800108` (with IV).
    Sp800108Feedback,
}

/// One row of the mechanism table.
#[derive(Clone, Copy)]
pub struct MechEntry {
    /// `CKM_*`.
    pub ty: MechanismType,
    /// What `C_GetMechanismInfo` reports.
    pub info: MechanismInfo,
    /// The parameter it takes.
    pub param: ParamKind,
    /// Who implements it.
    pub family: &'static dyn Family,
}

impl core::fmt::Debug for MechEntry {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("MechEntry").field("ty", &self.ty).field("info", &self.info).finish_non_exhaustive()
    }
}

const fn m(
    ty: MechanismType,
    min: u64,
    max: u64,
    flags: u64,
    param: ParamKind,
    family: &'static dyn Family,
) -> MechEntry {
    MechEntry { ty, info: MechanismInfo { min_key_size: min, max_key_size: max, flags }, param, family }
}

/// Digests are run by the engine directly; their rows name no family.
struct NoFamily;
impl Family for NoFamily {}

const DIG: &dyn Family = &NoFamily;
const HMAC: &dyn Family = &ops::hmac::Hmac;
const ECDSA: &dyn Family = &ops::ecdsa::Ecdsa;
const GCM: &dyn Family = &ops::gcm::Gcm;
const KEYGEN: &dyn Family = &ops::secret_keys::SecretKeyGen;
const ECGEN: &dyn Family = &ops::ec_keys::EcKeyGen;
// EC beyond P-256, Edwards/Montgomery and ML-DSA (ops/ecdh.rs, eddsa.rs, mldsa.rs).
const ECDH: &dyn Family = &ops::ecdh::Ecdh;
const EDDSA: &dyn Family = &ops::eddsa::Eddsa;
const EDGEN: &dyn Family = &ops::eddsa::EdKeyGen;
const MLDSA: &dyn Family = &ops::mldsa::MlDsa;
const MLDSAGEN: &dyn Family = &ops::mldsa::MlDsaKeyGen;
/// EC key sizes: the order's bits, P-256 (and secp256k1) to P-521.
const EC_MIN: u64 = 256;
const EC_MAX: u64 = 521;
/// Mechanisms that take points from outside accept the compressed form too.
const EC_IN: u64 = EC_FLAGS | crate::consts::flags::CKF_EC_COMPRESS;
/// Edwards and Montgomery curve sizes in bits: curve25519 (255) to curve448 (448).
const EDW_MIN: u64 = 255;
const EDW_MAX: u64 = 448;
const EDW_FLAGS: u64 = CKF_EC_F_P | CKF_EC_NAMEDCURVE;
/// ML-DSA "key sizes": the parameter sets' classical strengths, 128 (ML-DSA-44) to 256 (-87).
const MLDSA_MIN: u64 = 128;
const MLDSA_MAX: u64 = 256;
// The symmetric families: block modes, key wrap, the buffered AEADs, block-cipher MACs, KDFs.
const BLOCK: &dyn Family = &ops::block_cipher::BlockModes;
const KW: &dyn Family = &ops::aes_kw::AesKeyWrap;
const AEAD: &dyn Family = &ops::aead::Aead;
const BMAC: &dyn Family = &ops::block_mac::BlockMacs;
const HKDF: &dyn Family = &ops::kdf::Hkdf;
const PBKDF2: &dyn Family = &ops::kdf::Pbkdf2;
const KBKDF: &dyn Family = &ops::kdf::Sp800108;
const SIMPLE: &dyn Family = &ops::simple_derive::SimpleDerive;
const ED: u64 = CKF_ENCRYPT | CKF_DECRYPT;
const WU: u64 = crate::consts::flags::CKF_WRAP | crate::consts::flags::CKF_UNWRAP;
const DRV: u64 = crate::consts::flags::CKF_DERIVE;
/// AES key sizes, in bytes.
const AES_MIN: u64 = 16;
const AES_MAX: u64 = 32;
/// Triple DES key sizes, in bytes (two- and three-key).
const DES3_MIN: u64 = 16;
const DES3_MAX: u64 = 24;
const RSA: &dyn Family = &ops::rsa::Rsa;
const RSAGEN: &dyn Family = &ops::rsa::RsaKeyGen;
const DSA: &dyn Family = &ops::dsa::Dsa;
const DSAGEN: &dyn Family = &ops::dsa::DsaGen;
const DH: &dyn Family = &ops::dh::Dh;
/// DSA and DH prime sizes, in bits.
const DSA_MIN: u64 = dsa::MIN_BITS as u64;
const DSA_MAX: u64 = dsa::MAX_BITS as u64;
const DH_MIN: u64 = dh::MIN_BITS as u64;
const DH_MAX: u64 = dh::MAX_BITS as u64;
/// RSA modulus sizes, in bits.
const RSA_MIN: u64 = rsa::MIN_BITS as u64;
const RSA_MAX: u64 = rsa::MAX_BITS as u64;
/// Wrapping with an RSA key.
const RSA_WRAP: u64 = crate::consts::flags::CKF_WRAP | crate::consts::flags::CKF_UNWRAP;
/// Signatures with message recovery.
const RECOVER: u64 = crate::consts::flags::CKF_SIGN_RECOVER | crate::consts::flags::CKF_VERIFY_RECOVER;
const RSA_ALL: u64 = CKF_ENCRYPT | CKF_DECRYPT | SV | RECOVER | RSA_WRAP;

const SV: u64 = CKF_SIGN | CKF_VERIFY;
const EC_FLAGS: u64 = CKF_EC_F_P | CKF_EC_NAMEDCURVE | CKF_EC_UNCOMPRESS;
/// HMAC key sizes, in bytes.
const HMAC_MIN: u64 = 1;
const HMAC_MAX: u64 = 1024;

use MechanismType as M;
use ParamKind::{Gcm, None as NoParam, Ulong};

/// Every mechanism the engine implements, sorted by code (a test keeps it so).
pub static TABLE: &[MechEntry] = &[
    m(M::RSA_PKCS_KEY_PAIR_GEN, RSA_MIN, RSA_MAX, CKF_GENERATE_KEY_PAIR, NoParam, RSAGEN),
    m(M::RSA_PKCS, RSA_MIN, RSA_MAX, RSA_ALL, NoParam, RSA),
    m(M::RSA_X_509, RSA_MIN, RSA_MAX, RSA_ALL & !RSA_WRAP, NoParam, RSA),
    m(M::SHA1_RSA_PKCS, RSA_MIN, RSA_MAX, SV, NoParam, RSA),
    m(M::RSA_PKCS_OAEP, RSA_MIN, RSA_MAX, CKF_ENCRYPT | CKF_DECRYPT | RSA_WRAP, ParamKind::RsaOaep, RSA),
    m(M::RSA_PKCS_PSS, RSA_MIN, RSA_MAX, SV, ParamKind::RsaPss, RSA),
    m(M::SHA1_RSA_PKCS_PSS, RSA_MIN, RSA_MAX, SV, ParamKind::RsaPss, RSA),
    m(M::DSA_KEY_PAIR_GEN, DSA_MIN, DSA_MAX, CKF_GENERATE_KEY_PAIR, NoParam, DSAGEN),
    m(M::DSA, DSA_MIN, DSA_MAX, SV, NoParam, DSA),
    m(M::DSA_SHA1, DSA_MIN, DSA_MAX, SV, NoParam, DSA),
    m(M::DSA_SHA224, DSA_MIN, DSA_MAX, SV, NoParam, DSA),
    m(M::DSA_SHA256, DSA_MIN, DSA_MAX, SV, NoParam, DSA),
    m(M::DSA_SHA384, DSA_MIN, DSA_MAX, SV, NoParam, DSA),
    m(M::DSA_SHA512, DSA_MIN, DSA_MAX, SV, NoParam, DSA),
    m(M::DSA_SHA3_224, DSA_MIN, DSA_MAX, SV, NoParam, DSA),
    m(M::DSA_SHA3_256, DSA_MIN, DSA_MAX, SV, NoParam, DSA),
    m(M::DSA_SHA3_384, DSA_MIN, DSA_MAX, SV, NoParam, DSA),
    m(M::DSA_SHA3_512, DSA_MIN, DSA_MAX, SV, NoParam, DSA),
    m(M::ML_DSA_KEY_PAIR_GEN, MLDSA_MIN, MLDSA_MAX, CKF_GENERATE_KEY_PAIR, NoParam, MLDSAGEN),
    m(M::ML_DSA, MLDSA_MIN, MLDSA_MAX, SV, ParamKind::SignContext, MLDSA),
    m(M::HASH_ML_DSA, MLDSA_MIN, MLDSA_MAX, SV, ParamKind::HashSignContext, MLDSA),
    m(M::DH_PKCS_KEY_PAIR_GEN, DH_MIN, DH_MAX, CKF_GENERATE_KEY_PAIR, NoParam, DH),
    m(M::DH_PKCS_DERIVE, DH_MIN, DH_MAX, crate::consts::flags::CKF_DERIVE, ParamKind::Bytes, DH),
    m(M::HASH_ML_DSA_SHA224, MLDSA_MIN, MLDSA_MAX, SV, ParamKind::SignContext, MLDSA),
    m(M::HASH_ML_DSA_SHA256, MLDSA_MIN, MLDSA_MAX, SV, ParamKind::SignContext, MLDSA),
    m(M::HASH_ML_DSA_SHA384, MLDSA_MIN, MLDSA_MAX, SV, ParamKind::SignContext, MLDSA),
    m(M::HASH_ML_DSA_SHA512, MLDSA_MIN, MLDSA_MAX, SV, ParamKind::SignContext, MLDSA),
    m(M::HASH_ML_DSA_SHA3_224, MLDSA_MIN, MLDSA_MAX, SV, ParamKind::SignContext, MLDSA),
    m(M::HASH_ML_DSA_SHA3_256, MLDSA_MIN, MLDSA_MAX, SV, ParamKind::SignContext, MLDSA),
    m(M::HASH_ML_DSA_SHA3_384, MLDSA_MIN, MLDSA_MAX, SV, ParamKind::SignContext, MLDSA),
    m(M::HASH_ML_DSA_SHA3_512, MLDSA_MIN, MLDSA_MAX, SV, ParamKind::SignContext, MLDSA),
    m(M::HASH_ML_DSA_SHAKE128, MLDSA_MIN, MLDSA_MAX, SV, ParamKind::SignContext, MLDSA),
    m(M::HASH_ML_DSA_SHAKE256, MLDSA_MIN, MLDSA_MAX, SV, ParamKind::SignContext, MLDSA),
    m(M::SHA256_RSA_PKCS, RSA_MIN, RSA_MAX, SV, NoParam, RSA),
    m(M::SHA384_RSA_PKCS, RSA_MIN, RSA_MAX, SV, NoParam, RSA),
    m(M::SHA512_RSA_PKCS, RSA_MIN, RSA_MAX, SV, NoParam, RSA),
    m(M::SHA256_RSA_PKCS_PSS, RSA_MIN, RSA_MAX, SV, ParamKind::RsaPss, RSA),
    m(M::SHA384_RSA_PKCS_PSS, RSA_MIN, RSA_MAX, SV, ParamKind::RsaPss, RSA),
    m(M::SHA512_RSA_PKCS_PSS, RSA_MIN, RSA_MAX, SV, ParamKind::RsaPss, RSA),
    m(M::SHA224_RSA_PKCS, RSA_MIN, RSA_MAX, SV, NoParam, RSA),
    m(M::SHA224_RSA_PKCS_PSS, RSA_MIN, RSA_MAX, SV, ParamKind::RsaPss, RSA),
    m(M::SHA512_224, 0, 0, CKF_DIGEST, NoParam, DIG),
    m(M::SHA512_224_HMAC, HMAC_MIN, HMAC_MAX, SV, NoParam, HMAC),
    m(M::SHA512_224_HMAC_GENERAL, HMAC_MIN, HMAC_MAX, SV, Ulong, HMAC),
    m(M::SHA512_256, 0, 0, CKF_DIGEST, NoParam, DIG),
    m(M::SHA512_256_HMAC, HMAC_MIN, HMAC_MAX, SV, NoParam, HMAC),
    m(M::SHA512_256_HMAC_GENERAL, HMAC_MIN, HMAC_MAX, SV, Ulong, HMAC),
    m(M::SHA3_256_RSA_PKCS, RSA_MIN, RSA_MAX, SV, NoParam, RSA),
    m(M::SHA3_384_RSA_PKCS, RSA_MIN, RSA_MAX, SV, NoParam, RSA),
    m(M::SHA3_512_RSA_PKCS, RSA_MIN, RSA_MAX, SV, NoParam, RSA),
    m(M::SHA3_256_RSA_PKCS_PSS, RSA_MIN, RSA_MAX, SV, ParamKind::RsaPss, RSA),
    m(M::SHA3_384_RSA_PKCS_PSS, RSA_MIN, RSA_MAX, SV, ParamKind::RsaPss, RSA),
    m(M::SHA3_512_RSA_PKCS_PSS, RSA_MIN, RSA_MAX, SV, ParamKind::RsaPss, RSA),
    m(M::SHA3_224_RSA_PKCS, RSA_MIN, RSA_MAX, SV, NoParam, RSA),
    m(M::SHA3_224_RSA_PKCS_PSS, RSA_MIN, RSA_MAX, SV, ParamKind::RsaPss, RSA),
    m(M::DES2_KEY_GEN, 16, 16, CKF_GENERATE, NoParam, KEYGEN),
    m(M::DES3_KEY_GEN, 24, 24, CKF_GENERATE, NoParam, KEYGEN),
    m(M::DES3_ECB, DES3_MIN, DES3_MAX, ED | WU, NoParam, BLOCK),
    m(M::DES3_CBC, DES3_MIN, DES3_MAX, ED | WU, ParamKind::Bytes, BLOCK),
    m(M::DES3_MAC, DES3_MIN, DES3_MAX, SV, NoParam, BMAC),
    m(M::DES3_MAC_GENERAL, DES3_MIN, DES3_MAX, SV, Ulong, BMAC),
    m(M::DES3_CBC_PAD, DES3_MIN, DES3_MAX, ED | WU, ParamKind::Bytes, BLOCK),
    m(M::DES3_CMAC_GENERAL, DES3_MIN, DES3_MAX, SV, Ulong, BMAC),
    m(M::DES3_CMAC, DES3_MIN, DES3_MAX, SV, NoParam, BMAC),
    m(M::SHA_1, 0, 0, CKF_DIGEST, NoParam, DIG),
    m(M::SHA_1_HMAC, HMAC_MIN, HMAC_MAX, SV, NoParam, HMAC),
    m(M::SHA_1_HMAC_GENERAL, HMAC_MIN, HMAC_MAX, SV, Ulong, HMAC),
    m(M::SHA256, 0, 0, CKF_DIGEST, NoParam, DIG),
    m(M::SHA256_HMAC, HMAC_MIN, HMAC_MAX, SV, NoParam, HMAC),
    m(M::SHA256_HMAC_GENERAL, HMAC_MIN, HMAC_MAX, SV, Ulong, HMAC),
    m(M::SHA224, 0, 0, CKF_DIGEST, NoParam, DIG),
    m(M::SHA224_HMAC, HMAC_MIN, HMAC_MAX, SV, NoParam, HMAC),
    m(M::SHA224_HMAC_GENERAL, HMAC_MIN, HMAC_MAX, SV, Ulong, HMAC),
    m(M::SHA384, 0, 0, CKF_DIGEST, NoParam, DIG),
    m(M::SHA384_HMAC, HMAC_MIN, HMAC_MAX, SV, NoParam, HMAC),
    m(M::SHA384_HMAC_GENERAL, HMAC_MIN, HMAC_MAX, SV, Ulong, HMAC),
    m(M::SHA512, 0, 0, CKF_DIGEST, NoParam, DIG),
    m(M::SHA512_HMAC, HMAC_MIN, HMAC_MAX, SV, NoParam, HMAC),
    m(M::SHA512_HMAC_GENERAL, HMAC_MIN, HMAC_MAX, SV, Ulong, HMAC),
    m(M::SHA3_256, 0, 0, CKF_DIGEST, NoParam, DIG),
    m(M::SHA3_256_HMAC, HMAC_MIN, HMAC_MAX, SV, NoParam, HMAC),
    m(M::SHA3_256_HMAC_GENERAL, HMAC_MIN, HMAC_MAX, SV, Ulong, HMAC),
    m(M::SHA3_256_KEY_GEN, HMAC_MIN, HMAC_MAX, CKF_GENERATE, NoParam, KEYGEN),
    m(M::SHA3_224, 0, 0, CKF_DIGEST, NoParam, DIG),
    m(M::SHA3_224_HMAC, HMAC_MIN, HMAC_MAX, SV, NoParam, HMAC),
    m(M::SHA3_224_HMAC_GENERAL, HMAC_MIN, HMAC_MAX, SV, Ulong, HMAC),
    m(M::SHA3_224_KEY_GEN, HMAC_MIN, HMAC_MAX, CKF_GENERATE, NoParam, KEYGEN),
    m(M::SHA3_384, 0, 0, CKF_DIGEST, NoParam, DIG),
    m(M::SHA3_384_HMAC, HMAC_MIN, HMAC_MAX, SV, NoParam, HMAC),
    m(M::SHA3_384_HMAC_GENERAL, HMAC_MIN, HMAC_MAX, SV, Ulong, HMAC),
    m(M::SHA3_384_KEY_GEN, HMAC_MIN, HMAC_MAX, CKF_GENERATE, NoParam, KEYGEN),
    m(M::SHA3_512, 0, 0, CKF_DIGEST, NoParam, DIG),
    m(M::SHA3_512_HMAC, HMAC_MIN, HMAC_MAX, SV, NoParam, HMAC),
    m(M::SHA3_512_HMAC_GENERAL, HMAC_MIN, HMAC_MAX, SV, Ulong, HMAC),
    m(M::SHA3_512_KEY_GEN, HMAC_MIN, HMAC_MAX, CKF_GENERATE, NoParam, KEYGEN),
    // Generic secret key generation sizes are in bits, as the spec says.
    m(M::GENERIC_SECRET_KEY_GEN, 8, 8 * HMAC_MAX, CKF_GENERATE, NoParam, KEYGEN),
    m(M::CONCATENATE_BASE_AND_KEY, HMAC_MIN, HMAC_MAX, DRV, ParamKind::ObjectHandle, SIMPLE),
    m(M::CONCATENATE_BASE_AND_DATA, HMAC_MIN, HMAC_MAX, DRV, ParamKind::KeyDerivationString, SIMPLE),
    m(M::CONCATENATE_DATA_AND_BASE, HMAC_MIN, HMAC_MAX, DRV, ParamKind::KeyDerivationString, SIMPLE),
    m(M::XOR_BASE_AND_DATA, HMAC_MIN, HMAC_MAX, DRV, ParamKind::KeyDerivationString, SIMPLE),
    m(M::EXTRACT_KEY_FROM_KEY, HMAC_MIN, HMAC_MAX, DRV, Ulong, SIMPLE),
    m(M::SP800_108_COUNTER_KDF, HMAC_MIN, HMAC_MAX, DRV, ParamKind::Sp800108Counter, KBKDF),
    m(M::SP800_108_FEEDBACK_KDF, HMAC_MIN, HMAC_MAX, DRV, ParamKind::Sp800108Feedback, KBKDF),
    m(M::SP800_108_DOUBLE_PIPELINE_KDF, HMAC_MIN, HMAC_MAX, DRV, ParamKind::Sp800108Counter, KBKDF),
    m(M::PKCS5_PBKD2, HMAC_MIN, HMAC_MAX, CKF_GENERATE, ParamKind::Pbkdf2, PBKDF2),
    m(M::EC_KEY_PAIR_GEN, EC_MIN, EC_MAX, CKF_GENERATE_KEY_PAIR | EC_FLAGS, NoParam, ECGEN),
    m(M::ECDSA, EC_MIN, EC_MAX, SV | EC_IN, NoParam, ECDSA),
    m(M::ECDSA_SHA1, EC_MIN, EC_MAX, SV | EC_IN, NoParam, ECDSA),
    m(M::ECDSA_SHA224, EC_MIN, EC_MAX, SV | EC_IN, NoParam, ECDSA),
    m(M::ECDSA_SHA256, EC_MIN, EC_MAX, SV | EC_IN, NoParam, ECDSA),
    m(M::ECDSA_SHA384, EC_MIN, EC_MAX, SV | EC_IN, NoParam, ECDSA),
    m(M::ECDSA_SHA512, EC_MIN, EC_MAX, SV | EC_IN, NoParam, ECDSA),
    m(M::ECDSA_SHA3_224, EC_MIN, EC_MAX, SV | EC_IN, NoParam, ECDSA),
    m(M::ECDSA_SHA3_256, EC_MIN, EC_MAX, SV | EC_IN, NoParam, ECDSA),
    m(M::ECDSA_SHA3_384, EC_MIN, EC_MAX, SV | EC_IN, NoParam, ECDSA),
    m(M::ECDSA_SHA3_512, EC_MIN, EC_MAX, SV | EC_IN, NoParam, ECDSA),
    m(M::ECDH1_DERIVE, EDW_MIN, EC_MAX, DRV | EC_IN, ParamKind::Ecdh1, ECDH),
    m(M::ECDH1_COFACTOR_DERIVE, EDW_MIN, EC_MAX, DRV | EC_IN, ParamKind::Ecdh1, ECDH),
    m(M::RSA_AES_KEY_WRAP, RSA_MIN, RSA_MAX, RSA_WRAP, ParamKind::RsaAesKeyWrap, RSA),
    m(M::EC_EDWARDS_KEY_PAIR_GEN, EDW_MIN, EDW_MAX, CKF_GENERATE_KEY_PAIR | EDW_FLAGS, NoParam, EDGEN),
    m(M::EC_MONTGOMERY_KEY_PAIR_GEN, EDW_MIN, EDW_MAX, CKF_GENERATE_KEY_PAIR | EDW_FLAGS, NoParam, EDGEN),
    m(M::EDDSA, EDW_MIN, EDW_MAX, SV | EDW_FLAGS, ParamKind::Eddsa, EDDSA),
    // AES key sizes are in bytes.
    m(M::AES_KEY_GEN, 16, 32, CKF_GENERATE, NoParam, KEYGEN),
    m(M::AES_ECB, AES_MIN, AES_MAX, ED | WU, NoParam, BLOCK),
    m(M::AES_CBC, AES_MIN, AES_MAX, ED | WU, ParamKind::Bytes, BLOCK),
    m(M::AES_MAC, AES_MIN, AES_MAX, SV, NoParam, BMAC),
    m(M::AES_MAC_GENERAL, AES_MIN, AES_MAX, SV, Ulong, BMAC),
    m(M::AES_CBC_PAD, AES_MIN, AES_MAX, ED | WU, ParamKind::Bytes, BLOCK),
    m(M::AES_CTR, AES_MIN, AES_MAX, ED, ParamKind::AesCtr, BLOCK),
    m(M::AES_GCM, AES_MIN, AES_MAX, ED | WU, Gcm, GCM),
    m(M::AES_CCM, AES_MIN, AES_MAX, ED, ParamKind::Ccm, AEAD),
    m(M::AES_CTS, AES_MIN, AES_MAX, ED, ParamKind::Bytes, BLOCK),
    m(M::AES_CMAC, AES_MIN, AES_MAX, SV, NoParam, BMAC),
    m(M::AES_CMAC_GENERAL, AES_MIN, AES_MAX, SV, Ulong, BMAC),
    m(M::DES3_ECB_ENCRYPT_DATA, DES3_MIN, DES3_MAX, DRV, ParamKind::KeyDerivationString, BLOCK),
    m(M::DES3_CBC_ENCRYPT_DATA, DES3_MIN, DES3_MAX, DRV, ParamKind::DesCbcEncryptData, BLOCK),
    m(M::AES_ECB_ENCRYPT_DATA, AES_MIN, AES_MAX, DRV, ParamKind::KeyDerivationString, BLOCK),
    m(M::AES_CBC_ENCRYPT_DATA, AES_MIN, AES_MAX, DRV, ParamKind::AesCbcEncryptData, BLOCK),
    m(M::CHACHA20_KEY_GEN, 32, 32, CKF_GENERATE, NoParam, KEYGEN),
    m(M::DSA_PARAMETER_GEN, DSA_MIN, DSA_MAX, CKF_GENERATE, NoParam, DSAGEN),
    m(M::DH_PKCS_PARAMETER_GEN, DH_MIN, DH_MAX, CKF_GENERATE, NoParam, DH),
    m(M::AES_OFB, AES_MIN, AES_MAX, ED, ParamKind::Bytes, BLOCK),
    m(M::AES_CFB8, AES_MIN, AES_MAX, ED, ParamKind::Bytes, BLOCK),
    m(M::AES_CFB128, AES_MIN, AES_MAX, ED, ParamKind::Bytes, BLOCK),
    m(M::AES_KEY_WRAP, AES_MIN, AES_MAX, ED | WU, ParamKind::OptionalBytes, KW),
    m(M::AES_KEY_WRAP_PAD, AES_MIN, AES_MAX, ED | WU, ParamKind::OptionalBytes, KW),
    m(M::AES_KEY_WRAP_KWP, AES_MIN, AES_MAX, ED | WU, ParamKind::OptionalBytes, KW),
    m(M::SHA_1_KEY_GEN, HMAC_MIN, HMAC_MAX, CKF_GENERATE, NoParam, KEYGEN),
    m(M::SHA224_KEY_GEN, HMAC_MIN, HMAC_MAX, CKF_GENERATE, NoParam, KEYGEN),
    m(M::SHA256_KEY_GEN, HMAC_MIN, HMAC_MAX, CKF_GENERATE, NoParam, KEYGEN),
    m(M::SHA384_KEY_GEN, HMAC_MIN, HMAC_MAX, CKF_GENERATE, NoParam, KEYGEN),
    m(M::SHA512_KEY_GEN, HMAC_MIN, HMAC_MAX, CKF_GENERATE, NoParam, KEYGEN),
    m(M::SHA512_224_KEY_GEN, HMAC_MIN, HMAC_MAX, CKF_GENERATE, NoParam, KEYGEN),
    m(M::SHA512_256_KEY_GEN, HMAC_MIN, HMAC_MAX, CKF_GENERATE, NoParam, KEYGEN),
    m(M::CHACHA20_POLY1305, 32, 32, ED, ParamKind::ChaCha20Poly1305, AEAD),
    m(M::HKDF_DERIVE, HMAC_MIN, HMAC_MAX, DRV, ParamKind::Hkdf, HKDF),
    m(M::HKDF_DATA, HMAC_MIN, HMAC_MAX, DRV, ParamKind::Hkdf, HKDF),
    m(M::HKDF_KEY_GEN, HMAC_MIN, HMAC_MAX, CKF_GENERATE, NoParam, KEYGEN),
];

/// The table row of a mechanism.
pub fn lookup(ty: MechanismType) -> Option<&'static MechEntry> {
    TABLE.binary_search_by_key(&ty, |e| e.ty).ok().map(|i| &TABLE[i])
}

/// The parameter shape of a mechanism, or `None` if the engine does not implement it
/// (the front-end answers `CKR_MECHANISM_INVALID`).
pub fn param_kind(ty: MechanismType) -> Option<ParamKind> {
    lookup(ty).map(|e| e.param)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_kinds_are_sorted() {
        for w in KEY_KINDS.windows(2) {
            assert!(w[0].0 < w[1].0, "{:?} must sort before {:?}", w[0].0, w[1].0);
        }
        assert!(key_kind(KeyType::AES).is_some());
        assert!(key_kind(KeyType::RSA).is_some());
    }

    #[test]
    fn table_is_sorted_and_unique() {
        for w in TABLE.windows(2) {
            assert!(w[0].ty < w[1].ty, "{:?} must sort before {:?}", w[0].ty, w[1].ty);
        }
    }

    #[test]
    fn every_row_has_an_operation() {
        for e in TABLE {
            assert_ne!(e.info.flags & !EC_FLAGS, 0, "{:?} has no operation flag", e.ty);
            assert!(e.info.min_key_size <= e.info.max_key_size);
            assert_eq!(lookup(e.ty).map(|x| x.ty), Some(e.ty));
        }
        assert!(lookup(MechanismType::RSA_9796).is_none());
        assert_eq!(param_kind(MechanismType::AES_GCM), Some(Gcm));
    }
}
