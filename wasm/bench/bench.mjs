#!/usr/bin/env node
// npm --prefix wasm run bench: throughput of the package in Node (not a timed test).
// ECDSA P-256 sign, Ed25519 sign (when core has it), AES-256-GCM over 1 MiB, SHA-256 over
// 1 MiB; and the .wasm size raw and gzip. Add --native <libanyhsm_pkcs11.so> to measure the
// same operations through the native module (python-pkcs11) for comparison.
import { execFileSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

import { Module, CKA, CKM, CKK, CKO, CKU } from '../dist/node.js';

const here = dirname(fileURLToPath(import.meta.url));
const P256 = new Uint8Array([6, 8, 0x2a, 0x86, 0x48, 0xce, 0x3d, 3, 1, 7]);
const ED25519 = new Uint8Array([6, 3, 0x2b, 0x65, 0x70]);
const MiB = new Uint8Array(1 << 20).fill(0x5a);

async function rate(name, unit, perOp, fn, seconds = 2) {
  for (let i = 0; i < 3; i++) await fn(); // warm up
  let n = 0;
  const start = performance.now();
  while (performance.now() - start < seconds * 1000) {
    await fn();
    n++;
  }
  const secs = (performance.now() - start) / 1000;
  const r = (n * perOp) / secs;
  console.log(`${name.padEnd(28)} ${r.toFixed(r < 10 ? 2 : 0).padStart(10)} ${unit}`);
  return r;
}

const m = await Module.open({ testToken: true });
await m.initToken(0, '12345678', 'bench');
const s = await m.openSession(0);
await s.login(CKU.SO, '12345678');
await s.initPin('1234');
await s.logout();
await s.login(CKU.USER, '1234');

const results = {};
const ec = await s.generateKeyPair(CKM.EC_KEY_PAIR_GEN, { [CKA.EC_PARAMS]: P256 }, { [CKA.SIGN]: true });
const msg = new Uint8Array(32).fill(1);
results.ecdsa = await rate('ECDSA P-256 sign', 'sig/s', 1, () => s.sign(CKM.ECDSA_SHA256, ec.privateKey, msg));
if ((await m.mechanisms(0)).includes(CKM.EDDSA)) {
  const ed = await s.generateKeyPair(CKM.EC_EDWARDS_KEY_PAIR_GEN, { [CKA.EC_PARAMS]: ED25519 }, { [CKA.SIGN]: true });
  results.ed25519 = await rate('Ed25519 sign', 'sig/s', 1, () => s.sign(CKM.EDDSA, ed.privateKey, msg));
} else {
  console.log(`${'Ed25519 sign'.padEnd(28)} ${'n/a'.padStart(10)} (core has no CKM_EDDSA yet)`);
}
const aes = await s.generateKey(CKM.AES_KEY_GEN, { [CKA.VALUE_LEN]: 32 });
let ctr = 0;
results.gcm = await rate('AES-256-GCM encrypt 1 MiB', 'MiB/s', 1, () => {
  const iv = new Uint8Array(12);
  new DataView(iv.buffer).setUint32(0, ctr++);
  return s.encrypt({ mechanism: CKM.AES_GCM, parameter: { iv, tagBits: 128 } }, aes, MiB);
});
results.sha = await rate('SHA-256 1 MiB', 'MiB/s', 1, () => s.digest(CKM.SHA256, MiB));
await m.close();

const wasm = join(here, '..', 'dist', 'wasm', 'anyhsm_wasm_bg.wasm');
const raw = statSync(wasm).size;
const gz = gzipSync(readFileSync(wasm), { level: 9 }).length;
console.log(`${'.wasm size'.padEnd(28)} ${(raw / 1024).toFixed(0).padStart(10)} KiB raw, ${(gz / 1024).toFixed(0)} KiB gzip`);

const i = process.argv.indexOf('--native');
if (i > 0) {
  const so = process.argv[i + 1];
  console.log(`\nnative (${so}, through python-pkcs11):`);
  const out = execFileSync(process.env.ANYHSM_PYTHON ?? 'python3', [join(here, 'native_bench.py'), so], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const nat = JSON.parse(out);
  for (const [k, label, unit] of [['ecdsa', 'ECDSA P-256 sign', 'sig/s'], ['ed25519', 'Ed25519 sign', 'sig/s'], ['gcm', 'AES-256-GCM encrypt 1 MiB', 'MiB/s'], ['sha', 'SHA-256 1 MiB', 'MiB/s']]) {
    if (nat[k] === undefined) continue;
    const ratio = results[k] ? ` (wasm/native ${(results[k] / nat[k]).toFixed(2)})` : '';
    console.log(`${label.padEnd(28)} ${nat[k].toFixed(nat[k] < 10 ? 2 : 0).padStart(10)} ${unit}${ratio}`);
  }
}
