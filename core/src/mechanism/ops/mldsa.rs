//! ML-DSA keys (`CKK_ML_DSA`), `CKM_ML_DSA_KEY_PAIR_GEN`, and the signature mechanisms
//! `CKM_ML_DSA` (pure, optional `CK_SIGN_ADDITIONAL_CONTEXT`), `CKM_HASH_ML_DSA` (the caller
//! hashes; `CK_HASH_SIGN_ADDITIONAL_CONTEXT` names the hash) and `CKM_HASH_ML_DSA_<hash>`
//! (the token hashes; optional `CK_SIGN_ADDITIONAL_CONTEXT`).
//!
//! Private keys hold the expanded key in `CKA_VALUE` and, when known, the 32-byte seed in
//! `CKA_SEED` (both secret); either may be imported alone. `CKA_VALUE` of a public key is the
//! encoded public key.

use alloc::boxed::Box;
use alloc::vec::Vec;

use super::{require, template_ulong};
use crate::attribute::{AttrValue, Attribute};
use crate::consts::{AttrType, KeyType, MechanismType, ObjectClass};
use crate::info::{MechParam, Mechanism};
use crate::mechanism::digest::DigestAlg;
use crate::mechanism::mldsa::{self, Input, ParamSet, PreHashAlg, PreHasher, PrivateKey, ckh};
use crate::mechanism::{Family, KeyKind, KeyPairAttributes, Signer};
use crate::object::Object;
use crate::object::policy::{Dflt, FIXED, Origin, REQ, Rule, SECRET};
use crate::rng::Rng;
use crate::secret::SecretBytes;
use crate::{Error, Result};

static MLDSA_PUBLIC: &[Rule] = &[
    Rule::new(AttrType::PARAMETER_SET, REQ | FIXED, Dflt::Absent),
    Rule::new(AttrType::VALUE, REQ | FIXED, Dflt::Absent),
];

static MLDSA_PRIVATE: &[Rule] = &[
    Rule::new(AttrType::PARAMETER_SET, REQ | FIXED, Dflt::Absent),
    // One of the two is required; `complete` checks.
    Rule::new(AttrType::VALUE, FIXED | SECRET, Dflt::Absent),
    Rule::new(AttrType::SEED, FIXED | SECRET, Dflt::Absent),
];

/// `CKK_ML_DSA`.
#[derive(Debug)]
pub struct MlDsaKey;

/// The parameter set of a key object or template value.
fn param_set(v: Option<u64>) -> Result<ParamSet> {
    ParamSet::from_ckp(v.ok_or(Error::TemplateIncomplete)?).ok_or(Error::ParameterSetNotSupported)
}

/// The private key material of an ML-DSA key object: the seed when it has one.
fn private_key(key: &Object) -> Result<PrivateKey<'_>> {
    match (key.bytes(AttrType::SEED), key.bytes(AttrType::VALUE)) {
        (Some(seed), _) => Ok(PrivateKey::Seed(seed)),
        (None, Some(expanded)) => Ok(PrivateKey::Expanded(expanded)),
        (None, None) => Err(Error::KeyTypeInconsistent),
    }
}

impl KeyKind for MlDsaKey {
    fn rules(&self, class: ObjectClass) -> Option<&'static [Rule]> {
        match class {
            ObjectClass::PUBLIC_KEY => Some(MLDSA_PUBLIC),
            ObjectClass::PRIVATE_KEY => Some(MLDSA_PRIVATE),
            _ => None,
        }
    }

    fn complete(&self, obj: &mut Object, class: ObjectClass, origin: Origin) -> Result<()> {
        let ps = param_set(obj.ulong(AttrType::PARAMETER_SET))?;
        if class == ObjectClass::PUBLIC_KEY {
            let public = obj.bytes(AttrType::VALUE).ok_or(Error::TemplateIncomplete)?.to_vec();
            mldsa::check_public(ps, &public)?;
            obj.set(AttrType::VALUE, AttrValue::Bytes(public.clone()));
            obj.set(AttrType::PUBLIC_KEY_INFO, AttrValue::Bytes(mldsa::public_key_info(ps, &public)));
            return Ok(());
        }
        // A generated pair comes with its public key info already (expanding the key again
        // would double the cost of C_GenerateKeyPair).
        if matches!(origin, Origin::Generate(_)) && obj.get(AttrType::PUBLIC_KEY_INFO).is_some() {
            return Ok(());
        }
        let seed = obj.bytes(AttrType::SEED).map(SecretBytes::from_slice);
        let given = obj.bytes(AttrType::VALUE).map(SecretBytes::from_slice);
        let (expanded, public) = match (&seed, given) {
            (Some(s), given) => {
                if s.len() != mldsa::SEED_LEN {
                    return Err(Error::AttributeValueInvalid);
                }
                let (expanded, public) = mldsa::keygen_from_seed(ps, s.expose())?;
                if given.is_some_and(|g| g != expanded) {
                    return Err(Error::TemplateInconsistent);
                }
                (expanded, public)
            }
            (None, Some(e)) => {
                let public = mldsa::public_from_expanded(ps, e.expose())?;
                (e, public)
            }
            (None, None) => return Err(Error::TemplateIncomplete),
        };
        if let Some(s) = seed {
            obj.set(AttrType::SEED, AttrValue::Secret(s));
        }
        obj.set(AttrType::VALUE, AttrValue::Secret(expanded));
        obj.set(AttrType::PUBLIC_KEY_INFO, AttrValue::Bytes(mldsa::public_key_info(ps, &public)));
        Ok(())
    }

    fn export_pkcs8(&self, key: &Object) -> Result<SecretBytes> {
        let ps = param_set(key.ulong(AttrType::PARAMETER_SET)).map_err(|_| Error::KeyNotWrappable)?;
        Ok(mldsa::to_pkcs8(ps, private_key(key).map_err(|_| Error::KeyNotWrappable)?))
    }

    fn import_pkcs8(&self, der: &[u8]) -> Result<Vec<Attribute>> {
        let (ps, seed, expanded) = mldsa::from_pkcs8(der)?;
        let mut attrs = alloc::vec![
            Attribute::ulong(AttrType::PARAMETER_SET, ps.ckp()),
            Attribute { ty: AttrType::VALUE, value: AttrValue::Secret(expanded) },
        ];
        if let Some(s) = seed {
            attrs.push(Attribute { ty: AttrType::SEED, value: AttrValue::Secret(s) });
        }
        Ok(attrs)
    }
}

/// `CKM_ML_DSA_KEY_PAIR_GEN`.
#[derive(Debug)]
pub struct MlDsaKeyGen;

impl Family for MlDsaKeyGen {
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
        super::ec_keys::check_pair_types(public, private, KeyType::ML_DSA)?;
        let wanted = match (
            template_ulong(public, AttrType::PARAMETER_SET),
            template_ulong(private, AttrType::PARAMETER_SET),
        ) {
            (Some(a), Some(b)) if a != b => return Err(Error::TemplateInconsistent),
            (a, b) => a.or(b),
        };
        let ps = param_set(wanted)?;
        let mut seed = zeroize::Zeroizing::new([0u8; mldsa::SEED_LEN]);
        rng.fill(seed.as_mut())?;
        let (expanded, public_key) = mldsa::keygen_from_seed(ps, seed.as_ref())?;
        let info = mldsa::public_key_info(ps, &public_key);
        let common = |class: ObjectClass| -> Vec<Attribute> {
            alloc::vec![
                Attribute::ulong(AttrType::CLASS, class.0),
                Attribute::ulong(AttrType::KEY_TYPE, KeyType::ML_DSA.0),
                Attribute::ulong(AttrType::PARAMETER_SET, ps.ckp()),
                Attribute::bytes(AttrType::PUBLIC_KEY_INFO, &info),
            ]
        };
        let mut pub_attrs = common(ObjectClass::PUBLIC_KEY);
        pub_attrs.push(Attribute::bytes(AttrType::VALUE, &public_key));
        let mut priv_attrs = common(ObjectClass::PRIVATE_KEY);
        priv_attrs.push(Attribute { ty: AttrType::VALUE, value: AttrValue::Secret(expanded) });
        priv_attrs.push(Attribute {
            ty: AttrType::SEED,
            value: AttrValue::Secret(SecretBytes::from_slice(seed.as_ref())),
        });
        Ok((pub_attrs, priv_attrs))
    }
}

/// The ML-DSA signature family.
#[derive(Debug)]
pub struct MlDsa;

/// The hash a `CKM_HASH_ML_DSA_<hash>` mechanism names.
fn fixed_hash(ty: MechanismType) -> Option<PreHashAlg> {
    Some(match ty {
        MechanismType::HASH_ML_DSA_SHA224 => PreHashAlg::Digest(DigestAlg::Sha224),
        MechanismType::HASH_ML_DSA_SHA256 => PreHashAlg::Digest(DigestAlg::Sha256),
        MechanismType::HASH_ML_DSA_SHA384 => PreHashAlg::Digest(DigestAlg::Sha384),
        MechanismType::HASH_ML_DSA_SHA512 => PreHashAlg::Digest(DigestAlg::Sha512),
        MechanismType::HASH_ML_DSA_SHA3_224 => PreHashAlg::Digest(DigestAlg::Sha3_224),
        MechanismType::HASH_ML_DSA_SHA3_256 => PreHashAlg::Digest(DigestAlg::Sha3_256),
        MechanismType::HASH_ML_DSA_SHA3_384 => PreHashAlg::Digest(DigestAlg::Sha3_384),
        MechanismType::HASH_ML_DSA_SHA3_512 => PreHashAlg::Digest(DigestAlg::Sha3_512),
        MechanismType::HASH_ML_DSA_SHAKE128 => PreHashAlg::Shake128,
        MechanismType::HASH_ML_DSA_SHAKE256 => PreHashAlg::Shake256,
        _ => return None,
    })
}

#[derive(Clone, Debug)]
enum Fed {
    /// `CKM_ML_DSA`: the message, buffered (multi-part allowed).
    Message(Vec<u8>),
    /// `CKM_HASH_ML_DSA`: the caller's hash, single-part.
    Hash(PreHashAlg, Vec<u8>),
    /// `CKM_HASH_ML_DSA_<hash>`: the running hash of the message.
    Hashing(PreHashAlg, Box<PreHasher>),
}

#[derive(Clone, Debug)]
enum Key {
    Seed(SecretBytes),
    Expanded(SecretBytes),
    Public(Vec<u8>),
}

#[derive(Clone, Debug)]
struct MlDsaOp {
    ps: ParamSet,
    key: Key,
    context: Vec<u8>,
    deterministic: bool,
    fed: Fed,
}

impl MlDsaOp {
    fn with_input<T>(&self, f: impl FnOnce(Input<'_>) -> Result<T>) -> Result<T> {
        match &self.fed {
            Fed::Message(m) => f(Input::Message(m)),
            Fed::Hash(alg, h) => f(Input::Prehashed(*alg, h)),
            Fed::Hashing(alg, h) => f(Input::Prehashed(*alg, &h.finish())),
        }
    }
}

impl Signer for MlDsaOp {
    fn update(&mut self, data: &[u8]) -> Result<()> {
        match &mut self.fed {
            Fed::Message(m) => m.extend_from_slice(data),
            Fed::Hashing(_, h) => h.update(data),
            Fed::Hash(..) => return Err(Error::FunctionNotSupported),
        }
        Ok(())
    }

    fn feed_all(&mut self, data: &[u8]) -> Result<()> {
        match &mut self.fed {
            Fed::Message(m) | Fed::Hash(_, m) => m.extend_from_slice(data),
            Fed::Hashing(_, h) => h.update(data),
        }
        Ok(())
    }

    fn max_len(&self) -> usize {
        self.ps.signature_len()
    }

    fn sign(&self, rng: &mut dyn Rng) -> Result<Vec<u8>> {
        let key = match &self.key {
            Key::Seed(s) => PrivateKey::Seed(s.expose()),
            Key::Expanded(e) => PrivateKey::Expanded(e.expose()),
            Key::Public(_) => return Err(Error::OperationNotInitialized),
        };
        let mut rnd = zeroize::Zeroizing::new([0u8; 32]);
        if !self.deterministic {
            rng.fill(rnd.as_mut())?;
        }
        self.with_input(|input| mldsa::sign(self.ps, key, &self.context, input, &rnd))
    }

    fn verify(&self, signature: &[u8]) -> Result<()> {
        let Key::Public(pk) = &self.key else { return Err(Error::OperationNotInitialized) };
        self.with_input(|input| mldsa::verify(self.ps, pk, &self.context, input, signature))
    }

    fn box_clone(&self) -> Box<dyn Signer> {
        Box::new(self.clone())
    }
}

impl Family for MlDsa {
    fn signer(&self, mech: &Mechanism, key: &Object, verify: bool) -> Result<Box<dyn Signer>> {
        let (hedge, context, fed) = match (mech.ty, &mech.param) {
            (MechanismType::HASH_ML_DSA, MechParam::HashSignContext { hedge, context, hash }) => {
                let alg = DigestAlg::from_mechanism(*hash)
                    .map(PreHashAlg::Digest)
                    .ok_or(Error::MechanismParamInvalid)?;
                if !alg.is_allowed() {
                    return Err(Error::MechanismParamInvalid);
                }
                (*hedge, context.clone(), Fed::Hash(alg, Vec::new()))
            }
            (MechanismType::HASH_ML_DSA, _) => return Err(Error::MechanismParamInvalid),
            (ty, param) => {
                let fed = if ty == MechanismType::ML_DSA {
                    Fed::Message(Vec::new())
                } else {
                    let alg = fixed_hash(ty).ok_or(Error::MechanismInvalid)?;
                    Fed::Hashing(alg, Box::new(PreHasher::new(alg)))
                };
                match param {
                    MechParam::None => (ckh::CKH_HEDGE_PREFERRED, Vec::new(), fed),
                    MechParam::SignContext { hedge, context } => (*hedge, context.clone(), fed),
                    _ => return Err(Error::MechanismParamInvalid),
                }
            }
        };
        let deterministic = match hedge {
            ckh::CKH_HEDGE_PREFERRED | ckh::CKH_HEDGE_REQUIRED => false,
            ckh::CKH_DETERMINISTIC_REQUIRED => true,
            _ => return Err(Error::MechanismParamInvalid),
        };
        if context.len() > mldsa::MAX_CONTEXT {
            return Err(Error::MechanismParamInvalid);
        }
        let class = if verify { ObjectClass::PUBLIC_KEY } else { ObjectClass::PRIVATE_KEY };
        require(key, class, &[KeyType::ML_DSA])?;
        let ps = param_set(key.ulong(AttrType::PARAMETER_SET)).map_err(|_| Error::KeyTypeInconsistent)?;
        let key = if verify {
            Key::Public(key.bytes(AttrType::VALUE).ok_or(Error::KeyTypeInconsistent)?.to_vec())
        } else {
            match private_key(key)? {
                PrivateKey::Seed(s) => Key::Seed(SecretBytes::from_slice(s)),
                PrivateKey::Expanded(e) => Key::Expanded(SecretBytes::from_slice(e)),
            }
        };
        Ok(Box::new(MlDsaOp { ps, key, context, deterministic, fed }))
    }
}
