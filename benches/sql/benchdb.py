"""The benchmarks' own database, with the extension as just installed (release build)."""

from __future__ import annotations

import statistics
import time

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

import ctas

DATABASE = "ctas_bench"


def connect() -> psycopg.Connection:
    """A connection to ctas_bench (made if missing) with ctas dropped and created again,
    so a benchmark never measures an older build of the extension."""
    with ctas.connect(autocommit=True) as admin:
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,))
        if exists.fetchone() is None:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DATABASE)))
    params = conninfo_to_dict(ctas.dsn())
    params["dbname"] = DATABASE
    conn = psycopg.connect(make_conninfo(**params), autocommit=True)
    conn.execute("SET client_min_messages = warning")
    conn.execute("DROP EXTENSION IF EXISTS ctas CASCADE")
    conn.execute("CREATE EXTENSION ctas")
    conn.execute("SET max_parallel_workers_per_gather = 0")
    return conn


def median_seconds(conn: psycopg.Connection, query: str, runs: int) -> float:
    """The median wall time of `runs` executions of `query`, after one warm-up run."""
    conn.execute(query).fetchall()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        conn.execute(query).fetchall()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def floor_table(results: dict[str, float], rows: int, floor_name: str) -> None:
    """Print timings as a Markdown table with each query's ratio to the floor."""
    floor = results[floor_name]
    print("| query | seconds | Mrows/s | × floor |")
    print("|---|---|---|---|")
    for name, secs in results.items():
        print(f"| {name} | {secs:.3f} | {rows / secs / 1e6:.2f} | {secs / floor:.2f} |")


def load_reports(conn: psycopg.Connection, corpus_path, table: str = "ioc_reports") -> int:
    """The corpus of python/ctas/bench/corpus.py (one report per line, COPY's escapes) as a
    table (id, body); returns the number of rows."""
    conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(table)))
    conn.execute(sql.SQL("CREATE TABLE {} (id serial, body text)").format(sql.Identifier(table)))
    copy_sql = sql.SQL("COPY {} (body) FROM STDIN").format(sql.Identifier(table))
    with open(corpus_path, "rb") as f, conn.cursor().copy(copy_sql) as copy:
        copy.write(f.read())
    conn.execute(sql.SQL("VACUUM ANALYZE {}").format(sql.Identifier(table)))
    return conn.execute(
        sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))
    ).fetchone()[0]
