//! Every `C_*` function of PKCS#11 2.40, 3.0 and 3.2, exported by name.
//!
//! Each is the same few steps: [`entry`] (panic guard, initialisation check, locks), check
//! and read the caller's pointers, convert, one engine call, write back. Which functions
//! are implemented is [`super::SUPPORT`].
//!
//! # Safety
//! Every function is `unsafe` because it trusts the caller contract of the PKCS#11
//! specification for its pointer arguments: each non-NULL pointer points at memory of the
//! type and length its companion arguments state, valid for the duration of the call.
//! NULL where the spec requires memory, misaligned pointers and impossible lengths are
//! detected and answered with `CKR_ARGUMENTS_BAD`.
#![allow(non_snake_case, reason = "the PKCS#11 names")]
#![allow(clippy::missing_safety_doc, reason = "one contract for all: see the module docs")]
#![allow(clippy::too_many_arguments, reason = "the PKCS#11 signatures")]

use alloc::vec::Vec;

use anyhsm_core::{
    Error,
    consts::{MechanismType, UserType},
};
use cryptoki_sys::{
    CK_ASYNC_DATA, CK_ATTRIBUTE, CK_BBOOL, CK_BYTE, CK_C_INITIALIZE_ARGS, CK_FALSE, CK_FLAGS,
    CK_FUNCTION_LIST, CK_INFO, CK_INTERFACE, CK_MECHANISM, CK_MECHANISM_INFO, CK_MECHANISM_TYPE, CK_NOTIFY,
    CK_OBJECT_HANDLE, CK_RV, CK_SESSION_HANDLE, CK_SESSION_INFO, CK_SESSION_VALIDATION_FLAGS_TYPE,
    CK_SLOT_ID, CK_SLOT_INFO, CK_TOKEN_INFO, CK_ULONG, CK_USER_TYPE, CK_UTF8CHAR, CK_VERSION, CK_VOID_PTR,
};
use zeroize::Zeroize;

use super::{
    convert::{self, Answer, ck, ul},
    entry, ffi_guard, lists,
    lock::{self, Locking},
    not_supported,
    ptr::{self, Out, OutBuffer, OutSlice},
};
use crate::module::Module;

// ---- general purpose -----------------------------------------------------------------

/// `C_Initialize`: read the configuration, open the token store, start the engine.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_Initialize(pInitArgs: CK_VOID_PTR) -> CK_RV {
    ffi_guard("C_Initialize", || {
        let args = if pInitArgs.is_null() {
            None
        } else {
            // SAFETY: a non-NULL pInitArgs points at a CK_C_INITIALIZE_ARGS (§5.4).
            Some(unsafe { ptr::read(pInitArgs.cast_const().cast::<CK_C_INITIALIZE_ARGS>()) }?)
        };
        let locking = Locking::from_args(args.as_ref())?;
        lock::initialize(locking, Module::from_env)
    })
}

/// `C_Finalize`: close every session and drop the engine.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_Finalize(pReserved: CK_VOID_PTR) -> CK_RV {
    ffi_guard("C_Finalize", || {
        if !pReserved.is_null() {
            return Err(Error::ArgumentsBad);
        }
        lock::finalize()
    })
}

/// `C_GetInfo` of the exported symbol and of the 2.40 list: `cryptokiVersion` 2.40.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_GetInfo(pInfo: *mut CK_INFO) -> CK_RV {
    // SAFETY: this function's caller contract, passed on.
    unsafe { get_info(pInfo, lists::V2_40) }
}

/// `C_GetInfo` of the 3.0 list.
pub unsafe extern "C" fn get_info_3_0(pInfo: *mut CK_INFO) -> CK_RV {
    // SAFETY: this function's caller contract, passed on.
    unsafe { get_info(pInfo, lists::V3_0) }
}

/// `C_GetInfo` of the 3.2 list.
pub unsafe extern "C" fn get_info_3_2(pInfo: *mut CK_INFO) -> CK_RV {
    // SAFETY: this function's caller contract, passed on.
    unsafe { get_info(pInfo, lists::V3_2) }
}

/// # Safety
/// `info` is NULL or valid for writing a `CK_INFO`.
unsafe fn get_info(info: *mut CK_INFO, version: CK_VERSION) -> CK_RV {
    entry("C_GetInfo", |_| {
        // SAFETY: pInfo is NULL or points at a writable CK_INFO (§5.4).
        let out = unsafe { Out::new(info) }?;
        out.write(convert::info(version));
        Ok(())
    })
}

/// `C_GetFunctionList`: the 2.40 list (needs no `C_Initialize`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_GetFunctionList(ppFunctionList: *mut *mut CK_FUNCTION_LIST) -> CK_RV {
    ffi_guard("C_GetFunctionList", || {
        // SAFETY: ppFunctionList is NULL or points at a writable pointer (§5.4).
        let out = unsafe { Out::new(ppFunctionList) }?;
        out.write(lists::function_list());
        Ok(())
    })
}

/// `C_GetInterfaceList`: the 3.2, 3.0 and 2.40 "PKCS 11" interfaces (needs no
/// `C_Initialize`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_GetInterfaceList(
    pInterfacesList: *mut CK_INTERFACE,
    pulCount: *mut CK_ULONG,
) -> CK_RV {
    ffi_guard("C_GetInterfaceList", || {
        // SAFETY: pulCount points at a CK_ULONG; pInterfacesList is NULL or valid for
        // *pulCount interfaces (§5.4).
        let out = unsafe { OutBuffer::new(pInterfacesList, pulCount) }?;
        convert::deliver(out, &Answer::Items(lists::interfaces()))
    })
}

/// `C_GetInterface`: "PKCS 11" in version 3.2 (the default), 3.0 or 2.40; no interface
/// has flags, so requiring any fails. No match is `CKR_ARGUMENTS_BAD`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_GetInterface(
    pInterfaceName: *mut CK_UTF8CHAR,
    pVersion: *mut CK_VERSION,
    ppInterface: *mut *mut CK_INTERFACE,
    flags: CK_FLAGS,
) -> CK_RV {
    ffi_guard("C_GetInterface", || {
        // SAFETY: ppInterface is NULL or writable; pInterfaceName is NULL or a
        // NUL-terminated string; pVersion is NULL or points at a CK_VERSION (§5.4).
        let (out, name, version) = unsafe {
            let version = if pVersion.is_null() { None } else { Some(ptr::read(pVersion.cast_const())?) };
            (Out::new(ppInterface)?, ptr::c_str(pInterfaceName.cast_const()), version)
        };
        let found = lists::find_interface(name.map(core::ffi::CStr::to_bytes), version, ul(flags));
        out.write(found.ok_or(Error::ArgumentsBad)?);
        Ok(())
    })
}

// ---- slots and tokens ----------------------------------------------------------------

/// `C_GetSlotList`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_GetSlotList(
    tokenPresent: CK_BBOOL,
    pSlotList: *mut CK_SLOT_ID,
    pulCount: *mut CK_ULONG,
) -> CK_RV {
    entry("C_GetSlotList", |e| {
        // SAFETY: pulCount points at a CK_ULONG; pSlotList is NULL or valid for *pulCount IDs.
        let out = unsafe { OutBuffer::new(pSlotList, pulCount) }?;
        let slots: Vec<CK_SLOT_ID> = e.slot_list(tokenPresent != CK_FALSE)?.into_iter().map(ck).collect();
        convert::deliver(out, &Answer::Items(&slots))
    })
}

/// `C_GetSlotInfo`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_GetSlotInfo(slotID: CK_SLOT_ID, pInfo: *mut CK_SLOT_INFO) -> CK_RV {
    entry("C_GetSlotInfo", |e| {
        // SAFETY: pInfo is NULL or points at a writable CK_SLOT_INFO.
        let out = unsafe { Out::new(pInfo) }?;
        out.write(convert::slot_info(&e.slot_info(ul(slotID))?));
        Ok(())
    })
}

/// `C_GetTokenInfo`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_GetTokenInfo(slotID: CK_SLOT_ID, pInfo: *mut CK_TOKEN_INFO) -> CK_RV {
    entry("C_GetTokenInfo", |e| {
        // SAFETY: pInfo is NULL or points at a writable CK_TOKEN_INFO.
        let out = unsafe { Out::new(pInfo) }?;
        out.write(convert::token_info(&e.token_info(ul(slotID))?));
        Ok(())
    })
}

/// `C_GetMechanismList`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_GetMechanismList(
    slotID: CK_SLOT_ID,
    pMechanismList: *mut CK_MECHANISM_TYPE,
    pulCount: *mut CK_ULONG,
) -> CK_RV {
    entry("C_GetMechanismList", |e| {
        // SAFETY: pulCount points at a CK_ULONG; pMechanismList is NULL or valid for
        // *pulCount mechanism types.
        let out = unsafe { OutBuffer::new(pMechanismList, pulCount) }?;
        let list: Vec<CK_MECHANISM_TYPE> =
            e.mechanism_list(ul(slotID))?.into_iter().map(|m| ck(m.0)).collect();
        convert::deliver(out, &Answer::Items(&list))
    })
}

/// `C_GetMechanismInfo`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_GetMechanismInfo(
    slotID: CK_SLOT_ID,
    type_: CK_MECHANISM_TYPE,
    pInfo: *mut CK_MECHANISM_INFO,
) -> CK_RV {
    entry("C_GetMechanismInfo", |e| {
        // SAFETY: pInfo is NULL or points at a writable CK_MECHANISM_INFO.
        let out = unsafe { Out::new(pInfo) }?;
        out.write(convert::mechanism_info(&e.mechanism_info(ul(slotID), MechanismType(ul(type_)))?));
        Ok(())
    })
}

/// `C_InitToken`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_InitToken(
    slotID: CK_SLOT_ID,
    pPin: *mut CK_UTF8CHAR,
    ulPinLen: CK_ULONG,
    pLabel: *mut CK_UTF8CHAR,
) -> CK_RV {
    entry("C_InitToken", |e| {
        // SAFETY: pPin is valid for ulPinLen bytes; pLabel points at 32 bytes (§5.6).
        let (pin, label) = unsafe {
            (
                ptr::slice_from_raw(pPin.cast_const(), ulPinLen)?,
                ptr::read(pLabel.cast_const().cast::<[u8; 32]>())?,
            )
        };
        e.init_token(ul(slotID), pin, &label)
    })
}

/// `C_InitPIN`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_InitPIN(
    hSession: CK_SESSION_HANDLE,
    pPin: *mut CK_UTF8CHAR,
    ulPinLen: CK_ULONG,
) -> CK_RV {
    entry("C_InitPIN", |e| {
        // SAFETY: pPin is valid for ulPinLen bytes.
        let pin = unsafe { ptr::slice_from_raw(pPin.cast_const(), ulPinLen) }?;
        e.init_pin(ul(hSession), pin)
    })
}

/// `C_SetPIN`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_SetPIN(
    hSession: CK_SESSION_HANDLE,
    pOldPin: *mut CK_UTF8CHAR,
    ulOldLen: CK_ULONG,
    pNewPin: *mut CK_UTF8CHAR,
    ulNewLen: CK_ULONG,
) -> CK_RV {
    entry("C_SetPIN", |e| {
        // SAFETY: pOldPin / pNewPin are valid for ulOldLen / ulNewLen bytes.
        let (old, new) = unsafe {
            (
                ptr::slice_from_raw(pOldPin.cast_const(), ulOldLen)?,
                ptr::slice_from_raw(pNewPin.cast_const(), ulNewLen)?,
            )
        };
        e.set_pin(ul(hSession), old, new)
    })
}

// ---- sessions ------------------------------------------------------------------------

/// `C_OpenSession`. Notification callbacks are accepted and never called (the module has
/// no surrender points).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_OpenSession(
    slotID: CK_SLOT_ID,
    flags: CK_FLAGS,
    _pApplication: CK_VOID_PTR,
    _Notify: CK_NOTIFY,
    phSession: *mut CK_SESSION_HANDLE,
) -> CK_RV {
    entry("C_OpenSession", |e| {
        // SAFETY: phSession is NULL or points at a writable handle.
        let out = unsafe { Out::new(phSession) }?;
        out.write(ck(e.open_session(ul(slotID), ul(flags))?));
        Ok(())
    })
}

/// `C_CloseSession`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_CloseSession(hSession: CK_SESSION_HANDLE) -> CK_RV {
    entry("C_CloseSession", |e| e.close_session(ul(hSession)))
}

/// `C_CloseAllSessions`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_CloseAllSessions(slotID: CK_SLOT_ID) -> CK_RV {
    entry("C_CloseAllSessions", |e| e.close_all_sessions(ul(slotID)))
}

/// `C_GetSessionInfo`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_GetSessionInfo(hSession: CK_SESSION_HANDLE, pInfo: *mut CK_SESSION_INFO) -> CK_RV {
    entry("C_GetSessionInfo", |e| {
        // SAFETY: pInfo is NULL or points at a writable CK_SESSION_INFO.
        let out = unsafe { Out::new(pInfo) }?;
        out.write(convert::session_info(&e.session_info(ul(hSession))?));
        Ok(())
    })
}

/// `C_GetOperationState`: not supported.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_GetOperationState(
    _hSession: CK_SESSION_HANDLE,
    _pOperationState: *mut CK_BYTE,
    _pulOperationStateLen: *mut CK_ULONG,
) -> CK_RV {
    not_supported("C_GetOperationState")
}

/// `C_SetOperationState`: not supported.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_SetOperationState(
    _hSession: CK_SESSION_HANDLE,
    _pOperationState: *mut CK_BYTE,
    _ulOperationStateLen: CK_ULONG,
    _hEncryptionKey: CK_OBJECT_HANDLE,
    _hAuthenticationKey: CK_OBJECT_HANDLE,
) -> CK_RV {
    not_supported("C_SetOperationState")
}

/// `C_Login`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_Login(
    hSession: CK_SESSION_HANDLE,
    userType: CK_USER_TYPE,
    pPin: *mut CK_UTF8CHAR,
    ulPinLen: CK_ULONG,
) -> CK_RV {
    entry("C_Login", |e| {
        // SAFETY: pPin is valid for ulPinLen bytes.
        let pin = unsafe { ptr::slice_from_raw(pPin.cast_const(), ulPinLen) }?;
        e.login(ul(hSession), UserType(ul(userType)), pin)
    })
}

/// `C_LoginUser` (3.0): without a user name (NULL or empty) it is `C_Login`; tokens have no
/// named users, so a user name is `CKR_FUNCTION_NOT_SUPPORTED`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_LoginUser(
    hSession: CK_SESSION_HANDLE,
    userType: CK_USER_TYPE,
    pPin: *mut CK_UTF8CHAR,
    ulPinLen: CK_ULONG,
    pUsername: *mut CK_UTF8CHAR,
    ulUsernameLen: CK_ULONG,
) -> CK_RV {
    entry("C_LoginUser", |e| {
        // SAFETY: pPin / pUsername are valid for ulPinLen / ulUsernameLen bytes.
        let (pin, username) = unsafe {
            (
                ptr::slice_from_raw(pPin.cast_const(), ulPinLen)?,
                ptr::slice_from_raw(pUsername.cast_const(), ulUsernameLen)?,
            )
        };
        if !username.is_empty() {
            return Err(Error::FunctionNotSupported);
        }
        e.login(ul(hSession), UserType(ul(userType)), pin)
    })
}

/// `C_Logout`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_Logout(hSession: CK_SESSION_HANDLE) -> CK_RV {
    entry("C_Logout", |e| e.logout(ul(hSession)))
}

// ---- objects -------------------------------------------------------------------------

/// `C_CreateObject`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_CreateObject(
    hSession: CK_SESSION_HANDLE,
    pTemplate: *mut CK_ATTRIBUTE,
    ulCount: CK_ULONG,
    phObject: *mut CK_OBJECT_HANDLE,
) -> CK_RV {
    entry("C_CreateObject", |e| {
        // SAFETY: phObject is NULL or writable; pTemplate holds ulCount attributes (§5.7).
        let (out, template) =
            unsafe { (Out::new(phObject)?, convert::template(pTemplate.cast_const(), ulCount)?) };
        out.write(ck(e.create_object(ul(hSession), &template)?));
        Ok(())
    })
}

/// `C_CopyObject`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_CopyObject(
    hSession: CK_SESSION_HANDLE,
    hObject: CK_OBJECT_HANDLE,
    pTemplate: *mut CK_ATTRIBUTE,
    ulCount: CK_ULONG,
    phNewObject: *mut CK_OBJECT_HANDLE,
) -> CK_RV {
    entry("C_CopyObject", |e| {
        // SAFETY: phNewObject is NULL or writable; pTemplate holds ulCount attributes.
        let (out, template) =
            unsafe { (Out::new(phNewObject)?, convert::template(pTemplate.cast_const(), ulCount)?) };
        out.write(ck(e.copy_object(ul(hSession), ul(hObject), &template)?));
        Ok(())
    })
}

/// `C_DestroyObject`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_DestroyObject(hSession: CK_SESSION_HANDLE, hObject: CK_OBJECT_HANDLE) -> CK_RV {
    entry("C_DestroyObject", |e| e.destroy_object(ul(hSession), ul(hObject)))
}

/// `C_GetObjectSize`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_GetObjectSize(
    hSession: CK_SESSION_HANDLE,
    hObject: CK_OBJECT_HANDLE,
    pulSize: *mut CK_ULONG,
) -> CK_RV {
    entry("C_GetObjectSize", |e| {
        // SAFETY: pulSize is NULL or points at a writable CK_ULONG.
        let out = unsafe { Out::new(pulSize) }?;
        out.write(ck(e.object_size(ul(hSession), ul(hObject))?));
        Ok(())
    })
}

/// `C_GetAttributeValue`: every attribute is processed, per PKCS#11 §5.7.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_GetAttributeValue(
    hSession: CK_SESSION_HANDLE,
    hObject: CK_OBJECT_HANDLE,
    pTemplate: *mut CK_ATTRIBUTE,
    ulCount: CK_ULONG,
) -> CK_RV {
    entry("C_GetAttributeValue", |e| {
        // SAFETY: pTemplate holds ulCount attributes, which this call updates in place.
        let template = unsafe { ptr::slice_mut_from_raw(pTemplate, ulCount) }?;
        let found = e.attribute_values(ul(hSession), ul(hObject), &convert::requested_types(template))?;
        // SAFETY: each pValue is NULL or valid for writing ulValueLen bytes (§5.7).
        unsafe { convert::fill_attributes(template, &found) }
    })
}

/// `C_SetAttributeValue`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_SetAttributeValue(
    hSession: CK_SESSION_HANDLE,
    hObject: CK_OBJECT_HANDLE,
    pTemplate: *mut CK_ATTRIBUTE,
    ulCount: CK_ULONG,
) -> CK_RV {
    entry("C_SetAttributeValue", |e| {
        // SAFETY: pTemplate holds ulCount attributes.
        let template = unsafe { convert::template(pTemplate.cast_const(), ulCount) }?;
        e.set_attribute_values(ul(hSession), ul(hObject), &template)
    })
}

/// `C_FindObjectsInit`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_FindObjectsInit(
    hSession: CK_SESSION_HANDLE,
    pTemplate: *mut CK_ATTRIBUTE,
    ulCount: CK_ULONG,
) -> CK_RV {
    entry("C_FindObjectsInit", |e| {
        // SAFETY: pTemplate holds ulCount attributes.
        let template = unsafe { convert::template(pTemplate.cast_const(), ulCount) }?;
        e.find_objects_init(ul(hSession), &template)
    })
}

/// `C_FindObjects`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_FindObjects(
    hSession: CK_SESSION_HANDLE,
    phObject: *mut CK_OBJECT_HANDLE,
    ulMaxObjectCount: CK_ULONG,
    pulObjectCount: *mut CK_ULONG,
) -> CK_RV {
    entry("C_FindObjects", |e| {
        // SAFETY: phObject is valid for ulMaxObjectCount handles; pulObjectCount is writable.
        let (out, count) = unsafe { (OutSlice::new(phObject, ulMaxObjectCount)?, Out::new(pulObjectCount)?) };
        let found: Vec<CK_OBJECT_HANDLE> =
            e.find_objects(ul(hSession), out.capacity())?.into_iter().map(ck).collect();
        let n = convert::ck_len(found.len());
        out.fill(&found)?;
        count.write(n);
        Ok(())
    })
}

/// `C_FindObjectsFinal`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_FindObjectsFinal(hSession: CK_SESSION_HANDLE) -> CK_RV {
    entry("C_FindObjectsFinal", |e| e.find_objects_final(ul(hSession)))
}

// ---- encryption and decryption -------------------------------------------------------

/// The body shared by every `*Init(hSession, pMechanism, hKey)`.
macro_rules! init_with_key {
    ($name:literal, $method:ident, $s:expr, $mech:expr, $key:expr) => {
        entry($name, |e| {
            // SAFETY: pMechanism is NULL or points at a CK_MECHANISM whose parameter
            // pointers are valid for their lengths (§5.8).
            let m = unsafe { convert::mechanism($mech.cast_const()) }?;
            e.$method(ul($s), &m, ul($key))
        })
    };
}

/// The body shared by every single-part step `(hSession, pIn, ulInLen, pOut, pulOutLen)`.
macro_rules! step_in_out {
    ($name:literal, $method:ident, $s:expr, $in:expr, $in_len:expr, $out:expr, $out_len:expr) => {
        entry($name, |e| {
            let (input, out) =
                // SAFETY: the input is valid for its length; the length word is valid; the
                // output is NULL or valid for *length bytes (§5.2).
                unsafe { (ptr::slice_from_raw($in.cast_const(), $in_len)?, OutBuffer::new($out, $out_len)?) };
            let output = e.$method(ul($s), input, out.request())?;
            convert::deliver_output(out, output)
        })
    };
}

/// The body shared by every `*Final(hSession, pOut, pulOutLen)`.
macro_rules! step_out {
    ($name:literal, $method:ident, $s:expr, $out:expr, $out_len:expr) => {
        entry($name, |e| {
            // SAFETY: the length word is valid; the output is NULL or valid for *length bytes.
            let out = unsafe { OutBuffer::new($out, $out_len) }?;
            let output = e.$method(ul($s), out.request())?;
            convert::deliver_output(out, output)
        })
    };
}

/// The body shared by every `*Update(hSession, pPart, ulPartLen)` without output.
macro_rules! step_in {
    ($name:literal, $method:ident, $s:expr, $in:expr, $in_len:expr) => {
        entry($name, |e| {
            // SAFETY: the input is valid for its length.
            let input = unsafe { ptr::slice_from_raw($in.cast_const(), $in_len) }?;
            e.$method(ul($s), input)
        })
    };
}

/// `C_EncryptInit`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_EncryptInit(
    hSession: CK_SESSION_HANDLE,
    pMechanism: *mut CK_MECHANISM,
    hKey: CK_OBJECT_HANDLE,
) -> CK_RV {
    init_with_key!("C_EncryptInit", encrypt_init, hSession, pMechanism, hKey)
}

/// `C_Encrypt`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_Encrypt(
    hSession: CK_SESSION_HANDLE,
    pData: *mut CK_BYTE,
    ulDataLen: CK_ULONG,
    pEncryptedData: *mut CK_BYTE,
    pulEncryptedDataLen: *mut CK_ULONG,
) -> CK_RV {
    step_in_out!("C_Encrypt", encrypt, hSession, pData, ulDataLen, pEncryptedData, pulEncryptedDataLen)
}

/// `C_EncryptUpdate`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_EncryptUpdate(
    hSession: CK_SESSION_HANDLE,
    pPart: *mut CK_BYTE,
    ulPartLen: CK_ULONG,
    pEncryptedPart: *mut CK_BYTE,
    pulEncryptedPartLen: *mut CK_ULONG,
) -> CK_RV {
    step_in_out!(
        "C_EncryptUpdate",
        encrypt_update,
        hSession,
        pPart,
        ulPartLen,
        pEncryptedPart,
        pulEncryptedPartLen
    )
}

/// `C_EncryptFinal`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_EncryptFinal(
    hSession: CK_SESSION_HANDLE,
    pLastEncryptedPart: *mut CK_BYTE,
    pulLastEncryptedPartLen: *mut CK_ULONG,
) -> CK_RV {
    step_out!("C_EncryptFinal", encrypt_final, hSession, pLastEncryptedPart, pulLastEncryptedPartLen)
}

/// `C_DecryptInit`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_DecryptInit(
    hSession: CK_SESSION_HANDLE,
    pMechanism: *mut CK_MECHANISM,
    hKey: CK_OBJECT_HANDLE,
) -> CK_RV {
    init_with_key!("C_DecryptInit", decrypt_init, hSession, pMechanism, hKey)
}

/// `C_Decrypt`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_Decrypt(
    hSession: CK_SESSION_HANDLE,
    pEncryptedData: *mut CK_BYTE,
    ulEncryptedDataLen: CK_ULONG,
    pData: *mut CK_BYTE,
    pulDataLen: *mut CK_ULONG,
) -> CK_RV {
    step_in_out!("C_Decrypt", decrypt, hSession, pEncryptedData, ulEncryptedDataLen, pData, pulDataLen)
}

/// `C_DecryptUpdate`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_DecryptUpdate(
    hSession: CK_SESSION_HANDLE,
    pEncryptedPart: *mut CK_BYTE,
    ulEncryptedPartLen: CK_ULONG,
    pPart: *mut CK_BYTE,
    pulPartLen: *mut CK_ULONG,
) -> CK_RV {
    step_in_out!(
        "C_DecryptUpdate",
        decrypt_update,
        hSession,
        pEncryptedPart,
        ulEncryptedPartLen,
        pPart,
        pulPartLen
    )
}

/// `C_DecryptFinal`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_DecryptFinal(
    hSession: CK_SESSION_HANDLE,
    pLastPart: *mut CK_BYTE,
    pulLastPartLen: *mut CK_ULONG,
) -> CK_RV {
    step_out!("C_DecryptFinal", decrypt_final, hSession, pLastPart, pulLastPartLen)
}

// ---- digests -------------------------------------------------------------------------

/// `C_DigestInit`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_DigestInit(hSession: CK_SESSION_HANDLE, pMechanism: *mut CK_MECHANISM) -> CK_RV {
    entry("C_DigestInit", |e| {
        // SAFETY: pMechanism is NULL or points at a CK_MECHANISM with a valid parameter.
        let m = unsafe { convert::mechanism(pMechanism.cast_const()) }?;
        e.digest_init(ul(hSession), &m)
    })
}

/// `C_Digest`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_Digest(
    hSession: CK_SESSION_HANDLE,
    pData: *mut CK_BYTE,
    ulDataLen: CK_ULONG,
    pDigest: *mut CK_BYTE,
    pulDigestLen: *mut CK_ULONG,
) -> CK_RV {
    step_in_out!("C_Digest", digest, hSession, pData, ulDataLen, pDigest, pulDigestLen)
}

/// `C_DigestUpdate`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_DigestUpdate(
    hSession: CK_SESSION_HANDLE,
    pPart: *mut CK_BYTE,
    ulPartLen: CK_ULONG,
) -> CK_RV {
    step_in!("C_DigestUpdate", digest_update, hSession, pPart, ulPartLen)
}

/// `C_DigestKey`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_DigestKey(hSession: CK_SESSION_HANDLE, hKey: CK_OBJECT_HANDLE) -> CK_RV {
    entry("C_DigestKey", |e| e.digest_key(ul(hSession), ul(hKey)))
}

/// `C_DigestFinal`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_DigestFinal(
    hSession: CK_SESSION_HANDLE,
    pDigest: *mut CK_BYTE,
    pulDigestLen: *mut CK_ULONG,
) -> CK_RV {
    step_out!("C_DigestFinal", digest_final, hSession, pDigest, pulDigestLen)
}

// ---- signatures and MACs -------------------------------------------------------------

/// `C_SignInit`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_SignInit(
    hSession: CK_SESSION_HANDLE,
    pMechanism: *mut CK_MECHANISM,
    hKey: CK_OBJECT_HANDLE,
) -> CK_RV {
    init_with_key!("C_SignInit", sign_init, hSession, pMechanism, hKey)
}

/// `C_Sign`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_Sign(
    hSession: CK_SESSION_HANDLE,
    pData: *mut CK_BYTE,
    ulDataLen: CK_ULONG,
    pSignature: *mut CK_BYTE,
    pulSignatureLen: *mut CK_ULONG,
) -> CK_RV {
    step_in_out!("C_Sign", sign, hSession, pData, ulDataLen, pSignature, pulSignatureLen)
}

/// `C_SignUpdate`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_SignUpdate(
    hSession: CK_SESSION_HANDLE,
    pPart: *mut CK_BYTE,
    ulPartLen: CK_ULONG,
) -> CK_RV {
    step_in!("C_SignUpdate", sign_update, hSession, pPart, ulPartLen)
}

/// `C_SignFinal`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_SignFinal(
    hSession: CK_SESSION_HANDLE,
    pSignature: *mut CK_BYTE,
    pulSignatureLen: *mut CK_ULONG,
) -> CK_RV {
    step_out!("C_SignFinal", sign_final, hSession, pSignature, pulSignatureLen)
}

/// `C_SignRecoverInit`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_SignRecoverInit(
    hSession: CK_SESSION_HANDLE,
    pMechanism: *mut CK_MECHANISM,
    hKey: CK_OBJECT_HANDLE,
) -> CK_RV {
    init_with_key!("C_SignRecoverInit", sign_recover_init, hSession, pMechanism, hKey)
}

/// `C_SignRecover`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_SignRecover(
    hSession: CK_SESSION_HANDLE,
    pData: *mut CK_BYTE,
    ulDataLen: CK_ULONG,
    pSignature: *mut CK_BYTE,
    pulSignatureLen: *mut CK_ULONG,
) -> CK_RV {
    step_in_out!("C_SignRecover", sign_recover, hSession, pData, ulDataLen, pSignature, pulSignatureLen)
}

/// `C_VerifyInit`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_VerifyInit(
    hSession: CK_SESSION_HANDLE,
    pMechanism: *mut CK_MECHANISM,
    hKey: CK_OBJECT_HANDLE,
) -> CK_RV {
    init_with_key!("C_VerifyInit", verify_init, hSession, pMechanism, hKey)
}

/// `C_Verify`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_Verify(
    hSession: CK_SESSION_HANDLE,
    pData: *mut CK_BYTE,
    ulDataLen: CK_ULONG,
    pSignature: *mut CK_BYTE,
    ulSignatureLen: CK_ULONG,
) -> CK_RV {
    entry("C_Verify", |e| {
        // SAFETY: pData / pSignature are valid for ulDataLen / ulSignatureLen bytes.
        let (data, signature) = unsafe {
            (
                ptr::slice_from_raw(pData.cast_const(), ulDataLen)?,
                ptr::slice_from_raw(pSignature.cast_const(), ulSignatureLen)?,
            )
        };
        e.verify(ul(hSession), data, signature)
    })
}

/// `C_VerifyUpdate`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_VerifyUpdate(
    hSession: CK_SESSION_HANDLE,
    pPart: *mut CK_BYTE,
    ulPartLen: CK_ULONG,
) -> CK_RV {
    step_in!("C_VerifyUpdate", verify_update, hSession, pPart, ulPartLen)
}

/// `C_VerifyFinal`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_VerifyFinal(
    hSession: CK_SESSION_HANDLE,
    pSignature: *mut CK_BYTE,
    ulSignatureLen: CK_ULONG,
) -> CK_RV {
    step_in!("C_VerifyFinal", verify_final, hSession, pSignature, ulSignatureLen)
}

/// `C_VerifyRecoverInit`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_VerifyRecoverInit(
    hSession: CK_SESSION_HANDLE,
    pMechanism: *mut CK_MECHANISM,
    hKey: CK_OBJECT_HANDLE,
) -> CK_RV {
    init_with_key!("C_VerifyRecoverInit", verify_recover_init, hSession, pMechanism, hKey)
}

/// `C_VerifyRecover`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_VerifyRecover(
    hSession: CK_SESSION_HANDLE,
    pSignature: *mut CK_BYTE,
    ulSignatureLen: CK_ULONG,
    pData: *mut CK_BYTE,
    pulDataLen: *mut CK_ULONG,
) -> CK_RV {
    step_in_out!("C_VerifyRecover", verify_recover, hSession, pSignature, ulSignatureLen, pData, pulDataLen)
}

// ---- dual-function operations: not supported ----------------------------------------

/// `C_DigestEncryptUpdate`: not supported.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_DigestEncryptUpdate(
    _hSession: CK_SESSION_HANDLE,
    _pPart: *mut CK_BYTE,
    _ulPartLen: CK_ULONG,
    _pEncryptedPart: *mut CK_BYTE,
    _pulEncryptedPartLen: *mut CK_ULONG,
) -> CK_RV {
    not_supported("C_DigestEncryptUpdate")
}

/// `C_DecryptDigestUpdate`: not supported.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_DecryptDigestUpdate(
    _hSession: CK_SESSION_HANDLE,
    _pEncryptedPart: *mut CK_BYTE,
    _ulEncryptedPartLen: CK_ULONG,
    _pPart: *mut CK_BYTE,
    _pulPartLen: *mut CK_ULONG,
) -> CK_RV {
    not_supported("C_DecryptDigestUpdate")
}

/// `C_SignEncryptUpdate`: not supported.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_SignEncryptUpdate(
    _hSession: CK_SESSION_HANDLE,
    _pPart: *mut CK_BYTE,
    _ulPartLen: CK_ULONG,
    _pEncryptedPart: *mut CK_BYTE,
    _pulEncryptedPartLen: *mut CK_ULONG,
) -> CK_RV {
    not_supported("C_SignEncryptUpdate")
}

/// `C_DecryptVerifyUpdate`: not supported.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_DecryptVerifyUpdate(
    _hSession: CK_SESSION_HANDLE,
    _pEncryptedPart: *mut CK_BYTE,
    _ulEncryptedPartLen: CK_ULONG,
    _pPart: *mut CK_BYTE,
    _pulPartLen: *mut CK_ULONG,
) -> CK_RV {
    not_supported("C_DecryptVerifyUpdate")
}

// ---- keys ----------------------------------------------------------------------------

/// `C_GenerateKey`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_GenerateKey(
    hSession: CK_SESSION_HANDLE,
    pMechanism: *mut CK_MECHANISM,
    pTemplate: *mut CK_ATTRIBUTE,
    ulCount: CK_ULONG,
    phKey: *mut CK_OBJECT_HANDLE,
) -> CK_RV {
    entry("C_GenerateKey", |e| {
        // SAFETY: phKey is NULL or writable; pMechanism is NULL or a valid CK_MECHANISM;
        // pTemplate holds ulCount attributes.
        let (out, m, template) = unsafe {
            (
                Out::new(phKey)?,
                convert::mechanism(pMechanism.cast_const())?,
                convert::template(pTemplate.cast_const(), ulCount)?,
            )
        };
        out.write(ck(e.generate_key(ul(hSession), &m, &template)?));
        Ok(())
    })
}

/// `C_GenerateKeyPair`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_GenerateKeyPair(
    hSession: CK_SESSION_HANDLE,
    pMechanism: *mut CK_MECHANISM,
    pPublicKeyTemplate: *mut CK_ATTRIBUTE,
    ulPublicKeyAttributeCount: CK_ULONG,
    pPrivateKeyTemplate: *mut CK_ATTRIBUTE,
    ulPrivateKeyAttributeCount: CK_ULONG,
    phPublicKey: *mut CK_OBJECT_HANDLE,
    phPrivateKey: *mut CK_OBJECT_HANDLE,
) -> CK_RV {
    entry("C_GenerateKeyPair", |e| {
        // SAFETY: both handle pointers are NULL or writable; pMechanism is NULL or a valid
        // CK_MECHANISM; each template holds its count of attributes.
        let (public_out, private_out, m, public, private) = unsafe {
            (
                Out::new(phPublicKey)?,
                Out::new(phPrivateKey)?,
                convert::mechanism(pMechanism.cast_const())?,
                convert::template(pPublicKeyTemplate.cast_const(), ulPublicKeyAttributeCount)?,
                convert::template(pPrivateKeyTemplate.cast_const(), ulPrivateKeyAttributeCount)?,
            )
        };
        let (public_key, private_key) = e.generate_key_pair(ul(hSession), &m, &public, &private)?;
        public_out.write(ck(public_key));
        private_out.write(ck(private_key));
        Ok(())
    })
}

/// `C_WrapKey`, with the length-query convention for the wrapped key.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_WrapKey(
    hSession: CK_SESSION_HANDLE,
    pMechanism: *mut CK_MECHANISM,
    hWrappingKey: CK_OBJECT_HANDLE,
    hKey: CK_OBJECT_HANDLE,
    pWrappedKey: *mut CK_BYTE,
    pulWrappedKeyLen: *mut CK_ULONG,
) -> CK_RV {
    entry("C_WrapKey", |e| {
        // SAFETY: pMechanism is NULL or a valid CK_MECHANISM; pulWrappedKeyLen points at a
        // CK_ULONG; pWrappedKey is NULL or valid for *pulWrappedKeyLen bytes (§5.2).
        let (m, out) = unsafe {
            (convert::mechanism(pMechanism.cast_const())?, OutBuffer::new(pWrappedKey, pulWrappedKeyLen)?)
        };
        let output = e.wrap_key(ul(hSession), &m, ul(hWrappingKey), ul(hKey), out.request())?;
        convert::deliver_output(out, output)
    })
}

/// `C_UnwrapKey`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_UnwrapKey(
    hSession: CK_SESSION_HANDLE,
    pMechanism: *mut CK_MECHANISM,
    hUnwrappingKey: CK_OBJECT_HANDLE,
    pWrappedKey: *mut CK_BYTE,
    ulWrappedKeyLen: CK_ULONG,
    pTemplate: *mut CK_ATTRIBUTE,
    ulAttributeCount: CK_ULONG,
    phKey: *mut CK_OBJECT_HANDLE,
) -> CK_RV {
    entry("C_UnwrapKey", |e| {
        // SAFETY: phKey is NULL or writable; pMechanism is NULL or a valid CK_MECHANISM;
        // pWrappedKey is valid for ulWrappedKeyLen bytes; pTemplate holds ulAttributeCount
        // attributes.
        let (out, m, wrapped, template) = unsafe {
            (
                Out::new(phKey)?,
                convert::mechanism(pMechanism.cast_const())?,
                ptr::slice_from_raw(pWrappedKey.cast_const(), ulWrappedKeyLen)?,
                convert::template(pTemplate.cast_const(), ulAttributeCount)?,
            )
        };
        out.write(ck(e.unwrap_key(ul(hSession), &m, ul(hUnwrappingKey), wrapped, &template)?));
        Ok(())
    })
}

/// `C_DeriveKey`. The handles of SP 800-108's additional keys go into the `phKey` of each
/// `CK_DERIVED_KEY` of the parameter, in order. `phKey` itself is always required: every
/// mechanism the engine offers derives a first key (those that make only additional keys,
/// the SSL/TLS key-and-MAC derivations, are not among them).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_DeriveKey(
    hSession: CK_SESSION_HANDLE,
    pMechanism: *mut CK_MECHANISM,
    hBaseKey: CK_OBJECT_HANDLE,
    pTemplate: *mut CK_ATTRIBUTE,
    ulAttributeCount: CK_ULONG,
    phKey: *mut CK_OBJECT_HANDLE,
) -> CK_RV {
    entry("C_DeriveKey", |e| {
        // SAFETY: phKey is NULL or writable; pMechanism is NULL or a valid CK_MECHANISM whose
        // nested out-pointers (CK_DERIVED_KEY.phKey) are NULL or writable for this call;
        // pTemplate holds ulAttributeCount attributes.
        let (out, (m, additional_out), template) = unsafe {
            (
                Out::new(phKey)?,
                convert::mechanism_with_outputs(pMechanism.cast_const())?,
                convert::template(pTemplate.cast_const(), ulAttributeCount)?,
            )
        };
        let (key, additional) = e.derive_key(ul(hSession), &m, ul(hBaseKey), &template)?;
        out.write(ck(key));
        convert::write_handles(additional_out, &additional)
    })
}

// ---- random numbers ------------------------------------------------------------------

/// `C_SeedRandom`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_SeedRandom(
    hSession: CK_SESSION_HANDLE,
    pSeed: *mut CK_BYTE,
    ulSeedLen: CK_ULONG,
) -> CK_RV {
    step_in!("C_SeedRandom", seed_random, hSession, pSeed, ulSeedLen)
}

/// `C_GenerateRandom`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_GenerateRandom(
    hSession: CK_SESSION_HANDLE,
    RandomData: *mut CK_BYTE,
    ulRandomLen: CK_ULONG,
) -> CK_RV {
    entry("C_GenerateRandom", |e| {
        // SAFETY: RandomData is valid for writing ulRandomLen bytes.
        let out = unsafe { OutSlice::new(RandomData, ulRandomLen) }?;
        let mut random = e.generate_random(ul(hSession), out.capacity())?;
        let r = if random.len() == out.capacity() { out.fill(&random) } else { Err(Error::GeneralError) };
        random.zeroize();
        r
    })
}

// ---- legacy parallel functions, slot events ------------------------------------------

/// `C_GetFunctionStatus`: `CKR_FUNCTION_NOT_PARALLEL`, as for every module since 2.01.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_GetFunctionStatus(_hSession: CK_SESSION_HANDLE) -> CK_RV {
    entry("C_GetFunctionStatus", |_| Err(Error::FunctionNotParallel))
}

/// `C_CancelFunction`: `CKR_FUNCTION_NOT_PARALLEL`, as for every module since 2.01.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_CancelFunction(_hSession: CK_SESSION_HANDLE) -> CK_RV {
    entry("C_CancelFunction", |_| Err(Error::FunctionNotParallel))
}

/// `C_WaitForSlotEvent`: not supported (slots never change while the module runs).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_WaitForSlotEvent(
    _flags: CK_FLAGS,
    _pSlot: *mut CK_SLOT_ID,
    _pReserved: CK_VOID_PTR,
) -> CK_RV {
    not_supported("C_WaitForSlotEvent")
}

// ---- 3.0: session cancel and message-based functions: not supported -----------------

/// `C_SessionCancel`: not supported.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_SessionCancel(_hSession: CK_SESSION_HANDLE, _flags: CK_FLAGS) -> CK_RV {
    not_supported("C_SessionCancel")
}

/// `C_MessageEncryptInit`: not supported.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_MessageEncryptInit(
    _hSession: CK_SESSION_HANDLE,
    _pMechanism: *mut CK_MECHANISM,
    _hKey: CK_OBJECT_HANDLE,
) -> CK_RV {
    not_supported("C_MessageEncryptInit")
}

/// `C_EncryptMessage`: not supported.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_EncryptMessage(
    _hSession: CK_SESSION_HANDLE,
    _pParameter: CK_VOID_PTR,
    _ulParameterLen: CK_ULONG,
    _pAssociatedData: *mut CK_BYTE,
    _ulAssociatedDataLen: CK_ULONG,
    _pPlaintext: *mut CK_BYTE,
    _ulPlaintextLen: CK_ULONG,
    _pCiphertext: *mut CK_BYTE,
    _pulCiphertextLen: *mut CK_ULONG,
) -> CK_RV {
    not_supported("C_EncryptMessage")
}

/// `C_EncryptMessageBegin`: not supported.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_EncryptMessageBegin(
    _hSession: CK_SESSION_HANDLE,
    _pParameter: CK_VOID_PTR,
    _ulParameterLen: CK_ULONG,
    _pAssociatedData: *mut CK_BYTE,
    _ulAssociatedDataLen: CK_ULONG,
) -> CK_RV {
    not_supported("C_EncryptMessageBegin")
}

/// `C_EncryptMessageNext`: not supported.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_EncryptMessageNext(
    _hSession: CK_SESSION_HANDLE,
    _pParameter: CK_VOID_PTR,
    _ulParameterLen: CK_ULONG,
    _pPlaintextPart: *mut CK_BYTE,
    _ulPlaintextPartLen: CK_ULONG,
    _pCiphertextPart: *mut CK_BYTE,
    _pulCiphertextPartLen: *mut CK_ULONG,
    _flags: CK_FLAGS,
) -> CK_RV {
    not_supported("C_EncryptMessageNext")
}

/// `C_MessageEncryptFinal`: not supported.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_MessageEncryptFinal(_hSession: CK_SESSION_HANDLE) -> CK_RV {
    not_supported("C_MessageEncryptFinal")
}

/// `C_MessageDecryptInit`: not supported.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_MessageDecryptInit(
    _hSession: CK_SESSION_HANDLE,
    _pMechanism: *mut CK_MECHANISM,
    _hKey: CK_OBJECT_HANDLE,
) -> CK_RV {
    not_supported("C_MessageDecryptInit")
}

/// `C_DecryptMessage`: not supported.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_DecryptMessage(
    _hSession: CK_SESSION_HANDLE,
    _pParameter: CK_VOID_PTR,
    _ulParameterLen: CK_ULONG,
    _pAssociatedData: *mut CK_BYTE,
    _ulAssociatedDataLen: CK_ULONG,
    _pCiphertext: *mut CK_BYTE,
    _ulCiphertextLen: CK_ULONG,
    _pPlaintext: *mut CK_BYTE,
    _pulPlaintextLen: *mut CK_ULONG,
) -> CK_RV {
    not_supported("C_DecryptMessage")
}

/// `C_DecryptMessageBegin`: not supported.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_DecryptMessageBegin(
    _hSession: CK_SESSION_HANDLE,
    _pParameter: CK_VOID_PTR,
    _ulParameterLen: CK_ULONG,
    _pAssociatedData: *mut CK_BYTE,
    _ulAssociatedDataLen: CK_ULONG,
) -> CK_RV {
    not_supported("C_DecryptMessageBegin")
}

/// `C_DecryptMessageNext`: not supported.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_DecryptMessageNext(
    _hSession: CK_SESSION_HANDLE,
    _pParameter: CK_VOID_PTR,
    _ulParameterLen: CK_ULONG,
    _pCiphertextPart: *mut CK_BYTE,
    _ulCiphertextPartLen: CK_ULONG,
    _pPlaintextPart: *mut CK_BYTE,
    _pulPlaintextPartLen: *mut CK_ULONG,
    _flags: CK_FLAGS,
) -> CK_RV {
    not_supported("C_DecryptMessageNext")
}

/// `C_MessageDecryptFinal`: not supported.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_MessageDecryptFinal(_hSession: CK_SESSION_HANDLE) -> CK_RV {
    not_supported("C_MessageDecryptFinal")
}

/// `C_MessageSignInit`: not supported.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_MessageSignInit(
    _hSession: CK_SESSION_HANDLE,
    _pMechanism: *mut CK_MECHANISM,
    _hKey: CK_OBJECT_HANDLE,
) -> CK_RV {
    not_supported("C_MessageSignInit")
}

/// `C_SignMessage`: not supported.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_SignMessage(
    _hSession: CK_SESSION_HANDLE,
    _pParameter: CK_VOID_PTR,
    _ulParameterLen: CK_ULONG,
    _pData: *mut CK_BYTE,
    _ulDataLen: CK_ULONG,
    _pSignature: *mut CK_BYTE,
    _pulSignatureLen: *mut CK_ULONG,
) -> CK_RV {
    not_supported("C_SignMessage")
}

/// `C_SignMessageBegin`: not supported.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_SignMessageBegin(
    _hSession: CK_SESSION_HANDLE,
    _pParameter: CK_VOID_PTR,
    _ulParameterLen: CK_ULONG,
) -> CK_RV {
    not_supported("C_SignMessageBegin")
}

/// `C_SignMessageNext`: not supported.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_SignMessageNext(
    _hSession: CK_SESSION_HANDLE,
    _pParameter: CK_VOID_PTR,
    _ulParameterLen: CK_ULONG,
    _pData: *mut CK_BYTE,
    _ulDataLen: CK_ULONG,
    _pSignature: *mut CK_BYTE,
    _pulSignatureLen: *mut CK_ULONG,
) -> CK_RV {
    not_supported("C_SignMessageNext")
}

/// `C_MessageSignFinal`: not supported.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_MessageSignFinal(_hSession: CK_SESSION_HANDLE) -> CK_RV {
    not_supported("C_MessageSignFinal")
}

/// `C_MessageVerifyInit`: not supported.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_MessageVerifyInit(
    _hSession: CK_SESSION_HANDLE,
    _pMechanism: *mut CK_MECHANISM,
    _hKey: CK_OBJECT_HANDLE,
) -> CK_RV {
    not_supported("C_MessageVerifyInit")
}

/// `C_VerifyMessage`: not supported.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_VerifyMessage(
    _hSession: CK_SESSION_HANDLE,
    _pParameter: CK_VOID_PTR,
    _ulParameterLen: CK_ULONG,
    _pData: *mut CK_BYTE,
    _ulDataLen: CK_ULONG,
    _pSignature: *mut CK_BYTE,
    _ulSignatureLen: CK_ULONG,
) -> CK_RV {
    not_supported("C_VerifyMessage")
}

/// `C_VerifyMessageBegin`: not supported.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_VerifyMessageBegin(
    _hSession: CK_SESSION_HANDLE,
    _pParameter: CK_VOID_PTR,
    _ulParameterLen: CK_ULONG,
) -> CK_RV {
    not_supported("C_VerifyMessageBegin")
}

/// `C_VerifyMessageNext`: not supported.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_VerifyMessageNext(
    _hSession: CK_SESSION_HANDLE,
    _pParameter: CK_VOID_PTR,
    _ulParameterLen: CK_ULONG,
    _pData: *mut CK_BYTE,
    _ulDataLen: CK_ULONG,
    _pSignature: *mut CK_BYTE,
    _ulSignatureLen: CK_ULONG,
) -> CK_RV {
    not_supported("C_VerifyMessageNext")
}

/// `C_MessageVerifyFinal`: not supported.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_MessageVerifyFinal(_hSession: CK_SESSION_HANDLE) -> CK_RV {
    not_supported("C_MessageVerifyFinal")
}

// ---- 3.2 additions: not supported -----------------------------------------------------

/// `C_EncapsulateKey`: not supported.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_EncapsulateKey(
    _hSession: CK_SESSION_HANDLE,
    _pMechanism: *mut CK_MECHANISM,
    _hPublicKey: CK_OBJECT_HANDLE,
    _pTemplate: *mut CK_ATTRIBUTE,
    _ulAttributeCount: CK_ULONG,
    _pCiphertext: *mut CK_BYTE,
    _pulCiphertextLen: *mut CK_ULONG,
    _phKey: *mut CK_OBJECT_HANDLE,
) -> CK_RV {
    not_supported("C_EncapsulateKey")
}

/// `C_DecapsulateKey`: not supported.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_DecapsulateKey(
    _hSession: CK_SESSION_HANDLE,
    _pMechanism: *mut CK_MECHANISM,
    _hPrivateKey: CK_OBJECT_HANDLE,
    _pTemplate: *mut CK_ATTRIBUTE,
    _ulAttributeCount: CK_ULONG,
    _pCiphertext: *mut CK_BYTE,
    _ulCiphertextLen: CK_ULONG,
    _phKey: *mut CK_OBJECT_HANDLE,
) -> CK_RV {
    not_supported("C_DecapsulateKey")
}

/// `C_VerifySignatureInit`: not supported.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_VerifySignatureInit(
    _hSession: CK_SESSION_HANDLE,
    _pMechanism: *mut CK_MECHANISM,
    _hKey: CK_OBJECT_HANDLE,
    _pSignature: *mut CK_BYTE,
    _ulSignatureLen: CK_ULONG,
) -> CK_RV {
    not_supported("C_VerifySignatureInit")
}

/// `C_VerifySignature`: not supported.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_VerifySignature(
    _hSession: CK_SESSION_HANDLE,
    _pData: *mut CK_BYTE,
    _ulDataLen: CK_ULONG,
) -> CK_RV {
    not_supported("C_VerifySignature")
}

/// `C_VerifySignatureUpdate`: not supported.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_VerifySignatureUpdate(
    _hSession: CK_SESSION_HANDLE,
    _pPart: *mut CK_BYTE,
    _ulPartLen: CK_ULONG,
) -> CK_RV {
    not_supported("C_VerifySignatureUpdate")
}

/// `C_VerifySignatureFinal`: not supported.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_VerifySignatureFinal(_hSession: CK_SESSION_HANDLE) -> CK_RV {
    not_supported("C_VerifySignatureFinal")
}

/// `C_GetSessionValidationFlags`: not supported.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_GetSessionValidationFlags(
    _hSession: CK_SESSION_HANDLE,
    _type: CK_SESSION_VALIDATION_FLAGS_TYPE,
    _pFlags: *mut CK_FLAGS,
) -> CK_RV {
    not_supported("C_GetSessionValidationFlags")
}

/// `C_AsyncComplete`: not supported.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_AsyncComplete(
    _hSession: CK_SESSION_HANDLE,
    _pFunctionName: *mut CK_UTF8CHAR,
    _pResult: *mut CK_ASYNC_DATA,
) -> CK_RV {
    not_supported("C_AsyncComplete")
}

/// `C_AsyncGetID`: not supported.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_AsyncGetID(
    _hSession: CK_SESSION_HANDLE,
    _pFunctionName: *mut CK_UTF8CHAR,
    _pulID: *mut CK_ULONG,
) -> CK_RV {
    not_supported("C_AsyncGetID")
}

/// `C_AsyncJoin`: not supported.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_AsyncJoin(
    _hSession: CK_SESSION_HANDLE,
    _pFunctionName: *mut CK_UTF8CHAR,
    _ulID: CK_ULONG,
    _pData: *mut CK_BYTE,
    _ulData: CK_ULONG,
) -> CK_RV {
    not_supported("C_AsyncJoin")
}

/// `C_WrapKeyAuthenticated`: not supported.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_WrapKeyAuthenticated(
    _hSession: CK_SESSION_HANDLE,
    _pMechanism: *mut CK_MECHANISM,
    _hWrappingKey: CK_OBJECT_HANDLE,
    _hKey: CK_OBJECT_HANDLE,
    _pAssociatedData: *mut CK_BYTE,
    _ulAssociatedDataLen: CK_ULONG,
    _pWrappedKey: *mut CK_BYTE,
    _pulWrappedKeyLen: *mut CK_ULONG,
) -> CK_RV {
    not_supported("C_WrapKeyAuthenticated")
}

/// `C_UnwrapKeyAuthenticated`: not supported.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_UnwrapKeyAuthenticated(
    _hSession: CK_SESSION_HANDLE,
    _pMechanism: *mut CK_MECHANISM,
    _hUnwrappingKey: CK_OBJECT_HANDLE,
    _pWrappedKey: *mut CK_BYTE,
    _ulWrappedKeyLen: CK_ULONG,
    _pTemplate: *mut CK_ATTRIBUTE,
    _ulAttributeCount: CK_ULONG,
    _pAssociatedData: *mut CK_BYTE,
    _ulAssociatedDataLen: CK_ULONG,
    _phKey: *mut CK_OBJECT_HANDLE,
) -> CK_RV {
    not_supported("C_UnwrapKeyAuthenticated")
}
