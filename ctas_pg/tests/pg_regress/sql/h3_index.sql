-- The H3 index family: validity, hierarchy, traversal, compaction, shapes.
CREATE EXTENSION IF NOT EXISTS ctas;
\set SHOW_CONTEXT never
SET client_min_messages = warning;

SELECT ctas_h3_is_valid_cell(ctas_h3_cell(51.5007, -0.1246, 9)) AS valid,
       ctas_h3_is_valid_cell(0) AS zero, ctas_h3_is_valid_cell(-1) AS negative,
       ctas_h3_get_resolution(ctas_h3_cell(51.5007, -0.1246, 9)) AS res;

-- Parents at every coarser resolution, and the default one step up.
SELECT r, to_hex(ctas_h3_cell_to_parent(ctas_h3_cell(51.5007, -0.1246, 9), r)) AS parent
FROM generate_series(0, 9) AS r;
SELECT to_hex(ctas_h3_cell_to_parent(ctas_h3_cell(51.5007, -0.1246, 9))) AS one_up;

-- Children: 7 per step for a hexagon, 6 for a pentagon (cell 0x8009fffffffffff is one).
SELECT (SELECT count(*) FROM ctas_h3_cell_to_children(ctas_h3_cell(51.5007, -0.1246, 9))) AS hexagon,
       (SELECT count(*) FROM ctas_h3_cell_to_children(x'8009fffffffffff'::bigint)) AS pentagon;

-- Disks and rings: 1 + 6 + 12 cells, fewer around a pentagon.
SELECT k, (SELECT count(*) FROM ctas_h3_grid_disk(ctas_h3_cell(51.5007, -0.1246, 9), k)) AS disk,
       (SELECT count(*) FROM ctas_h3_grid_ring(ctas_h3_cell(51.5007, -0.1246, 9), k)) AS ring,
       (SELECT count(*) FROM ctas_h3_grid_ring(x'8009fffffffffff'::bigint, k)) AS pentagon_ring
FROM generate_series(0, 2) AS k;

-- Compact and uncompact round trip.
SELECT to_hex(c) FROM ctas_h3_compact_cells(
  ARRAY(SELECT ctas_h3_cell_to_children(ctas_h3_cell(51.5007, -0.1246, 6), 8))) AS c;
SELECT count(*) FROM ctas_h3_uncompact_cells(ARRAY[ctas_h3_cell(51.5007, -0.1246, 6)], 8);

-- Shapes.
SELECT ctas_h3_cell_to_boundary_geojson(ctas_h3_cell(0, 0, 0))->>'type' AS geojson_type,
       encode(substring(ctas_h3_cell_to_boundary_wkb(ctas_h3_cell(0, 0, 0)) FROM 1 FOR 13), 'hex') AS wkb_header;

-- Errors.
SELECT ctas_h3_get_resolution(12345);
SELECT ctas_h3_cell_to_parent(ctas_h3_cell(0, 0, 3), 4);
SELECT ctas_h3_cell_to_children(ctas_h3_cell(0, 0, 3), 2);
SELECT ctas_h3_grid_disk(ctas_h3_cell(0, 0, 3), -1);
SELECT ctas_h3_grid_distance(12345, ctas_h3_cell(0, 0, 3));
SELECT count(*) FROM ctas_h3_uncompact_cells(ARRAY[ctas_h3_cell(0, 0, 0)], 15);
SELECT ctas_h3_uncompact_cells(ARRAY[ctas_h3_cell(0, 0, 5)], 3);
SELECT ctas_h3_compact_cells(ARRAY[ctas_h3_cell(0, 0, 5), ctas_h3_cell(0, 0, 5)]);
