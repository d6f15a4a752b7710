//! IOC extraction throughput on realistic report text, and on hostile text.
//!
//!     scripts/bench.sh ioc     (generates the corpus, runs this, then the peers and SQL)
//!
//! The corpus is `python/ctas/bench/corpus.py`'s output (one report per line, `\n` escaped),
//! named by `CTAS_IOC_CORPUS`; the same file is read by the Python extractors and loaded
//! into PostgreSQL, so every figure is on the same text.

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use ctas_core::ioc;

fn corpus() -> Vec<String> {
    let path = std::env::var("CTAS_IOC_CORPUS").unwrap_or_else(|_| {
        panic!("CTAS_IOC_CORPUS is not set: run scripts/bench.sh ioc, which generates the corpus")
    });
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read the corpus {path}: {e}"));
    text.lines()
        .map(|l| l.replace("\\n", "\n").replace("\\\\", "\\"))
        .collect()
}

fn extraction(c: &mut Criterion) {
    let reports = corpus();
    let bytes: usize = reports.iter().map(String::len).sum();
    let mut g = c.benchmark_group("ioc");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(bytes as u64));
    g.bench_function("extract_reports", |b| {
        b.iter(|| {
            reports
                .iter()
                .map(|r| ioc::extract(black_box(r)).len())
                .sum::<usize>()
        })
    });
    g.bench_function("refang_reports", |b| {
        b.iter(|| {
            reports
                .iter()
                .map(|r| ioc::refang(black_box(r)).len())
                .sum::<usize>()
        })
    });
    let one_line = reports.join(" ");
    g.bench_function("extract_one_10MB_line", |b| {
        b.iter(|| ioc::extract(black_box(&one_line)).len())
    });
    g.finish();

    // Hostile text: a megabyte of one character (or a pair). Time per byte must not grow.
    let mut h = c.benchmark_group("ioc_hostile");
    h.sample_size(10);
    for (name, unit) in [
        ("dots", "."),
        ("brackets", "["),
        ("hex_digits", "a"),
        ("defanged_schemes", "hxxp[:]//"),
        ("digits_dots", "1."),
        ("at_signs", "a@"),
        ("url_brackets", "http://a.example.com/a["),
        ("url_empty_queries", "a.example.com/a?\n"),
    ] {
        let text = unit.repeat(1_000_000 / unit.len());
        h.throughput(Throughput::Bytes(text.len() as u64));
        h.bench_function(name, |b| b.iter(|| ioc::extract(black_box(&text)).len()));
    }
    h.finish();
}

criterion_group!(benches, extraction);
criterion_main!(benches);
