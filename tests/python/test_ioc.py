"""IOC extraction, warninglists and pattern sets through SQL, on the real extension."""

# ruff: noqa: E501  (SQL and report text read better unbroken)

import json
import os
import re
from pathlib import Path

import psycopg
import pytest
from hypothesis import given
from hypothesis import strategies as st

import ctas
from conftest import explain, parallel_plans
from ctas import warninglists
from ctas.files import json_files

# scripts/env.sh finds the shared data (beside the checkout, or the workplace's copy).
DATA = Path(
    os.environ.get("CTAS_SHARED_DATA", Path(__file__).resolve().parents[3] / "shared" / "data")
)


def extract(conn, body):
    return ctas.client.extract_iocs(conn, body)


def kinds(conn, body, kind):
    return [r.value for r in extract(conn, body) if r.kind == kind]


def test_every_kind_is_listed(conn):
    rows = conn.execute("SELECT kind, misp_types FROM ctas_ioc_kinds()").fetchall()
    assert len(rows) == 26
    assert ("domain", ["domain", "hostname", "domain|ip", "hostname|port"]) in rows


def test_positions_give_back_the_raw_text(conn):
    body = "Ünïcödé prose → hxxps://évil.example[.]com/ä? no: hxxp://evil[.]com/ä, then 10.0.0[.]1 — ok"
    rows = extract(conn, body)
    assert {r.kind for r in rows} >= {"url", "domain", "ipv4"}
    for r in rows:
        got = conn.execute(
            "SELECT substr(%s, %s, %s)", (body, r.start_pos, r.end_pos - r.start_pos)
        ).fetchone()[0]
        assert got == r.raw, r


@given(
    st.lists(
        st.sampled_from(
            [
                "evil.com",
                "https://a.example.org/x.php?q=1",
                "10.1.2.3",
                "bob@mail.example.com",
                "é",
                " ",
                ".",
                "(",
                ")",
                "\n",
                "ü.",
                "word",
            ]
        ),
        max_size=12,
    )
)
def test_refang_gives_back_what_defang_wrote(conn, parts):
    text = "".join(parts)
    plain = conn.execute("SELECT ctas_refang(%s) = %s", (text, text)).fetchone()[0]
    if plain:
        assert conn.execute("SELECT ctas_refang(ctas_defang(%s))", (text,)).fetchone()[0] == text


@pytest.mark.parametrize(
    ("body", "kind", "not_found"),
    [
        ("upgrade to version 2.4.1.7", "ipv4", "2.4.1.7"),
        ("open archive.zip and clip.mov, run shell.sh", "domain", "archive.zip"),
        ("detected as Win32/Agent.ABC and MSIL/KillDisk.I", "domain", "agent.abc"),
        ("at 23:06:41 UTC", "ipv6", "23:6:41"),
        ("hash 1e9a8e1d43b4c3a76b5a8fb1f7a7b0d3", "bitcoin", "1e9a8e1d43b4c3a76b5a8fb1f7a7b0d3"),
        ("256.1.1.1", "ipv4", "56.1.1.1"),
    ],
)
def test_the_mistakes_of_other_extractors_are_not_made(conn, body, kind, not_found):
    assert not_found not in kinds(conn, body, kind)
    assert kinds(conn, body, kind) == []


def test_closing_punctuation_and_the_word_before(conn):
    assert kinds(conn, "(see https://example.com/report).", "url") == ["https://example.com/report"]
    assert kinds(conn, "Contact:john@example.com", "email") == ["john@example.com"]


def test_kind_of_a_single_value(conn):
    rows = conn.execute(
        "SELECT ctas_ioc_kind(v) FROM unnest(ARRAY['evil[.]com', 'CVE-2024-3400', 'T1059.001', 'words here', '']) v"
    ).fetchall()
    assert [r[0] for r in rows] == ["domain", "cve", "attack_technique", None, None]
    assert conn.execute("SELECT ctas_ioc_kind(NULL)").fetchone()[0] is None


@pytest.fixture
def misp_lists(conn):
    """All 136 MISP warninglists of the shared data, loaded by the Python loader and
    removed afterwards (the docs' examples share this database)."""
    files = sorted((DATA / "warninglists").glob("*.json"))
    assert len(files) == 136, f"the shared warninglists are missing from {DATA / 'warninglists'}"
    before = {r[0] for r in conn.execute("SELECT name FROM ctas_warninglists").fetchall()}
    with psycopg.connect(conn.info.dsn) as c:
        lists, entries = warninglists.load(c, files, progress=open("/dev/null", "w"))
    assert lists == 136 and entries > 500_000
    yield
    conn.execute("DELETE FROM ctas_warninglists WHERE NOT (name = ANY(%s))", (list(before),))


def test_real_warninglists_flag_known_benign_values(conn, misp_lists):
    rows = {
        r.value: r.warninglists
        for r in extract(
            conn,
            "8.8.8.8 10.1.2.3 google.com d41d8cd98f00b204e9800998ecf8427e 198.51.100.77 evil-c2.example.net",
        )
    }
    assert "List of known IPv4 public DNS resolvers" in rows["8.8.8.8"]
    assert "List of RFC 1918 CIDR blocks" in rows["10.1.2.3"]
    assert "List of known google domains" in rows["google.com"]
    assert "List of known hashes for empty files" in rows["d41d8cd98f00b204e9800998ecf8427e"]
    assert rows["evil-c2.example.net"] == []
    hits = conn.execute("SELECT ctas_warninglist_hits('hxxps://mail.google[.]com/x')").fetchone()[0]
    assert "List of known google domains" in hits
    # A change to the table is seen by the next statement of the same backend.
    conn.execute("DELETE FROM ctas_warninglists WHERE name = 'List of known google domains'")
    rows = {r.value: r.warninglists for r in extract(conn, "google.com")}
    assert "List of known google domains" not in rows["google.com"]


def test_a_bad_warninglist_is_refused_and_named(conn):
    with pytest.raises(
        psycopg.errors.InvalidParameterValue, match='warninglist "bad": entry "1.2.3.4/99"'
    ):
        conn.execute(
            """SELECT ctas_warninglist_load('{"name": "bad", "type": "cidr", "list": ["1.2.3.4/99"]}')"""
        )
    with pytest.raises(psycopg.errors.InvalidParameterValue, match='missing field "list"'):
        conn.execute("""SELECT ctas_warninglist_load('{"name": "bad", "type": "cidr"}')""")
    assert (
        conn.execute("SELECT count(*) FROM ctas_warninglists WHERE name = 'bad'").fetchone()[0] == 0
    )


def test_the_loader_names_the_file_at_fault(tmp_path, dsn):
    (tmp_path / "good.json").write_text('{"name": "t-good", "type": "string", "list": ["x"]}')
    (tmp_path / "zbad.json").write_text('{"name": "t-bad", "type": "glob", "list": []}')
    with psycopg.connect(dsn) as c, pytest.raises(SystemExit, match=r"zbad\.json: .*\"glob\""):
        warninglists.load(c, json_files([str(tmp_path)], "test"), progress=open("/dev/null", "w"))
    with psycopg.connect(dsn) as c:
        # All or nothing: the good list before it was rolled back too.
        assert (
            c.execute("SELECT count(*) FROM ctas_warninglists WHERE name = 't-good'").fetchone()[0]
            == 0
        )


@pytest.fixture
def hunt(conn):
    conn.execute("DELETE FROM ctas_pattern_sets WHERE name = 'test-hunt'")
    conn.execute("INSERT INTO ctas_pattern_sets (name) VALUES ('test-hunt')")
    conn.execute(
        """INSERT INTO ctas_patterns (set_name, pattern_id, regex, severity, tags, attack_id) VALUES
           ('test-hunt', 'ps-enc', '(?i)powershell(\\.exe)?\\s+-e(nc|ncodedcommand)?\\s+[A-Za-z0-9+/=]{20,}', 'high', '{powershell}', 'T1059.001'),
           ('test-hunt', 'mimikatz', '(?i)sekurlsa::logonpasswords', 'critical', '{credential-access}', 'T1003')"""
    )
    yield "test-hunt"
    conn.execute("DELETE FROM ctas_pattern_sets WHERE name = 'test-hunt'")


def test_a_retro_hunt_over_a_table(conn, hunt):
    conn.execute("DROP TABLE IF EXISTS hunt_reports")
    conn.execute("CREATE TABLE hunt_reports (id int, body text)")
    conn.execute(
        """INSERT INTO hunt_reports
           SELECT i, CASE WHEN i % 97 = 0 THEN 'ran powershell.exe -enc SQBFAFgAIAAoAE4AZQB3AC0ATwBiAGoAZQBjAHQA'
                          WHEN i % 101 = 0 THEN 'then sekurlsa::logonpasswords'
                          ELSE 'routine report ' || i END
           FROM generate_series(1, 20000) i"""
    )
    expected = 20000 // 97 + 20000 // 101 - 20000 // (97 * 101)
    assert (
        conn.execute(
            "SELECT count(*) FROM hunt_reports WHERE ctas_matches(body, %s)", (hunt,)
        ).fetchone()[0]
        == expected
    )
    rows = conn.execute(
        "SELECT m.pattern_id, m.severity, m.attack_id, count(*) FROM hunt_reports r, ctas_match(r.body, %s) m GROUP BY 1, 2, 3 ORDER BY 1",
        (hunt,),
    ).fetchall()
    # Rows divisible by both 97 and 101 hold the PowerShell line (the CASE's first branch).
    assert rows == [
        ("mimikatz", "critical", "T1003", 20000 // 101 - 2),
        ("ps-enc", "high", "T1059.001", 20000 // 97),
    ]
    # The same under parallel query: workers compile the set for themselves.
    with parallel_plans(conn):
        plan = explain(
            conn, "SELECT count(*) FROM hunt_reports WHERE ctas_matches(body, 'test-hunt')"
        )
        assert "Parallel" in plan, plan
        assert (
            conn.execute(
                "SELECT count(*) FROM hunt_reports WHERE ctas_matches(body, 'test-hunt')"
            ).fetchone()[0]
            == expected
        )
    conn.execute("DROP TABLE hunt_reports")


def test_a_changed_set_is_recompiled(conn, hunt, dsn):
    body = "found evil-tool.exe here"
    assert conn.execute("SELECT ctas_matches(%s, %s)", (body, hunt)).fetchone()[0] is False
    with psycopg.connect(dsn) as other:
        other.execute(
            "INSERT INTO ctas_patterns (set_name, pattern_id, regex) VALUES (%s, 'tool', 'evil-tool')",
            (hunt,),
        )
        # Not committed yet: this backend still sees the old set.
        assert conn.execute("SELECT ctas_matches(%s, %s)", (body, hunt)).fetchone()[0] is False
        other.rollback()
        other.execute(
            "INSERT INTO ctas_patterns (set_name, pattern_id, regex) VALUES (%s, 'tool2', 'evil-tool\\.exe')",
            (hunt,),
        )
        other.commit()
    assert conn.execute("SELECT pattern_id FROM ctas_match(%s, %s)", (body, hunt)).fetchall() == [
        ("tool2",)
    ]


def test_a_bad_pattern_is_refused_with_its_id(conn, hunt):
    with pytest.raises(
        psycopg.errors.InvalidRegularExpression,
        match='pattern "broken" is not a valid regular expression: unclosed group',
    ):
        conn.execute(
            "INSERT INTO ctas_patterns (set_name, pattern_id, regex) VALUES (%s, 'broken', '(oops')",
            (hunt,),
        )
    with pytest.raises(
        psycopg.errors.ProgramLimitExceeded, match='pattern "huge" compiles to more than'
    ):
        conn.execute(
            "INSERT INTO ctas_patterns (set_name, pattern_id, regex) VALUES (%s, 'huge', '\\w{1000}\\w{1000}\\w{1000}')",
            (hunt,),
        )
    with pytest.raises(psycopg.errors.UndefinedObject, match='pattern set "nope" does not exist'):
        conn.execute("SELECT ctas_matches('x', 'nope')")


def onion_v3(key: bytes) -> str:
    """A v3 onion address from a 32-byte key, as Tor's rend-spec-v3 (section 6) builds it,
    with Python's own SHA3-256."""
    import base64
    import hashlib

    checksum = hashlib.sha3_256(b".onion checksum" + key + b"\x03").digest()[:2]
    return base64.b32encode(key + checksum + b"\x03").decode().lower()


@given(st.lists(st.binary(min_size=32, max_size=32), min_size=1, max_size=5))
def test_onion_services_are_domains_when_their_checksum_holds(conn, keys):
    addresses = [onion_v3(k) for k in keys]
    body = "C2 panels: " + ", ".join(
        f"hxxp://{a}[.]onion/login and {a.upper()}.onion" for a in addresses
    )
    want = {f"{a}.onion" for a in addresses}
    assert set(kinds(conn, body, "domain")) == want
    assert {u for u in kinds(conn, body, "url")} == {f"http://{a}.onion/login" for a in addresses}
    # One character changed: the checksum fails and nothing is found.
    broken = addresses[0][:10] + ("a" if addresses[0][10] != "a" else "b") + addresses[0][11:]
    assert kinds(conn, f"see {broken}.onion now", "domain") == []


def test_special_use_names_other_than_onion_are_not_indicators(conn):
    body = (
        "lab hosts c2.test, www.example, bad.invalid and api.localhost; v2 expyuzz4wqqyqhjn.onion"
    )
    assert kinds(conn, body, "domain") == ["expyuzz4wqqyqhjn.onion"]


def test_a_set_too_big_is_refused_54000_before_it_is_built(conn):
    # Each pattern is valid alone (about 0.7 MB of automaton: a Unicode class 40 times
    # over); 300 of them would take ~200 MB, and ~1 GB of matchers, in every backend that
    # hunts with them. The set is measured pattern by pattern and refused at the one
    # that takes it past 64 MB.
    conn.execute("DELETE FROM ctas_pattern_sets WHERE name = 'test-too-big'")
    conn.execute("INSERT INTO ctas_pattern_sets (name) VALUES ('test-too-big')")
    conn.execute(
        """INSERT INTO ctas_patterns (set_name, pattern_id, regex)
           SELECT 'test-too-big', format('p%s', lpad(i::text, 3, '0')), format('\\w{40}N%s;', i)
           FROM generate_series(1, 300) i"""
    )
    try:
        with pytest.raises(psycopg.errors.ProgramLimitExceeded) as e:
            with conn.transaction():
                conn.execute("SELECT ctas_matches('x', 'test-too-big')")
        message = str(e.value)
        assert message.startswith('pattern set "test-too-big": the set is too big: its first')
        assert "more than the 67108864 bytes a set may take; split it into smaller sets" in message
        # Split as the message says, the halves are sets.
        conn.execute("INSERT INTO ctas_pattern_sets (name) VALUES ('test-too-big-half')")
        conn.execute(
            """UPDATE ctas_patterns SET set_name = 'test-too-big-half'
               WHERE set_name = 'test-too-big' AND pattern_id > 'p060'"""
        )
        conn.execute("DELETE FROM ctas_patterns WHERE pattern_id > 'p120'")
        text = "é" * 40 + "N7; and " + "x" * 40 + "N100;"
        assert conn.execute(
            "SELECT pattern_id FROM ctas_match(%s, 'test-too-big') UNION ALL "
            "SELECT pattern_id FROM ctas_match(%s, 'test-too-big-half')",
            (text, text),
        ).fetchall() == [("p007",), ("p100",)]
    finally:
        conn.execute("DELETE FROM ctas_pattern_sets WHERE name LIKE 'test-too-big%'")


def test_hostile_input_is_handled(conn):
    for body in [
        "." * 1_000_000,
        "[" * 1_000_000,
        "a" * 1_000_000,
        "1." * 500_000,
        "hxxp[:]//" * 100_000,
    ]:
        # None of these holds an indicator: a run of numbers is no address, `http` no host.
        assert extract(conn, body) == [], body[:20]
    assert conn.execute("SELECT length(ctas_refang(repeat('[.]', 300000)))").fetchone()[0] == 300000


def test_matches_beyond_ctas_max_matches_are_refused_54000(conn, hunt):
    # 'sekurlsa::logonpasswords' is one of the set's patterns; Python's re counts the
    # matches the rows must number.
    text = "sekurlsa::logonpasswords " * 50_000
    want = len(re.findall(r"sekurlsa::logonpasswords", text))
    count = "SELECT count(*), min(start_pos), max(end_pos) FROM ctas_match(%s, %s)"
    with conn.transaction():
        conn.execute("SET LOCAL ctas.max_matches = 50000")
        assert conn.execute(count, (text, hunt)).fetchone() == (want, 1, len(text))
        conn.execute("SET LOCAL ctas.max_matches = 49999")
        with pytest.raises(psycopg.errors.ProgramLimitExceeded) as e:
            with conn.transaction():
                conn.execute(count, (text, hunt))
        assert "more than 49999 matches" in str(e.value)
        assert "ctas.max_matches" in str(e.value)
        assert e.value.diag.message_hint.startswith("SET ctas.max_matches")
        report = {"text": text}
        with pytest.raises(psycopg.errors.ProgramLimitExceeded):
            with conn.transaction():
                conn.execute("SELECT ctas_analyze(%s::jsonb, %s)", (json.dumps(report), hunt))
