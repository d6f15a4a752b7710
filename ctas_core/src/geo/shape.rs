//! Polygons out of CTAS in the formats GIS tools read: WKB and GeoJSON.
//!
//! Coordinates come in as (lat, lng) degrees, H3's order, and go out as (x = lng,
//! y = lat), the order of WKB, GeoJSON and PostGIS with SRID 4326. Rings are closed on
//! the way out.

use serde_json::{json, Value};

/// WKB geometry type code of a polygon.
const WKB_POLYGON: u32 = 3;

fn closed(ring: &[(f64, f64)]) -> impl Iterator<Item = (f64, f64)> + '_ {
    ring.iter()
        .chain(ring.first())
        .map(|&(lat, lng)| (lng, lat))
}

/// A one-ring polygon as little-endian WKB (`ST_GeomFromWKB(wkb, 4326)` in PostGIS).
pub fn polygon_wkb(ring: &[(f64, f64)]) -> Vec<u8> {
    let points = if ring.is_empty() { 0 } else { ring.len() + 1 };
    let mut out = Vec::with_capacity(13 + 16 * points);
    out.push(1); // little endian
    out.extend_from_slice(&WKB_POLYGON.to_le_bytes());
    out.extend_from_slice(&1u32.to_le_bytes());
    out.extend_from_slice(&(points as u32).to_le_bytes());
    for (x, y) in closed(ring) {
        out.extend_from_slice(&x.to_le_bytes());
        out.extend_from_slice(&y.to_le_bytes());
    }
    out
}

/// A one-ring polygon as a GeoJSON geometry object.
pub fn polygon_geojson(ring: &[(f64, f64)]) -> Value {
    let coords: Vec<[f64; 2]> = closed(ring).map(|(x, y)| [x, y]).collect();
    json!({"type": "Polygon", "coordinates": [coords]})
}

/// A line through points, as a GeoJSON LineString (an H3 edge's boundary).
pub fn line_geojson(points: &[(f64, f64)]) -> Value {
    let coords: Vec<[f64; 2]> = points.iter().map(|&(lat, lng)| [lng, lat]).collect();
    json!({"type": "LineString", "coordinates": coords})
}

/// Whether a point lies inside a ring, both as (x = lng, y = lat), by ray crossing in
/// the plane: how GeoJSON and PostGIS geometry read a polygon, and how H3 decides
/// which cell centres a polygon holds.
pub fn ring_contains(ring: &[(f64, f64)], (px, py): (f64, f64)) -> bool {
    let mut inside = false;
    let mut j = ring.len().wrapping_sub(1);
    for (i, &(xi, yi)) in ring.iter().enumerate() {
        let (xj, yj) = ring[j];
        if (yi > py) != (yj > py) && px < (xj - xi) * (py - yi) / (yj - yi) + xi {
            inside = !inside;
        }
        j = i;
    }
    inside
}

#[cfg(test)]
mod tests {
    use super::*;

    const TRIANGLE: [(f64, f64); 3] = [(0.0, 0.0), (0.0, 1.0), (1.0, 0.0)];

    #[test]
    fn wkb_is_a_closed_little_endian_polygon() {
        let wkb = polygon_wkb(&TRIANGLE);
        assert_eq!(wkb.len(), 1 + 4 + 4 + 4 + 4 * 16);
        assert_eq!(&wkb[..13], &[1, 3, 0, 0, 0, 1, 0, 0, 0, 4, 0, 0, 0]);
        // The second point is (x = lng 1, y = lat 0).
        assert_eq!(f64::from_le_bytes(wkb[29..37].try_into().unwrap()), 1.0);
        assert_eq!(
            wkb[13..29],
            wkb[61..77],
            "closed: the last point is the first"
        );
    }

    #[test]
    fn ring_contains_by_crossings() {
        let square = [(0.0, 0.0), (2.0, 0.0), (2.0, 2.0), (0.0, 2.0)];
        assert!(ring_contains(&square, (1.0, 1.0)));
        assert!(!ring_contains(&square, (3.0, 1.0)));
        assert!(!ring_contains(&[], (0.0, 0.0)));
    }

    #[test]
    fn geojson_is_lng_lat_and_closed() {
        let g = polygon_geojson(&TRIANGLE);
        assert_eq!(g["type"], "Polygon");
        assert_eq!(g["coordinates"][0].as_array().unwrap().len(), 4);
        assert_eq!(g["coordinates"][0][1], json!([1.0, 0.0]));
    }
}
