// index.d.ts is the API's source of truth: type-check consumers (ESM and CommonJS) against
// the installed package with tsc --strict.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const tsc = path.join(here, '..', 'node_modules', 'typescript', 'bin', 'tsc');

test('the declarations type-check for ESM and CommonJS consumers', () => {
  const r = spawnSync(
    process.execPath,
    [tsc, '--noEmit', '--strict', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022', '--lib', 'es2022,dom',
      path.join(here, 'types', 'consumer.ts'), path.join(here, 'types', 'consumer.cts')],
    { cwd: path.join(here, '..'), encoding: 'utf8' },
  );
  assert.equal(r.status, 0, r.stdout + r.stderr);
});
