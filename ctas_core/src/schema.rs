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
