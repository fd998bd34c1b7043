//! Block-cipher MACs over [`BlockCipher`]: CMAC (NIST SP 800-38B, RFC 4493) for
//! `CKM_AES_CMAC`/`CKM_DES3_CMAC` and the SP 800-108 PRFs, and the plain CBC-MAC with zero
//! padding of `CKM_AES_MAC`/`CKM_DES3_MAC` (the `_GENERAL` forms truncate either).

use zeroize::Zeroize;

use super::block::{BlockCipher, MAX_BLOCK, xor_into};

/// Which MAC.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MacKind {
    /// CMAC (SP 800-38B).
    Cmac,
    /// CBC-MAC, the last partial block padded with zero bytes (an empty message is one zero
    /// block).
    CbcMac,
}

/// A running block-cipher MAC. Keeps the last block back until [`BlockMac::finish`], which
/// works on a copy so the state survives.
#[derive(Clone)]
pub struct BlockMac {
    cipher: BlockCipher,
    kind: MacKind,
    k1: [u8; MAX_BLOCK],
    k2: [u8; MAX_BLOCK],
    x: [u8; MAX_BLOCK],
    buf: [u8; MAX_BLOCK],
    buf_len: usize,
}

impl core::fmt::Debug for BlockMac {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("BlockMac")
            .field("cipher", &self.cipher)
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

impl Drop for BlockMac {
    fn drop(&mut self) {
        self.k1.zeroize();
        self.k2.zeroize();
        self.x.zeroize();
        self.buf.zeroize();
    }
}

/// Multiply by x in GF(2^b) (SP 800-38B §6.1): shift left, fold the carry with `R_b`.
fn dbl(block: &mut [u8]) {
    let rb: u8 = if block.len() == 16 { 0x87 } else { 0x1b };
    let carry = block[0] >> 7;
    for i in 0..block.len() {
        let next = block.get(i + 1).map_or(0, |n| n >> 7);
        block[i] = (block[i] << 1) | next;
    }
    let last = block.len() - 1;
    // Constant time: multiply the reduction constant by the carry bit instead of branching.
    block[last] ^= rb & carry.wrapping_neg();
}

impl BlockMac {
    /// A MAC keyed by `cipher`.
    pub fn new(cipher: BlockCipher, kind: MacKind) -> Self {
        let b = cipher.block_len();
        let mut k1 = [0u8; MAX_BLOCK];
        let mut k2 = [0u8; MAX_BLOCK];
        if kind == MacKind::Cmac {
            // L = E(0^b); K1 = dbl(L); K2 = dbl(K1).
            cipher.encrypt_blocks(&mut k1[..b]);
            dbl(&mut k1[..b]);
            k2 = k1;
            dbl(&mut k2[..b]);
        }
        Self { cipher, kind, k1, k2, x: [0; MAX_BLOCK], buf: [0; MAX_BLOCK], buf_len: 0 }
    }

    /// The full MAC length: one block.
    pub fn mac_len(&self) -> usize {
        self.cipher.block_len()
    }

    /// Absorb more data.
    pub fn update(&mut self, mut data: &[u8]) {
        let b = self.cipher.block_len();
        while !data.is_empty() {
            if self.buf_len == b {
                // A full block is only processed once more data shows it is not the last.
                xor_into(&mut self.x[..b], &self.buf[..b]);
                self.cipher.encrypt_blocks(&mut self.x[..b]);
                self.buf_len = 0;
            }
            let take = (b - self.buf_len).min(data.len());
            self.buf[self.buf_len..self.buf_len + take].copy_from_slice(&data[..take]);
            self.buf_len += take;
            data = &data[take..];
        }
    }

    /// The untruncated MAC (one block) of everything absorbed.
    pub fn finish(&self) -> [u8; MAX_BLOCK] {
        let b = self.cipher.block_len();
        let mut last = [0u8; MAX_BLOCK];
        last[..self.buf_len].copy_from_slice(&self.buf[..self.buf_len]);
        if self.kind == MacKind::Cmac {
            if self.buf_len == b {
                xor_into(&mut last[..b], &self.k1[..b]);
            } else {
                last[self.buf_len] = 0x80;
                xor_into(&mut last[..b], &self.k2[..b]);
            }
        }
        let mut x = self.x;
        xor_into(&mut x[..b], &last[..b]);
        self.cipher.encrypt_blocks(&mut x[..b]);
        last.zeroize();
        x
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]
mod tests {
    use alloc::vec::Vec;

    use super::*;

    fn h(s: &str) -> Vec<u8> {
        hex::decode(s.replace(' ', "")).unwrap()
    }

    const MSG: &str = "6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51\
                       30c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710";

    fn check(cipher: BlockCipher, cases: &[(usize, &str)]) {
        let msg = h(MSG);
        for &(len, tag) in cases {
            let mut m = BlockMac::new(cipher.clone(), MacKind::Cmac);
            m.update(&msg[..len]);
            let b = m.mac_len();
            assert_eq!(m.finish()[..b], h(tag)[..], "{cipher:?} Mlen {len}");
            // Byte-at-a-time updates agree, and finishing twice gives the same tag.
            let mut m2 = BlockMac::new(cipher.clone(), MacKind::Cmac);
            for byte in &msg[..len] {
                m2.update(core::slice::from_ref(byte));
            }
            assert_eq!(m2.finish(), m.finish());
            assert_eq!(m2.finish(), m.finish());
        }
    }

    /// SP 800-38B Appendix D.1-D.3 (RFC 4493 for AES-128).
    #[test]
    fn sp800_38b_aes() {
        check(
            BlockCipher::aes(&h("2b7e151628aed2a6abf7158809cf4f3c")).unwrap(),
            &[
                (0, "bb1d6929e95937287fa37d129b756746"),
                (16, "070a16b46b4d4144f79bdd9dd04a287c"),
                (40, "dfa66747de9ae63030ca32611497c827"),
                (64, "51f0bebf7e3b9d92fc49741779363cfe"),
            ],
        );
        check(
            BlockCipher::aes(&h("8e73b0f7da0e6452c810f32b809079e562f8ead2522c6b7b")).unwrap(),
            &[
                (0, "d17ddf46adaacde531cac483de7a9367"),
                (16, "9e99a7bf31e710900662f65e617c5184"),
                (40, "8a1de5be2eb31aad089a82e6ee908b0e"),
                (64, "a1d5df0eed790f794d77589659f39a11"),
            ],
        );
        check(
            BlockCipher::aes(&h("603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4")).unwrap(),
            &[
                (0, "028962f61b7bf89efc6b551f4667d983"),
                (16, "28a7023f452e8f82bd4bf28d8c37c35c"),
                (40, "aaf3d8f1de5640c232f5b169b9c911e6"),
                (64, "e1992190549f6ed5696a2c056c315410"),
            ],
        );
    }

    /// SP 800-38B Appendix D.4 (three-key) and D.5 (two-key) TDEA examples.
    #[test]
    fn sp800_38b_tdea() {
        check(
            BlockCipher::tdes(&h("8aa83bf8cbda1062 0bc1bf19fbb6cd58 bc313d4a371ca8b5")).unwrap(),
            &[
                (0, "b7a688e122ffaf95"),
                (8, "8e8f293136283797"),
                (20, "743ddbe0ce2dc2ed"),
                (32, "33e6b1092400eae5"),
            ],
        );
        check(
            BlockCipher::tdes(&h("4cf15134a2850dd5 8a3d10ba80570d38")).unwrap(),
            &[
                (0, "bd2ebf9a3ba00361"),
                (8, "4ff2ab813c53ce83"),
                (20, "62dd1b471902bd4e"),
                (32, "31b1e431dabc4eb8"),
            ],
        );
    }

    /// CBC-MAC is the last block of CBC encryption under a zero IV, after zero padding.
    #[test]
    fn cbc_mac_matches_cbc() {
        use crate::mechanism::block::{Mode, Stream, one_shot};
        let key = h("2b7e151628aed2a6abf7158809cf4f3c");
        let msg = h(MSG);
        for len in [0usize, 1, 15, 16, 17, 40, 64] {
            let mut m = BlockMac::new(BlockCipher::aes(&key).unwrap(), MacKind::CbcMac);
            m.update(&msg[..len]);
            let mut padded = msg[..len].to_vec();
            padded.resize(len.div_ceil(16).max(1) * 16, 0);
            let cbc = Stream::new(BlockCipher::aes(&key).unwrap(), Mode::Cbc, true, &[0; 16]).unwrap();
            let ct = one_shot(&cbc, &padded).unwrap();
            assert_eq!(m.finish()[..], ct[ct.len() - 16..], "len {len}");
        }
    }
}
