//! The downstream tiers, one trait: idempotent upserts keyed by the items' keys.

pub mod cold;
pub mod graph;
pub mod warm;

use std::fmt;
use std::future::Future;

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

/// A store downstream of the hot tier.
pub trait Tier: Send + Sync + 'static {
    /// Which tier this is.
    const NAME: TierName;

    /// Insert or replace `items`, keyed by their keys; running it twice changes nothing.
    fn upsert(&self, items: &[Item]) -> impl Future<Output = Result<(), TierError>> + Send;

    /// What the tier stores under this id, as JSON.
    fn fetch(
        &self,
        id: &str,
    ) -> impl Future<Output = Result<Option<serde_json::Value>, TierError>> + Send;

    /// How many objects the tier holds.
    fn count(&self) -> impl Future<Output = Result<u64, TierError>> + Send;

    /// The cheapest round trip the tier answers: is it up now?
    fn ping(&self) -> impl Future<Output = Result<(), TierError>> + Send;
}
