//! Polygon → cells: the H3 cells whose centres lie inside a GeoJSON polygon, with
//! holes, as H3's polygonToCells decides it (centre containment, planar in
//! longitude/latitude, as GeoJSON and PostGIS geometry read a polygon).
//!
//! h3o does this with its `geo` feature, but that needs geo 0.33, which cannot be
//! resolved beside SurrealDB's geo 0.32 in this workspace; hence this module. It walks
//! each ring's edges finely enough that the cells under them form an unbroken fence,
//! then floods inwards from the fence through cells whose centres are inside.

use std::collections::VecDeque;

use ahash::AHashSet;
use h3o::{CellIndex, LatLng, Resolution};
use serde_json::Value;

use super::h3::{GeoError, MAX_CELLS};
use super::shape::ring_contains;

/// A polygon: outer ring then holes, each a list of (lng, lat) in degrees.
type Polygon = Vec<Vec<(f64, f64)>>;

fn bad(detail: impl Into<String>) -> GeoError {
    GeoError::GeoJson(detail.into())
}

fn ring(v: &Value) -> Result<Vec<(f64, f64)>, GeoError> {
    let points = v
        .as_array()
        .ok_or_else(|| bad("a ring must be an array of positions"))?;
    let mut out = Vec::with_capacity(points.len());
    for p in points {
        let (lng, lat) = match p.as_array().map(|a| a.as_slice()) {
            Some([x, y, ..]) => (x.as_f64(), y.as_f64()),
            _ => (None, None),
        };
        let (Some(lng), Some(lat)) = (lng, lat) else {
            return Err(bad(format!("a position must be [lng, lat], got {p}")));
        };
        if !lat.is_finite() || !(-90.0..=90.0).contains(&lat) {
            return Err(GeoError::Latitude(lat));
        }
        if !lng.is_finite() || !(-180.0..=180.0).contains(&lng) {
            return Err(GeoError::Longitude(lng));
        }
        out.push((lng, lat));
    }
    if out.len() > 1 && out.first() == out.last() {
        out.pop();
    }
    if out.len() < 3 {
        return Err(bad("a ring needs at least 3 distinct positions"));
    }
    Ok(out)
}

fn polygon(coords: &Value) -> Result<Polygon, GeoError> {
    coords
        .as_array()
        .filter(|rings| !rings.is_empty())
        .ok_or_else(|| bad("Polygon coordinates must be a non-empty array of rings"))?
        .iter()
        .map(ring)
        .collect()
}

/// The polygons of a GeoJSON Polygon or MultiPolygon (a geometry, or a Feature of one).
pub fn parse_polygons(geojson: &Value) -> Result<Vec<Polygon>, GeoError> {
    let geometry = match geojson.get("type").and_then(Value::as_str) {
        Some("Feature") => geojson.get("geometry").unwrap_or(&Value::Null),
        _ => geojson,
    };
    let coords = geometry.get("coordinates").unwrap_or(&Value::Null);
    match geometry.get("type").and_then(Value::as_str) {
        Some("Polygon") => Ok(vec![polygon(coords)?]),
        Some("MultiPolygon") => coords
            .as_array()
            .ok_or_else(|| bad("MultiPolygon coordinates must be an array of polygons"))?
            .iter()
            .map(polygon)
            .collect(),
        other => Err(bad(format!(
            "the geometry must be a Polygon or MultiPolygon, got {}",
            other.unwrap_or("no type")
        ))),
    }
}

fn contains(p: &Polygon, point: (f64, f64)) -> bool {
    ring_contains(&p[0], point) && !p[1..].iter().any(|hole| ring_contains(hole, point))
}

/// Cells under every edge of every ring, sampled at a third of the cell edge length
/// (shrunk by the cosine of the latitude for longitude), so consecutive samples fall in
/// the same or neighbouring cells.
fn fence(p: &Polygon, res: Resolution) -> Result<AHashSet<CellIndex>, GeoError> {
    let step_deg = res.edge_length_km() / 111.19 / 3.0;
    let mut cells = AHashSet::new();
    for ring in p {
        for i in 0..ring.len() {
            let (x1, y1) = ring[i];
            let (x2, y2) = ring[(i + 1) % ring.len()];
            let cos = y1.abs().max(y2.abs()).to_radians().cos().max(0.01);
            let len = ((x2 - x1) * cos).hypot(y2 - y1);
            let n = (len / step_deg).ceil().max(1.0) as u64;
            if n as f64 > MAX_CELLS as f64 * 10.0 {
                return Err(GeoError::TooMany {
                    count: n,
                    limit: MAX_CELLS,
                });
            }
            for k in 0..=n {
                let t = k as f64 / n as f64;
                let ll = LatLng::new(y1 + t * (y2 - y1), x1 + t * (x2 - x1))
                    .map_err(|_| GeoError::Latitude(y1))?;
                cells.insert(ll.to_cell(res));
            }
        }
    }
    Ok(cells)
}

fn centre(c: CellIndex) -> (f64, f64) {
    let ll = LatLng::from(c);
    (ll.lng(), ll.lat())
}

/// Roughly how many cells of `res` the polygon's outer ring covers: its area (planar,
/// longitude shrunk by the cosine of the mean latitude) over a hexagon's.
fn estimate_cells(p: &Polygon, res: Resolution) -> f64 {
    let ring = &p[0];
    let mean_lat = ring.iter().map(|&(_, y)| y).sum::<f64>() / ring.len() as f64;
    let cos = mean_lat.to_radians().cos().max(0.01);
    let n = ring.len();
    let area_deg2 = (0..n)
        .map(|i| {
            let (x1, y1) = ring[i];
            let (x2, y2) = ring[(i + 1) % n];
            x1 * cos * y2 - x2 * cos * y1
        })
        .sum::<f64>()
        .abs()
        / 2.0;
    let area_km2 = area_deg2 * 111.19 * 111.19;
    let e = res.edge_length_km();
    area_km2 / (1.5 * 3f64.sqrt() * e * e)
}

/// The cells at `res` whose centres lie inside the GeoJSON polygon(s), each once, in
/// no particular order.
pub fn polygon_to_cells(geojson: &Value, res: i32) -> Result<Vec<u64>, GeoError> {
    let resolution = u8::try_from(res)
        .ok()
        .and_then(|r| Resolution::try_from(r).ok())
        .ok_or(GeoError::Resolution(res))?;
    let mut out: AHashSet<CellIndex> = AHashSet::new();
    let polygons = parse_polygons(geojson)?;
    // Refuse before filling: a continent at resolution 12 is billions of cells.
    let estimate: f64 = polygons.iter().map(|p| estimate_cells(p, resolution)).sum();
    if estimate > MAX_CELLS as f64 {
        return Err(GeoError::TooMany {
            count: estimate as u64,
            limit: MAX_CELLS,
        });
    }
    let mut every = crate::interrupt::Every::default();
    for p in polygons {
        let fence = fence(&p, resolution)?;
        let mut seen: AHashSet<CellIndex> = fence.clone();
        let mut queue: VecDeque<CellIndex> = fence.iter().copied().collect();
        while let Some(c) = queue.pop_front() {
            every.tick();
            let inside = contains(&p, centre(c));
            if inside {
                out.insert(c);
                if out.len() as u64 > MAX_CELLS {
                    return Err(GeoError::TooMany {
                        count: out.len() as u64,
                        limit: MAX_CELLS,
                    });
                }
            }
            // Spread from the fence and from inside cells; an outside cell off the
            // fence is the edge of the flood.
            if inside || fence.contains(&c) {
                for nb in c.grid_disk::<Vec<_>>(1) {
                    if seen.insert(nb) {
                        queue.push_back(nb);
                    }
                }
            }
        }
    }
    let mut cells: Vec<u64> = out.into_iter().map(u64::from).collect();
    cells.sort_unstable();
    Ok(cells)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn square(lng: f64, lat: f64, half: f64) -> Vec<[f64; 2]> {
        vec![
            [lng - half, lat - half],
            [lng + half, lat - half],
            [lng + half, lat + half],
            [lng - half, lat + half],
            [lng - half, lat - half],
        ]
    }

    #[test]
    fn every_cell_centre_is_inside_and_every_inside_centre_is_found() {
        let g = json!({"type": "Polygon", "coordinates": [square(2.35, 48.85, 0.05)]});
        let cells = polygon_to_cells(&g, 8).unwrap();
        assert!(cells.len() > 100);
        let polys = parse_polygons(&g).unwrap();
        let set: AHashSet<u64> = cells.iter().copied().collect();
        for &c in &cells {
            let cell = CellIndex::try_from(c).unwrap();
            assert!(contains(&polys[0], centre(cell)));
            // Every neighbour whose centre is inside is in the answer too.
            for nb in cell.grid_disk::<Vec<_>>(1) {
                if contains(&polys[0], centre(nb)) {
                    assert!(set.contains(&u64::from(nb)));
                }
            }
        }
    }

    #[test]
    fn holes_and_multipolygons() {
        let outer = square(10.0, 10.0, 0.1);
        let hole = square(10.0, 10.0, 0.04);
        let with_hole = json!({"type": "Polygon", "coordinates": [outer, hole]});
        let full = json!({"type": "Polygon", "coordinates": [square(10.0, 10.0, 0.1)]});
        let a = polygon_to_cells(&with_hole, 8).unwrap().len();
        let b = polygon_to_cells(&full, 8).unwrap().len();
        assert!(a < b && a > b / 2, "{a} vs {b}");
        let multi = json!({"type": "MultiPolygon", "coordinates": [[square(0.0, 0.0, 0.02)], [square(5.0, 5.0, 0.02)]]});
        let m = polygon_to_cells(&multi, 9).unwrap();
        let one = polygon_to_cells(
            &json!({"type": "Polygon", "coordinates": [square(0.0, 0.0, 0.02)]}),
            9,
        )
        .unwrap();
        assert!(m.len() > one.len());
    }

    #[test]
    fn bad_geojson_is_named() {
        let e = polygon_to_cells(&json!({"type": "Point", "coordinates": [0, 0]}), 5).unwrap_err();
        assert!(
            e.to_string()
                .contains("must be a Polygon or MultiPolygon, got Point"),
            "{e}"
        );
        let e = polygon_to_cells(
            &json!({"type": "Polygon", "coordinates": [[[0, 0], [1, 1]]]}),
            5,
        )
        .unwrap_err();
        assert!(e.to_string().contains("at least 3"), "{e}");
        assert_eq!(
            polygon_to_cells(
                &json!({"type": "Polygon", "coordinates": [square(0.0, 0.0, 1.0)]}),
                16
            ),
            Err(GeoError::Resolution(16))
        );
        let huge = json!({"type": "Polygon", "coordinates": [square(0.0, 0.0, 40.0)]});
        assert!(matches!(
            polygon_to_cells(&huge, 12),
            Err(GeoError::TooMany { .. })
        ));
    }
}
