//! AES and Triple DES in the SP 800-38A modes: `CKM_AES_ECB`, `_CBC`, `_CBC_PAD`, `_CTR`,
//! `_CTS`, `_OFB`, `_CFB8`, `_CFB128`, `CKM_DES3_ECB`, `_CBC`, `_CBC_PAD`; key wrapping with
//! the ECB/CBC (zero padding) and CBC-PAD forms; and the `*_ENCRYPT_DATA` derivations.

use alloc::boxed::Box;
use alloc::vec::Vec;

use super::secret_keys::secret_from_bytes;
use super::{require, secret_value};
use crate::attribute::Attribute;
use crate::consts::{KeyType, MechanismType as M, ObjectClass};
use crate::info::{MechParam, Mechanism};
use crate::mechanism::block::{self, BlockCipher, Mode, Stream};
use crate::mechanism::{Cipher, Derived, Family};
use crate::object::Object;
use crate::rng::Rng;
use crate::secret::SecretBytes;
use crate::{Error, Result};

/// The block-cipher family.
#[derive(Debug)]
pub struct BlockModes;

/// The cipher and mode of a mechanism (`true`: AES, `false`: Triple DES).
fn spec(ty: M) -> Option<(bool, Mode)> {
    Some(match ty {
        M::AES_ECB => (true, Mode::Ecb),
        M::AES_CBC => (true, Mode::Cbc),
        M::AES_CBC_PAD => (true, Mode::CbcPad),
        M::AES_CTS => (true, Mode::Cts),
        M::AES_OFB => (true, Mode::Ofb),
        M::AES_CFB8 => (true, Mode::Cfb8),
        M::AES_CFB128 => (true, Mode::Cfb128),
        M::AES_CTR => (true, Mode::Ctr { counter_bits: 0 }),
        M::DES3_ECB => (false, Mode::Ecb),
        M::DES3_CBC => (false, Mode::Cbc),
        M::DES3_CBC_PAD => (false, Mode::CbcPad),
        _ => return None,
    })
}

/// The block cipher keyed by `key`, which must be an AES key (`aes`) or a DES2/DES3 key.
///
/// # Errors
/// `KeyTypeInconsistent`, `KeySizeRange`.
pub(crate) fn keyed(key: &Object, aes: bool) -> Result<BlockCipher> {
    if aes {
        require(key, ObjectClass::SECRET_KEY, &[KeyType::AES])?;
        BlockCipher::aes(secret_value(key)?.expose())
    } else {
        require(key, ObjectClass::SECRET_KEY, &[KeyType::DES2, KeyType::DES3])?;
        BlockCipher::tdes(secret_value(key)?.expose())
    }
}

/// A running mode, for `mech` with `key`.
fn stream(mech: &Mechanism, key: &Object, encrypt: bool) -> Result<Stream> {
    let (aes, mode) = spec(mech.ty).ok_or(Error::MechanismInvalid)?;
    let (mode, iv): (Mode, &[u8]) = match (mode, &mech.param) {
        (Mode::Ecb, MechParam::None) => (mode, &[]),
        (Mode::Ctr { .. }, MechParam::AesCtr { counter_bits, block }) => {
            let bits = u32::try_from(*counter_bits).map_err(|_| Error::MechanismParamInvalid)?;
            (Mode::Ctr { counter_bits: bits }, block)
        }
        (Mode::Ecb | Mode::Ctr { .. }, _) => return Err(Error::MechanismParamInvalid),
        (_, MechParam::Bytes(iv)) => (mode, iv),
        _ => return Err(Error::MechanismParamInvalid),
    };
    let cipher = keyed(key, aes)?;
    Stream::new(cipher, mode, encrypt, iv)
}

#[derive(Clone, Debug)]
struct BlockOp {
    stream: Stream,
}

impl Cipher for BlockOp {
    fn update_len(&self, n: usize) -> usize {
        self.stream.update_len(n)
    }

    fn update(&mut self, data: &[u8]) -> Result<Vec<u8>> {
        let mut out = Vec::with_capacity(self.stream.update_len(data.len()));
        self.stream.update_into(data, &mut out)?;
        Ok(out)
    }

    fn final_len(&self) -> usize {
        self.stream.final_len()
    }

    fn finish(&self, _rng: &mut dyn Rng) -> Result<Vec<u8>> {
        let mut s = self.stream.clone();
        let mut out = Vec::new();
        s.finish_into(&mut out)?;
        Ok(out)
    }

    fn box_clone(&self) -> Box<dyn Cipher> {
        Box::new(self.clone())
    }

    fn one_shot(&self, data: &[u8], _rng: &mut dyn Rng) -> Result<Vec<u8>> {
        block::one_shot(&self.stream, data)
    }

    fn one_shot_len(&self, data: &[u8]) -> usize {
        self.stream.one_shot_len(data.len())
    }
}

/// The mode of a wrapping mechanism (ECB, CBC, CBC-PAD) keyed by the (un)wrapping key.
fn wrap_stream(mech: &Mechanism, key: &Object, encrypt: bool) -> Result<Stream> {
    let (_, mode) = spec(mech.ty).ok_or(Error::MechanismInvalid)?;
    if !matches!(mode, Mode::Ecb | Mode::Cbc | Mode::CbcPad) {
        return Err(Error::MechanismInvalid);
    }
    stream(mech, key, encrypt).map_err(|e| match (e, encrypt) {
        (Error::KeyTypeInconsistent, true) => Error::WrappingKeyTypeInconsistent,
        (Error::KeyTypeInconsistent, false) => Error::UnwrappingKeyTypeInconsistent,
        (Error::KeySizeRange, true) => Error::WrappingKeySizeRange,
        (Error::KeySizeRange, false) => Error::UnwrappingKeySizeRange,
        (other, _) => other,
    })
}

impl Family for BlockModes {
    fn cipher(&self, mech: &Mechanism, key: &Object, encrypt: bool) -> Result<Box<dyn Cipher>> {
        Ok(Box::new(BlockOp { stream: stream(mech, key, encrypt)? }))
    }

    fn wrap(
        &self,
        mech: &Mechanism,
        wrapping_key: &Object,
        material: &[u8],
        _rng: &mut dyn Rng,
    ) -> Result<Vec<u8>> {
        let s = wrap_stream(mech, wrapping_key, true)?;
        let b = if spec(mech.ty).is_some_and(|(aes, _)| aes) { 16 } else { 8 };
        if mech.ty == M::AES_CBC_PAD || mech.ty == M::DES3_CBC_PAD {
            return block::one_shot(&s, material);
        }
        // ECB and CBC wrap the value padded with zero bytes to whole blocks (the key's length
        // travels separately, as CKA_VALUE_LEN of the unwrap template).
        let mut padded = zeroize::Zeroizing::new(alloc::vec![0u8; material.len().div_ceil(b) * b]);
        padded[..material.len()].copy_from_slice(material);
        block::one_shot(&s, &padded)
    }

    fn unwrap(&self, mech: &Mechanism, unwrapping_key: &Object, wrapped: &[u8]) -> Result<SecretBytes> {
        let s = wrap_stream(mech, unwrapping_key, false)?;
        block::one_shot(&s, wrapped).map(SecretBytes::new).map_err(|e| match e {
            Error::EncryptedDataLenRange => Error::WrappedKeyLenRange,
            Error::EncryptedDataInvalid => Error::WrappedKeyInvalid,
            other => other,
        })
    }

    fn derive(
        &self,
        mech: &Mechanism,
        base: &Object,
        template: &[Attribute],
        _others: &[(u64, Object)],
        _rng: &mut dyn Rng,
    ) -> Result<Derived> {
        let (aes, mode, iv, data): (bool, Mode, &[u8], &[u8]) = match (mech.ty, &mech.param) {
            (M::AES_ECB_ENCRYPT_DATA, MechParam::Bytes(d)) => (true, Mode::Ecb, &[], d),
            (M::DES3_ECB_ENCRYPT_DATA, MechParam::Bytes(d)) => (false, Mode::Ecb, &[], d),
            (M::AES_CBC_ENCRYPT_DATA, MechParam::CbcEncryptData { iv, data }) => (true, Mode::Cbc, iv, data),
            (M::DES3_CBC_ENCRYPT_DATA, MechParam::CbcEncryptData { iv, data }) => {
                (false, Mode::Cbc, iv, data)
            }
            (M::AES_ECB_ENCRYPT_DATA | M::DES3_ECB_ENCRYPT_DATA, _)
            | (M::AES_CBC_ENCRYPT_DATA | M::DES3_CBC_ENCRYPT_DATA, _) => {
                return Err(Error::MechanismParamInvalid);
            }
            _ => return Err(Error::MechanismInvalid),
        };
        let cipher = keyed(base, aes)?;
        let b = cipher.block_len();
        // The data is encrypted without padding: whole blocks only.
        if data.is_empty() || data.len() % b != 0 {
            return Err(Error::MechanismParamInvalid);
        }
        let s = Stream::new(cipher, mode, true, iv)?;
        let value = SecretBytes::new(block::one_shot(&s, data)?);
        Ok(Derived { attrs: secret_from_bytes(template, value.expose())?, additional: Vec::new() })
    }
}
