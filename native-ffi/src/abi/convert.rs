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
        AttrLookup, MechParam, Mechanism, MechanismInfo, Output, SessionInfo, SlotInfo, TokenInfo, Version,
    },
    mechanism::{ParamKind, param_kind},
    object::schema,
};
use cryptoki_sys::{
    CK_ATTRIBUTE, CK_GCM_PARAMS, CK_INFO, CK_MECHANISM, CK_MECHANISM_INFO, CK_SESSION_INFO, CK_SLOT_INFO,
    CK_TOKEN_INFO, CK_ULONG, CK_VERSION,
};
use zeroize::Zeroize;

use super::ptr::{self, OutBuffer};

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

/// Parse a caller's `CK_MECHANISM` into the shape [`param_kind`] says the engine expects.
///
/// # Errors
/// `ArgumentsBad` for a NULL `pMechanism`; `MechanismInvalid` for a mechanism the engine
/// does not know; `MechanismParamInvalid` for a parameter of the wrong shape.
///
/// # Safety
/// Unless `p` is NULL it points at a `CK_MECHANISM` whose `pParameter` is NULL or valid for
/// `ulParameterLen` bytes, and whose nested pointers (`CK_GCM_PARAMS.pIv`, …) are NULL or
/// valid for their lengths.
pub unsafe fn mechanism(p: *const CK_MECHANISM) -> Result<Mechanism> {
    // SAFETY: this function's contract covers `p`.
    let raw = unsafe { ptr::read(p) }?;
    let ty = MechanismType(ul(raw.mechanism));
    let kind = param_kind(ty).ok_or(Error::MechanismInvalid)?;
    let param_ptr = raw.pParameter.cast_const().cast::<u8>();
    let len = raw.ulParameterLen;
    let bad = |_| Error::MechanismParamInvalid;
    let param = match kind {
        ParamKind::None if len == 0 => MechParam::None,
        ParamKind::None => return Err(Error::MechanismParamInvalid),
        ParamKind::Bytes => {
            // SAFETY: `pParameter` is valid for `ulParameterLen` bytes by this function's contract.
            let bytes = unsafe { ptr::slice_from_raw(param_ptr, len) };
            MechParam::Bytes(bytes.map_err(bad)?.to_vec())
        }
        ParamKind::Ulong => {
            if len_from_ck(len) != Some(size_of::<CK_ULONG>()) {
                return Err(Error::MechanismParamInvalid);
            }
            // SAFETY: `pParameter` holds `ulParameterLen` = sizeof(CK_ULONG) bytes by contract.
            MechParam::Ulong(ul(unsafe { ptr::read(param_ptr.cast::<CK_ULONG>()) }.map_err(bad)?))
        }
        // SAFETY: `pParameter` holds `ulParameterLen` bytes by contract; `gcm` reads only
        // as many as the struct it recognises by that size.
        ParamKind::Gcm => unsafe { gcm(param_ptr, len) }?,
        // Shapes no table row uses yet.
        _ => return Err(Error::MechanismParamInvalid),
    };
    Ok(Mechanism { ty, param })
}

/// `CK_GCM_PARAMS`, current or legacy layout, told apart by size.
///
/// # Safety
/// Unless `p` is NULL, it is valid for `len` bytes, and the struct's `pIv` / `pAAD` are NULL
/// or valid for their lengths.
unsafe fn gcm(p: *const u8, len: CK_ULONG) -> Result<MechParam> {
    let bad = |_| Error::MechanismParamInvalid;
    let (iv_ptr, iv_len, aad_ptr, aad_len, tag_bits) = match len_from_ck(len) {
        Some(n) if n == size_of::<CK_GCM_PARAMS>() => {
            // SAFETY: `p` holds `len` = sizeof(CK_GCM_PARAMS) bytes by contract.
            let g = unsafe { ptr::read(p.cast::<CK_GCM_PARAMS>()) }.map_err(bad)?;
            (g.pIv, g.ulIvLen, g.pAAD, g.ulAADLen, g.ulTagBits)
        }
        Some(n) if n == size_of::<GcmParamsLegacy>() => {
            // SAFETY: `p` holds `len` = sizeof(GcmParamsLegacy) bytes by contract.
            let g = unsafe { ptr::read(p.cast::<GcmParamsLegacy>()) }.map_err(bad)?;
            (g.p_iv, g.iv_len, g.p_aad, g.aad_len, g.tag_bits)
        }
        _ => return Err(Error::MechanismParamInvalid),
    };
    // SAFETY: `pIv` / `pAAD` are valid for their lengths by contract.
    let (iv, aad) = unsafe {
        (
            ptr::slice_from_raw(iv_ptr.cast_const(), iv_len).map_err(bad)?.to_vec(),
            ptr::slice_from_raw(aad_ptr.cast_const(), aad_len).map_err(bad)?.to_vec(),
        )
    };
    Ok(MechParam::Gcm { iv, aad, tag_bits: ul(tag_bits) })
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
