//! Edwards and Montgomery keys (`CKK_EC_EDWARDS`, `CKK_EC_MONTGOMERY`), their key-pair
//! generation (`CKM_EC_EDWARDS_KEY_PAIR_GEN`, `CKM_EC_MONTGOMERY_KEY_PAIR_GEN`) and `CKM_EDDSA`
//! with its optional `CK_EDDSA_PARAMS`.

use alloc::boxed::Box;
use alloc::vec::Vec;

use super::ec_keys::{check_pair_types, pair_ec_params};
use super::{require, secret_value};
use crate::attribute::{AttrValue, Attribute};
use crate::consts::{AttrType, KeyType, MechanismType, ObjectClass};
use crate::info::{MechParam, Mechanism};
use crate::mechanism::edwards::{self, EdCurve, Prehash};
use crate::mechanism::{Family, KeyKind, KeyPairAttributes, Signer};
use crate::object::Object;
use crate::object::policy::{Dflt, FIXED, Origin, REQ, Rule, SECRET, TOKEN};
use crate::rng::Rng;
use crate::secret::SecretBytes;
use crate::{Error, Result};

static ED_PUBLIC: &[Rule] = &[
    Rule::new(AttrType::EC_PARAMS, REQ | FIXED, Dflt::Absent),
    Rule::new(AttrType::EC_POINT, REQ | FIXED, Dflt::Absent),
];

static ED_PRIVATE: &[Rule] = &[
    Rule::new(AttrType::EC_PARAMS, REQ | FIXED, Dflt::Absent),
    Rule::new(AttrType::VALUE, REQ | FIXED | SECRET, Dflt::Absent),
    // The public key, readable on the private key too.
    Rule::new(AttrType::EC_POINT, TOKEN | FIXED, Dflt::Absent),
];

/// `CKK_EC_EDWARDS` (`edwards: true`) or `CKK_EC_MONTGOMERY`.
#[derive(Debug)]
pub struct EdKey {
    edwards: bool,
}

/// `CKK_EC_EDWARDS`: Ed25519 and Ed448 keys.
pub static EDWARDS: EdKey = EdKey { edwards: true };
/// `CKK_EC_MONTGOMERY`: X25519 and X448 keys.
pub static MONTGOMERY: EdKey = EdKey { edwards: false };

impl EdKey {
    /// The curve of `params`, which must be of this key type's kind.
    fn curve(&self, params: &[u8]) -> Result<EdCurve> {
        let curve = edwards::parse_params(params)?;
        if curve.is_edwards() == self.edwards { Ok(curve) } else { Err(Error::CurveNotSupported) }
    }
}

/// The curve of an Edwards or Montgomery key object.
pub(crate) fn curve_of(key: &Object) -> Result<EdCurve> {
    let params = key.bytes(AttrType::EC_PARAMS).ok_or(Error::KeyTypeInconsistent)?;
    edwards::parse_params(params).map_err(|_| Error::KeyTypeInconsistent)
}

impl KeyKind for EdKey {
    fn rules(&self, class: ObjectClass) -> Option<&'static [Rule]> {
        match class {
            ObjectClass::PUBLIC_KEY => Some(ED_PUBLIC),
            ObjectClass::PRIVATE_KEY => Some(ED_PRIVATE),
            _ => None,
        }
    }

    fn complete(&self, obj: &mut Object, class: ObjectClass, _origin: Origin) -> Result<()> {
        let params = obj.bytes(AttrType::EC_PARAMS).ok_or(Error::TemplateIncomplete)?;
        let curve = self.curve(params)?;
        let public = if class == ObjectClass::PUBLIC_KEY {
            let given = obj.bytes(AttrType::EC_POINT).ok_or(Error::TemplateIncomplete)?;
            edwards::decode_point(curve, given)?
        } else {
            let private =
                SecretBytes::from_slice(obj.bytes(AttrType::VALUE).ok_or(Error::TemplateIncomplete)?);
            let public = edwards::public_from_private(curve, private.expose())?;
            obj.set(AttrType::VALUE, AttrValue::Secret(private));
            public
        };
        obj.set(AttrType::EC_POINT, AttrValue::Bytes(edwards::encode_point(&public)));
        obj.set(AttrType::PUBLIC_KEY_INFO, AttrValue::Bytes(edwards::public_key_info(curve, &public)));
        Ok(())
    }

    fn export_pkcs8(&self, key: &Object) -> Result<SecretBytes> {
        let curve = curve_of(key).map_err(|_| Error::KeyNotWrappable)?;
        let private = key.bytes(AttrType::VALUE).ok_or(Error::KeyNotWrappable)?;
        edwards::to_pkcs8(curve, private).map_err(|_| Error::KeyNotWrappable)
    }

    fn import_pkcs8(&self, der: &[u8]) -> Result<Vec<Attribute>> {
        let (curve, private) = edwards::from_pkcs8(der)?;
        if curve.is_edwards() != self.edwards {
            return Err(Error::WrappedKeyInvalid);
        }
        Ok(alloc::vec![
            Attribute::bytes(AttrType::EC_PARAMS, &curve.oid_der()),
            Attribute { ty: AttrType::VALUE, value: AttrValue::Secret(private) },
        ])
    }
}

/// `CKM_EC_EDWARDS_KEY_PAIR_GEN` and `CKM_EC_MONTGOMERY_KEY_PAIR_GEN`.
#[derive(Debug)]
pub struct EdKeyGen;

impl Family for EdKeyGen {
    fn generate_key_pair(
        &self,
        mech: &Mechanism,
        public: &[Attribute],
        private: &[Attribute],
        rng: &mut dyn Rng,
    ) -> Result<KeyPairAttributes> {
        let (kind, key_type) = match mech.ty {
            MechanismType::EC_EDWARDS_KEY_PAIR_GEN => (&EDWARDS, KeyType::EC_EDWARDS),
            MechanismType::EC_MONTGOMERY_KEY_PAIR_GEN => (&MONTGOMERY, KeyType::EC_MONTGOMERY),
            _ => return Err(Error::MechanismInvalid),
        };
        if mech.param != MechParam::None {
            return Err(Error::MechanismParamInvalid);
        }
        check_pair_types(public, private, key_type)?;
        let params = pair_ec_params(public, private)?;
        let curve = kind.curve(&params)?;
        let (private_key, public_key) = edwards::generate(curve, rng)?;
        let common = |class: ObjectClass| -> Vec<Attribute> {
            alloc::vec![
                Attribute::ulong(AttrType::CLASS, class.0),
                Attribute::ulong(AttrType::KEY_TYPE, key_type.0),
                Attribute::bytes(AttrType::EC_PARAMS, &params),
            ]
        };
        let mut pub_attrs = common(ObjectClass::PUBLIC_KEY);
        pub_attrs.push(Attribute::bytes(AttrType::EC_POINT, &edwards::encode_point(&public_key)));
        let mut priv_attrs = common(ObjectClass::PRIVATE_KEY);
        priv_attrs.push(Attribute { ty: AttrType::VALUE, value: AttrValue::Secret(private_key) });
        Ok((pub_attrs, priv_attrs))
    }
}

/// `CKM_EDDSA`.
#[derive(Debug)]
pub struct Eddsa;

/// What is fed: the whole message (pure and ctx variants sign it twice over) or its running
/// pre-hash (Ed25519ph, Ed448ph).
#[derive(Clone, Debug)]
enum Input {
    Message(Vec<u8>),
    Prehash(Box<Prehash>),
}

#[derive(Clone, Debug)]
enum Key {
    Private(SecretBytes),
    Public(Vec<u8>),
}

#[derive(Clone, Debug)]
struct EddsaOp {
    curve: EdCurve,
    key: Key,
    /// `None`: pure Ed25519 (Ed448: the empty context).
    context: Option<Vec<u8>>,
    input: Input,
}

impl Signer for EddsaOp {
    fn update(&mut self, data: &[u8]) -> Result<()> {
        self.feed_all(data)
    }

    fn feed_all(&mut self, data: &[u8]) -> Result<()> {
        match &mut self.input {
            Input::Message(m) => m.extend_from_slice(data),
            Input::Prehash(p) => p.update(data),
        }
        Ok(())
    }

    fn max_len(&self) -> usize {
        self.curve.signature_len()
    }

    fn sign(&self, _rng: &mut dyn Rng) -> Result<Vec<u8>> {
        let Key::Private(k) = &self.key else { return Err(Error::OperationNotInitialized) };
        match &self.input {
            Input::Message(m) => edwards::sign(self.curve, k.expose(), self.context.as_deref(), m),
            Input::Prehash(p) => edwards::sign_prehashed(
                self.curve,
                k.expose(),
                self.context.as_deref().unwrap_or_default(),
                p,
            ),
        }
    }

    fn verify(&self, signature: &[u8]) -> Result<()> {
        let Key::Public(pk) = &self.key else { return Err(Error::OperationNotInitialized) };
        match &self.input {
            Input::Message(m) => edwards::verify(self.curve, pk, self.context.as_deref(), m, signature),
            Input::Prehash(p) => edwards::verify_prehashed(
                self.curve,
                pk,
                self.context.as_deref().unwrap_or_default(),
                p,
                signature,
            ),
        }
    }

    fn box_clone(&self) -> Box<dyn Signer> {
        Box::new(self.clone())
    }
}

impl Family for Eddsa {
    fn signer(&self, mech: &Mechanism, key: &Object, verify: bool) -> Result<Box<dyn Signer>> {
        if mech.ty != MechanismType::EDDSA {
            return Err(Error::MechanismInvalid);
        }
        let (prehash, context) = match &mech.param {
            MechParam::None => (false, Vec::new()),
            MechParam::Eddsa { prehash, context } => (*prehash, context.clone()),
            _ => return Err(Error::MechanismParamInvalid),
        };
        if context.len() > edwards::MAX_CONTEXT {
            return Err(Error::MechanismParamInvalid);
        }
        let class = if verify { ObjectClass::PUBLIC_KEY } else { ObjectClass::PRIVATE_KEY };
        require(key, class, &[KeyType::EC_EDWARDS])?;
        let curve = curve_of(key)?;
        if !curve.is_edwards() {
            return Err(Error::KeyTypeInconsistent);
        }
        // Ed25519 with neither flag nor context is pure Ed25519 (RFC 8032 forbids Ed25519ctx
        // with an empty context); Ed448 always has a (possibly empty) context.
        let context = match (curve, prehash, context.is_empty()) {
            (EdCurve::Ed25519, false, true) => None,
            (_, _, _) => Some(context),
        };
        let input =
            if prehash { Input::Prehash(Box::new(Prehash::new(curve)?)) } else { Input::Message(Vec::new()) };
        let key = if verify {
            let point = key.bytes(AttrType::EC_POINT).ok_or(Error::KeyTypeInconsistent)?;
            Key::Public(edwards::decode_point(curve, point).map_err(|_| Error::KeyTypeInconsistent)?)
        } else {
            Key::Private(secret_value(key)?)
        };
        Ok(Box::new(EddsaOp { curve, key, context, input }))
    }
}
