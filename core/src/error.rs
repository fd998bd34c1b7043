//! The one error type of the engine, and the one place it becomes a `CKR_*` code.
//!
//! Every variant is named after the PKCS#11 return value it stands for, so a reader of a
//! failing call can go from the `CKR_*` a client printed straight to the code that threw it.

use core::fmt;

use crate::consts::rv;

macro_rules! errors {
    ($($variant:ident => $ckr:ident,)*) => {
        /// A PKCS#11 failure. `ck_rv()` is the only mapping to wire codes.
        #[derive(Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum Error {
            $(
                #[doc = concat!("`", stringify!($ckr), "`")]
                $variant,
            )*
        }

        impl Error {
            /// Every variant, in code order (used by tests and by front-ends that list codes).
            pub const ALL: &'static [Error] = &[$(Error::$variant,)*];

            /// The `CKR_*` value of this error.
            pub const fn ck_rv(self) -> u64 {
                match self {
                    $(Error::$variant => rv::$ckr,)*
                }
            }

            /// The spec's name of the code, e.g. `"CKR_PIN_INCORRECT"`.
            pub const fn name(self) -> &'static str {
                match self {
                    $(Error::$variant => stringify!($ckr),)*
                }
            }

            /// The error for a `CKR_*` value, if it is one we know (`CKR_OK` is not an error).
            pub fn from_rv(code: u64) -> Option<Self> {
                match code {
                    $(rv::$ckr => Some(Error::$variant),)*
                    _ => None,
                }
            }
        }
    };
}

errors! {
    Cancel => CKR_CANCEL,
    HostMemory => CKR_HOST_MEMORY,
    SlotIdInvalid => CKR_SLOT_ID_INVALID,
    GeneralError => CKR_GENERAL_ERROR,
    FunctionFailed => CKR_FUNCTION_FAILED,
    ArgumentsBad => CKR_ARGUMENTS_BAD,
    NoEvent => CKR_NO_EVENT,
    NeedToCreateThreads => CKR_NEED_TO_CREATE_THREADS,
    CantLock => CKR_CANT_LOCK,
    AttributeReadOnly => CKR_ATTRIBUTE_READ_ONLY,
    AttributeSensitive => CKR_ATTRIBUTE_SENSITIVE,
    AttributeTypeInvalid => CKR_ATTRIBUTE_TYPE_INVALID,
    AttributeValueInvalid => CKR_ATTRIBUTE_VALUE_INVALID,
    ActionProhibited => CKR_ACTION_PROHIBITED,
    DataInvalid => CKR_DATA_INVALID,
    DataLenRange => CKR_DATA_LEN_RANGE,
    DeviceError => CKR_DEVICE_ERROR,
    DeviceMemory => CKR_DEVICE_MEMORY,
    DeviceRemoved => CKR_DEVICE_REMOVED,
    EncryptedDataInvalid => CKR_ENCRYPTED_DATA_INVALID,
    EncryptedDataLenRange => CKR_ENCRYPTED_DATA_LEN_RANGE,
    AeadDecryptFailed => CKR_AEAD_DECRYPT_FAILED,
    FunctionCanceled => CKR_FUNCTION_CANCELED,
    FunctionNotParallel => CKR_FUNCTION_NOT_PARALLEL,
    FunctionNotSupported => CKR_FUNCTION_NOT_SUPPORTED,
    KeyHandleInvalid => CKR_KEY_HANDLE_INVALID,
    KeySizeRange => CKR_KEY_SIZE_RANGE,
    KeyTypeInconsistent => CKR_KEY_TYPE_INCONSISTENT,
    KeyNotNeeded => CKR_KEY_NOT_NEEDED,
    KeyChanged => CKR_KEY_CHANGED,
    KeyNeeded => CKR_KEY_NEEDED,
    KeyIndigestible => CKR_KEY_INDIGESTIBLE,
    KeyFunctionNotPermitted => CKR_KEY_FUNCTION_NOT_PERMITTED,
    KeyNotWrappable => CKR_KEY_NOT_WRAPPABLE,
    KeyUnextractable => CKR_KEY_UNEXTRACTABLE,
    MechanismInvalid => CKR_MECHANISM_INVALID,
    MechanismParamInvalid => CKR_MECHANISM_PARAM_INVALID,
    ObjectHandleInvalid => CKR_OBJECT_HANDLE_INVALID,
    OperationActive => CKR_OPERATION_ACTIVE,
    OperationNotInitialized => CKR_OPERATION_NOT_INITIALIZED,
    PinIncorrect => CKR_PIN_INCORRECT,
    PinInvalid => CKR_PIN_INVALID,
    PinLenRange => CKR_PIN_LEN_RANGE,
    PinExpired => CKR_PIN_EXPIRED,
    PinLocked => CKR_PIN_LOCKED,
    SessionClosed => CKR_SESSION_CLOSED,
    SessionCount => CKR_SESSION_COUNT,
    SessionHandleInvalid => CKR_SESSION_HANDLE_INVALID,
    SessionParallelNotSupported => CKR_SESSION_PARALLEL_NOT_SUPPORTED,
    SessionReadOnly => CKR_SESSION_READ_ONLY,
    SessionExists => CKR_SESSION_EXISTS,
    SessionReadOnlyExists => CKR_SESSION_READ_ONLY_EXISTS,
    SessionReadWriteSoExists => CKR_SESSION_READ_WRITE_SO_EXISTS,
    SignatureInvalid => CKR_SIGNATURE_INVALID,
    SignatureLenRange => CKR_SIGNATURE_LEN_RANGE,
    TemplateIncomplete => CKR_TEMPLATE_INCOMPLETE,
    TemplateInconsistent => CKR_TEMPLATE_INCONSISTENT,
    TokenNotPresent => CKR_TOKEN_NOT_PRESENT,
    TokenNotRecognized => CKR_TOKEN_NOT_RECOGNIZED,
    TokenWriteProtected => CKR_TOKEN_WRITE_PROTECTED,
    UnwrappingKeyHandleInvalid => CKR_UNWRAPPING_KEY_HANDLE_INVALID,
    UnwrappingKeySizeRange => CKR_UNWRAPPING_KEY_SIZE_RANGE,
    UnwrappingKeyTypeInconsistent => CKR_UNWRAPPING_KEY_TYPE_INCONSISTENT,
    UserAlreadyLoggedIn => CKR_USER_ALREADY_LOGGED_IN,
    UserNotLoggedIn => CKR_USER_NOT_LOGGED_IN,
    UserPinNotInitialized => CKR_USER_PIN_NOT_INITIALIZED,
    UserTypeInvalid => CKR_USER_TYPE_INVALID,
    UserAnotherAlreadyLoggedIn => CKR_USER_ANOTHER_ALREADY_LOGGED_IN,
    UserTooManyTypes => CKR_USER_TOO_MANY_TYPES,
    WrappedKeyInvalid => CKR_WRAPPED_KEY_INVALID,
    WrappedKeyLenRange => CKR_WRAPPED_KEY_LEN_RANGE,
    WrappingKeyHandleInvalid => CKR_WRAPPING_KEY_HANDLE_INVALID,
    WrappingKeySizeRange => CKR_WRAPPING_KEY_SIZE_RANGE,
    WrappingKeyTypeInconsistent => CKR_WRAPPING_KEY_TYPE_INCONSISTENT,
    RandomSeedNotSupported => CKR_RANDOM_SEED_NOT_SUPPORTED,
    RandomNoRng => CKR_RANDOM_NO_RNG,
    DomainParamsInvalid => CKR_DOMAIN_PARAMS_INVALID,
    CurveNotSupported => CKR_CURVE_NOT_SUPPORTED,
    BufferTooSmall => CKR_BUFFER_TOO_SMALL,
    SavedStateInvalid => CKR_SAVED_STATE_INVALID,
    InformationSensitive => CKR_INFORMATION_SENSITIVE,
    StateUnsaveable => CKR_STATE_UNSAVEABLE,
    CryptokiNotInitialized => CKR_CRYPTOKI_NOT_INITIALIZED,
    CryptokiAlreadyInitialized => CKR_CRYPTOKI_ALREADY_INITIALIZED,
    MutexBad => CKR_MUTEX_BAD,
    MutexNotLocked => CKR_MUTEX_NOT_LOCKED,
    NewPinMode => CKR_NEW_PIN_MODE,
    NextOtp => CKR_NEXT_OTP,
    ExceededMaxIterations => CKR_EXCEEDED_MAX_ITERATIONS,
    FipsSelfTestFailed => CKR_FIPS_SELF_TEST_FAILED,
    LibraryLoadFailed => CKR_LIBRARY_LOAD_FAILED,
    PinTooWeak => CKR_PIN_TOO_WEAK,
    PublicKeyInvalid => CKR_PUBLIC_KEY_INVALID,
    FunctionRejected => CKR_FUNCTION_REJECTED,
    TokenResourceExceeded => CKR_TOKEN_RESOURCE_EXCEEDED,
    OperationCancelFailed => CKR_OPERATION_CANCEL_FAILED,
    KeyExhausted => CKR_KEY_EXHAUSTED,
    Pending => CKR_PENDING,
    SessionAsyncNotSupported => CKR_SESSION_ASYNC_NOT_SUPPORTED,
    SeedRandomRequired => CKR_SEED_RANDOM_REQUIRED,
    OperationNotValidated => CKR_OPERATION_NOT_VALIDATED,
    TokenNotInitialized => CKR_TOKEN_NOT_INITIALIZED,
    ParameterSetNotSupported => CKR_PARAMETER_SET_NOT_SUPPORTED,
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (0x{:08x})", self.name(), self.ck_rv())
    }
}

impl core::error::Error for Error {}

/// The engine's result type.
pub type Result<T, E = Error> = core::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    /// Each variant maps to the code of the same name in the spec's table, and back.
    #[test]
    fn every_variant_maps_to_its_named_code() {
        assert!(Error::ALL.len() > 100);
        for &e in Error::ALL {
            assert_ne!(e.ck_rv(), rv::CKR_OK, "{e:?} must not be CKR_OK");
            assert_eq!(Error::from_rv(e.ck_rv()), Some(e), "{e:?} round trip");
            assert!(e.name().starts_with("CKR_"));
        }
        // A few spot checks against the numbers printed in the PKCS#11 3.2 specification.
        assert_eq!(Error::PinIncorrect.ck_rv(), 0xA0);
        assert_eq!(Error::ArgumentsBad.ck_rv(), 0x07);
        assert_eq!(Error::BufferTooSmall.ck_rv(), 0x150);
        assert_eq!(Error::CryptokiNotInitialized.ck_rv(), 0x190);
        assert_eq!(Error::OperationNotInitialized.ck_rv(), 0x91);
        assert_eq!(Error::UserAnotherAlreadyLoggedIn.ck_rv(), 0x104);
        assert_eq!(Error::from_rv(0), None);
    }

    #[test]
    fn codes_are_distinct() {
        for (i, a) in Error::ALL.iter().enumerate() {
            for b in &Error::ALL[i + 1..] {
                assert_ne!(a.ck_rv(), b.ck_rv(), "{a:?} and {b:?} share a code");
            }
        }
    }
}
