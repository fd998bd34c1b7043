//! The README's mechanism support table, generated from [`super::TABLE`] so that it cannot
//! drift from what the engine implements (a test compares it with README.md).

use alloc::string::String;
use core::fmt::Write;

use crate::consts::flags::{
    CKF_DECRYPT, CKF_DERIVE, CKF_DIGEST, CKF_ENCRYPT, CKF_GENERATE, CKF_GENERATE_KEY_PAIR, CKF_SIGN,
    CKF_SIGN_RECOVER, CKF_UNWRAP, CKF_VERIFY, CKF_VERIFY_RECOVER, CKF_WRAP,
};

const OPS: [(u64, &str); 12] = [
    (CKF_ENCRYPT, "encrypt"),
    (CKF_DECRYPT, "decrypt"),
    (CKF_DIGEST, "digest"),
    (CKF_SIGN, "sign"),
    (CKF_VERIFY, "verify"),
    (CKF_SIGN_RECOVER, "sign-recover"),
    (CKF_VERIFY_RECOVER, "verify-recover"),
    (CKF_GENERATE, "generate"),
    (CKF_GENERATE_KEY_PAIR, "generate-pair"),
    (CKF_WRAP, "wrap"),
    (CKF_UNWRAP, "unwrap"),
    (CKF_DERIVE, "derive"),
];

/// The Markdown table: one row per mechanism, in code order.
pub fn markdown() -> String {
    let mut out = String::from("| mechanism | code | operations | key sizes |\n|---|---|---|---|\n");
    for e in super::TABLE {
        let name = e.ty.name().unwrap_or("(vendor)");
        let ops: alloc::vec::Vec<&str> =
            OPS.iter().filter(|(f, _)| e.info.flags & f != 0).map(|(_, n)| *n).collect();
        let sizes = if e.info.max_key_size == 0 {
            String::from("—")
        } else {
            alloc::format!("{}–{}", e.info.min_key_size, e.info.max_key_size)
        };
        let _ = writeln!(out, "| `{name}` | `{:#x}` | {} | {sizes} |", e.ty.0, ops.join(", "));
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn readme_lists_every_mechanism_as_implemented() {
        let readme = include_str!("../../../README.md");
        let table = super::markdown();
        assert!(
            readme.contains(&table),
            "README.md's mechanism table is out of date; regenerate it with \
             `cargo run -p anyhsm-core --example support_table` and paste it:\n{table}"
        );
    }
}
