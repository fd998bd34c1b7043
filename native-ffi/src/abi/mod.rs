//! The C ABI (DESIGN §5): every `C_*` export, the three function lists, and the boundary
//! that keeps panics and raw pointers out of the rest of the crate.
//!
//! Each export is a thin, uniform wrapper: [`entry`] catches panics, checks that the module
//! is initialised in this process, takes the locks ([`lock`]); the body checks the caller's
//! pointers ([`ptr`]), converts `CK_*` structs into core types ([`convert`]), calls one engine
//! method, writes the result back (one helper, [`convert::deliver`], implements the
//! length-query convention), and `Error::ck_rv()` maps the error. This module is the only
//! place in the crate allowed `unsafe`.

use alloc::string::String;
use core::panic::AssertUnwindSafe;
use std::panic::catch_unwind;

use anyhsm_core::{Error, Result, engine::Engine};
use cryptoki_sys::{CK_RV, CKR_OK};

use crate::log;

pub mod convert;
pub mod functions;
pub mod lists;
pub mod lock;
pub mod ptr;

pub use lists::{SUPPORT, Support};

/// Run one export's body: catch a panic (logged, `CKR_GENERAL_ERROR`) so that it never
/// unwinds into C, map the result to its `CK_RV`, and at `debug` log the call and its code.
/// `name` is the C function's name; never put arguments in it.
pub fn ffi_guard(name: &'static str, body: impl FnOnce() -> Result<()>) -> CK_RV {
    let caught = catch_unwind(AssertUnwindSafe(|| {
        let r = body();
        log::debug(format_args!("{name} -> {}", r.err().map_or("CKR_OK", Error::name)));
        r
    }));
    match caught {
        Ok(Ok(())) => CKR_OK,
        Ok(Err(e)) => convert::rv(e.ck_rv()),
        Err(payload) => {
            let what = payload
                .downcast_ref::<&str>()
                .copied()
                .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
                .unwrap_or("(no message)");
            // Logging must not panic across the boundary either.
            let _ = catch_unwind(AssertUnwindSafe(|| {
                log::error(format_args!(
                    "{name}: internal error (panic: {what}); returning CKR_GENERAL_ERROR"
                ));
            }));
            convert::rv(Error::GeneralError.ck_rv())
        }
    }
}

/// [`ffi_guard`] plus the initialised engine, under the module's locks; the engine's
/// warnings are logged after the call, whatever its result.
pub fn entry(name: &'static str, body: impl FnOnce(&mut Engine) -> Result<()>) -> CK_RV {
    ffi_guard(name, || {
        lock::with_module(|m| {
            let r = body(&mut m.engine);
            m.flush_warnings();
            r
        })
    })
}

/// The body of a function the module does not offer (yet): still "not initialised" before
/// `C_Initialize`, then `CKR_FUNCTION_NOT_SUPPORTED`.
pub fn not_supported(name: &'static str) -> CK_RV {
    entry(name, |_| Err(Error::FunctionNotSupported))
}
