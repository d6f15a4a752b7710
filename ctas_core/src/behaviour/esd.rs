//! The seasonal hybrid ESD test (Hochenbaum, Vallis and Kejariwal, 2017, "Automatic
//! Anomaly Detection in the Cloud Via Statistical Learning"), as Twitter's
//! AnomalyDetection package runs it: the season (robust STL) and the median are taken
//! out, then Rosner's generalized ESD test (1983) runs on the rest with the median and
//! the MAD in place of the mean and the standard deviation.

use super::{center_and_scale, decompose, median, score, BehaviourError, Options, Point};

/// Judges the whole series: the points the test finds anomalous are flagged; every
/// point's score is its hybrid z against the critical value of the last test made.
/// With `counts`, each residual is divided by √(season + median) first: counts spread
/// as their mean does (Poisson), and a busy hour's residuals would otherwise be taken
/// for outliers against a quiet hour's.
pub(super) fn seasonal_hybrid(values: &[f64], o: &Options) -> Result<Vec<Point>, BehaviourError> {
    let n = values.len();
    let seasonal = match decompose(values, &o.periods)? {
        Some(d) => d.seasonal_sum(),
        None => vec![0.0; n],
    };
    let level = median(&mut values.to_vec());
    let unit = |t: usize| o.unit(seasonal[t] + level);
    let resid: Vec<f64> = (0..n)
        .map(|t| (values[t] - seasonal[t] - level) / unit(t))
        .collect();
    let max_anomalies = ((o.max_share * n as f64) as usize).max(1);
    let (found, critical) = generalized_esd(&resid, max_anomalies, o.significance, true);
    let (m, s) = center_and_scale(&resid, &mut Vec::new());
    let mut flagged = vec![false; n];
    for &i in &found {
        flagged[i] = true;
    }
    Ok((0..n)
        .map(|t| {
            let expected = seasonal[t] + level + m * unit(t);
            let scale = s * unit(t);
            let z = if scale > 0.0 {
                (values[t] - expected) / scale
            } else {
                0.0
            };
            Point {
                expected: Some(expected),
                lower: Some(expected - critical * scale),
                upper: Some(expected + critical * scale),
                score: score(z, critical),
                is_anomaly: flagged[t],
            }
        })
        .collect())
}

/// Rosner's generalized ESD — `hybrid`: with the median and the MAD (1.4826 · MAD, as
/// R's `mad`) for the mean and the standard deviation — up to `max_anomalies` times, the point furthest from the median of those left is
/// tested against the critical value `λ_i` and taken out. The anomalies are the points
/// of every test up to the last one whose statistic exceeded its `λ_i`. Returns them
/// and the critical value of the last test made (the band the rest lie within).
pub(super) fn generalized_esd(
    x: &[f64],
    max_anomalies: usize,
    alpha: f64,
    hybrid: bool,
) -> (Vec<usize>, f64) {
    let n = x.len();
    let mut left: Vec<usize> = (0..n).collect();
    let mut taken = Vec::new();
    let mut anomalies = 0;
    let mut critical = f64::INFINITY;
    let mut work = Vec::with_capacity(n);
    for i in 1..=max_anomalies.min(n.saturating_sub(3)) {
        crate::interrupt::check();
        let values: Vec<f64> = left.iter().map(|&k| x[k]).collect();
        let (m, s) = if hybrid {
            center_and_scale(&values, &mut work)
        } else {
            mean_and_sd(&values)
        };
        if s == 0.0 {
            break;
        }
        let (pos, r) = values
            .iter()
            .enumerate()
            .map(|(p, v)| (p, (v - m).abs() / s))
            .fold(
                (0, f64::NEG_INFINITY),
                |best, c| if c.1 > best.1 { c } else { best },
            );
        let size = (n - i + 1) as f64;
        let p = 1.0 - alpha / (2.0 * size);
        let t = super::student_t::quantile(p, size - 2.0);
        critical = (size - 1.0) * t / ((size - 2.0 + t * t) * size).sqrt();
        if r > critical {
            anomalies = i;
        }
        taken.push(left.remove(pos));
    }
    taken.truncate(anomalies);
    taken.sort_unstable();
    (taken, critical)
}

/// The mean and the sample standard deviation.
fn mean_and_sd(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    let ss = v.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>();
    (mean, (ss / (n - 1.0)).sqrt())
}
