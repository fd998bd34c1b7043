#!/usr/bin/env python3
"""EC, EdDSA, X25519/X448 and ML-DSA through the built module, checked against pyca/cryptography.

Usage: ec_ed_mldsa.py [MODULE]   (default: target/release/libanyhsm_pkcs11.so)

Needs python-pkcs11 >= 0.10 and cryptography >= 47 (its bundled OpenSSL has ML-DSA). The script
makes its own test token: ANYHSM_TOKEN_DIR is a fresh temporary directory and ANYHSM_CONF a config
with `test_token = true` (fast PIN hashing). Keys are generated in the token and their public
parts verified outside; outside keys are imported and used; shared secrets are compared. Ends
with "N passed, M failed" and exits non-zero on any failure.
"""

import hashlib
import os
import subprocess
import sys
import tempfile
import traceback

MODULE = sys.argv[1] if len(sys.argv) > 1 else "target/release/libanyhsm_pkcs11.so"
SO_PIN, USER_PIN, LABEL = "12345678", "1234", "ec-interop"

# A private token for this run, set before the module is loaded.
_tmp = tempfile.mkdtemp(prefix="anyhsm-ec-")
os.environ["ANYHSM_TOKEN_DIR"] = os.path.join(_tmp, "tokens")
with open(os.path.join(_tmp, "anyhsm.toml"), "w") as f:
    f.write("test_token = true\n")
os.environ["ANYHSM_CONF"] = os.path.join(_tmp, "anyhsm.toml")

import pkcs11  # noqa: E402
from pkcs11 import Attribute, KeyType, Mechanism, ObjectClass  # noqa: E402
from pkcs11.util.ec import encode_named_curve_parameters  # noqa: E402
from cryptography.exceptions import InvalidSignature  # noqa: E402
from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, mldsa, x448, x25519  # noqa: E402
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature  # noqa: E402

CKK_EC_MONTGOMERY = 0x41
# python-pkcs11 0.10 knows neither CKK_EC_MONTGOMERY nor CKA_PUBLIC_KEY_INFO nor the SHA-3 ECDSA
# mechanisms. Objects of an unknown key type cannot be wrapped, so let 0x41 wrap as an Edwards
# key (operations go by handle, so this only affects the Python class).
KeyType._value2member_map_.setdefault(CKK_EC_MONTGOMERY, KeyType.EC_EDWARDS)
CKM_EC_MONTGOMERY_KEY_PAIR_GEN = 0x1056
CKD_NULL, CKD_SHA256_KDF = 1, 6

PASSED = FAILED = 0


def step(name, fn):
    global PASSED, FAILED
    try:
        fn()
    except Exception as e:  # noqa: BLE001 - every failure is reported, none is fatal
        FAILED += 1
        detail = "".join(traceback.format_exception_only(type(e), e)).strip()
        print(f"FAIL {name}: {detail}", flush=True)
        return
    PASSED += 1
    print(f"PASS {name}", flush=True)


def check(cond, msg):
    if not cond:
        raise AssertionError(msg)


def der_octets(raw):
    """A DER OCTET STRING around raw bytes (CKA_EC_POINT)."""
    n = len(raw)
    if n < 0x80:
        return bytes([4, n]) + raw
    return bytes([4, 0x81, n]) + raw if n < 0x100 else bytes([4, 0x82, n >> 8, n & 0xFF]) + raw


def unwrap_octets(der):
    check(der[0] == 4, "CKA_EC_POINT is not an OCTET STRING")
    if der[1] < 0x80:
        return der[2:]
    return der[2 + (der[1] & 0x7F):]


def oid_params(dotted_der_hex):
    return bytes.fromhex(dotted_der_hex)


def init_token():
    subprocess.run(
        ["pkcs11-tool", "--module", MODULE, "--init-token", "--label", LABEL, "--so-pin", SO_PIN],
        check=True, capture_output=True,
    )
    subprocess.run(
        ["pkcs11-tool", "--module", MODULE, "--login", "--login-type", "so", "--so-pin", SO_PIN,
         "--init-pin", "--pin", USER_PIN, "--token-label", LABEL],
        check=True, capture_output=True,
    )


CURVES = [
    ("P-256", "secp256r1", ec.SECP256R1(), hashes.SHA256()),
    ("P-384", "secp384r1", ec.SECP384R1(), hashes.SHA384()),
    ("P-521", "secp521r1", ec.SECP521R1(), hashes.SHA512()),
    ("secp256k1", "secp256k1", ec.SECP256K1(), hashes.SHA256()),
]
EC_SIGN = {"SHA256": Mechanism.ECDSA_SHA256, "SHA384": Mechanism.ECDSA_SHA384, "SHA512": Mechanism.ECDSA_SHA512}


def main():
    init_token()
    lib = pkcs11.lib(MODULE)
    token = lib.get_token(token_label=LABEL)
    session = token.open(rw=True, user_pin=USER_PIN)
    mechs = set(token.slot.get_mechanisms())

    def listed():
        wanted = [Mechanism.EC_KEY_PAIR_GEN, Mechanism.ECDSA, Mechanism.ECDH1_DERIVE,
                  Mechanism.ECDH1_COFACTOR_DERIVE, Mechanism.EC_EDWARDS_KEY_PAIR_GEN, Mechanism.EDDSA,
                  Mechanism.ML_DSA_KEY_PAIR_GEN, Mechanism.ML_DSA]
        missing = [m for m in wanted if m not in mechs]
        check(not missing, f"not listed: {missing}")
        check(CKM_EC_MONTGOMERY_KEY_PAIR_GEN in {int(m) for m in mechs}, "no CKM_EC_MONTGOMERY_KEY_PAIR_GEN")
        codes = {int(m) for m in mechs}
        check({0x1F, 0x2C, 0x1047, 0x104A} <= codes, "no HashML-DSA or CKM_ECDSA_SHA3_*")

    step("C_GetMechanismList lists EC, EdDSA, Montgomery, ML-DSA", listed)

    for name, pyname, curve, h in CURVES:
        def ecdsa_token_key(pyname=pyname, curve=curve, h=h):
            params = encode_named_curve_parameters(pyname)
            pub, priv = session.generate_keypair(
                KeyType.EC, 0, store=False, public_template={Attribute.EC_PARAMS: params})
            raw = unwrap_octets(pub[Attribute.EC_POINT])
            check(priv[Attribute.EC_POINT] == pub[Attribute.EC_POINT], "EC_POINT differs on the private key")
            verifier = ec.EllipticCurvePublicKey.from_encoded_point(curve, raw)
            data = b"signed in the token"
            sig = priv.sign(data, mechanism=EC_SIGN[h.name.upper()])
            n = len(sig) // 2
            verifier.verify(encode_dss_signature(int.from_bytes(sig[:n], "big"), int.from_bytes(sig[n:], "big")),
                            data, ec.ECDSA(h))
            # CKM_ECDSA over a SHA3-256 hash made here (the caller hashes).
            from cryptography.hazmat.primitives.asymmetric.utils import Prehashed
            sig3 = priv.sign(hashlib.sha3_256(data).digest(), mechanism=Mechanism.ECDSA)
            verifier.verify(encode_dss_signature(int.from_bytes(sig3[:n], "big"), int.from_bytes(sig3[n:], "big")),
                            hashlib.sha3_256(data).digest(), ec.ECDSA(Prehashed(hashes.SHA3_256())))

        step(f"ECDSA {name}: token key, signature verified by cryptography", ecdsa_token_key)

        def ecdsa_outside_key(pyname=pyname, curve=curve, h=h):
            outside = ec.generate_private_key(curve)
            size = (curve.key_size + 7) // 8
            d = outside.private_numbers().private_value.to_bytes(size, "big")
            priv = session.create_object({
                Attribute.CLASS: ObjectClass.PRIVATE_KEY, Attribute.KEY_TYPE: KeyType.EC,
                Attribute.EC_PARAMS: encode_named_curve_parameters(pyname), Attribute.VALUE: d,
                Attribute.SIGN: True,
            })
            point = outside.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
            pub = session.create_object({
                Attribute.CLASS: ObjectClass.PUBLIC_KEY, Attribute.KEY_TYPE: KeyType.EC,
                Attribute.EC_PARAMS: encode_named_curve_parameters(pyname), Attribute.EC_POINT: point,  # raw
                Attribute.VERIFY: True,
            })
            data = b"an imported key"
            sig = priv.sign(data, mechanism=EC_SIGN[h.name.upper()])
            n = len(sig) // 2
            outside.public_key().verify(
                encode_dss_signature(int.from_bytes(sig[:n], "big"), int.from_bytes(sig[n:], "big")), data, ec.ECDSA(h))
            # cryptography's DER signature, as raw r||s, verified in the token.
            from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
            r, s = decode_dss_signature(outside.sign(data, ec.ECDSA(h)))
            check(pub.verify(data, r.to_bytes(n, "big") + s.to_bytes(n, "big"), mechanism=EC_SIGN[h.name.upper()]),
                  "token refused cryptography's signature")
            check(not pub.verify(data, (r ^ 1).to_bytes(n, "big") + s.to_bytes(n, "big"),
                                 mechanism=EC_SIGN[h.name.upper()]), "token accepted a tampered signature")

        step(f"ECDSA {name}: outside key imported, both directions", ecdsa_outside_key)

        def ecdh(pyname=pyname, curve=curve):
            pub, priv = session.generate_keypair(
                KeyType.EC, 0, store=False, public_template={Attribute.EC_PARAMS: encode_named_curve_parameters(pyname)},
                private_template={Attribute.DERIVE: True})
            outside = ec.generate_private_key(curve)
            peer = outside.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
            z = outside.exchange(ec.ECDH(), ec.EllipticCurvePublicKey.from_encoded_point(curve, unwrap_octets(pub[Attribute.EC_POINT])))
            for kdf, shared, expect in [(CKD_NULL, None, z)]:
                key = priv.derive_key(KeyType.GENERIC_SECRET, len(expect) * 8, mechanism=Mechanism.ECDH1_DERIVE,
                                      mechanism_param=(kdf, shared, peer),
                                      template={Attribute.SENSITIVE: False, Attribute.EXTRACTABLE: True})
                check(key[Attribute.VALUE] == expect, "ECDH secrets differ")
            from cryptography.hazmat.primitives.kdf.x963kdf import X963KDF
            expect = X963KDF(hashes.SHA256(), 32, b"info").derive(z)
            key = priv.derive_key(KeyType.GENERIC_SECRET, 256, mechanism=Mechanism.ECDH1_COFACTOR_DERIVE,
                                  mechanism_param=(CKD_SHA256_KDF, b"info", der_octets(peer)),
                                  template={Attribute.SENSITIVE: False, Attribute.EXTRACTABLE: True})
            check(key[Attribute.VALUE] == expect, "X9.63 KDF output differs from cryptography's X963KDF")

        step(f"ECDH {name}: token and cryptography agree (CKD_NULL, CKD_SHA256_KDF)", ecdh)

    for name, oid, cls, raw_len in [("Ed25519", "06032b6570", ed25519.Ed25519PublicKey, 32),
                                    ("Ed448", "06032b6571", ed448.Ed448PublicKey, 57)]:
        def eddsa_token_key(oid=oid, cls=cls, raw_len=raw_len):
            pub, priv = session.generate_keypair(
                KeyType.EC_EDWARDS, 0, store=False, mechanism=Mechanism.EC_EDWARDS_KEY_PAIR_GEN,
                public_template={Attribute.EC_PARAMS: bytes.fromhex(oid)})
            raw = unwrap_octets(pub[Attribute.EC_POINT])
            check(len(raw) == raw_len, f"public key of {len(raw)} bytes")
            verifier = cls.from_public_bytes(raw)
            data = b"EdDSA in the token"
            verifier.verify(priv.sign(data, mechanism=Mechanism.EDDSA), data)
            # The printable-name form of CKA_EC_PARAMS works too.
            name_der = b"\x13\x0cedwards25519" if raw_len == 32 else b"\x13\x0aedwards448"
            pub2, priv2 = session.generate_keypair(
                KeyType.EC_EDWARDS, 0, store=False, mechanism=Mechanism.EC_EDWARDS_KEY_PAIR_GEN,
                public_template={Attribute.EC_PARAMS: name_der})
            cls.from_public_bytes(unwrap_octets(pub2[Attribute.EC_POINT])).verify(
                priv2.sign(data, mechanism=Mechanism.EDDSA, mechanism_param=(False, None)), data)

        step(f"{name}: token key, signature verified by cryptography", eddsa_token_key)

    def ed_outside(private_cls, oid, ctx_ok):
        def run():
            outside = private_cls.generate()
            raw_priv = outside.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                             serialization.NoEncryption())
            raw_pub = outside.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
            priv = session.create_object({
                Attribute.CLASS: ObjectClass.PRIVATE_KEY, Attribute.KEY_TYPE: KeyType.EC_EDWARDS,
                Attribute.EC_PARAMS: bytes.fromhex(oid), Attribute.VALUE: raw_priv, Attribute.SIGN: True})
            pub = session.create_object({
                Attribute.CLASS: ObjectClass.PUBLIC_KEY, Attribute.KEY_TYPE: KeyType.EC_EDWARDS,
                Attribute.EC_PARAMS: bytes.fromhex(oid), Attribute.EC_POINT: der_octets(raw_pub), Attribute.VERIFY: True})
            data = b"outside EdDSA key"
            sig = priv.sign(data, mechanism=Mechanism.EDDSA)
            check(sig == outside.sign(data), "EdDSA is deterministic: signatures must be equal")
            check(pub.verify(data, outside.sign(data), mechanism=Mechanism.EDDSA), "token refused the signature")
            bad = bytearray(sig)
            bad[3] ^= 1
            check(not pub.verify(data, bytes(bad), mechanism=Mechanism.EDDSA), "tampered signature accepted")
            if ctx_ok:  # Ed448 with a context: cryptography signs with an empty context only.
                check(pub.verify(data, sig, mechanism=Mechanism.EDDSA, mechanism_param=(False, b"")), "empty ctx")
        return run

    step("Ed25519: outside key imported, signatures equal cryptography's", ed_outside(ed25519.Ed25519PrivateKey, "06032b6570", False))
    step("Ed448: outside key imported, signatures equal cryptography's", ed_outside(ed448.Ed448PrivateKey, "06032b6571", True))

    for name, oid, priv_cls, pub_cls in [("X25519", "06032b656e", x25519.X25519PrivateKey, x25519.X25519PublicKey),
                                         ("X448", "06032b656f", x448.X448PrivateKey, x448.X448PublicKey)]:
        def montgomery(oid=oid, priv_cls=priv_cls, pub_cls=pub_cls):
            # python-pkcs11 has no CKK_EC_MONTGOMERY: import a key pair made outside, then derive
            # in the token with the other side's public key, and compare.
            mine = priv_cls.generate()
            raw_priv = mine.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                          serialization.NoEncryption())
            priv = session.create_object({
                Attribute.CLASS: ObjectClass.PRIVATE_KEY, Attribute.KEY_TYPE: CKK_EC_MONTGOMERY,
                Attribute.EC_PARAMS: bytes.fromhex(oid), Attribute.VALUE: raw_priv, Attribute.DERIVE: True})
            check(unwrap_octets(priv[Attribute.EC_POINT]) == mine.public_key().public_bytes_raw(),
                  "the token's public key differs from cryptography's")
            other = priv_cls.generate()
            z = other.exchange(mine.public_key())
            for peer in (other.public_key().public_bytes_raw(), der_octets(other.public_key().public_bytes_raw())):
                key = priv.derive_key(KeyType.GENERIC_SECRET, len(z) * 8, mechanism=Mechanism.ECDH1_DERIVE,
                                      mechanism_param=(CKD_NULL, None, peer),
                                      template={Attribute.SENSITIVE: False, Attribute.EXTRACTABLE: True})
                check(key[Attribute.VALUE] == z, "shared secrets differ")

        step(f"{name}: ECDH1_DERIVE equals cryptography's exchange", montgomery)

    for ps, cls_pub, cls_priv, sig_len in [(1, mldsa.MLDSA44PublicKey, mldsa.MLDSA44PrivateKey, 2420),
                                           (2, mldsa.MLDSA65PublicKey, mldsa.MLDSA65PrivateKey, 3309),
                                           (3, mldsa.MLDSA87PublicKey, mldsa.MLDSA87PrivateKey, 4627)]:
        def ml_dsa_token_key(ps=ps, cls_pub=cls_pub, sig_len=sig_len):
            pub, priv = session.generate_keypair(
                KeyType.ML_DSA, 0, store=False, mechanism=Mechanism.ML_DSA_KEY_PAIR_GEN,
                public_template={Attribute.PARAMETER_SET: ps})
            verifier = cls_pub.from_public_bytes(pub[Attribute.VALUE])
            data = b"ML-DSA in the token"
            sig = priv.sign(data, mechanism=Mechanism.ML_DSA)
            check(len(sig) == sig_len, f"signature of {len(sig)} bytes")
            verifier.verify(sig, data)
            try:
                verifier.verify(sig, data + b"!")
                raise AssertionError("a signature over other data verified")
            except InvalidSignature:
                pass

        step(f"ML-DSA (CKP {ps}): token key, signature verified by OpenSSL (cryptography)", ml_dsa_token_key)

        def ml_dsa_outside_key(ps=ps, cls_priv=cls_priv):
            outside = cls_priv.generate()
            seed = outside.private_bytes_raw()
            priv = session.create_object({
                Attribute.CLASS: ObjectClass.PRIVATE_KEY, Attribute.KEY_TYPE: KeyType.ML_DSA,
                Attribute.PARAMETER_SET: ps, Attribute.SEED: seed, Attribute.SIGN: True})
            pub = session.create_object({
                Attribute.CLASS: ObjectClass.PUBLIC_KEY, Attribute.KEY_TYPE: KeyType.ML_DSA,
                Attribute.PARAMETER_SET: ps, Attribute.VALUE: outside.public_key().public_bytes_raw(),
                Attribute.VERIFY: True})
            data = b"outside ML-DSA key"
            outside.public_key().verify(priv.sign(data, mechanism=Mechanism.ML_DSA), data)
            check(pub.verify(data, outside.sign(data), mechanism=Mechanism.ML_DSA), "token refused OpenSSL's signature")
            check(not pub.verify(data + b"?", outside.sign(data), mechanism=Mechanism.ML_DSA), "wrong data accepted")

        step(f"ML-DSA (CKP {ps}): outside seed imported, both directions", ml_dsa_outside_key)

    session.close()
    print(f"{PASSED} passed, {FAILED} failed")
    return 1 if FAILED else 0


if __name__ == "__main__":
    sys.exit(main())
