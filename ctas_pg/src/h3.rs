//! `ctas_h3_*`: H3 cells in SQL, named after h3-pg's functions where they overlap.
//!
//! Cells are `bigint` (h3-pg has its own `h3index` type); `to_hex(cell)` shows the
//! usual form. A bigint that is not a cell is an ERROR naming the argument.

use ctas_core::geo::{h3, polyfill, shape};
use pgrx::prelude::*;
use pgrx::JsonB;

use crate::error::{no_nulls, or_raise};

/// An H3 index never sets its top bit, so it always fits a signed bigint both ways.
fn to_sql(cell: u64) -> i64 {
    cell as i64
}

fn from_sql(cell: i64) -> u64 {
    cell as u64
}

fn set(cells: Vec<u64>) -> SetOfIterator<'static, i64> {
    SetOfIterator::new(cells.into_iter().map(to_sql))
}

fn cell_array(cells: Vec<Option<i64>>) -> Vec<u64> {
    no_nulls(cells, "cells").into_iter().map(from_sql).collect()
}

/// `res` or, when it is -1 (the default, as in h3-pg), the cell's resolution plus `step`.
fn relative_res(cell: i64, res: i32, step: i32) -> i32 {
    if res == -1 {
        or_raise(h3::resolution_of(from_sql(cell))) + step
    } else {
        res
    }
}

/// The H3 cell (as bigint) at resolution `res` that contains the point (`lat`, `lng`).
#[pg_extern(immutable, strict, parallel_safe)]
fn ctas_h3_cell(lat: f64, lng: f64, res: i32) -> i64 {
    to_sql(or_raise(ctas_core::geo::cell(lat, lng, res)))
}

/// Whether a bigint is a valid H3 cell index.
#[pg_extern(immutable, strict, parallel_safe)]
fn ctas_h3_is_valid_cell(cell: i64) -> bool {
    h3::is_valid_cell(from_sql(cell))
}

/// The resolution of a cell.
#[pg_extern(immutable, strict, parallel_safe)]
fn ctas_h3_get_resolution(cell: i64) -> i32 {
    or_raise(h3::resolution_of(from_sql(cell)))
}

/// The centre of a cell as a `point` (x = lng, y = lat), as h3-pg returns it.
#[pg_extern(immutable, strict, parallel_safe)]
fn ctas_h3_cell_to_latlng(cell: i64) -> pg_sys::Point {
    let (lat, lng) = or_raise(h3::center(from_sql(cell)));
    pg_sys::Point { x: lng, y: lat }
}

/// The boundary of a cell as a GeoJSON Polygon.
#[pg_extern(immutable, strict, parallel_safe)]
fn ctas_h3_cell_to_boundary_geojson(cell: i64) -> JsonB {
    JsonB(shape::polygon_geojson(&or_raise(h3::boundary(from_sql(
        cell,
    )))))
}

/// The boundary of a cell as WKB (`ST_GeomFromWKB(..., 4326)` in PostGIS).
#[pg_extern(immutable, strict, parallel_safe)]
fn ctas_h3_cell_to_boundary_wkb(cell: i64) -> Vec<u8> {
    shape::polygon_wkb(&or_raise(h3::boundary(from_sql(cell))))
}

/// The parent of a cell at `res` (default: one resolution coarser).
#[pg_extern(immutable, strict, parallel_safe)]
fn ctas_h3_cell_to_parent(cell: i64, res: default!(i32, -1)) -> i64 {
    let res = relative_res(cell, res, -1);
    to_sql(or_raise(h3::parent(from_sql(cell), res)))
}

/// The children of a cell at `res` (default: one resolution finer).
#[pg_extern(immutable, strict, parallel_safe)]
fn ctas_h3_cell_to_children(cell: i64, res: default!(i32, -1)) -> SetOfIterator<'static, i64> {
    let res = relative_res(cell, res, 1);
    set(or_raise(h3::children(from_sql(cell), res)))
}

/// Every cell within `k` steps of a cell (default 1), the cell first.
#[pg_extern(immutable, strict, parallel_safe)]
fn ctas_h3_grid_disk(cell: i64, k: default!(i32, 1)) -> SetOfIterator<'static, i64> {
    set(or_raise(h3::grid_disk(from_sql(cell), k)))
}

/// The cells exactly `k` steps from a cell (default 1); correct around pentagons.
#[pg_extern(immutable, strict, parallel_safe)]
fn ctas_h3_grid_ring(cell: i64, k: default!(i32, 1)) -> SetOfIterator<'static, i64> {
    set(or_raise(h3::grid_ring(from_sql(cell), k)))
}

/// Steps between two cells; NULL when H3 cannot tell (too far, across a pentagon).
#[pg_extern(immutable, strict, parallel_safe)]
fn ctas_h3_grid_distance(a: i64, b: i64) -> Option<i64> {
    or_raise(h3::grid_distance(from_sql(a), from_sql(b)))
}

/// The smallest set of cells covering exactly the same area as `cells`.
#[pg_extern(immutable, strict, parallel_safe)]
fn ctas_h3_compact_cells(cells: Vec<Option<i64>>) -> SetOfIterator<'static, i64> {
    set(or_raise(h3::compact(&cell_array(cells))))
}

/// The cells at `res` covering exactly what a compacted set covers.
#[pg_extern(immutable, strict, parallel_safe)]
fn ctas_h3_uncompact_cells(cells: Vec<Option<i64>>, res: i32) -> SetOfIterator<'static, i64> {
    set(or_raise(h3::uncompact(&cell_array(cells), res)))
}

/// The cells at `res` whose centres lie inside a GeoJSON Polygon or MultiPolygon.
#[pg_extern(immutable, strict, parallel_safe)]
fn ctas_h3_polygon_to_cells(geojson: JsonB, res: i32) -> SetOfIterator<'static, i64> {
    set(or_raise(polyfill::polygon_to_cells(&geojson.0, res)))
}

extension_sql!(
    r#"
COMMENT ON FUNCTION ctas_h3_cell(float8, float8, int) IS
'H3 cell (bigint) containing the point lat/lng in degrees at resolution res (0-15). Like h3-pg''s h3_latlng_to_cell, but takes plain numbers and returns bigint. Example: SELECT to_hex(ctas_h3_cell(37.775938728915946, -122.41795063018799, 9)) gives 8928308280fffff.';
COMMENT ON FUNCTION ctas_h3_is_valid_cell(bigint) IS 'Whether the bigint is a valid H3 cell index (h3_is_valid_cell).';
COMMENT ON FUNCTION ctas_h3_get_resolution(bigint) IS 'The resolution (0-15) of a cell (h3_get_resolution).';
COMMENT ON FUNCTION ctas_h3_cell_to_latlng(bigint) IS 'The centre of a cell as a point, x = lng and y = lat (h3_cell_to_latlng).';
COMMENT ON FUNCTION ctas_h3_cell_to_boundary_geojson(bigint) IS 'The boundary of a cell as a GeoJSON Polygon, [lng, lat], ring closed.';
COMMENT ON FUNCTION ctas_h3_cell_to_boundary_wkb(bigint) IS 'The boundary of a cell as WKB; ST_GeomFromWKB(ctas_h3_cell_to_boundary_wkb(c), 4326) in PostGIS.';
COMMENT ON FUNCTION ctas_h3_cell_to_parent(bigint, int) IS 'The parent of a cell at res; res -1 (the default) is one resolution coarser (h3_cell_to_parent).';
COMMENT ON FUNCTION ctas_h3_cell_to_children(bigint, int) IS 'The children of a cell at res; res -1 (the default) is one resolution finer (h3_cell_to_children). At most 10 million cells.';
COMMENT ON FUNCTION ctas_h3_grid_disk(bigint, int) IS 'Every cell within k steps (0-1000, default 1), the cell first (h3_grid_disk).';
COMMENT ON FUNCTION ctas_h3_grid_ring(bigint, int) IS 'The cells exactly k steps away (0-1000, default 1), correct around pentagons (h3-pg has h3_grid_ring_unsafe).';
COMMENT ON FUNCTION ctas_h3_grid_distance(bigint, bigint) IS 'Grid steps between two cells; NULL when H3 cannot tell (h3_grid_distance raises an error there).';
COMMENT ON FUNCTION ctas_h3_compact_cells(bigint[]) IS 'The smallest set of cells covering the same area; cells must share one resolution and be distinct (h3_compact_cells).';
COMMENT ON FUNCTION ctas_h3_polygon_to_cells(jsonb, int) IS 'The cells at res whose centres lie inside a GeoJSON Polygon or MultiPolygon (holes respected), as h3_polygon_to_cells; at most 10 million cells.';
COMMENT ON FUNCTION ctas_h3_uncompact_cells(bigint[], int) IS 'The cells at res covering what a compacted set covers (h3_uncompact_cells). At most 10 million cells.';
"#,
    name = "ctas_h3_comments",
    requires = [
        ctas_h3_cell,
        ctas_h3_is_valid_cell,
        ctas_h3_get_resolution,
        ctas_h3_cell_to_latlng,
        ctas_h3_cell_to_boundary_geojson,
        ctas_h3_cell_to_boundary_wkb,
        ctas_h3_cell_to_parent,
        ctas_h3_cell_to_children,
        ctas_h3_grid_disk,
        ctas_h3_grid_ring,
        ctas_h3_grid_distance,
        ctas_h3_compact_cells,
        ctas_h3_uncompact_cells,
        ctas_h3_polygon_to_cells
    ]
);
