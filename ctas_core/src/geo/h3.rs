//! H3 cells over h3o, with the argument checks that SQL and HTTP users rely on.
//!
//! Cells travel as `u64` (the H3 index); every function that takes one validates it,
//! so a bigint that is not a cell is an error that says so, never a wrong answer.

use h3o::{CellIndex, LatLng, Resolution};
use thiserror::Error;

use super::positions::Positions;

/// The finest H3 resolution.
pub const MAX_RESOLUTION: i32 = 15;

/// Largest grid-disk radius accepted: a disk of k has 3k(k+1)+1 cells, three million
/// at 1000, which is as many as one SQL call should return.
pub const MAX_K: i32 = 1000;

/// Most cells one call may produce (children, uncompacted sets).
pub const MAX_CELLS: u64 = 10_000_000;

/// Why a point or resolution was refused; each variant names the argument at fault.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum GeoError {
    /// Latitude outside [-90, 90] or not finite.
    #[error("lat must be a finite number in [-90, 90], got {0}")]
    Latitude(f64),
    /// Longitude outside [-180, 180] or not finite.
    #[error("lng must be a finite number in [-180, 180], got {0}")]
    Longitude(f64),
    /// Resolution outside 0..=15.
    #[error("res must be an integer in [0, 15], got {0}")]
    Resolution(i32),
    /// A number that is not a valid H3 cell index.
    // Shown as the bigint SQL users typed (an H3 index never sets the top bit) and in hex.
    #[error("{arg} must be a valid H3 cell index, got {} ({value:#x})", *value as i64)]
    Cell {
        /// The argument at fault.
        arg: &'static str,
        /// What was given.
        value: u64,
    },
    /// A parent resolution finer than the cell.
    #[error("res must be in [0, {cell_res}] (the cell's resolution) for a parent, got {res}")]
    ParentResolution {
        /// Asked for.
        res: i32,
        /// The cell's.
        cell_res: i32,
    },
    /// A child resolution coarser than the cell.
    #[error(
        "res must be in [{cell_res}, 15] (from the cell's resolution) for children, got {res}"
    )]
    ChildResolution {
        /// Asked for.
        res: i32,
        /// The cell's.
        cell_res: i32,
    },
    /// A grid radius out of range.
    #[error("k must be an integer in [0, 1000], got {0}")]
    K(i32),
    /// Cells of different resolutions in a set of cells.
    #[error("cells must all have the same resolution")]
    MixedResolutions,
    /// The same cell twice in a set of cells.
    #[error("cells must not hold the same cell twice")]
    DuplicateCells,
    /// GeoJSON that is not a Polygon or MultiPolygon CTAS can read.
    #[error("geojson: {0}")]
    GeoJson(String),
    /// A gap out of range.
    #[error("gap must be an integer in [0, 999], got {0}")]
    Gap(i32),
    /// A kernel name that is not known.
    #[error("kernel must be one of uniform, triangular, quadratic, quartic, gaussian, got {0:?}")]
    Kernel(String),
    /// Arrays of cells and their values (named `arg`) of different lengths.
    #[error("cells and {arg} must have the same length, got {cells} cells and {values} {arg}")]
    Lengths {
        /// The argument holding the values.
        arg: &'static str,
        /// Cells given.
        cells: usize,
        /// Values given.
        values: usize,
    },
    /// A value that is not a finite number.
    #[error("{arg} must be finite numbers, got {value} at element {index}")]
    Value {
        /// The argument holding the values.
        arg: &'static str,
        /// Position, from 1 as SQL counts an array's elements.
        index: usize,
        /// The value.
        value: f64,
    },
    /// Arrays of latitudes and longitudes of different lengths.
    #[error("lats and lngs must have the same length, got {lats} and {lngs}")]
    PointLengths {
        /// Latitudes given.
        lats: usize,
        /// Longitudes given.
        lngs: usize,
    },
    /// More points than one call clusters.
    #[error("lats has {count} points; the limit is {limit}")]
    TooManyPoints {
        /// How many.
        count: usize,
        /// The limit.
        limit: usize,
    },
    /// A DBSCAN radius that is not a finite non-negative number of metres.
    #[error("eps must be a finite number of metres >= 0, got {0}")]
    Eps(f64),
    /// A DBSCAN minimum that is not positive.
    #[error("minpoints must be an integer >= 1, got {0}")]
    MinPoints(i32),
    /// A number that is not a valid H3 directed edge index.
    #[error("{arg} must be a valid H3 directed edge index, got {} ({value:#x})", *value as i64)]
    Edge {
        /// The argument at fault.
        arg: &'static str,
        /// What was given.
        value: u64,
    },
    /// A number that is not a valid H3 vertex index.
    #[error("{arg} must be a valid H3 vertex index, got {} ({value:#x})", *value as i64)]
    Vertex {
        /// The argument at fault.
        arg: &'static str,
        /// What was given.
        value: u64,
    },
    /// A unit name that is not one of those the measure takes.
    #[error("unit must be one of {expected}, got {got:?}")]
    Unit {
        /// What was given.
        got: String,
        /// The names taken.
        expected: &'static str,
    },
    /// Two cells that share no edge.
    #[error("origin and destination must be neighbouring cells of one resolution")]
    NotNeighbors,
    /// Two cells H3 cannot draw a path between.
    #[error("no grid path from origin to destination: {0}")]
    NoGridPath(String),
    /// The answer would be too large.
    #[error("the result would have {count} cells; the limit is {limit}")]
    TooMany {
        /// How many.
        count: u64,
        /// The limit.
        limit: u64,
    },
}

fn resolution(res: i32) -> Result<Resolution, GeoError> {
    u8::try_from(res)
        .ok()
        .and_then(|r| Resolution::try_from(r).ok())
        .ok_or(GeoError::Resolution(res))
}

fn res_of(cell: CellIndex) -> i32 {
    i32::from(u8::from(cell.resolution()))
}

/// The cell for an H3 index, or an error naming the argument `arg`.
pub fn parse_cell(value: u64, arg: &'static str) -> Result<CellIndex, GeoError> {
    CellIndex::try_from(value).map_err(|_| GeoError::Cell { arg, value })
}

/// Cells for a computation over a set of cells with a value each, and where each one
/// is in the input (one index serves as the check for duplicates and for the neighbour
/// lookups). Cells must be valid, distinct, of one resolution, every
/// value finite; errors name the first that is not.
pub(crate) struct WeightedCells {
    /// The cells, in input order.
    pub(crate) cells: Vec<CellIndex>,
    /// The input position of each cell.
    pub(crate) position: Positions,
}

impl WeightedCells {
    /// `values_arg` names the values in errors (`weights`, `values`).
    pub(crate) fn parse(
        cells: &[u64],
        values: &[f64],
        values_arg: &'static str,
    ) -> Result<WeightedCells, GeoError> {
        if cells.len() != values.len() {
            return Err(GeoError::Lengths {
                arg: values_arg,
                cells: cells.len(),
                values: values.len(),
            });
        }
        let res = match cells.first() {
            Some(&c) => parse_cell(c, "cells")?.resolution(),
            None => Resolution::Zero,
        };
        let mut parsed = Vec::with_capacity(cells.len());
        let mut position = Positions::new(cells.len(), u8::from(res));
        for (i, (&c, &v)) in cells.iter().zip(values).enumerate() {
            let cell = parse_cell(c, "cells")?;
            if cell.resolution() != res {
                return Err(GeoError::MixedResolutions);
            }
            if !position.insert(cell, i as u32, cells.len()) {
                return Err(GeoError::DuplicateCells);
            }
            if !v.is_finite() {
                return Err(GeoError::Value {
                    arg: values_arg,
                    index: i + 1,
                    value: v,
                });
            }
            parsed.push(cell);
        }
        Ok(WeightedCells {
            cells: parsed,
            position,
        })
    }
}

/// Whether `value` is a valid H3 cell index.
pub fn is_valid_cell(value: u64) -> bool {
    CellIndex::try_from(value).is_ok()
}

/// The resolution of a cell.
pub fn resolution_of(cell: u64) -> Result<i32, GeoError> {
    Ok(res_of(parse_cell(cell, "cell")?))
}

/// The centre of a cell, as (lat, lng) in degrees.
pub fn center(cell: u64) -> Result<(f64, f64), GeoError> {
    let ll = LatLng::from(parse_cell(cell, "cell")?);
    Ok((ll.lat(), ll.lng()))
}

/// The boundary of a cell, as (lat, lng) vertices in degrees, counter-clockwise, not
/// closed (the first vertex is not repeated).
pub fn boundary(cell: u64) -> Result<Vec<(f64, f64)>, GeoError> {
    let b = parse_cell(cell, "cell")?.boundary();
    Ok(b.iter().map(|ll| (ll.lat(), ll.lng())).collect())
}

/// The parent of a cell at a coarser (or the same) resolution.
pub fn parent(cell: u64, res: i32) -> Result<u64, GeoError> {
    let c = parse_cell(cell, "cell")?;
    let r = resolution(res)?;
    c.parent(r)
        .map(u64::from)
        .ok_or(GeoError::ParentResolution {
            res,
            cell_res: res_of(c),
        })
}

/// A cell and a resolution at or below it (finer or the same), each checked.
fn cell_and_finer(cell: u64, res: i32) -> Result<(CellIndex, Resolution), GeoError> {
    let c = parse_cell(cell, "cell")?;
    let r = resolution(res)?;
    if res < res_of(c) {
        return Err(GeoError::ChildResolution {
            res,
            cell_res: res_of(c),
        });
    }
    Ok((c, r))
}

/// The children of a cell at a finer (or the same) resolution.
pub fn children(cell: u64, res: i32) -> Result<Vec<u64>, GeoError> {
    let (c, r) = cell_and_finer(cell, res)?;
    bounded(c.children_count(r))?;
    let mut every = crate::interrupt::Every::default();
    Ok(c.children(r)
        .map(|c| {
            every.tick();
            u64::from(c)
        })
        .collect())
}

/// The first and the last of a cell's descendants at a finer (or the same) resolution,
/// as H3 indexes: every cell of that resolution between the two is a descendant and no
/// other is (the descendants share the cell's leading digits, which sit above the
/// finer ones in the index), so "which of these stored cells lie in that one" is a range
/// scan over an index of cells, at any coarser resolution, without listing the children.
pub fn descendants_range(cell: u64, res: i32) -> Result<(u64, u64), GeoError> {
    let (c, r) = cell_and_finer(cell, res)?;
    let last = c.children_count(r) - 1;
    let at = |position| c.child_at(position, r).map(u64::from);
    match (at(0), at(last)) {
        (Some(first), Some(last)) => Ok((first, last)),
        // Positions below the count always name a child.
        _ => unreachable!("h3o has no child at a position below its children_count"),
    }
}

fn bounded(count: u64) -> Result<(), GeoError> {
    if count > MAX_CELLS {
        return Err(GeoError::TooMany {
            count,
            limit: MAX_CELLS,
        });
    }
    Ok(())
}

fn radius(k: i32) -> Result<u32, GeoError> {
    if (0..=MAX_K).contains(&k) {
        Ok(k as u32)
    } else {
        Err(GeoError::K(k))
    }
}

/// Every cell within `k` steps of a cell, the cell first.
pub fn grid_disk(cell: u64, k: i32) -> Result<Vec<u64>, GeoError> {
    let c = parse_cell(cell, "cell")?;
    let cells: Vec<CellIndex> = c.grid_disk(radius(k)?);
    Ok(cells.into_iter().map(u64::from).collect())
}

/// The cells exactly `k` steps from a cell (correct around pentagons too).
pub fn grid_ring(cell: u64, k: i32) -> Result<Vec<u64>, GeoError> {
    let c = parse_cell(cell, "cell")?;
    let k = radius(k)?;
    let cells: Vec<(CellIndex, u32)> = c.grid_disk_distances(k);
    Ok(cells
        .into_iter()
        .filter(|&(_, d)| d == k)
        .map(|(c, _)| u64::from(c))
        .collect())
}

/// Steps between two cells of the same resolution; None when H3 cannot tell (cells
/// too far apart, or on either side of a pentagon's distortion).
pub fn grid_distance(a: u64, b: u64) -> Result<Option<i64>, GeoError> {
    let a = parse_cell(a, "a")?;
    let b = parse_cell(b, "b")?;
    Ok(a.grid_distance(b).ok().map(i64::from))
}

/// The cells of the line of cells from `origin` to `destination`, both included (H3's
/// gridPathCells): distance + 1 cells of one resolution.
pub fn grid_path(origin: u64, destination: u64) -> Result<Vec<u64>, GeoError> {
    let a = parse_cell(origin, "origin")?;
    let b = parse_cell(destination, "destination")?;
    let no_path = |e: h3o::error::LocalIjError| GeoError::NoGridPath(e.to_string());
    let size = a.grid_path_cells_size(b).map_err(no_path)?;
    bounded(size as u64)?;
    let mut every = crate::interrupt::Every::default();
    a.grid_path_cells(b)
        .map_err(no_path)?
        .map(|c| {
            every.tick();
            c.map(u64::from).map_err(no_path)
        })
        .collect()
}

/// The number (0-121) of the resolution 0 cell a cell descends from.
pub fn base_cell(cell: u64) -> Result<i32, GeoError> {
    Ok(i32::from(u8::from(parse_cell(cell, "cell")?.base_cell())))
}

/// Whether a cell is one of the twelve pentagons of its resolution.
pub fn is_pentagon(cell: u64) -> Result<bool, GeoError> {
    Ok(parse_cell(cell, "cell")?.is_pentagon())
}

/// The icosahedron faces (0-19) a cell intersects, in increasing order.
pub fn icosahedron_faces(cell: u64) -> Result<Vec<i32>, GeoError> {
    let faces = parse_cell(cell, "cell")?.icosahedron_faces();
    Ok(faces.iter().map(|f| i32::from(u8::from(f))).collect())
}

/// The smallest set of cells, of mixed resolutions, that covers exactly the same area.
pub fn compact(cells: &[u64]) -> Result<Vec<u64>, GeoError> {
    let mut parsed = cells
        .iter()
        .map(|&c| parse_cell(c, "cells"))
        .collect::<Result<Vec<_>, _>>()?;
    CellIndex::compact(&mut parsed).map_err(|e| match e {
        h3o::error::CompactionError::HeterogeneousResolution => GeoError::MixedResolutions,
        _ => GeoError::DuplicateCells,
    })?;
    Ok(parsed.into_iter().map(u64::from).collect())
}

/// The cells at `res` that cover exactly what a compacted set covers.
pub fn uncompact(cells: &[u64], res: i32) -> Result<Vec<u64>, GeoError> {
    let r = resolution(res)?;
    let parsed = cells
        .iter()
        .map(|&c| parse_cell(c, "cells"))
        .collect::<Result<Vec<_>, _>>()?;
    if let Some(finer) = parsed.iter().find(|c| res_of(**c) > res) {
        return Err(GeoError::ChildResolution {
            res,
            cell_res: res_of(*finer),
        });
    }
    bounded(CellIndex::uncompact_size(parsed.iter().copied(), r))?;
    let mut every = crate::interrupt::Every::default();
    Ok(CellIndex::uncompact(parsed, r)
        .map(|c| {
            every.tick();
            u64::from(c)
        })
        .collect())
}

/// The H3 cell at resolution `res` that contains the point (`lat`, `lng`) in degrees.
///
/// The cell is returned as the 64-bit H3 index, the same number h3-pg and the `h3`
/// Python package print in hexadecimal.
pub fn cell(lat: f64, lng: f64, res: i32) -> Result<u64, GeoError> {
    let point = latlng(lat, lng)?;
    Ok(u64::from(point.to_cell(resolution(res)?)))
}

/// A point on the globe from degrees.
pub(crate) fn latlng(lat: f64, lng: f64) -> Result<LatLng, GeoError> {
    // h3o would wrap an out-of-range longitude silently; a coordinate outside the
    // globe is almost always swapped lat/lng or a unit error, so refuse it instead.
    if !lat.is_finite() || !(-90.0..=90.0).contains(&lat) {
        return Err(GeoError::Latitude(lat));
    }
    if !lng.is_finite() || !(-180.0..=180.0).contains(&lng) {
        return Err(GeoError::Longitude(lng));
    }
    LatLng::new(lat, lng).map_err(|_| GeoError::Latitude(lat))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_cells_match_the_h3_reference() {
        // Values printed by the `h3` Python package 4.x (the reference C library).
        let cases = [
            (
                37.775938728915946,
                -122.41795063018799,
                9,
                0x8928308280fffff_u64,
            ),
            (0.0, 0.0, 0, 0x8075fffffffffff),
            (51.5007, -0.1246, 7, 0x87194ad14ffffff),
            (-33.8568, 151.2153, 15, 0x8fbe0e35c0942e5),
        ];
        for (lat, lng, res, want) in cases {
            assert_eq!(cell(lat, lng, res), Ok(want), "({lat}, {lng}) at {res}");
        }
    }

    #[test]
    fn refuses_each_bad_argument_by_name() {
        let bad = [
            (90.5, 0.0, 5, "lat"),
            (f64::NAN, 0.0, 5, "lat"),
            (0.0, -180.01, 5, "lng"),
            (0.0, f64::INFINITY, 5, "lng"),
            (0.0, 0.0, 16, "res"),
            (0.0, 0.0, -1, "res"),
        ];
        for (lat, lng, res, arg) in bad {
            let err = cell(lat, lng, res).unwrap_err().to_string();
            assert!(err.starts_with(arg), "{err} should name {arg}");
        }
    }

    const SF9: u64 = 0x8928308280fffff;

    #[test]
    fn parent_children_and_disks_fit_together() {
        let parent7 = parent(SF9, 7).unwrap();
        assert_eq!(resolution_of(parent7), Ok(7));
        let kids = children(parent7, 9).unwrap();
        assert_eq!(kids.len(), 49);
        assert!(kids.contains(&SF9));
        assert_eq!(compact(&kids).unwrap(), vec![parent7]);
        let mut back = uncompact(&[parent7], 9).unwrap();
        back.sort_unstable();
        let mut kids = kids;
        kids.sort_unstable();
        assert_eq!(back, kids);
        let disk = grid_disk(SF9, 2).unwrap();
        assert_eq!((disk.len(), disk[0]), (19, SF9));
        assert_eq!(grid_ring(SF9, 2).unwrap().len(), 12);
        for c in grid_ring(SF9, 2).unwrap() {
            assert_eq!(grid_distance(SF9, c), Ok(Some(2)));
        }
    }

    #[test]
    fn bad_cells_and_arguments_are_named() {
        let not_a_cell = 0x1234;
        assert!(center(not_a_cell)
            .unwrap_err()
            .to_string()
            .starts_with("cell must be a valid H3 cell index"));
        assert!(grid_distance(SF9, 0)
            .unwrap_err()
            .to_string()
            .starts_with("b must be"));
        assert!(parent(SF9, 10)
            .unwrap_err()
            .to_string()
            .starts_with("res must be in [0, 9]"));
        assert!(children(SF9, 8)
            .unwrap_err()
            .to_string()
            .starts_with("res must be in [9, 15]"));
        assert_eq!(grid_disk(SF9, -1), Err(GeoError::K(-1)));
        assert_eq!(grid_disk(SF9, 1001), Err(GeoError::K(1001)));
        let res0 = parent(SF9, 0).unwrap();
        assert!(matches!(children(res0, 15), Err(GeoError::TooMany { .. })));
        assert_eq!(
            compact(&[SF9, parent(SF9, 8).unwrap()]),
            Err(GeoError::MixedResolutions)
        );
        assert_eq!(compact(&[SF9, SF9]), Err(GeoError::DuplicateCells));
    }

    #[test]
    fn boundary_and_center_of_the_reference_cell() {
        let (lat, lng) = center(SF9).unwrap();
        assert!((lat - 37.77670234943567).abs() < 1e-9 && (lng + 122.41845932318311).abs() < 1e-9);
        assert_eq!(boundary(SF9).unwrap().len(), 6);
    }

    #[test]
    fn descendants_range_bounds_a_pentagons_children() {
        // Base cell 4 is a pentagon: its children skip the deleted k-axis digit.
        let pentagon = 0x8009fffffffffff;
        for res in 0..=6 {
            let kids = children(pentagon, res).unwrap();
            let range = descendants_range(pentagon, res).unwrap();
            let bounds = (*kids.iter().min().unwrap(), *kids.iter().max().unwrap());
            assert_eq!(range, bounds, "res {res}");
        }
        assert!(descendants_range(SF9, 8)
            .unwrap_err()
            .to_string()
            .starts_with("res must be in [9, 15]"));
    }

    proptest! {
        #[test]
        fn a_cell_has_the_resolution_asked_for(
            lat in -90.0f64..=90.0, lng in -180.0f64..=180.0, res in 0i32..=15
        ) {
            let index = h3o::CellIndex::try_from(cell(lat, lng, res).unwrap()).unwrap();
            prop_assert_eq!(i32::from(u8::from(index.resolution())), res);
        }

        #[test]
        fn a_cell_is_in_the_range_of_exactly_its_ancestors(
            lat in -89.0f64..=89.0, lng in -180.0f64..=180.0, fine in 0i32..=15, up in 0i32..=15
        ) {
            // The oracle is h3o's own parent: a cell lies in the range of a coarser
            // cell's descendants exactly when that cell is its parent, tried on the
            // parent and its neighbours (which share most of its leading digits).
            let c = cell(lat, lng, fine).unwrap();
            let coarse = fine - up.min(fine);
            let p = parent(c, coarse).unwrap();
            for other in grid_disk(p, 1).unwrap() {
                let (lo, hi) = descendants_range(other, fine).unwrap();
                prop_assert_eq!((lo..=hi).contains(&c), other == p, "{:x} in {:x}", c, other);
            }
        }

        #[test]
        fn a_cell_is_its_parents_child_and_in_its_own_disk(
            lat in -89.0f64..=89.0, lng in -180.0f64..=180.0, res in 1i32..=15, k in 0i32..4
        ) {
            let c = cell(lat, lng, res).unwrap();
            let p = parent(c, res - 1).unwrap();
            prop_assert!(children(p, res).unwrap().contains(&c));
            let disk = grid_disk(c, k).unwrap();
            prop_assert_eq!(disk[0], c);
            prop_assert!(disk.len() as i32 <= 3 * k * (k + 1) + 1);
            for ring_k in 0..=k {
                for r in grid_ring(c, ring_k).unwrap() {
                    prop_assert!(disk.contains(&r));
                }
            }
        }
    }
}
