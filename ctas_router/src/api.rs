//! The HTTP API: ingest, lookup, trace across tiers, status, health and metrics.
//!
//! Errors are `application/problem+json` (RFC 9457) and name what was wrong.

use std::future::Future;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{DefaultBodyLimit, Path, Query, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use ctas_core::analyze::{self as analysis, Report, Settings};
use ctas_core::model::Item;
use ctas_core::score;
use serde_json::{json, Value};
use tokio::sync::Notify;

use crate::hot::{Hot, HotError};
use crate::lookup;
use crate::metrics::Metrics;
use crate::pipeline::{self, BodyFormat};
pub use crate::problem::Problem;
use crate::tiers::cold::Cold;
use crate::tiers::graph::Graph;
use crate::tiers::warm::Warm;
use crate::tiers::{Tier, TierName};

/// Largest ingest request body.
pub const MAX_BODY_BYTES: usize = 64 << 20;

/// How long status and trace wait for a tier before saying it did not answer.
pub const TIER_ANSWER_TIMEOUT: Duration = Duration::from_secs(3);

/// Most dead letters listed by one call.
pub const MAX_DEAD_LETTERS_LISTED: usize = 10_000;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// sled.
    pub hot: Hot,
    /// SurrealDB.
    pub warm: Arc<Warm>,
    /// PostgreSQL, through a connection of its own (not the worker's), with short
    /// timeouts: status and traces never wait behind the worker or a long lock.
    pub cold: Arc<Cold>,
    /// Neo4j.
    pub graph: Arc<Graph>,
    /// Wakes the outbox workers.
    pub wake: Arc<Notify>,
    /// Counters.
    pub metrics: Arc<Metrics>,
    /// Last error per downstream tier.
    pub last_error: Arc<[std::sync::Mutex<Option<String>>; 3]>,
    /// The cold tier's warninglists and pattern sets, kept current.
    pub knowledge: crate::knowledge::Shared,
    /// Where CPU work of requests (parsing, validating, analysing) runs, at a lower
    /// priority than the handlers ([`crate::background`]).
    pub background: tokio::runtime::Handle,
}

/// The router's HTTP routes.
pub fn routes(state: AppState) -> Router {
    Router::new()
        .route("/v1/records", post(ingest))
        .route("/v1/ingest", post(ingest_document))
        .route("/v1/records/{id}", get(lookup))
        .route("/v1/records/{id}/trace", get(trace))
        .route("/v1/indicators/lookup", post(indicators_batch))
        .route("/v1/indicators/{value}", get(indicator))
        .route("/v1/analyze", post(analyze))
        .route("/v1/status", get(status))
        .route("/v1/dead-letters", get(dead_letters))
        .route("/v1/dead-letters/replay", post(replay))
        .route("/health", get(health))
        .route("/metrics", get(metrics))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(middleware::from_fn(problems))
        .with_state(state)
}

/// Every error answer is problem+json, including those axum writes itself (404 of an
/// unknown path, 405, 413 of a body over the limit, 400 of a bad percent-encoding),
/// which come as plain text or with no body.
async fn problems(req: Request, next: Next) -> Response {
    let (method, path) = (req.method().clone(), req.uri().path().to_owned());
    let resp = next.run(req).await;
    let status = resp.status();
    let is_problem = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/problem+json"));
    if !(status.is_client_error() || status.is_server_error()) || is_problem {
        return resp;
    }
    let (parts, body) = resp.into_parts();
    let text = axum::body::to_bytes(body, 64 << 10)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_owned())
        .unwrap_or_default();
    let (kind, title, default) = match status {
        StatusCode::NOT_FOUND => (
            "not-found",
            "Not found",
            format!("no such resource: {method} {path}"),
        ),
        StatusCode::METHOD_NOT_ALLOWED => (
            "method-not-allowed",
            "Method not allowed",
            format!("{method} is not allowed on {path}"),
        ),
        StatusCode::PAYLOAD_TOO_LARGE => return too_large().into_response(),
        _ => (
            "http",
            status.canonical_reason().unwrap_or("Error"),
            format!("{method} {path}"),
        ),
    };
    let detail = if text.is_empty() { default } else { text };
    let mut problem = Problem::new(status, kind, title, detail).into_response();
    // Keep what the answer said besides its body (Allow of a 405, for one).
    for (name, value) in parts.headers.iter() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            problem.headers_mut().insert(name.clone(), value.clone());
        }
    }
    problem
}

/// Only a body that says it is JSON is read as JSON: a browser may send `text/plain`,
/// a form or no type to any site without asking first (no CORS preflight), so
/// accepting those would let any web page the operator opens write records.
fn body_format(headers: &HeaderMap, ndjson_too: bool) -> Result<BodyFormat, Problem> {
    let given = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let mime = given
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match mime.as_str() {
        "application/json" => Ok(BodyFormat::Json),
        "application/x-ndjson" if ndjson_too => Ok(BodyFormat::Ndjson),
        _ => Err(Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            "Unsupported media type",
            format!(
                "Content-Type must be application/json{}; got {}",
                if ndjson_too {
                    " or application/x-ndjson"
                } else {
                    ""
                },
                if given.is_empty() { "none" } else { given }
            ),
        )),
    }
}

/// An ingest body read into one buffer sized by its `Content-Length`. axum's `Bytes`
/// gathers the chunks and then copies them into one buffer, so a 34 MB bundle would be
/// held twice before it is even parsed.
pub struct WholeBody(Bytes);

impl<S: Send + Sync> axum::extract::FromRequest<S> for WholeBody {
    type Rejection = Problem;

    async fn from_request(req: Request, _: &S) -> Result<Self, Problem> {
        use http_body_util::BodyExt;
        let declared = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok()?.parse::<usize>().ok());
        // A body over the limit is still read up to it before the 413, as axum does:
        // answering while the client is still sending would reset its connection, and
        // it would see a broken pipe instead of the problem.
        let mut buf = Vec::with_capacity(declared.unwrap_or(0).min(MAX_BODY_BYTES));
        let mut body = req.into_body();
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| {
                Problem::new(
                    StatusCode::BAD_REQUEST,
                    "unreadable-body",
                    "The request body could not be read",
                    e.to_string(),
                )
            })?;
            if let Ok(data) = frame.into_data() {
                if buf.len() + data.len() > MAX_BODY_BYTES {
                    return Err(too_large());
                }
                buf.extend_from_slice(&data);
            }
        }
        Ok(WholeBody(Bytes::from(buf)))
    }
}

fn too_large() -> Problem {
    Problem::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "too-large",
        "Request body too large",
        format!("the body is over the limit of {MAX_BODY_BYTES} bytes"),
    )
}

/// `POST /v1/records`: flat records; validate all, store all durably, or store none.
async fn ingest(State(s): State<AppState>, headers: HeaderMap, body: WholeBody) -> Response {
    commit(s, headers, body.0, pipeline::records, None).await
}

/// The query of `POST /v1/ingest`.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IngestQuery {
    /// When the reports' analyses are scored; now by default.
    at: Option<DateTime<Utc>>,
}

/// `POST /v1/ingest`: a STIX bundle, a MISP export or flat records, gzip or not; read
/// whole, stored durably, or refused whole.
async fn ingest_document(
    State(s): State<AppState>,
    query: Result<Query<IngestQuery>, QueryRejection>,
    headers: HeaderMap,
    body: WholeBody,
) -> Response {
    match query {
        Ok(Query(q)) => commit(s, headers, body.0, pipeline::document, q.at).await,
        Err(e) => Problem::new(
            StatusCode::BAD_REQUEST,
            "invalid-query",
            "The query is not valid",
            e.body_text(),
        )
        .into_response(),
    }
}

/// Read a body with `read` and commit what it holds to the hot tier.
async fn commit(
    s: AppState,
    headers: HeaderMap,
    body: Bytes,
    read: pipeline::Reader,
    at: Option<DateTime<Utc>>,
) -> Response {
    let result = async {
        let format = body_format(&headers, true)?;
        // Parsing, validating and encoding are CPU work: off the runtime's threads, so
        // lookups keep their latency while large requests come in.
        let now = Utc::now();
        let cx = pipeline::Context {
            now,
            at: at.unwrap_or(now),
            knowledge: s.knowledge.get(),
        };
        let accepted = s
            .background
            .spawn_blocking(move || read(format, body, &cx))
            .await
            .map_err(Problem::internal)??;
        let n = accepted.prepared.len() as u64;
        s.hot.ingest(accepted.prepared).await.map_err(hot_problem)?;
        s.metrics.ingested.fetch_add(n, Ordering::Relaxed);
        s.wake.notify_waiters();
        Ok((StatusCode::ACCEPTED, Json(accepted.answer)).into_response())
    }
    .await;
    result.unwrap_or_else(|p: Problem| {
        if p.status.is_client_error() {
            s.metrics.rejected.fetch_add(1, Ordering::Relaxed);
        }
        p.into_response()
    })
}

/// A hot-tier failure: 503 while the router shuts down, 500 otherwise.
fn hot_problem(e: HotError) -> Problem {
    match e {
        HotError::Closed => Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "shutting-down",
            "The router is shutting down",
            "nothing was stored; send the request again once the router is back".into(),
        ),
        e => Problem::internal(e),
    }
}

fn not_found(id: &str) -> Problem {
    Problem::new(
        StatusCode::NOT_FOUND,
        "not-found",
        "No such record",
        format!("no record has id {id:?}"),
    )
}

/// What the API shows of an item: its object (a record, a report, an entity...).
fn shown(item: Item) -> Value {
    serde_json::to_value(item)
        .map(|mut v| v["object"].take())
        .unwrap_or(Value::Null)
}

/// `GET /v1/records/{id}`: the record (or any object ingested, by its id) from the hot tier.
async fn lookup(State(s): State<AppState>, Path(id): Path<String>) -> Result<Json<Value>, Problem> {
    match s.hot.get(&id).map_err(Problem::internal)? {
        Some(item) => Ok(Json(shown(item))),
        None => Err(not_found(&id)),
    }
}

/// A tier's answer, or what kept it from answering in time.
async fn in_time<T>(
    tier: TierName,
    call: impl Future<Output = Result<T, crate::tiers::TierError>>,
) -> Result<T, String> {
    match tokio::time::timeout(TIER_ANSWER_TIMEOUT, call).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(format!(
            "{tier} tier did not answer within {} s",
            TIER_ANSWER_TIMEOUT.as_secs()
        )),
    }
}

async fn fetch_json<T: Tier>(tier: &T, id: &str) -> Value {
    match in_time(T::NAME, tier.fetch(id)).await {
        Ok(Some(v)) => json!({"found": true, "record": v}),
        Ok(None) => json!({"found": false}),
        Err(e) => json!({"found": null, "error": e}),
    }
}

/// `GET /v1/records/{id}/trace`: the record as each tier holds it, read from each.
/// A tier that does not answer in time is named, and does not hold up the others.
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
        Some(r) => json!({"found": true, "record": shown(r)}),
        None => json!({"found": false}),
    };
    Ok(Json(json!({
        "id": id,
        "tiers": {"hot": hot, "warm": warm, "cold": cold, "graph": graph},
    })))
}

async fn tier_json<T: Tier>(tier: &T, s: &AppState, counts: &crate::hot::CountsSnapshot) -> Value {
    let name = T::NAME;
    let i = name.index();
    let last_error = s.last_error[i].lock().expect("poisoned").clone();
    let mut v = json!({
        "pending": counts.pending[i],
        "dead_letters": counts.dead[i],
        "last_error": last_error,
    });
    match in_time(name, tier.count()).await {
        Ok(n) => v["records"] = json!(n),
        Err(e) => {
            v["records"] = Value::Null;
            v["error"] = json!(e);
        }
    }
    v
}

/// `GET /v1/status`: records per tier and what is still on its way. Pending and dead
/// letters are counters; each tier's record count is asked of the tier, and a tier that
/// does not answer in time says so (`records: null`, `error`).
async fn status(State(s): State<AppState>) -> Json<Value> {
    let counts = s.hot.counts();
    let (warm, cold, graph) = tokio::join!(
        tier_json(s.warm.as_ref(), &s, &counts),
        tier_json(s.cold.as_ref(), &s, &counts),
        tier_json(s.graph.as_ref(), &s, &counts),
    );
    Json(json!({
        "synced": counts.pending.iter().all(|&n| n == 0),
        "tiers": {
            "hot": {"records": counts.records},
            "warm": warm, "cold": cold, "graph": graph,
        },
        "knowledge": s.knowledge.summary(),
    }))
}

/// The query of the dead-letter calls: one tier, or all of them.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeadLetterQuery {
    tier: Option<String>,
    limit: Option<usize>,
}

fn tiers_named(q: &DeadLetterQuery) -> Result<Vec<TierName>, Problem> {
    match &q.tier {
        None => Ok(TierName::DOWNSTREAM.to_vec()),
        Some(name) => TierName::parse(name).map(|t| vec![t]).ok_or_else(|| {
            Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid-query",
                "No such tier",
                format!("tier must be warm, cold or graph; got {name:?}"),
            )
        }),
    }
}

fn dead_letter_query(
    query: Result<Query<DeadLetterQuery>, QueryRejection>,
) -> Result<DeadLetterQuery, Problem> {
    query.map(|Query(q)| q).map_err(|e| {
        Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-query",
            "The query is not valid",
            e.body_text(),
        )
    })
}

/// `GET /v1/dead-letters?tier=&limit=`: the records each tier refused for good, with
/// what the tier said, oldest first.
async fn dead_letters(
    State(s): State<AppState>,
    query: Result<Query<DeadLetterQuery>, QueryRejection>,
) -> Result<Json<Value>, Problem> {
    let q = dead_letter_query(query)?;
    let limit = q.limit.unwrap_or(100).min(MAX_DEAD_LETTERS_LISTED);
    let counts = s.hot.counts();
    let mut out = serde_json::Map::new();
    for tier in tiers_named(&q)? {
        let letters = s.hot.dead_letters(tier, limit).map_err(Problem::internal)?;
        out.insert(
            tier.to_string(),
            json!({"count": counts.dead[tier.index()], "letters": letters}),
        );
    }
    Ok(Json(json!({"tiers": out})))
}

/// `POST /v1/dead-letters/replay?tier=`: send the dead letters to their tier again,
/// once the cause is fixed; a record refused again goes back to the dead letter.
async fn replay(
    State(s): State<AppState>,
    query: Result<Query<DeadLetterQuery>, QueryRejection>,
) -> Result<Json<Value>, Problem> {
    let q = dead_letter_query(query)?;
    let mut out = serde_json::Map::new();
    for tier in tiers_named(&q)? {
        let n = s.hot.replay(tier).await.map_err(hot_problem)?;
        out.insert(tier.to_string(), json!(n));
    }
    s.wake.notify_waiters();
    Ok(Json(json!({"replayed": out})))
}

/// `GET /health`: the router answers and its hot tier is open.
async fn health() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

/// `GET /metrics`: Prometheus text format.
async fn metrics(State(s): State<AppState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        s.metrics.render(&s.hot.counts()),
    )
}

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

/// The decay models CTAS ships, built once rather than per request.
static MODELS: std::sync::LazyLock<Vec<score::DecayModel>> =
    std::sync::LazyLock::new(score::builtin_models);

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct IndicatorQuery {
    /// The kind, for a value CTAS cannot classify alone (a file name, a MISP type's).
    kind: Option<String>,
    model: Option<String>,
    at: Option<DateTime<Utc>>,
}

/// `GET /v1/indicators/{value}?kind=&model=&at=`: what is known of an indicator, asked
/// by its value as an analyst has it ([`lookup::look_up`]).
async fn indicator(
    State(s): State<AppState>,
    Path(value): Path<String>,
    query: Result<Query<IndicatorQuery>, QueryRejection>,
) -> Result<Json<lookup::Answer>, Problem> {
    let Query(q) = query.map_err(|e| {
        Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-query",
            "The query is not valid",
            e.body_text(),
        )
    })?;
    let model = q.model.as_deref().unwrap_or("ctas:admiralty");
    let at = q.at.unwrap_or_else(Utc::now);
    lookup::look_up(&s.hot, &value, q.kind.as_deref(), &MODELS, model, at)
        .map(Json)
        .map_err(Problem::from)
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct BatchQuery {
    model: Option<String>,
    at: Option<DateTime<Utc>>,
}

/// `POST /v1/indicators/lookup?model=&at=` with `{"values": [...], "kind": ...}`: up to
/// [`lookup::MAX_BATCH`] values at once (a SIEM enriching its events), each answered as
/// `GET /v1/indicators/{value}` would, or marked unknown, in the order asked.
async fn indicators_batch(
    State(s): State<AppState>,
    query: Result<Query<BatchQuery>, QueryRejection>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<lookup::Batch>, Problem> {
    body_format(&headers, false)?;
    let invalid = |detail: String| {
        Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-lookup",
            "The lookup is not valid",
            detail,
        )
    };
    let Query(q) = query.map_err(|e| invalid(e.body_text()))?;
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Batch {
        values: Vec<String>,
        kind: Option<String>,
    }
    let batch: Batch = serde_json::from_slice(&body).map_err(|e| {
        invalid(format!(
            "the body must be {{\"values\": [\"…\", …], \"kind\": optional}}: {e}"
        ))
    })?;
    if batch.values.len() > lookup::MAX_BATCH {
        return Err(Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too-many-values",
            "Too many values",
            format!(
                "{} values; at most {} a request: send the rest in another",
                batch.values.len(),
                lookup::MAX_BATCH
            ),
        ));
    }
    let model = q.model.unwrap_or_else(|| "ctas:admiralty".to_owned());
    // The model is checked once, not reported for every value.
    score::pick_model(&MODELS, &model, None).map_err(|e| {
        Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown-model",
            "Unknown decay model",
            e.to_string(),
        )
    })?;
    let at = q.at.unwrap_or_else(Utc::now);
    let hot = s.hot.clone();
    // Many sled reads: off the runtime's threads.
    let answers = s
        .background
        .spawn_blocking(move || {
            lookup::look_up_all(
                &hot,
                &batch.values,
                batch.kind.as_deref(),
                &MODELS,
                &model,
                at,
            )
        })
        .await
        .map_err(Problem::internal)?
        .map_err(Problem::from)?;
    Ok(Json(answers))
}

/// `POST /v1/analyze`: a report in, its analysis out, by the same `ctas_core` function
/// as SQL's `ctas_analyze`, with the same warninglists and pattern sets: the cold tier's
/// (`crate::knowledge`).
async fn analyze(
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
