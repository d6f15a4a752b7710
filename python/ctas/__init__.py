"""CTAS from Python: a psycopg client for the ``ctas`` PostgreSQL extension.

``ctas.connect()`` opens the database named by ``CTAS_PG_DSN`` (or libpq's ``PG*``
variables); ``ctas.h3_cell(conn, lat, lng, res)`` calls ``ctas_h3_cell``.
"""

from ctas.client import connect, dsn, extract_iocs, h3_cell

__all__ = ["connect", "dsn", "extract_iocs", "h3_cell"]
