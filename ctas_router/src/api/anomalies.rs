//! Behaviour: what is sighted more often than its own history says it should be — per
//! indicator, source, H3 cell or ATT&CK technique — judged by the extension in the cold
//! tier (`ctas_sighting_anomalies`), so the router and SQL give the same answer.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, Utc};
use ctas_core::behaviour::{Method, Mode};
use serde_json::{json, Value};

use super::{invalid, invalid_query, within, AppState, Problem, TIER_ANSWER_TIMEOUT};
use crate::tiers::cold::{Anomaly, AnomalyQuery};
use crate::tiers::TierName;

/// Anomalies a page holds by default, and at most.
const PAGE: usize = 100;
const MAX_PAGE: usize = 1000;

/// The query of `GET /v1/anomalies`.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnomaliesQuery {
    /// What a series counts the sightings of: `indicator` (default), `source`, `cell`
    /// or `technique`.
    by: Option<String>,
    /// The points judged: from this time on (RFC 3339; a day ago by default).
    since: Option<DateTime<Utc>>,
    /// How sightings are counted: per `1h` (default), `1d`, ….
    step: Option<String>,
    /// How far back before `since` each series reaches, the history it is judged by
    /// (`28d` by default).
    history: Option<String>,
    /// `auto` (default), `robust_z`, `ewma`, `seasonal`, `esd`.
    method: Option<String>,
    /// `online` (default: a point judged by the points before it alone) or
    /// `retrospective`.
    mode: Option<String>,
    /// Flagged past this many robust standard deviations (3 by default).
    threshold: Option<f64>,
    limit: Option<usize>,
    /// The `next` of the page before.
    cursor: Option<String>,
}

/// A duration parameter, in whole seconds, named when it is not one.
fn seconds(name: &str, text: &str) -> Result<i64, Problem> {
    crate::routing::duration(text)
        .ok()
        .filter(|d| *d > chrono::TimeDelta::zero())
        .map(|d| d.num_seconds())
        .ok_or_else(|| {
            invalid(format!(
                "{name} must be a duration such as 1h, 1d or 28d; got {text:?}"
            ))
        })
}

/// Where a page starts: after the anomaly at (score, time, key).
fn after(cursor: &str) -> Result<(f64, String, DateTime<Utc>), Problem> {
    let mut parts = cursor.splitn(3, '|');
    let parsed = (|| {
        let score: f64 = parts.next()?.parse().ok()?;
        let ts = DateTime::from_timestamp_micros(parts.next()?.parse().ok()?)?;
        Some((score, parts.next()?.to_owned(), ts))
    })();
    parsed.ok_or_else(|| invalid(format!("cursor {cursor:?} is not a `next` this API gave")))
}

fn next_of(a: &Anomaly) -> String {
    format!(
        "{}|{}|{}",
        a.point.anomaly_score,
        a.point.ts.timestamp_micros(),
        a.key
    )
}

/// `GET /v1/anomalies?by=&since=&step=&history=&method=&mode=&threshold=&limit=&cursor=`:
/// the anomalous counts since a time, the most anomalous first, each with what was
/// expected and the band it fell out of.
pub async fn list(
    State(s): State<AppState>,
    query: Result<Query<AnomaliesQuery>, QueryRejection>,
) -> Result<Json<Value>, Problem> {
    let Query(q) = query.map_err(|e| invalid_query("invalid-query", e))?;
    let by = q.by.unwrap_or_else(|| "indicator".to_owned());
    if !["indicator", "source", "cell", "technique"].contains(&by.as_str()) {
        return Err(invalid(format!(
            "by must be indicator, source, cell or technique; got {by:?}"
        )));
    }
    let method = q.method.unwrap_or_else(|| "auto".to_owned());
    if Method::parse(&method).is_none() {
        let names: Vec<&str> = Method::ALL.iter().map(|m| m.as_str()).collect();
        return Err(invalid(format!(
            "method must be one of {}; got {method:?}",
            names.join(", ")
        )));
    }
    let mode = q.mode.unwrap_or_else(|| "online".to_owned());
    if Mode::parse(&mode).is_none() {
        return Err(invalid(format!(
            "mode must be online or retrospective; got {mode:?}"
        )));
    }
    let threshold = q.threshold.unwrap_or(3.0);
    if !(threshold.is_finite() && threshold > 0.0) {
        return Err(invalid(format!(
            "threshold must be a positive number; got {threshold}"
        )));
    }
    let limit = super::page_limit(q.limit, PAGE, MAX_PAGE)?;
    let asked = AnomalyQuery {
        by,
        since: q
            .since
            .unwrap_or_else(|| Utc::now() - chrono::TimeDelta::days(1)),
        step_seconds: seconds("step", q.step.as_deref().unwrap_or("1h"))?,
        history_seconds: seconds("history", q.history.as_deref().unwrap_or("28d"))?,
        method,
        mode,
        threshold,
        after: q.cursor.as_deref().map(after).transpose()?,
        // One more than the page, to know whether another follows.
        limit: limit as i64 + 1,
    };
    let Some(cold) = &s.cold else {
        return Err(Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "tier-off",
            "The cold tier is off",
            format!(
                "{}; anomalies are judged over its history",
                super::status::off(TierName::Cold)
            ),
        ));
    };
    let found = within(
        TIER_ANSWER_TIMEOUT * 10,
        TierName::Cold,
        cold.anomalies(&asked),
    )
    .await
    .map_err(|e| {
        Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "tier-unavailable",
            "The cold tier did not answer",
            e,
        )
    })?;
    let Some(mut found) = found else {
        return Err(Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "no-extension",
            "The cold tier cannot judge",
            "the cold tier's database has no ctas extension, whose ctas_sighting_anomalies \
             judges the history: CREATE EXTENSION ctas there (docs/behaviour.md)"
                .to_owned(),
        ));
    };
    let next = (found.len() > limit).then(|| {
        found.truncate(limit);
        next_of(&found[limit - 1])
    });
    Ok(Json(json!({"anomalies": found, "next": next})))
}
