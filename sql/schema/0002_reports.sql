-- Cold tier, version 2: reports, the indicators they name, sightings, sources and STIX
-- relationships — the history that correlation and retro-hunts read.
-- Applied in order, once, under an advisory lock, by ctas-router on its first connection
-- or by SELECT ctas_schema_upgrade() (the ctas extension); recorded in
-- ctas.schema_migrations. Plain SQL: the tables do not need the extension.

CREATE TABLE IF NOT EXISTS ctas.sources (
    name        text PRIMARY KEY,
    reliability text CHECK (reliability ~ '^[A-F]$'),      -- Admiralty source reliability
    credibility text CHECK (credibility ~ '^[1-6]$'),      -- default information credibility
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS ctas.reports (
    id           text PRIMARY KEY,                          -- a STIX id, MISP uuid or our own
    title        text,
    body         text NOT NULL,
    stix_id      text UNIQUE,
    misp_uuid    uuid UNIQUE,
    source       text REFERENCES ctas.sources (name) ON UPDATE CASCADE,
    published_at timestamptz,
    observed_at  timestamptz NOT NULL,
    lat          double precision,
    lng          double precision,
    h3_cell      bigint,                                    -- at resolution 7 when located
    tags         text[] NOT NULL DEFAULT '{}',
    created_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT reports_location_pair CHECK ((lat IS NULL) = (lng IS NULL))
);
CREATE INDEX IF NOT EXISTS reports_observed_at ON ctas.reports (observed_at);
CREATE INDEX IF NOT EXISTS reports_h3_cell ON ctas.reports (h3_cell) WHERE h3_cell IS NOT NULL;
CREATE INDEX IF NOT EXISTS reports_source ON ctas.reports (source);

CREATE TABLE IF NOT EXISTS ctas.indicators (
    id         text PRIMARY KEY,                            -- indicator--uuid5(kind:value)
    kind       text NOT NULL,
    value      text NOT NULL,                               -- normalised
    first_seen timestamptz NOT NULL,
    last_seen  timestamptz NOT NULL,
    CONSTRAINT indicators_kind_value UNIQUE (kind, value)
);
CREATE INDEX IF NOT EXISTS indicators_last_seen ON ctas.indicators (last_seen);

-- An indicator named by a report, or a pattern of a retro-hunt matched in it.
CREATE TABLE IF NOT EXISTS ctas.sightings (
    id           bigserial PRIMARY KEY,
    report_id    text NOT NULL REFERENCES ctas.reports (id) ON DELETE CASCADE,
    indicator_id text REFERENCES ctas.indicators (id) ON DELETE CASCADE,
    pattern_set  text,
    pattern_id   text,
    source       text,
    seen_at      timestamptz NOT NULL,
    raw          text,
    start_pos    int,
    end_pos      int,
    CONSTRAINT sightings_what CHECK ((indicator_id IS NULL) <> (pattern_id IS NULL))
);
CREATE UNIQUE INDEX IF NOT EXISTS sightings_indicator_once
    ON ctas.sightings (indicator_id, report_id) WHERE indicator_id IS NOT NULL;
CREATE UNIQUE INDEX IF NOT EXISTS sightings_pattern_once
    ON ctas.sightings (report_id, pattern_set, pattern_id, start_pos) WHERE pattern_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS sightings_report ON ctas.sightings (report_id);
CREATE INDEX IF NOT EXISTS sightings_seen_at ON ctas.sightings (seen_at);

CREATE TABLE IF NOT EXISTS ctas.relationships (
    id                text PRIMARY KEY,                     -- relationship--...
    source_ref        text NOT NULL,
    relationship_type text NOT NULL,                        -- uses, indicates, attributed-to, ...
    target_ref        text NOT NULL,
    created           timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT relationships_once UNIQUE (source_ref, relationship_type, target_ref)
);
CREATE INDEX IF NOT EXISTS relationships_target ON ctas.relationships (target_ref);

-- Progress of retro-hunts (CALL ctas_retro_hunt(...)): resumable, visible while running.
CREATE TABLE IF NOT EXISTS ctas.retro_hunts (
    id          bigserial PRIMARY KEY,
    pattern_set text NOT NULL,
    from_time   timestamptz NOT NULL,
    to_time     timestamptz NOT NULL,
    last_report text,                                       -- reports are read in id order
    reports     bigint NOT NULL DEFAULT 0,
    hits        bigint NOT NULL DEFAULT 0,
    started_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz
);

COMMENT ON TABLE ctas.reports IS 'Threat reports (text, where, when, who); their indicators are in ctas.sightings.';
COMMENT ON TABLE ctas.indicators IS 'Every indicator a report named, once, with a deterministic id and first/last seen.';
COMMENT ON TABLE ctas.sightings IS 'An indicator named by a report, or a pattern matched in it by a retro-hunt.';
COMMENT ON TABLE ctas.relationships IS 'STIX relationships between any two ids (reports, indicators, intrusion sets, ...).';
COMMENT ON TABLE ctas.retro_hunts IS 'One row per retro-hunt: its range, how far it has read, how many hits; resumable.';
