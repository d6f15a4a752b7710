"""The cold tier's history through SQL: schema migrations, ingest, correlation and
batch retro-hunts, on the real extension."""

# ruff: noqa: E501  (SQL reads better unbroken)

import json

import psycopg
import pytest


@pytest.fixture
def history(conn):
    """The schema, and afterwards none of the reports these tests write (all dated 2031
    and later), since the docs' examples read the same database."""
    conn.execute("SELECT ctas_schema_upgrade()")
    yield conn
    conn.execute("DELETE FROM ctas.reports WHERE observed_at >= '2031-01-01'")
    conn.execute(
        "DELETE FROM ctas.indicators i WHERE NOT EXISTS (SELECT 1 FROM ctas.sightings s WHERE s.indicator_id = i.id)"
    )
    conn.execute("DELETE FROM ctas.retro_hunts WHERE from_time >= '2031-01-01'")


def ingest(conn, text, at, **extra):
    report = {"text": text, "observed_at": at, **extra}
    return conn.execute("SELECT ctas_ingest_report(%s::jsonb)", (json.dumps(report),)).fetchone()[0]


def test_migrations_apply_once(history):
    assert history.execute("SELECT count(*) FROM ctas_schema_upgrade()").fetchone()[0] == 0
    versions = [
        r[0] for r in history.execute("SELECT version FROM ctas.schema_migrations ORDER BY 1")
    ]
    assert versions[:2] == ["0001_threat_records", "0002_reports"]


def test_ingest_is_idempotent_and_moves_last_seen(history):
    text = "Test-history: beacon to 192.0.2.201 and bad-history.example.org"
    first = ingest(
        history, text, "2031-01-01T00:00:00Z", source={"name": "T-src", "reliability": "A"}
    )
    again = ingest(
        history, text, "2031-01-01T00:00:00Z", source={"name": "T-src", "reliability": "A"}
    )
    assert first == again
    assert (
        history.execute(
            "SELECT count(*) FROM ctas.sightings WHERE report_id = %s", (first,)
        ).fetchone()[0]
        == 2
    )
    ingest(history, "Test-history: 192.0.2.201 seen again", "2031-01-05T00:00:00Z")
    row = history.execute(
        "SELECT first_seen::date::text, last_seen::date::text, id = ctas_indicator_id('ipv4', '192.0.2.201') FROM ctas.indicators WHERE kind = 'ipv4' AND value = '192.0.2.201'"
    ).fetchone()
    assert row == ("2031-01-01", "2031-01-05", True)
    with pytest.raises(
        psycopg.errors.InvalidParameterValue, match="ctas_ingest_report: text: missing"
    ):
        history.execute("SELECT ctas_ingest_report('{}')")


def test_rare_shared_indicators_correlate_more(history):
    common = "198.18.0.77"
    for n in range(4):
        ingest(history, f"Test-corr {n}: noise from {common}", f"2032-01-0{n + 1}T00:00:00Z")
    a = ingest(history, f"Test-corr A: rare-corr.example.net and {common}", "2032-02-01T00:00:00Z")
    b = ingest(history, "Test-corr B: rare-corr.example.net only", "2032-02-02T00:00:00Z")
    rows = history.execute(
        "SELECT related_report, shared, weight FROM ctas_correlated_reports(%s)", (a,)
    ).fetchall()
    assert rows[0][0] == b, "the report sharing the rare indicator ranks first"
    assert rows[0][2] > max(w for r, _, w in rows[1:])


def test_a_retro_hunt_resumes_where_it_stopped(history):
    conn = history
    conn.execute("DELETE FROM ctas_pattern_sets WHERE name = 'test-retro'")
    conn.execute("INSERT INTO ctas_pattern_sets (name) VALUES ('test-retro')")
    conn.execute(
        "INSERT INTO ctas_patterns (set_name, pattern_id, regex) VALUES ('test-retro', 'loader', '(?i)loader-x')"
    )
    ids = sorted(
        ingest(
            conn,
            f"Test-retro {n}: {'LOADER-X' if n % 2 else 'nothing'}",
            f"2033-03-0{n + 1}T00:00:00Z",
        )
        for n in range(6)
    )
    # As if a first run was stopped after the first two reports.
    conn.execute(
        "INSERT INTO ctas.retro_hunts (pattern_set, from_time, to_time, last_report, reports) VALUES ('test-retro', '2033-03-01', '2033-04-01', %s, 2)",
        (ids[1],),
    )
    notices = []
    conn.add_notice_handler(lambda d: notices.append(d.message_primary))
    conn.execute("CALL ctas_retro_hunt('test-retro', '2033-03-01', '2033-04-01', 3)")
    run = conn.execute(
        "SELECT reports, finished_at IS NOT NULL FROM ctas.retro_hunts WHERE pattern_set = 'test-retro'"
    ).fetchall()
    assert run == [(6, True)]
    assert any("resuming after report" in n for n in notices), notices
    hits = conn.execute(
        "SELECT report_id FROM ctas.sightings WHERE pattern_set = 'test-retro' ORDER BY 1"
    ).fetchall()
    # Only reports after the resume point were read; of those, the odd ones match.
    expected = [
        i
        for i in ids[2:]
        if "LOADER-X"
        in conn.execute("SELECT body FROM ctas.reports WHERE id = %s", (i,)).fetchone()[0]
    ]
    assert [h[0] for h in hits] == expected
    with pytest.raises(psycopg.errors.InvalidParameterValue, match="batch_size must be between"):
        conn.execute("CALL ctas_retro_hunt('test-retro', '2033-03-01', '2033-04-01', 0)")
    with pytest.raises(psycopg.errors.UndefinedObject, match='pattern set "nope"'):
        conn.execute("CALL ctas_retro_hunt('nope', '2033-03-01', '2033-04-01')")
    conn.execute("DELETE FROM ctas_pattern_sets WHERE name = 'test-retro'")


def test_a_report_row_is_analysed_like_its_json(history):
    rid = ingest(
        history,
        "Test-row: beacon to 192.0.2.77",
        "2034-01-01T00:00:00Z",
        source={"name": "T-row", "reliability": "B", "credibility": "3"},
        lat=10.0,
        lng=20.0,
    )
    from_row, from_json = history.execute(
        """SELECT ctas_analyze_row(r, NULL, 7, 'ctas:admiralty', '2034-01-02'),
                  ctas_analyze('{"text": "Test-row: beacon to 192.0.2.77", "observed_at": "2034-01-01T00:00:00Z",
                                 "source": {"name": "T-row", "reliability": "B", "credibility": "3"}, "lat": 10.0, "lng": 20.0}',
                               NULL, 7, 'ctas:admiralty', '2034-01-02')
           FROM ctas.reports r WHERE r.id = %s""",
        (rid,),
    ).fetchone()
    assert from_row == from_json
    with pytest.raises(psycopg.errors.InvalidParameterValue, match="no body or text column"):
        history.execute("SELECT ctas_analyze_row(ROW(1, 2))")


def test_the_routers_flat_table_is_moved_into_the_history_and_dropped():
    """A database the earlier router wrote (migrations 0001-0003, rows in
    ctas.threat_records): the upgrade moves each record into the history as the router
    now writes it — a report (the record's id, or report-- and the UUID of an indicator
    id), the indicator it names, a sighting — and drops the table."""
    import uuid
    from pathlib import Path

    from conftest import history_database

    stix_ns = uuid.UUID("00abedb4-aa42-466c-9c01-fed23315a9b7")
    schema = Path(__file__).resolve().parents[2] / "sql" / "schema"
    with history_database("ctas_retire_test") as conn:
        conn.execute("DROP SCHEMA ctas CASCADE")
        conn.execute("SET TimeZone = 'UTC'")
        conn.execute(
            "CREATE SCHEMA ctas; CREATE TABLE ctas.schema_migrations (version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        for version in ("0001_threat_records", "0002_reports", "0003_threat_records_long_values"):
            conn.execute((schema / f"{version}.sql").read_text())
            conn.execute("INSERT INTO ctas.schema_migrations (version) VALUES (%s)", (version,))
        default_id = f"indicator--{uuid.uuid5(stix_ns, 'domain:old-c2.example.net')}"
        conn.execute(
            "INSERT INTO ctas.threat_records (id, kind, value, source, observed_at, lat, lng, h3_cell, tags, description) VALUES"
            " (%s, 'domain', 'old-c2.example.net', 'old-router', '2026-01-02T03:04:05Z', 52.52, 13.405, %s, '{tlp:clear}', NULL),"
            " ('sensor-7-0001', 'ipv4', '198.51.100.77', NULL, '2026-01-03T00:00:00Z', NULL, NULL, NULL, '{}', 'scan from 198.51.100.77')",
            (default_id, int("871f1d489ffffff", 16)),
        )
        applied = [r[0] for r in conn.execute("SELECT * FROM ctas_schema_upgrade()")]
        assert applied == ["0004_entities", "0005_threat_records_retired"]
        assert conn.execute("SELECT to_regclass('ctas.threat_records')").fetchone()[0] is None
        rows = conn.execute(
            "SELECT r.id, r.source, r.observed_at::text, r.h3_cell, r.tags, i.id, i.kind, i.value"
            " FROM ctas.reports r JOIN ctas.sightings s ON s.report_id = r.id"
            " JOIN ctas.indicators i ON i.id = s.indicator_id ORDER BY r.id"
        ).fetchall()
        assert rows == [
            (
                "report--" + default_id.removeprefix("indicator--"),
                "old-router",
                "2026-01-02 03:04:05+00",
                int("871f1d489ffffff", 16),
                ["tlp:clear"],
                default_id,
                "domain",
                "old-c2.example.net",
            ),
            (
                "sensor-7-0001",
                None,
                "2026-01-03 00:00:00+00",
                None,
                [],
                f"indicator--{uuid.uuid5(stix_ns, 'ipv4:198.51.100.77')}",
                "ipv4",
                "198.51.100.77",
            ),
        ]
        assert conn.execute("SELECT count(*) FROM ctas_schema_upgrade()").fetchone()[0] == 0
