"""CTAS from Python.

The Rust core, with no database: IOC extraction and refang/defang, MISP warninglists,
pattern sets, decay and explained scores, the H3 grid, Getis-Ord Gi* hotspots, cell
clusters, DBSCAN, anomalies over time, and ``analyze`` of a whole report — the same code,
and so the same answers and ids, as the ``ctas`` PostgreSQL extension and ``ctas-router``.

    >>> import ctas
    >>> [(i.kind, i.value) for i in ctas.extract_iocs("beacon to hxxp://evil[.]com/a")]
    [('url', 'http://evil.com/a'), ('domain', 'evil.com')]

The cold tier, through psycopg (``pip install './python[pg]'``): ``ctas.connect()`` opens
the database named by ``CTAS_PG_DSN`` (or libpq's ``PG*`` variables); ``ctas.client``
wraps the extension's SQL functions. Guide: docs/python.md.
"""

from ctas._core import (
    CellCluster,
    CtasError,
    Ioc,
    PatternMatch,
    PatternSet,
    Warninglists,
    __version__,
    analyze,
    anomalies,
    cell_area,
    cell_clusters,
    cell_to_boundary,
    cell_to_children,
    cell_to_geojson,
    cell_to_latlng,
    cell_to_parent,
    compact_cells,
    confidence_from,
    confidence_to,
    days_until,
    dbscan,
    decay,
    decay_models,
    defang,
    events,
    extract_iocs,
    get_resolution,
    getis_ord,
    great_circle_distance,
    grid_disk,
    grid_distance,
    grid_ring,
    indicator_id,
    ioc_kind,
    ioc_kinds,
    is_valid_cell,
    latlng_to_cell,
    latlng_to_cells,
    mstl,
    normalise,
    observable_id,
    polygon_to_cells,
    refang,
    score,
    stl,
    uncompact_cells,
)

__all__ = [
    "CellCluster",
    "CtasError",
    "Ioc",
    "PatternMatch",
    "PatternSet",
    "Warninglists",
    "__version__",
    "analyze",
    "anomalies",
    "cell_area",
    "cell_clusters",
    "cell_to_boundary",
    "cell_to_children",
    "cell_to_geojson",
    "cell_to_latlng",
    "cell_to_parent",
    "compact_cells",
    "confidence_from",
    "confidence_to",
    "connect",
    "days_until",
    "dbscan",
    "decay",
    "decay_models",
    "defang",
    "dsn",
    "events",
    "extract_iocs",
    "get_resolution",
    "getis_ord",
    "great_circle_distance",
    "grid_disk",
    "grid_distance",
    "grid_ring",
    "indicator_id",
    "ioc_kind",
    "ioc_kinds",
    "is_valid_cell",
    "latlng_to_cell",
    "latlng_to_cells",
    "mstl",
    "normalise",
    "observable_id",
    "polygon_to_cells",
    "refang",
    "score",
    "stl",
    "uncompact_cells",
]


def __getattr__(name: str):
    # The database client imports psycopg, which needs libpq: loaded when first asked
    # for, so that ``import ctas`` works on a machine with the core alone.
    if name in ("connect", "dsn", "client"):
        try:
            import ctas.client
        except ImportError as e:
            raise ImportError(
                f"ctas.{name} needs psycopg, the PostgreSQL client: pip install 'ctas[pg]' ({e})"
            ) from e
        return ctas.client if name == "client" else getattr(ctas.client, name)
    raise AttributeError(f"module 'ctas' has no attribute {name!r}")
