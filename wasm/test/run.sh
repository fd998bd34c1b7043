#!/usr/bin/env bash
# The npm package's test suite, against the PACKED package: build, `npm pack`, install the
# tarball into an empty temporary folder, and run the node --test files there (Node and
# headless Chromium). Usage: wasm/test/run.sh [test files…]   (SKIP_BUILD=1 reuses dist/)
# The native interop and parity tests use the .so; set ANYHSM_PKCS11_SO or let this script
# build it (cargo build -p anyhsm-pkcs11).
set -euo pipefail
pkg=$(cd "$(dirname "$0")/.." && pwd)
workspace=$(cd "$pkg/.." && pwd)

if [ "${SKIP_BUILD:-0}" != 1 ]; then
  npm --prefix "$pkg" run build
fi
if [ -z "${ANYHSM_PKCS11_SO:-}" ]; then
  if (cd "$workspace" && cargo build -p anyhsm-pkcs11 >&2); then
    target=$(cd "$workspace" && cargo metadata --format-version 1 --no-deps | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).target_directory))')
    export ANYHSM_PKCS11_SO="$target/debug/libanyhsm_pkcs11.so"
  else
    echo "run.sh: the native module did not build; its interop tests will fail" >&2
  fi
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$pkg" && npm pack --pack-destination "$tmp" --silent >/dev/null)
tgz=$(ls "$tmp"/anyhsm-*.tgz)
echo "run.sh: testing $(basename "$tgz") ($(du -k "$tgz" | cut -f1) KiB) installed into $tmp" >&2
(
  cd "$tmp"
  echo '{ "name": "anyhsm-consumer", "private": true, "type": "module" }' >package.json
  npm install --no-audit --no-fund --silent "$tgz"
  # The tests' own helpers (offline: copied from wasm/node_modules).
  for dep in fake-indexeddb playwright-core typescript; do cp -r "$pkg/node_modules/$dep" node_modules/; done
  cp -r "$pkg/test" test
)
cd "$tmp"
if [ "$#" -gt 0 ]; then
  files=()
  for f in "$@"; do files+=("test/$(basename "$f")"); done
else
  files=(test/*.test.mjs test/*.test.cjs)
fi
export ANYHSM_TEST_TMP="$tmp"
node --test --test-concurrency=1 "${files[@]}"
