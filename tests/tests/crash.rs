//! Crash safety (issue 5): a process creating token objects in a loop is killed with SIGKILL
//! at random moments, 100 times; after each kill the token opens and every object whose
//! `C_CreateObject` returned `CKR_OK` (reported through a pipe before the next call) is there,
//! intact; the one in flight is either fully there or absent. On the file and SQLite stores.

extern crate alloc;

mod storage_common;

use alloc::collections::BTreeSet;

use core::time::Duration;
use std::io::{BufRead as _, BufReader};
use std::sync::mpsc;
use std::time::Instant;

use storage_common::{
    LABEL, Rand, create_data, data_labels, init_token, load, os_locking, report, slot_by_label,
};

const KILLS: usize = 100;
/// The whole scenario stops killing after this long (the count is then reported as reached).
const BUDGET: Duration = Duration::from_secs(100);

#[test]
fn crash() {
    storage_common::main(
        "crash",
        &[("acknowledged_objects_survive_sigkill", acknowledged_objects_survive_sigkill)],
        &[("creator", creator)],
    );
}

fn acknowledged_objects_survive_sigkill() {
    let ctx = load();
    init_token(&ctx, LABEL);
    let mut rand = Rand::new();
    let mut acknowledged: BTreeSet<String> = BTreeSet::new();
    let mut in_flight_present = 0;
    let started = Instant::now();
    let mut kills = 0;
    while kills < KILLS && started.elapsed() < BUDGET {
        let mut child = storage_common::spawn_role("creator", &kills.to_string());
        let stdout = child.stdout.take().expect("the creator's stdout");
        // Read acknowledgements on a thread, so that the kill lands at a time we choose.
        let (tx, rx) = mpsc::channel();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some((_, ack)) = line.split_once("REPORT ")
                    && tx.send(ack.to_owned()).is_err()
                {
                    break;
                }
            }
        });
        // Wait until it is running (its first report is "started"), then kill it within
        // 0–60 ms: before, during or after any step of a create.
        let first = rx.recv_timeout(Duration::from_secs(60)).expect("the creator starts");
        assert_eq!(first, "started");
        std::thread::sleep(Duration::from_micros(rand.below(60_000)));
        child.kill().expect("SIGKILL the creator");
        let status = child.wait().expect("reap the creator");
        assert!(!status.success(), "the creator was killed, not finished: {status}");
        reader.join().expect("the reader thread");
        let mut round: Vec<String> = rx.try_iter().collect();
        kills += 1;

        // Reopen: C_Finalize + C_Initialize runs the store's recovery.
        ctx.clone().finalize().expect("C_Finalize");
        ctx.initialize(os_locking()).expect("C_Initialize after a kill");
        let slot = slot_by_label(&ctx, LABEL).expect("the token opens after a kill");
        let session = ctx.open_ro_session(slot).expect("C_OpenSession");
        // data_labels also checks that each object's value is intact.
        let present: BTreeSet<String> = data_labels(&session).into_iter().collect();
        acknowledged.extend(round.drain(..).map(|ack| ack.strip_prefix("ok ").expect("an ack").to_owned()));
        let missing: Vec<&String> = acknowledged.difference(&present).collect();
        assert!(missing.is_empty(), "after kill {kills}: acknowledged objects missing: {missing:?}");
        // Anything else present is the create in flight at the kill: at most one per kill.
        let extra: Vec<&String> = present.difference(&acknowledged).collect();
        assert!(extra.len() <= kills, "more unacknowledged objects than kills: {extra:?}");
        in_flight_present = extra.len();
    }
    assert!(kills >= 20, "only {kills} kills in the time budget");
    println!(
        "| {kills} kills in {:.1} s: {} acknowledged objects all present, {in_flight_present} in-flight creates \
         completed",
        started.elapsed().as_secs_f64(),
        acknowledged.len()
    );
}

fn creator(arg: &str) {
    let ctx = load();
    let slot = slot_by_label(&ctx, LABEL).expect("the token");
    let session = ctx.open_rw_session(slot).expect("C_OpenSession");
    report("started");
    for i in 0.. {
        let label = format!("k{arg}-{i}");
        create_data(&session, &label).unwrap_or_else(|e| panic!("C_CreateObject {label}: {e}"));
        report(&format!("ok {label}"));
    }
}
