//! JS values ↔ core types, once, at the edge: templates by the schema kind of each
//! attribute, mechanisms by the parameter shape core's table gives them.

use anyhsm_core::attribute::{AttrKind, AttrValue, Attribute, UlongWidth};
use anyhsm_core::consts::{AttrType, MechanismType};
use anyhsm_core::info::{
    CounterFormat, HkdfParams, HkdfSalt, MechParam, Mechanism, Pbkdf2Params, PrfDataParam, RsaOaepParams,
    RsaPssParams, Sp800108Params,
};
use anyhsm_core::mechanism::{ParamKind, param_kind};
use anyhsm_core::object::schema;
use anyhsm_core::secret::SecretBytes;
use anyhsm_core::{Error, Result};
use js_sys::{Array, ArrayBuffer, BigInt, Object, Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};

/// The largest integer a JS number holds exactly.
const MAX_SAFE: f64 = 9_007_199_254_740_991.0;

/// A non-negative integer from a number or a bigint.
pub fn ulong_of(v: &JsValue, invalid: Error) -> Result<u64> {
    if let Some(n) = v.as_f64() {
        if n.fract() == 0.0 && (0.0..=MAX_SAFE).contains(&n) {
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            return Ok(n as u64); // exact: a non-negative integer below 2^53
        }
        return Err(invalid);
    }
    if v.is_bigint() {
        return u64::try_from(v.clone()).map_err(|_| invalid);
    }
    Err(invalid)
}

/// A handle, slot id or length passed as a JS number.
pub fn num(n: f64) -> Result<u64> {
    ulong_of(&JsValue::from_f64(n), Error::ArgumentsBad)
}

/// A u64 as a JS number (exact below 2^53, which handles, slots and counters never reach),
/// or a bigint above.
pub fn js_ulong(v: u64) -> JsValue {
    #[allow(clippy::cast_precision_loss)]
    let f = v as f64;
    if f <= MAX_SAFE { JsValue::from_f64(f) } else { BigInt::from(v).into() }
}

/// Bytes from a Uint8Array, an ArrayBuffer, any other ArrayBuffer view, or a string (UTF-8).
pub fn bytes_of(v: &JsValue) -> Option<Vec<u8>> {
    if let Some(a) = v.dyn_ref::<Uint8Array>() {
        return Some(a.to_vec());
    }
    if let Some(s) = v.as_string() {
        return Some(s.into_bytes());
    }
    if let Some(b) = v.dyn_ref::<ArrayBuffer>() {
        return Some(Uint8Array::new(b).to_vec());
    }
    if ArrayBuffer::is_view(v) {
        let buffer: JsValue = Reflect::get(v, &"buffer".into()).ok()?;
        let offset = Reflect::get(v, &"byteOffset".into()).ok()?.as_f64()?;
        let len = Reflect::get(v, &"byteLength".into()).ok()?.as_f64()?;
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let view = Uint8Array::new_with_byte_offset_and_length(&buffer, offset as u32, len as u32);
        return Some(view.to_vec());
    }
    None
}

/// An optional byte string (`undefined`/`null` → empty).
fn opt_bytes(v: &JsValue, invalid: Error) -> Result<Vec<u8>> {
    if v.is_undefined() || v.is_null() { Ok(Vec::new()) } else { bytes_of(v).ok_or(invalid) }
}

/// A template: `[{type, value}, …]`, `[[type, value], …]`, or `{ [type]: value }`.
///
/// # Errors
/// `TemplateInconsistent` if it is none of those shapes; `AttributeTypeInvalid` for a
/// type the schema does not know; `AttributeValueInvalid` for a value of the wrong shape.
pub fn template(v: &JsValue) -> Result<Vec<Attribute>> {
    if v.is_undefined() || v.is_null() {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    if Array::is_array(v) {
        for item in Array::from(v).iter() {
            let (ty, value) = if Array::is_array(&item) {
                let pair = Array::from(&item);
                (pair.get(0), pair.get(1))
            } else if item.is_object() {
                let ty = Reflect::get(&item, &"type".into()).map_err(|_| Error::TemplateInconsistent)?;
                let value = Reflect::get(&item, &"value".into()).map_err(|_| Error::TemplateInconsistent)?;
                (ty, value)
            } else {
                return Err(Error::TemplateInconsistent);
            };
            out.push(attribute(&ty, &value)?);
        }
    } else if v.is_object() {
        for entry in Object::entries(v.unchecked_ref()).iter() {
            let pair = Array::from(&entry);
            let key = pair.get(0).as_string().ok_or(Error::TemplateInconsistent)?;
            let ty: f64 = key.parse().map_err(|_| Error::AttributeTypeInvalid)?;
            out.push(attribute(&JsValue::from_f64(ty), &pair.get(1))?);
        }
    } else {
        return Err(Error::TemplateInconsistent);
    }
    Ok(out)
}

/// One attribute, converted by its schema kind.
fn attribute(ty: &JsValue, value: &JsValue) -> Result<Attribute> {
    let ty = AttrType(ulong_of(ty, Error::AttributeTypeInvalid)?);
    let kind = schema::kind(ty).ok_or(Error::AttributeTypeInvalid)?;
    let bad = Error::AttributeValueInvalid;
    let value = match kind {
        AttrKind::Bool => AttrValue::Bool(value.as_bool().ok_or(bad)?),
        AttrKind::Ulong => AttrValue::Ulong(ulong_of(value, bad)?),
        AttrKind::Bytes => AttrValue::Bytes(bytes_of(value).ok_or(bad)?),
        AttrKind::Secret => AttrValue::Secret(SecretBytes::from_slice(&bytes_of(value).ok_or(bad)?)),
        // Core validates dates (8 ASCII digits or empty).
        AttrKind::Date => return Attribute::from_raw(ty, &bytes_of(value).ok_or(bad)?, UlongWidth::Eight),
        AttrKind::MechanismList => {
            if !Array::is_array(value) {
                return Err(bad);
            }
            let list = Array::from(value)
                .iter()
                .map(|m| ulong_of(&m, bad).map(MechanismType))
                .collect::<Result<Vec<_>>>()?;
            AttrValue::MechanismList(list)
        }
        AttrKind::Template => return Attribute::template(ty, template(value)?),
        #[allow(unreachable_patterns)]
        _ => return Err(bad),
    };
    Ok(Attribute { ty, value })
}

/// An attribute value for JS.
pub fn js_value(v: &AttrValue) -> JsValue {
    match v {
        AttrValue::Bool(b) => JsValue::from_bool(*b),
        AttrValue::Ulong(n) => js_ulong(*n),
        AttrValue::Bytes(b) => Uint8Array::from(b.as_slice()).into(),
        AttrValue::Secret(s) => Uint8Array::from(s.expose()).into(),
        AttrValue::Date(d) => JsValue::from_str(&String::from_utf8_lossy(d)),
        AttrValue::MechanismList(l) => l.iter().map(|m| js_ulong(m.0)).collect::<Array>().into(),
        AttrValue::Template(t) => t
            .iter()
            .map(|a| {
                let o = Object::new();
                set(&o, "type", js_ulong(a.ty.0));
                set(&o, "value", js_value(&a.value));
                JsValue::from(o)
            })
            .collect::<Array>()
            .into(),
        #[allow(unreachable_patterns)]
        _ => JsValue::UNDEFINED,
    }
}

/// Set a property on a fresh object (cannot fail on a plain object).
pub fn set(o: &Object, key: &str, v: impl Into<JsValue>) {
    let _ = Reflect::set(o, &key.into(), &v.into());
}

/// A mechanism: its type and parameter, parsed in the shape core's table gives it (the JS
/// shapes are declared in index.d.ts, one per `ParamKind`).
///
/// # Errors
/// `MechanismInvalid` for a mechanism core does not implement; `MechanismParamInvalid` for
/// a parameter of the wrong shape (or a shape this front-end cannot parse yet).
pub fn mechanism(ty: f64, param: &JsValue) -> Result<Mechanism> {
    let ty = MechanismType(ulong_of(&JsValue::from_f64(ty), Error::MechanismInvalid)?);
    let kind = param_kind(ty).ok_or(Error::MechanismInvalid)?;
    Ok(Mechanism { ty, param: parameter(kind, param)? })
}

/// Reads the fields of a parameter object; any shape error is `MechanismParamInvalid`.
struct Fields<'a>(&'a JsValue);

const BAD: Error = Error::MechanismParamInvalid;

impl Fields<'_> {
    fn new(v: &JsValue) -> Result<Fields<'_>> {
        if v.is_object() && !Array::is_array(v) { Ok(Fields(v)) } else { Err(BAD) }
    }
    fn get(&self, k: &str) -> Result<JsValue> {
        Reflect::get(self.0, &k.into()).map_err(|_| BAD)
    }
    fn bytes(&self, k: &str) -> Result<Vec<u8>> {
        bytes_of(&self.get(k)?).ok_or(BAD)
    }
    fn opt_bytes(&self, k: &str) -> Result<Vec<u8>> {
        opt_bytes(&self.get(k)?, BAD)
    }
    fn ulong(&self, k: &str) -> Result<u64> {
        ulong_of(&self.get(k)?, BAD)
    }
    fn opt_ulong(&self, k: &str, default: u64) -> Result<u64> {
        let v = self.get(k)?;
        if v.is_undefined() || v.is_null() { Ok(default) } else { ulong_of(&v, BAD) }
    }
    fn mech(&self, k: &str) -> Result<MechanismType> {
        self.ulong(k).map(MechanismType)
    }
    fn bool(&self, k: &str) -> Result<bool> {
        self.get(k)?.as_bool().ok_or(BAD)
    }
    fn opt_bool(&self, k: &str) -> Result<bool> {
        let v = self.get(k)?;
        if v.is_undefined() || v.is_null() { Ok(false) } else { v.as_bool().ok_or(BAD) }
    }
}

/// `CKZ_DATA_SPECIFIED` / `CKZ_SALT_SPECIFIED`.
const CKZ_SPECIFIED: u64 = 1;

fn oaep(f: &Fields<'_>) -> Result<RsaOaepParams> {
    let source_data = f.opt_bytes("sourceData")?;
    Ok(RsaOaepParams {
        hash: f.mech("hashAlg")?,
        mgf: f.ulong("mgf")?,
        source: f.opt_ulong("source", CKZ_SPECIFIED)?,
        source_data,
    })
}

fn counter_format(f: &Fields<'_>) -> Result<CounterFormat> {
    Ok(CounterFormat { little_endian: f.opt_bool("littleEndian")?, width_bits: f.ulong("widthBits")? })
}

fn sp800108(v: &JsValue, feedback: bool) -> Result<Sp800108Params> {
    let f = Fields::new(v)?;
    let data_v = f.get("data")?;
    if !Array::is_array(&data_v) {
        return Err(BAD);
    }
    let mut data = Vec::new();
    for item in Array::from(&data_v).iter() {
        let d = Fields::new(&item)?;
        let kind = d.get("type")?.as_string().ok_or(BAD)?;
        data.push(match kind.as_str() {
            "iterationVariable" => {
                let w = d.get("widthBits")?;
                PrfDataParam::IterationVariable(if w.is_undefined() {
                    None
                } else {
                    Some(counter_format(&d)?)
                })
            }
            "counter" => PrfDataParam::Counter(counter_format(&d)?),
            "dkmLength" => PrfDataParam::DkmLength {
                method: d.ulong("method")?,
                little_endian: d.opt_bool("littleEndian")?,
                width_bits: d.ulong("widthBits")?,
            },
            "byteArray" => PrfDataParam::ByteArray(d.bytes("value")?),
            _ => return Err(BAD),
        });
    }
    let mut additional_keys = Vec::new();
    let extra = f.get("additionalKeys")?;
    if !extra.is_undefined() && !extra.is_null() {
        if !Array::is_array(&extra) {
            return Err(BAD);
        }
        for t in Array::from(&extra).iter() {
            additional_keys.push(template(&t)?);
        }
    }
    let iv = if feedback { f.opt_bytes("iv")? } else { Vec::new() };
    Ok(Sp800108Params { prf: f.mech("prf")?, data, iv, additional_keys })
}

fn parameter(kind: ParamKind, param: &JsValue) -> Result<MechParam> {
    let absent = param.is_undefined() || param.is_null();
    Ok(match kind {
        ParamKind::None if absent => MechParam::None,
        ParamKind::None => return Err(BAD),
        ParamKind::Bytes | ParamKind::KeyDerivationString => MechParam::Bytes(bytes_of(param).ok_or(BAD)?),
        ParamKind::OptionalBytes if absent => MechParam::None,
        ParamKind::OptionalBytes => MechParam::Bytes(bytes_of(param).ok_or(BAD)?),
        ParamKind::Ulong | ParamKind::ObjectHandle => MechParam::Ulong(ulong_of(param, BAD)?),
        ParamKind::Gcm => {
            let f = Fields::new(param)?;
            MechParam::Gcm { iv: f.bytes("iv")?, aad: f.opt_bytes("aad")?, tag_bits: f.ulong("tagBits")? }
        }
        ParamKind::Ccm => {
            let f = Fields::new(param)?;
            MechParam::Ccm {
                data_len: f.ulong("dataLen")?,
                nonce: f.bytes("nonce")?,
                aad: f.opt_bytes("aad")?,
                mac_len: f.ulong("macLen")?,
            }
        }
        ParamKind::AesCtr => {
            let f = Fields::new(param)?;
            let block: [u8; 16] = f.bytes("block")?.as_slice().try_into().map_err(|_| BAD)?;
            MechParam::AesCtr { counter_bits: f.ulong("counterBits")?, block }
        }
        ParamKind::ChaCha20Poly1305 => {
            let f = Fields::new(param)?;
            MechParam::ChaCha20Poly1305 { nonce: f.bytes("nonce")?, aad: f.opt_bytes("aad")? }
        }
        ParamKind::AesCbcEncryptData | ParamKind::DesCbcEncryptData => {
            let f = Fields::new(param)?;
            let iv = f.bytes("iv")?;
            let want = if kind == ParamKind::AesCbcEncryptData { 16 } else { 8 };
            if iv.len() != want {
                return Err(BAD);
            }
            MechParam::CbcEncryptData { iv, data: f.bytes("data")? }
        }
        ParamKind::RsaPss => {
            let f = Fields::new(param)?;
            MechParam::RsaPss(RsaPssParams {
                hash: f.mech("hashAlg")?,
                mgf: f.ulong("mgf")?,
                salt_len: f.ulong("saltLen")?,
            })
        }
        ParamKind::RsaOaep => MechParam::RsaOaep(oaep(&Fields::new(param)?)?),
        ParamKind::RsaAesKeyWrap => {
            let f = Fields::new(param)?;
            let o = f.get("oaep")?;
            MechParam::RsaAesKeyWrap { aes_key_bits: f.ulong("aesKeyBits")?, oaep: oaep(&Fields::new(&o)?)? }
        }
        ParamKind::Eddsa if absent => MechParam::None,
        ParamKind::Eddsa => {
            let f = Fields::new(param)?;
            MechParam::Eddsa { prehash: f.opt_bool("prehash")?, context: f.opt_bytes("context")? }
        }
        ParamKind::Ecdh1 => {
            let f = Fields::new(param)?;
            MechParam::Ecdh1 {
                kdf: f.ulong("kdf")?,
                shared_data: f.opt_bytes("sharedData")?,
                public_data: f.bytes("publicData")?,
            }
        }
        ParamKind::SignContext if absent => MechParam::None,
        ParamKind::SignContext => {
            let f = Fields::new(param)?;
            MechParam::SignContext { hedge: f.opt_ulong("hedge", 0)?, context: f.opt_bytes("context")? }
        }
        ParamKind::HashSignContext => {
            let f = Fields::new(param)?;
            MechParam::HashSignContext {
                hedge: f.opt_ulong("hedge", 0)?,
                context: f.opt_bytes("context")?,
                hash: f.mech("hash")?,
            }
        }
        ParamKind::Hkdf => {
            let f = Fields::new(param)?;
            let salt_v = f.get("salt")?;
            let salt = if salt_v.is_undefined() || salt_v.is_null() {
                HkdfSalt::Null
            } else if let Some(b) = bytes_of(&salt_v) {
                HkdfSalt::Data(b)
            } else {
                HkdfSalt::Key(Fields::new(&salt_v)?.ulong("key")?)
            };
            MechParam::Hkdf(HkdfParams {
                extract: f.bool("extract")?,
                expand: f.bool("expand")?,
                prf: f.mech("prf")?,
                salt,
                info: f.opt_bytes("info")?,
            })
        }
        ParamKind::Pbkdf2 => {
            let f = Fields::new(param)?;
            MechParam::Pbkdf2(Pbkdf2Params {
                salt_source: f.opt_ulong("saltSource", CKZ_SPECIFIED)?,
                salt: f.bytes("salt")?,
                iterations: f.ulong("iterations")?,
                prf: f.ulong("prf")?,
                prf_data: f.opt_bytes("prfData")?,
                password: SecretBytes::from_slice(&f.bytes("password")?),
            })
        }
        ParamKind::Sp800108Counter => MechParam::Sp800108(sp800108(param, false)?),
        ParamKind::Sp800108Feedback => MechParam::Sp800108(sp800108(param, true)?),
        // A parameter shape core gained after this front-end was written.
        _ => return Err(BAD),
    })
}
