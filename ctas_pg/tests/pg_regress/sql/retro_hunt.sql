-- Retro-hunts: a pattern set over a time range of the history, hits written as
-- sightings. Expected positions are Python's re.finditer on each report's text
-- (1-based here: Python's + 1), written beside the query.
CREATE EXTENSION IF NOT EXISTS ctas;
\set SHOW_CONTEXT never
SET client_min_messages = warning;
SELECT ctas_schema_upgrade() \g /dev/null

SELECT ctas_ingest_report('{"text": "Dropper invoice.docm dropped by загрузчик; C2 192.0.2.77", "observed_at": "2026-09-01T10:00:00Z"}', 'hunt-1') AS r1,
       ctas_ingest_report('{"text": "Ещё один dropper; и C2 тоже", "observed_at": "2026-09-02T10:00:00Z"}', 'hunt-2') AS r2,
       ctas_ingest_report('{"text": "nothing to see", "observed_at": "2026-09-03T10:00:00Z"}', 'hunt-3') AS r3,
       ctas_ingest_report('{"text": "a dropper, but after the range", "observed_at": "2026-09-10T10:00:00Z"}', 'hunt-4') AS r4;
INSERT INTO ctas_pattern_sets (name) VALUES ('regress-hunt');
INSERT INTO ctas_patterns (set_name, pattern_id, regex, severity)
VALUES ('regress-hunt', 'dropper', '(?i)\bdropper\b', 'high'), ('regress-hunt', 'c2', '\bC2\b', 'medium');

-- [2026-09-01, 2026-09-08) holds hunt-1, -2 and -3, read two at a time.
CALL ctas_retro_hunt('regress-hunt', '2026-09-01', '2026-09-08', 2);
SELECT pattern_set, reports, hits, last_report, finished_at IS NOT NULL AS finished
FROM ctas.retro_hunts WHERE pattern_set = 'regress-hunt';
-- Python: hunt-1 dropper 1-8, C2 44-46; hunt-2 dropper 10-17, C2 21-23.
SELECT report_id, pattern_id, raw, start_pos, end_pos FROM ctas.sightings
WHERE pattern_set = 'regress-hunt' ORDER BY report_id, start_pos;

-- Again over the same range: a new run, and no sighting written twice.
CALL ctas_retro_hunt('regress-hunt', '2026-09-01', '2026-09-08', 1000);
SELECT count(*) AS runs, sum(hits) AS hits FROM ctas.retro_hunts WHERE pattern_set = 'regress-hunt';
SELECT count(*) AS sightings FROM ctas.sightings WHERE pattern_set = 'regress-hunt';

-- Errors: the set is checked before any work.
CALL ctas_retro_hunt('no-such-set', '2026-09-01', '2026-09-08');
CALL ctas_retro_hunt('regress-hunt', '2026-09-01', '2026-09-08', 0);
SELECT count(*) AS runs_of_a_missing_set FROM ctas.retro_hunts WHERE pattern_set = 'no-such-set';
DELETE FROM ctas_pattern_sets WHERE name = 'regress-hunt';
