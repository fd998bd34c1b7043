//! The module's raw C ABI, for what the safe `cryptoki` API cannot express: NULL pointers,
//! reserved fields, length queries and short buffers.
//!
//! The wrappers here are safe: they build every pointer from a live Rust buffer (or pass NULL
//! where the ABI allows the caller to). Tests that pass deliberately bad pointers call the
//! function pointers themselves, each with its own `SAFETY` comment.

use core::ptr;

use cryptoki::error::Rv;
use cryptoki_sys::{
    CK_ATTRIBUTE, CK_ATTRIBUTE_TYPE, CK_FUNCTION_LIST, CK_FUNCTION_LIST_PTR, CK_MECHANISM, CK_MECHANISM_TYPE,
    CK_OBJECT_HANDLE, CK_RV, CK_SESSION_HANDLE, CK_ULONG, CKR_OK,
};

use super::module_path;

/// The module loaded a second time (the same instance: the dynamic loader counts references),
/// with its `CK_FUNCTION_LIST`.
pub struct Raw {
    _lib: cryptoki_sys::Pkcs11,
    pub f: CK_FUNCTION_LIST,
}

impl core::fmt::Debug for Raw {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Raw").finish_non_exhaustive()
    }
}

/// The function pointer `$name` of a [`Raw`] function list (panics if the module left it NULL).
#[macro_export]
macro_rules! ck_fn {
    ($raw:expr, $name:ident) => {
        $raw.f.$name.expect(concat!(stringify!($name), " is NULL in the function list"))
    };
}

/// Asserts that a raw `CK_RV` is `$expected` (a `cryptoki_sys::CKR_*` constant).
#[macro_export]
macro_rules! assert_ck {
    ($rv:expr, $expected:ident) => {{
        let rv: cryptoki_sys::CK_RV = $rv;
        assert!(
            rv == cryptoki_sys::$expected,
            "{}: expected {}, got {} (0x{rv:x})",
            stringify!($rv),
            stringify!($expected),
            $crate::common::raw::rv_name(rv)
        );
    }};
}

/// The name of a return value, for messages.
pub fn rv_name(rv: CK_RV) -> String {
    match Rv::from(rv) {
        Rv::Ok => "CKR_OK".to_owned(),
        Rv::Error(e) => format!("{e:?}"),
    }
}

impl Raw {
    /// Loads the module under test and fetches its function list with `C_GetFunctionList`.
    pub fn load() -> Self {
        let path = module_path();
        // SAFETY: loading runs the module's initialisers; the module under test is a PKCS#11
        // library, which the spec requires to be loadable without side effects.
        let lib = unsafe { cryptoki_sys::Pkcs11::new(&path) }
            .unwrap_or_else(|e| panic!("load {}: {e}", path.display()));
        let mut list: CK_FUNCTION_LIST_PTR = ptr::null_mut();
        // SAFETY: `list` is a valid place for the returned pointer.
        let rv = unsafe { lib.C_GetFunctionList(&raw mut list) };
        assert!(rv == CKR_OK, "C_GetFunctionList: {}", rv_name(rv));
        assert!(!list.is_null(), "C_GetFunctionList returned CKR_OK and NULL");
        // SAFETY: on CKR_OK the module hands out a pointer to its function list, valid while it
        // is loaded; we copy it.
        let f = unsafe { *list };
        Raw { _lib: lib, f }
    }

    /// `C_GetAttributeValue` on the queries; each query's `len` receives `ulValueLen`.
    pub fn get_attribute_value(
        &self,
        session: CK_SESSION_HANDLE,
        object: CK_OBJECT_HANDLE,
        queries: &mut [AttrQuery],
    ) -> CK_RV {
        let mut template: Vec<CK_ATTRIBUTE> = queries
            .iter_mut()
            .map(|q| CK_ATTRIBUTE {
                type_: q.ty,
                pValue: q.buf.as_mut().map_or(ptr::null_mut(), |b| b.as_mut_ptr().cast()),
                ulValueLen: q.buf.as_ref().map_or(0, |b| ulong(b.len())),
            })
            .collect();
        // SAFETY: every pValue is NULL or points to a live buffer of ulValueLen bytes.
        let rv = unsafe {
            ck_fn!(self, C_GetAttributeValue)(session, object, template.as_mut_ptr(), ulong(template.len()))
        };
        for (q, t) in queries.iter_mut().zip(&template) {
            q.len = t.ulValueLen;
        }
        rv
    }

    /// `C_SignInit` with a mechanism without parameters.
    pub fn sign_init(
        &self,
        session: CK_SESSION_HANDLE,
        mechanism: CK_MECHANISM_TYPE,
        key: CK_OBJECT_HANDLE,
    ) -> CK_RV {
        let mut mech = CK_MECHANISM { mechanism, pParameter: ptr::null_mut(), ulParameterLen: 0 };
        // SAFETY: `mech` is a valid mechanism without parameters.
        unsafe { ck_fn!(self, C_SignInit)(session, &raw mut mech, key) }
    }

    /// `C_Sign`; `out` of `None` passes NULL (a length query). Returns the CKR and the length.
    pub fn sign(&self, session: CK_SESSION_HANDLE, data: &[u8], out: Option<&mut [u8]>) -> (CK_RV, CK_ULONG) {
        let (p, mut len) = out_buf(out);
        // SAFETY: `data` is live for its length; `p` is NULL or a live buffer of `len` bytes.
        let rv = unsafe {
            ck_fn!(self, C_Sign)(session, data.as_ptr().cast_mut(), ulong(data.len()), p, &raw mut len)
        };
        (rv, len)
    }

    /// `C_DigestInit` with a mechanism without parameters.
    pub fn digest_init(&self, session: CK_SESSION_HANDLE, mechanism: CK_MECHANISM_TYPE) -> CK_RV {
        let mut mech = CK_MECHANISM { mechanism, pParameter: ptr::null_mut(), ulParameterLen: 0 };
        // SAFETY: `mech` is a valid mechanism without parameters.
        unsafe { ck_fn!(self, C_DigestInit)(session, &raw mut mech) }
    }

    /// `C_Digest`; `out` of `None` passes NULL (a length query). Returns the CKR and the length.
    pub fn digest(
        &self,
        session: CK_SESSION_HANDLE,
        data: &[u8],
        out: Option<&mut [u8]>,
    ) -> (CK_RV, CK_ULONG) {
        let (p, mut len) = out_buf(out);
        // SAFETY: `data` is live for its length; `p` is NULL or a live buffer of `len` bytes.
        let rv = unsafe {
            ck_fn!(self, C_Digest)(session, data.as_ptr().cast_mut(), ulong(data.len()), p, &raw mut len)
        };
        (rv, len)
    }

    /// `C_DigestUpdate`.
    pub fn digest_update(&self, session: CK_SESSION_HANDLE, data: &[u8]) -> CK_RV {
        // SAFETY: `data` is live for its length.
        unsafe { ck_fn!(self, C_DigestUpdate)(session, data.as_ptr().cast_mut(), ulong(data.len())) }
    }

    /// `C_DigestFinal`; `out` of `None` passes NULL (a length query).
    pub fn digest_final(&self, session: CK_SESSION_HANDLE, out: Option<&mut [u8]>) -> (CK_RV, CK_ULONG) {
        let (p, mut len) = out_buf(out);
        // SAFETY: `p` is NULL or a live buffer of `len` bytes.
        let rv = unsafe { ck_fn!(self, C_DigestFinal)(session, p, &raw mut len) };
        (rv, len)
    }
}

/// One attribute of a raw `C_GetAttributeValue` call.
#[derive(Debug, Clone)]
pub struct AttrQuery {
    pub ty: CK_ATTRIBUTE_TYPE,
    /// `None` passes `pValue = NULL` (a length query).
    pub buf: Option<Vec<u8>>,
    /// `ulValueLen` as the module left it.
    pub len: CK_ULONG,
}

impl AttrQuery {
    pub fn len_of(ty: CK_ATTRIBUTE_TYPE) -> Self {
        AttrQuery { ty, buf: None, len: 0 }
    }

    pub fn with_buf(ty: CK_ATTRIBUTE_TYPE, size: usize) -> Self {
        AttrQuery { ty, buf: Some(vec![0; size]), len: 0 }
    }

    /// The bytes the module wrote (the first `len` bytes of the buffer).
    pub fn value(&self) -> &[u8] {
        let buf = self.buf.as_deref().unwrap_or_default();
        let len = usize::try_from(self.len).unwrap_or(usize::MAX);
        &buf[..len.min(buf.len())]
    }
}

/// `usize` → `CK_ULONG` (lossless on every platform the tests run on).
pub fn ulong(n: usize) -> CK_ULONG {
    CK_ULONG::try_from(n).expect("length fits in CK_ULONG")
}

fn out_buf(out: Option<&mut [u8]>) -> (*mut u8, CK_ULONG) {
    match out {
        Some(buf) => (buf.as_mut_ptr(), ulong(buf.len())),
        None => (ptr::null_mut(), 0),
    }
}
