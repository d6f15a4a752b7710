-- ctas 0.8.0 -> 0.9.0: ctas_anomalies takes only_anomalies (the flagged points alone),
-- and ctas_sighting_anomalies asks for them so. Written by hand: a changed signature is
-- a new function, so the old one goes (nothing of the extension depends on it: the
-- plpgsql functions that call it resolve the call when they run).
\echo Use "ALTER EXTENSION ctas UPDATE" to load this file. \quit

DROP FUNCTION ctas_anomalies(timestamptz[], float8[], text, text, int, float8, int, bool);

CREATE FUNCTION ctas_anomalies(
    ts timestamptz[], vals float8[], method text DEFAULT 'auto', mode text DEFAULT 'online',
    period int DEFAULT NULL, threshold float8 DEFAULT 3, history int DEFAULT 48,
    counts bool DEFAULT true, only_anomalies bool DEFAULT false
) RETURNS TABLE (ts timestamptz, value float8, expected float8, lower float8, upper float8,
                 anomaly_score float8, is_anomaly bool)
IMMUTABLE PARALLEL SAFE LANGUAGE c
AS 'MODULE_PATHNAME', 'ctas_anomalies_v1';

COMMENT ON FUNCTION ctas_anomalies(timestamptz[], float8[], text, text, int, float8, int, bool, bool) IS
'Every point of the series (ts ascending, evenly spaced; missing steps are filled with 0) with the value expected, the band outside which it is flagged, an anomaly_score in [0, 1] (0.5 at the threshold) and the flag. method: auto (seasonal when there is a season and history enough, else robust_z), robust_z, ewma, seasonal, esd. mode: online (a point is judged by the points before it only) or retrospective (the whole series; esd needs it). period in points; NULL: 24 and 168 for hourly series, 7 for daily ones; 0: none. threshold in robust standard deviations; history: the points robust_z and seasonal look back; counts: the values are counts, whose spread is at least Poisson''s (square root of the expected value); only_anomalies: the flagged points alone (every point is judged all the same), cheaper over many series than filtering on is_anomaly.';

CREATE OR REPLACE FUNCTION ctas_sighting_anomalies(
    "by" text DEFAULT 'indicator', since timestamptz DEFAULT now() - interval '1 day',
    step interval DEFAULT '1 hour', history interval DEFAULT '28 days',
    method text DEFAULT 'auto', mode text DEFAULT 'online', threshold float8 DEFAULT 3
) RETURNS TABLE ("key" text, ts timestamptz, value float8, expected float8, lower float8,
                 upper float8, anomaly_score float8)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, @extschema@, pg_temp AS $$
BEGIN
    IF "by" NOT IN ('indicator', 'source', 'cell', 'technique') THEN
        RAISE EXCEPTION 'by must be indicator, source, cell or technique, not %', "by"
            USING ERRCODE = '22023';
    END IF;
    IF step <= interval '0' THEN
        RAISE EXCEPTION 'step must be a positive interval, not %', step USING ERRCODE = '22023';
    END IF;
    PERFORM ctas_check_history_owners();
    RETURN QUERY
    WITH counted AS (
        SELECT CASE "by"
                   WHEN 'indicator' THEN i.kind || ':' || i.value
                   WHEN 'technique' THEN i.value
                   WHEN 'source' THEN coalesce(s.source, r.source)
                   ELSE to_hex(r.h3_cell)
               END AS k,
               date_bin(step, s.seen_at, timestamptz '2000-01-01 00:00:00+00') AS bucket,
               count(*)::float8 AS n
        FROM ctas.sightings s
        JOIN ctas.reports r ON r.id = s.report_id
        LEFT JOIN ctas.indicators i ON i.id = s.indicator_id
        WHERE s.seen_at >= since - history
          AND ("by" <> 'technique' OR i.kind = 'attack_technique')
        GROUP BY 1, 2
    ), series AS (
        SELECT c.k, array_agg(c.bucket ORDER BY c.bucket) AS t, array_agg(c.n ORDER BY c.bucket) AS v
        FROM counted c WHERE c.k IS NOT NULL GROUP BY c.k
    )
    SELECT x.k, a.ts, a.value, a.expected, a.lower, a.upper, a.anomaly_score
    FROM series x, ctas_anomalies(x.t, x.v, method, mode, NULL, threshold, only_anomalies => true) a
    WHERE a.ts >= since
    ORDER BY a.anomaly_score DESC, x.k, a.ts;
END
$$;

COMMENT ON FUNCTION ctas_sighting_anomalies(text, timestamptz, interval, interval, text, text, float8) IS
'The anomalies since a time in how often things are sighted (ctas.sightings), per indicator (kind:value), source, H3 cell (of the report, hex) or ATT&CK technique: sightings counted per step over history before since, each series judged by ctas_anomalies (method, mode, threshold), the anomalous points at or after since, the most anomalous first.';
