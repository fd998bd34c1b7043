//! Elliptic curves for `CKK_EC` keys, `CKM_ECDSA` and `CKM_ECDH1_DERIVE`: curve parameters
//! (`CKA_EC_PARAMS`), point encodings (`CKA_EC_POINT`, `CKA_PUBLIC_KEY_INFO`), PKCS#8, key
//! generation, ECDSA over a caller-supplied hash and the ECDH primitive. P-256, P-384, P-521
//! and secp256k1.
//!
//! Signing is deterministic (RFC 6979, with HMAC-DRBG over the curve's default hash: SHA-256
//! for P-256 and secp256k1, SHA-384 for P-384, SHA-512 for P-521). ECDSA is equally secure
//! with a random or a deterministic `k`; deterministic
//! signing needs no RNG at signing time, cannot be broken by a weak RNG, and keeps the
//! deterministic test token repeatable. For a SHA-256 hash the signatures equal RFC 6979's
//! published ones; for other hashes they are valid but differ from RFC 6979's tables, which use
//! the message hash for the DRBG too — `CKM_ECDSA` does not tell us which hash made the input.
//! secp256k1 signatures come out with a low `s` (the `k256` crate normalises, as Bitcoin
//! requires); verification accepts either `s`, as ECDSA does.
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
    /// NIST P-384, a.k.a. secp384r1 (OID 1.3.132.0.34).
    P384,
    /// NIST P-521, a.k.a. secp521r1 (OID 1.3.132.0.35).
    P521,
    /// secp256k1, the Bitcoin curve (OID 1.3.132.0.10).
    Secp256k1,
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

/// Candidate scalars drawn before key generation gives up. A draw is rejected with probability
/// below 2^-32 for every curve here (the top byte of a P-521 draw is masked to the order's
/// bit length first), so running out means the RNG is broken (e.g. constant output).
const KEYGEN_ATTEMPTS: usize = 64;

impl Curve {
    /// Every curve, for mechanism info (`ulMinKeySize`/`ulMaxKeySize`) and tests.
    pub const ALL: &'static [Curve] = &[Curve::P256, Curve::P384, Curve::P521, Curve::Secp256k1];

    /// Length of a field element and of a private scalar, in bytes.
    pub fn field_bytes(self) -> usize {
        match self {
            Curve::P256 | Curve::Secp256k1 => 32,
            Curve::P384 => 48,
            Curve::P521 => 66,
        }
    }

    /// Size of the curve order in bits (the key size PKCS#11 reports for EC keys).
    pub fn bits(self) -> usize {
        match self {
            Curve::P256 | Curve::Secp256k1 => 256,
            Curve::P384 => 384,
            Curve::P521 => 521,
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
            Curve::P384 => &[0x2b, 0x81, 0x04, 0x00, 0x22],
            Curve::P521 => &[0x2b, 0x81, 0x04, 0x00, 0x23],
            Curve::Secp256k1 => &[0x2b, 0x81, 0x04, 0x00, 0x0a],
        }
    }

    /// Names some clients send as a PrintableString instead of the OID.
    fn names(self) -> &'static [&'static [u8]] {
        match self {
            Curve::P256 => &[b"prime256v1", b"secp256r1", b"P-256", b"nistp256"],
            Curve::P384 => &[b"secp384r1", b"P-384", b"nistp384"],
            Curve::P521 => &[b"secp521r1", b"P-521", b"nistp521"],
            Curve::Secp256k1 => &[b"secp256k1"],
        }
    }

    /// Length of an uncompressed point `04 || X || Y`.
    fn uncompressed_len(self) -> usize {
        1 + 2 * self.field_bytes()
    }
}

/// Parse `CKA_EC_PARAMS`: a DER named-curve OID, or a DER PrintableString naming the curve
/// (`"prime256v1"`, `"secp256r1"`, `"P-256"`, `"secp384r1"`, `"secp521r1"`, `"secp256k1"`, …).
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
        Curve::P384 => p384_ops::public_from_private(scalar),
        Curve::P521 => p521_ops::public_from_private(scalar),
        Curve::Secp256k1 => k256_ops::public_from_private(scalar),
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
    let (z, ad) = prehash_input(curve, hash);
    let ad = ad.as_deref();
    match curve {
        Curve::P256 => p256_ops::sign(scalar, &z, ad),
        Curve::P384 => p384_ops::sign(scalar, &z, ad),
        Curve::P521 => p521_ops::sign(scalar, &z, ad),
        Curve::Secp256k1 => k256_ops::sign(scalar, &z, ad),
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
    let (z, _) = prehash_input(curve, hash);
    match curve {
        Curve::P256 => p256_ops::verify(&point, &z, signature),
        Curve::P384 => p384_ops::verify(&point, &z, signature),
        Curve::P521 => p521_ops::verify(&point, &z, signature),
        Curve::Secp256k1 => k256_ops::verify(&point, &z, signature),
    }
}

/// `CKM_ECDH1_DERIVE`'s primitive: the x-coordinate of `scalar · peer`, `field_bytes` long
/// (the `Z` of SEC 1 §3.3.1, which the KDF takes). `peer` may be in any form
/// [`decode_ec_point`] accepts: raw or DER, compressed or not. The curves here have cofactor
/// 1, so this is also `CKM_ECDH1_COFACTOR_DERIVE`'s primitive.
///
/// # Errors
/// - `Error::MechanismParamInvalid` when `peer` is not a point of `curve` (it comes in the
///   mechanism parameter).
/// - `Error::AttributeValueInvalid` when `scalar` is not a valid private key of `curve`.
pub fn ecdh(curve: Curve, scalar: &[u8], peer: &[u8]) -> Result<SecretBytes> {
    check_scalar_len(curve, scalar)?;
    let point = decode_ec_point(curve, peer).map_err(|_| Error::MechanismParamInvalid)?;
    match curve {
        Curve::P256 => p256_ops::ecdh(scalar, &point),
        Curve::P384 => p384_ops::ecdh(scalar, &point),
        Curve::P521 => p521_ops::ecdh(scalar, &point),
        Curve::Secp256k1 => k256_ops::ecdh(scalar, &point),
    }
}

/// DER tag of INTEGER.
const TAG_INTEGER: u8 = 0x02;
/// `[0]` constructed: `ECPrivateKey.parameters`.
const TAG_CONTEXT_0: u8 = 0xa0;
/// `[1]` constructed: `ECPrivateKey.publicKey`.
const TAG_CONTEXT_1: u8 = 0xa1;

/// A private key as a PKCS#8 `PrivateKeyInfo` (RFC 5208) holding an RFC 5915 `ECPrivateKey`
/// with its public point, for `C_WrapKey`. `scalar` must be a valid `field_bytes` scalar.
///
/// # Errors
/// `Error::AttributeValueInvalid` when `scalar` is not a valid private key of `curve`.
pub fn to_pkcs8(curve: Curve, scalar: &[u8]) -> Result<SecretBytes> {
    let point = public_from_private(curve, scalar)?;
    let mut bits = Vec::with_capacity(point.len() + 1);
    bits.push(0);
    bits.extend_from_slice(&point);
    let mut public = Vec::with_capacity(bits.len() + 4);
    push_tlv(&mut public, TAG_BIT_STRING, &bits);

    let mut ec_key = Zeroizing::new(Vec::with_capacity(scalar.len() + public.len() + 16));
    push_tlv(&mut ec_key, TAG_INTEGER, &[1]);
    push_tlv(&mut ec_key, TAG_OCTET_STRING, scalar);
    push_tlv(&mut ec_key, TAG_CONTEXT_1, &public);
    let mut ec_seq = Zeroizing::new(Vec::with_capacity(ec_key.len() + 4));
    push_tlv(&mut ec_seq, TAG_SEQUENCE, &ec_key);

    let mut algorithm = Vec::with_capacity(24);
    push_tlv(&mut algorithm, TAG_OID, &OID_EC_PUBLIC_KEY);
    push_tlv(&mut algorithm, TAG_OID, curve.oid_content());

    let mut body = Zeroizing::new(Vec::with_capacity(ec_seq.len() + algorithm.len() + 16));
    push_tlv(&mut body, TAG_INTEGER, &[0]);
    push_tlv(&mut body, TAG_SEQUENCE, &algorithm);
    push_tlv(&mut body, TAG_OCTET_STRING, &ec_seq);
    let mut out = Vec::with_capacity(body.len() + 4);
    push_tlv(&mut out, TAG_SEQUENCE, &body);
    Ok(SecretBytes::new(out))
}

/// The curve and the `field_bytes` scalar of a PKCS#8 `PrivateKeyInfo` holding an EC key, for
/// `C_UnwrapKey`. The curve comes from the algorithm identifier or, failing that, from
/// `ECPrivateKey.parameters`; an embedded public point must match the scalar.
///
/// # Errors
/// `Error::WrappedKeyInvalid` for anything that is not such a key of a curve we implement.
pub fn from_pkcs8(der: &[u8]) -> Result<(Curve, SecretBytes)> {
    let bad = Error::WrappedKeyInvalid;
    let body = match read_tlv(der) {
        Some((TAG_SEQUENCE, body, [])) => body,
        _ => return Err(bad),
    };
    let (version, rest) = match read_tlv(body) {
        Some((TAG_INTEGER, v, rest)) => (v, rest),
        _ => return Err(bad),
    };
    if version != [0] && version != [1] {
        return Err(bad);
    }
    let (algorithm, rest) = match read_tlv(rest) {
        Some((TAG_SEQUENCE, a, rest)) => (a, rest),
        _ => return Err(bad),
    };
    let alg_params = match read_tlv(algorithm) {
        Some((TAG_OID, oid, params)) if oid == OID_EC_PUBLIC_KEY => params,
        _ => return Err(bad),
    };
    let mut curve =
        if alg_params.is_empty() { None } else { Some(parse_ec_params(alg_params).map_err(|_| bad)?) };
    // The rest of a OneAsymmetricKey (attributes, public key) is not needed.
    let ec_der = match read_tlv(rest) {
        Some((TAG_OCTET_STRING, k, _)) => k,
        _ => return Err(bad),
    };
    let ec_key = match read_tlv(ec_der) {
        Some((TAG_SEQUENCE, k, [])) => k,
        _ => return Err(bad),
    };
    let (scalar, mut rest) = match read_tlv(ec_key) {
        Some((TAG_INTEGER, [1], rest)) => match read_tlv(rest) {
            Some((TAG_OCTET_STRING, d, rest)) => (d, rest),
            _ => return Err(bad),
        },
        _ => return Err(bad),
    };
    let mut embedded_point = None;
    while let Some((tag, content, next)) = read_tlv(rest) {
        match tag {
            TAG_CONTEXT_0 => {
                let named = parse_ec_params(content).map_err(|_| bad)?;
                if curve.is_some_and(|c| c != named) {
                    return Err(bad);
                }
                curve = Some(named);
            }
            TAG_CONTEXT_1 => match read_tlv(content) {
                Some((TAG_BIT_STRING, [0, point @ ..], [])) => embedded_point = Some(point),
                _ => return Err(bad),
            },
            _ => return Err(bad),
        }
        rest = next;
    }
    if !rest.is_empty() {
        return Err(bad);
    }
    let curve = curve.ok_or(bad)?;
    let scalar = normalize_scalar(curve, scalar).map_err(|_| bad)?;
    if let Some(given) = embedded_point {
        let point = public_from_private(curve, scalar.expose()).map_err(|_| bad)?;
        if decode_ec_point(curve, given).map_err(|_| bad)? != point {
            return Err(bad);
        }
    }
    Ok((curve, scalar))
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
        Curve::P384 => p384_ops::decode_point(bytes),
        Curve::P521 => p521_ops::decode_point(bytes),
        Curve::Secp256k1 => k256_ops::decode_point(bytes),
    }
}

/// The hash as exactly `field_bytes` big-endian bytes holding the integer of its leftmost
/// `min(8 * hash.len(), bits)` bits (FIPS 186-5 §6.4.1 step 2; RFC 6979 `bits2int`), which the
/// curve crates reduce modulo n. [`prehash_input`] decides when the crates get this form.
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

/// What the curve crates are handed for a caller's hash, so that both of their conversions (the
/// RFC 6979 `bits2int` for `k` and the reduction for `z`) see the FIPS 186-5 integer: the hash
/// left-padded to `bits / 8` bytes when it is no longer, its leftmost bytes when the order has
/// whole bytes. Only for P-521 with an input of 66 bytes or more (CKM_ECDSA with a non-standard
/// "hash") do the two conversions disagree; then the crates get the integer in 66 bytes (right
/// for `z`) and the whole input as RFC 6979 additional data, so that `k` stays unique per input.
fn prehash_input(curve: Curve, hash: &[u8]) -> (Vec<u8>, Option<Vec<u8>>) {
    let whole = curve.bits() / 8;
    if hash.len() <= whole {
        let mut z = alloc::vec![0u8; whole - hash.len()];
        z.extend_from_slice(hash);
        (z, None)
    } else if curve.bits().is_multiple_of(8) {
        (hash[..whole].to_vec(), None)
    } else {
        (bits_to_field(curve, hash), Some(hash.to_vec()))
    }
}

/// Fixed bytes offered as randomness: `sign_prehash_with_rng` mixes what it draws into RFC 6979
/// as additional data (`k` stays deterministic).
struct AdditionalData<'a>(&'a [u8], usize);

impl rand_core::TryRng for AdditionalData<'_> {
    type Error = core::convert::Infallible;

    fn try_next_u32(&mut self) -> core::result::Result<u32, Self::Error> {
        let mut b = [0u8; 4];
        self.try_fill_bytes(&mut b)?;
        Ok(u32::from_be_bytes(b))
    }

    fn try_next_u64(&mut self) -> core::result::Result<u64, Self::Error> {
        let mut b = [0u8; 8];
        self.try_fill_bytes(&mut b)?;
        Ok(u64::from_be_bytes(b))
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> core::result::Result<(), Self::Error> {
        for d in dst {
            *d = self.0.get(self.1 % self.0.len().max(1)).copied().unwrap_or(0);
            self.1 += 1;
        }
        Ok(())
    }
}

impl rand_core::TryCryptoRng for AdditionalData<'_> {}

/// The operations that need curve arithmetic, written once for every RustCrypto curve crate
/// that follows the `p256` layout. Inputs have the right lengths already.
macro_rules! curve_ops {
    ($module:ident, $krate:ident) => {
        mod $module {
            use alloc::vec::Vec;

            use $krate::ecdsa::signature::hazmat::{PrehashSigner, PrehashVerifier, RandomizedPrehashSigner};
            use $krate::ecdsa::{Signature, SigningKey, VerifyingKey};
            use $krate::elliptic_curve::ecdh::diffie_hellman;
            use $krate::elliptic_curve::sec1::ToSec1Point;
            use $krate::{PublicKey, SecretKey};

            use crate::secret::SecretBytes;
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

            pub(super) fn sign(scalar: &[u8], z: &[u8], ad: Option<&[u8]>) -> Result<Vec<u8>> {
                let key = signing_key(scalar)?;
                let signature: Signature = match ad {
                    None => key.sign_prehash(z),
                    Some(ad) => key.sign_prehash_with_rng(&mut super::AdditionalData(ad, 0), z),
                }
                .map_err(|_| Error::FunctionFailed)?;
                Ok(signature.to_bytes().to_vec())
            }

            pub(super) fn verify(point: &[u8], z: &[u8], signature: &[u8]) -> Result<()> {
                let key = VerifyingKey::from_sec1_bytes(point).map_err(|_| Error::AttributeValueInvalid)?;
                let signature = Signature::from_slice(signature).map_err(|_| Error::SignatureInvalid)?;
                // (r, s) and (r, n - s) verify alike; k256 refuses a high s unless it is
                // normalised first, other callers' signatures need not be low-s.
                key.verify_prehash(z, &signature.normalize_s()).map_err(|_| Error::SignatureInvalid)
            }

            pub(super) fn ecdh(scalar: &[u8], point: &[u8]) -> Result<SecretBytes> {
                let secret = SecretKey::from_slice(scalar).map_err(|_| Error::AttributeValueInvalid)?;
                let public = PublicKey::from_sec1_bytes(point).map_err(|_| Error::MechanismParamInvalid)?;
                let shared = diffie_hellman(secret.to_nonzero_scalar(), public.as_affine());
                Ok(SecretBytes::from_slice(shared.raw_secret_bytes()))
            }
        }
    };
}

curve_ops!(p256_ops, p256);
curve_ops!(p384_ops, p384);
curve_ops!(p521_ops, p521);
curve_ops!(k256_ops, k256);

/// Append a DER TLV (definite length, short or long form).
pub(crate) fn push_tlv(out: &mut Vec<u8>, tag: u8, content: &[u8]) {
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
pub(crate) fn read_tlv(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
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
pub(crate) fn is_valid_oid(content: &[u8]) -> bool {
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
        assert_eq!(parse_ec_params(&h("06052b81040022")), Ok(Curve::P384));
        assert_eq!(parse_ec_params(&h("06052b81040023")), Ok(Curve::P521));
        assert_eq!(parse_ec_params(&h("06052b8104000a")), Ok(Curve::Secp256k1));
        assert_eq!(parse_ec_params(b"\x13\x09secp384r1"), Ok(Curve::P384));
        assert_eq!(parse_ec_params(b"\x13\x05P-521"), Ok(Curve::P521));
        assert_eq!(parse_ec_params(b"\x13\x09secp256k1"), Ok(Curve::Secp256k1));
        for c in Curve::ALL {
            assert_eq!(parse_ec_params(&c.oid_der()), Ok(*c));
        }
        // Well-formed but not ours: secp224r1, Ed25519, a made-up name, explicit and implicit params.
        assert_eq!(parse_ec_params(&h("06052b81040021")), Err(Error::CurveNotSupported));
        assert_eq!(parse_ec_params(&h("06032b6570")), Err(Error::CurveNotSupported));
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
        assert_eq!(Curve::ALL, &[Curve::P256, Curve::P384, Curve::P521, Curve::Secp256k1]);
        let sizes = [(32, 256, 64), (48, 384, 96), (66, 521, 132), (32, 256, 64)];
        for (c, (bytes, bits, sig)) in Curve::ALL.iter().zip(sizes) {
            assert_eq!((c.field_bytes(), c.bits(), signature_len(*c)), (bytes, bits, sig), "{c:?}");
        }
    }

    /// RFC 6979 A.2.6 (P-384) and A.2.7 (P-521): the keys, and the signatures over "sample"
    /// with the curve's own hash, which our RFC 6979 signer reproduces exactly.
    #[test]
    fn rfc6979_p384_p521() {
        let cases = [
            (
                Curve::P384,
                DigestAlg::Sha384,
                "6b9d3dad2e1b8c1c05b19875b6659f4de23c3b667bf297ba9aa47740787137d896d5724e4c70a825f872c9ea60d2edf5",
                "ec3a4e415b4e19a4568618029f427fa5da9a8bc4ae92e02e06aae5286b300c64def8f0ea9055866064a254515480bc13",
                "8015d9b72d7d57244ea8ef9ac0c621896708a59367f9dfb9f54ca84b3f1c9db1288b231c3ae0d4fe7344fd2533264720",
                "94edbb92a5ecb8aad4736e56c691916b3f88140666ce9fa73d64c4ea95ad133c81a648152e44acf96e36dd1e80fabe46",
                "99ef4aeb15f178cea1fe40db2603138f130e740a19624526203b6351d0a3a94fa329c145786e679e7b82c71a38628ac8",
            ),
            (
                Curve::P521,
                DigestAlg::Sha512,
                "00fad06daa62ba3b25d2fb40133da757205de67f5bb0018fee8c86e1b68c7e75caa896eb32f1f47c70855836a6d16fcc1466f6d8fbec67db89ec0c08b0e996b83538",
                "01894550d0785932e00eaa23b694f213f8c3121f86dc97a04e5a7167db4e5bcd371123d46e45db6b5d5370a7f20fb633155d38ffa16d2bd761dcac474b9a2f5023a4",
                "00493101c962cd4d2fddf782285e64584139c2f91b47f87ff82354d6630f746a28a0db25741b5b34a828008b22acc23f924faafbd4d33f81ea66956dfeaa2bfdfcf5",
                "00c328fafcbd79dd77850370c46325d987cb525569fb63c5d3bc53950e6d4c5f174e25a1ee9017b5d450606add152b534931d7d4e8455cc91f9b15bf05ec36e377fa",
                "00617cce7cf5064806c467f678d3b4080d6f1cc50af26ca209417308281b68af282623eaa63e5b5c0723d8b8c37ff0777b1a20f8ccb1dccc43997f1ee0e44da4a67a",
            ),
        ];
        for (curve, alg, x, ux, uy, r, s) in cases {
            let mut point = vec![0x04];
            point.extend(h(ux));
            point.extend(h(uy));
            assert_eq!(public_from_private(curve, &h(x)).unwrap(), point);
            let hash = digest(alg, b"sample");
            let sig = sign_prehash(curve, &h(x), &hash).unwrap();
            assert_eq!(sig, rs(r, s), "{curve:?}");
            verify_prehash(curve, &point, &hash, &sig).unwrap();
            let mut bad = sig.clone();
            bad[3] ^= 1;
            assert_eq!(verify_prehash(curve, &point, &hash, &bad), Err(Error::SignatureInvalid));
            assert_eq!(verify_prehash(curve, &point, &hash, &sig[1..]), Err(Error::SignatureLenRange));
            // The leading-zero-stripped scalar some clients send is the same key.
            if curve == Curve::P521 {
                // RFC 6979's SHA-256 signature: a hash shorter than the order is an integer as is.
                let r = "01511bb4d675114fe266fc4372b87682baecc01d3cc62cf2303c92b3526012659d16876e25c7c1e57648f23b73564d67f61c6f14d527d54972810421e7d87589e1a7";
                let s = "004a171143a83163d6df460aaf61522695f207a58b95c0644d87e52aa1a347916e4f7a72930b1bc06dbe22ce3f58264afd23704cbb63b29b931f7de6c9d949a7ecfc";
                verify_prehash(curve, &point, &digest(DigestAlg::Sha256, b"sample"), &rs(r, s)).unwrap();
            }
            let full = h(x);
            let stripped = &full[full.iter().position(|&b| b != 0).unwrap()..];
            assert_eq!(normalize_scalar(curve, stripped).unwrap().expose(), &full[..]);
        }
    }

    /// CKM_ECDSA on P-521 with inputs of 66 bytes or more: only their leftmost 521 bits count
    /// for the signature, yet inputs that differ beyond them get different nonces.
    #[test]
    fn p521_long_inputs() {
        let mut rng = DeterministicRng::from_seed([2; 32]);
        let (d, q) = generate(Curve::P521, &mut rng).unwrap();
        let mut a = vec![0xa5u8; 66];
        let sig_a = sign_prehash(Curve::P521, d.expose(), &a).unwrap();
        verify_prehash(Curve::P521, &q, &a, &sig_a).unwrap();
        a[65] ^= 0x01; // beyond the 521 bits
        verify_prehash(Curve::P521, &q, &a, &sig_a).unwrap();
        let sig_b = sign_prehash(Curve::P521, d.expose(), &a).unwrap();
        verify_prehash(Curve::P521, &q, &a, &sig_b).unwrap();
        assert_ne!(sig_a[..66], sig_b[..66], "a distinct input gets a distinct k");
        a[64] ^= 0x01; // within them
        assert_eq!(verify_prehash(Curve::P521, &q, &a, &sig_a), Err(Error::SignatureInvalid));
        // A hash shorter than the order is an integer: one leading zero byte changes nothing.
        // 66 bytes are a bit string whose leftmost 521 bits count, so two zero bytes do.
        let hash = digest(DigestAlg::Sha512, b"m");
        let sig = sign_prehash(Curve::P521, d.expose(), &hash).unwrap();
        let mut padded = vec![0];
        padded.extend_from_slice(&hash);
        verify_prehash(Curve::P521, &q, &padded, &sig).unwrap();
        padded.insert(0, 0);
        assert_eq!(verify_prehash(Curve::P521, &q, &padded, &sig), Err(Error::SignatureInvalid));
    }

    #[test]
    fn secp256k1_keys_and_high_s() {
        let mut one = [0u8; 32];
        one[31] = 1;
        // 1 * G.
        let g = h(
            "0479be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798483ada7726a3c4655da4fbfc0e1108a8fd17b448a68554199c47d08ffb10d4b8",
        );
        assert_eq!(public_from_private(Curve::Secp256k1, &one).unwrap(), g);
        let n = h("fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141");
        let d = h("c9afa9d845ba75166b5c215767b1d6934e50c3db36e89b127b8a622b120f6721");
        let q = public_from_private(Curve::Secp256k1, &d).unwrap();
        let hash = digest(DigestAlg::Sha256, b"sample");
        let sig = sign_prehash(Curve::Secp256k1, &d, &hash).unwrap();
        verify_prehash(Curve::Secp256k1, &q, &hash, &sig).unwrap();
        // Signatures come out low-s; (r, n - s) is as valid and must verify too.
        let s_val = &sig[32..];
        let mut high = vec![0u8; 32];
        let mut borrow = 0i16;
        for i in (0..32).rev() {
            let v = i16::from(n[i]) - i16::from(s_val[i]) - borrow;
            borrow = i16::from(v < 0);
            high[i] = u8::try_from(v.rem_euclid(256)).unwrap();
        }
        assert!(high > s_val.to_vec(), "the signer normalises s");
        let mut high_sig = sig[..32].to_vec();
        high_sig.extend_from_slice(&high);
        verify_prehash(Curve::Secp256k1, &q, &hash, &high_sig).unwrap();
        assert_eq!(sign_prehash(Curve::Secp256k1, &n, &hash), Err(Error::AttributeValueInvalid));
    }

    /// Wycheproof ECDH vectors (ecdh_secp384r1_ecpoint, ecdh_secp521r1_ecpoint, ecdh_secp256k1):
    /// normal cases, the compressed forms of the same peers, and an x = 0 edge case.
    #[test]
    fn wycheproof_ecdh() {
        let cases = [
            (
                Curve::P384,
                "04790a6e059ef9a5940163183d4a7809135d29791643fc43a2f17ee8bf677ab84f791b64a6be15969ffa012dd9185d8796d9b954baa8a75e82df711b3b56eadff6b0f668c3b26b4b1aeb308a1fcc1c680d329a6705025f1c98a0b5e5bfcb163caa",
                "766e61425b2da9f846c09fc3564b93a6f8603b7392c785165bf20da948c49fd1fb1dee4edd64356b9f21c588b75dfd81",
                "6461defb95d996b24296f5a1832b34db05ed031114fbe7d98d098f93859866e4de1e229da71fef0c77fe49b249190135",
            ),
            (
                Curve::P384,
                "02790a6e059ef9a5940163183d4a7809135d29791643fc43a2f17ee8bf677ab84f791b64a6be15969ffa012dd9185d8796",
                "766e61425b2da9f846c09fc3564b93a6f8603b7392c785165bf20da948c49fd1fb1dee4edd64356b9f21c588b75dfd81",
                "6461defb95d996b24296f5a1832b34db05ed031114fbe7d98d098f93859866e4de1e229da71fef0c77fe49b249190135",
            ),
            (
                Curve::P384,
                "04490e96d17f4c6ceccd45def408cea33e9704a5f1b01a3de2eaaa3409fd160d78d395d6b3b003d71fd1f590fad95bf1c9d8665efc2070d059aa847125c2f707435955535c7c5df6d6c079ec806dce6b6849d337140db7ca50616f9456de1323c4",
                "00a2b6442a37f8a3759d2cb91df5eca75b14f5a6766da8035cc1943b15a8e4ebb6025f373be334080f22ab821a3535a6a7",
                "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
            ),
            (
                Curve::P521,
                "040064da3e94733db536a74a0d8a5cb2265a31c54a1da6529a198377fbd38575d9d79769ca2bdf2d4c972642926d444891a652e7f492337251adf1613cf3077999b5ce00e04ad19cf9fd4722b0c824c069f70c3c0e7ebc5288940dfa92422152ae4a4f79183ced375afb54db1409ddf338b85bb6dbfc5950163346bb63a90a70c5aba098f7",
                "01939982b529596ce77a94bc6efd03e92c21a849eb4f87b8f619d506efc9bb22e7c61640c90d598f795b64566dc6df43992ae34a1341d458574440a7371f611c7dcd",
                "01f1e410f2c6262bce6879a3f46dfb7dd11d30eeee9ab49852102e1892201dd10f27266c2cf7cbccc7f6885099043dad80ff57f0df96acf283fb090de53df95f7d87",
            ),
            (
                Curve::P521,
                "030064da3e94733db536a74a0d8a5cb2265a31c54a1da6529a198377fbd38575d9d79769ca2bdf2d4c972642926d444891a652e7f492337251adf1613cf3077999b5ce",
                "01939982b529596ce77a94bc6efd03e92c21a849eb4f87b8f619d506efc9bb22e7c61640c90d598f795b64566dc6df43992ae34a1341d458574440a7371f611c7dcd",
                "01f1e410f2c6262bce6879a3f46dfb7dd11d30eeee9ab49852102e1892201dd10f27266c2cf7cbccc7f6885099043dad80ff57f0df96acf283fb090de53df95f7d87",
            ),
            (
                Curve::Secp256k1,
                "04d8096af8a11e0b80037e1ee68246b5dcbb0aeb1cf1244fd767db80f3fa27da2b396812ea1686e7472e9692eaf3e958e50e9500d3b4c77243db1f2acd67ba9cc4",
                "00f4b7ff7cccc98813a69fae3df222bfe3f4e28f764bf91b4a10d8096ce446b254",
                "544dfae22af6af939042b1d85b71a1e49e9a5614123c4d6ad0c8af65baf87d65",
            ),
            (
                Curve::Secp256k1,
                "02d8096af8a11e0b80037e1ee68246b5dcbb0aeb1cf1244fd767db80f3fa27da2b",
                "00f4b7ff7cccc98813a69fae3df222bfe3f4e28f764bf91b4a10d8096ce446b254",
                "544dfae22af6af939042b1d85b71a1e49e9a5614123c4d6ad0c8af65baf87d65",
            ),
        ];
        for (curve, public, private, shared) in cases {
            let d = normalize_scalar(curve, &h(private)).unwrap();
            let z = ecdh(curve, d.expose(), &h(public)).unwrap();
            assert_eq!(z.expose(), &h(shared)[..], "{curve:?}");
            // The DER OCTET STRING form of the peer gives the same secret.
            assert_eq!(ecdh(curve, d.expose(), &encode_ec_point(&h(public))).unwrap().expose(), z.expose());
            // A point off the curve is refused (invalid-curve attack).
            let mut off = h(public);
            if off[0] == 0x04 {
                let last = off.len() - 1;
                off[last] ^= 1;
                assert_eq!(ecdh(curve, d.expose(), &off).unwrap_err(), Error::MechanismParamInvalid);
            }
        }
        // A P-256 point is not a P-384 one.
        let d = normalize_scalar(Curve::P384, &h(cases[0].2)).unwrap();
        assert_eq!(ecdh(Curve::P384, d.expose(), &rfc_point()).unwrap_err(), Error::MechanismParamInvalid);
    }

    #[test]
    fn pkcs8_round_trip() {
        let mut rng = DeterministicRng::from_seed([9; 32]);
        for c in Curve::ALL {
            let (d, _) = generate(*c, &mut rng).unwrap();
            let der = to_pkcs8(*c, d.expose()).unwrap();
            let (c2, d2) = from_pkcs8(der.expose()).unwrap();
            assert_eq!((c2, d2.expose()), (*c, d.expose()));
            // Truncated or with a mismatching public key: refused.
            assert_eq!(from_pkcs8(&der.expose()[..der.len() - 1]).unwrap_err(), Error::WrappedKeyInvalid);
            let mut tampered = der.expose().to_vec();
            let last = tampered.len() - 1;
            tampered[last] ^= 1;
            assert_eq!(from_pkcs8(&tampered).unwrap_err(), Error::WrappedKeyInvalid);
        }
        // OpenSSL's `genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256` layout with the
        // RFC 6979 key (curve in the algorithm identifier, public key included).
        let der = to_pkcs8(Curve::P256, &h(X)).unwrap();
        assert_eq!(der.expose()[..26], h("308187020100301306072a8648ce3d020106082a8648ce3d030107")[..26]);
    }
}
