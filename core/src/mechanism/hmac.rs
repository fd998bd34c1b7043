//! HMAC (RFC 2104) over every [`DigestAlg`], for `CKM_*_HMAC` and `CKM_*_HMAC_GENERAL`.

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::fmt;

use hmac::{Hmac, KeyInit, Mac as _};
use sha1::Sha1;
use sha2::{Sha224, Sha256, Sha384, Sha512, Sha512_224, Sha512_256};
use sha3::{Sha3_224, Sha3_256, Sha3_384, Sha3_512};

use crate::consts::MechanismType;
use crate::mechanism::digest::DigestAlg;
use crate::secret::ct_eq;

/// The digest behind an HMAC mechanism and whether it is the `_GENERAL` (caller-chosen output
/// length) form: `CKM_SHA_1_HMAC`, `CKM_SHA224_HMAC`..`CKM_SHA512_HMAC`,
/// `CKM_SHA512_224_HMAC`, `CKM_SHA512_256_HMAC`, `CKM_SHA3_224_HMAC`..`CKM_SHA3_512_HMAC` and
/// their `_GENERAL` variants. `None` for any other mechanism.
pub fn hmac_mechanism(m: MechanismType) -> Option<(DigestAlg, bool)> {
    DigestAlg::ALL.into_iter().find_map(|alg| {
        if m == hmac_mechanism_of(alg, false) {
            Some((alg, false))
        } else if m == hmac_mechanism_of(alg, true) {
            Some((alg, true))
        } else {
            None
        }
    })
}

/// The HMAC mechanism over `alg`: `CKM_*_HMAC_GENERAL` when `general`, else `CKM_*_HMAC`.
pub fn hmac_mechanism_of(alg: DigestAlg, general: bool) -> MechanismType {
    let (plain, gen_mech) = match alg {
        DigestAlg::Sha1 => (MechanismType::SHA_1_HMAC, MechanismType::SHA_1_HMAC_GENERAL),
        DigestAlg::Sha224 => (MechanismType::SHA224_HMAC, MechanismType::SHA224_HMAC_GENERAL),
        DigestAlg::Sha256 => (MechanismType::SHA256_HMAC, MechanismType::SHA256_HMAC_GENERAL),
        DigestAlg::Sha384 => (MechanismType::SHA384_HMAC, MechanismType::SHA384_HMAC_GENERAL),
        DigestAlg::Sha512 => (MechanismType::SHA512_HMAC, MechanismType::SHA512_HMAC_GENERAL),
        DigestAlg::Sha512_224 => (MechanismType::SHA512_224_HMAC, MechanismType::SHA512_224_HMAC_GENERAL),
        DigestAlg::Sha512_256 => (MechanismType::SHA512_256_HMAC, MechanismType::SHA512_256_HMAC_GENERAL),
        DigestAlg::Sha3_224 => (MechanismType::SHA3_224_HMAC, MechanismType::SHA3_224_HMAC_GENERAL),
        DigestAlg::Sha3_256 => (MechanismType::SHA3_256_HMAC, MechanismType::SHA3_256_HMAC_GENERAL),
        DigestAlg::Sha3_384 => (MechanismType::SHA3_384_HMAC, MechanismType::SHA3_384_HMAC_GENERAL),
        DigestAlg::Sha3_512 => (MechanismType::SHA3_512_HMAC, MechanismType::SHA3_512_HMAC_GENERAL),
    };
    if general { gen_mech } else { plain }
}

/// An incremental HMAC computation (`C_SignInit`/`C_VerifyInit` with an HMAC mechanism).
///
/// The key itself is not kept: only the two hash states after absorbing `K ^ ipad` and
/// `K ^ opad`. Those states are key-equivalent; the hash crates are built with their `zeroize`
/// feature, so they are wiped when a `Mac` is dropped.
#[derive(Clone)]
pub struct Mac {
    state: State,
}

/// One variant per algorithm; each holds the RustCrypto HMAC state. The SHA-3 states are
/// boxed: they are twice the size of the others, and every move of a `Mac` would copy them.
#[derive(Clone)]
enum State {
    Sha1(Hmac<Sha1>),
    Sha224(Hmac<Sha224>),
    Sha256(Hmac<Sha256>),
    Sha384(Hmac<Sha384>),
    Sha512(Hmac<Sha512>),
    Sha512_224(Hmac<Sha512_224>),
    Sha512_256(Hmac<Sha512_256>),
    Sha3_224(Box<Hmac<Sha3_224>>),
    Sha3_256(Box<Hmac<Sha3_256>>),
    Sha3_384(Box<Hmac<Sha3_384>>),
    Sha3_512(Box<Hmac<Sha3_512>>),
}

/// An HMAC instance keyed with `key`.
pub(crate) fn keyed<M: KeyInit>(key: &[u8]) -> M {
    // Invariant: only called with `Hmac<D>`, whose `new_from_slice` accepts a key of any length
    // (a key longer than a block is hashed first, RFC 2104 §2), so it never returns `Err`.
    #[allow(clippy::expect_used)]
    M::new_from_slice(key).expect("HMAC accepts keys of any length")
}

impl Mac {
    /// Start an HMAC over `alg` with `key` (any length; longer than a block is hashed first).
    pub fn new(alg: DigestAlg, key: &[u8]) -> Self {
        let state = match alg {
            DigestAlg::Sha1 => State::Sha1(keyed(key)),
            DigestAlg::Sha224 => State::Sha224(keyed(key)),
            DigestAlg::Sha256 => State::Sha256(keyed(key)),
            DigestAlg::Sha384 => State::Sha384(keyed(key)),
            DigestAlg::Sha512 => State::Sha512(keyed(key)),
            DigestAlg::Sha512_224 => State::Sha512_224(keyed(key)),
            DigestAlg::Sha512_256 => State::Sha512_256(keyed(key)),
            DigestAlg::Sha3_224 => State::Sha3_224(Box::new(keyed(key))),
            DigestAlg::Sha3_256 => State::Sha3_256(Box::new(keyed(key))),
            DigestAlg::Sha3_384 => State::Sha3_384(Box::new(keyed(key))),
            DigestAlg::Sha3_512 => State::Sha3_512(Box::new(keyed(key))),
        };
        Self { state }
    }

    /// The digest algorithm underneath.
    pub fn alg(&self) -> DigestAlg {
        match self.state {
            State::Sha1(_) => DigestAlg::Sha1,
            State::Sha224(_) => DigestAlg::Sha224,
            State::Sha256(_) => DigestAlg::Sha256,
            State::Sha384(_) => DigestAlg::Sha384,
            State::Sha512(_) => DigestAlg::Sha512,
            State::Sha512_224(_) => DigestAlg::Sha512_224,
            State::Sha512_256(_) => DigestAlg::Sha512_256,
            State::Sha3_224(_) => DigestAlg::Sha3_224,
            State::Sha3_256(_) => DigestAlg::Sha3_256,
            State::Sha3_384(_) => DigestAlg::Sha3_384,
            State::Sha3_512(_) => DigestAlg::Sha3_512,
        }
    }

    /// Absorb more data.
    pub fn update(&mut self, data: &[u8]) {
        match &mut self.state {
            State::Sha1(m) => m.update(data),
            State::Sha224(m) => m.update(data),
            State::Sha256(m) => m.update(data),
            State::Sha384(m) => m.update(data),
            State::Sha512(m) => m.update(data),
            State::Sha512_224(m) => m.update(data),
            State::Sha512_256(m) => m.update(data),
            State::Sha3_224(m) => m.update(data),
            State::Sha3_256(m) => m.update(data),
            State::Sha3_384(m) => m.update(data),
            State::Sha3_512(m) => m.update(data),
        }
    }

    /// The full-length tag (`alg().output_len()` bytes) of everything absorbed so far. The
    /// state is kept (finalization runs on a copy). `_GENERAL` callers truncate the result.
    pub fn finish(&self) -> Vec<u8> {
        match &self.state {
            State::Sha1(m) => m.clone().finalize().into_bytes().to_vec(),
            State::Sha224(m) => m.clone().finalize().into_bytes().to_vec(),
            State::Sha256(m) => m.clone().finalize().into_bytes().to_vec(),
            State::Sha384(m) => m.clone().finalize().into_bytes().to_vec(),
            State::Sha512(m) => m.clone().finalize().into_bytes().to_vec(),
            State::Sha512_224(m) => m.clone().finalize().into_bytes().to_vec(),
            State::Sha512_256(m) => m.clone().finalize().into_bytes().to_vec(),
            State::Sha3_224(m) => (*m.clone()).finalize().into_bytes().to_vec(),
            State::Sha3_256(m) => (*m.clone()).finalize().into_bytes().to_vec(),
            State::Sha3_384(m) => (*m.clone()).finalize().into_bytes().to_vec(),
            State::Sha3_512(m) => (*m.clone()).finalize().into_bytes().to_vec(),
        }
    }
}

impl Mac {
    /// The full-length tag of everything absorbed, consuming the state (no copy of it).
    pub fn finalize(self) -> Vec<u8> {
        match self.state {
            State::Sha1(m) => m.finalize().into_bytes().to_vec(),
            State::Sha224(m) => m.finalize().into_bytes().to_vec(),
            State::Sha256(m) => m.finalize().into_bytes().to_vec(),
            State::Sha384(m) => m.finalize().into_bytes().to_vec(),
            State::Sha512(m) => m.finalize().into_bytes().to_vec(),
            State::Sha512_224(m) => m.finalize().into_bytes().to_vec(),
            State::Sha512_256(m) => m.finalize().into_bytes().to_vec(),
            State::Sha3_224(m) => (*m).finalize().into_bytes().to_vec(),
            State::Sha3_256(m) => (*m).finalize().into_bytes().to_vec(),
            State::Sha3_384(m) => (*m).finalize().into_bytes().to_vec(),
            State::Sha3_512(m) => (*m).finalize().into_bytes().to_vec(),
        }
    }
}

impl fmt::Debug for Mac {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mac").field("alg", &self.alg()).finish_non_exhaustive()
    }
}

/// Constant-time check that `given` equals the first `given.len()` bytes of `full`.
///
/// False when `given` is empty or longer than `full`; those lengths are not secret.
pub fn verify_truncated(full: &[u8], given: &[u8]) -> bool {
    match full.get(..given.len()) {
        Some(prefix) if !given.is_empty() => ct_eq(prefix, given),
        _ => false,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]
mod tests {
    use alloc::vec;

    use super::*;

    fn mac(alg: DigestAlg, key: &[u8], data: &[u8]) -> Vec<u8> {
        let mut m = Mac::new(alg, key);
        m.update(data);
        m.finish()
    }

    fn check(alg: DigestAlg, key: &[u8], data: &[u8], expected_hex: &str) {
        let expected = hex::decode(expected_hex).unwrap();
        assert_eq!(expected.len(), alg.output_len(), "{alg:?} vector length");
        assert_eq!(mac(alg, key, data), expected, "{alg:?} one-shot");
        // Split updates give the same tag.
        let mut m = Mac::new(alg, key);
        let (a, b) = data.split_at(data.len() / 2);
        m.update(a);
        m.update(b);
        assert_eq!(m.finish(), expected, "{alg:?} split");
    }

    /// RFC 4231 test cases 1, 2, 4, 6 and 7: `(key, data, [SHA-224, SHA-256, SHA-384, SHA-512])`.
    fn rfc4231() -> Vec<(Vec<u8>, Vec<u8>, [&'static str; 4])> {
        let key4: Vec<u8> = (0x01..=0x19).collect();
        vec![
            (
                vec![0x0b; 20],
                b"Hi There".to_vec(),
                [
                    "896fb1128abbdf196832107cd49df33f47b4b1169912ba4f53684b22",
                    "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
                    "afd03944d84895626b0825f4ab46907f15f9dadbe4101ec682aa034c7cebc59c\
                     faea9ea9076ede7f4af152e8b2fa9cb6",
                    "87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cde\
                     daa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854",
                ],
            ),
            (
                b"Jefe".to_vec(),
                b"what do ya want for nothing?".to_vec(),
                [
                    "a30e01098bc6dbbf45690f3a7e9e6d0f8bbea2a39e6148008fd05e44",
                    "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
                    "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e\
                     8e2240ca5e69e2c78b3239ecfab21649",
                    "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea250554\
                     9758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737",
                ],
            ),
            (
                key4,
                vec![0xcd; 50],
                [
                    "6c11506874013cac6a2abc1bb382627cec6a90d86efc012de7afec5a",
                    "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b",
                    "3e8a69b7783c25851933ab6290af6ca77a9981480850009cc5577c6e1f573b4e\
                     6801dd23c4a7d679ccf8a386c674cffb",
                    "b0ba465637458c6990e5a8c5f61d4af7e576d97ff94b872de76f8050361ee3db\
                     a91ca5c11aa25eb4d679275cc5788063a5f19741120c4f2de2adebeb10a298dd",
                ],
            ),
            (
                vec![0xaa; 131],
                b"Test Using Larger Than Block-Size Key - Hash Key First".to_vec(),
                [
                    "95e9a0db962095adaebe9b2d6f0dbce2d499f112f2d2b7273fa6870e",
                    "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
                    "4ece084485813e9088d2c63a041bc5b44f9ef1012a2b588f3cd11f05033ac4c6\
                     0c2ef6ab4030fe8296248df163f44952",
                    "80b24263c7c1a3ebb71493c1dd7be8b49b46d1f41b4aeec1121b013783f8f352\
                     6b56d037e05f2598bd0fd2215d6a1e5295e64f73f63f0aec8b915a985d786598",
                ],
            ),
            (
                vec![0xaa; 131],
                b"This is a test using a larger than block-size key and a larger than \
                  block-size data. The key needs to be hashed before being used by the \
                  HMAC algorithm."
                    .to_vec(),
                [
                    "3a854166ac5d9f023f54d517d0b39dbd946770db9c2b95c9f6f565d1",
                    "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2",
                    "6617178e941f020d351e2f254e8fd32c602420feb0b8fb9adccebb82461e99c5\
                     a678cc31e799176d3860e6110c46523e",
                    "e37b6a775dc87dbaa4dfa9f96e5e3ffddebd71f8867289865df5a32d20cdc944\
                     b6022cac3c4982b10d5eeb55c3e4de15134676fb6de0446065c97440fa8c6a58",
                ],
            ),
        ]
    }

    #[test]
    fn rfc4231_sha2() {
        let algs = [DigestAlg::Sha224, DigestAlg::Sha256, DigestAlg::Sha384, DigestAlg::Sha512];
        for (key, data, tags) in rfc4231() {
            for (alg, tag) in algs.into_iter().zip(tags) {
                check(alg, &key, &data, tag);
            }
        }
    }

    #[test]
    fn rfc4231_case5_truncated() {
        // Test case 5 publishes only the first 128 bits of each tag.
        let key = [0x0c; 20];
        let data = b"Test With Truncation";
        let cases = [
            (DigestAlg::Sha224, "0e2aea68a90c8d37c988bcdb9fca6fa8"),
            (DigestAlg::Sha256, "a3b6167473100ee06e0c796c2955552b"),
            (DigestAlg::Sha384, "3abf34c3503b2a23a46efc619baef897"),
            (DigestAlg::Sha512, "415fad6271580a531d4179bc891d87a6"),
        ];
        for (alg, tag) in cases {
            let full = mac(alg, &key, data);
            assert!(verify_truncated(&full, &hex::decode(tag).unwrap()), "{alg:?}");
        }
    }

    #[test]
    fn rfc2202_sha1() {
        check(DigestAlg::Sha1, &[0x0b; 20], b"Hi There", "b617318655057264e28bc0b6fb378c8ef146be00");
        check(
            DigestAlg::Sha1,
            b"Jefe",
            b"what do ya want for nothing?",
            "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79",
        );
        check(DigestAlg::Sha1, &[0xaa; 20], &[0xdd; 50], "125d7342b9ac11cd91a39af48aa17b4f63f175d3");
        check(
            DigestAlg::Sha1,
            &[0xaa; 80],
            b"Test Using Larger Than Block-Size Key - Hash Key First",
            "aa4ae5e15272d00e95705637ce8a3b55ed402112",
        );
    }

    /// NIST CSRC "Examples with Intermediate Values", HMAC_SHA3-224/256/384/512, sample #1
    /// (key shorter than a block: 00 01 02 .. of the digest's output length), and for
    /// SHA3-256 also samples #2 (key = block) and #3 (key longer than a block).
    #[test]
    fn nist_hmac_sha3() {
        let key = |len: u8| -> Vec<u8> { (0..len).collect() };
        let short = b"Sample message for keylen<blocklen";
        check(
            DigestAlg::Sha3_224,
            &key(28),
            short,
            "332cfd59347fdb8e576e77260be4aba2d6dc53117b3bfb52c6d18c04",
        );
        check(
            DigestAlg::Sha3_256,
            &key(32),
            short,
            "4fe8e202c4f058e8dddc23d8c34e467343e23555e24fc2f025d598f558f67205",
        );
        check(
            DigestAlg::Sha3_384,
            &key(48),
            short,
            "d588a3c51f3f2d906e8298c1199aa8ff6296218127f6b38a90b6afe2c5617725\
             bc99987f79b22a557b6520db710b7f42",
        );
        check(
            DigestAlg::Sha3_512,
            &key(64),
            short,
            "4efd629d6c71bf86162658f29943b1c308ce27cdfa6db0d9c3ce81763f9cbce5\
             f7ebe9868031db1a8f8eb7b6b95e5c5e3f657a8996c86a2f6527e307f0213196",
        );
        check(
            DigestAlg::Sha3_256,
            &key(136),
            b"Sample message for keylen=blocklen",
            "68b94e2e538a9be4103bebb5aa016d47961d4d1aa906061313b557f8af2c3faa",
        );
        check(
            DigestAlg::Sha3_256,
            &key(168),
            b"Sample message for keylen>blocklen",
            "9bcf2c238e235c3ce88404e813bd2f3a97185ac6f238c63d6229a00b07974258",
        );
    }

    #[test]
    fn mechanisms_map_both_ways() {
        for alg in DigestAlg::ALL {
            for general in [false, true] {
                let m = hmac_mechanism_of(alg, general);
                assert_eq!(hmac_mechanism(m), Some((alg, general)), "{m:?}");
            }
            assert_eq!(Mac::new(alg, b"k").alg(), alg);
            assert_eq!(Mac::new(alg, b"k").finish().len(), alg.output_len());
        }
        assert_eq!(hmac_mechanism(MechanismType::SHA256_HMAC_GENERAL), Some((DigestAlg::Sha256, true)));
        assert_eq!(hmac_mechanism(MechanismType::SHA_1_HMAC), Some((DigestAlg::Sha1, false)));
        assert_eq!(hmac_mechanism(MechanismType::SHA256), None);
        assert_eq!(hmac_mechanism(MechanismType::MD5_HMAC), None);
    }

    #[test]
    fn truncated_verification() {
        let full = mac(DigestAlg::Sha256, b"key", b"data");
        assert!(verify_truncated(&full, &full));
        assert!(verify_truncated(&full, &full[..1]));
        assert!(verify_truncated(&full, &full[..10]));
        let mut bad = full[..10].to_vec();
        bad[9] ^= 1;
        assert!(!verify_truncated(&full, &bad));
        assert!(!verify_truncated(&full, &[]));
        let mut long = full.clone();
        long.push(0);
        assert!(!verify_truncated(&full, &long));
    }

    #[test]
    fn finish_does_not_consume_and_debug_hides_key() {
        let mut m = Mac::new(DigestAlg::Sha256, b"Jefe");
        m.update(b"what do ya want ");
        let _ = m.finish();
        m.update(b"for nothing?");
        assert_eq!(
            m.finish(),
            hex::decode("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843").unwrap()
        );
        assert_eq!(alloc::format!("{:?}", m.clone()), "Mac { alg: Sha256, .. }");
    }
}
