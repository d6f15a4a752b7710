-- Cold tier, version 4: entities, and indicators of any length with their STIX ids.
-- Entities are the STIX domain objects an analyst names (intrusion sets, malware, tools,
-- attack patterns, ...) and every object CTAS does not model otherwise, kept whole, so
-- that SQL can name what a relationship connects.
CREATE TABLE IF NOT EXISTS ctas.entities (
    id           text PRIMARY KEY,                          -- the STIX id: intrusion-set--...
    type         text NOT NULL,                             -- intrusion-set, malware, x-mitre-tactic, ...
    name         text,
    aliases      text[] NOT NULL DEFAULT '{}',
    external_ids text[] NOT NULL DEFAULT '{}',              -- ATT&CK's T1059.001, G0016; CVE ids
    created      timestamptz,
    modified     timestamptz,
    revoked      boolean NOT NULL DEFAULT false,
    object       jsonb NOT NULL                             -- the object as it came
);
CREATE INDEX IF NOT EXISTS entities_type_name ON ctas.entities (type, lower(name));
CREATE INDEX IF NOT EXISTS entities_external_ids ON ctas.entities USING gin (external_ids);
CREATE INDEX IF NOT EXISTS entities_aliases ON ctas.entities USING gin (aliases);
COMMENT ON TABLE ctas.entities IS 'STIX domain objects (intrusion sets, malware, tools, attack patterns, ...) and any other object kept whole; relationships name them by id.';

-- The STIX 2.1 deterministic id of the observable an indicator is (domain-name--...).
ALTER TABLE ctas.indicators ADD COLUMN IF NOT EXISTS stix_id text;
CREATE INDEX IF NOT EXISTS indicators_stix_id ON ctas.indicators (stix_id);
-- A btree entry must fit in a third of a page, so UNIQUE (kind, value) refused long URLs
-- (54000). The id is derived from kind and value and is the key; a hash index serves
-- `WHERE value = ...` at any length.
ALTER TABLE ctas.indicators DROP CONSTRAINT IF EXISTS indicators_kind_value;
CREATE INDEX IF NOT EXISTS indicators_value_hash ON ctas.indicators USING hash (value);
CREATE INDEX IF NOT EXISTS relationships_type ON ctas.relationships (relationship_type);
