//! The one data model of CTAS, for every face.
//!
//! - [`record`]: the flat threat record a client sends the router (kind, value, where,
//!   when), validated at the door;
//! - [`intel`]: the history every format becomes: reports, indicators, sightings,
//!   relationships and entities;
//! - [`ids`]: one normalisation and one deterministic id scheme, so that the same
//!   indicator, report or relationship lands on the same row, document and node in
//!   every tier, whichever face ingested it and however often it is replayed.

pub mod essence;
pub mod ids;
pub mod intel;
pub mod record;
pub mod summary;

pub use ids::{indicator_id, normalise, observable_id, relationship_id, report_id};
pub use intel::{
    observation_id, Counts, Entity, Indicator, Intel, Item, Relationship, Report, Sighting, Source,
};
pub use record::{
    RecordError, RecordInput, ThreatRecord, MAX_NAME_LEN, MAX_TAGS, MAX_TAG_LEN, MAX_TEXT_LEN,
    OBSERVED_YEARS, RECORD_H3_RESOLUTION,
};
pub use summary::IndicatorSummary;
