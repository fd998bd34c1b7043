//! # anyhsm-core
//!
//! The whole anyhsm token engine: slots, tokens, PINs, sessions, handles, objects and their
//! attribute policy, the mechanism table, and the record format. It does no I/O and owns no
//! clock or RNG: a front-end passes in a [`store::Store`], an [`rng::Rng`] and an
//! [`rng::Clock`], and translates its world (C pointers, JS values) into calls on
//! [`engine::Engine`].
#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

extern crate alloc;
#[cfg(any(test, feature = "std"))]
extern crate std;

pub mod attribute;
pub mod consts;
pub mod engine;
pub mod error;
pub mod info;
pub mod mechanism;
pub mod object;
pub mod rng;
pub mod seal;
pub mod secret;
pub mod session;
pub mod store;
pub mod token;

pub use error::{Error, Result};
