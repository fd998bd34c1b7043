// Unit tests of the page's encoders (no browser needed).
import { test } from 'node:test';
import assert from 'node:assert/strict';

import {
  fromBase64, fromHex, p256PointToJwk, readDer, rsaToJwk, ed25519PointToJwk, toBase64Url, toHex, toPem,
  tokenFlagNames, userPinState,
} from '../src/encoding.mjs';

test('hex round trip and errors', () => {
  assert.equal(toHex(Uint8Array.of(0, 1, 0xab, 0xff)), '0001abff');
  assert.deepEqual(fromHex(' 0x00:01 AB ff '), Uint8Array.of(0, 1, 0xab, 0xff));
  assert.throws(() => fromHex('abc'), RangeError);
  assert.throws(() => fromHex('zz'), RangeError);
});

test('base64url has no padding and uses - and _', () => {
  assert.equal(toBase64Url(Uint8Array.of(0xfb, 0xff, 0xbf)), '-_-_');
  assert.equal(toBase64Url(Uint8Array.of(1)), 'AQ');
});

test('PEM lines are 64 characters', () => {
  const der = new Uint8Array(91).map((_, i) => i);
  const pem = toPem(der);
  const lines = pem.trim().split('\n');
  assert.equal(lines[0], '-----BEGIN PUBLIC KEY-----');
  assert.equal(lines.at(-1), '-----END PUBLIC KEY-----');
  assert.ok(lines.slice(1, -1).every((l) => l.length <= 64));
  assert.deepEqual(fromBase64(lines.slice(1, -1).join('')), der);
});

test('DER lengths, short and long form', () => {
  const short = readDer(Uint8Array.of(0x04, 0x02, 9, 8));
  assert.deepEqual([short.tag, [...short.value], short.end], [4, [9, 8], 4]);
  const long = new Uint8Array(3 + 200);
  long.set([0x04, 0x81, 200]);
  assert.equal(readDer(long).value.length, 200);
  assert.throws(() => readDer(Uint8Array.of(0x04, 0x05, 1)), RangeError);
});

test('CKA_EC_POINT of P-256 to JWK (RFC 7518 example key)', () => {
  // RFC 7515 A.3 key: x = f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU, y = x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0
  const x = Uint8Array.from(atob('f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU='), (c) => c.charCodeAt(0));
  const y = Uint8Array.from(atob('x/FEzRu9m36HLN/tue659LNpXW6pCyStikYjKIWI5a0='), (c) => c.charCodeAt(0));
  const der = new Uint8Array(67);
  der.set([0x04, 65, 0x04]);
  der.set(x, 3);
  der.set(y, 35);
  const jwk = { kty: 'EC', crv: 'P-256', x: 'f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU', y: 'x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0' };
  assert.deepEqual(p256PointToJwk(der), jwk);
  assert.deepEqual(p256PointToJwk(der.subarray(2)), jwk, 'a bare point too');
  assert.throws(() => p256PointToJwk(Uint8Array.of(0x04, 3, 2, 1, 0)), RangeError);
});

test('Ed25519 and RSA JWKs', () => {
  const raw = new Uint8Array(32).fill(7);
  const der = new Uint8Array(34);
  der.set([0x04, 32]);
  der.set(raw, 2);
  assert.deepEqual(ed25519PointToJwk(der), { kty: 'OKP', crv: 'Ed25519', x: toBase64Url(raw) });
  assert.deepEqual(rsaToJwk(Uint8Array.of(0, 0xc1, 2), Uint8Array.of(0, 1, 0, 1)), { kty: 'RSA', n: 'wQI', e: 'AQAB' });
});

test('token flags and PIN state', () => {
  assert.deepEqual(tokenFlagNames(0x400 | 0x8 | 0x10000), ['CKF_USER_PIN_INITIALIZED', 'CKF_TOKEN_INITIALIZED', 'CKF_USER_PIN_COUNT_LOW']);
  assert.match(userPinState(0x408 | 0x40000), /locked/);
  assert.match(userPinState(0x408 | 0x30000), /one attempt left/);
  assert.match(userPinState(0x408 | 0x10000), /wrong PIN/);
  assert.match(userPinState(0x408 | 0x80000), /changed/);
  assert.match(userPinState(0x400), /not set/);
  assert.equal(userPinState(0x408), 'User PIN OK.');
});
