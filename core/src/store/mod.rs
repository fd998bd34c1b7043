//! Persistence, as DESIGN §2 lays it out: the store hands the engine a snapshot of every
//! record at open; each mutation is staged as a [`Batch`], persisted atomically by the
//! store, and only then committed to the engine's working set.
//!
//! Blobs are opaque here: the engine serializes (and, for private data, seals) records
//! before a batch reaches the store, so a store never sees a typed object.

use alloc::{string::String, vec::Vec};

/// The in-memory store.
pub mod memory;
/// The record format.
pub mod record;
pub mod snapshot;

pub use memory::MemoryStore;

/// A token's identity in a store: its serial number (16 printable characters).
pub type TokenName = String;

/// A record's identity within its token.
pub type RecordId = u64;

/// One store operation of a batch.
#[derive(Clone, PartialEq, Eq)]
pub enum Op {
    /// Replace the token's metadata record (creates the token if it does not exist).
    PutMeta(Vec<u8>),
    /// Insert or replace one object record.
    Put {
        /// The record's id.
        id: RecordId,
        /// The serialized record.
        blob: Vec<u8>,
    },
    /// Remove one object record (absent is not an error).
    Delete {
        /// The record's id.
        id: RecordId,
    },
}

impl core::fmt::Debug for Op {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        // Blobs may hold sealed secrets: show sizes, never bytes.
        match self {
            Op::PutMeta(b) => write!(f, "PutMeta({} bytes)", b.len()),
            Op::Put { id, blob } => write!(f, "Put({id:#x}, {} bytes)", blob.len()),
            Op::Delete { id } => write!(f, "Delete({id:#x})"),
        }
    }
}

/// All changes of one engine step. A store applies a batch entirely or not at all.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Batch {
    /// Operations in order.
    pub ops: Vec<Op>,
    /// Remove the whole token first (re-initialisation wipes every object).
    pub wipe: bool,
}

impl Batch {
    /// True if the batch changes nothing.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty() && !self.wipe
    }
}

/// What a store holds for one token.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TokenSnapshot {
    /// The token's name (serial).
    pub name: TokenName,
    /// Bumped by every persisted batch.
    pub generation: u64,
    /// The metadata record.
    pub meta: Vec<u8>,
    /// Every object record, by id.
    pub records: Vec<(RecordId, Vec<u8>)>,
    /// Records the store found damaged (its own check failed) and logged: the engine keeps
    /// a placeholder for each that answers `CKR_DEVICE_ERROR` until it is destroyed.
    pub damaged: Vec<RecordId>,
}

/// A store failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoreError {
    /// The token changed on the store since `expected` was read: reload, then retry or refuse.
    Stale {
        /// The generation the store holds now.
        current: u64,
    },
    /// The store cannot do the work (I/O error, full disk, permission): becomes this `CKR_*`.
    Failed(crate::Error),
}

impl From<StoreError> for crate::Error {
    fn from(e: StoreError) -> Self {
        match e {
            // The engine reloads on `Stale` before it gives up; what escapes is a device error.
            StoreError::Stale { .. } => crate::Error::DeviceError,
            StoreError::Failed(e) => e,
        }
    }
}

/// Synchronous persistence (DESIGN §2). Implemented by the memory store here, by the file
/// and SQLite stores in `native-ffi`; the wasm crate drives the same batches asynchronously.
pub trait Store: Send {
    /// Every token the store holds, with all its records.
    ///
    /// # Errors
    /// `StoreError::Failed` when the store cannot be read at all. A damaged record of one
    /// token should not hide the others: report it by logging, and by its id in
    /// [`TokenSnapshot::damaged`] instead of `records`.
    fn load_all(&mut self) -> Result<Vec<TokenSnapshot>, StoreError>;

    /// One token's snapshot, re-read (after another process changed it).
    ///
    /// # Errors
    /// `StoreError::Failed(Error::TokenNotPresent)` when the token is gone.
    fn load(&mut self, name: &str) -> Result<TokenSnapshot, StoreError>;

    /// The token's current generation: one cheap read (0 when the token does not exist).
    ///
    /// # Errors
    /// `StoreError::Failed` on I/O failure.
    fn generation(&mut self, name: &str) -> Result<u64, StoreError>;

    /// Apply `batch` atomically if the token is still at `expected` generation (0 for a new
    /// token), returning the new generation (`expected + 1`).
    ///
    /// # Errors
    /// `StoreError::Stale` if the generation moved; `StoreError::Failed` if nothing could be
    /// written. Either way the store is exactly as before.
    fn apply(&mut self, name: &str, expected: u64, batch: &Batch) -> Result<u64, StoreError>;

    /// Names of the tokens the store holds now (cheap; used to notice tokens created elsewhere).
    ///
    /// # Errors
    /// `StoreError::Failed` on I/O failure.
    fn list(&mut self) -> Result<Vec<TokenName>, StoreError>;

    /// Lines worth logging that the store collected (damaged files it skipped, recoveries).
    /// Never secret. The engine drains them into [`crate::engine::Engine::take_warnings`].
    fn take_warnings(&mut self) -> Vec<String> {
        Vec::new()
    }

    /// Where record `id` of token `name` lives, for a log line a person can act on (the file
    /// store names the file, SQLite the row and database).
    fn record_location(&self, name: &str, id: RecordId) -> String {
        alloc::format!("token {name}: object record {id:016x}")
    }
}

#[cfg(any(test, feature = "conformance"))]
pub mod conformance;
