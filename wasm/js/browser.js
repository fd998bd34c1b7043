// The browser entry: the wasm is fetched next to this file (bundlers follow the
// `new URL(…, import.meta.url)`); stores: memory and IndexedDB.
import init, * as bindings from './wasm/anyhsm_wasm.js';
import { setPlatform } from './module.js';
import { openStore } from './stores/open.js';

let ready = null;
setPlatform({
  async init() {
    ready ??= init({ module_or_path: new URL('./wasm/anyhsm_wasm_bg.wasm', import.meta.url) });
    await ready;
    return bindings;
  },
  openStore: (spec, b) => openStore(spec, b, {}),
});

export * from './api.js';
