//! The store-format rules of the core (`docs/SPEC.md` section 12) for the Python stores: the
//! stores in `tokenpixel/store.py` do the IO and call these for every decision.

use pyo3::prelude::*;
use pyo3::pybacked::PyBackedBytes;
use pyo3::types::{PyBool, PyInt, PyString, PyTuple};
use tokenpixel_core::store::{self, Key};
use tokenpixel_core::{Digest, Family, Pixel};

use crate::error::{argument_error, py_err, with_code};
use crate::{parse_anchor, text_arg, PyPixel};

/// A TokenPixelError subclass for any SPEC code, with `.code` set (`.reason` None).
#[pyfunction]
fn make_error(py: Python<'_>, code: &str, message: String) -> PyResult<Py<PyAny>> {
    let family = Family::of_code(code)
        .ok_or_else(|| argument_error(py, format!("{code:?} is not a tokenpixel error code")))?;
    Ok(with_code(py, family, message, code, None)
        .into_value(py)
        .into_any())
}

/// Raises ArgumentError (INVALID_ARGUMENT) unless `agent_id` may name a chain in a store.
#[pyfunction]
fn validate_agent_id(py: Python<'_>, agent_id: &Bound<'_, PyAny>) -> PyResult<()> {
    let Ok(text) = agent_id.cast::<PyString>() else {
        return Err(argument_error(
            py,
            format!("an agent id is a str, got {}", agent_id.get_type().name()?),
        ));
    };
    let text = text_arg(py, text)?;
    store::validate_agent_id(&text).map_err(py_err(py))
}

/// `("seq", n)` or `("prefix", "<lowercase hex>")` for a key as `get` accepts it.
#[pyfunction]
fn parse_key<'py>(py: Python<'py>, key: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyTuple>> {
    let parsed = if key.is_instance_of::<PyBool>() {
        return Err(argument_error(
            py,
            "a pixel key is a seq (int) or a str, not a bool",
        ));
    } else if let Ok(i) = key.cast::<PyInt>() {
        let n = i.extract::<i128>().unwrap_or(i128::MAX);
        store::seq_key(n)
    } else if let Ok(s) = key.cast::<PyString>() {
        store::parse_key(&text_arg(py, s)?)
    } else {
        return Err(argument_error(
            py,
            format!(
                "a pixel key is a seq (int) or a str, got {}",
                key.get_type().name()?
            ),
        ));
    }
    .map_err(py_err(py))?;
    match parsed {
        Key::Seq(n) => PyTuple::new(
            py,
            [
                ("seq").into_pyobject(py)?.into_any(),
                n.into_pyobject(py)?.into_any(),
            ],
        ),
        Key::Prefix(p) => PyTuple::new(
            py,
            [
                ("prefix").into_pyobject(py)?.into_any(),
                p.into_pyobject(py)?.into_any(),
            ],
        ),
    }
}

/// Checks that `line` (a str or a TokenPixel) may be appended after the stored `head` (None
/// for an empty chain) with the recorded `anchor`; returns the pixel. `head` is the stored
/// line (checked here), or a TokenPixel this writer appended or checked before (trusted: the
/// fast path of a writer that keeps its head). Raises the SPEC code: CHAIN_CONFLICT when the
/// line does not extend the head, the head's own code when the stored head fails its checks,
/// the line's code when it is not a valid canonical pixel.
#[pyfunction]
#[pyo3(signature = (head, anchor, line, *, first_seq = None))]
fn check_append(
    py: Python<'_>,
    head: Option<&Bound<'_, PyAny>>,
    anchor: Option<&str>,
    line: &Bound<'_, PyAny>,
    first_seq: Option<u64>,
) -> PyResult<PyPixel> {
    let anchor = parse_anchor(py, anchor)?;
    let trusted = match head {
        Some(h) => h.cast::<PyPixel>().ok().map(|p| p.get().p().clone()),
        None => None,
    };
    let head = match (head, &trusted) {
        (Some(h), None) => match h.cast::<PyString>() {
            Ok(text) => Some(text_arg(py, text)?),
            Err(_) => {
                return Err(argument_error(
                    py,
                    "head must be a str, a TokenPixel or None",
                ))
            }
        },
        _ => None,
    };
    if let Ok(p) = line.cast::<PyPixel>() {
        let p = p.get().p().clone();
        py.detach(|| match (&head, &trusted) {
            (Some(text), _) => store::check_append_at(Some(text), anchor, first_seq, p.to_json()),
            (None, head) => store::check_append_pixel(head.as_ref(), anchor, first_seq, &p),
        })
        .map_err(py_err(py))?;
        return Ok(PyPixel::new(p));
    }
    let Ok(text) = line.cast::<PyString>() else {
        return Err(argument_error(py, "line must be a str or a TokenPixel"));
    };
    let text = text_arg(py, text)?;
    py.detach(|| {
        let head = head.as_deref().or(trusted.as_ref().map(Pixel::to_json));
        store::check_append_at(head, anchor, first_seq, &text)?;
        Pixel::from_json(&text)
    })
    .map(PyPixel::new)
    .map_err(py_err(py))
}

/// True when a torn tail (the bytes after the last newline) is a whole pixel extending
/// `previous` that only lost its newline.
#[pyfunction]
#[pyo3(signature = (previous, tail, anchor = None))]
fn classify_tail(
    py: Python<'_>,
    previous: Option<&Bound<'_, PyString>>,
    tail: PyBackedBytes,
    anchor: Option<&str>,
) -> PyResult<bool> {
    let anchor = parse_anchor(py, anchor)?;
    let previous = previous.map(|h| text_arg(py, h)).transpose()?;
    Ok(py.detach(|| store::classify_tail(previous.as_deref(), &tail, anchor)))
}

/// The anchor file's line (no newline) for a chain pruned to start at `first_seq`, with the
/// pruned prefix's frontier (base64 nodes) when given.
#[pyfunction]
#[pyo3(signature = (anchor, first_seq, pruned_at_ms, frontier=None))]
fn anchor_record(
    py: Python<'_>,
    anchor: &str,
    first_seq: u64,
    pruned_at_ms: u64,
    frontier: Option<Vec<String>>,
) -> PyResult<String> {
    let anchor = Digest::parse_arg(anchor, "anchor").map_err(py_err(py))?;
    let nodes = match &frontier {
        None => None,
        Some(texts) => {
            let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
            Some(store::parse_frontier(first_seq, &refs).map_err(py_err(py))?)
        }
    };
    Ok(store::anchor_record_with(
        anchor,
        first_seq,
        pruned_at_ms,
        nodes.as_deref(),
    ))
}

/// `(anchor, first_seq, frontier)` from an anchor file's bytes (`frontier`: base64 nodes, or
/// None in records written before it was kept); StoreError STORE_CORRUPT otherwise.
#[pyfunction]
fn parse_anchor_record(
    py: Python<'_>,
    data: PyBackedBytes,
) -> PyResult<(String, u64, Option<Vec<String>>)> {
    let r = store::parse_anchor(&data).map_err(py_err(py))?;
    let frontier = r.frontier.map(|nodes| {
        nodes
            .iter()
            .map(|h| tokenpixel_core::tlog::b64(h))
            .collect()
    });
    Ok((r.anchor.to_string(), r.first_seq, frontier))
}

/// The message of the NotFoundError of `get(agent, key)` (SPEC 12.6), the same in every store
/// and language. `key` is the key as the caller gave it (an int or a str).
#[pyfunction]
fn pixel_not_found_message(
    py: Python<'_>,
    agent: &str,
    key: &Bound<'_, PyAny>,
) -> PyResult<String> {
    let (text, given_as_text) = match key.cast::<PyString>() {
        Ok(s) => (text_arg(py, s)?.to_string(), true),
        Err(_) => (text_arg(py, &key.str()?)?.to_string(), false),
    };
    Ok(store::pixel_not_found(agent, &text, given_as_text).to_string())
}

/// The frontier column text (SQLite, PostgreSQL): the checked JSON array of base64 nodes.
#[pyfunction]
fn frontier_text(py: Python<'_>, first_seq: u64, nodes: Vec<String>) -> PyResult<String> {
    let refs: Vec<&str> = nodes.iter().map(String::as_str).collect();
    store::frontier_text(first_seq, &refs).map_err(py_err(py))
}

/// A frontier column read back: its base64 nodes; StoreError STORE_CORRUPT otherwise.
#[pyfunction]
fn parse_frontier_text(py: Python<'_>, first_seq: u64, text: &str) -> PyResult<Vec<String>> {
    let nodes = store::parse_frontier_text(first_seq, text).map_err(py_err(py))?;
    Ok(nodes
        .iter()
        .map(|h| tokenpixel_core::tlog::b64(h))
        .collect())
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("MAX_LINE_BYTES", store::MAX_LINE_BYTES)?;
    m.add("PG_MIGRATIONS", PyTuple::new(m.py(), store::PG_MIGRATIONS)?)?;
    m.add("PG_SETUP_LOCK", store::PG_SETUP_LOCK)?;
    m.add_function(wrap_pyfunction!(make_error, m)?)?;
    m.add_function(wrap_pyfunction!(validate_agent_id, m)?)?;
    m.add_function(wrap_pyfunction!(parse_key, m)?)?;
    m.add_function(wrap_pyfunction!(check_append, m)?)?;
    m.add_function(wrap_pyfunction!(classify_tail, m)?)?;
    m.add_function(wrap_pyfunction!(anchor_record, m)?)?;
    m.add_function(wrap_pyfunction!(parse_anchor_record, m)?)?;
    m.add_function(wrap_pyfunction!(frontier_text, m)?)?;
    m.add_function(wrap_pyfunction!(parse_frontier_text, m)?)?;
    m.add_function(wrap_pyfunction!(pixel_not_found_message, m)?)?;
    Ok(())
}
