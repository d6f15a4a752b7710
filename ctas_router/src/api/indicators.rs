//! Indicators asked by value: one (`GET`), or a batch at once (a SIEM enriching).

use axum::body::{Body, Bytes};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Utc};
use ctas_core::score;
use futures_util::{future, stream, StreamExt, TryStreamExt};

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
            e @ (lookup::LookupError::Unknown(_)
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
    Ok(streamed(&s.background, answers))
}

/// `batch` as serde_json writes it, sent as it is written: its results in parts written
/// on the blocking threads at once (5,000 answers are 5 MB of JSON, a quarter of the
/// request's time on one thread), each part sent once it and those before it are, then
/// its answers let go on the background runtime (freeing 5,000 of them was a tenth of
/// the request's time), in [`lookup::parts_for_cores`] parts. Nothing is made whole in
/// memory (5 MB more to copy, and to fault in: fresh pages were a tenth of the time). A
/// part that cannot be written ends the body short, which the client sees as a broken
/// transfer, not as a shorter answer.
fn streamed(background: &tokio::runtime::Handle, batch: lookup::Batch) -> Response {
    let lookup::Batch {
        asked,
        found,
        results,
        unavailable,
    } = batch;
    let size = results
        .len()
        .div_ceil(lookup::parts_for_cores())
        .max(lookup::PART);
    let mut results = results.into_iter();
    let mut parts = Vec::new();
    loop {
        let part: Vec<lookup::BatchEntry> = results.by_ref().take(size).collect();
        if part.is_empty() {
            break;
        }
        let (first, background) = (parts.is_empty(), background.clone());
        parts.push(tokio::task::spawn_blocking(move || {
            let bytes = part
                .iter()
                .map(|e| match e {
                    lookup::BatchEntry::Known { .. } => 1100,
                    lookup::BatchEntry::Unknown { .. } => 150,
                })
                .sum();
            let mut out = Vec::with_capacity(bytes);
            for (i, entry) in part.iter().enumerate() {
                if i > 0 || !first {
                    out.push(b',');
                }
                serde_json::to_writer(&mut out, entry)?;
            }
            background.spawn_blocking(move || drop(part));
            Ok::<_, serde_json::Error>(Bytes::from(out))
        }));
    }
    let head = format!("{{\"asked\":{asked},\"found\":{found},\"results\":[");
    let mut tail = b"],\"unavailable\":".to_vec();
    let tail = serde_json::to_writer(&mut tail, &unavailable).map(|()| {
        tail.push(b'}');
        Bytes::from(tail)
    });
    let parts = stream::iter(parts).then(|part| async {
        match part.await {
            Ok(written) => written,
            Err(e) => Err(serde_json::Error::io(std::io::Error::other(e))),
        }
    });
    let body = stream::once(future::ready(Ok(Bytes::from(head))))
        .chain(parts)
        .chain(stream::once(future::ready(tail)))
        .inspect_err(|e| tracing::error!(error = %e, "a batch lookup's answer was cut short"));
    (
        [(header::CONTENT_TYPE, "application/json")],
        Body::from_stream(body),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A known value's answer, as a lookup makes it.
    fn known(i: usize) -> lookup::BatchEntry {
        let at = DateTime::from_timestamp(1_700_000_000 + i as i64, 123_456_000).unwrap();
        let value = format!("known-{i}.example.net");
        lookup::BatchEntry::Known {
            found: true,
            indicator: Box::new(lookup::Answer {
                behaviour: None,
                first_seen: Some(at),
                id: format!("indicator--{i}"),
                kind: "domain".into(),
                last_seen: None,
                related: vec![lookup::RelatedAnswer {
                    id: "malware--1".into(),
                    name: Some("Emotet \"epoch\" 5\u{1f41b}".into()),
                    object_type: Some("malware".into()),
                    outgoing: true,
                    relationship_type: "indicates".into(),
                    via: None,
                }],
                reports: vec!["report--1".into()],
                score: score::Combined {
                    score: 81.239_433_886_376_64,
                    model: "ctas:admiralty".into(),
                    base: 82.0,
                    sources: Vec::new(),
                    sightings: 1,
                    independent_sightings: 1,
                    sighting_boost: 2.0,
                    reference_time: Some(at),
                    at,
                    elapsed_days: 0.010_323_512_430_555_555,
                    threshold: 30.0,
                    decayed: false,
                    valid_until: None,
                },
                sightings: 1,
                sources: vec![lookup::SourceAnswer {
                    credibility: Some("2".into()),
                    name: Some("load".into()),
                    reliability: None,
                }],
                stix_id: None,
                tier: "hot",
                value: value.clone(),
            }),
            value,
        }
    }

    fn unknown(i: usize) -> lookup::BatchEntry {
        let (kind, normal) = ("domain".to_owned(), format!("unknown-{i}\t.example.net"));
        let id = ctas_core::model::indicator_id(&kind, &normal);
        lookup::BatchEntry::Unknown {
            found: false,
            reason: lookup::LookupError::Unknown(std::sync::Arc::new(lookup::Name {
                kind,
                normal,
                id,
            })),
            value: format!("unknown-{i}\t"),
        }
    }

    /// The streamed answer is, byte for byte, what serde_json writes of the whole batch:
    /// empty, within one part, and over many parts, the known answers all at one end.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_streamed_batch_is_what_serde_json_writes() {
        for (known_n, unknown_n) in [(0, 0), (1, 2), (700, 0), (3000, 2500)] {
            let batch = || lookup::Batch {
                asked: known_n + unknown_n,
                found: known_n,
                results: (0..known_n)
                    .map(known)
                    .chain((0..unknown_n).map(unknown))
                    .collect(),
                unavailable: vec!["cold".into()],
            };
            let whole = serde_json::to_vec(&batch()).unwrap();
            let resp = streamed(&tokio::runtime::Handle::current(), batch());
            let sent = axum::body::to_bytes(resp.into_body(), usize::MAX)
                .await
                .unwrap();
            assert!(
                sent == whole,
                "{known_n} known, {unknown_n} unknown: the streamed answer differs"
            );
        }
    }
}
