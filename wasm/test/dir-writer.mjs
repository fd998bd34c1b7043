// A separate Node process writing objects into a directory token (directory.test.mjs).
import { Module, CKA, CKO, CKU } from 'anyhsm';

const [root, who, count] = process.argv.slice(2);
const m = await Module.open({ store: { kind: 'directory', path: root }, testToken: true });
const s = await m.openSession(0);
await s.login(CKU.USER, '1234');
await Promise.all(
  Array.from({ length: Number(count) }, (_, i) => s.createObject({ [CKA.CLASS]: CKO.DATA, [CKA.TOKEN]: true, [CKA.LABEL]: `${who}${i}` })),
);
await m.close();
