#!/usr/bin/env bash
# Interop: drives real PKCS#11 clients against a module, on a fresh token directory.
#
#   scripts/interop.sh [MODULE]      (default: target/release/libanyhsm_pkcs11.so)
#
# Clients: OpenSC pkcs11-tool, GnuTLS p11tool, python-pkcs11 (scripts/interop_pkcs11.py); the
# token's ECDSA signature is verified by OpenSSL. Needs: opensc, gnutls-bin, openssl, python3
# with python-pkcs11 and cryptography ($PYTHON selects the interpreter, default python3).
# For SoftHSM (a module path containing "softhsm") the script writes its SOFTHSM2_CONF.
#
# Prints a PASS or FAIL line per step and ends with "N passed, M failed"; exits non-zero if
# anything failed. Non-interactive: every PIN is given on the command line or in the environment.

set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
module="${1:-$root/target/release/libanyhsm_pkcs11.so}"
python="${PYTHON:-python3}"

if [[ ! -f "$module" ]]; then
    echo "interop: module $module not found (build it: cargo build --release -p anyhsm-pkcs11)" >&2
    exit 2
fi
module="$(cd "$(dirname "$module")" && pwd)/$(basename "$module")"
for tool in pkcs11-tool p11tool openssl "$python"; do
    if ! command -v "$tool" >/dev/null; then
        echo "interop: $tool is not installed (apt-get install opensc gnutls-bin openssl python3)" >&2
        exit 2
    fi
done

work="$(mktemp -d "${TMPDIR:-/tmp}/anyhsm-interop.XXXXXX")"
trap 'rm -rf "$work"' EXIT
mkdir "$work/tokens"
export ANYHSM_TOKEN_DIR="$work/tokens"
printf 'test_token = true\n' >"$work/anyhsm.toml"
export ANYHSM_CONF="$work/anyhsm.toml"
if [[ "${module,,}" == *softhsm* ]]; then
    printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n' \
        "$work/tokens" >"$work/softhsm2.conf"
    export SOFTHSM2_CONF="$work/softhsm2.conf"
fi

label="interop token"
so_pin="so-pin-1234"
user_pin="user-pin-1234"
passed=0
failed=0
log="$work/step.log"
last="$work/last.log" # the output of the last `step`, for the checks that follow it

pass() {
    passed=$((passed + 1))
    echo "PASS $1"
}

fail() {
    failed=$((failed + 1))
    echo "FAIL $1"
    if [[ -s "$log" ]]; then
        sed 's/^/    | /' "$log" | tail -n 40
    fi
}

# step NAME [--expect REGEX]... [--any-status] -- COMMAND...: passes when COMMAND exits 0 (or
# with any status, given --any-status) and its output (stdout and stderr) matches every REGEX
# (extended grep).
step() {
    local name="$1"
    shift
    local expects=() any_status=false
    while [[ "$1" != "--" ]]; do
        if [[ "$1" == "--any-status" ]]; then
            any_status=true
            shift
        else
            expects+=("$2")
            shift 2
        fi
    done
    shift
    local status=0
    "$@" >"$log" 2>&1 || status=$?
    cp "$log" "$last"
    if [[ $status -ne 0 && $any_status == false ]]; then
        echo "    (exit status $status: $*)" >>"$log"
        fail "$name"
        return 0
    fi
    local re
    for re in "${expects[@]}"; do
        if ! grep -Eq -- "$re" "$log"; then
            echo "    (output does not match /$re/)" >>"$log"
            fail "$name"
            return 0
        fi
    done
    pass "$name"
}

# step_fails NAME -- COMMAND...: passes when COMMAND exits non-zero (a refusal being tested).
step_fails() {
    local name="$1"
    shift 2
    if "$@" >"$log" 2>&1; then
        echo "    (the command succeeded but should have failed: $*)" >>"$log"
        fail "$name"
    else
        pass "$name"
    fi
}

# step_check NAME -- COMMAND...: a plain check (comparison, file test, or a grep of "$last");
# passes when it exits 0.
step_check() {
    local name="$1"
    shift 2
    : >"$log"
    if "$@" >>"$log" 2>&1; then pass "$name"; else fail "$name"; fi
}

tool() { pkcs11-tool --module "$module" "$@"; }
user() { tool --token-label "$label" --login --pin "$user_pin" "$@"; }

echo "== interop against $module"
echo "   token directory $work/tokens"

# --- OpenSC pkcs11-tool --------------------------------------------------------------------
echo "-- OpenSC pkcs11-tool"
step "pkcs11-tool --show-info (C_GetInfo)" --expect "Cryptoki version" -- tool --show-info
step "pkcs11-tool -L lists a slot with an uninitialised token" --expect "uninitialized" -- tool -L

# The module's empty slot is listed last.
slot_count="$(tool -L 2>/dev/null | grep -Ec '^Slot [0-9]+' || true)"
empty_index=$((slot_count > 0 ? slot_count - 1 : 0))
step "pkcs11-tool --init-token in the last (empty) slot" --expect "successfully initialized" -- \
    tool --slot-index "$empty_index" --init-token --label "$label" --so-pin "$so_pin"
step "pkcs11-tool --init-pin (SO sets the user PIN)" --expect "PIN successfully initialized" -- \
    tool --token-label "$label" --login --login-type so --so-pin "$so_pin" --init-pin --pin "$user_pin"
step "pkcs11-tool -L shows the token, initialised, with its PIN" \
    --expect "token label +: $label" --expect "token initialized" --expect "PIN initialized" -- tool -L
step "pkcs11-tool -M lists ECDSA, AES-GCM, SHA256 and the key generators" \
    --expect "ECDSA[,]" --expect "AES-GCM" --expect "SHA256[,]" --expect "AES-KEY-GEN" \
    --expect "(EC|ECDSA)-KEY-PAIR-GEN" --expect "GENERIC-SECRET-KEY-GEN" -- \
    tool --token-label "$label" -M
# Every mechanism of the README's (generated) support table, and nothing else, is listed.
readme_mechs="$(sed -n '/<!-- mechanism table: generated -->/,/^$/p' "$root/README.md" | grep -c '^| `CKM_' || true)"
listed_mechs="$(tool --token-label "$label" -M 2>/dev/null | grep -c '^  ' || true)"
step_check "pkcs11-tool -M lists as many mechanisms as the README table ($readme_mechs)" -- \
    test "$listed_mechs" -eq "$readme_mechs" -a "$readme_mechs" -gt 100
step "pkcs11-tool refuses a wrong user PIN (CKR_PIN_INCORRECT)" --expect "CKR_PIN_INCORRECT" \
    --any-status -- tool --token-label "$label" --login --pin "wrong-pin" -O

step "pkcs11-tool --keygen --key-type AES:32" --expect "Key generated" --expect "AES" -- \
    user --keygen --key-type AES:32 --label "interop aes" --id 01
step "pkcs11-tool --keypairgen --key-type EC:prime256v1" --expect "Key pair generated" -- \
    user --keypairgen --key-type EC:prime256v1 --label "interop ec" --id 02

head -c 1000 /dev/urandom >"$work/data.bin"
openssl dgst -sha256 -binary "$work/data.bin" >"$work/data.sha256"
step "pkcs11-tool --sign -m ECDSA (on the SHA-256 of the data)" -- \
    user --sign -m ECDSA --id 02 -i "$work/data.sha256" -o "$work/sig.raw"
step_check "the ECDSA signature is r || s of 64 bytes" -- \
    test "$(stat -c %s "$work/sig.raw" 2>/dev/null || echo 0)" -eq 64
step "pkcs11-tool --verify -m ECDSA accepts it" --expect "Signature is valid" -- \
    user --verify -m ECDSA --id 02 -i "$work/data.sha256" --signature-file "$work/sig.raw"
if [[ -s "$work/sig.raw" ]]; then
    "$python" - "$work/sig.raw" "$work/sig.bad" <<'EOF'
import sys
sig = bytearray(open(sys.argv[1], "rb").read())
sig[-1] ^= 1
open(sys.argv[2], "wb").write(sig)
EOF
fi
# pkcs11-tool reports a bad signature in its output (its exit status differs across versions).
step "pkcs11-tool --verify -m ECDSA rejects a tampered signature" --expect "Invalid signature" \
    --any-status -- user --verify -m ECDSA --id 02 -i "$work/data.sha256" --signature-file "$work/sig.bad"

step "pkcs11-tool --read-object --type pubkey exports the EC public key (DER)" -- \
    tool --token-label "$label" --read-object --type pubkey --id 02 -o "$work/pub.der"
step "openssl reads the exported key as a P-256 public key" --expect "prime256v1|P-256" -- \
    openssl pkey -pubin -inform DER -in "$work/pub.der" -text -noout
# Raw r || s → DER ECDSA-Sig-Value, for OpenSSL.
"$python" - "$work/sig.raw" "$work/sig.der" <<'EOF' || true
import sys

def der_int(b):
    b = b.lstrip(b"\x00") or b"\x00"
    if b[0] & 0x80:
        b = b"\x00" + b
    return b"\x02" + bytes([len(b)]) + b

raw = open(sys.argv[1], "rb").read()
half = len(raw) // 2
body = der_int(raw[:half]) + der_int(raw[half:])
open(sys.argv[2], "wb").write(b"\x30" + bytes([len(body)]) + body)
EOF
step "openssl dgst -sha256 -verify accepts the token's ECDSA signature" --expect "Verified OK" -- \
    openssl dgst -sha256 -verify "$work/pub.der" -keyform DER -signature "$work/sig.der" "$work/data.bin"

printf 'interop data object %s\n' "$(date +%s%N)" >"$work/object.bin"
step "pkcs11-tool --write-object --type data" -- \
    user --write-object "$work/object.bin" --type data --label "interop data" --application-label "interop"
step "pkcs11-tool --read-object --type data" -- \
    user --read-object --type data --label "interop data" -o "$work/object.out"
step_check "the data object reads back byte for byte" -- cmp "$work/object.bin" "$work/object.out"
step "pkcs11-tool -O lists the keys and the data object" \
    --expect "interop aes" --expect "interop ec" --expect "interop data" --expect "Private Key Object" -- \
    user -O
step "pkcs11-tool -O without login hides the private key" --expect "Public Key Object" -- \
    tool --token-label "$label" -O
step_check "... and the private key is not among them" -- \
    bash -c '! grep -q "Private Key Object" "$1"' _ "$last"
step "pkcs11-tool --delete-object --type data" -- \
    user --delete-object --type data --label "interop data"
step "pkcs11-tool -O no longer lists the data object" --expect "interop ec" -- user -O
step_check "... the data object is gone" -- bash -c '! grep -q "interop data" "$1"' _ "$last"

# --- GnuTLS p11tool --------------------------------------------------------------------------
echo "-- GnuTLS p11tool"
step "p11tool --list-tokens shows the token" --expect "Label: $label" -- \
    p11tool --provider "$module" --list-tokens
token_url="$(p11tool --provider "$module" --list-token-urls 2>/dev/null | grep -F "token=${label// /%20}" | head -n 1 || true)"
step_check "p11tool --list-token-urls gives the token's URL" -- test -n "$token_url"
step "p11tool --login --list-all lists the EC key pair and the AES key" \
    --expect "interop%20ec|interop ec" --expect "interop%20aes|interop aes" \
    --expect "Private key" --expect "Public key" --expect "Secret key" -- \
    env GNUTLS_PIN="$user_pin" p11tool --provider "$module" --login --list-all "$token_url"
step "p11tool --list-all without login lists the public key only" --expect "Public key" -- \
    p11tool --provider "$module" --list-all "$token_url"
step_check "... and no private key" -- bash -c '! grep -q "Private key" "$1"' _ "$last"
step "p11tool --export-pubkey of the EC key matches pkcs11-tool's" -- \
    env GNUTLS_PIN="$user_pin" p11tool --provider "$module" --login --export-pubkey \
    "$token_url;object=interop%20ec;type=public" --outfile "$work/pub-gnutls.pem"
step_check "... the two exports are the same key" -- bash -c \
    'cmp <(openssl pkey -pubin -in "$1" -outform DER) <(openssl pkey -pubin -inform DER -in "$2" -outform DER)' \
    _ "$work/pub-gnutls.pem" "$work/pub.der"

# --- python-pkcs11 ---------------------------------------------------------------------------
echo "-- python-pkcs11"
set +e
"$python" "$root/scripts/interop_pkcs11.py" "$module" "$label" "$user_pin" >"$log" 2>&1
python_status=$?
set -e
cat "$log"
python_passed="$(grep -c '^PASS ' "$log" || true)"
python_failed="$(grep -c '^FAIL ' "$log" || true)"
passed=$((passed + python_passed))
failed=$((failed + python_failed))
if [[ $python_status -ne 0 && $python_failed -eq 0 ]]; then
    fail "python-pkcs11 script (exit status $python_status)"
fi

echo "== interop: $module"
echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
