//! Secret keys: AES, generic secrets and the HMAC key types; `CKM_AES_KEY_GEN` and
//! `CKM_GENERIC_SECRET_KEY_GEN`.

use alloc::vec::Vec;

use super::template_ulong;
use crate::attribute::{AttrValue, Attribute};
use crate::consts::{AttrType, KeyType, MechanismType, ObjectClass};
use crate::info::{MechParam, Mechanism};
use crate::mechanism::{Family, KeyKind};
use crate::object::Object;
use crate::object::policy::{Dflt, FIXED, Origin, REQ, Rule, SECRET};
use crate::rng::Rng;
use crate::secret::SecretBytes;
use crate::{Error, Result};

static SECRET_VALUE: &[Rule] = &[
    Rule::new(AttrType::VALUE, REQ | FIXED | SECRET, Dflt::Absent),
    Rule::new(AttrType::VALUE_LEN, FIXED, Dflt::Absent),
];

/// A secret key type with a length rule.
#[derive(Debug)]
pub struct SecretKind {
    lengths: fn(usize) -> bool,
}

/// AES: 16, 24 or 32 bytes.
pub static AES: SecretKind = SecretKind { lengths: |n| matches!(n, 16 | 24 | 32) };
/// Generic secrets and HMAC keys: 1 to 1024 bytes.
pub static GENERIC: SecretKind = SecretKind { lengths: |n| (1..=1024).contains(&n) };

impl KeyKind for SecretKind {
    fn rules(&self, class: ObjectClass) -> Option<&'static [Rule]> {
        (class == ObjectClass::SECRET_KEY).then_some(SECRET_VALUE)
    }

    fn complete(&self, obj: &mut Object, _class: ObjectClass, origin: Origin) -> Result<()> {
        let value = SecretBytes::from_slice(obj.bytes(AttrType::VALUE).ok_or(Error::TemplateIncomplete)?);
        let len = value.len();
        if !(self.lengths)(len) {
            return Err(match origin {
                Origin::Create => Error::AttributeValueInvalid,
                Origin::Generate(_) | Origin::Derive { .. } | Origin::Unwrap => Error::KeySizeRange,
            });
        }
        match obj.ulong(AttrType::VALUE_LEN) {
            Some(given) if given != len as u64 => return Err(Error::TemplateInconsistent),
            _ => obj.set(AttrType::VALUE_LEN, AttrValue::Ulong(len as u64)),
        }
        // Normalise a plain byte value to a secret one.
        obj.set(AttrType::VALUE, AttrValue::Secret(value));
        Ok(())
    }
}

/// `CKM_AES_KEY_GEN` and `CKM_GENERIC_SECRET_KEY_GEN`.
#[derive(Debug)]
pub struct SecretKeyGen;

impl Family for SecretKeyGen {
    fn generate_key(
        &self,
        mech: &Mechanism,
        template: &[Attribute],
        rng: &mut dyn Rng,
    ) -> Result<Vec<Attribute>> {
        if mech.param != MechParam::None {
            return Err(Error::MechanismParamInvalid);
        }
        let key_type = match mech.ty {
            MechanismType::AES_KEY_GEN => KeyType::AES,
            // Generic generation makes any HMAC key type the caller names.
            MechanismType::GENERIC_SECRET_KEY_GEN => {
                match template_ulong(template, AttrType::KEY_TYPE).map(KeyType) {
                    Some(k) if k != KeyType::AES && crate::mechanism::key_kind(k).is_some() => k,
                    Some(_) => return Err(Error::TemplateInconsistent),
                    None => KeyType::GENERIC_SECRET,
                }
            }
            _ => return Err(Error::MechanismInvalid),
        };
        let len = template_ulong(template, AttrType::VALUE_LEN).ok_or(Error::TemplateIncomplete)?;
        let len = usize::try_from(len).map_err(|_| Error::KeySizeRange)?;
        let kind = if key_type == KeyType::AES { &AES } else { &GENERIC };
        if !(kind.lengths)(len) {
            return Err(Error::KeySizeRange);
        }
        let mut value = alloc::vec![0u8; len];
        rng.fill(&mut value)?;
        Ok(alloc::vec![
            Attribute::ulong(AttrType::CLASS, ObjectClass::SECRET_KEY.0),
            Attribute::ulong(AttrType::KEY_TYPE, key_type.0),
            Attribute { ty: AttrType::VALUE, value: AttrValue::Secret(SecretBytes::new(value)) },
        ])
    }
}

/// The computed attributes of a secret key made from `bytes` (derivation, key agreement,
/// unwrapping): class and type from the template (default `CKK_GENERIC_SECRET`), length
/// from `CKA_VALUE_LEN` (default: all of `bytes`, or the whole key for fixed-size types).
///
/// # Errors
/// `TemplateInconsistent` (not a secret-key template, or an unknown key type),
/// `KeySizeRange` (more bytes asked for than there are, or a length the type refuses).
pub fn secret_from_bytes(template: &[Attribute], bytes: &[u8]) -> Result<Vec<Attribute>> {
    if let Some(c) = template_ulong(template, AttrType::CLASS) {
        if c != ObjectClass::SECRET_KEY.0 {
            return Err(Error::TemplateInconsistent);
        }
    }
    let key_type = template_ulong(template, AttrType::KEY_TYPE).map_or(KeyType::GENERIC_SECRET, KeyType);
    let kind: &SecretKind = match key_type {
        KeyType::AES => &AES,
        k if crate::mechanism::key_kind(k).is_some() && k != KeyType::EC => &GENERIC,
        _ => return Err(Error::TemplateInconsistent),
    };
    let len = match template_ulong(template, AttrType::VALUE_LEN) {
        Some(n) => usize::try_from(n).map_err(|_| Error::KeySizeRange)?,
        None if key_type == KeyType::AES && bytes.len() > 32 => 32,
        None => bytes.len(),
    };
    if len > bytes.len() || !(kind.lengths)(len) {
        return Err(Error::KeySizeRange);
    }
    Ok(alloc::vec![
        Attribute::ulong(AttrType::CLASS, ObjectClass::SECRET_KEY.0),
        Attribute::ulong(AttrType::KEY_TYPE, key_type.0),
        Attribute { ty: AttrType::VALUE, value: AttrValue::Secret(SecretBytes::from_slice(&bytes[..len])) },
    ])
}
