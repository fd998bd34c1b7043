//! The attribute schema: one sorted table of every attribute type the engine knows.
use crate::attribute::AttrKind;
use crate::consts::AttrType;

/// The kind of an attribute's value, or `None` for a type the engine does not know.
pub fn kind(ty: AttrType) -> Option<AttrKind> {
    let _ = ty;
    None
}
