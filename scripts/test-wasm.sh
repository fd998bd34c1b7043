#!/usr/bin/env bash
# The npm package's tests (issue 6), non-interactively, installing what they need first:
#   1. cargo test -p anyhsm-wasm                  host unit tests (mirror store, journal)
#   2. core's engine flows and store suites on wasm32 in Node (wasm-bindgen-test-runner)
#   3. wasm/test/run.sh: build, npm pack, install the tarball into an empty folder, and run
#      the node --test suite there (Node, IndexedDB via fake-indexeddb, directory store,
#      native interop and parity through libanyhsm_pkcs11.so, headless Chromium).
# Ends with one line "N passed, M failed"; exits non-zero if anything failed.
set -uo pipefail
exec </dev/null
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
wasm="$root/wasm"
log="$(mktemp -d)"
trap 'rm -rf "$log"' EXIT
export DEBIAN_FRONTEND=noninteractive

say() { echo "==== test-wasm: $*"; }
apt_updated=0
apt_install() {
    if [ "$apt_updated" = 0 ]; then apt-get update -qq && apt_updated=1; fi
    apt-get install -y -qq --no-install-recommends "$@"
}

say "tools"
if ! command -v node >/dev/null || [ "$(node -p 'process.versions.node.split(".")[0]')" -lt 20 ]; then
    apt_install nodejs npm
fi
command -v chromium >/dev/null || apt_install chromium
command -v pkcs11-tool >/dev/null || apt_install opensc
rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown
want="$(sed -n 's/^wasm-bindgen = "=\([0-9.]*\)"/\1/p' "$wasm/Cargo.toml")"
have="$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')"
if [ "$have" != "$want" ]; then
    say "installing wasm-bindgen-cli $want (found: ${have:-none})"
    cargo install wasm-bindgen-cli --version "$want" --force
fi
if [ ! -d "$wasm/node_modules" ] || [ "$wasm/package-lock.json" -nt "$wasm/node_modules/.package-lock.json" ]; then
    (cd "$wasm" && npm ci --no-audit --no-fund)
fi
# Python with python-pkcs11 for the native side of the interop tests.
py="${ANYHSM_PYTHON:-}"
for candidate in "$py" "$root/.ci/venv/bin/python" python3; do
    if [ -n "$candidate" ] && "$candidate" -c 'import pkcs11' 2>/dev/null; then py="$candidate"; break; fi
    py=""
done
if [ -z "$py" ]; then
    venv="$root/target/test-wasm-venv"
    python3 -m venv "$venv" && "$venv/bin/pip" install -q python-pkcs11 && py="$venv/bin/python"
fi
export ANYHSM_PYTHON="${py:-python3}"

passed=0
failed=0
count_cargo() { # "test result: ok. N passed; M failed"
    local p f
    p=$(grep -Eo '[0-9]+ passed' "$1" | awk '{s+=$1} END {print s+0}')
    f=$(grep -Eo '[0-9]+ failed' "$1" | awk '{s+=$1} END {print s+0}')
    passed=$((passed + p)); failed=$((failed + f))
}
count_tap() { # node --test: "# pass N" / "# fail M"
    local p f
    p=$(grep -E '^# pass [0-9]+' "$1" | awk '{s+=$3} END {print s+0}')
    f=$(grep -E '^# fail [0-9]+' "$1" | awk '{s+=$3} END {print s+0}')
    passed=$((passed + p)); failed=$((failed + f))
}
step() { # name, log file, command…: a step that dies without reporting counts as one failure
    local name="$1" out="$2"; shift 2
    say "$name"
    if "$@" 2>&1 | tee "$out"; then return 0; fi
    return 1
}

cd "$root"
step "host unit tests" "$log/unit" cargo test -p anyhsm-wasm --lib
rc=$?; count_cargo "$log/unit"; [ $rc = 0 ] || grep -q 'test result' "$log/unit" || failed=$((failed + 1))

step "core on wasm32 (Node)" "$log/wasm32" env CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
    RUSTFLAGS="${RUSTFLAGS:+$RUSTFLAGS }-C target-feature=+simd128" \
    cargo test -p anyhsm-wasm --target wasm32-unknown-unknown --test core_on_wasm
rc=$?; count_cargo "$log/wasm32"; [ $rc = 0 ] || grep -q 'test result' "$log/wasm32" || failed=$((failed + 1))

step "the packed npm package (node --test)" "$log/npm" bash "$wasm/test/run.sh"
rc=$?; count_tap "$log/npm"; [ $rc = 0 ] || grep -q '^# fail' "$log/npm" || failed=$((failed + 1))

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
