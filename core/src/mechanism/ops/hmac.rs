//! HMAC with every SHA-1/SHA-2/SHA-3 hash, fixed and general length.

use alloc::boxed::Box;
use alloc::vec::Vec;

use super::require;
use crate::consts::{AttrType, KeyType, ObjectClass};
use crate::info::{MechParam, Mechanism};
use crate::mechanism::digest::DigestAlg;
use hmac::{EagerHash, Mac as _};
use sha1::Sha1;
use sha2::{Sha224, Sha256, Sha384, Sha512, Sha512_224, Sha512_256};
use sha3::{Sha3_224, Sha3_256, Sha3_384, Sha3_512};

use crate::mechanism::hmac::{self as hmac_mod, keyed, verify_truncated};
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

/// A running HMAC, monomorphized per hash: the keyed state lives directly in the operation's
/// box (no enum sized for the largest hash, no moves between wrappers), which is most of a
/// short MAC's cost beside the compression function itself.
#[derive(Clone)]
struct HmacOp<D: EagerHash> {
    mac: hmac::Hmac<D>,
    len: usize,
}

impl<D: EagerHash> core::fmt::Debug for HmacOp<D> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        // The keyed state is key-equivalent: only the tag length is shown.
        f.debug_struct("HmacOp").field("len", &self.len).finish_non_exhaustive()
    }
}

impl<D: EagerHash> HmacOp<D> {
    fn boxed(key: &[u8], len: usize) -> Box<dyn Signer>
    where
        D: 'static,
        hmac::Hmac<D>: Send,
    {
        Box::new(HmacOp::<D> { mac: keyed(key), len })
    }

    /// The tag of the state (consumed), truncated to the operation's length.
    fn tag(mac: hmac::Hmac<D>, len: usize) -> Vec<u8> {
        let mut tag = mac.finalize().into_bytes().to_vec();
        tag.truncate(len);
        tag
    }

    fn check(&self, mac: hmac::Hmac<D>, signature: &[u8]) -> Result<()> {
        if signature.len() != self.len {
            return Err(Error::SignatureLenRange);
        }
        // Constant-time comparison of the (truncated) tag.
        if verify_truncated(&mac.finalize().into_bytes(), signature) {
            Ok(())
        } else {
            Err(Error::SignatureInvalid)
        }
    }
}

impl<D: EagerHash + 'static> Signer for HmacOp<D>
where
    hmac::Hmac<D>: Send,
{
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
        Ok(Self::tag(self.mac.clone(), self.len))
    }

    fn verify(&self, signature: &[u8]) -> Result<()> {
        self.check(self.mac.clone(), signature)
    }

    fn box_clone(&self) -> Box<dyn Signer> {
        Box::new(self.clone())
    }

    fn sign_all(&self, data: &[u8], _rng: &mut dyn Rng) -> Result<Vec<u8>> {
        let mut m = self.mac.clone();
        m.update(data);
        Ok(Self::tag(m, self.len))
    }

    fn sign_all_once(mut self: Box<Self>, data: &[u8], _rng: &mut dyn Rng) -> Result<Vec<u8>> {
        self.mac.update(data);
        let HmacOp { mac, len } = *self;
        Ok(Self::tag(mac, len))
    }

    fn verify_all(&self, data: &[u8], signature: &[u8]) -> Result<()> {
        let mut m = self.mac.clone();
        m.update(data);
        self.check(m, signature)
    }
}

impl Family for Hmac {
    fn signer(&self, mech: &Mechanism, key: &Object, _verify: bool) -> Result<Box<dyn Signer>> {
        let (alg, general) = hmac_mod::hmac_mechanism(mech.ty).ok_or(Error::MechanismInvalid)?;
        require(key, ObjectClass::SECRET_KEY, &[KeyType::GENERIC_SECRET, key_type_for(alg)])?;
        let len = mac_len(mech, alg, general)?;
        // The key value is read in place: a copy would be most of a short MAC's cost.
        let k = key.bytes(AttrType::VALUE).ok_or(Error::KeyTypeInconsistent)?;
        Ok(match alg {
            DigestAlg::Sha1 => HmacOp::<Sha1>::boxed(k, len),
            DigestAlg::Sha224 => HmacOp::<Sha224>::boxed(k, len),
            DigestAlg::Sha256 => HmacOp::<Sha256>::boxed(k, len),
            DigestAlg::Sha384 => HmacOp::<Sha384>::boxed(k, len),
            DigestAlg::Sha512 => HmacOp::<Sha512>::boxed(k, len),
            DigestAlg::Sha512_224 => HmacOp::<Sha512_224>::boxed(k, len),
            DigestAlg::Sha512_256 => HmacOp::<Sha512_256>::boxed(k, len),
            DigestAlg::Sha3_224 => HmacOp::<Sha3_224>::boxed(k, len),
            DigestAlg::Sha3_256 => HmacOp::<Sha3_256>::boxed(k, len),
            DigestAlg::Sha3_384 => HmacOp::<Sha3_384>::boxed(k, len),
            DigestAlg::Sha3_512 => HmacOp::<Sha3_512>::boxed(k, len),
        })
    }
}
