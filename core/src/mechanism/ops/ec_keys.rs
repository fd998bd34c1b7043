//! Elliptic-curve keys (`CKK_EC`: P-256, P-384, P-521, secp256k1) and `CKM_EC_KEY_PAIR_GEN`.

use alloc::vec::Vec;

use super::{template_bytes, template_ulong};
use crate::attribute::{AttrValue, Attribute};
use crate::consts::{AttrType, KeyType, ObjectClass};
use crate::info::{MechParam, Mechanism};
use crate::mechanism::{Family, KeyKind, KeyPairAttributes, ec};
use crate::object::Object;
use crate::object::policy::{Dflt, FIXED, Origin, REQ, Rule, SECRET, TOKEN};
use crate::rng::Rng;
use crate::secret::SecretBytes;
use crate::{Error, Result};

static EC_PUBLIC: &[Rule] = &[
    Rule::new(AttrType::EC_PARAMS, REQ | FIXED, Dflt::Absent),
    Rule::new(AttrType::EC_POINT, REQ | FIXED, Dflt::Absent),
];

static EC_PRIVATE: &[Rule] = &[
    Rule::new(AttrType::EC_PARAMS, REQ | FIXED, Dflt::Absent),
    Rule::new(AttrType::VALUE, REQ | FIXED | SECRET, Dflt::Absent),
    // The public point, readable on the private key too.
    Rule::new(AttrType::EC_POINT, TOKEN | FIXED, Dflt::Absent),
];

/// `CKK_EC`.
#[derive(Debug)]
pub struct EcKey;

impl KeyKind for EcKey {
    fn rules(&self, class: ObjectClass) -> Option<&'static [Rule]> {
        match class {
            ObjectClass::PUBLIC_KEY => Some(EC_PUBLIC),
            ObjectClass::PRIVATE_KEY => Some(EC_PRIVATE),
            _ => None,
        }
    }

    fn complete(&self, obj: &mut Object, class: ObjectClass, _origin: Origin) -> Result<()> {
        let params = obj.bytes(AttrType::EC_PARAMS).ok_or(Error::TemplateIncomplete)?;
        let curve = ec::parse_ec_params(params)?;
        let point = if class == ObjectClass::PUBLIC_KEY {
            let given = obj.bytes(AttrType::EC_POINT).ok_or(Error::TemplateIncomplete)?;
            ec::decode_ec_point(curve, given)?
        } else {
            let scalar = obj.bytes(AttrType::VALUE).ok_or(Error::TemplateIncomplete)?;
            // Some clients strip leading zero bytes of the scalar: store it at field length.
            let scalar = ec::normalize_scalar(curve, scalar)?;
            let point = ec::public_from_private(curve, scalar.expose())?;
            obj.set(AttrType::VALUE, AttrValue::Secret(scalar));
            point
        };
        // Store the point in the spec's form (DER OCTET STRING) whatever the client sent.
        obj.set(AttrType::EC_POINT, AttrValue::Bytes(ec::encode_ec_point(&point)));
        obj.set(AttrType::PUBLIC_KEY_INFO, AttrValue::Bytes(ec::public_key_info(curve, &point)));
        Ok(())
    }

    fn export_pkcs8(&self, key: &Object) -> Result<SecretBytes> {
        let curve = super::ecdsa::curve_of(key).map_err(|_| Error::KeyNotWrappable)?;
        let scalar = key.bytes(AttrType::VALUE).ok_or(Error::KeyNotWrappable)?;
        ec::to_pkcs8(curve, scalar).map_err(|_| Error::KeyNotWrappable)
    }

    fn import_pkcs8(&self, der: &[u8]) -> Result<Vec<Attribute>> {
        let (curve, scalar) = ec::from_pkcs8(der)?;
        Ok(alloc::vec![
            Attribute::bytes(AttrType::EC_PARAMS, &curve.oid_der()),
            Attribute { ty: AttrType::VALUE, value: AttrValue::Secret(scalar) },
        ])
    }
}

/// A key-pair template naming another class or key type than the mechanism makes is
/// inconsistent (checked here, before the attribute policy would read the wrong type's rules).
///
/// # Errors
/// `TemplateInconsistent`.
pub(crate) fn check_pair_types(public: &[Attribute], private: &[Attribute], kt: KeyType) -> Result<()> {
    for (t, class) in [(public, ObjectClass::PUBLIC_KEY), (private, ObjectClass::PRIVATE_KEY)] {
        let wrong_class = template_ulong(t, AttrType::CLASS).is_some_and(|c| c != class.0);
        let wrong_type = template_ulong(t, AttrType::KEY_TYPE).is_some_and(|k| k != kt.0);
        if wrong_class || wrong_type {
            return Err(Error::TemplateInconsistent);
        }
    }
    Ok(())
}

/// The `CKA_EC_PARAMS` of a key-pair generation: from the public template (where the spec puts
/// it) or the private one; when both name it they must agree.
///
/// # Errors
/// `TemplateIncomplete` when neither has it, `TemplateInconsistent` when they differ.
pub(crate) fn pair_ec_params(public: &[Attribute], private: &[Attribute]) -> Result<Vec<u8>> {
    match (template_bytes(public, AttrType::EC_PARAMS), template_bytes(private, AttrType::EC_PARAMS)) {
        (Some(a), Some(b)) if a != b => Err(Error::TemplateInconsistent),
        (Some(a), _) | (None, Some(a)) => Ok(a.to_vec()),
        (None, None) => Err(Error::TemplateIncomplete),
    }
}

/// `CKM_EC_KEY_PAIR_GEN`.
#[derive(Debug)]
pub struct EcKeyGen;

impl Family for EcKeyGen {
    fn generate_key_pair(
        &self,
        mech: &Mechanism,
        public: &[Attribute],
        private: &[Attribute],
        rng: &mut dyn Rng,
    ) -> Result<KeyPairAttributes> {
        if mech.param != MechParam::None {
            return Err(Error::MechanismParamInvalid);
        }
        check_pair_types(public, private, KeyType::EC)?;
        let params = pair_ec_params(public, private)?;
        let curve = ec::parse_ec_params(&params)?;
        let (scalar, point) = ec::generate(curve, rng)?;
        let common = |class: ObjectClass| -> Vec<Attribute> {
            alloc::vec![
                Attribute::ulong(AttrType::CLASS, class.0),
                Attribute::ulong(AttrType::KEY_TYPE, KeyType::EC.0),
                Attribute::bytes(AttrType::EC_PARAMS, &params),
            ]
        };
        let mut pub_attrs = common(ObjectClass::PUBLIC_KEY);
        pub_attrs.push(Attribute::bytes(AttrType::EC_POINT, &ec::encode_ec_point(&point)));
        let mut priv_attrs = common(ObjectClass::PRIVATE_KEY);
        priv_attrs.push(Attribute { ty: AttrType::VALUE, value: AttrValue::Secret(scalar) });
        Ok((pub_attrs, priv_attrs))
    }
}
