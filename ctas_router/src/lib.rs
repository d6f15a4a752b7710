//! ctas-router: takes threat intelligence in (STIX bundles, MISP exports, flat
//! records), keeps it in four tiers, and keeps the tiers in sync without losing or
//! doubling an object.
//!
//! A request is acknowledged only once its items are one entry of the hot tier's log,
//! flushed to sled. Workers then feed each downstream tier from the log with idempotent
//! upserts keyed by the items' deterministic ids, so a crash or an unreachable tier
//! delays an item but never loses or doubles it.

pub mod api;
pub mod background;
pub mod cli;
pub mod config;
pub mod hot;
pub mod knowledge;
pub mod lookup;
pub mod metrics;
pub mod pipeline;
pub mod routing;
pub mod server;
pub mod shutdown;
pub mod sync;
pub mod tiers;
pub mod verify;
