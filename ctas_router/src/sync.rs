//! Outbox workers: drain each tier's outbox into the tier, in batches, with retry.
//!
//! An entry leaves the outbox only after its tier has confirmed the upsert, so a
//! crash between the two replays the batch, which the idempotent upserts absorb.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{watch, Notify};

use crate::hot::{Hot, HotError};
use crate::metrics::Metrics;
use crate::tiers::{Tier, TierName};

/// Longest wait between retries of a failing tier.
const MAX_BACKOFF: Duration = Duration::from_secs(10);

/// What a worker shares with the rest of the router.
#[derive(Clone)]
pub struct WorkerContext {
    /// The hot tier, which holds the outboxes.
    pub hot: Hot,
    /// Woken on every ingest.
    pub wake: Arc<Notify>,
    /// Counters.
    pub metrics: Arc<Metrics>,
    /// Last error per downstream tier, for `/v1/status`; None when healthy.
    pub last_error: Arc<[std::sync::Mutex<Option<String>>; 3]>,
    /// Most records per batch.
    pub batch_size: usize,
}

/// Drain `tier`'s outbox until `shutdown` turns true.
pub async fn run<T: Tier>(tier: Arc<T>, ctx: WorkerContext, mut shutdown: watch::Receiver<bool>) {
    let name = T::NAME;
    let mut backoff = Duration::from_millis(100);
    loop {
        if *shutdown.borrow() {
            return;
        }
        match drain_once(tier.as_ref(), &ctx).await {
            Ok(0) => {
                backoff = Duration::from_millis(100);
                // Wait for new records; the timeout is a safety net, not the mechanism.
                tokio::select! {
                    _ = ctx.wake.notified() => {}
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                    _ = shutdown.changed() => {}
                }
            }
            Ok(_) => backoff = Duration::from_millis(100),
            Err(e) => {
                ctx.metrics
                    .tier(name)
                    .failures
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                tracing::warn!(tier = %name, error = %e, retry_in = ?backoff, "tier write failed");
                *ctx.last_error[name.index()].lock().expect("poisoned") = Some(e.to_string());
                tokio::select! {
                    _ = tokio::time::sleep(backoff) => {}
                    _ = shutdown.changed() => {}
                }
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
}

#[derive(Debug, thiserror::Error)]
enum DrainError {
    #[error(transparent)]
    Hot(#[from] HotError),
    #[error(transparent)]
    Tier(#[from] crate::tiers::TierError),
}

/// Move one batch; returns how many outbox entries it settled.
async fn drain_once<T: Tier>(tier: &T, ctx: &WorkerContext) -> Result<usize, DrainError> {
    let name: TierName = T::NAME;
    let entries = ctx.hot.pending(name, ctx.batch_size)?;
    if entries.is_empty() {
        return Ok(0);
    }
    let mut records = Vec::with_capacity(entries.len());
    let mut seen = std::collections::HashSet::with_capacity(entries.len());
    for e in &entries {
        // A record ingested twice is queued twice; write it once per batch.
        if !seen.insert(e.record_id.as_str()) {
            continue;
        }
        if let Some(r) = ctx.hot.get(&e.record_id)? {
            records.push(r);
        }
    }
    tier.upsert(&records).await?;
    ctx.hot.ack(name, &entries).await?;
    ctx.metrics
        .tier(name)
        .written
        .fetch_add(records.len() as u64, std::sync::atomic::Ordering::Relaxed);
    *ctx.last_error[name.index()].lock().expect("poisoned") = None;
    Ok(entries.len())
}
