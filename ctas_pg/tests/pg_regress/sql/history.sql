-- The history's ids and a correlation. Expected values are other code's, beside each
-- query: the `stix2` Python library's deterministic ids (STIX 2.1 section 2.9) for the
-- observables, and set logic for which reports share what.
CREATE EXTENSION IF NOT EXISTS ctas;
\set SHOW_CONTEXT never
SET client_min_messages = warning;
SELECT ctas_schema_upgrade() \g /dev/null

-- One indicator, one id, however it is written (refanged, case, RFC 5952).
SELECT ctas_indicator_id('domain', 'EVIL[.]Example.COM') = ctas_indicator_id('domain', 'evil.example.com') AS domain_spellings,
       ctas_indicator_id('ipv6', '2001:DB8:0:0::1') = ctas_indicator_id('ipv6', '2001:db8::1') AS ipv6_spellings,
       ctas_indicator_id('ipv4', '198.51.100.7') = ctas_indicator_id('ipv4', '198.51.100.8') AS different_values;

-- stix2: DomainName evil.example.com domain-name--6262c8a9-ac28-50fe-a7df-f5923bb2ee14,
-- IPv4Address 198.51.100.7 ipv4-addr--12592121-be4c-5a93-a813-5a5af16e50db,
-- IPv6Address 2001:db8::1 ipv6-addr--6469e3a9-b053-5e34-a025-9396ae051d26,
-- URL https://evil.example.com/gate.php url--c69c22b1-b7ef-5129-888a-81cf950a5f00,
-- File SHA-256 of nothing file--22f8ff52-8f62-5f03-a53a-6f50f54fd74c,
-- EmailAddress bob@evil.example.com email-addr--a42b5317-cdd9-577a-bcb3-dae06f2bc2d0.
SELECT kind, ctas_observable_id(kind, value) AS stix_id
FROM (VALUES ('domain', 'EVIL[.]Example.COM'), ('ipv4', '198.51.100[.]7'), ('ipv6', '2001:DB8:0:0::1'),
             ('url', 'hxxps://evil.example.com/gate.php'),
             ('sha256', 'E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855'),
             ('email', 'bob@evil.example.com')) AS t (kind, value);

-- Three reports: A and B share 198.51.100.7 and evil.example.com, A and C share only
-- evil.example.com, so B ranks above C for A; a report sharing nothing is not listed.
SELECT ctas_ingest_report('{"text": "A: beacon to 198.51.100.7 and evil[.]example.com", "observed_at": "2026-11-01T00:00:00Z"}', 'report-a') AS a,
       ctas_ingest_report('{"text": "B: again 198.51.100.7, evil.example.com", "observed_at": "2026-11-02T00:00:00Z"}', 'report-b') AS b,
       ctas_ingest_report('{"text": "C: evil.example.com only", "observed_at": "2026-11-03T00:00:00Z"}', 'report-c') AS c,
       ctas_ingest_report('{"text": "D: 203.0.113.99 alone", "observed_at": "2026-11-04T00:00:00Z"}', 'report-d') AS d;
SELECT related_report, shared FROM ctas_correlated_reports('report-a') ORDER BY weight DESC, related_report;

-- Errors name what is wrong.
SELECT ctas_ingest_report('{"text": "x", "observed_at": "yesterday"}');
SELECT ctas_ingest_stix('{"type": "bundle", "objects": [{"type": "report", "id": "report--2", "published": "15/10/2026"}]}');
