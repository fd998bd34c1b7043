//! Running operations: one state machine per operation kind, built from a mechanism and a
//! key object, fed by `*Update` and finished by `*Final` (or done in one call). The
//! engine keeps them in sessions and enforces the PKCS#11 call rules; these types only know
//! algorithms and their inputs.

use alloc::vec::Vec;

use crate::consts::{AttrType, KeyType, MechanismType, ObjectClass};
use crate::info::{MechParam, Mechanism};
use crate::mechanism::digest::{DigestAlg, Hasher};
use crate::mechanism::hmac::{self, Mac};
use crate::mechanism::{aes_gcm, ec};
use crate::object::Object;
use crate::secret::SecretBytes;
use crate::{Error, Result};

/// The HMAC key types each hash accepts, besides `CKK_GENERIC_SECRET`.
fn hmac_key_type(alg: DigestAlg) -> KeyType {
    match alg {
        DigestAlg::Sha1 => KeyType::SHA_1_HMAC,
        DigestAlg::Sha224 => KeyType::SHA224_HMAC,
        DigestAlg::Sha256 => KeyType::SHA256_HMAC,
        DigestAlg::Sha384 => KeyType::SHA384_HMAC,
        DigestAlg::Sha512 => KeyType::SHA512_HMAC,
        DigestAlg::Sha512_224 => KeyType::SHA512_224_HMAC,
        DigestAlg::Sha512_256 => KeyType::SHA512_256_HMAC,
        DigestAlg::Sha3_224 => KeyType::SHA3_224_HMAC,
        DigestAlg::Sha3_256 => KeyType::SHA3_256_HMAC,
        DigestAlg::Sha3_384 => KeyType::SHA3_384_HMAC,
        DigestAlg::Sha3_512 => KeyType::SHA3_512_HMAC,
    }
}

fn secret_value(key: &Object) -> Result<SecretBytes> {
    key.bytes(AttrType::VALUE)
        .map(SecretBytes::from_slice)
        .ok_or(Error::KeyTypeInconsistent)
}

fn require(key: &Object, class: ObjectClass, kt: &[KeyType]) -> Result<()> {
    if key.class() != class || !key.key_type().is_some_and(|k| kt.contains(&k)) {
        return Err(Error::KeyTypeInconsistent);
    }
    Ok(())
}

/// The hash of a hash-then-sign ECDSA mechanism (`None` for raw `CKM_ECDSA`).
fn ecdsa_hash(ty: MechanismType) -> Option<Option<DigestAlg>> {
    Some(match ty {
        MechanismType::ECDSA => None,
        MechanismType::ECDSA_SHA1 => Some(DigestAlg::Sha1),
        MechanismType::ECDSA_SHA224 => Some(DigestAlg::Sha224),
        MechanismType::ECDSA_SHA256 => Some(DigestAlg::Sha256),
        MechanismType::ECDSA_SHA384 => Some(DigestAlg::Sha384),
        MechanismType::ECDSA_SHA512 => Some(DigestAlg::Sha512),
        _ => return None,
    })
}

fn mac_len(mech: &Mechanism, alg: DigestAlg, general: bool) -> Result<usize> {
    let full = alg.output_len();
    if !general {
        return match mech.param {
            MechParam::None => Ok(full),
            _ => Err(Error::MechanismParamInvalid),
        };
    }
    match mech.param {
        MechParam::Ulong(n) if n >= 1 && n <= full as u64 => {
            usize::try_from(n).map_err(|_| Error::MechanismParamInvalid)
        }
        _ => Err(Error::MechanismParamInvalid),
    }
}

fn ec_curve(key: &Object) -> Result<ec::Curve> {
    let params = key
        .bytes(AttrType::EC_PARAMS)
        .ok_or(Error::KeyTypeInconsistent)?;
    ec::parse_ec_params(params).map_err(|_| Error::KeyTypeInconsistent)
}

/// Input gathered for a signature: hashed as it comes, or buffered for raw mechanisms.
#[derive(Clone, Debug)]
enum Gather {
    Hash(alloc::boxed::Box<Hasher>),
    Raw(Vec<u8>),
}

impl Gather {
    fn update(&mut self, data: &[u8]) {
        match self {
            Gather::Hash(h) => h.update(data),
            Gather::Raw(b) => b.extend_from_slice(data),
        }
    }

    fn value(&self) -> Vec<u8> {
        match self {
            Gather::Hash(h) => h.finish(),
            Gather::Raw(b) => b.clone(),
        }
    }
}

/// A signing (or MAC-verifying) key and state; shared by sign and verify.
#[derive(Clone, Debug)]
enum SigState {
    Hmac {
        mac: alloc::boxed::Box<Mac>,
        len: usize,
    },
    Ecdsa {
        curve: ec::Curve,
        key: SecretBytes,
        input: Gather,
    },
    EcdsaVerify {
        curve: ec::Curve,
        point: Vec<u8>,
        input: Gather,
    },
}

/// A running `C_Sign*` or `C_Verify*` operation.
#[derive(Clone, Debug)]
pub struct SignOp {
    state: SigState,
    /// Multi-part use is allowed (raw `CKM_ECDSA` is single-part only).
    multipart: bool,
}

impl SignOp {
    /// Start a signature (`verify == false`) or verification with `key`.
    ///
    /// # Errors
    /// `MechanismInvalid` (not a signature mechanism), `MechanismParamInvalid`,
    /// `KeyTypeInconsistent` (wrong class or type of key).
    pub fn new(mech: &Mechanism, key: &Object, verify: bool) -> Result<Self> {
        if let Some((alg, general)) = hmac::hmac_mechanism(mech.ty) {
            require(
                key,
                ObjectClass::SECRET_KEY,
                &[KeyType::GENERIC_SECRET, hmac_key_type(alg)],
            )?;
            let len = mac_len(mech, alg, general)?;
            let mac = alloc::boxed::Box::new(Mac::new(alg, secret_value(key)?.expose()));
            return Ok(Self {
                state: SigState::Hmac { mac, len },
                multipart: true,
            });
        }
        if let Some(hash) = ecdsa_hash(mech.ty) {
            if mech.param != MechParam::None {
                return Err(Error::MechanismParamInvalid);
            }
            let input = match hash {
                Some(alg) => Gather::Hash(alloc::boxed::Box::new(Hasher::new(alg))),
                None => Gather::Raw(Vec::new()),
            };
            let multipart = hash.is_some();
            let state = if verify {
                require(key, ObjectClass::PUBLIC_KEY, &[KeyType::EC])?;
                let curve = ec_curve(key)?;
                let der = key
                    .bytes(AttrType::EC_POINT)
                    .ok_or(Error::KeyTypeInconsistent)?;
                let point =
                    ec::decode_ec_point(curve, der).map_err(|_| Error::KeyTypeInconsistent)?;
                SigState::EcdsaVerify {
                    curve,
                    point,
                    input,
                }
            } else {
                require(key, ObjectClass::PRIVATE_KEY, &[KeyType::EC])?;
                let curve = ec_curve(key)?;
                SigState::Ecdsa {
                    curve,
                    key: secret_value(key)?,
                    input,
                }
            };
            return Ok(Self { state, multipart });
        }
        Err(Error::MechanismInvalid)
    }

    /// Feed data (`C_SignUpdate` / `C_VerifyUpdate`).
    ///
    /// # Errors
    /// `FunctionNotSupported` for single-part-only mechanisms.
    pub fn update(&mut self, data: &[u8]) -> Result<()> {
        if !self.multipart {
            return Err(Error::FunctionNotSupported);
        }
        self.feed(data);
        Ok(())
    }

    fn feed(&mut self, data: &[u8]) {
        match &mut self.state {
            SigState::Hmac { mac, .. } => mac.update(data),
            SigState::Ecdsa { input, .. } | SigState::EcdsaVerify { input, .. } => {
                input.update(data)
            }
        }
    }

    /// Feed the whole input of a one-call `C_Sign` / `C_Verify`.
    pub fn feed_all(&mut self, data: &[u8]) {
        self.feed(data);
    }

    /// The longest signature this operation can produce.
    pub fn max_len(&self) -> usize {
        match &self.state {
            SigState::Hmac { len, .. } => *len,
            SigState::Ecdsa { curve, .. } | SigState::EcdsaVerify { curve, .. } => {
                ec::signature_len(*curve)
            }
        }
    }

    /// The signature over everything fed so far. Does not consume the state, so a
    /// too-small buffer can be answered and the call repeated.
    ///
    /// # Errors
    /// Algorithm errors; `FunctionNotPermitted`-like misuse is `OperationNotInitialized`.
    pub fn sign(&self) -> Result<Vec<u8>> {
        match &self.state {
            SigState::Hmac { mac, len } => {
                let mut tag = mac.finish();
                tag.truncate(*len);
                Ok(tag)
            }
            SigState::Ecdsa { curve, key, input } => {
                let hash = input.value();
                if hash.is_empty() {
                    return Err(Error::DataLenRange);
                }
                ec::sign_prehash(*curve, key.expose(), &hash)
            }
            SigState::EcdsaVerify { .. } => Err(Error::OperationNotInitialized),
        }
    }

    /// Check `signature` over everything fed so far.
    ///
    /// # Errors
    /// `SignatureLenRange` (wrong length), `SignatureInvalid` (mismatch).
    pub fn verify(&self, signature: &[u8]) -> Result<()> {
        match &self.state {
            SigState::Hmac { mac, len } => {
                if signature.len() != *len {
                    return Err(Error::SignatureLenRange);
                }
                if hmac::verify_truncated(&mac.finish(), signature) {
                    Ok(())
                } else {
                    Err(Error::SignatureInvalid)
                }
            }
            SigState::EcdsaVerify {
                curve,
                point,
                input,
            } => {
                let hash = input.value();
                if hash.is_empty() {
                    return Err(Error::DataLenRange);
                }
                ec::verify_prehash(*curve, point, &hash, signature)
            }
            SigState::Ecdsa { .. } => Err(Error::OperationNotInitialized),
        }
    }
}

/// A running `C_Encrypt*` or `C_Decrypt*` operation.
#[derive(Clone, Debug)]
pub struct CryptOp {
    key: SecretBytes,
    iv: Vec<u8>,
    aad: Vec<u8>,
    tag_len: usize,
    encrypt: bool,
    /// AES-GCM authenticates the whole message: input is gathered and processed at the end
    /// (decryption releases plaintext only after the tag verified).
    buffer: Vec<u8>,
}

impl CryptOp {
    /// Start an encryption or decryption with `key`.
    ///
    /// # Errors
    /// `MechanismInvalid`, `MechanismParamInvalid`, `KeyTypeInconsistent`, `KeySizeRange`.
    pub fn new(mech: &Mechanism, key: &Object, encrypt: bool) -> Result<Self> {
        if mech.ty != MechanismType::AES_GCM {
            return Err(Error::MechanismInvalid);
        }
        require(key, ObjectClass::SECRET_KEY, &[KeyType::AES])?;
        let MechParam::Gcm { iv, aad, tag_bits } = &mech.param else {
            return Err(Error::MechanismParamInvalid);
        };
        if tag_bits % 8 != 0 {
            return Err(Error::MechanismParamInvalid);
        }
        let tag_len = usize::try_from(tag_bits / 8).map_err(|_| Error::MechanismParamInvalid)?;
        let key = secret_value(key)?;
        aes_gcm::check_params(key.len(), iv.len(), tag_len)?;
        Ok(Self {
            key,
            iv: iv.clone(),
            aad: aad.clone(),
            tag_len,
            encrypt,
            buffer: Vec::new(),
        })
    }

    /// Output an `update` with `n` more input bytes will produce (always 0 for GCM).
    pub fn update_len(&self, _n: usize) -> usize {
        0
    }

    /// Feed input (`C_EncryptUpdate` / `C_DecryptUpdate`); returns the output produced now.
    ///
    /// # Errors
    /// None for GCM (kept fallible for block modes).
    pub fn update(&mut self, data: &[u8]) -> Result<Vec<u8>> {
        self.buffer.extend_from_slice(data);
        Ok(Vec::new())
    }

    /// An upper bound of the final output length, for length queries.
    pub fn final_len(&self) -> usize {
        if self.encrypt {
            self.buffer.len() + self.tag_len
        } else {
            self.buffer.len().saturating_sub(self.tag_len)
        }
    }

    /// The remaining output (does not consume the state).
    ///
    /// # Errors
    /// `EncryptedDataInvalid` when a tag fails; `EncryptedDataLenRange` when the input is
    /// shorter than a tag.
    pub fn finish(&self) -> Result<Vec<u8>> {
        if self.encrypt {
            aes_gcm::seal(
                self.key.expose(),
                &self.iv,
                &self.aad,
                self.tag_len,
                &self.buffer,
            )
        } else {
            if self.buffer.len() < self.tag_len {
                return Err(Error::EncryptedDataLenRange);
            }
            aes_gcm::open(
                self.key.expose(),
                &self.iv,
                &self.aad,
                self.tag_len,
                &self.buffer,
            )
        }
    }
}
