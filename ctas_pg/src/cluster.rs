//! Clustering in SQL: DBSCAN of points on the sphere, and clusters of H3 cells.

use ctas_core::geo::{cluster, dbscan};
use pgrx::datum::Array;
use pgrx::prelude::*;
use pgrx::JsonB;

use crate::error::{as_cells, or_raise, slice_no_nulls};

/// DBSCAN of points (ids, lats, lngs in degrees) with eps in metres on the sphere:
/// one row per point, its cluster (from 0) or NULL for noise.
#[pg_extern(immutable, strict, parallel_safe)]
fn ctas_dbscan(
    ids: Array<i64>,
    lats: Array<f64>,
    lngs: Array<f64>,
    eps_m: f64,
    minpoints: i32,
) -> TableIterator<'static, (name!(id, i64), name!(cluster_id, Option<i32>))> {
    let ids = slice_no_nulls(&ids, "ids");
    let lats = slice_no_nulls(&lats, "lats");
    let lngs = slice_no_nulls(&lngs, "lngs");
    if ids.len() != lats.len() {
        ereport!(
            ERROR,
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            format!(
                "ids and lats must have the same length, got {} and {}",
                ids.len(),
                lats.len()
            )
        );
    }
    let clusters = or_raise(dbscan::dbscan(lats, lngs, eps_m, minpoints));
    // The rows must outlive the arguments, so they are collected, not borrowed.
    let rows: Vec<(i64, Option<i32>)> = ids
        .iter()
        .copied()
        .zip(clusters)
        .map(|(id, c)| (id, c.map(|c| c as i32)))
        .collect();
    TableIterator::new(rows)
}

/// Clusters of the cells whose weight reaches `min_weight`, joined across gaps of at
/// most `gap` rings: id, cells, total weight, weighted centroid, GeoJSON outline.
#[pg_extern(immutable, strict, parallel_safe)]
fn ctas_h3_cell_clusters(
    cells: Array<i64>,
    weights: Array<f64>,
    min_weight: default!(f64, 0.0),
    gap: default!(i32, 0),
) -> TableIterator<
    'static,
    (
        name!(cluster_id, i32),
        name!(cells, Vec<i64>),
        name!(total_weight, f64),
        name!(centroid, pg_sys::Point),
        name!(outline, JsonB),
    ),
> {
    let cells = as_cells(slice_no_nulls(&cells, "cells"));
    let weights = slice_no_nulls(&weights, "weights");
    let clusters = or_raise(cluster::cell_clusters(cells, weights, min_weight, gap));
    TableIterator::new(clusters.into_iter().map(|c| {
        (
            c.id as i32,
            c.cells.into_iter().map(|x| x as i64).collect(),
            c.total_weight,
            pg_sys::Point {
                x: c.centroid.1,
                y: c.centroid.0,
            },
            JsonB(c.outline),
        )
    }))
}

extension_sql!(
    r#"
COMMENT ON FUNCTION ctas_dbscan(bigint[], float8[], float8[], float8, int) IS
'DBSCAN of points given as ids, lats and lngs (degrees, same order) with eps in metres on the sphere and minpoints (itself included): (id, cluster_id from 0, NULL for noise). Clusters as PostGIS ST_ClusterDBSCAN; a border point near two clusters joins the one of its nearest core point.';
COMMENT ON FUNCTION ctas_h3_cell_clusters(bigint[], float8[], float8, int) IS
'Clusters of the cells (distinct, one resolution) whose weight is at least min_weight (default 0), two cells joining when at most gap rings (default 0: touching) lie between them: (cluster_id from 0, cells, total_weight, centroid point x = lng y = lat weighted on the sphere, outline GeoJSON MultiPolygon with holes).';
"#,
    name = "ctas_cluster_comments",
    requires = [ctas_dbscan, ctas_h3_cell_clusters]
);
