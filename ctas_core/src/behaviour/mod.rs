//! Behaviour over time: which points of a series — sightings of an indicator per hour,
//! reports of a source per day, events in an H3 cell — are out of the ordinary, with
//! the expected value and band that make the judgement readable.
//!
//! Two modes. *Online*: a point is judged only by the points before it, as an alert on
//! an arriving sighting must be (no look-ahead). *Retrospective*: the whole series is
//! seen at once, as a hunt over history can afford.
//!
//! Detectors ([`Method`]): a robust z-score against a trailing window (median and MAD);
//! EWMA with control limits; seasonal — STL/MSTL's residual in retrospect ([`stl`]),
//! online the median of the same hour of the preceding days or weeks; and the seasonal
//! hybrid ESD test (retrospective). Each point gets a score in [0, 1], one half exactly
//! at the flagging threshold, so scores read alike across methods.

mod esd;
pub mod events;
pub mod series;
pub mod stl;
mod student_t;
mod window;

use crate::interrupt::Every;
use window::Sliding;

/// How a point is judged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// Seasonal when the series has a season and history enough, else robust z.
    Auto,
    /// `(x − median) / (1.4826 · MAD)` of a trailing window (online) or of the series.
    RobustZ,
    /// An exponentially weighted moving average with control limits (Roberts, 1959).
    Ewma,
    /// Against the season: online, the median of the same phase in the preceding
    /// cycles; in retrospect, the residual of STL (MSTL for several periods).
    Seasonal,
    /// The seasonal hybrid ESD test (Hochenbaum, Vallis and Kejariwal, 2017), in
    /// retrospect only.
    Esd,
}

impl Method {
    pub const ALL: [Method; 5] = [
        Method::Auto,
        Method::RobustZ,
        Method::Ewma,
        Method::Seasonal,
        Method::Esd,
    ];

    /// The name used in SQL and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Auto => "auto",
            Method::RobustZ => "robust_z",
            Method::Ewma => "ewma",
            Method::Seasonal => "seasonal",
            Method::Esd => "esd",
        }
    }

    pub fn parse(name: &str) -> Option<Method> {
        Method::ALL.into_iter().find(|m| m.as_str() == name)
    }
}

/// Whether a point may be judged by the points after it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Online,
    Retrospective,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Online => "online",
            Mode::Retrospective => "retrospective",
        }
    }

    pub fn parse(name: &str) -> Option<Mode> {
        [Mode::Online, Mode::Retrospective]
            .into_iter()
            .find(|m| m.as_str() == name)
    }
}

/// What to detect with; [`Options::new`] gives the defaults.
#[derive(Clone, Debug, PartialEq)]
pub struct Options {
    pub method: Method,
    pub mode: Mode,
    /// Seasonal periods in points (hourly data: 24 and 168); none for a series
    /// without a season.
    pub periods: Vec<usize>,
    /// How far the robust z-score looks back, in points.
    pub window: usize,
    /// The flagging threshold, in robust standard deviations (EWMA: its L).
    pub threshold: f64,
    /// EWMA's weight of the newest point.
    pub alpha: f64,
    /// ESD: at most this share of the points is tested as anomalous.
    pub max_share: f64,
    /// ESD: the significance level of each test.
    pub significance: f64,
    /// The values are counts: no scale is taken below Poisson's, √expected (at least
    /// 1), so a handful of sightings where a few are usual is not an anomaly however
    /// quiet the window was.
    pub counts: bool,
}

impl Options {
    pub fn new(method: Method, mode: Mode, periods: Vec<usize>) -> Options {
        Options {
            method,
            mode,
            periods,
            window: HISTORY,
            threshold: 3.0,
            alpha: 0.3,
            max_share: 0.1,
            significance: 0.05,
            counts: true,
        }
    }
}

/// How one point was judged.
#[derive(Clone, Debug, PartialEq)]
pub struct Point {
    /// The value the method expected; `None` before it has history enough.
    pub expected: Option<f64>,
    /// The band outside which a value is flagged.
    pub lower: Option<f64>,
    pub upper: Option<f64>,
    /// In [0, 1]: 0 as expected, 0.5 at the threshold, towards 1 beyond.
    pub score: f64,
    pub is_anomaly: bool,
}

impl Point {
    fn unjudged() -> Point {
        Point {
            expected: None,
            lower: None,
            upper: None,
            score: 0.0,
            is_anomaly: false,
        }
    }

    /// A point judged by its distance `z` (in scales) from `expected`, with band
    /// `expected ± threshold · scale`.
    fn judged(value: f64, expected: f64, scale: f64, threshold: f64) -> Point {
        let z = if scale > 0.0 {
            (value - expected) / scale
        } else if value == expected {
            0.0
        } else {
            f64::INFINITY
        };
        Point {
            expected: Some(expected),
            lower: Some(expected - threshold * scale),
            upper: Some(expected + threshold * scale),
            score: score(z, threshold),
            is_anomaly: z.abs() > threshold,
        }
    }
}

/// `z² / (z² + threshold²)`: 0 at 0, one half at the threshold, 1 at infinity.
fn score(z: f64, threshold: f64) -> f64 {
    if z.is_infinite() {
        return 1.0;
    }
    let z2 = z * z;
    z2 / (z2 + threshold * threshold)
}

/// Why a series cannot be judged.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum BehaviourError {
    #[error("value {0} of the series is not a finite number")]
    NotFinite(usize),
    #[error("{name} must be {what}, got {value}")]
    Option {
        name: &'static str,
        what: &'static str,
        value: f64,
    },
    #[error("method esd judges a whole series: it needs mode retrospective")]
    EsdOnline,
    #[error("{name} must be {what}, got {value}")]
    Named {
        name: &'static str,
        what: String,
        value: String,
    },
    #[error(transparent)]
    Stl(#[from] stl::StlError),
}

/// The points robust_z and seasonal look back unless told otherwise: two days of hours.
pub const HISTORY: usize = 48;

/// The options as the faces take them, by name: `method` and `mode` by their names,
/// `period` in points (None: from `step`, the grid's step in microseconds, as
/// [`series::default_periods`]; 0: no season), `history` the points looked back.
pub fn options_named(
    method: &str,
    mode: &str,
    period: Option<i32>,
    step: i64,
    threshold: f64,
    history: i32,
    counts: bool,
) -> Result<Options, BehaviourError> {
    let named = |name, what: String, value: String| BehaviourError::Named { name, what, value };
    let method = Method::parse(method).ok_or_else(|| {
        let names: Vec<&str> = Method::ALL.iter().map(|m| m.as_str()).collect();
        named(
            "method",
            format!("one of {}", names.join(", ")),
            format!("'{method}'"),
        )
    })?;
    let mode = Mode::parse(mode).ok_or_else(|| {
        named(
            "mode",
            "online or retrospective".into(),
            format!("'{mode}'"),
        )
    })?;
    let periods = match period {
        None => series::default_periods(step),
        Some(0) => Vec::new(),
        Some(p) if p >= 2 => vec![p as usize],
        Some(p) => {
            return Err(named(
                "period",
                "at least 2 points (0: no season, none: from the step)".into(),
                p.to_string(),
            ))
        }
    };
    if history < 3 {
        return Err(named(
            "history",
            "at least 3 points".into(),
            history.to_string(),
        ));
    }
    Ok(Options {
        window: history as usize,
        threshold,
        counts,
        ..Options::new(method, mode, periods)
    })
}

/// Judges every point of `values` (evenly spaced, oldest first).
pub fn anomalies(values: &[f64], o: &Options) -> Result<Vec<Point>, BehaviourError> {
    if let Some(i) = values.iter().position(|v| !v.is_finite()) {
        return Err(BehaviourError::NotFinite(i));
    }
    check(o)?;
    // Auto takes the season when the seasonal method can use it: online from three
    // cycles (two to expect from, one to scale), in retrospect from four (`decompose`).
    let cycles = match o.mode {
        Mode::Online => 3,
        Mode::Retrospective => CYCLES,
    };
    let season = |n: usize| o.periods.iter().any(|&p| n >= cycles * p);
    let method = match o.method {
        Method::Auto if season(values.len()) => Method::Seasonal,
        Method::Auto => Method::RobustZ,
        m => m,
    };
    Ok(match (method, o.mode) {
        (Method::Esd, Mode::Online) => return Err(BehaviourError::EsdOnline),
        (Method::Esd, Mode::Retrospective) => esd::seasonal_hybrid(values, o)?,
        (Method::RobustZ, Mode::Online) => robust_online(values, o),
        (Method::RobustZ, Mode::Retrospective) => robust_whole(values, o),
        (Method::Ewma, _) => ewma(values, o),
        (Method::Seasonal, Mode::Online) => seasonal_online(values, o),
        (Method::Seasonal, Mode::Retrospective) => seasonal_whole(values, o)?,
        (Method::Auto, _) => unreachable!("auto is resolved above"),
    })
}

fn check(o: &Options) -> Result<(), BehaviourError> {
    let bad = |name, what, value: f64| Err(BehaviourError::Option { name, what, value });
    if !(o.threshold.is_finite() && o.threshold > 0.0) {
        return bad("threshold", "a positive number", o.threshold);
    }
    if o.window < 3 {
        return bad("window", "at least 3 points", o.window as f64);
    }
    if !(o.alpha > 0.0 && o.alpha <= 1.0) {
        return bad("alpha", "in (0, 1]", o.alpha);
    }
    if !(o.max_share > 0.0 && o.max_share < 0.5) {
        return bad("max_share", "in (0, 0.5)", o.max_share);
    }
    if !(o.significance > 0.0 && o.significance < 1.0) {
        return bad("significance", "in (0, 1)", o.significance);
    }
    if let Some(&p) = o.periods.iter().find(|&&p| p < 2) {
        return bad("period", "at least 2 points", p as f64);
    }
    Ok(())
}

/// The median of `v` (reordered).
pub(crate) fn median(v: &mut [f64]) -> f64 {
    let n = v.len();
    let mid = n / 2;
    if n <= 8 {
        // A few values (the online seasonal method's same hours of up to four days):
        // sorting them in place beats selecting.
        for i in 1..n {
            let mut j = i;
            while j > 0 && v[j - 1] > v[j] {
                v.swap(j - 1, j);
                j -= 1;
            }
        }
        return if n % 2 == 1 {
            v[mid]
        } else {
            (v[mid - 1] + v[mid]) / 2.0
        };
    }
    let (_, &mut upper, _) = v.select_nth_unstable_by(mid, f64::total_cmp);
    if n % 2 == 1 {
        upper
    } else {
        let lower = v[..mid].iter().copied().fold(f64::NEG_INFINITY, f64::max);
        (lower + upper) / 2.0
    }
}

/// The median of `v` and its robust scale: 1.4826 · MAD, the standard deviation of
/// normal data; when over half the values are equal (MAD 0), 1.2533 times the mean
/// absolute deviation from the median, its normal-consistent counterpart.
pub(crate) fn center_and_scale(v: &[f64], work: &mut Vec<f64>) -> (f64, f64) {
    work.clear();
    work.extend_from_slice(v);
    let m = median(work);
    for x in work.iter_mut() {
        *x = (*x - m).abs();
    }
    let mad = median(work);
    (
        m,
        robust_scale(mad, || work.iter().sum::<f64>() / work.len() as f64),
    )
}

/// 1.4826 · MAD, or 1.2533 times the mean absolute deviation (`mean_abs`, asked only
/// then) when the MAD is 0: the rule of [`center_and_scale`], shared with the sliding
/// window's.
pub(crate) fn robust_scale(mad: f64, mean_abs: impl FnOnce() -> f64) -> f64 {
    if mad > 0.0 {
        1.4826 * mad
    } else {
        1.2533 * mean_abs()
    }
}

/// Fewer points of history than this and a point is not judged: a robust scale from
/// fewer is mostly chance.
const MIN_HISTORY: usize = 12;

impl Options {
    /// A scale as the options want it: with counts, at least Poisson's.
    fn scale(&self, scale: f64, expected: f64) -> f64 {
        if self.counts {
            scale.max(expected.abs().max(1.0).sqrt())
        } else {
            scale
        }
    }

    /// `Point::judged` with this scale floor and threshold.
    fn judge(&self, value: f64, expected: f64, scale: f64) -> Point {
        Point::judged(value, expected, self.scale(scale, expected), self.threshold)
    }

    /// What differences from `expected` are divided by before their spread is taken:
    /// with counts, √expected (at least 1), since counts spread as their mean does
    /// (Poisson) and a busy hour's differences would otherwise be taken for outliers
    /// against a quiet hour's; otherwise 1.
    fn unit(&self, expected: f64) -> f64 {
        if self.counts {
            expected.abs().max(1.0).sqrt()
        } else {
            1.0
        }
    }

    /// A point judged against `fit`, given the center `m` and spread `s` of the
    /// differences in [`Options::unit`]s; with counts, the spread is no less than
    /// Poisson's (1 unit).
    fn judge_in_units(&self, value: f64, fit: f64, m: f64, s: f64) -> Point {
        let s = if self.counts { s.max(1.0) } else { s };
        let unit = self.unit(fit);
        Point::judged(value, fit + m * unit, s * unit, self.threshold)
    }
}

fn robust_online(values: &[f64], o: &Options) -> Vec<Point> {
    let mut window = Sliding::with_capacity(o.window + 1);
    let mut every = Every::default();
    (0..values.len())
        .map(|t| {
            every.tick();
            // The window before t: values[t − window .. t].
            if t > 0 {
                let out = (t > o.window).then(|| values[t - 1 - o.window]);
                window.slide(out, Some(values[t - 1]));
            }
            if window.len() < MIN_HISTORY {
                return Point::unjudged();
            }
            let (m, s) = window.center_and_scale();
            o.judge(values[t], m, s)
        })
        .collect()
}

fn robust_whole(values: &[f64], o: &Options) -> Vec<Point> {
    if values.len() < MIN_HISTORY {
        return values.iter().map(|_| Point::unjudged()).collect();
    }
    let (m, s) = center_and_scale(values, &mut Vec::new());
    values.iter().map(|&v| o.judge(v, m, s)).collect()
}

/// EWMA: the mean `m` and variance `v` of the points so far, exponentially weighted;
/// a point is judged against the state before it, then joins it. The same in both
/// modes: the method is sequential by nature.
fn ewma(values: &[f64], o: &Options) -> Vec<Point> {
    let a = o.alpha;
    let (mut m, mut v) = (0.0f64, 0.0f64);
    values
        .iter()
        .enumerate()
        .map(|(t, &x)| {
            let point = if t < MIN_HISTORY {
                Point::unjudged()
            } else {
                o.judge(x, m, v.sqrt())
            };
            if t == 0 {
                m = x;
            } else {
                let d = x - m;
                m += a * d;
                v = (1.0 - a) * (v + a * d * d);
            }
            point
        })
        .collect()
}

/// How many preceding cycles the online seasonal method reads.
const CYCLES: usize = 4;

/// Online seasonal: the value expected at `t` is the median of the values one, two, …
/// cycles before it (up to four), with the longest period that has two cycles of
/// history; its scale is the robust scale of the same differences over the window
/// before `t`, once they span a whole cycle of the shortest period (every hour of the
/// day, for hourly data). Until then — three cycles — a point is not judged: a robust
/// z-score of a window that the season runs through flags the season itself.
///
/// Counts are noisier where they are higher, so differences are taken in
/// [`Options::unit`]s: a busy hour is not held to a quiet hour's spread.
fn seasonal_online(values: &[f64], o: &Options) -> Vec<Point> {
    let mut periods = o.periods.clone();
    periods.sort_unstable_by(|a, b| b.cmp(a));
    let shortest = periods.last().copied().unwrap_or(0);
    let expect = |t: usize| -> Option<f64> {
        let p = *periods.iter().find(|&&p| t >= 2 * p)?;
        let mut same = [0.0; CYCLES];
        let mut k = 0;
        while k < CYCLES && t >= (k + 1) * p {
            same[k] = values[t - (k + 1) * p];
            k += 1;
        }
        Some(median(&mut same[..k]))
    };
    let expected: Vec<Option<f64>> = (0..values.len()).map(expect).collect();
    let deviation: Vec<Option<f64>> = (0..values.len())
        .map(|s| expected[s].map(|es| (values[s] - es) / o.unit(es)))
        .collect();
    let mut window = Sliding::with_capacity(o.window + 1);
    let mut every = Every::default();
    (0..values.len())
        .map(|t| {
            every.tick();
            // The deviations of the window before t, those that have one.
            if t > 0 {
                let out = (t > o.window)
                    .then(|| deviation[t - 1 - o.window])
                    .flatten();
                window.slide(out, deviation[t - 1]);
            }
            let Some(e) = expected[t] else {
                return Point::unjudged();
            };
            if window.len() < shortest.min(o.window).max(MIN_HISTORY) {
                return Point::unjudged();
            }
            let (m, s) = window.center_and_scale();
            o.judge_in_units(values[t], e, m, s)
        })
        .collect()
}

/// Trend and season taken out of the whole series: STL with a periodic season, fitted
/// robustly (R's `stl(s.window = "periodic", robust = TRUE)`, as Twitter's S-H-ESD
/// runs it; see [`stl::Stl::periodic`]), MSTL of such for several periods. A period is taken out only when the series holds four cycles of
/// it: a season smoothed from fewer is mostly the noise of those few (three weeks of
/// hourly counts make a weekly "season" that flags half of the middle week). `None`
/// when no period has four cycles.
pub(crate) fn decompose(
    values: &[f64],
    periods: &[usize],
) -> Result<Option<stl::Decomposition>, BehaviourError> {
    let fitting: Vec<usize> = periods
        .iter()
        .copied()
        .filter(|&p| values.len() >= CYCLES * p)
        .collect();
    let n = values.len();
    Ok(match fitting.as_slice() {
        [] => None,
        [p] => Some(stl::Stl::periodic(*p, n).fit(values)?),
        _ => Some(stl::mstl_by(values, &fitting, |p, _| {
            stl::Stl::periodic(p, n)
        })?),
    })
}

/// Retrospective seasonal: trend and season taken out ([`decompose`]), the residual is
/// judged by its robust z-score (in [`Options::unit`]s, as the online method's).
fn seasonal_whole(values: &[f64], o: &Options) -> Result<Vec<Point>, BehaviourError> {
    let Some(d) = decompose(values, &o.periods)? else {
        return Ok(robust_whole(values, o));
    };
    let seasonal = d.seasonal_sum();
    let fit: Vec<f64> = (0..values.len())
        .map(|t| d.trend[t] + seasonal[t])
        .collect();
    let standardized: Vec<f64> = (0..values.len())
        .map(|t| (values[t] - fit[t]) / o.unit(fit[t]))
        .collect();
    let (m, s) = center_and_scale(&standardized, &mut Vec::new());
    Ok((0..values.len())
        .map(|t| o.judge_in_units(values[t], fit[t], m, s))
        .collect())
}

#[cfg(test)]
mod tests;
