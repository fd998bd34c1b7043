//! Key derivation, wrapping and unwrapping, and signatures with message recovery. The
//! mechanism families compute; the engine enforces the key rules around them:
//! `CKA_DERIVE`/`CKA_WRAP`/`CKA_UNWRAP`, `CKA_EXTRACTABLE`, `CKA_WRAP_WITH_TRUSTED`/`CKA_TRUSTED`,
//! and the `CKA_DERIVE_TEMPLATE`/`CKA_WRAP_TEMPLATE`/`CKA_UNWRAP_TEMPLATE` constraints.

use alloc::vec::Vec;

use super::Engine;
use super::crypto::Field;
use super::objects::new_unique_id;
use crate::attribute::{AttrValue, Attribute};
use crate::consts::flags::{CKF_DERIVE, CKF_SIGN_RECOVER, CKF_UNWRAP, CKF_VERIFY_RECOVER, CKF_WRAP};
use crate::consts::{AttrType, KeyType, ObjectClass};
use crate::info::{HkdfSalt, MechParam, Mechanism, OutBuf, Output};
use crate::mechanism::{self, ops::secret_keys};
use crate::object::Object;
use crate::object::policy::{self, Origin};
use crate::secret::SecretBytes;
use crate::session::{RecoverOp, Running, Session};
use crate::{Error, Result};

fn sign_recover_f(s: &mut Session) -> &mut Option<Running<RecoverOp>> {
    &mut s.sign_recover
}
fn verify_recover_f(s: &mut Session) -> &mut Option<Running<RecoverOp>> {
    &mut s.verify_recover
}

/// Add a key's constraint template (`CKA_DERIVE_TEMPLATE`, `CKA_UNWRAP_TEMPLATE`) to an
/// application template: an attribute both name must agree.
fn constrain(template: &[Attribute], constraint: Option<&AttrValue>) -> Result<Vec<Attribute>> {
    let mut out = template.to_vec();
    if let Some(AttrValue::Template(required)) = constraint {
        for a in required {
            match policy::find(template, a.ty) {
                Some(given) if given.value != a.value => return Err(Error::TemplateInconsistent),
                Some(_) => {}
                None => out.push(a.clone()),
            }
        }
    }
    Ok(out)
}

/// Mechanisms whose base may be a data object instead of a key.
fn takes_data_base(mech: &Mechanism) -> bool {
    matches!(mech.ty, crate::consts::MechanismType::HKDF_DERIVE | crate::consts::MechanismType::HKDF_DATA)
}

/// Handles that a mechanism parameter names (a salt key, a second base key).
fn referenced_keys(mech: &Mechanism) -> Vec<u64> {
    match &mech.param {
        MechParam::Hkdf(p) => match p.salt {
            HkdfSalt::Key(h) => alloc::vec![h],
            _ => Vec::new(),
        },
        MechParam::Ulong(h) if mech.ty == crate::consts::MechanismType::CONCATENATE_BASE_AND_KEY => {
            alloc::vec![*h]
        }
        _ => Vec::new(),
    }
}

impl Engine {
    /// `C_DeriveKey`: the new key's handle and those of any additional derived keys.
    ///
    /// # Errors
    /// `KeyHandleInvalid`, `KeyFunctionNotPermitted` (no `CKA_DERIVE`), `MechanismInvalid`,
    /// `MechanismParamInvalid`, `TemplateInconsistent` (against `CKA_DERIVE_TEMPLATE`),
    /// policy and access errors.
    pub fn derive_key(
        &mut self,
        s: u64,
        mech: &Mechanism,
        base: u64,
        template: &[Attribute],
    ) -> Result<(u64, Vec<u64>)> {
        let (base_obj, family) = match self.key_for(s, mech, base, CKF_DERIVE, AttrType::DERIVE) {
            // HKDF also takes its input keying material from a data object, which has no
            // CKA_DERIVE to check.
            Err(Error::KeyFunctionNotPermitted) if takes_data_base(mech) => self.data_base(s, mech, base)?,
            r => r?,
        };
        self.check_template_access(s, template)?;
        let mut template = constrain(template, base_obj.get(AttrType::DERIVE_TEMPLATE))?;
        let mut others = Vec::new();
        for h in referenced_keys(mech) {
            let (slot, id) = self.resolve(s, h, Error::KeyHandleInvalid)?;
            self.ensure_unsealed(slot, id)?;
            others.push((h, self.object(slot, id)?.clone()));
        }
        let derived = family.derive(mech, &base_obj, &template, &others, self.rng.as_mut())?;
        // A key made from several keys was always sensitive (never extractable) only if all
        // of them were.
        let sources = core::iter::once(&base_obj).chain(others.iter().map(|(_, o)| o));
        let (mut always_sensitive, mut never_extractable) = (true, true);
        for k in sources {
            always_sensitive &= k.flag(AttrType::ALWAYS_SENSITIVE);
            never_extractable &= k.flag(AttrType::NEVER_EXTRACTABLE);
        }
        let origin = Origin::Derive { always_sensitive, never_extractable };
        if policy::find(&derived.attrs, AttrType::CLASS).and_then(Attribute::as_ulong)
            == Some(ObjectClass::DATA.0)
        {
            // A data object (CKM_HKDF_DATA) has no CKA_VALUE_LEN: the template's only said how
            // many bytes to derive.
            template.retain(|a| a.ty != AttrType::VALUE_LEN);
        }
        let mut objs = Vec::with_capacity(1 + derived.additional.len());
        let uid = new_unique_id(self.rng.as_mut())?;
        objs.push(policy::new_object(&template, &derived.attrs, origin, &uid)?);
        for (t, attrs) in &derived.additional {
            self.check_template_access(s, t)?;
            let t = constrain(t, base_obj.get(AttrType::DERIVE_TEMPLATE))?;
            let uid = new_unique_id(self.rng.as_mut())?;
            objs.push(policy::new_object(&t, attrs, origin, &uid)?);
        }
        let handles = self.insert_objects(s, objs)?;
        let (first, rest) = handles.split_first().ok_or(Error::GeneralError)?;
        Ok((*first, rest.to_vec()))
    }

    /// A data object as the base of a derivation ([`takes_data_base`]): visible to the
    /// session and of class `CKO_DATA`; the mechanism must still support derivation.
    fn data_base(
        &mut self,
        s: u64,
        mech: &Mechanism,
        base: u64,
    ) -> Result<(Object, &'static dyn mechanism::Family)> {
        let entry = mechanism::lookup(mech.ty).ok_or(Error::MechanismInvalid)?;
        let (slot, id) = self.resolve(s, base, Error::KeyHandleInvalid)?;
        self.ensure_unsealed(slot, id)?;
        let obj = self.object(slot, id)?;
        if obj.class() != ObjectClass::DATA {
            return Err(Error::KeyFunctionNotPermitted);
        }
        Ok((obj.clone(), entry.family))
    }

    /// `C_WrapKey`.
    ///
    /// # Errors
    /// `WrappingKeyHandleInvalid`, `KeyHandleInvalid`, `KeyFunctionNotPermitted` (no `CKA_WRAP`),
    /// `KeyUnextractable`, `KeyNotWrappable` (`CKA_WRAP_WITH_TRUSTED` without `CKA_TRUSTED`,
    /// or outside the wrapping key's `CKA_WRAP_TEMPLATE`), mechanism errors.
    pub fn wrap_key(
        &mut self,
        s: u64,
        mech: &Mechanism,
        wrapping: u64,
        key: u64,
        out: OutBuf,
    ) -> Result<Output> {
        let (wk, family) =
            self.key_for(s, mech, wrapping, CKF_WRAP, AttrType::WRAP).map_err(|e| match e {
                Error::KeyHandleInvalid => Error::WrappingKeyHandleInvalid,
                other => other,
            })?;
        let (slot, id) = self.resolve(s, key, Error::KeyHandleInvalid)?;
        self.ensure_unsealed(slot, id)?;
        let target = self.object(slot, id)?.clone();
        if !target.flag(AttrType::EXTRACTABLE) {
            return Err(Error::KeyUnextractable);
        }
        if target.flag(AttrType::WRAP_WITH_TRUSTED) && !wk.flag(AttrType::TRUSTED) {
            return Err(Error::KeyNotWrappable);
        }
        if let Some(AttrValue::Template(required)) = wk.get(AttrType::WRAP_TEMPLATE) {
            if !target.matches(required) {
                return Err(Error::KeyNotWrappable);
            }
        }
        let material = match target.class() {
            ObjectClass::SECRET_KEY => {
                SecretBytes::from_slice(target.bytes(AttrType::VALUE).ok_or(Error::KeyNotWrappable)?)
            }
            ObjectClass::PRIVATE_KEY => {
                let kt = target.key_type().ok_or(Error::KeyNotWrappable)?;
                mechanism::key_kind(kt).ok_or(Error::KeyNotWrappable)?.export_pkcs8(&target)?
            }
            _ => return Err(Error::KeyNotWrappable),
        };
        let wrapped = family.wrap(mech, &wk, material.expose(), self.rng.as_mut())?;
        Ok(match out {
            OutBuf::Capacity(n) if n >= wrapped.len() => Output::Data(wrapped),
            _ => Output::Length(wrapped.len()),
        })
    }

    /// `C_UnwrapKey`.
    ///
    /// # Errors
    /// `UnwrappingKeyHandleInvalid`, `KeyFunctionNotPermitted` (no `CKA_UNWRAP`),
    /// `WrappedKeyInvalid`, `TemplateIncomplete` (no class or key type),
    /// `TemplateInconsistent` (against `CKA_UNWRAP_TEMPLATE`), policy and access errors.
    pub fn unwrap_key(
        &mut self,
        s: u64,
        mech: &Mechanism,
        unwrapping: u64,
        wrapped: &[u8],
        template: &[Attribute],
    ) -> Result<u64> {
        let (uk, family) =
            self.key_for(s, mech, unwrapping, CKF_UNWRAP, AttrType::UNWRAP).map_err(|e| match e {
                Error::KeyHandleInvalid => Error::UnwrappingKeyHandleInvalid,
                other => other,
            })?;
        self.check_template_access(s, template)?;
        let template = constrain(template, uk.get(AttrType::UNWRAP_TEMPLATE))?;
        let class = policy::find(&template, AttrType::CLASS)
            .and_then(Attribute::as_ulong)
            .map(ObjectClass)
            .ok_or(Error::TemplateIncomplete)?;
        let material = family.unwrap(mech, &uk, wrapped)?;
        let attrs = match class {
            ObjectClass::SECRET_KEY => secret_keys::secret_from_bytes(&template, material.expose())?,
            ObjectClass::PRIVATE_KEY => {
                let kt = policy::find(&template, AttrType::KEY_TYPE)
                    .and_then(Attribute::as_ulong)
                    .map(KeyType)
                    .ok_or(Error::TemplateIncomplete)?;
                let kind = mechanism::key_kind(kt).ok_or(Error::TemplateInconsistent)?;
                let mut attrs = kind.import_pkcs8(material.expose())?;
                attrs.push(Attribute::ulong(AttrType::CLASS, ObjectClass::PRIVATE_KEY.0));
                attrs.push(Attribute::ulong(AttrType::KEY_TYPE, kt.0));
                attrs
            }
            _ => return Err(Error::TemplateInconsistent),
        };
        let uid = new_unique_id(self.rng.as_mut())?;
        let obj = policy::new_object(&template, &attrs, Origin::Unwrap, &uid)?;
        let h = self.insert_objects(s, alloc::vec![obj])?;
        h.first().copied().ok_or(Error::GeneralError)
    }

    fn recover_init(&mut self, s: u64, mech: &Mechanism, key: u64, sign: bool) -> Result<()> {
        self.session(s)?;
        let (field, flag, usage): (Field<RecoverOp>, u64, AttrType) = if sign {
            (sign_recover_f, CKF_SIGN_RECOVER, AttrType::SIGN_RECOVER)
        } else {
            (verify_recover_f, CKF_VERIFY_RECOVER, AttrType::VERIFY_RECOVER)
        };
        self.ensure_idle(s, field)?;
        let (obj, family) = self.key_for(s, mech, key, flag, usage)?;
        let auth = sign && obj.flag(AttrType::ALWAYS_AUTHENTICATE);
        self.start(s, field, Running::new(RecoverOp { mech: mech.clone(), key: obj, family }, auth))
    }

    /// `C_SignRecoverInit`.
    ///
    /// # Errors
    /// As [`Engine::sign_init`].
    pub fn sign_recover_init(&mut self, s: u64, mech: &Mechanism, key: u64) -> Result<()> {
        self.recover_init(s, mech, key, true)
    }

    /// `C_SignRecover`.
    ///
    /// # Errors
    /// `OperationNotInitialized`, `DataLenRange`, mechanism errors.
    pub fn sign_recover(&mut self, s: u64, data: &[u8], out: OutBuf) -> Result<Output> {
        self.recover_step(s, sign_recover_f, out, |op, rng| {
            op.family.sign_recover(&op.mech, &op.key, data, rng)
        })
    }

    /// A recovery step: the output's length is known only once computed, so a query or a
    /// short buffer computes it and keeps the operation.
    fn recover_step(
        &mut self,
        s: u64,
        field: Field<RecoverOp>,
        out: OutBuf,
        compute: impl FnOnce(&RecoverOp, &mut dyn crate::rng::Rng) -> Result<Vec<u8>>,
    ) -> Result<Output> {
        let rng = self.rng.as_mut();
        let slot = field(self.sessions.get_mut(&s).ok_or(Error::SessionHandleInvalid)?);
        let run = slot.as_ref().ok_or(Error::OperationNotInitialized)?;
        if run.needs_auth {
            return Err(Error::UserNotLoggedIn);
        }
        match compute(&run.op, rng) {
            Err(e) => {
                *slot = None;
                Err(e)
            }
            Ok(v) => match out {
                OutBuf::Capacity(n) if n >= v.len() => {
                    *slot = None;
                    Ok(Output::Data(v))
                }
                _ => Ok(Output::Length(v.len())),
            },
        }
    }

    /// `C_VerifyRecoverInit`.
    ///
    /// # Errors
    /// As [`Engine::verify_init`].
    pub fn verify_recover_init(&mut self, s: u64, mech: &Mechanism, key: u64) -> Result<()> {
        self.recover_init(s, mech, key, false)
    }

    /// `C_VerifyRecover`: the recovered data.
    ///
    /// # Errors
    /// `SignatureInvalid`, `SignatureLenRange`, `OperationNotInitialized`.
    pub fn verify_recover(&mut self, s: u64, signature: &[u8], out: OutBuf) -> Result<Output> {
        self.recover_step(s, verify_recover_f, out, |op, _| {
            op.family.verify_recover(&op.mech, &op.key, signature)
        })
    }
}
