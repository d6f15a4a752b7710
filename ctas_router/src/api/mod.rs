//! The HTTP API, one module per resource: records (ingest, read back, trace),
//! indicators (lookup by value), reports (by area and time), graph, analyze, status (health, readiness, metrics), dead
//! letters, verify. Every route needs a scope ([`auth`]) but the probes.
//!
//! Errors are `application/problem+json` (RFC 9457) and name what was wrong.

pub mod analyze;
pub mod anomalies;
pub mod auth;
pub mod dead_letters;
pub mod graph;
pub mod indicators;
pub mod problem;
pub mod records;
pub mod reports;
pub mod status;
pub mod verify;

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use ctas_core::score;
use tokio::sync::Notify;

pub use crate::api::problem::Problem;
use crate::hot::Hot;
use crate::metrics::Metrics;
use crate::pipeline::BodyFormat;
use crate::tiers::cold::Cold;
use crate::tiers::graph::Graph;
use crate::tiers::warm::Warm;
use crate::tiers::{Registry, TierName};
use auth::{Scope, Tokens};

/// Largest ingest request body.
pub const MAX_BODY_BYTES: usize = 64 << 20;

pub use crate::tiers::{in_time, within, TIER_ANSWER_TIMEOUT};

/// How long a readiness probe waits for each tier: under an orchestrator's own
/// timeout (Kubernetes waits 1 s by default), so the probe answers before it gives up.
pub const READY_TIMEOUT: Duration = Duration::from_millis(800);

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
    /// timeouts: status and traces never wait behind the worker or a long lock. None
    /// when off (not configured).
    pub cold: Option<Arc<Cold>>,
    /// Neo4j; None when off.
    pub graph: Option<Arc<Graph>>,
    /// The same three by name, for what every tier does alike.
    pub tiers: Registry,
    /// Indicators the warm and cold tiers did not hold when a lookup last asked.
    pub absent: Arc<crate::lookup::Absent>,
    /// Wakes the outbox workers.
    pub wake: Arc<Notify>,
    /// Counters.
    pub metrics: Arc<Metrics>,
    /// Last error per downstream tier.
    pub last_error: Arc<[std::sync::Mutex<Option<String>>; 3]>,
    /// The cold tier's warninglists and pattern sets, kept current.
    pub knowledge: crate::knowledge::Shared,
    /// SurrealKV's directory, when the warm tier is embedded (for its size).
    pub warm_dir: Option<Arc<std::path::Path>>,
    /// How long the warm tier keeps reports and sightings (`serve --warm-ttl`).
    pub warm_ttl: Option<chrono::TimeDelta>,
    /// Which downstream tiers each object goes to.
    pub routing: Arc<crate::routing::Routing>,
    /// The downstream tiers without which the router is not ready.
    pub required: Arc<[TierName]>,
    /// Where CPU work of requests (parsing, validating, analysing) runs, at a lower
    /// priority than the handlers ([`crate::background`]).
    pub background: tokio::runtime::Handle,
}

impl AppState {
    /// Whether a downstream tier is on (configured).
    pub fn is_on(&self, tier: TierName) -> bool {
        self.tiers.get(tier).is_some()
    }

    /// The tiers a lookup by value looks in.
    pub fn lookup_tiers(&self) -> crate::lookup::Tiers {
        crate::lookup::Tiers {
            hot: self.hot.clone(),
            warm: self.warm.clone(),
            cold: self.cold.clone(),
            absent: self.absent.clone(),
        }
    }
}

/// The downstream tier a query names (`?tier=`); 422 naming it when there is none such.
pub fn tier_named(name: &str) -> Result<TierName, Problem> {
    TierName::parse(name).ok_or_else(|| {
        Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-query",
            "No such tier",
            format!("tier must be warm, cold or graph; got {name:?}"),
        )
    })
}

/// A list's page size: `asked`, or `default`; 422 unless 1 to `max`.
pub fn page_limit(asked: Option<usize>, default: usize, max: usize) -> Result<usize, Problem> {
    let limit = asked.unwrap_or(default);
    if !(1..=max).contains(&limit) {
        return Err(invalid(format!("limit must be 1 to {max}; got {limit}")));
    }
    Ok(limit)
}

/// The router's HTTP routes; with no tokens configured, every route is open (the
/// listener is then on loopback only: `crate::config`).
pub fn routes(state: AppState, tokens: Arc<Tokens>, timeout: Duration) -> Router {
    // Timed inside the routing, where the route's template is known.
    let timed = || middleware::from_fn_with_state(state.metrics.clone(), observe);
    let reads = Router::new()
        .route("/v1/records/{id}", get(records::read))
        .route("/v1/records/{id}/trace", get(records::trace))
        .route("/v1/indicators/lookup", post(indicators::batch))
        .route("/v1/indicators/{value}", get(indicators::one))
        .route("/v1/analyze", post(analyze::analyze))
        .route("/v1/status", get(status::status))
        .route("/v1/dead-letters", get(dead_letters::list))
        .route("/v1/graph/{id}/neighbors", get(graph::neighbors))
        .route("/v1/reports", get(reports::list))
        .route("/v1/anomalies", get(anomalies::list))
        .route("/v1/verify", get(verify::check))
        .route("/metrics", get(status::metrics))
        .route_layer(middleware::from_fn_with_state(
            (tokens.clone(), Scope::Read),
            auth::require,
        ))
        .route_layer(timed());
    let writes = Router::new()
        .route("/v1/records", post(records::ingest))
        .route("/v1/ingest", post(records::ingest_document))
        .route("/v1/dead-letters/replay", post(dead_letters::replay))
        .route("/v1/verify/repair", post(verify::repair))
        .route_layer(middleware::from_fn_with_state(
            (tokens, Scope::Write),
            auth::require,
        ))
        .route_layer(timed());
    // Probes are open: an orchestrator asks them without credentials, and they say
    // nothing of the data.
    let probes = Router::new()
        .route("/healthz", get(status::healthz))
        .route("/readyz", get(status::readyz))
        .route("/v1/openapi.json", get(openapi))
        .route_layer(timed());
    Router::new()
        .merge(reads)
        .merge(writes)
        .merge(probes)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(middleware::from_fn_with_state(timeout, deadline))
        .layer(middleware::from_fn_with_state(
            state.metrics.clone(),
            problems,
        ))
        .with_state(state)
}

/// The decay models CTAS ships, built once rather than per request.
pub static MODELS: std::sync::LazyLock<Vec<score::DecayModel>> =
    std::sync::LazyLock::new(score::builtin_models);

/// The API's OpenAPI 3.1 document; the tests hold every answer they get to it.
pub const OPENAPI: &str = include_str!("../../openapi.json");

/// `GET /v1/openapi.json`: open, like the probes: it says nothing of the data.
async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI).into_response()
}

/// A request that takes longer than `limit` (its body read included, so a client that
/// sends slowly holds nothing for long) is answered 503.
async fn deadline(
    axum::extract::State(limit): axum::extract::State<Duration>,
    req: Request,
    next: Next,
) -> Response {
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(resp) => resp,
        Err(_) => {
            let mut resp = Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "timeout",
                "Request timed out",
                format!(
                    "no answer within {} s; send it again (ingesting the same data twice \
                     stores it once)",
                    limit.as_secs_f64()
                ),
            )
            .into_response();
            resp.headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
            resp
        }
    }
}

/// Every error answer is problem+json, including those axum writes itself (404 of an
/// unknown path, 405, 413 of a body over the limit, 400 of a bad percent-encoding),
/// which come as plain text or with no body.
async fn problems(
    axum::extract::State(metrics): axum::extract::State<Arc<Metrics>>,
    req: Request,
    next: Next,
) -> Response {
    let (method, path) = (req.method().clone(), req.uri().path().to_owned());
    let resp = as_problem(next.run(req).await, &method, &path).await;
    if let Some(problem::ProblemType(kind)) = resp.extensions().get() {
        metrics.count_problem(kind);
    }
    resp
}

/// A request's latency, under its route's template.
async fn observe(
    axum::extract::State(metrics): axum::extract::State<Arc<Metrics>>,
    req: Request,
    next: Next,
) -> Response {
    let start = std::time::Instant::now();
    let route = req
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_default();
    let method = req.method().clone();
    let resp = next.run(req).await;
    metrics.observe_request(
        &route,
        method.as_str(),
        resp.status().as_u16(),
        start.elapsed(),
    );
    resp
}

/// An error answer that is not yet problem+json (axum's own), made one.
async fn as_problem(resp: Response, method: &axum::http::Method, path: &str) -> Response {
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

/// A query string that parses but asks for what cannot be (a depth, a limit, an area
/// out of range): `detail` names the parameter.
fn invalid(detail: String) -> Problem {
    Problem::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid-query",
        "The query is not valid",
        detail,
    )
}

/// A query string that does not parse, named as axum found it.
fn invalid_query(kind: &'static str, e: QueryRejection) -> Problem {
    Problem::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        kind,
        "The query is not valid",
        e.body_text(),
    )
}
