"""Fixtures for the Python testbed: a real PostgreSQL with the ctas extension.

Nothing here skips: when PostgreSQL or the extension is missing, the tests fail and
say so, because a silent skip would report a green run that tested nothing.
"""

import psycopg
import pytest

import ctas


@pytest.fixture(scope="session")
def conn():
    try:
        connection = ctas.connect(autocommit=True)
    except psycopg.OperationalError as e:
        pytest.fail(f"cannot connect to PostgreSQL ({ctas.dsn() or 'PG* variables'}): {e}")
    row = connection.execute(
        "SELECT extversion FROM pg_extension WHERE extname = 'ctas'"
    ).fetchone()
    if row is None:
        connection.execute("CREATE EXTENSION ctas")
    yield connection
    connection.close()
