// anyhsm — the npm package's public API. This file is the source of truth for the JS API
// (wasm/API-SKETCH.md was the agreement it grew from). Hand-written; the constant objects
// are generated into consts.d.ts from core/src/consts.rs (scripts/gen-consts.mjs).
//
// Rules that hold everywhere:
// - Data is Uint8Array; object and session handles are numbers; slot ids are numbers.
// - Every failure of a PKCS#11 call rejects with a Pkcs11Error (code, name, method).
// - All calls on one Module run one at a time, in call order (an internal queue), so
//   interleaved awaits cannot corrupt state.
// - A call that changes persistent state settles only after the store reports the write
//   durable (IndexedDB: the transaction's `complete`; directory: fsync + rename). If the
//   write fails, the token is exactly as it was before the call and the call rejects.

export { CKA, CKM, CKO, CKK, CKC, CKR, CKU, CKS, CKF, CKD, CKG, CKZ, CKH, CKP } from './consts.js';
export type { CkaName, CkmName, CkrName } from './consts.js';

/** A PIN: a string is encoded as UTF-8. */
export type Pin = string | Uint8Array;

/** Where tokens live. */
export type StoreSpec =
  | 'memory'
  | { kind: 'memory' }
  | {
      kind: 'indexeddb';
      /** Database name; default 'anyhsm'. */
      name?: string;
      /** The IDBFactory to use; default globalThis.indexedDB (pass fake-indexeddb's in Node). */
      indexedDB?: IDBFactory;
      /**
       * The Web Locks manager that serialises writers across tabs; default
       * globalThis.navigator?.locks. `null` turns cross-tab locking off (the generation check
       * still refuses a stale write, and the call is then recomputed).
       */
      locks?: LockManager | null;
      /** The IDBKeyRange of the same implementation as `indexedDB`; default globalThis.IDBKeyRange. */
      IDBKeyRange?: typeof IDBKeyRange;
    }
  | {
      kind: 'directory';
      /** Node only. The same layout as the native module's file store (ANYHSM_TOKEN_DIR). */
      path: string;
    };

export interface OpenOptions {
  /** Default 'memory'. */
  store?: StoreSpec;
  /** 32 bytes: keys, serials, IVs and signatures repeat exactly (tests only; the token's model says "deterministic"). */
  deterministic?: { seed: Uint8Array };
  /** Tokens created by this module use the fast PIN KDF and say so in their model ("test token"). */
  testToken?: boolean;
  /** Failed logins before a PIN locks; default 10. */
  maxFailures?: number;
}

/**
 * An attribute value. Input: by the attribute's kind in core's schema —
 * bool → boolean; CK_ULONG → number (safe integer) or bigint; bytes → Uint8Array or string
 * (UTF-8); date → 'YYYYMMDD' or '' (or 8 ASCII bytes); mechanism list → number[];
 * template-valued (CKA_WRAP_TEMPLATE …) → Template.
 * Output: boolean, number (bigint above 2^53 − 1), Uint8Array, string (dates), number[],
 * or an array of { type, value } (templates).
 */
export type AttrValue = boolean | number | bigint | string | Uint8Array | number[] | Template;

/** A template: a list of attributes, or an object keyed by CKA_* number. */
export type Template = TemplateEntry[] | TemplateRecord;
/** One attribute of a template. */
export interface TemplateEntry {
  type: number;
  value: AttrValue;
}
/** A template as an object: `{ [CKA.LABEL]: 'x', [CKA.TOKEN]: true }`. */
export interface TemplateRecord {
  [type: number]: AttrValue;
}

/** An attribute as returned inside a template-valued attribute. */
export interface Attribute {
  type: number;
  value: AttrValue;
}

/** CK_GCM_PARAMS. */
export interface GcmParams {
  iv: Uint8Array;
  /** Additional authenticated data; default empty. */
  aad?: Uint8Array;
  /** Tag length in bits (e.g. 128). */
  tagBits: number;
}
/** CK_CCM_PARAMS. */
export interface CcmParams {
  dataLen: number;
  nonce: Uint8Array;
  aad?: Uint8Array;
  /** MAC length in bytes. */
  macLen: number;
}
/** CK_AES_CTR_PARAMS. */
export interface AesCtrParams {
  counterBits: number;
  /** The 16-byte initial counter block. */
  block: Uint8Array;
}
/** CK_SALSA20_CHACHA20_POLY1305_PARAMS. */
export interface ChaCha20Poly1305Params {
  nonce: Uint8Array;
  aad?: Uint8Array;
}
/** CK_AES_CBC_ENCRYPT_DATA_PARAMS (16-byte iv) / CK_DES_CBC_ENCRYPT_DATA_PARAMS (8-byte iv). */
export interface CbcEncryptDataParams {
  iv: Uint8Array;
  data: Uint8Array;
}
/** CK_RSA_PKCS_PSS_PARAMS. */
export interface RsaPssParams {
  hashAlg: number;
  /** CKG.MGF1_* */
  mgf: number;
  saltLen: number;
}
/** CK_RSA_PKCS_OAEP_PARAMS. */
export interface RsaOaepParams {
  hashAlg: number;
  mgf: number;
  /** Default CKZ.DATA_SPECIFIED. */
  source?: number;
  /** The label; default empty. */
  sourceData?: Uint8Array;
}
/** CK_RSA_AES_KEY_WRAP_PARAMS. */
export interface RsaAesKeyWrapParams {
  aesKeyBits: number;
  oaep: RsaOaepParams;
}
/** CK_EDDSA_PARAMS (omit the parameter for plain Ed25519). */
export interface EddsaParams {
  prehash?: boolean;
  context?: Uint8Array;
}
/** CK_ECDH1_DERIVE_PARAMS. */
export interface Ecdh1DeriveParams {
  /** CKD.* */
  kdf: number;
  sharedData?: Uint8Array;
  /** The other party's public key (an uncompressed point, or DER of one). */
  publicData: Uint8Array;
}
/** CK_SIGN_ADDITIONAL_CONTEXT (ML-DSA, SLH-DSA; may be omitted). */
export interface SignContextParams {
  /** CKH.* ; default CKH.HEDGE_PREFERRED. */
  hedge?: number;
  context?: Uint8Array;
}
/** CK_HASH_SIGN_ADDITIONAL_CONTEXT. */
export interface HashSignContextParams extends SignContextParams {
  /** CKM_* of the hash. */
  hash: number;
}
/** CK_HKDF_PARAMS. salt: absent → CKF_HKDF_SALT_NULL, bytes → _DATA, { key } → _KEY. */
export interface HkdfParams {
  extract: boolean;
  expand: boolean;
  /** CKM_* of the PRF hash. */
  prf: number;
  salt?: Uint8Array | { key: number } | null;
  info?: Uint8Array;
}
/** CK_PKCS5_PBKD2_PARAMS2. */
export interface Pbkdf2Params {
  /** Default CKZ.SALT_SPECIFIED. */
  saltSource?: number;
  salt: Uint8Array;
  iterations: number;
  /** CKP.PKCS5_PBKD2_HMAC_* */
  prf: number;
  prfData?: Uint8Array;
  password: string | Uint8Array;
}
/** One CK_PRF_DATA_PARAM of an SP 800-108 KDF. */
export type PrfDataParam =
  | { type: 'iterationVariable'; littleEndian?: boolean; widthBits?: number }
  | { type: 'counter'; littleEndian?: boolean; widthBits: number }
  | { type: 'dkmLength'; method: number; littleEndian?: boolean; widthBits: number }
  | { type: 'byteArray'; value: Uint8Array };
/** CK_SP800_108_KDF_PARAMS / CK_SP800_108_FEEDBACK_KDF_PARAMS (iv: feedback mode only). */
export interface Sp800108Params {
  prf: number;
  data: PrfDataParam[];
  iv?: Uint8Array;
  /** Templates of additional derived keys; their handles come back from deriveKeys(). */
  additionalKeys?: Template[];
}

/**
 * A mechanism parameter, in the shape core's mechanism table gives the mechanism: none;
 * bytes (an IV, key-derivation string data); a CK_ULONG (MAC length, CK_EXTRACT_PARAMS,
 * an object handle); or one of the structures above. More shapes are added here as core
 * grows (extension, never renaming). A wrong shape rejects with CKR_MECHANISM_PARAM_INVALID.
 */
export type MechanismParameter =
  | Uint8Array
  | number
  | GcmParams
  | CcmParams
  | AesCtrParams
  | ChaCha20Poly1305Params
  | CbcEncryptDataParams
  | RsaPssParams
  | RsaOaepParams
  | RsaAesKeyWrapParams
  | EddsaParams
  | Ecdh1DeriveParams
  | SignContextParams
  | HashSignContextParams
  | HkdfParams
  | Pbkdf2Params
  | Sp800108Params;

/** A mechanism: a CKM_* number, or one with its parameter. */
export type Mechanism = number | { mechanism: number; parameter?: MechanismParameter };

export interface Version {
  major: number;
  minor: number;
}

export interface ModuleInfo {
  manufacturer: string;
  library: string;
  /** The package version, e.g. "0.1.0". */
  version: string;
  /** 'memory' | 'indexeddb' | 'directory'. */
  store: 'memory' | 'indexeddb' | 'directory';
  deterministic: boolean;
}

export interface SlotInfo {
  description: string;
  manufacturer: string;
  /** CKF_TOKEN_PRESENT … */
  flags: number;
  hardwareVersion: Version;
  firmwareVersion: Version;
}

export interface TokenInfo {
  /** Strings are trimmed of their blank padding. */
  label: string;
  manufacturer: string;
  /** "anyhsm soft", "deterministic" or "test token". */
  model: string;
  serial: string;
  /** CKF_TOKEN_INITIALIZED, CKF_USER_PIN_INITIALIZED, CKF_USER_PIN_COUNT_LOW, _FINAL_TRY, _LOCKED, … */
  flags: number;
  maxSessionCount: number;
  sessionCount: number;
  maxRwSessionCount: number;
  rwSessionCount: number;
  minPinLen: number;
  maxPinLen: number;
  hardwareVersion: Version;
  firmwareVersion: Version;
  /** "YYYYMMDDhhmmss00", or '' without a clock. */
  utcTime: string;
  /** The store's generation counter of this token (bumped by every persisted change); absent for the empty slot. */
  generation?: number;
}

export interface SessionInfo {
  slot: number;
  /** CKS_* */
  state: number;
  /** CKF_SERIAL_SESSION | CKF_RW_SESSION */
  flags: number;
  deviceError: number;
}

export interface MechanismInfo {
  minKeySize: number;
  maxKeySize: number;
  /** CKF_ENCRYPT, CKF_SIGN, CKF_DIGEST, CKF_GENERATE, … */
  flags: number;
}

/** Every failed call rejects with this. */
export class Pkcs11Error extends Error {
  /** The CKR_* number. */
  readonly code: number;
  /** The CKR_* name, e.g. "CKR_PIN_INCORRECT". */
  readonly name: string;
  /** The method that failed, e.g. "login". */
  readonly method: string;
  constructor(code: number, method: string, message?: string);
}

/** The CKR_* name of a code ("CKR_0x…" for an unknown one). */
export function rvName(code: number): string;

export class Module {
  /** Open a module over a store. Loads every token the store holds. */
  static open(options?: OpenOptions): Promise<Module>;
  info(): ModuleInfo;
  /** Token slots (ids are stable: kept in the token), then the one uninitialised slot, always last. */
  slots(): Promise<number[]>;
  slotInfo(slot: number): Promise<SlotInfo>;
  tokenInfo(slot: number): Promise<TokenInfo>;
  mechanisms(slot: number): Promise<number[]>;
  mechanismInfo(slot: number, mechanism: number): Promise<MechanismInfo>;
  /** Create a token in the empty slot, or re-initialise one (needs its SO PIN; destroys every object). Label: up to 32 bytes of UTF-8. */
  initToken(slot: number, soPin: Pin, label: string): Promise<void>;
  /** Open a session; rw defaults to true. */
  openSession(slot: number, options?: { rw?: boolean }): Promise<Session>;
  closeAllSessions(slot: number): Promise<void>;
  /** A portable snapshot of the token (sealed data stays sealed): moves a token between memory, IndexedDB, a directory and the native module. */
  exportToken(slot: number): Promise<Uint8Array>;
  /** Import a snapshot as a new token; resolves to its slot. CKR_TOKEN_NOT_RECOGNIZED if a token with that serial exists here. */
  importToken(snapshot: Uint8Array): Promise<number>;
  /** Lines worth logging (damaged records skipped, slot conflicts). Never secret. */
  takeWarnings(): string[];
  /** True once close() was called or the store was closed under us (then every call rejects with CKR_DEVICE_REMOVED or CKR_CRYPTOKI_NOT_INITIALIZED). */
  readonly closed: boolean;
  /** Close every session and the store. */
  close(): Promise<void>;
}

export class Session {
  readonly handle: number;
  readonly slot: number;
  readonly module: Module;
  info(): Promise<SessionInfo>;
  initPin(pin: Pin): Promise<void>;
  setPin(oldPin: Pin, newPin: Pin): Promise<void>;
  /** userType: CKU.SO, CKU.USER or CKU.CONTEXT_SPECIFIC. */
  login(userType: number, pin: Pin): Promise<void>;
  logout(): Promise<void>;

  createObject(template: Template): Promise<number>;
  copyObject(object: number, template?: Template): Promise<number>;
  destroyObject(object: number): Promise<void>;
  objectSize(object: number): Promise<number>;
  /** Many attributes at once: a sensitive or absent attribute is `undefined`; rejects only for a bad handle. */
  getAttributes(object: number, types: number[]): Promise<Record<number, AttrValue | undefined>>;
  /** One attribute: rejects with CKR_ATTRIBUTE_SENSITIVE or CKR_ATTRIBUTE_TYPE_INVALID. */
  getAttribute(object: number, type: number): Promise<AttrValue>;
  setAttributes(object: number, template: Template): Promise<void>;
  /** All matching objects (or at most `max`). */
  findObjects(template?: Template, max?: number): Promise<number[]>;
  findObjectsInit(template?: Template): Promise<void>;
  findObjectsNext(max?: number): Promise<number[]>;
  findObjectsFinal(): Promise<void>;

  generateKey(mechanism: Mechanism, template: Template): Promise<number>;
  generateKeyPair(
    mechanism: Mechanism,
    publicTemplate: Template,
    privateTemplate: Template,
  ): Promise<{ publicKey: number; privateKey: number }>;

  digest(mechanism: Mechanism, data: Uint8Array): Promise<Uint8Array>;
  digestInit(mechanism: Mechanism): Promise<void>;
  digestUpdate(data: Uint8Array): Promise<void>;
  digestKey(key: number): Promise<void>;
  digestFinal(): Promise<Uint8Array>;

  sign(mechanism: Mechanism, key: number, data: Uint8Array): Promise<Uint8Array>;
  signInit(mechanism: Mechanism, key: number): Promise<void>;
  signUpdate(data: Uint8Array): Promise<void>;
  signFinal(): Promise<Uint8Array>;

  /** false for CKR_SIGNATURE_INVALID; rejects for anything else (e.g. CKR_SIGNATURE_LEN_RANGE). */
  verify(mechanism: Mechanism, key: number, data: Uint8Array, signature: Uint8Array): Promise<boolean>;
  verifyInit(mechanism: Mechanism, key: number): Promise<void>;
  verifyUpdate(data: Uint8Array): Promise<void>;
  verifyFinal(signature: Uint8Array): Promise<boolean>;

  encrypt(mechanism: Mechanism, key: number, data: Uint8Array): Promise<Uint8Array>;
  encryptInit(mechanism: Mechanism, key: number): Promise<void>;
  encryptUpdate(data: Uint8Array): Promise<Uint8Array>;
  encryptFinal(): Promise<Uint8Array>;

  decrypt(mechanism: Mechanism, key: number, data: Uint8Array): Promise<Uint8Array>;
  decryptInit(mechanism: Mechanism, key: number): Promise<void>;
  decryptUpdate(data: Uint8Array): Promise<Uint8Array>;
  decryptFinal(): Promise<Uint8Array>;

  /** C_WrapKey (CKR_MECHANISM_INVALID for a mechanism core cannot wrap with). */
  wrapKey(mechanism: Mechanism, wrappingKey: number, key: number): Promise<Uint8Array>;
  /** C_UnwrapKey: the new key's handle. */
  unwrapKey(mechanism: Mechanism, unwrappingKey: number, wrapped: Uint8Array, template: Template): Promise<number>;
  /** C_DeriveKey: the new key's handle. */
  deriveKey(mechanism: Mechanism, baseKey: number, template: Template): Promise<number>;
  /** C_DeriveKey with the handles of additional derived keys (SP 800-108 additionalKeys). */
  deriveKeys(mechanism: Mechanism, baseKey: number, template: Template): Promise<{ key: number; additionalKeys: number[] }>;
  /** C_SignRecoverInit + C_SignRecover. */
  signRecover(mechanism: Mechanism, key: number, data: Uint8Array): Promise<Uint8Array>;
  /** C_VerifyRecoverInit + C_VerifyRecover: the recovered data (rejects with CKR_SIGNATURE_INVALID). */
  verifyRecover(mechanism: Mechanism, key: number, signature: Uint8Array): Promise<Uint8Array>;

  generateRandom(length: number): Promise<Uint8Array>;
  /** CKR_RANDOM_SEED_NOT_SUPPORTED unless the RNG takes seeds. */
  seedRandom(seed: Uint8Array): Promise<void>;
  close(): Promise<void>;
}

/** Browser: ask that this origin's storage (and so IndexedDB tokens) not be evicted; resolves to whether it is granted. false where unsupported. */
export function requestPersistentStorage(): Promise<boolean>;
/** Browser: whether this origin's storage is already persistent. false where unsupported. */
export function isStoragePersisted(): Promise<boolean>;
