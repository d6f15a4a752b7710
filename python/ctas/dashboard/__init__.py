"""The analysts' dashboard: a Streamlit app over ctas-router's API and the cold tier.

    make dashboard                  # the demo's router and database, on :8501
    python -m ctas.dashboard        # the same, for the router at CTAS_URL

Four pages: **Hotspots** (the first: Getis-Ord Gi* of the reports per H3 cell, on a map
that needs no network), **Lookup** (an indicator's score now, explained, and how it
decays), **Reports** (a report's text with its indicators marked, its severity, the
reports it is tied to by rare indicators) and **Operations** (each tier's state, records,
outbox and dead letters). It reads the router at ``CTAS_URL`` (``CTAS_TOKEN``: a read
token when the router asks for one) and the cold tier at ``CTAS_PG_DSN``, through
:class:`ctas.router.Router` and :mod:`ctas.client`. Guide: docs/dashboard.md.
"""
