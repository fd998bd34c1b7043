//! The native module's stores: implementations of [`anyhsm_core::store::Store`] on disk.
//! The engine never sees which one it runs on; the configuration picks it.

pub mod file;

pub use file::{FileStore, OpenError};
