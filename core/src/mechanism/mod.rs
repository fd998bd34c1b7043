//! Mechanisms: one table, sorted by `CKM_*` code, drives `C_GetMechanismList`,
//! `C_GetMechanismInfo`, parameter parsing at the edge, and dispatch. The algorithm modules
//! below are the only code that calls crypto crates (the provider seam of DESIGN §1).

use crate::consts::MechanismType;
use crate::consts::flags::{
    CKF_DECRYPT, CKF_DIGEST, CKF_EC_F_P, CKF_EC_NAMEDCURVE, CKF_EC_UNCOMPRESS, CKF_ENCRYPT,
    CKF_GENERATE, CKF_GENERATE_KEY_PAIR, CKF_SIGN, CKF_VERIFY,
};
use crate::info::MechanismInfo;

pub mod aes_gcm;
pub mod digest;
pub mod ec;
pub mod hmac;
pub mod ops;

/// The parameter shape a mechanism takes (front-ends parse exactly this from `CK_MECHANISM`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParamKind {
    /// No parameter.
    None,
    /// A byte string.
    Bytes,
    /// One `CK_ULONG` (`CK_MAC_GENERAL_PARAMS`).
    Ulong,
    /// `CK_GCM_PARAMS`.
    Gcm,
}

/// One row of the mechanism table.
#[derive(Clone, Copy, Debug)]
pub struct MechEntry {
    /// `CKM_*`.
    pub ty: MechanismType,
    /// What `C_GetMechanismInfo` reports.
    pub info: MechanismInfo,
    /// The parameter it takes.
    pub param: ParamKind,
}

const fn m(ty: MechanismType, min: u64, max: u64, flags: u64, param: ParamKind) -> MechEntry {
    MechEntry {
        ty,
        info: MechanismInfo {
            min_key_size: min,
            max_key_size: max,
            flags,
        },
        param,
    }
}

const SV: u64 = CKF_SIGN | CKF_VERIFY;
const EC_FLAGS: u64 = CKF_EC_F_P | CKF_EC_NAMEDCURVE | CKF_EC_UNCOMPRESS;
/// HMAC key sizes, in bytes.
const HMAC_MIN: u64 = 1;
const HMAC_MAX: u64 = 1024;

use MechanismType as M;
use ParamKind::{Gcm, None as NoParam, Ulong};

/// Every mechanism the engine implements, sorted by code (a test keeps it so).
pub static TABLE: &[MechEntry] = &[
    m(M::SHA512_224, 0, 0, CKF_DIGEST, NoParam),
    m(M::SHA512_224_HMAC, HMAC_MIN, HMAC_MAX, SV, NoParam),
    m(M::SHA512_224_HMAC_GENERAL, HMAC_MIN, HMAC_MAX, SV, Ulong),
    m(M::SHA512_256, 0, 0, CKF_DIGEST, NoParam),
    m(M::SHA512_256_HMAC, HMAC_MIN, HMAC_MAX, SV, NoParam),
    m(M::SHA512_256_HMAC_GENERAL, HMAC_MIN, HMAC_MAX, SV, Ulong),
    m(M::SHA_1, 0, 0, CKF_DIGEST, NoParam),
    m(M::SHA_1_HMAC, HMAC_MIN, HMAC_MAX, SV, NoParam),
    m(M::SHA_1_HMAC_GENERAL, HMAC_MIN, HMAC_MAX, SV, Ulong),
    m(M::SHA256, 0, 0, CKF_DIGEST, NoParam),
    m(M::SHA256_HMAC, HMAC_MIN, HMAC_MAX, SV, NoParam),
    m(M::SHA256_HMAC_GENERAL, HMAC_MIN, HMAC_MAX, SV, Ulong),
    m(M::SHA224, 0, 0, CKF_DIGEST, NoParam),
    m(M::SHA224_HMAC, HMAC_MIN, HMAC_MAX, SV, NoParam),
    m(M::SHA224_HMAC_GENERAL, HMAC_MIN, HMAC_MAX, SV, Ulong),
    m(M::SHA384, 0, 0, CKF_DIGEST, NoParam),
    m(M::SHA384_HMAC, HMAC_MIN, HMAC_MAX, SV, NoParam),
    m(M::SHA384_HMAC_GENERAL, HMAC_MIN, HMAC_MAX, SV, Ulong),
    m(M::SHA512, 0, 0, CKF_DIGEST, NoParam),
    m(M::SHA512_HMAC, HMAC_MIN, HMAC_MAX, SV, NoParam),
    m(M::SHA512_HMAC_GENERAL, HMAC_MIN, HMAC_MAX, SV, Ulong),
    m(M::SHA3_256, 0, 0, CKF_DIGEST, NoParam),
    m(M::SHA3_256_HMAC, HMAC_MIN, HMAC_MAX, SV, NoParam),
    m(M::SHA3_256_HMAC_GENERAL, HMAC_MIN, HMAC_MAX, SV, Ulong),
    m(M::SHA3_224, 0, 0, CKF_DIGEST, NoParam),
    m(M::SHA3_224_HMAC, HMAC_MIN, HMAC_MAX, SV, NoParam),
    m(M::SHA3_224_HMAC_GENERAL, HMAC_MIN, HMAC_MAX, SV, Ulong),
    m(M::SHA3_384, 0, 0, CKF_DIGEST, NoParam),
    m(M::SHA3_384_HMAC, HMAC_MIN, HMAC_MAX, SV, NoParam),
    m(M::SHA3_384_HMAC_GENERAL, HMAC_MIN, HMAC_MAX, SV, Ulong),
    m(M::SHA3_512, 0, 0, CKF_DIGEST, NoParam),
    m(M::SHA3_512_HMAC, HMAC_MIN, HMAC_MAX, SV, NoParam),
    m(M::SHA3_512_HMAC_GENERAL, HMAC_MIN, HMAC_MAX, SV, Ulong),
    // Generic secret key generation sizes are in bits, as the spec says.
    m(
        M::GENERIC_SECRET_KEY_GEN,
        8,
        8 * HMAC_MAX,
        CKF_GENERATE,
        NoParam,
    ),
    m(
        M::EC_KEY_PAIR_GEN,
        256,
        256,
        CKF_GENERATE_KEY_PAIR | EC_FLAGS,
        NoParam,
    ),
    m(M::ECDSA, 256, 256, SV | EC_FLAGS, NoParam),
    m(M::ECDSA_SHA1, 256, 256, SV | EC_FLAGS, NoParam),
    m(M::ECDSA_SHA224, 256, 256, SV | EC_FLAGS, NoParam),
    m(M::ECDSA_SHA256, 256, 256, SV | EC_FLAGS, NoParam),
    m(M::ECDSA_SHA384, 256, 256, SV | EC_FLAGS, NoParam),
    m(M::ECDSA_SHA512, 256, 256, SV | EC_FLAGS, NoParam),
    // AES key sizes are in bytes.
    m(M::AES_KEY_GEN, 16, 32, CKF_GENERATE, NoParam),
    m(M::AES_GCM, 16, 32, CKF_ENCRYPT | CKF_DECRYPT, Gcm),
];

/// The table row of a mechanism.
pub fn lookup(ty: MechanismType) -> Option<&'static MechEntry> {
    TABLE
        .binary_search_by_key(&ty, |e| e.ty)
        .ok()
        .map(|i| &TABLE[i])
}

/// The parameter shape of a mechanism, or `None` if the engine does not implement it
/// (the front-end answers `CKR_MECHANISM_INVALID`).
pub fn param_kind(ty: MechanismType) -> Option<ParamKind> {
    lookup(ty).map(|e| e.param)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_and_unique() {
        for w in TABLE.windows(2) {
            assert!(
                w[0].ty < w[1].ty,
                "{:?} must sort before {:?}",
                w[0].ty,
                w[1].ty
            );
        }
    }

    #[test]
    fn every_row_has_an_operation() {
        for e in TABLE {
            assert_ne!(
                e.info.flags & !EC_FLAGS,
                0,
                "{:?} has no operation flag",
                e.ty
            );
            assert!(e.info.min_key_size <= e.info.max_key_size);
            assert_eq!(lookup(e.ty).map(|x| x.ty), Some(e.ty));
        }
        assert!(lookup(MechanismType::RSA_PKCS).is_none());
        assert_eq!(param_kind(MechanismType::AES_GCM), Some(Gcm));
    }
}
