//! Key derivation: `CKM_HKDF_DERIVE` and `CKM_HKDF_DATA` (`CK_HKDF_PARAMS`),
//! `CKM_PKCS5_PBKD2` (a key-generation mechanism, `CK_PKCS5_PBKD2_PARAMS2`) and the
//! SP 800-108 KDFs `CKM_SP800_108_COUNTER_KDF`, `_FEEDBACK_KDF` and `_DOUBLE_PIPELINE_KDF`
//! with additional derived keys.

use alloc::vec::Vec;

use super::block_cipher::keyed;
use super::secret_keys::{derived_len, secret_from_bytes};
use super::{require, secret_value, template_ulong};
use crate::attribute::{AttrValue, Attribute};
use crate::consts::{AttrType, KeyType, MechanismType as M, ObjectClass};
use crate::info::{HkdfSalt, MechParam, Mechanism};
use crate::mechanism::cmac::{BlockMac, MacKind};
use crate::mechanism::digest::DigestAlg;
use crate::mechanism::hmac::{Mac, hmac_mechanism};
use crate::mechanism::kdf::{self, KbkdfMode, Prf};
use crate::mechanism::{Derived, Family};
use crate::object::{Object, policy};
use crate::rng::Rng;
use crate::secret::SecretBytes;
use crate::{Error, Result};

/// `CKZ_SALT_SPECIFIED`.
const CKZ_SALT_SPECIFIED: u64 = 1;

/// The HKDF family.
#[derive(Debug)]
pub struct Hkdf;

/// The input keying material of an HKDF base: a generic secret or HKDF key, or the value of
/// a data object (the engine lets a data object through only for the HKDF mechanisms).
fn hkdf_input(obj: &Object) -> Result<SecretBytes> {
    match obj.class() {
        ObjectClass::DATA => {
            obj.bytes(AttrType::VALUE).map(SecretBytes::from_slice).ok_or(Error::KeyTypeInconsistent)
        }
        _ => {
            require(obj, ObjectClass::SECRET_KEY, &[KeyType::GENERIC_SECRET, KeyType::HKDF])?;
            secret_value(obj)
        }
    }
}

impl Family for Hkdf {
    fn derive(
        &self,
        mech: &Mechanism,
        base: &Object,
        template: &[Attribute],
        others: &[(u64, Object)],
        _rng: &mut dyn Rng,
    ) -> Result<Derived> {
        let data_out = match mech.ty {
            M::HKDF_DERIVE => false,
            M::HKDF_DATA => true,
            _ => return Err(Error::MechanismInvalid),
        };
        let MechParam::Hkdf(p) = &mech.param else {
            return Err(Error::MechanismParamInvalid);
        };
        if !p.extract && !p.expand {
            return Err(Error::MechanismParamInvalid);
        }
        let alg = DigestAlg::from_mechanism(p.prf).ok_or(Error::MechanismParamInvalid)?;
        let ikm = hkdf_input(base)?;
        let hash_len = alg.output_len();

        // The output length: CKA_VALUE_LEN, or the key type's size, or one hash length.
        let len = match template_ulong(template, AttrType::VALUE_LEN) {
            Some(n) => usize::try_from(n).map_err(|_| Error::KeySizeRange)?,
            None if data_out => hash_len,
            None => derived_len(template)
                .or_else(|e| if e == Error::TemplateIncomplete { Ok(hash_len) } else { Err(e) })?,
        };
        if !p.expand && len != hash_len {
            // Extract alone gives the PRK, one hash length.
            return Err(Error::TemplateInconsistent);
        }

        let prk = if p.extract {
            let salt = match &p.salt {
                HkdfSalt::Null => SecretBytes::default(),
                HkdfSalt::Data(d) if !d.is_empty() => SecretBytes::from_slice(d),
                HkdfSalt::Data(_) => return Err(Error::MechanismParamInvalid),
                HkdfSalt::Key(h) => {
                    let (_, key) = others.iter().find(|(k, _)| k == h).ok_or(Error::KeyHandleInvalid)?;
                    hkdf_input(key).map_err(|_| Error::MechanismParamInvalid)?
                }
            };
            kdf::hkdf_extract(alg, salt.expose(), ikm.expose())
        } else {
            ikm
        };
        let okm = if p.expand { kdf::hkdf_expand(alg, prk.expose(), &p.info, len)? } else { prk };

        let attrs = if data_out {
            if template_ulong(template, AttrType::CLASS).is_some_and(|c| c != ObjectClass::DATA.0) {
                return Err(Error::TemplateInconsistent);
            }
            alloc::vec![
                Attribute::ulong(AttrType::CLASS, ObjectClass::DATA.0),
                Attribute { ty: AttrType::VALUE, value: AttrValue::Bytes(okm.expose().to_vec()) },
            ]
        } else {
            secret_from_bytes(template, okm.expose())?
        };
        Ok(Derived { attrs, additional: Vec::new() })
    }
}

/// `CKM_PKCS5_PBKD2`: a key generated from a password.
#[derive(Debug)]
pub struct Pbkdf2;

impl Family for Pbkdf2 {
    fn generate_key(
        &self,
        mech: &Mechanism,
        template: &[Attribute],
        _rng: &mut dyn Rng,
    ) -> Result<Vec<Attribute>> {
        if mech.ty != M::PKCS5_PBKD2 {
            return Err(Error::MechanismInvalid);
        }
        let MechParam::Pbkdf2(p) = &mech.param else {
            return Err(Error::MechanismParamInvalid);
        };
        if p.salt_source != CKZ_SALT_SPECIFIED || !p.prf_data.is_empty() {
            return Err(Error::MechanismParamInvalid);
        }
        let alg = kdf::pbkdf2_prf(p.prf).ok_or(Error::MechanismParamInvalid)?;
        let len = derived_len(template)?;
        let dk = kdf::pbkdf2(alg, p.password.expose(), &p.salt, p.iterations, len)?;
        secret_from_bytes(template, dk.expose())
    }
}

/// The SP 800-108 family.
#[derive(Debug)]
pub struct Sp800108;

/// The PRF of `prf_type` keyed with the base key.
fn keyed_prf(prf_type: M, base: &Object) -> Result<Prf> {
    if let Some((alg, false)) = hmac_mechanism(prf_type) {
        let hmac_type = super::hmac::key_type_for(alg);
        require(base, ObjectClass::SECRET_KEY, &[KeyType::GENERIC_SECRET, hmac_type])?;
        return Ok(Prf::Hmac(alloc::boxed::Box::new(Mac::new(alg, secret_value(base)?.expose()))));
    }
    let aes = match prf_type {
        M::AES_CMAC => true,
        M::DES3_CMAC => false,
        _ => return Err(Error::MechanismParamInvalid),
    };
    Ok(Prf::Cmac(alloc::boxed::Box::new(BlockMac::new(keyed(base, aes)?, MacKind::Cmac))))
}

impl Family for Sp800108 {
    fn derive(
        &self,
        mech: &Mechanism,
        base: &Object,
        template: &[Attribute],
        _others: &[(u64, Object)],
        _rng: &mut dyn Rng,
    ) -> Result<Derived> {
        let mode = match mech.ty {
            M::SP800_108_COUNTER_KDF => KbkdfMode::Counter,
            M::SP800_108_FEEDBACK_KDF => KbkdfMode::Feedback,
            M::SP800_108_DOUBLE_PIPELINE_KDF => KbkdfMode::DoublePipeline,
            _ => return Err(Error::MechanismInvalid),
        };
        let MechParam::Sp800108(p) = &mech.param else {
            return Err(Error::MechanismParamInvalid);
        };
        if mode != KbkdfMode::Feedback && !p.iv.is_empty() {
            return Err(Error::MechanismParamInvalid);
        }
        let prf = keyed_prf(p.prf, base)?;
        let mut lens = Vec::with_capacity(1 + p.additional_keys.len());
        lens.push(derived_len(template)?);
        for t in &p.additional_keys {
            lens.push(derived_len(t)?);
        }
        let keys = kdf::kbkdf(mode, &prf, &p.data, &p.iv, &lens)?;
        let attrs = inherit_protection(template, base, secret_from_bytes(template, keys[0].expose())?);
        let mut additional = Vec::with_capacity(p.additional_keys.len());
        for (t, k) in p.additional_keys.iter().zip(&keys[1..]) {
            additional.push((t.clone(), inherit_protection(t, base, secret_from_bytes(t, k.expose())?)));
        }
        Ok(Derived { attrs, additional })
    }
}

/// SP 800-108's rule (PKCS #11 3.2 §6.42, "Key Derivation Attribute Rules"): a derived key
/// whose template omits `CKA_SENSITIVE` or `CKA_EXTRACTABLE` takes the base key's value, not
/// the token's default.
fn inherit_protection(template: &[Attribute], base: &Object, mut attrs: Vec<Attribute>) -> Vec<Attribute> {
    for ty in [AttrType::SENSITIVE, AttrType::EXTRACTABLE] {
        if policy::find(template, ty).is_none() {
            attrs.push(Attribute::bool(ty, base.flag(ty)));
        }
    }
    attrs
}
