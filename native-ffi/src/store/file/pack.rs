//! The file store's read cache, `<token>/pack.bin`: the blobs of a token's record files in one
//! file, each with the identity of the file it was read from (inode, size, modification and
//! change times), so that loading a large token costs one `statx` per record instead of an
//! `open`, a `read` and a `close`.
//!
//! The pack is never a source of truth, only a cache checked record by record, the way git
//! checks its index: a blob is taken from it only if the record file is still the very file
//! it was read from — same inode (native writes rename a new file in), same size, same times
//! (writing a file in place, by hand or by a tool, changes its change time). Any record
//! written, replaced, edited, damaged, deleted or added since is read from its file as before.
//! A file changed less than [`RACY`] before it was cached is not cached: a coarse clock could
//! give a later change the same times. So the pack needs no sync, no lock of its own beyond
//! the reader's shared lock, and nothing in the crash-safety argument: a torn, stale or
//! foreign `pack.bin` (its checksum binds it to the token) only costs reads.
//!
//! ```text
//! "AHSMPAK1" ‖ entry count (u32 LE)
//!   ‖ { record id (u64) ‖ inode (u64) ‖ size (u64) ‖ mtime s (i64) ‖ mtime ns (u64)
//!       ‖ ctime s (i64) ‖ ctime ns (u64) ‖ blob length (u32) ‖ blob } …   (sorted by id)
//!   ‖ SHA-256("anyhsm pack v1\0" ‖ token name ‖ 0 ‖ everything before)
//! ```

use core::{
    sync::atomic::{AtomicU64, Ordering},
    time::Duration,
};
use std::{
    fs::{self, File},
    io::Write,
    path::Path,
    time::SystemTime,
};

use anyhsm_core::store::RecordId;
use rustix::fs::{AtFlags, Stat};
use sha2::{Digest, Sha256};

use super::{At, Modes, Result, TMP_PREFIX};

pub(super) const PACK: &str = "pack.bin";
const MAGIC: &[u8; 8] = b"AHSMPAK1";
const DOMAIN: &[u8] = b"anyhsm pack v1\0";
/// An entry's fixed part: id, inode, size, two times of 16 bytes, blob length.
const ENTRY_FIXED: usize = 8 * 3 + 16 * 2 + 4;
/// Files changed this recently are not cached (timestamps may be as coarse as a jiffy).
pub(super) const RACY: Duration = Duration::from_secs(2);

/// Which file a blob was read from, and which version of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct FileId {
    ino: u64,
    size: u64,
    mtime: (i64, u64),
    ctime: (i64, u64),
}

impl FileId {
    /// The identity of `file_name` in `dir` (not following a symlink), if it has one.
    #[allow(clippy::useless_conversion, clippy::unnecessary_fallible_conversions)]
    pub fn of(dir: &File, file_name: &std::ffi::OsStr) -> Option<FileId> {
        let st: Stat = rustix::fs::statat(dir, file_name, AtFlags::SYMLINK_NOFOLLOW).ok()?;
        Some(FileId {
            ino: u64::try_from(st.st_ino).ok()?,
            size: u64::try_from(st.st_size).ok()?,
            mtime: (i64::try_from(st.st_mtime).ok()?, u64::try_from(st.st_mtime_nsec).ok()?),
            ctime: (i64::try_from(st.st_ctime).ok()?, u64::try_from(st.st_ctime_nsec).ok()?),
        })
    }

    /// Whether the file last changed long enough before `now` to be cached.
    pub fn settled(&self, now: SystemTime) -> bool {
        let Ok(now) = now.duration_since(SystemTime::UNIX_EPOCH) else {
            return false;
        };
        let changed = |(s, ns): (i64, u64)| {
            u64::try_from(s).ok().map(|s| Duration::from_secs(s) + Duration::from_nanos(ns))
        };
        [self.mtime, self.ctime].into_iter().all(|t| changed(t).is_some_and(|t| t + RACY <= now))
    }
}

/// A pack read and checked: entries sorted by id, blobs in `bytes`.
#[derive(Debug)]
pub(super) struct Pack {
    bytes: Vec<u8>,
    entries: Vec<(RecordId, FileId, usize, usize)>,
}

fn checksum(name: &str, bytes: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(DOMAIN);
    h.update(name.as_bytes());
    h.update([0]);
    h.update(bytes);
    h.finalize().into()
}

impl Pack {
    /// The token's pack, if it has one that is intact and its own.
    pub fn read(dir: &Path, name: &str) -> Option<Pack> {
        let bytes = fs::read(dir.join(PACK)).ok()?;
        Pack::decode(name, bytes)
    }

    fn decode(name: &str, bytes: Vec<u8>) -> Option<Pack> {
        let body_len = bytes.len().checked_sub(32)?;
        let (body, sum) = bytes.split_at(body_len);
        if checksum(name, body) != sum {
            return None;
        }
        let rest = body.strip_prefix(MAGIC)?;
        let (count, _) = rest.split_first_chunk::<4>()?;
        let count = usize::try_from(u32::from_le_bytes(*count)).ok()?;
        let mut at = MAGIC.len() + 4;
        let mut entries: Vec<(RecordId, FileId, usize, usize)> =
            Vec::with_capacity(count.min(body_len / ENTRY_FIXED));
        let word = |b: &[u8], i: usize| -> Option<[u8; 8]> { b.get(i..i + 8)?.try_into().ok() };
        for _ in 0..count {
            let e = body.get(at..at + ENTRY_FIXED)?;
            let u = |i| word(e, i).map(u64::from_le_bytes);
            let s = |i| word(e, i).map(i64::from_le_bytes);
            let id = u(0)?;
            let file = FileId { ino: u(8)?, size: u(16)?, mtime: (s(24)?, u(32)?), ctime: (s(40)?, u(48)?) };
            let len = usize::try_from(u32::from_le_bytes(e[56..60].try_into().ok()?)).ok()?;
            let start = at + ENTRY_FIXED;
            body.get(start..start + len)?;
            if entries.last().is_some_and(|&(last, ..)| last >= id) {
                return None;
            }
            entries.push((id, file, start, len));
            at = start + len;
        }
        (at == body_len).then_some(Pack { bytes, entries })
    }

    /// The cached blob of record `id`, if its file is still `file`.
    pub fn get(&self, id: RecordId, file: &FileId) -> Option<&[u8]> {
        let i = self.entries.binary_search_by_key(&id, |e| e.0).ok()?;
        let (_, cached, start, len) = self.entries[i];
        (cached == *file).then(|| &self.bytes[start..start + len])
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Write a pack of `entries` (sorted by id) for token `name` into `dir`: a temp renamed
    /// over `pack.bin`, without a sync (it is only a cache).
    pub fn write<'a>(
        dir: &Path,
        name: &str,
        modes: Modes,
        entries: impl ExactSizeIterator<Item = (RecordId, FileId, &'a [u8])>,
    ) -> Result<()> {
        let count = u32::try_from(entries.len()).unwrap_or(u32::MAX);
        let mut out = Vec::new();
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&count.to_le_bytes());
        for (id, f, blob) in entries.take(count as usize) {
            out.extend_from_slice(&id.to_le_bytes());
            out.extend_from_slice(&f.ino.to_le_bytes());
            out.extend_from_slice(&f.size.to_le_bytes());
            for (s, ns) in [f.mtime, f.ctime] {
                out.extend_from_slice(&s.to_le_bytes());
                out.extend_from_slice(&ns.to_le_bytes());
            }
            out.extend_from_slice(&u32::try_from(blob.len()).unwrap_or(u32::MAX).to_le_bytes());
            out.extend_from_slice(blob);
        }
        let sum = checksum(name, &out);
        out.extend_from_slice(&sum);
        // Several readers of one token may write at once: a temp each.
        static N: AtomicU64 = AtomicU64::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let tmp = dir.join(format!("{TMP_PREFIX}pack-{}-{n}", std::process::id()));
        let written = super::super::open_for_write(&tmp, modes, true)
            .and_then(|mut f| f.write_all(&out))
            .and_then(|()| fs::rename(&tmp, dir.join(PACK)));
        if let Err(e) = written {
            let _ = fs::remove_file(&tmp);
            return Err(e).at(&dir.join(PACK), "write");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "ANYHSM0000000001";

    fn id(n: u64) -> FileId {
        FileId { ino: n, size: 3, mtime: (1, 2), ctime: (3, n) }
    }

    #[test]
    fn pack_round_trips_and_rejects_damage() {
        let d = tempfile::tempdir().unwrap();
        let blobs: [(RecordId, FileId, &[u8]); 2] = [(1, id(10), b"one"), (7, id(11), b"")];
        Pack::write(d.path(), A, Modes::default(), blobs.into_iter()).unwrap();
        let p = Pack::read(d.path(), A).unwrap();
        assert_eq!(p.len(), 2);
        assert_eq!(p.get(1, &id(10)), Some(&b"one"[..]));
        assert_eq!(p.get(7, &id(11)), Some(&b""[..]));
        // Another version of the file, or an id it does not hold: not from the pack.
        assert_eq!(p.get(1, &id(11)), None);
        assert_eq!(p.get(1, &FileId { size: 4, ..id(10) }), None);
        assert_eq!(p.get(2, &id(10)), None);
        assert_eq!(Pack::read(d.path(), "ANYHSM0000000002").map(|p| p.len()), None, "bound to its token");
        let bytes = fs::read(d.path().join(PACK)).unwrap();
        for i in 0..bytes.len() {
            let mut bad = bytes.clone();
            bad[i] ^= 1;
            assert!(Pack::decode(A, bad).is_none(), "byte {i}");
        }
        for len in 0..bytes.len() {
            assert!(Pack::decode(A, bytes[..len].to_vec()).is_none(), "truncated to {len}");
        }
        let left: Vec<_> = fs::read_dir(d.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(left, vec![PACK], "no temp left");
    }

    #[test]
    fn recently_changed_files_are_not_settled() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(100);
        let at = |s| FileId { ino: 1, size: 1, mtime: (s, 0), ctime: (s, 0) };
        assert!(at(90).settled(now));
        assert!(at(98).settled(now));
        assert!(!at(99).settled(now));
        assert!(!at(200).settled(now));
        assert!(!FileId { ctime: (99, 0), ..at(10) }.settled(now));
    }
}
