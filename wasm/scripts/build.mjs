#!/usr/bin/env node
// npm --prefix wasm run build: compile anyhsm-wasm for wasm32, generate the JS bindings
// with wasm-bindgen (the CLI must be the crate's exact version), assemble dist/ and the
// CommonJS bundle.
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const pkg = join(dirname(fileURLToPath(import.meta.url)), '..');
const workspace = join(pkg, '..');
const dist = join(pkg, 'dist');

function die(msg) {
  console.error(`build: ${msg}`);
  process.exit(1);
}

// 1. wasm-bindgen-cli must match the wasm-bindgen crate exactly.
const cargoToml = readFileSync(join(pkg, 'Cargo.toml'), 'utf8');
const want = cargoToml.match(/^wasm-bindgen = "=([0-9.]+)"/m)?.[1];
if (!want) die('wasm/Cargo.toml must pin wasm-bindgen as "=x.y.z"');
const bindgen = process.env.WASM_BINDGEN ?? 'wasm-bindgen';
const probe = spawnSync(bindgen, ['--version'], { encoding: 'utf8' });
if (probe.error || probe.status !== 0) {
  die(`wasm-bindgen-cli ${want} is not installed (${bindgen} not found).\n  Install it with: cargo install wasm-bindgen-cli --version ${want}`);
}
const have = probe.stdout.trim().split(/\s+/)[1];
if (have !== want) {
  die(`wasm-bindgen-cli ${have} is installed, but the crate uses wasm-bindgen ${want}; they must match exactly.\n  Install it with: cargo install wasm-bindgen-cli --version ${want} --force`);
}

// 2. Constants from core (committed; regenerated when core is here).
if (existsSync(join(workspace, 'core', 'src', 'consts.rs'))) {
  execFileSync(process.execPath, [join(pkg, 'scripts', 'gen-consts.mjs')], { stdio: 'inherit' });
}

// 3. The wasm.
// SIMD128 (every browser since 2023, Node ≥ 16.4) speeds up the hashes and ECDSA by ~25%.
// scripts/test-wasm.sh builds its wasm32 tests with the same flags.
const rustflags = [process.env.RUSTFLAGS, '-C target-feature=+simd128'].filter(Boolean).join(' ');
execFileSync('cargo', ['build', '--target', 'wasm32-unknown-unknown', '--release', '-p', 'anyhsm-wasm'], {
  cwd: workspace,
  stdio: 'inherit',
  env: { ...process.env, RUSTFLAGS: rustflags },
});
const meta = JSON.parse(execFileSync('cargo', ['metadata', '--format-version', '1', '--no-deps'], { cwd: workspace, encoding: 'utf8' }));
const wasmIn = join(meta.target_directory, 'wasm32-unknown-unknown', 'release', 'anyhsm_wasm.wasm');

// 4. Bindings (ES module, `--target web`: works in browsers and, given the bytes, in Node).
rmSync(dist, { recursive: true, force: true });
mkdirSync(join(dist, 'wasm'), { recursive: true });
execFileSync(bindgen, ['--target', 'web', '--out-dir', join(dist, 'wasm'), '--out-name', 'anyhsm_wasm', '--no-typescript', wasmIn], {
  stdio: 'inherit',
});

// 5. The glue, then the CommonJS bundle of the Node entry.
for (const f of readdirSync(join(pkg, 'js'))) cpSync(join(pkg, 'js', f), join(dist, f), { recursive: true });
const esbuild = await import('esbuild');
await esbuild.build({
  entryPoints: [join(dist, 'node.js')],
  outfile: join(dist, 'index.cjs'),
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  logLevel: 'error',
  // import.meta.url is only read when __dirname is absent, which never happens in CJS.
  logOverride: { 'empty-import-meta': 'silent' },
});

// 6. Declarations for require() users.
writeFileSync(join(pkg, 'index.d.cts'), readFileSync(join(pkg, 'index.d.ts'), 'utf8').replaceAll("'./consts.js'", "'./consts.cjs'"));
writeFileSync(join(pkg, 'consts.d.cts'), readFileSync(join(pkg, 'consts.d.ts'), 'utf8'));

const wasmOut = join(dist, 'wasm', 'anyhsm_wasm_bg.wasm');
const raw = statSync(wasmOut).size;
const gz = gzipSync(readFileSync(wasmOut), { level: 9 }).length;
console.log(`build: dist/wasm/anyhsm_wasm_bg.wasm ${(raw / 1024).toFixed(0)} KiB raw, ${(gz / 1024).toFixed(0)} KiB gzip`);
