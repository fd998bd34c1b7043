//! Randomness and time from the JS host: `crypto.getRandomValues` (browsers and Node ≥ 19
//! have it on `globalThis`) and `Date.now()`. No getrandom: fewer moving parts.

use anyhsm_core::Error;
use anyhsm_core::rng::{Clock, Rng};
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = crypto, js_name = getRandomValues, catch)]
    fn get_random_values(buf: &mut [u8]) -> Result<JsValue, JsValue>;
}

/// `getRandomValues` fills at most this many bytes per call (the Web Crypto limit).
const MAX_CHUNK: usize = 65_536;

/// The host's CSPRNG.
#[derive(Debug, Default, Clone, Copy)]
pub struct HostRng;

impl Rng for HostRng {
    fn fill(&mut self, dest: &mut [u8]) -> anyhsm_core::Result<()> {
        for chunk in dest.chunks_mut(MAX_CHUNK) {
            get_random_values(chunk).map_err(|_| Error::FunctionFailed)?;
        }
        Ok(())
    }
}

/// Wall-clock time from `Date.now()`.
#[derive(Debug, Default, Clone, Copy)]
pub struct HostClock;

impl Clock for HostClock {
    fn now_unix(&self) -> Option<u64> {
        let ms = js_sys::Date::now();
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        (ms.is_finite() && ms >= 0.0).then(|| (ms / 1000.0) as u64)
    }
}
