// The directory store (Node): the native file store's layout, byte for byte
// (native-ffi/src/store/file.rs), so a token directory moves between this package and
// libanyhsm_pkcs11.so in either direction:
//
//   <root>/<token>/meta.bin                  generation (u64 LE) ‖ "AHF1" ‖ check ‖ metadata blob
//   <root>/<token>/objects/<016x>.rec        one record per file: "AHF1" ‖ check ‖ blob
//   <root>/<token>/.lock                     the native module's flock(2) target
//   <root>/<token>/journal.bin               "AHSMJNL1" ‖ len ‖ postcard ‖ SHA-256, while a batch is applied
//   <root>/<token>/.tmp-<generation>-<n>     new contents before they are renamed in
//   <root>/<token>/log.bin                   the native module's redo log (docs/storage-format.md)
//
// The check (16 bytes) is the first half of SHA-256(domain ‖ token name ‖ 0 ‖ n (u64 LE) ‖
// blob), n being the generation for meta.bin and the record id for a record: it catches
// damage and a file copied from another token or record (native-ffi/src/store/mod.rs).
//
// A batch is applied as native builds before the redo log did: temps written and fsynced,
// then the journal (the commit point), then renamed into place, the journal removed;
// recovery completes a committed journal and discards an incomplete one, so a batch
// interrupted here is finished by the native module and the reverse.
//
// The native module commits a batch as one frame of log.bin and writes the files without
// syncing them (a checkpoint syncs them and empties the log). This store does not write
// the log; before it reads or writes a token whose log holds frames, it replays them all
// into the files with the journal protocol above (fsynced), then empties the log: the files
// are then durable and complete, and it never writes around a non-empty log.
//
// Locking: Node has no flock(2), so writers in Node processes take turns with an
// exclusive lock file, <root>/.anyhsm-node.lock (created with O_EXCL; a lock whose owner
// process is gone is broken). The generation check, done under that lock just before the
// commit point, refuses a stale write; the call is then recomputed. A native process
// writing the same token at the same instant is not excluded by that lock (see README).
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { CKR } from '../consts.js';
import { StoreFailure } from '../errors.js';
import { collapse } from './common.js';

const META = 'meta.bin';
const OBJECTS = 'objects';
const JOURNAL = 'journal.bin';
const LOG = 'log.bin';
const LOG_MAGIC = Buffer.from('AHSMLOG1');
const LOG_DOMAIN = 'anyhsm log v1\0';
/** A frame's fixed bytes: magic, body length, the body's fixed fields, checksum, frame length. */
const LOG_MIN_FRAME = 16 + (8 + 8 + 8 + 16 + 1 + 4 + 4 + 4) + 32 + 8;
const TMP_PREFIX = '.tmp-';
const NODE_LOCK = '.anyhsm-node.lock';
const FILE_MODE = 0o600;
const DIR_MODE = 0o700;
const LOCK_TIMEOUT_MS = 30_000;
const BUSY_RETRIES = 200;
/** A lock file without a pid (its writer died between create and write) is broken after this. */
const STALE_EMPTY_LOCK_MS = 5_000;

const FRAME_MAGIC = Buffer.from('AHF1');
const CHECK_LEN = 16;
const FRAME_LEN = FRAME_MAGIC.length + CHECK_LEN;

function check(domain, name, n, blob) {
  const le = Buffer.alloc(8);
  le.writeBigUInt64LE(BigInt(n));
  const h = createHash('sha256').update(domain).update(name).update(Buffer.from([0])).update(le).update(blob);
  return h.digest().subarray(0, CHECK_LEN);
}
const recordCheck = (name, idHex, blob) => check('anyhsm record v1\0', name, BigInt(`0x${idHex}`), blob);
const metaCheck = (name, generation, meta) => check('anyhsm meta v1\0', name, generation, meta);

function frameRecord(name, idHex, blob) {
  return Buffer.concat([FRAME_MAGIC, recordCheck(name, idHex, blob), blob]);
}

function frameMeta(name, generation, meta) {
  const g = Buffer.alloc(8);
  g.writeBigUInt64LE(BigInt(generation));
  return Buffer.concat([g, FRAME_MAGIC, metaCheck(name, generation, meta), meta]);
}

/** What the log says of a record the engine keeps only as a placeholder. */
const UNUSABLE = 'its object answers CKR_DEVICE_ERROR until it is destroyed';

/** The blob of a record file, or why it is damaged. */
function unframeRecord(name, idHex, file) {
  if (file.length < FRAME_LEN || !file.subarray(0, 4).equals(FRAME_MAGIC)) return { why: 'too short or not a record file of this format (truncated?)' };
  const blob = file.subarray(FRAME_LEN);
  if (!recordCheck(name, idHex, blob).equals(file.subarray(4, FRAME_LEN))) {
    return { why: 'integrity check failed (damaged, or copied from another token or record)' };
  }
  return { blob: new Uint8Array(blob) };
}

const isTokenName = (n) => /^[A-Za-z0-9_-]{1,64}$/.test(n);
const isRecordFile = (n) => /^[0-9a-f]{16}\.rec$/.test(n);
const recordFile = (idHex) => `${idHex}.rec`;
const isTmpName = (n) => n.length <= 64 && n.startsWith(TMP_PREFIX) && !n.includes('..') && /^[A-Za-z0-9.-]+$/.test(n);

function ioFailure(e, what, file) {
  if (e instanceof StoreFailure) return e;
  const code = e?.code === 'ENOSPC' || e?.code === 'EDQUOT' ? CKR.DEVICE_MEMORY : CKR.DEVICE_ERROR;
  return new StoreFailure(code, `directory store: cannot ${what} ${file}: ${e?.code ?? ''} ${e?.message ?? e}`.trim());
}

function syncDir(dir) {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

function writeFile(file, data) {
  const fd = fs.openSync(file, 'w', FILE_MODE);
  try {
    fs.writeSync(fd, data);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

function removeAny(file) {
  fs.rmSync(file, { force: true, recursive: true });
}

function exists(file) {
  return fs.existsSync(file);
}

function readGeneration(dir) {
  let fd;
  try {
    fd = fs.openSync(path.join(dir, META), 'r');
  } catch (e) {
    if (e.code === 'ENOENT') return null;
    throw e;
  }
  try {
    const b = Buffer.alloc(8);
    if (fs.readSync(fd, b, 0, 8, 0) !== 8) throw new Error('meta.bin is shorter than its 8-byte generation');
    return Number(b.readBigUInt64LE(0));
  } finally {
    fs.closeSync(fd);
  }
}

function readMeta(dir, name) {
  let bytes;
  try {
    bytes = fs.readFileSync(path.join(dir, META));
  } catch (e) {
    if (e.code === 'ENOENT') return null;
    throw e;
  }
  if (bytes.length < 8 + FRAME_LEN || !bytes.subarray(8, 12).equals(FRAME_MAGIC)) {
    throw new Error(`${path.join(dir, META)}: truncated, or not a metadata file of this format`);
  }
  const generation = Number(bytes.readBigUInt64LE(0));
  const meta = bytes.subarray(8 + FRAME_LEN);
  if (!metaCheck(name, generation, meta).equals(bytes.subarray(12, 8 + FRAME_LEN))) {
    throw new Error(`${path.join(dir, META)}: integrity check failed (damaged, or copied from another token)`);
  }
  return { generation, meta: new Uint8Array(meta) };
}

/**
 * The intact frames of a log.bin (native-ffi/src/store/file/log.rs), from its start up to
 * the first frame that is torn, damaged, of another token, out of place or out of sequence.
 * → [{ generation, wipe, meta, puts: [[idHex, blob]], deletes: [idHex] }]
 */
function parseLog(name, bytes) {
  const frames = [];
  let at = 0;
  let last = null;
  while (bytes.length - at >= LOG_MIN_FRAME) {
    if (!bytes.subarray(at, at + 8).equals(LOG_MAGIC)) break;
    const bodyLen = bytes.readBigUInt64LE(at + 8);
    if (bodyLen > BigInt(bytes.length)) break;
    const body = at + 16;
    const end = body + Number(bodyLen);
    const total = end + 40 - at;
    if (end + 40 > bytes.length) break;
    const sum = createHash('sha256').update(LOG_DOMAIN).update(name).update(Buffer.from([0])).update(bytes.subarray(at, end)).digest();
    if (!sum.equals(bytes.subarray(end, end + 32)) || bytes.readBigUInt64LE(end + 32) !== BigInt(total)) break;
    const f = parseBody(bytes.subarray(body, end));
    if (!f || f.offset !== BigInt(at)) break;
    const follows = last === null ? f.index === 0n : f.index === last.index + 1n && f.generation === last.generation + 1;
    if (!follows) break;
    frames.push(f);
    last = f;
    at += total;
  }
  return frames;
}

function parseBody(b) {
  let p = 0;
  const take = (n) => {
    if (p + n > b.length) throw new RangeError('short');
    const v = b.subarray(p, p + n);
    p += n;
    return v;
  };
  const u64 = () => take(8).readBigUInt64LE(0);
  const u32 = () => take(4).readUInt32LE(0);
  const idHex = () => u64().toString(16).padStart(16, '0');
  try {
    const offset = u64();
    const index = u64();
    const generation = Number(u64());
    take(16); // the boot id
    const wipeByte = take(1)[0];
    if (wipeByte > 1) return null;
    const meta = new Uint8Array(take(u32()));
    const puts = [];
    for (let n = u32(); n > 0; n--) {
      const id = idHex();
      puts.push([id, new Uint8Array(take(u32()))]);
    }
    const deletes = [];
    for (let n = u32(); n > 0; n--) deletes.push(idHex());
    if (p !== b.length) return null;
    return { offset, index, generation, wipe: wipeByte === 1, meta, puts, deletes };
  } catch {
    return null;
  }
}

/** Whether the token has a log with something in it. */
function logHasFrames(dir) {
  try {
    return fs.statSync(path.join(dir, LOG)).size > 0;
  } catch (e) {
    if (e.code === 'ENOENT') return false;
    throw e;
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function processAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return e.code === 'EPERM';
  }
}

export function openDirectoryStore(spec, bindings) {
  if (typeof spec.path !== 'string' || spec.path === '') {
    throw new StoreFailure(CKR.ARGUMENTS_BAD, "the directory store needs { kind: 'directory', path }");
  }
  const root = path.resolve(spec.path);
  try {
    if (exists(root)) {
      if (!fs.statSync(root).isDirectory()) throw new Error('it is a file');
    } else {
      fs.mkdirSync(root, { recursive: true, mode: DIR_MODE });
    }
    fs.accessSync(root, fs.constants.R_OK | fs.constants.W_OK);
  } catch (e) {
    throw new StoreFailure(CKR.DEVICE_ERROR, `token directory ${root}: ${e.message}`);
  }
  const warnings = [];
  const warn = (m) => {
    if (warnings.length < 1024) warnings.push(m);
  };
  let lockDepth = 0;

  // ---- recovery ----

  /** Step 4 of a batch, idempotent (the native `roll_forward`). */
  function rollForward(dir, j) {
    const objects = path.join(dir, OBJECTS);
    fs.mkdirSync(objects, { recursive: true, mode: DIR_MODE });
    if (j.wipe) {
      const keep = new Set(j.installs.map(([id]) => recordFile(id)));
      for (const f of fs.readdirSync(objects)) if (!keep.has(f)) removeAny(path.join(objects, f));
    }
    for (const id of j.removes) removeAny(path.join(objects, recordFile(id)));
    for (const [id, tmp] of j.installs) {
      const target = path.join(objects, recordFile(id));
      if (exists(target) && fs.statSync(target).isDirectory()) removeAny(target);
      try {
        fs.renameSync(path.join(dir, tmp), target);
      } catch (e) {
        if (e.code !== 'ENOENT') throw e; // gone: renamed by an earlier, interrupted run
      }
    }
    syncDir(objects);
    try {
      fs.renameSync(path.join(dir, j.metaTmp), path.join(dir, META));
    } catch (e) {
      if (e.code !== 'ENOENT') throw e;
    }
    syncDir(dir);
    removeAny(path.join(dir, JOURNAL));
    syncDir(dir);
  }

  /** Complete a committed batch or discard an uncommitted one, then delete stray temps. */
  function recover(dir) {
    const jp = path.join(dir, JOURNAL);
    if (exists(jp)) {
      const j = bindings.journalDecode(fs.readFileSync(jp));
      if (j && isTmpName(j.metaTmp) && j.installs.every(([, t]) => isTmpName(t))) {
        warn(`directory store: completing a batch interrupted by a crash in ${dir} (generation ${j.generation})`);
        rollForward(dir, j);
      } else {
        warn(`directory store: discarding an incomplete journal in ${dir}`);
        removeAny(jp);
      }
    }
    let removed = false;
    for (const f of fs.readdirSync(dir)) {
      if (f.startsWith(TMP_PREFIX)) {
        removeAny(path.join(dir, f));
        removed = true;
      }
    }
    if (removed) syncDir(dir);
  }

  // ---- reading ----

  function tokenDirs() {
    return fs
      .readdirSync(root, { withFileTypes: true })
      .filter((d) => isTokenName(d.name) && d.isDirectory())
      .map((d) => d.name)
      .sort();
  }

  /**
   * A consistent read of one token without flock: no journal before or after, and the
   * same generation before and after reading the records. A journal that stays is a
   * crashed writer's: recovered under our lock.
   */
  async function loadToken(name) {
    const dir = path.join(root, name);
    if (logHasFrames(dir)) await locked(async () => replayLog(dir, name));
    for (let i = 0; ; i++) {
      if (exists(path.join(dir, JOURNAL))) {
        if (i < BUSY_RETRIES) {
          await sleep(5);
          continue;
        }
        await locked(async () => recover(dir));
      }
      const m = readMeta(dir, name);
      if (!m) return null;
      const objects = path.join(dir, OBJECTS);
      const records = [];
      let files = [];
      try {
        files = fs.readdirSync(objects);
      } catch (e) {
        if (e.code !== 'ENOENT') throw e;
      }
      for (const f of files) {
        if (!isRecordFile(f)) {
          warn(`directory store: ignoring ${path.join(objects, f)}: not a record file name`);
          continue;
        }
        // A damaged record goes to the engine with a null blob: its object then answers
        // CKR_DEVICE_ERROR until it is destroyed, and the file stays until then.
        const damaged = (why) => {
          warn(`directory store: damaged record ${path.join(objects, f)}: ${why}; ${UNUSABLE}`);
          records.push([f.slice(0, 16), null]);
        };
        try {
          const r = unframeRecord(name, f.slice(0, 16), fs.readFileSync(path.join(objects, f)));
          if (r.blob) records.push([f.slice(0, 16), r.blob]);
          else damaged(r.why);
        } catch (e) {
          if (e.code === 'ENOENT') continue; // deleted meanwhile: the generation check below retries
          damaged(e.message);
        }
      }
      if (readGeneration(dir) === m.generation && !exists(path.join(dir, JOURNAL))) {
        records.sort((a, b) => (a[0] < b[0] ? -1 : 1));
        return { name, generation: m.generation, meta: m.meta, records };
      }
    }
  }

  // ---- the Node writers' lock ----

  async function locked(fn) {
    if (lockDepth > 0) return fn();
    const file = path.join(root, NODE_LOCK);
    const start = Date.now();
    for (;;) {
      let fd = null;
      try {
        fd = fs.openSync(file, 'wx', FILE_MODE);
        fs.writeSync(fd, `${process.pid}\n`);
        fs.closeSync(fd);
        break;
      } catch (e) {
        if (e.code !== 'EEXIST') {
          if (fd !== null) {
            fs.closeSync(fd);
            removeAny(file);
          }
          throw ioFailure(e, 'create lock file', file);
        }
      }
      let owner = NaN;
      let age = 0;
      try {
        owner = parseInt(fs.readFileSync(file, 'utf8'), 10);
        age = Date.now() - fs.statSync(file).mtimeMs;
      } catch {
        continue; // released meanwhile
      }
      const gone = Number.isInteger(owner) ? owner !== process.pid && !processAlive(owner) : age > STALE_EMPTY_LOCK_MS;
      if (gone) {
        warn(`directory store: breaking the lock of process ${owner}, which is gone`);
        removeAny(file);
        continue;
      }
      if (Date.now() - start > LOCK_TIMEOUT_MS) {
        throw new StoreFailure(CKR.DEVICE_ERROR, `directory store: ${file} is held by process ${owner} for more than ${LOCK_TIMEOUT_MS} ms`);
      }
      await sleep(2);
    }
    lockDepth++;
    try {
      return await fn();
    } finally {
      lockDepth--;
      removeAny(file);
    }
  }

  // ---- writing ----

  /** One token's collapsed batch, as the native `apply_batch` does it. Under the lock. */
  function write(name, w) {
    if (!isTokenName(name)) throw new StoreFailure(CKR.ARGUMENTS_BAD, `directory store: bad token name ${name}`);
    const dir = path.join(root, name);
    if (!exists(dir)) {
      if (w.expected !== 0) throw new StoreFailure(CKR.DEVICE_ERROR, `token ${name} is gone`, { stale: true });
      if (!w.meta || w.meta.length === 0) throw new StoreFailure(CKR.TOKEN_NOT_PRESENT, `token ${name} has no metadata`);
      fs.mkdirSync(dir, { mode: DIR_MODE });
      fs.mkdirSync(path.join(dir, OBJECTS), { mode: DIR_MODE });
      syncDir(dir);
      syncDir(root);
    }
    recover(dir);
    replayLog(dir, name);
    const current = readGeneration(dir) ?? 0;
    if (current !== w.expected) {
      throw new StoreFailure(CKR.DEVICE_ERROR, `token ${name} changed meanwhile (generation ${current}, expected ${w.expected})`, { stale: true });
    }
    const meta = w.meta ?? readMeta(dir, name)?.meta;
    if (!meta || meta.length === 0) throw new StoreFailure(CKR.TOKEN_NOT_PRESENT, `token ${name} has no metadata`);
    writeBatch(dir, name, meta, w);
  }

  /**
   * Bring the files up to the native log, durably, and empty it (under the lock): the
   * frames' collapsed effect written as one journal batch at the last frame's generation.
   * Frames carry full contents, so replaying ones already applied changes nothing. A log
   * older than meta.bin (written around by a writer without the log) is only emptied.
   */
  function replayLog(dir, name) {
    if (!logHasFrames(dir)) return;
    const logFile = path.join(dir, LOG);
    const frames = parseLog(name, fs.readFileSync(logFile));
    if (frames.length > 0) {
      const last = frames[frames.length - 1];
      let applied = null;
      try {
        applied = readMeta(dir, name)?.generation ?? null;
      } catch {
        // damaged metadata: the log has it whole
      }
      if (applied !== null && applied > last.generation) {
        warn(`directory store: ${logFile} is older than meta.bin (generation ${applied}); not replaying it`);
      } else {
        warn(`directory store: replaying the ${frames.length} batches of the native log ${logFile} (up to generation ${last.generation})`);
        const w = { generation: last.generation, wipe: false, changes: new Map() };
        for (const f of frames) {
          if (f.wipe) {
            w.wipe = true;
            w.changes.clear();
          }
          for (const [id, blob] of f.puts) w.changes.set(id, blob);
          for (const id of f.deletes) w.changes.set(id, null);
        }
        writeBatch(dir, name, last.meta, w, true);
      }
    }
    const fd = fs.openSync(logFile, 'r+');
    try {
      fs.ftruncateSync(fd, 0);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  }

  /**
   * Write `w` (generation, wipe, changes) with `meta` by the journal protocol. `strict`:
   * an I/O error after the commit point fails too (a replay must not empty the log then).
   */
  function writeBatch(dir, name, meta, w, strict = false) {
    const generation = w.generation;
    const j = { generation, wipe: w.wipe, metaTmp: `${TMP_PREFIX}${generation}-meta`, installs: [], removes: [] };
    const temps = [];
    [...w.changes.keys()].sort().forEach((id, n) => {
      const blob = w.changes.get(id);
      if (blob === null) {
        j.removes.push(id);
      } else {
        const tmp = `${TMP_PREFIX}${generation}-${n}`;
        j.installs.push([id, tmp]);
        temps.push([tmp, frameRecord(name, id, blob)]);
      }
    });
    temps.push([j.metaTmp, frameMeta(name, generation, meta)]);
    const frame = bindings.journalEncode(generation, j.wipe, j.metaTmp, j.installs, j.removes);
    try {
      for (const [tmp, data] of temps) writeFile(path.join(dir, tmp), data);
      syncDir(dir);
      writeFile(path.join(dir, JOURNAL), frame);
      syncDir(dir);
    } catch (e) {
      // Before the commit point: leave no trace.
      try {
        removeAny(path.join(dir, JOURNAL));
        recover(dir);
      } catch {
        // the next access recovers
      }
      throw ioFailure(e, 'write a batch into', dir);
    }
    // Committed: from here on the batch is durable and will be completed.
    try {
      rollForward(dir, j);
    } catch (e) {
      if (strict) throw e;
      warn(`directory store: the batch of ${name} (generation ${generation}) is committed and will be completed at the next access: ${e.message}`);
    }
  }

  return {
    kind: 'directory',
    onClose: null,
    root,

    async loadAll() {
      try {
        const out = [];
        for (const name of tokenDirs()) {
          const t = await loadToken(name);
          if (t) out.push(t);
        }
        return out;
      } catch (e) {
        throw ioFailure(e, 'load tokens from', root);
      }
    },

    async sync(engine) {
      try {
        const mirror = new Map(engine.generations());
        const names = tokenDirs();
        for (const name of names) {
          const dir = path.join(root, name);
          const busy = exists(path.join(dir, JOURNAL)) || logHasFrames(dir);
          const g = busy ? undefined : readGeneration(dir);
          if (g === null) continue; // a directory without a token (yet)
          if (g !== undefined && mirror.get(name) === g) continue;
          const t = await loadToken(name);
          if (t) engine.loadToken(t.name, t.generation, t.meta, t.records);
        }
        const present = new Set(names);
        for (const name of mirror.keys()) if (!present.has(name)) engine.removeToken(name);
      } catch (e) {
        throw ioFailure(e, 'refresh from', root);
      }
    },

    withWriteLock(fn) {
      return locked(fn);
    },

    async persist(pending) {
      await locked(async () => {
        for (const [name, w] of collapse(pending)) {
          try {
            write(name, w);
          } catch (e) {
            throw ioFailure(e, 'persist token', name);
          }
        }
      });
    },

    takeWarnings() {
      return warnings.splice(0);
    },

    async close() {},
  };
}
