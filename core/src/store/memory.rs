//! The in-memory store: the default for tests and for the wasm package. Nothing touches disk.

use alloc::{collections::BTreeMap, vec::Vec};

use super::{Batch, Op, RecordId, Store, StoreError, TokenName, TokenSnapshot};

#[derive(Clone, Debug, Default)]
struct TokenData {
    generation: u64,
    meta: Vec<u8>,
    records: BTreeMap<RecordId, Vec<u8>>,
}

/// A store that keeps everything in memory, with the same atomicity and generation rules as
/// the durable stores (so the conformance suite can hold it to them).
#[derive(Clone, Debug, Default)]
pub struct MemoryStore {
    tokens: BTreeMap<TokenName, TokenData>,
    /// Test hook: when set, the next `apply` fails with this error and changes nothing.
    fail_next: Option<crate::Error>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Make the next `apply` fail (to test that a failed persist leaves the engine unchanged).
    pub fn fail_next_apply(&mut self, error: crate::Error) {
        self.fail_next = Some(error);
    }
}

impl Store for MemoryStore {
    fn load_all(&mut self) -> Result<Vec<TokenSnapshot>, StoreError> {
        let names: Vec<TokenName> = self.tokens.keys().cloned().collect();
        names.iter().map(|n| self.load(n)).collect()
    }

    fn load(&mut self, name: &str) -> Result<TokenSnapshot, StoreError> {
        let t = self.tokens.get(name).ok_or(StoreError::Failed(crate::Error::TokenNotPresent))?;
        Ok(TokenSnapshot {
            name: name.into(),
            generation: t.generation,
            meta: t.meta.clone(),
            records: t.records.iter().map(|(k, v)| (*k, v.clone())).collect(),
            damaged: Vec::new(),
        })
    }

    fn generation(&mut self, name: &str) -> Result<u64, StoreError> {
        Ok(self.tokens.get(name).map_or(0, |t| t.generation))
    }

    fn apply(&mut self, name: &str, expected: u64, batch: &Batch) -> Result<u64, StoreError> {
        if let Some(e) = self.fail_next.take() {
            return Err(StoreError::Failed(e));
        }
        let current = self.tokens.get(name).map_or(0, |t| t.generation);
        if current != expected {
            return Err(StoreError::Stale { current });
        }
        // Work on a copy so that a batch is all-or-nothing even if a later op were to fail.
        let mut t = self.tokens.get(name).cloned().unwrap_or_default();
        if batch.wipe {
            t.records.clear();
        }
        for op in &batch.ops {
            match op {
                Op::PutMeta(m) => t.meta = m.clone(),
                Op::Put { id, blob } => {
                    t.records.insert(*id, blob.clone());
                }
                Op::Delete { id } => {
                    t.records.remove(id);
                }
            }
        }
        if t.meta.is_empty() {
            // A token cannot exist without metadata; a batch that would create one is refused.
            return Err(StoreError::Failed(crate::Error::TokenNotPresent));
        }
        t.generation = current + 1;
        self.tokens.insert(name.into(), t);
        Ok(current + 1)
    }

    fn list(&mut self) -> Result<Vec<TokenName>, StoreError> {
        Ok(self.tokens.keys().cloned().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    crate::store_conformance_tests!(MemoryStore::new());

    #[test]
    fn injected_failure_changes_nothing() {
        let mut s = MemoryStore::new();
        let b = Batch { ops: alloc::vec![Op::PutMeta(alloc::vec![1])], wipe: false };
        s.fail_next_apply(crate::Error::DeviceMemory);
        assert_eq!(s.apply("t", 0, &b), Err(StoreError::Failed(crate::Error::DeviceMemory)));
        assert_eq!(s.list().unwrap().len(), 0);
        assert_eq!(s.apply("t", 0, &b), Ok(1));
    }
}
