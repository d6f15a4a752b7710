-- h3-pg's everyday remainder: areas, lengths, distances, paths, inspection, vertices and
-- directed edges. Expected values are the `h3` Python package's (4.x, the H3 C library),
-- printed beside each query; tests/python/test_h3_edges.py checks many more cells.
CREATE EXTENSION IF NOT EXISTS ctas;
\set SHOW_CONTEXT never
SET client_min_messages = warning;

-- Westminster at res 9, 89194ad14c3ffff: area 0.094186 km^2, 94185.781 m^2,
-- 2.320434e-09 rads^2; base cell 12; not a pentagon; face 3.
SELECT to_hex(c) AS cell, round(ctas_h3_cell_area(c)::numeric, 6) AS km2,
       round(ctas_h3_cell_area(c, 'm^2')::numeric, 3) AS m2,
       to_char(ctas_h3_cell_area(c, 'rads^2'), '9.999999EEEE') AS rads2,
       ctas_h3_get_base_cell_number(c) AS base_cell, ctas_h3_is_pentagon(c) AS pentagon,
       ctas_h3_get_icosahedron_faces(c) AS faces
FROM ctas_h3_cell(51.5007, -0.1246, 9) AS c;

-- The first pentagon of res 5, 85080003fffffff: base cell 4, faces 0-4, five vertices
-- and five edges.
SELECT ctas_h3_is_pentagon(p) AS pentagon, ctas_h3_get_base_cell_number(p) AS base_cell,
       ctas_h3_get_icosahedron_faces(p) AS faces,
       (SELECT count(*) FROM ctas_h3_cell_to_vertexes(p)) AS vertexes,
       (SELECT count(*) FROM ctas_h3_origin_to_directed_edges(p)) AS edges
FROM (SELECT x'85080003fffffff'::bigint AS p) AS t;

-- Westminster's six edges: 119194ad14c3ffff ... 169194ad14c3ffff. The first is 0.181213 km
-- (181.213 m) long and leads to 89194ad14c7ffff.
SELECT to_hex(e) AS edge, ctas_h3_is_valid_directed_edge(e) AS valid,
       to_hex(ctas_h3_get_directed_edge_origin(e)) AS origin,
       to_hex(ctas_h3_get_directed_edge_destination(e)) AS destination
FROM ctas_h3_origin_to_directed_edges(ctas_h3_cell(51.5007, -0.1246, 9)) AS e ORDER BY e;
SELECT round(ctas_h3_edge_length(x'119194ad14c3ffff'::bigint)::numeric, 6) AS km,
       round(ctas_h3_edge_length(x'119194ad14c3ffff'::bigint, 'm')::numeric, 3) AS m,
       to_hex(ctas_h3_cells_to_directed_edge(x'89194ad14c3ffff'::bigint, x'89194ad14c7ffff'::bigint)) AS edge,
       jsonb_array_length(ctas_h3_directed_edge_to_boundary_geojson(x'119194ad14c3ffff'::bigint)->'coordinates') AS points;

-- Vertices: 209194ad14c3ffff first, at 51.501620, -0.126500.
SELECT to_hex(v) AS vertex, ctas_h3_is_valid_vertex(v) AS valid,
       round((ctas_h3_vertex_to_latlng(v))[1]::numeric, 6) AS lat,
       round((ctas_h3_vertex_to_latlng(v))[0]::numeric, 6) AS lng
FROM ctas_h3_cell_to_vertexes(ctas_h3_cell(51.5007, -0.1246, 9)) AS v LIMIT 1;

-- Westminster to the Eiffel Tower on H3's sphere: 340.539304 km.
SELECT round(ctas_h3_great_circle_distance(point(-0.1246, 51.5007), point(2.2945, 48.8584))::numeric, 6) AS km;

-- A path of grid distance 2: 89194ad14c3ffff, 89194ad14d7ffff, 89194ad326fffff.
SELECT to_hex(c) AS cell FROM ctas_h3_grid_path_cells(ctas_h3_cell(51.5007, -0.1246, 9),
                                                       ctas_h3_cell(51.5033, -0.1196, 9)) AS c;

-- Errors name the argument (22023).
SELECT ctas_h3_cell_area(ctas_h3_cell(0, 0, 5), 'acres');
SELECT ctas_h3_edge_length(ctas_h3_cell(0, 0, 5));
SELECT ctas_h3_great_circle_distance(point(0, 0), point(0, 0), 'miles');
SELECT ctas_h3_cells_to_directed_edge(ctas_h3_cell(0, 0, 5), ctas_h3_cell(40, 40, 5));
SELECT * FROM ctas_h3_grid_path_cells(ctas_h3_cell(0, 0, 5), ctas_h3_cell(0, 0, 6));
SELECT ctas_h3_vertex_to_latlng(0);
