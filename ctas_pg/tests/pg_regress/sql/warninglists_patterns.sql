-- Warninglists and pattern sets. Expected values are other code's, beside each query:
-- Python's ipaddress for CIDR membership, MISP's hostname rule (the host itself or a
-- subdomain of an entry: value = entry OR value ends with '.' || entry), Python's re
-- for pattern matches (positions 1-based characters, end exclusive, as re's
-- m.start() + 1 and m.end() + 1).
CREATE EXTENSION IF NOT EXISTS ctas;
\set SHOW_CONTEXT never
SET client_min_messages = warning;

SELECT ctas_warninglist_load('{"name": "regress: private", "type": "cidr",
  "list": ["10.0.0.0/8", "192.168.0.0/16", "2001:db8::/32"],
  "matching_attributes": ["ip-src", "ip-dst"]}');
SELECT ctas_warninglist_load('{"name": "regress: vendor", "type": "hostname",
  "list": ["microsoft.com"], "matching_attributes": ["domain", "hostname"]}');

-- ipaddress: 10.255.0.1 True, 11.0.0.1 False, 192.168.10.20 True, 2001:db8:1::5 True,
-- 2001:db9::1 False.
SELECT v, ctas_warninglist_hits(v) AS hits
FROM unnest(ARRAY['10.255.0.1', '11.0.0.1', '192.168.10.20', '2001:db8:1::5', '2001:db9::1']) AS v;

-- MISP's hostname rule: microsoft.com True, update.microsoft.com True,
-- notmicrosoft.com False, microsoft.com.evil.example False.
SELECT v, ctas_warninglist_hits(v) AS hits
FROM unnest(ARRAY['microsoft.com', 'update.microsoft.com', 'notmicrosoft.com',
                  'microsoft.com.evil.example']) AS v;

-- Extraction flags a listed value rather than dropping it.
SELECT kind, value, warninglists
FROM ctas_extract_iocs('Beacon from 10.20.30.40 to 198.51.100.9 via update.microsoft.com');

INSERT INTO ctas_pattern_sets (name) VALUES ('regress-hunt');
INSERT INTO ctas_patterns (set_name, pattern_id, regex, severity, tags, attack_id) VALUES
  ('regress-hunt', 'cs-name', '(?i)cobalt\s*strike', 'medium', '{}', NULL),
  ('regress-hunt', 'cs-pipe', '\\\\\.\\pipe\\msagent_[0-9a-f]{2,4}', 'high', '{cobalt-strike}', 'T1570');

-- re on the same text: cs-name 19-32 'cobalt strike', 46-60 'Cobalt  Strike',
-- cs-pipe 66-85 '\\.\pipe\msagent_5c' (characters: 'Ü' and 'ü' are one each).
SELECT pattern_id, start_pos, end_pos, matched, severity, tags, attack_id
FROM ctas_match('Über den Angriff: cobalt strike beacon, dann Cobalt  Strike über \\.\pipe\msagent_5c',
                'regress-hunt')
ORDER BY start_pos;
SELECT ctas_matches('nothing to see', 'regress-hunt') AS nothing,
       ctas_matches('COBALTSTRIKE', 'regress-hunt') AS shouted;

-- Errors: a bad list, a bad pattern (2201B) naming its id, an unknown set.
SELECT ctas_warninglist_load('{"name": "broken", "type": "cidr", "list": ["10.0.0.0/40"]}');
INSERT INTO ctas_patterns (set_name, pattern_id, regex) VALUES ('regress-hunt', 'bad', '(unclosed');
SELECT * FROM ctas_match('text', 'no-such-set');
SET ctas.max_matches = 1;
SELECT count(*) FROM ctas_match('cobalt strike, cobaltstrike', 'regress-hunt');
RESET ctas.max_matches;
