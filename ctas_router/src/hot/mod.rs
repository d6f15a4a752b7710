//! The hot tier (sled): the records themselves, by id, and the log every downstream
//! tier is fed from.
//!
//! sled is the router's source of truth until every other tier has confirmed a
//! record. One thread writes sled ([`writer`]): requests queue for it, it writes all
//! that queued as one group and flushes once, and each request hears "accepted" only
//! after the flush that covers it. Readers (lookups, the tier workers) read sled
//! directly; sled's reads take no lock while nothing uses its transactions.

mod demotion;
pub mod log;
mod summaries;
mod versions;
mod writer;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex};

use ctas_core::model::{Item, ThreatRecord};
use serde::{Deserialize, Serialize};
use sled::{Db, Tree};
use thiserror::Error;
use tokio::sync::oneshot;

use self::log::{Position, TierMask};
use crate::tiers::TierName;

/// What went wrong in the hot tier.
#[derive(Debug, Error)]
pub enum HotError {
    /// sled itself failed (I/O, corruption).
    #[error("hot tier (sled): {0}")]
    Sled(#[from] sled::Error),
    /// A stored record no longer decodes; it names the key.
    #[error("hot tier (sled): record {id} does not decode: {source}")]
    Decode {
        /// The record's id.
        id: String,
        /// Why.
        source: serde_json::Error,
    },
    /// Something stored is not in the shape the router wrote.
    #[error("hot tier (sled): {0}")]
    Corrupt(String),
    /// The writer thread has stopped (the router is shutting down).
    #[error("hot tier (sled): the writer has stopped")]
    Closed,
}

/// Counters the router keeps instead of scanning sled on every status call.
#[derive(Default)]
pub struct Counts {
    records: AtomicU64,
    pending: [AtomicU64; 3],
    dead: [AtomicU64; 3],
    /// The tiers that are off (not configured): no worker reads the log for them.
    off: std::sync::atomic::AtomicU8,
}

impl Counts {
    /// Whether the log may be collected past `tier`'s cursor: the tier is off and
    /// nothing in the log waits for it (an off tier is routed nothing, so nothing
    /// will). What waited for it from a run when it was on stays until it is on again.
    pub(crate) fn passed_by(&self, tier: TierName) -> bool {
        log::TierMask::from_bits(self.off.load(Ordering::Relaxed)).contains(tier)
            && self.pending[tier.index()].load(Ordering::Relaxed) == 0
    }
}

/// A moment's reading of [`Counts`].
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct CountsSnapshot {
    /// Records held, by id.
    pub records: u64,
    /// Records waiting for each downstream tier, in [`TierName::DOWNSTREAM`] order.
    pub pending: [u64; 3],
    /// Records in each tier's dead letter.
    pub dead: [u64; 3],
}

/// An item a tier will never accept as it is, kept until it is replayed.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(from = "StoredLetter")]
pub struct DeadLetter {
    /// The item as it was sent.
    pub item: Item,
    /// What the tier said.
    pub error: String,
    /// When it was set aside.
    pub at: chrono::DateTime<chrono::Utc>,
}

/// A dead letter as sled may hold it: of items, or of the earlier layout (flat records).
#[derive(Deserialize)]
struct StoredLetter {
    item: Option<Item>,
    record: Option<ThreatRecord>,
    error: String,
    at: chrono::DateTime<chrono::Utc>,
}

impl From<StoredLetter> for DeadLetter {
    fn from(l: StoredLetter) -> Self {
        DeadLetter {
            item: match (l.item, l.record) {
                (Some(item), _) => item,
                (None, Some(record)) => Item::Record(record),
                // Neither: a letter CTAS never wrote; kept visible rather than dropped.
                (None, None) => Item::Source(ctas_core::model::Source {
                    name: "(dead letter without an item)".into(),
                    reliability: None,
                    credibility: None,
                }),
            },
            error: l.error,
            at: l.at,
        }
    }
}

/// An item of the index, which may still hold flat records of the earlier layout.
pub(crate) fn decode_item(key: &[u8], bytes: &[u8]) -> Result<Item, HotError> {
    serde_json::from_slice::<Item>(bytes).or_else(|e| {
        serde_json::from_slice::<ThreatRecord>(bytes)
            .map(Item::Record)
            .map_err(|_| HotError::Decode {
                id: String::from_utf8_lossy(key).into_owned(),
                source: e,
            })
    })
}

/// Items encoded for the log and the index, ready for the writer. Encoding is CPU work,
/// done by the caller (off the async runtime) rather than on the writer thread.
pub struct Prepared {
    /// The log entries, in order, each with its items' keys and stamps ([`Stamp`]):
    /// one entry per run of items routed to the same tiers
    /// ([`crate::routing`]), so a tier reads its items in the order they came (what an
    /// item refers to before it).
    entries: Vec<(Vec<Keyed>, log::Entry)>,
    /// What the items say about indicators, for their summaries.
    updates: Vec<ctas_core::model::summary::Update>,
}

impl Prepared {
    /// Encode `items` once, for the log and the index, for `tiers`.
    pub fn new(items: Vec<Item>, tiers: TierMask) -> Result<Self, HotError> {
        Self::routed(items, tiers, |_| tiers)
    }

    /// Encode `items` once, for the log and the index, each for the tiers `route` says
    /// (`empty`: the tiers of the entry a request of no items makes). Each item is
    /// dropped as soon as it is written, so a large request is not held as items and as
    /// bytes.
    pub fn routed(
        items: Vec<Item>,
        empty: TierMask,
        route: impl Fn(&Item) -> TierMask,
    ) -> Result<Self, HotError> {
        let updates = summaries::updates_of(&items);
        let mut entries = Vec::new();
        let mut run: Option<(TierMask, Vec<Keyed>, log::EntryBuilder)> = None;
        let mut bytes = 0;
        for item in items {
            let tiers = route(&item);
            if let Some((t, ids, entry)) = run.take_if(|(t, ..)| *t != tiers) {
                bytes += entry.len_bytes();
                entries.push((ids, entry.finish(t)));
            }
            let (_, ids, entry) =
                run.get_or_insert_with(|| (tiers, Vec::new(), log::EntryBuilder::new()));
            let id = item.key();
            entry
                .push(|buf| serde_json::to_writer(buf, &item))
                .map_err(|source| HotError::Decode {
                    id: id.clone(),
                    source,
                })?;
            ids.push((id, Stamp::of(&item)));
        }
        let (tiers, ids, entry) = run.unwrap_or((empty, Vec::new(), log::EntryBuilder::new()));
        bytes += entry.len_bytes();
        entries.push((ids, entry.finish(tiers)));
        // Only a large request leaves enough freed memory to be worth handing back;
        // malloc_trim walks every heap, which a one-record request should not pay for.
        if bytes >= TRIM_AFTER_BYTES {
            release_freed_memory();
        }
        Ok(Prepared { entries, updates })
    }

    /// How many items.
    pub fn len(&self) -> usize {
        self.entries.iter().map(|(ids, _)| ids.len()).sum()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many items go to each downstream tier, in [`TierName::DOWNSTREAM`] order.
    pub fn routed_to(&self) -> [usize; 3] {
        let mut n = [0; 3];
        for (ids, entry) in &self.entries {
            for tier in TierName::DOWNSTREAM {
                if entry.tiers.contains(tier) {
                    n[tier.index()] += ids.len();
                }
            }
        }
        n
    }
}

/// How large an entry must be for [`release_freed_memory`] to run after encoding it.
const TRIM_AFTER_BYTES: usize = 8 << 20;

/// Give the memory of the items just dropped back to the system before the entry is
/// copied into sled's buffer. They were many small allocations, which the allocator
/// otherwise keeps: a 34 MB bundle would be held as items, entry and sled's copy at once.
fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free memory of glibc's heaps to the system.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Items a worker reads from the log for its tier, with where it will be once they
/// are confirmed.
pub struct Batch {
    /// Each item with its place in the log.
    pub items: Vec<(Position, Item)>,
    /// The tier's cursor after these records (past entries that are not for it).
    pub end: Position,
}

/// A tier's place in the log, and the entry it is reading (a request of 100,000
/// records is one entry; it is decoded once, not once per batch).
pub struct Reader {
    tier: TierName,
    cursor: Position,
    cached: Option<Decoded>,
}

impl Reader {
    /// The position of the next record the tier has not confirmed.
    pub fn cursor(&self) -> Position {
        self.cursor
    }
}

#[derive(Clone)]
struct Trees {
    db: Db,
    records: Tree,
    log: Tree,
    meta: Tree,
    dead: [Tree; 3],
    /// Indicator summaries and their markers ([`summaries`]).
    summaries: summaries::Summaries,
    /// The tiers each item was sent to, for the items not sent to every tier
    /// ([`index`]): what `verify` expects each tier to hold.
    routes: Tree,
    /// The items demotion may drop, by time ([`demotion`]).
    by_time: Tree,
}

/// An item's key, and what the writer must know of it besides its bytes.
type Keyed = (String, Stamp);

/// What the writer must know of an item besides its bytes.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Stamp {
    /// Neither: a source.
    Plain,
    /// Its time in the index by time (ms since the epoch): demotion may drop it.
    Time(i64),
    /// An entity's version (`modified`): an older one must not replace it
    /// ([`versions`]).
    Version(Option<chrono::DateTime<chrono::Utc>>),
}

impl Stamp {
    fn of(item: &Item) -> Self {
        match (item, demotion::time_of(item)) {
            (Item::Entity(e), _) => Stamp::Version(e.modified),
            (_, Some(at)) => Stamp::Time(at),
            (_, None) => Stamp::Plain,
        }
    }
}

/// Index an item by its key and remember the tiers it was sent to: an item held by
/// the index with no route was sent to every tier; one sent again elsewhere (a replay,
/// a repair, another request routed otherwise) is held by every tier it was ever sent
/// to. Whether the key was new.
fn index(
    trees: &Trees,
    (id, stamp): &Keyed,
    json: sled::IVec,
    tiers: TierMask,
) -> Result<bool, HotError> {
    if let Stamp::Time(at) = stamp {
        trees.by_time.insert(demotion::time_key(*at, id), &[])?;
    }
    let before = trees.records.insert(id.as_bytes(), json)?;
    if before.is_none() {
        // New (a copy demoted took its route with it): what it is sent to now is all.
        if tiers != TierMask::ALL {
            trees.routes.insert(id.as_bytes(), &[tiers.bits()])?;
        }
        return Ok(true);
    }
    // Held before: sent everywhere then (no route), or to the tiers its route names.
    if let Some(r) = trees.routes.get(id.as_bytes())? {
        let sent_to = TierMask::from_bits(r.first().copied().unwrap_or(0)).union(tiers);
        if sent_to == TierMask::ALL {
            trees.routes.remove(id.as_bytes())?;
        } else if sent_to.bits() != r.first().copied().unwrap_or(0) {
            trees.routes.insert(id.as_bytes(), &[sent_to.bits()])?;
        }
    }
    Ok(false)
}

/// The hot tier.
#[derive(Clone)]
pub struct Hot {
    trees: Trees,
    counts: Arc<Counts>,
    writer: Arc<Mutex<Option<writer::Handle>>>,
    /// The entry decoded last, shared by the tiers' readers: three workers reading one
    /// large entry (a 34 MB bundle) decode it once, and hold it once.
    decoded: Arc<Mutex<Option<Decoded>>>,
}

/// A log entry's sequence number and its items, decoded.
type Decoded = (u64, Arc<[Item]>);

const INDEXED: &[u8] = b"indexed";

fn cursor_key(tier: TierName) -> String {
    format!("cursor:{tier}")
}

impl Hot {
    /// Open (or create) the hot tier in `dir` and start its writer.
    pub fn open(dir: &std::path::Path) -> Result<Self, HotError> {
        let db = sled::open(dir)?;
        let trees = Trees {
            records: db.open_tree("records")?,
            log: db.open_tree("log")?,
            meta: db.open_tree("meta")?,
            summaries: summaries::Summaries::new(db.open_tree("summaries")?),
            routes: db.open_tree("routes")?,
            by_time: db.open_tree("by_time")?,
            dead: [
                db.open_tree("dead:warm")?,
                db.open_tree("dead:cold")?,
                db.open_tree("dead:graph")?,
            ],
            db,
        };
        let state = writer::State::recover(&trees)?;
        summaries::rebuild(&trees.summaries.tree, &trees.records)?;
        demotion::build_index(&trees)?;
        let counts = Arc::new(count(&trees, &state)?);
        let handle = writer::start(trees.clone(), counts.clone(), state)?;
        Ok(Hot {
            trees,
            counts,
            writer: Arc::new(Mutex::new(Some(handle))),
            decoded: Arc::default(),
        })
    }

    /// Tell the hot tier which downstream tiers are off: the log is not kept for them
    /// (unless it holds what they were sent when they were on). Returns how many
    /// records wait for each of them, for the log to say.
    pub fn set_off(&self, off: TierMask) -> Vec<(TierName, u64)> {
        self.counts.off.store(off.bits(), Ordering::Relaxed);
        TierName::DOWNSTREAM
            .into_iter()
            .filter(|&t| off.contains(t))
            .map(|t| (t, self.counts.pending[t.index()].load(Ordering::Relaxed)))
            .collect()
    }

    /// Queue a write for the writer and wait until it is done.
    async fn send(&self, op: writer::Op) -> Result<u64, HotError> {
        let (reply, answer) = oneshot::channel();
        let sender = self
            .writer
            .lock()
            .expect("poisoned")
            .as_ref()
            .map(|h| h.sender.clone())
            .ok_or(HotError::Closed)?;
        sender
            .send(writer::Command { op, reply })
            .map_err(|_| HotError::Closed)?;
        answer.await.map_err(|_| HotError::Closed)?
    }

    /// Store items for the tiers they were prepared for, durably: when this returns Ok,
    /// the items survive a crash of the router or the machine.
    pub async fn ingest(&self, records: Prepared) -> Result<(), HotError> {
        self.send(writer::Op::Append(records)).await.map(drop)
    }

    /// The item with this key (an id), if the hot tier holds it.
    pub fn get(&self, id: &str) -> Result<Option<Item>, HotError> {
        self.trees
            .records
            .get(id.as_bytes())?
            .map(|bytes| decode_item(id.as_bytes(), &bytes))
            .transpose()
    }

    /// What is known of the indicator `id` (`indicator--…`), if anything named it.
    pub fn indicator(
        &self,
        id: &str,
    ) -> Result<Option<Arc<ctas_core::model::IndicatorSummary>>, HotError> {
        Ok(self.trees.summaries.get_all(&[id])?.pop().flatten())
    }

    /// What is known of each of the indicators `ids`, in order (as [`Hot::indicator`]).
    pub fn indicators(
        &self,
        ids: &[&str],
    ) -> Result<Vec<Option<Arc<ctas_core::model::IndicatorSummary>>>, HotError> {
        self.trees.summaries.get_all(ids)
    }

    /// The counters: records held, pending and dead letters per tier.
    pub fn counts(&self) -> CountsSnapshot {
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        CountsSnapshot {
            records: load(&self.counts.records),
            pending: self.counts.pending.each_ref().map(load),
            dead: self.counts.dead.each_ref().map(load),
        }
    }

    /// When the oldest entry still on its way to `tier` was made: None when nothing is
    /// pending (or the entry predates format 3, which kept no time). Blocking (sled).
    pub fn oldest_pending(
        &self,
        tier: TierName,
    ) -> Result<Option<chrono::DateTime<chrono::Utc>>, HotError> {
        if self.counts.pending[tier.index()].load(Ordering::Relaxed) == 0 {
            return Ok(None);
        }
        let cursor = read_cursor(&self.trees.meta, tier)?;
        for kv in self.trees.log.range(log::seq_key(cursor.seq)..) {
            let (_, v) = kv?;
            let header = log::header(&v)?;
            if header.tiers.contains(tier) {
                return Ok(header.made);
            }
        }
        Ok(None)
    }

    /// Bytes the hot tier takes on disk.
    pub fn size_on_disk(&self) -> Result<u64, HotError> {
        Ok(self.trees.db.size_on_disk()?)
    }

    /// A reader at `tier`'s confirmed position.
    pub fn reader(&self, tier: TierName) -> Result<Reader, HotError> {
        Ok(Reader {
            tier,
            cursor: read_cursor(&self.trees.meta, tier)?,
            cached: None,
        })
    }

    /// The next records for the reader's tier: at most `limit`, and no more than about
    /// `max_bytes` of values and descriptions (at least one record either way). Blocking
    /// (sled reads, JSON decoding): call it off the async runtime's threads.
    pub fn read(
        &self,
        reader: &mut Reader,
        limit: usize,
        max_bytes: usize,
    ) -> Result<Batch, HotError> {
        let mut items = Vec::new();
        let mut bytes = 0usize;
        let mut end = reader.cursor;
        for kv in self.trees.log.range(log::seq_key(reader.cursor.seq)..) {
            let (k, v) = kv?;
            let seq = log::key_seq(&k)?;
            let header = log::header(&v)?;
            if !header.tiers.contains(reader.tier) {
                end = Position {
                    seq: seq + 1,
                    index: 0,
                };
                continue;
            }
            let records = match &reader.cached {
                Some((s, r)) if *s == seq => r.clone(),
                _ => {
                    let r = self.decode(seq, &v)?;
                    reader.cached = Some((seq, r.clone()));
                    r
                }
            };
            let start = if seq == reader.cursor.seq {
                reader.cursor.index as usize
            } else {
                0
            };
            let mut i = start;
            while i < records.len() {
                if items.len() >= limit || (!items.is_empty() && bytes >= max_bytes) {
                    break;
                }
                let r = &records[i];
                bytes += r.weight();
                items.push((
                    Position {
                        seq,
                        index: i as u32,
                    },
                    r.clone(),
                ));
                i += 1;
            }
            if i < records.len() {
                end = Position {
                    seq,
                    index: i as u32,
                };
                break;
            }
            end = Position {
                seq: seq + 1,
                index: 0,
            };
            if items.len() >= limit || bytes >= max_bytes {
                break;
            }
        }
        Ok(Batch { items, end })
    }

    /// The items of entry `seq`, decoded once for every reader that asks.
    fn decode(&self, seq: u64, value: &[u8]) -> Result<Arc<[Item]>, HotError> {
        // Held while decoding, so readers of the same entry wait for it rather than
        // decode it again beside it.
        let mut last = self.decoded.lock().expect("poisoned");
        if let Some((s, items)) = last.as_ref() {
            if *s == seq {
                return Ok(items.clone());
            }
        }
        let items: Arc<[Item]> = log::items(value)?.into();
        *last = Some((seq, items.clone()));
        Ok(items)
    }

    /// The tier has confirmed `batch`: move its cursor past it. Durable soon after,
    /// not at once: a crash before then replays the batch, which the upserts absorb.
    pub async fn advance(&self, reader: &mut Reader, batch: &Batch) -> Result<(), HotError> {
        let (tier, to, confirmed) = (reader.tier, batch.end, batch.items.len() as u64);
        self.send(writer::Op::Advance {
            tier,
            to,
            confirmed,
        })
        .await?;
        reader.cursor = batch.end;
        if reader.cached.as_ref().is_some_and(|(s, _)| *s < to.seq) {
            reader.cached = None;
            // The shared copy goes once no reader holds it (a reader that still needs
            // it decodes it again; memory is not held for entries every tier passed).
            let mut shared = self.decoded.lock().expect("poisoned");
            if shared
                .as_ref()
                .is_some_and(|(s, items)| *s < to.seq && Arc::strong_count(items) == 1)
            {
                *shared = None;
            }
        }
        Ok(())
    }

    /// Set records aside in `tier`'s dead letter, durably, with what the tier said.
    pub async fn dead_letter(
        &self,
        tier: TierName,
        letters: Vec<(Position, DeadLetter)>,
    ) -> Result<(), HotError> {
        let letters = letters
            .into_iter()
            .map(|(p, l)| {
                let id = l.item.key();
                serde_json::to_vec(&l)
                    .map(|json| (p, json))
                    .map_err(|source| HotError::Decode { id, source })
            })
            .collect::<Result<_, _>>()?;
        self.send(writer::Op::DeadLetter { tier, letters })
            .await
            .map(drop)
    }

    /// Up to `limit` of `tier`'s dead letters, oldest first.
    pub fn dead_letters(&self, tier: TierName, limit: usize) -> Result<Vec<DeadLetter>, HotError> {
        self.trees.dead[tier.index()]
            .iter()
            .take(limit)
            .map(|kv| {
                let (_, v) = kv?;
                serde_json::from_slice(&v)
                    .map_err(|e| HotError::Corrupt(format!("dead letter does not decode: {e}")))
            })
            .collect()
    }

    /// Drop the copies by id older than `cutoff` that warm and cold have confirmed
    /// ([`demotion`]); how many went.
    pub async fn demote(&self, cutoff: chrono::DateTime<chrono::Utc>) -> Result<u64, HotError> {
        let trees = self.trees.clone();
        let found = tokio::task::spawn_blocking(move || demotion::candidates(&trees, cutoff))
            .await
            .map_err(|e| HotError::Corrupt(format!("demotion's search failed: {e}")))??;
        let mut dropped = 0;
        let from_seq = found.from_seq;
        let (mut items, mut stale) = (found.items, found.stale);
        // In chunks: one command does not hold the writer, and ingest, for long.
        while !items.is_empty() || !stale.is_empty() {
            let rest = items.split_off(items.len().min(writer::REPLAY_CHUNK));
            let stale_rest = stale.split_off(stale.len().min(writer::REPLAY_CHUNK));
            let chunk = demotion::Candidates {
                from_seq,
                items,
                stale,
            };
            dropped += self.send(writer::Op::Demote(chunk)).await?;
            (items, stale) = (rest, stale_rest);
        }
        Ok(dropped)
    }

    /// Keep in the hot tier what a lower tier answered a lookup with: the items that
    /// tell of indicators the hot tier had no summary of ([`crate::tiers::Recall::about`]).
    pub async fn promote(&self, items: Vec<Item>) -> Result<(), HotError> {
        if items.is_empty() {
            return Ok(());
        }
        self.send(writer::Op::Promote(items)).await.map(drop)
    }

    /// The keys `tier` has not confirmed yet: waiting in the log for it, or in its dead
    /// letter (a flat record's observation report with the record).
    pub async fn waiting_for(
        &self,
        tier: TierName,
    ) -> Result<std::collections::HashSet<String>, HotError> {
        let trees = self.trees.clone();
        tokio::task::spawn_blocking(move || demotion::waiting_now(&trees, tier))
            .await
            .map_err(|e| HotError::Corrupt(format!("reading what {tier} waits for failed: {e}")))?
    }

    /// Up to `limit` items of the index by key, in key order, after `after`, each with
    /// the tiers it was sent to. Blocking (sled): call it off the async runtime.
    pub fn scan(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(Item, TierMask)>, HotError> {
        let mut out = Vec::new();
        for kv in self.records_after(after).take(limit) {
            let (k, v) = kv?;
            let sent_to = match self.trees.routes.get(&k)? {
                Some(r) => TierMask::from_bits(r.first().copied().unwrap_or(0)),
                None => TierMask::ALL,
            };
            out.push((decode_item(&k, &v)?, sent_to));
        }
        Ok(out)
    }

    /// Where a page of `n` objects after `after` ends, in key order: its last key and
    /// whether any follow; no key when fewer than `n` remain (the page runs to the end).
    pub fn page_end(
        &self,
        after: Option<&str>,
        n: usize,
    ) -> Result<(Option<String>, bool), HotError> {
        let mut last = None;
        for (i, k) in self
            .records_after(after)
            .keys()
            .take(n.saturating_add(1))
            .enumerate()
        {
            if i == n {
                return Ok((last, true));
            }
            last = Some(String::from_utf8_lossy(&k?).into_owned());
        }
        Ok((None, false))
    }

    /// The index by id from after `after` on (from the start when none).
    fn records_after(&self, after: Option<&str>) -> sled::Iter {
        match after {
            Some(key) => self.trees.records.range::<&[u8], _>((
                std::ops::Bound::Excluded(key.as_bytes()),
                std::ops::Bound::Unbounded,
            )),
            None => self.trees.records.iter(),
        }
    }

    /// Send `items` to `tier` again, as one new log entry for it alone (what `verify
    /// --repair` found missing or stale there); returns how many.
    pub async fn resend(&self, tier: TierName, items: Vec<Item>) -> Result<u64, HotError> {
        let n = items.len() as u64;
        if n == 0 {
            return Ok(0);
        }
        let prepared =
            tokio::task::spawn_blocking(move || Prepared::new(items, TierMask::only(tier)))
                .await
                .map_err(|e| {
                    HotError::Corrupt(format!("encoding the items to resend failed: {e}"))
                })??;
        self.send(writer::Op::Append(prepared)).await?;
        Ok(n)
    }

    /// Send `tier`'s dead letters to it again (after the cause was fixed); returns
    /// how many. Each goes as the hot tier holds it now, which may be newer.
    pub async fn replay(&self, tier: TierName) -> Result<u64, HotError> {
        // As many as there are now, in chunks; letters that come back meanwhile (the cause
        // is not fixed yet) wait for the next replay rather than cycle for ever.
        let there = self.counts().dead[tier.index()];
        let mut sent = 0;
        while sent < there {
            let n = self.send(writer::Op::Replay { tier }).await?;
            sent += n;
            if n < writer::REPLAY_CHUNK as u64 {
                break;
            }
        }
        Ok(sent)
    }

    /// Writes are taken: the writer runs (it is stopped at shutdown).
    pub fn is_writable(&self) -> bool {
        self.writer
            .lock()
            .expect("poisoned")
            .as_ref()
            .is_some_and(|h| h.is_running())
    }

    /// Stop the writer after what is queued, and flush everything to disk.
    pub fn close(&self) -> Result<(), HotError> {
        if let Some(handle) = self.writer.lock().expect("poisoned").take() {
            handle.stop();
        }
        self.trees.db.flush()?;
        Ok(())
    }
}

fn read_cursor(meta: &Tree, tier: TierName) -> Result<Position, HotError> {
    match meta.get(cursor_key(tier))? {
        None => Ok(Position::default()),
        Some(v) => Position::from_key(&v)
            .ok_or_else(|| HotError::Corrupt(format!("cursor of {tier} is {} bytes", v.len()))),
    }
}

/// The counters, read from sled once at start-up.
fn count(trees: &Trees, state: &writer::State) -> Result<Counts, HotError> {
    let counts = Counts::default();
    counts
        .records
        .store(trees.records.len() as u64, Ordering::Relaxed);
    for tier in TierName::DOWNSTREAM {
        let cursor = state.cursor(tier);
        let mut pending = 0u64;
        for kv in trees.log.range(log::seq_key(cursor.seq)..) {
            let (k, v) = kv?;
            let header = log::header(&v)?;
            if header.tiers.contains(tier) {
                let skip = if log::key_seq(&k)? == cursor.seq {
                    cursor.index
                } else {
                    0
                };
                pending += u64::from(header.count.saturating_sub(skip));
            }
        }
        counts.pending[tier.index()].store(pending, Ordering::Relaxed);
        counts.dead[tier.index()].store(trees.dead[tier.index()].len() as u64, Ordering::Relaxed);
    }
    Ok(counts)
}

/// Sender half of the writer's queue, shared by every request.
type Queue = mpsc::Sender<writer::Command>;

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(name: &str) -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!(
            "ctas-hot-{name}-{}-{}",
            std::process::id(),
            chrono::Utc::now().timestamp_nanos_opt().unwrap()
        ));
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    /// Opens `d` once the handles dropped before have let go of it: sled releases its
    /// file lock from its own background threads, a moment after the last handle drops.
    fn reopen(d: &std::path::Path) -> Hot {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            match Hot::open(d) {
                Ok(hot) => return hot,
                Err(HotError::Sled(sled::Error::Io(e)))
                    if e.kind() == std::io::ErrorKind::Other
                        && e.to_string().contains("could not acquire lock")
                        && std::time::Instant::now() < deadline =>
                {
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                Err(e) => panic!("{e}"),
            }
        }
    }

    fn record(value: &str) -> ThreatRecord {
        serde_json::from_value::<ctas_core::model::RecordInput>(
            serde_json::json!({"kind": "domain", "value": value}),
        )
        .unwrap()
        .into_record(chrono::Utc::now())
        .unwrap()
    }

    fn item(value: &str) -> Item {
        Item::Record(record(value))
    }

    /// A data directory of the router's earlier layout (a tree of record ids per tier)
    /// keeps what was waiting: it becomes log entries for those tiers.
    #[test]
    fn outboxes_of_the_earlier_layout_are_adopted() {
        let d = dir("adopt");
        let (a, b) = (record("a.example"), record("b.example"));
        {
            let db = sled::open(&d).unwrap();
            let records = db.open_tree("records").unwrap();
            for r in [&a, &b] {
                records
                    .insert(r.id.as_bytes(), serde_json::to_vec(r).unwrap())
                    .unwrap();
            }
            let cold = db.open_tree("outbox:cold").unwrap();
            cold.insert(7u64.to_be_bytes(), a.id.as_bytes()).unwrap();
            cold.insert(9u64.to_be_bytes(), b.id.as_bytes()).unwrap();
            db.open_tree("outbox:warm").unwrap();
            db.flush().unwrap();
        }
        let hot = reopen(&d);
        let counts = hot.counts();
        assert_eq!((counts.records, counts.pending), (2, [0, 2, 0]));
        let mut reader = hot.reader(TierName::Cold).unwrap();
        let batch = hot.read(&mut reader, 10, 1 << 20).unwrap();
        let got: Vec<&Item> = batch.items.iter().map(|(_, r)| r).collect();
        assert_eq!(got, vec![&Item::Record(a), &Item::Record(b)]);
        let mut warm = hot.reader(TierName::Warm).unwrap();
        assert!(hot.read(&mut warm, 10, 1 << 20).unwrap().items.is_empty());
        hot.close().unwrap();
        drop(hot);
        // Adopted once: opening again finds the same two waiting, not four.
        let hot = reopen(&d);
        assert_eq!(hot.counts().pending, [0, 2, 0]);
        hot.close().unwrap();
        std::fs::remove_dir_all(&d).unwrap();
    }

    /// Records read in batches across entries, confirmed, and collected from the log
    /// once every tier has passed them; the counters follow.
    #[tokio::test]
    async fn summaries_count_each_sighting_once_through_replays_and_are_rebuilt_when_missing() {
        let d = dir("summaries");
        let id = ctas_core::model::indicator_id("domain", "summary-test.example.net");
        let items = || {
            vec![
                Item::Record(record("summary-test.example.net")),
                Item::Record(record("summary-test.example.net")),
            ]
        };
        {
            let hot = Hot::open(&d).unwrap();
            hot.ingest(Prepared::new(items(), TierMask::ALL).unwrap())
                .await
                .unwrap();
            // The same records again (a client retrying): the same observation.
            hot.ingest(Prepared::new(items(), TierMask::ALL).unwrap())
                .await
                .unwrap();
            let s = hot.indicator(&id).unwrap().unwrap();
            assert_eq!(
                s.sightings, 1,
                "one observation, whatever was resent: {s:?}"
            );
            // A crash after the entry was logged but before it was marked indexed: at
            // start-up it is indexed again, and its sighting is not counted twice.
            hot.trees.meta.remove(INDEXED).unwrap();
            hot.close().unwrap();
        }
        let hot = reopen(&d);
        assert_eq!(hot.indicator(&id).unwrap().unwrap().sightings, 1);
        // A hot tier written before summaries existed: they are built from the index.
        hot.trees.summaries.tree.clear().unwrap();
        hot.close().unwrap();
        drop(hot);
        let hot = reopen(&d);
        let s = hot.indicator(&id).unwrap().unwrap();
        assert_eq!((s.kind.as_deref(), s.sightings), (Some("domain"), 1));
    }

    /// Summaries read while the writer updates them (kept decoded, replaced by it) answer what
    /// the tree holds once the writes are done: a reader never keeps an older one.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn summaries_read_during_writes_end_as_the_tree_holds_them() {
        let d = dir("summaries-read");
        let id = ctas_core::model::indicator_id("domain", "read-while-written.example.net");
        let hot = Hot::open(&d).unwrap();
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let reader = {
            let (hot, stop, id) = (hot.clone(), stop.clone(), id.clone());
            std::thread::spawn(move || {
                let mut reads = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    hot.indicator(&id).unwrap();
                    reads += 1;
                }
                reads
            })
        };
        for _ in 0..40 {
            // Each a new observation: its last seen later.
            let items = vec![item("read-while-written.example.net")];
            hot.ingest(Prepared::new(items, TierMask::ALL).unwrap())
                .await
                .unwrap();
        }
        stop.store(true, Ordering::Relaxed);
        assert!(reader.join().unwrap() > 0);
        let read = hot.indicator(&id).unwrap().unwrap();
        assert!(read.last_seen > read.first_seen, "{read:?}");
        hot.close().unwrap();
        drop(hot);
        let hot = reopen(&d);
        assert_eq!(*hot.indicator(&id).unwrap().unwrap(), *read);
    }

    /// The tiers an item was sent to add up across requests, replays and repairs; sent
    /// to every tier once, it is every tier's for good.
    #[tokio::test]
    async fn the_tiers_an_item_was_sent_to_add_up() {
        let d = dir("routes");
        let hot = Hot::open(&d).unwrap();
        let (a, b) = (item("routes-a.example"), item("routes-b.example"));
        let sent_to = |hot: &Hot, key: &str| {
            let all = hot.scan(None, 100).unwrap();
            all.into_iter()
                .find(|(i, _)| i.key() == key)
                .map(|(_, t)| t)
        };
        let send = |items: Vec<Item>, tiers: TierMask| {
            let hot = hot.clone();
            async move {
                hot.ingest(Prepared::new(items, tiers).unwrap())
                    .await
                    .unwrap()
            }
        };
        send(vec![a.clone(), b.clone()], TierMask::only(TierName::Cold)).await;
        assert_eq!(
            sent_to(&hot, &a.key()),
            Some(TierMask::only(TierName::Cold))
        );
        send(vec![a.clone()], TierMask::only(TierName::Warm)).await;
        let both = TierMask::only(TierName::Cold).with(TierName::Warm);
        assert_eq!(sent_to(&hot, &a.key()), Some(both));
        send(vec![a.clone()], TierMask::only(TierName::Graph)).await;
        assert_eq!(sent_to(&hot, &a.key()), Some(TierMask::ALL));
        assert!(
            hot.trees.routes.get(a.key()).unwrap().is_none(),
            "every tier: no route kept"
        );
        send(vec![a.clone()], TierMask::only(TierName::Cold)).await;
        assert_eq!(sent_to(&hot, &a.key()), Some(TierMask::ALL));
        assert_eq!(
            sent_to(&hot, &b.key()),
            Some(TierMask::only(TierName::Cold))
        );
        hot.close().unwrap();
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[tokio::test]
    async fn the_log_is_read_in_batches_and_collected_when_every_tier_passed() {
        let d = dir("log");
        let hot = Hot::open(&d).unwrap();
        let first: Vec<Item> = (0..5).map(|i| item(&format!("{i}.example"))).collect();
        let second: Vec<Item> = (5..8).map(|i| item(&format!("{i}.example"))).collect();
        hot.ingest(Prepared::new(first.clone(), TierMask::ALL).unwrap())
            .await
            .unwrap();
        hot.ingest(Prepared::new(second.clone(), TierMask::ALL).unwrap())
            .await
            .unwrap();
        assert_eq!(hot.counts().pending, [8, 8, 8]);
        assert_eq!(
            hot.get(&second[2].key()).unwrap().as_ref(),
            Some(&second[2])
        );
        for tier in TierName::DOWNSTREAM {
            let mut reader = hot.reader(tier).unwrap();
            let mut seen = Vec::new();
            loop {
                let batch = hot.read(&mut reader, 3, 1 << 20).unwrap();
                if batch.items.is_empty() {
                    break;
                }
                seen.extend(batch.items.iter().map(|(_, r)| r.key()));
                hot.advance(&mut reader, &batch).await.unwrap();
            }
            let want: Vec<String> = first.iter().chain(&second).map(Item::key).collect();
            assert_eq!(seen, want, "{tier}");
        }
        assert_eq!(hot.counts().pending, [0, 0, 0]);
        assert_eq!(hot.counts().records, 8);
        assert!(
            hot.trees.log.is_empty(),
            "entries every tier passed are collected"
        );
        hot.close().unwrap();
        std::fs::remove_dir_all(&d).unwrap();
    }

    /// Demotion reads the index by time: what is older than the cutoff and confirmed
    /// goes, an item sent again with a later time stays (its earlier entry is dropped
    /// as stale), entities stay; a hot tier of before the index builds it on opening.
    #[tokio::test]
    async fn demotion_finds_what_is_old_by_the_index_by_time() {
        let d = dir("by-time");
        let at = |id: &str, when: &str| {
            Item::Record(
                serde_json::from_value::<ctas_core::model::RecordInput>(serde_json::json!({
                    "id": id, "kind": "domain", "value": format!("{id}.example"),
                    "observed_at": when}))
                .unwrap()
                .into_record(chrono::Utc::now())
                .unwrap(),
            )
        };
        let entity = Item::Entity(ctas_core::model::Entity {
            id: "malware--00000000-0000-4000-8000-000000000001".into(),
            entity_type: "malware".into(),
            name: Some("old".into()),
            aliases: Vec::new(),
            external_ids: Vec::new(),
            created: "2019-01-01T00:00:00Z".parse().ok(),
            modified: "2019-01-01T00:00:00Z".parse().ok(),
            revoked: false,
            object: serde_json::value::RawValue::from_string("{}".into()).unwrap(),
        });
        let confirm_all = |hot: Hot| async move {
            for tier in TierName::DOWNSTREAM {
                let mut reader = hot.reader(tier).unwrap();
                let batch = hot.read(&mut reader, 1000, usize::MAX).unwrap();
                hot.advance(&mut reader, &batch).await.unwrap();
            }
        };
        let cutoff: chrono::DateTime<chrono::Utc> = "2025-01-01T00:00:00Z".parse().unwrap();
        {
            let hot = Hot::open(&d).unwrap();
            let items = vec![
                at("moved", "2020-01-01T00:00:00Z"),
                at("old", "2019-06-01T00:00:00Z"),
                at("new", "2026-06-01T00:00:00Z"),
                entity.clone(),
            ];
            hot.ingest(Prepared::new(items, TierMask::ALL).unwrap())
                .await
                .unwrap();
            // Sent again, seen later: its 2020 entry no longer says its time.
            hot.ingest(
                Prepared::new(vec![at("moved", "2027-01-01T00:00:00Z")], TierMask::ALL).unwrap(),
            )
            .await
            .unwrap();
            assert_eq!(
                hot.trees.by_time.len(),
                4,
                "three records, one twice; no entity"
            );
            confirm_all(hot.clone()).await;
            assert_eq!(hot.demote(cutoff).await.unwrap(), 1);
            let held = |k: &str| hot.get(k).unwrap().is_some();
            assert!(!held("old") && held("moved") && held("new") && held(&entity.key()));
            assert_eq!(
                hot.trees.by_time.len(),
                2,
                "the demoted and the stale entries go"
            );
            assert_eq!(hot.demote(cutoff).await.unwrap(), 0);
            // As a hot tier of before the index: none, and not marked built.
            hot.ingest(
                Prepared::new(vec![at("older", "2018-01-01T00:00:00Z")], TierMask::ALL).unwrap(),
            )
            .await
            .unwrap();
            hot.trees.by_time.clear().unwrap();
            hot.trees.meta.remove(b"by_time built").unwrap();
            confirm_all(hot.clone()).await;
            hot.close().unwrap();
        }
        let hot = reopen(&d);
        assert_eq!(hot.trees.by_time.len(), 3, "built from the index by id");
        assert_eq!(hot.demote(cutoff).await.unwrap(), 1);
        assert!(hot.get("older").unwrap().is_none());
        hot.close().unwrap();
        std::fs::remove_dir_all(&d).unwrap();
    }

    /// Of two versions of an entity the later `modified` stays whatever order they
    /// come in (STIX 2.1, 3.6: the version with the latest `modified` is the current
    /// one), and no tier is sent an older version after a newer: the cold tier keeps
    /// the later version, and every tier must hold what it holds. An undated version
    /// never replaces a dated one; a version sent again (a repair) goes again.
    #[tokio::test]
    async fn an_older_version_of_an_entity_replaces_nothing() {
        let d = dir("versions");
        let hot = Hot::open(&d).unwrap();
        let version = |id: &str, name: &str, modified: Option<&str>| {
            Item::Entity(ctas_core::model::Entity {
                id: id.into(),
                entity_type: "indicator".into(),
                name: Some(name.into()),
                aliases: Vec::new(),
                external_ids: Vec::new(),
                created: None,
                modified: modified.map(|m| m.parse().unwrap()),
                revoked: false,
                object: serde_json::value::RawValue::from_string("{}".into()).unwrap(),
            })
        };
        // Unit 42's KoiLoader and OriginLogger bundles give this id to two indicators.
        let id = "indicator--210eeaae-b701-4aa5-b9ed-1f94a972812c";
        let newer = version(
            id,
            "hsbc_statement_may.lnk",
            Some("2024-06-13T01:05:00.001Z"),
        );
        let older = version(
            id,
            "albee.leun@expressairhkg.com",
            Some("2024-06-10T20:11:00.001Z"),
        );
        let undated = version(id, "a galaxy cluster", None);
        let other = version("malware--00000000-0000-4000-8000-000000000002", "x", None);
        let third = "tool--00000000-0000-4000-8000-000000000003";
        let third_later = version(third, "later", Some("2020-01-02T00:00:00Z"));
        let third_earlier = version(third, "earlier", Some("2020-01-01T00:00:00Z"));
        for items in [
            vec![newer.clone()],
            // Left out of the middle of an entry, the rest still goes.
            vec![other.clone(), older.clone(), undated.clone()],
            // Older than one before it in the same entry.
            vec![third_later.clone(), third_earlier.clone()],
            // The same version again (what verify --repair sends) goes again.
            vec![newer.clone()],
        ] {
            hot.ingest(Prepared::new(items, TierMask::ALL).unwrap())
                .await
                .unwrap();
        }
        let mut reader = hot.reader(TierName::Cold).unwrap();
        let sent: Vec<Item> = hot
            .read(&mut reader, 1000, usize::MAX)
            .unwrap()
            .items
            .into_iter()
            .map(|(_, i)| i)
            .collect();
        assert_eq!(
            sent,
            vec![newer.clone(), other, third_later.clone(), newer.clone()]
        );
        assert_eq!(hot.get(id).unwrap(), Some(newer));
        assert_eq!(hot.get(third).unwrap(), Some(third_later));
        hot.close().unwrap();
        std::fs::remove_dir_all(&d).unwrap();
    }

    /// Dead letters are replayed in chunks, all of those there were, and only to their
    /// tier: the others do not see the replayed records again.
    #[tokio::test]
    async fn dead_letters_are_replayed_in_chunks_to_their_tier_alone() {
        let d = dir("replay");
        let hot = Hot::open(&d).unwrap();
        let n = writer::REPLAY_CHUNK + 5;
        let records: Vec<Item> = (0..n).map(|i| item(&format!("{i}.example"))).collect();
        hot.ingest(Prepared::new(records.clone(), TierMask::ALL).unwrap())
            .await
            .unwrap();
        for tier in TierName::DOWNSTREAM {
            let mut reader = hot.reader(tier).unwrap();
            let batch = hot.read(&mut reader, n, usize::MAX).unwrap();
            assert_eq!(batch.items.len(), n);
            if tier == TierName::Cold {
                let letters = batch
                    .items
                    .iter()
                    .map(|(p, r)| {
                        let letter = DeadLetter {
                            item: r.clone(),
                            error: "check constraint (SQLSTATE 23514)".into(),
                            at: chrono::Utc::now(),
                        };
                        (*p, letter)
                    })
                    .collect();
                hot.dead_letter(tier, letters).await.unwrap();
            }
            hot.advance(&mut reader, &batch).await.unwrap();
        }
        assert_eq!(hot.counts().dead, [0, n as u64, 0]);
        assert_eq!(hot.dead_letters(TierName::Cold, 3).unwrap().len(), 3);
        assert_eq!(hot.replay(TierName::Cold).await.unwrap(), n as u64);
        assert_eq!(hot.counts().dead, [0, 0, 0]);
        assert_eq!(hot.counts().pending, [0, n as u64, 0]);
        let mut cold = hot.reader(TierName::Cold).unwrap();
        let again = hot.read(&mut cold, 2 * n, usize::MAX).unwrap();
        let ids: std::collections::HashSet<String> =
            again.items.iter().map(|(_, r)| r.key()).collect();
        assert_eq!(ids.len(), n, "every letter replayed once");
        let mut warm = hot.reader(TierName::Warm).unwrap();
        assert!(hot.read(&mut warm, n, usize::MAX).unwrap().items.is_empty());
        hot.close().unwrap();
        std::fs::remove_dir_all(&d).unwrap();
    }
}
