//! RSA (PKCS #1 v2.2, RFC 8017) for `CKK_RSA` keys: key generation, component validation,
//! `SubjectPublicKeyInfo` and PKCS #8 encodings, RSASSA-PKCS1-v1_5 and RSASSA-PSS signatures,
//! RSAES-PKCS1-v1_5 and RSAES-OAEP encryption, and the raw operations of `CKM_RSA_X_509`.
//! The only module that calls the `rsa` crate (the provider seam of DESIGN §1).
//!
//! Every private-key operation is blinded (base, exponent and CRT moduli, fresh factors from
//! the token's RNG each time) and checked against the public key before it is released
//! (a CRT fault would otherwise leak a factor). PKCS #1 v1.5 decryption uses the crate's
//! implicit rejection (draft-irtf-cfrg-rsa-guidance §7): a ciphertext whose padding is wrong
//! decrypts to a synthetic message derived from the key and the ciphertext, so neither the
//! error code nor the timing tells an attacker whether the padding was valid. OAEP decoding is
//! constant-time and has one error for every failure. See `docs/support/rsa.md`.

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::convert::Infallible;

use crypto_bigint::{BoxedUint, Integer, NonZero, Odd, Resize};
use rand_chacha::ChaCha20Rng;
use rand_core::{SeedableRng, TryCryptoRng, TryRng};
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey, EncodePublicKey};
use rsa::traits::{PrivateKeyParts, PublicKeyParts};
use rsa::{Oaep, Pkcs1v15Encrypt, Pkcs1v15Sign, Pss};
use zeroize::Zeroizing;

use crate::mechanism::digest::DigestAlg;
use crate::rng::Rng;
use crate::secret::SecretBytes;
use crate::{Error, Result};

/// Smallest modulus the token generates, imports or uses, in bits.
pub const MIN_BITS: usize = 1024;
/// Largest modulus, in bits.
pub const MAX_BITS: usize = 8192;
/// The public exponent of generated keys when the template names none (F4).
pub const DEFAULT_EXPONENT: &[u8] = &[0x01, 0x00, 0x01];
/// Exponents above this are outside the `rsa` crate's ordinary bounds and take its hazmat
/// constructors (an attacker-chosen huge exponent makes public operations slow, nothing worse).
const CRATE_MAX_EXPONENT: u64 = (1 << 33) - 1;

// ---- randomness ----

/// Our [`Rng`] as the `rand_core` 0.10 generator the RustCrypto crates take.
///
/// It never reports an error to the crate: some crates unwrap RNG errors (a panic) or retry
/// forever. Instead, after the first failure it keeps serving a fixed ChaCha20 stream so
/// the computation ends, and [`with_rng`] throws the result away and returns the RNG's error.
pub(crate) struct RngBridge<'a> {
    rng: &'a mut dyn Rng,
    failure: Option<Error>,
    fallback: Option<ChaCha20Rng>,
}

impl<'a> RngBridge<'a> {
    /// Wrap the token's generator.
    pub(crate) fn new(rng: &'a mut dyn Rng) -> Self {
        Self { rng, failure: None, fallback: None }
    }
}

impl core::fmt::Debug for RngBridge<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("RngBridge")
    }
}

impl TryRng for RngBridge<'_> {
    type Error = Infallible;

    fn try_next_u32(&mut self) -> core::result::Result<u32, Infallible> {
        let mut b = [0u8; 4];
        self.try_fill_bytes(&mut b)?;
        Ok(u32::from_le_bytes(b))
    }

    fn try_next_u64(&mut self) -> core::result::Result<u64, Infallible> {
        let mut b = [0u8; 8];
        self.try_fill_bytes(&mut b)?;
        Ok(u64::from_le_bytes(b))
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> core::result::Result<(), Infallible> {
        if self.failure.is_none() {
            match self.rng.fill(dst) {
                Ok(()) => return Ok(()),
                Err(e) => self.failure = Some(e),
            }
        }
        let fallback = self.fallback.get_or_insert_with(|| ChaCha20Rng::from_seed([0; 32]));
        rand_core::Rng::fill_bytes(fallback, dst);
        Ok(())
    }
}

impl TryCryptoRng for RngBridge<'_> {}

/// Run `f` with the bridge and return its result only if the RNG never failed.
pub(crate) fn with_rng<T>(rng: &mut dyn Rng, f: impl FnOnce(&mut RngBridge<'_>) -> Result<T>) -> Result<T> {
    let mut bridge = RngBridge::new(rng);
    let out = f(&mut bridge);
    match bridge.failure.take() {
        Some(e) => Err(e),
        None => out,
    }
}

// ---- integers ----

/// A big-endian integer without its leading zero bytes (PKCS #11 "big integer" form).
pub fn strip_zeros(bytes: &[u8]) -> &[u8] {
    let first = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    &bytes[first..]
}

/// Bit length of a big-endian integer.
pub fn bit_len(bytes: &[u8]) -> usize {
    let s = strip_zeros(bytes);
    match s.first() {
        Some(&top) => s.len() * 8 - top.leading_zeros() as usize,
        None => 0,
    }
}

fn uint(bytes: &[u8]) -> BoxedUint {
    BoxedUint::from_be_slice_vartime(strip_zeros(bytes))
}

/// The minimal big-endian form of `x`, in a zeroizing buffer.
fn be(x: &BoxedUint) -> Zeroizing<Vec<u8>> {
    let full = Zeroizing::new(x.to_be_bytes());
    Zeroizing::new(strip_zeros(&full).to_vec())
}

fn secret(x: &BoxedUint) -> SecretBytes {
    SecretBytes::from_slice(&be(x))
}

/// `x` as exactly `k` big-endian bytes (it must fit).
fn be_len(x: &BoxedUint, k: usize) -> Result<Vec<u8>> {
    let full = Zeroizing::new(x.to_be_bytes());
    let s = strip_zeros(&full);
    if s.len() > k {
        return Err(Error::GeneralError);
    }
    let mut out = alloc::vec![0u8; k];
    out[k - s.len()..].copy_from_slice(s);
    Ok(out)
}

// ---- keys ----

/// An RSA public key (n, e), checked.
#[derive(Clone, Debug)]
pub struct PublicKey(rsa::PublicKey);

/// An RSA private key with its CRT values, checked.
#[derive(Clone)]
pub struct PrivateKey(rsa::PrivateKey);

impl core::fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("rsa::PrivateKey")
    }
}

/// A private key's components as PKCS #11 attributes hold them: big-endian, no leading zeros.
#[derive(Clone)]
pub struct PrivateParts {
    /// `CKA_MODULUS`.
    pub n: Vec<u8>,
    /// `CKA_PUBLIC_EXPONENT`.
    pub e: Vec<u8>,
    /// `CKA_PRIVATE_EXPONENT`.
    pub d: SecretBytes,
    /// `CKA_PRIME_1`.
    pub p: SecretBytes,
    /// `CKA_PRIME_2`.
    pub q: SecretBytes,
    /// `CKA_EXPONENT_1` = d mod (p-1).
    pub dp: SecretBytes,
    /// `CKA_EXPONENT_2` = d mod (q-1).
    pub dq: SecretBytes,
    /// `CKA_COEFFICIENT` = q⁻¹ mod p.
    pub qinv: SecretBytes,
}

impl core::fmt::Debug for PrivateParts {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("PrivateParts").field("bits", &bit_len(&self.n)).finish_non_exhaustive()
    }
}

/// The CRT components an application may give with a private key.
#[derive(Clone, Copy, Debug, Default)]
pub struct CrtInput<'a> {
    /// `CKA_PRIME_1`.
    pub p: Option<&'a [u8]>,
    /// `CKA_PRIME_2`.
    pub q: Option<&'a [u8]>,
    /// `CKA_EXPONENT_1`.
    pub dp: Option<&'a [u8]>,
    /// `CKA_EXPONENT_2`.
    pub dq: Option<&'a [u8]>,
    /// `CKA_COEFFICIENT`.
    pub qinv: Option<&'a [u8]>,
}

fn check_size(n_bits: usize) -> Result<()> {
    if (MIN_BITS..=MAX_BITS).contains(&n_bits) { Ok(()) } else { Err(Error::KeySizeRange) }
}

fn exponent_is_large(e: &[u8]) -> bool {
    let e = strip_zeros(e);
    e.len() > 8 || e.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b)) > CRATE_MAX_EXPONENT
}

/// A public key from `CKA_MODULUS` and `CKA_PUBLIC_EXPONENT`.
///
/// # Errors
/// - `Error::KeySizeRange` for a modulus outside 1024–8192 bits.
/// - `Error::AttributeValueInvalid` for an even modulus, an even exponent, or one below 3
///   or not below n.
pub fn public_key(n: &[u8], e: &[u8]) -> Result<PublicKey> {
    check_size(bit_len(n))?;
    let (n, e) = (uint(n), uint(e));
    if e < BoxedUint::from(3u64) {
        return Err(Error::AttributeValueInvalid);
    }
    if exponent_is_large(&e.to_be_bytes()) {
        // The crate's checked constructor stops at 2^33 - 1; do its other checks here.
        if bool::from(n.is_even()) || bool::from(e.is_even()) || e >= n {
            return Err(Error::AttributeValueInvalid);
        }
        return Ok(PublicKey(rsa::PublicKey::new_unchecked(n, e)));
    }
    rsa::PublicKey::new(n, e).map(PublicKey).map_err(|_| Error::AttributeValueInvalid)
}

impl PublicKey {
    /// The modulus length in bytes (`k`), also the length of every signature and ciphertext.
    pub fn size(&self) -> usize {
        self.0.size()
    }

    /// The modulus length in bits.
    pub fn bits(&self) -> usize {
        self.0.n().bit_width_vartime() as usize
    }

    /// `CKA_MODULUS`.
    pub fn modulus(&self) -> Vec<u8> {
        be(self.0.n().as_ref()).to_vec()
    }

    /// `CKA_PUBLIC_EXPONENT`.
    pub fn exponent(&self) -> Vec<u8> {
        be(self.0.e()).to_vec()
    }

    /// `CKA_PUBLIC_KEY_INFO`: the DER `SubjectPublicKeyInfo` (rsaEncryption, RFC 8017 A.1).
    ///
    /// # Errors
    /// `Error::GeneralError` if the encoder fails (it cannot for a checked key).
    pub fn public_key_info(&self) -> Result<Vec<u8>> {
        self.0.to_public_key_der().map(|d| d.as_bytes().to_vec()).map_err(|_| Error::GeneralError)
    }
}

fn build_private(
    n: BoxedUint,
    e: BoxedUint,
    d: BoxedUint,
    primes: Vec<BoxedUint>,
) -> Result<rsa::PrivateKey> {
    let large = exponent_is_large(&e.to_be_bytes());
    let key = if large {
        rsa::PrivateKey::from_components_with_large_exponent(n, e, d, primes)
    } else {
        rsa::PrivateKey::from_components(n, e, d, primes)
    };
    key.map_err(|_| Error::AttributeValueInvalid)
}

/// Check a private key's components and compute the missing CRT values.
///
/// With `p` and `q` the key must satisfy p·q = n and d·e ≡ 1 (mod p-1, q-1); without them
/// (n, e, d only) the factors are recovered from d (NIST SP 800-56B C.2), which works for
/// exponents from 2^16 up. Given CRT exponents and coefficient must equal the computed ones.
///
/// # Errors
/// - `Error::KeySizeRange` for a modulus outside 1024–8192 bits.
/// - `Error::TemplateIncomplete` for one prime without the other.
/// - `Error::AttributeValueInvalid` for components that do not form a key.
pub fn complete_private(n: &[u8], e: &[u8], d: &[u8], crt: CrtInput<'_>) -> Result<PrivateParts> {
    check_size(bit_len(n))?;
    let primes = match (crt.p, crt.q) {
        (Some(p), Some(q)) => alloc::vec![uint(p), uint(q)],
        (None, None) if crt.dp.is_none() && crt.dq.is_none() && crt.qinv.is_none() => Vec::new(),
        _ => return Err(Error::TemplateIncomplete),
    };
    let n_int = uint(n);
    let d_int = BoxedUint::from_be_slice(strip_zeros(d), n_int.bits_precision())
        .map_err(|_| Error::AttributeValueInvalid)?;
    let key = PrivateKey(build_private(n_int, uint(e), d_int, primes)?);
    let parts = key.parts()?;
    let matches = |given: Option<&[u8]>, computed: &SecretBytes| {
        given.is_none_or(|g| crate::secret::ct_eq(strip_zeros(g), computed.expose()))
    };
    if !(matches(crt.dp, &parts.dp) && matches(crt.dq, &parts.dq) && matches(crt.qinv, &parts.qinv)) {
        return Err(Error::AttributeValueInvalid);
    }
    Ok(parts)
}

/// The private key of complete, already checked components (as `complete_private` returns
/// and key objects store).
///
/// # Errors
/// `Error::KeyTypeInconsistent` if the components do not form a key.
pub fn private_key(parts: &PrivateParts) -> Result<PrivateKey> {
    let n = uint(&parts.n);
    let prec = n.bits_precision();
    let d = BoxedUint::from_be_slice(parts.d.expose(), prec).map_err(|_| Error::KeyTypeInconsistent)?;
    let p = BoxedUint::from_be_slice(parts.p.expose(), prec).map_err(|_| Error::KeyTypeInconsistent)?;
    let q = BoxedUint::from_be_slice(parts.q.expose(), prec).map_err(|_| Error::KeyTypeInconsistent)?;
    build_private(n, uint(&parts.e), d, alloc::vec![p, q])
        .map(PrivateKey)
        .map_err(|_| Error::KeyTypeInconsistent)
}

impl PrivateKey {
    /// The public half.
    pub fn public(&self) -> PublicKey {
        PublicKey(self.0.to_public_key())
    }

    /// The modulus length in bytes.
    pub fn size(&self) -> usize {
        self.0.size()
    }

    /// Every component, CRT values included.
    ///
    /// # Errors
    /// `Error::GeneralError` if the key has no CRT values (keys built here always have them).
    pub fn parts(&self) -> Result<PrivateParts> {
        let k = &self.0;
        let [p, q] = k.primes() else {
            return Err(Error::GeneralError);
        };
        let (dp, dq) = match (k.dp(), k.dq()) {
            (Some(dp), Some(dq)) => (secret(dp), secret(dq)),
            _ => return Err(Error::GeneralError),
        };
        let qinv = k.crt_coefficient().ok_or(Error::GeneralError)?;
        Ok(PrivateParts {
            n: be(k.n().as_ref()).to_vec(),
            e: be(k.e()).to_vec(),
            d: secret(k.d()),
            p: secret(p.as_ref()),
            q: secret(q.as_ref()),
            dp,
            dq,
            qinv: secret(&qinv),
        })
    }

    /// A PKCS #8 `PrivateKeyInfo` holding a PKCS #1 `RSAPrivateKey`, for `C_WrapKey`.
    ///
    /// # Errors
    /// `Error::KeyNotWrappable` if the encoder fails (exponents above 2^33 cannot be encoded
    /// by the crate's PKCS #1 encoder's checks on the way back, so they are refused here too).
    pub fn to_pkcs8(&self) -> Result<SecretBytes> {
        let doc = self.0.to_pkcs8_der().map_err(|_| Error::KeyNotWrappable)?;
        Ok(SecretBytes::from_slice(doc.as_bytes()))
    }
}

/// A private key's components from a PKCS #8 `PrivateKeyInfo` (rsaEncryption), for `C_UnwrapKey`.
///
/// # Errors
/// `Error::WrappedKeyInvalid` when `der` is not a valid two-prime RSA key of 1024–8192 bits.
pub fn from_pkcs8(der: &[u8]) -> Result<PrivateParts> {
    let key = rsa::PrivateKey::from_pkcs8_der(der).map_err(|_| Error::WrappedKeyInvalid)?;
    let key = PrivateKey(key);
    check_size(key.public().bits()).map_err(|_| Error::WrappedKeyInvalid)?;
    key.parts().map_err(|_| Error::WrappedKeyInvalid)
}

/// Generate a key pair of `bits` (1024–8192) with public exponent `e` (odd, at least 3).
///
/// # Errors
/// - `Error::KeySizeRange` for a size outside 1024–8192.
/// - `Error::TemplateInconsistent` for an even exponent, or one below 3.
/// - The RNG's error.
pub fn generate(bits: usize, e: &[u8], rng: &mut dyn Rng) -> Result<PrivateParts> {
    check_size(bits)?;
    let e_int = uint(e);
    if bool::from(e_int.is_even()) || e_int < BoxedUint::from(3u64) || bit_len(e) >= bits {
        return Err(Error::TemplateInconsistent);
    }
    with_rng(rng, |r| {
        let key = if exponent_is_large(e) {
            generate_large_exponent(r, bits, e_int)?
        } else {
            rsa::PrivateKey::new_with_exp(r, bits, e_int).map_err(|_| Error::FunctionFailed)?
        };
        PrivateKey(key).parts()
    })
}

/// Key generation for exponents the crate's generator refuses (above 2^33 - 1): two primes
/// of half the size whose product has exactly `bits` bits, d = e⁻¹ mod φ(n).
fn generate_large_exponent(rng: &mut RngBridge<'_>, bits: usize, e: BoxedUint) -> Result<rsa::PrivateKey> {
    let bits_u32 = u32::try_from(bits).map_err(|_| Error::KeySizeRange)?;
    let (p_bits, q_bits) = (bits_u32.div_ceil(2), bits_u32 / 2);
    loop {
        let p: BoxedUint = crypto_primes::random_prime(rng, crypto_primes::Flavor::Any, p_bits);
        let q: BoxedUint = crypto_primes::random_prime(rng, crypto_primes::Flavor::Any, q_bits);
        if p == q.clone().resize(p.bits_precision()) {
            continue;
        }
        let prec = bits_u32.next_multiple_of(64);
        let (p, q) = (p.resize(prec), q.resize(prec));
        let n = p.wrapping_mul(&q);
        if n.bit_width_vartime() != bits_u32 {
            continue;
        }
        let one = BoxedUint::one_with_precision(prec);
        let phi = p.wrapping_sub(&one).wrapping_mul(q.wrapping_sub(&one));
        let Some(phi) = NonZero::new(phi).into_option() else { continue };
        let Some(d) = e.clone().resize(prec).invert_mod(&phi).into_option() else { continue };
        if Odd::new(n.clone()).is_none().into() {
            continue;
        }
        match rsa::PrivateKey::from_components_with_large_exponent(n, e.clone(), d, alloc::vec![p, q]) {
            Ok(k) => return Ok(k),
            Err(_) => continue,
        }
    }
}

// ---- signatures ----

/// The DER `DigestInfo` prefix of RFC 8017 §9.2 note 1 (and the SHA-3 OIDs of FIPS 202),
/// followed by `hash`: the `T` that RSASSA-PKCS1-v1_5 pads.
///
/// # Errors
/// `Error::MechanismInvalid` for a hash without an assigned prefix (SHA-512/224, SHA-512/256).
pub fn digest_info(alg: DigestAlg, hash: &[u8]) -> Result<Vec<u8>> {
    let nist_arc = |last: u8, len: u8| -> Vec<u8> {
        alloc::vec![
            0x30,
            0x11 + len,
            0x30,
            0x0d,
            0x06,
            0x09,
            0x60,
            0x86,
            0x48,
            0x01,
            0x65,
            0x03,
            0x04,
            0x02,
            last,
            0x05,
            0x00,
            0x04,
            len,
        ]
    };
    let mut t = match alg {
        DigestAlg::Sha1 => {
            alloc::vec![
                0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a, 0x05, 0x00, 0x04, 0x14
            ]
        }
        DigestAlg::Sha256 => nist_arc(1, 32),
        DigestAlg::Sha384 => nist_arc(2, 48),
        DigestAlg::Sha512 => nist_arc(3, 64),
        DigestAlg::Sha224 => nist_arc(4, 28),
        DigestAlg::Sha3_224 => nist_arc(7, 28),
        DigestAlg::Sha3_256 => nist_arc(8, 32),
        DigestAlg::Sha3_384 => nist_arc(9, 48),
        DigestAlg::Sha3_512 => nist_arc(10, 64),
        DigestAlg::Sha512_224 | DigestAlg::Sha512_256 => return Err(Error::MechanismInvalid),
    };
    t.extend_from_slice(hash);
    Ok(t)
}

/// RSASSA-PKCS1-v1_5 over an already encoded `T` (a `DigestInfo`, or any data for `CKM_RSA_PKCS`).
///
/// # Errors
/// `Error::DataLenRange` when `T` is longer than k - 11; the RNG's error.
pub fn sign_pkcs1v15(key: &PrivateKey, t: &[u8], rng: &mut dyn Rng) -> Result<Vec<u8>> {
    if t.len() + 11 > key.size() {
        return Err(Error::DataLenRange);
    }
    with_rng(rng, |r| {
        key.0.sign_with_rng(r, Pkcs1v15Sign::new_unprefixed(), t).map_err(|_| Error::FunctionFailed)
    })
}

/// Check an RSASSA-PKCS1-v1_5 signature over `T`.
///
/// # Errors
/// `Error::SignatureLenRange` (not k bytes), `Error::SignatureInvalid`, `Error::DataLenRange`.
pub fn verify_pkcs1v15(key: &PublicKey, t: &[u8], signature: &[u8]) -> Result<()> {
    if signature.len() != key.size() {
        return Err(Error::SignatureLenRange);
    }
    if t.len() + 11 > key.size() {
        return Err(Error::DataLenRange);
    }
    key.0.verify(Pkcs1v15Sign::new_unprefixed(), t, signature).map_err(|_| Error::SignatureInvalid)
}

/// `C_VerifyRecover` with `CKM_RSA_PKCS`: the `T` a type-1 padded signature carries.
///
/// # Errors
/// `Error::SignatureLenRange`, `Error::SignatureInvalid` (not a signature block).
pub fn recover_pkcs1v15(key: &PublicKey, signature: &[u8]) -> Result<Vec<u8>> {
    if signature.len() != key.size() {
        return Err(Error::SignatureLenRange);
    }
    let em = raw_public(key, signature).map_err(|_| Error::SignatureInvalid)?;
    // EM = 00 || 01 || PS (at least 8 bytes of FF) || 00 || T. Public data: no secrets here.
    let sep = em.iter().skip(2).position(|&b| b != 0xff).map(|i| i + 2);
    match (em.first(), em.get(1), sep) {
        (Some(0), Some(1), Some(i)) if i >= 10 && em[i] == 0 => Ok(em[i + 1..].to_vec()),
        _ => Err(Error::SignatureInvalid),
    }
}

/// Run `$body` with `$d` bound to the `sha1`/`sha2`/`sha3` type of `$alg` (SHA-1, SHA-2 and
/// SHA-3 without the SHA-512/t variants, which PKCS #11 has no MGF for).
macro_rules! with_digest {
    ($alg:expr, $d:ident => $body:expr) => {
        match $alg {
            DigestAlg::Sha1 => {
                type $d = sha1::Sha1;
                $body
            }
            DigestAlg::Sha224 => {
                type $d = sha2::Sha224;
                $body
            }
            DigestAlg::Sha256 => {
                type $d = sha2::Sha256;
                $body
            }
            DigestAlg::Sha384 => {
                type $d = sha2::Sha384;
                $body
            }
            DigestAlg::Sha512 => {
                type $d = sha2::Sha512;
                $body
            }
            DigestAlg::Sha3_224 => {
                type $d = sha3::Sha3_224;
                $body
            }
            DigestAlg::Sha3_256 => {
                type $d = sha3::Sha3_256;
                $body
            }
            DigestAlg::Sha3_384 => {
                type $d = sha3::Sha3_384;
                $body
            }
            DigestAlg::Sha3_512 => {
                type $d = sha3::Sha3_512;
                $body
            }
            DigestAlg::Sha512_224 | DigestAlg::Sha512_256 => Err(Error::MechanismParamInvalid),
        }
    };
}

/// The largest PSS salt a key of this size takes with this hash (RFC 8017 §9.1.1 step 3).
pub fn max_pss_salt(key_bits: usize, alg: DigestAlg) -> usize {
    let em_len = (key_bits - 1).div_ceil(8);
    em_len.saturating_sub(alg.output_len() + 2)
}

/// RSASSA-PSS over `hash` (computed with `alg`), MGF1 with the same hash, `salt_len` bytes of salt.
///
/// # Errors
/// `Error::DataLenRange` (hash of the wrong length), `Error::MechanismParamInvalid` (salt too
/// long for the key), the RNG's error.
pub fn sign_pss(
    key: &PrivateKey,
    alg: DigestAlg,
    hash: &[u8],
    salt_len: usize,
    rng: &mut dyn Rng,
) -> Result<Vec<u8>> {
    if hash.len() != alg.output_len() {
        return Err(Error::DataLenRange);
    }
    if salt_len > max_pss_salt(key.public().bits(), alg) {
        return Err(Error::MechanismParamInvalid);
    }
    with_rng(rng, |r| {
        with_digest!(alg, D => {
            let pss = Pss::<D> { blinded: true, digest: <D as sha2::Digest>::new(), salt_len: Some(salt_len) };
            key.0.sign_with_rng(r, pss, hash).map_err(|_| Error::FunctionFailed)
        })
    })
}

/// Check an RSASSA-PSS signature with exactly `salt_len` bytes of salt.
///
/// # Errors
/// `Error::SignatureLenRange`, `Error::SignatureInvalid`, `Error::DataLenRange`.
pub fn verify_pss(
    key: &PublicKey,
    alg: DigestAlg,
    hash: &[u8],
    salt_len: usize,
    signature: &[u8],
) -> Result<()> {
    if signature.len() != key.size() {
        return Err(Error::SignatureLenRange);
    }
    if hash.len() != alg.output_len() {
        return Err(Error::DataLenRange);
    }
    with_digest!(alg, D => {
        let pss = Pss::<D> { blinded: true, digest: <D as sha2::Digest>::new(), salt_len: Some(salt_len) };
        key.0.verify(pss, hash, signature).map_err(|_| Error::SignatureInvalid)
    })
}

// ---- encryption ----

/// RSAES-PKCS1-v1_5 encryption.
///
/// # Errors
/// `Error::DataLenRange` when the message is longer than k - 11; the RNG's error.
pub fn encrypt_pkcs1v15(key: &PublicKey, msg: &[u8], rng: &mut dyn Rng) -> Result<Vec<u8>> {
    if msg.len() + 11 > key.size() {
        return Err(Error::DataLenRange);
    }
    with_rng(rng, |r| key.0.encrypt(r, Pkcs1v15Encrypt, msg).map_err(|_| Error::DataLenRange))
}

/// RSAES-PKCS1-v1_5 decryption with implicit rejection: a well-formed ciphertext whose padding
/// is wrong yields a synthetic message, never an error.
///
/// # Errors
/// `Error::EncryptedDataLenRange` (not k bytes), `Error::EncryptedDataInvalid` (not below n),
/// the RNG's error.
pub fn decrypt_pkcs1v15(key: &PrivateKey, ciphertext: &[u8], rng: &mut dyn Rng) -> Result<SecretBytes> {
    if ciphertext.len() != key.size() {
        return Err(Error::EncryptedDataLenRange);
    }
    with_rng(rng, |r| {
        key.0
            .decrypt_blinded(r, Pkcs1v15Encrypt, ciphertext)
            .map(SecretBytes::new)
            .map_err(|_| Error::EncryptedDataInvalid)
    })
}

/// RSAES-OAEP parameters: the label hash, the MGF1 hash and the label.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OaepParams {
    /// `hashAlg`.
    pub hash: DigestAlg,
    /// The hash of `CKG_MGF1_*`.
    pub mgf: DigestAlg,
    /// `pSourceData` (empty without `CKZ_DATA_SPECIFIED`).
    pub label: Vec<u8>,
}

/// The longest message OAEP with this hash takes under a k-byte key.
pub fn max_oaep_message(k: usize, hash: DigestAlg) -> usize {
    k.saturating_sub(2 * hash.output_len() + 2)
}

/// Run `$body` with `$d` and `$m` bound to the SHA-1/SHA-2 types of OAEP's two hashes.
macro_rules! with_oaep_digests {
    ($p:expr, $d:ident, $m:ident => $body:expr) => {
        with_sha12!($p.hash, $d => with_sha12!($p.mgf, $m => $body))
    };
}

macro_rules! with_sha12 {
    ($alg:expr, $d:ident => $body:expr) => {
        match $alg {
            DigestAlg::Sha1 => {
                type $d = sha1::Sha1;
                $body
            }
            DigestAlg::Sha224 => {
                type $d = sha2::Sha224;
                $body
            }
            DigestAlg::Sha256 => {
                type $d = sha2::Sha256;
                $body
            }
            DigestAlg::Sha384 => {
                type $d = sha2::Sha384;
                $body
            }
            DigestAlg::Sha512 => {
                type $d = sha2::Sha512;
                $body
            }
            _ => Err(Error::MechanismParamInvalid),
        }
    };
}

fn oaep<D: sha2::Digest, M: sha2::Digest>(label: &[u8]) -> Oaep<D, M> {
    Oaep { digest: D::new(), mgf_digest: M::new(), label: Some(Box::from(label)) }
}

/// RSAES-OAEP encryption (SHA-1 or SHA-2 for the label hash and for MGF1).
///
/// # Errors
/// `Error::DataLenRange` (message too long), `Error::MechanismParamInvalid` (a hash OAEP
/// does not take here), the RNG's error.
pub fn encrypt_oaep(key: &PublicKey, params: &OaepParams, msg: &[u8], rng: &mut dyn Rng) -> Result<Vec<u8>> {
    if msg.len() > max_oaep_message(key.size(), params.hash) || key.size() < 2 * params.hash.output_len() + 2
    {
        return Err(Error::DataLenRange);
    }
    with_rng(rng, |r| {
        with_oaep_digests!(params, D, M => {
            key.0.encrypt(r, oaep::<D, M>(&params.label), msg).map_err(|_| Error::DataLenRange)
        })
    })
}

/// RSAES-OAEP decryption: one error for every way a ciphertext can be wrong.
///
/// # Errors
/// `Error::EncryptedDataLenRange` (not k bytes), `Error::EncryptedDataInvalid` (anything
/// else), `Error::MechanismParamInvalid`, the RNG's error.
pub fn decrypt_oaep(
    key: &PrivateKey,
    params: &OaepParams,
    ciphertext: &[u8],
    rng: &mut dyn Rng,
) -> Result<SecretBytes> {
    if ciphertext.len() != key.size() {
        return Err(Error::EncryptedDataLenRange);
    }
    with_rng(rng, |r| {
        with_oaep_digests!(params, D, M => {
            key.0
                .decrypt_blinded(r, oaep::<D, M>(&params.label), ciphertext)
                .map(SecretBytes::new)
                .map_err(|_| Error::EncryptedDataInvalid)
        })
    })
}

// ---- raw (CKM_RSA_X_509) ----

/// The integer of `input` (at most k bytes, below n), at the modulus' precision.
fn representative(n: &NonZero<BoxedUint>, k: usize, input: &[u8]) -> Result<BoxedUint> {
    if input.len() > k {
        return Err(Error::DataLenRange);
    }
    let x = BoxedUint::from_be_slice(input, n.bits_precision()).map_err(|_| Error::DataLenRange)?;
    if x >= *n.as_ref() { Err(Error::DataInvalid) } else { Ok(x) }
}

/// The raw public operation x^e mod n, output k bytes (encryption and verification of
/// `CKM_RSA_X_509`). The input is a big-endian integer of at most k bytes.
///
/// # Errors
/// `Error::DataLenRange` (longer than k), `Error::DataInvalid` (not below n).
pub fn raw_public(key: &PublicKey, input: &[u8]) -> Result<Vec<u8>> {
    let x = representative(key.0.n(), key.size(), input)?;
    let y = rsa::hazmat::rsa_encrypt(&key.0, &x).map_err(|_| Error::GeneralError)?;
    be_len(&y, key.size())
}

/// The raw private operation x^d mod n, blinded and checked, output k bytes (decryption and
/// signature of `CKM_RSA_X_509`).
///
/// # Errors
/// `Error::DataLenRange` (longer than k), `Error::DataInvalid` (not below n), the RNG's error.
pub fn raw_private(key: &PrivateKey, input: &[u8], rng: &mut dyn Rng) -> Result<SecretBytes> {
    let x = Zeroizing::new(representative(key.0.n(), key.size(), input)?);
    with_rng(rng, |r| {
        let y = rsa::hazmat::rsa_decrypt_and_check(&key.0, Some(r), &x).map_err(|_| Error::FunctionFailed)?;
        let y = Zeroizing::new(y);
        be_len(&y, key.size()).map(SecretBytes::new)
    })
}

#[cfg(test)]
pub(crate) mod tests;
