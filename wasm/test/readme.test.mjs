// The README's five-line Node example, taken from the installed package's README, runs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const installed = path.join(here, '..');

test('the README example works in a fresh install', () => {
  const readme = fs.readFileSync(path.join(installed, 'node_modules', 'anyhsm', 'README.md'), 'utf8');
  const block = readme.split('<!-- example:node')[1]?.match(/```js\n([\s\S]*?)```/)?.[1];
  assert.ok(block, 'the README has the example block');
  assert.equal(block.trim().split('\n').length, 5, 'five lines');
  const file = path.join(installed, 'readme-example.mjs');
  fs.writeFileSync(file, block);
  const out = execFileSync(process.execPath, [file], { cwd: installed, encoding: 'utf8' });
  assert.match(out.trim(), /^[0-9a-f]{128}$/);
});
