//! # anyhsm-pkcs11
//!
//! The native PKCS#11 module (`libanyhsm_pkcs11.so`): the C ABI ([`abi`]), configuration,
//! logging and the on-disk stores around the `anyhsm-core` engine.
#![deny(unsafe_op_in_unsafe_fn)]
// `unsafe` lives only in `abi` (the C boundary); everything else is safe code.
#![deny(unsafe_code)]

extern crate alloc;

#[allow(unsafe_code, reason = "the C boundary: every block has a SAFETY comment")]
pub mod abi;
pub mod config;
pub mod log;
pub mod module;
pub mod rng;
pub mod store;

pub use abi::functions::*;
