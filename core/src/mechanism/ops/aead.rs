//! The buffered AEADs: `CKM_AES_CCM` (`CK_CCM_PARAMS`) and `CKM_CHACHA20_POLY1305`
//! (`CK_SALSA20_CHACHA20_POLY1305_PARAMS`). Both gather the input of a multi-part operation
//! and run at the final step, so decryption releases plaintext only after the tag verified.

use alloc::boxed::Box;
use alloc::vec::Vec;

use super::block_cipher::keyed;
use super::{require, secret_value};
use crate::consts::{KeyType, MechanismType as M, ObjectClass};
use crate::info::{MechParam, Mechanism};
use crate::mechanism::block::BlockCipher;
use crate::mechanism::{Cipher, Family, ccm, chacha};
use crate::object::Object;
use crate::rng::Rng;
use crate::secret::SecretBytes;
use crate::{Error, Result};

/// The CCM and ChaCha20-Poly1305 family.
#[derive(Debug)]
pub struct Aead;

#[derive(Clone, Debug)]
enum Alg {
    Ccm { cipher: Box<BlockCipher>, data_len: usize, mac_len: usize },
    ChaCha { key: SecretBytes },
}

#[derive(Clone, Debug)]
struct AeadOp {
    alg: Alg,
    nonce: Vec<u8>,
    aad: Vec<u8>,
    encrypt: bool,
    buffer: Vec<u8>,
}

impl AeadOp {
    fn tag_len(&self) -> usize {
        match &self.alg {
            Alg::Ccm { mac_len, .. } => *mac_len,
            Alg::ChaCha { .. } => chacha::TAG_LEN,
        }
    }

    /// The input length the operation must see in total, if the parameters fix it (CCM).
    fn expected_input(&self) -> Option<usize> {
        match &self.alg {
            Alg::Ccm { data_len, mac_len, .. } => {
                Some(if self.encrypt { *data_len } else { data_len + mac_len })
            }
            Alg::ChaCha { .. } => None,
        }
    }

    fn run(&self, data: &[u8]) -> Result<Vec<u8>> {
        if let Some(n) = self.expected_input() {
            if data.len() != n {
                return Err(if self.encrypt { Error::DataLenRange } else { Error::EncryptedDataLenRange });
            }
        }
        match (&self.alg, self.encrypt) {
            (Alg::Ccm { cipher, mac_len, .. }, true) => {
                ccm::seal(cipher, &self.nonce, &self.aad, *mac_len, data)
            }
            (Alg::Ccm { cipher, mac_len, .. }, false) => {
                ccm::open(cipher, &self.nonce, &self.aad, *mac_len, data)
            }
            (Alg::ChaCha { key }, true) => chacha::seal(key.expose(), &self.nonce, &self.aad, data),
            (Alg::ChaCha { key }, false) => chacha::open(key.expose(), &self.nonce, &self.aad, data),
        }
    }

    fn len_for(&self, n: usize) -> usize {
        if self.encrypt { n + self.tag_len() } else { n.saturating_sub(self.tag_len()) }
    }
}

impl Cipher for AeadOp {
    fn update_len(&self, _n: usize) -> usize {
        0
    }

    fn update(&mut self, data: &[u8]) -> Result<Vec<u8>> {
        let total = self.buffer.len().saturating_add(data.len());
        if self.expected_input().is_some_and(|n| total > n) {
            return Err(if self.encrypt { Error::DataLenRange } else { Error::EncryptedDataLenRange });
        }
        self.buffer.extend_from_slice(data);
        Ok(Vec::new())
    }

    fn final_len(&self) -> usize {
        self.len_for(self.buffer.len())
    }

    fn finish(&self, _rng: &mut dyn Rng) -> Result<Vec<u8>> {
        self.run(&self.buffer)
    }

    fn box_clone(&self) -> Box<dyn Cipher> {
        Box::new(self.clone())
    }

    fn one_shot(&self, data: &[u8], _rng: &mut dyn Rng) -> Result<Vec<u8>> {
        self.run(data)
    }

    fn one_shot_len(&self, data: &[u8]) -> usize {
        self.len_for(data.len())
    }
}

impl Drop for AeadOp {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.buffer);
    }
}

impl Family for Aead {
    fn cipher(&self, mech: &Mechanism, key: &Object, encrypt: bool) -> Result<Box<dyn Cipher>> {
        let (alg, nonce, aad) = match (mech.ty, &mech.param) {
            (M::AES_CCM, MechParam::Ccm { data_len, nonce, aad, mac_len }) => {
                let mac_len = usize::try_from(*mac_len).map_err(|_| Error::MechanismParamInvalid)?;
                ccm::check_params(nonce.len(), mac_len, *data_len)?;
                let data_len = usize::try_from(*data_len).map_err(|_| Error::MechanismParamInvalid)?;
                let cipher = keyed(key, true)?;
                (Alg::Ccm { cipher: Box::new(cipher), data_len, mac_len }, nonce, aad)
            }
            (M::CHACHA20_POLY1305, MechParam::ChaCha20Poly1305 { nonce, aad }) => {
                require(key, ObjectClass::SECRET_KEY, &[KeyType::CHACHA20])?;
                let key = secret_value(key)?;
                chacha::check_params(key.len(), nonce.len())?;
                (Alg::ChaCha { key }, nonce, aad)
            }
            (M::AES_CCM | M::CHACHA20_POLY1305, _) => return Err(Error::MechanismParamInvalid),
            _ => return Err(Error::MechanismInvalid),
        };
        Ok(Box::new(AeadOp { alg, nonce: nonce.clone(), aad: aad.clone(), encrypt, buffer: Vec::new() }))
    }
}
