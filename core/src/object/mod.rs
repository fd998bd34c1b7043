//! Objects: a class, a set of typed attributes, and the policy that governs them.

use alloc::vec::Vec;

use crate::attribute::{AttrValue, Attribute};
use crate::consts::{AttrType, KeyType, ObjectClass};

pub mod policy;
pub mod schema;

/// A PKCS#11 object: attributes by type. Built only through [`policy`], so an `Object`
/// always has a class and the attributes its class requires.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Object {
    /// Sorted by type, one entry per type: a record's list as it is stored, so loading a
    /// token moves it in without building a tree per object.
    attrs: Vec<(AttrType, AttrValue)>,
}

impl core::fmt::Debug for Object {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_map().entries(self.attributes()).finish()
    }
}

impl Object {
    /// The object's attributes, sorted by type.
    pub fn attributes(&self) -> impl Iterator<Item = (&AttrType, &AttrValue)> {
        self.attrs.iter().map(|(t, v)| (t, v))
    }

    fn position(&self, ty: AttrType) -> Result<usize, usize> {
        self.attrs.binary_search_by_key(&ty, |(t, _)| *t)
    }

    /// One attribute's value.
    pub fn get(&self, ty: AttrType) -> Option<&AttrValue> {
        self.position(ty).ok().map(|i| &self.attrs[i].1)
    }

    /// Set one attribute (policy is the caller's business: see [`policy`]).
    pub(crate) fn set(&mut self, ty: AttrType, value: AttrValue) {
        match self.position(ty) {
            Ok(i) => self.attrs[i].1 = value,
            Err(i) => self.attrs.insert(i, (ty, value)),
        }
    }

    /// A boolean attribute, `false` when absent.
    pub fn flag(&self, ty: AttrType) -> bool {
        matches!(self.get(ty), Some(AttrValue::Bool(true)))
    }

    /// A `CK_ULONG` attribute.
    pub fn ulong(&self, ty: AttrType) -> Option<u64> {
        match self.get(ty) {
            Some(AttrValue::Ulong(v)) => Some(*v),
            _ => None,
        }
    }

    /// A byte-string attribute (`Bytes`, `Secret` or `Date`).
    pub fn bytes(&self, ty: AttrType) -> Option<&[u8]> {
        self.get(ty).and_then(AttrValue::as_bytes)
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
        template.iter().all(|a| self.get(a.ty) == Some(&a.value))
    }

    /// Rough size in bytes (`C_GetObjectSize`): the sum of value lengths plus a per-attribute overhead.
    pub fn size(&self) -> u64 {
        self.attrs.iter().map(|(_, v)| 16 + v.raw_len(crate::attribute::UlongWidth::Eight) as u64).sum()
    }

    /// Attributes as a list (for records).
    pub fn to_vec(&self) -> Vec<(AttrType, AttrValue)> {
        self.attrs.clone()
    }

    /// Rebuild from a record's attribute list. A list the engine wrote is already sorted and
    /// is taken as it is; any other is sorted, and of repeated types the last one wins (as
    /// when they are set one after another).
    pub(crate) fn from_vec(mut attrs: Vec<(AttrType, AttrValue)>) -> Self {
        if !attrs.is_sorted_by(|a, b| a.0 < b.0) {
            attrs.sort_by_key(|(t, _)| *t);
            // `dedup_by` keeps the earlier of two equal entries: move the later value into it.
            attrs.dedup_by(|later, kept| {
                let same = later.0 == kept.0;
                if same {
                    core::mem::swap(later, kept);
                }
                same
            });
        }
        Self { attrs }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_vec_sorts_and_the_last_of_a_type_wins() {
        let list = |pairs: &[(u64, u64)]| -> Vec<(AttrType, AttrValue)> {
            pairs.iter().map(|(t, v)| (AttrType(*t), AttrValue::Ulong(*v))).collect()
        };
        let unsorted = Object::from_vec(list(&[(3, 30), (1, 10), (3, 31), (2, 20), (1, 11), (3, 32)]));
        let mut one_by_one = Object::default();
        for (t, v) in list(&[(3, 30), (1, 10), (3, 31), (2, 20), (1, 11), (3, 32)]) {
            one_by_one.set(t, v);
        }
        assert_eq!(unsorted, one_by_one);
        assert_eq!(unsorted.to_vec(), list(&[(1, 11), (2, 20), (3, 32)]));
        assert_eq!(Object::from_vec(list(&[(1, 1), (2, 2)])).to_vec(), list(&[(1, 1), (2, 2)]));
        assert_eq!(unsorted.ulong(AttrType(2)), Some(20));
        assert_eq!(unsorted.get(AttrType(4)), None);
    }
}
