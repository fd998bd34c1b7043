//! AES-GCM (`CKM_AES_GCM` with `CK_GCM_PARAMS`).

use alloc::boxed::Box;
use alloc::vec::Vec;

use super::{require, secret_value};
use crate::consts::{KeyType, MechanismType, ObjectClass};
use crate::info::{MechParam, Mechanism};
use crate::mechanism::{Cipher, Family, aes_gcm};
use crate::object::Object;
use crate::rng::Rng;
use crate::secret::SecretBytes;
use crate::{Error, Result};

/// The AES-GCM family.
#[derive(Debug)]
pub struct Gcm;

/// GCM authenticates the whole message: input is gathered and processed at the end, so a
/// decryption releases plaintext only after the tag verified.
#[derive(Clone, Debug)]
struct GcmOp {
    key: SecretBytes,
    iv: Vec<u8>,
    aad: Vec<u8>,
    tag_len: usize,
    encrypt: bool,
    buffer: Vec<u8>,
}

impl Cipher for GcmOp {
    fn update_len(&self, _n: usize) -> usize {
        0
    }

    fn update(&mut self, data: &[u8]) -> Result<Vec<u8>> {
        self.buffer.extend_from_slice(data);
        Ok(Vec::new())
    }

    fn final_len(&self) -> usize {
        if self.encrypt {
            self.buffer.len() + self.tag_len
        } else {
            self.buffer.len().saturating_sub(self.tag_len)
        }
    }

    fn finish(&self, _rng: &mut dyn Rng) -> Result<Vec<u8>> {
        if self.encrypt {
            aes_gcm::seal(self.key.expose(), &self.iv, &self.aad, self.tag_len, &self.buffer)
        } else if self.buffer.len() < self.tag_len {
            Err(Error::EncryptedDataLenRange)
        } else {
            aes_gcm::open(self.key.expose(), &self.iv, &self.aad, self.tag_len, &self.buffer)
        }
    }

    fn box_clone(&self) -> Box<dyn Cipher> {
        Box::new(self.clone())
    }
}

impl Family for Gcm {
    fn cipher(&self, mech: &Mechanism, key: &Object, encrypt: bool) -> Result<Box<dyn Cipher>> {
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
        Ok(Box::new(GcmOp { key, iv: iv.clone(), aad: aad.clone(), tag_len, encrypt, buffer: Vec::new() }))
    }
}
