//! Secret bytes: zeroized on drop, never printed, compared in constant time.

use alloc::vec::Vec;

use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop};

/// Bytes that must not outlive their use or appear in a log.
#[derive(Clone, Default, Zeroize, ZeroizeOnDrop, serde::Serialize, serde::Deserialize)]
pub struct SecretBytes(#[serde(deserialize_with = "crate::store::record::deserialize_byte_vec")] Vec<u8>);

impl SecretBytes {
    /// Take ownership of `bytes`.
    pub fn new(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }

    /// Copy `bytes`.
    pub fn from_slice(bytes: &[u8]) -> Self {
        Self(bytes.to_vec())
    }

    /// The secret itself; keep the borrow short.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    /// Length in bytes (not secret).
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl PartialEq for SecretBytes {
    fn eq(&self, other: &Self) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl Eq for SecretBytes {}

impl core::fmt::Debug for SecretBytes {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "SecretBytes({} bytes)", self.0.len())
    }
}

/// Constant-time equality of two byte strings (PINs, MACs). Lengths are not secret.
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}
