//! `tokenpixel._native`: the Python face of tokenpixel-core. Marshalling and error mapping only;
//! every rule lives in the core.

mod args;
mod convert;
mod error;
mod pipeline;
mod store;
mod tlog;

use std::time::{SystemTime, UNIX_EPOCH};

use pyo3::prelude::*;
use pyo3::pybacked::{PyBackedBytes, PyBackedStr};
use pyo3::types::{PyDict, PyString};
use tokenpixel_core as core;
use tokenpixel_core::{Digest, Emit, Pixel, Value};

use args::Given;
use convert::{map_to_py, to_py, to_value, to_value_at};
use error::{py_err, to_pyerr};

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

pub(crate) fn parse_anchor(py: Python<'_>, anchor: Option<&str>) -> PyResult<Option<Digest>> {
    anchor
        .map(|a| Digest::parse_arg(a, "anchor").map_err(py_err(py)))
        .transpose()
}

/// A `str` argument as UTF-8; a str holding lone surrogates is refused as NOT_I_JSON.
pub(crate) fn text_arg(py: Python<'_>, text: &Bound<'_, PyString>) -> PyResult<PyBackedStr> {
    text.clone().try_into().map_err(|_: PyErr| {
        to_pyerr(
            py,
            &core::Error::NotIJson {
                reason: core::IJsonReason::LoneSurrogate,
                detail: "the text holds a lone surrogate".into(),
                at: None,
            },
        )
    })
}

/// RFC 8785 canonical form of a JSON text.
#[pyfunction]
fn canonicalize(py: Python<'_>, text: &Bound<'_, PyString>) -> PyResult<String> {
    let text = text_arg(py, text)?;
    py.detach(|| core::canonicalize(&text)).map_err(py_err(py))
}

/// RFC 8785 canonical form of a Python value (dict, list, str, int, float, bool, None).
#[pyfunction]
fn canonical_json(py: Python<'_>, value: &Bound<'_, PyAny>) -> PyResult<String> {
    let v = to_value(value).map_err(py_err(py))?;
    Ok(core::to_canonical(&v))
}

/// A token pixel: one tamper-evident checkpoint. Immutable.
#[pyclass(frozen, module = "tokenpixel", name = "TokenPixel", eq, hash)]
#[derive(Clone, PartialEq, Hash)]
pub(crate) struct PyPixel {
    inner: PixelKey,
}

/// A pixel compared and hashed by its canonical line.
#[derive(Clone)]
struct PixelKey(Pixel);

impl PartialEq for PixelKey {
    fn eq(&self, other: &Self) -> bool {
        self.0.to_json() == other.0.to_json()
    }
}

impl std::hash::Hash for PixelKey {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.0.to_json().hash(state);
    }
}

impl PyPixel {
    pub(crate) fn new(p: Pixel) -> PyPixel {
        PyPixel { inner: PixelKey(p) }
    }
    pub(crate) fn p(&self) -> &Pixel {
        &self.inner.0
    }
}

#[pymethods]
impl PyPixel {
    /// Reads a pixel from JSON text (any I-JSON form; schema rules apply, hashes are checked
    /// by `verify`).
    #[staticmethod]
    fn from_json(py: Python<'_>, text: &Bound<'_, PyString>) -> PyResult<PyPixel> {
        let text = text_arg(py, text)?;
        py.detach(|| Pixel::from_json(&text))
            .map(PyPixel::new)
            .map_err(py_err(py))
    }

    /// Reads a pixel from a dict in its JSON shape (as `to_dict` returns).
    #[staticmethod]
    fn from_dict(py: Python<'_>, data: &Bound<'_, PyAny>) -> PyResult<PyPixel> {
        let v = to_value(data).map_err(py_err(py))?;
        Pixel::from_value(v).map(PyPixel::new).map_err(py_err(py))
    }

    /// The pixel as a dict in its JSON shape (camelCase keys).
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, &self.p().to_value())
    }

    /// The canonical JSON line (RFC 8785, no newline): the stored form.
    fn to_json(&self) -> &str {
        self.p().to_json()
    }

    #[getter]
    fn schema(&self) -> u64 {
        self.p().schema()
    }
    #[getter]
    fn seq(&self) -> u64 {
        self.p().seq()
    }
    #[getter]
    fn agent_id(&self) -> &str {
        self.p().agent_id()
    }
    #[getter]
    fn session_id(&self) -> &str {
        self.p().session_id()
    }
    #[getter]
    fn corridor(&self) -> &str {
        self.p().corridor().as_str()
    }
    #[getter]
    fn district(&self) -> u32 {
        self.p().corridor().district()
    }
    #[getter]
    fn chamber(&self) -> &str {
        self.p().corridor().chamber()
    }
    #[getter]
    fn node(&self) -> &str {
        self.p().corridor().node()
    }
    #[getter]
    fn timestamp_ms(&self) -> u64 {
        self.p().timestamp_ms()
    }
    #[getter]
    fn autonomy_index(&self) -> f64 {
        self.p().autonomy_index()
    }
    #[getter]
    fn intent_hash(&self) -> Option<&str> {
        self.p().intent_hash()
    }
    #[getter]
    fn event_delta(&self) -> u64 {
        self.p().event_delta()
    }
    #[getter]
    fn state_vector<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        map_to_py(py, self.p().state_vector())
    }
    #[getter]
    fn state<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        map_to_py(py, self.p().state())
    }
    #[getter]
    fn context<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyDict>>> {
        self.p().context().map(|m| map_to_py(py, m)).transpose()
    }
    #[getter]
    fn state_hash(&self) -> String {
        self.p().state_hash().to_string()
    }
    #[getter]
    fn prev_hash(&self) -> String {
        self.p().prev_hash().to_string()
    }
    #[getter]
    fn hash(&self) -> String {
        self.p().hash().to_string()
    }
    /// The first 12 hex digits of `hash`, for display and as a short id.
    #[getter]
    fn short_id(&self) -> String {
        self.p().hash().short(12)
    }

    fn __repr__(&self) -> String {
        let p = self.p();
        format!(
            "TokenPixel(seq={}, agent_id={:?}, corridor={:?}, hash={:?})",
            p.seq(),
            p.agent_id(),
            p.corridor().as_str(),
            p.hash().short(12)
        )
    }

    fn __str__(&self) -> &str {
        self.p().to_json()
    }
}

/// Converts one item of a pixel list: a TokenPixel, a dict or a JSON string.
fn pixel_from_any(item: &Bound<'_, PyAny>) -> Result<Pixel, core::Error> {
    if let Ok(p) = item.cast::<PyPixel>() {
        return Ok(p.get().p().clone());
    }
    if let Ok(s) = item.cast::<PyString>() {
        let text = s
            .to_cow()
            .map_err(|_| core::host::unsupported("str with lone surrogates", "$"))?;
        return Pixel::from_json(&text);
    }
    Pixel::from_value(to_value(item)?)
}

/// The pixels that converted, and the first item that did not (its index and error).
type Collected = (Vec<Pixel>, Option<(usize, core::Error)>);

/// Collects pixels; stops at the first one that does not convert.
fn collect_pixels(pixels: &Bound<'_, PyAny>) -> PyResult<Collected> {
    let mut out = Vec::new();
    for (i, item) in pixels.try_iter()?.enumerate() {
        match pixel_from_any(&item?) {
            Ok(p) => out.push(p),
            Err(e) => return Ok((out, Some((i, e)))),
        }
    }
    Ok((out, None))
}

/// An emitter for one agent's chain; it keeps only the newest pixel.
#[pyclass(module = "tokenpixel", name = "Chain")]
struct PyChain {
    inner: core::Chain,
}

fn random_session(py: Python<'_>) -> PyResult<String> {
    let uuid = py.import("uuid")?.call_method0("uuid4")?;
    uuid.getattr("hex")?.extract()
}

#[pymethods]
impl PyChain {
    #[new]
    #[pyo3(signature = (agent_id, session_id = None))]
    fn new(
        py: Python<'_>,
        agent_id: &Bound<'_, PyAny>,
        session_id: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<PyChain> {
        let agent_id = args::text(agent_id, "agent_id")?;
        let session = match session_id {
            Some(s) => args::text(s, "session_id")?,
            None => random_session(py)?,
        };
        core::Chain::new(&agent_id, &session)
            .map(|inner| PyChain { inner })
            .map_err(py_err(py))
    }

    /// Continues an existing chain after verifying it (pixels: TokenPixel, dict or JSON str).
    #[staticmethod]
    #[pyo3(signature = (pixels, *, anchor = None, session_id = None))]
    fn resume(
        py: Python<'_>,
        pixels: &Bound<'_, PyAny>,
        anchor: Option<&str>,
        session_id: Option<String>,
    ) -> PyResult<PyChain> {
        let anchor = parse_anchor(py, anchor)?;
        let (pixels, failed) = collect_pixels(pixels)?;
        if let Some((_, e)) = failed {
            return Err(to_pyerr(py, &e));
        }
        py.detach(|| core::Chain::resume(&pixels, anchor, session_id.as_deref()))
            .map(|inner| PyChain { inner })
            .map_err(py_err(py))
    }

    /// Emits the next pixel. Surface values left out (or None) carry forward from the head
    /// (`event_delta` defaults to 0); `context` and `intent_hash` given as None are cleared.
    /// `timestamp_ms` defaults to now (never before the head).
    #[pyo3(signature = (corridor, *, state = None, context = Given::Unset, timestamp_ms = None,
        autonomy_index = None, intent_hash = Given::Unset, event_delta = None, state_vector = None))]
    #[allow(clippy::too_many_arguments)]
    fn emit(
        &mut self,
        py: Python<'_>,
        corridor: &Bound<'_, PyAny>,
        state: Option<&Bound<'_, PyAny>>,
        context: Given<'_>,
        timestamp_ms: Option<&Bound<'_, PyAny>>,
        autonomy_index: Option<&Bound<'_, PyAny>>,
        intent_hash: Given<'_>,
        event_delta: Option<&Bound<'_, PyAny>>,
        state_vector: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<PyPixel> {
        let value = |v: Option<&Bound<'_, PyAny>>, key: &str| -> PyResult<Option<Value>> {
            v.map(|x| to_value_at(x, key).map_err(py_err(py)))
                .transpose()
        };
        let context = match context {
            Given::Unset => None,
            Given::Null => Some(Value::Null),
            Given::Value(v) => value(Some(&v), "context")?,
        };
        let intent_hash = match intent_hash {
            Given::Unset => None,
            Given::Null => Some(None),
            Given::Value(v) => Some(Some(args::text(&v, "intent_hash")?)),
        };
        let timestamp_ms = args::opt_uint(timestamp_ms, "timestamp_ms", core::MAX_TIMESTAMP_MS)?;
        let e = Emit {
            timestamp_ms: timestamp_ms.unwrap_or_else(|| self.inner.timestamp_for(now_ms())),
            corridor: args::text(corridor, "corridor")?,
            state: value(state, "state")?,
            context,
            autonomy_index: autonomy_index
                .map(|a| args::number(a, "autonomy_index"))
                .transpose()?,
            intent_hash,
            event_delta: args::opt_uint(event_delta, "event_delta", core::MAX_SAFE_INTEGER)?,
            state_vector: value(state_vector, "stateVector")?,
        };
        self.inner
            .emit(e)
            .map(|p| PyPixel::new(p.clone()))
            .map_err(py_err(py))
    }

    #[getter]
    fn agent_id(&self) -> &str {
        self.inner.agent_id()
    }
    #[getter]
    fn session_id(&self) -> &str {
        self.inner.session_id()
    }
    /// The newest pixel, or None before the first emit.
    #[getter]
    fn head(&self) -> Option<PyPixel> {
        self.inner.head().cloned().map(PyPixel::new)
    }
    /// The hash the next pixel links to.
    #[getter]
    fn head_hash(&self) -> String {
        self.inner.head_hash().to_string()
    }
    #[getter]
    fn next_seq(&self) -> u64 {
        self.inner.next_seq()
    }

    fn __repr__(&self) -> String {
        format!(
            "Chain(agent_id={:?}, session_id={:?}, next_seq={})",
            self.inner.agent_id(),
            self.inner.session_id(),
            self.inner.next_seq()
        )
    }
}

/// Where and why verification failed.
#[pyclass(frozen, module = "tokenpixel", name = "VerifyError", get_all)]
#[derive(Clone)]
struct PyVerifyError {
    code: String,
    index: u64,
    line: Option<u64>,
    /// 1-based column (characters) in the line, for syntax and I-JSON errors.
    column: Option<u64>,
    /// The JSON path inside the pixel (`$.prevHash`, `$.state.x`), where there is one.
    path: Option<String>,
    message: String,
    reason: Option<String>,
}

#[pymethods]
impl PyVerifyError {
    fn __repr__(&self) -> String {
        let opt = |v: Option<String>| v.unwrap_or_else(|| "None".to_owned());
        format!(
            "VerifyError(code={:?}, index={}, line={}, column={}, path={}, message={:?})",
            self.code,
            self.index,
            opt(self.line.map(|l| l.to_string())),
            opt(self.column.map(|c| c.to_string())),
            opt(self.path.as_ref().map(|p| format!("{p:?}"))),
            self.message
        )
    }
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        d.set_item("code", &self.code)?;
        d.set_item("index", self.index)?;
        d.set_item("line", self.line)?;
        d.set_item("column", self.column)?;
        d.set_item("path", &self.path)?;
        d.set_item("message", &self.message)?;
        d.set_item("reason", &self.reason)?;
        Ok(d)
    }
}

/// The outcome of verifying a chain. Truthy when ok.
#[pyclass(frozen, module = "tokenpixel", name = "VerifyReport", get_all)]
struct PyVerifyReport {
    ok: bool,
    count: u64,
    head: String,
    error: Option<PyVerifyError>,
}

impl PyVerifyReport {
    fn from_core(r: core::VerifyReport) -> PyVerifyReport {
        PyVerifyReport {
            ok: r.ok,
            count: r.count,
            head: r.head.to_string(),
            error: r.error.map(|f| PyVerifyError {
                code: f.code().to_owned(),
                index: f.index,
                line: f.line,
                column: f.error.position().map(|p| p.column as u64),
                path: f.error.path().map(str::to_owned),
                message: f.message(),
                reason: f.error.reason().map(str::to_owned),
            }),
        }
    }
}

#[pymethods]
impl PyVerifyReport {
    fn __bool__(&self) -> bool {
        self.ok
    }
    fn __repr__(&self) -> String {
        match &self.error {
            None => format!(
                "VerifyReport(ok=True, count={}, head={:?})",
                self.count, self.head
            ),
            Some(e) => format!(
                "VerifyReport(ok=False, count={}, error={})",
                self.count,
                e.__repr__()
            ),
        }
    }
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        d.set_item("ok", self.ok)?;
        d.set_item("count", self.count)?;
        d.set_item("head", &self.head)?;
        match &self.error {
            Some(e) => d.set_item("error", e.to_dict(py)?)?,
            None => d.set_item("error", py.None())?,
        }
        Ok(d)
    }
}

/// Verifies pixels in order (TokenPixel, dict or JSON str items). Never raises for bad
/// pixels: the report names the first bad one.
#[pyfunction]
#[pyo3(signature = (pixels, anchor = None))]
fn verify(
    py: Python<'_>,
    pixels: &Bound<'_, PyAny>,
    anchor: Option<&str>,
) -> PyResult<PyVerifyReport> {
    let anchor = parse_anchor(py, anchor)?;
    let (pixels, failed) = collect_pixels(pixels)?;
    let report = py.detach(|| core::verify(&pixels, anchor));
    Ok(PyVerifyReport::from_core(report.with_unreadable(failed)))
}

/// Verifies JSONL (one canonical pixel per line) given as bytes or str. `jobs` threads check
/// and hash lines in parallel (0: one per core); the report is the same for any `jobs`.
#[pyfunction]
#[pyo3(signature = (data, anchor = None, *, jobs = 1))]
fn verify_jsonl(
    py: Python<'_>,
    data: &Bound<'_, PyAny>,
    anchor: Option<&str>,
    jobs: i64,
) -> PyResult<PyVerifyReport> {
    let anchor = parse_anchor(py, anchor)?;
    let jobs = jobs_of(py, jobs)?;
    let report = if let Ok(s) = data.extract::<PyBackedStr>() {
        py.detach(|| core::verify_jsonl_jobs(s.as_bytes(), anchor, jobs))
    } else {
        let b: PyBackedBytes = data.extract()?;
        py.detach(|| core::verify_jsonl_jobs(&b, anchor, jobs))
    };
    Ok(PyVerifyReport::from_core(report))
}

/// `jobs` as a thread count: 0 or more (0: one per core).
fn jobs_of(py: Python<'_>, jobs: i64) -> PyResult<usize> {
    usize::try_from(jobs).map_err(|_| {
        to_pyerr(
            py,
            &core::Error::InvalidArgument {
                detail: format!("jobs must be 0 (one per core) or more, got {jobs}"),
            },
        )
    })
}

/// A streaming JSONL verifier: feed() chunks of bytes, then finish().
#[pyclass(module = "tokenpixel", name = "JsonlVerifier")]
struct PyJsonlVerifier {
    inner: Option<core::JsonlVerifier>,
    /// The count at `finish()`, kept for `count` afterwards.
    finished: u64,
}

impl PyJsonlVerifier {
    fn live(&mut self, py: Python<'_>) -> PyResult<&mut core::JsonlVerifier> {
        self.inner.as_mut().ok_or_else(|| {
            to_pyerr(
                py,
                &core::Error::InvalidArgument {
                    detail: "this verifier is finished".into(),
                },
            )
        })
    }
}

#[pymethods]
impl PyJsonlVerifier {
    #[new]
    #[pyo3(signature = (anchor = None, *, jobs = 1))]
    fn new(py: Python<'_>, anchor: Option<&str>, jobs: i64) -> PyResult<PyJsonlVerifier> {
        Ok(PyJsonlVerifier {
            inner: Some(core::JsonlVerifier::with_jobs(
                parse_anchor(py, anchor)?,
                jobs_of(py, jobs)?,
            )),
            finished: 0,
        })
    }

    fn feed(&mut self, py: Python<'_>, chunk: PyBackedBytes) -> PyResult<()> {
        let v = self.live(py)?;
        py.detach(|| v.feed(&chunk));
        Ok(())
    }

    #[getter]
    fn failed(&self) -> bool {
        self.inner.as_ref().is_some_and(|v| v.failed())
    }

    #[getter]
    fn count(&self) -> u64 {
        self.inner.as_ref().map_or(self.finished, |v| v.count())
    }

    fn finish(&mut self, py: Python<'_>) -> PyResult<PyVerifyReport> {
        self.live(py)?;
        let v = self.inner.take().expect("checked above");
        let report = v.finish();
        self.finished = report.count;
        Ok(PyVerifyReport::from_core(report))
    }
}

/// A structured diff between two pixels: `to_dict()` (JSON form) and `render()` (for people).
#[pyclass(frozen, module = "tokenpixel", name = "Diff")]
struct PyDiff {
    inner: core::Diff,
}

#[pymethods]
impl PyDiff {
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, self.inner.value())
    }
    fn render(&self) -> String {
        self.inner.render()
    }
    fn __str__(&self) -> String {
        self.inner.render()
    }
    fn __repr__(&self) -> String {
        let hash = |k: &str| {
            self.inner
                .value()
                .get(k)
                .and_then(|e| e.get("hash"))
                .and_then(Value::as_str)
                .map(|h| h[7..19].to_owned())
                .unwrap_or_default()
        };
        format!("Diff(from={:?}, to={:?})", hash("from"), hash("to"))
    }
}

fn one_pixel(py: Python<'_>, item: &Bound<'_, PyAny>) -> PyResult<Pixel> {
    pixel_from_any(item).map_err(py_err(py))
}

/// What changed from pixel `a` to pixel `b` (TokenPixel, dict or JSON str).
#[pyfunction]
fn diff(py: Python<'_>, a: &Bound<'_, PyAny>, b: &Bound<'_, PyAny>) -> PyResult<PyDiff> {
    let (a, b) = (one_pixel(py, a)?, one_pixel(py, b)?);
    Ok(PyDiff {
        inner: core::diff(&a, &b),
    })
}

/// First-to-last diff over a run of pixels, with every corridor crossed in between.
#[pyfunction]
fn diff_range(py: Python<'_>, pixels: &Bound<'_, PyAny>) -> PyResult<PyDiff> {
    let (pixels, failed) = collect_pixels(pixels)?;
    if let Some((_, e)) = failed {
        return Err(to_pyerr(py, &e));
    }
    core::diff_range(&pixels)
        .map(|inner| PyDiff { inner })
        .map_err(py_err(py))
}

/// A token-budgeted summary of a pixel; it always names the source pixel's hash.
#[pyclass(frozen, module = "tokenpixel", name = "Summary", get_all)]
struct PySummary {
    text: String,
    tokens: usize,
    source_hash: String,
    level: String,
    focus: String,
    omitted: Vec<String>,
}

#[pymethods]
impl PySummary {
    fn __str__(&self) -> &str {
        &self.text
    }
    fn __repr__(&self) -> String {
        format!(
            "Summary(level={:?}, focus={:?}, tokens={}, source_hash={:?})",
            self.level, self.focus, self.tokens, self.source_hash
        )
    }
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        d.set_item("text", &self.text)?;
        d.set_item("tokens", self.tokens)?;
        d.set_item("sourceHash", &self.source_hash)?;
        d.set_item("level", &self.level)?;
        d.set_item("focus", &self.focus)?;
        d.set_item("omitted", self.omitted.clone())?;
        Ok(d)
    }
}

/// Summarizes a pixel for a sub-agent or a new session.
#[pyfunction]
#[pyo3(signature = (pixel, level = None, *, for_task = None, relevant_keys = None, max_tokens = None))]
fn summarize(
    py: Python<'_>,
    pixel: &Bound<'_, PyAny>,
    level: Option<&Bound<'_, PyAny>>,
    for_task: Option<&Bound<'_, PyAny>>,
    relevant_keys: Option<&Bound<'_, PyAny>>,
    max_tokens: Option<&Bound<'_, PyAny>>,
) -> PyResult<PySummary> {
    let p = one_pixel(py, pixel)?;
    let level = match level {
        Some(l) => args::text(l, "level")?,
        None => "compact".to_owned(),
    };
    let level = core::Level::parse(&level).map_err(py_err(py))?;
    let for_task = for_task.map(|t| args::text(t, "for_task")).transpose()?;
    let relevant_keys = match relevant_keys {
        None => None,
        Some(keys) => Some(
            keys.try_iter()
                .map_err(|_| error::argument_error(py, "relevant_keys must be a list of str"))?
                .map(|k| args::text(&k?, "relevant_keys[]"))
                .collect::<PyResult<Vec<String>>>()?,
        ),
    };
    let max_tokens =
        args::opt_uint(max_tokens, "max_tokens", core::MAX_SAFE_INTEGER)?.map(|n| n as usize);
    let s = core::summarize(
        &p,
        &core::SummaryOptions {
            level: Some(level),
            for_task,
            relevant_keys,
            max_tokens,
        },
    );
    Ok(PySummary {
        text: s.text,
        tokens: s.tokens,
        source_hash: s.source_hash,
        level: s.level.name().to_owned(),
        focus: s.focus.to_owned(),
        omitted: s.omitted,
    })
}

/// Estimated tokens of a text (the same estimate the summarizer budgets with).
#[pyfunction]
fn estimate_tokens(text: &str) -> usize {
    core::estimate_tokens(text)
}

/// Validates a corridor; returns it unchanged or raises SchemaError (INVALID_CORRIDOR).
#[pyfunction]
fn validate_corridor(py: Python<'_>, corridor: String) -> PyResult<String> {
    core::Corridor::validate(&corridor).map_err(py_err(py))?;
    Ok(corridor)
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("GENESIS_HASH", core::GENESIS_HASH)?;
    m.add("SCHEMA_VERSION", core::SCHEMA_VERSION)?;
    m.add("ERROR_CODES", core::ALL_CODES.to_vec())?;
    error::register(m)?;
    store::register(m)?;
    pipeline::register(m)?;
    tlog::register(m)?;
    m.add_class::<PyPixel>()?;
    m.add_class::<PyChain>()?;
    m.add_class::<PyVerifyReport>()?;
    m.add_class::<PyVerifyError>()?;
    m.add_class::<PyJsonlVerifier>()?;
    m.add_function(wrap_pyfunction!(canonicalize, m)?)?;
    m.add_function(wrap_pyfunction!(canonical_json, m)?)?;
    m.add_function(wrap_pyfunction!(verify, m)?)?;
    m.add_function(wrap_pyfunction!(verify_jsonl, m)?)?;
    m.add_function(wrap_pyfunction!(validate_corridor, m)?)?;
    m.add_class::<PyDiff>()?;
    m.add_class::<PySummary>()?;
    m.add_function(wrap_pyfunction!(diff, m)?)?;
    m.add_function(wrap_pyfunction!(diff_range, m)?)?;
    m.add_function(wrap_pyfunction!(summarize, m)?)?;
    m.add_function(wrap_pyfunction!(estimate_tokens, m)?)?;
    Ok(())
}
