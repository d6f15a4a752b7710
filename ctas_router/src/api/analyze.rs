//! Analyze: a report in, its analysis out, as SQL's `ctas_analyze` gives it.

use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use chrono::{DateTime, Utc};
use ctas_core::analyze::{self as analysis, Report, Settings};
use ctas_core::score;
use serde_json::Value;

use super::{body_format, AppState, Problem, MODELS};

/// The query of `POST /v1/analyze`: `resolution` (H3, default 7), `model` (a decay
/// model CTAS ships, default `ctas:admiralty`), `at` (RFC 3339, default now).
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnalyzeQuery {
    pattern_set: Option<String>,
    resolution: Option<i32>,
    model: Option<String>,
    at: Option<DateTime<Utc>>,
}

/// `POST /v1/analyze`: a report in, its analysis out, by the same `ctas_core` function
/// as SQL's `ctas_analyze`, with the same warninglists and pattern sets: the cold tier's
/// (`crate::knowledge`).
pub async fn analyze(
    State(s): State<AppState>,
    query: Result<Query<AnalyzeQuery>, QueryRejection>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, Problem> {
    body_format(&headers, false)?;
    let invalid = |title, detail: String| {
        Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-report",
            title,
            detail,
        )
    };
    let Query(q) = query.map_err(|e| invalid("The query is not valid", e.body_text()))?;
    let value: Value = serde_json::from_slice(&body).map_err(|e| {
        Problem::new(
            StatusCode::BAD_REQUEST,
            "invalid-json",
            "Body is not valid JSON",
            e.to_string(),
        )
    })?;
    let report = Report::from_value(value).map_err(|e| invalid("Body is not a report", e))?;
    let model = score::pick_model(
        &MODELS,
        q.model.as_deref().unwrap_or("ctas:admiralty"),
        Some("report"),
    )
    .map_err(|e| invalid("Unknown decay model", e.to_string()))?;
    let settings = Settings {
        resolution: q.resolution.unwrap_or(7),
        model,
        at: q.at.unwrap_or_else(Utc::now),
    };
    let knowledge = s.knowledge.get();
    if let Some(name) = &q.pattern_set {
        if !knowledge.sets.contains_key(name) {
            return Err(Problem::new(
                StatusCode::NOT_FOUND,
                "unknown-pattern-set",
                "No such pattern set",
                format!("pattern set {name:?} does not exist in the cold tier's ctas_pattern_sets"),
            ));
        }
    }
    // Extraction over a long report is CPU work: off the runtime's threads.
    let result = s
        .background
        .spawn_blocking(move || {
            let hunt = q.pattern_set.as_deref().and_then(|n| knowledge.hunt(n));
            analysis::analyze(&report, &knowledge.lists, hunt.as_ref(), &settings)
        })
        .await
        .map_err(Problem::internal)?
        .map_err(|e| invalid("The report cannot be analysed", e.to_string()))?;
    Ok(Json(
        serde_json::to_value(result).map_err(Problem::internal)?,
    ))
}
