//! DBSCAN of points on the sphere, with eps in metres: on a grid of cubes ([`dbscan`]),
//! checked against the plain algorithm on an R-tree ([`dbscan_rtree`]).
//!
//! Points go to 3-D coordinates on a sphere of the Earth's mean radius; a great-circle
//! distance d ≤ eps is exactly a chord c ≤ 2R·sin(eps / 2R), so a Euclidean search in
//! 3-D answers the spherical question without a projection and without error at any
//! latitude or across the antimeridian.
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

    let mut every = crate::interrupt::Every::default();
    let core: Vec<bool> = xyz
        .iter()
        .map(|p| {
            every.tick();
            tree.locate_within_distance(*p, r2).take(min).count() >= min
        })
        .collect();

    let n = xyz.len();
    let mut sets = Sets::new(n);
    // For a border point: its nearest core point so far, and the squared distance.
    let mut nearest_core: Vec<Option<(f64, u32)>> = vec![None; n];
    for i in 0..n {
        every.tick();
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

/// Integer coordinates of a cube of the grid: two column coordinates, then the
/// coordinate along the column.
type CubeKey = [i64; 3];

/// The cubes of the grid that hold points, with each cube's neighbouring cubes.
///
/// Points are kept in cube order, so that a cube is a run of positions and the inner
/// loops read memory in sequence. The cubes are sorted by key, so a column of cubes
/// (same first two coordinates) is a run of cubes ordered along the column, and a row
/// (same first coordinate) a run of columns: the up to 125 cubes within reach of a cube
/// (two cube sides in each direction, since eps = √3 sides) are then found by one sweep
/// over the rows with a cursor per neighbouring row, listed once and used by every
/// phase, where 125 hash lookups per cube in each phase were most of the time before.
/// The column runs along the axis closest to the points' mean direction from the
/// Earth's centre, which crosses the surface they lie on in the fewest cubes.
struct Grid {
    /// Input index of the point at each position.
    order: Vec<u32>,
    /// The points, in position order.
    pts: Vec<[f64; 3]>,
    /// Positions of cube q's points: `start[q]..start[q + 1]`.
    start: Vec<u32>,
    /// Cubes within reach of cube q (itself included): `near[near_start[q]..near_start[q + 1]]`.
    near_start: Vec<u32>,
    near: Vec<u32>,
}

impl Grid {
    fn new(xyz: &[[f64; 3]], side: f64) -> Grid {
        let mut mean = [0.0f64; 3];
        for p in xyz {
            for a in 0..3 {
                mean[a] += p[a];
            }
        }
        let along = (0..3)
            .max_by(|&a, &b| mean[a].abs().total_cmp(&mean[b].abs()))
            .unwrap_or(2);
        let axes = [(along + 1) % 3, (along + 2) % 3, along];
        let key = |p: &[f64; 3]| -> CubeKey { axes.map(|a| (p[a] / side).floor() as i64) };
        let (order, keys, start) = sort_by_cube(xyz.iter().map(key).collect());
        let pts: Vec<[f64; 3]> = order.iter().map(|&i| xyz[i as usize]).collect();
        // Columns (cubes sharing the first two coordinates) and rows (columns sharing the
        // first), both runs in the sorted order: `column[c]..column[c + 1]` are the
        // cubes of column c, `row[r]..row[r + 1]` the columns of row r.
        let mut column: Vec<u32> = Vec::new();
        let mut row: Vec<u32> = Vec::new();
        for (q, k) in keys.iter().enumerate() {
            let new_row = q == 0 || keys[q - 1][0] != k[0];
            if new_row || keys[q - 1][1] != k[1] {
                if new_row {
                    row.push(column.len() as u32);
                }
                column.push(q as u32);
            }
        }
        column.push(keys.len() as u32);
        row.push(column.len() as u32 - 1);
        let rows = row.len() - 1;
        // A sweep, no lookups: for the cubes of row r in order, the columns within two
        // of each cube's column in a row within two of r are found by a cursor per
        // neighbouring row that only moves forward.
        let mut near_start = Vec::with_capacity(keys.len() + 1);
        let mut near = Vec::new();
        for r in 0..rows {
            let a = keys[column[row[r] as usize] as usize][0];
            let first_key = |rr: usize| keys[column[row[rr] as usize] as usize][0];
            let neighbour_rows: Vec<usize> = (r.saturating_sub(2)..(r + 3).min(rows))
                .filter(|&rr| (first_key(rr) - a).abs() <= 2)
                .collect();
            let mut cursor: Vec<usize> =
                neighbour_rows.iter().map(|&rr| row[rr] as usize).collect();
            for c in row[r] as usize..row[r + 1] as usize {
                let b = keys[column[c] as usize][1];
                for (i, &rr) in neighbour_rows.iter().enumerate() {
                    let end = row[rr + 1] as usize;
                    while cursor[i] < end && keys[column[cursor[i]] as usize][1] < b - 2 {
                        cursor[i] += 1;
                    }
                }
                for q in column[c] as usize..column[c + 1] as usize {
                    let z = keys[q][2];
                    near_start.push(near.len() as u32);
                    for (i, &rr) in neighbour_rows.iter().enumerate() {
                        let end = row[rr + 1] as usize;
                        for cc in cursor[i]..end {
                            let (lo, hi) = (column[cc] as usize, column[cc + 1] as usize);
                            if keys[lo][1] > b + 2 {
                                break;
                            }
                            let cubes = &keys[lo..hi];
                            let from = cubes.partition_point(|k| k[2] < z - 2);
                            for (j, k) in cubes.iter().enumerate().skip(from) {
                                if k[2] > z + 2 {
                                    break;
                                }
                                near.push((lo + j) as u32);
                            }
                        }
                    }
                }
            }
        }
        near_start.push(near.len() as u32);
        Grid {
            order,
            pts,
            start,
            near_start,
            near,
        }
    }

    fn cubes(&self) -> usize {
        self.start.len() - 1
    }

    /// Positions of cube q's points.
    fn points(&self, q: usize) -> std::ops::Range<usize> {
        self.start[q] as usize..self.start[q + 1] as usize
    }

    /// The cubes within reach of cube q.
    fn near(&self, q: usize) -> &[u32] {
        &self.near[self.near_start[q] as usize..self.near_start[q + 1] as usize]
    }
}

/// The points in cube order: input indexes sorted by (cube, index), the distinct cubes
/// in order, and where each cube's points start (and, last, the number of points).
///
/// Why not `sort_unstable` on (key, index) pairs: it was a quarter of the time. When the
/// cubes' coordinates span less than 2³² on each axis (eps above a few millimetres),
/// each point becomes one u128, its cube's coordinates packed above its index, and a
/// radix sort over the key bits alone orders them in a few linear passes; being
/// stable, it keeps the indexes of one cube in input order without sorting on them.
fn sort_by_cube(keys: Vec<CubeKey>) -> (Vec<u32>, Vec<CubeKey>, Vec<u32>) {
    let n = keys.len();
    let mut lo = [i64::MAX; 3];
    let mut hi = [i64::MIN; 3];
    for k in &keys {
        for a in 0..3 {
            lo[a] = lo[a].min(k[a]);
            hi[a] = hi[a].max(k[a]);
        }
    }
    let mut order = Vec::with_capacity(n);
    let mut cubes: Vec<CubeKey> = Vec::new();
    let mut start: Vec<u32> = Vec::new();
    if (0..3).all(|a| i128::from(hi[a]) - i128::from(lo[a]) < 1 << 32) {
        // Bits of each coordinate above its minimum; the key is them side by side.
        let bits = [0, 1, 2].map(|a| 64 - ((hi[a] - lo[a]) as u64).leading_zeros());
        let pack = |k: &CubeKey| -> u128 {
            let at = |a: usize| (k[a] - lo[a]) as u128;
            ((at(0) << bits[1] | at(1)) << bits[2] | at(2)) << 32
        };
        let mut packed: Vec<u128> = keys
            .iter()
            .enumerate()
            .map(|(i, k)| pack(k) | i as u128)
            .collect();
        drop(keys);
        radix_sort(&mut packed, 32, 32 + bits.iter().sum::<u32>());
        let mut last = None;
        for (p, &v) in packed.iter().enumerate() {
            order.push(v as u32);
            let cube = v >> 32;
            if last != Some(cube) {
                last = Some(cube);
                let field = |shift: u32, a: usize| {
                    ((cube >> shift) & ((1u128 << bits[a]) - 1)) as i64 + lo[a]
                };
                cubes.push([field(bits[1] + bits[2], 0), field(bits[2], 1), field(0, 2)]);
                start.push(p as u32);
            }
        }
    } else {
        let mut keyed: Vec<(CubeKey, u32)> = keys
            .into_iter()
            .enumerate()
            .map(|(i, k)| (k, i as u32))
            .collect();
        keyed.sort_unstable();
        for (p, (k, i)) in keyed.iter().enumerate() {
            order.push(*i);
            if cubes.last() != Some(k) {
                cubes.push(*k);
                start.push(p as u32);
            }
        }
    }
    start.push(n as u32);
    (order, cubes, start)
}

/// Sorts `items` by their bits `from..to`, stably (least significant digit first, 11
/// bits a pass).
fn radix_sort(items: &mut Vec<u128>, from: u32, to: u32) {
    const DIGIT: u32 = 11;
    let mut spare = vec![0u128; items.len()];
    let mut shift = from;
    while shift < to {
        let width = DIGIT.min(to - shift);
        let mask = (1usize << width) - 1;
        let digit = |v: u128| (v >> shift) as usize & mask;
        let mut count = vec![0usize; mask + 2];
        for &v in items.iter() {
            count[digit(v) + 1] += 1;
        }
        for d in 1..count.len() {
            count[d] += count[d - 1];
        }
        for &v in items.iter() {
            let d = digit(v);
            spare[count[d]] = v;
            count[d] += 1;
        }
        std::mem::swap(items, &mut spare);
        shift += width;
    }
}

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
    // than eps apart; eps is then still less than two sides, which the reach of two
    // cubes relies on.
    let side = r2.sqrt() / 3f64.sqrt() * (1.0 - 1e-12);
    if n == 0 {
        return Ok(Vec::new());
    }
    if side < EARTH_RADIUS_M / (1u64 << 40) as f64 {
        // eps = 0 (only coincident points are neighbours) or below about ten micrometres:
        // cube coordinates would no longer fit an integer with room to spare; the
        // R-tree handles it plainly.
        return dbscan_rtree(lats, lngs, eps_m, minpoints);
    }
    let grid = Grid::new(&xyz, side);
    drop(xyz);
    let pts = &grid.pts;
    let close = |a: usize, b: usize| dist2(&pts[a], &pts[b]) <= r2;

    // Core points, by position.
    let mut every = crate::interrupt::Every::default();
    let mut core = vec![false; n];
    for q in 0..grid.cubes() {
        every.tick();
        let own = grid.points(q);
        if own.len() >= min {
            core[own].iter_mut().for_each(|c| *c = true);
            continue;
        }
        let near = grid.near(q);
        if near
            .iter()
            .map(|&r| grid.points(r as usize).len())
            .sum::<usize>()
            < min
        {
            continue;
        }
        for i in own {
            every.tick();
            let mut count = 0;
            'count: for &r in near {
                for j in grid.points(r as usize) {
                    if close(i, j) {
                        count += 1;
                        if count >= min {
                            break 'count;
                        }
                    }
                }
            }
            core[i] = count >= min;
        }
    }

    // The core points of each cube: `cores[core_start[q]..core_start[q + 1]]`.
    let mut core_start = Vec::with_capacity(grid.cubes() + 1);
    let mut cores: Vec<u32> = Vec::new();
    for q in 0..grid.cubes() {
        core_start.push(cores.len());
        cores.extend(grid.points(q).filter(|&p| core[p]).map(|p| p as u32));
    }
    core_start.push(cores.len());
    let cores_of = |q: usize| &cores[core_start[q]..core_start[q + 1]];

    // Core points of a cube are one cluster; neighbouring cubes join on a close core pair.
    let mut sets = Sets::new(n);
    for q in 0..grid.cubes() {
        let cs = cores_of(q);
        for w in cs.windows(2) {
            sets.union(w[0], w[1]);
        }
    }
    for q in 0..grid.cubes() {
        every.tick();
        let cs = cores_of(q);
        let Some(&first) = cs.first() else {
            continue;
        };
        for &r in grid.near(q) {
            // Each pair of cubes once.
            if r as usize <= q {
                continue;
            }
            let other = cores_of(r as usize);
            let Some(&other_first) = other.first() else {
                continue;
            };
            if sets.find(first) == sets.find(other_first) {
                continue;
            }
            if cs
                .iter()
                .any(|&i| other.iter().any(|&j| close(i as usize, j as usize)))
            {
                sets.union(first, other_first);
            }
        }
    }

    // Border points: the nearest core point within eps, the lowest input index on a tie.
    let order = &grid.order;
    let mut nearest_core: Vec<Option<(f64, u32)>> = vec![None; n];
    for q in 0..grid.cubes() {
        let own = grid.points(q);
        if cores_of(q).len() == own.len() {
            continue;
        }
        let near = grid.near(q);
        if near.iter().all(|&r| cores_of(r as usize).is_empty()) {
            continue;
        }
        for i in own {
            every.tick();
            if core[i] {
                continue;
            }
            let mut best: Option<(f64, u32)> = None;
            for &r in near {
                for &j in cores_of(r as usize) {
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
    fn more_points_than_the_limit_are_refused_before_any_work() {
        // Zeroed memory the check never reads: the pages are asked for, not touched.
        let n = MAX_POINTS + 1;
        let (lats, lngs) = (vec![0.0f64; n], vec![0.0f64; n]);
        let e = dbscan(&lats, &lngs, 10.0, 2).unwrap_err();
        assert_eq!(
            e,
            GeoError::TooManyPoints {
                count: n,
                limit: MAX_POINTS
            }
        );
        assert_eq!(
            e.to_string(),
            "lats has 50000001 points; the limit is 50000000"
        );
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

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(40))]
        #[test]
        fn the_grid_gives_the_r_tree_answer_over_the_whole_globe(
            seed in 0u64..1_000_000, n in 1usize..300, eps_km in 50.0f64..3000.0,
            minpoints in 1i32..6,
        ) {
            // Points anywhere (poles and antimeridian included), eps up to thousands of
            // kilometres: columns along every axis, cubes of every size.
            let mut state = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
            let mut next = || {
                state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                (state >> 11) as f64 / (1u64 << 53) as f64
            };
            let lats: Vec<f64> = (0..n).map(|_| (next() * 2.0 - 1.0).asin().to_degrees()).collect();
            let lngs: Vec<f64> = (0..n).map(|_| next() * 360.0 - 180.0).collect();
            proptest::prop_assert_eq!(
                dbscan(&lats, &lngs, eps_km * 1000.0, minpoints).unwrap(),
                dbscan_rtree(&lats, &lngs, eps_km * 1000.0, minpoints).unwrap()
            );
        }
    }

    #[test]
    fn a_millimetre_eps_over_the_globe() {
        // Cube coordinates then span more than 2³² on an axis: the unpacked sort.
        let lats = [0.0, 0.0, 45.0, -45.0, 45.0];
        let lngs = [0.0, 4e-9, 90.0, -90.0, 90.0 + 4e-9];
        let got = dbscan(&lats, &lngs, 0.001, 2).unwrap();
        assert_eq!(got, vec![Some(0), Some(0), Some(1), None, Some(1)]);
        assert_eq!(got, dbscan_rtree(&lats, &lngs, 0.001, 2).unwrap());
    }

    #[test]
    fn a_nanometre_eps_is_the_r_tree_answer() {
        let lats = [10.0, 10.0, 10.0, -20.0];
        let lngs = [20.0, 20.0, 20.0 + 1e-6, 30.0];
        let got = dbscan(&lats, &lngs, 1e-9, 2).unwrap();
        assert_eq!(got, vec![Some(0), Some(0), None, None]);
        assert_eq!(got, dbscan_rtree(&lats, &lngs, 1e-9, 2).unwrap());
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
