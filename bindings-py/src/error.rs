//! Maps core errors to Python exceptions: `TokenPixelError(ValueError)` with one subclass per
//! family, each instance carrying the stable `.code` (and `.reason` for NOT_I_JSON).

use pyo3::create_exception;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use tokenpixel_core::{Error, Family};

create_exception!(
    tokenpixel,
    TokenPixelError,
    PyValueError,
    "Base class of every tokenpixel error; `.code` holds the stable error code."
);
create_exception!(
    tokenpixel,
    JsonError,
    TokenPixelError,
    "Input is not acceptable JSON: MALFORMED_JSON, NOT_I_JSON, LIMIT_EXCEEDED, UNSUPPORTED_TYPE, NOT_CANONICAL."
);
create_exception!(
    tokenpixel,
    SchemaError,
    TokenPixelError,
    "A pixel breaks schema v1: SCHEMA_VIOLATION, UNKNOWN_SCHEMA_VERSION, INVALID_CORRIDOR."
);
create_exception!(
    tokenpixel,
    ChainError,
    TokenPixelError,
    "A chain does not verify: HASH_MISMATCH, BROKEN_LINK, SEQUENCE_GAP, ..."
);
create_exception!(
    tokenpixel,
    ArgumentError,
    TokenPixelError,
    "An argument is out of its domain: INVALID_ARGUMENT."
);
create_exception!(
    tokenpixel,
    StoreError,
    TokenPixelError,
    "A store operation failed: CHAIN_CONFLICT, STORE_LOCKED, STORE_IO, STORE_CORRUPT, UNSAFE_PATH, NOT_FOUND, AMBIGUOUS_KEY."
);

create_exception!(
    tokenpixel,
    SignatureError,
    TokenPixelError,
    "A signed note, checkpoint or proof failed: MALFORMED_NOTE, UNKNOWN_KEY, BAD_SIGNATURE, ORIGIN_MISMATCH, TRUNCATED, ROOT_MISMATCH, PROOF_INVALID."
);

/// The Python exception for a core error.
pub fn to_pyerr(py: Python<'_>, e: &Error) -> PyErr {
    with_code(py, e.family(), e.to_string(), e.code(), e.reason())
}

/// An exception of `family`'s class carrying `code` and `reason`.
pub fn with_code(
    py: Python<'_>,
    family: Family,
    message: String,
    code: &str,
    reason: Option<&str>,
) -> PyErr {
    let err = match family {
        Family::Json => JsonError::new_err(message),
        Family::Schema => SchemaError::new_err(message),
        Family::Chain => ChainError::new_err(message),
        Family::Argument => ArgumentError::new_err(message),
        Family::Store => StoreError::new_err(message),
        Family::Signature => SignatureError::new_err(message),
    };
    let value = err.value(py);
    // Setting attributes on a fresh exception instance cannot fail in practice; if it did,
    // the exception would still carry its message.
    let _ = value.setattr("code", code);
    let _ = value.setattr("reason", reason);
    err
}

/// An `ArgumentError` (INVALID_ARGUMENT) with `message`.
pub fn argument_error(py: Python<'_>, message: impl Into<String>) -> PyErr {
    with_code(
        py,
        Family::Argument,
        message.into(),
        "INVALID_ARGUMENT",
        None,
    )
}

/// `?`-friendly conversion: `core_result.map_err(py_err(py))`.
pub fn py_err(py: Python<'_>) -> impl Fn(Error) -> PyErr + '_ {
    move |e| to_pyerr(py, &e)
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("TokenPixelError", py.get_type::<TokenPixelError>())?;
    m.add("JsonError", py.get_type::<JsonError>())?;
    m.add("SchemaError", py.get_type::<SchemaError>())?;
    m.add("ChainError", py.get_type::<ChainError>())?;
    m.add("ArgumentError", py.get_type::<ArgumentError>())?;
    m.add("StoreError", py.get_type::<StoreError>())?;
    m.add("SignatureError", py.get_type::<SignatureError>())?;
    Ok(())
}
