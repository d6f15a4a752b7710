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

    # Every other object (indicators, malware, identities, ...) is an entity, kept whole.
    kept = {o["id"]: o for o in objects if o["type"] not in ("report", "relationship")}
    assert {"indicator", "attack-pattern", "identity"} <= {o["type"] for o in kept.values()}
    assert dict(stixdb.execute("SELECT id, object FROM ctas.entities").fetchall()) == kept

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
        a == {"reports": 0, "indicators": 0, "sightings": 0, "relationships": 0, "entities": 0}
        for a in again
    )


def test_bad_bundles_are_named_and_nothing_is_written(stixdb):
    with pytest.raises(
        psycopg.errors.InvalidParameterValue,
        match='^ctas_ingest_stix: type: expected a bundle .* got type "report"$',
    ):
        ingest(stixdb, {"type": "report", "id": "report--1"})
    with pytest.raises(
        psycopg.errors.InvalidParameterValue,
        match='^ctas_ingest_stix: objects: the bundle has no "objects" array$',
    ):
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
    with pytest.raises(
        psycopg.errors.InvalidParameterValue,
        match=r"^ctas_ingest_stix: objects\[1\].target_ref: missing$",
    ):
        ingest(stixdb, broken)
    late = {
        "type": "bundle",
        "id": "bundle--3",
        "objects": [{"type": "report", "id": "report--c", "name": "r", "published": "15/10/2026"}],
    }
    with pytest.raises(
        psycopg.errors.InvalidParameterValue,
        match=r"^ctas_ingest_stix: objects\[0\].published: not a timestamp: 15/10/2026 \(expected RFC 3339",
    ):
        ingest(stixdb, late)
    assert stixdb.execute(
        "SELECT (SELECT count(*) FROM ctas.indicators), (SELECT count(*) FROM ctas.relationships), (SELECT count(*) FROM ctas.reports)"
    ).fetchone() == (0, 0, 0)


def test_attack_bundle_names_every_entity_its_relationships_connect():
    """MITRE ATT&CK (24,771 objects): every object that is not a relationship is an entity,
    kept whole, named, with its ATT&CK ids; every relationship connects two of them; the
    ATT&CK clusters of ESET's MISP events are the same entities."""
    import gzip

    bundle = json.loads(
        gzip.decompress((DATA / "attack" / "enterprise-attack-v18.1.json.gz").read_bytes())
    )
    objects = bundle["objects"]
    assert len(objects) == 24771
    with history_database("ctas_attack_test") as conn:
        result = ingest(conn, bundle)
        want_types = {}
        for o in objects:
            want_types[o["type"]] = want_types.get(o["type"], 0) + 1
        assert result["objects"] == want_types
        rels = [o for o in objects if o["type"] == "relationship"]
        others = {o["id"]: o for o in objects if o["type"] != "relationship"}
        assert result["added"]["relationships"] == len(rels) == 20048
        assert result["added"]["entities"] == len(others)

        stored = {
            r[0]: r[1:]
            for r in conn.execute(
                "SELECT id, type, name, external_ids, revoked, object FROM ctas.entities"
            )
        }
        assert stored.keys() == others.keys()
        for id_, o in others.items():
            type_, name, external_ids, revoked, obj = stored[id_]
            assert (type_, name, revoked, obj) == (
                o["type"],
                o.get("name"),
                o.get("revoked", False),
                o,
            ), id_
            assert external_ids == [
                r["external_id"] for r in o.get("external_references", []) if "external_id" in r
            ]
        # The questions an analyst asks by name and by ATT&CK id.
        assert conn.execute(
            "SELECT type, name FROM ctas.entities WHERE external_ids @> '{T1059.001}'"
        ).fetchall() == [("attack-pattern", "PowerShell")]
        counts = dict(
            conn.execute("SELECT type, count(*) FROM ctas.entities GROUP BY type").fetchall()
        )
        for t in (
            "intrusion-set",
            "malware",
            "tool",
            "attack-pattern",
            "campaign",
            "course-of-action",
        ):
            assert counts[t] == want_types[t], t
        dangling = conn.execute(
            "SELECT count(*) FROM ctas.relationships r WHERE NOT EXISTS (SELECT 1 FROM ctas.entities e WHERE e.id = r.source_ref)"
            " OR NOT EXISTS (SELECT 1 FROM ctas.entities e WHERE e.id = r.target_ref)"
        ).fetchone()[0]
        assert dangling == 0
        uses = conn.execute(
            "SELECT count(*) FROM ctas.relationships r JOIN ctas.entities s ON s.id = r.source_ref"
            " JOIN ctas.entities t ON t.id = r.target_ref"
            " WHERE s.type = 'intrusion-set' AND r.relationship_type = 'uses' AND t.type = 'attack-pattern'"
        ).fetchone()[0]
        assert uses == sum(
            1
            for r in rels
            if r["relationship_type"] == "uses"
            and r["source_ref"].startswith("intrusion-set--")
            and r["target_ref"].startswith("attack-pattern--")
        )

        # ESET's events name ATT&CK techniques by galaxy cluster; a cluster carries the
        # ATT&CK object's uuid, so it ties the report to ATT&CK's own entity, which the
        # cluster (undated) does not replace.
        clusters = set()
        for f in sorted((DATA / "misp" / "eset").glob("*.json")):
            export = json.loads(f.read_text())
            conn.execute("SELECT ctas_ingest_misp(%s::jsonb)", (json.dumps(export),))
            for e in (
                [x["Event"] for x in export["response"]]
                if "response" in export
                else [export["Event"]]
            ):
                for g in e.get("Galaxy", []):
                    if g["type"] == "mitre-attack-pattern":
                        clusters.update(
                            (f"report--{e['uuid']}", f"attack-pattern--{c['uuid']}")
                            for c in g["GalaxyCluster"]
                        )
        assert len(clusters) > 10
        tied = set(
            conn.execute(
                "SELECT r.source_ref, e.id FROM ctas.relationships r JOIN ctas.entities e ON e.id = r.target_ref"
                " WHERE r.relationship_type = 'object_refs' AND e.modified IS NOT NULL AND r.source_ref LIKE 'report--%%'"
            ).fetchall()
        )
        assert clusters <= tied
        assert ingest(conn, bundle)["added"] == {
            "reports": 0,
            "indicators": 0,
            "sightings": 0,
            "relationships": 0,
            "entities": 0,
        }
