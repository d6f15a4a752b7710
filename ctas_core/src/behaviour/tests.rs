use super::*;
use proptest::prelude::*;

/// Hourly counts with a daily cycle, from a seed (deterministic): a level of 20 to 80
/// and noise of about a count's own (Poisson: a standard deviation of √level), drawn
/// uniform with that spread.
fn hourly(days: usize, seed: u64) -> Vec<f64> {
    let mut state = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..days * 24)
        .map(|t| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let u = (state >> 33) as f64 / (1u64 << 31) as f64 - 0.5;
            let hour = (t % 24) as f64;
            let level = 50.0 + 30.0 * (std::f64::consts::TAU * hour / 24.0).sin();
            (level + u * 12f64.sqrt() * level.sqrt()).round()
        })
        .collect()
}

fn flagged(points: &[Point]) -> Vec<usize> {
    points
        .iter()
        .enumerate()
        .filter(|(_, p)| p.is_anomaly)
        .map(|(i, _)| i)
        .collect()
}

fn options(method: Method, mode: Mode) -> Options {
    Options::new(method, mode, vec![24, 168])
}

#[test]
fn a_planted_spike_is_the_only_point_flagged_by_every_method() {
    let mut y = hourly(21, 7);
    y[400] += 120.0;
    for (method, mode) in [
        (Method::Seasonal, Mode::Online),
        (Method::Seasonal, Mode::Retrospective),
        (Method::Esd, Mode::Retrospective),
        (Method::Auto, Mode::Online),
        (Method::Auto, Mode::Retrospective),
    ] {
        let points = anomalies(&y, &options(method, mode)).unwrap();
        assert_eq!(flagged(&points), vec![400], "{method:?} {mode:?}");
        assert!(points[400].score > 0.5 && points[399].score < 0.5);
        let e = points[400].expected.unwrap();
        assert!(
            (e - (y[400] - 120.0)).abs() < 15.0,
            "{method:?} {mode:?} expected {e}"
        );
    }
}

#[test]
fn a_spike_in_a_series_without_a_season_is_found_by_robust_z_and_ewma() {
    let mut y: Vec<f64> = (0..200).map(|t| 10.0 + (t % 3) as f64).collect();
    y[150] = 40.0;
    for method in [Method::RobustZ, Method::Ewma] {
        let points = anomalies(&y, &Options::new(method, Mode::Online, vec![])).unwrap();
        assert_eq!(flagged(&points), vec![150], "{method:?}");
    }
}

#[test]
fn a_level_shift_is_flagged_where_it_starts_online() {
    let mut y = hourly(21, 3);
    for v in &mut y[300..] {
        *v += 100.0;
    }
    let points = anomalies(&y, &options(Method::Seasonal, Mode::Online)).unwrap();
    let first = flagged(&points)[0];
    assert_eq!(first, 300);
}

#[test]
fn a_dropout_to_zero_is_flagged_low() {
    let mut y = hourly(21, 11);
    for v in &mut y[410..413] {
        *v = 0.0;
    }
    for mode in [Mode::Online, Mode::Retrospective] {
        let points = anomalies(&y, &options(Method::Seasonal, mode)).unwrap();
        for t in 410..413 {
            if y[t - 1] > 20.0 {
                assert!(points[t].is_anomaly, "{mode:?} t={t}");
                assert!(points[t].lower.unwrap() > 0.0);
            }
        }
    }
}

#[test]
fn a_point_without_history_is_not_judged() {
    let y = hourly(1, 1);
    let points = anomalies(&y, &options(Method::RobustZ, Mode::Online)).unwrap();
    assert!(points[..MIN_HISTORY]
        .iter()
        .all(|p| p.expected.is_none() && !p.is_anomaly));
    assert!(points[MIN_HISTORY].expected.is_some());
    // The seasonal method judges from three cycles on: two to expect, one to scale.
    let y = hourly(4, 1);
    let points = anomalies(&y, &options(Method::Seasonal, Mode::Online)).unwrap();
    assert!(points[..72].iter().all(|p| p.expected.is_none()));
    assert!(points[72..].iter().all(|p| p.expected.is_some()));
}

#[test]
fn bad_input_is_refused_naming_what_is_wrong() {
    assert_eq!(
        anomalies(&[1.0, f64::NAN], &options(Method::Auto, Mode::Online)),
        Err(BehaviourError::NotFinite(1))
    );
    assert_eq!(
        anomalies(&[1.0; 10], &options(Method::Esd, Mode::Online)),
        Err(BehaviourError::EsdOnline)
    );
    let mut o = options(Method::Auto, Mode::Online);
    o.threshold = 0.0;
    assert!(matches!(
        anomalies(&[1.0; 10], &o),
        Err(BehaviourError::Option {
            name: "threshold",
            ..
        })
    ));
}

#[test]
fn the_score_is_one_half_at_the_threshold() {
    assert_eq!(score(3.0, 3.0), 0.5);
    assert_eq!(score(0.0, 3.0), 0.0);
    assert_eq!(score(f64::INFINITY, 3.0), 1.0);
    assert!(score(-6.0, 3.0) > 0.79);
}

#[test]
fn generalized_esd_finds_rosners_outliers() {
    // Rosner's (1983) example as the NIST/SEMATECH e-Handbook works it (section
    // 1.3.5.17.3): 54 values, up to 10 outliers tested at α = 0.05, three found.
    let x = [
        -0.25, 0.68, 0.94, 1.15, 1.20, 1.26, 1.26, 1.34, 1.38, 1.43, 1.49, 1.49, 1.55, 1.56, 1.58,
        1.65, 1.69, 1.70, 1.76, 1.77, 1.81, 1.91, 1.94, 1.96, 1.99, 2.06, 2.09, 2.10, 2.14, 2.15,
        2.23, 2.24, 2.26, 2.35, 2.37, 2.40, 2.47, 2.54, 2.62, 2.64, 2.90, 2.92, 2.92, 2.93, 3.21,
        3.26, 3.30, 3.59, 3.68, 4.30, 4.64, 5.34, 5.42, 6.01,
    ];
    let (found, _) = esd::generalized_esd(&x, 10, 0.05, false);
    assert_eq!(found, vec![51, 52, 53]);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Online means online: what comes after a point never changes how it is judged.
    #[test]
    fn online_judgement_never_looks_ahead(
        seed in 0u64..1000,
        cut in 30usize..400,
        method in prop::sample::select(vec![Method::Auto, Method::RobustZ, Method::Ewma, Method::Seasonal]),
    ) {
        let y = hourly(21, seed);
        let mut other = y.clone();
        for v in &mut other[cut..] {
            *v = 1000.0 - *v;
        }
        let o = options(method, Mode::Online);
        let a = anomalies(&y, &o).unwrap();
        let b = anomalies(&other, &o).unwrap();
        prop_assert_eq!(&a[..cut], &b[..cut]);
    }

    /// A spike planted anywhere after the first three days (the history the online
    /// seasonal method needs) is found where it was planted, by each seasonal method.
    #[test]
    fn a_spike_is_found_where_it_was_planted(seed in 0u64..1000, at in 72usize..504, size in 80.0f64..300.0) {
        let mut y = hourly(21, seed);
        y[at] += size;
        for (method, mode) in [(Method::Seasonal, Mode::Online), (Method::Seasonal, Mode::Retrospective), (Method::Esd, Mode::Retrospective)] {
            let points = anomalies(&y, &options(method, mode)).unwrap();
            prop_assert!(points[at].is_anomaly, "{:?} {:?} missed {}", method, mode, at);
            // Beside it, false alarms at about the rate a 3σ threshold gives (0.3%).
            prop_assert!(flagged(&points).len() <= 1 + 5, "{:?} {:?}: {:?}", method, mode, flagged(&points));
        }
    }
}
