//! Objects and their attribute policy: creation per class, visibility (private, session objects),
//! handles, `C_GetAttributeValue`/`C_SetAttributeValue` rules, copy, destroy, find, size.

mod common;

use core::ptr;

use cryptoki::mechanism::{Mechanism, MechanismType};
use cryptoki::object::{Attribute, AttributeType, CertificateType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki_sys::{
    CK_ATTRIBUTE, CK_ATTRIBUTE_TYPE, CK_BBOOL, CK_OBJECT_CLASS, CK_OBJECT_HANDLE, CK_RV, CK_ULONG,
    CK_UNAVAILABLE_INFORMATION, CKA_CLASS, CKA_KEY_GEN_MECHANISM, CKA_LABEL, CKA_TOKEN, CKA_VALUE,
    CKA_VALUE_LEN, CKO_DATA,
};
use p256::ecdsa::signature::Signer as _;
use p256::ecdsa::signature::hazmat::PrehashVerifier as _;
use p256::ecdsa::{Signature, SigningKey};
use sha2::Digest as _;

use common::keys::{self, P256_PARAMS, SecretKeyOptions};
use common::raw::{AttrQuery, Raw, ulong};
use common::{Hsm, Skip, USER_PIN, bool_attr, bytes_attr, pin, run};

/// A self-signed P-256 certificate for "CN=anyhsm test".
const CERT_DER: &[u8] = include_bytes!("data/cert.der");
/// The DER of its subject, "CN=anyhsm test".
const CERT_SUBJECT: &[u8] = &[
    0x30, 0x16, 0x31, 0x14, 0x30, 0x12, 0x06, 0x03, 0x55, 0x04, 0x03, 0x0c, 0x0b, b'a', b'n', b'y', b'h',
    b's', b'm', b' ', b't', b'e', b's', b't',
];
/// An attribute type that no version of the spec defines (and that is not vendor-defined).
const UNDEFINED_ATTRIBUTE: CK_ATTRIBUTE_TYPE = 0x0000_0ff0;

fn data_template(label: &str, token: bool, private: bool) -> Vec<Attribute> {
    vec![
        Attribute::Class(ObjectClass::DATA),
        Attribute::Token(token),
        Attribute::Private(private),
        Attribute::Label(label.as_bytes().to_vec()),
        Attribute::Application(b"anyhsm tests".to_vec()),
        Attribute::Value(format!("value of {label}").into_bytes()),
    ]
}

fn create_data(session: &Session, label: &str, token: bool, private: bool) -> ObjectHandle {
    session
        .create_object(&data_template(label, token, private))
        .unwrap_or_else(|e| panic!("C_CreateObject(data {label:?}): {e}"))
}

fn find_labels(session: &Session, template: &[Attribute]) -> Vec<String> {
    let mut labels: Vec<String> = session
        .find_objects(template)
        .expect("C_FindObjects")
        .into_iter()
        .map(|h| String::from_utf8_lossy(&bytes_attr(session, h, AttributeType::Label)).into_owned())
        .collect();
    labels.sort();
    labels
}

/// A raw `C_GetAttributeValue` of one attribute with a buffer of `size` bytes.
fn query_one(
    raw: &Raw,
    session: &Session,
    object: ObjectHandle,
    ty: CK_ATTRIBUTE_TYPE,
    size: usize,
) -> (CK_RV, AttrQuery) {
    let mut q = [AttrQuery::with_buf(ty, size)];
    let rv = raw.get_attribute_value(session.handle(), object.handle(), &mut q);
    let [q] = q;
    (rv, q)
}

#[test]
fn data_object_create_read_destroy() {
    run("data_object_create_read_destroy", Skip::Never, || {
        let hsm = Hsm::load();
        let slot = hsm.token();
        let session = hsm.user_session(slot);
        for token in [false, true] {
            let object = create_data(&session, "data", token, false);
            let attrs = session
                .get_attributes(
                    object,
                    &[
                        AttributeType::Class,
                        AttributeType::Token,
                        AttributeType::Private,
                        AttributeType::Label,
                        AttributeType::Application,
                        AttributeType::Value,
                        AttributeType::Modifiable,
                    ],
                )
                .expect("C_GetAttributeValue");
            assert_eq!(
                attrs,
                vec![
                    Attribute::Class(ObjectClass::DATA),
                    Attribute::Token(token),
                    Attribute::Private(false),
                    Attribute::Label(b"data".to_vec()),
                    Attribute::Application(b"anyhsm tests".to_vec()),
                    Attribute::Value(b"value of data".to_vec()),
                    // The default of CKA_MODIFIABLE is true.
                    Attribute::Modifiable(true),
                ],
                "attributes of a data object (token = {token})"
            );
            session
                .update_attributes(object, &[Attribute::Label(b"renamed".to_vec())])
                .expect("C_SetAttributeValue(CKA_LABEL)");
            assert_eq!(bytes_attr(&session, object, AttributeType::Label), b"renamed");
            session.destroy_object(object).expect("C_DestroyObject");
            assert_rv!(session.get_attributes(object, &[AttributeType::Label]), ObjectHandleInvalid);
            assert_rv!(session.destroy_object(object), ObjectHandleInvalid);
        }
    });
}

#[test]
fn incomplete_templates_are_template_incomplete() {
    run("incomplete_templates_are_template_incomplete", Skip::Never, || {
        let hsm = Hsm::load();
        let slot = hsm.token();
        let session = hsm.user_session(slot);
        for (what, template) in incomplete_templates() {
            let result = session.create_object(&template);
            assert!(
                common::is_rv(&result, cryptoki::error::RvError::TemplateIncomplete),
                "C_CreateObject of {what}: expected CKR_TEMPLATE_INCOMPLETE, got {result:?}"
            );
        }
    });
}

/// Templates that lack an attribute the spec requires on `C_CreateObject`.
fn incomplete_templates() -> Vec<(&'static str, Vec<Attribute>)> {
    let cert = |extra: &[Attribute]| {
        let mut t = vec![
            Attribute::Class(ObjectClass::CERTIFICATE),
            Attribute::CertificateType(CertificateType::X_509),
            Attribute::Token(true),
            Attribute::Label(b"incomplete cert".to_vec()),
        ];
        t.extend_from_slice(extra);
        t
    };
    vec![
        ("an object without CKA_CLASS", vec![Attribute::Token(false), Attribute::Label(b"x".to_vec())]),
        (
            "a secret key without CKA_KEY_TYPE",
            vec![Attribute::Class(ObjectClass::SECRET_KEY), Attribute::Value(vec![0; 16])],
        ),
        (
            "an AES key without CKA_VALUE",
            vec![Attribute::Class(ObjectClass::SECRET_KEY), Attribute::KeyType(KeyType::AES)],
        ),
        ("an X.509 certificate without CKA_SUBJECT", cert(&[Attribute::Value(CERT_DER.to_vec())])),
        ("an X.509 certificate without CKA_VALUE", cert(&[Attribute::Subject(CERT_SUBJECT.to_vec())])),
        (
            "a certificate without CKA_CERTIFICATE_TYPE",
            vec![
                Attribute::Class(ObjectClass::CERTIFICATE),
                Attribute::Subject(CERT_SUBJECT.to_vec()),
                Attribute::Value(CERT_DER.to_vec()),
            ],
        ),
        (
            "an EC public key without CKA_EC_POINT",
            vec![
                Attribute::Class(ObjectClass::PUBLIC_KEY),
                Attribute::KeyType(KeyType::EC),
                Attribute::EcParams(P256_PARAMS.to_vec()),
            ],
        ),
    ]
}

#[test]
fn refused_create_leaves_nothing_behind() {
    run(
        "refused_create_leaves_nothing_behind",
        Skip::OnSoftHsm(
            "SoftHSM keeps the partly built object when C_CreateObject of a key or certificate \
             fails with CKR_TEMPLATE_INCOMPLETE",
        ),
        || {
            let hsm = Hsm::load();
            let slot = hsm.token();
            let session = hsm.user_session(slot);
            for (what, template) in incomplete_templates() {
                assert!(session.create_object(&template).is_err(), "C_CreateObject of {what} succeeded");
                let left = session.find_objects(&[]).expect("C_FindObjects");
                assert_eq!(left, vec![], "a refused C_CreateObject of {what} left an object");
            }
        },
    );
}

#[test]
fn token_objects_need_a_rw_session() {
    run("token_objects_need_a_rw_session", Skip::Never, || {
        let hsm = Hsm::load();
        let slot = hsm.token();
        let rw = hsm.user_session(slot);
        let token_object = create_data(&rw, "token object", true, false);
        let ro = hsm.ctx.open_ro_session(slot).expect("C_OpenSession(R/O)");
        assert_rv!(ro.create_object(&data_template("in ro", true, false)), SessionReadOnly);
        assert_rv!(
            ro.update_attributes(token_object, &[Attribute::Label(b"changed".to_vec())]),
            SessionReadOnly
        );
        assert_rv!(ro.destroy_object(token_object), SessionReadOnly);
        assert_rv!(ro.copy_object(token_object, &[Attribute::Token(true)]), SessionReadOnly);
        assert_rv!(
            ro.generate_key(&Mechanism::AesKeyGen, &[Attribute::Token(true), Attribute::ValueLen(16.into())]),
            SessionReadOnly
        );
        // Session objects are fine in a R/O session.
        let session_object = ro
            .create_object(&data_template("session object in ro", false, false))
            .expect("C_CreateObject(session object) in a R/O session");
        ro.update_attributes(session_object, &[Attribute::Label(b"changed".to_vec())])
            .expect("C_SetAttributeValue on a session object in a R/O session");
        ro.destroy_object(session_object).expect("C_DestroyObject of a session object in a R/O session");
        assert_eq!(bytes_attr(&rw, token_object, AttributeType::Label), b"token object");
    });
}

#[test]
fn certificate_object() {
    run("certificate_object", Skip::Never, || {
        let hsm = Hsm::load();
        let slot = hsm.token();
        let session = hsm.user_session(slot);
        let cert = session
            .create_object(&[
                Attribute::Class(ObjectClass::CERTIFICATE),
                Attribute::CertificateType(CertificateType::X_509),
                Attribute::Token(true),
                Attribute::Label(b"cert".to_vec()),
                Attribute::Id(vec![1, 2, 3]),
                Attribute::Subject(CERT_SUBJECT.to_vec()),
                Attribute::Value(CERT_DER.to_vec()),
            ])
            .expect("C_CreateObject(X.509 certificate)");
        assert_eq!(bytes_attr(&session, cert, AttributeType::Value), CERT_DER);
        assert_eq!(bytes_attr(&session, cert, AttributeType::Subject), CERT_SUBJECT);
        assert_eq!(
            common::attr(&session, cert, AttributeType::CertificateType),
            Some(Attribute::CertificateType(CertificateType::X_509))
        );
        // Certificates are public by default and found by class and ID.
        assert!(!bool_attr(&session, cert, AttributeType::Private));
        let found = session
            .find_objects(&[Attribute::Class(ObjectClass::CERTIFICATE), Attribute::Id(vec![1, 2, 3])])
            .expect("C_FindObjects");
        assert_eq!(found, vec![cert]);
        // CKA_CERTIFICATE_TYPE is fixed at creation (the spec does not mark it modifiable).
        assert_rv!(
            session.update_attributes(cert, &[Attribute::CertificateType(CertificateType::X_509_ATTR)]),
            AttributeReadOnly
        );
        // Visible without login: certificates are public.
        session.logout().expect("C_Logout");
        assert_eq!(
            session.find_objects(&[Attribute::Class(ObjectClass::CERTIFICATE)]).expect("C_FindObjects"),
            vec![cert]
        );
    });
}

#[test]
fn secret_key_object() {
    run("secret_key_object", Skip::Never, || {
        let hsm = Hsm::load();
        let slot = hsm.token();
        let session = hsm.user_session(slot);
        let raw = hsm.raw();
        let key = session
            .create_object(&[
                Attribute::Class(ObjectClass::SECRET_KEY),
                Attribute::KeyType(KeyType::AES),
                Attribute::Token(false),
                Attribute::Value(vec![0x42; 32]),
                Attribute::Encrypt(true),
                Attribute::Sensitive(true),
            ])
            .expect("C_CreateObject(AES key)");
        // CKA_VALUE_LEN is computed from the value.
        assert_eq!(
            common::attr(&session, key, AttributeType::ValueLen),
            Some(Attribute::ValueLen(32.into()))
        );
        let (rv, q) = query_one(&raw, &session, key, CKA_VALUE, 64);
        assert_ck!(rv, CKR_ATTRIBUTE_SENSITIVE);
        assert_eq!(q.len, CK_UNAVAILABLE_INFORMATION, "a sensitive value's length");
        // An imported key is not local, and has no key generation mechanism.
        assert!(!bool_attr(&session, key, AttributeType::Local));
        let (rv, q) = query_one(&raw, &session, key, CKA_KEY_GEN_MECHANISM, 8);
        assert_ck!(rv, CKR_OK);
        assert_eq!(
            q.value(),
            CK_UNAVAILABLE_INFORMATION.to_ne_bytes(),
            "CKA_KEY_GEN_MECHANISM of a created key is CK_UNAVAILABLE_INFORMATION"
        );
        // Local and the generation mechanism cannot be set by the application.
        assert_rv!(
            session.create_object(&[
                Attribute::Class(ObjectClass::SECRET_KEY),
                Attribute::KeyType(KeyType::AES),
                Attribute::Token(false),
                Attribute::Value(vec![0x42; 16]),
                Attribute::Local(true),
            ]),
            AttributeReadOnly
        );
    });
}

#[test]
fn ec_key_objects() {
    run("ec_key_objects", Skip::Never, || {
        let hsm = Hsm::load();
        let slot = hsm.token();
        let session = hsm.user_session(slot);
        let signing = SigningKey::from_slice(&[0x17; 32]).expect("a valid P-256 scalar");
        let verifying = *signing.verifying_key();
        let public = session
            .create_object(&[
                Attribute::Class(ObjectClass::PUBLIC_KEY),
                Attribute::KeyType(KeyType::EC),
                Attribute::Token(false),
                Attribute::EcParams(P256_PARAMS.to_vec()),
                Attribute::EcPoint(keys::ec_point_der(&verifying)),
                Attribute::Verify(true),
            ])
            .expect("C_CreateObject(EC public key)");
        let private = session
            .create_object(&[
                Attribute::Class(ObjectClass::PRIVATE_KEY),
                Attribute::KeyType(KeyType::EC),
                Attribute::Token(false),
                Attribute::Private(true),
                Attribute::Sensitive(true),
                Attribute::EcParams(P256_PARAMS.to_vec()),
                Attribute::Value(signing.to_bytes().to_vec()),
                Attribute::Sign(true),
            ])
            .expect("C_CreateObject(EC private key)");
        assert_eq!(bytes_attr(&session, public, AttributeType::EcParams), P256_PARAMS);
        assert_eq!(keys::verifying_key(&session, public), verifying);
        // Sign in the token with the imported key, verify with p256.
        let digest = sha2::Sha256::digest(b"imported key");
        let sig = session.sign(&Mechanism::Ecdsa, private, &digest).expect("C_Sign(CKM_ECDSA)");
        let sig = Signature::from_slice(&sig).expect("r || s of 64 bytes");
        verifying.verify_prehash(&digest, &sig).expect("p256 verifies the token's signature");
        // Sign with p256, verify in the token with the imported public key.
        let theirs: Signature = signing.sign(b"signed outside");
        session
            .verify(&Mechanism::Ecdsa, public, &sha2::Sha256::digest(b"signed outside"), &theirs.to_bytes())
            .expect("C_Verify(CKM_ECDSA) of a p256 signature");
        // The private value is sensitive.
        let raw = hsm.raw();
        let (rv, _) = query_one(&raw, &session, private, CKA_VALUE, 64);
        assert_ck!(rv, CKR_ATTRIBUTE_SENSITIVE);
    });
}

#[test]
fn private_objects_are_invisible_before_login() {
    run("private_objects_are_invisible_before_login", Skip::Never, || {
        let hsm = Hsm::load();
        let slot = hsm.token();
        let session = hsm.user_session(slot);
        create_data(&session, "public", true, false);
        create_data(&session, "private", true, true);
        create_data(&session, "private session", false, true);
        create_data(&session, "public session", false, false);
        assert_eq!(find_labels(&session, &[]), ["private", "private session", "public", "public session"]);
        session.logout().expect("C_Logout");
        assert_eq!(find_labels(&session, &[]), ["public", "public session"]);
        assert_eq!(find_labels(&session, &[Attribute::Private(true)]), Vec::<String>::new());
        let other = hsm.ctx.open_ro_session(slot).expect("C_OpenSession");
        assert_eq!(find_labels(&other, &[]), ["public", "public session"]);
        // Without login, no private object can be created.
        assert_rv!(session.create_object(&data_template("nope", false, true)), UserNotLoggedIn);
        session.login(UserType::User, Some(&pin(USER_PIN))).expect("C_Login");
        // C_Logout destroyed the private session objects (PKCS#11 2.40, 5.6 C_Logout); the
        // private token object is back.
        assert_eq!(find_labels(&other, &[]), ["private", "public", "public session"]);
    });
}

#[test]
fn logout_invalidates_private_object_handles() {
    run("logout_invalidates_private_object_handles", Skip::Never, || {
        let hsm = Hsm::load();
        let slot = hsm.token();
        let session = hsm.user_session(slot);
        let private = create_data(&session, "private", true, true);
        let public = create_data(&session, "public", true, false);
        session.logout().expect("C_Logout");
        assert_rv!(session.get_attributes(private, &[AttributeType::Label]), ObjectHandleInvalid);
        session.login(UserType::User, Some(&pin(USER_PIN))).expect("C_Login");
        // "even if a user is later logged back into the token, those handles remain
        // invalid"
        assert_rv!(session.get_attributes(private, &[AttributeType::Label]), ObjectHandleInvalid);
        let found = session.find_objects(&[Attribute::Label(b"private".to_vec())]).expect("C_FindObjects");
        assert_eq!(found.len(), 1, "the private object is still on the token");
        assert_ne!(found[0], private, "the old handle was handed out again");
        // Public objects keep their handles.
        assert_eq!(bytes_attr(&session, public, AttributeType::Label), b"public");
    });
}

#[test]
fn session_objects_vanish_with_their_session() {
    run("session_objects_vanish_with_their_session", Skip::Never, || {
        let hsm = Hsm::load();
        let slot = hsm.token();
        let a = hsm.user_session(slot);
        let b = hsm.ctx.open_rw_session(slot).expect("C_OpenSession");
        let session_object = create_data(&a, "session object", false, false);
        let token_object = create_data(&a, "token object", true, false);
        // Handles are valid in every session of the application.
        assert_eq!(bytes_attr(&b, session_object, AttributeType::Label), b"session object");
        let found = b.find_objects(&[Attribute::Label(b"session object".to_vec())]).expect("C_FindObjects");
        assert_eq!(found, vec![session_object], "the same handle in another session");
        a.close().expect("C_CloseSession");
        assert_rv!(b.get_attributes(session_object, &[AttributeType::Label]), ObjectHandleInvalid);
        assert_eq!(find_labels(&b, &[]), ["token object"]);
        assert_eq!(bytes_attr(&b, token_object, AttributeType::Label), b"token object");
    });
}

#[test]
fn handles_are_stable_and_not_reused() {
    run("handles_are_stable_and_not_reused", Skip::Never, || {
        let hsm = Hsm::load();
        let slot = hsm.token();
        let a = hsm.user_session(slot);
        let first = create_data(&a, "first", true, false);
        let b = hsm.ctx.open_ro_session(slot).expect("C_OpenSession");
        let found = b.find_objects(&[Attribute::Label(b"first".to_vec())]).expect("C_FindObjects");
        assert_eq!(found, vec![first], "a token object has one handle in all sessions");
        a.destroy_object(first).expect("C_DestroyObject");
        let mut seen = vec![first.handle()];
        for i in 0..20 {
            let h = create_data(&a, &format!("object {i}"), i % 2 == 0, false);
            assert!(!seen.contains(&h.handle()), "handle {h} was handed out twice in one process");
            seen.push(h.handle());
            if i % 3 == 0 {
                a.destroy_object(h).expect("C_DestroyObject");
            }
        }
        assert!(!seen.contains(&0), "CK_INVALID_HANDLE (0) used for an object");
    });
}

#[test]
fn sensitive_and_extractable_are_one_way() {
    run("sensitive_and_extractable_are_one_way", Skip::Never, || {
        let hsm = Hsm::load();
        let slot = hsm.token();
        let session = hsm.user_session(slot);
        let key = keys::aes_key(&session, 32, SecretKeyOptions::SESSION_READABLE);
        assert!(!bool_attr(&session, key, AttributeType::AlwaysSensitive));
        assert!(!bool_attr(&session, key, AttributeType::NeverExtractable));
        session.update_attributes(key, &[Attribute::Sensitive(true)]).expect("CKA_SENSITIVE false -> true");
        assert_rv!(session.update_attributes(key, &[Attribute::Sensitive(false)]), AttributeReadOnly);
        session
            .update_attributes(key, &[Attribute::Extractable(false)])
            .expect("CKA_EXTRACTABLE true -> false");
        assert_rv!(session.update_attributes(key, &[Attribute::Extractable(true)]), AttributeReadOnly);
        assert!(bool_attr(&session, key, AttributeType::Sensitive));
        assert!(!bool_attr(&session, key, AttributeType::Extractable));
        // "Always" and "never" record the history: they stay false.
        assert!(!bool_attr(&session, key, AttributeType::AlwaysSensitive));
        assert!(!bool_attr(&session, key, AttributeType::NeverExtractable));
    });
}

#[test]
fn generated_keys_record_their_origin() {
    run("generated_keys_record_their_origin", Skip::Never, || {
        let hsm = Hsm::load();
        let slot = hsm.token();
        let session = hsm.user_session(slot);
        let raw = hsm.raw();
        let mech_of = |key: ObjectHandle| {
            let (rv, q) = query_one(&raw, &session, key, CKA_KEY_GEN_MECHANISM, 8);
            assert_ck!(rv, CKR_OK);
            CK_ULONG::from_ne_bytes(q.value().try_into().expect("a CK_ULONG"))
        };
        let aes = keys::aes_key(&session, 16, SecretKeyOptions::SESSION_SECRET);
        for ty in [
            AttributeType::Local,
            AttributeType::AlwaysSensitive,
            AttributeType::NeverExtractable,
            AttributeType::Sensitive,
        ] {
            assert!(bool_attr(&session, aes, ty), "generated AES key: {ty} is false");
        }
        assert_eq!(mech_of(aes), cryptoki_sys::CKM_AES_KEY_GEN);
        let (rv, _) = query_one(&raw, &session, aes, CKA_VALUE, 64);
        assert_ck!(rv, CKR_ATTRIBUTE_SENSITIVE);

        let (public, private) = keys::ec_pair(&session, false, "ec", &[]);
        assert!(bool_attr(&session, public, AttributeType::Local));
        assert_eq!(mech_of(public), cryptoki_sys::CKM_EC_KEY_PAIR_GEN);
        for ty in [AttributeType::Local, AttributeType::AlwaysSensitive, AttributeType::NeverExtractable] {
            assert!(bool_attr(&session, private, ty), "generated EC key: {ty} is false");
        }
        assert_eq!(mech_of(private), cryptoki_sys::CKM_EC_KEY_PAIR_GEN);
        assert_eq!(
            common::attr(&session, private, AttributeType::KeyType),
            Some(Attribute::KeyType(KeyType::EC))
        );
        // The private key carries the curve too.
        assert_eq!(bytes_attr(&session, private, AttributeType::EcParams), P256_PARAMS);
        // These attributes are the token's to set.
        for attr in [
            Attribute::Local(false),
            Attribute::AlwaysSensitive(false),
            Attribute::NeverExtractable(false),
            Attribute::KeyGenMechanism(MechanismType::AES_KEY_GEN),
        ] {
            let result = session.update_attributes(aes, core::slice::from_ref(&attr));
            assert!(
                common::is_rv(&result, cryptoki::error::RvError::AttributeReadOnly),
                "C_SetAttributeValue({attr:?}) on a generated key: {result:?}"
            );
        }
    });
}

#[test]
fn modifiable_false_prohibits_changes() {
    run("modifiable_false_prohibits_changes", Skip::Never, || {
        let hsm = Hsm::load();
        let slot = hsm.token();
        let session = hsm.user_session(slot);
        let mut template = data_template("frozen", true, false);
        template.push(Attribute::Modifiable(false));
        let frozen = session.create_object(&template).expect("C_CreateObject");
        assert!(!bool_attr(&session, frozen, AttributeType::Modifiable));
        assert_rv!(
            session.update_attributes(frozen, &[Attribute::Label(b"thawed".to_vec())]),
            ActionProhibited
        );
        assert_rv!(session.update_attributes(frozen, &[Attribute::Modifiable(true)]), ActionProhibited);
        assert_eq!(bytes_attr(&session, frozen, AttributeType::Label), b"frozen");
        // A non-modifiable object can still be destroyed.
        session.destroy_object(frozen).expect("C_DestroyObject of a non-modifiable object");
    });
}

#[test]
fn copyable_false_prohibits_copy() {
    run("copyable_false_prohibits_copy", Skip::Never, || {
        let hsm = Hsm::load();
        let slot = hsm.token();
        let session = hsm.user_session(slot);
        let original = create_data(&session, "original", false, false);
        // CKA_LABEL, CKA_TOKEN, CKA_PRIVATE and CKA_MODIFIABLE can change in a copy.
        let copy = session
            .copy_object(
                original,
                &[Attribute::Label(b"copy".to_vec()), Attribute::Token(true), Attribute::Modifiable(false)],
            )
            .expect("C_CopyObject");
        assert_ne!(copy, original);
        assert_eq!(bytes_attr(&session, copy, AttributeType::Label), b"copy");
        assert!(bool_attr(&session, copy, AttributeType::Token));
        assert!(!bool_attr(&session, copy, AttributeType::Modifiable));
        assert_eq!(bytes_attr(&session, copy, AttributeType::Value), b"value of original");
        assert_eq!(bytes_attr(&session, original, AttributeType::Label), b"original");
        assert!(bool_attr(&session, original, AttributeType::Modifiable));

        let mut template = data_template("uncopyable", false, false);
        template.push(Attribute::Copyable(false));
        let uncopyable = session.create_object(&template).expect("C_CreateObject");
        assert!(!bool_attr(&session, uncopyable, AttributeType::Copyable));
        assert_rv!(
            session.copy_object(uncopyable, &[Attribute::Label(b"copy 2".to_vec())]),
            ActionProhibited
        );
        assert_rv!(session.copy_object(uncopyable, &[]), ActionProhibited);
        // CKA_COPYABLE cannot go back to true.
        assert_rv!(session.update_attributes(uncopyable, &[Attribute::Copyable(true)]), AttributeReadOnly);
        // CKA_CLASS cannot change in a copy.
        assert_rv!(
            session.copy_object(original, &[Attribute::Class(ObjectClass::CERTIFICATE)]),
            AttributeReadOnly
        );
    });
}

#[test]
fn destroyable_false_prohibits_destroy() {
    run("destroyable_false_prohibits_destroy", Skip::Never, || {
        let hsm = Hsm::load();
        let slot = hsm.token();
        let session = hsm.user_session(slot);
        let mut template = data_template("permanent", false, false);
        template.push(Attribute::Destroyable(false));
        let permanent = session.create_object(&template).expect("C_CreateObject");
        assert!(!bool_attr(&session, permanent, AttributeType::Destroyable));
        assert_rv!(session.destroy_object(permanent), ActionProhibited);
        assert_eq!(bytes_attr(&session, permanent, AttributeType::Label), b"permanent");
    });
}

#[test]
fn unique_id_is_present_read_only_and_distinct() {
    run(
        "unique_id_is_present_read_only_and_distinct",
        Skip::OnSoftHsm("SoftHSM 2.6 does not implement CKA_UNIQUE_ID (PKCS#11 3.0, 4.4.1)"),
        || {
            let hsm = Hsm::load();
            let slot = hsm.token();
            let session = hsm.user_session(slot);
            let a = create_data(&session, "a", true, false);
            let b = create_data(&session, "b", false, false);
            let key = keys::aes_key(&session, 16, SecretKeyOptions::SESSION_SECRET);
            let copy = session.copy_object(a, &[]).expect("C_CopyObject");
            let ids: Vec<Vec<u8>> =
                [a, b, key, copy].iter().map(|h| bytes_attr(&session, *h, AttributeType::UniqueId)).collect();
            for (i, id) in ids.iter().enumerate() {
                assert!(!id.is_empty(), "empty CKA_UNIQUE_ID");
                assert!(!ids[..i].contains(id), "CKA_UNIQUE_ID {id:02x?} given to two objects");
            }
            assert_rv!(
                session.update_attributes(a, &[Attribute::UniqueId(b"mine".to_vec())]),
                AttributeReadOnly
            );
            let mut template = data_template("c", false, false);
            template.push(Attribute::UniqueId(b"mine".to_vec()));
            assert_rv!(session.create_object(&template), AttributeReadOnly);
            // Unchanged by the refused update, and found by it.
            assert_eq!(bytes_attr(&session, a, AttributeType::UniqueId), ids[0]);
            let found = session.find_objects(&[Attribute::UniqueId(ids[0].clone())]).expect("C_FindObjects");
            assert_eq!(found, vec![a]);
        },
    );
}

/// The `CK_RV` of the errors these tests expect from `cryptoki` calls.
fn rv_code(e: cryptoki::error::RvError) -> CK_RV {
    use cryptoki::error::RvError as E;
    match e {
        E::AttributeValueInvalid => cryptoki_sys::CKR_ATTRIBUTE_VALUE_INVALID,
        E::CurveNotSupported => cryptoki_sys::CKR_CURVE_NOT_SUPPORTED,
        E::DomainParamsInvalid => cryptoki_sys::CKR_DOMAIN_PARAMS_INVALID,
        E::TemplateIncomplete => cryptoki_sys::CKR_TEMPLATE_INCOMPLETE,
        E::TemplateInconsistent => cryptoki_sys::CKR_TEMPLATE_INCONSISTENT,
        E::KeySizeRange => cryptoki_sys::CKR_KEY_SIZE_RANGE,
        other => panic!("unexpected {other:?}"),
    }
}

/// A raw template entry whose value is `value`.
fn raw_attr<T>(type_: CK_ATTRIBUTE_TYPE, value: &mut T) -> CK_ATTRIBUTE {
    CK_ATTRIBUTE { type_, pValue: ptr::from_mut(value).cast(), ulValueLen: ulong(size_of::<T>()) }
}

fn raw_create(raw: &Raw, session: &Session, template: &mut [CK_ATTRIBUTE]) -> CK_RV {
    let mut object: CK_OBJECT_HANDLE = 0;
    // SAFETY: every template entry points to a live value of its stated length.
    unsafe {
        ck_fn!(raw, C_CreateObject)(
            session.handle(),
            template.as_mut_ptr(),
            ulong(template.len()),
            &raw mut object,
        )
    }
}

#[test]
fn undefined_attribute_types_are_attribute_type_invalid() {
    run("undefined_attribute_types_are_attribute_type_invalid", Skip::Never, || {
        let hsm = Hsm::load();
        let slot = hsm.token();
        let session = hsm.user_session(slot);
        let raw = hsm.raw();
        let mut class: CK_OBJECT_CLASS = CKO_DATA;
        let mut no: CK_BBOOL = 0;
        let mut one_byte: u8 = 1;
        let mut template = [
            raw_attr(CKA_CLASS, &mut class),
            raw_attr(CKA_TOKEN, &mut no),
            raw_attr(UNDEFINED_ATTRIBUTE, &mut one_byte),
        ];
        assert_ck!(raw_create(&raw, &session, &mut template), CKR_ATTRIBUTE_TYPE_INVALID);
        // A vendor-defined type this module does not define.
        let vendor = AttributeType::VendorDefined(cryptoki_sys::CKA_VENDOR_DEFINED | 0x0a1b_2c3d);
        let mut template = data_template("vendor", false, false);
        template.push(Attribute::VendorDefined((vendor, vec![1])));
        assert_rv!(session.create_object(&template), AttributeTypeInvalid);
        // C_SetAttributeValue with an undefined type.
        let object = create_data(&session, "target", false, false);
        let mut template = [raw_attr(UNDEFINED_ATTRIBUTE, &mut one_byte)];
        // SAFETY: the template entry points to a live byte.
        let rv = unsafe {
            ck_fn!(raw, C_SetAttributeValue)(session.handle(), object.handle(), template.as_mut_ptr(), 1)
        };
        assert_ck!(rv, CKR_ATTRIBUTE_TYPE_INVALID);
        // An attribute the class does not have (CKA_VALUE_LEN on a data object).
        assert_rv!(session.update_attributes(object, &[Attribute::ValueLen(4.into())]), AttributeTypeInvalid);
    });
}

#[test]
fn malformed_values_are_attribute_value_invalid() {
    run(
        "malformed_values_are_attribute_value_invalid",
        Skip::OnSoftHsm(
            "SoftHSM answers a 3-byte CKA_CLASS with CKR_TEMPLATE_INCOMPLETE and accepts \
             17-byte AES keys, EC points off the curve and unknown curves",
        ),
        || {
            let hsm = Hsm::load();
            let slot = hsm.token();
            let session = hsm.user_session(slot);
            let raw = hsm.raw();
            let mut wrong = Vec::new();
            let mut expect = |what: &str, rv: CK_RV, allowed: &[CK_RV]| {
                if !allowed.contains(&rv) {
                    wrong.push(format!("{what}: {}", common::raw::rv_name(rv)));
                }
            };
            let value_invalid = [cryptoki_sys::CKR_ATTRIBUTE_VALUE_INVALID];
            let mut class: CK_OBJECT_CLASS = CKO_DATA;

            let mut short_class = [0u8; 3];
            let mut template =
                [CK_ATTRIBUTE { type_: CKA_CLASS, pValue: short_class.as_mut_ptr().cast(), ulValueLen: 3 }];
            let rv = raw_create(&raw, &session, &mut template);
            expect("a CK_OBJECT_CLASS of 3 bytes", rv, &value_invalid);

            let mut unknown_class: CK_OBJECT_CLASS = 0x0000_0777;
            let mut template = [raw_attr(CKA_CLASS, &mut unknown_class)];
            let rv = raw_create(&raw, &session, &mut template);
            expect("an undefined object class", rv, &value_invalid);

            let mut wide_bool: u64 = 0;
            let mut template = [raw_attr(CKA_CLASS, &mut class), raw_attr(CKA_TOKEN, &mut wide_bool)];
            let rv = raw_create(&raw, &session, &mut template);
            expect("a CK_BBOOL of 8 bytes", rv, &value_invalid);

            let mut template = [
                raw_attr(CKA_CLASS, &mut class),
                CK_ATTRIBUTE { type_: CKA_LABEL, pValue: ptr::null_mut(), ulValueLen: 5 },
            ];
            let rv = raw_create(&raw, &session, &mut template);
            expect(
                "a NULL value of length 5",
                rv,
                &[cryptoki_sys::CKR_ARGUMENTS_BAD, cryptoki_sys::CKR_ATTRIBUTE_VALUE_INVALID],
            );

            let rv_of = |result: cryptoki::error::Result<ObjectHandle>| match result {
                Ok(_) => cryptoki_sys::CKR_OK,
                Err(cryptoki::error::Error::Pkcs11(e, _)) => rv_code(e),
                Err(e) => panic!("{e}"),
            };
            let rv = rv_of(session.create_object(&[
                Attribute::Class(ObjectClass::SECRET_KEY),
                Attribute::KeyType(KeyType::AES),
                Attribute::Token(false),
                Attribute::Value(vec![0x42; 17]),
            ]));
            expect("an AES key of 17 bytes", rv, &value_invalid);

            let signing = SigningKey::from_slice(&[0x17; 32]).expect("a valid P-256 scalar");
            let mut bad_point = keys::ec_point_der(signing.verifying_key());
            bad_point[10] ^= 1;
            let rv = rv_of(session.create_object(&[
                Attribute::Class(ObjectClass::PUBLIC_KEY),
                Attribute::KeyType(KeyType::EC),
                Attribute::Token(false),
                Attribute::EcParams(P256_PARAMS.to_vec()),
                Attribute::EcPoint(bad_point),
            ]));
            expect("a P-256 point off the curve", rv, &value_invalid);

            let rv = rv_of(session.create_object(&[
                Attribute::Class(ObjectClass::PUBLIC_KEY),
                Attribute::KeyType(KeyType::EC),
                Attribute::Token(false),
                Attribute::EcParams(vec![0x06, 0x03, 0x2a, 0x03, 0x04]),
                Attribute::EcPoint(keys::ec_point_der(signing.verifying_key())),
            ]));
            expect(
                "an unknown curve",
                rv,
                &[
                    cryptoki_sys::CKR_ATTRIBUTE_VALUE_INVALID,
                    cryptoki_sys::CKR_CURVE_NOT_SUPPORTED,
                    cryptoki_sys::CKR_DOMAIN_PARAMS_INVALID,
                ],
            );
            assert!(
                wrong.is_empty(),
                "expected CKR_ATTRIBUTE_VALUE_INVALID for each of:\n  {}",
                wrong.join("\n  ")
            );
        },
    );
}

#[test]
fn get_attribute_value_conventions() {
    run("get_attribute_value_conventions", Skip::Never, || {
        let hsm = Hsm::load();
        let slot = hsm.token();
        let session = hsm.user_session(slot);
        let raw = hsm.raw();
        let key = keys::aes_key(&session, 32, SecretKeyOptions::SESSION_SECRET);
        let (s, k) = (session.handle(), key.handle());

        // Length query: pValue NULL.
        let mut q = [AttrQuery::len_of(CKA_LABEL)];
        assert_ck!(raw.get_attribute_value(s, k, &mut q), CKR_OK);
        assert_eq!(q[0].len, ulong(b"aes key".len()), "length query of CKA_LABEL");

        // A buffer too small: CKR_BUFFER_TOO_SMALL, that attribute unavailable, the others
        // still processed.
        let mut q = [AttrQuery::with_buf(CKA_LABEL, 3), AttrQuery::with_buf(CKA_VALUE_LEN, 8)];
        assert_ck!(raw.get_attribute_value(s, k, &mut q), CKR_BUFFER_TOO_SMALL);
        assert_eq!(q[0].len, CK_UNAVAILABLE_INFORMATION, "too small: ulValueLen");
        assert_eq!(q[1].len, 8);
        assert_eq!(q[1].value(), 32u64.to_ne_bytes(), "CKA_VALUE_LEN still filled");

        // A larger buffer: ulValueLen is the value's length.
        let mut q = [AttrQuery::with_buf(CKA_LABEL, 64)];
        assert_ck!(raw.get_attribute_value(s, k, &mut q), CKR_OK);
        assert_eq!(q[0].value(), b"aes key");

        // Sensitive + undefined + valid: each bad one unavailable, the valid one filled, and
        // the call returns one of the two errors.
        let mut q = [
            AttrQuery::with_buf(CKA_VALUE, 32),
            AttrQuery::with_buf(UNDEFINED_ATTRIBUTE, 8),
            AttrQuery::with_buf(CKA_LABEL, 16),
            AttrQuery::len_of(CKA_VALUE),
        ];
        let rv = raw.get_attribute_value(s, k, &mut q);
        assert!(
            rv == cryptoki_sys::CKR_ATTRIBUTE_SENSITIVE || rv == cryptoki_sys::CKR_ATTRIBUTE_TYPE_INVALID,
            "sensitive + invalid + valid: {}",
            common::raw::rv_name(rv)
        );
        assert_eq!(q[0].len, CK_UNAVAILABLE_INFORMATION, "sensitive CKA_VALUE");
        assert_eq!(q[1].len, CK_UNAVAILABLE_INFORMATION, "undefined attribute type");
        assert_eq!(q[2].value(), b"aes key", "the valid attribute is filled");
        assert_eq!(q[3].len, CK_UNAVAILABLE_INFORMATION, "length query of a sensitive attribute");

        // An attribute that the class does not have.
        let (rv, q) = query_one(&raw, &session, key, cryptoki_sys::CKA_EC_POINT, 80);
        assert_ck!(rv, CKR_ATTRIBUTE_TYPE_INVALID);
        assert_eq!(q.len, CK_UNAVAILABLE_INFORMATION);
    });
}

#[test]
fn find_objects_by_class_label_and_id() {
    run("find_objects_by_class_label_and_id", Skip::Never, || {
        let hsm = Hsm::load();
        let slot = hsm.token();
        let session = hsm.user_session(slot);
        for i in 0..12 {
            create_data(&session, &format!("data {i:02}"), i % 2 == 0, false);
        }
        let mut keys_by_id = Vec::new();
        for i in 0u8..5 {
            let key = session
                .generate_key(
                    &Mechanism::AesKeyGen,
                    &[
                        Attribute::Token(i % 2 == 1),
                        Attribute::ValueLen(16.into()),
                        Attribute::Label(format!("key {i}").into_bytes()),
                        Attribute::Id(vec![0xa0, i]),
                    ],
                )
                .expect("C_GenerateKey");
            keys_by_id.push(key);
        }
        let count = |template: &[Attribute]| session.find_objects(template).expect("C_FindObjects");
        assert_eq!(count(&[]).len(), 17, "an empty template finds every object");
        assert_eq!(count(&[Attribute::Class(ObjectClass::DATA)]).len(), 12);
        assert_eq!(count(&[Attribute::Class(ObjectClass::SECRET_KEY)]).len(), 5);
        assert_eq!(
            count(&[
                Attribute::Class(ObjectClass::SECRET_KEY),
                Attribute::KeyType(KeyType::AES),
                Attribute::Token(true),
            ])
            .len(),
            2
        );
        assert_eq!(count(&[Attribute::Label(b"data 07".to_vec())]).len(), 1, "by label");
        assert_eq!(count(&[Attribute::Id(vec![0xa0, 3])]), vec![keys_by_id[3]], "by id");
        assert_eq!(
            count(&[
                Attribute::Class(ObjectClass::SECRET_KEY),
                Attribute::Id(vec![0xa0, 3]),
                Attribute::Label(b"key 3".to_vec()),
            ]),
            vec![keys_by_id[3]]
        );
        assert!(count(&[Attribute::Label(b"no such label".to_vec())]).is_empty());
        // A class with no objects, and an attribute value no object has.
        assert!(count(&[Attribute::Class(ObjectClass::CERTIFICATE)]).is_empty());
        assert!(count(&[Attribute::Class(ObjectClass::DATA), Attribute::Id(vec![0xa0, 3])]).is_empty());

        // The find-operation state machine, through the raw ABI.
        let raw = hsm.raw();
        let s = session.handle();
        let mut found = [0 as CK_OBJECT_HANDLE; 4];
        let mut n: CK_ULONG = 0;
        // SAFETY: `found` has room for 4 handles; `n` is a valid out pointer.
        unsafe {
            assert_ck!(
                ck_fn!(raw, C_FindObjects)(s, found.as_mut_ptr(), 4, &raw mut n),
                CKR_OPERATION_NOT_INITIALIZED
            );
            assert_ck!(ck_fn!(raw, C_FindObjectsFinal)(s), CKR_OPERATION_NOT_INITIALIZED);
            assert_ck!(ck_fn!(raw, C_FindObjectsInit)(s, ptr::null_mut(), 0), CKR_OK);
            assert_ck!(ck_fn!(raw, C_FindObjectsInit)(s, ptr::null_mut(), 0), CKR_OPERATION_ACTIVE);
            let mut total = 0;
            loop {
                assert_ck!(ck_fn!(raw, C_FindObjects)(s, found.as_mut_ptr(), 4, &raw mut n), CKR_OK);
                assert!(n <= 4, "C_FindObjects returned more than asked for");
                if n == 0 {
                    break;
                }
                total += n;
            }
            assert_eq!(total, 17, "paging through C_FindObjects 4 at a time");
            assert_ck!(ck_fn!(raw, C_FindObjectsFinal)(s), CKR_OK);
        }
    });
}

#[test]
fn object_size_is_reported() {
    run("object_size_is_reported", Skip::Never, || {
        let hsm = Hsm::load();
        let slot = hsm.token();
        let session = hsm.user_session(slot);
        let raw = hsm.raw();
        let object = create_data(&session, "sized", true, false);
        let mut size: CK_ULONG = 0;
        // SAFETY: `size` is a valid out pointer.
        let rv = unsafe { ck_fn!(raw, C_GetObjectSize)(session.handle(), object.handle(), &raw mut size) };
        assert_ck!(rv, CKR_OK);
        assert!(size == CK_UNAVAILABLE_INFORMATION || size > 0, "C_GetObjectSize gave 0");
        // SAFETY: NULL is the bad argument under test.
        let rv = unsafe { ck_fn!(raw, C_GetObjectSize)(session.handle(), object.handle(), ptr::null_mut()) };
        assert_ck!(rv, CKR_ARGUMENTS_BAD);
        // SAFETY: `size` is a valid out pointer.
        let rv = unsafe { ck_fn!(raw, C_GetObjectSize)(session.handle(), 0x0bad, &raw mut size) };
        assert_ck!(rv, CKR_OBJECT_HANDLE_INVALID);
    });
}
