//! Clustering in SQL: DBSCAN of points on the sphere, and clusters of H3 cells.

use ctas_core::geo::{cluster, dbscan};
use pgrx::datum::{Array, FromDatum};
use pgrx::prelude::*;
use pgrx::JsonB;

use crate::error::{as_cells, or_raise, slice_no_nulls};
use crate::fmgr::{arg, v1_call_convention, v1_former_name};
use crate::srf::Rows;

v1_call_convention!(pg_finfo_ctas_dbscan_v1);

/// `ctas_dbscan(ids, lats, lngs, eps_m, minpoints)`: DBSCAN of points (degrees) with eps
/// in metres on the sphere, one row per point, its cluster (from 0) or NULL for noise.
/// A materialize-mode set function (`crate::srf`): a million rows one call each cost a
/// quarter of a second.
///
/// # Safety
/// Called by PostgreSQL as the STRICT function declared below: (bigint[], float8[],
/// float8[], float8, int), none NULL.
#[no_mangle]
#[doc(hidden)]
pub unsafe extern "C-unwind" fn ctas_dbscan_v1(fcinfo: pg_sys::FunctionCallInfo) -> pg_sys::Datum {
    pg_sys::submodules::panic::pgrx_extern_c_guard(|| {
        let ids = Array::<i64>::from_datum(arg(fcinfo, 0), false).expect("STRICT");
        let lats = Array::<f64>::from_datum(arg(fcinfo, 1), false).expect("STRICT");
        let lngs = Array::<f64>::from_datum(arg(fcinfo, 2), false).expect("STRICT");
        let eps_m = f64::from_datum(arg(fcinfo, 3), false).expect("STRICT");
        let minpoints = i32::from_datum(arg(fcinfo, 4), false).expect("STRICT");
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
        let rows = Rows::materialize(fcinfo);
        for (&id, c) in ids.iter().zip(clusters) {
            rows.put(
                [
                    pg_sys::Datum::from(id),
                    pg_sys::Datum::from(c.map_or(0, |c| c as i32)),
                ],
                [false, c.is_none()],
            );
        }
        pg_sys::Datum::from(0)
    })
}

// 0.1.0 declared the function under pgrx's symbol name.
v1_former_name!(ctas_dbscan_wrapper, pg_finfo_ctas_dbscan_wrapper => ctas_dbscan_v1);

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

// CREATE OR REPLACE: the upgrade from 0.1.0, where ctas_dbscan already exists with the
// same signature, runs this block as it is.
extension_sql!(
    r#"
CREATE OR REPLACE FUNCTION ctas_dbscan(
    ids bigint[], lats float8[], lngs float8[], eps_m float8, minpoints int
) RETURNS TABLE (id bigint, cluster_id int)
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c
AS 'MODULE_PATHNAME', 'ctas_dbscan_v1';

COMMENT ON FUNCTION ctas_dbscan(bigint[], float8[], float8[], float8, int) IS
'DBSCAN of points given as ids, lats and lngs (degrees, same order) with eps in metres on the sphere and minpoints (itself included): (id, cluster_id from 0, NULL for noise). Clusters as PostGIS ST_ClusterDBSCAN; a border point near two clusters joins the one of its nearest core point.';
COMMENT ON FUNCTION ctas_h3_cell_clusters(bigint[], float8[], float8, int) IS
'Clusters of the cells (distinct, one resolution) whose weight is at least min_weight (default 0), two cells joining when at most gap rings (default 0: touching) lie between them: (cluster_id from 0, cells, total_weight, centroid point x = lng y = lat weighted on the sphere, outline GeoJSON MultiPolygon with holes).';
"#,
    name = "ctas_cluster_comments",
    requires = [ctas_h3_cell_clusters]
);
