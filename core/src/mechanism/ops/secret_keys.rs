//! Secret keys: AES, Triple DES, ChaCha20, generic secrets, HKDF keys and the HMAC key types;
//! their key-generation mechanisms (`CKM_AES_KEY_GEN`, `CKM_DES2_KEY_GEN`/`CKM_DES3_KEY_GEN`
//! with odd parity, `CKM_CHACHA20_KEY_GEN`, `CKM_GENERIC_SECRET_KEY_GEN`, `CKM_HKDF_KEY_GEN`
//! and the PKCS #11 3.0 `CKM_SHA*_KEY_GEN` family).

use alloc::vec::Vec;

use super::template_ulong;
use crate::attribute::{AttrValue, Attribute};
use crate::consts::{AttrType, KeyType, MechanismType, ObjectClass};
use crate::info::{MechParam, Mechanism};
use crate::mechanism::block::set_des_parity;
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
    /// The length of a fixed-size type (used when a template names no `CKA_VALUE_LEN`).
    fixed: Option<usize>,
}

/// AES: 16, 24 or 32 bytes.
pub static AES: SecretKind = SecretKind { lengths: |n| matches!(n, 16 | 24 | 32), fixed: None };
/// Generic secrets, HKDF and HMAC keys: 1 to 1024 bytes.
pub static GENERIC: SecretKind = SecretKind { lengths: |n| (1..=1024).contains(&n), fixed: None };
/// Two-key Triple DES: 16 bytes.
pub static DES2: SecretKind = SecretKind { lengths: |n| n == 16, fixed: Some(16) };
/// Three-key Triple DES: 24 bytes.
pub static DES3: SecretKind = SecretKind { lengths: |n| n == 24, fixed: Some(24) };
/// ChaCha20: 32 bytes.
pub static CHACHA20: SecretKind = SecretKind { lengths: |n| n == 32, fixed: Some(32) };

/// The length rule of a secret key type, or `None` if it is not one the engine stores.
pub fn secret_kind(kt: KeyType) -> Option<&'static SecretKind> {
    match kt {
        KeyType::AES => Some(&AES),
        KeyType::DES2 => Some(&DES2),
        KeyType::DES3 => Some(&DES3),
        KeyType::CHACHA20 => Some(&CHACHA20),
        KeyType::GENERIC_SECRET
        | KeyType::HKDF
        | KeyType::SHA_1_HMAC
        | KeyType::SHA224_HMAC
        | KeyType::SHA256_HMAC
        | KeyType::SHA384_HMAC
        | KeyType::SHA512_HMAC
        | KeyType::SHA512_224_HMAC
        | KeyType::SHA512_256_HMAC
        | KeyType::SHA3_224_HMAC
        | KeyType::SHA3_256_HMAC
        | KeyType::SHA3_384_HMAC
        | KeyType::SHA3_512_HMAC => Some(&GENERIC),
        _ => None,
    }
}

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

/// The key type a key-generation mechanism makes, for the mechanisms with a fixed one.
fn generated_type(m: MechanismType) -> Option<KeyType> {
    Some(match m {
        MechanismType::AES_KEY_GEN => KeyType::AES,
        MechanismType::DES2_KEY_GEN => KeyType::DES2,
        MechanismType::DES3_KEY_GEN => KeyType::DES3,
        MechanismType::CHACHA20_KEY_GEN => KeyType::CHACHA20,
        MechanismType::HKDF_KEY_GEN => KeyType::HKDF,
        MechanismType::SHA_1_KEY_GEN => KeyType::SHA_1_HMAC,
        MechanismType::SHA224_KEY_GEN => KeyType::SHA224_HMAC,
        MechanismType::SHA256_KEY_GEN => KeyType::SHA256_HMAC,
        MechanismType::SHA384_KEY_GEN => KeyType::SHA384_HMAC,
        MechanismType::SHA512_KEY_GEN => KeyType::SHA512_HMAC,
        MechanismType::SHA512_224_KEY_GEN => KeyType::SHA512_224_HMAC,
        MechanismType::SHA512_256_KEY_GEN => KeyType::SHA512_256_HMAC,
        MechanismType::SHA3_224_KEY_GEN => KeyType::SHA3_224_HMAC,
        MechanismType::SHA3_256_KEY_GEN => KeyType::SHA3_256_HMAC,
        MechanismType::SHA3_384_KEY_GEN => KeyType::SHA3_384_HMAC,
        MechanismType::SHA3_512_KEY_GEN => KeyType::SHA3_512_HMAC,
        _ => return None,
    })
}

/// The length a new key of `kind` gets from `template`: `CKA_VALUE_LEN`, or the type's fixed
/// length.
///
/// # Errors
/// `TemplateIncomplete` when neither says, `KeySizeRange` for a length the type refuses.
pub fn template_len(template: &[Attribute], kind: &SecretKind) -> Result<usize> {
    let len = match template_ulong(template, AttrType::VALUE_LEN) {
        Some(n) => usize::try_from(n).map_err(|_| Error::KeySizeRange)?,
        None => kind.fixed.ok_or(Error::TemplateIncomplete)?,
    };
    if !(kind.lengths)(len) {
        return Err(Error::KeySizeRange);
    }
    Ok(len)
}

/// The secret key generation mechanisms.
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
        let key_type = match generated_type(mech.ty) {
            Some(k) => k,
            // Generic generation makes the generic-length types the caller names.
            None if mech.ty == MechanismType::GENERIC_SECRET_KEY_GEN => {
                match template_ulong(template, AttrType::KEY_TYPE).map(KeyType) {
                    Some(k) if secret_kind(k).is_some_and(|s| core::ptr::eq(s, &GENERIC)) => k,
                    Some(_) => return Err(Error::TemplateInconsistent),
                    None => KeyType::GENERIC_SECRET,
                }
            }
            None => return Err(Error::MechanismInvalid),
        };
        let kind = secret_kind(key_type).ok_or(Error::MechanismInvalid)?;
        let len = template_len(template, kind)?;
        let mut value = alloc::vec![0u8; len];
        loop {
            rng.fill(&mut value)?;
            if matches!(key_type, KeyType::DES2 | KeyType::DES3) {
                set_des_parity(&mut value);
                // Keys whose parts repeat degenerate to single DES: draw again.
                let degenerate = value[..8] == value[8..16] || (len == 24 && value[8..16] == value[16..24]);
                if degenerate {
                    continue;
                }
            }
            break;
        }
        Ok(alloc::vec![
            Attribute::ulong(AttrType::CLASS, ObjectClass::SECRET_KEY.0),
            Attribute::ulong(AttrType::KEY_TYPE, key_type.0),
            Attribute { ty: AttrType::VALUE, value: AttrValue::Secret(SecretBytes::new(value)) },
        ])
    }
}

/// The computed attributes of a secret key made from `bytes` (derivation, key agreement,
/// unwrapping): class and type from the template (default `CKK_GENERIC_SECRET`), length
/// from `CKA_VALUE_LEN` (default: the whole key for fixed-size types, else all of `bytes`,
/// at most 32 for AES), taken from the leading end of `bytes`.
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
    let kind = secret_kind(key_type).ok_or(Error::TemplateInconsistent)?;
    let len = match template_ulong(template, AttrType::VALUE_LEN) {
        Some(n) => usize::try_from(n).map_err(|_| Error::KeySizeRange)?,
        None => match kind.fixed {
            Some(n) => n,
            None if key_type == KeyType::AES && bytes.len() > 32 => 32,
            None => bytes.len(),
        },
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

/// The length of the key a derivation makes from `template`, known before the key material
/// is computed: `CKA_VALUE_LEN`, else the fixed length of the key type.
///
/// # Errors
/// `TemplateIncomplete` when neither says, `TemplateInconsistent` for a type that is not a
/// secret key type, `KeySizeRange` for a length the type refuses.
pub fn derived_len(template: &[Attribute]) -> Result<usize> {
    let key_type = template_ulong(template, AttrType::KEY_TYPE).map_or(KeyType::GENERIC_SECRET, KeyType);
    template_len(template, secret_kind(key_type).ok_or(Error::TemplateInconsistent)?)
}
