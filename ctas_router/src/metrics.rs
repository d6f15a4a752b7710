//! What `/metrics` says, in the Prometheus text format (0.0.4): counters kept as the
//! router works, latency histograms per route, and gauges read when scraped.
//!
//! Names follow Prometheus' conventions (`promtool check metrics` lints them in the
//! tests): a unit in the name, `_total` on counters, base units (seconds, bytes).

use std::collections::BTreeMap;
use std::fmt::{Display, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use crate::hot::CountsSnapshot;
use crate::tiers::TierName;

/// Upper bounds of the latency buckets, in seconds: from 100 µs (a lookup in sled) to a
/// minute (the request timeout's default).
pub const LATENCY_BUCKETS: [f64; 18] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0, 30.0, 60.0,
];

/// Counters of one downstream tier.
#[derive(Default)]
pub struct TierCounters {
    /// Records written to the tier.
    pub written: AtomicU64,
    /// Batches that failed and will be retried.
    pub failures: AtomicU64,
}

/// A latency histogram: a count per bucket (not cumulative; [`Metrics::render`] sums
/// them), the number of observations and their sum.
#[derive(Default)]
pub struct Histogram {
    buckets: [AtomicU64; LATENCY_BUCKETS.len()],
    count: AtomicU64,
    sum_nanos: AtomicU64,
}

impl Histogram {
    fn observe(&self, elapsed: Duration) {
        let seconds = elapsed.as_secs_f64();
        if let Some(i) = LATENCY_BUCKETS.iter().position(|&b| seconds <= b) {
            self.buckets[i].fetch_add(1, Ordering::Relaxed);
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        let nanos = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
        self.sum_nanos.fetch_add(nanos, Ordering::Relaxed);
    }
}

/// A route as the API declares it (`/v1/indicators/{value}`, not the value asked), the
/// method, and the status answered: bounded, so the series are too.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct RequestKey {
    route: String,
    method: String,
    status: u16,
}

/// Who answered a lookup: the tier that knew the value, or none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Answered {
    /// The hot tier knew it.
    Hot,
    /// The warm tier knew it (the hot tier did not).
    Warm,
    /// Only the cold tier knew it.
    Cold,
    /// No tier knew it.
    Unknown,
    /// It is no indicator (a 422).
    Invalid,
    /// Not in the hot tier, and a lower tier did not answer (a 503).
    Unavailable,
}

impl Answered {
    const ALL: [Answered; 6] = [
        Answered::Hot,
        Answered::Warm,
        Answered::Cold,
        Answered::Unknown,
        Answered::Invalid,
        Answered::Unavailable,
    ];

    fn labels(self) -> &'static str {
        match self {
            Answered::Hot => r#"{tier="hot",result="found"}"#,
            Answered::Warm => r#"{tier="warm",result="found"}"#,
            Answered::Cold => r#"{tier="cold",result="found"}"#,
            Answered::Unknown => r#"{tier="none",result="unknown"}"#,
            Answered::Invalid => r#"{tier="none",result="invalid"}"#,
            Answered::Unavailable => r#"{tier="none",result="unavailable"}"#,
        }
    }
}

/// Everything the router counts.
#[derive(Default)]
pub struct Metrics {
    /// Records accepted (flushed to the hot tier).
    pub ingested: AtomicU64,
    /// Requests refused for bad input.
    pub rejected: AtomicU64,
    /// Hot copies dropped by demotion (older than the hot TTL, confirmed below).
    pub demoted: AtomicU64,
    /// Warm reports and records dropped by demotion (older than the warm TTL, in cold).
    pub warm_demoted: AtomicU64,
    /// Per downstream tier, in [`TierName::DOWNSTREAM`] order.
    pub tiers: [TierCounters; 3],
    requests: RwLock<BTreeMap<RequestKey, Arc<Histogram>>>,
    lookups: [AtomicU64; 6],
    problems: Mutex<BTreeMap<&'static str, u64>>,
}

/// What is read when scraped: the hot tier's counters, each outbox's lag, which tiers
/// answered, how much the stores take.
#[derive(Debug, Clone, Default)]
pub struct Gauges {
    /// Records held, pending and dead letters.
    pub hot: CountsSnapshot,
    /// Seconds since the oldest entry still pending for each downstream tier was made;
    /// 0 when nothing is pending, None when unknown.
    pub lag: [Option<f64>; 3],
    /// Whether each downstream tier answered a ping just now; None when it is off.
    pub up: [Option<bool>; 3],
    /// Bytes each store takes, where the router can tell (`hot`, `warm`, `cold`).
    pub sizes: Vec<(&'static str, u64)>,
}

impl Metrics {
    /// The counters of `tier`.
    pub fn tier(&self, tier: TierName) -> &TierCounters {
        &self.tiers[tier.index()]
    }

    /// One request answered: its route's histogram gets its latency.
    pub fn observe_request(&self, route: &str, method: &str, status: u16, elapsed: Duration) {
        let key = RequestKey {
            route: route.to_owned(),
            method: method.to_owned(),
            status,
        };
        let known = self
            .requests
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&key)
            .cloned();
        let histogram = match known {
            Some(h) => h,
            None => self
                .requests
                .write()
                .unwrap_or_else(|e| e.into_inner())
                .entry(key)
                .or_default()
                .clone(),
        };
        histogram.observe(elapsed);
    }

    /// `n` lookups answered so.
    pub fn count_lookups(&self, answered: Answered, n: u64) {
        let i = Answered::ALL
            .iter()
            .position(|&a| a == answered)
            .unwrap_or(0);
        self.lookups[i].fetch_add(n, Ordering::Relaxed);
    }

    /// One error answer, by its problem type (`invalid-record`, `unauthorized`, …).
    pub fn count_problem(&self, kind: &'static str) {
        *self
            .problems
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(kind)
            .or_default() += 1;
    }

    /// Everything, as Prometheus reads it.
    pub fn render(&self, g: &Gauges) -> String {
        let load = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let per_tier = |value: &dyn Fn(TierName) -> u64| -> Vec<(String, u64)> {
            TierName::DOWNSTREAM
                .iter()
                .map(|&t| (tier_label(t.as_str()), value(t)))
                .collect()
        };
        let mut out = String::new();
        family(
            &mut out,
            "ctas_ingested_records_total",
            "counter",
            "Records accepted and flushed to the hot tier.",
            &[(String::new(), load(&self.ingested))],
        );
        family(
            &mut out,
            "ctas_hot_demoted_total",
            "counter",
            "Copies dropped from the hot tier once older than its TTL and confirmed by warm and cold.",
            &[(String::new(), load(&self.demoted))],
        );
        family(
            &mut out,
            "ctas_warm_demoted_total",
            "counter",
            "Reports and records dropped from the warm tier once older than its TTL and held by cold.",
            &[(String::new(), load(&self.warm_demoted))],
        );
        family(
            &mut out,
            "ctas_rejected_requests_total",
            "counter",
            "Ingest requests refused for bad input.",
            &[(String::new(), load(&self.rejected))],
        );
        family(
            &mut out,
            "ctas_hot_records",
            "gauge",
            "Records held by the hot tier.",
            &[(String::new(), g.hot.records)],
        );
        family(
            &mut out,
            "ctas_outbox_pending",
            "gauge",
            "Records waiting to be written to a tier.",
            &per_tier(&|t| g.hot.pending[t.index()]),
        );
        let lag: Vec<(String, f64)> = TierName::DOWNSTREAM
            .iter()
            .filter_map(|&t| Some((tier_label(t.as_str()), g.lag[t.index()]?)))
            .collect();
        family(
            &mut out,
            "ctas_outbox_lag_seconds",
            "gauge",
            "Age of the oldest entry still on its way to a tier; 0 when none is.",
            &lag,
        );
        family(
            &mut out,
            "ctas_dead_letters",
            "gauge",
            "Records a tier refused for good, waiting for a replay.",
            &per_tier(&|t| g.hot.dead[t.index()]),
        );
        family(
            &mut out,
            "ctas_tier_up",
            "gauge",
            "1 when the tier answered a ping at this scrape (the hot tier: its writer runs); no sample for a tier that is off.",
            &TierName::DOWNSTREAM
                .iter()
                .filter_map(|&t| Some((tier_label(t.as_str()), u64::from(g.up[t.index()]?))))
                .collect::<Vec<_>>(),
        );
        let sizes: Vec<(String, u64)> = g
            .sizes
            .iter()
            .map(|(tier, bytes)| (tier_label(tier), *bytes))
            .collect();
        family(
            &mut out,
            "ctas_store_size_bytes",
            "gauge",
            "Bytes a store takes: sled's files, SurrealKV's directory, the cold database.",
            &sizes,
        );
        family(
            &mut out,
            "ctas_tier_written_records_total",
            "counter",
            "Records written to a tier.",
            &per_tier(&|t| load(&self.tier(t).written)),
        );
        family(
            &mut out,
            "ctas_tier_failures_total",
            "counter",
            "Batches a tier failed to take; each is retried or split.",
            &per_tier(&|t| load(&self.tier(t).failures)),
        );
        let lookups: Vec<(String, u64)> = Answered::ALL
            .iter()
            .zip(&self.lookups)
            .map(|(a, n)| (a.labels().to_owned(), load(n)))
            .collect();
        family(
            &mut out,
            "ctas_lookups_total",
            "counter",
            "Indicator values looked up, by the tier that answered (none: unknown, invalid, or unavailable: a lower tier did not answer).",
            &lookups,
        );
        let problems: Vec<(String, u64)> = self
            .problems
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|(kind, n)| (format!("{{type=\"{kind}\"}}"), *n))
            .collect();
        family(
            &mut out,
            "ctas_http_problems_total",
            "counter",
            "Error answers, by their problem type (urn:ctas:problem:TYPE).",
            &problems,
        );
        self.render_latency(&mut out);
        out
    }

    fn render_latency(&self, out: &mut String) {
        let name = "ctas_http_request_duration_seconds";
        let _ = writeln!(out, "# HELP {name} Time from a request's arrival to its answer, by route, method and status.");
        let _ = writeln!(out, "# TYPE {name} histogram");
        let requests = self.requests.read().unwrap_or_else(|e| e.into_inner());
        for (key, h) in requests.iter() {
            let labels = format!(
                "route=\"{}\",method=\"{}\",status=\"{}\"",
                escape(&key.route),
                key.method,
                key.status
            );
            let mut cumulative = 0;
            for (bound, n) in LATENCY_BUCKETS.iter().zip(&h.buckets) {
                cumulative += n.load(Ordering::Relaxed);
                let _ = writeln!(out, "{name}_bucket{{{labels},le=\"{bound}\"}} {cumulative}");
            }
            let count = h.count.load(Ordering::Relaxed);
            let _ = writeln!(out, "{name}_bucket{{{labels},le=\"+Inf\"}} {count}");
            let sum = h.sum_nanos.load(Ordering::Relaxed) as f64 / 1e9;
            let _ = writeln!(out, "{name}_sum{{{labels}}} {sum}");
            let _ = writeln!(out, "{name}_count{{{labels}}} {count}");
        }
    }
}

/// A label value as the text format writes it.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn tier_label(tier: &str) -> String {
    format!("{{tier=\"{tier}\"}}")
}

/// One metric family: its HELP and TYPE lines, then a sample per label set.
fn family(
    out: &mut String,
    name: &str,
    kind: &str,
    help: &str,
    samples: &[(String, impl Display)],
) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
    for (labels, value) in samples {
        let _ = writeln!(out, "{name}{labels} {value}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_prometheus_text_with_a_sample_per_tier() {
        let m = Metrics::default();
        m.ingested.fetch_add(3, Ordering::Relaxed);
        m.tier(TierName::Cold)
            .written
            .fetch_add(2, Ordering::Relaxed);
        m.tier(TierName::Graph)
            .failures
            .fetch_add(1, Ordering::Relaxed);
        m.count_lookups(Answered::Unknown, 4);
        m.count_problem("invalid-record");
        for ms in [0.05, 0.3, 700.0] {
            m.observe_request(
                "/v1/indicators/{value}",
                "GET",
                200,
                Duration::from_secs_f64(ms / 1e3),
            );
        }
        let text = m.render(&Gauges {
            hot: CountsSnapshot {
                records: 3,
                pending: [0, 1, 0],
                dead: [0, 0, 2],
            },
            lag: [Some(0.0), Some(12.5), None],
            up: [Some(true), Some(false), Some(true)],
            sizes: vec![("hot", 4096)],
        });
        let route = r#"route="/v1/indicators/{value}",method="GET",status="200""#;
        for line in [
            "# TYPE ctas_ingested_records_total counter",
            "ctas_ingested_records_total 3",
            "ctas_hot_records 3",
            "ctas_outbox_pending{tier=\"cold\"} 1",
            "ctas_outbox_lag_seconds{tier=\"cold\"} 12.5",
            "ctas_tier_up{tier=\"cold\"} 0",
            "ctas_store_size_bytes{tier=\"hot\"} 4096",
            "ctas_tier_written_records_total{tier=\"cold\"} 2",
            "ctas_tier_written_records_total{tier=\"warm\"} 0",
            "ctas_tier_failures_total{tier=\"graph\"} 1",
            "ctas_dead_letters{tier=\"graph\"} 2",
            "ctas_lookups_total{tier=\"none\",result=\"unknown\"} 4",
            "ctas_http_problems_total{type=\"invalid-record\"} 1",
            // Cumulative buckets: 50 µs under the first bound, 300 µs under 0.0005.
            &format!("ctas_http_request_duration_seconds_bucket{{{route},le=\"0.0001\"}} 1"),
            &format!("ctas_http_request_duration_seconds_bucket{{{route},le=\"0.0005\"}} 2"),
            &format!("ctas_http_request_duration_seconds_bucket{{{route},le=\"0.5\"}} 2"),
            &format!("ctas_http_request_duration_seconds_bucket{{{route},le=\"1\"}} 3"),
            &format!("ctas_http_request_duration_seconds_bucket{{{route},le=\"+Inf\"}} 3"),
            &format!("ctas_http_request_duration_seconds_count{{{route}}} 3"),
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "missing {line:?} in\n{text}"
            );
        }
        // A tier whose lag is unknown has no sample rather than a made-up one.
        assert!(!text.contains("ctas_outbox_lag_seconds{tier=\"graph\"}"));
    }
}
