#!/usr/bin/env bash
# Runs every test of the workspace: formatting, lints, the wasm build of core, the release and
# debug builds of the PKCS#11 module, all cargo tests (unit tests, the store conformance suite,
# the black-box tests of tests/ against target/debug/libanyhsm_pkcs11.so), and interop through
# real clients (scripts/interop.sh) against target/release/libanyhsm_pkcs11.so.
#
#   scripts/test-all.sh
#
# Needs what .ci/run installs (Rust with the wasm32-unknown-unknown target; opensc, gnutls-bin,
# openssl, softhsm2; python-pkcs11 and cryptography, in .ci/venv if it exists, else $PYTHON or
# python3). Non-interactive. A failing section does not stop the others (except that interop
# needs the release build); the script exits non-zero if any section failed. Set
# ANYHSM_SKIP_SOFTHSM=1 to skip the reference run of the black-box tests against SoftHSM.

set -euo pipefail
exec </dev/null

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

# The black-box tests must test our module, not whatever the caller's environment names.
unset ANYHSM_TEST_MODULE ANYHSM_TEST_NO_SKIP
if [[ -z "${PYTHON:-}" && -x "$root/.ci/venv/bin/python" ]]; then
    export PYTHON="$root/.ci/venv/bin/python"
fi

started=$SECONDS
count=0
failed_sections=()

# section TITLE COMMAND...: runs one section and records whether it passed.
section() {
    local title="$1"
    shift
    count=$((count + 1))
    printf '\n==== [%d] %s ====\n' "$count" "$title"
    local status=0
    "$@" || status=$?
    if [[ $status -eq 0 ]]; then
        printf -- '---- [%d] ok (%d s since start)\n' "$count" $((SECONDS - started))
    else
        printf -- '---- [%d] FAILED with exit status %d: %s\n' "$count" "$status" "$title"
        failed_sections+=("[$count] $title")
    fi
    return "$status"
}

section "cargo fmt --check" cargo fmt --all --check || true
section "cargo clippy --workspace --all-targets -- -D warnings" \
    cargo clippy --workspace --all-targets -- -D warnings || true
section "cargo build -p anyhsm-core --target wasm32-unknown-unknown" \
    cargo build -p anyhsm-core --target wasm32-unknown-unknown || true
release_ok=true
section "cargo build --release -p anyhsm-pkcs11" \
    cargo build --release -p anyhsm-pkcs11 || release_ok=false
section "cargo build -p anyhsm-pkcs11 (the debug module the black-box tests load)" \
    cargo build -p anyhsm-pkcs11 || true
section "cargo test --workspace" cargo test --workspace --no-fail-fast || true

softhsm=/usr/lib/softhsm/libsofthsm2.so
if [[ -z "${ANYHSM_SKIP_SOFTHSM:-}" && -f "$softhsm" ]]; then
    section "black-box tests against SoftHSM (a reference check of the tests themselves)" \
        env ANYHSM_TEST_MODULE="$softhsm" cargo test -p anyhsm-tests --no-fail-fast || true
fi

if $release_ok; then
    section "interop: scripts/interop.sh target/release/libanyhsm_pkcs11.so" \
        scripts/interop.sh target/release/libanyhsm_pkcs11.so || true
else
    failed_sections+=("interop: not run, the release build failed")
fi

# Cross-checks of every mechanism family against Python `cryptography`, through the debug module.
for script in tests/interop/*.py; do
    section "interop: $script (python-pkcs11 + cryptography)" \
        "${PYTHON:-python3}" "$script" "$root/target/debug/libanyhsm_pkcs11.so" || true
done

# The npm package (Node, fake-indexeddb, directory store, native parity, Chromium) and the demo page.
section "npm package: scripts/test-wasm.sh" scripts/test-wasm.sh || true
section "web demo in Chromium: scripts/test-web-demo.sh" scripts/test-web-demo.sh || true

# The decoders of stored data, fuzzed briefly with the nightly toolchain.
section "fuzz smoke: scripts/fuzz-smoke.sh" env FUZZ_SECONDS="${FUZZ_SECONDS:-20}" scripts/fuzz-smoke.sh || true

echo
if ((${#failed_sections[@]})); then
    printf '==== test-all: %d of %d sections FAILED (%d s):\n' \
        "${#failed_sections[@]}" "$count" $((SECONDS - started))
    printf '  %s\n' "${failed_sections[@]}"
    exit 1
fi
printf '==== test-all: all %d sections passed (%d s)\n' "$count" $((SECONDS - started))
