//! Cryptographic operations: digest, sign, verify, encrypt, decrypt. The call rules live
//! here, once, in four generic steps (init, update, finish, verify); the algorithm state
//! machines are in [`crate::mechanism::ops`].

use alloc::vec::Vec;

use super::Engine;
use crate::attribute::AttrValue;
use crate::consts::flags::{CKF_DECRYPT, CKF_DIGEST, CKF_ENCRYPT, CKF_SIGN, CKF_VERIFY};
use crate::consts::{AttrType, ObjectClass};
use crate::info::{MechParam, Mechanism, OutBuf, Output};
use crate::mechanism::digest::{DigestAlg, Hasher};
use crate::mechanism::{self, Family};
use crate::object::Object;
use crate::rng::Rng;
use crate::session::{CryptOp, Running, Session, SignOp};
use crate::{Error, Result};

/// Which operation slot of a session a step works on.
pub(super) type Field<T> = fn(&mut Session) -> &mut Option<Running<T>>;

fn digest_f(s: &mut Session) -> &mut Option<Running<Hasher>> {
    &mut s.digest
}
fn sign_f(s: &mut Session) -> &mut Option<Running<SignOp>> {
    &mut s.sign
}
fn verify_f(s: &mut Session) -> &mut Option<Running<SignOp>> {
    &mut s.verify
}
fn encrypt_f(s: &mut Session) -> &mut Option<Running<CryptOp>> {
    &mut s.encrypt
}
fn decrypt_f(s: &mut Session) -> &mut Option<Running<CryptOp>> {
    &mut s.decrypt
}

impl Engine {
    /// Check a mechanism and key for an operation: the mechanism supports it, the key is
    /// visible, permits it (`usage`) and allows the mechanism (`CKA_ALLOWED_MECHANISMS`).
    pub(super) fn key_for(
        &mut self,
        s: u64,
        mech: &Mechanism,
        key: u64,
        flag: u64,
        usage: AttrType,
    ) -> Result<(Object, &'static dyn Family)> {
        let (obj, family) = self.key_ref(s, mech, key, flag, usage)?;
        Ok((obj.clone(), family))
    }

    /// [`Engine::key_for`] without the copy of the key object, for the init steps of the
    /// hot path (an object clone is most of a short HMAC's cost).
    pub(super) fn key_ref(
        &mut self,
        s: u64,
        mech: &Mechanism,
        key: u64,
        flag: u64,
        usage: AttrType,
    ) -> Result<(&Object, &'static dyn Family)> {
        let slot = self.session_slot(s)?;
        let entry = mechanism::lookup(mech.ty).ok_or(Error::MechanismInvalid)?;
        if entry.info.flags & flag == 0 {
            return Err(Error::MechanismInvalid);
        }
        let (id, obj, token) = self.visible(slot, key, Error::KeyHandleInvalid)?;
        if !obj.flag(usage) {
            return Err(Error::KeyFunctionNotPermitted);
        }
        token.ensure_unsealed(id)?;
        if let Some(AttrValue::MechanismList(allowed)) = obj.get(AttrType::ALLOWED_MECHANISMS) {
            if !allowed.is_empty() && !allowed.contains(&mech.ty) {
                return Err(Error::MechanismInvalid);
            }
        }
        Ok((obj, entry.family))
    }

    pub(super) fn start<T>(&mut self, s: u64, field: Field<T>, run: Running<T>) -> Result<()> {
        let slot = field(self.session_mut(s)?);
        if slot.is_some() {
            return Err(Error::OperationActive);
        }
        *slot = Some(run);
        Ok(())
    }

    pub(super) fn ensure_idle<T>(&mut self, s: u64, field: Field<T>) -> Result<()> {
        if field(self.session_mut(s)?).is_some() { Err(Error::OperationActive) } else { Ok(()) }
    }

    /// An `*Update` step: an error ends the operation.
    fn update_step<T>(
        &mut self,
        s: u64,
        field: Field<T>,
        f: impl FnOnce(&mut T) -> Result<()>,
    ) -> Result<()> {
        let slot = field(self.session_mut(s)?);
        let run = slot.as_mut().ok_or(Error::OperationNotInitialized)?;
        if run.needs_auth {
            return Err(Error::UserNotLoggedIn);
        }
        run.multi = true;
        let r = f(&mut run.op);
        if r.is_err() {
            *slot = None;
        }
        r
    }

    /// A step that produces output and ends the operation: the length-query and
    /// `CKR_BUFFER_TOO_SMALL` convention, implemented once. `compute` does not consume the
    /// state, so a short buffer leaves the operation as it was.
    pub(super) fn finish_step<T>(
        &mut self,
        s: u64,
        field: Field<T>,
        one_call: bool,
        out: OutBuf,
        max_len: impl FnOnce(&T) -> usize,
        compute: impl FnOnce(&T, &mut dyn Rng) -> Result<Vec<u8>>,
    ) -> Result<Output> {
        let rng = self.rng.as_mut();
        let slot = field(self.sessions.get_mut(&s).ok_or(Error::SessionHandleInvalid)?);
        let run = slot.as_ref().ok_or(Error::OperationNotInitialized)?;
        if one_call && run.multi {
            return Err(Error::OperationActive);
        }
        if run.needs_auth {
            return Err(Error::UserNotLoggedIn);
        }
        if out == OutBuf::Query {
            return Ok(Output::Length(max_len(&run.op)));
        }
        match compute(&run.op, rng) {
            Err(e) => {
                *slot = None;
                Err(e)
            }
            Ok(v) => match out {
                OutBuf::Capacity(n) if v.len() > n => Ok(Output::Length(v.len())),
                _ => {
                    *slot = None;
                    Ok(Output::Data(v))
                }
            },
        }
    }

    /// A verification step: it always ends the operation.
    fn verify_step(
        &mut self,
        s: u64,
        one_call: bool,
        check: impl FnOnce(&SignOp) -> Result<()>,
    ) -> Result<()> {
        let slot = verify_f(self.session_mut(s)?);
        let run = slot.as_ref().ok_or(Error::OperationNotInitialized)?;
        if one_call && run.multi {
            return Err(Error::OperationActive);
        }
        let r = check(&run.op);
        *slot = None;
        r
    }

    // ---- digest ----

    /// `C_DigestInit`.
    ///
    /// # Errors
    /// `OperationActive`, `MechanismInvalid`, `MechanismParamInvalid`.
    pub fn digest_init(&mut self, s: u64, mech: &Mechanism) -> Result<()> {
        self.session(s)?;
        self.ensure_idle(s, digest_f)?;
        let alg = DigestAlg::from_mechanism(mech.ty).ok_or(Error::MechanismInvalid)?;
        let digest_capable = mechanism::lookup(mech.ty).is_some_and(|e| e.info.flags & CKF_DIGEST != 0);
        if !digest_capable {
            return Err(Error::MechanismInvalid);
        }
        if mech.param != MechParam::None {
            return Err(Error::MechanismParamInvalid);
        }
        self.start(s, digest_f, Running::new(Hasher::new(alg), false))
    }

    /// `C_Digest`.
    ///
    /// # Errors
    /// `OperationNotInitialized`, `OperationActive` (after `C_DigestUpdate`).
    pub fn digest(&mut self, s: u64, data: &[u8], out: OutBuf) -> Result<Output> {
        self.finish_step(
            s,
            digest_f,
            true,
            out,
            |h| h.alg().output_len(),
            |h, _| {
                let mut h = h.clone();
                h.update(data);
                Ok(h.finish())
            },
        )
    }

    /// `C_DigestUpdate`.
    ///
    /// # Errors
    /// `OperationNotInitialized`.
    pub fn digest_update(&mut self, s: u64, data: &[u8]) -> Result<()> {
        self.update_step(s, digest_f, |h| {
            h.update(data);
            Ok(())
        })
    }

    /// `C_DigestKey`: feed a secret key's value.
    ///
    /// # Errors
    /// `OperationNotInitialized`, `KeyHandleInvalid`, `KeyIndigestible` (not a secret key).
    pub fn digest_key(&mut self, s: u64, key: u64) -> Result<()> {
        self.session_slot(s)?;
        if self.session_mut(s)?.digest.is_none() {
            return Err(Error::OperationNotInitialized);
        }
        let (slot, id) = self.resolve(s, key, Error::KeyHandleInvalid)?;
        self.ensure_unsealed(slot, id)?;
        let obj = self.object(slot, id)?;
        if obj.class() != ObjectClass::SECRET_KEY {
            return Err(Error::KeyIndigestible);
        }
        let value =
            crate::secret::SecretBytes::from_slice(obj.bytes(AttrType::VALUE).ok_or(Error::KeyIndigestible)?);
        self.update_step(s, digest_f, |h| {
            h.update(value.expose());
            Ok(())
        })
    }

    /// `C_DigestFinal`.
    ///
    /// # Errors
    /// `OperationNotInitialized`.
    pub fn digest_final(&mut self, s: u64, out: OutBuf) -> Result<Output> {
        self.finish_step(s, digest_f, false, out, |h| h.alg().output_len(), |h, _| Ok(h.finish()))
    }

    // ---- sign and verify ----

    /// `C_SignInit`.
    ///
    /// # Errors
    /// `OperationActive`, `MechanismInvalid`, `MechanismParamInvalid`, `KeyHandleInvalid`,
    /// `KeyFunctionNotPermitted`, `KeyTypeInconsistent`.
    pub fn sign_init(&mut self, s: u64, mech: &Mechanism, key: u64) -> Result<()> {
        self.ensure_idle(s, sign_f)?;
        let (obj, family) = self.key_ref(s, mech, key, CKF_SIGN, AttrType::SIGN)?;
        let auth = obj.flag(AttrType::ALWAYS_AUTHENTICATE);
        let op = family.signer(mech, obj, false)?;
        self.start(s, sign_f, Running::new(op, auth))
    }

    /// `C_Sign`.
    ///
    /// # Errors
    /// `OperationNotInitialized`, `OperationActive`, `UserNotLoggedIn` (context login
    /// pending), `DataLenRange`.
    pub fn sign(&mut self, s: u64, data: &[u8], out: OutBuf) -> Result<Output> {
        // A buffer that holds the longest signature ends the operation whatever happens, so
        // the state is taken and finished in place instead of copied.
        let slot = sign_f(self.sessions.get_mut(&s).ok_or(Error::SessionHandleInvalid)?);
        if let (Some(run), OutBuf::Capacity(n)) = (slot.as_ref(), out) {
            if !run.multi && !run.needs_auth && n >= run.op.max_len() {
                let run = slot.take().ok_or(Error::OperationNotInitialized)?;
                return run.op.sign_all_once(data, self.rng.as_mut()).map(Output::Data);
            }
        }
        self.finish_step(s, sign_f, true, out, |op| op.max_len(), |op, rng| op.sign_all(data, rng))
    }

    /// `C_SignUpdate`.
    ///
    /// # Errors
    /// `OperationNotInitialized`, `FunctionNotSupported` (single-part mechanism).
    pub fn sign_update(&mut self, s: u64, data: &[u8]) -> Result<()> {
        self.update_step(s, sign_f, |op| op.update(data))
    }

    /// `C_SignFinal`.
    ///
    /// # Errors
    /// `OperationNotInitialized`.
    pub fn sign_final(&mut self, s: u64, out: OutBuf) -> Result<Output> {
        self.finish_step(s, sign_f, false, out, |op| op.max_len(), |op, rng| op.sign(rng))
    }

    /// `C_VerifyInit`.
    ///
    /// # Errors
    /// As [`Engine::sign_init`].
    pub fn verify_init(&mut self, s: u64, mech: &Mechanism, key: u64) -> Result<()> {
        self.session(s)?;
        self.ensure_idle(s, verify_f)?;
        let (obj, family) = self.key_ref(s, mech, key, CKF_VERIFY, AttrType::VERIFY)?;
        let op = family.signer(mech, obj, true)?;
        self.start(s, verify_f, Running::new(op, false))
    }

    /// `C_Verify`.
    ///
    /// # Errors
    /// `SignatureInvalid`, `SignatureLenRange`, `OperationNotInitialized`, `OperationActive`.
    pub fn verify(&mut self, s: u64, data: &[u8], signature: &[u8]) -> Result<()> {
        self.verify_step(s, true, |op| op.verify_all(data, signature))
    }

    /// `C_VerifyUpdate`.
    ///
    /// # Errors
    /// `OperationNotInitialized`, `FunctionNotSupported`.
    pub fn verify_update(&mut self, s: u64, data: &[u8]) -> Result<()> {
        self.update_step(s, verify_f, |op| op.update(data))
    }

    /// `C_VerifyFinal`.
    ///
    /// # Errors
    /// `SignatureInvalid`, `SignatureLenRange`, `OperationNotInitialized`.
    pub fn verify_final(&mut self, s: u64, signature: &[u8]) -> Result<()> {
        self.verify_step(s, false, |op| op.verify(signature))
    }

    // ---- encrypt and decrypt ----

    fn crypt_init(&mut self, s: u64, mech: &Mechanism, key: u64, encrypt: bool) -> Result<()> {
        self.session(s)?;
        let (field, flag, usage): (Field<CryptOp>, u64, AttrType) = if encrypt {
            (encrypt_f, CKF_ENCRYPT, AttrType::ENCRYPT)
        } else {
            (decrypt_f, CKF_DECRYPT, AttrType::DECRYPT)
        };
        self.ensure_idle(s, field)?;
        let (obj, family) = self.key_ref(s, mech, key, flag, usage)?;
        let auth = !encrypt && obj.flag(AttrType::ALWAYS_AUTHENTICATE);
        let op = family.cipher(mech, obj, encrypt)?;
        self.start(s, field, Running::new(op, auth))
    }

    fn crypt_one(&mut self, s: u64, field: Field<CryptOp>, data: &[u8], out: OutBuf) -> Result<Output> {
        self.finish_step(s, field, true, out, |op| op.one_shot_len(data), |op, rng| op.one_shot(data, rng))
    }

    fn crypt_update(&mut self, s: u64, field: Field<CryptOp>, data: &[u8], out: OutBuf) -> Result<Output> {
        let slot = field(self.session_mut(s)?);
        let run = slot.as_mut().ok_or(Error::OperationNotInitialized)?;
        if run.needs_auth {
            return Err(Error::UserNotLoggedIn);
        }
        let needed = run.op.update_len(data.len());
        match out {
            OutBuf::Query => return Ok(Output::Length(needed)),
            OutBuf::Capacity(n) if n < needed => return Ok(Output::Length(needed)),
            OutBuf::Capacity(_) => {}
        }
        run.multi = true;
        match run.op.update(data) {
            Ok(v) => Ok(Output::Data(v)),
            Err(e) => {
                *slot = None;
                Err(e)
            }
        }
    }

    /// `C_EncryptInit`.
    ///
    /// # Errors
    /// `OperationActive`, `MechanismInvalid`, `MechanismParamInvalid`, `KeyHandleInvalid`,
    /// `KeyFunctionNotPermitted`, `KeyTypeInconsistent`, `KeySizeRange`.
    pub fn encrypt_init(&mut self, s: u64, mech: &Mechanism, key: u64) -> Result<()> {
        self.crypt_init(s, mech, key, true)
    }

    /// `C_Encrypt`.
    ///
    /// # Errors
    /// `OperationNotInitialized`, `OperationActive`.
    pub fn encrypt(&mut self, s: u64, data: &[u8], out: OutBuf) -> Result<Output> {
        self.crypt_one(s, encrypt_f, data, out)
    }

    /// `C_EncryptUpdate`.
    ///
    /// # Errors
    /// `OperationNotInitialized`.
    pub fn encrypt_update(&mut self, s: u64, data: &[u8], out: OutBuf) -> Result<Output> {
        self.crypt_update(s, encrypt_f, data, out)
    }

    /// `C_EncryptFinal`.
    ///
    /// # Errors
    /// `OperationNotInitialized`.
    pub fn encrypt_final(&mut self, s: u64, out: OutBuf) -> Result<Output> {
        self.finish_step(s, encrypt_f, false, out, |op| op.final_len(), |op, rng| op.finish(rng))
    }

    /// `C_DecryptInit`.
    ///
    /// # Errors
    /// As [`Engine::encrypt_init`].
    pub fn decrypt_init(&mut self, s: u64, mech: &Mechanism, key: u64) -> Result<()> {
        self.crypt_init(s, mech, key, false)
    }

    /// `C_Decrypt`.
    ///
    /// # Errors
    /// `EncryptedDataInvalid` (tag mismatch), `EncryptedDataLenRange`, `OperationNotInitialized`.
    pub fn decrypt(&mut self, s: u64, data: &[u8], out: OutBuf) -> Result<Output> {
        self.crypt_one(s, decrypt_f, data, out)
    }

    /// `C_DecryptUpdate`.
    ///
    /// # Errors
    /// `OperationNotInitialized`.
    pub fn decrypt_update(&mut self, s: u64, data: &[u8], out: OutBuf) -> Result<Output> {
        self.crypt_update(s, decrypt_f, data, out)
    }

    /// `C_DecryptFinal`.
    ///
    /// # Errors
    /// `EncryptedDataInvalid`, `EncryptedDataLenRange`, `OperationNotInitialized`.
    pub fn decrypt_final(&mut self, s: u64, out: OutBuf) -> Result<Output> {
        self.finish_step(s, decrypt_f, false, out, |op| op.final_len(), |op, rng| op.finish(rng))
    }
}
