//! The native module's stores: implementations of [`anyhsm_core::store::Store`] on disk.
//! The engine never sees which one it runs on; the configuration picks it
//! (`backend = "file"` or `"sqlite"`, see [`crate::config`]).
//!
//! Both stores share what is here: the permissions of what they create ([`Modes`]), the
//! preparation of the root directory (and its clear error, [`OpenError`]), token names, and
//! the *integrity check* every stored record carries.
//!
//! # Integrity checks
//!
//! The engine's blobs carry their own format version and, for private data, their own AEAD
//! tag (DESIGN §3). Public objects are stored in clear and have no tag, so a flipped bit in
//! one, a truncated file or a record copied from another token would otherwise decode into
//! *wrong data* instead of an error. Each store therefore keeps, beside every blob, the first
//! 16 bytes of SHA-256 over a domain string, the token name, the record id (or, for the
//! metadata, the generation) and the blob. A record whose check does not match is skipped
//! with a warning naming the file (and the row); it never reaches the engine. This is a
//! check against accidental damage, not against an attacker who can write the directory
//! (who can recompute it): that is the job of the engine's sealing.
//!
//! # Rebasing under the lock
//!
//! The engine writes optimistically: it computes a batch against the generation it holds and
//! `apply` refuses it with `Stale` if another process wrote first; the engine then reloads
//! the token and computes again (`Engine::transact`, at most 16 times). Under steady
//! contention that alone can starve a process: its reload of a large token takes longer than
//! the other writers need to commit again, so every retry is stale again (measured: 4
//! processes creating objects on one token gave up after 16 rebases within the first 30
//! creates, on both stores).
//!
//! So a store that answers `Stale` **keeps the token's write lock** (the file store its
//! exclusive `flock`, the SQLite store its open `BEGIN IMMEDIATE` transaction, in which
//! nothing was written): the engine's immediate rebase — its `load` of that token and its
//! next `apply` to it — runs under the lock and cannot lose again. The lock is let go by
//! that `apply` (whatever its result), by any other store call, and by `take_warnings`,
//! which the native module calls at the end of every `C_*` call (`abi::entry`); so it is
//! never held beyond the call that needed it, even when the rebase ends in an error
//! between the two. Other processes only wait for the rebase (a reload and a compute).

use core::{
    fmt,
    sync::atomic::{AtomicU64, Ordering},
};
use std::{
    fs::{self, DirBuilder, OpenOptions},
    io,
    os::unix::fs::{DirBuilderExt, OpenOptionsExt},
    path::{Path, PathBuf},
};

use anyhsm_core::{
    Error,
    store::{RecordId, record},
};
use sha2::{Digest, Sha256};

pub mod file;
pub mod sqlite;

pub use file::FileStore;
pub use sqlite::SqliteStore;

/// Warnings beyond this many, not yet taken, are dropped (nobody is reading them).
pub(crate) const MAX_WARNINGS: usize = 1024;

/// The length of a record's integrity check.
pub(crate) const CHECK_LEN: usize = 16;

/// The permissions of the files and directories a store creates: `0666 & !umask` for
/// files, `0777 & !umask` for directories. The default umask `077` gives 0600 / 0700.
///
/// The configured umask is applied exactly: every file and directory a store creates is
/// `chmod`ed to it, whatever the process's own umask is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Modes {
    umask: u32,
}

impl Default for Modes {
    fn default() -> Self {
        Modes { umask: Modes::DEFAULT_UMASK }
    }
}

/// A umask that would take the owner's own access away (or has bits beyond `0777`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BadUmask(pub u32);

impl fmt::Display for BadUmask {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 > 0o777 {
            write!(f, "{:o} is not a umask (at most 777)", self.0)
        } else {
            write!(
                f,
                "{:03o} would deny the owner access to the token files (the first digit must be 0)",
                self.0
            )
        }
    }
}

impl Modes {
    /// Owner only.
    pub const DEFAULT_UMASK: u32 = 0o077;

    /// Modes for `umask` (an octal number such as `0o027`).
    ///
    /// # Errors
    /// [`BadUmask`] if `umask` has bits beyond `0o777` or masks any of the owner's bits: the
    /// module must be able to read and write what it creates.
    pub fn with_umask(umask: u32) -> Result<Modes, BadUmask> {
        if umask > 0o777 || umask & 0o700 != 0 { Err(BadUmask(umask)) } else { Ok(Modes { umask }) }
    }

    /// The umask.
    pub fn umask(self) -> u32 {
        self.umask
    }

    /// The mode of a new file.
    pub fn file(self) -> u32 {
        0o666 & !self.umask
    }

    /// The mode of a new directory.
    pub fn dir(self) -> u32 {
        0o777 & !self.umask
    }
}

/// Create a directory (absent parents too) with exactly `modes.dir()`; one that exists is
/// left as it is.
pub(crate) fn create_dir_all(path: &Path, modes: Modes) -> io::Result<()> {
    if path.is_dir() {
        return Ok(());
    }
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        create_dir_all(parent, modes)?;
    }
    create_dir(path, modes)
}

/// Create one directory with exactly `modes.dir()`; one that exists is left as it is.
pub(crate) fn create_dir(path: &Path, modes: Modes) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    match DirBuilder::new().mode(modes.dir()).create(path) {
        Ok(()) => fs::set_permissions(path, fs::Permissions::from_mode(modes.dir())),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists && path.is_dir() => Ok(()),
        Err(e) => Err(e),
    }
}

/// Open `path` for writing, creating it with exactly `modes.file()` if it is new.
pub(crate) fn open_for_write(path: &Path, modes: Modes, truncate: bool) -> io::Result<fs::File> {
    use std::os::unix::fs::PermissionsExt;
    let f = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(truncate)
        .mode(modes.file())
        .open(path)?;
    // The process umask may have taken more bits than ours: set exactly what was asked.
    // (Only files we may have just created: an existing file keeps its mode.)
    let meta = f.metadata()?;
    if meta.permissions().mode() & 0o777 != modes.file() && meta.len() == 0 {
        f.set_permissions(fs::Permissions::from_mode(modes.file()))?;
    }
    Ok(f)
}

/// Why a store cannot use its root directory. `Display` names the path.
#[derive(Debug)]
pub struct OpenError {
    path: PathBuf,
    what: &'static str,
    source: io::Error,
}

impl OpenError {
    /// The root directory that could not be used.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The `CKR_*` this becomes: `CKR_DEVICE_ERROR`.
    pub fn ck_error(&self) -> Error {
        Error::DeviceError
    }
}

impl fmt::Display for OpenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "token directory {}: {}: {}", self.path.display(), self.what, self.source)
    }
}

impl core::error::Error for OpenError {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        Some(&self.source)
    }
}

/// Make sure `root` is a directory this process can create files in, creating it (and its
/// parents) with `modes` if it is missing.
///
/// # Errors
/// [`OpenError`] naming `root` if it is not a directory, cannot be created, or is not
/// writable (checked by creating and removing a probe file, which also catches read-only
/// mounts and immutable directories, where permission bits say nothing for root).
pub(crate) fn prepare_root(root: &Path, modes: Modes) -> Result<(), OpenError> {
    let fail = |what, source| OpenError { path: root.to_path_buf(), what, source };
    match fs::metadata(root) {
        Ok(m) if !m.is_dir() => {
            return Err(fail(
                "not a directory",
                io::Error::new(io::ErrorKind::NotADirectory, "it is a file"),
            ));
        }
        Ok(_) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            create_dir_all(root, modes).map_err(|e| fail("cannot create it", e))?;
        }
        Err(e) => return Err(fail("cannot look it up", e)),
    }
    // Unique per opener: several threads of one process may open the same root.
    static PROBES: AtomicU64 = AtomicU64::new(0);
    let n = PROBES.fetch_add(1, Ordering::Relaxed);
    let probe = root.join(format!(".probe-{}-{n}", std::process::id()));
    OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(modes.file())
        .open(&probe)
        .and_then(|_| fs::remove_file(&probe))
        .map_err(|e| fail("not writable", e))
}

/// Token names become file and directory names: only `[A-Za-z0-9_-]{1,64}`.
pub(crate) fn is_token_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// The integrity check of an object record of token `name`.
pub(crate) fn record_check(name: &str, id: RecordId, blob: &[u8]) -> [u8; CHECK_LEN] {
    check(b"anyhsm record v1\0", name, id, blob)
}

/// The integrity check of token `name`'s metadata at `generation`.
pub(crate) fn meta_check(name: &str, generation: u64, meta: &[u8]) -> [u8; CHECK_LEN] {
    check(b"anyhsm meta v1\0", name, generation, meta)
}

fn check(domain: &[u8], name: &str, n: u64, blob: &[u8]) -> [u8; CHECK_LEN] {
    let mut h = Sha256::new();
    h.update(domain);
    h.update(name.as_bytes());
    h.update([0]);
    h.update(n.to_le_bytes());
    h.update(blob);
    let digest = h.finalize();
    let mut out = [0u8; CHECK_LEN];
    out.copy_from_slice(&digest[..CHECK_LEN]);
    out
}

/// The record format version of an engine blob, if it is newer than this build writes (the
/// blob then comes from a newer anyhsm, and the engine would refuse it without saying
/// where it is). Blobs that do not look like engine records at all are the engine's call.
pub(crate) fn newer_format(blob: &[u8]) -> Option<u8> {
    match blob {
        [b'A', b'H', _, v, ..] if *v > record::FORMAT_VERSION => Some(*v),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn modes_follow_the_umask() {
        let d = Modes::default();
        assert_eq!((d.file(), d.dir()), (0o600, 0o700));
        let m = Modes::with_umask(0o027).unwrap();
        assert_eq!((m.file(), m.dir()), (0o640, 0o750));
        let m = Modes::with_umask(0).unwrap();
        assert_eq!((m.file(), m.dir()), (0o666, 0o777));
        assert_eq!(Modes::with_umask(0o277), Err(BadUmask(0o277)));
        assert_eq!(Modes::with_umask(0o1077), Err(BadUmask(0o1077)));
        assert!(BadUmask(0o277).to_string().contains("277 would deny the owner"));
    }

    #[test]
    fn created_files_and_directories_get_exactly_the_modes() {
        let t = tempfile::tempdir().unwrap();
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let m = Modes::with_umask(0o022).unwrap();
        let dir = t.path().join("a/b");
        create_dir_all(&dir, m).unwrap();
        assert_eq!(mode(&t.path().join("a")), 0o755);
        assert_eq!(mode(&dir), 0o755);
        let f = dir.join("f");
        drop(open_for_write(&f, m, true).unwrap());
        assert_eq!(mode(&f), 0o644);
        // An existing directory or file keeps its mode.
        create_dir(&dir, Modes::default()).unwrap();
        assert_eq!(mode(&dir), 0o755);
    }

    #[test]
    fn checks_bind_token_id_and_content() {
        let c = record_check("A", 1, b"x");
        assert_eq!(c, record_check("A", 1, b"x"));
        assert_ne!(c, record_check("B", 1, b"x"));
        assert_ne!(c, record_check("A", 2, b"x"));
        assert_ne!(c, record_check("A", 1, b"y"));
        assert_ne!(c, meta_check("A", 1, b"x"));
    }

    #[test]
    fn newer_formats_are_recognised() {
        let v = record::FORMAT_VERSION;
        assert_eq!(newer_format(&[b'A', b'H', b'O', v]), None);
        assert_eq!(newer_format(&[b'A', b'H', b'O', v + 1, 0]), Some(v + 1));
        assert_eq!(newer_format(b"junk"), None);
        assert_eq!(newer_format(b""), None);
    }
}
