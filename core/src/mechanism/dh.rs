//! Finite-field Diffie-Hellman (PKCS #3) for `CKK_DH` keys: domain parameters (safe primes,
//! or any group such as the RFC 7919 `ffdhe*` ones), key pairs, the shared secret, and the
//! `SubjectPublicKeyInfo` (dhKeyAgreement). Built on `crypto-bigint` and `crypto-primes`
//! (there is no maintained RustCrypto DH crate); exponentiations with the private value are
//! constant-time Montgomery ladders of `crypto-bigint`.

use alloc::vec::Vec;

use crypto_bigint::modular::{BoxedMontyForm, BoxedMontyParams};
use crypto_bigint::{BoxedUint, Odd, RandomBits, Resize};
use zeroize::Zeroizing;

use crate::mechanism::rsa::{bit_len, strip_zeros, with_rng};
use crate::rng::Rng;
use crate::secret::SecretBytes;
use crate::{Error, Result};

/// Smallest prime, in bits.
pub const MIN_BITS: usize = 1024;
/// Largest prime, in bits.
pub const MAX_BITS: usize = 8192;
/// The generator of generated parameters.
const GENERATOR: u64 = 2;

/// Domain parameters (p, g), checked: p odd of 1024–8192 bits, 1 < g < p - 1.
#[derive(Clone, Debug)]
pub struct Params {
    p: Odd<BoxedUint>,
    g: BoxedUint,
}

/// Domain parameters from `CKA_PRIME` and `CKA_BASE`.
///
/// # Errors
/// `Error::KeySizeRange` (size), `Error::DomainParamsInvalid` (an even p, g out of range).
pub fn params(p: &[u8], g: &[u8]) -> Result<Params> {
    let bits = bit_len(p);
    if !(MIN_BITS..=MAX_BITS).contains(&bits) {
        return Err(Error::KeySizeRange);
    }
    let p = BoxedUint::from_be_slice_vartime(strip_zeros(p));
    let p = Odd::new(p).into_option().ok_or(Error::DomainParamsInvalid)?;
    let g = BoxedUint::from_be_slice(strip_zeros(g), p.bits_precision())
        .map_err(|_| Error::DomainParamsInvalid)?;
    let p_minus_1 = p.as_ref().wrapping_sub(BoxedUint::one());
    if g <= BoxedUint::one() || g >= p_minus_1 {
        return Err(Error::DomainParamsInvalid);
    }
    Ok(Params { p, g })
}

/// New parameters: a random safe prime p of `bits` bits (p = 2q + 1, q prime) and g = 2.
/// Safe-prime search is slow (seconds at 2048 bits, minutes beyond); the named groups of
/// RFC 7919 are the better choice and need no generation.
///
/// # Errors
/// `Error::KeySizeRange`; the RNG's error.
pub fn generate_params(bits: usize, rng: &mut dyn Rng) -> Result<Params> {
    if !(MIN_BITS..=MAX_BITS).contains(&bits) {
        return Err(Error::KeySizeRange);
    }
    let bits = u32::try_from(bits).map_err(|_| Error::KeySizeRange)?;
    with_rng(rng, |r| {
        let p: BoxedUint = crypto_primes::random_prime(r, crypto_primes::Flavor::Safe, bits);
        let p = Odd::new(p).into_option().ok_or(Error::FunctionFailed)?;
        let g = BoxedUint::from(GENERATOR).resize(p.bits_precision());
        Ok(Params { p, g })
    })
}

impl Params {
    /// `CKA_PRIME`.
    pub fn prime(&self) -> Vec<u8> {
        strip_zeros(&self.p.to_be_bytes()).to_vec()
    }

    /// `CKA_BASE`.
    pub fn base(&self) -> Vec<u8> {
        strip_zeros(&self.g.to_be_bytes()).to_vec()
    }

    /// `CKA_PRIME_BITS`.
    pub fn prime_bits(&self) -> usize {
        self.p.bit_width_vartime() as usize
    }

    /// Length of p in bytes: the length of public values and of the shared secret.
    pub fn byte_len(&self) -> usize {
        self.prime_bits().div_ceil(8)
    }

    fn pow(&self, base: &BoxedUint, exp: &BoxedUint) -> BoxedUint {
        let monty = BoxedMontyParams::new_vartime(self.p.clone());
        BoxedMontyForm::new(base.clone(), &monty).pow(exp).retrieve()
    }

    /// The integer of a public value, checked to be in (1, p - 1).
    fn public_value(&self, y: &[u8]) -> Option<BoxedUint> {
        let y = BoxedUint::from_be_slice(strip_zeros(y), self.p.bits_precision()).ok()?;
        let p_minus_1 = self.p.as_ref().wrapping_sub(BoxedUint::one());
        (y > BoxedUint::one() && y < p_minus_1).then_some(y)
    }

    /// The private value as an integer, checked to be in [1, p - 1).
    fn private_value(&self, x: &[u8]) -> Option<Zeroizing<BoxedUint>> {
        let x = Zeroizing::new(BoxedUint::from_be_slice(strip_zeros(x), self.p.bits_precision()).ok()?);
        let p_minus_1 = self.p.as_ref().wrapping_sub(BoxedUint::one());
        (!bool::from(x.is_zero()) && *x < p_minus_1).then_some(x)
    }
}

/// The public value g^x mod p of a private value.
///
/// # Errors
/// `Error::AttributeValueInvalid` when x is not in [1, p - 1).
pub fn public_from_private(params: &Params, x: &[u8]) -> Result<Vec<u8>> {
    let x = params.private_value(x).ok_or(Error::AttributeValueInvalid)?;
    Ok(strip_zeros(&params.pow(&params.g, &x).to_be_bytes()).to_vec())
}

/// Check a public value (`CKA_VALUE` of a public key): 1 < y < p - 1.
///
/// # Errors
/// `Error::AttributeValueInvalid`.
pub fn check_public(params: &Params, y: &[u8]) -> Result<()> {
    params.public_value(y).map(|_| ()).ok_or(Error::AttributeValueInvalid)
}

/// Generate a key pair (x, y). With `value_bits` (`CKA_VALUE_BITS`), x has exactly that many
/// bits; otherwise x is uniform in [2, p - 2].
///
/// # Errors
/// `Error::TemplateInconsistent` for a `value_bits` outside [2, bits(p) - 1]; the RNG's error.
pub fn generate(
    params: &Params,
    value_bits: Option<u64>,
    rng: &mut dyn Rng,
) -> Result<(SecretBytes, Vec<u8>)> {
    let p_bits = params.prime_bits() as u64;
    let bits = match value_bits {
        Some(b) if b < 2 || b >= p_bits => return Err(Error::TemplateInconsistent),
        Some(b) => u32::try_from(b).map_err(|_| Error::TemplateInconsistent)?,
        None => u32::try_from(p_bits).map_err(|_| Error::KeySizeRange)?,
    };
    let prec = params.p.bits_precision();
    let two = BoxedUint::from(2u64).resize(prec);
    let p_minus_1 = params.p.as_ref().wrapping_sub(BoxedUint::one());
    with_rng(rng, |r| {
        loop {
            let Ok(mut x) = BoxedUint::try_random_bits(r, bits) else {
                return Err(Error::FunctionFailed);
            };
            if value_bits.is_some() {
                crypto_bigint::BitOps::set_bit_vartime(&mut x, bits - 1, true);
            }
            let x = Zeroizing::new(x.resize(prec));
            if *x >= two && *x < p_minus_1 {
                let y = params.pow(&params.g, &x);
                let x_bytes = Zeroizing::new(x.to_be_bytes());
                return Ok((
                    SecretBytes::from_slice(strip_zeros(&x_bytes)),
                    strip_zeros(&y.to_be_bytes()).to_vec(),
                ));
            }
        }
    })
}

/// The shared secret y_other^x mod p, as many bytes as p (PKCS #3 §8.2).
///
/// # Errors
/// `Error::MechanismParamInvalid` unless 1 < y_other < p - 1; `Error::KeyTypeInconsistent`
/// for a broken private value.
pub fn shared_secret(params: &Params, x: &[u8], other: &[u8]) -> Result<SecretBytes> {
    let y = params.public_value(other).ok_or(Error::MechanismParamInvalid)?;
    let x = params.private_value(x).ok_or(Error::KeyTypeInconsistent)?;
    let z = Zeroizing::new(params.pow(&y, &x));
    let full = Zeroizing::new(z.to_be_bytes());
    let n = params.byte_len();
    Ok(SecretBytes::from_slice(&full[full.len() - n..]))
}

// ---- DER: the dhKeyAgreement SubjectPublicKeyInfo of PKCS #3 ----

/// Content octets of dhKeyAgreement, 1.2.840.113549.1.3.1.
const OID_DH_KEY_AGREEMENT: [u8; 9] = [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x03, 0x01];

fn push_len(out: &mut Vec<u8>, len: usize) {
    // DH values of at most 8192 bits keep every length below 2^16.
    let [hi, lo] = u16::try_from(len).unwrap_or(u16::MAX).to_be_bytes();
    match len {
        0..=0x7f => out.push(lo),
        0x80..=0xff => out.extend_from_slice(&[0x81, lo]),
        _ => out.extend_from_slice(&[0x82, hi, lo]),
    }
}

fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(content.len() + 4);
    out.push(tag);
    push_len(&mut out, content.len());
    out.extend_from_slice(content);
    out
}

fn integer(be: &[u8]) -> Vec<u8> {
    let s = strip_zeros(be);
    let mut c = Vec::with_capacity(s.len() + 1);
    if s.first().is_none_or(|&b| b & 0x80 != 0) {
        c.push(0);
    }
    c.extend_from_slice(s);
    tlv(0x02, &c)
}

/// `CKA_PUBLIC_KEY_INFO`: SEQUENCE { SEQUENCE { dhKeyAgreement, DHParameter { p, g } },
/// BIT STRING { INTEGER y } } — what OpenSSL and `cryptography` read as a DH public key.
pub fn public_key_info(params: &Params, y: &[u8]) -> Vec<u8> {
    let mut dh_params = integer(&params.prime());
    dh_params.extend(integer(&params.base()));
    let mut alg = tlv(0x06, &OID_DH_KEY_AGREEMENT);
    alg.extend(tlv(0x30, &dh_params));
    let mut bits = alloc::vec![0u8];
    bits.extend(integer(y));
    let mut spki = tlv(0x30, &alg);
    spki.extend(tlv(0x03, &bits));
    tlv(0x30, &spki)
}

#[cfg(test)]
pub(crate) mod tests;
