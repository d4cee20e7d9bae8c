//! Pipeline naming (the CI/CD seed's districts and corridors), built and checked by the core.

use pyo3::prelude::*;
use pyo3::types::{PyBool, PyInt, PyString};
use tokenpixel_core::{Corridor, DISTRICTS};

use crate::args;
use crate::error::{argument_error, py_err};

/// `DISTRICT_<n>.CHAMBER_<X>.NODE_<Y>` from its parts, or the stage prefix
/// `DISTRICT_<n>.CHAMBER_<X>` when `node` is None. `district` is a number, `DISTRICT_<n>` or a
/// `District`; chamber and node names are upper-cased and other characters than A-Z 0-9 _
/// become `_`, so dynamic parts fit. Raises SchemaError INVALID_CORRIDOR when the result is
/// not a corridor.
#[pyfunction]
#[pyo3(signature = (district, chamber, node = None))]
fn corridor(
    py: Python<'_>,
    district: &Bound<'_, PyAny>,
    chamber: &Bound<'_, PyAny>,
    node: Option<&Bound<'_, PyAny>>,
) -> PyResult<String> {
    let number = if district.is_instance_of::<PyInt>() && !district.is_instance_of::<PyBool>() {
        args::uint(district, "district", 999_999_999)? as u32
    } else if let Ok(s) = district.cast::<PyString>() {
        Corridor::district_number(&s.to_cow()?).map_err(py_err(py))?
    } else {
        return Err(argument_error(
            py,
            "district must be an int, a str or a District",
        ));
    };
    let chamber = args::text(chamber, "chamber")?;
    match node {
        Some(node) => Corridor::build(number, &chamber, &args::text(node, "node")?)
            .map(|c| c.as_str().to_owned())
            .map_err(py_err(py)),
        None => Corridor::build_prefix(number, &chamber).map_err(py_err(py)),
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let districts: Vec<(u32, &str, &str)> = DISTRICTS
        .iter()
        .map(|d| (d.number, d.name, d.purpose))
        .collect();
    m.add("DISTRICTS", districts)?;
    m.add_function(wrap_pyfunction!(corridor, m)?)?;
    Ok(())
}
