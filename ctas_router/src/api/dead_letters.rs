//! Dead letters: the records a tier refused for good, listed, and sent again once the
//! cause is fixed.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Value};

use super::{invalid_query, AppState, Problem, MAX_DEAD_LETTERS_LISTED};
use crate::tiers::TierName;

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
        Some(name) => super::tier_named(name).map(|t| vec![t]),
    }
}

fn dead_letter_query(
    query: Result<Query<DeadLetterQuery>, QueryRejection>,
) -> Result<DeadLetterQuery, Problem> {
    query
        .map(|Query(q)| q)
        .map_err(|e| invalid_query("invalid-query", e))
}

/// `GET /v1/dead-letters?tier=&limit=`: the records each tier refused for good, with
/// what the tier said, oldest first.
pub async fn list(
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
pub async fn replay(
    State(s): State<AppState>,
    query: Result<Query<DeadLetterQuery>, QueryRejection>,
) -> Result<Json<Value>, Problem> {
    let q = dead_letter_query(query)?;
    let mut out = serde_json::Map::new();
    let tiers = tiers_named(&q)?;
    // Sent to a tier that is off, they would wait for it in the log.
    if let [tier] = tiers[..] {
        if !s.is_on(tier) {
            return Err(Problem::new(
                StatusCode::CONFLICT,
                "tier-off",
                "The tier is off",
                format!(
                    "{}; its dead letters stay until it is on again",
                    super::status::off(tier)
                ),
            ));
        }
    }
    for tier in tiers.into_iter().filter(|&t| s.is_on(t)) {
        let n = s.hot.replay(tier).await.map_err(Problem::from)?;
        out.insert(tier.to_string(), json!(n));
    }
    s.wake.notify_waiters();
    Ok(Json(json!({"replayed": out})))
}
