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


# --- scores and reports -------------------------------------------------------------


def score(
    conn: psycopg.Connection,
    evidence: dict[str, Any],
    model: str = "opencti",
    at: datetime | None = None,
) -> dict[str, Any]:
    """``ctas_score(evidence, model, at)``: the score and its explanation (at: now)."""
    row = conn.execute(
        "SELECT ctas_score(%s, %s, coalesce(%s, now()))", (Jsonb(evidence), model, at)
    ).fetchone()
    assert row is not None
    return row[0]


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
    row = conn.execute(
        "SELECT ctas_analyze(%s, %s, %s, %s, coalesce(%s, now()))",
        (Jsonb(report), pattern_set, resolution, model, at),
    ).fetchone()
    assert row is not None
    return row[0]


# --- the H3 grid and spatial statistics ---------------------------------------------


def h3_cell(conn: psycopg.Connection, lat: float, lng: float, res: int) -> int:
    """``ctas_h3_cell(lat, lng, res)``: the H3 cell containing the point, as an int."""
    row = conn.execute("SELECT ctas_h3_cell(%s, %s, %s)", (lat, lng, res)).fetchone()
    assert row is not None
    return row[0]


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
) -> list[Judged]:
    """``ctas_anomalies(ts, vals, ...)``: every point of the series judged."""
    with conn.cursor(row_factory=class_row(Judged)) as cur:
        return cur.execute(
            "SELECT * FROM ctas_anomalies(%s::timestamptz[], %s::float8[], %s, %s, %s::int, %s,"
            " %s::int, %s)",
            (list(ts), list(values), method, mode, period, threshold, history, counts),
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
    row = conn.execute("SELECT ctas_ingest_stix(%s)", (Jsonb(bundle),)).fetchone()
    assert row is not None
    return row[0]


def ingest_misp(conn: psycopg.Connection, export: dict[str, Any]) -> dict[str, Any]:
    """``ctas_ingest_misp(export)``: a MISP event export into the history."""
    row = conn.execute("SELECT ctas_ingest_misp(%s)", (Jsonb(export),)).fetchone()
    assert row is not None
    return row[0]


def ingest_report(conn: psycopg.Connection, report: dict[str, Any], id: str | None = None) -> str:
    """``ctas_ingest_report(report, id)``: one report into the history; its id."""
    row = conn.execute("SELECT ctas_ingest_report(%s, %s)", (Jsonb(report), id)).fetchone()
    assert row is not None
    return row[0]


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
