//! Versions of an entity. Of two, every tier keeps the one [`Entity::replaces`] keeps,
//! whatever order they arrive in: the writer drops from an entry, before the log takes
//! it, each entity the index holds a later version of, so no tier is sent an older
//! version after a newer one. Unit 42's bundles give one indicator id to different
//! objects, modified on different days: sent in the other order, the cold tier kept the
//! later version (its upsert's rule) while the other tiers took the last to arrive.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use ctas_core::model::Entity;
use serde::Deserialize;

use super::{log, HotError, Keyed, Stamp, Trees};

/// `entry` (with `ids`, its items' keys) without the entities that an item held in the
/// index, or one before it in the entry, is a later version of; None when it keeps all.
pub(super) fn without_older(
    trees: &Trees,
    ids: &[Keyed],
    entry: &log::Entry,
) -> Result<Option<(Vec<Keyed>, log::Entry)>, HotError> {
    let mut kept: HashMap<&str, Option<DateTime<Utc>>> = HashMap::new();
    let mut older = Vec::new();
    for (i, (id, stamp)) in ids.iter().enumerate() {
        let Stamp::Version(modified) = *stamp else {
            continue;
        };
        let held = match kept.get(id.as_str()) {
            Some(&m) => Some(m),
            None => held_version(trees, id)?,
        };
        match held {
            Some(held) if !Entity::replaces(modified, held) => older.push(i),
            _ => {
                kept.insert(id, modified);
            }
        }
    }
    if older.is_empty() {
        return Ok(None);
    }
    tracing::debug!(
        entities = older.len(),
        "hot tier: older versions of entities it holds left out"
    );
    let ids = ids
        .iter()
        .enumerate()
        .filter(|(i, _)| older.binary_search(i).is_err())
        .map(|(_, k)| k.clone())
        .collect();
    Ok(Some((ids, entry.without(&older))))
}

/// The version (`modified`) of the entity the index holds under `id`; None when it
/// holds no entity there.
fn held_version(trees: &Trees, id: &str) -> Result<Option<Option<DateTime<Utc>>>, HotError> {
    /// Only what tells the version: the rest of the item (an entity's whole object) is
    /// skipped, not decoded.
    #[derive(Deserialize)]
    struct Held {
        #[serde(rename = "type")]
        kind: Option<String>,
        object: Option<Dated>,
    }
    #[derive(Deserialize)]
    struct Dated {
        modified: Option<DateTime<Utc>>,
    }
    let Some(v) = trees.records.get(id.as_bytes())? else {
        return Ok(None);
    };
    let held: Held = serde_json::from_slice(&v).map_err(|source| HotError::Decode {
        id: id.to_owned(),
        source,
    })?;
    Ok(match (held.kind.as_deref(), held.object) {
        (Some("entity"), Some(o)) => Some(o.modified),
        _ => None,
    })
}
