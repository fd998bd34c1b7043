//! Print the README's mechanism support table: `cargo run -p anyhsm-core --example support_table`.
fn main() {
    print!("{}", anyhsm_core::mechanism::support::markdown());
}
