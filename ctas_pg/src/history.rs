//! The cold tier's history in SQL: the schema (`ctas_schema_upgrade`), ids
//! (`ctas_indicator_id`, `ctas_observable_id`; the documents in are in `ingest`), correlation (`ctas_correlated_reports`,
//! `ctas_related_indicators`) and batch retro-hunts (`CALL ctas_retro_hunt`).
//!
//! The tables live in schema `ctas` and belong to the database, not to the extension
//! (the router writes them too); the functions here name them at run time (PL/pgSQL),
//! so the extension installs before the schema does.

use ctas_core::model::{indicator_id, normalise, observable_id};
use ctas_core::model::{Intel, Item, ThreatRecord};
use ctas_core::schema::{
    DROP_THREAT_RECORDS, MIGRATIONS, PREAMBLE, READ_THREAT_RECORDS, RETIRE_THREAT_RECORDS,
    THREAT_RECORDS_LEFT, UNTRUSTED_OWNER,
};
use pgrx::prelude::*;
use pgrx::{JsonB, PgSqlErrorCode};

/// The schema could not be brought up to date (55000, with what SPI said).
fn not_ready(message: String) -> ! {
    crate::error::raise(
        PgSqlErrorCode::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
        message,
    )
}

/// Refuse (42501) when the current role is a superuser and schema `ctas`, or a table or
/// view in it, belongs to a role that is not: that role's triggers, rules and view
/// functions would run with a superuser's rights.
#[pg_extern(stable, parallel_safe)]
pub(crate) fn ctas_check_history_owners() {
    let found = Spi::connect(|c| {
        let rows = c.select(UNTRUSTED_OWNER, Some(1), &[])?;
        if rows.is_empty() {
            return Ok(None);
        }
        rows.first()
            .get_two::<String, String>()
            .map(|(what, owner)| what.zip(owner))
    })
    .unwrap_or_else(|e| not_ready(format!("cannot read the owners of schema ctas: {e}")));
    if let Some((what, owner)) = found {
        pgrx::pg_sys::panic::ErrorReport::new(
            PgSqlErrorCode::ERRCODE_INSUFFICIENT_PRIVILEGE,
            format!(
                "{what} is owned by role \"{owner}\", which is not a superuser: a superuser \
                 using it would run that role's triggers, rules and view functions with a \
                 superuser's rights"
            ),
            "ctas_check_history_owners",
        )
        .set_hint(format!(
            "Run this as \"{owner}\", or make a superuser the owner (ALTER ... OWNER TO) after \
             checking what {what} holds."
        ))
        .report(PgLogLevel::ERROR);
    }
}

/// Apply the cold-tier migrations not yet recorded in `ctas.schema_migrations` (the
/// same files, lock and record as ctas-router); returns the versions it applied.
#[pg_extern(volatile)]
fn ctas_schema_upgrade() -> SetOfIterator<'static, &'static str> {
    ctas_check_history_owners();
    // IF NOT EXISTS is chatty about what exists; only the applied versions matter here.
    Spi::run("SELECT set_config('client_min_messages', 'warning', true)")
        .unwrap_or_else(|e| not_ready(format!("ctas_schema_upgrade: {e}")));
    Spi::run(PREAMBLE).unwrap_or_else(|e| not_ready(format!("ctas_schema_upgrade: {e}")));
    let mut applied = Vec::new();
    for (version, sql) in MIGRATIONS {
        let done = Spi::get_one::<bool>(&format!(
            "SELECT EXISTS (SELECT 1 FROM ctas.schema_migrations WHERE version = '{version}')"
        ))
        .unwrap_or_else(|e| not_ready(format!("ctas_schema_upgrade: {e}")));
        if done != Some(true) {
            Spi::run(sql).unwrap_or_else(|e| {
                not_ready(format!("ctas_schema_upgrade: migration {version}: {e}"))
            });
            Spi::run(&format!(
                "INSERT INTO ctas.schema_migrations (version) VALUES ('{version}')"
            ))
            .unwrap_or_else(|e| not_ready(format!("ctas_schema_upgrade: {e}")));
            applied.push(*version);
        }
    }
    if retire_threat_records() {
        applied.push(RETIRE_THREAT_RECORDS);
    }
    // With PostGIS, reports also carry their place as a geometry (kept in step with
    // lat/lng by PostgreSQL itself); checked on every upgrade, so installing PostGIS
    // later and upgrading again adds it.
    let postgis = Spi::get_one::<bool>(
        "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'postgis')",
    )
    .unwrap_or_else(|e| not_ready(format!("ctas_schema_upgrade: {e}")));
    let has_geom = Spi::get_one::<bool>(
        "SELECT EXISTS (SELECT 1 FROM information_schema.columns \
         WHERE table_schema = 'ctas' AND table_name = 'reports' AND column_name = 'geom')",
    )
    .unwrap_or_else(|e| not_ready(format!("ctas_schema_upgrade: {e}")));
    if postgis == Some(true) && has_geom != Some(true) {
        Spi::run(REPORTS_GEOMETRY)
            .unwrap_or_else(|e| not_ready(format!("ctas_schema_upgrade: reports.geom: {e}")));
        applied.push("reports.geom (PostGIS)");
    }
    SetOfIterator::new(applied)
}

/// Move `ctas.threat_records` (the router's flat copy, which nothing in SQL read) into
/// the history and drop it, as the router does on its first connection; whether it did.
fn retire_threat_records() -> bool {
    let left = Spi::get_one::<bool>(THREAT_RECORDS_LEFT)
        .unwrap_or_else(|e| not_ready(format!("ctas_schema_upgrade: {e}")));
    if left != Some(true) {
        return false;
    }
    let mut after = String::new();
    loop {
        let rows = Spi::get_one_with_args::<JsonB>(READ_THREAT_RECORDS, &[after.as_str().into()])
            .unwrap_or_else(|e| {
                not_ready(format!(
                    "ctas_schema_upgrade: reading ctas.threat_records: {e}"
                ))
            });
        // A row that is no record CTAS wrote stays behind with the table, not in the history.
        let records: Vec<ThreatRecord> = rows
            .and_then(|JsonB(v)| serde_json::from_value(v).ok())
            .unwrap_or_default();
        let Some(last) = records.last() else { break };
        after = last.id.clone();
        crate::ingest::write_intel(&Intel::from_items(records.into_iter().map(Item::Record)));
    }
    Spi::run(DROP_THREAT_RECORDS)
        .and_then(|()| {
            Spi::run_with_args(
                "INSERT INTO ctas.schema_migrations (version) VALUES ($1) ON CONFLICT DO NOTHING",
                &[RETIRE_THREAT_RECORDS.into()],
            )
        })
        .unwrap_or_else(|e| {
            not_ready(format!(
                "ctas_schema_upgrade: dropping ctas.threat_records: {e}"
            ))
        });
    true
}

/// The PostGIS form of a report's place: a generated column and its GiST index.
const REPORTS_GEOMETRY: &str = "
ALTER TABLE ctas.reports ADD COLUMN geom geometry(Point, 4326)
    GENERATED ALWAYS AS (CASE WHEN lat IS NULL THEN NULL ELSE ST_SetSRID(ST_MakePoint(lng, lat), 4326) END) STORED;
CREATE INDEX IF NOT EXISTS reports_geom ON ctas.reports USING gist (geom);
COMMENT ON COLUMN ctas.reports.geom IS 'The report''s place as a PostGIS point (SRID 4326), generated from lat/lng.';";

/// The deterministic id of an indicator: `indicator--` and the UUIDv5 of `kind:value`,
/// the value normalised first (refanged, case rules per kind, RFC 5952 IPv6), so every
/// spelling of one indicator has one id, the one the router gives it.
#[pg_extern(immutable, strict, parallel_safe)]
fn ctas_indicator_id(kind: &str, value: &str) -> String {
    indicator_id(kind, value)
}

/// The STIX 2.1 deterministic id (section 2.9) of the observable an indicator is
/// (`domain-name--…`, `file--…`); NULL for kinds STIX has no observable for.
#[pg_extern(immutable, strict, parallel_safe)]
fn ctas_observable_id(kind: &str, value: &str) -> Option<String> {
    observable_id(kind, &normalise(kind, value))
}

extension_sql!(
    r#"
CREATE FUNCTION ctas_analyze_row(r record, pattern_set text DEFAULT NULL, resolution int DEFAULT 7,
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
COMMENT ON FUNCTION ctas_analyze_row(record, text, int, text, timestamptz) IS
'ctas_analyze of a row of ctas.reports (or any row with body/text, lat, lng, observed_at, source, tags): SELECT ctas_analyze_row(r) FROM ctas.reports r; the source''s reliability and credibility come from ctas.sources.';

CREATE FUNCTION ctas_correlated_reports(report_id text, max_results int DEFAULT 20)
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
COMMENT ON FUNCTION ctas_correlated_reports(text, int) IS
'Reports that share indicators with a report (MISP correlation), ranked by the rarity of what they share: the sum over shared indicators of ln(reports / reports naming it).';

CREATE FUNCTION ctas_related_indicators(kind text, value text, max_results int DEFAULT 20)
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
COMMENT ON FUNCTION ctas_related_indicators(text, text, int) IS
'Indicators seen in the same reports as one indicator, ranked by how often and how rarely: reports together x ln(reports / reports naming it).';

CREATE PROCEDURE ctas_retro_hunt(pattern_set text, from_time timestamptz, to_time timestamptz, batch_size int DEFAULT 1000)
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
COMMENT ON PROCEDURE ctas_retro_hunt(text, timestamptz, timestamptz, int) IS
'Run a pattern set over the reports observed in [from_time, to_time), batch by batch (a COMMIT each), writing hits as ctas.sightings; progress in ctas.retro_hunts and NOTICEs; called again with the same arguments, an unfinished hunt resumes.';
"#,
    name = "ctas_history_objects",
    requires = [
        ctas_indicator_id,
        "ctas_ioc_objects",
        "ctas_pattern_objects",
        ctas_schema_upgrade,
        ctas_check_history_owners
    ],
);
