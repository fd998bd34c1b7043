// The CommonJS entry: require('anyhsm') in Node.
const { test } = require('node:test');
const assert = require('node:assert/strict');

const anyhsm = require('anyhsm');

test('require() gives the same API, and it works', async () => {
  for (const name of ['Module', 'Session', 'Pkcs11Error', 'rvName', 'CKA', 'CKM', 'CKO', 'CKK', 'CKR', 'CKU', 'CKF']) {
    assert.ok(name in anyhsm, name);
  }
  const { Module, CKM, CKU } = anyhsm;
  const m = await Module.open({ testToken: true });
  await m.initToken(0, '12345678', 'cjs');
  const s = await m.openSession(0);
  await s.login(CKU.SO, '12345678');
  const d = await s.digest(CKM.SHA256, new TextEncoder().encode('abc'));
  assert.equal(Buffer.from(d).toString('hex'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  await assert.rejects(s.login(CKU.SO, '12345678'), (e) => e instanceof anyhsm.Pkcs11Error && e.name === 'CKR_USER_ALREADY_LOGGED_IN');
  await m.close();
});

test('node -e with import() and require() finds the wasm', () => {
  const { spawnSync } = require('node:child_process');
  const path = require('node:path');
  const cwd = path.join(__dirname, '..');
  for (const code of [
    "import('anyhsm').then((a) => a.Module.open()).then(() => console.log('ok'))",
    "require('anyhsm').Module.open().then(() => console.log('ok'))",
  ]) {
    const r = spawnSync(process.execPath, ['-e', code], { cwd, encoding: 'utf8' });
    assert.equal(r.stdout.trim(), 'ok', r.stderr);
  }
});
