"""Scoring N rows in SQL against the floor of a trivial SQL function over the same rows.

    make bench-score            # or: scripts/bench.sh score [rows]

Builds nothing itself: scripts/bench.sh installs the release build of the extension
first. Runs in its own database (ctas_bench), one backend, parallel query off so the
figure is per core, each query 5 times after a warm-up; prints the medians as a
Markdown table for benches/RESULTS.md.
"""

from __future__ import annotations

import sys

import benchdb
import psycopg

RUNS = 5

QUERIES = {
    "floor: trivial SQL function (inlined)": (
        "SELECT sum(trivial_decay(base, last_seen, '120 days', 2, '2026-06-01')) FROM decay_rows"
    ),
    "floor: one built-in C function a row, abs(base)": "SELECT sum(abs(base)) FROM decay_rows",
    "floor: a pgrx function with ctas_decay's arguments that returns base": (
        "SELECT sum(ctas_bench_noop_decay(base, last_seen, '120 days', 2, '2026-06-01'))"
        " FROM decay_rows"
    ),
    # A lifetime longer than the 200 days of last_seen puts every row on the curve:
    # no row takes the early exits before last_seen or after the lifetime.
    "ctas_decay(base, last_seen, '240 days', 2, at): speed 2 (MISP)": (
        "SELECT sum(ctas_decay(base, last_seen, '240 days', 2, '2026-06-01')) FROM decay_rows"
    ),
    "ctas_decay(base, last_seen, '240 days', 1.65, at): general speed": (
        "SELECT sum(ctas_decay(base, last_seen, '240 days', 1.65, '2026-06-01')) FROM decay_rows"
    ),
    "ctas_decay(base, last_seen, '120 days', 2): now(), all rows past the lifetime": (
        "SELECT sum(ctas_decay(base, last_seen, '120 days', 2)) FROM decay_rows"
    ),
    "ctas_valid_until(base, last_seen, '120 days', 2, 30)": (
        "SELECT max(ctas_valid_until(base, last_seen, '120 days', 2, 30)) FROM decay_rows"
    ),
}


def prepare(conn: psycopg.Connection, rows: int) -> None:
    conn.execute(
        "CREATE OR REPLACE FUNCTION trivial_decay(base float8, last_seen timestamptz,"
        " lifetime interval, speed float8, at timestamptz) RETURNS float8"
        " LANGUAGE sql IMMUTABLE PARALLEL SAFE AS 'SELECT base'"
    )
    have = conn.execute("SELECT to_regclass('decay_rows') IS NOT NULL").fetchone()[0]
    if have and conn.execute("SELECT count(*) FROM decay_rows").fetchone()[0] == rows:
        return
    print(f"generating {rows:,} rows ...", file=sys.stderr)
    conn.execute("DROP TABLE IF EXISTS decay_rows")
    conn.execute(
        "CREATE TABLE decay_rows AS"
        " SELECT (random() * 100)::float8 AS base,"
        "        '2026-06-01'::timestamptz - random() * interval '200 days' AS last_seen"
        " FROM generate_series(1, %s)",
        (rows,),
    )
    conn.execute("VACUUM ANALYZE decay_rows")


def main() -> None:
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000_000
    with benchdb.connect() as conn:
        prepare(conn, rows)
        version = conn.execute("SELECT extversion FROM pg_extension WHERE extname = 'ctas'")
        print(f"ctas {version.fetchone()[0]}, {rows:,} rows, median of {RUNS}, one core\n")
        results = {name: benchdb.median_seconds(conn, q, RUNS) for name, q in QUERIES.items()}
    benchdb.floor_table(results, rows, "floor: trivial SQL function (inlined)")


if __name__ == "__main__":
    main()
