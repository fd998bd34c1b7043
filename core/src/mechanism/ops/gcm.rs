//! AES-GCM (`CKM_AES_GCM` with `CK_GCM_PARAMS`): encryption and decryption, single- and
//! multi-part, and key wrapping.

use alloc::boxed::Box;
use alloc::vec::Vec;

use super::{require, secret_value};
use crate::consts::{KeyType, MechanismType, ObjectClass};
use crate::info::{MechParam, Mechanism};
use crate::mechanism::aes_gcm::{self, SealStream};
use crate::mechanism::{Cipher, Family};
use crate::object::Object;
use crate::rng::Rng;
use crate::secret::SecretBytes;
use crate::{Error, Result};

/// The AES-GCM family.
#[derive(Debug)]
pub struct Gcm;

/// The checked parameters of one GCM operation.
#[derive(Clone, Debug)]
struct Params {
    key: SecretBytes,
    iv: Vec<u8>,
    aad: Vec<u8>,
    tag_len: usize,
}

fn params(mech: &Mechanism, key: &Object) -> Result<Params> {
    if mech.ty != MechanismType::AES_GCM {
        return Err(Error::MechanismInvalid);
    }
    let MechParam::Gcm { iv, aad, tag_bits } = &mech.param else {
        return Err(Error::MechanismParamInvalid);
    };
    require(key, ObjectClass::SECRET_KEY, &[KeyType::AES])?;
    if tag_bits % 8 != 0 {
        return Err(Error::MechanismParamInvalid);
    }
    let tag_len = usize::try_from(tag_bits / 8).map_err(|_| Error::MechanismParamInvalid)?;
    let key = secret_value(key)?;
    aes_gcm::check_params(key.len(), iv.len(), tag_len)?;
    Ok(Params { key, iv: iv.clone(), aad: aad.clone(), tag_len })
}

/// Encryption streams: ciphertext leaves with every update, the tag with the final step.
#[derive(Clone, Debug)]
struct SealOp {
    stream: SealStream,
}

impl Cipher for SealOp {
    fn update_len(&self, n: usize) -> usize {
        n
    }

    fn update(&mut self, data: &[u8]) -> Result<Vec<u8>> {
        let mut out = Vec::with_capacity(data.len());
        self.stream.update_into(data, &mut out)?;
        Ok(out)
    }

    fn final_len(&self) -> usize {
        self.stream.tag_len()
    }

    fn finish(&self, _rng: &mut dyn Rng) -> Result<Vec<u8>> {
        Ok(self.stream.tag())
    }

    fn box_clone(&self) -> Box<dyn Cipher> {
        Box::new(self.clone())
    }

    fn one_shot(&self, data: &[u8], _rng: &mut dyn Rng) -> Result<Vec<u8>> {
        self.stream.seal_all(data)
    }

    fn one_shot_len(&self, data: &[u8]) -> usize {
        data.len() + self.stream.tag_len()
    }
}

/// Decryption authenticates the whole message: input is gathered and processed at the end,
/// so plaintext is released only after the tag verified.
#[derive(Clone, Debug)]
struct OpenOp {
    p: Params,
    buffer: Vec<u8>,
}

impl Cipher for OpenOp {
    fn update_len(&self, _n: usize) -> usize {
        0
    }

    fn update(&mut self, data: &[u8]) -> Result<Vec<u8>> {
        self.buffer.extend_from_slice(data);
        Ok(Vec::new())
    }

    fn final_len(&self) -> usize {
        self.buffer.len().saturating_sub(self.p.tag_len)
    }

    fn finish(&self, rng: &mut dyn Rng) -> Result<Vec<u8>> {
        self.one_shot(&self.buffer, rng)
    }

    fn box_clone(&self) -> Box<dyn Cipher> {
        Box::new(self.clone())
    }

    fn one_shot(&self, data: &[u8], _rng: &mut dyn Rng) -> Result<Vec<u8>> {
        if data.len() < self.p.tag_len {
            return Err(Error::EncryptedDataLenRange);
        }
        aes_gcm::open(self.p.key.expose(), &self.p.iv, &self.p.aad, self.p.tag_len, data)
    }

    fn one_shot_len(&self, data: &[u8]) -> usize {
        data.len().saturating_sub(self.p.tag_len)
    }
}

impl Family for Gcm {
    fn cipher(&self, mech: &Mechanism, key: &Object, encrypt: bool) -> Result<Box<dyn Cipher>> {
        let p = params(mech, key)?;
        if encrypt {
            Ok(Box::new(SealOp { stream: SealStream::new(p.key.expose(), &p.iv, &p.aad, p.tag_len)? }))
        } else {
            Ok(Box::new(OpenOp { p, buffer: Vec::new() }))
        }
    }

    fn wrap(
        &self,
        mech: &Mechanism,
        wrapping_key: &Object,
        material: &[u8],
        _rng: &mut dyn Rng,
    ) -> Result<Vec<u8>> {
        let p = params(mech, wrapping_key).map_err(|e| match e {
            Error::KeyTypeInconsistent => Error::WrappingKeyTypeInconsistent,
            Error::KeySizeRange => Error::WrappingKeySizeRange,
            other => other,
        })?;
        aes_gcm::seal(p.key.expose(), &p.iv, &p.aad, p.tag_len, material)
    }

    fn unwrap(&self, mech: &Mechanism, unwrapping_key: &Object, wrapped: &[u8]) -> Result<SecretBytes> {
        let p = params(mech, unwrapping_key).map_err(|e| match e {
            Error::KeyTypeInconsistent => Error::UnwrappingKeyTypeInconsistent,
            Error::KeySizeRange => Error::UnwrappingKeySizeRange,
            other => other,
        })?;
        if wrapped.len() < p.tag_len {
            return Err(Error::WrappedKeyLenRange);
        }
        aes_gcm::open(p.key.expose(), &p.iv, &p.aad, p.tag_len, wrapped)
            .map(SecretBytes::new)
            .map_err(|_| Error::WrappedKeyInvalid)
    }
}
