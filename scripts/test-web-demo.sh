#!/usr/bin/env bash
# The web demo's test: builds the npm package (wasm/), packs it, installs the tarball into
# web-demo/, and drives the page in headless Debian Chromium (web-demo/test/e2e.mjs).
#
#   scripts/test-web-demo.sh
#
# Non-interactive. Installs chromium with apt-get when /usr/bin/chromium is missing (needs root).
# Screenshots land in web-demo/test/out/. Set UPDATE_SCREENSHOT=1 to refresh web-demo/screenshot.png.
# Set ANYHSM_SKIP_BUILD=1 to pack what wasm/ already built instead of building it again.

set -euo pipefail
exec </dev/null

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

if [[ ! -x "${CHROMIUM:-/usr/bin/chromium}" ]]; then
    echo "==== installing chromium (apt-get)"
    sudo=""
    if [[ "$(id -u)" != 0 ]]; then sudo="sudo -n"; fi
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update -qq
    $sudo apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
fi
"${CHROMIUM:-/usr/bin/chromium}" --version 2>/dev/null || true
node --version

echo "==== setup: build, pack and install the anyhsm package"
if [[ -n "${ANYHSM_SKIP_BUILD:-}" ]]; then
    node web-demo/scripts/setup.mjs --skip-build
else
    node web-demo/scripts/setup.mjs
fi

echo "==== test: web-demo in Chromium"
npm --prefix web-demo test
