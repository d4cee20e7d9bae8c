//! `tokenpixel` for JavaScript: the WebAssembly face of tokenpixel-core. Marshalling and error
//! mapping only; every rule lives in the core. The npm package's JS layer (pkg/src/api.js)
//! wraps these exports, parses pixel lines into plain objects and rethrows errors as
//! `TokenPixelError`.

mod convert;
mod error;

use js_sys::{Array, Reflect, Uint8Array};
use serde::Serialize;
use tokenpixel_core as core;
use tokenpixel_core::{Digest, Emit, Pixel};
use wasm_bindgen::prelude::*;

use convert::{to_value, to_value_at};
use error::{argument, js_err};

fn anchor_of(anchor: Option<String>) -> Result<Option<Digest>, JsValue> {
    anchor
        .map(|a| Digest::parse_arg(&a, "anchor").map_err(js_err))
        .transpose()
}

/// RFC 8785 canonical form of a JSON text.
#[wasm_bindgen]
pub fn canonicalize(text: &str) -> Result<String, JsValue> {
    core::canonicalize(text).map_err(js_err)
}

/// RFC 8785 canonical form of a JS value (plain objects, arrays, strings, numbers, booleans, null).
#[wasm_bindgen(js_name = canonicalJson)]
pub fn canonical_json(value: &JsValue) -> Result<String, JsValue> {
    Ok(core::to_canonical(&to_value(value).map_err(js_err)?))
}

/// The canonical line of a pixel given as a plain object or JSON text (schema is checked).
#[wasm_bindgen(js_name = toJsonLine)]
pub fn to_json_line(pixel: &JsValue) -> Result<String, JsValue> {
    Ok(pixel_from(pixel).map_err(js_err)?.to_json().to_owned())
}

fn pixel_from(item: &JsValue) -> Result<Pixel, core::Error> {
    match item.as_string() {
        Some(text) if item.is_string() => Pixel::from_json(&text),
        _ => Pixel::from_value(to_value(item)?),
    }
}

/// The pixels that converted, and the first item that did not.
type Collected = (Vec<Pixel>, Option<(usize, core::Error)>);

fn collect(pixels: &JsValue) -> Result<Collected, JsValue> {
    if !Array::is_array(pixels) {
        return Err(argument(
            "pixels must be an array of pixel objects or JSON lines",
        ));
    }
    let arr: &Array = pixels.unchecked_ref();
    let mut out = Vec::with_capacity(arr.length() as usize);
    for (i, item) in arr.iter().enumerate() {
        match pixel_from(&item) {
            Ok(p) => out.push(p),
            Err(e) => return Ok((out, Some((i, e)))),
        }
    }
    Ok((out, None))
}

#[derive(Serialize)]
struct ReportOut {
    ok: bool,
    count: f64,
    head: String,
    error: Option<FailureOut>,
}

#[derive(Serialize)]
struct FailureOut {
    code: &'static str,
    index: f64,
    line: Option<f64>,
    message: String,
    reason: Option<&'static str>,
}

fn report_js(r: core::VerifyReport) -> Result<JsValue, JsValue> {
    let out = ReportOut {
        ok: r.ok,
        count: r.count as f64,
        head: r.head.to_string(),
        error: r.error.map(|f| FailureOut {
            code: f.code(),
            index: f.index as f64,
            line: f.line.map(|l| l as f64),
            message: f.message(),
            reason: f.error.reason(),
        }),
    };
    let ser = serde_wasm_bindgen::Serializer::json_compatible();
    out.serialize(&ser).map_err(JsValue::from)
}

/// Verifies pixels in order (plain objects or JSON lines). Bad items are reported, not thrown.
#[wasm_bindgen]
pub fn verify(pixels: &JsValue, anchor: Option<String>) -> Result<JsValue, JsValue> {
    let anchor = anchor_of(anchor)?;
    let (pixels, failed) = collect(pixels)?;
    let mut report = core::verify(&pixels, anchor);
    if let (true, Some((index, error))) = (report.ok, failed) {
        report.ok = false;
        report.error = Some(core::Failure {
            index: index as u64,
            line: None,
            error,
        });
    }
    report_js(report)
}

/// Verifies JSONL bytes (one canonical pixel per line).
#[wasm_bindgen(js_name = verifyJsonlBytes)]
pub fn verify_jsonl_bytes(data: &[u8], anchor: Option<String>) -> Result<JsValue, JsValue> {
    report_js(core::verify_jsonl(data, anchor_of(anchor)?))
}

/// Verifies JSONL text (one canonical pixel per line).
#[wasm_bindgen(js_name = verifyJsonlText)]
pub fn verify_jsonl_text(data: &str, anchor: Option<String>) -> Result<JsValue, JsValue> {
    report_js(core::verify_jsonl(data.as_bytes(), anchor_of(anchor)?))
}

/// A streaming JSONL verifier: `feed(bytes)` chunks, then `finish()`.
#[wasm_bindgen]
pub struct JsonlVerifier {
    inner: Option<core::JsonlVerifier>,
}

#[wasm_bindgen]
impl JsonlVerifier {
    #[wasm_bindgen(constructor)]
    pub fn new(anchor: Option<String>) -> Result<JsonlVerifier, JsValue> {
        Ok(JsonlVerifier {
            inner: Some(core::JsonlVerifier::new(anchor_of(anchor)?)),
        })
    }

    fn live(&mut self) -> Result<&mut core::JsonlVerifier, JsValue> {
        self.inner
            .as_mut()
            .ok_or_else(|| argument("this verifier is finished"))
    }

    pub fn feed(&mut self, chunk: &Uint8Array) -> Result<(), JsValue> {
        let bytes = chunk.to_vec();
        self.live()?.feed(&bytes);
        Ok(())
    }

    #[wasm_bindgen(getter)]
    pub fn failed(&self) -> bool {
        self.inner.as_ref().is_some_and(|v| v.failed())
    }

    #[wasm_bindgen(getter)]
    pub fn count(&self) -> f64 {
        self.inner.as_ref().map_or(0.0, |v| v.count() as f64)
    }

    pub fn finish(&mut self) -> Result<JsValue, JsValue> {
        self.live()?;
        let v = self.inner.take().ok_or_else(|| argument("finished"))?;
        report_js(v.finish())
    }
}

fn random_id() -> Result<String, JsValue> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| argument(format!("no random source: {e}")))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// An emitter for one agent's chain; it keeps only the newest pixel.
#[wasm_bindgen]
pub struct Chain {
    inner: core::Chain,
}

const EMIT_KEYS: &[&str] = &[
    "state",
    "context",
    "timestampMs",
    "autonomyIndex",
    "intentHash",
    "eventDelta",
    "stateVector",
];

fn opt(options: &JsValue, key: &str) -> Result<Option<JsValue>, JsValue> {
    let v = Reflect::get(options, &key.into())?;
    Ok((!v.is_undefined() && !v.is_null()).then_some(v))
}

fn opt_u64(options: &JsValue, key: &str) -> Result<Option<u64>, JsValue> {
    match opt(options, key)? {
        None => Ok(None),
        Some(v) => match v.as_f64() {
            Some(n) if n >= 0.0 && n.fract() == 0.0 && n <= 9_007_199_254_740_991.0 => {
                Ok(Some(n as u64))
            }
            _ => Err(argument(format!(
                "{key} must be a non-negative integer (a number), got {v:?}"
            ))),
        },
    }
}

#[wasm_bindgen]
impl Chain {
    #[wasm_bindgen(constructor)]
    pub fn new(agent_id: &str, session_id: Option<String>) -> Result<Chain, JsValue> {
        let session = match session_id {
            Some(s) => s,
            None => random_id()?,
        };
        core::Chain::new(agent_id, &session)
            .map(|inner| Chain { inner })
            .map_err(js_err)
    }

    /// Continues a chain after verifying it.
    pub fn resume(
        pixels: &JsValue,
        anchor: Option<String>,
        session_id: Option<String>,
    ) -> Result<Chain, JsValue> {
        let anchor = anchor_of(anchor)?;
        let (pixels, failed) = collect(pixels)?;
        if let Some((_, e)) = failed {
            return Err(js_err(e));
        }
        core::Chain::resume(&pixels, anchor, session_id.as_deref())
            .map(|inner| Chain { inner })
            .map_err(js_err)
    }

    /// Emits the next pixel and returns its canonical line.
    pub fn emit(&mut self, corridor: &str, options: &JsValue) -> Result<String, JsValue> {
        let options = if options.is_undefined() || options.is_null() {
            JsValue::from(js_sys::Object::new())
        } else {
            options.clone()
        };
        if !options.is_object() || Array::is_array(&options) {
            return Err(argument("emit options must be an object"));
        }
        let options_obj: &js_sys::Object = options.unchecked_ref();
        for key in js_sys::Object::keys(options_obj).iter() {
            let k = key.as_string().unwrap_or_default();
            if !EMIT_KEYS.contains(&k.as_str()) {
                return Err(argument(format!(
                    "unknown emit option {k:?} (allowed: {})",
                    EMIT_KEYS.join(", ")
                )));
            }
        }
        let value = |key: &str, path: &str| -> Result<Option<core::Value>, JsValue> {
            opt(&options, key)?
                .map(|v| to_value_at(&v, path).map_err(js_err))
                .transpose()
        };
        let autonomy_index = match opt(&options, "autonomyIndex")? {
            None => None,
            Some(v) => Some(
                v.as_f64()
                    .ok_or_else(|| argument("autonomyIndex must be a number"))?,
            ),
        };
        let intent_hash = match opt(&options, "intentHash")? {
            None => None,
            Some(v) => Some(
                v.as_string()
                    .ok_or_else(|| argument("intentHash must be a string"))?,
            ),
        };
        let timestamp_ms = match opt_u64(&options, "timestampMs")? {
            Some(t) => t,
            None => self.inner.timestamp_for(js_sys::Date::now() as u64),
        };
        let e = Emit {
            corridor: corridor.to_owned(),
            timestamp_ms,
            state: value("state", "state")?,
            context: value("context", "context")?,
            autonomy_index,
            intent_hash,
            event_delta: opt_u64(&options, "eventDelta")?,
            state_vector: value("stateVector", "stateVector")?,
        };
        self.inner
            .emit(e)
            .map(|p| p.to_json().to_owned())
            .map_err(js_err)
    }

    #[wasm_bindgen(getter, js_name = agentId)]
    pub fn agent_id(&self) -> String {
        self.inner.agent_id().to_owned()
    }

    #[wasm_bindgen(getter, js_name = sessionId)]
    pub fn session_id(&self) -> String {
        self.inner.session_id().to_owned()
    }

    /// The newest pixel's canonical line, or undefined.
    #[wasm_bindgen(getter, js_name = headLine)]
    pub fn head_line(&self) -> Option<String> {
        self.inner.head().map(|p| p.to_json().to_owned())
    }

    #[wasm_bindgen(getter, js_name = headHash)]
    pub fn head_hash(&self) -> String {
        self.inner.head_hash().to_string()
    }

    #[wasm_bindgen(getter, js_name = nextSeq)]
    pub fn next_seq(&self) -> f64 {
        self.inner.next_seq() as f64
    }
}

/// Library constants and the error-code list.
#[wasm_bindgen]
pub fn constants() -> Result<JsValue, JsValue> {
    #[derive(Serialize)]
    struct Constants {
        version: &'static str,
        #[serde(rename = "genesisHash")]
        genesis_hash: &'static str,
        #[serde(rename = "schemaVersion")]
        schema_version: u64,
        #[serde(rename = "errorCodes")]
        error_codes: &'static [&'static str],
    }
    let ser = serde_wasm_bindgen::Serializer::json_compatible();
    Constants {
        version: env!("CARGO_PKG_VERSION"),
        genesis_hash: core::GENESIS_HASH,
        schema_version: core::SCHEMA_VERSION,
        error_codes: core::ALL_CODES,
    }
    .serialize(&ser)
    .map_err(JsValue::from)
}
