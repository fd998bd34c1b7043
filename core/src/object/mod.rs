//! Objects and their attribute policy.

pub mod schema;
