"""ctas_ingest_stix on the 50 real Unit 42 STIX bundles of the shared data, in a
database of its own (their 2024 reports would otherwise show in the docs' examples)."""

# ruff: noqa: E501  (SQL reads better unbroken)

import json
import re

import psycopg
import pytest

from conftest import SHARED_DATA, history_database

DATA = SHARED_DATA

# A comparison of a STIX pattern whose literal is the indicator's value as CTAS
# normalises it: hashes, domains, addresses in lower case, e-mail domains too (the
# local part keeps its case: RFC 5321 lets a mail server tell them apart).
EXACT = re.compile(
    r"\[?(?:file:hashes\.'SHA-256'|domain-name:value|ipv4-addr:value|email-addr:value)\s*=\s*'([^']+)'"
)


@pytest.fixture
def stixdb():
    with history_database("ctas_stix_test") as conn:
        yield conn


def bundles():
    files = sorted((DATA / "stix" / "unit42").glob("*.json"))
    assert len(files) == 50, f"the Unit 42 bundles are missing from {DATA / 'stix' / 'unit42'}"
    return [json.loads(f.read_text()) for f in files]


def ingest(conn, bundle):
    return conn.execute("SELECT ctas_ingest_stix(%s::jsonb)", (json.dumps(bundle),)).fetchone()[0]


def test_unit42_bundles_land_in_the_history_once(stixdb):
    all_bundles = bundles()
    added = [ingest(stixdb, b)["added"] for b in all_bundles]
    objects = [o for b in all_bundles for o in b["objects"]]
    reports = [o for o in objects if o["type"] == "report"]
    assert sum(a["reports"] for a in added) == len(reports) == 48
    assert stixdb.execute("SELECT count(*) FROM ctas.reports").fetchone()[0] == 48

    # Every STIX relationship is there, as it was.
    rels = {
        (o["id"], o["source_ref"], o["relationship_type"], o["target_ref"])
        for o in objects
        if o["type"] == "relationship"
    }
    stored = set(
        stixdb.execute(
            "SELECT id, source_ref, relationship_type, target_ref FROM ctas.relationships WHERE relationship_type NOT IN ('based-on', 'object_refs')"
        ).fetchall()
    )
    assert rels == stored
    refs = {(r["id"], ref) for r in reports for ref in r.get("object_refs", [])}
    assert refs == set(
        stixdb.execute(
            "SELECT source_ref, target_ref FROM ctas.relationships WHERE relationship_type = 'object_refs'"
        ).fetchall()
    )

    # Every hash, domain, address and e-mail a pattern names is an indicator, tied to its
    # STIX indicator by based-on.
    def normalised(v):
        local, at, domain = v.rpartition("@")
        return f"{local}@{domain.lower()}" if at else v.lower()

    expected = {
        (o["id"], normalised(v))
        for o in objects
        if o["type"] == "indicator"
        for v in EXACT.findall(o["pattern"])
    }
    assert len(expected) > 400
    tied = set(
        stixdb.execute(
            "SELECT r.source_ref, i.value FROM ctas.relationships r JOIN ctas.indicators i ON i.id = r.target_ref WHERE r.relationship_type = 'based-on'"
        ).fetchall()
    )
    assert expected <= tied

    # URLs with a scheme (http, ftp, tcp, file:// WebDAV paths such as
    # file://host@SSL/DavWWWRoot/x.lnk) are url indicators; what Unit 42 files as a URL
    # without one (host:port) yields its address.
    def tied_kinds(kind_filter):
        return {
            r[0]
            for r in stixdb.execute(
                "SELECT r.source_ref FROM ctas.relationships r JOIN ctas.indicators i ON i.id = r.target_ref"
                " WHERE r.relationship_type = 'based-on' AND i.kind LIKE %s",
                (kind_filter,),
            ).fetchall()
        }

    urls = [o for o in objects if o["type"] == "indicator" and "url:value" in o["pattern"]]
    schemed = {o["id"] for o in urls if re.search(r"url:value = '[a-z]+://", o["pattern"])}
    assert len({o["id"] for o in urls} - schemed) == 2 and schemed <= tied_kinds("url")
    assert {o["id"] for o in urls} <= tied_kinds("%")

    # A report's sightings include every indicator it refers to (and what its text names).
    indicator_ids = {o["id"] for o in objects if o["type"] == "indicator"}
    for report in reports:
        refs = [r for r in report.get("object_refs", []) if r in indicator_ids]
        missing = stixdb.execute(
            "SELECT count(*) FROM unnest(%s::text[]) ref JOIN ctas.relationships r ON r.source_ref = ref AND r.relationship_type = 'based-on'"
            " WHERE NOT EXISTS (SELECT 1 FROM ctas.sightings s WHERE s.report_id = %s AND s.indicator_id = r.target_ref)",
            (refs, report["id"]),
        ).fetchone()[0]
        assert missing == 0, report["id"]

    # Again: nothing new, nothing doubled.
    counts = "SELECT (SELECT count(*) FROM ctas.reports), (SELECT count(*) FROM ctas.indicators), (SELECT count(*) FROM ctas.sightings), (SELECT count(*) FROM ctas.relationships)"
    before = stixdb.execute(counts).fetchone()
    again = [ingest(stixdb, b)["added"] for b in all_bundles]
    assert stixdb.execute(counts).fetchone() == before
    assert all(
        a == {"reports": 0, "indicators": 0, "sightings": 0, "relationships": 0} for a in again
    )


def test_bad_bundles_are_named_and_nothing_is_written(stixdb):
    with pytest.raises(psycopg.errors.InvalidParameterValue, match="expected a bundle"):
        ingest(stixdb, {"type": "report", "id": "report--1"})
    with pytest.raises(psycopg.errors.InvalidParameterValue, match='has no "objects" array'):
        ingest(stixdb, {"type": "bundle", "id": "bundle--1"})
    broken = {
        "type": "bundle",
        "id": "bundle--2",
        "objects": [
            {
                "type": "indicator",
                "id": "indicator--a",
                "pattern": "[ipv4-addr:value = '203.0.113.9']",
            },
            {
                "type": "relationship",
                "id": "relationship--b",
                "source_ref": "indicator--a",
                "relationship_type": "indicates",
            },
        ],
    }
    with pytest.raises(psycopg.errors.InvalidParameterValue, match="object relationship--b lacks"):
        ingest(stixdb, broken)
    late = {
        "type": "bundle",
        "id": "bundle--3",
        "objects": [{"type": "report", "id": "report--c", "name": "r", "published": "15/10/2026"}],
    }
    with pytest.raises(
        psycopg.errors.InvalidParameterValue,
        match="object report--c has published 15/10/2026, expected a timestamp",
    ):
        ingest(stixdb, late)
    assert stixdb.execute(
        "SELECT (SELECT count(*) FROM ctas.indicators), (SELECT count(*) FROM ctas.relationships), (SELECT count(*) FROM ctas.reports)"
    ).fetchone() == (0, 0, 0)
