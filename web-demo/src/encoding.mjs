// Byte and key encodings the page needs: hex, base64(url), PEM, the DER of CKA_EC_POINT, and the
// names of CK_TOKEN_INFO flags. Pure functions; no dependency on the engine.

export const utf8 = new TextEncoder();
export const fromUtf8 = (bytes) => new TextDecoder('utf-8', { fatal: false }).decode(bytes);

export function toHex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** Parse hex (spaces, colons and a 0x prefix allowed). Throws a RangeError on anything else. */
export function fromHex(text) {
  const clean = String(text).trim().replace(/^0x/i, '').replace(/[\s:]/g, '');
  if (clean.length % 2 !== 0 || !/^[0-9a-f]*$/i.test(clean)) {
    throw new RangeError('not a hex string (0-9, a-f, an even number of digits)');
  }
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.slice(2 * i, 2 * i + 2), 16);
  return out;
}

export function toBase64(bytes) {
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin);
}

export function fromBase64(text) {
  const clean = String(text).replace(/\s/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(clean) || clean.length % 4 === 1) {
    throw new RangeError('not base64');
  }
  const bin = atob(clean);
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

export function toBase64Url(bytes) {
  return toBase64(bytes).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** PEM armour with 64-character lines (RFC 7468). */
export function toPem(der, label = 'PUBLIC KEY') {
  const lines = toBase64(der).match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

/** Read one DER TLV at `offset`: `{ tag, value, end }`. Definite lengths only, as DER requires. */
export function readDer(bytes, offset = 0) {
  if (offset + 2 > bytes.length) throw new RangeError('DER: truncated');
  const tag = bytes[offset];
  let len = bytes[offset + 1];
  let pos = offset + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4 || pos + n > bytes.length) throw new RangeError('DER: bad length');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + bytes[pos + i];
    pos += n;
  }
  if (pos + len > bytes.length) throw new RangeError('DER: truncated');
  return { tag, value: bytes.subarray(pos, pos + len), end: pos + len };
}

/**
 * CKA_EC_POINT of a P-256 key — a DER OCTET STRING around 04 || X || Y — to the JWK of RFC 7518.
 * Accepts the bare uncompressed point too (some tokens store it so).
 */
export function p256PointToJwk(ecPoint) {
  let point = ecPoint;
  if (ecPoint[0] === 0x04 && ecPoint.length === 67 && ecPoint[1] === 65) {
    point = readDer(ecPoint).value; // OCTET STRING (tag 0x04) of 65 bytes
  } else if (ecPoint.length !== 65) {
    point = readDer(ecPoint).value;
  }
  if (point.length !== 65 || point[0] !== 0x04) {
    throw new RangeError('CKA_EC_POINT is not an uncompressed P-256 point');
  }
  return { kty: 'EC', crv: 'P-256', x: toBase64Url(point.subarray(1, 33)), y: toBase64Url(point.subarray(33, 65)) };
}

/** CKA_EC_POINT of an Ed25519 key (OCTET STRING of the 32-byte public key) to its JWK (RFC 8037). */
export function ed25519PointToJwk(ecPoint) {
  const raw = ecPoint.length === 32 ? ecPoint : readDer(ecPoint).value;
  if (raw.length !== 32) throw new RangeError('CKA_EC_POINT is not an Ed25519 public key');
  return { kty: 'OKP', crv: 'Ed25519', x: toBase64Url(raw) };
}

/** RSA public key from CKA_MODULUS and CKA_PUBLIC_EXPONENT (big-endian) to its JWK. */
export function rsaToJwk(modulus, exponent) {
  const strip = (b) => {
    let i = 0;
    while (i < b.length - 1 && b[i] === 0) i++;
    return b.subarray(i);
  };
  return { kty: 'RSA', n: toBase64Url(strip(modulus)), e: toBase64Url(strip(exponent)) };
}

export const EC_P256_PARAMS = Uint8Array.of(0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07);
export const ED25519_PARAMS = Uint8Array.of(0x06, 0x03, 0x2b, 0x65, 0x70); // OID 1.3.101.112

// CK_TOKEN_INFO.flags (PKCS#11 3.2 §5.3.5), in the order a person would read them.
export const TOKEN_FLAGS = [
  [0x00000001, 'CKF_RNG'],
  [0x00000002, 'CKF_WRITE_PROTECTED'],
  [0x00000004, 'CKF_LOGIN_REQUIRED'],
  [0x00000008, 'CKF_USER_PIN_INITIALIZED'],
  [0x00000020, 'CKF_RESTORE_KEY_NOT_NEEDED'],
  [0x00000040, 'CKF_CLOCK_ON_TOKEN'],
  [0x00000100, 'CKF_PROTECTED_AUTHENTICATION_PATH'],
  [0x00000200, 'CKF_DUAL_CRYPTO_OPERATIONS'],
  [0x00000400, 'CKF_TOKEN_INITIALIZED'],
  [0x00000800, 'CKF_SECONDARY_AUTHENTICATION'],
  [0x00010000, 'CKF_USER_PIN_COUNT_LOW'],
  [0x00020000, 'CKF_USER_PIN_FINAL_TRY'],
  [0x00040000, 'CKF_USER_PIN_LOCKED'],
  [0x00080000, 'CKF_USER_PIN_TO_BE_CHANGED'],
  [0x00100000, 'CKF_SO_PIN_COUNT_LOW'],
  [0x00200000, 'CKF_SO_PIN_FINAL_TRY'],
  [0x00400000, 'CKF_SO_PIN_LOCKED'],
  [0x00800000, 'CKF_SO_PIN_TO_BE_CHANGED'],
  [0x01000000, 'CKF_ERROR_STATE'],
];
export const CKF_TOKEN_INITIALIZED = 0x400;
export const CKF_USER_PIN_INITIALIZED = 0x8;
export const CKF_USER_PIN_COUNT_LOW = 0x10000;
export const CKF_USER_PIN_FINAL_TRY = 0x20000;
export const CKF_USER_PIN_LOCKED = 0x40000;
export const CKF_USER_PIN_TO_BE_CHANGED = 0x80000;
export const CKF_SO_PIN_LOCKED = 0x400000;

/** Names of the flags set in `flags` (a number; CK_FLAGS fits in 32 bits). */
export function tokenFlagNames(flags) {
  const f = Number(flags);
  return TOKEN_FLAGS.filter(([bit]) => (f & bit) !== 0).map(([, name]) => name);
}

/** One sentence about the user PIN's state, from the token flags. */
export function userPinState(flags) {
  const f = Number(flags);
  if (f & CKF_USER_PIN_LOCKED) return 'User PIN locked (too many wrong attempts).';
  if (f & CKF_USER_PIN_FINAL_TRY) return 'User PIN: one attempt left before it locks.';
  if (f & CKF_USER_PIN_COUNT_LOW) return 'User PIN: a wrong PIN was entered since the last successful login.';
  if (f & CKF_USER_PIN_TO_BE_CHANGED) return 'User PIN must be changed.';
  if (!(f & CKF_USER_PIN_INITIALIZED)) return 'User PIN not set yet.';
  return 'User PIN OK.';
}

/** Token strings arrive blank-padded to 32 (label) or 16 (serial) characters. */
export const trimPadded = (s) => String(s ?? '').replace(/[\s\0]+$/, '');
