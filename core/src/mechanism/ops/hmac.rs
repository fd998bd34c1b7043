//! HMAC with every SHA-1/SHA-2/SHA-3 hash, fixed and general length.

use alloc::boxed::Box;
use alloc::vec::Vec;

use super::require;
use crate::consts::{AttrType, KeyType, ObjectClass};
use crate::info::{MechParam, Mechanism};
use crate::mechanism::digest::DigestAlg;
use crate::mechanism::hmac::{self, Mac};
use crate::mechanism::{Family, Signer};
use crate::object::Object;
use crate::rng::Rng;
use crate::{Error, Result};

/// The HMAC family.
#[derive(Debug)]
pub struct Hmac;

/// The HMAC key type of each hash; `CKK_GENERIC_SECRET` keys work with every hash.
pub(crate) fn key_type_for(alg: DigestAlg) -> KeyType {
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

fn mac_len(mech: &Mechanism, alg: DigestAlg, general: bool) -> Result<usize> {
    let full = alg.output_len();
    match (&mech.param, general) {
        (MechParam::None, false) => Ok(full),
        (MechParam::Ulong(n), true) if *n >= 1 && *n <= full as u64 => {
            usize::try_from(*n).map_err(|_| Error::MechanismParamInvalid)
        }
        _ => Err(Error::MechanismParamInvalid),
    }
}

#[derive(Clone, Debug)]
struct HmacOp {
    mac: Mac,
    len: usize,
}

impl Signer for HmacOp {
    fn update(&mut self, data: &[u8]) -> Result<()> {
        self.mac.update(data);
        Ok(())
    }

    fn feed_all(&mut self, data: &[u8]) -> Result<()> {
        self.update(data)
    }

    fn max_len(&self) -> usize {
        self.len
    }

    fn sign(&self, _rng: &mut dyn Rng) -> Result<Vec<u8>> {
        let mut tag = self.mac.finish();
        tag.truncate(self.len);
        Ok(tag)
    }

    fn verify(&self, signature: &[u8]) -> Result<()> {
        if signature.len() != self.len {
            return Err(Error::SignatureLenRange);
        }
        // Constant-time comparison of the (truncated) tag.
        if hmac::verify_truncated(&self.mac.finish(), signature) {
            Ok(())
        } else {
            Err(Error::SignatureInvalid)
        }
    }

    fn box_clone(&self) -> Box<dyn Signer> {
        Box::new(self.clone())
    }

    fn sign_all(&self, data: &[u8], _rng: &mut dyn Rng) -> Result<Vec<u8>> {
        let mut m = self.mac.clone();
        m.update(data);
        let mut tag = m.finalize();
        tag.truncate(self.len);
        Ok(tag)
    }

    fn verify_all(&self, data: &[u8], signature: &[u8]) -> Result<()> {
        if signature.len() != self.len {
            return Err(Error::SignatureLenRange);
        }
        let mut m = self.mac.clone();
        m.update(data);
        if hmac::verify_truncated(&m.finalize(), signature) { Ok(()) } else { Err(Error::SignatureInvalid) }
    }
}

impl Family for Hmac {
    fn signer(&self, mech: &Mechanism, key: &Object, _verify: bool) -> Result<Box<dyn Signer>> {
        let (alg, general) = hmac::hmac_mechanism(mech.ty).ok_or(Error::MechanismInvalid)?;
        require(key, ObjectClass::SECRET_KEY, &[KeyType::GENERIC_SECRET, key_type_for(alg)])?;
        let len = mac_len(mech, alg, general)?;
        // The key value is read in place: a copy would be most of a short MAC's cost.
        let mac = Mac::new(alg, key.bytes(AttrType::VALUE).ok_or(Error::KeyTypeInconsistent)?);
        Ok(Box::new(HmacOp { mac, len }))
    }
}
