"""Long calls stop when PostgreSQL asks them to: statement_timeout, pg_cancel_backend and
pg_terminate_backend end a call part way instead of when the Rust code returns.

The work is one that runs for many seconds (filling a 3° x 3° square with about seven
million resolution-10 cells, under the 10-million limit) from an input of a few bytes,
so that nothing but the extension's own loop can be what gets interrupted; PostgreSQL's
own error (57014, or the end of the connection) is the oracle."""

import threading
import time

import psycopg
import pytest

# Lower left (0, 0), upper right (3, 3): about 111,000 km², 7.4 million cells at res 10.
LONG = """
SELECT count(*) FROM ctas_h3_polygon_to_cells(
    '{"type": "Polygon", "coordinates": [[[0, 0], [3, 0], [3, 3], [0, 3], [0, 0]]]}', 10)
"""
# Once asked, a call must stop within this (the loop checks every 4,096 cells; the
# whole fill takes far longer).
PROMPT = 2.0


def test_statement_timeout_stops_a_long_call(dsn):
    with psycopg.connect(dsn, autocommit=True) as c:
        c.execute("SET statement_timeout = '300ms'")
        start = time.monotonic()
        with pytest.raises(psycopg.errors.QueryCanceled, match="statement timeout"):
            c.execute(LONG)
        assert time.monotonic() - start < 0.3 + PROMPT


def _ask_after(dsn: str, pid: int, function: str, delay: float) -> threading.Thread:
    def ask():
        time.sleep(delay)
        with psycopg.connect(dsn, autocommit=True) as other:
            other.execute(f"SELECT {function}(%s)", (pid,))

    t = threading.Thread(target=ask)
    t.start()
    return t


def test_pg_cancel_backend_stops_a_long_call(dsn):
    with psycopg.connect(dsn, autocommit=True) as c:
        pid = c.info.backend_pid
        asker = _ask_after(dsn, pid, "pg_cancel_backend", 0.3)
        start = time.monotonic()
        with pytest.raises(psycopg.errors.QueryCanceled, match="user request"):
            c.execute(LONG)
        asker.join()
        assert time.monotonic() - start < 0.3 + PROMPT
        # The connection is still good.
        assert c.execute("SELECT 1").fetchone() == (1,)


def test_pg_terminate_backend_stops_a_long_call(dsn):
    c = psycopg.connect(dsn, autocommit=True)
    pid = c.info.backend_pid
    asker = _ask_after(dsn, pid, "pg_terminate_backend", 0.3)
    start = time.monotonic()
    with pytest.raises(psycopg.OperationalError):
        c.execute(LONG)
    asker.join()
    assert time.monotonic() - start < 0.3 + PROMPT
    c.close()


def test_statement_timeout_stops_a_long_anomaly_search(dsn):
    # Three times a microsecond apart and one ten seconds on: ten million points on the
    # grid, each judged against the 100,000 before it.
    with psycopg.connect(dsn, autocommit=True) as c:
        c.execute("SET statement_timeout = '300ms'")
        start = time.monotonic()
        with pytest.raises(psycopg.errors.QueryCanceled, match="statement timeout"):
            c.execute(
                "SELECT count(*) FROM ctas_anomalies(ARRAY['2026-01-01 00:00:00+00',"
                " '2026-01-01 00:00:00.000001+00', '2026-01-01 00:00:09.999999+00']::timestamptz[],"
                " '{1, 2, 3}', method => 'robust_z', history => 100000)"
            )
        assert time.monotonic() - start < 0.3 + PROMPT
