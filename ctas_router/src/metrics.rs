//! Counters for `/metrics`, in the Prometheus text format.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};

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

    /// Render the counters and the given gauges (outbox depth per tier, hot records).
    pub fn render(&self, hot_records: usize, pending: &[(TierName, usize)]) -> String {
        let mut out = String::new();
        let load = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let _ = writeln!(
            out,
            "# HELP ctas_ingested_records_total Records accepted and flushed to the hot tier."
        );
        let _ = writeln!(out, "# TYPE ctas_ingested_records_total counter");
        let _ = writeln!(out, "ctas_ingested_records_total {}", load(&self.ingested));
        let _ = writeln!(
            out,
            "# HELP ctas_rejected_requests_total Ingest requests refused for bad input."
        );
        let _ = writeln!(out, "# TYPE ctas_rejected_requests_total counter");
        let _ = writeln!(out, "ctas_rejected_requests_total {}", load(&self.rejected));
        let _ = writeln!(out, "# HELP ctas_hot_records Records held by the hot tier.");
        let _ = writeln!(out, "# TYPE ctas_hot_records gauge");
        let _ = writeln!(out, "ctas_hot_records {hot_records}");
        let _ = writeln!(
            out,
            "# HELP ctas_outbox_pending Records waiting to be written to a tier."
        );
        let _ = writeln!(out, "# TYPE ctas_outbox_pending gauge");
        for (tier, n) in pending {
            let _ = writeln!(out, "ctas_outbox_pending{{tier=\"{tier}\"}} {n}");
        }
        let _ = writeln!(
            out,
            "# HELP ctas_tier_written_records_total Records written to a tier."
        );
        let _ = writeln!(out, "# TYPE ctas_tier_written_records_total counter");
        for tier in TierName::DOWNSTREAM {
            let _ = writeln!(
                out,
                "ctas_tier_written_records_total{{tier=\"{tier}\"}} {}",
                load(&self.tier(tier).written)
            );
        }
        let _ = writeln!(
            out,
            "# HELP ctas_tier_failures_total Batches a tier refused; each is retried."
        );
        let _ = writeln!(out, "# TYPE ctas_tier_failures_total counter");
        for tier in TierName::DOWNSTREAM {
            let _ = writeln!(
                out,
                "ctas_tier_failures_total{{tier=\"{tier}\"}} {}",
                load(&self.tier(tier).failures)
            );
        }
        out
    }
}
