#!/usr/bin/env bash
# Storage and crypto benchmarks of anyhsm (file and SQLite stores) beside SoftHSM, on this
# machine: builds the release module and tests/src/bin/p11bench.rs, runs the bench against
# each in a fresh token directory, and prints one Markdown table (docs/benchmarks.md holds
# a run's result).
#
#   scripts/bench.sh                 # 10,000 objects
#   BENCH_OBJECTS=1000 scripts/bench.sh
#
# anyhsm runs with its default PIN KDF profile (no test_token): C_Login is measured as users
# get it. SoftHSM (/usr/lib/softhsm/libsofthsm2.so) is installed with apt-get if missing and
# run with its file object store, and with its SQLite ("db") store where it has one.

set -euo pipefail
exec </dev/null

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
objects="${BENCH_OBJECTS:-10000}"
softhsm=/usr/lib/softhsm/libsofthsm2.so

echo "==== bench: building the release module and p11bench" >&2
cargo build --release -p anyhsm-pkcs11 >&2
cargo build --release -p anyhsm-tests --bin p11bench >&2
bench="$root/target/release/p11bench"
module="$root/target/release/libanyhsm_pkcs11.so"

if [[ ! -f "$softhsm" ]] && command -v apt-get >/dev/null && [[ $(id -u) == 0 ]]; then
    echo "==== bench: installing softhsm2" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends softhsm2 >&2
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
columns=()

for backend in file sqlite; do
    dir="$work/anyhsm-$backend"
    mkdir -p "$dir"
    printf 'backend = "%s"\ntoken_dir = "tokens"\n' "$backend" >"$dir/anyhsm.toml"
    echo "==== bench: anyhsm, $backend store" >&2
    ANYHSM_CONF="$dir/anyhsm.toml" ANYHSM_TOKEN_DIR="" \
        "$bench" "$module" --objects "$objects" --tsv >"$dir/result.tsv"
    columns+=("anyhsm ($backend)=$dir/result.tsv")
done

if [[ -f "$softhsm" ]]; then
    for backend in file db; do
        dir="$work/softhsm-$backend"
        mkdir -p "$dir/tokens"
        printf 'directories.tokendir = %s\nobjectstore.backend = %s\nlog.level = ERROR\n' \
            "$dir/tokens" "$backend" >"$dir/softhsm2.conf"
        echo "==== bench: SoftHSM, $backend store" >&2
        if SOFTHSM2_CONF="$dir/softhsm2.conf" \
            "$bench" "$softhsm" --objects "$objects" --tsv >"$dir/result.tsv"; then
            columns+=("SoftHSM ($backend)=$dir/result.tsv")
        else
            echo "bench: SoftHSM with objectstore.backend = $backend failed; left out" >&2
        fi
    done
else
    echo "bench: $softhsm not found: SoftHSM left out" >&2
fi

python3 - "${columns[@]}" <<'PY'
import re, sys
cols = [c.split("=", 1) for c in sys.argv[1:]]
tables = []
for name, path in cols:
    rows = {}
    order = []
    for line in open(path):
        key, what, value = line.rstrip("\n").split("\t")
        rows[key] = (what, value)
        order.append(key)
    tables.append((name, rows, order))
keys = []
for _, _, order in tables:
    keys += [k for k in order if k not in keys]
print("| measurement | " + " | ".join(n for n, _, _ in tables) + " |")
print("|---|" + "---|" * len(tables))
for k in keys:
    what = next(r[k][0] for _, r, _ in tables if k in r)
    what = re.sub(r" \(\d+ in a row\)", "", what)
    what = re.sub(r"\d+ objects", "N objects", what)
    print(f"| {what} | " + " | ".join(r[k][1] if k in r else "–" for _, r, _ in tables) + " |")
PY
