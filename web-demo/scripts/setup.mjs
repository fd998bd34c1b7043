// Install the demo's dependencies the way a user gets the package: build the npm package in
// wasm/, pack it into a tarball, and install that tarball (plus playwright-core for the tests).
//
//   npm --prefix web-demo run setup                 build, pack, install
//   node scripts/setup.mjs --skip-build             pack and install what wasm/ already built
//   node scripts/setup.mjs --if-missing             do nothing when the package is installed
//
// Afterwards it checks that the import map of index.html points at the package's browser entry.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const DEMO = fileURLToPath(new URL('..', import.meta.url));
const WASM = join(DEMO, '..', 'wasm');
const TARBALL = join(DEMO, 'anyhsm.tgz');
const PKG_DIR = join(DEMO, 'node_modules', 'anyhsm');
const args = new Set(process.argv.slice(2));
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

function sh(cmd, argv, opts = {}) {
  console.log(`setup: ${cmd} ${argv.join(' ')}`);
  const r = spawnSync(cmd, argv, { stdio: opts.capture ? ['ignore', 'pipe', 'inherit'] : 'inherit', encoding: 'utf8', ...opts });
  if (r.error) throw r.error;
  if (r.status !== 0) {
    console.error(`setup: \`${cmd} ${argv.join(' ')}\` failed (exit ${r.status})`);
    process.exit(r.status ?? 1);
  }
  return r.stdout;
}

/** The file a browser loads for `import 'anyhsm'`, from the package's own package.json. */
function browserEntry(pkg) {
  const pick = (target) => {
    if (typeof target === 'string') return target;
    if (Array.isArray(target)) return target.map(pick).find(Boolean);
    if (target && typeof target === 'object') {
      for (const cond of ['browser', 'import', 'module', 'default']) {
        if (cond in target) {
          const found = pick(target[cond]);
          if (found) return found;
        }
      }
    }
    return undefined;
  };
  const exp = pkg.exports;
  let entry;
  if (exp !== undefined) {
    const root = typeof exp === 'string' || Array.isArray(exp) || !Object.keys(exp).some((k) => k.startsWith('.')) ? exp : exp['.'];
    entry = pick(root);
  }
  entry ??= typeof pkg.browser === 'string' ? pkg.browser : pkg.module ?? pkg.main;
  return entry?.replace(/^\.\//, '');
}

function checkImportMap() {
  const pkg = JSON.parse(readFileSync(join(PKG_DIR, 'package.json'), 'utf8'));
  const entry = browserEntry(pkg);
  const html = readFileSync(join(DEMO, 'index.html'), 'utf8');
  const map = JSON.parse(html.match(/<script type="importmap">([\s\S]*?)<\/script>/)[1]);
  const want = `/node_modules/anyhsm/${entry}`;
  if (map.imports.anyhsm !== want) {
    console.error(`setup: index.html imports ${map.imports.anyhsm}, but anyhsm ${pkg.version}'s browser entry is ${want}`);
    process.exit(1);
  }
  if (!existsSync(join(PKG_DIR, entry))) {
    console.error(`setup: the package names ${entry} as its browser entry, but does not contain it`);
    process.exit(1);
  }
  console.log(`setup: anyhsm ${pkg.version} installed; the page imports ${want}`);
}

if (
  args.has('--if-missing') &&
  existsSync(join(PKG_DIR, 'package.json')) &&
  existsSync(join(DEMO, 'node_modules', 'playwright-core', 'package.json'))
) {
  process.exit(0);
}

if (!args.has('--skip-build')) sh(npm, ['--prefix', WASM, 'run', 'build']);

// npm pack names the file after the version; install it under one fixed name (package.json's
// "anyhsm": "file:anyhsm.tgz"), so a version bump changes nothing here.
const dest = mkdtempSync(join(tmpdir(), 'anyhsm-pack-'));
try {
  const out = sh(npm, ['pack', WASM, '--pack-destination', dest, '--json'], { capture: true });
  const [{ filename }] = JSON.parse(out);
  const packed = join(dest, filename.replace(/^.*\//, ''));
  try {
    renameSync(packed, TARBALL);
  } catch {
    copyFileSync(packed, TARBALL);
  }
  console.log(`setup: packed ${filename} → web-demo/anyhsm.tgz`);
} finally {
  rmSync(dest, { recursive: true, force: true });
}

// A reinstall of the same version would keep the old files: remove them first.
rmSync(PKG_DIR, { recursive: true, force: true });
sh(npm, ['install', '--no-audit', '--no-fund'], { cwd: DEMO });
checkImportMap();
