//! AES key wrap: `CKM_AES_KEY_WRAP` (RFC 3394), `CKM_AES_KEY_WRAP_KWP` (RFC 5649) and
//! `CKM_AES_KEY_WRAP_PAD`, the value SoftHSM uses for RFC 5649. Each takes an optional
//! initial value (8 bytes for KW, the 4-byte constant half for KWP) and works for
//! `C_WrapKey`/`C_UnwrapKey` and single-part `C_Encrypt`/`C_Decrypt`.

use alloc::boxed::Box;
use alloc::vec::Vec;

use super::block_cipher::keyed;
use crate::consts::MechanismType as M;
use crate::info::{MechParam, Mechanism};
use crate::mechanism::aes_kw::{self, KW_IV, KWP_AIV};
use crate::mechanism::block::BlockCipher;
use crate::mechanism::{Cipher, Family};
use crate::object::Object;
use crate::rng::Rng;
use crate::secret::SecretBytes;
use crate::{Error, Result};

/// The AES key-wrap family.
#[derive(Debug)]
pub struct AesKeyWrap;

/// KW with its 8-byte IV, or KWP with its 4-byte AIV.
#[derive(Clone, Copy, Debug)]
enum Variant {
    Kw([u8; 8]),
    Kwp([u8; 4]),
}

fn variant(mech: &Mechanism) -> Result<Variant> {
    let bytes: Option<&[u8]> = match &mech.param {
        MechParam::None => None,
        MechParam::Bytes(b) => Some(b),
        _ => return Err(Error::MechanismParamInvalid),
    };
    match mech.ty {
        M::AES_KEY_WRAP => match bytes {
            None => Ok(Variant::Kw(KW_IV)),
            Some(b) => b.try_into().map(Variant::Kw).map_err(|_| Error::MechanismParamInvalid),
        },
        M::AES_KEY_WRAP_KWP | M::AES_KEY_WRAP_PAD => match bytes {
            None => Ok(Variant::Kwp(KWP_AIV)),
            Some(b) => b.try_into().map(Variant::Kwp).map_err(|_| Error::MechanismParamInvalid),
        },
        _ => Err(Error::MechanismInvalid),
    }
}

fn seal(v: Variant, cipher: &BlockCipher, data: &[u8]) -> Result<Vec<u8>> {
    match v {
        Variant::Kw(iv) => aes_kw::wrap(cipher, &iv, data),
        Variant::Kwp(aiv) => aes_kw::wrap_pad(cipher, &aiv, data),
    }
}

fn open(v: Variant, cipher: &BlockCipher, data: &[u8]) -> Result<SecretBytes> {
    match v {
        Variant::Kw(iv) => aes_kw::unwrap(cipher, &iv, data),
        Variant::Kwp(aiv) => aes_kw::unwrap_pad(cipher, &aiv, data),
    }
}

/// `C_Encrypt`/`C_Decrypt` with a key-wrap mechanism: the whole input is gathered and
/// wrapped or unwrapped at the end.
#[derive(Clone, Debug)]
struct KwOp {
    variant: Variant,
    cipher: BlockCipher,
    encrypt: bool,
    buffer: Vec<u8>,
}

impl KwOp {
    fn run(&self, data: &[u8]) -> Result<Vec<u8>> {
        if self.encrypt {
            seal(self.variant, &self.cipher, data)
        } else {
            open(self.variant, &self.cipher, data).map(|s| s.expose().to_vec())
        }
    }

    fn len_for(&self, n: usize) -> usize {
        match (self.variant, self.encrypt) {
            (Variant::Kw(_), true) => n + 8,
            (Variant::Kwp(_), true) => 8 + n.div_ceil(8) * 8,
            (_, false) => n.saturating_sub(8),
        }
    }
}

impl Cipher for KwOp {
    fn update_len(&self, _n: usize) -> usize {
        0
    }

    fn update(&mut self, data: &[u8]) -> Result<Vec<u8>> {
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

impl Drop for KwOp {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.buffer);
    }
}

impl Family for AesKeyWrap {
    fn cipher(&self, mech: &Mechanism, key: &Object, encrypt: bool) -> Result<Box<dyn Cipher>> {
        let variant = variant(mech)?;
        let cipher = keyed(key, true)?;
        Ok(Box::new(KwOp { variant, cipher, encrypt, buffer: Vec::new() }))
    }

    fn wrap(
        &self,
        mech: &Mechanism,
        wrapping_key: &Object,
        material: &[u8],
        _rng: &mut dyn Rng,
    ) -> Result<Vec<u8>> {
        let variant = variant(mech)?;
        let cipher = keyed(wrapping_key, true).map_err(|e| match e {
            Error::KeyTypeInconsistent => Error::WrappingKeyTypeInconsistent,
            Error::KeySizeRange => Error::WrappingKeySizeRange,
            other => other,
        })?;
        seal(variant, &cipher, material).map_err(|e| match e {
            // KW wraps whole 64-bit blocks, at least two; KWP anything non-empty.
            Error::DataLenRange => Error::KeySizeRange,
            other => other,
        })
    }

    fn unwrap(&self, mech: &Mechanism, unwrapping_key: &Object, wrapped: &[u8]) -> Result<SecretBytes> {
        let variant = variant(mech)?;
        let cipher = keyed(unwrapping_key, true).map_err(|e| match e {
            Error::KeyTypeInconsistent => Error::UnwrappingKeyTypeInconsistent,
            Error::KeySizeRange => Error::UnwrappingKeySizeRange,
            other => other,
        })?;
        open(variant, &cipher, wrapped).map_err(|e| match e {
            Error::EncryptedDataLenRange => Error::WrappedKeyLenRange,
            Error::EncryptedDataInvalid => Error::WrappedKeyInvalid,
            other => other,
        })
    }
}
