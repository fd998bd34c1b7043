//! Black-box tests of the anyhsm PKCS#11 module: they load the built `libanyhsm_pkcs11.so` (or
//! any other PKCS#11 module) through `cryptoki` and the raw C ABI, as an application would.
//!
//! The tests are in `tests/tests/` (this library is empty):
//!
//! | file | what |
//! | --- | --- |
//! | `module.rs` | `C_Initialize`/`C_Finalize`, `C_GetInfo`, slots, token info, mechanisms, sessions, NULL pointers and invalid handles |
//! | `token.rs` | `C_InitToken`, `C_InitPIN`, `C_SetPIN`, the login state machine |
//! | `objects.rs` | object classes, attribute policy, visibility, copy/destroy, `C_GetAttributeValue` conventions, find, size |
//! | `crypto.rs` | digests, random, AES-GCM, HMAC-SHA256, ECDSA P-256 against RustCrypto; operation state rules |
//! | `persistence.rs` | `C_Finalize`/`C_Initialize`, other processes, stable slot IDs |
//! | `threads.rs` | many threads with many sessions at once |
//!
//! Each scenario runs in a child process of its own with a fresh token directory (see
//! `tests/tests/common/mod.rs`).
//!
//! ```text
//! cargo build -p anyhsm-pkcs11 && cargo test -p anyhsm-tests          # our debug module
//! ANYHSM_TEST_MODULE=/usr/lib/softhsm/libsofthsm2.so cargo test -p anyhsm-tests
//! ANYHSM_TEST_NO_SKIP=1 ...    # also run the scenarios marked as skipped on SoftHSM
//! ```
