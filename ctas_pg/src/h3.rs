//! `ctas_h3_*`: H3 cells in SQL, named after h3-pg's functions where they overlap.

use crate::error::or_raise;
use pgrx::prelude::*;

/// The H3 cell (as bigint) at resolution `res` that contains the point (`lat`, `lng`).
#[pg_extern(immutable, strict, parallel_safe)]
fn ctas_h3_cell(lat: f64, lng: f64, res: i32) -> i64 {
    // An H3 index never sets its top bit, so it always fits a signed bigint.
    or_raise(ctas_core::geo::cell(lat, lng, res)) as i64
}

extension_sql!(
    r#"
COMMENT ON FUNCTION ctas_h3_cell(float8, float8, int) IS
'H3 cell (bigint) containing the point lat/lng in degrees at resolution res (0-15). Like h3-pg''s h3_latlng_to_cell, but takes plain numbers and returns bigint. Example: SELECT to_hex(ctas_h3_cell(37.775938728915946, -122.41795063018799, 9)) gives 8928308280fffff.';
"#,
    name = "ctas_h3_cell_comment",
    requires = [ctas_h3_cell]
);
