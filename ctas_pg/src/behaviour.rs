//! Anomalies in series over time, and seasonal decomposition, in SQL.

use ctas_core::behaviour::series::{self, SeriesError};
use ctas_core::behaviour::stl::{self, Stl, StlError};
use ctas_core::behaviour::{self, events, BehaviourError};
use pgrx::datum::{Array, FromDatum};
use pgrx::prelude::*;
use pgrx::PgSqlErrorCode;

use crate::error::{or_raise, slice_no_nulls, RaiseSql};
use crate::fmgr::{arg, arg_is_null, v1_call_convention};
use crate::srf::Rows;

impl RaiseSql for SeriesError {
    fn sqlstate(&self) -> PgSqlErrorCode {
        match self {
            SeriesError::TooLong(_) => PgSqlErrorCode::ERRCODE_PROGRAM_LIMIT_EXCEEDED,
            _ => PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
        }
    }
}

impl RaiseSql for BehaviourError {
    fn sqlstate(&self) -> PgSqlErrorCode {
        PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE
    }
}

impl RaiseSql for StlError {
    fn sqlstate(&self) -> PgSqlErrorCode {
        PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE
    }
}

/// Argument `i`, or an ERROR (22004) naming it when it is NULL.
unsafe fn required<T: FromDatum>(fcinfo: pg_sys::FunctionCallInfo, i: usize, name: &str) -> T {
    if arg_is_null(fcinfo, i) {
        ereport!(
            ERROR,
            PgSqlErrorCode::ERRCODE_NULL_VALUE_NOT_ALLOWED,
            format!("{name} must not be NULL")
        );
    }
    T::from_datum(arg(fcinfo, i), false).expect("not NULL")
}

fn invalid(message: String) -> ! {
    ereport!(
        ERROR,
        PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
        message
    );
}

v1_call_convention!(pg_finfo_ctas_anomalies_v1);

/// `ctas_anomalies(ts, vals, method, mode, period, threshold, history, counts,
/// only_anomalies)`: every point of the series on its grid (gaps filled with zero),
/// judged — or, with `only_anomalies`, the flagged ones alone. A materialize-mode set
/// function (`crate::srf`), not STRICT: a NULL argument is an ERROR naming it, except
/// `period`, whose NULL means "from the step".
///
/// Why `only_anomalies` when a `WHERE is_anomaly` says the same: PostgreSQL cannot push
/// the filter into the function, so every point becomes a row first. Over 10,000
/// series of 720 hours that is 7.2 million rows, and making them cost more than
/// judging the points (benches/RESULTS.md).
///
/// # Safety
/// Called by PostgreSQL as the function declared below: (timestamptz[], float8[], text,
/// text, int, float8, int, bool, bool).
#[no_mangle]
#[doc(hidden)]
pub unsafe extern "C-unwind" fn ctas_anomalies_v1(
    fcinfo: pg_sys::FunctionCallInfo,
) -> pg_sys::Datum {
    pg_sys::submodules::panic::pgrx_extern_c_guard(|| {
        // timestamptz is int64 microseconds since 2000-01-01 (integer datetimes, the only
        // kind since PostgreSQL 10): its array reads as one of int8.
        let ts: Array<i64> = required(fcinfo, 0, "ts");
        let vals: Array<f64> = required(fcinfo, 1, "vals");
        let method: &str = required(fcinfo, 2, "method");
        let mode: &str = required(fcinfo, 3, "mode");
        let period: Option<i32> = if arg_is_null(fcinfo, 4) {
            None
        } else {
            i32::from_datum(arg(fcinfo, 4), false)
        };
        let threshold: f64 = required(fcinfo, 5, "threshold");
        let history: i32 = required(fcinfo, 6, "history");
        let counts: bool = required(fcinfo, 7, "counts");
        // A database still on 0.8.0's declaration (before ALTER EXTENSION ctas UPDATE)
        // calls with eight arguments.
        let only_anomalies: bool = (*fcinfo).nargs > 8 && required(fcinfo, 8, "only_anomalies");
        let ts = slice_no_nulls(&ts, "ts");
        let vals = slice_no_nulls(&vals, "vals");
        let grid = or_raise(series::regular(ts, vals, 0.0));
        let options = or_raise(behaviour::options_named(
            method, mode, period, grid.step, threshold, history, counts,
        ));
        let points = or_raise(behaviour::anomalies(&grid.values, &options));
        let rows = Rows::materialize(fcinfo);
        let f = |v: f64| v.into_datum().expect("a float8 is a datum");
        for (i, (p, &v)) in points.iter().zip(&grid.values).enumerate() {
            if only_anomalies && !p.is_anomaly {
                continue;
            }
            let at = grid.start + i as i64 * grid.step;
            rows.put(
                [
                    pg_sys::Datum::from(at),
                    f(v),
                    f(p.expected.unwrap_or(0.0)),
                    f(p.lower.unwrap_or(0.0)),
                    f(p.upper.unwrap_or(0.0)),
                    f(p.score),
                    pg_sys::Datum::from(p.is_anomaly),
                ],
                [
                    false,
                    false,
                    p.expected.is_none(),
                    p.lower.is_none(),
                    p.upper.is_none(),
                    false,
                    false,
                ],
            );
        }
        pg_sys::Datum::from(0)
    })
}

v1_call_convention!(pg_finfo_ctas_events_v1);

/// `ctas_events(ts, vals, dormancy, method, mode, threshold)`: the behaviour events of
/// one series of counts (first seen, bursts, returns after a silence), a row each.
///
/// # Safety
/// Called by PostgreSQL as the STRICT function declared below: (timestamptz[],
/// float8[], int, text, text, float8), none NULL.
#[no_mangle]
#[doc(hidden)]
pub unsafe extern "C-unwind" fn ctas_events_v1(fcinfo: pg_sys::FunctionCallInfo) -> pg_sys::Datum {
    pg_sys::submodules::panic::pgrx_extern_c_guard(|| {
        let ts = Array::<i64>::from_datum(arg(fcinfo, 0), false).expect("STRICT");
        let vals = Array::<f64>::from_datum(arg(fcinfo, 1), false).expect("STRICT");
        let dormancy = i32::from_datum(arg(fcinfo, 2), false).expect("STRICT");
        let method = <&str>::from_datum(arg(fcinfo, 3), false).expect("STRICT");
        let mode = <&str>::from_datum(arg(fcinfo, 4), false).expect("STRICT");
        let threshold = f64::from_datum(arg(fcinfo, 5), false).expect("STRICT");
        if dormancy < 1 {
            invalid(format!("dormancy must be at least 1 step, got {dormancy}"));
        }
        let grid = or_raise(series::regular(
            slice_no_nulls(&ts, "ts"),
            slice_no_nulls(&vals, "vals"),
            0.0,
        ));
        let options = or_raise(behaviour::options_named(
            method,
            mode,
            None,
            grid.step,
            threshold,
            behaviour::HISTORY as i32,
            true,
        ));
        let judged = or_raise(behaviour::anomalies(&grid.values, &options));
        let rows = Rows::materialize(fcinfo);
        for e in events::events(&grid.values, &judged, dormancy as usize) {
            rows.put(
                [
                    pg_sys::Datum::from(grid.start + e.at as i64 * grid.step),
                    e.kind.as_str().into_datum().expect("text is a datum"),
                    e.detail.into_datum().expect("a float8 is a datum"),
                ],
                [false; 3],
            );
        }
        pg_sys::Datum::from(0)
    })
}

v1_call_convention!(pg_finfo_ctas_stl_v1);

/// `ctas_stl(vals, period, seasonal, robust)`: STL's decomposition, a row per point.
///
/// # Safety
/// Called by PostgreSQL as the STRICT function declared below: (float8[], int, int,
/// bool), none NULL.
#[no_mangle]
#[doc(hidden)]
pub unsafe extern "C-unwind" fn ctas_stl_v1(fcinfo: pg_sys::FunctionCallInfo) -> pg_sys::Datum {
    pg_sys::submodules::panic::pgrx_extern_c_guard(|| {
        let vals = Array::<f64>::from_datum(arg(fcinfo, 0), false).expect("STRICT");
        let period = i32::from_datum(arg(fcinfo, 1), false).expect("STRICT");
        let seasonal = i32::from_datum(arg(fcinfo, 2), false).expect("STRICT");
        let robust = bool::from_datum(arg(fcinfo, 3), false).expect("STRICT");
        let vals = slice_no_nulls(&vals, "vals");
        let stl = Stl {
            seasonal: seasonal.max(0) as usize,
            robust,
            ..Stl::new(period.max(0) as usize)
        };
        let d = or_raise(stl.fit(vals));
        put_decomposition(fcinfo, &d);
        pg_sys::Datum::from(0)
    })
}

v1_call_convention!(pg_finfo_ctas_mstl_v1);

/// `ctas_mstl(vals, periods)`: MSTL's decomposition, a row per point, the seasonal
/// components summed.
///
/// # Safety
/// Called by PostgreSQL as the STRICT function declared below: (float8[], int[]), none
/// NULL.
#[no_mangle]
#[doc(hidden)]
pub unsafe extern "C-unwind" fn ctas_mstl_v1(fcinfo: pg_sys::FunctionCallInfo) -> pg_sys::Datum {
    pg_sys::submodules::panic::pgrx_extern_c_guard(|| {
        let vals = Array::<f64>::from_datum(arg(fcinfo, 0), false).expect("STRICT");
        let periods = Array::<i32>::from_datum(arg(fcinfo, 1), false).expect("STRICT");
        let vals = slice_no_nulls(&vals, "vals");
        let periods: Vec<usize> = slice_no_nulls(&periods, "periods")
            .iter()
            .map(|&p| p.max(0) as usize)
            .collect();
        let d = or_raise(stl::mstl(vals, &periods, false));
        put_decomposition(fcinfo, &d);
        pg_sys::Datum::from(0)
    })
}

unsafe fn put_decomposition(fcinfo: pg_sys::FunctionCallInfo, d: &stl::Decomposition) {
    let rows = Rows::materialize(fcinfo);
    let f = |v: f64| v.into_datum().expect("a float8 is a datum");
    let seasonal = d.seasonal_sum();
    for (i, s) in seasonal.iter().enumerate() {
        rows.put(
            [
                pg_sys::Datum::from(i as i32 + 1),
                f(d.trend[i]),
                f(*s),
                f(d.resid[i]),
                f(d.weights[i]),
            ],
            [false; 5],
        );
    }
}

extension_sql!(
    r#"
CREATE FUNCTION ctas_anomalies(
    ts timestamptz[], vals float8[], method text DEFAULT 'auto', mode text DEFAULT 'online',
    period int DEFAULT NULL, threshold float8 DEFAULT 3, history int DEFAULT 48,
    counts bool DEFAULT true, only_anomalies bool DEFAULT false
) RETURNS TABLE (ts timestamptz, value float8, expected float8, lower float8, upper float8,
                 anomaly_score float8, is_anomaly bool)
IMMUTABLE PARALLEL SAFE LANGUAGE c
AS 'MODULE_PATHNAME', 'ctas_anomalies_v1';

COMMENT ON FUNCTION ctas_anomalies(timestamptz[], float8[], text, text, int, float8, int, bool, bool) IS
'Every point of the series (ts ascending, evenly spaced; missing steps are filled with 0) with the value expected, the band outside which it is flagged, an anomaly_score in [0, 1] (0.5 at the threshold) and the flag. method: auto (seasonal when there is a season and history enough, else robust_z), robust_z, ewma, seasonal, esd. mode: online (a point is judged by the points before it only) or retrospective (the whole series; esd needs it). period in points; NULL: 24 and 168 for hourly series, 7 for daily ones; 0: none. threshold in robust standard deviations; history: the points robust_z and seasonal look back; counts: the values are counts, whose spread is at least Poisson''s (square root of the expected value); only_anomalies: the flagged points alone (every point is judged all the same), cheaper over many series than filtering on is_anomaly.';

CREATE FUNCTION ctas_stl(vals float8[], period int, seasonal int DEFAULT 7, robust bool DEFAULT false)
RETURNS TABLE (i int, trend float8, seasonal float8, resid float8, weight float8)
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c
AS 'MODULE_PATHNAME', 'ctas_stl_v1';

COMMENT ON FUNCTION ctas_stl(float8[], int, int, bool) IS
'STL (Cleveland et al., 1990) of vals with period points per cycle: a row per point (i from 1) with trend, seasonal, resid and the robustness weight. seasonal: the seasonal smoother (odd, at least 3); robust: bisquare weights from 15 outer iterations. The trend and low-pass smoothers and the iterations are statsmodels'' STL defaults, with which it agrees.';

CREATE FUNCTION ctas_mstl(vals float8[], periods int[])
RETURNS TABLE (i int, trend float8, seasonal float8, resid float8, weight float8)
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c
AS 'MODULE_PATHNAME', 'ctas_mstl_v1';

COMMENT ON FUNCTION ctas_mstl(float8[], int[]) IS
'MSTL (Bandara et al., 2021) of vals with several seasonal periods (points per cycle; those of half the series or more are left out): a row per point with trend, the seasonal components summed, resid and weight, as statsmodels'' MSTL with its defaults.';
"#,
    name = "ctas_anomalies"
);

extension_sql!(
    r#"
CREATE FUNCTION ctas_sighting_anomalies(
    "by" text DEFAULT 'indicator', since timestamptz DEFAULT now() - interval '1 day',
    step interval DEFAULT '1 hour', history interval DEFAULT '28 days',
    method text DEFAULT 'auto', mode text DEFAULT 'online', threshold float8 DEFAULT 3
) RETURNS TABLE ("key" text, ts timestamptz, value float8, expected float8, lower float8,
                 upper float8, anomaly_score float8)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, @extschema@, pg_temp AS $$
BEGIN
    IF "by" NOT IN ('indicator', 'source', 'cell', 'technique') THEN
        RAISE EXCEPTION 'by must be indicator, source, cell or technique, not %', "by"
            USING ERRCODE = '22023';
    END IF;
    IF step <= interval '0' THEN
        RAISE EXCEPTION 'step must be a positive interval, not %', step USING ERRCODE = '22023';
    END IF;
    PERFORM ctas_check_history_owners();
    RETURN QUERY
    WITH counted AS (
        SELECT CASE "by"
                   WHEN 'indicator' THEN i.kind || ':' || i.value
                   WHEN 'technique' THEN i.value
                   WHEN 'source' THEN coalesce(s.source, r.source)
                   ELSE to_hex(r.h3_cell)
               END AS k,
               date_bin(step, s.seen_at, timestamptz '2000-01-01 00:00:00+00') AS bucket,
               count(*)::float8 AS n
        FROM ctas.sightings s
        JOIN ctas.reports r ON r.id = s.report_id
        LEFT JOIN ctas.indicators i ON i.id = s.indicator_id
        WHERE s.seen_at >= since - history
          AND ("by" <> 'technique' OR i.kind = 'attack_technique')
        GROUP BY 1, 2
    ), series AS (
        SELECT c.k, array_agg(c.bucket ORDER BY c.bucket) AS t, array_agg(c.n ORDER BY c.bucket) AS v
        FROM counted c WHERE c.k IS NOT NULL GROUP BY c.k
    )
    SELECT x.k, a.ts, a.value, a.expected, a.lower, a.upper, a.anomaly_score
    FROM series x, ctas_anomalies(x.t, x.v, method, mode, NULL, threshold, only_anomalies => true) a
    WHERE a.ts >= since
    ORDER BY a.anomaly_score DESC, x.k, a.ts;
END
$$;

COMMENT ON FUNCTION ctas_sighting_anomalies(text, timestamptz, interval, interval, text, text, float8) IS
'The anomalies since a time in how often things are sighted (ctas.sightings), per indicator (kind:value), source, H3 cell (of the report, hex) or ATT&CK technique: sightings counted per step over history before since, each series judged by ctas_anomalies (method, mode, threshold), the anomalous points at or after since, the most anomalous first.';
"#,
    name = "ctas_sighting_anomalies",
    requires = ["ctas_anomalies", "ctas_history_objects"]
);

// 0.8.0: behaviour events, each block its own so that the upgrade from 0.7.0 only adds.
extension_sql!(
    r#"
CREATE FUNCTION ctas_events(
    ts timestamptz[], vals float8[], dormancy int DEFAULT 168, method text DEFAULT 'auto',
    mode text DEFAULT 'online', threshold float8 DEFAULT 3
) RETURNS TABLE (ts timestamptz, event text, detail float8)
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c
AS 'MODULE_PATHNAME', 'ctas_events_v1';

COMMENT ON FUNCTION ctas_events(timestamptz[], float8[], int, text, text, float8) IS
'The behaviour events of a series of counts (ts ascending and evenly spaced, gaps counted as 0): first_seen (the first step with a count; detail 0), burst (a count ctas_anomalies flags above the expected one, with method, mode and threshold; detail its anomaly_score) and reactivated (a count after at least dormancy steps without one; detail the silent steps), in order of time.';
"#,
    name = "ctas_events",
    requires = ["ctas_anomalies"]
);

extension_sql!(
    r#"
CREATE FUNCTION ctas_sighting_events(
    "by" text DEFAULT 'indicator', since timestamptz DEFAULT now() - interval '1 day',
    step interval DEFAULT '1 hour', history interval DEFAULT '28 days',
    dormancy interval DEFAULT '7 days'
) RETURNS TABLE ("key" text, ts timestamptz, event text, detail float8)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, @extschema@, pg_temp AS $$
DECLARE
    silent int;
BEGIN
    IF "by" NOT IN ('indicator', 'source', 'cell', 'technique') THEN
        RAISE EXCEPTION 'by must be indicator, source, cell or technique, not %', "by"
            USING ERRCODE = '22023';
    END IF;
    IF step <= interval '0' OR dormancy < step THEN
        RAISE EXCEPTION 'step must be a positive interval and dormancy at least one step, not % and %',
            step, dormancy USING ERRCODE = '22023';
    END IF;
    silent := ceil(extract(epoch FROM dormancy) / extract(epoch FROM step));
    PERFORM ctas_check_history_owners();
    RETURN QUERY
    WITH keyed AS (
        SELECT CASE "by"
                   WHEN 'indicator' THEN i.kind || ':' || i.value
                   WHEN 'technique' THEN i.value
                   WHEN 'source' THEN coalesce(s.source, r.source)
                   ELSE to_hex(r.h3_cell)
               END AS k,
               s.seen_at
        FROM ctas.sightings s
        JOIN ctas.reports r ON r.id = s.report_id
        LEFT JOIN ctas.indicators i ON i.id = s.indicator_id
        WHERE ("by" <> 'technique' OR i.kind = 'attack_technique')
    ), counted AS (
        SELECT c.k, date_bin(step, c.seen_at, timestamptz '2000-01-01 00:00:00+00') AS bucket,
               count(*)::float8 AS n
        FROM keyed c WHERE c.k IS NOT NULL AND c.seen_at >= since - history
        GROUP BY 1, 2
    ), series AS (
        SELECT c.k, array_agg(c.bucket ORDER BY c.bucket) AS t, array_agg(c.n ORDER BY c.bucket) AS v
        FROM counted c GROUP BY c.k
    ), earliest AS (
        SELECT c.k, min(c.seen_at) AS first FROM keyed c WHERE c.k IS NOT NULL GROUP BY c.k
    ), pairs AS (
        SELECT a.indicator_id AS x, b.indicator_id AS y, min(a.seen_at) AS first,
               count(DISTINCT a.report_id)::float8 AS reports
        FROM ctas.sightings a
        JOIN ctas.sightings b ON b.report_id = a.report_id AND b.indicator_id > a.indicator_id
        WHERE "by" = 'indicator' AND a.seen_at >= since
        GROUP BY 1, 2
    )
    SELECT x.k, e.ts, e.event, e.detail
    FROM series x
    JOIN earliest f ON f.k = x.k,
    ctas_events(x.t, x.v, silent) e
    WHERE e.ts >= since AND (e.event <> 'first_seen' OR f.first >= since - history)
    UNION ALL
    SELECT ia.kind || ':' || ia.value || ' + ' || ib.kind || ':' || ib.value, p.first,
           'new_pair', p.reports
    FROM pairs p
    JOIN ctas.indicators ia ON ia.id = p.x
    JOIN ctas.indicators ib ON ib.id = p.y
    WHERE NOT EXISTS (
        SELECT 1 FROM ctas.sightings a
        JOIN ctas.sightings b ON b.report_id = a.report_id AND b.indicator_id = p.y
        WHERE a.indicator_id = p.x AND a.seen_at < since)
    ORDER BY 2, 1, 3;
END
$$;

COMMENT ON FUNCTION ctas_sighting_events(text, timestamptz, interval, interval, interval) IS
'The behaviour events since a time in ctas.sightings, per indicator (kind:value), source, H3 cell (hex) or ATT&CK technique: first_seen, burst (ctas_anomalies online over history before since, counted per step), reactivated (sighted again after at least dormancy without; detail the silent steps) and, per indicator, new_pair (two indicators named by one report for the first time; detail the reports since since that name both). A dormancy longer than history is not seen.';
"#,
    name = "ctas_sighting_events",
    requires = ["ctas_events", "ctas_history_objects"]
);
