//! The warm tier: SurrealDB, embedded (SurrealKV) by default or a remote server.
//!
//! A table per kind of item, keyed by the item's key. Reports (a flat record's
//! observation among them) are asked by area and time ([`Warm::reports`]): indexes on
//! their time, H3 cell and latitude, and on the report a sighting belongs to.

use std::collections::HashMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use ctas_core::model::essence::Essence;
use ctas_core::model::{Intel, Item};
use surrealdb::engine::any::Any;
use surrealdb::Surreal;

use super::{Area, Label, Located, Named, Recall, Tier, TierError, TierName};

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

/// What area and time queries and demotion need: a report's (and a record's) time as a
/// number (`observed_at` is RFC 3339 text, whose order is not the time's once fractions
/// of a second appear), derived by the database on every write, and the indexes. Rows
/// written before the field existed get it at the first start that defines it (the
/// UPDATEs find none after, but look at every start).
const SCHEMA: &str = "\
    DEFINE FIELD IF NOT EXISTS _t ON report VALUE time::millis(<datetime> observed_at);\
    DEFINE FIELD IF NOT EXISTS _t ON threat_record VALUE time::millis(<datetime> observed_at);\
    DEFINE INDEX IF NOT EXISTS report_t ON report FIELDS _t;\
    DEFINE INDEX IF NOT EXISTS threat_record_t ON threat_record FIELDS _t;\
    DEFINE INDEX IF NOT EXISTS report_h3 ON report FIELDS h3_cell;\
    DEFINE INDEX IF NOT EXISTS report_lat ON report FIELDS lat;\
    DEFINE INDEX IF NOT EXISTS sighting_report ON sighting FIELDS report_id;\
    DEFINE INDEX IF NOT EXISTS sighting_indicator ON sighting FIELDS indicator_id;\
    DEFINE INDEX IF NOT EXISTS relationship_source ON relationship FIELDS source_ref;\
    DEFINE INDEX IF NOT EXISTS relationship_target ON relationship FIELDS target_ref;\
    UPDATE report WHERE _t = NONE;\
    UPDATE threat_record WHERE _t = NONE;";

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
        db.query(define + SCHEMA)
            .await
            .map_err(err)?
            .check()
            .map_err(err)?;
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

#[async_trait::async_trait]
impl Tier for Warm {
    fn name(&self) -> TierName {
        TierName::Warm
    }

    async fn upsert(&self, items: &[Item]) -> Result<(), TierError> {
        // A flat record is kept whole and as the observation the history makes of it
        // (a report where and when it was seen, its indicator, the sighting), so that
        // area and time queries find records and documents' reports alike.
        let observations = Intel::from_items(
            items
                .iter()
                .filter(|i| matches!(i, Item::Record(_)))
                .cloned(),
        )
        .into_items();
        let rows = items
            .iter()
            .chain(&observations)
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
            if let Some(mut doc) = found {
                // What the warm tier derives for its own queries is not the item's, and
                // its id is the item's key, not SurrealDB's record id.
                if let Some(map) = doc.as_object_mut() {
                    map.retain(|k, _| !k.starts_with('_'));
                    map.insert("id".into(), id.into());
                }
                return Ok(Some(doc));
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

    async fn essences(&self, items: &[Item]) -> Result<HashMap<String, Essence>, TierError> {
        let mut keys: Vec<Vec<String>> = vec![Vec::new(); TABLES.len()];
        for item in items {
            let at = TABLES.iter().position(|&t| t == table(item));
            keys[at.expect("every item's table is in TABLES")].push(item.key());
        }
        let mut q = self.db.query(ESSENCES.as_str());
        for (tb, keys) in TABLES.iter().zip(keys) {
            q = q.bind((format!("k_{tb}"), keys));
        }
        let mut res = q.await.map_err(err)?.check().map_err(err)?;
        let mut found = HashMap::new();
        for (at, tb) in TABLES.iter().enumerate() {
            let docs: Vec<serde_json::Value> = res.take(at).map_err(err)?;
            for doc in docs {
                let key = doc["_key"].as_str().unwrap_or_default().to_owned();
                let type_name = if *tb == TABLE { "record" } else { tb };
                found.insert(key, essence_of_document(type_name, doc));
            }
        }
        Ok(found)
    }
}

/// The essence of a document as [`Tier::upsert`] wrote it (the item's object): its
/// fields by their names in the model, an entity's type as `type`, times as milliseconds.
fn essence_of_document(type_name: &str, mut doc: serde_json::Value) -> Essence {
    if let Some(t) = doc.get("entity_type").cloned() {
        doc["type"] = t;
    }
    if let Some(text) = doc.get("observed_at").and_then(|t| t.as_str()) {
        // Text that is no time stays as it is, and differs.
        if let Ok(t) = chrono::DateTime::parse_from_rfc3339(text) {
            doc["observed_at"] = t.timestamp_millis().into();
        }
    }
    super::essence_of_row(type_name, &doc)
}

/// The documents of some keys, a statement per table in [`TABLES`] order, each table's
/// keys bound as `$k_<table>`; each document with its key as `_key`.
static ESSENCES: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    TABLES
        .iter()
        .map(|tb| {
            format!(
                "SELECT *, meta::id(id) AS _key FROM $k_{tb}.map(|$k| type::record('{tb}', $k));"
            )
        })
        .collect()
});

/// The reports of a page, then every sighting of them, in one round trip. The area's
/// parts are bound, never written into the text.
const REPORTS: &str = "\
    LET $page = (SELECT meta::id(id) AS id, title, source, observed_at, published_at, lat, \
                        lng, h3_cell, tags, _t \
                   FROM report WHERE {where} ORDER BY _t DESC, id DESC LIMIT $limit);\
    RETURN $page;\
    SELECT report_id, indicator_id, seen_at, \
           type::record('indicator', indicator_id).kind AS kind, \
           type::record('indicator', indicator_id).value AS value \
      FROM sighting WHERE report_id IN $page.id;";

impl Warm {
    /// The reports in `area`, newest first, each with the indicators it names.
    pub async fn reports(&self, area: &Area) -> Result<Vec<Located>, TierError> {
        let mut conditions = vec!["_t != NONE".to_owned()];
        let mut binds = serde_json::Map::new();
        if let Some([west, south, east, north]) = area.bbox {
            conditions.push("lat >= $south AND lat <= $north".into());
            conditions.push(if west <= east {
                "lng >= $west AND lng <= $east".into()
            } else {
                "(lng >= $west OR lng <= $east)".into()
            });
            for (k, v) in [
                ("west", west),
                ("south", south),
                ("east", east),
                ("north", north),
            ] {
                binds.insert(k.into(), v.into());
            }
        }
        if let Some((lo, hi)) = area.cells {
            conditions.push("h3_cell >= $lo AND h3_cell <= $hi".into());
            binds.insert("lo".into(), lo.into());
            binds.insert("hi".into(), hi.into());
        }
        if let Some(since) = area.since {
            conditions.push("_t >= $since".into());
            binds.insert("since".into(), since.into());
        }
        if let Some(until) = area.until {
            conditions.push("_t < $until".into());
            binds.insert("until".into(), until.into());
        }
        if let Some((t, id)) = &area.after {
            conditions.push("(_t < $at OR (_t = $at AND meta::id(id) < $after))".into());
            binds.insert("at".into(), (*t).into());
            binds.insert("after".into(), id.clone().into());
        }
        binds.insert("limit".into(), area.limit.into());
        let text = REPORTS.replace("{where}", &conditions.join(" AND "));
        let mut res = self
            .db
            .query(text)
            .bind(serde_json::Value::Object(binds))
            .await
            .map_err(err)?
            .check()
            .map_err(err)?;
        let page: Vec<serde_json::Value> = res.take(1).map_err(err)?;
        let named: Vec<serde_json::Value> = res.take(2).map_err(err)?;
        let mut reports: Vec<Located> = page
            .into_iter()
            .map(serde_json::from_value)
            .collect::<Result<_, _>>()
            .map_err(err)?;
        let named: Vec<Named> = named
            .into_iter()
            .map(serde_json::from_value)
            .collect::<Result<_, _>>()
            .map_err(err)?;
        let mut at: HashMap<String, usize> = HashMap::new();
        for (i, r) in reports.iter().enumerate() {
            at.insert(r.id.clone(), i);
        }
        for n in named {
            if let Some(&i) = at.get(&n.report_id) {
                reports[i].indicators.push(n);
            }
        }
        for r in &mut reports {
            r.indicators
                .sort_by(|a, b| a.indicator_id.cmp(&b.indicator_id));
        }
        Ok(reports)
    }
}

/// What the warm tier holds of some indicators ([`Recall::about`]), in one round trip:
/// the indicators, the sightings of them, the relationships at either end, and the
/// sources the sightings name.
const ABOUT: &str = "\
    SELECT meta::id(id) AS id, kind, value, stix_id, first_seen, last_seen \
      FROM $ids.map(|$i| type::record('indicator', $i));\
    LET $seen = (SELECT report_id, indicator_id, source, seen_at, raw, start_pos, end_pos \
                   FROM sighting WHERE indicator_id IN $ids);\
    RETURN $seen;\
    SELECT meta::id(id) AS id, source_ref, relationship_type, target_ref, created \
      FROM relationship WHERE source_ref IN $ids OR target_ref IN $ids;\
    SELECT name, reliability, credibility FROM source WHERE name IN $seen.source;";

/// What some objects are and are called ([`Recall::labels`]), from the tables that
/// name them.
const LABELS: &str = "\
    SELECT meta::id(id) AS id, entity_type AS object_type, name \
      FROM $ids.map(|$i| type::record('entity', $i));\
    SELECT meta::id(id) AS id, 'report' AS object_type, title AS name \
      FROM $ids.map(|$i| type::record('report', $i));\
    SELECT meta::id(id) AS id, kind AS object_type, value AS name \
      FROM $ids.map(|$i| type::record('indicator', $i));";

/// Rows of a query's statement `at`, each made an item by `make`.
fn rows<T: serde::de::DeserializeOwned>(
    res: &mut surrealdb::IndexedResults,
    at: usize,
    make: fn(T) -> Item,
) -> Result<Vec<Item>, TierError> {
    let found: Vec<serde_json::Value> = res.take(at).map_err(err)?;
    found
        .into_iter()
        .map(|v| serde_json::from_value(v).map(make).map_err(err))
        .collect()
}

impl Warm {
    /// The statements of `text`, run with `$ids` bound.
    async fn with_ids(
        &self,
        text: &'static str,
        ids: &[String],
    ) -> Result<surrealdb::IndexedResults, TierError> {
        self.db
            .query(text)
            .bind(("ids", ids.to_vec()))
            .await
            .map_err(err)?
            .check()
            .map_err(err)
    }
}

impl Recall for Warm {
    async fn about(&self, ids: &[String]) -> Result<Vec<Item>, TierError> {
        let mut res = self.with_ids(ABOUT, ids).await?;
        let mut items = rows(&mut res, 0, Item::Indicator)?;
        items.extend(rows(&mut res, 2, Item::Sighting)?);
        items.extend(rows(&mut res, 3, Item::Relationship)?);
        items.extend(rows(&mut res, 4, Item::Source)?);
        Ok(items)
    }

    async fn labels(&self, ids: &[String]) -> Result<Vec<Label>, TierError> {
        let mut res = self.with_ids(LABELS, ids).await?;
        let mut labels = Vec::new();
        for at in 0..3 {
            let found: Vec<serde_json::Value> = res.take(at).map_err(err)?;
            for v in found {
                labels.push(serde_json::from_value(v).map_err(err)?);
            }
        }
        Ok(labels)
    }
}

/// The reports and flat records observed before `$cutoff` that the cold tier has
/// confirmed (none of `$waiting`), with the sightings of those reports: gone in one
/// query. Returns how many reports and records went.
const DEMOTE: &str = "\
    LET $reports = (SELECT VALUE meta::id(id) FROM report \
                     WHERE _t < $cutoff AND meta::id(id) NOT IN $waiting);\
    LET $records = (SELECT VALUE meta::id(id) FROM threat_record \
                     WHERE _t < $cutoff AND meta::id(id) NOT IN $waiting);\
    DELETE sighting WHERE report_id IN $reports;\
    FOR $r IN $reports { DELETE type::record('report', $r); };\
    FOR $r IN $records { DELETE type::record('threat_record', $r); };\
    RETURN array::len($reports) + array::len($records);";

impl Warm {
    /// Drop the reports (with their sightings) and flat records observed before
    /// `cutoff` (ms since 1970) that the cold tier holds: none of `waiting`, the keys it
    /// has not confirmed. Indicators, entities and relationships stay: they are small,
    /// and what a lookup and the graph stand on.
    pub async fn demote(
        &self,
        cutoff: i64,
        waiting: &std::collections::HashSet<String>,
    ) -> Result<u64, TierError> {
        let waiting: Vec<&String> = waiting.iter().collect();
        let mut res = self
            .db
            .query(DEMOTE)
            .bind(("cutoff", cutoff))
            .bind(("waiting", serde_json::to_value(waiting).map_err(err)?))
            .await
            .map_err(err)?
            .check()
            .map_err(err)?;
        let gone: Option<u64> = res.take(5).map_err(err)?;
        Ok(gone.unwrap_or(0))
    }
}
