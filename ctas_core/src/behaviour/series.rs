//! Series on a regular grid: the times a query grouped by, with the missing steps
//! filled in, since a period without sightings is a count of zero, not a gap.

/// Why times and values cannot make a regular series. Elements are numbered from 1, as
/// SQL numbers an array's.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SeriesError {
    #[error("ts and vals must be as long as each other: ts has {ts}, vals {vals}")]
    Lengths { ts: usize, vals: usize },
    #[error(
        "ts must be in ascending order without repeats: element {0} is not after the one before it"
    )]
    NotAscending(usize),
    #[error("vals must hold finite numbers: element {0} is not")]
    NotFinite(usize),
    #[error("ts must be evenly spaced (a step of {step} µs, gaps of whole steps): element {index} is {off} µs off that grid")]
    Uneven { step: i64, index: usize, off: i64 },
    #[error(
        "filling the gaps of ts would make {0} points; at most {MAX_POINTS} are judged at once"
    )]
    TooLong(u64),
}

/// The most points one series is filled out to.
pub const MAX_POINTS: u64 = 10_000_000;

/// A series on its grid: `start + i · step` is the time of `values[i]`.
#[derive(Clone, Debug, PartialEq)]
pub struct Regular {
    pub start: i64,
    pub step: i64,
    pub values: Vec<f64>,
    /// Whether each point was given (false: a gap filled with `fill`).
    pub given: Vec<bool>,
}

/// Puts `(ts[i], vals[i])` on the grid of the smallest step between two times, the
/// missing steps filled with `fill` (zero for counts). Times in any unit, as long as it
/// is one unit (PostgreSQL's microseconds).
pub fn regular(ts: &[i64], vals: &[f64], fill: f64) -> Result<Regular, SeriesError> {
    if ts.len() != vals.len() {
        return Err(SeriesError::Lengths {
            ts: ts.len(),
            vals: vals.len(),
        });
    }
    if let Some(i) = (1..ts.len()).find(|&i| ts[i] <= ts[i - 1]) {
        return Err(SeriesError::NotAscending(i + 1));
    }
    if let Some(i) = vals.iter().position(|v| !v.is_finite()) {
        return Err(SeriesError::NotFinite(i + 1));
    }
    let Some(step) = ts.windows(2).map(|w| w[1] - w[0]).min() else {
        return Ok(Regular {
            start: ts.first().copied().unwrap_or(0),
            step: 1,
            values: vals.to_vec(),
            given: vec![true; vals.len()],
        });
    };
    let start = ts[0];
    if let Some(i) = ts.iter().position(|t| (t - start) % step != 0) {
        return Err(SeriesError::Uneven {
            step,
            index: i + 1,
            off: (ts[i] - start) % step,
        });
    }
    let len = ((ts[ts.len() - 1] - start) / step) as u64 + 1;
    if len > MAX_POINTS {
        return Err(SeriesError::TooLong(len));
    }
    let mut values = vec![fill; len as usize];
    let mut given = vec![false; len as usize];
    for (t, v) in ts.iter().zip(vals) {
        let i = ((t - start) / step) as usize;
        values[i] = *v;
        given[i] = true;
    }
    Ok(Regular {
        start,
        step,
        values,
        given,
    })
}

/// The seasonal periods, in points, of a series with this step: a day and a week for
/// hourly series, a week for daily ones, none otherwise.
pub fn default_periods(step_micros: i64) -> Vec<usize> {
    const HOUR: i64 = 3_600_000_000;
    match step_micros {
        HOUR => vec![24, 168],
        s if s == 24 * HOUR => vec![7],
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: i64 = 3_600_000_000;

    #[test]
    fn gaps_are_filled_with_the_fill_value_on_the_grid() {
        let r = regular(&[0, HOUR, 4 * HOUR], &[3.0, 4.0, 5.0], 0.0).unwrap();
        assert_eq!(r.step, HOUR);
        assert_eq!(r.values, vec![3.0, 4.0, 0.0, 0.0, 5.0]);
        assert_eq!(r.given, vec![true, true, false, false, true]);
        assert_eq!(default_periods(r.step), vec![24, 168]);
        assert_eq!(default_periods(24 * HOUR), vec![7]);
        assert!(default_periods(15 * 60_000_000).is_empty());
    }

    #[test]
    fn bad_series_are_refused_naming_the_element_from_1() {
        assert_eq!(
            regular(&[0, 1], &[1.0], 0.0),
            Err(SeriesError::Lengths { ts: 2, vals: 1 })
        );
        assert_eq!(
            regular(&[0, 2, 2], &[1.0; 3], 0.0),
            Err(SeriesError::NotAscending(3))
        );
        assert_eq!(
            regular(&[0, 2, 5], &[1.0; 3], 0.0),
            Err(SeriesError::Uneven {
                step: 2,
                index: 3,
                off: 1
            })
        );
        assert_eq!(
            regular(&[0, 1], &[1.0, f64::INFINITY], 0.0),
            Err(SeriesError::NotFinite(2))
        );
        assert_eq!(
            regular(&[0, 1, 20_000_000], &[1.0; 3], 0.0),
            Err(SeriesError::TooLong(20_000_001))
        );
    }
}
