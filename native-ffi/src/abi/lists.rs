//! The function lists: `CK_FUNCTION_LIST` (2.40), `CK_FUNCTION_LIST_3_0` and
//! `CK_FUNCTION_LIST_3_2`, all generated from the one list below, with the interfaces of
//! `C_GetInterfaceList` / `C_GetInterface` and the support table.
//!
//! The lists differ only in their version, in the functions a version adds, and in
//! `C_GetInfo`, which reports the version of the list it was called through (so a caller
//! of the 3.2 interface sees `cryptokiVersion` 3.2, one of `C_GetFunctionList` sees 2.40).
//! A function whose signature does not match its field does not compile.

use cryptoki_sys::{CK_FUNCTION_LIST, CK_FUNCTION_LIST_3_0, CK_FUNCTION_LIST_3_2, CK_INTERFACE, CK_VERSION};

use super::functions;

/// How far the module implements a function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Support {
    /// Implemented.
    Yes,
    /// Implemented for part of its inputs (documented at the function).
    Partial,
    /// Returns `CKR_FUNCTION_NOT_SUPPORTED`.
    No,
    /// A legacy function that returns `CKR_FUNCTION_NOT_PARALLEL`, as the spec says.
    Legacy,
}

/// `PKCS#11` 2.40.
pub const V2_40: CK_VERSION = CK_VERSION { major: 2, minor: 40 };
/// `PKCS#11` 3.0.
pub const V3_0: CK_VERSION = CK_VERSION { major: 3, minor: 0 };
/// `PKCS#11` 3.2.
pub const V3_2: CK_VERSION = CK_VERSION { major: 3, minor: 2 };

/// From the one list: the three tables (every field `Some`) and [`SUPPORT`].
macro_rules! function_lists {
    (
        v2_40 { $($a:ident: $sa:ident,)* }
        v3_0 { $($b:ident: $sb:ident,)* }
        v3_2 { $($c:ident: $sc:ident,)* }
    ) => {
        const ALL_2_40: CK_FUNCTION_LIST = CK_FUNCTION_LIST {
            version: V2_40,
            $($a: Some(functions::$a),)*
        };
        const ALL_3_0: CK_FUNCTION_LIST_3_0 = CK_FUNCTION_LIST_3_0 {
            version: V3_0,
            $($a: Some(functions::$a),)*
            $($b: Some(functions::$b),)*
        };
        const ALL_3_2: CK_FUNCTION_LIST_3_2 = CK_FUNCTION_LIST_3_2 {
            version: V3_2,
            $($a: Some(functions::$a),)*
            $($b: Some(functions::$b),)*
            $($c: Some(functions::$c),)*
        };

        /// Every function of every list: its name, the version that added it, and whether
        /// the module implements it (the README's support table).
        pub const SUPPORT: &[(&str, CK_VERSION, Support)] = &[
            $((stringify!($a), V2_40, Support::$sa),)*
            $((stringify!($b), V3_0, Support::$sb),)*
            $((stringify!($c), V3_2, Support::$sc),)*
        ];
    };
}

function_lists! {
    v2_40 {
        C_Initialize: Yes,
        C_Finalize: Yes,
        C_GetInfo: Yes,
        C_GetFunctionList: Yes,
        C_GetSlotList: Yes,
        C_GetSlotInfo: Yes,
        C_GetTokenInfo: Yes,
        C_GetMechanismList: Yes,
        C_GetMechanismInfo: Yes,
        C_InitToken: Yes,
        C_InitPIN: Yes,
        C_SetPIN: Yes,
        C_OpenSession: Yes,
        C_CloseSession: Yes,
        C_CloseAllSessions: Yes,
        C_GetSessionInfo: Yes,
        C_GetOperationState: No,
        C_SetOperationState: No,
        C_Login: Yes,
        C_Logout: Yes,
        C_CreateObject: Yes,
        C_CopyObject: Yes,
        C_DestroyObject: Yes,
        C_GetObjectSize: Yes,
        C_GetAttributeValue: Yes,
        C_SetAttributeValue: Yes,
        C_FindObjectsInit: Yes,
        C_FindObjects: Yes,
        C_FindObjectsFinal: Yes,
        C_EncryptInit: Yes,
        C_Encrypt: Yes,
        C_EncryptUpdate: Yes,
        C_EncryptFinal: Yes,
        C_DecryptInit: Yes,
        C_Decrypt: Yes,
        C_DecryptUpdate: Yes,
        C_DecryptFinal: Yes,
        C_DigestInit: Yes,
        C_Digest: Yes,
        C_DigestUpdate: Yes,
        C_DigestKey: Yes,
        C_DigestFinal: Yes,
        C_SignInit: Yes,
        C_Sign: Yes,
        C_SignUpdate: Yes,
        C_SignFinal: Yes,
        C_SignRecoverInit: Yes,
        C_SignRecover: Yes,
        C_VerifyInit: Yes,
        C_Verify: Yes,
        C_VerifyUpdate: Yes,
        C_VerifyFinal: Yes,
        C_VerifyRecoverInit: Yes,
        C_VerifyRecover: Yes,
        C_DigestEncryptUpdate: No,
        C_DecryptDigestUpdate: No,
        C_SignEncryptUpdate: No,
        C_DecryptVerifyUpdate: No,
        C_GenerateKey: Yes,
        C_GenerateKeyPair: Yes,
        C_WrapKey: Yes,
        C_UnwrapKey: Yes,
        C_DeriveKey: Yes,
        C_SeedRandom: Yes,
        C_GenerateRandom: Yes,
        C_GetFunctionStatus: Legacy,
        C_CancelFunction: Legacy,
        C_WaitForSlotEvent: No,
    }
    v3_0 {
        C_GetInterfaceList: Yes,
        C_GetInterface: Yes,
        C_LoginUser: Partial,
        C_SessionCancel: No,
        C_MessageEncryptInit: No,
        C_EncryptMessage: No,
        C_EncryptMessageBegin: No,
        C_EncryptMessageNext: No,
        C_MessageEncryptFinal: No,
        C_MessageDecryptInit: No,
        C_DecryptMessage: No,
        C_DecryptMessageBegin: No,
        C_DecryptMessageNext: No,
        C_MessageDecryptFinal: No,
        C_MessageSignInit: No,
        C_SignMessage: No,
        C_SignMessageBegin: No,
        C_SignMessageNext: No,
        C_MessageSignFinal: No,
        C_MessageVerifyInit: No,
        C_VerifyMessage: No,
        C_VerifyMessageBegin: No,
        C_VerifyMessageNext: No,
        C_MessageVerifyFinal: No,
    }
    v3_2 {
        C_EncapsulateKey: No,
        C_DecapsulateKey: No,
        C_VerifySignatureInit: No,
        C_VerifySignature: No,
        C_VerifySignatureUpdate: No,
        C_VerifySignatureFinal: No,
        C_GetSessionValidationFlags: No,
        C_AsyncComplete: No,
        C_AsyncGetID: No,
        C_AsyncJoin: No,
        C_WrapKeyAuthenticated: No,
        C_UnwrapKeyAuthenticated: No,
    }
}

/// The 2.40 list of `C_GetFunctionList`.
static LIST_2_40: CK_FUNCTION_LIST = ALL_2_40;
/// The 3.0 list of the "PKCS 11" 3.0 interface.
static LIST_3_0: CK_FUNCTION_LIST_3_0 =
    CK_FUNCTION_LIST_3_0 { C_GetInfo: Some(functions::get_info_3_0), ..ALL_3_0 };
/// The 3.2 list of the default "PKCS 11" 3.2 interface.
static LIST_3_2: CK_FUNCTION_LIST_3_2 =
    CK_FUNCTION_LIST_3_2 { C_GetInfo: Some(functions::get_info_3_2), ..ALL_3_2 };

/// The interface name every list is offered under.
const NAME: &[u8] = b"PKCS 11\0";

/// `CK_INTERFACE` holds raw pointers, so a static of them needs this wrapper.
struct Interfaces([CK_INTERFACE; 3]);

// SAFETY: the pointers lead only to immutable statics (the name and the lists), which the
// application may read from any thread and must not write (PKCS#11 §5.4).
unsafe impl Sync for Interfaces {}

/// What `C_GetInterfaceList` lists, the default (3.2) first. No interface claims
/// `CKF_INTERFACE_FORK_SAFE`: a fork child must call `C_Initialize` again.
static INTERFACES: Interfaces = Interfaces([
    interface((&raw const LIST_3_2).cast()),
    interface((&raw const LIST_3_0).cast()),
    interface((&raw const LIST_2_40).cast()),
]);

const fn interface(list: *const core::ffi::c_void) -> CK_INTERFACE {
    CK_INTERFACE { pInterfaceName: NAME.as_ptr().cast_mut(), pFunctionList: list.cast_mut(), flags: 0 }
}

/// `C_GetFunctionList`'s answer.
pub fn function_list() -> *mut CK_FUNCTION_LIST {
    (&raw const LIST_2_40).cast_mut()
}

/// Every interface, for `C_GetInterfaceList`.
pub fn interfaces() -> &'static [CK_INTERFACE] {
    &INTERFACES.0
}

/// The interface `C_GetInterface` returns for a name (`None`: any), a version (`None`: the
/// default) and required flags, if one matches.
pub fn find_interface(
    name: Option<&[u8]>,
    version: Option<CK_VERSION>,
    flags: u64,
) -> Option<*mut CK_INTERFACE> {
    if name.is_some_and(|n| n != &NAME[..NAME.len() - 1]) {
        return None;
    }
    let versions = [V3_2, V3_0, V2_40];
    let i = match version {
        None => 0,
        Some(v) => versions.iter().position(|w| w.major == v.major && w.minor == v.minor)?,
    };
    let iface = &INTERFACES.0[i];
    (super::convert::ul(iface.flags) & flags == flags).then(|| (&raw const *iface).cast_mut())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn support_table_covers_every_list() {
        assert_eq!(SUPPORT.iter().filter(|s| s.1.major == 2).count(), 68);
        assert_eq!(SUPPORT.iter().filter(|s| s.1.minor == 0 && s.1.major == 3).count(), 24);
        assert_eq!(SUPPORT.len(), 104);
        for (i, a) in SUPPORT.iter().enumerate() {
            assert!(a.0.starts_with("C_"));
            assert!(SUPPORT[i + 1..].iter().all(|b| b.0 != a.0), "{} listed twice", a.0);
        }
        // 2.40's layout is a prefix of 3.0's, which is a prefix of 3.2's.
        assert_eq!(size_of::<CK_FUNCTION_LIST>(), 2 * 4 + 68 * 8);
        assert_eq!(size_of::<CK_FUNCTION_LIST_3_2>(), 8 + 104 * 8);
    }

    #[test]
    fn lists_carry_their_versions() {
        // SAFETY: `function_list` points at a live static.
        let l = unsafe { &*function_list() };
        assert_eq!((l.version.major, l.version.minor), (2, 40));
        assert_eq!((LIST_3_0.version.major, LIST_3_0.version.minor), (3, 0));
        assert_eq!((LIST_3_2.version.major, LIST_3_2.version.minor), (3, 2));
        assert!(LIST_3_2.C_UnwrapKeyAuthenticated.is_some() && LIST_3_0.C_MessageVerifyFinal.is_some());
    }

    #[test]
    fn interface_lookup() {
        assert_eq!(interfaces().len(), 3);
        let default = find_interface(None, None, 0).unwrap();
        assert_eq!(default, find_interface(Some(b"PKCS 11"), Some(V3_2), 0).unwrap());
        // SAFETY: `find_interface` returns pointers into a live static.
        let v30 = unsafe { &*find_interface(Some(b"PKCS 11"), Some(V3_0), 0).unwrap() };
        // SAFETY: as above; the 3.0 interface's list is a `CK_FUNCTION_LIST_3_0`.
        let l = unsafe { &*v30.pFunctionList.cast::<CK_FUNCTION_LIST_3_0>() };
        assert_eq!((l.version.major, l.version.minor), (3, 0));
        assert!(find_interface(Some(b"PKCS 11"), Some(V2_40), 0).is_some());
        assert!(find_interface(Some(b"Vendor"), None, 0).is_none());
        assert!(find_interface(None, Some(CK_VERSION { major: 3, minor: 1 }), 0).is_none());
        assert!(find_interface(None, None, 1).is_none(), "no interface is fork safe");
    }
}
