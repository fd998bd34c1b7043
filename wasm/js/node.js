// The Node entry: the wasm is read from disk and instantiated synchronously; stores:
// memory, directory, and IndexedDB through an injected IDBFactory (e.g. fake-indexeddb).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as path from 'node:path';

import * as bindings from './wasm/anyhsm_wasm.js';
import { setPlatform } from './module.js';
import { openStore } from './stores/open.js';
import { openDirectoryStore } from './stores/directory.js';

function wasmPath() {
  // The ES module has import.meta.url; in the CommonJS bundle (index.cjs) esbuild makes
  // import.meta an empty object, and __dirname is the bundle's folder.
  const url = import.meta.url;
  if (url) return fileURLToPath(new URL('./wasm/anyhsm_wasm_bg.wasm', url));
  return path.join(__dirname, 'wasm', 'anyhsm_wasm_bg.wasm');
}

let ready = false;
setPlatform({
  async init() {
    if (!ready) {
      bindings.initSync({ module: readFileSync(wasmPath()) });
      ready = true;
    }
    return bindings;
  },
  openStore: (spec, b) => openStore(spec, b, { directory: openDirectoryStore }),
});

export * from './api.js';
