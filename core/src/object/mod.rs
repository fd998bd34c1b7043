//! Objects: a class, a set of typed attributes, and the policy that governs them.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;

use crate::attribute::{AttrValue, Attribute};
use crate::consts::{AttrType, KeyType, ObjectClass};

pub mod policy;
pub mod schema;

/// A PKCS#11 object: attributes by type. Built only through [`policy`], so an `Object`
/// always has a class and the attributes its class requires.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Object {
    attrs: BTreeMap<AttrType, AttrValue>,
}

impl Object {
    /// The object's attributes, sorted by type.
    pub fn attributes(&self) -> impl Iterator<Item = (&AttrType, &AttrValue)> {
        self.attrs.iter()
    }

    /// One attribute's value.
    pub fn get(&self, ty: AttrType) -> Option<&AttrValue> {
        self.attrs.get(&ty)
    }

    /// Set one attribute (policy is the caller's business: see [`policy`]).
    pub(crate) fn set(&mut self, ty: AttrType, value: AttrValue) {
        self.attrs.insert(ty, value);
    }

    /// A boolean attribute, `false` when absent.
    pub fn flag(&self, ty: AttrType) -> bool {
        matches!(self.attrs.get(&ty), Some(AttrValue::Bool(true)))
    }

    /// A `CK_ULONG` attribute.
    pub fn ulong(&self, ty: AttrType) -> Option<u64> {
        match self.attrs.get(&ty) {
            Some(AttrValue::Ulong(v)) => Some(*v),
            _ => None,
        }
    }

    /// A byte-string attribute (`Bytes`, `Secret` or `Date`).
    pub fn bytes(&self, ty: AttrType) -> Option<&[u8]> {
        self.attrs.get(&ty).and_then(AttrValue::as_bytes)
    }

    /// `CKA_CLASS`.
    pub fn class(&self) -> ObjectClass {
        ObjectClass(self.ulong(AttrType::CLASS).unwrap_or(u64::MAX))
    }

    /// `CKA_KEY_TYPE`, for keys.
    pub fn key_type(&self) -> Option<KeyType> {
        self.ulong(AttrType::KEY_TYPE).map(KeyType)
    }

    /// `CKA_TOKEN`.
    pub fn is_token(&self) -> bool {
        self.flag(AttrType::TOKEN)
    }

    /// `CKA_PRIVATE`.
    pub fn is_private(&self) -> bool {
        self.flag(AttrType::PRIVATE)
    }

    /// True if every attribute of `template` is present here with an equal value
    /// (the `C_FindObjects` match).
    pub fn matches(&self, template: &[Attribute]) -> bool {
        template.iter().all(|a| self.attrs.get(&a.ty) == Some(&a.value))
    }

    /// Rough size in bytes (`C_GetObjectSize`): the sum of value lengths plus a per-attribute overhead.
    pub fn size(&self) -> u64 {
        self.attrs.values().map(|v| 16 + v.raw_len(crate::attribute::UlongWidth::Eight) as u64).sum()
    }

    /// Attributes as a list (for records).
    pub fn to_vec(&self) -> Vec<(AttrType, AttrValue)> {
        self.attrs.iter().map(|(t, v)| (*t, v.clone())).collect()
    }

    /// Rebuild from a record's attribute list.
    pub(crate) fn from_vec(attrs: Vec<(AttrType, AttrValue)>) -> Self {
        Self { attrs: attrs.into_iter().collect() }
    }
}
