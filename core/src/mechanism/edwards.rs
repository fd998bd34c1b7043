//! Edwards and Montgomery curves for `CKK_EC_EDWARDS` and `CKK_EC_MONTGOMERY` keys: Ed25519
//! and Ed448 signatures (RFC 8032: pure, with a context, pre-hashed) and X25519 / X448 key
//! agreement (RFC 7748). Curve parameters (`CKA_EC_PARAMS`), point encodings (`CKA_EC_POINT`),
//! SubjectPublicKeyInfo and PKCS#8 (RFC 8410).
//!
//! Pure Ed25519 is `ed25519-dalek`'s. Ed25519ctx and Ed25519ph need the `dom2` prefix before
//! the key's hash prefix and before `R`, which `ed25519-dalek` does not offer for ctx; both are
//! written here over `curve25519-dalek` (RFC 8032 §5.1.6/§5.1.7, with the same strict checks as
//! `verify_strict`: canonical `S`, no small-order `A` or `R`). Ed448 in all its forms is
//! `ed448-goldilocks`'s; X25519 is `x25519-dalek`'s and X448 the `x448` crate's.
//!
//! Private keys are the raw RFC 8032 / RFC 7748 strings (32, 57, 32, 56 bytes) and are used as
//! given (X25519/X448 clamp at use). Signing is deterministic by definition.

use alloc::vec::Vec;

use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::scalar::Scalar;
use sha2::{Digest as _, Sha512};
use sha3::Shake256;
use sha3::digest::{ExtendableOutput as _, Update as _, XofReader as _};
use zeroize::Zeroizing;

use super::ec::{encode_ec_point, is_valid_oid, push_tlv, read_tlv};
use crate::rng::Rng;
use crate::secret::SecretBytes;
use crate::{Error, Result};

/// An Edwards or Montgomery curve the token implements.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum EdCurve {
    /// Ed25519 (edwards25519, OID 1.3.101.112).
    Ed25519,
    /// Ed448 (edwards448, OID 1.3.101.113).
    Ed448,
    /// X25519 (curve25519, OID 1.3.101.110).
    X25519,
    /// X448 (curve448, OID 1.3.101.111).
    X448,
}

/// DER tags used here.
const TAG_INTEGER: u8 = 0x02;
const TAG_BIT_STRING: u8 = 0x03;
const TAG_OCTET_STRING: u8 = 0x04;
const TAG_OID: u8 = 0x06;
const TAG_PRINTABLE_STRING: u8 = 0x13;
const TAG_SEQUENCE: u8 = 0x30;

/// The longest context RFC 8032 allows.
pub const MAX_CONTEXT: usize = 255;

/// RFC 8032's `dom2` prefix string for Ed25519ctx and Ed25519ph.
const DOM2_PREFIX: &[u8] = b"SigEd25519 no Ed25519 collisions";

impl EdCurve {
    /// Every curve, for tests and mechanism info.
    pub const ALL: &'static [EdCurve] = &[EdCurve::Ed25519, EdCurve::Ed448, EdCurve::X25519, EdCurve::X448];

    /// True for the signature curves (`CKK_EC_EDWARDS`), false for the key-agreement ones.
    pub fn is_edwards(self) -> bool {
        matches!(self, EdCurve::Ed25519 | EdCurve::Ed448)
    }

    /// Length of the raw private key (`CKA_VALUE`).
    pub fn private_len(self) -> usize {
        match self {
            EdCurve::Ed25519 | EdCurve::X25519 => 32,
            EdCurve::Ed448 => 57,
            EdCurve::X448 => 56,
        }
    }

    /// Length of the raw public key (inside `CKA_EC_POINT`).
    pub fn public_len(self) -> usize {
        self.private_len()
    }

    /// Length of a signature (Edwards curves; 0 for the others).
    pub fn signature_len(self) -> usize {
        match self {
            EdCurve::Ed25519 => 64,
            EdCurve::Ed448 => 114,
            EdCurve::X25519 | EdCurve::X448 => 0,
        }
    }

    /// The size of the curve's field in bits (the key size of `C_GetMechanismInfo`).
    pub fn bits(self) -> usize {
        match self {
            EdCurve::Ed25519 | EdCurve::X25519 => 255,
            EdCurve::Ed448 | EdCurve::X448 => 448,
        }
    }

    /// Content octets of the curve's OID (RFC 8410).
    fn oid_content(self) -> &'static [u8] {
        match self {
            EdCurve::X25519 => &[0x2b, 0x65, 0x6e],
            EdCurve::X448 => &[0x2b, 0x65, 0x6f],
            EdCurve::Ed25519 => &[0x2b, 0x65, 0x70],
            EdCurve::Ed448 => &[0x2b, 0x65, 0x71],
        }
    }

    /// The PrintableString names of PKCS#11 3.0 (first) and the ones some clients send.
    fn names(self) -> &'static [&'static [u8]] {
        match self {
            EdCurve::Ed25519 => &[b"edwards25519", b"Ed25519", b"ed25519"],
            EdCurve::Ed448 => &[b"edwards448", b"Ed448", b"ed448"],
            EdCurve::X25519 => &[b"curve25519", b"X25519", b"x25519"],
            EdCurve::X448 => &[b"curve448", b"X448", b"x448"],
        }
    }

    /// The `CKA_EC_PARAMS` the token writes: the DER OID.
    pub fn oid_der(self) -> Vec<u8> {
        let mut out = Vec::with_capacity(5);
        push_tlv(&mut out, TAG_OID, self.oid_content());
        out
    }
}

/// Parse `CKA_EC_PARAMS` naming an Edwards or Montgomery curve: the DER OID (RFC 8410) or a DER
/// PrintableString (`"edwards25519"`, `"edwards448"`, `"curve25519"`, `"curve448"`, and the
/// `"Ed25519"`-style names).
///
/// # Errors
/// `Error::CurveNotSupported` for a well-formed value naming another curve (P-256 included),
/// `Error::DomainParamsInvalid` for anything that is not one such DER value.
pub fn parse_params(der: &[u8]) -> Result<EdCurve> {
    let (tag, content, rest) = read_tlv(der).ok_or(Error::DomainParamsInvalid)?;
    if !rest.is_empty() {
        return Err(Error::DomainParamsInvalid);
    }
    match tag {
        TAG_OID if is_valid_oid(content) => {
            EdCurve::ALL.iter().copied().find(|c| c.oid_content() == content).ok_or(Error::CurveNotSupported)
        }
        TAG_PRINTABLE_STRING => EdCurve::ALL
            .iter()
            .copied()
            .find(|c| c.names().contains(&content))
            .ok_or(Error::CurveNotSupported),
        TAG_SEQUENCE | 0x05 => Err(Error::CurveNotSupported),
        _ => Err(Error::DomainParamsInvalid),
    }
}

/// `CKA_EC_POINT` as PKCS#11 3.x has it for these curves: the raw public key in a DER OCTET
/// STRING.
pub fn encode_point(raw: &[u8]) -> Vec<u8> {
    encode_ec_point(raw)
}

/// Decode a public key given as the DER OCTET STRING of the spec or raw (clients differ; the
/// lengths tell them apart). Edwards keys must be points of the curve; any Montgomery
/// u-coordinate of the right length is accepted, as RFC 7748 says.
///
/// # Errors
/// `Error::AttributeValueInvalid` when neither reading gives a valid key of `curve`.
pub fn decode_point(curve: EdCurve, bytes: &[u8]) -> Result<Vec<u8>> {
    let raw = if bytes.len() == curve.public_len() {
        bytes
    } else {
        match read_tlv(bytes) {
            Some((TAG_OCTET_STRING, content, [])) if content.len() == curve.public_len() => content,
            _ => return Err(Error::AttributeValueInvalid),
        }
    };
    match curve {
        EdCurve::Ed25519 => {
            ed25519_point(raw).ok_or(Error::AttributeValueInvalid)?;
        }
        EdCurve::Ed448 => {
            ed448_key(raw).ok_or(Error::AttributeValueInvalid)?;
        }
        EdCurve::X25519 | EdCurve::X448 => {}
    }
    Ok(raw.to_vec())
}

/// DER SubjectPublicKeyInfo (RFC 8410) for `CKA_PUBLIC_KEY_INFO`.
pub fn public_key_info(curve: EdCurve, raw: &[u8]) -> Vec<u8> {
    let mut algorithm = Vec::with_capacity(8);
    push_tlv(&mut algorithm, TAG_OID, curve.oid_content());
    let mut bits = Vec::with_capacity(raw.len() + 1);
    bits.push(0);
    bits.extend_from_slice(raw);
    let mut body = Vec::with_capacity(raw.len() + 16);
    push_tlv(&mut body, TAG_SEQUENCE, &algorithm);
    push_tlv(&mut body, TAG_BIT_STRING, &bits);
    let mut out = Vec::with_capacity(body.len() + 2);
    push_tlv(&mut out, TAG_SEQUENCE, &body);
    out
}

/// The raw public key of a raw private key.
///
/// # Errors
/// `Error::AttributeValueInvalid` when `private` is not `private_len` bytes.
pub fn public_from_private(curve: EdCurve, private: &[u8]) -> Result<Vec<u8>> {
    if private.len() != curve.private_len() {
        return Err(Error::AttributeValueInvalid);
    }
    match curve {
        EdCurve::Ed25519 => Ok(ed25519_signing_key(private)?.verifying_key().to_bytes().to_vec()),
        EdCurve::Ed448 => Ok(ed448_signing_key(private)?.verifying_key().to_bytes().to_vec()),
        EdCurve::X25519 => {
            let k = Zeroizing::new(array32(private)?);
            Ok(x25519_dalek::x25519(*k, x25519_dalek::X25519_BASEPOINT_BYTES).to_vec())
        }
        EdCurve::X448 => {
            let k = Zeroizing::new(array56(private)?);
            x448::x448(*k, x448::X448_BASEPOINT_BYTES).map(|p| p.to_vec()).ok_or(Error::FunctionFailed)
        }
    }
}

/// A new key pair: (raw private key, raw public key). Every string of the right length is a
/// private key, so one draw from `rng` suffices (and a deterministic RNG gives a
/// deterministic key).
///
/// # Errors
/// Whatever `rng.fill` returns.
pub fn generate(curve: EdCurve, rng: &mut dyn Rng) -> Result<(SecretBytes, Vec<u8>)> {
    let mut private = Zeroizing::new(alloc::vec![0u8; curve.private_len()]);
    rng.fill(&mut private)?;
    let public = public_from_private(curve, &private)?;
    Ok((SecretBytes::from_slice(&private), public))
}

/// The message hash of the pre-hashed variants: SHA-512 for Ed25519ph, SHAKE256 with 64 bytes
/// of output for Ed448ph. Fed incrementally, so `C_SignUpdate` need not buffer.
#[derive(Clone, Debug)]
pub enum Prehash {
    /// Ed25519ph.
    Sha512(Sha512),
    /// Ed448ph.
    Shake256(Shake256),
}

impl Prehash {
    /// A fresh hash for `curve`'s pre-hashed variant.
    ///
    /// # Errors
    /// `Error::KeyTypeInconsistent` for a Montgomery curve.
    pub fn new(curve: EdCurve) -> Result<Self> {
        match curve {
            EdCurve::Ed25519 => Ok(Prehash::Sha512(Sha512::new())),
            EdCurve::Ed448 => Ok(Prehash::Shake256(Shake256::default())),
            EdCurve::X25519 | EdCurve::X448 => Err(Error::KeyTypeInconsistent),
        }
    }

    /// Feed message bytes.
    pub fn update(&mut self, data: &[u8]) {
        match self {
            Prehash::Sha512(h) => sha2::Digest::update(h, data),
            Prehash::Shake256(h) => h.update(data),
        }
    }

    /// `PH(M)`, 64 bytes, without consuming the state.
    pub fn finish(&self) -> [u8; 64] {
        let mut out = [0u8; 64];
        match self {
            Prehash::Sha512(h) => out.copy_from_slice(&h.clone().finalize()),
            Prehash::Shake256(h) => h.clone().finalize_xof().read(&mut out),
        }
        out
    }
}

/// An Ed25519/Ed448 signature over `message` (not pre-hashed). For Ed25519, `context: None` is
/// pure Ed25519 and `Some(ctx)` Ed25519ctx (RFC 8032 forbids an empty ctx there); for Ed448,
/// `None` is the empty context.
///
/// # Errors
/// - `Error::MechanismParamInvalid` for a context over 255 bytes, or an empty Ed25519ctx one.
/// - `Error::AttributeValueInvalid` when `private` is not a valid key.
/// - `Error::KeyTypeInconsistent` for a Montgomery curve.
pub fn sign(curve: EdCurve, private: &[u8], context: Option<&[u8]>, message: &[u8]) -> Result<Vec<u8>> {
    check_context(curve, context)?;
    match curve {
        EdCurve::Ed25519 => {
            let key = ed25519_signing_key(private)?;
            match context {
                None => {
                    use ed25519_dalek::Signer as _;
                    Ok(key.sign(message).to_bytes().to_vec())
                }
                Some(ctx) => Ok(ed25519_dom2_sign(private, 0, ctx, message)?.to_vec()),
            }
        }
        EdCurve::Ed448 => {
            let key = ed448_signing_key(private)?;
            let sig = key
                .sign_ctx(context.unwrap_or_default(), message)
                .map_err(|_| Error::MechanismParamInvalid)?;
            Ok(sig.to_bytes().to_vec())
        }
        EdCurve::X25519 | EdCurve::X448 => Err(Error::KeyTypeInconsistent),
    }
}

/// Check a signature made by [`sign`] with the same `context`.
///
/// # Errors
/// - `Error::SignatureLenRange` when `signature` is not `signature_len` bytes.
/// - `Error::SignatureInvalid` when it does not verify.
/// - `Error::MechanismParamInvalid`, `Error::KeyTypeInconsistent` as for [`sign`].
/// - `Error::AttributeValueInvalid` when `public` is not a valid key.
pub fn verify(
    curve: EdCurve,
    public: &[u8],
    context: Option<&[u8]>,
    message: &[u8],
    signature: &[u8],
) -> Result<()> {
    check_context(curve, context)?;
    check_signature_len(curve, signature)?;
    match curve {
        EdCurve::Ed25519 => match context {
            None => {
                let key = ed25519_verifying_key(public)?;
                let sig =
                    ed25519_dalek::Signature::from_slice(signature).map_err(|_| Error::SignatureInvalid)?;
                key.verify_strict(message, &sig).map_err(|_| Error::SignatureInvalid)
            }
            Some(ctx) => ed25519_dom2_verify(public, 0, ctx, message, signature),
        },
        EdCurve::Ed448 => {
            let key = ed448_key(public).ok_or(Error::AttributeValueInvalid)?;
            let sig =
                ed448_goldilocks::Signature::from_slice(signature).map_err(|_| Error::SignatureInvalid)?;
            key.verify_ctx(&sig, context.unwrap_or_default(), message).map_err(|_| Error::SignatureInvalid)
        }
        EdCurve::X25519 | EdCurve::X448 => Err(Error::KeyTypeInconsistent),
    }
}

/// Ed25519ph / Ed448ph: a signature over the finished [`Prehash`] of the message.
///
/// # Errors
/// As [`sign`]; an empty context is allowed here.
pub fn sign_prehashed(curve: EdCurve, private: &[u8], context: &[u8], prehash: &Prehash) -> Result<Vec<u8>> {
    if context.len() > MAX_CONTEXT {
        return Err(Error::MechanismParamInvalid);
    }
    let ph = prehash.finish();
    match curve {
        EdCurve::Ed25519 => Ok(ed25519_dom2_sign(private, 1, context, &ph)?.to_vec()),
        EdCurve::Ed448 => {
            let key = ed448_signing_key(private)?;
            let sig = key
                .sign_prehashed(Some(context), FixedPrehash(ph))
                .map_err(|_| Error::MechanismParamInvalid)?;
            Ok(sig.to_bytes().to_vec())
        }
        EdCurve::X25519 | EdCurve::X448 => Err(Error::KeyTypeInconsistent),
    }
}

/// Check an Ed25519ph / Ed448ph signature.
///
/// # Errors
/// As [`verify`].
pub fn verify_prehashed(
    curve: EdCurve,
    public: &[u8],
    context: &[u8],
    prehash: &Prehash,
    signature: &[u8],
) -> Result<()> {
    if context.len() > MAX_CONTEXT {
        return Err(Error::MechanismParamInvalid);
    }
    check_signature_len(curve, signature)?;
    let ph = prehash.finish();
    match curve {
        EdCurve::Ed25519 => ed25519_dom2_verify(public, 1, context, &ph, signature),
        EdCurve::Ed448 => {
            let key = ed448_key(public).ok_or(Error::AttributeValueInvalid)?;
            let sig =
                ed448_goldilocks::Signature::from_slice(signature).map_err(|_| Error::SignatureInvalid)?;
            key.verify_prehashed(&sig, Some(context), FixedPrehash(ph)).map_err(|_| Error::SignatureInvalid)
        }
        EdCurve::X25519 | EdCurve::X448 => Err(Error::KeyTypeInconsistent),
    }
}

/// X25519 / X448 (RFC 7748 §5): the shared secret of `private` and the peer's public key, raw
/// or as a DER OCTET STRING.
///
/// # Errors
/// - `Error::MechanismParamInvalid` when `peer` has the wrong length, or is a low-order point
///   (the all-zero output of RFC 7748 §6: no contribution from us).
/// - `Error::AttributeValueInvalid` when `private` has the wrong length.
/// - `Error::KeyTypeInconsistent` for an Edwards curve.
pub fn diffie_hellman(curve: EdCurve, private: &[u8], peer: &[u8]) -> Result<SecretBytes> {
    if curve.is_edwards() {
        return Err(Error::KeyTypeInconsistent);
    }
    let peer = decode_point(curve, peer).map_err(|_| Error::MechanismParamInvalid)?;
    if private.len() != curve.private_len() {
        return Err(Error::AttributeValueInvalid);
    }
    let shared = match curve {
        EdCurve::X25519 => {
            let k = Zeroizing::new(array32(private)?);
            Zeroizing::new(x25519_dalek::x25519(*k, array32(&peer)?).to_vec())
        }
        _ => {
            let k = Zeroizing::new(array56(private)?);
            Zeroizing::new(x448::x448(*k, array56(&peer)?).ok_or(Error::MechanismParamInvalid)?.to_vec())
        }
    };
    if shared.iter().all(|&b| b == 0) {
        return Err(Error::MechanismParamInvalid);
    }
    Ok(SecretBytes::from_slice(&shared))
}

/// A private key as a PKCS#8 `PrivateKeyInfo` (RFC 8410 `CurvePrivateKey`), for `C_WrapKey`.
///
/// # Errors
/// `Error::AttributeValueInvalid` when `private` has the wrong length.
pub fn to_pkcs8(curve: EdCurve, private: &[u8]) -> Result<SecretBytes> {
    if private.len() != curve.private_len() {
        return Err(Error::AttributeValueInvalid);
    }
    let mut inner = Zeroizing::new(Vec::with_capacity(private.len() + 2));
    push_tlv(&mut inner, TAG_OCTET_STRING, private);
    let mut algorithm = Vec::with_capacity(8);
    push_tlv(&mut algorithm, TAG_OID, curve.oid_content());
    let mut body = Zeroizing::new(Vec::with_capacity(inner.len() + 16));
    push_tlv(&mut body, TAG_INTEGER, &[0]);
    push_tlv(&mut body, TAG_SEQUENCE, &algorithm);
    push_tlv(&mut body, TAG_OCTET_STRING, &inner);
    let mut out = Vec::with_capacity(body.len() + 2);
    push_tlv(&mut out, TAG_SEQUENCE, &body);
    Ok(SecretBytes::new(out))
}

/// The curve and raw private key of an RFC 8410 PKCS#8 key (version 1 or 2; attributes and an
/// embedded public key are ignored, but an embedded public key must match).
///
/// # Errors
/// `Error::WrappedKeyInvalid` for anything else.
pub fn from_pkcs8(der: &[u8]) -> Result<(EdCurve, SecretBytes)> {
    let bad = Error::WrappedKeyInvalid;
    let Some((TAG_SEQUENCE, body, [])) = read_tlv(der) else { return Err(bad) };
    let Some((TAG_INTEGER, version, rest)) = read_tlv(body) else { return Err(bad) };
    if version != [0] && version != [1] {
        return Err(bad);
    }
    let Some((TAG_SEQUENCE, algorithm, rest)) = read_tlv(rest) else { return Err(bad) };
    let Some((TAG_OID, oid, [])) = read_tlv(algorithm) else { return Err(bad) };
    let curve = EdCurve::ALL.iter().copied().find(|c| c.oid_content() == oid).ok_or(bad)?;
    let Some((TAG_OCTET_STRING, inner, rest)) = read_tlv(rest) else { return Err(bad) };
    let Some((TAG_OCTET_STRING, private, [])) = read_tlv(inner) else { return Err(bad) };
    if private.len() != curve.private_len() {
        return Err(bad);
    }
    // OneAsymmetricKey: [0] attributes, then [1] IMPLICIT BIT STRING publicKey.
    let mut rest = rest;
    while let Some((tag, content, next)) = read_tlv(rest) {
        match tag {
            0xa0 => {}
            0x81 => {
                let expected = public_from_private(curve, private).map_err(|_| bad)?;
                if content.first() != Some(&0) || content[1..] != expected[..] {
                    return Err(bad);
                }
            }
            _ => return Err(bad),
        }
        rest = next;
    }
    if !rest.is_empty() {
        return Err(bad);
    }
    Ok((curve, SecretBytes::from_slice(private)))
}

fn check_context(curve: EdCurve, context: Option<&[u8]>) -> Result<()> {
    match context {
        Some(c) if c.len() > MAX_CONTEXT => Err(Error::MechanismParamInvalid),
        Some([]) if curve == EdCurve::Ed25519 => Err(Error::MechanismParamInvalid),
        _ => Ok(()),
    }
}

fn check_signature_len(curve: EdCurve, signature: &[u8]) -> Result<()> {
    if curve.is_edwards() && signature.len() == curve.signature_len() {
        Ok(())
    } else if curve.is_edwards() {
        Err(Error::SignatureLenRange)
    } else {
        Err(Error::KeyTypeInconsistent)
    }
}

fn array32(bytes: &[u8]) -> Result<[u8; 32]> {
    bytes.try_into().map_err(|_| Error::AttributeValueInvalid)
}

fn array56(bytes: &[u8]) -> Result<[u8; 56]> {
    bytes.try_into().map_err(|_| Error::AttributeValueInvalid)
}

fn ed25519_signing_key(private: &[u8]) -> Result<ed25519_dalek::SigningKey> {
    let bytes = Zeroizing::new(array32(private)?);
    Ok(ed25519_dalek::SigningKey::from_bytes(&bytes))
}

fn ed25519_verifying_key(public: &[u8]) -> Result<ed25519_dalek::VerifyingKey> {
    let bytes = array32(public)?;
    ed25519_dalek::VerifyingKey::from_bytes(&bytes).map_err(|_| Error::AttributeValueInvalid)
}

/// The decompressed point of an Ed25519 public key.
fn ed25519_point(public: &[u8]) -> Option<EdwardsPoint> {
    CompressedEdwardsY(public.try_into().ok()?).decompress()
}

fn ed448_signing_key(private: &[u8]) -> Result<ed448_goldilocks::SigningKey> {
    ed448_goldilocks::SigningKey::try_from(private).map_err(|_| Error::AttributeValueInvalid)
}

fn ed448_key(public: &[u8]) -> Option<ed448_goldilocks::VerifyingKey> {
    let bytes: [u8; 57] = public.try_into().ok()?;
    ed448_goldilocks::VerifyingKey::from_bytes(&bytes).ok()
}

/// A finished Ed448ph hash handed to `ed448-goldilocks`.
struct FixedPrehash([u8; 64]);

impl ed448_goldilocks::PreHash for FixedPrehash {
    fn fill_bytes(&mut self, out: &mut [u8]) {
        let n = out.len().min(64);
        out[..n].copy_from_slice(&self.0[..n]);
    }
}

/// `SHA-512(dom2(phflag, ctx) || parts…)` reduced to a scalar.
fn dom2_scalar(phflag: u8, context: &[u8], parts: &[&[u8]]) -> Scalar {
    let mut h = Sha512::new();
    sha2::Digest::update(&mut h, DOM2_PREFIX);
    // `context` is at most 255 bytes (checked by every caller).
    sha2::Digest::update(&mut h, [phflag, u8::try_from(context.len()).unwrap_or(u8::MAX)]);
    sha2::Digest::update(&mut h, context);
    for p in parts {
        sha2::Digest::update(&mut h, p);
    }
    let mut wide = Zeroizing::new([0u8; 64]);
    wide.copy_from_slice(&h.finalize());
    Scalar::from_bytes_mod_order_wide(&wide)
}

/// RFC 8032 §5.1.6 with `dom2(phflag, ctx)`: Ed25519ctx (`phflag` 0, `m` the message) and
/// Ed25519ph (`phflag` 1, `m` = SHA-512 of the message).
fn ed25519_dom2_sign(private: &[u8], phflag: u8, context: &[u8], m: &[u8]) -> Result<[u8; 64]> {
    let secret = Zeroizing::new(array32(private)?);
    let expanded = ed25519_dalek::hazmat::ExpandedSecretKey::from(&*secret);
    let public = EdwardsPoint::mul_base(&expanded.scalar).compress();
    let r = dom2_scalar(phflag, context, &[&expanded.hash_prefix, m]);
    let big_r = EdwardsPoint::mul_base(&r).compress();
    let k = dom2_scalar(phflag, context, &[big_r.as_bytes(), public.as_bytes(), m]);
    let s = k * expanded.scalar + r;
    let mut sig = [0u8; 64];
    sig[..32].copy_from_slice(big_r.as_bytes());
    sig[32..].copy_from_slice(s.as_bytes());
    Ok(sig)
}

/// RFC 8032 §5.1.7 with `dom2`, cofactorless and strict like `verify_strict`.
fn ed25519_dom2_verify(public: &[u8], phflag: u8, context: &[u8], m: &[u8], signature: &[u8]) -> Result<()> {
    let a = ed25519_point(public).ok_or(Error::AttributeValueInvalid)?;
    let (r_bytes, s_bytes) = signature.split_at_checked(32).ok_or(Error::SignatureLenRange)?;
    let s_arr: [u8; 32] = s_bytes.try_into().map_err(|_| Error::SignatureLenRange)?;
    let s = Option::<Scalar>::from(Scalar::from_canonical_bytes(s_arr)).ok_or(Error::SignatureInvalid)?;
    let r = ed25519_point(r_bytes).ok_or(Error::SignatureInvalid)?;
    if a.is_small_order() || r.is_small_order() {
        return Err(Error::SignatureInvalid);
    }
    let k = dom2_scalar(phflag, context, &[r_bytes, public, m]);
    let expected = EdwardsPoint::vartime_double_scalar_mul_basepoint(&k, &-a, &s).compress();
    if expected.as_bytes()[..] == r_bytes[..] { Ok(()) } else { Err(Error::SignatureInvalid) }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]
mod tests {
    use super::*;
    use crate::rng::DeterministicRng;

    fn h(s: &str) -> Vec<u8> {
        hex::decode(s.replace([' ', '\n'], "")).unwrap()
    }

    fn prehashed(curve: EdCurve, msg: &[u8]) -> Prehash {
        let mut p = Prehash::new(curve).unwrap();
        p.update(msg);
        p
    }

    // RFC 8032 §7.1, TEST 1 and TEST 3 (Ed25519).
    #[test]
    fn rfc8032_ed25519() {
        let cases = [
            (
                "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
                "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
                "",
                "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
            ),
            (
                "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
                "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
                "af82",
                "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a",
            ),
        ];
        for (sk, pk, msg, sig) in cases {
            let (sk, pk, msg, sig) = (h(sk), h(pk), h(msg), h(sig));
            assert_eq!(public_from_private(EdCurve::Ed25519, &sk).unwrap(), pk);
            assert_eq!(sign(EdCurve::Ed25519, &sk, None, &msg).unwrap(), sig);
            verify(EdCurve::Ed25519, &pk, None, &msg, &sig).unwrap();
            let mut bad = sig.clone();
            bad[10] ^= 1;
            assert_eq!(verify(EdCurve::Ed25519, &pk, None, &msg, &bad), Err(Error::SignatureInvalid));
            assert_eq!(verify(EdCurve::Ed25519, &pk, None, &msg, &sig[..63]), Err(Error::SignatureLenRange));
        }
    }

    // RFC 8032 §7.2 (Ed25519ctx, "foo" and "bar" contexts) and §7.3 (Ed25519ph, "abc").
    #[test]
    fn rfc8032_ed25519ctx_and_ph() {
        let sk = h("0305334e381af78f141cb666f6199f57bc3495335a256a95bd2a55bf546663f6");
        let pk = h("dfc9425e4f968f7f0c29f0259cf5f9aed6851c2bb4ad8bfb860cfee0ab248292");
        let msg = h("f726936d19c800494e3fdaff20b276a8");
        let cases = [
            (
                "666f6f",
                "55a4cc2f70a54e04288c5f4cd1e45a7bb520b36292911876cada7323198dd87a8b36950b95130022907a7fb7c4e9b2d5f6cca685a587b4b21f4b888e4e7edb0d",
            ),
            (
                "626172",
                "fc60d5872fc46b3aa69f8b5b4351d5808f92bcc044606db097abab6dbcb1aee3216c48e8b3b66431b5b186d1d28f8ee15a5ca2df6668346291c2043d4eb3e90d",
            ),
        ];
        for (ctx, sig) in cases {
            let (ctx, sig) = (h(ctx), h(sig));
            assert_eq!(sign(EdCurve::Ed25519, &sk, Some(&ctx), &msg).unwrap(), sig);
            verify(EdCurve::Ed25519, &pk, Some(&ctx), &msg, &sig).unwrap();
            assert_eq!(verify(EdCurve::Ed25519, &pk, Some(b"baz"), &msg, &sig), Err(Error::SignatureInvalid));
            assert_eq!(verify(EdCurve::Ed25519, &pk, None, &msg, &sig), Err(Error::SignatureInvalid));
        }
        assert_eq!(sign(EdCurve::Ed25519, &sk, Some(&[]), &msg), Err(Error::MechanismParamInvalid));
        assert_eq!(sign(EdCurve::Ed25519, &sk, Some(&[0; 256]), &msg), Err(Error::MechanismParamInvalid));

        let sk = h("833fe62409237b9d62ec77587520911e9a759cec1d19755b7da901b96dca3d42");
        let pk = h("ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf");
        let sig = h(
            "98a70222f0b8121aa9d30f813d683f809e462b469c7ff87639499bb94e6dae4131f85042463c2a355a2003d062adf5aaa10b8c61e636062aaad11c2a26083406",
        );
        assert_eq!(public_from_private(EdCurve::Ed25519, &sk).unwrap(), pk);
        let ph = prehashed(EdCurve::Ed25519, b"abc");
        assert_eq!(sign_prehashed(EdCurve::Ed25519, &sk, &[], &ph).unwrap(), sig);
        verify_prehashed(EdCurve::Ed25519, &pk, &[], &ph, &sig).unwrap();
        assert_eq!(
            verify_prehashed(EdCurve::Ed25519, &pk, &[], &prehashed(EdCurve::Ed25519, b"abd"), &sig),
            Err(Error::SignatureInvalid)
        );
        // The hand-written dom2 path agrees with ed25519-dalek's Ed25519ph, with a context too.
        let key = ed25519_signing_key(&sk).unwrap();
        let mut h512 = Sha512::new();
        sha2::Digest::update(&mut h512, b"abc");
        let dalek = key.sign_prehashed(h512, Some(b"ctx")).unwrap().to_bytes();
        assert_eq!(sign_prehashed(EdCurve::Ed25519, &sk, b"ctx", &ph).unwrap(), dalek.to_vec());
    }

    // RFC 8032 §7.4 (Ed448: 1-octet message, and with context "foo") and §7.5 (Ed448ph "abc").
    #[test]
    fn rfc8032_ed448() {
        let sk = h(
            "c4eab05d357007c632f3dbb48489924d552b08fe0c353a0d4a1f00acda2c463afbea67c5e8d2877c5e3bc397a659949ef8021e954e0a12274e",
        );
        let pk = h(
            "43ba28f430cdff456ae531545f7ecd0ac834a55d9358c0372bfa0c6c6798c0866aea01eb00742802b8438ea4cb82169c235160627b4c3a9480",
        );
        let msg = h("03");
        let sig = h(
            "26b8f91727bd62897af15e41eb43c377efb9c610d48f2335cb0bd0087810f4352541b143c4b981b7e18f62de8ccdf633fc1bf037ab7cd779805e0dbcc0aae1cbcee1afb2e027df36bc04dcecbf154336c19f0af7e0a6472905e799f1953d2a0ff3348ab21aa4adafd1d234441cf807c03a00",
        );
        let sig_foo = h(
            "d4f8f6131770dd46f40867d6fd5d5055de43541f8c5e35abbcd001b32a89f7d2151f7647f11d8ca2ae279fb842d607217fce6e042f6815ea000c85741de5c8da1144a6a1aba7f96de42505d7a7298524fda538fccbbb754f578c1cad10d54d0d5428407e85dcbc98a49155c13764e66c3c00",
        );
        assert_eq!(public_from_private(EdCurve::Ed448, &sk).unwrap(), pk);
        assert_eq!(sign(EdCurve::Ed448, &sk, None, &msg).unwrap(), sig);
        assert_eq!(sign(EdCurve::Ed448, &sk, Some(&[]), &msg).unwrap(), sig, "Ed448 takes an empty context");
        verify(EdCurve::Ed448, &pk, None, &msg, &sig).unwrap();
        assert_eq!(sign(EdCurve::Ed448, &sk, Some(b"foo"), &msg).unwrap(), sig_foo);
        verify(EdCurve::Ed448, &pk, Some(b"foo"), &msg, &sig_foo).unwrap();
        assert_eq!(verify(EdCurve::Ed448, &pk, None, &msg, &sig_foo), Err(Error::SignatureInvalid));
        assert_eq!(verify(EdCurve::Ed448, &pk, None, &msg, &sig[..113]), Err(Error::SignatureLenRange));

        let sk = h(
            "833fe62409237b9d62ec77587520911e9a759cec1d19755b7da901b96dca3d42ef7822e0d5104127dc05d6dbefde69e3ab2cec7c867c6e2c49",
        );
        let pk = h(
            "259b71c19f83ef77a7abd26524cbdb3161b590a48f7d17de3ee0ba9c52beb743c09428a131d6b1b57303d90d8132c276d5ed3d5d01c0f53880",
        );
        let sig = h(
            "822f6901f7480f3d5f562c592994d9693602875614483256505600bbc281ae381f54d6bce2ea911574932f52a4e6cadd78769375ec3ffd1b801a0d9b3f4030cd433964b6457ea39476511214f97469b57dd32dbc560a9a94d00bff07620464a3ad203df7dc7ce360c3cd3696d9d9fab90f00",
        );
        assert_eq!(public_from_private(EdCurve::Ed448, &sk).unwrap(), pk);
        let ph = prehashed(EdCurve::Ed448, b"abc");
        assert_eq!(sign_prehashed(EdCurve::Ed448, &sk, &[], &ph).unwrap(), sig);
        verify_prehashed(EdCurve::Ed448, &pk, &[], &ph, &sig).unwrap();
        assert_eq!(verify_prehashed(EdCurve::Ed448, &pk, b"x", &ph, &sig), Err(Error::SignatureInvalid));
    }

    // RFC 7748 §6.1 and §6.2.
    #[test]
    fn rfc7748_x25519_and_x448() {
        let a = h("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
        let a_pub = h("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
        let b = h("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb");
        let b_pub = h("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
        let k = h("4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");
        assert_eq!(public_from_private(EdCurve::X25519, &a).unwrap(), a_pub);
        assert_eq!(public_from_private(EdCurve::X25519, &b).unwrap(), b_pub);
        assert_eq!(diffie_hellman(EdCurve::X25519, &a, &b_pub).unwrap().expose(), &k[..]);
        assert_eq!(diffie_hellman(EdCurve::X25519, &b, &encode_point(&a_pub)).unwrap().expose(), &k[..]);
        // A low-order point (here 0) gives the all-zero secret: refused.
        assert_eq!(diffie_hellman(EdCurve::X25519, &a, &[0; 32]).unwrap_err(), Error::MechanismParamInvalid);
        assert_eq!(diffie_hellman(EdCurve::X25519, &a, &[9; 31]).unwrap_err(), Error::MechanismParamInvalid);

        let a = h(
            "9a8f4925d1519f5775cf46b04b5800d4ee9ee8bae8bc5565d498c28dd9c9baf574a9419744897391006382a6f127ab1d9ac2d8c0a598726b",
        );
        let a_pub = h(
            "9b08f7cc31b7e3e67d22d5aea121074a273bd2b83de09c63faa73d2c22c5d9bbc836647241d953d40c5b12da88120d53177f80e532c41fa0",
        );
        let b = h(
            "1c306a7ac2a0e2e0990b294470cba339e6453772b075811d8fad0d1d6927c120bb5ee8972b0d3e21374c9c921b09d1b0366f10b65173992d",
        );
        let b_pub = h(
            "3eb7a829b0cd20f5bcfc0b599b6feccf6da4627107bdb0d4f345b43027d8b972fc3e34fb4232a13ca706dcb57aec3dae07bdc1c67bf33609",
        );
        let k = h(
            "07fff4181ac6cc95ec1c16a94a0f74d12da232ce40a77552281d282bb60c0b56fd2464c335543936521c24403085d59a449a5037514a879d",
        );
        assert_eq!(public_from_private(EdCurve::X448, &a).unwrap(), a_pub);
        assert_eq!(public_from_private(EdCurve::X448, &b).unwrap(), b_pub);
        assert_eq!(diffie_hellman(EdCurve::X448, &a, &b_pub).unwrap().expose(), &k[..]);
        assert_eq!(diffie_hellman(EdCurve::X448, &b, &a_pub).unwrap().expose(), &k[..]);
        assert_eq!(diffie_hellman(EdCurve::X448, &a, &[0; 56]).unwrap_err(), Error::MechanismParamInvalid);
        assert_eq!(diffie_hellman(EdCurve::Ed25519, &a, &b_pub).unwrap_err(), Error::KeyTypeInconsistent);
    }

    #[test]
    fn params_points_and_spki() {
        for c in EdCurve::ALL {
            assert_eq!(parse_params(&c.oid_der()), Ok(*c));
            for name in c.names() {
                let mut der = alloc::vec![0x13, u8::try_from(name.len()).unwrap()];
                der.extend_from_slice(name);
                assert_eq!(parse_params(&der), Ok(*c));
            }
        }
        assert_eq!(EdCurve::Ed25519.oid_der(), h("06032b6570"));
        assert_eq!(parse_params(&h("06082a8648ce3d030107")), Err(Error::CurveNotSupported));
        assert_eq!(parse_params(b"\x13\x0aprime256v1"), Err(Error::CurveNotSupported));
        assert_eq!(parse_params(&h("06032b65")), Err(Error::DomainParamsInvalid));
        assert_eq!(parse_params(&h("06032b657000")), Err(Error::DomainParamsInvalid));

        let pk = h("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
        let der = encode_point(&pk);
        assert_eq!(der[..2], [0x04, 0x20]);
        assert_eq!(decode_point(EdCurve::Ed25519, &der).unwrap(), pk);
        assert_eq!(decode_point(EdCurve::Ed25519, &pk).unwrap(), pk);
        assert_eq!(decode_point(EdCurve::Ed25519, &pk[..31]), Err(Error::AttributeValueInvalid));
        // y = 2 is not on edwards25519.
        let mut off = [0u8; 32];
        off[0] = 2;
        assert_eq!(decode_point(EdCurve::Ed25519, &off), Err(Error::AttributeValueInvalid));
        let spki = public_key_info(EdCurve::Ed25519, &pk);
        assert_eq!(spki[..12], h("302a300506032b6570032100")[..]);
        assert_eq!(spki[12..], pk[..]);
    }

    #[test]
    fn generate_and_pkcs8_round_trip() {
        let mut rng = DeterministicRng::from_seed([5; 32]);
        for c in EdCurve::ALL {
            let (sk, pk) = generate(*c, &mut rng).unwrap();
            assert_eq!(sk.len(), c.private_len());
            assert_eq!(pk, public_from_private(*c, sk.expose()).unwrap());
            let der = to_pkcs8(*c, sk.expose()).unwrap();
            let (c2, sk2) = from_pkcs8(der.expose()).unwrap();
            assert_eq!((c2, sk2.expose()), (*c, sk.expose()));
            if c.is_edwards() {
                let sig = sign(*c, sk.expose(), Some(b"ctx"), b"message").unwrap();
                verify(*c, &pk, Some(b"ctx"), b"message", &sig).unwrap();
            }
        }
        // RFC 8410 §10.3's example key.
        let der = h(
            "302e020100300506032b657004220420d4ee72dbf913584ad5b6d8f1f769f8ad3afe7c28cbf1d4fbe097a88f44755842",
        );
        let (c, sk) = from_pkcs8(&der).unwrap();
        assert_eq!(c, EdCurve::Ed25519);
        assert_eq!(to_pkcs8(c, sk.expose()).unwrap().expose(), &der[..]);
        for bad in [&der[..der.len() - 1], &der[1..], &h("3000")[..]] {
            assert_eq!(from_pkcs8(bad).unwrap_err(), Error::WrappedKeyInvalid);
        }
    }
}
