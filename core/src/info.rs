//! The plain data the engine returns: slot, token, session and mechanism information, and
//! the typed mechanism a front-end parses from `CK_MECHANISM`.

use alloc::vec::Vec;

use crate::consts::{MechanismType, SessionState};

/// `CK_VERSION`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Version {
    /// Major number.
    pub major: u8,
    /// Minor number.
    pub minor: u8,
}

/// `CK_SLOT_INFO`, with strings already blank-padded to their C widths.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SlotInfo {
    /// `slotDescription`, 64 bytes, blank padded.
    pub description: [u8; 64],
    /// `manufacturerID`, 32 bytes, blank padded.
    pub manufacturer: [u8; 32],
    /// `CKF_TOKEN_PRESENT` | `CKF_REMOVABLE_DEVICE` | `CKF_HW_SLOT`.
    pub flags: u64,
    /// Hardware version.
    pub hardware_version: Version,
    /// Firmware version.
    pub firmware_version: Version,
}

/// `CK_TOKEN_INFO`, strings blank padded. Counts the engine cannot know are
/// [`UNAVAILABLE`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenInfo {
    /// 32 bytes, blank padded.
    pub label: [u8; 32],
    /// 32 bytes, blank padded.
    pub manufacturer: [u8; 32],
    /// 16 bytes, blank padded.
    pub model: [u8; 16],
    /// 16 bytes, blank padded.
    pub serial: [u8; 16],
    /// `CKF_*` token flags.
    pub flags: u64,
    /// `ulMaxSessionCount` (`CK_EFFECTIVELY_INFINITE` = 0).
    pub max_session_count: u64,
    /// `ulSessionCount`.
    pub session_count: u64,
    /// `ulMaxRwSessionCount`.
    pub max_rw_session_count: u64,
    /// `ulRwSessionCount`.
    pub rw_session_count: u64,
    /// `ulMaxPinLen`.
    pub max_pin_len: u64,
    /// `ulMinPinLen`.
    pub min_pin_len: u64,
    /// `ulTotalPublicMemory`.
    pub total_public_memory: u64,
    /// `ulFreePublicMemory`.
    pub free_public_memory: u64,
    /// `ulTotalPrivateMemory`.
    pub total_private_memory: u64,
    /// `ulFreePrivateMemory`.
    pub free_private_memory: u64,
    /// Hardware version.
    pub hardware_version: Version,
    /// Firmware version.
    pub firmware_version: Version,
    /// `utcTime`: 16 bytes `YYYYMMDDhhmmss00`, or blanks without a clock.
    pub utc_time: [u8; 16],
}

/// `CK_UNAVAILABLE_INFORMATION` (`~0UL`); a front-end with a 4-byte `CK_ULONG` truncates it.
pub const UNAVAILABLE: u64 = u64::MAX;

/// `CK_SESSION_INFO`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionInfo {
    /// The slot the session is on.
    pub slot_id: u64,
    /// `CKS_*`.
    pub state: SessionState,
    /// `CKF_RW_SESSION` | `CKF_SERIAL_SESSION`.
    pub flags: u64,
    /// `ulDeviceError`.
    pub device_error: u64,
}

/// `CK_MECHANISM_INFO`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MechanismInfo {
    /// Minimum key size (bits or bytes, as the spec says per mechanism).
    pub min_key_size: u64,
    /// Maximum key size.
    pub max_key_size: u64,
    /// `CKF_ENCRYPT`, `CKF_SIGN`, `CKF_DIGEST`, `CKF_GENERATE`, … .
    pub flags: u64,
}

/// A mechanism with its parameter, parsed by the front-end from `CK_MECHANISM`
/// according to [`crate::mechanism::param_kind`].
#[derive(Clone, PartialEq, Eq)]
pub struct Mechanism {
    /// `CKM_*`.
    pub ty: MechanismType,
    /// The typed parameter.
    pub param: MechParam,
}

impl core::fmt::Debug for Mechanism {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{:?}", self.ty)
    }
}

impl Mechanism {
    /// A mechanism without parameter.
    pub fn new(ty: MechanismType) -> Self {
        Self { ty, param: MechParam::None }
    }
}

/// The parameter shapes the engine understands. Which one a mechanism takes is
/// [`crate::mechanism::param_kind`]; a front-end parses exactly that shape.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MechParam {
    /// No parameter (`pParameter` NULL, `ulParameterLen` 0).
    None,
    /// An opaque byte string (an IV, a `CK_BYTE` array).
    Bytes(Vec<u8>),
    /// One `CK_ULONG` (e.g. `CK_MAC_GENERAL_PARAMS`: the MAC length in bytes).
    Ulong(u64),
    /// `CK_GCM_PARAMS`.
    Gcm {
        /// `pIv`/`ulIvLen`.
        iv: Vec<u8>,
        /// `pAAD`/`ulAADLen`.
        aad: Vec<u8>,
        /// `ulTagBits`.
        tag_bits: u64,
    },
}

/// What the front-end tells the engine about the caller's output buffer
/// (the length-query / `CKR_BUFFER_TOO_SMALL` convention).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutBuf {
    /// `pOut == NULL`: the caller asks for the length only; the operation stays active.
    Query,
    /// A buffer of this many bytes.
    Capacity(usize),
}

/// The engine's answer for an operation step that produces output.
#[derive(Clone, PartialEq, Eq)]
pub enum Output {
    /// The output; the step is done (and the operation ended if it was the last step).
    Data(Vec<u8>),
    /// The output would be this long: for [`OutBuf::Query`] the front-end returns `CKR_OK`
    /// with this length, for a short buffer `CKR_BUFFER_TOO_SMALL`. The operation stays active.
    Length(usize),
}

impl core::fmt::Debug for Output {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Output::Data(d) => write!(f, "Data({} bytes)", d.len()),
            Output::Length(n) => write!(f, "Length({n})"),
        }
    }
}

/// Session open flags (`CKF_RW_SESSION`, `CKF_SERIAL_SESSION`).
pub type SessionFlags = u64;

/// One answer of `C_GetAttributeValue` for one requested type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AttrLookup {
    /// The value.
    Value(crate::attribute::AttrValue),
    /// `CKR_ATTRIBUTE_SENSITIVE` for this attribute.
    Sensitive,
    /// `CKR_ATTRIBUTE_TYPE_INVALID` for this attribute.
    Invalid,
}
