//! The downstream tiers, one trait: idempotent upserts keyed by the items' keys.

pub mod cold;
pub mod graph;
pub mod warm;

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use ctas_core::model::essence::Essence;
use ctas_core::model::Item;

/// Each tier downstream of the hot tier (sled), which feeds them through outboxes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TierName {
    /// SurrealDB.
    Warm,
    /// PostgreSQL.
    Cold,
    /// Neo4j.
    Graph,
}

impl TierName {
    /// The tiers fed from the hot tier's outboxes, in outbox order.
    pub const DOWNSTREAM: [TierName; 3] = [TierName::Warm, TierName::Cold, TierName::Graph];

    /// Lower-case name, as used in the API, the metrics and the logs.
    pub fn as_str(self) -> &'static str {
        match self {
            TierName::Warm => "warm",
            TierName::Cold => "cold",
            TierName::Graph => "graph",
        }
    }

    /// The tier of this name, as [`TierName::as_str`] writes it.
    pub fn parse(name: &str) -> Option<Self> {
        Self::DOWNSTREAM.into_iter().find(|t| t.as_str() == name)
    }

    /// Position in [`TierName::DOWNSTREAM`].
    pub fn index(self) -> usize {
        match self {
            TierName::Warm => 0,
            TierName::Cold => 1,
            TierName::Graph => 2,
        }
    }
}

impl fmt::Display for TierName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A tier's failure, with the tier's own message.
#[derive(Debug, thiserror::Error)]
#[error("{tier} tier: {message}")]
pub struct TierError {
    /// The tier at fault.
    pub tier: TierName,
    /// What its client said.
    pub message: String,
    /// The tier will refuse the same records again whatever the wait (a constraint,
    /// an encoding, a value out of range); otherwise (connection, timeout, lock) a
    /// retry may succeed.
    pub permanent: bool,
}

impl TierError {
    /// A failure of `tier` that a retry may cure.
    pub fn new(tier: TierName, e: impl fmt::Display) -> Self {
        TierError {
            tier,
            message: e.to_string(),
            permanent: false,
        }
    }

    /// A refusal of `tier` that no retry cures.
    pub fn permanent(tier: TierName, e: impl fmt::Display) -> Self {
        TierError {
            permanent: true,
            ..TierError::new(tier, e)
        }
    }
}

/// How long a reader (status, traces, lookups falling through) waits for a tier before
/// saying it did not answer.
pub const TIER_ANSWER_TIMEOUT: Duration = Duration::from_secs(3);

/// A tier's answer, or what kept it from answering in time.
pub async fn in_time<T>(
    tier: TierName,
    call: impl Future<Output = Result<T, TierError>>,
) -> Result<T, String> {
    within(TIER_ANSWER_TIMEOUT, tier, call).await
}

/// A tier's answer within `limit`, or what kept it from answering.
pub async fn within<T>(
    limit: Duration,
    tier: TierName,
    call: impl Future<Output = Result<T, TierError>>,
) -> Result<T, String> {
    match tokio::time::timeout(limit, call).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(format!(
            "{tier} tier did not answer within {} ms",
            limit.as_millis()
        )),
    }
}

/// A store downstream of the hot tier. Its futures are boxed (`async_trait`) so that
/// the tiers are one type, held alike in the [`Registry`] and found by name: what every
/// tier does alike is written once, over the registry.
#[async_trait::async_trait]
pub trait Tier: Send + Sync + 'static {
    /// Which tier this is.
    fn name(&self) -> TierName;

    /// Insert or replace `items`, keyed by their keys; running it twice changes nothing.
    async fn upsert(&self, items: &[Item]) -> Result<(), TierError>;

    /// What the tier stores under this id, as JSON.
    async fn fetch(&self, id: &str) -> Result<Option<serde_json::Value>, TierError>;

    /// How many objects the tier holds.
    async fn count(&self) -> Result<u64, TierError>;

    /// The cheapest round trip the tier answers: is it up now?
    async fn ping(&self) -> Result<(), TierError>;

    /// What the tier holds of `items`, by key, each read back from its own shape as
    /// the item's essence ([`ctas_core::model::essence`]); an item it does not hold is
    /// not in the answer. What `verify` compares with the hot tier's copies.
    async fn essences(&self, items: &[Item]) -> Result<HashMap<String, Essence>, TierError>;
}

/// The downstream tiers by name, each held or off: what every tier does alike (sync,
/// status, readiness, metrics, a record's trace, verify) is asked of each through it.
/// What one tier alone does (the warm tier's area queries, the cold tier's SQL, the
/// graph's neighbours) goes through that tier's own handle.
#[derive(Clone, Default)]
pub struct Registry([Option<Arc<dyn Tier>>; 3]);

impl Registry {
    /// The three, the warm tier always on, cold and graph when configured.
    pub fn new(
        warm: Arc<warm::Warm>,
        cold: Option<Arc<cold::Cold>>,
        graph: Option<Arc<graph::Graph>>,
    ) -> Self {
        let mut tiers = Registry::default();
        let on: [Option<Arc<dyn Tier>>; 3] = [
            Some(warm),
            cold.map(|c| c as Arc<dyn Tier>),
            graph.map(|g| g as Arc<dyn Tier>),
        ];
        for tier in on.into_iter().flatten() {
            let i = tier.name().index();
            tiers.0[i] = Some(tier);
        }
        tiers
    }

    /// The tier of this name; None when it is off.
    pub fn get(&self, name: TierName) -> Option<&Arc<dyn Tier>> {
        self.0[name.index()].as_ref()
    }

    /// The tiers that are on.
    pub fn on(&self) -> impl Iterator<Item = &Arc<dyn Tier>> {
        self.0.iter().flatten()
    }

    /// `f` asked of every downstream tier at once (None for a tier that is off), the
    /// answers in [`TierName::DOWNSTREAM`] order.
    pub async fn ask_each<'a, T, F>(
        &'a self,
        f: impl Fn(TierName, Option<&'a Arc<dyn Tier>>) -> F,
    ) -> [T; 3]
    where
        F: Future<Output = T> + 'a,
    {
        let [w, c, g] = TierName::DOWNSTREAM.map(|t| f(t, self.get(t)));
        let (w, c, g) = tokio::join!(w, c, g);
        [w, c, g]
    }
}

/// The essence of an item of type `type_name` from a row a tier answered with: the
/// fields [`ctas_core::model::essence::fields`] names, null where the row has none.
pub fn essence_of_row(type_name: &str, row: &serde_json::Value) -> Essence {
    ctas_core::model::essence::fields(type_name)
        .iter()
        .map(|&f| (f.to_owned(), row.get(f).cloned().unwrap_or_default()))
        .collect()
}

/// A tier a lookup by value falls through to when the hot tier has no summary of the
/// indicator (a hot tier begun anew, history loaded into PostgreSQL by SQL).
pub trait Recall: Tier {
    /// What the tier holds that tells of the indicators `ids`: each indicator, the
    /// sightings of it, the relationships with it at either end, and the sources those
    /// sightings name — the items the hot tier's summaries are folded from.
    fn about(&self, ids: &[String]) -> impl Future<Output = Result<Vec<Item>, TierError>> + Send;

    /// What each of `ids` the tier holds is and is called (an entity's type and name,
    /// a report's title, an indicator's kind and value).
    fn labels(&self, ids: &[String]) -> impl Future<Output = Result<Vec<Label>, TierError>> + Send;
}

/// What an object is and is called, as a lookup names what an indicator is tied to.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct Label {
    pub id: String,
    pub object_type: Option<String>,
    pub name: Option<String>,
}

/// Where and when reports are asked for (`GET /v1/reports`): each part given narrows
/// the answer; newest first, then by id.
#[derive(Debug, Clone, Default)]
pub struct Area {
    /// West, south, east and north edges in degrees (a west edge east of the east one
    /// crosses the antimeridian).
    pub bbox: Option<[f64; 4]>,
    /// The stored cells from one to the other: a coarser cell's descendants at
    /// [`ctas_core::model::RECORD_H3_RESOLUTION`] (`ctas_core::geo::h3::descendants_range`).
    pub cells: Option<(u64, u64)>,
    /// From this time on (milliseconds since 1970, inclusive).
    pub since: Option<i64>,
    /// Up to this time (exclusive).
    pub until: Option<i64>,
    /// Only what comes after this (time, id) in the answer's order: the page before
    /// ended there.
    pub after: Option<(i64, String)>,
    /// Most reports answered.
    pub limit: usize,
}

/// A report found by area and time, with the indicators it names.
#[derive(Debug, Clone, serde::Deserialize, serde::Serialize)]
pub struct Located {
    pub id: String,
    pub title: Option<String>,
    pub source: Option<String>,
    pub observed_at: String,
    pub published_at: Option<String>,
    pub lat: Option<f64>,
    pub lng: Option<f64>,
    pub h3_cell: Option<u64>,
    #[serde(default)]
    pub tags: Vec<String>,
    /// Milliseconds since 1970 of `observed_at`: where the next page starts.
    #[serde(rename = "_t")]
    pub t: i64,
    #[serde(default)]
    pub indicators: Vec<Named>,
}

/// An indicator a report names, as its sighting and the indicator hold it.
#[derive(Debug, Clone, serde::Deserialize, serde::Serialize)]
pub struct Named {
    #[serde(skip_serializing)]
    pub report_id: String,
    #[serde(rename(serialize = "id"))]
    pub indicator_id: String,
    pub kind: Option<String>,
    pub value: Option<String>,
    pub seen_at: Option<String>,
}
