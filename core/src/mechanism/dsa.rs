//! DSA (FIPS 186-4; legacy, for `CKK_DSA` keys): domain parameters, key generation, the
//! `SubjectPublicKeyInfo` and PKCS #8 encodings, and signatures over a caller-supplied hash.
//! The only module that calls the `dsa` crate.
//!
//! Signing is deterministic (RFC 6979) like ECDSA in this token: no RNG at signing time, and a
//! deterministic token repeats its signatures. The hash-then-sign mechanisms use their own
//! hash for the nonce generator, so their signatures equal RFC 6979's published ones;
//! `CKM_DSA` (the caller hashes) uses SHA-256.
//!
//! Parameter sizes are FIPS 186-4's: (L, N) = (1024, 160), (2048, 224), (2048, 256), (3072, 256).

use alloc::vec::Vec;

use crypto_bigint::modular::{BoxedMontyForm, BoxedMontyParams};
use crypto_bigint::{BoxedUint, NonZero};
use dsa::pkcs8::{DecodePrivateKey, EncodePrivateKey, EncodePublicKey};
use dsa::signature::hazmat::PrehashVerifier;
use dsa::{Components, KeySize, Signature, SigningKey, VerifyingKey};

use crate::mechanism::digest::DigestAlg;
use crate::mechanism::rsa::{strip_zeros, with_rng};
use crate::rng::Rng;
use crate::secret::SecretBytes;
use crate::{Error, Result};

/// Smallest prime p, in bits.
pub const MIN_BITS: usize = 1024;
/// Largest prime p, in bits.
pub const MAX_BITS: usize = 3072;

/// Domain parameters (p, q, g), checked.
#[derive(Clone, Debug)]
pub struct Params(Components);

/// A public key.
#[derive(Clone, Debug)]
pub struct PublicKey(VerifyingKey);

/// A private key (with its public half).
#[derive(Clone)]
pub struct PrivateKey(SigningKey);

impl core::fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("dsa::PrivateKey")
    }
}

fn be(x: &BoxedUint) -> Vec<u8> {
    strip_zeros(&x.to_be_bytes()).to_vec()
}

/// The FIPS 186-4 size for a prime of `l` bits and an optional subprime size.
///
/// # Errors
/// `Error::KeySizeRange` for any other pair.
pub fn key_size(l: u64, n: Option<u64>) -> Result<KeySize> {
    #[allow(deprecated, reason = "1024-bit DSA is legacy, and exactly what legacy clients ask for")]
    let size = match (l, n) {
        (1024, None | Some(160)) => KeySize::DSA_1024_160,
        (2048, Some(224)) => KeySize::DSA_2048_224,
        (2048, None | Some(256)) => KeySize::DSA_2048_256,
        (3072, None | Some(256)) => KeySize::DSA_3072_256,
        _ => return Err(Error::KeySizeRange),
    };
    Ok(size)
}

/// Domain parameters from `CKA_PRIME`, `CKA_SUBPRIME`, `CKA_BASE`.
///
/// # Errors
/// `Error::DomainParamsInvalid` for sizes other than FIPS 186-4's, an even p, g not in (1, p).
pub fn params(p: &[u8], q: &[u8], g: &[u8]) -> Result<Params> {
    let int = |b: &[u8]| BoxedUint::from_be_slice_vartime(strip_zeros(b));
    let p_int = int(p);
    let g_int = BoxedUint::from_be_slice(strip_zeros(g), p_int.bits_precision())
        .map_err(|_| Error::DomainParamsInvalid)?;
    let c = Components::from_components(p_int, int(q), g_int).map_err(|_| Error::DomainParamsInvalid)?;
    // The crate checks sizes, an odd p and g < p; a generator of the order-q subgroup also
    // needs g > 1 and g^q = 1 (mod p). (Primality of p and q is not re-tested.)
    let monty = BoxedMontyParams::new_vartime(c.p().clone());
    let g_to_q = BoxedMontyForm::new(c.g().as_ref().clone(), &monty).pow(c.q()).retrieve();
    if c.g().as_ref() <= &BoxedUint::one() || g_to_q != BoxedUint::one() {
        return Err(Error::DomainParamsInvalid);
    }
    Ok(Params(c))
}

/// Generate domain parameters of this size.
///
/// # Errors
/// The RNG's error.
pub fn generate_params(size: KeySize, rng: &mut dyn Rng) -> Result<Params> {
    with_rng(rng, |r| {
        let Ok(c) = Components::try_generate_from_rng_with_key_size(r, size);
        Ok(Params(c))
    })
}

impl Params {
    /// (`CKA_PRIME`, `CKA_SUBPRIME`, `CKA_BASE`), minimal big-endian.
    pub fn pqg(&self) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
        (be(self.0.p()), be(self.0.q()), be(self.0.g()))
    }

    /// Bits of p.
    pub fn prime_bits(&self) -> usize {
        self.0.p().bit_width_vartime() as usize
    }

    /// Bits of q.
    pub fn subprime_bits(&self) -> usize {
        self.0.q().bit_width_vartime() as usize
    }

    /// Bytes of r and of s in a signature.
    pub fn q_len(&self) -> usize {
        self.subprime_bits().div_ceil(8)
    }
}

/// A public key of these parameters and `CKA_VALUE` (y).
///
/// # Errors
/// `Error::AttributeValueInvalid` unless 1 < y < p and y^q = 1 (mod p).
pub fn public_key(params: &Params, y: &[u8]) -> Result<PublicKey> {
    let y = BoxedUint::from_be_slice(strip_zeros(y), params.0.p().bits_precision())
        .map_err(|_| Error::AttributeValueInvalid)?;
    if y >= *params.0.p().as_ref() {
        return Err(Error::AttributeValueInvalid);
    }
    VerifyingKey::from_components(params.0.clone(), y)
        .map(PublicKey)
        .map_err(|_| Error::AttributeValueInvalid)
}

/// A private key of these parameters and `CKA_VALUE` (x, 0 < x < q); y is computed.
///
/// # Errors
/// `Error::AttributeValueInvalid` for x out of range.
pub fn private_key(params: &Params, x: &[u8]) -> Result<PrivateKey> {
    let prec = params.0.p().bits_precision();
    let x = BoxedUint::from_be_slice(strip_zeros(x), prec).map_err(|_| Error::AttributeValueInvalid)?;
    let Some(nz) = NonZero::new(x.clone()).into_option() else {
        return Err(Error::AttributeValueInvalid);
    };
    let q = params.0.q().as_ref().resize_unchecked_to(prec);
    if nz.as_ref() >= &q {
        return Err(Error::AttributeValueInvalid);
    }
    let monty = BoxedMontyParams::new_vartime(params.0.p().clone());
    let y = BoxedMontyForm::new(params.0.g().as_ref().clone(), &monty).pow(&x).retrieve();
    let public =
        VerifyingKey::from_components(params.0.clone(), y).map_err(|_| Error::AttributeValueInvalid)?;
    SigningKey::from_components(public, x).map(PrivateKey).map_err(|_| Error::AttributeValueInvalid)
}

/// `resize_unchecked` under a name that says it widens.
trait Widen {
    fn resize_unchecked_to(&self, bits: u32) -> BoxedUint;
}

impl Widen for BoxedUint {
    fn resize_unchecked_to(&self, bits: u32) -> BoxedUint {
        crypto_bigint::Resize::resize_unchecked(self.clone(), bits)
    }
}

/// Generate a key pair: (x, y).
///
/// # Errors
/// The RNG's error.
pub fn generate(params: &Params, rng: &mut dyn Rng) -> Result<(SecretBytes, Vec<u8>)> {
    with_rng(rng, |r| {
        let Ok(k) = SigningKey::try_generate_from_rng_with_components(r, params.0.clone());
        Ok((SecretBytes::from_slice(&be(k.x())), be(k.verifying_key().y())))
    })
}

impl PublicKey {
    /// `CKA_PUBLIC_KEY_INFO` (id-dsa with the parameters, RFC 3279 §2.3.2).
    ///
    /// # Errors
    /// `Error::GeneralError` if the encoder fails.
    pub fn public_key_info(&self) -> Result<Vec<u8>> {
        self.0.to_public_key_der().map(|d| d.as_bytes().to_vec()).map_err(|_| Error::GeneralError)
    }

    /// Bytes of r and of s.
    pub fn q_len(&self) -> usize {
        (self.0.components().q().bit_width_vartime() as usize).div_ceil(8)
    }

    /// `CKA_VALUE` (y).
    pub fn value(&self) -> Vec<u8> {
        be(self.0.y())
    }
}

impl PrivateKey {
    /// The public half.
    pub fn public(&self) -> PublicKey {
        PublicKey(self.0.verifying_key().clone())
    }

    /// A PKCS #8 `PrivateKeyInfo`, for `C_WrapKey`.
    ///
    /// # Errors
    /// `Error::KeyNotWrappable` if the encoder fails.
    pub fn to_pkcs8(&self) -> Result<SecretBytes> {
        let doc = self.0.to_pkcs8_der().map_err(|_| Error::KeyNotWrappable)?;
        Ok(SecretBytes::from_slice(doc.as_bytes()))
    }
}

/// (p, q, g, x) from a PKCS #8 `PrivateKeyInfo` (id-dsa), for `C_UnwrapKey`.
///
/// # Errors
/// `Error::WrappedKeyInvalid`.
pub fn from_pkcs8(der: &[u8]) -> Result<(Params, SecretBytes)> {
    let k = SigningKey::from_pkcs8_der(der).map_err(|_| Error::WrappedKeyInvalid)?;
    Ok((Params(k.verifying_key().components().clone()), SecretBytes::from_slice(&be(k.x()))))
}

/// Sign `hash` (deterministic, RFC 6979 with `alg`'s HMAC): r ‖ s, each q-length.
///
/// # Errors
/// `Error::DataLenRange` for an empty hash; `Error::FunctionFailed` if signing fails.
pub fn sign(key: &PrivateKey, alg: DigestAlg, hash: &[u8]) -> Result<Vec<u8>> {
    if hash.is_empty() {
        return Err(Error::DataLenRange);
    }
    let sig = match alg {
        DigestAlg::Sha1 => key.0.sign_prehashed_rfc6979::<sha1::Sha1>(hash),
        DigestAlg::Sha224 => key.0.sign_prehashed_rfc6979::<sha2::Sha224>(hash),
        DigestAlg::Sha384 => key.0.sign_prehashed_rfc6979::<sha2::Sha384>(hash),
        DigestAlg::Sha512 => key.0.sign_prehashed_rfc6979::<sha2::Sha512>(hash),
        DigestAlg::Sha3_224 => key.0.sign_prehashed_rfc6979::<sha3::Sha3_224>(hash),
        DigestAlg::Sha3_256 => key.0.sign_prehashed_rfc6979::<sha3::Sha3_256>(hash),
        DigestAlg::Sha3_384 => key.0.sign_prehashed_rfc6979::<sha3::Sha3_384>(hash),
        DigestAlg::Sha3_512 => key.0.sign_prehashed_rfc6979::<sha3::Sha3_512>(hash),
        _ => key.0.sign_prehashed_rfc6979::<sha2::Sha256>(hash),
    }
    .map_err(|_| Error::FunctionFailed)?;
    let n = key.public().q_len();
    let mut out = Vec::with_capacity(2 * n);
    for part in [sig.r().as_ref(), sig.s().as_ref()] {
        let b = be(part);
        out.resize(out.len() + n - b.len(), 0);
        out.extend_from_slice(&b);
    }
    Ok(out)
}

/// Check an r ‖ s signature over `hash`.
///
/// # Errors
/// `Error::SignatureLenRange` (not 2·qlen bytes), `Error::SignatureInvalid`, `Error::DataLenRange`.
pub fn verify(key: &PublicKey, hash: &[u8], signature: &[u8]) -> Result<()> {
    let n = key.q_len();
    if signature.len() != 2 * n {
        return Err(Error::SignatureLenRange);
    }
    if hash.is_empty() {
        return Err(Error::DataLenRange);
    }
    let prec = u32::try_from(n * 8).map_err(|_| Error::SignatureLenRange)?;
    let r = BoxedUint::from_be_slice(&signature[..n], prec).map_err(|_| Error::SignatureInvalid)?;
    let s = BoxedUint::from_be_slice(&signature[n..], prec).map_err(|_| Error::SignatureInvalid)?;
    let sig = Signature::from_components(r, s).ok_or(Error::SignatureInvalid)?;
    key.0.verify_prehash(hash, &sig).map_err(|_| Error::SignatureInvalid)
}

#[cfg(test)]
pub(crate) mod tests;
