-- Upgrade of the ctas extension: the objects of ctas--0.8.0.sql that
-- ctas--0.7.0.sql lacks. Written by scripts/extension_upgrade.py.
\echo Use "ALTER EXTENSION ctas UPDATE" to load this file. \quit

-- requires:
--   ctas_anomalies


CREATE FUNCTION ctas_events(
    ts timestamptz[], vals float8[], dormancy int DEFAULT 168, method text DEFAULT 'auto',
    mode text DEFAULT 'online', threshold float8 DEFAULT 3
) RETURNS TABLE (ts timestamptz, event text, detail float8)
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c
AS 'MODULE_PATHNAME', 'ctas_events_v1';

COMMENT ON FUNCTION ctas_events(timestamptz[], float8[], int, text, text, float8) IS
'The behaviour events of a series of counts (ts ascending and evenly spaced, gaps counted as 0): first_seen (the first step with a count; detail 0), burst (a count ctas_anomalies flags above the expected one, with method, mode and threshold; detail its anomaly_score) and reactivated (a count after at least dormancy steps without one; detail the silent steps), in order of time.';

-- requires:
--   ctas_events
--   ctas_history_objects


CREATE FUNCTION ctas_sighting_events(
    "by" text DEFAULT 'indicator', since timestamptz DEFAULT now() - interval '1 day',
    step interval DEFAULT '1 hour', history interval DEFAULT '28 days',
    dormancy interval DEFAULT '7 days'
) RETURNS TABLE ("key" text, ts timestamptz, event text, detail float8)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, @extschema@, pg_temp AS $$
DECLARE
    silent int;
BEGIN
    IF "by" NOT IN ('indicator', 'source', 'cell', 'technique') THEN
        RAISE EXCEPTION 'by must be indicator, source, cell or technique, not %', "by"
            USING ERRCODE = '22023';
    END IF;
    IF step <= interval '0' OR dormancy < step THEN
        RAISE EXCEPTION 'step must be a positive interval and dormancy at least one step, not % and %',
            step, dormancy USING ERRCODE = '22023';
    END IF;
    silent := ceil(extract(epoch FROM dormancy) / extract(epoch FROM step));
    PERFORM ctas_check_history_owners();
    RETURN QUERY
    WITH keyed AS (
        SELECT CASE "by"
                   WHEN 'indicator' THEN i.kind || ':' || i.value
                   WHEN 'technique' THEN i.value
                   WHEN 'source' THEN coalesce(s.source, r.source)
                   ELSE to_hex(r.h3_cell)
               END AS k,
               s.seen_at
        FROM ctas.sightings s
        JOIN ctas.reports r ON r.id = s.report_id
        LEFT JOIN ctas.indicators i ON i.id = s.indicator_id
        WHERE ("by" <> 'technique' OR i.kind = 'attack_technique')
    ), counted AS (
        SELECT c.k, date_bin(step, c.seen_at, timestamptz '2000-01-01 00:00:00+00') AS bucket,
               count(*)::float8 AS n
        FROM keyed c WHERE c.k IS NOT NULL AND c.seen_at >= since - history
        GROUP BY 1, 2
    ), series AS (
        SELECT c.k, array_agg(c.bucket ORDER BY c.bucket) AS t, array_agg(c.n ORDER BY c.bucket) AS v
        FROM counted c GROUP BY c.k
    ), earliest AS (
        SELECT c.k, min(c.seen_at) AS first FROM keyed c WHERE c.k IS NOT NULL GROUP BY c.k
    ), pairs AS (
        SELECT a.indicator_id AS x, b.indicator_id AS y, min(a.seen_at) AS first,
               count(DISTINCT a.report_id)::float8 AS reports
        FROM ctas.sightings a
        JOIN ctas.sightings b ON b.report_id = a.report_id AND b.indicator_id > a.indicator_id
        WHERE "by" = 'indicator' AND a.seen_at >= since
        GROUP BY 1, 2
    )
    SELECT x.k, e.ts, e.event, e.detail
    FROM series x
    JOIN earliest f ON f.k = x.k,
    ctas_events(x.t, x.v, silent) e
    WHERE e.ts >= since AND (e.event <> 'first_seen' OR f.first >= since - history)
    UNION ALL
    SELECT ia.kind || ':' || ia.value || ' + ' || ib.kind || ':' || ib.value, p.first,
           'new_pair', p.reports
    FROM pairs p
    JOIN ctas.indicators ia ON ia.id = p.x
    JOIN ctas.indicators ib ON ib.id = p.y
    WHERE NOT EXISTS (
        SELECT 1 FROM ctas.sightings a
        JOIN ctas.sightings b ON b.report_id = a.report_id AND b.indicator_id = p.y
        WHERE a.indicator_id = p.x AND a.seen_at < since)
    ORDER BY 2, 1, 3;
END
$$;

COMMENT ON FUNCTION ctas_sighting_events(text, timestamptz, interval, interval, interval) IS
'The behaviour events since a time in ctas.sightings, per indicator (kind:value), source, H3 cell (hex) or ATT&CK technique: first_seen, burst (ctas_anomalies online over history before since, counted per step), reactivated (sighted again after at least dormancy without; detail the silent steps) and, per indicator, new_pair (two indicators named by one report for the first time; detail the reports since since that name both). A dormancy longer than history is not seen.';

