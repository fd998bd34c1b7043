#!/usr/bin/env bash
# The main job, end to end: build the PKCS#11 module, then walk a token through
# init → PIN → key generation → signature with OpenSC's pkcs11-tool, and verify the signature
# outside the token with OpenSSL. Uses the zero-config default token directory
# ($XDG_DATA_HOME/anyhsm/tokens, else ~/.local/share/anyhsm/tokens) unless ANYHSM_TOKEN_DIR is set.
#
#   scripts/demo.sh
#
# Installs opensc and openssl with apt-get when they are missing (as root). Re-running reuses the
# "anyhsm-demo" token it created the first time; it never touches another token.
set -euo pipefail
exec </dev/null
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

need=()
command -v pkcs11-tool >/dev/null || need+=(opensc)
command -v openssl >/dev/null || need+=(openssl)
if ((${#need[@]})); then
    echo "== installing ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq --no-install-recommends "${need[@]}"
fi

echo "== building target/release/libanyhsm_pkcs11.so"
cargo build --release -p anyhsm-pkcs11
module="$root/target/release/libanyhsm_pkcs11.so"
p11() { pkcs11-tool --module "$module" "$@"; }
label=anyhsm-demo so_pin=demo-so-pin user_pin=demo-user-pin
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

echo "== tokens and slots"
p11 -L | tee "$work/slots.txt"
if ! grep -q "token label *: $label\$" "$work/slots.txt"; then
    # The uninitialised slot is always listed last.
    slot="$(awk '/^Slot [0-9]+ \(0x[0-9a-f]+\)/ {s=$2} /token state: *uninitialized/ {print s}' "$work/slots.txt" | tail -n1)"
    echo "== initialising a new token in slot $slot"
    p11 --slot "$slot" --init-token --label "$label" --so-pin "$so_pin"
    p11 --token-label "$label" --login --login-type so --so-pin "$so_pin" --init-pin --pin "$user_pin"
fi

id="$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')"
echo "== generating an EC P-256 key pair (id $id)"
p11 --token-label "$label" --login --pin "$user_pin" --keypairgen --key-type EC:prime256v1 \
    --label "demo-$id" --id "$id"

echo "hello from anyhsm, $(date -u)" > "$work/message.txt"
echo "== signing with ECDSA-SHA256 inside the token"
p11 --token-label "$label" --login --pin "$user_pin" --sign --mechanism ECDSA-SHA256 --id "$id" \
    --signature-format openssl --input-file "$work/message.txt" --output-file "$work/signature.der"
p11 --token-label "$label" --read-object --type pubkey --id "$id" --output-file "$work/public.der"
openssl pkey -pubin -inform DER -in "$work/public.der" -out "$work/public.pem"

echo "== verifying the signature with OpenSSL, outside the token"
openssl dgst -sha256 -verify "$work/public.pem" -signature "$work/signature.der" "$work/message.txt"
