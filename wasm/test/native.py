#!/usr/bin/env python3
"""Drive the native module (libanyhsm_pkcs11.so) for the interop and parity tests.

Usage: native.py <command> <so> <token-label> [args…]; prints one JSON object.
ANYHSM_TOKEN_DIR and ANYHSM_CONF come from the caller. PINs: user 1234.
  objects                   every object: class, label, EC point
  sign <key-label> <hex>    ECDSA-SHA256 signature of the bytes by the private key
  genaes <key-label>        generate a token AES-256 key
  parity                    generate the P-256 pair 'parity', sign b'parity message'
"""
import json
import sys

import pkcs11
from pkcs11 import Attribute, KeyType, Mechanism, ObjectClass
from pkcs11.util.ec import encode_named_curve_parameters

USER_PIN = "1234"


def main() -> None:
    cmd, so, label, *args = sys.argv[1:]
    lib = pkcs11.lib(so)
    token = lib.get_token(token_label=label)
    out = {"serial": token.serial.decode() if isinstance(token.serial, bytes) else str(token.serial)}
    with token.open(rw=True, user_pin=USER_PIN) as s:
        if cmd == "objects":
            objs = []
            for o in s.get_objects():
                item = {"class": int(o[Attribute.CLASS]), "label": o[Attribute.LABEL]}
                if o[Attribute.CLASS] == ObjectClass.PUBLIC_KEY:
                    item["ec_point"] = bytes(o[Attribute.EC_POINT]).hex()
                objs.append(item)
            out["objects"] = objs
        elif cmd == "sign":
            key = s.get_key(object_class=ObjectClass.PRIVATE_KEY, label=args[0])
            out["signature"] = key.sign(bytes.fromhex(args[1]), mechanism=Mechanism.ECDSA_SHA256).hex()
        elif cmd == "genaes":
            s.generate_key(KeyType.AES, 256, label=args[0], store=True)
        elif cmd == "parity":
            params = s.create_domain_parameters(
                KeyType.EC, {Attribute.EC_PARAMS: encode_named_curve_parameters("secp256r1")}, local=True
            )
            pub, priv = params.generate_keypair(store=True, label="parity")
            out["ec_point"] = bytes(pub[Attribute.EC_POINT]).hex()
            out["signature"] = priv.sign(b"parity message", mechanism=Mechanism.ECDSA_SHA256).hex()
        else:
            raise SystemExit(f"unknown command {cmd}")
    print(json.dumps(out))


if __name__ == "__main__":
    main()
