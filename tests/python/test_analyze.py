"""ctas_analyze through SQL, on the real extension."""

# ruff: noqa: E501  (SQL reads better unbroken)

import json
import re

import psycopg
import pytest

from conftest import explain, parallel_plans

REPORT = {
    "text": "Cobalt Strike beacon to hxxps://evil[.]com/a from 10.9.8.7, see CVE-2024-3400",
    "lat": 48.8584,
    "lng": 2.2945,
    "observed_at": "2026-10-25T00:00:00Z",
    "source": {"name": "CERT-X", "reliability": "A", "credibility": "1"},
    "tags": ["tlp:amber"],
}


def analyze(conn, report, *args):
    placeholders = "".join(", %s" for _ in args)
    return conn.execute(
        f"SELECT ctas_analyze(%s::jsonb{placeholders})", (json.dumps(report), *args)
    ).fetchone()[0]


def test_everything_about_a_report(conn):
    conn.execute("DELETE FROM ctas_pattern_sets WHERE name = 'test-analyze'")
    conn.execute("INSERT INTO ctas_pattern_sets (name) VALUES ('test-analyze')")
    conn.execute(
        "INSERT INTO ctas_patterns (set_name, pattern_id, regex, severity) VALUES ('test-analyze', 'cs', '(?i)cobalt strike', 'critical')"
    )
    conn.execute(
        """SELECT ctas_warninglist_load('{"name": "test-analyze: private", "type": "cidr", "list": ["10.0.0.0/8"]}')"""
    )
    try:
        a = analyze(conn, REPORT, "test-analyze", 9, "ctas:admiralty", "2026-11-01")
    finally:
        conn.execute("DELETE FROM ctas_pattern_sets WHERE name = 'test-analyze'")
        conn.execute("DELETE FROM ctas_warninglists WHERE name = 'test-analyze: private'")
    assert [(i["kind"], i["value"]) for i in a["iocs"]] == [
        ("url", "https://evil.com/a"),
        ("domain", "evil.com"),
        ("ipv4", "10.9.8.7"),
        ("cve", "CVE-2024-3400"),
    ]
    ip = a["iocs"][2]
    # Other tests' lists may hold 10.9.8.7 too (the docs load an RFC 1918 list).
    assert "test-analyze: private" in ip["warninglists"]
    # Positions as ctas_extract_iocs and ctas_match give them: 1-based characters, end
    # exclusive; Python counts characters 0-based.
    assert REPORT["text"][ip["start_pos"] - 1 : ip["end_pos"] - 1] == ip["raw"]
    assert a["matches"][0]["pattern_id"] == "cs" and a["severity"] == "critical"
    expected_cell = conn.execute("SELECT to_hex(ctas_h3_cell(48.8584, 2.2945, 9))").fetchone()[0]
    assert a["h3_cell"] == expected_cell and a["h3_resolution"] == 9
    # The score is ctas_score's for the same evidence.
    evidence = {
        "kind": "report",
        "first_seen": REPORT["observed_at"],
        "last_seen": REPORT["observed_at"],
        "sources": [{**REPORT["source"], "tags": REPORT["tags"]}],
    }
    score = conn.execute(
        "SELECT ctas_score(%s::jsonb, 'ctas:admiralty', '2026-11-01')", (json.dumps(evidence),)
    ).fetchone()[0]
    assert a["score"] == score
    assert a["confidence"] == 90


def test_positions_are_those_of_the_other_functions_in_any_script(conn):
    # Cyrillic (2 bytes a character), CJK (3) and an emoji (4) before each find: byte
    # offsets would differ from characters by hundreds. The oracle is Python's own
    # indexing of the text (0-based characters), and the other SQL functions must agree.
    text = (
        "Отчёт 🛑 Кобальт: 恶意 C2 hxxp://bad-cdn[.]example/x.js, "
        "затем 198.51.100.23 — Cobalt Strike снова 🛑 Cobalt Strike"
    )
    conn.execute("DELETE FROM ctas_pattern_sets WHERE name = 'test-positions'")
    conn.execute("INSERT INTO ctas_pattern_sets (name) VALUES ('test-positions')")
    conn.execute(
        "INSERT INTO ctas_patterns (set_name, pattern_id, regex) VALUES ('test-positions', 'cs', 'Cobalt Strike')"
    )
    try:
        a = analyze(conn, {"text": text}, "test-positions")
        iocs = conn.execute(
            "SELECT raw, start_pos, end_pos FROM ctas_extract_iocs(%s)", (text,)
        ).fetchall()
        matches = conn.execute(
            "SELECT matched, start_pos, end_pos FROM ctas_match(%s, 'test-positions')", (text,)
        ).fetchall()
    finally:
        conn.execute("DELETE FROM ctas_pattern_sets WHERE name = 'test-positions'")
    assert [(i["raw"], i["start_pos"], i["end_pos"]) for i in a["iocs"]] == iocs
    assert [(m["matched"], m["start_pos"], m["end_pos"]) for m in a["matches"]] == matches
    starts = [m.start() + 1 for m in re.finditer("Cobalt Strike", text)]
    assert [m["start_pos"] for m in a["matches"]] == starts
    assert len(a["iocs"]) >= 2
    for found in a["iocs"] + a["matches"]:
        raw = found.get("raw", found.get("matched"))
        assert text[found["start_pos"] - 1 : found["end_pos"] - 1] == raw
    assert text.index("198.51.100.23") + 1 in [i["start_pos"] for i in a["iocs"]]


def test_null_and_bad_reports(conn):
    assert conn.execute("SELECT ctas_analyze(NULL)").fetchone()[0] is None
    with pytest.raises(psycopg.errors.InvalidTextRepresentation, match="unknown field `colour`"):
        analyze(conn, {"text": "x", "colour": "red"})
    with pytest.raises(
        psycopg.errors.InvalidParameterValue, match="`lat` and `lng` must be given together"
    ):
        analyze(conn, {"text": "x", "lng": 1.0})
    with pytest.raises(psycopg.errors.InvalidParameterValue, match="lat"):
        analyze(conn, {"text": "x", "lat": 91.0, "lng": 0.0})
    with pytest.raises(psycopg.errors.UndefinedObject, match='pattern set "nope" does not exist'):
        analyze(conn, {"text": "x"}, "nope")
    with pytest.raises(psycopg.errors.UndefinedObject):
        analyze(conn, {"text": "x"}, None, 7, "no-such-model")


def test_parallel_workers_give_the_serial_answer(conn):
    """ctas_analyze and ctas_score read their models through SPI in every worker: it must
    be the read-only kind, which a parallel worker may run."""
    conn.execute("DROP TABLE IF EXISTS analyze_par")
    conn.execute(
        "CREATE TABLE analyze_par AS SELECT i, format('Beacon %s to 192.0.2.%s', i, i % 250) AS body FROM generate_series(1, 3000) i"
    )
    query = """SELECT sum((ctas_analyze(jsonb_build_object('text', body, 'observed_at', '2026-11-01T00:00:00Z'),
                                         NULL, 7, 'ctas:admiralty', '2026-11-02')->'score'->>'score')::float8),
                      sum((ctas_score(jsonb_build_object('kind', 'ipv4', 'last_seen', '2026-11-01T00:00:00Z'),
                                      'ctas:admiralty', '2026-11-02')->>'score')::float8)
               FROM analyze_par"""
    serial = conn.execute(query).fetchone()
    with parallel_plans(conn):
        plan = explain(conn, query)
        assert "Parallel Seq Scan" in plan, plan
        assert conn.execute(query).fetchone() == pytest.approx(serial)
    conn.execute("DROP TABLE analyze_par")


def test_the_default_pattern_set_is_a_setting(conn):
    conn.execute("DELETE FROM ctas_pattern_sets WHERE name = 'test-default'")
    conn.execute("INSERT INTO ctas_pattern_sets (name) VALUES ('test-default')")
    conn.execute(
        "INSERT INTO ctas_patterns (set_name, pattern_id, regex) VALUES ('test-default', 'p', 'needle')"
    )
    try:
        assert analyze(conn, {"text": "a needle"})["matches"] == []
        conn.execute("SET ctas.default_pattern_set = 'test-default'")
        assert [m["pattern_id"] for m in analyze(conn, {"text": "a needle"})["matches"]] == ["p"]
        # An explicit set wins over the setting.
        conn.execute("INSERT INTO ctas_pattern_sets (name) VALUES ('test-default-2')")
        assert analyze(conn, {"text": "a needle"}, "test-default-2")["matches"] == []
        conn.execute("SET ctas.default_pattern_set = 'no-such-set'")
        with pytest.raises(psycopg.errors.UndefinedObject, match='pattern set "no-such-set"'):
            analyze(conn, {"text": "x"})
    finally:
        conn.execute("RESET ctas.default_pattern_set")
        conn.execute("DELETE FROM ctas_pattern_sets WHERE name LIKE 'test-default%'")
