//! Behaviour over time: anomalies in series of counts, seasonal decomposition, events.

use ctas_core::behaviour::series::{self, Regular};
use ctas_core::behaviour::stl::{self as core_stl, Decomposition, Stl};
use ctas_core::behaviour::{self, events as core_events};
use numpy::{AllowTypeChange, PyArray1, PyArrayLike1};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::error::refused;
use crate::{interrupt, time};

// The signature's default history is written out so that help() shows it.
const _: () = assert!(behaviour::HISTORY == 48);

type Values<'py> = PyArrayLike1<'py, f64, AllowTypeChange>;

/// `ts` and `values` on their grid: the steps missing from `ts` filled with zero.
fn grid(ts: &Bound<'_, PyAny>, values: &Values<'_>) -> PyResult<Regular> {
    let ts = time::series(ts, "ts")?;
    series::regular(&ts, &values.as_array().to_vec(), 0.0).map_err(refused)
}

/// Every point of the series judged: a dict of numpy arrays `ts` (datetime64[us], UTC),
/// `value`, `expected`, `lower`, `upper` (NaN where a point is not judged: too little
/// history), `anomaly_score` in [0, 1] (0.5 at the threshold) and `is_anomaly`.
///
/// `ts`: ascending, evenly spaced (aware datetimes or datetime64); missing steps count
/// zero. `method`: auto, robust_z, ewma, seasonal, esd. `mode`: online (a point is
/// judged by the points before it only) or retrospective (the whole series). `period`
/// in points (None: 24 and 168 for hourly series, 7 for daily; 0: none); `threshold` in
/// robust standard deviations; `history` the points looked back; `counts`: the values
/// are counts, whose spread is at least Poisson's. As `ctas_anomalies` in SQL.
#[pyfunction]
#[pyo3(signature = (ts, values, method="auto", mode="online", period=None, threshold=3.0, history=48, counts=true))]
#[allow(clippy::too_many_arguments)]
fn anomalies<'py>(
    py: Python<'py>,
    ts: &Bound<'py, PyAny>,
    values: Values<'py>,
    method: &str,
    mode: &str,
    period: Option<i32>,
    threshold: f64,
    history: i32,
    counts: bool,
) -> PyResult<Bound<'py, PyDict>> {
    let g = grid(ts, &values)?;
    let o = behaviour::options_named(method, mode, period, g.step, threshold, history, counts)
        .map_err(refused)?;
    let points = interrupt::run(py, || behaviour::anomalies(&g.values, &o))?.map_err(refused)?;
    let col = |f: &dyn Fn(&behaviour::Point) -> Option<f64>| {
        PyArray1::from_iter(py, points.iter().map(|p| f(p).unwrap_or(f64::NAN)))
    };
    let out = PyDict::new(py);
    out.set_item("ts", time::array(py, times(&g))?)?;
    out.set_item("value", PyArray1::from_slice(py, &g.values))?;
    out.set_item("expected", col(&|p| p.expected))?;
    out.set_item("lower", col(&|p| p.lower))?;
    out.set_item("upper", col(&|p| p.upper))?;
    out.set_item("anomaly_score", col(&|p| Some(p.score)))?;
    out.set_item(
        "is_anomaly",
        PyArray1::from_iter(py, points.iter().map(|p| p.is_anomaly)),
    )?;
    Ok(out)
}

fn times(g: &Regular) -> Vec<i64> {
    (0..g.values.len() as i64)
        .map(|i| g.start + i * g.step)
        .collect()
}

/// The behaviour events of a series of counts: a list of `(ts, event, detail)` with
/// event `first_seen`, `burst` (detail: its anomaly score) or `reactivated` (detail:
/// the silent steps before it), after `dormancy` silent steps. As `ctas_events`.
#[pyfunction]
#[pyo3(signature = (ts, values, dormancy=168, method="auto", mode="online", threshold=3.0))]
fn events<'py>(
    py: Python<'py>,
    ts: &Bound<'py, PyAny>,
    values: Values<'py>,
    dormancy: usize,
    method: &str,
    mode: &str,
    threshold: f64,
) -> PyResult<Vec<(Bound<'py, PyAny>, &'static str, f64)>> {
    if dormancy < 1 {
        return Err(crate::error::argument(
            "dormancy",
            "must be at least 1 step, got 0",
        ));
    }
    let g = grid(ts, &values)?;
    let o = behaviour::options_named(
        method,
        mode,
        None,
        g.step,
        threshold,
        behaviour::HISTORY as i32,
        true,
    )
    .map_err(refused)?;
    let found = interrupt::run(py, || {
        behaviour::anomalies(&g.values, &o).map(|j| core_events::events(&g.values, &j, dormancy))
    })?
    .map_err(refused)?;
    let at = time::array(
        py,
        found
            .iter()
            .map(|e| g.start + e.at as i64 * g.step)
            .collect(),
    )?;
    found
        .iter()
        .enumerate()
        .map(|(i, e)| Ok((at.get_item(i)?, e.kind.as_str(), e.detail)))
        .collect()
}

fn decomposition<'py>(py: Python<'py>, d: &Decomposition) -> PyResult<Bound<'py, PyDict>> {
    let out = PyDict::new(py);
    out.set_item("trend", PyArray1::from_slice(py, &d.trend))?;
    out.set_item("seasonal", PyArray1::from_vec(py, d.seasonal_sum()))?;
    out.set_item("resid", PyArray1::from_slice(py, &d.resid))?;
    out.set_item("weights", PyArray1::from_slice(py, &d.weights))?;
    Ok(out)
}

/// STL (Cleveland et al., 1990) of `values` with `period` points per cycle: a dict of
/// numpy arrays `trend`, `seasonal`, `resid`, `weights`. `seasonal`: the seasonal
/// smoother (odd, at least 3); `robust`: bisquare weights. statsmodels' `STL` defaults
/// otherwise, with which it agrees.
#[pyfunction]
#[pyo3(signature = (values, period, seasonal=7, robust=false))]
fn stl<'py>(
    py: Python<'py>,
    values: Values<'py>,
    period: usize,
    seasonal: usize,
    robust: bool,
) -> PyResult<Bound<'py, PyDict>> {
    let y = values.as_array().to_vec();
    let s = Stl {
        seasonal,
        robust,
        ..Stl::new(period)
    };
    let d = interrupt::run(py, || s.fit(&y))?.map_err(refused)?;
    decomposition(py, &d)
}

/// MSTL (Bandara et al., 2021) of `values` with several `periods` (points per cycle),
/// the seasonal components summed, as statsmodels' `MSTL` with its defaults.
#[pyfunction]
fn mstl<'py>(
    py: Python<'py>,
    values: Values<'py>,
    periods: Vec<usize>,
) -> PyResult<Bound<'py, PyDict>> {
    let y = values.as_array().to_vec();
    let d = interrupt::run(py, || core_stl::mstl(&y, &periods, false))?.map_err(refused)?;
    decomposition(py, &d)
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(anomalies, m)?)?;
    m.add_function(wrap_pyfunction!(events, m)?)?;
    m.add_function(wrap_pyfunction!(stl, m)?)?;
    m.add_function(wrap_pyfunction!(mstl, m)?)?;
    Ok(())
}
