//! Geospatial analysis: H3 cells over h3o, and shapes for GIS tools.

pub mod cluster;
pub mod dbscan;
pub mod h3;
pub mod h3_edges;
pub mod hotspot;
pub mod measure;
pub mod polyfill;
mod positions;
mod sets;
pub mod shape;

pub use h3::{cell, GeoError, MAX_CELLS, MAX_K, MAX_RESOLUTION};
