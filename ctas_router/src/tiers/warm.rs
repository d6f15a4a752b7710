//! The warm tier: SurrealDB, embedded (SurrealKV) by default or a remote server.

use std::collections::HashMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use ctas_core::model::Item;
use surrealdb::engine::any::Any;
use surrealdb::Surreal;

use super::{Tier, TierError, TierName};

/// SurrealDB table that holds flat records; the record id is the threat record id.
pub const TABLE: &str = "threat_record";

/// The table of each kind of item (a table per item type, keyed by the item's key).
fn table(item: &Item) -> &'static str {
    match item {
        Item::Record(_) => TABLE,
        other => other.type_name(),
    }
}

/// Where `fetch` looks, in order, and what `count` adds up.
const TABLES: [&str; 7] = [
    TABLE,
    "report",
    "indicator",
    "entity",
    "relationship",
    "sighting",
    "source",
];

/// The warm tier.
#[derive(Clone)]
pub struct Warm {
    db: Surreal<Any>,
}

fn err(e: impl std::fmt::Display) -> TierError {
    TierError::new(TierName::Warm, e)
}

/// A SurrealDB error, told apart: a document it will not take (validation,
/// serialization, a THROW of a table event) is refused every time; anything else
/// (connection, a query cancelled or timed out, internal) may pass on a retry.
fn surreal_err(e: surrealdb::Error) -> TierError {
    if e.is_validation() || e.is_serialization() || e.is_thrown() {
        TierError::permanent(TierName::Warm, e)
    } else {
        err(e)
    }
}

/// A whole batch in one query (one round trip, not one a record); UPSERT by record id
/// makes a replay harmless.
const UPSERT: &str = "FOR $r IN $rows { UPSERT type::record($r.tb, $r.id) CONTENT $r.doc; };";

impl Warm {
    /// Connect to `endpoint` (`surrealkv://path` or `ws://host:port`), namespace and database `ctas`.
    pub async fn connect(endpoint: &str) -> Result<Self, TierError> {
        let log = embedded_log(endpoint);
        let before = log.as_deref().map(segments);
        let mut db = surrealdb::engine::any::connect(endpoint)
            .await
            .map_err(err)?;
        if let (Some(log), Some(before)) = (log.as_deref(), before) {
            if replaced(&before, &segments(log)) {
                // SurrealKV 0.21 repairs a log with a torn last record (a crash in the
                // middle of a write) by writing a new file in its place, but keeps
                // appending to the old, unlinked one: whatever it confirms from now on
                // would be gone after the next crash. Opened again, it appends to the
                // repaired file.
                tracing::warn!(log = %log.display(), "SurrealKV repaired its log after a crash; opening it again");
                drop(db);
                db = reopen(endpoint).await?;
            }
        }
        db.use_ns("ctas").use_db("ctas").await.map_err(err)?;
        // Every table there from the start: SurrealDB refuses to read one never written.
        let define: String = TABLES
            .iter()
            .map(|tb| format!("DEFINE TABLE IF NOT EXISTS {tb} SCHEMALESS;"))
            .collect();
        db.query(define).await.map_err(err)?.check().map_err(err)?;
        Ok(Warm { db })
    }
}

/// The log directory of an embedded store (`surrealkv://path[?options]`).
fn embedded_log(endpoint: &str) -> Option<PathBuf> {
    let path = endpoint.strip_prefix("surrealkv://")?;
    let path = path.split_once('?').map_or(path, |(p, _)| p);
    Some(Path::new(path).join("wal"))
}

/// Each segment file of the log and the inode that holds it.
fn segments(log: &Path) -> HashMap<PathBuf, u64> {
    std::fs::read_dir(log)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| Some((e.path(), e.metadata().ok()?.ino())))
        .collect()
}

/// Whether a segment there before is gone or is another file now.
fn replaced(before: &HashMap<PathBuf, u64>, after: &HashMap<PathBuf, u64>) -> bool {
    before
        .iter()
        .any(|(path, ino)| after.get(path) != Some(ino))
}

/// Open the store again once the handle just dropped has let go of it: its engine
/// shuts down in the background, and the store stays locked until it has.
async fn reopen(endpoint: &str) -> Result<Surreal<Any>, TierError> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match surrealdb::engine::any::connect(endpoint).await {
            Ok(db) => return Ok(db),
            Err(e) if Instant::now() >= deadline => return Err(err(e)),
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}

/// The item as a SurrealDB document: its object without `id`, which is its key there.
fn document(item: &Item) -> Result<serde_json::Value, TierError> {
    let mut doc = serde_json::to_value(item).map_err(err)?["object"].take();
    if let Some(map) = doc.as_object_mut() {
        map.remove("id");
    }
    Ok(doc)
}

impl Tier for Warm {
    const NAME: TierName = TierName::Warm;

    async fn upsert(&self, items: &[Item]) -> Result<(), TierError> {
        let rows = items
            .iter()
            .map(|r| Ok(serde_json::json!({"tb": table(r), "id": r.key(), "doc": document(r)?})))
            .collect::<Result<Vec<_>, TierError>>()?;
        self.db
            .query(UPSERT)
            .bind(("rows", serde_json::Value::Array(rows)))
            .await
            .map_err(surreal_err)?
            .check()
            .map_err(surreal_err)?;
        Ok(())
    }

    async fn fetch(&self, id: &str) -> Result<Option<serde_json::Value>, TierError> {
        for tb in TABLES {
            let found: Option<serde_json::Value> = self.db.select((tb, id)).await.map_err(err)?;
            if found.is_some() {
                return Ok(found);
            }
        }
        Ok(None)
    }

    async fn count(&self) -> Result<u64, TierError> {
        let mut total = 0;
        for tb in TABLES {
            let mut res = self
                .db
                .query(format!("SELECT count() AS n FROM {tb} GROUP ALL"))
                .await
                .map_err(err)?;
            // One row {n} when the table has records, none when it is empty.
            let rows: Vec<serde_json::Value> = res.take(0).map_err(err)?;
            total += match rows.first().map(|r| &r["n"]) {
                None => 0,
                Some(n) => n
                    .as_u64()
                    .ok_or_else(|| err(format!("count() returned {n}, not a count")))?,
            };
        }
        Ok(total)
    }

    async fn ping(&self) -> Result<(), TierError> {
        self.db.health().await.map_err(err)
    }
}
