//! Key and key-pair generation: the mechanism's family computes the key material, the
//! attribute policy builds the objects, and both objects of a pair go in one batch.

use super::Engine;
use super::objects::new_unique_id;
use crate::attribute::Attribute;
use crate::consts::flags::{CKF_GENERATE, CKF_GENERATE_KEY_PAIR};
use crate::info::Mechanism;
use crate::mechanism::{self, Family};
use crate::object::policy::{self, Origin};
use crate::{Error, Result};

fn family(mech: &Mechanism, flag: u64) -> Result<&'static dyn Family> {
    match mechanism::lookup(mech.ty) {
        Some(e) if e.info.flags & flag != 0 => Ok(e.family),
        _ => Err(Error::MechanismInvalid),
    }
}

impl Engine {
    /// `C_GenerateKey`.
    ///
    /// # Errors
    /// `MechanismInvalid`, `MechanismParamInvalid`, `TemplateIncomplete` (e.g. no
    /// `CKA_VALUE_LEN`), `TemplateInconsistent`, `KeySizeRange`, policy and access errors.
    pub fn generate_key(&mut self, s: u64, mech: &Mechanism, template: &[Attribute]) -> Result<u64> {
        self.session_slot(s)?;
        self.check_template_access(s, template)?;
        let generated = family(mech, CKF_GENERATE)?.generate_key(mech, template, self.rng.as_mut())?;
        let uid = new_unique_id(self.rng.as_mut())?;
        let obj = policy::new_object(template, &generated, Origin::Generate(mech.ty), &uid)?;
        let h = self.insert_objects(s, alloc::vec![obj])?;
        h.first().copied().ok_or(Error::GeneralError)
    }

    /// `C_GenerateKeyPair`. Both objects are stored in one batch.
    ///
    /// # Errors
    /// `MechanismInvalid`, `TemplateIncomplete`, `TemplateInconsistent`, `CurveNotSupported`,
    /// `KeySizeRange`, policy and access errors.
    pub fn generate_key_pair(
        &mut self,
        s: u64,
        mech: &Mechanism,
        public: &[Attribute],
        private: &[Attribute],
    ) -> Result<(u64, u64)> {
        self.session_slot(s)?;
        self.check_template_access(s, public)?;
        self.check_template_access(s, private)?;
        let (pub_gen, priv_gen) = family(mech, CKF_GENERATE_KEY_PAIR)?.generate_key_pair(
            mech,
            public,
            private,
            self.rng.as_mut(),
        )?;
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
