//! Indicators asked by value: one (`GET`), or a batch at once (a SIEM enriching).

use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Utc};
use ctas_core::score;

use super::{body_format, invalid_query, AppState, Problem, MODELS};
use crate::lookup;
use crate::metrics::Answered;

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IndicatorQuery {
    /// The kind, for a value CTAS cannot classify alone (a file name, a MISP type's).
    kind: Option<String>,
    model: Option<String>,
    at: Option<DateTime<Utc>>,
    /// Add how it was sighted in the last day, judged over the 28 days before.
    behaviour: Option<bool>,
}

/// How far back the behaviour of `?behaviour=true` is judged over, and the window of it
/// the answer lists (as `ctas_sighting_anomalies` does by default).
const BEHAVIOUR_HISTORY: chrono::TimeDelta = chrono::TimeDelta::days(28);
const BEHAVIOUR_WINDOW: chrono::TimeDelta = chrono::TimeDelta::days(1);

/// `GET /v1/indicators/{value}?kind=&model=&at=&behaviour=`: what is known of an
/// indicator, asked by its value as an analyst has it ([`lookup::look_up`]); with
/// `behaviour=true`, also how it was sighted in the last day ([`behaviour`]).
pub async fn one(
    State(s): State<AppState>,
    Path(value): Path<String>,
    query: Result<Query<IndicatorQuery>, QueryRejection>,
) -> Result<Json<lookup::Answer>, Problem> {
    let Query(q) = query.map_err(|e| invalid_query("invalid-query", e))?;
    let at = q.at.unwrap_or_else(Utc::now);
    let asked = lookup::Asked {
        kind: q.kind,
        model: q.model.unwrap_or_else(|| "ctas:admiralty".to_owned()),
        at,
    };
    let mut answer = lookup::look_up(&s.lookup_tiers(), value, asked).await;
    let answered = match &answer {
        Ok(a) => Some(match a.tier {
            "warm" => Answered::Warm,
            "cold" => Answered::Cold,
            _ => Answered::Hot,
        }),
        Err(
            e @ (lookup::LookupError::Unknown { .. }
            | lookup::LookupError::NotAnIndicator(_)
            | lookup::LookupError::Unavailable { .. }),
        ) => Some(e.answered()),
        Err(_) => None,
    };
    if let Some(a) = answered {
        s.metrics.count_lookups(a, 1);
    }
    if let (Ok(a), Some(true)) = (&mut answer, q.behaviour) {
        a.behaviour = Some(behaviour(&s, &a.id, at).await);
    }
    answer.map(Json).map_err(Problem::from)
}

/// How the indicator `id` was sighted in the day before `at`: the anomalous hours and
/// behaviour events the extension finds in the cold tier's history (#18), or why not.
async fn behaviour(s: &AppState, id: &str, at: DateTime<Utc>) -> lookup::BehaviourAnswer {
    let unknown = |error: String| lookup::BehaviourAnswer::Unknown { error };
    let Some(cold) = &s.cold else {
        return unknown(super::status::off(crate::tiers::TierName::Cold));
    };
    let asked = cold.behaviour(id, at, BEHAVIOUR_HISTORY, BEHAVIOUR_WINDOW);
    match super::in_time(crate::tiers::TierName::Cold, asked).await {
        Ok(Some(b)) => lookup::BehaviourAnswer::Judged(b),
        Ok(None) => unknown(
            "the cold tier's database has not the ctas extension (CREATE EXTENSION ctas): \
             behaviour is judged by its ctas_anomalies and ctas_events"
                .to_owned(),
        ),
        Err(e) => unknown(e),
    }
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchQuery {
    model: Option<String>,
    at: Option<DateTime<Utc>>,
}

/// `POST /v1/indicators/lookup?model=&at=` with `{"values": [...], "kind": ...}`: up to
/// [`lookup::MAX_BATCH`] values at once (a SIEM enriching its events), each answered as
/// `GET /v1/indicators/{value}` would, or marked unknown, in the order asked.
pub async fn batch(
    State(s): State<AppState>,
    query: Result<Query<BatchQuery>, QueryRejection>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Problem> {
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
    let asked = lookup::Asked {
        kind: batch.kind,
        model,
        at: q.at.unwrap_or_else(Utc::now),
    };
    let answers = lookup::look_up_all(&s.lookup_tiers(), batch.values, asked)
        .await
        .map_err(Problem::from)?;
    for (answered, n) in answers.tally() {
        s.metrics.count_lookups(answered, n);
    }
    // Written into a buffer of about its size (megabytes for a large batch: grown from
    // small it was copied over and over), and the answers let go on the background
    // runtime, not before the response leaves: freeing 5,000 of them was a tenth of
    // the request's time.
    let mut out = Vec::with_capacity(answers.found * 1100 + answers.asked * 120 + 64);
    serde_json::to_writer(&mut out, &answers).map_err(Problem::internal)?;
    s.background.spawn_blocking(move || drop(answers));
    Ok(([(header::CONTENT_TYPE, "application/json")], out).into_response())
}
