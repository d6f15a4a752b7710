//! The graph: what is tied to an object, from Neo4j.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Serialize;

use super::{invalid, invalid_query, within, AppState, Problem, TIER_ANSWER_TIMEOUT};
use crate::tiers::graph::{edge_type, Neighbor, NodeView};
use crate::tiers::TierName;

/// Deepest walk asked: at four edges ATT&CK's groups reach most of the graph.
pub const MAX_DEPTH: u32 = 3;
/// Neighbours a page holds by default, and at most.
pub const PAGE: usize = 100;
pub const MAX_PAGE: usize = 1000;

/// The query of `GET /v1/graph/{id}/neighbors`.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NeighborsQuery {
    /// Edges from the object, 1 to [`MAX_DEPTH`]; 1 by default.
    depth: Option<u32>,
    /// Edge types, comma-separated, as the graph writes them (`USES`) or as STIX does
    /// (`uses`, `attributed-to`); all by default.
    types: Option<String>,
    limit: Option<usize>,
    /// The `next` of the page before.
    cursor: Option<String>,
}

/// One page of a neighbourhood.
#[derive(Serialize)]
pub struct NeighborsPage {
    id: String,
    node: NodeView,
    depth: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    types: Option<Vec<String>>,
    neighbors: Vec<Neighbor>,
    /// The cursor of the next page; null on the last.
    next: Option<String>,
    /// The walk stopped at `crate::tiers::graph::MAX_VISITED` nodes: there are more.
    truncated: bool,
}

/// An edge type as the graph writes it, from either spelling.
fn graph_edge(name: &str) -> String {
    match name.trim().to_ascii_uppercase().as_str() {
        // A sighting's edge, which no relationship type names.
        "SIGHTED" => "SIGHTED".to_owned(),
        _ => edge_type(&name.trim().to_ascii_lowercase()),
    }
}

/// Where a page starts: after the neighbour at (distance, id).
fn after(cursor: &str) -> Result<(u32, &str), Problem> {
    cursor
        .split_once(':')
        .and_then(|(d, id)| Some((d.parse().ok()?, id)))
        .filter(|(_, id)| !id.is_empty())
        .ok_or_else(|| invalid(format!("cursor {cursor:?} is not a `next` this API gave")))
}

/// `GET /v1/graph/{id}/neighbors?depth=&types=&limit=&cursor=`: the objects within
/// `depth` edges of one, nearest first then by id, each with the edge it was reached by.
pub async fn neighbors(
    State(s): State<AppState>,
    Path(id): Path<String>,
    query: Result<Query<NeighborsQuery>, QueryRejection>,
) -> Result<Json<NeighborsPage>, Problem> {
    let Query(q) = query.map_err(|e| invalid_query("invalid-query", e))?;
    let depth = q.depth.unwrap_or(1);
    if !(1..=MAX_DEPTH).contains(&depth) {
        return Err(invalid(format!(
            "depth must be 1 to {MAX_DEPTH}; got {depth}"
        )));
    }
    let limit = super::page_limit(q.limit, PAGE, MAX_PAGE)?;
    let types: Option<Vec<String>> = q.types.as_deref().map(|t| {
        t.split(',')
            .filter(|x| !x.trim().is_empty())
            .map(graph_edge)
            .collect()
    });
    let start = q.cursor.as_deref().map(after).transpose()?;
    let Some(graph) = &s.graph else {
        return Err(Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "tier-off",
            "The graph tier is off",
            super::status::off(TierName::Graph),
        ));
    };
    let walk = graph.neighbors(&id, depth, types.clone());
    let found = within(TIER_ANSWER_TIMEOUT * 10, TierName::Graph, walk)
        .await
        .map_err(|e| {
            Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "tier-unavailable",
                "The graph tier did not answer",
                e,
            )
        })?;
    let Some(hood) = found else {
        return Err(Problem::new(
            StatusCode::NOT_FOUND,
            "not-found",
            "No such object in the graph",
            format!("the graph has no report, indicator or entity with id {id:?}"),
        ));
    };
    let mut all = hood.neighbors;
    // Nearest first, then by id: the order cursors count in.
    all.sort_by(|a, b| (a.distance, &a.node.id).cmp(&(b.distance, &b.node.id)));
    let from = match start {
        None => 0,
        Some((d, last)) => all.partition_point(|n| (n.distance, n.node.id.as_str()) <= (d, last)),
    };
    let rest = all.split_off(from.min(all.len()));
    let next = (rest.len() > limit).then(|| {
        let last = &rest[limit - 1];
        format!("{}:{}", last.distance, last.node.id)
    });
    Ok(Json(NeighborsPage {
        id,
        node: hood.start,
        depth,
        types,
        neighbors: rest.into_iter().take(limit).collect(),
        next,
        truncated: hood.truncated,
    }))
}
