//! Strict reading of Python arguments: every bad argument is an `ArgumentError`
//! (INVALID_ARGUMENT) naming the argument, never a bare TypeError or OverflowError, and `bool`
//! is not an integer here.

use pyo3::prelude::*;
use pyo3::types::{PyBool, PyFloat, PyInt, PyString};
use tokenpixel_core::MAX_SAFE_INTEGER;

use crate::error::argument_error;

/// An argument that may be left out, given as None, or given a value. Left out means "carry
/// forward"; None means "clear" (for the nullable pixel fields `context` and `intent_hash`).
pub enum Given<'py> {
    Unset,
    Null,
    Value(Bound<'py, PyAny>),
}

impl<'a, 'py> FromPyObject<'a, 'py> for Given<'py> {
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        Ok(if obj.is_none() {
            Given::Null
        } else {
            Given::Value(obj.to_owned())
        })
    }
}

fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type()
        .name()
        .map_or_else(|_| "object".to_owned(), |n| n.to_string())
}

/// An integer in 0..=max (2^53 - 1 at most). Refuses bool, float and other types.
pub fn uint(obj: &Bound<'_, PyAny>, name: &str, max: u64) -> PyResult<u64> {
    let py = obj.py();
    let bad = || {
        let shown = obj.repr().map_or_else(
            |_| type_name(obj),
            |r| r.to_string_lossy().chars().take(60).collect(),
        );
        argument_error(
            py,
            format!("{name} must be an integer from 0 to {max}, got {shown}"),
        )
    };
    if obj.is_instance_of::<PyBool>() || !obj.is_instance_of::<PyInt>() {
        return Err(bad());
    }
    match obj.extract::<i128>() {
        Ok(n) if (0..=i128::from(max.min(MAX_SAFE_INTEGER))).contains(&n) => Ok(n as u64),
        _ => Err(bad()),
    }
}

/// An optional integer argument (None = not given).
pub fn opt_uint(obj: Option<&Bound<'_, PyAny>>, name: &str, max: u64) -> PyResult<Option<u64>> {
    obj.map(|o| uint(o, name, max)).transpose()
}

/// A number (int or float, not bool); range rules are the core's.
pub fn number(obj: &Bound<'_, PyAny>, name: &str) -> PyResult<f64> {
    if obj.is_instance_of::<PyBool>()
        || !(obj.is_instance_of::<PyInt>() || obj.is_instance_of::<PyFloat>())
    {
        return Err(argument_error(
            obj.py(),
            format!(
                "{name} must be a number (int or float), got {}",
                type_name(obj)
            ),
        ));
    }
    obj.extract::<f64>()
        .map_err(|_| argument_error(obj.py(), format!("{name} is too large for a number")))
}

/// A str argument (UTF-8, no lone surrogates).
pub fn text(obj: &Bound<'_, PyAny>, name: &str) -> PyResult<String> {
    let Ok(s) = obj.cast::<PyString>() else {
        return Err(argument_error(
            obj.py(),
            format!("{name} must be a str, got {}", type_name(obj)),
        ));
    };
    s.to_cow()
        .map(|c| c.into_owned())
        .map_err(|_| argument_error(obj.py(), format!("{name} holds a lone surrogate")))
}
