-- Scoring: decay, validity, confidence scales, explained scores.
CREATE EXTENSION IF NOT EXISTS ctas;
\set SHOW_CONTEXT never
SET timezone = 'UTC';

-- MISP NIDS simple model (lifetime 120 days, speed 2, base 80) after 10 days.
SELECT round(ctas_decay(80, '2026-01-01', '120 days', 2, '2026-01-11')::numeric, 5) AS score;

-- Before last_seen the score is the base; after the lifetime it is 0.
SELECT ctas_decay(80, '2026-01-01', '120 days', 2, '2025-12-01') AS before,
       ctas_decay(80, '2026-01-01', '120 days', 2, '2026-06-01') AS after;

-- When it falls below MISP's threshold 30, and each OpenCTI reaction point of the IP/URL rule.
SELECT ctas_valid_until(80, '2026-01-01', '120 days', 2, 30) AS below_threshold;
SELECT p AS points, ctas_valid_until(100, '2026-01-01', lifetime_days * interval '1 day', speed, p)
FROM ctas_decay_models, unnest(ARRAY[80, 50, 20]) AS p
WHERE name = 'opencti:ip-url';
SELECT ctas_valid_until(50, '2026-01-01', '10 days', 1, 60) IS NULL AS never;

-- The built-in models.
SELECT name, kind, lifetime_days, round(speed::numeric, 2) AS speed, threshold, rule_order
FROM ctas_decay_models ORDER BY name;

-- STIX 2.1 confidence scales, both ways.
SELECT v, ctas_confidence_to('none-low-med-high', v) AS nlmh, ctas_confidence_to('wep', v) AS wep,
       ctas_confidence_to('dni', v) AS dni, ctas_confidence_to('admiralty-credibility', v) AS admiralty
FROM unnest(ARRAY[0, 15, 50, 85, 100]) AS v;
SELECT ctas_confidence_from('admiralty-credibility', 'Probably True') AS probably_true,
       ctas_confidence_from('0-10', '7') AS seven,
       ctas_confidence_from('dni', 'roughly even odds') AS even;

-- An explained score: two sources, sightings, the OpenCTI rule for IPv4.
SELECT jsonb_pretty(ctas_score('{
  "kind": "IPv4-Addr",
  "sources": [{"name": "feed-a", "confidence": 60}, {"name": "feed-b", "confidence": 40}],
  "sightings": [{"at": "2026-01-02T10:00:00Z", "source": "ids"}]
}', 'opencti', '2026-01-05T10:00:00Z'));

-- Errors name the argument, with SQLSTATE 22023.
SELECT ctas_decay(80, '2026-01-01', '-5 days', 2, '2026-01-11');
SELECT ctas_decay(80, '2026-01-01', '5 days', 0, '2026-01-11');
SELECT ctas_decay(120, '2026-01-01', '5 days', 1, '2026-01-11');
SELECT ctas_confidence_to('likert', 50);
SELECT ctas_confidence_from('admiralty-credibility', '6');
SELECT ctas_score('{"sources": [{"reliability": "Z"}]}', 'ctas:admiralty');
SELECT ctas_score('{}', 'misp:no-such-model');
DO $$
BEGIN
  PERFORM ctas_decay(80, '2026-01-01', '5 days', -1, '2026-01-11');
EXCEPTION WHEN invalid_parameter_value THEN
  RAISE NOTICE 'SQLSTATE %: %', SQLSTATE, SQLERRM;
END $$;
