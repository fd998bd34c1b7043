//! ML-DSA (FIPS 204) for `CKK_ML_DSA` keys: key generation from a 32-byte seed, pure ML-DSA and
//! HashML-DSA signatures with a context string, hedged or deterministic, the encodings of
//! public keys (`CKA_VALUE`, SubjectPublicKeyInfo) and private keys (seed, expanded form,
//! PKCS#8 as in the IETF LAMPS profile), all over the `ml-dsa` crate.
//!
//! Signing builds FIPS 204's `M'` itself (Algorithms 2 and 4: a domain byte, the context length,
//! the context, then the message or the hash OID and `PH(M)`) and calls `Sign_internal` with the
//! 32-byte `rnd` the caller chose: random for the hedged variant, zeros for the deterministic
//! one. Expanded private keys from outside are checked before the crate sees them (its decoder
//! asserts on out-of-range coefficients) and must carry the `tr` of their own public key.

use alloc::vec::Vec;

use ml_dsa::signature::Keypair as _;
use ml_dsa::{
    B32, EncodedVerifyingKey, ExpandedSigningKey, ExpandedSigningKeyBytes, MlDsaParams, Signature,
    SigningKey, VerifyingKey,
};
use sha3::Shake256;
use sha3::digest::{ExtendableOutput as _, Update as _, XofReader as _};
use zeroize::Zeroizing;

use super::ec::{push_tlv, read_tlv};
use crate::secret::SecretBytes;
use crate::{Error, Result};

/// `CKP_ML_DSA_*` (PKCS#11 3.2 `CK_ML_DSA_PARAMETER_SET_TYPE`); `consts.rs` has no `CKP_*` yet.
pub mod ckp {
    /// ML-DSA-44.
    pub const CKP_ML_DSA_44: u64 = 0x1;
    /// ML-DSA-65.
    pub const CKP_ML_DSA_65: u64 = 0x2;
    /// ML-DSA-87.
    pub const CKP_ML_DSA_87: u64 = 0x3;
}

/// `CKH_*` (PKCS#11 3.2 `CK_HEDGE_TYPE`).
pub mod ckh {
    /// Hedged if the token can, deterministic otherwise (this token always can).
    pub const CKH_HEDGE_PREFERRED: u64 = 0x0;
    /// Hedged signing only.
    pub const CKH_HEDGE_REQUIRED: u64 = 0x1;
    /// FIPS 204's deterministic variant.
    pub const CKH_DETERMINISTIC_REQUIRED: u64 = 0x2;
}

/// The longest context string FIPS 204 allows.
pub const MAX_CONTEXT: usize = 255;
/// Length of a seed (`CKA_SEED`).
pub const SEED_LEN: usize = 32;

const TAG_INTEGER: u8 = 0x02;
const TAG_BIT_STRING: u8 = 0x03;
const TAG_OCTET_STRING: u8 = 0x04;
const TAG_OID: u8 = 0x06;
const TAG_SEQUENCE: u8 = 0x30;
/// `seed [0] IMPLICIT OCTET STRING` of the private key CHOICE.
const TAG_SEED: u8 = 0x80;

/// An ML-DSA parameter set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParamSet {
    /// ML-DSA-44 (security category 2).
    MlDsa44,
    /// ML-DSA-65 (category 3).
    MlDsa65,
    /// ML-DSA-87 (category 5).
    MlDsa87,
}

impl ParamSet {
    /// Every parameter set.
    pub const ALL: &'static [ParamSet] = &[ParamSet::MlDsa44, ParamSet::MlDsa65, ParamSet::MlDsa87];

    /// The set of a `CKA_PARAMETER_SET` value.
    pub fn from_ckp(v: u64) -> Option<Self> {
        Self::ALL.iter().copied().find(|p| p.ckp() == v)
    }

    /// Its `CKP_ML_DSA_*` value.
    pub fn ckp(self) -> u64 {
        match self {
            ParamSet::MlDsa44 => ckp::CKP_ML_DSA_44,
            ParamSet::MlDsa65 => ckp::CKP_ML_DSA_65,
            ParamSet::MlDsa87 => ckp::CKP_ML_DSA_87,
        }
    }

    /// Length of the encoded public key.
    pub fn public_len(self) -> usize {
        match self {
            ParamSet::MlDsa44 => 1312,
            ParamSet::MlDsa65 => 1952,
            ParamSet::MlDsa87 => 2592,
        }
    }

    /// Length of the expanded private key.
    pub fn expanded_len(self) -> usize {
        match self {
            ParamSet::MlDsa44 => 2560,
            ParamSet::MlDsa65 => 4032,
            ParamSet::MlDsa87 => 4896,
        }
    }

    /// Length of a signature.
    pub fn signature_len(self) -> usize {
        match self {
            ParamSet::MlDsa44 => 2420,
            ParamSet::MlDsa65 => 3309,
            ParamSet::MlDsa87 => 4627,
        }
    }

    /// The classical security strength in bits (the key size `C_GetMechanismInfo` reports).
    pub fn strength_bits(self) -> usize {
        match self {
            ParamSet::MlDsa44 => 128,
            ParamSet::MlDsa65 => 192,
            ParamSet::MlDsa87 => 256,
        }
    }

    /// Content octets of id-ml-dsa-44/65/87 (2.16.840.1.101.3.4.3.17/18/19).
    fn oid_content(self) -> [u8; 9] {
        let last = match self {
            ParamSet::MlDsa44 => 0x11,
            ParamSet::MlDsa65 => 0x12,
            ParamSet::MlDsa87 => 0x13,
        };
        [0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x03, last]
    }

    /// `(eta, k, l)`.
    fn shape(self) -> (u32, usize, usize) {
        match self {
            ParamSet::MlDsa44 => (2, 4, 4),
            ParamSet::MlDsa65 => (4, 6, 5),
            ParamSet::MlDsa87 => (2, 8, 7),
        }
    }
}

/// The pre-hash of HashML-DSA (FIPS 204 §5.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PreHashAlg {
    /// A SHA-2 or SHA-3 digest the token implements.
    Digest(super::digest::DigestAlg),
    /// SHAKE128 with 256 bits of output.
    Shake128,
    /// SHAKE256 with 512 bits of output.
    Shake256,
}

impl PreHashAlg {
    /// Length of `PH(M)`.
    pub fn output_len(self) -> usize {
        match self {
            PreHashAlg::Digest(d) => d.output_len(),
            PreHashAlg::Shake128 => 32,
            PreHashAlg::Shake256 => 64,
        }
    }

    /// The last arc of the hash's OID under 2.16.840.1.101.3.4.2, or `None` for a digest FIPS
    /// 204 does not name (SHA-1).
    fn oid_arc(self) -> Option<u8> {
        use super::digest::DigestAlg as D;
        Some(match self {
            PreHashAlg::Digest(D::Sha256) => 1,
            PreHashAlg::Digest(D::Sha384) => 2,
            PreHashAlg::Digest(D::Sha512) => 3,
            PreHashAlg::Digest(D::Sha224) => 4,
            PreHashAlg::Digest(D::Sha512_224) => 5,
            PreHashAlg::Digest(D::Sha512_256) => 6,
            PreHashAlg::Digest(D::Sha3_224) => 7,
            PreHashAlg::Digest(D::Sha3_256) => 8,
            PreHashAlg::Digest(D::Sha3_384) => 9,
            PreHashAlg::Digest(D::Sha3_512) => 10,
            PreHashAlg::Shake128 => 11,
            PreHashAlg::Shake256 => 12,
            PreHashAlg::Digest(D::Sha1) => return None,
        })
    }

    /// True if HashML-DSA may use this hash.
    pub fn is_allowed(self) -> bool {
        self.oid_arc().is_some()
    }
}

/// An incremental `PH(M)`.
#[derive(Clone, Debug)]
pub enum PreHasher {
    /// SHA-2 / SHA-3.
    Digest(alloc::boxed::Box<super::digest::Hasher>),
    /// SHAKE128.
    Shake128(sha3::Shake128),
    /// SHAKE256.
    Shake256(Shake256),
}

impl PreHasher {
    /// A fresh hash.
    pub fn new(alg: PreHashAlg) -> Self {
        match alg {
            PreHashAlg::Digest(d) => PreHasher::Digest(alloc::boxed::Box::new(super::digest::Hasher::new(d))),
            PreHashAlg::Shake128 => PreHasher::Shake128(sha3::Shake128::default()),
            PreHashAlg::Shake256 => PreHasher::Shake256(Shake256::default()),
        }
    }

    /// Feed bytes.
    pub fn update(&mut self, data: &[u8]) {
        match self {
            PreHasher::Digest(h) => h.update(data),
            PreHasher::Shake128(h) => h.update(data),
            PreHasher::Shake256(h) => h.update(data),
        }
    }

    /// `PH(M)` without consuming the state.
    pub fn finish(&self) -> Vec<u8> {
        match self {
            PreHasher::Digest(h) => h.finish(),
            PreHasher::Shake128(h) => {
                let mut out = alloc::vec![0u8; 32];
                h.clone().finalize_xof().read(&mut out);
                out
            }
            PreHasher::Shake256(h) => {
                let mut out = alloc::vec![0u8; 64];
                h.clone().finalize_xof().read(&mut out);
                out
            }
        }
    }
}

/// What is signed: the message itself (ML-DSA) or its hash (HashML-DSA).
#[derive(Clone, Copy, Debug)]
pub enum Input<'a> {
    /// Pure ML-DSA over this message.
    Message(&'a [u8]),
    /// HashML-DSA over `PH(M)` computed with this hash.
    Prehashed(PreHashAlg, &'a [u8]),
}

/// A private key as stored: the seed when known (it is the preferred form), else the expanded key.
#[derive(Clone, Copy, Debug)]
pub enum PrivateKey<'a> {
    /// `CKA_SEED`.
    Seed(&'a [u8]),
    /// `CKA_VALUE` in the expanded form (already checked by [`public_from_expanded`]).
    Expanded(&'a [u8]),
}

macro_rules! dispatch {
    ($ps:expr, $f:ident($($arg:expr),*)) => {
        match $ps {
            ParamSet::MlDsa44 => $f::<ml_dsa::MlDsa44>($($arg),*),
            ParamSet::MlDsa65 => $f::<ml_dsa::MlDsa65>($($arg),*),
            ParamSet::MlDsa87 => $f::<ml_dsa::MlDsa87>($($arg),*),
        }
    };
}

/// `ML-DSA.KeyGen_internal` from a seed: (expanded private key, encoded public key).
///
/// # Errors
/// `Error::AttributeValueInvalid` when `seed` is not 32 bytes.
pub fn keygen_from_seed(ps: ParamSet, seed: &[u8]) -> Result<(SecretBytes, Vec<u8>)> {
    let seed = seed32(seed)?;
    Ok(dispatch!(ps, keygen_generic(&seed)))
}

/// Check an expanded private key from outside and return its public key.
///
/// # Errors
/// `Error::AttributeValueInvalid` when it has the wrong length, a coefficient of `s1`/`s2` out
/// of range, or a `tr` that is not the hash of its own public key.
pub fn public_from_expanded(ps: ParamSet, expanded: &[u8]) -> Result<Vec<u8>> {
    if expanded.len() != ps.expanded_len() || !coefficients_in_range(ps, expanded) {
        return Err(Error::AttributeValueInvalid);
    }
    let public = dispatch!(ps, public_from_expanded_generic(expanded))?;
    let mut tr = [0u8; 64];
    let mut h = Shake256::default();
    h.update(&public);
    h.finalize_xof().read(&mut tr);
    if expanded[64..128] != tr {
        return Err(Error::AttributeValueInvalid);
    }
    Ok(public)
}

/// Check an encoded public key's length.
///
/// # Errors
/// `Error::AttributeValueInvalid`.
pub fn check_public(ps: ParamSet, public: &[u8]) -> Result<()> {
    if public.len() == ps.public_len() { Ok(()) } else { Err(Error::AttributeValueInvalid) }
}

/// Sign (FIPS 204 Algorithm 2 or 4 with `rnd` given): `rnd` is 32 random bytes for hedged
/// signing, zeros for the deterministic variant.
///
/// # Errors
/// - `Error::MechanismParamInvalid` for a context over 255 bytes or a hash FIPS 204 does not allow.
/// - `Error::DataLenRange` when a pre-hashed input has the wrong length for its hash.
/// - `Error::AttributeValueInvalid` for a malformed key.
pub fn sign(
    ps: ParamSet,
    key: PrivateKey<'_>,
    context: &[u8],
    input: Input<'_>,
    rnd: &[u8; 32],
) -> Result<Vec<u8>> {
    let (head, oid) = message_prefix(context, input)?;
    let body = match input {
        Input::Message(m) | Input::Prehashed(_, m) => m,
    };
    let parts: [&[u8]; 3] = [&head, &oid, body];
    let esk = dispatch!(ps, sign_generic(key, &parts, rnd))?;
    Ok(esk)
}

/// Verify (FIPS 204 Algorithm 3 or 5).
///
/// # Errors
/// - `Error::SignatureLenRange` when `signature` is not `signature_len` bytes.
/// - `Error::SignatureInvalid` when it does not verify (or does not decode).
/// - `Error::MechanismParamInvalid`, `Error::DataLenRange` as for [`sign`].
/// - `Error::AttributeValueInvalid` for a public key of the wrong length.
pub fn verify(ps: ParamSet, public: &[u8], context: &[u8], input: Input<'_>, signature: &[u8]) -> Result<()> {
    check_public(ps, public)?;
    if signature.len() != ps.signature_len() {
        return Err(Error::SignatureLenRange);
    }
    let (head, oid) = message_prefix(context, input)?;
    let body = match input {
        Input::Message(m) | Input::Prehashed(_, m) => m,
    };
    let mut m_prime = Vec::with_capacity(head.len() + oid.len() + body.len());
    m_prime.extend_from_slice(&head);
    m_prime.extend_from_slice(&oid);
    m_prime.extend_from_slice(body);
    if dispatch!(ps, verify_generic(public, &m_prime, signature)) {
        Ok(())
    } else {
        Err(Error::SignatureInvalid)
    }
}

/// DER SubjectPublicKeyInfo: id-ml-dsa-* without parameters, the encoded key as the BIT STRING.
pub fn public_key_info(ps: ParamSet, public: &[u8]) -> Vec<u8> {
    let mut algorithm = Vec::with_capacity(13);
    push_tlv(&mut algorithm, TAG_OID, &ps.oid_content());
    let mut bits = Vec::with_capacity(public.len() + 1);
    bits.push(0);
    bits.extend_from_slice(public);
    let mut body = Vec::with_capacity(bits.len() + 24);
    push_tlv(&mut body, TAG_SEQUENCE, &algorithm);
    push_tlv(&mut body, TAG_BIT_STRING, &bits);
    let mut out = Vec::with_capacity(body.len() + 4);
    push_tlv(&mut out, TAG_SEQUENCE, &body);
    out
}

/// A private key as PKCS#8, for `C_WrapKey`: the `seed [0]` form when the seed is known, the
/// `expandedKey` form otherwise.
pub fn to_pkcs8(ps: ParamSet, key: PrivateKey<'_>) -> SecretBytes {
    let mut inner = Zeroizing::new(Vec::with_capacity(ps.expanded_len() + 8));
    match key {
        PrivateKey::Seed(s) => push_tlv(&mut inner, TAG_SEED, s),
        PrivateKey::Expanded(e) => push_tlv(&mut inner, TAG_OCTET_STRING, e),
    }
    let mut algorithm = Vec::with_capacity(13);
    push_tlv(&mut algorithm, TAG_OID, &ps.oid_content());
    let mut body = Zeroizing::new(Vec::with_capacity(inner.len() + 24));
    push_tlv(&mut body, TAG_INTEGER, &[0]);
    push_tlv(&mut body, TAG_SEQUENCE, &algorithm);
    push_tlv(&mut body, TAG_OCTET_STRING, &inner);
    let mut out = Vec::with_capacity(body.len() + 4);
    push_tlv(&mut out, TAG_SEQUENCE, &body);
    SecretBytes::new(out)
}

/// A PKCS#8 ML-DSA key in any of the three forms (`seed`, `expandedKey`, `both`, which must agree):
/// (parameter set, seed if given, expanded key).
///
/// # Errors
/// `Error::WrappedKeyInvalid` for anything else.
pub fn from_pkcs8(der: &[u8]) -> Result<(ParamSet, Option<SecretBytes>, SecretBytes)> {
    let bad = Error::WrappedKeyInvalid;
    let Some((TAG_SEQUENCE, body, [])) = read_tlv(der) else { return Err(bad) };
    let Some((TAG_INTEGER, version, rest)) = read_tlv(body) else { return Err(bad) };
    if version != [0] && version != [1] {
        return Err(bad);
    }
    let Some((TAG_SEQUENCE, algorithm, rest)) = read_tlv(rest) else { return Err(bad) };
    let Some((TAG_OID, oid, [])) = read_tlv(algorithm) else { return Err(bad) };
    let ps = ParamSet::ALL.iter().copied().find(|p| p.oid_content() == oid).ok_or(bad)?;
    let Some((TAG_OCTET_STRING, inner, _)) = read_tlv(rest) else { return Err(bad) };
    let (seed, expanded): (Option<&[u8]>, Option<&[u8]>) = match read_tlv(inner) {
        Some((TAG_SEED, seed, [])) => (Some(seed), None),
        Some((TAG_OCTET_STRING, expanded, [])) => (None, Some(expanded)),
        Some((TAG_SEQUENCE, both, [])) => match read_tlv(both) {
            Some((TAG_OCTET_STRING, seed, rest)) => match read_tlv(rest) {
                Some((TAG_OCTET_STRING, expanded, [])) => (Some(seed), Some(expanded)),
                _ => return Err(bad),
            },
            _ => return Err(bad),
        },
        _ => return Err(bad),
    };
    let derived = match seed {
        Some(s) => Some(keygen_from_seed(ps, s).map_err(|_| bad)?.0),
        None => None,
    };
    let expanded = match (derived, expanded) {
        (Some(d), Some(e)) if d.expose() == e => d,
        (Some(_), Some(_)) => return Err(bad),
        (Some(d), None) => d,
        (None, Some(e)) => {
            public_from_expanded(ps, e).map_err(|_| bad)?;
            SecretBytes::from_slice(e)
        }
        (None, None) => return Err(bad),
    };
    Ok((ps, seed.map(SecretBytes::from_slice), expanded))
}

fn seed32(seed: &[u8]) -> Result<Zeroizing<[u8; 32]>> {
    let arr: [u8; 32] = seed.try_into().map_err(|_| Error::AttributeValueInvalid)?;
    Ok(Zeroizing::new(arr))
}

/// `M'` up to the message: `(domain || |ctx| || ctx, OID)`; the OID is empty for pure ML-DSA.
fn message_prefix(context: &[u8], input: Input<'_>) -> Result<(Vec<u8>, Vec<u8>)> {
    let ctx_len = u8::try_from(context.len()).map_err(|_| Error::MechanismParamInvalid)?;
    let (domain, oid) = match input {
        Input::Message(_) => (0u8, Vec::new()),
        Input::Prehashed(alg, ph) => {
            let arc = alg.oid_arc().ok_or(Error::MechanismParamInvalid)?;
            if ph.len() != alg.output_len() {
                return Err(Error::DataLenRange);
            }
            (1u8, alloc::vec![TAG_OID, 9, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, arc])
        }
    };
    let mut head = Vec::with_capacity(2 + context.len());
    head.push(domain);
    head.push(ctx_len);
    head.extend_from_slice(context);
    Ok((head, oid))
}

/// FIPS 204 SimpleBitPack coefficients of `s1 || s2` (stored as `eta - c`) must not exceed
/// `2 eta`; the crate's decoder asserts that instead of returning an error.
fn coefficients_in_range(ps: ParamSet, expanded: &[u8]) -> bool {
    let (eta, k, l) = ps.shape();
    let bits: usize = if eta == 2 { 3 } else { 4 };
    let count = 256 * (k + l);
    let region = &expanded[128..128 + count * bits / 8];
    (0..count).all(|i| {
        let bit = i * bits;
        let (byte, shift) = (bit / 8, bit % 8);
        let lo = u32::from(region[byte]);
        let hi = region.get(byte + 1).map_or(0, |&b| u32::from(b));
        ((lo | hi << 8) >> shift) & ((1 << bits) - 1) <= 2 * eta
    })
}

fn keygen_generic<P: MlDsaParams>(seed: &[u8; 32]) -> (SecretBytes, Vec<u8>) {
    let sk = SigningKey::<P>::from_seed(&B32::from(*seed));
    #[allow(deprecated, reason = "the expanded form is what PKCS#11 stores in CKA_VALUE")]
    let expanded = Zeroizing::new(sk.expanded_key().to_expanded());
    let public = sk.verifying_key().encode();
    (SecretBytes::from_slice(&expanded), public.to_vec())
}

#[allow(deprecated, reason = "importing expanded keys is a PKCS#11 requirement; input was range-checked")]
fn expanded_key<P: MlDsaParams>(expanded: &[u8]) -> Result<ExpandedSigningKey<P>> {
    let bytes = Zeroizing::new(
        ExpandedSigningKeyBytes::<P>::try_from(expanded).map_err(|_| Error::AttributeValueInvalid)?,
    );
    Ok(ExpandedSigningKey::<P>::from_expanded(&bytes))
}

fn public_from_expanded_generic<P: MlDsaParams>(expanded: &[u8]) -> Result<Vec<u8>> {
    Ok(expanded_key::<P>(expanded)?.verifying_key().encode().to_vec())
}

fn sign_generic<P: MlDsaParams>(key: PrivateKey<'_>, parts: &[&[u8]], rnd: &[u8; 32]) -> Result<Vec<u8>> {
    let esk = match key {
        PrivateKey::Seed(s) => ExpandedSigningKey::<P>::from_seed(&B32::from(*seed32(s)?)),
        PrivateKey::Expanded(e) => expanded_key::<P>(e)?,
    };
    // `sign_internal` panics only if rejection sampling exhausts its 2^16 nonces, which happens
    // with negligible probability (FIPS 204 §3.4 puts the expected number of rounds below 5).
    Ok(esk.sign_internal(parts, &B32::from(*rnd)).encode().to_vec())
}

fn verify_generic<P: MlDsaParams>(public: &[u8], m_prime: &[u8], signature: &[u8]) -> bool {
    let Ok(enc) = EncodedVerifyingKey::<P>::try_from(public) else { return false };
    let Ok(sig) = Signature::<P>::try_from(signature) else { return false };
    VerifyingKey::<P>::decode(&enc).verify_internal(m_prime, &sig)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]
mod tests {
    use super::*;
    use crate::mechanism::digest::DigestAlg;

    fn h(s: &str) -> Vec<u8> {
        hex::decode(s).unwrap()
    }

    #[test]
    fn sizes_match_the_crate() {
        for ps in ParamSet::ALL {
            let (sk, pk) = keygen_from_seed(*ps, &[7; 32]).unwrap();
            assert_eq!(sk.len(), ps.expanded_len());
            assert_eq!(pk.len(), ps.public_len());
            assert_eq!(public_from_expanded(*ps, sk.expose()).unwrap(), pk);
            let sig = sign(*ps, PrivateKey::Seed(&[7; 32]), b"", Input::Message(b"m"), &[0; 32]).unwrap();
            assert_eq!(sig.len(), ps.signature_len());
            assert_eq!(ParamSet::from_ckp(ps.ckp()), Some(*ps));
        }
        assert_eq!(ParamSet::from_ckp(0), None);
        assert_eq!(ParamSet::from_ckp(4), None);
    }

    #[test]
    fn pure_and_prehashed_round_trips() {
        let ps = ParamSet::MlDsa65;
        let seed = [9u8; 32];
        let (sk, pk) = keygen_from_seed(ps, &seed).unwrap();
        for key in [PrivateKey::Seed(&seed), PrivateKey::Expanded(sk.expose())] {
            let sig = sign(ps, key, b"ctx", Input::Message(b"hello"), &[1; 32]).unwrap();
            verify(ps, &pk, b"ctx", Input::Message(b"hello"), &sig).unwrap();
            assert_eq!(
                verify(ps, &pk, b"ctx2", Input::Message(b"hello"), &sig),
                Err(Error::SignatureInvalid)
            );
            assert_eq!(verify(ps, &pk, b"ctx", Input::Message(b"hellp"), &sig), Err(Error::SignatureInvalid));
            let mut bad = sig.clone();
            bad[5] ^= 1;
            assert_eq!(verify(ps, &pk, b"ctx", Input::Message(b"hello"), &bad), Err(Error::SignatureInvalid));
            assert_eq!(
                verify(ps, &pk, b"ctx", Input::Message(b"hello"), &sig[1..]),
                Err(Error::SignatureLenRange)
            );
        }
        // Deterministic signing repeats; hedged does not.
        let a = sign(ps, PrivateKey::Seed(&seed), b"", Input::Message(b"x"), &[0; 32]).unwrap();
        let b = sign(ps, PrivateKey::Seed(&seed), b"", Input::Message(b"x"), &[0; 32]).unwrap();
        let c = sign(ps, PrivateKey::Seed(&seed), b"", Input::Message(b"x"), &[3; 32]).unwrap();
        assert_eq!(a, b);
        assert_ne!(a, c);
        // HashML-DSA: the domain byte and the OID separate it from pure ML-DSA.
        for alg in [
            PreHashAlg::Digest(DigestAlg::Sha256),
            PreHashAlg::Digest(DigestAlg::Sha3_512),
            PreHashAlg::Shake128,
            PreHashAlg::Shake256,
        ] {
            let mut p = PreHasher::new(alg);
            p.update(b"message");
            let ph = p.finish();
            assert_eq!(ph.len(), alg.output_len());
            let sig = sign(ps, PrivateKey::Seed(&seed), b"", Input::Prehashed(alg, &ph), &[0; 32]).unwrap();
            verify(ps, &pk, b"", Input::Prehashed(alg, &ph), &sig).unwrap();
            assert_eq!(verify(ps, &pk, b"", Input::Message(&ph), &sig), Err(Error::SignatureInvalid));
            assert_eq!(
                sign(ps, PrivateKey::Seed(&seed), b"", Input::Prehashed(alg, &ph[1..]), &[0; 32]),
                Err(Error::DataLenRange)
            );
        }
        let sha1 = PreHashAlg::Digest(DigestAlg::Sha1);
        assert_eq!(
            sign(ps, PrivateKey::Seed(&seed), b"", Input::Prehashed(sha1, &[0; 20]), &[0; 32]),
            Err(Error::MechanismParamInvalid)
        );
        assert_eq!(
            sign(ps, PrivateKey::Seed(&seed), &[0; 256], Input::Message(b"x"), &[0; 32]),
            Err(Error::MechanismParamInvalid)
        );
    }

    #[test]
    fn expanded_keys_are_checked() {
        let ps = ParamSet::MlDsa44;
        let (sk, _) = keygen_from_seed(ps, &[1; 32]).unwrap();
        let mut bad_range = sk.expose().to_vec();
        bad_range[128] = 0xff; // 3-bit coefficients 7 > 2*eta
        assert_eq!(public_from_expanded(ps, &bad_range), Err(Error::AttributeValueInvalid));
        let mut bad_tr = sk.expose().to_vec();
        bad_tr[64] ^= 1;
        assert_eq!(public_from_expanded(ps, &bad_tr), Err(Error::AttributeValueInvalid));
        assert_eq!(public_from_expanded(ps, &sk.expose()[1..]), Err(Error::AttributeValueInvalid));
        assert_eq!(public_from_expanded(ParamSet::MlDsa65, sk.expose()), Err(Error::AttributeValueInvalid));
    }

    #[test]
    fn pkcs8_forms() {
        let ps = ParamSet::MlDsa87;
        let seed = [4u8; 32];
        let (sk, _) = keygen_from_seed(ps, &seed).unwrap();
        let der = to_pkcs8(ps, PrivateKey::Seed(&seed));
        let (p2, s2, e2) = from_pkcs8(der.expose()).unwrap();
        assert_eq!((p2, s2.unwrap().expose(), e2.expose()), (ps, &seed[..], sk.expose()));
        let der = to_pkcs8(ps, PrivateKey::Expanded(sk.expose()));
        let (_, s3, e3) = from_pkcs8(der.expose()).unwrap();
        assert!(s3.is_none());
        assert_eq!(e3.expose(), sk.expose());
        // The `both` form, consistent and not.
        let mut both = Vec::new();
        push_tlv(&mut both, TAG_OCTET_STRING, &seed);
        push_tlv(&mut both, TAG_OCTET_STRING, sk.expose());
        let wrap = |inner_both: &[u8]| {
            let mut seq = Vec::new();
            push_tlv(&mut seq, TAG_SEQUENCE, inner_both);
            let mut body = Vec::new();
            push_tlv(&mut body, TAG_INTEGER, &[0]);
            let mut alg = Vec::new();
            push_tlv(&mut alg, TAG_OID, &ps.oid_content());
            push_tlv(&mut body, TAG_SEQUENCE, &alg);
            push_tlv(&mut body, TAG_OCTET_STRING, &seq);
            let mut out = Vec::new();
            push_tlv(&mut out, TAG_SEQUENCE, &body);
            out
        };
        assert!(from_pkcs8(&wrap(&both)).is_ok());
        let mut other = Vec::new();
        push_tlv(&mut other, TAG_OCTET_STRING, &[5u8; 32]);
        push_tlv(&mut other, TAG_OCTET_STRING, sk.expose());
        assert_eq!(from_pkcs8(&wrap(&other)).unwrap_err(), Error::WrappedKeyInvalid);
        assert_eq!(from_pkcs8(&h("3000")).unwrap_err(), Error::WrappedKeyInvalid);
    }

    fn set(name: &str) -> ParamSet {
        match name {
            "44" => ParamSet::MlDsa44,
            "65" => ParamSet::MlDsa65,
            _ => ParamSet::MlDsa87,
        }
    }

    fn field(s: &str) -> Vec<u8> {
        if s == "-" { Vec::new() } else { h(s) }
    }

    /// The LAMPS examples: key generation from a seed (given as PKCS#8) matches the published
    /// public key; OpenSSL's signatures verify here, tampered ones do not.
    #[test]
    fn known_answers() {
        let kat = include_str!("testdata/mldsa_kat.txt");
        let (mut lamps, mut sigver) = (0, 0);
        for line in kat.lines().filter(|l| !l.starts_with('#') && !l.is_empty()) {
            let f: Vec<&str> = line.split(' ').collect();
            let ps = set(f[1]);
            match f[0] {
                "lamps" => {
                    let (p, seed, expanded) = from_pkcs8(&h(f[2])).unwrap();
                    assert_eq!(p, ps);
                    let (_, public) = keygen_from_seed(ps, seed.unwrap().expose()).unwrap();
                    assert_eq!(public_key_info(ps, &public), h(f[3]), "{ps:?}");
                    assert_eq!(public_from_expanded(ps, expanded.expose()).unwrap(), public);
                    lamps += 1;
                }
                "sigver" => {
                    let (_, public) = keygen_from_seed(ps, &h(f[2])).unwrap();
                    let (msg, ctx, sig) = (field(f[3]), field(f[4]), h(f[5]));
                    verify(ps, &public, &ctx, Input::Message(&msg), &sig).unwrap();
                    let mut bad = sig.clone();
                    let last = bad.len() - 1;
                    bad[last / 2] ^= 0x10;
                    assert_eq!(
                        verify(ps, &public, &ctx, Input::Message(&msg), &bad),
                        Err(Error::SignatureInvalid)
                    );
                    assert_eq!(
                        verify(ps, &public, b"other", Input::Message(&msg), &sig),
                        Err(Error::SignatureInvalid)
                    );
                    sigver += 1;
                }
                other => panic!("unknown line kind {other}"),
            }
        }
        assert_eq!((lamps, sigver), (3, 4));
    }

    #[test]
    fn spki_prefix() {
        let (_, pk) = keygen_from_seed(ParamSet::MlDsa44, &[0; 32]).unwrap();
        let spki = public_key_info(ParamSet::MlDsa44, &pk);
        // RFC 9881's ML-DSA-44 SPKI header.
        assert_eq!(
            spki[..22],
            h("30820532300b060960864801650304031103820521 00".replace(' ', "").as_str())[..]
        );
        assert_eq!(spki.len(), 22 + 1312);
    }
}
