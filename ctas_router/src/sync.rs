//! Tier workers: each feeds its tier from the hot tier's log, in batches, with retry.
//!
//! A tier's cursor moves past records only after the tier has confirmed the upsert,
//! so a crash between the two replays the batch, which the idempotent upserts absorb.
//! A record the tier refuses for good (a constraint, an encoding, a value out of
//! range) goes to the tier's dead letter instead of blocking everything behind it;
//! transient errors (connection, timeout, lock) are retried with backoff.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use ctas_core::model::Item;
use tokio::sync::{watch, Notify};

use crate::hot::log::Position;
use crate::hot::{DeadLetter, Hot, HotError, Reader};
use crate::metrics::Metrics;
use crate::tiers::{Tier, TierError, TierName};

/// About the most bytes of values a worker sends its tier in one statement: PostgreSQL
/// refuses a jsonb over 256 MB, and a smaller statement fails and retries cheaper.
const MAX_BATCH_BYTES: usize = 8 << 20;

/// Longest a tier may take over one statement before the worker gives up on it and
/// retries (a server that stops answering without closing the connection).
const UPSERT_TIMEOUT: Duration = Duration::from_secs(120);

/// Longest wait between retries of a failing tier.
const MAX_BACKOFF: Duration = Duration::from_secs(10);

/// What a worker shares with the rest of the router.
#[derive(Clone)]
pub struct WorkerContext {
    /// The hot tier, which holds the log the tiers are fed from.
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

/// Drain `tier`'s share of the log until `shutdown` turns true.
pub async fn run(tier: Arc<dyn Tier>, ctx: WorkerContext, mut shutdown: watch::Receiver<bool>) {
    let name = tier.name();
    // Made from the tier's durable cursor when first needed, and again if lost.
    let mut reader = None;
    let mut backoff = Duration::from_millis(100);
    loop {
        if *shutdown.borrow() {
            return;
        }
        match drain_once(tier.as_ref(), &ctx, &mut reader).await {
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
                    .fetch_add(1, Ordering::Relaxed);
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
    Tier(#[from] TierError),
}

/// Move one batch; returns how many log positions it settled.
async fn drain_once(
    tier: &dyn Tier,
    ctx: &WorkerContext,
    slot: &mut Option<Reader>,
) -> Result<usize, DrainError> {
    let name: TierName = tier.name();
    // Reading decodes JSON and may touch the disk: off the runtime's threads.
    let (hot, limit) = (ctx.hot.clone(), ctx.batch_size);
    let mut reader = match slot.take() {
        Some(r) => r,
        None => ctx.hot.reader(name)?,
    };
    let (reader, batch) = tokio::task::spawn_blocking(move || {
        let batch = hot.read(&mut reader, limit, MAX_BATCH_BYTES);
        (reader, batch)
    })
    .await
    .map_err(|e| HotError::Corrupt(format!("reading the log for {name}: {e}")))?;
    let reader = slot.insert(reader);
    let batch = batch?;
    if batch.items.is_empty() && batch.end == reader.cursor() {
        return Ok(0);
    }
    // An item sent twice may be in one batch twice: its last version goes, having
    // absorbed the earlier ones (an indicator keeps the first and last time of both),
    // since a statement must not touch one row twice (PostgreSQL refuses that).
    let mut at: HashMap<String, usize> = HashMap::with_capacity(batch.items.len());
    let mut positions: Vec<Position> = Vec::with_capacity(batch.items.len());
    let mut records: Vec<Item> = Vec::with_capacity(batch.items.len());
    for (p, item) in &batch.items {
        match at.entry(item.key()) {
            std::collections::hash_map::Entry::Occupied(seen) => {
                let i = *seen.get();
                let mut later = item.clone();
                later.absorb(&records[i]);
                records[i] = later;
                positions[i] = *p;
            }
            std::collections::hash_map::Entry::Vacant(slot) => {
                slot.insert(records.len());
                positions.push(*p);
                records.push(item.clone());
            }
        }
    }
    let refused = deliver(tier, &records).await?;
    if !refused.is_empty() {
        let at = chrono::Utc::now();
        let letters = refused
            .iter()
            .map(|(i, e)| {
                tracing::warn!(tier = %name, id = %records[*i].key(), error = %e, "item set aside in the dead letter");
                let letter = DeadLetter {
                    item: records[*i].clone(),
                    error: e.message.clone(),
                    at,
                };
                (positions[*i], letter)
            })
            .collect();
        ctx.hot.dead_letter(name, letters).await?;
    }
    ctx.hot.advance(reader, &batch).await?;
    ctx.metrics
        .tier(name)
        .written
        .fetch_add((records.len() - refused.len()) as u64, Ordering::Relaxed);
    *ctx.last_error[name.index()].lock().expect("poisoned") = None;
    Ok(batch.items.len().max(1))
}

/// Write `records`; a batch refused for good is split in halves until the records at
/// fault stand alone, so one poison record costs about 2·log2(n) statements and the
/// rest go through. Returns the refused records (index, error); a transient error
/// stops the whole batch, to be retried.
async fn deliver(tier: &dyn Tier, records: &[Item]) -> Result<Vec<(usize, TierError)>, TierError> {
    let mut refused = Vec::new();
    let mut todo = vec![(0, records.len())];
    while let Some((lo, hi)) = todo.pop() {
        if lo == hi {
            continue;
        }
        let result = tokio::time::timeout(UPSERT_TIMEOUT, tier.upsert(&records[lo..hi]))
            .await
            .unwrap_or_else(|_| {
                Err(TierError::new(
                    tier.name(),
                    format!("no answer within {UPSERT_TIMEOUT:?}"),
                ))
            });
        match result {
            Ok(()) => {}
            Err(e) if e.permanent && hi - lo == 1 => refused.push((lo, e)),
            Err(e) if e.permanent => {
                let mid = lo + (hi - lo) / 2;
                todo.push((mid, hi));
                todo.push((lo, mid));
            }
            Err(e) => return Err(e),
        }
    }
    Ok(refused)
}

/// What demotion drops, and after how long ([`demote`]).
pub struct Ttls {
    /// The hot tier's copies by id.
    pub hot: Option<chrono::TimeDelta>,
    /// The warm tier's reports, sightings and flat records.
    pub warm: Option<(Arc<crate::tiers::warm::Warm>, chrono::TimeDelta)>,
    /// How often to look.
    pub every: Duration,
}

/// Every `ttls.every`, drop the hot tier's copies older than its TTL that warm and cold
/// have confirmed (`crate::hot::Hot::demote`), and the warm tier's reports and records
/// older than its TTL that cold has (`Warm::demote`), until `shutdown` turns true.
pub async fn demote(ctx: WorkerContext, ttls: Ttls, mut shutdown: watch::Receiver<bool>) {
    if ttls.hot.is_none() && ttls.warm.is_none() {
        return;
    }
    loop {
        let now = chrono::Utc::now();
        if let Some(ttl) = ttls.hot {
            let dropped = ctx.hot.demote(now - ttl).await.map_err(|e| e.to_string());
            counted(dropped, &ctx.metrics.demoted, "hot", ttl);
        }
        if let Some((warm, ttl)) = &ttls.warm {
            let dropped = match ctx.hot.waiting_for(TierName::Cold).await {
                Ok(waiting) => warm
                    .demote((now - *ttl).timestamp_millis(), &waiting)
                    .await
                    .map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            };
            counted(dropped, &ctx.metrics.warm_demoted, "warm", *ttl);
        }
        tokio::select! {
            _ = tokio::time::sleep(ttls.every) => {}
            _ = shutdown.changed() => return,
        }
        if *shutdown.borrow() {
            return;
        }
    }
}

/// A demotion's outcome, counted and logged.
fn counted(
    dropped: Result<u64, String>,
    counter: &std::sync::atomic::AtomicU64,
    tier: &str,
    ttl: chrono::TimeDelta,
) {
    match dropped {
        Ok(0) => {}
        Ok(n) => {
            counter.fetch_add(n, Ordering::Relaxed);
            tracing::info!(dropped = n, %ttl, tier, "demotion: copies past the TTL, held below, dropped");
        }
        Err(e) => tracing::warn!(error = %e, tier, "demotion failed; tried again later"),
    }
}
