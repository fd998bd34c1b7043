//! Message digests: SHA-1, SHA-2 (including SHA-512/224 and SHA-512/256) and SHA-3, behind one
//! enum so the rest of the engine names an algorithm instead of a type parameter.

use alloc::vec::Vec;
use core::fmt;

use sha1::Sha1;
use sha2::{Digest as _, Sha224, Sha256, Sha384, Sha512, Sha512_224, Sha512_256};
use sha3::{Sha3_224, Sha3_256, Sha3_384, Sha3_512};

use crate::consts::MechanismType;

/// A hash function the token implements.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DigestAlg {
    /// SHA-1 (`CKM_SHA_1`); kept for legacy clients, 160-bit output.
    Sha1,
    /// SHA-224 (`CKM_SHA224`).
    Sha224,
    /// SHA-256 (`CKM_SHA256`).
    Sha256,
    /// SHA-384 (`CKM_SHA384`).
    Sha384,
    /// SHA-512 (`CKM_SHA512`).
    Sha512,
    /// SHA-512/224 (`CKM_SHA512_224`).
    Sha512_224,
    /// SHA-512/256 (`CKM_SHA512_256`).
    Sha512_256,
    /// SHA3-224 (`CKM_SHA3_224`).
    Sha3_224,
    /// SHA3-256 (`CKM_SHA3_256`).
    Sha3_256,
    /// SHA3-384 (`CKM_SHA3_384`).
    Sha3_384,
    /// SHA3-512 (`CKM_SHA3_512`).
    Sha3_512,
}

impl DigestAlg {
    /// Every algorithm, in the order of the enum.
    pub const ALL: [DigestAlg; 11] = [
        DigestAlg::Sha1,
        DigestAlg::Sha224,
        DigestAlg::Sha256,
        DigestAlg::Sha384,
        DigestAlg::Sha512,
        DigestAlg::Sha512_224,
        DigestAlg::Sha512_256,
        DigestAlg::Sha3_224,
        DigestAlg::Sha3_256,
        DigestAlg::Sha3_384,
        DigestAlg::Sha3_512,
    ];

    /// The algorithm of a plain digest mechanism (`CKM_SHA_1`, `CKM_SHA256`, `CKM_SHA3_256`, ...),
    /// or `None` for any other mechanism.
    pub fn from_mechanism(m: MechanismType) -> Option<Self> {
        Self::ALL.into_iter().find(|alg| alg.mechanism() == m)
    }

    /// The plain digest mechanism of this algorithm.
    pub fn mechanism(self) -> MechanismType {
        match self {
            DigestAlg::Sha1 => MechanismType::SHA_1,
            DigestAlg::Sha224 => MechanismType::SHA224,
            DigestAlg::Sha256 => MechanismType::SHA256,
            DigestAlg::Sha384 => MechanismType::SHA384,
            DigestAlg::Sha512 => MechanismType::SHA512,
            DigestAlg::Sha512_224 => MechanismType::SHA512_224,
            DigestAlg::Sha512_256 => MechanismType::SHA512_256,
            DigestAlg::Sha3_224 => MechanismType::SHA3_224,
            DigestAlg::Sha3_256 => MechanismType::SHA3_256,
            DigestAlg::Sha3_384 => MechanismType::SHA3_384,
            DigestAlg::Sha3_512 => MechanismType::SHA3_512,
        }
    }

    /// Length of the digest in bytes.
    pub fn output_len(self) -> usize {
        match self {
            DigestAlg::Sha1 => 20,
            DigestAlg::Sha224 | DigestAlg::Sha512_224 | DigestAlg::Sha3_224 => 28,
            DigestAlg::Sha256 | DigestAlg::Sha512_256 | DigestAlg::Sha3_256 => 32,
            DigestAlg::Sha384 | DigestAlg::Sha3_384 => 48,
            DigestAlg::Sha512 | DigestAlg::Sha3_512 => 64,
        }
    }

    /// Input block length in bytes (the sponge rate for SHA-3), as HMAC uses it.
    pub fn block_len(self) -> usize {
        match self {
            DigestAlg::Sha1 | DigestAlg::Sha224 | DigestAlg::Sha256 => 64,
            DigestAlg::Sha384 | DigestAlg::Sha512 | DigestAlg::Sha512_224 | DigestAlg::Sha512_256 => 128,
            DigestAlg::Sha3_224 => 144,
            DigestAlg::Sha3_256 => 136,
            DigestAlg::Sha3_384 => 104,
            DigestAlg::Sha3_512 => 72,
        }
    }
}

/// An incremental hash computation (`C_DigestInit` / `C_DigestUpdate` / `C_DigestFinal`).
#[derive(Clone)]
pub struct Hasher {
    state: State,
}

/// One variant per algorithm; each holds the RustCrypto state.
#[derive(Clone)]
enum State {
    Sha1(Sha1),
    Sha224(Sha224),
    Sha256(Sha256),
    Sha384(Sha384),
    Sha512(Sha512),
    Sha512_224(Sha512_224),
    Sha512_256(Sha512_256),
    Sha3_224(Sha3_224),
    Sha3_256(Sha3_256),
    Sha3_384(Sha3_384),
    Sha3_512(Sha3_512),
}

impl Hasher {
    /// A fresh computation of `alg`.
    pub fn new(alg: DigestAlg) -> Self {
        let state = match alg {
            DigestAlg::Sha1 => State::Sha1(Sha1::new()),
            DigestAlg::Sha224 => State::Sha224(Sha224::new()),
            DigestAlg::Sha256 => State::Sha256(Sha256::new()),
            DigestAlg::Sha384 => State::Sha384(Sha384::new()),
            DigestAlg::Sha512 => State::Sha512(Sha512::new()),
            DigestAlg::Sha512_224 => State::Sha512_224(Sha512_224::new()),
            DigestAlg::Sha512_256 => State::Sha512_256(Sha512_256::new()),
            DigestAlg::Sha3_224 => State::Sha3_224(Sha3_224::new()),
            DigestAlg::Sha3_256 => State::Sha3_256(Sha3_256::new()),
            DigestAlg::Sha3_384 => State::Sha3_384(Sha3_384::new()),
            DigestAlg::Sha3_512 => State::Sha3_512(Sha3_512::new()),
        };
        Self { state }
    }

    /// The algorithm being computed.
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

    /// Absorb more input.
    pub fn update(&mut self, data: &[u8]) {
        match &mut self.state {
            State::Sha1(h) => h.update(data),
            State::Sha224(h) => h.update(data),
            State::Sha256(h) => h.update(data),
            State::Sha384(h) => h.update(data),
            State::Sha512(h) => h.update(data),
            State::Sha512_224(h) => h.update(data),
            State::Sha512_256(h) => h.update(data),
            State::Sha3_224(h) => h.update(data),
            State::Sha3_256(h) => h.update(data),
            State::Sha3_384(h) => h.update(data),
            State::Sha3_512(h) => h.update(data),
        }
    }

    /// The digest of everything absorbed so far. The state is kept (finalization runs on a
    /// copy), so a caller can ask for the length first and the value later, as PKCS#11 does.
    pub fn finish(&self) -> Vec<u8> {
        match &self.state {
            State::Sha1(h) => h.clone().finalize().to_vec(),
            State::Sha224(h) => h.clone().finalize().to_vec(),
            State::Sha256(h) => h.clone().finalize().to_vec(),
            State::Sha384(h) => h.clone().finalize().to_vec(),
            State::Sha512(h) => h.clone().finalize().to_vec(),
            State::Sha512_224(h) => h.clone().finalize().to_vec(),
            State::Sha512_256(h) => h.clone().finalize().to_vec(),
            State::Sha3_224(h) => h.clone().finalize().to_vec(),
            State::Sha3_256(h) => h.clone().finalize().to_vec(),
            State::Sha3_384(h) => h.clone().finalize().to_vec(),
            State::Sha3_512(h) => h.clone().finalize().to_vec(),
        }
    }
}

impl fmt::Debug for Hasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hasher").field("alg", &self.alg()).finish_non_exhaustive()
    }
}

/// The digest of `data` in one call.
pub fn digest(alg: DigestAlg, data: &[u8]) -> Vec<u8> {
    let mut hasher = Hasher::new(alg);
    hasher.update(data);
    hasher.finish()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]
mod tests {
    use super::*;

    /// FIPS 180-4 / FIPS 202 example messages (NIST CSRC "Examples with Intermediate Values").
    const ABC: &[u8] = b"abc";
    /// 448-bit two-block message for SHA-1/SHA-224/SHA-256.
    const MSG_448: &[u8] = b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    /// 896-bit two-block message for SHA-384/SHA-512/SHA-512/t.
    const MSG_896: &[u8] = b"abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu";

    /// The FIPS 202 examples' 1600-bit message (0xA3 repeated 200 times): more than one block
    /// at every SHA-3 rate.
    fn msg_a3x200() -> Vec<u8> {
        alloc::vec![0xa3; 200]
    }

    fn check(alg: DigestAlg, msg: &[u8], expected_hex: &str) {
        let expected = hex::decode(expected_hex).unwrap();
        assert_eq!(expected.len(), alg.output_len(), "{alg:?} vector length");
        assert_eq!(digest(alg, msg), expected, "{alg:?} one-shot");
        // The same value when fed byte by byte (crosses the block boundary incrementally).
        let mut h = Hasher::new(alg);
        for b in msg {
            h.update(core::slice::from_ref(b));
        }
        assert_eq!(h.finish(), expected, "{alg:?} incremental");
    }

    #[test]
    fn sha1_vectors() {
        check(DigestAlg::Sha1, ABC, "a9993e364706816aba3e25717850c26c9cd0d89d");
        check(DigestAlg::Sha1, MSG_448, "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
    }

    #[test]
    fn sha224_vectors() {
        check(DigestAlg::Sha224, ABC, "23097d223405d8228642a477bda255b32aadbce4bda0b3f7e36c9da7");
        check(DigestAlg::Sha224, MSG_448, "75388b16512776cc5dba5da1fd890150b0c6455cb4f58b1952522525");
    }

    #[test]
    fn sha256_vectors() {
        check(DigestAlg::Sha256, ABC, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        check(DigestAlg::Sha256, MSG_448, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    }

    #[test]
    fn sha384_vectors() {
        check(
            DigestAlg::Sha384,
            ABC,
            "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed\
             8086072ba1e7cc2358baeca134c825a7",
        );
        check(
            DigestAlg::Sha384,
            MSG_896,
            "09330c33f71147e83d192fc782cd1b4753111b173b3b05d22fa08086e3b0f712\
             fcc7c71a557e2db966c3e9fa91746039",
        );
    }

    #[test]
    fn sha512_vectors() {
        check(
            DigestAlg::Sha512,
            ABC,
            "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a\
             2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
        );
        check(
            DigestAlg::Sha512,
            MSG_896,
            "8e959b75dae313da8cf4f72814fc143f8f7779c6eb9f7fa17299aeadb6889018\
             501d289e4900f7e4331b99dec4b5433ac7d329eeb6dd26545e96e55b874be909",
        );
    }

    #[test]
    fn sha512_t_vectors() {
        check(DigestAlg::Sha512_224, ABC, "4634270f707b6a54daae7530460842e20e37ed265ceee9a43e8924aa");
        check(DigestAlg::Sha512_224, MSG_896, "23fec5bb94d60b23308192640b0c453335d664734fe40e7268674af9");
        check(DigestAlg::Sha512_256, ABC, "53048e2681941ef99b2e29b76b4c7dabe4c2d0c634fc6d46e0e2f13107e7af23");
        check(
            DigestAlg::Sha512_256,
            MSG_896,
            "3928e184fb8690f840da3988121d31be65cb9d3ef83ee6146feac861e19b563a",
        );
    }

    #[test]
    fn sha3_vectors() {
        let long = msg_a3x200();
        check(DigestAlg::Sha3_224, ABC, "e642824c3f8cf24ad09234ee7d3c766fc9a3a5168d0c94ad73b46fdf");
        check(DigestAlg::Sha3_224, &long, "9376816aba503f72f96ce7eb65ac095deee3be4bf9bbc2a1cb7e11e0");
        check(DigestAlg::Sha3_256, ABC, "3a985da74fe225b2045c172d6bd390bd855f086e3e9d525b46bfe24511431532");
        check(DigestAlg::Sha3_256, &long, "79f38adec5c20307a98ef76e8324afbfd46cfd81b22e3973c65fa1bd9de31787");
        check(
            DigestAlg::Sha3_384,
            ABC,
            "ec01498288516fc926459f58e2c6ad8df9b473cb0fc08c2596da7cf0e49be4b2\
             98d88cea927ac7f539f1edf228376d25",
        );
        check(
            DigestAlg::Sha3_384,
            &long,
            "1881de2ca7e41ef95dc4732b8f5f002b189cc1e42b74168ed1732649ce1dbcdd\
             76197a31fd55ee989f2d7050dd473e8f",
        );
        check(
            DigestAlg::Sha3_512,
            ABC,
            "b751850b1a57168a5693cd924b6b096e08f621827444f70d884f5d0240d2712e\
             10e116e9192af3c91a7ec57647e3934057340b4cf408d5a56592f8274eec53f0",
        );
        check(
            DigestAlg::Sha3_512,
            &long,
            "e76dfad22084a8b1467fcf2ffa58361bec7628edf5f3fdc0e4805dc48caeeca8\
             1b7c13c30adf52a3659584739a2df46be589c51ca1a4a8416df6545a1ce8ba00",
        );
    }

    #[test]
    fn mechanism_round_trip_and_table() {
        for alg in DigestAlg::ALL {
            assert_eq!(DigestAlg::from_mechanism(alg.mechanism()), Some(alg));
            assert_eq!(Hasher::new(alg).alg(), alg);
            assert_eq!(digest(alg, b"").len(), alg.output_len());
        }
        assert_eq!(DigestAlg::from_mechanism(MechanismType::SHA_1), Some(DigestAlg::Sha1));
        assert_eq!(DigestAlg::from_mechanism(MechanismType::SHA512_224), Some(DigestAlg::Sha512_224));
        assert_eq!(DigestAlg::from_mechanism(MechanismType::SHA3_256), Some(DigestAlg::Sha3_256));
        assert_eq!(DigestAlg::from_mechanism(MechanismType::SHA256_HMAC), None);
        assert_eq!(DigestAlg::from_mechanism(MechanismType::SHA512_T), None);
        assert_eq!(DigestAlg::Sha3_256.block_len(), 136);
        assert_eq!(DigestAlg::Sha512_256.block_len(), 128);
    }

    #[test]
    fn finish_does_not_consume() {
        let mut h = Hasher::new(DigestAlg::Sha256);
        h.update(b"ab");
        let _ = h.finish();
        h.update(b"c");
        assert_eq!(h.finish(), digest(DigestAlg::Sha256, ABC));
        let copy = h.clone();
        assert_eq!(copy.finish(), h.finish());
        assert_eq!(alloc::format!("{h:?}"), "Hasher { alg: Sha256, .. }");
    }
}
