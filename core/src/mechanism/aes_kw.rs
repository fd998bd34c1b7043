//! AES key wrap: KW (RFC 3394, NIST SP 800-38F §6.2) and KWP, key wrap with padding
//! (RFC 5649, SP 800-38F §6.3), over [`BlockCipher`]. Integrity failures are one opaque
//! error, and the integrity check value is compared in constant time.

use alloc::vec::Vec;

use zeroize::Zeroize;

use super::block::BlockCipher;
use crate::secret::{SecretBytes, ct_eq};
use crate::{Error, Result};

/// The default initial value of KW (RFC 3394 §2.2.3.1).
pub const KW_IV: [u8; 8] = [0xa6; 8];
/// The constant half of the KWP alternative initial value (RFC 5649 §3).
pub const KWP_AIV: [u8; 4] = [0xa6, 0x59, 0x59, 0xa6];

/// W(S): the six rounds of wrapping over `a` (the integrity register) and `r` (64-bit blocks).
fn wrap_core(cipher: &BlockCipher, a: &mut [u8; 8], r: &mut [u8]) {
    let n = r.len() / 8;
    let mut b = [0u8; 16];
    for j in 0..6u64 {
        for i in 0..n {
            b[..8].copy_from_slice(a);
            b[8..].copy_from_slice(&r[i * 8..i * 8 + 8]);
            cipher.encrypt_blocks(&mut b);
            let t = (n as u64) * j + (i as u64) + 1;
            let mut msb = [0u8; 8];
            msb.copy_from_slice(&b[..8]);
            *a = (u64::from_be_bytes(msb) ^ t).to_be_bytes();
            r[i * 8..i * 8 + 8].copy_from_slice(&b[8..]);
        }
    }
    b.zeroize();
}

/// W^-1(C): undo [`wrap_core`].
fn unwrap_core(cipher: &BlockCipher, a: &mut [u8; 8], r: &mut [u8]) {
    let n = r.len() / 8;
    let mut b = [0u8; 16];
    for j in (0..6u64).rev() {
        for i in (0..n).rev() {
            let t = (n as u64) * j + (i as u64) + 1;
            b[..8].copy_from_slice(&(u64::from_be_bytes(*a) ^ t).to_be_bytes());
            b[8..].copy_from_slice(&r[i * 8..i * 8 + 8]);
            cipher.decrypt_blocks(&mut b);
            a.copy_from_slice(&b[..8]);
            r[i * 8..i * 8 + 8].copy_from_slice(&b[8..]);
        }
    }
    b.zeroize();
}

/// KW-AE: wrap `key` (a multiple of 8 bytes, at least 16) under `cipher` (AES) with `iv`.
///
/// # Errors
/// `DataLenRange` for other lengths; `KeyTypeInconsistent` for a non-AES cipher.
pub fn wrap(cipher: &BlockCipher, iv: &[u8; 8], key: &[u8]) -> Result<Vec<u8>> {
    if !cipher.is_aes() {
        return Err(Error::KeyTypeInconsistent);
    }
    if !key.len().is_multiple_of(8) || key.len() < 16 {
        return Err(Error::DataLenRange);
    }
    let mut a = *iv;
    let mut r = key.to_vec();
    wrap_core(cipher, &mut a, &mut r);
    let mut out = Vec::with_capacity(8 + r.len());
    out.extend_from_slice(&a);
    out.extend_from_slice(&r);
    r.zeroize();
    Ok(out)
}

/// KW-AD: unwrap and check `wrapped` (a multiple of 8 bytes, at least 24).
///
/// # Errors
/// `EncryptedDataLenRange` for other lengths, `EncryptedDataInvalid` when the integrity check
/// fails, `KeyTypeInconsistent` for a non-AES cipher.
pub fn unwrap(cipher: &BlockCipher, iv: &[u8; 8], wrapped: &[u8]) -> Result<SecretBytes> {
    if !cipher.is_aes() {
        return Err(Error::KeyTypeInconsistent);
    }
    if !wrapped.len().is_multiple_of(8) || wrapped.len() < 24 {
        return Err(Error::EncryptedDataLenRange);
    }
    let mut a = [0u8; 8];
    a.copy_from_slice(&wrapped[..8]);
    let mut r = wrapped[8..].to_vec();
    unwrap_core(cipher, &mut a, &mut r);
    if ct_eq(&a, iv) {
        Ok(SecretBytes::new(r))
    } else {
        r.zeroize();
        Err(Error::EncryptedDataInvalid)
    }
}

/// KWP-AE: wrap `key` of any length from 1 byte to 2^32 - 1 bytes; `aiv` is the 4-byte
/// constant of the alternative initial value.
///
/// # Errors
/// `DataLenRange` for an empty or too long key; `KeyTypeInconsistent` for a non-AES cipher.
pub fn wrap_pad(cipher: &BlockCipher, aiv: &[u8; 4], key: &[u8]) -> Result<Vec<u8>> {
    if !cipher.is_aes() {
        return Err(Error::KeyTypeInconsistent);
    }
    let mli = u32::try_from(key.len()).map_err(|_| Error::DataLenRange)?;
    if mli == 0 {
        return Err(Error::DataLenRange);
    }
    let mut a = [0u8; 8];
    a[..4].copy_from_slice(aiv);
    a[4..].copy_from_slice(&mli.to_be_bytes());
    let mut p = key.to_vec();
    p.resize(key.len().div_ceil(8) * 8, 0);
    let out = if p.len() == 8 {
        // One block: a single AES encryption of AIV || P (RFC 5649 §4.1 step 2).
        let mut b = [0u8; 16];
        b[..8].copy_from_slice(&a);
        b[8..].copy_from_slice(&p);
        cipher.encrypt_blocks(&mut b);
        let v = b.to_vec();
        b.zeroize();
        v
    } else {
        wrap_core(cipher, &mut a, &mut p);
        let mut v = Vec::with_capacity(8 + p.len());
        v.extend_from_slice(&a);
        v.extend_from_slice(&p);
        v
    };
    p.zeroize();
    Ok(out)
}

/// KWP-AD: unwrap `wrapped` (a multiple of 8 bytes, at least 16) and check the initial value,
/// the length indicator and the padding.
///
/// # Errors
/// `EncryptedDataLenRange` for other lengths, `EncryptedDataInvalid` for any check that
/// fails, `KeyTypeInconsistent` for a non-AES cipher.
pub fn unwrap_pad(cipher: &BlockCipher, aiv: &[u8; 4], wrapped: &[u8]) -> Result<SecretBytes> {
    if !cipher.is_aes() {
        return Err(Error::KeyTypeInconsistent);
    }
    if !wrapped.len().is_multiple_of(8) || wrapped.len() < 16 {
        return Err(Error::EncryptedDataLenRange);
    }
    let mut a = [0u8; 8];
    let mut p;
    if wrapped.len() == 16 {
        let mut b = [0u8; 16];
        b.copy_from_slice(wrapped);
        cipher.decrypt_blocks(&mut b);
        a.copy_from_slice(&b[..8]);
        p = b[8..].to_vec();
        b.zeroize();
    } else {
        a.copy_from_slice(&wrapped[..8]);
        p = wrapped[8..].to_vec();
        unwrap_core(cipher, &mut a, &mut p);
    }
    let mut mli_bytes = [0u8; 4];
    mli_bytes.copy_from_slice(&a[4..]);
    let mli = u32::from_be_bytes(mli_bytes) as usize;
    let n = p.len();
    // 8(n-1) < MLI <= 8n (in bytes: the padding is 0..=7 bytes), and the padding is zero.
    let len_ok = mli <= n && mli + 8 > n;
    let aiv_ok = ct_eq(&a[..4], aiv);
    let pad_ok = len_ok && p[mli.min(n)..].iter().fold(0u8, |acc, b| acc | b) == 0;
    if !(aiv_ok & len_ok & pad_ok) {
        p.zeroize();
        return Err(Error::EncryptedDataInvalid);
    }
    p.truncate(mli);
    Ok(SecretBytes::new(p))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]
mod tests {
    use super::*;

    fn h(s: &str) -> Vec<u8> {
        hex::decode(s.replace(' ', "")).unwrap()
    }

    fn kek(bytes: usize) -> BlockCipher {
        let k: Vec<u8> = (0..=255u8).take(bytes).collect();
        BlockCipher::aes(&k).unwrap()
    }

    fn check_kw(kek: &BlockCipher, key: &str, wrapped: &str) {
        let (key, wrapped) = (h(key), h(wrapped));
        assert_eq!(wrap(kek, &KW_IV, &key).unwrap(), wrapped);
        assert_eq!(unwrap(kek, &KW_IV, &wrapped).unwrap().expose(), &key[..]);
        for i in 0..wrapped.len() {
            let mut bad = wrapped.clone();
            bad[i] ^= 0x10;
            assert_eq!(unwrap(kek, &KW_IV, &bad).map(|_| ()), Err(Error::EncryptedDataInvalid), "byte {i}");
        }
        assert_eq!(unwrap(kek, &[0; 8], &wrapped).map(|_| ()), Err(Error::EncryptedDataInvalid));
    }

    /// RFC 3394 §4.1-4.6.
    #[test]
    fn rfc3394() {
        let k128 = "00112233445566778899AABBCCDDEEFF";
        check_kw(&kek(16), k128, "1FA68B0A8112B447 AEF34BD8FB5A7B82 9D3E862371D2CFE5");
        check_kw(&kek(24), k128, "96778B25AE6CA435 F92B5B97C050AED2 468AB8A17AD84E5D");
        check_kw(&kek(32), k128, "64E8C3F9CE0F5BA2 63E9777905818A2A 93C8191E7D6E8AE7");
        let k192 = "00112233445566778899AABBCCDDEEFF0001020304050607";
        check_kw(&kek(24), k192, "031D33264E15D332 68F24EC260743EDC E1C6C7DDEE725A93 6BA814915C6762D2");
        check_kw(&kek(32), k192, "A8F9BC1612C68B3F F6E6F4FBE30E71E4 769C8B80A32CB895 8CD5D17D6B254DA1");
        check_kw(
            &kek(32),
            "00112233445566778899AABBCCDDEEFF000102030405060708090A0B0C0D0E0F",
            "28C9F404C4B810F4 CBCCB35CFB87F826 3F5786E2D80ED326 CBC7F0E71A99F43B FB988B9B7A02DD21",
        );
    }

    #[test]
    fn kw_lengths() {
        let k = kek(16);
        for len in [0usize, 8, 15, 17, 23] {
            assert_eq!(wrap(&k, &KW_IV, &alloc::vec![0; len]), Err(Error::DataLenRange), "{len}");
        }
        for len in [0usize, 8, 16, 23, 25] {
            assert_eq!(
                unwrap(&k, &KW_IV, &alloc::vec![0; len]).map(|_| ()),
                Err(Error::EncryptedDataLenRange),
                "{len}"
            );
        }
        let des = BlockCipher::tdes(&[1; 24]).unwrap();
        assert_eq!(wrap(&des, &KW_IV, &[0; 16]), Err(Error::KeyTypeInconsistent));
    }

    /// RFC 5649 §6.
    #[test]
    fn rfc5649() {
        let k = BlockCipher::aes(&h("5840df6e29b02af1 ab493b705bf16ea1 ae8338f4dcc176a8")).unwrap();
        for (key, wrapped) in [
            (
                "c37b7e6492584340 bed1220780894115 5068f738",
                "138bdeaa9b8fa7fc 61f97742e72248ee 5ae6ae5360d1ae6a 5f54f373fa543b6a",
            ),
            ("466f7250617369", "afbeb0f07dfbf541 9200f2ccb50bb24f"),
        ] {
            let (key, wrapped) = (h(key), h(wrapped));
            assert_eq!(wrap_pad(&k, &KWP_AIV, &key).unwrap(), wrapped);
            assert_eq!(unwrap_pad(&k, &KWP_AIV, &wrapped).unwrap().expose(), &key[..]);
            for i in 0..wrapped.len() {
                let mut bad = wrapped.clone();
                bad[i] ^= 1;
                assert_eq!(unwrap_pad(&k, &KWP_AIV, &bad).map(|_| ()), Err(Error::EncryptedDataInvalid));
            }
        }
        // Round trips over every padding length, and a length indicator that lies.
        for len in 1..=33usize {
            let key: Vec<u8> = (0..=255u8).take(len).collect();
            let w = wrap_pad(&k, &KWP_AIV, &key).unwrap();
            assert_eq!(w.len(), 8 + len.div_ceil(8) * 8);
            assert_eq!(unwrap_pad(&k, &KWP_AIV, &w).unwrap().expose(), &key[..]);
        }
        assert_eq!(wrap_pad(&k, &KWP_AIV, &[]), Err(Error::DataLenRange));
        assert_eq!(unwrap_pad(&k, &KWP_AIV, &[0; 8]).map(|_| ()), Err(Error::EncryptedDataLenRange));
        // A KW blob (initial value A6A6...) is not a KWP blob.
        let kw = wrap(&k, &KW_IV, &[7; 16]).unwrap();
        assert_eq!(unwrap_pad(&k, &KWP_AIV, &kw).map(|_| ()), Err(Error::EncryptedDataInvalid));
    }
}
