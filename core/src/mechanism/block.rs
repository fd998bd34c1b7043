//! Block ciphers and their confidentiality modes: AES-128/192/256 and two- and three-key
//! Triple DES, in ECB, CBC, CBC with PKCS #7 padding, CBC with ciphertext stealing (CS1),
//! CTR, OFB, CFB8 and CFB128 (NIST SP 800-38A and its addendum).
//!
//! The `aes` and `des` crates supply the block functions; the modes are put together here as
//! one streaming state machine ([`Stream`]) so that every mode supports multi-part operation
//! with exact output lengths, which the RustCrypto mode crates (fixed at construction, no
//! counter-width parameter) do not offer in one shape. Checked below against the SP 800-38A
//! Appendix F examples, RFC 3962 (CTS) and the SP 800-67 TDEA example.

use alloc::vec::Vec;

use aes::cipher::array::Array;
use aes::cipher::{BlockCipherDecrypt, BlockCipherEncrypt, KeyInit};
use aes::{Aes128, Aes192, Aes256};
use des::{TdesEde2, TdesEde3};
use zeroize::Zeroize;

use crate::{Error, Result};

/// The largest block length (AES).
pub const MAX_BLOCK: usize = 16;

/// Blocks handed to the cipher at once where the mode allows it, so AES-NI can pipeline.
const BATCH: usize = 8;

/// A keyed block cipher.
#[derive(Clone)]
pub enum BlockCipher {
    /// AES with a 16-byte key.
    Aes128(Aes128),
    /// AES with a 24-byte key.
    Aes192(Aes192),
    /// AES with a 32-byte key.
    Aes256(Aes256),
    /// Two-key Triple DES (`K1 K2 K1`, a 16-byte key).
    Tdes2(TdesEde2),
    /// Three-key Triple DES (a 24-byte key).
    Tdes3(TdesEde3),
}

impl core::fmt::Debug for BlockCipher {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            BlockCipher::Aes128(_) => "AES-128",
            BlockCipher::Aes192(_) => "AES-192",
            BlockCipher::Aes256(_) => "AES-256",
            BlockCipher::Tdes2(_) => "TDEA-2",
            BlockCipher::Tdes3(_) => "TDEA-3",
        })
    }
}

macro_rules! each {
    ($self:expr, $c:ident => $body:expr) => {
        match $self {
            BlockCipher::Aes128($c) => $body,
            BlockCipher::Aes192($c) => $body,
            BlockCipher::Aes256($c) => $body,
            BlockCipher::Tdes2($c) => $body,
            BlockCipher::Tdes3($c) => $body,
        }
    };
}

impl BlockCipher {
    /// AES keyed with `key` (16, 24 or 32 bytes).
    ///
    /// # Errors
    /// `KeySizeRange` for any other length.
    pub fn aes(key: &[u8]) -> Result<Self> {
        let bad = |_| Error::KeySizeRange;
        Ok(match key.len() {
            16 => BlockCipher::Aes128(Aes128::new_from_slice(key).map_err(bad)?),
            24 => BlockCipher::Aes192(Aes192::new_from_slice(key).map_err(bad)?),
            32 => BlockCipher::Aes256(Aes256::new_from_slice(key).map_err(bad)?),
            _ => return Err(Error::KeySizeRange),
        })
    }

    /// Triple DES keyed with `key` (16 bytes: two-key, 24 bytes: three-key). Parity bits are
    /// ignored, as DES does.
    ///
    /// # Errors
    /// `KeySizeRange` for any other length.
    pub fn tdes(key: &[u8]) -> Result<Self> {
        let bad = |_| Error::KeySizeRange;
        Ok(match key.len() {
            16 => BlockCipher::Tdes2(TdesEde2::new_from_slice(key).map_err(bad)?),
            24 => BlockCipher::Tdes3(TdesEde3::new_from_slice(key).map_err(bad)?),
            _ => return Err(Error::KeySizeRange),
        })
    }

    /// The block length in bytes: 16 for AES, 8 for Triple DES.
    pub fn block_len(&self) -> usize {
        match self {
            BlockCipher::Aes128(_) | BlockCipher::Aes192(_) | BlockCipher::Aes256(_) => 16,
            BlockCipher::Tdes2(_) | BlockCipher::Tdes3(_) => 8,
        }
    }

    /// True for AES.
    pub fn is_aes(&self) -> bool {
        self.block_len() == 16
    }

    /// Encrypt the whole blocks of `data` in place (a trailing partial block is left alone;
    /// callers pass whole blocks).
    pub fn encrypt_blocks(&self, data: &mut [u8]) {
        each!(self, c => {
            let (blocks, _) = Array::slice_as_chunks_mut(data);
            c.encrypt_blocks(blocks);
        })
    }

    /// Decrypt the whole blocks of `data` in place.
    pub fn decrypt_blocks(&self, data: &mut [u8]) {
        each!(self, c => {
            let (blocks, _) = Array::slice_as_chunks_mut(data);
            c.decrypt_blocks(blocks);
        })
    }
}

/// XOR `src` into `dst` (up to the shorter length).
pub fn xor_into(dst: &mut [u8], src: &[u8]) {
    for (d, s) in dst.iter_mut().zip(src) {
        *d ^= s;
    }
}

/// A confidentiality mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Electronic codebook: whole blocks only.
    Ecb,
    /// Cipher block chaining: whole blocks only.
    Cbc,
    /// CBC with PKCS #7 padding.
    CbcPad,
    /// CBC with ciphertext stealing, variant CS1 of the SP 800-38A addendum (the NIST
    /// variant: identical to CBC when the input is whole blocks; at least one block).
    Cts,
    /// Counter mode; the rightmost `counter_bits` bits of the counter block are incremented
    /// (1 to 128), and the mode refuses to let them wrap around.
    Ctr {
        /// Width of the counter field.
        counter_bits: u32,
    },
    /// Output feedback.
    Ofb,
    /// 8-bit cipher feedback.
    Cfb8,
    /// Full-block cipher feedback.
    Cfb128,
}

impl Mode {
    /// A stream mode: output follows input byte for byte, no final block.
    fn is_stream(self) -> bool {
        matches!(self, Mode::Ctr { .. } | Mode::Ofb | Mode::Cfb8 | Mode::Cfb128)
    }
}

/// One running encryption or decryption in a [`Mode`]: buffers partial blocks between
/// updates and reports output lengths exactly.
#[derive(Clone)]
pub struct Stream {
    cipher: BlockCipher,
    mode: Mode,
    encrypt: bool,
    /// The chaining value: last ciphertext block (CBC, CFB), the OFB register, or the
    /// CTR counter block.
    reg: [u8; MAX_BLOCK],
    /// Input held back for a later block (block modes).
    buf: [u8; 2 * MAX_BLOCK],
    buf_len: usize,
    /// Keystream not yet used (stream modes); `ks_pos == block_len` when empty.
    ks: [u8; MAX_BLOCK],
    ks_pos: usize,
    /// CTR: counter blocks still allowed before the counter field would wrap (`None`: 2^128).
    ctr_left: Option<u128>,
    /// Bytes consumed so far.
    total: u64,
}

impl core::fmt::Debug for Stream {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Stream")
            .field("cipher", &self.cipher)
            .field("mode", &self.mode)
            .field("encrypt", &self.encrypt)
            .finish_non_exhaustive()
    }
}

impl Drop for Stream {
    fn drop(&mut self) {
        self.reg.zeroize();
        self.buf.zeroize();
        self.ks.zeroize();
    }
}

impl Stream {
    /// Start `mode` with `iv`: empty for ECB, one block for the others (the initial counter
    /// block for CTR, which is AES only).
    ///
    /// # Errors
    /// `MechanismParamInvalid` for an IV of the wrong length or a counter width outside 1..=128.
    pub fn new(cipher: BlockCipher, mode: Mode, encrypt: bool, iv: &[u8]) -> Result<Self> {
        let b = cipher.block_len();
        let iv_ok = match mode {
            Mode::Ecb => iv.is_empty(),
            Mode::Ctr { counter_bits } => iv.len() == 16 && b == 16 && (1..=128).contains(&counter_bits),
            _ => iv.len() == b,
        };
        if !iv_ok {
            return Err(Error::MechanismParamInvalid);
        }
        let mut reg = [0u8; MAX_BLOCK];
        reg[..iv.len()].copy_from_slice(iv);
        let ctr_left = match mode {
            Mode::Ctr { counter_bits } => {
                let mask = ctr_mask(counter_bits);
                let low = u128::from_be_bytes(reg) & mask;
                // Counter values low..=mask may be used: mask - low + 1 blocks.
                (mask - low).checked_add(1)
            }
            _ => None,
        };
        Ok(Self {
            cipher,
            mode,
            encrypt,
            reg,
            buf: [0; 2 * MAX_BLOCK],
            buf_len: 0,
            ks: [0; MAX_BLOCK],
            ks_pos: b,
            ctr_left,
            total: 0,
        })
    }

    /// The length error of this direction.
    fn len_error(&self) -> Error {
        if self.encrypt { Error::DataLenRange } else { Error::EncryptedDataLenRange }
    }

    /// Bytes of a total of `t` buffered bytes that must wait for more input or the end.
    fn keep(&self, t: usize) -> usize {
        let b = self.cipher.block_len();
        match self.mode {
            Mode::CbcPad if !self.encrypt => {
                // The last block may be the padding block: hold it until the end.
                if t == 0 { 0 } else { t - ((t - 1) / b) * b }
            }
            Mode::Cts => {
                // The last two (possibly partial) blocks are handled at the end.
                if t <= 2 * b { t } else { t - ((t - 2 * b - 1) / b + 1) * b }
            }
            _ => t % b,
        }
    }

    /// Exactly the output an update with `n` more input bytes produces.
    pub fn update_len(&self, n: usize) -> usize {
        if self.mode.is_stream() {
            return n;
        }
        let t = self.buf_len.saturating_add(n);
        t - self.keep(t)
    }

    /// An upper bound of the final output (exact except for CBC-PAD decryption).
    pub fn final_len(&self) -> usize {
        match self.mode {
            Mode::CbcPad => self.cipher.block_len(),
            Mode::Cts => self.buf_len,
            _ => 0,
        }
    }

    /// An upper bound of the output of one update of `n` bytes and the final step, from a
    /// fresh state (exact except for CBC-PAD decryption).
    pub fn one_shot_len(&self, n: usize) -> usize {
        let b = self.cipher.block_len();
        match self.mode {
            Mode::CbcPad if self.encrypt => (n / b + 1) * b,
            _ => n,
        }
    }

    /// Process more input, appending what it produces to `out`.
    ///
    /// # Errors
    /// `DataLenRange` when a CTR counter would wrap (nothing is processed then).
    pub fn update_into(&mut self, data: &[u8], out: &mut Vec<u8>) -> Result<()> {
        self.total = self.total.saturating_add(data.len() as u64);
        if self.mode.is_stream() {
            let start = out.len();
            out.extend_from_slice(data);
            return self.apply_stream(&mut out[start..]);
        }
        let t = self.buf_len + data.len();
        let n = t - self.keep(t);
        let start = out.len();
        out.reserve(n);
        let from_buf = n.min(self.buf_len);
        out.extend_from_slice(&self.buf[..from_buf]);
        let from_data = n - from_buf;
        out.extend_from_slice(&data[..from_data]);
        // What is left: the rest of the buffer, then the rest of the input.
        self.buf.copy_within(from_buf..self.buf_len, 0);
        self.buf_len -= from_buf;
        let rest = &data[from_data..];
        self.buf[self.buf_len..self.buf_len + rest.len()].copy_from_slice(rest);
        self.buf_len += rest.len();
        self.chain_blocks(&mut out[start..]);
        Ok(())
    }

    /// The remaining output; ends the mode (callers work on a clone to keep the state).
    ///
    /// # Errors
    /// `DataLenRange` / `EncryptedDataLenRange` for input that is not whole blocks (ECB,
    /// CBC, CBC-PAD decryption) or shorter than a block (CTS); `EncryptedDataInvalid` for
    /// bad padding.
    pub fn finish_into(&mut self, out: &mut Vec<u8>) -> Result<()> {
        let b = self.cipher.block_len();
        match self.mode {
            Mode::Ctr { .. } | Mode::Ofb | Mode::Cfb8 | Mode::Cfb128 => Ok(()),
            Mode::Ecb | Mode::Cbc => {
                if self.buf_len == 0 {
                    Ok(())
                } else {
                    Err(self.len_error())
                }
            }
            Mode::CbcPad if self.encrypt => {
                let pad = b - self.buf_len;
                let mut block = [0u8; MAX_BLOCK];
                block[..self.buf_len].copy_from_slice(&self.buf[..self.buf_len]);
                // PKCS #7: 1 to b bytes, each the pad length (b <= 16).
                block[self.buf_len..b].fill(u8::try_from(pad).map_err(|_| Error::GeneralError)?);
                self.chain_blocks(&mut block[..b]);
                out.extend_from_slice(&block[..b]);
                block.zeroize();
                Ok(())
            }
            Mode::CbcPad => {
                if self.buf_len != b {
                    return Err(Error::EncryptedDataLenRange);
                }
                let mut block = [0u8; MAX_BLOCK];
                block[..b].copy_from_slice(&self.buf[..b]);
                self.chain_blocks(&mut block[..b]);
                let unpadded = unpad(&block[..b]);
                if let Some(n) = unpadded {
                    out.extend_from_slice(&block[..n]);
                }
                block.zeroize();
                unpadded.map(|_| ()).ok_or(Error::EncryptedDataInvalid)
            }
            Mode::Cts => self.finish_cts(out),
        }
    }

    /// CS1 over the last one or two blocks held in the buffer.
    fn finish_cts(&mut self, out: &mut Vec<u8>) -> Result<()> {
        let b = self.cipher.block_len();
        let h = self.buf_len;
        if h < b {
            return Err(self.len_error());
        }
        let mut work = [0u8; 2 * MAX_BLOCK];
        work[..h].copy_from_slice(&self.buf[..h]);
        if h == b || h == 2 * b {
            // Whole blocks: CS1 is plain CBC.
            self.chain_blocks(&mut work[..h]);
            out.extend_from_slice(&work[..h]);
            work.zeroize();
            return Ok(());
        }
        let d = h - b; // length of the partial last block, 1..b
        if self.encrypt {
            // C(n-1) = E(P(n-1) ^ C(n-2)); C(n) = E((P(n)* || 0) ^ C(n-1)); out C(n-1)* || C(n).
            let (first, last) = work.split_at_mut(b);
            xor_into(&mut first[..b], &self.reg[..b]);
            self.cipher.encrypt_blocks(&mut first[..b]);
            let mut cn = [0u8; MAX_BLOCK];
            cn[..d].copy_from_slice(&last[..d]);
            xor_into(&mut cn[..b], &first[..b]);
            self.cipher.encrypt_blocks(&mut cn[..b]);
            out.extend_from_slice(&first[..d]);
            out.extend_from_slice(&cn[..b]);
            cn.zeroize();
        } else {
            // In: C(n-1)* (d bytes) || C(n). D(C(n)) = (P(n)* || 0) ^ C(n-1), so its tail
            // completes C(n-1) and its head gives P(n)*.
            let mut z = [0u8; MAX_BLOCK];
            z[..b].copy_from_slice(&work[d..d + b]);
            self.cipher.decrypt_blocks(&mut z[..b]);
            let mut cn1 = [0u8; MAX_BLOCK];
            cn1[..d].copy_from_slice(&work[..d]);
            cn1[d..b].copy_from_slice(&z[d..b]);
            let mut pn = [0u8; MAX_BLOCK];
            pn[..d].copy_from_slice(&z[..d]);
            xor_into(&mut pn[..d], &cn1[..d]);
            let mut pn1 = cn1;
            self.cipher.decrypt_blocks(&mut pn1[..b]);
            xor_into(&mut pn1[..b], &self.reg[..b]);
            out.extend_from_slice(&pn1[..b]);
            out.extend_from_slice(&pn[..d]);
            for t in [&mut z, &mut cn1, &mut pn, &mut pn1] {
                t.zeroize();
            }
        }
        work.zeroize();
        Ok(())
    }

    /// Run the block modes over whole blocks in place, carrying the chaining value.
    fn chain_blocks(&mut self, data: &mut [u8]) {
        let b = self.cipher.block_len();
        match (self.mode, self.encrypt) {
            (Mode::Ecb, true) => self.cipher.encrypt_blocks(data),
            (Mode::Ecb, false) => self.cipher.decrypt_blocks(data),
            (_, true) => {
                for block in data.chunks_exact_mut(b) {
                    xor_into(block, &self.reg[..b]);
                    self.cipher.encrypt_blocks(block);
                    self.reg[..b].copy_from_slice(block);
                }
            }
            (_, false) => {
                // CBC decryption parallelises: decrypt a batch, then XOR each block with the
                // ciphertext block before it (kept aside, as the batch is decrypted in place).
                let mut saved = [0u8; BATCH * MAX_BLOCK];
                for chunk in data.chunks_mut(BATCH * b) {
                    let len = chunk.len();
                    saved[..len].copy_from_slice(chunk);
                    self.cipher.decrypt_blocks(chunk);
                    xor_into(&mut chunk[..b], &self.reg[..b]);
                    xor_into(&mut chunk[b..], &saved[..len - b]);
                    self.reg[..b].copy_from_slice(&saved[len - b..len]);
                }
                saved.zeroize();
            }
        }
    }

    /// XOR `data` with the keystream of a stream mode (CFB feeds the ciphertext back).
    fn apply_stream(&mut self, data: &mut [u8]) -> Result<()> {
        let b = self.cipher.block_len();
        match self.mode {
            Mode::Ctr { counter_bits } => self.apply_ctr(counter_bits, data),
            Mode::Ofb => {
                for byte in data.iter_mut() {
                    if self.ks_pos == b {
                        self.cipher.encrypt_blocks(&mut self.reg[..b]);
                        self.ks[..b].copy_from_slice(&self.reg[..b]);
                        self.ks_pos = 0;
                    }
                    *byte ^= self.ks[self.ks_pos];
                    self.ks_pos += 1;
                }
                Ok(())
            }
            Mode::Cfb128 => {
                for byte in data.iter_mut() {
                    if self.ks_pos == b {
                        self.ks[..b].copy_from_slice(&self.reg[..b]);
                        self.cipher.encrypt_blocks(&mut self.ks[..b]);
                        self.ks_pos = 0;
                    }
                    let input = *byte;
                    *byte ^= self.ks[self.ks_pos];
                    // The register fills with this block's ciphertext as it is produced.
                    self.reg[self.ks_pos] = if self.encrypt { *byte } else { input };
                    self.ks_pos += 1;
                }
                Ok(())
            }
            Mode::Cfb8 => {
                for byte in data.iter_mut() {
                    let mut ks = [0u8; MAX_BLOCK];
                    ks[..b].copy_from_slice(&self.reg[..b]);
                    self.cipher.encrypt_blocks(&mut ks[..b]);
                    let input = *byte;
                    *byte ^= ks[0];
                    self.reg.copy_within(1..b, 0);
                    self.reg[b - 1] = if self.encrypt { *byte } else { input };
                    ks.zeroize();
                }
                Ok(())
            }
            Mode::Ecb | Mode::Cbc | Mode::CbcPad | Mode::Cts => Ok(()),
        }
    }

    fn apply_ctr(&mut self, counter_bits: u32, data: &mut [u8]) -> Result<()> {
        const B: usize = 16;
        let avail = B - self.ks_pos;
        let needed = data.len().saturating_sub(avail).div_ceil(B) as u128;
        if let Some(left) = self.ctr_left {
            if needed > left {
                return Err(Error::DataLenRange);
            }
            self.ctr_left = Some(left - needed);
        }
        let (head, rest) = data.split_at_mut(avail.min(data.len()));
        xor_into(head, &self.ks[self.ks_pos..B]);
        self.ks_pos += head.len();
        let mask = ctr_mask(counter_bits);
        let mut stream = [0u8; BATCH * B];
        for chunk in rest.chunks_mut(BATCH * B) {
            let blocks = chunk.len().div_ceil(B);
            for block in stream.chunks_exact_mut(B).take(blocks) {
                block.copy_from_slice(&self.reg);
                let c = u128::from_be_bytes(self.reg);
                let next = (c & !mask) | (c.wrapping_add(1) & mask);
                self.reg = next.to_be_bytes();
            }
            self.cipher.encrypt_blocks(&mut stream[..blocks * B]);
            xor_into(chunk, &stream);
            let used = chunk.len() - (blocks - 1) * B;
            // Keep what the last block did not use for the next update.
            self.ks.copy_from_slice(&stream[(blocks - 1) * B..blocks * B]);
            self.ks_pos = used;
        }
        stream.zeroize();
        Ok(())
    }
}

/// The mask of the rightmost `bits` bits of a counter block.
fn ctr_mask(bits: u32) -> u128 {
    if bits >= 128 { u128::MAX } else { (1u128 << bits) - 1 }
}

/// The length of the data in a PKCS #7-padded block, or `None` if the padding is bad. The
/// check does not branch on the padding bytes.
fn unpad(block: &[u8]) -> Option<usize> {
    let b = block.len();
    let pad = usize::from(*block.last()?);
    let in_range = u8::from(pad >= 1) & u8::from(pad <= b);
    let mut diff = 0u8;
    for (i, &byte) in block.iter().enumerate() {
        // Bytes in the padding region must equal the pad length.
        let in_pad = u8::from(i >= b.wrapping_sub(pad));
        diff |= in_pad & u8::from(byte as usize != pad);
    }
    if in_range == 1 && diff == 0 { Some(b - pad) } else { None }
}

/// Encrypt or decrypt all of `data` in one call.
///
/// # Errors
/// As [`Stream::update_into`] and [`Stream::finish_into`].
pub fn one_shot(stream: &Stream, data: &[u8]) -> Result<Vec<u8>> {
    let mut s = stream.clone();
    let mut out = Vec::with_capacity(data.len() + s.cipher.block_len());
    s.update_into(data, &mut out)?;
    s.finish_into(&mut out)?;
    Ok(out)
}

/// Set the odd-parity bit (the least significant) of each byte of a DES key.
pub fn set_des_parity(key: &mut [u8]) {
    for byte in key {
        let high = *byte & 0xfe;
        *byte = high | u8::from(high.count_ones() % 2 == 0);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]
mod tests {
    use alloc::vec;

    use super::*;

    fn h(s: &str) -> Vec<u8> {
        hex::decode(s.replace(' ', "")).unwrap()
    }

    const K128: &str = "2b7e151628aed2a6abf7158809cf4f3c";
    const K192: &str = "8e73b0f7da0e6452c810f32b809079e562f8ead2522c6b7b";
    const K256: &str = "603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4";
    /// SP 800-38A F: the four plaintext blocks every example uses.
    const PT: &str = "6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51\
                      30c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710";
    const IV: &str = "000102030405060708090a0b0c0d0e0f";
    const CTR0: &str = "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff";

    fn stream(key: &str, mode: Mode, encrypt: bool, iv: &str) -> Stream {
        Stream::new(BlockCipher::aes(&h(key)).unwrap(), mode, encrypt, &h(iv)).unwrap()
    }

    /// One vector: one-shot both ways, and every split into two updates gives the same
    /// output with exact `update_len` answers.
    fn check(key: &str, mode: Mode, iv: &str, pt: &[u8], ct: &[u8]) {
        let enc = stream(key, mode, true, iv);
        let dec = stream(key, mode, false, iv);
        assert_eq!(one_shot(&enc, pt).unwrap(), ct, "{mode:?} encrypt");
        assert_eq!(one_shot(&dec, ct).unwrap(), pt, "{mode:?} decrypt");
        for (s, input, want) in [(&enc, pt, ct), (&dec, ct, pt)] {
            for cut in [0, 1, 7, 15, 16, 17, 31, 33, input.len()] {
                let cut = cut.min(input.len());
                let mut s = s.clone();
                let mut out = Vec::new();
                for part in [&input[..cut], &input[cut..]] {
                    let expect = s.update_len(part.len());
                    let before = out.len();
                    s.update_into(part, &mut out).unwrap();
                    assert_eq!(out.len() - before, expect, "{mode:?} update_len at {cut}");
                }
                assert!(s.final_len() >= want.len() - out.len());
                s.finish_into(&mut out).unwrap();
                assert_eq!(out, want, "{mode:?} split at {cut}");
            }
        }
    }

    #[test]
    fn sp800_38a_ecb() {
        let pt = h(PT);
        check(
            K128,
            Mode::Ecb,
            "",
            &pt,
            &h("3ad77bb40d7a3660a89ecaf32466ef97f5d3d58503b9699de785895a96fdbaaf\
                43b1cd7f598ece23881b00e3ed0306887b0c785e27e8ad3f8223207104725dd4"),
        );
        check(
            K192,
            Mode::Ecb,
            "",
            &pt,
            &h("bd334f1d6e45f25ff712a214571fa5cc974104846d0ad3ad7734ecb3ecee4eef\
                ef7afd2270e2e60adce0ba2face6444e9a4b41ba738d6c72fb16691603c18e0e"),
        );
        check(
            K256,
            Mode::Ecb,
            "",
            &pt,
            &h("f3eed1bdb5d2a03c064b5a7e3db181f8591ccb10d410ed26dc5ba74a31362870\
                b6ed21b99ca6f4f9f153e7b1beafed1d23304b7a39f9f3ff067d8d8f9e24ecc7"),
        );
    }

    #[test]
    fn sp800_38a_cbc() {
        let pt = h(PT);
        check(
            K128,
            Mode::Cbc,
            IV,
            &pt,
            &h("7649abac8119b246cee98e9b12e9197d5086cb9b507219ee95db113a917678b2\
                73bed6b8e3c1743b7116e69e222295163ff1caa1681fac09120eca307586e1a7"),
        );
        check(
            K192,
            Mode::Cbc,
            IV,
            &pt,
            &h("4f021db243bc633d7178183a9fa071e8b4d9ada9ad7dedf4e5e738763f69145a\
                571b242012fb7ae07fa9baac3df102e008b0e27988598881d920a9e64f5615cd"),
        );
        check(
            K256,
            Mode::Cbc,
            IV,
            &pt,
            &h("f58c4c04d6e5f1ba779eabfb5f7bfbd69cfc4e967edb808d679f777bc6702c7d\
                39f23369a9d9bacfa530e26304231461b2eb05e2c39be9fcda6c19078c6a9d1b"),
        );
    }

    #[test]
    fn sp800_38a_ctr() {
        let pt = h(PT);
        let ctr = Mode::Ctr { counter_bits: 128 };
        check(
            K128,
            ctr,
            CTR0,
            &pt,
            &h("874d6191b620e3261bef6864990db6ce9806f66b7970fdff8617187bb9fffdff\
                5ae4df3edbd5d35e5b4f09020db03eab1e031dda2fbe03d1792170a0f3009cee"),
        );
        check(
            K192,
            ctr,
            CTR0,
            &pt,
            &h("1abc932417521ca24f2b0459fe7e6e0b090339ec0aa6faefd5ccc2c6f4ce8e94\
                1e36b26bd1ebc670d1bd1d665620abf74f78a7f6d29809585a97daec58c6b050"),
        );
        check(
            K256,
            ctr,
            CTR0,
            &pt,
            &h("601ec313775789a5b7a7f504bbf3d228f443e3ca4d62b59aca84e990cacaf5c5\
                2b0930daa23de94ce87017ba2d84988ddfc9c58db67aada613c2dd08457941a6"),
        );
        // A 32-bit counter field gives the same stream while it does not wrap.
        check(K128, Mode::Ctr { counter_bits: 32 }, CTR0, &pt[..16], &h("874d6191b620e3261bef6864990db6ce"));
    }

    #[test]
    fn sp800_38a_ofb_cfb() {
        let pt = h(PT);
        check(
            K128,
            Mode::Ofb,
            IV,
            &pt,
            &h("3b3fd92eb72dad20333449f8e83cfb4a7789508d16918f03f53c52dac54ed825\
                9740051e9c5fecf64344f7a82260edcc304c6528f659c77866a510d9c1d6ae5e"),
        );
        check(
            K256,
            Mode::Ofb,
            IV,
            &pt,
            &h("dc7e84bfda79164b7ecd8486985d38604febdc6740d20b3ac88f6ad82a4fb08d\
                71ab47a086e86eedf39d1c5bba97c4080126141d67f37be8538f5a8be740e484"),
        );
        check(
            K128,
            Mode::Cfb128,
            IV,
            &pt,
            &h("3b3fd92eb72dad20333449f8e83cfb4ac8a64537a0b3a93fcde3cdad9f1ce58b\
                26751f67a3cbb140b1808cf187a4f4dfc04b05357c5d1c0eeac4c66f9ff7f2e6"),
        );
        check(
            K256,
            Mode::Cfb128,
            IV,
            &pt,
            &h("dc7e84bfda79164b7ecd8486985d386039ffed143b28b1c832113c6331e5407b\
                df10132415e54b92a13ed0a8267ae2f975a385741ab9cef82031623d55b1e471"),
        );
        // F.3.7: CFB8 over the first 18 bytes.
        check(K128, Mode::Cfb8, IV, &pt[..18], &h("3b79424c9c0dd436bace9e0ed4586a4f32b9"));
    }

    /// RFC 3962 Appendix B (Kerberos, CS3), rewritten to CS1: CS3 sends the last two
    /// blocks swapped; CS1 keeps CBC order and cuts the next-to-last block.
    #[test]
    fn cts_cs1() {
        let key = "636869636b656e207465726979616b69";
        let iv = "00000000000000000000000000000000";
        let pt = b"I would like the General Gau's Chicken, please, and wonton soup.";
        // (plaintext length, RFC 3962 output: C(n) || C(n-1)*)
        let cases: [(usize, &str); 3] = [
            (17, "c6353568f2bf8cb4d8a580362da7ff7f97"),
            (31, "fc00783e0efdb2c1d445d4c8eff7ed2297687268d6ecccc0c07b25e25ecfe5"),
            (32, "39312523a78662d5be7fcbcc98ebf5a897687268d6ecccc0c07b25e25ecfe584"),
        ];
        for (len, cs3) in cases {
            let cs3 = h(cs3);
            // CS3 = C(n) || C(n-1)*; CS1 = C(n-1)* || C(n) (for whole blocks: plain CBC).
            let mut cs1 = cs3[16..].to_vec();
            cs1.extend_from_slice(&cs3[..16]);
            check(key, Mode::Cts, iv, &pt[..len], &cs1);
        }
        // Longer messages: CBC up to the last two blocks.
        let cs3_47 = h("97687268d6ecccc0c07b25e25ecfe584b3fffd940c16a18c1b5549d2f838029e\
                        39312523a78662d5be7fcbcc98ebf5");
        let mut cs1 = cs3_47[..16].to_vec();
        cs1.extend_from_slice(&cs3_47[32..]);
        cs1.extend_from_slice(&cs3_47[16..32]);
        check(key, Mode::Cts, iv, &pt[..47], &cs1);
        let enc = stream(key, Mode::Cts, true, iv);
        assert_eq!(one_shot(&enc, &pt[..15]), Err(Error::DataLenRange));
        let dec = stream(key, Mode::Cts, false, iv);
        assert_eq!(one_shot(&dec, &pt[..15]), Err(Error::EncryptedDataLenRange));
    }

    #[test]
    fn cbc_pad() {
        let key = h(K128);
        for len in [0usize, 1, 15, 16, 17, 32, 33] {
            let pt: Vec<u8> = (0..=255u8).take(len).collect();
            let enc = Stream::new(BlockCipher::aes(&key).unwrap(), Mode::CbcPad, true, &h(IV)).unwrap();
            let ct = one_shot(&enc, &pt).unwrap();
            assert_eq!(ct.len(), (len / 16 + 1) * 16);
            // The padded plaintext encrypted without padding gives the same ciphertext.
            let mut padded = pt.clone();
            let pad = 16 - len % 16;
            padded.extend(core::iter::repeat_n(u8::try_from(pad).unwrap(), pad));
            let plain = Stream::new(BlockCipher::aes(&key).unwrap(), Mode::Cbc, true, &h(IV)).unwrap();
            assert_eq!(one_shot(&plain, &padded).unwrap(), ct);
            let dec = Stream::new(BlockCipher::aes(&key).unwrap(), Mode::CbcPad, false, &h(IV)).unwrap();
            assert_eq!(one_shot(&dec, &ct).unwrap(), pt);
            check(K128, Mode::CbcPad, IV, &pt, &ct);
        }
        // Bad padding, bad lengths.
        let dec = Stream::new(BlockCipher::aes(&key).unwrap(), Mode::CbcPad, false, &h(IV)).unwrap();
        let plain = Stream::new(BlockCipher::aes(&key).unwrap(), Mode::Cbc, true, &h(IV)).unwrap();
        for last in [0u8, 17, 0xff] {
            let mut block = [3u8; 16];
            block[15] = last;
            let ct = one_shot(&plain, &block).unwrap();
            assert_eq!(one_shot(&dec, &ct), Err(Error::EncryptedDataInvalid), "pad {last}");
        }
        let mut block = [0u8; 16];
        block[13..].copy_from_slice(&[3, 2, 3]);
        let ct = one_shot(&plain, &block).unwrap();
        assert_eq!(one_shot(&dec, &ct), Err(Error::EncryptedDataInvalid));
        assert_eq!(one_shot(&dec, &[0u8; 15]), Err(Error::EncryptedDataLenRange));
        assert_eq!(one_shot(&dec, &[]), Err(Error::EncryptedDataLenRange));
        let ecb = Stream::new(BlockCipher::aes(&key).unwrap(), Mode::Ecb, true, &[]).unwrap();
        assert_eq!(one_shot(&ecb, &[0u8; 17]), Err(Error::DataLenRange));
        let cbc = Stream::new(BlockCipher::aes(&key).unwrap(), Mode::Cbc, false, &h(IV)).unwrap();
        assert_eq!(one_shot(&cbc, &[0u8; 8]), Err(Error::EncryptedDataLenRange));
    }

    #[test]
    fn ctr_counter_width_is_honoured_and_never_wraps() {
        let key = BlockCipher::aes(&h(K128)).unwrap();
        // Two counter bits starting at 1: blocks 1, 2, 3 and no more (the spec's example).
        let mut cb = [0xaau8; 16];
        cb[15] = 0xa9; // low two bits = 01
        let s = Stream::new(key.clone(), Mode::Ctr { counter_bits: 2 }, true, &cb).unwrap();
        assert_eq!(one_shot(&s, &[0u8; 48]).unwrap().len(), 48);
        assert_eq!(one_shot(&s, &[0u8; 49]), Err(Error::DataLenRange));
        let mut s2 = s.clone();
        let mut out = Vec::new();
        s2.update_into(&[0u8; 40], &mut out).unwrap();
        s2.update_into(&[0u8; 8], &mut out).unwrap();
        assert_eq!(s2.update_into(&[0u8; 1], &mut out), Err(Error::DataLenRange));
        // Only the counter field moves: the third block's counter block is ..ab, then the
        // field is exhausted; the bytes above it never change.
        let mut expect = vec![0u8; 48];
        for (i, low) in [1u8, 2, 3].iter().enumerate() {
            let mut block = [0xaau8; 16];
            block[15] = 0xa8 | low;
            key.encrypt_blocks(&mut block);
            expect[i * 16..i * 16 + 16].copy_from_slice(&block);
        }
        assert_eq!(one_shot(&s, &[0u8; 48]).unwrap(), expect);
        // An 8-bit field wraps within itself into nothing: 0xff leaves room for one block.
        let mut cb = [0u8; 16];
        cb[15] = 0xff;
        let s = Stream::new(key.clone(), Mode::Ctr { counter_bits: 8 }, true, &cb).unwrap();
        assert_eq!(one_shot(&s, &[0u8; 16]).unwrap().len(), 16);
        assert_eq!(one_shot(&s, &[0u8; 17]), Err(Error::DataLenRange));
        for bits in [0u32, 129] {
            assert_eq!(
                Stream::new(key.clone(), Mode::Ctr { counter_bits: bits }, true, &cb).map(|_| ()),
                Err(Error::MechanismParamInvalid)
            );
        }
    }

    #[test]
    fn iv_lengths_are_checked() {
        let key = BlockCipher::aes(&h(K128)).unwrap();
        for mode in [Mode::Cbc, Mode::CbcPad, Mode::Cts, Mode::Ofb, Mode::Cfb8, Mode::Cfb128] {
            for len in [0usize, 8, 15, 17] {
                assert_eq!(
                    Stream::new(key.clone(), mode, true, &vec![0; len]).map(|_| ()),
                    Err(Error::MechanismParamInvalid),
                    "{mode:?} {len}"
                );
            }
        }
        assert!(Stream::new(key.clone(), Mode::Ecb, true, &[0; 16]).is_err());
        assert_eq!(BlockCipher::aes(&[0; 20]).map(|_| ()), Err(Error::KeySizeRange));
        assert_eq!(BlockCipher::tdes(&[0; 8]).map(|_| ()), Err(Error::KeySizeRange));
    }

    /// SP 800-67 Rev. 2 / SP 800-20 style TDEA example: three-key ECB, and CBC through the
    /// same blocks, checked against the two-key form with K3 = K1.
    #[test]
    fn tdea() {
        // NIST SP 800-67 Rev. 1, Appendix B example (three independent keys).
        let key = h("0123456789ABCDEF23456789ABCDEF01456789ABCDEF0123");
        let pt = h("5468652071756663 6B2062726F776E20 666F78206A756D70");
        let ct = h("A826FD8CE53B855F CCE21C8112256FE6 68D5C05DD9B6B900");
        let ecb = |enc| Stream::new(BlockCipher::tdes(&key).unwrap(), Mode::Ecb, enc, &[]).unwrap();
        assert_eq!(one_shot(&ecb(true), &pt).unwrap(), ct);
        assert_eq!(one_shot(&ecb(false), &ct).unwrap(), pt);
        // Two-key TDEA is three-key with K3 = K1.
        let k2 = &key[..16];
        let mut k3 = k2.to_vec();
        k3.extend_from_slice(&key[..8]);
        let iv = [7u8; 8];
        for mode in [Mode::Ecb, Mode::Cbc, Mode::CbcPad] {
            let iv: &[u8] = if mode == Mode::Ecb { &[] } else { &iv };
            let a = Stream::new(BlockCipher::tdes(k2).unwrap(), mode, true, iv).unwrap();
            let b = Stream::new(BlockCipher::tdes(&k3).unwrap(), mode, true, iv).unwrap();
            assert_eq!(one_shot(&a, &pt).unwrap(), one_shot(&b, &pt).unwrap());
        }
        let cbc = Stream::new(BlockCipher::tdes(&key).unwrap(), Mode::CbcPad, true, &iv).unwrap();
        let c = one_shot(&cbc, b"attack at dawn").unwrap();
        assert_eq!(c.len(), 16);
        let dec = Stream::new(BlockCipher::tdes(&key).unwrap(), Mode::CbcPad, false, &iv).unwrap();
        assert_eq!(one_shot(&dec, &c).unwrap(), b"attack at dawn");
    }

    #[test]
    fn des_parity() {
        let mut k = [0u8, 1, 2, 3, 0xfe, 0xff, 0x80, 0x7f];
        set_des_parity(&mut k);
        assert!(k.iter().all(|b| b.count_ones() % 2 == 1));
        assert_eq!(k, [0x01, 0x01, 0x02, 0x02, 0xfe, 0xfe, 0x80, 0x7f]);
    }
}
