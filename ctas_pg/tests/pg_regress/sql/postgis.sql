-- ctas_postgis: H3 for geometry and geography. Expected values are other code's,
-- beside each query: the `h3` Python package (4.x, the C library) for cells, centres,
-- boundaries, areas and polygon fills (h3.h3shape_to_cells: cells whose centres are
-- inside, as here), and PostGIS's own functions for areas and containment.
CREATE EXTENSION IF NOT EXISTS ctas;
CREATE EXTENSION IF NOT EXISTS postgis SCHEMA public;
CREATE EXTENSION IF NOT EXISTS ctas_postgis SCHEMA public;
\set SHOW_CONTEXT never
SET client_min_messages = warning;

-- Westminster at res 9. h3: 89194ad14c3ffff, centre (51.499873, -0.126066), vertices
-- (lng lat) -0.1265 51.50162, -0.128591 51.500639, -0.128157 51.498892,
-- -0.125633 51.498125, -0.123542 51.499106, -0.123975 51.500853;
-- h3.cell_area 94185.8 m^2 (a sphere of radius 6371007.2 m; PostGIS's sphere is
-- 6371008.8 m, 5e-7 more: the same to the square metre).
SELECT to_hex(ctas_h3_cell(ST_SetSRID(ST_MakePoint(-0.1246, 51.5007), 4326), 9)) AS from_geometry,
       to_hex(ctas_h3_cell(ST_SetSRID(ST_MakePoint(-0.1246, 51.5007), 4326)::geography, 9)) AS from_geography,
       ST_AsText(ctas_h3_cell_to_geometry(x'89194ad14c3ffff'::bigint), 6) AS centre,
       ST_SRID(ctas_h3_cell_to_geometry(x'89194ad14c3ffff'::bigint)) AS srid;
SELECT ST_AsText(ctas_h3_cell_to_boundary_geometry(x'89194ad14c3ffff'::bigint), 6) AS boundary,
       round(ST_Area(ctas_h3_cell_to_boundary_geometry(x'89194ad14c3ffff'::bigint)::geography, false)) AS sphere_m2;

-- The outline of the cell and its six neighbours is one polygon without holes, whose
-- area is the sum of the seven cells' (PostGIS's ST_Area of each boundary).
WITH disk AS (SELECT ARRAY(SELECT ctas_h3_grid_disk(x'89194ad14c3ffff'::bigint, 1)) AS cells)
SELECT GeometryType(m) AS type, ST_NumGeometries(m) AS polygons,
       ST_NumInteriorRings(ST_GeometryN(m, 1)) AS holes, ST_IsValid(m) AS valid,
       abs(ST_Area(m) - (SELECT sum(ST_Area(ctas_h3_cell_to_boundary_geometry(c))) FROM unnest(cells) AS c))
         < 1e-9 * ST_Area(m) AS area_is_the_sum
FROM disk, ctas_h3_cells_to_multipolygon(disk.cells) AS m;

-- Polygon fill. h3.h3shape_to_cells at res 9: the box 51.49..51.51 N, 0.14..0.11 W
-- holds 47 centres; with a hole 51.498..51.502 N, 0.13..0.12 W, 45; the box and one
-- over Paris 48.85..48.87 N, 2.33..2.36 E together, 99. PostGIS: every centre is
-- inside the polygon.
WITH shapes(name, g) AS (VALUES
  ('box', 'SRID=4326;POLYGON((-0.14 51.49, -0.11 51.49, -0.11 51.51, -0.14 51.51, -0.14 51.49))'::geometry),
  ('box with a hole', 'SRID=4326;POLYGON((-0.14 51.49, -0.11 51.49, -0.11 51.51, -0.14 51.51, -0.14 51.49),
                        (-0.13 51.498, -0.12 51.498, -0.12 51.502, -0.13 51.502, -0.13 51.498))'::geometry),
  ('London and Paris', 'SRID=4326;MULTIPOLYGON(((-0.14 51.49, -0.11 51.49, -0.11 51.51, -0.14 51.51, -0.14 51.49)),
                        ((2.33 48.85, 2.36 48.85, 2.36 48.87, 2.33 48.87, 2.33 48.85)))'::geometry))
SELECT name, count(*) AS cells, bool_and(ST_Contains(g, ctas_h3_cell_to_geometry(c))) AS centres_inside
FROM shapes, ctas_h3_polygon_to_cells(g, 9) AS c
GROUP BY name ORDER BY name;

-- Errors say what was expected, with SQLSTATE 22023 and a hint.
SELECT ctas_h3_cell(ST_SetSRID(ST_MakePoint(530000, 180000), 27700), 9);
SELECT ctas_h3_cell('SRID=4326;POLYGON((0 0, 1 0, 1 1, 0 0))'::geometry, 9);
SELECT ctas_h3_cell('SRID=4326;LINESTRING(0 0, 1 1)'::geography, 9);
SELECT ctas_h3_cell('SRID=4269;POINT(0 0)'::geography, 9);
SELECT count(*) FROM ctas_h3_polygon_to_cells('SRID=4326;LINESTRING(0 0, 1 1)'::geometry, 9);
SELECT count(*) FROM ctas_h3_polygon_to_cells('SRID=3857;POLYGON((0 0, 1 0, 1 1, 0 0))'::geometry, 9);
SELECT ctas_h3_cell(ST_SetSRID(ST_MakePoint(-0.1246, 51.5007), 4326), 16);
SELECT ctas_h3_cell_to_geometry(42);
