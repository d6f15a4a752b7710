//! `ctas_ingest_stix`: a STIX 2.x bundle into the cold tier's history.
//!
//! Reports become rows of `ctas.reports` (through `ctas_ingest_report`, so their text is
//! searched for indicators like any other report); each indicator's pattern is read by
//! the same extractor as report text, its values stored in `ctas.indicators` and tied
//! to the STIX indicator by a `based-on` relationship; what a report refers to
//! (`object_refs`) is kept as relationships of that name, and the indicators among it
//! become the report's sightings, whichever of the two arrives first; relationships go
//! to `ctas.relationships` as they are. PL/pgSQL over the other functions: nothing here
//! needs Rust.

use pgrx::prelude::*;

extension_sql!(
    r#"
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
"#,
    name = "ctas_stix_objects",
    requires = ["ctas_history_objects"]
);
