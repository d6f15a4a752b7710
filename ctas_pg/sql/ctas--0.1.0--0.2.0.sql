-- Upgrade of the ctas extension: the objects of ctas--0.2.0.sql that
-- ctas--0.1.0.sql lacks. Written by scripts/extension_upgrade.py.
\echo Use "ALTER EXTENSION ctas UPDATE" to load this file. \quit

CREATE OR REPLACE FUNCTION ctas_valid_until(base float8, last_seen timestamptz, lifetime interval,
                                            speed float8, score float8)
RETURNS timestamptz IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c
AS 'MODULE_PATHNAME', 'ctas_valid_until_v1';

CREATE TABLE ctas_cache_epochs (
    name  text PRIMARY KEY,
    epoch bigint NOT NULL DEFAULT 0
);
COMMENT ON TABLE ctas_cache_epochs IS
'One row per source of a per-backend cache (warninglists, patterns); a statement trigger on the source bumps epoch, and every backend rebuilds its cache at its next statement.';
INSERT INTO ctas_cache_epochs (name) VALUES ('warninglists'), ('patterns');

CREATE FUNCTION ctas_bump_cache_epoch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE ctas_cache_epochs SET epoch = epoch + 1 WHERE name = TG_ARGV[0];
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION ctas_h3_getis_ord(
    cells bigint[], "values" float8[], k int DEFAULT 1, kernel text DEFAULT 'uniform'
) RETURNS TABLE (cell bigint, z_score float8, p_value float8)
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c
AS 'MODULE_PATHNAME', 'ctas_h3_getis_ord_v1';

COMMENT ON FUNCTION ctas_h3_getis_ord(bigint[], float8[], int, text) IS
'Getis-Ord Gi* for every cell of cells (distinct, one resolution) with its value: (cell, z_score, p_value two-sided). Neighbours are the input cells within k rings (default 1), weighted by kernel uniform (default), triangular, quadratic, quartic or gaussian with bandwidth k+1 rings. Matches PySAL esda G_Local(star=True) with binary k-ring weights and CARTO GETIS_ORD_H3.';

-- ctas_pg::analyze::ctas_analyze
CREATE  FUNCTION "ctas_analyze"(
	"report" jsonb, /* Option < JsonB > */
	"pattern_set" TEXT DEFAULT NULL, /* Option < & str > */
	"resolution" INT DEFAULT 7, /* i32 */
	"model" TEXT DEFAULT 'ctas:admiralty', /* & str */
	"at" timestamp with time zone DEFAULT now() /* TimestampWithTimeZone */
) RETURNS jsonb /* Option < JsonB > */
STABLE PARALLEL SAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'ctas_analyze_wrapper';

-- ctas_pg::ioc::ctas_defang
CREATE  FUNCTION "ctas_defang"(
	"body" TEXT /* & str */
) RETURNS TEXT /* String */
IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'ctas_defang_wrapper';

-- requires:
--   ctas_h3_cell_clusters


CREATE OR REPLACE FUNCTION ctas_dbscan(
    ids bigint[], lats float8[], lngs float8[], eps_m float8, minpoints int
) RETURNS TABLE (id bigint, cluster_id int)
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c
AS 'MODULE_PATHNAME', 'ctas_dbscan_v1';

COMMENT ON FUNCTION ctas_dbscan(bigint[], float8[], float8[], float8, int) IS
'DBSCAN of points given as ids, lats and lngs (degrees, same order) with eps in metres on the sphere and minpoints (itself included): (id, cluster_id from 0, NULL for noise). Clusters as PostGIS ST_ClusterDBSCAN; a border point near two clusters joins the one of its nearest core point.';
COMMENT ON FUNCTION ctas_h3_cell_clusters(bigint[], float8[], float8, int) IS
'Clusters of the cells (distinct, one resolution) whose weight is at least min_weight (default 0), two cells joining when at most gap rings (default 0: touching) lie between them: (cluster_id from 0, cells, total_weight, centroid point x = lng y = lat weighted on the sphere, outline GeoJSON MultiPolygon with holes).';

-- ctas_pg::history::ctas_indicator_id
CREATE  FUNCTION "ctas_indicator_id"(
	"kind" TEXT, /* & str */
	"value" TEXT /* & str */
) RETURNS TEXT /* String */
IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'ctas_indicator_id_wrapper';

-- ctas_pg::ioc::ctas_ioc_kind
CREATE  FUNCTION "ctas_ioc_kind"(
	"value" TEXT /* & str */
) RETURNS TEXT /* Option < & '_ str > */
IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'ctas_ioc_kind_wrapper';

-- ctas_pg::ioc::ctas_ioc_kinds
CREATE  FUNCTION "ctas_ioc_kinds"() RETURNS TABLE (
	"kind" TEXT,  /* & '_ str */
	"misp_types" TEXT[]  /* Vec < & '_ str > */
)
IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'ctas_ioc_kinds_wrapper';

-- ctas_pg::ioc::ctas_ioc_normalise
CREATE  FUNCTION "ctas_ioc_normalise"(
	"value" TEXT /* & str */
) RETURNS TEXT /* Option < String > */
IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'ctas_ioc_normalise_wrapper';

-- ctas_pg::patterns::ctas_match
CREATE  FUNCTION "ctas_match"(
	"body" TEXT, /* & str */
	"set_name" TEXT /* & str */
) RETURNS TABLE (
	"pattern_id" TEXT,  /* String */
	"start_pos" INT,  /* i32 */
	"end_pos" INT,  /* i32 */
	"matched" TEXT,  /* String */
	"severity" TEXT,  /* String */
	"tags" TEXT[],  /* Vec < String > */
	"attack_id" TEXT  /* Option < String > */
)
STRICT STABLE PARALLEL SAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'ctas_match_wrapper';

-- ctas_pg::patterns::ctas_matches
CREATE  FUNCTION "ctas_matches"(
	"body" TEXT, /* & str */
	"set_name" TEXT /* & str */
) RETURNS bool /* bool */
STRICT STABLE PARALLEL SAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'ctas_matches_wrapper';

-- ctas_pg::patterns::ctas_pattern_check
CREATE  FUNCTION "ctas_pattern_check"(
	"pattern_id" TEXT, /* & str */
	"regex" TEXT /* & str */
) RETURNS bool /* bool */
IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'ctas_pattern_check_wrapper';

-- requires:
--   ctas_cache_epochs
--   ctas_pattern_check
--   ctas_match
--   ctas_matches


CREATE TABLE ctas_pattern_sets (
    name        text PRIMARY KEY,
    description text NOT NULL DEFAULT ''
);
CREATE TABLE ctas_patterns (
    set_name   text NOT NULL REFERENCES ctas_pattern_sets (name) ON UPDATE CASCADE ON DELETE CASCADE,
    pattern_id text NOT NULL,
    regex      text NOT NULL,
    severity   text NOT NULL DEFAULT 'medium' CHECK (severity IN ('info', 'low', 'medium', 'high', 'critical')),
    tags       text[] NOT NULL DEFAULT '{}',
    attack_id  text CHECK (attack_id ~ '^(T[0-9]{4}(\.[0-9]{3})?|TA[0-9]{4}|[GSMC][0-9]{4})$'),
    PRIMARY KEY (set_name, pattern_id),
    CHECK (ctas_pattern_check(pattern_id, regex))
);
COMMENT ON TABLE ctas_pattern_sets IS
'Named sets of patterns for retro-hunts with ctas_match / ctas_matches.';
COMMENT ON TABLE ctas_patterns IS
'Patterns of the sets of ctas_pattern_sets: regular expressions of the linear-time regex crate (no look-around or back-references, so no pattern can hang a backend), at most 4096 bytes each, 10000 per set.';
SELECT pg_catalog.pg_extension_config_dump('ctas_pattern_sets', '');
SELECT pg_catalog.pg_extension_config_dump('ctas_patterns', '');
CREATE TRIGGER ctas_pattern_sets_epoch AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON ctas_pattern_sets
    FOR EACH STATEMENT EXECUTE FUNCTION ctas_bump_cache_epoch('patterns');
CREATE TRIGGER ctas_patterns_epoch AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON ctas_patterns
    FOR EACH STATEMENT EXECUTE FUNCTION ctas_bump_cache_epoch('patterns');
COMMENT ON FUNCTION ctas_match(text, text) IS
'Every match of the patterns of a set in a text: pattern_id, start_pos/end_pos (1-based characters, end exclusive), matched, severity, tags, attack_id. The set is compiled once per backend.';
COMMENT ON FUNCTION ctas_matches(text, text) IS
'Whether any pattern of a set matches a text; for WHERE clauses of retro-hunts.';
COMMENT ON FUNCTION ctas_pattern_check(text, text) IS
'True when a pattern compiles; otherwise an ERROR (2201B, or 54000 when too large) naming the pattern id.';

-- ctas_pg::ioc::ctas_refang
CREATE  FUNCTION "ctas_refang"(
	"body" TEXT /* & str */
) RETURNS TEXT /* String */
IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'ctas_refang_wrapper';

-- ctas_pg::history::ctas_schema_upgrade
CREATE  FUNCTION "ctas_schema_upgrade"() RETURNS SETOF TEXT /* & '_ str */
STRICT VOLATILE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'ctas_schema_upgrade_wrapper';

-- ctas_pg::ioc::ctas_warninglist_hits
CREATE  FUNCTION "ctas_warninglist_hits"(
	"value" TEXT /* & str */
) RETURNS TEXT[] /* Vec < String > */
STRICT STABLE PARALLEL SAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'ctas_warninglist_hits_wrapper';

-- ctas_pg::ioc::ctas_warninglist_parse
CREATE  FUNCTION "ctas_warninglist_parse"(
	"list" jsonb /* JsonB */
) RETURNS TABLE (
	"name" TEXT,  /* String */
	"description" TEXT,  /* String */
	"version" bigint,  /* i64 */
	"list_type" TEXT,  /* String */
	"matching_attributes" TEXT[],  /* Vec < String > */
	"entries" TEXT[]  /* Vec < String > */
)
IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'ctas_warninglist_parse_wrapper';

-- requires:
--   ctas_cache_epochs
--   ctas_ioc_kind
--   ctas_refang
--   ctas_defang
--   ctas_warninglist_parse
--   ctas_warninglist_hits


CREATE FUNCTION ctas_extract_iocs(body text)
RETURNS TABLE (kind text, value text, raw text, start_pos int, end_pos int, warninglists text[])
STABLE STRICT PARALLEL SAFE ROWS 20 LANGUAGE c
AS 'MODULE_PATHNAME', 'ctas_extract_iocs_v1';

CREATE TABLE ctas_warninglists (
    name                text PRIMARY KEY,
    description         text NOT NULL DEFAULT '',
    version             bigint NOT NULL DEFAULT 0,
    list_type           text NOT NULL CHECK (list_type IN ('string', 'substring', 'hostname', 'cidr', 'regex')),
    matching_attributes text[] NOT NULL DEFAULT '{}',
    entries             text[] NOT NULL,
    loaded_at           timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE ctas_warninglists IS
'MISP warninglists (known-benign values): ctas_extract_iocs flags indicators they hold. Load with ctas_warninglist_load(list.json as jsonb).';
SELECT pg_catalog.pg_extension_config_dump('ctas_warninglists', '');
CREATE TRIGGER ctas_warninglists_epoch AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON ctas_warninglists
    FOR EACH STATEMENT EXECUTE FUNCTION ctas_bump_cache_epoch('warninglists');

CREATE FUNCTION ctas_warninglist_load(list jsonb) RETURNS text VOLATILE STRICT LANGUAGE sql AS $$
    INSERT INTO ctas_warninglists AS w (name, description, version, list_type, matching_attributes, entries)
    SELECT * FROM ctas_warninglist_parse(list)
    ON CONFLICT (name) DO UPDATE
        SET description = excluded.description, version = excluded.version,
            list_type = excluded.list_type, matching_attributes = excluded.matching_attributes,
            entries = excluded.entries, loaded_at = now()
    RETURNING name
$$;
COMMENT ON FUNCTION ctas_warninglist_load(jsonb) IS
'Load (or replace, by name) one MISP warninglist from its list.json: SELECT ctas_warninglist_load(pg_read_file(''/path/list.json'')::jsonb). Returns its name.';
COMMENT ON FUNCTION ctas_extract_iocs(text) IS
'Every indicator in a text (defanged forms read, values normalised): kind, value, raw as written, start_pos/end_pos (1-based characters, end exclusive), and the warninglists that hold it.';
COMMENT ON FUNCTION ctas_ioc_kind(text) IS
'The kind of a value when all of it is one indicator (ipv4, domain, url, sha256, filename, ...), else NULL.';
COMMENT ON FUNCTION ctas_refang(text) IS
'The text with every defanged form written plainly: [.] (.) {.} [dot] (dot) " dot " \. hxxp fxp [:] [://] [@] [at] (at) [/].';
COMMENT ON FUNCTION ctas_defang(text) IS
'The text with its URLs, domains, IPv4 addresses and e-mail addresses defanged (hxxps://evil[.]com), safe to paste into a chat; ctas_refang gives it back.';
COMMENT ON FUNCTION ctas_warninglist_hits(text) IS
'The names of the warninglists of ctas_warninglists that hold a value, matched by each list''s own type (string, substring, hostname, cidr, regex).';

-- requires:
--   ctas_indicator_id
--   ctas_ioc_objects
--   ctas_pattern_objects
--   ctas_schema_upgrade


-- The one place an indicator is recorded: every feed (reports, STIX, MISP) stores what it
-- found through it, so first/last seen move the same way whatever brought the value.
CREATE FUNCTION ctas_store_indicators(kinds text[], vals text[], seen timestamptz[])
RETURNS TABLE (id text, inserted boolean)
LANGUAGE plpgsql VOLATILE AS $$
#variable_conflict use_column
BEGIN
    RETURN QUERY
    INSERT INTO ctas.indicators AS i (id, kind, value, first_seen, last_seen)
    SELECT ctas_indicator_id(k, v), k, v, min(t), max(t)
    FROM unnest(kinds, vals, seen) u(k, v, t) GROUP BY k, v
    ON CONFLICT (id) DO UPDATE
        SET first_seen = least(i.first_seen, excluded.first_seen),
            last_seen = greatest(i.last_seen, excluded.last_seen)
    RETURNING i.id, i.xmax = 0;
END
$$;
COMMENT ON FUNCTION ctas_store_indicators(text[], text[], timestamptz[]) IS
'Record indicators (kind, normalised value, when seen; one row per position of the three arrays) in ctas.indicators, moving first_seen and last_seen of those already there. Returns their ids and whether each is new. Used by ctas_ingest_report, ctas_ingest_stix and ctas_ingest_misp.';

CREATE FUNCTION ctas_ingest_report(report jsonb, id text DEFAULT NULL) RETURNS text
LANGUAGE plpgsql VOLATILE AS $$
#variable_conflict use_column
DECLARE
    body   text := report->>'text';
    seen   timestamptz := coalesce((report->>'observed_at')::timestamptz, now());
    src    text := report->'source'->>'name';
    rid    text;
BEGIN
    IF body IS NULL THEN
        RAISE EXCEPTION 'report: missing field "text"' USING ERRCODE = '22023';
    END IF;
    -- The same text observed at the same time is the same report: ingesting it twice
    -- stores it once.
    rid := coalesce(id, report->>'id', 'report--' || substr(ctas_indicator_id('report', seen::text || body), 12));
    IF src IS NOT NULL THEN
        INSERT INTO ctas.sources (name, reliability, credibility)
        VALUES (src, report->'source'->>'reliability', report->'source'->>'credibility')
        ON CONFLICT (name) DO NOTHING;
    END IF;
    INSERT INTO ctas.reports (id, title, body, stix_id, source, published_at, observed_at, lat, lng, h3_cell, tags)
    VALUES (rid, report->>'title', body, report->>'stix_id', src, (report->>'published_at')::timestamptz, seen,
            (report->>'lat')::float8, (report->>'lng')::float8,
            ctas_h3_cell((report->>'lat')::float8, (report->>'lng')::float8, 7),
            coalesce(ARRAY(SELECT jsonb_array_elements_text(report->'tags')), '{}'))
    ON CONFLICT (id) DO NOTHING;
    WITH found AS (
        SELECT DISTINCT ON (kind, value) kind, value, raw, start_pos, end_pos
        FROM ctas_extract_iocs(body) ORDER BY kind, value, start_pos
    ), ind AS (
        SELECT s.id FROM ctas_store_indicators((SELECT array_agg(kind) FROM found),
                                               (SELECT array_agg(value) FROM found),
                                               (SELECT array_agg(seen) FROM found)) s
    )
    INSERT INTO ctas.sightings (report_id, indicator_id, source, seen_at, raw, start_pos, end_pos)
    SELECT rid, ctas_indicator_id(kind, value), src, seen, raw, start_pos, end_pos FROM found
    WHERE ctas_indicator_id(kind, value) IN (SELECT id FROM ind)
    ON CONFLICT DO NOTHING;
    RETURN rid;
END
$$;
COMMENT ON FUNCTION ctas_ingest_report(jsonb, text) IS
'Store a report {text, title, observed_at, source: {name, reliability, credibility}, lat, lng, tags, stix_id} in ctas.reports with its indicators (ctas.indicators) and sightings; idempotent. Returns the report id. Needs SELECT ctas_schema_upgrade() once.';

CREATE FUNCTION ctas_analyze_row(r record, pattern_set text DEFAULT NULL, resolution int DEFAULT 7,
                                 model text DEFAULT 'ctas:admiralty', at timestamptz DEFAULT now())
RETURNS jsonb LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
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
COMMENT ON FUNCTION ctas_analyze_row(record, text, int, text, timestamptz) IS
'ctas_analyze of a row of ctas.reports (or any row with body/text, lat, lng, observed_at, source, tags): SELECT ctas_analyze_row(r) FROM ctas.reports r; the source''s reliability and credibility come from ctas.sources.';

CREATE FUNCTION ctas_correlated_reports(report_id text, max_results int DEFAULT 20)
RETURNS TABLE (related_report text, shared int, weight float8, shared_indicators text[])
LANGUAGE plpgsql STABLE AS $$
BEGIN
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
COMMENT ON FUNCTION ctas_correlated_reports(text, int) IS
'Reports that share indicators with a report (MISP correlation), ranked by the rarity of what they share: the sum over shared indicators of ln(reports / reports naming it).';

CREATE FUNCTION ctas_related_indicators(kind text, value text, max_results int DEFAULT 20)
RETURNS TABLE (related_kind text, related_value text, reports int, weight float8)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    me text := ctas_indicator_id(kind, value);
BEGIN
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
COMMENT ON FUNCTION ctas_related_indicators(text, text, int) IS
'Indicators seen in the same reports as one indicator, ranked by how often and how rarely: reports together x ln(reports / reports naming it).';

CREATE PROCEDURE ctas_retro_hunt(pattern_set text, from_time timestamptz, to_time timestamptz, batch_size int DEFAULT 1000)
LANGUAGE plpgsql AS $$
DECLARE
    run    ctas.retro_hunts;
    batch  text[];
    added  bigint;
BEGIN
    IF batch_size < 1 OR batch_size > 1000000 THEN
        RAISE EXCEPTION 'batch_size must be between 1 and 1000000, not %', batch_size USING ERRCODE = '22023';
    END IF;
    PERFORM ctas_matches('', pattern_set);  -- the set exists, and compiles, before any work
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
        SELECT array_agg(id ORDER BY id) INTO batch FROM (
            SELECT r.id FROM ctas.reports r
            WHERE r.observed_at >= from_time AND r.observed_at < to_time
              AND (run.last_report IS NULL OR r.id > run.last_report)
            ORDER BY r.id LIMIT batch_size) b;
        EXIT WHEN batch IS NULL;
        INSERT INTO ctas.sightings (report_id, pattern_set, pattern_id, source, seen_at, raw, start_pos, end_pos)
        SELECT r.id, pattern_set, m.pattern_id, r.source, r.observed_at, m.matched, m.start_pos, m.end_pos
        FROM ctas.reports r, ctas_match(r.body, pattern_set) m
        WHERE r.id = ANY(batch)
        ON CONFLICT DO NOTHING;
        GET DIAGNOSTICS added = ROW_COUNT;
        UPDATE ctas.retro_hunts r
        SET last_report = batch[cardinality(batch)], reports = r.reports + cardinality(batch),
            hits = r.hits + added, updated_at = now()
        WHERE r.id = run.id RETURNING * INTO run;
        COMMIT;
        RAISE NOTICE 'retro-hunt %: % reports read, % hits', run.id, run.reports, run.hits;
    END LOOP;
    UPDATE ctas.retro_hunts r SET finished_at = now(), updated_at = now() WHERE r.id = run.id;
    COMMIT;
END
$$;
COMMENT ON PROCEDURE ctas_retro_hunt(text, timestamptz, timestamptz, int) IS
'Run a pattern set over the reports observed in [from_time, to_time), batch by batch (a COMMIT each), writing hits as ctas.sightings; progress in ctas.retro_hunts and NOTICEs; called again with the same arguments, an unfinished hunt resumes.';

-- requires:
--   ctas_history_objects
--   ctas_ioc_objects


CREATE FUNCTION ctas_ingest_misp(export jsonb) RETURNS jsonb
LANGUAGE plpgsql VOLATILE AS $$
#variable_conflict use_column
DECLARE
    ev       jsonb;
    events   jsonb;
    seen     timestamptz;
    src      text;
    rid      text;
    body     text;
    n_events int := 0;
    reports  int := 0;
    inds     int := 0;
    sights   int := 0;
    skipped  jsonb := '{}';
    skip_ev  jsonb;
    attrs    jsonb;
    n        int;
BEGIN
    -- The shapes MISP exports: {"response": [{"Event": ...}, ...]}, {"Event": ...}, an
    -- array of those, or a bare event.
    events := CASE
        WHEN jsonb_typeof(export) = 'array' THEN
            (SELECT jsonb_agg(coalesce(x->'Event', x)) FROM jsonb_array_elements(export) x)
        WHEN jsonb_typeof(export->'response') = 'array' THEN
            (SELECT jsonb_agg(coalesce(x->'Event', x)) FROM jsonb_array_elements(export->'response') x)
        WHEN jsonb_typeof(export->'Event') = 'object' THEN jsonb_build_array(export->'Event')
        WHEN jsonb_typeof(export) = 'object' AND export ? 'info' THEN jsonb_build_array(export)
    END;
    IF events IS NULL THEN
        RAISE EXCEPTION 'misp: expected an event export ({"Event": {...}}, {"response": [...]} or an event), got %',
            left(coalesce(export::text, 'NULL'), 60) USING ERRCODE = '22023';
    END IF;
    FOR ev IN SELECT x FROM jsonb_array_elements(events) x LOOP
        IF jsonb_typeof(ev) IS DISTINCT FROM 'object' OR ev->>'info' IS NULL OR ev->>'uuid' IS NULL THEN
            RAISE EXCEPTION 'misp: event % lacks "info" or "uuid"', coalesce(ev->>'uuid', ev->>'id', left(ev::text, 60))
                USING ERRCODE = '22023';
        END IF;
        IF ev->>'uuid' !~* '^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$' THEN
            RAISE EXCEPTION 'misp: event % has uuid %, which is not a UUID', coalesce(ev->>'id', ev->>'info'), ev->>'uuid'
                USING ERRCODE = '22023';
        END IF;
        IF ev->>'date' IS NOT NULL AND ev->>'date' !~ '^\d{4}-\d{2}-\d{2}' THEN
            RAISE EXCEPTION 'misp: event % has date %, expected YYYY-MM-DD', ev->>'uuid', ev->>'date'
                USING ERRCODE = '22023';
        END IF;
        n_events := n_events + 1;
        seen := coalesce((ev->>'date')::timestamptz, to_timestamp((ev->>'timestamp')::bigint), now());
        src := ev->'Orgc'->>'name';
        rid := 'report--' || (ev->>'uuid')::uuid;
        IF NOT EXISTS (SELECT 1 FROM ctas.reports WHERE id = rid) THEN
            reports := reports + 1;
        END IF;
        -- Every attribute, those of objects too, as {type, value, comment, at}.
        SELECT coalesce(jsonb_agg(jsonb_build_object(
                   'type', a->>'type', 'value', a->>'value', 'comment', nullif(a->>'comment', ''),
                   'at', coalesce(to_timestamp(nullif(a->>'timestamp', '')::bigint), seen))), '[]')
        INTO attrs
        FROM (SELECT jsonb_array_elements(coalesce(ev->'Attribute', '[]')) a
              UNION ALL
              SELECT jsonb_array_elements(coalesce(o->'Attribute', '[]'))
              FROM jsonb_array_elements(coalesce(ev->'Object', '[]')) o) s
        WHERE coalesce((a->>'deleted')::boolean, false) = false AND a->>'value' IS NOT NULL;
        body := concat_ws(E'\n', ev->>'info',
                          (SELECT string_agg(value, E'\n') FROM (SELECT x->>'type' AS type, x->>'value' AS value, x->>'comment' AS comment, (x->>'at')::timestamptz AS at FROM jsonb_array_elements(attrs) x) a WHERE type IN ('text', 'comment')),
                          (SELECT string_agg(DISTINCT comment, E'\n') FROM (SELECT x->>'type' AS type, x->>'value' AS value, x->>'comment' AS comment, (x->>'at')::timestamptz AS at FROM jsonb_array_elements(attrs) x) a));
        PERFORM ctas_ingest_report(jsonb_strip_nulls(jsonb_build_object(
                    'text', body, 'title', ev->>'info', 'observed_at', seen,
                    'published_at', CASE WHEN coalesce(ev->>'publish_timestamp', '0') <> '0'
                                         THEN to_timestamp((ev->>'publish_timestamp')::bigint) END,
                    'tags', (SELECT jsonb_agg(t->>'name') FROM jsonb_array_elements(coalesce(ev->'Tag', '[]')) t),
                    'source', CASE WHEN src IS NULL THEN NULL ELSE jsonb_build_object('name', src) END)),
                rid);
        UPDATE ctas.reports SET misp_uuid = (ev->>'uuid')::uuid WHERE id = rid AND misp_uuid IS NULL;
        -- Typed attributes as indicators: composite types split, each part mapped to the
        -- kinds that list its MISP type; CTAS's reading of the value picks among them.
        WITH parts AS (
            SELECT p.type, trim(p.value) AS value, a.at
            FROM (SELECT x->>'type' AS type, x->>'value' AS value, x->>'comment' AS comment, (x->>'at')::timestamptz AS at FROM jsonb_array_elements(attrs) x) a,
                 LATERAL (SELECT t AS type, v AS value
                          FROM unnest(string_to_array(a.type, '|'), string_to_array(a.value, '|')) u(t, v)
                          WHERE position('|' IN a.type) > 0
                          UNION ALL SELECT a.type, a.value WHERE position('|' IN a.type) = 0) p
            WHERE p.value IS NOT NULL AND p.value <> ''
        ), typed AS (
            SELECT p.type, p.value, p.at,
                   (SELECT array_agg(k.kind) FROM ctas_ioc_kinds() k
                    WHERE (CASE p.type WHEN 'ip' THEN 'ip-dst' ELSE p.type END) = ANY (k.misp_types)) AS kinds,
                   ctas_ioc_kind(p.value) AS read_as
            FROM parts p
        ), chosen AS (
            SELECT type, value, at, read_as,
                   CASE WHEN read_as = ANY (kinds) THEN read_as
                        WHEN read_as IS NULL AND cardinality(kinds) = 1 THEN kinds[1] END AS kind
            FROM typed WHERE kinds IS NOT NULL
        ), found AS (
            SELECT DISTINCT ON (kind, v) kind, v AS value, value AS raw, at
            -- What CTAS cannot read keeps MISP's word, in lower case where case carries
            -- no meaning (names and hashes).
            FROM (SELECT kind, coalesce(ctas_ioc_normalise(value),
                                        CASE WHEN kind IN ('domain', 'md5', 'sha1', 'sha256', 'sha512')
                                             THEN lower(value) ELSE value END) AS v, value, at
                  FROM chosen WHERE kind IS NOT NULL) c
            ORDER BY kind, v, at
        ), stored AS (
            SELECT s.id, s.inserted FROM ctas_store_indicators((SELECT array_agg(kind) FROM found),
                                                               (SELECT array_agg(value) FROM found),
                                                               (SELECT array_agg(at) FROM found)) s
        ), sighted AS (
            INSERT INTO ctas.sightings (report_id, indicator_id, source, seen_at, raw)
            SELECT rid, ctas_indicator_id(kind, value), src, at, raw FROM found
            WHERE ctas_indicator_id(kind, value) IN (SELECT id FROM stored)
            ON CONFLICT DO NOTHING
            RETURNING 1
        ), unmapped AS (
            SELECT type FROM typed WHERE kinds IS NULL AND type NOT IN ('text', 'comment')
            UNION ALL SELECT type || ' (read as ' || coalesce(read_as, 'nothing') || ')' FROM chosen
            WHERE kind IS NULL
        )
        SELECT inds + (SELECT count(*) FILTER (WHERE inserted) FROM stored),
               sights + (SELECT count(*) FROM sighted),
               (SELECT coalesce(jsonb_object_agg(type, c), '{}') FROM (SELECT type, count(*) AS c FROM unmapped GROUP BY 1) u)
        INTO inds, sights, skip_ev;
        skipped := (SELECT coalesce(jsonb_object_agg(k, coalesce((skipped->>k)::int, 0) + coalesce((skip_ev->>k)::int, 0)), '{}')
                    FROM (SELECT jsonb_object_keys(skipped) UNION SELECT jsonb_object_keys(skip_ev)) keys(k));
    END LOOP;
    RETURN jsonb_build_object('events', n_events,
                              'added', jsonb_build_object('reports', reports, 'indicators', inds, 'sightings', sights),
                              'skipped', skipped);
END
$$;
COMMENT ON FUNCTION ctas_ingest_misp(jsonb) IS
'Store MISP events ({"Event": ...}, {"response": [...]}, an array or a bare event) in the cold tier: each event a report (info and text attributes as its text, Orgc as source, tags), each attribute whose MISP type names an indicator kind (composite types split) an indicator and a sighting of it. Idempotent. Returns {events, added: {reports, indicators, sightings}, skipped: {misp type: count}}. Needs SELECT ctas_schema_upgrade() once.';

-- requires:
--   ctas_history_objects


CREATE FUNCTION ctas_ingest_stix(bundle jsonb) RETURNS jsonb
LANGUAGE plpgsql VOLATILE AS $$
#variable_conflict use_column
DECLARE
    o        jsonb;
    bad      text;
    identities jsonb;
    seen     timestamptz;
    src      text;
    rid      text;
    reports  int := 0;
    inds     int := 0;
    links    int := 0;
    sights   int := 0;
    rels     int := 0;
    n        int;
BEGIN
    IF jsonb_typeof(bundle) IS DISTINCT FROM 'object' OR bundle->>'type' IS DISTINCT FROM 'bundle' THEN
        RAISE EXCEPTION 'stix: expected a bundle {"type": "bundle", "objects": [...]}, got %',
            left(coalesce(bundle::text, 'NULL'), 60) USING ERRCODE = '22023';
    END IF;
    IF jsonb_typeof(bundle->'objects') IS DISTINCT FROM 'array' THEN
        RAISE EXCEPTION 'stix: the bundle % has no "objects" array', bundle->>'id' USING ERRCODE = '22023';
    END IF;
    SELECT coalesce(x->>'id', left(x::text, 60)) INTO bad FROM jsonb_array_elements(bundle->'objects') x
    WHERE jsonb_typeof(x) IS DISTINCT FROM 'object' OR x->>'type' IS NULL OR x->>'id' IS NULL
       OR (x->>'type' = 'relationship'
           AND (x->>'source_ref' IS NULL OR x->>'relationship_type' IS NULL OR x->>'target_ref' IS NULL))
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'stix: object % lacks a field it needs (type and id; a relationship also source_ref, relationship_type and target_ref)', bad
            USING ERRCODE = '22023';
    END IF;
    SELECT x->>'id' || ' has ' || f || ' ' || (x->>f) INTO bad
    FROM jsonb_array_elements(bundle->'objects') x, unnest(ARRAY['created', 'valid_from', 'published']) f
    WHERE x->>f IS NOT NULL AND x->>f !~ '^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})$'
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'stix: object %, expected a timestamp such as 2026-10-15T09:00:00Z', bad
            USING ERRCODE = '22023';
    END IF;

    -- What each indicator's pattern names, as CTAS indicators, tied to the STIX indicator.
    WITH named AS (
        SELECT DISTINCT x->>'id' AS stix_id, e.kind, e.value,
               coalesce((x->>'valid_from')::timestamptz, (x->>'created')::timestamptz, now()) AS at
        FROM jsonb_array_elements(bundle->'objects') x, ctas_extract_iocs(x->>'pattern') e
        WHERE x->>'type' = 'indicator' AND x->>'pattern' IS NOT NULL
    ), stored AS (
        SELECT s.inserted FROM ctas_store_indicators((SELECT array_agg(kind) FROM named),
                                                     (SELECT array_agg(value) FROM named),
                                                     (SELECT array_agg(at) FROM named)) s
    ), tied AS (
        INSERT INTO ctas.relationships (id, source_ref, relationship_type, target_ref, created)
        SELECT 'relationship--' || substr(ctas_indicator_id('based-on', stix_id || ' ' || ctas_indicator_id(kind, value)), 12),
               stix_id, 'based-on', ctas_indicator_id(kind, value), min(at)
        FROM named GROUP BY stix_id, kind, value
        ON CONFLICT DO NOTHING
        RETURNING 1
    )
    SELECT (SELECT count(*) FILTER (WHERE inserted) FROM stored), (SELECT count(*) FROM tied) INTO inds, links;

    -- Relationships as they are.
    INSERT INTO ctas.relationships (id, source_ref, relationship_type, target_ref, created)
    SELECT x->>'id', x->>'source_ref', x->>'relationship_type', x->>'target_ref',
           coalesce((x->>'created')::timestamptz, now())
    FROM jsonb_array_elements(bundle->'objects') x WHERE x->>'type' = 'relationship'
    ON CONFLICT DO NOTHING;
    GET DIAGNOSTICS rels = ROW_COUNT;

    -- Reports, their source the name of the identity that created them.
    SELECT jsonb_object_agg(x->>'id', x->>'name') INTO identities
    FROM jsonb_array_elements(bundle->'objects') x WHERE x->>'type' = 'identity' AND x->>'name' IS NOT NULL;
    FOR o IN SELECT x FROM jsonb_array_elements(bundle->'objects') x WHERE x->>'type' = 'report' LOOP
        seen := coalesce((o->>'published')::timestamptz, (o->>'created')::timestamptz, now());
        src := identities->>(o->>'created_by_ref');
        IF NOT EXISTS (SELECT 1 FROM ctas.reports WHERE id = o->>'id') THEN
            reports := reports + 1;
        END IF;
        rid := ctas_ingest_report(jsonb_strip_nulls(jsonb_build_object(
                   'text', concat_ws(E'\n\n', o->>'name', o->>'description'),
                   'title', o->>'name', 'stix_id', o->>'id', 'observed_at', seen,
                   'published_at', o->>'published', 'tags', o->'labels',
                   'source', CASE WHEN src IS NULL THEN NULL ELSE jsonb_build_object('name', src) END)),
               o->>'id');
        -- What the report refers to, kept as relationships of type object_refs (the STIX
        -- property they come from), so that indicators arriving in a later bundle still
        -- find the reports that named them.
        INSERT INTO ctas.relationships (id, source_ref, relationship_type, target_ref, created)
        SELECT 'relationship--' || substr(ctas_indicator_id('object_refs', rid || ' ' || ref), 12),
               rid, 'object_refs', ref, seen
        FROM jsonb_array_elements_text(coalesce(o->'object_refs', '[]')) ref
        ON CONFLICT DO NOTHING;
        GET DIAGNOSTICS n = ROW_COUNT;
        rels := rels + n;
    END LOOP;

    -- Sightings: the indicators each report refers to, for this bundle's reports and,
    -- for this bundle's indicators, reports stored before (bundles come in any order).
    INSERT INTO ctas.sightings (report_id, indicator_id, source, seen_at)
    SELECT DISTINCT rep.id, b.target_ref, rep.source, rep.observed_at
    FROM ctas.relationships r
    JOIN ctas.relationships b ON b.source_ref = r.target_ref AND b.relationship_type = 'based-on'
    JOIN ctas.reports rep ON rep.id = r.source_ref
    WHERE r.relationship_type = 'object_refs'
      AND (r.source_ref IN (SELECT x->>'id' FROM jsonb_array_elements(bundle->'objects') x WHERE x->>'type' = 'report')
           OR r.target_ref IN (SELECT x->>'id' FROM jsonb_array_elements(bundle->'objects') x WHERE x->>'type' = 'indicator'))
    ON CONFLICT DO NOTHING;
    GET DIAGNOSTICS sights = ROW_COUNT;

    RETURN jsonb_build_object(
        'objects', (SELECT jsonb_object_agg(t, c) FROM (
                       SELECT x->>'type' AS t, count(*) AS c FROM jsonb_array_elements(bundle->'objects') x
                       GROUP BY 1 ORDER BY 1) s),
        'added', jsonb_build_object('reports', reports, 'indicators', inds, 'sightings', sights,
                                    'relationships', rels + links));
END
$$;
COMMENT ON FUNCTION ctas_ingest_stix(jsonb) IS
'Store a STIX 2.x bundle in the cold tier: reports (ctas.reports, text searched like any report), indicators named by each pattern (ctas.indicators, tied to the STIX indicator by a based-on relationship), what a report refers to as relationships of type object_refs and the indicators among it as its sightings (in whichever order bundles come), relationships as they are. Idempotent. Returns {objects: {type: count}, added: {reports, indicators, sightings, relationships}}. Needs SELECT ctas_schema_upgrade() once.';

-- requires:
--   ctas_analyze
--   ctas_ioc_objects
--   ctas_pattern_objects
--   ctas_score_objects


COMMENT ON FUNCTION ctas_analyze(jsonb, text, int, text, timestamptz) IS
'Everything CTAS says about a report {text, lat, lng, observed_at, source: {name, confidence, reliability, credibility, tags}, tags}: iocs (with warninglist hits), matches of a pattern set (NULL: the setting ctas.default_pattern_set), h3_cell, score (decayed, explained), severity, confidence. Offsets are bytes of the UTF-8 text.';

