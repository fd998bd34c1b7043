//! Many threads, each with its own sessions, using the module at once: every call must succeed
//! and every result must be right.

mod common;

use std::thread;

use cryptoki::context::Pkcs11;
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, AttributeType, ObjectClass, ObjectHandle};
use cryptoki::slot::Slot;
use hmac::{KeyInit as _, Mac as _};
use p256::ecdsa::signature::hazmat::PrehashVerifier as _;
use p256::ecdsa::{Signature, VerifyingKey};
use sha2::Digest as _;

use common::keys::{self, SecretKeyOptions};
use common::{Hsm, Skip, bytes_attr, run};

const THREADS: usize = 8;
const ROUNDS: usize = 25;

/// What every thread needs: the shared keys and their reference material.
#[derive(Debug, Clone)]
struct Shared {
    ctx: Pkcs11,
    slot: Slot,
    hmac: ObjectHandle,
    hmac_value: Vec<u8>,
    ec_private: ObjectHandle,
    ec_public: ObjectHandle,
    verifying: VerifyingKey,
}

fn worker(shared: &Shared, id: usize, token_objects: bool) -> Result<(), String> {
    let err = |what: &str, round: usize, e: &dyn core::fmt::Display| {
        format!("thread {id}, round {round}: {what}: {e}")
    };
    // Sessions of their own: a read-only one for crypto, a read-write one for objects.
    let ro = shared.ctx.open_ro_session(shared.slot).map_err(|e| err("C_OpenSession(R/O)", 0, &e))?;
    let rw = shared.ctx.open_rw_session(shared.slot).map_err(|e| err("C_OpenSession(R/W)", 0, &e))?;
    for round in 0..ROUNDS {
        let data: Vec<u8> =
            (0..(100 + id * 37 + round * 11)).map(|i| (i ^ id ^ round).to_le_bytes()[0]).collect();
        // Digest.
        let digest = ro.digest(&Mechanism::Sha256, &data).map_err(|e| err("C_Digest", round, &e))?;
        if digest != sha2::Sha256::digest(&data).to_vec() {
            return Err(format!("thread {id}, round {round}: wrong SHA-256"));
        }
        // HMAC.
        let mac = ro
            .sign(&Mechanism::Sha256Hmac, shared.hmac, &data)
            .map_err(|e| err("C_Sign(HMAC)", round, &e))?;
        let mut want = hmac::Hmac::<sha2::Sha256>::new_from_slice(&shared.hmac_value)
            .map_err(|e| err("reference HMAC key", round, &e))?;
        want.update(&data);
        if mac != want.finalize().into_bytes().to_vec() {
            return Err(format!("thread {id}, round {round}: wrong HMAC"));
        }
        // ECDSA, verified outside and inside the token.
        let sig = ro
            .sign(&Mechanism::Ecdsa, shared.ec_private, &digest)
            .map_err(|e| err("C_Sign(ECDSA)", round, &e))?;
        let parsed = Signature::from_slice(&sig).map_err(|e| err("parse signature", round, &e))?;
        shared.verifying.verify_prehash(&digest, &parsed).map_err(|e| err("p256 verification", round, &e))?;
        ro.verify(&Mechanism::Ecdsa, shared.ec_public, &digest, &sig)
            .map_err(|e| err("C_Verify(ECDSA)", round, &e))?;
        // Random.
        let random = ro.generate_random_vec(32).map_err(|e| err("C_GenerateRandom", round, &e))?;
        if random.len() != 32 {
            return Err(format!("thread {id}, round {round}: short random"));
        }
        // Objects: create, find, read, destroy.
        let label = format!("thread {id} round {round}");
        let object = rw
            .create_object(&[
                Attribute::Class(ObjectClass::DATA),
                Attribute::Token(token_objects && round % 2 == 0),
                Attribute::Label(label.clone().into_bytes()),
                Attribute::Value(data.clone()),
            ])
            .map_err(|e| err("C_CreateObject", round, &e))?;
        let found = ro
            .find_objects(&[Attribute::Label(label.clone().into_bytes())])
            .map_err(|e| err("C_FindObjects", round, &e))?;
        if found != vec![object] {
            return Err(format!("thread {id}, round {round}: found {found:?} for {object}"));
        }
        let value = ro
            .get_attributes(object, &[AttributeType::Value])
            .map_err(|e| err("C_GetAttributeValue", round, &e))?;
        if value != vec![Attribute::Value(data)] {
            return Err(format!("thread {id}, round {round}: wrong CKA_VALUE"));
        }
        rw.destroy_object(object).map_err(|e| err("C_DestroyObject", round, &e))?;
        // A short-lived session of its own.
        let extra = shared.ctx.open_ro_session(shared.slot).map_err(|e| err("C_OpenSession", round, &e))?;
        extra.close().map_err(|e| err("C_CloseSession", round, &e))?;
    }
    Ok(())
}

/// Runs [`worker`] on [`THREADS`] threads at once and checks that none failed.
fn run_workers(token_objects: bool) {
    let hsm = Hsm::load();
    let slot = hsm.token();
    // This session stays open (and logged in) while the threads run: the keys are its
    // session objects, usable from every session of the application.
    let main = hsm.user_session(slot);
    let hmac = keys::hmac_key(&main, 32, SecretKeyOptions::SESSION_READABLE);
    let (ec_public, ec_private) = keys::ec_pair(&main, false, "threads", &[]);
    let shared = Shared {
        ctx: hsm.ctx.clone(),
        slot,
        hmac,
        hmac_value: bytes_attr(&main, hmac, AttributeType::Value),
        ec_private,
        ec_public,
        verifying: keys::verifying_key(&main, ec_public),
    };
    let results: Vec<Result<(), String>> = thread::scope(|scope| {
        let handles: Vec<_> = (0..THREADS)
            .map(|id| {
                let shared = &shared;
                scope.spawn(move || worker(shared, id, token_objects))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap_or_else(|_| Err("a thread panicked".into()))).collect()
    });
    let failures: Vec<String> = results.into_iter().filter_map(Result::err).collect();
    assert!(
        failures.is_empty(),
        "{} of {THREADS} threads failed:\n  {}",
        failures.len(),
        failures.join("\n  ")
    );
    // Every object the threads made is gone again, and the module still works.
    let left = main.find_objects(&[Attribute::Class(ObjectClass::DATA)]).expect("C_FindObjects");
    assert_eq!(left, vec![], "objects left behind by the threads");
    main.logout().expect("C_Logout");
}

#[test]
fn many_threads_sign_digest_and_manage_objects() {
    run("many_threads_sign_digest_and_manage_objects", Skip::Never, || run_workers(false));
}

#[test]
fn many_threads_create_token_objects() {
    run(
        "many_threads_create_token_objects",
        Skip::OnSoftHsm(
            "SoftHSM's file store fails when several threads create token objects at once \
             (CKR_GENERAL_ERROR, CKR_TEMPLATE_INCONSISTENT, or the new object not found)",
        ),
        || run_workers(true),
    );
}

#[test]
fn threads_log_in_and_out_together() {
    run("threads_log_in_and_out_together", Skip::Never, || {
        let hsm = Hsm::load();
        let slot = hsm.token();
        let user_pin = common::pin(common::USER_PIN);
        // Logging in is per application: of many threads racing to log in, exactly one wins
        // and the others see CKR_USER_ALREADY_LOGGED_IN.
        let outcomes: Vec<Result<(), cryptoki::error::Error>> = thread::scope(|scope| {
            let handles: Vec<_> = (0..THREADS)
                .map(|_| {
                    let ctx = hsm.ctx.clone();
                    let user_pin = &user_pin;
                    scope.spawn(move || {
                        let session = ctx.open_ro_session(slot)?;
                        let result = session.login(cryptoki::session::UserType::User, Some(user_pin));
                        // Keep the session open so the login stays.
                        core::mem::forget(session);
                        result
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().expect("a login thread panicked")).collect()
        });
        let won = outcomes.iter().filter(|r| r.is_ok()).count();
        let already = outcomes
            .iter()
            .filter(|r| common::is_rv(r, cryptoki::error::RvError::UserAlreadyLoggedIn))
            .count();
        assert_eq!((won, already), (1, THREADS - 1), "racing logins: {outcomes:?}");
    });
}
