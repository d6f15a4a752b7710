//! Where incidents gather on the H3 grid: Gi* hotspots and clusters of cells, in SQL.

use ctas_core::geo::cluster;
use ctas_core::geo::hotspot::{self, Kernel};
use pgrx::datum::Array;
use pgrx::prelude::*;
use pgrx::JsonB;

use crate::error::{as_cells, or_raise, slice_no_nulls};

/// Gi* z-score and two-sided p-value for every cell, over its k-ring with a kernel.
#[pg_extern(immutable, strict, parallel_safe)]
fn ctas_h3_getis_ord(
    cells: Array<i64>,
    values: Array<f64>,
    k: default!(i32, 1),
    kernel: default!(&str, "'uniform'"),
) -> TableIterator<'static, (name!(cell, i64), name!(z_score, f64), name!(p_value, f64))> {
    let kernel = or_raise(Kernel::parse(kernel));
    let cells = as_cells(slice_no_nulls(&cells, "cells"));
    let values = slice_no_nulls(&values, "values");
    let spots = or_raise(hotspot::getis_ord(cells, values, k, kernel));
    TableIterator::new(
        spots
            .into_iter()
            .map(|h| (h.cell as i64, h.z_score, h.p_value)),
    )
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
COMMENT ON FUNCTION ctas_h3_getis_ord(bigint[], float8[], int, text) IS
'Getis-Ord Gi* for every cell of cells (distinct, one resolution) with its value: (cell, z_score, p_value two-sided). Neighbours are the input cells within k rings (default 1), weighted by kernel uniform (default), triangular, quadratic, quartic or gaussian with bandwidth k+1 rings. Matches PySAL esda G_Local(star=True) with binary k-ring weights and CARTO GETIS_ORD_H3.';
COMMENT ON FUNCTION ctas_h3_cell_clusters(bigint[], float8[], float8, int) IS
'Clusters of the cells (distinct, one resolution) whose weight is at least min_weight (default 0), two cells joining when at most gap rings (default 0: touching) lie between them: (cluster_id from 0, cells, total_weight, centroid point x = lng y = lat weighted on the sphere, outline GeoJSON MultiPolygon with holes).';
"#,
    name = "ctas_hotspot_comments",
    requires = [ctas_h3_getis_ord, ctas_h3_cell_clusters]
);
