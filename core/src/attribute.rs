//! Attributes: an open type code, a typed value, and conversion from and to the raw bytes
//! of a `CK_ATTRIBUTE` at the edge. Templates are parsed once, here; the engine never sees
//! raw attribute bytes.

use alloc::vec::Vec;

use crate::consts::{AttrType, MechanismType};
use crate::secret::SecretBytes;
use crate::{Error, Result};

/// How an attribute's value is shaped (from the schema).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttrKind {
    /// `CK_BBOOL`: one byte.
    Bool,
    /// `CK_ULONG`: a native unsigned long at the edge, `u64` inside.
    Ulong,
    /// A byte string (`CK_BYTE` array, `CK_UTF8CHAR` array, DER).
    Bytes,
    /// A byte string that is key material: kept as [`SecretBytes`].
    Secret,
    /// `CK_DATE`: 8 ASCII digits, or empty.
    Date,
    /// `CK_MECHANISM_TYPE` array.
    MechanismList,
    /// `CK_ATTRIBUTE` array (wrap/unwrap/derive templates).
    Template,
}

/// A typed attribute value.
#[derive(Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum AttrValue {
    /// `CK_BBOOL`.
    Bool(bool),
    /// `CK_ULONG`.
    Ulong(u64),
    /// A byte string.
    Bytes(#[serde(deserialize_with = "crate::store::record::deserialize_byte_vec")] Vec<u8>),
    /// Key material.
    Secret(SecretBytes),
    /// `YYYYMMDD`, or empty for "no date".
    Date(#[serde(deserialize_with = "crate::store::record::deserialize_byte_vec")] Vec<u8>),
    /// `CK_MECHANISM_TYPE` array.
    MechanismList(Vec<MechanismType>),
    /// `CK_ATTRIBUTE` array.
    Template(Vec<Attribute>),
}

impl core::fmt::Debug for AttrValue {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            AttrValue::Bool(b) => write!(f, "{b}"),
            AttrValue::Ulong(v) => write!(f, "{v:#x}"),
            AttrValue::Bytes(b) => write!(f, "{} bytes", b.len()),
            AttrValue::Secret(s) => write!(f, "{s:?}"),
            AttrValue::Date(d) => write!(f, "date({} bytes)", d.len()),
            AttrValue::MechanismList(m) => write!(f, "{m:?}"),
            AttrValue::Template(t) => write!(f, "{t:?}"),
        }
    }
}

/// One attribute: type and typed value.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Attribute {
    /// `CKA_*`.
    pub ty: AttrType,
    /// The value.
    pub value: AttrValue,
}

/// The width of `CK_ULONG` at an edge (8 on LP64, 4 on Win64 and wasm32 C ABIs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UlongWidth {
    /// 32-bit `CK_ULONG`.
    Four,
    /// 64-bit `CK_ULONG`.
    Eight,
}

impl UlongWidth {
    /// The width of this platform's `unsigned long`... as the front-end declares it.
    pub const fn bytes(self) -> usize {
        match self {
            UlongWidth::Four => 4,
            UlongWidth::Eight => 8,
        }
    }
}

impl Attribute {
    /// A boolean attribute.
    pub fn bool(ty: AttrType, v: bool) -> Self {
        Self { ty, value: AttrValue::Bool(v) }
    }

    /// A `CK_ULONG` attribute.
    pub fn ulong(ty: AttrType, v: u64) -> Self {
        Self { ty, value: AttrValue::Ulong(v) }
    }

    /// A byte-string attribute (secret if the schema says so).
    pub fn bytes(ty: AttrType, v: &[u8]) -> Self {
        let value = match crate::object::schema::kind(ty) {
            Some(AttrKind::Secret) => AttrValue::Secret(SecretBytes::from_slice(v)),
            Some(AttrKind::Date) => AttrValue::Date(v.to_vec()),
            _ => AttrValue::Bytes(v.to_vec()),
        };
        Self { ty, value }
    }

    /// Parse the raw bytes of a `CK_ATTRIBUTE` whose type the schema knows.
    /// Template-valued attributes are not raw bytes: use [`Attribute::template`].
    ///
    /// # Errors
    /// `AttributeTypeInvalid` for a type the schema does not know;
    /// `AttributeValueInvalid` for a value of the wrong length or shape.
    pub fn from_raw(ty: AttrType, raw: &[u8], width: UlongWidth) -> Result<Self> {
        let kind = crate::object::schema::kind(ty).ok_or(Error::AttributeTypeInvalid)?;
        let value = match kind {
            AttrKind::Bool => match raw {
                [b] => AttrValue::Bool(*b != 0),
                _ => return Err(Error::AttributeValueInvalid),
            },
            AttrKind::Ulong => AttrValue::Ulong(read_ulong(raw, width)?),
            AttrKind::Bytes => AttrValue::Bytes(raw.to_vec()),
            AttrKind::Secret => AttrValue::Secret(SecretBytes::from_slice(raw)),
            AttrKind::Date => {
                if !(raw.is_empty() || (raw.len() == 8 && raw.iter().all(u8::is_ascii_digit))) {
                    return Err(Error::AttributeValueInvalid);
                }
                AttrValue::Date(raw.to_vec())
            }
            AttrKind::MechanismList => {
                let w = width.bytes();
                if !raw.len().is_multiple_of(w) {
                    return Err(Error::AttributeValueInvalid);
                }
                let list = raw
                    .chunks_exact(w)
                    .map(|c| read_ulong(c, width).map(MechanismType))
                    .collect::<Result<Vec<_>>>()?;
                AttrValue::MechanismList(list)
            }
            AttrKind::Template => return Err(Error::AttributeValueInvalid),
        };
        Ok(Self { ty, value })
    }

    /// A template-valued attribute (`CKA_WRAP_TEMPLATE` …) from its parsed members.
    ///
    /// # Errors
    /// `AttributeTypeInvalid` if `ty` is not template-valued.
    pub fn template(ty: AttrType, members: Vec<Attribute>) -> Result<Self> {
        match crate::object::schema::kind(ty) {
            Some(AttrKind::Template) => Ok(Self { ty, value: AttrValue::Template(members) }),
            Some(_) => Err(Error::AttributeValueInvalid),
            None => Err(Error::AttributeTypeInvalid),
        }
    }

    /// The value as the raw bytes of a `CK_ATTRIBUTE`, for every kind but templates
    /// (which a front-end writes as a `CK_ATTRIBUTE` array itself).
    pub fn to_raw(&self, width: UlongWidth) -> Vec<u8> {
        self.value.to_raw(width)
    }

    /// The value as a boolean, if it is one.
    pub fn as_bool(&self) -> Option<bool> {
        match self.value {
            AttrValue::Bool(b) => Some(b),
            _ => None,
        }
    }

    /// The value as a `CK_ULONG`, if it is one.
    pub fn as_ulong(&self) -> Option<u64> {
        match self.value {
            AttrValue::Ulong(v) => Some(v),
            _ => None,
        }
    }
}

impl AttrValue {
    /// The raw `CK_ATTRIBUTE` encoding (templates: empty; the front-end encodes those).
    pub fn to_raw(&self, width: UlongWidth) -> Vec<u8> {
        match self {
            AttrValue::Bool(b) => alloc::vec![u8::from(*b)],
            AttrValue::Ulong(v) => write_ulong(*v, width),
            AttrValue::Bytes(b) | AttrValue::Date(b) => b.clone(),
            AttrValue::Secret(s) => s.expose().to_vec(),
            AttrValue::MechanismList(list) => list.iter().flat_map(|m| write_ulong(m.0, width)).collect(),
            AttrValue::Template(_) => Vec::new(),
        }
    }

    /// Byte length of the raw encoding; for templates, the number of members.
    pub fn raw_len(&self, width: UlongWidth) -> usize {
        match self {
            AttrValue::Bool(_) => 1,
            AttrValue::Ulong(_) => width.bytes(),
            AttrValue::Bytes(b) | AttrValue::Date(b) => b.len(),
            AttrValue::Secret(s) => s.len(),
            AttrValue::MechanismList(l) => l.len() * width.bytes(),
            AttrValue::Template(t) => t.len(),
        }
    }

    /// Byte-string view of `Bytes`, `Secret` and `Date` values.
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            AttrValue::Bytes(b) | AttrValue::Date(b) => Some(b),
            AttrValue::Secret(s) => Some(s.expose()),
            _ => None,
        }
    }
}

fn read_ulong(raw: &[u8], width: UlongWidth) -> Result<u64> {
    match (width, raw.len()) {
        (UlongWidth::Eight, 8) => {
            let mut b = [0u8; 8];
            b.copy_from_slice(raw);
            Ok(u64::from_ne_bytes(b))
        }
        (UlongWidth::Four, 4) => {
            let mut b = [0u8; 4];
            b.copy_from_slice(raw);
            Ok(u64::from(u32::from_ne_bytes(b)))
        }
        _ => Err(Error::AttributeValueInvalid),
    }
}

fn write_ulong(v: u64, width: UlongWidth) -> Vec<u8> {
    match width {
        UlongWidth::Eight => v.to_ne_bytes().to_vec(),
        // Values above u32::MAX do not exist on a 4-byte ABI; saturate (CK_UNAVAILABLE_INFORMATION).
        UlongWidth::Four => u32::try_from(v).unwrap_or(u32::MAX).to_ne_bytes().to_vec(),
    }
}
