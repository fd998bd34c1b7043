// The IndexedDB store (DESIGN §2).
//
// Object stores: 'generations' (token name → generation), 'meta' (token name → metadata
// blob), 'records' ([token name, 16-hex-digit id] → blob). Blobs are the engine's records,
// already serialized and sealed: nothing is serialized once a transaction is open.
//
// One persisted change = one readwrite transaction with durability 'strict': it reads each
// token's generation first, then issues every put and delete at once (no await between
// them); the generation reads abort the transaction if another writer moved the token on.
// Success is the transaction's `complete`, never a request's `success`.
//
// Tabs: writers hold a Web Lock named after the database around refresh → compute →
// persist, so they take turns; every call first compares the stored generations with the
// mirror's (one small read) and reloads what changed, so a tab sees another tab's objects.
import { CKR } from '../consts.js';
import { StoreFailure } from '../errors.js';
import { collapse } from './common.js';

const DB_VERSION = 1;
const BLOCKED_TIMEOUT_MS = 10_000;

function request(req) {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

function done(tx) {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onabort = () => reject(tx.error);
    tx.onerror = () => {}; // the abort that follows carries the error
  });
}

/** An IndexedDB failure as a StoreFailure. */
function failure(e, dbName, what) {
  if (e instanceof StoreFailure) return e;
  const name = e?.name ?? '';
  if (name === 'QuotaExceededError') {
    return new StoreFailure(CKR.DEVICE_MEMORY, `IndexedDB '${dbName}': ${what}: quota exceeded (${e.message})`);
  }
  if (name === 'InvalidStateError') {
    return new StoreFailure(CKR.DEVICE_REMOVED, `IndexedDB '${dbName}': ${what}: the database connection is closed`);
  }
  return new StoreFailure(CKR.DEVICE_ERROR, `IndexedDB '${dbName}': ${what}: ${name || 'error'}: ${e?.message ?? e}`);
}

export async function openIndexedDbStore(spec) {
  const factory = spec.indexedDB ?? globalThis.indexedDB;
  const KeyRange = spec.IDBKeyRange ?? globalThis.IDBKeyRange;
  const dbName = spec.name ?? 'anyhsm';
  if (!factory || typeof factory.open !== 'function') {
    throw new StoreFailure(CKR.FUNCTION_FAILED, "no IndexedDB here: pass { kind: 'indexeddb', indexedDB } (e.g. fake-indexeddb in Node)");
  }
  if (!KeyRange) throw new StoreFailure(CKR.FUNCTION_FAILED, 'no IDBKeyRange: pass { IDBKeyRange } with the IDBFactory');
  const locks = spec.locks === undefined ? globalThis.navigator?.locks ?? null : spec.locks;
  const lockName = `anyhsm:idb:${dbName}`;
  const range = (name) => KeyRange.bound([name], [name, []]);

  const db = await new Promise((resolve, reject) => {
    let req;
    try {
      req = factory.open(dbName, DB_VERSION);
    } catch (e) {
      reject(failure(e, dbName, 'open'));
      return;
    }
    let timer = null;
    req.onupgradeneeded = () => {
      const d = req.result;
      for (const s of ['generations', 'meta', 'records']) if (!d.objectStoreNames.contains(s)) d.createObjectStore(s);
    };
    req.onblocked = () => {
      timer = setTimeout(
        () => reject(new StoreFailure(CKR.DEVICE_ERROR, `IndexedDB '${dbName}': open is blocked by another connection that does not close`)),
        BLOCKED_TIMEOUT_MS,
      );
    };
    req.onsuccess = () => {
      if (timer) clearTimeout(timer);
      resolve(req.result);
    };
    req.onerror = () => {
      if (timer) clearTimeout(timer);
      reject(failure(req.error, dbName, 'open'));
    };
  });

  let closedBecause = null;
  const store = {
    kind: 'indexeddb',
    onClose: null,
    warnings: [],
  };
  const markClosed = (why) => {
    if (closedBecause) return;
    closedBecause = `IndexedDB '${dbName}' was closed: ${why}; open the Module again`;
    store.onClose?.(closedBecause);
  };
  db.onversionchange = () => {
    db.close();
    markClosed('another connection is upgrading or deleting the database (versionchange)');
  };
  db.onclose = () => markClosed('the browser closed the connection (storage cleared or evicted)');

  const check = () => {
    if (closedBecause) throw new StoreFailure(CKR.DEVICE_REMOVED, closedBecause);
  };
  const tx = (stores, mode, what) => {
    check();
    try {
      return mode === 'readwrite' ? db.transaction(stores, mode, { durability: 'strict' }) : db.transaction(stores, mode);
    } catch (e) {
      throw failure(e, dbName, what);
    }
  };

  /** Every token's stored generation: [[name, generation], …] (one small read). */
  async function generations(what) {
    const t = tx(['generations'], 'readonly', what);
    const finished = done(t);
    const s = t.objectStore('generations');
    const [keys, values] = await Promise.all([request(s.getAllKeys()), request(s.getAll())]);
    await finished;
    return keys.map((k, i) => [k, values[i]]);
  }

  /** Read tokens `names` with their records, in one transaction (every request issued at once). */
  async function read(names) {
    const t = tx(['generations', 'meta', 'records'], 'readonly', 'read');
    const finished = done(t);
    const tokens = Promise.all(
      names.map(async (name) => {
        const [generation, meta, ids, blobs] = await Promise.all([
          request(t.objectStore('generations').get(name)),
          request(t.objectStore('meta').get(name)),
          request(t.objectStore('records').getAllKeys(range(name))),
          request(t.objectStore('records').getAll(range(name))),
        ]);
        return { name, generation, meta, records: ids.map((k, i) => [k[1], blobs[i]]) };
      }),
    );
    await finished;
    return (await tokens).filter((x) => x.generation !== undefined && x.meta instanceof Uint8Array);
  }

  Object.assign(store, {
    async loadAll() {
      try {
        return await read((await generations('load')).map(([k]) => k));
      } catch (e) {
        throw failure(e, dbName, 'load');
      }
    },

    /** Reload the tokens whose stored generation differs from the mirror's. */
    async sync(engine) {
      try {
        const stored = new Map(await generations('refresh'));
        const mirror = new Map(engine.generations());
        const changed = [...stored].filter(([k, g]) => mirror.get(k) !== g).map(([k]) => k);
        for (const name of mirror.keys()) if (!stored.has(name)) engine.removeToken(name);
        if (changed.length === 0) return;
        for (const tok of await read(changed)) engine.loadToken(tok.name, tok.generation, tok.meta, tok.records);
      } catch (e) {
        throw failure(e, dbName, 'refresh');
      }
    },

    async withWriteLock(fn) {
      check();
      if (!locks) return fn();
      return locks.request(lockName, { mode: 'exclusive' }, () => fn());
    },

    async persist(pending) {
      // Everything is computed before the transaction opens.
      const plan = [...collapse(pending)];
      const t = tx(['generations', 'meta', 'records'], 'readwrite', 'write');
      const finished = done(t);
      let stale = null;
      try {
        const gens = t.objectStore('generations');
        const meta = t.objectStore('meta');
        const records = t.objectStore('records');
        for (const [name, w] of plan) {
          const g = gens.get(name);
          g.onsuccess = () => {
            const current = g.result ?? 0;
            if (current !== w.expected && !stale) {
              stale = new StoreFailure(CKR.DEVICE_ERROR, `token ${name} changed meanwhile (generation ${current}, expected ${w.expected})`, { stale: true });
              t.abort();
            }
          };
        }
        for (const [name, w] of plan) {
          if (w.wipe) records.delete(range(name));
          for (const [id, blob] of w.changes) {
            if (blob === null) records.delete([name, id]);
            else records.put(blob, [name, id]);
          }
          if (w.meta) meta.put(w.meta, name);
          gens.put(w.generation, name);
        }
      } catch (e) {
        try {
          t.abort();
        } catch {
          // already finished
        }
        finished.catch(() => {});
        throw failure(e, dbName, 'write');
      }
      try {
        await finished;
      } catch (e) {
        if (stale) throw stale;
        if (closedBecause) throw new StoreFailure(CKR.DEVICE_REMOVED, closedBecause);
        throw failure(e, dbName, 'write');
      }
    },

    takeWarnings() {
      return store.warnings.splice(0);
    },

    async close() {
      closedBecause ??= 'the module was closed';
      db.close();
    },
  });
  return store;
}
