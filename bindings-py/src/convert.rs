//! Python values <-> core JSON values. Only dict, list, str, int, float, bool and None go in;
//! anything else is refused with the offending value's JSON path.

use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString};
use tokenpixel_core::host::{render, Step};
use tokenpixel_core::{host, Error, Map, Value, MAX_DEPTH};

/// Converts a Python value to JSON; `root` names it in error paths (`$` for a whole value).
pub fn to_value(obj: &Bound<'_, PyAny>) -> Result<Value, Error> {
    let mut path = Vec::new();
    convert(obj, &mut path)
}

/// Like [`to_value`], but errors name the value as a member of the pixel (`$.state...`).
pub fn to_value_at(obj: &Bound<'_, PyAny>, key: &str) -> Result<Value, Error> {
    let mut path = vec![Step::Key(key.to_owned())];
    convert(obj, &mut path)
}

fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "object".to_owned())
}

extern "C" {
    // Part of the stable ABI from Python 3.10 (and exported, with this signature, by every
    // CPython 3.x), so calling it only when running on 3.10+ keeps the abi3-py39 promise.
    fn PyUnicode_AsUTF8AndSize(
        unicode: *mut pyo3::ffi::PyObject,
        size: *mut pyo3::ffi::Py_ssize_t,
    ) -> *const std::os::raw::c_char;
}

/// Whether the running interpreter has `PyUnicode_AsUTF8AndSize` in its stable ABI.
fn fast_utf8(py: Python<'_>) -> bool {
    static FAST: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *FAST.get_or_init(|| py.version_info() >= (3, 10))
}

fn string(s: &Bound<'_, PyString>, path: &[Step]) -> Result<String, Error> {
    let lone = || Error::NotIJson {
        reason: tokenpixel_core::IJsonReason::LoneSurrogate,
        detail: format!("string at {} holds a lone surrogate", render(path)),
        at: None,
    };
    if fast_utf8(s.py()) {
        let mut size: pyo3::ffi::Py_ssize_t = 0;
        // SAFETY: `s` is a live str; the returned buffer belongs to it and stays valid while
        // it lives; we copy it out at once. NULL means it cannot be encoded (lone surrogate).
        let data = unsafe { PyUnicode_AsUTF8AndSize(s.as_ptr(), &mut size) };
        if data.is_null() {
            // Clear the UnicodeEncodeError the call raised: we report our own error.
            let _ = PyErr::take(s.py());
            return Err(lone());
        }
        // SAFETY: CPython guarantees `size` bytes of valid UTF-8 at `data` (it encodes with
        // the strict error handler and fails, as handled above, on lone surrogates).
        let text = unsafe {
            std::str::from_utf8_unchecked(std::slice::from_raw_parts(
                data.cast::<u8>(),
                size as usize,
            ))
        };
        return Ok(text.to_owned());
    }
    s.to_cow().map(|c| c.into_owned()).map_err(|_| lone())
}

/// An int: exact within ±2^53; beyond, only when a double holds it exactly (section 3.2).
fn int_value(i: &Bound<'_, PyInt>, path: &[Step]) -> Result<Value, Error> {
    if let Ok(n) = i.extract::<i64>() {
        return host::integer(n.into(), || render(path));
    }
    // Beyond i64: a double that equals the int exactly (Python compares int and float
    // exactly), else lossy. Ints beyond the double range fail the conversion.
    match i.extract::<f64>() {
        Ok(f)
            if PyAnyMethods::eq(i.as_any(), f).unwrap_or(false)
                || host::big_integer_ok(f, || i.to_string()) =>
        {
            host::float(f, || render(path))
        }
        _ => Err(host::lossy(&i.to_string(), &render(path))),
    }
}

fn convert(obj: &Bound<'_, PyAny>, path: &mut Vec<Step>) -> Result<Value, Error> {
    // Exact built-in types first, by type pointer: they are nearly all of any state.
    let ty = obj.get_type_ptr();
    // Only the addresses of the interpreter's static type objects are taken.
    let (str_t, int_t, float_t) = (
        std::ptr::addr_of_mut!(pyo3::ffi::PyUnicode_Type),
        std::ptr::addr_of_mut!(pyo3::ffi::PyLong_Type),
        std::ptr::addr_of_mut!(pyo3::ffi::PyFloat_Type),
    );
    if ty == str_t {
        // SAFETY: the exact type check above.
        return string(unsafe { obj.cast_unchecked::<PyString>() }, path).map(Value::String);
    }
    if ty == int_t {
        // SAFETY: the exact type check above.
        let i = unsafe { obj.cast_unchecked::<PyInt>() };
        return int_value(i, path);
    }
    if ty == float_t {
        // SAFETY: the exact type check above.
        let f = unsafe { obj.cast_unchecked::<PyFloat>() };
        return host::float(f.value(), || render(path));
    }
    if obj.is_none() {
        return Ok(Value::Null);
    }
    if let Ok(b) = obj.cast::<PyBool>() {
        return Ok(Value::Bool(b.is_true()));
    }
    if let Ok(i) = obj.cast::<PyInt>() {
        return int_value(i, path);
    }
    if let Ok(f) = obj.cast::<PyFloat>() {
        return host::float(f.value(), || render(path));
    }
    if let Ok(s) = obj.cast::<PyString>() {
        return string(s, path).map(Value::String);
    }
    if path.len() >= MAX_DEPTH {
        return Err(host::too_deep(&render(path)));
    }
    if let Ok(d) = obj.cast::<PyDict>() {
        let mut entries = Vec::with_capacity(d.len());
        for (k, v) in d.iter() {
            let Ok(ks) = k.cast::<PyString>() else {
                return Err(host::bad_key(&type_name(&k), &render(path)));
            };
            let key = string(ks, path)?;
            path.push(Step::Key(key));
            let value = convert(&v, path)?;
            let Some(Step::Key(key)) = path.pop() else {
                unreachable!("path stack is balanced")
            };
            entries.push((key, value));
        }
        return Map::from_entries(entries)
            .map(Value::Object)
            .map_err(|k| host::unsupported(&format!("duplicate key {k:?}"), &render(path)));
    }
    if let Ok(l) = obj.cast::<PyList>() {
        let mut items = Vec::with_capacity(l.len());
        for (i, v) in l.iter().enumerate() {
            path.push(Step::Index(i));
            items.push(convert(&v, path)?);
            path.pop();
        }
        return Ok(Value::Array(items));
    }
    Err(host::unsupported(&type_name(obj), &render(path)))
}

/// Converts a JSON value to Python: integers within ±2^53 become `int`, other numbers `float`.
pub fn to_py<'py>(py: Python<'py>, v: &Value) -> PyResult<Bound<'py, PyAny>> {
    Ok(match v {
        Value::Null => py.None().into_bound(py),
        Value::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
        // Integers within ±2^53 come back as int; any other number as the float it is (so
        // a value compares equal to what was put in, 2**60 included).
        Value::Number(n) => match n.as_safe_integer() {
            Some(i) => i.into_pyobject(py)?.into_any(),
            None => PyFloat::new(py, n.get()).into_any(),
        },
        Value::String(s) => PyString::new(py, s).into_any(),
        Value::Array(items) => {
            let list = PyList::empty(py);
            for x in items {
                list.append(to_py(py, x)?)?;
            }
            list.into_any()
        }
        Value::Object(m) => map_to_py(py, m)?.into_any(),
    })
}

pub fn map_to_py<'py>(py: Python<'py>, m: &Map) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    for (k, x) in m.iter() {
        d.set_item(k, to_py(py, x)?)?;
    }
    Ok(d)
}
