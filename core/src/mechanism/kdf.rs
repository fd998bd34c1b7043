//! Key derivation functions: HKDF (RFC 5869) over every [`DigestAlg`], PBKDF2 (RFC 8018)
//! with HMAC-SHA-1/SHA-2, and the SP 800-108 KDFs in counter, feedback and double-pipeline
//! mode with HMAC or CMAC as the PRF, with the PKCS #11 data-parameter encodings.

use alloc::boxed::Box;
use alloc::vec::Vec;

use sha1::Sha1;
use sha2::{Sha224, Sha256, Sha384, Sha512, Sha512_224, Sha512_256};
use zeroize::Zeroize;

use super::cmac::BlockMac;
use super::digest::DigestAlg;
use super::hmac::Mac;
use crate::info::{CounterFormat, PrfDataParam};
use crate::secret::SecretBytes;
use crate::{Error, Result};

// ---- HKDF ----

/// HKDF-Extract: `PRK = HMAC-Hash(salt, IKM)`. An empty salt is the hash length of zeros,
/// which HMAC's key padding makes identical to an empty key.
pub fn hkdf_extract(alg: DigestAlg, salt: &[u8], ikm: &[u8]) -> SecretBytes {
    let zeros = [0u8; 64];
    let salt = if salt.is_empty() { &zeros[..alg.output_len()] } else { salt };
    let mut m = Mac::new(alg, salt);
    m.update(ikm);
    SecretBytes::new(m.finish())
}

/// HKDF-Expand: `len` bytes of output keying material from `prk` and `info`.
///
/// # Errors
/// `KeySizeRange` when `len` is 0 or more than 255 hash lengths.
pub fn hkdf_expand(alg: DigestAlg, prk: &[u8], info: &[u8], len: usize) -> Result<SecretBytes> {
    let hash_len = alg.output_len();
    if len == 0 || len > 255 * hash_len {
        return Err(Error::KeySizeRange);
    }
    let keyed = Mac::new(alg, prk);
    let mut okm = Vec::with_capacity(len.div_ceil(hash_len) * hash_len);
    let mut t: Vec<u8> = Vec::new();
    // At most 255 blocks, checked above.
    for i in 1..=u8::try_from(len.div_ceil(hash_len)).map_err(|_| Error::KeySizeRange)? {
        let mut m = keyed.clone();
        m.update(&t);
        m.update(info);
        m.update(&[i]);
        t.zeroize();
        t = m.finish();
        okm.extend_from_slice(&t);
    }
    t.zeroize();
    okm.truncate(len);
    Ok(SecretBytes::new(okm))
}

// ---- PBKDF2 ----

/// The PRF of `CK_PKCS5_PBKD2_PARAMS2` (`CKP_PKCS5_PBKD2_HMAC_*`), as a digest.
pub fn pbkdf2_prf(ckp: u64) -> Option<DigestAlg> {
    Some(match ckp {
        1 => DigestAlg::Sha1,
        3 => DigestAlg::Sha224,
        4 => DigestAlg::Sha256,
        5 => DigestAlg::Sha384,
        6 => DigestAlg::Sha512,
        7 => DigestAlg::Sha512_224,
        8 => DigestAlg::Sha512_256,
        _ => return None,
    })
}

/// PBKDF2 with HMAC over `alg` (SHA-1 or SHA-2): `len` bytes.
///
/// # Errors
/// `MechanismParamInvalid` for zero or more than 2^32 - 1 iterations, or a SHA-3 PRF;
/// `KeySizeRange` for a zero length.
pub fn pbkdf2(
    alg: DigestAlg,
    password: &[u8],
    salt: &[u8],
    iterations: u64,
    len: usize,
) -> Result<SecretBytes> {
    let rounds = u32::try_from(iterations).map_err(|_| Error::MechanismParamInvalid)?;
    if rounds == 0 {
        return Err(Error::MechanismParamInvalid);
    }
    if len == 0 {
        return Err(Error::KeySizeRange);
    }
    let mut out = alloc::vec![0u8; len];
    match alg {
        DigestAlg::Sha1 => pbkdf2::pbkdf2_hmac::<Sha1>(password, salt, rounds, &mut out),
        DigestAlg::Sha224 => pbkdf2::pbkdf2_hmac::<Sha224>(password, salt, rounds, &mut out),
        DigestAlg::Sha256 => pbkdf2::pbkdf2_hmac::<Sha256>(password, salt, rounds, &mut out),
        DigestAlg::Sha384 => pbkdf2::pbkdf2_hmac::<Sha384>(password, salt, rounds, &mut out),
        DigestAlg::Sha512 => pbkdf2::pbkdf2_hmac::<Sha512>(password, salt, rounds, &mut out),
        DigestAlg::Sha512_224 => pbkdf2::pbkdf2_hmac::<Sha512_224>(password, salt, rounds, &mut out),
        DigestAlg::Sha512_256 => pbkdf2::pbkdf2_hmac::<Sha512_256>(password, salt, rounds, &mut out),
        DigestAlg::Sha3_224 | DigestAlg::Sha3_256 | DigestAlg::Sha3_384 | DigestAlg::Sha3_512 => {
            return Err(Error::MechanismParamInvalid);
        }
    }
    Ok(SecretBytes::new(out))
}

// ---- SP 800-108 ----

/// The three KDF constructions of SP 800-108.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KbkdfMode {
    /// §4.1: `K(i) = PRF(K_I, [i] || fixed data)`.
    Counter,
    /// §4.2: `K(i) = PRF(K_I, K(i-1) {|| [i]} || fixed data)`, `K(0) = IV`.
    Feedback,
    /// §4.3: `A(i) = PRF(K_I, A(i-1))`, `K(i) = PRF(K_I, A(i) {|| [i]} || fixed data)`.
    DoublePipeline,
}

/// A keyed PRF for SP 800-108.
#[derive(Clone, Debug)]
pub enum Prf {
    /// HMAC (`CKM_SHA*_HMAC`).
    Hmac(Box<Mac>),
    /// CMAC (`CKM_AES_CMAC`, `CKM_DES3_CMAC`).
    Cmac(Box<BlockMac>),
}

impl Prf {
    fn out_len(&self) -> usize {
        match self {
            Prf::Hmac(m) => m.alg().output_len(),
            Prf::Cmac(m) => m.mac_len(),
        }
    }

    fn update(&mut self, data: &[u8]) {
        match self {
            Prf::Hmac(m) => m.update(data),
            Prf::Cmac(m) => m.update(data),
        }
    }

    fn finish(&self) -> Vec<u8> {
        match self {
            Prf::Hmac(m) => m.finish(),
            Prf::Cmac(m) => m.finish()[..m.mac_len()].to_vec(),
        }
    }
}

/// `value` in `width_bits` bits (a multiple of 8, at most 64), big or little endian; higher
/// bits are dropped.
fn encode(value: u64, width_bits: u64, little_endian: bool) -> Vec<u8> {
    let n = (width_bits / 8) as usize;
    let be = value.to_be_bytes();
    let mut out = be[8 - n..].to_vec();
    if little_endian {
        out.reverse();
    }
    out
}

/// Check the data parameters for `mode`; the counter width that bounds the iterations.
fn validate(mode: KbkdfMode, params: &[PrfDataParam]) -> Result<u64> {
    let counter_ok = |f: &CounterFormat| f.width_bits.is_multiple_of(8) && (8..=32).contains(&f.width_bits);
    let mut iteration = 0;
    let mut counter: Option<u64> = None;
    let mut dkm = 0;
    for p in params {
        match p {
            PrfDataParam::IterationVariable(fmt) => {
                iteration += 1;
                match (mode, fmt) {
                    (KbkdfMode::Counter, Some(f)) if counter_ok(f) => counter = Some(f.width_bits),
                    (KbkdfMode::Feedback | KbkdfMode::DoublePipeline, None) => {}
                    _ => return Err(Error::MechanismParamInvalid),
                }
            }
            PrfDataParam::Counter(f) => {
                if mode == KbkdfMode::Counter || !counter_ok(f) || counter.is_some() {
                    return Err(Error::MechanismParamInvalid);
                }
                counter = Some(f.width_bits);
            }
            PrfDataParam::DkmLength { method, width_bits, .. } => {
                dkm += 1;
                if !matches!(method, 1 | 2) || width_bits % 8 != 0 || !(8..=64).contains(width_bits) {
                    return Err(Error::MechanismParamInvalid);
                }
            }
            PrfDataParam::ByteArray(_) => {}
        }
    }
    if iteration != 1 || dkm > 1 {
        return Err(Error::MechanismParamInvalid);
    }
    // Without an explicit counter, SP 800-108 bounds the iterations by 2^32 - 1.
    Ok(counter.unwrap_or(32))
}

/// Feed one PRF input: the data parameters in order, with the iteration variable as
/// `chain` (feedback and pipeline) or the encoded counter (counter mode).
fn feed(
    prf: &mut Prf,
    mode: KbkdfMode,
    params: &[PrfDataParam],
    i: u64,
    l_bits: u64,
    chain: &[u8],
    skip_counter: bool,
) {
    for p in params {
        match p {
            PrfDataParam::IterationVariable(Some(f)) if mode == KbkdfMode::Counter => {
                prf.update(&encode(i, f.width_bits, f.little_endian));
            }
            PrfDataParam::IterationVariable(_) => prf.update(chain),
            PrfDataParam::Counter(f) => {
                if !skip_counter {
                    prf.update(&encode(i, f.width_bits, f.little_endian));
                }
            }
            PrfDataParam::DkmLength { little_endian, width_bits, .. } => {
                prf.update(&encode(l_bits, *width_bits, *little_endian));
            }
            PrfDataParam::ByteArray(b) => prf.update(b),
        }
    }
}

/// Derive keys of `key_lens` bytes (the first is the main key, the others the additional
/// derived keys) with `prf` keyed by the base key. With additional keys each key starts on
/// a PRF-output boundary, so no two keys share one PRF invocation's output (PKCS #11 v3.0).
///
/// # Errors
/// `MechanismParamInvalid` for data parameters that do not fit the mode or too many
/// iterations; `KeySizeRange` for a zero key length.
pub fn kbkdf(
    mode: KbkdfMode,
    prf: &Prf,
    params: &[PrfDataParam],
    iv: &[u8],
    key_lens: &[usize],
) -> Result<Vec<SecretBytes>> {
    let r = validate(mode, params)?;
    if key_lens.is_empty() || key_lens.contains(&0) {
        return Err(Error::KeySizeRange);
    }
    let h = prf.out_len();
    let segment = |n: usize| n.div_ceil(h) * h;
    let sum_keys: usize = key_lens.iter().sum();
    let (buffer_len, l_bytes) = if key_lens.len() == 1 {
        (key_lens[0], key_lens[0])
    } else {
        let segments: usize = key_lens.iter().map(|&n| segment(n)).sum();
        let by_segments = params.iter().any(|p| matches!(p, PrfDataParam::DkmLength { method: 2, .. }));
        (segments, if by_segments { segments } else { sum_keys })
    };
    let l_bits = (l_bytes as u64).checked_mul(8).ok_or(Error::KeySizeRange)?;
    let n = buffer_len.div_ceil(h) as u64;
    if r < 64 && n >= 1u64 << r {
        return Err(Error::MechanismParamInvalid);
    }

    let mut dkm = Vec::with_capacity(segment(buffer_len));
    let mut chain: Vec<u8> = iv.to_vec();
    for i in 1..=n {
        let k = match mode {
            KbkdfMode::Counter => {
                let mut p = prf.clone();
                feed(&mut p, mode, params, i, l_bits, &[], false);
                p.finish()
            }
            KbkdfMode::Feedback => {
                let mut p = prf.clone();
                feed(&mut p, mode, params, i, l_bits, &chain, false);
                let k = p.finish();
                chain.zeroize();
                chain.clone_from(&k);
                k
            }
            KbkdfMode::DoublePipeline => {
                // A(1) = PRF(fixed data without the counter); A(i) = PRF(A(i-1)).
                let mut a = prf.clone();
                if i == 1 {
                    feed(&mut a, mode, params, i, l_bits, &[], true);
                } else {
                    a.update(&chain);
                }
                chain.zeroize();
                chain = a.finish();
                let mut p = prf.clone();
                feed(&mut p, mode, params, i, l_bits, &chain, false);
                p.finish()
            }
        };
        dkm.extend_from_slice(&k);
    }
    chain.zeroize();

    let mut keys = Vec::with_capacity(key_lens.len());
    let mut at = 0;
    for &len in key_lens {
        keys.push(SecretBytes::from_slice(&dkm[at..at + len]));
        at += segment(len);
    }
    dkm.zeroize();
    Ok(keys)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]
mod tests {
    use alloc::vec;

    use super::*;
    use crate::mechanism::block::BlockCipher;
    use crate::mechanism::cmac::MacKind;

    fn h(s: &str) -> Vec<u8> {
        hex::decode(s.replace(' ', "")).unwrap()
    }

    /// RFC 5869 Appendix A.1-A.3 (SHA-256) and A.4, A.6 (SHA-1).
    #[test]
    fn rfc5869() {
        let cases: [(DigestAlg, &str, &str, &str, usize, &str, &str); 5] = [
            (
                DigestAlg::Sha256,
                "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b",
                "000102030405060708090a0b0c",
                "f0f1f2f3f4f5f6f7f8f9",
                42,
                "077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5",
                "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865",
            ),
            (
                DigestAlg::Sha256,
                "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\
                 202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f\
                 404142434445464748494a4b4c4d4e4f",
                "606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f\
                 808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f\
                 a0a1a2a3a4a5a6a7a8a9aaabacadaeaf",
                "b0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0c1c2c3c4c5c6c7c8c9cacbcccdcecf\
                 d0d1d2d3d4d5d6d7d8d9dadbdcdddedfe0e1e2e3e4e5e6e7e8e9eaebecedeeef\
                 f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff",
                82,
                "06a6b88c5853361a06104c9ceb35b45cef760014904671014a193f40c15fc244",
                "b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c\
                 59045a99cac7827271cb41c65e590e09da3275600c2f09b8367793a9aca3db71\
                 cc30c58179ec3e87c14c01d5c1f3434f1d87",
            ),
            (
                DigestAlg::Sha256,
                "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b",
                "",
                "",
                42,
                "19ef24a32c717b167f33a91d6f648bdf96596776afdb6377ac434c1c293ccb04",
                "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8",
            ),
            (
                DigestAlg::Sha1,
                "0b0b0b0b0b0b0b0b0b0b0b",
                "000102030405060708090a0b0c",
                "f0f1f2f3f4f5f6f7f8f9",
                42,
                "9b6c18c432a7bf8f0e71c8eb88f4b30baa2ba243",
                "085a01ea1b10f36933068b56efa5ad81a4f14b822f5b091568a9cdd4f155fda2c22e422478d305f3f896",
            ),
            (
                DigestAlg::Sha1,
                "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b",
                "",
                "",
                42,
                "da8c8a73c7fa77288ec6f5e7c297786aa0d32d01",
                "0ac1af7002b3d761d1e55298da9d0506b9ae52057220a306e07b6b87e8df21d0ea00033de03984d34918",
            ),
        ];
        for (alg, ikm, salt, info, len, prk, okm) in cases {
            let p = hkdf_extract(alg, &h(salt), &h(ikm));
            assert_eq!(p.expose(), &h(prk)[..], "{alg:?} PRK");
            assert_eq!(
                hkdf_expand(alg, p.expose(), &h(info), len).unwrap().expose(),
                &h(okm)[..],
                "{alg:?} OKM"
            );
        }
        assert_eq!(
            hkdf_expand(DigestAlg::Sha256, &[1; 32], b"", 255 * 32 + 1).map(|_| ()),
            Err(Error::KeySizeRange)
        );
        assert_eq!(hkdf_expand(DigestAlg::Sha256, &[1; 32], b"", 255 * 32).unwrap().len(), 255 * 32);
    }

    /// RFC 6070 (PBKDF2-HMAC-SHA1) and the RFC 7914 §11 PBKDF2-HMAC-SHA256 vectors.
    /// (PRF, password, salt, iterations, derived key).
    type Pbkdf2Case = (DigestAlg, &'static [u8], &'static [u8], u64, &'static str);

    #[test]
    fn rfc6070_rfc7914() {
        let cases: [Pbkdf2Case; 6] = [
            (DigestAlg::Sha1, b"password", b"salt", 1, "0c60c80f961f0e71f3a9b524af6012062fe037a6"),
            (DigestAlg::Sha1, b"password", b"salt", 2, "ea6c014dc72d6f8ccd1ed92ace1d41f0d8de8957"),
            (DigestAlg::Sha1, b"password", b"salt", 4096, "4b007901b765489abead49d926f721d065a429c1"),
            (
                DigestAlg::Sha1,
                b"passwordPASSWORDpassword",
                b"saltSALTsaltSALTsaltSALTsaltSALTsalt",
                4096,
                "3d2eec4fe41c849b80c8d83662c0e44a8b291a964cf2f07038",
            ),
            (DigestAlg::Sha1, b"pass\0word", b"sa\0lt", 4096, "56fa6aa75548099dcc37d7f03425e0c3"),
            (
                DigestAlg::Sha256,
                b"passwd",
                b"salt",
                1,
                "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc\
                 49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783",
            ),
        ];
        for (alg, pw, salt, it, dk) in cases {
            let dk = h(dk);
            assert_eq!(pbkdf2(alg, pw, salt, it, dk.len()).unwrap().expose(), &dk[..], "{alg:?} c={it}");
        }
        assert_eq!(
            pbkdf2(DigestAlg::Sha256, b"p", b"s", 0, 16).map(|_| ()),
            Err(Error::MechanismParamInvalid)
        );
        assert_eq!(pbkdf2_prf(2), None);
        assert_eq!(pbkdf2_prf(4), Some(DigestAlg::Sha256));
    }

    fn ctr_fmt(bits: u64) -> CounterFormat {
        CounterFormat { little_endian: false, width_bits: bits }
    }

    fn hmac(alg: DigestAlg, key: &str) -> Prf {
        Prf::Hmac(Box::new(Mac::new(alg, &h(key))))
    }

    fn cmac(key: &str) -> Prf {
        Prf::Cmac(Box::new(BlockMac::new(BlockCipher::aes(&h(key)).unwrap(), MacKind::Cmac)))
    }

    /// NIST CAVP KBKDF (SP 800-108) counter mode, CTRLOCATION=BEFORE_FIXED, COUNT=0.
    #[test]
    fn cavp_counter_mode() {
        let cases: [(Prf, u64, &str, &str); 4] = [
            (
                hmac(DigestAlg::Sha1, "f7591733c856593565130975351954d0155abf3c"),
                32,
                "8e347ef55d5f5e99eab6de706b51de7ce004f3882889e259ff4e5cff102167a5\
                 a4bd711578d4ce17dd9abe56e51c1f2df950e2fc812ec1b217ca08d6",
                "34fe44b0d8c41b93f5fa64fb96f00e5b",
            ),
            (
                hmac(DigestAlg::Sha1, "8723b723aa398f94af2b61c06cd99de01ef6497b"),
                8,
                "8aece231d69ab033c9efe824c398da94777b260887c609a34c0206e4abcce0f5\
                 709356a7dbb92b8b0d387ccb4945d3b8a5490972205e72531f961b3d",
                "7596a2c6e19c8f5f52e1e7c6380fa5e5",
            ),
            (
                hmac(DigestAlg::Sha256, "dd1d91b7d90b2bd3138533ce92b272fbf8a369316aefe242e659cc0ae238afe0"),
                32,
                "01322b96b30acd197979444e468e1c5c6859bf1b1cf951b7e725303e237e46b8\
                 64a145fab25e517b08f8683d0315bb2911d80a0e8aba17f3b413faac",
                "10621342bfb0fd40046c0e29f2cfdbf0",
            ),
            (
                cmac("dff1e50ac0b69dc40f1051d46c2b069c"),
                8,
                "c16e6e02c5a3dcc8d78b9ac1306877761310455b4e41469951d9e6c2245a064b\
                 33fd8c3b01203a7824485bf0a64060c4648b707d2607935699316ea5",
                "8be8f0869b3c0ba97b71863d1b9f7813",
            ),
        ];
        for (prf, r, fixed, ko) in cases {
            let params =
                [PrfDataParam::IterationVariable(Some(ctr_fmt(r))), PrfDataParam::ByteArray(h(fixed))];
            let ko = h(ko);
            let keys = kbkdf(KbkdfMode::Counter, &prf, &params, &[], &[ko.len()]).unwrap();
            assert_eq!(keys[0].expose(), &ko[..]);
        }
    }

    /// CAVP KBKDF feedback mode (CMAC-AES128, 8-bit counter after the iteration variable)
    /// and double-pipeline mode (8-bit counter before it), COUNT=0, L=512, as in NSS's tests.
    #[test]
    fn cavp_feedback_and_pipeline() {
        let fixed = h("1a791bc6002f39333e1cf6dcdf8392f74f189c27fb6d8111993c2e4f48d656c0\
                       bd98fdcaf3e9af63e4fba28cb2935beaa24ed2");
        let params = [
            PrfDataParam::IterationVariable(None),
            PrfDataParam::Counter(ctr_fmt(8)),
            PrfDataParam::ByteArray(fixed),
        ];
        let keys = kbkdf(
            KbkdfMode::Feedback,
            &cmac("b270a032965c6c1f06c4a6f89f18f2d1"),
            &params,
            &h("858f8eb9d1d7c6b7bb7cb9eb690fb48f"),
            &[64],
        )
        .unwrap();
        assert_eq!(
            keys[0].expose(),
            &h("2ae3daac8fd12a7a8133e8a0a440d1a2a6aae78bb0e14a092818f93857c8efef\
                b2e92b0f2198514c667f8d6773ddc0bb3ea42b86999a90bb384a619eb185f1ed")[..]
        );

        let fixed = h("22f498fc9b8d4b72188bce30ba9875fc2b0eb3fe76874d85426e6e5b3b237c9f\
                       445f2da20a60ab189802e2c152c4a3602aa342");
        let params = [
            PrfDataParam::Counter(ctr_fmt(8)),
            PrfDataParam::IterationVariable(None),
            PrfDataParam::ByteArray(fixed),
        ];
        let keys =
            kbkdf(KbkdfMode::DoublePipeline, &cmac("c6254d95dd108e9bb29e0053ddeec351"), &params, &[], &[64])
                .unwrap();
        assert_eq!(
            keys[0].expose(),
            &h("1e133a952df55a11ee038120375f61e7c0162842c817160693b1f39dc0b795bc\
                6f3691db775cf3af4b0a9f69fecbe99679fd4b4873dda743f5c6a2d2e873f26d")[..]
        );
    }

    /// Additional keys start on PRF-output boundaries; the DKM length says how long.
    #[test]
    fn additional_keys_and_dkm() {
        let prf = hmac(DigestAlg::Sha256, "000102030405060708090a0b0c0d0e0f");
        let dkm = |method| PrfDataParam::DkmLength { method, little_endian: false, width_bits: 32 };
        let base = |m| {
            vec![
                PrfDataParam::IterationVariable(Some(ctr_fmt(32))),
                PrfDataParam::ByteArray(b"label".to_vec()),
                dkm(m),
            ]
        };
        // The three keys of (16, 40, 8) bytes come from segments of 32, 64 and 32 bytes: the
        // same as one 128-byte derivation with the same L.
        for (method, l) in [(1u64, 64u64), (2, 128)] {
            let keys = kbkdf(KbkdfMode::Counter, &prf, &base(method), &[], &[16, 40, 8]).unwrap();
            let mut stream = Vec::new();
            for i in 1..=4u32 {
                let mut p = prf.clone();
                p.update(&i.to_be_bytes());
                p.update(b"label");
                p.update(&u32::try_from(l * 8).unwrap().to_be_bytes());
                stream.extend_from_slice(&p.finish());
            }
            assert_eq!(keys[0].expose(), &stream[..16]);
            assert_eq!(keys[1].expose(), &stream[32..72]);
            assert_eq!(keys[2].expose(), &stream[96..104]);
        }
        // Little-endian counters and lengths.
        let le = [
            PrfDataParam::IterationVariable(Some(CounterFormat { little_endian: true, width_bits: 16 })),
            PrfDataParam::DkmLength { method: 1, little_endian: true, width_bits: 24 },
        ];
        let k = kbkdf(KbkdfMode::Counter, &prf, &le, &[], &[20]).unwrap();
        let mut p = prf.clone();
        p.update(&[1, 0]);
        p.update(&[160, 0, 0]);
        assert_eq!(k[0].expose(), &p.finish()[..20]);
    }

    #[test]
    fn kbkdf_parameters_are_checked() {
        let prf = hmac(DigestAlg::Sha256, "00");
        let it = |b| PrfDataParam::IterationVariable(Some(ctr_fmt(b)));
        let bad: [(KbkdfMode, Vec<PrfDataParam>); 8] = [
            (KbkdfMode::Counter, vec![]),
            (KbkdfMode::Counter, vec![it(32), it(32)]),
            (KbkdfMode::Counter, vec![it(12)]),
            (KbkdfMode::Counter, vec![it(40)]),
            (KbkdfMode::Counter, vec![it(32), PrfDataParam::Counter(ctr_fmt(8))]),
            (KbkdfMode::Counter, vec![PrfDataParam::IterationVariable(None)]),
            (KbkdfMode::Feedback, vec![it(32)]),
            (
                KbkdfMode::Feedback,
                vec![
                    PrfDataParam::IterationVariable(None),
                    PrfDataParam::DkmLength { method: 3, little_endian: false, width_bits: 32 },
                ],
            ),
        ];
        for (mode, params) in bad {
            assert_eq!(kbkdf(mode, &prf, &params, &[], &[16]).map(|_| ()), Err(Error::MechanismParamInvalid));
        }
        // An 8-bit counter allows 255 iterations of 32 bytes.
        assert!(kbkdf(KbkdfMode::Counter, &prf, &[it(8)], &[], &[255 * 32]).is_ok());
        assert_eq!(
            kbkdf(KbkdfMode::Counter, &prf, &[it(8)], &[], &[255 * 32 + 1]).map(|_| ()),
            Err(Error::MechanismParamInvalid)
        );
        assert_eq!(
            kbkdf(KbkdfMode::Counter, &prf, &[it(8)], &[], &[0]).map(|_| ()),
            Err(Error::KeySizeRange)
        );
    }
}
