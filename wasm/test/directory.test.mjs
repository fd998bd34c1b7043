// The directory store: the native file store's layout, persistence, concurrent writers,
// failed writes, crash leftovers, and interop with the native module in both directions,
// plus the deterministic parity of native and wasm.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { createRequire, syncBuiltinESMExports } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

import { Module, CKA, CKM, CKO, CKK, CKU } from 'anyhsm';
import { ready, rejects, P256, SO_PIN, USER_PIN, utf8, hex } from './helpers.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const SO = process.env.ANYHSM_PKCS11_SO;
const noNative = !SO || SO === 'none' ? 'the native module is not available (ANYHSM_PKCS11_SO)' : false;
const made = [];
const tmpdir = (tag) => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), `anyhsm-${tag}-`));
  made.push(d);
  return d;
};
after(() => {
  for (const d of made) fs.rmSync(d, { recursive: true, force: true });
});
const dirStore = (p) => ({ kind: 'directory', path: p });

async function openUser(root, slot = 0, extra = {}) {
  const m = await Module.open({ store: dirStore(root), testToken: true, ...extra });
  const s = await m.openSession(slot);
  await s.login(CKU.USER, USER_PIN);
  return { m, s };
}

function tokenDir(root) {
  const names = fs.readdirSync(root).filter((n) => /^[0-9a-f]{16}$/.test(n));
  assert.equal(names.length, 1, `one token directory in ${root}: ${fs.readdirSync(root)}`);
  return path.join(root, names[0]);
}

test('the on-disk layout is the native file store’s, and survives reopening', async () => {
  const root = tmpdir('layout');
  const { module: m, slot, session: s } = await ready({ store: dirStore(root), label: 'dir' });
  assert.equal(m.info().store, 'directory');
  await s.createObject({ [CKA.CLASS]: CKO.DATA, [CKA.TOKEN]: true, [CKA.LABEL]: 'one' });
  await s.generateKey(CKM.AES_KEY_GEN, { [CKA.VALUE_LEN]: 32, [CKA.TOKEN]: true, [CKA.LABEL]: 'two' });
  await s.createObject({ [CKA.CLASS]: CKO.DATA, [CKA.LABEL]: 'session only' });
  const info = await m.tokenInfo(slot);
  await m.close();

  const dir = tokenDir(root);
  assert.equal(path.basename(dir), info.serial);
  const meta = fs.readFileSync(path.join(dir, 'meta.bin'));
  assert.equal(Number(meta.readBigUInt64LE(0)), info.generation);
  assert.equal(meta.subarray(8, 12).toString('latin1'), 'AHF1');
  assert.equal(meta.subarray(28, 31).toString('latin1'), 'AHM');
  const recs = fs.readdirSync(path.join(dir, 'objects'));
  assert.equal(recs.length, 2);
  for (const r of recs) assert.match(r, /^[0-9a-f]{16}\.rec$/);
  const leftovers = fs.readdirSync(dir).filter((f) => f.startsWith('.tmp-') || f === 'journal.bin');
  assert.deepEqual(leftovers, []);
  assert.equal(fs.existsSync(path.join(root, '.anyhsm-node.lock')), false);
  assert.equal(fs.statSync(path.join(dir, 'meta.bin')).mode & 0o777, 0o600);
  assert.equal(fs.statSync(dir).mode & 0o777, 0o700);

  const { m: m2, s: s2 } = await openUser(root, slot);
  assert.equal((await m2.tokenInfo(slot)).label, 'dir');
  assert.equal((await s2.findObjects({ [CKA.LABEL]: 'one' })).length, 1);
  assert.equal((await s2.findObjects({ [CKA.LABEL]: 'two' })).length, 1);
  assert.equal((await s2.findObjects({ [CKA.LABEL]: 'session only' })).length, 0);
  await m2.close();
});

test('two modules and two processes write one token at the same time and lose nothing', async () => {
  const root = tmpdir('concurrent');
  const { module: m0 } = await ready({ store: dirStore(root) });
  await m0.close();
  const a = await openUser(root);
  const b = await openUser(root);
  const N = 10;
  const make = (who, s) =>
    Array.from({ length: N }, (_, i) => s.createObject({ [CKA.CLASS]: CKO.DATA, [CKA.TOKEN]: true, [CKA.LABEL]: `${who}${i}` }));
  const child = (who) =>
    new Promise((resolve, reject) => {
      const p = spawn(process.execPath, [path.join(here, 'dir-writer.mjs'), root, who, String(N)], {
        cwd: path.join(here, '..'),
        stdio: ['ignore', 'inherit', 'inherit'],
      });
      p.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`writer ${who} exited ${code}`))));
    });
  await Promise.all([...make('a', a.s), ...make('b', b.s), child('p'), child('q')]);
  assert.equal((await a.s.findObjects({ [CKA.CLASS]: CKO.DATA })).length, 4 * N);
  assert.equal((await b.s.findObjects({ [CKA.CLASS]: CKO.DATA })).length, 4 * N);
  await a.m.close();
  await b.m.close();
  assert.equal(fs.readdirSync(path.join(tokenDir(root), 'objects')).length, 4 * N);
});

test('a failed write (disk full) leaves the token exactly as it was', async () => {
  const root = tmpdir('full');
  const { module: m, slot, session: s } = await ready({ store: dirStore(root) });
  await s.createObject({ [CKA.CLASS]: CKO.DATA, [CKA.TOKEN]: true, [CKA.LABEL]: 'keep' });
  const before = await m.tokenInfo(slot);
  const dir = tokenDir(root);
  const filesBefore = fs.readdirSync(path.join(dir, 'objects')).sort();

  const fsc = createRequire(import.meta.url)('fs');
  const writeSync = fsc.writeSync;
  let calls = 0;
  fsc.writeSync = function (fd, ...rest) {
    // The first write is the lock file's pid; fail the second, the batch's first temp.
    if (++calls === 2) {
      throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    }
    return writeSync.call(this, fd, ...rest);
  };
  syncBuiltinESMExports();
  try {
    await rejects(s.createObject({ [CKA.CLASS]: CKO.DATA, [CKA.TOKEN]: true, [CKA.LABEL]: 'lost' }), 'CKR_DEVICE_MEMORY', 'createObject');
  } finally {
    fsc.writeSync = writeSync;
    syncBuiltinESMExports();
  }
  assert.deepEqual(await s.findObjects({ [CKA.LABEL]: 'lost' }), []);
  assert.equal((await m.tokenInfo(slot)).generation, before.generation);
  assert.deepEqual(fs.readdirSync(path.join(dir, 'objects')).sort(), filesBefore);
  assert.deepEqual(fs.readdirSync(dir).filter((f) => f.startsWith('.tmp-') || f === 'journal.bin'), []);
  await s.createObject({ [CKA.CLASS]: CKO.DATA, [CKA.TOKEN]: true, [CKA.LABEL]: 'after' });
  await m.close();
  const { m: m2, s: s2 } = await openUser(root, slot);
  assert.equal((await s2.findObjects({ [CKA.CLASS]: CKO.DATA })).length, 2);
  await m2.close();
});

test('a torn journal and stray temps left by a crash are discarded', async () => {
  const root = tmpdir('crash');
  const { module: m, slot, session: s } = await ready({ store: dirStore(root) });
  await s.createObject({ [CKA.CLASS]: CKO.DATA, [CKA.TOKEN]: true, [CKA.LABEL]: 'keep' });
  await m.close();
  const dir = tokenDir(root);
  fs.writeFileSync(path.join(dir, '.tmp-99-0'), 'half a record');
  fs.writeFileSync(path.join(dir, 'journal.bin'), Buffer.concat([Buffer.from('AHSMJNL1'), Buffer.alloc(8, 0xff)]));
  const { m: m2, s: s2 } = await openUser(root, slot);
  assert.equal((await s2.findObjects({ [CKA.LABEL]: 'keep' })).length, 1);
  assert.ok(m2.takeWarnings().some((w) => /incomplete journal/.test(w)));
  assert.deepEqual(fs.readdirSync(dir).filter((f) => f.startsWith('.tmp-') || f === 'journal.bin'), []);
  await m2.close();
});

test('a damaged record file is named and its object answers CKR_DEVICE_ERROR until destroyed', async () => {
  const root = tmpdir('damage');
  const { module: m, slot, session: s } = await ready({ store: dirStore(root) });
  await s.createObject({ [CKA.CLASS]: CKO.DATA, [CKA.TOKEN]: true, [CKA.LABEL]: 'keep', [CKA.VALUE]: utf8('k') });
  const before = fs.readdirSync(path.join(tokenDir(root), 'objects'));
  await s.createObject({ [CKA.CLASS]: CKO.DATA, [CKA.TOKEN]: true, [CKA.LABEL]: 'hurt' });
  await m.close();
  const objects = path.join(tokenDir(root), 'objects');
  const hurt = fs.readdirSync(objects).find((f) => !before.includes(f));
  const bytes = fs.readFileSync(path.join(objects, hurt));
  fs.writeFileSync(path.join(objects, hurt), bytes.subarray(0, bytes.length - 3));

  const { m: m2, s: s2 } = await openUser(root, slot);
  assert.ok(m2.takeWarnings().some((w) => w.includes(path.join(objects, hurt)) && /CKR_DEVICE_ERROR/.test(w)));
  assert.equal((await s2.findObjects({ [CKA.LABEL]: 'hurt' })).length, 0, 'nothing readable to match');
  const all = await s2.findObjects({});
  assert.equal(all.length, 2);
  const readable = [];
  let placeholder = null;
  for (const h of all) {
    try {
      readable.push(hex((await s2.getAttributes(h, [CKA.VALUE]))[CKA.VALUE]));
    } catch (e) {
      assert.equal(e.name, 'CKR_DEVICE_ERROR', e.message);
      placeholder = h;
    }
  }
  assert.deepEqual(readable, [hex(utf8('k'))], 'the intact object reads as before');
  assert.notEqual(placeholder, null);
  await rejects(s2.signInit(CKM.SHA256_HMAC, placeholder), 'CKR_DEVICE_ERROR');
  assert.ok(fs.existsSync(path.join(objects, hurt)), 'opening the token loses nothing');
  await s2.destroyObject(placeholder);
  assert.equal(fs.existsSync(path.join(objects, hurt)), false, 'destroying it removes the record');
  assert.equal((await s2.findObjects({})).length, 1);
  await m2.close();
});

test('a directory that is a file is a clear error', async () => {
  const file = path.join(tmpdir('file'), 'not-a-dir');
  fs.writeFileSync(file, 'x');
  const e = await rejects(Module.open({ store: dirStore(file) }), 'CKR_DEVICE_ERROR', 'open');
  assert.match(e.message, /not-a-dir/);
});

// ---- the native module ----

function conf(dir, extra = '') {
  const p = path.join(dir, 'anyhsm.toml');
  fs.writeFileSync(p, `test_token = true\n${extra}`);
  return p;
}

function native(root, confFile, ...args) {
  const env = { ...process.env, ANYHSM_TOKEN_DIR: root, ANYHSM_CONF: confFile, ANYHSM_LOG: 'error' };
  return JSON.parse(execFileSync(process.env.ANYHSM_PYTHON ?? 'python3', [path.join(here, 'native.py'), args[0], SO, ...args.slice(1)], { env, encoding: 'utf8' }));
}

function tool(root, confFile, ...args) {
  const env = { ...process.env, ANYHSM_TOKEN_DIR: root, ANYHSM_CONF: confFile, ANYHSM_LOG: 'error' };
  return execFileSync('pkcs11-tool', ['--module', SO, ...args], { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

test('a token written by Node opens in the native module, and the reverse', { skip: noNative }, async () => {
  const root = tmpdir('interop');
  const c = conf(root);
  const { module: m, slot, session: s } = await ready({ store: dirStore(root), label: 'interop' });
  const { publicKey } = await s.generateKeyPair(
    CKM.EC_KEY_PAIR_GEN,
    { [CKA.EC_PARAMS]: P256, [CKA.TOKEN]: true, [CKA.LABEL]: 'from-node', [CKA.VERIFY]: true },
    { [CKA.TOKEN]: true, [CKA.LABEL]: 'from-node', [CKA.SIGN]: true },
  );
  const point = hex(await s.getAttribute(publicKey, CKA.EC_POINT));
  const serial = (await m.tokenInfo(slot)).serial;
  await m.close();

  // Node → native: the native module lists the key with the same public point and signs with it.
  const listed = native(root, c, 'objects', 'interop');
  assert.equal(listed.serial, serial);
  assert.ok(listed.objects.some((o) => o.label === 'from-node' && o.ec_point === point), JSON.stringify(listed));
  const msg = utf8('signed natively');
  const { signature } = native(root, c, 'sign', 'interop', 'from-node', hex(msg));
  assert.match(tool(root, c, '--list-objects', '--login', '--pin', USER_PIN), /from-node/);

  // native → Node: the native signature verifies here; a key the native module made works here.
  native(root, c, 'genaes', 'interop', 'from-native');
  const { m: m2, s: s2 } = await openUser(root, slot);
  const [pub] = await s2.findObjects({ [CKA.CLASS]: CKO.PUBLIC_KEY, [CKA.LABEL]: 'from-node' });
  assert.equal(await s2.verify(CKM.ECDSA_SHA256, pub, msg, Buffer.from(signature, 'hex')), true);
  const [aes] = await s2.findObjects({ [CKA.LABEL]: 'from-native' });
  assert.equal(await s2.getAttribute(aes, CKA.KEY_TYPE), CKK.AES);
  const gcm = { mechanism: CKM.AES_GCM, parameter: { iv: new Uint8Array(12), tagBits: 128 } };
  const ct = await s2.encrypt(gcm, aes, utf8('both ways'));
  assert.deepEqual(await s2.decrypt(gcm, aes, ct), utf8('both ways'));
  // and a Node write after the native ones is seen natively again
  await s2.createObject({ [CKA.CLASS]: CKO.DATA, [CKA.TOKEN]: true, [CKA.LABEL]: 'node-again' });
  await m2.close();
  assert.ok(native(root, c, 'objects', 'interop').objects.some((o) => o.label === 'node-again'));
});

test('a token the native module left with frames in its log is replayed by Node, which empties the log', { skip: noNative }, async () => {
  const root = tmpdir('log');
  const c = conf(root);
  const { module: m, slot } = await ready({ store: dirStore(root), label: 'logged' });
  await m.close();
  const dir = tokenDir(root);
  const logFile = path.join(dir, 'log.bin');
  // Two native writes: each is a frame in log.bin, applied to the files without a sync.
  native(root, c, 'genaes', 'logged', 'k1');
  const metaAfterK1 = fs.readFileSync(path.join(dir, 'meta.bin'));
  const recordsAfterK1 = new Set(fs.readdirSync(path.join(dir, 'objects')));
  native(root, c, 'genaes', 'logged', 'k2');
  assert.ok(fs.statSync(logFile).size > 0, 'the native writes left frames');
  // As if the second native writer died after its commit point, before applying it: only
  // the log has k2.
  fs.writeFileSync(path.join(dir, 'meta.bin'), metaAfterK1);
  for (const f of fs.readdirSync(path.join(dir, 'objects'))) if (!recordsAfterK1.has(f)) fs.rmSync(path.join(dir, 'objects', f));

  const { m: m2, s: s2 } = await openUser(root, slot);
  assert.ok(m2.takeWarnings().some((w) => /replaying the \d+ batches of the native log/.test(w)));
  assert.equal(fs.statSync(logFile).size, 0, 'replayed, synced and emptied');
  for (const label of ['k1', 'k2']) {
    const [k] = await s2.findObjects({ [CKA.LABEL]: label });
    assert.equal(await s2.getAttribute(k, CKA.KEY_TYPE), CKK.AES, label);
  }
  await s2.createObject({ [CKA.CLASS]: CKO.DATA, [CKA.TOKEN]: true, [CKA.LABEL]: 'node-after-log' });
  await m2.close();
  assert.deepEqual(fs.readdirSync(dir).filter((f) => f.startsWith('.tmp-') || f === 'journal.bin'), []);

  // The native module sees all of it, and writes on in its log again.
  const labels = native(root, c, 'objects', 'logged').objects.map((o) => o.label);
  for (const label of ['k1', 'k2', 'node-after-log']) assert.ok(labels.includes(label), `${label} in ${labels}`);
  native(root, c, 'genaes', 'logged', 'k3');
  assert.ok(fs.statSync(logFile).size > 0);
  const { m: m3, s: s3 } = await openUser(root, slot);
  assert.equal((await s3.findObjects({ [CKA.LABEL]: 'k3' })).length, 1);
  assert.equal(fs.statSync(logFile).size, 0);
  await m3.close();
});

test('a snapshot exported from memory opens in the native module through a directory', { skip: noNative }, async () => {
  const { module: mem, slot, session: s } = await ready({ label: 'snap' });
  await s.generateKeyPair(CKM.EC_KEY_PAIR_GEN, { [CKA.EC_PARAMS]: P256, [CKA.TOKEN]: true }, { [CKA.TOKEN]: true, [CKA.SIGN]: true, [CKA.LABEL]: 'snapped' });
  const snap = await mem.exportToken(slot);
  await mem.close();
  const root = tmpdir('snap');
  const dir = await Module.open({ store: dirStore(root), testToken: true });
  await dir.importToken(snap);
  await dir.close();
  const { signature } = native(root, conf(root), 'sign', 'snap', 'snapped', hex(utf8('x')));
  assert.equal(signature.length, 128);
});

test('deterministic parity: the same seeded script natively and in wasm gives identical keys and signatures', { skip: noNative }, async () => {
  const seedHex = '5eed'.repeat(16);
  const seed = Buffer.from(seedHex, 'hex');
  // Natively: three processes (init token; SO sets the user PIN; user makes a key pair and signs).
  const nroot = tmpdir('parity-native');
  const c = conf(nroot, `deterministic_seed = "${seedHex}"\n`);
  tool(nroot, c, '--init-token', '--label', 'parity', '--so-pin', SO_PIN);
  tool(nroot, c, '--token-label', 'parity', '--login', '--login-type', 'so', '--so-pin', SO_PIN, '--init-pin', '--pin', USER_PIN);
  const nat = native(nroot, c, 'parity', 'parity');

  // In wasm: the same three steps, each in a fresh module on the same seed (a fresh process natively).
  const wroot = tmpdir('parity-wasm');
  const open = () => Module.open({ store: dirStore(wroot), testToken: true, deterministic: { seed } });
  let m = await open();
  await m.initToken(0, SO_PIN, 'parity');
  await m.close();
  m = await open();
  let s = await m.openSession(0);
  await s.login(CKU.SO, SO_PIN);
  await s.initPin(USER_PIN);
  await m.close();
  m = await open();
  s = await m.openSession(0);
  await s.login(CKU.USER, USER_PIN);
  const { publicKey, privateKey } = await s.generateKeyPair(
    CKM.EC_KEY_PAIR_GEN,
    { [CKA.EC_PARAMS]: P256, [CKA.TOKEN]: true, [CKA.LABEL]: 'parity', [CKA.VERIFY]: true },
    { [CKA.TOKEN]: true, [CKA.LABEL]: 'parity', [CKA.SIGN]: true, [CKA.PRIVATE]: true, [CKA.SENSITIVE]: true },
  );
  const wasm = {
    serial: (await m.tokenInfo(0)).serial,
    ec_point: hex(await s.getAttribute(publicKey, CKA.EC_POINT)),
    signature: hex(await s.sign(CKM.ECDSA_SHA256, privateKey, utf8('parity message'))),
  };
  assert.equal((await m.tokenInfo(0)).model, 'deterministic');
  await m.close();
  assert.deepEqual(wasm, { serial: nat.serial, ec_point: nat.ec_point, signature: nat.signature });
});
