//! STL, Seasonal-Trend decomposition using Loess (Cleveland, Cleveland, McRae and
//! Terpenning, 1990), and MSTL for several seasonal periods (Bandara, Hyndman and
//! Bergmeir, 2021).
//!
//! The algorithm is the one of the paper's Fortran `stl`, which statsmodels' `STL` and
//! `MSTL` also follow, with their defaults, so that a decomposition here and one there
//! agree (the tests compare them): local linear loess with tricube weights, a
//! cycle-subseries smoother extended one period at each end, the low-pass filter of
//! three moving averages and a loess, and bisquare robustness weights when asked for.
//! Every smoother is evaluated at every point (the Fortran's `jump` of 1).

/// What to decompose with, statsmodels' names and defaults.
#[derive(Clone, Debug, PartialEq)]
pub struct Stl {
    /// Points per seasonal cycle (24 for hourly data with a daily season).
    pub period: usize,
    /// Length of the seasonal smoother, odd, at least 3 (statsmodels: 7).
    pub seasonal: usize,
    /// Length of the trend smoother, odd; `None`: the smallest odd integer at least
    /// `1.5 · period / (1 − 1.5 / seasonal)`.
    pub trend: Option<usize>,
    /// Length of the low-pass filter, odd; `None`: the smallest odd integer above
    /// `period`.
    pub low_pass: Option<usize>,
    /// Bisquare robustness weights from outer iterations (15 of them, with 2 inner
    /// ones; without, 5 inner iterations and none outer).
    pub robust: bool,
    /// The degree of the seasonal smoother's local fits: 1 (statsmodels' default,
    /// local linear) or 0 (local means, R's `s.window = "periodic"`).
    pub seasonal_deg: u8,
    /// Inner and outer iterations; `None`: 2 and 15 when robust, 5 and 0 when not.
    pub iterations: Option<(usize, usize)>,
    /// Evaluate the seasonal, trend and low-pass smoothers every so many points and
    /// interpolate between (the Fortran's `nsjump`, `ntjump`, `nljump`); statsmodels'
    /// default is 1 (every point), R's a tenth of each smoother's length.
    pub jumps: (usize, usize, usize),
}

impl Stl {
    /// STL with statsmodels' defaults for `period`.
    pub fn new(period: usize) -> Stl {
        Stl {
            period,
            seasonal: 7,
            trend: None,
            low_pass: None,
            robust: false,
            seasonal_deg: 1,
            iterations: None,
            jumps: (1, 1, 1),
        }
    }

    /// A season that repeats unchanged, robustly fitted, for a series of `n` points: R's
    /// `stl(x, s.window = "periodic", robust = TRUE)` with R's defaults (1 inner and 15
    /// outer iterations, each smoother evaluated every tenth of its length), as Twitter's
    /// S-H-ESD runs it. A spike then moves the season by 1/cycles of itself; with a
    /// smoother of 7 cycles it moved its neighbours' enough to give them zero robustness
    /// weight, and then the loess at the spike had no weight left and returned the spike
    /// as the season.
    pub fn periodic(period: usize, n: usize) -> Stl {
        let mut stl = Stl {
            seasonal: 10 * n + 1,
            robust: true,
            seasonal_deg: 0,
            iterations: Some((1, 15)),
            ..Stl::new(period)
        };
        let (ns, nt, nl) = stl.lengths().unwrap_or((stl.seasonal, 3, 3));
        stl.jumps = (ns.div_ceil(10), nt.div_ceil(10), nl.div_ceil(10));
        stl
    }
}

/// A series taken apart: `trend + seasonal + resid` is the series.
#[derive(Clone, Debug, PartialEq)]
pub struct Decomposition {
    pub trend: Vec<f64>,
    /// One column per seasonal period (one for STL), in the order of the periods.
    pub seasonal: Vec<Vec<f64>>,
    pub resid: Vec<f64>,
    /// The robustness weight of each point (all 1 without `robust`).
    pub weights: Vec<f64>,
}

impl Decomposition {
    /// All seasonal components summed, point by point.
    pub fn seasonal_sum(&self) -> Vec<f64> {
        let mut sum = vec![0.0; self.trend.len()];
        for column in &self.seasonal {
            for (s, c) in sum.iter_mut().zip(column) {
                *s += c;
            }
        }
        sum
    }
}

/// Why a decomposition cannot be made.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StlError {
    #[error("period must be at least 2, got {0}")]
    Period(usize),
    #[error("the series has {len} points; decomposing with period {period} needs at least two full periods ({need})")]
    TooShort {
        len: usize,
        period: usize,
        need: usize,
    },
    #[error("{name} must be an odd integer of at least 3, got {value}")]
    Smoother { name: &'static str, value: usize },
    #[error("{name} ({value}) must be larger than the period ({period})")]
    NotAbovePeriod {
        name: &'static str,
        value: usize,
        period: usize,
    },
    #[error("the series holds a value that is not finite at position {0}")]
    NotFinite(usize),
}

fn odd_at_least_3(name: &'static str, value: usize) -> Result<usize, StlError> {
    if value < 3 || value.is_multiple_of(2) {
        return Err(StlError::Smoother { name, value });
    }
    Ok(value)
}

impl Stl {
    /// The smoother lengths, checked as statsmodels checks them.
    fn lengths(&self) -> Result<(usize, usize, usize), StlError> {
        let p = self.period;
        if p < 2 {
            return Err(StlError::Period(p));
        }
        let ns = odd_at_least_3("seasonal", self.seasonal)?;
        let nt = match self.trend {
            Some(t) => odd_at_least_3("trend", t)?,
            None => {
                let t = (1.5 * p as f64 / (1.0 - 1.5 / ns as f64)).ceil() as usize;
                t + usize::from(t.is_multiple_of(2))
            }
        };
        let nl = match self.low_pass {
            Some(l) => odd_at_least_3("low_pass", l)?,
            None => p + 1 + usize::from((p + 1).is_multiple_of(2)),
        };
        for (name, value) in [("trend", nt), ("low_pass", nl)] {
            if value <= p {
                return Err(StlError::NotAbovePeriod {
                    name,
                    value,
                    period: p,
                });
            }
        }
        Ok((ns, nt, nl))
    }

    /// Decomposes `y`.
    pub fn fit(&self, y: &[f64]) -> Result<Decomposition, StlError> {
        check_series(y, self.period)?;
        let (ns, nt, nl) = self.lengths()?;
        let (inner, outer) = self
            .iterations
            .unwrap_or(if self.robust { (2, 15) } else { (5, 0) });
        let n = y.len();
        let np = self.period;
        let mut trend = vec![0.0; n];
        let mut season = vec![0.0; n];
        let mut rw: Option<Vec<f64>> = None;
        let mut k = 0;
        loop {
            inner_loop(
                y,
                np,
                (ns, nt, nl),
                self.jumps,
                self.seasonal_deg,
                inner,
                rw.as_deref(),
                &mut season,
                &mut trend,
            );
            k += 1;
            if k > outer {
                break;
            }
            let fit: Vec<f64> = trend.iter().zip(&season).map(|(t, s)| t + s).collect();
            rw = Some(robustness_weights(y, &fit));
        }
        let resid = (0..n).map(|i| y[i] - trend[i] - season[i]).collect();
        Ok(Decomposition {
            trend,
            seasonal: vec![season],
            resid,
            weights: rw.unwrap_or_else(|| vec![1.0; n]),
        })
    }
}

fn check_series(y: &[f64], period: usize) -> Result<(), StlError> {
    if period < 2 {
        return Err(StlError::Period(period));
    }
    if y.len() < 2 * period {
        return Err(StlError::TooShort {
            len: y.len(),
            period,
            need: 2 * period,
        });
    }
    if let Some(i) = y.iter().position(|v| !v.is_finite()) {
        return Err(StlError::NotFinite(i));
    }
    Ok(())
}

/// MSTL: several seasonal periods, each STL'd in turn from the series less the others'
/// seasons, twice round (statsmodels' `MSTL` with its defaults: periods sorted, those
/// of half the series or more left out, seasonal smoothers of 7 + 4·i for the i-th).
pub fn mstl(y: &[f64], periods: &[usize], robust: bool) -> Result<Decomposition, StlError> {
    mstl_by(y, periods, |p, i| Stl {
        seasonal: 7 + 4 * (i + 1),
        robust,
        ..Stl::new(p)
    })
}

/// MSTL with each period's STL made by `stl(period, i)` (the i-th period, from 0).
pub fn mstl_by(
    y: &[f64],
    periods: &[usize],
    stl: impl Fn(usize, usize) -> Stl,
) -> Result<Decomposition, StlError> {
    let mut periods: Vec<usize> = periods
        .iter()
        .copied()
        .filter(|&p| 2 * p < y.len())
        .collect();
    periods.sort_unstable();
    periods.dedup();
    let Some(&first) = periods.first() else {
        return Err(StlError::TooShort {
            len: y.len(),
            period: *periods.first().unwrap_or(&0),
            need: 0,
        });
    };
    check_series(y, first)?;
    let iterate = if periods.len() == 1 { 1 } else { 2 };
    let n = y.len();
    let mut seasonal = vec![vec![0.0; n]; periods.len()];
    let mut deseas = y.to_vec();
    let mut last = None;
    for _ in 0..iterate {
        for (i, &p) in periods.iter().enumerate() {
            for (d, s) in deseas.iter_mut().zip(&seasonal[i]) {
                *d += s;
            }
            let res = stl(p, i).fit(&deseas)?;
            seasonal[i] = res.seasonal.into_iter().next().unwrap_or_default();
            for (d, s) in deseas.iter_mut().zip(&seasonal[i]) {
                *d -= s;
            }
            last = Some((res.trend, res.weights));
        }
    }
    let (trend, weights) = last.unwrap_or_default();
    let resid = (0..n).map(|i| deseas[i] - trend[i]).collect();
    Ok(Decomposition {
        trend,
        seasonal,
        resid,
        weights,
    })
}

#[allow(clippy::too_many_arguments)] // the Fortran's `stlstp`, argument for argument
/// The inner loop (the Fortran's `stlstp`): `inner` passes of detrending, smoothing
/// the cycle-subseries, removing their low-pass part, and smoothing the trend.
fn inner_loop(
    y: &[f64],
    np: usize,
    (ns, nt, nl): (usize, usize, usize),
    (sj, tj, lj): (usize, usize, usize),
    seasonal_deg: u8,
    inner: usize,
    rw: Option<&[f64]>,
    season: &mut [f64],
    trend: &mut [f64],
) {
    let n = y.len();
    let mut detrended = vec![0.0; n];
    let mut cycle = vec![0.0; n + 2 * np];
    let mut low = vec![0.0; n];
    let mut smoothed = vec![0.0; n];
    let mut deseasoned = vec![0.0; n];
    for _ in 0..inner {
        for i in 0..n {
            detrended[i] = y[i] - trend[i];
        }
        cycle_subseries(&detrended, np, ns, sj, seasonal_deg, rw, &mut cycle);
        low_pass_filter(&cycle, np, &mut low);
        loess(&low, nl, 1, lj, None, &mut smoothed);
        for i in 0..n {
            season[i] = cycle[np + i] - smoothed[i];
            deseasoned[i] = y[i] - season[i];
        }
        loess(&deseasoned, nt, 1, tj, rw, trend);
    }
}

/// Smooths each cycle-subseries (every `np`-th point from each phase) with loess of
/// length `ns`, extended by one point before and after (the Fortran's `stlss`): the
/// result has `n + 2·np` points.
fn cycle_subseries(
    y: &[f64],
    np: usize,
    ns: usize,
    jump: usize,
    deg: u8,
    rw: Option<&[f64]>,
    out: &mut [f64],
) {
    let n = y.len();
    let k_max = n.div_ceil(np);
    let mut sub = Vec::with_capacity(k_max);
    let mut sub_rw = Vec::with_capacity(k_max);
    let mut fitted = vec![0.0; k_max + 2];
    for j in 0..np {
        let k = (n - j - 1) / np + 1;
        sub.clear();
        sub.extend((0..k).map(|i| y[i * np + j]));
        let weights = rw.map(|rw| {
            sub_rw.clear();
            sub_rw.extend((0..k).map(|i| rw[i * np + j]));
            sub_rw.as_slice()
        });
        loess(&sub, ns, deg, jump, weights, &mut fitted[1..=k]);
        let nright = ns.min(k);
        fitted[0] = local_fit(&sub, ns, deg, -1.0, 0, nright - 1, weights).unwrap_or(fitted[1]);
        let nleft = k.saturating_sub(ns);
        fitted[k + 1] =
            local_fit(&sub, ns, deg, k as f64, nleft, k - 1, weights).unwrap_or(fitted[k]);
        for (m, &v) in fitted[..k + 2].iter().enumerate() {
            out[m * np + j] = v;
        }
    }
}

/// Moving averages of `np`, `np` and 3 points (the Fortran's `stlfts`): `x` has
/// `n + 2·np` points, `out` gets `n`.
fn low_pass_filter(x: &[f64], np: usize, out: &mut [f64]) {
    let first = moving_average(x, np);
    let second = moving_average(&first, np);
    let third = moving_average(&second, 3);
    out.copy_from_slice(&third);
}

fn moving_average(x: &[f64], len: usize) -> Vec<f64> {
    let n = x.len() - len + 1;
    let flen = len as f64;
    let mut out = Vec::with_capacity(n);
    let mut v: f64 = x[..len].iter().sum();
    out.push(v / flen);
    for j in 1..n {
        // In statsmodels' order (`v += x[k] - x[m]`), so the two agree to the last bit.
        v += x[len + j - 1] - x[j - 1];
        out.push(v / flen);
    }
    out
}

/// Loess of length `len` and degree `deg` along `y` (the Fortran's `stless`): at every
/// `jump`-th point and the last, interpolated linearly between; where no weight is
/// left, the point itself.
fn loess(y: &[f64], len: usize, deg: u8, jump: usize, rw: Option<&[f64]>, ys: &mut [f64]) {
    let n = y.len();
    if n < 2 {
        ys[0] = y[0];
        return;
    }
    let jump = jump.clamp(1, n - 1);
    let mut every = crate::interrupt::Every::default();
    let mut fit = |i: usize, nleft: usize, nright: usize| {
        every.tick();
        local_fit(y, len, deg, i as f64, nleft, nright, rw).unwrap_or(y[i])
    };
    let (mut nleft, mut nright) = (0, len.min(n) - 1);
    if len >= n {
        nright = n - 1;
        for i in (0..n).step_by(jump) {
            ys[i] = fit(i, nleft, nright);
        }
    } else if jump == 1 {
        let half = len.div_ceil(2);
        for (i, out) in ys.iter_mut().enumerate().take(n) {
            if i + 1 > half && nright != n - 1 {
                nleft += 1;
                nright += 1;
            }
            *out = fit(i, nleft, nright);
        }
        return;
    } else {
        let half = len.div_ceil(2);
        for i in (0..n).step_by(jump) {
            (nleft, nright) = if i + 1 < half {
                (0, len - 1)
            } else if i + 1 > n - half {
                (n - len, n - 1)
            } else {
                (i + 1 - half, len + i - half)
            };
            ys[i] = fit(i, nleft, nright);
        }
    }
    if jump == 1 {
        return;
    }
    let mut i = 0;
    while i + jump < n {
        let delta = (ys[i + jump] - ys[i]) / jump as f64;
        for j in i + 1..i + jump {
            ys[j] = ys[i] + delta * (j - i) as f64;
        }
        i += jump;
    }
    // The last point, when the jumps stepped over it, with the last window.
    let k = (n - 1) / jump * jump;
    if k != n - 1 {
        ys[n - 1] = fit(n - 1, nleft, nright);
        let delta = (ys[n - 1] - ys[k]) / (n - 1 - k) as f64;
        for j in k + 1..n - 1 {
            ys[j] = ys[k] + delta * (j - k) as f64;
        }
    }
}

/// The local linear fit at `xs` from the points `nleft..=nright`, tricube-weighted by
/// distance (and by `rw` when given) — the Fortran's `stlest`; `None` when every weight
/// is zero.
///
/// One pass of weighted sums, in offsets from `xs` (small numbers, so the variance
/// `c` does not cancel), instead of the Fortran's four over a weight array: the same
/// fit — weighted mean plus slope times offset, the slope left out when the points'
/// spread is under 0.001 of the series' range — at a third of the cost. It agrees with
/// statsmodels to rounding (tested).
fn local_fit(
    y: &[f64],
    len: usize,
    deg: u8,
    xs: f64,
    nleft: usize,
    nright: usize,
    rw: Option<&[f64]>,
) -> Option<f64> {
    let n = y.len();
    let range = n as f64 - 1.0;
    let mut h = (xs - nleft as f64).max(nright as f64 - xs);
    if len > n {
        h += ((len - n) / 2) as f64;
    }
    let (h9, h1) = (0.999 * h, 0.001 * h);
    let (mut s0, mut s1, mut s2, mut sy, mut sdy) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for j in nleft..=nright {
        let d = j as f64 - xs;
        let r = d.abs();
        if r > h9 {
            continue;
        }
        let mut w = if r <= h1 {
            1.0
        } else {
            let q = r / h;
            let t = 1.0 - q * q * q;
            t * t * t
        };
        if let Some(rw) = rw {
            w *= rw[j];
        }
        s0 += w;
        s1 += w * d;
        s2 += w * d * d;
        sy += w * y[j];
        sdy += w * d * y[j];
    }
    if s0 <= 0.0 {
        return None;
    }
    let mean = sy / s0;
    if h > 0.0 && deg > 0 {
        let a = s1 / s0;
        let c = s2 / s0 - a * a;
        if c.sqrt() > 0.001 * range {
            // The Fortran's b = (xs − a)/c in offsets from xs is −a/c.
            return Some(mean - a / c * (sdy / s0 - a * mean));
        }
    }
    Some(mean)
}

/// Bisquare weights of the residuals against six times their median (the Fortran's
/// `stlrwt`).
fn robustness_weights(y: &[f64], fit: &[f64]) -> Vec<f64> {
    let n = y.len();
    let r: Vec<f64> = y.iter().zip(fit).map(|(a, b)| (a - b).abs()).collect();
    let mut sorted = r.clone();
    sorted.sort_by(f64::total_cmp);
    let (m1, m2) = (n / 2, n - n / 2 - 1);
    let cmad = 3.0 * (sorted[m1] + sorted[m2]);
    if cmad == 0.0 {
        // A perfect fit: every point weighs the same (statsmodels does likewise).
        return vec![1.0; n];
    }
    let (c9, c1) = (0.999 * cmad, 0.001 * cmad);
    r.iter()
        .map(|&r| {
            if r <= c1 {
                1.0
            } else if r <= c9 {
                let u = r / cmad;
                (1.0 - u * u) * (1.0 - u * u)
            } else {
                0.0
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pure_season_and_a_line_come_apart() {
        // y = 0.5·t + 10·sin(2πt/12): STL must give the sine back as the season and
        // the line as the trend, up to the smoothers' small bias at the ends.
        let y: Vec<f64> = (0..120)
            .map(|t| 0.5 * t as f64 + 10.0 * (std::f64::consts::TAU * t as f64 / 12.0).sin())
            .collect();
        let d = Stl::new(12).fit(&y).unwrap();
        for t in 24..96 {
            let season = 10.0 * (std::f64::consts::TAU * t as f64 / 12.0).sin();
            assert!((d.seasonal[0][t] - season).abs() < 0.5, "t={t}");
            assert!((d.trend[t] - 0.5 * t as f64).abs() < 0.5, "t={t}");
        }
        for (t, v) in y.iter().enumerate() {
            let sum = d.trend[t] + d.seasonal[0][t] + d.resid[t];
            assert!((sum - v).abs() < 1e-9);
        }
    }

    #[test]
    fn bad_input_is_refused_naming_what_is_wrong() {
        assert_eq!(Stl::new(1).fit(&[1.0; 10]), Err(StlError::Period(1)));
        assert!(matches!(
            Stl::new(12).fit(&[1.0; 20]),
            Err(StlError::TooShort { len: 20, .. })
        ));
        let even = Stl {
            seasonal: 8,
            ..Stl::new(12)
        };
        assert!(matches!(
            even.fit(&[1.0; 48]),
            Err(StlError::Smoother {
                name: "seasonal",
                ..
            })
        ));
        let mut y = vec![1.0; 48];
        y[7] = f64::NAN;
        assert_eq!(Stl::new(12).fit(&y), Err(StlError::NotFinite(7)));
    }
}
