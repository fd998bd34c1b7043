//! The store-generic conformance suite (DESIGN §2): every backend must pass it.
//!
//! Invoke [`store_conformance_tests!`](crate::store_conformance_tests) once inside a test
//! module; it generates a `mod store_conformance` of `#[test]` functions, each of which
//! evaluates the given expression anew to get a fresh, empty store:
//!
//! ```ignore
//! #[cfg(test)]
//! mod tests {
//!     use super::*;
//!     // Just a store:
//!     anyhsm_core::store_conformance_tests!(MemoryStore::new());
//! }
//! ```
//!
//! The expression may evaluate to the store itself or to a `(store, guard)` pair, where the
//! guard is anything that must outlive the store (a temporary directory): see [`Harness`].
//! A durable store also passes a `reopen` function, `Fn(H) -> H`, which drops the store
//! and opens a new one on the same data; the suite then checks that everything survives:
//!
//! ```ignore
//! anyhsm_core::store_conformance_tests!(
//!     {
//!         let dir = tempfile::tempdir().unwrap();
//!         (FileStore::open(dir.path()).unwrap(), dir)
//!     },
//!     reopen = |(store, dir): (FileStore, tempfile::TempDir)| {
//!         drop(store);
//!         (FileStore::open(dir.path()).unwrap(), dir)
//!     }
//! );
//! ```
//!
//! The cases are plain public functions here, so a failing test points at readable code; the
//! macro only names them. This is test code: it panics (with context) on any deviation.

use alloc::{vec, vec::Vec};

use super::{Batch, Op, RecordId, Store, StoreError, TokenName, TokenSnapshot};
use crate::Error;

/// What the conformance macro's expression may evaluate to: a store, or a `(store, guard)`
/// pair whose guard keeps the store's backing (a temporary directory) alive.
pub trait Harness {
    /// The store under test.
    type Store: Store;
    /// The store, borrowed for one case.
    fn store(&mut self) -> &mut Self::Store;
}

impl<S: Store> Harness for S {
    type Store = S;
    fn store(&mut self) -> &mut S {
        self
    }
}

impl<S: Store, G> Harness for (S, G) {
    type Store = S;
    fn store(&mut self) -> &mut S {
        &mut self.0
    }
}

/// Generate the conformance suite as `mod store_conformance { #[test] fn ... }`.
///
/// `store_conformance_tests!(make)` — `make` is an expression evaluated once per test that
/// yields a fresh, empty [`Harness`] (a store, or a `(store, guard)` pair). It is resolved
/// in the invoking module (the generated module does `use super::*`).
///
/// `store_conformance_tests!(make, reopen = f)` — additionally runs the persistence cases;
/// `f: Fn(H) -> H` must drop the store and open it again on the same data.
#[macro_export]
macro_rules! store_conformance_tests {
    ($make:expr $(,)?) => {
        mod store_conformance {
            #[allow(unused_imports)]
            use super::*;
            $crate::__store_conformance_cases!($make);
        }
    };
    ($make:expr, reopen = $reopen:expr $(,)?) => {
        mod store_conformance {
            #[allow(unused_imports)]
            use super::*;
            $crate::__store_conformance_cases!($make);
            $crate::__store_conformance_reopen_cases!($make, $reopen);
        }
    };
}

/// The list of cases, kept in one place. Not public API.
#[doc(hidden)]
#[macro_export]
macro_rules! __store_conformance_cases {
    ($make:expr) => {
        $crate::__store_conformance_cases!(@each $make;
            missing_token_is_absent,
            create_token_with_metadata,
            creating_without_metadata_is_refused,
            metadata_never_becomes_empty,
            put_replace_delete,
            ops_apply_in_order,
            generation_increments_by_one,
            stale_writer_is_refused_and_changes_nothing,
            wipe_removes_every_record_first,
            list_and_load_all_show_every_token,
            tokens_are_independent,
            ids_and_blobs_are_kept_exactly,
            large_blob_round_trips,
            many_records_round_trip,
        );
    };
    (@each $make:expr; $($case:ident),* $(,)?) => {
        $(
            #[test]
            fn $case() {
                let mut harness = $make;
                $crate::store::conformance::$case(
                    $crate::store::conformance::Harness::store(&mut harness),
                );
            }
        )*
    };
}

/// The persistence cases, for stores that can be reopened. Not public API.
#[doc(hidden)]
#[macro_export]
macro_rules! __store_conformance_reopen_cases {
    ($make:expr, $reopen:expr) => {
        $crate::__store_conformance_reopen_cases!(@each $make, $reopen;
            reopen_keeps_everything,
            reopen_keeps_generation_checks,
        );
    };
    (@each $make:expr, $reopen:expr; $($case:ident),* $(,)?) => {
        $(
            #[test]
            fn $case() {
                $crate::store::conformance::$case($make, $reopen);
            }
        )*
    };
}

// ---------------------------------------------------------------------------------------
// Fixtures. Token names are 16-character serials, as the engine uses them.

const A: &str = "ANYHSM0000000001";
const B: &str = "ANYHSM0000000002";
const C: &str = "ANYHSM0000000003";

fn meta(tag: u8) -> Vec<u8> {
    vec![b'M', b'E', b'T', b'A', tag]
}

fn blob(tag: u8, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| {
            #[allow(clippy::cast_possible_truncation)] // `% 251` keeps it below 256
            let b = ((i % 251) as u8) ^ tag;
            b
        })
        .collect()
}

fn put(id: RecordId, blob: Vec<u8>) -> Op {
    Op::Put { id, blob }
}

fn del(id: RecordId) -> Op {
    Op::Delete { id }
}

fn batch(ops: Vec<Op>) -> Batch {
    Batch { ops, wipe: false }
}

fn wipe(ops: Vec<Op>) -> Batch {
    Batch { ops, wipe: true }
}

fn apply_ok<S: Store + ?Sized>(s: &mut S, name: &str, expected: u64, b: &Batch) -> u64 {
    let new = s
        .apply(name, expected, b)
        .unwrap_or_else(|e| panic!("apply({name}, {expected}, {b:?}) failed: {e:?}"));
    assert_eq!(new, expected + 1, "apply must return expected + 1");
    new
}

/// A token's snapshot with records in id order (the suite does not require an order).
fn snapshot<S: Store + ?Sized>(s: &mut S, name: &str) -> TokenSnapshot {
    let mut snap = s.load(name).unwrap_or_else(|e| panic!("load({name}) failed: {e:?}"));
    assert_eq!(snap.name, name, "snapshot carries the token's name");
    snap.records.sort_by_key(|(id, _)| *id);
    snap
}

fn names<S: Store + ?Sized>(s: &mut S) -> Vec<TokenName> {
    let mut n = s.list().expect("list");
    n.sort();
    n
}

fn all<S: Store + ?Sized>(s: &mut S) -> Vec<TokenSnapshot> {
    let mut snaps = s.load_all().expect("load_all");
    for snap in &mut snaps {
        snap.records.sort_by_key(|(id, _)| *id);
    }
    snaps.sort_by(|x, y| x.name.cmp(&y.name));
    snaps
}

fn assert_absent<S: Store + ?Sized>(s: &mut S, name: &str) {
    assert_eq!(s.load(name), Err(StoreError::Failed(Error::TokenNotPresent)), "load of missing token {name}");
    assert_eq!(s.generation(name), Ok(0), "generation of missing token {name}");
    assert!(!names(s).iter().any(|n| n == name), "{name} must not be listed");
}

const NOT_PRESENT: Result<u64, StoreError> = Err(StoreError::Failed(Error::TokenNotPresent));

// ---------------------------------------------------------------------------------------
// Cases.

/// An empty store has no tokens; a missing token loads as `TokenNotPresent`, generation 0.
pub fn missing_token_is_absent<S: Store + ?Sized>(s: &mut S) {
    assert_absent(s, A);
    assert_eq!(names(s), Vec::<TokenName>::new());
    assert_eq!(all(s), Vec::new());
}

/// A batch with `PutMeta` at generation 0 creates the token at generation 1.
pub fn create_token_with_metadata<S: Store + ?Sized>(s: &mut S) {
    let b = batch(vec![Op::PutMeta(meta(1)), put(7, blob(7, 40))]);
    assert_eq!(s.apply(A, 0, &b), Ok(1));
    assert_eq!(s.generation(A), Ok(1));
    assert_eq!(
        snapshot(s, A),
        TokenSnapshot {
            name: A.into(),
            generation: 1,
            meta: meta(1),
            records: vec![(7, blob(7, 40))],
            damaged: vec![]
        }
    );
    assert_eq!(names(s), vec![TokenName::from(A)]);
}

/// A token cannot exist without metadata: a creating batch without (non-empty) `PutMeta`
/// is refused with `TokenNotPresent`, and nothing is created.
pub fn creating_without_metadata_is_refused<S: Store + ?Sized>(s: &mut S) {
    let refused = [
        batch(vec![put(1, blob(1, 10))]),
        batch(vec![]),
        wipe(vec![]),
        wipe(vec![put(1, blob(1, 10))]),
        batch(vec![Op::PutMeta(Vec::new()), put(1, blob(1, 10))]),
        batch(vec![Op::PutMeta(meta(1)), Op::PutMeta(Vec::new())]),
    ];
    for b in &refused {
        assert_eq!(s.apply(A, 0, b), NOT_PRESENT, "{b:?} must not create a token");
        assert_absent(s, A);
    }
    // And the name is still free afterwards.
    apply_ok(s, A, 0, &batch(vec![Op::PutMeta(meta(1))]));
}

/// Replacing the metadata with nothing is refused like a creation without metadata.
pub fn metadata_never_becomes_empty<S: Store + ?Sized>(s: &mut S) {
    apply_ok(s, A, 0, &batch(vec![Op::PutMeta(meta(1)), put(1, blob(1, 3))]));
    let before = snapshot(s, A);
    let b = batch(vec![put(2, blob(2, 3)), Op::PutMeta(Vec::new())]);
    assert_eq!(s.apply(A, 1, &b), NOT_PRESENT);
    assert_eq!(snapshot(s, A), before, "a refused batch changes nothing");
    assert_eq!(s.generation(A), Ok(1));
}

/// Records can be inserted, replaced and deleted; deleting an absent record is no error;
/// a batch without `PutMeta` keeps the metadata.
pub fn put_replace_delete<S: Store + ?Sized>(s: &mut S) {
    let g = apply_ok(s, A, 0, &batch(vec![Op::PutMeta(meta(1))]));
    assert_eq!(snapshot(s, A).records, Vec::new());

    let g = apply_ok(s, A, g, &batch(vec![put(1, blob(1, 10)), put(2, blob(2, 20))]));
    assert_eq!(snapshot(s, A).records, vec![(1, blob(1, 10)), (2, blob(2, 20))]);

    let g = apply_ok(s, A, g, &batch(vec![put(1, blob(9, 5))]));
    assert_eq!(snapshot(s, A).records, vec![(1, blob(9, 5)), (2, blob(2, 20))]);

    let g = apply_ok(s, A, g, &batch(vec![del(2), del(99)]));
    let snap = snapshot(s, A);
    assert_eq!(snap.records, vec![(1, blob(9, 5))]);
    assert_eq!(snap.meta, meta(1), "metadata kept by batches without PutMeta");
    assert_eq!(snap.generation, g);

    let g = apply_ok(s, A, g, &batch(vec![del(1)]));
    assert_eq!(snapshot(s, A).records, Vec::new());
    assert_eq!(names(s), vec![TokenName::from(A)], "a token without records still exists");
    assert_eq!(s.generation(A), Ok(g));
}

/// Operations of one batch take effect in order: the last operation on an id wins, and the
/// last `PutMeta` wins.
pub fn ops_apply_in_order<S: Store + ?Sized>(s: &mut S) {
    let g = apply_ok(s, A, 0, &batch(vec![Op::PutMeta(meta(1)), put(4, blob(4, 4))]));
    let b = batch(vec![
        put(1, blob(1, 8)),
        del(1),
        put(2, blob(2, 8)),
        put(2, blob(3, 9)),
        del(3),
        put(3, blob(4, 10)),
        del(4),
        put(4, blob(5, 11)),
        Op::PutMeta(meta(2)),
        Op::PutMeta(meta(3)),
    ]);
    apply_ok(s, A, g, &b);
    let snap = snapshot(s, A);
    assert_eq!(snap.records, vec![(2, blob(3, 9)), (3, blob(4, 10)), (4, blob(5, 11))]);
    assert_eq!(snap.meta, meta(3));
}

/// Every persisted batch, even an empty one, bumps the generation by exactly one, and
/// `generation`, `load` and `load_all` agree on it.
pub fn generation_increments_by_one<S: Store + ?Sized>(s: &mut S) {
    let batches = [
        batch(vec![Op::PutMeta(meta(1))]),
        batch(vec![put(1, blob(1, 1))]),
        batch(vec![]),
        batch(vec![Op::PutMeta(meta(2))]),
        wipe(vec![]),
        batch(vec![del(1)]),
    ];
    let mut g = 0;
    for b in &batches {
        g = apply_ok(s, A, g, b);
        assert_eq!(s.generation(A), Ok(g));
        assert_eq!(snapshot(s, A).generation, g);
        assert_eq!(all(s)[0].generation, g);
    }
    assert_eq!(g, 6);
}

/// A writer holding an old (or future) generation is refused with `Stale { current }`, and
/// the store is exactly as before.
pub fn stale_writer_is_refused_and_changes_nothing<S: Store + ?Sized>(s: &mut S) {
    let g = apply_ok(s, A, 0, &batch(vec![Op::PutMeta(meta(1)), put(1, blob(1, 10))]));
    let g = apply_ok(s, A, g, &batch(vec![put(2, blob(2, 10))]));
    let before = snapshot(s, A);
    let stale = [
        batch(vec![put(9, blob(9, 9)), Op::PutMeta(meta(9))]),
        batch(vec![del(1)]),
        wipe(vec![]),
        batch(vec![]),
    ];
    for expected in [0, 1, 3, u64::MAX] {
        for b in &stale {
            assert_eq!(
                s.apply(A, expected, b),
                Err(StoreError::Stale { current: g }),
                "apply({expected}) on generation {g}"
            );
            assert_eq!(snapshot(s, A), before, "a stale batch changes nothing");
            assert_eq!(s.generation(A), Ok(g));
        }
    }
    // A missing token is at generation 0: expecting anything else is stale too.
    assert_eq!(s.apply(B, 1, &batch(vec![Op::PutMeta(meta(1))])), Err(StoreError::Stale { current: 0 }));
    assert_absent(s, B);
    // And the right generation still works.
    apply_ok(s, A, g, &batch(vec![del(1)]));
}

/// `wipe` removes every record before the batch's operations; metadata is kept unless the
/// batch replaces it. A wiping batch can also create a token.
pub fn wipe_removes_every_record_first<S: Store + ?Sized>(s: &mut S) {
    let g = apply_ok(
        s,
        A,
        0,
        &batch(vec![Op::PutMeta(meta(1)), put(1, blob(1, 10)), put(2, blob(2, 10)), put(3, blob(3, 10))]),
    );
    let g = apply_ok(s, A, g, &wipe(vec![put(2, blob(7, 3)), put(4, blob(4, 4))]));
    let snap = snapshot(s, A);
    assert_eq!(snap.records, vec![(2, blob(7, 3)), (4, blob(4, 4))]);
    assert_eq!(snap.meta, meta(1));

    let g = apply_ok(s, A, g, &wipe(vec![Op::PutMeta(meta(2))]));
    let snap = snapshot(s, A);
    assert_eq!(snap.records, Vec::new());
    assert_eq!(snap.meta, meta(2));
    assert_eq!(snap.generation, g);

    apply_ok(s, B, 0, &wipe(vec![Op::PutMeta(meta(3)), put(1, blob(1, 1))]));
    assert_eq!(snapshot(s, B).records, vec![(1, blob(1, 1))]);
}

/// `list` names every token and `load_all` returns every token with all its records, each
/// equal to what `load` returns.
pub fn list_and_load_all_show_every_token<S: Store + ?Sized>(s: &mut S) {
    apply_ok(s, B, 0, &batch(vec![Op::PutMeta(meta(2)), put(1, blob(2, 5))]));
    apply_ok(s, A, 0, &batch(vec![Op::PutMeta(meta(1))]));
    let g = apply_ok(s, C, 0, &batch(vec![Op::PutMeta(meta(3)), put(5, blob(3, 5))]));
    apply_ok(s, C, g, &batch(vec![put(6, blob(3, 6))]));

    assert_eq!(names(s), vec![TokenName::from(A), B.into(), C.into()]);
    let snaps = all(s);
    assert_eq!(snaps.len(), 3);
    for snap in &snaps {
        assert_eq!(*snap, snapshot(s, &snap.name));
    }
    assert_eq!(snaps[2].generation, 2);
    assert_eq!(snaps[2].records, vec![(5, blob(3, 5)), (6, blob(3, 6))]);
}

/// Tokens share nothing: records, metadata, generations, wipes and refusals of one token
/// leave every other token alone, even when record ids coincide.
pub fn tokens_are_independent<S: Store + ?Sized>(s: &mut S) {
    let ga = apply_ok(s, A, 0, &batch(vec![Op::PutMeta(meta(1)), put(1, blob(1, 10))]));
    let gb = apply_ok(s, B, 0, &batch(vec![Op::PutMeta(meta(2)), put(1, blob(2, 10))]));
    let b_before = snapshot(s, B);

    let ga = apply_ok(s, A, ga, &batch(vec![put(2, blob(1, 2)), del(1)]));
    let ga = apply_ok(s, A, ga, &wipe(vec![Op::PutMeta(meta(5))]));
    assert_eq!(s.apply(A, 0, &batch(vec![put(3, blob(3, 3))])), Err(StoreError::Stale { current: ga }));
    assert_eq!(snapshot(s, B), b_before);
    assert_eq!(s.generation(B), Ok(gb));
    assert_eq!(s.generation(A), Ok(3));

    apply_ok(s, B, gb, &batch(vec![put(1, blob(4, 4))]));
    let a = snapshot(s, A);
    assert_eq!(a.records, Vec::new());
    assert_eq!(a.meta, meta(5));
    assert_eq!(a.generation, 3);
}

/// Ids and blobs come back bit for bit: id 0 and `u64::MAX`, an empty blob, every byte value.
pub fn ids_and_blobs_are_kept_exactly<S: Store + ?Sized>(s: &mut S) {
    let every_byte: Vec<u8> = (0..=255u8).collect();
    let b = batch(vec![
        Op::PutMeta(every_byte.clone()),
        put(0, Vec::new()),
        put(u64::MAX, every_byte.clone()),
        put(0x0123_4567_89ab_cdef, vec![0; 17]),
    ]);
    apply_ok(s, A, 0, &b);
    let snap = snapshot(s, A);
    assert_eq!(snap.meta, every_byte);
    assert_eq!(
        snap.records,
        vec![(0, Vec::new()), (0x0123_4567_89ab_cdef, vec![0; 17]), (u64::MAX, every_byte)]
    );
}

/// A 1 MiB record and a 1 MiB metadata record round-trip.
pub fn large_blob_round_trips<S: Store + ?Sized>(s: &mut S) {
    const MIB: usize = 1 << 20;
    let g = apply_ok(s, A, 0, &batch(vec![Op::PutMeta(blob(0x55, MIB)), put(1, blob(1, MIB))]));
    let snap = snapshot(s, A);
    assert!(snap.meta == blob(0x55, MIB), "1 MiB metadata differs");
    assert_eq!(snap.records.len(), 1);
    assert!(snap.records[0].1 == blob(1, MIB), "1 MiB record differs");
    // Replacing it with a short one leaves no trace of the long one.
    apply_ok(s, A, g, &batch(vec![put(1, blob(2, 3)), Op::PutMeta(meta(1))]));
    let snap = snapshot(s, A);
    assert_eq!(snap.records, vec![(1, blob(2, 3))]);
    assert_eq!(snap.meta, meta(1));
}

/// 1,000 records in one batch round-trip, and half of them can be deleted in one batch.
pub fn many_records_round_trip<S: Store + ?Sized>(s: &mut S) {
    const N: u64 = 1000;
    // Spread ids over the whole range (the engine's ids need not be dense).
    let id = |i: u64| i.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    let content = |i: u64| i.to_le_bytes().to_vec();
    let mut ops = vec![Op::PutMeta(meta(1))];
    ops.extend((0..N).map(|i| put(id(i), content(i))));
    let g = apply_ok(s, A, 0, &batch(ops));

    let mut want: Vec<(RecordId, Vec<u8>)> = (0..N).map(|i| (id(i), content(i))).collect();
    want.sort_by_key(|(id, _)| *id);
    assert_eq!(snapshot(s, A).records, want);

    apply_ok(s, A, g, &batch((0..N).step_by(2).map(|i| del(id(i))).collect()));
    let mut want: Vec<(RecordId, Vec<u8>)> = (0..N).skip(1).step_by(2).map(|i| (id(i), content(i))).collect();
    want.sort_by_key(|(id, _)| *id);
    let snap = snapshot(s, A);
    assert_eq!(snap.records.len(), 500);
    assert_eq!(snap.records, want);
    assert_eq!(all(s)[0].records, want);
}

/// After reopening, every token, record, metadata record and generation is still there.
pub fn reopen_keeps_everything<H: Harness>(mut h: H, reopen: impl Fn(H) -> H) {
    let s = h.store();
    let g = apply_ok(s, A, 0, &batch(vec![Op::PutMeta(meta(1)), put(1, blob(1, 10))]));
    let g = apply_ok(s, A, g, &batch(vec![put(2, blob(2, 1000)), put(3, blob(3, 1))]));
    let g = apply_ok(s, A, g, &batch(vec![del(3), Op::PutMeta(meta(2))]));
    assert_eq!(g, 3);
    let gb = apply_ok(s, B, 0, &batch(vec![Op::PutMeta(meta(3)), put(1, blob(4, 4))]));
    apply_ok(s, B, gb, &wipe(vec![put(9, blob(9, 9))]));
    let before = all(s);
    let listed = names(s);

    let mut h = reopen(h);
    let s = h.store();
    assert_eq!(all(s), before);
    assert_eq!(names(s), listed);
    assert_eq!(s.generation(A), Ok(3));
    assert_eq!(s.generation(B), Ok(2));
    assert_eq!(snapshot(s, A).records, vec![(1, blob(1, 10)), (2, blob(2, 1000))]);
    assert_eq!(snapshot(s, B).records, vec![(9, blob(9, 9))]);
    assert_absent(s, C);
}

/// After reopening, the generation check still refuses stale writers and accepts the
/// current generation; refused batches did not persist.
pub fn reopen_keeps_generation_checks<H: Harness>(mut h: H, reopen: impl Fn(H) -> H) {
    let s = h.store();
    let g = apply_ok(s, A, 0, &batch(vec![Op::PutMeta(meta(1))]));
    assert_eq!(s.apply(A, 0, &batch(vec![put(1, blob(1, 1))])), Err(StoreError::Stale { current: g }));
    assert_eq!(s.apply(B, 0, &batch(vec![put(1, blob(1, 1))])), NOT_PRESENT);

    let mut h = reopen(h);
    let s = h.store();
    assert_absent(s, B);
    assert_eq!(snapshot(s, A).records, Vec::new());
    assert_eq!(s.apply(A, 0, &batch(vec![Op::PutMeta(meta(2))])), Err(StoreError::Stale { current: 1 }));
    let g = apply_ok(s, A, g, &batch(vec![put(1, blob(1, 1))]));

    let mut h = reopen(h);
    let s = h.store();
    assert_eq!(s.generation(A), Ok(g));
    assert_eq!(snapshot(s, A).records, vec![(1, blob(1, 1))]);
}
