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
/// [`crate::mechanism::param_kind`]; a front-end parses exactly that shape (each variant
/// names the `CK_*` structure it comes from).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum MechParam {
    /// No parameter (`pParameter` NULL, `ulParameterLen` 0).
    None,
    /// An opaque byte string: an IV, a `CK_BYTE` array, a DH public value, or the data of
    /// `CK_KEY_DERIVATION_STRING_DATA`.
    Bytes(Vec<u8>),
    /// One `CK_ULONG`: `CK_MAC_GENERAL_PARAMS` (the MAC length in bytes), `CK_EXTRACT_PARAMS`
    /// (a bit index), or a `CK_OBJECT_HANDLE` (`CKM_CONCATENATE_BASE_AND_KEY`).
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
    /// `CK_CCM_PARAMS`.
    Ccm {
        /// `ulDataLen`: the total message length.
        data_len: u64,
        /// `pNonce`/`ulNonceLen`.
        nonce: Vec<u8>,
        /// `pAAD`/`ulAADLen`.
        aad: Vec<u8>,
        /// `ulMACLen` in bytes.
        mac_len: u64,
    },
    /// `CK_AES_CTR_PARAMS`.
    AesCtr {
        /// `ulCounterBits`.
        counter_bits: u64,
        /// `cb`: the initial counter block.
        block: [u8; 16],
    },
    /// `CK_SALSA20_CHACHA20_POLY1305_PARAMS`.
    ChaCha20Poly1305 {
        /// `pNonce`/`ulNonceLen`.
        nonce: Vec<u8>,
        /// `pAAD`/`ulAADLen`.
        aad: Vec<u8>,
    },
    /// `CK_AES_CBC_ENCRYPT_DATA_PARAMS` (16-byte IV) or `CK_DES_CBC_ENCRYPT_DATA_PARAMS` (8-byte IV).
    CbcEncryptData {
        /// `iv`.
        iv: Vec<u8>,
        /// `pData`/`length`.
        data: Vec<u8>,
    },
    /// `CK_RSA_PKCS_PSS_PARAMS`.
    RsaPss(RsaPssParams),
    /// `CK_RSA_PKCS_OAEP_PARAMS`.
    RsaOaep(RsaOaepParams),
    /// `CK_RSA_AES_KEY_WRAP_PARAMS`.
    RsaAesKeyWrap {
        /// `ulAESKeyBits`.
        aes_key_bits: u64,
        /// `pOAEPParams`.
        oaep: RsaOaepParams,
    },
    /// `CK_EDDSA_PARAMS` (absent for plain Ed25519: [`MechParam::None`]).
    Eddsa {
        /// `phFlag`: the pre-hash (`ph`) variant.
        prehash: bool,
        /// `pContextData`/`ulContextDataLen`.
        context: Vec<u8>,
    },
    /// `CK_ECDH1_DERIVE_PARAMS`.
    Ecdh1 {
        /// `kdf`: `CKD_*`.
        kdf: u64,
        /// `pSharedData`/`ulSharedDataLen`.
        shared_data: Vec<u8>,
        /// `pPublicData`/`ulPublicDataLen`: the other party's public key.
        public_data: Vec<u8>,
    },
    /// `CK_SIGN_ADDITIONAL_CONTEXT` (ML-DSA, SLH-DSA).
    SignContext {
        /// `hedgeVariant`: `CKH_HEDGE_PREFERRED` / `_REQUIRED` / `CKH_DETERMINISTIC_REQUIRED`.
        hedge: u64,
        /// `pContext`/`ulContextLen`.
        context: Vec<u8>,
    },
    /// `CK_HASH_SIGN_ADDITIONAL_CONTEXT` (HashML-DSA with a caller-chosen hash).
    HashSignContext {
        /// `hedgeVariant`.
        hedge: u64,
        /// `pContext`/`ulContextLen`.
        context: Vec<u8>,
        /// `hash`.
        hash: MechanismType,
    },
    /// `CK_HKDF_PARAMS`.
    Hkdf(HkdfParams),
    /// `CK_PKCS5_PBKD2_PARAMS2`.
    Pbkdf2(Pbkdf2Params),
    /// `CK_SP800_108_KDF_PARAMS` / `CK_SP800_108_FEEDBACK_KDF_PARAMS`.
    Sp800108(Sp800108Params),
}

/// `CK_RSA_PKCS_PSS_PARAMS`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RsaPssParams {
    /// `hashAlg`.
    pub hash: MechanismType,
    /// `mgf`: `CKG_MGF1_*`.
    pub mgf: u64,
    /// `sLen`.
    pub salt_len: u64,
}

/// `CK_RSA_PKCS_OAEP_PARAMS`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RsaOaepParams {
    /// `hashAlg`.
    pub hash: MechanismType,
    /// `mgf`: `CKG_MGF1_*`.
    pub mgf: u64,
    /// `source`: 0 or `CKZ_DATA_SPECIFIED`.
    pub source: u64,
    /// `pSourceData`/`ulSourceDataLen`: the label.
    pub source_data: Vec<u8>,
}

/// The salt of `CK_HKDF_PARAMS`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HkdfSalt {
    /// `CKF_HKDF_SALT_NULL`.
    Null,
    /// `CKF_HKDF_SALT_DATA`.
    Data(Vec<u8>),
    /// `CKF_HKDF_SALT_KEY`: a key handle.
    Key(u64),
}

/// `CK_HKDF_PARAMS`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HkdfParams {
    /// `bExtract`.
    pub extract: bool,
    /// `bExpand`.
    pub expand: bool,
    /// `prfHashMechanism`.
    pub prf: MechanismType,
    /// `ulSaltType` with `pSalt`/`hSaltKey`.
    pub salt: HkdfSalt,
    /// `pInfo`/`ulInfoLen`.
    pub info: Vec<u8>,
}

/// `CK_PKCS5_PBKD2_PARAMS2`.
#[derive(Clone, PartialEq, Eq)]
pub struct Pbkdf2Params {
    /// `saltSource` (`CKZ_SALT_SPECIFIED`).
    pub salt_source: u64,
    /// `pSaltSourceData`.
    pub salt: Vec<u8>,
    /// `iterations`.
    pub iterations: u64,
    /// `prf`: `CKP_PKCS5_PBKD2_HMAC_*`.
    pub prf: u64,
    /// `pPrfData`.
    pub prf_data: Vec<u8>,
    /// `pPassword`/`ulPasswordLen`.
    pub password: crate::secret::SecretBytes,
}

impl core::fmt::Debug for Pbkdf2Params {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Pbkdf2Params")
            .field("iterations", &self.iterations)
            .field("prf", &self.prf)
            .finish_non_exhaustive()
    }
}

/// One `CK_PRF_DATA_PARAM` of an SP 800-108 KDF.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PrfDataParam {
    /// `CK_SP800_108_ITERATION_VARIABLE`; `Some` carries its `CK_SP800_108_COUNTER_FORMAT`
    /// (little endian, width in bits) for the counter KDF, `None` in feedback/pipeline mode.
    IterationVariable(Option<CounterFormat>),
    /// `CK_SP800_108_OPTIONAL_COUNTER`.
    Counter(CounterFormat),
    /// `CK_SP800_108_DKM_LENGTH`: `CK_SP800_108_DKM_LENGTH_FORMAT`.
    DkmLength {
        /// `dkmLengthMethod`: `CK_SP800_108_DKM_LENGTH_SUM_OF_KEYS` or `_SUM_OF_SEGMENTS`.
        method: u64,
        /// `bLittleEndian`.
        little_endian: bool,
        /// `ulWidthInBits`.
        width_bits: u64,
    },
    /// `CK_SP800_108_BYTE_ARRAY`.
    ByteArray(Vec<u8>),
}

/// `CK_SP800_108_COUNTER_FORMAT`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CounterFormat {
    /// `bLittleEndian`.
    pub little_endian: bool,
    /// `ulWidthInBits`.
    pub width_bits: u64,
}

/// `CK_SP800_108_KDF_PARAMS` / `CK_SP800_108_FEEDBACK_KDF_PARAMS`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sp800108Params {
    /// `prfType`: the PRF mechanism (`CKM_SHA256_HMAC`, `CKM_AES_CMAC`, …).
    pub prf: MechanismType,
    /// `pDataParams`.
    pub data: Vec<PrfDataParam>,
    /// `pIV` (feedback mode only).
    pub iv: Vec<u8>,
    /// `pAdditionalDerivedKeys`: the template of each extra key; the front-end writes the new
    /// handles back in order.
    pub additional_keys: Vec<Vec<crate::attribute::Attribute>>,
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
