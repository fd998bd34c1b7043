//! Key and key-pair generation.

use alloc::vec::Vec;

use super::Engine;
use super::objects::new_unique_id;
use crate::attribute::{AttrValue, Attribute};
use crate::consts::{AttrType, KeyType, MechanismType, ObjectClass};
use crate::info::{MechParam, Mechanism};
use crate::mechanism::ec;
use crate::object::policy::{self, Origin, SECRET_KEY_TYPES};
use crate::secret::SecretBytes;
use crate::{Error, Result};

/// A template's value for `ty` must be `want` if the template gives it at all.
fn expect_ulong(template: &[Attribute], ty: AttrType, want: u64) -> Result<()> {
    match policy::find(template, ty) {
        Some(a) if a.as_ulong() != Some(want) => Err(Error::TemplateInconsistent),
        _ => Ok(()),
    }
}

impl Engine {
    /// `C_GenerateKey`: `CKM_AES_KEY_GEN` and `CKM_GENERIC_SECRET_KEY_GEN`.
    ///
    /// # Errors
    /// `MechanismInvalid`, `MechanismParamInvalid`, `TemplateIncomplete` (no `CKA_VALUE_LEN`),
    /// `TemplateInconsistent`, `KeySizeRange`, policy and access errors.
    pub fn generate_key(
        &mut self,
        s: u64,
        mech: &Mechanism,
        template: &[Attribute],
    ) -> Result<u64> {
        self.session_slot(s)?;
        let key_type = match mech.ty {
            MechanismType::AES_KEY_GEN => KeyType::AES,
            MechanismType::GENERIC_SECRET_KEY_GEN => {
                // Generic generation may produce any HMAC key type the caller names.
                match policy::find(template, AttrType::KEY_TYPE)
                    .and_then(Attribute::as_ulong)
                    .map(KeyType)
                {
                    Some(k) if k != KeyType::AES && SECRET_KEY_TYPES.contains(&k) => k,
                    Some(_) => return Err(Error::TemplateInconsistent),
                    None => KeyType::GENERIC_SECRET,
                }
            }
            _ => return Err(Error::MechanismInvalid),
        };
        if mech.param != MechParam::None {
            return Err(Error::MechanismParamInvalid);
        }
        expect_ulong(template, AttrType::CLASS, ObjectClass::SECRET_KEY.0)?;
        expect_ulong(template, AttrType::KEY_TYPE, key_type.0)?;
        if policy::find(template, AttrType::VALUE).is_some() {
            return Err(Error::TemplateInconsistent);
        }
        let len = policy::find(template, AttrType::VALUE_LEN)
            .and_then(Attribute::as_ulong)
            .ok_or(Error::TemplateIncomplete)?;
        let len = usize::try_from(len).map_err(|_| Error::KeySizeRange)?;
        let ok = if key_type == KeyType::AES {
            matches!(len, 16 | 24 | 32)
        } else {
            (1..=1024).contains(&len)
        };
        if !ok {
            return Err(Error::KeySizeRange);
        }
        let value = SecretBytes::new(self.fill_random(len)?);
        let generated = [
            Attribute::ulong(AttrType::CLASS, ObjectClass::SECRET_KEY.0),
            Attribute::ulong(AttrType::KEY_TYPE, key_type.0),
            Attribute {
                ty: AttrType::VALUE,
                value: AttrValue::Secret(value),
            },
        ];
        let uid = new_unique_id(self.rng.as_mut())?;
        let obj = policy::new_object(template, &generated, Origin::Generate(mech.ty), &uid)?;
        let h = self.insert_objects(s, alloc::vec![obj])?;
        h.first().copied().ok_or(Error::GeneralError)
    }

    /// `C_GenerateKeyPair`: `CKM_EC_KEY_PAIR_GEN`. Both objects are stored in one batch.
    ///
    /// # Errors
    /// `MechanismInvalid`, `TemplateIncomplete` (no `CKA_EC_PARAMS`), `TemplateInconsistent`,
    /// `CurveNotSupported`, policy and access errors.
    pub fn generate_key_pair(
        &mut self,
        s: u64,
        mech: &Mechanism,
        public: &[Attribute],
        private: &[Attribute],
    ) -> Result<(u64, u64)> {
        self.session_slot(s)?;
        if mech.ty != MechanismType::EC_KEY_PAIR_GEN {
            return Err(Error::MechanismInvalid);
        }
        if mech.param != MechParam::None {
            return Err(Error::MechanismParamInvalid);
        }
        expect_ulong(public, AttrType::CLASS, ObjectClass::PUBLIC_KEY.0)?;
        expect_ulong(private, AttrType::CLASS, ObjectClass::PRIVATE_KEY.0)?;
        expect_ulong(public, AttrType::KEY_TYPE, KeyType::EC.0)?;
        expect_ulong(private, AttrType::KEY_TYPE, KeyType::EC.0)?;
        let params = policy::find(public, AttrType::EC_PARAMS)
            .or_else(|| policy::find(private, AttrType::EC_PARAMS))
            .and_then(|a| a.value.as_bytes())
            .ok_or(Error::TemplateIncomplete)?
            .to_vec();
        if let Some(p) = policy::find(private, AttrType::EC_PARAMS) {
            if p.value.as_bytes() != Some(params.as_slice()) {
                return Err(Error::TemplateInconsistent);
            }
        }
        if policy::find(public, AttrType::EC_POINT).is_some()
            || policy::find(private, AttrType::VALUE).is_some()
        {
            return Err(Error::TemplateInconsistent);
        }
        let curve = ec::parse_ec_params(&params)?;
        let (scalar, point) = ec::generate(curve, self.rng.as_mut())?;
        let mut pub_gen: Vec<Attribute> = alloc::vec![
            Attribute::ulong(AttrType::CLASS, ObjectClass::PUBLIC_KEY.0),
            Attribute::ulong(AttrType::KEY_TYPE, KeyType::EC.0),
            Attribute::bytes(AttrType::EC_POINT, &ec::encode_ec_point(&point)),
        ];
        let mut priv_gen: Vec<Attribute> = alloc::vec![
            Attribute::ulong(AttrType::CLASS, ObjectClass::PRIVATE_KEY.0),
            Attribute::ulong(AttrType::KEY_TYPE, KeyType::EC.0),
            Attribute {
                ty: AttrType::VALUE,
                value: AttrValue::Secret(scalar)
            },
        ];
        if policy::find(public, AttrType::EC_PARAMS).is_none() {
            pub_gen.push(Attribute::bytes(AttrType::EC_PARAMS, &params));
        }
        if policy::find(private, AttrType::EC_PARAMS).is_none() {
            priv_gen.push(Attribute::bytes(AttrType::EC_PARAMS, &params));
        }
        let uid_pub = new_unique_id(self.rng.as_mut())?;
        let uid_priv = new_unique_id(self.rng.as_mut())?;
        let origin = Origin::Generate(mech.ty);
        let pub_obj = policy::new_object(public, &pub_gen, origin, &uid_pub)?;
        let priv_obj = policy::new_object(private, &priv_gen, origin, &uid_priv)?;
        let h = self.insert_objects(s, alloc::vec![pub_obj, priv_obj])?;
        match h.as_slice() {
            [p, q] => Ok((*p, *q)),
            _ => Err(Error::GeneralError),
        }
    }
}
