//! What the router knows besides the data: the warninglists and pattern sets the
//! extension keeps in the cold tier (`ctas_warninglists`, `ctas_patterns`), read from
//! there so that the router's analyses answer as SQL's `ctas_analyze` does. They are
//! read again when the extension's cache epochs (`ctas_cache_epochs`, bumped by a
//! trigger on every change) say they changed, checked every few seconds.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use ctas_core::analyze::Hunt;
use ctas_core::ioc::warninglist::{ListType, Warninglist, Warninglists};
use ctas_core::patterns::PatternSet;
use serde_json::{json, Value};
use tokio::sync::watch;

use crate::tiers::cold::{Cold, KnowledgeRows};

/// How often the cold tier's cache epochs are read.
pub const REFRESH_EVERY: Duration = Duration::from_secs(5);

/// A pattern set compiled, with each pattern's severity, tags and ATT&CK id.
pub struct CompiledSet {
    pub set: PatternSet,
    pub meta: Vec<(String, Vec<String>, Option<String>)>,
}

/// One reading of the cold tier's warninglists and pattern sets.
#[derive(Default)]
pub struct Knowledge {
    pub lists: Warninglists,
    pub sets: HashMap<String, CompiledSet>,
    /// The cache epochs (warninglists, patterns) this reading is of.
    epochs: Option<(i64, i64)>,
}

impl Knowledge {
    /// The set `name` as `ctas_core::analyze` takes it.
    pub fn hunt<'a>(&'a self, name: &'a str) -> Option<Hunt<'a>> {
        self.sets.get(name).map(|c| Hunt {
            name,
            set: &c.set,
            meta: &c.meta,
            max_matches: ctas_core::patterns::DEFAULT_MAX_MATCHES,
        })
    }
}

/// The reading in use (swapped whole when a newer one is made), and why the last
/// attempt to read failed, if it did (the reading before it stays in use).
#[derive(Default)]
pub struct Current {
    reading: RwLock<Arc<Knowledge>>,
    error: RwLock<Option<String>>,
}

impl Current {
    /// The reading in use.
    pub fn get(&self) -> Arc<Knowledge> {
        self.reading.read().expect("poisoned").clone()
    }

    /// What `/v1/status` says of it.
    pub fn summary(&self) -> Value {
        let k = self.get();
        json!({
            "warninglists": k.lists.len(),
            "pattern_sets": k.sets.len(),
            "error": *self.error.read().expect("poisoned"),
        })
    }
}

/// Shared by the handlers and the task that keeps it current.
pub type Shared = Arc<Current>;

/// Read the cold tier's warninglists and pattern sets now, and again whenever their
/// epochs move, until `shutdown`.
pub async fn keep_current(cold: Arc<Cold>, shared: Shared, mut shutdown: watch::Receiver<bool>) {
    loop {
        let seen = shared.get().epochs;
        let read = match cold.knowledge(seen).await {
            Ok(None) => Ok(None),
            // Compiling half a million entries is CPU work: off the runtime's threads.
            Ok(Some(rows)) => tokio::task::spawn_blocking(move || compile(rows))
                .await
                .map_err(|e| e.to_string())
                .and_then(|r| r.map(Some)),
            Err(e) => Err(e.to_string()),
        };
        match read {
            Ok(None) => {}
            Ok(Some(k)) => {
                tracing::info!(
                    warninglists = k.lists.len(),
                    pattern_sets = k.sets.len(),
                    "read warninglists and pattern sets from the cold tier"
                );
                *shared.reading.write().expect("poisoned") = Arc::new(k);
                *shared.error.write().expect("poisoned") = None;
            }
            Err(e) => {
                let mut error = shared.error.write().expect("poisoned");
                if error.as_deref() != Some(e.as_str()) {
                    tracing::warn!(error = %e, "cannot read warninglists and pattern sets from the cold tier");
                    *error = Some(e);
                }
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(REFRESH_EVERY) => {}
            _ = shutdown.changed() => return,
        }
    }
}

/// Compile what the cold tier holds, as the extension compiles it.
fn compile(rows: KnowledgeRows) -> Result<Knowledge, String> {
    let mut lists = Vec::with_capacity(rows.warninglists.len());
    for w in rows.warninglists {
        let list_type = ListType::parse(&w.list_type).ok_or_else(|| {
            format!(
                "warninglist {:?} in ctas_warninglists has list_type {:?}",
                w.name, w.list_type
            )
        })?;
        lists.push(Warninglist {
            name: w.name,
            description: w.description,
            version: w.version,
            list_type,
            matching_attributes: w.matching_attributes,
            entries: w.entries,
        });
    }
    let lists = Warninglists::new(&lists).map_err(|e| e.to_string())?;
    let mut sets = HashMap::new();
    for (name, patterns) in rows.pattern_sets {
        let set = PatternSet::compile(patterns.iter().map(|p| (p.id.as_str(), p.regex.as_str())))
            .map_err(|e| format!("pattern set {name:?}: {e}"))?;
        let meta = patterns
            .into_iter()
            .map(|p| (p.severity, p.tags, p.attack_id))
            .collect();
        sets.insert(name, CompiledSet { set, meta });
    }
    Ok(Knowledge {
        lists,
        sets,
        epochs: Some(rows.epochs),
    })
}
