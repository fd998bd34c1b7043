//! The file store: one directory per token, one file per record, a redo log per token.
//!
//! # Layout
//!
//! ```text
//! <root>/                          0700, created by `FileStore::open`
//!   <token-name>/                  0700, one per token; the name is [A-Za-z0-9_-]{1,64}
//!     meta.bin                     0600: generation (u64 LE) ‖ "AHF1" ‖ check ‖ metadata blob
//!     objects/<16 hex digits>.rec  0600: one object record per file: "AHF1" ‖ check ‖ blob
//!     .lock                        0600: flock(2) target (exclusive: write; shared: read)
//!     log.bin                      0600: the redo log, one frame per batch since the last
//!                                  checkpoint (`log.rs`)
//!     pack.bin                     0600: a read cache of a large token's records (`pack.rs`)
//!     journal.bin                  the batch journal of earlier builds and of the Node
//!                                  directory store (read and completed, never written)
//!     .tmp-*                       contents being written, before they are renamed in
//! ```
//!
//! (Modes are those of the default umask `077`; see [`Modes`].) Blobs are stored as given,
//! framed by the store's integrity check (16 bytes, see [the store module](super)): the
//! engine's records carry their own format version and, for private data, their own AEAD
//! tag (DESIGN §3); the check catches accidental damage of the rest, and a record file
//! copied from another token or id. Whole-file renames mean a record file is never torn.
//!
//! # Applying a batch
//!
//! Under the token's exclusive lock:
//! 1. complete what crashed writers left (`FileStore::reconcile`), check the generation;
//! 2. append one frame to `log.bin` with the new generation, the whole new metadata, every
//!    record put (its blob) and deleted, and `fdatasync` it. **This is the commit point**,
//!    and the only sync of a write.
//! 3. apply the frame: each record to a temp renamed over its file, then `meta.bin`, without
//!    syncing (the page cache shows them to every process at once);
//! 4. every 512 frames or 4 MiB, checkpoint: `syncfs` (or an fsync of each file the log
//!    names), then cut the log to zero, durably.
//!
//! # Crash safety
//!
//! Before the commit point nothing but the log's tail changed; a torn frame fails its
//! checksum and is cut off: the batch is absent. After it, the frame is durable and holds
//! the batch's full contents, so applying it is idempotent. If the process dies before
//! `meta.bin` is renamed, `meta.bin` is older than the log's last frame, and the next reader
//! or writer applies the frame. If the machine loses power, any unsynced application may be
//! lost or torn; every frame records the kernel's boot id, and a log left by another boot is
//! replayed whole over the files (they are those of the last checkpoint, plus whatever of
//! the later writes reached the disk) and checkpointed, which rebuilds its last frame's state.
//! Readers hold the shared lock, so they never see a batch half applied. `docs/storage.md`
//! has the argument in full, and how writers without the log (earlier builds, the Node
//! directory store) are kept from being overwritten by a replay.
//!
//! If step 3 fails with an I/O error, the batch is still committed: `apply` returns the new
//! generation (with a warning) and the next load or write completes it.

use alloc::collections::{BTreeMap, BTreeSet};
use std::{
    ffi::OsStr,
    fs::{self, File},
    io::{self, Read, Write},
    path::{Path, PathBuf},
};

use anyhsm_core::{
    Error,
    store::{Batch, Op, RecordId, Store, StoreError, TokenName, TokenSnapshot},
};
use rustix::fs::{FlockOperation, Mode, OFlags};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use self::{
    log::{BootId, Frame, Log, Tail},
    pack::{FileId, Pack},
};
use super::{
    CHECK_LEN, MAX_WARNINGS, Modes, OpenError, is_token_name, meta_check, newer_format, record_check,
};

mod log;
mod pack;

const META: &str = "meta.bin";
const OBJECTS: &str = "objects";
const JOURNAL: &str = "journal.bin";
const LOCK: &str = ".lock";
const TMP_PREFIX: &str = ".tmp-";
const RECORD_SUFFIX: &str = ".rec";
const JOURNAL_MAGIC: &[u8; 8] = b"AHSMJNL1";
/// The frame of `meta.bin` (after the generation) and of every record file.
const FRAME_MAGIC: &[u8; 4] = b"AHF1";
const FRAME_LEN: usize = FRAME_MAGIC.len() + CHECK_LEN;

/// A [`Store`] keeping each token in its own directory under a root (see the module docs).
#[derive(Debug)]
pub struct FileStore {
    root: PathBuf,
    modes: Modes,
    /// The exclusive lock kept after answering `Stale`, for the engine's rebase (see the
    /// store module's "Rebasing under the lock").
    held: Option<(TokenName, TokenLock)>,
    warnings: Vec<String>,
    /// This boot's id, stamped on every frame written.
    boot: BootId,
    limits: LogLimits,
    durability: Durability,
    /// What time it is, for the pack's racy check (tests move it).
    clock: fn() -> std::time::SystemTime,
}

/// Internal failure: a store answer, or an I/O error with the file it happened on (which
/// becomes a warning and a `CKR_DEVICE_*` at the trait boundary).
#[derive(Debug)]
enum Fail {
    Store(StoreError),
    Io { path: PathBuf, what: &'static str, source: io::Error },
}

type Result<T, E = Fail> = core::result::Result<T, E>;

const NOT_PRESENT: Fail = Fail::Store(StoreError::Failed(Error::TokenNotPresent));

trait At<T> {
    /// Attach the file and the action to an I/O error.
    fn at(self, path: &Path, what: &'static str) -> Result<T>;
}

impl<T> At<T> for io::Result<T> {
    fn at(self, path: &Path, what: &'static str) -> Result<T> {
        self.map_err(|source| Fail::Io { path: path.into(), what, source })
    }
}

/// The `CKR_*` of an I/O error: a full disk or quota is `CKR_DEVICE_MEMORY`, the rest
/// `CKR_DEVICE_ERROR`.
fn io_error_code(e: &io::Error) -> Error {
    match e.kind() {
        io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded => Error::DeviceMemory,
        _ => Error::DeviceError,
    }
}

fn damaged(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.to_owned())
}

/// Where a test makes `apply` stop, as if the process died there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(not(test), allow(dead_code))]
enum Stop {
    Never,
    /// Appending the frame fails with ENOSPC half way (an error, not a crash).
    FullDisk,
    /// Half the frame is written.
    TornFrame,
    /// The frame is committed, nothing applied.
    AfterCommit,
    /// The records are applied, not `meta.bin`.
    MidApply,
    /// A checkpoint made the files durable but did not empty the log.
    InCheckpoint,
    // The journal protocol of earlier builds (written by the tests only).
    AfterTemps,
    TornJournal,
    AfterJournal,
    AfterRecords,
    AfterMeta,
}

/// When a checkpoint empties the log: after this many frames, or once it is this long.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct LogLimits {
    frames: u64,
    bytes: u64,
}

const LOG_LIMITS: LogLimits = LogLimits { frames: 512, bytes: 4 << 20 };

/// What a committed batch does, as the journal records it. Each record id appears once
/// (the batch is collapsed to its final effect per id), so the steps commute.
#[derive(Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Journal {
    /// The generation the batch produces.
    generation: u64,
    /// Delete every record file not in `installs` first.
    wipe: bool,
    /// The temp file that becomes `meta.bin`.
    meta_tmp: String,
    /// Temp file → `objects/<id>.rec`.
    installs: Vec<(RecordId, String)>,
    /// `objects/<id>.rec` to delete.
    removes: Vec<RecordId>,
}

impl Journal {
    #[cfg(test)]
    fn encode(&self) -> Result<Vec<u8>> {
        let payload =
            postcard::to_allocvec(self).map_err(|_| Fail::Store(StoreError::Failed(Error::GeneralError)))?;
        let len =
            u64::try_from(payload.len()).map_err(|_| Fail::Store(StoreError::Failed(Error::GeneralError)))?;
        let mut out = Vec::with_capacity(8 + 8 + payload.len() + 32);
        out.extend_from_slice(JOURNAL_MAGIC);
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&payload);
        out.extend_from_slice(&Sha256::digest(&payload));
        Ok(out)
    }

    /// The journal, or `None` if it is incomplete or damaged (then it was never committed).
    fn decode(bytes: &[u8]) -> Option<Journal> {
        let rest = bytes.strip_prefix(JOURNAL_MAGIC)?;
        let (len, rest) = rest.split_first_chunk::<8>()?;
        let len = usize::try_from(u64::from_le_bytes(*len)).ok()?;
        if rest.len() != len.checked_add(32)? {
            return None;
        }
        let (payload, sum) = rest.split_at(len);
        if Sha256::digest(payload).as_slice() != sum {
            return None;
        }
        let j: Journal = postcard::from_bytes(payload).ok()?;
        let names_ok =
            core::iter::once(&j.meta_tmp).chain(j.installs.iter().map(|(_, t)| t)).all(|t| is_tmp_name(t));
        names_ok.then_some(j)
    }
}

fn is_tmp_name(name: &str) -> bool {
    name.len() <= 64
        && name.starts_with(TMP_PREFIX)
        && !name.contains("..")
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
}

fn record_file(id: RecordId) -> String {
    format!("{id:016x}{RECORD_SUFFIX}")
}

/// The id of a record file name (exactly 16 lower-case hex digits + `.rec`).
fn record_id(file: &str) -> Option<RecordId> {
    let hex = file.strip_suffix(RECORD_SUFFIX)?;
    let canonical = hex.len() == 16 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    canonical.then(|| RecordId::from_str_radix(hex, 16).ok()).flatten()
}

fn create_dir(path: &Path, modes: Modes) -> Result<()> {
    super::create_dir(path, modes).at(path, "create directory")
}

fn sync_dir(path: &Path) -> Result<()> {
    File::open(path).and_then(|d| d.sync_all()).at(path, "sync directory")
}

/// Create (or truncate) `path` with the file mode, write `data`, fsync.
#[cfg(test)]
fn write_file(path: &Path, data: &[u8], modes: Modes) -> Result<()> {
    let mut f = super::open_for_write(path, modes, true).at(path, "create")?;
    f.write_all(data).at(path, "write")?;
    f.sync_all().at(path, "sync")
}

/// Create (or truncate) `path` with the file mode and write `data`, without a sync (the
/// log made it durable; a checkpoint will sync it).
fn write_unsynced(path: &Path, data: &[u8], modes: Modes) -> Result<()> {
    let mut f = super::open_for_write(path, modes, true).at(path, "create")?;
    f.write_all(data).at(path, "write")
}

/// From this many records on a token is read through its pack (`pack.rs`).
const PACK_MIN: usize = 256;
/// A token's intact records by id, and the ids of its damaged ones.
type Records = (Vec<(RecordId, Vec<u8>)>, Vec<RecordId>);

/// Below this many records a token is read by the calling thread alone.
const PARALLEL_READ_MIN: usize = 512;
/// At most this many threads read one token.
const MAX_READ_THREADS: usize = 4;

/// Read and check the record files `files` (id, name in `dir`), in order: each the blob, or
/// why it is damaged. Large tokens are split between scoped threads (they end before this
/// returns); if a thread cannot be started, its share is read here.
fn read_many(
    dir: &File,
    name: &str,
    files: &[(RecordId, std::ffi::OsString)],
) -> Vec<Result<(RecordId, Vec<u8>), String>> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(MAX_READ_THREADS);
    if threads < 2 || files.len() < PARALLEL_READ_MIN {
        return read_share(dir, name, files);
    }
    let share = files.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let mut chunks = files.chunks(share);
        let first = chunks.next().unwrap_or(&[]);
        let spawned: Vec<_> = chunks
            .map(|chunk| {
                let worker =
                    std::thread::Builder::new().spawn_scoped(scope, move || read_share(dir, name, chunk));
                (chunk, worker)
            })
            .collect();
        let mut out = read_share(dir, name, first);
        for (chunk, worker) in spawned {
            match worker.map(std::thread::ScopedJoinHandle::join) {
                Ok(Ok(part)) => out.extend(part),
                // No thread (or it panicked, which `read_share` does not): read it here.
                _ => out.extend(read_share(dir, name, chunk)),
            }
        }
        out
    })
}

fn read_share(
    dir: &File,
    name: &str,
    files: &[(RecordId, std::ffi::OsString)],
) -> Vec<Result<(RecordId, Vec<u8>), String>> {
    let mut buf = vec![0u8; READ_CHUNK];
    files
        .iter()
        .map(|(id, file_name)| {
            let file = read_record_file(dir, file_name, &mut buf).map_err(|e| e.to_string())?;
            let blob = unframe_record(name, *id, file).map_err(str::to_owned)?;
            match newer_format(&blob) {
                None => Ok((*id, blob)),
                Some(v) => Err(format!(
                    "record format version {v} is newer than this build knows ({})",
                    anyhsm_core::store::record::FORMAT_VERSION
                )),
            }
        })
        .collect()
}

/// How much of a record file one `read` asks for (most records are far smaller).
const READ_CHUNK: usize = 4096;

/// A whole record file, opened relative to `dir` and read into `buf` (reused between calls).
/// Unlike `fs::read`, no `statx` for a size hint and no extra `read` to see the end: for a
/// regular file a short read is the end. (Were it ever not, the record would fail its
/// integrity check and be reported, not misread.)
fn read_record_file(dir: &File, file_name: &OsStr, buf: &mut Vec<u8>) -> io::Result<Vec<u8>> {
    let fd = rustix::fs::openat(dir, file_name, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty())?;
    let mut f = File::from(fd);
    let mut len = 0;
    loop {
        let n = match f.read(&mut buf[len..]) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            r => r?,
        };
        len += n;
        if n == 0 || len < buf.len() {
            break;
        }
        buf.resize(buf.len() * 2, 0);
    }
    Ok(buf[..len].to_vec())
}

/// A record file's contents: the frame, then the blob.
fn frame_record(name: &str, id: RecordId, blob: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(FRAME_LEN + blob.len());
    out.extend_from_slice(FRAME_MAGIC);
    out.extend_from_slice(&record_check(name, id, blob));
    out.extend_from_slice(blob);
    out
}

/// The blob of a record file, or why it is damaged.
fn unframe_record(name: &str, id: RecordId, mut file: Vec<u8>) -> Result<Vec<u8>, &'static str> {
    if file.len() < FRAME_LEN || !file.starts_with(FRAME_MAGIC) {
        return Err("too short or not a record file of this format (truncated?)");
    }
    let check: [u8; CHECK_LEN] = file[FRAME_MAGIC.len()..FRAME_LEN].try_into().map_err(|_| "too short")?;
    file.drain(..FRAME_LEN);
    if record_check(name, id, &file) != check {
        return Err("integrity check failed (damaged, or copied from another token or record)");
    }
    Ok(file)
}

/// Remove a file — or a directory sitting where a record file should be. Absent is fine.
fn remove_any(path: &Path) -> Result<()> {
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::IsADirectory || path.is_dir() => {
            fs::remove_dir_all(path).at(path, "remove")
        }
        Err(e) => Err(e).at(path, "remove"),
    }
}

fn exists(path: &Path) -> Result<bool> {
    path.try_exists().at(path, "look up")
}

/// `flock(2)`, retried when a signal interrupts the wait.
fn flock(file: &File, op: FlockOperation) -> io::Result<()> {
    loop {
        match rustix::fs::flock(file, op) {
            Err(rustix::io::Errno::INTR) => {}
            r => return r.map_err(io::Error::from),
        }
    }
}

/// A held advisory lock on a token's `.lock`; released when dropped (the file is closed).
#[derive(Debug)]
struct TokenLock {
    file: File,
    path: PathBuf,
}

impl TokenLock {
    fn acquire(dir: &Path, exclusive: bool, modes: Modes) -> Result<TokenLock> {
        let path = dir.join(LOCK);
        let file = super::open_for_write(&path, modes, false).at(&path, "open lock file")?;
        let op = if exclusive { FlockOperation::LockExclusive } else { FlockOperation::LockShared };
        flock(&file, op).at(&path, "lock")?;
        Ok(TokenLock { file, path })
    }

    /// Shared → exclusive (not atomic: another writer may run in between, which is fine
    /// for recovery, the only user).
    fn upgrade(&self) -> Result<()> {
        flock(&self.file, FlockOperation::LockExclusive).at(&self.path, "lock")
    }
}

impl FileStore {
    /// Open (creating it, mode 0700, if missing) the store rooted at `root` with the
    /// default modes, and complete or discard any batch a crashed process left behind.
    ///
    /// # Errors
    /// [`OpenError`] (→ `CKR_DEVICE_ERROR`) if `root` cannot be created, is not a directory,
    /// or is not readable and writable. Its `Display` names the path and the cause.
    pub fn open(root: impl Into<PathBuf>) -> core::result::Result<FileStore, OpenError> {
        Self::open_with(root, Modes::default())
    }

    /// [`FileStore::open`], creating files and directories with `modes`.
    ///
    /// # Errors
    /// As [`FileStore::open`].
    pub fn open_with(root: impl Into<PathBuf>, modes: Modes) -> core::result::Result<FileStore, OpenError> {
        Self::open_booted(root, modes, log::current_boot_id())
    }

    /// [`FileStore::open_with`] as if the machine's boot id were `boot` (tests simulate
    /// restarts with it).
    fn open_booted(
        root: impl Into<PathBuf>,
        modes: Modes,
        boot: BootId,
    ) -> core::result::Result<FileStore, OpenError> {
        let root: PathBuf = root.into();
        super::prepare_root(&root, modes)?;
        let mut store = FileStore {
            root,
            modes,
            held: None,
            warnings: Vec::new(),
            boot,
            limits: LOG_LIMITS,
            durability: Durability::SyncFs,
            clock: std::time::SystemTime::now,
        };
        let dirs = store.token_dirs().map_err(|source| OpenError {
            path: store.root.clone(),
            what: "cannot be listed",
            source,
        })?;
        for (name, dir) in dirs {
            let recovered = TokenLock::acquire(&dir, true, modes).and_then(|_lock| {
                store.recover(&dir)?;
                match Log::open(&dir)? {
                    Some(log) => store.reconcile(&dir, &name, &log).map(drop),
                    None => Ok(()),
                }
            });
            if let Err(f) = recovered {
                store.report("recover", &name, f);
            }
        }
        Ok(store)
    }

    /// The root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Problems met since the last call that did not fail an operation: skipped damaged
    /// records, recovered batches, and the detail of I/O errors. The module logs them.
    ///
    /// The native module calls this after every `C_*` call, which also ends a rebase: a
    /// lock kept after a `Stale` answer is released here.
    pub fn take_warnings(&mut self) -> Vec<String> {
        self.held = None;
        core::mem::take(&mut self.warnings)
    }

    /// Whether the rebase lock of `name` is held; any other rebase lock is released (the
    /// rebase it was kept for is over).
    fn holds(&mut self, name: &str) -> bool {
        if self.held.as_ref().is_some_and(|(n, _)| n == name) {
            return true;
        }
        self.held = None;
        false
    }

    fn warn(&mut self, message: String) {
        if self.warnings.len() < MAX_WARNINGS {
            self.warnings.push(message);
        }
    }

    /// A `Fail` into the trait's error, keeping the I/O detail as a warning.
    fn report(&mut self, action: &str, name: &str, f: Fail) -> StoreError {
        match f {
            Fail::Store(e) => e,
            Fail::Io { path, what, source } => {
                self.warn(format!("file store: {action} {name}: cannot {what} {}: {source}", path.display()));
                StoreError::Failed(io_error_code(&source))
            }
        }
    }

    fn finish<T>(&mut self, action: &str, name: &str, r: Result<T>) -> Result<T, StoreError> {
        r.map_err(|f| self.report(action, name, f))
    }

    fn token_dir(&self, name: &str) -> Result<PathBuf> {
        if is_token_name(name) {
            Ok(self.root.join(name))
        } else {
            Err(Fail::Store(StoreError::Failed(Error::ArgumentsBad)))
        }
    }

    /// Every directory under the root whose name is a token name, sorted by name.
    fn token_dirs(&self) -> io::Result<Vec<(TokenName, PathBuf)>> {
        let mut dirs = Vec::new();
        for entry in fs::read_dir(&self.root)? {
            let entry = entry?;
            let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
                continue;
            };
            if is_token_name(&name) && entry.file_type()?.is_dir() {
                dirs.push((name, entry.path()));
            }
        }
        dirs.sort();
        Ok(dirs)
    }

    // -----------------------------------------------------------------------------------
    // Recovery.

    /// Complete a batch of the journal protocol (`journal.bin`: earlier builds, the Node
    /// directory store) or discard an uncommitted one, then delete stray temps. The caller
    /// holds the exclusive lock.
    fn recover(&mut self, dir: &Path) -> Result<()> {
        let journal = dir.join(JOURNAL);
        match fs::read(&journal) {
            Ok(bytes) => match Journal::decode(&bytes) {
                Some(j) => {
                    self.warn(format!(
                        "file store: completing a batch interrupted by a crash in {} \
                         (generation {})",
                        dir.display(),
                        j.generation
                    ));
                    roll_forward(dir, &j, Stop::Never, self.modes)?;
                }
                None => {
                    self.warn(format!(
                        "file store: discarding an incomplete journal in {} (a batch \
                         interrupted before it was committed)",
                        dir.display()
                    ));
                    fs::remove_file(&journal).at(&journal, "remove")?;
                }
            },
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e).at(&journal, "read"),
        }
        remove_temps(dir)
    }

    /// Bring the token's files up to its log and say where the next frame goes. The caller
    /// holds the exclusive lock.
    ///
    /// - A torn last frame (an append that was interrupted, so never acknowledged) is cut off.
    /// - A log written under another boot is replayed whole, then checkpointed: the machine
    ///   restarted since, perhaps after a power loss that took unsynced writes of its frames.
    /// - Frames newer than `meta.bin` (their writer died after committing them) are applied.
    /// - A log older than `meta.bin` (a writer that does not know the log wrote since) is
    ///   emptied after a checkpoint: a log only ever holds a run of batches on top of files
    ///   that are durable.
    fn reconcile(&mut self, dir: &Path, name: &str, log: &Log) -> Result<LogEnd> {
        let (end, last) = match log.tail(name)? {
            Tail::Empty => return Ok(LogEnd::default()),
            Tail::Last { end, info } => (end, info),
            Tail::Torn => {
                let scan = log.scan(name)?;
                self.warn(format!(
                    "file store: cutting an interrupted write ({} bytes, never committed) off the end \
                     of {}",
                    scan.len() - scan.valid_len(),
                    log.path().display()
                ));
                log.truncate(scan.valid_len())?;
                match scan.last(name) {
                    None => return Ok(LogEnd::default()),
                    Some(info) => (scan.valid_len(), info),
                }
            }
        };
        if last.boot != self.boot {
            self.replay_all(dir, name, log)?;
            return Ok(LogEnd::default());
        }
        let applied = read_generation(dir)?;
        match applied {
            Some(g) if g == last.generation => {}
            Some(g) if g > last.generation => {
                self.warn(format!(
                    "file store: {} was written without its log since generation {}; checkpointing",
                    dir.display(),
                    last.generation
                ));
                self.checkpoint(dir, name, log)?;
                return Ok(LogEnd::default());
            }
            _ => {
                let from = applied.unwrap_or(0);
                self.warn(format!(
                    "file store: completing a batch interrupted by a crash in {} (generation {})",
                    dir.display(),
                    last.generation
                ));
                let scan = log.scan(name)?;
                for f in scan.frames(name).filter(|f| f.generation > from) {
                    apply_frame(dir, name, &f, Stop::Never, self.modes)?;
                }
                remove_temps(dir)?;
            }
        }
        Ok(LogEnd { end, next_index: last.index + 1 })
    }

    /// Replay every frame of the log, then checkpoint (the caller holds the exclusive lock).
    /// Frames carry full contents, so replaying one already applied changes nothing, and
    /// replaying them all in order over the durable state the log started from gives the
    /// state of its last frame, whatever part of their application survived.
    fn replay_all(&mut self, dir: &Path, name: &str, log: &Log) -> Result<()> {
        let scan = log.scan(name)?;
        if let Some(last) = scan.last(name) {
            let applied = match read_meta(dir, name) {
                Ok(Some((g, _))) => Some(g),
                _ => None,
            };
            if applied.is_some_and(|g| g > last.generation) {
                self.warn(format!(
                    "file store: {} was written without its log since generation {}; not replaying it",
                    dir.display(),
                    last.generation
                ));
            } else {
                self.warn(format!(
                    "file store: replaying the {} batches in {} left by a previous boot (up to \
                     generation {})",
                    scan.frames(name).count(),
                    log.path().display(),
                    last.generation
                ));
                for f in scan.frames(name) {
                    apply_frame(dir, name, &f, Stop::Never, self.modes)?;
                }
                remove_temps(dir)?;
            }
        }
        self.checkpoint(dir, name, log)
    }

    /// Make every applied frame durable, then empty the log.
    fn checkpoint(&mut self, dir: &Path, name: &str, log: &Log) -> Result<()> {
        make_durable(dir, name, log, self.durability)?;
        log.truncate(0)
    }

    /// Whether a reader must take the exclusive lock and [`reconcile`](Self::reconcile).
    fn log_needs_work(&self, dir: &Path, name: &str, log: &Log) -> Result<bool> {
        Ok(match log.tail(name)? {
            Tail::Empty => false,
            Tail::Torn => true,
            Tail::Last { info, .. } => {
                info.boot != self.boot || read_generation(dir)?.is_none_or(|g| g < info.generation)
            }
        })
    }

    // -----------------------------------------------------------------------------------
    // Reading.

    /// Take the shared lock, and the exclusive one if crashed writers left work; then the
    /// token's files are a committed state (and, with `reconcile_log`, its log's last one).
    fn read_lock(&mut self, dir: &Path, name: &str, reconcile_log: bool) -> Result<TokenLock> {
        let lock = TokenLock::acquire(dir, false, self.modes)?;
        let mut exclusive = false;
        if exists(&dir.join(JOURNAL))? {
            lock.upgrade()?;
            exclusive = true;
            self.recover(dir)?;
        }
        if reconcile_log {
            if let Some(log) = Log::open(dir)? {
                if self.log_needs_work(dir, name, &log)? {
                    if !exclusive {
                        lock.upgrade()?;
                    }
                    self.reconcile(dir, name, &log)?;
                }
            }
        }
        Ok(lock)
    }

    fn load_token(&mut self, name: &str) -> Result<TokenSnapshot> {
        let dir = self.token_dir(name)?;
        if !exists(&dir)? {
            return Err(NOT_PRESENT);
        }
        // Under a rebase lock this process already excludes everyone (and a second flock of
        // the same file from this process would wait for itself); its `apply` reconciled.
        let _lock = if self.holds(name) { None } else { Some(self.read_lock(&dir, name, true)?) };
        let (generation, meta) = read_meta(&dir, name)?.ok_or(NOT_PRESENT)?;
        let (records, damaged) = self.read_records(&dir, name)?;
        Ok(TokenSnapshot { name: name.into(), generation, meta, records, damaged })
    }

    /// Every readable, intact record, by id, and the ids of the damaged or unreadable ones
    /// (each reported with its path). A misnamed file is ignored, with a warning.
    fn read_records(&mut self, dir: &Path, name: &str) -> Result<Records> {
        let objects = dir.join(OBJECTS);
        let entries = match fs::read_dir(&objects) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok((Vec::new(), Vec::new())),
            r => r.at(&objects, "list")?,
        };
        let mut files = Vec::new();
        for entry in entries {
            let file_name = entry.at(&objects, "list")?.file_name();
            match file_name.to_str().and_then(record_id) {
                Some(id) => files.push((id, file_name)),
                None => {
                    let path = objects.join(&file_name);
                    self.warn(format!("file store: ignoring {}: not a record file name", path.display()));
                }
            }
        }
        // Files are opened relative to the directory (a full path walk for each was a third of
        // the cost of loading a large token), and a large token is read by several threads.
        let objects_fd = File::open(&objects).at(&objects, "open")?;
        if files.len() >= PACK_MIN {
            return self.read_records_packed(dir, name, &objects, &objects_fd, files);
        }
        let read = read_many(&objects_fd, name, &files);
        let mut records = Vec::with_capacity(read.len());
        let mut damaged = Vec::new();
        for (i, r) in read.into_iter().enumerate() {
            match r {
                Ok(record) => records.push(record),
                Err(damage) => {
                    self.warn_damaged(&objects.join(&files[i].1), damage);
                    damaged.push(files[i].0);
                }
            }
        }
        records.sort_by_key(|(id, _)| *id);
        Ok((records, damaged))
    }

    fn warn_damaged(&mut self, path: &Path, damage: String) {
        self.warn(format!(
            "file store: damaged record {}: {damage}; its object answers CKR_DEVICE_ERROR until it is \
             destroyed",
            path.display()
        ));
    }

    /// [`read_records`](Self::read_records) of a large token through its pack: a record
    /// whose file is still the one the pack read it from comes from there, the others from
    /// their files; then, if many came from their files, a new pack is written.
    fn read_records_packed(
        &mut self,
        dir: &Path,
        name: &str,
        objects: &Path,
        objects_fd: &File,
        files: Vec<(RecordId, std::ffi::OsString)>,
    ) -> Result<Records> {
        let pack = Pack::read(dir, name);
        // Each record with the identity of the file it came from.
        let mut records: Vec<(Record, Option<FileId>)> = Vec::with_capacity(files.len());
        let mut unpacked = Vec::new();
        for (id, file_name) in files {
            let file = FileId::of(objects_fd, &file_name);
            let cached = pack.as_ref().zip(file.as_ref()).and_then(|(p, f)| p.get(id, f));
            match cached {
                Some(blob) => records.push(((id, blob.to_vec()), file)),
                None => unpacked.push((file, (id, file_name))),
            }
        }
        let (unpacked_ids, unpacked): (Vec<_>, Vec<_>) = unpacked.into_iter().unzip();
        let read = read_many(objects_fd, name, &unpacked);
        let mut damaged = Vec::new();
        for (i, r) in read.into_iter().enumerate() {
            match r {
                Ok(record) => records.push((record, unpacked_ids[i])),
                Err(damage) => {
                    self.warn_damaged(&objects.join(&unpacked[i].1), damage);
                    damaged.push(unpacked[i].0);
                }
            }
        }
        records.sort_by_key(|((id, _), _)| *id);
        let now = (self.clock)();
        let cacheable = unpacked_ids.iter().flatten().filter(|f| f.settled(now)).count();
        if cacheable > 0 && (pack.is_none() || cacheable > records.len() / 16) {
            let entries: Vec<_> = records
                .iter()
                .filter_map(|((id, blob), f)| f.filter(|f| f.settled(now)).map(|f| (*id, f, &blob[..])))
                .collect();
            if let Err(f) = Pack::write(dir, name, self.modes, entries.into_iter()) {
                // Only a cache: the next load reads the files again.
                let _ = self.report("cache the records of", name, f);
            }
        }
        Ok((records.into_iter().map(|(r, _)| r).collect(), damaged))
    }

    fn token_generation(&mut self, name: &str) -> Result<u64> {
        let dir = self.token_dir(name)?;
        if !exists(&dir)? {
            return Ok(0);
        }
        // The log is left to loads and writes: one that `meta.bin` has not caught up with is
        // a batch whose writer died before answering, which the next load or write completes.
        let _lock = if self.holds(name) { None } else { Some(self.read_lock(&dir, name, false)?) };
        read_generation(&dir).map(|g| g.unwrap_or(0))
    }

    fn list_tokens(&mut self) -> Result<Vec<TokenName>> {
        self.held = None;
        let dirs = self.token_dirs().at(&self.root, "list")?;
        let mut names = Vec::with_capacity(dirs.len());
        for (name, dir) in dirs {
            // A crashed creator's journal or log may be all there is of a new token.
            if !exists(&dir.join(META))? {
                let has_log = Log::open(&dir)?.map(|l| l.len()).transpose()?.is_some_and(|n| n > 0);
                if has_log || exists(&dir.join(JOURNAL))? {
                    let recovered = TokenLock::acquire(&dir, true, self.modes).and_then(|_l| {
                        self.recover(&dir)?;
                        match Log::open(&dir)? {
                            Some(log) => self.reconcile(&dir, &name, &log).map(drop),
                            None => Ok(()),
                        }
                    });
                    if let Err(f) = recovered {
                        self.report("recover", &name, f);
                    }
                }
            }
            if exists(&dir.join(META))? {
                names.push(name);
            }
        }
        Ok(names)
    }

    // -----------------------------------------------------------------------------------
    // Writing.

    fn apply_batch(&mut self, name: &str, expected: u64, batch: &Batch, stop: Stop) -> Result<u64> {
        let dir = self.token_dir(name)?;
        let held = if self.holds(name) { self.held.take().map(|(_, l)| l) } else { None };

        // The batch's final effect: last PutMeta, last op per record id.
        let mut new_meta: Option<&[u8]> = None;
        let mut changes: BTreeMap<RecordId, Option<&[u8]>> = BTreeMap::new();
        for op in &batch.ops {
            match op {
                Op::PutMeta(m) => new_meta = Some(m),
                Op::Put { id, blob } => {
                    changes.insert(*id, Some(blob));
                }
                Op::Delete { id } => {
                    changes.insert(*id, None);
                }
            }
        }

        if !exists(&dir)? {
            if expected != 0 {
                return Err(Fail::Store(StoreError::Stale { current: 0 }));
            }
            if new_meta.is_none_or(<[u8]>::is_empty) {
                return Err(NOT_PRESENT);
            }
            create_dir(&dir, self.modes)?;
            create_dir(&dir.join(OBJECTS), self.modes)?;
            sync_dir(&dir)?;
            sync_dir(&self.root)?;
        }

        let lock = match held {
            Some(lock) => lock,
            None => TokenLock::acquire(&dir, true, self.modes)?,
        };
        if exists(&dir.join(JOURNAL))? {
            self.recover(&dir)?;
        }
        let log = Log::open_or_create(&dir, self.modes)?;
        let end = self.reconcile(&dir, name, &log)?;
        let current = read_generation(&dir)?.unwrap_or(0);
        if current != expected {
            // Keep the lock: the engine reloads and retries at once, and then cannot lose.
            self.held = Some((name.to_owned(), lock));
            return Err(Fail::Store(StoreError::Stale { current }));
        }
        let old_meta;
        let meta: &[u8] = match new_meta {
            Some(m) => m,
            None if current == 0 => return Err(NOT_PRESENT),
            None => {
                old_meta = read_meta(&dir, name)?.ok_or(NOT_PRESENT)?.1;
                &old_meta
            }
        };
        if meta.is_empty() {
            return Err(NOT_PRESENT);
        }
        let generation = current.checked_add(1).ok_or(Fail::Store(StoreError::Failed(Error::DeviceError)))?;

        let frame = Frame {
            offset: end.end,
            index: end.next_index,
            generation,
            boot: self.boot,
            wipe: batch.wipe,
            meta,
            puts: changes.iter().filter_map(|(id, c)| c.map(|blob| (*id, blob))).collect(),
            deletes: changes.iter().filter(|(_, c)| c.is_none()).map(|(id, _)| *id).collect(),
        };
        let bytes = frame.encode(name);
        match stop {
            #[cfg(test)]
            Stop::FullDisk => {
                log.write_raw(&bytes[..bytes.len() / 2], end.end);
                log.truncate(end.end)?;
                return Err(io::Error::from(io::ErrorKind::StorageFull)).at(log.path(), "write");
            }
            #[cfg(test)]
            Stop::TornFrame => {
                log.write_raw(&bytes[..bytes.len() / 2], end.end);
                return Ok(generation);
            }
            _ => log.append(end.end, &bytes)?,
        }
        if stop == Stop::AfterCommit {
            return Ok(generation);
        }

        // Committed: from here on the batch is durable, and will be applied by whoever next
        // loads or writes the token if this process does not.
        if let Err(f) = apply_frame(&dir, name, &frame, stop, self.modes) {
            let _ = self.report("apply batch to", name, f);
            self.warn(format!(
                "file store: the batch of {name} (generation {generation}) is committed and \
                 will be completed at the next access"
            ));
            return Ok(generation);
        }
        if stop == Stop::MidApply {
            return Ok(generation);
        }
        let log_len = end.end + bytes.len() as u64;
        if end.next_index + 1 >= self.limits.frames || log_len >= self.limits.bytes {
            let r = if stop == Stop::InCheckpoint {
                make_durable(&dir, name, &log, self.durability)
            } else {
                self.checkpoint(&dir, name, &log)
            };
            if let Err(f) = r {
                let _ = self.report("checkpoint", name, f);
            }
        }
        Ok(generation)
    }
}

/// A record read: its id and blob.
type Record = (RecordId, Vec<u8>);

/// Where the next frame goes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct LogEnd {
    end: u64,
    next_index: u64,
}

/// Write a committed frame's contents into the token's files, without syncing anything:
/// each record to a temp renamed over its file (so no reader ever sees a torn record),
/// `meta.bin` last (so its generation says the frame is applied). Idempotent.
fn apply_frame(dir: &Path, name: &str, f: &Frame<'_>, stop: Stop, modes: Modes) -> Result<()> {
    let objects = dir.join(OBJECTS);
    if f.wipe {
        create_dir(&objects, modes)?;
        let keep: BTreeSet<String> = f.puts.iter().map(|(id, _)| record_file(*id)).collect();
        for entry in fs::read_dir(&objects).at(&objects, "list")? {
            let entry = entry.at(&objects, "list")?;
            if !keep.contains(&*entry.file_name().to_string_lossy()) {
                remove_any(&entry.path())?;
            }
        }
    }
    for id in &f.deletes {
        remove_any(&objects.join(record_file(*id)))?;
    }
    for (n, (id, blob)) in f.puts.iter().enumerate() {
        let tmp = dir.join(format!("{TMP_PREFIX}{}-{n}", f.generation));
        write_unsynced(&tmp, &frame_record(name, *id, blob), modes)?;
        let target = objects.join(record_file(*id));
        match fs::rename(&tmp, &target) {
            Ok(()) => {}
            // objects/ itself is gone (removed by hand): make it again.
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                create_dir(&objects, modes)?;
                fs::rename(&tmp, &target).at(&target, "rename into place")?;
            }
            // A damaged record (a directory where the file should be) is being replaced.
            Err(_) if target.is_dir() => {
                remove_any(&target)?;
                fs::rename(&tmp, &target).at(&target, "rename into place")?;
            }
            Err(e) => return Err(e).at(&target, "rename into place"),
        }
    }
    if stop == Stop::MidApply {
        return Ok(());
    }
    let tmp = dir.join(format!("{TMP_PREFIX}{}-meta", f.generation));
    write_unsynced(&tmp, &frame_meta(name, f.generation, f.meta), modes)?;
    fs::rename(&tmp, dir.join(META)).at(&dir.join(META), "rename into place")
}

/// How a checkpoint makes applied frames durable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Durability {
    /// `syncfs(2)`: one call for every dirty file of the file system (Linux).
    SyncFs,
    /// `fsync` of every file the log's frames wrote, then the directories (elsewhere, and
    /// where `syncfs` is not allowed; tests choose it to cover it).
    #[cfg_attr(not(test), allow(dead_code))]
    EachFile,
}

/// Make the effect of every frame in the log durable: after this, the files hold it even
/// if the machine loses power.
fn make_durable(dir: &Path, name: &str, log: &Log, how: Durability) -> Result<()> {
    #[cfg(target_os = "linux")]
    if how == Durability::SyncFs {
        match rustix::fs::syncfs(log.file()) {
            Ok(()) => return Ok(()),
            // Not allowed here (a seccomp filter, an old kernel): one file at a time.
            Err(rustix::io::Errno::NOSYS | rustix::io::Errno::PERM) => {}
            Err(e) => return Err(io::Error::from(e)).at(dir, "sync the file system of"),
        }
    }
    let _ = how;
    let objects = dir.join(OBJECTS);
    let scan = log.scan(name)?;
    let written: BTreeSet<RecordId> =
        scan.frames(name).flat_map(|f| f.puts.into_iter().map(|(id, _)| id)).collect();
    for id in written {
        let path = objects.join(record_file(id));
        match File::open(&path) {
            Ok(f) => f.sync_all().at(&path, "sync")?,
            // Deleted by a later frame: the directory sync below makes that durable.
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e).at(&path, "open"),
        }
    }
    let meta = dir.join(META);
    File::open(&meta).and_then(|f| f.sync_all()).at(&meta, "sync")?;
    if objects.is_dir() {
        sync_dir(&objects)?;
    }
    sync_dir(dir)
}

/// Delete every `.tmp-*` in the token directory (left by an interrupted batch).
fn remove_temps(dir: &Path) -> Result<()> {
    let mut removed = false;
    for entry in fs::read_dir(dir).at(dir, "list")? {
        let entry = entry.at(dir, "list")?;
        if entry.file_name().to_string_lossy().starts_with(TMP_PREFIX) {
            remove_any(&entry.path())?;
            removed = true;
        }
    }
    if removed {
        sync_dir(dir)?;
    }
    Ok(())
}

/// Steps 2 and 3 of the journal protocol, which this store no longer writes: the tests use
/// it to leave what earlier builds and the Node directory store leave. `Ok(false)` when a
/// test stops it early.
#[cfg(test)]
fn stage(
    dir: &Path,
    journal: &Journal,
    temps: &[(String, Vec<u8>)],
    stop: Stop,
    modes: Modes,
) -> Result<bool> {
    for (tmp, data) in temps {
        write_file(&dir.join(tmp), data, modes)?;
    }
    sync_dir(dir)?;
    if stop == Stop::AfterTemps {
        return Ok(false);
    }
    let mut frame = journal.encode()?;
    let path = dir.join(JOURNAL);
    if stop == Stop::TornJournal {
        frame.truncate(frame.len() / 2);
    }
    write_file(&path, &frame, modes)?;
    sync_dir(dir)?;
    Ok(!matches!(stop, Stop::TornJournal | Stop::AfterJournal))
}

/// Step 4, idempotent: may run any number of times over a committed journal.
fn roll_forward(dir: &Path, j: &Journal, stop: Stop, modes: Modes) -> Result<()> {
    let objects = dir.join(OBJECTS);
    create_dir(&objects, modes)?;
    if j.wipe {
        let keep: BTreeSet<String> = j.installs.iter().map(|(id, _)| record_file(*id)).collect();
        for entry in fs::read_dir(&objects).at(&objects, "list")? {
            let entry = entry.at(&objects, "list")?;
            if !keep.contains(&*entry.file_name().to_string_lossy()) {
                remove_any(&entry.path())?;
            }
        }
    }
    for id in &j.removes {
        remove_any(&objects.join(record_file(*id)))?;
    }
    for (id, tmp) in &j.installs {
        let target = objects.join(record_file(*id));
        if target.is_dir() {
            // A damaged record (a directory where the file should be) is being replaced.
            remove_any(&target)?;
        }
        match fs::rename(dir.join(tmp), &target) {
            // The temp is gone: this rename was done by an earlier, interrupted run.
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            r => r.at(&target, "rename into place")?,
        }
    }
    sync_dir(&objects)?;
    if stop == Stop::AfterRecords {
        return Ok(());
    }
    match fs::rename(dir.join(&j.meta_tmp), dir.join(META)) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        r => r.at(&dir.join(META), "rename into place")?,
    }
    sync_dir(dir)?;
    if stop == Stop::AfterMeta {
        return Ok(());
    }
    let journal = dir.join(JOURNAL);
    match fs::remove_file(&journal) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        r => r.at(&journal, "remove")?,
    }
    sync_dir(dir)
}

/// `meta.bin`'s contents: generation, frame, metadata blob.
fn frame_meta(name: &str, generation: u64, meta: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + FRAME_LEN + meta.len());
    out.extend_from_slice(&generation.to_le_bytes());
    out.extend_from_slice(FRAME_MAGIC);
    out.extend_from_slice(&meta_check(name, generation, meta));
    out.extend_from_slice(meta);
    out
}

/// `meta.bin`: `None` if absent (no token), an error if shorter than its generation and
/// frame or if its integrity check fails.
fn read_meta(dir: &Path, name: &str) -> Result<Option<(u64, Vec<u8>)>> {
    let path = dir.join(META);
    let mut bytes = match fs::read(&path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        r => r.at(&path, "read")?,
    };
    let Some((generation, rest)) = bytes.split_first_chunk::<8>() else {
        return Err(damaged("shorter than its 8-byte generation")).at(&path, "read");
    };
    let generation = u64::from_le_bytes(*generation);
    let Some(check) = rest.strip_prefix(FRAME_MAGIC).and_then(|r| r.get(..CHECK_LEN)) else {
        return Err(damaged("truncated, or not a metadata file of this format")).at(&path, "read");
    };
    let check: [u8; CHECK_LEN] =
        check.try_into().map_err(|_| Fail::Store(StoreError::Failed(Error::DeviceError)))?;
    bytes.drain(..8 + FRAME_LEN);
    if meta_check(name, generation, &bytes) != check {
        return Err(damaged("integrity check failed (damaged, or copied from another token)"))
            .at(&path, "read");
    }
    Ok(Some((generation, bytes)))
}

/// The generation prefix of `meta.bin` alone: one small read.
fn read_generation(dir: &Path) -> Result<Option<u64>> {
    let path = dir.join(META);
    let mut f = match File::open(&path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        r => r.at(&path, "open")?,
    };
    let mut generation = [0u8; 8];
    match f.read_exact(&mut generation) {
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
            Err(damaged("shorter than its 8-byte generation")).at(&path, "read")
        }
        r => r.at(&path, "read").map(|()| Some(u64::from_le_bytes(generation))),
    }
}

impl Store for FileStore {
    fn take_warnings(&mut self) -> Vec<String> {
        FileStore::take_warnings(self)
    }

    fn record_location(&self, name: &str, id: RecordId) -> String {
        match self.token_dir(name) {
            Ok(dir) => format!("file store: record {}", dir.join(OBJECTS).join(record_file(id)).display()),
            Err(_) => format!("file store: record {id:016x} of token {name:?}"),
        }
    }

    fn load_all(&mut self) -> Result<Vec<TokenSnapshot>, StoreError> {
        let names = self.list()?;
        let mut snapshots = Vec::with_capacity(names.len());
        for name in names {
            match self.load_token(&name) {
                Ok(s) => snapshots.push(s),
                // Gone since it was listed (another process cannot delete tokens yet, but
                // a person can).
                Err(Fail::Store(StoreError::Failed(Error::TokenNotPresent))) => {}
                Err(f) => {
                    let e = self.report("load", &name, f);
                    self.warn(format!("file store: skipping token {name}: {e:?}"));
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
        let r = self.apply_batch(name, expected, batch, Stop::Never);
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
            (FileStore::open(dir.path().join("tokens")).unwrap(), dir)
        },
        reopen = |(store, dir): (FileStore, tempfile::TempDir)| {
            drop(store);
            (FileStore::open(dir.path().join("tokens")).unwrap(), dir)
        }
    );

    const A: &str = "ANYHSM0000000001";
    const B: &str = "ANYHSM0000000002";

    fn new_store() -> (FileStore, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        (FileStore::open(dir.path().join("tokens")).unwrap(), dir)
    }

    fn reopen(s: &FileStore) -> FileStore {
        FileStore::open(s.root()).unwrap()
    }

    fn batch(ops: Vec<Op>) -> Batch {
        Batch { ops, wipe: false }
    }

    fn put(id: RecordId, blob: &[u8]) -> Op {
        Op::Put { id, blob: blob.to_vec() }
    }

    /// Token A at generation 1 with records 1 and 2.
    fn token_a(s: &mut FileStore) {
        let b = batch(vec![Op::PutMeta(b"meta-1".to_vec()), put(1, b"one"), put(2, b"two")]);
        assert_eq!(s.apply(A, 0, &b), Ok(1));
    }

    /// The batch every crash test interrupts: replaces 1, deletes 2, adds 3, new metadata.
    fn second_batch() -> Batch {
        batch(vec![put(1, b"ONE"), Op::Delete { id: 2 }, put(3, b"three"), Op::PutMeta(b"meta-2".to_vec())])
    }

    fn records(s: &mut FileStore, name: &str) -> Vec<(RecordId, Vec<u8>)> {
        s.load(name).unwrap().records
    }

    fn assert_second_batch_absent(s: &mut FileStore) {
        let snap = s.load(A).unwrap();
        assert_eq!(snap.generation, 1);
        assert_eq!(snap.meta, b"meta-1");
        assert_eq!(snap.records, vec![(1, b"one".to_vec()), (2, b"two".to_vec())]);
        assert_eq!(s.generation(A), Ok(1));
    }

    fn assert_second_batch_present(s: &mut FileStore) {
        let snap = s.load(A).unwrap();
        assert_eq!(snap.generation, 2);
        assert_eq!(snap.meta, b"meta-2");
        assert_eq!(snap.records, vec![(1, b"ONE".to_vec()), (3, b"three".to_vec())]);
        assert_eq!(s.generation(A), Ok(2));
    }

    /// Only the live files are left: no journal, no temps.
    fn assert_clean(s: &FileStore, name: &str) {
        let mut left: Vec<String> = fs::read_dir(s.root().join(name))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(left, vec![".lock", "log.bin", "meta.bin", "objects"]);
    }

    /// The second batch, written by this store and stopped at `at`.
    fn crash(s: &mut FileStore, at: Stop) -> u64 {
        s.apply_batch(A, 1, &second_batch(), at).unwrap()
    }

    /// The second batch, written by the journal protocol of earlier builds and of the Node
    /// directory store, stopped at `at`: what a crashed writer of that kind leaves.
    fn legacy_crash(s: &mut FileStore, at: Stop) {
        legacy_apply(s, A, &second_batch(), at);
    }

    fn legacy_apply(s: &mut FileStore, name: &str, b: &Batch, at: Stop) {
        let dir = s.root().join(name);
        create_dir(&dir, s.modes).unwrap();
        create_dir(&dir.join(OBJECTS), s.modes).unwrap();
        let generation = read_generation(&dir).unwrap().unwrap_or(0) + 1;
        let mut meta = read_meta(&dir, name).unwrap().map(|(_, m)| m);
        let mut changes: BTreeMap<RecordId, Option<&[u8]>> = BTreeMap::new();
        for op in &b.ops {
            match op {
                Op::PutMeta(m) => meta = Some(m.clone()),
                Op::Put { id, blob } => {
                    changes.insert(*id, Some(blob));
                }
                Op::Delete { id } => {
                    changes.insert(*id, None);
                }
            }
        }
        let mut j = Journal {
            generation,
            wipe: b.wipe,
            meta_tmp: format!("{TMP_PREFIX}{generation}-meta"),
            installs: vec![],
            removes: vec![],
        };
        let mut temps = vec![];
        for (n, (id, change)) in changes.iter().enumerate() {
            match change {
                Some(blob) => {
                    let tmp = format!("{TMP_PREFIX}{generation}-{n}");
                    j.installs.push((*id, tmp.clone()));
                    temps.push((tmp, frame_record(name, *id, blob)));
                }
                None => j.removes.push(*id),
            }
        }
        temps.push((j.meta_tmp.clone(), frame_meta(name, generation, &meta.unwrap())));
        if stage(&dir, &j, &temps, at, s.modes).unwrap() {
            roll_forward(&dir, &j, at, s.modes).unwrap();
        }
    }

    /// A store on the same root as if the machine had restarted since `s` wrote.
    fn after_restart(s: &FileStore) -> FileStore {
        FileStore::open_booted(s.root(), Modes::default(), [0xb0; log::BOOT_ID_LEN]).unwrap()
    }

    fn log_len(s: &FileStore, name: &str) -> u64 {
        fs::metadata(s.root().join(name).join(log::LOG)).unwrap().len()
    }

    fn log_frames(s: &FileStore, name: &str) -> Vec<u64> {
        let log = Log::open(&s.root().join(name)).unwrap().unwrap();
        log.scan(name).unwrap().frames(name).map(|f| f.generation).collect()
    }

    fn warnings_contain(s: &mut FileStore, needle: &str) -> bool {
        s.take_warnings().iter().any(|w| w.contains(needle))
    }

    #[test]
    fn crash_before_the_journal_leaves_nothing() {
        let (mut s, _d) = new_store();
        token_a(&mut s);
        legacy_crash(&mut s, Stop::AfterTemps);
        assert!(s.root().join(A).join(".tmp-2-meta").exists(), "the crash left temps");
        let mut s = reopen(&s);
        assert_clean(&s, A);
        assert_second_batch_absent(&mut s);
        // And the store carries on from generation 1.
        assert_eq!(s.apply(A, 1, &second_batch()), Ok(2));
        assert_second_batch_present(&mut s);
    }

    #[test]
    fn torn_journal_is_discarded_with_the_temps() {
        let (mut s, _d) = new_store();
        token_a(&mut s);
        legacy_crash(&mut s, Stop::TornJournal);
        assert!(s.root().join(A).join(JOURNAL).exists());
        let mut s = reopen(&s);
        assert!(warnings_contain(&mut s, "incomplete journal"));
        assert_clean(&s, A);
        assert_second_batch_absent(&mut s);
    }

    #[test]
    fn journal_with_a_bad_checksum_is_discarded() {
        let (mut s, _d) = new_store();
        token_a(&mut s);
        legacy_crash(&mut s, Stop::AfterJournal);
        let path = s.root().join(A).join(JOURNAL);
        let mut bytes = fs::read(&path).unwrap();
        bytes[20] ^= 1;
        fs::write(&path, &bytes).unwrap();
        let mut s = reopen(&s);
        assert!(warnings_contain(&mut s, "incomplete journal"));
        assert_clean(&s, A);
        assert_second_batch_absent(&mut s);
    }

    #[test]
    fn committed_journal_is_rolled_forward_at_open() {
        for at in [Stop::AfterJournal, Stop::AfterRecords, Stop::AfterMeta] {
            let (mut s, _d) = new_store();
            token_a(&mut s);
            legacy_crash(&mut s, at);
            assert!(s.root().join(A).join(JOURNAL).exists(), "{at:?}");
            let mut s = reopen(&s);
            assert!(warnings_contain(&mut s, "completing a batch"), "{at:?}");
            assert_clean(&s, A);
            assert_second_batch_present(&mut s);
        }
    }

    #[test]
    fn committed_journal_is_rolled_forward_by_readers_and_writers() {
        // load
        let (mut s, _d) = new_store();
        token_a(&mut s);
        legacy_crash(&mut s, Stop::AfterJournal);
        assert_second_batch_present(&mut s);
        assert_clean(&s, A);
        // generation
        let (mut s, _d) = new_store();
        token_a(&mut s);
        legacy_crash(&mut s, Stop::AfterRecords);
        assert_eq!(s.generation(A), Ok(2));
        assert_clean(&s, A);
        // apply: the stale writer learns the rolled-forward generation
        let (mut s, _d) = new_store();
        token_a(&mut s);
        legacy_crash(&mut s, Stop::AfterJournal);
        assert_eq!(s.apply(A, 1, &batch(vec![])), Err(StoreError::Stale { current: 2 }));
        assert_second_batch_present(&mut s);
        // list and load_all
        let (mut s, _d) = new_store();
        token_a(&mut s);
        legacy_crash(&mut s, Stop::AfterJournal);
        let all = s.load_all().unwrap();
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].generation, 2);
    }

    #[test]
    fn interrupted_roll_forward_is_completed() {
        // A crash in the middle of step 4: only the first rename was done.
        let (mut s, _d) = new_store();
        token_a(&mut s);
        legacy_crash(&mut s, Stop::AfterJournal);
        let dir = s.root().join(A);
        let j = Journal::decode(&fs::read(dir.join(JOURNAL)).unwrap()).unwrap();
        assert_eq!(j.generation, 2);
        assert_eq!(j.removes, vec![2]);
        let (id, tmp) = &j.installs[0];
        fs::rename(dir.join(tmp), dir.join(OBJECTS).join(record_file(*id))).unwrap();
        let mut s = reopen(&s);
        assert_clean(&s, A);
        assert_second_batch_present(&mut s);
        // Rolling the same journal forward again changes nothing.
        roll_forward(&dir, &j, Stop::Never, Modes::default()).unwrap();
        assert_second_batch_present(&mut s);
    }

    #[test]
    fn crash_while_creating_a_token() {
        let (mut s, _d) = new_store();
        let b = batch(vec![Op::PutMeta(b"m".to_vec()), put(1, b"x")]);
        // Before the commit point: the token does not exist.
        legacy_apply(&mut s, A, &b, Stop::TornJournal);
        let mut s = reopen(&s);
        assert_eq!(s.list(), Ok(vec![]));
        assert_eq!(s.generation(A), Ok(0));
        assert_eq!(s.load(A), Err(StoreError::Failed(Error::TokenNotPresent)));
        // After it: it does, even for `list` without a reopen.
        legacy_apply(&mut s, A, &b, Stop::AfterJournal);
        assert_eq!(s.list(), Ok(vec![A.to_owned()]));
        assert_eq!(records(&mut s, A), vec![(1, b"x".to_vec())]);
    }

    #[test]
    fn crash_during_a_wipe() {
        let (mut s, _d) = new_store();
        token_a(&mut s);
        let b = Batch { ops: vec![put(2, b"new two"), put(5, b"five")], wipe: true };
        legacy_apply(&mut s, A, &b, Stop::AfterRecords);
        let mut s = reopen(&s);
        let snap = s.load(A).unwrap();
        assert_eq!(snap.generation, 2);
        assert_eq!(snap.meta, b"meta-1");
        assert_eq!(snap.records, vec![(2, b"new two".to_vec()), (5, b"five".to_vec())]);
    }

    #[test]
    fn a_write_is_one_frame_in_the_log_and_its_files() {
        let (mut s, _d) = new_store();
        token_a(&mut s);
        assert_eq!(s.apply(A, 1, &second_batch()), Ok(2));
        assert_eq!(log_frames(&s, A), vec![1, 2]);
        let log = Log::open(&s.root().join(A)).unwrap().unwrap();
        let scan = log.scan(A).unwrap();
        let second = scan.frames(A).nth(1).unwrap();
        assert_eq!((second.index, second.meta, second.wipe), (1, &b"meta-2"[..], false));
        assert_eq!(second.puts, vec![(1, &b"ONE"[..]), (3, &b"three"[..])]);
        assert_eq!(second.deletes, vec![2]);
        assert_eq!(second.boot, s.boot);
        assert_clean(&s, A);
        assert_second_batch_present(&mut reopen(&s));
    }

    #[test]
    fn crash_after_the_commit_point_is_completed_by_the_next_reader_or_writer() {
        // load, in this process (it did not see its own write applied) and at open.
        for reopened in [false, true] {
            let (mut s, _d) = new_store();
            token_a(&mut s);
            assert_eq!(crash(&mut s, Stop::AfterCommit), 2);
            assert_eq!(read_generation(&s.root().join(A)).unwrap(), Some(1), "nothing applied");
            let mut s = if reopened { reopen(&s) } else { s };
            assert_second_batch_present(&mut s);
            assert!(warnings_contain(&mut s, "completing a batch"));
            assert_clean(&s, A);
        }
        // A stale writer: the frame is applied first, so it learns generation 2.
        let (mut s, _d) = new_store();
        token_a(&mut s);
        crash(&mut s, Stop::AfterCommit);
        assert_eq!(s.apply(A, 1, &batch(vec![])), Err(StoreError::Stale { current: 2 }));
        assert_eq!(s.apply(A, 2, &batch(vec![put(4, b"four")])), Ok(3));
        assert_eq!(log_frames(&s, A), vec![1, 2, 3]);
        assert_eq!(records(&mut s, A).len(), 3);
    }

    #[test]
    fn crash_while_applying_is_completed() {
        let (mut s, _d) = new_store();
        token_a(&mut s);
        crash(&mut s, Stop::MidApply);
        let dir = s.root().join(A);
        assert_eq!(fs::read(dir.join(OBJECTS).join(record_file(3))).unwrap()[FRAME_LEN..], *b"three");
        assert_eq!(read_generation(&dir).unwrap(), Some(1));
        let mut s = reopen(&s);
        assert_clean(&s, A);
        assert_second_batch_present(&mut s);
        // A wipe interrupted the same way.
        let b = Batch { ops: vec![put(2, b"new two"), put(5, b"five")], wipe: true };
        s.apply_batch(A, 2, &b, Stop::MidApply).unwrap();
        let snap = reopen(&s).load(A).unwrap();
        assert_eq!((snap.generation, &snap.meta[..]), (3, &b"meta-2"[..]));
        assert_eq!(snap.records, vec![(2, b"new two".to_vec()), (5, b"five".to_vec())]);
    }

    #[test]
    fn torn_frame_is_cut_off_and_the_log_goes_on_from_there() {
        let (mut s, _d) = new_store();
        token_a(&mut s);
        let intact = log_len(&s, A);
        crash(&mut s, Stop::TornFrame);
        assert!(log_len(&s, A) > intact);
        // Readers see the last committed state; the next writer cuts the torn frame off.
        assert_second_batch_absent(&mut s);
        assert_eq!(log_len(&s, A), intact);
        assert!(warnings_contain(&mut s, "interrupted write"));
        assert_eq!(s.apply(A, 1, &second_batch()), Ok(2));
        assert_eq!(log_frames(&s, A), vec![1, 2]);
        // And after a restart the whole log replays.
        let mut s = after_restart(&s);
        assert!(warnings_contain(&mut s, "replaying the 2 batches"));
        assert_second_batch_present(&mut s);
    }

    #[test]
    fn torn_frame_after_a_restart_is_cut_off_before_the_replay() {
        let (mut s, _d) = new_store();
        token_a(&mut s);
        crash(&mut s, Stop::TornFrame);
        let mut s = after_restart(&s);
        let w = s.take_warnings();
        assert!(w.iter().any(|w| w.contains("interrupted write")), "{w:?}");
        assert!(w.iter().any(|w| w.contains("replaying the 1 batches")), "{w:?}");
        assert_second_batch_absent(&mut s);
        assert_eq!(log_len(&s, A), 0, "checkpointed");
    }

    /// What a power loss may leave of writes that were applied but never synced: any of
    /// them, in any combination, each file old, new, empty or absent.
    #[test]
    fn power_loss_after_unsynced_writes_is_repaired_by_the_replay() {
        type Revert = fn(&Path, &BTreeMap<String, Vec<u8>>);
        let reverts: [(&str, Revert); 4] = [
            ("nothing of the token reached the disk", |dir, _| {
                fs::remove_file(dir.join(META)).unwrap();
                fs::remove_dir_all(dir.join(OBJECTS)).unwrap();
            }),
            ("meta.bin did, the records did not", |dir, before| {
                fs::remove_dir_all(dir.join(OBJECTS)).unwrap();
                fs::create_dir(dir.join(OBJECTS)).unwrap();
                for (f, bytes) in before {
                    fs::write(dir.join(OBJECTS).join(f), bytes).unwrap();
                }
            }),
            ("files are there but empty", |dir, _| {
                fs::write(dir.join(META), b"").unwrap();
                for e in fs::read_dir(dir.join(OBJECTS)).unwrap() {
                    fs::write(e.unwrap().path(), b"").unwrap();
                }
            }),
            ("a deleted record came back, a new one is torn", |dir, before| {
                let two = record_file(2);
                fs::write(dir.join(OBJECTS).join(&two), &before[&two]).unwrap();
                let three = dir.join(OBJECTS).join(record_file(3));
                let bytes = fs::read(&three).unwrap();
                fs::write(&three, &bytes[..bytes.len() - 2]).unwrap();
            }),
        ];
        for (what, revert) in reverts {
            let (mut s, _d) = new_store();
            token_a(&mut s);
            let dir = s.root().join(A);
            let before: BTreeMap<String, Vec<u8>> = fs::read_dir(dir.join(OBJECTS))
                .unwrap()
                .map(|e| e.unwrap())
                .map(|e| (e.file_name().to_string_lossy().into_owned(), fs::read(e.path()).unwrap()))
                .collect();
            assert_eq!(s.apply(A, 1, &second_batch()), Ok(2));
            revert(&dir, &before);
            let mut s = after_restart(&s);
            assert!(warnings_contain(&mut s, "left by a previous boot"), "{what}");
            assert_second_batch_present(&mut s);
            assert_eq!(log_len(&s, A), 0, "{what}: checkpointed");
            assert_clean(&s, A);
            // Replayed once: the next restart finds nothing to do.
            let mut s = after_restart(&s);
            assert!(s.take_warnings().is_empty(), "{what}");
            assert_second_batch_present(&mut s);
        }
    }

    #[test]
    fn a_full_log_is_checkpointed_and_emptied() {
        for durability in [Durability::SyncFs, Durability::EachFile] {
            let (mut s, _d) = new_store();
            s.limits = LogLimits { frames: 3, bytes: u64::MAX };
            s.durability = durability;
            token_a(&mut s);
            assert_eq!(s.apply(A, 1, &second_batch()), Ok(2));
            assert_eq!(log_frames(&s, A), vec![1, 2]);
            assert_eq!(s.apply(A, 2, &batch(vec![put(4, b"four")])), Ok(3));
            assert_eq!(log_len(&s, A), 0, "{durability:?}");
            assert_eq!(s.apply(A, 3, &batch(vec![Op::Delete { id: 4 }])), Ok(4));
            assert_eq!(log_frames(&s, A), vec![4], "the log starts again at index 0");
            let mut s = after_restart(&s);
            let snap = s.load(A).unwrap();
            assert_eq!(snap.generation, 4);
            assert_eq!(snap.records, vec![(1, b"ONE".to_vec()), (3, b"three".to_vec())]);
        }
        // By size too.
        let (mut s, _d) = new_store();
        s.limits = LogLimits { frames: u64::MAX, bytes: 1 };
        token_a(&mut s);
        assert_eq!(log_len(&s, A), 0);
    }

    #[test]
    fn an_interrupted_checkpoint_is_harmless() {
        let (mut s, _d) = new_store();
        s.limits = LogLimits { frames: 2, bytes: u64::MAX };
        token_a(&mut s);
        // Synced, then killed before emptying the log.
        assert_eq!(crash(&mut s, Stop::InCheckpoint), 2);
        assert_eq!(log_frames(&s, A), vec![1, 2]);
        let mut same_boot = reopen(&s);
        assert!(same_boot.take_warnings().is_empty());
        assert_second_batch_present(&mut same_boot);
        // After a restart the frames replay over their own effect, then the log empties.
        let mut s = after_restart(&s);
        assert_second_batch_present(&mut s);
        assert_eq!(log_len(&s, A), 0);
    }

    #[test]
    fn a_writer_without_the_log_makes_it_obsolete() {
        // Records of the token, written by a Node directory store or an earlier build, which
        // do not know the log: the next write here checkpoints and empties it first, so a
        // replay never puts an older frame over their batch.
        let (mut s, _d) = new_store();
        token_a(&mut s);
        legacy_apply(&mut s, A, &second_batch(), Stop::Never);
        assert_eq!(log_frames(&s, A), vec![1]);
        assert_eq!(s.apply(A, 2, &batch(vec![put(4, b"four")])), Ok(3));
        assert!(warnings_contain(&mut s, "without its log"));
        assert_eq!(log_frames(&s, A), vec![3]);
        let mut s = after_restart(&s);
        let snap = s.load(A).unwrap();
        assert_eq!(snap.generation, 3);
        assert_eq!(snap.meta, b"meta-2");
        assert_eq!(snap.records, vec![(1, b"ONE".to_vec()), (3, b"three".to_vec()), (4, b"four".to_vec())]);
        // After a restart, a log older than meta.bin is not replayed over it.
        let (mut s, _d) = new_store();
        token_a(&mut s);
        legacy_apply(&mut s, A, &second_batch(), Stop::Never);
        let mut s = after_restart(&s);
        assert!(warnings_contain(&mut s, "not replaying"));
        assert_second_batch_present(&mut s);
        assert_eq!(log_len(&s, A), 0);
    }

    #[test]
    fn crash_after_committing_a_new_token() {
        let (mut s, _d) = new_store();
        let b = batch(vec![Op::PutMeta(b"m".to_vec()), put(1, b"x")]);
        s.apply_batch(A, 0, &b, Stop::TornFrame).unwrap();
        let mut s = reopen(&s);
        assert_eq!(s.list(), Ok(vec![]));
        assert_eq!(s.load(A), Err(StoreError::Failed(Error::TokenNotPresent)));
        s.apply_batch(A, 0, &b, Stop::AfterCommit).unwrap();
        assert_eq!(s.list(), Ok(vec![A.to_owned()]));
        assert_eq!(records(&mut s, A), vec![(1, b"x".to_vec())]);
        assert_clean(&s, A);
    }

    /// A token large enough to be read through its pack, its files older than the racy
    /// window by the store's clock.
    fn packed_token(s: &mut FileStore) -> u64 {
        s.clock = || std::time::SystemTime::now() + 2 * pack::RACY;
        let n = PACK_MIN as u64 + 8;
        let mut ops = vec![Op::PutMeta(b"m".to_vec())];
        ops.extend((0..n).map(|i| put(i, &i.to_le_bytes())));
        assert_eq!(s.apply(A, 0, &batch(ops)), Ok(1));
        n
    }

    #[test]
    fn large_tokens_are_cached_in_a_pack_checked_file_by_file() {
        let (mut s, _d) = new_store();
        let n = packed_token(&mut s);
        let dir = s.root().join(A);
        assert!(!dir.join(pack::PACK).exists());
        assert_eq!(records(&mut s, A).len() as u64, n);
        assert_eq!(Pack::read(&dir, A).map(|p| p.len() as u64), Some(n), "the first load packs");

        // Prove that blobs come from the pack: one with other contents for the same files.
        let objects = dir.join(OBJECTS);
        let objects_fd = File::open(&objects).unwrap();
        let ids: Vec<_> = (0..n).map(|i| FileId::of(&objects_fd, record_file(i).as_ref()).unwrap()).collect();
        let forged: Vec<Vec<u8>> = (0..n).map(|i| format!("cached {i}").into_bytes()).collect();
        let entries = ids.iter().zip(&forged).zip(0..).map(|((f, blob), i)| (i, *f, &blob[..]));
        Pack::write(&dir, A, Modes::default(), entries.collect::<Vec<_>>().into_iter()).unwrap();
        let loaded = records(&mut s, A);
        assert_eq!(loaded[5], (5, b"cached 5".to_vec()));

        // Every change to a file since it was packed reads that file again: written by this
        // store (a new inode), edited in place with the same size, damaged, deleted; and a
        // record that is not in the pack is read too.
        assert_eq!(
            s.apply(A, 1, &batch(vec![put(1, b"new one"), Op::Delete { id: 2 }, put(n, b"new")])),
            Ok(2)
        );
        let three = objects.join(record_file(3));
        fs::write(&three, frame_record(A, 3, b"33333333")).unwrap();
        let mut four = fs::read(objects.join(record_file(4))).unwrap();
        let last = four.len() - 1;
        four[last] ^= 1;
        fs::write(objects.join(record_file(4)), &four).unwrap();
        let snap = s.load(A).unwrap();
        assert_eq!(snap.damaged, vec![4], "the damaged file of a packed token");
        let loaded: BTreeMap<_, _> = snap.records.into_iter().collect();
        assert_eq!(loaded[&1], b"new one");
        assert!(!loaded.contains_key(&2));
        assert_eq!(loaded[&3], b"33333333");
        assert!(!loaded.contains_key(&4), "damaged, not served from the pack");
        assert!(warnings_contain(&mut s, &record_file(4)));
        assert_eq!(loaded[&5], b"cached 5");
        assert_eq!(loaded[&n], b"new");
        assert_eq!(loaded.len() as u64, n - 1);
    }

    #[test]
    fn a_damaged_or_foreign_pack_is_ignored() {
        let (mut s, _d) = new_store();
        let n = packed_token(&mut s);
        let expected = records(&mut s, A);
        let dir = s.root().join(A);
        let packed = fs::read(dir.join(pack::PACK)).unwrap();
        let mut bad = packed.clone();
        bad[40] ^= 1;
        for pack in [bad, packed[..packed.len() / 2].to_vec(), b"".to_vec()] {
            fs::write(dir.join(pack::PACK), pack).unwrap();
            assert_eq!(records(&mut s, A), expected);
            assert_eq!(Pack::read(&dir, A).map(|p| p.len() as u64), Some(n), "and rewritten");
        }
        // Another token's pack, copied over.
        let mut ops = vec![Op::PutMeta(b"b".to_vec())];
        ops.extend((0..n).map(|i| put(i, b"B")));
        assert_eq!(s.apply(B, 0, &batch(ops)), Ok(1));
        records(&mut s, B);
        fs::copy(s.root().join(B).join(pack::PACK), dir.join(pack::PACK)).unwrap();
        assert_eq!(records(&mut s, A), expected);
    }

    #[test]
    fn files_changed_within_the_racy_window_are_not_packed() {
        let (mut s, _d) = new_store();
        packed_token(&mut s);
        s.clock = std::time::SystemTime::now;
        records(&mut s, A);
        assert!(!s.root().join(A).join(pack::PACK).exists(), "every file is too recent");
    }

    #[test]
    fn journal_frame_round_trips_and_rejects_damage() {
        let j = Journal {
            generation: 7,
            wipe: true,
            meta_tmp: ".tmp-7-meta".into(),
            installs: vec![(1, ".tmp-7-0".into())],
            removes: vec![2, 3],
        };
        let frame = j.encode().unwrap();
        assert_eq!(Journal::decode(&frame), Some(j));
        for len in 0..frame.len() {
            assert_eq!(Journal::decode(&frame[..len]), None, "truncated to {len}");
        }
        let mut longer = frame.clone();
        longer.push(0);
        assert_eq!(Journal::decode(&longer), None);
        for i in 0..frame.len() {
            let mut bad = frame.clone();
            bad[i] ^= 0x80;
            assert_eq!(Journal::decode(&bad), None, "byte {i} flipped");
        }
        // A checksummed journal naming a path outside the token is refused too.
        let evil = Journal {
            generation: 1,
            wipe: false,
            meta_tmp: "../../etc/passwd".into(),
            installs: vec![],
            removes: vec![],
        };
        assert_eq!(Journal::decode(&evil.encode().unwrap()), None);
    }

    #[test]
    fn layout_and_permissions() {
        let (mut s, _d) = new_store();
        token_a(&mut s);
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let dir = s.root().join(A);
        assert_eq!(mode(s.root()), 0o700, "root");
        assert_eq!(mode(&dir), 0o700, "token directory");
        assert_eq!(mode(&dir.join(OBJECTS)), 0o700, "objects");
        assert_eq!(mode(&dir.join(META)), 0o600, "meta.bin");
        assert_eq!(mode(&dir.join(LOCK)), 0o600, ".lock");
        assert_eq!(mode(&dir.join(log::LOG)), 0o600, "log.bin");
        let rec = dir.join(OBJECTS).join("0000000000000001.rec");
        assert_eq!(mode(&rec), 0o600, "record");
        let file = fs::read(&rec).unwrap();
        assert_eq!(&file[..4], b"AHF1");
        assert_eq!(file[4..20], record_check(A, 1, b"one"));
        assert_eq!(&file[20..], b"one");
        let meta = fs::read(dir.join(META)).unwrap();
        assert_eq!(meta[..8], 1u64.to_le_bytes());
        assert_eq!(&meta[8..12], b"AHF1");
        assert_eq!(meta[12..28], meta_check(A, 1, b"meta-1"));
        assert_eq!(&meta[28..], b"meta-1");
        assert_clean(&s, A);
    }

    #[test]
    fn umask_is_applied_to_everything_created() {
        let d = tempfile::tempdir().unwrap();
        let mut s = FileStore::open_with(d.path().join("t"), Modes::with_umask(0o027).unwrap()).unwrap();
        token_a(&mut s);
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let dir = s.root().join(A);
        assert_eq!(mode(s.root()), 0o750);
        assert_eq!(mode(&dir), 0o750);
        assert_eq!(mode(&dir.join(OBJECTS)), 0o750);
        assert_eq!(mode(&dir.join(META)), 0o640);
        assert_eq!(mode(&dir.join(LOCK)), 0o640);
        assert_eq!(mode(&dir.join(log::LOG)), 0o640);
        assert_eq!(mode(&dir.join(OBJECTS).join("0000000000000002.rec")), 0o640);
    }

    #[test]
    fn damaged_record_files_are_skipped_and_named() {
        let (mut s, _d) = new_store();
        token_a(&mut s);
        assert_eq!(s.apply(A, 1, &batch(vec![put(3, b"three"), put(4, b"four"), put(5, b"five")])), Ok(2));
        assert_eq!(s.apply(B, 0, &batch(vec![Op::PutMeta(b"b".to_vec()), put(1, b"one")])), Ok(1));
        let objects = s.root().join(A).join(OBJECTS);
        let file = |id: u64| objects.join(record_file(id));
        // 1: truncated; 2: a flipped byte; 3: record 1 of token B; 4: record 5 of this token.
        let one = fs::read(file(1)).unwrap();
        fs::write(file(1), &one[..one.len() - 1]).unwrap();
        let mut two = fs::read(file(2)).unwrap();
        two[21] ^= 0x01;
        fs::write(file(2), &two).unwrap();
        fs::copy(s.root().join(B).join(OBJECTS).join(record_file(1)), file(3)).unwrap();
        fs::copy(file(5), file(4)).unwrap();
        // 6: intact, but of a record format newer than this build's.
        let v = anyhsm_core::store::record::FORMAT_VERSION + 1;
        fs::write(file(6), frame_record(A, 6, &[b'A', b'H', b'O', v, 0])).unwrap();
        fs::write(file(7), b"AHF").unwrap();

        let snap = s.load(A).unwrap();
        assert_eq!(snap.records, vec![(5, b"five".to_vec())]);
        let mut damaged = snap.damaged.clone();
        damaged.sort_unstable();
        assert_eq!(damaged, vec![1, 2, 3, 4, 6, 7], "each handed to the engine for its placeholder");
        let w = s.take_warnings();
        for id in [1, 2, 3, 4, 6, 7] {
            let path = file(id).display().to_string();
            assert!(w.iter().any(|w| w.contains(&path)), "record {id} is named: {w:?}");
        }
        assert_eq!(w.iter().filter(|w| w.contains("integrity check failed")).count(), 4, "{w:?}");
        assert!(w.iter().any(|w| w.contains(&format!("format version {v}"))), "{w:?}");
    }

    #[test]
    fn large_tokens_are_read_in_parallel_with_damage_named() {
        let (mut s, _d) = new_store();
        let n = 2 * PARALLEL_READ_MIN as u64;
        let mut ops = vec![Op::PutMeta(b"m".to_vec())];
        ops.extend((0..n).map(|i| put(i, &i.to_le_bytes())));
        assert_eq!(s.apply(A, 0, &batch(ops)), Ok(1));
        let objects = s.root().join(A).join(OBJECTS);
        // One damaged record early, one late: in different threads' shares.
        for id in [3, n - 3] {
            fs::write(objects.join(record_file(id)), b"AHF1 damaged").unwrap();
        }
        let snap = s.load(A).unwrap();
        let mut damaged = snap.damaged.clone();
        damaged.sort_unstable();
        assert_eq!(damaged, vec![3, n - 3]);
        let records = snap.records;
        assert_eq!(records.len(), usize::try_from(n - 2).unwrap());
        assert!(records.iter().all(|(id, blob)| *blob == id.to_le_bytes()), "every blob with its own id");
        let w = s.take_warnings();
        for id in [3, n - 3] {
            let path = objects.join(record_file(id)).display().to_string();
            assert!(w.iter().any(|w| w.contains(&path)), "{path} named: {w:?}");
        }
        assert_eq!(w.len(), 2, "{w:?}");
    }

    #[test]
    fn damaged_metadata_is_detected() {
        let (mut s, _d) = new_store();
        token_a(&mut s);
        let meta = s.root().join(A).join(META);
        let mut bytes = fs::read(&meta).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 0x20;
        fs::write(&meta, &bytes).unwrap();
        assert_eq!(s.load(A), Err(StoreError::Failed(Error::DeviceError)));
        assert!(warnings_contain(&mut s, "meta.bin"));
        // A writer does not re-sign damaged metadata.
        assert_eq!(s.apply(A, 1, &batch(vec![])), Err(StoreError::Failed(Error::DeviceError)));
    }

    #[test]
    fn root_that_is_a_file_is_an_error_naming_it() {
        let d = tempfile::tempdir().unwrap();
        let file = d.path().join("not-a-dir");
        fs::write(&file, b"x").unwrap();
        for root in [file.clone(), file.join("tokens")] {
            let e = FileStore::open(&root).unwrap_err();
            assert_eq!(e.ck_error(), Error::DeviceError);
            assert_eq!(e.path(), root);
            let msg = e.to_string();
            assert!(msg.contains(&root.display().to_string()), "{msg}");
            assert!(core::error::Error::source(&e).is_some());
        }
        assert!(FileStore::open(&file).unwrap_err().to_string().contains("not a directory"));
    }

    #[test]
    fn open_creates_missing_parents() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path().join("a/b/tokens");
        let mut s = FileStore::open(&root).unwrap();
        assert!(root.is_dir());
        assert_eq!(s.list(), Ok(vec![]));
        assert!(fs::read_dir(&root).unwrap().next().is_none(), "the probe is gone");
    }

    #[test]
    fn bad_token_names_are_refused() {
        let (mut s, _d) = new_store();
        let long = "a".repeat(65);
        let b = batch(vec![Op::PutMeta(b"m".to_vec())]);
        for name in ["", "..", ".", "a/b", "../x", ".hidden", "sp ace", "é", long.as_str()] {
            let bad = Err(StoreError::Failed(Error::ArgumentsBad));
            assert_eq!(s.apply(name, 0, &b), bad, "{name:?}");
            assert_eq!(s.load(name).map(|_| 0), bad, "{name:?}");
            assert_eq!(s.generation(name), bad, "{name:?}");
        }
        for name in ["a", "A-b_9", "a".repeat(64).as_str()] {
            assert_eq!(s.apply(name, 0, &b), Ok(1), "{name:?}");
        }
        assert_eq!(fs::read_dir(s.root()).unwrap().count(), 3);
    }

    #[test]
    fn strangers_in_the_root_are_not_tokens() {
        let (mut s, _d) = new_store();
        token_a(&mut s);
        fs::create_dir(s.root().join("lost+found")).unwrap();
        fs::create_dir(s.root().join("EMPTY")).unwrap();
        fs::write(s.root().join("README"), b"hi").unwrap();
        assert_eq!(s.list(), Ok(vec![A.to_owned()]));
        assert_eq!(s.load_all().unwrap().len(), 1);
        assert_eq!(s.generation("EMPTY"), Ok(0));
        assert_eq!(s.load("EMPTY"), Err(StoreError::Failed(Error::TokenNotPresent)));
        let s = reopen(&s);
        drop(s);
    }

    #[test]
    fn damaged_record_is_skipped_and_reported() {
        let (mut s, _d) = new_store();
        token_a(&mut s);
        let objects = s.root().join(A).join(OBJECTS);
        let two = objects.join("0000000000000002.rec");
        fs::remove_file(&two).unwrap();
        fs::create_dir(&two).unwrap(); // unreadable as a file, even for root
        fs::write(objects.join("notes.txt"), b"?").unwrap();

        assert_eq!(records(&mut s, A), vec![(1, b"one".to_vec())]);
        let w = s.take_warnings();
        assert!(
            w.iter().any(|w| w.contains("damaged record") && w.contains(&*two.to_string_lossy())),
            "{w:?}"
        );
        assert!(w.iter().any(|w| w.contains("notes.txt")), "{w:?}");
        assert!(s.take_warnings().is_empty(), "taken");
        assert_eq!(s.load_all().unwrap()[0].records.len(), 1);

        // Writing the record again repairs it.
        assert_eq!(s.apply(A, 1, &batch(vec![put(2, b"again")])), Ok(2));
        assert_eq!(records(&mut s, A), vec![(1, b"one".to_vec()), (2, b"again".to_vec())]);
    }

    #[test]
    fn damaged_metadata_hides_only_its_token() {
        let (mut s, _d) = new_store();
        token_a(&mut s);
        assert_eq!(s.apply(B, 0, &batch(vec![Op::PutMeta(b"b".to_vec())])), Ok(1));
        fs::write(s.root().join(B).join(META), b"abc").unwrap();
        let all = s.load_all().unwrap();
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].name, A);
        assert!(warnings_contain(&mut s, B));
        assert_eq!(s.load(B), Err(StoreError::Failed(Error::DeviceError)));
        assert_eq!(s.generation(B), Err(StoreError::Failed(Error::DeviceError)));
        let w = s.take_warnings();
        assert!(w.iter().any(|w| w.contains("meta.bin") && w.contains("8-byte")), "{w:?}");
    }

    #[test]
    fn io_errors_map_to_device_codes() {
        let code = |errno| io_error_code(&io::Error::from_raw_os_error(errno));
        assert_eq!(code(libc::ENOSPC), Error::DeviceMemory);
        assert_eq!(code(libc::EDQUOT), Error::DeviceMemory);
        assert_eq!(code(libc::EIO), Error::DeviceError);
        assert_eq!(code(libc::EACCES), Error::DeviceError);
        assert_eq!(code(libc::EROFS), Error::DeviceError);
    }

    #[test]
    fn failed_staging_leaves_no_trace() {
        let (mut s, _d) = new_store();
        token_a(&mut s);
        let r = s.apply_batch(A, 1, &second_batch(), Stop::FullDisk);
        let e = s.report("apply batch to", A, r.unwrap_err());
        assert_eq!(e, StoreError::Failed(Error::DeviceMemory));
        assert!(warnings_contain(&mut s, "log.bin"));
        assert_clean(&s, A);
        assert_eq!(log_frames(&s, A), vec![1], "the half frame was cut off again");
        assert_second_batch_absent(&mut s);
        let mut s = reopen(&s);
        assert_second_batch_absent(&mut s);
        assert!(s.take_warnings().is_empty(), "nothing left to recover");
    }

    #[test]
    fn two_stores_on_one_root_see_each_other() {
        let (mut s1, _d) = new_store();
        let mut s2 = reopen(&s1);
        token_a(&mut s1);
        assert_eq!(s2.generation(A), Ok(1));
        assert_eq!(s2.list(), Ok(vec![A.to_owned()]));
        assert_eq!(s2.apply(A, 1, &batch(vec![put(9, b"nine")])), Ok(2));
        assert_eq!(s1.apply(A, 1, &batch(vec![])), Err(StoreError::Stale { current: 2 }));
        assert_eq!(records(&mut s1, A).len(), 3);
    }

    #[test]
    fn concurrent_writers_serialize() {
        let (mut s, _d) = new_store();
        assert_eq!(s.apply(A, 0, &batch(vec![Op::PutMeta(b"m".to_vec())])), Ok(1));
        const THREADS: u64 = 4;
        const EACH: u64 = 10;
        let root = s.root().to_owned();
        let handles: Vec<_> = (0..THREADS)
            .map(|t| {
                let root = root.clone();
                std::thread::spawn(move || {
                    let mut s = FileStore::open(root).unwrap();
                    for i in 0..EACH {
                        let id = t * 100 + i;
                        loop {
                            let g = s.generation(A).unwrap();
                            match s.apply(A, g, &batch(vec![put(id, &id.to_le_bytes())])) {
                                Ok(n) => break assert_eq!(n, g + 1),
                                Err(StoreError::Stale { .. }) => continue,
                                Err(e) => panic!("{e:?}"),
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
        assert_clean(&s, A);
    }
}
