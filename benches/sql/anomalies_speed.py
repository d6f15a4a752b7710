"""Anomalies in 10,000 series of 720 hourly counts: ctas_anomalies in SQL against
statsmodels' STL plus a z-score of the residual per series in Python (what msticpy's
`timeseries_anomalies_stl` runs), the same series in the same run.

    make bench-anomalies        # or: scripts/bench.sh anomalies [series [points]]

The series (Poisson counts around a daily cycle of random level and amplitude, seeded)
are stored as arrays in a table, one row per series; SQL is timed from that table to a
count of the flagged points: online (the default, the seasonal method: same-hour
medians), a row per point and with only_anomalies (the flagged points alone as rows),
retrospective seasonal (periodic robust STL, then a robust z) and retrospective
S-H-ESD; then the peer's computation itself in SQL (ctas_stl with statsmodels'
defaults and a z-score of its residual); beside them the floor of a row per point with
nothing judged. Python runs
statsmodels' STL (period 24, its defaults, not robust) and scipy's z-score on each
series, on one core as SQL does. Median of 3 runs
each; the flagged counts are printed beside the times (the methods differ, so they are
not expected to be equal).
"""

from __future__ import annotations

import statistics
import sys
import time
from datetime import UTC, datetime, timedelta

import benchdb
import numpy as np
from psycopg import sql
from scipy import stats
from statsmodels.tsa.seasonal import STL

RUNS = 3


def timed(f, runs=RUNS):
    times, result = [], None
    for _ in range(runs):
        start = time.perf_counter()
        result = f()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main() -> None:
    n_series = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    points = int(sys.argv[2]) if len(sys.argv) > 2 else 720
    rng = np.random.default_rng(20261130)
    t = np.arange(points)
    level = rng.uniform(5, 200, (n_series, 1))
    amplitude = rng.uniform(0.1, 0.8, (n_series, 1)) * level
    series = rng.poisson(level + amplitude * np.sin(2 * np.pi * t / 24)).astype(float)
    start = datetime(2026, 10, 1, tzinfo=UTC)
    times = [start + timedelta(hours=h) for h in range(points)]
    print(f"{n_series:,} series of {points} hourly counts, median of {RUNS}\n")

    conn = benchdb.connect()
    conn.execute("DROP TABLE IF EXISTS bench_series")
    conn.execute("CREATE TABLE bench_series (id int, ts timestamptz[], vals float8[])")
    with conn.cursor().copy("COPY bench_series (id, ts, vals) FROM STDIN") as copy:
        for i, row in enumerate(series):
            copy.write_row((i, times, row.tolist()))
    conn.execute("VACUUM ANALYZE bench_series")

    def sql_count(args: str):
        query = sql.SQL(
            "SELECT count(*) FILTER (WHERE a.is_anomaly) FROM bench_series s, "
            "ctas_anomalies(s.ts, s.vals{}) a"
        ).format(sql.SQL(args))
        return lambda: conn.execute(query).fetchone()[0]

    def python():
        flagged = 0
        for row in series:
            resid = STL(row, period=24).fit().resid
            flagged += int((np.abs(stats.zscore(resid)) > 3).sum())
        return flagged

    py_s, py_flagged = timed(python)
    rows = [("statsmodels STL(period=24) + z-score, per series", py_s, py_flagged)]
    for label, args in (
        ("ctas_anomalies, online (auto: seasonal)", ""),
        ("ctas_anomalies, online, only_anomalies => true", ", only_anomalies => true"),
        (
            "ctas_anomalies, retrospective seasonal (robust STL)",
            ", method => 'seasonal', mode => 'retrospective'",
        ),
        ("ctas_anomalies, retrospective S-H-ESD", ", method => 'esd', mode => 'retrospective'"),
    ):
        s, flagged = timed(sql_count(args))
        rows.append((label, s, flagged))
    # The peer's own computation in SQL: STL with statsmodels' defaults (ctas_stl), then
    # a z-score of the residual over 3 (population standard deviation, as scipy's).
    like = (
        "SELECT count(*) FROM bench_series s, LATERAL (SELECT x.resid,"
        " avg(x.resid) OVER () AS m, stddev_pop(x.resid) OVER () AS sd"
        " FROM ctas_stl(s.vals, 24) x) r WHERE abs(r.resid - r.m) / r.sd > 3"
    )
    s, flagged = timed(lambda: conn.execute(like).fetchone()[0])
    rows.append(("ctas_stl(vals, 24) + z-score in SQL (the peer's computation)", s, flagged))
    # What making every point a row costs with nothing judged: the floor of any answer
    # of a row per point.
    floor = "SELECT count(*) FROM bench_series s, unnest(s.ts, s.vals) AS p(t, v)"
    s, _ = timed(lambda: conn.execute(floor).fetchone()[0])
    rows.append(("floor: a row per point, nothing judged (unnest(ts, vals))", s, None))
    print("| run | seconds | series/s | × faster than statsmodels | points flagged |")
    print("|---|---|---|---|---|")
    for label, s, flagged in rows:
        shown = "—" if flagged is None else f"{flagged:,}"
        print(f"| {label} | {s:.2f} | {n_series / s:,.0f} | {py_s / s:.1f} | {shown} |")
    conn.execute("DROP TABLE bench_series")


if __name__ == "__main__":
    main()
