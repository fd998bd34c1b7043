//! Several processes on one token directory at once (issue 5): concurrent creates add up,
//! a process sees another's new objects and tokens without re-initialising, and parallel
//! signing never fails. Each scenario runs on the file and the SQLite store.

extern crate alloc;

mod storage_common;

use alloc::collections::BTreeSet;

use core::time::Duration;
use std::time::Instant;

use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, ObjectClass, ObjectHandle};
use cryptoki::session::UserType;

use storage_common::{
    LABEL, USER_PIN, create_data, data_labels, init_token, load, pin, report, reports, run_role, scratch_dir,
    signal, slot_by_label, spawn_role, wait_for,
};

const WORKERS: usize = 4;
const CREATES: usize = 250;
const SIGNING: Duration = Duration::from_secs(3);
const WAIT: Duration = Duration::from_secs(120);

#[test]
fn multiprocess() {
    storage_common::main(
        "multiprocess",
        &[
            ("concurrent_creates_add_up", concurrent_creates_add_up),
            ("new_objects_are_seen_without_reinitialising", new_objects_are_seen_without_reinitialising),
            ("parallel_signing_never_fails", parallel_signing_never_fails),
            ("new_tokens_appear_in_the_slot_list", new_tokens_appear_in_the_slot_list),
        ],
        &[("creator", creator), ("watcher", watcher), ("signer", signer), ("token_maker", token_maker)],
    );
}

// ---- 4 processes × 250 C_CreateObject ----

fn concurrent_creates_add_up() {
    let ctx = load();
    let slot = init_token(&ctx, LABEL);
    let go = scratch_dir().join("go");
    let workers: Vec<_> = (0..WORKERS).map(|w| spawn_role("creator", &w.to_string())).collect();
    // Every worker is initialised and waiting: start them together.
    for w in 0..WORKERS {
        wait_for(&scratch_dir().join(format!("ready-{w}")), WAIT);
    }
    let started = Instant::now();
    signal(&go);
    let mut acknowledged = BTreeSet::new();
    for (w, child) in workers.into_iter().enumerate() {
        let out = child.wait_with_output().expect("wait for a worker");
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success() && stdout.contains("1 passed"),
            "worker {w} failed ({}):\n{stdout}",
            out.status
        );
        acknowledged.extend(reports(&stdout));
    }
    println!(
        "| {} creates by {WORKERS} processes in {:.2} s",
        WORKERS * CREATES,
        started.elapsed().as_secs_f64()
    );
    assert_eq!(acknowledged.len(), WORKERS * CREATES, "every create was acknowledged once");

    // This process has not re-initialised: it sees all of them, all readable.
    let session = ctx.open_ro_session(slot).expect("C_OpenSession");
    let labels: BTreeSet<String> = data_labels(&session).into_iter().collect();
    assert_eq!(labels.len(), WORKERS * CREATES, "exactly 1,000 objects");
    assert_eq!(labels, acknowledged);

    // And so does a fresh process.
    let fresh = run_role("watcher", "count");
    assert_eq!(fresh, [format!("count={}", WORKERS * CREATES)]);
}

fn creator(arg: &str) {
    let w: usize = arg.parse().expect("worker number");
    let ctx = load();
    let slot = slot_by_label(&ctx, LABEL).expect("the token");
    let session = ctx.open_rw_session(slot).expect("C_OpenSession");
    signal(&scratch_dir().join(format!("ready-{w}")));
    wait_for(&scratch_dir().join("go"), WAIT);
    for i in 0..CREATES {
        let label = format!("w{w}-{i:03}");
        create_data(&session, &label).unwrap_or_else(|e| panic!("worker {w}: C_CreateObject #{i}: {e}"));
        report(&label);
    }
}

// ---- B sees A's new object at its next C_FindObjectsInit ----

fn new_objects_are_seen_without_reinitialising() {
    let ctx = load();
    let slot = init_token(&ctx, LABEL);
    let watcher = spawn_role("watcher", "watch");
    wait_for(&scratch_dir().join("watching"), WAIT);
    let session = ctx.open_rw_session(slot).expect("C_OpenSession");
    create_data(&session, "from A").expect("C_CreateObject");
    signal(&scratch_dir().join("created"));
    let out = watcher.wait_with_output().expect("wait for the watcher");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success() && stdout.contains("1 passed"), "watcher failed:\n{stdout}");
    assert_eq!(reports(&stdout), ["before=0", "after=from A"]);

    // And the other way round: the watcher destroyed it; A's next search misses it.
    assert_eq!(data_labels(&session), Vec::<String>::new());
}

fn watcher(arg: &str) {
    let ctx = load();
    let slot = slot_by_label(&ctx, LABEL).expect("the token");
    let session = ctx.open_rw_session(slot).expect("C_OpenSession");
    if arg == "count" {
        report(&format!("count={}", data_labels(&session).len()));
        return;
    }
    report(&format!("before={}", data_labels(&session).len()));
    signal(&scratch_dir().join("watching"));
    wait_for(&scratch_dir().join("created"), WAIT);
    // No C_Finalize / C_Initialize in between.
    let labels = data_labels(&session);
    report(&format!("after={}", labels.join(",")));
    let found = session.find_objects(&[Attribute::Label(b"from A".to_vec())]).expect("C_FindObjects");
    session.destroy_object(found[0]).expect("C_DestroyObject of A's object");
}

// ---- two processes signing in parallel ----

fn parallel_signing_never_fails() {
    let ctx = load();
    let slot = init_token(&ctx, LABEL);
    let session = ctx.open_rw_session(slot).expect("C_OpenSession");
    session.login(UserType::User, Some(&pin(USER_PIN))).expect("C_Login");
    let p256 = Attribute::EcParams(vec![0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07]);
    session
        .generate_key_pair(
            &Mechanism::EccKeyPairGen,
            &[Attribute::Token(true), p256, Attribute::Verify(true), Attribute::Label(b"signer".to_vec())],
            &[
                Attribute::Token(true),
                Attribute::Private(true),
                Attribute::Sensitive(true),
                Attribute::Sign(true),
                Attribute::Label(b"signer".to_vec()),
            ],
        )
        .expect("C_GenerateKeyPair");
    // One signer also writes now and then, so the other keeps reloading a changing token.
    let signers = [spawn_role("signer", "0"), spawn_role("signer", "1")];
    wait_for(&scratch_dir().join("ready-0"), WAIT);
    wait_for(&scratch_dir().join("ready-1"), WAIT);
    signal(&scratch_dir().join("go"));
    let mut total = 0;
    for (n, child) in signers.into_iter().enumerate() {
        let out = child.wait_with_output().expect("wait for a signer");
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(out.status.success() && stdout.contains("1 passed"), "signer {n} failed:\n{stdout}");
        let r = reports(&stdout);
        let count: u64 = r[0].strip_prefix("signatures=").expect("a count").parse().expect("a number");
        assert!(count > 10, "signer {n} made only {count} signatures");
        total += count;
    }
    println!("| {total} signatures, each verified, by 2 processes in {} s", SIGNING.as_secs());
}

fn signer(arg: &str) {
    let n: usize = arg.parse().expect("signer number");
    let ctx = load();
    let slot = slot_by_label(&ctx, LABEL).expect("the token");
    let session = ctx.open_rw_session(slot).expect("C_OpenSession");
    session.login(UserType::User, Some(&pin(USER_PIN))).expect("C_Login");
    let find = |class| -> ObjectHandle {
        let found = session
            .find_objects(&[Attribute::Class(class), Attribute::Label(b"signer".to_vec())])
            .expect("C_FindObjects");
        assert_eq!(found.len(), 1, "one {class} key");
        found[0]
    };
    let (private, public) = (find(ObjectClass::PRIVATE_KEY), find(ObjectClass::PUBLIC_KEY));
    signal(&scratch_dir().join(format!("ready-{n}")));
    wait_for(&scratch_dir().join("go"), WAIT);
    let started = Instant::now();
    let mut count = 0u64;
    while started.elapsed() < SIGNING {
        let data = format!("signer {n} message {count}");
        let sig = session
            .sign(&Mechanism::EcdsaSha256, private, data.as_bytes())
            .unwrap_or_else(|e| panic!("signer {n}: C_Sign #{count}: {e}"));
        session
            .verify(&Mechanism::EcdsaSha256, public, data.as_bytes(), &sig)
            .unwrap_or_else(|e| panic!("signer {n}: C_Verify #{count}: {e}"));
        if n == 0 && count.is_multiple_of(20) {
            create_data(&session, &format!("written while signing {count}"))
                .unwrap_or_else(|e| panic!("signer {n}: C_CreateObject: {e}"));
        }
        count += 1;
    }
    report(&format!("signatures={count}"));
}

// ---- a token made by another process shows up ----

fn new_tokens_appear_in_the_slot_list() {
    let ctx = load();
    init_token(&ctx, LABEL);
    let before = ctx.get_all_slots().expect("C_GetSlotList").len();
    assert_eq!(run_role("token_maker", ""), ["made"]);
    let slot = slot_by_label(&ctx, "made elsewhere").expect("the other process's token, without re-init");
    assert_eq!(ctx.get_all_slots().expect("C_GetSlotList").len(), before + 1);
    let session = ctx.open_ro_session(slot).expect("C_OpenSession on the new token");
    assert_eq!(data_labels(&session), ["made elsewhere"]);
    // The user PIN set elsewhere works here.
    session.login(UserType::User, Some(&pin(USER_PIN))).expect("C_Login on the new token");
}

fn token_maker(_: &str) {
    let ctx = load();
    let slot = init_token(&ctx, "made elsewhere");
    let session = ctx.open_rw_session(slot).expect("C_OpenSession");
    create_data(&session, "made elsewhere").expect("C_CreateObject");
    report("made");
}
