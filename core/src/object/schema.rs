//! The attribute schema: one table, sorted by type code, of every attribute the engine
//! knows and the shape of its value. A unit test keeps it sorted, so lookups are a binary
//! search. Per-class rules (required, defaults, who may change what) live in
//! [`super::policy`].

use crate::attribute::AttrKind;
use crate::consts::AttrType;

use AttrKind::{Bool, Bytes, Date, MechanismList, Secret, Template, Ulong};

/// Every known attribute type with the kind of its value, sorted by code.
pub static SCHEMA: &[(AttrType, AttrKind)] = &[
    (AttrType::CLASS, Ulong),
    (AttrType::TOKEN, Bool),
    (AttrType::PRIVATE, Bool),
    (AttrType::LABEL, Bytes),
    (AttrType::UNIQUE_ID, Bytes),
    (AttrType::APPLICATION, Bytes),
    (AttrType::VALUE, Secret),
    (AttrType::OBJECT_ID, Bytes),
    (AttrType::CERTIFICATE_TYPE, Ulong),
    (AttrType::ISSUER, Bytes),
    (AttrType::SERIAL_NUMBER, Bytes),
    (AttrType::TRUSTED, Bool),
    (AttrType::CERTIFICATE_CATEGORY, Ulong),
    (AttrType::JAVA_MIDP_SECURITY_DOMAIN, Ulong),
    (AttrType::URL, Bytes),
    (AttrType::HASH_OF_SUBJECT_PUBLIC_KEY, Bytes),
    (AttrType::HASH_OF_ISSUER_PUBLIC_KEY, Bytes),
    (AttrType::NAME_HASH_ALGORITHM, Ulong),
    (AttrType::CHECK_VALUE, Bytes),
    (AttrType::KEY_TYPE, Ulong),
    (AttrType::SUBJECT, Bytes),
    (AttrType::ID, Bytes),
    (AttrType::SENSITIVE, Bool),
    (AttrType::ENCRYPT, Bool),
    (AttrType::DECRYPT, Bool),
    (AttrType::WRAP, Bool),
    (AttrType::UNWRAP, Bool),
    (AttrType::SIGN, Bool),
    (AttrType::SIGN_RECOVER, Bool),
    (AttrType::VERIFY, Bool),
    (AttrType::VERIFY_RECOVER, Bool),
    (AttrType::DERIVE, Bool),
    (AttrType::START_DATE, Date),
    (AttrType::END_DATE, Date),
    (AttrType::MODULUS, Bytes),
    (AttrType::MODULUS_BITS, Ulong),
    (AttrType::PUBLIC_EXPONENT, Bytes),
    (AttrType::PRIVATE_EXPONENT, Secret),
    (AttrType::PRIME_1, Secret),
    (AttrType::PRIME_2, Secret),
    (AttrType::EXPONENT_1, Secret),
    (AttrType::EXPONENT_2, Secret),
    (AttrType::COEFFICIENT, Secret),
    (AttrType::PUBLIC_KEY_INFO, Bytes),
    (AttrType::PRIME, Bytes),
    (AttrType::SUBPRIME, Bytes),
    (AttrType::BASE, Bytes),
    (AttrType::PRIME_BITS, Ulong),
    (AttrType::SUBPRIME_BITS, Ulong),
    (AttrType::VALUE_BITS, Ulong),
    (AttrType::VALUE_LEN, Ulong),
    (AttrType::EXTRACTABLE, Bool),
    (AttrType::LOCAL, Bool),
    (AttrType::NEVER_EXTRACTABLE, Bool),
    (AttrType::ALWAYS_SENSITIVE, Bool),
    (AttrType::KEY_GEN_MECHANISM, Ulong),
    (AttrType::MODIFIABLE, Bool),
    (AttrType::COPYABLE, Bool),
    (AttrType::DESTROYABLE, Bool),
    (AttrType::EC_PARAMS, Bytes),
    (AttrType::EC_POINT, Bytes),
    (AttrType::ALWAYS_AUTHENTICATE, Bool),
    (AttrType::WRAP_WITH_TRUSTED, Bool),
    (AttrType::PARAMETER_SET, Ulong),
    (AttrType::SEED, Secret),
    (AttrType::WRAP_TEMPLATE, Template),
    (AttrType::UNWRAP_TEMPLATE, Template),
    (AttrType::DERIVE_TEMPLATE, Template),
    (AttrType::ALLOWED_MECHANISMS, MechanismList),
];

/// The kind of an attribute's value, or `None` for a type the engine does not know.
pub fn kind(ty: AttrType) -> Option<AttrKind> {
    SCHEMA.binary_search_by_key(&ty, |(t, _)| *t).ok().map(|i| SCHEMA[i].1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_is_sorted_and_unique() {
        for w in SCHEMA.windows(2) {
            assert!(w[0].0 < w[1].0, "{:?} must sort before {:?}", w[0].0, w[1].0);
        }
    }

    #[test]
    fn lookups() {
        assert_eq!(kind(AttrType::CLASS), Some(Ulong));
        assert_eq!(kind(AttrType::VALUE), Some(Secret));
        assert_eq!(kind(AttrType::ALLOWED_MECHANISMS), Some(MechanismList));
        assert_eq!(kind(AttrType(0x7fff_0000)), None);
        for (t, k) in SCHEMA {
            assert_eq!(kind(*t), Some(*k));
        }
    }
}
