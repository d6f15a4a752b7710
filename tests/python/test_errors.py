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
