//! The one thread that writes sled, with group commit.
//!
//! Every write of the router (a request's items, a tier's confirmation, a dead
//! letter, a replay) is a command on one queue. The thread takes whatever has queued,
//! writes it all, flushes once if anything needs to be durable, and only then answers
//! each command. Many concurrent requests therefore share one fsync, and no two
//! threads ever contend inside sled: under 8–16 concurrent clients, sled transactions
//! from several threads plus `flush_async` deadlocked inside sled.

use std::sync::atomic::Ordering;
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;

use tokio::sync::oneshot;

use super::log::{self, Position, TierMask};
use super::{read_cursor, Counts, HotError, Prepared, Queue, Trees, INDEXED};
use crate::tiers::TierName;

/// Most commands written under one flush (bounds a group's latency and memory).
const MAX_GROUP: usize = 4096;

/// Most dead letters one replay command sends again: a tier with millions of them is
/// replayed in entries of this size, and ingest is not held up behind one huge entry.
pub const REPLAY_CHUNK: usize = 10_000;

/// Where the writer answers a command: a count (dead letters replayed) or 0.
pub type Reply = oneshot::Sender<Result<u64, HotError>>;

/// A write for the writer thread, and where to answer it once it is durable.
pub struct Command {
    /// The write.
    pub op: Op,
    /// Answered after the flush that covers the write (or with its error).
    pub reply: Reply,
}

/// The writes the writer knows.
pub enum Op {
    /// Records for some tiers: one new log entry, and the index by id.
    Append(Prepared),
    /// A tier confirmed the records up to `to` (`confirmed` of them).
    Advance {
        tier: TierName,
        to: Position,
        confirmed: u64,
    },
    /// Records a tier refused for good, encoded [`super::DeadLetter`]s.
    DeadLetter {
        tier: TierName,
        letters: Vec<(Position, Vec<u8>)>,
    },
    /// Send up to [`REPLAY_CHUNK`] of a tier's oldest dead letters again.
    Replay { tier: TierName },
    /// Drop copies demotion found old and confirmed ([`super::demotion`]).
    Demote(super::demotion::Candidates),
    /// What a lower tier answered a lookup with ([`super::Hot::promote`]).
    Promote(Vec<ctas_core::model::Item>),
}

/// What a write changed, applied to the counters once the group is durable.
#[derive(Default)]
struct Effect {
    records: u64,
    /// Copies demoted (dropped from the index by id).
    demoted: u64,
    pending: [i64; 3],
    dead: [i64; 3],
    /// Whether the group must flush before answering (a tier's confirmation need not:
    /// lost in a crash, it only replays a batch the upserts absorb).
    durable: bool,
    /// What the command is answered with.
    answer: u64,
}

impl Effect {
    fn add(&mut self, other: &Effect) {
        self.records += other.records;
        self.demoted += other.demoted;
        for i in 0..3 {
            self.pending[i] += other.pending[i];
            self.dead[i] += other.dead[i];
        }
        self.durable |= other.durable;
    }
}

/// What the writer knows beyond sled: the next sequence number and each tier's cursor.
pub struct State {
    next_seq: u64,
    cursors: [Position; 3],
    /// Log entries below this sequence number are gone (collected).
    collected: u64,
}

impl State {
    /// Read the state back after a start or a crash, and finish what a crash cut short:
    /// entries logged but not yet indexed by id are indexed now. Outboxes of the
    /// router's earlier layout (a tree of record ids per tier) become log entries.
    pub fn recover(trees: &Trees) -> Result<Self, HotError> {
        let mut cursors = [Position::default(); 3];
        for tier in TierName::DOWNSTREAM {
            cursors[tier.index()] = read_cursor(&trees.meta, tier)?;
        }
        let last = match trees.log.last()? {
            Some((k, _)) => log::key_seq(&k)?,
            None => 0,
        };
        let mut state = State {
            next_seq: cursors.iter().map(|c| c.seq).max().unwrap_or(0).max(last) + 1,
            cursors,
            collected: 0,
        };
        let indexed = match trees.meta.get(INDEXED)? {
            Some(v) => log::key_seq(&v)?,
            None => 0,
        };
        for kv in trees.log.range(log::seq_key(indexed + 1)..) {
            let (k, v) = kv?;
            let prepared = Prepared::new(log::items(&v)?, TierMask::ALL)?;
            // The entry's own tiers, not the ALL it was prepared for here.
            let tiers = log::header(&v)?.tiers;
            for (ids, entry) in &prepared.entries {
                for (id, json) in ids.iter().zip(entry.items()) {
                    super::index(trees, id, json, tiers)?;
                }
            }
            trees.summaries.apply(&prepared.updates)?;
            trees.meta.insert(INDEXED, &k)?;
        }
        state.adopt_old_outboxes(trees)?;
        trees.db.flush()?;
        Ok(state)
    }

    /// The cursor of `tier`.
    pub fn cursor(&self, tier: TierName) -> Position {
        self.cursors[tier.index()]
    }

    fn adopt_old_outboxes(&mut self, trees: &Trees) -> Result<(), HotError> {
        let names = trees.db.tree_names();
        for tier in TierName::DOWNSTREAM {
            let name = format!("outbox:{tier}");
            if !names.iter().any(|n| n.as_ref() == name.as_bytes()) {
                continue;
            }
            let old = trees.db.open_tree(&name)?;
            let mut items = Vec::new();
            for kv in old.iter() {
                let (_, id) = kv?;
                if let Some(r) = trees.records.get(&id)? {
                    items.push(super::decode_item(&id, &r)?);
                }
            }
            if !items.is_empty() {
                let Some((_, entry)) = Prepared::new(items, TierMask::only(tier))?.entries.pop()
                else {
                    continue;
                };
                let records = entry.len();
                let seq = self.take_seq();
                trees.log.insert(log::seq_key(seq), entry.value)?;
                trees.meta.insert(INDEXED, &log::seq_key(seq))?;
                tracing::info!(%tier, records, "hot tier: adopted an outbox of the earlier layout");
            }
            // clear() removes key by key; drop_tree would take sled's global write lock.
            old.clear()?;
        }
        Ok(())
    }

    fn take_seq(&mut self) -> u64 {
        let s = self.next_seq;
        self.next_seq += 1;
        s
    }
}

/// The running writer: its queue and its thread.
pub struct Handle {
    /// Where commands go.
    pub sender: Queue,
    thread: JoinHandle<()>,
}

impl Handle {
    /// The writer thread has not ended (it ends only when stopped, or on a panic).
    pub fn is_running(&self) -> bool {
        !self.thread.is_finished()
    }

    /// Let the writer finish what is queued, then wait for it to end.
    pub fn stop(self) {
        drop(self.sender);
        if self.thread.join().is_err() {
            tracing::error!("hot tier writer panicked");
        }
    }
}

/// Start the writer thread.
pub fn start(trees: Trees, counts: Arc<Counts>, state: State) -> Result<Handle, HotError> {
    let (sender, queue) = mpsc::channel();
    let thread = std::thread::Builder::new()
        .name("ctas-hot-writer".into())
        .spawn(move || {
            Writer {
                trees,
                counts,
                state,
            }
            .run(queue)
        })
        .map_err(|e| HotError::Corrupt(format!("cannot start the writer thread: {e}")))?;
    Ok(Handle { sender, thread })
}

struct Writer {
    trees: Trees,
    counts: Arc<Counts>,
    state: State,
}

impl Writer {
    fn run(mut self, queue: mpsc::Receiver<Command>) {
        while let Ok(first) = queue.recv() {
            let mut group = vec![first];
            while group.len() < MAX_GROUP {
                match queue.try_recv() {
                    Ok(c) => group.push(c),
                    Err(_) => break,
                }
            }
            self.write_group(group);
        }
    }

    /// Write every command of the group, flush once if any needs it, move the counters
    /// (status must not count what is not durable), then answer: whoever hears "done"
    /// reads counters that include it.
    fn write_group(&mut self, group: Vec<Command>) {
        let mut total = Effect::default();
        let mut done = Vec::with_capacity(group.len());
        for Command { op, reply } in group {
            match self.apply(op) {
                Ok(effect) => {
                    total.add(&effect);
                    done.push((reply, effect.answer));
                }
                Err(e) => drop(reply.send(Err(e))),
            }
        }
        if total.durable {
            if let Err(e) = self.trees.db.flush() {
                let message = format!("flush failed: {e}");
                for (reply, _) in done {
                    drop(reply.send(Err(HotError::Corrupt(message.clone()))));
                }
                return;
            }
        }
        self.counts
            .records
            .fetch_add(total.records, Ordering::Relaxed);
        self.counts
            .records
            .fetch_sub(total.demoted, Ordering::Relaxed);
        for i in 0..3 {
            add(&self.counts.pending[i], total.pending[i]);
            add(&self.counts.dead[i], total.dead[i]);
        }
        for (reply, answer) in done {
            drop(reply.send(Ok(answer)));
        }
    }

    fn apply(&mut self, op: Op) -> Result<Effect, HotError> {
        let mut effect = Effect::default();
        match op {
            Op::Append(records) => {
                (effect.records, effect.pending) = self.append(&records)?;
                effect.durable = true;
            }
            Op::Advance {
                tier,
                to,
                confirmed,
            } => {
                self.advance(tier, to)?;
                effect.pending[tier.index()] = -(confirmed as i64);
            }
            Op::DeadLetter { tier, letters } => {
                for (p, json) in &letters {
                    let old = self.trees.dead[tier.index()].insert(p.to_key(), json.as_slice())?;
                    effect.dead[tier.index()] += i64::from(old.is_none());
                }
                effect.durable = true;
            }
            Op::Demote(candidates) => {
                effect.demoted = super::demotion::apply(&self.trees, &candidates)?;
                effect.answer = effect.demoted;
            }
            Op::Promote(items) => {
                effect.records = self.promote(&items)?;
            }
            Op::Replay { tier } => {
                let (n, routed) = self.replay(tier)?;
                effect.pending[tier.index()] = routed;
                effect.dead[tier.index()] = -(n as i64);
                effect.durable = true;
                effect.answer = n;
            }
        }
        Ok(effect)
    }

    /// One log entry, then the index by id, then the mark that it is indexed: written
    /// in that order, a crash leaves at worst an entry to index again at start-up. How
    /// many keys were new, and how many items each downstream tier has to take.
    fn append(&mut self, records: &Prepared) -> Result<(u64, [i64; 3]), HotError> {
        let mut added = 0;
        let mut routed = [0; 3];
        let mut last = None;
        for (ids, entry) in &records.entries {
            let newer = super::versions::without_older(&self.trees, ids, entry)?;
            let (ids, entry) = newer.as_ref().map_or((ids, entry), |(i, e)| (i, e));
            for tier in TierName::DOWNSTREAM {
                if entry.tiers.contains(tier) {
                    routed[tier.index()] += ids.len() as i64;
                }
            }
            let key = log::seq_key(self.state.take_seq());
            // The log keeps the entry's buffer itself (an IVec is shared, not copied).
            self.trees.log.insert(key, entry.value.clone())?;
            for (id, json) in ids.iter().zip(entry.items()) {
                if super::index(&self.trees, id, json, entry.tiers)? {
                    added += 1;
                }
            }
            last = Some(key);
        }
        self.trees.summaries.apply(&records.updates)?;
        if let Some(key) = last {
            self.trees.meta.insert(INDEXED, &key)?;
        }
        Ok((added, routed))
    }

    /// Fold into the summaries what a lower tier holds of indicators the hot tier had no
    /// summary of, and keep the sources it named. Nothing goes to the log: the tiers
    /// have it. A fact counts once however often it is promoted or ingested again (the
    /// summaries' markers); a source the hot tier already holds is kept as it is, the
    /// newer. Not flushed: a promotion lost in a crash is only asked below again.
    fn promote(&mut self, items: &[ctas_core::model::Item]) -> Result<u64, HotError> {
        self.trees
            .summaries
            .apply(&super::summaries::updates_of(items))?;
        let mut added = 0;
        for item in items {
            if let ctas_core::model::Item::Source(_) = item {
                let json = serde_json::to_vec(item).map_err(|source| HotError::Decode {
                    id: item.key(),
                    source,
                })?;
                let swapped = self.trees.records.compare_and_swap(
                    item.key().as_bytes(),
                    None as Option<&[u8]>,
                    Some(json),
                )?;
                added += u64::from(swapped.is_ok());
            }
        }
        Ok(added)
    }

    /// Move a tier's cursor and drop the log entries every tier has passed.
    fn advance(&mut self, tier: TierName, to: Position) -> Result<(), HotError> {
        self.trees
            .meta
            .insert(super::cursor_key(tier), &to.to_key())?;
        self.state.cursors[tier.index()] = to;
        let below = TierName::DOWNSTREAM
            .into_iter()
            .filter(|&t| !self.counts.passed_by(t))
            .map(|t| self.state.cursors[t.index()].seq)
            .min()
            .unwrap_or(0);
        if below > self.state.collected {
            for k in self
                .trees
                .log
                .range(log::seq_key(self.state.collected)..log::seq_key(below))
                .keys()
            {
                self.trees.log.remove(k?)?;
            }
            self.state.collected = below;
        }
        Ok(())
    }

    /// A tier's oldest dead letters as one new entry for that tier alone, each record as
    /// the index holds it now; the letters go once the entry is written. How many
    /// letters, and how many items the tier has to take.
    fn replay(&mut self, tier: TierName) -> Result<(u64, i64), HotError> {
        let tree = self.trees.dead[tier.index()].clone();
        let mut keys = Vec::new();
        let mut items = Vec::new();
        for kv in tree.iter().take(REPLAY_CHUNK) {
            let (k, v) = kv?;
            let letter: super::DeadLetter = serde_json::from_slice(&v)
                .map_err(|e| HotError::Corrupt(format!("dead letter does not decode: {e}")))?;
            let key = letter.item.key();
            items.push(match self.trees.records.get(key.as_bytes())? {
                Some(current) => super::decode_item(key.as_bytes(), &current)?,
                None => letter.item,
            });
            keys.push(k);
        }
        if keys.is_empty() {
            return Ok((0, 0));
        }
        let (_, routed) = self.append(&Prepared::new(items, TierMask::only(tier))?)?;
        for k in keys.iter() {
            tree.remove(k)?;
        }
        Ok((keys.len() as u64, routed[tier.index()]))
    }
}

fn add(counter: &std::sync::atomic::AtomicU64, delta: i64) {
    if delta >= 0 {
        counter.fetch_add(delta as u64, Ordering::Relaxed);
    } else {
        // Saturating: a counter never goes below zero, even if a replay overlaps a count.
        let _ = counter.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |v| {
            Some(v.saturating_sub(delta.unsigned_abs()))
        });
    }
}
