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
use super::sets::Sets;

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

/// The points on the sphere and the squared chord of eps, after checking the arguments.
fn prepare(
    lats: &[f64],
    lngs: &[f64],
    eps_m: f64,
    minpoints: i32,
) -> Result<(Vec<[f64; 3]>, f64), GeoError> {
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
    let mut xyz = Vec::with_capacity(lats.len());
    for (&lat, &lng) in lats.iter().zip(lngs) {
        if !lat.is_finite() || !(-90.0..=90.0).contains(&lat) {
            return Err(GeoError::Latitude(lat));
        }
        if !lng.is_finite() || !(-180.0..=180.0).contains(&lng) {
            return Err(GeoError::Longitude(lng));
        }
        xyz.push(to_xyz(lat, lng));
    }
    // eps beyond half the circumference covers the whole sphere.
    let half_angle = (eps_m / (2.0 * EARTH_RADIUS_M)).min(std::f64::consts::FRAC_PI_2);
    // A hair more than the exact chord, so that a pair at exactly eps is in, as `<=`
    // in PostGIS has it, despite rounding in the trigonometry.
    let chord = 2.0 * EARTH_RADIUS_M * half_angle.sin() * (1.0 + 1e-12);
    Ok((xyz, chord * chord))
}

/// Cluster ids for each point, None for noise: the plain R-tree algorithm, which
/// visits every neighbour of every core point. It is the definition the grid version
/// ([`dbscan`]) is tested against.
pub fn dbscan_rtree(
    lats: &[f64],
    lngs: &[f64],
    eps_m: f64,
    minpoints: i32,
) -> Result<Vec<Option<u32>>, GeoError> {
    let (xyz, r2) = prepare(lats, lngs, eps_m, minpoints)?;
    let points: Vec<Indexed> = xyz
        .iter()
        .enumerate()
        .map(|(i, p)| Indexed::new(*p, i as u32))
        .collect();
    let tree = RTree::bulk_load(points);
    let min = minpoints as usize;

    let core: Vec<bool> = xyz
        .iter()
        .map(|p| tree.locate_within_distance(*p, r2).take(min).count() >= min)
        .collect();

    let n = xyz.len();
    let mut sets = Sets::new(n);
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

    Ok(number(&core, &nearest_core, &mut sets))
}

/// Cluster ids by first appearance in the input: a core point's own set, a border
/// point's nearest core point's set, noise None.
fn number(core: &[bool], nearest_core: &[Option<(f64, u32)>], sets: &mut Sets) -> Vec<Option<u32>> {
    number_by(
        core.len(),
        |i| {
            if core[i] {
                Some(i as u32)
            } else {
                nearest_core[i].map(|(_, c)| c)
            }
        },
        sets,
    )
}

/// Cluster ids for points 0..n in input order, given each point's anchor in `sets`
/// (itself for a core point, its nearest core point for a border point, None for noise).
fn number_by(n: usize, anchor: impl Fn(usize) -> Option<u32>, sets: &mut Sets) -> Vec<Option<u32>> {
    let mut ids: Vec<Option<u32>> = vec![None; n];
    let mut id_of_root: Vec<u32> = vec![u32::MAX; n];
    let mut next = 0u32;
    for (i, id) in ids.iter_mut().enumerate() {
        let Some(a) = anchor(i) else {
            continue;
        };
        let root = sets.find(a) as usize;
        if id_of_root[root] == u32::MAX {
            id_of_root[root] = next;
            next += 1;
        }
        *id = Some(id_of_root[root]);
    }
    ids
}

/// Integer coordinates of a grid cell.
type CellKey = [i64; 3];

/// Cubes per side of a coarse cube.
const COARSE: i64 = 5;

/// Cluster ids for each point, None for noise, by a grid of cubes of side eps/√3.
///
/// Why a grid: with many points within eps of each other (a dense incident cluster),
/// the R-tree algorithm visits every neighbour of every core point, 10⁸ visits for a
/// million points, and is no faster than PostGIS. In a cube of side eps/√3 every two
/// points are within eps, so a cube holding `minpoints` points is all core and one
/// cluster without a single distance computed; two core cubes join on the first core
/// pair found within eps. Same answer as [`dbscan_rtree`], border points included.
pub fn dbscan(
    lats: &[f64],
    lngs: &[f64],
    eps_m: f64,
    minpoints: i32,
) -> Result<Vec<Option<u32>>, GeoError> {
    let (xyz, r2) = prepare(lats, lngs, eps_m, minpoints)?;
    let n = xyz.len();
    let min = minpoints as usize;
    // A hair under eps/√3, so that rounding can never put two points of one cube more
    // than eps apart; eps is then still less than two sides, which `reach` relies on.
    let side = r2.sqrt() / 3f64.sqrt() * (1.0 - 1e-12);
    if n == 0 {
        return Ok(Vec::new());
    }
    if side <= 0.0 {
        // eps = 0: only coincident points are neighbours; the R-tree handles it plainly.
        return dbscan_rtree(lats, lngs, eps_m, minpoints);
    }
    let key = |p: &[f64; 3]| -> CellKey {
        [
            (p[0] / side).floor() as i64,
            (p[1] / side).floor() as i64,
            (p[2] / side).floor() as i64,
        ]
    };
    // The points in cube order, so that a cube is a run of positions and the inner
    // loops read memory in sequence; `order[p]` is the input index at position p.
    // Sorting (key, index) pairs, not indexes by a looked-up key: the comparisons then
    // read memory in sequence (the indirect sort was a third of the time).
    let mut keyed: Vec<(CellKey, u32)> = xyz
        .iter()
        .enumerate()
        .map(|(i, p)| (key(p), i as u32))
        .collect();
    keyed.sort_unstable();
    let order: Vec<u32> = keyed.iter().map(|&(_, i)| i).collect();
    let pts: Vec<[f64; 3]> = order.iter().map(|&i| xyz[i as usize]).collect();
    let mut cells: ahash::AHashMap<CellKey, (u32, u32)> = ahash::AHashMap::new();
    let mut start = 0;
    for end in 1..=n {
        if end == n || keyed[end].0 != keyed[start].0 {
            cells.insert(keyed[start].0, (start as u32, end as u32));
            start = end;
        }
    }
    drop(keyed);
    // Cubes that can hold a point within eps of a point of this one: two cube sides
    // in each direction, since eps = √3 sides.
    let reach: Vec<[i64; 3]> = {
        let mut v = Vec::with_capacity(125);
        for dx in -2..=2 {
            for dy in -2..=2 {
                for dz in -2..=2 {
                    v.push([dx, dy, dz]);
                }
            }
        }
        v
    };
    let near = |a: usize, b: usize| dist2(&pts[a], &pts[b]) <= r2;
    // Counts per coarse cube of 5×5×5 cubes: the 125 cubes around a cube lie in at most
    // 8 coarse ones, so 8 lookups can tell an isolated point that it has too few
    // neighbours, where 125 lookups of mostly empty cubes were the cost before.
    let coarse_of = |k: &CellKey| -> CellKey {
        [
            k[0].div_euclid(COARSE),
            k[1].div_euclid(COARSE),
            k[2].div_euclid(COARSE),
        ]
    };
    let coarse_around = |k: &CellKey| -> Vec<CellKey> {
        let lo = coarse_of(&[k[0] - 2, k[1] - 2, k[2] - 2]);
        let hi = coarse_of(&[k[0] + 2, k[1] + 2, k[2] + 2]);
        let mut out = Vec::with_capacity(8);
        for x in lo[0]..=hi[0] {
            for y in lo[1]..=hi[1] {
                for z in lo[2]..=hi[2] {
                    out.push([x, y, z]);
                }
            }
        }
        out
    };
    let mut coarse_points: ahash::AHashMap<CellKey, usize> = ahash::AHashMap::new();
    for (k, &(a, b)) in &cells {
        *coarse_points.entry(coarse_of(k)).or_default() += (b - a) as usize;
    }
    // The non-empty cubes around each cube, looked up once per cube, not per point.
    let around = |k: &CellKey| -> Vec<(u32, u32)> {
        reach
            .iter()
            .filter_map(|d| cells.get(&[k[0] + d[0], k[1] + d[1], k[2] + d[2]]).copied())
            .collect()
    };

    // Core points, by position.
    let mut core = vec![false; n];
    for (k, &(a, b)) in &cells {
        let (a, b) = (a as usize, b as usize);
        if b - a >= min {
            core[a..b].iter_mut().for_each(|c| *c = true);
            continue;
        }
        let total: usize = coarse_around(k)
            .iter()
            .map(|c| coarse_points.get(c).copied().unwrap_or(0))
            .sum();
        if total < min {
            continue;
        }
        let neighbours = around(k);
        for (i, is_core) in core.iter_mut().enumerate().take(b).skip(a) {
            let mut count = 0;
            'count: for &(c, d) in &neighbours {
                for j in c as usize..d as usize {
                    if near(i, j) {
                        count += 1;
                        if count >= min {
                            break 'count;
                        }
                    }
                }
            }
            *is_core = count >= min;
        }
    }

    // Core points of a cube are one cluster; neighbouring cubes join on a close core pair.
    let mut sets = Sets::new(n);
    let mut cell_cores: ahash::AHashMap<CellKey, Vec<u32>> = ahash::AHashMap::new();
    for (k, &(a, b)) in &cells {
        let cs: Vec<u32> = (a..b).filter(|&p| core[p as usize]).collect();
        if !cs.is_empty() {
            for w in cs.windows(2) {
                sets.union(w[0], w[1]);
            }
            cell_cores.insert(*k, cs);
        }
    }
    let mut core_keys: Vec<&CellKey> = cell_cores.keys().collect();
    core_keys.sort_unstable();
    for k in core_keys {
        let cs = &cell_cores[k];
        for d in &reach {
            let nk = [k[0] + d[0], k[1] + d[1], k[2] + d[2]];
            // Each pair of cubes once.
            if nk <= *k {
                continue;
            }
            let Some(other) = cell_cores.get(&nk) else {
                continue;
            };
            if sets.find(cs[0]) == sets.find(other[0]) {
                continue;
            }
            if cs
                .iter()
                .any(|&i| other.iter().any(|&j| near(i as usize, j as usize)))
            {
                sets.union(cs[0], other[0]);
            }
        }
    }

    // Border points: the nearest core point within eps, the lowest input index on a tie.
    let mut coarse_cores: ahash::AHashSet<CellKey> = ahash::AHashSet::new();
    for k in cell_cores.keys() {
        coarse_cores.insert(coarse_of(k));
    }
    let mut nearest_core: Vec<Option<(f64, u32)>> = vec![None; n];
    for (k, &(a, b)) in &cells {
        if (a..b).all(|p| core[p as usize])
            || !coarse_around(k).iter().any(|c| coarse_cores.contains(c))
        {
            continue;
        }
        for i in a as usize..b as usize {
            if core[i] {
                continue;
            }
            let mut best: Option<(f64, u32)> = None;
            for d in &reach {
                let nk = [k[0] + d[0], k[1] + d[1], k[2] + d[2]];
                let Some(cs) = cell_cores.get(&nk) else {
                    continue;
                };
                for &j in cs {
                    let dd = dist2(&pts[i], &pts[j as usize]);
                    if dd <= r2 {
                        let better = match best {
                            None => true,
                            Some((bd, bj)) => {
                                dd < bd || (dd == bd && order[j as usize] < order[bj as usize])
                            }
                        };
                        if better {
                            best = Some((dd, j));
                        }
                    }
                }
            }
            nearest_core[i] = best;
        }
    }

    // Back to input order: point i sits at position pos[i].
    let mut pos = vec![0u32; n];
    for (p, &i) in order.iter().enumerate() {
        pos[i as usize] = p as u32;
    }
    Ok(number_by(
        n,
        |i| {
            let p = pos[i] as usize;
            if core[p] {
                Some(p as u32)
            } else {
                nearest_core[p].map(|(_, c)| c)
            }
        },
        &mut sets,
    ))
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

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(60))]
        #[test]
        fn the_grid_gives_the_r_tree_answer(
            seed in 0u64..1_000_000, n in 1usize..400, eps in 1.0f64..400.0, minpoints in 1i32..8,
            lat0 in -85.0f64..85.0, lng0 in -180.0f64..180.0,
        ) {
            // Points in a few tight groups and a sprinkle, within a few kilometres.
            let mut state = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let mut next = || {
                state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                (state >> 11) as f64 / (1u64 << 53) as f64
            };
            let (mut lats, mut lngs) = (Vec::new(), Vec::new());
            let groups: Vec<(f64, f64)> = (0..4).map(|_| (next() - 0.5, next() - 0.5)).collect();
            for i in 0..n {
                let (gy, gx) = groups[i % 4];
                let spread = if i % 5 == 0 { 0.03 } else { 0.003 };
                lats.push((lat0 + gy * 0.03 + (next() - 0.5) * spread).clamp(-90.0, 90.0));
                let lng = lng0 + gx * 0.03 + (next() - 0.5) * spread;
                lngs.push(if lng > 180.0 { lng - 360.0 } else if lng < -180.0 { lng + 360.0 } else { lng });
            }
            proptest::prop_assert_eq!(
                dbscan(&lats, &lngs, eps, minpoints).unwrap(),
                dbscan_rtree(&lats, &lngs, eps, minpoints).unwrap()
            );
        }
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
