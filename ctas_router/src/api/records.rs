//! Records: ingest (flat records, STIX bundles, MISP exports), one read back by id,
//! and its trace across the tiers.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Utc};
use ctas_core::model::Item;
use serde_json::{json, Value};

use super::{body_format, in_time, invalid_query, AppState, Problem, WholeBody};
use crate::pipeline;
use crate::routing::Class;
use crate::tiers::{Tier, TierName};

/// `POST /v1/records`: flat records; validate all, store all durably, or store none.
pub async fn ingest(
    State(s): State<AppState>,
    query: Result<Query<IngestQuery>, QueryRejection>,
    headers: HeaderMap,
    body: WholeBody,
) -> Response {
    accept(s, query, headers, body, pipeline::records).await
}

/// The query of `POST /v1/ingest` and `POST /v1/records`.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IngestQuery {
    /// When the reports' analyses are scored (`/v1/ingest`); now by default.
    at: Option<DateTime<Utc>>,
    /// What the request declares of itself, for the routing rules ([`Class`]).
    priority: Option<String>,
    latency: Option<String>,
    data_type: Option<String>,
}

/// `POST /v1/ingest`: a STIX bundle, a MISP export or flat records, gzip or not; read
/// whole, stored durably, or refused whole.
pub async fn ingest_document(
    State(s): State<AppState>,
    query: Result<Query<IngestQuery>, QueryRejection>,
    headers: HeaderMap,
    body: WholeBody,
) -> Response {
    accept(s, query, headers, body, pipeline::document).await
}

/// An ingest request whose query parsed, committed; one that did not, refused.
async fn accept(
    s: AppState,
    query: Result<Query<IngestQuery>, QueryRejection>,
    headers: HeaderMap,
    body: WholeBody,
    read: pipeline::Reader,
) -> Response {
    match query {
        Ok(Query(q)) => commit(s, headers, body.0, read, q).await,
        Err(e) => invalid_query("invalid-query", e).into_response(),
    }
}

/// Read a body with `read` and commit what it holds to the hot tier.
async fn commit(
    s: AppState,
    headers: HeaderMap,
    body: Bytes,
    read: pipeline::Reader,
    query: IngestQuery,
) -> Response {
    let result = async {
        let class = Class {
            priority: query.priority,
            latency: query.latency,
            data_type: query.data_type,
        };
        class.check().map_err(super::invalid)?;
        let format = body_format(&headers, true)?;
        // Parsing, validating and encoding are CPU work: off the runtime's threads, so
        // lookups keep their latency while large requests come in.
        let now = Utc::now();
        let cx = pipeline::Context {
            now,
            at: query.at.unwrap_or(now),
            knowledge: s.knowledge.get(),
            routing: s.routing.clone(),
            class,
        };
        let accepted = s
            .background
            .spawn_blocking(move || read(format, body, &cx))
            .await
            .map_err(Problem::internal)??;
        let n = accepted.prepared.len() as u64;
        s.hot
            .ingest(accepted.prepared)
            .await
            .map_err(Problem::from)?;
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

/// `GET /v1/records/{id}`: the record (or any object ingested, by its id) from the hot
/// tier; else — demoted past the hot TTL, or an object the tiers derive (a flat record's
/// observation: the report `GET /v1/reports` names) — from the warm tier, which keeps
/// an item's object as the hot tier does, its id as its key; else from the cold tier,
/// as the history's row holds it.
pub async fn read(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, Problem> {
    if let Some(item) = s.hot.get(&id).map_err(Problem::internal)? {
        return Ok(Json(shown(item)));
    }
    let mut silent = Vec::new();
    for name in [TierName::Warm, TierName::Cold] {
        let Some(tier) = s.tiers.get(name) else {
            continue;
        };
        match in_time(name, tier.fetch(&id)).await {
            Ok(Some(found)) => return Ok(Json(found)),
            Ok(None) => {}
            Err(e) => silent.push(e),
        }
    }
    if silent.is_empty() {
        return Err(not_found(&id));
    }
    Err(Problem::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "tier-unavailable",
        "A tier did not answer",
        format!(
            "{id:?} is in no tier that answered, and {}",
            silent.join("; ")
        ),
    ))
}

async fn fetch_json(name: TierName, tier: Option<&Arc<dyn Tier>>, id: &str) -> Value {
    let Some(tier) = tier else {
        return json!({"found": null, "off": true, "error": super::status::off(name)});
    };
    match in_time(name, tier.fetch(id)).await {
        Ok(Some(v)) => json!({"found": true, "record": v}),
        Ok(None) => json!({"found": false}),
        Err(e) => json!({"found": null, "error": e}),
    }
}

/// `GET /v1/records/{id}/trace`: the record as each tier holds it, read from each.
/// A tier that does not answer in time is named, and does not hold up the others.
pub async fn trace(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, Problem> {
    let hot = s.hot.get(&id).map_err(Problem::internal)?;
    let below = s
        .tiers
        .ask_each(|name, tier| fetch_json(name, tier, &id))
        .await;
    if hot.is_none() && below.iter().all(|v| v["found"] == false) {
        return Err(not_found(&id));
    }
    let mut tiers = json!({"hot": match hot {
        Some(r) => json!({"found": true, "record": shown(r)}),
        None => json!({"found": false}),
    }});
    for (name, v) in TierName::DOWNSTREAM.into_iter().zip(below) {
        tiers[name.as_str()] = v;
    }
    Ok(Json(json!({"id": id, "tiers": tiers})))
}
