#!/usr/bin/env python3
"""RSA (with RSA AES key wrap), DSA and DH through the built module, cross-checked with Python `cryptography`.

    python3 tests/interop/rsa_dsa_dh.py [path/to/libanyhsm_pkcs11.so]

Makes a fresh token directory and a test-token configuration, initialises a token with
pkcs11-tool, then drives it with python-pkcs11: keys generated in the token are exported and
used by `cryptography`, data and keys made by `cryptography` are used by the token. Prints one
PASS/FAIL line per check and "N passed, M failed"; exits non-zero on any failure.
"""

import os
import subprocess
import sys
import tempfile
import traceback

import pkcs11
import pkcs11.attributes
from pkcs11 import Attribute, KeyType, Mechanism, MGF, ObjectClass
from pkcs11.util.dsa import encode_dsa_signature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives import padding as sym_padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.asymmetric import dh, dsa, padding, rsa, utils

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODULE = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "target", "debug", "libanyhsm_pkcs11.so")
SO_PIN, USER_PIN, LABEL = "12345678", "1234", "interop"

# RFC 7919 ffdhe2048 (g = 2).
FFDHE2048 = int(
    "FFFFFFFFFFFFFFFFADF85458A2BB4A9AAFDC5620273D3CF1D8B9C583CE2D3695A9E13641146433FBCC939DCE249B3EF9"
    "7D2FE363630C75D8F681B202AEC4617AD3DF1ED5D5FD65612433F51F5F066ED0856365553DED1AF3B557135E7F57C935"
    "984F0C70E0E68B77E2A689DAF3EFE8721DF158A136ADE73530ACCA4F483A797ABC0AB182B324FB61D108A94BB2C8E3FB"
    "B96ADAB760D7F4681D4F42A3DE394DF4AE56EDE76372BB190B07A7C8EE0A6D709E02FCE1CDF7E2ECC03404CD28342F61"
    "9172FE9CE98583FF8E4F1232EEF28183C3FE3B1B4C6FAD733BB5FCBC2EC22005C58EF1837D1683B2C6F34A26C1B2EFFA"
    "886B423861285C97FFFFFFFFFFFFFFFF",
    16,
)

results = []


def check(name):
    def wrap(fn):
        try:
            fn()
            results.append(True)
            print(f"PASS {name}")
        except Exception:  # noqa: BLE001 - every failure is a FAIL line
            results.append(False)
            print(f"FAIL {name}")
            traceback.print_exc(limit=3)
        return fn

    return wrap


def env():
    token_dir = tempfile.mkdtemp(prefix="anyhsm-interop-")
    conf = os.path.join(token_dir, "anyhsm.toml")
    with open(conf, "w") as f:
        f.write("test_token = true\n")
    os.environ["ANYHSM_TOKEN_DIR"] = token_dir
    os.environ["ANYHSM_CONF"] = conf


def tool(*args):
    out = subprocess.run(["pkcs11-tool", "--module", MODULE, *args], capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"pkcs11-tool {' '.join(args)}: {out.stderr}{out.stdout}")
    return out.stdout


def int_bytes(n):
    return n.to_bytes((n.bit_length() + 7) // 8, "big")


# CKA_PUBLIC_KEY_INFO (PKCS #11 3.0) is not in python-pkcs11's Attribute enum.
PUBLIC_KEY_INFO = 0x129


def spki_bytes(key):
    return bytes(key[PUBLIC_KEY_INFO])


def spki_of(key):
    return serialization.load_der_public_key(spki_bytes(key))


env()
tool("--init-token", "--slot-index", "0", "--so-pin", SO_PIN, "--label", LABEL)
tool("--init-pin", "--token-label", LABEL, "--so-pin", SO_PIN, "--pin", USER_PIN)
lib = pkcs11.lib(MODULE)
token = lib.get_token(token_label=LABEL)
mapper = pkcs11.attributes.AttributeMapper()
mapper.register_handler(PUBLIC_KEY_INFO, bytes, bytes)
session = token.open(user_pin=USER_PIN, rw=True, attribute_mapper=mapper)
MSG = b"anyhsm interop message"

# ---- pkcs11-tool ----


@check("pkcs11-tool -M lists the RSA, DSA and DH mechanisms")
def _():
    out = tool("-M")
    for name in ["RSA-PKCS-KEY-PAIR-GEN", "RSA-PKCS", "RSA-X-509", "RSA-PKCS-OAEP", "RSA-PKCS-PSS",
                 "SHA256-RSA-PKCS", "SHA256-RSA-PKCS-PSS", "SHA3-256-RSA-PKCS", "DSA-KEY-PAIR-GEN", "DSA-SHA256",
                 "DSA-PARAMETER-GEN", "DH-PKCS-KEY-PAIR-GEN", "DH-PKCS-DERIVE", "DH-PKCS-PARAMETER-GEN"]:
        assert name in out, f"{name} missing from:\n{out}"


@check("pkcs11-tool --keypairgen rsa:2048 and --sign SHA256-RSA-PKCS-PSS")
def _():
    tool("--login", "--pin", USER_PIN, "--keypairgen", "--key-type", "rsa:2048", "--id", "77", "--label", "tool-rsa")
    with tempfile.TemporaryDirectory() as d:
        data, sig, pub = (os.path.join(d, n) for n in ("data", "sig", "pub.der"))
        with open(data, "wb") as f:
            f.write(MSG)
        tool("--login", "--pin", USER_PIN, "--sign", "--id", "77", "-m", "SHA256-RSA-PKCS-PSS",
             "--input-file", data, "--output-file", sig)
        tool("--read-object", "--type", "pubkey", "--id", "77", "--output-file", pub)
        key = serialization.load_der_public_key(open(pub, "rb").read())
        key.verify(open(sig, "rb").read(), MSG, padding.PSS(padding.MGF1(hashes.SHA256()), 32), hashes.SHA256())


# ---- RSA ----

rsa_pub, rsa_priv = session.generate_keypair(KeyType.RSA, 2048, label="rsa")


@check("RSA: CKA_PUBLIC_KEY_INFO equals the modulus and exponent")
def _():
    key = spki_of(rsa_pub)
    n = int.from_bytes(rsa_pub[Attribute.MODULUS], "big")
    assert key.public_numbers().n == n
    assert key.public_numbers().e == int.from_bytes(rsa_priv[Attribute.PUBLIC_EXPONENT], "big")
    assert spki_bytes(rsa_priv) == spki_bytes(rsa_pub)


@check("RSA: PKCS#1 v1.5 signatures (SHA-1/224/256/384/512) verify in cryptography")
def _():
    key = spki_of(rsa_pub)
    for mech, h in [(Mechanism.SHA1_RSA_PKCS, hashes.SHA1()), (Mechanism.SHA224_RSA_PKCS, hashes.SHA224()),
                    (Mechanism.SHA256_RSA_PKCS, hashes.SHA256()), (Mechanism.SHA384_RSA_PKCS, hashes.SHA384()),
                    (Mechanism.SHA512_RSA_PKCS, hashes.SHA512())]:
        key.verify(rsa_priv.sign(MSG, mechanism=mech), MSG, padding.PKCS1v15(), h)


@check("RSA: SHA3-256 PKCS#1 v1.5 and PSS signatures verify in cryptography")
def _():
    key = spki_of(rsa_pub)
    key.verify(rsa_priv.sign(MSG, mechanism=Mechanism.SHA3_256_RSA_PKCS), MSG, padding.PKCS1v15(), hashes.SHA3_256())
    # python-pkcs11 packs PSS parameters only for the SHA-1/2 mechanisms: pass the C struct raw.
    import struct
    raw = struct.pack("=QQQ", Mechanism.SHA3_256, 7, 32)  # CKG_MGF1_SHA3_256
    sig = rsa_priv.sign(MSG, mechanism=Mechanism.SHA3_256_RSA_PKCS_PSS, mechanism_param=raw)
    key.verify(sig, MSG, padding.PSS(padding.MGF1(hashes.SHA3_256()), 32), hashes.SHA3_256())


@check("RSA: PSS signatures (SHA-256, SHA-512, raw over a hash) verify in cryptography")
def _():
    key = spki_of(rsa_pub)
    sig = rsa_priv.sign(MSG, mechanism=Mechanism.SHA256_RSA_PKCS_PSS, mechanism_param=(Mechanism.SHA256, MGF.SHA256, 32))
    key.verify(sig, MSG, padding.PSS(padding.MGF1(hashes.SHA256()), 32), hashes.SHA256())
    sig = rsa_priv.sign(MSG, mechanism=Mechanism.SHA512_RSA_PKCS_PSS, mechanism_param=(Mechanism.SHA512, MGF.SHA512, 64))
    key.verify(sig, MSG, padding.PSS(padding.MGF1(hashes.SHA512()), 64), hashes.SHA512())
    digest = hashes.Hash(hashes.SHA384())
    digest.update(MSG)
    h = digest.finalize()
    sig = rsa_priv.sign(h, mechanism=Mechanism.RSA_PKCS_PSS, mechanism_param=(Mechanism.SHA384, MGF.SHA384, 20))
    key.verify(sig, h, padding.PSS(padding.MGF1(hashes.SHA384()), 20), utils.Prehashed(hashes.SHA384()))


@check("RSA: cryptography's signatures verify in the token, tampered ones do not")
def _():
    outside = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    nums = outside.public_key().public_numbers()
    pub = session.create_object({
        Attribute.CLASS: ObjectClass.PUBLIC_KEY, Attribute.KEY_TYPE: KeyType.RSA,
        Attribute.MODULUS: int_bytes(nums.n), Attribute.PUBLIC_EXPONENT: int_bytes(nums.e), Attribute.VERIFY: True,
    })
    sig = outside.sign(MSG, padding.PKCS1v15(), hashes.SHA256())
    assert pub.verify(MSG, sig, mechanism=Mechanism.SHA256_RSA_PKCS)
    assert not pub.verify(MSG + b"!", sig, mechanism=Mechanism.SHA256_RSA_PKCS)
    sig = outside.sign(MSG, padding.PSS(padding.MGF1(hashes.SHA256()), 32), hashes.SHA256())
    assert pub.verify(MSG, sig, mechanism=Mechanism.SHA256_RSA_PKCS_PSS, mechanism_param=(Mechanism.SHA256, MGF.SHA256, 32))


@check("RSA: OAEP SHA-256 with a label and PKCS#1 v1.5 from cryptography decrypt in the token")
def _():
    key = spki_of(rsa_pub)
    ct = key.encrypt(b"secret", padding.OAEP(padding.MGF1(hashes.SHA256()), hashes.SHA256(), b"label"))
    assert rsa_priv.decrypt(ct, mechanism=Mechanism.RSA_PKCS_OAEP, mechanism_param=(Mechanism.SHA256, MGF.SHA256, b"label")) == b"secret"
    ct = key.encrypt(b"secret", padding.OAEP(padding.MGF1(hashes.SHA1()), hashes.SHA1(), None))
    assert rsa_priv.decrypt(ct, mechanism=Mechanism.RSA_PKCS_OAEP) == b"secret"
    ct = key.encrypt(b"v1.5 secret", padding.PKCS1v15())
    assert rsa_priv.decrypt(ct, mechanism=Mechanism.RSA_PKCS) == b"v1.5 secret"


@check("RSA: the token's OAEP and PKCS#1 v1.5 ciphertexts decrypt in cryptography")
def _():
    outside = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    nums = outside.public_key().public_numbers()
    pub = session.create_object({
        Attribute.CLASS: ObjectClass.PUBLIC_KEY, Attribute.KEY_TYPE: KeyType.RSA,
        Attribute.MODULUS: int_bytes(nums.n), Attribute.PUBLIC_EXPONENT: int_bytes(nums.e), Attribute.ENCRYPT: True,
    })
    ct = pub.encrypt(b"to outside", mechanism=Mechanism.RSA_PKCS_OAEP, mechanism_param=(Mechanism.SHA256, MGF.SHA256, b"lbl"))
    assert outside.decrypt(ct, padding.OAEP(padding.MGF1(hashes.SHA256()), hashes.SHA256(), b"lbl")) == b"to outside"
    ct = pub.encrypt(b"to outside", mechanism=Mechanism.RSA_PKCS)
    assert outside.decrypt(ct, padding.PKCS1v15()) == b"to outside"


@check("RSA: a key made by cryptography imported with C_CreateObject signs and decrypts")
def _():
    outside = rsa.generate_private_key(public_exponent=65537, key_size=3072)
    pn = outside.private_numbers()
    priv = session.create_object({
        Attribute.CLASS: ObjectClass.PRIVATE_KEY, Attribute.KEY_TYPE: KeyType.RSA, Attribute.SIGN: True,
        Attribute.DECRYPT: True, Attribute.MODULUS: int_bytes(pn.public_numbers.n),
        Attribute.PUBLIC_EXPONENT: int_bytes(pn.public_numbers.e), Attribute.PRIVATE_EXPONENT: int_bytes(pn.d),
        Attribute.PRIME_1: int_bytes(pn.p), Attribute.PRIME_2: int_bytes(pn.q), Attribute.EXPONENT_1: int_bytes(pn.dmp1),
        Attribute.EXPONENT_2: int_bytes(pn.dmq1), Attribute.COEFFICIENT: int_bytes(pn.iqmp),
    })
    sig = priv.sign(MSG, mechanism=Mechanism.SHA256_RSA_PKCS)
    outside.public_key().verify(sig, MSG, padding.PKCS1v15(), hashes.SHA256())
    assert sig == outside.sign(MSG, padding.PKCS1v15(), hashes.SHA256()), "PKCS#1 v1.5 is deterministic"
    ct = outside.public_key().encrypt(b"imported", padding.OAEP(padding.MGF1(hashes.SHA256()), hashes.SHA256(), None))
    assert priv.decrypt(ct, mechanism=Mechanism.RSA_PKCS_OAEP, mechanism_param=(Mechanism.SHA256, MGF.SHA256, None)) == b"imported"
    spki = outside.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    assert spki_bytes(priv) == spki


@check("RSA: inconsistent CRT components are refused (CKR_ATTRIBUTE_VALUE_INVALID)")
def _():
    outside = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pn = outside.private_numbers()
    try:
        session.create_object({
            Attribute.CLASS: ObjectClass.PRIVATE_KEY, Attribute.KEY_TYPE: KeyType.RSA,
            Attribute.MODULUS: int_bytes(pn.public_numbers.n), Attribute.PUBLIC_EXPONENT: int_bytes(pn.public_numbers.e),
            Attribute.PRIVATE_EXPONENT: int_bytes(pn.d), Attribute.PRIME_1: int_bytes(pn.p), Attribute.PRIME_2: int_bytes(pn.q),
            Attribute.EXPONENT_1: int_bytes(pn.dmp1 ^ 2),
        })
    except pkcs11.exceptions.AttributeValueInvalid:
        return
    raise AssertionError("accepted")


@check("RSA: a tampered OAEP ciphertext is CKR_ENCRYPTED_DATA_INVALID")
def _():
    key = spki_of(rsa_pub)
    ct = bytearray(key.encrypt(b"secret", padding.OAEP(padding.MGF1(hashes.SHA256()), hashes.SHA256(), None)))
    ct[7] ^= 1
    try:
        rsa_priv.decrypt(bytes(ct), mechanism=Mechanism.RSA_PKCS_OAEP, mechanism_param=(Mechanism.SHA256, MGF.SHA256, None))
    except pkcs11.exceptions.EncryptedDataInvalid:
        return
    raise AssertionError("decrypted")


# ---- RSA AES key wrap ----
#
# python-pkcs11 0.10 knows neither CKM_RSA_AES_KEY_WRAP nor its nested parameter struct, so the
# wrap and unwrap calls go straight to the module with ctypes, on python-pkcs11's session (the
# same loaded library, already initialised). The other side is cryptography: OAEP around the
# temporary AES key, then RFC 5649 key wrap with padding.

import ctypes  # noqa: E402
from cryptography.hazmat.primitives import keywrap  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402
from pkcs11.util.ec import encode_ecdsa_signature, encode_named_curve_parameters  # noqa: E402

CKM_RSA_AES_KEY_WRAP = 0x1054
CKR_MECHANISM_PARAM_INVALID, CKR_WRAPPED_KEY_INVALID, CKR_WRAPPED_KEY_LEN_RANGE = 0x71, 0x110, 0x112
OAEP_HASHES = {  # cryptography hash -> (CKM_*, CKG_MGF1_*)
    "sha1": (Mechanism.SHA_1, 1), "sha256": (Mechanism.SHA256, 2), "sha384": (Mechanism.SHA384, 3),
    "sha512": (Mechanism.SHA512, 4),
}
CK_ULONG = ctypes.c_ulong


class CK_MECHANISM(ctypes.Structure):
    _fields_ = [("mechanism", CK_ULONG), ("pParameter", ctypes.c_void_p), ("ulParameterLen", CK_ULONG)]


class CK_RSA_PKCS_OAEP_PARAMS(ctypes.Structure):
    _fields_ = [("hashAlg", CK_ULONG), ("mgf", CK_ULONG), ("source", CK_ULONG),
                ("pSourceData", ctypes.c_void_p), ("ulSourceDataLen", CK_ULONG)]


class CK_RSA_AES_KEY_WRAP_PARAMS(ctypes.Structure):
    _fields_ = [("ulAESKeyBits", CK_ULONG), ("pOAEPParams", ctypes.POINTER(CK_RSA_PKCS_OAEP_PARAMS))]


class CK_ATTRIBUTE(ctypes.Structure):
    _fields_ = [("type", CK_ULONG), ("pValue", ctypes.c_void_p), ("ulValueLen", CK_ULONG)]


P11 = ctypes.CDLL(MODULE)
P11.C_WrapKey.argtypes = [CK_ULONG, ctypes.POINTER(CK_MECHANISM), CK_ULONG, CK_ULONG, ctypes.c_void_p,
                          ctypes.POINTER(CK_ULONG)]
P11.C_WrapKey.restype = CK_ULONG
P11.C_UnwrapKey.argtypes = [CK_ULONG, ctypes.POINTER(CK_MECHANISM), CK_ULONG, ctypes.c_char_p, CK_ULONG,
                            ctypes.POINTER(CK_ATTRIBUTE), CK_ULONG, ctypes.POINTER(CK_ULONG)]
P11.C_UnwrapKey.restype = CK_ULONG


class CkError(Exception):
    def __init__(self, fn, rv):
        super().__init__(f"{fn}: CKR {rv:#x}")
        self.rv = rv


class RsaAes:
    """A CK_MECHANISM for CKM_RSA_AES_KEY_WRAP; holds the nested structs and the label alive."""

    def __init__(self, aes_bits, h, label=None, oaep=True):
        self.h, self.label, self.bits = h, label, aes_bits
        hash_alg, mgf = OAEP_HASHES[h.name]
        self._label = ctypes.create_string_buffer(label or b"", len(label or b""))
        self.oaep = CK_RSA_PKCS_OAEP_PARAMS(hash_alg, mgf, 1, ctypes.cast(self._label, ctypes.c_void_p) if label else None,
                                            len(label or b""))
        self.params = CK_RSA_AES_KEY_WRAP_PARAMS(aes_bits, ctypes.pointer(self.oaep) if oaep else None)
        self.mech = CK_MECHANISM(CKM_RSA_AES_KEY_WRAP, ctypes.cast(ctypes.pointer(self.params), ctypes.c_void_p),
                                 ctypes.sizeof(self.params))

    def padding(self):
        return padding.OAEP(padding.MGF1(self.h), self.h, self.label)

    def wrap_in_token(self, wrapping_key, key):
        n = CK_ULONG(0)
        rv = P11.C_WrapKey(session.handle, ctypes.byref(self.mech), wrapping_key.handle, key.handle, None, ctypes.byref(n))
        if rv:
            raise CkError("C_WrapKey (length)", rv)
        buf = ctypes.create_string_buffer(n.value)
        rv = P11.C_WrapKey(session.handle, ctypes.byref(self.mech), wrapping_key.handle, key.handle, buf, ctypes.byref(n))
        if rv:
            raise CkError("C_WrapKey", rv)
        return buf.raw[:n.value]

    def unwrap_in_token(self, unwrapping_key, blob, attrs):
        """C_UnwrapKey with a template of (CKA_*, int | bool | bytes); the new object's handle."""
        keep, template = [], (CK_ATTRIBUTE * len(attrs))()
        for i, (ty, v) in enumerate(attrs):
            raw = bytes([v]) if isinstance(v, bool) else v.to_bytes(ctypes.sizeof(CK_ULONG), sys.byteorder) if isinstance(v, int) else v
            keep.append(ctypes.create_string_buffer(raw, len(raw)))
            template[i] = CK_ATTRIBUTE(ty, ctypes.cast(keep[-1], ctypes.c_void_p), len(raw))
        handle = CK_ULONG(0)
        rv = P11.C_UnwrapKey(session.handle, ctypes.byref(self.mech), unwrapping_key.handle, blob, len(blob), template,
                             len(attrs), ctypes.byref(handle))
        if rv:
            raise CkError("C_UnwrapKey", rv)
        return handle.value

    def wrap_outside(self, public_key, material):
        temp = os.urandom(self.bits // 8)
        return public_key.encrypt(temp, self.padding()) + keywrap.aes_key_wrap_with_padding(temp, material)

    def unwrap_outside(self, private_key, blob):
        k = private_key.key_size // 8
        temp = private_key.decrypt(blob[:k], self.padding())
        assert len(temp) * 8 == self.bits, f"a temporary key of {len(temp)} bytes"
        return keywrap.aes_key_unwrap_with_padding(temp, blob[k:])


def by_label(label):
    return list(session.get_objects({Attribute.LABEL: label.decode()}))


def expect_rv(rv, fn):
    try:
        fn()
    except CkError as e:
        assert e.rv == rv, f"CKR {e.rv:#x}, expected {rv:#x}"
        return
    raise AssertionError(f"succeeded, expected CKR {rv:#x}")


def ec_public_of(pub_obj, curve):
    point = bytes(pub_obj[Attribute.EC_POINT])
    assert point[0] == 4 and point[1] == len(point) - 2, "a short DER OCTET STRING around the point"
    return ec.EllipticCurvePublicKey.from_encoded_point(curve, point[2:])


def pkcs8(key):
    return key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


AESWRAP_OUTSIDE = rsa.generate_private_key(public_exponent=65537, key_size=3072)
_nums = AESWRAP_OUTSIDE.public_key().public_numbers()
AESWRAP_OUTSIDE_PUB = session.create_object({
    Attribute.CLASS: ObjectClass.PUBLIC_KEY, Attribute.KEY_TYPE: KeyType.RSA, Attribute.WRAP: True,
    Attribute.MODULUS: int_bytes(_nums.n), Attribute.PUBLIC_EXPONENT: int_bytes(_nums.e),
})
RSA_AES_CASES = [RsaAes(256, hashes.SHA256(), b"rsa-aes label"), RsaAes(128, hashes.SHA1()),
                 RsaAes(192, hashes.SHA512(), b"x")]
CBC_IV = bytes(range(16))


@check("RSA AES key wrap: the token's AES keys unwrap in cryptography (128/192/256, SHA-1/256/512)")
def _():
    plain = session.generate_key(KeyType.AES, 256, template={Attribute.EXTRACTABLE: True, Attribute.SENSITIVE: False})
    # Sensitive but extractable: compared by what it encrypts, since its value cannot be read.
    hidden = session.generate_key(KeyType.AES, 128, template={Attribute.EXTRACTABLE: True, Attribute.SENSITIVE: True})
    for m in RSA_AES_CASES:
        blob = m.wrap_in_token(AESWRAP_OUTSIDE_PUB, plain)
        assert len(blob) == 384 + 40, len(blob)
        assert m.unwrap_outside(AESWRAP_OUTSIDE, blob) == bytes(plain[Attribute.VALUE])
        value = m.unwrap_outside(AESWRAP_OUTSIDE, m.wrap_in_token(AESWRAP_OUTSIDE_PUB, hidden))
        assert len(value) == 16
        ct = hidden.encrypt(MSG, mechanism=Mechanism.AES_CBC_PAD, mechanism_param=CBC_IV)
        dec = Cipher(algorithms.AES(value), modes.CBC(CBC_IV)).decryptor()
        unpad = sym_padding.PKCS7(128).unpadder()
        assert unpad.update(dec.update(ct) + dec.finalize()) + unpad.finalize() == MSG


@check("RSA AES key wrap: the token's EC and RSA private keys unwrap in cryptography as PKCS #8")
def _():
    m = RSA_AES_CASES[0]
    pub, priv = session.generate_keypair(
        KeyType.EC, 0, public_template={Attribute.EC_PARAMS: encode_named_curve_parameters("secp256r1")},
        private_template={Attribute.EXTRACTABLE: True})
    key = serialization.load_der_private_key(m.unwrap_outside(AESWRAP_OUTSIDE, m.wrap_in_token(AESWRAP_OUTSIDE_PUB, priv)), None)
    assert isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name == "secp256r1"
    assert key.public_key() == ec_public_of(pub, ec.SECP256R1())
    # The same key: cryptography's signature verifies with the token's public key.
    r, s = utils.decode_dss_signature(key.sign(MSG, ec.ECDSA(hashes.SHA256())))
    assert pub.verify(MSG, r.to_bytes(32, "big") + s.to_bytes(32, "big"), mechanism=Mechanism.ECDSA_SHA256)

    pub, priv = session.generate_keypair(KeyType.RSA, 2048, private_template={Attribute.EXTRACTABLE: True})
    blob = m.wrap_in_token(AESWRAP_OUTSIDE_PUB, priv)
    key = serialization.load_der_private_key(m.unwrap_outside(AESWRAP_OUTSIDE, blob), None)
    assert key.private_numbers().public_numbers.n == int.from_bytes(pub[Attribute.MODULUS], "big")
    assert pub.verify(MSG, key.sign(MSG, padding.PKCS1v15(), hashes.SHA256()), mechanism=Mechanism.SHA256_RSA_PKCS)


AESWRAP_PUB, AESWRAP_PRIV = session.generate_keypair(KeyType.RSA, 2048, label="rsa-aes")
AESWRAP_SPKI = spki_of(AESWRAP_PUB)


@check("RSA AES key wrap: cryptography's blobs unwrap in the token to AES keys that work")
def _():
    for i, m in enumerate(RSA_AES_CASES):
        secret = os.urandom(32)
        label = f"from outside {i}".encode()
        m.unwrap_in_token(AESWRAP_PRIV, m.wrap_outside(AESWRAP_SPKI, secret), [
            (Attribute.CLASS, ObjectClass.SECRET_KEY), (Attribute.KEY_TYPE, KeyType.AES),
            (Attribute.ENCRYPT, True), (Attribute.LABEL, label)])
        (key,) = by_label(label)
        assert key[Attribute.VALUE_LEN] == 32
        ct = key.encrypt(MSG, mechanism=Mechanism.AES_CBC_PAD, mechanism_param=CBC_IV)
        enc = Cipher(algorithms.AES(secret), modes.CBC(CBC_IV)).encryptor()
        pad = sym_padding.PKCS7(128).padder()
        assert ct == enc.update(pad.update(MSG) + pad.finalize()) + enc.finalize()


@check("RSA AES key wrap: cryptography's EC and RSA private keys unwrap in the token and sign")
def _():
    m = RSA_AES_CASES[2]
    outside_ec = ec.generate_private_key(ec.SECP384R1())
    m.unwrap_in_token(AESWRAP_PRIV, m.wrap_outside(AESWRAP_SPKI, pkcs8(outside_ec)), [
        (Attribute.CLASS, ObjectClass.PRIVATE_KEY), (Attribute.KEY_TYPE, KeyType.EC), (Attribute.SIGN, True),
        (Attribute.LABEL, b"outside ec")])
    (key,) = by_label(b"outside ec")
    outside_ec.public_key().verify(encode_ecdsa_signature(key.sign(MSG, mechanism=Mechanism.ECDSA_SHA384)), MSG,
                                   ec.ECDSA(hashes.SHA384()))
    outside_rsa = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    m.unwrap_in_token(AESWRAP_PRIV, m.wrap_outside(AESWRAP_SPKI, pkcs8(outside_rsa)), [
        (Attribute.CLASS, ObjectClass.PRIVATE_KEY), (Attribute.KEY_TYPE, KeyType.RSA), (Attribute.SIGN, True),
        (Attribute.LABEL, b"outside rsa")])
    (key,) = by_label(b"outside rsa")
    assert key.sign(MSG, mechanism=Mechanism.SHA256_RSA_PKCS) == outside_rsa.sign(MSG, padding.PKCS1v15(), hashes.SHA256())


@check("RSA AES key wrap: tampered or cut blobs and bad parameters are refused, nothing is created")
def _():
    m = RSA_AES_CASES[0]
    blob = m.wrap_outside(AESWRAP_SPKI, os.urandom(24))
    template = [(Attribute.CLASS, ObjectClass.SECRET_KEY), (Attribute.KEY_TYPE, KeyType.AES),
                (Attribute.LABEL, b"must not exist")]
    for i in (3, 255, 256, len(blob) - 1):  # the OAEP part is the first 256 bytes
        bad = bytearray(blob)
        bad[i] ^= 0x20
        expect_rv(CKR_WRAPPED_KEY_INVALID, lambda bad=bad: m.unwrap_in_token(AESWRAP_PRIV, bytes(bad), template))
    other_label = RsaAes(256, hashes.SHA256(), b"another label")
    expect_rv(CKR_WRAPPED_KEY_INVALID, lambda: other_label.unwrap_in_token(AESWRAP_PRIV, blob, template))
    expect_rv(CKR_WRAPPED_KEY_LEN_RANGE, lambda: m.unwrap_in_token(AESWRAP_PRIV, blob[:-1], template))
    expect_rv(CKR_WRAPPED_KEY_LEN_RANGE, lambda: m.unwrap_in_token(AESWRAP_PRIV, blob[:256 + 8], template))
    for bad in (RsaAes(100, hashes.SHA256()), RsaAes(512, hashes.SHA256()), RsaAes(256, hashes.SHA256(), oaep=False)):
        expect_rv(CKR_MECHANISM_PARAM_INVALID, lambda bad=bad: bad.unwrap_in_token(AESWRAP_PRIV, blob, template))
        aes = session.generate_key(KeyType.AES, 128, template={Attribute.EXTRACTABLE: True})
        expect_rv(CKR_MECHANISM_PARAM_INVALID, lambda bad=bad, aes=aes: bad.wrap_in_token(AESWRAP_PUB, aes))
    assert by_label(b"must not exist") == []


# ---- DSA ----


@check("DSA: parameters and a key generated in the token; signatures verify in cryptography")
def _():
    params = session.generate_domain_parameters(KeyType.DSA, 2048)
    pub, priv = params.generate_keypair()
    key = spki_of(pub)
    assert isinstance(key, dsa.DSAPublicKey)
    assert key.key_size == 2048
    for mech, h in [(Mechanism.DSA_SHA1, hashes.SHA1()), (Mechanism.DSA_SHA224, hashes.SHA224()),
                    (Mechanism.DSA_SHA256, hashes.SHA256()), (Mechanism.DSA_SHA512, hashes.SHA512())]:
        key.verify(encode_dsa_signature(priv.sign(MSG, mechanism=mech)), MSG, h)
    digest = hashes.Hash(hashes.SHA256())
    digest.update(MSG)
    h = digest.finalize()
    key.verify(encode_dsa_signature(priv.sign(h, mechanism=Mechanism.DSA)), h, utils.Prehashed(hashes.SHA256()))


@check("DSA: a key made by cryptography imported; signatures both ways")
def _():
    outside = dsa.generate_private_key(2048)
    pn = outside.private_numbers()
    p = pn.public_numbers.parameter_numbers
    common = {Attribute.KEY_TYPE: KeyType.DSA, Attribute.PRIME: int_bytes(p.p), Attribute.SUBPRIME: int_bytes(p.q),
              Attribute.BASE: int_bytes(p.g)}
    priv = session.create_object({Attribute.CLASS: ObjectClass.PRIVATE_KEY, Attribute.VALUE: int_bytes(pn.x),
                                  Attribute.SIGN: True, **common})
    pub = session.create_object({Attribute.CLASS: ObjectClass.PUBLIC_KEY, Attribute.VALUE: int_bytes(pn.public_numbers.y),
                                 Attribute.VERIFY: True, **common})
    sig = priv.sign(MSG, mechanism=Mechanism.DSA_SHA256)
    outside.public_key().verify(encode_dsa_signature(sig), MSG, hashes.SHA256())
    r, s = utils.decode_dss_signature(outside.sign(MSG, hashes.SHA256()))
    n = len(sig) // 2
    assert pub.verify(MSG, r.to_bytes(n, "big") + s.to_bytes(n, "big"), mechanism=Mechanism.DSA_SHA256)
    assert not pub.verify(MSG + b"?", r.to_bytes(n, "big") + s.to_bytes(n, "big"), mechanism=Mechanism.DSA_SHA256)


# ---- DH ----


def dh_derive(priv, other_y, length=256):
    key = priv.derive_key(KeyType.GENERIC_SECRET, length * 8, mechanism_param=int_bytes(other_y),
                          template={Attribute.SENSITIVE: False, Attribute.EXTRACTABLE: True})
    return bytes(key[Attribute.VALUE])


@check("DH: ffdhe2048 shared secret equal in the token and in cryptography")
def _():
    params = session.create_domain_parameters(KeyType.DH, {Attribute.PRIME: int_bytes(FFDHE2048), Attribute.BASE: b"\x02"}, local=True)
    pub, priv = params.generate_keypair()
    key = spki_of(pub)
    assert isinstance(key, dh.DHPublicKey)
    y = int.from_bytes(pub[Attribute.VALUE], "big")
    assert key.public_numbers().y == y
    peer = dh.DHParameterNumbers(FFDHE2048, 2).parameters().generate_private_key()
    theirs = peer.exchange(dh.DHPublicNumbers(y, dh.DHParameterNumbers(FFDHE2048, 2)).public_key())
    ours = dh_derive(priv, peer.public_key().public_numbers().y)
    assert ours == theirs, "shared secrets differ"


@check("DH: parameters generated in the token, secret equal with cryptography")
def _():
    params = session.generate_domain_parameters(KeyType.DH, 1024)
    p = int.from_bytes(params[Attribute.PRIME], "big")
    g = int.from_bytes(params[Attribute.BASE], "big")
    pub, priv = params.generate_keypair()
    peer = dh.DHParameterNumbers(p, g).parameters().generate_private_key()
    y = int.from_bytes(pub[Attribute.VALUE], "big")
    theirs = peer.exchange(dh.DHPublicNumbers(y, dh.DHParameterNumbers(p, g)).public_key())
    assert dh_derive(priv, peer.public_key().public_numbers().y, 128) == theirs


@check("DH: an out-of-range public value is CKR_MECHANISM_PARAM_INVALID")
def _():
    params = session.create_domain_parameters(KeyType.DH, {Attribute.PRIME: int_bytes(FFDHE2048), Attribute.BASE: b"\x02"}, local=True)
    _, priv = params.generate_keypair()
    try:
        dh_derive(priv, FFDHE2048 - 1)
    except pkcs11.exceptions.MechanismParamInvalid:
        return
    raise AssertionError("derived")


passed, failed = results.count(True), results.count(False)
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
