-- Upgrade of the ctas extension: the objects of ctas--0.6.0.sql that
-- ctas--0.5.0.sql lacks. Written by scripts/extension_upgrade.py.
\echo Use "ALTER EXTENSION ctas UPDATE" to load this file. \quit

-- requires:
--   ctas_analyze
--   ctas_ioc_objects
--   ctas_pattern_objects
--   ctas_score_objects


COMMENT ON FUNCTION ctas_analyze(jsonb, text, int, text, timestamptz) IS
'Everything CTAS says about a report {text, lat, lng, observed_at, source: {name, confidence, reliability, credibility, tags}, tags}: iocs (with warninglist hits), matches of a pattern set (NULL: the setting ctas.default_pattern_set), h3_cell, score (decayed, explained), severity, confidence. Positions start_pos/end_pos are 1-based characters, end exclusive, as in ctas_extract_iocs and ctas_match.';

