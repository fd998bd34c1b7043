// The demo page: every button is one or a few calls of the `anyhsm` package's PKCS#11-shaped API.
// No framework; the DOM in index.html is the state a person sees, `state` is what the page holds.

import {
  EC_P256_PARAMS,
  ED25519_PARAMS,
  CKF_TOKEN_INITIALIZED,
  CKF_USER_PIN_COUNT_LOW,
  CKF_USER_PIN_FINAL_TRY,
  CKF_USER_PIN_LOCKED,
  CKF_USER_PIN_TO_BE_CHANGED,
  TOKEN_FLAGS,
  ed25519PointToJwk,
  fromHex,
  fromUtf8,
  p256PointToJwk,
  rsaToJwk,
  toHex,
  toPem,
  trimPadded,
  userPinState,
  utf8,
} from './encoding.mjs';

const DB_NAME = 'anyhsm-web-demo';
const EXAMPLE_SEED = '000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f';
const CKP_ML_DSA_65 = 2; // PKCS#11 3.2, CK_ML_DSA_PARAMETER_SET_TYPE

const $ = (id) => document.getElementById(id);

/** The package namespace (loaded in main()). */
let H;
/** What the page holds; the DOM shows it. */
const state = {
  module: null,
  storeKind: null,
  slot: null,
  session: null,
  mechs: new Set(),
  objects: [],
  channel: null,
};

/** An error of the page itself (bad input), shown like a token error. */
class UiError extends Error {}

// ---------------------------------------------------------------------------------------------
// Messages

const FRIENDLY = {
  CKR_PIN_INCORRECT: 'Wrong PIN.',
  CKR_PIN_LOCKED: 'This PIN is locked after too many wrong attempts. The security officer can set a new user PIN below.',
  CKR_PIN_LEN_RANGE: 'PINs are 4 to 255 characters long.',
  CKR_PIN_INVALID: 'That PIN contains characters the token does not accept.',
  CKR_USER_NOT_LOGGED_IN: 'Log in first.',
  CKR_USER_ALREADY_LOGGED_IN: 'Already logged in.',
  CKR_USER_ANOTHER_ALREADY_LOGGED_IN: 'Someone else is logged in on this token; log out first.',
  CKR_USER_PIN_NOT_INITIALIZED: 'This token has no user PIN yet; the security officer can set one below.',
  CKR_SESSION_EXISTS: 'Close the sessions on this token first.',
  CKR_MECHANISM_INVALID: 'This build of the engine does not support that mechanism.',
  CKR_MECHANISM_PARAM_INVALID: 'The mechanism parameters were refused.',
  CKR_KEY_TYPE_INCONSISTENT: 'That key cannot be used with this mechanism.',
  CKR_KEY_FUNCTION_NOT_PERMITTED: 'That key is not allowed to do this.',
  CKR_ENCRYPTED_DATA_INVALID: 'Decryption failed: the ciphertext, IV or key does not match (the GCM tag did not verify).',
  CKR_ENCRYPTED_DATA_LEN_RANGE: 'Decryption failed: the ciphertext is too short to hold a GCM tag.',
  CKR_SIGNATURE_LEN_RANGE: 'The signature has the wrong length for this key.',
  CKR_OBJECT_HANDLE_INVALID: 'That object no longer exists (deleted here or in another tab). Refresh the list.',
  CKR_KEY_HANDLE_INVALID: 'That key no longer exists (deleted here or in another tab). Refresh the list.',
  CKR_TOKEN_NOT_RECOGNIZED: 'This store already holds a token with that serial. Import the file into another store, e.g. a memory store.',
  CKR_DATA_INVALID: 'That file is not an anyhsm token snapshot.',
  CKR_DEVICE_REMOVED: 'The store was closed; open it again.',
  CKR_CRYPTOKI_NOT_INITIALIZED: 'The module is closed; open a store again.',
  CKR_SESSION_HANDLE_INVALID: 'The session is gone; choose the token again.',
  CKR_TEMPLATE_INCONSISTENT: 'The token refused the key template.',
  CKR_ATTRIBUTE_VALUE_INVALID: 'The token refused an attribute value.',
  CKR_DEVICE_MEMORY: 'The browser refused to store more data (storage quota).',
  CKR_DEVICE_ERROR: 'The store reported an error.',
};

function isPkcs11Error(err) {
  return (H && err instanceof H.Pkcs11Error) || (err && typeof err.code === 'number' && /^CKR_/.test(err.name ?? ''));
}

/** One line for a failure: what it means, then the PKCS#11 facts (code name and method). */
function describe(err) {
  if (isPkcs11Error(err)) {
    const friendly = FRIENDLY[err.name] ?? 'The token refused the request.';
    const hint = err.hint ? ` ${err.hint}` : '';
    return `${friendly}${hint} (${err.name} from ${err.method})`;
  }
  if (err instanceof UiError || err instanceof RangeError) return err.message;
  return `Unexpected error: ${err?.message ?? err}`;
}

/** Show a message in the status line beside an action. kind: ok | error | bad | busy | info | '' */
function setStatus(el, kind, text) {
  el.className = `status${kind ? ` ${kind}` : ''}`;
  el.setAttribute('role', kind === 'error' || kind === 'bad' ? 'alert' : 'status');
  el.replaceChildren();
  if (!text) return;
  if (kind === 'busy') {
    const bar = document.createElement('progress');
    bar.setAttribute('aria-label', text);
    const spin = document.createElement('span');
    spin.className = 'spinner';
    spin.setAttribute('aria-hidden', 'true');
    el.append(spin, bar);
  } else {
    const icon = document.createElement('span');
    icon.className = 'icon';
    icon.setAttribute('aria-hidden', 'true');
    icon.textContent = { ok: '✓', error: '!', bad: '✗', info: 'i' }[kind] ?? '';
    if (icon.textContent) el.append(icon);
  }
  const msg = document.createElement('span');
  msg.className = 'msg';
  msg.textContent = text;
  el.append(msg);
}

const nextPaint = () =>
  new Promise((resolve) => {
    // rAF does not fire in a hidden tab; the timeout makes sure we go on anyway.
    const t = setTimeout(resolve, 50);
    requestAnimationFrame(() => setTimeout(() => (clearTimeout(t), resolve()), 0));
  });

/**
 * Run one action of the page: mark its button busy (without moving focus), show progress when it
 * takes a while (at once for `slow` ones), then its result or its error in `statusEl`.
 * `fn` returns the success message, or `{ kind, text }`, or nothing (the status is cleared).
 */
async function run(button, statusEl, busyText, fn, { slow = false } = {}) {
  if (button?.getAttribute('aria-disabled') === 'true') return false;
  button?.setAttribute('aria-disabled', 'true');
  button?.setAttribute('aria-busy', 'true');
  setStatus(statusEl, '', ''); // the last message belongs to the last attempt
  const started = performance.now();
  let ticker = null;
  const showBusy = () => {
    setStatus(statusEl, 'busy', `${busyText}…`);
    ticker = setInterval(() => {
      const s = ((performance.now() - started) / 1000).toFixed(1);
      const msg = statusEl.querySelector('.msg');
      if (msg) msg.textContent = `${busyText}… ${s} s`;
    }, 250);
  };
  const timer = slow ? null : setTimeout(showBusy, 150);
  if (slow) {
    showBusy();
    await nextPaint();
  }
  try {
    const result = await fn();
    if (result === undefined) setStatus(statusEl, '', '');
    else if (typeof result === 'string') setStatus(statusEl, 'ok', result);
    else setStatus(statusEl, result.kind, result.text);
    return true;
  } catch (err) {
    setStatus(statusEl, 'error', describe(err));
    return false;
  } finally {
    clearTimeout(timer);
    clearInterval(ticker);
    button?.removeAttribute('aria-disabled');
    button?.removeAttribute('aria-busy');
  }
}

/** A destructive button asks once more: the first press arms it for a few seconds. */
function confirmed(button, question) {
  if (button.dataset.armed === '1') {
    delete button.dataset.armed;
    button.textContent = button.dataset.text;
    return true;
  }
  button.dataset.text = button.textContent;
  button.dataset.armed = '1';
  button.textContent = question;
  setTimeout(() => {
    if (button.dataset.armed === '1') {
      delete button.dataset.armed;
      button.textContent = button.dataset.text;
    }
  }, 5000);
  return false;
}

// ---------------------------------------------------------------------------------------------
// Names of constants

let NAMES = null;
function names() {
  if (NAMES) return NAMES;
  const reverse = (obj, prefix) => {
    const m = new Map();
    for (const [k, v] of Object.entries(obj ?? {})) if (!m.has(v)) m.set(v, prefix + k);
    return m;
  };
  NAMES = { ckm: reverse(H.CKM, 'CKM_'), ckk: reverse(H.CKK, 'CKK_'), cko: reverse(H.CKO, 'CKO_') };
  return NAMES;
}
const mechName = (m) => names().ckm.get(m) ?? `CKM_0x${m.toString(16)}`;

const CLASS_TEXT = () => ({
  [H.CKO.DATA]: 'data',
  [H.CKO.CERTIFICATE]: 'certificate',
  [H.CKO.PUBLIC_KEY]: 'public key',
  [H.CKO.PRIVATE_KEY]: 'private key',
  [H.CKO.SECRET_KEY]: 'secret key',
});

const eq = (a, b) => a instanceof Uint8Array && a.length === b.length && a.every((x, i) => x === b[i]);

/** "EC P-256", "AES-256", … from a row's attributes. */
function keyTypeText(o) {
  const K = H.CKK;
  if (o.keyType === undefined) return '—';
  if (o.keyType === K.EC) return eq(o.ecParams, EC_P256_PARAMS) ? 'EC P-256' : 'EC';
  if (o.keyType === K.AES) return o.valueLen ? `AES-${o.valueLen * 8}` : 'AES';
  if (o.keyType === K.EC_EDWARDS) return eq(o.ecParams, ED25519_PARAMS) || o.ecParams?.length === 14 ? 'Ed25519' : 'EdDSA';
  if (o.keyType === K.RSA) return o.modulusBits ? `RSA-${o.modulusBits}` : 'RSA';
  if (K.ML_DSA !== undefined && o.keyType === K.ML_DSA) return o.parameterSet === CKP_ML_DSA_65 ? 'ML-DSA-65' : 'ML-DSA';
  return (names().ckk.get(o.keyType) ?? `0x${o.keyType.toString(16)}`).replace(/^CKK_/, '');
}

// How each kind of key signs here, and how WebCrypto checks it.
function signMechanism(keyType) {
  const K = H.CKK;
  const M = H.CKM;
  if (keyType === K.EC) return M.ECDSA_SHA256;
  if (keyType === K.EC_EDWARDS) return M.EDDSA;
  if (keyType === K.RSA) return M.SHA256_RSA_PKCS;
  if (K.ML_DSA !== undefined && keyType === K.ML_DSA) return M.ML_DSA;
  return undefined;
}

function webCryptoAlgorithms(keyType) {
  const K = H.CKK;
  if (keyType === K.EC) return [{ name: 'ECDSA', namedCurve: 'P-256' }, { name: 'ECDSA', hash: 'SHA-256' }];
  if (keyType === K.EC_EDWARDS) return [{ name: 'Ed25519' }, { name: 'Ed25519' }];
  if (keyType === K.RSA) return [{ name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, { name: 'RSASSA-PKCS1-v1_5' }];
  return null;
}

// ---------------------------------------------------------------------------------------------
// Store / module

function chosenStore() {
  return document.querySelector('input[name="store"]:checked').value;
}

async function openModule() {
  const kind = chosenStore();
  const opts = { store: kind === 'indexeddb' ? { kind: 'indexeddb', name: DB_NAME } : { kind: 'memory' } };
  let seedHex = null;
  if ($('det-on').checked) {
    if (kind !== 'memory') throw new UiError('Deterministic mode is for memory stores; choose “Memory”.');
    let seed;
    try {
      seed = fromHex($('det-seed').value);
    } catch {
      throw new UiError('The seed must be hex: 64 digits 0-9, a-f.');
    }
    if (seed.length !== 32) throw new UiError(`The seed must be 32 bytes (64 hex digits); this one is ${seed.length}.`);
    opts.deterministic = { seed };
    seedHex = toHex(seed);
  }
  if ($('fast-kdf').checked) opts.testToken = true;

  await closeModule();
  const module = await H.Module.open(opts);
  state.module = module;
  state.storeKind = kind;
  const info = module.info();
  $('lib-info').textContent = `${info.library || 'anyhsm'} ${info.version} · ${info.manufacturer}`;

  $('fact-store').textContent =
    kind === 'indexeddb'
      ? `IndexedDB database “${DB_NAME}” in this browser`
      : info.deterministic
        ? `Memory, deterministic (seed ${seedHex.slice(0, 8)}…${seedHex.slice(-8)})`
        : 'Memory (gone when the page closes)';
  $('fact-store').classList.toggle('warn', Boolean(info.deterministic));
  if (kind === 'indexeddb') {
    let granted = false;
    try {
      granted = H.requestPersistentStorage ? await H.requestPersistentStorage() : await navigator.storage.persist();
    } catch {
      granted = false;
    }
    $('fact-persist').textContent = granted
      ? 'Granted: the browser will not evict these tokens.'
      : 'Not granted: the browser may evict this data under storage pressure.';
    $('fact-persist').className = granted ? 'good' : 'warn';
  } else {
    $('fact-persist').textContent = 'Not applicable (memory store).';
    $('fact-persist').className = '';
  }
  $('store-facts').hidden = false;
  $('close-btn').hidden = false;
  $('token-section').hidden = false;

  if (kind === 'indexeddb' && 'BroadcastChannel' in window) {
    state.channel = new BroadcastChannel(`anyhsm-demo:${DB_NAME}`);
    state.channel.onmessage = (ev) => onOtherTabChange(ev.data);
  }
  const count = await refreshTokens();
  const warnings = module.takeWarnings ? module.takeWarnings() : [];
  const what = kind === 'indexeddb' ? 'the browser store' : info.deterministic ? 'a deterministic memory store' : 'a memory store';
  setStatus(
    $('token-status'),
    'info',
    count === 0 ? 'No tokens in this store yet: create one below.' : `${count} token${count === 1 ? '' : 's'} in this store.`,
  );
  const warn = warnings.length ? ` Warnings: ${warnings.join('; ')}` : '';
  return { kind: warnings.length ? 'info' : 'ok', text: `Opened ${what}.${warn}` };
}

async function closeModule() {
  state.channel?.close();
  state.channel = null;
  const m = state.module;
  state.module = null;
  state.session = null;
  state.slot = null;
  state.objects = [];
  if (m) await m.close().catch(() => {});
  for (const id of ['token-section', 'keys-section', 'ops', 'store-facts', 'close-btn']) $(id).hidden = true;
  resetTokenViews();
  for (const id of ['token-status', 'create-status', 'transfer-status']) setStatus($(id), '', '');
  $('token-select').replaceChildren();
  renderObjects();
}

function wipeBrowserTokens() {
  return new Promise((resolve, reject) => {
    const req = indexedDB.deleteDatabase(DB_NAME);
    req.onsuccess = () => resolve('Deleted every token this demo stored in this browser.');
    req.onerror = () => reject(new UiError(`Could not delete the database: ${req.error?.message ?? 'unknown error'}`));
    req.onblocked = () =>
      reject(new UiError('Another tab still has the tokens open. Close the demo in other tabs, then try again.'));
  });
}

/** Tell other tabs on the same IndexedDB store that a token changed. */
function announce(what) {
  state.channel?.postMessage({ what, slot: state.slot, serial: $('ti-serial').textContent });
}

let otherTabTimer = null;
function onOtherTabChange(msg) {
  clearTimeout(otherTabTimer);
  otherTabTimer = setTimeout(async () => {
    if (!state.module) return;
    await run(null, $('objects-status'), 'Another tab changed the store; refreshing', async () => {
      await refreshTokens();
      if (state.session) await refreshObjects();
      return { kind: 'info', text: `Another tab changed the store (${msg?.what ?? 'update'}); the list is up to date.` };
    });
  }, 100);
}

// ---------------------------------------------------------------------------------------------
// Tokens

/** Fill the token list; keeps the current token, or selects `prefer`. Resolves to the token count. */
async function refreshTokens(prefer) {
  const m = state.module;
  const slots = await m.slots();
  const tokens = [];
  for (const slot of slots) {
    const ti = await m.tokenInfo(slot);
    if (ti.flags & CKF_TOKEN_INITIALIZED) tokens.push({ slot, info: ti });
  }
  const select = $('token-select');
  select.replaceChildren();
  for (const t of tokens) {
    const opt = new Option(`${trimPadded(t.info.label) || '(no label)'} — serial ${trimPadded(t.info.serial)}`, String(t.slot));
    select.append(opt);
  }
  if (tokens.length === 0) {
    const opt = new Option('No tokens yet: create one below', '');
    opt.disabled = true;
    select.append(opt);
    $('create-details').open = true;
  }
  select.disabled = tokens.length === 0;
  const want = [prefer, state.slot, tokens[0]?.slot].find((s) => s !== undefined && s !== null && tokens.some((t) => t.slot === s));
  if (want === undefined) {
    await useToken(null);
  } else {
    select.value = String(want);
    if (want !== state.slot || !state.session) await useToken(want);
    else await refreshTokenInfo();
  }
  return tokens.length;
}

/** Forget what the page showed about the previous token: messages, signatures, ciphertexts. */
function resetTokenViews() {
  for (const id of ['login-status', 'reset-status', 'gen-status', 'objects-status', 'sign-status', 'crypt-status', 'pub-status']) {
    setStatus($(id), '', '');
  }
  for (const id of ['sign-out', 'crypt-iv', 'crypt-out', 'pub-pem', 'pub-jwk', 'login-pin']) $(id).value = '';
  $('decrypted').textContent = '';
  $('sign-mech').textContent = '';
  delete $('sign-text').dataset.signed;
}

/** Open a session on the token in `slot` (or show none). */
async function useToken(slot) {
  if (slot !== state.slot) resetTokenViews();
  if (state.session) await state.session.close().catch(() => {});
  state.session = null;
  state.slot = slot;
  const has = slot !== null;
  for (const id of ['login-form', 'token-info-box', 'transfer', 'keys-section', 'ops', 'reset-details']) $(id).hidden = !has;
  if (!has) {
    state.objects = [];
    renderObjects();
    return;
  }
  state.session = await state.module.openSession(slot, { rw: true });
  state.mechs = new Set(await state.module.mechanisms(slot));
  renderMechanisms();
  await refreshTokenInfo();
  await refreshObjects();
}

function renderMechanisms() {
  const list = $('mech-list');
  list.replaceChildren(
    ...[...state.mechs].sort((a, b) => a - b).map((m) => {
      const li = document.createElement('li');
      li.textContent = mechName(m);
      return li;
    }),
  );
  $('mech-summary').textContent = `Mechanisms (${state.mechs.size})`;
  const missing = [];
  for (const [kind, spec] of Object.entries(KEYGEN)) {
    const mech = spec.mechanism();
    const ok = mech !== undefined && state.mechs.has(mech);
    $(`gen-${kind}`).hidden = !ok;
    if (!ok) missing.push(spec.name);
  }
  $('gen-missing').textContent = missing.length
    ? `Not in this build of the engine yet: ${missing.join(', ')} (their key-generation mechanisms are not listed).`
    : '';
}

async function loginState() {
  const info = await state.session.info();
  const S = H.CKS;
  if (info.state === S.RW_USER_FUNCTIONS || info.state === S.RO_USER_FUNCTIONS) return 'user';
  if (info.state === S.RW_SO_FUNCTIONS) return 'so';
  return null;
}

async function refreshTokenInfo() {
  if (state.slot === null) return null;
  const ti = await state.module.tokenInfo(state.slot);
  $('ti-label').textContent = trimPadded(ti.label) || '(no label)';
  $('ti-serial').textContent = trimPadded(ti.serial);
  for (const el of document.querySelectorAll('.token-account')) el.value = trimPadded(ti.serial);
  $('ti-model').textContent = trimPadded(ti.model);
  $('ti-model').classList.toggle('warn', /deterministic|test/i.test(ti.model));
  $('ti-generation').textContent = ti.generation === undefined ? 'not reported' : String(ti.generation);
  $('ti-sessions').textContent = `${ti.sessionCount} open (${ti.rwSessionCount} read/write) in this tab`;
  const who = state.session ? await loginState() : null;
  $('ti-login').textContent = who === 'user' ? 'Yes, as the user' : who === 'so' ? 'Yes, as the security officer' : 'No';
  $('ti-login').className = who ? 'good' : '';
  const pin = $('ti-pin');
  pin.textContent = userPinState(ti.flags);
  pin.className = ti.flags & (CKF_USER_PIN_LOCKED | CKF_USER_PIN_FINAL_TRY) ? 'bad' : ti.flags & CKF_USER_PIN_COUNT_LOW ? 'warn' : '';
  const pinBits = CKF_USER_PIN_COUNT_LOW | CKF_USER_PIN_FINAL_TRY | CKF_USER_PIN_LOCKED | CKF_USER_PIN_TO_BE_CHANGED;
  $('ti-flags').replaceChildren(
    ...TOKEN_FLAGS.filter(([bit]) => ti.flags & bit).map(([bit, name]) => {
      const li = document.createElement('li');
      li.textContent = name.replace(/^CKF_/, '');
      li.title = `${name} (0x${bit.toString(16)})`;
      if (bit & pinBits || bit >= 0x100000) li.className = 'attention';
      return li;
    }),
  );
  $('logout-btn').disabled = !who;
  $('login-btn').disabled = Boolean(who);
  $('login-pin').disabled = Boolean(who);
  // keep the option text in step (a re-initialised token can change its label)
  const opt = [...$('token-select').options].find((o) => o.value === String(state.slot));
  if (opt) opt.textContent = `${trimPadded(ti.label) || '(no label)'} — serial ${trimPadded(ti.serial)}`;
  return ti;
}

async function login() {
  const pin = $('login-pin').value;
  if (!pin) throw new UiError('Enter the user PIN.');
  try {
    await state.session.login(H.CKU.USER, pin);
  } catch (err) {
    const ti = await refreshTokenInfo().catch(() => null);
    if (isPkcs11Error(err) && err.name === 'CKR_PIN_INCORRECT' && ti) {
      if (ti.flags & CKF_USER_PIN_LOCKED) err.hint = 'The PIN is now locked.';
      else if (ti.flags & CKF_USER_PIN_FINAL_TRY) err.hint = 'One attempt left before the PIN locks.';
    }
    $('login-pin').select();
    throw err;
  }
  $('login-pin').value = '';
  await refreshTokenInfo();
  await refreshObjects();
  return 'Logged in as the user: private keys can be used now.';
}

async function logout() {
  await state.session.logout();
  await refreshTokenInfo();
  await refreshObjects();
  $('login-pin').focus();
  return 'Logged out. Private objects are hidden again.';
}

async function createToken() {
  setStatus($('token-status'), '', ''); // the result goes there
  const label = $('new-label').value.trim();
  const soPin = $('new-so-pin').value;
  const userPin = $('new-user-pin').value;
  if (!label) throw new UiError('Give the token a label.');
  if (utf8.encode(label).length > 32) throw new UiError('The label can be at most 32 bytes (UTF-8).');
  if (soPin.length < 4 || userPin.length < 4) throw new UiError('Both PINs need at least 4 characters.');
  const m = state.module;
  const slots = await m.slots();
  const empty = slots[slots.length - 1];
  await m.initToken(empty, soPin, label);
  const s = await m.openSession(empty, { rw: true });
  try {
    await s.login(H.CKU.SO, soPin);
    await s.initPin(userPin);
    await s.logout();
  } finally {
    await s.close();
  }
  await refreshTokens(empty);
  await state.session.login(H.CKU.USER, userPin);
  for (const id of ['new-so-pin', 'new-user-pin']) $(id).value = '';
  const ti = await refreshTokenInfo();
  await refreshObjects();
  announce('token created');
  return `Created “${label}” (serial ${trimPadded(ti.serial)}) and logged in as its user.`;
}

async function resetUserPin() {
  const soPin = $('reset-so-pin').value;
  const newPin = $('reset-user-pin').value;
  if (!soPin || !newPin) throw new UiError('Enter the SO PIN and the new user PIN.');
  if ((await loginState()) === 'user') await state.session.logout();
  await state.session.login(H.CKU.SO, soPin);
  try {
    await state.session.initPin(newPin);
  } finally {
    await state.session.logout();
    await refreshTokenInfo();
    await refreshObjects();
  }
  $('reset-so-pin').value = '';
  $('reset-user-pin').value = '';
  announce('user PIN set');
  return 'The user PIN is set (and unlocked). Log in with the new PIN.';
}

function download(bytes, name) {
  const url = URL.createObjectURL(new Blob([bytes], { type: 'application/octet-stream' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.hidden = true;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 30_000);
}

async function exportToken() {
  const bytes = await state.module.exportToken(state.slot);
  const ti = await state.module.tokenInfo(state.slot);
  const slug = trimPadded(ti.label).toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '') || 'token';
  const name = `${slug}-${trimPadded(ti.serial)}.anyhsm`;
  download(bytes, name);
  return `Saved ${name} (${bytes.length} bytes): the token's records exactly as stored. Import it into another store and log in with the same PINs.`;
}

async function importToken(input) {
  const file = input.files?.[0];
  if (!file) return undefined;
  try {
    const bytes = new Uint8Array(await file.arrayBuffer());
    const slot = await state.module.importToken(bytes);
    await refreshTokens(slot);
    $('create-details').open = false;
    announce('token imported');
    const ti = await state.module.tokenInfo(slot);
    return `Imported “${trimPadded(ti.label)}” (serial ${trimPadded(ti.serial)}) from ${file.name}. Log in with its user PIN.`;
  } finally {
    input.value = '';
  }
}

// ---------------------------------------------------------------------------------------------
// Keys and objects

const KEYGEN = {
  ec: { name: 'EC P-256', mechanism: () => H.CKM.EC_KEY_PAIR_GEN, pair: true,
    pub: () => [[H.CKA.EC_PARAMS, EC_P256_PARAMS], [H.CKA.VERIFY, true]],
    priv: () => [[H.CKA.SIGN, true]] },
  aes: { name: 'AES-256', mechanism: () => H.CKM.AES_KEY_GEN, pair: false,
    secret: () => [[H.CKA.VALUE_LEN, 32], [H.CKA.ENCRYPT, true], [H.CKA.DECRYPT, true]] },
  ed25519: { name: 'Ed25519', mechanism: () => H.CKM.EC_EDWARDS_KEY_PAIR_GEN, pair: true,
    pub: () => [[H.CKA.EC_PARAMS, ED25519_PARAMS], [H.CKA.VERIFY, true]],
    priv: () => [[H.CKA.SIGN, true]] },
  rsa: { name: 'RSA-2048', mechanism: () => H.CKM.RSA_PKCS_KEY_PAIR_GEN, pair: true, slow: true,
    pub: () => [[H.CKA.MODULUS_BITS, 2048], [H.CKA.PUBLIC_EXPONENT, Uint8Array.of(1, 0, 1)], [H.CKA.VERIFY, true]],
    priv: () => [[H.CKA.SIGN, true]] },
  mldsa: { name: 'ML-DSA-65', mechanism: () => H.CKM.ML_DSA_KEY_PAIR_GEN, pair: true, slow: true,
    pub: () => [[H.CKA.PARAMETER_SET, CKP_ML_DSA_65], [H.CKA.VERIFY, true]],
    priv: () => [[H.CKA.SIGN, true]] },
};

const tpl = (pairs) => pairs.map(([type, value]) => ({ type, value }));

async function generate(kind) {
  const spec = KEYGEN[kind];
  const label = $('gen-label').value.trim() || spec.name;
  const s = state.session;
  const A = H.CKA;
  const id = await s.generateRandom(8);
  const common = [[A.TOKEN, true], [A.LABEL, label], [A.ID, id]];
  const secretAttrs = [[A.PRIVATE, true], [A.SENSITIVE, true], [A.EXTRACTABLE, false]];
  const started = performance.now();
  let handle;
  if (spec.pair) {
    const pair = await s.generateKeyPair(
      spec.mechanism(),
      tpl([...common, [A.PRIVATE, false], ...spec.pub()]),
      tpl([...common, ...secretAttrs, ...spec.priv()]),
    );
    handle = pair.privateKey;
    state.pick = { sign: pair.privateKey, pub: pair.publicKey };
  } else {
    handle = await s.generateKey(spec.mechanism(), tpl([...common, ...secretAttrs, ...spec.secret()]));
    state.pick = { crypt: handle };
  }
  const ms = Math.round(performance.now() - started);
  await refreshObjects();
  await refreshTokenInfo();
  announce('key generated');
  return `Generated ${spec.name} ${spec.pair ? 'key pair' : 'key'} “${label}” (id ${toHex(id)}, handle ${handle}) in ${ms} ms.`;
}

const LIST_ATTRS = () => {
  const A = H.CKA;
  return [A.CLASS, A.KEY_TYPE, A.LABEL, A.ID, A.SENSITIVE, A.EXTRACTABLE, A.TOKEN, A.PRIVATE, A.EC_PARAMS,
    A.VALUE_LEN, A.MODULUS_BITS, A.MODULUS, A.SIGN, A.ENCRYPT, A.PARAMETER_SET].filter((x) => x !== undefined);
};

async function refreshObjects() {
  if (!state.session) {
    state.objects = [];
    renderObjects();
    return;
  }
  const A = H.CKA;
  const handles = await state.session.findObjects();
  const objects = [];
  for (const handle of handles) {
    let a;
    try {
      a = await state.session.getAttributes(handle, LIST_ATTRS());
    } catch (err) {
      if (isPkcs11Error(err) && err.name === 'CKR_OBJECT_HANDLE_INVALID') continue; // deleted meanwhile
      throw err;
    }
    const label = a[A.LABEL];
    const id = a[A.ID];
    objects.push({
      handle,
      cls: Number(a[A.CLASS]),
      keyType: a[A.KEY_TYPE] === undefined ? undefined : Number(a[A.KEY_TYPE]),
      label: label instanceof Uint8Array ? fromUtf8(label) : (label ?? ''),
      id: id instanceof Uint8Array ? id : new Uint8Array(0),
      sensitive: a[A.SENSITIVE],
      extractable: a[A.EXTRACTABLE],
      token: a[A.TOKEN],
      private: a[A.PRIVATE],
      ecParams: a[A.EC_PARAMS],
      valueLen: a[A.VALUE_LEN] === undefined ? undefined : Number(a[A.VALUE_LEN]),
      // private RSA keys carry CKA_MODULUS but not CKA_MODULUS_BITS
      modulusBits:
        a[A.MODULUS_BITS] !== undefined
          ? Number(a[A.MODULUS_BITS])
          : a[A.MODULUS] instanceof Uint8Array
            ? bitLength(a[A.MODULUS])
            : undefined,
      parameterSet: a[A.PARAMETER_SET] === undefined ? undefined : Number(a[A.PARAMETER_SET]),
      canSign: a[A.SIGN],
      canEncrypt: a[A.ENCRYPT],
    });
  }
  // A private key may lack what names its size or curve; its public half (same CKA_ID) has it.
  for (const o of objects) {
    if (o.cls !== H.CKO.PRIVATE_KEY) continue;
    const pub = objects.find((p) => p.cls === H.CKO.PUBLIC_KEY && p.keyType === o.keyType && eq(p.id, o.id));
    if (!pub) continue;
    o.ecParams ??= pub.ecParams;
    o.modulusBits ??= pub.modulusBits;
    o.parameterSet ??= pub.parameterSet;
  }
  // Keep the halves of a pair together (same CKA_ID), groups in creation order, private key first.
  const order = { [H.CKO.PRIVATE_KEY]: 0, [H.CKO.PUBLIC_KEY]: 1, [H.CKO.SECRET_KEY]: 2 };
  const first = new Map();
  for (const o of objects) {
    const g = o.id.length ? toHex(o.id) : `#${o.handle}`;
    o.group = g;
    first.set(g, Math.min(first.get(g) ?? Infinity, o.handle));
  }
  objects.sort((x, y) => first.get(x.group) - first.get(y.group) || (order[x.cls] ?? 9) - (order[y.cls] ?? 9) || x.handle - y.handle);
  state.objects = objects;
  renderObjects();
}

function bitLength(bytes) {
  let i = 0;
  while (i < bytes.length && bytes[i] === 0) i++;
  if (i === bytes.length) return 0;
  return (bytes.length - i) * 8 - Math.clz32(bytes[i]) + 24;
}

const yesNo = (v) => (v === true ? 'yes' : v === false ? 'no' : '—');

function renderObjects() {
  const body = $('objects-body');
  body.replaceChildren();
  const classText = H ? CLASS_TEXT() : {};
  for (const o of state.objects) {
    const tr = document.createElement('tr');
    tr.dataset.handle = String(o.handle);
    const cell = (label, text, cls) => {
      const td = document.createElement('td');
      td.dataset.label = label;
      td.textContent = text;
      if (cls) td.className = cls;
      tr.append(td);
      return td;
    };
    cell('Class', classText[o.cls] ?? `class ${o.cls}`);
    cell('Key type', keyTypeText(o));
    cell('Label', o.label || '(none)', 'label');
    cell('ID', o.id.length ? toHex(o.id) : '—', 'mono');
    cell('Sensitive', yesNo(o.sensitive), `flag ${o.sensitive === true ? 'on' : ''}`);
    cell('Extractable', yesNo(o.extractable), `flag ${o.extractable === true ? 'on' : ''}`);
    const td = cell('', '', 'act');
    const del = document.createElement('button');
    del.type = 'button';
    del.className = 'danger small';
    del.textContent = 'Delete';
    del.setAttribute('aria-label', `Delete ${classText[o.cls] ?? 'object'} “${o.label}”`);
    del.setAttribute('aria-describedby', 'objects-status');
    del.addEventListener('click', () => {
      if (!confirmed(del, 'Confirm delete')) return;
      run(del, $('objects-status'), 'Deleting', async () => {
        await state.session.destroyObject(o.handle);
        await refreshObjects();
        await refreshTokenInfo();
        announce('object deleted');
        return `Deleted the ${classText[o.cls] ?? 'object'} “${o.label}”.`;
      });
    });
    td.append(del);
    body.append(tr);
  }
  if (state.objects.length === 0) {
    const tr = document.createElement('tr');
    const td = document.createElement('td');
    td.colSpan = 7;
    td.className = 'empty';
    td.textContent = state.session ? 'No objects visible. Log in to see private ones, or generate a key.' : '';
    tr.append(td);
    body.append(tr);
  }
  $('objects-count').textContent = state.session ? `(${state.objects.length})` : '';
  renderKeySelects();
}

function fillSelect(select, items, emptyText, pick) {
  const before = pick ?? (select.value ? Number(select.value) : undefined);
  select.replaceChildren();
  for (const o of items) {
    select.append(new Option(`${o.label || '(no label)'} · ${keyTypeText(o)} · id ${toHex(o.id) || '—'}`, String(o.handle)));
  }
  if (items.length === 0) {
    const opt = new Option(emptyText, '');
    opt.disabled = true;
    select.append(opt);
    select.value = '';
  } else if (items.some((o) => o.handle === before)) {
    select.value = String(before);
  } else {
    select.value = String(items[items.length - 1].handle);
  }
}

function renderKeySelects() {
  if (!H) return;
  const O = H.CKO;
  const pick = state.pick ?? {};
  state.pick = null;
  const signers = state.objects.filter((o) => o.cls === O.PRIVATE_KEY && o.canSign !== false && signMechanism(o.keyType) !== undefined);
  fillSelect($('sign-key'), signers, 'No signing key: log in and generate an EC P-256 key', pick.sign);
  const aes = state.objects.filter((o) => o.cls === O.SECRET_KEY && o.keyType === H.CKK.AES);
  fillSelect($('crypt-key'), aes, 'No AES key: log in and generate an AES-256 key', pick.crypt);
  const pubs = state.objects.filter((o) => o.cls === O.PUBLIC_KEY);
  fillSelect($('pub-key'), pubs, 'No public key: generate a key pair', pick.pub);
}

const selected = (selectId) => {
  const v = $(selectId).value;
  const o = state.objects.find((x) => String(x.handle) === v);
  if (!o) throw new UiError('Choose a key first.');
  return o;
};

/** The public half of a private key: same CKA_ID and key type. */
function publicOf(priv) {
  const pub = state.objects.find(
    (o) => o.cls === H.CKO.PUBLIC_KEY && o.keyType === priv.keyType && eq(o.id, priv.id),
  );
  if (!pub) throw new UiError('The public key of this pair is not on the token (deleted?).');
  return pub;
}

// ---------------------------------------------------------------------------------------------
// Sign / verify

async function sign() {
  const key = selected('sign-key');
  const mech = signMechanism(key.keyType);
  if (!state.mechs.has(mech)) throw new UiError(`${mechName(mech)} is not supported by this engine build.`);
  const data = utf8.encode($('sign-text').value);
  const sig = await state.session.sign(mech, key.handle, data);
  $('sign-out').value = toHex(sig);
  $('sign-mech').textContent = `${mechName(mech)}, ${sig.length} bytes`;
  $('sign-text').dataset.signed = $('sign-text').value;
  return `Signed ${data.length} bytes with “${key.label}” (${mechName(mech)}).`;
}

function signatureBytes() {
  const text = $('sign-out').value;
  if (!text.trim()) throw new UiError('Sign a message first (or paste a signature in hex).');
  try {
    return fromHex(text);
  } catch {
    throw new UiError('The signature must be hex.');
  }
}

async function verify() {
  const key = selected('sign-key');
  const pub = publicOf(key);
  const mech = signMechanism(key.keyType);
  const sig = signatureBytes();
  const data = utf8.encode($('sign-text').value);
  const ok = await state.session.verify(mech, pub.handle, data, sig);
  return ok
    ? { kind: 'ok', text: `Valid signature: the token verified it with the public key “${pub.label}” (${mechName(mech)}).` }
    : { kind: 'bad', text: 'Invalid signature: the message or the signature changed since it was signed (CKR_SIGNATURE_INVALID).' };
}

async function webCryptoVerify() {
  const key = selected('sign-key');
  const pub = publicOf(key);
  const algs = webCryptoAlgorithms(key.keyType);
  if (!algs) throw new UiError(`WebCrypto has no algorithm for ${keyTypeText(key)} keys.`);
  const spki = await state.session.getAttribute(pub.handle, H.CKA.PUBLIC_KEY_INFO);
  if (!(spki instanceof Uint8Array) || spki.length === 0) throw new UiError('The token gave no CKA_PUBLIC_KEY_INFO for this key.');
  let cryptoKey;
  try {
    cryptoKey = await crypto.subtle.importKey('spki', spki, algs[0], false, ['verify']);
  } catch (err) {
    throw new UiError(`This browser's WebCrypto cannot import the key: ${err.message}`);
  }
  const ok = await crypto.subtle.verify(algs[1], cryptoKey, signatureBytes(), utf8.encode($('sign-text').value));
  return ok
    ? { kind: 'ok', text: 'WebCrypto agrees: valid. The browser’s own crypto checked the signature with the exported SubjectPublicKeyInfo.' }
    : { kind: 'bad', text: 'WebCrypto says: invalid signature for this message.' };
}

// ---------------------------------------------------------------------------------------------
// Encrypt / decrypt

const gcm = (iv) => ({ mechanism: H.CKM.AES_GCM, parameter: { iv, tagBits: 128 } });

async function encrypt() {
  const key = selected('crypt-key');
  const iv = await state.session.generateRandom(12);
  const data = utf8.encode($('plain-text').value);
  const ct = await state.session.encrypt(gcm(iv), key.handle, data);
  $('crypt-iv').value = toHex(iv);
  $('crypt-out').value = toHex(ct);
  $('decrypted').textContent = '';
  return `Encrypted ${data.length} bytes with “${key.label}”: ${ct.length} bytes out (ciphertext and a 16-byte tag).`;
}

async function decrypt() {
  const key = selected('crypt-key');
  let iv;
  let ct;
  try {
    iv = fromHex($('crypt-iv').value);
    ct = fromHex($('crypt-out').value);
  } catch {
    throw new UiError('The IV and the ciphertext must be hex.');
  }
  if (ct.length === 0) throw new UiError('Encrypt something first (or paste a ciphertext in hex).');
  $('decrypted').textContent = '';
  const pt = await state.session.decrypt(gcm(iv), key.handle, ct);
  $('decrypted').textContent = fromUtf8(pt);
  return `Decrypted and authenticated ${pt.length} bytes with “${key.label}”.`;
}

// ---------------------------------------------------------------------------------------------
// Public key export

async function exportPublic() {
  const pub = selected('pub-key');
  const A = H.CKA;
  const a = await state.session.getAttributes(pub.handle, [A.PUBLIC_KEY_INFO, A.EC_POINT, A.MODULUS, A.PUBLIC_EXPONENT]);
  const spki = a[A.PUBLIC_KEY_INFO];
  $('pub-pem').value = spki instanceof Uint8Array && spki.length ? toPem(spki) : '(the token gave no CKA_PUBLIC_KEY_INFO)';
  let jwk = null;
  const K = H.CKK;
  if (pub.keyType === K.EC && eq(pub.ecParams, EC_P256_PARAMS)) jwk = p256PointToJwk(a[A.EC_POINT]);
  else if (pub.keyType === K.EC_EDWARDS && keyTypeText(pub) === 'Ed25519') jwk = ed25519PointToJwk(a[A.EC_POINT]);
  else if (pub.keyType === K.RSA) jwk = rsaToJwk(a[A.MODULUS], a[A.PUBLIC_EXPONENT]);
  if (jwk && pub.id.length) jwk.kid = toHex(pub.id);
  $('pub-jwk').value = jwk ? JSON.stringify(jwk, null, 2) : `(no JWK form for ${keyTypeText(pub)} keys here)`;
  return `Exported “${pub.label}”: PEM from CKA_PUBLIC_KEY_INFO${jwk ? ', JWK from the key’s public attributes' : ''}.`;
}

// ---------------------------------------------------------------------------------------------
// Wiring

function on(id, event, handler) {
  $(id).addEventListener(event, handler);
}

function wire() {
  const storeRadios = document.querySelectorAll('input[name="store"]');
  const syncDet = () => {
    $('det-seed-row').hidden = !$('det-on').checked;
  };
  on('det-on', 'change', () => {
    if ($('det-on').checked) {
      document.querySelector('input[name="store"][value="memory"]').checked = true;
      if (!$('det-seed').value) $('det-seed').value = EXAMPLE_SEED;
    }
    syncDet();
  });
  for (const r of storeRadios) {
    r.addEventListener('change', () => {
      if (chosenStore() === 'indexeddb') $('det-on').checked = false;
      syncDet();
    });
  }
  on('det-example', 'click', () => {
    $('det-seed').value = EXAMPLE_SEED;
  });
  on('open-form', 'submit', (ev) => {
    ev.preventDefault();
    run($('open-btn'), $('open-status'), 'Opening the store', openModule);
  });
  on('close-btn', 'click', () =>
    run($('close-btn'), $('open-status'), 'Closing', async () => {
      await closeModule();
      return 'Closed. Open a store to go on.';
    }),
  );
  on('wipe-btn', 'click', () => {
    const btn = $('wipe-btn');
    if (!confirmed(btn, 'Really delete all browser tokens?')) return;
    run(btn, $('open-status'), 'Deleting the browser tokens', async () => {
      if (state.storeKind === 'indexeddb') await closeModule();
      return wipeBrowserTokens();
    });
  });
  on('token-select', 'change', () =>
    run($('token-select'), $('token-status'), 'Opening the token', async () => {
      await useToken(Number($('token-select').value));
      return `Using “${$('ti-label').textContent}”.`;
    }),
  );
  on('login-form', 'submit', (ev) => {
    ev.preventDefault();
    run($('login-btn'), $('login-status'), 'Checking the PIN', login, { slow: true });
  });
  on('logout-btn', 'click', () => run($('logout-btn'), $('login-status'), 'Logging out', logout));
  on('create-form', 'submit', (ev) => {
    ev.preventDefault();
    run($('create-btn'), $('create-status'), 'Creating the token (hashing the PINs)', async () => {
      const message = await createToken();
      // The form folds away; the news goes beside the token list.
      setStatus($('token-status'), 'ok', message);
      $('create-details').open = false;
      return undefined;
    }, { slow: true });
  });
  on('reset-form', 'submit', (ev) => {
    ev.preventDefault();
    run($('reset-btn'), $('reset-status'), 'Setting the user PIN', resetUserPin, { slow: true });
  });
  on('export-token-btn', 'click', () => run($('export-token-btn'), $('transfer-status'), 'Exporting', exportToken));
  on('import-file', 'change', (ev) =>
    run(null, $('transfer-status'), 'Importing', () => importToken(ev.target), { slow: true }),
  );
  for (const btn of document.querySelectorAll('[data-gen]')) {
    btn.addEventListener('click', () => {
      const spec = KEYGEN[btn.dataset.gen];
      run(btn, $('gen-status'), `Generating ${spec.name}${spec.slow ? ' (this can take a while)' : ''}`, () => generate(btn.dataset.gen), {
        slow: true,
      });
    });
  }
  on('refresh-btn', 'click', () =>
    run($('refresh-btn'), $('objects-status'), 'Refreshing', async () => {
      await refreshTokens();
      await refreshObjects();
      return `${state.objects.length} object${state.objects.length === 1 ? '' : 's'} visible.`;
    }),
  );
  on('sign-form', 'submit', (ev) => {
    ev.preventDefault();
    run($('sign-btn'), $('sign-status'), 'Signing', sign);
  });
  on('verify-btn', 'click', () => run($('verify-btn'), $('sign-status'), 'Verifying', verify));
  on('webcrypto-btn', 'click', () => run($('webcrypto-btn'), $('sign-status'), 'Checking with WebCrypto', webCryptoVerify));
  on('sign-text', 'input', () => {
    const signed = $('sign-text').dataset.signed;
    if (signed !== undefined && signed !== $('sign-text').value && $('sign-out').value) {
      setStatus($('sign-status'), 'info', 'The message changed since it was signed: verify it to see the signature fail.');
    }
  });
  on('crypt-form', 'submit', (ev) => {
    ev.preventDefault();
    run($('encrypt-btn'), $('crypt-status'), 'Encrypting', encrypt);
  });
  on('decrypt-btn', 'click', () => run($('decrypt-btn'), $('crypt-status'), 'Decrypting', decrypt));
  on('pub-form', 'submit', (ev) => {
    ev.preventDefault();
    run($('pub-btn'), $('pub-status'), 'Exporting', exportPublic);
  });
  on('pub-key', 'change', () => {
    $('pub-pem').value = '';
    $('pub-jwk').value = '';
  });
  window.addEventListener('pagehide', () => {
    state.channel?.close();
  });
}

async function main() {
  wire();
  try {
    H = await import('anyhsm');
  } catch (err) {
    $('lib-info').textContent =
      'The anyhsm package could not be loaded. Install it with: npm --prefix web-demo run setup';
    $('lib-info').className = 'libinfo bad';
    $('open-btn').disabled = true;
    console.warn(err);
    return;
  }
  $('lib-info').textContent = 'Package loaded. Open a store to begin.';
  $('open-btn').disabled = false;
  document.documentElement.dataset.ready = 'true';
}

main();
