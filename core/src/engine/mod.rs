//! The engine: the one object a front-end holds. Its methods mirror the `C_*` functions
//! with Rust types; every PKCS#11 rule is enforced here (DESIGN §1), so the native module
//! and the npm package cannot disagree.

use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;

use crate::consts::flags::{
    CKF_CLOCK_ON_TOKEN, CKF_LOGIN_REQUIRED, CKF_RESTORE_KEY_NOT_NEEDED, CKF_RNG, CKF_RW_SESSION,
    CKF_SERIAL_SESSION, CKF_SO_PIN_COUNT_LOW, CKF_SO_PIN_FINAL_TRY, CKF_SO_PIN_LOCKED, CKF_TOKEN_INITIALIZED,
    CKF_TOKEN_PRESENT, CKF_USER_PIN_COUNT_LOW, CKF_USER_PIN_FINAL_TRY, CKF_USER_PIN_INITIALIZED,
    CKF_USER_PIN_LOCKED,
};
use crate::consts::{MechanismType, UserType};
use crate::info::{MechanismInfo, SessionInfo, SlotInfo, TokenInfo, UNAVAILABLE, Version};
use crate::mechanism;
use crate::rng::{Clock, Rng};
use crate::seal::{MasterKey, Role, WrappedKey};
use crate::session::Session;
use crate::store::{Store, StoreError};
use crate::token::{self, Change, KdfParams, Token, TokenMeta};
use crate::{Error, Result};

mod crypto;
mod derive;
mod keygen;
mod objects;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_ec;
#[cfg(test)]
mod tests_rsa;
#[cfg(test)]
mod tests_sym;

/// `manufacturerID` of the library, slots and tokens.
pub const MANUFACTURER: &str = "anyhsm";
/// `CK_TOKEN_INFO.model` of an ordinary token.
pub const MODEL: &str = "anyhsm soft";
/// `CK_TOKEN_INFO.model` when the RNG is a seeded DRBG (DESIGN §6).
pub const MODEL_DETERMINISTIC: &str = "deterministic";
/// `CK_TOKEN_INFO.model` of a token made with the fast (test-only) PIN KDF.
pub const MODEL_TEST: &str = "test token";

/// How many times a write is rebased on a token another process changed meanwhile.
const MAX_REBASES: usize = 16;

/// Engine settings chosen by the front-end.
#[derive(Clone, Copy, Debug)]
pub struct EngineConfig {
    /// New tokens use the fast Argon2id profile and say they are test tokens.
    pub fast_pin_kdf: bool,
    /// Failed logins before a PIN locks.
    pub max_failures: u32,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self { fast_pin_kdf: false, max_failures: token::DEFAULT_MAX_FAILURES }
    }
}

/// The token engine.
pub struct Engine {
    store: Box<dyn Store>,
    rng: Box<dyn Rng>,
    clock: Box<dyn Clock>,
    config: EngineConfig,
    /// Tokens by slot id.
    tokens: BTreeMap<u64, Token>,
    sessions: BTreeMap<u64, Session>,
    /// Object handle → (slot, object id), and back.
    handles: BTreeMap<u64, (u64, u64)>,
    handle_of: BTreeMap<(u64, u64), u64>,
    next_handle: u64,
    next_session: u64,
    warnings: Vec<String>,
    /// Warnings already handed out: a damaged record is seen at every reload of its token,
    /// but is worth one log line per process.
    reported: alloc::collections::BTreeSet<String>,
}

impl core::fmt::Debug for Engine {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Engine")
            .field("tokens", &self.tokens.len())
            .field("sessions", &self.sessions.len())
            .finish_non_exhaustive()
    }
}

/// Blank-pad `s` into a fixed-width field, cutting at a character boundary.
pub(crate) fn pad<const N: usize>(s: &str) -> [u8; N] {
    let mut out = [b' '; N];
    let mut end = s.len().min(N);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    out[..end].copy_from_slice(&s.as_bytes()[..end]);
    out
}

fn version() -> Version {
    let major = env!("CARGO_PKG_VERSION_MAJOR").parse().unwrap_or(0);
    let minor = env!("CARGO_PKG_VERSION_MINOR").parse().unwrap_or(0);
    Version { major, minor }
}

/// `YYYYMMDDhhmmss00` for a Unix time (civil-from-days, proleptic Gregorian, UTC).
fn utc_time(secs: u64) -> [u8; 16] {
    let days = secs / 86_400;
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + u64::from(m <= 2);
    let s = alloc::format!("{y:04}{m:02}{d:02}{:02}{:02}{:02}00", rem / 3600, rem % 3600 / 60, rem % 60);
    pad::<16>(&s)
}

impl Engine {
    /// An engine over `store`, loading every token it holds.
    ///
    /// # Errors
    /// The store's error if it cannot be read at all.
    pub fn new(
        mut store: Box<dyn Store>,
        rng: Box<dyn Rng>,
        clock: Box<dyn Clock>,
        config: EngineConfig,
    ) -> Result<Self> {
        let snaps = store.load_all()?;
        let mut engine = Self {
            store,
            rng,
            clock,
            config,
            tokens: BTreeMap::new(),
            sessions: BTreeMap::new(),
            handles: BTreeMap::new(),
            handle_of: BTreeMap::new(),
            next_handle: 1,
            next_session: 1,
            warnings: Vec::new(),
            reported: alloc::collections::BTreeSet::new(),
        };
        for snap in snaps {
            engine.adopt(&snap);
        }
        Ok(engine)
    }

    /// Lines the front-end should log (damaged records, slot conflicts). Never secret.
    pub fn take_warnings(&mut self) -> Vec<String> {
        let mut w = core::mem::take(&mut self.warnings);
        w.extend(self.store.take_warnings());
        w.retain(|line| self.reported.insert(line.clone()));
        w
    }

    /// Take a token from a snapshot into the working set.
    fn adopt(&mut self, snap: &crate::store::TokenSnapshot) {
        let store = &self.store;
        match Token::from_snapshot(snap, None, &mut self.warnings, &|n, id| store.record_location(n, id)) {
            Ok(mut t) => {
                if self.tokens.contains_key(&t.meta.slot_id) {
                    // Two tokens claim one slot (e.g. a copied directory): keep both visible.
                    let new_slot = self.empty_slot_id();
                    self.warnings.push(alloc::format!(
                        "token {} claims slot {} which token {} holds; shown in slot {new_slot} for this process",
                        t.meta.serial,
                        t.meta.slot_id,
                        self.tokens.get(&t.meta.slot_id).map_or("?", |o| o.meta.serial.as_str())
                    ));
                    t.meta.slot_id = new_slot;
                }
                self.tokens.insert(t.meta.slot_id, t);
            }
            Err(_) => self.warnings.push(alloc::format!(
                "token {}: metadata record is damaged or of an unknown format; token skipped",
                snap.name
            )),
        }
    }

    /// The id of the one uninitialised slot, always listed last.
    fn empty_slot_id(&self) -> u64 {
        self.tokens.keys().next_back().map_or(0, |k| k + 1)
    }

    /// Notice tokens another process created.
    fn refresh_slots(&mut self) -> Result<()> {
        let names = self.store.list()?;
        let known: Vec<String> = self.tokens.values().map(|t| t.meta.serial.clone()).collect();
        for name in names {
            if !known.contains(&name) {
                match self.store.load(&name) {
                    Ok(snap) => self.adopt(&snap),
                    // Half-created elsewhere, or vanished: look again next time.
                    Err(StoreError::Failed(_) | StoreError::Stale { .. }) => {}
                }
            }
        }
        Ok(())
    }

    /// Bring one token up to the store's generation (one cheap read when nothing changed).
    fn refresh_token(&mut self, slot: u64) -> Result<()> {
        let Some(token) = self.tokens.get(&slot) else {
            return Ok(());
        };
        // Borrowed, not cloned: this runs at every operation's start.
        if self.store.generation(&token.meta.serial)? != token.generation {
            self.reload(slot)?;
        }
        Ok(())
    }

    /// Rebuild a token's objects from the store, keeping session objects, the login state
    /// and the handles of objects that still exist.
    fn reload(&mut self, slot: u64) -> Result<()> {
        let Some(old) = self.tokens.get(&slot) else {
            return Ok(());
        };
        let snap = match self.store.load(&old.meta.serial) {
            Ok(snap) => snap,
            Err(StoreError::Failed(Error::TokenNotPresent)) => {
                // The token vanished from the store (deleted elsewhere, or its creation was
                // never made durable): its slot becomes the empty slot again.
                self.forget_token(slot);
                return Err(Error::TokenNotPresent);
            }
            Err(e) => return Err(e.into()),
        };
        let store = &self.store;
        let mut fresh = Token::from_snapshot(&snap, old.master.clone(), &mut self.warnings, &|n, id| {
            store.record_location(n, id)
        })?;
        fresh.meta.slot_id = slot;
        let Some(old) = self.tokens.remove(&slot) else {
            return Ok(());
        };
        fresh.login = old.login;
        for (id, e) in old.objects {
            if e.session.is_some() {
                fresh.insert(id, e.obj, e.session);
            } else if !fresh.objects.contains_key(&id) {
                if let Some(h) = self.handle_of.remove(&(slot, id)) {
                    self.handles.remove(&h);
                }
            }
        }
        // Placeholders that went (destroyed elsewhere, repaired) or became invisible (a
        // logout) lose their handles too.
        for id in old.damaged.keys() {
            if !fresh.damaged.get(id).is_some_and(|d| d.visible(fresh.login))
                && !fresh.objects.contains_key(id)
            {
                self.drop_handle(slot, *id);
            }
        }
        self.tokens.insert(slot, fresh);
        Ok(())
    }

    /// Drop a token, its sessions and its handles from the working set.
    fn forget_token(&mut self, slot: u64) {
        self.tokens.remove(&slot);
        self.sessions.retain(|_, x| x.slot != slot);
        let gone: Vec<u64> = self.handles.iter().filter(|(_, (s, _))| *s == slot).map(|(h, _)| *h).collect();
        for h in gone {
            if let Some(key) = self.handles.remove(&h) {
                self.handle_of.remove(&key);
            }
        }
    }

    /// Compute a change against the current token, persist it, then commit it; if the
    /// token moved on meanwhile, reload and compute again (DESIGN §2). Returns the handles
    /// of the objects the change put, in order.
    fn transact<F>(&mut self, slot: u64, mut compute: F) -> Result<Vec<u64>>
    where
        F: FnMut(&Token, &mut dyn Rng) -> Result<Change>,
    {
        for _ in 0..MAX_REBASES {
            let token = self.tokens.get(&slot).ok_or(Error::SlotIdInvalid)?;
            let change = compute(token, self.rng.as_mut())?;
            let batch =
                change.batch(Some(token), &token.meta.serial, token.master.as_ref(), self.rng.as_mut())?;
            let generation = if batch.is_empty() {
                None
            } else {
                match self.store.apply(&token.meta.serial, token.generation, &batch) {
                    Ok(g) => Some(g),
                    Err(StoreError::Stale { .. }) => {
                        self.reload(slot)?;
                        continue;
                    }
                    Err(StoreError::Failed(e)) => return Err(e),
                }
            };
            let put_ids: Vec<u64> = change.put.iter().map(|(id, _, _)| *id).collect();
            if let Some(token) = self.tokens.get_mut(&slot) {
                token.commit(change, generation);
            }
            return Ok(put_ids.into_iter().map(|id| self.handle_for(slot, id)).collect());
        }
        self.warnings.push(alloc::format!("slot {slot}: gave up after {MAX_REBASES} concurrent rewrites"));
        Err(Error::DeviceError)
    }

    fn handle_for(&mut self, slot: u64, id: u64) -> u64 {
        if let Some(h) = self.handle_of.get(&(slot, id)) {
            return *h;
        }
        let h = self.next_handle;
        self.next_handle += 1;
        self.handles.insert(h, (slot, id));
        self.handle_of.insert((slot, id), h);
        h
    }

    fn drop_handle(&mut self, slot: u64, id: u64) {
        if let Some(h) = self.handle_of.remove(&(slot, id)) {
            self.handles.remove(&h);
        }
    }

    fn token(&self, slot: u64) -> Result<&Token> {
        self.tokens.get(&slot).ok_or(Error::SlotIdInvalid)
    }

    fn session(&self, s: u64) -> Result<&Session> {
        self.sessions.get(&s).ok_or(Error::SessionHandleInvalid)
    }

    fn session_mut(&mut self, s: u64) -> Result<&mut Session> {
        self.sessions.get_mut(&s).ok_or(Error::SessionHandleInvalid)
    }

    /// The session's slot, after bringing its token up to date.
    fn session_slot(&mut self, s: u64) -> Result<u64> {
        let slot = self.session(s)?.slot;
        self.refresh_token(slot)?;
        Ok(slot)
    }

    fn fill_random(&mut self, n: usize) -> Result<Vec<u8>> {
        let mut v = alloc::vec![0u8; n];
        self.rng.fill(&mut v)?;
        Ok(v)
    }

    fn check_slot(&self, slot: u64) -> Result<()> {
        if self.tokens.contains_key(&slot) || slot == self.empty_slot_id() {
            Ok(())
        } else {
            Err(Error::SlotIdInvalid)
        }
    }

    fn kdf(&self) -> KdfParams {
        if self.config.fast_pin_kdf { KdfParams::FAST } else { KdfParams::DEFAULT }
    }

    // ---- slots and tokens ----

    /// `C_GetSlotList`: token slots by id, then the uninitialised slot. Every slot holds a
    /// token (a software token is always present), so `token_present` changes nothing.
    ///
    /// # Errors
    /// Store errors while looking for tokens created elsewhere.
    pub fn slot_list(&mut self, _token_present: bool) -> Result<Vec<u64>> {
        self.refresh_slots()?;
        let mut slots: Vec<u64> = self.tokens.keys().copied().collect();
        slots.push(self.empty_slot_id());
        Ok(slots)
    }

    /// `C_GetSlotInfo`.
    ///
    /// # Errors
    /// `SlotIdInvalid`.
    pub fn slot_info(&mut self, slot: u64) -> Result<SlotInfo> {
        self.check_slot(slot)?;
        let desc = if self.tokens.contains_key(&slot) {
            "anyhsm software slot"
        } else {
            "anyhsm software slot (new token)"
        };
        Ok(SlotInfo {
            description: pad(desc),
            manufacturer: pad(MANUFACTURER),
            flags: CKF_TOKEN_PRESENT,
            hardware_version: version(),
            firmware_version: version(),
        })
    }

    /// `C_GetTokenInfo`.
    ///
    /// # Errors
    /// `SlotIdInvalid`; store errors.
    pub fn token_info(&mut self, slot: u64) -> Result<TokenInfo> {
        self.check_slot(slot)?;
        self.refresh_token(slot)?;
        let (sessions, rw) = self
            .sessions
            .values()
            .filter(|s| s.slot == slot)
            .fold((0u64, 0u64), |(n, rw), s| (n + 1, rw + u64::from(s.rw)));
        let now = self.clock.now_unix();
        let deterministic = self.rng.is_deterministic();
        let mut info = TokenInfo {
            label: [b' '; 32],
            manufacturer: pad(MANUFACTURER),
            model: pad(if deterministic { MODEL_DETERMINISTIC } else { MODEL }),
            serial: [b' '; 16],
            flags: CKF_RNG | CKF_LOGIN_REQUIRED | CKF_RESTORE_KEY_NOT_NEEDED,
            max_session_count: crate::consts::misc::CK_EFFECTIVELY_INFINITE,
            session_count: sessions,
            max_rw_session_count: crate::consts::misc::CK_EFFECTIVELY_INFINITE,
            rw_session_count: rw,
            max_pin_len: token::MAX_PIN_LEN as u64,
            min_pin_len: token::MIN_PIN_LEN as u64,
            total_public_memory: UNAVAILABLE,
            free_public_memory: UNAVAILABLE,
            total_private_memory: UNAVAILABLE,
            free_private_memory: UNAVAILABLE,
            hardware_version: version(),
            firmware_version: version(),
            utc_time: [b' '; 16],
        };
        if let Some(secs) = now {
            info.utc_time = utc_time(secs);
            info.flags |= CKF_CLOCK_ON_TOKEN;
        }
        if let Some(t) = self.tokens.get(&slot) {
            let m = &t.meta;
            info.label = m.label;
            info.serial = pad(&m.serial);
            if m.test_token && !deterministic {
                info.model = pad(MODEL_TEST);
            }
            info.flags |= CKF_TOKEN_INITIALIZED;
            if m.user_pin.is_some() {
                info.flags |= CKF_USER_PIN_INITIALIZED;
            }
            info.flags |= pin_flags(
                m.user_failures,
                m.max_failures,
                [CKF_USER_PIN_COUNT_LOW, CKF_USER_PIN_FINAL_TRY, CKF_USER_PIN_LOCKED],
            );
            info.flags |= pin_flags(
                m.so_failures,
                m.max_failures,
                [CKF_SO_PIN_COUNT_LOW, CKF_SO_PIN_FINAL_TRY, CKF_SO_PIN_LOCKED],
            );
        }
        Ok(info)
    }

    /// `C_GetMechanismList`.
    ///
    /// # Errors
    /// `SlotIdInvalid`.
    pub fn mechanism_list(&mut self, slot: u64) -> Result<Vec<MechanismType>> {
        self.check_slot(slot)?;
        Ok(mechanism::TABLE.iter().map(|e| e.ty).collect())
    }

    /// `C_GetMechanismInfo`.
    ///
    /// # Errors
    /// `SlotIdInvalid`, `MechanismInvalid`.
    pub fn mechanism_info(&mut self, slot: u64, m: MechanismType) -> Result<MechanismInfo> {
        self.check_slot(slot)?;
        mechanism::lookup(m).map(|e| e.info).ok_or(Error::MechanismInvalid)
    }

    /// `C_InitToken`: create a token in the empty slot, or re-initialise one (which needs its
    /// SO PIN and destroys every object).
    ///
    /// # Errors
    /// `SlotIdInvalid`, `SessionExists`, `PinLenRange`, `PinIncorrect`, `PinLocked`, store errors.
    pub fn init_token(&mut self, slot: u64, so_pin: &[u8], label: &[u8; 32]) -> Result<()> {
        self.check_slot(slot)?;
        self.refresh_token(slot)?;
        if self.sessions.values().any(|s| s.slot == slot) {
            return Err(Error::SessionExists);
        }
        token::check_pin_len(so_pin)?;
        let kdf = self.kdf();
        if self.tokens.contains_key(&slot) {
            self.verify_pin(slot, UserType::SO, so_pin)?;
            let t = self.token(slot)?;
            let ids: Vec<u64> = t.objects.keys().chain(t.damaged.keys()).copied().collect();
            // Re-initialisation destroys every object, so it starts a new master key too.
            let master = MasterKey::generate(self.rng.as_mut())?;
            self.transact(slot, |t, rng| {
                let mut meta = t.meta.clone();
                meta.label = *label;
                meta.so_pin = WrappedKey::new(&master, so_pin, kdf, &meta.serial, Role::So, rng)?;
                meta.user_pin = None;
                meta.so_failures = 0;
                meta.user_failures = 0;
                Ok(Change { meta: Some(meta), wipe: true, ..Change::default() })
            })?;
            for id in ids {
                self.drop_handle(slot, id);
            }
            return Ok(());
        }
        // A new token: its serial is its name in the store; its slot id is fixed now.
        let raw = self.fill_random(8)?;
        let serial: String = raw.iter().map(|b| alloc::format!("{b:02x}")).collect();
        let master = MasterKey::generate(self.rng.as_mut())?;
        let meta = TokenMeta {
            slot_id: slot,
            label: *label,
            serial: serial.clone(),
            so_pin: WrappedKey::new(&master, so_pin, kdf, &serial, Role::So, self.rng.as_mut())?,
            user_pin: None,
            so_failures: 0,
            user_failures: 0,
            max_failures: self.config.max_failures,
            test_token: self.config.fast_pin_kdf,
            deterministic: self.rng.is_deterministic(),
        };
        let change = Change { meta: Some(meta), ..Change::default() };
        let batch = change.batch(None, &serial, None, self.rng.as_mut())?;
        let generation = self.store.apply(&serial, 0, &batch)?;
        let snap = crate::store::TokenSnapshot {
            name: serial,
            generation,
            meta: batch_meta(&batch),
            records: Vec::new(),
            damaged: Vec::new(),
        };
        self.adopt(&snap);
        Ok(())
    }

    /// Check a PIN by opening the master key it wraps, counting failures durably and
    /// refusing locked PINs.
    fn verify_pin(&mut self, slot: u64, user: UserType, pin: &[u8]) -> Result<MasterKey> {
        let t = self.token(slot)?;
        let (record, locked, role) = if user == UserType::SO {
            (Some(t.meta.so_pin.clone()), t.so_locked(), Role::So)
        } else {
            (t.meta.user_pin.clone(), t.user_locked(), Role::User)
        };
        let record = record.ok_or(Error::UserPinNotInitialized)?;
        if locked {
            return Err(Error::PinLocked);
        }
        let serial = t.meta.serial.clone();
        let opened = record.open(pin, &serial, role)?;
        let failures = if user == UserType::SO { t.meta.so_failures } else { t.meta.user_failures };
        let ok = opened.is_some();
        if !(ok && failures == 0) {
            // Count (or reset) durably before answering, so a crash cannot forget a failure.
            self.transact(slot, |t, _| {
                let mut meta = t.meta.clone();
                let counter =
                    if user == UserType::SO { &mut meta.so_failures } else { &mut meta.user_failures };
                *counter = if ok { 0 } else { counter.saturating_add(1) };
                Ok(Change { meta: Some(meta), ..Change::default() })
            })?;
        }
        opened.ok_or(Error::PinIncorrect)
    }

    /// `C_InitPIN`: the SO sets (or resets, unlocking) the user PIN.
    ///
    /// # Errors
    /// `SessionHandleInvalid`, `UserNotLoggedIn` (not an R/W SO session), `PinLenRange`.
    pub fn init_pin(&mut self, s: u64, pin: &[u8]) -> Result<()> {
        let slot = self.session_slot(s)?;
        let session = self.session(s)?;
        if self.token(slot)?.login != Some(UserType::SO) || !session.rw {
            return Err(Error::UserNotLoggedIn);
        }
        token::check_pin_len(pin)?;
        let kdf = self.kdf();
        let master = self.token(slot)?.master.clone().ok_or(Error::UserNotLoggedIn)?;
        self.transact(slot, |t, rng| {
            let mut meta = t.meta.clone();
            meta.user_pin = Some(WrappedKey::new(&master, pin, kdf, &meta.serial, Role::User, rng)?);
            meta.user_failures = 0;
            Ok(Change { meta: Some(meta), ..Change::default() })
        })?;
        Ok(())
    }

    /// `C_SetPIN`: the SO's PIN in an SO session, else the user's.
    ///
    /// # Errors
    /// `SessionReadOnly`, `PinLenRange`, `PinIncorrect`, `PinLocked`, `UserPinNotInitialized`.
    pub fn set_pin(&mut self, s: u64, old: &[u8], new: &[u8]) -> Result<()> {
        let slot = self.session_slot(s)?;
        if !self.session(s)?.rw {
            return Err(Error::SessionReadOnly);
        }
        let user = if self.token(slot)?.login == Some(UserType::SO) { UserType::SO } else { UserType::USER };
        let master = self.verify_pin(slot, user, old)?;
        token::check_pin_len(new)?;
        let kdf = self.kdf();
        // Only the wrap changes: no object is re-encrypted.
        let role = if user == UserType::SO { Role::So } else { Role::User };
        self.transact(slot, |t, rng| {
            let mut meta = t.meta.clone();
            let rec = WrappedKey::new(&master, new, kdf, &meta.serial, role, rng)?;
            if user == UserType::SO {
                meta.so_pin = rec;
            } else {
                meta.user_pin = Some(rec);
            }
            Ok(Change { meta: Some(meta), ..Change::default() })
        })?;
        Ok(())
    }

    // ---- sessions and login ----

    /// `C_OpenSession`.
    ///
    /// # Errors
    /// `SlotIdInvalid`, `SessionParallelNotSupported`, `TokenNotRecognized` (uninitialised
    /// token), `SessionReadWriteSoExists`.
    pub fn open_session(&mut self, slot: u64, flags: u64) -> Result<u64> {
        self.check_slot(slot)?;
        if flags & CKF_SERIAL_SESSION == 0 {
            return Err(Error::SessionParallelNotSupported);
        }
        let t = self.tokens.get(&slot).ok_or(Error::TokenNotRecognized)?;
        let rw = flags & CKF_RW_SESSION != 0;
        if !rw && t.login == Some(UserType::SO) {
            return Err(Error::SessionReadWriteSoExists);
        }
        let h = self.next_session;
        self.next_session += 1;
        self.sessions.insert(h, Session::new(slot, rw));
        Ok(h)
    }

    /// `C_CloseSession`: its session objects go; the last session logs the token out.
    ///
    /// # Errors
    /// `SessionHandleInvalid`.
    pub fn close_session(&mut self, s: u64) -> Result<()> {
        let session = self.sessions.remove(&s).ok_or(Error::SessionHandleInvalid)?;
        let slot = session.slot;
        if let Some(t) = self.tokens.get_mut(&slot) {
            let owned: Vec<u64> =
                t.objects.iter().filter(|(_, e)| e.session == Some(s)).map(|(id, _)| *id).collect();
            for id in &owned {
                t.remove(*id);
            }
            let last = !self.sessions.values().any(|x| x.slot == slot);
            let was_logged_in = last && t.login.is_some();
            if last {
                t.login = None;
                t.master = None;
            }
            for id in owned {
                self.drop_handle(slot, id);
            }
            if was_logged_in {
                self.forget_private(slot)?;
            }
        }
        Ok(())
    }

    /// `C_CloseAllSessions`.
    ///
    /// # Errors
    /// `SlotIdInvalid`.
    pub fn close_all_sessions(&mut self, slot: u64) -> Result<()> {
        self.check_slot(slot)?;
        let ids: Vec<u64> = self.sessions.iter().filter(|(_, x)| x.slot == slot).map(|(h, _)| *h).collect();
        for h in ids {
            self.close_session(h)?;
        }
        Ok(())
    }

    /// `C_GetSessionInfo`.
    ///
    /// # Errors
    /// `SessionHandleInvalid`.
    pub fn session_info(&mut self, s: u64) -> Result<SessionInfo> {
        let session = self.session(s)?;
        let login = self.token(session.slot)?.login;
        Ok(SessionInfo {
            slot_id: session.slot,
            state: session.state(login),
            flags: CKF_SERIAL_SESSION | if session.rw { CKF_RW_SESSION } else { 0 },
            device_error: 0,
        })
    }

    /// `C_Login`.
    ///
    /// # Errors
    /// `UserTypeInvalid`, `UserAlreadyLoggedIn`, `UserAnotherAlreadyLoggedIn`,
    /// `SessionReadOnlyExists`, `UserPinNotInitialized`, `PinIncorrect`, `PinLocked`,
    /// `OperationNotInitialized` (context login without an operation needing it).
    pub fn login(&mut self, s: u64, user: UserType, pin: &[u8]) -> Result<()> {
        let slot = self.session_slot(s)?;
        let login = self.token(slot)?.login;
        match user {
            UserType::SO | UserType::USER => {}
            UserType::CONTEXT_SPECIFIC => {
                if !self.session(s)?.awaiting_context_login() {
                    return Err(Error::OperationNotInitialized);
                }
                if login != Some(UserType::USER) {
                    return Err(Error::UserNotLoggedIn);
                }
                self.verify_pin(slot, UserType::USER, pin)?;
                self.session_mut(s)?.context_login_done();
                return Ok(());
            }
            _ => return Err(Error::UserTypeInvalid),
        }
        match login {
            Some(u) if u == user => return Err(Error::UserAlreadyLoggedIn),
            Some(_) => return Err(Error::UserAnotherAlreadyLoggedIn),
            None => {}
        }
        if user == UserType::SO && self.sessions.values().any(|x| x.slot == slot && !x.rw) {
            return Err(Error::SessionReadOnlyExists);
        }
        let master = self.verify_pin(slot, user, pin)?;
        if let Some(t) = self.tokens.get_mut(&slot) {
            t.login = Some(user);
            t.master = Some(master);
        }
        // Unseal the private objects and the protected key material.
        self.reload(slot)
    }

    /// `C_Logout`: private session objects are destroyed and handles to private objects
    /// become invalid, as the spec says.
    ///
    /// # Errors
    /// `SessionHandleInvalid`, `UserNotLoggedIn`.
    pub fn logout(&mut self, s: u64) -> Result<()> {
        let slot = self.session(s)?.slot;
        let t = self.tokens.get_mut(&slot).ok_or(Error::SlotIdInvalid)?;
        if t.login.is_none() {
            return Err(Error::UserNotLoggedIn);
        }
        t.login = None;
        t.master = None;
        let private: Vec<(u64, bool)> = t
            .objects
            .iter()
            .filter(|(_, e)| e.obj.is_private())
            .map(|(id, e)| (*id, e.session.is_some()))
            .collect();
        for (id, session_obj) in &private {
            if *session_obj {
                t.remove(*id);
            }
        }
        for (id, _) in private {
            self.drop_handle(slot, id);
        }
        for x in self.sessions.values_mut().filter(|x| x.slot == slot) {
            x.find = None;
            x.sign = None;
            x.decrypt = None;
            x.encrypt = None;
            x.verify = None;
            x.sign_recover = None;
            x.verify_recover = None;
        }
        self.forget_private(slot)
    }

    /// Drop the unsealed private data of a token from memory (after the last logout): the
    /// token is rebuilt from its sealed records without the master key.
    fn forget_private(&mut self, slot: u64) -> Result<()> {
        let private: Vec<u64> = self
            .tokens
            .get(&slot)
            .map(|t| {
                t.objects
                    .iter()
                    .filter(|(_, e)| e.session.is_none() && e.obj.is_private())
                    .map(|(id, _)| *id)
                    .collect()
            })
            .unwrap_or_default();
        for id in private {
            self.drop_handle(slot, id);
        }
        self.reload(slot)
    }

    // ---- snapshots ----

    /// A portable snapshot of the token in `slot` (`exportToken`): its records exactly as
    /// stored, so sealed data stays sealed.
    ///
    /// # Errors
    /// `SlotIdInvalid`, `TokenNotRecognized` (the empty slot), store errors.
    pub fn export_token(&mut self, slot: u64) -> Result<Vec<u8>> {
        self.check_slot(slot)?;
        self.refresh_token(slot)?;
        let name = self.tokens.get(&slot).ok_or(Error::TokenNotRecognized)?.meta.serial.clone();
        let snap = self.store.load(&name)?;
        crate::store::snapshot::encode(&snap)
    }

    /// Take a snapshot made by [`Engine::export_token`] (here or elsewhere) into the store as
    /// a new token in the empty slot; returns its slot id.
    ///
    /// # Errors
    /// `DataInvalid` (not a snapshot), `DeviceError` (damaged metadata), `TokenNotRecognized`
    /// (a token with that serial already exists here), store errors.
    pub fn import_token(&mut self, bytes: &[u8]) -> Result<u64> {
        self.refresh_slots()?;
        let snap = crate::store::snapshot::decode(bytes)?;
        if self.tokens.values().any(|t| t.meta.serial == snap.name) || self.store.generation(&snap.name)? != 0
        {
            return Err(Error::TokenNotRecognized);
        }
        let mut meta: TokenMeta =
            crate::store::record::decode(crate::store::record::RecordKind::Meta, &snap.meta)?;
        if meta.serial != snap.name {
            return Err(Error::DataInvalid);
        }
        let slot = self.empty_slot_id();
        meta.slot_id = slot;
        let mut ops = alloc::vec![crate::store::Op::PutMeta(meta.encode()?)];
        ops.extend(
            snap.records.iter().map(|(id, blob)| crate::store::Op::Put { id: *id, blob: blob.clone() }),
        );
        let batch = crate::store::Batch { ops, wipe: false };
        self.store.apply(&snap.name, 0, &batch)?;
        let stored = self.store.load(&snap.name)?;
        self.adopt(&stored);
        Ok(slot)
    }

    // ---- random ----

    /// `C_GenerateRandom`.
    ///
    /// # Errors
    /// `SessionHandleInvalid`; RNG failure.
    pub fn generate_random(&mut self, s: u64, len: usize) -> Result<Vec<u8>> {
        self.session(s)?;
        self.fill_random(len)
    }

    /// `C_SeedRandom`.
    ///
    /// # Errors
    /// `SessionHandleInvalid`, `RandomSeedNotSupported`.
    pub fn seed_random(&mut self, s: u64, seed: &[u8]) -> Result<()> {
        self.session(s)?;
        self.rng.seed(seed)
    }
}

fn pin_flags(failures: u32, max: u32, [low, final_try, locked]: [u64; 3]) -> u64 {
    if failures >= max {
        locked
    } else if failures + 1 == max {
        final_try | low
    } else if failures > 0 {
        low
    } else {
        0
    }
}

fn batch_meta(batch: &crate::store::Batch) -> Vec<u8> {
    batch
        .ops
        .iter()
        .find_map(|op| match op {
            crate::store::Op::PutMeta(m) => Some(m.clone()),
            _ => None,
        })
        .unwrap_or_default()
}
