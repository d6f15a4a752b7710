//! The HTTP API: ingest, lookup, trace across tiers, status, health and metrics.
//!
//! Errors are `application/problem+json` (RFC 9457) and name what was wrong.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use ctas_core::analyze::{self as analysis, Report, Settings};
use ctas_core::ioc::warninglist::Warninglists;
use ctas_core::model::{RecordInput, ThreatRecord};
use ctas_core::score;
use serde_json::{json, Value};
use tokio::sync::Notify;

use crate::hot::Hot;
use crate::metrics::Metrics;
use crate::tiers::cold::Cold;
use crate::tiers::graph::Graph;
use crate::tiers::warm::Warm;
use crate::tiers::{Tier, TierName};

/// Largest ingest request body.
pub const MAX_BODY_BYTES: usize = 64 << 20;

/// Most records in one ingest request.
pub const MAX_RECORDS_PER_REQUEST: usize = 100_000;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// sled.
    pub hot: Hot,
    /// SurrealDB.
    pub warm: Arc<Warm>,
    /// PostgreSQL.
    pub cold: Arc<Cold>,
    /// Neo4j.
    pub graph: Arc<Graph>,
    /// Wakes the outbox workers.
    pub wake: Arc<Notify>,
    /// Counters.
    pub metrics: Arc<Metrics>,
    /// Last error per downstream tier.
    pub last_error: Arc<[std::sync::Mutex<Option<String>>; 3]>,
}

/// The router's HTTP routes.
pub fn routes(state: AppState) -> Router {
    Router::new()
        .route("/v1/records", post(ingest))
        .route("/v1/records/{id}", get(lookup))
        .route("/v1/records/{id}/trace", get(trace))
        .route("/v1/analyze", post(analyze))
        .route("/v1/status", get(status))
        .route("/health", get(health))
        .route("/metrics", get(metrics))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state)
}

/// An RFC 9457 problem; every error response of the API is one.
#[derive(Debug)]
pub struct Problem {
    status: StatusCode,
    kind: &'static str,
    title: &'static str,
    detail: String,
    errors: Vec<Value>,
}

impl Problem {
    fn new(status: StatusCode, kind: &'static str, title: &'static str, detail: String) -> Self {
        Problem {
            status,
            kind,
            title,
            detail,
            errors: Vec::new(),
        }
    }

    fn internal(e: impl std::fmt::Display) -> Self {
        Problem::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Internal error",
            e.to_string(),
        )
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let mut body = json!({
            "type": format!("urn:ctas:problem:{}", self.kind),
            "title": self.title,
            "status": self.status.as_u16(),
            "detail": self.detail,
        });
        if !self.errors.is_empty() {
            body["errors"] = Value::Array(self.errors);
        }
        (
            self.status,
            [(header::CONTENT_TYPE, "application/problem+json")],
            body.to_string(),
        )
            .into_response()
    }
}

/// Parse a request body: a JSON object, a JSON array of objects, or NDJSON
/// (`Content-Type: application/x-ndjson`, one object a line).
fn parse_inputs(headers: &HeaderMap, body: &[u8]) -> Result<Vec<RecordInput>, Problem> {
    let bad_json = |detail: String| {
        Problem::new(
            StatusCode::BAD_REQUEST,
            "invalid-json",
            "Body is not valid JSON",
            detail,
        )
    };
    let ndjson = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-ndjson"));
    let values: Vec<Value> = if ndjson {
        let text = std::str::from_utf8(body).map_err(|e| bad_json(e.to_string()))?;
        text.lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
            .map(|(i, l)| {
                serde_json::from_str(l).map_err(|e| bad_json(format!("line {}: {e}", i + 1)))
            })
            .collect::<Result<_, _>>()?
    } else {
        match serde_json::from_slice(body).map_err(|e| bad_json(e.to_string()))? {
            Value::Array(items) => items,
            one @ Value::Object(_) => vec![one],
            _ => {
                return Err(bad_json(
                    "expected a record object or an array of record objects".into(),
                ))
            }
        }
    };
    if values.is_empty() {
        return Err(Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "no-records",
            "No records",
            "the request holds no record".into(),
        ));
    }
    if values.len() > MAX_RECORDS_PER_REQUEST {
        return Err(Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too-many-records",
            "Too many records",
            format!(
                "{} records in one request; the limit is {MAX_RECORDS_PER_REQUEST}",
                values.len()
            ),
        ));
    }
    let mut errors = Vec::new();
    let mut inputs = Vec::with_capacity(values.len());
    for (index, v) in values.into_iter().enumerate() {
        match serde_json::from_value::<RecordInput>(v) {
            Ok(i) => inputs.push(i),
            Err(e) => errors.push(json!({"index": index, "message": e.to_string()})),
        }
    }
    if !errors.is_empty() {
        return Err(invalid_records(errors));
    }
    Ok(inputs)
}

fn invalid_records(errors: Vec<Value>) -> Problem {
    let mut p = Problem::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid-record",
        "Invalid record",
        format!(
            "{} record(s) are invalid; nothing was stored: {}",
            errors.len(),
            errors[0]["message"].as_str().unwrap_or_default()
        ),
    );
    p.errors = errors;
    p
}

/// `POST /v1/records`: validate all, store all durably, or store none.
async fn ingest(State(s): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let result = async {
        let inputs = parse_inputs(&headers, &body)?;
        let now = Utc::now();
        let mut records: Vec<ThreatRecord> = Vec::with_capacity(inputs.len());
        let mut errors = Vec::new();
        for (index, input) in inputs.into_iter().enumerate() {
            match input.into_record(now) {
                Ok(r) => records.push(r),
                Err(e) => errors.push(json!({"index": index, "message": e.to_string()})),
            }
        }
        if !errors.is_empty() {
            return Err(invalid_records(errors));
        }
        s.hot.ingest(&records).await.map_err(Problem::internal)?;
        s.metrics
            .ingested
            .fetch_add(records.len() as u64, Ordering::Relaxed);
        s.wake.notify_waiters();
        let ids: Vec<&str> = records.iter().map(|r| r.id.as_str()).collect();
        Ok((
            StatusCode::ACCEPTED,
            Json(json!({"accepted": records.len(), "ids": ids})),
        )
            .into_response())
    }
    .await;
    result.unwrap_or_else(|p: Problem| {
        if p.status.is_client_error() {
            s.metrics.rejected.fetch_add(1, Ordering::Relaxed);
        }
        p.into_response()
    })
}

fn not_found(id: &str) -> Problem {
    Problem::new(
        StatusCode::NOT_FOUND,
        "not-found",
        "No such record",
        format!("no record has id {id:?}"),
    )
}

/// `GET /v1/records/{id}`: the record from the hot tier.
async fn lookup(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<ThreatRecord>, Problem> {
    match s.hot.get(&id).map_err(Problem::internal)? {
        Some(r) => Ok(Json(r)),
        None => Err(not_found(&id)),
    }
}

async fn fetch_json<T: Tier>(tier: &T, id: &str) -> Value {
    match tier.fetch(id).await {
        Ok(Some(v)) => json!({"found": true, "record": v}),
        Ok(None) => json!({"found": false}),
        Err(e) => json!({"found": false, "error": e.to_string()}),
    }
}

/// `GET /v1/records/{id}/trace`: the record as each tier holds it, read from each.
async fn trace(State(s): State<AppState>, Path(id): Path<String>) -> Result<Json<Value>, Problem> {
    let hot = s.hot.get(&id).map_err(Problem::internal)?;
    let (warm, cold, graph) = tokio::join!(
        fetch_json(s.warm.as_ref(), &id),
        fetch_json(s.cold.as_ref(), &id),
        fetch_json(s.graph.as_ref(), &id),
    );
    if hot.is_none() && [&warm, &cold, &graph].iter().all(|v| v["found"] == false) {
        return Err(not_found(&id));
    }
    let hot = match hot {
        Some(r) => json!({"found": true, "record": r}),
        None => json!({"found": false}),
    };
    Ok(Json(json!({
        "id": id,
        "tiers": {"hot": hot, "warm": warm, "cold": cold, "graph": graph},
    })))
}

async fn count_json<T: Tier>(tier: &T, s: &AppState) -> Value {
    let name = T::NAME;
    let pending = s.hot.pending_len(name);
    let last_error = s.last_error[name.index()].lock().expect("poisoned").clone();
    match tier.count().await {
        Ok(n) => json!({"records": n, "pending": pending, "last_error": last_error}),
        Err(e) => json!({"records": null, "pending": pending, "last_error": e.to_string()}),
    }
}

/// `GET /v1/status`: records per tier and what is still on its way.
async fn status(State(s): State<AppState>) -> Json<Value> {
    let (warm, cold, graph) = tokio::join!(
        count_json(s.warm.as_ref(), &s),
        count_json(s.cold.as_ref(), &s),
        count_json(s.graph.as_ref(), &s),
    );
    let synced = [&warm, &cold, &graph].iter().all(|t| t["pending"] == 0);
    Json(json!({
        "synced": synced,
        "tiers": {
            "hot": {"records": s.hot.len()},
            "warm": warm, "cold": cold, "graph": graph,
        },
    }))
}

/// `GET /health`: the router answers and its hot tier is open.
async fn health() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

/// `GET /metrics`: Prometheus text format.
async fn metrics(State(s): State<AppState>) -> impl IntoResponse {
    let pending: Vec<(TierName, usize)> = TierName::DOWNSTREAM
        .iter()
        .map(|&t| (t, s.hot.pending_len(t)))
        .collect();
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        s.metrics.render(s.hot.len(), &pending),
    )
}

/// The query of `POST /v1/analyze`: `resolution` (H3, default 7), `model` (a decay
/// model CTAS ships, default `ctas:admiralty`), `at` (RFC 3339, default now).
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnalyzeQuery {
    resolution: Option<i32>,
    model: Option<String>,
    at: Option<DateTime<Utc>>,
}

/// `POST /v1/analyze`: a report in, its analysis out, by the same `ctas_core` function
/// as SQL's `ctas_analyze` (the router has no warninglists or pattern sets of its own:
/// those live in the cold tier, where `ctas_analyze` reads them).
async fn analyze(
    query: Result<Query<AnalyzeQuery>, QueryRejection>,
    body: Bytes,
) -> Result<Json<Value>, Problem> {
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
    // The models CTAS ships, built once rather than per request.
    static MODELS: std::sync::LazyLock<Vec<score::DecayModel>> =
        std::sync::LazyLock::new(score::builtin_models);
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
    let result = analysis::analyze(&report, &Warninglists::default(), None, &settings)
        .map_err(|e| invalid("The report cannot be analysed", e.to_string()))?;
    Ok(Json(
        serde_json::to_value(result).map_err(Problem::internal)?,
    ))
}
