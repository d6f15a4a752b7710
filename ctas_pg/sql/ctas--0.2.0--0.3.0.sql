-- Upgrade of the ctas extension from 0.2.0 to 0.3.0, written by hand (pgrx blocks that
-- changed cannot be found by scripts/extension_upgrade.py):
-- - ctas_ingest_stix, ctas_ingest_misp and ctas_ingest_report are Rust now, on the
--   parsers and history writer the router uses (ctas_core::formats, ctas_core::history);
--   their PL/pgSQL versions go, and ctas_store_indicators, which only they used;
-- - ctas_observable_id(kind, value) is new.
-- The functions below are copied from ctas--0.3.0.sql as pgrx wrote it.
\echo Use "ALTER EXTENSION ctas UPDATE" to load this file. \quit

DROP FUNCTION ctas_ingest_stix(jsonb);
DROP FUNCTION ctas_ingest_misp(jsonb);
DROP FUNCTION ctas_ingest_report(jsonb, text);
DROP FUNCTION ctas_store_indicators(text[], text[], timestamptz[]);

-- ctas_pg::ingest::ctas_ingest_misp
CREATE  FUNCTION "ctas_ingest_misp"(
	"export" jsonb /* JsonB */
) RETURNS jsonb /* JsonB */
STRICT VOLATILE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'ctas_ingest_misp_wrapper';

-- ctas_pg::ingest::ctas_ingest_report
CREATE  FUNCTION "ctas_ingest_report"(
	"report" jsonb, /* Option < JsonB > */
	"id" TEXT DEFAULT NULL /* Option < & str > */
) RETURNS TEXT /* Option < String > */
VOLATILE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'ctas_ingest_report_wrapper';

-- ctas_pg::ingest::ctas_ingest_stix
CREATE  FUNCTION "ctas_ingest_stix"(
	"bundle" jsonb /* JsonB */
) RETURNS jsonb /* JsonB */
STRICT VOLATILE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'ctas_ingest_stix_wrapper';

-- requires:
--   ctas_ingest_stix
--   ctas_ingest_misp
--   ctas_ingest_report


COMMENT ON FUNCTION ctas_ingest_stix(jsonb) IS
'Store a STIX 2.0/2.1 bundle in the cold tier: reports (text searched for indicators), the values each indicator pattern compares (tied by based-on), observables, sightings (a report''s object_refs, in whichever order bundles come), relationships as they are, and every other object (intrusion sets, malware, attack patterns, custom x- types) whole in ctas.entities. Idempotent; a bad object is an ERROR (22023) naming its JSON path, and nothing is written. Returns {objects: {type: count}, added: {reports, indicators, sightings, relationships, entities}}. Needs SELECT ctas_schema_upgrade() once.';
COMMENT ON FUNCTION ctas_ingest_misp(jsonb) IS
'Store MISP events ({"Event": ...}, {"response": [...]}, a list, or a bare event) in the cold tier: each event a report (info, text attributes, event reports and comments as its text; Orgc as source; tags), each attribute whose MISP type names an indicator kind (composite types split) an indicator sighted in it, galaxy clusters as entities. Idempotent. Returns {events, added: {reports, indicators, sightings, relationships, entities}, skipped: {misp type: count}}. Needs SELECT ctas_schema_upgrade() once.';
COMMENT ON FUNCTION ctas_ingest_report(jsonb, text) IS
'Store a report {text, title, observed_at, published_at, source: {name, reliability, credibility}, lat, lng, tags, stix_id, id} in ctas.reports with the indicators its text names (ctas.indicators) and their sightings; idempotent. Returns the report id (given, or derived from its time and text). Needs SELECT ctas_schema_upgrade() once.';

-- ctas_pg::history::ctas_observable_id
CREATE  FUNCTION "ctas_observable_id"(
	"kind" TEXT, /* & str */
	"value" TEXT /* & str */
) RETURNS TEXT /* Option < String > */
IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'ctas_observable_id_wrapper';
