//! `tokenpixel` for JavaScript: the WebAssembly face of tokenpixel-core. Marshalling and error
//! mapping only; every rule lives in the core. The npm package's JS layer (pkg/src/api.js)
//! wraps these exports, parses pixel lines into plain objects and rethrows errors as
//! `TokenPixelError`.

mod convert;
mod error;
mod store;
mod tlog;

use js_sys::{Array, Function, Reflect, Uint32Array, Uint8Array};
use serde::Serialize;
use tokenpixel_core as core;
use tokenpixel_core::{Digest, Emit, Pixel};
use wasm_bindgen::prelude::*;

use convert::to_value;
use error::{argument, js_err};

pub(crate) fn anchor_of(anchor: Option<String>) -> Result<Option<Digest>, JsValue> {
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
    column: Option<f64>,
    path: Option<String>,
    message: String,
    reason: Option<&'static str>,
}

/// A serializable value as a plain JS object (JSON-compatible: maps as objects, None as null).
pub(crate) fn report_value<T: Serialize>(value: &T) -> Result<JsValue, JsValue> {
    let ser = serde_wasm_bindgen::Serializer::json_compatible();
    value.serialize(&ser).map_err(JsValue::from)
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
            column: f.error.position().map(|p| p.column as f64),
            path: f.error.path().map(str::to_owned),
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
    report_js(core::verify(&pixels, anchor).with_unreadable(failed))
}

/// Verifies JSONL bytes (one canonical pixel per line). `hasher`, when given, computes the
/// SHA-256 digests in batches (see [`host_hasher`]).
#[wasm_bindgen(js_name = verifyJsonlBytes)]
pub fn verify_jsonl_bytes(
    data: &[u8],
    anchor: Option<String>,
    hasher: Option<Function>,
) -> Result<JsValue, JsValue> {
    let mut v = core::JsonlVerifier::new(anchor_of(anchor)?);
    feed(&mut v, data, hasher.as_ref());
    report_js(v.finish())
}

/// Feeds `chunk`, hashing with the host's batch hasher when there is one.
fn feed(v: &mut core::JsonlVerifier, chunk: &[u8], hasher: Option<&Function>) {
    match hasher {
        Some(f) => v.feed_hashed_by(chunk, &mut host_hasher(f)),
        None => v.feed(chunk),
    }
}

/// The host's SHA-256 (`node:crypto`: SHA instructions, where wasm has none) as the core's
/// batch hasher: `f(preimages, ends)` gets views of this module's memory, valid during the
/// call only, and returns the digests (32 bytes each) as one Uint8Array. Any other answer,
/// or an exception, makes the core hash the batch itself.
fn host_hasher(f: &Function) -> impl FnMut(&[u8], &[u32]) -> Vec<u8> + '_ {
    move |preimages, ends| {
        // SAFETY: the views are only used by `f`, which does not call into this module, so
        // its memory cannot grow (and detach them) while they are alive.
        let (p, e) = unsafe { (Uint8Array::view(preimages), Uint32Array::view(ends)) };
        match f.call2(&JsValue::NULL, &p, &e) {
            Ok(out) if out.is_instance_of::<Uint8Array>() => Uint8Array::from(out).to_vec(),
            _ => Vec::new(),
        }
    }
}

/// A streaming JSONL verifier: `feed(bytes)` chunks, then `finish()`.
#[wasm_bindgen]
pub struct JsonlVerifier {
    inner: Option<core::JsonlVerifier>,
    /// The count at `finish()`, kept for `count` afterwards.
    finished: f64,
    hasher: Option<Function>,
}

#[wasm_bindgen]
impl JsonlVerifier {
    #[wasm_bindgen(constructor)]
    pub fn new(anchor: Option<String>, hasher: Option<Function>) -> Result<JsonlVerifier, JsValue> {
        Ok(JsonlVerifier {
            inner: Some(core::JsonlVerifier::new(anchor_of(anchor)?)),
            finished: 0.0,
            hasher,
        })
    }

    fn live(&mut self) -> Result<&mut core::JsonlVerifier, JsValue> {
        self.inner
            .as_mut()
            .ok_or_else(|| argument("this verifier is finished"))
    }

    pub fn feed(&mut self, chunk: &Uint8Array) -> Result<(), JsValue> {
        let bytes = chunk.to_vec();
        let hasher = self.hasher.clone();
        feed(self.live()?, &bytes, hasher.as_ref());
        Ok(())
    }

    #[wasm_bindgen(getter)]
    pub fn failed(&self) -> bool {
        self.inner.as_ref().is_some_and(|v| v.failed())
    }

    #[wasm_bindgen(getter)]
    pub fn count(&self) -> f64 {
        self.inner
            .as_ref()
            .map_or(self.finished, |v| v.count() as f64)
    }

    pub fn finish(&mut self) -> Result<JsValue, JsValue> {
        self.live()?;
        let v = self.inner.take().ok_or_else(|| argument("finished"))?;
        let report = v.finish();
        self.finished = report.count as f64;
        report_js(report)
    }
}

/// Converts emit options, dropping members that are `undefined` (an option not given).
fn to_value_lenient(options: &JsValue) -> Result<core::Value, core::Error> {
    if options.is_object() && !Array::is_array(options) {
        let obj: &js_sys::Object = options.unchecked_ref();
        let copy = js_sys::Object::new();
        for entry in js_sys::Object::entries(obj).iter() {
            let pair: Array = entry.unchecked_into();
            if !pair.get(1).is_undefined() {
                let _ = Reflect::set(&copy, &pair.get(0), &pair.get(1));
            }
        }
        return to_value(&copy);
    }
    to_value(options)
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

/// Builds the step from emit options already converted to JSON.
fn emit_of(chain: &core::Chain, corridor: &str, options: core::Value) -> Result<Emit, JsValue> {
    let mut map = match options {
        core::Value::Null => core::Map::new(),
        core::Value::Object(m) => m,
        _ => return Err(argument("emit options must be an object")),
    };
    if let Some(k) = map.keys().find(|k| !EMIT_KEYS.contains(k)) {
        return Err(argument(format!(
            "unknown emit option {k:?} (allowed: {})",
            EMIT_KEYS.join(", ")
        )));
    }
    // `context` and `intentHash` given as null clear the field; absent carries it forward.
    // Every other option given as null counts as not given.
    let context = map.remove("context");
    let intent = map.remove("intentHash");
    let mut take = |k: &str| map.remove(k).filter(|v| !v.is_null());
    let uint = |v: Option<core::Value>, key: &str| -> Result<Option<u64>, JsValue> {
        match v {
            None => Ok(None),
            Some(v) => match v.as_f64() {
                Some(n) if n >= 0.0 && n.fract() == 0.0 && n <= 9_007_199_254_740_991.0 => {
                    Ok(Some(n as u64))
                }
                _ => Err(argument(format!(
                    "{key} must be a non-negative integer, got {}",
                    core::to_canonical(&v)
                ))),
            },
        }
    };
    let autonomy_index = match take("autonomyIndex") {
        None => None,
        Some(v) => Some(
            v.as_f64()
                .ok_or_else(|| argument("autonomyIndex must be a number"))?,
        ),
    };
    // Absent (undefined): carried forward; null: cleared.
    let intent_hash = match intent {
        None => None,
        Some(core::Value::Null) => Some(None),
        Some(core::Value::String(s)) => Some(Some(s)),
        Some(_) => return Err(argument("intentHash must be a string or null")),
    };
    let timestamp_ms = match uint(take("timestampMs"), "timestampMs")? {
        Some(t) => t,
        None => chain.timestamp_for(js_sys::Date::now() as u64),
    };
    Ok(Emit {
        corridor: corridor.to_owned(),
        timestamp_ms,
        state: take("state"),
        context,
        autonomy_index,
        intent_hash,
        event_delta: uint(take("eventDelta"), "eventDelta")?,
        state_vector: take("stateVector"),
    })
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

    /// Emits the next pixel and returns its canonical line. `options` is any JS value; bad
    /// values are reported with their JSON path (`$.state.when`).
    pub fn emit(
        &mut self,
        corridor: &str,
        options: &JsValue,
        hasher: Option<Function>,
    ) -> Result<String, JsValue> {
        let value = if options.is_undefined() {
            core::Value::Null
        } else {
            to_value_lenient(options).map_err(js_err)?
        };
        let e = emit_of(&self.inner, corridor, value)?;
        self.emit_step(e, hasher.as_ref())
    }

    /// The fast path: options already as UTF-8 JSON text (the JS layer checked they are plain
    /// data and encoded them natively).
    #[wasm_bindgen(js_name = emitJson)]
    pub fn emit_json(
        &mut self,
        corridor: &str,
        options: &[u8],
        hasher: Option<Function>,
    ) -> Result<String, JsValue> {
        let value = core::parse_bytes(options).map_err(js_err)?;
        let e = emit_of(&self.inner, corridor, value)?;
        self.emit_step(e, hasher.as_ref())
    }

    fn emit_step(&mut self, e: Emit, hasher: Option<&Function>) -> Result<String, JsValue> {
        let pixel = match hasher {
            Some(f) => self.inner.emit_hashed_by(e, &mut host_hasher(f)),
            None => self.inner.emit(e),
        };
        pixel.map(|p| p.to_json().to_owned()).map_err(js_err)
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

/// `DISTRICT_<n>.CHAMBER_<X>.NODE_<Y>` from its parts (or the stage prefix without `node`);
/// `district` is a number or `DISTRICT_<n>`. Names are normalized as the core's
/// `segment_name` says.
#[wasm_bindgen(js_name = buildCorridor)]
pub fn build_corridor(
    district: &JsValue,
    chamber: &str,
    node: Option<String>,
) -> Result<String, JsValue> {
    let number = if let Some(n) = district.as_f64() {
        if !(0.0..=999_999_999.0).contains(&n) || n.fract() != 0.0 {
            return Err(argument("district must be an integer from 0 to 999999999"));
        }
        n as u32
    } else if let Some(s) = district.as_string() {
        core::Corridor::district_number(&s).map_err(js_err)?
    } else {
        return Err(argument("district must be a number or a string"));
    };
    match node {
        Some(node) => core::Corridor::build(number, chamber, &node)
            .map(|c| c.as_str().to_owned())
            .map_err(js_err),
        None => core::Corridor::build_prefix(number, chamber).map_err(js_err),
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
        /// Each code's family, for `TokenPixelError.family`.
        #[serde(rename = "errorFamilies")]
        error_families: Vec<&'static str>,
        #[serde(rename = "maxLineBytes")]
        max_line_bytes: usize,
        #[serde(rename = "pgMigrations")]
        pg_migrations: &'static [&'static str],
        #[serde(rename = "pgSetupLock")]
        pg_setup_lock: i64,
        /// `[number, name, purpose]` for each district of the convention.
        districts: Vec<(u32, &'static str, &'static str)>,
    }
    let ser = serde_wasm_bindgen::Serializer::json_compatible();
    Constants {
        version: env!("CARGO_PKG_VERSION"),
        genesis_hash: core::GENESIS_HASH,
        schema_version: core::SCHEMA_VERSION,
        error_codes: &core::ALL_CODES,
        error_families: core::CODE_FAMILIES.iter().map(|(_, f)| f.name()).collect(),
        max_line_bytes: core::store::MAX_LINE_BYTES,
        pg_migrations: core::store::PG_MIGRATIONS,
        pg_setup_lock: core::store::PG_SETUP_LOCK,
        districts: core::DISTRICTS
            .iter()
            .map(|d| (d.number, d.name, d.purpose))
            .collect(),
    }
    .serialize(&ser)
    .map_err(JsValue::from)
}

fn pixel_arg(item: &JsValue) -> Result<Pixel, JsValue> {
    pixel_from(item).map_err(js_err)
}

fn range_of(pixels: &JsValue) -> Result<Vec<Pixel>, JsValue> {
    let (pixels, failed) = collect(pixels)?;
    match failed {
        Some((_, e)) => Err(js_err(e)),
        None => Ok(pixels),
    }
}

/// The diff from pixel `a` to pixel `b`, as canonical JSON text.
#[wasm_bindgen(js_name = diffJson)]
pub fn diff_json(a: &JsValue, b: &JsValue) -> Result<String, JsValue> {
    Ok(core::to_canonical(
        core::diff(&pixel_arg(a)?, &pixel_arg(b)?).value(),
    ))
}

/// The diff from pixel `a` to pixel `b`, rendered for people.
#[wasm_bindgen(js_name = diffText)]
pub fn diff_text(a: &JsValue, b: &JsValue) -> Result<String, JsValue> {
    Ok(core::diff(&pixel_arg(a)?, &pixel_arg(b)?).render())
}

/// The first-to-last diff of a run of pixels, as canonical JSON text.
#[wasm_bindgen(js_name = diffRangeJson)]
pub fn diff_range_json(pixels: &JsValue) -> Result<String, JsValue> {
    let d = core::diff_range(&range_of(pixels)?).map_err(js_err)?;
    Ok(core::to_canonical(d.value()))
}

/// The first-to-last diff of a run of pixels, rendered for people.
#[wasm_bindgen(js_name = diffRangeText)]
pub fn diff_range_text(pixels: &JsValue) -> Result<String, JsValue> {
    Ok(core::diff_range(&range_of(pixels)?)
        .map_err(js_err)?
        .render())
}

/// A token-budgeted summary of a pixel, as canonical JSON text.
#[wasm_bindgen(js_name = summarizeJson)]
pub fn summarize_json(
    pixel: &JsValue,
    level: Option<String>,
    for_task: Option<String>,
    relevant_keys: Option<Vec<String>>,
    max_tokens: Option<f64>,
) -> Result<String, JsValue> {
    let p = pixel_arg(pixel)?;
    let level = level
        .map(|l| core::Level::parse(&l).map_err(js_err))
        .transpose()?;
    let max_tokens = match max_tokens {
        None => None,
        Some(m) if m >= 0.0 && m.fract() == 0.0 => Some(m as usize),
        Some(_) => return Err(argument("maxTokens must be a non-negative integer")),
    };
    let s = core::summarize(
        &p,
        &core::SummaryOptions {
            level,
            for_task,
            relevant_keys,
            max_tokens,
        },
    );
    Ok(core::to_canonical(&s.to_value()))
}

/// Estimated tokens of a text (what the summarizer budgets with).
#[wasm_bindgen(js_name = estimateTokens)]
pub fn estimate_tokens(text: &str) -> f64 {
    core::estimate_tokens(text) as f64
}
