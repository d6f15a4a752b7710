//! Clusters of H3 cells: connected groups of cells whose weight reaches a threshold,
//! allowing gaps of a given number of rings, each with its cells, weight, centroid and
//! outline.

use ahash::{AHashMap, AHashSet};
use h3o::{CellIndex, LatLng, VertexIndex};
use serde_json::{json, Value};

use super::h3::{GeoError, WeightedCells, MAX_K};
use super::sets::Sets;
use super::shape::ring_contains;

/// One cluster of cells.
#[derive(Debug, Clone, PartialEq)]
pub struct CellCluster {
    /// From 0, in the order of each cluster's first cell in the input.
    pub id: u32,
    /// Its cells, in input order.
    pub cells: Vec<u64>,
    /// The sum of their weights.
    pub total_weight: f64,
    /// The weighted centre, (lat, lng) in degrees, averaged on the sphere.
    pub centroid: (f64, f64),
    /// The outline as a GeoJSON MultiPolygon (one polygon per patch of touching cells,
    /// with holes where cells are missing inside).
    pub outline: Value,
}

/// Clusters of the cells whose weight is at least `min_weight`; two such cells are in
/// one cluster when at most `gap` rings of other cells lie between them (gap 0: they
/// touch). Cells must be distinct and of one resolution.
pub fn cell_clusters(
    cells: &[u64],
    weights: &[f64],
    min_weight: f64,
    gap: i32,
) -> Result<Vec<CellCluster>, GeoError> {
    if !(0..MAX_K).contains(&gap) {
        return Err(GeoError::Gap(gap));
    }
    let WeightedCells {
        cells: parsed,
        position,
    } = WeightedCells::parse(cells, weights, "weights")?;
    let kept: Vec<usize> = (0..cells.len())
        .filter(|&i| weights[i] >= min_weight)
        .collect();
    // Position among the kept cells of each input cell (u32::MAX: not kept).
    let mut kept_at = vec![u32::MAX; cells.len()];
    for (p, &i) in kept.iter().enumerate() {
        kept_at[i] = p as u32;
    }
    let mut sets = Sets::new(kept.len());
    let reach = (gap + 1) as u32;
    for (p, &i) in kept.iter().enumerate() {
        for nb in parsed[i].grid_disk::<Vec<_>>(reach) {
            if let Some(j) = position.get(nb) {
                let q = kept_at[j as usize];
                if q != u32::MAX {
                    sets.union(p as u32, q);
                }
            }
        }
    }
    let mut members: Vec<Vec<usize>> = Vec::new();
    let mut id_of_root: AHashMap<u32, usize> = AHashMap::new();
    for (p, &i) in kept.iter().enumerate() {
        let root = sets.find(p as u32);
        let id = *id_of_root.entry(root).or_insert_with(|| {
            members.push(Vec::new());
            members.len() - 1
        });
        members[id].push(i);
    }
    Ok(members
        .into_iter()
        .enumerate()
        .map(|(id, idx)| {
            let cluster_cells: Vec<CellIndex> = idx.iter().map(|&i| parsed[i]).collect();
            let ws: Vec<f64> = idx.iter().map(|&i| weights[i]).collect();
            CellCluster {
                id: id as u32,
                cells: idx.iter().map(|&i| cells[i]).collect(),
                total_weight: ws.iter().sum(),
                centroid: centroid(&cluster_cells, &ws),
                outline: outline(&cluster_cells),
            }
        })
        .collect())
}

/// The weighted mean of the cells' centres as unit vectors, back to (lat, lng); equal
/// weights when they sum to zero or less.
fn centroid(cells: &[CellIndex], weights: &[f64]) -> (f64, f64) {
    let total: f64 = weights.iter().sum();
    let (mut x, mut y, mut z) = (0.0, 0.0, 0.0);
    for (c, &w) in cells.iter().zip(weights) {
        let w = if total > 0.0 { w.max(0.0) } else { 1.0 };
        let ll = LatLng::from(*c);
        let (lat, lng) = (ll.lat_radians(), ll.lng_radians());
        x += w * lat.cos() * lng.cos();
        y += w * lat.cos() * lng.sin();
        z += w * lat.sin();
    }
    let lat = z.atan2((x * x + y * y).sqrt()).to_degrees();
    let lng = y.atan2(x).to_degrees();
    (lat, lng)
}

/// The outline of a set of cells: every cell edge walked counter-clockwise, the edges
/// two cells share cancelled, the rest chained into rings. In a hexagonal grid each
/// vertex joins three cells, so every outline vertex has exactly one edge out: the
/// rings are simple. Outer rings run counter-clockwise, holes clockwise.
fn outline(cells: &[CellIndex]) -> Value {
    let mut edges: AHashMap<VertexIndex, VertexIndex> = AHashMap::new();
    let mut directed: Vec<(VertexIndex, VertexIndex)> = Vec::new();
    for c in cells {
        let vs: Vec<VertexIndex> = c.vertexes().collect();
        for k in 0..vs.len() {
            directed.push((vs[k], vs[(k + 1) % vs.len()]));
        }
    }
    let all: AHashSet<(VertexIndex, VertexIndex)> = directed.iter().copied().collect();
    for &(a, b) in &directed {
        // An edge two cells share is walked once each way: it is inside, not outline.
        if !all.contains(&(b, a)) {
            edges.insert(a, b);
        }
    }
    let mut rings: Vec<Vec<(f64, f64)>> = Vec::new();
    let mut starts: Vec<VertexIndex> = edges.keys().copied().collect();
    starts.sort_unstable();
    let mut used: AHashSet<VertexIndex> = AHashSet::new();
    for s in starts {
        if used.contains(&s) {
            continue;
        }
        let mut ring = Vec::new();
        let mut v = s;
        loop {
            used.insert(v);
            let ll = LatLng::from(v);
            ring.push((ll.lng(), ll.lat()));
            v = edges[&v];
            if v == s {
                break;
            }
        }
        rings.push(unwrap_antimeridian(ring));
    }
    let (outers, holes): (Vec<_>, Vec<_>) = rings.into_iter().partition(|r| signed_area(r) > 0.0);
    let mut polygons: Vec<Vec<Vec<(f64, f64)>>> = outers.into_iter().map(|r| vec![r]).collect();
    for hole in holes {
        if let Some(p) = polygons.iter_mut().find(|p| ring_contains(&p[0], hole[0])) {
            p.push(hole);
        }
    }
    let coords: Vec<Value> = polygons
        .into_iter()
        .map(|p| {
            Value::Array(
                p.into_iter()
                    .map(|ring| {
                        let mut pts: Vec<Value> =
                            ring.iter().map(|&(x, y)| json!([x, y])).collect();
                        pts.push(pts[0].clone());
                        Value::Array(pts)
                    })
                    .collect(),
            )
        })
        .collect();
    json!({"type": "MultiPolygon", "coordinates": coords})
}

/// Longitudes made continuous along a ring, so one crossing the antimeridian does not
/// jump by 360°; GeoJSON readers accept longitudes a little past ±180.
fn unwrap_antimeridian(ring: Vec<(f64, f64)>) -> Vec<(f64, f64)> {
    let mut out = Vec::with_capacity(ring.len());
    let mut prev: Option<f64> = None;
    for (mut x, y) in ring {
        if let Some(p) = prev {
            while x - p > 180.0 {
                x -= 360.0;
            }
            while p - x > 180.0 {
                x += 360.0;
            }
        }
        prev = Some(x);
        out.push((x, y));
    }
    out
}

fn signed_area(ring: &[(f64, f64)]) -> f64 {
    let n = ring.len();
    (0..n)
        .map(|i| {
            let (x1, y1) = ring[i];
            let (x2, y2) = ring[(i + 1) % n];
            x1 * y2 - x2 * y1
        })
        .sum::<f64>()
        / 2.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geo::cell;
    use crate::geo::h3::{grid_disk, grid_ring};

    #[test]
    fn a_disk_is_one_cluster_with_one_ring_and_its_weight() {
        let c = cell(48.85, 2.35, 9).unwrap();
        let disk = grid_disk(c, 2).unwrap();
        let w = vec![2.0; disk.len()];
        let got = cell_clusters(&disk, &w, 1.0, 0).unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].cells, disk);
        assert_eq!(got[0].total_weight, 38.0);
        let polys = got[0].outline["coordinates"].as_array().unwrap();
        assert_eq!(polys.len(), 1, "one polygon");
        assert_eq!(polys[0].as_array().unwrap().len(), 1, "no hole");
        // 19 hexagons in a disk of 2: an outline of 30 vertices, closed.
        assert_eq!(polys[0][0].as_array().unwrap().len(), 31);
        let (lat, lng) = got[0].centroid;
        let centre = LatLng::from(CellIndex::try_from(c).unwrap());
        assert!((lat - centre.lat()).abs() < 1e-3 && (lng - centre.lng()).abs() < 1e-3);
    }

    #[test]
    fn a_ring_has_a_hole_and_the_threshold_removes_cells() {
        let c = cell(10.0, 10.0, 8).unwrap();
        let ring = grid_ring(c, 1).unwrap();
        let mut cells = ring.clone();
        cells.push(c);
        let mut w = vec![5.0; ring.len()];
        w.push(0.5); // the centre is below the threshold: a hole
        let got = cell_clusters(&cells, &w, 1.0, 0).unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].cells, ring);
        let polygon = &got[0].outline["coordinates"][0];
        assert_eq!(
            polygon.as_array().unwrap().len(),
            2,
            "outer ring and a hole"
        );
    }

    #[test]
    fn gaps_join_clusters() {
        let a = cell(0.0, 0.0, 7).unwrap();
        let far = grid_ring(a, 2).unwrap()[0];
        let cells = [a, far];
        assert_eq!(cell_clusters(&cells, &[1.0, 1.0], 0.0, 0).unwrap().len(), 2);
        let joined = cell_clusters(&cells, &[1.0, 1.0], 0.0, 1).unwrap();
        assert_eq!(joined.len(), 1);
        assert_eq!(
            joined[0].outline["coordinates"].as_array().unwrap().len(),
            2
        );
    }

    #[test]
    fn bad_input_is_named() {
        let a = cell(0.0, 0.0, 7).unwrap();
        assert!(matches!(
            cell_clusters(&[a], &[], 0.0, 0),
            Err(GeoError::Lengths { .. })
        ));
        assert_eq!(cell_clusters(&[a], &[1.0], 0.0, -1), Err(GeoError::Gap(-1)));
        assert_eq!(
            cell_clusters(&[a, a], &[1.0, 1.0], 0.0, 0),
            Err(GeoError::DuplicateCells)
        );
    }
}
