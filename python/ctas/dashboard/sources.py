"""Where the pages read from, and what they say when it does not answer: the router
(``CTAS_URL``) and the cold tier (``CTAS_PG_DSN``), each error turned into a sentence
naming what failed and what to check — never a stack trace."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, TypeVar

import psycopg
import streamlit as st

import ctas
from ctas.router import Router, RouterError, RouterUnavailable

T = TypeVar("T")


@st.cache_resource
def router() -> Router:
    """The router named by the environment (``CTAS_URL``, ``CTAS_TOKEN``)."""
    return Router(timeout=30.0)


def cold() -> psycopg.Connection:
    """A connection to the cold tier, kept for the session, opened again when lost."""
    conn = st.session_state.get("cold")
    if conn is None or conn.closed or conn.broken:
        conn = ctas.connect(autocommit=True, connect_timeout=5)
        st.session_state["cold"] = conn
    return conn


def problem(what: str, error: Exception) -> str:
    """What failed, in words, and what to check."""
    if isinstance(error, RouterUnavailable):
        return (
            f"{what}: {error}. Check that the router runs (`make demo` starts one,"
            " `scripts/router.sh status` tells) and that CTAS_URL names it."
        )
    if isinstance(error, RouterError) and error.status in (401, 403):
        return (
            f"{what}: the router refused the dashboard ({error}). Set CTAS_TOKEN to a read"
            " token of the router's."
        )
    if isinstance(error, RouterError):
        return f"{what}: the router answered {error}."
    if isinstance(error, psycopg.OperationalError):
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        return (
            f"{what}: the cold tier (PostgreSQL) did not answer: {first}. Check that it runs"
            " (`scripts/pg.sh status`) and that CTAS_PG_DSN names the database with the"
            " ctas extension."
        )
    if isinstance(error, psycopg.Error):
        return (
            f"{what}: the cold tier refused the query: {str(error).strip().splitlines()[0]}."
            " Check that the database CTAS_PG_DSN names has the ctas extension"
            " (`CREATE EXTENSION ctas`)."
        )
    return f"{what}: {error}"


EXPECTED = (RouterUnavailable, RouterError, psycopg.Error, ctas.CtasError, TimeoutError)


@contextmanager
def explained(what: str) -> Iterator[None]:
    """Run the block; on a failure of the router or the cold tier, show what failed and
    stop the page there."""
    try:
        yield
    except EXPECTED as error:
        st.error(problem(what, error), icon="⚠️")
        st.stop()


def remembered(key: tuple[Any, ...], fetch: Callable[[], T]) -> T:
    """``fetch()``'s answer, kept in the session under ``key`` for a minute, so a click on
    the map does not ask the router again."""
    kept = st.session_state.setdefault("remembered", {})
    now = datetime.now(UTC)
    if key in kept and now - kept[key][0] < timedelta(minutes=1):
        return kept[key][1]
    answer = fetch()
    kept[key] = (now, answer)
    return answer


# The most reports a page holds in memory: a window of a busy feed can hold millions.
MAX_REPORTS = 100_000


def fetch_reports(
    since: datetime, until: datetime, bbox: tuple[float, float, float, float] | None
) -> list[dict[str, Any]]:
    """The reports of a window and area, newest first, page by page with a running count
    (a week of a busy feed is many pages), at most :data:`MAX_REPORTS`."""
    found: list[dict[str, Any]] = []
    with st.status("Fetching the reports from the router…", expanded=False) as status:
        for page in router().report_pages(bbox=bbox, since=since, until=until):
            found.extend(page)
            status.update(label=f"Fetching the reports from the router… {len(found):,}")
            if len(found) >= MAX_REPORTS:
                break
        status.update(label=f"{len(found):,} reports fetched", state="complete")
    return found[:MAX_REPORTS]


def warn_if_cut(reports: list[dict[str, Any]]) -> None:
    """Say so when the window held more reports than a page fetches."""
    if len(reports) >= MAX_REPORTS:
        st.warning(
            f"The window holds more than {MAX_REPORTS:,} reports: only the newest"
            f" {MAX_REPORTS:,} are shown. Narrow the days or the area to see all of them.",
            icon="⚠️",
        )


def newest_day() -> date:
    """The day of the newest report the tiers hold (today when they hold none): the
    default window ends there, so a replayed or older feed is shown, not an empty map."""
    page = next(router().report_pages(page=1), [])
    if not page:
        return datetime.now(UTC).date()
    return datetime.fromisoformat(page[0]["observed_at"]).date()


def window(key: str) -> tuple[datetime, datetime]:
    """A date range picker (default: the seven days up to the newest report), as
    ``since`` (inclusive) and ``until`` (exclusive) in UTC."""
    with explained("Finding the newest report"):
        last = remembered(("newest",), newest_day)
    picked = st.date_input(
        "Days (UTC)", value=(last - timedelta(days=6), last), key=key, format="YYYY-MM-DD"
    )
    first, final = (picked[0], picked[-1]) if isinstance(picked, tuple) and picked else (last, last)
    since = datetime.combine(first, time(), UTC)
    return since, datetime.combine(final, time(), UTC) + timedelta(days=1)


def parse_bbox(text: str) -> tuple[float, float, float, float] | None:
    """``west,south,east,north`` in degrees, or None when empty; ValueError naming the
    part at fault."""
    if not text.strip():
        return None
    parts = [p.strip() for p in text.split(",")]
    if len(parts) != 4:
        raise ValueError(f"an area is west,south,east,north: four numbers, not {len(parts)}")
    numbers = []
    for name, part in zip(("west", "south", "east", "north"), parts, strict=True):
        try:
            numbers.append(float(part))
        except ValueError:
            raise ValueError(f"the area's {name} edge {part!r} is not a number") from None
    return numbers[0], numbers[1], numbers[2], numbers[3]
