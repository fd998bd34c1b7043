// Every API family on the memory store, and every error path, through the packed package.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';

import { Module, Session, Pkcs11Error, rvName, CKA, CKM, CKO, CKK, CKR, CKU, CKF, CKS, CKG } from 'anyhsm';
import { ready, rejects, P256, SO_PIN, USER_PIN, utf8, hex } from './helpers.mjs';

test('module info, slots, mechanisms', async () => {
  const m = await Module.open({ testToken: true });
  const info = m.info();
  assert.equal(info.manufacturer, 'anyhsm');
  assert.equal(info.store, 'memory');
  assert.equal(info.deterministic, false);
  assert.deepEqual(await m.slots(), [0]);
  const si = await m.slotInfo(0);
  assert.match(si.description, /new token/);
  assert.ok(si.flags & CKF.TOKEN_PRESENT);
  const ti = await m.tokenInfo(0);
  assert.equal(ti.flags & CKF.TOKEN_INITIALIZED, 0);
  assert.equal(ti.generation, undefined);
  const mechs = await m.mechanisms(0);
  for (const x of [CKM.SHA256, CKM.AES_GCM, CKM.ECDSA_SHA256, CKM.EC_KEY_PAIR_GEN, CKM.AES_KEY_GEN]) assert.ok(mechs.includes(x));
  const gcm = await m.mechanismInfo(0, CKM.AES_GCM);
  assert.equal(gcm.minKeySize, 16);
  assert.ok(gcm.flags & CKF.ENCRYPT);
  await rejects(m.mechanismInfo(0, 0x7fff_0001), 'CKR_MECHANISM_INVALID', 'mechanismInfo');
  await rejects(m.slotInfo(9), 'CKR_SLOT_ID_INVALID', 'slotInfo');
  await rejects(m.tokenInfo(9), 'CKR_SLOT_ID_INVALID');
  await rejects(m.openSession(0), 'CKR_TOKEN_NOT_RECOGNIZED', 'openSession');
  await m.close();
});

test('tokens: init, info, stable slots, re-init wipes', async () => {
  const { module: m, slot, session: s } = await ready();
  assert.deepEqual(await m.slots(), [0, 1]);
  const ti = await m.tokenInfo(slot);
  assert.equal(ti.label, 'test');
  assert.equal(ti.model, 'test token');
  assert.match(ti.serial, /^[0-9a-f]{16}$/);
  assert.ok(ti.flags & CKF.TOKEN_INITIALIZED && ti.flags & CKF.USER_PIN_INITIALIZED);
  assert.equal(ti.sessionCount, 1);
  assert.ok(ti.generation >= 1);
  await s.createObject({ [CKA.CLASS]: CKO.DATA, [CKA.TOKEN]: true, [CKA.LABEL]: 'x' });
  await rejects(m.initToken(slot, SO_PIN, 'again'), 'CKR_SESSION_EXISTS', 'initToken');
  await s.close();
  await rejects(m.initToken(slot, '87654321', 'again'), 'CKR_PIN_INCORRECT');
  await m.initToken(slot, SO_PIN, 'again');
  assert.equal((await m.tokenInfo(slot)).label, 'again');
  const s2 = await m.openSession(slot);
  assert.deepEqual(await s2.findObjects(), []);
  await rejects(m.initToken(1, SO_PIN, 'x'.repeat(33)), 'CKR_ARGUMENTS_BAD');
  await rejects(m.initToken(1, '12', 'short pin'), 'CKR_PIN_LEN_RANGE');
  await m.close();
});

test('sessions and login: info, states, wrong PIN, lockout after 10 failures, SO reset', async () => {
  const { module: m, slot, session: s } = await ready();
  assert.ok(s instanceof Session);
  assert.equal(s.slot, slot);
  assert.equal(s.module, m);
  let info = await s.info();
  assert.equal(info.state, CKS.RW_USER_FUNCTIONS);
  assert.ok(info.flags & CKF.RW_SESSION);
  await rejects(s.login(CKU.USER, USER_PIN), 'CKR_USER_ALREADY_LOGGED_IN', 'login');
  await s.logout();
  await rejects(s.logout(), 'CKR_USER_NOT_LOGGED_IN', 'logout');
  const e = await rejects(s.login(CKU.USER, '0000'), 'CKR_PIN_INCORRECT', 'login');
  assert.ok(e instanceof Pkcs11Error);
  assert.equal(e.code, CKR.PIN_INCORRECT);
  assert.match(e.message, /login: CKR_PIN_INCORRECT/);
  assert.ok((await m.tokenInfo(slot)).flags & CKF.USER_PIN_COUNT_LOW);
  await s.login(CKU.USER, USER_PIN); // a success resets the counter
  assert.equal((await m.tokenInfo(slot)).flags & CKF.USER_PIN_COUNT_LOW, 0);
  await s.logout();
  for (let i = 0; i < 9; i++) await rejects(s.login(CKU.USER, '0000'), 'CKR_PIN_INCORRECT');
  assert.ok((await m.tokenInfo(slot)).flags & CKF.USER_PIN_FINAL_TRY);
  await rejects(s.login(CKU.USER, '0000'), 'CKR_PIN_INCORRECT');
  assert.ok((await m.tokenInfo(slot)).flags & CKF.USER_PIN_LOCKED);
  await rejects(s.login(CKU.USER, USER_PIN), 'CKR_PIN_LOCKED', 'login');
  await s.login(CKU.SO, SO_PIN);
  await s.initPin('5678');
  await s.logout();
  await s.login(CKU.USER, '5678');
  await s.setPin('5678', '9999');
  await s.logout();
  await rejects(s.login(CKU.USER, '5678'), 'CKR_PIN_INCORRECT');
  await s.login(CKU.USER, '9999');
  await rejects(s.login(99, '9999'), 'CKR_USER_TYPE_INVALID');
  await rejects(s.login(CKU.USER, 42), 'CKR_ARGUMENTS_BAD');
  const ro = await m.openSession(slot, { rw: false });
  info = await ro.info();
  assert.equal(info.flags & CKF.RW_SESSION, 0);
  await rejects(ro.createObject({ [CKA.CLASS]: CKO.DATA, [CKA.TOKEN]: true }), 'CKR_SESSION_READ_ONLY', 'createObject');
  await ro.close();
  await rejects(ro.info(), 'CKR_SESSION_HANDLE_INVALID', 'info');
  await m.closeAllSessions(slot);
  await rejects(s.info(), 'CKR_SESSION_HANDLE_INVALID');
  await m.close();
});

test('maxFailures is configurable', async () => {
  const { module: m, slot, session: s } = await ready({ maxFailures: 3 });
  await s.logout();
  for (let i = 0; i < 3; i++) await rejects(s.login(CKU.USER, '0000'), 'CKR_PIN_INCORRECT');
  await rejects(s.login(CKU.USER, USER_PIN), 'CKR_PIN_LOCKED');
  assert.ok((await m.tokenInfo(slot)).flags & CKF.USER_PIN_LOCKED);
  await m.close();
});

test('objects: create, attributes, set, copy, size, find, destroy', async () => {
  const { module: m, session: s } = await ready();
  const h = await s.createObject([
    { type: CKA.CLASS, value: CKO.DATA },
    { type: CKA.TOKEN, value: true },
    { type: CKA.LABEL, value: 'greeting' },
    { type: CKA.APPLICATION, value: 'tests' },
    { type: CKA.VALUE, value: utf8('hello') },
  ]);
  assert.equal(typeof h, 'number');
  assert.deepEqual(await s.getAttribute(h, CKA.LABEL), utf8('greeting'));
  assert.equal(await s.getAttribute(h, CKA.CLASS), CKO.DATA);
  assert.equal(await s.getAttribute(h, CKA.TOKEN), true);
  const attrs = await s.getAttributes(h, [CKA.LABEL, CKA.VALUE, CKA.MODULUS]);
  assert.deepEqual(attrs[CKA.VALUE], utf8('hello'));
  assert.equal(attrs[CKA.MODULUS], undefined);
  await rejects(s.getAttribute(h, CKA.MODULUS), 'CKR_ATTRIBUTE_TYPE_INVALID', 'getAttribute');
  await s.setAttributes(h, { [CKA.LABEL]: 'renamed' });
  assert.deepEqual(await s.getAttribute(h, CKA.LABEL), utf8('renamed'));
  const c = await s.copyObject(h, { [CKA.LABEL]: 'copy' });
  assert.notEqual(c, h);
  assert.ok((await s.objectSize(c)) > 0);
  const session_obj = await s.createObject({ [CKA.CLASS]: CKO.DATA, [CKA.LABEL]: 'temp' });
  assert.deepEqual((await s.findObjects({ [CKA.CLASS]: CKO.DATA })).sort(), [h, c, session_obj].sort());
  assert.deepEqual(await s.findObjects({ [CKA.LABEL]: 'copy' }), [c]);
  assert.equal((await s.findObjects({ [CKA.CLASS]: CKO.DATA }, 2)).length, 2);
  await s.findObjectsInit({ [CKA.TOKEN]: true });
  const first = await s.findObjectsNext(1);
  const rest = await s.findObjectsNext();
  assert.equal(first.length + rest.length, 2);
  await rejects(s.findObjectsInit(), 'CKR_OPERATION_ACTIVE', 'findObjectsInit');
  await s.findObjectsFinal();
  await rejects(s.findObjectsNext(), 'CKR_OPERATION_NOT_INITIALIZED');
  await s.destroyObject(c);
  await rejects(s.getAttribute(c, CKA.LABEL), 'CKR_OBJECT_HANDLE_INVALID', 'getAttribute');
  await rejects(s.destroyObject(c), 'CKR_OBJECT_HANDLE_INVALID', 'destroyObject');
  await rejects(s.getAttributes(999999, [CKA.LABEL]), 'CKR_OBJECT_HANDLE_INVALID', 'getAttributes');
  await rejects(s.objectSize(-1), 'CKR_OBJECT_HANDLE_INVALID');
  // a session object goes with its session
  await s.close();
  const s2 = await m.openSession(0);
  await s2.login(CKU.USER, USER_PIN);
  assert.deepEqual(await s2.findObjects({ [CKA.LABEL]: 'temp' }), []);
  await m.close();
});

test('bad templates: unknown type, wrong value shape, incomplete, inconsistent', async () => {
  const { module: m, session: s } = await ready();
  await rejects(s.createObject({ [CKA.CLASS]: CKO.DATA, 0x7fff_0000: true }), 'CKR_ATTRIBUTE_TYPE_INVALID', 'createObject');
  await rejects(s.createObject({ [CKA.CLASS]: CKO.DATA, [CKA.TOKEN]: 'yes' }), 'CKR_ATTRIBUTE_VALUE_INVALID');
  await rejects(s.createObject({ [CKA.CLASS]: -1 }), 'CKR_ATTRIBUTE_VALUE_INVALID');
  await rejects(s.createObject({ [CKA.CLASS]: CKO.DATA, [CKA.START_DATE]: '2024-01-01' }), 'CKR_ATTRIBUTE_VALUE_INVALID');
  await rejects(s.createObject({ [CKA.LABEL]: 'no class' }), 'CKR_TEMPLATE_INCOMPLETE');
  await rejects(s.createObject('not a template'), 'CKR_TEMPLATE_INCONSISTENT');
  await rejects(s.createObject([[CKA.CLASS, CKO.DATA], 5]), 'CKR_TEMPLATE_INCONSISTENT');
  await rejects(s.generateKey(CKM.AES_KEY_GEN, { [CKA.TOKEN]: true }), 'CKR_TEMPLATE_INCOMPLETE', 'generateKey');
  // pairs, bigint ulongs, mechanism lists, dates and nested templates are accepted
  const k = await s.generateKey(CKM.AES_KEY_GEN, [
    [CKA.VALUE_LEN, 32n],
    [CKA.ALLOWED_MECHANISMS, [CKM.AES_GCM]],
    [CKA.START_DATE, '20240101'],
    [CKA.UNWRAP_TEMPLATE, { [CKA.EXTRACTABLE]: false }],
  ]);
  assert.deepEqual(await s.getAttribute(k, CKA.ALLOWED_MECHANISMS), [CKM.AES_GCM]);
  assert.equal(await s.getAttribute(k, CKA.START_DATE), '20240101');
  assert.deepEqual(await s.getAttribute(k, CKA.UNWRAP_TEMPLATE), [{ type: CKA.EXTRACTABLE, value: false }]);
  await m.close();
});

test('AES-GCM: one-shot, multi-part, tamper, bad parameters, sensitive value', async () => {
  const { module: m, session: s } = await ready();
  const key = await s.generateKey(CKM.AES_KEY_GEN, { [CKA.VALUE_LEN]: 32, [CKA.TOKEN]: true, [CKA.LABEL]: 'aes' });
  assert.equal(await s.getAttribute(key, CKA.KEY_TYPE), CKK.AES);
  await rejects(s.getAttribute(key, CKA.VALUE), 'CKR_ATTRIBUTE_SENSITIVE', 'getAttribute');
  assert.equal((await s.getAttributes(key, [CKA.VALUE]))[CKA.VALUE], undefined);
  const iv = new Uint8Array(12).fill(7);
  const gcm = { mechanism: CKM.AES_GCM, parameter: { iv, aad: utf8('hdr'), tagBits: 128 } };
  const pt = utf8('attack at dawn');
  const ct = await s.encrypt(gcm, key, pt);
  assert.equal(ct.length, pt.length + 16);
  assert.deepEqual(await s.decrypt(gcm, key, ct), pt);
  await s.encryptInit(gcm, key);
  const a = await s.encryptUpdate(pt.subarray(0, 5));
  const b = await s.encryptUpdate(pt.subarray(5));
  const c = await s.encryptFinal();
  assert.deepEqual(Buffer.concat([a, b, c]), Buffer.from(ct));
  await s.decryptInit(gcm, key);
  const d1 = await s.decryptUpdate(ct);
  const d2 = await s.decryptFinal();
  assert.deepEqual(Buffer.concat([d1, d2]), Buffer.from(pt));
  const bad = Uint8Array.from(ct);
  bad[0] ^= 1;
  const e = await s.decrypt(gcm, key, bad).then(
    () => null,
    (x) => x,
  );
  assert.ok(e && ['CKR_ENCRYPTED_DATA_INVALID', 'CKR_AEAD_DECRYPT_FAILED'].includes(e.name), e?.name);
  await rejects(s.encrypt({ mechanism: CKM.AES_GCM, parameter: { tagBits: 128 } }, key, pt), 'CKR_MECHANISM_PARAM_INVALID', 'encrypt');
  await rejects(s.encrypt({ mechanism: CKM.AES_GCM, parameter: utf8('iv') }, key, pt), 'CKR_MECHANISM_PARAM_INVALID');
  await rejects(s.encrypt(CKM.AES_GCM, key, pt), 'CKR_MECHANISM_PARAM_INVALID');
  await rejects(s.digest({ mechanism: CKM.SHA256, parameter: utf8('x') }, pt), 'CKR_MECHANISM_PARAM_INVALID', 'digest');
  await rejects(s.encrypt(0x7fff_0001, key, pt), 'CKR_MECHANISM_INVALID');
  await rejects(s.encrypt('AES', key, pt), 'CKR_MECHANISM_INVALID');
  await rejects(s.encrypt(gcm, 424242, pt), 'CKR_KEY_HANDLE_INVALID', 'encrypt');
  await rejects(s.encryptFinal(), 'CKR_OPERATION_NOT_INITIALIZED', 'encryptFinal');
  await rejects(s.encrypt(gcm, key, 'not bytes'), 'CKR_ARGUMENTS_BAD');
  await m.close();
});

test('ECDSA P-256: key pair, sign/verify one-shot and multi-part, public attributes', async () => {
  const { module: m, session: s } = await ready();
  const { publicKey, privateKey } = await s.generateKeyPair(
    CKM.EC_KEY_PAIR_GEN,
    { [CKA.EC_PARAMS]: P256, [CKA.TOKEN]: true, [CKA.LABEL]: 'ec', [CKA.VERIFY]: true },
    { [CKA.TOKEN]: true, [CKA.LABEL]: 'ec', [CKA.SIGN]: true, [CKA.SENSITIVE]: true },
  );
  const point = await s.getAttribute(publicKey, CKA.EC_POINT);
  assert.equal(point.length, 67);
  assert.equal(point[2], 4);
  assert.equal(await s.getAttribute(privateKey, CKA.CLASS), CKO.PRIVATE_KEY);
  const msg = utf8('message');
  const sig = await s.sign(CKM.ECDSA_SHA256, privateKey, msg);
  assert.equal(sig.length, 64);
  assert.equal(await s.verify(CKM.ECDSA_SHA256, publicKey, msg, sig), true);
  assert.equal(await s.verify(CKM.ECDSA_SHA256, publicKey, utf8('other'), sig), false);
  await rejects(s.verify(CKM.ECDSA_SHA256, publicKey, msg, sig.subarray(0, 10)), 'CKR_SIGNATURE_LEN_RANGE', 'verify');
  await s.signInit(CKM.ECDSA_SHA256, privateKey);
  await s.signUpdate(msg.subarray(0, 3));
  await s.signUpdate(msg.subarray(3));
  const sig2 = await s.signFinal();
  await s.verifyInit(CKM.ECDSA_SHA256, publicKey);
  await s.verifyUpdate(msg);
  assert.equal(await s.verifyFinal(sig2), true);
  // raw ECDSA over a digest the caller computed
  const digest = createHash('sha256').update(msg).digest();
  const sig3 = await s.sign(CKM.ECDSA, privateKey, digest);
  assert.equal(await s.verify(CKM.ECDSA_SHA256, publicKey, msg, sig3), true);
  await rejects(s.sign(CKM.ECDSA_SHA256, publicKey, msg), 'CKR_KEY_FUNCTION_NOT_PERMITTED', 'sign');
  await rejects(s.sign({ mechanism: CKM.AES_GCM, parameter: { iv: new Uint8Array(12), tagBits: 128 } }, privateKey, msg), 'CKR_MECHANISM_INVALID');
  // private keys are invisible after logout
  await s.logout();
  await rejects(s.sign(CKM.ECDSA_SHA256, privateKey, msg), 'CKR_KEY_HANDLE_INVALID');
  assert.deepEqual(await s.findObjects({ [CKA.CLASS]: CKO.PRIVATE_KEY }), []);
  assert.equal((await s.findObjects({ [CKA.CLASS]: CKO.PUBLIC_KEY })).length, 1);
  await m.close();
});

test('HMAC and digests match node:crypto; digestKey; random', async () => {
  const { module: m, session: s } = await ready();
  const value = new Uint8Array(32).fill(0x0b);
  const key = await s.createObject({
    [CKA.CLASS]: CKO.SECRET_KEY,
    [CKA.KEY_TYPE]: CKK.GENERIC_SECRET,
    [CKA.VALUE]: value,
    [CKA.SIGN]: true,
    [CKA.VERIFY]: true,
  });
  const msg = utf8('what do ya want for nothing?');
  const mac = await s.sign(CKM.SHA256_HMAC, key, msg);
  assert.equal(hex(mac), createHmac('sha256', value).update(msg).digest('hex'));
  assert.equal(await s.verify(CKM.SHA256_HMAC, key, msg, mac), true);
  const short = await s.sign({ mechanism: CKM.SHA256_HMAC_GENERAL, parameter: 16 }, key, msg);
  assert.deepEqual(short, mac.subarray(0, 16));
  await rejects(s.sign({ mechanism: CKM.SHA256_HMAC_GENERAL, parameter: { bytes: 16 } }, key, msg), 'CKR_MECHANISM_PARAM_INVALID');
  const abc = utf8('abc');
  assert.equal(hex(await s.digest(CKM.SHA256, abc)), createHash('sha256').update(abc).digest('hex'));
  assert.equal(hex(await s.digest(CKM.SHA512, abc)), createHash('sha512').update(abc).digest('hex'));
  assert.equal(hex(await s.digest(CKM.SHA3_256, abc)), createHash('sha3-256').update(abc).digest('hex'));
  await s.digestInit(CKM.SHA256);
  await s.digestUpdate(utf8('a'));
  await s.digestKey(key);
  const dk = await s.digestFinal();
  assert.equal(hex(dk), createHash('sha256').update('a').update(value).digest('hex'));
  await rejects(s.digestFinal(), 'CKR_OPERATION_NOT_INITIALIZED', 'digestFinal');
  const r = await s.generateRandom(100);
  assert.equal(r.length, 100);
  assert.notDeepEqual(r, await s.generateRandom(100));
  assert.equal((await s.generateRandom(100_000)).length, 100_000);
  await rejects(s.seedRandom(utf8('seed')), 'CKR_RANDOM_SEED_NOT_SUPPORTED', 'seedRandom');
  await m.close();
});

test('wrap, unwrap, derive, recover reach core', async () => {
  const { module: m, session: s } = await ready();
  const aes = await s.generateKey(CKM.AES_KEY_GEN, { [CKA.VALUE_LEN]: 16, [CKA.EXTRACTABLE]: true, [CKA.ENCRYPT]: true, [CKA.DECRYPT]: true });
  const kek = await s.generateKey(CKM.AES_KEY_GEN, { [CKA.VALUE_LEN]: 32, [CKA.WRAP]: true, [CKA.UNWRAP]: true });
  // A digest mechanism can neither wrap nor derive nor recover: the engine's answer comes through.
  await rejects(s.wrapKey(CKM.SHA256, kek, aes), 'CKR_MECHANISM_INVALID', 'wrapKey');
  await rejects(s.unwrapKey(CKM.SHA256, kek, new Uint8Array(32), { [CKA.CLASS]: CKO.SECRET_KEY }), 'CKR_MECHANISM_INVALID', 'unwrapKey');
  await rejects(s.deriveKey(CKM.SHA256, aes, {}), 'CKR_MECHANISM_INVALID', 'deriveKey');
  await rejects(s.signRecover(CKM.SHA256, aes, utf8('x')), 'CKR_MECHANISM_INVALID', 'signRecover');
  await rejects(s.verifyRecover(CKM.SHA256, aes, utf8('x')), 'CKR_MECHANISM_INVALID', 'verifyRecover');
  const gcm = { mechanism: CKM.AES_GCM, parameter: { iv: new Uint8Array(12).fill(3), tagBits: 128 } };
  if ((await m.mechanismInfo(0, CKM.AES_GCM)).flags & CKF.WRAP) {
    await rejects(s.wrapKey(gcm, 777777, aes), 'CKR_WRAPPING_KEY_HANDLE_INVALID', 'wrapKey');
    const wrapped = await s.wrapKey(gcm, kek, aes);
    assert.equal(wrapped.length, 16 + 16);
    const back = await s.unwrapKey(gcm, kek, wrapped, { [CKA.CLASS]: CKO.SECRET_KEY, [CKA.KEY_TYPE]: CKK.AES, [CKA.ENCRYPT]: true, [CKA.DECRYPT]: true });
    const ct = await s.encrypt(gcm, aes, utf8('same key'));
    assert.deepEqual(await s.decrypt(gcm, back, ct), utf8('same key'));
  }
  await m.close();
});

test('RSA AES key wrap: RsaAesKeyWrapParams reach core; tampering and bad parameters are refused', async () => {
  const { module: m, session: s } = await ready();
  const info = await m.mechanismInfo(0, CKM.RSA_AES_KEY_WRAP);
  assert.equal(info.flags & (CKF.WRAP | CKF.UNWRAP | CKF.ENCRYPT), CKF.WRAP | CKF.UNWRAP);
  assert.deepEqual([info.minKeySize, info.maxKeySize], [1024, 8192]);
  const { publicKey, privateKey } = await s.generateKeyPair(CKM.RSA_PKCS_KEY_PAIR_GEN, { [CKA.MODULUS_BITS]: 2048 }, {});
  const aes = await s.generateKey(CKM.AES_KEY_GEN, { [CKA.VALUE_LEN]: 32, [CKA.EXTRACTABLE]: true, [CKA.SENSITIVE]: false });
  const oaep = { hashAlg: CKM.SHA256, mgf: CKG.MGF1_SHA256, sourceData: utf8('label') };
  const mech = (aesKeyBits, o = oaep) => ({ mechanism: CKM.RSA_AES_KEY_WRAP, parameter: { aesKeyBits, oaep: o } });
  const wrapped = await s.wrapKey(mech(192), publicKey, aes);
  assert.equal(wrapped.length, 256 + 40, 'the OAEP part, then KWP of 32 bytes');
  const template = { [CKA.CLASS]: CKO.SECRET_KEY, [CKA.KEY_TYPE]: CKK.AES, [CKA.SENSITIVE]: false, [CKA.EXTRACTABLE]: true };
  const back = await s.unwrapKey(mech(192), privateKey, wrapped, template);
  assert.deepEqual(await s.getAttribute(back, CKA.VALUE), await s.getAttribute(aes, CKA.VALUE));
  const bad = wrapped.slice();
  bad[bad.length - 1] ^= 1;
  await rejects(s.unwrapKey(mech(192), privateKey, bad, template), 'CKR_WRAPPED_KEY_INVALID', 'unwrapKey');
  await rejects(s.unwrapKey(mech(256), privateKey, wrapped, template), 'CKR_WRAPPED_KEY_INVALID', 'unwrapKey');
  await rejects(s.wrapKey(mech(100), publicKey, aes), 'CKR_MECHANISM_PARAM_INVALID', 'wrapKey');
  await rejects(s.wrapKey(mech(256, null), publicKey, aes), 'CKR_MECHANISM_PARAM_INVALID', 'wrapKey');
  await rejects(s.wrapKey({ mechanism: CKM.RSA_AES_KEY_WRAP, parameter: { aesKeyBits: 256 } }, publicKey, aes), 'CKR_MECHANISM_PARAM_INVALID', 'wrapKey');
  await m.close();
});

test('snapshots: export, import elsewhere, refuse duplicates and garbage', async () => {
  const { module: a, slot, session: s } = await ready({ label: 'portable' });
  const { publicKey, privateKey } = await s.generateKeyPair(
    CKM.EC_KEY_PAIR_GEN,
    { [CKA.EC_PARAMS]: P256, [CKA.TOKEN]: true },
    { [CKA.TOKEN]: true, [CKA.SIGN]: true, [CKA.LABEL]: 'signer' },
  );
  const point = await s.getAttribute(publicKey, CKA.EC_POINT);
  const snap = await a.exportToken(slot);
  assert.ok(snap instanceof Uint8Array && snap.length > 100);
  assert.equal(Buffer.from(snap).indexOf(Buffer.from('signer')), -1, 'private objects stay sealed');
  await rejects(a.exportToken(slot + 1), 'CKR_TOKEN_NOT_RECOGNIZED', 'exportToken');
  await rejects(a.importToken(snap), 'CKR_TOKEN_NOT_RECOGNIZED', 'importToken');
  const b = await Module.open({ testToken: true });
  const nslot = await b.importToken(snap);
  assert.equal(nslot, 0);
  assert.equal((await b.tokenInfo(nslot)).label, 'portable');
  const t = await b.openSession(nslot);
  await t.login(CKU.USER, USER_PIN);
  const [priv] = await t.findObjects({ [CKA.LABEL]: 'signer' });
  const [pub] = await t.findObjects({ [CKA.CLASS]: CKO.PUBLIC_KEY });
  assert.deepEqual(await t.getAttribute(pub, CKA.EC_POINT), point);
  const sig = await t.sign(CKM.ECDSA_SHA256, priv, utf8('moved'));
  assert.equal(await s.verify(CKM.ECDSA_SHA256, publicKey, utf8('moved'), sig), true);
  assert.ok(privateKey !== undefined);
  await rejects(b.importToken(utf8('garbage')), 'CKR_DATA_INVALID');
  await rejects(b.importToken('garbage'), 'CKR_ARGUMENTS_BAD');
  await a.close();
  await b.close();
});

test('deterministic mode repeats serials, keys and signatures', async () => {
  const seed = new Uint8Array(32).fill(42);
  const run = async () => {
    const { module: m, slot, session: s } = await ready({ deterministic: { seed } });
    const { publicKey, privateKey } = await s.generateKeyPair(CKM.EC_KEY_PAIR_GEN, { [CKA.EC_PARAMS]: P256 }, { [CKA.SIGN]: true });
    const out = {
      model: (await m.tokenInfo(slot)).model,
      serial: (await m.tokenInfo(slot)).serial,
      point: hex(await s.getAttribute(publicKey, CKA.EC_POINT)),
      sig: hex(await s.sign(CKM.ECDSA_SHA256, privateKey, utf8('x'))),
      rnd: hex(await s.generateRandom(16)),
      info: m.info().deterministic,
    };
    await m.close();
    return out;
  };
  const x = await run();
  const y = await run();
  assert.deepEqual(x, y);
  assert.equal(x.model, 'deterministic');
  assert.equal(x.info, true);
  await rejects(Module.open({ deterministic: { seed: new Uint8Array(31) } }), 'CKR_ARGUMENTS_BAD', 'open');
});

test('calls on one module are serialised: interleaved awaits lose nothing', async () => {
  const { module: m, session: s } = await ready();
  const made = await Promise.all(
    Array.from({ length: 25 }, (_, i) => s.createObject({ [CKA.CLASS]: CKO.DATA, [CKA.TOKEN]: true, [CKA.LABEL]: `n${i}` })),
  );
  assert.equal(new Set(made).size, 25);
  const [found, sig] = await Promise.all([s.findObjects({ [CKA.CLASS]: CKO.DATA }), s.digest(CKM.SHA256, utf8('x'))]);
  assert.equal(found.length, 25);
  assert.equal(sig.length, 32);
  // a failing call in the middle does not disturb its neighbours
  const results = await Promise.allSettled([s.digest(CKM.SHA256, utf8('a')), s.login(CKU.USER, '0000'), s.digest(CKM.SHA256, utf8('b'))]);
  assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled']);
  await m.close();
});

test('a closed module refuses every call', async () => {
  const { module: m, session: s } = await ready();
  await m.close();
  assert.equal(m.closed, true);
  await rejects(m.slots(), 'CKR_CRYPTOKI_NOT_INITIALIZED', 'slots');
  await rejects(s.digest(CKM.SHA256, utf8('x')), 'CKR_CRYPTOKI_NOT_INITIALIZED', 'digest');
  await m.close(); // idempotent
});

test('errors: names for codes, store specs', async () => {
  assert.equal(rvName(CKR.PIN_INCORRECT), 'CKR_PIN_INCORRECT');
  assert.equal(rvName(0x7fff_fff0), 'CKR_0x7ffffff0');
  const e = new Pkcs11Error(CKR.PIN_LOCKED, 'login');
  assert.equal(e.name, 'CKR_PIN_LOCKED');
  assert.equal(e.code, CKR.PIN_LOCKED);
  assert.ok(e instanceof Error);
  await rejects(Module.open({ store: 'floppy' }), 'CKR_ARGUMENTS_BAD', 'open');
  await rejects(Module.open({ store: { kind: 'indexeddb', indexedDB: {} } }), 'CKR_FUNCTION_FAILED', 'open');
  await rejects(Module.open({ store: { kind: 'directory' } }), 'CKR_ARGUMENTS_BAD', 'open');
  const mem = await Module.open({ store: { kind: 'memory' } });
  assert.equal(mem.info().store, 'memory');
  await mem.close();
});
