"""The cold tier from Python: connections, and a typed helper per family of the
extension's SQL functions, each returning dataclasses (or the jsonb the function gives).

Settings come from the environment as they do for ``psql``: ``CTAS_PG_DSN``, else
libpq's own ``PG*`` variables.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import class_row
from psycopg.types.json import Jsonb


def dsn() -> str:
    """The connection string: ``CTAS_PG_DSN``, else libpq's own ``PG*`` variables."""
    return os.environ.get("CTAS_PG_DSN", "")


def connect(**kwargs) -> psycopg.Connection:
    """A psycopg connection to the database that has the ``ctas`` extension."""
    return psycopg.connect(dsn(), **kwargs)


def _value(conn: psycopg.Connection, sql: str, args: Sequence[Any] = ()) -> Any:
    """The one value a statement selects."""
    row = conn.execute(sql, args).fetchone()
    assert row is not None, sql
    return row[0]


def _column(conn: psycopg.Connection, sql: str, args: Sequence[Any] = ()) -> list[Any]:
    """The first column of every row a statement selects."""
    return [row[0] for row in conn.execute(sql, args).fetchall()]


# --- indicators ---------------------------------------------------------------------


@dataclass(frozen=True)
class ExtractedIoc:
    """A row of ``ctas_extract_iocs``: positions are SQL's, 1-based characters, end
    exclusive (``body[start_pos - 1:end_pos - 1] == raw``)."""

    kind: str
    value: str
    raw: str
    start_pos: int
    end_pos: int
    warninglists: list[str]


def extract_iocs(conn: psycopg.Connection, body: str) -> list[ExtractedIoc]:
    """``ctas_extract_iocs(body)``, with the database's warninglists."""
    with conn.cursor(row_factory=class_row(ExtractedIoc)) as cur:
        return cur.execute("SELECT * FROM ctas_extract_iocs(%s)", (body,)).fetchall()


@dataclass(frozen=True)
class PatternMatch:
    """A row of ``ctas_match``."""

    pattern_id: str
    start_pos: int
    end_pos: int
    matched: str
    severity: str
    tags: list[str]
    attack_id: str | None


def match(conn: psycopg.Connection, body: str, pattern_set: str) -> list[PatternMatch]:
    """``ctas_match(body, pattern_set)``: the matches of a stored pattern set."""
    with conn.cursor(row_factory=class_row(PatternMatch)) as cur:
        return cur.execute("SELECT * FROM ctas_match(%s, %s)", (body, pattern_set)).fetchall()


def refang(conn: psycopg.Connection, text: str) -> str:
    """``ctas_refang(text)``: ``hxxp://evil[.]com`` made ``http://evil.com``."""
    return _value(conn, "SELECT ctas_refang(%s)", (text,))


def defang(conn: psycopg.Connection, text: str) -> str:
    """``ctas_defang(text)``: indicators in ``text`` made safe to share."""
    return _value(conn, "SELECT ctas_defang(%s)", (text,))


def normalise(conn: psycopg.Connection, value: str) -> tuple[str, str] | None:
    """``ctas_ioc_kind`` and ``ctas_ioc_normalise``: the kind and normal form of an
    indicator written any way (defanged, any case), or None when it is none."""
    sql = "SELECT ctas_ioc_kind(%s), ctas_ioc_normalise(%s)"
    row = conn.execute(sql, (value, value)).fetchone()
    assert row is not None
    return None if row[0] is None else (row[0], row[1])


@dataclass(frozen=True)
class IocKind:
    """A row of ``ctas_ioc_kinds``: a kind CTAS extracts, and the MISP attribute types
    it matches."""

    kind: str
    misp_types: list[str]


def ioc_kinds(conn: psycopg.Connection) -> list[IocKind]:
    """``ctas_ioc_kinds()``."""
    with conn.cursor(row_factory=class_row(IocKind)) as cur:
        return cur.execute("SELECT * FROM ctas_ioc_kinds()").fetchall()


def indicator_id(conn: psycopg.Connection, kind: str, value: str) -> str:
    """``ctas_indicator_id(kind, value)``: the one id of an indicator however written."""
    return _value(conn, "SELECT ctas_indicator_id(%s, %s)", (kind, value))


def observable_id(conn: psycopg.Connection, kind: str, value: str) -> str | None:
    """``ctas_observable_id(kind, value)``: the STIX 2.1 deterministic id of the
    observable an indicator is; None for kinds STIX has no observable for."""
    return _value(conn, "SELECT ctas_observable_id(%s, %s)", (kind, value))


def warninglist_hits(conn: psycopg.Connection, value: str) -> list[str]:
    """``ctas_warninglist_hits(value)``: the database's warninglists that hold it."""
    return _value(conn, "SELECT ctas_warninglist_hits(%s)", (value,))


# --- scores and reports -------------------------------------------------------------


def confidence_to(conn: psycopg.Connection, scale: str, value: int) -> str:
    """``ctas_confidence_to(scale, value)``: a STIX 0-100 confidence on a named scale
    (STIX 2.1 appendix A)."""
    return _value(conn, "SELECT ctas_confidence_to(%s, %s)", (scale, value))


def confidence_from(conn: psycopg.Connection, scale: str, value: str) -> int:
    """``ctas_confidence_from(scale, value)``: a value of a named scale as STIX 0-100."""
    return _value(conn, "SELECT ctas_confidence_from(%s, %s)", (scale, value))


@dataclass(frozen=True)
class DecayModel:
    """A row of ``ctas_builtin_decay_models``."""

    name: str
    kind: str
    lifetime_days: float
    speed: float
    threshold: float
    default_base_score: float
    base_score_weights: dict[str, Any]
    types: list[str]
    reaction_points: list[float]
    rule_order: int


def decay_models(conn: psycopg.Connection) -> list[DecayModel]:
    """``ctas_builtin_decay_models()``: the models ``score`` and ``analyze`` know."""
    with conn.cursor(row_factory=class_row(DecayModel)) as cur:
        return cur.execute("SELECT * FROM ctas_builtin_decay_models()").fetchall()


def score(
    conn: psycopg.Connection,
    evidence: dict[str, Any],
    model: str = "opencti",
    at: datetime | None = None,
) -> dict[str, Any]:
    """``ctas_score(evidence, model, at)``: the score and its explanation (at: now)."""
    return _value(
        conn, "SELECT ctas_score(%s, %s, coalesce(%s, now()))", (Jsonb(evidence), model, at)
    )


def analyze(
    conn: psycopg.Connection,
    report: dict[str, Any],
    pattern_set: str | None = None,
    resolution: int = 7,
    model: str = "ctas:admiralty",
    at: datetime | None = None,
) -> dict[str, Any]:
    """``ctas_analyze(report, ...)``: what ``ctas.analyze`` gives, with the database's
    warninglists and pattern sets."""
    return _value(
        conn,
        "SELECT ctas_analyze(%s, %s, %s, %s, coalesce(%s, now()))",
        (Jsonb(report), pattern_set, resolution, model, at),
    )


# --- the H3 grid and spatial statistics ---------------------------------------------


def h3_cell(conn: psycopg.Connection, lat: float, lng: float, res: int) -> int:
    """``ctas_h3_cell(lat, lng, res)``: the H3 cell containing the point, as an int."""
    return _value(conn, "SELECT ctas_h3_cell(%s, %s, %s)", (lat, lng, res))


def cell_to_latlng(conn: psycopg.Connection, cell: int) -> tuple[float, float]:
    """``ctas_h3_cell_to_latlng(cell)``: the cell's centre as (lat, lng)."""
    row = conn.execute("SELECT p[1], p[0] FROM ctas_h3_cell_to_latlng(%s) p", (cell,)).fetchone()
    assert row is not None
    return (row[0], row[1])


def cell_to_geojson(conn: psycopg.Connection, cell: int) -> dict[str, Any]:
    """``ctas_h3_cell_to_boundary_geojson(cell)``: the cell's boundary, a Polygon."""
    return _value(conn, "SELECT ctas_h3_cell_to_boundary_geojson(%s)", (cell,))


def cell_to_parent(conn: psycopg.Connection, cell: int, res: int = -1) -> int:
    """``ctas_h3_cell_to_parent(cell, res)``: the cell containing it at ``res``
    (one coarser by default)."""
    return _value(conn, "SELECT ctas_h3_cell_to_parent(%s, %s)", (cell, res))


def cell_to_children(conn: psycopg.Connection, cell: int, res: int = -1) -> list[int]:
    """``ctas_h3_cell_to_children(cell, res)``: its cells at ``res`` (one finer by
    default)."""
    return _column(conn, "SELECT ctas_h3_cell_to_children(%s, %s)", (cell, res))


def grid_disk(conn: psycopg.Connection, cell: int, k: int = 1) -> list[int]:
    """``ctas_h3_grid_disk(cell, k)``: the cells within ``k`` steps of it."""
    return _column(conn, "SELECT ctas_h3_grid_disk(%s, %s)", (cell, k))


def polygon_to_cells(conn: psycopg.Connection, geojson: dict[str, Any], res: int) -> list[int]:
    """``ctas_h3_polygon_to_cells(geojson, res)``: the cells at ``res`` whose centres lie
    in a GeoJSON Polygon or MultiPolygon."""
    return _column(conn, "SELECT ctas_h3_polygon_to_cells(%s, %s)", (Jsonb(geojson), res))


@dataclass(frozen=True)
class Hotspot:
    """A row of ``ctas_h3_getis_ord``."""

    cell: int
    z_score: float
    p_value: float


def getis_ord(
    conn: psycopg.Connection,
    cells: Sequence[int],
    values: Sequence[float],
    k: int = 1,
    kernel: str = "uniform",
) -> list[Hotspot]:
    """``ctas_h3_getis_ord(cells, values, k, kernel)``: Gi* of every cell."""
    with conn.cursor(row_factory=class_row(Hotspot)) as cur:
        return cur.execute(
            "SELECT * FROM ctas_h3_getis_ord(%s::bigint[], %s::float8[], %s, %s)",
            (list(cells), list(values), k, kernel),
        ).fetchall()


def dbscan(
    conn: psycopg.Connection,
    ids: Sequence[int],
    lats: Sequence[float],
    lngs: Sequence[float],
    eps_m: float,
    minpoints: int,
) -> dict[int, int | None]:
    """``ctas_dbscan(...)``: each id's cluster, None for noise."""
    rows = conn.execute(
        "SELECT id, cluster_id FROM ctas_dbscan(%s::bigint[], %s::float8[], %s::float8[], %s, %s)",
        (list(ids), list(lats), list(lngs), eps_m, minpoints),
    ).fetchall()
    return dict(rows)


# --- behaviour over time ------------------------------------------------------------


@dataclass(frozen=True)
class Judged:
    """A row of ``ctas_anomalies``: expected, lower and upper are None where the point
    was not judged (too little history)."""

    ts: datetime
    value: float
    expected: float | None
    lower: float | None
    upper: float | None
    anomaly_score: float
    is_anomaly: bool


def anomalies(
    conn: psycopg.Connection,
    ts: Sequence[datetime],
    values: Sequence[float],
    method: str = "auto",
    mode: str = "online",
    period: int | None = None,
    threshold: float = 3.0,
    history: int = 48,
    counts: bool = True,
    only_anomalies: bool = False,
) -> list[Judged]:
    """``ctas_anomalies(ts, vals, ...)``: every point of the series judged (with
    ``only_anomalies``, the flagged points alone)."""
    with conn.cursor(row_factory=class_row(Judged)) as cur:
        return cur.execute(
            "SELECT * FROM ctas_anomalies(%s::timestamptz[], %s::float8[], %s, %s, %s::int, %s,"
            " %s::int, %s, %s)",
            (
                list(ts),
                list(values),
                method,
                mode,
                period,
                threshold,
                history,
                counts,
                only_anomalies,
            ),
        ).fetchall()


@dataclass(frozen=True)
class SightingAnomaly:
    """A row of ``ctas_sighting_anomalies``: one anomalous step of one key's sightings."""

    key: str
    ts: datetime
    value: float
    expected: float | None
    lower: float | None
    upper: float | None
    anomaly_score: float


def sighting_anomalies(
    conn: psycopg.Connection,
    by: str = "indicator",
    since: datetime | None = None,
    method: str = "auto",
    mode: str = "online",
    threshold: float = 3.0,
) -> list[SightingAnomaly]:
    """``ctas_sighting_anomalies(by, since, ...)``: the current anomalies of the history's
    sightings per indicator, source, cell or technique (since: a day ago)."""
    with conn.cursor(row_factory=class_row(SightingAnomaly)) as cur:
        return cur.execute(
            'SELECT * FROM ctas_sighting_anomalies("by" => %s, '
            "since => coalesce(%s, now() - interval '1 day'), method => %s, mode => %s, "
            "threshold => %s)",
            (by, since, method, mode, threshold),
        ).fetchall()


@dataclass(frozen=True)
class Event:
    """A row of ``ctas_events``: first_seen, burst or reactivated."""

    ts: datetime
    event: str
    detail: float


def events(
    conn: psycopg.Connection,
    ts: Sequence[datetime],
    values: Sequence[float],
    dormancy: int = 168,
    method: str = "auto",
    mode: str = "online",
    threshold: float = 3.0,
) -> list[Event]:
    """``ctas_events(ts, vals, ...)``: first sightings, bursts, returns after a silence."""
    with conn.cursor(row_factory=class_row(Event)) as cur:
        return cur.execute(
            "SELECT * FROM ctas_events(%s::timestamptz[], %s::float8[], %s::int, %s, %s, %s)",
            (list(ts), list(values), dormancy, method, mode, threshold),
        ).fetchall()


# --- the history ----------------------------------------------------------------------


def ingest_stix(conn: psycopg.Connection, bundle: dict[str, Any]) -> dict[str, Any]:
    """``ctas_ingest_stix(bundle)``: a STIX 2.0/2.1 bundle into the history; what it added."""
    return _value(conn, "SELECT ctas_ingest_stix(%s)", (Jsonb(bundle),))


def ingest_misp(conn: psycopg.Connection, export: dict[str, Any]) -> dict[str, Any]:
    """``ctas_ingest_misp(export)``: a MISP event export into the history."""
    return _value(conn, "SELECT ctas_ingest_misp(%s)", (Jsonb(export),))


def ingest_report(conn: psycopg.Connection, report: dict[str, Any], id: str | None = None) -> str:
    """``ctas_ingest_report(report, id)``: one report into the history; its id."""
    return _value(conn, "SELECT ctas_ingest_report(%s, %s)", (Jsonb(report), id))


@dataclass(frozen=True)
class Report:
    """A row of ``ctas.reports``: a report as the history keeps it, its text whole."""

    id: str
    title: str | None
    body: str
    source: str | None
    published_at: datetime | None
    observed_at: datetime
    lat: float | None
    lng: float | None
    tags: list[str]


def report(conn: psycopg.Connection, id: str) -> Report | None:
    """The report ``id`` from ``ctas.reports``, None when the history has none."""
    with conn.cursor(row_factory=class_row(Report)) as cur:
        return cur.execute(
            "SELECT id, title, body, source, published_at, observed_at, lat, lng, tags"
            " FROM ctas.reports WHERE id = %s",
            (id,),
        ).fetchone()


def reports_titled(conn: psycopg.Connection, ids: Sequence[str]) -> dict[str, str | None]:
    """Each of ``ids`` the history holds, with its title."""
    rows = conn.execute(
        "SELECT id, title FROM ctas.reports WHERE id = ANY(%s)", (list(ids),)
    ).fetchall()
    return dict(rows)


def analyzed_reports(conn: psycopg.Connection, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """``ctas_analyze_row`` of each of ``ids`` the history holds: its indicators where
    they stand in the text, the patterns matched, the score now and the severity, with
    the database's warninglists and pattern sets."""
    rows = conn.execute(
        "SELECT r.id, ctas_analyze_row(r) FROM ctas.reports r WHERE r.id = ANY(%s)", (list(ids),)
    ).fetchall()
    return dict(rows)


@dataclass(frozen=True)
class CorrelatedReport:
    """A row of ``ctas_correlated_reports``: a report sharing indicators with another,
    weighted by how rare the shared indicators are."""

    related_report: str
    shared: int
    weight: float
    shared_indicators: list[str]


def correlated_reports(
    conn: psycopg.Connection, report_id: str, max_results: int = 20
) -> list[CorrelatedReport]:
    """``ctas_correlated_reports(report_id, max_results)``: the reports tied to one."""
    with conn.cursor(row_factory=class_row(CorrelatedReport)) as cur:
        return cur.execute(
            "SELECT * FROM ctas_correlated_reports(%s, %s)", (report_id, max_results)
        ).fetchall()


@dataclass(frozen=True)
class RelatedIndicator:
    """A row of ``ctas_related_indicators``: an indicator named in the same reports."""

    related_kind: str
    related_value: str
    reports: int
    weight: float


def related_indicators(
    conn: psycopg.Connection, kind: str, value: str, max_results: int = 20
) -> list[RelatedIndicator]:
    """``ctas_related_indicators(kind, value, max_results)``: what is seen with an
    indicator, the rarest ties first."""
    with conn.cursor(row_factory=class_row(RelatedIndicator)) as cur:
        return cur.execute(
            "SELECT * FROM ctas_related_indicators(%s, %s, %s)", (kind, value, max_results)
        ).fetchall()
