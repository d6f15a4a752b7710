//! How an [`Intel`] is written into the cold tier's history: the statements, and the
//! rows each takes. Data, not I/O: the extension runs them over SPI, ctas-router over
//! tokio-postgres, so both faces write the same rows the same way.
//!
//! Each statement takes one `jsonb` parameter, an array of rows read with
//! `jsonb_to_recordset` (one round trip per table, however many rows), and returns one
//! `bigint`: how many rows were new. Every write is an idempotent upsert keyed by the
//! model's deterministic ids, so a document written twice, or replayed, adds nothing.

use serde_json::{json, Value};

use crate::model::Intel;

/// One statement and its parameter.
#[derive(Debug, Clone)]
pub struct Step {
    /// What it writes: `reports`, `indicators`, ...; the key of its count in the answer.
    pub part: &'static str,
    pub sql: &'static str,
    pub rows: Value,
}

const SOURCES: &str = "
WITH ins AS (
    INSERT INTO ctas.sources (name, reliability, credibility)
    SELECT x.name, x.reliability, x.credibility
    FROM jsonb_to_recordset($1) AS x(name text, reliability text, credibility text)
    ON CONFLICT (name) DO NOTHING RETURNING 1)
SELECT count(*) FROM ins";

const ENTITIES: &str = "
WITH ins AS (
    INSERT INTO ctas.entities AS e (id, type, name, aliases, external_ids, created, modified, revoked, object)
    SELECT x.id, x.entity_type, x.name, x.aliases, x.external_ids, x.created, x.modified, x.revoked, x.object
    FROM jsonb_to_recordset($1) AS x(id text, entity_type text, name text, aliases text[], external_ids text[],
                                     created timestamptz, modified timestamptz, revoked boolean, object jsonb)
    -- The later version wins; a version without a date (a MISP galaxy cluster) never
    -- replaces one with a date (the ATT&CK object it names). The same version with
    -- other content (a row changed behind CTAS's back, which ctas-router verify --repair
    -- sends again) is put back.
    ON CONFLICT (id) DO UPDATE
        SET type = excluded.type, name = excluded.name, aliases = excluded.aliases,
            external_ids = excluded.external_ids, created = excluded.created,
            modified = excluded.modified, revoked = excluded.revoked, object = excluded.object
        WHERE (e.modified IS NULL AND excluded.modified IS NOT NULL) OR excluded.modified > e.modified
           OR (e.modified IS NOT DISTINCT FROM excluded.modified
               AND (e.type, e.name, e.aliases, e.external_ids, e.created, e.revoked, e.object)
                   IS DISTINCT FROM (excluded.type, excluded.name, excluded.aliases,
                                     excluded.external_ids, excluded.created, excluded.revoked,
                                     excluded.object))
    RETURNING xmax = 0 AS new)
SELECT count(*) FILTER (WHERE new) FROM ins";

const REPORTS: &str = "
WITH ins AS (
    INSERT INTO ctas.reports AS r (id, title, body, stix_id, misp_uuid, source, published_at, observed_at,
                              lat, lng, h3_cell, tags)
    SELECT x.id, x.title, x.body, x.stix_id, x.misp_uuid, x.source, x.published_at, x.observed_at,
           x.lat, x.lng, x.h3_cell, x.tags
    FROM jsonb_to_recordset($1) AS x(id text, title text, body text, stix_id text, misp_uuid uuid,
                                     source text, published_at timestamptz, observed_at timestamptz,
                                     lat float8, lng float8, h3_cell bigint, tags text[])
    -- A report sent again with something changed is its later version.
    ON CONFLICT (id) DO UPDATE
        SET title = excluded.title, body = excluded.body, stix_id = excluded.stix_id,
            misp_uuid = excluded.misp_uuid, source = excluded.source,
            published_at = excluded.published_at, observed_at = excluded.observed_at,
            lat = excluded.lat, lng = excluded.lng, h3_cell = excluded.h3_cell, tags = excluded.tags
        WHERE (r.title, r.body, r.stix_id, r.misp_uuid, r.source, r.published_at, r.observed_at,
               r.lat, r.lng, r.h3_cell, r.tags)
              IS DISTINCT FROM
              (excluded.title, excluded.body, excluded.stix_id, excluded.misp_uuid, excluded.source,
               excluded.published_at, excluded.observed_at, excluded.lat, excluded.lng,
               excluded.h3_cell, excluded.tags)
    RETURNING xmax = 0 AS new)
SELECT count(*) FILTER (WHERE new) FROM ins";

const INDICATORS: &str = "
WITH ins AS (
    INSERT INTO ctas.indicators AS i (id, kind, value, stix_id, first_seen, last_seen)
    SELECT x.id, x.kind, x.value, x.stix_id, x.first_seen, x.last_seen
    FROM jsonb_to_recordset($1) AS x(id text, kind text, value text, stix_id text,
                                     first_seen timestamptz, last_seen timestamptz)
    -- The id is made of kind and value: a row whose kind or value differ was changed
    -- behind CTAS's back, and is put back.
    ON CONFLICT (id) DO UPDATE
        SET first_seen = least(i.first_seen, excluded.first_seen),
            last_seen = greatest(i.last_seen, excluded.last_seen),
            stix_id = coalesce(i.stix_id, excluded.stix_id),
            kind = excluded.kind, value = excluded.value
        WHERE excluded.first_seen < i.first_seen OR excluded.last_seen > i.last_seen
           OR (i.stix_id IS NULL AND excluded.stix_id IS NOT NULL)
           OR (i.kind, i.value) IS DISTINCT FROM (excluded.kind, excluded.value)
    RETURNING xmax = 0 AS new)
SELECT count(*) FILTER (WHERE new) FROM ins";

const SIGHTINGS: &str = "
WITH ins AS (
    INSERT INTO ctas.sightings AS s (report_id, indicator_id, source, seen_at, raw, start_pos, end_pos)
    SELECT x.report_id, x.indicator_id, x.source, x.seen_at, x.raw, x.start_pos, x.end_pos
    FROM jsonb_to_recordset($1) AS x(report_id text, indicator_id text, source text, seen_at timestamptz,
                                     raw text, start_pos int, end_pos int)
    -- The first sighting stays; only its source, when the one sent names another, is
    -- put back (a row changed behind CTAS's back, sent again by verify --repair).
    ON CONFLICT (indicator_id, report_id) WHERE indicator_id IS NOT NULL DO UPDATE
        SET source = excluded.source
        WHERE excluded.source IS NOT NULL AND s.source IS DISTINCT FROM excluded.source
    RETURNING xmax = 0 AS new)
SELECT count(*) FILTER (WHERE new) FROM ins";

const RELATIONSHIPS: &str = "
WITH ins AS (
    INSERT INTO ctas.relationships (id, source_ref, relationship_type, target_ref, created)
    SELECT x.id, x.source_ref, x.relationship_type, x.target_ref, x.created
    FROM jsonb_to_recordset($1) AS x(id text, source_ref text, relationship_type text, target_ref text,
                                     created timestamptz)
    ON CONFLICT DO NOTHING RETURNING 1)
SELECT count(*) FROM ins";

/// Sightings that documents (or batches of one) make together: a report refers
/// (`object_refs`) to a STIX indicator whose values (`based-on`) were stored before or
/// now. `$1` holds the sources of this write's `object_refs` and `based-on`
/// relationships: its reports and its STIX indicators.
const SIGHTINGS_ACROSS: &str = "
WITH mine AS (SELECT jsonb_array_elements_text($1) AS id),
ins AS (
    INSERT INTO ctas.sightings (report_id, indicator_id, source, seen_at)
    SELECT DISTINCT rep.id, b.target_ref, rep.source, rep.observed_at
    FROM ctas.relationships r
    JOIN ctas.relationships b ON b.source_ref = r.target_ref AND b.relationship_type = 'based-on'
    JOIN ctas.reports rep ON rep.id = r.source_ref
    WHERE r.relationship_type = 'object_refs'
      AND (r.source_ref IN (SELECT id FROM mine) OR r.target_ref IN (SELECT id FROM mine))
    ON CONFLICT DO NOTHING RETURNING 1)
SELECT count(*) FROM ins";

/// The statements that write `intel`, in an order the foreign keys allow (sources before
/// reports, reports and indicators before sightings); run them in one transaction.
pub fn steps(intel: &Intel) -> Vec<Step> {
    let joined: Vec<&str> = intel
        .relationships
        .iter()
        .filter(|r| matches!(r.relationship_type.as_str(), "object_refs" | "based-on"))
        .map(|r| r.source_ref.as_str())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let step = |part, sql, rows: Value| Step { part, sql, rows };
    let mut steps = Vec::new();
    let parts = [
        ("sources", SOURCES, serde_json::to_value(&intel.sources)),
        ("entities", ENTITIES, serde_json::to_value(&intel.entities)),
        ("reports", REPORTS, serde_json::to_value(&intel.reports)),
        (
            "indicators",
            INDICATORS,
            serde_json::to_value(&intel.indicators),
        ),
        (
            "sightings",
            SIGHTINGS,
            serde_json::to_value(&intel.sightings),
        ),
        (
            "relationships",
            RELATIONSHIPS,
            serde_json::to_value(&intel.relationships),
        ),
    ];
    for (part, sql, rows) in parts {
        let rows = rows.expect("the model serialises to JSON");
        if rows.as_array().is_some_and(|a| !a.is_empty()) {
            steps.push(step(part, sql, rows));
        }
    }
    if !joined.is_empty() {
        steps.push(step("sightings", SIGHTINGS_ACROSS, json!(joined)));
    }
    steps
}
