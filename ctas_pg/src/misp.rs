//! `ctas_ingest_misp`: MISP events into the cold tier's history.
//!
//! An event becomes a report (its `info`, the prose of its `text` attributes and the
//! comments as text, searched like any report's); each attribute whose MISP type names
//! an indicator kind (`ctas_ioc_kinds()`, composite types such as `filename|sha1` split
//! in two) becomes an indicator and a sighting of that report. MISP's typing is trusted
//! where CTAS's own reading of the value agrees or has nothing to say; a value CTAS reads
//! as a different kind (an `ip-dst` that is no address) is skipped and counted.
//! PL/pgSQL over the other functions: nothing here needs Rust.

use pgrx::prelude::*;

extension_sql!(
    r#"
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
"#,
    name = "ctas_misp_objects",
    requires = ["ctas_history_objects", "ctas_ioc_objects"]
);
