//! The median and robust scale of a window sliding along a series.
//!
//! The online methods judge every point by the window before it. Selecting its median,
//! then the median of the distances from it, afresh at each point cost most of their
//! time (10,000 series of 720 hours: about 7 s of 9 in SQL). Kept sorted as it slides —
//! a value out and a value in, one binary search and one short walk — the window gives
//! its median at once, and the median distance from it by a binary search over the two
//! sorted runs of distances, below the median and above it.

/// A window of values, kept sorted (finite values, with −0 made +0 as they come in, so
/// that plain comparisons order them totally).
pub(crate) struct Sliding {
    sorted: Vec<f64>,
}

impl Sliding {
    pub(crate) fn with_capacity(capacity: usize) -> Sliding {
        Sliding {
            sorted: Vec::with_capacity(capacity),
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.sorted.len()
    }

    /// Where `x` goes: after every value below it.
    fn position(&self, x: f64) -> usize {
        self.sorted.partition_point(|&y| y < x)
    }

    pub(crate) fn insert(&mut self, x: f64) {
        let x = x + 0.0;
        let i = self.position(x);
        self.sorted.insert(i, x);
    }

    /// Takes out one value equal to `old`, which the window holds, and puts `new` in:
    /// one walk from where `old` was to where `new` goes.
    pub(crate) fn replace(&mut self, old: f64, new: f64) {
        let (old, new) = (old + 0.0, new + 0.0);
        let mut i = self.position(old);
        let s = &mut self.sorted;
        debug_assert!(s[i] == old, "{old} is not in the window");
        if new > old {
            while i + 1 < s.len() && s[i + 1] < new {
                s[i] = s[i + 1];
                i += 1;
            }
        } else {
            while i > 0 && s[i - 1] > new {
                s[i] = s[i - 1];
                i -= 1;
            }
        }
        s[i] = new;
    }

    /// Takes out one value equal to `x`, which the window holds.
    pub(crate) fn remove(&mut self, x: f64) {
        let x = x + 0.0;
        let i = self.position(x);
        debug_assert!(self.sorted[i] == x, "{x} is not in the window");
        self.sorted.remove(i);
    }

    /// Slides the window on: `out` leaves it (when it held a value there), `inn`
    /// comes in.
    pub(crate) fn slide(&mut self, out: Option<f64>, inn: Option<f64>) {
        match (out, inn) {
            (Some(o), Some(n)) => self.replace(o, n),
            (Some(o), None) => self.remove(o),
            (None, Some(n)) => self.insert(n),
            (None, None) => {}
        }
    }

    /// What [`super::center_and_scale`] gives for the values of the window, bit for bit
    /// but for the mean absolute deviation's rounding (summed in sorted order here).
    pub(crate) fn center_and_scale(&self) -> (f64, f64) {
        let s = &self.sorted;
        let n = s.len();
        let mid = n / 2;
        let m = if n % 2 == 1 {
            s[mid]
        } else {
            (s[mid - 1] + s[mid]) / 2.0
        };
        // The distances |x − m| are two sorted runs: `below(i)` leftwards from the last
        // value under m, `above(j)` rightwards from the first at or above it. The MAD
        // is the `mid`-th smallest of both (with the one before it, for an even
        // window): a binary search for how many of the `mid + 1` smallest come from
        // each run.
        let split = s.partition_point(|&x| x < m);
        let below = |i: usize| (s[split - 1 - i] - m).abs();
        let above = |j: usize| (s[split + j] - m).abs();
        let (runs_below, runs_above) = (split, n - split);
        let count = mid + 1;
        let (mut lo, mut hi) = (count.saturating_sub(runs_above), count.min(runs_below));
        while lo < hi {
            // Taking i from below is enough when the next below is no nearer than the
            // last taken above.
            let i = (lo + hi) / 2;
            if below(i) >= above(count - i - 1) {
                hi = i;
            } else {
                lo = i + 1;
            }
        }
        let (i, j) = (lo, count - lo);
        let last_below = (i > 0).then(|| below(i - 1));
        let last_above = (j > 0).then(|| above(j - 1));
        let at_mid = last_below.max_by_float(last_above);
        let mad = if n % 2 == 1 {
            at_mid
        } else {
            // The one before: the largest of what is taken once the largest is put back.
            let before = if last_below.is_some_and(|b| b == at_mid) {
                (i > 1).then(|| below(i - 2)).max_by_float(last_above)
            } else {
                last_below.max_by_float((j > 1).then(|| above(j - 2)))
            };
            (before + at_mid) / 2.0
        };
        let mean_abs = || s.iter().map(|x| (x - m).abs()).sum::<f64>() / n as f64;
        (m, super::robust_scale(mad, mean_abs))
    }
}

/// The larger of two values either of which may be missing (not both).
trait MaxByFloat {
    fn max_by_float(self, other: Option<f64>) -> f64;
}

impl MaxByFloat for Option<f64> {
    fn max_by_float(self, other: Option<f64>) -> f64 {
        match (self, other) {
            (Some(a), Some(b)) => a.max(b),
            (Some(a), None) | (None, Some(a)) => a,
            (None, None) => unreachable!("the window is not empty"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Slid along a series, the window gives what the direct definition gives for
        /// the same values: the median, and 1.4826 × the median absolute deviation
        /// (ties and small integers included, as counts have them, and the signed fractions
        /// of deviations).
        #[test]
        fn the_sliding_window_gives_the_median_and_mad_of_its_values(
            values in prop::collection::vec(prop_oneof![
                (0u8..6).prop_map(f64::from),
                (0u8..250).prop_map(f64::from),
                (-400i32..400).prop_map(|v| f64::from(v) / 8.0),
                -1e3f64..1e3,
            ], 1..200),
            width in 1usize..60,
        ) {
            let mut w = Sliding::with_capacity(width);
            let mut work = Vec::new();
            for t in 0..values.len() {
                w.slide(t.checked_sub(width).map(|o| values[o]), Some(values[t]));
                let window = &values[(t + 1).saturating_sub(width)..=t];
                prop_assert_eq!(w.len(), window.len());
                let (m, s) = w.center_and_scale();
                let (m0, s0) = super::super::center_and_scale(window, &mut work);
                prop_assert_eq!(m, m0);
                prop_assert!((s - s0).abs() <= 1e-12 * s0.abs().max(1.0), "{} vs {}", s, s0);
            }
        }
    }
}
