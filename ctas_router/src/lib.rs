//! ctas-router: takes threat records in, keeps them in four tiers, and keeps the
//! tiers in sync without losing or doubling a record.
//!
//! A record is acknowledged only once it, and an outbox entry for every downstream
//! tier, are flushed to sled (the hot tier). Workers then drain each outbox into its
//! tier with idempotent upserts keyed by the record's deterministic id, so a crash or
//! an unreachable tier delays a record but never loses or doubles it.

pub mod api;
pub mod background;
pub mod config;
pub mod hot;
pub mod metrics;
pub mod sync;
pub mod tiers;
