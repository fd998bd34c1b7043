//! ChaCha20-Poly1305 (RFC 8439) for `CKM_CHACHA20_POLY1305`: a 32-byte key, a 96-bit nonce,
//! a 16-byte tag. The 64-bit-nonce variant PKCS #11 also names is not offered.

use alloc::vec::Vec;

use chacha20poly1305::aead::array::Array;
use chacha20poly1305::{AeadInOut, ChaCha20Poly1305, KeyInit};
use zeroize::Zeroize;

use crate::{Error, Result};

/// Key length in bytes.
pub const KEY_LEN: usize = 32;
/// Nonce length in bytes.
pub const NONCE_LEN: usize = 12;
/// Tag length in bytes.
pub const TAG_LEN: usize = 16;

/// Check key and nonce lengths.
///
/// # Errors
/// `KeySizeRange`, `MechanismParamInvalid`.
pub fn check_params(key_len: usize, nonce_len: usize) -> Result<()> {
    if key_len != KEY_LEN {
        return Err(Error::KeySizeRange);
    }
    if nonce_len != NONCE_LEN {
        return Err(Error::MechanismParamInvalid);
    }
    Ok(())
}

fn aead(key: &[u8]) -> Result<ChaCha20Poly1305> {
    ChaCha20Poly1305::new_from_slice(key).map_err(|_| Error::KeySizeRange)
}

fn nonce(n: &[u8]) -> Result<Array<u8, chacha20poly1305::consts::U12>> {
    Array::try_from(n).map_err(|_| Error::MechanismParamInvalid)
}

/// Encrypt and authenticate: the ciphertext followed by the 16-byte tag.
///
/// # Errors
/// `KeySizeRange`, `MechanismParamInvalid`, `DataLenRange` (beyond RFC 8439's 2^38 bytes).
pub fn seal(key: &[u8], nonce_bytes: &[u8], aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>> {
    check_params(key.len(), nonce_bytes.len())?;
    let mut out = Vec::with_capacity(plaintext.len() + TAG_LEN);
    out.extend_from_slice(plaintext);
    let tag = aead(key)?
        .encrypt_inout_detached(&nonce(nonce_bytes)?, aad, out.as_mut_slice().into())
        .map_err(|_| Error::DataLenRange)?;
    out.extend_from_slice(&tag);
    Ok(out)
}

/// Check the tag, then decrypt.
///
/// # Errors
/// `EncryptedDataInvalid` (bad tag), `EncryptedDataLenRange` (shorter than a tag),
/// `KeySizeRange`, `MechanismParamInvalid`.
pub fn open(key: &[u8], nonce_bytes: &[u8], aad: &[u8], ciphertext_and_tag: &[u8]) -> Result<Vec<u8>> {
    check_params(key.len(), nonce_bytes.len())?;
    let len = ciphertext_and_tag.len().checked_sub(TAG_LEN).ok_or(Error::EncryptedDataLenRange)?;
    let (ct, tag) = ciphertext_and_tag.split_at(len);
    let tag = Array::try_from(tag).map_err(|_| Error::EncryptedDataLenRange)?;
    let mut out = ct.to_vec();
    match aead(key)?.decrypt_inout_detached(&nonce(nonce_bytes)?, aad, out.as_mut_slice().into(), &tag) {
        Ok(()) => Ok(out),
        Err(_) => {
            // The crate compares the tag in constant time and decrypts only after it matched.
            out.zeroize();
            Err(Error::EncryptedDataInvalid)
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]
mod tests {
    use super::*;

    fn h(s: &str) -> Vec<u8> {
        hex::decode(s.replace(' ', "")).unwrap()
    }

    /// RFC 8439 §2.8.2.
    #[test]
    fn rfc8439_aead() {
        let key = h("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f");
        let nonce = h("070000004041424344454647");
        let aad = h("50515253c0c1c2c3c4c5c6c7");
        let pt = b"Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.";
        let ct = h("d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d6\
                    3dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b36\
                    92ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc\
                    3ff4def08e4b7a9de576d26586cec64b6116");
        let tag = h("1ae10b594f09e26a7e902ecbd0600691");
        let mut sealed = ct.clone();
        sealed.extend_from_slice(&tag);
        assert_eq!(seal(&key, &nonce, &aad, pt).unwrap(), sealed);
        assert_eq!(open(&key, &nonce, &aad, &sealed).unwrap(), pt);
        for i in [0, 10, sealed.len() - 1] {
            let mut bad = sealed.clone();
            bad[i] ^= 1;
            assert_eq!(open(&key, &nonce, &aad, &bad), Err(Error::EncryptedDataInvalid));
        }
        assert_eq!(open(&key, &nonce, b"", &sealed), Err(Error::EncryptedDataInvalid));
        assert_eq!(open(&key, &nonce, &aad, &sealed[..15]), Err(Error::EncryptedDataLenRange));
        assert_eq!(seal(&key, &nonce[..8], &aad, pt), Err(Error::MechanismParamInvalid));
        assert_eq!(seal(&key[..16], &nonce, &aad, pt), Err(Error::KeySizeRange));
    }
}
