//! ECDSA on P-256, P-384, P-521 and secp256k1: raw (`CKM_ECDSA`, the caller hashes) and
//! hash-then-sign with SHA-1, SHA-2 and SHA-3 (`CKM_ECDSA_SHA*`, `CKM_ECDSA_SHA3_*`).

use alloc::boxed::Box;
use alloc::vec::Vec;

use super::{require, secret_value};
use crate::consts::{AttrType, KeyType, MechanismType, ObjectClass};
use crate::info::{MechParam, Mechanism};
use crate::mechanism::digest::{DigestAlg, Hasher};
use crate::mechanism::{Family, Signer, ec};
use crate::object::Object;
use crate::rng::Rng;
use crate::secret::SecretBytes;
use crate::{Error, Result};

/// The ECDSA family.
#[derive(Debug)]
pub struct Ecdsa;

/// The hash of a hash-then-sign mechanism (`None` for raw `CKM_ECDSA`).
fn hash_of(ty: MechanismType) -> Result<Option<DigestAlg>> {
    Ok(match ty {
        MechanismType::ECDSA => None,
        MechanismType::ECDSA_SHA1 => Some(DigestAlg::Sha1),
        MechanismType::ECDSA_SHA224 => Some(DigestAlg::Sha224),
        MechanismType::ECDSA_SHA256 => Some(DigestAlg::Sha256),
        MechanismType::ECDSA_SHA384 => Some(DigestAlg::Sha384),
        MechanismType::ECDSA_SHA512 => Some(DigestAlg::Sha512),
        MechanismType::ECDSA_SHA3_224 => Some(DigestAlg::Sha3_224),
        MechanismType::ECDSA_SHA3_256 => Some(DigestAlg::Sha3_256),
        MechanismType::ECDSA_SHA3_384 => Some(DigestAlg::Sha3_384),
        MechanismType::ECDSA_SHA3_512 => Some(DigestAlg::Sha3_512),
        _ => return Err(Error::MechanismInvalid),
    })
}

/// The curve of an EC key object.
pub(crate) fn curve_of(key: &Object) -> Result<ec::Curve> {
    let params = key.bytes(AttrType::EC_PARAMS).ok_or(Error::KeyTypeInconsistent)?;
    ec::parse_ec_params(params).map_err(|_| Error::KeyTypeInconsistent)
}

#[derive(Clone, Debug)]
enum Input {
    Hash(Box<Hasher>),
    Raw(Vec<u8>),
}

#[derive(Clone, Debug)]
enum KeyMaterial {
    Private(SecretBytes),
    Public(Vec<u8>),
}

#[derive(Clone, Debug)]
struct EcdsaOp {
    curve: ec::Curve,
    key: KeyMaterial,
    input: Input,
}

impl EcdsaOp {
    fn hash(&self) -> Result<Vec<u8>> {
        let h = match &self.input {
            Input::Hash(h) => h.finish(),
            Input::Raw(b) => b.clone(),
        };
        if h.is_empty() { Err(Error::DataLenRange) } else { Ok(h) }
    }
}

impl Signer for EcdsaOp {
    fn update(&mut self, data: &[u8]) -> Result<()> {
        match &mut self.input {
            Input::Hash(h) => {
                h.update(data);
                Ok(())
            }
            // CKM_ECDSA is single-part only.
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
        ec::signature_len(self.curve)
    }

    fn sign(&self, _rng: &mut dyn Rng) -> Result<Vec<u8>> {
        match &self.key {
            KeyMaterial::Private(k) => ec::sign_prehash(self.curve, k.expose(), &self.hash()?),
            KeyMaterial::Public(_) => Err(Error::OperationNotInitialized),
        }
    }

    fn verify(&self, signature: &[u8]) -> Result<()> {
        match &self.key {
            KeyMaterial::Public(p) => ec::verify_prehash(self.curve, p, &self.hash()?, signature),
            KeyMaterial::Private(_) => Err(Error::OperationNotInitialized),
        }
    }

    fn box_clone(&self) -> Box<dyn Signer> {
        Box::new(self.clone())
    }
}

impl Family for Ecdsa {
    fn signer(&self, mech: &Mechanism, key: &Object, verify: bool) -> Result<Box<dyn Signer>> {
        let hash = hash_of(mech.ty)?;
        if mech.param != MechParam::None {
            return Err(Error::MechanismParamInvalid);
        }
        let input = match hash {
            Some(alg) => Input::Hash(Box::new(Hasher::new(alg))),
            None => Input::Raw(Vec::new()),
        };
        let class = if verify { ObjectClass::PUBLIC_KEY } else { ObjectClass::PRIVATE_KEY };
        require(key, class, &[KeyType::EC])?;
        let curve = curve_of(key)?;
        let material = if verify {
            let der = key.bytes(AttrType::EC_POINT).ok_or(Error::KeyTypeInconsistent)?;
            KeyMaterial::Public(ec::decode_ec_point(curve, der).map_err(|_| Error::KeyTypeInconsistent)?)
        } else {
            KeyMaterial::Private(secret_value(key)?)
        };
        Ok(Box::new(EcdsaOp { curve, key: material, input }))
    }
}
