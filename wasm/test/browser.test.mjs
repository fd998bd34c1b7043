// The package in real headless Chromium (playwright-core driving Debian's /usr/bin/chromium):
// IndexedDB persistence across a reload, two tabs writing one token at once, a forced
// database close, and a token exported in the browser opening natively.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

import { chromium } from 'playwright-core';
import { Module } from 'anyhsm';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.join(here, '..'); // the folder the package is installed in
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const SO = process.env.ANYHSM_PKCS11_SO;
const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript', '.wasm': 'application/wasm', '.json': 'application/json' };

let server;
let base;
let browser;

before(async () => {
  server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://x');
    const rel = url.pathname === '/' ? 'test/browser/index.html' : decodeURIComponent(url.pathname).replace(/^\/+/, '');
    const file = path.join(root, rel);
    if (!file.startsWith(root) || !fs.existsSync(file) || fs.statSync(file).isDirectory()) {
      res.writeHead(404).end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-store' });
    fs.createReadStream(file).pipe(res);
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${server.address().port}/`;
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
  });
});

after(async () => {
  await browser?.close();
  await new Promise((r) => server?.close(r) ?? r());
});

async function page(context) {
  const p = await context.newPage();
  const errors = [];
  p.on('pageerror', (e) => errors.push(e.message));
  p.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  await p.goto(base);
  await p.waitForFunction(() => window.ready === true);
  p.errors = errors;
  return p;
}

// Runs in the page: open the module on IndexedDB and log the user in (creating the token first if asked).
const OPEN = async ({ db, create }) => {
  const { Module, CKU } = window.anyhsm;
  const m = await Module.open({ store: { kind: 'indexeddb', name: db }, testToken: true });
  if (create) {
    await m.initToken(0, '12345678', 'browser');
    const so = await m.openSession(0);
    await so.login(CKU.SO, '12345678');
    await so.initPin('1234');
    await so.close();
  }
  const s = await m.openSession(0);
  await s.login(CKU.USER, '1234');
  window.m = m;
  window.s = s;
  return (await m.tokenInfo(0)).serial;
};

test('a token and key in IndexedDB survive a page reload and still sign', async () => {
  const context = await browser.newContext();
  const p = await page(context);
  const created = await p.evaluate(async (open) => {
    const serial = await eval(open)({ db: 'reload', create: true });
    const { CKA, CKM } = window.anyhsm;
    const P256 = new Uint8Array([6, 8, 0x2a, 0x86, 0x48, 0xce, 0x3d, 3, 1, 7]);
    const { publicKey } = await window.s.generateKeyPair(
      CKM.EC_KEY_PAIR_GEN,
      { [CKA.EC_PARAMS]: P256, [CKA.TOKEN]: true, [CKA.LABEL]: 'kept' },
      { [CKA.TOKEN]: true, [CKA.SIGN]: true, [CKA.LABEL]: 'kept' },
    );
    const point = Array.from(await window.s.getAttribute(publicKey, CKA.EC_POINT));
    return { serial, point, persist: typeof (await window.anyhsm.requestPersistentStorage()), persisted: typeof (await window.anyhsm.isStoragePersisted()) };
  }, OPEN.toString());
  assert.equal(created.persist, 'boolean');
  assert.equal(created.persisted, 'boolean');
  await p.reload();
  await p.waitForFunction(() => window.ready === true);
  const after = await p.evaluate(async (open) => {
    const serial = await eval(open)({ db: 'reload', create: false });
    const { CKA, CKM, CKO } = window.anyhsm;
    const [priv] = await window.s.findObjects({ [CKA.CLASS]: CKO.PRIVATE_KEY, [CKA.LABEL]: 'kept' });
    const [pub] = await window.s.findObjects({ [CKA.CLASS]: CKO.PUBLIC_KEY, [CKA.LABEL]: 'kept' });
    const data = new TextEncoder().encode('after reload');
    const sig = await window.s.sign(CKM.ECDSA_SHA256, priv, data);
    return {
      serial,
      point: Array.from(await window.s.getAttribute(pub, CKA.EC_POINT)),
      verified: await window.s.verify(CKM.ECDSA_SHA256, pub, data, sig),
      slots: await window.m.slots(),
    };
  }, OPEN.toString());
  assert.equal(after.serial, created.serial);
  assert.deepEqual(after.point, created.point);
  assert.equal(after.verified, true);
  assert.deepEqual(after.slots, [0, 1]);
  assert.deepEqual(p.errors, []);
  await context.close();
});

test('two tabs creating objects on one token at the same time lose nothing', async () => {
  const context = await browser.newContext();
  const a = await page(context);
  const b = await page(context);
  await a.evaluate((open) => eval(open)({ db: 'tabs', create: true }), OPEN.toString());
  await b.evaluate((open) => eval(open)({ db: 'tabs', create: false }), OPEN.toString());
  const N = 25;
  const burst = (who) => async ({ who, n }) => {
    const { CKA, CKO } = window.anyhsm;
    const made = await Promise.all(
      Array.from({ length: n }, (_, i) => window.s.createObject({ [CKA.CLASS]: CKO.DATA, [CKA.TOKEN]: true, [CKA.LABEL]: `${who}${i}` })),
    );
    return made.length;
  };
  const [x, y] = await Promise.all([a.evaluate(burst('a'), { who: 'a', n: N }), b.evaluate(burst('b'), { who: 'b', n: N })]);
  assert.equal(x + y, 2 * N);
  const count = () => window.s.findObjects({ [window.anyhsm.CKA.CLASS]: window.anyhsm.CKO.DATA }).then((h) => h.length);
  assert.equal(await a.evaluate(count), 2 * N);
  assert.equal(await b.evaluate(count), 2 * N);
  const c = await page(context);
  await c.evaluate((open) => eval(open)({ db: 'tabs', create: false }), OPEN.toString());
  const labels = await c.evaluate(async () => {
    const { CKA, CKO } = window.anyhsm;
    const out = new Set();
    for (const h of await window.s.findObjects({ [CKA.CLASS]: CKO.DATA })) out.add(new TextDecoder().decode(await window.s.getAttribute(h, CKA.LABEL)));
    return out.size;
  });
  assert.equal(labels, 2 * N);
  for (const p of [a, b, c]) assert.deepEqual(p.errors, []);
  await context.close();
});

test('a database closed by force gives a clear error instead of hanging', async () => {
  const context = await browser.newContext();
  const p = await page(context);
  await p.evaluate((open) => eval(open)({ db: 'forced', create: true }), OPEN.toString());
  // What clearing site data does: the browser closes every connection to the origin's databases.
  const cdp = await context.newCDPSession(p);
  await cdp.send('Storage.clearDataForOrigin', { origin: new URL(base).origin, storageTypes: 'indexeddb' });
  const result = await p.evaluate(async () => {
    const { CKA, CKO } = window.anyhsm;
    const deadline = new Promise((r) => setTimeout(() => r({ hung: true }), 5000));
    const attempt = window.s.createObject({ [CKA.CLASS]: CKO.DATA, [CKA.TOKEN]: true }).then(
      () => ({ ok: true }),
      (e) => ({ name: e.name, code: e.code, method: e.method, message: e.message }),
    );
    const r = await Promise.race([attempt, deadline]);
    return { ...r, closed: window.m.closed };
  });
  assert.equal(result.hung, undefined, 'the call must not hang');
  assert.equal(result.name, 'CKR_DEVICE_REMOVED', JSON.stringify(result));
  assert.equal(result.method, 'createObject');
  assert.match(result.message, /IndexedDB 'forced' was closed/);
  assert.equal(result.closed, true);

  // The same for a database another tab deletes (versionchange).
  await p.evaluate((open) => eval(open)({ db: 'deleted', create: true }), OPEN.toString());
  const q = await page(context);
  await q.evaluate(() => new Promise((resolve, reject) => {
    const req = indexedDB.deleteDatabase('deleted');
    req.onsuccess = resolve;
    req.onerror = () => reject(req.error);
  }));
  const r2 = await p.evaluate(() => window.s.digest(window.anyhsm.CKM.SHA256, new Uint8Array(1)).then(() => 'ok', (e) => e.name));
  assert.equal(r2, 'CKR_DEVICE_REMOVED');
  await context.close();
});

test('a token exported in the browser imports in Node and opens natively', async () => {
  const context = await browser.newContext();
  const p = await page(context);
  const snap = await p.evaluate(async (open) => {
    await eval(open)({ db: 'export', create: true });
    const { CKA, CKM } = window.anyhsm;
    const P256 = new Uint8Array([6, 8, 0x2a, 0x86, 0x48, 0xce, 0x3d, 3, 1, 7]);
    await window.s.generateKeyPair(CKM.EC_KEY_PAIR_GEN, { [CKA.EC_PARAMS]: P256, [CKA.TOKEN]: true, [CKA.LABEL]: 'exported' }, { [CKA.TOKEN]: true, [CKA.SIGN]: true, [CKA.LABEL]: 'exported' });
    return Array.from(await window.m.exportToken(0));
  }, OPEN.toString());
  await context.close();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'anyhsm-browser-export-'));
  const m = await Module.open({ store: { kind: 'directory', path: dir }, testToken: true });
  assert.equal(await m.importToken(Uint8Array.from(snap)), 0);
  await m.close();
  if (!SO || SO === 'none') {
    fs.rmSync(dir, { recursive: true, force: true });
    return;
  }
  fs.writeFileSync(path.join(dir, 'anyhsm.toml'), 'test_token = true\n');
  const out = execFileSync(process.env.ANYHSM_PYTHON ?? 'python3', [path.join(here, 'native.py'), 'objects', SO, 'browser'], {
    env: { ...process.env, ANYHSM_TOKEN_DIR: dir, ANYHSM_CONF: path.join(dir, 'anyhsm.toml'), ANYHSM_LOG: 'error' },
    encoding: 'utf8',
  });
  assert.ok(JSON.parse(out).objects.some((o) => o.label === 'exported'), out);
  fs.rmSync(dir, { recursive: true, force: true });
});
