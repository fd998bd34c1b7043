// Shared by the node --test files. They import the *installed* package ('anyhsm').
import { Module, CKU } from 'anyhsm';

export const SO_PIN = '12345678';
export const USER_PIN = '1234';
export const P256 = new Uint8Array([0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07]);
export const utf8 = (s) => new TextEncoder().encode(s);
export const hex = (b) => Buffer.from(b).toString('hex');

/** A module with one initialised token (user PIN set) and a logged-in R/W user session. */
export async function ready(options = {}) {
  const module = await Module.open({ testToken: true, ...options });
  const slots = await module.slots();
  const slot = slots[slots.length - 1];
  await module.initToken(slot, SO_PIN, options.label ?? 'test');
  const session = await module.openSession(slot);
  await session.login(CKU.SO, SO_PIN);
  await session.initPin(USER_PIN);
  await session.logout();
  await session.login(CKU.USER, USER_PIN);
  return { module, slot, session };
}

/** Expect a Pkcs11Error with this CKR name (and method, if given). */
export async function rejects(promise, name, method) {
  try {
    await promise;
  } catch (e) {
    if (e?.name !== name || (method && e.method !== method)) {
      throw new Error(`expected ${name}${method ? ` from ${method}` : ''}, got ${e?.name} from ${e?.method}: ${e?.message}`);
    }
    return e;
  }
  throw new Error(`expected ${name}, but the call succeeded`);
}
