// Type-checked against the installed package's index.d.ts (types.test.mjs): the API as
// the web demo and users write it.
import { Module, Session, Pkcs11Error, CKA, CKM, CKO, CKK, CKU, CKR, CKF, rvName } from 'anyhsm';
import type { Template, Mechanism, TokenInfo, GcmParams, StoreSpec, AttrValue } from 'anyhsm';

async function demo(): Promise<void> {
  const spec: StoreSpec = { kind: 'indexeddb', name: 'demo', locks: null };
  const m: Module = await Module.open({ store: spec, testToken: true, deterministic: { seed: new Uint8Array(32) } });
  const slots: number[] = await m.slots();
  const info: TokenInfo = await m.tokenInfo(slots[0]);
  const gen: number | undefined = info.generation;
  await m.initToken(slots[slots.length - 1], '12345678', 'label');
  const s: Session = await m.openSession(0, { rw: true });
  await s.login(CKU.USER, '1234');
  const t: Template = { [CKA.CLASS]: CKO.SECRET_KEY, [CKA.KEY_TYPE]: CKK.AES, [CKA.VALUE_LEN]: 32 };
  const key: number = await s.generateKey(CKM.AES_KEY_GEN, t);
  const gcm: GcmParams = { iv: new Uint8Array(12), tagBits: 128 };
  const mech: Mechanism = { mechanism: CKM.AES_GCM, parameter: gcm };
  const ct: Uint8Array = await s.encrypt(mech, key, new Uint8Array(4));
  const { publicKey, privateKey } = await s.generateKeyPair(CKM.EC_KEY_PAIR_GEN, [{ type: CKA.EC_PARAMS, value: new Uint8Array(10) }], {});
  const ok: boolean = await s.verify(CKM.ECDSA_SHA256, publicKey, ct, await s.sign(CKM.ECDSA_SHA256, privateKey, ct));
  const v: AttrValue = await s.getAttribute(publicKey, CKA.EC_POINT);
  const all: Record<number, AttrValue | undefined> = await s.getAttributes(publicKey, [CKA.LABEL]);
  const snap: Uint8Array = await m.exportToken(0);
  const slot: number = await m.importToken(snap);
  const d = await s.deriveKeys({ mechanism: CKM.SHA256, parameter: { prf: CKM.SHA256_HMAC, data: [{ type: 'counter', widthBits: 32 }] } }, key, {});
  const more: number[] = d.additionalKeys;
  try {
    await s.login(CKU.USER, 'bad');
  } catch (e) {
    if (e instanceof Pkcs11Error && e.code === CKR.PIN_INCORRECT) console.log(e.name, e.method, rvName(e.code));
  }
  const flag: boolean = (info.flags & CKF.USER_PIN_LOCKED) !== 0;
  console.log(gen, ok, v, all, slot, more, flag, m.closed, m.info().store);
  await s.close();
  await m.close();
}
void demo;
