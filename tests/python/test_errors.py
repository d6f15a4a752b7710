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
