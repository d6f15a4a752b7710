"""Anomalies and seasonal decomposition through SQL, checked against others' code:
statsmodels' STL and MSTL (the decomposition), msticpy's `timeseries_anomalies_stl`
(the points it flags), sesd's generalized ESD (Twitter's S-H-ESD in Python), and
planted anomalies of known position."""

import datetime as dt
import json

import numpy as np
import pandas as pd
import psycopg
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from msticpy.analysis.timeseries import timeseries_anomalies_stl
from scipy import stats
from statsmodels.tsa.seasonal import MSTL, STL

T0 = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)


def hourly(days: int, seed: int, weekend: float = 0.0) -> np.ndarray:
    """Poisson counts per hour around a daily cycle (20 to 80 an hour), lower by
    `weekend` on Saturdays and Sundays."""
    rng = np.random.default_rng(seed)
    t = np.arange(days * 24)
    level = 50 + 30 * np.sin(2 * np.pi * t / 24) - np.where((t // 24) % 7 >= 5, weekend, 0.0)
    return rng.poisson(level).astype(float)


def times(n: int, step: dt.timedelta = dt.timedelta(hours=1)) -> list[dt.datetime]:
    return [T0 + i * step for i in range(n)]


def stl_rows(conn, y, period, seasonal=7, robust=False):
    rows = conn.execute(
        "SELECT trend, seasonal, resid, weight FROM ctas_stl(%s, %s, %s, %s) ORDER BY i",
        (list(map(float, y)), period, seasonal, robust),
    ).fetchall()
    return np.array(rows)


series = st.integers(0, 10_000).flatmap(
    lambda seed: st.tuples(
        st.just(seed),
        st.integers(2, 30),  # period
        st.sampled_from([3, 5, 7, 9, 13]),  # seasonal smoother
    )
)


def assert_decomposition(mine, theirs, y, tol):
    for column, component in enumerate(
        (theirs.trend, theirs.seasonal, theirs.resid, theirs.weights)
    ):
        np.testing.assert_allclose(mine[:, column], component, rtol=0, atol=tol)


@settings(max_examples=60, deadline=None)
@given(series, st.integers(2, 8))
def test_stl_agrees_with_statsmodels(conn, case, cycles):
    seed, period, seasonal = case
    rng = np.random.default_rng(seed)
    n = period * cycles + int(rng.integers(0, period))
    y = rng.normal(0, 1, n).cumsum() + 5 * np.sin(2 * np.pi * np.arange(n) / period)
    mine = stl_rows(conn, y, period, seasonal)
    theirs = STL(y, period=period, seasonal=seasonal).fit()
    # The same algorithm in double precision: agreement to rounding.
    assert_decomposition(mine, theirs, y, 1e-9 * max(1.0, float(np.abs(y).max())))


@pytest.mark.parametrize(("points", "period"), [(21 * 24, 24), (8 * 7, 7), (90, 12)])
@pytest.mark.parametrize("seed", range(5))
def test_robust_stl_agrees_with_statsmodels(conn, points, period, seed):
    # Robust STL on series of the length it is run on. On a handful of points it is
    # ill-conditioned and no two implementations agree: the robust fit comes to
    # interpolate the points it keeps, their residuals become rounding noise, and the
    # weights made from them (six times the median residual) follow the noise
    # (measured on 9 points of period 3: the weights equal to 6e-13 after 6 rounds,
    # 0.003 apart after 9, other points dropped after 10).
    rng = np.random.default_rng(seed)
    y = rng.poisson(40 + 20 * np.sin(2 * np.pi * np.arange(points) / period)).astype(float)
    y[rng.integers(0, points, 3)] += 100
    mine = stl_rows(conn, y, period, 7, True)
    theirs = STL(y, period=period, robust=True).fit()
    assert_decomposition(mine, theirs, y, 1e-9 * float(np.abs(y).max()))


@pytest.mark.parametrize(("days", "periods"), [(21, [24, 168]), (5, [24]), (30, [7, 24, 168])])
def test_mstl_agrees_with_statsmodels(conn, days, periods):
    y = hourly(days, seed=days, weekend=15.0)
    mine = np.array(
        conn.execute(
            "SELECT trend, seasonal, resid FROM ctas_mstl(%s, %s) ORDER BY i",
            (list(map(float, y)), periods),
        ).fetchall()
    )
    theirs = MSTL(y, periods=periods).fit()
    seasonal = np.asarray(theirs.seasonal)
    if seasonal.ndim == 2:
        seasonal = seasonal.sum(axis=1)
    for column, component in enumerate((theirs.trend, seasonal, theirs.resid)):
        np.testing.assert_allclose(mine[:, column], component, rtol=0, atol=1e-9 * y.max())


def r_periodic_stl(y, period):
    """R's `stl(y, s.window = "periodic", robust = TRUE)` in statsmodels' terms: the
    seasonal smoother 10·n + 1 long and of degree 0, each smoother evaluated every tenth
    of its length, 1 inner and 15 outer iterations — what Twitter's S-H-ESD runs."""
    n = len(y)
    seasonal = 10 * n + 1
    trend = int(np.ceil(1.5 * period / (1 - 1.5 / seasonal)))
    trend += trend % 2 == 0
    low_pass = period + 1 + ((period + 1) % 2 == 0)
    stl = STL(
        y,
        period=period,
        seasonal=seasonal,
        trend=trend,
        low_pass=low_pass,
        seasonal_deg=0,
        robust=True,
        seasonal_jump=int(np.ceil(seasonal / 10)),
        trend_jump=int(np.ceil(trend / 10)),
        low_pass_jump=int(np.ceil(low_pass / 10)),
    )
    return stl.fit(inner_iter=1, outer_iter=15)


def anomalies(conn, y, ts=None, **options):
    names = ", ".join(f"{k} => %({k})s" for k in options)
    query = "SELECT * FROM ctas_anomalies(%(ts)s, %(vals)s" + (f", {names}" if names else "") + ")"
    vals = [None if v is None else float(v) for v in y]
    params = {"ts": ts or times(len(y)), "vals": vals, **options}
    return conn.execute(query, params).fetchall()


@pytest.mark.parametrize("seed", range(8))
def test_flags_what_msticpy_flags_on_planted_spikes(conn, seed):
    rng = np.random.default_rng(100 + seed)
    y = hourly(21, seed)
    planted = sorted(rng.choice(np.arange(48, y.size - 48), size=4, replace=False))
    y[planted] += rng.uniform(60, 150, size=4).round()
    frame = pd.DataFrame({"TimeGenerated": times(y.size), "count": y}).set_index("TimeGenerated")
    theirs = timeseries_anomalies_stl(frame)
    theirs_up = sorted(int(i) for i in np.flatnonzero(theirs["anomalies"].to_numpy() == 1))
    # msticpy: STL(seasonal=7, period=24), then a z-score of the residual over 3,
    # upward only. CTAS, in retrospect: the same STL made robust, a robust z-score of
    # the residual; its upward flags:
    rows = anomalies(conn, y, method="seasonal", mode="retrospective", period=24)
    mine_up = [i for i, r in enumerate(rows) if r[6] and r[1] > r[2]]
    # Every planted spike and every point msticpy flags, CTAS flags; beyond them, little
    # of the noise. (msticpy misses some planted spikes: it truncates the residual to
    # an integer and divides by a standard deviation the spikes themselves inflate.)
    assert set(planted) <= set(mine_up)
    assert set(theirs_up) <= set(mine_up)
    assert len(set(mine_up) - set(planted)) <= 0.01 * y.size


@pytest.mark.parametrize("seed", range(6))
def test_esd_flags_the_planted_points_and_agrees_with_sesd(conn, seed):
    rng = np.random.default_rng(200 + seed)
    y = hourly(14, seed)
    planted = sorted(rng.choice(np.arange(24, y.size - 24), size=3, replace=False))
    y[planted] += rng.choice([-1, 1], size=3) * rng.uniform(50, 120, size=3).round()
    rows = anomalies(conn, y, method="esd", mode="retrospective", period=24)
    mine = [i for i, r in enumerate(rows) if r[6]]
    # Every planted point; beside them at most 1% of the points (Poisson's own
    # extremes: one count of 85 where 58 are usual is 3.6 standard deviations).
    assert set(planted) <= set(mine)
    assert len(set(mine) - set(planted)) <= 0.01 * y.size
    # sesd (Twitter's S-H-ESD in Python) runs the same generalized ESD test with the
    # median and the MAD, on the residual of the season and the median. Given the
    # residual of the same decomposition — R's periodic robust STL, which CTAS runs, made
    # by statsmodels — and values not taken as counts, every point CTAS flags sesd flags
    # too: sesd divides by the MAD itself where Twitter's R package divides by
    # 1.4826 · MAD (R's `mad`), so its statistics are 1.4826 times CTAS's against the
    # same critical values.
    import sesd

    rows = anomalies(conn, y, method="esd", mode="retrospective", period=24, counts=False)
    mine = {i for i, r in enumerate(rows) if r[6]}
    periodic = r_periodic_stl(y, 24)
    residual = y - periodic.seasonal - np.median(y)
    # The decomposition is the same: CTAS's expected value is the season, the median and
    # the residual's median.
    expected = periodic.seasonal + np.median(y) + np.median(residual)
    np.testing.assert_allclose([r[2] for r in rows], expected, rtol=0, atol=1e-9 * y.max())
    theirs = sesd.generalized_esd(residual, max_anomalies=int(0.4 * y.size), hybrid=True)
    assert set(planted) <= mine <= {int(i) for i in theirs}


def test_online_never_looks_ahead(conn):
    y = hourly(21, 5)
    other = y.copy()
    other[300:] = 0
    a = anomalies(conn, y)
    b = anomalies(conn, other)
    assert a[:300] == b[:300]


@pytest.mark.parametrize(("seed", "integers"), [(1, False), (2, False), (3, True), (4, True)])
def test_online_robust_z_is_the_rolling_median_and_mad_of_pandas_and_scipy(conn, seed, integers):
    # Online robust_z of a point: the median of the 48 points before it, and 1.4826
    # times their median absolute deviation (scipy) — pandas' rolling window over the
    # series shifted by one. Integer values give ties, as counts do.
    rng = np.random.default_rng(seed)
    y = rng.normal(40, 8, 500) + 60 * (np.arange(500) > 300)  # and a level shift
    if integers:
        y = y.round()
    rows = anomalies(conn, y, method="robust_z", counts=False, history=48)
    before = pd.Series(y).shift(1).rolling(48, min_periods=12)
    median = before.median().to_numpy()
    mad = before.apply(
        lambda w: stats.median_abs_deviation(w, nan_policy="omit"), raw=True
    ).to_numpy()
    judged = np.array([r[2] is not None for r in rows])
    assert np.array_equal(judged, ~np.isnan(median))
    assert (mad[judged] > 0).all()  # the MAD of these windows is never 0
    expected = np.array([r[2] for r in rows], dtype=float)[judged]
    upper = np.array([r[4] for r in rows], dtype=float)[judged]
    np.testing.assert_allclose(expected, median[judged], rtol=0, atol=1e-9)
    np.testing.assert_allclose((upper - expected) / 3, 1.4826 * mad[judged], rtol=1e-12, atol=1e-9)
    z = (y[judged] - median[judged]) / (1.4826 * mad[judged])
    assert [r[6] for r in rows if r[2] is not None] == list(np.abs(z) > 3)


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"method": "robust_z"},
        {"method": "ewma"},
        {"method": "seasonal", "mode": "retrospective"},
        {"method": "esd", "mode": "retrospective"},
    ],
)
def test_only_anomalies_gives_the_flagged_rows_of_the_whole_answer(conn, options):
    y = hourly(21, 9)
    y[[100, 250, 400]] += [90, 120, -45]
    every = anomalies(conn, y, **options)
    flagged = anomalies(conn, y, only_anomalies=True, **options)
    assert flagged == [r for r in every if r[6]]
    assert 0 < len(flagged) < len(every)


def test_gaps_are_zero_counts_and_come_back_as_rows(conn):
    ts = times(10)
    kept = [0, 1, 2, 5, 9]
    rows = anomalies(conn, [3, 4, 3, 4, 3], ts=[ts[i] for i in kept], method="robust_z")
    assert [r[0] for r in rows] == ts
    assert [r[1] for r in rows] == [3, 4, 3, 0, 0, 4, 0, 0, 0, 3]


@pytest.mark.parametrize(
    ("ts", "vals", "options", "message"),
    [
        (times(3), [1.0, 2.0], {}, "ts and vals must be as long as each other: ts has 3, vals 2"),
        ([T0, T0, T0 + dt.timedelta(hours=1)], [1.0, 2.0, 3.0], {}, "element 2 is not after"),
        (times(3), [1.0, float("nan"), 3.0], {}, "vals must hold finite numbers: element 2"),
        (times(3), [1.0, None, 3.0], {}, "vals must not contain NULL"),
        (times(3), [1.0, 2.0, 3.0], {"method": "stl"}, "method must be one of auto, robust_z"),
        (times(3), [1.0, 2.0, 3.0], {"mode": "batch"}, "mode must be online or retrospective"),
        (times(3), [1.0, 2.0, 3.0], {"method": "esd"}, "needs mode retrospective"),
        (times(3), [1.0, 2.0, 3.0], {"period": 1}, "period must be at least 2 points"),
        (times(3), [1.0, 2.0, 3.0], {"threshold": -1}, "threshold must be a positive number"),
        (times(3), [1.0, 2.0, 3.0], {"history": 2}, "history must be at least 3 points"),
        (
            [T0, T0 + dt.timedelta(hours=2), T0 + dt.timedelta(hours=3, minutes=30)],
            [1.0, 2.0, 3.0],
            {},
            "ts must be evenly spaced",
        ),
    ],
)
def test_bad_input_is_an_error_naming_the_argument(conn, ts, vals, options, message):
    with pytest.raises(
        psycopg.errors.InvalidParameterValue
        if "NULL" not in message
        else psycopg.errors.NullValueNotAllowed
    ) as e:
        anomalies(conn, vals, ts=ts, **options)
    assert message in str(e.value)


def test_stl_refuses_a_series_shorter_than_two_periods(conn):
    with pytest.raises(psycopg.errors.InvalidParameterValue, match="at least two full periods"):
        stl_rows(conn, [1.0] * 30, 24)


def test_sighting_anomalies_finds_a_burst_in_the_history(conn):
    """Reports ingested once an hour for ten days, each naming one C2 address; in one
    hour, eleven reports name it. Per indicator and per source, that hour is the
    anomaly of the last days."""
    conn.execute("SELECT ctas_schema_upgrade()")
    start = dt.datetime(2031, 5, 1, tzinfo=dt.UTC)
    burst = start + dt.timedelta(days=9, hours=14)
    try:
        for h in range(240):
            at = start + dt.timedelta(hours=h)
            for k in range(11 if at == burst else 1):
                report = {
                    "id": f"anomaly-test-{h}-{k}",
                    "text": "beacon to 203.0.113.9",
                    "observed_at": at.isoformat(),
                    "source": {"name": "feed-a"},
                }
                conn.execute("SELECT ctas_ingest_report(%s::jsonb)", (json.dumps(report),))
        since = start + dt.timedelta(days=8)
        for by, key in (("indicator", "ipv4:203.0.113.9"), ("source", "feed-a")):
            rows = conn.execute(
                "SELECT key, ts, value, expected FROM ctas_sighting_anomalies(%s, %s)",
                (by, since),
            ).fetchall()
            assert [(r[0], r[1], r[2]) for r in rows] == [(key, burst, 11.0)], by
            assert rows[0][3] == 1.0
        with pytest.raises(psycopg.errors.InvalidParameterValue, match="by must be indicator"):
            conn.execute("SELECT * FROM ctas_sighting_anomalies('country')")
    finally:
        conn.execute("DELETE FROM ctas.reports WHERE id LIKE 'anomaly-test-%'")
        conn.execute(
            "DELETE FROM ctas.indicators i WHERE NOT EXISTS"
            " (SELECT 1 FROM ctas.sightings s WHERE s.indicator_id = i.id)"
        )


def test_sighting_events_first_seen_burst_return_and_new_pair(conn):
    """An address named once an hour for three days, then silent for eight days; back in
    a report that names it with a new domain, then named by fourteen reports in the next
    hour. Per indicator: each event where it happened."""
    conn.execute("SELECT ctas_schema_upgrade()")
    start = dt.datetime(2031, 7, 1, tzinfo=dt.UTC)
    back = start + dt.timedelta(days=11)

    def report(name, text, at):
        body = {"id": f"events-test-{name}", "text": text, "observed_at": at.isoformat()}
        conn.execute("SELECT ctas_ingest_report(%s::jsonb)", (json.dumps(body),))

    try:
        for h in range(72):
            report(f"a{h}", "beacon to 203.0.113.77", start + dt.timedelta(hours=h))
        report("pair", "203.0.113.77 resolved from cdn.evil-events.example.com", back)
        for k in range(14):
            report(f"burst{k}", "203.0.113.77 again", back + dt.timedelta(hours=1))
        since = back - dt.timedelta(hours=1)
        rows = conn.execute(
            "SELECT key, ts, event, detail FROM ctas_sighting_events('indicator', %s)", (since,)
        ).fetchall()
        ip, domain = "ipv4:203.0.113.77", "domain:cdn.evil-events.example.com"
        assert (ip, back, "reactivated", float(8 * 24)) in rows
        assert (domain, back, "first_seen", 0.0) in rows
        assert (f"{domain} + {ip}", back, "new_pair", 1.0) in rows or (
            f"{ip} + {domain}",
            back,
            "new_pair",
            1.0,
        ) in rows
        assert [(r[0], r[1]) for r in rows if r[2] == "burst"] == [
            (ip, back + dt.timedelta(hours=1))
        ]
        assert len(rows) == 4
    finally:
        conn.execute("DELETE FROM ctas.reports WHERE id LIKE 'events-test-%'")
        conn.execute(
            "DELETE FROM ctas.indicators i WHERE NOT EXISTS"
            " (SELECT 1 FROM ctas.sightings s WHERE s.indicator_id = i.id)"
        )
