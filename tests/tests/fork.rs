//! Fork safety (issue 5, PKCS#11 3.2 §5.4): the child of a process that called
//! `C_Initialize` gets `CKR_CRYPTOKI_NOT_INITIALIZED` until it calls `C_Initialize` itself,
//! and then works, with its own locks and its own store connections; the parent is not
//! disturbed. On the file and SQLite stores.

mod storage_common;

use core::panic::AssertUnwindSafe;
use std::panic::catch_unwind;

use cryptoki::context::Pkcs11;
use cryptoki::error::{Error, RvError};
use cryptoki::object::{Attribute, ObjectClass};
use cryptoki::slot::Slot;

use storage_common::{LABEL, create_data, data_labels, init_token, load, os_locking, slot_by_label};

#[test]
fn fork() {
    storage_common::main("fork", &[("child_must_initialize_again", child_must_initialize_again)], &[]);
}

fn not_initialized<T>(r: cryptoki::error::Result<T>) -> bool {
    matches!(r, Err(Error::Pkcs11(RvError::CryptokiNotInitialized, _)))
}

/// What the child does; a panic becomes a non-zero exit status.
fn in_child(ctx: &Pkcs11, slot: Slot) {
    assert!(not_initialized(ctx.get_all_slots()), "C_GetSlotList before C_Initialize in the child");
    assert!(not_initialized(ctx.get_library_info()), "C_GetInfo before C_Initialize in the child");
    assert!(
        not_initialized(ctx.open_ro_session(slot).map(|_| ())),
        "C_OpenSession before C_Initialize in the child"
    );
    ctx.initialize(os_locking()).expect("C_Initialize in the child");
    let slot = slot_by_label(ctx, LABEL).expect("the token, in the child");
    let session = ctx.open_rw_session(slot).expect("C_OpenSession in the child");
    assert_eq!(data_labels(&session), ["before fork"]);
    create_data(&session, "from the child").expect("C_CreateObject in the child");
    drop(session);
    ctx.clone().finalize().expect("C_Finalize in the child");
}

fn child_must_initialize_again() {
    let ctx = load();
    let slot = init_token(&ctx, LABEL);
    let session = ctx.open_rw_session(slot).expect("C_OpenSession");
    create_data(&session, "before fork").expect("C_CreateObject");

    // SAFETY: the child only runs Rust code that allocates and calls the module; the
    // allocator (glibc's) is fork-safe, and the test harness runs this test on its only
    // test thread, so no other thread of ours holds a lock the child needs.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        let ok = catch_unwind(AssertUnwindSafe(|| in_child(&ctx, slot))).is_ok();
        // Leave at once: no destructors, no libtest epilogue, in the copy of the parent.
        std::process::exit(if ok { 0 } else { 1 });
    }
    let mut status = 0;
    // SAFETY: `status` is a valid, writable int for the duration of the call.
    let waited = unsafe { libc::waitpid(pid, &mut status, 0) };
    assert_eq!(waited, pid, "waitpid");
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "the child failed (status {status:#x})"
    );

    // The parent still works, with the session it had, and sees the child's object.
    assert_eq!(data_labels(&session), ["before fork", "from the child"]);
    create_data(&session, "after fork").expect("C_CreateObject in the parent after the fork");
    let found = session.find_objects(&[Attribute::Class(ObjectClass::DATA)]).expect("C_FindObjects");
    assert_eq!(found.len(), 3);
}
