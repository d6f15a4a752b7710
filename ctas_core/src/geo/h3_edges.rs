//! H3's directed edges (from a cell to a neighbour) and vertices (a cell's corners),
//! as h3-pg exposes them: each number checked, each error naming the argument.

use h3o::{CellIndex, DirectedEdgeIndex, LatLng, VertexIndex};

use super::h3::{parse_cell, GeoError};

/// The directed edge for an H3 index, or an error naming the argument `arg`.
pub fn parse_edge(value: u64, arg: &'static str) -> Result<DirectedEdgeIndex, GeoError> {
    DirectedEdgeIndex::try_from(value).map_err(|_| GeoError::Edge { arg, value })
}

fn parse_vertex(value: u64, arg: &'static str) -> Result<VertexIndex, GeoError> {
    VertexIndex::try_from(value).map_err(|_| GeoError::Vertex { arg, value })
}

fn degrees(ll: LatLng) -> (f64, f64) {
    (ll.lat(), ll.lng())
}

/// Whether a number is a valid directed edge index.
pub fn is_valid_edge(value: u64) -> bool {
    DirectedEdgeIndex::try_from(value).is_ok()
}

/// The edge from `origin` to its neighbour `destination`.
pub fn edge(origin: u64, destination: u64) -> Result<u64, GeoError> {
    let a = parse_cell(origin, "origin")?;
    let b = parse_cell(destination, "destination")?;
    a.edge(b).map(u64::from).ok_or(GeoError::NotNeighbors)
}

/// The edges from a cell to each of its neighbours (six, five from a pentagon).
pub fn origin_to_edges(cell: u64) -> Result<Vec<u64>, GeoError> {
    Ok(parse_cell(cell, "cell")?.edges().map(u64::from).collect())
}

/// The cell an edge starts from.
pub fn edge_origin(edge: u64) -> Result<u64, GeoError> {
    Ok(u64::from(parse_edge(edge, "edge")?.origin()))
}

/// The cell an edge leads to.
pub fn edge_destination(edge: u64) -> Result<u64, GeoError> {
    Ok(u64::from(parse_edge(edge, "edge")?.destination()))
}

/// The line an edge is drawn along, as (lat, lng) points in degrees.
pub fn edge_boundary(edge: u64) -> Result<Vec<(f64, f64)>, GeoError> {
    let b = parse_edge(edge, "edge")?.boundary();
    Ok(b.iter().copied().map(degrees).collect())
}

/// The vertices of a cell (six, five for a pentagon), each as its own index.
pub fn cell_vertexes(cell: u64) -> Result<Vec<u64>, GeoError> {
    let c: CellIndex = parse_cell(cell, "cell")?;
    Ok(c.vertexes().map(u64::from).collect())
}

/// Where a vertex lies, as (lat, lng) in degrees.
pub fn vertex_latlng(vertex: u64) -> Result<(f64, f64), GeoError> {
    Ok(degrees(LatLng::from(parse_vertex(vertex, "vertex")?)))
}

/// Whether a number is a valid vertex index.
pub fn is_valid_vertex(value: u64) -> bool {
    VertexIndex::try_from(value).is_ok()
}
