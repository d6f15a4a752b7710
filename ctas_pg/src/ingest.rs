//! Threat intelligence into the cold tier's history from SQL: `ctas_ingest_stix`,
//! `ctas_ingest_misp`, `ctas_ingest_report`. The documents are read by
//! `ctas_core::formats` and written by `ctas_core::history`'s statements — the code
//! ctas-router runs — so both faces store the same rows with the same ids.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use ctas_core::formats::{self, FormatError, Parsed};
use ctas_core::history;
use ctas_core::model::Intel;
use pgrx::prelude::*;
use pgrx::{JsonB, PgSqlErrorCode};
use serde_json::json;

use crate::error::raise;
use crate::json::{self, JsonText};

/// Store a STIX 2.0/2.1 bundle: reports, indicators (from patterns and observables),
/// sightings, relationships and entities. Returns what it held and what was new.
#[pg_extern(volatile, strict)]
fn ctas_ingest_stix(bundle: JsonText) -> JsonB {
    // Read from the jsonb's text object by object, as the router reads a body.
    let parsed = read(
        "ctas_ingest_stix",
        formats::stix::parse_slice(bundle.0.as_bytes(), now()),
    );
    let added = write(&parsed);
    JsonB(json!({ "objects": parsed.objects, "added": added }))
}

/// Store MISP events (every export shape): each a report with its attributes as
/// indicators and sightings, galaxy clusters as entities. Returns what it held, what was
/// new and what named no indicator.
#[pg_extern(volatile, strict)]
fn ctas_ingest_misp(export: JsonText) -> JsonB {
    let export = export.value("ctas_ingest_misp: export");
    let parsed = read("ctas_ingest_misp", formats::misp::parse(export, now()));
    let added = write(&parsed);
    JsonB(json!({
        "events": parsed.objects.get("events").copied().unwrap_or(0),
        "added": added,
        "skipped": parsed.skipped,
    }))
}

/// Store one report with the indicators its text names; returns its id.
#[pg_extern(volatile)]
fn ctas_ingest_report(
    report: Option<JsonText>,
    id: default!(Option<&str>, "NULL"),
) -> Option<String> {
    let report = report?.value("ctas_ingest_report: report");
    let parsed = read(
        "ctas_ingest_report",
        formats::report::parse(report, id, now()),
    );
    write(&parsed);
    parsed.intel.reports.into_iter().next().map(|r| r.id)
}

/// The transaction's start, as `now()` gives it: what documents without a time get.
fn now() -> DateTime<Utc> {
    // SAFETY: reads the current transaction's start time; no arguments.
    let micros = unsafe { pg_sys::GetCurrentTransactionStartTimestamp() };
    DateTime::from_timestamp_micros(micros + crate::score::PG_EPOCH_OFFSET_MICROS)
        .expect("the transaction started at a representable time")
}

fn read(function: &str, result: Result<Parsed, FormatError>) -> Parsed {
    result.unwrap_or_else(|e| {
        if json::is_too_deep(&e.message) {
            json::too_deep(function)
        }
        raise(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            format!("{function}: {e}"),
        )
    })
}

/// Runs the history's statements in this transaction; how many rows of each part were
/// new. An error in any of them ends the statement, so nothing of the document stays.
fn write(parsed: &Parsed) -> BTreeMap<&'static str, i64> {
    write_intel(&parsed.intel)
}

/// [`write`] of the model itself.
pub(crate) fn write_intel(intel: &Intel) -> BTreeMap<&'static str, i64> {
    crate::history::ctas_check_history_owners();
    let ready = Spi::get_one::<bool>(
        "SELECT pg_catalog.to_regclass('ctas.entities') IS NOT NULL AND EXISTS (
             SELECT 1 FROM information_schema.columns
             WHERE table_schema = 'ctas' AND table_name = 'indicators' AND column_name = 'stix_id')",
    );
    if ready != Ok(Some(true)) {
        raise(
            PgSqlErrorCode::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
            "the cold-tier schema is not up to date: run SELECT ctas_schema_upgrade() once".into(),
        );
    }
    let mut added: BTreeMap<&'static str, i64> = [
        "reports",
        "indicators",
        "sightings",
        "relationships",
        "entities",
    ]
    .into_iter()
    .map(|part| (part, 0))
    .collect();
    for step in history::steps(intel) {
        let n = Spi::get_one_with_args::<i64>(step.sql, &[JsonB(step.rows).into()])
            .unwrap_or_else(|e| {
                raise(
                    PgSqlErrorCode::ERRCODE_INTERNAL_ERROR,
                    format!("writing {}: {e}", step.part),
                )
            })
            .unwrap_or(0);
        if let Some(count) = added.get_mut(step.part) {
            *count += n;
        }
    }
    added
}

extension_sql!(
    r#"
COMMENT ON FUNCTION ctas_ingest_stix(jsonb) IS
'Store a STIX 2.0/2.1 bundle in the cold tier: reports (text searched for indicators), the values each indicator pattern compares (tied by based-on), observables, sightings (a report''s object_refs, in whichever order bundles come), relationships as they are, and every other object (intrusion sets, malware, attack patterns, custom x- types) whole in ctas.entities. Idempotent; a bad object is an ERROR (22023) naming its JSON path, and nothing is written. Returns {objects: {type: count}, added: {reports, indicators, sightings, relationships, entities}}. Needs SELECT ctas_schema_upgrade() once.';
COMMENT ON FUNCTION ctas_ingest_misp(jsonb) IS
'Store MISP events ({"Event": ...}, {"response": [...]}, a list, or a bare event) in the cold tier: each event a report (info, text attributes, event reports and comments as its text; Orgc as source; tags), each attribute whose MISP type names an indicator kind (composite types split) an indicator sighted in it, galaxy clusters as entities. Idempotent. Returns {events, added: {reports, indicators, sightings, relationships, entities}, skipped: {misp type: count}}. Needs SELECT ctas_schema_upgrade() once.';
COMMENT ON FUNCTION ctas_ingest_report(jsonb, text) IS
'Store a report {text, title, observed_at, published_at, source: {name, reliability, credibility}, lat, lng, tags, stix_id, id} in ctas.reports with the indicators its text names (ctas.indicators) and their sightings; idempotent. Returns the report id (given, or derived from its time and text). Needs SELECT ctas_schema_upgrade() once.';
"#,
    name = "ctas_ingest_objects",
    requires = [ctas_ingest_stix, ctas_ingest_misp, ctas_ingest_report],
);
