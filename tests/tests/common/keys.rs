//! Key generation templates and conversions to the reference implementations' key types.

use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::Session;
use p256::ecdsa::VerifyingKey;

use super::bytes_attr;

/// DER of the OID prime256v1 / secp256r1 (1.2.840.10045.3.1.7), the `CKA_EC_PARAMS` of P-256.
pub const P256_PARAMS: &[u8] = &[0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];

/// Options of a generated secret key.
#[derive(Debug, Clone, Copy)]
pub struct SecretKeyOptions {
    pub token: bool,
    /// `CKA_SENSITIVE` false and `CKA_EXTRACTABLE` true, so the test can read `CKA_VALUE`.
    pub readable: bool,
}

impl SecretKeyOptions {
    pub const SESSION_READABLE: Self = SecretKeyOptions { token: false, readable: true };
    pub const SESSION_SECRET: Self = SecretKeyOptions { token: false, readable: false };
}

fn secret_policy(opts: SecretKeyOptions) -> [Attribute; 3] {
    [
        Attribute::Token(opts.token),
        Attribute::Sensitive(!opts.readable),
        Attribute::Extractable(opts.readable),
    ]
}

/// `CKM_AES_KEY_GEN` of a key of `len` bytes for encryption and decryption.
pub fn aes_key(session: &Session, len: u64, opts: SecretKeyOptions) -> ObjectHandle {
    let mut template = vec![
        Attribute::ValueLen(len.into()),
        Attribute::Encrypt(true),
        Attribute::Decrypt(true),
        Attribute::Label(b"aes key".to_vec()),
    ];
    template.extend(secret_policy(opts));
    session.generate_key(&Mechanism::AesKeyGen, &template).expect("C_GenerateKey(CKM_AES_KEY_GEN)")
}

/// `CKM_GENERIC_SECRET_KEY_GEN` of a key of `len` bytes for MACs.
pub fn hmac_key(session: &Session, len: u64, opts: SecretKeyOptions) -> ObjectHandle {
    let mut template = vec![
        Attribute::Class(ObjectClass::SECRET_KEY),
        Attribute::KeyType(KeyType::GENERIC_SECRET),
        Attribute::ValueLen(len.into()),
        Attribute::Sign(true),
        Attribute::Verify(true),
        Attribute::Label(b"hmac key".to_vec()),
    ];
    template.extend(secret_policy(opts));
    session
        .generate_key(&Mechanism::GenericSecretKeyGen, &template)
        .expect("C_GenerateKey(CKM_GENERIC_SECRET_KEY_GEN)")
}

/// `CKM_EC_KEY_PAIR_GEN` of a P-256 pair; returns (public, private). `extra_private` adds to (or
/// replaces entries of) the private key's template.
pub fn ec_pair(
    session: &Session,
    token: bool,
    label: &str,
    extra_private: &[Attribute],
) -> (ObjectHandle, ObjectHandle) {
    let public = [
        Attribute::Token(token),
        Attribute::EcParams(P256_PARAMS.to_vec()),
        Attribute::Verify(true),
        Attribute::Label(label.as_bytes().to_vec()),
        Attribute::Id(label.as_bytes().to_vec()),
    ];
    let mut private = vec![
        Attribute::Token(token),
        Attribute::Private(true),
        Attribute::Sensitive(true),
        Attribute::Sign(true),
        Attribute::Label(label.as_bytes().to_vec()),
        Attribute::Id(label.as_bytes().to_vec()),
    ];
    // `extra_private` overrides the defaults: a template must not name an attribute twice.
    private.retain(|a| !extra_private.iter().any(|e| e.attribute_type() == a.attribute_type()));
    private.extend_from_slice(extra_private);
    session
        .generate_key_pair(&Mechanism::EccKeyPairGen, &public, &private)
        .expect("C_GenerateKeyPair(CKM_EC_KEY_PAIR_GEN, P-256)")
}

/// The uncompressed SEC1 point inside a `CKA_EC_POINT` value, which PKCS#11 defines as the DER
/// encoding of an OCTET STRING holding the point.
pub fn ec_point_sec1(ec_point: &[u8]) -> &[u8] {
    match ec_point {
        [0x04, len, point @ ..] if usize::from(*len) == point.len() && point.len() < 0x80 => point,
        [0x04, 0x81, len, point @ ..] if usize::from(*len) == point.len() => point,
        _ => panic!(
            "CKA_EC_POINT is not a DER OCTET STRING (spec: DER-encoding of ANSI X9.62 ECPoint \
             value Q): {ec_point:02x?}"
        ),
    }
}

/// The DER OCTET STRING that PKCS#11 stores in `CKA_EC_POINT` for this key.
pub fn ec_point_der(key: &VerifyingKey) -> Vec<u8> {
    let point = key.to_sec1_point(false);
    let bytes = point.as_bytes();
    let mut der = vec![0x04, u8::try_from(bytes.len()).expect("a P-256 point is 65 bytes")];
    der.extend_from_slice(bytes);
    der
}

/// The p256 verifying key of a token EC public key.
pub fn verifying_key(session: &Session, public: ObjectHandle) -> VerifyingKey {
    let ec_point = bytes_attr(session, public, AttributeType::EcPoint);
    VerifyingKey::from_sec1_bytes(ec_point_sec1(&ec_point)).expect("CKA_EC_POINT holds a valid P-256 point")
}
