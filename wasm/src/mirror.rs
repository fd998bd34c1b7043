//! The mirror store: what the engine sees as its (synchronous) `Store`.
//!
//! IndexedDB is asynchronous and core is not (DESIGN §2), so the engine works on an
//! in-memory mirror of the durable store. Every batch the engine applies is applied to the
//! mirror's *working* state and recorded; after the engine call returns, the JS glue takes
//! the recorded batches, writes them to the durable store in one transaction, and then
//! either commits them (working becomes durable) or reverts (working goes back to the last
//! durable state; the engine's next `refresh_token` sees the generation move back and
//! reloads, so the token is exactly as before the call).

use alloc::collections::{BTreeMap, BTreeSet};
use alloc::sync::Arc;
use std::sync::{Mutex, MutexGuard, PoisonError};

use anyhsm_core::Error;
use anyhsm_core::store::{Batch, Op, RecordId, Store, StoreError, TokenName, TokenSnapshot};

/// One token as the mirror holds it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TokenData {
    /// Bumped by every batch.
    pub generation: u64,
    /// The metadata record.
    pub meta: Vec<u8>,
    /// Object records by id.
    pub records: BTreeMap<RecordId, Vec<u8>>,
    /// Records the JS store found damaged (it logged why): the engine keeps a placeholder
    /// for each until a batch deletes or rewrites it.
    pub damaged: BTreeSet<RecordId>,
}

impl TokenData {
    fn snapshot(&self, name: &str) -> TokenSnapshot {
        TokenSnapshot {
            name: name.into(),
            generation: self.generation,
            meta: self.meta.clone(),
            records: self.records.iter().map(|(k, v)| (*k, v.clone())).collect(),
            damaged: self.damaged.iter().copied().collect(),
        }
    }
}

/// A batch the engine applied and the glue has yet to make durable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recorded {
    /// The token.
    pub name: TokenName,
    /// The generation the batch was applied at (0: the batch creates the token).
    pub expected: u64,
    /// The batch.
    pub batch: Batch,
}

#[derive(Debug, Default)]
struct State {
    working: BTreeMap<TokenName, TokenData>,
    durable: BTreeMap<TokenName, TokenData>,
    pending: Vec<Recorded>,
}

/// A cheap handle on the mirror; the engine owns one (as its `Store`), the glue another.
#[derive(Clone, Debug, Default)]
pub struct Mirror(Arc<Mutex<State>>);

impl Mirror {
    /// An empty mirror.
    pub fn new() -> Self {
        Self::default()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // Single-threaded on wasm; a poisoned lock only means a panic elsewhere, and the
        // data is still consistent (every mutation below is applied in one step).
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Replace a token with its durable state (read from the durable store).
    pub fn set_durable(&self, name: &str, data: TokenData) {
        let mut s = self.state();
        s.working.insert(name.into(), data.clone());
        s.durable.insert(name.into(), data);
    }

    /// Forget a token (it is gone from the durable store).
    pub fn remove(&self, name: &str) {
        let mut s = self.state();
        s.working.remove(name);
        s.durable.remove(name);
    }

    /// Every token's durable generation.
    pub fn generations(&self) -> Vec<(TokenName, u64)> {
        self.state().durable.iter().map(|(n, t)| (n.clone(), t.generation)).collect()
    }

    /// The working generation of one token (0 if absent).
    pub fn generation_of(&self, name: &str) -> u64 {
        self.state().working.get(name).map_or(0, |t| t.generation)
    }

    /// The recorded batches, in order (they stay recorded until `commit` or `revert`).
    pub fn pending(&self) -> Vec<Recorded> {
        self.state().pending.clone()
    }

    /// The recorded batches are durable: adopt them as the durable state.
    pub fn commit(&self) {
        let mut s = self.state();
        let names: Vec<TokenName> = s.pending.drain(..).map(|r| r.name).collect();
        for name in names {
            match s.working.get(&name).cloned() {
                Some(t) => s.durable.insert(name, t),
                None => s.durable.remove(&name),
            };
        }
    }

    /// The recorded batches could not be made durable: go back to the durable state.
    /// Returns the names of the tokens the batches touched, and whether one of them was
    /// created by them (it then exists in the engine but not in any store).
    pub fn revert(&self) -> (Vec<TokenName>, bool) {
        let mut s = self.state();
        let pending: Vec<Recorded> = s.pending.drain(..).collect();
        let created = pending.iter().any(|r| r.expected == 0);
        let mut names: Vec<TokenName> = pending.into_iter().map(|r| r.name).collect();
        names.dedup();
        for name in &names {
            match s.durable.get(name).cloned() {
                Some(t) => s.working.insert(name.clone(), t),
                None => s.working.remove(name),
            };
        }
        (names, created)
    }
}

fn apply_to(t: &mut TokenData, batch: &Batch) {
    if batch.wipe {
        t.records.clear();
        t.damaged.clear();
    }
    for op in &batch.ops {
        match op {
            Op::PutMeta(m) => t.meta.clone_from(m),
            Op::Put { id, blob } => {
                t.damaged.remove(id);
                t.records.insert(*id, blob.clone());
            }
            Op::Delete { id } => {
                t.damaged.remove(id);
                t.records.remove(id);
            }
        }
    }
}

impl Store for Mirror {
    fn load_all(&mut self) -> Result<Vec<TokenSnapshot>, StoreError> {
        Ok(self.state().working.iter().map(|(n, t)| t.snapshot(n)).collect())
    }

    fn load(&mut self, name: &str) -> Result<TokenSnapshot, StoreError> {
        self.state()
            .working
            .get(name)
            .map(|t| t.snapshot(name))
            .ok_or(StoreError::Failed(Error::TokenNotPresent))
    }

    fn generation(&mut self, name: &str) -> Result<u64, StoreError> {
        Ok(self.generation_of(name))
    }

    fn apply(&mut self, name: &str, expected: u64, batch: &Batch) -> Result<u64, StoreError> {
        let mut s = self.state();
        let current = s.working.get(name).map_or(0, |t| t.generation);
        if current != expected {
            return Err(StoreError::Stale { current });
        }
        let mut t = s.working.get(name).cloned().unwrap_or_default();
        apply_to(&mut t, batch);
        if t.meta.is_empty() {
            return Err(StoreError::Failed(Error::TokenNotPresent));
        }
        t.generation = current + 1;
        s.working.insert(name.into(), t);
        s.pending.push(Recorded { name: name.into(), expected, batch: batch.clone() });
        Ok(current + 1)
    }

    fn list(&mut self) -> Result<Vec<TokenName>, StoreError> {
        Ok(self.state().working.keys().cloned().collect())
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;

    /// The mirror alone behaves as a store (the batches pile up as pending, committed).
    struct Committing(Mirror);
    impl Store for Committing {
        fn load_all(&mut self) -> Result<Vec<TokenSnapshot>, StoreError> {
            self.0.load_all()
        }
        fn load(&mut self, name: &str) -> Result<TokenSnapshot, StoreError> {
            self.0.load(name)
        }
        fn generation(&mut self, name: &str) -> Result<u64, StoreError> {
            self.0.generation(name)
        }
        fn apply(&mut self, name: &str, expected: u64, batch: &Batch) -> Result<u64, StoreError> {
            let g = self.0.apply(name, expected, batch)?;
            self.0.commit();
            Ok(g)
        }
        fn list(&mut self) -> Result<Vec<TokenName>, StoreError> {
            self.0.list()
        }
    }

    anyhsm_core::store_conformance_tests!(Committing(Mirror::new()));

    #[test]
    fn revert_restores_the_durable_state() {
        let mut m = Mirror::new();
        let b = Batch { ops: vec![Op::PutMeta(vec![1])], wipe: false };
        assert_eq!(m.apply("t", 0, &b), Ok(1));
        m.commit();
        let put = Batch { ops: vec![Op::Put { id: 7, blob: vec![9] }], wipe: false };
        assert_eq!(m.apply("t", 1, &put), Ok(2));
        assert_eq!(m.pending().len(), 1);
        assert_eq!(m.revert(), (vec!["t".to_string()], false));
        assert_eq!(m.generation("t"), Ok(1));
        assert!(m.load("t").unwrap().records.is_empty());
        assert_eq!(m.apply("u", 0, &b), Ok(1));
        assert_eq!(m.revert(), (vec!["u".to_string()], true));
        assert_eq!(m.list().unwrap(), vec!["t".to_string()]);
    }
}
