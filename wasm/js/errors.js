// Pkcs11Error: every failed call rejects with one (code = CKR_* number, name = CKR_* name,
// method = the API method).
import { CKR } from './consts.js';

const NAMES = new Map();
for (const [k, v] of Object.entries(CKR)) if (!NAMES.has(v)) NAMES.set(v, `CKR_${k}`);

/** The CKR_* name of a code. */
export function rvName(code) {
  return NAMES.get(code) ?? `CKR_0x${(code >>> 0).toString(16).padStart(8, '0')}`;
}

export class Pkcs11Error extends Error {
  constructor(code, method, message) {
    const name = rvName(code);
    super(message ? `${method}: ${name}: ${message}` : `${method}: ${name}`);
    Object.defineProperty(this, 'name', { value: name, enumerable: false, configurable: true, writable: true });
    this.code = code;
    this.method = method;
  }
}

/** A store failure the glue raises: a CKR_* code and why. `stale` = another writer won. */
export class StoreFailure extends Error {
  constructor(code, message, { stale = false } = {}) {
    super(message);
    this.code = code;
    this.stale = stale;
  }
}

/** Anything thrown inside a call, as a Pkcs11Error naming `method`. */
export function toPkcs11(e, method) {
  if (e instanceof Pkcs11Error) return e;
  if (e instanceof StoreFailure) return new Pkcs11Error(e.code, method, e.message);
  if (e && typeof e === 'object' && typeof e.code === 'number' && typeof e.name === 'string' && e.name.startsWith('CKR_')) {
    return new Pkcs11Error(e.code, method); // from the wasm engine: { code, name }
  }
  const err = new Pkcs11Error(CKR.GENERAL_ERROR, method, e instanceof Error ? e.message : String(e));
  if (e instanceof Error) err.cause = e;
  return err;
}
