//! The simple key derivations of PKCS #11 §2.43 (v3.0): `CKM_CONCATENATE_BASE_AND_KEY`,
//! `CKM_CONCATENATE_BASE_AND_DATA`, `CKM_CONCATENATE_DATA_AND_BASE`, `CKM_XOR_BASE_AND_DATA`
//! and `CKM_EXTRACT_KEY_FROM_KEY`. A derived key is sensitive if a key it came from is, and
//! unextractable if one is; the engine sets `CKA_ALWAYS_SENSITIVE`/`CKA_NEVER_EXTRACTABLE`.

use alloc::vec::Vec;

use zeroize::Zeroizing;

use super::secret_keys::{derived_len, secret_from_bytes};
use super::{require_class, secret_value};
use crate::attribute::Attribute;
use crate::consts::{AttrType, MechanismType as M, ObjectClass};
use crate::info::{MechParam, Mechanism};
use crate::mechanism::{Derived, Family};
use crate::object::Object;
use crate::rng::Rng;
use crate::{Error, Result};

/// The simple-derivation family.
#[derive(Debug)]
pub struct SimpleDerive;

/// `len` bytes of `key` starting at bit `start`, wrapping around to the first bit; bit 0 is
/// the most significant bit of the first byte.
fn extract_bits(key: &[u8], start: usize, len: usize) -> Vec<u8> {
    let bits = key.len() * 8;
    let bit = |i: usize| (key[(i % bits) / 8] >> (7 - (i % 8))) & 1;
    (0..len).map(|byte| (0..8).fold(0u8, |acc, j| (acc << 1) | bit(start + byte * 8 + j))).collect()
}

impl Family for SimpleDerive {
    fn derive(
        &self,
        mech: &Mechanism,
        base: &Object,
        template: &[Attribute],
        others: &[(u64, Object)],
        _rng: &mut dyn Rng,
    ) -> Result<Derived> {
        require_class(base, ObjectClass::SECRET_KEY)?;
        let value = secret_value(base)?;
        let mut sources = alloc::vec![base];
        let bytes: Zeroizing<Vec<u8>> = Zeroizing::new(match (mech.ty, &mech.param) {
            (M::CONCATENATE_BASE_AND_KEY, MechParam::Ulong(h)) => {
                let (_, other) = others.iter().find(|(k, _)| k == h).ok_or(Error::KeyHandleInvalid)?;
                require_class(other, ObjectClass::SECRET_KEY)?;
                let second = secret_value(other)?;
                sources.push(other);
                [value.expose(), second.expose()].concat()
            }
            (M::CONCATENATE_BASE_AND_DATA, MechParam::Bytes(d)) => [value.expose(), d].concat(),
            (M::CONCATENATE_DATA_AND_BASE, MechParam::Bytes(d)) => [&d[..], value.expose()].concat(),
            (M::XOR_BASE_AND_DATA, MechParam::Bytes(d)) => {
                value.expose().iter().zip(d).map(|(a, b)| a ^ b).collect()
            }
            (M::EXTRACT_KEY_FROM_KEY, MechParam::Ulong(start)) => {
                let start = usize::try_from(*start).map_err(|_| Error::MechanismParamInvalid)?;
                if start >= value.len() * 8 {
                    return Err(Error::MechanismParamInvalid);
                }
                let len = derived_len(template)?;
                if len > value.len() {
                    return Err(Error::TemplateInconsistent);
                }
                extract_bits(value.expose(), start, len)
            }
            (
                M::CONCATENATE_BASE_AND_KEY
                | M::CONCATENATE_BASE_AND_DATA
                | M::CONCATENATE_DATA_AND_BASE
                | M::XOR_BASE_AND_DATA
                | M::EXTRACT_KEY_FROM_KEY,
                _,
            ) => return Err(Error::MechanismParamInvalid),
            _ => return Err(Error::MechanismInvalid),
        });
        if bytes.is_empty() {
            return Err(Error::KeySizeRange);
        }
        let mut attrs = secret_from_bytes(template, &bytes)?;
        if sources.iter().any(|k| k.flag(AttrType::SENSITIVE)) {
            attrs.push(Attribute::bool(AttrType::SENSITIVE, true));
        }
        if sources.iter().any(|k| !k.flag(AttrType::EXTRACTABLE)) {
            attrs.push(Attribute::bool(AttrType::EXTRACTABLE, false));
        }
        Ok(Derived { attrs, additional: Vec::new() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of the spec: 16 bits from bit 21 of 0x329F84A9 are 0x9526.
    #[test]
    fn extract_example() {
        assert_eq!(extract_bits(&[0x32, 0x9f, 0x84, 0xa9], 21, 2), [0x95, 0x26]);
        assert_eq!(extract_bits(&[0x32, 0x9f, 0x84, 0xa9], 0, 4), [0x32, 0x9f, 0x84, 0xa9]);
        assert_eq!(extract_bits(&[0x32, 0x9f, 0x84, 0xa9], 8, 4), [0x9f, 0x84, 0xa9, 0x32]);
    }
}
