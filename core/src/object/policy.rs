//! Attribute policy, declared per class and key type as rules with flags (after Kryoptic's
//! object factories): which attributes a class has, which are required when an application
//! creates one, their defaults, which the token alone sets, which are secret, and which may
//! change after creation and in which direction.

use alloc::vec::Vec;

use crate::attribute::{AttrValue, Attribute};
use crate::consts::{AttrType, CertificateType, KeyType, MechanismType, ObjectClass};
use crate::object::Object;
use crate::{Error, Result};

/// Required in a `C_CreateObject` template.
pub const REQ: u8 = 1;
/// Fixed once the object exists (`C_SetAttributeValue` → `CKR_ATTRIBUTE_READ_ONLY`).
pub const FIXED: u8 = 2;
/// Set by the token only; an application may not give it (`CKR_ATTRIBUTE_READ_ONLY`).
pub const TOKEN: u8 = 4;
/// Key material: unreadable when the key is sensitive or unextractable.
pub const SECRET: u8 = 8;
/// May change from true to false only.
pub const TO_FALSE: u8 = 16;
/// May change from false to true only.
pub const TO_TRUE: u8 = 32;

/// What a rule puts in an object when the template is silent.
#[derive(Clone, Copy, Debug)]
pub enum Dflt {
    /// Nothing: the attribute is absent unless given.
    Absent,
    /// A boolean.
    Bool(bool),
    /// A `CK_ULONG`.
    Ulong(u64),
    /// An empty byte string.
    Empty,
    /// An empty `CK_DATE`.
    NoDate,
    /// An empty mechanism list.
    NoMechanisms,
}

/// One attribute's rule for one class or key type.
#[derive(Clone, Copy, Debug)]
pub struct Rule {
    ty: AttrType,
    flags: u8,
    default: Dflt,
}

impl Rule {
    /// A rule: the attribute, its flags (`REQ`, `FIXED`, …) and its default.
    pub const fn new(ty: AttrType, flags: u8, default: Dflt) -> Self {
        Self { ty, flags, default }
    }
}

const fn r(ty: AttrType, flags: u8, default: Dflt) -> Rule {
    Rule::new(ty, flags, default)
}

use Dflt::{Absent, Empty, NoDate, NoMechanisms};
const fn t() -> Dflt {
    Dflt::Bool(true)
}
const fn f() -> Dflt {
    Dflt::Bool(false)
}

static STORAGE: &[Rule] = &[
    r(AttrType::CLASS, FIXED, Absent),
    r(AttrType::TOKEN, FIXED, f()),
    r(AttrType::PRIVATE, FIXED, f()),
    r(AttrType::MODIFIABLE, FIXED, t()),
    r(AttrType::LABEL, 0, Empty),
    r(AttrType::COPYABLE, TO_FALSE, t()),
    r(AttrType::DESTROYABLE, TO_FALSE, t()),
    r(AttrType::UNIQUE_ID, TOKEN | FIXED, Absent),
];

static DATA: &[Rule] =
    &[r(AttrType::APPLICATION, 0, Empty), r(AttrType::OBJECT_ID, 0, Empty), r(AttrType::VALUE, 0, Empty)];

static CERTIFICATE: &[Rule] = &[
    r(AttrType::CERTIFICATE_TYPE, REQ | FIXED, Absent),
    r(AttrType::TRUSTED, FIXED, f()),
    r(AttrType::CERTIFICATE_CATEGORY, FIXED, Dflt::Ulong(0)),
    r(AttrType::CHECK_VALUE, FIXED, Absent),
    r(AttrType::START_DATE, 0, NoDate),
    r(AttrType::END_DATE, 0, NoDate),
    r(AttrType::PUBLIC_KEY_INFO, FIXED, Empty),
];

static X509: &[Rule] = &[
    r(AttrType::SUBJECT, REQ | FIXED, Absent),
    r(AttrType::ID, 0, Empty),
    r(AttrType::ISSUER, 0, Empty),
    r(AttrType::SERIAL_NUMBER, 0, Empty),
    r(AttrType::VALUE, REQ | FIXED, Absent),
    r(AttrType::URL, FIXED, Empty),
    r(AttrType::HASH_OF_SUBJECT_PUBLIC_KEY, FIXED, Empty),
    r(AttrType::HASH_OF_ISSUER_PUBLIC_KEY, FIXED, Empty),
    r(AttrType::JAVA_MIDP_SECURITY_DOMAIN, FIXED, Dflt::Ulong(0)),
    r(AttrType::NAME_HASH_ALGORITHM, FIXED, Absent),
];

static KEY: &[Rule] = &[
    r(AttrType::KEY_TYPE, REQ | FIXED, Absent),
    r(AttrType::ID, 0, Empty),
    r(AttrType::START_DATE, 0, NoDate),
    r(AttrType::END_DATE, 0, NoDate),
    r(AttrType::DERIVE, 0, f()),
    r(AttrType::LOCAL, TOKEN | FIXED, Absent),
    r(AttrType::KEY_GEN_MECHANISM, TOKEN | FIXED, Absent),
    r(AttrType::ALLOWED_MECHANISMS, FIXED, NoMechanisms),
];

static PUBLIC_KEY: &[Rule] = &[
    r(AttrType::SUBJECT, 0, Empty),
    r(AttrType::ENCRYPT, 0, t()),
    r(AttrType::VERIFY, 0, t()),
    r(AttrType::VERIFY_RECOVER, 0, t()),
    r(AttrType::WRAP, 0, t()),
    r(AttrType::TRUSTED, 0, f()),
    r(AttrType::WRAP_TEMPLATE, FIXED, Absent),
    r(AttrType::PUBLIC_KEY_INFO, TOKEN | FIXED, Absent),
];

static PRIVATE_KEY: &[Rule] = &[
    r(AttrType::PRIVATE, FIXED, t()),
    r(AttrType::SUBJECT, 0, Empty),
    r(AttrType::SENSITIVE, TO_TRUE, t()),
    r(AttrType::DECRYPT, 0, t()),
    r(AttrType::SIGN, 0, t()),
    r(AttrType::SIGN_RECOVER, 0, t()),
    r(AttrType::UNWRAP, 0, t()),
    r(AttrType::EXTRACTABLE, TO_FALSE, f()),
    r(AttrType::ALWAYS_SENSITIVE, TOKEN | FIXED, Absent),
    r(AttrType::NEVER_EXTRACTABLE, TOKEN | FIXED, Absent),
    r(AttrType::WRAP_WITH_TRUSTED, TO_TRUE, f()),
    r(AttrType::UNWRAP_TEMPLATE, FIXED, Absent),
    r(AttrType::DERIVE_TEMPLATE, FIXED, Absent),
    r(AttrType::ALWAYS_AUTHENTICATE, FIXED, f()),
    r(AttrType::PUBLIC_KEY_INFO, TOKEN | FIXED, Absent),
];

static SECRET_KEY: &[Rule] = &[
    r(AttrType::PRIVATE, FIXED, t()),
    // The spec's default (3.2, table "Common Secret Key Attributes"); the value of a key
    // created without either flag stays unreadable all the same, by CKA_EXTRACTABLE's.
    r(AttrType::SENSITIVE, TO_TRUE, f()),
    r(AttrType::ENCRYPT, 0, t()),
    r(AttrType::DECRYPT, 0, t()),
    r(AttrType::SIGN, 0, t()),
    r(AttrType::VERIFY, 0, t()),
    r(AttrType::WRAP, 0, t()),
    r(AttrType::UNWRAP, 0, t()),
    r(AttrType::EXTRACTABLE, TO_FALSE, f()),
    r(AttrType::ALWAYS_SENSITIVE, TOKEN | FIXED, Absent),
    r(AttrType::NEVER_EXTRACTABLE, TOKEN | FIXED, Absent),
    r(AttrType::CHECK_VALUE, FIXED, Absent),
    r(AttrType::WRAP_WITH_TRUSTED, TO_TRUE, f()),
    r(AttrType::TRUSTED, 0, f()),
    r(AttrType::WRAP_TEMPLATE, FIXED, Absent),
    r(AttrType::UNWRAP_TEMPLATE, FIXED, Absent),
    r(AttrType::DERIVE_TEMPLATE, FIXED, Absent),
];

/// What every domain-parameter object has besides its type's own rules.
static DOMAIN_PARAMETERS: &[Rule] =
    &[r(AttrType::KEY_TYPE, REQ | FIXED, Absent), r(AttrType::LOCAL, TOKEN | FIXED, Absent)];

/// The rule sets that apply to an object of this class (and key or certificate type),
/// most specific first, so a specific rule overrides a general one.
fn rule_sets(class: ObjectClass, subtype: Option<u64>) -> Result<Vec<&'static [Rule]>> {
    let mut sets: Vec<&'static [Rule]> = Vec::with_capacity(5);
    match class {
        ObjectClass::DATA => sets.push(DATA),
        ObjectClass::CERTIFICATE => {
            match subtype.map(CertificateType) {
                Some(CertificateType::X_509) => sets.push(X509),
                Some(_) => return Err(Error::AttributeValueInvalid),
                None => return Err(Error::TemplateIncomplete),
            }
            sets.push(CERTIFICATE);
        }
        ObjectClass::SECRET_KEY | ObjectClass::PUBLIC_KEY | ObjectClass::PRIVATE_KEY => {
            let kt = KeyType(subtype.ok_or(Error::TemplateIncomplete)?);
            let kind = crate::mechanism::key_kind(kt).ok_or(Error::AttributeValueInvalid)?;
            sets.push(kind.rules(class).ok_or(Error::AttributeValueInvalid)?);
            sets.push(match class {
                ObjectClass::SECRET_KEY => SECRET_KEY,
                ObjectClass::PUBLIC_KEY => PUBLIC_KEY,
                _ => PRIVATE_KEY,
            });
            sets.push(KEY);
        }
        ObjectClass::DOMAIN_PARAMETERS => {
            let kt = KeyType(subtype.ok_or(Error::TemplateIncomplete)?);
            let kind = crate::mechanism::key_kind(kt).ok_or(Error::AttributeValueInvalid)?;
            sets.push(kind.rules(class).ok_or(Error::AttributeValueInvalid)?);
            sets.push(DOMAIN_PARAMETERS);
        }
        _ => return Err(Error::AttributeValueInvalid),
    }
    sets.push(STORAGE);
    Ok(sets)
}

fn find_rule(sets: &[&'static [Rule]], ty: AttrType) -> Option<Rule> {
    sets.iter().find_map(|s| s.iter().find(|r| r.ty == ty).copied())
}

fn subtype_attr(class: ObjectClass) -> Option<AttrType> {
    match class {
        ObjectClass::CERTIFICATE => Some(AttrType::CERTIFICATE_TYPE),
        ObjectClass::SECRET_KEY
        | ObjectClass::PUBLIC_KEY
        | ObjectClass::PRIVATE_KEY
        | ObjectClass::DOMAIN_PARAMETERS => Some(AttrType::KEY_TYPE),
        _ => None,
    }
}

/// How an object comes into being; decides which attributes the token sets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// `C_CreateObject`: the application supplies the value.
    Create,
    /// `C_GenerateKey(Pair)` with this mechanism: the engine supplies the value.
    Generate(MechanismType),
    /// `C_DeriveKey` from a base key with these properties.
    Derive {
        /// The base key's `CKA_ALWAYS_SENSITIVE`.
        always_sensitive: bool,
        /// The base key's `CKA_NEVER_EXTRACTABLE`.
        never_extractable: bool,
    },
    /// `C_UnwrapKey`: the value came from outside, encrypted.
    Unwrap,
}

/// Look up one attribute of a template.
pub fn find(template: &[Attribute], ty: AttrType) -> Option<&Attribute> {
    template.iter().find(|a| a.ty == ty)
}

/// Refuse templates that name one attribute twice with different values.
///
/// # Errors
/// `TemplateInconsistent`.
pub fn check_duplicates(template: &[Attribute]) -> Result<()> {
    for (i, a) in template.iter().enumerate() {
        if template[i + 1..].iter().any(|b| b.ty == a.ty && b.value != a.value) {
            return Err(Error::TemplateInconsistent);
        }
    }
    Ok(())
}

/// Build a new object from an application template (and, for generated keys, the
/// attributes the mechanism computed). Applies defaults, required attributes, the token-set
/// attributes and per-key-type validation. `unique_id` becomes `CKA_UNIQUE_ID`.
///
/// # Errors
/// `TemplateIncomplete` (required attribute or class missing), `TemplateInconsistent`,
/// `AttributeTypeInvalid` (an attribute the class does not have), `AttributeReadOnly`
/// (an attribute only the token sets), `AttributeValueInvalid` (a bad value or an
/// unsupported class, key type or certificate type), `CurveNotSupported`.
pub fn new_object(
    template: &[Attribute],
    generated: &[Attribute],
    origin: Origin,
    unique_id: &[u8],
) -> Result<Object> {
    check_duplicates(template)?;
    let class = find(template, AttrType::CLASS)
        .or_else(|| find(generated, AttrType::CLASS))
        .and_then(Attribute::as_ulong)
        .map(ObjectClass)
        .ok_or(Error::TemplateIncomplete)?;
    let subtype = subtype_attr(class)
        .and_then(|a| find(template, a).or_else(|| find(generated, a)).and_then(Attribute::as_ulong));
    let sets = rule_sets(class, subtype)?;

    let mut obj = Object::default();
    for a in template {
        let rule = find_rule(&sets, a.ty).ok_or(Error::AttributeTypeInvalid)?;
        if rule.flags & TOKEN != 0 {
            return Err(Error::AttributeReadOnly);
        }
        check_shape(a, &rule)?;
        obj.set(a.ty, a.value.clone());
    }
    // What the mechanism computed wins over nothing but must not contradict the template.
    for a in generated {
        if let Some(given) = obj.get(a.ty) {
            if *given != a.value {
                return Err(Error::TemplateInconsistent);
            }
        }
        obj.set(a.ty, a.value.clone());
    }
    for set in &sets {
        for rule in set.iter() {
            if obj.get(rule.ty).is_some() {
                continue;
            }
            if rule.flags & REQ != 0 && origin == Origin::Create {
                return Err(Error::TemplateIncomplete);
            }
            match rule.default {
                Absent => {}
                Dflt::Bool(b) => obj.set(rule.ty, AttrValue::Bool(b)),
                Dflt::Ulong(v) => obj.set(rule.ty, AttrValue::Ulong(v)),
                Empty => obj.set(rule.ty, AttrValue::Bytes(Vec::new())),
                NoDate => obj.set(rule.ty, AttrValue::Date(Vec::new())),
                NoMechanisms => obj.set(rule.ty, AttrValue::MechanismList(Vec::new())),
            }
        }
    }
    obj.set(AttrType::UNIQUE_ID, AttrValue::Bytes(unique_id.to_vec()));

    let is_key =
        matches!(class, ObjectClass::SECRET_KEY | ObjectClass::PUBLIC_KEY | ObjectClass::PRIVATE_KEY);
    if is_key {
        let (local, mech) = match origin {
            Origin::Generate(m) => (true, m.0),
            Origin::Create | Origin::Derive { .. } | Origin::Unwrap => (false, crate::info::UNAVAILABLE),
        };
        obj.set(AttrType::LOCAL, AttrValue::Bool(local));
        obj.set(AttrType::KEY_GEN_MECHANISM, AttrValue::Ulong(mech));
    }
    if class == ObjectClass::DOMAIN_PARAMETERS {
        obj.set(AttrType::LOCAL, AttrValue::Bool(matches!(origin, Origin::Generate(_))));
    }
    if matches!(class, ObjectClass::SECRET_KEY | ObjectClass::PRIVATE_KEY) {
        let sensitive = obj.flag(AttrType::SENSITIVE);
        let extractable = obj.flag(AttrType::EXTRACTABLE);
        // Only a key born in the token (or derived from one that always was) can claim it
        // was always sensitive / never extractable.
        let (always, never) = match origin {
            Origin::Generate(_) => (true, true),
            Origin::Derive { always_sensitive, never_extractable } => (always_sensitive, never_extractable),
            Origin::Create | Origin::Unwrap => (false, false),
        };
        obj.set(AttrType::ALWAYS_SENSITIVE, AttrValue::Bool(always && sensitive));
        obj.set(AttrType::NEVER_EXTRACTABLE, AttrValue::Bool(never && !extractable));
    }
    validate_key_material(&mut obj, class, origin)?;
    Ok(obj)
}

/// The value's shape must match the schema (the edge parses by schema, but a typed
/// front-end such as wasm can build any value).
fn check_shape(a: &Attribute, _rule: &Rule) -> Result<()> {
    use crate::attribute::AttrKind as K;
    let kind = super::schema::kind(a.ty).ok_or(Error::AttributeTypeInvalid)?;
    let ok = matches!(
        (kind, &a.value),
        (K::Bool, AttrValue::Bool(_))
            | (K::Ulong, AttrValue::Ulong(_))
            | (K::Bytes, AttrValue::Bytes(_))
            | (K::Secret, AttrValue::Secret(_))
            | (K::Secret, AttrValue::Bytes(_))
            | (K::Date, AttrValue::Date(_))
            | (K::MechanismList, AttrValue::MechanismList(_))
            | (K::Template, AttrValue::Template(_))
    );
    if ok { Ok(()) } else { Err(Error::AttributeValueInvalid) }
}

/// Per-key-type checks and the derived public attributes, by the key type's [`KeyKind`].
///
/// [`KeyKind`]: crate::mechanism::KeyKind
fn validate_key_material(obj: &mut Object, class: ObjectClass, origin: Origin) -> Result<()> {
    if !matches!(
        class,
        ObjectClass::SECRET_KEY
            | ObjectClass::PUBLIC_KEY
            | ObjectClass::PRIVATE_KEY
            | ObjectClass::DOMAIN_PARAMETERS
    ) {
        return Ok(());
    }
    let kt = obj.key_type().ok_or(Error::TemplateIncomplete)?;
    let kind = crate::mechanism::key_kind(kt).ok_or(Error::AttributeValueInvalid)?;
    kind.complete(obj, class, origin)
}

/// True if reading `ty` from `obj` would reveal key material the object protects.
pub fn is_sensitive(obj: &Object, ty: AttrType) -> bool {
    let class = obj.class();
    if !matches!(class, ObjectClass::SECRET_KEY | ObjectClass::PRIVATE_KEY) {
        return false;
    }
    let protected = obj.flag(AttrType::SENSITIVE) || !obj.flag(AttrType::EXTRACTABLE);
    if !protected {
        return false;
    }
    let Ok(sets) = rule_sets(class, obj.key_type().map(|k| k.0)) else {
        return true;
    };
    find_rule(&sets, ty).is_some_and(|r| r.flags & SECRET != 0)
}

/// Who is changing the object, for the rules that depend on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Actor {
    /// The SO is logged in (only the SO may set `CKA_TRUSTED`).
    pub so: bool,
}

/// Apply `C_SetAttributeValue` changes to a copy of `obj`, checking every rule.
///
/// # Errors
/// `ActionProhibited` (object not modifiable), `AttributeTypeInvalid`, `AttributeReadOnly`,
/// `AttributeValueInvalid`, `TemplateInconsistent`.
pub fn set_attributes(obj: &Object, changes: &[Attribute], actor: Actor) -> Result<Object> {
    if !obj.flag(AttrType::MODIFIABLE) {
        return Err(Error::ActionProhibited);
    }
    check_duplicates(changes)?;
    let sets = rule_sets(obj.class(), subtype_attr(obj.class()).and_then(|a| obj.ulong(a)))?;
    let mut new = obj.clone();
    for a in changes {
        let rule = find_rule(&sets, a.ty).ok_or(Error::AttributeTypeInvalid)?;
        check_shape(a, &rule)?;
        apply_change(&mut new, obj, a, &rule, actor)?;
    }
    Ok(new)
}

fn apply_change(new: &mut Object, old: &Object, a: &Attribute, rule: &Rule, actor: Actor) -> Result<()> {
    if rule.flags & (FIXED | TOKEN) != 0 {
        return Err(Error::AttributeReadOnly);
    }
    let current = old.flag(a.ty);
    let wanted = a.as_bool();
    if rule.flags & TO_FALSE != 0 && wanted == Some(true) && !current {
        return Err(Error::AttributeReadOnly);
    }
    if rule.flags & TO_TRUE != 0 && wanted == Some(false) && current {
        return Err(Error::AttributeReadOnly);
    }
    if a.ty == AttrType::TRUSTED && wanted == Some(true) && !actor.so {
        return Err(Error::AttributeReadOnly);
    }
    new.set(a.ty, a.value.clone());
    Ok(())
}

/// Build the copy made by `C_CopyObject`: the original's attributes with the template's
/// changes, which may also set `CKA_TOKEN`, `CKA_PRIVATE` and `CKA_MODIFIABLE` (only
/// towards more protection for the latter). The copy gets a new unique id.
///
/// # Errors
/// `ActionProhibited` (not copyable), and those of [`set_attributes`].
pub fn copy_object(obj: &Object, template: &[Attribute], actor: Actor, unique_id: &[u8]) -> Result<Object> {
    if !obj.flag(AttrType::COPYABLE) {
        return Err(Error::ActionProhibited);
    }
    check_duplicates(template)?;
    let sets = rule_sets(obj.class(), subtype_attr(obj.class()).and_then(|a| obj.ulong(a)))?;
    let mut new = obj.clone();
    for a in template {
        let rule = find_rule(&sets, a.ty).ok_or(Error::AttributeTypeInvalid)?;
        check_shape(a, &rule)?;
        match a.ty {
            AttrType::TOKEN | AttrType::PRIVATE => new.set(a.ty, a.value.clone()),
            AttrType::MODIFIABLE => {
                if a.as_bool() == Some(true) && !obj.flag(AttrType::MODIFIABLE) {
                    return Err(Error::AttributeReadOnly);
                }
                new.set(a.ty, a.value.clone());
            }
            _ => apply_change(&mut new, obj, a, &rule, actor)?,
        }
    }
    new.set(AttrType::UNIQUE_ID, AttrValue::Bytes(unique_id.to_vec()));
    Ok(new)
}
