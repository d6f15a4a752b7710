//! `ctas_h3_getis_ord`: Getis-Ord Gi* hotspots over H3 cells, in SQL.

use ctas_core::geo::hotspot::{self, Kernel};
use pgrx::datum::{Array, FromDatum};
use pgrx::prelude::*;

use crate::error::{as_cells, or_raise, slice_no_nulls};
use crate::fmgr::{arg, v1_call_convention, v1_former_name};
use crate::srf::Rows;

v1_call_convention!(pg_finfo_ctas_h3_getis_ord_v1);

/// `ctas_h3_getis_ord(cells, values, k, kernel)`: Gi* z-score and two-sided p-value for
/// every cell, over its k-ring with a kernel. A materialize-mode set function
/// (`crate::srf`): returning 100,000 rows one call each cost as much as Gi* itself.
///
/// # Safety
/// Called by PostgreSQL as the STRICT function declared below: (bigint[], float8[],
/// int, text), none NULL.
#[no_mangle]
#[doc(hidden)]
pub unsafe extern "C-unwind" fn ctas_h3_getis_ord_v1(
    fcinfo: pg_sys::FunctionCallInfo,
) -> pg_sys::Datum {
    pg_sys::submodules::panic::pgrx_extern_c_guard(|| {
        let cells = Array::<i64>::from_datum(arg(fcinfo, 0), false).expect("STRICT");
        let values = Array::<f64>::from_datum(arg(fcinfo, 1), false).expect("STRICT");
        let k = i32::from_datum(arg(fcinfo, 2), false).expect("STRICT");
        let kernel = <&str>::from_datum(arg(fcinfo, 3), false).expect("STRICT");
        let kernel = or_raise(Kernel::parse(kernel));
        let cells = as_cells(slice_no_nulls(&cells, "cells"));
        let values = slice_no_nulls(&values, "values");
        let spots = or_raise(hotspot::getis_ord(cells, values, k, kernel));
        let rows = Rows::materialize(fcinfo);
        for h in spots {
            rows.put(
                [
                    pg_sys::Datum::from(h.cell as i64),
                    h.z_score.into_datum().expect("a float8 is a datum"),
                    h.p_value.into_datum().expect("a float8 is a datum"),
                ],
                [false; 3],
            );
        }
        pg_sys::Datum::from(0)
    })
}

// 0.1.0 declared the function under pgrx's symbol name.
v1_former_name!(ctas_h3_getis_ord_wrapper, pg_finfo_ctas_h3_getis_ord_wrapper => ctas_h3_getis_ord_v1);

// CREATE OR REPLACE: the upgrade from 0.1.0, where the function already exists with the
// same signature, runs this block as it is.
extension_sql!(
    r#"
CREATE OR REPLACE FUNCTION ctas_h3_getis_ord(
    cells bigint[], "values" float8[], k int DEFAULT 1, kernel text DEFAULT 'uniform'
) RETURNS TABLE (cell bigint, z_score float8, p_value float8)
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c
AS 'MODULE_PATHNAME', 'ctas_h3_getis_ord_v1';

COMMENT ON FUNCTION ctas_h3_getis_ord(bigint[], float8[], int, text) IS
'Getis-Ord Gi* for every cell of cells (distinct, one resolution) with its value: (cell, z_score, p_value two-sided). Neighbours are the input cells within k rings (default 1), weighted by kernel uniform (default), triangular, quadratic, quartic or gaussian with bandwidth k+1 rings. Matches PySAL esda G_Local(star=True) with binary k-ring weights and CARTO GETIS_ORD_H3.';
"#,
    name = "ctas_h3_getis_ord"
);
