-- ctas_analyze: one report in, everything about it out. Expected values are other
-- code's, beside each query: positions from Python's re and str.index on the same
-- text (1-based here, Python's + 1), the cell from the `h3` package
-- (h3.latlng_to_cell), the confidence from STIX 2.1 Appendix A (Admiralty credibility
-- 2 "probably true" is 70).
CREATE EXTENSION IF NOT EXISTS ctas;
\set SHOW_CONTEXT never
SET client_min_messages = warning;

INSERT INTO ctas_pattern_sets (name) VALUES ('regress-analyze');
INSERT INTO ctas_patterns (set_name, pattern_id, regex, severity, attack_id)
VALUES ('regress-analyze', 'cobalt', '(?i)cobalt\s+strike', 'high', 'S0154');

-- Python: re.finditer(r"(?i)cobalt\s+strike") at 26-39 and 109-123 (end exclusive);
-- text.index gives the URL at 50-85, its host at 58-76, the address at 91-104.
-- h3.latlng_to_cell(55.7558, 37.6173, 8) = 8811aa7abdfffff.
CREATE TEMP TABLE a AS
SELECT ctas_analyze('{"text": "Отчёт CERT-RU: Кобальт — Cobalt Strike beacon to hxxps://update-check[.]net/gate.php from 198.51.100.23; 再次 cobalt  strike",
  "lat": 55.7558, "lng": 37.6173, "observed_at": "2026-11-01T00:00:00Z",
  "source": {"name": "CERT-RU", "reliability": "B", "credibility": "2"}}', 'regress-analyze', 8,
  'ctas:admiralty', '2026-11-02') AS r;
SELECT i->>'kind' AS kind, i->>'value' AS value, (i->>'start_pos')::int AS start_pos, (i->>'end_pos')::int AS end_pos
FROM a, jsonb_array_elements(r->'iocs') AS i ORDER BY start_pos, kind;
SELECT m->>'pattern_id' AS pattern_id, m->>'matched' AS matched, (m->>'start_pos')::int AS start_pos,
       (m->>'end_pos')::int AS end_pos, m->>'severity' AS severity, m->>'attack_id' AS attack_id
FROM a, jsonb_array_elements(r->'matches') AS m ORDER BY start_pos;
SELECT r->>'h3_cell' AS h3_cell, r->>'h3_resolution' AS res, r->>'severity' AS severity, r->>'confidence' AS confidence
FROM a;

-- The same positions as ctas_extract_iocs and ctas_match give for the text.
SELECT (SELECT jsonb_agg(jsonb_build_array(i->'start_pos', i->'end_pos') ORDER BY (i->>'start_pos')::int, i->>'kind') FROM jsonb_array_elements(r->'iocs') i)
     = (SELECT jsonb_agg(jsonb_build_array(start_pos, end_pos) ORDER BY start_pos, kind) FROM ctas_extract_iocs(r->>'text')) AS iocs_agree,
       (SELECT jsonb_agg(jsonb_build_array(m->'start_pos', m->'end_pos') ORDER BY (m->>'start_pos')::int) FROM jsonb_array_elements(r->'matches') m)
     = (SELECT jsonb_agg(jsonb_build_array(start_pos, end_pos) ORDER BY start_pos) FROM ctas_match(r->>'text', 'regress-analyze')) AS matches_agree
FROM (SELECT a.r || jsonb_build_object('text', 'Отчёт CERT-RU: Кобальт — Cobalt Strike beacon to hxxps://update-check[.]net/gate.php from 198.51.100.23; 再次 cobalt  strike') AS r FROM a) AS t;

-- The set named by the setting when the argument is NULL; none when unset.
SET ctas.default_pattern_set = 'regress-analyze';
SELECT jsonb_array_length(ctas_analyze('{"text": "cobalt strike"}') -> 'matches') AS with_default;
RESET ctas.default_pattern_set;
SELECT jsonb_array_length(ctas_analyze('{"text": "cobalt strike"}') -> 'matches') AS without;
SELECT ctas_analyze(NULL) IS NULL AS null_in_null_out;

-- Errors name the field (22P02 for the report, 22023 for the arguments, 42704 for a
-- set that does not exist, 54000 for limits).
SELECT ctas_analyze('{"text": "x", "colour": "red"}');
SELECT ctas_analyze('{"text": "x", "lat": 48.8}');
SELECT ctas_analyze('{"text": "x", "lat": 91, "lng": 0}');
SELECT ctas_analyze('{"text": "x", "observed_at": "yesterday"}');
SELECT ctas_analyze('{"text": "x"}', 'no-such-set');
SELECT ctas_analyze('{"text": "x", "lat": 0, "lng": 0}', NULL, 16);
SELECT ctas_analyze('{"text": "x"}', NULL, 7, 'no-such-model');
SET ctas.max_matches = 1;
SELECT ctas_analyze('{"text": "cobalt strike, cobalt strike"}', 'regress-analyze');
RESET ctas.max_matches;
DELETE FROM ctas_pattern_sets WHERE name = 'regress-analyze';
