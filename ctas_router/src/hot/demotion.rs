//! Demotion: the hot tier's copies by id are dropped once older than its TTL
//! (`serve --hot-ttl`), and only once warm and cold — those of the two an item was
//! routed to — have confirmed them: an item still waiting in the log for either, or set
//! aside in either's dead letter, stays, however old, for as long as that lasts.
//!
//! The index by value (the indicators' summaries) is kept: "is it known?" stays a hot
//! answer; what goes is the objects themselves, which `GET /v1/records/{id}` then reads
//! from the warm or the cold tier. Entities (intrusion sets, malware, attack patterns)
//! stay too, whatever their age: they are what a lookup names an indicator's ties with,
//! few beside the reports and sightings, and named from below they would cost every
//! such lookup a round trip.
//!
//! The search runs beside the writer (sled reads take no lock); the writer then drops
//! each candidate only if its bytes are still those the search saw and no entry
//! written since the search began names it ([`Candidates::from_seq`]).
//!
//! The search reads only what is old: the writer keeps an index by time (a tree keyed
//! by the item's time, then its key) beside the index by id, so a round costs what is
//! past the TTL, not the whole hot tier. An item sent again with another time leaves
//! its earlier entry behind; the search finds such entries stale (the item's time is
//! not theirs, or the item is gone) and the writer drops them.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use ctas_core::model::{observation_id, Item};
use sled::IVec;

use super::log::{self, TierMask};
use super::{decode_item, read_cursor, DeadLetter, HotError, Trees};
use crate::tiers::TierName;

/// The tiers whose confirmation a hot copy waits for.
const KEEPERS: [TierName; 2] = [TierName::Warm, TierName::Cold];

/// Items the search found old enough and confirmed, as the index held them.
pub struct Candidates {
    /// Log entries from this sequence number on were written after the search began.
    pub from_seq: u64,
    /// Each item's key and bytes in the index by id, and its key in the index by time.
    pub items: Vec<(IVec, IVec, IVec)>,
    /// Entries of the index by time that no longer say an item's time.
    pub stale: Vec<IVec>,
}

/// An item's time in the index by time (ms since the epoch), for the items demotion
/// may drop: entities stay, whatever their age.
pub fn time_of(item: &Item) -> Option<i64> {
    match item {
        Item::Entity(_) => None,
        _ => item.time().map(|t| t.timestamp_millis()),
    }
}

/// The key of an item in the index by time: the time, ordered as a signed number
/// (sign bit flipped, big-endian), then the item's key.
pub fn time_key(at: i64, id: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(8 + id.len());
    key.extend_from_slice(&((at as u64) ^ (1 << 63)).to_be_bytes());
    key.extend_from_slice(id.as_bytes());
    key
}

/// The time and item key of an entry of the index by time.
fn split_time_key(key: &[u8]) -> Result<(i64, &[u8]), HotError> {
    if key.len() < 8 {
        return Err(HotError::Corrupt(format!(
            "time index key of {} bytes",
            key.len()
        )));
    }
    let (at, id) = key.split_at(8);
    let at = u64::from_be_bytes(at.try_into().expect("8 bytes")) ^ (1 << 63);
    Ok((at as i64, id))
}

/// Mark in `meta` that the index by time covers the index by id.
const TIME_INDEX_BUILT: &[u8] = b"by_time built";

/// Build the index by time from the index by id, once (a hot tier of before it): the
/// writer keeps it from then on. Idempotent, so a crash in the middle builds again.
pub fn build_index(trees: &Trees) -> Result<(), HotError> {
    if trees.meta.contains_key(TIME_INDEX_BUILT)? {
        return Ok(());
    }
    for kv in trees.records.iter() {
        let (k, v) = kv?;
        if let Some(at) = time_of(&decode_item(&k, &v)?) {
            trees
                .by_time
                .insert(time_key(at, &String::from_utf8_lossy(&k)), &[])?;
        }
    }
    trees.meta.insert(TIME_INDEX_BUILT, &[])?;
    Ok(())
}

/// Whether a log entry is on its way to a tier that must confirm it.
fn kept_for(tiers: TierMask) -> bool {
    KEEPERS.iter().any(|&t| tiers.contains(t))
}

/// The keys of every item a log entry holds.
fn keys(value: &[u8]) -> Result<impl Iterator<Item = String>, HotError> {
    Ok(log::items(value)?.into_iter().map(|i| i.key()))
}

/// Where the log ends: entries from here on are written after this moment.
fn log_end(trees: &Trees) -> Result<u64, HotError> {
    Ok(match trees.log.last()? {
        Some((k, _)) => log::key_seq(&k)? + 1,
        None => 0,
    })
}

/// The keys of the items `tier` has not confirmed: waiting in the log for it (before
/// `end`), or set aside in its dead letter. A flat record's observation report, which
/// the tiers derive, waits with it.
pub fn waiting_for(trees: &Trees, tier: TierName, end: u64) -> Result<HashSet<String>, HotError> {
    let mut waiting = HashSet::new();
    let mut add = |item: Item| {
        if let Item::Record(r) = &item {
            waiting.insert(observation_id(&r.id));
        }
        waiting.insert(item.key());
    };
    let cursor = read_cursor(&trees.meta, tier)?;
    for kv in trees.log.range(log::seq_key(cursor.seq)..log::seq_key(end)) {
        let (_, v) = kv?;
        if log::header(&v)?.tiers.contains(tier) {
            log::items(&v)?.into_iter().for_each(&mut add);
        }
    }
    for kv in trees.dead[tier.index()].iter() {
        let (_, v) = kv?;
        let letter: DeadLetter = serde_json::from_slice(&v)
            .map_err(|e| HotError::Corrupt(format!("dead letter does not decode: {e}")))?;
        add(letter.item);
    }
    Ok(waiting)
}

/// The items of the index older than `cutoff` that warm and cold have confirmed.
pub fn candidates(trees: &Trees, cutoff: DateTime<Utc>) -> Result<Candidates, HotError> {
    // First where the log ends: whatever is written from here on is the writer's to
    // check, so nothing new is missed however the search and the writes interleave.
    let from_seq = log_end(trees)?;
    let mut waiting = HashSet::new();
    for tier in KEEPERS {
        waiting.extend(waiting_for(trees, tier, from_seq)?);
    }
    let (mut items, mut stale) = (Vec::new(), Vec::new());
    // Entries of the same millisecond as the cutoff wait for the next round.
    let end = time_key(cutoff.timestamp_millis(), "");
    for kv in trees.by_time.range(..end) {
        let (tk, _) = kv?;
        let (at, k) = split_time_key(&tk)?;
        let Some(v) = trees.records.get(k)? else {
            stale.push(tk);
            continue;
        };
        if time_of(&decode_item(k, &v)?) != Some(at) {
            stale.push(tk);
            continue;
        }
        if !waiting.contains(String::from_utf8_lossy(k).as_ref()) {
            items.push((IVec::from(k), v, tk));
        }
    }
    Ok(Candidates {
        from_seq,
        items,
        stale,
    })
}

/// What `tier` has not confirmed now, by [`waiting_for`].
pub fn waiting_now(trees: &Trees, tier: TierName) -> Result<HashSet<String>, HotError> {
    waiting_for(trees, tier, u64::MAX)
}

/// Drop the candidates still as the search saw them and named by no entry written since
/// it began (the writer's part, on the writer thread). Returns how many were dropped.
pub fn apply(trees: &Trees, candidates: &Candidates) -> Result<u64, HotError> {
    let mut since: HashSet<String> = HashSet::new();
    for kv in trees.log.range(log::seq_key(candidates.from_seq)..) {
        let (_, v) = kv?;
        if kept_for(log::header(&v)?.tiers) {
            since.extend(keys(&v)?);
        }
    }
    let mut dropped = 0;
    for (k, v, tk) in &candidates.items {
        if since.contains(String::from_utf8_lossy(k).as_ref()) {
            continue;
        }
        if trees
            .records
            .compare_and_swap(k, Some(v), None as Option<&[u8]>)?
            .is_ok()
        {
            // The tiers it was sent to go with it: a copy promoted or sent later starts
            // anew.
            trees.routes.remove(k)?;
            trees.by_time.remove(tk)?;
            dropped += 1;
        }
    }
    // Stale when the search looked; still stale now (the item may have come back with
    // that time since, and its entry must then stay).
    for tk in &candidates.stale {
        let (at, k) = split_time_key(tk)?;
        let now = match trees.records.get(k)? {
            Some(v) => time_of(&decode_item(k, &v)?),
            None => None,
        };
        if now != Some(at) {
            trees.by_time.remove(tk)?;
        }
    }
    Ok(dropped)
}
