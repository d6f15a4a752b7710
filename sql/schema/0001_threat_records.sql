-- Cold tier, version 1: every threat record the router has ingested, kept for history.
-- Applied by ctas-router on its first connection (in order, once, under an advisory
-- lock) and recorded in ctas.schema_migrations; safe to apply by hand with psql too.
CREATE SCHEMA IF NOT EXISTS ctas;

CREATE TABLE IF NOT EXISTS ctas.threat_records (
    id          text PRIMARY KEY,             -- deterministic: STIX id or indicator--uuid5(kind:value)
    kind        text NOT NULL,                -- ipv4, domain, sha256, url, report, ...
    value       text NOT NULL,                -- normalised value
    source      text,
    observed_at timestamptz NOT NULL,
    lat         double precision,
    lng         double precision,
    h3_cell     bigint,                       -- H3 cell at resolution 7 when located
    tags        text[] NOT NULL DEFAULT '{}',
    description text,
    ingested_at timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT threat_records_location_pair CHECK ((lat IS NULL) = (lng IS NULL))
);

CREATE INDEX IF NOT EXISTS threat_records_kind_value ON ctas.threat_records (kind, value);
CREATE INDEX IF NOT EXISTS threat_records_observed_at ON ctas.threat_records (observed_at);
CREATE INDEX IF NOT EXISTS threat_records_h3_cell ON ctas.threat_records (h3_cell) WHERE h3_cell IS NOT NULL;

COMMENT ON TABLE ctas.threat_records IS 'Every threat record ingested by ctas-router (cold tier, history).';
