//! The C boundary's own rules, through the exported functions themselves (linked from the
//! rlib): argument checks, initialisation, locking arguments, the function lists and
//! interfaces, panics, fork. The module is process-global and reads its configuration from
//! the environment, so everything runs in one `#[test]`, scenario after scenario.
#![allow(clippy::unwrap_used, reason = "test helpers: a failed unwrap is a failed test")]

use core::ffi::c_void;
use core::ptr::null_mut;
use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use anyhsm_pkcs11::abi::{SUPPORT, Support, entry, ffi_guard};
use anyhsm_pkcs11::*;
use cryptoki_sys::*;

/// Every scenario calls exported `C_*` functions, which trust their pointer arguments:
/// this runs one with arguments the test built on its stack, live for the call.
macro_rules! call {
    ($e:expr) => {{
        // SAFETY: every pointer passed is NULL (deliberately, to test the checks) or points
        // at a live local of the type and length the PKCS#11 signature states.
        unsafe { $e }
    }};
}

const SO_PIN: &[u8] = b"so-secret";
const LABEL: [u8; 32] = *b"abi test token                  ";

#[test]
fn c_boundary_rules() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("anyhsm.toml");
    std::fs::write(&conf, "test_token = true\n").unwrap();
    // SAFETY: this file has one test, so no other thread of this process reads or writes
    // the environment while it is changed.
    unsafe {
        std::env::set_var("ANYHSM_CONF", &conf);
        std::env::set_var("ANYHSM_TOKEN_DIR", dir.path().join("tokens"));
        std::env::remove_var("ANYHSM_LOG");
    }

    before_initialize();
    lists_and_interfaces();
    initialize_arguments();
    initialized_module();
    application_mutexes();
    os_locking_with_threads();
    panics_do_not_cross();
    fork_child_starts_afresh();
}

fn before_initialize() {
    let mut info = CK_INFO::default();
    let mut n: CK_ULONG = 0;
    assert_eq!(call!(C_GetInfo(&mut info)), CKR_CRYPTOKI_NOT_INITIALIZED);
    assert_eq!(call!(C_GetSlotList(CK_FALSE, null_mut(), &mut n)), CKR_CRYPTOKI_NOT_INITIALIZED);
    assert_eq!(call!(C_Finalize(null_mut())), CKR_CRYPTOKI_NOT_INITIALIZED);
    assert_eq!(call!(C_CloseSession(1)), CKR_CRYPTOKI_NOT_INITIALIZED);
    // Unsupported functions also say "not initialised" first.
    assert_eq!(call!(C_WaitForSlotEvent(0, null_mut(), null_mut())), CKR_CRYPTOKI_NOT_INITIALIZED);
    assert_eq!(call!(C_GetFunctionStatus(1)), CKR_CRYPTOKI_NOT_INITIALIZED);
}

fn lists_and_interfaces() {
    // C_GetFunctionList needs no C_Initialize, and hands out the 2.40 list.
    assert_eq!(call!(C_GetFunctionList(null_mut())), CKR_ARGUMENTS_BAD);
    let mut list: *mut CK_FUNCTION_LIST = null_mut();
    assert_eq!(call!(C_GetFunctionList(&mut list)), CKR_OK);
    // SAFETY: C_GetFunctionList returned CKR_OK, so `list` points at the module's static list.
    let list = unsafe { &*list };
    assert_eq!((list.version.major, list.version.minor), (2, 40));
    assert!(list.C_Initialize.is_some() && list.C_WaitForSlotEvent.is_some());

    // Three interfaces, the default (3.2) first, with the length-query convention.
    let mut n: CK_ULONG = 0;
    assert_eq!(call!(C_GetInterfaceList(null_mut(), null_mut())), CKR_ARGUMENTS_BAD);
    assert_eq!(call!(C_GetInterfaceList(null_mut(), &mut n)), CKR_OK);
    assert_eq!(n, 3);
    let mut ifaces = [CK_INTERFACE::default(); 3];
    n = 2;
    assert_eq!(call!(C_GetInterfaceList(ifaces.as_mut_ptr(), &mut n)), CKR_BUFFER_TOO_SMALL);
    assert_eq!(n, 3);
    assert_eq!(call!(C_GetInterfaceList(ifaces.as_mut_ptr(), &mut n)), CKR_OK);
    let versions: Vec<(u8, u8)> = ifaces
        .iter()
        .map(|i| {
            // SAFETY: the module's interface names are static NUL-terminated strings.
            let name = unsafe { core::ffi::CStr::from_ptr(i.pInterfaceName.cast()) };
            assert_eq!(name.to_bytes(), b"PKCS 11");
            // SAFETY: every interface's list begins with a CK_VERSION (all lists share the prefix).
            let v = unsafe { &*i.pFunctionList.cast::<CK_FUNCTION_LIST>() }.version;
            (v.major, v.minor)
        })
        .collect();
    assert_eq!(versions, [(3, 2), (3, 0), (2, 40)]);

    // C_GetInterface: default, by name and version, and refusals.
    let mut iface: *mut CK_INTERFACE = null_mut();
    assert_eq!(call!(C_GetInterface(null_mut(), null_mut(), null_mut(), 0)), CKR_ARGUMENTS_BAD);
    assert_eq!(call!(C_GetInterface(null_mut(), null_mut(), &mut iface, 0)), CKR_OK);
    // SAFETY: CKR_OK: `iface` points at a static CK_INTERFACE whose list is the 3.2 one.
    let l32 = unsafe { &*(*iface).pFunctionList.cast::<CK_FUNCTION_LIST_3_2>() };
    assert_eq!((l32.version.major, l32.version.minor), (3, 2));
    assert!(l32.C_UnwrapKeyAuthenticated.is_some() && l32.C_LoginUser.is_some());
    let mut v30 = CK_VERSION { major: 3, minor: 0 };
    let mut name = *b"PKCS 11\0";
    assert_eq!(call!(C_GetInterface(name.as_mut_ptr(), &mut v30, &mut iface, 0)), CKR_OK);
    // SAFETY: CKR_OK: the 3.0 interface's list is a CK_FUNCTION_LIST_3_0.
    let l30 = unsafe { &*(*iface).pFunctionList.cast::<CK_FUNCTION_LIST_3_0>() };
    assert_eq!((l30.version.major, l30.version.minor), (3, 0));
    let mut other = *b"Vendor X\0";
    assert_eq!(call!(C_GetInterface(other.as_mut_ptr(), null_mut(), &mut iface, 0)), CKR_ARGUMENTS_BAD);
    let mut v31 = CK_VERSION { major: 3, minor: 1 };
    assert_eq!(call!(C_GetInterface(null_mut(), &mut v31, &mut iface, 0)), CKR_ARGUMENTS_BAD);
    assert_eq!(
        call!(C_GetInterface(null_mut(), null_mut(), &mut iface, CKF_INTERFACE_FORK_SAFE)),
        CKR_ARGUMENTS_BAD
    );

    // The support table covers every function of the 3.2 list exactly once.
    assert_eq!(SUPPORT.len(), 104);
    assert!(SUPPORT.iter().any(|s| s.0 == "C_Sign" && s.2 == Support::Yes));
    assert!(SUPPORT.iter().any(|s| s.0 == "C_WrapKey" && s.2 == Support::Yes));
    assert!(SUPPORT.iter().any(|s| s.0 == "C_WrapKeyAuthenticated" && s.2 == Support::No));
}

unsafe extern "C" fn fake_create(out: *mut *mut c_void) -> CK_RV {
    // SAFETY: the module passes a valid out-pointer (PKCS#11 §5.4 CreateMutex contract).
    unsafe { *out = null_mut() };
    CKR_OK
}
unsafe extern "C" fn fake_other(_: *mut c_void) -> CK_RV {
    CKR_OK
}

fn init_args() -> CK_C_INITIALIZE_ARGS {
    CK_C_INITIALIZE_ARGS {
        CreateMutex: None,
        DestroyMutex: None,
        LockMutex: None,
        UnlockMutex: None,
        flags: 0,
        pReserved: null_mut(),
    }
}

fn initialize_arguments() {
    let mut a = init_args();
    a.pReserved = (&raw mut a).cast();
    assert_eq!(call!(C_Initialize((&raw mut a).cast())), CKR_ARGUMENTS_BAD);

    let mut a = init_args();
    a.CreateMutex = Some(fake_create);
    a.LockMutex = Some(fake_other);
    assert_eq!(call!(C_Initialize((&raw mut a).cast())), CKR_ARGUMENTS_BAD, "two callbacks of four");
    a.flags = CKF_OS_LOCKING_OK;
    assert_eq!(call!(C_Initialize((&raw mut a).cast())), CKR_ARGUMENTS_BAD, "even with OS locking");

    // Refused calls left the module uninitialised.
    let mut info = CK_INFO::default();
    assert_eq!(call!(C_GetInfo(&mut info)), CKR_CRYPTOKI_NOT_INITIALIZED);

    // CKF_LIBRARY_CANT_CREATE_OS_THREADS is fine: the module creates none.
    let mut a = init_args();
    a.flags = CKF_LIBRARY_CANT_CREATE_OS_THREADS;
    assert_eq!(call!(C_Initialize((&raw mut a).cast())), CKR_OK);
    assert_eq!(call!(C_Initialize(null_mut())), CKR_CRYPTOKI_ALREADY_INITIALIZED);
    assert_eq!(call!(C_Finalize((&raw mut a).cast())), CKR_ARGUMENTS_BAD);
    assert_eq!(call!(C_Finalize(null_mut())), CKR_OK);
    assert_eq!(call!(C_Finalize(null_mut())), CKR_CRYPTOKI_NOT_INITIALIZED);
}

/// The slot that holds the test token, after initialising it in the spare slot.
fn init_test_token() -> CK_SLOT_ID {
    let mut n: CK_ULONG = 0;
    assert_eq!(call!(C_GetSlotList(CK_FALSE, null_mut(), &mut n)), CKR_OK);
    let mut slots = vec![0; usize::try_from(n).unwrap()];
    assert_eq!(call!(C_GetSlotList(CK_FALSE, slots.as_mut_ptr(), &mut n)), CKR_OK);
    // The spare, uninitialised slot is listed last.
    let spare = *slots.last().unwrap();
    let mut pin = SO_PIN.to_vec();
    let mut label = LABEL;
    let pin_len = CK_ULONG::try_from(pin.len()).unwrap();
    assert_eq!(call!(C_InitToken(spare, pin.as_mut_ptr(), pin_len, null_mut())), CKR_ARGUMENTS_BAD);
    assert_eq!(call!(C_InitToken(spare, null_mut(), pin_len, label.as_mut_ptr())), CKR_ARGUMENTS_BAD);
    assert_eq!(call!(C_InitToken(spare, pin.as_mut_ptr(), pin_len, label.as_mut_ptr())), CKR_OK);
    spare
}

fn open_rw(slot: CK_SLOT_ID) -> CK_SESSION_HANDLE {
    let mut h: CK_SESSION_HANDLE = 0;
    let flags = CKF_SERIAL_SESSION | CKF_RW_SESSION;
    assert_eq!(call!(C_OpenSession(slot, flags, null_mut(), None, &mut h)), CKR_OK);
    h
}

fn ul(n: usize) -> CK_ULONG {
    CK_ULONG::try_from(n).unwrap()
}

fn initialized_module() {
    assert_eq!(call!(C_Initialize(null_mut())), CKR_OK);

    // C_GetInfo through the exported symbol reports 2.40; through the 3.2 interface, 3.2.
    assert_eq!(call!(C_GetInfo(null_mut())), CKR_ARGUMENTS_BAD);
    let mut info = CK_INFO::default();
    assert_eq!(call!(C_GetInfo(&mut info)), CKR_OK);
    assert_eq!((info.cryptokiVersion.major, info.cryptokiVersion.minor), (2, 40));
    assert_eq!(&info.manufacturerID, b"anyhsm                          ");
    assert_eq!(&info.libraryDescription, b"anyhsm PKCS#11 module           ");
    let mut iface: *mut CK_INTERFACE = null_mut();
    assert_eq!(call!(C_GetInterface(null_mut(), null_mut(), &mut iface, 0)), CKR_OK);
    // SAFETY: CKR_OK: the default interface's list is a static CK_FUNCTION_LIST_3_2.
    let get_info = unsafe { &*(*iface).pFunctionList.cast::<CK_FUNCTION_LIST_3_2>() }.C_GetInfo.unwrap();
    assert_eq!(call!(get_info(&mut info)), CKR_OK);
    assert_eq!((info.cryptokiVersion.major, info.cryptokiVersion.minor), (3, 2));

    // Slot lists: NULL count, length query, short buffer.
    let mut n: CK_ULONG = 0;
    assert_eq!(call!(C_GetSlotList(CK_FALSE, null_mut(), null_mut())), CKR_ARGUMENTS_BAD);
    assert_eq!(call!(C_GetSlotList(CK_TRUE, null_mut(), &mut n)), CKR_OK);
    assert!(n >= 1);
    let mut slots = vec![0; usize::try_from(n).unwrap()];
    let mut short: CK_ULONG = 0;
    assert_eq!(call!(C_GetSlotList(CK_TRUE, slots.as_mut_ptr(), &mut short)), CKR_BUFFER_TOO_SMALL);
    assert_eq!(short, n);
    assert_eq!(call!(C_GetSlotInfo(slots[0], null_mut())), CKR_ARGUMENTS_BAD);
    assert_eq!(call!(C_GetTokenInfo(slots[0], null_mut())), CKR_ARGUMENTS_BAD);
    let mut si = CK_SLOT_INFO::default();
    assert_eq!(call!(C_GetSlotInfo(slots[0], &mut si)), CKR_OK);
    assert_eq!(&si.manufacturerID[..7], b"anyhsm ");
    let mut mechs: CK_ULONG = 0;
    assert_eq!(call!(C_GetMechanismList(slots[0], null_mut(), &mut mechs)), CKR_OK);
    assert!(mechs > 0);

    let slot = init_test_token();
    let mut ti = CK_TOKEN_INFO::default();
    assert_eq!(call!(C_GetTokenInfo(slot, &mut ti)), CKR_OK);
    assert_eq!(ti.label, LABEL);
    assert_ne!(ti.flags & CKF_TOKEN_INITIALIZED, 0);

    // Sessions.
    let mut h: CK_SESSION_HANDLE = 0;
    let flags = CKF_SERIAL_SESSION;
    assert_eq!(call!(C_OpenSession(slot, flags, null_mut(), None, null_mut())), CKR_ARGUMENTS_BAD);
    assert_eq!(call!(C_OpenSession(slot, 0, null_mut(), None, &mut h)), CKR_SESSION_PARALLEL_NOT_SUPPORTED);
    let s = open_rw(slot);
    assert_eq!(call!(C_GetSessionInfo(s, null_mut())), CKR_ARGUMENTS_BAD);
    let mut sinfo = CK_SESSION_INFO::default();
    assert_eq!(call!(C_GetSessionInfo(s, &mut sinfo)), CKR_OK);
    assert_eq!(sinfo.slotID, slot);
    assert_eq!(call!(C_Login(s, CKU_SO, null_mut(), 4)), CKR_ARGUMENTS_BAD);
    let mut pin = SO_PIN.to_vec();
    let (user, name_len) = (CKU_SO, 0);
    assert_eq!(
        call!(C_LoginUser(s, user, pin.as_mut_ptr(), ul(pin.len()), null_mut(), name_len)),
        CKR_OK,
        "C_LoginUser without a user name is C_Login"
    );
    assert_eq!(call!(C_Logout(s)), CKR_OK);
    let mut username = *b"alice";
    assert_eq!(
        call!(C_LoginUser(s, CKU_USER, pin.as_mut_ptr(), ul(pin.len()), username.as_mut_ptr(), 5)),
        CKR_FUNCTION_NOT_SUPPORTED
    );

    // Random numbers.
    let mut buf = [0u8; 32];
    assert_eq!(call!(C_GenerateRandom(s, null_mut(), 16)), CKR_ARGUMENTS_BAD);
    assert_eq!(call!(C_GenerateRandom(s, buf.as_mut_ptr(), 32)), CKR_OK);
    assert_ne!(buf, [0; 32]);
    assert_eq!(call!(C_GenerateRandom(s, null_mut(), 0)), CKR_OK);

    digest_output_convention(s);
    templates_and_attributes(s);
    keys_and_recovery(s);
    unsupported_functions(s);

    assert_eq!(call!(C_CloseSession(s)), CKR_OK);
    assert_eq!(call!(C_CloseSession(s)), CKR_SESSION_HANDLE_INVALID);
    assert_eq!(call!(C_Finalize(null_mut())), CKR_OK);
    assert_eq!(call!(C_GetInfo(&mut info)), CKR_CRYPTOKI_NOT_INITIALIZED);
}

/// SHA-256 of "abc" (FIPS 180-2 appendix B.1).
const SHA256_ABC: [u8; 32] = [
    0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40, 0xde, 0x5d, 0xae, 0x22, 0x23, 0xb0,
    0x03, 0x61, 0xa3, 0x96, 0x17, 0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad,
];

fn digest_output_convention(s: CK_SESSION_HANDLE) {
    assert_eq!(call!(C_DigestInit(s, null_mut())), CKR_ARGUMENTS_BAD);
    let mut bogus = CK_MECHANISM { mechanism: 0x8000_7777, pParameter: null_mut(), ulParameterLen: 0 };
    assert_eq!(call!(C_DigestInit(s, &mut bogus)), CKR_MECHANISM_INVALID);
    let mut param = [0u8; 4];
    let mut with_param =
        CK_MECHANISM { mechanism: CKM_SHA256, pParameter: param.as_mut_ptr().cast(), ulParameterLen: 4 };
    assert_eq!(call!(C_DigestInit(s, &mut with_param)), CKR_MECHANISM_PARAM_INVALID);
    let mut sha256 = CK_MECHANISM { mechanism: CKM_SHA256, pParameter: null_mut(), ulParameterLen: 0 };
    assert_eq!(call!(C_DigestInit(s, &mut sha256)), CKR_OK);

    let mut data = *b"abc";
    let mut out = [0u8; 64];
    let mut len: CK_ULONG = 0;
    // Argument errors are found before the engine is asked: the operation stays active.
    assert_eq!(call!(C_Digest(s, data.as_mut_ptr(), 3, out.as_mut_ptr(), null_mut())), CKR_ARGUMENTS_BAD);
    assert_eq!(call!(C_Digest(s, null_mut(), 3, null_mut(), &mut len)), CKR_ARGUMENTS_BAD);
    // Length query, then a short buffer: length and CKR_BUFFER_TOO_SMALL, still active.
    assert_eq!(call!(C_Digest(s, data.as_mut_ptr(), 3, null_mut(), &mut len)), CKR_OK);
    assert_eq!(len, 32);
    len = 16;
    assert_eq!(call!(C_Digest(s, data.as_mut_ptr(), 3, out.as_mut_ptr(), &mut len)), CKR_BUFFER_TOO_SMALL);
    assert_eq!(len, 32);
    len = 64;
    assert_eq!(call!(C_Digest(s, data.as_mut_ptr(), 3, out.as_mut_ptr(), &mut len)), CKR_OK);
    assert_eq!((len, &out[..32]), (32, &SHA256_ABC[..]));
    assert_eq!(
        call!(C_Digest(s, data.as_mut_ptr(), 3, out.as_mut_ptr(), &mut len)),
        CKR_OPERATION_NOT_INITIALIZED
    );

    // Multi-part.
    assert_eq!(call!(C_DigestInit(s, &mut sha256)), CKR_OK);
    assert_eq!(call!(C_DigestUpdate(s, null_mut(), 1)), CKR_ARGUMENTS_BAD);
    assert_eq!(call!(C_DigestUpdate(s, data.as_mut_ptr(), 1)), CKR_OK);
    assert_eq!(call!(C_DigestUpdate(s, data[1..].as_mut_ptr(), 2)), CKR_OK);
    assert_eq!(call!(C_DigestUpdate(s, null_mut(), 0)), CKR_OK, "NULL with length 0 is empty input");
    len = 0;
    assert_eq!(call!(C_DigestFinal(s, null_mut(), &mut len)), CKR_OK);
    assert_eq!(len, 32);
    assert_eq!(call!(C_DigestFinal(s, out.as_mut_ptr(), &mut len)), CKR_OK);
    assert_eq!(&out[..32], &SHA256_ABC[..]);
}

fn attr(ty: CK_ATTRIBUTE_TYPE, value: &mut [u8]) -> CK_ATTRIBUTE {
    CK_ATTRIBUTE { type_: ty, pValue: value.as_mut_ptr().cast(), ulValueLen: ul(value.len()) }
}

fn templates_and_attributes(s: CK_SESSION_HANDLE) {
    let mut class = CKO_DATA.to_ne_bytes();
    let mut label = *b"abi data";
    let mut value = *b"payload";
    let mut template =
        [attr(CKA_CLASS, &mut class), attr(CKA_LABEL, &mut label), attr(CKA_VALUE, &mut value)];
    let mut h: CK_OBJECT_HANDLE = 0;
    assert_eq!(call!(C_CreateObject(s, template.as_mut_ptr(), 3, null_mut())), CKR_ARGUMENTS_BAD);
    assert_eq!(call!(C_CreateObject(s, null_mut(), 3, &mut h)), CKR_ARGUMENTS_BAD);
    let mut null_value = [CK_ATTRIBUTE { type_: CKA_LABEL, pValue: null_mut(), ulValueLen: 4 }];
    assert_eq!(call!(C_CreateObject(s, null_value.as_mut_ptr(), 1, &mut h)), CKR_ARGUMENTS_BAD);
    let mut junk = [0u8; 1];
    let mut unknown = [attr(CKA_CLASS, &mut class), attr(0x7fff_0001, &mut junk)];
    assert_eq!(call!(C_CreateObject(s, unknown.as_mut_ptr(), 2, &mut h)), CKR_ATTRIBUTE_TYPE_INVALID);
    let mut short_class =
        [CK_ATTRIBUTE { type_: CKA_CLASS, pValue: junk.as_mut_ptr().cast(), ulValueLen: 1 }];
    assert_eq!(call!(C_CreateObject(s, short_class.as_mut_ptr(), 1, &mut h)), CKR_ATTRIBUTE_VALUE_INVALID);
    assert_eq!(call!(C_CreateObject(s, template.as_mut_ptr(), 3, &mut h)), CKR_OK);
    assert_ne!(h, CK_INVALID_HANDLE);

    // C_GetAttributeValue: lengths, values, short buffer and unknown type, all processed.
    let mut lbuf = [0u8; 32];
    let mut vbuf = [0u8; 2];
    let mut get = [
        CK_ATTRIBUTE { type_: CKA_LABEL, pValue: null_mut(), ulValueLen: 0 },
        CK_ATTRIBUTE { type_: CKA_LABEL, pValue: lbuf.as_mut_ptr().cast(), ulValueLen: 32 },
        CK_ATTRIBUTE { type_: CKA_VALUE, pValue: vbuf.as_mut_ptr().cast(), ulValueLen: 2 },
    ];
    assert_eq!(call!(C_GetAttributeValue(s, h, get.as_mut_ptr(), 3)), CKR_BUFFER_TOO_SMALL);
    assert_eq!(get[0].ulValueLen, 8);
    assert_eq!((get[1].ulValueLen, &lbuf[..8]), (8, &b"abi data"[..]));
    assert_eq!(get[2].ulValueLen, CK_UNAVAILABLE_INFORMATION);
    let mut get = [
        CK_ATTRIBUTE { type_: 0x7fff_0001, pValue: null_mut(), ulValueLen: 0 },
        CK_ATTRIBUTE { type_: CKA_VALUE, pValue: null_mut(), ulValueLen: 0 },
    ];
    assert_eq!(call!(C_GetAttributeValue(s, h, get.as_mut_ptr(), 2)), CKR_ATTRIBUTE_TYPE_INVALID);
    assert_eq!((get[0].ulValueLen, get[1].ulValueLen), (CK_UNAVAILABLE_INFORMATION, 7));
    assert_eq!(call!(C_GetAttributeValue(s, h, null_mut(), 1)), CKR_ARGUMENTS_BAD);
    let mut size: CK_ULONG = 0;
    assert_eq!(call!(C_GetObjectSize(s, h, null_mut())), CKR_ARGUMENTS_BAD);
    assert_eq!(call!(C_GetObjectSize(s, h, &mut size)), CKR_OK);

    // Find: NULL template with count 0 matches everything; NULL output with room is bad.
    assert_eq!(call!(C_FindObjectsInit(s, null_mut(), 1)), CKR_ARGUMENTS_BAD);
    assert_eq!(call!(C_FindObjectsInit(s, template[1..].as_mut_ptr(), 1)), CKR_OK);
    let mut found = [0 as CK_OBJECT_HANDLE; 4];
    let mut n: CK_ULONG = 0;
    assert_eq!(call!(C_FindObjects(s, null_mut(), 4, &mut n)), CKR_ARGUMENTS_BAD);
    assert_eq!(call!(C_FindObjects(s, found.as_mut_ptr(), 4, null_mut())), CKR_ARGUMENTS_BAD);
    assert_eq!(call!(C_FindObjects(s, found.as_mut_ptr(), 4, &mut n)), CKR_OK);
    assert_eq!((n, found[0]), (1, h));
    assert_eq!(call!(C_FindObjectsFinal(s)), CKR_OK);
    assert_eq!(call!(C_DestroyObject(s, h)), CKR_OK);
    assert_eq!(call!(C_DestroyObject(s, h)), CKR_OBJECT_HANDLE_INVALID);
}

/// `C_WrapKey`, `C_UnwrapKey`, `C_DeriveKey` and the recovery functions: their argument
/// checks come before the engine; past them, the engine answers (an unextractable key is not
/// wrapped, a bogus blob does not unwrap, and no family derives with a digest or recovers
/// with HMAC, so those are `CKR_MECHANISM_INVALID`).
fn keys_and_recovery(s: CK_SESSION_HANDLE) {
    let mut class = CKO_SECRET_KEY.to_ne_bytes();
    let mut key_type = CKK_AES.to_ne_bytes();
    let mut value = [7u8; 32];
    let (mut private, mut wrap, mut unwrap, mut derive) = ([CK_FALSE], [CK_TRUE], [CK_TRUE], [CK_TRUE]);
    let mut template = [
        attr(CKA_CLASS, &mut class),
        attr(CKA_KEY_TYPE, &mut key_type),
        attr(CKA_VALUE, &mut value),
        attr(CKA_PRIVATE, &mut private),
        attr(CKA_WRAP, &mut wrap),
        attr(CKA_UNWRAP, &mut unwrap),
        attr(CKA_DERIVE, &mut derive),
    ];
    let mut key: CK_OBJECT_HANDLE = 0;
    assert_eq!(call!(C_CreateObject(s, template.as_mut_ptr(), ul(template.len()), &mut key)), CKR_OK);

    let mut iv = [0u8; 12];
    let mut gcm_params = CK_GCM_PARAMS {
        pIv: iv.as_mut_ptr(),
        ulIvLen: 12,
        ulIvBits: 96,
        pAAD: null_mut(),
        ulAADLen: 0,
        ulTagBits: 128,
    };
    let gcm_len = ul(size_of::<CK_GCM_PARAMS>());
    let mut gcm = CK_MECHANISM {
        mechanism: CKM_AES_GCM,
        pParameter: (&raw mut gcm_params).cast(),
        ulParameterLen: gcm_len,
    };
    let mut sha256 = CK_MECHANISM { mechanism: CKM_SHA256, pParameter: null_mut(), ulParameterLen: 0 };
    let mut hmac = CK_MECHANISM { mechanism: CKM_SHA256_HMAC, pParameter: null_mut(), ulParameterLen: 0 };
    let mut buf = [0u8; 64];
    let mut n: CK_ULONG = 64;

    // C_WrapKey: the length word is required, the buffer follows the length-query rule.
    assert_eq!(call!(C_WrapKey(s, null_mut(), key, key, null_mut(), &mut n)), CKR_ARGUMENTS_BAD);
    assert_eq!(call!(C_WrapKey(s, &mut gcm, key, key, buf.as_mut_ptr(), null_mut())), CKR_ARGUMENTS_BAD);
    // Past the argument checks the engine answers: this key is not extractable (the default).
    assert_eq!(call!(C_WrapKey(s, &mut gcm, key, key, null_mut(), &mut n)), CKR_KEY_UNEXTRACTABLE);
    assert_eq!(call!(C_WrapKey(s, &mut gcm, key, key, buf.as_mut_ptr(), &mut n)), CKR_KEY_UNEXTRACTABLE);

    // C_UnwrapKey: phKey, the wrapped key and the template are checked first.
    let mut unwrapped: CK_OBJECT_HANDLE = 0;
    let t = template.as_mut_ptr();
    assert_eq!(
        call!(C_UnwrapKey(s, &mut gcm, key, buf.as_mut_ptr(), 40, t, 2, null_mut())),
        CKR_ARGUMENTS_BAD
    );
    assert_eq!(call!(C_UnwrapKey(s, &mut gcm, key, null_mut(), 40, t, 2, &mut unwrapped)), CKR_ARGUMENTS_BAD);
    assert_eq!(
        call!(C_UnwrapKey(s, &mut gcm, key, buf.as_mut_ptr(), 40, null_mut(), 2, &mut unwrapped)),
        CKR_ARGUMENTS_BAD
    );
    assert_eq!(
        call!(C_UnwrapKey(s, null_mut(), key, buf.as_mut_ptr(), 40, t, 2, &mut unwrapped)),
        CKR_ARGUMENTS_BAD
    );
    assert_eq!(
        call!(C_UnwrapKey(s, &mut gcm, key, buf.as_mut_ptr(), 40, t, 2, &mut unwrapped)),
        CKR_WRAPPED_KEY_INVALID,
        "40 bytes that are no GCM-wrapped key fail their tag"
    );

    // C_DeriveKey: phKey is required for every mechanism the engine offers.
    let mut derived: CK_OBJECT_HANDLE = 0;
    assert_eq!(call!(C_DeriveKey(s, &mut sha256, key, t, 2, null_mut())), CKR_ARGUMENTS_BAD);
    assert_eq!(call!(C_DeriveKey(s, null_mut(), key, t, 2, &mut derived)), CKR_ARGUMENTS_BAD);
    assert_eq!(call!(C_DeriveKey(s, &mut sha256, key, null_mut(), 2, &mut derived)), CKR_ARGUMENTS_BAD);
    let mut bad_param = gcm;
    bad_param.ulParameterLen = 3;
    assert_eq!(call!(C_DeriveKey(s, &mut bad_param, key, t, 2, &mut derived)), CKR_MECHANISM_PARAM_INVALID);
    assert_eq!(call!(C_DeriveKey(s, &mut sha256, key, t, 2, &mut derived)), CKR_MECHANISM_INVALID);
    assert_eq!(derived, 0, "nothing written on failure");

    // Sign and verify with recovery: init needs a mechanism; the steps check their
    // buffers before they look for an operation.
    let mut data = *b"abc";
    assert_eq!(call!(C_SignRecoverInit(s, null_mut(), key)), CKR_ARGUMENTS_BAD);
    assert_eq!(call!(C_SignRecoverInit(s, &mut hmac, key)), CKR_MECHANISM_INVALID);
    assert_eq!(
        call!(C_SignRecover(s, data.as_mut_ptr(), 3, buf.as_mut_ptr(), null_mut())),
        CKR_ARGUMENTS_BAD
    );
    assert_eq!(call!(C_SignRecover(s, null_mut(), 3, null_mut(), &mut n)), CKR_ARGUMENTS_BAD);
    assert_eq!(
        call!(C_SignRecover(s, data.as_mut_ptr(), 3, null_mut(), &mut n)),
        CKR_OPERATION_NOT_INITIALIZED
    );
    assert_eq!(call!(C_VerifyRecoverInit(s, null_mut(), key)), CKR_ARGUMENTS_BAD);
    assert_eq!(call!(C_VerifyRecoverInit(s, &mut hmac, key)), CKR_MECHANISM_INVALID);
    assert_eq!(
        call!(C_VerifyRecover(s, buf.as_mut_ptr(), 8, buf.as_mut_ptr(), null_mut())),
        CKR_ARGUMENTS_BAD
    );
    assert_eq!(call!(C_VerifyRecover(s, null_mut(), 8, null_mut(), &mut n)), CKR_ARGUMENTS_BAD);
    assert_eq!(
        call!(C_VerifyRecover(s, buf.as_mut_ptr(), 8, null_mut(), &mut n)),
        CKR_OPERATION_NOT_INITIALIZED
    );

    assert_eq!(call!(C_DestroyObject(s, key)), CKR_OK);
}

fn unsupported_functions(s: CK_SESSION_HANDLE) {
    let mut n: CK_ULONG = 0;
    assert_eq!(call!(C_GetOperationState(s, null_mut(), &mut n)), CKR_FUNCTION_NOT_SUPPORTED);
    assert_eq!(
        call!(C_WrapKeyAuthenticated(s, null_mut(), 0, 0, null_mut(), 0, null_mut(), &mut n)),
        CKR_FUNCTION_NOT_SUPPORTED
    );
    assert_eq!(call!(C_WaitForSlotEvent(0, null_mut(), null_mut())), CKR_FUNCTION_NOT_SUPPORTED);
    assert_eq!(call!(C_MessageEncryptFinal(s)), CKR_FUNCTION_NOT_SUPPORTED);
    assert_eq!(
        call!(C_EncapsulateKey(s, null_mut(), 0, null_mut(), 0, null_mut(), &mut n, null_mut())),
        CKR_FUNCTION_NOT_SUPPORTED
    );
    assert_eq!(call!(C_GetFunctionStatus(s)), CKR_FUNCTION_NOT_PARALLEL);
    assert_eq!(call!(C_CancelFunction(s)), CKR_FUNCTION_NOT_PARALLEL);
}

// ---- application mutexes -------------------------------------------------------------

static CREATED: AtomicUsize = AtomicUsize::new(0);
static DESTROYED: AtomicUsize = AtomicUsize::new(0);
static LOCKS: AtomicUsize = AtomicUsize::new(0);
static UNLOCKS: AtomicUsize = AtomicUsize::new(0);

unsafe extern "C" fn create_mutex(out: *mut *mut c_void) -> CK_RV {
    let m = Box::into_raw(Box::new(AtomicBool::new(false)));
    // SAFETY: the module passes a valid out-pointer (CreateMutex contract).
    unsafe { *out = m.cast() };
    CREATED.fetch_add(1, Ordering::SeqCst);
    CKR_OK
}

unsafe extern "C" fn destroy_mutex(m: *mut c_void) -> CK_RV {
    // SAFETY: `m` came from `create_mutex`, destroyed once (DestroyMutex contract).
    drop(unsafe { Box::from_raw(m.cast::<AtomicBool>()) });
    DESTROYED.fetch_add(1, Ordering::SeqCst);
    CKR_OK
}

unsafe extern "C" fn lock_mutex(m: *mut c_void) -> CK_RV {
    // SAFETY: `m` came from `create_mutex` and is live until `destroy_mutex`.
    let m = unsafe { &*m.cast::<AtomicBool>() };
    while m.compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed).is_err() {
        std::thread::yield_now();
    }
    LOCKS.fetch_add(1, Ordering::SeqCst);
    CKR_OK
}

unsafe extern "C" fn unlock_mutex(m: *mut c_void) -> CK_RV {
    // SAFETY: as in `lock_mutex`.
    let m = unsafe { &*m.cast::<AtomicBool>() };
    if !m.swap(false, Ordering::Release) {
        return CKR_MUTEX_NOT_LOCKED;
    }
    UNLOCKS.fetch_add(1, Ordering::SeqCst);
    CKR_OK
}

fn app_args(flags: CK_FLAGS) -> CK_C_INITIALIZE_ARGS {
    CK_C_INITIALIZE_ARGS {
        CreateMutex: Some(create_mutex),
        DestroyMutex: Some(destroy_mutex),
        LockMutex: Some(lock_mutex),
        UnlockMutex: Some(unlock_mutex),
        flags,
        pReserved: null_mut(),
    }
}

fn application_mutexes() {
    // Callbacks without CKF_OS_LOCKING_OK: every call takes the application's mutex.
    let mut a = app_args(0);
    assert_eq!(call!(C_Initialize((&raw mut a).cast())), CKR_OK);
    assert_eq!(CREATED.load(Ordering::SeqCst), 1);
    let mut n: CK_ULONG = 0;
    let before = LOCKS.load(Ordering::SeqCst);
    assert_eq!(call!(C_GetSlotList(CK_FALSE, null_mut(), &mut n)), CKR_OK);
    assert_eq!(call!(C_GetSlotList(CK_FALSE, null_mut(), null_mut())), CKR_ARGUMENTS_BAD);
    assert_eq!(LOCKS.load(Ordering::SeqCst), before + 2);
    assert_eq!(LOCKS.load(Ordering::SeqCst), UNLOCKS.load(Ordering::SeqCst));
    // Threads contend on the application's mutex, not ours.
    let slot = first_token_slot();
    std::thread::scope(|scope| {
        for _ in 0..3 {
            scope.spawn(move || {
                for _ in 0..20 {
                    let s = open_rw(slot);
                    let mut b = [0u8; 8];
                    assert_eq!(call!(C_GenerateRandom(s, b.as_mut_ptr(), 8)), CKR_OK);
                    assert_eq!(call!(C_CloseSession(s)), CKR_OK);
                }
            });
        }
    });
    assert_eq!(call!(C_Finalize(null_mut())), CKR_OK);
    assert_eq!(DESTROYED.load(Ordering::SeqCst), 1);
    assert_eq!(LOCKS.load(Ordering::SeqCst), UNLOCKS.load(Ordering::SeqCst));

    // Callbacks with CKF_OS_LOCKING_OK: we may use our own locks, and do.
    let mut a = app_args(CKF_OS_LOCKING_OK);
    assert_eq!(call!(C_Initialize((&raw mut a).cast())), CKR_OK);
    assert_eq!(call!(C_GetSlotList(CK_FALSE, null_mut(), &mut n)), CKR_OK);
    assert_eq!(call!(C_Finalize(null_mut())), CKR_OK);
    assert_eq!((CREATED.load(Ordering::SeqCst), DESTROYED.load(Ordering::SeqCst)), (1, 1));
}

/// The first (initialised) token's slot.
fn first_token_slot() -> CK_SLOT_ID {
    let mut slots = [0; 8];
    let mut n: CK_ULONG = 8;
    assert_eq!(call!(C_GetSlotList(CK_TRUE, slots.as_mut_ptr(), &mut n)), CKR_OK);
    assert!(n >= 2, "the test token and the spare slot");
    slots[0]
}

fn os_locking_with_threads() {
    let mut a = init_args();
    a.flags = CKF_OS_LOCKING_OK;
    assert_eq!(call!(C_Initialize((&raw mut a).cast())), CKR_OK);
    let slot = first_token_slot();
    std::thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(move || {
                let s = open_rw(slot);
                let mut sha256 =
                    CK_MECHANISM { mechanism: CKM_SHA256, pParameter: null_mut(), ulParameterLen: 0 };
                for _ in 0..50 {
                    let mut data = *b"abc";
                    let mut out = [0u8; 32];
                    let mut len: CK_ULONG = 32;
                    assert_eq!(call!(C_DigestInit(s, &mut sha256)), CKR_OK);
                    assert_eq!(call!(C_Digest(s, data.as_mut_ptr(), 3, out.as_mut_ptr(), &mut len)), CKR_OK);
                    assert_eq!(out, SHA256_ABC);
                }
                assert_eq!(call!(C_CloseSession(s)), CKR_OK);
            });
        }
    });
    assert_eq!(call!(C_Finalize(null_mut())), CKR_OK);
}

fn panics_do_not_cross() {
    assert_eq!(ffi_guard("C_Test", || panic!("boom")), CKR_GENERAL_ERROR);
    assert_eq!(ffi_guard("C_Test", || Ok(())), CKR_OK);
    assert_eq!(ffi_guard("C_Test", || Err(anyhsm_core::Error::PinIncorrect)), CKR_PIN_INCORRECT);
    assert_eq!(entry("C_Test", |_| Ok(())), CKR_CRYPTOKI_NOT_INITIALIZED);

    // A panic while the engine lock is held: reported, and the module carries on.
    assert_eq!(call!(C_Initialize(null_mut())), CKR_OK);
    assert_eq!(entry("C_Test", |_| panic!("boom under the lock")), CKR_GENERAL_ERROR);
    let mut n: CK_ULONG = 0;
    assert_eq!(call!(C_GetSlotList(CK_FALSE, null_mut(), &mut n)), CKR_OK);
    assert_eq!(call!(C_Finalize(null_mut())), CKR_OK);
}

fn fork_child_starts_afresh() {
    assert_eq!(call!(C_Initialize(null_mut())), CKR_OK);
    let parent_slot = first_token_slot();
    // SAFETY: the child only calls async-signal-tolerant code of this process (the module,
    // which allocates: glibc's malloc is fork-safe) and leaves with `_exit`.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        let code = fork_child(parent_slot);
        // SAFETY: `_exit` ends the child without running the parent's destructors or atexit.
        unsafe { libc::_exit(code) };
    }
    let mut status = 0;
    // SAFETY: `pid` is our child; `status` is a live int.
    assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
    assert!(libc::WIFEXITED(status), "child did not exit normally: {status:#x}");
    assert_eq!(libc::WEXITSTATUS(status), 0, "child failed at step {}", libc::WEXITSTATUS(status));
    // The parent's module is untouched.
    assert_eq!(first_token_slot(), parent_slot);
    assert_eq!(call!(C_Finalize(null_mut())), CKR_OK);
}

/// 0 on success, else the number of the step that failed.
fn fork_child(parent_slot: CK_SLOT_ID) -> i32 {
    let mut info = CK_INFO::default();
    if call!(C_GetInfo(&mut info)) != CKR_CRYPTOKI_NOT_INITIALIZED {
        return 1;
    }
    if call!(C_Finalize(null_mut())) != CKR_CRYPTOKI_NOT_INITIALIZED {
        return 2;
    }
    let mut list: *mut CK_FUNCTION_LIST = null_mut();
    if call!(C_GetFunctionList(&mut list)) != CKR_OK {
        return 3;
    }
    if call!(C_Initialize(null_mut())) != CKR_OK {
        return 4;
    }
    let mut slots = [0; 8];
    let mut n: CK_ULONG = 8;
    if call!(C_GetSlotList(CK_TRUE, slots.as_mut_ptr(), &mut n)) != CKR_OK || slots[0] != parent_slot {
        return 5;
    }
    if call!(C_Finalize(null_mut())) != CKR_OK {
        return 6;
    }
    0
}
