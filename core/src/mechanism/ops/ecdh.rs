//! `CKM_ECDH1_DERIVE` and `CKM_ECDH1_COFACTOR_DERIVE` with `CK_ECDH1_DERIVE_PARAMS`: the
//! shared secret `Z` of a `CKK_EC` key (P-256, P-384, P-521, secp256k1: cofactor 1, so both
//! mechanisms agree) or a `CKK_EC_MONTGOMERY` key (X25519, X448, whose clamped scalars are
//! multiples of the cofactor already), then `CKD_NULL`, the ANSI X9.63 KDF (`CKD_SHA*_KDF`,
//! `CKD_SHA3_*_KDF`) over `Z || counter || sharedData`, or the NIST SP 800-56A §5.8.1.1
//! one-step KDF (`CKD_SHA*_KDF_SP800`, `CKD_SHA3_*_KDF_SP800`) over `counter || Z || sharedData`.

use alloc::vec::Vec;

use zeroize::Zeroizing;

use super::secret_keys::secret_from_bytes;
use super::template_ulong;
use crate::attribute::Attribute;
use crate::consts::ckd::{
    CKD_NULL, CKD_SHA1_KDF, CKD_SHA1_KDF_SP800, CKD_SHA3_224_KDF, CKD_SHA3_224_KDF_SP800, CKD_SHA3_256_KDF,
    CKD_SHA3_256_KDF_SP800, CKD_SHA3_384_KDF, CKD_SHA3_384_KDF_SP800, CKD_SHA3_512_KDF,
    CKD_SHA3_512_KDF_SP800, CKD_SHA224_KDF, CKD_SHA224_KDF_SP800, CKD_SHA256_KDF, CKD_SHA256_KDF_SP800,
    CKD_SHA384_KDF, CKD_SHA384_KDF_SP800, CKD_SHA512_KDF, CKD_SHA512_KDF_SP800,
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

/// The KDF a `CKD_*` names, with its hash.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kdf {
    /// ANSI X9.63: `Hash(Z || counter || sharedInfo)`.
    X963(DigestAlg),
    /// NIST SP 800-56A §5.8.1.1 (the one-step KDF of SP 800-56C): `Hash(counter || Z || OtherInfo)`.
    OneStep(DigestAlg),
}

/// The KDF of a `CKD_*`; `Ok(None)` for `CKD_NULL`.
fn kdf_of(kdf: u64) -> Result<Option<Kdf>> {
    use DigestAlg::{Sha1, Sha3_224, Sha3_256, Sha3_384, Sha3_512, Sha224, Sha256, Sha384, Sha512};
    Ok(Some(match kdf {
        CKD_NULL => return Ok(None),
        CKD_SHA1_KDF => Kdf::X963(Sha1),
        CKD_SHA224_KDF => Kdf::X963(Sha224),
        CKD_SHA256_KDF => Kdf::X963(Sha256),
        CKD_SHA384_KDF => Kdf::X963(Sha384),
        CKD_SHA512_KDF => Kdf::X963(Sha512),
        CKD_SHA3_224_KDF => Kdf::X963(Sha3_224),
        CKD_SHA3_256_KDF => Kdf::X963(Sha3_256),
        CKD_SHA3_384_KDF => Kdf::X963(Sha3_384),
        CKD_SHA3_512_KDF => Kdf::X963(Sha3_512),
        CKD_SHA1_KDF_SP800 => Kdf::OneStep(Sha1),
        CKD_SHA224_KDF_SP800 => Kdf::OneStep(Sha224),
        CKD_SHA256_KDF_SP800 => Kdf::OneStep(Sha256),
        CKD_SHA384_KDF_SP800 => Kdf::OneStep(Sha384),
        CKD_SHA512_KDF_SP800 => Kdf::OneStep(Sha512),
        CKD_SHA3_224_KDF_SP800 => Kdf::OneStep(Sha3_224),
        CKD_SHA3_256_KDF_SP800 => Kdf::OneStep(Sha3_256),
        CKD_SHA3_384_KDF_SP800 => Kdf::OneStep(Sha3_384),
        CKD_SHA3_512_KDF_SP800 => Kdf::OneStep(Sha3_512),
        _ => return Err(Error::MechanismParamInvalid),
    }))
}

/// The counter-mode hash KDFs: `Hash` over the blocks `parts(counter)` for counter = 1, 2, …
/// (32-bit big endian), concatenated and cut to `len` bytes.
fn counter_hash_kdf(
    alg: DigestAlg,
    len: usize,
    mut block: impl FnMut(&mut Hasher, &[u8; 4]),
) -> Result<SecretBytes> {
    let mut out = Zeroizing::new(Vec::with_capacity(len + alg.output_len()));
    let mut counter: u32 = 1;
    while out.len() < len {
        let mut h = Hasher::new(alg);
        block(&mut h, &counter.to_be_bytes());
        out.extend_from_slice(&Zeroizing::new(h.finish()));
        counter = counter.checked_add(1).ok_or(Error::KeySizeRange)?;
    }
    out.truncate(len);
    Ok(SecretBytes::from_slice(&out))
}

/// ANSI X9.63 KDF (SEC 1 §3.6.1): `Hash(Z || counter || sharedInfo)` for counter = 1, 2, …
/// (32-bit big endian), concatenated and cut to `len` bytes.
///
/// # Errors
/// `KeySizeRange` when `len` needs more than 2^32 - 1 blocks.
pub fn x963_kdf(alg: DigestAlg, z: &[u8], shared_info: &[u8], len: usize) -> Result<SecretBytes> {
    counter_hash_kdf(alg, len, |h, counter| {
        h.update(z);
        h.update(counter);
        h.update(shared_info);
    })
}

/// The one-step KDF of NIST SP 800-56A §5.8.1.1 (SP 800-56C Rev. 2 §4.1, option 1):
/// `Hash(counter || Z || OtherInfo)` for counter = 1, 2, … (32-bit big endian), concatenated
/// and cut to `len` bytes.
///
/// # Errors
/// `KeySizeRange` when `len` needs more than 2^32 - 1 blocks.
pub fn one_step_kdf(alg: DigestAlg, z: &[u8], other_info: &[u8], len: usize) -> Result<SecretBytes> {
    counter_hash_kdf(alg, len, |h, counter| {
        h.update(counter);
        h.update(z);
        h.update(other_info);
    })
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
        let kdf = kdf_of(*kdf)?;
        if (kdf.is_none() && !shared_data.is_empty()) || public_data.is_empty() {
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
        let material = match kdf {
            None => z,
            Some(kdf) => {
                let len = match template_ulong(template, AttrType::VALUE_LEN) {
                    Some(n) => usize::try_from(n).map_err(|_| Error::KeySizeRange)?,
                    None => z.len(),
                };
                match kdf {
                    Kdf::X963(alg) => x963_kdf(alg, z.expose(), shared_data, len)?,
                    Kdf::OneStep(alg) => one_step_kdf(alg, z.expose(), shared_data, len)?,
                }
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

    // The SP 800-56A concatenation KDF vector (SHA-256, 128-bit output) of pyca/cryptography's
    // tests/hazmat/primitives/test_concatkdf.py; the longer outputs (several blocks, SHA-1 and
    // SHA3-384) are those of Python `cryptography` 48's independent `ConcatKDFHash`.
    #[test]
    fn one_step_vectors() {
        let z = h("52169af5c485dcc2321eb8d26d5efa21fb9b93c98e38412ee2484cf14f0d0d23");
        let info = h(
            "a1b2c3d4e53728157e634612c12d6d5223e204aeea4341565369647bd184bcd246f72971f292badaa2fe4124612cba",
        );
        let out = one_step_kdf(DigestAlg::Sha256, &z, &info, 16).unwrap();
        assert_eq!(out.expose(), &h("1c3bc9e7c4547c5191c0d478cccaed55")[..]);
        let out = one_step_kdf(DigestAlg::Sha1, &z, &info, 45).unwrap();
        assert_eq!(
            out.expose(),
            &h("9910c84fa6192cfc15cbc44b529fde6b6903a4d36e97b1d9f12cc1bda8454e2de265879a4671dcd4a29d6ae709")
                [..]
        );
        let out = one_step_kdf(DigestAlg::Sha3_384, &z, &[], 100).unwrap();
        assert_eq!(
            out.expose(),
            &h(concat!(
                "303b3f4f078d84087f2baf821c53ad37f17b090d40ad3e190e39dcf0b0ab4560f164860bb62884395b4b61200aa0b049",
                "7729c06efe8cf98228fcf1af14dc10dbd046ebc50be6f453ae0a75141a6efd48287b5fb206c1738254f2443b6373e939",
                "cffb19ca"
            ))[..]
        );
    }

    /// Every `CKD_*_KDF_SP800` of PKCS #11 3.0 is the one-step KDF with its hash; the BLAKE2b
    /// KDFs and the other values are refused as parameters.
    #[test]
    fn kdf_table() {
        assert_eq!(kdf_of(CKD_SHA256_KDF_SP800).unwrap(), Some(Kdf::OneStep(DigestAlg::Sha256)));
        assert_eq!(kdf_of(CKD_SHA3_512_KDF_SP800).unwrap(), Some(Kdf::OneStep(DigestAlg::Sha3_512)));
        assert_eq!(kdf_of(CKD_SHA256_KDF).unwrap(), Some(Kdf::X963(DigestAlg::Sha256)));
        assert_eq!(kdf_of(CKD_NULL).unwrap(), None);
        for refused in [crate::consts::ckd::CKD_BLAKE2B_256_KDF, crate::consts::ckd::CKD_SHA1_KDF_ASN1, 0, 99]
        {
            assert_eq!(kdf_of(refused), Err(Error::MechanismParamInvalid));
        }
    }
}
