//! One token's state: its persisted metadata (label, serial, slot id, PIN records, failure
//! counters), its objects with their lookup index, and the application's login state.

use alloc::boxed::Box;
use alloc::collections::{BTreeMap, BTreeSet, btree_map};
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

/// Keys up to this long are held inline: a class, a key type and most labels and ids.
const INLINE: usize = 31;

/// One indexed value: its bytes (a `CK_ULONG` as 8 little-endian bytes). Short ones are held
/// inline, so that indexing an object allocates nothing per attribute, as four words (the
/// bytes zero-padded, their length in the last byte) that sort and compare as integers.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Key {
    Inline([u64; 4]),
    Heap(Box<[u8]>),
}

impl Key {
    fn new(b: &[u8]) -> Self {
        match u8::try_from(b.len()) {
            Ok(len) if b.len() <= INLINE => {
                let mut words = [0u64; 4];
                for (i, byte) in b.iter().enumerate() {
                    words[i / 8] |= u64::from(*byte) << (8 * (i % 8));
                }
                words[3] |= u64::from(len) << 56;
                Key::Inline(words)
            }
            _ => Key::Heap(b.into()),
        }
    }
}

/// Which of [`INDEXED`] `ty` is, and the key of `v` there (`None` if `ty` is not indexed or
/// `v` is not a `CK_ULONG` or a byte string).
fn index_key(ty: AttrType, v: &AttrValue) -> Option<(usize, Key)> {
    let slot = INDEXED.iter().position(|t| *t == ty)?;
    match v {
        AttrValue::Ulong(u) => Some((slot, Key::new(&u.to_le_bytes()))),
        AttrValue::Bytes(b) => Some((slot, Key::new(b))),
        _ => None,
    }
}

/// The index keys of `obj`, in one pass over its attributes.
fn keys_of(obj: &Object) -> impl Iterator<Item = (usize, Key)> + '_ {
    obj.attributes().filter_map(|(ty, v)| index_key(*ty, v))
}

/// The ids holding one value: most labels are held by one object, so one id needs no set.
#[derive(Clone, Debug)]
enum Ids {
    One(u64),
    Many(BTreeSet<u64>),
}

impl Ids {
    fn len(&self) -> usize {
        match self {
            Ids::One(_) => 1,
            Ids::Many(s) => s.len(),
        }
    }

    fn to_vec(&self) -> Vec<u64> {
        match self {
            Ids::One(id) => alloc::vec![*id],
            Ids::Many(s) => s.iter().copied().collect(),
        }
    }

    fn insert(&mut self, id: u64) {
        match self {
            Ids::One(x) if *x == id => {}
            Ids::One(x) => *self = Ids::Many(BTreeSet::from([*x, id])),
            Ids::Many(s) => {
                s.insert(id);
            }
        }
    }

    /// Remove `id`; true if no id is left.
    fn remove(&mut self, id: u64) -> bool {
        match self {
            Ids::One(x) => *x == id,
            Ids::Many(s) => {
                s.remove(&id);
                s.is_empty()
            }
        }
    }
}

/// Object ids by the value of each indexed attribute (one map per attribute of [`INDEXED`]).
#[derive(Clone, Debug, Default)]
pub struct Index {
    maps: [BTreeMap<Key, Ids>; INDEXED.len()],
    /// While a token loads: the (key, id) pairs of the objects loaded so far, taken while each
    /// object is still in cache and sorted into `maps` once at the end ([`Token::from_snapshot`]).
    staged: [Vec<(Key, u64)>; INDEXED.len()],
}

impl Index {
    /// The index of `objects`, built at once (sorted, then each map in bulk): loading a large
    /// token costs a sort per attribute instead of a tree search per object and attribute.
    pub fn build<'a>(objects: impl IntoIterator<Item = (u64, &'a Object)>) -> Self {
        let mut index = Index::default();
        for (id, obj) in objects {
            index.stage(id, obj);
        }
        index.finish_staged();
        index
    }

    /// Note `obj`'s keys for [`Index::finish_staged`].
    fn stage(&mut self, id: u64, obj: &Object) {
        for (slot, k) in keys_of(obj) {
            self.staged[slot].push((k, id));
        }
    }

    /// Forget the staged keys of `id` (an object loaded twice).
    fn unstage(&mut self, id: u64) {
        for pairs in &mut self.staged {
            pairs.retain(|(_, x)| *x != id);
        }
    }

    /// Sort the staged keys into the maps: built in bulk when empty (a token loading), else
    /// merged one by one.
    fn finish_staged(&mut self) {
        let staged = core::mem::take(&mut self.staged);
        for (map, mut pairs) in self.maps.iter_mut().zip(staged) {
            if !map.is_empty() {
                for (k, id) in pairs {
                    Self::add(map, k, id);
                }
                continue;
            }
            pairs.sort_unstable();
            pairs.dedup();
            let mut grouped: Vec<(Key, Ids)> = Vec::new();
            let mut pairs = pairs.into_iter().peekable();
            while let Some((k, id)) = pairs.next() {
                let mut more = Vec::new();
                while let Some((_, next)) = pairs.next_if(|(next, _)| *next == k) {
                    more.push(next);
                }
                let ids = if more.is_empty() {
                    Ids::One(id)
                } else {
                    // Sorted: the set is built in bulk too.
                    Ids::Many(core::iter::once(id).chain(more).collect())
                };
                grouped.push((k, ids));
            }
            *map = grouped.into_iter().collect();
        }
    }

    fn add(map: &mut BTreeMap<Key, Ids>, k: Key, id: u64) {
        match map.entry(k) {
            btree_map::Entry::Vacant(e) => {
                e.insert(Ids::One(id));
            }
            btree_map::Entry::Occupied(mut e) => e.get_mut().insert(id),
        }
    }

    fn insert(&mut self, id: u64, obj: &Object) {
        for (slot, k) in keys_of(obj) {
            Self::add(&mut self.maps[slot], k, id);
        }
    }

    fn remove(&mut self, id: u64, obj: &Object) {
        for (slot, k) in keys_of(obj) {
            if let btree_map::Entry::Occupied(mut e) = self.maps[slot].entry(k) {
                if e.get_mut().remove(id) {
                    e.remove();
                }
            }
        }
    }

    /// The ids that can match `template`: the smallest index set among its indexed
    /// attributes, or `None` if it has none (then every object is a candidate).
    pub fn candidates(&self, template: &[Attribute]) -> Option<Vec<u64>> {
        template
            .iter()
            .filter_map(|a| index_key(a.ty, &a.value))
            .map(|(slot, k)| self.maps[slot].get(&k))
            .min_by_key(|ids| ids.map_or(0, Ids::len))
            .map(|ids| ids.map_or_else(Vec::new, Ids::to_vec))
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
                Ok(Opened::Full(obj)) => token.load(*id, obj),
                Ok(Opened::Partial(obj)) => {
                    token.load(*id, obj);
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
        token.index.finish_staged();
        Ok(token)
    }

    /// Insert or replace a token object while loading; its index keys are staged for
    /// `Index::finish_staged`, which [`Token::from_snapshot`] calls after its loop.
    fn load(&mut self, id: u64, obj: Object) {
        self.index.stage(id, &obj);
        if self.objects.insert(id, Entry { obj, session: None }).is_some() {
            // Loaded twice: the last one counts.
            self.partial.remove(&id);
            self.index.unstage(id);
            if let Some(e) = self.objects.get(&id) {
                self.index.stage(id, &e.obj);
            }
        }
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

    /// A small deterministic generator; values are drawn from small sets so that sets are shared.
    struct Lcg(u64);

    impl Lcg {
        fn below(&mut self, n: usize) -> usize {
            self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            usize::try_from(self.0 >> 40).unwrap() % n
        }
    }

    /// Values an indexed attribute takes in the test, and one no object holds.
    fn domain(ty: AttrType) -> Vec<AttrValue> {
        if ty == AttrType::CLASS || ty == AttrType::KEY_TYPE {
            (0..5).map(AttrValue::Ulong).collect()
        } else {
            // Lengths 0 to 55: inline and heap keys. The last is held by no object.
            (0u8..13).map(|i| AttrValue::Bytes(alloc::vec![b'a' + i; usize::from(i) * 5])).collect()
        }
    }

    fn random_object(rng: &mut Lcg) -> Object {
        let mut o = Object::default();
        for ty in INDEXED {
            // CLASS always; the others often, with one value fewer than the domain.
            if ty == AttrType::CLASS || rng.below(4) > 0 {
                let values = domain(ty);
                o.set(ty, values[rng.below(values.len() - 1)].clone());
            }
        }
        o.set(AttrType::VALUE, AttrValue::Bytes(alloc::vec![1, 2, 3]));
        o
    }

    /// What the index must answer for `template`, by a scan of `objects`.
    fn scan(objects: &BTreeMap<u64, Object>, template: &[Attribute]) -> Option<Vec<u64>> {
        template
            .iter()
            .filter(|a| INDEXED.contains(&a.ty))
            .map(|a| {
                objects.iter().filter(|(_, o)| o.get(a.ty) == Some(&a.value)).map(|(id, _)| *id).collect()
            })
            .min_by_key(Vec::len)
    }

    fn check(index: &Index, objects: &BTreeMap<u64, Object>) {
        let single: Vec<Attribute> = INDEXED
            .iter()
            .flat_map(|ty| domain(*ty).into_iter().map(|value| Attribute { ty: *ty, value }))
            .collect();
        let value = Attribute { ty: AttrType::VALUE, value: AttrValue::Bytes(alloc::vec![1, 2, 3]) };
        assert_eq!(index.candidates(core::slice::from_ref(&value)), None);
        for a in &single {
            let template = [value.clone(), a.clone()];
            assert_eq!(index.candidates(&template), scan(objects, &template), "{a:?}");
            for b in &single {
                let template = [a.clone(), b.clone()];
                assert_eq!(index.candidates(&template), scan(objects, &template), "{a:?} {b:?}");
            }
        }
    }

    #[test]
    fn index_answers_as_a_scan_does_after_inserts_replacements_and_removals() {
        let mut rng = Lcg(0x1234_5678_9abc_def0);
        let mut index = Index::default();
        let mut objects = BTreeMap::new();
        for step in 0..3000 {
            // As `Token::insert` and `Token::remove` keep it.
            let id = u64::try_from(rng.below(80)).unwrap();
            if let Some(old) = objects.remove(&id) {
                index.remove(id, &old);
            }
            if rng.below(3) > 0 {
                let obj = random_object(&mut rng);
                index.insert(id, &obj);
                objects.insert(id, obj);
            }
            if step % 100 == 0 {
                check(&index, &objects);
                check(&Index::build(objects.iter().map(|(id, o)| (*id, o))), &objects);
            }
        }
        check(&index, &objects);
        // Built in bulk, then changed one by one.
        let mut built = Index::build(objects.iter().map(|(id, o)| (*id, o)));
        for id in 0..40 {
            if let Some(old) = objects.remove(&id) {
                built.remove(id, &old);
            }
            let obj = random_object(&mut rng);
            built.insert(id, &obj);
            objects.insert(id, obj);
        }
        check(&built, &objects);
        // Staged as `Token::load` stages a snapshot in which some ids come twice.
        let mut staged = Index::default();
        let mut loaded = BTreeMap::new();
        for _ in 0..200 {
            let id = u64::try_from(rng.below(120)).unwrap();
            let obj = random_object(&mut rng);
            staged.stage(id, &obj);
            if loaded.insert(id, obj).is_some() {
                staged.unstage(id);
                staged.stage(id, &loaded[&id]);
            }
        }
        // An object inserted the ordinary way while others are staged.
        let extra = random_object(&mut rng);
        staged.insert(500, &extra);
        loaded.insert(500, extra);
        staged.finish_staged();
        check(&staged, &loaded);
    }

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
