//! Verify: what each tier holds compared with the hot tier ([`crate::verify`]), and the
//! repair that sends what is missing or stale again.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Value};

use super::{invalid_query, page_limit, AppState, Problem};
use crate::tiers::TierName;
use crate::verify::{self, Options};

/// Most findings a tier lists by default, and at most.
const LISTED: usize = 100;
const MAX_LISTED: usize = 10_000;

/// Objects of the hot tier a call compares by default, and at most: about 3 s a tier
/// at the 30,000 comparisons a second measured, well within the request timeout.
const OBJECTS: usize = 100_000;
const MAX_OBJECTS: usize = 1_000_000;

/// The query of both calls: one tier or every tier that is on, how many findings to
/// list, and the page of the hot tier's objects to compare.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerifyQuery {
    tier: Option<String>,
    limit: Option<usize>,
    objects: Option<usize>,
    cursor: Option<String>,
}

/// The tiers asked for: the one named (409 when off), or every tier that is on.
fn tiers(s: &AppState, q: &VerifyQuery) -> Result<Vec<TierName>, Problem> {
    let Some(name) = &q.tier else {
        return Ok(TierName::DOWNSTREAM
            .into_iter()
            .filter(|&t| s.is_on(t))
            .collect());
    };
    let tier = super::tier_named(name)?;
    if !s.is_on(tier) {
        return Err(Problem::new(
            StatusCode::CONFLICT,
            "tier-off",
            "The tier is off",
            format!("{}; there is nothing to verify", super::status::off(tier)),
        ));
    }
    Ok(vec![tier])
}

async fn run(
    s: AppState,
    query: Result<Query<VerifyQuery>, QueryRejection>,
    repair: bool,
) -> Result<Json<Value>, Problem> {
    let q = query
        .map(|Query(q)| q)
        .map_err(|e| invalid_query("invalid-query", e))?;
    let list = page_limit(q.limit, LISTED, MAX_LISTED)?;
    let objects = q.objects.unwrap_or(OBJECTS);
    if !(1..=MAX_OBJECTS).contains(&objects) {
        return Err(super::invalid(format!(
            "objects must be 1 to {MAX_OBJECTS}; got {objects}"
        )));
    }
    let tiers = tiers(&s, &q)?;
    let opts = Options {
        repair,
        list,
        after: q.cursor,
        objects,
    };
    let page = verify::run(&s, &tiers, &opts)
        .await
        .map_err(|e| Problem::internal(format!("verify could not read the hot tier: {e}")))?;
    let clean = page.tiers.iter().all(verify::TierReport::is_clean);
    Ok(Json(
        json!({"clean": clean, "tiers": page.tiers, "next": page.next}),
    ))
}

/// `GET /v1/verify?tier=&limit=&objects=&cursor=`: a page of the items the hot tier
/// holds (`objects` of them, after `cursor`), compared with each tier it was sent to;
/// what is missing or stale there, counted and listed; `next` is the cursor of the next
/// page.
pub async fn check(
    State(s): State<AppState>,
    query: Result<Query<VerifyQuery>, QueryRejection>,
) -> Result<Json<Value>, Problem> {
    run(s, query, false).await
}

/// `POST /v1/verify/repair?tier=&limit=&objects=&cursor=`: the same, and what is missing or stale is
/// sent to its tier again (`resent`); verify again once the tier has taken it.
pub async fn repair(
    State(s): State<AppState>,
    query: Result<Query<VerifyQuery>, QueryRejection>,
) -> Result<Json<Value>, Problem> {
    run(s, query, true).await
}
