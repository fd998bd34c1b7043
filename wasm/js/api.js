// The public API, shared by the entry points (index.d.ts declares it).
export { CKA, CKM, CKO, CKK, CKC, CKR, CKU, CKS, CKF, CKD, CKG, CKZ, CKH, CKP } from './consts.js';
export { Pkcs11Error, rvName } from './errors.js';
export { Module, Session, requestPersistentStorage, isStoragePersisted } from './module.js';
