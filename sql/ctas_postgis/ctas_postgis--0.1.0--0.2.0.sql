-- ctas_postgis 0.1.0 -> 0.2.0: the PL/pgSQL functions pin search_path (ALTER EXTENSION
-- UPDATE runs this with the same path as CREATE EXTENSION: this extension's schema, then
-- PostGIS's and ctas's).
\echo Use "ALTER EXTENSION ctas_postgis UPDATE TO '0.2.0'" to load this file. \quit

ALTER FUNCTION ctas_postgis_require_wgs84(geometry) SET search_path FROM CURRENT;
ALTER FUNCTION ctas_h3_cell(geometry, int) SET search_path FROM CURRENT;
ALTER FUNCTION ctas_h3_polygon_to_cells(geometry, int) SET search_path FROM CURRENT;
