//! The module's one global state, its locks, and fork detection.
//!
//! # Design
//! - **One instance per process.** [`INSTANCE`] points at a leaked [`Instance`] that records
//!   the pid that created it. A call from a process with another pid (a `fork()` child)
//!   sees "not initialised" without touching the parent's copy, whose locks may have been
//!   held by a parent thread at the moment of the fork; `C_Initialize` in the child then
//!   installs a fresh instance and forgets the old one (never dropped: dropping would run
//!   the parent's engine and store destructors on a copy of its memory).
//! - **Our own lock.** The engine sits in a `std::sync::Mutex<Option<Module>>`; every call
//!   holds it for the engine call. The engine is `&mut self`, so calls are serialised;
//!   sessions on many threads are safe, and a whole call is atomic.
//! - **The application's lock.** With mutex callbacks and without `CKF_OS_LOCKING_OK`, the
//!   application asks us to lock with *its* primitives (e.g. green threads, where blocking
//!   in an OS mutex would stall the scheduler). We create one application mutex at
//!   `C_Initialize` and take it *around* our own lock on every call. Because every call that
//!   contends takes the application mutex first, our mutex is then never contended and
//!   never blocks: it stays only so that the borrow checker — not an `unsafe` cell — proves
//!   exclusive access to the engine, and to cover `C_Initialize` itself, before any
//!   application mutex exists.
//! - Calls during `C_Finalize` on another thread are undefined behaviour by the spec
//!   (§5.4); we stay memory-safe for every call that starts after `C_Finalize` returned.

use alloc::boxed::Box;
use core::{
    ffi::c_void,
    ptr::null_mut,
    sync::atomic::{AtomicPtr, Ordering},
};
use std::sync::{Mutex, MutexGuard, PoisonError};

use anyhsm_core::{Error, Result};
use cryptoki_sys::{
    CK_C_INITIALIZE_ARGS, CK_CREATEMUTEX, CK_DESTROYMUTEX, CK_LOCKMUTEX, CK_RV, CK_UNLOCKMUTEX,
    CKF_OS_LOCKING_OK, CKR_OK,
};

use crate::{log, module::Module};

/// The instance of the current process (or of the parent, in a fork child not yet
/// re-initialised), or NULL before the first `C_Initialize`.
static INSTANCE: AtomicPtr<Instance> = AtomicPtr::new(null_mut());

/// Everything one process's module holds.
struct Instance {
    /// The process that created this instance.
    pid: u32,
    /// The engine, `None` outside `C_Initialize` … `C_Finalize`.
    state: Mutex<Option<Module>>,
    /// The application's mutex, when `C_Initialize` asked for it; NULL otherwise.
    app_mutex: AtomicPtr<AppMutex>,
}

// Instances are shared between threads through a raw pointer, which the compiler does not
// check: assert here that sharing them is sound.
const _: () = {
    const fn shared_between_threads<T: Sync + Send>() {}
    shared_between_threads::<Instance>();
};

/// How `C_Initialize` asked us to lock.
#[derive(Debug, Clone, Copy)]
pub enum Locking {
    /// `pInitArgs` NULL, or no callbacks and no flag: the application promises not to call
    /// concurrently. We lock anyway (it costs nothing uncontended).
    Unspecified,
    /// `CKF_OS_LOCKING_OK` (with or without callbacks): we use OS primitives.
    Os,
    /// Callbacks without `CKF_OS_LOCKING_OK`: we must use the application's mutexes.
    Application(MutexCallbacks),
}

/// The four mutex callbacks of `CK_C_INITIALIZE_ARGS`, all present.
#[derive(Debug, Clone, Copy)]
pub struct MutexCallbacks {
    create: unsafe extern "C" fn(*mut *mut c_void) -> CK_RV,
    destroy: unsafe extern "C" fn(*mut c_void) -> CK_RV,
    lock: unsafe extern "C" fn(*mut c_void) -> CK_RV,
    unlock: unsafe extern "C" fn(*mut c_void) -> CK_RV,
}

impl Locking {
    /// Validate a caller's `CK_C_INITIALIZE_ARGS` (already read; `None` for NULL).
    ///
    /// # Errors
    /// `ArgumentsBad` if `pReserved` is not NULL, or only some of the four callbacks are set.
    /// `CKF_LIBRARY_CANT_CREATE_OS_THREADS` is accepted: the module creates no threads.
    pub fn from_args(args: Option<&CK_C_INITIALIZE_ARGS>) -> Result<Self> {
        let Some(a) = args else {
            return Ok(Locking::Unspecified);
        };
        if !a.pReserved.is_null() {
            return Err(Error::ArgumentsBad);
        }
        let callbacks =
            MutexCallbacks::from_parts(a.CreateMutex, a.DestroyMutex, a.LockMutex, a.UnlockMutex)?;
        Ok(match callbacks {
            _ if a.flags & CKF_OS_LOCKING_OK != 0 => Locking::Os,
            Some(cb) => Locking::Application(cb),
            None => Locking::Unspecified,
        })
    }
}

impl MutexCallbacks {
    /// All four or none.
    fn from_parts(
        create: CK_CREATEMUTEX,
        destroy: CK_DESTROYMUTEX,
        lock: CK_LOCKMUTEX,
        unlock: CK_UNLOCKMUTEX,
    ) -> Result<Option<Self>> {
        match (create, destroy, lock, unlock) {
            (Some(create), Some(destroy), Some(lock), Some(unlock)) => {
                Ok(Some(Self { create, destroy, lock, unlock }))
            }
            (None, None, None, None) => Ok(None),
            _ => Err(Error::ArgumentsBad),
        }
    }
}

/// One mutex created by the application's `CreateMutex`.
struct AppMutex {
    callbacks: MutexCallbacks,
    handle: *mut c_void,
}

// SAFETY: PKCS#11 §5.4 requires an application that supplies mutex callbacks to make them
// usable from any of its threads; the handle is an opaque token for those callbacks.
unsafe impl Send for AppMutex {}
// SAFETY: as for `Send`: the callbacks synchronise themselves; we only pass the handle.
unsafe impl Sync for AppMutex {}

impl AppMutex {
    fn create(callbacks: MutexCallbacks) -> Result<Self> {
        let mut handle = null_mut();
        // SAFETY: `CreateMutex` is the application's callback, called as PKCS#11 §5.4
        // specifies: with a pointer to where it stores the new mutex.
        check(unsafe { (callbacks.create)(&raw mut handle) })?;
        Ok(Self { callbacks, handle })
    }

    fn lock(&self) -> Result<AppGuard<'_>> {
        // SAFETY: the application's `LockMutex` with a handle its `CreateMutex` returned.
        check(unsafe { (self.callbacks.lock)(self.handle) })?;
        Ok(AppGuard(self))
    }
}

impl Drop for AppMutex {
    fn drop(&mut self) {
        // SAFETY: the application's `DestroyMutex` with a handle its `CreateMutex` returned,
        // once, when no guard is left (guards borrow the `AppMutex`).
        let rv = unsafe { (self.callbacks.destroy)(self.handle) };
        if rv != CKR_OK {
            log::warn(format_args!("the application's DestroyMutex failed with 0x{rv:x}"));
        }
    }
}

/// Holds the application mutex; unlocks on drop (also when a panic unwinds).
struct AppGuard<'a>(&'a AppMutex);

impl Drop for AppGuard<'_> {
    fn drop(&mut self) {
        // SAFETY: the application's `UnlockMutex` on the mutex this guard locked.
        let rv = unsafe { (self.0.callbacks.unlock)(self.0.handle) };
        if rv != CKR_OK {
            log::warn(format_args!("the application's UnlockMutex failed with 0x{rv:x}"));
        }
    }
}

/// An application callback's `CK_RV` as our result.
fn check(rv: CK_RV) -> Result<()> {
    if rv == CKR_OK {
        Ok(())
    } else {
        Err(Error::from_rv(super::convert::ul(rv)).unwrap_or(Error::GeneralError))
    }
}

impl Instance {
    /// Our own lock. A panic inside an engine call (caught at the boundary and reported as
    /// `CKR_GENERAL_ERROR`) poisons it; the engine commits a change only after it is staged
    /// in full (DESIGN §2), so its state is still consistent and we carry on.
    fn lock_state(&self) -> MutexGuard<'_, Option<Module>> {
        self.state.lock().unwrap_or_else(|poisoned: PoisonError<_>| {
            log::warn(format_args!("continuing after a panic in an earlier call"));
            self.state.clear_poison();
            poisoned.into_inner()
        })
    }

    /// The application's mutex, locked, if `C_Initialize` asked for one.
    fn lock_app(&self) -> Result<Option<AppGuard<'_>>> {
        let p = self.app_mutex.load(Ordering::Acquire);
        if p.is_null() {
            return Ok(None);
        }
        // SAFETY: a non-NULL `app_mutex` came from `Box::into_raw` in `initialize` and is
        // freed only by `finalize`, which the spec forbids to run concurrently with other
        // calls (§5.4 C_Finalize).
        let app = unsafe { &*p };
        app.lock().map(Some)
    }
}

/// This process's instance, or `None` if it has none (never initialised, or forked).
fn current() -> Option<&'static Instance> {
    let p = INSTANCE.load(Ordering::Acquire);
    if p.is_null() {
        return None;
    }
    // SAFETY: instances are leaked (`Box::leak` in `current_or_create`) and never freed,
    // so a non-NULL pointer is valid for `'static`.
    let inst = unsafe { &*p };
    (inst.pid == std::process::id()).then_some(inst)
}

/// This process's instance, created if it has none — replacing (and forgetting) a forked
/// parent's.
fn current_or_create() -> &'static Instance {
    let pid = std::process::id();
    loop {
        let p = INSTANCE.load(Ordering::Acquire);
        if !p.is_null() {
            // SAFETY: as in `current`: instances are never freed.
            let inst = unsafe { &*p };
            if inst.pid == pid {
                return inst;
            }
            log::info(format_args!("fork detected (instance of pid {}): starting afresh", inst.pid));
        }
        let fresh = Box::into_raw(Box::new(Instance {
            pid,
            state: Mutex::new(None),
            app_mutex: AtomicPtr::new(null_mut()),
        }));
        match INSTANCE.compare_exchange(p, fresh, Ordering::AcqRel, Ordering::Acquire) {
            // The old instance (a parent's, or NULL) is deliberately leaked.
            // SAFETY: `fresh` came from `Box::into_raw` just above and is now shared
            // for good (never freed).
            Ok(_) => return unsafe { &*fresh },
            Err(_) => {
                // Another thread of this process installed one first; ours was never shared.
                // SAFETY: `fresh` came from `Box::into_raw` above and nobody else saw it.
                drop(unsafe { Box::from_raw(fresh) });
            }
        }
    }
}

/// `C_Initialize`: install a module built by `open`, with the locking `locking` asks for.
///
/// # Errors
/// `CryptokiAlreadyInitialized`; the application's `CreateMutex` failure; `open`'s error.
pub fn initialize(locking: Locking, open: impl FnOnce() -> Result<Module>) -> Result<()> {
    let inst = current_or_create();
    let mut state = inst.lock_state();
    if state.is_some() {
        return Err(Error::CryptokiAlreadyInitialized);
    }
    let app = match locking {
        Locking::Application(cb) => Some(AppMutex::create(cb)?),
        Locking::Os | Locking::Unspecified => None,
    };
    *state = Some(open()?);
    if let Some(app) = app {
        inst.app_mutex.store(Box::into_raw(Box::new(app)), Ordering::Release);
    }
    Ok(())
}

/// `C_Finalize`: drop the module (closing every session) and the application's mutex.
///
/// # Errors
/// `CryptokiNotInitialized`; the application's `LockMutex` failure.
pub fn finalize() -> Result<()> {
    let inst = current().ok_or(Error::CryptokiNotInitialized)?;
    let app = inst.lock_app()?;
    let mut state = inst.lock_state();
    let module = state.take().ok_or(Error::CryptokiNotInitialized)?;
    let app_ptr = inst.app_mutex.swap(null_mut(), Ordering::AcqRel);
    drop(module);
    drop(state);
    drop(app);
    if !app_ptr.is_null() {
        // SAFETY: from `Box::into_raw` in `initialize`; swapped out above so no later call
        // can load it, and its guard was dropped just before.
        drop(unsafe { Box::from_raw(app_ptr) });
    }
    Ok(())
}

/// Run `f` on the initialised module, under the application's lock (if any) and ours.
///
/// # Errors
/// `CryptokiNotInitialized` before `C_Initialize`, after `C_Finalize` and in a fork child;
/// the application's `LockMutex` failure; `f`'s error.
pub fn with_module<T>(f: impl FnOnce(&mut Module) -> Result<T>) -> Result<T> {
    let inst = current().ok_or(Error::CryptokiNotInitialized)?;
    let _app = inst.lock_app()?;
    let mut state = inst.lock_state();
    let module = state.as_mut().ok_or(Error::CryptokiNotInitialized)?;
    f(module)
}

#[cfg(test)]
mod tests {
    use super::*;

    unsafe extern "C" fn create(p: *mut *mut c_void) -> CK_RV {
        // SAFETY: test callback; `p` is valid by the caller contract.
        unsafe { *p = core::ptr::dangling_mut() };
        CKR_OK
    }
    unsafe extern "C" fn other(_: *mut c_void) -> CK_RV {
        CKR_OK
    }

    fn args() -> CK_C_INITIALIZE_ARGS {
        CK_C_INITIALIZE_ARGS {
            CreateMutex: None,
            DestroyMutex: None,
            LockMutex: None,
            UnlockMutex: None,
            flags: 0,
            pReserved: null_mut(),
        }
    }

    #[test]
    fn initialize_args_rules() {
        assert!(matches!(Locking::from_args(None), Ok(Locking::Unspecified)));
        assert!(matches!(Locking::from_args(Some(&args())), Ok(Locking::Unspecified)));

        let mut a = args();
        a.flags = CKF_OS_LOCKING_OK;
        assert!(matches!(Locking::from_args(Some(&a)), Ok(Locking::Os)));

        let mut a = args();
        a.pReserved = 8 as *mut c_void;
        assert!(matches!(Locking::from_args(Some(&a)), Err(Error::ArgumentsBad)));

        let mut a = args();
        a.CreateMutex = Some(create);
        assert!(matches!(Locking::from_args(Some(&a)), Err(Error::ArgumentsBad)), "one callback of four");

        let mut a = args();
        a.CreateMutex = Some(create);
        a.DestroyMutex = Some(other);
        a.LockMutex = Some(other);
        a.UnlockMutex = Some(other);
        assert!(matches!(Locking::from_args(Some(&a)), Ok(Locking::Application(_))));
        a.flags = CKF_OS_LOCKING_OK | cryptoki_sys::CKF_LIBRARY_CANT_CREATE_OS_THREADS;
        assert!(matches!(Locking::from_args(Some(&a)), Ok(Locking::Os)));
    }

    #[test]
    fn callback_failures_map_to_their_code() {
        assert_eq!(check(CKR_OK), Ok(()));
        assert_eq!(check(cryptoki_sys::CKR_MUTEX_BAD), Err(Error::MutexBad));
        assert_eq!(check(0x7fff_fff0), Err(Error::GeneralError));
    }
}
