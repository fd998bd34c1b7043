//! AES-GCM (NIST SP 800-38D) for `CKM_AES_GCM`: AES-128/192/256, any IV length from 1 to 256
//! bytes, and tags of 4, 8 or 12..=16 bytes.
//!
//! The `aes-gcm` crate fixes IV and tag length as type parameters and has no AES-192 alias, so
//! the mode is put together here from the two audited primitives it is built from: the `aes`
//! block cipher and `ghash`. What is left is the counter arithmetic and the length block of
//! SP 800-38D §7, checked below against the GCM specification's test cases, NIST CAVP vectors
//! and the `aes-gcm` crate itself.

use alloc::vec::Vec;

use aes::cipher::{BlockCipherEncrypt, KeyInit};
use aes::{Aes128, Aes192, Aes256, Block};
use ghash::GHash;
use ghash::universal_hash::UniversalHash;
use zeroize::Zeroize;

use crate::secret::ct_eq;
use crate::{Error, Result};

/// AES block length in bytes.
const BLOCK: usize = 16;

/// IV lengths accepted, in bytes. SP 800-38D allows up to 2^64 - 1 bits; 256 bytes is far more
/// than any client sends, and a fixed bound keeps a hostile `CK_GCM_PARAMS` cheap to reject.
pub const IV_LEN_RANGE: core::ops::RangeInclusive<usize> = 1..=256;

/// Tag lengths accepted, in bytes: 128, 120, 112, 104 and 96 bits (SP 800-38D §5.2.1.2), plus
/// the 64- and 32-bit tags that Appendix C allows for constrained uses.
pub const TAG_LENS: [usize; 7] = [4, 8, 12, 13, 14, 15, 16];

/// Longest plaintext GCM can protect under one IV: 2^39 - 256 bits (SP 800-38D §5.2.1.1).
const MAX_TEXT_LEN: u64 = (1 << 36) - 32;

/// Longest associated data: 2^64 - 1 bits, rounded down to whole bytes.
const MAX_AAD_LEN: u64 = (1 << 61) - 1;

/// Counter blocks encrypted per call to the cipher, so AES-NI and friends can pipeline.
const BATCH: usize = 64;

/// Check the parameters of an AES-GCM operation before it starts.
///
/// # Errors
/// - `Error::KeySizeRange` when `key_len` is not 16, 24 or 32.
/// - `Error::MechanismParamInvalid` when `iv_len` is outside [`IV_LEN_RANGE`] or `tag_bytes` is
///   not one of [`TAG_LENS`].
pub fn check_params(key_len: usize, iv_len: usize, tag_bytes: usize) -> Result<()> {
    if !matches!(key_len, 16 | 24 | 32) {
        return Err(Error::KeySizeRange);
    }
    if !IV_LEN_RANGE.contains(&iv_len) || !TAG_LENS.contains(&tag_bytes) {
        return Err(Error::MechanismParamInvalid);
    }
    Ok(())
}

/// Encrypt and authenticate `plaintext`; returns the ciphertext followed by a `tag_bytes` tag.
///
/// # Errors
/// - `Error::KeySizeRange` / `Error::MechanismParamInvalid` as for [`check_params`].
/// - `Error::DataLenRange` when `plaintext` or `aad` is longer than GCM allows under one IV.
pub fn seal(key: &[u8], iv: &[u8], aad: &[u8], tag_bytes: usize, plaintext: &[u8]) -> Result<Vec<u8>> {
    check_params(key.len(), iv.len(), tag_bytes)?;
    if too_long(plaintext.len(), MAX_TEXT_LEN) || too_long(aad.len(), MAX_AAD_LEN) {
        return Err(Error::DataLenRange);
    }
    if let Some(fast) = Standard::new(key, iv.len(), tag_bytes) {
        return fast.seal(iv, aad, plaintext);
    }
    seal_general(key, iv, aad, tag_bytes, plaintext)
}

/// [`seal`] through the construction of this module, for every IV and tag length.
///
/// The work is done a chunk at a time — copy, keystream, GHASH — so each chunk is still in
/// the L1 cache for the next step, instead of three passes over the whole message.
fn seal_general(key: &[u8], iv: &[u8], aad: &[u8], tag_bytes: usize, plaintext: &[u8]) -> Result<Vec<u8>> {
    let gcm = Gcm::new(key)?;
    let mut j0 = gcm.j0(iv);

    let mut out = Vec::with_capacity(plaintext.len().saturating_add(tag_bytes));
    let mut ghash = gcm.ghash.clone();
    ghash.update_padded(aad);
    let mut next = counter_of(&j0).wrapping_add(1);
    let mut keystream = [Block::default(); BATCH];
    for chunk in plaintext.chunks(BATCH * BLOCK) {
        let start = out.len();
        out.extend_from_slice(chunk);
        let dst = &mut out[start..];
        gcm.xor_keystream(&j0, &mut next, &mut keystream, dst);
        // Every chunk but the last is whole blocks, so padding only ever pads the last.
        ghash.update_padded(dst);
    }
    keystream.zeroize();
    ghash.update(&[length_block(aad.len(), plaintext.len())]);
    let mut tag = ghash.finalize();
    let mut mask = j0;
    gcm.cipher.encrypt_block(&mut mask);
    for (t, m) in tag.iter_mut().zip(mask.iter()) {
        *t ^= m;
    }
    mask.zeroize();
    out.extend_from_slice(&tag[..tag_bytes]);

    tag.zeroize();
    j0.zeroize();
    Ok(out)
}

/// Check the tag and decrypt `ciphertext_and_tag` (ciphertext followed by a `tag_bytes` tag).
/// The tag is verified, in constant time, before anything is decrypted.
///
/// # Errors
/// - `Error::KeySizeRange` / `Error::MechanismParamInvalid` as for [`check_params`] (a caller
///   that ran `check_params` first never sees these).
/// - `Error::EncryptedDataInvalid` for everything about the data: input shorter than the tag,
///   longer than GCM allows, or a tag that does not match. One code for all, so a caller learns
///   nothing about why.
pub fn open(
    key: &[u8],
    iv: &[u8],
    aad: &[u8],
    tag_bytes: usize,
    ciphertext_and_tag: &[u8],
) -> Result<Vec<u8>> {
    check_params(key.len(), iv.len(), tag_bytes)?;
    let text_len = ciphertext_and_tag.len().checked_sub(tag_bytes).ok_or(Error::EncryptedDataInvalid)?;
    let (ciphertext, given_tag) = ciphertext_and_tag.split_at(text_len);
    if too_long(ciphertext.len(), MAX_TEXT_LEN) || too_long(aad.len(), MAX_AAD_LEN) {
        return Err(Error::EncryptedDataInvalid);
    }
    if let Some(fast) = Standard::new(key, iv.len(), tag_bytes) {
        return fast.open(iv, aad, ciphertext, given_tag);
    }
    let gcm = Gcm::new(key)?;
    let mut j0 = gcm.j0(iv);

    let mut expected = gcm.full_tag(&j0, aad, ciphertext);
    let tag_ok = ct_eq(&expected[..tag_bytes], given_tag);
    expected.zeroize();
    if !tag_ok {
        j0.zeroize();
        return Err(Error::EncryptedDataInvalid);
    }

    let mut out = ciphertext.to_vec();
    gcm.apply_keystream(&j0, &mut out);
    j0.zeroize();
    Ok(out)
}

/// The standard shape (96-bit IV, 128-bit tag, AES-128 or AES-256) goes through the `aes-gcm`
/// crate, which is faster than putting the mode together here; the agreement of the two is
/// tested below.
#[derive(Clone)]
#[allow(
    clippy::large_enum_variant,
    reason = "one short-lived cipher per call; boxing would add an allocation on the hot path"
)]
enum Standard {
    Aes128(aes_gcm::Aes128Gcm),
    Aes256(aes_gcm::Aes256Gcm),
}

impl Standard {
    fn new(key: &[u8], iv_len: usize, tag_bytes: usize) -> Option<Self> {
        use aes_gcm::KeyInit as _;
        if iv_len != 12 || tag_bytes != BLOCK {
            return None;
        }
        match key.len() {
            16 => aes_gcm::Aes128Gcm::new_from_slice(key).ok().map(Standard::Aes128),
            32 => aes_gcm::Aes256Gcm::new_from_slice(key).ok().map(Standard::Aes256),
            _ => None,
        }
    }

    fn seal(&self, iv: &[u8], aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>> {
        use aes_gcm::aead::AeadInOut as _;
        let nonce = aes_gcm::Nonce::<aes_gcm::aead::consts::U12>::try_from(iv)
            .map_err(|_| Error::MechanismParamInvalid)?;
        // The keystream is applied from the plaintext straight into the output, so the
        // plaintext is read once (a zeroed allocation costs less than a copy pass).
        let mut out = alloc::vec![0u8; plaintext.len().saturating_add(BLOCK)];
        let (body, tail) = out.split_at_mut(plaintext.len());
        let buf = aes_gcm::aead::inout::InOutBuf::new(plaintext, body).map_err(|_| Error::GeneralError)?;
        let tag = match self {
            Standard::Aes128(c) => c.encrypt_inout_detached(&nonce, aad, buf),
            Standard::Aes256(c) => c.encrypt_inout_detached(&nonce, aad, buf),
        }
        .map_err(|_| Error::DataLenRange)?;
        tail.copy_from_slice(&tag);
        Ok(out)
    }

    fn open(&self, iv: &[u8], aad: &[u8], ciphertext: &[u8], tag: &[u8]) -> Result<Vec<u8>> {
        use aes_gcm::aead::AeadInOut as _;
        let nonce = aes_gcm::Nonce::<aes_gcm::aead::consts::U12>::try_from(iv)
            .map_err(|_| Error::MechanismParamInvalid)?;
        let tag = aes_gcm::Tag::<aes_gcm::aead::consts::U16>::try_from(tag)
            .map_err(|_| Error::EncryptedDataInvalid)?;
        let mut out = ciphertext.to_vec();
        // The crate checks the tag, in constant time, before it decrypts.
        let r = match self {
            Standard::Aes128(c) => c.decrypt_inout_detached(&nonce, aad, out.as_mut_slice().into(), &tag),
            Standard::Aes256(c) => c.decrypt_inout_detached(&nonce, aad, out.as_mut_slice().into(), &tag),
        };
        match r {
            Ok(()) => Ok(out),
            Err(_) => {
                out.zeroize();
                Err(Error::EncryptedDataInvalid)
            }
        }
    }
}

/// A multi-part GCM encryption (`C_EncryptUpdate`): ciphertext is released as it is
/// produced, GHASH runs over it as it goes, and the tag comes at the end. GCM is a stream
/// mode, so every update returns exactly as many bytes as it was given.
#[derive(Clone)]
pub struct SealStream {
    gcm: Gcm,
    /// The one-call path for the standard shape.
    standard: Option<Standard>,
    iv: Vec<u8>,
    aad: Vec<u8>,
    j0: Block,
    /// GHASH over the AAD and the whole ciphertext blocks so far.
    ghash: GHash,
    /// The counter of the next keystream block.
    next: u32,
    /// Keystream not yet used; `ks_pos == BLOCK` when empty.
    ks: Block,
    ks_pos: usize,
    /// Ciphertext not yet hashed (less than a block).
    partial: Block,
    partial_len: usize,
    aad_len: usize,
    text_len: u64,
    tag_bytes: usize,
}

impl core::fmt::Debug for SealStream {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SealStream").field("tag_bytes", &self.tag_bytes).finish_non_exhaustive()
    }
}

impl Drop for SealStream {
    fn drop(&mut self) {
        self.j0.zeroize();
        self.ks.zeroize();
        self.partial.zeroize();
    }
}

impl SealStream {
    /// Start an encryption: key, IV, the whole AAD and the tag length.
    ///
    /// # Errors
    /// As [`check_params`]; `DataLenRange` for AAD longer than GCM allows.
    pub fn new(key: &[u8], iv: &[u8], aad: &[u8], tag_bytes: usize) -> Result<Self> {
        check_params(key.len(), iv.len(), tag_bytes)?;
        if too_long(aad.len(), MAX_AAD_LEN) {
            return Err(Error::DataLenRange);
        }
        let gcm = Gcm::new(key)?;
        let j0 = gcm.j0(iv);
        let mut ghash = gcm.ghash.clone();
        ghash.update_padded(aad);
        let next = counter_of(&j0).wrapping_add(1);
        Ok(Self {
            standard: Standard::new(key, iv.len(), tag_bytes),
            iv: iv.to_vec(),
            aad: aad.to_vec(),
            gcm,
            j0,
            ghash,
            next,
            ks: Block::default(),
            ks_pos: BLOCK,
            partial: Block::default(),
            partial_len: 0,
            aad_len: aad.len(),
            text_len: 0,
            tag_bytes,
        })
    }

    /// The tag length in bytes.
    pub fn tag_len(&self) -> usize {
        self.tag_bytes
    }

    /// Encrypt more plaintext, appending the ciphertext to `out`.
    ///
    /// # Errors
    /// `DataLenRange` when the total would exceed what GCM allows under one IV.
    pub fn update_into(&mut self, data: &[u8], out: &mut Vec<u8>) -> Result<()> {
        let total = self.text_len.saturating_add(data.len() as u64);
        if total > MAX_TEXT_LEN {
            return Err(Error::DataLenRange);
        }
        self.text_len = total;
        let start = out.len();
        out.extend_from_slice(data);
        let buf = &mut out[start..];
        let avail = (BLOCK - self.ks_pos).min(buf.len());
        let (head, rest) = buf.split_at_mut(avail);
        for (b, k) in head.iter_mut().zip(&self.ks[self.ks_pos..]) {
            *b ^= k;
        }
        self.ks_pos += avail;
        let mut keystream = [Block::default(); BATCH];
        for chunk in rest.chunks_mut(BATCH * BLOCK) {
            let blocks = self.gcm.xor_keystream(&self.j0, &mut self.next, &mut keystream, chunk);
            let used = chunk.len() - (blocks - 1) * BLOCK;
            self.ks = keystream[blocks - 1];
            self.ks_pos = used;
        }
        keystream.zeroize();
        self.absorb(start, out);
        Ok(())
    }

    /// Hash the ciphertext `out[start..]`.
    fn absorb(&mut self, start: usize, out: &[u8]) {
        let mut ct = &out[start..];
        if self.partial_len > 0 {
            let take = (BLOCK - self.partial_len).min(ct.len());
            self.partial[self.partial_len..self.partial_len + take].copy_from_slice(&ct[..take]);
            self.partial_len += take;
            ct = &ct[take..];
            if self.partial_len == BLOCK {
                self.ghash.update(&[self.partial]);
                self.partial_len = 0;
            }
        }
        let (blocks, rest) = Block::slice_as_chunks(ct);
        self.ghash.update(blocks);
        self.partial[..rest.len()].copy_from_slice(rest);
        if !rest.is_empty() {
            self.partial_len = rest.len();
        }
    }

    /// The tag over everything encrypted so far (the state is kept).
    pub fn tag(&self) -> Vec<u8> {
        let mut g = self.ghash.clone();
        if self.partial_len > 0 {
            g.update_padded(&self.partial[..self.partial_len]);
        }
        // text_len is bounded by MAX_TEXT_LEN, so it fits a usize on 64-bit targets and the
        // length block takes it as bytes.
        g.update(&[length_block_u64(self.aad_len as u64, self.text_len)]);
        let mut tag = g.finalize();
        let mut mask = self.j0;
        self.gcm.cipher.encrypt_block(&mut mask);
        for (t, m) in tag.iter_mut().zip(mask.iter()) {
            *t ^= m;
        }
        mask.zeroize();
        let out = tag[..self.tag_bytes].to_vec();
        tag.zeroize();
        out
    }

    /// The whole ciphertext and tag of `plaintext` from this fresh state (one-call
    /// `C_Encrypt`), without consuming it.
    ///
    /// # Errors
    /// `DataLenRange` for a plaintext longer than GCM allows.
    pub fn seal_all(&self, plaintext: &[u8]) -> Result<Vec<u8>> {
        if too_long(plaintext.len(), MAX_TEXT_LEN) {
            return Err(Error::DataLenRange);
        }
        if let Some(fast) = &self.standard {
            // The AAD is already in `ghash`, but the crate wants it again: keep a copy.
            return fast.seal(&self.iv, &self.aad, plaintext);
        }
        let mut out = Vec::with_capacity(plaintext.len().saturating_add(self.tag_bytes));
        out.extend_from_slice(plaintext);
        self.gcm.apply_keystream(&self.j0, &mut out);
        let mut g = self.ghash.clone();
        g.update_padded(&out);
        g.update(&[length_block_u64(self.aad_len as u64, out.len() as u64)]);
        let mut tag = g.finalize();
        let mut mask = self.j0;
        self.gcm.cipher.encrypt_block(&mut mask);
        for (t, m) in tag.iter_mut().zip(mask.iter()) {
            *t ^= m;
        }
        out.extend_from_slice(&tag[..self.tag_bytes]);
        mask.zeroize();
        tag.zeroize();
        Ok(out)
    }
}

/// `[8 * a]_64 || [8 * b]_64` from byte lengths already bounded by the GCM limits.
fn length_block_u64(a: u64, b: u64) -> Block {
    let mut block = Block::default();
    block[..8].copy_from_slice(&a.wrapping_mul(8).to_be_bytes());
    block[8..].copy_from_slice(&b.wrapping_mul(8).to_be_bytes());
    block
}

/// True when `len` bytes exceed `max` (lengths past `u64` count as too long).
fn too_long(len: usize, max: u64) -> bool {
    u64::try_from(len).map_or(true, |len| len > max)
}

/// The block cipher, chosen by key length.
#[derive(Clone)]
enum Cipher {
    Aes128(Aes128),
    Aes192(Aes192),
    Aes256(Aes256),
}

impl Cipher {
    fn new(key: &[u8]) -> Result<Self> {
        let bad = |_| Error::KeySizeRange;
        Ok(match key.len() {
            16 => Cipher::Aes128(Aes128::new_from_slice(key).map_err(bad)?),
            24 => Cipher::Aes192(Aes192::new_from_slice(key).map_err(bad)?),
            32 => Cipher::Aes256(Aes256::new_from_slice(key).map_err(bad)?),
            _ => return Err(Error::KeySizeRange),
        })
    }

    fn encrypt_blocks(&self, blocks: &mut [Block]) {
        match self {
            Cipher::Aes128(c) => c.encrypt_blocks(blocks),
            Cipher::Aes192(c) => c.encrypt_blocks(blocks),
            Cipher::Aes256(c) => c.encrypt_blocks(blocks),
        }
    }

    fn encrypt_block(&self, block: &mut Block) {
        self.encrypt_blocks(core::slice::from_mut(block));
    }
}

/// One key's GCM state: the cipher and GHASH keyed with `H = E_K(0^128)`. Both wipe themselves
/// on drop (`zeroize` features of `aes` and `ghash`).
#[derive(Clone)]
struct Gcm {
    cipher: Cipher,
    ghash: GHash,
}

impl Gcm {
    fn new(key: &[u8]) -> Result<Self> {
        let cipher = Cipher::new(key)?;
        let mut h = Block::default();
        cipher.encrypt_block(&mut h);
        let ghash = GHash::new(&h);
        h.zeroize();
        Ok(Self { cipher, ghash })
    }

    /// The pre-counter block J0 (SP 800-38D §7.1 step 2): `IV || 0^31 || 1` for a 96-bit IV,
    /// otherwise `GHASH(IV || 0^s || 0^64 || [len(IV)]_64)`.
    fn j0(&self, iv: &[u8]) -> Block {
        if iv.len() == 12 {
            let mut j0 = Block::default();
            j0[..12].copy_from_slice(iv);
            j0[15] = 1;
            return j0;
        }
        let mut ghash = self.ghash.clone();
        ghash.update_padded(iv);
        ghash.update(&[length_block(0, iv.len())]);
        ghash.finalize()
    }

    /// XOR `data` with the keystream `E(inc32(J0)), E(inc32^2(J0)), ...` (GCTR, §6.5).
    fn apply_keystream(&self, j0: &Block, data: &mut [u8]) {
        let mut next = counter_of(j0).wrapping_add(1);
        let mut keystream = [Block::default(); BATCH];
        for chunk in data.chunks_mut(BATCH * BLOCK) {
            self.xor_keystream(j0, &mut next, &mut keystream, chunk);
        }
        keystream.zeroize();
    }

    /// XOR `chunk` (at most `BATCH` blocks) with the keystream blocks of counters `*next`,
    /// `*next + 1`, … (mod 2^32, in the counter block of `j0`), built in `keystream`, which the
    /// caller wipes when done; `*next` moves past them. Returns the number of blocks used.
    fn xor_keystream(
        &self,
        j0: &Block,
        next: &mut u32,
        keystream: &mut [Block; BATCH],
        chunk: &mut [u8],
    ) -> usize {
        let blocks = chunk.len().div_ceil(BLOCK);
        for block in &mut keystream[..blocks] {
            *block = *j0;
            block[12..].copy_from_slice(&next.to_be_bytes());
            *next = next.wrapping_add(1);
        }
        self.cipher.encrypt_blocks(&mut keystream[..blocks]);
        xor_blocks(chunk, &keystream[..blocks]);
        blocks
    }

    /// The untruncated tag `E(J0) ^ GHASH(A || 0^v || C || 0^u || [len(A)]_64 || [len(C)]_64)`
    /// (§7.1 steps 5-6).
    fn full_tag(&self, j0: &Block, aad: &[u8], ciphertext: &[u8]) -> Block {
        let mut ghash = self.ghash.clone();
        ghash.update_padded(aad);
        ghash.update_padded(ciphertext);
        ghash.update(&[length_block(aad.len(), ciphertext.len())]);
        let mut tag = ghash.finalize();

        let mut mask = *j0;
        self.cipher.encrypt_block(&mut mask);
        for (t, m) in tag.iter_mut().zip(mask.iter()) {
            *t ^= m;
        }
        mask.zeroize();
        tag
    }
}

/// XOR `data` with the keystream `blocks`, a whole block at a time (the byte loop the
/// compiler would otherwise emit is several times slower than the cipher).
fn xor_blocks(data: &mut [u8], blocks: &[Block]) {
    let whole = data.len() / BLOCK;
    let mut chunks = data.chunks_exact_mut(BLOCK);
    for (d, k) in (&mut chunks).zip(blocks) {
        let mut w = [0u8; BLOCK];
        w.copy_from_slice(d);
        let x = u128::from_ne_bytes(w) ^ u128::from_ne_bytes(k.0);
        d.copy_from_slice(&x.to_ne_bytes());
    }
    let tail = chunks.into_remainder();
    if let Some(k) = blocks.get(whole) {
        for (b, k) in tail.iter_mut().zip(k.iter()) {
            *b ^= k;
        }
    }
}

/// The rightmost 32 bits of a counter block.
fn counter_of(block: &Block) -> u32 {
    u32::from_be_bytes([block[12], block[13], block[14], block[15]])
}

/// `[8 * a]_64 || [8 * b]_64`: the bit lengths that close a GHASH input. Lengths are bounded
/// by [`MAX_AAD_LEN`] and [`MAX_TEXT_LEN`] (or the 256-byte IV bound) before this is reached.
fn length_block(a: usize, b: usize) -> Block {
    let bits = |len: usize| (len as u64).wrapping_mul(8);
    let mut block = Block::default();
    block[..8].copy_from_slice(&bits(a).to_be_bytes());
    block[8..].copy_from_slice(&bits(b).to_be_bytes());
    block
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]
mod tests {
    use aes_gcm::aead::array::{Array, typenum};
    use aes_gcm::aead::{Aead, Payload};

    use super::*;

    fn h(s: &str) -> Vec<u8> {
        hex::decode(s).unwrap()
    }

    /// Check one vector both ways, plus tampering.
    fn check(key: &str, iv: &str, aad: &str, pt: &str, ct: &str, tag: &str) {
        let (key, iv, aad, pt, ct, tag) = (h(key), h(iv), h(aad), h(pt), h(ct), h(tag));
        let mut expected = ct.clone();
        expected.extend_from_slice(&tag);
        assert_eq!(seal(&key, &iv, &aad, 16, &pt).unwrap(), expected);
        assert_eq!(open(&key, &iv, &aad, 16, &expected).unwrap(), pt);

        // A shorter tag is the leftmost bytes of the full one (MSB_t, SP 800-38D §7.1 step 6).
        for t in [4, 8, 12, 13, 14, 15] {
            let mut short = ct.clone();
            short.extend_from_slice(&tag[..t]);
            assert_eq!(seal(&key, &iv, &aad, t, &pt).unwrap(), short, "tag {t}");
            assert_eq!(open(&key, &iv, &aad, t, &short).unwrap(), pt, "tag {t}");
        }

        // Every bit matters: ciphertext, tag, AAD and IV.
        for i in 0..expected.len() {
            let mut bad = expected.clone();
            bad[i] ^= 0x01;
            assert_eq!(open(&key, &iv, &aad, 16, &bad), Err(Error::EncryptedDataInvalid));
        }
        let mut bad_aad = aad.clone();
        bad_aad.push(0);
        assert_eq!(open(&key, &iv, &bad_aad, 16, &expected), Err(Error::EncryptedDataInvalid));
        let mut bad_iv = iv.clone();
        bad_iv[0] ^= 0x80;
        assert_eq!(open(&key, &bad_iv, &aad, 16, &expected), Err(Error::EncryptedDataInvalid));
    }

    const K3: &str = "feffe9928665731c6d6a8f9467308308";
    const P3: &str = "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72\
                      1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255";
    const P4: &str = "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72\
                      1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39";
    const A4: &str = "feedfacedeadbeeffeedfacedeadbeefabaddad2";

    /// McGrew & Viega, "The Galois/Counter Mode of Operation (GCM)", Appendix B.
    #[test]
    fn gcm_spec_aes128() {
        // Test case 1: empty plaintext.
        check(
            "00000000000000000000000000000000",
            "000000000000000000000000",
            "",
            "",
            "",
            "58e2fccefa7e3061367f1d57a4e7455a",
        );
        // Test case 2.
        check(
            "00000000000000000000000000000000",
            "000000000000000000000000",
            "",
            "00000000000000000000000000000000",
            "0388dace60b6a392f328c2b971b2fe78",
            "ab6e47d42cec13bdf53a67b21257bddf",
        );
        // Test case 3.
        check(
            K3,
            "cafebabefacedbaddecaf888",
            "",
            P3,
            "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e\
             21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091473f5985",
            "4d5c2af327cd64a62cf35abd2ba6fab4",
        );
        // Test case 4: AAD, and a plaintext that is not a whole number of blocks.
        check(
            K3,
            "cafebabefacedbaddecaf888",
            A4,
            P4,
            "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e\
             21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091",
            "5bc94fbc3221a5db94fae95ae7121a47",
        );
        // Test case 5: 64-bit IV (J0 through GHASH).
        check(
            K3,
            "cafebabefacedbad",
            A4,
            P4,
            "61353b4c2806934a777ff51fa22a4755699b2a714fcdc6f83766e5f97b6c7423\
             73806900e49f24b22b097544d4896b424989b5e1ebac0f07c23f4598",
            "3612d2e79e3b0785561be14aaca2fccb",
        );
        // Test case 6: 480-bit IV.
        check(
            K3,
            "9313225df88406e555909c5aff5269aa6a7a9538534f7da1e4c303d2a318a728\
             c3c0c95156809539fcf0e2429a6b525416aedbf5a0de6a57a637b39b",
            A4,
            P4,
            "8ce24998625615b603a033aca13fb894be9112a5c3a211a8ba262a3cca7e2ca7\
             01e4a9a4fba43c90ccdcb281d48c7c6fd62875d2aca417034c34aee5",
            "619cc5aefffe0bfa462af43c1699d050",
        );
    }

    #[test]
    fn gcm_spec_aes192() {
        // Test case 8.
        check(
            "000000000000000000000000000000000000000000000000",
            "000000000000000000000000",
            "",
            "00000000000000000000000000000000",
            "98e7247c07f0fe411c267e4384b0f600",
            "2ff58d80033927ab8ef4d4587514f0fb",
        );
        // Test case 9.
        check(
            "feffe9928665731c6d6a8f9467308308feffe9928665731c",
            "cafebabefacedbaddecaf888",
            "",
            P3,
            "3980ca0b3c00e841eb06fac4872a2757859e1ceaa6efd984628593b40ca1e19c\
             7d773d00c144c525ac619d18c84a3f4718e2448b2fe324d9ccda2710acade256",
            "9924a7c8587336bfb118024db8674a14",
        );
    }

    #[test]
    fn gcm_spec_aes256() {
        // Test case 14.
        check(
            "0000000000000000000000000000000000000000000000000000000000000000",
            "000000000000000000000000",
            "",
            "00000000000000000000000000000000",
            "cea7403d4d606b6e074ec5d3baf39d18",
            "d0d1c8a799996bf0265b98b5d48ab919",
        );
        // Test case 16: AAD and a partial last block.
        check(
            "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308",
            "cafebabefacedbaddecaf888",
            A4,
            P4,
            "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa\
             8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662",
            "76fc6ece0f4e1768cddf8853bb2d551b",
        );
    }

    /// NIST CAVP `gcmEncryptExtIV128.rsp`, IVlen = 8 and IVlen = 1024 (Count = 0).
    #[test]
    fn cavp_unusual_iv_lengths() {
        check(
            "15b2d414826453f9e1c7dd0b69d8d1eb",
            "b6",
            "",
            "8cfa255530c6fbc19d51bd4aeb39c91b",
            "4822cb98bd5f5d921ee19285c9032375",
            "8a40670ebac98cf4e9cc1bf8f803167d",
        );
        check(
            "71eebc49c8fb773b2224eaff3ad68714",
            "07e961e67784011f72faafd95b0eb64089c8de15ad685ec57e63d56e679d3e20\
             2b18b75fcbbec3185ffc41653bc2ac4ae6ae8be8c85636f353a9d19a86100d0b\
             d035cc6bdefcab4318ac7b1a08b819427ad8f6abc782466c6ebd4d6a0dd76e78\
             389b0a2a66506bb85f038ffc1da220c24f3817c7b2d02c5e8fc5e7e3be5074bc",
            "",
            "705da82292143d2c949dc4ba014f6396",
            "032363cf0828a03553478bec0f51f372",
            "c681b2c568feaa21900bc44b86aeb946",
        );
    }

    /// Agreement with the `aes-gcm` crate over many lengths (batch boundaries included).
    #[test]
    fn matches_aes_gcm_crate() {
        let key128: Vec<u8> = (0u8..16).collect();
        let key256: Vec<u8> = (100u8..132).collect();
        let aad = b"header";
        for len in [0usize, 1, 15, 16, 17, 127, 128, 129, 255, 256, 1000] {
            let pt: Vec<u8> = (0..=250u8).cycle().take(len).collect();
            let iv12 = [9u8; 12];
            let iv16 = [5u8; 16];
            let payload = || Payload { msg: &pt, aad };

            let c = aes_gcm::Aes128Gcm::new_from_slice(&key128).unwrap();
            let want = c.encrypt(&Array::from(iv12), payload()).unwrap();
            assert_eq!(seal(&key128, &iv12, aad, 16, &pt).unwrap(), want, "128/{len}");

            let c = aes_gcm::Aes256Gcm::new_from_slice(&key256).unwrap();
            let want = c.encrypt(&Array::from(iv12), payload()).unwrap();
            assert_eq!(seal(&key256, &iv12, aad, 16, &pt).unwrap(), want, "256/{len}");

            let c = aes_gcm::AesGcm::<Aes128, typenum::U16>::new_from_slice(&key128).unwrap();
            let want = c.encrypt(&Array::from(iv16), payload()).unwrap();
            assert_eq!(seal(&key128, &iv16, aad, 16, &pt).unwrap(), want, "128/iv16/{len}");
            assert_eq!(open(&key128, &iv16, aad, 16, &want).unwrap(), pt);
        }
    }

    /// The construction of this module and the `aes-gcm` crate (the standard shape's fast
    /// path) agree, both ways.
    #[test]
    fn general_construction_matches_the_fast_path() {
        for key_len in [16usize, 32] {
            let key: Vec<u8> = (0..key_len).map(|i| u8::try_from(i).unwrap()).collect();
            let iv = [0x42u8; 12];
            for len in [0usize, 1, 16, 17, 100, 1000, 4099] {
                let pt: Vec<u8> = (0..=255u8).cycle().take(len).collect();
                let general = seal_general(&key, &iv, b"aad", 16, &pt).unwrap();
                assert_eq!(seal(&key, &iv, b"aad", 16, &pt).unwrap(), general, "{key_len}/{len}");
                assert!(Standard::new(&key, 12, 16).is_some());
                assert_eq!(open(&key, &iv, b"aad", 16, &general).unwrap(), pt);
                let mut bad = general.clone();
                bad[0] ^= 1;
                assert_eq!(open(&key, &iv, b"aad", 16, &bad), Err(Error::EncryptedDataInvalid));
            }
        }
        assert!(Standard::new(&[0; 24], 12, 16).is_none());
        assert!(Standard::new(&[0; 16], 16, 16).is_none());
        assert!(Standard::new(&[0; 16], 12, 12).is_none());
    }

    /// Multi-part encryption gives the one-shot result for every split, and `seal_all`
    /// agrees with `seal`.
    #[test]
    fn seal_stream_matches_seal() {
        let key = [3u8; 32];
        let iv = [4u8; 12];
        let aad = b"associated";
        let pt: Vec<u8> = (0..=255u8).cycle().take(300).collect();
        for tag in [16usize, 12, 8] {
            let want = seal(&key, &iv, aad, tag, &pt).unwrap();
            let fresh = SealStream::new(&key, &iv, aad, tag).unwrap();
            assert_eq!(fresh.seal_all(&pt).unwrap(), want);
            for cuts in [&[0usize][..], &[1], &[15, 16], &[16, 32, 33], &[5, 130, 131, 299], &[300]] {
                let mut s = fresh.clone();
                let mut out = Vec::new();
                let mut at = 0;
                for &c in cuts.iter().chain(core::iter::once(&pt.len())) {
                    let before = out.len();
                    s.update_into(&pt[at..c], &mut out).unwrap();
                    assert_eq!(out.len() - before, c - at);
                    at = c;
                }
                out.extend_from_slice(&s.tag());
                assert_eq!(out, want, "cuts {cuts:?}");
                // The tag does not consume the state.
                assert_eq!(s.tag(), want[pt.len()..]);
            }
        }
        let empty = SealStream::new(&key, &iv, b"", 16).unwrap();
        assert_eq!(empty.tag(), seal(&key, &iv, b"", 16, b"").unwrap());
    }

    #[test]
    fn parameters_are_checked() {
        assert_eq!(check_params(16, 12, 16), Ok(()));
        assert_eq!(check_params(24, 1, 4), Ok(()));
        assert_eq!(check_params(32, 256, 8), Ok(()));
        for key_len in [0, 15, 17, 31, 33, 64] {
            assert_eq!(check_params(key_len, 12, 16), Err(Error::KeySizeRange));
        }
        for iv_len in [0, 257] {
            assert_eq!(check_params(16, iv_len, 16), Err(Error::MechanismParamInvalid));
        }
        for tag in [0, 1, 3, 5, 7, 9, 11, 17, 32] {
            assert_eq!(check_params(16, 12, tag), Err(Error::MechanismParamInvalid));
        }
        let key = [0u8; 16];
        assert_eq!(seal(&[0u8; 20], &[0; 12], b"", 16, b"x"), Err(Error::KeySizeRange));
        assert_eq!(seal(&key, &[], b"", 16, b"x"), Err(Error::MechanismParamInvalid));
        assert_eq!(seal(&key, &[0; 12], b"", 10, b"x"), Err(Error::MechanismParamInvalid));
        assert_eq!(open(&[0u8; 8], &[0; 12], b"", 16, &[0; 32]), Err(Error::KeySizeRange));
        assert_eq!(open(&key, &[0; 12], b"", 2, &[0; 32]), Err(Error::MechanismParamInvalid));
    }

    #[test]
    fn short_input_is_rejected() {
        let key = [7u8; 32];
        let iv = [1u8; 12];
        let sealed = seal(&key, &iv, b"", 16, b"").unwrap();
        assert_eq!(sealed.len(), 16);
        assert_eq!(open(&key, &iv, b"", 16, &sealed).unwrap(), Vec::<u8>::new());
        for len in 0..16 {
            assert_eq!(open(&key, &iv, b"", 16, &sealed[..len]), Err(Error::EncryptedDataInvalid));
        }
        // A tag cut short does not verify against the full-length expectation.
        let sealed = seal(&key, &iv, b"", 16, b"attack at dawn").unwrap();
        assert_eq!(open(&key, &iv, b"", 16, &sealed[..sealed.len() - 1]), Err(Error::EncryptedDataInvalid));
        assert_eq!(open(&key, &iv, b"", 12, &sealed), Err(Error::EncryptedDataInvalid));
        assert_eq!(open(&key, &iv, b"", 16, &[0u8; 64]), Err(Error::EncryptedDataInvalid));
    }
}
