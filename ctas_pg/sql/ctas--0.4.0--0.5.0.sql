-- Upgrade of the ctas extension: the objects of ctas--0.5.0.sql that
-- ctas--0.4.0.sql lacks. Written by scripts/extension_upgrade.py.
\echo Use "ALTER EXTENSION ctas UPDATE" to load this file. \quit

-- ctas_pg::h3::ctas_h3_cell_area
CREATE  FUNCTION "ctas_h3_cell_area"(
	"cell" bigint, /* i64 */
	"unit" TEXT DEFAULT 'km^2' /* & str */
) RETURNS double precision /* f64 */
IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'ctas_h3_cell_area_wrapper';

-- ctas_pg::h3::ctas_h3_cell_to_vertexes
CREATE  FUNCTION "ctas_h3_cell_to_vertexes"(
	"cell" bigint /* i64 */
) RETURNS SETOF bigint /* i64 */
IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'ctas_h3_cell_to_vertexes_wrapper';

-- ctas_pg::h3::ctas_h3_cells_to_directed_edge
CREATE  FUNCTION "ctas_h3_cells_to_directed_edge"(
	"origin" bigint, /* i64 */
	"destination" bigint /* i64 */
) RETURNS bigint /* i64 */
IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'ctas_h3_cells_to_directed_edge_wrapper';

-- ctas_pg::h3::ctas_h3_directed_edge_to_boundary_geojson
CREATE  FUNCTION "ctas_h3_directed_edge_to_boundary_geojson"(
	"edge" bigint /* i64 */
) RETURNS jsonb /* JsonB */
IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'ctas_h3_directed_edge_to_boundary_geojson_wrapper';

-- ctas_pg::h3::ctas_h3_edge_length
CREATE  FUNCTION "ctas_h3_edge_length"(
	"edge" bigint, /* i64 */
	"unit" TEXT DEFAULT 'km' /* & str */
) RETURNS double precision /* f64 */
IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'ctas_h3_edge_length_wrapper';

-- ctas_pg::h3::ctas_h3_get_base_cell_number
CREATE  FUNCTION "ctas_h3_get_base_cell_number"(
	"cell" bigint /* i64 */
) RETURNS INT /* i32 */
IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'ctas_h3_get_base_cell_number_wrapper';

-- ctas_pg::h3::ctas_h3_get_directed_edge_destination
CREATE  FUNCTION "ctas_h3_get_directed_edge_destination"(
	"edge" bigint /* i64 */
) RETURNS bigint /* i64 */
IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'ctas_h3_get_directed_edge_destination_wrapper';

-- ctas_pg::h3::ctas_h3_get_directed_edge_origin
CREATE  FUNCTION "ctas_h3_get_directed_edge_origin"(
	"edge" bigint /* i64 */
) RETURNS bigint /* i64 */
IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'ctas_h3_get_directed_edge_origin_wrapper';

-- ctas_pg::h3::ctas_h3_get_icosahedron_faces
CREATE  FUNCTION "ctas_h3_get_icosahedron_faces"(
	"cell" bigint /* i64 */
) RETURNS INT[] /* Vec < i32 > */
IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'ctas_h3_get_icosahedron_faces_wrapper';

-- ctas_pg::h3::ctas_h3_great_circle_distance
CREATE  FUNCTION "ctas_h3_great_circle_distance"(
	"a" point, /* pg_sys :: Point */
	"b" point, /* pg_sys :: Point */
	"unit" TEXT DEFAULT 'km' /* & str */
) RETURNS double precision /* f64 */
IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'ctas_h3_great_circle_distance_wrapper';

-- ctas_pg::h3::ctas_h3_grid_path_cells
CREATE  FUNCTION "ctas_h3_grid_path_cells"(
	"origin" bigint, /* i64 */
	"destination" bigint /* i64 */
) RETURNS SETOF bigint /* i64 */
IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'ctas_h3_grid_path_cells_wrapper';

-- ctas_pg::h3::ctas_h3_is_pentagon
CREATE  FUNCTION "ctas_h3_is_pentagon"(
	"cell" bigint /* i64 */
) RETURNS bool /* bool */
IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'ctas_h3_is_pentagon_wrapper';

-- ctas_pg::h3::ctas_h3_is_valid_directed_edge
CREATE  FUNCTION "ctas_h3_is_valid_directed_edge"(
	"edge" bigint /* i64 */
) RETURNS bool /* bool */
IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'ctas_h3_is_valid_directed_edge_wrapper';

-- ctas_pg::h3::ctas_h3_is_valid_vertex
CREATE  FUNCTION "ctas_h3_is_valid_vertex"(
	"vertex" bigint /* i64 */
) RETURNS bool /* bool */
IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'ctas_h3_is_valid_vertex_wrapper';

-- ctas_pg::h3::ctas_h3_origin_to_directed_edges
CREATE  FUNCTION "ctas_h3_origin_to_directed_edges"(
	"cell" bigint /* i64 */
) RETURNS SETOF bigint /* i64 */
IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'ctas_h3_origin_to_directed_edges_wrapper';

-- ctas_pg::h3::ctas_h3_vertex_to_latlng
CREATE  FUNCTION "ctas_h3_vertex_to_latlng"(
	"vertex" bigint /* i64 */
) RETURNS point /* pg_sys :: Point */
IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'ctas_h3_vertex_to_latlng_wrapper';

-- requires:
--   ctas_h3_cell_area
--   ctas_h3_edge_length
--   ctas_h3_great_circle_distance
--   ctas_h3_grid_path_cells
--   ctas_h3_get_base_cell_number
--   ctas_h3_is_pentagon
--   ctas_h3_get_icosahedron_faces
--   ctas_h3_cell_to_vertexes
--   ctas_h3_vertex_to_latlng
--   ctas_h3_is_valid_vertex
--   ctas_h3_cells_to_directed_edge
--   ctas_h3_is_valid_directed_edge
--   ctas_h3_origin_to_directed_edges
--   ctas_h3_get_directed_edge_origin
--   ctas_h3_get_directed_edge_destination
--   ctas_h3_directed_edge_to_boundary_geojson


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

