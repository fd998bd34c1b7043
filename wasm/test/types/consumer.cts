// The CommonJS view of the declarations.
import anyhsm = require('anyhsm');

async function demo(): Promise<number> {
  const m: anyhsm.Module = await anyhsm.Module.open();
  const s = await m.openSession(0);
  return (await s.generateRandom(4)).length + anyhsm.CKA.LABEL;
}
void demo;
