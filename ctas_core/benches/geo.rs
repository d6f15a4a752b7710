//! Gi* and DBSCAN in `ctas_core` alone, on the data of the SQL benchmarks.
//!
//!     cargo bench -p ctas_core --bench geo
//!
//! The SQL benchmarks (`scripts/bench.sh hotspot|dbscan`) time the same work from a
//! table to an aggregate; this one tells how much of that is the algorithm.

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use ctas_core::geo::{cell, dbscan, h3, hotspot};

#[path = "common/numbers.rs"]
mod numbers;
use numbers::Numbers;

fn getis_ord(c: &mut Criterion) {
    // 100,000 resolution-9 cells of one grid disk around Paris, exponential values.
    let centre = cell(48.8566, 2.3522, 9).unwrap();
    let mut cells = h3::grid_disk(centre, 183).unwrap();
    cells.truncate(100_000);
    let mut rng = Numbers(7);
    let values: Vec<f64> = cells
        .iter()
        .map(|_| -5.0 * (1.0 - rng.next()).ln())
        .collect();
    let mut g = c.benchmark_group("getis_ord_100k_cells");
    g.sample_size(20);
    for k in [0, 1, 2] {
        g.bench_function(format!("k{k}"), |b| {
            b.iter(|| hotspot::getis_ord(black_box(&cells), &values, k, hotspot::Kernel::Uniform))
        });
    }
    // The same cells in random order, as a GROUP BY of a hash aggregate hands them over
    // (the grid disk's order keeps neighbours close in the input, and so in the cache).
    let (mut shuffled, mut shuffled_values) = (cells.clone(), values.clone());
    for i in (1..shuffled.len()).rev() {
        let j = (rng.next() * (i + 1) as f64) as usize;
        shuffled.swap(i, j);
        shuffled_values.swap(i, j);
    }
    g.bench_function("k1_random_order", |b| {
        b.iter(|| {
            hotspot::getis_ord(
                black_box(&shuffled),
                &shuffled_values,
                1,
                hotspot::Kernel::Uniform,
            )
        })
    });
    g.finish();
}

fn dbscan_1m(c: &mut Criterion) {
    // 1,000,000 points within 50 km of Paris: 80 % in 2,000 clusters about 160 m across,
    // 20 % uniform noise (as benches/sql/dbscan_postgis.py generates them).
    let mut rng = Numbers(11);
    let centres: Vec<(f64, f64)> = (0..2000)
        .map(|_| {
            (
                48.8566 + (rng.next() - 0.5) * 0.9,
                2.3522 + (rng.next() - 0.5) * 1.35,
            )
        })
        .collect();
    let (mut lats, mut lngs) = (Vec::new(), Vec::new());
    for i in 1..=1_000_000usize {
        let (lat0, lng0) = centres[i % 2000];
        if i % 5 == 0 {
            lats.push(48.8566 + (rng.next() - 0.5) * 0.9);
            lngs.push(2.3522 + (rng.next() - 0.5) * 1.35);
        } else {
            lats.push(lat0 + (rng.next() - 0.5) * 0.0015);
            lngs.push(lng0 + (rng.next() - 0.5) * 0.0022);
        }
    }
    let mut g = c.benchmark_group("dbscan_1m_points");
    g.sample_size(10);
    g.bench_function("eps50_min5", |b| {
        b.iter(|| dbscan::dbscan(black_box(&lats), &lngs, 50.0, 5).unwrap())
    });
    g.finish();
}

fn latlng_to_cell(c: &mut Criterion) {
    // 10,000 points uniform on latitude and longitude, as benches/sql/h3_cell_rows.py.
    let mut rng = Numbers(5);
    let points: Vec<(f64, f64)> = (0..10_000)
        .map(|_| (rng.next() * 180.0 - 90.0, rng.next() * 360.0 - 180.0))
        .collect();
    let mut g = c.benchmark_group("cell_10k_points");
    for res in [9, 15] {
        g.bench_function(format!("res{res}"), |b| {
            b.iter(|| {
                points
                    .iter()
                    .map(|&(lat, lng)| cell(black_box(lat), lng, res).unwrap() % 7)
                    .sum::<u64>()
            })
        });
    }
    g.finish();
}

criterion_group!(benches, getis_ord, dbscan_1m, latlng_to_cell);
criterion_main!(benches);
