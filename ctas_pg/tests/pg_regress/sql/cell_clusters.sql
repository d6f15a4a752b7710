-- Clusters of H3 cells: which cells join, their weight, weighted centroid and outline.
-- Expected values are the `h3` Python package's (4.x, the C library), written beside
-- each query: grid distances and rings (h3.grid_ring, h3.grid_distance), the outline's
-- polygons and holes (h3.cells_to_h3shape(cells, tight=False)), and the centroid as
-- the weighted mean of h3.cell_to_latlng's unit vectors, normalised (5 decimals).
-- tests/python/test_cell_clusters.py checks random inputs against a flood fill and
-- PostGIS's union.
CREATE EXTENSION IF NOT EXISTS ctas;
\set SHOW_CONTEXT never
SET client_min_messages = warning;

-- Paris at res 7: 871fb4662ffffff weighs 10, its ring of six 5 each; 871fb4629ffffff
-- (three rings out, two from the nearest ring cell) weighs 8; 871fb4655ffffff (also
-- three rings out) weighs 1, under min_weight 3.
CREATE TEMP TABLE paris (cell bigint, w float8);
INSERT INTO paris
SELECT c, CASE WHEN c = x'871fb4662ffffff'::bigint THEN 10 ELSE 5 END
FROM ctas_h3_grid_disk(x'871fb4662ffffff'::bigint, 1) AS c
UNION ALL VALUES (x'871fb4629ffffff'::bigint, 8), (x'871fb4655ffffff'::bigint, 1);

-- gap 0 (cells must touch): h3 says two clusters, the 7-cell disk (weight 40, centroid
-- 48.85999, 2.35897, one polygon, no hole) and 871fb4629ffffff alone (8; 48.85629,
-- 2.26820); 871fb4655ffffff is left out.
SELECT k.cluster_id, ARRAY(SELECT to_hex(c) FROM unnest(k.cells) AS c ORDER BY 1) AS cells,
       k.total_weight, round(k.centroid[1]::numeric, 5) AS lat, round(k.centroid[0]::numeric, 5) AS lng,
       jsonb_array_length(k.outline->'coordinates') AS polygons,
       jsonb_array_length(k.outline->'coordinates'->0) - 1 AS holes
FROM (SELECT array_agg(cell ORDER BY cell) AS cells, array_agg(w ORDER BY cell) AS ws FROM paris) a,
     ctas_h3_cell_clusters(a.cells, a.ws, 3) AS k
ORDER BY k.cluster_id;

-- gap 1 (one ring of other cells may lie between): h3.grid_distance from
-- 871fb4629ffffff to the nearest ring cell is 2, so it joins: one cluster of 8 cells,
-- weight 48, centroid 48.85938, 2.34384, outline of 2 polygons.
SELECT k.cluster_id, cardinality(k.cells) AS cells, k.total_weight,
       round(k.centroid[1]::numeric, 5) AS lat, round(k.centroid[0]::numeric, 5) AS lng,
       jsonb_array_length(k.outline->'coordinates') AS polygons
FROM (SELECT array_agg(cell) AS cells, array_agg(w) AS ws FROM paris) a,
     ctas_h3_cell_clusters(a.cells, a.ws, 3, 1) AS k;

-- The centre under the threshold (weight 1): its ring is one cluster of 6 cells, 30,
-- whose outline has a hole (h3: 1 polygon, 1 hole).
SELECT cardinality(k.cells) AS cells, k.total_weight,
       jsonb_array_length(k.outline->'coordinates') AS polygons,
       jsonb_array_length(k.outline->'coordinates'->0) - 1 AS holes
FROM (SELECT array_agg(cell) AS cells,
             array_agg(CASE WHEN cell = x'871fb4662ffffff'::bigint THEN 1 ELSE w END) AS ws
      FROM paris) a,
     ctas_h3_cell_clusters(a.cells, a.ws, 3) AS k
WHERE cardinality(k.cells) > 1;

-- Errors name the argument.
SELECT * FROM ctas_h3_cell_clusters(ARRAY[x'871fb4662ffffff'::bigint], ARRAY[1.0, 2.0]);
SELECT * FROM ctas_h3_cell_clusters(ARRAY[x'871fb4662ffffff'::bigint], ARRAY[1.0], 0, -1);
SELECT * FROM ctas_h3_cell_clusters(ARRAY[42::bigint], ARRAY[1.0]);
SELECT * FROM ctas_h3_cell_clusters(ARRAY[x'871fb4662ffffff'::bigint, x'881fb46623fffff'::bigint], ARRAY[1.0, 1.0]);
SELECT * FROM ctas_h3_cell_clusters(ARRAY[x'871fb4662ffffff'::bigint], ARRAY['NaN'::float8]);
