//! DSA keys and domain parameters (`CKK_DSA`), `CKM_DSA_PARAMETER_GEN`, `CKM_DSA_KEY_PAIR_GEN`,
//! `CKM_DSA` and `CKM_DSA_SHA*`.

use alloc::boxed::Box;
use alloc::vec::Vec;

use super::rsa::check_classes;
use super::{require, template_bytes, template_ulong};
use crate::attribute::{AttrValue, Attribute};
use crate::consts::{AttrType, KeyType, MechanismType as M, ObjectClass};
use crate::info::{MechParam, Mechanism};
use crate::mechanism::digest::{DigestAlg, Hasher};
use crate::mechanism::dsa::{self, Params, PrivateKey, PublicKey};
use crate::mechanism::{Family, KeyKind, KeyPairAttributes, Signer};
use crate::object::Object;
use crate::object::policy::{Dflt, FIXED, Origin, REQ, Rule, SECRET};
use crate::rng::Rng;
use crate::secret::SecretBytes;
use crate::{Error, Result};

static DSA_DOMAIN: &[Rule] = &[
    Rule::new(AttrType::PRIME, REQ | FIXED, Dflt::Absent),
    Rule::new(AttrType::SUBPRIME, REQ | FIXED, Dflt::Absent),
    Rule::new(AttrType::BASE, REQ | FIXED, Dflt::Absent),
    // Given to CKM_DSA_PARAMETER_GEN; computed (and checked if given) otherwise.
    Rule::new(AttrType::PRIME_BITS, FIXED, Dflt::Absent),
    Rule::new(AttrType::SUBPRIME_BITS, FIXED, Dflt::Absent),
];

static DSA_PUBLIC: &[Rule] = &[
    Rule::new(AttrType::PRIME, REQ | FIXED, Dflt::Absent),
    Rule::new(AttrType::SUBPRIME, REQ | FIXED, Dflt::Absent),
    Rule::new(AttrType::BASE, REQ | FIXED, Dflt::Absent),
    // y: public.
    Rule::new(AttrType::VALUE, REQ | FIXED, Dflt::Absent),
];

static DSA_PRIVATE: &[Rule] = &[
    Rule::new(AttrType::PRIME, REQ | FIXED, Dflt::Absent),
    Rule::new(AttrType::SUBPRIME, REQ | FIXED, Dflt::Absent),
    Rule::new(AttrType::BASE, REQ | FIXED, Dflt::Absent),
    // x.
    Rule::new(AttrType::VALUE, REQ | FIXED | SECRET, Dflt::Absent),
];

fn params_of(obj: &Object) -> Result<Params> {
    let get = |ty| obj.bytes(ty).ok_or(Error::TemplateIncomplete);
    dsa::params(get(AttrType::PRIME)?, get(AttrType::SUBPRIME)?, get(AttrType::BASE)?)
}

fn set_params(obj: &mut Object, params: &Params) {
    let (p, q, g) = params.pqg();
    obj.set(AttrType::PRIME, AttrValue::Bytes(p));
    obj.set(AttrType::SUBPRIME, AttrValue::Bytes(q));
    obj.set(AttrType::BASE, AttrValue::Bytes(g));
}

/// Set a computed size attribute, refusing a different given one.
pub(crate) fn set_bits(obj: &mut Object, ty: AttrType, bits: usize) -> Result<()> {
    match obj.ulong(ty) {
        Some(given) if given != bits as u64 => Err(Error::TemplateInconsistent),
        _ => {
            obj.set(ty, AttrValue::Ulong(bits as u64));
            Ok(())
        }
    }
}

/// `CKK_DSA`.
#[derive(Debug)]
pub struct DsaKey;

impl KeyKind for DsaKey {
    fn rules(&self, class: ObjectClass) -> Option<&'static [Rule]> {
        match class {
            ObjectClass::PUBLIC_KEY => Some(DSA_PUBLIC),
            ObjectClass::PRIVATE_KEY => Some(DSA_PRIVATE),
            ObjectClass::DOMAIN_PARAMETERS => Some(DSA_DOMAIN),
            _ => None,
        }
    }

    fn complete(&self, obj: &mut Object, class: ObjectClass, _origin: Origin) -> Result<()> {
        let params = params_of(obj).map_err(|e| match e {
            Error::DomainParamsInvalid if class != ObjectClass::DOMAIN_PARAMETERS => {
                Error::AttributeValueInvalid
            }
            other => other,
        })?;
        let value = || obj.bytes(AttrType::VALUE).ok_or(Error::TemplateIncomplete);
        let public = match class {
            ObjectClass::DOMAIN_PARAMETERS => {
                set_bits(obj, AttrType::PRIME_BITS, params.prime_bits())?;
                set_bits(obj, AttrType::SUBPRIME_BITS, params.subprime_bits())?;
                set_params(obj, &params);
                return Ok(());
            }
            ObjectClass::PUBLIC_KEY => dsa::public_key(&params, value()?)?,
            _ => {
                let key = dsa::private_key(&params, value()?)?;
                let x = SecretBytes::from_slice(crate::mechanism::rsa::strip_zeros(value()?));
                obj.set(AttrType::VALUE, AttrValue::Secret(x));
                key.public()
            }
        };
        if class == ObjectClass::PUBLIC_KEY {
            obj.set(AttrType::VALUE, AttrValue::Bytes(public.value()));
        }
        set_params(obj, &params);
        obj.set(AttrType::PUBLIC_KEY_INFO, AttrValue::Bytes(public.public_key_info()?));
        Ok(())
    }

    fn export_pkcs8(&self, key: &Object) -> Result<SecretBytes> {
        let params = params_of(key).map_err(|_| Error::KeyNotWrappable)?;
        let x = key.bytes(AttrType::VALUE).ok_or(Error::KeyNotWrappable)?;
        dsa::private_key(&params, x).map_err(|_| Error::KeyNotWrappable)?.to_pkcs8()
    }

    fn import_pkcs8(&self, der: &[u8]) -> Result<Vec<Attribute>> {
        let (params, x) = dsa::from_pkcs8(der)?;
        let (p, q, g) = params.pqg();
        Ok(alloc::vec![
            Attribute::bytes(AttrType::PRIME, &p),
            Attribute::bytes(AttrType::SUBPRIME, &q),
            Attribute::bytes(AttrType::BASE, &g),
            Attribute { ty: AttrType::VALUE, value: AttrValue::Secret(x) },
        ])
    }
}

/// `CKM_DSA_PARAMETER_GEN` and `CKM_DSA_KEY_PAIR_GEN`.
#[derive(Debug)]
pub struct DsaGen;

impl Family for DsaGen {
    fn generate_key(
        &self,
        mech: &Mechanism,
        template: &[Attribute],
        rng: &mut dyn Rng,
    ) -> Result<Vec<Attribute>> {
        if mech.ty != M::DSA_PARAMETER_GEN {
            return Err(Error::MechanismInvalid);
        }
        if mech.param != MechParam::None {
            return Err(Error::MechanismParamInvalid);
        }
        let class_ok =
            template_ulong(template, AttrType::CLASS).is_none_or(|c| c == ObjectClass::DOMAIN_PARAMETERS.0);
        let type_ok = template_ulong(template, AttrType::KEY_TYPE).is_none_or(|k| k == KeyType::DSA.0);
        if !class_ok || !type_ok {
            return Err(Error::TemplateInconsistent);
        }
        let bits = template_ulong(template, AttrType::PRIME_BITS).ok_or(Error::TemplateIncomplete)?;
        let size = dsa::key_size(bits, template_ulong(template, AttrType::SUBPRIME_BITS))?;
        let params = dsa::generate_params(size, rng)?;
        let (p, q, g) = params.pqg();
        Ok(alloc::vec![
            Attribute::ulong(AttrType::CLASS, ObjectClass::DOMAIN_PARAMETERS.0),
            Attribute::ulong(AttrType::KEY_TYPE, KeyType::DSA.0),
            Attribute::bytes(AttrType::PRIME, &p),
            Attribute::bytes(AttrType::SUBPRIME, &q),
            Attribute::bytes(AttrType::BASE, &g),
        ])
    }

    fn generate_key_pair(
        &self,
        mech: &Mechanism,
        public: &[Attribute],
        private: &[Attribute],
        rng: &mut dyn Rng,
    ) -> Result<KeyPairAttributes> {
        if mech.ty != M::DSA_KEY_PAIR_GEN {
            return Err(Error::MechanismInvalid);
        }
        if mech.param != MechParam::None {
            return Err(Error::MechanismParamInvalid);
        }
        check_classes(public, private, KeyType::DSA)?;
        let get = |ty| template_bytes(public, ty).ok_or(Error::TemplateIncomplete);
        let params = dsa::params(get(AttrType::PRIME)?, get(AttrType::SUBPRIME)?, get(AttrType::BASE)?)?;
        let (x, y) = dsa::generate(&params, rng)?;
        // The parameters exactly as the public template gave them (so they compare equal).
        let common = |class: ObjectClass| -> Result<Vec<Attribute>> {
            Ok(alloc::vec![
                Attribute::ulong(AttrType::CLASS, class.0),
                Attribute::ulong(AttrType::KEY_TYPE, KeyType::DSA.0),
                Attribute::bytes(AttrType::PRIME, get(AttrType::PRIME)?),
                Attribute::bytes(AttrType::SUBPRIME, get(AttrType::SUBPRIME)?),
                Attribute::bytes(AttrType::BASE, get(AttrType::BASE)?),
            ])
        };
        let mut pub_attrs = common(ObjectClass::PUBLIC_KEY)?;
        pub_attrs.push(Attribute::bytes(AttrType::VALUE, &y));
        let mut priv_attrs = common(ObjectClass::PRIVATE_KEY)?;
        priv_attrs.push(Attribute { ty: AttrType::VALUE, value: AttrValue::Secret(x) });
        Ok((pub_attrs, priv_attrs))
    }
}

/// `CKM_DSA` and `CKM_DSA_SHA*`.
#[derive(Debug)]
pub struct Dsa;

fn hash_of(ty: M) -> Result<Option<DigestAlg>> {
    Ok(match ty {
        M::DSA => None,
        M::DSA_SHA1 => Some(DigestAlg::Sha1),
        M::DSA_SHA224 => Some(DigestAlg::Sha224),
        M::DSA_SHA256 => Some(DigestAlg::Sha256),
        M::DSA_SHA384 => Some(DigestAlg::Sha384),
        M::DSA_SHA512 => Some(DigestAlg::Sha512),
        M::DSA_SHA3_224 => Some(DigestAlg::Sha3_224),
        M::DSA_SHA3_256 => Some(DigestAlg::Sha3_256),
        M::DSA_SHA3_384 => Some(DigestAlg::Sha3_384),
        M::DSA_SHA3_512 => Some(DigestAlg::Sha3_512),
        _ => return Err(Error::MechanismInvalid),
    })
}

#[derive(Clone, Debug)]
enum Key {
    Private(PrivateKey),
    Public(PublicKey),
}

#[derive(Clone, Debug)]
enum Input {
    Hash(Box<Hasher>),
    Raw(Vec<u8>),
}

#[derive(Clone, Debug)]
struct DsaOp {
    key: Key,
    hash: Option<DigestAlg>,
    input: Input,
    sig_len: usize,
}

impl DsaOp {
    fn digest(&self) -> Vec<u8> {
        match &self.input {
            Input::Hash(h) => h.finish(),
            Input::Raw(b) => b.clone(),
        }
    }
}

impl Signer for DsaOp {
    fn update(&mut self, data: &[u8]) -> Result<()> {
        match &mut self.input {
            Input::Hash(h) => {
                h.update(data);
                Ok(())
            }
            Input::Raw(_) => Err(Error::FunctionNotSupported),
        }
    }

    fn feed_all(&mut self, data: &[u8]) -> Result<()> {
        match &mut self.input {
            Input::Hash(h) => h.update(data),
            Input::Raw(b) => b.extend_from_slice(data),
        }
        Ok(())
    }

    fn max_len(&self) -> usize {
        self.sig_len
    }

    fn sign(&self, _rng: &mut dyn Rng) -> Result<Vec<u8>> {
        match &self.key {
            Key::Private(k) => dsa::sign(k, self.hash.unwrap_or(DigestAlg::Sha256), &self.digest()),
            Key::Public(_) => Err(Error::OperationNotInitialized),
        }
    }

    fn verify(&self, signature: &[u8]) -> Result<()> {
        match &self.key {
            Key::Public(k) => dsa::verify(k, &self.digest(), signature),
            Key::Private(_) => Err(Error::OperationNotInitialized),
        }
    }

    fn box_clone(&self) -> Box<dyn Signer> {
        Box::new(self.clone())
    }
}

impl Family for Dsa {
    fn signer(&self, mech: &Mechanism, key: &Object, verify: bool) -> Result<Box<dyn Signer>> {
        let hash = hash_of(mech.ty)?;
        if mech.param != MechParam::None {
            return Err(Error::MechanismParamInvalid);
        }
        let class = if verify { ObjectClass::PUBLIC_KEY } else { ObjectClass::PRIVATE_KEY };
        require(key, class, &[KeyType::DSA])?;
        let params = params_of(key).map_err(|_| Error::KeyTypeInconsistent)?;
        let value = key.bytes(AttrType::VALUE).ok_or(Error::KeyTypeInconsistent)?;
        let key = if verify {
            Key::Public(dsa::public_key(&params, value).map_err(|_| Error::KeyTypeInconsistent)?)
        } else {
            Key::Private(dsa::private_key(&params, value).map_err(|_| Error::KeyTypeInconsistent)?)
        };
        let input = match hash {
            Some(alg) => Input::Hash(Box::new(Hasher::new(alg))),
            None => Input::Raw(Vec::new()),
        };
        Ok(Box::new(DsaOp { key, hash, input, sig_len: 2 * params.q_len() }))
    }
}
