//! `CK_*` structs into core types and core results back: numbers, strings, mechanisms,
//! templates, the info structs, attribute values, and the one length-query rule.
//!
//! Nothing here decides a PKCS#11 rule that the engine could decide: this module only
//! changes representation (DESIGN §1: if two front-ends could disagree, the rule is in the
//! wrong place).

use alloc::vec::Vec;
use core::mem::size_of;

use anyhsm_core::{
    Error, Result,
    attribute::{AttrKind, AttrValue, Attribute, UlongWidth},
    consts::{AttrType, MechanismType},
    info::{
        AttrLookup, CounterFormat, HkdfParams, HkdfSalt, MechParam, Mechanism, MechanismInfo, Output,
        Pbkdf2Params, PrfDataParam, RsaOaepParams, RsaPssParams, SessionInfo, SlotInfo, Sp800108Params,
        TokenInfo, Version,
    },
    mechanism::{ParamKind, param_kind},
    object::schema,
    secret::SecretBytes,
};
use cryptoki_sys::{
    CK_AES_CBC_ENCRYPT_DATA_PARAMS, CK_AES_CTR_PARAMS, CK_ATTRIBUTE, CK_BBOOL, CK_CCM_PARAMS,
    CK_DES_CBC_ENCRYPT_DATA_PARAMS, CK_ECDH1_DERIVE_PARAMS, CK_EDDSA_PARAMS, CK_FALSE, CK_GCM_PARAMS,
    CK_HASH_SIGN_ADDITIONAL_CONTEXT, CK_HKDF_PARAMS, CK_INFO, CK_KEY_DERIVATION_STRING_DATA, CK_MECHANISM,
    CK_MECHANISM_INFO, CK_OBJECT_HANDLE, CK_PKCS5_PBKD2_PARAMS, CK_PKCS5_PBKD2_PARAMS2, CK_PRF_DATA_PARAM,
    CK_RSA_AES_KEY_WRAP_PARAMS, CK_RSA_PKCS_OAEP_PARAMS, CK_RSA_PKCS_PSS_PARAMS,
    CK_SALSA20_CHACHA20_POLY1305_PARAMS, CK_SESSION_INFO, CK_SIGN_ADDITIONAL_CONTEXT, CK_SLOT_INFO,
    CK_SP800_108_BYTE_ARRAY, CK_SP800_108_COUNTER_FORMAT, CK_SP800_108_DKM_LENGTH,
    CK_SP800_108_DKM_LENGTH_FORMAT, CK_SP800_108_FEEDBACK_KDF_PARAMS, CK_SP800_108_ITERATION_VARIABLE,
    CK_SP800_108_KDF_PARAMS, CK_SP800_108_OPTIONAL_COUNTER, CK_TOKEN_INFO, CK_ULONG, CK_VERSION,
    CKF_HKDF_SALT_DATA, CKF_HKDF_SALT_KEY, CKF_HKDF_SALT_NULL,
};
use zeroize::Zeroize;

use super::ptr::{self, Out, OutBuffer};

/// The width of `CK_ULONG` on this platform, for attribute values.
pub const WIDTH: UlongWidth = if size_of::<CK_ULONG>() == 8 { UlongWidth::Eight } else { UlongWidth::Four };

/// `CK_UNAVAILABLE_INFORMATION`.
pub const UNAVAILABLE: CK_ULONG = CK_ULONG::MAX;

/// Nested templates (`CKA_WRAP_TEMPLATE` inside `CKA_UNWRAP_TEMPLATE` …) deeper than this
/// are refused: no real template nests, and a cyclic caller structure must not recurse
/// without end.
const MAX_TEMPLATE_DEPTH: usize = 2;

// ---- numbers -------------------------------------------------------------------------

/// A caller's `CK_ULONG` as the engine's `u64` (lossless on every ABI).
#[allow(clippy::useless_conversion, reason = "CK_ULONG is u64 here but u32 on Win64")]
pub fn ul(v: CK_ULONG) -> u64 {
    u64::from(v)
}

/// An engine `u64` as `CK_ULONG`; values a 4-byte `CK_ULONG` cannot hold saturate to
/// `CK_UNAVAILABLE_INFORMATION`.
#[allow(
    clippy::useless_conversion,
    clippy::unnecessary_fallible_conversions,
    reason = "CK_ULONG is u64 here but u32 on Win64"
)]
pub fn ck(v: u64) -> CK_ULONG {
    CK_ULONG::try_from(v).unwrap_or(UNAVAILABLE)
}

/// A length we produce as `CK_ULONG` (our lengths are far below 4 GiB).
pub fn ck_len(v: usize) -> CK_ULONG {
    CK_ULONG::try_from(v).unwrap_or(UNAVAILABLE)
}

/// A caller's length as `usize`, or `None` if the address space cannot hold it.
pub fn len_from_ck(v: CK_ULONG) -> Option<usize> {
    usize::try_from(v).ok()
}

/// The engine's `CK_RV` as the C type.
pub fn rv(code: u64) -> CK_ULONG {
    ck(code)
}

// ---- strings and versions ------------------------------------------------------------

/// `s` blank padded (or cut) to a fixed-width `CK_UTF8CHAR` field.
pub const fn padded<const N: usize>(s: &str) -> [u8; N] {
    let mut out = [b' '; N];
    let b = s.as_bytes();
    let mut i = 0;
    while i < N && i < b.len() {
        out[i] = b[i];
        i += 1;
    }
    out
}

/// A decimal `u8` at compile time (`CARGO_PKG_VERSION_MAJOR`), saturating at 255.
#[allow(clippy::cast_possible_truncation, reason = "v <= 255 by the loop")]
pub const fn parse_u8(s: &str) -> u8 {
    let b = s.as_bytes();
    let mut v: u32 = 0;
    let mut i = 0;
    while i < b.len() {
        if b[i].is_ascii_digit() {
            v = v * 10 + (b[i] - b'0') as u32;
            if v > 255 {
                return 255;
            }
        }
        i += 1;
    }
    v as u8
}

/// `CK_VERSION` from core's version.
pub const fn version(v: Version) -> CK_VERSION {
    CK_VERSION { major: v.major, minor: v.minor }
}

// ---- info structs --------------------------------------------------------------------

/// `CK_INFO` for the interface version the caller obtained.
pub fn info(cryptoki: CK_VERSION) -> CK_INFO {
    CK_INFO {
        cryptokiVersion: cryptoki,
        manufacturerID: padded(anyhsm_core::engine::MANUFACTURER),
        flags: 0,
        libraryDescription: padded("anyhsm PKCS#11 module"),
        libraryVersion: CK_VERSION {
            major: parse_u8(env!("CARGO_PKG_VERSION_MAJOR")),
            minor: parse_u8(env!("CARGO_PKG_VERSION_MINOR")),
        },
    }
}

/// `CK_SLOT_INFO`.
pub fn slot_info(i: &SlotInfo) -> CK_SLOT_INFO {
    CK_SLOT_INFO {
        slotDescription: i.description,
        manufacturerID: i.manufacturer,
        flags: ck(i.flags),
        hardwareVersion: version(i.hardware_version),
        firmwareVersion: version(i.firmware_version),
    }
}

/// `CK_TOKEN_INFO`.
pub fn token_info(i: &TokenInfo) -> CK_TOKEN_INFO {
    CK_TOKEN_INFO {
        label: i.label,
        manufacturerID: i.manufacturer,
        model: i.model,
        serialNumber: i.serial,
        flags: ck(i.flags),
        ulMaxSessionCount: ck(i.max_session_count),
        ulSessionCount: ck(i.session_count),
        ulMaxRwSessionCount: ck(i.max_rw_session_count),
        ulRwSessionCount: ck(i.rw_session_count),
        ulMaxPinLen: ck(i.max_pin_len),
        ulMinPinLen: ck(i.min_pin_len),
        ulTotalPublicMemory: ck(i.total_public_memory),
        ulFreePublicMemory: ck(i.free_public_memory),
        ulTotalPrivateMemory: ck(i.total_private_memory),
        ulFreePrivateMemory: ck(i.free_private_memory),
        hardwareVersion: version(i.hardware_version),
        firmwareVersion: version(i.firmware_version),
        utcTime: i.utc_time,
    }
}

/// `CK_SESSION_INFO`.
pub fn session_info(i: &SessionInfo) -> CK_SESSION_INFO {
    CK_SESSION_INFO {
        slotID: ck(i.slot_id),
        state: ck(i.state.0),
        flags: ck(i.flags),
        ulDeviceError: ck(i.device_error),
    }
}

/// `CK_MECHANISM_INFO`.
pub fn mechanism_info(i: &MechanismInfo) -> CK_MECHANISM_INFO {
    CK_MECHANISM_INFO {
        ulMinKeySize: ck(i.min_key_size),
        ulMaxKeySize: ck(i.max_key_size),
        flags: ck(i.flags),
    }
}

// ---- the length-query convention -----------------------------------------------------

/// What a function has to give the caller: the items, or (for an engine step that was only
/// asked for a length, or whose buffer was short) just their number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer<'a, T> {
    /// The complete output.
    Items(&'a [T]),
    /// The output would be this long.
    Length(usize),
}

impl<'a> From<&'a Output> for Answer<'a, u8> {
    fn from(o: &'a Output) -> Self {
        match o {
            Output::Data(d) => Answer::Items(d),
            Output::Length(n) => Answer::Length(*n),
        }
    }
}

/// The outcome of the rule, before any memory is touched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settled {
    /// Copy the items, set the length, `CKR_OK`.
    Write,
    /// `pOut` was NULL: set the length, `CKR_OK`.
    Length(usize),
    /// The buffer is too small: set the length, `CKR_BUFFER_TOO_SMALL`.
    TooSmall(usize),
}

/// The one length-query / `CKR_BUFFER_TOO_SMALL` rule (PKCS#11 §5.2), for every function
/// that returns variable-length output. `capacity` is `None` when `pOut` is NULL.
pub fn settle<T>(capacity: Option<usize>, answer: &Answer<'_, T>) -> Settled {
    let needed = match answer {
        Answer::Items(items) => items.len(),
        Answer::Length(n) => *n,
    };
    match (capacity, answer) {
        (None, _) => Settled::Length(needed),
        (Some(cap), Answer::Items(_)) if needed <= cap => Settled::Write,
        (Some(_), _) => Settled::TooSmall(needed),
    }
}

/// Apply [`settle`] to a caller's buffer.
///
/// # Errors
/// `BufferTooSmall` after setting the length, when the buffer is too small.
pub fn deliver<T: Copy>(out: OutBuffer<'_, T>, answer: &Answer<'_, T>) -> Result<()> {
    match (settle(out.capacity(), answer), answer) {
        (Settled::Write, Answer::Items(items)) => out.fill(items),
        (Settled::Length(n), _) => {
            out.set_len(n);
            Ok(())
        }
        (Settled::TooSmall(n), _) => {
            out.set_len(n);
            Err(Error::BufferTooSmall)
        }
        (Settled::Write, Answer::Length(_)) => Err(Error::GeneralError),
    }
}

/// [`deliver`] for an engine step's bytes, wiping our copy afterwards (it may be plaintext).
///
/// # Errors
/// As [`deliver`].
pub fn deliver_output(out: OutBuffer<'_, u8>, output: Output) -> Result<()> {
    let r = deliver(out, &Answer::from(&output));
    if let Output::Data(mut d) = output {
        d.zeroize();
    }
    r
}

// ---- mechanisms ----------------------------------------------------------------------

/// The `CK_GCM_PARAMS` of headers older than 2.40 errata 1, without `ulIvBits`; some
/// applications still pass it, and its size tells it apart.
#[repr(C)]
#[derive(Clone, Copy)]
struct GcmParamsLegacy {
    p_iv: *mut u8,
    iv_len: CK_ULONG,
    p_aad: *mut u8,
    aad_len: CK_ULONG,
    tag_bits: CK_ULONG,
}

/// Where `CK_PKCS5_PBKD2_PARAMS` (≤ 2.40, `ulPasswordLen` a pointer) and
/// `CK_PKCS5_PBKD2_PARAMS2` have the same size (every ABI but Win64), the value of that
/// last field tells them apart: no process maps its lowest 64 KiB (Linux's default
/// `vm.mmap_min_addr`, the reserved first 64 KiB of Windows), so a smaller value is a
/// length, and no password is 64 KiB long, so a larger one is the old pointer.
const LOWEST_ADDRESS: CK_ULONG = 0x1_0000;

/// A caller's `CK_MECHANISM` parsed: the mechanism, and the out-pointers its parameter
/// carries, in order (the `phKey` of each `CK_DERIVED_KEY` of an SP 800-108 parameter),
/// for `C_DeriveKey` to fill.
pub type MechanismWithOutputs<'a> = (Mechanism, Vec<Out<'a, CK_OBJECT_HANDLE>>);

/// Parse a caller's `CK_MECHANISM` into the shape [`param_kind`] says the engine expects.
///
/// # Errors
/// `ArgumentsBad` for a NULL `pMechanism`; `MechanismInvalid` for a mechanism the engine
/// does not know; `MechanismParamInvalid` for a parameter of the wrong size or shape, a
/// NULL where it needs memory, or a nested length without memory; from the templates of
/// SP 800-108's additional keys, `AttributeTypeInvalid` / `AttributeValueInvalid`.
///
/// # Safety
/// Unless `p` is NULL it points at a `CK_MECHANISM` whose `pParameter` is NULL or valid for
/// `ulParameterLen` bytes, and whose nested pointers (`CK_GCM_PARAMS.pIv`, the
/// `CK_PRF_DATA_PARAM` and `CK_DERIVED_KEY` arrays of SP 800-108 and their templates, …)
/// are NULL or valid for their lengths.
pub unsafe fn mechanism(p: *const CK_MECHANISM) -> Result<Mechanism> {
    // SAFETY: this function's contract covers everything `mechanism_with_outputs` reads;
    // its out-pointers are only checked for NULL and alignment, never written: they are
    // dropped here.
    unsafe { mechanism_with_outputs(p) }.map(|(m, _)| m)
}

/// [`mechanism`], keeping the out-pointers of the parameter (see [`MechanismWithOutputs`]).
///
/// # Errors
/// As [`mechanism`]; a NULL or misaligned `CK_DERIVED_KEY.phKey` is `MechanismParamInvalid`.
///
/// # Safety
/// As [`mechanism`]; in addition each non-NULL `CK_DERIVED_KEY.phKey` is valid for writing
/// one handle for `'a`.
pub unsafe fn mechanism_with_outputs<'a>(p: *const CK_MECHANISM) -> Result<MechanismWithOutputs<'a>> {
    // SAFETY: this function's contract covers `p`.
    let raw = unsafe { ptr::read(p) }?;
    let ty = MechanismType(ul(raw.mechanism));
    let kind = param_kind(ty).ok_or(Error::MechanismInvalid)?;
    let param_ptr = raw.pParameter.cast_const().cast::<u8>();
    let len = raw.ulParameterLen;
    // SAFETY: `pParameter` holds `ulParameterLen` bytes, and its nested pointers are valid
    // for their lengths (and writable where they are outputs), by this function's contract.
    let (param, outputs) = unsafe {
        match kind {
            ParamKind::Sp800108Counter => sp800_108(param_ptr, len, false)?,
            ParamKind::Sp800108Feedback => sp800_108(param_ptr, len, true)?,
            other => (param(other, param_ptr, len)?, Vec::new()),
        }
    };
    Ok((Mechanism { ty, param }, outputs))
}

/// Write the handles of SP 800-108's additional keys into the caller's `CK_DERIVED_KEY`s.
///
/// # Errors
/// `GeneralError` if the engine made a different number of keys than the parameter asked
/// for (an engine bug; the handles that fit are written).
pub fn write_handles(outputs: Vec<Out<'_, CK_OBJECT_HANDLE>>, handles: &[u64]) -> Result<()> {
    let matched = outputs.len() == handles.len();
    for (out, h) in outputs.into_iter().zip(handles) {
        out.write(ck(*h));
    }
    if matched { Ok(()) } else { Err(Error::GeneralError) }
}

/// Every parameter error inside a `CK_MECHANISM` is the parameter's fault.
fn bad_param(_: Error) -> Error {
    Error::MechanismParamInvalid
}

/// The parameter as one `T`, if it is exactly `T`'s size.
///
/// # Safety
/// Unless `p` is NULL, it is valid for `len` bytes.
unsafe fn param_struct<T: Copy>(p: *const u8, len: CK_ULONG) -> Result<T> {
    if len_from_ck(len) != Some(size_of::<T>()) {
        return Err(Error::MechanismParamInvalid);
    }
    // SAFETY: `p` is NULL (refused) or holds `len` = sizeof(T) bytes by contract; every
    // `T` used here is plain C data, valid for any bytes.
    unsafe { ptr::read(p.cast::<T>()) }.map_err(bad_param)
}

/// A copy of a nested `(pointer, length)` byte string of a parameter.
///
/// # Safety
/// Unless `p` is NULL, it is valid for `len` bytes.
unsafe fn nested_bytes<T>(p: *mut T, len: CK_ULONG) -> Result<Vec<u8>> {
    // SAFETY: this function's contract.
    unsafe { ptr::slice_from_raw(p.cast_const().cast::<u8>(), len) }.map(<[u8]>::to_vec).map_err(bad_param)
}

/// A `CK_BBOOL` as `bool` (any non-zero byte is true, as C reads it).
fn flag(b: CK_BBOOL) -> bool {
    b != CK_FALSE
}

/// The parameter of every shape but SP 800-108's (which also carries out-pointers).
///
/// # Safety
/// Unless `p` is NULL, it is valid for `len` bytes, and the struct's nested pointers are
/// NULL or valid for their lengths.
#[allow(clippy::too_many_lines, reason = "one arm per parameter shape, each a few lines")]
unsafe fn param(kind: ParamKind, p: *const u8, len: CK_ULONG) -> Result<MechParam> {
    // SAFETY: `p` holds `len` bytes and the struct's nested pointers are NULL or valid for
    // their lengths, by this function's contract: `param_struct` reads a struct only if it is
    // exactly `len` bytes, `nested_bytes` a nested string only for its stated length.
    Ok(unsafe {
        match kind {
            ParamKind::None if len == 0 => MechParam::None,
            ParamKind::None => return Err(Error::MechanismParamInvalid),
            ParamKind::Bytes => MechParam::Bytes(nested_bytes(p.cast_mut(), len)?),
            ParamKind::OptionalBytes if len == 0 => MechParam::None,
            ParamKind::OptionalBytes => MechParam::Bytes(nested_bytes(p.cast_mut(), len)?),
            ParamKind::Ulong | ParamKind::ObjectHandle => {
                MechParam::Ulong(ul(param_struct::<CK_ULONG>(p, len)?))
            }
            ParamKind::KeyDerivationString => {
                let s: CK_KEY_DERIVATION_STRING_DATA = param_struct(p, len)?;
                MechParam::Bytes(nested_bytes(s.pData, s.ulLen)?)
            }
            ParamKind::Gcm => gcm(p, len)?,
            ParamKind::Ccm => {
                let c: CK_CCM_PARAMS = param_struct(p, len)?;
                MechParam::Ccm {
                    data_len: ul(c.ulDataLen),
                    nonce: nested_bytes(c.pNonce, c.ulNonceLen)?,
                    aad: nested_bytes(c.pAAD, c.ulAADLen)?,
                    mac_len: ul(c.ulMACLen),
                }
            }
            ParamKind::AesCtr => {
                let c: CK_AES_CTR_PARAMS = param_struct(p, len)?;
                MechParam::AesCtr { counter_bits: ul(c.ulCounterBits), block: c.cb }
            }
            ParamKind::ChaCha20Poly1305 => {
                let c: CK_SALSA20_CHACHA20_POLY1305_PARAMS = param_struct(p, len)?;
                MechParam::ChaCha20Poly1305 {
                    nonce: nested_bytes(c.pNonce, c.ulNonceLen)?,
                    aad: nested_bytes(c.pAAD, c.ulAADLen)?,
                }
            }
            ParamKind::AesCbcEncryptData => {
                let c: CK_AES_CBC_ENCRYPT_DATA_PARAMS = param_struct(p, len)?;
                MechParam::CbcEncryptData { iv: c.iv.to_vec(), data: nested_bytes(c.pData, c.length)? }
            }
            ParamKind::DesCbcEncryptData => {
                let c: CK_DES_CBC_ENCRYPT_DATA_PARAMS = param_struct(p, len)?;
                MechParam::CbcEncryptData { iv: c.iv.to_vec(), data: nested_bytes(c.pData, c.length)? }
            }
            ParamKind::RsaPss => {
                let c: CK_RSA_PKCS_PSS_PARAMS = param_struct(p, len)?;
                MechParam::RsaPss(RsaPssParams {
                    hash: MechanismType(ul(c.hashAlg)),
                    mgf: ul(c.mgf),
                    salt_len: ul(c.sLen),
                })
            }
            ParamKind::RsaOaep => MechParam::RsaOaep(oaep(&param_struct(p, len)?)?),
            ParamKind::RsaAesKeyWrap => {
                let c: CK_RSA_AES_KEY_WRAP_PARAMS = param_struct(p, len)?;
                // `pOAEPParams` is required, and points at one `CK_RSA_PKCS_OAEP_PARAMS`.
                let o = ptr::read(c.pOAEPParams.cast_const()).map_err(bad_param)?;
                MechParam::RsaAesKeyWrap { aes_key_bits: ul(c.ulAESKeyBits), oaep: oaep(&o)? }
            }
            ParamKind::Eddsa if len == 0 => MechParam::None,
            ParamKind::Eddsa => {
                let c: CK_EDDSA_PARAMS = param_struct(p, len)?;
                MechParam::Eddsa {
                    prehash: flag(c.phFlag),
                    context: nested_bytes(c.pContextData, c.ulContextDataLen)?,
                }
            }
            ParamKind::Ecdh1 => {
                let c: CK_ECDH1_DERIVE_PARAMS = param_struct(p, len)?;
                MechParam::Ecdh1 {
                    kdf: ul(c.kdf),
                    shared_data: nested_bytes(c.pSharedData, c.ulSharedDataLen)?,
                    public_data: nested_bytes(c.pPublicData, c.ulPublicDataLen)?,
                }
            }
            ParamKind::SignContext if len == 0 => MechParam::None,
            ParamKind::SignContext => {
                let c: CK_SIGN_ADDITIONAL_CONTEXT = param_struct(p, len)?;
                MechParam::SignContext {
                    hedge: ul(c.hedgeVariant),
                    context: nested_bytes(c.pContext, c.ulContextLen)?,
                }
            }
            ParamKind::HashSignContext => {
                let c: CK_HASH_SIGN_ADDITIONAL_CONTEXT = param_struct(p, len)?;
                MechParam::HashSignContext {
                    hedge: ul(c.hedgeVariant),
                    context: nested_bytes(c.pContext, c.ulContextLen)?,
                    hash: MechanismType(ul(c.hash)),
                }
            }
            ParamKind::Hkdf => MechParam::Hkdf(hkdf(p, len)?),
            ParamKind::Pbkdf2 => MechParam::Pbkdf2(pbkdf2(p, len)?),
            // SP 800-108 is parsed with its out-pointers by `sp800_108`; shapes added to core
            // after this parser was written are refused until it learns them.
            _ => return Err(Error::MechanismParamInvalid),
        }
    })
}

/// `CK_GCM_PARAMS`, current or legacy layout, told apart by size.
///
/// # Safety
/// Unless `p` is NULL, it is valid for `len` bytes, and the struct's `pIv` / `pAAD` are NULL
/// or valid for their lengths.
unsafe fn gcm(p: *const u8, len: CK_ULONG) -> Result<MechParam> {
    let (iv_ptr, iv_len, aad_ptr, aad_len, tag_bits) = match len_from_ck(len) {
        Some(n) if n == size_of::<CK_GCM_PARAMS>() => {
            // SAFETY: `p` holds `len` = sizeof(CK_GCM_PARAMS) bytes by contract.
            let g: CK_GCM_PARAMS = unsafe { param_struct(p, len) }?;
            (g.pIv, g.ulIvLen, g.pAAD, g.ulAADLen, g.ulTagBits)
        }
        Some(n) if n == size_of::<GcmParamsLegacy>() => {
            // SAFETY: `p` holds `len` = sizeof(GcmParamsLegacy) bytes by contract.
            let g: GcmParamsLegacy = unsafe { param_struct(p, len) }?;
            (g.p_iv, g.iv_len, g.p_aad, g.aad_len, g.tag_bits)
        }
        _ => return Err(Error::MechanismParamInvalid),
    };
    // SAFETY: `pIv` / `pAAD` are valid for their lengths by contract.
    let (iv, aad) = unsafe { (nested_bytes(iv_ptr, iv_len)?, nested_bytes(aad_ptr, aad_len)?) };
    Ok(MechParam::Gcm { iv, aad, tag_bits: ul(tag_bits) })
}

/// `CK_RSA_PKCS_OAEP_PARAMS`, already copied out of caller memory.
///
/// # Safety
/// `o.pSourceData` is NULL or valid for `o.ulSourceDataLen` bytes.
unsafe fn oaep(o: &CK_RSA_PKCS_OAEP_PARAMS) -> Result<RsaOaepParams> {
    Ok(RsaOaepParams {
        hash: MechanismType(ul(o.hashAlg)),
        mgf: ul(o.mgf),
        source: ul(o.source),
        // SAFETY: this function's contract.
        source_data: unsafe { nested_bytes(o.pSourceData, o.ulSourceDataLen) }?,
    })
}

/// `CK_HKDF_PARAMS`; the salt by `ulSaltType` (`pSalt` is read only for `CKF_HKDF_SALT_DATA`).
///
/// # Safety
/// Unless `p` is NULL, it is valid for `len` bytes, and the struct's `pSalt` / `pInfo` are
/// NULL or valid for their lengths.
unsafe fn hkdf(p: *const u8, len: CK_ULONG) -> Result<HkdfParams> {
    // SAFETY: `p` holds `len` bytes by contract.
    let c: CK_HKDF_PARAMS = unsafe { param_struct(p, len) }?;
    let salt = match c.ulSaltType {
        CKF_HKDF_SALT_NULL => HkdfSalt::Null,
        // SAFETY: `pSalt` is valid for `ulSaltLen` bytes by contract.
        CKF_HKDF_SALT_DATA => HkdfSalt::Data(unsafe { nested_bytes(c.pSalt, c.ulSaltLen) }?),
        CKF_HKDF_SALT_KEY => HkdfSalt::Key(ul(c.hSaltKey)),
        _ => return Err(Error::MechanismParamInvalid),
    };
    Ok(HkdfParams {
        extract: flag(c.bExtract),
        expand: flag(c.bExpand),
        prf: MechanismType(ul(c.prfHashMechanism)),
        salt,
        // SAFETY: `pInfo` is valid for `ulInfoLen` bytes by contract.
        info: unsafe { nested_bytes(c.pInfo, c.ulInfoLen) }?,
    })
}

/// `CK_PKCS5_PBKD2_PARAMS2`, or the older `CK_PKCS5_PBKD2_PARAMS` whose `ulPasswordLen` is
/// a pointer to the length: by size where the two differ, else by [`LOWEST_ADDRESS`]. The
/// password goes straight from caller memory into [`SecretBytes`].
///
/// # Safety
/// Unless `p` is NULL, it is valid for `len` bytes, and the struct's pointers are NULL or
/// valid for their lengths (the old layout's length pointer for one `CK_ULONG`).
unsafe fn pbkdf2(p: *const u8, len: CK_ULONG) -> Result<Pbkdf2Params> {
    let same_size = size_of::<CK_PKCS5_PBKD2_PARAMS>() == size_of::<CK_PKCS5_PBKD2_PARAMS2>();
    let n = len_from_ck(len).ok_or(Error::MechanismParamInvalid)?;
    // Both layouts share every field but the last; read the current one for those.
    let (c, legacy) = if n == size_of::<CK_PKCS5_PBKD2_PARAMS2>() {
        // SAFETY: `p` holds `len` = sizeof(CK_PKCS5_PBKD2_PARAMS2) bytes by contract.
        let c: CK_PKCS5_PBKD2_PARAMS2 = unsafe { param_struct(p, len) }?;
        let legacy = same_size && c.ulPasswordLen >= LOWEST_ADDRESS;
        (c, legacy)
    } else if n == size_of::<CK_PKCS5_PBKD2_PARAMS>() {
        // SAFETY: `p` holds `len` = sizeof(CK_PKCS5_PBKD2_PARAMS) bytes by contract.
        let o: CK_PKCS5_PBKD2_PARAMS = unsafe { param_struct(p, len) }?;
        let c = CK_PKCS5_PBKD2_PARAMS2 {
            saltSource: o.saltSource,
            pSaltSourceData: o.pSaltSourceData,
            ulSaltSourceDataLen: o.ulSaltSourceDataLen,
            iterations: o.iterations,
            prf: o.prf,
            pPrfData: o.pPrfData,
            ulPrfDataLen: o.ulPrfDataLen,
            pPassword: o.pPassword,
            ulPasswordLen: 0,
        };
        (c, true)
    } else {
        return Err(Error::MechanismParamInvalid);
    };
    let password_len = if legacy {
        // SAFETY: `p` holds the old layout, whose last field points at one `CK_ULONG`, by
        // contract (the size, or the value, said which layout it is).
        let o: CK_PKCS5_PBKD2_PARAMS = unsafe { param_struct(p, len) }?;
        // SAFETY: as above; NULL is refused.
        unsafe { ptr::read(o.ulPasswordLen.cast_const()) }.map_err(bad_param)?
    } else {
        c.ulPasswordLen
    };
    // SAFETY: `pPassword` is valid for the password length by contract.
    let password =
        unsafe { ptr::slice_from_raw(c.pPassword.cast_const(), password_len) }.map_err(bad_param)?;
    Ok(Pbkdf2Params {
        salt_source: ul(c.saltSource),
        // SAFETY: `pSaltSourceData` / `pPrfData` are valid for their lengths by contract.
        salt: unsafe { nested_bytes(c.pSaltSourceData, c.ulSaltSourceDataLen) }?,
        iterations: ul(c.iterations),
        prf: ul(c.prf),
        // SAFETY: as above.
        prf_data: unsafe { nested_bytes(c.pPrfData, c.ulPrfDataLen) }?,
        password: SecretBytes::from_slice(password),
    })
}

/// `CK_SP800_108_KDF_PARAMS` (counter and double-pipeline modes) or, with `feedback`,
/// `CK_SP800_108_FEEDBACK_KDF_PARAMS`: the parameter, and the `phKey` of each additional
/// derived key, checked now so that no derived key can be lost for want of a pointer.
///
/// # Safety
/// Unless `p` is NULL, it is valid for `len` bytes; `pDataParams` / `pAdditionalDerivedKeys`
/// are NULL or valid for their counts, each `pValue`, `pIV` and template NULL or valid for its
/// length, and each `phKey` NULL or writable for `'a`.
unsafe fn sp800_108<'a>(
    p: *const u8,
    len: CK_ULONG,
    feedback: bool,
) -> Result<MechanismWithOutputsParam<'a>> {
    // SAFETY: `p` holds `len` bytes, and `pIV` is NULL or valid for `ulIVLen` bytes, by contract.
    let (prf, n_data, data_ptr, iv, n_keys, keys_ptr) = unsafe {
        if feedback {
            let c: CK_SP800_108_FEEDBACK_KDF_PARAMS = param_struct(p, len)?;
            let iv = nested_bytes(c.pIV, c.ulIVLen)?;
            (
                c.prfType,
                c.ulNumberOfDataParams,
                c.pDataParams,
                iv,
                c.ulAdditionalDerivedKeys,
                c.pAdditionalDerivedKeys,
            )
        } else {
            let c: CK_SP800_108_KDF_PARAMS = param_struct(p, len)?;
            let iv = Vec::new();
            (
                c.prfType,
                c.ulNumberOfDataParams,
                c.pDataParams,
                iv,
                c.ulAdditionalDerivedKeys,
                c.pAdditionalDerivedKeys,
            )
        }
    };
    // SAFETY: `pDataParams` holds `ulNumberOfDataParams` entries by contract.
    let raw_data = unsafe { ptr::slice_from_raw(data_ptr.cast_const(), n_data) }.map_err(bad_param)?;
    // SAFETY: each entry's `pValue` is valid for its `ulValueLen` by contract.
    let data = raw_data.iter().map(|d| unsafe { prf_data_param(d) }).collect::<Result<Vec<_>>>()?;
    // SAFETY: `pAdditionalDerivedKeys` holds `ulAdditionalDerivedKeys` entries by contract.
    let raw_keys = unsafe { ptr::slice_from_raw(keys_ptr.cast_const(), n_keys) }.map_err(bad_param)?;
    let mut additional_keys = Vec::with_capacity(raw_keys.len());
    let mut outputs = Vec::with_capacity(raw_keys.len());
    for k in raw_keys {
        // SAFETY: each template holds `ulAttributeCount` attributes by contract.
        let t = unsafe { template(k.pTemplate.cast_const(), k.ulAttributeCount) };
        additional_keys.push(t.map_err(|e| if e == Error::ArgumentsBad { bad_param(e) } else { e })?);
        // SAFETY: each `phKey` is NULL (refused) or writable for `'a` by contract.
        outputs.push(unsafe { Out::new(k.phKey) }.map_err(bad_param)?);
    }
    let params = Sp800108Params { prf: MechanismType(ul(prf)), data, iv, additional_keys };
    Ok((MechParam::Sp800108(params), outputs))
}

/// What [`sp800_108`] returns: the parameter and the additional keys' out-pointers.
type MechanismWithOutputsParam<'a> = (MechParam, Vec<Out<'a, CK_OBJECT_HANDLE>>);

/// One `CK_PRF_DATA_PARAM`. An iteration variable without value is the feedback and
/// pipeline form; with one it carries its `CK_SP800_108_COUNTER_FORMAT`.
///
/// # Safety
/// `d.pValue` is NULL or valid for `d.ulValueLen` bytes.
unsafe fn prf_data_param(d: &CK_PRF_DATA_PARAM) -> Result<PrfDataParam> {
    let value = d.pValue.cast_const().cast::<u8>();
    // SAFETY: `pValue` holds `ulValueLen` bytes by contract, and each arm reads a struct only
    // if it is exactly that size, or the bytes for exactly that length.
    Ok(unsafe {
        match d.type_ {
            CK_SP800_108_ITERATION_VARIABLE if d.ulValueLen == 0 => PrfDataParam::IterationVariable(None),
            CK_SP800_108_ITERATION_VARIABLE => {
                PrfDataParam::IterationVariable(Some(counter_format(param_struct(value, d.ulValueLen)?)))
            }
            CK_SP800_108_OPTIONAL_COUNTER => {
                PrfDataParam::Counter(counter_format(param_struct(value, d.ulValueLen)?))
            }
            CK_SP800_108_DKM_LENGTH => {
                let f: CK_SP800_108_DKM_LENGTH_FORMAT = param_struct(value, d.ulValueLen)?;
                PrfDataParam::DkmLength {
                    method: ul(f.dkmLengthMethod),
                    little_endian: flag(f.bLittleEndian),
                    width_bits: ul(f.ulWidthInBits),
                }
            }
            CK_SP800_108_BYTE_ARRAY => PrfDataParam::ByteArray(nested_bytes(d.pValue, d.ulValueLen)?),
            _ => return Err(Error::MechanismParamInvalid),
        }
    })
}

fn counter_format(f: CK_SP800_108_COUNTER_FORMAT) -> CounterFormat {
    CounterFormat { little_endian: flag(f.bLittleEndian), width_bits: ul(f.ulWidthInBits) }
}

// ---- templates -----------------------------------------------------------------------

/// Parse a caller's template (`pTemplate`, `ulCount`) once, into typed attributes.
///
/// # Errors
/// `ArgumentsBad` for NULL with a non-zero count, or a `pValue` NULL with a non-zero
/// length; `AttributeTypeInvalid` / `AttributeValueInvalid` from the schema.
///
/// # Safety
/// Unless `p` is NULL it points at `count` `CK_ATTRIBUTE`s, each `pValue` NULL or valid for
/// `ulValueLen` bytes (for template-valued types: an array of `CK_ATTRIBUTE`, recursively).
pub unsafe fn template(p: *const CK_ATTRIBUTE, count: CK_ULONG) -> Result<Vec<Attribute>> {
    // SAFETY: this function's contract.
    unsafe { template_at(p, count, 0) }
}

/// # Safety
/// As [`template`].
unsafe fn template_at(p: *const CK_ATTRIBUTE, count: CK_ULONG, depth: usize) -> Result<Vec<Attribute>> {
    // SAFETY: `p` points at `count` attributes by contract.
    let raw = unsafe { ptr::slice_from_raw(p, count) }?;
    raw.iter()
        .map(|a| {
            let ty = AttrType(ul(a.type_));
            if schema::kind(ty) == Some(AttrKind::Template) {
                if depth >= MAX_TEMPLATE_DEPTH {
                    return Err(Error::AttributeValueInvalid);
                }
                let n = nested_count(a.ulValueLen)?;
                // SAFETY: a template-valued `pValue` is an array of `ulValueLen` bytes
                // = `n` attributes, by contract.
                let members = unsafe { template_at(a.pValue.cast_const().cast(), n, depth + 1) }?;
                Attribute::template(ty, members)
            } else {
                // SAFETY: `pValue` is valid for `ulValueLen` bytes by contract.
                let bytes = unsafe { ptr::slice_from_raw(a.pValue.cast_const().cast::<u8>(), a.ulValueLen) }?;
                Attribute::from_raw(ty, bytes, WIDTH)
            }
        })
        .collect()
}

/// The member count of a template-valued attribute of `len` bytes.
fn nested_count(len: CK_ULONG) -> Result<CK_ULONG> {
    let len = len_from_ck(len).ok_or(Error::AttributeValueInvalid)?;
    if len % size_of::<CK_ATTRIBUTE>() != 0 {
        return Err(Error::AttributeValueInvalid);
    }
    Ok(ck_len(len / size_of::<CK_ATTRIBUTE>()))
}

/// The attribute types a `C_GetAttributeValue` template asks for.
pub fn requested_types(template: &[CK_ATTRIBUTE]) -> Vec<AttrType> {
    template.iter().map(|a| AttrType(ul(a.type_))).collect()
}

/// Write the engine's answers into a caller's `C_GetAttributeValue` template, by the rules
/// of PKCS#11 §5.7: every attribute is processed; per attribute, a NULL `pValue` gets the
/// length, a big enough buffer gets the value, anything else gets
/// `CK_UNAVAILABLE_INFORMATION`. Template-valued attributes are filled member by member by
/// the same rules (their length is `n * sizeof(CK_ATTRIBUTE)`).
///
/// # Errors
/// When several apply, the most informative: `AttributeSensitive`, then
/// `AttributeTypeInvalid`, then `BufferTooSmall` (the spec lets us return any of them).
///
/// # Safety
/// Each `pValue` in `dst` is NULL or valid for writing `ulValueLen` bytes (for
/// template-valued types: an array of `CK_ATTRIBUTE`, each of whose `pValue` is NULL or
/// valid for writing its `ulValueLen` bytes).
pub unsafe fn fill_attributes(dst: &mut [CK_ATTRIBUTE], found: &[AttrLookup]) -> Result<()> {
    if dst.len() != found.len() {
        return Err(Error::GeneralError);
    }
    let mut status = FillStatus::default();
    for (a, lookup) in dst.iter_mut().zip(found) {
        match lookup {
            AttrLookup::Sensitive => {
                a.ulValueLen = UNAVAILABLE;
                status.sensitive = true;
            }
            AttrLookup::Invalid => {
                a.ulValueLen = UNAVAILABLE;
                status.invalid = true;
            }
            // SAFETY: `a.pValue` is covered by this function's contract.
            AttrLookup::Value(v) => status.short |= !unsafe { fill_one(a, v) },
        }
    }
    status.result()
}

#[derive(Default)]
struct FillStatus {
    sensitive: bool,
    invalid: bool,
    short: bool,
}

impl FillStatus {
    fn result(&self) -> Result<()> {
        if self.sensitive {
            Err(Error::AttributeSensitive)
        } else if self.invalid {
            Err(Error::AttributeTypeInvalid)
        } else if self.short {
            Err(Error::BufferTooSmall)
        } else {
            Ok(())
        }
    }
}

/// Fill one attribute; `false` if some buffer (this one or a member's) was too small.
///
/// # Safety
/// As [`fill_attributes`], for `a`.
unsafe fn fill_one(a: &mut CK_ATTRIBUTE, v: &AttrValue) -> bool {
    if let AttrValue::Template(members) = v {
        let needed = members.len() * size_of::<CK_ATTRIBUTE>();
        if a.pValue.is_null() {
            a.ulValueLen = ck_len(needed);
            return true;
        }
        if len_from_ck(a.ulValueLen).is_none_or(|have| have < needed) {
            a.ulValueLen = UNAVAILABLE;
            return false;
        }
        // SAFETY: `pValue` is a caller array of `ulValueLen >= needed` bytes, i.e. at least
        // `members.len()` attributes, by contract.
        let Ok(nested) =
            (unsafe { ptr::slice_mut_from_raw(a.pValue.cast::<CK_ATTRIBUTE>(), ck_len(members.len())) })
        else {
            a.ulValueLen = UNAVAILABLE;
            return false;
        };
        let mut ok = true;
        for (slot, m) in nested.iter_mut().zip(members) {
            slot.type_ = ck(m.ty.0);
            // SAFETY: each member's `pValue` is covered by this function's contract.
            ok &= unsafe { fill_one(slot, &m.value) };
        }
        a.ulValueLen = ck_len(needed);
        return ok;
    }
    let mut raw = v.to_raw(WIDTH);
    let ok = if a.pValue.is_null() {
        a.ulValueLen = ck_len(raw.len());
        true
    } else if len_from_ck(a.ulValueLen).is_some_and(|have| have >= raw.len()) {
        // SAFETY: `pValue` is valid for `ulValueLen >= raw.len()` bytes by contract, and is
        // caller memory that cannot overlap our fresh `raw`.
        unsafe { core::ptr::copy_nonoverlapping(raw.as_ptr(), a.pValue.cast::<u8>(), raw.len()) };
        a.ulValueLen = ck_len(raw.len());
        true
    } else {
        a.ulValueLen = UNAVAILABLE;
        false
    };
    raw.zeroize();
    ok
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padding_and_versions() {
        assert_eq!(&padded::<8>("abc"), b"abc     ");
        assert_eq!(&padded::<2>("abc"), b"ab");
        assert_eq!(parse_u8("0"), 0);
        assert_eq!(parse_u8("17"), 17);
        assert_eq!(parse_u8("999"), 255);
        let i = info(CK_VERSION { major: 3, minor: 2 });
        assert_eq!(&i.manufacturerID[..7], b"anyhsm ");
        assert_eq!(&i.libraryDescription, b"anyhsm PKCS#11 module           ");
        assert_eq!(i.cryptokiVersion.minor, 2);
    }

    #[test]
    fn numbers() {
        assert_eq!(ul(5), 5);
        assert_eq!(ck(u64::MAX), UNAVAILABLE);
        assert_eq!(ck_len(3), 3);
        assert_eq!(len_from_ck(7), Some(7));
    }

    /// The output convention, for every combination of request and answer.
    #[test]
    fn settle_is_the_length_query_rule() {
        let items = [1u8, 2, 3];
        let data = Answer::Items(&items[..]);
        let len = Answer::<u8>::Length(3);
        // NULL buffer: length only, CKR_OK — whether the engine computed the data or not.
        assert_eq!(settle(None, &data), Settled::Length(3));
        assert_eq!(settle(None, &len), Settled::Length(3));
        // Big enough: write.
        assert_eq!(settle(Some(3), &data), Settled::Write);
        assert_eq!(settle(Some(100), &data), Settled::Write);
        // Too small: length and CKR_BUFFER_TOO_SMALL.
        assert_eq!(settle(Some(2), &data), Settled::TooSmall(3));
        assert_eq!(settle(Some(0), &data), Settled::TooSmall(3));
        // The engine answered with a length for a real buffer: it was too small.
        assert_eq!(settle(Some(2), &len), Settled::TooSmall(3));
        // Empty output into a NULL or any buffer.
        assert_eq!(settle(None, &Answer::<u8>::Items(&[])), Settled::Length(0));
        assert_eq!(settle(Some(0), &Answer::<u8>::Items(&[])), Settled::Write);
    }

    #[test]
    fn deliver_writes_through_the_buffer() {
        let mut buf = [0u8; 8];
        let mut len: CK_ULONG = 8;
        // SAFETY: `buf` and `len` are live and sized as claimed.
        let out = unsafe { OutBuffer::new(buf.as_mut_ptr(), &raw mut len) }.unwrap();
        deliver_output(out, Output::Data(alloc::vec![5, 6])).unwrap();
        assert_eq!((&buf[..2], len), (&[5u8, 6][..], 2));

        let mut len: CK_ULONG = 1;
        // SAFETY: as above, claiming 1 byte.
        let out = unsafe { OutBuffer::new(buf.as_mut_ptr(), &raw mut len) }.unwrap();
        assert_eq!(deliver_output(out, Output::Length(64)), Err(Error::BufferTooSmall));
        assert_eq!(len, 64);

        let mut len: CK_ULONG = 0;
        // SAFETY: NULL data is a length query.
        let out = unsafe { OutBuffer::<u8>::new(core::ptr::null_mut(), &raw mut len) }.unwrap();
        assert_eq!(deliver_output(out, Output::Length(32)), Ok(()));
        assert_eq!(len, 32);

        let slots = [1 as CK_ULONG, 2, 3];
        let mut out_slots = [0 as CK_ULONG; 2];
        let mut len: CK_ULONG = 2;
        // SAFETY: `out_slots` holds 2 elements as claimed.
        let out = unsafe { OutBuffer::new(out_slots.as_mut_ptr(), &raw mut len) }.unwrap();
        assert_eq!(deliver(out, &Answer::Items(&slots[..])), Err(Error::BufferTooSmall));
        assert_eq!((out_slots, len), ([0, 0], 3));
    }

    fn attr(ty: CK_ULONG, p: *mut u8, len: usize) -> CK_ATTRIBUTE {
        CK_ATTRIBUTE { type_: ty, pValue: p.cast(), ulValueLen: ck_len(len) }
    }

    #[test]
    fn get_attribute_value_rules() {
        let mut label = [0u8; 16];
        let mut short = [0u8; 1];
        let mut dst = [
            attr(3, core::ptr::null_mut(), 0),           // length query
            attr(3, label.as_mut_ptr(), 16),             // big enough
            attr(3, short.as_mut_ptr(), 1),              // too small
            attr(17, core::ptr::null_mut(), 0),          // sensitive
            attr(0x8000_1234, core::ptr::null_mut(), 0), // invalid
        ];
        let value = AttrLookup::Value(AttrValue::Bytes(b"hello".to_vec()));
        let found = [value.clone(), value.clone(), value, AttrLookup::Sensitive, AttrLookup::Invalid];
        // SAFETY: every pValue is NULL or a live buffer of its stated length.
        let r = unsafe { fill_attributes(&mut dst, &found) };
        assert_eq!(r, Err(Error::AttributeSensitive));
        assert_eq!(dst[0].ulValueLen, 5);
        assert_eq!((dst[1].ulValueLen, &label[..5]), (5, &b"hello"[..]));
        assert_eq!((dst[2].ulValueLen, short), (UNAVAILABLE, [0]));
        assert_eq!(dst[3].ulValueLen, UNAVAILABLE);
        assert_eq!(dst[4].ulValueLen, UNAVAILABLE);

        // Without the sensitive one, invalid wins over too small; alone, too small.
        let mut dst2 = [attr(3, short.as_mut_ptr(), 1), attr(9, core::ptr::null_mut(), 0)];
        let found2 = [AttrLookup::Value(AttrValue::Bool(true)), AttrLookup::Invalid];
        // SAFETY: as above.
        let r = unsafe { fill_attributes(&mut dst2, &found2) };
        assert_eq!(r, Err(Error::AttributeTypeInvalid));
        let mut dst3 = [attr(3, short.as_mut_ptr(), 0)];
        let found3 = [AttrLookup::Value(AttrValue::Bool(true))];
        // SAFETY: as above (length 0: nothing written).
        let r = unsafe { fill_attributes(&mut dst3, &found3) };
        assert_eq!(r, Err(Error::BufferTooSmall));
    }

    #[test]
    fn template_valued_attributes_fill_member_by_member() {
        let members = alloc::vec![
            Attribute { ty: AttrType::TOKEN, value: AttrValue::Bool(true) },
            Attribute { ty: AttrType::LABEL, value: AttrValue::Bytes(b"ab".to_vec()) },
        ];
        let found = [AttrLookup::Value(AttrValue::Template(members))];
        let mut dst = [attr(0x4000_0211, core::ptr::null_mut(), 0)];
        // SAFETY: NULL pValue: length only.
        unsafe { fill_attributes(&mut dst, &found) }.unwrap();
        assert_eq!(dst[0].ulValueLen, ck_len(2 * size_of::<CK_ATTRIBUTE>()));

        let mut b0 = [0u8; 1];
        let mut nested = [attr(0, b0.as_mut_ptr(), 1), attr(0, core::ptr::null_mut(), 0)];
        let mut dst = [CK_ATTRIBUTE {
            type_: 0x4000_0211,
            pValue: nested.as_mut_ptr().cast(),
            ulValueLen: ck_len(2 * size_of::<CK_ATTRIBUTE>()),
        }];
        // SAFETY: `nested` is a live array of 2 attributes with live or NULL buffers.
        unsafe { fill_attributes(&mut dst, &found) }.unwrap();
        assert_eq!((nested[0].type_, nested[0].ulValueLen, b0), (1, 1, [1]));
        assert_eq!((nested[1].type_, nested[1].ulValueLen), (3, 2));

        let mut dst =
            [CK_ATTRIBUTE { type_: 0x4000_0211, pValue: nested.as_mut_ptr().cast(), ulValueLen: 1 }];
        // SAFETY: as above; the claimed length is too small, nothing is written.
        let r = unsafe { fill_attributes(&mut dst, &found) };
        assert_eq!(r, Err(Error::BufferTooSmall));
        assert_eq!(dst[0].ulValueLen, UNAVAILABLE);
    }

    fn mech(ty: MechanismType, p: *mut core::ffi::c_void, len: usize) -> CK_MECHANISM {
        CK_MECHANISM { mechanism: ck(ty.0), pParameter: p, ulParameterLen: ck_len(len) }
    }

    #[test]
    fn mechanisms_parse_by_param_kind() {
        // SAFETY: every pointer is NULL or a live local of the stated length.
        unsafe {
            assert_eq!(mechanism(core::ptr::null()), Err(Error::ArgumentsBad));
            let unknown = mech(MechanismType(0x8000_4242), core::ptr::null_mut(), 0);
            assert_eq!(mechanism(&raw const unknown), Err(Error::MechanismInvalid));

            let sha = mech(MechanismType::SHA256, core::ptr::null_mut(), 0);
            assert_eq!(mechanism(&raw const sha).map(|m| m.param), Ok(MechParam::None));
            let mut junk = [0u8; 4];
            let sha = mech(MechanismType::SHA256, junk.as_mut_ptr().cast(), 4);
            assert_eq!(mechanism(&raw const sha), Err(Error::MechanismParamInvalid));

            let mut mac_len: CK_ULONG = 16;
            let general =
                mech(MechanismType::SHA256_HMAC_GENERAL, (&raw mut mac_len).cast(), size_of::<CK_ULONG>());
            assert_eq!(mechanism(&raw const general).map(|m| m.param), Ok(MechParam::Ulong(16)));
            let general = mech(MechanismType::SHA256_HMAC_GENERAL, (&raw mut mac_len).cast(), 2);
            assert_eq!(mechanism(&raw const general), Err(Error::MechanismParamInvalid));
            let general =
                mech(MechanismType::SHA256_HMAC_GENERAL, core::ptr::null_mut(), size_of::<CK_ULONG>());
            assert_eq!(mechanism(&raw const general), Err(Error::MechanismParamInvalid));
        }
    }

    #[test]
    fn gcm_params_current_and_legacy_layout() {
        let mut iv = [7u8; 12];
        let mut aad = *b"header";
        let want = MechParam::Gcm { iv: iv.to_vec(), aad: aad.to_vec(), tag_bits: 128 };
        let mut current = CK_GCM_PARAMS {
            pIv: iv.as_mut_ptr(),
            ulIvLen: 12,
            ulIvBits: 96,
            pAAD: aad.as_mut_ptr(),
            ulAADLen: 6,
            ulTagBits: 128,
        };
        let mut legacy = GcmParamsLegacy {
            p_iv: iv.as_mut_ptr(),
            iv_len: 12,
            p_aad: aad.as_mut_ptr(),
            aad_len: 6,
            tag_bits: 128,
        };
        let m1 = mech(MechanismType::AES_GCM, (&raw mut current).cast(), size_of::<CK_GCM_PARAMS>());
        let m2 = mech(MechanismType::AES_GCM, (&raw mut legacy).cast(), size_of::<GcmParamsLegacy>());
        let m3 = mech(MechanismType::AES_GCM, (&raw mut current).cast(), 8);
        // SAFETY: the parameters and their IV / AAD buffers are live locals.
        unsafe {
            assert_eq!(mechanism(&raw const m1).map(|m| m.param), Ok(want.clone()));
            assert_eq!(mechanism(&raw const m2).map(|m| m.param), Ok(want));
            assert_eq!(mechanism(&raw const m3), Err(Error::MechanismParamInvalid));
        }
        current.pIv = core::ptr::null_mut();
        let m1 = mech(MechanismType::AES_GCM, (&raw mut current).cast(), size_of::<CK_GCM_PARAMS>());
        // SAFETY: as above; the NULL IV with a length is refused before any read.
        let r = unsafe { mechanism(&raw const m1) };
        assert_eq!(r, Err(Error::MechanismParamInvalid));
    }

    // ---- every parameter shape ----------------------------------------------------------

    use cryptoki_sys::{
        CK_DERIVED_KEY, CK_SP800_108_DKM_LENGTH_SUM_OF_KEYS, CK_TRUE, CKD_SHA256_KDF, CKG_MGF1_SHA256,
        CKH_DETERMINISTIC_REQUIRED, CKH_HEDGE_PREFERRED, CKM_SHA3_256, CKM_SHA256, CKM_SHA256_HMAC,
        CKZ_DATA_SPECIFIED, CKZ_SALT_SPECIFIED,
    };

    const BAD: Result<MechParam> = Err(Error::MechanismParamInvalid);

    /// `kind` parsed from `len` bytes at `v`.
    ///
    /// # Safety
    /// `v` is NULL or valid for `len` bytes, and its nested pointers are NULL or valid for
    /// their lengths.
    unsafe fn parse<T>(kind: ParamKind, v: *const T, len: usize) -> Result<MechParam> {
        // SAFETY: this function's contract.
        unsafe { param(kind, v.cast(), ck_len(len)) }
    }

    /// `kind` parsed from the whole of `*v`.
    ///
    /// # Safety
    /// The nested pointers of `*v` are NULL or valid for their lengths.
    unsafe fn parse_whole<T>(kind: ParamKind, v: &T) -> Result<MechParam> {
        // SAFETY: `v` is a live reference of `size_of::<T>()` bytes; the rest is this
        // function's contract.
        unsafe { parse(kind, v, size_of::<T>()) }
    }

    #[test]
    fn byte_strings_and_handles() {
        let mut bytes = *b"iv-bytes";
        let handle: CK_ULONG = 42;
        // SAFETY: every pointer is NULL or a live local of at least the stated length.
        unsafe {
            assert_eq!(parse(ParamKind::Bytes, bytes.as_ptr(), 8), Ok(MechParam::Bytes(bytes.to_vec())));
            assert_eq!(parse(ParamKind::Bytes, core::ptr::null::<u8>(), 0), Ok(MechParam::Bytes(Vec::new())));
            assert_eq!(parse(ParamKind::Bytes, core::ptr::null::<u8>(), 8), BAD);
            // Optional: NULL or empty is no parameter.
            assert_eq!(parse(ParamKind::OptionalBytes, core::ptr::null::<u8>(), 0), Ok(MechParam::None));
            assert_eq!(parse(ParamKind::OptionalBytes, bytes.as_ptr(), 0), Ok(MechParam::None));
            assert_eq!(
                parse(ParamKind::OptionalBytes, bytes.as_ptr(), 8),
                Ok(MechParam::Bytes(bytes.to_vec()))
            );
            assert_eq!(parse(ParamKind::OptionalBytes, core::ptr::null::<u8>(), 8), BAD);
            // A CK_OBJECT_HANDLE is one CK_ULONG.
            assert_eq!(parse_whole(ParamKind::ObjectHandle, &handle), Ok(MechParam::Ulong(42)));
            assert_eq!(parse(ParamKind::ObjectHandle, &raw const handle, 4), BAD);
            assert_eq!(
                parse(ParamKind::ObjectHandle, core::ptr::null::<CK_ULONG>(), size_of::<CK_ULONG>()),
                BAD
            );
        }
        let mut s = CK_KEY_DERIVATION_STRING_DATA { pData: bytes.as_mut_ptr(), ulLen: 3 };
        // SAFETY: `pData` is a live local of 8 >= 3 bytes, or NULL.
        unsafe {
            let kind = ParamKind::KeyDerivationString;
            assert_eq!(parse_whole(kind, &s), Ok(MechParam::Bytes(b"iv-".to_vec())));
            assert_eq!(parse(kind, &raw const s, size_of::<CK_ULONG>()), BAD, "wrong size");
            s.pData = core::ptr::null_mut();
            assert_eq!(parse_whole(kind, &s), BAD, "NULL data with a length");
            s.ulLen = 0;
            assert_eq!(parse_whole(kind, &s), Ok(MechParam::Bytes(Vec::new())));
        }
    }

    #[test]
    fn ccm_ctr_and_chacha() {
        let mut nonce = [1u8; 12];
        let mut aad = *b"aad";
        let mut ccm = CK_CCM_PARAMS {
            ulDataLen: 100,
            pNonce: nonce.as_mut_ptr(),
            ulNonceLen: 12,
            pAAD: aad.as_mut_ptr(),
            ulAADLen: 3,
            ulMACLen: 16,
        };
        let want = MechParam::Ccm { data_len: 100, nonce: nonce.to_vec(), aad: aad.to_vec(), mac_len: 16 };
        // SAFETY: the nested pointers are live locals of their stated lengths, or NULL.
        unsafe {
            assert_eq!(parse_whole(ParamKind::Ccm, &ccm), Ok(want));
            assert_eq!(parse(ParamKind::Ccm, &raw const ccm, size_of::<CK_CCM_PARAMS>() - 8), BAD);
            assert_eq!(
                parse(ParamKind::Ccm, core::ptr::null::<CK_CCM_PARAMS>(), size_of::<CK_CCM_PARAMS>()),
                BAD
            );
            ccm.pNonce = core::ptr::null_mut();
            assert_eq!(parse_whole(ParamKind::Ccm, &ccm), BAD);
        }

        let ctr = CK_AES_CTR_PARAMS { ulCounterBits: 32, cb: [9; 16] };
        // SAFETY: no nested pointers.
        unsafe {
            assert_eq!(
                parse_whole(ParamKind::AesCtr, &ctr),
                Ok(MechParam::AesCtr { counter_bits: 32, block: [9; 16] })
            );
            assert_eq!(parse(ParamKind::AesCtr, &raw const ctr, 16), BAD);
        }

        let mut chacha = CK_SALSA20_CHACHA20_POLY1305_PARAMS {
            pNonce: nonce.as_mut_ptr(),
            ulNonceLen: 12,
            pAAD: core::ptr::null_mut(),
            ulAADLen: 0,
        };
        let kind = ParamKind::ChaCha20Poly1305;
        // SAFETY: as above.
        unsafe {
            let want = MechParam::ChaCha20Poly1305 { nonce: nonce.to_vec(), aad: Vec::new() };
            assert_eq!(parse_whole(kind, &chacha), Ok(want));
            chacha.ulAADLen = 3;
            assert_eq!(parse_whole(kind, &chacha), BAD, "NULL AAD with a length");
        }
    }

    #[test]
    fn cbc_encrypt_data() {
        let mut data = [5u8; 32];
        let aes = CK_AES_CBC_ENCRYPT_DATA_PARAMS { iv: [1; 16], pData: data.as_mut_ptr(), length: 32 };
        let des = CK_DES_CBC_ENCRYPT_DATA_PARAMS { iv: [2; 8], pData: data.as_mut_ptr(), length: 16 };
        let mut no_data = aes;
        no_data.pData = core::ptr::null_mut();
        // SAFETY: `pData` is a live local of 32 bytes, or NULL.
        unsafe {
            let want = MechParam::CbcEncryptData { iv: [1; 16].to_vec(), data: data.to_vec() };
            assert_eq!(parse_whole(ParamKind::AesCbcEncryptData, &aes), Ok(want));
            let want = MechParam::CbcEncryptData { iv: [2; 8].to_vec(), data: data[..16].to_vec() };
            assert_eq!(parse_whole(ParamKind::DesCbcEncryptData, &des), Ok(want));
            // The two are told apart by size: each refuses the other.
            assert_eq!(parse_whole(ParamKind::AesCbcEncryptData, &des), BAD);
            assert_eq!(parse_whole(ParamKind::DesCbcEncryptData, &aes), BAD);
            assert_eq!(parse_whole(ParamKind::AesCbcEncryptData, &no_data), BAD);
        }
    }

    #[test]
    fn rsa_parameters() {
        let pss = CK_RSA_PKCS_PSS_PARAMS { hashAlg: CKM_SHA256, mgf: CKG_MGF1_SHA256, sLen: 32 };
        let want_pss = RsaPssParams { hash: MechanismType::SHA256, mgf: ul(CKG_MGF1_SHA256), salt_len: 32 };
        // SAFETY: no nested pointers.
        unsafe {
            assert_eq!(parse_whole(ParamKind::RsaPss, &pss), Ok(MechParam::RsaPss(want_pss)));
            assert_eq!(parse(ParamKind::RsaPss, &raw const pss, 8), BAD);
        }

        let mut label = *b"label";
        let mut oaep = CK_RSA_PKCS_OAEP_PARAMS {
            hashAlg: CKM_SHA256,
            mgf: CKG_MGF1_SHA256,
            source: CKZ_DATA_SPECIFIED,
            pSourceData: label.as_mut_ptr().cast(),
            ulSourceDataLen: 5,
        };
        let want_oaep = RsaOaepParams {
            hash: MechanismType::SHA256,
            mgf: ul(CKG_MGF1_SHA256),
            source: ul(CKZ_DATA_SPECIFIED),
            source_data: label.to_vec(),
        };
        let mut wrap = CK_RSA_AES_KEY_WRAP_PARAMS { ulAESKeyBits: 256, pOAEPParams: &raw mut oaep };
        // SAFETY: `pOAEPParams` points at the live `oaep`, whose label is a live local.
        unsafe {
            assert_eq!(parse_whole(ParamKind::RsaOaep, &oaep), Ok(MechParam::RsaOaep(want_oaep.clone())));
            let want = MechParam::RsaAesKeyWrap { aes_key_bits: 256, oaep: want_oaep };
            assert_eq!(parse_whole(ParamKind::RsaAesKeyWrap, &wrap), Ok(want));
            assert_eq!(
                parse_whole(ParamKind::RsaAesKeyWrap, &oaep),
                BAD,
                "an OAEP struct is not a wrap struct"
            );
            wrap.pOAEPParams = core::ptr::null_mut();
            assert_eq!(parse_whole(ParamKind::RsaAesKeyWrap, &wrap), BAD, "the OAEP parameters are required");
        }
        oaep.pSourceData = core::ptr::null_mut();
        wrap.pOAEPParams = &raw mut oaep;
        // SAFETY: as above; the NULL label with a length is refused before any read.
        unsafe {
            assert_eq!(parse_whole(ParamKind::RsaOaep, &oaep), BAD);
            assert_eq!(parse_whole(ParamKind::RsaAesKeyWrap, &wrap), BAD, "nested mismatch");
        }
    }

    #[test]
    fn eddsa_ecdh_and_contexts() {
        let mut ctx = *b"context";
        let mut eddsa =
            CK_EDDSA_PARAMS { phFlag: CK_TRUE, ulContextDataLen: 7, pContextData: ctx.as_mut_ptr() };
        // SAFETY: every nested pointer is a live local of its stated length, or NULL.
        unsafe {
            assert_eq!(parse(ParamKind::Eddsa, core::ptr::null::<u8>(), 0), Ok(MechParam::None));
            let want = MechParam::Eddsa { prehash: true, context: ctx.to_vec() };
            assert_eq!(parse_whole(ParamKind::Eddsa, &eddsa), Ok(want));
            assert_eq!(parse(ParamKind::Eddsa, &raw const eddsa, 1), BAD);
            assert_eq!(parse(ParamKind::Eddsa, core::ptr::null::<u8>(), size_of::<CK_EDDSA_PARAMS>()), BAD);
            eddsa.pContextData = core::ptr::null_mut();
            assert_eq!(parse_whole(ParamKind::Eddsa, &eddsa), BAD);
        }

        let mut point = [4u8; 65];
        let mut ecdh = CK_ECDH1_DERIVE_PARAMS {
            kdf: CKD_SHA256_KDF,
            ulSharedDataLen: 3,
            pSharedData: ctx.as_mut_ptr(),
            ulPublicDataLen: 65,
            pPublicData: point.as_mut_ptr(),
        };
        // SAFETY: as above.
        unsafe {
            let want = MechParam::Ecdh1 {
                kdf: ul(CKD_SHA256_KDF),
                shared_data: b"con".to_vec(),
                public_data: point.to_vec(),
            };
            assert_eq!(parse_whole(ParamKind::Ecdh1, &ecdh), Ok(want));
            ecdh.pPublicData = core::ptr::null_mut();
            assert_eq!(parse_whole(ParamKind::Ecdh1, &ecdh), BAD);
        }

        let sign = CK_SIGN_ADDITIONAL_CONTEXT {
            hedgeVariant: CKH_DETERMINISTIC_REQUIRED,
            pContext: ctx.as_mut_ptr(),
            ulContextLen: 7,
        };
        let hash = CK_HASH_SIGN_ADDITIONAL_CONTEXT {
            hedgeVariant: CKH_HEDGE_PREFERRED,
            pContext: core::ptr::null_mut(),
            ulContextLen: 0,
            hash: CKM_SHA3_256,
        };
        // SAFETY: as above.
        unsafe {
            assert_eq!(parse(ParamKind::SignContext, core::ptr::null::<u8>(), 0), Ok(MechParam::None));
            let want =
                MechParam::SignContext { hedge: ul(CKH_DETERMINISTIC_REQUIRED), context: ctx.to_vec() };
            assert_eq!(parse_whole(ParamKind::SignContext, &sign), Ok(want));
            assert_eq!(parse_whole(ParamKind::SignContext, &hash), BAD, "a hash context is larger");
            let want = MechParam::HashSignContext {
                hedge: ul(CKH_HEDGE_PREFERRED),
                context: Vec::new(),
                hash: MechanismType::SHA3_256,
            };
            assert_eq!(parse_whole(ParamKind::HashSignContext, &hash), Ok(want));
            assert_eq!(parse(ParamKind::HashSignContext, core::ptr::null::<u8>(), 0), BAD, "not optional");
        }
    }

    #[test]
    fn hkdf_salts() {
        let mut salt = *b"salt";
        let mut info_bytes = *b"info";
        let mut h = CK_HKDF_PARAMS {
            bExtract: CK_TRUE,
            bExpand: CK_FALSE,
            prfHashMechanism: CKM_SHA256,
            ulSaltType: CKF_HKDF_SALT_DATA,
            pSalt: salt.as_mut_ptr(),
            ulSaltLen: 4,
            hSaltKey: 0,
            pInfo: info_bytes.as_mut_ptr(),
            ulInfoLen: 4,
        };
        let want = |salt| {
            Ok(MechParam::Hkdf(HkdfParams {
                extract: true,
                expand: false,
                prf: MechanismType::SHA256,
                salt,
                info: b"info".to_vec(),
            }))
        };
        // SAFETY: the nested pointers are live locals of their stated lengths, or NULL.
        unsafe {
            assert_eq!(parse_whole(ParamKind::Hkdf, &h), want(HkdfSalt::Data(b"salt".to_vec())));
            h.ulSaltType = CKF_HKDF_SALT_KEY;
            h.hSaltKey = 77;
            assert_eq!(parse_whole(ParamKind::Hkdf, &h), want(HkdfSalt::Key(77)));
            h.ulSaltType = CKF_HKDF_SALT_NULL;
            h.pSalt = core::ptr::null_mut();
            assert_eq!(parse_whole(ParamKind::Hkdf, &h), want(HkdfSalt::Null), "pSalt unread");
            h.ulSaltType = CKF_HKDF_SALT_DATA;
            assert_eq!(parse_whole(ParamKind::Hkdf, &h), BAD, "NULL salt data with a length");
            h.ulSaltType = 3;
            assert_eq!(parse_whole(ParamKind::Hkdf, &h), BAD, "no such salt type");
            h.ulSaltType = CKF_HKDF_SALT_NULL;
            h.pInfo = core::ptr::null_mut();
            assert_eq!(parse_whole(ParamKind::Hkdf, &h), BAD, "NULL info with a length");
            assert_eq!(parse(ParamKind::Hkdf, &raw const h, size_of::<CK_HKDF_PARAMS>() + 8), BAD);
        }
    }

    #[test]
    fn pbkdf2_current_and_legacy_layout() {
        let mut salt = [3u8; 16];
        let mut password = *b"correct horse";
        let mut p2 = CK_PKCS5_PBKD2_PARAMS2 {
            saltSource: CKZ_SALT_SPECIFIED,
            pSaltSourceData: salt.as_mut_ptr().cast(),
            ulSaltSourceDataLen: 16,
            iterations: 10_000,
            prf: 4,
            pPrfData: core::ptr::null_mut(),
            ulPrfDataLen: 0,
            pPassword: password.as_mut_ptr(),
            ulPasswordLen: 13,
        };
        let want_salt = salt;
        let check = |r: Result<MechParam>| {
            let Ok(MechParam::Pbkdf2(p)) = r else { panic!("not PBKDF2: {r:?}") };
            assert_eq!((p.salt_source, &p.salt[..], p.iterations, p.prf), (1, &want_salt[..], 10_000, 4));
            assert!(p.prf_data.is_empty());
            assert_eq!(p.password.expose(), b"correct horse");
            assert!(!alloc::format!("{p:?}").contains("horse"), "the password is not printed");
        };
        // SAFETY: the nested pointers are live locals of their stated lengths, or NULL.
        unsafe { check(parse_whole(ParamKind::Pbkdf2, &p2)) };

        let mut len: CK_ULONG = 13;
        let legacy = CK_PKCS5_PBKD2_PARAMS {
            saltSource: CKZ_SALT_SPECIFIED,
            pSaltSourceData: salt.as_mut_ptr().cast(),
            ulSaltSourceDataLen: 16,
            iterations: 10_000,
            prf: 4,
            pPrfData: core::ptr::null_mut(),
            ulPrfDataLen: 0,
            pPassword: password.as_mut_ptr(),
            ulPasswordLen: &raw mut len,
        };
        // SAFETY: as above; `ulPasswordLen` points at the live `len`.
        unsafe { check(parse_whole(ParamKind::Pbkdf2, &legacy)) };

        // SAFETY: as above; the mismatches are refused before any read.
        unsafe {
            assert_eq!(parse(ParamKind::Pbkdf2, &raw const p2, 16), BAD);
            p2.pPassword = core::ptr::null_mut();
            assert_eq!(parse_whole(ParamKind::Pbkdf2, &p2), BAD, "NULL password with a length");
            p2.pPassword = password.as_mut_ptr();
            p2.pSaltSourceData = core::ptr::null_mut();
            assert_eq!(parse_whole(ParamKind::Pbkdf2, &p2), BAD, "NULL salt with a length");
        }
    }

    fn counter(width: CK_ULONG) -> CK_SP800_108_COUNTER_FORMAT {
        CK_SP800_108_COUNTER_FORMAT { bLittleEndian: CK_FALSE, ulWidthInBits: width }
    }

    fn prf_param<T>(ty: CK_ULONG, v: &mut T) -> CK_PRF_DATA_PARAM {
        CK_PRF_DATA_PARAM { type_: ty, pValue: (v as *mut T).cast(), ulValueLen: ck_len(size_of::<T>()) }
    }

    /// An SP 800-108 counter-mode parameter over the arrays as they are now.
    fn counter_params(
        data: &mut [CK_PRF_DATA_PARAM],
        keys: &mut [CK_DERIVED_KEY],
    ) -> CK_SP800_108_KDF_PARAMS {
        CK_SP800_108_KDF_PARAMS {
            prfType: CKM_SHA256_HMAC,
            ulNumberOfDataParams: ck_len(data.len()),
            pDataParams: data.as_mut_ptr(),
            ulAdditionalDerivedKeys: ck_len(keys.len()),
            pAdditionalDerivedKeys: keys.as_mut_ptr(),
        }
    }

    /// # Safety
    /// Every array, value and template `c` leads to is live for its stated length, every
    /// `phKey` NULL or a live handle.
    unsafe fn parse_counter<'a>(c: &CK_SP800_108_KDF_PARAMS) -> Result<MechanismWithOutputsParam<'a>> {
        // SAFETY: `c` is a live reference of its own size; the rest is this function's contract.
        unsafe { sp800_108((&raw const *c).cast(), ck_len(size_of::<CK_SP800_108_KDF_PARAMS>()), false) }
    }

    #[test]
    fn sp800_108_counter_with_additional_keys() {
        let mut iteration = counter(32);
        let mut label = *b"label";
        let mut dkm = CK_SP800_108_DKM_LENGTH_FORMAT {
            dkmLengthMethod: CK_SP800_108_DKM_LENGTH_SUM_OF_KEYS,
            bLittleEndian: CK_TRUE,
            ulWidthInBits: 16,
        };
        let mut data = [
            prf_param(CK_SP800_108_ITERATION_VARIABLE, &mut iteration),
            CK_PRF_DATA_PARAM {
                type_: CK_SP800_108_BYTE_ARRAY,
                pValue: label.as_mut_ptr().cast(),
                ulValueLen: 5,
            },
            prf_param(CK_SP800_108_DKM_LENGTH, &mut dkm),
        ];
        let mut token = [1u8];
        let mut t1 = [attr(ck(AttrType::TOKEN.0), token.as_mut_ptr(), 1)];
        let (mut h1, mut h2): (CK_OBJECT_HANDLE, CK_OBJECT_HANDLE) = (0, 0);
        let mut keys = [
            CK_DERIVED_KEY { pTemplate: t1.as_mut_ptr(), ulAttributeCount: 1, phKey: &raw mut h1 },
            CK_DERIVED_KEY { pTemplate: core::ptr::null_mut(), ulAttributeCount: 0, phKey: &raw mut h2 },
        ];
        let c = counter_params(&mut data, &mut keys);
        // SAFETY: everything `c` leads to is a live local of its stated length.
        let (param, outputs) = unsafe { parse_counter(&c) }.unwrap();
        let want = Sp800108Params {
            prf: MechanismType::SHA256_HMAC,
            data: alloc::vec![
                PrfDataParam::IterationVariable(Some(CounterFormat { little_endian: false, width_bits: 32 })),
                PrfDataParam::ByteArray(label.to_vec()),
                PrfDataParam::DkmLength { method: 1, little_endian: true, width_bits: 16 },
            ],
            iv: Vec::new(),
            additional_keys: alloc::vec![alloc::vec![Attribute::bool(AttrType::TOKEN, true)], Vec::new()],
        };
        assert_eq!(param, MechParam::Sp800108(want));
        // After C_DeriveKey: the handles go back in order.
        assert_eq!(write_handles(outputs, &[11, 12]), Ok(()));
        assert_eq!((h1, h2), (11, 12));
        // SAFETY: as above.
        let (_, outputs) = unsafe { parse_counter(&c) }.unwrap();
        assert_eq!(write_handles(outputs, &[13]), Err(Error::GeneralError), "a count mismatch is a bug");
        assert_eq!(h1, 13);

        // Every nested mismatch is the parameter's fault; each case rebuilds the pointers.
        let bad = Err(Error::MechanismParamInvalid);
        let check = |data: &mut [CK_PRF_DATA_PARAM], keys: &mut [CK_DERIVED_KEY], want, why| {
            let c = counter_params(data, keys);
            // SAFETY: everything `c` leads to is a live local of its stated length, or NULL.
            assert_eq!(unsafe { parse_counter(&c) }.map(|_| ()), want, "{why}");
        };
        keys[1].phKey = core::ptr::null_mut();
        check(&mut data, &mut keys, bad, "NULL phKey");
        keys[1].phKey = &raw mut h2;
        keys[1].ulAttributeCount = 2;
        check(&mut data, &mut keys, bad, "NULL template with a count");
        keys[1].ulAttributeCount = 0;
        t1[0].type_ = 0x7fff_0001;
        keys[0].pTemplate = t1.as_mut_ptr();
        check(&mut data, &mut keys, Err(Error::AttributeTypeInvalid), "template errors stay themselves");
        data[0].ulValueLen = 4;
        check(&mut data, &mut keys, bad, "counter format of the wrong size");
        data[0].ulValueLen = ck_len(size_of::<CK_SP800_108_COUNTER_FORMAT>());
        data[1].type_ = 5;
        check(&mut data, &mut keys, bad, "CK_SP800_108_KEY_HANDLE is not offered");
        data[1].type_ = CK_SP800_108_BYTE_ARRAY;
        data[1].pValue = core::ptr::null_mut();
        check(&mut data, &mut keys, bad, "NULL byte array with a length");

        let mut c = counter_params(&mut data, &mut keys);
        c.pDataParams = core::ptr::null_mut();
        // SAFETY: the NULL data array with a count is refused before any read.
        assert_eq!(unsafe { parse_counter(&c) }.map(|_| ()), bad, "NULL data array with a count");
        let mut c = counter_params(&mut [], &mut keys);
        c.pAdditionalDerivedKeys = core::ptr::null_mut();
        // SAFETY: as above, for the key array.
        assert_eq!(unsafe { parse_counter(&c) }.map(|_| ()), bad, "NULL key array with a count");
        // SAFETY: a wrong size is refused before any read.
        let r = unsafe { sp800_108((&raw const c).cast(), 8, false) };
        assert_eq!(r.map(|_| ()), bad);
    }

    #[test]
    fn sp800_108_feedback() {
        let mut optional = counter(8);
        let mut data = [
            CK_PRF_DATA_PARAM {
                type_: CK_SP800_108_ITERATION_VARIABLE,
                pValue: core::ptr::null_mut(),
                ulValueLen: 0,
            },
            prf_param(CK_SP800_108_OPTIONAL_COUNTER, &mut optional),
        ];
        let mut iv = [6u8; 32];
        let mut c = CK_SP800_108_FEEDBACK_KDF_PARAMS {
            prfType: CKM_SHA256_HMAC,
            ulNumberOfDataParams: 2,
            pDataParams: data.as_mut_ptr(),
            ulIVLen: 32,
            pIV: iv.as_mut_ptr(),
            ulAdditionalDerivedKeys: 0,
            pAdditionalDerivedKeys: core::ptr::null_mut(),
        };
        let size = ck_len(size_of::<CK_SP800_108_FEEDBACK_KDF_PARAMS>());
        // SAFETY: the arrays and the IV are live locals of their stated lengths, or NULL.
        let (param, outputs) = unsafe { sp800_108((&raw const c).cast(), size, true) }.unwrap();
        assert!(outputs.is_empty());
        let want = Sp800108Params {
            prf: MechanismType::SHA256_HMAC,
            data: alloc::vec![
                PrfDataParam::IterationVariable(None),
                PrfDataParam::Counter(CounterFormat { little_endian: false, width_bits: 8 }),
            ],
            iv: iv.to_vec(),
            additional_keys: Vec::new(),
        };
        assert_eq!(param, MechParam::Sp800108(want));
        c.pIV = core::ptr::null_mut();
        // SAFETY: as above; the NULL IV with a length is refused before any read.
        let r = unsafe { sp800_108((&raw const c).cast(), size, true) };
        assert_eq!(r.map(|_| ()), Err(Error::MechanismParamInvalid));
        // A counter-mode struct is smaller than a feedback one.
        // SAFETY: a wrong size is refused before any read.
        let r =
            unsafe { sp800_108((&raw const c).cast(), ck_len(size_of::<CK_SP800_108_KDF_PARAMS>()), true) };
        assert_eq!(r.map(|_| ()), Err(Error::MechanismParamInvalid));
    }

    #[test]
    fn no_parameter_shape_reads_a_null_struct() {
        // Every shape given NULL with a plausible size: refused, never dereferenced. Only
        // the byte strings read nothing of a length-0 NULL and accept it.
        use ParamKind as K;
        let kinds = [
            K::None,
            K::Bytes,
            K::OptionalBytes,
            K::Ulong,
            K::ObjectHandle,
            K::KeyDerivationString,
            K::Gcm,
            K::Ccm,
            K::AesCtr,
            K::ChaCha20Poly1305,
            K::AesCbcEncryptData,
            K::DesCbcEncryptData,
            K::RsaPss,
            K::RsaOaep,
            K::RsaAesKeyWrap,
            K::Eddsa,
            K::Ecdh1,
            K::SignContext,
            K::HashSignContext,
            K::Hkdf,
            K::Pbkdf2,
        ];
        for kind in kinds {
            for len in [8, 16, 24, 32, 40, 48, 56, 72] {
                // SAFETY: NULL with a length is refused before any read.
                let r = unsafe { parse(kind, core::ptr::null::<u8>(), len) };
                assert_eq!(r, BAD, "{kind:?} with {len} bytes at NULL");
            }
        }
        for kind in [K::Sp800108Counter, K::Sp800108Feedback] {
            // SAFETY: as above.
            let r = unsafe { sp800_108(core::ptr::null(), 40, kind == K::Sp800108Feedback) };
            assert_eq!(r.map(|_| ()), Err(Error::MechanismParamInvalid));
        }
    }

    #[test]
    fn templates_parse_once_with_nesting() {
        let mut label = *b"key";
        let mut yes = [1u8];
        let mut nested = [attr(ck(AttrType::TOKEN.0), yes.as_mut_ptr(), 1)];
        let mut raw = [
            attr(ck(AttrType::LABEL.0), label.as_mut_ptr(), 3),
            attr(ck(AttrType::ID.0), core::ptr::null_mut(), 0),
            CK_ATTRIBUTE {
                type_: ck(AttrType::WRAP_TEMPLATE.0),
                pValue: nested.as_mut_ptr().cast(),
                ulValueLen: ck_len(size_of::<CK_ATTRIBUTE>()),
            },
        ];
        // SAFETY: `raw` and everything it points at are live locals of the stated lengths.
        let t = unsafe { template(raw.as_ptr(), 3) }.unwrap();
        assert_eq!(t[0], Attribute::bytes(AttrType::LABEL, b"key"));
        assert_eq!(t[1], Attribute::bytes(AttrType::ID, b""), "NULL with length 0 is an empty value");
        let inner = alloc::vec![Attribute::bool(AttrType::TOKEN, true)];
        assert_eq!(t[2], Attribute::template(AttrType::WRAP_TEMPLATE, inner).unwrap());

        // SAFETY: NULL pointers are refused (or, with count 0, not read).
        unsafe {
            assert_eq!(template(core::ptr::null(), 0), Ok(alloc::vec![]));
            assert_eq!(template(core::ptr::null(), 2), Err(Error::ArgumentsBad));
        }
        raw[1].ulValueLen = 4;
        // SAFETY: as above; the NULL value with a length is refused before any read.
        let r = unsafe { template(raw.as_ptr(), 3) };
        assert_eq!(r, Err(Error::ArgumentsBad));
        raw[1] = attr(0x7fff_0001, label.as_mut_ptr(), 3);
        // SAFETY: as above.
        let r = unsafe { template(raw.as_ptr(), 2) };
        assert_eq!(r, Err(Error::AttributeTypeInvalid));
        raw[2].ulValueLen = 5;
        // SAFETY: as above; a template length that is no multiple of CK_ATTRIBUTE is refused.
        let r = unsafe { template(raw[2..].as_ptr(), 1) };
        assert_eq!(r, Err(Error::AttributeValueInvalid));
    }

    #[test]
    fn nesting_is_bounded() {
        // A template that contains itself: refused at the depth limit, not recursed forever.
        let mut looped = [CK_ATTRIBUTE {
            type_: ck(AttrType::WRAP_TEMPLATE.0),
            pValue: core::ptr::null_mut(),
            ulValueLen: 0,
        }];
        looped[0].pValue = looped.as_mut_ptr().cast();
        looped[0].ulValueLen = ck_len(size_of::<CK_ATTRIBUTE>());
        // SAFETY: `looped` is live; it points at itself, which is a valid attribute array.
        let r = unsafe { template(looped.as_ptr(), 1) };
        assert_eq!(r, Err(Error::AttributeValueInvalid));
    }

    #[test]
    fn nested_counts() {
        let s = size_of::<CK_ATTRIBUTE>();
        assert_eq!(nested_count(ck_len(3 * s)), Ok(3));
        assert_eq!(nested_count(0), Ok(0));
        assert_eq!(nested_count(ck_len(s + 1)), Err(Error::AttributeValueInvalid));
    }
}
