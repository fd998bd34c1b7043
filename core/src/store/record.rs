//! The versioned record format. Every blob a store holds starts with a 4-byte header —
//! the magic `AH`, a kind byte and a format version byte — followed by the postcard
//! encoding of the record. Unknown versions and damaged bodies are refused with
//! `CKR_DEVICE_ERROR`, never decoded into something else.

use alloc::vec::Vec;

use serde::{Serialize, de::DeserializeOwned};

use crate::attribute::AttrValue;
use crate::consts::AttrType;
use crate::{Error, Result};

const MAGIC: [u8; 2] = *b"AH";

/// The format version this engine writes and reads.
pub const FORMAT_VERSION: u8 = 1;

/// What a blob holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum RecordKind {
    /// A token's metadata (label, serial, slot id, PIN records, counters).
    Meta = b'M',
    /// One token object, in clear (a public object without protected key material).
    Object = b'O',
    /// One token object with sealed content (see `crate::seal`).
    SealedObject = b'S',
}

/// The kind of a blob, from its header (`None` if it is not one of ours, or of another version).
pub fn kind_of(blob: &[u8]) -> Option<RecordKind> {
    match blob {
        [a, b, k, v, ..] if [*a, *b] == MAGIC && *v == FORMAT_VERSION => match *k {
            b'M' => Some(RecordKind::Meta),
            b'O' => Some(RecordKind::Object),
            b'S' => Some(RecordKind::SealedObject),
            _ => None,
        },
        _ => None,
    }
}

/// One token object as stored: its attributes.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ObjectRecord {
    /// Every attribute, sorted by type.
    pub attrs: Vec<(AttrType, AttrValue)>,
}

/// Deserialize a `Vec<u8>` that serde's default writes as a sequence of `u8`. In postcard a
/// sequence of `u8` and a byte string are the same bytes (a varint length, then the bytes), so
/// asking for a byte string reads the same records with one copy instead of a visitor call and
/// a `Vec::push` per byte — and, for key material, without the copies a growing `Vec` leaves
/// behind. A format that answers with a sequence is still read.
///
/// # Errors
/// The format's, as for `Vec<u8>`.
pub(crate) fn deserialize_byte_vec<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> core::result::Result<Vec<u8>, D::Error> {
    struct ByteVec;
    impl<'de> serde::de::Visitor<'de> for ByteVec {
        type Value = Vec<u8>;

        fn expecting(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
            f.write_str("a byte string")
        }

        fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> core::result::Result<Vec<u8>, E> {
            Ok(v.to_vec())
        }

        fn visit_byte_buf<E: serde::de::Error>(self, v: Vec<u8>) -> core::result::Result<Vec<u8>, E> {
            Ok(v)
        }

        fn visit_seq<A: serde::de::SeqAccess<'de>>(
            self,
            mut seq: A,
        ) -> core::result::Result<Vec<u8>, A::Error> {
            let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
            while let Some(b) = seq.next_element()? {
                out.push(b);
            }
            Ok(out)
        }
    }
    d.deserialize_byte_buf(ByteVec)
}

/// Serialize a record with its header.
///
/// # Errors
/// `GeneralError` if serialization fails (it cannot for our types).
pub fn encode<T: Serialize>(kind: RecordKind, value: &T) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(64);
    out.extend_from_slice(&MAGIC);
    out.push(kind as u8);
    out.push(FORMAT_VERSION);
    let body = postcard::to_allocvec(value).map_err(|_| Error::GeneralError)?;
    out.extend_from_slice(&body);
    Ok(out)
}

/// Parse a record, checking its header.
///
/// # Errors
/// `DeviceError` for a wrong magic, kind or version, or a damaged body.
pub fn decode<T: DeserializeOwned>(kind: RecordKind, blob: &[u8]) -> Result<T> {
    match blob {
        [a, b, k, v, body @ ..] if [*a, *b] == MAGIC && *k == kind as u8 && *v == FORMAT_VERSION => {
            let (value, rest) = postcard::take_from_bytes(body).map_err(|_| Error::DeviceError)?;
            if rest.is_empty() { Ok(value) } else { Err(Error::DeviceError) }
        }
        _ => Err(Error::DeviceError),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::SecretBytes;

    fn sample() -> ObjectRecord {
        ObjectRecord {
            attrs: alloc::vec![
                (AttrType::CLASS, AttrValue::Ulong(4)),
                (AttrType::LABEL, AttrValue::Bytes(b"k".to_vec())),
                (AttrType::VALUE, AttrValue::Secret(SecretBytes::from_slice(&[1; 16]))),
            ],
        }
    }

    #[test]
    fn round_trip() {
        let blob = encode(RecordKind::Object, &sample()).unwrap();
        assert_eq!(&blob[..4], b"AHO\x01");
        assert_eq!(decode::<ObjectRecord>(RecordKind::Object, &blob).unwrap(), sample());
    }

    #[test]
    fn byte_strings_read_as_serde_writes_them() {
        #[derive(serde::Deserialize)]
        struct Fast(#[serde(deserialize_with = "deserialize_byte_vec")] Vec<u8>);
        for len in [0usize, 1, 127, 128, 300] {
            let v: Vec<u8> = (0..=255u8).cycle().take(len).collect();
            let blob = postcard::to_allocvec(&v).unwrap();
            assert_eq!(postcard::from_bytes::<Fast>(&blob).unwrap().0, v);
            for cut in 0..blob.len() {
                assert!(postcard::from_bytes::<Fast>(&blob[..cut]).is_err());
            }
        }
    }

    #[test]
    fn damage_is_refused() {
        let blob = encode(RecordKind::Object, &sample()).unwrap();
        // Wrong kind, unknown version, truncation, trailing bytes.
        assert_eq!(decode::<ObjectRecord>(RecordKind::Meta, &blob), Err(Error::DeviceError));
        let mut v2 = blob.clone();
        v2[3] = 2;
        assert_eq!(decode::<ObjectRecord>(RecordKind::Object, &v2), Err(Error::DeviceError));
        for cut in 0..blob.len() {
            assert!(decode::<ObjectRecord>(RecordKind::Object, &blob[..cut]).is_err(), "cut at {cut}");
        }
        let mut long = blob.clone();
        long.push(0);
        assert_eq!(decode::<ObjectRecord>(RecordKind::Object, &long), Err(Error::DeviceError));
    }
}
