//! Elliptic curves for `CKK_EC` keys and `CKM_ECDSA`: curve parameters (`CKA_EC_PARAMS`), point
//! encodings (`CKA_EC_POINT`, `CKA_PUBLIC_KEY_INFO`), key generation and ECDSA over a
//! caller-supplied hash.
//!
//! Signing is deterministic (RFC 6979, with HMAC-DRBG over the curve's default hash, SHA-256
//! for P-256). ECDSA is equally secure with a random or a deterministic `k`; deterministic
//! signing needs no RNG at signing time, cannot be broken by a weak RNG, and keeps the
//! deterministic test token repeatable. For a SHA-256 hash the signatures equal RFC 6979's
//! published ones; for other hashes they are valid but differ from RFC 6979's tables, which use
//! the message hash for the DRBG too — `CKM_ECDSA` does not tell us which hash made the input.
//!
//! Supporting another curve means: a `Curve` variant, its constants in the `impl Curve`
//! matches, and one `curve_ops!` line naming its RustCrypto crate.

use alloc::vec::Vec;

use zeroize::Zeroizing;

use crate::rng::Rng;
use crate::secret::SecretBytes;
use crate::{Error, Result};

/// A named curve the token implements.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Curve {
    /// NIST P-256, a.k.a. secp256r1 and prime256v1 (OID 1.2.840.10045.3.1.7).
    P256,
}

/// DER tag of OBJECT IDENTIFIER.
const TAG_OID: u8 = 0x06;
/// DER tag of OCTET STRING.
const TAG_OCTET_STRING: u8 = 0x04;
/// DER tag of BIT STRING.
const TAG_BIT_STRING: u8 = 0x03;
/// DER tag of PrintableString.
const TAG_PRINTABLE_STRING: u8 = 0x13;
/// DER tag of NULL (`implicitlyCA` in X9.62 `Parameters`).
const TAG_NULL: u8 = 0x05;
/// DER tag of SEQUENCE (explicit `ECParameters` in X9.62 `Parameters`, and SPKI).
const TAG_SEQUENCE: u8 = 0x30;

/// Content octets of id-ecPublicKey, 1.2.840.10045.2.1 (RFC 5480 §2.1.1).
const OID_EC_PUBLIC_KEY: [u8; 7] = [0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];

/// Candidate scalars drawn before key generation gives up. For P-256 a draw is rejected with
/// probability below 2^-32, so running out means the RNG is broken (e.g. constant output).
const KEYGEN_ATTEMPTS: usize = 64;

impl Curve {
    /// Every curve, for mechanism info (`ulMinKeySize`/`ulMaxKeySize`) and tests.
    pub const ALL: &'static [Curve] = &[Curve::P256];

    /// Length of a field element and of a private scalar, in bytes.
    pub fn field_bytes(self) -> usize {
        match self {
            Curve::P256 => 32,
        }
    }

    /// Size of the curve order in bits (the key size PKCS#11 reports for EC keys).
    pub fn bits(self) -> usize {
        match self {
            Curve::P256 => 256,
        }
    }

    /// The named-curve `CKA_EC_PARAMS` value: a DER OBJECT IDENTIFIER
    /// (`06 08 2A 86 48 CE 3D 03 01 07` for P-256).
    pub fn oid_der(self) -> Vec<u8> {
        let mut out = Vec::with_capacity(2 + self.oid_content().len());
        push_tlv(&mut out, TAG_OID, self.oid_content());
        out
    }

    /// Content octets of the curve's OID.
    fn oid_content(self) -> &'static [u8] {
        match self {
            Curve::P256 => &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07],
        }
    }

    /// Names some clients send as a PrintableString instead of the OID.
    fn names(self) -> &'static [&'static [u8]] {
        match self {
            Curve::P256 => &[b"prime256v1", b"secp256r1", b"P-256"],
        }
    }

    /// Length of an uncompressed point `04 || X || Y`.
    fn uncompressed_len(self) -> usize {
        1 + 2 * self.field_bytes()
    }
}

/// Parse `CKA_EC_PARAMS`: a DER named-curve OID, or a DER PrintableString naming the curve
/// (`"prime256v1"`, `"secp256r1"`, `"P-256"`).
///
/// # Errors
/// - `Error::CurveNotSupported` for a well-formed OID or name of a curve we do not implement,
///   and for explicit (`ECParameters`) or `implicitlyCA` parameters.
/// - `Error::DomainParamsInvalid` when `der` is not one DER value of those kinds.
pub fn parse_ec_params(der: &[u8]) -> Result<Curve> {
    let (tag, content, rest) = read_tlv(der).ok_or(Error::DomainParamsInvalid)?;
    if !rest.is_empty() {
        return Err(Error::DomainParamsInvalid);
    }
    match tag {
        TAG_OID => {
            if !is_valid_oid(content) {
                return Err(Error::DomainParamsInvalid);
            }
            Curve::ALL.iter().copied().find(|c| c.oid_content() == content).ok_or(Error::CurveNotSupported)
        }
        TAG_PRINTABLE_STRING => {
            Curve::ALL.iter().copied().find(|c| c.names().contains(&content)).ok_or(Error::CurveNotSupported)
        }
        TAG_SEQUENCE | TAG_NULL => Err(Error::CurveNotSupported),
        _ => Err(Error::DomainParamsInvalid),
    }
}

/// Generate a key pair: `(private scalar, big-endian, field_bytes long;
/// uncompressed public point 04 || X || Y)`.
///
/// The scalar is drawn from `rng` by rejection sampling, so a deterministic RNG yields a
/// deterministic key.
///
/// # Errors
/// - Whatever `rng.fill` returns.
/// - `Error::FunctionFailed` when the RNG produces no valid scalar in 64 attempts.
pub fn generate(curve: Curve, rng: &mut dyn Rng) -> Result<(SecretBytes, Vec<u8>)> {
    let len = curve.field_bytes();
    // Bits of the top byte above the order's bit length (0 for P-256; 7 for P-521).
    let excess_bits = len * 8 - curve.bits();
    let mut candidate = Zeroizing::new(alloc::vec![0u8; len]);
    for _ in 0..KEYGEN_ATTEMPTS {
        rng.fill(&mut candidate)?;
        candidate[0] &= 0xff >> excess_bits;
        if let Ok(point) = public_from_private(curve, &candidate) {
            return Ok((SecretBytes::from_slice(&candidate), point));
        }
    }
    Err(Error::FunctionFailed)
}

/// The uncompressed public point `04 || X || Y` of a private scalar.
///
/// # Errors
/// `Error::AttributeValueInvalid` when `scalar` is not exactly `field_bytes` long, or is 0 or
/// not below the group order.
pub fn public_from_private(curve: Curve, scalar: &[u8]) -> Result<Vec<u8>> {
    check_scalar_len(curve, scalar)?;
    match curve {
        Curve::P256 => p256_ops::public_from_private(scalar),
    }
}

/// Bring a private value as clients send it in `CKA_VALUE` (a big-endian integer, which some
/// tools strip of leading zero bytes or pad further) to the exact `field_bytes` form the rest
/// of this module takes.
///
/// # Errors
/// `Error::AttributeValueInvalid` when the integer is empty, 0, not below the group order, or
/// does not fit.
pub fn normalize_scalar(curve: Curve, value: &[u8]) -> Result<SecretBytes> {
    let len = curve.field_bytes();
    let first_nonzero = value.iter().position(|&b| b != 0).unwrap_or(value.len());
    let significant = &value[first_nonzero..];
    if significant.is_empty() || significant.len() > len {
        return Err(Error::AttributeValueInvalid);
    }
    let mut padded = Zeroizing::new(alloc::vec![0u8; len]);
    padded[len - significant.len()..].copy_from_slice(significant);
    public_from_private(curve, &padded)?;
    Ok(SecretBytes::from_slice(&padded))
}

/// `CKA_EC_POINT` as the spec defines it: a DER OCTET STRING wrapping the raw point.
pub fn encode_ec_point(raw_point: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw_point.len() + 4);
    push_tlv(&mut out, TAG_OCTET_STRING, raw_point);
    out
}

/// Decode a public point given either as the DER OCTET STRING of the spec or as the raw SEC 1
/// octets (clients differ), compressed (`02`/`03 || X`) or uncompressed (`04 || X || Y`).
/// Returns the uncompressed raw point after checking that it lies on the curve.
///
/// # Errors
/// `Error::AttributeValueInvalid` when neither reading gives a valid point of `curve` (this
/// includes the point at infinity and the hybrid `06`/`07` forms).
pub fn decode_ec_point(curve: Curve, bytes: &[u8]) -> Result<Vec<u8>> {
    // A raw point can look like the start of an OCTET STRING (both begin with 04), but never
    // parses as one whose content is itself a valid point, so trying DER first is unambiguous.
    if let Some((TAG_OCTET_STRING, content, [])) = read_tlv(bytes) {
        if let Ok(point) = decode_raw_point(curve, content) {
            return Ok(point);
        }
    }
    decode_raw_point(curve, bytes)
}

/// DER SubjectPublicKeyInfo (RFC 5480: id-ecPublicKey with the named curve) for
/// `CKA_PUBLIC_KEY_INFO`. `raw_point` should be the validated uncompressed point, as
/// [`decode_ec_point`] returns it; it is encoded as given.
pub fn public_key_info(curve: Curve, raw_point: &[u8]) -> Vec<u8> {
    let mut algorithm = Vec::with_capacity(32);
    push_tlv(&mut algorithm, TAG_OID, &OID_EC_PUBLIC_KEY);
    push_tlv(&mut algorithm, TAG_OID, curve.oid_content());

    let mut bits = Vec::with_capacity(raw_point.len() + 1);
    bits.push(0); // no unused bits
    bits.extend_from_slice(raw_point);

    let mut body = Vec::with_capacity(algorithm.len() + bits.len() + 8);
    push_tlv(&mut body, TAG_SEQUENCE, &algorithm);
    push_tlv(&mut body, TAG_BIT_STRING, &bits);

    let mut out = Vec::with_capacity(body.len() + 4);
    push_tlv(&mut out, TAG_SEQUENCE, &body);
    out
}

/// Length of a raw `r || s` signature: twice the field length.
pub fn signature_len(curve: Curve) -> usize {
    2 * curve.field_bytes()
}

/// `CKM_ECDSA`: sign a caller-supplied hash of any length (at least 1 byte). A hash shorter
/// than the order is taken as is (left-padded with zeros); a longer one contributes its
/// leftmost bits, as FIPS 186-5 §6.4.1 and the PKCS#11 spec say. Returns raw `r || s`,
/// `signature_len(curve)` bytes. Deterministic (RFC 6979); see the module documentation.
///
/// # Errors
/// - `Error::DataLenRange` when `hash` is empty.
/// - `Error::AttributeValueInvalid` when `scalar` is not a valid private key of `curve` (as
///   for [`public_from_private`]).
/// - `Error::FunctionFailed` if the signature primitive fails (not expected).
pub fn sign_prehash(curve: Curve, scalar: &[u8], hash: &[u8]) -> Result<Vec<u8>> {
    if hash.is_empty() {
        return Err(Error::DataLenRange);
    }
    check_scalar_len(curve, scalar)?;
    let z = bits_to_field(curve, hash);
    match curve {
        Curve::P256 => p256_ops::sign(scalar, &z),
    }
}

/// `CKM_ECDSA` verification of raw `r || s` over a caller-supplied hash (treated as in
/// [`sign_prehash`]). `raw_point` may be in any form [`decode_ec_point`] accepts.
///
/// # Errors
/// - `Error::SignatureLenRange` when `signature` is not `signature_len(curve)` bytes.
/// - `Error::DataLenRange` when `hash` is empty.
/// - `Error::AttributeValueInvalid` when `raw_point` is not a valid point of `curve`.
/// - `Error::SignatureInvalid` when the signature does not verify, including `r` or `s`
///   outside `1..n`.
pub fn verify_prehash(curve: Curve, raw_point: &[u8], hash: &[u8], signature: &[u8]) -> Result<()> {
    if signature.len() != signature_len(curve) {
        return Err(Error::SignatureLenRange);
    }
    if hash.is_empty() {
        return Err(Error::DataLenRange);
    }
    let point = decode_ec_point(curve, raw_point)?;
    let z = bits_to_field(curve, hash);
    match curve {
        Curve::P256 => p256_ops::verify(&point, &z, signature),
    }
}

/// Reject a private scalar of the wrong length before any curve code sees it.
fn check_scalar_len(curve: Curve, scalar: &[u8]) -> Result<()> {
    if scalar.len() == curve.field_bytes() { Ok(()) } else { Err(Error::AttributeValueInvalid) }
}

/// A raw SEC 1 point (`02`/`03`/`04` forms only) → the uncompressed point.
fn decode_raw_point(curve: Curve, bytes: &[u8]) -> Result<Vec<u8>> {
    let len_ok = match bytes.first() {
        Some(0x02 | 0x03) => bytes.len() == 1 + curve.field_bytes(),
        Some(0x04) => bytes.len() == curve.uncompressed_len(),
        _ => false,
    };
    if !len_ok {
        return Err(Error::AttributeValueInvalid);
    }
    match curve {
        Curve::P256 => p256_ops::decode_point(bytes),
    }
}

/// The hash as exactly `field_bytes` big-endian bytes holding the integer of its leftmost
/// `min(8 * hash.len(), bits)` bits (FIPS 186-5 §6.4.1 step 2; RFC 6979 `bits2int`). The curve
/// crates then reduce it modulo n; handing them exactly this length keeps their own padding
/// and truncation rules (and their panics on short input) out of the picture.
fn bits_to_field(curve: Curve, hash: &[u8]) -> Vec<u8> {
    let len = curve.field_bytes();
    let taken = &hash[..hash.len().min(len)];
    // Bits beyond the order's length in what was taken; always < 8, because `len` is the
    // order's length rounded up to whole bytes.
    let shift = (taken.len() * 8).saturating_sub(curve.bits());
    let mut out = alloc::vec![0u8; len];
    out[len - taken.len()..].copy_from_slice(taken);
    if shift > 0 {
        let mut carry = 0u8;
        for byte in out.iter_mut() {
            let next_carry = *byte << (8 - shift);
            *byte = (*byte >> shift) | carry;
            carry = next_carry;
        }
    }
    out
}

/// The operations that need curve arithmetic, written once for every RustCrypto curve crate
/// that follows the `p256` layout. Inputs have the right lengths already.
macro_rules! curve_ops {
    ($module:ident, $krate:ident) => {
        mod $module {
            use alloc::vec::Vec;

            use $krate::PublicKey;
            use $krate::ecdsa::signature::hazmat::{PrehashSigner, PrehashVerifier};
            use $krate::ecdsa::{Signature, SigningKey, VerifyingKey};
            use $krate::elliptic_curve::sec1::ToSec1Point;

            use crate::{Error, Result};

            /// A private scalar as a signing key (which zeroizes itself on drop).
            fn signing_key(scalar: &[u8]) -> Result<SigningKey> {
                SigningKey::from_slice(scalar).map_err(|_| Error::AttributeValueInvalid)
            }

            pub(super) fn public_from_private(scalar: &[u8]) -> Result<Vec<u8>> {
                let key = signing_key(scalar)?;
                Ok(key.verifying_key().to_sec1_point(false).as_bytes().to_vec())
            }

            pub(super) fn decode_point(sec1: &[u8]) -> Result<Vec<u8>> {
                let key = PublicKey::from_sec1_bytes(sec1).map_err(|_| Error::AttributeValueInvalid)?;
                Ok(key.to_sec1_point(false).as_bytes().to_vec())
            }

            pub(super) fn sign(scalar: &[u8], z: &[u8]) -> Result<Vec<u8>> {
                let key = signing_key(scalar)?;
                let signature: Signature = key.sign_prehash(z).map_err(|_| Error::FunctionFailed)?;
                Ok(signature.to_bytes().to_vec())
            }

            pub(super) fn verify(point: &[u8], z: &[u8], signature: &[u8]) -> Result<()> {
                let key = VerifyingKey::from_sec1_bytes(point).map_err(|_| Error::AttributeValueInvalid)?;
                let signature = Signature::from_slice(signature).map_err(|_| Error::SignatureInvalid)?;
                key.verify_prehash(z, &signature).map_err(|_| Error::SignatureInvalid)
            }
        }
    };
}

curve_ops!(p256_ops, p256);

/// Append a DER TLV (definite length, short or long form).
fn push_tlv(out: &mut Vec<u8>, tag: u8, content: &[u8]) {
    out.push(tag);
    let len = content.len();
    let bytes = len.to_be_bytes();
    let skip = bytes.iter().take_while(|&&b| b == 0).count();
    let significant = &bytes[skip..];
    // Both casts are of values below 0x80: `len` in the short form, the count of length
    // octets (at most `size_of::<usize>()`) in the long form.
    #[allow(clippy::cast_possible_truncation)]
    if len < 0x80 {
        out.push(len as u8);
    } else {
        out.push(0x80 | significant.len() as u8);
        out.extend_from_slice(significant);
    }
    out.extend_from_slice(content);
}

/// Read one DER TLV with a single-byte tag: `(tag, content, rest)`. `None` unless the length
/// is definite, minimal, at most two octets long and within the input.
fn read_tlv(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    if tag & 0x1f == 0x1f {
        return None; // high tag numbers never occur in what we parse
    }
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = match first {
        0..=0x7f => (usize::from(first), rest),
        0x81 => {
            let (&b, rest) = rest.split_first()?;
            if b < 0x80 {
                return None;
            }
            (usize::from(b), rest)
        }
        0x82 => {
            let (len_bytes, rest) = rest.split_at_checked(2)?;
            let len = usize::from(u16::from_be_bytes([len_bytes[0], len_bytes[1]]));
            if len < 0x100 {
                return None;
            }
            (len, rest)
        }
        _ => return None,
    };
    let (content, rest) = rest.split_at_checked(len)?;
    Some((tag, content, rest))
}

/// DER OBJECT IDENTIFIER content: non-empty, each arc minimally encoded and terminated.
fn is_valid_oid(content: &[u8]) -> bool {
    let Some(&last) = content.last() else {
        return false;
    };
    if last & 0x80 != 0 {
        return false;
    }
    // An arc may not start with 0x80 (a leading zero septet).
    let mut at_arc_start = true;
    for &b in content {
        if at_arc_start && b == 0x80 {
            return false;
        }
        at_arc_start = b & 0x80 == 0;
    }
    true
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]
mod tests {
    use alloc::vec;

    use super::*;
    use crate::mechanism::digest::{DigestAlg, digest};
    use crate::rng::DeterministicRng;

    fn h(s: &str) -> Vec<u8> {
        hex::decode(s).unwrap()
    }

    // RFC 6979 appendix A.2.5: ECDSA, 256 bits (prime field).
    const X: &str = "c9afa9d845ba75166b5c215767b1d6934e50c3db36e89b127b8a622b120f6721";
    const UX: &str = "60fed4ba255a9d31c961eb74c6356d68c049b8923b61fa6ce669622e60f29fb6";
    const UY: &str = "7903fe1008b8bc99a41ae9e95628bc64f2f1b20c2d7e9f5177a3c294d4462299";
    /// The order n of P-256.
    const N: &str = "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551";

    fn rfc_point() -> Vec<u8> {
        let mut p = vec![0x04];
        p.extend(h(UX));
        p.extend(h(UY));
        p
    }

    fn rs(r: &str, s: &str) -> Vec<u8> {
        let mut sig = h(r);
        sig.extend(h(s));
        sig
    }

    #[test]
    fn rfc6979_public_key() {
        assert_eq!(public_from_private(Curve::P256, &h(X)).unwrap(), rfc_point());
    }

    #[test]
    fn rfc6979_sha256_signatures() {
        let x = h(X);
        let cases = [
            (
                b"sample".as_slice(),
                "efd48b2aacb6a8fd1140dd9cd45e81d69d2c877b56aaf991c34d0ea84eaf3716",
                "f7cb1c942d657c41d436c7a1b6e29f65f3e900dbb9aff4064dc4ab2f843acda8",
            ),
            (
                b"test".as_slice(),
                "f1abb023518351cd71d881567b1ea663ed3efcf6c5132b354f28d3b0b7d38367",
                "019f4113742a2b14bd25926b49c649155f267e60d3814b4c0cc84250e46f0083",
            ),
        ];
        for (msg, r, s) in cases {
            let hash = digest(DigestAlg::Sha256, msg);
            let sig = sign_prehash(Curve::P256, &x, &hash).unwrap();
            assert_eq!(sig, rs(r, s));
            assert_eq!(sig.len(), signature_len(Curve::P256));
            verify_prehash(Curve::P256, &rfc_point(), &hash, &sig).unwrap();
        }
    }

    /// RFC 6979's signatures over "sample" with the other hashes: 20- and 28-byte hashes are
    /// shorter than the order, 48- and 64-byte ones longer, so these exercise both rules.
    #[test]
    fn rfc6979_other_hashes_verify() {
        let cases = [
            (
                DigestAlg::Sha1,
                "61340c88c3aaebeb4f6d667f672ca9759a6ccaa9fa8811313039ee4a35471d32",
                "6d7f147dac089441bb2e2fe8f7a3fa264b9c475098fdcf6e00d7c996e1b8b7eb",
            ),
            (
                DigestAlg::Sha224,
                "53b2fff5d1752b2c689df257c04c40a587fababb3f6fc2702f1343af7ca9aa3f",
                "b9afb64fdc03dc1a131c7d2386d11e349f070aa432a4acc918bea988bf75c74c",
            ),
            (
                DigestAlg::Sha384,
                "0eafea039b20e9b42309fb1d89e213057cbf973dc0cfc8f129edddc800ef7719",
                "4861f0491e6998b9455193e34e7b0d284ddd7149a74b95b9261f13abde940954",
            ),
            (
                DigestAlg::Sha512,
                "8496a60b5e9b47c825488827e0495b0e3fa109ec4568fd3f8d1097678eb97f00",
                "2362ab1adbe2b8adf9cb9edab740ea6049c028114f2460f96554f61fae3302fe",
            ),
        ];
        for (alg, r, s) in cases {
            let hash = digest(alg, b"sample");
            verify_prehash(Curve::P256, &rfc_point(), &hash, &rs(r, s)).unwrap();
            let other = digest(alg, b"test");
            assert_eq!(
                verify_prehash(Curve::P256, &rfc_point(), &other, &rs(r, s)),
                Err(Error::SignatureInvalid),
                "{alg:?}"
            );
        }
    }

    #[test]
    fn short_and_long_hashes() {
        let x = h(X);
        let point = rfc_point();
        // Shorter than the field: the same integer as its zero-padded form.
        let short = digest(DigestAlg::Sha1, b"msg");
        let mut padded = vec![0u8; 12];
        padded.extend_from_slice(&short);
        let sig = sign_prehash(Curve::P256, &x, &short).unwrap();
        assert_eq!(sig, sign_prehash(Curve::P256, &x, &padded).unwrap());
        verify_prehash(Curve::P256, &point, &short, &sig).unwrap();
        verify_prehash(Curve::P256, &point, &padded, &sig).unwrap();
        // Longer than the field: only the leftmost 256 bits count.
        let long = digest(DigestAlg::Sha512, b"msg");
        let sig = sign_prehash(Curve::P256, &x, &long).unwrap();
        assert_eq!(sig, sign_prehash(Curve::P256, &x, &long[..32]).unwrap());
        verify_prehash(Curve::P256, &point, &long, &sig).unwrap();
        let mut changed_tail = long.clone();
        changed_tail[40] ^= 1;
        verify_prehash(Curve::P256, &point, &changed_tail, &sig).unwrap();
        // One byte is enough; none is not.
        let sig = sign_prehash(Curve::P256, &x, &[0x42]).unwrap();
        verify_prehash(Curve::P256, &point, &[0x42], &sig).unwrap();
        assert_eq!(sign_prehash(Curve::P256, &x, &[]), Err(Error::DataLenRange));
        assert_eq!(verify_prehash(Curve::P256, &point, &[], &sig), Err(Error::DataLenRange));
    }

    #[test]
    fn bits_to_field_rules() {
        assert_eq!(bits_to_field(Curve::P256, &[1, 2]), {
            let mut v = vec![0u8; 30];
            v.extend([1, 2]);
            v
        });
        let long: Vec<u8> = (0..64).collect();
        assert_eq!(bits_to_field(Curve::P256, &long), long[..32].to_vec());
    }

    #[test]
    fn tampering_and_lengths() {
        let x = h(X);
        let point = rfc_point();
        let hash = digest(DigestAlg::Sha256, b"sample");
        let sig = sign_prehash(Curve::P256, &x, &hash).unwrap();
        for i in [0, 31, 32, 63] {
            let mut bad = sig.clone();
            bad[i] ^= 0x01;
            assert_eq!(verify_prehash(Curve::P256, &point, &hash, &bad), Err(Error::SignatureInvalid));
        }
        let mut bad_hash = hash.clone();
        bad_hash[0] ^= 0x80;
        assert_eq!(verify_prehash(Curve::P256, &point, &bad_hash, &sig), Err(Error::SignatureInvalid));
        for len in [0, 1, 63, 65, 72] {
            let mut wrong = sig.clone();
            wrong.resize(len, 0);
            assert_eq!(verify_prehash(Curve::P256, &point, &hash, &wrong), Err(Error::SignatureLenRange));
        }
        // r or s of 0 or n are not signatures.
        let zero = [0u8; 32];
        let n = h(N);
        for (r, s) in
            [(&zero[..], &sig[32..]), (&sig[..32], &zero[..]), (&n[..], &sig[32..]), (&sig[..32], &n[..])]
        {
            let mut bad = r.to_vec();
            bad.extend_from_slice(s);
            assert_eq!(verify_prehash(Curve::P256, &point, &hash, &bad), Err(Error::SignatureInvalid));
        }
        // Another key's point does not verify; a broken point is an attribute problem.
        let other = public_from_private(Curve::P256, &[0x11; 32]).unwrap();
        assert_eq!(verify_prehash(Curve::P256, &other, &hash, &sig), Err(Error::SignatureInvalid));
        assert_eq!(verify_prehash(Curve::P256, &[0x04; 65], &hash, &sig), Err(Error::AttributeValueInvalid));
        // The DER form of the point works too.
        verify_prehash(Curve::P256, &encode_ec_point(&point), &hash, &sig).unwrap();
    }

    #[test]
    fn invalid_scalars() {
        let mut n_minus_1 = h(N);
        n_minus_1[31] -= 1;
        assert!(public_from_private(Curve::P256, &n_minus_1).is_ok());
        let mut one = [0u8; 32];
        one[31] = 1;
        // 1 * G is the generator.
        assert_eq!(
            public_from_private(Curve::P256, &one).unwrap()[1..33],
            h("6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296")[..]
        );
        for bad in [vec![0u8; 32], h(N), vec![0xff; 32], vec![1u8; 31], vec![1u8; 33], vec![]] {
            assert_eq!(public_from_private(Curve::P256, &bad), Err(Error::AttributeValueInvalid));
            assert_eq!(sign_prehash(Curve::P256, &bad, &[1; 32]), Err(Error::AttributeValueInvalid));
        }
    }

    #[test]
    fn normalize_scalar_pads_and_strips() {
        let x = h(X);
        let mut with_zeros = vec![0, 0];
        with_zeros.extend_from_slice(&x);
        assert_eq!(normalize_scalar(Curve::P256, &with_zeros).unwrap().expose(), &x[..]);
        assert_eq!(normalize_scalar(Curve::P256, &x).unwrap().expose(), &x[..]);
        let mut one = [0u8; 32];
        one[31] = 1;
        assert_eq!(normalize_scalar(Curve::P256, &[1]).unwrap().expose(), &one[..]);
        for bad in [vec![], vec![0; 5], h(N), vec![1; 33]] {
            assert_eq!(normalize_scalar(Curve::P256, &bad), Err(Error::AttributeValueInvalid));
        }
    }

    #[test]
    fn generate_is_valid_and_repeatable() {
        let mut rng = DeterministicRng::from_seed([3; 32]);
        let (d, q) = generate(Curve::P256, &mut rng).unwrap();
        assert_eq!(d.len(), 32);
        assert_eq!(q.len(), 65);
        assert_eq!(public_from_private(Curve::P256, d.expose()).unwrap(), q);
        let hash = digest(DigestAlg::Sha256, b"round trip");
        let sig = sign_prehash(Curve::P256, d.expose(), &hash).unwrap();
        verify_prehash(Curve::P256, &q, &hash, &sig).unwrap();

        let (d2, q2) = generate(Curve::P256, &mut DeterministicRng::from_seed([3; 32])).unwrap();
        assert_eq!((d2.expose(), &q2), (d.expose(), &q));
        let (d3, _) = generate(Curve::P256, &mut rng).unwrap();
        assert_ne!(d3.expose(), d.expose());
    }

    /// Hands out a fixed script of fills, then fails.
    struct Script(Vec<Vec<u8>>);

    impl Rng for Script {
        fn fill(&mut self, dest: &mut [u8]) -> Result<()> {
            if self.0.is_empty() {
                return Err(Error::DeviceError);
            }
            dest.copy_from_slice(&self.0.remove(0));
            Ok(())
        }
    }

    #[test]
    fn generate_rejects_out_of_range_draws() {
        // 0 and all-ones (>= n) are redrawn; the third draw is X.
        let mut rng = Script(vec![vec![0; 32], vec![0xff; 32], h(X)]);
        let (d, q) = generate(Curve::P256, &mut rng).unwrap();
        assert_eq!(d.expose(), &h(X)[..]);
        assert_eq!(q, rfc_point());
        // RNG errors pass through; a stuck RNG ends in FunctionFailed.
        assert_eq!(generate(Curve::P256, &mut Script(vec![])).unwrap_err(), Error::DeviceError);
        let mut stuck = Script(vec![vec![0xff; 32]; KEYGEN_ATTEMPTS]);
        assert_eq!(generate(Curve::P256, &mut stuck).unwrap_err(), Error::FunctionFailed);
    }

    #[test]
    fn ec_point_forms() {
        let raw = rfc_point();
        let der = encode_ec_point(&raw);
        assert_eq!(der[..2], [0x04, 0x41]);
        assert_eq!(der[2..], raw[..]);
        assert_eq!(decode_ec_point(Curve::P256, &der).unwrap(), raw);
        assert_eq!(decode_ec_point(Curve::P256, &raw).unwrap(), raw);
        // Uy ends in 0x99: odd, so the compressed prefix is 03.
        let mut compressed = vec![0x03];
        compressed.extend(h(UX));
        assert_eq!(decode_ec_point(Curve::P256, &compressed).unwrap(), raw);
        assert_eq!(decode_ec_point(Curve::P256, &encode_ec_point(&compressed)).unwrap(), raw);
        // The other parity is the negated point, not ours.
        compressed[0] = 0x02;
        let negated = decode_ec_point(Curve::P256, &compressed).unwrap();
        assert_eq!(negated[..33], raw[..33]);
        assert_ne!(negated, raw);

        let mut off_curve = raw.clone();
        off_curve[64] ^= 1;
        let mut hybrid = raw.clone();
        hybrid[0] = 0x07;
        let bad_inputs = [
            off_curve.clone(),
            encode_ec_point(&off_curve),
            hybrid,
            vec![0x00],
            encode_ec_point(&[0x00]),
            vec![],
            raw[..64].to_vec(),
            der[..66].to_vec(),
            [der.as_slice(), &[0]].concat(),
            vec![0x04; 67],
        ];
        for bad in bad_inputs {
            assert_eq!(decode_ec_point(Curve::P256, &bad), Err(Error::AttributeValueInvalid), "{bad:02x?}");
        }
    }

    #[test]
    fn ec_params() {
        let oid = Curve::P256.oid_der();
        assert_eq!(oid, h("06082a8648ce3d030107"));
        assert_eq!(parse_ec_params(&oid), Ok(Curve::P256));
        for name in ["prime256v1", "secp256r1", "P-256"] {
            let mut der = vec![0x13, u8::try_from(name.len()).unwrap()];
            der.extend_from_slice(name.as_bytes());
            assert_eq!(parse_ec_params(&der), Ok(Curve::P256), "{name}");
        }
        // Well-formed but not ours: secp384r1, a made-up name, explicit and implicit params.
        assert_eq!(parse_ec_params(&h("06052b81040022")), Err(Error::CurveNotSupported));
        assert_eq!(parse_ec_params(b"\x13\x03foo"), Err(Error::CurveNotSupported));
        assert_eq!(parse_ec_params(&h("3003020101")), Err(Error::CurveNotSupported));
        assert_eq!(parse_ec_params(&h("0500")), Err(Error::CurveNotSupported));
        // Not DER (or not an X9.62 Parameters value at all).
        for bad in [
            "",
            "06",
            "0608",
            "06082a8648ce3d0301",     // truncated
            "06082a8648ce3d03010700", // trailing byte
            "06802a8648ce3d030107",   // indefinite length
            "0681082a8648ce3d030107", // non-minimal length
            "0600",                   // empty OID
            "06012a86",               // length does not cover
            "0602802a",               // arc with a leading zero septet
            "06022a86",               // unterminated arc
            "0c0a7072696d6532353676", // UTF8String
            "0408010203040506070809",
            "1f0100",
        ] {
            assert_eq!(parse_ec_params(&h(bad)), Err(Error::DomainParamsInvalid), "{bad}");
        }
    }

    #[test]
    fn spki_structure() {
        let raw = rfc_point();
        let spki = public_key_info(Curve::P256, &raw);
        let prefix = h("3059301306072a8648ce3d020106082a8648ce3d030107034200");
        assert_eq!(spki.len(), 91);
        assert_eq!(spki[..prefix.len()], prefix[..]);
        assert_eq!(spki[prefix.len()..], raw[..]);
    }

    #[test]
    fn der_lengths() {
        let mut out = Vec::new();
        push_tlv(&mut out, 0x04, &[7u8; 200]);
        assert_eq!(out[..3], [0x04, 0x81, 200]);
        assert_eq!(read_tlv(&out).map(|(t, c, r)| (t, c.len(), r.len())), Some((0x04, 200, 0)));
        let mut out = Vec::new();
        push_tlv(&mut out, 0x04, &[7u8; 300]);
        assert_eq!(out[..4], [0x04, 0x82, 0x01, 0x2c]);
        assert_eq!(read_tlv(&out).map(|(t, c, r)| (t, c.len(), r.len())), Some((0x04, 300, 0)));
        assert_eq!(read_tlv(&[0x04, 0x82, 0x00, 0x05, 1, 2, 3, 4, 5]), None);
    }

    #[test]
    fn curve_constants() {
        assert_eq!(Curve::ALL, &[Curve::P256]);
        assert_eq!(Curve::P256.field_bytes(), 32);
        assert_eq!(Curve::P256.bits(), 256);
        assert_eq!(signature_len(Curve::P256), 64);
    }
}
