//! Object management: create, copy, destroy, attributes, find.

use alloc::vec::Vec;

use super::Engine;
use crate::attribute::Attribute;
use crate::consts::{AttrType, UserType};
use crate::info::AttrLookup;
use crate::object::Object;
use crate::object::policy::{self, Actor, Origin};
use crate::rng::Rng;
use crate::token::{Change, Token};
use crate::{Error, Result};

/// A fresh object id, unused in `token`.
pub(super) fn new_object_id(token: &Token, rng: &mut dyn Rng) -> Result<u64> {
    loop {
        let mut b = [0u8; 8];
        rng.fill(&mut b)?;
        let id = u64::from_le_bytes(b);
        if id != 0 && !token.objects.contains_key(&id) && !token.damaged.contains_key(&id) {
            return Ok(id);
        }
    }
}

/// A fresh `CKA_UNIQUE_ID`: 32 hex characters.
pub(super) fn new_unique_id(rng: &mut dyn Rng) -> Result<Vec<u8>> {
    let mut b = [0u8; 16];
    rng.fill(&mut b)?;
    Ok(b.iter().flat_map(|x| alloc::format!("{x:02x}").into_bytes()).collect())
}

impl Engine {
    /// Resolve an object handle for session `s`, enforcing visibility (private objects
    /// exist only for a logged-in user). Returns (slot, id).
    pub(super) fn resolve(&self, s: u64, h: u64, invalid: Error) -> Result<(u64, u64)> {
        let slot = self.session(s)?.slot;
        self.visible(slot, h, invalid).map(|(id, _, _)| (slot, id))
    }

    /// [`Engine::resolve`] for a session already known to be on `slot`, with what the hot
    /// paths need next (the object and its token) so they look nothing up twice.
    pub(super) fn visible(&self, slot: u64, h: u64, invalid: Error) -> Result<(u64, &Object, &Token)> {
        let &(hslot, id) = self.handles.get(&h).ok_or(invalid)?;
        if hslot != slot {
            return Err(invalid);
        }
        let t = self.token(slot)?;
        let Some(e) = t.objects.get(&id) else {
            // A damaged record's placeholder: seen, but unusable.
            let seen = t.damaged.get(&id).is_some_and(|d| d.visible(t.login));
            return Err(if seen { Error::DeviceError } else { invalid });
        };
        if e.obj.is_private() && t.login != Some(UserType::USER) {
            return Err(invalid);
        }
        Ok((id, &e.obj, t))
    }

    /// The record id behind handle `h` if it is a damaged record's placeholder that the
    /// application on `slot` may see.
    fn damaged_handle(&self, slot: u64, h: u64) -> Result<Option<u64>> {
        let t = self.token(slot)?;
        Ok(match self.handles.get(&h) {
            Some(&(hslot, id)) if hslot == slot && t.damaged.get(&id).is_some_and(|d| d.visible(t.login)) => {
                Some(id)
            }
            _ => None,
        })
    }

    /// [`Token::ensure_unsealed`] for the token in `slot`.
    pub(super) fn ensure_unsealed(&self, slot: u64, id: u64) -> Result<()> {
        self.token(slot)?.ensure_unsealed(id)
    }

    pub(super) fn object(&self, slot: u64, id: u64) -> Result<&Object> {
        self.token(slot)?.objects.get(&id).map(|e| &e.obj).ok_or(Error::ObjectHandleInvalid)
    }

    /// May session `s` hold an object with these storage attributes?
    fn check_access(&self, s: u64, obj: &Object) -> Result<()> {
        let session = self.session(s)?;
        let login = self.token(session.slot)?.login;
        if obj.is_token() && !session.rw {
            return Err(Error::SessionReadOnly);
        }
        if obj.is_private() && login != Some(UserType::USER) {
            return Err(Error::UserNotLoggedIn);
        }
        if obj.flag(AttrType::TRUSTED) && login != Some(UserType::SO) {
            return Err(Error::AttributeReadOnly);
        }
        Ok(())
    }

    /// The session checks that can be made from a template alone, before its content is
    /// validated (so a read-only session hears `CKR_SESSION_READ_ONLY` whatever else is wrong).
    pub(super) fn check_template_access(&self, s: u64, template: &[Attribute]) -> Result<()> {
        let session = self.session(s)?;
        let login = self.token(session.slot)?.login;
        let flag = |ty| policy::find(template, ty).and_then(Attribute::as_bool) == Some(true);
        if flag(AttrType::TOKEN) && !session.rw {
            return Err(Error::SessionReadOnly);
        }
        if flag(AttrType::PRIVATE) && login != Some(UserType::USER) {
            return Err(Error::UserNotLoggedIn);
        }
        Ok(())
    }

    fn actor(&self, slot: u64) -> Result<Actor> {
        Ok(Actor { so: self.token(slot)?.login == Some(UserType::SO) })
    }

    /// Store a new object for session `s` (token or session object); returns its handle.
    pub(super) fn insert_objects(&mut self, s: u64, objs: Vec<Object>) -> Result<Vec<u64>> {
        for o in &objs {
            self.check_access(s, o)?;
        }
        let slot = self.session(s)?.slot;
        self.transact(slot, |t, rng| {
            let mut change = Change::default();
            for o in &objs {
                let mut id = new_object_id(t, rng)?;
                while change.put.iter().any(|(x, _, _)| *x == id) {
                    id = new_object_id(t, rng)?;
                }
                let owner = if o.is_token() { None } else { Some(s) };
                change.put.push((id, o.clone(), owner));
            }
            Ok(change)
        })
    }

    /// `C_CreateObject`.
    ///
    /// # Errors
    /// Template errors from the attribute policy; `SessionReadOnly`, `UserNotLoggedIn`.
    pub fn create_object(&mut self, s: u64, template: &[Attribute]) -> Result<u64> {
        self.session_slot(s)?;
        self.check_template_access(s, template)?;
        let uid = new_unique_id(self.rng.as_mut())?;
        let obj = policy::new_object(template, &[], Origin::Create, &uid)?;
        let handles = self.insert_objects(s, alloc::vec![obj])?;
        handles.first().copied().ok_or(Error::GeneralError)
    }

    /// `C_CopyObject`.
    ///
    /// # Errors
    /// `ObjectHandleInvalid`, `ActionProhibited` (not copyable), policy errors.
    pub fn copy_object(&mut self, s: u64, h: u64, template: &[Attribute]) -> Result<u64> {
        self.session_slot(s)?;
        let (slot, id) = self.resolve(s, h, Error::ObjectHandleInvalid)?;
        self.ensure_unsealed(slot, id)?;
        let uid = new_unique_id(self.rng.as_mut())?;
        let copy = policy::copy_object(self.object(slot, id)?, template, self.actor(slot)?, &uid)?;
        let handles = self.insert_objects(s, alloc::vec![copy])?;
        handles.first().copied().ok_or(Error::GeneralError)
    }

    /// `C_DestroyObject`.
    ///
    /// # Errors
    /// `ObjectHandleInvalid`, `ActionProhibited` (not destroyable), `SessionReadOnly`.
    pub fn destroy_object(&mut self, s: u64, h: u64) -> Result<()> {
        let slot = self.session_slot(s)?;
        let id = if let Some(id) = self.damaged_handle(slot, h)? {
            // The one thing a damaged record's placeholder allows: removing its record.
            if !self.session(s)?.rw {
                return Err(Error::SessionReadOnly);
            }
            id
        } else {
            let (_, id) = self.resolve(s, h, Error::ObjectHandleInvalid)?;
            let obj = self.object(slot, id)?;
            if !obj.flag(AttrType::DESTROYABLE) {
                return Err(Error::ActionProhibited);
            }
            if obj.is_token() && !self.session(s)?.rw {
                return Err(Error::SessionReadOnly);
            }
            id
        };
        self.transact(slot, |t, _| {
            if !t.objects.contains_key(&id) && !t.damaged.contains_key(&id) {
                return Err(Error::ObjectHandleInvalid);
            }
            Ok(Change { delete: alloc::vec![id], ..Change::default() })
        })?;
        // The handle stays mapped (resolving it fails while the object is gone) so that, if a
        // front-end's durable write fails and the token is reloaded, the object keeps its
        // handle; a reload prunes handles whose objects are really gone.
        Ok(())
    }

    /// `C_GetObjectSize`.
    ///
    /// # Errors
    /// `ObjectHandleInvalid`.
    pub fn object_size(&mut self, s: u64, h: u64) -> Result<u64> {
        self.session_slot(s)?;
        let (slot, id) = self.resolve(s, h, Error::ObjectHandleInvalid)?;
        Ok(self.object(slot, id)?.size())
    }

    /// `C_GetAttributeValue`: one answer per requested type, all processed.
    ///
    /// # Errors
    /// `ObjectHandleInvalid`, `SessionHandleInvalid`.
    pub fn attribute_values(&mut self, s: u64, h: u64, types: &[AttrType]) -> Result<Vec<AttrLookup>> {
        self.session_slot(s)?;
        let (slot, id) = self.resolve(s, h, Error::ObjectHandleInvalid)?;
        let obj = self.object(slot, id)?;
        Ok(types
            .iter()
            .map(|ty| {
                if policy::is_sensitive(obj, *ty) {
                    AttrLookup::Sensitive
                } else {
                    obj.get(*ty).map_or(AttrLookup::Invalid, |v| AttrLookup::Value(v.clone()))
                }
            })
            .collect())
    }

    /// `C_SetAttributeValue`.
    ///
    /// # Errors
    /// `ObjectHandleInvalid`, `SessionReadOnly`, `ActionProhibited`, policy errors.
    pub fn set_attribute_values(&mut self, s: u64, h: u64, template: &[Attribute]) -> Result<()> {
        self.session_slot(s)?;
        let (slot, id) = self.resolve(s, h, Error::ObjectHandleInvalid)?;
        let obj = self.object(slot, id)?;
        if obj.is_token() && !self.session(s)?.rw {
            return Err(Error::SessionReadOnly);
        }
        self.ensure_unsealed(slot, id)?;
        let actor = self.actor(slot)?;
        self.transact(slot, |t, _| {
            let e = t.objects.get(&id).ok_or(Error::ObjectHandleInvalid)?;
            let new = policy::set_attributes(&e.obj, template, actor)?;
            Ok(Change { put: alloc::vec![(id, new, e.session)], ..Change::default() })
        })?;
        Ok(())
    }

    /// `C_FindObjectsInit`: the matching visible objects are fixed now.
    ///
    /// # Errors
    /// `OperationActive`, `SessionHandleInvalid`.
    pub fn find_objects_init(&mut self, s: u64, template: &[Attribute]) -> Result<()> {
        let slot = self.session_slot(s)?;
        if self.session(s)?.find.is_some() {
            return Err(Error::OperationActive);
        }
        let t = self.token(slot)?;
        let user = t.login == Some(UserType::USER);
        let ids: Vec<u64> = match t.index.candidates(template) {
            Some(c) => c,
            None => t.objects.keys().copied().collect(),
        };
        let mut found: Vec<u64> = ids
            .into_iter()
            .filter(|id| {
                t.objects.get(id).is_some_and(|e| (user || !e.obj.is_private()) && e.obj.matches(template))
            })
            .collect();
        // Damaged records' placeholders are not indexed (few, and mostly unreadable).
        found.extend(
            t.damaged.iter().filter(|(_, d)| d.visible(t.login) && d.matches(template)).map(|(id, _)| *id),
        );
        let handles: Vec<u64> = found.into_iter().map(|id| self.handle_for(slot, id)).collect();
        self.session_mut(s)?.find = Some(handles.into_iter().rev().collect());
        Ok(())
    }

    /// `C_FindObjects`: up to `max` more handles.
    ///
    /// # Errors
    /// `OperationNotInitialized`.
    pub fn find_objects(&mut self, s: u64, max: usize) -> Result<Vec<u64>> {
        let find = self.session_mut(s)?.find.as_mut().ok_or(Error::OperationNotInitialized)?;
        let n = max.min(find.len());
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            if let Some(h) = find.pop() {
                out.push(h);
            }
        }
        Ok(out)
    }

    /// `C_FindObjectsFinal`.
    ///
    /// # Errors
    /// `OperationNotInitialized`.
    pub fn find_objects_final(&mut self, s: u64) -> Result<()> {
        self.session_mut(s)?.find.take().map(|_| ()).ok_or(Error::OperationNotInitialized)
    }
}
