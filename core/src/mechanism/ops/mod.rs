//! The mechanism families: PKCS#11 mechanisms and key objects turned into calls on the
//! algorithm modules. Each family lives in its own file and is registered in the mechanism
//! table ([`super::TABLE`]) and, for key types, in [`super::KEY_KINDS`].

use crate::attribute::Attribute;
use crate::consts::{AttrType, KeyType, ObjectClass};
use crate::object::Object;
use crate::object::policy;
use crate::secret::SecretBytes;
use crate::{Error, Result};

pub mod aead;
pub mod aes_kw;
pub mod block_cipher;
pub mod block_mac;
pub mod dh;
pub mod dsa;
pub mod ec_keys;
pub mod ecdh;
pub mod ecdsa;
pub mod eddsa;
pub mod gcm;
pub mod hmac;
pub mod kdf;
pub mod mldsa;
pub mod rsa;
pub mod secret_keys;
pub mod simple_derive;

/// A key's `CKA_VALUE` as a secret.
pub(crate) fn secret_value(key: &Object) -> Result<SecretBytes> {
    key.bytes(AttrType::VALUE).map(SecretBytes::from_slice).ok_or(Error::KeyTypeInconsistent)
}

/// The key must be of this class (any type).
pub(crate) fn require_class(key: &Object, class: ObjectClass) -> Result<()> {
    if key.class() != class {
        return Err(Error::KeyTypeInconsistent);
    }
    Ok(())
}

/// The key must be of this class and one of these types.
pub(crate) fn require(key: &Object, class: ObjectClass, kt: &[KeyType]) -> Result<()> {
    if key.class() != class || !key.key_type().is_some_and(|k| kt.contains(&k)) {
        return Err(Error::KeyTypeInconsistent);
    }
    Ok(())
}

/// A template's `CK_ULONG` value.
pub(crate) fn template_ulong(template: &[Attribute], ty: AttrType) -> Option<u64> {
    policy::find(template, ty).and_then(Attribute::as_ulong)
}

/// A template's byte-string value.
pub(crate) fn template_bytes(template: &[Attribute], ty: AttrType) -> Option<&[u8]> {
    policy::find(template, ty).and_then(|a| a.value.as_bytes())
}
