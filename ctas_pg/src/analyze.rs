//! `ctas_analyze`: one report in, everything CTAS says about it out (jsonb).

use std::ffi::CString;

use crate::json::JsonText;
use ctas_core::analyze::{self, AnalyzeError, Hunt, Report, Settings};
use ctas_core::score;
use pgrx::guc::{GucContext, GucFlags, GucRegistry, GucSetting};
use pgrx::prelude::*;
use pgrx::{JsonB, PgSqlErrorCode};

use crate::error::{or_raise, RaiseSql};
use crate::score::{models_for_call, to_chrono};

impl RaiseSql for AnalyzeError {
    fn sqlstate(&self) -> PgSqlErrorCode {
        match self {
            AnalyzeError::TooLong { .. } => PgSqlErrorCode::ERRCODE_PROGRAM_LIMIT_EXCEEDED,
            AnalyzeError::Score(e) => e.sqlstate(),
            AnalyzeError::Patterns(_) => PgSqlErrorCode::ERRCODE_PROGRAM_LIMIT_EXCEEDED,
            _ => PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
        }
    }
}

/// `ctas.default_pattern_set`: the pattern set `ctas_analyze` matches when it is given
/// none (SET per session, per role with ALTER ROLE, per database with ALTER DATABASE).
static DEFAULT_PATTERN_SET: GucSetting<Option<CString>> = GucSetting::<Option<CString>>::new(None);

pub(crate) fn register_settings() {
    GucRegistry::define_string_guc(
        c"ctas.default_pattern_set",
        c"The pattern set ctas_analyze matches when its pattern_set argument is NULL.",
        c"Empty or unset: no pattern set. A name of ctas_pattern_sets otherwise.",
        &DEFAULT_PATTERN_SET,
        GucContext::Userset,
        GucFlags::default(),
    );
}

/// Analyse a report `{text, lat, lng, observed_at, source: {name, confidence,
/// reliability, credibility, tags}, tags}`: its indicators with their warninglist hits,
/// the matches of pattern set `pattern_set` (when NULL, the set named by the setting
/// `ctas.default_pattern_set`, if any), its H3 cell at
/// `resolution`, its score decayed to `at` by `model` with the explanation, a severity
/// and a confidence. The router's `POST /v1/analyze` gives the same jsonb.
#[pg_extern(stable, parallel_safe)]
fn ctas_analyze(
    report: Option<JsonText>,
    pattern_set: default!(Option<&str>, "NULL"),
    resolution: default!(i32, 7),
    model: default!(&str, "'ctas:admiralty'"),
    at: default!(TimestampWithTimeZone, "now()"),
    fcinfo: pg_sys::FunctionCallInfo,
) -> Option<JsonB> {
    let report = match Report::from_value(report?.value("report")) {
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
    let pattern_set: Option<String> = match pattern_set {
        Some(name) => Some(name.to_owned()),
        None => DEFAULT_PATTERN_SET
            .get()
            .and_then(|c| c.into_string().ok())
            .filter(|name| !name.trim().is_empty()),
    };
    let compiled = pattern_set.as_deref().map(crate::patterns::compiled);
    let hunt = compiled
        .as_ref()
        .zip(pattern_set.as_deref())
        .map(|(c, name)| Hunt {
            name,
            set: &c.set,
            meta: &c.meta,
            max_matches: crate::patterns::max_matches(),
        });
    let settings = Settings {
        resolution,
        model,
        at: to_chrono(at),
    };
    let analysis = match analyze::analyze(&report, &lists, hunt.as_ref(), &settings) {
        Err(AnalyzeError::Patterns(e)) => crate::patterns::too_many_matches(&e),
        result => or_raise(result),
    };
    Some(JsonB(
        serde_json::to_value(analysis).expect("an analysis serialises"),
    ))
}

extension_sql!(
    r#"
COMMENT ON FUNCTION ctas_analyze(jsonb, text, int, text, timestamptz) IS
'Everything CTAS says about a report {text, lat, lng, observed_at, source: {name, confidence, reliability, credibility, tags}, tags}: iocs (with warninglist hits), matches of a pattern set (NULL: the setting ctas.default_pattern_set), h3_cell, score (decayed, explained), severity, confidence. Positions start_pos/end_pos are 1-based characters, end exclusive, as in ctas_extract_iocs and ctas_match.';
"#,
    name = "ctas_analyze_objects",
    requires = [
        ctas_analyze,
        "ctas_ioc_objects",
        "ctas_pattern_objects",
        "ctas_score_objects"
    ],
);
