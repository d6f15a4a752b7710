"""ctas_analyze over many reports (parallel query on and off), and correlation of one
report among many, on generated reports in the benchmarks' database.

    python benches/sql/analyze_history.py [REPORTS]   (default 1,000,000)

Reports are short (one to three sentences) with an IPv4 address, a domain and a hash
drawn from pools of skewed popularity, so correlation has common and rare indicators to
weigh; 30% are located.
"""

# ruff: noqa: E501  (SQL reads better unbroken)

from __future__ import annotations

import sys
import time

import benchdb

GENERATE = """
CREATE TABLE bench_reports AS
SELECT 'bench--' || lpad(i::text, 8, '0') AS id,
       format('Beacon from 198.%s.%s.%s to c2-%s.example-%s.net; dropper %s.exe with md5 %s. %s',
              (i * 7) % 200, (i * 13) % 250, (i * 31) % 250,
              floor(power(random(), 3) * 20000)::int, (i % 50),
              'stage' || (i % 997), md5((floor(power(random(), 4) * 100000))::int::text),
              CASE WHEN i % 3 = 0 THEN 'Seen again after version 2.4.1.7 shipped (see T1071.001).' ELSE '' END) AS body,
       timestamptz '2025-01-01' + (i % 700) * interval '1 day' AS observed_at,
       CASE WHEN i % 10 < 3 THEN 40 + (i % 1000) / 100.0 END AS lat,
       CASE WHEN i % 10 < 3 THEN -3 + (i % 700) / 100.0 END AS lng
FROM generate_series(1, :N) i
"""

ANALYZE = """
SELECT count(*) FILTER (WHERE a->>'severity' IN ('high', 'critical'))
FROM bench_reports r,
     ctas_analyze(jsonb_strip_nulls(jsonb_build_object('text', r.body, 'observed_at', r.observed_at,
                                                        'lat', r.lat, 'lng', r.lng)),
                  NULL, 7, 'ctas:admiralty', '2026-11-27') a
"""


def timed(conn, query: str) -> float:
    start = time.perf_counter()
    conn.execute(query).fetchall()
    return time.perf_counter() - start


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    conn = benchdb.connect()
    conn.execute("DROP TABLE IF EXISTS bench_reports")
    # The history of an earlier run; with the role named ctas, CREATE EXTENSION would
    # have put the extension in that schema (first on search_path), so put it back in public.
    conn.execute("DROP SCHEMA IF EXISTS ctas CASCADE")
    conn.execute("CREATE EXTENSION IF NOT EXISTS ctas SCHEMA public")
    start = time.perf_counter()
    conn.execute(GENERATE.replace(":N", str(n)))
    conn.execute("VACUUM ANALYZE bench_reports")
    print(f"generated {n:,} reports in {time.perf_counter() - start:.1f} s")

    rows = []
    conn.execute("SET max_parallel_workers_per_gather = 0")
    rows.append(
        (
            "ctas_extract_iocs, serial (floor: extraction alone)",
            timed(conn, "SELECT count(*) FROM bench_reports r, ctas_extract_iocs(r.body)"),
        )
    )
    rows.append(("ctas_analyze, serial", timed(conn, ANALYZE)))
    conn.execute("SET max_parallel_workers_per_gather = 2")
    conn.execute("SET parallel_setup_cost = 0")
    conn.execute("SET parallel_tuple_cost = 0")
    conn.execute("SET min_parallel_table_scan_size = 0")
    plan = "\n".join(r[0] for r in conn.execute("EXPLAIN " + ANALYZE).fetchall())
    assert "Parallel" in plan, plan
    rows.append(("ctas_analyze, parallel query (2 workers + leader)", timed(conn, ANALYZE)))
    conn.execute("SET max_parallel_workers_per_gather = 0")

    # The history tables, filled in bulk from the same reports.
    conn.execute("SELECT ctas_schema_upgrade()")
    start = time.perf_counter()
    conn.execute("""INSERT INTO ctas.reports (id, body, observed_at, lat, lng)
                    SELECT id, body, observed_at, lat, lng FROM bench_reports""")
    conn.execute("""CREATE TEMP TABLE found AS
                    SELECT r.id AS report_id, r.observed_at, e.kind, e.value, e.raw
                    FROM bench_reports r, ctas_extract_iocs(r.body) e""")
    conn.execute("""INSERT INTO ctas.indicators (id, kind, value, first_seen, last_seen)
                    SELECT ctas_indicator_id(kind, value), kind, value, min(observed_at), max(observed_at)
                    FROM found GROUP BY kind, value""")
    conn.execute("""INSERT INTO ctas.sightings (report_id, indicator_id, seen_at, raw)
                    SELECT DISTINCT ON (report_id, kind, value) report_id, ctas_indicator_id(kind, value), observed_at, raw
                    FROM found ORDER BY report_id, kind, value""")
    conn.execute("VACUUM ANALYZE ctas.reports, ctas.indicators, ctas.sightings")
    counts = conn.execute(
        "SELECT (SELECT count(*) FROM ctas.indicators), (SELECT count(*) FROM ctas.sightings)"
    ).fetchone()
    print(
        f"history: {n:,} reports, {counts[0]:,} indicators, {counts[1]:,} sightings, loaded in {time.perf_counter() - start:.1f} s"
    )
    picks = [f"bench--{i:08d}" for i in (1, n // 3, n // 2, 2 * n // 3, n)]
    times = []
    for rid in picks:
        times.append(timed(conn, f"SELECT * FROM ctas_correlated_reports('{rid}')"))
    times.sort()
    rows.append(
        (f"ctas_correlated_reports, one report among {n:,} (median of 5)", times[len(times) // 2])
    )

    print(f"\n| query ({n:,} reports) | seconds | reports/s |")
    print("|---|---|---|")
    for name, secs in rows:
        print(f"| {name} | {secs:.3f} | {n / secs:,.0f} |")
    conn.execute("DROP TABLE bench_reports")


if __name__ == "__main__":
    main()
