//! The hot tier's index by indicator: a summary per indicator
//! ([`ctas_core::model::summary`]), kept current by the writer as entries are appended,
//! read by lookups (`GET /v1/indicators/{value}`).
//!
//! One sled tree holds the summaries (`s <id>`) and a marker per fact that counts once
//! (`m <id> <key>`: a sighting of a report, an end of a relationship). An entry's facts
//! are written as one atomic batch of that tree, after its items are indexed by id and
//! before the entry is marked indexed: a crash before the batch replays the entry at
//! start-up, and the markers keep a replay from counting a sighting twice.
//!
//! The summaries lookups read lately are kept decoded beside the tree
//! ([`Summaries`]): decoding one from its JSON was, with the read, a third of a batch
//! lookup's time, and a SIEM asks of the same indicators again and again.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use ctas_core::model::summary::{facts, Update};
use ctas_core::model::{IndicatorSummary, Item};
use sled::{Batch, Tree};

use super::HotError;

/// Most summaries kept decoded (about half a kilobyte each).
const DECODED_MOST: usize = 100_000;

/// Most summaries read from the tree before they are kept: what was read is kept only if
/// no write came meanwhile, and the writer writes every few milliseconds under ingest —
/// the reads of a whole batch's part (a thousand and more) would seldom be kept then.
const KEEP_AT_ONCE: usize = 64;

/// The summaries' tree, and the summaries lookups read lately, decoded. The writer alone
/// writes the tree ([`apply`]), and replaces what is kept of what it wrote (it adds
/// nothing: a large ingest does not push out what lookups ask for).
#[derive(Clone)]
pub(super) struct Summaries {
    pub(super) tree: Tree,
    decoded: Arc<Mutex<Kept>>,
}

#[derive(Default)]
struct Kept {
    /// Counts the writes: a reader keeps what it read only if no write came between
    /// its read of the tree and its keeping (else it could keep an older summary over
    /// the one the writer put here).
    writes: u64,
    /// None: nothing named it (a SIEM asks of many values no feed named).
    by_id: HashMap<String, Option<Arc<IndicatorSummary>>>,
}

impl Kept {
    fn keep(&mut self, id: &str, summary: Option<Arc<IndicatorSummary>>) {
        if self.by_id.len() >= DECODED_MOST && !self.by_id.contains_key(id) {
            // Not an LRU: what is asked often is back after one read each.
            self.by_id.clear();
        }
        self.by_id.insert(id.to_owned(), summary);
    }
}

impl Summaries {
    pub(super) fn new(tree: Tree) -> Self {
        Summaries {
            tree,
            decoded: Arc::default(),
        }
    }

    /// The summaries of the indicators `ids`, in order: those kept decoded under one
    /// lock for all, the others read from the tree outside it and kept, [`KEEP_AT_ONCE`]
    /// at a time.
    pub(super) fn get_all(
        &self,
        ids: &[&str],
    ) -> Result<Vec<Option<Arc<IndicatorSummary>>>, HotError> {
        let (mut found, mut writes) = self.kept(ids);
        let unkept: Vec<usize> = (0..ids.len()).filter(|&i| found[i].is_none()).collect();
        for chunk in unkept.chunks(KEEP_AT_ONCE) {
            let mut read = Vec::with_capacity(chunk.len());
            for &i in chunk {
                let from_tree = get(&self.tree, ids[i])?.map(Arc::new);
                read.push((ids[i], from_tree.clone()));
                found[i] = Some(from_tree);
            }
            writes = self.keep_read(read, writes);
        }
        Ok(found.into_iter().map(Option::flatten).collect())
    }

    /// What is kept decoded of each of `ids` (None: not kept), and the writes so far.
    #[allow(clippy::type_complexity)]
    fn kept(&self, ids: &[&str]) -> (Vec<Option<Option<Arc<IndicatorSummary>>>>, u64) {
        let decoded = self.decoded.lock().expect("poisoned");
        let kept = ids.iter().map(|id| decoded.by_id.get(*id).cloned());
        (kept.collect(), decoded.writes)
    }

    /// Keep what was `read` when the writes were `writes`, unless one came since (else
    /// an older summary could be kept over the one the writer put here); the writes now.
    fn keep_read(&self, read: Vec<(&str, Option<Arc<IndicatorSummary>>)>, writes: u64) -> u64 {
        let mut decoded = self.decoded.lock().expect("poisoned");
        if decoded.writes == writes {
            for (id, summary) in read {
                decoded.keep(id, summary);
            }
        }
        decoded.writes
    }

    /// Fold `updates` into their summaries ([`apply`]); those kept decoded are replaced.
    pub(super) fn apply(&self, updates: &[Update]) -> Result<(), HotError> {
        let written = apply(&self.tree, updates)?;
        if written.is_empty() {
            return Ok(());
        }
        let mut decoded = self.decoded.lock().expect("poisoned");
        decoded.writes += 1;
        for (id, summary) in written {
            if let Some(kept) = decoded.by_id.get_mut(&id) {
                *kept = Some(Arc::new(summary));
            }
        }
        Ok(())
    }
}

fn summary_key(id: &str) -> Vec<u8> {
    format!("s {id}").into_bytes()
}

fn marker_key(id: &str, once: &str) -> Vec<u8> {
    format!("m {id} {once}").into_bytes()
}

/// The summary of indicator `id` as the tree holds it, if anything named it.
fn get(tree: &Tree, id: &str) -> Result<Option<IndicatorSummary>, HotError> {
    tree.get(summary_key(id))?
        .map(|bytes| {
            serde_json::from_slice(&bytes).map_err(|source| HotError::Decode {
                id: id.to_owned(),
                source,
            })
        })
        .transpose()
}

/// Fold `updates` into their summaries, as one atomic batch; the summaries written.
fn apply(tree: &Tree, updates: &[Update]) -> Result<Vec<(String, IndicatorSummary)>, HotError> {
    if updates.is_empty() {
        return Ok(Vec::new());
    }
    let mut touched: HashMap<&str, IndicatorSummary> = HashMap::new();
    let mut markers: HashSet<Vec<u8>> = HashSet::new();
    for u in updates {
        if let Some(once) = &u.once {
            let marker = marker_key(&u.indicator, once);
            // Counted in an earlier entry, or earlier in this one.
            if markers.contains(&marker) || tree.contains_key(&marker)? {
                continue;
            }
            markers.insert(marker);
        }
        if !touched.contains_key(u.indicator.as_str()) {
            let s = get(tree, &u.indicator)?.unwrap_or_else(|| IndicatorSummary::new(&u.indicator));
            touched.insert(u.indicator.as_str(), s);
        }
        if let Some(summary) = touched.get_mut(u.indicator.as_str()) {
            summary.apply(&u.fact);
        }
    }
    let mut batch = Batch::default();
    for marker in markers {
        batch.insert(marker, &[][..]);
    }
    for (id, summary) in &touched {
        let json = serde_json::to_vec(summary).map_err(|source| HotError::Decode {
            id: (*id).to_owned(),
            source,
        })?;
        batch.insert(summary_key(id), json);
    }
    tree.apply_batch(batch)?;
    Ok(touched
        .into_iter()
        .map(|(id, s)| (id.to_owned(), s))
        .collect())
}

/// The updates of `items`.
pub(super) fn updates_of<'a>(items: impl IntoIterator<Item = &'a Item>) -> Vec<Update> {
    items.into_iter().flat_map(facts).collect()
}

/// Set once the summaries cover the index by id: a hot tier whose items name no
/// indicator (ATT&CK alone) has no summary, and must not be scanned at every start.
const BUILT: &[u8] = b"built";

/// Build the summaries of what the index by id holds, when the tree is new beside a hot
/// tier written by an earlier release (its items are the latest version of each).
pub(super) fn rebuild(summaries: &Tree, records: &Tree) -> Result<(), HotError> {
    // Before the writer starts and any reader: nothing is decoded yet.
    if summaries.contains_key(BUILT)? {
        return Ok(());
    }
    let mut updates = Vec::new();
    for kv in records.iter() {
        let (k, v) = kv?;
        updates.extend(facts(&super::decode_item(&k, &v)?));
        if updates.len() >= 100_000 {
            apply(summaries, &updates)?;
            updates.clear();
        }
    }
    apply(summaries, &updates)?;
    summaries.insert(BUILT, &[][..])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader that read the tree before a write, and would keep what it read after
    /// the writer kept what it wrote, keeps nothing: the written summary is answered.
    #[test]
    fn a_read_a_write_overtook_is_not_kept() {
        let db = sled::Config::new().temporary(true).open().unwrap();
        let summaries = Summaries::new(db.open_tree("summaries").unwrap());
        let id = ctas_core::model::indicator_id("domain", "overtaken.example.net");
        let (kept, writes) = summaries.kept(&[&id]);
        assert!(kept[0].is_none(), "nothing is kept yet");
        let read = get(&summaries.tree, &id).unwrap().map(Arc::new);
        assert!(read.is_none());
        let record = serde_json::from_value::<ctas_core::model::RecordInput>(
            serde_json::json!({"kind": "domain", "value": "overtaken.example.net"}),
        )
        .unwrap()
        .into_record(chrono::Utc::now())
        .unwrap();
        summaries
            .apply(&updates_of(&[Item::Record(record)]))
            .unwrap();
        summaries.keep_read(vec![(&id, read)], writes);
        let now = summaries.get_all(&[&id]).unwrap().pop().flatten();
        let now = now.expect("the summary written");
        assert_eq!(Some(&*now), get(&summaries.tree, &id).unwrap().as_ref());
    }

    /// Many ids at once, held and not held, read over several keepings: each answered in
    /// the order asked, as the tree holds it, and the same again once kept.
    #[test]
    fn many_ids_are_answered_in_order() {
        let db = sled::Config::new().temporary(true).open().unwrap();
        let summaries = Summaries::new(db.open_tree("summaries").unwrap());
        let records: Vec<Item> = (0..3 * KEEP_AT_ONCE)
            .map(|i| {
                let record =
                    serde_json::json!({"kind": "domain", "value": format!("held-{i}.example.net")});
                let record =
                    serde_json::from_value::<ctas_core::model::RecordInput>(record).unwrap();
                Item::Record(record.into_record(chrono::Utc::now()).unwrap())
            })
            .collect();
        summaries.apply(&updates_of(&records)).unwrap();
        let ids: Vec<String> = (0..3 * KEEP_AT_ONCE)
            .flat_map(|i| ["held", "not-held"].map(|h| format!("{h}-{i}.example.net")))
            .map(|value| ctas_core::model::indicator_id("domain", &value))
            .collect();
        let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
        for _ in 0..2 {
            let found = summaries.get_all(&ids).unwrap();
            assert_eq!(found.len(), ids.len());
            for (i, (id, summary)) in ids.iter().zip(&found).enumerate() {
                let in_tree = get(&summaries.tree, id).unwrap();
                assert_eq!(in_tree.is_some(), i % 2 == 0, "{id}");
                assert_eq!(summary.as_deref(), in_tree.as_ref(), "{id}");
            }
        }
    }
}
