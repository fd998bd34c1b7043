// Module and Session: the PKCS#11-shaped JS API over the wasm engine.
//
// Every call goes through Module#call, which (1) waits its turn in the module's queue,
// (2) brings the engine's mirror up to the durable store's state (another tab or process
// may have written), (3) runs one engine method, (4) makes the batches it recorded durable
// in one store write, and only then settles. A failed write reverts the mirror, and the
// call rejects with the token exactly as before; a write refused because another writer
// got there first (stale generation) is recomputed on the fresh state, as core does
// natively.
import { CKR, CKU } from './consts.js';
import { Pkcs11Error, StoreFailure, toPkcs11 } from './errors.js';

const VERSION = '0.1.0';
const MAX_REBASES = 16;
const utf8 = new TextEncoder();

let platform = null;

/** Called once by each entry point (node.js, browser.js). */
export function setPlatform(p) {
  platform = p;
}

function pinBytes(pin, method) {
  if (typeof pin === 'string') return utf8.encode(pin);
  if (pin instanceof Uint8Array) return pin;
  throw new Pkcs11Error(CKR.ARGUMENTS_BAD, method, 'a PIN is a string or a Uint8Array');
}

function dataBytes(d, method, what = 'data') {
  if (d instanceof Uint8Array) return d;
  if (d instanceof ArrayBuffer) return new Uint8Array(d);
  if (ArrayBuffer.isView(d)) return new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
  throw new Pkcs11Error(CKR.ARGUMENTS_BAD, method, `${what} must be a Uint8Array`);
}

/** number | { mechanism, parameter } → [type, parameter]. */
function mech(m, method) {
  if (typeof m === 'number' || typeof m === 'bigint') return [Number(m), undefined];
  if (m && typeof m === 'object' && (typeof m.mechanism === 'number' || typeof m.mechanism === 'bigint')) {
    return [Number(m.mechanism), m.parameter];
  }
  throw new Pkcs11Error(CKR.MECHANISM_INVALID, method, 'a mechanism is a CKM_* number or { mechanism, parameter }');
}

function handle(h, method, code = CKR.OBJECT_HANDLE_INVALID) {
  if (typeof h === 'number' && Number.isSafeInteger(h) && h >= 0) return h;
  throw new Pkcs11Error(code, method, 'a handle is a non-negative integer');
}

const u8 = (v) => (v instanceof Uint8Array && v.constructor === Uint8Array ? v : new Uint8Array(v));

export class Module {
  #engine;
  #store;
  #queue = Promise.resolve();
  #closed = null; // null while open, else { code, message }
  #deterministic;
  #sessions = new Set();
  #freed = false;

  constructor(token, engine, store, deterministic) {
    if (token !== Module.#token) throw new TypeError('use Module.open()');
    this.#engine = engine;
    this.#store = store;
    this.#deterministic = deterministic;
    store.onClose = (message) => {
      if (!this.#closed) this.#closed = { code: CKR.DEVICE_REMOVED, message };
    };
  }

  static #token = Symbol('Module');

  static async open(options = {}) {
    if (!platform) throw new Error('anyhsm: no platform entry point loaded');
    const method = 'open';
    try {
      const spec = options.store ?? 'memory';
      let seed;
      if (options.deterministic !== undefined) {
        seed = options.deterministic?.seed;
        if (!(seed instanceof Uint8Array) || seed.length !== 32) {
          throw new Pkcs11Error(CKR.ARGUMENTS_BAD, method, 'deterministic.seed must be a 32-byte Uint8Array');
        }
      }
      const maxFailures = options.maxFailures ?? 10;
      if (!Number.isInteger(maxFailures) || maxFailures < 1 || maxFailures > 0xffffffff) {
        throw new Pkcs11Error(CKR.ARGUMENTS_BAD, method, 'maxFailures must be a positive integer');
      }
      const bindings = await platform.init();
      const store = await platform.openStore(spec, bindings);
      try {
        const tokens = await store.loadAll();
        const engine = new bindings.WasmEngine(seed ? Uint8Array.from(seed) : undefined, !!options.testToken, maxFailures, tokens);
        return new Module(Module.#token, engine, store, !!seed);
      } catch (e) {
        await store.close().catch(() => {});
        throw e;
      }
    } catch (e) {
      throw toPkcs11(e, method);
    }
  }

  /** Run `fn(engine)` in turn. kind: 'pure' (no store access), 'read' (refresh first), 'write' (refresh under the cross-process lock, persist). */
  call(method, kind, fn, { onPersistFailure } = {}) {
    const run = async () => {
      if (this.#closed) throw new Pkcs11Error(this.#closed.code, method, this.#closed.message);
      const body = async () => {
        for (let attempt = 0; ; attempt++) {
          if (kind !== 'pure') await this.#store.sync(this.#engine);
          let result;
          let error = null;
          try {
            result = fn(this.#engine);
          } catch (e) {
            error = e;
          }
          const pending = this.#engine.pending();
          if (pending.length > 0) {
            try {
              await this.#store.persist(pending);
              this.#engine.commit();
            } catch (e) {
              this.#engine.revert();
              if (onPersistFailure && !error) onPersistFailure(this.#engine, result);
              if (e instanceof StoreFailure && e.stale && attempt < MAX_REBASES) continue;
              throw e;
            }
          }
          if (error) throw error;
          return result;
        }
      };
      return kind === 'write' ? this.#store.withWriteLock(body) : body();
    };
    const p = this.#queue.then(run).catch((e) => {
      throw toPkcs11(e, method);
    });
    this.#queue = p.catch(() => {});
    return p;
  }

  /** @internal */
  _forget(session) {
    this.#sessions.delete(session);
  }

  get closed() {
    return this.#closed !== null;
  }

  info() {
    return {
      manufacturer: 'anyhsm',
      library: 'anyhsm (wasm)',
      version: VERSION,
      store: this.#store.kind,
      deterministic: this.#deterministic,
    };
  }

  takeWarnings() {
    const engine = this.#freed ? [] : this.#engine.takeWarnings();
    return [...engine, ...this.#store.takeWarnings()];
  }

  slots() {
    return this.call('slots', 'read', (e) => Array.from(e.slotList()));
  }

  slotInfo(slot) {
    return this.call('slotInfo', 'pure', (e) => e.slotInfo(slot));
  }

  tokenInfo(slot) {
    return this.call('tokenInfo', 'read', (e) => e.tokenInfo(slot));
  }

  mechanisms(slot) {
    return this.call('mechanisms', 'pure', (e) => Array.from(e.mechanismList(slot)));
  }

  mechanismInfo(slot, mechanism) {
    return this.call('mechanismInfo', 'pure', (e) => e.mechanismInfo(slot, mechanism));
  }

  initToken(slot, soPin, label) {
    const method = 'initToken';
    return this.call(method, 'write', (e) => {
      if (typeof label !== 'string') throw new Pkcs11Error(CKR.ARGUMENTS_BAD, method, 'label must be a string');
      e.initToken(slot, pinBytes(soPin, method), label);
    });
  }

  async openSession(slot, { rw = true } = {}) {
    const h = await this.call('openSession', 'read', (e) => e.openSession(slot, !!rw));
    const s = new Session(Session.token, this, h, slot);
    this.#sessions.add(s);
    return s;
  }

  closeAllSessions(slot) {
    return this.call('closeAllSessions', 'pure', (e) => {
      e.closeAllSessions(slot);
      for (const s of this.#sessions) if (s.slot === slot) this.#sessions.delete(s);
    });
  }

  exportToken(slot) {
    return this.call('exportToken', 'read', (e) => u8(e.exportToken(slot)));
  }

  importToken(snapshot) {
    const method = 'importToken';
    return this.call(method, 'write', (e) => e.importToken(dataBytes(snapshot, method, 'snapshot')));
  }

  async close() {
    if (this.#closed && this.#closed.code === CKR.CRYPTOKI_NOT_INITIALIZED) return;
    await this.#queue;
    try {
      for (const slot of this.#engine.slotList()) {
        try {
          this.#engine.closeAllSessions(slot);
        } catch {
          // a token that vanished: nothing to close
        }
      }
    } catch {
      // the store is gone: nothing to close
    }
    this.#sessions.clear();
    this.#closed = { code: CKR.CRYPTOKI_NOT_INITIALIZED, message: 'the module is closed' };
    await this.#store.close();
    this.#engine.free();
    this.#freed = true;
  }
}

export class Session {
  static token = Symbol('Session');
  #module;

  constructor(token, module, handle, slot) {
    if (token !== Session.token) throw new TypeError('use Module#openSession()');
    this.#module = module;
    this.handle = handle;
    this.slot = slot;
  }

  get module() {
    return this.#module;
  }

  #call(method, kind, fn, opts) {
    return this.#module.call(method, kind, (e) => fn(e, this.handle), opts);
  }

  info() {
    return this.#call('info', 'pure', (e, s) => e.sessionInfo(s));
  }

  initPin(pin) {
    return this.#call('initPin', 'write', (e, s) => e.initPin(s, pinBytes(pin, 'initPin')));
  }

  setPin(oldPin, newPin) {
    return this.#call('setPin', 'write', (e, s) => e.setPin(s, pinBytes(oldPin, 'setPin'), pinBytes(newPin, 'setPin')));
  }

  login(userType, pin) {
    return this.#call('login', 'write', (e, s) => e.login(s, userType, pinBytes(pin, 'login')), {
      // Logged in, but the failure counter's reset did not persist: undo the login too.
      onPersistFailure: (e) => {
        if (userType !== CKU.CONTEXT_SPECIFIC) {
          try {
            e.logout(this.handle);
          } catch {
            // not logged in after all
          }
        }
      },
    });
  }

  logout() {
    return this.#call('logout', 'pure', (e, s) => e.logout(s));
  }

  createObject(template) {
    return this.#call('createObject', 'write', (e, s) => e.createObject(s, template));
  }

  copyObject(object, template) {
    return this.#call('copyObject', 'write', (e, s) => e.copyObject(s, handle(object, 'copyObject'), template));
  }

  destroyObject(object) {
    return this.#call('destroyObject', 'write', (e, s) => e.destroyObject(s, handle(object, 'destroyObject')));
  }

  objectSize(object) {
    return this.#call('objectSize', 'read', (e, s) => e.objectSize(s, handle(object, 'objectSize')));
  }

  getAttributes(object, types) {
    const method = 'getAttributes';
    return this.#call(method, 'read', (e, s) => {
      if (!Array.isArray(types)) throw new Pkcs11Error(CKR.ARGUMENTS_BAD, method, 'types must be an array of CKA_* numbers');
      const { values } = e.attributeValues(s, handle(object, method), types.map(Number));
      const out = {};
      types.forEach((t, i) => {
        out[t] = values[i];
      });
      return out;
    });
  }

  getAttribute(object, type) {
    const method = 'getAttribute';
    return this.#call(method, 'read', (e, s) => {
      const { values, codes } = e.attributeValues(s, handle(object, method), [Number(type)]);
      if (codes[0] !== 0) throw new Pkcs11Error(codes[0], method);
      return values[0];
    });
  }

  setAttributes(object, template) {
    return this.#call('setAttributes', 'write', (e, s) => e.setAttributeValues(s, handle(object, 'setAttributes'), template));
  }

  findObjects(template, max = Infinity) {
    return this.#call('findObjects', 'read', (e, s) => {
      e.findObjectsInit(s, template);
      try {
        const limit = Number.isFinite(max) ? max : Number.MAX_SAFE_INTEGER;
        return Array.from(e.findObjects(s, limit));
      } finally {
        e.findObjectsFinal(s);
      }
    });
  }

  findObjectsInit(template) {
    return this.#call('findObjectsInit', 'read', (e, s) => e.findObjectsInit(s, template));
  }

  findObjectsNext(max = Number.MAX_SAFE_INTEGER) {
    return this.#call('findObjectsNext', 'pure', (e, s) => Array.from(e.findObjects(s, max)));
  }

  findObjectsFinal() {
    return this.#call('findObjectsFinal', 'pure', (e, s) => e.findObjectsFinal(s));
  }

  generateKey(mechanism, template) {
    const method = 'generateKey';
    return this.#call(method, 'write', (e, s) => e.generateKey(s, ...mech(mechanism, method), template));
  }

  generateKeyPair(mechanism, publicTemplate, privateTemplate) {
    const method = 'generateKeyPair';
    return this.#call(method, 'write', (e, s) => {
      const [publicKey, privateKey] = e.generateKeyPair(s, ...mech(mechanism, method), publicTemplate, privateTemplate);
      return { publicKey, privateKey };
    });
  }

  // ---- digest ----

  digest(mechanism, data) {
    const method = 'digest';
    return this.#call(method, 'pure', (e, s) => {
      e.digestInit(s, ...mech(mechanism, method));
      return u8(e.digest(s, dataBytes(data, method)));
    });
  }

  digestInit(mechanism) {
    return this.#call('digestInit', 'pure', (e, s) => e.digestInit(s, ...mech(mechanism, 'digestInit')));
  }

  digestUpdate(data) {
    return this.#call('digestUpdate', 'pure', (e, s) => e.digestUpdate(s, dataBytes(data, 'digestUpdate')));
  }

  digestKey(key) {
    return this.#call('digestKey', 'read', (e, s) => e.digestKey(s, handle(key, 'digestKey', CKR.KEY_HANDLE_INVALID)));
  }

  digestFinal() {
    return this.#call('digestFinal', 'pure', (e, s) => u8(e.digestFinal(s)));
  }

  // ---- sign and verify ----

  sign(mechanism, key, data) {
    const method = 'sign';
    return this.#call(method, 'read', (e, s) => {
      const d = dataBytes(data, method);
      e.signInit(s, ...mech(mechanism, method), handle(key, method, CKR.KEY_HANDLE_INVALID));
      return u8(e.sign(s, d));
    });
  }

  signInit(mechanism, key) {
    const method = 'signInit';
    return this.#call(method, 'read', (e, s) => e.signInit(s, ...mech(mechanism, method), handle(key, method, CKR.KEY_HANDLE_INVALID)));
  }

  signUpdate(data) {
    return this.#call('signUpdate', 'pure', (e, s) => e.signUpdate(s, dataBytes(data, 'signUpdate')));
  }

  signFinal() {
    return this.#call('signFinal', 'pure', (e, s) => u8(e.signFinal(s)));
  }

  verify(mechanism, key, data, signature) {
    const method = 'verify';
    return this.#call(method, 'read', (e, s) => {
      const d = dataBytes(data, method);
      const sig = dataBytes(signature, method, 'signature');
      e.verifyInit(s, ...mech(mechanism, method), handle(key, method, CKR.KEY_HANDLE_INVALID));
      return verified(() => e.verify(s, d, sig));
    });
  }

  verifyInit(mechanism, key) {
    const method = 'verifyInit';
    return this.#call(method, 'read', (e, s) => e.verifyInit(s, ...mech(mechanism, method), handle(key, method, CKR.KEY_HANDLE_INVALID)));
  }

  verifyUpdate(data) {
    return this.#call('verifyUpdate', 'pure', (e, s) => e.verifyUpdate(s, dataBytes(data, 'verifyUpdate')));
  }

  verifyFinal(signature) {
    return this.#call('verifyFinal', 'pure', (e, s) => verified(() => e.verifyFinal(s, dataBytes(signature, 'verifyFinal', 'signature'))));
  }

  // ---- encrypt and decrypt ----

  encrypt(mechanism, key, data) {
    const method = 'encrypt';
    return this.#call(method, 'read', (e, s) => {
      const d = dataBytes(data, method);
      e.encryptInit(s, ...mech(mechanism, method), handle(key, method, CKR.KEY_HANDLE_INVALID));
      return u8(e.encrypt(s, d));
    });
  }

  encryptInit(mechanism, key) {
    const method = 'encryptInit';
    return this.#call(method, 'read', (e, s) => e.encryptInit(s, ...mech(mechanism, method), handle(key, method, CKR.KEY_HANDLE_INVALID)));
  }

  encryptUpdate(data) {
    return this.#call('encryptUpdate', 'pure', (e, s) => u8(e.encryptUpdate(s, dataBytes(data, 'encryptUpdate'))));
  }

  encryptFinal() {
    return this.#call('encryptFinal', 'pure', (e, s) => u8(e.encryptFinal(s)));
  }

  decrypt(mechanism, key, data) {
    const method = 'decrypt';
    return this.#call(method, 'read', (e, s) => {
      const d = dataBytes(data, method);
      e.decryptInit(s, ...mech(mechanism, method), handle(key, method, CKR.KEY_HANDLE_INVALID));
      return u8(e.decrypt(s, d));
    });
  }

  decryptInit(mechanism, key) {
    const method = 'decryptInit';
    return this.#call(method, 'read', (e, s) => e.decryptInit(s, ...mech(mechanism, method), handle(key, method, CKR.KEY_HANDLE_INVALID)));
  }

  decryptUpdate(data) {
    return this.#call('decryptUpdate', 'pure', (e, s) => u8(e.decryptUpdate(s, dataBytes(data, 'decryptUpdate'))));
  }

  decryptFinal() {
    return this.#call('decryptFinal', 'pure', (e, s) => u8(e.decryptFinal(s)));
  }

  // ---- wrap, unwrap, derive, recover ----

  wrapKey(mechanism, wrappingKey, key) {
    const method = 'wrapKey';
    return this.#call(method, 'read', (e, s) =>
      u8(e.wrapKey(s, ...mech(mechanism, method), handle(wrappingKey, method, CKR.WRAPPING_KEY_HANDLE_INVALID), handle(key, method, CKR.KEY_HANDLE_INVALID))),
    );
  }

  unwrapKey(mechanism, unwrappingKey, wrapped, template) {
    const method = 'unwrapKey';
    return this.#call(method, 'write', (e, s) =>
      e.unwrapKey(s, ...mech(mechanism, method), handle(unwrappingKey, method, CKR.UNWRAPPING_KEY_HANDLE_INVALID), dataBytes(wrapped, method, 'wrapped key'), template),
    );
  }

  deriveKey(mechanism, baseKey, template) {
    return this.deriveKeys(mechanism, baseKey, template).then((r) => r.key);
  }

  deriveKeys(mechanism, baseKey, template) {
    const method = 'deriveKey';
    return this.#call(method, 'write', (e, s) => {
      const [key, ...additionalKeys] = Array.from(e.deriveKey(s, ...mech(mechanism, method), handle(baseKey, method, CKR.KEY_HANDLE_INVALID), template));
      return { key, additionalKeys };
    });
  }

  signRecover(mechanism, key, data) {
    const method = 'signRecover';
    return this.#call(method, 'read', (e, s) => {
      const d = dataBytes(data, method);
      e.signRecoverInit(s, ...mech(mechanism, method), handle(key, method, CKR.KEY_HANDLE_INVALID));
      return u8(e.signRecover(s, d));
    });
  }

  verifyRecover(mechanism, key, signature) {
    const method = 'verifyRecover';
    return this.#call(method, 'read', (e, s) => {
      const sig = dataBytes(signature, method, 'signature');
      e.verifyRecoverInit(s, ...mech(mechanism, method), handle(key, method, CKR.KEY_HANDLE_INVALID));
      return u8(e.verifyRecover(s, sig));
    });
  }

  // ---- random ----

  generateRandom(length) {
    return this.#call('generateRandom', 'pure', (e, s) => u8(e.generateRandom(s, length)));
  }

  seedRandom(seed) {
    return this.#call('seedRandom', 'pure', (e, s) => e.seedRandom(s, dataBytes(seed, 'seedRandom', 'seed')));
  }

  close() {
    return this.#call('close', 'pure', (e, s) => {
      e.closeSession(s);
      this.#module._forget(this);
    });
  }
}

function verified(fn) {
  try {
    fn();
    return true;
  } catch (e) {
    if (e && e.code === CKR.SIGNATURE_INVALID) return false;
    throw e;
  }
}

export function storageManager() {
  return globalThis.navigator?.storage;
}

export async function requestPersistentStorage() {
  const s = storageManager();
  if (!s || typeof s.persist !== 'function') return false;
  try {
    return await s.persist();
  } catch {
    return false;
  }
}

export async function isStoragePersisted() {
  const s = storageManager();
  if (!s || typeof s.persisted !== 'function') return false;
  try {
    return await s.persisted();
  } catch {
    return false;
  }
}
