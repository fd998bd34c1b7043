//! Mechanisms: the sorted table that drives `C_GetMechanismList`/`Info` and dispatch, and the
//! algorithm modules behind it. Algorithm crates are called only from the modules below.

pub mod aes_gcm;
pub mod digest;
pub mod ec;
pub mod hmac;
