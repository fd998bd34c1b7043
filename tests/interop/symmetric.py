#!/usr/bin/env python3
"""Cross-checks of the symmetric mechanisms of the built PKCS#11 module against pyca/cryptography.

Usage: symmetric.py [MODULE]     (default: target/release/libanyhsm_pkcs11.so, else target/debug)

The module is driven through python-pkcs11. Ciphertexts made by the token are decrypted by
`cryptography` and the reverse (AES CBC, CBC-PAD, CTR, GCM, CCM, ECB, OFB, CFB8/128, CTS
round trips, ChaCha20-Poly1305, Triple DES); keys wrapped by the token are unwrapped by
`cryptography` and the reverse (AES-KW, AES-KWP and SoftHSM's AES_KEY_WRAP_PAD value, GCM and
CBC-PAD wraps); CMAC/HMAC tags and HKDF, PBKDF2 and SP 800-108 outputs (derived into extractable
generic secrets and read back through CKA_VALUE) are compared.

Without ANYHSM_TOKEN_DIR / ANYHSM_CONF set, the script uses a fresh temporary token directory and
a configuration with `test_token = true`, and initialises the token itself (C_InitToken,
C_InitPIN). Prints one PASS/FAIL line per check and ends with "N passed, M failed"; exits
non-zero if anything failed. Needs: pip install python-pkcs11 cryptography.
"""

import ctypes
import hashlib
import hmac
import os
import sys
import tempfile
import traceback

try:
    import pkcs11
    from pkcs11 import Attribute, KeyType, Mechanism, MechanismFlag, ObjectClass
    from pkcs11.exceptions import PKCS11Error
    from pkcs11.mechanisms import GCMParams
    from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
    from cryptography.hazmat.primitives import cmac, hashes, padding
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
    from cryptography.hazmat.primitives.ciphers.aead import AESCCM, AESGCM, ChaCha20Poly1305
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF, HKDFExpand
    from cryptography.hazmat.primitives.kdf.kbkdf import CounterLocation, KBKDFCMAC, KBKDFHMAC, Mode
    from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC
    from cryptography.hazmat.primitives.keywrap import (
        aes_key_unwrap,
        aes_key_unwrap_with_padding,
        aes_key_wrap,
        aes_key_wrap_with_padding,
    )
    try:  # the legacy modes moved in cryptography 47
        from cryptography.hazmat.decrepit.ciphers.modes import CFB, CFB8, OFB
    except ImportError:
        CFB, CFB8, OFB = modes.CFB, modes.CFB8, modes.OFB
except ImportError as e:  # pragma: no cover - reported as a failure
    print(f"FAIL import: {e} (pip install python-pkcs11 cryptography)")
    print("0 passed, 1 failed")
    sys.exit(1)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SO_PIN = b"so-pin-1234"
USER_PIN = "user-pin-1234"
LABEL = "symmetric"

PASSED = 0
FAILED = 0


def step(name, fn):
    """Runs one check; it passes when fn returns without raising."""
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


# ---- PKCS#11 values python-pkcs11 does not name ----

def _member(enum, name, value):
    """The enum member for `value`, adding a pseudo-member to `enum` if it lacks one."""
    try:
        return enum(value)
    except ValueError:
        m = int.__new__(enum, value)
        m._name_ = name
        m._value_ = value
        enum._value2member_map_[value] = m
        return m


CKM = {
    name: _member(Mechanism, name, value)
    for name, value in {
        "DES3_CMAC": 0x138,
        "SHA256_KEY_GEN": 0x4005,
        "CHACHA20_KEY_GEN": 0x1225,
        "CHACHA20_POLY1305": 0x4021,
        "HKDF_DERIVE": 0x402A,
        "HKDF_DATA": 0x402B,
        "HKDF_KEY_GEN": 0x402C,
        "SP800_108_COUNTER_KDF": 0x3AC,
        "SP800_108_FEEDBACK_KDF": 0x3AD,
        "SP800_108_DOUBLE_PIPELINE_KDF": 0x3AE,
        "AES_KEY_WRAP_PAD": 0x210A,
        "AES_KEY_WRAP_KWP": 0x210B,
    }.items()
}
CKK_CHACHA20 = _member(KeyType, "CHACHA20", 0x33)
CKK_HKDF = _member(KeyType, "HKDF", 0x42)


# ---- C structures of the mechanism parameters ----

CK_ULONG = ctypes.c_ulong
CK_BBOOL = ctypes.c_ubyte
CK_PTR = ctypes.c_void_p


class CK_ATTRIBUTE(ctypes.Structure):
    _fields_ = [("type", CK_ULONG), ("pValue", CK_PTR), ("ulValueLen", CK_ULONG)]


class CK_AES_CTR_PARAMS(ctypes.Structure):
    _fields_ = [("ulCounterBits", CK_ULONG), ("cb", ctypes.c_ubyte * 16)]


class CK_CCM_PARAMS(ctypes.Structure):
    _fields_ = [
        ("ulDataLen", CK_ULONG),
        ("pNonce", CK_PTR),
        ("ulNonceLen", CK_ULONG),
        ("pAAD", CK_PTR),
        ("ulAADLen", CK_ULONG),
        ("ulMACLen", CK_ULONG),
    ]


class CK_GCM_PARAMS(ctypes.Structure):
    _fields_ = [
        ("pIv", CK_PTR),
        ("ulIvLen", CK_ULONG),
        ("ulIvBits", CK_ULONG),
        ("pAAD", CK_PTR),
        ("ulAADLen", CK_ULONG),
        ("ulTagBits", CK_ULONG),
    ]


class CK_SALSA20_CHACHA20_POLY1305_PARAMS(ctypes.Structure):
    _fields_ = [("pNonce", CK_PTR), ("ulNonceLen", CK_ULONG), ("pAAD", CK_PTR), ("ulAADLen", CK_ULONG)]


class CK_HKDF_PARAMS(ctypes.Structure):
    _fields_ = [
        ("bExtract", CK_BBOOL),
        ("bExpand", CK_BBOOL),
        ("prfHashMechanism", CK_ULONG),
        ("ulSaltType", CK_ULONG),
        ("pSalt", CK_PTR),
        ("ulSaltLen", CK_ULONG),
        ("hSaltKey", CK_ULONG),
        ("pInfo", CK_PTR),
        ("ulInfoLen", CK_ULONG),
    ]


class CK_PKCS5_PBKD2_PARAMS2(ctypes.Structure):
    _fields_ = [
        ("saltSource", CK_ULONG),
        ("pSaltSourceData", CK_PTR),
        ("ulSaltSourceDataLen", CK_ULONG),
        ("iterations", CK_ULONG),
        ("prf", CK_ULONG),
        ("pPrfData", CK_PTR),
        ("ulPrfDataLen", CK_ULONG),
        ("pPassword", CK_PTR),
        ("ulPasswordLen", CK_ULONG),
    ]


class CK_PRF_DATA_PARAM(ctypes.Structure):
    _fields_ = [("type", CK_ULONG), ("pValue", CK_PTR), ("ulValueLen", CK_ULONG)]


class CK_SP800_108_COUNTER_FORMAT(ctypes.Structure):
    _fields_ = [("bLittleEndian", CK_BBOOL), ("ulWidthInBits", CK_ULONG)]


class CK_SP800_108_DKM_LENGTH_FORMAT(ctypes.Structure):
    _fields_ = [("dkmLengthMethod", CK_ULONG), ("bLittleEndian", CK_BBOOL), ("ulWidthInBits", CK_ULONG)]


class CK_DERIVED_KEY(ctypes.Structure):
    _fields_ = [("pTemplate", CK_PTR), ("ulAttributeCount", CK_ULONG), ("phKey", CK_PTR)]


class CK_SP800_108_KDF_PARAMS(ctypes.Structure):
    _fields_ = [
        ("prfType", CK_ULONG),
        ("ulNumberOfDataParams", CK_ULONG),
        ("pDataParams", CK_PTR),
        ("ulAdditionalDerivedKeys", CK_ULONG),
        ("pAdditionalDerivedKeys", CK_PTR),
    ]


class CK_SP800_108_FEEDBACK_KDF_PARAMS(ctypes.Structure):
    _fields_ = [
        ("prfType", CK_ULONG),
        ("ulNumberOfDataParams", CK_ULONG),
        ("pDataParams", CK_PTR),
        ("ulIVLen", CK_ULONG),
        ("pIV", CK_PTR),
        ("ulAdditionalDerivedKeys", CK_ULONG),
        ("pAdditionalDerivedKeys", CK_PTR),
    ]


class Param:
    """A C structure as the raw `mechanism_param` bytes python-pkcs11 passes through, with
    the buffers its pointers point to kept alive."""

    def __init__(self):
        self.keep = []

    def buf(self, data):
        if not data:
            return None, 0
        b = ctypes.create_string_buffer(bytes(data), len(data))
        self.keep.append(b)
        return ctypes.addressof(b), len(data)

    def obj(self, cobj):
        self.keep.append(cobj)
        return ctypes.addressof(cobj), ctypes.sizeof(cobj)

    def bytes(self, struct):
        self.keep.append(struct)
        return ctypes.string_at(ctypes.addressof(struct), ctypes.sizeof(struct))


def ctr_param(block, bits):
    return bytes(CK_AES_CTR_PARAMS(bits, (ctypes.c_ubyte * 16)(*block)))


def gcm_param(p, iv, aad, tag_bits):
    piv, liv = p.buf(iv)
    paad, laad = p.buf(aad)
    return p.bytes(CK_GCM_PARAMS(piv, liv, liv * 8, paad, laad, tag_bits))


def ccm_param(p, data_len, nonce, aad, mac_len):
    pn, ln = p.buf(nonce)
    pa, la = p.buf(aad)
    return p.bytes(CK_CCM_PARAMS(data_len, pn, ln, pa, la, mac_len))


def chacha_param(p, nonce, aad):
    pn, ln = p.buf(nonce)
    pa, la = p.buf(aad)
    return p.bytes(CK_SALSA20_CHACHA20_POLY1305_PARAMS(pn, ln, pa, la))


CKF_HKDF_SALT_NULL, CKF_HKDF_SALT_DATA, CKF_HKDF_SALT_KEY = 1, 2, 4
CKM_SHA_1, CKM_SHA256, CKM_SHA384, CKM_SHA512 = 0x220, 0x250, 0x260, 0x270
CKM_SHA256_HMAC, CKM_AES_CMAC = 0x251, 0x108A


def hkdf_param(p, extract, expand, prf, salt_type, salt=b"", salt_key=0, info=b""):
    ps, ls = p.buf(salt)
    pi, li = p.buf(info)
    return p.bytes(CK_HKDF_PARAMS(extract, expand, prf, salt_type, ps, ls, salt_key, pi, li))


def pbkdf2_param(p, password, salt, iterations, prf):
    ps, ls = p.buf(salt)
    pp, lp = p.buf(password)
    return p.bytes(CK_PKCS5_PBKD2_PARAMS2(1, ps, ls, iterations, prf, None, 0, pp, lp))


# ---- token set-up ----

def find_module():
    if len(sys.argv) > 1:
        return os.path.abspath(sys.argv[1])
    for profile in ("release", "debug"):
        path = os.path.join(ROOT, "target", profile, "libanyhsm_pkcs11.so")
        if os.path.exists(path):
            return path
    raise SystemExit("no module: build it with cargo build -p anyhsm-pkcs11, or pass its path")


def init_token(module):
    """C_InitToken and C_InitPIN through the raw C ABI (python-pkcs11 has no C_InitToken)."""
    lib = ctypes.CDLL(module)

    def call(name, *args):
        rv = getattr(lib, name)(*args)
        if rv != 0:
            raise RuntimeError(f"{name}: CKR 0x{rv:x}")

    call("C_Initialize", None)
    try:
        count = CK_ULONG(0)
        call("C_GetSlotList", CK_BBOOL(0), None, ctypes.byref(count))
        slots = (CK_ULONG * count.value)()
        call("C_GetSlotList", CK_BBOOL(0), slots, ctypes.byref(count))
        slot = slots[count.value - 1]  # the empty slot is listed last
        label = LABEL.encode().ljust(32, b" ")
        call("C_InitToken", CK_ULONG(slot), SO_PIN, CK_ULONG(len(SO_PIN)), label)
        session = CK_ULONG(0)
        call("C_OpenSession", CK_ULONG(slot), CK_ULONG(6), None, None, ctypes.byref(session))
        call("C_Login", session, CK_ULONG(0), SO_PIN, CK_ULONG(len(SO_PIN)))
        pin = USER_PIN.encode()
        call("C_InitPIN", session, pin, CK_ULONG(len(pin)))
        call("C_CloseSession", session)
    finally:
        lib.C_Finalize(None)


# ---- helpers on the token ----

def readable():
    return {Attribute.SENSITIVE: False, Attribute.EXTRACTABLE: True}


def import_secret(session, key_type, value, **extra):
    t = {
        Attribute.CLASS: ObjectClass.SECRET_KEY,
        Attribute.KEY_TYPE: key_type,
        Attribute.VALUE: value,
        Attribute.ENCRYPT: True,
        Attribute.DECRYPT: True,
        Attribute.SIGN: True,
        Attribute.VERIFY: True,
        Attribute.WRAP: True,
        Attribute.UNWRAP: True,
        Attribute.DERIVE: True,
        Attribute.TOKEN: False,
    }
    t.update(readable())
    t.update(extra)
    return session.create_object(t)


def value(key):
    return bytes(key[Attribute.VALUE])


def crypt(algorithm, mode, data, encrypt):
    c = Cipher(algorithm, mode)
    op = c.encryptor() if encrypt else c.decryptor()
    return op.update(data) + op.finalize()


def kbkdf_reference(key, mode, fixed, length, iv=b"", counter_bits=32):
    """SP 800-108 with HMAC-SHA256, written out: the counter before the fixed data (counter
    mode), or after the chaining value (feedback mode)."""
    out, chain, i = b"", iv, 1
    while len(out) < length:
        ctr = i.to_bytes(counter_bits // 8, "big")
        msg = ctr + fixed if mode == "counter" else chain + ctr + fixed
        chain = hmac.new(key, msg, hashlib.sha256).digest()
        out += chain
        i += 1
    return out[:length]


# ---- the checks ----

def main():
    module = find_module()
    work = tempfile.mkdtemp(prefix="anyhsm-sym-")
    if "ANYHSM_TOKEN_DIR" not in os.environ:
        os.environ["ANYHSM_TOKEN_DIR"] = os.path.join(work, "tokens")
        os.makedirs(os.environ["ANYHSM_TOKEN_DIR"])
    if "ANYHSM_CONF" not in os.environ:
        conf = os.path.join(work, "anyhsm.toml")
        with open(conf, "w") as f:
            f.write("test_token = true\n")
        os.environ["ANYHSM_CONF"] = conf
    print(f"module {module}", flush=True)
    init_token(module)

    lib = pkcs11.lib(module)
    token = lib.get_token(token_label=LABEL)
    session = token.open(rw=True, user_pin=USER_PIN)
    rnd = os.urandom

    def mechanisms_listed():
        listed = set(int(m) for m in token.slot.get_mechanisms())
        want = [
            Mechanism.AES_KEY_GEN, Mechanism.AES_ECB, Mechanism.AES_CBC, Mechanism.AES_CBC_PAD,
            Mechanism.AES_CTR, Mechanism.AES_GCM, Mechanism.AES_CCM, Mechanism.AES_CTS,
            Mechanism.AES_OFB, Mechanism.AES_CFB8, Mechanism.AES_CFB128, Mechanism.AES_KEY_WRAP,
            CKM["AES_KEY_WRAP_PAD"], CKM["AES_KEY_WRAP_KWP"], Mechanism.AES_CMAC,
            Mechanism.AES_CMAC_GENERAL, Mechanism.AES_MAC, Mechanism.AES_ECB_ENCRYPT_DATA,
            Mechanism.AES_CBC_ENCRYPT_DATA, CKM["CHACHA20_KEY_GEN"], CKM["CHACHA20_POLY1305"],
            Mechanism.DES2_KEY_GEN, Mechanism.DES3_KEY_GEN, Mechanism.DES3_ECB, Mechanism.DES3_CBC,
            Mechanism.DES3_CBC_PAD, CKM["DES3_CMAC"], Mechanism.SHA256_HMAC_GENERAL,
            CKM["SHA256_KEY_GEN"], CKM["HKDF_DERIVE"], CKM["HKDF_DATA"], CKM["HKDF_KEY_GEN"],
            Mechanism.PKCS5_PBKD2, CKM["SP800_108_COUNTER_KDF"], CKM["SP800_108_FEEDBACK_KDF"],
            CKM["SP800_108_DOUBLE_PIPELINE_KDF"], Mechanism.CONCATENATE_BASE_AND_KEY,
            Mechanism.CONCATENATE_BASE_AND_DATA, Mechanism.CONCATENATE_DATA_AND_BASE,
            Mechanism.XOR_BASE_AND_DATA, Mechanism.EXTRACT_KEY_FROM_KEY,
        ]
        missing = [m for m in want if int(m) not in listed]
        check(not missing, f"not listed: {missing}")
        check(0x121 not in listed and 0x120 not in listed, "single DES must not be listed")

    step("C_GetMechanismList lists every symmetric mechanism, no single DES", mechanisms_listed)

    aes = {n: import_secret(session, KeyType.AES, rnd(n)) for n in (16, 24, 32)}

    def block_modes():
        for n, key in aes.items():
            kv = value(key)
            for length in (16, 48, 4096):
                pt = rnd(length)
                iv = rnd(16)
                ct = key.encrypt(pt, mechanism=Mechanism.AES_CBC, mechanism_param=iv)
                check(crypt(algorithms.AES(kv), modes.CBC(iv), ct, False) == pt, f"AES-{n*8}-CBC token->crypto")
                theirs = crypt(algorithms.AES(kv), modes.CBC(iv), pt, True)
                check(key.decrypt(theirs, mechanism=Mechanism.AES_CBC, mechanism_param=iv) == pt, "CBC crypto->token")
                ct = key.encrypt(pt, mechanism=Mechanism.AES_ECB)
                check(crypt(algorithms.AES(kv), modes.ECB(), ct, False) == pt, "ECB")
            for length in (0, 1, 15, 16, 17, 1000):
                pt = rnd(length)
                iv = rnd(16)
                ct = key.encrypt(pt, mechanism=Mechanism.AES_CBC_PAD, mechanism_param=iv)
                unpadder = padding.PKCS7(128).unpadder()
                got = unpadder.update(crypt(algorithms.AES(kv), modes.CBC(iv), ct, False)) + unpadder.finalize()
                check(got == pt, f"CBC-PAD token->crypto, {length} bytes")
                padder = padding.PKCS7(128).padder()
                theirs = crypt(algorithms.AES(kv), modes.CBC(iv), padder.update(pt) + padder.finalize(), True)
                check(key.decrypt(theirs, mechanism=Mechanism.AES_CBC_PAD, mechanism_param=iv) == pt, "CBC-PAD crypto->token")
                for name, mech, mode in (
                    ("OFB", Mechanism.AES_OFB, OFB(iv)),
                    ("CFB8", Mechanism.AES_CFB8, CFB8(iv)),
                    ("CFB128", Mechanism.AES_CFB128, CFB(iv)),
                ):
                    ct = key.encrypt(pt, mechanism=mech, mechanism_param=iv)
                    check(crypt(algorithms.AES(kv), mode, ct, False) == pt, f"{name} token->crypto")
                    theirs = crypt(algorithms.AES(kv), mode, pt, True)
                    check(key.decrypt(theirs, mechanism=mech, mechanism_param=iv) == pt, f"{name} crypto->token")

    step("AES ECB/CBC/CBC-PAD/OFB/CFB8/CFB128, 128/192/256: token <-> cryptography", block_modes)

    def ctr():
        for n, key in aes.items():
            kv = value(key)
            for length in (1, 16, 33, 5000):
                pt = rnd(length)
                cb = rnd(16)
                ct = key.encrypt(pt, mechanism=Mechanism.AES_CTR, mechanism_param=ctr_param(cb, 128))
                check(crypt(algorithms.AES(kv), modes.CTR(cb), ct, False) == pt, f"AES-{n*8}-CTR token->crypto")
                theirs = crypt(algorithms.AES(kv), modes.CTR(cb), pt, True)
                got = key.decrypt(theirs, mechanism=Mechanism.AES_CTR, mechanism_param=ctr_param(cb, 128))
                check(got == pt, "CTR crypto->token")
        # A 32-bit counter field from 2^32 - 2 allows two blocks and refuses a third.
        key = aes[16]
        cb = rnd(12) + b"\xff\xff\xff\xfe"
        ok = key.encrypt(b"\0" * 32, mechanism=Mechanism.AES_CTR, mechanism_param=ctr_param(cb, 32))
        check(crypt(algorithms.AES(value(key)), modes.CTR(cb), ok, False) == b"\0" * 32, "CTR at the field's end")
        try:
            key.encrypt(b"\0" * 33, mechanism=Mechanism.AES_CTR, mechanism_param=ctr_param(cb, 32))
        except PKCS11Error as e:
            check(type(e).__name__ == "DataLenRange", f"wrapped counter: {type(e).__name__}")
        else:
            raise AssertionError("a counter that would wrap was accepted")

    step("AES-CTR: token <-> cryptography; the counter field never wraps (CKR_DATA_LEN_RANGE)", ctr)

    def gcm():
        for n, key in aes.items():
            kv = value(key)
            for iv_len, tag_bits in ((12, 128), (16, 128), (12, 96), (8, 64)):
                pt, iv, aad = rnd(100), rnd(iv_len), rnd(20)
                p = Param()
                ct = key.encrypt(pt, mechanism=Mechanism.AES_GCM, mechanism_param=gcm_param(p, iv, aad, tag_bits))
                tag = ct[-tag_bits // 8:]
                dec = Cipher(algorithms.AES(kv), modes.GCM(iv, tag, min_tag_length=len(tag))).decryptor()
                dec.authenticate_additional_data(aad)
                check(dec.update(ct[: -len(tag)]) + dec.finalize() == pt, f"AES-{n*8}-GCM iv{iv_len} t{tag_bits} token->crypto")
                enc = Cipher(algorithms.AES(kv), modes.GCM(iv)).encryptor()
                enc.authenticate_additional_data(aad)
                theirs = enc.update(pt) + enc.finalize() + enc.tag[: tag_bits // 8]
                p = Param()
                got = key.decrypt(theirs, mechanism=Mechanism.AES_GCM, mechanism_param=gcm_param(p, iv, aad, tag_bits))
                check(got == pt, "GCM crypto->token")
            # Multi-part encryption streams and gives the one-shot result.
            pt, iv = rnd(1000), rnd(12)
            p = Param()
            parts = list(key.encrypt([pt[:333], pt[333:700], pt[700:]], mechanism=Mechanism.AES_GCM,
                                     mechanism_param=gcm_param(p, iv, b"", 128)))
            check(AESGCM(kv).decrypt(iv, b"".join(parts), None) == pt, "multi-part GCM")

    step("AES-GCM (IV 8/12/16, tags 64-128, AAD, multi-part): token <-> cryptography", gcm)

    def ccm():
        for n, key in aes.items():
            kv = value(key)
            for nonce_len, tag_len in ((7, 16), (12, 8), (13, 4)):
                pt, nonce, aad = rnd(64), rnd(nonce_len), rnd(9)
                p = Param()
                ct = key.encrypt(pt, mechanism=Mechanism.AES_CCM, mechanism_param=ccm_param(p, len(pt), nonce, aad, tag_len))
                check(AESCCM(kv, tag_length=tag_len).decrypt(nonce, ct, aad) == pt, f"AES-{n*8}-CCM token->crypto")
                theirs = AESCCM(kv, tag_length=tag_len).encrypt(nonce, pt, aad)
                p = Param()
                got = key.decrypt(theirs, mechanism=Mechanism.AES_CCM, mechanism_param=ccm_param(p, len(pt), nonce, aad, tag_len))
                check(got == pt, "CCM crypto->token")

    step("AES-CCM (nonces 7/12/13, MACs 4-16): token <-> cryptography", ccm)

    def cts():
        key = aes[32]
        for length in (16, 17, 31, 32, 33, 100):
            pt, iv = rnd(length), rnd(16)
            ct = key.encrypt(pt, mechanism=Mechanism.AES_CTS, mechanism_param=iv)
            check(len(ct) == length, "CTS keeps the length")
            check(key.decrypt(ct, mechanism=Mechanism.AES_CTS, mechanism_param=iv) == pt, "CTS round trip")
            # CS1: every block but the last two is plain CBC.
            full = (length - 1) // 16 - 1
            if full > 0:
                cbc = crypt(algorithms.AES(value(key)), modes.CBC(iv), pt[: full * 16], True)
                check(ct[: full * 16] == cbc, "CTS prefix is CBC")
            if length % 16 == 0:
                check(ct == crypt(algorithms.AES(value(key)), modes.CBC(iv), pt, True), "CS1 is CBC on whole blocks")

    step("AES-CTS (CS1): round trips; CBC on whole blocks (cryptography)", cts)

    def chacha():
        kv = rnd(32)
        key = import_secret(session, CKK_CHACHA20, kv)
        for length in (0, 1, 64, 1000):
            pt, nonce, aad = rnd(length), rnd(12), rnd(12)
            p = Param()
            ct = key.encrypt(pt, mechanism=CKM["CHACHA20_POLY1305"], mechanism_param=chacha_param(p, nonce, aad))
            check(ChaCha20Poly1305(kv).decrypt(nonce, ct, aad) == pt, "token->crypto")
            theirs = ChaCha20Poly1305(kv).encrypt(nonce, pt, aad)
            p = Param()
            got = key.decrypt(theirs, mechanism=CKM["CHACHA20_POLY1305"], mechanism_param=chacha_param(p, nonce, aad))
            check(got == pt, "crypto->token")
        gen = session.generate_key(CKK_CHACHA20, 256, mechanism=CKM["CHACHA20_KEY_GEN"], template=readable(),
                                   capabilities=MechanismFlag.ENCRYPT | MechanismFlag.DECRYPT)
        check(len(value(gen)) == 32, "CKM_CHACHA20_KEY_GEN makes 32 bytes")

    step("ChaCha20-Poly1305: token <-> cryptography; CKM_CHACHA20_KEY_GEN", chacha)

    def tdes():
        for kt, mech, n in ((KeyType.DES3, Mechanism.DES3_KEY_GEN, 24), (KeyType.DES2, Mechanism.DES2_KEY_GEN, 16)):
            key = session.generate_key(kt, mechanism=mech, template={**readable(), Attribute.ENCRYPT: True, Attribute.DECRYPT: True})
            kv = value(key)
            check(len(kv) == n and all(bin(b).count("1") % 2 == 1 for b in kv), f"{kt.name} odd parity")
            kv = kv if n == 24 else kv + kv[:8]  # two-key TDEA is K1 K2 K1
            for length in (8, 64):
                pt, iv = rnd(length), rnd(8)
                ct = key.encrypt(pt, mechanism=Mechanism.DES3_CBC, mechanism_param=iv)
                check(crypt(TripleDES(kv), modes.CBC(iv), ct, False) == pt, f"{kt.name} CBC token->crypto")
                theirs = crypt(TripleDES(kv), modes.CBC(iv), pt, True)
                check(key.decrypt(theirs, mechanism=Mechanism.DES3_CBC, mechanism_param=iv) == pt, "CBC crypto->token")
                ct = key.encrypt(pt, mechanism=Mechanism.DES3_ECB)
                check(crypt(TripleDES(kv), modes.ECB(), ct, False) == pt, "ECB")
            pt, iv = rnd(13), rnd(8)
            ct = key.encrypt(pt, mechanism=Mechanism.DES3_CBC_PAD, mechanism_param=iv)
            unpadder = padding.PKCS7(64).unpadder()
            got = unpadder.update(crypt(TripleDES(kv), modes.CBC(iv), ct, False)) + unpadder.finalize()
            check(got == pt, "CBC-PAD")

    step("Triple DES (2- and 3-key, parity) ECB/CBC/CBC-PAD: token <-> cryptography", tdes)

    def macs():
        for n, key in aes.items():
            msg = rnd(77)
            c = cmac.CMAC(algorithms.AES(value(key)))
            c.update(msg)
            want = c.finalize()
            check(key.sign(msg, mechanism=Mechanism.AES_CMAC) == want, f"AES-{n*8}-CMAC")
            check(key.verify(msg, want, mechanism=Mechanism.AES_CMAC), "CMAC verify")
            check(not key.verify(msg, bytes(16), mechanism=Mechanism.AES_CMAC), "CMAC wrong tag")
        d3 = import_secret(session, KeyType.DES3, rnd(24))
        c = cmac.CMAC(TripleDES(value(d3)))
        c.update(b"tdea cmac")
        check(d3.sign(b"tdea cmac", mechanism=CKM["DES3_CMAC"]) == c.finalize(), "DES3-CMAC")
        hk = session.generate_key(_member(KeyType, "SHA256_HMAC", 0x2B), 256, mechanism=CKM["SHA256_KEY_GEN"],
                                  template={**readable(), Attribute.SIGN: True},
                                  capabilities=MechanismFlag.SIGN | MechanismFlag.VERIFY)
        want = hmac.new(value(hk), b"data", hashlib.sha256).digest()
        check(hk.sign(b"data", mechanism=Mechanism.SHA256_HMAC) == want, "HMAC-SHA256 with a CKK_SHA256_HMAC key")
        check(hk.sign(b"data", mechanism=Mechanism.SHA256_HMAC_GENERAL, mechanism_param=(10).to_bytes(8, sys.byteorder)) == want[:10],
              "HMAC _GENERAL")

    step("AES-CMAC, DES3-CMAC, HMAC (+_GENERAL, CKM_SHA256_KEY_GEN) == cryptography/hmac", macs)

    def key_wrap():
        kek = aes[32]
        kekv = value(kek)
        for n in (16, 24, 32):
            target = import_secret(session, KeyType.AES, rnd(n))
            blob = kek.wrap_key(target, mechanism=Mechanism.AES_KEY_WRAP)
            check(aes_key_unwrap(kekv, blob) == value(target), f"KW token->crypto ({n})")
            theirs = aes_key_wrap(kekv, value(target))
            back = kek.unwrap_key(ObjectClass.SECRET_KEY, KeyType.AES, theirs, mechanism=Mechanism.AES_KEY_WRAP, template=readable())
            check(value(back) == value(target), "KW crypto->token")
        for length in (1, 7, 20, 33, 64):
            target = import_secret(session, KeyType.GENERIC_SECRET, rnd(length))
            for mech in (CKM["AES_KEY_WRAP_KWP"], CKM["AES_KEY_WRAP_PAD"]):
                blob = kek.wrap_key(target, mechanism=mech)
                check(aes_key_unwrap_with_padding(kekv, blob) == value(target), f"{mech.name} token->crypto ({length})")
                theirs = aes_key_wrap_with_padding(kekv, value(target))
                back = kek.unwrap_key(ObjectClass.SECRET_KEY, KeyType.GENERIC_SECRET, theirs, mechanism=mech, template=readable())
                check(value(back) == value(target), f"{mech.name} crypto->token")
        # A tampered blob is refused.
        blob = bytearray(aes_key_wrap(kekv, rnd(16)))
        blob[3] ^= 1
        try:
            kek.unwrap_key(ObjectClass.SECRET_KEY, KeyType.AES, bytes(blob), mechanism=Mechanism.AES_KEY_WRAP)
        except PKCS11Error as e:
            check(type(e).__name__ == "WrappedKeyInvalid", type(e).__name__)
        else:
            raise AssertionError("tampered KW blob accepted")

    step("AES-KW / AES-KWP / AES_KEY_WRAP_PAD: token <-> cryptography; tampering refused", key_wrap)

    def aead_wraps():
        kek = aes[16]
        kekv = value(kek)
        target = import_secret(session, KeyType.GENERIC_SECRET, rnd(40))
        iv = rnd(12)
        p = Param()
        blob = kek.wrap_key(target, mechanism=Mechanism.AES_GCM, mechanism_param=gcm_param(p, iv, b"wrap", 128))
        check(AESGCM(kekv).decrypt(iv, blob, b"wrap") == value(target), "GCM wrap")
        theirs = AESGCM(kekv).encrypt(iv, value(target), b"wrap")
        p = Param()
        back = kek.unwrap_key(ObjectClass.SECRET_KEY, KeyType.GENERIC_SECRET, theirs, mechanism=Mechanism.AES_GCM,
                              mechanism_param=gcm_param(p, iv, b"wrap", 128), template=readable())
        check(value(back) == value(target), "GCM unwrap")
        iv = rnd(16)
        blob = kek.wrap_key(target, mechanism=Mechanism.AES_CBC_PAD, mechanism_param=iv)
        unpadder = padding.PKCS7(128).unpadder()
        got = unpadder.update(crypt(algorithms.AES(kekv), modes.CBC(iv), blob, False)) + unpadder.finalize()
        check(got == value(target), "CBC-PAD wrap")

    step("AES-GCM and AES-CBC-PAD wrapping: decrypted by cryptography and the reverse", aead_wraps)

    def hkdf():
        ikm = rnd(32)
        base = import_secret(session, KeyType.GENERIC_SECRET, ikm)
        for prf, alg in ((CKM_SHA256, hashes.SHA256()), (CKM_SHA384, hashes.SHA384()), (CKM_SHA_1, hashes.SHA1())):
            salt, info = rnd(16), rnd(10)
            p = Param()
            k = base.derive_key(KeyType.GENERIC_SECRET, 42 * 8, mechanism=CKM["HKDF_DERIVE"],
                                mechanism_param=hkdf_param(p, 1, 1, prf, CKF_HKDF_SALT_DATA, salt=salt, info=info),
                                template=readable())
            want = HKDF(algorithm=alg, length=42, salt=salt, info=info).derive(ikm)
            check(value(k) == want, f"HKDF {alg.name}")
        # No salt; a salt key; expand only.
        p = Param()
        k = base.derive_key(KeyType.GENERIC_SECRET, 32 * 8, mechanism=CKM["HKDF_DERIVE"],
                            mechanism_param=hkdf_param(p, 1, 1, CKM_SHA256, CKF_HKDF_SALT_NULL), template=readable())
        check(value(k) == HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=None).derive(ikm), "HKDF, null salt")
        salt = rnd(20)
        salt_key = import_secret(session, KeyType.GENERIC_SECRET, salt)
        p = Param()
        k = base.derive_key(KeyType.AES, 32 * 8, mechanism=CKM["HKDF_DERIVE"],
                            mechanism_param=hkdf_param(p, 1, 1, CKM_SHA512, CKF_HKDF_SALT_KEY, salt_key=salt_key.handle, info=b"x"),
                            template=readable())
        check(value(k) == HKDF(algorithm=hashes.SHA512(), length=32, salt=salt, info=b"x").derive(ikm), "HKDF, salt key, AES out")
        p = Param()
        k = base.derive_key(KeyType.GENERIC_SECRET, 50 * 8, mechanism=CKM["HKDF_DERIVE"],
                            mechanism_param=hkdf_param(p, 0, 1, CKM_SHA256, CKF_HKDF_SALT_NULL, info=b"expand"), template=readable())
        check(value(k) == HKDFExpand(algorithm=hashes.SHA256(), length=50, info=b"expand").derive(ikm), "HKDF expand only")
        gen = session.generate_key(CKK_HKDF, 32 * 8, mechanism=CKM["HKDF_KEY_GEN"], template=readable(),
                                   capabilities=MechanismFlag.DERIVE)
        check(len(value(gen)) == 32, "CKM_HKDF_KEY_GEN")

    step("HKDF (SHA-1/256/384/512, salt data/null/key, expand only) == cryptography", hkdf)

    def pbkdf2():
        for prf, alg in ((1, hashes.SHA1()), (4, hashes.SHA256()), (6, hashes.SHA512())):
            pw, salt = b"correct horse battery staple", rnd(16)
            p = Param()
            k = session.generate_key(KeyType.GENERIC_SECRET, 40 * 8, mechanism=Mechanism.PKCS5_PBKD2,
                                     mechanism_param=pbkdf2_param(p, pw, salt, 1000, prf), template=readable())
            want = PBKDF2HMAC(algorithm=alg, length=40, salt=salt, iterations=1000).derive(pw)
            check(value(k) == want, f"PBKDF2-{alg.name}")

    step("PBKDF2 (HMAC-SHA-1/256/512, CK_PKCS5_PBKD2_PARAMS2) == cryptography", pbkdf2)

    def sp800_108():
        kv = rnd(32)
        base = import_secret(session, KeyType.GENERIC_SECRET, kv)
        label, context = b"label", b"context"
        fixed = label + b"\x00" + context
        p = Param()
        it_fmt = CK_SP800_108_COUNTER_FORMAT(0, 32)
        dkm_fmt = CK_SP800_108_DKM_LENGTH_FORMAT(1, 0, 32)
        pf, lf = p.buf(fixed)
        pi, li = p.obj(it_fmt)
        pd, ld = p.obj(dkm_fmt)
        data = (CK_PRF_DATA_PARAM * 3)(CK_PRF_DATA_PARAM(1, pi, li), CK_PRF_DATA_PARAM(4, pf, lf), CK_PRF_DATA_PARAM(3, pd, ld))
        p.keep.append(data)
        param = p.bytes(CK_SP800_108_KDF_PARAMS(CKM_SHA256_HMAC, 3, ctypes.addressof(data), 0, None))
        k = base.derive_key(KeyType.GENERIC_SECRET, 48 * 8, mechanism=CKM["SP800_108_COUNTER_KDF"], mechanism_param=param,
                            template=readable())
        want = KBKDFHMAC(algorithm=hashes.SHA256(), mode=Mode.CounterMode, length=48, rlen=4, llen=4,
                         location=CounterLocation.BeforeFixed, label=label, context=context, fixed=None).derive(kv)
        check(value(k) == want, "counter mode, HMAC-SHA256 == cryptography KBKDFHMAC")

        aes_k = aes[16]
        p = Param()
        it8 = CK_SP800_108_COUNTER_FORMAT(0, 8)
        pi, li = p.obj(it8)
        pf, lf = p.buf(fixed)
        data = (CK_PRF_DATA_PARAM * 2)(CK_PRF_DATA_PARAM(1, pi, li), CK_PRF_DATA_PARAM(4, pf, lf))
        p.keep.append(data)
        param = p.bytes(CK_SP800_108_KDF_PARAMS(CKM_AES_CMAC, 2, ctypes.addressof(data), 0, None))
        k = aes_k.derive_key(KeyType.GENERIC_SECRET, 32 * 8, mechanism=CKM["SP800_108_COUNTER_KDF"], mechanism_param=param,
                             template=readable())
        want = KBKDFCMAC(algorithm=algorithms.AES, mode=Mode.CounterMode, length=32, rlen=1, llen=None,
                         location=CounterLocation.BeforeFixed, label=None, context=None, fixed=fixed).derive(value(aes_k))
        check(value(k) == want, "counter mode, AES-CMAC == cryptography KBKDFCMAC")

        # Feedback mode (IV, 32-bit counter after the chaining value) against a reference.
        p = Param()
        iv = rnd(32)
        ctr_fmt = CK_SP800_108_COUNTER_FORMAT(0, 32)
        pc, lc = p.obj(ctr_fmt)
        pf, lf = p.buf(fixed)
        piv, liv = p.buf(iv)
        data = (CK_PRF_DATA_PARAM * 3)(CK_PRF_DATA_PARAM(1, None, 0), CK_PRF_DATA_PARAM(2, pc, lc), CK_PRF_DATA_PARAM(4, pf, lf))
        p.keep.append(data)
        param = p.bytes(CK_SP800_108_FEEDBACK_KDF_PARAMS(CKM_SHA256_HMAC, 3, ctypes.addressof(data), liv, piv, 0, None))
        k = base.derive_key(KeyType.GENERIC_SECRET, 70 * 8, mechanism=CKM["SP800_108_FEEDBACK_KDF"], mechanism_param=param,
                            template=readable())
        check(value(k) == kbkdf_reference(kv, "feedback", fixed, 70, iv=iv), "feedback mode == reference")

        # Additional derived keys: each starts on a new PRF block.
        p = Param()
        it_fmt = CK_SP800_108_COUNTER_FORMAT(0, 32)
        pi, li = p.obj(it_fmt)
        pf, lf = p.buf(fixed)
        data = (CK_PRF_DATA_PARAM * 2)(CK_PRF_DATA_PARAM(1, pi, li), CK_PRF_DATA_PARAM(4, pf, lf))
        p.keep.append(data)
        handles = (CK_ULONG * 2)()
        p.keep.append(handles)
        extra = []
        for i, n in enumerate((16, 40)):
            vals = [
                (0x0, ctypes.c_ulong(4)),      # CKA_CLASS = CKO_SECRET_KEY
                (0x100, ctypes.c_ulong(0x10)),  # CKA_KEY_TYPE = CKK_GENERIC_SECRET
                (0x161, ctypes.c_ulong(n)),     # CKA_VALUE_LEN
                (0x103, ctypes.c_ubyte(0)),     # CKA_SENSITIVE = false
                (0x162, ctypes.c_ubyte(1)),     # CKA_EXTRACTABLE = true
                (0x3, ctypes.create_string_buffer(f"extra-{i}".encode(), 7)),  # CKA_LABEL
            ]
            attrs = (CK_ATTRIBUTE * len(vals))(*[CK_ATTRIBUTE(t, ctypes.addressof(v), ctypes.sizeof(v)) for t, v in vals])
            p.keep.extend(v for _, v in vals)
            p.keep.append(attrs)
            extra.append(CK_DERIVED_KEY(ctypes.addressof(attrs), len(vals), ctypes.addressof(handles) + i * ctypes.sizeof(CK_ULONG)))
        dk = (CK_DERIVED_KEY * 2)(*extra)
        p.keep.append(dk)
        param = p.bytes(CK_SP800_108_KDF_PARAMS(CKM_SHA256_HMAC, 2, ctypes.addressof(data), 2, ctypes.addressof(dk)))
        k = base.derive_key(KeyType.GENERIC_SECRET, 16 * 8, mechanism=CKM["SP800_108_COUNTER_KDF"], mechanism_param=param,
                            template=readable())
        stream = kbkdf_reference(kv, "counter", fixed, 128)
        check(value(k) == stream[:16], "main key")
        check(all(handles[i] != 0 for i in range(2)), "additional handles written back")
        for i, (start, n) in enumerate(((32, 16), (64, 40))):
            got = session.get_key(label=f"extra-{i}")
            check(value(got) == stream[start:start + n], f"additional key {i}")

    step("SP 800-108 counter (HMAC, CMAC), feedback, additional keys == cryptography/reference", sp800_108)

    def simple_derivations():
        a, b = rnd(16), rnd(16)
        ka = import_secret(session, KeyType.GENERIC_SECRET, a)
        kb = import_secret(session, KeyType.GENERIC_SECRET, b)
        k = ka.derive_key(KeyType.GENERIC_SECRET, 32 * 8, mechanism=Mechanism.CONCATENATE_BASE_AND_KEY,
                          mechanism_param=kb.handle.to_bytes(8, sys.byteorder), template=readable())
        check(value(k) == a + b, "CONCATENATE_BASE_AND_KEY")
        key = aes[16]
        data = rnd(32)
        k = key.derive_key(KeyType.AES, 32 * 8, mechanism=Mechanism.AES_ECB_ENCRYPT_DATA, mechanism_param=data,
                           template=readable())
        check(value(k) == crypt(algorithms.AES(value(key)), modes.ECB(), data, True), "AES_ECB_ENCRYPT_DATA")
        iv = rnd(16)
        k = key.derive_key(KeyType.AES, 16 * 8, mechanism=Mechanism.AES_CBC_ENCRYPT_DATA, mechanism_param=(iv, data[:16]),
                           template=readable())
        check(value(k) == crypt(algorithms.AES(value(key)), modes.CBC(iv), data[:16], True), "AES_CBC_ENCRYPT_DATA")

    step("CONCATENATE_BASE_AND_KEY, AES_ECB/CBC_ENCRYPT_DATA == cryptography", simple_derivations)

    session.close()
    print(f"{PASSED} passed, {FAILED} failed")
    return 0 if FAILED == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
