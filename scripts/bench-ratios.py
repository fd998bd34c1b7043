#!/usr/bin/env python3
"""Engine/raw-crate ratios for issue 4's benchmark targets, robust to a busy machine.

Runs the criterion benches of `core/benches/symmetric.rs` for the engine path and the raw
crate alternately, ROUNDS times each with short measurements, and compares the minimum of
each side's mean estimates (the run least disturbed by other load). Usage:

    cargo bench -p anyhsm-core --bench symmetric --no-run
    python3 scripts/bench-ratios.py [ROUNDS]
"""
import glob
import os
import re
import subprocess
import sys

UNITS = {"ps": 1e-3, "ns": 1.0, "µs": 1e3, "us": 1e3, "ms": 1e6, "s": 1e9}
PAIRS = [
    ("AES-256-GCM 1 MiB: engine / aes-gcm crate (target <= 1.10)",
     "aes-256-gcm-1MiB/engine", "aes-256-gcm-1MiB/aes-gcm crate"),
    ("HMAC-SHA256 64 B: hmac crate / engine, i.e. engine rate as a share of the crate's (target >= 0.5)",
     "hmac-sha256-64B/hmac crate", "hmac-sha256-64B/engine"),
]


def bench_binary():
    root = os.path.join(os.path.dirname(__file__), "..")
    cands = [p for p in glob.glob(os.path.join(root, "target/release/deps/symmetric-*"))
             if os.access(p, os.X_OK) and not p.endswith(".d")]
    if not cands:
        sys.exit("build it first: cargo bench -p anyhsm-core --bench symmetric --no-run")
    return max(cands, key=os.path.getmtime)


def mean_ns(binary, name):
    out = subprocess.run(
        [binary, "--bench", "--exact", name, "--warm-up-time", "0.5", "--measurement-time", "1.5",
         "--noplot"],
        capture_output=True, text=True, check=True).stdout
    m = re.search(r"time:\s+\[\S+ \S+ (\S+) (\S+)", out)
    if not m:
        sys.exit(f"no estimate for {name}:\n{out}")
    return float(m.group(1)) * UNITS[m.group(2)]


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 9
    binary = bench_binary()
    for title, num, den in PAIRS:
        a, b = [], []
        for _ in range(rounds):
            a.append(mean_ns(binary, num))
            b.append(mean_ns(binary, den))
        print(f"{title}\n  {num}: min {min(a):.1f} ns\n  {den}: min {min(b):.1f} ns\n"
              f"  ratio {min(a) / min(b):.3f}  (per round: "
              + ", ".join(f"{x / y:.3f}" for x, y in zip(a, b)) + ")")


if __name__ == "__main__":
    main()
