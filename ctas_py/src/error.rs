//! Errors of the core as Python exceptions.

use std::fmt::Display;

use pyo3::create_exception;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyString;

// A ValueError, so that `except ValueError` catches it as it catches the standard
// library's refusals; its own class so that a caller can tell CTAS's from others'.
create_exception!(
    ctas,
    CtasError,
    PyValueError,
    "An argument CTAS cannot use; the message names it and says why."
);

/// The core's error as a `CtasError` carrying its message (which names the argument).
pub(crate) fn refused(e: impl Display) -> PyErr {
    CtasError::new_err(e.to_string())
}

/// `CtasError` for the argument `name`, whose trouble the core cannot see (lengths of
/// two arrays that must match, a value of the wrong shape).
pub(crate) fn argument(name: &str, why: impl Display) -> PyErr {
    CtasError::new_err(format!("{name}: {why}"))
}

/// `s` as Python's `repr` writes it, for `__repr__`s.
pub(crate) fn repr(py: Python<'_>, s: &str) -> PyResult<String> {
    Ok(PyString::new(py, s).repr()?.to_str()?.to_owned())
}
