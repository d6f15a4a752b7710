//! DBSCAN of points on the sphere, with eps in metres, on an R-tree.
//!
//! Points go to 3-D coordinates on a sphere of the Earth's mean radius; a great-circle
//! distance d ≤ eps is exactly a chord c ≤ 2R·sin(eps / 2R), so the R-tree's Euclidean
//! search answers the spherical question without a projection and without error at
//! any latitude or across the antimeridian.
//!
//! As PostGIS's ST_ClusterDBSCAN: a point is a core point when at least `minpoints`
//! points (itself included) lie within eps; core points within eps of each other share
//! a cluster; a non-core point within eps of a core point is a border point of that
//! cluster; everything else is noise (None). Where PostGIS assigns a border point near
//! two clusters to either, CTAS picks the cluster of its nearest core point (the lowest
//! index on a tie), so the answer never depends on the order of evaluation. Clusters
//! are numbered from 0 in the order of their first point in the input (PostGIS's
//! numbers follow its own traversal; the clusters are the same).

use rstar::primitives::GeomWithData;
use rstar::RTree;

use super::h3::GeoError;

/// The IUGG mean Earth radius, in metres.
pub const EARTH_RADIUS_M: f64 = 6_371_008.8;

/// Most points one call clusters.
pub const MAX_POINTS: usize = 50_000_000;

type Indexed = GeomWithData<[f64; 3], u32>;

fn to_xyz(lat: f64, lng: f64) -> [f64; 3] {
    let (lat, lng) = (lat.to_radians(), lng.to_radians());
    [
        EARTH_RADIUS_M * lat.cos() * lng.cos(),
        EARTH_RADIUS_M * lat.cos() * lng.sin(),
        EARTH_RADIUS_M * lat.sin(),
    ]
}

fn dist2(a: &[f64; 3], b: &[f64; 3]) -> f64 {
    (a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2) + (a[2] - b[2]).powi(2)
}

/// Union-find whose roots are always the lowest index of their set.
struct Sets(Vec<u32>);

impl Sets {
    fn find(&mut self, mut i: u32) -> u32 {
        while self.0[i as usize] != i {
            let parent = self.0[i as usize];
            self.0[i as usize] = self.0[parent as usize];
            i = parent;
        }
        i
    }

    fn union(&mut self, a: u32, b: u32) {
        let (ra, rb) = (self.find(a), self.find(b));
        let (lo, hi) = if ra < rb { (ra, rb) } else { (rb, ra) };
        self.0[hi as usize] = lo;
    }
}

/// Cluster ids for each point, None for noise.
pub fn dbscan(
    lats: &[f64],
    lngs: &[f64],
    eps_m: f64,
    minpoints: i32,
) -> Result<Vec<Option<u32>>, GeoError> {
    if lats.len() != lngs.len() {
        return Err(GeoError::PointLengths {
            lats: lats.len(),
            lngs: lngs.len(),
        });
    }
    if lats.len() > MAX_POINTS {
        return Err(GeoError::TooManyPoints {
            count: lats.len(),
            limit: MAX_POINTS,
        });
    }
    if !(eps_m.is_finite() && eps_m >= 0.0) {
        return Err(GeoError::Eps(eps_m));
    }
    if minpoints < 1 {
        return Err(GeoError::MinPoints(minpoints));
    }
    let mut points = Vec::with_capacity(lats.len());
    for (i, (&lat, &lng)) in lats.iter().zip(lngs).enumerate() {
        if !lat.is_finite() || !(-90.0..=90.0).contains(&lat) {
            return Err(GeoError::Latitude(lat));
        }
        if !lng.is_finite() || !(-180.0..=180.0).contains(&lng) {
            return Err(GeoError::Longitude(lng));
        }
        points.push(Indexed::new(to_xyz(lat, lng), i as u32));
    }
    // eps beyond half the circumference covers the whole sphere.
    let half_angle = (eps_m / (2.0 * EARTH_RADIUS_M)).min(std::f64::consts::FRAC_PI_2);
    // A hair more than the exact chord, so that a pair at exactly eps is in, as `<=`
    // in PostGIS has it, despite rounding in the trigonometry.
    let chord = 2.0 * EARTH_RADIUS_M * half_angle.sin() * (1.0 + 1e-12);
    let r2 = chord * chord;
    let xyz: Vec<[f64; 3]> = points.iter().map(|p| *p.geom()).collect();
    let tree = RTree::bulk_load(points);
    let min = minpoints as usize;

    let core: Vec<bool> = xyz
        .iter()
        .map(|p| tree.locate_within_distance(*p, r2).take(min).count() >= min)
        .collect();

    let n = xyz.len();
    let mut sets = Sets((0..n as u32).collect());
    // For a border point: its nearest core point so far, and the squared distance.
    let mut nearest_core: Vec<Option<(f64, u32)>> = vec![None; n];
    for i in 0..n {
        if !core[i] {
            continue;
        }
        for nb in tree.locate_within_distance(xyz[i], r2) {
            let j = nb.data as usize;
            if core[j] {
                sets.union(i as u32, j as u32);
            } else {
                let d = dist2(&xyz[i], &xyz[j]);
                let better = match nearest_core[j] {
                    None => true,
                    Some((bd, bi)) => d < bd || (d == bd && (i as u32) < bi),
                };
                if better {
                    nearest_core[j] = Some((d, i as u32));
                }
            }
        }
    }

    let mut ids: Vec<Option<u32>> = vec![None; n];
    let mut id_of_root: Vec<u32> = vec![u32::MAX; n];
    let mut next = 0u32;
    for i in 0..n {
        let anchor = if core[i] {
            i as u32
        } else if let Some((_, c)) = nearest_core[i] {
            c
        } else {
            continue;
        };
        let root = sets.find(anchor) as usize;
        if id_of_root[root] == u32::MAX {
            id_of_root[root] = next;
            next += 1;
        }
        ids[i] = Some(id_of_root[root]);
    }
    Ok(ids)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Points `metres` east of (lat, 0) along the parallel.
    fn east(lat: f64, metres: &[f64]) -> (Vec<f64>, Vec<f64>) {
        let per_degree = EARTH_RADIUS_M * lat.to_radians().cos() * std::f64::consts::PI / 180.0;
        (
            vec![lat; metres.len()],
            metres.iter().map(|m| m / per_degree).collect(),
        )
    }

    #[test]
    fn two_groups_and_noise() {
        let (lats, lngs) = east(0.0, &[0.0, 50.0, 100.0, 5000.0, 5060.0, 5120.0, 20000.0]);
        let got = dbscan(&lats, &lngs, 80.0, 2).unwrap();
        assert_eq!(
            got,
            vec![Some(0), Some(0), Some(0), Some(1), Some(1), Some(1), None]
        );
    }

    #[test]
    fn border_points_join_their_nearest_core_and_ids_follow_input_order() {
        // Cores at 0 and 200 (each with a close friend), a border point at 90 m from
        // the first core and 110 m from the second; eps 100, minpoints 3.
        let (lats, lngs) = east(45.0, &[200.0, 205.0, 195.0, 90.0, 0.0, 5.0, -5.0]);
        let got = dbscan(&lats, &lngs, 100.0, 3).unwrap();
        assert_eq!(got[0], Some(0), "numbered by first appearance");
        assert_eq!(got[4], Some(1));
        assert_eq!(got[3], got[4], "the border point goes to the nearer core");
    }

    #[test]
    fn across_the_antimeridian() {
        let lats = [10.0, 10.0, 10.0];
        let lngs = [179.9995, -179.9995, 0.0];
        let got = dbscan(&lats, &lngs, 150.0, 2).unwrap();
        assert_eq!(got, vec![Some(0), Some(0), None]);
    }

    #[test]
    fn minpoints_one_makes_every_point_a_cluster() {
        let (lats, lngs) = east(0.0, &[0.0, 1000.0]);
        assert_eq!(
            dbscan(&lats, &lngs, 10.0, 1).unwrap(),
            vec![Some(0), Some(1)]
        );
    }

    #[test]
    fn bad_arguments_are_named() {
        assert!(matches!(
            dbscan(&[0.0], &[], 1.0, 1),
            Err(GeoError::PointLengths { .. })
        ));
        assert_eq!(dbscan(&[0.0], &[0.0], -1.0, 1), Err(GeoError::Eps(-1.0)));
        assert_eq!(dbscan(&[0.0], &[0.0], 1.0, 0), Err(GeoError::MinPoints(0)));
        assert_eq!(
            dbscan(&[95.0], &[0.0], 1.0, 1),
            Err(GeoError::Latitude(95.0))
        );
    }
}
