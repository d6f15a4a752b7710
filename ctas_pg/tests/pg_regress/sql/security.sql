-- The extension under PostgreSQL's security rules for extensions. The oracle is
-- PostgreSQL's own privilege model: a role that owns a schema ahead of the extension's in
-- a superuser's search_path must not be able to run code as that superuser through any
-- function of the extension (CVE-2018-1058's lesson), a TEMP table must not stand in for
-- the extension's tables, and an ordinary role can use the functions and read the
-- extension's settings but writes only what it is granted.
SET client_min_messages = warning;
\set SHOW_CONTEXT never
CREATE EXTENSION IF NOT EXISTS ctas;
CREATE EXTENSION IF NOT EXISTS postgis SCHEMA public;
CREATE EXTENSION IF NOT EXISTS ctas_postgis SCHEMA public;
DO $$ BEGIN PERFORM ctas_schema_upgrade(); END $$;
DROP ROLE IF EXISTS ctas_regress_mallory;
DROP ROLE IF EXISTS ctas_regress_analyst;
CREATE ROLE ctas_regress_mallory;
CREATE ROLE ctas_regress_analyst;
CREATE SCHEMA mallory AUTHORIZATION ctas_regress_mallory;
INSERT INTO ctas_pattern_sets (name) VALUES ('regress_c2');
INSERT INTO ctas_patterns (set_name, pattern_id, regex, severity)
VALUES ('regress_c2', 'gate', 'gate\.php', 'high');

-- Mallory plants a stand-in for every function and table the extension's code names:
-- each stand-in would make her a superuser if a superuser's call reached it.
SET ROLE ctas_regress_mallory;
CREATE FUNCTION mallory.ctas_escalate() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE 'ALTER ROLE ctas_regress_mallory SUPERUSER';
END $$;
CREATE FUNCTION mallory.ctas_indicator_id(text, text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN PERFORM mallory.ctas_escalate(); RETURN 'mallory'; END $$;
CREATE FUNCTION mallory.ctas_analyze(jsonb, text, int, text, timestamptz) RETURNS jsonb
LANGUAGE plpgsql AS $$ BEGIN PERFORM mallory.ctas_escalate(); RETURN '{}'; END $$;
CREATE FUNCTION mallory.ctas_matches(text, text) RETURNS boolean
LANGUAGE plpgsql AS $$ BEGIN PERFORM mallory.ctas_escalate(); RETURN true; END $$;
CREATE FUNCTION mallory.ctas_match(text, text)
RETURNS TABLE (pattern_id text, start_pos int, end_pos int, matched text, severity text,
               tags text[], attack_id text)
LANGUAGE plpgsql AS $$ BEGIN PERFORM mallory.ctas_escalate(); END $$;
CREATE FUNCTION mallory.ctas_decay(float8, timestamptz, interval, float8, timestamptz)
RETURNS float8 LANGUAGE plpgsql AS $$ BEGIN PERFORM mallory.ctas_escalate(); RETURN 0; END $$;
CREATE FUNCTION mallory.ctas_check_history_owners() RETURNS void
LANGUAGE plpgsql AS $$ BEGIN PERFORM mallory.ctas_escalate(); END $$;
CREATE FUNCTION mallory.ctas_warninglist_parse(jsonb)
RETURNS TABLE (name text, description text, version bigint, list_type text,
               matching_attributes text[], entries text[])
LANGUAGE plpgsql AS $$ BEGIN PERFORM mallory.ctas_escalate(); END $$;
-- ctas_postgis checks every geometry with its own function, and asks PostGIS for SRIDs.
CREATE FUNCTION mallory.ctas_postgis_require_wgs84(public.geometry) RETURNS void
LANGUAGE plpgsql AS $$ BEGIN PERFORM mallory.ctas_escalate(); END $$;
CREATE FUNCTION mallory.st_srid(public.geometry) RETURNS int
LANGUAGE plpgsql AS $$ BEGIN PERFORM mallory.ctas_escalate(); RETURN 4326; END $$;
-- TEMP tables come first in every search_path that does not name pg_temp.
CREATE TEMP TABLE ctas_pattern_sets (name text);
CREATE TEMP TABLE ctas_patterns (set_name text, pattern_id text, regex text, severity text,
                                 tags text[], attack_id text);
INSERT INTO ctas_pattern_sets VALUES ('regress_c2');
INSERT INTO ctas_patterns VALUES ('regress_c2', 'everything', '.', 'critical', '{}', NULL);
CREATE TEMP TABLE ctas_warninglists (name text, list_type text, description text,
                                     version bigint, matching_attributes text[], entries text[]);
INSERT INTO ctas_warninglists VALUES ('mallory', 'cidr', '', 1, '{}', '{0.0.0.0/0}');
CREATE TEMP TABLE ctas_decay_models (name text);
CREATE TEMP TABLE ctas_cache_epochs (name text, epoch bigint);
RESET ROLE;

-- A superuser with Mallory's schema first in its search_path uses every family that
-- reads a table or calls a function of the extension. (What it calls itself it names
-- with the extension's schema: an unqualified call of its own would reach Mallory's
-- function of that name, by the caller's own search_path, as any function would.)
SET search_path = mallory, public;
SELECT ctas_ingest_report('{"text": "C2 at hxxps://update-check[.]net/gate.php and 198.51.100.23",
                            "observed_at": "2026-11-01T10:00:00Z"}', 'regress-r1') AS report;
SELECT related_kind, related_value FROM ctas_related_indicators('ipv4', '198.51.100.23');
SELECT related_report FROM ctas_correlated_reports('regress-r1');
SELECT ctas_analyze_row(r, at => '2026-11-15T00:00:00Z') ->> 'severity' AS severity FROM ctas.reports r WHERE r.id = 'regress-r1';
SELECT pattern_id, matched FROM public.ctas_match('see gate.php', 'regress_c2');
SELECT public.ctas_matches('nothing here', 'regress_c2') AS matches_nothing;
SELECT kind, value, warninglists FROM ctas_extract_iocs('from 198.51.100.23');
SELECT round(ctas_decay(80, now() - interval '10 days', '120 days', 2)::numeric, 3) AS decayed;
SELECT (ctas_score('{"kind": "ipv4", "sources": [{"name": "a", "confidence": 80}]}', 'misp:nids-simple',
                   '2026-11-01') ->> 'score')::float8 > 0 AS scored;
SELECT ctas_warninglist_load('{"name": "regress list", "type": "string", "list": ["198.51.100.23"]}');
CALL ctas_retro_hunt('regress_c2', '2026-01-01', '2027-01-01');
SELECT to_hex(public.ctas_h3_cell(public.st_setsrid(public.st_makepoint(-122.41795063018799, 37.775938728915946), 4326), 9)) AS cell;
-- A cell's own outline holds one cell centre at its resolution: its own.
SELECT to_hex(c) AS inside FROM public.ctas_h3_polygon_to_cells(
    public.ctas_h3_cell_to_boundary_geometry(x'8928308280fffff'::bigint), 9) AS c;
SELECT pattern_id, raw FROM ctas.sightings WHERE report_id = 'regress-r1' AND pattern_set = 'regress_c2';
RESET search_path;
-- None of it reached Mallory's stand-ins.
SELECT rolsuper AS mallory_is_superuser FROM pg_roles WHERE rolname = 'ctas_regress_mallory';
DISCARD TEMP;

-- An ordinary role uses the functions, the settings tables included, and reads the
-- extension's tables; it writes none of them unless granted.
SET ROLE ctas_regress_analyst;
SELECT kind, value, warninglists FROM ctas_extract_iocs('from 198.51.100.23');
SELECT pattern_id FROM ctas_match('see gate.php', 'regress_c2');
SELECT (ctas_score('{"kind": "ipv4", "sources": [{"name": "a", "confidence": 80}]}', 'misp:nids-simple',
                   '2026-11-01') ->> 'score')::float8 > 0 AS scored;
SELECT count(*) > 0 AS reads_models FROM ctas_decay_models;
INSERT INTO ctas_patterns (set_name, pattern_id, regex) VALUES ('regress_c2', 'mine', 'x');
RESET ROLE;
-- Granted INSERT on the patterns, it adds one, and every cache sees it: the epoch is
-- bumped by the extension's trigger, which the analyst could not have written itself.
GRANT INSERT ON ctas_patterns TO ctas_regress_analyst;
SET ROLE ctas_regress_analyst;
UPDATE ctas_cache_epochs SET epoch = epoch + 1;
INSERT INTO ctas_patterns (set_name, pattern_id, regex) VALUES ('regress_c2', 'php', '\.php');
SELECT pattern_id FROM ctas_match('see gate.php', 'regress_c2') ORDER BY 1;
RESET ROLE;

-- A table of the history owned by a role that is not a superuser: a superuser's call
-- refuses to use it (its owner's triggers would run as the superuser).
ALTER TABLE ctas.sources OWNER TO ctas_regress_mallory;
SELECT ctas_ingest_report('{"text": "again 198.51.100.23", "observed_at": "2026-11-02T10:00:00Z"}');
SELECT count(*) FROM ctas_related_indicators('ipv4', '198.51.100.23');
ALTER TABLE ctas.sources OWNER TO CURRENT_USER;
-- For a role that is not a superuser nothing is refused: what it reaches runs as itself.
GRANT USAGE ON SCHEMA ctas TO ctas_regress_mallory;
GRANT SELECT ON ALL TABLES IN SCHEMA ctas TO ctas_regress_mallory;
SET ROLE ctas_regress_mallory;
SELECT count(*) > 0 AS related FROM ctas_related_indicators('ipv4', '198.51.100.23');
RESET ROLE;

DELETE FROM ctas.sightings WHERE pattern_set = 'regress_c2';
DELETE FROM ctas_pattern_sets WHERE name = 'regress_c2';
DELETE FROM ctas_warninglists WHERE name = 'regress list';
DROP SCHEMA mallory CASCADE;
REVOKE ALL ON ALL TABLES IN SCHEMA ctas FROM ctas_regress_mallory;
REVOKE ALL ON SCHEMA ctas FROM ctas_regress_mallory;
REVOKE ALL ON ctas_patterns FROM ctas_regress_analyst;
DROP ROLE ctas_regress_mallory;
DROP ROLE ctas_regress_analyst;
