//! AES-CCM (NIST SP 800-38C, RFC 3610) for `CKM_AES_CCM`: nonces of 7 to 13 bytes, MACs of
//! 4 to 16 bytes (even), built from the CBC-MAC and CTR mode of [`super::block`]. Decryption
//! releases nothing unless the MAC verifies.

use alloc::vec::Vec;

use zeroize::Zeroize;

use super::block::{BlockCipher, Mode, Stream, one_shot, xor_into};
use super::cmac::{BlockMac, MacKind};
use crate::secret::ct_eq;
use crate::{Error, Result};

/// Check nonce and MAC lengths, and that `data_len` fits the length field the nonce leaves.
///
/// # Errors
/// `MechanismParamInvalid`.
pub fn check_params(nonce_len: usize, mac_len: usize, data_len: u64) -> Result<()> {
    if !(7..=13).contains(&nonce_len) || !(4..=16).contains(&mac_len) || !mac_len.is_multiple_of(2) {
        return Err(Error::MechanismParamInvalid);
    }
    let q = 15 - nonce_len;
    if q < 8 && data_len >> (8 * q) != 0 {
        return Err(Error::MechanismParamInvalid);
    }
    Ok(())
}

/// A small length as a byte; callers pass values that [`check_params`] bounded.
fn small(n: usize) -> u8 {
    u8::try_from(n).unwrap_or(u8::MAX)
}

/// The counter block Ctr_0: the flags byte `q - 1`, the nonce, a zero counter.
fn ctr0(nonce: &[u8]) -> [u8; 16] {
    let mut c = [0u8; 16];
    c[0] = small(14 - nonce.len());
    c[1..=nonce.len()].copy_from_slice(nonce);
    c
}

/// The CBC-MAC tag T (untruncated) over `payload` (plaintext).
fn mac(cipher: &BlockCipher, nonce: &[u8], aad: &[u8], mac_len: usize, payload: &[u8]) -> [u8; 16] {
    let q = 15 - nonce.len();
    let mut b0 = [0u8; 16];
    let adata = u8::from(!aad.is_empty());
    // Lengths are range-checked by check_params: q - 1 < 8, (t - 2) / 2 < 8.
    b0[0] = (adata << 6) | (small((mac_len - 2) / 2) << 3) | small(q - 1);
    b0[1..=nonce.len()].copy_from_slice(nonce);
    let len = (payload.len() as u64).to_be_bytes();
    b0[16 - q..].copy_from_slice(&len[8 - q..]);

    let mut m = BlockMac::new(cipher.clone(), MacKind::CbcMac);
    m.update(&b0);
    if !aad.is_empty() {
        let a = aad.len() as u64;
        let header_len = match (u16::try_from(a), u32::try_from(a)) {
            (Ok(short), _) if short < 0xff00 => {
                m.update(&short.to_be_bytes());
                2
            }
            (_, Ok(mid)) => {
                m.update(&[0xff, 0xfe]);
                m.update(&mid.to_be_bytes());
                6
            }
            _ => {
                m.update(&[0xff, 0xff]);
                m.update(&a.to_be_bytes());
                10
            }
        };
        m.update(aad);
        let used = (header_len + aad.len()) % 16;
        if used != 0 {
            m.update(&[0u8; 16][..16 - used]);
        }
    }
    m.update(payload);
    m.finish()
}

/// CTR over `data` from Ctr_1, and the tag mask S_0 = E(Ctr_0).
fn ctr(cipher: &BlockCipher, nonce: &[u8], ctr0: &[u8; 16], data: &[u8]) -> Result<(Vec<u8>, [u8; 16])> {
    let q = 15 - nonce.len();
    let mut ctr1 = *ctr0;
    ctr1[15] = 1;
    let s = Stream::new(cipher.clone(), Mode::Ctr { counter_bits: 8 * u32::from(small(q)) }, true, &ctr1)?;
    let out = one_shot(&s, data)?;
    let mut s0 = *ctr0;
    cipher.encrypt_blocks(&mut s0);
    Ok((out, s0))
}

/// Encrypt and authenticate `plaintext`: the ciphertext followed by a `mac_len`-byte MAC.
///
/// # Errors
/// `MechanismParamInvalid` for bad lengths (see [`check_params`]), `KeyTypeInconsistent`
/// for a non-AES cipher.
pub fn seal(
    cipher: &BlockCipher,
    nonce: &[u8],
    aad: &[u8],
    mac_len: usize,
    plaintext: &[u8],
) -> Result<Vec<u8>> {
    if !cipher.is_aes() {
        return Err(Error::KeyTypeInconsistent);
    }
    check_params(nonce.len(), mac_len, plaintext.len() as u64)?;
    let mut t = mac(cipher, nonce, aad, mac_len, plaintext);
    let (mut out, mut s0) = ctr(cipher, nonce, &ctr0(nonce), plaintext)?;
    xor_into(&mut t, &s0);
    out.extend_from_slice(&t[..mac_len]);
    t.zeroize();
    s0.zeroize();
    Ok(out)
}

/// Decrypt `ciphertext_and_mac` and check its MAC; the plaintext only if the MAC matches.
///
/// # Errors
/// `EncryptedDataInvalid` when the MAC does not match, `EncryptedDataLenRange` for input
/// shorter than the MAC, `MechanismParamInvalid`, `KeyTypeInconsistent`.
pub fn open(
    cipher: &BlockCipher,
    nonce: &[u8],
    aad: &[u8],
    mac_len: usize,
    ciphertext_and_mac: &[u8],
) -> Result<Vec<u8>> {
    if !cipher.is_aes() {
        return Err(Error::KeyTypeInconsistent);
    }
    let text_len = ciphertext_and_mac.len().checked_sub(mac_len).ok_or(Error::EncryptedDataLenRange)?;
    check_params(nonce.len(), mac_len, text_len as u64)?;
    let (ciphertext, given) = ciphertext_and_mac.split_at(text_len);
    let (mut plaintext, mut s0) = ctr(cipher, nonce, &ctr0(nonce), ciphertext)?;
    let mut t = mac(cipher, nonce, aad, mac_len, &plaintext);
    xor_into(&mut t, &s0);
    let ok = ct_eq(&t[..mac_len], given);
    t.zeroize();
    s0.zeroize();
    if ok {
        Ok(plaintext)
    } else {
        plaintext.zeroize();
        Err(Error::EncryptedDataInvalid)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]
mod tests {
    use super::*;

    fn h(s: &str) -> Vec<u8> {
        hex::decode(s.replace(' ', "")).unwrap()
    }

    fn check(nonce: &str, aad: &[u8], pt: &str, mac_len: usize, ct: &str) {
        let k = BlockCipher::aes(&h("404142434445464748494a4b4c4d4e4f")).unwrap();
        let (nonce, pt, ct) = (h(nonce), h(pt), h(ct));
        assert_eq!(seal(&k, &nonce, aad, mac_len, &pt).unwrap(), ct);
        assert_eq!(open(&k, &nonce, aad, mac_len, &ct).unwrap(), pt);
        for i in 0..ct.len() {
            let mut bad = ct.clone();
            bad[i] ^= 4;
            assert_eq!(open(&k, &nonce, aad, mac_len, &bad), Err(Error::EncryptedDataInvalid));
        }
    }

    /// SP 800-38C Appendix C, examples 1-4.
    #[test]
    fn sp800_38c() {
        check("10111213141516", &h("0001020304050607"), "20212223", 4, "7162015b 4dac255d");
        check(
            "1011121314151617",
            &h("000102030405060708090a0b0c0d0e0f"),
            "202122232425262728292a2b2c2d2e2f",
            6,
            "d2a1f0e051ea5f62081a7792073d593d 1fc64fbfaccd",
        );
        check(
            "101112131415161718191a1b",
            &h("000102030405060708090a0b0c0d0e0f10111213"),
            "202122232425262728292a2b2c2d2e2f3031323334353637",
            8,
            "e3b201a9f5b71a7a9b1ceaeccd97e70b6176aad9a4428aa5 484392fbc1b09951",
        );
        // Example 4: 2^16 bytes of associated data (the 6-byte length encoding).
        let aad: Vec<u8> = (0..=255u8).cycle().take(65536).collect();
        check(
            "101112131415161718191a1b1c",
            &aad,
            "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f",
            14,
            "69915dad1e84c6376a68c2967e4dab615ae0fd1faec44cc484828529463ccf72 b4ac6bec93e8598e7f0dadbcea5b",
        );
    }

    #[test]
    fn parameters() {
        assert_eq!(check_params(7, 4, 0), Ok(()));
        assert_eq!(check_params(13, 16, 0xffff), Ok(()));
        assert_eq!(check_params(13, 16, 0x10000), Err(Error::MechanismParamInvalid));
        for (n, t) in [(6, 8), (14, 8), (12, 3), (12, 5), (12, 18), (12, 0)] {
            assert_eq!(check_params(n, t, 16), Err(Error::MechanismParamInvalid), "{n} {t}");
        }
        let k = BlockCipher::aes(&[0; 16]).unwrap();
        assert_eq!(open(&k, &[0; 12], &[], 16, &[0; 15]), Err(Error::EncryptedDataLenRange));
    }
}
