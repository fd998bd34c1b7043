//! # anyhsm-wasm
//!
//! The anyhsm engine for JavaScript: a thin wasm-bindgen layer that converts JS values into
//! core types, calls one `Engine` method, and converts the result back (DESIGN §1: no
//! PKCS#11 rule lives here). Persistence is the glue's: the engine works on a [`Mirror`]
//! store whose recorded batches the JS side makes durable (IndexedDB, a directory) before
//! the call's promise settles, or reverts (DESIGN §2; see `mirror.rs` and README.md).
//!
//! Errors reach JS as `{ code, name }` objects (the `CKR_*` number and name); the JS glue
//! turns them into `Pkcs11Error`s naming the method.
#![forbid(unsafe_code)]

extern crate alloc;

mod convert;
mod journal;
mod mirror;
mod platform;

use alloc::collections::{BTreeMap, BTreeSet};

use anyhsm_core::consts::flags::{CKF_RW_SESSION, CKF_SERIAL_SESSION};
use anyhsm_core::consts::{AttrType, MechanismType, UserType};
use anyhsm_core::engine::{Engine, EngineConfig};
use anyhsm_core::info::{AttrLookup, OutBuf, Output, Version};
use anyhsm_core::rng::{DeterministicRng, Rng};
use anyhsm_core::{Error, Result};
use js_sys::{Array, Object, Uint8Array};
use wasm_bindgen::prelude::*;

use crate::convert::{js_ulong, js_value, mechanism, num, set, template};
pub use crate::journal::Journal;
pub use crate::mirror::{Mirror, TokenData};
use crate::platform::{HostClock, HostRng};

type JsResult<T> = core::result::Result<T, JsValue>;

/// A core error as the JS glue expects it: `{ code, name }`.
fn fail(e: Error) -> JsValue {
    let o = Object::new();
    set(&o, "code", js_ulong(e.ck_rv()));
    set(&o, "name", e.name());
    o.into()
}

fn js<T>(r: Result<T>) -> JsResult<T> {
    r.map_err(fail)
}

/// The bytes of a finished step (the glue always offers an unbounded buffer).
fn data(o: Output) -> Result<Vec<u8>> {
    match o {
        Output::Data(v) => Ok(v),
        Output::Length(_) => Err(Error::GeneralError),
    }
}

/// A blank-padded fixed-width field as a JS string, without its padding.
fn text(field: &[u8]) -> String {
    String::from_utf8_lossy(field).trim_end_matches([' ', '\0']).to_string()
}

fn version(v: Version) -> JsValue {
    let o = Object::new();
    set(&o, "major", v.major);
    set(&o, "minor", v.minor);
    o.into()
}

fn hex_id(id: u64) -> String {
    format!("{id:016x}")
}

fn parse_id(hex: &str) -> Result<u64> {
    if hex.len() == 16 {
        u64::from_str_radix(hex, 16).map_err(|_| Error::DeviceError)
    } else {
        Err(Error::DeviceError)
    }
}

/// A token's durable state from JS: `{ generation, meta, records: [[idHex, blob], …] }`,
/// where a `null` blob is a record the JS store found damaged (and logged).
fn token_data(generation: f64, meta: Vec<u8>, records: &JsValue) -> Result<TokenData> {
    let mut map = BTreeMap::new();
    let mut damaged = BTreeSet::new();
    if !records.is_undefined() && !records.is_null() {
        for r in Array::from(records).iter() {
            let pair = Array::from(&r);
            let id = parse_id(&pair.get(0).as_string().ok_or(Error::DeviceError)?)?;
            let blob = pair.get(1);
            if blob.is_null() {
                damaged.insert(id);
                continue;
            }
            map.insert(id, blob.dyn_into::<Uint8Array>().map_err(|_| Error::DeviceError)?.to_vec());
        }
    }
    Ok(TokenData { generation: num(generation)?, meta, records: map, damaged })
}

/// The engine and its mirror store, as one JS object.
#[wasm_bindgen]
pub struct WasmEngine {
    engine: Engine,
    mirror: Mirror,
}

impl core::fmt::Debug for WasmEngine {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("WasmEngine").field("engine", &self.engine).finish_non_exhaustive()
    }
}

#[wasm_bindgen]
impl WasmEngine {
    /// An engine over the durable tokens `tokens` (`[{ name, generation, meta, records }]`).
    /// `seed` (32 bytes) selects the deterministic RNG.
    ///
    /// # Errors
    /// `ArgumentsBad` for a seed that is not 32 bytes; `DeviceError` for malformed tokens.
    #[wasm_bindgen(constructor)]
    pub fn new(
        seed: Option<Vec<u8>>,
        fast_pin_kdf: bool,
        max_failures: u32,
        tokens: JsValue,
    ) -> JsResult<WasmEngine> {
        let mirror = Mirror::new();
        if !tokens.is_undefined() && !tokens.is_null() {
            for t in Array::from(&tokens).iter() {
                let get = |k: &str| js_sys::Reflect::get(&t, &k.into()).unwrap_or(JsValue::UNDEFINED);
                let name = get("name").as_string().ok_or_else(|| fail(Error::DeviceError))?;
                let generation = get("generation").as_f64().unwrap_or(0.0);
                let meta =
                    get("meta").dyn_into::<Uint8Array>().map_err(|_| fail(Error::DeviceError))?.to_vec();
                mirror.set_durable(&name, js(token_data(generation, meta, &get("records")))?);
            }
        }
        let rng: Box<dyn Rng> = match seed {
            None => Box::new(HostRng),
            Some(s) => {
                let seed: [u8; 32] = s.as_slice().try_into().map_err(|_| fail(Error::ArgumentsBad))?;
                Box::new(DeterministicRng::from_seed(seed))
            }
        };
        // `..default()`: settings core adds later keep their defaults here.
        #[allow(clippy::needless_update)]
        let config = EngineConfig { fast_pin_kdf, max_failures, ..EngineConfig::default() };
        let engine = js(Engine::new(Box::new(mirror.clone()), rng, Box::new(HostClock), config))?;
        Ok(WasmEngine { engine, mirror })
    }

    // ---- the mirror, for the glue ----

    /// Replace a token with its state read from the durable store.
    ///
    /// # Errors
    /// `DeviceError` for malformed records.
    #[wasm_bindgen(js_name = loadToken)]
    pub fn load_token(
        &mut self,
        name: &str,
        generation: f64,
        meta: Vec<u8>,
        records: JsValue,
    ) -> JsResult<()> {
        self.mirror.set_durable(name, js(token_data(generation, meta, &records))?);
        Ok(())
    }

    /// Forget a token that left the durable store.
    #[wasm_bindgen(js_name = removeToken)]
    pub fn remove_token(&mut self, name: &str) {
        self.mirror.remove(name);
    }

    /// `[[name, generation], …]` of the durable state.
    pub fn generations(&self) -> Array {
        self.mirror
            .generations()
            .into_iter()
            .map(|(n, g)| JsValue::from(Array::of2(&n.into(), &js_ulong(g))))
            .collect()
    }

    /// The batches applied since the last commit/revert:
    /// `[{ name, expected, wipe, ops: [{ op: 'meta'|'put'|'delete', id?, blob? }] }]`.
    pub fn pending(&self) -> Array {
        use anyhsm_core::store::Op;
        self.mirror
            .pending()
            .into_iter()
            .map(|r| {
                let o = Object::new();
                set(&o, "name", r.name.as_str());
                set(&o, "expected", js_ulong(r.expected));
                set(&o, "wipe", r.batch.wipe);
                let ops: Array = r
                    .batch
                    .ops
                    .iter()
                    .map(|op| {
                        let x = Object::new();
                        match op {
                            Op::PutMeta(m) => {
                                set(&x, "op", "meta");
                                set(&x, "blob", Uint8Array::from(m.as_slice()));
                            }
                            Op::Put { id, blob } => {
                                set(&x, "op", "put");
                                set(&x, "id", hex_id(*id));
                                set(&x, "blob", Uint8Array::from(blob.as_slice()));
                            }
                            Op::Delete { id } => {
                                set(&x, "op", "delete");
                                set(&x, "id", hex_id(*id));
                            }
                        }
                        JsValue::from(x)
                    })
                    .collect();
                set(&o, "ops", ops);
                JsValue::from(o)
            })
            .collect()
    }

    /// The pending batches are durable.
    pub fn commit(&mut self) {
        self.mirror.commit();
    }

    /// The pending batches failed: return the mirror to the durable state and make the
    /// engine reload the tokens they touched now (so that a later write elsewhere with the
    /// same generation number cannot be mistaken for ours). Returns true if a batch created
    /// a token: that token stays listed in its slot but answers `CKR_TOKEN_NOT_PRESENT`
    /// until the module is reopened (core keeps tokens that vanish from the store).
    pub fn revert(&mut self) -> bool {
        let (_names, created) = self.mirror.revert();
        if let Ok(slots) = self.engine.slot_list(false) {
            for slot in slots {
                let _ = self.engine.token_info(slot);
            }
        }
        created
    }

    /// The working generation of a token (0 if absent).
    #[wasm_bindgen(js_name = generationOf)]
    pub fn generation_of(&self, name: &str) -> f64 {
        #[allow(clippy::cast_precision_loss)]
        let g = self.mirror.generation_of(name) as f64;
        g
    }

    /// Lines the front-end should log.
    #[wasm_bindgen(js_name = takeWarnings)]
    pub fn take_warnings(&mut self) -> Vec<String> {
        self.engine.take_warnings()
    }

    // ---- slots and tokens ----

    #[wasm_bindgen(js_name = slotList)]
    pub fn slot_list(&mut self) -> JsResult<Vec<f64>> {
        Ok(js(self.engine.slot_list(true))?.into_iter().map(f).collect())
    }

    #[wasm_bindgen(js_name = slotInfo)]
    pub fn slot_info(&mut self, slot: f64) -> JsResult<JsValue> {
        let i = js(self.engine.slot_info(js(num(slot))?))?;
        let o = Object::new();
        set(&o, "description", text(&i.description));
        set(&o, "manufacturer", text(&i.manufacturer));
        set(&o, "flags", js_ulong(i.flags));
        set(&o, "hardwareVersion", version(i.hardware_version));
        set(&o, "firmwareVersion", version(i.firmware_version));
        Ok(o.into())
    }

    #[wasm_bindgen(js_name = tokenInfo)]
    pub fn token_info(&mut self, slot: f64) -> JsResult<JsValue> {
        let i = js(self.engine.token_info(js(num(slot))?))?;
        let o = Object::new();
        let serial = text(&i.serial);
        set(&o, "label", text(&i.label));
        set(&o, "manufacturer", text(&i.manufacturer));
        set(&o, "model", text(&i.model));
        set(&o, "flags", js_ulong(i.flags));
        set(&o, "maxSessionCount", js_ulong(i.max_session_count));
        set(&o, "sessionCount", js_ulong(i.session_count));
        set(&o, "maxRwSessionCount", js_ulong(i.max_rw_session_count));
        set(&o, "rwSessionCount", js_ulong(i.rw_session_count));
        set(&o, "minPinLen", js_ulong(i.min_pin_len));
        set(&o, "maxPinLen", js_ulong(i.max_pin_len));
        set(&o, "hardwareVersion", version(i.hardware_version));
        set(&o, "firmwareVersion", version(i.firmware_version));
        set(&o, "utcTime", text(&i.utc_time));
        if !serial.is_empty() {
            set(&o, "generation", js_ulong(self.mirror.generation_of(&serial)));
        }
        set(&o, "serial", serial);
        Ok(o.into())
    }

    #[wasm_bindgen(js_name = mechanismList)]
    pub fn mechanism_list(&mut self, slot: f64) -> JsResult<Vec<f64>> {
        Ok(js(self.engine.mechanism_list(js(num(slot))?))?.into_iter().map(|m| f(m.0)).collect())
    }

    #[wasm_bindgen(js_name = mechanismInfo)]
    pub fn mechanism_info(&mut self, slot: f64, m: f64) -> JsResult<JsValue> {
        let m = MechanismType(num(m).map_err(|_| fail(Error::MechanismInvalid))?);
        let i = js(self.engine.mechanism_info(js(num(slot))?, m))?;
        let o = Object::new();
        set(&o, "minKeySize", js_ulong(i.min_key_size));
        set(&o, "maxKeySize", js_ulong(i.max_key_size));
        set(&o, "flags", js_ulong(i.flags));
        Ok(o.into())
    }

    /// # Errors
    /// `ArgumentsBad` for a label longer than 32 bytes; the engine's errors.
    #[wasm_bindgen(js_name = initToken)]
    pub fn init_token(&mut self, slot: f64, so_pin: &[u8], label: &str) -> JsResult<()> {
        if label.len() > 32 {
            return Err(fail(Error::ArgumentsBad));
        }
        let mut padded = [b' '; 32];
        padded[..label.len()].copy_from_slice(label.as_bytes());
        js(self.engine.init_token(js(num(slot))?, so_pin, &padded))
    }

    #[wasm_bindgen(js_name = initPin)]
    pub fn init_pin(&mut self, s: f64, pin: &[u8]) -> JsResult<()> {
        js(self.engine.init_pin(js(num(s))?, pin))
    }

    #[wasm_bindgen(js_name = setPin)]
    pub fn set_pin(&mut self, s: f64, old: &[u8], new: &[u8]) -> JsResult<()> {
        js(self.engine.set_pin(js(num(s))?, old, new))
    }

    // ---- sessions ----

    #[wasm_bindgen(js_name = openSession)]
    pub fn open_session(&mut self, slot: f64, rw: bool) -> JsResult<f64> {
        let flags = CKF_SERIAL_SESSION | if rw { CKF_RW_SESSION } else { 0 };
        js(self.engine.open_session(js(num(slot))?, flags)).map(f)
    }

    #[wasm_bindgen(js_name = closeSession)]
    pub fn close_session(&mut self, s: f64) -> JsResult<()> {
        js(self.engine.close_session(js(num(s))?))
    }

    #[wasm_bindgen(js_name = closeAllSessions)]
    pub fn close_all_sessions(&mut self, slot: f64) -> JsResult<()> {
        js(self.engine.close_all_sessions(js(num(slot))?))
    }

    #[wasm_bindgen(js_name = sessionInfo)]
    pub fn session_info(&mut self, s: f64) -> JsResult<JsValue> {
        let i = js(self.engine.session_info(js(num(s))?))?;
        let o = Object::new();
        set(&o, "slot", js_ulong(i.slot_id));
        set(&o, "state", js_ulong(i.state.0));
        set(&o, "flags", js_ulong(i.flags));
        set(&o, "deviceError", js_ulong(i.device_error));
        Ok(o.into())
    }

    pub fn login(&mut self, s: f64, user: f64, pin: &[u8]) -> JsResult<()> {
        let user = UserType(num(user).map_err(|_| fail(Error::UserTypeInvalid))?);
        js(self.engine.login(js(num(s))?, user, pin))
    }

    pub fn logout(&mut self, s: f64) -> JsResult<()> {
        js(self.engine.logout(js(num(s))?))
    }

    // ---- objects ----

    #[wasm_bindgen(js_name = createObject)]
    pub fn create_object(&mut self, s: f64, t: JsValue) -> JsResult<f64> {
        let t = js(template(&t))?;
        js(self.engine.create_object(js(num(s))?, &t)).map(f)
    }

    #[wasm_bindgen(js_name = copyObject)]
    pub fn copy_object(&mut self, s: f64, h: f64, t: JsValue) -> JsResult<f64> {
        let t = js(template(&t))?;
        js(self.engine.copy_object(js(num(s))?, obj(h)?, &t)).map(f)
    }

    #[wasm_bindgen(js_name = destroyObject)]
    pub fn destroy_object(&mut self, s: f64, h: f64) -> JsResult<()> {
        js(self.engine.destroy_object(js(num(s))?, obj(h)?))
    }

    #[wasm_bindgen(js_name = objectSize)]
    pub fn object_size(&mut self, s: f64, h: f64) -> JsResult<f64> {
        js(self.engine.object_size(js(num(s))?, obj(h)?)).map(f)
    }

    /// `{ values: [...], codes: [...] }`: per type the value (or undefined) and 0,
    /// `CKR_ATTRIBUTE_SENSITIVE` or `CKR_ATTRIBUTE_TYPE_INVALID`.
    #[wasm_bindgen(js_name = attributeValues)]
    pub fn attribute_values(&mut self, s: f64, h: f64, types: Vec<f64>) -> JsResult<JsValue> {
        let types = types
            .into_iter()
            .map(|t| num(t).map(AttrType).map_err(|_| Error::AttributeTypeInvalid))
            .collect::<Result<Vec<_>>>();
        let types = js(types)?;
        let found = js(self.engine.attribute_values(js(num(s))?, obj(h)?, &types))?;
        let values = Array::new();
        let codes = Array::new();
        for a in found {
            let (v, c) = match a {
                AttrLookup::Value(v) => (js_value(&v), 0),
                AttrLookup::Sensitive => (JsValue::UNDEFINED, Error::AttributeSensitive.ck_rv()),
                AttrLookup::Invalid => (JsValue::UNDEFINED, Error::AttributeTypeInvalid.ck_rv()),
            };
            values.push(&v);
            codes.push(&js_ulong(c));
        }
        let o = Object::new();
        set(&o, "values", values);
        set(&o, "codes", codes);
        Ok(o.into())
    }

    #[wasm_bindgen(js_name = setAttributeValues)]
    pub fn set_attribute_values(&mut self, s: f64, h: f64, t: JsValue) -> JsResult<()> {
        let t = js(template(&t))?;
        js(self.engine.set_attribute_values(js(num(s))?, obj(h)?, &t))
    }

    #[wasm_bindgen(js_name = findObjectsInit)]
    pub fn find_objects_init(&mut self, s: f64, t: JsValue) -> JsResult<()> {
        let t = js(template(&t))?;
        js(self.engine.find_objects_init(js(num(s))?, &t))
    }

    #[wasm_bindgen(js_name = findObjects)]
    pub fn find_objects(&mut self, s: f64, max: f64) -> JsResult<Vec<f64>> {
        let max = usize::try_from(js(num(max))?).unwrap_or(usize::MAX);
        Ok(js(self.engine.find_objects(js(num(s))?, max))?.into_iter().map(f).collect())
    }

    #[wasm_bindgen(js_name = findObjectsFinal)]
    pub fn find_objects_final(&mut self, s: f64) -> JsResult<()> {
        js(self.engine.find_objects_final(js(num(s))?))
    }

    // ---- keys ----

    #[wasm_bindgen(js_name = generateKey)]
    pub fn generate_key(&mut self, s: f64, m: f64, p: JsValue, t: JsValue) -> JsResult<f64> {
        let m = js(mechanism(m, &p))?;
        let t = js(template(&t))?;
        js(self.engine.generate_key(js(num(s))?, &m, &t)).map(f)
    }

    #[wasm_bindgen(js_name = generateKeyPair)]
    pub fn generate_key_pair(
        &mut self,
        s: f64,
        m: f64,
        p: JsValue,
        public: JsValue,
        private: JsValue,
    ) -> JsResult<Vec<f64>> {
        let m = js(mechanism(m, &p))?;
        let public = js(template(&public))?;
        let private = js(template(&private))?;
        let (a, b) = js(self.engine.generate_key_pair(js(num(s))?, &m, &public, &private))?;
        Ok(vec![f(a), f(b)])
    }

    // ---- digest ----

    #[wasm_bindgen(js_name = digestInit)]
    pub fn digest_init(&mut self, s: f64, m: f64, p: JsValue) -> JsResult<()> {
        let m = js(mechanism(m, &p))?;
        js(self.engine.digest_init(js(num(s))?, &m))
    }

    pub fn digest(&mut self, s: f64, d: &[u8]) -> JsResult<Vec<u8>> {
        js(self.engine.digest(js(num(s))?, d, OutBuf::Capacity(usize::MAX)).and_then(data))
    }

    #[wasm_bindgen(js_name = digestUpdate)]
    pub fn digest_update(&mut self, s: f64, d: &[u8]) -> JsResult<()> {
        js(self.engine.digest_update(js(num(s))?, d))
    }

    #[wasm_bindgen(js_name = digestKey)]
    pub fn digest_key(&mut self, s: f64, key: f64) -> JsResult<()> {
        js(self.engine.digest_key(js(num(s))?, key_handle(key)?))
    }

    #[wasm_bindgen(js_name = digestFinal)]
    pub fn digest_final(&mut self, s: f64) -> JsResult<Vec<u8>> {
        js(self.engine.digest_final(js(num(s))?, OutBuf::Capacity(usize::MAX)).and_then(data))
    }

    // ---- sign and verify ----

    #[wasm_bindgen(js_name = signInit)]
    pub fn sign_init(&mut self, s: f64, m: f64, p: JsValue, key: f64) -> JsResult<()> {
        let m = js(mechanism(m, &p))?;
        js(self.engine.sign_init(js(num(s))?, &m, key_handle(key)?))
    }

    pub fn sign(&mut self, s: f64, d: &[u8]) -> JsResult<Vec<u8>> {
        js(self.engine.sign(js(num(s))?, d, OutBuf::Capacity(usize::MAX)).and_then(data))
    }

    #[wasm_bindgen(js_name = signUpdate)]
    pub fn sign_update(&mut self, s: f64, d: &[u8]) -> JsResult<()> {
        js(self.engine.sign_update(js(num(s))?, d))
    }

    #[wasm_bindgen(js_name = signFinal)]
    pub fn sign_final(&mut self, s: f64) -> JsResult<Vec<u8>> {
        js(self.engine.sign_final(js(num(s))?, OutBuf::Capacity(usize::MAX)).and_then(data))
    }

    #[wasm_bindgen(js_name = verifyInit)]
    pub fn verify_init(&mut self, s: f64, m: f64, p: JsValue, key: f64) -> JsResult<()> {
        let m = js(mechanism(m, &p))?;
        js(self.engine.verify_init(js(num(s))?, &m, key_handle(key)?))
    }

    pub fn verify(&mut self, s: f64, d: &[u8], sig: &[u8]) -> JsResult<()> {
        js(self.engine.verify(js(num(s))?, d, sig))
    }

    #[wasm_bindgen(js_name = verifyUpdate)]
    pub fn verify_update(&mut self, s: f64, d: &[u8]) -> JsResult<()> {
        js(self.engine.verify_update(js(num(s))?, d))
    }

    #[wasm_bindgen(js_name = verifyFinal)]
    pub fn verify_final(&mut self, s: f64, sig: &[u8]) -> JsResult<()> {
        js(self.engine.verify_final(js(num(s))?, sig))
    }

    // ---- encrypt and decrypt ----

    #[wasm_bindgen(js_name = encryptInit)]
    pub fn encrypt_init(&mut self, s: f64, m: f64, p: JsValue, key: f64) -> JsResult<()> {
        let m = js(mechanism(m, &p))?;
        js(self.engine.encrypt_init(js(num(s))?, &m, key_handle(key)?))
    }

    pub fn encrypt(&mut self, s: f64, d: &[u8]) -> JsResult<Vec<u8>> {
        js(self.engine.encrypt(js(num(s))?, d, OutBuf::Capacity(usize::MAX)).and_then(data))
    }

    #[wasm_bindgen(js_name = encryptUpdate)]
    pub fn encrypt_update(&mut self, s: f64, d: &[u8]) -> JsResult<Vec<u8>> {
        js(self.engine.encrypt_update(js(num(s))?, d, OutBuf::Capacity(usize::MAX)).and_then(data))
    }

    #[wasm_bindgen(js_name = encryptFinal)]
    pub fn encrypt_final(&mut self, s: f64) -> JsResult<Vec<u8>> {
        js(self.engine.encrypt_final(js(num(s))?, OutBuf::Capacity(usize::MAX)).and_then(data))
    }

    #[wasm_bindgen(js_name = decryptInit)]
    pub fn decrypt_init(&mut self, s: f64, m: f64, p: JsValue, key: f64) -> JsResult<()> {
        let m = js(mechanism(m, &p))?;
        js(self.engine.decrypt_init(js(num(s))?, &m, key_handle(key)?))
    }

    pub fn decrypt(&mut self, s: f64, d: &[u8]) -> JsResult<Vec<u8>> {
        js(self.engine.decrypt(js(num(s))?, d, OutBuf::Capacity(usize::MAX)).and_then(data))
    }

    #[wasm_bindgen(js_name = decryptUpdate)]
    pub fn decrypt_update(&mut self, s: f64, d: &[u8]) -> JsResult<Vec<u8>> {
        js(self.engine.decrypt_update(js(num(s))?, d, OutBuf::Capacity(usize::MAX)).and_then(data))
    }

    #[wasm_bindgen(js_name = decryptFinal)]
    pub fn decrypt_final(&mut self, s: f64) -> JsResult<Vec<u8>> {
        js(self.engine.decrypt_final(js(num(s))?, OutBuf::Capacity(usize::MAX)).and_then(data))
    }

    // ---- derive, wrap, unwrap, recover ----

    /// `[newKey, ...additionalKeys]`.
    #[wasm_bindgen(js_name = deriveKey)]
    pub fn derive_key(&mut self, s: f64, m: f64, p: JsValue, base: f64, t: JsValue) -> JsResult<Vec<f64>> {
        let m = js(mechanism(m, &p))?;
        let t = js(template(&t))?;
        let (key, extra) = js(self.engine.derive_key(js(num(s))?, &m, key_handle(base)?, &t))?;
        Ok(core::iter::once(key).chain(extra).map(f).collect())
    }

    #[wasm_bindgen(js_name = wrapKey)]
    pub fn wrap_key(&mut self, s: f64, m: f64, p: JsValue, wrapping: f64, key: f64) -> JsResult<Vec<u8>> {
        let m = js(mechanism(m, &p))?;
        let wrapping = num(wrapping).map_err(|_| fail(Error::WrappingKeyHandleInvalid))?;
        js(self
            .engine
            .wrap_key(js(num(s))?, &m, wrapping, key_handle(key)?, OutBuf::Capacity(usize::MAX))
            .and_then(data))
    }

    #[wasm_bindgen(js_name = unwrapKey)]
    pub fn unwrap_key(
        &mut self,
        s: f64,
        m: f64,
        p: JsValue,
        unwrapping: f64,
        wrapped: &[u8],
        t: JsValue,
    ) -> JsResult<f64> {
        let m = js(mechanism(m, &p))?;
        let t = js(template(&t))?;
        let unwrapping = num(unwrapping).map_err(|_| fail(Error::UnwrappingKeyHandleInvalid))?;
        js(self.engine.unwrap_key(js(num(s))?, &m, unwrapping, wrapped, &t)).map(f)
    }

    #[wasm_bindgen(js_name = signRecoverInit)]
    pub fn sign_recover_init(&mut self, s: f64, m: f64, p: JsValue, key: f64) -> JsResult<()> {
        let m = js(mechanism(m, &p))?;
        js(self.engine.sign_recover_init(js(num(s))?, &m, key_handle(key)?))
    }

    #[wasm_bindgen(js_name = signRecover)]
    pub fn sign_recover(&mut self, s: f64, d: &[u8]) -> JsResult<Vec<u8>> {
        js(self.engine.sign_recover(js(num(s))?, d, OutBuf::Capacity(usize::MAX)).and_then(data))
    }

    #[wasm_bindgen(js_name = verifyRecoverInit)]
    pub fn verify_recover_init(&mut self, s: f64, m: f64, p: JsValue, key: f64) -> JsResult<()> {
        let m = js(mechanism(m, &p))?;
        js(self.engine.verify_recover_init(js(num(s))?, &m, key_handle(key)?))
    }

    #[wasm_bindgen(js_name = verifyRecover)]
    pub fn verify_recover(&mut self, s: f64, sig: &[u8]) -> JsResult<Vec<u8>> {
        js(self.engine.verify_recover(js(num(s))?, sig, OutBuf::Capacity(usize::MAX)).and_then(data))
    }

    // ---- random and snapshots ----

    #[wasm_bindgen(js_name = generateRandom)]
    pub fn generate_random(&mut self, s: f64, len: f64) -> JsResult<Vec<u8>> {
        let len = usize::try_from(js(num(len))?).map_err(|_| fail(Error::ArgumentsBad))?;
        js(self.engine.generate_random(js(num(s))?, len))
    }

    #[wasm_bindgen(js_name = seedRandom)]
    pub fn seed_random(&mut self, s: f64, seed: &[u8]) -> JsResult<()> {
        js(self.engine.seed_random(js(num(s))?, seed))
    }

    #[wasm_bindgen(js_name = exportToken)]
    pub fn export_token(&mut self, slot: f64) -> JsResult<Vec<u8>> {
        js(self.engine.export_token(js(num(slot))?))
    }

    #[wasm_bindgen(js_name = importToken)]
    pub fn import_token(&mut self, snapshot: &[u8]) -> JsResult<f64> {
        js(self.engine.import_token(snapshot)).map(f)
    }
}

/// u64 → JS number (handles, slots and counters stay far below 2^53).
#[allow(clippy::cast_precision_loss)]
fn f(v: u64) -> f64 {
    v as f64
}

fn obj(h: f64) -> JsResult<u64> {
    num(h).map_err(|_| fail(Error::ObjectHandleInvalid))
}

fn key_handle(h: f64) -> JsResult<u64> {
    num(h).map_err(|_| fail(Error::KeyHandleInvalid))
}

/// The directory store's journal frame for a batch (see `journal.rs`). `installs` is
/// `[[idHex, tempName], …]`, `removes` `[idHex, …]`.
///
/// # Errors
/// `DeviceError` for malformed ids.
#[wasm_bindgen(js_name = journalEncode)]
pub fn journal_encode(
    generation: f64,
    wipe: bool,
    meta_tmp: String,
    installs: Array,
    removes: Array,
) -> JsResult<Vec<u8>> {
    let mut j =
        Journal { generation: js(num(generation))?, wipe, meta_tmp, installs: vec![], removes: vec![] };
    for i in installs.iter() {
        let pair = Array::from(&i);
        let id = js(parse_id(&pair.get(0).as_string().unwrap_or_default()))?;
        j.installs.push((id, pair.get(1).as_string().unwrap_or_default()));
    }
    for r in removes.iter() {
        j.removes.push(js(parse_id(&r.as_string().unwrap_or_default()))?);
    }
    j.encode().ok_or_else(|| fail(Error::GeneralError))
}

/// A journal frame decoded (`{ generation, wipe, metaTmp, installs, removes }` with hex
/// ids), or `undefined` if it is incomplete or damaged.
#[wasm_bindgen(js_name = journalDecode)]
pub fn journal_decode(frame: &[u8]) -> JsValue {
    let Some(j) = Journal::decode(frame) else {
        return JsValue::UNDEFINED;
    };
    let o = Object::new();
    set(&o, "generation", js_ulong(j.generation));
    set(&o, "wipe", j.wipe);
    set(&o, "metaTmp", j.meta_tmp);
    let installs: Array =
        j.installs.iter().map(|(id, t)| JsValue::from(Array::of2(&hex_id(*id).into(), &t.into()))).collect();
    set(&o, "installs", installs);
    let removes: Array = j.removes.iter().map(|id| JsValue::from(hex_id(*id))).collect();
    set(&o, "removes", removes);
    o.into()
}

/// The CKR_* name of a code, or `undefined`.
#[wasm_bindgen(js_name = rvName)]
pub fn rv_name(code: f64) -> Option<String> {
    num(code).ok().and_then(Error::from_rv).map(|e| e.name().to_string())
}
