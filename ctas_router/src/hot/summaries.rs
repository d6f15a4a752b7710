//! The hot tier's index by indicator: a summary per indicator
//! ([`ctas_core::model::summary`]), kept current by the writer as entries are appended,
//! read by lookups (`GET /v1/indicators/{value}`).
//!
//! One sled tree holds the summaries (`s <id>`) and a marker per fact that counts once
//! (`m <id> <key>`: a sighting of a report, an end of a relationship). An entry's facts
//! are written as one atomic batch of that tree, after its items are indexed by id and
//! before the entry is marked indexed: a crash before the batch replays the entry at
//! start-up, and the markers keep a replay from counting a sighting twice.

use std::collections::{HashMap, HashSet};

use ctas_core::model::summary::{facts, Update};
use ctas_core::model::{IndicatorSummary, Item};
use sled::{Batch, Tree};

use super::HotError;

fn summary_key(id: &str) -> Vec<u8> {
    format!("s {id}").into_bytes()
}

fn marker_key(id: &str, once: &str) -> Vec<u8> {
    format!("m {id} {once}").into_bytes()
}

/// The summary of indicator `id`, if anything named it.
pub(super) fn get(tree: &Tree, id: &str) -> Result<Option<IndicatorSummary>, HotError> {
    tree.get(summary_key(id))?
        .map(|bytes| {
            serde_json::from_slice(&bytes).map_err(|source| HotError::Decode {
                id: id.to_owned(),
                source,
            })
        })
        .transpose()
}

/// Fold `updates` into their summaries, as one atomic batch.
pub(super) fn apply(tree: &Tree, updates: &[Update]) -> Result<(), HotError> {
    if updates.is_empty() {
        return Ok(());
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
    for (id, summary) in touched {
        let json = serde_json::to_vec(&summary).map_err(|source| HotError::Decode {
            id: id.to_owned(),
            source,
        })?;
        batch.insert(summary_key(id), json);
    }
    tree.apply_batch(batch)?;
    Ok(())
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
