//! The anomaly detectors in `ctas_core` alone, on series like the SQL benchmark's.
//!
//!     cargo bench -p ctas_core --bench behaviour
//!
//! `scripts/bench.sh anomalies` times 10,000 series of 720 hourly counts from a table
//! through `ctas_anomalies` to a count; this one tells how much of that is judging the
//! points (100 such series per iteration) and how much is SQL's rows.

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use ctas_core::behaviour::{anomalies, Method, Mode, Options};

#[path = "common/numbers.rs"]
mod numbers;
use numbers::Numbers;

/// A Poisson count of mean `lambda`: the normal approximation, rounded, which is close
/// for the means used here (5 and up).
fn poisson(rng: &mut Numbers, lambda: f64) -> f64 {
    let (u, v) = (1.0 - rng.next(), rng.next());
    let z = (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos();
    (lambda + lambda.sqrt() * z).round().max(0.0)
}

/// 100 series of 720 hourly counts around a daily cycle of random level (5 to 200) and
/// amplitude, as `benches/sql/anomalies_speed.py` makes them.
fn series() -> Vec<Vec<f64>> {
    let mut rng = Numbers(20261130);
    (0..100)
        .map(|_| {
            let level = 5.0 + 195.0 * rng.next();
            let amplitude = (0.1 + 0.7 * rng.next()) * level;
            (0..720)
                .map(|t| {
                    let phase = std::f64::consts::TAU * t as f64 / 24.0;
                    poisson(&mut rng, level + amplitude * phase.sin())
                })
                .collect()
        })
        .collect()
}

fn detectors(c: &mut Criterion) {
    let all = series();
    let mut g = c.benchmark_group("anomalies_100_series_720_hours");
    g.sample_size(20);
    for (name, method, mode) in [
        ("online_seasonal", Method::Seasonal, Mode::Online),
        ("online_robust_z", Method::RobustZ, Mode::Online),
        ("online_ewma", Method::Ewma, Mode::Online),
        (
            "retrospective_seasonal",
            Method::Seasonal,
            Mode::Retrospective,
        ),
        ("retrospective_esd", Method::Esd, Mode::Retrospective),
    ] {
        let o = Options::new(method, mode, vec![24, 168]);
        g.bench_function(name, |b| {
            b.iter(|| {
                all.iter()
                    .map(|s| anomalies(black_box(s), &o).unwrap().len())
                    .sum::<usize>()
            })
        });
    }
    g.finish();
}

criterion_group!(benches, detectors);
criterion_main!(benches);
