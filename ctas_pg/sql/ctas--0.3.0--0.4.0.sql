-- ctas 0.3.0 -> 0.4.0: the extension under PostgreSQL's security rules for extensions
-- (docs/security.md). Functions pin search_path or qualify what they name; the settings
-- tables are readable by every role; the cache-epoch trigger runs as the owner; the
-- history is refused to a superuser when a role without superuser rights owns it.
-- Written by hand: every object here changed rather than was added.
\echo Use "ALTER EXTENSION ctas UPDATE TO '0.4.0'" to load this file. \quit

GRANT SELECT ON ctas_cache_epochs, ctas_warninglists, ctas_pattern_sets, ctas_patterns,
    ctas_decay_models TO PUBLIC;

CREATE OR REPLACE FUNCTION ctas_bump_cache_epoch() RETURNS trigger LANGUAGE plpgsql
SECURITY DEFINER SET search_path = pg_catalog, @extschema@, pg_temp AS $$
BEGIN
    UPDATE @extschema@.ctas_cache_epochs SET epoch = epoch + 1 WHERE name = TG_ARGV[0];
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION ctas_warninglist_load(list jsonb) RETURNS text VOLATILE STRICT LANGUAGE sql
SET search_path = pg_catalog, @extschema@, pg_temp AS $$
    INSERT INTO ctas_warninglists AS w (name, description, version, list_type, matching_attributes, entries)
    SELECT * FROM ctas_warninglist_parse(list)
    ON CONFLICT (name) DO UPDATE
        SET description = excluded.description, version = excluded.version,
            list_type = excluded.list_type, matching_attributes = excluded.matching_attributes,
            entries = excluded.entries, loaded_at = now()
    RETURNING name
$$;

CREATE OR REPLACE FUNCTION ctas_decay(base float8, last_seen timestamptz, lifetime interval, speed float8)
RETURNS float8 STABLE STRICT PARALLEL SAFE LANGUAGE sql
-- A standard SQL body: its names are bound here, not looked up on each call (and it is
-- still inlined into the query that calls it).
RETURN ctas_decay(base, last_seen, lifetime, speed, now());

CREATE FUNCTION "ctas_check_history_owners"() RETURNS void
STRICT STABLE PARALLEL SAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'ctas_check_history_owners_wrapper';

CREATE OR REPLACE FUNCTION ctas_analyze_row(r record, pattern_set text DEFAULT NULL, resolution int DEFAULT 7,
                                 model text DEFAULT 'ctas:admiralty', at timestamptz DEFAULT now())
RETURNS jsonb LANGUAGE plpgsql STABLE PARALLEL SAFE SET search_path = pg_catalog, @extschema@, pg_temp AS $$
DECLARE
    doc  jsonb := to_jsonb(r);
    rel  text;
    cred text;
BEGIN
    IF doc->>'body' IS NULL AND doc->>'text' IS NULL THEN
        RAISE EXCEPTION 'ctas_analyze_row: the row has no body or text column' USING ERRCODE = '22023';
    END IF;
    IF doc->>'source' IS NOT NULL THEN
        SELECT s.reliability, s.credibility INTO rel, cred FROM ctas.sources s WHERE s.name = doc->>'source';
    END IF;
    RETURN ctas_analyze(
        jsonb_strip_nulls(jsonb_build_object(
            'text', coalesce(doc->>'body', doc->>'text'),
            'lat', doc->'lat', 'lng', doc->'lng', 'observed_at', doc->'observed_at',
            'source', CASE WHEN doc->>'source' IS NULL THEN NULL ELSE jsonb_strip_nulls(jsonb_build_object(
                'name', doc->>'source', 'reliability', rel, 'credibility', cred)) END,
            'tags', doc->'tags')),
        pattern_set, resolution, model, at);
END
$$;

CREATE OR REPLACE FUNCTION ctas_correlated_reports(report_id text, max_results int DEFAULT 20)
RETURNS TABLE (related_report text, shared int, weight float8, shared_indicators text[])
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, @extschema@, pg_temp AS $$
BEGIN
    PERFORM ctas_check_history_owners();
    RETURN QUERY
    WITH mine AS (
        SELECT DISTINCT s.indicator_id FROM ctas.sightings s
        WHERE s.report_id = ctas_correlated_reports.report_id AND s.indicator_id IS NOT NULL
    ), total AS (
        SELECT count(*)::float8 AS n FROM ctas.reports
    ), df AS (
        SELECT s.indicator_id, count(DISTINCT s.report_id)::float8 AS reports
        FROM ctas.sightings s JOIN mine USING (indicator_id) GROUP BY s.indicator_id
    )
    SELECT s.report_id, count(*)::int,
           sum(ln(total.n / df.reports)),
           array_agg(i.kind || ':' || i.value ORDER BY df.reports, i.value)
    FROM ctas.sightings s
    JOIN df USING (indicator_id)
    JOIN ctas.indicators i ON i.id = s.indicator_id
    CROSS JOIN total
    WHERE s.report_id <> ctas_correlated_reports.report_id
    GROUP BY s.report_id
    ORDER BY 3 DESC, 2 DESC, 1
    LIMIT max_results;
END
$$;

CREATE OR REPLACE FUNCTION ctas_related_indicators(kind text, value text, max_results int DEFAULT 20)
RETURNS TABLE (related_kind text, related_value text, reports int, weight float8)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, @extschema@, pg_temp AS $$
DECLARE
    me text := ctas_indicator_id(kind, value);
BEGIN
    PERFORM ctas_check_history_owners();
    RETURN QUERY
    WITH mine AS (
        SELECT DISTINCT s.report_id FROM ctas.sightings s WHERE s.indicator_id = me
    ), total AS (
        SELECT count(*)::float8 AS n FROM ctas.reports
    ), co AS (
        SELECT s.indicator_id, count(DISTINCT s.report_id) AS together
        FROM ctas.sightings s JOIN mine USING (report_id)
        WHERE s.indicator_id IS NOT NULL AND s.indicator_id <> me
        GROUP BY s.indicator_id
    ), df AS (
        SELECT s.indicator_id, count(DISTINCT s.report_id)::float8 AS reports
        FROM ctas.sightings s JOIN co USING (indicator_id) GROUP BY s.indicator_id
    )
    SELECT i.kind, i.value, co.together::int, co.together * ln(total.n / df.reports)
    FROM co JOIN df USING (indicator_id) JOIN ctas.indicators i ON i.id = co.indicator_id CROSS JOIN total
    ORDER BY 4 DESC, 3 DESC, 1, 2
    LIMIT max_results;
END
$$;

CREATE OR REPLACE PROCEDURE ctas_retro_hunt(pattern_set text, from_time timestamptz, to_time timestamptz, batch_size int DEFAULT 1000)
LANGUAGE plpgsql AS $$
-- A procedure that commits cannot pin search_path (SET): every name is qualified instead.
DECLARE
    run    ctas.retro_hunts;
    batch  text[];
    added  bigint;
BEGIN
    IF batch_size < 1 OR batch_size > 1000000 THEN
        RAISE EXCEPTION 'batch_size must be between 1 and 1000000, not %', batch_size USING ERRCODE = '22023';
    END IF;
    PERFORM @extschema@.ctas_check_history_owners();
    PERFORM @extschema@.ctas_matches('', pattern_set);  -- the set exists, and compiles, before any work
    SELECT * INTO run FROM ctas.retro_hunts r
    WHERE r.pattern_set = ctas_retro_hunt.pattern_set AND r.from_time = ctas_retro_hunt.from_time
      AND r.to_time = ctas_retro_hunt.to_time AND r.finished_at IS NULL
    ORDER BY r.id DESC LIMIT 1;
    IF run.id IS NULL THEN
        INSERT INTO ctas.retro_hunts (pattern_set, from_time, to_time)
        VALUES (pattern_set, from_time, to_time) RETURNING * INTO run;
    ELSE
        RAISE NOTICE 'retro-hunt %: resuming after report % (% reports, % hits so far)', run.id, run.last_report, run.reports, run.hits;
    END IF;
    LOOP
        SELECT pg_catalog.array_agg(id ORDER BY id) INTO batch FROM (
            SELECT r.id FROM ctas.reports r
            WHERE r.observed_at >= from_time AND r.observed_at < to_time
              AND (run.last_report IS NULL OR r.id > run.last_report)
            ORDER BY r.id LIMIT batch_size) b;
        EXIT WHEN batch IS NULL;
        INSERT INTO ctas.sightings (report_id, pattern_set, pattern_id, source, seen_at, raw, start_pos, end_pos)
        SELECT r.id, pattern_set, m.pattern_id, r.source, r.observed_at, m.matched, m.start_pos, m.end_pos
        FROM ctas.reports r, @extschema@.ctas_match(r.body, pattern_set) m
        WHERE r.id = ANY(batch)
        ON CONFLICT DO NOTHING;
        GET DIAGNOSTICS added = ROW_COUNT;
        UPDATE ctas.retro_hunts r
        SET last_report = batch[pg_catalog.cardinality(batch)], reports = r.reports + pg_catalog.cardinality(batch),
            hits = r.hits + added, updated_at = pg_catalog.now()
        WHERE r.id = run.id RETURNING * INTO run;
        COMMIT;
        RAISE NOTICE 'retro-hunt %: % reports read, % hits', run.id, run.reports, run.hits;
    END LOOP;
    UPDATE ctas.retro_hunts r SET finished_at = pg_catalog.now(), updated_at = pg_catalog.now() WHERE r.id = run.id;
    COMMIT;
END
$$;

COMMENT ON FUNCTION ctas_check_history_owners() IS
'ERROR 42501 when the current role is a superuser and schema ctas, or a table or view in it, belongs to a role that is not (whose triggers, rules and view functions would then run as a superuser); every function that writes or correlates the history checks it first.';
