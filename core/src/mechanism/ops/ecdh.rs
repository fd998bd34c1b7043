//! `CKM_ECDH1_DERIVE` and `CKM_ECDH1_COFACTOR_DERIVE` with `CK_ECDH1_DERIVE_PARAMS`: the
//! shared secret `Z` of a `CKK_EC` key (P-256, P-384, P-521, secp256k1: cofactor 1, so both
//! mechanisms agree) or a `CKK_EC_MONTGOMERY` key (X25519, X448, whose clamped scalars are
//! multiples of the cofactor already), then `CKD_NULL` or the ANSI X9.63 KDF
//! (`CKD_SHA*_KDF`, `CKD_SHA3_*_KDF`) over `Z || counter || sharedData`.

use alloc::vec::Vec;

use zeroize::Zeroizing;

use super::secret_keys::secret_from_bytes;
use super::template_ulong;
use crate::attribute::Attribute;
use crate::consts::ckd::{
    CKD_NULL, CKD_SHA1_KDF, CKD_SHA3_224_KDF, CKD_SHA3_256_KDF, CKD_SHA3_384_KDF, CKD_SHA3_512_KDF,
    CKD_SHA224_KDF, CKD_SHA256_KDF, CKD_SHA384_KDF, CKD_SHA512_KDF,
};
use crate::consts::{AttrType, KeyType, MechanismType, ObjectClass};
use crate::info::{MechParam, Mechanism};
use crate::mechanism::digest::{DigestAlg, Hasher};
use crate::mechanism::{Derived, Family, ec, edwards};
use crate::object::Object;
use crate::rng::Rng;
use crate::secret::SecretBytes;
use crate::{Error, Result};

/// The ECDH family.
#[derive(Debug)]
pub struct Ecdh;

/// The hash of a `CKD_*` X9.63 KDF; `Ok(None)` for `CKD_NULL`.
fn kdf_hash(kdf: u64) -> Result<Option<DigestAlg>> {
    Ok(Some(match kdf {
        CKD_NULL => return Ok(None),
        CKD_SHA1_KDF => DigestAlg::Sha1,
        CKD_SHA224_KDF => DigestAlg::Sha224,
        CKD_SHA256_KDF => DigestAlg::Sha256,
        CKD_SHA384_KDF => DigestAlg::Sha384,
        CKD_SHA512_KDF => DigestAlg::Sha512,
        CKD_SHA3_224_KDF => DigestAlg::Sha3_224,
        CKD_SHA3_256_KDF => DigestAlg::Sha3_256,
        CKD_SHA3_384_KDF => DigestAlg::Sha3_384,
        CKD_SHA3_512_KDF => DigestAlg::Sha3_512,
        _ => return Err(Error::MechanismParamInvalid),
    }))
}

/// ANSI X9.63 KDF (SEC 1 §3.6.1): `Hash(Z || counter || sharedInfo)` for counter = 1, 2, …
/// (32-bit big endian), concatenated and cut to `len` bytes.
///
/// # Errors
/// `KeySizeRange` when `len` needs more than 2^32 - 1 blocks.
pub fn x963_kdf(alg: DigestAlg, z: &[u8], shared_info: &[u8], len: usize) -> Result<SecretBytes> {
    let mut out = Zeroizing::new(Vec::with_capacity(len + alg.output_len()));
    let mut counter: u32 = 1;
    while out.len() < len {
        let mut h = Hasher::new(alg);
        h.update(z);
        h.update(&counter.to_be_bytes());
        h.update(shared_info);
        out.extend_from_slice(&Zeroizing::new(h.finish()));
        counter = counter.checked_add(1).ok_or(Error::KeySizeRange)?;
    }
    out.truncate(len);
    Ok(SecretBytes::from_slice(&out))
}

impl Family for Ecdh {
    fn derive(
        &self,
        mech: &Mechanism,
        base: &Object,
        template: &[Attribute],
        _others: &[(u64, Object)],
        _rng: &mut dyn Rng,
    ) -> Result<Derived> {
        if !matches!(mech.ty, MechanismType::ECDH1_DERIVE | MechanismType::ECDH1_COFACTOR_DERIVE) {
            return Err(Error::MechanismInvalid);
        }
        let MechParam::Ecdh1 { kdf, shared_data, public_data } = &mech.param else {
            return Err(Error::MechanismParamInvalid);
        };
        let hash = kdf_hash(*kdf)?;
        if (hash.is_none() && !shared_data.is_empty()) || public_data.is_empty() {
            return Err(Error::MechanismParamInvalid);
        }
        if base.class() != ObjectClass::PRIVATE_KEY {
            return Err(Error::KeyTypeInconsistent);
        }
        let private = base.bytes(AttrType::VALUE).ok_or(Error::KeyTypeInconsistent)?;
        let z = match base.key_type() {
            Some(KeyType::EC) => ec::ecdh(super::ecdsa::curve_of(base)?, private, public_data)?,
            Some(KeyType::EC_MONTGOMERY) => {
                let curve = super::eddsa::curve_of(base)?;
                edwards::diffie_hellman(curve, private, public_data)?
            }
            _ => return Err(Error::KeyTypeInconsistent),
        };
        let material = match hash {
            None => z,
            Some(alg) => {
                let len = match template_ulong(template, AttrType::VALUE_LEN) {
                    Some(n) => usize::try_from(n).map_err(|_| Error::KeySizeRange)?,
                    None => z.len(),
                };
                x963_kdf(alg, z.expose(), shared_data, len)?
            }
        };
        Ok(Derived { attrs: secret_from_bytes(template, material.expose())?, additional: Vec::new() })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]
mod tests {
    use super::*;

    fn h(s: &str) -> Vec<u8> {
        hex::decode(s).unwrap()
    }

    // NIST CAVS 12.0 ANSI X9.63 KDF, SHA-256 first vector (shared secret 32 bytes, no
    // SharedInfo, 128-bit output) and one with SharedInfo.
    #[test]
    fn x963_vectors() {
        let z = h("96c05619d56c328ab95fe84b18264b08725b85e33fd34f08");
        let out = x963_kdf(DigestAlg::Sha256, &z, &[], 16).unwrap();
        assert_eq!(out.expose(), &h("443024c3dae66b95e6f5670601558f71")[..]);
        let z = h("22518b10e70f2a3f243810ae3254139efbee04aa57c7af7d");
        let info = h("75eef81aa3041e33b80971203d2c0c52");
        let out = x963_kdf(DigestAlg::Sha256, &z, &info, 128).unwrap();
        assert_eq!(
            out.expose(),
            &h(
                "c498af77161cc59f2962b9a713e2b215152d139766ce34a776df11866a69bf2e52a13d9c7c6fc878c50c5ea0bc7b00e0da2447cfd874f6cf92f30d0097111485500c90c3af8b487872d04685d14c8d1dc8d7fa08beb0ce0ababc11f0bd496269142d43525a78e5bc79a17f59676a5706dc54d54d4d1f0bd7e386128ec26afc21"
            )[..]
        );
        // Longer than one block, and the KDF's length is exact.
        assert_eq!(x963_kdf(DigestAlg::Sha1, &z, &[], 45).unwrap().len(), 45);
    }
}
