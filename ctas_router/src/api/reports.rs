//! Reports by area and time, from the warm tier and the cold one: where and when
//! something was seen.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, Utc};
use ctas_core::geo::h3;
use ctas_core::model::RECORD_H3_RESOLUTION;
use serde_json::{json, Value};

use super::{invalid, invalid_query, within, AppState, Problem, TIER_ANSWER_TIMEOUT};
use crate::tiers::TierName;
use crate::tiers::{Area, Located};

/// Reports a page holds by default, and at most.
pub const PAGE: usize = 100;
pub const MAX_PAGE: usize = 1000;

/// The query of `GET /v1/reports`.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportsQuery {
    /// `west,south,east,north` in degrees, as OGC API – Features and GeoJSON order a
    /// box; west east of east crosses the antimeridian.
    bbox: Option<String>,
    /// An H3 cell, in hex as the H3 libraries print it or in decimal, at the stored
    /// resolution or coarser.
    h3: Option<String>,
    /// From this time on (RFC 3339, inclusive).
    since: Option<DateTime<Utc>>,
    /// Up to this time (RFC 3339, exclusive).
    until: Option<DateTime<Utc>>,
    limit: Option<usize>,
    /// The `next` of the page before.
    cursor: Option<String>,
}

/// The box `west,south,east,north`, each edge checked and named.
fn bbox(text: &str) -> Result<[f64; 4], Problem> {
    let parts: Vec<&str> = text.split(',').map(str::trim).collect();
    let [w, s, e, n] = parts[..] else {
        return Err(invalid(format!(
            "bbox must be four numbers west,south,east,north; got {text:?}"
        )));
    };
    let mut edges = [0.0; 4];
    for (i, (name, part, max)) in [
        ("west", w, 180.0),
        ("south", s, 90.0),
        ("east", e, 180.0),
        ("north", n, 90.0),
    ]
    .into_iter()
    .enumerate()
    {
        edges[i] = part
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite() && (-max..=max).contains(v))
            .ok_or_else(|| {
                invalid(format!(
                    "bbox: {name} must be a number of degrees in [-{max}, {max}]; got {part:?}"
                ))
            })?;
    }
    if edges[1] > edges[3] {
        return Err(invalid(format!(
            "bbox: south ({}) is north of north ({})",
            edges[1], edges[3]
        )));
    }
    Ok(edges)
}

/// The stored cells inside an H3 cell given in hex (`87283082bffffff`) or decimal.
fn cells(text: &str) -> Result<(u64, u64), Problem> {
    let t = text.trim();
    let cell = u64::from_str_radix(t.trim_start_matches("0x"), 16)
        .ok()
        .filter(|&c| h3::is_valid_cell(c))
        .or_else(|| t.parse::<u64>().ok().filter(|&c| h3::is_valid_cell(c)))
        .ok_or_else(|| {
            invalid(format!(
                "h3 must be an H3 cell index, in hex (87283082bffffff) or decimal; got {t:?}"
            ))
        })?;
    let res = h3::resolution_of(cell).map_err(|e| invalid(format!("h3: {e}")))?;
    if res > RECORD_H3_RESOLUTION {
        return Err(invalid(format!(
            "h3: cell {cell:x} is at resolution {res}, finer than the resolution \
             {RECORD_H3_RESOLUTION} reports are placed at; ask for its parent at \
             {RECORD_H3_RESOLUTION} or coarser, or for a bbox"
        )));
    }
    h3::descendants_range(cell, RECORD_H3_RESOLUTION).map_err(|e| invalid(format!("h3: {e}")))
}

/// Where a page starts: after the report at (time, id).
fn after(cursor: &str) -> Result<(i64, String), Problem> {
    cursor
        .split_once(':')
        .and_then(|(t, id)| Some((t.parse().ok()?, id.to_owned())))
        .filter(|(_, id)| !id.is_empty())
        .ok_or_else(|| invalid(format!("cursor {cursor:?} is not a `next` this API gave")))
}

/// A report as the API shows it: its cell in hex, as the H3 libraries print one (a
/// JavaScript number cannot hold an H3 index exactly).
fn view(r: Located) -> Value {
    json!({
        "id": r.id,
        "title": r.title,
        "source": r.source,
        "observed_at": r.observed_at,
        "published_at": r.published_at,
        "lat": r.lat,
        "lng": r.lng,
        "h3_cell": r.h3_cell.map(|c| format!("{c:x}")),
        "tags": r.tags,
        "indicators": r.indicators,
    })
}

/// `GET /v1/reports?bbox=&h3=&since=&until=&limit=&cursor=`: the reports (a flat
/// record's observation among them) seen in an area and a time window, newest first,
/// each with the indicators it names.
pub async fn list(
    State(s): State<AppState>,
    query: Result<Query<ReportsQuery>, QueryRejection>,
) -> Result<Json<Value>, Problem> {
    let Query(q) = query.map_err(|e| invalid_query("invalid-query", e))?;
    let limit = super::page_limit(q.limit, PAGE, MAX_PAGE)?;
    if let (Some(since), Some(until)) = (q.since, q.until) {
        if since >= until {
            return Err(invalid(format!(
                "since ({}) must be before until ({})",
                since.to_rfc3339(),
                until.to_rfc3339()
            )));
        }
    }
    let area = Area {
        bbox: q.bbox.as_deref().map(bbox).transpose()?,
        cells: q.h3.as_deref().map(cells).transpose()?,
        since: q.since.map(|t| t.timestamp_millis()),
        until: q.until.map(|t| t.timestamp_millis()),
        after: q.cursor.as_deref().map(after).transpose()?,
        // One more than the page, to know whether another follows.
        limit: limit + 1,
    };
    // Both tiers, at once: the warm one holds what is recent, the cold one the history
    // (what routing sent there alone, what the warm TTL let go). Each gives its first
    // limit + 1 after the cursor; merged, the first limit + 1 of the two are the page's.
    // A cold tier that is off holds nothing: the warm tier's answer is whole.
    let cold = async {
        match &s.cold {
            Some(cold) => Some(
                within(
                    TIER_ANSWER_TIMEOUT * 10,
                    TierName::Cold,
                    cold.reports(&area),
                )
                .await,
            ),
            None => None,
        }
    };
    let (warm, cold) = tokio::join!(
        within(
            TIER_ANSWER_TIMEOUT * 10,
            TierName::Warm,
            s.warm.reports(&area)
        ),
        cold,
    );
    let asked = 1 + usize::from(cold.is_some());
    let mut unavailable = Vec::new();
    let mut found: Vec<Located> = Vec::new();
    for (tier, answer) in [(TierName::Warm, Some(warm)), (TierName::Cold, cold)] {
        match answer {
            None => {}
            Some(Ok(reports)) => found.extend(reports),
            Some(Err(e)) => unavailable.push((tier, e)),
        }
    }
    if unavailable.len() == asked {
        let detail = unavailable
            .iter()
            .map(|(_, e)| e.as_str())
            .collect::<Vec<_>>();
        return Err(Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "tier-unavailable",
            "Neither the warm nor the cold tier answered",
            detail.join("; "),
        ));
    }
    // Newest first, then by id; a report in both tiers once (the warm tier's copy).
    found.sort_by(|a, b| (b.t, &b.id).cmp(&(a.t, &a.id)));
    found.dedup_by(|later, first| later.id == first.id);
    found.truncate(limit + 1);
    let next = (found.len() > limit).then(|| {
        found.truncate(limit);
        let last = &found[limit - 1];
        format!("{}:{}", last.t, last.id)
    });
    Ok(Json(json!({
        "reports": found.into_iter().map(view).collect::<Vec<_>>(),
        "next": next,
        // A tier that did not answer: the page is of the other alone.
        "unavailable": unavailable.iter().map(|(t, _)| t.as_str()).collect::<Vec<_>>(),
    })))
}
