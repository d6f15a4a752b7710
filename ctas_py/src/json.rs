//! JSON-shaped values (reports, evidence, warninglists) between Python and the core.

use pyo3::prelude::*;
use pyo3::types::PyString;
use serde_json::Value;

use crate::error::argument;

/// `obj` as JSON: a `str` is parsed as JSON text, anything else (dicts, lists, numbers)
/// is read as it stands.
pub(crate) fn value(obj: &Bound<'_, PyAny>, name: &str) -> PyResult<Value> {
    if let Ok(s) = obj.cast::<PyString>() {
        return serde_json::from_str(s.to_str()?).map_err(|e| argument(name, e));
    }
    pythonize::depythonize(obj).map_err(|e| argument(name, e))
}

/// `v` as Python dicts, lists and scalars.
pub(crate) fn to_python<'py>(py: Python<'py>, v: &Value) -> PyResult<Bound<'py, PyAny>> {
    pythonize::pythonize(py, v).map_err(PyErr::from)
}
