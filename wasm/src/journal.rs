//! The directory store's journal frame, byte for byte the native file store's
//! (`native-ffi/src/store/file.rs`): `"AHSMJNL1"` ‖ payload length (u64 LE) ‖ postcard
//! payload ‖ SHA-256(payload). The JS directory store writes and recovers with it, so a
//! batch interrupted in Node is completed by the native module and the reverse.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

const MAGIC: &[u8; 8] = b"AHSMJNL1";

/// What a committed batch does (field order and types are the native store's).
#[derive(Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Journal {
    /// The generation the batch produces.
    pub generation: u64,
    /// Delete every record file not in `installs` first.
    pub wipe: bool,
    /// The temp file that becomes `meta.bin`.
    pub meta_tmp: String,
    /// Temp file → `objects/<id>.rec`.
    pub installs: Vec<(u64, String)>,
    /// `objects/<id>.rec` to delete.
    pub removes: Vec<u64>,
}

impl Journal {
    /// The frame.
    pub fn encode(&self) -> Option<Vec<u8>> {
        let payload = postcard::to_allocvec(self).ok()?;
        let len = u64::try_from(payload.len()).ok()?;
        let mut out = Vec::with_capacity(48 + payload.len());
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&payload);
        out.extend_from_slice(&Sha256::digest(&payload));
        Some(out)
    }

    /// The journal, or `None` if the frame is incomplete or damaged (never committed).
    pub fn decode(bytes: &[u8]) -> Option<Journal> {
        let rest = bytes.strip_prefix(MAGIC)?;
        let (len, rest) = rest.split_first_chunk::<8>()?;
        let len = usize::try_from(u64::from_le_bytes(*len)).ok()?;
        if rest.len() != len.checked_add(32)? {
            return None;
        }
        let (payload, sum) = rest.split_at(len);
        if Sha256::digest(payload).as_slice() != sum {
            return None;
        }
        postcard::from_bytes(payload).ok()
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_damage() {
        let j = Journal {
            generation: 3,
            wipe: true,
            meta_tmp: ".tmp-3-meta".into(),
            installs: vec![(0xabcd, ".tmp-3-0".into())],
            removes: vec![5],
        };
        let frame = j.encode().unwrap();
        assert_eq!(&frame[..8], MAGIC);
        assert_eq!(Journal::decode(&frame), Some(j));
        for cut in 0..frame.len() {
            assert_eq!(Journal::decode(&frame[..cut]), None);
        }
    }
}
