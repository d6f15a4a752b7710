"""Fixtures for the Python testbed: a real PostgreSQL with the ctas extension.

The tests get a database of their own, made anew for each run with the extension as
just built and installed, so they never test a stale version or touch the demo's data.
Nothing here skips: when PostgreSQL or the extension is missing the tests fail and say
so, because a silent skip would report a green run that tested nothing.
"""

import os
import socket
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from hypothesis import settings
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

import ctas
from ctas.router import Router, RouterUnavailable

TEST_DATABASE = "ctas_pytest"

# In CI the examples are fixed (derandomized), so a red run can be replayed exactly;
# on a developer's machine they vary from run to run and keep finding new cases.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


@pytest.fixture(scope="session")
def dsn() -> str:
    try:
        admin = ctas.connect(autocommit=True)
    except psycopg.OperationalError as e:
        pytest.fail(f"cannot connect to PostgreSQL ({ctas.dsn() or 'PG* variables'}): {e}")
    with admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(TEST_DATABASE)))
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(TEST_DATABASE)))
    params = conninfo_to_dict(ctas.dsn())
    params["dbname"] = TEST_DATABASE
    test_dsn = make_conninfo(**params)
    with psycopg.connect(test_dsn, autocommit=True) as c:
        c.execute("CREATE EXTENSION ctas")
    return test_dsn


@pytest.fixture(scope="session")
def conn(dsn):
    connection = psycopg.connect(dsn, autocommit=True)
    yield connection
    connection.close()


@contextmanager
def parallel_plans(conn):
    """A transaction in which the planner picks parallel plans even for small tables,
    so a test can show a function gives the same answer in parallel workers."""
    with conn.transaction():
        for setting in (
            "parallel_setup_cost = 0",
            "parallel_tuple_cost = 0",
            "min_parallel_table_scan_size = 0",
            "max_parallel_workers_per_gather = 2",
        ):
            conn.execute(f"SET LOCAL {setting}")
        yield conn


# The shared threat data beside the checkout (or where CTAS_SHARED_DATA says).
SHARED_DATA = Path(
    os.environ.get("CTAS_SHARED_DATA", Path(__file__).resolve().parents[3] / "shared" / "data")
)


def fresh_database(name: str, extension: bool = False) -> str:
    """The database ``name``, dropped and made anew (with the extension if asked): its DSN."""
    with ctas.connect(autocommit=True) as admin:
        admin.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    dsn = make_conninfo(**{**conninfo_to_dict(ctas.dsn()), "dbname": name})
    if extension:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("SET client_min_messages = warning")
            conn.execute("CREATE EXTENSION ctas SCHEMA public")
    return dsn


@contextmanager
def history_database(name: str):
    """A database of its own, made anew, with the extension and the cold-tier schema: for
    tests that load real feeds whose old reports would show in the docs' examples."""
    with psycopg.connect(fresh_database(name, extension=True), autocommit=True) as conn:
        conn.execute("SET client_min_messages = warning")
        conn.execute("SELECT ctas_schema_upgrade()")
        yield conn


def explain(conn, query: str) -> str:
    """The plan of `query`, as text."""
    return "\n".join(r[0] for r in conn.execute("EXPLAIN " + query).fetchall())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve_router(data: Path, env: dict[str, str], token: str):
    """ctas-router serve on a free port with ``env``, its data and log under ``data``,
    once it answers: the process, a client with ``token``, the open log."""
    binary = Path(os.environ.get("CARGO_TARGET_DIR", "target")) / "debug" / "ctas-router"
    if not binary.exists():
        pytest.fail(f"{binary} is missing: run scripts/build.sh (make build) first")
    port = free_port()
    log = (data / "router.log").open("w")
    proc = subprocess.Popen(
        [str(binary), "serve", "--listen", f"127.0.0.1:{port}", "--data-dir", str(data / "d")],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    client = Router(f"http://127.0.0.1:{port}", token=token)
    deadline = time.monotonic() + 60
    while True:
        try:
            client.ready()
            return proc, client, log
        except RouterUnavailable:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail("ctas-router did not start:\n" + (data / "router.log").read_text())
            time.sleep(0.2)
