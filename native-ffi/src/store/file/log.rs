//! The file store's redo log, `<token>/log.bin`: one frame per committed batch, carrying the
//! batch's full new contents, so that committing a batch costs one `fdatasync` (of the log)
//! and the record files can be written without any (see the parent module's docs for the
//! protocol, and `docs/storage-format.md` for the bytes).
//!
//! A frame:
//!
//! ```text
//! "AHSMLOG1" ‖ body length L (u64 LE) ‖ body (L bytes)
//!            ‖ SHA-256("anyhsm log v1\0" ‖ token name ‖ 0 ‖ the 16 + L bytes before)
//!            ‖ frame length 56 + L (u64 LE)
//! body = offset (u64) ‖ index (u64) ‖ generation (u64) ‖ boot id (16 bytes) ‖ wipe (u8: 0 | 1)
//!      ‖ meta length (u32) ‖ meta blob
//!      ‖ put count (u32) ‖ { record id (u64) ‖ blob length (u32) ‖ blob } …
//!      ‖ delete count (u32) ‖ { record id (u64) } …
//! ```
//!
//! All integers little-endian. `offset` is where the frame starts in the file and `index` its
//! position (0 for the first frame after the log was emptied), so a frame is only accepted in
//! its own place; the trailing length lets a writer find the last frame from the end of the
//! file without reading the rest. Within one log, frames follow each other: offsets are
//! contiguous, indexes and generations go up by one.

use std::{
    fs::File,
    io,
    path::{Path, PathBuf},
};

use anyhsm_core::store::RecordId;
use sha2::{Digest, Sha256};

use super::{At, Modes, Result};

pub(super) const LOG: &str = "log.bin";
const MAGIC: &[u8; 8] = b"AHSMLOG1";
const DOMAIN: &[u8] = b"anyhsm log v1\0";
/// Magic and body length.
const HEAD: usize = 16;
/// Checksum and frame length.
const TAIL: usize = 32 + 8;
/// The fixed part of a body: offset, index, generation, boot id, wipe, and the three counts.
const BODY_MIN: usize = 8 + 8 + 8 + BOOT_ID_LEN + 1 + 4 + 4 + 4;
pub(super) const BOOT_ID_LEN: usize = 16;

/// Which boot of the machine wrote a frame: the kernel's boot id, or a random id per store
/// when it cannot be read (then every other process counts as another boot, which only costs
/// replays). A frame written under the current boot has, if it was applied, its effect in the
/// page cache, which every process sees; one from another boot may have lost it.
pub(super) type BootId = [u8; BOOT_ID_LEN];

/// The current boot's id: the first 16 bytes of SHA-256 of the kernel's boot id.
pub(super) fn current_boot_id() -> BootId {
    let mut id = [0u8; BOOT_ID_LEN];
    match std::fs::read("/proc/sys/kernel/random/boot_id") {
        Ok(text) if !text.trim_ascii().is_empty() => {
            id.copy_from_slice(&Sha256::digest(text.trim_ascii())[..BOOT_ID_LEN]);
        }
        // No boot id: a random one, unlike every other process's.
        _ => {
            if getrandom::fill(&mut id).is_err() {
                id = std::process::id().to_le_bytes().repeat(4).try_into().unwrap_or([1; BOOT_ID_LEN]);
            }
        }
    }
    id
}

/// One committed batch, as the log holds it. Blobs borrow from the buffer the frame was
/// decoded from (or from the batch it was made of).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Frame<'a> {
    pub offset: u64,
    pub index: u64,
    /// The generation the batch produces.
    pub generation: u64,
    pub boot: BootId,
    /// Delete every record not in `puts` first.
    pub wipe: bool,
    /// The token's whole new metadata blob.
    pub meta: &'a [u8],
    /// Records written (at most once each).
    pub puts: Vec<(RecordId, &'a [u8])>,
    /// Records deleted (none of them in `puts`).
    pub deletes: Vec<RecordId>,
}

/// What a frame says about the log, without its contents.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct FrameInfo {
    pub index: u64,
    pub generation: u64,
    pub boot: BootId,
}

fn checksum(name: &str, bytes: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(DOMAIN);
    h.update(name.as_bytes());
    h.update([0]);
    h.update(bytes);
    h.finalize().into()
}

fn u32_len(n: usize) -> u32 {
    // Frames are built from batches held in memory; no blob or count reaches 4 GiB.
    u32::try_from(n).unwrap_or(u32::MAX)
}

impl<'a> Frame<'a> {
    pub fn info(&self) -> FrameInfo {
        FrameInfo { index: self.index, generation: self.generation, boot: self.boot }
    }

    /// The frame's bytes for token `name`.
    pub fn encode(&self, name: &str) -> Vec<u8> {
        let blobs: usize = self.puts.iter().map(|(_, b)| 12 + b.len()).sum();
        let body_len = BODY_MIN + self.meta.len() + blobs + 8 * self.deletes.len();
        let mut out = Vec::with_capacity(HEAD + body_len + TAIL);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&(body_len as u64).to_le_bytes());
        out.extend_from_slice(&self.offset.to_le_bytes());
        out.extend_from_slice(&self.index.to_le_bytes());
        out.extend_from_slice(&self.generation.to_le_bytes());
        out.extend_from_slice(&self.boot);
        out.push(u8::from(self.wipe));
        out.extend_from_slice(&u32_len(self.meta.len()).to_le_bytes());
        out.extend_from_slice(self.meta);
        out.extend_from_slice(&u32_len(self.puts.len()).to_le_bytes());
        for (id, blob) in &self.puts {
            out.extend_from_slice(&id.to_le_bytes());
            out.extend_from_slice(&u32_len(blob.len()).to_le_bytes());
            out.extend_from_slice(blob);
        }
        out.extend_from_slice(&u32_len(self.deletes.len()).to_le_bytes());
        for id in &self.deletes {
            out.extend_from_slice(&id.to_le_bytes());
        }
        let sum = checksum(name, &out);
        out.extend_from_slice(&sum);
        let total = out.len() as u64 + 8;
        out.extend_from_slice(&total.to_le_bytes());
        out
    }

    /// The frame at the start of `bytes` (which may go on), if it is complete, intact, of
    /// token `name` and says it starts at `offset`; with its length.
    pub fn decode(name: &str, bytes: &'a [u8], offset: u64) -> Option<(Frame<'a>, usize)> {
        let rest = bytes.strip_prefix(MAGIC)?;
        let (len, _) = rest.split_first_chunk::<8>()?;
        let body_len = usize::try_from(u64::from_le_bytes(*len)).ok()?;
        let total = HEAD.checked_add(body_len)?.checked_add(TAIL)?;
        let frame = bytes.get(..total)?;
        let (signed, tail) = frame.split_at(HEAD + body_len);
        let (sum, stated) = tail.split_at(32);
        if checksum(name, signed) != sum || u64::from_le_bytes(stated.try_into().ok()?) != total as u64 {
            return None;
        }
        let mut r = Reader(&signed[HEAD..]);
        let f_offset = r.u64()?;
        let index = r.u64()?;
        let generation = r.u64()?;
        let boot: BootId = r.take(BOOT_ID_LEN)?.try_into().ok()?;
        let wipe = match r.take(1)? {
            [0] => false,
            [1] => true,
            _ => return None,
        };
        let meta_len = r.u32()?;
        let meta = r.take(meta_len)?;
        let n = r.u32()?;
        let mut puts = Vec::with_capacity(n.min(r.0.len() / 12));
        for _ in 0..n {
            let id = r.u64()?;
            let len = r.u32()?;
            puts.push((id, r.take(len)?));
        }
        let n = r.u32()?;
        let mut deletes = Vec::with_capacity(n.min(r.0.len() / 8));
        for _ in 0..n {
            deletes.push(r.u64()?);
        }
        if !r.0.is_empty() || f_offset != offset {
            return None;
        }
        Some((Frame { offset, index, generation, boot, wipe, meta, puts, deletes }, total))
    }
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if n > self.0.len() {
            return None;
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(head)
    }

    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }

    fn u32(&mut self) -> Option<usize> {
        usize::try_from(u32::from_le_bytes(self.take(4)?.try_into().ok()?)).ok()
    }
}

/// The end of the log as a writer or reader finds it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Tail {
    Empty,
    /// The last frame is intact; the log is `end` bytes long.
    Last {
        end: u64,
        info: FrameInfo,
    },
    /// The last frame is incomplete or damaged (an interrupted append): only a scan from the
    /// start can tell where the log really ends.
    Torn,
}

/// Every frame of a log, read from its start up to the first that is not intact or does not
/// follow its predecessor.
#[derive(Debug)]
pub(super) struct Scan {
    bytes: Vec<u8>,
    /// Start and length of each frame in `bytes`.
    spans: Vec<(usize, usize)>,
}

impl Scan {
    pub fn of(name: &str, bytes: Vec<u8>) -> Scan {
        let mut spans = Vec::new();
        let mut at = 0usize;
        let mut last: Option<FrameInfo> = None;
        while let Some((f, len)) = Frame::decode(name, &bytes[at..], at as u64) {
            let follows = match last {
                None => f.index == 0,
                Some(p) => {
                    p.index.checked_add(1) == Some(f.index)
                        && p.generation.checked_add(1) == Some(f.generation)
                }
            };
            if !follows {
                break;
            }
            last = Some(f.info());
            spans.push((at, len));
            at += len;
        }
        Scan { bytes, spans }
    }

    /// Where the intact frames end.
    pub fn valid_len(&self) -> u64 {
        self.spans.last().map_or(0, |(s, l)| (s + l) as u64)
    }

    /// The length of the file that was read.
    pub fn len(&self) -> u64 {
        self.bytes.len() as u64
    }

    pub fn frames<'s>(&'s self, name: &'s str) -> impl Iterator<Item = Frame<'s>> + 's {
        self.spans
            .iter()
            .filter_map(move |&(s, _)| Frame::decode(name, &self.bytes[s..], s as u64).map(|(f, _)| f))
    }

    pub fn last(&self, name: &str) -> Option<FrameInfo> {
        let &(s, _) = self.spans.last()?;
        Frame::decode(name, &self.bytes[s..], s as u64).map(|(f, _)| f.info())
    }
}

/// An open `log.bin`.
#[derive(Debug)]
pub(super) struct Log {
    file: File,
    path: PathBuf,
}

impl Log {
    /// Open the token's log, or `None` if it has none.
    pub fn open(dir: &Path) -> Result<Option<Log>> {
        let path = dir.join(LOG);
        match std::fs::OpenOptions::new().read(true).write(true).open(&path) {
            Ok(file) => Ok(Some(Log { file, path })),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e).at(&path, "open"),
        }
    }

    /// Open the token's log, creating it (durably: file and directory entry) if it is absent,
    /// so that a frame's `fdatasync` is all a commit needs.
    pub fn open_or_create(dir: &Path, modes: Modes) -> Result<Log> {
        if let Some(log) = Log::open(dir)? {
            return Ok(log);
        }
        let path = dir.join(LOG);
        let file = super::super::open_for_write(&path, modes, false).at(&path, "create")?;
        file.sync_all().at(&path, "sync")?;
        super::sync_dir(dir)?;
        Ok(Log { file, path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn len(&self) -> Result<u64> {
        Ok(self.file.metadata().at(&self.path, "look up")?.len())
    }

    /// The last frame, read from the end (two small reads).
    pub fn tail(&self, name: &str) -> Result<Tail> {
        let end = self.len()?;
        if end == 0 {
            return Ok(Tail::Empty);
        }
        let mut stated = [0u8; 8];
        if end < (HEAD + BODY_MIN + TAIL) as u64 || !self.read_exact_at(&mut stated, end - 8)? {
            return Ok(Tail::Torn);
        }
        let total = u64::from_le_bytes(stated);
        if total > end || total < (HEAD + BODY_MIN + TAIL) as u64 {
            return Ok(Tail::Torn);
        }
        let Ok(total_usize) = usize::try_from(total) else {
            return Ok(Tail::Torn);
        };
        let start = end - total;
        let mut frame = vec![0u8; total_usize];
        if !self.read_exact_at(&mut frame, start)? {
            return Ok(Tail::Torn);
        }
        Ok(match Frame::decode(name, &frame, start) {
            Some((f, len)) if len == total_usize => Tail::Last { end, info: f.info() },
            _ => Tail::Torn,
        })
    }

    /// The whole log.
    pub fn scan(&self, name: &str) -> Result<Scan> {
        let len = self.len()?;
        let mut bytes = vec![0u8; usize::try_from(len).unwrap_or(0)];
        let n = self.read_at_most(&mut bytes, 0)?;
        bytes.truncate(n);
        Ok(Scan::of(name, bytes))
    }

    /// Write `frame` at `at` (the end of the intact log) and make it durable: the commit
    /// point. On failure the log is cut back to `at`, as far as it can be.
    pub fn append(&self, at: u64, frame: &[u8]) -> Result<()> {
        let written = self
            .write_all_at(frame, at)
            .and_then(|()| rustix::fs::fdatasync(&self.file).map_err(io::Error::from));
        if let Err(e) = written {
            let _ = self.truncate(at);
            return Err(e).at(&self.path, "write");
        }
        Ok(())
    }

    /// Cut the log to `len` bytes, durably.
    pub fn truncate(&self, len: u64) -> Result<()> {
        rustix::fs::ftruncate(&self.file, len).map_err(io::Error::from).at(&self.path, "truncate")?;
        rustix::fs::fdatasync(&self.file).map_err(io::Error::from).at(&self.path, "sync")
    }

    /// Test support: write bytes anywhere, without a sync.
    #[cfg(test)]
    pub fn write_raw(&self, bytes: &[u8], at: u64) {
        self.write_all_at(bytes, at).unwrap();
    }

    pub fn file(&self) -> &File {
        &self.file
    }

    fn write_all_at(&self, mut buf: &[u8], mut at: u64) -> io::Result<()> {
        while !buf.is_empty() {
            match rustix::io::pwrite(&self.file, buf, at) {
                Ok(0) => return Err(io::Error::from(io::ErrorKind::WriteZero)),
                Ok(n) => {
                    buf = &buf[n..];
                    at += n as u64;
                }
                Err(rustix::io::Errno::INTR) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    fn read_at_most(&self, buf: &mut [u8], at: u64) -> Result<usize> {
        let mut got = 0;
        while got < buf.len() {
            match rustix::io::pread(&self.file, &mut buf[got..], at + got as u64) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(rustix::io::Errno::INTR) => {}
                Err(e) => return Err(io::Error::from(e)).at(&self.path, "read"),
            }
        }
        Ok(got)
    }

    fn read_exact_at(&self, buf: &mut [u8], at: u64) -> Result<bool> {
        Ok(self.read_at_most(buf, at)? == buf.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "ANYHSM0000000001";

    fn frame(offset: u64, index: u64, generation: u64) -> Frame<'static> {
        Frame {
            offset,
            index,
            generation,
            boot: [7; BOOT_ID_LEN],
            wipe: false,
            meta: b"meta",
            puts: vec![(1, b"one"), (u64::MAX, b"")],
            deletes: vec![2, 3],
        }
    }

    #[test]
    fn frame_round_trips_and_rejects_damage() {
        let f = frame(0, 0, 5);
        let bytes = f.encode(A);
        assert_eq!(&bytes[..8], b"AHSMLOG1");
        let total = bytes.len();
        assert_eq!(bytes[total - 8..], (total as u64).to_le_bytes());
        assert_eq!(Frame::decode(A, &bytes, 0), Some((f.clone(), total)));
        // More bytes after it are the next frame's business.
        let mut longer = bytes.clone();
        longer.extend_from_slice(b"junk");
        assert_eq!(Frame::decode(A, &longer, 0).map(|(_, n)| n), Some(total));
        for len in 0..total {
            assert_eq!(Frame::decode(A, &bytes[..len], 0), None, "truncated to {len}");
        }
        for i in 0..total {
            let mut bad = bytes.clone();
            bad[i] ^= 0x40;
            assert_eq!(Frame::decode(A, &bad, 0), None, "byte {i} flipped");
        }
        // Bound to its token and its place.
        assert_eq!(Frame::decode("ANYHSM0000000002", &bytes, 0), None);
        assert_eq!(Frame::decode(A, &bytes, 8), None);
        let wiping = Frame { wipe: true, puts: vec![], deletes: vec![], ..frame(0, 0, 1) };
        assert_eq!(Frame::decode(A, &wiping.encode(A), 0).map(|(f, _)| f), Some(wiping));
    }

    #[test]
    fn scan_stops_at_the_first_frame_out_of_place_or_sequence() {
        let mut log = Vec::new();
        for i in 0..3 {
            log.extend(frame(log.len() as u64, i, 10 + i).encode(A));
        }
        let three = log.len() as u64;
        let scan = Scan::of(A, log.clone());
        assert_eq!(scan.frames(A).map(|f| f.generation).collect::<Vec<_>>(), vec![10, 11, 12]);
        assert_eq!(scan.valid_len(), three);
        assert_eq!(scan.last(A).map(|i| i.index), Some(2));
        // A torn fourth frame.
        let fourth = frame(three, 3, 13).encode(A);
        let mut torn = log.clone();
        torn.extend_from_slice(&fourth[..fourth.len() - 1]);
        let scan = Scan::of(A, torn);
        assert_eq!((scan.valid_len(), scan.len()), (three, three + fourth.len() as u64 - 1));
        // A generation that skips, an index that does not follow: the log ends before them.
        for bad in [frame(three, 3, 20), frame(three, 4, 13)] {
            let mut l = log.clone();
            l.extend(bad.encode(A));
            assert_eq!(Scan::of(A, l).valid_len(), three);
        }
        // The first frame must be index 0.
        assert_eq!(Scan::of(A, frame(0, 1, 1).encode(A)).valid_len(), 0);
    }
}
