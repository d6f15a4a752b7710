-- ctas_h3_cell(lat, lng, res): the H3 cell containing a point, as bigint.
CREATE EXTENSION IF NOT EXISTS ctas;
\set SHOW_CONTEXT never

-- The reference cell of the H3 documentation (San Francisco, resolution 9).
SELECT to_hex(ctas_h3_cell(37.775938728915946, -122.41795063018799, 9)) AS cell;

-- Every resolution, one point; each cell is a child of the one before.
SELECT r AS res, to_hex(ctas_h3_cell(51.5007, -0.1246, r)) AS cell
FROM generate_series(0, 15) AS r;

-- The corners of the domain are valid input.
SELECT to_hex(ctas_h3_cell(90, 180, 5)) AS north, to_hex(ctas_h3_cell(-90, -180, 5)) AS south;

-- NULL in, NULL out (STRICT).
SELECT ctas_h3_cell(NULL, 0, 5) IS NULL AS is_null;

-- Declared IMMUTABLE, STRICT and PARALLEL SAFE.
SELECT provolatile, proisstrict, proparallel FROM pg_proc WHERE proname = 'ctas_h3_cell';

-- Out-of-range input is an ERROR that names the argument ...
SELECT ctas_h3_cell(90.5, 0, 5);
SELECT ctas_h3_cell(0, -181, 5);
SELECT ctas_h3_cell('NaN', 0, 5);
SELECT ctas_h3_cell(0, 'Infinity', 5);
SELECT ctas_h3_cell(0, 0, 16);
SELECT ctas_h3_cell(0, 0, -1);

-- ... with SQLSTATE 22023 (invalid_parameter_value).
DO $$
BEGIN
  PERFORM ctas_h3_cell(0, 0, 99);
EXCEPTION WHEN invalid_parameter_value THEN
  RAISE NOTICE 'SQLSTATE %: %', SQLSTATE, SQLERRM;
END $$;
