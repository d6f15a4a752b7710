//! The cold tier's SQL schema, as versioned migrations (`sql/schema/*.sql`).
//!
//! Data, not I/O: ctas-router applies them over tokio-postgres on its first connection,
//! the extension's `ctas_schema_upgrade()` over SPI; both record each version in
//! `ctas.schema_migrations` under the same advisory lock, so either may go first.

/// The migrations, in order: (version, SQL).
pub const MIGRATIONS: &[(&str, &str)] = &[
    (
        "0001_threat_records",
        include_str!("../../sql/schema/0001_threat_records.sql"),
    ),
    (
        "0002_reports",
        include_str!("../../sql/schema/0002_reports.sql"),
    ),
    (
        "0003_threat_records_long_values",
        include_str!("../../sql/schema/0003_threat_records_long_values.sql"),
    ),
    (
        "0004_entities",
        include_str!("../../sql/schema/0004_entities.sql"),
    ),
];

/// What both appliers run first, in the migration's transaction.
pub const PREAMBLE: &str = "SELECT pg_advisory_xact_lock(hashtext('ctas.schema_migrations'));
CREATE SCHEMA IF NOT EXISTS ctas;
CREATE TABLE IF NOT EXISTS ctas.schema_migrations (
    version text PRIMARY KEY,
    applied_at timestamptz NOT NULL DEFAULT now());";

/// The first object of schema `ctas` (the schema itself, a table, a view) that the
/// current role must not touch because a role without superuser rights owns it while
/// the current role is a superuser: its owner could have put triggers, rules or view
/// functions there, which would run with the superuser's rights. One row
/// `(what, owner)` or none. Both appliers and every SQL function that writes or reads
/// the history check it first.
pub const UNTRUSTED_OWNER: &str = "SELECT o.what, r.rolname::text FROM (
    SELECT 'schema ctas' AS what, n.nspowner AS owner
    FROM pg_catalog.pg_namespace n WHERE n.nspname = 'ctas'
    UNION ALL
    SELECT 'table ctas.' || c.relname, c.relowner
    FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = 'ctas' AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
) o JOIN pg_catalog.pg_roles r ON r.oid = o.owner
WHERE NOT r.rolsuper
  AND (SELECT u.rolsuper FROM pg_catalog.pg_roles u WHERE u.rolname = current_user)
ORDER BY 1 LIMIT 1";

/// The version recorded once `ctas.threat_records` (the router's flat copy of records,
/// which nothing in SQL read) has been moved into the history and dropped. The move
/// needs ids only Rust derives, so each face runs it after the SQL migrations, in their
/// transaction: read [`READ_THREAT_RECORDS`] in chunks, write each chunk as
/// [`crate::model::Intel::add_record`] and [`crate::history::steps`] say, then run
/// [`DROP_THREAT_RECORDS`] and record the version.
pub const RETIRE_THREAT_RECORDS: &str = "0005_threat_records_retired";

/// Whether the flat table is still there.
pub const THREAT_RECORDS_LEFT: &str = "SELECT to_regclass('ctas.threat_records') IS NOT NULL";

/// Up to 5,000 flat records after the id `$1`, as a jsonb array of records.
pub const READ_THREAT_RECORDS: &str = "
SELECT coalesce(jsonb_agg(to_jsonb(t) ORDER BY t.id), '[]'::jsonb)
FROM (SELECT id, kind, value, source, observed_at, lat, lng, h3_cell, tags, description
      FROM ctas.threat_records WHERE id > $1 ORDER BY id LIMIT 5000) t";

/// The flat table goes once its rows are in the history.
pub const DROP_THREAT_RECORDS: &str = "DROP TABLE ctas.threat_records";
