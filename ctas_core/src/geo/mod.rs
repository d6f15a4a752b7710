//! Geospatial analysis: H3 cells over h3o.

pub mod h3;

pub use h3::{cell, GeoError, MAX_RESOLUTION};
