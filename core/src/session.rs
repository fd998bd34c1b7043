//! Sessions and the operations running in them.

use alloc::vec::Vec;

use crate::consts::{SessionState, UserType};
use crate::mechanism::digest::Hasher;
use crate::mechanism::{Cipher, Signer};

/// A running signature operation.
pub type SignOp = alloc::boxed::Box<dyn Signer>;
/// A running cipher operation.
pub type CryptOp = alloc::boxed::Box<dyn Cipher>;

/// An operation in progress, with the call-sequence facts PKCS#11 rules depend on.
#[derive(Debug)]
pub struct Running<T> {
    /// The algorithm state.
    pub op: T,
    /// An `*Update` call was made: one-call forms are now refused.
    pub multi: bool,
    /// The key has `CKA_ALWAYS_AUTHENTICATE`: a `CKU_CONTEXT_SPECIFIC` login is pending.
    pub needs_auth: bool,
}

impl<T> Running<T> {
    /// A fresh operation.
    pub fn new(op: T, needs_auth: bool) -> Self {
        Self { op, multi: false, needs_auth }
    }
}

/// One session of the application.
#[derive(Debug)]
pub struct Session {
    /// The slot (token) it is on.
    pub slot: u64,
    /// Opened with `CKF_RW_SESSION`.
    pub rw: bool,
    /// Results of `C_FindObjectsInit` not yet returned.
    pub find: Option<Vec<u64>>,
    /// `C_Digest*`.
    pub digest: Option<Running<Hasher>>,
    /// `C_Sign*`.
    pub sign: Option<Running<SignOp>>,
    /// `C_Verify*`.
    pub verify: Option<Running<SignOp>>,
    /// `C_Encrypt*`.
    pub encrypt: Option<Running<CryptOp>>,
    /// `C_Decrypt*`.
    pub decrypt: Option<Running<CryptOp>>,
    /// `C_SignRecover*`.
    pub sign_recover: Option<Running<RecoverOp>>,
    /// `C_VerifyRecover*`.
    pub verify_recover: Option<Running<RecoverOp>>,
}

/// A pending sign- or verify-with-recovery: single-part, so it keeps its inputs.
#[derive(Debug)]
pub struct RecoverOp {
    /// The mechanism.
    pub mech: crate::info::Mechanism,
    /// A copy of the key object.
    pub key: crate::object::Object,
    /// Its implementation.
    pub family: &'static dyn crate::mechanism::Family,
}

impl Session {
    /// A new session with nothing running.
    pub fn new(slot: u64, rw: bool) -> Self {
        Self {
            slot,
            rw,
            find: None,
            digest: None,
            sign: None,
            verify: None,
            encrypt: None,
            decrypt: None,
            sign_recover: None,
            verify_recover: None,
        }
    }

    /// The `CKS_*` state, given who is logged in to the token.
    pub fn state(&self, login: Option<UserType>) -> SessionState {
        match (login, self.rw) {
            (Some(UserType::SO), _) => SessionState::RW_SO_FUNCTIONS,
            (Some(_), true) => SessionState::RW_USER_FUNCTIONS,
            (Some(_), false) => SessionState::RO_USER_FUNCTIONS,
            (None, true) => SessionState::RW_PUBLIC_SESSION,
            (None, false) => SessionState::RO_PUBLIC_SESSION,
        }
    }

    /// True if an operation with a `CKA_ALWAYS_AUTHENTICATE` key awaits its context login.
    pub fn awaiting_context_login(&self) -> bool {
        self.sign.as_ref().is_some_and(|r| r.needs_auth)
            || self.decrypt.as_ref().is_some_and(|r| r.needs_auth)
    }

    /// Mark the pending context login as done.
    pub fn context_login_done(&mut self) {
        if let Some(r) = self.sign.as_mut() {
            r.needs_auth = false;
        }
        if let Some(r) = self.decrypt.as_mut() {
            r.needs_auth = false;
        }
    }
}
