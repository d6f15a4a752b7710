"""The Python clients against a real ctas-router (sled, SurrealDB, PostgreSQL, Neo4j), and
the plan's ThreatIntelligenceProcessor and CTASBridge: ids checked against Python's uuid5
(STIX 2.1's namespace), scores against the reference, routing against the plan's rule."""

import asyncio
import datetime as dt
import json
import os
import urllib.request
import uuid
from pathlib import Path

import h3
import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo

import ctas
from conftest import SHARED_DATA, fresh_database, serve_router
from ctas.bridge import CTASBridge
from ctas.processor import ThreatIntelligenceProcessor
from ctas.router import Router, RouterError, RouterUnavailable

STIX_NS = uuid.UUID("00abedb4-aa42-466c-9c01-fed23315a9b7")
DATABASE = "ctas_pyclients"
READ = "pytest-read-token-0123456789"
WRITE = "pytest-write-token-0123456789"


@pytest.fixture(scope="module")
def router(tmp_path_factory):
    dsn = fresh_database(DATABASE)
    data = tmp_path_factory.mktemp("router")
    env = {**os.environ, "CTAS_PG_DSN": dsn, "CTAS_READ_TOKENS": READ, "CTAS_WRITE_TOKENS": WRITE}
    proc, client, log = serve_router(data, env, WRITE)
    yield client
    proc.terminate()
    assert proc.wait(30) == 0, (data / "router.log").read_text()
    log.close()


def test_ingest_then_lookup_by_any_spelling(router):
    bundle = SHARED_DATA / "stix" / "unit42" / "2024-02-08-Pikabot.json"
    accepted = router.ingest(bundle)
    assert accepted["format"] == "stix" and accepted["accepted"]["indicators"] > 0
    records = router.ingest(
        [
            {"kind": "domain", "value": "Clients-Test[.]top", "source": "pytest"},
            {"kind": "ipv4", "value": "198.51.100.77", "source": "pytest"},
        ]
    )
    want = f"indicator--{uuid.uuid5(STIX_NS, 'domain:clients-test.top')}"
    assert want in records["ids"]
    found = router.lookup("CLIENTS-TEST[.]top")
    assert found is not None and found["value"] == "clients-test.top"
    assert "behaviour" not in found
    # This router's database has no extension to judge behaviour with: the lookup still
    # answers, and says so.
    judged = router.lookup("clients-test.top", behaviour=True)
    assert "CREATE EXTENSION ctas" in judged["behaviour"]["error"], judged
    assert router.lookup("never-seen.top") is None
    many = router.lookup_many(["198.51.100[.]77", "never-seen.top"])
    assert [m["found"] for m in many] == [True, False]
    assert many[0]["indicator"]["value"] == "198.51.100.77"
    status = router.wait_synced(120)
    assert status["synced"] and status["tiers"]["hot"]["records"] > 0


def test_a_reports_neighbors_are_what_it_refers_to(router):
    bundle = SHARED_DATA / "stix" / "unit42" / "2024-02-21-AsyncRAT.json"
    report = next(o for o in json.loads(bundle.read_text())["objects"] if o["type"] == "report")
    router.ingest(bundle)
    router.wait_synced(120)
    near = router.neighbors(report["id"], types=["refers_to"], page=7)
    # The objects the report names (STIX object_refs), each once, by its STIX id.
    assert len(near) == len(report["object_refs"]) > 7
    assert {n["id"] for n in near} == set(report["object_refs"])
    assert {n["distance"] for n in near} == {1}
    assert all(n["via"]["edge"] == "REFERS_TO" for n in near)
    assert all(n["via"]["from"] == report["id"] and n["via"]["direction"] == "out" for n in near)
    with pytest.raises(RouterError) as e:
        router.neighbors("report--00000000-0000-4000-8000-000000000000")
    assert e.value.status == 404


def test_reports_by_area_and_time_are_what_h3_and_the_box_say(router):
    # Points about Lisbon at distinct minutes of one day; the oracle is the h3 package
    # (the H3 C library): a record is in a coarse cell when its resolution-7 cell's
    # parent is that cell, as h3-pg's h3_cell_to_parent says.
    tag = uuid.uuid4().hex[:8]
    day = dt.datetime(2025, 3, 14, tzinfo=dt.UTC)
    sent = []
    for i in range(120):
        lat, lng = 38.6 + (i * 37 % 100) / 500, -9.3 + (i * 53 % 100) / 400
        at = day + dt.timedelta(minutes=7 * i)
        sent.append((f"{tag}-{i}.example.org", lat, lng, at))
    router.ingest(
        [
            {"kind": "domain", "value": v, "lat": lat, "lng": lng, "observed_at": at.isoformat()}
            for v, lat, lng, at in sent
        ]
    )
    router.wait_synced(120)

    def named(reports):
        return [r["indicators"][0]["value"] for r in reports]

    def newest_first(keep):
        ordered = sorted(sent, key=lambda s: s[3], reverse=True)
        return [v for v, lat, lng, at in ordered if keep(lat, lng, at)]

    window = {"since": day, "until": day + dt.timedelta(days=1)}
    box = (-9.2, 38.65, -9.1, 38.75)

    def in_box(lat, lng, at):
        return box[1] <= lat <= box[3] and box[0] <= lng <= box[2]

    assert named(router.reports(bbox=box, page=9, **window)) == newest_first(in_box)
    cell = h3.cell_to_parent(h3.latlng_to_cell(sent[5][1], sent[5][2], 7), 6)

    def in_cell(lat, lng, at):
        return h3.cell_to_parent(h3.latlng_to_cell(lat, lng, 7), 6) == cell

    want = newest_first(in_cell)
    assert want and named(router.reports(h3=cell, **window)) == want
    assert named(router.reports(h3=h3.str_to_int(cell), **window)) == want
    morning = {"since": day, "until": day + dt.timedelta(hours=6)}

    def in_morning(lat, lng, at):
        return at < morning["until"]

    assert named(router.reports(**morning)) == newest_first(in_morning)
    with pytest.raises(RouterError) as e:
        router.reports(h3=h3.latlng_to_cell(38.7, -9.1, 9))
    assert e.value.status == 422 and "resolution 9" in e.value.detail


def test_reports_and_lookups_with_the_cold_tier_down_are_refused_unless_partial(tmp_path):
    # A router whose cold tier is nowhere: its reports would be the warm tier's alone.
    env = {k: v for k, v in os.environ.items() if not k.startswith("CTAS_")}
    env["CTAS_PG_DSN"] = "host=127.0.0.1 port=9 dbname=ctas connect_timeout=1"
    proc, client, log = serve_router(tmp_path, env, "")
    try:
        value = f"{uuid.uuid4().hex[:8]}.example.org"
        client.ingest([{"kind": "domain", "value": value, "lat": 1.0, "lng": 2.0}])
        deadline = dt.datetime.now() + dt.timedelta(seconds=30)
        while client.status()["tiers"]["warm"]["pending"] and dt.datetime.now() < deadline:
            asyncio.run(asyncio.sleep(0.2))
        with pytest.raises(RouterError) as e:
            client.reports(bbox=(1.5, 0.5, 2.5, 1.5))
        assert e.value.status == 503 and "cold tier did not answer" in e.value.detail
        got = client.reports(bbox=(1.5, 0.5, 2.5, 1.5), partial=True)
        assert [r["indicators"][0]["value"] for r in got] == [value]
        # A value the hot tier does not know may be in the cold tier: not "unknown".
        assert client.lookup(value)["tier"] == "hot"
        with pytest.raises(RouterError) as e:
            client.lookup("never-seen.example.org")
        assert e.value.status == 503 and "cold tier" in e.value.detail
        with pytest.raises(RouterError) as e:
            client.lookup_many([value, "never-seen.example.org"])
        assert e.value.status == 503 and "partial=True" in e.value.detail
        known, silent = client.lookup_many([value, "never-seen.example.org"], partial=True)
        assert known["found"] and not silent["found"]
        assert "cannot be said" in silent["reason"]
    finally:
        proc.terminate()
        proc.wait(30)
        log.close()


def test_the_routers_openapi_document_is_valid_openapi_3_1(router):
    from openapi_spec_validator import validate

    served = json.loads(urllib.request.urlopen(router.url + "/v1/openapi.json").read())
    validate(served)
    shipped = Path(__file__).parents[2] / "ctas_router" / "openapi.json"
    assert served == json.loads(shipped.read_text())
    assert served["info"]["version"] == ctas.__version__


def test_analyze_through_the_router_is_the_packages(router):
    report = {
        "text": "Beacon to hxxp://cdn-update[.]top/a from 198.51.100.23",
        "lat": 50.45,
        "lng": 30.52,
        "observed_at": "2026-11-01T08:00:00Z",
        "source": {"name": "cert-ua", "reliability": "B", "credibility": "2"},
    }
    at = dt.datetime(2026, 11, 15, tzinfo=dt.UTC)
    assert router.analyze(report, at=at) == ctas.analyze(report, at=at)


def test_refusals_are_router_errors_with_the_problem(router):
    with pytest.raises(RouterError) as e:
        router.ingest([{"kind": "domain", "value": "a\u0000b.example"}])
    assert e.value.status == 422 and "0" in e.value.detail
    with pytest.raises(RouterError) as e:
        router.lookup_many(["x"] * 10_001)
    assert e.value.status == 413
    with pytest.raises(RouterUnavailable, match="no ctas-router answers at http://127.0.0.1:9"):
        Router("http://127.0.0.1:9").status()


FEED = [
    {
        "text": "Loader beacons to hxxp://cdn-update[.]top/a and 198.51.100.23",
        "lat": 50.45,
        "lng": 30.52,
        "observed_at": "2026-11-01T08:00:00Z",
        "source": {"name": "cert-ua", "reliability": "B", "credibility": "2"},
    },
    {
        "text": "Second wave: 198.51.100[.]23 again, and evil.example.net",
        "lat": 50.46,
        "lng": 30.53,
        "observed_at": "2026-11-01T09:30:00Z",
        "source": {"name": "vendor", "confidence": 60},
    },
    {"text": "Phishing from evil.example.net", "observed_at": "2026-11-01T11:00:00Z"},
]


def test_the_plans_processor_example_runs_as_written():
    from ctas_core import ThreatIntelligenceProcessor as FromThePlan

    threat_data = FEED
    result = asyncio.run(FromThePlan().process_threat_feed(threat_data))
    assert set(result) >= {"patterns", "correlations", "geospatial", "behavioral", "confidence"}
    assert [(c["value"], c["reports"]) for c in result["correlations"]] == [
        ("evil.example.net", [1, 2]),
        ("198.51.100.23", [0, 1]),
    ]
    assert result["confidence"] == pytest.approx((70 + 60) / 2)
    cells = {ctas.latlng_to_cell(50.45, 30.52, 7), ctas.latlng_to_cell(50.46, 30.53, 7)}
    assert {int(c, 16) for c in result["geospatial"]["cells"]} == cells
    assert result["behavioral"]["hours"] == 4


def test_the_processor_flags_a_burst_and_a_hotspot():
    t0 = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    feed = [
        {"text": f"seen {i}", "observed_at": (t0 + dt.timedelta(hours=h)).isoformat()}
        for h in range(120)
        for i in range(2)
    ]
    # Five days of hours: the seasonal detector judges an hour once three days precede it.
    feed += [{"text": "burst", "observed_at": (t0 + dt.timedelta(hours=110)).isoformat()}] * 30
    result = ThreatIntelligenceProcessor().analyse(feed)
    assert [a["hour"] for a in result["behavioral"]["anomalies"]] == [
        (t0 + dt.timedelta(hours=110)).isoformat()
    ]
    centre = ctas.latlng_to_cell(48.85, 2.35, 7)
    ring = ctas.grid_disk(centre, 3)
    places = [ctas.cell_to_latlng(c) for c in ring]
    spots = [{"text": "x", "lat": lat, "lng": lng} for lat, lng in places]
    spots += [{"text": "y", "lat": lat, "lng": lng} for lat, lng in places[:7] for _ in range(6)]
    hot = ThreatIntelligenceProcessor().analyse(spots)["geospatial"]["hotspots"]
    assert {int(h["cell"], 16) for h in hot} <= set(ring[:7]) and hot


@pytest.mark.parametrize(
    ("envelope", "path"),
    [
        ({"priority": "critical"}, "hot"),
        ({"latency_requirement": "real_time"}, "hot"),
        ({"data_type": "threat_feed"}, "hot"),
        ({"data_type": "live_intelligence"}, "hot"),
        ({"priority": "low", "data_type": "report"}, "warm"),
    ],
)
def test_the_bridge_routes_as_the_plan_says(envelope, path):
    recent = [dict(FEED[0], observed_at=dt.datetime.now(dt.UTC).isoformat())]
    out = asyncio.run(CTASBridge(router=None).process_intelligence({**envelope, "payload": recent}))
    assert out["path"] == path and out["ingested"] is None
    assert out["analysis"]["reports"] == 1


def test_old_reports_go_cold_and_a_bad_envelope_is_named():
    old = [dict(r, observed_at="2025-06-01T00:00:00Z") for r in FEED]
    out = asyncio.run(
        CTASBridge(router=None).process_intelligence({"priority": "low", "payload": old})
    )
    assert out["path"] == "cold"
    with pytest.raises(ValueError, match="payload"):
        asyncio.run(CTASBridge(router=None).process_intelligence({"priority": "low"}))


def test_tokens_go_with_every_call_and_a_missing_scope_is_a_router_error(router, monkeypatch):
    reader = Router(router.url, token=READ)
    assert reader.lookup("never-seen-by-tokens.top") is None
    with pytest.raises(RouterError) as e:
        reader.ingest([{"kind": "domain", "value": "tokens.example"}])
    assert e.value.status == 403 and "write token" in e.value.detail
    monkeypatch.delenv("CTAS_TOKEN", raising=False)
    with pytest.raises(RouterError) as e:
        Router(router.url).status()
    assert e.value.status == 401
    # CTAS_TOKEN is the default, and no repr shows a token.
    monkeypatch.setenv("CTAS_TOKEN", READ)
    assert Router(router.url).status()["tiers"]["hot"]["records"] >= 0
    assert READ not in repr(Router(router.url)) and "token=<set>" in repr(Router(router.url))
    # Readiness asks for no token.
    ready = Router(router.url, token="").ready()
    assert ready["ready"] is True and ready["tiers"]["cold"]["up"] is True


def test_the_bridge_ingests_through_the_router(router, monkeypatch):
    monkeypatch.setenv("CTAS_TOKEN", WRITE)
    bridge = CTASBridge(router=router.url)
    out = asyncio.run(bridge.process_intelligence({"data_type": "threat_feed", "payload": FEED}))
    assert out["path"] == "hot" and out["ingested"]["accepted"] == len(FEED)
    # This router has no routing rules: every object to every tier.
    n = len(FEED)
    assert out["ingested"]["routed"] == {"warm": n, "cold": n, "graph": n}
    # The envelope's priority, latency and data type go to the router's rules, which
    # refuse what they do not know before storing anything.
    envelope = {"priority": "urgent", "latency_requirement": "real_time", "payload": FEED}
    with pytest.raises(RouterError) as e:
        asyncio.run(bridge.process_intelligence(envelope))
    assert e.value.status == 422 and "priority must be one of critical" in e.value.detail
    router.wait_synced(120)
    assert router.lookup("evil.example.net") is not None
    # The plan's default: the router CTAS_URL names.
    os.environ["CTAS_URL"], before = router.url, os.environ.get("CTAS_URL")
    try:
        assert CTASBridge().router.url == router.url
    finally:
        if before is None:
            del os.environ["CTAS_URL"]
        else:
            os.environ["CTAS_URL"] = before


def test_the_routers_analysis_of_a_report_record_matches_sql(router, conn):
    # A report record ingested gives the report the history holds.
    out = router.ingest([{"kind": "report", "value": "C2 at 203.0.113.200", "source": "pytest"}])
    assert out["accepted"] == 1
    router.wait_synced(120)
    with psycopg.connect(
        make_conninfo(**{**conninfo_to_dict(ctas.dsn()), "dbname": DATABASE})
    ) as c:
        n = c.execute(
            "SELECT count(*) FROM ctas.sightings s JOIN ctas.indicators i ON i.id = s.indicator_id "
            "WHERE i.value = '203.0.113.200'"
        ).fetchone()[0]
    assert n == 1


def test_the_sql_helpers_return_dataclasses_with_the_packages_answers(conn):
    from ctas import client

    text = "C2 at hxxps://update-check[.]top/gate.php and 198.51.100[.]23"
    rows = client.extract_iocs(conn, text)
    assert [(r.kind, r.value, r.start_pos - 1, r.end_pos - 1) for r in rows] == [
        (i.kind, i.value, i.start, i.end) for i in ctas.extract_iocs(text)
    ]
    cells = ctas.grid_disk(ctas.latlng_to_cell(48.85, 2.35, 8), 3)
    values = [float(i % 7) for i in range(len(cells))]
    spots = client.getis_ord(conn, cells, values, 2, "gaussian")
    mine = ctas.getis_ord(cells, values, 2, "gaussian")
    assert [s.cell for s in spots] == mine["cell"].tolist()
    assert [s.z_score for s in spots] == pytest.approx(mine["z_score"].tolist(), abs=1e-12)
    lats, lngs = [48.85, 48.8501, 48.8502, 49.5], [2.35, 2.3501, 2.3499, 2.0]
    assert client.dbscan(conn, [10, 11, 12, 13], lats, lngs, 50.0, 2) == {
        10: 0,
        11: 0,
        12: 0,
        13: None,
    }
    t0 = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    ts = [t0 + dt.timedelta(hours=h) for h in range(60)]
    vals = [float(3 + (h % 5)) for h in range(60)]
    vals[55] = 40.0
    judged = client.anomalies(conn, ts, vals)
    mine = ctas.anomalies(ts, vals)
    assert [j.is_anomaly for j in judged] == mine["is_anomaly"].tolist()
    assert judged[55].is_anomaly and judged[55].expected is not None
    assert client.anomalies(conn, ts, vals, only_anomalies=True) == [
        j for j in judged if j.is_anomaly
    ]
    evidence = {
        "kind": "ipv4",
        "sources": [{"confidence": 70}],
        "last_seen": "2026-11-01T00:00:00Z",
    }
    at = dt.datetime(2026, 11, 10, tzinfo=dt.UTC)
    assert client.score(conn, evidence, at=at) == ctas.score(evidence, at=at)
    report = {"text": text, "lat": 1.0, "lng": 2.0, "observed_at": "2026-11-01T00:00:00Z"}
    assert client.analyze(conn, report, at=at) == ctas.analyze(report, at=at)
    assert client.h3_cell(conn, 48.85, 2.35, 8) == ctas.latlng_to_cell(48.85, 2.35, 8)


def test_the_indicator_grid_and_scale_helpers_agree_with_independent_references(conn):
    import uuid

    import h3
    import stix2

    from ctas import client
    from ctas.reference import score as ref

    assert client.refang(conn, "hxxps://evil[.]example/a") == "https://evil.example/a"
    assert client.refang(conn, client.defang(conn, "see 198.51.100.7")) == "see 198.51.100.7"
    assert client.normalise(conn, "UPDATE-Check[.]top") == ("domain", "update-check.top")
    assert client.normalise(conn, "just words") is None
    kinds = {k.kind: k for k in client.ioc_kinds(conn)}
    assert "ip-dst" in kinds["ipv4"].misp_types and "domain" in kinds["domain"].misp_types
    # STIX 2.1 section 2.9: deterministic ids are UUIDv5 in this namespace.
    namespace = uuid.UUID("00abedb4-aa42-466c-9c01-fed23315a9b7")
    want = f"indicator--{uuid.uuid5(namespace, 'domain:evil.example')}"
    assert client.indicator_id(conn, "domain", "EVIL[.]example") == want
    assert (
        client.observable_id(conn, "domain", "evil.example")
        == stix2.DomainName(value="evil.example").id
    )
    assert client.observable_id(conn, "cve", "CVE-2024-3400") is None
    assert client.warninglist_hits(conn, "update-check.top") == []
    for scale in ref.SCALES:
        for value in (0, 37, 100):
            label = client.confidence_to(conn, scale, value)
            assert label == ref.confidence_to(scale, value)
            assert client.confidence_from(conn, scale, label) == ref.confidence_from(scale, label)
    models = {m.name: m for m in client.decay_models(conn)}
    assert models["opencti:ip-url"].reaction_points and "ctas:admiralty" in models
    cell = h3.str_to_int(h3.latlng_to_cell(48.85, 2.35, 7))
    assert client.cell_to_latlng(conn, cell) == pytest.approx(
        h3.cell_to_latlng(h3.int_to_str(cell)), abs=1e-12
    )
    assert client.cell_to_parent(conn, cell) == h3.str_to_int(
        h3.cell_to_parent(h3.int_to_str(cell), 6)
    )
    assert sorted(client.cell_to_children(conn, cell)) == sorted(
        h3.str_to_int(c) for c in h3.cell_to_children(h3.int_to_str(cell), 8)
    )
    assert sorted(client.grid_disk(conn, cell, 2)) == sorted(
        h3.str_to_int(c) for c in h3.grid_disk(h3.int_to_str(cell), 2)
    )
    ring = [[2.3, 48.8], [2.4, 48.8], [2.4, 48.9], [2.3, 48.9], [2.3, 48.8]]
    square = {"type": "Polygon", "coordinates": [ring]}
    assert sorted(client.polygon_to_cells(conn, square, 8)) == sorted(
        h3.str_to_int(c) for c in h3.geo_to_cells(square, 8)
    )
    boundary = client.cell_to_geojson(conn, cell)
    assert boundary["type"] == "Polygon" and len(boundary["coordinates"][0]) == 7


def test_the_history_helpers_rank_by_rarity(conn):
    from conftest import history_database
    from ctas import client

    with history_database("ctas_pyclients_history") as history:
        common = "198.18.0.77"
        for n in range(4):
            client.ingest_report(
                history,
                {"text": f"noise {n} from {common}", "observed_at": f"2032-01-0{n + 1}T00:00:00Z"},
            )
        a = client.ingest_report(
            history,
            {"text": f"rare-corr.example.net and {common}", "observed_at": "2032-02-01T00:00:00Z"},
        )
        b = client.ingest_report(
            history, {"text": "rare-corr.example.net only", "observed_at": "2032-02-02T00:00:00Z"}
        )
        tied = client.correlated_reports(history, a)
        assert tied[0].related_report == b and tied[0].shared_indicators
        assert tied[0].weight > max(t.weight for t in tied[1:])
        seen_with = client.related_indicators(history, "domain", "rare-corr.example.net")
        assert [(r.related_kind, r.related_value) for r in seen_with] == [("ipv4", common)]
        bundle = json.loads(
            (SHARED_DATA / "stix" / "unit42" / "2024-02-08-Pikabot.json").read_text()
        )
        assert client.ingest_stix(history, bundle)["added"]
    t0 = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    ts = [t0 + dt.timedelta(days=d) for d in range(30)]
    vals = [0.0] * 30
    vals[2], vals[20] = 3.0, 4.0
    got = [(e.ts, e.event) for e in client.events(conn, ts, vals, dormancy=7)]
    mine = [
        (t.astype("datetime64[us]").item().replace(tzinfo=dt.UTC), e)
        for t, e, _ in ctas.events(ts, vals, dormancy=7)
    ]
    assert got == mine and ("first_seen" in [e for _, e in got])


def test_the_database_workloads_run_against_a_router_and_its_database(router, monkeypatch):
    from ctas.bench import workloads

    dsn = make_conninfo(**{**conninfo_to_dict(ctas.dsn()), "dbname": DATABASE})
    monkeypatch.setenv("CTAS_URL", router.url)
    monkeypatch.setenv("CTAS_TOKEN", WRITE)
    monkeypatch.setenv("CTAS_PG_DSN", dsn)
    for run in (workloads.ingest, workloads.database):
        result = run(True)
        assert result.match, result.detail
        assert result.rust_s > 0 and result.python_s > 0
