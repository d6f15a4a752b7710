//! `ctas_h3_getis_ord`: Getis-Ord Gi* hotspots over H3 cells, in SQL.

use ctas_core::geo::hotspot::{self, Kernel};
use pgrx::datum::Array;
use pgrx::prelude::*;

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

extension_sql!(
    r#"
COMMENT ON FUNCTION ctas_h3_getis_ord(bigint[], float8[], int, text) IS
'Getis-Ord Gi* for every cell of cells (distinct, one resolution) with its value: (cell, z_score, p_value two-sided). Neighbours are the input cells within k rings (default 1), weighted by kernel uniform (default), triangular, quadratic, quartic or gaussian with bandwidth k+1 rings. Matches PySAL esda G_Local(star=True) with binary k-ring weights and CARTO GETIS_ORD_H3.';
"#,
    name = "ctas_hotspot_comments",
    requires = [ctas_h3_getis_ord]
);
