//! `ctas_dbscan`: DBSCAN of points on the sphere, in SQL.

use ctas_core::geo::dbscan;
use pgrx::datum::Array;
use pgrx::prelude::*;

use crate::error::{or_raise, slice_no_nulls};

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

extension_sql!(
    r#"
COMMENT ON FUNCTION ctas_dbscan(bigint[], float8[], float8[], float8, int) IS
'DBSCAN of points given as ids, lats and lngs (degrees, same order) with eps in metres on the sphere and minpoints (itself included): (id, cluster_id from 0, NULL for noise). Clusters as PostGIS ST_ClusterDBSCAN; a border point near two clusters joins the one of its nearest core point.';
"#,
    name = "ctas_cluster_comments",
    requires = [ctas_dbscan]
);
