// The web demo, end to end, in real Chromium (Debian's /usr/bin/chromium, driven by playwright-core).
// It serves web-demo/ on a free port, walks the page through everything a person can do, saves
// screenshots of the main states under test/out/, and fails on any console error, uncaught
// exception, failed request or request leaving 127.0.0.1.
//
//   npm --prefix web-demo test
//
// Environment: CHROMIUM (path, default /usr/bin/chromium); UPDATE_SCREENSHOT=1 also writes the
// README's web-demo/screenshot.png.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readdir, rm, copyFile, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

import { chromium } from 'playwright-core';

import { startServer } from '../server.mjs';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const OUT = join(HERE, 'out');
const ROOT = join(HERE, '..');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--no-first-run'];
const STEP_TIMEOUT = 180_000;
const WAIT = 90_000; // one action (PIN hashing with the real KDF, RSA generation) may take a while

const LABEL = 'Demo token';
const SO_PIN = 'so-secret-4321';
const USER_PIN = '246810';
const MESSAGE = 'Pay Alice 10 EUR';
const SEED = 'c0ffee00112233445566778899aabbccddeeff00112233445566778899aabbcc';

let server;
let browser;
let context;
let page;
const problems = []; // console errors, page errors, failed or foreign requests — from every tab
let failed = false;
let shot = 0;

function watch(p, tab) {
  p.on('console', (msg) => {
    if (msg.type() === 'error') problems.push(`[${tab}] console.error: ${msg.text()}`);
  });
  p.on('pageerror', (err) => problems.push(`[${tab}] uncaught: ${err.message}`));
  p.on('request', (req) => {
    const url = req.url();
    if (!url.startsWith(server.url) && !/^(data|blob):/.test(url)) problems.push(`[${tab}] request off this machine: ${url}`);
  });
  p.on('requestfailed', (req) => {
    // a download's blob: navigation is reported as aborted; that is not a failure
    if (!req.url().startsWith('blob:')) problems.push(`[${tab}] request failed: ${req.url()} ${req.failure()?.errorText}`);
  });
  p.on('response', (res) => {
    if (res.status() >= 400) problems.push(`[${tab}] HTTP ${res.status()}: ${res.url()}`);
  });
}

/** A step of the flow: skipped once an earlier one failed; fails on any new console problem. */
function step(name, fn) {
  it(name, { timeout: STEP_TIMEOUT }, async (t) => {
    if (failed) {
      t.skip('an earlier step failed');
      return;
    }
    try {
      await fn(t);
      assert.deepEqual(problems, [], 'console errors, uncaught exceptions or bad requests');
    } catch (err) {
      failed = true;
      await snap('FAILED').catch(() => {});
      throw err;
    }
  });
}

async function snap(name, p = page, opts = {}) {
  shot += 1;
  const file = join(OUT, `${String(shot).padStart(2, '0')}-${name}.png`);
  await p.screenshot({ path: file, fullPage: true, ...opts });
  return file;
}

const FINAL = ['ok', 'error', 'bad', 'info'];

/** Wait until the status line `#id` shows a final result; check its kind and text. */
async function status(p, id, kind, pattern, timeout = WAIT) {
  const handle = await p.waitForFunction(
    ([sid, kinds]) => {
      const el = document.getElementById(sid);
      const k = el && kinds.find((c) => el.classList.contains(c));
      return k ? { kind: k, text: (el.querySelector('.msg') ?? el).textContent } : null;
    },
    [id, FINAL],
    { timeout, polling: 50 },
  );
  const got = await handle.jsonValue();
  assert.equal(got.kind, kind, `#${id} should be ${kind}, says (${got.kind}): ${got.text}`);
  if (pattern) assert.match(got.text, pattern, `#${id}`);
  return got.text;
}

/**
 * Submit the create form and wait for its news beside the token list. That line still shows
 * the store's earlier "No tokens…" info until the token exists (the form's own busy line is
 * elsewhere), so first wait until it says something else that is not info.
 */
async function createToken(p, pattern) {
  const before = await p.evaluate(() => document.getElementById('token-status').textContent);
  await p.click('#create-btn');
  await p.waitForFunction(
    (old) => {
      const el = document.getElementById('token-status');
      return el.textContent !== old && !el.classList.contains('info');
    },
    before,
    { timeout: WAIT, polling: 50 },
  );
  return status(p, 'token-status', 'ok', pattern);
}

/** Click (or press Enter in) something and wait for the status line beside it. */
async function act(p, selector, id, kind, pattern, { key } = {}) {
  if (key) await p.press(selector, key);
  else await p.click(selector);
  return status(p, id, kind, pattern);
}

const text = (p, sel) => p.locator(sel).innerText();

/** The objects table as plain rows. */
async function objects(p = page) {
  return p.$$eval('#objects-body tr[data-handle]', (rows) =>
    rows.map((tr) => {
      const c = [...tr.cells].map((td) => td.textContent.trim());
      return { handle: Number(tr.dataset.handle), cls: c[0], type: c[1], label: c[2], id: c[3], sensitive: c[4], extractable: c[5] };
    }),
  );
}

const find = (rows, cls, label) => rows.find((r) => r.cls === cls && r.label === label);

async function flags(p = page) {
  return p.$$eval('#ti-flags li', (lis) => lis.map((li) => li.textContent));
}

async function selectByText(p, selectId, fragment) {
  const value = await p.$eval(
    `#${selectId}`,
    (sel, frag) => [...sel.options].find((o) => o.textContent.includes(frag))?.value,
    fragment,
  );
  assert.ok(value, `#${selectId} should offer “${fragment}”`);
  await p.selectOption(`#${selectId}`, value);
}

async function load(p) {
  await p.goto(server.url);
  await p.waitForSelector('html[data-ready="true"]', { timeout: WAIT });
}

/** Open a store; `tokens` is the count the page should report. */
async function openStore(p, kind, tokens) {
  await p.check(`input[name="store"][value="${kind}"]`);
  const what = kind === 'indexeddb' ? 'the browser store' : 'a memory store';
  await act(p, '#open-btn', 'open-status', 'ok', new RegExp(`^Opened ${what}\\.$`));
  const count = tokens === 0 ? /^No tokens in this store yet/ : new RegExp(`^${tokens} tokens? in this store\\.$`);
  return status(p, 'token-status', 'info', count);
}

async function login(p, pin = USER_PIN) {
  await p.fill('#login-pin', pin);
  return act(p, '#login-pin', 'login-status', 'ok', /Logged in/, { key: 'Enter' });
}

/** Did a progress indicator show in `#id` while `fn` ran? (A MutationObserver sees even short ones.) */
async function withProgressWatch(p, id, fn) {
  await p.evaluate((sid) => {
    window.__sawProgress = false;
    const el = document.getElementById(sid);
    window.__progressObserver?.disconnect();
    window.__progressObserver = new MutationObserver(() => {
      if (el.querySelector('progress')) window.__sawProgress = true;
    });
    window.__progressObserver.observe(el, { childList: true, subtree: true });
  }, id);
  const result = await fn();
  const saw = await p.evaluate(() => window.__sawProgress);
  return { result, saw };
}

describe('anyhsm web demo in Chromium', { concurrency: false }, () => {
  // what later steps check against
  const seen = {};

  before(async () => {
    await rm(OUT, { recursive: true, force: true });
    await mkdir(OUT, { recursive: true });
    server = await startServer({ port: 0 });
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS });
    context = await browser.newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
    page = await context.newPage();
    watch(page, 'tab 1');
  });

  after(async () => {
    await context?.close().catch(() => {});
    await browser?.close().catch(() => {});
    await server?.close();
    if (problems.length) console.error(`problems seen:\n  ${problems.join('\n  ')}`);
  });

  step('the page loads from 127.0.0.1, every control is labelled', async () => {
    await load(page);
    const unlabelled = await page.$$eval('input, select, textarea, output, button', (els) =>
      els
        .filter((el) => {
          if (el.type === 'hidden') return false;
          if (el.tagName === 'BUTTON') return !(el.getAttribute('aria-label') || el.textContent.trim());
          return !(el.labels?.length || el.getAttribute('aria-label') || el.getAttribute('aria-labelledby'));
        })
        .map((el) => el.outerHTML.slice(0, 80)),
    );
    assert.deepEqual(unlabelled, [], 'controls without a label');
    const pkg = await (await fetch(new URL('node_modules/anyhsm/package.json', server.url))).json();
    assert.equal(pkg.name, 'anyhsm', 'the installed package is served');
    const importMap = JSON.parse(await page.$eval('script[type="importmap"]', (s) => s.textContent));
    assert.match(importMap.imports.anyhsm, /^\/node_modules\/anyhsm\//, 'the page imports the installed package');
    await snap('start');
  });

  step('open the IndexedDB store; persistent storage is reported', async () => {
    await openStore(page, 'indexeddb', 0);
    assert.match(await text(page, '#fact-store'), /IndexedDB/);
    assert.match(await text(page, '#fact-persist'), /^(Granted|Not granted)/);
    const wasmType = await page.evaluate(async () => {
      const u = performance.getEntriesByType('resource').map((e) => e.name).find((n) => n.endsWith('.wasm'));
      if (!u) return null;
      const res = await fetch(u);
      return [u, res.headers.get('content-type')];
    });
    if (wasmType) assert.equal(wasmType[1], 'application/wasm', `${wasmType[0]} is served as application/wasm`);
  });

  step('create a token with a label, an SO PIN and a user PIN', async () => {
    assert.equal(await page.locator('#create-details').getAttribute('open'), '', 'the create form is open when there is no token');
    await page.fill('#new-label', LABEL);
    await page.fill('#new-so-pin', SO_PIN);
    await page.fill('#new-user-pin', USER_PIN);
    await createToken(page, new RegExp(`Created “${LABEL}” \\(serial [0-9a-f]{16}\\) and logged in`));
    seen.serial = await text(page, '#ti-serial');
    assert.match(seen.serial, /^[0-9a-f]{16}$/);
    assert.equal(await text(page, '#ti-label'), LABEL);
    assert.equal(await text(page, '#ti-login'), 'Yes, as the user');
    assert.match(await text(page, '#ti-generation'), /^\d+$/, 'tokenInfo reports the store generation');
    const f = await flags();
    for (const flag of ['TOKEN_INITIALIZED', 'USER_PIN_INITIALIZED', 'LOGIN_REQUIRED', 'RNG']) assert.ok(f.includes(flag), flag);
    assert.match(await page.locator('#token-select option:checked').innerText(), new RegExp(`${LABEL} — serial ${seen.serial}`));
    await snap('token-created');
  });

  step('a wrong PIN is reported beside the login form; the right one logs in', async () => {
    await act(page, '#logout-btn', 'login-status', 'ok', /Logged out/);
    assert.equal(await text(page, '#ti-login'), 'No');
    await page.fill('#login-pin', 'not-the-pin');
    await act(page, '#login-pin', 'login-status', 'error', /^Wrong PIN\..*\(CKR_PIN_INCORRECT from login\)$/, { key: 'Enter' });
    assert.ok((await flags()).includes('USER_PIN_COUNT_LOW'), 'CKF_USER_PIN_COUNT_LOW after a wrong PIN');
    assert.match(await text(page, '#ti-pin'), /wrong PIN was entered/);
    await snap('wrong-pin');
    await login(page);
    assert.ok(!(await flags()).includes('USER_PIN_COUNT_LOW'), 'a good login resets the failure count');
    assert.equal(await text(page, '#ti-login'), 'Yes, as the user');
  });

  step('key-generation buttons follow mechanisms(slot)', async () => {
    const shown = await page.$$eval('#mech-list li', (lis) => lis.map((li) => li.textContent));
    // ask the package directly, from the page, as a user's own code would
    const listed = await page.evaluate(async () => {
      const { Module, CKM } = await import('anyhsm');
      const m = await Module.open({ store: 'memory' });
      const slots = await m.slots();
      const mechs = await m.mechanisms(slots[slots.length - 1]);
      await m.close();
      const names = new Map(Object.entries(CKM).map(([k, v]) => [v, `CKM_${k}`]).reverse());
      return mechs.map((x) => names.get(x));
    });
    assert.deepEqual([...shown].sort(), [...listed].sort(), 'the page lists what mechanisms(slot) answers');
    seen.mechs = new Set(shown);
    for (const [id, mech] of [['gen-ec', 'CKM_EC_KEY_PAIR_GEN'], ['gen-aes', 'CKM_AES_KEY_GEN'],
      ['gen-ed25519', 'CKM_EC_EDWARDS_KEY_PAIR_GEN'], ['gen-rsa', 'CKM_RSA_PKCS_KEY_PAIR_GEN'],
      ['gen-mldsa', 'CKM_ML_DSA_KEY_PAIR_GEN']]) {
      assert.equal(await page.isVisible(`#${id}`), seen.mechs.has(mech), `#${id} visible iff ${mech} is listed`);
    }
    assert.ok(seen.mechs.has('CKM_EC_KEY_PAIR_GEN') && seen.mechs.has('CKM_AES_KEY_GEN'), 'EC and AES key generation exist');
  });

  step('generate EC P-256 and AES-256 keys (and Ed25519, RSA-2048, ML-DSA-65 where available)', async () => {
    await page.fill('#gen-label', 'signing key');
    const ec = await withProgressWatch(page, 'gen-status', () =>
      act(page, '#gen-ec', 'gen-status', 'ok', /Generated EC P-256 key pair “signing key”/));
    assert.ok(ec.saw, 'a progress indicator while generating');
    await page.fill('#gen-label', 'secret key');
    await act(page, '#gen-aes', 'gen-status', 'ok', /Generated AES-256 key “secret key”/);
    const extra = [['gen-ed25519', 'Ed25519', 'CKM_EC_EDWARDS_KEY_PAIR_GEN'], ['gen-rsa', 'RSA-2048', 'CKM_RSA_PKCS_KEY_PAIR_GEN'],
      ['gen-mldsa', 'ML-DSA-65', 'CKM_ML_DSA_KEY_PAIR_GEN']];
    seen.extraTypes = [];
    for (const [id, name, mech] of extra) {
      if (!seen.mechs.has(mech)) continue;
      await page.fill('#gen-label', `${name} key`);
      const r = await withProgressWatch(page, 'gen-status', () =>
        act(page, `#${id}`, 'gen-status', 'ok', new RegExp(`Generated ${name} key pair`)));
      assert.ok(r.saw, `a progress indicator while generating ${name}`);
      seen.extraTypes.push(name);
    }
    const rows = await objects();
    const priv = find(rows, 'private key', 'signing key');
    const pub = find(rows, 'public key', 'signing key');
    const aes = find(rows, 'secret key', 'secret key');
    assert.ok(priv && pub && aes, `the table lists the new objects: ${JSON.stringify(rows)}`);
    assert.equal(priv.type, 'EC P-256');
    assert.equal(pub.type, 'EC P-256');
    assert.equal(aes.type, 'AES-256');
    assert.match(priv.id, /^[0-9a-f]{16}$/);
    assert.equal(pub.id, priv.id, 'the pair shares its CKA_ID');
    assert.deepEqual([priv.sensitive, priv.extractable], ['yes', 'no'], 'private key: sensitive, not extractable');
    assert.deepEqual([aes.sensitive, aes.extractable], ['yes', 'no'], 'secret key: sensitive, not extractable');
    assert.deepEqual([pub.sensitive, pub.extractable], ['—', '—'], 'public key: neither flag applies');
    for (const name of seen.extraTypes) assert.ok(rows.some((r) => r.cls === 'private key' && r.type === name), name);
    seen.ecId = priv.id;
    await snap('keys');
  });

  step('sign a message and verify it; an edited message fails verification', async () => {
    await selectByText(page, 'sign-key', 'signing key');
    await page.fill('#sign-text', MESSAGE);
    await act(page, '#sign-btn', 'sign-status', 'ok', /Signed 16 bytes with “signing key” \(CKM_ECDSA_SHA256\)/);
    seen.signature = await page.inputValue('#sign-out');
    assert.match(seen.signature, /^[0-9a-f]{128}$/, 'an ECDSA P-256 signature is r‖s, 64 bytes');
    await act(page, '#verify-btn', 'sign-status', 'ok', /Valid signature/);
    await act(page, '#webcrypto-btn', 'sign-status', 'ok', /WebCrypto agrees: valid/);
    await page.locator('#sign-text').pressSequentially('0'); // "…10 EUR" becomes "…10 EUR0"
    await status(page, 'sign-status', 'info', /message changed since it was signed/);
    await act(page, '#verify-btn', 'sign-status', 'bad', /Invalid signature/);
    await snap('verify-failed');
    await act(page, '#webcrypto-btn', 'sign-status', 'bad', /WebCrypto says: invalid/);
    await page.fill('#sign-text', MESSAGE);
    await act(page, '#verify-btn', 'sign-status', 'ok', /Valid signature/);
  });

  step('the other key types the engine has sign, verify and export too', async (t) => {
    if (seen.extraTypes.length === 0) {
      t.skip('the engine lists none of Ed25519, RSA-2048, ML-DSA-65 key generation');
      return;
    }
    const mechFor = { 'Ed25519': 'CKM_EDDSA', 'RSA-2048': 'CKM_SHA256_RSA_PKCS', 'ML-DSA-65': 'CKM_ML_DSA' };
    const webCrypto = { 'Ed25519': true, 'RSA-2048': true, 'ML-DSA-65': false };
    const jwkKty = { 'Ed25519': 'OKP', 'RSA-2048': 'RSA' };
    for (const name of seen.extraTypes) {
      await selectByText(page, 'sign-key', `${name} key`);
      await page.fill('#sign-text', MESSAGE);
      if (!seen.mechs.has(mechFor[name])) {
        await act(page, '#sign-btn', 'sign-status', 'error', /not supported/);
        t.diagnostic(`${name}: ${mechFor[name]} not listed; signing refused as expected`);
        continue;
      }
      await act(page, '#sign-btn', 'sign-status', 'ok', new RegExp(`Signed 16 bytes with “${name} key” \\(${mechFor[name]}\\)`));
      await act(page, '#verify-btn', 'sign-status', 'ok', /Valid signature/);
      if (webCrypto[name]) await act(page, '#webcrypto-btn', 'sign-status', 'ok', /WebCrypto agrees: valid/);
      await page.locator('#sign-text').pressSequentially('!');
      await act(page, '#verify-btn', 'sign-status', 'bad', /Invalid signature/);
      await selectByText(page, 'pub-key', `${name} key`);
      await act(page, '#pub-btn', 'pub-status', 'ok', new RegExp(`Exported “${name} key”`));
      assert.match(await page.inputValue('#pub-pem'), /^-----BEGIN PUBLIC KEY-----\n/);
      if (jwkKty[name]) assert.equal(JSON.parse(await page.inputValue('#pub-jwk')).kty, jwkKty[name]);
    }
  });

  step('encrypt and decrypt with AES-GCM; a changed ciphertext is refused', async () => {
    await selectByText(page, 'crypt-key', 'secret key');
    const plain = 'Meet me at the usual place at noon. ✓';
    await page.fill('#plain-text', plain);
    await act(page, '#encrypt-btn', 'crypt-status', 'ok', /Encrypted 39 bytes with “secret key”: 55 bytes out/);
    const iv1 = await page.inputValue('#crypt-iv');
    const ct1 = await page.inputValue('#crypt-out');
    assert.match(iv1, /^[0-9a-f]{24}$/, 'a 12-byte IV');
    assert.match(ct1, /^[0-9a-f]{110}$/, 'ciphertext and a 16-byte tag');
    await act(page, '#decrypt-btn', 'crypt-status', 'ok', /Decrypted and authenticated 39 bytes/);
    assert.equal(await page.locator('#decrypted').textContent(), plain);
    await act(page, '#encrypt-btn', 'crypt-status', 'ok', /Encrypted/);
    assert.notEqual(await page.inputValue('#crypt-iv'), iv1, 'a fresh IV each time');
    assert.notEqual(await page.inputValue('#crypt-out'), ct1);
    const ct = await page.inputValue('#crypt-out');
    const flipped = ct.slice(0, -1) + (ct.at(-1) === '0' ? '1' : '0');
    await page.fill('#crypt-out', flipped);
    await act(page, '#decrypt-btn', 'crypt-status', 'error', /Decryption failed.*\(CKR_[A-Z_]+ from decrypt\)/);
    assert.equal(await page.locator('#decrypted').textContent(), '', 'nothing is shown for a forged ciphertext');
    await page.fill('#crypt-out', ct);
    await act(page, '#decrypt-btn', 'crypt-status', 'ok', /Decrypted/);
    await snap('encrypt-decrypt');
  });

  step('export the public key as PEM and JWK; WebCrypto accepts both', async () => {
    await selectByText(page, 'pub-key', 'signing key');
    await act(page, '#pub-btn', 'pub-status', 'ok', /Exported “signing key”/);
    const pem = await page.inputValue('#pub-pem');
    assert.match(pem, /^-----BEGIN PUBLIC KEY-----\n([A-Za-z0-9+/]{64}\n)*[A-Za-z0-9+/=]{1,64}\n-----END PUBLIC KEY-----\n$/);
    const jwk = JSON.parse(await page.inputValue('#pub-jwk'));
    assert.equal(jwk.kty, 'EC');
    assert.equal(jwk.crv, 'P-256');
    assert.match(jwk.x, /^[A-Za-z0-9_-]{43}$/);
    assert.match(jwk.y, /^[A-Za-z0-9_-]{43}$/);
    assert.equal(jwk.kid, seen.ecId);
    seen.jwk = jwk;
    const check = await page.evaluate(
      async ({ pem, jwk, sig, msg }) => {
        const der = Uint8Array.from(atob(pem.replace(/-----[A-Z ]+-----|\s/g, '')), (c) => c.charCodeAt(0));
        const alg = { name: 'ECDSA', namedCurve: 'P-256' };
        const fromSpki = await crypto.subtle.importKey('spki', der, alg, true, ['verify']);
        const fromJwk = await crypto.subtle.importKey('jwk', { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y }, alg, true, ['verify']);
        const s = Uint8Array.from(sig.match(/../g), (h) => parseInt(h, 16));
        const data = new TextEncoder().encode(msg);
        const spkiAsJwk = await crypto.subtle.exportKey('jwk', fromSpki);
        return {
          samePoint: spkiAsJwk.x === jwk.x && spkiAsJwk.y === jwk.y,
          spkiVerifies: await crypto.subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, fromSpki, s, data),
          jwkVerifies: await crypto.subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, fromJwk, s, data),
        };
      },
      { pem, jwk, sig: seen.signature, msg: MESSAGE },
    );
    assert.deepEqual(check, { samePoint: true, spkiVerifies: true, jwkVerifies: true });
    await snap('export-public-key');
    // The README's picture: the EC key signing and verifying beside everything else.
    await selectByText(page, 'sign-key', 'signing key');
    await page.fill('#sign-text', MESSAGE);
    await act(page, '#sign-btn', 'sign-status', 'ok', /Signed/);
    await act(page, '#verify-btn', 'sign-status', 'ok', /Valid signature/);
    seen.signature = await page.inputValue('#sign-out');
    await page.evaluate(() => window.scrollTo(0, 0));
    const file = await snap('main-state');
    if (process.env.UPDATE_SCREENSHOT === '1') await copyFile(file, join(ROOT, 'screenshot.png'));
  });

  step('a reload keeps the token and its keys', async () => {
    await page.reload();
    await page.waitForSelector('html[data-ready="true"]', { timeout: WAIT });
    await openStore(page, 'indexeddb', 1);
    assert.equal(await text(page, '#ti-serial'), seen.serial);
    assert.equal(await text(page, '#ti-login'), 'No', 'a new page starts logged out');
    let rows = await objects();
    assert.ok(find(rows, 'public key', 'signing key'), 'the public key is visible without logging in');
    assert.ok(!find(rows, 'private key', 'signing key'), 'the private key is hidden until login');
    await login(page);
    rows = await objects();
    assert.equal(find(rows, 'private key', 'signing key')?.id, seen.ecId, 'same private key after the reload');
    assert.ok(find(rows, 'secret key', 'secret key'), 'the AES key survived too');
    await selectByText(page, 'sign-key', 'signing key');
    await page.fill('#sign-text', MESSAGE);
    await page.fill('#sign-out', seen.signature);
    await act(page, '#verify-btn', 'sign-status', 'ok', /Valid signature/);
    await snap('after-reload');
  });

  step('a second tab sees a key created in the first', async () => {
    const tab2 = await context.newPage();
    watch(tab2, 'tab 2');
    try {
      await load(tab2);
      await openStore(tab2, 'indexeddb', 1);
      assert.equal(await text(tab2, '#ti-serial'), seen.serial);
      await login(tab2);
      assert.ok(find(await objects(tab2), 'private key', 'signing key'));
      // now tab 1 makes a key…
      await page.bringToFront();
      await page.fill('#gen-label', 'made in tab 1');
      await act(page, '#gen-ec', 'gen-status', 'ok', /Generated EC P-256 key pair “made in tab 1”/);
      const id = find(await objects(page), 'private key', 'made in tab 1').id;
      // …and tab 2 sees it: told by a BroadcastChannel message, read from IndexedDB
      await tab2.bringToFront();
      await tab2.waitForSelector('#objects-body tr[data-handle] >> text="made in tab 1"', { timeout: WAIT });
      await act(tab2, '#refresh-btn', 'objects-status', 'ok', /objects? visible/);
      assert.equal(find(await objects(tab2), 'private key', 'made in tab 1')?.id, id);
      // and can use it
      await selectByText(tab2, 'sign-key', 'made in tab 1');
      await act(tab2, '#sign-btn', 'sign-status', 'ok', /Signed .* with “made in tab 1”/);
      await act(tab2, '#verify-btn', 'sign-status', 'ok', /Valid signature/);
      await snap('second-tab', tab2);
    } finally {
      await tab2.close();
      await page.bringToFront();
    }
  });

  step('delete an object (with a confirmation)', async () => {
    await page.click('#refresh-btn');
    await status(page, 'objects-status', 'ok');
    const row = find(await objects(), 'secret key', 'secret key');
    const button = page.locator(`#objects-body tr[data-handle="${row.handle}"] button`);
    assert.equal(await button.getAttribute('aria-label'), 'Delete secret key “secret key”');
    await button.click();
    assert.equal(await button.innerText(), 'Confirm delete');
    await act(page, `#objects-body tr[data-handle="${row.handle}"] button`, 'objects-status', 'ok', /Deleted the secret key “secret key”/);
    assert.ok(!find(await objects(), 'secret key', 'secret key'), 'gone from the list');
    assert.match(await page.locator('#crypt-key option:checked').innerText(), /No AES key/);
    await snap('deleted');
  });

  step('export the token to a file and import it into a memory store', async () => {
    const [download] = await Promise.all([
      page.waitForEvent('download', { timeout: WAIT }),
      page.click('#export-token-btn'),
    ]);
    await status(page, 'transfer-status', 'ok', /Saved demo-token-[0-9a-f]{16}\.anyhsm \(\d+ bytes\)/);
    assert.equal(download.suggestedFilename(), `demo-token-${seen.serial}.anyhsm`);
    const file = join(OUT, download.suggestedFilename());
    await download.saveAs(file);
    assert.ok((await readFile(file)).length > 100, 'the snapshot has content');
    // the same store already holds that token: the error shows beside the import
    await page.setInputFiles('#import-file', file);
    await status(page, 'transfer-status', 'error', /already holds a token with that serial.*\(CKR_TOKEN_NOT_RECOGNIZED from importToken\)/);
    // a file that is not a snapshot
    await page.setInputFiles('#import-file', { name: 'junk.anyhsm', mimeType: 'application/octet-stream', buffer: Buffer.from('not a token') });
    await status(page, 'transfer-status', 'error', /\(CKR_[A-Z_]+ from importToken\)/);
    // into a memory store
    await openStore(page, 'memory', 0);
    await page.setInputFiles('#import-file', file);
    await status(page, 'transfer-status', 'ok', new RegExp(`Imported “${LABEL}” \\(serial ${seen.serial}\\)`));
    assert.equal(await text(page, '#ti-serial'), seen.serial);
    await login(page);
    const rows = await objects();
    assert.equal(find(rows, 'private key', 'signing key')?.id, seen.ecId, 'the key came along');
    assert.ok(find(rows, 'private key', 'made in tab 1'));
    assert.ok(!find(rows, 'secret key', 'secret key'), 'the deleted key stays deleted');
    await selectByText(page, 'pub-key', 'signing key');
    await act(page, '#pub-btn', 'pub-status', 'ok');
    assert.deepEqual(JSON.parse(await page.inputValue('#pub-jwk')), seen.jwk, 'same public key after the move');
    await snap('imported');
  });

  step('a locked PIN is reported; the SO sets a new user PIN', async () => {
    // on the imported memory copy, so the browser token keeps its PIN
    await act(page, '#logout-btn', 'login-status', 'ok', /Logged out/);
    for (let i = 1; i <= 10; i++) {
      await page.fill('#login-pin', `wrong-${i}`);
      const msg = await act(page, '#login-pin', 'login-status', 'error', /CKR_PIN_INCORRECT from login/, { key: 'Enter' });
      if (i === 9) {
        assert.match(msg, /One attempt left/);
        assert.ok((await flags()).includes('USER_PIN_FINAL_TRY'), 'CKF_USER_PIN_FINAL_TRY before the last try');
      }
      if (i === 10) assert.match(msg, /now locked/);
    }
    assert.ok((await flags()).includes('USER_PIN_LOCKED'), 'CKF_USER_PIN_LOCKED');
    assert.match(await text(page, '#ti-pin'), /locked/);
    await page.fill('#login-pin', USER_PIN);
    await act(page, '#login-pin', 'login-status', 'error', /PIN is locked.*\(CKR_PIN_LOCKED from login\)/, { key: 'Enter' });
    await snap('pin-locked');
    await page.click('#reset-details summary');
    await page.fill('#reset-so-pin', 'not-the-so-pin');
    await page.fill('#reset-user-pin', '13579');
    await act(page, '#reset-btn', 'reset-status', 'error', /Wrong PIN.*\(CKR_PIN_INCORRECT from login\)/);
    await page.fill('#reset-so-pin', SO_PIN);
    await page.fill('#reset-user-pin', '13579');
    await act(page, '#reset-btn', 'reset-status', 'ok', /user PIN is set/);
    assert.ok(!(await flags()).includes('USER_PIN_LOCKED'), 'unlocked');
    await login(page, '13579');
  });

  step('deterministic mode: the same seed gives the same token and key on every run', async () => {
    await page.reload();
    await page.waitForSelector('html[data-ready="true"]', { timeout: WAIT });
    await page.check('#det-on');
    assert.ok(await page.isChecked('input[name="store"][value="memory"]'), 'deterministic mode uses a memory store');
    await page.fill('#det-seed', 'abcd');
    await act(page, '#open-btn', 'open-status', 'error', /32 bytes/);
    const run = async (seed) => {
      await page.reload();
      await page.waitForSelector('html[data-ready="true"]', { timeout: WAIT });
      await page.check('#det-on');
      await page.fill('#det-seed', seed);
      await act(page, '#open-btn', 'open-status', 'ok', /Opened a deterministic memory store/);
      assert.match(await text(page, '#fact-store'), /deterministic/);
      await page.fill('#new-label', 'Deterministic');
      await page.fill('#new-so-pin', SO_PIN);
      await page.fill('#new-user-pin', USER_PIN);
      await createToken(page, /Created “Deterministic”/);
      assert.match(await text(page, '#ti-model'), /deterministic/i, 'the token says so in its model');
      await page.fill('#gen-label', 'same every time');
      await act(page, '#gen-ec', 'gen-status', 'ok', /Generated EC P-256/);
      await act(page, '#pub-btn', 'pub-status', 'ok');
      await page.fill('#sign-text', MESSAGE);
      await act(page, '#sign-btn', 'sign-status', 'ok');
      return {
        serial: await text(page, '#ti-serial'),
        id: find(await objects(), 'private key', 'same every time').id,
        jwk: await page.inputValue('#pub-jwk'),
        pem: await page.inputValue('#pub-pem'),
        signature: await page.inputValue('#sign-out'),
      };
    };
    const first = await run(SEED);
    await snap('deterministic');
    const second = await run(SEED);
    assert.deepEqual(second, first, 'same seed, same serial, key id, public key and signature');
    const other = await run(SEED.replace(/^c0/, 'c1'));
    assert.notEqual(other.jwk, first.jwk, 'another seed gives another key');
    assert.notEqual(other.serial, first.serial);
  });

  step('narrow screen (390 px): no sideways scrolling; the keyboard reaches every action', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.evaluate(() => window.scrollTo(0, 0));
    const widths = await page.evaluate(() => ({ doc: document.documentElement.scrollWidth, view: window.innerWidth }));
    assert.ok(widths.doc <= widths.view, `page is ${widths.doc}px wide in a ${widths.view}px viewport`);
    await snap('narrow-390');
    // Tab through the whole page and see every action get focus.
    await page.evaluate(() => document.activeElement?.blur());
    const reached = new Set();
    for (let i = 0; i < 200; i++) {
      await page.keyboard.press('Tab');
      const id = await page.evaluate(() => document.activeElement?.id || document.activeElement?.tagName);
      reached.add(id);
    }
    for (const id of ['open-btn', 'token-select', 'logout-btn', 'gen-ec', 'gen-aes', 'refresh-btn', 'sign-key', 'sign-text',
      'sign-btn', 'verify-btn', 'crypt-key', 'encrypt-btn', 'decrypt-btn', 'pub-btn', 'export-token-btn', 'import-file']) {
      assert.ok(reached.has(id), `Tab reaches #${id}`);
    }
    // and an action works from the keyboard alone
    await page.focus('#sign-btn');
    await page.keyboard.press('Enter');
    await status(page, 'sign-status', 'ok', /Signed/);
    await page.focus('#verify-btn');
    await page.keyboard.press('Space');
    await status(page, 'sign-status', 'ok', /Valid signature/);
    const outline = await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
    assert.notEqual(outline, 'none', 'focus is visible');
  });

  step('the test-token option makes tokens that say so', async () => {
    await page.setViewportSize({ width: 1280, height: 900 });
    await page.reload();
    await page.waitForSelector('html[data-ready="true"]', { timeout: WAIT });
    await page.check('#fast-kdf');
    await openStore(page, 'memory', 0);
    await page.fill('#new-label', 'Quick');
    await page.fill('#new-so-pin', SO_PIN);
    await page.fill('#new-user-pin', USER_PIN);
    await createToken(page, /Created “Quick”/);
    assert.match(await text(page, '#ti-model'), /test token/i);
  });

  step('delete this browser’s tokens (with a confirmation)', async () => {
    await page.click('#wipe-btn');
    assert.match(await page.innerText('#wipe-btn'), /Really delete/);
    await act(page, '#wipe-btn', 'open-status', 'ok', /Deleted every token this demo stored in this browser/);
    await openStore(page, 'indexeddb', 0);
  });

  step('no console errors or uncaught exceptions in the whole run', async () => {
    assert.deepEqual(problems, []);
    const files = await readdir(OUT);
    assert.ok(files.filter((f) => f.endsWith('.png')).length >= 10, 'screenshots saved');
  });
});
