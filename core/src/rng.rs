//! Randomness and time come from outside: the engine owns neither.

use alloc::boxed::Box;

use rand_chacha::ChaCha20Rng;
use rand_core::{Rng as _, SeedableRng};

/// A source of cryptographically secure random bytes, supplied by the front-end
/// (`getrandom` natively and in browsers) or a seeded DRBG in deterministic mode.
pub trait Rng: Send {
    /// Fill `dest` with random bytes.
    ///
    /// # Errors
    /// `Error::FunctionFailed` when the source is unavailable.
    fn fill(&mut self, dest: &mut [u8]) -> crate::Result<()>;

    /// Mix caller-supplied bytes into the generator (`C_SeedRandom`).
    ///
    /// # Errors
    /// `Error::RandomSeedNotSupported` when the source cannot take a seed (the default).
    fn seed(&mut self, _seed: &[u8]) -> crate::Result<()> {
        Err(crate::Error::RandomSeedNotSupported)
    }

    /// True for a seeded, repeatable generator; the token then says it is a test token.
    fn is_deterministic(&self) -> bool {
        false
    }
}

/// The deterministic test generator of DESIGN §6: ChaCha20 keyed by a 32-byte seed.
/// The same seed yields the same byte stream on every platform.
pub struct DeterministicRng {
    inner: ChaCha20Rng,
}

impl DeterministicRng {
    /// A generator whose whole output is fixed by `seed`.
    pub fn from_seed(seed: [u8; 32]) -> Self {
        Self { inner: ChaCha20Rng::from_seed(seed) }
    }
}

impl core::fmt::Debug for DeterministicRng {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("DeterministicRng")
    }
}

impl Rng for DeterministicRng {
    fn fill(&mut self, dest: &mut [u8]) -> crate::Result<()> {
        self.inner.fill_bytes(dest);
        Ok(())
    }

    fn is_deterministic(&self) -> bool {
        true
    }
}

/// Wall-clock time, where anything needs it (`CK_TOKEN_INFO.utcTime`, date defaults).
pub trait Clock: Send {
    /// Seconds since the Unix epoch, or `None` where the platform has no clock.
    fn now_unix(&self) -> Option<u64>;
}

/// A clock that never knows the time (the default: the token then reports no clock).
#[derive(Debug, Default, Clone, Copy)]
pub struct NoClock;

impl Clock for NoClock {
    fn now_unix(&self) -> Option<u64> {
        None
    }
}

/// The boxed form the engine keeps.
pub type BoxRng = Box<dyn Rng>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_rng_repeats_and_depends_on_seed() {
        let mut a = DeterministicRng::from_seed([7; 32]);
        let mut b = DeterministicRng::from_seed([7; 32]);
        let mut c = DeterministicRng::from_seed([8; 32]);
        let (mut x, mut y, mut z) = ([0u8; 48], [0u8; 48], [0u8; 48]);
        a.fill(&mut x).unwrap();
        b.fill(&mut y).unwrap();
        c.fill(&mut z).unwrap();
        assert_eq!(x, y);
        assert_ne!(x, z);
        assert!(a.is_deterministic());
        assert_eq!(a.seed(b"x"), Err(crate::Error::RandomSeedNotSupported));
    }
}
