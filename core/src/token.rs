//! One token's state: its persisted metadata (label, serial, slot id, PIN records, failure
//! counters), its objects with their lookup index, and the application's login state.

use alloc::collections::{BTreeMap, BTreeSet};
use alloc::string::String;
use alloc::vec::Vec;

use crate::attribute::{AttrValue, Attribute};
use crate::consts::{AttrType, UserType};
use crate::object::Object;
use crate::rng::Rng;
use crate::seal::{self, MasterKey, Opened, WrappedKey};
use crate::store::record::{self, RecordKind};
use crate::store::{Batch, Op, TokenSnapshot};
use crate::{Error, Result};

/// Shortest PIN the token accepts, in bytes.
pub const MIN_PIN_LEN: usize = 4;
/// Longest PIN the token accepts, in bytes.
pub const MAX_PIN_LEN: usize = 255;
/// Failed logins before a PIN locks (default).
pub const DEFAULT_MAX_FAILURES: u32 = 10;

/// Argon2id cost parameters, stored with each PIN record so they can be raised later.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct KdfParams {
    /// Memory in KiB.
    pub m_kib: u32,
    /// Passes.
    pub t: u32,
    /// Lanes.
    pub p: u32,
}

impl KdfParams {
    /// OWASP's recommendation for Argon2id: 19 MiB, 2 passes, 1 lane.
    pub const DEFAULT: Self = Self { m_kib: 19 * 1024, t: 2, p: 1 };
    /// For tokens explicitly marked as test tokens only: fast, and weak.
    pub const FAST: Self = Self { m_kib: 64, t: 1, p: 1 };
}

/// Check a PIN's length against the token's limits.
///
/// # Errors
/// `PinLenRange`.
pub fn check_pin_len(pin: &[u8]) -> Result<()> {
    if (MIN_PIN_LEN..=MAX_PIN_LEN).contains(&pin.len()) { Ok(()) } else { Err(Error::PinLenRange) }
}

/// What a token persists about itself (the metadata record).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TokenMeta {
    /// The slot this token lives in, fixed at `C_InitToken`: stable across processes.
    pub slot_id: u64,
    /// `CK_TOKEN_INFO.label`, blank padded.
    pub label: [u8; 32],
    /// 16 printable characters; also the token's name in the store.
    pub serial: String,
    /// The master key wrapped under the SO PIN.
    pub so_pin: WrappedKey,
    /// The master key wrapped under the user PIN, once `C_InitPIN` ran.
    pub user_pin: Option<WrappedKey>,
    /// Consecutive failed SO logins.
    pub so_failures: u32,
    /// Consecutive failed user logins.
    pub user_failures: u32,
    /// Failures before a PIN locks.
    pub max_failures: u32,
    /// Made with the fast KDF profile: says so in its model string.
    pub test_token: bool,
    /// Made by a deterministic (seeded) RNG.
    pub deterministic: bool,
}

impl TokenMeta {
    /// The metadata record's blob.
    ///
    /// # Errors
    /// As [`record::encode`].
    pub fn encode(&self) -> Result<Vec<u8>> {
        record::encode(RecordKind::Meta, self)
    }
}

/// Attributes `C_FindObjects` can answer from the index instead of a scan.
pub const INDEXED: [AttrType; 4] = [AttrType::CLASS, AttrType::ID, AttrType::LABEL, AttrType::KEY_TYPE];

fn index_key(ty: AttrType, v: &AttrValue) -> Option<(AttrType, Vec<u8>)> {
    if !INDEXED.contains(&ty) {
        return None;
    }
    match v {
        AttrValue::Ulong(u) => Some((ty, u.to_le_bytes().to_vec())),
        AttrValue::Bytes(b) => Some((ty, b.clone())),
        _ => None,
    }
}

/// Object ids by the value of each indexed attribute.
#[derive(Clone, Debug, Default)]
pub struct Index {
    map: BTreeMap<(AttrType, Vec<u8>), BTreeSet<u64>>,
}

impl Index {
    fn insert(&mut self, id: u64, obj: &Object) {
        for ty in INDEXED {
            if let Some(k) = obj.get(ty).and_then(|v| index_key(ty, v)) {
                self.map.entry(k).or_default().insert(id);
            }
        }
    }

    fn remove(&mut self, id: u64, obj: &Object) {
        for ty in INDEXED {
            if let Some(k) = obj.get(ty).and_then(|v| index_key(ty, v)) {
                if let Some(set) = self.map.get_mut(&k) {
                    set.remove(&id);
                    if set.is_empty() {
                        self.map.remove(&k);
                    }
                }
            }
        }
    }

    /// The ids that can match `template`: the smallest index set among its indexed
    /// attributes, or `None` if it has none (then every object is a candidate).
    pub fn candidates(&self, template: &[Attribute]) -> Option<Vec<u64>> {
        let empty = BTreeSet::new();
        template
            .iter()
            .filter_map(|a| index_key(a.ty, &a.value))
            .map(|k| self.map.get(&k).unwrap_or(&empty))
            .min_by_key(|s| s.len())
            .map(|s| s.iter().copied().collect())
    }
}

/// An object in a token's working set.
#[derive(Clone, Debug)]
pub struct Entry {
    /// The object.
    pub obj: Object,
    /// For session objects, the session that owns it.
    pub session: Option<u64>,
}

/// A token object whose record could not be read (the store's check, the seal, the format
/// version): kept as a placeholder that answers `CKR_DEVICE_ERROR` to everything but
/// `C_DestroyObject`, so the application hears about it and can remove it, and its record
/// stays on disk untouched until then.
#[derive(Clone, Debug, Default)]
pub struct Damaged {
    /// What is still readable in clear: a public object's non-sensitive attributes when only
    /// its sealed part failed. Used to match find templates, never returned.
    pub clear: Option<Object>,
    /// Known to be a public object (its record says so). Otherwise it may be private, and
    /// only a logged-in user sees it.
    pub public: bool,
}

impl Damaged {
    /// The placeholder for `blob`, with whatever its header and clear part still tell.
    fn of(blob: &[u8]) -> Self {
        match record::kind_of(blob) {
            // Private objects are always sealed: a clear record is a public one.
            Some(RecordKind::Object) => Self { clear: None, public: true },
            Some(RecordKind::SealedObject) => match seal::clear_part(blob) {
                Some(attrs) if !attrs.is_empty() => {
                    let obj = Object::from_vec(attrs);
                    Self { public: !obj.is_private(), clear: Some(obj) }
                }
                _ => Self::default(),
            },
            _ => Self::default(),
        }
    }

    /// Is it visible to an application logged in as `login`?
    pub fn visible(&self, login: Option<UserType>) -> bool {
        self.public || login == Some(UserType::USER)
    }

    /// Does it match a find template? Only on what is still readable: with nothing readable,
    /// only the empty template (list everything) finds it.
    pub fn matches(&self, template: &[Attribute]) -> bool {
        self.clear.as_ref().map_or(template.is_empty(), |o| o.matches(template))
    }
}

/// A token in the engine's working set.
#[derive(Debug)]
pub struct Token {
    /// Persisted metadata.
    pub meta: TokenMeta,
    /// The store generation this working set reflects.
    pub generation: u64,
    /// Token and session objects by id.
    pub objects: BTreeMap<u64, Entry>,
    /// Lookup index over `objects`.
    pub index: Index,
    /// Who is logged in (shared by all the application's sessions on this token).
    pub login: Option<UserType>,
    /// The master key, while someone is logged in.
    pub master: Option<MasterKey>,
    /// Public objects whose protected key material is still sealed (no login yet).
    pub partial: BTreeSet<u64>,
    /// Token objects whose records could not be read, by id (see [`Damaged`]).
    pub damaged: BTreeMap<u64, Damaged>,
}

/// A set of changes to one token, computed first and applied only after the store
/// persisted its token-object part (DESIGN §2).
#[derive(Debug, Default)]
pub struct Change {
    /// Objects to insert or replace: (id, object, owning session for session objects).
    pub put: Vec<(u64, Object, Option<u64>)>,
    /// Object ids to remove.
    pub delete: Vec<u64>,
    /// New metadata.
    pub meta: Option<TokenMeta>,
    /// Remove every object first.
    pub wipe: bool,
}

impl Change {
    /// The store batch for the persistent part of this change: records serialized, and
    /// sealed where they hold private data (which needs `master`).
    ///
    /// # Errors
    /// `UserNotLoggedIn` (a record to seal and no master key), serialization errors.
    pub fn batch(
        &self,
        token: Option<&Token>,
        serial: &str,
        master: Option<&MasterKey>,
        rng: &mut dyn Rng,
    ) -> Result<Batch> {
        let mut batch = Batch { ops: Vec::new(), wipe: self.wipe };
        if let Some(meta) = &self.meta {
            batch.ops.push(Op::PutMeta(meta.encode()?));
        }
        for (id, obj, session) in &self.put {
            if session.is_none() {
                batch
                    .ops
                    .push(Op::Put { id: *id, blob: seal::encode_object(obj, *id, serial, master, rng)? });
            }
        }
        for id in &self.delete {
            let persistent = token.and_then(|t| t.objects.get(id)).is_none_or(|e| e.session.is_none());
            if persistent {
                batch.ops.push(Op::Delete { id: *id });
            }
        }
        Ok(batch)
    }
}

impl Token {
    /// A token rebuilt from a store snapshot, unsealing what `master` opens. Damaged object
    /// records (those the store refused, and those that fail to decode or unseal here) become
    /// [`Damaged`] placeholders, the latter reported in `warnings`, named by `locate` (one
    /// bad record must not hide the rest of the token); private records stay in the store,
    /// unseen, until a login.
    ///
    /// # Errors
    /// `DeviceError` if the metadata record itself is damaged.
    pub fn from_snapshot(
        snap: &TokenSnapshot,
        master: Option<MasterKey>,
        warnings: &mut Vec<String>,
        locate: &dyn Fn(&str, u64) -> String,
    ) -> Result<Self> {
        let meta: TokenMeta = record::decode(RecordKind::Meta, &snap.meta)?;
        let mut token = Token {
            meta,
            generation: snap.generation,
            objects: BTreeMap::new(),
            index: Index::default(),
            login: None,
            master,
            partial: BTreeSet::new(),
            damaged: snap.damaged.iter().map(|id| (*id, Damaged::default())).collect(),
        };
        for (id, blob) in &snap.records {
            match seal::decode_object(blob, *id, &token.meta.serial, token.master.as_ref()) {
                Ok(Opened::Full(obj)) => token.insert(*id, obj, None),
                Ok(Opened::Partial(obj)) => {
                    token.insert(*id, obj, None);
                    token.partial.insert(*id);
                }
                Ok(Opened::Locked) => {}
                Err(_) => {
                    warnings.push(alloc::format!(
                        "{}: damaged (integrity or seal check failed), from another token or of an unknown \
                         format; its object answers CKR_DEVICE_ERROR until it is destroyed",
                        locate(&snap.name, *id)
                    ));
                    token.damaged.insert(*id, Damaged::of(blob));
                }
            }
        }
        Ok(token)
    }

    /// Insert or replace an object, keeping the index in step.
    pub fn insert(&mut self, id: u64, obj: Object, session: Option<u64>) {
        self.damaged.remove(&id);
        if let Some(old) = self.objects.remove(&id) {
            self.index.remove(id, &old.obj);
            self.partial.remove(&id);
        }
        self.index.insert(id, &obj);
        self.objects.insert(id, Entry { obj, session });
    }

    /// Remove an object.
    pub fn remove(&mut self, id: u64) -> Option<Entry> {
        self.partial.remove(&id);
        self.damaged.remove(&id);
        let e = self.objects.remove(&id)?;
        self.index.remove(id, &e.obj);
        Some(e)
    }

    /// Apply a change whose persistent part is durable.
    pub fn commit(&mut self, change: Change, generation: Option<u64>) {
        if change.wipe {
            let ids: Vec<u64> =
                self.objects.iter().filter(|(_, e)| e.session.is_none()).map(|(id, _)| *id).collect();
            for id in ids {
                self.remove(id);
            }
            self.damaged.clear();
        }
        for id in change.delete {
            self.remove(id);
        }
        for (id, obj, session) in change.put {
            self.insert(id, obj, session);
        }
        if let Some(meta) = change.meta {
            self.meta = meta;
        }
        if let Some(g) = generation {
            self.generation = g;
        }
    }

    /// Refuse to use or rewrite public object `id` while its key material is still sealed
    /// (nobody has logged in since it was loaded): its value is not in memory.
    ///
    /// # Errors
    /// `UserNotLoggedIn`.
    pub fn ensure_unsealed(&self, id: u64) -> Result<()> {
        if self.partial.contains(&id) { Err(Error::UserNotLoggedIn) } else { Ok(()) }
    }

    /// Is the user PIN locked by failed logins?
    pub fn user_locked(&self) -> bool {
        self.meta.user_failures >= self.meta.max_failures
    }

    /// Is the SO PIN locked by failed logins?
    pub fn so_locked(&self) -> bool {
        self.meta.so_failures >= self.meta.max_failures
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_finds_by_label_without_scanning() {
        let mut idx = Index::default();
        let mut a = Object::default();
        a.set(AttrType::LABEL, AttrValue::Bytes(b"a".to_vec()));
        a.set(AttrType::CLASS, AttrValue::Ulong(0));
        let mut b = a.clone();
        b.set(AttrType::LABEL, AttrValue::Bytes(b"b".to_vec()));
        idx.insert(1, &a);
        idx.insert(2, &b);
        let by_label = [Attribute { ty: AttrType::LABEL, value: AttrValue::Bytes(b"b".to_vec()) }];
        assert_eq!(idx.candidates(&by_label), Some(alloc::vec![2]));
        let by_class = [Attribute::ulong(AttrType::CLASS, 0)];
        assert_eq!(idx.candidates(&by_class), Some(alloc::vec![1, 2]));
        assert_eq!(idx.candidates(&[]), None);
        idx.remove(2, &b);
        assert_eq!(idx.candidates(&by_label), Some(alloc::vec![]));
    }
}
