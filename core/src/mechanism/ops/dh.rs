//! Diffie-Hellman keys and domain parameters (`CKK_DH`), `CKM_DH_PKCS_PARAMETER_GEN`,
//! `CKM_DH_PKCS_KEY_PAIR_GEN` and `CKM_DH_PKCS_DERIVE`.

use alloc::vec::Vec;

use super::dsa::set_bits;
use super::rsa::check_classes;
use super::secret_keys::secret_from_bytes;
use super::{require, template_bytes, template_ulong};
use crate::attribute::{AttrValue, Attribute};
use crate::consts::{AttrType, KeyType, MechanismType as M, ObjectClass};
use crate::info::{MechParam, Mechanism};
use crate::mechanism::dh::{self, Params};
use crate::mechanism::rsa::{bit_len, strip_zeros};
use crate::mechanism::{Derived, Family, KeyKind, KeyPairAttributes};
use crate::object::Object;
use crate::object::policy::{Dflt, FIXED, Origin, REQ, Rule, SECRET};
use crate::rng::Rng;
use crate::secret::SecretBytes;
use crate::{Error, Result};

static DH_DOMAIN: &[Rule] = &[
    Rule::new(AttrType::PRIME, REQ | FIXED, Dflt::Absent),
    Rule::new(AttrType::BASE, REQ | FIXED, Dflt::Absent),
    Rule::new(AttrType::PRIME_BITS, FIXED, Dflt::Absent),
];

static DH_PUBLIC: &[Rule] = &[
    Rule::new(AttrType::PRIME, REQ | FIXED, Dflt::Absent),
    Rule::new(AttrType::BASE, REQ | FIXED, Dflt::Absent),
    // y: public.
    Rule::new(AttrType::VALUE, REQ | FIXED, Dflt::Absent),
];

static DH_PRIVATE: &[Rule] = &[
    Rule::new(AttrType::PRIME, REQ | FIXED, Dflt::Absent),
    Rule::new(AttrType::BASE, REQ | FIXED, Dflt::Absent),
    // x.
    Rule::new(AttrType::VALUE, REQ | FIXED | SECRET, Dflt::Absent),
    // Given to key-pair generation; computed otherwise.
    Rule::new(AttrType::VALUE_BITS, FIXED, Dflt::Absent),
];

fn params_of(obj: &Object) -> Result<Params> {
    let p = obj.bytes(AttrType::PRIME).ok_or(Error::TemplateIncomplete)?;
    let g = obj.bytes(AttrType::BASE).ok_or(Error::TemplateIncomplete)?;
    dh::params(p, g)
}

/// `CKK_DH`.
#[derive(Debug)]
pub struct DhKey;

impl KeyKind for DhKey {
    fn rules(&self, class: ObjectClass) -> Option<&'static [Rule]> {
        match class {
            ObjectClass::PUBLIC_KEY => Some(DH_PUBLIC),
            ObjectClass::PRIVATE_KEY => Some(DH_PRIVATE),
            ObjectClass::DOMAIN_PARAMETERS => Some(DH_DOMAIN),
            _ => None,
        }
    }

    fn complete(&self, obj: &mut Object, class: ObjectClass, origin: Origin) -> Result<()> {
        let params = params_of(obj).map_err(|e| match (e, class, origin) {
            (Error::KeySizeRange, _, Origin::Create) => Error::AttributeValueInvalid,
            (Error::DomainParamsInvalid, c, _) if c != ObjectClass::DOMAIN_PARAMETERS => {
                Error::AttributeValueInvalid
            }
            (other, _, _) => other,
        })?;
        obj.set(AttrType::PRIME, AttrValue::Bytes(params.prime()));
        obj.set(AttrType::BASE, AttrValue::Bytes(params.base()));
        if class == ObjectClass::DOMAIN_PARAMETERS {
            return set_bits(obj, AttrType::PRIME_BITS, params.prime_bits());
        }
        let value = obj.bytes(AttrType::VALUE).ok_or(Error::TemplateIncomplete)?.to_vec();
        let y = if class == ObjectClass::PUBLIC_KEY {
            dh::check_public(&params, &value)?;
            let y = strip_zeros(&value).to_vec();
            obj.set(AttrType::VALUE, AttrValue::Bytes(y.clone()));
            y
        } else {
            let y = dh::public_from_private(&params, &value)?;
            set_bits(obj, AttrType::VALUE_BITS, bit_len(&value))?;
            obj.set(AttrType::VALUE, AttrValue::Secret(SecretBytes::from_slice(strip_zeros(&value))));
            y
        };
        obj.set(AttrType::PUBLIC_KEY_INFO, AttrValue::Bytes(dh::public_key_info(&params, &y)));
        Ok(())
    }
}

/// `CKM_DH_PKCS_PARAMETER_GEN`, `CKM_DH_PKCS_KEY_PAIR_GEN` and `CKM_DH_PKCS_DERIVE`.
#[derive(Debug)]
pub struct Dh;

impl Family for Dh {
    fn generate_key(
        &self,
        mech: &Mechanism,
        template: &[Attribute],
        rng: &mut dyn Rng,
    ) -> Result<Vec<Attribute>> {
        if mech.ty != M::DH_PKCS_PARAMETER_GEN {
            return Err(Error::MechanismInvalid);
        }
        if mech.param != MechParam::None {
            return Err(Error::MechanismParamInvalid);
        }
        let class_ok =
            template_ulong(template, AttrType::CLASS).is_none_or(|c| c == ObjectClass::DOMAIN_PARAMETERS.0);
        let type_ok = template_ulong(template, AttrType::KEY_TYPE).is_none_or(|k| k == KeyType::DH.0);
        if !class_ok || !type_ok {
            return Err(Error::TemplateInconsistent);
        }
        let bits = template_ulong(template, AttrType::PRIME_BITS).ok_or(Error::TemplateIncomplete)?;
        let params = dh::generate_params(usize::try_from(bits).map_err(|_| Error::KeySizeRange)?, rng)?;
        Ok(alloc::vec![
            Attribute::ulong(AttrType::CLASS, ObjectClass::DOMAIN_PARAMETERS.0),
            Attribute::ulong(AttrType::KEY_TYPE, KeyType::DH.0),
            Attribute::bytes(AttrType::PRIME, &params.prime()),
            Attribute::bytes(AttrType::BASE, &params.base()),
        ])
    }

    fn generate_key_pair(
        &self,
        mech: &Mechanism,
        public: &[Attribute],
        private: &[Attribute],
        rng: &mut dyn Rng,
    ) -> Result<KeyPairAttributes> {
        if mech.ty != M::DH_PKCS_KEY_PAIR_GEN {
            return Err(Error::MechanismInvalid);
        }
        if mech.param != MechParam::None {
            return Err(Error::MechanismParamInvalid);
        }
        check_classes(public, private, KeyType::DH)?;
        let p = template_bytes(public, AttrType::PRIME).ok_or(Error::TemplateIncomplete)?;
        let g = template_bytes(public, AttrType::BASE).ok_or(Error::TemplateIncomplete)?;
        let params = dh::params(p, g)?;
        let value_bits = template_ulong(private, AttrType::VALUE_BITS);
        let (x, y) = dh::generate(&params, value_bits, rng)?;
        let common = |class: ObjectClass| {
            alloc::vec![
                Attribute::ulong(AttrType::CLASS, class.0),
                Attribute::ulong(AttrType::KEY_TYPE, KeyType::DH.0),
                Attribute::bytes(AttrType::PRIME, p),
                Attribute::bytes(AttrType::BASE, g),
            ]
        };
        let mut pub_attrs = common(ObjectClass::PUBLIC_KEY);
        pub_attrs.push(Attribute::bytes(AttrType::VALUE, &y));
        let mut priv_attrs = common(ObjectClass::PRIVATE_KEY);
        priv_attrs.push(Attribute { ty: AttrType::VALUE, value: AttrValue::Secret(x) });
        Ok((pub_attrs, priv_attrs))
    }

    fn derive(
        &self,
        mech: &Mechanism,
        base: &Object,
        template: &[Attribute],
        _others: &[(u64, Object)],
        _rng: &mut dyn Rng,
    ) -> Result<Derived> {
        if mech.ty != M::DH_PKCS_DERIVE {
            return Err(Error::MechanismInvalid);
        }
        let MechParam::Bytes(other) = &mech.param else {
            return Err(Error::MechanismParamInvalid);
        };
        require(base, ObjectClass::PRIVATE_KEY, &[KeyType::DH])?;
        let params = params_of(base).map_err(|_| Error::KeyTypeInconsistent)?;
        let x = SecretBytes::from_slice(base.bytes(AttrType::VALUE).ok_or(Error::KeyTypeInconsistent)?);
        let shared = dh::shared_secret(&params, x.expose(), other)?;
        Ok(Derived { attrs: secret_from_bytes(template, shared.expose())?, additional: Vec::new() })
    }
}
