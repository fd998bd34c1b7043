//! At-rest protection (DESIGN §3). Each token has a random 256-bit master key, stored only
//! wrapped: once under a key derived from the SO PIN and once under one derived from the
//! user PIN (Argon2id, parameters stored with the wrap). Private objects are sealed whole,
//! and the protected key material of public objects is sealed, with AES-256-GCM under the
//! master key; the associated data binds the token serial, the record id and every
//! attribute left in clear, so records cannot be swapped between tokens or ids, truncated,
//! or edited unnoticed. `docs/storage-format.md` describes the bytes.

use alloc::vec::Vec;

use argon2::{Algorithm, Argon2, Params, Version};

use crate::attribute::AttrValue;
use crate::consts::AttrType;
use crate::mechanism::aes_gcm;
use crate::object::{Object, policy};
use crate::rng::Rng;
use crate::secret::{SecretBytes, ct_eq};
use crate::store::record::{self, ObjectRecord, RecordKind};
use crate::token::KdfParams;
use crate::{Error, Result};

const TAG: usize = 16;

/// A token's master key. Lives in memory only while someone is logged in.
#[derive(Clone)]
pub struct MasterKey(SecretBytes);

impl core::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("MasterKey")
    }
}

impl MasterKey {
    /// A fresh random key.
    ///
    /// # Errors
    /// RNG failure.
    pub fn generate(rng: &mut dyn Rng) -> Result<Self> {
        let mut k = alloc::vec![0u8; 32];
        rng.fill(&mut k)?;
        Ok(Self(SecretBytes::new(k)))
    }
}

/// Whose PIN a wrap is under (bound into its associated data).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// The security officer.
    So,
    /// The normal user.
    User,
}

/// The master key wrapped under one PIN. Argon2id(PIN, salt) gives 64 bytes: the first
/// 32 are the wrapping key, the last 32 a check value stored here, so that a wrong PIN
/// (check differs) and a damaged wrap (check matches, tag fails) are told apart.
#[derive(Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct WrappedKey {
    kdf: KdfParams,
    salt: [u8; 16],
    check: [u8; 32],
    nonce: [u8; 12],
    wrapped: Vec<u8>,
}

impl core::fmt::Debug for WrappedKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "WrappedKey({:?})", self.kdf)
    }
}

fn derive(kdf: KdfParams, pin: &[u8], salt: &[u8]) -> Result<SecretBytes> {
    let params = Params::new(kdf.m_kib, kdf.t, kdf.p, Some(64)).map_err(|_| Error::DeviceError)?;
    let mut out = alloc::vec![0u8; 64];
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password_into(pin, salt, &mut out)
        .map_err(|_| Error::DeviceError)?;
    Ok(SecretBytes::new(out))
}

fn wrap_aad(serial: &str, role: Role) -> Vec<u8> {
    let mut aad = Vec::from(&b"anyhsm/master/"[..]);
    aad.push(match role {
        Role::So => b'S',
        Role::User => b'U',
    });
    aad.extend_from_slice(serial.as_bytes());
    aad
}

impl WrappedKey {
    /// Wrap `master` under `pin`.
    ///
    /// # Errors
    /// KDF or RNG failure.
    pub fn new(
        master: &MasterKey,
        pin: &[u8],
        kdf: KdfParams,
        serial: &str,
        role: Role,
        rng: &mut dyn Rng,
    ) -> Result<Self> {
        let mut salt = [0u8; 16];
        rng.fill(&mut salt)?;
        let mut nonce = [0u8; 12];
        rng.fill(&mut nonce)?;
        let derived = derive(kdf, pin, &salt)?;
        let (kek, check_bytes) = derived.expose().split_at(32);
        let mut check = [0u8; 32];
        check.copy_from_slice(check_bytes);
        let wrapped = aes_gcm::seal(kek, &nonce, &wrap_aad(serial, role), TAG, master.0.expose())?;
        Ok(Self { kdf, salt, check, nonce, wrapped })
    }

    /// The master key, if `pin` is right.
    ///
    /// # Errors
    /// `DeviceError` when the PIN checks out but the wrap does not open: a damaged record.
    pub fn open(&self, pin: &[u8], serial: &str, role: Role) -> Result<Option<MasterKey>> {
        let derived = derive(self.kdf, pin, &self.salt)?;
        let (kek, check) = derived.expose().split_at(32);
        if !ct_eq(check, &self.check) {
            return Ok(None);
        }
        let key = aes_gcm::open(kek, &self.nonce, &wrap_aad(serial, role), TAG, &self.wrapped)
            .map_err(|_| Error::DeviceError)?;
        if key.len() != 32 {
            return Err(Error::DeviceError);
        }
        Ok(Some(MasterKey(SecretBytes::new(key))))
    }
}

/// A record with sealed content.
#[derive(serde::Serialize, serde::Deserialize)]
struct SealedRecord {
    nonce: [u8; 12],
    /// Attributes kept readable without a PIN (public objects only); authenticated.
    clear: Vec<(AttrType, AttrValue)>,
    /// AES-256-GCM of the postcard encoding of the sealed attributes, tag appended.
    sealed: Vec<u8>,
}

fn object_aad(serial: &str, id: u64, clear: &[u8]) -> Vec<u8> {
    let mut aad = Vec::from(&b"anyhsm/object/"[..]);
    aad.extend_from_slice(serial.as_bytes());
    aad.push(b'/');
    aad.extend_from_slice(&id.to_le_bytes());
    aad.extend_from_slice(clear);
    aad
}

/// True if an object's record must be (partly) sealed: it is private, or it holds key
/// material it protects (sensitive or unextractable).
pub fn needs_sealing(obj: &Object) -> bool {
    obj.is_private() || obj.attributes().any(|(ty, _)| policy::is_sensitive(obj, *ty))
}

/// The stored blob of a token object.
///
/// # Errors
/// `UserNotLoggedIn` when the object needs sealing and no master key is at hand.
pub fn encode_object(
    obj: &Object,
    id: u64,
    serial: &str,
    master: Option<&MasterKey>,
    rng: &mut dyn Rng,
) -> Result<Vec<u8>> {
    if !needs_sealing(obj) {
        return record::encode(RecordKind::Object, &ObjectRecord { attrs: obj.to_vec() });
    }
    let master = master.ok_or(Error::UserNotLoggedIn)?;
    let (clear, secret): (Vec<_>, Vec<_>) = if obj.is_private() {
        (Vec::new(), obj.to_vec())
    } else {
        obj.to_vec().into_iter().partition(|(ty, _)| !policy::is_sensitive(obj, *ty))
    };
    let clear_bytes = postcard::to_allocvec(&clear).map_err(|_| Error::GeneralError)?;
    let plain = SecretBytes::new(postcard::to_allocvec(&secret).map_err(|_| Error::GeneralError)?);
    let mut nonce = [0u8; 12];
    rng.fill(&mut nonce)?;
    let sealed =
        aes_gcm::seal(master.0.expose(), &nonce, &object_aad(serial, id, &clear_bytes), TAG, plain.expose())?;
    record::encode(RecordKind::SealedObject, &SealedRecord { nonce, clear, sealed })
}

/// The attributes a sealed record keeps in clear, if its envelope still decodes (for the
/// placeholder of a record whose seal failed: they are unauthenticated then, so they only
/// ever serve to match a find template).
pub fn clear_part(blob: &[u8]) -> Option<Vec<(AttrType, AttrValue)>> {
    record::decode::<SealedRecord>(RecordKind::SealedObject, blob).ok().map(|r| r.clear)
}

/// What a stored object record gives with the keys at hand.
#[derive(Debug)]
pub enum Opened {
    /// The whole object.
    Full(Object),
    /// A public object whose protected key material stays sealed until a login.
    Partial(Object),
    /// A private object: nothing is visible without the master key.
    Locked,
}

/// Decode (and, with the master key, unseal) a token object record.
///
/// # Errors
/// `DeviceError` for a damaged, swapped or tampered record, or an unknown format.
pub fn decode_object(blob: &[u8], id: u64, serial: &str, master: Option<&MasterKey>) -> Result<Opened> {
    match record::kind_of(blob) {
        Some(RecordKind::Object) => {
            let rec: ObjectRecord = record::decode(RecordKind::Object, blob)?;
            Ok(Opened::Full(Object::from_vec(rec.attrs)))
        }
        Some(RecordKind::SealedObject) => {
            let rec: SealedRecord = record::decode(RecordKind::SealedObject, blob)?;
            let Some(master) = master else {
                return Ok(if rec.clear.is_empty() {
                    Opened::Locked
                } else {
                    Opened::Partial(Object::from_vec(rec.clear))
                });
            };
            let clear_bytes = postcard::to_allocvec(&rec.clear).map_err(|_| Error::DeviceError)?;
            let plain = aes_gcm::open(
                master.0.expose(),
                &rec.nonce,
                &object_aad(serial, id, &clear_bytes),
                TAG,
                &rec.sealed,
            )
            .map_err(|_| Error::DeviceError)?;
            let plain = SecretBytes::new(plain);
            let (secret, rest): (Vec<(AttrType, AttrValue)>, _) =
                postcard::take_from_bytes(plain.expose()).map_err(|_| Error::DeviceError)?;
            if !rest.is_empty() {
                return Err(Error::DeviceError);
            }
            let mut attrs = rec.clear;
            attrs.extend(secret);
            Ok(Opened::Full(Object::from_vec(attrs)))
        }
        _ => Err(Error::DeviceError),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attribute::Attribute;
    use crate::consts::{KeyType, ObjectClass};
    use crate::object::policy::{Origin, new_object};
    use crate::rng::DeterministicRng;

    fn key(private: bool) -> Object {
        let t = [
            Attribute::ulong(AttrType::CLASS, ObjectClass::SECRET_KEY.0),
            Attribute::ulong(AttrType::KEY_TYPE, KeyType::AES.0),
            Attribute::bool(AttrType::PRIVATE, private),
            Attribute::bytes(AttrType::LABEL, b"k"),
            Attribute::bytes(AttrType::VALUE, &[0x5a; 32]),
        ];
        new_object(&t, &[], Origin::Create, b"uid").unwrap()
    }

    #[test]
    fn wrapped_master_key_opens_only_with_its_pin_and_role() {
        let mut rng = DeterministicRng::from_seed([3; 32]);
        let mk = MasterKey::generate(&mut rng).unwrap();
        let w = WrappedKey::new(&mk, b"1234", KdfParams::FAST, "serial", Role::User, &mut rng).unwrap();
        assert!(w.open(b"1234", "serial", Role::User).unwrap().is_some());
        assert!(w.open(b"1235", "serial", Role::User).unwrap().is_none(), "wrong PIN");
        assert_eq!(
            w.open(b"1234", "serial", Role::So).map(|k| k.is_some()),
            Err(Error::DeviceError),
            "wrong role"
        );
        assert_eq!(w.open(b"1234", "other", Role::User).map(|k| k.is_some()), Err(Error::DeviceError));
        let mut damaged = w.clone();
        damaged.wrapped[3] ^= 1;
        assert_eq!(damaged.open(b"1234", "serial", Role::User).map(|k| k.is_some()), Err(Error::DeviceError));
    }

    #[test]
    fn sealed_records_hide_secrets_and_refuse_tampering() {
        let mut rng = DeterministicRng::from_seed([4; 32]);
        let mk = MasterKey::generate(&mut rng).unwrap();
        for private in [true, false] {
            let obj = key(private);
            let blob = encode_object(&obj, 7, "s", Some(&mk), &mut rng).unwrap();
            assert!(!blob.windows(32).any(|w| w == [0x5a; 32]), "the key bytes are not in the record");
            match decode_object(&blob, 7, "s", Some(&mk)).unwrap() {
                Opened::Full(o) => assert_eq!(o, obj),
                other => panic!("{other:?}"),
            }
            match decode_object(&blob, 7, "s", None).unwrap() {
                Opened::Locked => assert!(private),
                Opened::Partial(o) => {
                    assert!(!private);
                    assert_eq!(o.bytes(AttrType::LABEL), Some(&b"k"[..]));
                    assert!(o.get(AttrType::VALUE).is_none());
                }
                Opened::Full(_) => panic!("opened without a key"),
            }
            // Another id or token: refused. Every single-byte change: refused or harmless, never wrong data.
            assert_eq!(decode_object(&blob, 8, "s", Some(&mk)).map(|_| ()), Err(Error::DeviceError));
            assert_eq!(decode_object(&blob, 7, "t", Some(&mk)).map(|_| ()), Err(Error::DeviceError));
            for i in 0..blob.len() {
                let mut b = blob.clone();
                b[i] ^= 0x01;
                if let Ok(Opened::Full(o)) = decode_object(&b, 7, "s", Some(&mk)) {
                    panic!("byte {i} flipped yet opened: {o:?}");
                }
            }
        }
        let plain = key(false);
        let mut public_plain = plain.clone();
        public_plain.set(AttrType::SENSITIVE, AttrValue::Bool(false));
        public_plain.set(AttrType::EXTRACTABLE, AttrValue::Bool(true));
        assert!(!needs_sealing(&public_plain));
        assert_eq!(encode_object(&plain, 1, "s", None, &mut rng), Err(Error::UserNotLoggedIn));
    }
}
