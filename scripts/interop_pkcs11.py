#!/usr/bin/env python3
"""Interop through python-pkcs11 (PyPI), checked against pyca/cryptography.

Usage: interop_pkcs11.py MODULE TOKEN_LABEL USER_PIN

The token must already be initialised with that label and user PIN (scripts/interop.sh does it).
Prints one "PASS <step>" or "FAIL <step>: <why>" line per step and exits non-zero if any failed.
"""

import hashlib
import os
import sys
import traceback

try:
    import pkcs11
    from pkcs11 import Attribute, KeyType, Mechanism, ObjectClass
    from pkcs11.mechanisms import GCMParams
    from pkcs11.util.ec import (
        decode_ec_public_key,
        decode_ecdsa_signature,
        encode_ec_public_key,
        encode_ecdsa_signature,
        encode_named_curve_parameters,
    )
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.asymmetric.utils import Prehashed
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
except ImportError as e:  # pragma: no cover - reported as a failure by the caller
    print(f"FAIL python-pkcs11: import: {e} (pip install python-pkcs11 cryptography)")
    sys.exit(1)

PASSED = 0
FAILED = 0


def step(name, fn):
    """Runs one step; a step passes when fn returns without raising."""
    global PASSED, FAILED
    try:
        fn()
    except Exception as e:  # noqa: BLE001 - every failure is reported, none is fatal
        FAILED += 1
        detail = "".join(traceback.format_exception_only(type(e), e)).strip()
        print(f"FAIL python-pkcs11: {name}: {detail}", flush=True)
        return False
    PASSED += 1
    print(f"PASS python-pkcs11: {name}", flush=True)
    return True


def check(condition, message):
    if not condition:
        raise AssertionError(message)


def main():
    if len(sys.argv) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    module, label, user_pin = sys.argv[1:]
    state = {}

    def load():
        lib = pkcs11.lib(module)
        state["lib"] = lib
        state["token"] = lib.get_token(token_label=label)
        check(state["token"].label == label, f"token label {state['token'].label!r}")

    def open_session():
        state["session"] = state["token"].open(rw=True, user_pin=user_pin)

    def mechanisms():
        mechs = set(state["token"].slot.get_mechanisms())
        state["mechanisms"] = mechs
        for m in (Mechanism.AES_GCM, Mechanism.ECDSA, Mechanism.EC_KEY_PAIR_GEN, Mechanism.SHA256):
            check(m in mechs, f"{m!r} not in C_GetMechanismList")

    def aes_gcm():
        session = state["session"]
        key = session.generate_key(
            KeyType.AES,
            256,
            label="python aes",
            store=False,
            template={Attribute.SENSITIVE: False, Attribute.EXTRACTABLE: True},
        )
        value = key[Attribute.VALUE]
        check(len(value) == 32, f"CKA_VALUE is {len(value)} bytes")
        iv, aad, data = os.urandom(12), b"interop header", b"python-pkcs11 says hello" * 7
        ciphertext = key.encrypt(data, mechanism=Mechanism.AES_GCM, mechanism_param=GCMParams(iv, aad))
        reference = AESGCM(value).encrypt(iv, data, aad)
        check(ciphertext == reference, "token ciphertext differs from cryptography's AESGCM")
        plain = key.decrypt(reference, mechanism=Mechanism.AES_GCM, mechanism_param=GCMParams(iv, aad))
        check(plain == data, "the token does not decrypt cryptography's ciphertext")
        state["aes"] = (key, iv, aad, reference)

    def aes_gcm_tamper():
        key, iv, aad, reference = state["aes"]
        tampered = reference[:-1] + bytes([reference[-1] ^ 1])
        try:
            key.decrypt(tampered, mechanism=Mechanism.AES_GCM, mechanism_param=GCMParams(iv, aad))
        except pkcs11.exceptions.PKCS11Error as e:
            print(f"      (tampered tag refused with {type(e).__name__})", flush=True)
            return
        raise AssertionError("a tampered GCM tag was accepted")

    def ecdsa():
        session = state["session"]
        params = session.create_domain_parameters(
            KeyType.EC,
            {Attribute.EC_PARAMS: encode_named_curve_parameters("secp256r1")},
            local=True,
        )
        public, private = params.generate_keypair(store=False, label="python ec")
        spki = encode_ec_public_key(public)
        verifier = serialization.load_der_public_key(spki)
        check(isinstance(verifier.curve, ec.SECP256R1), f"curve {verifier.curve.name}")
        data = b"signed in the token, verified by cryptography"
        digest = hashlib.sha256(data).digest()
        signature = private.sign(digest, mechanism=Mechanism.ECDSA)
        check(len(signature) == 64, f"ECDSA signature of {len(signature)} bytes")
        verifier.verify(encode_ecdsa_signature(signature), digest, ec.ECDSA(Prehashed(hashes.SHA256())))
        if Mechanism.ECDSA_SHA256 in state["mechanisms"]:
            signature = private.sign(data, mechanism=Mechanism.ECDSA_SHA256)
            verifier.verify(encode_ecdsa_signature(signature), data, ec.ECDSA(hashes.SHA256()))
        else:
            print("      (no CKM_ECDSA_SHA256 on this token: only CKM_ECDSA checked)", flush=True)
        state["ec"] = public

    def ecdsa_verify_outside_signature():
        # A signature made by cryptography with a fresh key is verified in the token after
        # importing that public key; and the token rejects a tampered one.
        outside = ec.generate_private_key(ec.SECP256R1())
        spki = outside.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        imported = state["session"].create_object(decode_ec_public_key(spki))
        data = b"signed by cryptography, verified in the token"
        digest = hashlib.sha256(data).digest()
        der = outside.sign(digest, ec.ECDSA(Prehashed(hashes.SHA256())))
        raw = decode_ecdsa_signature(der)
        check(imported.verify(digest, raw, mechanism=Mechanism.ECDSA), "C_Verify rejected a good signature")
        bad = raw[:-1] + bytes([raw[-1] ^ 1])
        check(not imported.verify(digest, bad, mechanism=Mechanism.ECDSA), "C_Verify accepted a bad signature")

    def close():
        state["session"].close()

    if step("load the module and find the token", load):
        step("C_GetMechanismList has AES-GCM, ECDSA, EC key pair generation, SHA-256", mechanisms)
        if step("open a R/W session and log in", open_session):
            if step("AES-256-GCM in the token equals cryptography's AESGCM, both ways", aes_gcm):
                step("AES-GCM decryption refuses a tampered tag", aes_gcm_tamper)
            if step("ECDSA P-256 signature made in the token verifies with cryptography", ecdsa):
                step("cryptography's ECDSA signature verifies in the token", ecdsa_verify_outside_signature)
            step("close the session", close)
    print(f"python-pkcs11: {PASSED} passed, {FAILED} failed", flush=True)
    return 1 if FAILED else 0


if __name__ == "__main__":
    sys.exit(main())
