-- Clustering and hotspots: DBSCAN on the sphere and Getis-Ord Gi* on H3 cells.
-- Expected values are other libraries', printed beside each query:
-- scikit-learn 1.9 DBSCAN(metric='haversine', eps=100 m / 6,371,008.8 m) and
-- PySAL esda 2.9 G_Local(transform='B', star=True) on binary 1-ring weights
-- (tests/python/test_dbscan.py and test_hotspot.py check many more inputs).
CREATE EXTENSION IF NOT EXISTS ctas;
\set SHOW_CONTEXT never
SET client_min_messages = warning;

-- Four points at the Eiffel Tower, three in Lyon, one in Marseille; eps 100 m,
-- minpoints 3. scikit-learn: labels 0 0 0 0 1 1 1 -1 (noise is NULL here).
SELECT * FROM ctas_dbscan(
  ARRAY[1, 2, 3, 4, 5, 6, 7, 8],
  ARRAY[48.85840, 48.85850, 48.85830, 48.85860, 45.76400, 45.76410, 45.76390, 43.29650],
  ARRAY[2.29450, 2.29460, 2.29440, 2.29470, 4.83570, 4.83580, 4.83560, 5.36980],
  100, 3) ORDER BY 1;

-- Gi* over the 19 cells within two rings of Madrid's res 7 cell: 10 at the centre, 6
-- on the first ring, 1 beyond. esda: centre 87390cb1bffffff z 4.04532, p 0.0001
-- (two-sided; esda's p_norm is one-sided, half of it); 87390ca20ffffff z -0.62388,
-- p 0.5327.
WITH c AS (SELECT ctas_h3_cell(40.4168, -3.7038, 7) AS centre),
     cells AS (
       SELECT d AS cell,
              CASE WHEN d = c.centre THEN 10.0
                   WHEN ctas_h3_grid_distance(d, c.centre) = 1 THEN 6.0 ELSE 1.0 END AS v
       FROM c, ctas_h3_grid_disk(c.centre, 2) AS d)
SELECT to_hex(g.cell) AS cell, round(g.z_score::numeric, 5) AS z, round(g.p_value::numeric, 4) AS p
FROM (SELECT array_agg(cell ORDER BY cell) AS cells, array_agg(v ORDER BY cell) AS vals FROM cells) a,
     ctas_h3_getis_ord(a.cells, a.vals) AS g
WHERE g.cell IN (x'87390cb1bffffff'::bigint, x'87390ca20ffffff'::bigint)
ORDER BY 1;

-- Errors name the argument.
SELECT * FROM ctas_dbscan(ARRAY[1, 2], ARRAY[48.8], ARRAY[2.3, 2.4], 100, 3);
SELECT * FROM ctas_dbscan(ARRAY[1], ARRAY[48.8], ARRAY[2.3], -1, 3);
SELECT * FROM ctas_dbscan(ARRAY[1], ARRAY[48.8], ARRAY[2.3], 100, 0);
SELECT * FROM ctas_h3_getis_ord(ARRAY[ctas_h3_cell(0, 0, 7)], ARRAY[1.0, 2.0]);
SELECT * FROM ctas_h3_getis_ord(ARRAY[ctas_h3_cell(0, 0, 7), ctas_h3_cell(0, 0, 7)], ARRAY[1.0, 2.0]);
