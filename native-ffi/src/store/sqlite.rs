//! The SQLite store: one database file per token, in WAL mode.
//!
//! # Layout
//!
//! ```text
//! <root>/                          0700, created by `SqliteStore::open`
//!   <token-name>.sqlite            0600, one per token; the name is [A-Za-z0-9_-]{1,64}
//!   <token-name>.sqlite-wal, -shm  SQLite's write-ahead log and its index (same mode)
//! ```
//!
//! Schema version 1 (`PRAGMA user_version = 1`, `PRAGMA application_id = 0x41485331`):
//!
//! ```sql
//! CREATE TABLE token   (id INTEGER PRIMARY KEY CHECK (id = 0),
//!                       generation INTEGER NOT NULL, meta BLOB NOT NULL, digest BLOB NOT NULL);
//! CREATE TABLE objects (id INTEGER PRIMARY KEY, blob BLOB NOT NULL, digest BLOB NOT NULL);
//! ```
//!
//! `objects.id` is the record id's 64 bits read as a signed integer; `digest` is the store's
//! integrity check (see [the store module](super)). A database without the `token` row is
//! not (yet) a token: a creator that died before its first commit leaves such a file, which
//! `list` ignores and the next creation of that name fills in.
//!
//! # Why one database per token
//!
//! The issue allows one per root; one per token wins because SQLite has one writer per
//! *database*: with one file per token, writers on different tokens never wait for each
//! other, damage to one file hides one token only (the rest of the root keeps working), and a
//! token is moved, backed up or deleted as one file (with its `-wal`, or after a checkpoint
//! without), exactly like a token directory of the file store. A new token made by another
//! process shows up as a new file, found by the same directory listing.
//!
//! # Transactions
//!
//! Each `apply` is one `BEGIN IMMEDIATE` transaction on the token's own connection: the
//! write lock is taken *before* the generation is read, so the check and the write are one
//! atomic step, and a second writer waits (`busy_timeout`) instead of failing half way.
//! There is no transaction within a transaction: the store is only used through `&mut self`,
//! each call opens its transaction and ends it (commit, or rollback when the `Transaction`
//! is dropped on an error) before it returns. Reads (`load`) run in one deferred (read)
//! transaction, so they see one consistent snapshot while writers carry on; `generation` is a
//! single `SELECT`, its own read transaction.
//!
//! # Durability and crash safety
//!
//! `journal_mode = WAL` with `synchronous = FULL`: a commit returns after the WAL frames of
//! the transaction, ending in a commit frame, are fsynced. A crash (`kill -9`, power loss)
//! before that leaves frames without a commit frame, which SQLite's recovery ignores: the
//! batch is absent. After it, the batch is in the WAL and every later reader sees it: the
//! batch is present. SQLite's own journal is the store's journal.

use alloc::collections::BTreeMap;
use core::time::Duration;
use std::{
    fs, io,
    path::{Path, PathBuf},
};

use anyhsm_core::{
    Error,
    store::{Batch, Op, RecordId, Store, StoreError, TokenName, TokenSnapshot},
};
use rusqlite::{Connection, ErrorCode, OpenFlags, OptionalExtension, params};

use super::{
    CHECK_LEN, MAX_WARNINGS, Modes, OpenError, is_token_name, meta_check, newer_format, record_check,
};

const SUFFIX: &str = ".sqlite";
/// The schema this build writes and reads.
const SCHEMA_VERSION: i64 = 1;
/// `"AHS1"`: lets `file(1)` and people tell our databases from others.
const APPLICATION_ID: i64 = 0x4148_5331;
/// How long a writer waits for another process's transaction before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

const SCHEMA: &str = "
    CREATE TABLE token (
        id INTEGER PRIMARY KEY CHECK (id = 0),
        generation INTEGER NOT NULL,
        meta BLOB NOT NULL,
        digest BLOB NOT NULL
    );
    CREATE TABLE objects (
        id INTEGER PRIMARY KEY,
        blob BLOB NOT NULL,
        digest BLOB NOT NULL
    );
";

/// A [`Store`] keeping each token in its own SQLite database under a root (see the module
/// docs).
#[derive(Debug)]
pub struct SqliteStore {
    root: PathBuf,
    modes: Modes,
    /// Open connections, by token name (opened on first use, kept for the store's life).
    conns: BTreeMap<TokenName, Connection>,
    /// The token whose connection is inside a write transaction kept open after answering
    /// `Stale`, for the engine's rebase (see the store module's "Rebasing under the lock").
    held: Option<TokenName>,
    warnings: Vec<String>,
}

/// Internal failure: a store answer, or an SQLite or I/O error with the file it happened on
/// (which becomes a warning and a `CKR_DEVICE_*` at the trait boundary).
#[derive(Debug)]
enum Fail {
    Store(StoreError),
    Sql {
        path: PathBuf,
        what: &'static str,
        source: rusqlite::Error,
    },
    Io {
        path: PathBuf,
        what: &'static str,
        source: io::Error,
    },
    /// The database is readable but its contents are not what this store wrote.
    Damaged {
        path: PathBuf,
        what: String,
    },
}

type Result<T, E = Fail> = core::result::Result<T, E>;

const NOT_PRESENT: Fail = Fail::Store(StoreError::Failed(Error::TokenNotPresent));

trait At<T> {
    fn at(self, path: &Path, what: &'static str) -> Result<T>;
}

impl<T> At<T> for rusqlite::Result<T> {
    fn at(self, path: &Path, what: &'static str) -> Result<T> {
        self.map_err(|source| Fail::Sql { path: path.into(), what, source })
    }
}

impl<T> At<T> for io::Result<T> {
    fn at(self, path: &Path, what: &'static str) -> Result<T> {
        self.map_err(|source| Fail::Io { path: path.into(), what, source })
    }
}

/// The `CKR_*` of an SQLite error: a full disk is `CKR_DEVICE_MEMORY`, the rest
/// `CKR_DEVICE_ERROR`.
fn sql_error_code(e: &rusqlite::Error) -> Error {
    match e.sqlite_error_code() {
        Some(ErrorCode::DiskFull) => Error::DeviceMemory,
        _ => Error::DeviceError,
    }
}

fn io_error_code(e: &io::Error) -> Error {
    match e.kind() {
        io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded => Error::DeviceMemory,
        _ => Error::DeviceError,
    }
}

/// Record ids are `u64`; SQLite integers are `i64`: the same 64 bits.
fn to_sql_id(id: RecordId) -> i64 {
    i64::from_ne_bytes(id.to_ne_bytes())
}

fn from_sql_id(id: i64) -> RecordId {
    RecordId::from_ne_bytes(id.to_ne_bytes())
}

fn to_sql_generation(g: u64) -> Result<i64> {
    i64::try_from(g).map_err(|_| Fail::Store(StoreError::Failed(Error::DeviceError)))
}

fn from_sql_generation(path: &Path, g: i64) -> Result<u64> {
    u64::try_from(g)
        .map_err(|_| Fail::Damaged { path: path.into(), what: format!("negative generation {g}") })
}

fn push_warning(warnings: &mut Vec<String>, message: String) {
    if warnings.len() < MAX_WARNINGS {
        warnings.push(message);
    }
}

/// The schema version of an open database (0: empty, not a token yet).
fn schema_version(conn: &Connection, path: &Path) -> Result<i64> {
    let v: i64 =
        conn.query_row("PRAGMA user_version", [], |r| r.get(0)).at(path, "read the schema version of")?;
    match v {
        0 | SCHEMA_VERSION => Ok(v),
        v => Err(Fail::Damaged {
            path: path.into(),
            what: format!("schema version {v} is not one this build knows ({SCHEMA_VERSION})"),
        }),
    }
}

/// The token row: generation and metadata, its check verified. `None` if there is none.
fn read_token_row(conn: &Connection, path: &Path, name: &str) -> Result<Option<(u64, Vec<u8>)>> {
    let row: Option<(i64, Vec<u8>, Vec<u8>)> = conn
        .prepare_cached("SELECT generation, meta, digest FROM token WHERE id = 0")
        .and_then(|mut st| st.query_row([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).optional())
        .at(path, "read the token row of")?;
    let Some((generation, meta, digest)) = row else {
        return Ok(None);
    };
    let generation = from_sql_generation(path, generation)?;
    if digest.len() != CHECK_LEN || meta_check(name, generation, &meta)[..] != digest[..] {
        return Err(Fail::Damaged {
            path: path.into(),
            what: "the token row's integrity check failed (damaged, or copied from another token)".into(),
        });
    }
    Ok(Some((generation, meta)))
}

impl SqliteStore {
    /// Open (creating it, mode 0700, if missing) the store rooted at `root` with the
    /// default modes.
    ///
    /// # Errors
    /// [`OpenError`] (→ `CKR_DEVICE_ERROR`) if `root` cannot be created, is not a directory,
    /// or is not writable. Its `Display` names the path and the cause.
    pub fn open(root: impl Into<PathBuf>) -> core::result::Result<SqliteStore, OpenError> {
        Self::open_with(root, Modes::default())
    }

    /// [`SqliteStore::open`], creating files and directories with `modes`.
    ///
    /// # Errors
    /// As [`SqliteStore::open`].
    pub fn open_with(root: impl Into<PathBuf>, modes: Modes) -> core::result::Result<SqliteStore, OpenError> {
        let root: PathBuf = root.into();
        super::prepare_root(&root, modes)?;
        Ok(SqliteStore { root, modes, conns: BTreeMap::new(), held: None, warnings: Vec::new() })
    }

    /// The root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The database file of token `name`.
    pub fn path_of(&self, name: &str) -> PathBuf {
        self.root.join(format!("{name}{SUFFIX}"))
    }

    /// Whether the rebase transaction of `name` is open; any other one is rolled back (the
    /// rebase it was kept for is over; nothing was written in it).
    fn holds(&mut self, name: &str) -> bool {
        if self.held.as_deref() == Some(name) {
            return true;
        }
        self.release();
        false
    }

    /// Roll back a transaction kept open for a rebase.
    fn release(&mut self) {
        if let Some(name) = self.held.take() {
            if let Some(conn) = self.conns.get(&name) {
                if !conn.is_autocommit() && conn.execute_batch("ROLLBACK").is_err() {
                    // A connection that cannot end its transaction would block every writer.
                    self.conns.remove(&name);
                }
            }
        }
    }

    fn report(&mut self, action: &str, name: &str, f: Fail) -> StoreError {
        let (message, code) = match f {
            Fail::Store(e) => return e,
            Fail::Sql { path, what, source } => {
                let code = sql_error_code(&source);
                (format!("sqlite store: {action} {name}: cannot {what} {}: {source}", path.display()), code)
            }
            Fail::Io { path, what, source } => {
                let code = io_error_code(&source);
                (format!("sqlite store: {action} {name}: cannot {what} {}: {source}", path.display()), code)
            }
            Fail::Damaged { path, what } => (
                format!("sqlite store: {action} {name}: damaged database {}: {what}", path.display()),
                Error::DeviceError,
            ),
        };
        push_warning(&mut self.warnings, message);
        // A connection that failed may be stuck on a file that was replaced: open anew.
        if self.held.as_deref() == Some(name) {
            self.held = None;
        }
        self.conns.remove(name);
        StoreError::Failed(code)
    }

    fn finish<T>(&mut self, action: &str, name: &str, r: Result<T>) -> Result<T, StoreError> {
        r.map_err(|f| self.report(action, name, f))
    }

    fn checked_path(&self, name: &str) -> Result<PathBuf> {
        if is_token_name(name) {
            Ok(self.path_of(name))
        } else {
            Err(Fail::Store(StoreError::Failed(Error::ArgumentsBad)))
        }
    }

    /// The token's connection, opened if needed; `None` if its database does not exist (and
    /// `create` is false).
    fn conn(&mut self, name: &str, create: bool) -> Result<Option<&mut Connection>> {
        let path = self.checked_path(name)?;
        if !self.conns.contains_key(name) {
            if !path.try_exists().at(&path, "look up")? {
                if !create {
                    return Ok(None);
                }
                // Created by us with our mode: SQLite gives its -wal and -shm files the
                // mode of the database file.
                super::open_for_write(&path, self.modes, false).at(&path, "create")?;
                fs::File::open(&self.root).and_then(|d| d.sync_all()).at(&self.root, "sync directory")?;
            }
            let conn = open_connection(&path)?;
            self.conns.insert(name.to_owned(), conn);
        }
        Ok(self.conns.get_mut(name))
    }

    fn load_token(&mut self, name: &str) -> Result<TokenSnapshot> {
        let path = self.checked_path(name)?;
        let in_rebase = self.holds(name);
        let Some(conn) = self.conn(name, false)? else {
            return Err(NOT_PRESENT);
        };
        let mut skipped = Vec::new();
        let snap = if in_rebase {
            // Inside the kept write transaction: it already is one consistent view.
            read_snapshot(conn, &path, name, &mut skipped)?
        } else {
            // One read transaction: metadata and records of the same generation.
            let tx = conn.transaction().at(&path, "begin a read transaction on")?;
            let snap = read_snapshot(&tx, &path, name, &mut skipped)?;
            tx.commit().at(&path, "end a read transaction on")?;
            snap
        };
        for w in skipped {
            push_warning(&mut self.warnings, w);
        }
        Ok(snap)
    }
    fn token_generation(&mut self, name: &str) -> Result<u64> {
        let path = self.checked_path(name)?;
        self.holds(name);
        let Some(conn) = self.conn(name, false)? else {
            return Ok(0);
        };
        let generation: Option<i64> = match conn
            .prepare_cached("SELECT generation FROM token WHERE id = 0")
            .and_then(|mut st| st.query_row([], |r| r.get(0)).optional())
        {
            Ok(g) => g,
            // No table: a creator has not committed yet (or died before it did).
            Err(_) if schema_version(conn, &path)? == 0 => None,
            Err(e) => return Err(e).at(&path, "read the generation of"),
        };
        generation.map_or(Ok(0), |g| from_sql_generation(&path, g))
    }

    /// Whether the database at `name` holds a token (a committed token row).
    fn holds_token(&mut self, name: &str) -> Result<bool> {
        let path = self.checked_path(name)?;
        let Some(conn) = self.conn(name, false)? else {
            return Ok(false);
        };
        if schema_version(conn, &path)? == 0 {
            return Ok(false);
        }
        conn.prepare_cached("SELECT 1 FROM token WHERE id = 0")
            .and_then(|mut st| st.exists([]))
            .at(&path, "read the token row of")
    }

    fn list_tokens(&mut self) -> Result<Vec<TokenName>> {
        self.release();
        let mut candidates = Vec::new();
        for entry in fs::read_dir(&self.root).at(&self.root, "list")? {
            let entry = entry.at(&self.root, "list")?;
            let file = entry.file_name();
            let Some(name) = file.to_str().and_then(|f| f.strip_suffix(SUFFIX)) else {
                continue;
            };
            if is_token_name(name) && entry.file_type().at(&entry.path(), "look up")?.is_file() {
                candidates.push(name.to_owned());
            }
        }
        // Forget connections to databases that are gone.
        self.conns.retain(|name, _| candidates.contains(name));
        candidates.sort();
        let mut names = Vec::with_capacity(candidates.len());
        for name in candidates {
            match self.holds_token(&name) {
                Ok(true) => names.push(name),
                Ok(false) => {}
                // Damaged: listed, so that loading it reports the damage (once per load).
                Err(_) => {
                    self.conns.remove(&name);
                    names.push(name);
                }
            }
        }
        Ok(names)
    }

    fn apply_batch(&mut self, name: &str, expected: u64, batch: &Batch) -> Result<u64> {
        let path = self.checked_path(name)?;
        let in_rebase = self.holds(name);
        self.held = None;
        let new_meta: Option<&[u8]> = batch.ops.iter().rev().find_map(|op| match op {
            Op::PutMeta(m) => Some(m.as_slice()),
            _ => None,
        });
        let refuse = |f: Fail, conn: Option<&Connection>| {
            if let Some(c) = conn.filter(|c| !c.is_autocommit()) {
                let _ = c.execute_batch("ROLLBACK");
            }
            Err(f)
        };
        if new_meta.is_some_and(<[u8]>::is_empty) {
            return refuse(NOT_PRESENT, self.conns.get(name).filter(|_| in_rebase));
        }
        if !self.conns.contains_key(name) && !path.try_exists().at(&path, "look up")? {
            if expected != 0 {
                return Err(Fail::Store(StoreError::Stale { current: 0 }));
            }
            if new_meta.is_none() {
                return Err(NOT_PRESENT);
            }
        }
        let conn = self.conn(name, true)?.ok_or(NOT_PRESENT)?;

        // The write lock first, then the generation check: one atomic step. In a rebase the
        // transaction kept open since the `Stale` answer is still ours.
        if !in_rebase || conn.is_autocommit() {
            conn.execute_batch("BEGIN IMMEDIATE").at(&path, "begin a write transaction on")?;
        }
        match write_batch(conn, &path, name, expected, batch, new_meta) {
            Ok(generation) => match conn.execute_batch("COMMIT") {
                Ok(()) => Ok(generation),
                Err(e) => refuse(Fail::Sql { path, what: "commit to", source: e }, Some(conn)),
            },
            Err(stale @ Fail::Store(StoreError::Stale { .. })) => {
                // Keep the transaction (and so the write lock): the engine reloads and
                // retries at once, inside it, and then cannot lose again.
                self.held = Some(name.to_owned());
                Err(stale)
            }
            Err(f) => refuse(f, Some(conn)),
        }
    }
}

/// The body of `apply`, inside the write transaction on `conn`: check the generation, then
/// write. Commits nothing.
fn write_batch(
    conn: &Connection,
    path: &Path,
    name: &str,
    expected: u64,
    batch: &Batch,
    new_meta: Option<&[u8]>,
) -> Result<u64> {
    let version = schema_version(conn, path)?;
    let old = if version == 0 { None } else { read_token_row(conn, path, name)? };
    let current = old.as_ref().map_or(0, |(g, _)| *g);
    if current != expected {
        return Err(Fail::Store(StoreError::Stale { current }));
    }
    let meta: Vec<u8> = match (new_meta, old) {
        (Some(m), _) => m.to_vec(),
        (None, Some((_, m))) => m,
        (None, None) => return Err(NOT_PRESENT),
    };
    let generation = current.checked_add(1).ok_or(Fail::Store(StoreError::Failed(Error::DeviceError)))?;

    if version == 0 {
        conn.execute_batch(SCHEMA).at(path, "create the tables of")?;
        let pragmas =
            format!("PRAGMA user_version = {SCHEMA_VERSION}; PRAGMA application_id = {APPLICATION_ID};");
        conn.execute_batch(&pragmas).at(path, "create the tables of")?;
    }
    if batch.wipe {
        conn.execute("DELETE FROM objects", []).at(path, "wipe")?;
    }
    let mut put = conn
        .prepare_cached("INSERT OR REPLACE INTO objects (id, blob, digest) VALUES (?1, ?2, ?3)")
        .at(path, "write")?;
    let mut delete = conn.prepare_cached("DELETE FROM objects WHERE id = ?1").at(path, "write")?;
    for op in &batch.ops {
        match op {
            Op::PutMeta(_) => {}
            Op::Put { id, blob } => {
                let digest = record_check(name, *id, blob);
                put.execute(params![to_sql_id(*id), blob, &digest[..]]).at(path, "write a record to")?;
            }
            Op::Delete { id } => {
                delete.execute(params![to_sql_id(*id)]).at(path, "delete a record from")?;
            }
        }
    }
    let digest = meta_check(name, generation, &meta);
    conn.execute(
        "INSERT OR REPLACE INTO token (id, generation, meta, digest) VALUES (0, ?1, ?2, ?3)",
        params![to_sql_generation(generation)?, meta, &digest[..]],
    )
    .at(path, "write the token row of")?;
    Ok(generation)
}

/// What the log says of a record the engine keeps only as a placeholder.
const UNUSABLE: &str = "its object answers CKR_DEVICE_ERROR until it is destroyed";

/// The token's snapshot, read on `conn` (inside a transaction, so that the metadata and
/// the records are of one generation). Damaged records are left out of `records` and
/// listed in `damaged`, with a line in `skipped` naming the file and the record.
fn read_snapshot(
    conn: &Connection,
    path: &Path,
    name: &str,
    skipped: &mut Vec<String>,
) -> Result<TokenSnapshot> {
    if schema_version(conn, path)? == 0 {
        return Err(NOT_PRESENT);
    }
    let (generation, meta) = read_token_row(conn, path, name)?.ok_or(NOT_PRESENT)?;
    let mut records = Vec::new();
    let mut damaged = Vec::new();
    let mut st =
        conn.prepare_cached("SELECT id, blob, digest FROM objects").at(path, "read the records of")?;
    let rows = st
        .query_map([], |r| Ok((from_sql_id(r.get(0)?), r.get::<_, Vec<u8>>(1)?, r.get::<_, Vec<u8>>(2)?)))
        .at(path, "read the records of")?;
    for row in rows {
        let (id, blob, digest) = row.at(path, "read the records of")?;
        if digest.len() != CHECK_LEN || record_check(name, id, &blob)[..] != digest[..] {
            skipped.push(format!(
                "sqlite store: damaged record {id:016x} in {}: integrity check failed (damaged, or \
                 copied from another token or record); {UNUSABLE}",
                path.display()
            ));
            damaged.push(id);
        } else if let Some(v) = newer_format(&blob) {
            skipped.push(format!(
                "sqlite store: record {id:016x} in {}: record format version {v} is newer than this \
                 build knows ({}); {UNUSABLE}",
                path.display(),
                anyhsm_core::store::record::FORMAT_VERSION
            ));
            damaged.push(id);
        } else {
            records.push((id, blob));
        }
    }
    records.sort_by_key(|(id, _)| *id);
    Ok(TokenSnapshot { name: name.into(), generation, meta, records, damaged })
}

/// A connection to an existing database file, in WAL mode with full fsync.
fn open_connection(path: &Path) -> Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).at(path, "open")?;
    conn.busy_timeout(BUSY_TIMEOUT).at(path, "configure")?;
    let mode: String =
        conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0)).at(path, "switch to WAL mode")?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(Fail::Damaged {
            path: path.into(),
            what: format!("cannot use WAL mode (journal mode {mode})"),
        });
    }
    // Every commit is fsynced before it returns: an acknowledged write survives power loss.
    conn.pragma_update(None, "synchronous", "FULL").at(path, "configure")?;
    Ok(conn)
}

impl Store for SqliteStore {
    /// The native module calls this after every `C_*` call, which also ends a rebase: a
    /// transaction kept open after a `Stale` answer is rolled back here.
    fn record_location(&self, name: &str, id: RecordId) -> String {
        format!("sqlite store: record {id:016x} in {}", self.path_of(name).display())
    }

    fn take_warnings(&mut self) -> Vec<String> {
        self.release();
        core::mem::take(&mut self.warnings)
    }

    fn load_all(&mut self) -> Result<Vec<TokenSnapshot>, StoreError> {
        let names = self.list()?;
        let mut snapshots = Vec::with_capacity(names.len());
        for name in names {
            match self.load_token(&name) {
                Ok(s) => snapshots.push(s),
                Err(Fail::Store(StoreError::Failed(Error::TokenNotPresent))) => {}
                Err(f) => {
                    let e = self.report("load", &name, f);
                    push_warning(&mut self.warnings, format!("sqlite store: skipping token {name}: {e:?}"));
                }
            }
        }
        Ok(snapshots)
    }

    fn load(&mut self, name: &str) -> Result<TokenSnapshot, StoreError> {
        let r = self.load_token(name);
        self.finish("load", name, r)
    }

    fn generation(&mut self, name: &str) -> Result<u64, StoreError> {
        let r = self.token_generation(name);
        self.finish("read generation of", name, r)
    }

    fn apply(&mut self, name: &str, expected: u64, batch: &Batch) -> Result<u64, StoreError> {
        let r = self.apply_batch(name, expected, batch);
        self.finish("apply batch to", name, r)
    }

    fn list(&mut self) -> Result<Vec<TokenName>, StoreError> {
        let r = self.list_tokens();
        self.finish("list", "tokens", r)
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    anyhsm_core::store_conformance_tests!(
        {
            let dir = tempfile::tempdir().unwrap();
            (SqliteStore::open(dir.path().join("tokens")).unwrap(), dir)
        },
        reopen = |(store, dir): (SqliteStore, tempfile::TempDir)| {
            drop(store);
            (SqliteStore::open(dir.path().join("tokens")).unwrap(), dir)
        }
    );

    const A: &str = "ANYHSM0000000001";
    const B: &str = "ANYHSM0000000002";

    fn new_store() -> (SqliteStore, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        (SqliteStore::open(dir.path().join("tokens")).unwrap(), dir)
    }

    fn batch(ops: Vec<Op>) -> Batch {
        Batch { ops, wipe: false }
    }

    fn put(id: RecordId, blob: &[u8]) -> Op {
        Op::Put { id, blob: blob.to_vec() }
    }

    fn token_a(s: &mut SqliteStore) {
        let b = batch(vec![Op::PutMeta(b"meta-1".to_vec()), put(1, b"one"), put(2, b"two")]);
        assert_eq!(s.apply(A, 0, &b), Ok(1));
    }

    fn warnings_contain(s: &mut SqliteStore, needle: &str) -> bool {
        s.take_warnings().iter().any(|w| w.contains(needle))
    }

    fn sql(s: &SqliteStore, name: &str) -> Connection {
        Connection::open(s.path_of(name)).unwrap()
    }

    #[test]
    fn layout_mode_and_pragmas() {
        let (mut s, _d) = new_store();
        token_a(&mut s);
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(s.root()), 0o700);
        let db = s.path_of(A);
        assert_eq!(mode(&db), 0o600);
        let wal = s.root().join(format!("{A}.sqlite-wal"));
        assert_eq!(mode(&wal), 0o600, "the WAL inherits the database's mode");
        let c = sql(&s, A);
        let jm: String = c.query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap();
        assert_eq!(jm, "wal");
        let app: i64 = c.query_row("PRAGMA application_id", [], |r| r.get(0)).unwrap();
        assert_eq!(app, APPLICATION_ID);
        let v: i64 = c.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
        assert_eq!(v, SCHEMA_VERSION);
        let n: i64 = c.query_row("SELECT count(*) FROM objects", [], |r| r.get(0)).unwrap();
        assert_eq!(n, 2);
    }

    #[test]
    fn umask_is_applied() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = SqliteStore::open_with(dir.path().join("t"), Modes::with_umask(0o027).unwrap()).unwrap();
        token_a(&mut s);
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(s.root()), 0o750);
        assert_eq!(mode(&s.path_of(A)), 0o640);
    }

    #[test]
    fn half_created_database_is_not_a_token() {
        let (mut s, _d) = new_store();
        // What a creator that died before its first commit leaves: an empty database file.
        fs::write(s.path_of(A), b"").unwrap();
        assert_eq!(s.list(), Ok(vec![]));
        assert_eq!(s.generation(A), Ok(0));
        assert_eq!(s.load(A), Err(StoreError::Failed(Error::TokenNotPresent)));
        assert_eq!(s.apply(A, 1, &batch(vec![])), Err(StoreError::Stale { current: 0 }));
        assert_eq!(
            s.apply(A, 0, &batch(vec![put(1, b"x")])),
            Err(StoreError::Failed(Error::TokenNotPresent))
        );
        assert_eq!(s.apply(A, 0, &batch(vec![Op::PutMeta(b"m".to_vec())])), Ok(1));
        assert_eq!(s.list(), Ok(vec![A.to_owned()]));
    }

    #[test]
    fn damaged_records_are_skipped_and_named() {
        let (mut s, _d) = new_store();
        token_a(&mut s);
        assert_eq!(s.apply(B, 0, &batch(vec![Op::PutMeta(b"b".to_vec()), put(7, b"seven")])), Ok(1));
        let c = sql(&s, A);
        // A flipped byte in record 1, record 2 replaced by B's record 7 (blob and digest).
        c.execute("UPDATE objects SET blob = X'6f6e66' WHERE id = 1", []).unwrap();
        let (blob, digest): (Vec<u8>, Vec<u8>) = sql(&s, B)
            .query_row("SELECT blob, digest FROM objects WHERE id = 7", [], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap();
        c.execute("UPDATE objects SET blob = ?1, digest = ?2 WHERE id = 2", params![blob, digest]).unwrap();
        c.execute(
            "INSERT INTO objects VALUES (3, X'41484f09', ?1)",
            params![&record_check(A, 3, b"AHO\x09")[..]],
        )
        .unwrap();
        drop(c);
        let snap = s.load(A).unwrap();
        assert_eq!(snap.records, vec![]);
        let mut damaged = snap.damaged.clone();
        damaged.sort_unstable();
        assert_eq!(damaged, vec![1, 2, 3], "each handed to the engine for its placeholder");
        let w = s.take_warnings();
        let db = s.path_of(A).display().to_string();
        assert_eq!(
            w.iter().filter(|w| w.contains(&db) && w.contains("integrity check failed")).count(),
            2,
            "{w:?}"
        );
        assert!(w.iter().any(|w| w.contains(&db) && w.contains("format version 9")), "{w:?}");
        // The token still works: writing a record again repairs it.
        assert_eq!(s.apply(A, 1, &batch(vec![put(1, b"again"), Op::Delete { id: 2 }])), Ok(2));
        let snap = s.load(A).unwrap();
        assert_eq!(snap.records, vec![(1, b"again".to_vec())]);
        assert_eq!(snap.damaged, vec![3]);
    }

    #[test]
    fn damaged_database_hides_only_its_token() {
        let (mut s, _d) = new_store();
        token_a(&mut s);
        assert_eq!(s.apply(B, 0, &batch(vec![Op::PutMeta(b"b".to_vec())])), Ok(1));
        drop(s);
        let mut s = SqliteStore::open(_d.path().join("tokens")).unwrap();
        fs::write(s.path_of(B), vec![0x55; 8192]).unwrap();
        let _ = fs::remove_file(s.root().join(format!("{B}.sqlite-wal")));
        let _ = fs::remove_file(s.root().join(format!("{B}.sqlite-shm")));
        let all = s.load_all().unwrap();
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].name, A);
        let db_b = s.path_of(B).display().to_string();
        assert!(warnings_contain(&mut s, &db_b));
        assert_eq!(s.load(B), Err(StoreError::Failed(Error::DeviceError)));
        // A metadata row whose check fails: the token is refused, with the file named.
        sql(&s, A).execute("UPDATE token SET meta = X'00'", []).unwrap();
        assert_eq!(s.load(A), Err(StoreError::Failed(Error::DeviceError)));
        assert!(warnings_contain(&mut s, "token row's integrity check failed"));
        assert_eq!(
            s.apply(A, 1, &batch(vec![])),
            Err(StoreError::Failed(Error::DeviceError)),
            "not re-signed"
        );
    }

    #[test]
    fn unknown_schema_version_is_refused() {
        let (mut s, _d) = new_store();
        token_a(&mut s);
        sql(&s, A).execute_batch("PRAGMA user_version = 7").unwrap();
        assert_eq!(s.load(A), Err(StoreError::Failed(Error::DeviceError)));
        assert!(warnings_contain(&mut s, "schema version 7"));
    }

    #[test]
    fn two_stores_on_one_root_see_each_other() {
        let (mut s1, d) = new_store();
        let mut s2 = SqliteStore::open(d.path().join("tokens")).unwrap();
        assert_eq!(s2.list(), Ok(vec![]));
        token_a(&mut s1);
        assert_eq!(s2.generation(A), Ok(1));
        assert_eq!(s2.list(), Ok(vec![A.to_owned()]));
        assert_eq!(s2.apply(A, 1, &batch(vec![put(9, b"nine")])), Ok(2));
        assert_eq!(s1.apply(A, 1, &batch(vec![])), Err(StoreError::Stale { current: 2 }));
        assert_eq!(s1.load(A).unwrap().records.len(), 3);
    }

    #[test]
    fn concurrent_writers_serialize() {
        let (mut s, d) = new_store();
        assert_eq!(s.apply(A, 0, &batch(vec![Op::PutMeta(b"m".to_vec())])), Ok(1));
        const THREADS: u64 = 4;
        const EACH: u64 = 25;
        let root = d.path().join("tokens");
        let handles: Vec<_> = (0..THREADS)
            .map(|t| {
                let root = root.clone();
                std::thread::spawn(move || {
                    let mut s = SqliteStore::open(root).unwrap();
                    for i in 0..EACH {
                        let id = t * 100 + i;
                        loop {
                            let g = s.generation(A).unwrap();
                            match s.apply(A, g, &batch(vec![put(id, &id.to_le_bytes())])) {
                                Ok(n) => break assert_eq!(n, g + 1),
                                Err(StoreError::Stale { .. }) => continue,
                                Err(e) => panic!("{e:?}: {:?}", s.take_warnings()),
                            }
                        }
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        let snap = s.load(A).unwrap();
        assert_eq!(snap.generation, 1 + THREADS * EACH);
        assert_eq!(snap.records.len(), usize::try_from(THREADS * EACH).unwrap());
    }

    #[test]
    fn root_that_is_a_file_is_an_error_naming_it() {
        let d = tempfile::tempdir().unwrap();
        let file = d.path().join("f");
        fs::write(&file, b"x").unwrap();
        let root = file.join("tokens");
        let e = SqliteStore::open(&root).unwrap_err();
        assert_eq!(e.ck_error(), Error::DeviceError);
        assert!(e.to_string().contains(&root.display().to_string()), "{e}");
    }

    #[test]
    fn bad_token_names_are_refused() {
        let (mut s, _d) = new_store();
        let b = batch(vec![Op::PutMeta(b"m".to_vec())]);
        for name in ["", "..", "a/b", "../x", ".hidden", "x.sqlite"] {
            let bad = Err(StoreError::Failed(Error::ArgumentsBad));
            assert_eq!(s.apply(name, 0, &b), bad, "{name:?}");
            assert_eq!(s.generation(name), bad, "{name:?}");
        }
        fs::write(s.root().join("README.sqlite.txt"), b"x").unwrap();
        fs::write(s.root().join("not a token.sqlite"), b"x").unwrap();
        assert_eq!(s.list(), Ok(vec![]));
    }
}
