-- STIX 2.1 and MISP ingest into the history. Expected values are other code's, beside
-- each query: which comparisons of a pattern name one value, as the OASIS
-- stix2-patterns library's inspector lists them (operator '='), the `stix2` library's
-- deterministic ids (STIX 2.1 section 2.9) for the observables, and MISP's core format
-- (draft-dulaunoy-misp-core-format, section 2.3.1: a composite type such as
-- `filename|md5` holds both values, split at '|').
CREATE EXTENSION IF NOT EXISTS ctas;
\set SHOW_CONTEXT never
SET client_min_messages = warning;
SELECT ctas_schema_upgrade() \g /dev/null

-- stix2patterns on the two patterns: equality for ipv4-addr 198.51.100.9, url
-- http://x.example/a, file MD5 D41D8CD9…, domain-name Beacon.Evil.example and file
-- SHA-1 DA39A3EE…; '!=', MATCHES, IN and NOT = name no single value.
SELECT ctas_ingest_stix('{"type": "bundle", "id": "bundle--0d5a1c8e-4b0f-4f7e-9c1a-5e0000000001", "objects": [
  {"type": "identity", "id": "identity--0d5a1c8e-4b0f-4f7e-9c1a-5e0000000002", "spec_version": "2.1",
   "created": "2026-10-01T00:00:00Z", "modified": "2026-10-01T00:00:00Z", "name": "Regress CERT", "identity_class": "organization"},
  {"type": "indicator", "id": "indicator--0d5a1c8e-4b0f-4f7e-9c1a-5e0000000003", "spec_version": "2.1",
   "created": "2026-10-01T00:00:00Z", "modified": "2026-10-01T00:00:00Z", "valid_from": "2026-10-01T00:00:00Z", "pattern_type": "stix",
   "pattern": "([ipv4-addr:value = ''198.51.100.9''] AND [url:value = ''http://x.example/a'']) FOLLOWEDBY [file:hashes.MD5 = ''D41D8CD98F00B204E9800998ECF8427E''] WITHIN 300 SECONDS"},
  {"type": "indicator", "id": "indicator--0d5a1c8e-4b0f-4f7e-9c1a-5e0000000004", "spec_version": "2.1",
   "created": "2026-10-01T00:00:00Z", "modified": "2026-10-01T00:00:00Z", "valid_from": "2026-10-01T00:00:00Z", "pattern_type": "stix",
   "pattern": "[domain-name:value != ''good.example''] OR [domain-name:value MATCHES ''^evil''] OR [email-addr:value IN (''a@evil.example'', ''b@evil.example'')] OR [file:hashes.''SHA-1'' = ''DA39A3EE5E6B4B0D3255BFEF95601890AFD80709''] OR [ipv4-addr:value NOT = ''10.0.0.1''] OR [domain-name:value = ''Beacon.Evil.example'']"},
  {"type": "email-addr", "id": "email-addr--5e347458-3ab5-590a-ac9f-c3f3710e70fb", "spec_version": "2.1", "value": "ops@evil.example"},
  {"type": "report", "id": "report--0d5a1c8e-4b0f-4f7e-9c1a-5e0000000005", "spec_version": "2.1",
   "created": "2026-10-02T00:00:00Z", "modified": "2026-10-02T00:00:00Z", "name": "Regress campaign",
   "published": "2026-10-02T00:00:00Z", "created_by_ref": "identity--0d5a1c8e-4b0f-4f7e-9c1a-5e0000000002",
   "object_refs": ["indicator--0d5a1c8e-4b0f-4f7e-9c1a-5e0000000003", "indicator--0d5a1c8e-4b0f-4f7e-9c1a-5e0000000004",
                   "email-addr--5e347458-3ab5-590a-ac9f-c3f3710e70fb"]}
]}') AS first_time;

-- stix2: ipv4-addr--4b8ed646-46df-5a9c-b5a6-b3ae128f35a6,
-- url--0c715356-64c0-590d-87bd-90f5d717b493,
-- file--02fff920-f614-527c-81d1-6353633a6d21 (MD5), file--fa6e66a5-f019-51f9-8ab5-812023e58c6e
-- (SHA-1), domain-name--30d82578-d806-5ec4-b3b7-483c1fa67ce7,
-- email-addr--5e347458-3ab5-590a-ac9f-c3f3710e70fb (the producer's id, the same).
SELECT i.kind, i.value, i.stix_id, s.source
FROM ctas.sightings s JOIN ctas.indicators i ON i.id = s.indicator_id
WHERE s.report_id = 'report--0d5a1c8e-4b0f-4f7e-9c1a-5e0000000005'
ORDER BY i.kind, i.value;

-- Each value of a pattern is tied to its STIX indicator (based-on).
SELECT r.source_ref, count(*) AS values_named
FROM ctas.relationships r
WHERE r.relationship_type = 'based-on' AND r.source_ref LIKE 'indicator--0d5a1c8e-%'
GROUP BY 1 ORDER BY 1;

-- The same bundle again: the same objects, nothing new.
SELECT ctas_ingest_stix('{"type": "bundle", "id": "bundle--0d5a1c8e-4b0f-4f7e-9c1a-5e0000000001", "objects": [
  {"type": "email-addr", "id": "email-addr--5e347458-3ab5-590a-ac9f-c3f3710e70fb", "spec_version": "2.1", "value": "ops@evil.example"},
  {"type": "report", "id": "report--0d5a1c8e-4b0f-4f7e-9c1a-5e0000000005", "spec_version": "2.1",
   "created": "2026-10-02T00:00:00Z", "modified": "2026-10-02T00:00:00Z", "name": "Regress campaign",
   "published": "2026-10-02T00:00:00Z", "created_by_ref": "identity--0d5a1c8e-4b0f-4f7e-9c1a-5e0000000002",
   "object_refs": ["indicator--0d5a1c8e-4b0f-4f7e-9c1a-5e0000000003", "indicator--0d5a1c8e-4b0f-4f7e-9c1a-5e0000000004",
                   "email-addr--5e347458-3ab5-590a-ac9f-c3f3710e70fb"]}
]}') -> 'added' AS second_time;

-- A report names an observable by the producer's own (random) id before the bundle
-- that holds the observable: the sighting appears when the observable does. stix2:
-- IPv6Address 2001:db8::5 is ipv6-addr--088ee214-b1f7-557f-92b9-c401d94b2165, its
-- stix_id, whatever id the producer gave.
SELECT ctas_ingest_stix('{"type": "bundle", "id": "bundle--0d5a1c8e-4b0f-4f7e-9c1a-5e0000000010", "objects": [
  {"type": "report", "id": "report--0d5a1c8e-4b0f-4f7e-9c1a-5e0000000011", "spec_version": "2.1", "name": "Regress follow-up",
   "published": "2026-10-04T00:00:00Z", "object_refs": ["ipv6-addr--7e6b6a35-1c7d-4c8e-8f00-2b5c00000012"]}]}') -> 'added' AS report_first;
SELECT ctas_ingest_stix('{"type": "bundle", "id": "bundle--0d5a1c8e-4b0f-4f7e-9c1a-5e0000000013", "objects": [
  {"type": "ipv6-addr", "id": "ipv6-addr--7e6b6a35-1c7d-4c8e-8f00-2b5c00000012", "spec_version": "2.1", "value": "2001:DB8:0::5"}]}') -> 'added' AS observable_later;
SELECT i.kind, i.value, i.stix_id FROM ctas.sightings s JOIN ctas.indicators i ON i.id = s.indicator_id
WHERE s.report_id = 'report--0d5a1c8e-4b0f-4f7e-9c1a-5e0000000011';

-- A MISP event: the core format's composite types give two values each
-- (filename|md5: invoice.docm and the hash; ip-dst|port: 203.0.113.5 and a port, which
-- names no indicator); the domain is the one the STIX pattern named.
SELECT ctas_ingest_misp('{"Event": {"uuid": "0d5a1c8e-4b0f-4f7e-9c1a-5e00000000e1", "info": "Regress event",
  "date": "2026-10-03", "Orgc": {"name": "Regress CSIRT"}, "Tag": [{"name": "tlp:clear"}],
  "Attribute": [
    {"type": "filename|md5", "value": "invoice.docm|D41D8CD98F00B204E9800998ECF8427E"},
    {"type": "ip-dst|port", "value": "203.0.113.5|443"},
    {"type": "hostname", "value": "beacon.evil.example"}]}}') AS misp;
SELECT i.kind, i.value FROM ctas.sightings s JOIN ctas.indicators i ON i.id = s.indicator_id
WHERE s.report_id = 'report--0d5a1c8e-4b0f-4f7e-9c1a-5e00000000e1' ORDER BY 1, 2;
-- The event shares the domain and the MD5 with the STIX report, and invoice.docm with
-- retro_hunt.sql's hunt-1 (the files run in one database, in alphabetical order).
SELECT related_report, shared FROM ctas_correlated_reports('report--0d5a1c8e-4b0f-4f7e-9c1a-5e00000000e1');

-- Errors name the field by its JSON path (22023), and nothing is written.
SELECT ctas_ingest_stix('{"type": "bundle", "id": "bundle--0d5a1c8e-4b0f-4f7e-9c1a-5e0000000009", "objects": [
  {"type": "report", "id": "report--0d5a1c8e-4b0f-4f7e-9c1a-5e0000000008", "name": "never stored", "published": "2026-10-02T00:00:00Z"},
  {"type": "indicator", "id": "indicator--0d5a1c8e-4b0f-4f7e-9c1a-5e0000000009", "created": "last week", "pattern": "[ipv4-addr:value = ''192.0.2.1'']"}]}');
SELECT count(*) AS half_written FROM ctas.reports WHERE id = 'report--0d5a1c8e-4b0f-4f7e-9c1a-5e0000000008';
SELECT ctas_ingest_stix('{"type": "report", "id": "report--0d5a1c8e-4b0f-4f7e-9c1a-5e0000000008"}');
SELECT ctas_ingest_stix('{"type": "bundle", "objects": [{"id": "indicator--0d5a1c8e-4b0f-4f7e-9c1a-5e000000000a"}]}');
SELECT ctas_ingest_misp('{"Event": {"info": "no uuid", "date": "2026-10-03"}}');
SELECT ctas_ingest_misp('{"Event": {"uuid": "0d5a1c8e-4b0f-4f7e-9c1a-5e00000000e2", "info": "x", "date": "2026-10-03", "Attribute": ["203.0.113.9"]}}');
SELECT ctas_ingest_misp('{"response": [{"Event": {"uuid": "0d5a1c8e-4b0f-4f7e-9c1a-5e00000000e3", "info": "x", "date": "03/10/2026"}}]}');
SELECT ctas_ingest_misp('"an event"');
