"""Errors that are not a bad argument still carry a SQLSTATE a client can act on: an
extension table not in the state the extension left it in is 55000
(object_not_in_prerequisite_state), and the message says which table and what to do."""

import psycopg
import pytest


@pytest.fixture(scope="module")
def pattern_set(conn):
    conn.execute(
        "INSERT INTO ctas_pattern_sets (name) VALUES ('errors-test') ON CONFLICT DO NOTHING"
    )
    conn.execute(
        "INSERT INTO ctas_patterns (set_name, pattern_id, regex)"
        " VALUES ('errors-test', 'p1', 'beacon') ON CONFLICT DO NOTHING"
    )
    yield "errors-test"
    conn.execute("DELETE FROM ctas_pattern_sets WHERE name = 'errors-test'")


@pytest.mark.parametrize(
    ("cache", "query", "rows"),
    [
        ("warninglists", "SELECT count(*) FROM ctas_extract_iocs('beacon to 198.51.100.7')", 1),
        (
            "patterns",
            "SELECT count(*) FROM ctas_match('a beacon, another beacon', 'errors-test')",
            2,
        ),
    ],
)
def test_a_missing_cache_epoch_row_is_55000_naming_it(conn, pattern_set, cache, query, rows):
    with pytest.raises(psycopg.errors.ObjectNotInPrerequisiteState) as err:
        with conn.transaction():
            conn.execute("DELETE FROM ctas_cache_epochs WHERE name = %s", (cache,))
            conn.execute(query)
    assert err.value.sqlstate == "55000"
    assert f'ctas_cache_epochs has no row "{cache}"; reinstall the extension' in str(err.value)
    # Rolled back: the row is there again and the function answers.
    assert conn.execute(query).fetchone()[0] == rows


def nested(depth: int) -> str:
    """A document whose `objects` nest `depth` arrays deep."""
    return '{"type": "bundle", "objects": ' + "[" * depth + "]" * depth + "}"


# Every function that takes jsonb: JSON nested deeper than serde_json reads (128
# levels) is a limit, 54000 naming the argument — it was an internal error (XX000)
# raised while pgrx unboxed the argument. 100 levels still read (as the bad document
# each function then says it is).
@pytest.mark.parametrize(
    ("call", "arg"),
    [
        ("ctas_ingest_stix(%s::jsonb)", "ctas_ingest_stix"),
        ("ctas_ingest_misp(%s::jsonb)", "ctas_ingest_misp: export"),
        ("ctas_ingest_report(%s::jsonb)", "ctas_ingest_report: report"),
        ("ctas_analyze(%s::jsonb)", "report"),
        ("ctas_score(%s::jsonb)", "evidence"),
        ("ctas_h3_polygon_to_cells(%s::jsonb, 5)", "geojson"),
        ("* FROM ctas_warninglist_parse(%s::jsonb)", "list"),
    ],
)
def test_json_nested_too_deep_is_54000_naming_the_argument(conn, call, arg):
    with pytest.raises(psycopg.errors.ProgramLimitExceeded) as err:
        conn.execute(f"SELECT {call}", (nested(10_000),))
    assert str(err.value).startswith(
        f"{arg}: JSON nested deeper than 128 levels, the most CTAS reads"
    )
    with pytest.raises(psycopg.Error) as shallow:
        conn.execute(f"SELECT {call}", (nested(100),))
    assert shallow.value.sqlstate in ("22023", "22P02"), shallow.value


# Every limit of docs/security.md ("Limits"), reached as a user would: SQLSTATE 54000,
# the limit named, nothing computed first. (The others have their own tests: JSON depth
# above, cells in test_h3.py, matches and set size in test_ioc.py.)
def test_a_report_longer_than_16_mib_is_not_analysed(conn):
    text = "a " * (8 << 20) + "x"
    with pytest.raises(psycopg.errors.ProgramLimitExceeded) as err:
        conn.execute("SELECT ctas_analyze(jsonb_build_object('text', %s::text))", (text,))
    assert str(err.value) == f"field `text` is {len(text)} bytes long; the limit is 16777216"


def test_a_pattern_longer_than_4096_bytes_is_refused_when_written(conn):
    conn.execute("DELETE FROM ctas_pattern_sets WHERE name = 'test-limits'")
    conn.execute("INSERT INTO ctas_pattern_sets (name) VALUES ('test-limits')")
    try:
        with pytest.raises(psycopg.errors.ProgramLimitExceeded) as err:
            with conn.transaction():
                conn.execute(
                    "INSERT INTO ctas_patterns (set_name, pattern_id, regex)"
                    " VALUES ('test-limits', 'long', repeat('a', 4097))"
                )
        assert str(err.value) == 'pattern "long" is 4097 bytes long; at most 4096 are allowed'
        # 10,000 patterns are a set; one more is not.
        conn.execute(
            "INSERT INTO ctas_patterns (set_name, pattern_id, regex)"
            " SELECT 'test-limits', 'p' || i, 'word' || i || 'x' FROM generate_series(1, 10000) i"
        )
        assert conn.execute("SELECT ctas_matches('a word17x b', 'test-limits')").fetchone()[0]
        conn.execute(
            "INSERT INTO ctas_patterns (set_name, pattern_id, regex)"
            " VALUES ('test-limits', 'one-more', 'z')"
        )
        with pytest.raises(psycopg.errors.ProgramLimitExceeded) as err:
            with conn.transaction():
                conn.execute("SELECT ctas_matches('x', 'test-limits')")
        assert str(err.value) == (
            'pattern set "test-limits": the set has 10001 patterns; at most 10000 are allowed'
        )
    finally:
        conn.execute("DELETE FROM ctas_pattern_sets WHERE name = 'test-limits'")
