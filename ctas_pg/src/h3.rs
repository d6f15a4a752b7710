//! `ctas_h3_*`: H3 cells in SQL, named after h3-pg's functions where they overlap.
//!
//! Cells are `bigint` (h3-pg has its own `h3index` type); `to_hex(cell)` shows the
//! usual form. A bigint that is not a cell is an ERROR naming the argument.

use crate::json::JsonText;
use ctas_core::geo::{h3, h3_edges, measure, polyfill, shape};
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
fn ctas_h3_polygon_to_cells(geojson: JsonText, res: i32) -> SetOfIterator<'static, i64> {
    set(or_raise(polyfill::polygon_to_cells(
        &geojson.value("geojson"),
        res,
    )))
}

/// The exact area of a cell in `unit`: `km^2` (the default), `m^2` or `rads^2`.
#[pg_extern(immutable, strict, parallel_safe)]
fn ctas_h3_cell_area(cell: i64, unit: default!(&str, "'km^2'")) -> f64 {
    or_raise(measure::cell_area(from_sql(cell), unit))
}

/// The exact length of a directed edge in `unit`: `km` (the default), `m` or `rads`.
#[pg_extern(immutable, strict, parallel_safe)]
fn ctas_h3_edge_length(edge: i64, unit: default!(&str, "'km'")) -> f64 {
    or_raise(measure::edge_length(from_sql(edge), unit))
}

/// The great-circle distance between two points (x = lng, y = lat, as
/// `ctas_h3_cell_to_latlng` gives them) in `unit`: `km` (the default), `m` or `rads`.
#[pg_extern(immutable, strict, parallel_safe)]
fn ctas_h3_great_circle_distance(
    a: pg_sys::Point,
    b: pg_sys::Point,
    unit: default!(&str, "'km'"),
) -> f64 {
    or_raise(measure::great_circle_distance((a.y, a.x), (b.y, b.x), unit))
}

/// The line of cells from `origin` to `destination`, both included.
#[pg_extern(immutable, strict, parallel_safe)]
fn ctas_h3_grid_path_cells(origin: i64, destination: i64) -> SetOfIterator<'static, i64> {
    set(or_raise(h3::grid_path(
        from_sql(origin),
        from_sql(destination),
    )))
}

/// The number of the resolution 0 cell a cell descends from (0-121).
#[pg_extern(immutable, strict, parallel_safe)]
fn ctas_h3_get_base_cell_number(cell: i64) -> i32 {
    or_raise(h3::base_cell(from_sql(cell)))
}

/// Whether a cell is a pentagon.
#[pg_extern(immutable, strict, parallel_safe)]
fn ctas_h3_is_pentagon(cell: i64) -> bool {
    or_raise(h3::is_pentagon(from_sql(cell)))
}

/// The icosahedron faces (0-19) a cell intersects.
#[pg_extern(immutable, strict, parallel_safe)]
fn ctas_h3_get_icosahedron_faces(cell: i64) -> Vec<i32> {
    or_raise(h3::icosahedron_faces(from_sql(cell)))
}

/// The vertices of a cell, each as its own index.
#[pg_extern(immutable, strict, parallel_safe)]
fn ctas_h3_cell_to_vertexes(cell: i64) -> SetOfIterator<'static, i64> {
    set(or_raise(h3_edges::cell_vertexes(from_sql(cell))))
}

/// Where a vertex lies, as a `point` (x = lng, y = lat).
#[pg_extern(immutable, strict, parallel_safe)]
fn ctas_h3_vertex_to_latlng(vertex: i64) -> pg_sys::Point {
    let (lat, lng) = or_raise(h3_edges::vertex_latlng(from_sql(vertex)));
    pg_sys::Point { x: lng, y: lat }
}

/// Whether a bigint is a valid H3 vertex index.
#[pg_extern(immutable, strict, parallel_safe)]
fn ctas_h3_is_valid_vertex(vertex: i64) -> bool {
    h3_edges::is_valid_vertex(from_sql(vertex))
}

/// The directed edge from `origin` to its neighbour `destination`.
#[pg_extern(immutable, strict, parallel_safe)]
fn ctas_h3_cells_to_directed_edge(origin: i64, destination: i64) -> i64 {
    to_sql(or_raise(h3_edges::edge(
        from_sql(origin),
        from_sql(destination),
    )))
}

/// Whether a bigint is a valid H3 directed edge index.
#[pg_extern(immutable, strict, parallel_safe)]
fn ctas_h3_is_valid_directed_edge(edge: i64) -> bool {
    h3_edges::is_valid_edge(from_sql(edge))
}

/// The directed edges from a cell to each of its neighbours.
#[pg_extern(immutable, strict, parallel_safe)]
fn ctas_h3_origin_to_directed_edges(cell: i64) -> SetOfIterator<'static, i64> {
    set(or_raise(h3_edges::origin_to_edges(from_sql(cell))))
}

/// The cell a directed edge starts from.
#[pg_extern(immutable, strict, parallel_safe)]
fn ctas_h3_get_directed_edge_origin(edge: i64) -> i64 {
    to_sql(or_raise(h3_edges::edge_origin(from_sql(edge))))
}

/// The cell a directed edge leads to.
#[pg_extern(immutable, strict, parallel_safe)]
fn ctas_h3_get_directed_edge_destination(edge: i64) -> i64 {
    to_sql(or_raise(h3_edges::edge_destination(from_sql(edge))))
}

/// The line a directed edge is drawn along, as a GeoJSON LineString.
#[pg_extern(immutable, strict, parallel_safe)]
fn ctas_h3_directed_edge_to_boundary_geojson(edge: i64) -> JsonB {
    JsonB(shape::line_geojson(&or_raise(h3_edges::edge_boundary(
        from_sql(edge),
    ))))
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

// The functions of 0.5.0, commented in a block of their own so that 0.4.0's block is
// unchanged and the upgrade script only adds.
extension_sql!(
    r#"
COMMENT ON FUNCTION ctas_h3_cell_area(bigint, text) IS 'The exact area of a cell in unit km^2 (default), m^2 or rads^2 (h3_cell_area).';
COMMENT ON FUNCTION ctas_h3_edge_length(bigint, text) IS 'The exact length of a directed edge in unit km (default), m or rads (h3_edge_length).';
COMMENT ON FUNCTION ctas_h3_great_circle_distance(point, point, text) IS 'The great-circle distance between two points (x = lng, y = lat) in unit km (default), m or rads, on H3''s sphere (h3_great_circle_distance).';
COMMENT ON FUNCTION ctas_h3_grid_path_cells(bigint, bigint) IS 'The line of cells from origin to destination, both included; an error when H3 cannot draw it (h3_grid_path_cells).';
COMMENT ON FUNCTION ctas_h3_get_base_cell_number(bigint) IS 'The resolution 0 cell (0-121) a cell descends from (h3_get_base_cell_number).';
COMMENT ON FUNCTION ctas_h3_is_pentagon(bigint) IS 'Whether a cell is one of the 12 pentagons of its resolution (h3_is_pentagon).';
COMMENT ON FUNCTION ctas_h3_get_icosahedron_faces(bigint) IS 'The icosahedron faces (0-19) a cell intersects (h3_get_icosahedron_faces).';
COMMENT ON FUNCTION ctas_h3_cell_to_vertexes(bigint) IS 'The vertices of a cell as vertex indexes, 6 (5 for a pentagon) (h3_cell_to_vertexes).';
COMMENT ON FUNCTION ctas_h3_vertex_to_latlng(bigint) IS 'Where a vertex lies, as a point x = lng, y = lat (h3_vertex_to_latlng).';
COMMENT ON FUNCTION ctas_h3_is_valid_vertex(bigint) IS 'Whether the bigint is a valid H3 vertex index (h3_is_valid_vertex).';
COMMENT ON FUNCTION ctas_h3_cells_to_directed_edge(bigint, bigint) IS 'The directed edge from origin to its neighbour destination (h3_cells_to_directed_edge).';
COMMENT ON FUNCTION ctas_h3_is_valid_directed_edge(bigint) IS 'Whether the bigint is a valid H3 directed edge index (h3_is_valid_directed_edge).';
COMMENT ON FUNCTION ctas_h3_origin_to_directed_edges(bigint) IS 'The directed edges from a cell to each neighbour (h3_origin_to_directed_edges).';
COMMENT ON FUNCTION ctas_h3_get_directed_edge_origin(bigint) IS 'The cell a directed edge starts from (h3_get_directed_edge_origin).';
COMMENT ON FUNCTION ctas_h3_get_directed_edge_destination(bigint) IS 'The cell a directed edge leads to (h3_get_directed_edge_destination).';
COMMENT ON FUNCTION ctas_h3_directed_edge_to_boundary_geojson(bigint) IS 'The line a directed edge is drawn along, as a GeoJSON LineString [lng, lat] (h3_directed_edge_to_boundary).';
"#,
    name = "ctas_h3_edges_comments",
    requires = [
        ctas_h3_cell_area,
        ctas_h3_edge_length,
        ctas_h3_great_circle_distance,
        ctas_h3_grid_path_cells,
        ctas_h3_get_base_cell_number,
        ctas_h3_is_pentagon,
        ctas_h3_get_icosahedron_faces,
        ctas_h3_cell_to_vertexes,
        ctas_h3_vertex_to_latlng,
        ctas_h3_is_valid_vertex,
        ctas_h3_cells_to_directed_edge,
        ctas_h3_is_valid_directed_edge,
        ctas_h3_origin_to_directed_edges,
        ctas_h3_get_directed_edge_origin,
        ctas_h3_get_directed_edge_destination,
        ctas_h3_directed_edge_to_boundary_geojson
    ]
);
