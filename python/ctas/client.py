"""Connections to the cold tier and thin wrappers over the extension's SQL functions."""

from __future__ import annotations

import os

import psycopg


def dsn() -> str:
    """The connection string: ``CTAS_PG_DSN``, else libpq's own ``PG*`` variables."""
    return os.environ.get("CTAS_PG_DSN", "")


def connect(**kwargs) -> psycopg.Connection:
    """A psycopg connection to the database that has the ``ctas`` extension."""
    return psycopg.connect(dsn(), **kwargs)


def h3_cell(conn: psycopg.Connection, lat: float, lng: float, res: int) -> int:
    """``ctas_h3_cell(lat, lng, res)``: the H3 cell containing the point, as an int."""
    row = conn.execute("SELECT ctas_h3_cell(%s, %s, %s)", (lat, lng, res)).fetchone()
    assert row is not None
    return row[0]


def extract_iocs(conn: psycopg.Connection, body: str) -> list[dict]:
    """``ctas_extract_iocs(body)`` as dicts: kind, value, raw, start_pos, end_pos, warninglists."""
    cur = conn.execute("SELECT * FROM ctas_extract_iocs(%s)", (body,))
    names = [d.name for d in cur.description or []]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
