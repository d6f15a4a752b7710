//! Scoring: decay curves, confidence scales, and explained scores over evidence.

use chrono::{DateTime, Utc};
use ctas_core::score::{self as core, DecayModel, Evidence, Polynomial};
use numpy::{AllowTypeChange, PyArray1, PyArrayLike1, PyUntypedArrayMethods};
use pyo3::prelude::*;

use crate::error::{argument, refused};
use crate::interrupt;

/// A float, or an array of them (anything `numpy.asarray` takes).
#[derive(FromPyObject)]
pub(crate) enum Floats<'py> {
    One(f64),
    Many(PyArrayLike1<'py, f64, AllowTypeChange>),
}

impl<'py> Floats<'py> {
    fn len(&self) -> Option<usize> {
        match self {
            Floats::One(_) => None,
            Floats::Many(a) => Some(a.len()),
        }
    }

    /// The value at `i`: the array's, or the one value repeated. Read in place: a copy
    /// of a million floats cost as much as their decay.
    fn reader(&self) -> impl Fn(usize) -> f64 + Send + Sync + '_ {
        let (one, many) = match self {
            Floats::One(x) => (*x, None),
            Floats::Many(a) => (0.0, Some(a.as_array())),
        };
        move |i| many.as_ref().map_or(one, |a| a[i])
    }
}

/// The score `base` (0–100) decays to after `elapsed_days` on MISP's polynomial curve
/// with `lifetime_days` and `speed`: `base · (1 − (t / lifetime)^(1/speed))`, 0 past the
/// lifetime. `base` and `elapsed_days` may be arrays (a scalar beside an array is
/// repeated): the answer is then a numpy array, computed with the GIL released.
#[pyfunction]
fn decay<'py>(
    py: Python<'py>,
    base: Floats<'py>,
    elapsed_days: Floats<'py>,
    lifetime_days: f64,
    speed: f64,
) -> PyResult<Bound<'py, PyAny>> {
    let curve = Polynomial::new(lifetime_days, speed).map_err(refused)?;
    let n = match (base.len(), elapsed_days.len()) {
        (None, None) => {
            let (Floats::One(b), Floats::One(t)) = (&base, &elapsed_days) else {
                unreachable!("two scalars")
            };
            return Ok(curve
                .score(*b, *t)
                .map_err(refused)?
                .into_pyobject(py)?
                .into_any());
        }
        (Some(b), Some(t)) if b != t => {
            return Err(argument(
                "elapsed_days",
                format!("must be as long as base: base has {b}, elapsed_days {t}"),
            ))
        }
        (b, t) => b.or(t).unwrap_or_default(),
    };
    let (b, t) = (base.reader(), elapsed_days.reader());
    let scores = interrupt::run(py, || {
        (0..n)
            .map(|i| curve.score(b(i), t(i)))
            .collect::<Result<Vec<f64>, _>>()
    })?
    .map_err(refused)?;
    Ok(PyArray1::from_vec(py, scores).into_any())
}

/// Days until `base` decays to `score` on the curve; None when it never does (`score`
/// above `base`).
#[pyfunction]
fn days_until(base: f64, score: f64, lifetime_days: f64, speed: f64) -> PyResult<Option<f64>> {
    let curve = Polynomial::new(lifetime_days, speed).map_err(refused)?;
    curve.days_until(base, score).map_err(refused)
}

/// The word a confidence 0–100 is on a STIX 2.1 scale (`admiralty`, `nato`, `dni`,
/// `high-medium-low`, …): `confidence_to("dni", 85)` is `"Very Likely"`.
#[pyfunction]
fn confidence_to(scale: &str, value: i64) -> PyResult<&'static str> {
    core::confidence_to(scale, value).map_err(refused)
}

/// The confidence 0–100 a word of a STIX 2.1 scale stands for.
#[pyfunction]
fn confidence_from(scale: &str, value: &str) -> PyResult<i64> {
    core::confidence_from(scale, value).map_err(refused)
}

/// The decay models CTAS ships (MISP's and OpenCTI's, and `ctas:admiralty`), as dicts.
#[pyfunction]
fn decay_models(py: Python<'_>) -> PyResult<Bound<'_, PyAny>> {
    pythonize::pythonize(py, &core::builtin_models()).map_err(PyErr::from)
}

/// The models to pick from: the built-in ones and those given (dicts of the shape
/// `decay_models()` returns), a given one replacing a built-in of its name.
pub(crate) fn models(extra: Option<&Bound<'_, PyAny>>) -> PyResult<Vec<DecayModel>> {
    let mut all = core::builtin_models();
    if let Some(extra) = extra {
        let given: Vec<DecayModel> =
            pythonize::depythonize(extra).map_err(|e| argument("models", e))?;
        for m in given {
            all.retain(|b| b.name != m.name);
            all.push(m);
        }
    }
    Ok(all)
}

/// The time a score is for: `at` (an aware datetime), or now.
pub(crate) fn at_or_now(at: Option<&Bound<'_, PyAny>>) -> PyResult<DateTime<Utc>> {
    at.map_or_else(|| Ok(Utc::now()), |t| crate::time::instant(t, "at"))
}

/// The score of `evidence` (a dict or JSON text: `{"kind", "sources": [...],
/// "sightings": [...], "last_seen", …}`, as `ctas_score` takes it) with the decay
/// `model` at `at` (an aware datetime; default now), explained: the base of each source
/// and what it contributed, the sightings, the decay. `model` `"opencti"` picks
/// OpenCTI's rule for the evidence's kind.
#[pyfunction]
#[pyo3(signature = (evidence, model="opencti", at=None, models=None))]
fn score<'py>(
    py: Python<'py>,
    evidence: &Bound<'py, PyAny>,
    model: &str,
    at: Option<&Bound<'py, PyAny>>,
    models: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let evidence =
        Evidence::from_value(crate::json::value(evidence, "evidence")?).map_err(refused)?;
    let all = self::models(models)?;
    let m = core::pick_model(&all, model, evidence.kind.as_deref()).map_err(refused)?;
    let combined = core::combine(&evidence, m, at_or_now(at)?).map_err(refused)?;
    let v = serde_json::to_value(combined).expect("a score serialises");
    crate::json::to_python(py, &v)
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(decay, m)?)?;
    m.add_function(wrap_pyfunction!(days_until, m)?)?;
    m.add_function(wrap_pyfunction!(confidence_to, m)?)?;
    m.add_function(wrap_pyfunction!(confidence_from, m)?)?;
    m.add_function(wrap_pyfunction!(decay_models, m)?)?;
    m.add_function(wrap_pyfunction!(score, m)?)?;
    Ok(())
}
