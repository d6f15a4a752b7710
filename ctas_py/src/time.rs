//! Times between Python and the core: aware datetimes and numpy datetime64 arrays in,
//! microseconds since the Unix epoch inside (the unit of PostgreSQL's timestamptz).

use chrono::{DateTime, Utc};
use numpy::{PyArray1, PyArrayDescrMethods, PyArrayMethods, PyUntypedArray, PyUntypedArrayMethods};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyDateTime;

use crate::error::argument;

/// The Unix epoch as an aware datetime, and one microsecond: `(t - EPOCH) // MICRO` is
/// exact for any aware datetime, whatever its tzinfo (a float timestamp is not).
fn epoch_and_micro(py: Python<'_>) -> PyResult<&(Py<PyAny>, Py<PyAny>)> {
    static CELL: PyOnceLock<(Py<PyAny>, Py<PyAny>)> = PyOnceLock::new();
    CELL.get_or_try_init(py, || {
        let dt = py.import("datetime")?;
        let utc = dt.getattr("timezone")?.getattr("utc")?;
        let epoch = dt
            .getattr("datetime")?
            .call1((1970, 1, 1, 0, 0, 0, 0, utc))?;
        let micro = dt.getattr("timedelta")?.call1((0, 0, 1))?;
        Ok((epoch.unbind(), micro.unbind()))
    })
}

/// An aware datetime in microseconds since the epoch; a naive one is refused, since
/// which instant it means is a guess.
pub(crate) fn micros(t: &Bound<'_, PyAny>, name: &str) -> PyResult<i64> {
    let py = t.py();
    if !t.is_instance_of::<PyDateTime>() {
        return Err(argument(
            name,
            format!("must be a datetime, got {}", t.get_type().name()?),
        ));
    }
    if t.call_method0("utcoffset")?.is_none() {
        return Err(argument(
            name,
            "is a naive datetime; give it a time zone (tzinfo=datetime.timezone.utc)",
        ));
    }
    let (epoch, micro) = epoch_and_micro(py)?;
    t.sub(epoch.bind(py))?.floor_div(micro.bind(py))?.extract()
}

/// An aware datetime as chrono's.
pub(crate) fn instant(t: &Bound<'_, PyAny>, name: &str) -> PyResult<DateTime<Utc>> {
    let us = micros(t, name)?;
    DateTime::from_timestamp_micros(us).ok_or_else(|| argument(name, "is out of range"))
}

/// Times given as a numpy datetime64 array or a sequence of aware datetimes.
pub(crate) fn series(ts: &Bound<'_, PyAny>, name: &str) -> PyResult<Vec<i64>> {
    if let Ok(a) = ts.cast::<PyUntypedArray>() {
        if a.dtype().kind() == b'M' {
            // datetime64 of any unit, as microseconds (NaT would be i64::MIN).
            let us = a
                .call_method1("astype", ("datetime64[us]",))?
                .call_method1("view", ("int64",))?;
            let us = us.cast::<PyArray1<i64>>().map_err(|e| argument(name, e))?;
            let v = us.readonly().as_array().to_vec();
            if let Some(i) = v.iter().position(|&t| t == i64::MIN) {
                return Err(argument(&format!("{name}[{i}]"), "is NaT"));
            }
            return Ok(v);
        }
    }
    ts.try_iter()
        .map_err(|_| {
            argument(
                name,
                "must be a sequence of datetimes or a datetime64 array",
            )
        })?
        .enumerate()
        .map(|(i, t)| micros(&t?, &format!("{name}[{i}]")))
        .collect()
}

/// Microseconds since the epoch as a numpy datetime64[us] array.
pub(crate) fn array<'py>(py: Python<'py>, us: Vec<i64>) -> PyResult<Bound<'py, PyAny>> {
    PyArray1::from_vec(py, us).call_method1("view", ("datetime64[us]",))
}
