#!/usr/bin/env python3
"""`C_Initialize` with many token objects, as issue 5's target measures it.

Makes one token of N public data objects (64-byte values, one C_CreateObject each) per
backend, waits until the files are older than the read cache's 2-second racy window, then
times ROUNDS loops of C_Initialize / C_GetSlotList / C_Finalize through ctypes (wall and
CPU time of this process), alternating the modules so that load changes hit each alike.
Run it under `taskset -c 0` for the one-core figure. Usage:

    cargo build --release -p anyhsm-pkcs11
    .ci/venv/bin/python scripts/bench-init.py [N] [ROUNDS] [--softhsm]   # ANYHSM_SO=… for another build

Needs python-pkcs11 (in .ci/venv) for the setup only.
"""
import ctypes
import os
import statistics
import subprocess
import sys
import tempfile
import time

import pkcs11
from pkcs11 import Attribute, ObjectClass

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODULE = os.environ.get("ANYHSM_SO") or os.path.join(ROOT, "target", "release", "libanyhsm_pkcs11.so")
SOFTHSM = "/usr/lib/softhsm/libsofthsm2.so"
SO_PIN, USER_PIN = "so-pin-1234", "user-pin-1234"


def make_token(lib_path, env, n):
    """A token labelled 'bench' with n public data objects, each step in a child process
    (a module reads its configuration from the environment at C_Initialize)."""
    env = {**os.environ, **env}
    tool = ["pkcs11-tool", "--module", lib_path]
    subprocess.run(tool + ["--init-token", "--label", "bench", "--so-pin", SO_PIN], env=env,
                   check=True, stdout=subprocess.DEVNULL)
    subprocess.run(tool + ["--token-label", "bench", "--login", "--login-type", "so", "--so-pin",
                           SO_PIN, "--init-pin", "--new-pin", USER_PIN], env=env, check=True,
                   stdout=subprocess.DEVNULL)
    subprocess.run([sys.executable, __file__, "--fill", lib_path, str(n)], env=env, check=True)


def fill(lib_path, n):
    token = pkcs11.lib(lib_path).get_token(token_label="bench")
    with token.open(rw=True, user_pin=USER_PIN) as s:
        for i in range(n):
            s.create_object({
                Attribute.CLASS: ObjectClass.DATA,
                Attribute.TOKEN: True,
                Attribute.PRIVATE: False,
                Attribute.LABEL: f"obj-{i:05d}",
                Attribute.VALUE: os.urandom(64),
            })


def timer(lib_path):
    lib = ctypes.CDLL(lib_path)
    count = ctypes.c_ulong(0)

    def once():
        w, c = time.perf_counter(), time.process_time()
        rv = lib.C_Initialize(None)
        assert rv == 0, f"C_Initialize: {rv:#x}"
        rv = lib.C_GetSlotList(ctypes.c_ubyte(1), None, ctypes.byref(count))
        assert rv == 0 and count.value >= 1, f"C_GetSlotList: {rv:#x}"
        w, c = time.perf_counter() - w, time.process_time() - c
        assert lib.C_Finalize(None) == 0
        return w * 1e3, c * 1e3

    return once


def main():
    if sys.argv[1:2] == ["--fill"]:
        return fill(sys.argv[2], int(sys.argv[3]))
    if sys.argv[1:2] == ["--time"]:
        t = timer(sys.argv[2])
        t()  # the first load also maps the module and warms the page cache
        return print(*t())
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    n = int(args[0]) if args else 10_000
    rounds = int(args[1]) if len(args) > 1 else 11
    subjects = []
    with tempfile.TemporaryDirectory() as work:
        for backend in ("file", "sqlite"):
            d = os.path.join(work, backend)
            os.makedirs(d)
            conf = os.path.join(d, "anyhsm.toml")
            with open(conf, "w") as f:
                f.write(f'backend = "{backend}"\ntoken_dir = "{d}/tokens"\n')
            subjects.append((f"anyhsm {backend}", MODULE, {"ANYHSM_CONF": conf}))
        if "--softhsm" in sys.argv and os.path.exists(SOFTHSM):
            d = os.path.join(work, "softhsm")
            os.makedirs(os.path.join(d, "tokens"))
            conf = os.path.join(d, "softhsm2.conf")
            with open(conf, "w") as f:
                f.write(f"directories.tokendir = {d}/tokens\nobjectstore.backend = file\n")
            subjects.append(("SoftHSM 2 file", SOFTHSM, {"SOFTHSM2_CONF": conf}))
        for name, lib, env in subjects:
            started = time.time()
            make_token(lib, env, n)
            print(f"{name}: {n} objects created in {time.time() - started:.1f} s", file=sys.stderr)
        time.sleep(3)  # past the read cache's racy window
        # One process per module (a module is loaded once per process), rounds alternated.
        results = {name: [] for name, _, _ in subjects}
        for _ in range(rounds):
            for name, lib, env in subjects:
                out = subprocess.run([sys.executable, __file__, "--time", lib],
                                     env={**os.environ, **env}, check=True,
                                     capture_output=True, text=True).stdout
                results[name].append(tuple(map(float, out.split())))
        print(f"| C_Initialize, {n} objects, median of {rounds} (min–max) | wall ms | CPU ms |")
        print("|---|---|---|")
        for name, rs in results.items():
            walls, cpus = [r[0] for r in rs], [r[1] for r in rs]
            print(f"| {name} | {statistics.median(walls):.1f} ({min(walls):.1f}–{max(walls):.1f}) "
                  f"| {statistics.median(cpus):.1f} |")


if __name__ == "__main__":
    main()
