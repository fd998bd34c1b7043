//! The library as a whole: `C_Initialize`/`C_Finalize`, `C_GetInfo`, slots, tokens, mechanisms,
//! sessions, and the raw-ABI rules (NULL pointers, reserved fields, invalid handles, length
//! queries) that every function must honour.

mod common;

use core::ffi::c_void;
use core::ptr;
use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use cryptoki::mechanism::MechanismType;
use cryptoki::session::{SessionState, UserType};
use cryptoki::slot::Slot;
use cryptoki_sys::{
    CK_C_INITIALIZE_ARGS, CK_FLAGS, CK_FUNCTION_LIST_PTR, CK_INFO, CK_MECHANISM, CK_MECHANISM_INFO,
    CK_MECHANISM_TYPE, CK_RV, CK_SESSION_HANDLE, CK_SESSION_INFO, CK_SLOT_ID, CK_SLOT_INFO, CK_TOKEN_INFO,
    CK_ULONG, CKF_LOGIN_REQUIRED, CKF_OS_LOCKING_OK, CKF_RNG, CKF_RW_SESSION, CKF_SERIAL_SESSION,
    CKF_TOKEN_INITIALIZED, CKF_TOKEN_PRESENT, CKF_USER_PIN_INITIALIZED, CKM_SHA256, CKR_MUTEX_NOT_LOCKED,
    CKR_OK, CKU_USER,
};

use common::raw::{Raw, ulong};
use common::{Hsm, SO_PIN, Skip, TOKEN_LABEL, USER_PIN, os_locking, pin, run};

#[test]
fn initialize_twice_is_already_initialized() {
    run("initialize_twice_is_already_initialized", Skip::Never, || {
        let ctx = Hsm::load_uninitialized();
        ctx.initialize(os_locking()).expect("first C_Initialize");
        assert_rv!(ctx.initialize(os_locking()), CryptokiAlreadyInitialized);
        ctx.clone().finalize().expect("C_Finalize");
        assert_rv!(ctx.clone().finalize(), CryptokiNotInitialized);
        // The library can be initialised again after C_Finalize.
        ctx.initialize(os_locking()).expect("C_Initialize after C_Finalize");
        ctx.get_all_slots().expect("C_GetSlotList after re-initialisation");
        ctx.finalize().expect("final C_Finalize");
    });
}

#[test]
fn calls_before_initialize_are_not_initialized() {
    run("calls_before_initialize_are_not_initialized", Skip::Never, || {
        let ctx = Hsm::load_uninitialized();
        let raw = Raw::load();
        // C_GetFunctionList is the one call that works before C_Initialize.
        let mut list: CK_FUNCTION_LIST_PTR = ptr::null_mut();
        // SAFETY: `list` is a valid place for the pointer.
        assert_ck!(unsafe { ck_fn!(raw, C_GetFunctionList)(&raw mut list) }, CKR_OK);

        let check = |when: &str| {
            assert_rv!(ctx.get_library_info(), CryptokiNotInitialized);
            assert_rv!(ctx.get_all_slots(), CryptokiNotInitialized);
            let mut info = CK_INFO::default();
            // SAFETY: `info` is a valid CK_INFO.
            let rv = unsafe { ck_fn!(raw, C_GetInfo)(&raw mut info) };
            assert_ck!(rv, CKR_CRYPTOKI_NOT_INITIALIZED);
            let mut count: CK_ULONG = 0;
            // SAFETY: NULL list with a valid count pointer is a length query.
            let rv = unsafe { ck_fn!(raw, C_GetSlotList)(0, ptr::null_mut(), &raw mut count) };
            assert_ck!(rv, CKR_CRYPTOKI_NOT_INITIALIZED);
            let mut slot_info = CK_SLOT_INFO::default();
            // SAFETY: `slot_info` is a valid CK_SLOT_INFO.
            let rv = unsafe { ck_fn!(raw, C_GetSlotInfo)(0, &raw mut slot_info) };
            assert_ck!(rv, CKR_CRYPTOKI_NOT_INITIALIZED);
            let mut token_info = CK_TOKEN_INFO::default();
            // SAFETY: `token_info` is a valid CK_TOKEN_INFO.
            let rv = unsafe { ck_fn!(raw, C_GetTokenInfo)(0, &raw mut token_info) };
            assert_ck!(rv, CKR_CRYPTOKI_NOT_INITIALIZED);
            let mut session: CK_SESSION_HANDLE = 0;
            // SAFETY: valid flags and an out pointer; no notification callback.
            let rv = unsafe {
                ck_fn!(raw, C_OpenSession)(0, CKF_SERIAL_SESSION, ptr::null_mut(), None, &raw mut session)
            };
            assert_ck!(rv, CKR_CRYPTOKI_NOT_INITIALIZED);
            // SAFETY: plain integer arguments.
            let rv = unsafe { ck_fn!(raw, C_CloseAllSessions)(0) };
            assert_ck!(rv, CKR_CRYPTOKI_NOT_INITIALIZED);
            // SAFETY: plain integer arguments.
            let rv = unsafe { ck_fn!(raw, C_CloseSession)(1) };
            assert_ck!(rv, CKR_CRYPTOKI_NOT_INITIALIZED);
            let mut buf = [0u8; 8];
            // SAFETY: `buf` is live for its length.
            let rv = unsafe { ck_fn!(raw, C_GenerateRandom)(1, buf.as_mut_ptr(), 8) };
            assert_ck!(rv, CKR_CRYPTOKI_NOT_INITIALIZED);
            // SAFETY: NULL is the required argument of C_Finalize.
            let rv = unsafe { ck_fn!(raw, C_Finalize)(ptr::null_mut()) };
            assert!(
                rv == cryptoki_sys::CKR_CRYPTOKI_NOT_INITIALIZED,
                "C_Finalize {when}: {}",
                common::raw::rv_name(rv)
            );
        };
        check("before the first C_Initialize");
        ctx.initialize(os_locking()).expect("C_Initialize");
        ctx.clone().finalize().expect("C_Finalize");
        check("after C_Finalize");
    });
}

/// Mutex callbacks that count their use (the spec requires the library to use them when the
/// application supplies them without `CKF_OS_LOCKING_OK`, or else refuse with `CKR_CANT_LOCK`).
static MUTEXES_CREATED: AtomicUsize = AtomicUsize::new(0);
static MUTEXES_LOCKED: AtomicUsize = AtomicUsize::new(0);

unsafe extern "C" fn create_mutex(out: *mut *mut c_void) -> CK_RV {
    if out.is_null() {
        return cryptoki_sys::CKR_ARGUMENTS_BAD;
    }
    let mutex = Box::into_raw(Box::new(AtomicBool::new(false)));
    // SAFETY: the library passes a valid place for the new mutex (checked non-NULL above).
    unsafe { *out = mutex.cast() };
    MUTEXES_CREATED.fetch_add(1, Ordering::SeqCst);
    CKR_OK
}

unsafe extern "C" fn destroy_mutex(mutex: *mut c_void) -> CK_RV {
    if mutex.is_null() {
        return cryptoki_sys::CKR_MUTEX_BAD;
    }
    // SAFETY: the library passes back a pointer made by `create_mutex`, destroyed once.
    drop(unsafe { Box::from_raw(mutex.cast::<AtomicBool>()) });
    CKR_OK
}

unsafe extern "C" fn lock_mutex(mutex: *mut c_void) -> CK_RV {
    if mutex.is_null() {
        return cryptoki_sys::CKR_MUTEX_BAD;
    }
    // SAFETY: a pointer made by `create_mutex` and not yet destroyed.
    let flag = unsafe { &*mutex.cast::<AtomicBool>() };
    while flag.compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed).is_err() {
        std::thread::yield_now();
    }
    MUTEXES_LOCKED.fetch_add(1, Ordering::SeqCst);
    CKR_OK
}

unsafe extern "C" fn unlock_mutex(mutex: *mut c_void) -> CK_RV {
    if mutex.is_null() {
        return cryptoki_sys::CKR_MUTEX_BAD;
    }
    // SAFETY: a pointer made by `create_mutex` and not yet destroyed.
    let flag = unsafe { &*mutex.cast::<AtomicBool>() };
    if flag.swap(false, Ordering::Release) { CKR_OK } else { CKR_MUTEX_NOT_LOCKED }
}

fn init_args(flags: CK_FLAGS) -> CK_C_INITIALIZE_ARGS {
    CK_C_INITIALIZE_ARGS {
        CreateMutex: None,
        DestroyMutex: None,
        LockMutex: None,
        UnlockMutex: None,
        flags,
        pReserved: ptr::null_mut(),
    }
}

fn with_callbacks(flags: CK_FLAGS) -> CK_C_INITIALIZE_ARGS {
    CK_C_INITIALIZE_ARGS {
        CreateMutex: Some(create_mutex),
        DestroyMutex: Some(destroy_mutex),
        LockMutex: Some(lock_mutex),
        UnlockMutex: Some(unlock_mutex),
        ..init_args(flags)
    }
}

fn raw_initialize(raw: &Raw, args: Option<&mut CK_C_INITIALIZE_ARGS>) -> CK_RV {
    let p = args.map_or(ptr::null_mut(), |a| ptr::from_mut(a).cast::<c_void>());
    // SAFETY: `p` is NULL or a live CK_C_INITIALIZE_ARGS whose callbacks are valid functions.
    unsafe { ck_fn!(raw, C_Initialize)(p) }
}

fn raw_finalize(raw: &Raw) -> CK_RV {
    // SAFETY: NULL is the required argument of C_Finalize.
    unsafe { ck_fn!(raw, C_Finalize)(ptr::null_mut()) }
}

#[test]
fn initialize_arguments_are_checked() {
    run("initialize_arguments_are_checked", Skip::Never, || {
        let raw = Raw::load();
        // pReserved must be NULL.
        let mut reserved = 0u64;
        let mut args = init_args(CKF_OS_LOCKING_OK);
        args.pReserved = ptr::from_mut(&mut reserved).cast();
        assert_ck!(raw_initialize(&raw, Some(&mut args)), CKR_ARGUMENTS_BAD);
        // The mutex callbacks come all four or not at all.
        let mut args = init_args(0);
        args.CreateMutex = Some(create_mutex);
        args.LockMutex = Some(lock_mutex);
        assert_ck!(raw_initialize(&raw, Some(&mut args)), CKR_ARGUMENTS_BAD);
        // A refused C_Initialize leaves the library uninitialised.
        assert_ck!(raw_finalize(&raw), CKR_CRYPTOKI_NOT_INITIALIZED);

        // NULL arguments: no threads, no locking needed.
        assert_ck!(raw_initialize(&raw, None), CKR_OK);
        assert_ck!(raw_finalize(&raw), CKR_OK);
        // No callbacks, OS locking.
        assert_ck!(raw_initialize(&raw, Some(&mut init_args(CKF_OS_LOCKING_OK))), CKR_OK);
        assert_ck!(raw_finalize(&raw), CKR_OK);
        // Callbacks and OS locking: the library may use either.
        let mut args = with_callbacks(CKF_OS_LOCKING_OK);
        assert_ck!(raw_initialize(&raw, Some(&mut args)), CKR_OK);
        assert_ck!(raw_finalize(&raw), CKR_OK);

        // Callbacks without OS locking: the library must use them, or refuse with CKR_CANT_LOCK.
        let mut args = with_callbacks(0);
        let rv = raw_initialize(&raw, Some(&mut args));
        if rv == cryptoki_sys::CKR_CANT_LOCK {
            common::note("the module refuses application-supplied mutexes (CKR_CANT_LOCK)");
            return;
        }
        assert_ck!(rv, CKR_OK);
        let ctx = Hsm::load_uninitialized();
        let slot = *ctx.get_all_slots().expect("C_GetSlotList").last().expect("at least one slot");
        ctx.get_token_info(slot).expect("C_GetTokenInfo");
        let session = ctx.open_ro_session(slot);
        drop(session);
        assert!(
            MUTEXES_CREATED.load(Ordering::SeqCst) > 0 && MUTEXES_LOCKED.load(Ordering::SeqCst) > 0,
            "the module was given mutex callbacks without CKF_OS_LOCKING_OK but did not use them \
             (created {}, locked {})",
            MUTEXES_CREATED.load(Ordering::SeqCst),
            MUTEXES_LOCKED.load(Ordering::SeqCst)
        );
        assert_ck!(raw_finalize(&raw), CKR_OK);
    });
}

#[test]
fn get_info_describes_the_library() {
    run("get_info_describes_the_library", Skip::Never, || {
        let hsm = Hsm::load();
        let info = hsm.ctx.get_library_info().expect("C_GetInfo");
        let version = info.cryptoki_version();
        assert!(
            (version.major(), version.minor()) >= (2, 40),
            "cryptoki version {version} is older than 2.40"
        );
        assert!(!info.manufacturer_id().is_empty(), "empty manufacturerID");
        let raw = hsm.raw();
        let mut info = CK_INFO::default();
        // SAFETY: `info` is a valid CK_INFO.
        assert_ck!(unsafe { ck_fn!(raw, C_GetInfo)(&raw mut info) }, CKR_OK);
        assert_blank_padded("CK_INFO.manufacturerID", &info.manufacturerID);
        assert_blank_padded("CK_INFO.libraryDescription", &info.libraryDescription);
        assert_eq!(info.flags, 0, "CK_INFO.flags is reserved and must be 0");
    });
}

#[test]
fn null_pointers_are_arguments_bad() {
    run("null_pointers_are_arguments_bad", Skip::Never, || {
        let hsm = Hsm::load();
        let slot = hsm.token();
        let session = hsm.ctx.open_rw_session(slot).expect("C_OpenSession");
        let s = session.handle();
        let raw = hsm.raw();
        let sid: CK_SLOT_ID = slot.id();
        // Each call below passes NULL where the spec requires a pointer: the module must answer
        // CKR_ARGUMENTS_BAD without touching memory.
        // SAFETY: see above.
        unsafe {
            assert_ck!(ck_fn!(raw, C_GetFunctionList)(ptr::null_mut()), CKR_ARGUMENTS_BAD);
            assert_ck!(ck_fn!(raw, C_GetInfo)(ptr::null_mut()), CKR_ARGUMENTS_BAD);
            assert_ck!(ck_fn!(raw, C_GetSlotList)(0, ptr::null_mut(), ptr::null_mut()), CKR_ARGUMENTS_BAD);
            assert_ck!(ck_fn!(raw, C_GetSlotInfo)(sid, ptr::null_mut()), CKR_ARGUMENTS_BAD);
            assert_ck!(ck_fn!(raw, C_GetTokenInfo)(sid, ptr::null_mut()), CKR_ARGUMENTS_BAD);
            assert_ck!(
                ck_fn!(raw, C_GetMechanismList)(sid, ptr::null_mut(), ptr::null_mut()),
                CKR_ARGUMENTS_BAD
            );
            assert_ck!(ck_fn!(raw, C_GetMechanismInfo)(sid, CKM_SHA256, ptr::null_mut()), CKR_ARGUMENTS_BAD);
            assert_ck!(
                ck_fn!(raw, C_OpenSession)(sid, CKF_SERIAL_SESSION, ptr::null_mut(), None, ptr::null_mut()),
                CKR_ARGUMENTS_BAD
            );
            assert_ck!(ck_fn!(raw, C_GetSessionInfo)(s, ptr::null_mut()), CKR_ARGUMENTS_BAD);
            assert_ck!(ck_fn!(raw, C_Login)(s, CKU_USER, ptr::null_mut(), 4), CKR_ARGUMENTS_BAD);
            assert_ck!(ck_fn!(raw, C_GenerateRandom)(s, ptr::null_mut(), 16), CKR_ARGUMENTS_BAD);
            assert_ck!(ck_fn!(raw, C_DigestInit)(s, ptr::null_mut()), CKR_ARGUMENTS_BAD);
            let mut object = 0;
            assert_ck!(
                ck_fn!(raw, C_CreateObject)(s, ptr::null_mut(), 1, &raw mut object),
                CKR_ARGUMENTS_BAD
            );
            assert_ck!(ck_fn!(raw, C_FindObjectsInit)(s, ptr::null_mut(), 1), CKR_ARGUMENTS_BAD);
        }
        // The session is still fine after all that.
        session.get_session_info().expect("C_GetSessionInfo");
    });
}

/// A slot ID that the module does not list.
fn unlisted_slot(hsm: &Hsm) -> Slot {
    let listed = hsm.ctx.get_all_slots().expect("C_GetSlotList");
    (0x0bad_0000u64..)
        .map(|id| Slot::try_from(id).expect("slot id"))
        .find(|slot| !listed.contains(slot))
        .expect("an unlisted slot id")
}

#[test]
fn invalid_slot_is_slot_id_invalid() {
    run("invalid_slot_is_slot_id_invalid", Skip::Never, || {
        let hsm = Hsm::load();
        let bad = unlisted_slot(&hsm);
        assert_rv!(hsm.ctx.get_slot_info(bad), SlotIdInvalid);
        assert_rv!(hsm.ctx.get_token_info(bad), SlotIdInvalid);
        assert_rv!(hsm.ctx.get_mechanism_list(bad), SlotIdInvalid);
        assert_rv!(hsm.ctx.get_mechanism_info(bad, MechanismType::SHA256), SlotIdInvalid);
        assert_rv!(hsm.ctx.open_ro_session(bad), SlotIdInvalid);
        assert_rv!(hsm.ctx.open_rw_session(bad), SlotIdInvalid);
        assert_rv!(hsm.ctx.init_token(bad, &pin(SO_PIN), "x"), SlotIdInvalid);
        let raw = hsm.raw();
        // SAFETY: plain integer argument.
        let rv = unsafe { ck_fn!(raw, C_CloseAllSessions)(bad.id()) };
        assert_ck!(rv, CKR_SLOT_ID_INVALID);
    });
}

#[test]
fn invalid_session_is_session_handle_invalid() {
    run("invalid_session_is_session_handle_invalid", Skip::Never, || {
        let hsm = Hsm::load();
        let slot = hsm.token();
        let raw = hsm.raw();
        let closed = {
            let session = hsm.ctx.open_ro_session(slot).expect("C_OpenSession");
            let handle = session.handle();
            session.close().expect("C_CloseSession");
            handle
        };
        for bad in [0, 0x0bad_cafe, closed] {
            let mut info = CK_SESSION_INFO::default();
            let mut buf = [0u8; 4];
            let user_pin = USER_PIN.as_bytes();
            let mut mech =
                CK_MECHANISM { mechanism: CKM_SHA256, pParameter: ptr::null_mut(), ulParameterLen: 0 };
            // SAFETY: every pointer is to a live value of the right type and length.
            unsafe {
                assert_ck!(ck_fn!(raw, C_GetSessionInfo)(bad, &raw mut info), CKR_SESSION_HANDLE_INVALID);
                assert_ck!(ck_fn!(raw, C_CloseSession)(bad), CKR_SESSION_HANDLE_INVALID);
                assert_ck!(
                    ck_fn!(raw, C_Login)(bad, CKU_USER, user_pin.as_ptr().cast_mut(), ulong(user_pin.len())),
                    CKR_SESSION_HANDLE_INVALID
                );
                assert_ck!(ck_fn!(raw, C_Logout)(bad), CKR_SESSION_HANDLE_INVALID);
                assert_ck!(
                    ck_fn!(raw, C_FindObjectsInit)(bad, ptr::null_mut(), 0),
                    CKR_SESSION_HANDLE_INVALID
                );
                assert_ck!(
                    ck_fn!(raw, C_GenerateRandom)(bad, buf.as_mut_ptr(), 4),
                    CKR_SESSION_HANDLE_INVALID
                );
                assert_ck!(ck_fn!(raw, C_DigestInit)(bad, &raw mut mech), CKR_SESSION_HANDLE_INVALID);
            }
        }
    });
}

#[test]
fn slot_list_lists_the_empty_slot_last() {
    run("slot_list_lists_the_empty_slot_last", Skip::Never, || {
        let hsm = Hsm::load();
        let check_empty_last = |when: &str| {
            let all = hsm.ctx.get_all_slots().expect("C_GetSlotList(FALSE)");
            let last = *all.last().unwrap_or_else(|| panic!("no slot at all {when}"));
            let slot_info = hsm.ctx.get_slot_info(last).expect("C_GetSlotInfo");
            assert!(slot_info.token_present(), "the last slot has no token {when}");
            let token = hsm.ctx.get_token_info(last).expect("C_GetTokenInfo");
            assert!(!token.token_initialized(), "the last slot's token is initialised {when}");
            // Every slot with a token is listed by C_GetSlotList(TRUE), the empty one too.
            let with_token = hsm.ctx.get_slots_with_token().expect("C_GetSlotList(TRUE)");
            assert!(with_token.contains(&last), "C_GetSlotList(TRUE) omits {last} {when}");
            all
        };
        let before = check_empty_last("before C_InitToken");
        let slot = hsm.token();
        let after = check_empty_last("after C_InitToken");
        assert!(after.contains(&slot), "the new token's slot is not listed");
        assert!(after.len() > before.len() || before.len() > 1, "no slot was added");
        let initialized = hsm.ctx.get_slots_with_initialized_token().expect("C_GetSlotList");
        assert_eq!(initialized, vec![slot], "exactly the one initialised token");

        // The length-query convention of C_GetSlotList.
        let raw = hsm.raw();
        let mut count: CK_ULONG = 0;
        // SAFETY: NULL list with a valid count pointer is a length query.
        let rv = unsafe { ck_fn!(raw, C_GetSlotList)(0, ptr::null_mut(), &raw mut count) };
        assert_ck!(rv, CKR_OK);
        assert_eq!(count, ulong(after.len()), "length query");
        let mut ids = vec![0 as CK_SLOT_ID; after.len()];
        let mut short = count - 1;
        // SAFETY: `ids` has room for `short` (< its length) slot IDs.
        let rv = unsafe { ck_fn!(raw, C_GetSlotList)(0, ids.as_mut_ptr(), &raw mut short) };
        assert_ck!(rv, CKR_BUFFER_TOO_SMALL);
        assert_eq!(short, count, "C_GetSlotList sets the needed count with BUFFER_TOO_SMALL");
        let mut exact = count;
        // SAFETY: `ids` has room for `exact` slot IDs.
        let rv = unsafe { ck_fn!(raw, C_GetSlotList)(0, ids.as_mut_ptr(), &raw mut exact) };
        assert_ck!(rv, CKR_OK);
        let listed: Vec<CK_SLOT_ID> = after.iter().map(Slot::id).collect();
        assert_eq!(ids, listed);
    });
}

#[test]
fn token_info_flags_and_padding() {
    run("token_info_flags_and_padding", Skip::Never, || {
        let hsm = Hsm::load();
        let raw = hsm.raw();
        let raw_info = |slot: Slot| {
            let mut info = CK_TOKEN_INFO::default();
            // SAFETY: `info` is a valid CK_TOKEN_INFO.
            let rv = unsafe { ck_fn!(raw, C_GetTokenInfo)(slot.id(), &raw mut info) };
            assert_ck!(rv, CKR_OK);
            info
        };
        let empty = hsm.empty_slot();
        let info = raw_info(empty);
        assert_eq!(info.flags & CKF_TOKEN_INITIALIZED, 0, "fresh token: TOKEN_INITIALIZED");
        let mut slot_info = CK_SLOT_INFO::default();
        // SAFETY: `slot_info` is a valid CK_SLOT_INFO.
        let rv = unsafe { ck_fn!(raw, C_GetSlotInfo)(empty.id(), &raw mut slot_info) };
        assert_ck!(rv, CKR_OK);
        assert_ne!(slot_info.flags & CKF_TOKEN_PRESENT, 0, "CKF_TOKEN_PRESENT");
        assert_blank_padded("CK_SLOT_INFO.slotDescription", &slot_info.slotDescription);
        assert_blank_padded("CK_SLOT_INFO.manufacturerID", &slot_info.manufacturerID);

        let slot = hsm.init_token_only(TOKEN_LABEL);
        let info = raw_info(slot);
        let flags = info.flags;
        for (flag, name) in [
            (CKF_TOKEN_INITIALIZED, "CKF_TOKEN_INITIALIZED"),
            (CKF_LOGIN_REQUIRED, "CKF_LOGIN_REQUIRED"),
            (CKF_RNG, "CKF_RNG"),
        ] {
            assert_ne!(flags & flag, 0, "{name} not set after C_InitToken (flags 0x{flags:x})");
        }
        assert_eq!(flags & CKF_USER_PIN_INITIALIZED, 0, "CKF_USER_PIN_INITIALIZED before C_InitPIN");
        let mut label = [b' '; 32];
        label[..TOKEN_LABEL.len()].copy_from_slice(TOKEN_LABEL.as_bytes());
        assert_eq!(
            String::from_utf8_lossy(&info.label),
            String::from_utf8_lossy(&label),
            "the label is blank-padded to 32 bytes"
        );
        assert_blank_padded("CK_TOKEN_INFO.manufacturerID", &info.manufacturerID);
        assert_blank_padded("CK_TOKEN_INFO.model", &info.model);
        assert_blank_padded("CK_TOKEN_INFO.serialNumber", &info.serialNumber);
        assert!(info.serialNumber.iter().any(|b| *b != b' '), "empty serial number");
        assert!(info.ulMinPinLen <= info.ulMaxPinLen, "PIN length limits");

        let session = hsm.ctx.open_rw_session(slot).expect("C_OpenSession");
        session.login(UserType::So, Some(&pin(SO_PIN))).expect("C_Login(SO)");
        session.init_pin(&pin(USER_PIN)).expect("C_InitPIN");
        let flags = raw_info(slot).flags;
        assert_ne!(
            flags & CKF_USER_PIN_INITIALIZED,
            0,
            "CKF_USER_PIN_INITIALIZED after C_InitPIN (flags 0x{flags:x})"
        );
        let info = hsm.ctx.get_token_info(slot).expect("C_GetTokenInfo");
        assert_eq!(info.label(), TOKEN_LABEL);
    });
}

fn assert_blank_padded(what: &str, field: &[u8]) {
    assert!(
        !field.contains(&0),
        "{what} contains NUL bytes (must be blank-padded, not NUL-terminated): {field:?}"
    );
    assert!(core::str::from_utf8(field).is_ok(), "{what} is not UTF-8: {field:?}");
}

/// The module's mechanism list through the raw ABI (`cryptoki` drops the types it does not know).
fn raw_mechanism_list(raw: &Raw, slot: Slot) -> Vec<CK_MECHANISM_TYPE> {
    let mut count: CK_ULONG = 0;
    // SAFETY: NULL list with a valid count pointer is a length query.
    let rv = unsafe { ck_fn!(raw, C_GetMechanismList)(slot.id(), ptr::null_mut(), &raw mut count) };
    assert_ck!(rv, CKR_OK);
    let mut mechs = vec![0 as CK_MECHANISM_TYPE; usize::try_from(count).expect("count")];
    if count > 0 {
        let mut short = count - 1;
        // SAFETY: `mechs` has room for `short` (< its length) entries.
        let rv = unsafe { ck_fn!(raw, C_GetMechanismList)(slot.id(), mechs.as_mut_ptr(), &raw mut short) };
        assert_ck!(rv, CKR_BUFFER_TOO_SMALL);
        assert_eq!(short, count, "C_GetMechanismList sets the needed count with BUFFER_TOO_SMALL");
    }
    // SAFETY: `mechs` has room for `count` entries.
    let rv = unsafe { ck_fn!(raw, C_GetMechanismList)(slot.id(), mechs.as_mut_ptr(), &raw mut count) };
    assert_ck!(rv, CKR_OK);
    assert_eq!(usize::try_from(count).expect("count"), mechs.len());
    mechs
}

fn raw_mechanism_info(raw: &Raw, slot: Slot, mech: CK_MECHANISM_TYPE) -> (CK_RV, CK_MECHANISM_INFO) {
    let mut info = CK_MECHANISM_INFO::default();
    // SAFETY: `info` is a valid CK_MECHANISM_INFO.
    let rv = unsafe { ck_fn!(raw, C_GetMechanismInfo)(slot.id(), mech, &raw mut info) };
    (rv, info)
}

#[test]
fn mechanism_list_and_info() {
    use cryptoki_sys::{
        CKF_DECRYPT, CKF_DIGEST, CKF_ENCRYPT, CKF_GENERATE, CKF_GENERATE_KEY_PAIR, CKF_SIGN, CKF_VERIFY,
        CKM_AES_GCM, CKM_AES_KEY_GEN, CKM_EC_KEY_PAIR_GEN, CKM_ECDSA, CKM_ECDSA_SHA256,
        CKM_GENERIC_SECRET_KEY_GEN, CKM_SHA_1, CKM_SHA3_224, CKM_SHA3_256, CKM_SHA3_384, CKM_SHA3_512,
        CKM_SHA224, CKM_SHA256_HMAC, CKM_SHA384, CKM_SHA512, CKM_SHA512_224, CKM_SHA512_256,
    };
    run("mechanism_list_and_info", Skip::Never, || {
        let hsm = Hsm::load();
        let slot = hsm.token();
        let raw = hsm.raw();
        let list = raw_mechanism_list(&raw, slot);
        let mut required: Vec<(CK_MECHANISM_TYPE, CK_FLAGS, &str)> = vec![
            (CKM_SHA_1, CKF_DIGEST, "CKM_SHA_1"),
            (CKM_SHA224, CKF_DIGEST, "CKM_SHA224"),
            (CKM_SHA256, CKF_DIGEST, "CKM_SHA256"),
            (CKM_SHA384, CKF_DIGEST, "CKM_SHA384"),
            (CKM_SHA512, CKF_DIGEST, "CKM_SHA512"),
            (CKM_AES_KEY_GEN, CKF_GENERATE, "CKM_AES_KEY_GEN"),
            (CKM_AES_GCM, CKF_ENCRYPT | CKF_DECRYPT, "CKM_AES_GCM"),
            (CKM_GENERIC_SECRET_KEY_GEN, CKF_GENERATE, "CKM_GENERIC_SECRET_KEY_GEN"),
            (CKM_SHA256_HMAC, CKF_SIGN | CKF_VERIFY, "CKM_SHA256_HMAC"),
            (CKM_EC_KEY_PAIR_GEN, CKF_GENERATE_KEY_PAIR, "CKM_EC_KEY_PAIR_GEN"),
            (CKM_ECDSA, CKF_SIGN | CKF_VERIFY, "CKM_ECDSA"),
        ];
        if common::is_softhsm() {
            common::note("not checking SHA-512/t, SHA-3 and ECDSA-SHA256: SoftHSM 2.6 lacks them");
        } else {
            required.extend([
                (CKM_SHA512_224, CKF_DIGEST, "CKM_SHA512_224"),
                (CKM_SHA512_256, CKF_DIGEST, "CKM_SHA512_256"),
                (CKM_SHA3_224, CKF_DIGEST, "CKM_SHA3_224"),
                (CKM_SHA3_256, CKF_DIGEST, "CKM_SHA3_256"),
                (CKM_SHA3_384, CKF_DIGEST, "CKM_SHA3_384"),
                (CKM_SHA3_512, CKF_DIGEST, "CKM_SHA3_512"),
                (CKM_ECDSA_SHA256, CKF_SIGN | CKF_VERIFY, "CKM_ECDSA_SHA256"),
            ]);
        }
        for (mech, flags, name) in &required {
            assert!(list.contains(mech), "C_GetMechanismList lacks {name}");
            let (rv, info) = raw_mechanism_info(&raw, slot, *mech);
            assert_ck!(rv, CKR_OK);
            assert_eq!(info.flags & flags, *flags, "C_GetMechanismInfo({name}).flags = 0x{:x}", info.flags);
        }
        let (_, gcm) = raw_mechanism_info(&raw, slot, CKM_AES_GCM);
        assert!(
            gcm.ulMinKeySize <= 16 && gcm.ulMaxKeySize >= 32,
            "AES-GCM key sizes {}..{} (bytes) exclude AES-128 or AES-256",
            gcm.ulMinKeySize,
            gcm.ulMaxKeySize
        );
        for mech in &list {
            let (rv, info) = raw_mechanism_info(&raw, slot, *mech);
            assert_ck!(rv, CKR_OK);
            assert!(
                info.ulMinKeySize <= info.ulMaxKeySize,
                "mechanism 0x{mech:x}: min key size > max key size"
            );
        }
        // A mechanism the module does not know.
        let (rv, _) = raw_mechanism_info(&raw, slot, 0x0000_7ff0);
        assert_ck!(rv, CKR_MECHANISM_INVALID);
    });
}

#[test]
fn open_session_requires_serial_flag() {
    run("open_session_requires_serial_flag", Skip::Never, || {
        let hsm = Hsm::load();
        let slot = hsm.token();
        let raw = hsm.raw();
        let mut session: CK_SESSION_HANDLE = 0;
        // SAFETY: valid out pointer, no callback.
        let rv = unsafe {
            ck_fn!(raw, C_OpenSession)(slot.id(), CKF_RW_SESSION, ptr::null_mut(), None, &raw mut session)
        };
        assert_ck!(rv, CKR_SESSION_PARALLEL_NOT_SUPPORTED);
    });
}

#[test]
fn session_info_tracks_login_state() {
    run("session_info_tracks_login_state", Skip::Never, || {
        let hsm = Hsm::load();
        let slot = hsm.token();
        let ro = hsm.ctx.open_ro_session(slot).expect("C_OpenSession(R/O)");
        let rw = hsm.ctx.open_rw_session(slot).expect("C_OpenSession(R/W)");
        let state = |s: &cryptoki::session::Session| {
            let info = s.get_session_info().expect("C_GetSessionInfo");
            assert_eq!(info.slot_id(), slot, "CK_SESSION_INFO.slotID");
            (info.session_state(), info.read_write())
        };
        assert_eq!(state(&ro), (SessionState::RoPublic, false));
        assert_eq!(state(&rw), (SessionState::RwPublic, true));
        rw.login(UserType::User, Some(&pin(USER_PIN))).expect("C_Login(USER)");
        assert_eq!(state(&ro), (SessionState::RoUser, false));
        assert_eq!(state(&rw), (SessionState::RwUser, true));
        let late = hsm.ctx.open_ro_session(slot).expect("C_OpenSession after login");
        assert_eq!(state(&late), (SessionState::RoUser, false));
        ro.logout().expect("C_Logout from another session");
        assert_eq!(state(&rw), (SessionState::RwPublic, true));
        drop((ro, late));
        rw.login(UserType::So, Some(&pin(SO_PIN))).expect("C_Login(SO)");
        assert_eq!(state(&rw), (SessionState::RwSecurityOfficer, true));
    });
}

#[test]
fn close_all_sessions_closes_and_logs_out() {
    run("close_all_sessions_closes_and_logs_out", Skip::Never, || {
        let hsm = Hsm::load();
        let slot = hsm.token();
        let sessions: Vec<_> =
            (0..3).map(|_| hsm.ctx.open_rw_session(slot).expect("C_OpenSession")).collect();
        sessions[0].login(UserType::User, Some(&pin(USER_PIN))).expect("C_Login");
        let raw = hsm.raw();
        // SAFETY: plain integer argument.
        assert_ck!(unsafe { ck_fn!(raw, C_CloseAllSessions)(slot.id()) }, CKR_OK);
        for s in &sessions {
            assert_rv!(s.get_session_info(), SessionHandleInvalid);
        }
        // Closing the last session logs the user out.
        let fresh = hsm.ctx.open_ro_session(slot).expect("C_OpenSession");
        let info = fresh.get_session_info().expect("C_GetSessionInfo");
        assert_eq!(info.session_state(), SessionState::RoPublic);
        for s in sessions {
            // Already closed: dropping them must not disturb anything.
            let _ = s.close();
        }
    });
}
