"""ctas_ingest_misp on the 23 real ESET MISP events of the shared data, in a database of
its own (their 2018-2020 reports would otherwise show in the docs' examples)."""

# ruff: noqa: E501  (SQL reads better unbroken)

import json

import psycopg
import pytest

from conftest import SHARED_DATA, history_database

DATA = SHARED_DATA

# MISP types whose values CTAS stores as written but in lower case, with their kind.
SIMPLE = {
    "md5": "md5",
    "sha1": "sha1",
    "sha256": "sha256",
    "domain": "domain",
    "ip-dst": "ipv4",
    "ip-src": "ipv4",
}


@pytest.fixture
def mispdb():
    with history_database("ctas_misp_test") as conn:
        yield conn


def exports():
    files = sorted((DATA / "misp" / "eset").glob("*.json"))
    assert len(files) == 23, f"the ESET MISP events are missing from {DATA / 'misp' / 'eset'}"
    return [json.loads(f.read_text()) for f in files]


def events_of(export):
    if "response" in export:
        return [e["Event"] for e in export["response"]]
    return [export["Event"]]


def attributes(event):
    yield from event.get("Attribute", [])
    for o in event.get("Object", []):
        yield from o.get("Attribute", [])


def ingest(conn, export):
    return conn.execute("SELECT ctas_ingest_misp(%s::jsonb)", (json.dumps(export),)).fetchone()[0]


def test_eset_events_land_in_the_history_once(mispdb):
    all_exports = exports()
    results = [ingest(mispdb, e) for e in all_exports]
    events = [ev for e in all_exports for ev in events_of(e)]
    assert sum(r["events"] for r in results) == len(events)
    assert sum(r["added"]["reports"] for r in results) == len(events) == 23

    # Each event is a report with its organisation, tags and uuid; every hash, domain
    # and address attribute (composites split) is an indicator sighted in it.
    for ev in events:
        rid = f"report--{ev['uuid']}"
        row = mispdb.execute(
            "SELECT title, source, tags, misp_uuid::text FROM ctas.reports WHERE id = %s", (rid,)
        ).fetchone()
        assert row == (
            ev["info"],
            ev["Orgc"]["name"],
            [t["name"] for t in ev.get("Tag", [])],
            ev["uuid"],
        )
        expected = set()
        for a in attributes(ev):
            for t, v in zip(a["type"].split("|"), a["value"].split("|"), strict=False):
                t = "ip-dst" if t == "ip" else t
                if t in SIMPLE:
                    expected.add((SIMPLE[t], v.strip().lower()))
        sighted = set(
            mispdb.execute(
                "SELECT i.kind, i.value FROM ctas.sightings s JOIN ctas.indicators i ON i.id = s.indicator_id WHERE s.report_id = %s",
                (rid,),
            ).fetchall()
        )
        assert expected <= sighted, (rid, expected - sighted)

    # Ports are no indicators, and said so; nothing else was left out.
    skipped = {}
    for r in results:
        for k, v in r["skipped"].items():
            skipped[k] = skipped.get(k, 0) + v
    ports = sum(
        1 for ev in events for a in attributes(ev) for t in a["type"].split("|") if t == "port"
    )
    assert skipped == {"port": ports}

    # Again: nothing new, nothing doubled.
    counts = "SELECT (SELECT count(*) FROM ctas.reports), (SELECT count(*) FROM ctas.indicators), (SELECT count(*) FROM ctas.sightings)"
    before = mispdb.execute(counts).fetchone()
    again = [ingest(mispdb, e)["added"] for e in all_exports]
    assert mispdb.execute(counts).fetchone() == before
    assert all(
        a == {"reports": 0, "indicators": 0, "sightings": 0, "relationships": 0, "entities": 0}
        for a in again
    )


def test_every_export_shape_and_bad_input(mispdb):
    event = {
        "uuid": "6b1f3c2e-5a47-4c1e-9a0e-00000000e001",
        "info": "Shape test",
        "date": "2031-02-03",
        "Attribute": [
            {"type": "ip-dst", "value": "198.51.100.99"},
            {"type": "ip-dst", "value": "not an address"},
        ],
    }
    for shape in ({"Event": event}, {"response": [{"Event": event}]}, [{"Event": event}], event):
        r = ingest(mispdb, shape)
        assert r["events"] == 1 and r["skipped"] == {"ip-dst (read as nothing)": 1}
    assert mispdb.execute("SELECT count(*) FROM ctas.reports").fetchone()[0] == 1
    with pytest.raises(
        psycopg.errors.InvalidParameterValue, match="^ctas_ingest_misp: expected an event export"
    ):
        ingest(mispdb, {"type": "bundle"})
    with pytest.raises(
        psycopg.errors.InvalidParameterValue,
        match=r"^ctas_ingest_misp: response\[0\].Event.uuid: missing$",
    ):
        ingest(mispdb, {"response": [{"Event": {"id": "42", "info": "no uuid"}}, {"Event": event}]})
    with pytest.raises(
        psycopg.errors.InvalidParameterValue,
        match="^ctas_ingest_misp: Event.uuid: 12 is not a UUID$",
    ):
        ingest(mispdb, {"Event": {"id": "7", "uuid": "12", "info": "bad uuid"}})
    with pytest.raises(
        psycopg.errors.InvalidParameterValue,
        match=r"^ctas_ingest_misp: Event.date: 20/10/2026 is not a date \(expected YYYY-MM-DD\)$",
    ):
        ingest(mispdb, {"Event": {**event, "date": "20/10/2026"}})
    assert mispdb.execute("SELECT count(*) FROM ctas.reports").fetchone()[0] == 1
