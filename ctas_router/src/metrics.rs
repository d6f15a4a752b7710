//! Counters for `/metrics`, in the Prometheus text format.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::hot::CountsSnapshot;
use crate::tiers::TierName;

/// Counters of one downstream tier.
#[derive(Default)]
pub struct TierCounters {
    /// Records written to the tier.
    pub written: AtomicU64,
    /// Batches that failed and will be retried.
    pub failures: AtomicU64,
}

/// Everything the router counts.
#[derive(Default)]
pub struct Metrics {
    /// Records accepted (flushed to the hot tier).
    pub ingested: AtomicU64,
    /// Requests refused for bad input.
    pub rejected: AtomicU64,
    /// Per downstream tier, in [`TierName::DOWNSTREAM`] order.
    pub tiers: [TierCounters; 3],
}

impl Metrics {
    /// The counters of `tier`.
    pub fn tier(&self, tier: TierName) -> &TierCounters {
        &self.tiers[tier.index()]
    }

    /// Render the counters and the hot tier's gauges (records held, pending and dead
    /// letters per tier).
    pub fn render(&self, hot: &CountsSnapshot) -> String {
        let load = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let per_tier = |counter: fn(&TierCounters) -> &AtomicU64| -> Vec<(String, u64)> {
            TierName::DOWNSTREAM
                .iter()
                .map(|&t| (tier_label(t), load(counter(self.tier(t)))))
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
            &[(String::new(), hot.records)],
        );
        let gauge = |values: &[u64; 3]| -> Vec<(String, u64)> {
            TierName::DOWNSTREAM
                .iter()
                .map(|&t| (tier_label(t), values[t.index()]))
                .collect()
        };
        family(
            &mut out,
            "ctas_outbox_pending",
            "gauge",
            "Records waiting to be written to a tier.",
            &gauge(&hot.pending),
        );
        family(
            &mut out,
            "ctas_dead_letters",
            "gauge",
            "Records a tier refused for good, waiting for a replay.",
            &gauge(&hot.dead),
        );
        family(
            &mut out,
            "ctas_tier_written_records_total",
            "counter",
            "Records written to a tier.",
            &per_tier(|c| &c.written),
        );
        family(
            &mut out,
            "ctas_tier_failures_total",
            "counter",
            "Batches a tier failed to take; each is retried or split.",
            &per_tier(|c| &c.failures),
        );
        out
    }
}

fn tier_label(tier: TierName) -> String {
    format!("{{tier=\"{tier}\"}}")
}

/// One metric family: its HELP and TYPE lines, then a sample per label set.
fn family(out: &mut String, name: &str, kind: &str, help: &str, samples: &[(String, u64)]) {
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
        let text = m.render(&CountsSnapshot {
            records: 3,
            pending: [0, 1, 0],
            dead: [0, 0, 2],
        });
        for line in [
            "# TYPE ctas_ingested_records_total counter",
            "ctas_ingested_records_total 3",
            "ctas_hot_records 3",
            "ctas_outbox_pending{tier=\"cold\"} 1",
            "ctas_tier_written_records_total{tier=\"cold\"} 2",
            "ctas_tier_written_records_total{tier=\"warm\"} 0",
            "ctas_tier_failures_total{tier=\"graph\"} 1",
            "ctas_dead_letters{tier=\"graph\"} 2",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "missing {line:?} in\n{text}"
            );
        }
    }
}
