// StoreSpec → store.
import { CKR } from '../consts.js';
import { StoreFailure } from '../errors.js';
import { openMemoryStore } from './memory.js';
import { openIndexedDbStore } from './indexeddb.js';

export async function openStore(spec, bindings, extra) {
  const s = typeof spec === 'string' ? { kind: spec } : spec;
  switch (s?.kind) {
    case 'memory':
      return openMemoryStore();
    case 'indexeddb':
      return openIndexedDbStore(s);
    case 'directory':
      if (!extra.directory) throw new StoreFailure(CKR.FUNCTION_NOT_SUPPORTED, 'the directory store exists only in Node');
      return extra.directory(s, bindings);
    default:
      throw new StoreFailure(CKR.ARGUMENTS_BAD, `unknown store ${JSON.stringify(s?.kind ?? spec)}: memory, indexeddb or directory`);
  }
}
