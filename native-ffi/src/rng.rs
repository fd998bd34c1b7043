//! The native sources of randomness and time the engine is given (DESIGN §1): the
//! operating system's CSPRNG through `getrandom`, and the system clock.

use std::time::{SystemTime, UNIX_EPOCH};

use anyhsm_core::{
    Error, Result,
    rng::{Clock, Rng},
};
use sha2::{Digest, Sha256};
use zeroize::Zeroize;

/// The operating system's CSPRNG (`getrandom(2)` on Linux).
///
/// `C_SeedRandom` is accepted and mixes the seed in: once seeded, every output is the OS
/// bytes XOR a SHA-256 stream keyed by everything seeded so far. The OS bytes are
/// independent of any seed, so a seed — even a chosen or repeated one — cannot make the
/// output weaker than the OS pool alone; it can only add unpredictability. (Refusing with
/// `CKR_RANDOM_SEED_NOT_SUPPORTED` is allowed by the spec, but breaks applications that
/// seed unconditionally.)
#[derive(Default)]
pub struct OsRng {
    /// SHA-256 of every seed so far (chained), or `None` before the first seed.
    pool: Option<[u8; 32]>,
    /// Blocks drawn from the pool, so no stream block repeats.
    counter: u64,
}

impl core::fmt::Debug for OsRng {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("OsRng").field("seeded", &self.pool.is_some()).finish_non_exhaustive()
    }
}

impl Drop for OsRng {
    fn drop(&mut self) {
        if let Some(p) = self.pool.as_mut() {
            p.zeroize();
        }
    }
}

impl Rng for OsRng {
    fn fill(&mut self, dest: &mut [u8]) -> Result<()> {
        getrandom::fill(dest).map_err(|_| Error::FunctionFailed)?;
        if let Some(pool) = &self.pool {
            for chunk in dest.chunks_mut(32) {
                self.counter += 1;
                let mut block: [u8; 32] = Sha256::new()
                    .chain_update(pool)
                    .chain_update(self.counter.to_le_bytes())
                    .finalize()
                    .into();
                chunk.iter_mut().zip(&block).for_each(|(d, k)| *d ^= k);
                block.zeroize();
            }
        }
        Ok(())
    }

    fn seed(&mut self, seed: &[u8]) -> Result<()> {
        let mut h = Sha256::new().chain_update(b"anyhsm seed");
        if let Some(pool) = &self.pool {
            h.update(pool);
        }
        h.update(seed);
        if let Some(old) = self.pool.as_mut() {
            old.zeroize();
        }
        self.pool = Some(h.finalize().into());
        Ok(())
    }
}

/// Wall-clock time from `std::time::SystemTime`.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_unix(&self) -> Option<u64> {
        SystemTime::now().duration_since(UNIX_EPOCH).ok().map(|d| d.as_secs())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn os_rng_fills_and_differs() {
        let mut rng = OsRng::default();
        let (mut a, mut b) = ([0u8; 32], [0u8; 32]);
        rng.fill(&mut a).unwrap();
        rng.fill(&mut b).unwrap();
        assert_ne!(a, b);
        assert!(!rng.is_deterministic());
        rng.fill(&mut []).unwrap();
    }

    #[test]
    fn seeding_is_accepted_and_never_makes_output_repeat() {
        let (mut x, mut y) = (OsRng::default(), OsRng::default());
        x.seed(b"same seed").unwrap();
        y.seed(b"same seed").unwrap();
        let (mut a, mut b) = ([0u8; 100], [0u8; 100]);
        x.fill(&mut a).unwrap();
        y.fill(&mut b).unwrap();
        assert_ne!(a, b, "the OS bytes still differ");
        x.seed(b"more").unwrap();
        x.fill(&mut a).unwrap();
        assert!(format!("{x:?}").contains("seeded: true"));
    }

    #[test]
    fn system_clock_is_after_2024() {
        let now = SystemClock.now_unix().unwrap();
        assert!(now > 1_704_067_200, "{now}");
    }
}
