-- IOC extraction, refang/defang, kinds and warninglists, with their error cases.
-- Expected values follow published conventions, not CTAS's first output: refanging undoes
-- hxxp, [.], [@], [:]// and (.); IPv6 in RFC 5952 form (Python's ipaddress also gives
-- 2001:db8::1); hashes in lower-case hex; a URL's host in lower case, its path as written;
-- positions are 1-based characters, end exclusive (what substr() counts).
SET client_min_messages = warning;
\set SHOW_CONTEXT never
CREATE EXTENSION IF NOT EXISTS ctas;

-- Refang and defang are inverse on what defang writes.
SELECT ctas_refang(v) AS refanged
FROM (VALUES ('hxxps://update-check[.]net/gate.php'), ('198.51.100[.]23'),
             ('admin[@]example[.]org'), ('hxxp[:]//a[.]example/x'), ('evil(.)com')) t(v);
SELECT ctas_defang('https://evil.com/a') AS defanged,
       ctas_refang(ctas_defang('https://evil.com/a?b=c')) = 'https://evil.com/a?b=c' AS round_trip;

-- One value, its kind and its normal form.
SELECT v, ctas_ioc_kind(v) AS kind, ctas_ioc_normalise(v) AS normalised
FROM (VALUES ('hxxps://Evil[.]COM/a'), ('2001:DB8:0:0::1'), ('D41D8CD98F00B204E9800998ECF8427E'),
             ('CVE-2021-44228'), ('T1059.001'), ('version 2.4.1.7'), ('invoice.docm')) t(v);

-- Every indicator of a report, with positions (1-based characters, end exclusive).
SELECT kind, value, raw, start_pos, end_pos FROM ctas_extract_iocs(
  'C2 hxxps://update-check[.]net/gate.php and 198.51.100[.]23 (T1071.001), '
  'dropper invoice.docm; version 2.4.1.7 is not an address; payload archive.zip.exe.'
) ORDER BY start_pos;
SELECT count(*) AS none FROM ctas_extract_iocs('');
SELECT count(*) AS from_null FROM ctas_extract_iocs(NULL);

-- A warninglist: loaded, matched by list type, and shown on the indicators it holds.
SELECT ctas_warninglist_load('{"name": "regress-resolvers", "type": "string", "version": 1,
  "description": "Public resolvers", "matching_attributes": ["ip-dst"], "list": ["8.8.8.8", "1.1.1.1"]}');
SELECT ctas_warninglist_hits('8.8.8.8') AS hits, ctas_warninglist_hits('8.8.4.4') AS none;
SELECT value, warninglists FROM ctas_extract_iocs('resolver 8.8.8.8, C2 198.51.100.23') ORDER BY start_pos;
DELETE FROM ctas_warninglists WHERE name = 'regress-resolvers';

-- Errors: the SQLSTATE, then the message.
\set VERBOSITY sqlstate
SELECT ctas_warninglist_load('{"name": "x"}');
SELECT ctas_warninglist_load('[]');
SELECT ctas_warninglist_load('{"name": "x", "type": "fuzzy", "list": ["a"]}');
\set VERBOSITY default
SELECT ctas_warninglist_load('{"name": "x"}');
SELECT ctas_warninglist_load('[]');
SELECT ctas_warninglist_load('{"name": "x", "type": "fuzzy", "list": ["a"]}');
