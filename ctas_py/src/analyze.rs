//! `analyze`: one report in, everything CTAS says about it out.

use ctas_core::analyze::{self as core, Hunt, Report, Settings};
use ctas_core::ioc::warninglist::Warninglists as Lists;
use ctas_core::patterns::DEFAULT_MAX_MATCHES;
use ctas_core::score as core_score;
use pyo3::prelude::*;

use crate::error::{argument, refused};
use crate::interrupt;
use crate::ioc::Warninglists;
use crate::patterns::PatternSet;

// The signature's default is written out so that help() shows it.
const _: () = assert!(DEFAULT_MAX_MATCHES == 1_000_000);

/// Analyse a report `{"text", "lat", "lng", "observed_at", "source": {"name",
/// "confidence", "reliability", "credibility", "tags"}, "tags"}` (a dict or JSON text):
/// its indicators with their warninglist hits, the matches of `pattern_set`, its H3
/// cell at `resolution`, its score decayed to `at` (an aware datetime; default now) by
/// `model` with the explanation, a severity and a confidence — a dict, the same as
/// SQL's `ctas_analyze` and the router's `POST /v1/analyze` give (positions there are
/// SQL's: 1-based characters).
#[pyfunction]
#[pyo3(signature = (report, warninglists=None, pattern_set=None, resolution=7, model="ctas:admiralty", at=None, models=None, max_matches=1000000))]
#[allow(clippy::too_many_arguments)]
fn analyze<'py>(
    py: Python<'py>,
    report: &Bound<'py, PyAny>,
    warninglists: Option<&Warninglists>,
    pattern_set: Option<&PatternSet>,
    resolution: i32,
    model: &str,
    at: Option<&Bound<'py, PyAny>>,
    models: Option<&Bound<'py, PyAny>>,
    max_matches: usize,
) -> PyResult<Bound<'py, PyAny>> {
    let report = Report::from_value(crate::json::value(report, "report")?)
        .map_err(|e| argument("report", e))?;
    let all = crate::score::models(models)?;
    let model = core_score::pick_model(&all, model, Some("report")).map_err(refused)?;
    let settings = Settings {
        resolution,
        model,
        at: crate::score::at_or_now(at)?,
    };
    let none = Lists::new(&[]).expect("no lists compile");
    let lists = warninglists.map_or(&none, |w| &w.lists);
    let hunt = pattern_set.map(|p| Hunt {
        name: &p.name,
        set: &p.set,
        meta: &p.meta,
        max_matches,
    });
    let analysis = interrupt::run(py, || {
        core::analyze(&report, lists, hunt.as_ref(), &settings)
    })?
    .map_err(refused)?;
    let v = serde_json::to_value(analysis).expect("an analysis serialises");
    crate::json::to_python(py, &v)
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(analyze, m)?)?;
    Ok(())
}
