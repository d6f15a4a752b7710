//! Sizes on the sphere, in the units h3-pg and the H3 library name: the area of a cell,
//! the length of an edge, the great-circle distance between two points.

use super::h3::{latlng, parse_cell, GeoError};
use super::h3_edges::parse_edge;

const AREA_UNITS: &str = "'km^2', 'm^2', 'rads^2'";
const LENGTH_UNITS: &str = "'km', 'm', 'rads'";

fn unit_error(got: &str, expected: &'static str) -> GeoError {
    GeoError::Unit {
        got: got.to_owned(),
        expected,
    }
}

/// The exact area of a cell, in `unit` (`km^2`, `m^2` or `rads^2`).
pub fn cell_area(cell: u64, unit: &str) -> Result<f64, GeoError> {
    let c = parse_cell(cell, "cell")?;
    match unit {
        "km^2" => Ok(c.area_km2()),
        "m^2" => Ok(c.area_m2()),
        "rads^2" => Ok(c.area_rads2()),
        other => Err(unit_error(other, AREA_UNITS)),
    }
}

/// The exact length of a directed edge, in `unit` (`km`, `m` or `rads`).
pub fn edge_length(edge: u64, unit: &str) -> Result<f64, GeoError> {
    let e = parse_edge(edge, "edge")?;
    match unit {
        "km" => Ok(e.length_km()),
        "m" => Ok(e.length_m()),
        "rads" => Ok(e.length_rads()),
        other => Err(unit_error(other, LENGTH_UNITS)),
    }
}

/// The great-circle (haversine) distance between two points given in degrees, in
/// `unit` (`km`, `m` or `rads`), on H3's sphere (radius 6,371.007 km).
pub fn great_circle_distance(
    (lat_a, lng_a): (f64, f64),
    (lat_b, lng_b): (f64, f64),
    unit: &str,
) -> Result<f64, GeoError> {
    let a = latlng(lat_a, lng_a)?;
    let b = latlng(lat_b, lng_b)?;
    match unit {
        "km" => Ok(a.distance_km(b)),
        "m" => Ok(a.distance_m(b)),
        "rads" => Ok(a.distance_rads(b)),
        other => Err(unit_error(other, LENGTH_UNITS)),
    }
}
