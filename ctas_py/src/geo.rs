//! The H3 grid, Getis-Ord Gi* hotspots, cell clusters and DBSCAN.
//!
//! Cells are Python ints (the 64-bit H3 index, as `h3.api.basic_int` gives them) and
//! numpy uint64 arrays; a cell may also be given in hexadecimal (`'872a1072bffffff'`,
//! as `h3`'s default API and h3-pg print it). Names follow the `h3` package's.

use ctas_core::geo::hotspot::{self, Kernel};
use ctas_core::geo::{self, cluster, dbscan as core_dbscan, h3, measure, polyfill, shape};
use numpy::{AllowTypeChange, PyArray1, PyArrayLike1};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::error::{argument, refused};
use crate::interrupt;

/// A cell as given: an int, or its hexadecimal form.
pub(crate) struct Cell(pub(crate) u64);

impl<'a, 'py> FromPyObject<'a, 'py> for Cell {
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        if let Ok(s) = obj.extract::<&str>() {
            return u64::from_str_radix(s.trim_start_matches("0x"), 16)
                .map(Cell)
                .map_err(|_| argument("cell", format!("{s:?} is not an H3 index in hexadecimal")));
        }
        Ok(Cell(obj.extract::<u64>()?))
    }
}

/// Cells as given: a numpy array (any integer type) or a sequence of ints.
type Cells<'py> = PyArrayLike1<'py, u64, AllowTypeChange>;
type Floats<'py> = PyArrayLike1<'py, f64, AllowTypeChange>;

fn same_length(a: usize, b: usize, first: &str, second: &str) -> PyResult<()> {
    if a == b {
        return Ok(());
    }
    Err(argument(
        second,
        format!("must be as long as {first}: {first} has {a}, {second} {b}"),
    ))
}

/// The cell at resolution `res` (0–15) that contains the point (`lat`, `lng`), in
/// degrees. A coordinate off the globe is refused, not wrapped.
#[pyfunction]
fn latlng_to_cell(lat: f64, lng: f64, res: i32) -> PyResult<u64> {
    geo::cell(lat, lng, res).map_err(refused)
}

/// The cells of many points at once: `lats` and `lngs` arrays in, a uint64 array out,
/// computed with the GIL released. A bad point is refused by its index.
#[pyfunction]
fn latlng_to_cells<'py>(
    py: Python<'py>,
    lats: Floats<'py>,
    lngs: Floats<'py>,
    res: i32,
) -> PyResult<Bound<'py, PyArray1<u64>>> {
    same_length(lats.as_array().len(), lngs.as_array().len(), "lats", "lngs")?;
    let (lats, lngs) = (lats.as_array(), lngs.as_array());
    let cells = interrupt::run(py, || {
        let mut every = ctas_core::interrupt::Every::default();
        lats.iter()
            .zip(lngs.iter())
            .enumerate()
            .map(|(i, (&lat, &lng))| {
                every.tick();
                geo::cell(lat, lng, res).map_err(|e| (i, e))
            })
            .collect::<Result<Vec<u64>, _>>()
    })?
    .map_err(|(i, e)| argument(&format!("point {i}"), e))?;
    Ok(PyArray1::from_vec(py, cells))
}

/// The centre of a cell as (lat, lng).
#[pyfunction]
fn cell_to_latlng(cell: Cell) -> PyResult<(f64, f64)> {
    h3::center(cell.0).map_err(refused)
}

/// The boundary of a cell: its vertices as (lat, lng), as `h3.cell_to_boundary`.
#[pyfunction]
fn cell_to_boundary(cell: Cell) -> PyResult<Vec<(f64, f64)>> {
    h3::boundary(cell.0).map_err(refused)
}

/// The boundary of a cell as a GeoJSON Polygon (dict), as `ctas_h3_cell_to_boundary_geojson`.
#[pyfunction]
fn cell_to_geojson(py: Python<'_>, cell: Cell) -> PyResult<Bound<'_, PyAny>> {
    let ring = h3::boundary(cell.0).map_err(refused)?;
    crate::json::to_python(py, &shape::polygon_geojson(&ring))
}

/// The resolution of a cell.
#[pyfunction]
fn get_resolution(cell: Cell) -> PyResult<i32> {
    h3::resolution_of(cell.0).map_err(refused)
}

/// Whether an int is a valid H3 cell.
#[pyfunction]
fn is_valid_cell(cell: Cell) -> bool {
    h3::is_valid_cell(cell.0)
}

/// The parent of a cell at `res` (default: one resolution coarser).
#[pyfunction]
#[pyo3(signature = (cell, res=None))]
fn cell_to_parent(cell: Cell, res: Option<i32>) -> PyResult<u64> {
    let res = match res {
        Some(r) => r,
        None => h3::resolution_of(cell.0).map_err(refused)? - 1,
    };
    h3::parent(cell.0, res).map_err(refused)
}

/// The children of a cell at `res` (default: one resolution finer).
#[pyfunction]
#[pyo3(signature = (cell, res=None))]
fn cell_to_children(cell: Cell, res: Option<i32>) -> PyResult<Vec<u64>> {
    let res = match res {
        Some(r) => r,
        None => h3::resolution_of(cell.0).map_err(refused)? + 1,
    };
    h3::children(cell.0, res).map_err(refused)
}

/// Every cell within `k` steps of a cell, the cell first.
#[pyfunction]
#[pyo3(signature = (cell, k=1))]
fn grid_disk(cell: Cell, k: i32) -> PyResult<Vec<u64>> {
    h3::grid_disk(cell.0, k).map_err(refused)
}

/// The cells exactly `k` steps from a cell.
#[pyfunction]
#[pyo3(signature = (cell, k=1))]
fn grid_ring(cell: Cell, k: i32) -> PyResult<Vec<u64>> {
    h3::grid_ring(cell.0, k).map_err(refused)
}

/// The grid distance between two cells, None when H3 cannot tell (across a pentagon's
/// distortion, or too far apart).
#[pyfunction]
fn grid_distance(a: Cell, b: Cell) -> PyResult<Option<i64>> {
    h3::grid_distance(a.0, b.0).map_err(refused)
}

/// The smallest set of cells covering the same area.
#[pyfunction]
fn compact_cells(cells: Vec<Cell>) -> PyResult<Vec<u64>> {
    h3::compact(&cells.iter().map(|c| c.0).collect::<Vec<_>>()).map_err(refused)
}

/// Compacted cells back at resolution `res`.
#[pyfunction]
fn uncompact_cells(cells: Vec<Cell>, res: i32) -> PyResult<Vec<u64>> {
    h3::uncompact(&cells.iter().map(|c| c.0).collect::<Vec<_>>(), res).map_err(refused)
}

/// The cells at `res` whose centres lie in a GeoJSON Polygon or MultiPolygon (a dict or
/// JSON text, holes respected).
#[pyfunction]
fn polygon_to_cells(py: Python<'_>, geojson: &Bound<'_, PyAny>, res: i32) -> PyResult<Vec<u64>> {
    let g = crate::json::value(geojson, "geojson")?;
    interrupt::run(py, || polyfill::polygon_to_cells(&g, res))?.map_err(refused)
}

/// The exact area of a cell in `unit`: `km^2` (default), `m^2` or `rads^2`.
#[pyfunction]
#[pyo3(signature = (cell, unit="km^2"))]
fn cell_area(cell: Cell, unit: &str) -> PyResult<f64> {
    measure::cell_area(cell.0, unit).map_err(refused)
}

/// The great-circle distance between two (lat, lng) points in `unit`: `km` (default),
/// `m` or `rads`, on H3's sphere.
#[pyfunction]
#[pyo3(signature = (a, b, unit="km"))]
fn great_circle_distance(a: (f64, f64), b: (f64, f64), unit: &str) -> PyResult<f64> {
    measure::great_circle_distance(a, b, unit).map_err(refused)
}

/// Getis-Ord Gi* of every cell (distinct, one resolution) with its value, over its
/// k-ring weighted by `kernel` (uniform, triangular, quadratic, quartic, gaussian;
/// bandwidth k+1 rings): a dict of numpy arrays `cell`, `z_score`, `p_value`
/// (two-sided), in input order. As PySAL esda's `G_Local(star=True)` with the same
/// weights, and `ctas_h3_getis_ord` in SQL.
#[pyfunction]
#[pyo3(signature = (cells, values, k=1, kernel="uniform"))]
fn getis_ord<'py>(
    py: Python<'py>,
    cells: Cells<'py>,
    values: Floats<'py>,
    k: i32,
    kernel: &str,
) -> PyResult<Bound<'py, PyDict>> {
    same_length(
        cells.as_array().len(),
        values.as_array().len(),
        "cells",
        "values",
    )?;
    let kernel = Kernel::parse(kernel).map_err(refused)?;
    let (cells, values) = (cells.as_array().to_vec(), values.as_array().to_vec());
    let spots =
        interrupt::run(py, || hotspot::getis_ord(&cells, &values, k, kernel))?.map_err(refused)?;
    let out = PyDict::new(py);
    out.set_item(
        "cell",
        PyArray1::from_iter(py, spots.iter().map(|h| h.cell)),
    )?;
    out.set_item(
        "z_score",
        PyArray1::from_iter(py, spots.iter().map(|h| h.z_score)),
    )?;
    out.set_item(
        "p_value",
        PyArray1::from_iter(py, spots.iter().map(|h| h.p_value)),
    )?;
    Ok(out)
}

/// One cluster of cells.
#[pyclass(frozen, get_all, module = "ctas")]
pub(crate) struct CellCluster {
    /// From 0, in the order of each cluster's first cell in the input.
    id: u32,
    /// Its cells, in input order.
    cells: Vec<u64>,
    total_weight: f64,
    /// The weighted centre (lat, lng), averaged on the sphere.
    centroid: (f64, f64),
    /// The outline as a GeoJSON MultiPolygon (dict), holes included.
    outline: Py<PyAny>,
}

#[pymethods]
impl CellCluster {
    fn __repr__(&self) -> String {
        format!(
            "CellCluster(id={}, cells=<{} cells>, total_weight={}, centroid={:?})",
            self.id,
            self.cells.len(),
            self.total_weight,
            self.centroid
        )
    }
}

/// Clusters of the cells (distinct, one resolution) whose weight is at least
/// `min_weight`, two joining when at most `gap` rings lie between them (0: touching).
#[pyfunction]
#[pyo3(signature = (cells, weights, min_weight=0.0, gap=0))]
fn cell_clusters<'py>(
    py: Python<'py>,
    cells: Cells<'py>,
    weights: Floats<'py>,
    min_weight: f64,
    gap: i32,
) -> PyResult<Vec<CellCluster>> {
    same_length(
        cells.as_array().len(),
        weights.as_array().len(),
        "cells",
        "weights",
    )?;
    let (cells, weights) = (cells.as_array().to_vec(), weights.as_array().to_vec());
    let found = interrupt::run(py, || {
        cluster::cell_clusters(&cells, &weights, min_weight, gap)
    })?
    .map_err(refused)?;
    found
        .into_iter()
        .map(|c| {
            Ok(CellCluster {
                id: c.id,
                outline: crate::json::to_python(py, &c.outline)?.unbind(),
                cells: c.cells,
                total_weight: c.total_weight,
                centroid: c.centroid,
            })
        })
        .collect()
}

/// DBSCAN of points (degrees) with `eps_m` in metres on the sphere and `min_points`
/// (the point itself included): a numpy int64 array of each point's cluster, from 0,
/// and -1 for noise (scikit-learn's convention). Clusters as PostGIS
/// `ST_ClusterDBSCAN`.
#[pyfunction]
fn dbscan<'py>(
    py: Python<'py>,
    lats: Floats<'py>,
    lngs: Floats<'py>,
    eps_m: f64,
    min_points: i32,
) -> PyResult<Bound<'py, PyArray1<i64>>> {
    same_length(lats.as_array().len(), lngs.as_array().len(), "lats", "lngs")?;
    let (lats, lngs) = (lats.as_array().to_vec(), lngs.as_array().to_vec());
    let labels = interrupt::run(py, || core_dbscan::dbscan(&lats, &lngs, eps_m, min_points))?
        .map_err(refused)?;
    Ok(PyArray1::from_iter(
        py,
        labels.into_iter().map(|c| c.map_or(-1, i64::from)),
    ))
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<CellCluster>()?;
    for f in [
        wrap_pyfunction!(latlng_to_cell, m)?,
        wrap_pyfunction!(latlng_to_cells, m)?,
        wrap_pyfunction!(cell_to_latlng, m)?,
        wrap_pyfunction!(cell_to_boundary, m)?,
        wrap_pyfunction!(cell_to_geojson, m)?,
        wrap_pyfunction!(get_resolution, m)?,
        wrap_pyfunction!(is_valid_cell, m)?,
        wrap_pyfunction!(cell_to_parent, m)?,
        wrap_pyfunction!(cell_to_children, m)?,
        wrap_pyfunction!(grid_disk, m)?,
        wrap_pyfunction!(grid_ring, m)?,
        wrap_pyfunction!(grid_distance, m)?,
        wrap_pyfunction!(compact_cells, m)?,
        wrap_pyfunction!(uncompact_cells, m)?,
        wrap_pyfunction!(polygon_to_cells, m)?,
        wrap_pyfunction!(cell_area, m)?,
        wrap_pyfunction!(great_circle_distance, m)?,
        wrap_pyfunction!(getis_ord, m)?,
        wrap_pyfunction!(cell_clusters, m)?,
        wrap_pyfunction!(dbscan, m)?,
    ] {
        m.add_function(f)?;
    }
    Ok(())
}
