//! `ctas_analyze`: one report in, everything CTAS says about it out (jsonb).

use ctas_core::analyze::{self, AnalyzeError, Hunt, Report, Settings};
use ctas_core::score;
use pgrx::prelude::*;
use pgrx::{JsonB, PgSqlErrorCode};

use crate::error::{or_raise, RaiseSql};
use crate::score::{models_for_call, to_chrono};

impl RaiseSql for AnalyzeError {
    fn sqlstate(&self) -> PgSqlErrorCode {
        match self {
            AnalyzeError::TooLong { .. } => PgSqlErrorCode::ERRCODE_PROGRAM_LIMIT_EXCEEDED,
            AnalyzeError::Score(e) => e.sqlstate(),
            _ => PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
        }
    }
}

/// Analyse a report `{text, lat, lng, observed_at, source: {name, confidence,
/// reliability, credibility, tags}, tags}`: its indicators with their warninglist hits,
/// the matches of pattern set `pattern_set` (none when NULL), its H3 cell at
/// `resolution`, its score decayed to `at` by `model` with the explanation, a severity
/// and a confidence. The router's `POST /v1/analyze` gives the same jsonb.
#[pg_extern(stable, parallel_safe)]
fn ctas_analyze(
    report: Option<JsonB>,
    pattern_set: default!(Option<&str>, "NULL"),
    resolution: default!(i32, 7),
    model: default!(&str, "'ctas:admiralty'"),
    at: default!(TimestampWithTimeZone, "now()"),
    fcinfo: pg_sys::FunctionCallInfo,
) -> Option<JsonB> {
    let report = match Report::from_value(report?.0) {
        Ok(r) => r,
        Err(e) => {
            ereport!(
            ERROR,
            PgSqlErrorCode::ERRCODE_INVALID_TEXT_REPRESENTATION,
            format!("report: {e}"),
            "A report is {\"text\": ..., \"lat\", \"lng\", \"observed_at\", \"source\": {\"name\", \"reliability\", \"credibility\"}, \"tags\": [...]}."
            );
        }
    };
    // SAFETY: fcinfo is this call's.
    let models = unsafe { models_for_call(fcinfo) };
    let model = or_raise(score::pick_model(models, model, Some("report")));
    let lists = crate::ioc::warninglists();
    let compiled = pattern_set.map(crate::patterns::compiled);
    let hunt = compiled.as_ref().zip(pattern_set).map(|(c, name)| Hunt {
        name,
        set: &c.set,
        meta: &c.meta,
    });
    let settings = Settings {
        resolution,
        model,
        at: to_chrono(at),
    };
    let analysis = or_raise(analyze::analyze(&report, &lists, hunt.as_ref(), &settings));
    Some(JsonB(
        serde_json::to_value(analysis).expect("an analysis serialises"),
    ))
}

extension_sql!(
    r#"
COMMENT ON FUNCTION ctas_analyze(jsonb, text, int, text, timestamptz) IS
'Everything CTAS says about a report {text, lat, lng, observed_at, source: {name, confidence, reliability, credibility, tags}, tags}: iocs (with warninglist hits), matches of a pattern set, h3_cell, score (decayed, explained), severity, confidence. Offsets are bytes of the UTF-8 text.';
"#,
    name = "ctas_analyze_objects",
    requires = [
        ctas_analyze,
        "ctas_ioc_objects",
        "ctas_pattern_objects",
        "ctas_score_objects"
    ],
);
