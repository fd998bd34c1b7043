#!/usr/bin/env bash
# Runs every cargo-fuzz target of fuzz/ for a short while with the nightly toolchain: a smoke
# test that the decoders of stored data (records, metadata, sealed objects, snapshots) refuse
# garbage without panicking. CI calls it; a crash leaves its input in fuzz/artifacts/<target>/
# and makes the script fail.
#
#   scripts/fuzz-smoke.sh            # 30 s per target
#   FUZZ_SECONDS=300 scripts/fuzz-smoke.sh
#
# Needs the nightly toolchain (rustup toolchain install nightly); installs cargo-fuzz if it
# is missing.

set -euo pipefail
exec </dev/null

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
seconds="${FUZZ_SECONDS:-30}"

if ! cargo +nightly --version >/dev/null 2>&1; then
    echo "fuzz-smoke: the nightly toolchain is missing (rustup toolchain install nightly)" >&2
    exit 1
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "==== fuzz-smoke: installing cargo-fuzz"
    cargo install cargo-fuzz --locked
fi

cd "$root/fuzz"
targets=$(cargo +nightly fuzz list)
for target in $targets; do
    echo "==== fuzz-smoke: $target for ${seconds} s"
    mkdir -p "corpus/$target"
    cargo +nightly fuzz run "$target" "corpus/$target" -- \
        -max_total_time="$seconds" -rss_limit_mb=2048 -print_final_stats=1
done
count=$(echo $targets | wc -w)
echo "==== fuzz-smoke: every target ran ${seconds} s without a crash"
echo "fuzz-smoke: ${count} passed, 0 failed"
