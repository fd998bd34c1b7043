//! Portable token snapshots (`exportToken` / `importToken`): a token's metadata and every
//! object record, exactly as stored (sealed records stay sealed), in one versioned blob that
//! moves a token between the memory, IndexedDB, directory and native stores.

use alloc::string::String;
use alloc::vec::Vec;

use super::{RecordId, TokenSnapshot};
use crate::{Error, Result};

const MAGIC: &[u8; 6] = b"AHSNAP";
/// The snapshot format version this engine writes and reads.
pub const SNAPSHOT_VERSION: u8 = 1;

#[derive(serde::Serialize, serde::Deserialize)]
struct Wire {
    name: String,
    meta: Vec<u8>,
    records: Vec<(RecordId, Vec<u8>)>,
}

/// Encode a snapshot (the generation is not carried: an imported token starts afresh).
///
/// # Errors
/// `GeneralError` if serialization fails.
pub fn encode(snap: &TokenSnapshot) -> Result<Vec<u8>> {
    let wire = Wire { name: snap.name.clone(), meta: snap.meta.clone(), records: snap.records.clone() };
    let mut out = Vec::from(&MAGIC[..]);
    out.push(SNAPSHOT_VERSION);
    out.extend(postcard::to_allocvec(&wire).map_err(|_| Error::GeneralError)?);
    Ok(out)
}

/// Decode a snapshot.
///
/// # Errors
/// `DataInvalid` for anything that is not a complete snapshot of a known version.
pub fn decode(bytes: &[u8]) -> Result<TokenSnapshot> {
    let body = bytes.strip_prefix(&MAGIC[..]).ok_or(Error::DataInvalid)?;
    let (&version, body) = body.split_first().ok_or(Error::DataInvalid)?;
    if version != SNAPSHOT_VERSION {
        return Err(Error::DataInvalid);
    }
    let (wire, rest): (Wire, _) = postcard::take_from_bytes(body).map_err(|_| Error::DataInvalid)?;
    if !rest.is_empty() {
        return Err(Error::DataInvalid);
    }
    Ok(TokenSnapshot {
        name: wire.name,
        generation: 0,
        meta: wire.meta,
        records: wire.records,
        damaged: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_damage() {
        let snap = TokenSnapshot {
            name: "0011223344556677".into(),
            generation: 9,
            meta: alloc::vec![1, 2, 3],
            records: alloc::vec![(5, alloc::vec![9; 40])],
            damaged: Vec::new(),
        };
        let bytes = encode(&snap).unwrap();
        let back = decode(&bytes).unwrap();
        assert_eq!(back.name, snap.name);
        assert_eq!(back.records, snap.records);
        assert_eq!(back.generation, 0);
        for cut in 0..bytes.len() {
            assert_eq!(decode(&bytes[..cut]).map(|_| ()), Err(Error::DataInvalid), "cut {cut}");
        }
        let mut v2 = bytes.clone();
        v2[6] = 2;
        assert_eq!(decode(&v2).map(|_| ()), Err(Error::DataInvalid));
    }
}
