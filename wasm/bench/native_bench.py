#!/usr/bin/env python3
"""The native side of bench.mjs: the same operations through libanyhsm_pkcs11.so."""
import json
import os
import sys
import tempfile
import time

import pkcs11
from pkcs11 import Attribute, KeyType, Mechanism
from pkcs11.mechanisms import GCMParams
from pkcs11.util.ec import encode_named_curve_parameters


def rate(fn, seconds=2.0):
    for _ in range(3):
        fn()
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        fn()
        n += 1
    return n / (time.perf_counter() - start)


def main() -> None:
    so = sys.argv[1]
    d = tempfile.mkdtemp(prefix="anyhsm-bench-")
    conf = os.path.join(d, "anyhsm.toml")
    with open(conf, "w") as f:
        f.write("test_token = true\n")
    os.environ.update(ANYHSM_TOKEN_DIR=d, ANYHSM_CONF=conf, ANYHSM_LOG="error")
    import subprocess

    subprocess.run(["pkcs11-tool", "--module", so, "--init-token", "--label", "bench", "--so-pin", "12345678"], check=True, capture_output=True)
    subprocess.run(["pkcs11-tool", "--module", so, "--token-label", "bench", "--login", "--login-type", "so", "--so-pin", "12345678", "--init-pin", "--pin", "1234"], check=True, capture_output=True)
    lib = pkcs11.lib(so)
    token = lib.get_token(token_label="bench")
    out = {}
    mib = b"\x5a" * (1 << 20)
    with token.open(rw=True, user_pin="1234") as s:
        params = s.create_domain_parameters(KeyType.EC, {Attribute.EC_PARAMS: encode_named_curve_parameters("secp256r1")}, local=True)
        _, priv = params.generate_keypair()
        msg = b"\x01" * 32
        out["ecdsa"] = rate(lambda: priv.sign(msg, mechanism=Mechanism.ECDSA_SHA256))
        try:
            ed_params = s.create_domain_parameters(
                KeyType.EC_EDWARDS, {Attribute.EC_PARAMS: encode_named_curve_parameters("1.3.101.112")}, local=True
            )
            _, ed = ed_params.generate_keypair(mechanism=Mechanism.EC_EDWARDS_KEY_PAIR_GEN)
            out["ed25519"] = rate(lambda: ed.sign(msg, mechanism=Mechanism.EDDSA))
        except Exception as e:  # the module may not have Ed25519 yet
            print(f"native Ed25519: {e!r}", file=sys.stderr)
        aes = s.generate_key(KeyType.AES, 256)
        iv = b"\x00" * 12
        out["gcm"] = rate(lambda: aes.encrypt(mib, mechanism=Mechanism.AES_GCM, mechanism_param=GCMParams(iv, b"", 128)))
        out["sha"] = rate(lambda: s.digest(mib, mechanism=Mechanism.SHA256))
    import shutil

    shutil.rmtree(d, ignore_errors=True)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
