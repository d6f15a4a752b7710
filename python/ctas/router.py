"""A client of ctas-router's HTTP API: ingest, lookup, batch lookup, analyze and status.

    router = Router()                   # CTAS_URL, else http://$CTAS_LISTEN; CTAS_TOKEN
    router.ingest("bundle.json")        # a STIX bundle, a MISP export, records
    router.lookup("evil[.]com")         # what the router knows of it, or None

Only the standard library: no dependency beyond the package. A refusal of the router
(``application/problem+json``) is a :class:`RouterError` with its status, title and
detail; a router that does not answer is a :class:`RouterUnavailable` naming the URL.
"""

from __future__ import annotations

import json
import os
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

DEFAULT_URL = "http://127.0.0.1:8077"


def url_from_environment() -> str:
    """``CTAS_URL``, else ``http://$CTAS_LISTEN``, else the router's default address."""
    if os.environ.get("CTAS_URL"):
        return os.environ["CTAS_URL"].rstrip("/")
    if os.environ.get("CTAS_LISTEN"):
        return f"http://{os.environ['CTAS_LISTEN']}"
    return DEFAULT_URL


@dataclass
class RouterError(Exception):
    """The router refused a request: its problem+json (RFC 9457)."""

    status: int
    title: str
    detail: str
    problem: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.status} {self.title}: {self.detail}"


class RouterUnavailable(ConnectionError):
    """Nothing answered at the router's address."""


def _query(**params: Any) -> str:
    given = {
        k: v.isoformat() if isinstance(v, datetime) else v
        for k, v in params.items()
        if v is not None
    }
    return "?" + urllib.parse.urlencode(given) if given else ""


def _body(document: Any) -> bytes:
    """A document as bytes: a path is read as it is (gzip or not), bytes pass, anything
    else is written as JSON."""
    if isinstance(document, (str, Path)):
        return Path(document).read_bytes()
    if isinstance(document, (bytes, bytearray)):
        return bytes(document)
    return json.dumps(document).encode()


_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)")
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse_sample(line: str) -> tuple[str, dict[str, str], float]:
    """One sample line of the Prometheus text exposition format: name, labels, value."""
    found = _SAMPLE.match(line)
    if found is None:
        raise ValueError(f"not a Prometheus sample: {line!r}")
    name, labels, value = found.groups()
    found_labels = {k: re.sub(r"\\(.)", _unescaped, v) for k, v in _LABEL.findall(labels or "")}
    return name, found_labels, float(value)


def _unescaped(escape: re.Match[str]) -> str:
    # The format escapes a label value's backslash, quote and newline with a backslash.
    return "\n" if escape[1] == "n" else escape[1]


class Router:
    """ctas-router at ``url`` (default: from the environment, see
    :func:`url_from_environment`), called with the bearer ``token`` (default
    ``CTAS_TOKEN``; a router with tokens configured needs a read token, a write token
    to ingest)."""

    def __init__(
        self, url: str | None = None, timeout: float = 60.0, token: str | None = None
    ) -> None:
        self.url = (url or url_from_environment()).rstrip("/")
        self.timeout = timeout
        self._token = token if token is not None else os.environ.get("CTAS_TOKEN") or None

    def __repr__(self) -> str:
        # The token is a secret: never shown.
        return f"Router({self.url!r}, token={'<set>' if self._token else None})"

    def _call(self, method: str, path: str, body: bytes | None = None, ok404: bool = False) -> Any:
        headers = {"Content-Type": "application/json"} if body is not None else {}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        request = urllib.request.Request(self.url + path, data=body, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as e:
            if ok404 and e.code == 404:
                return None
            raw = e.read()
            try:
                problem = json.loads(raw)
            except ValueError:
                problem = {"title": e.reason, "detail": raw.decode(errors="replace")}
            raise RouterError(
                e.code, problem.get("title", str(e.reason)), problem.get("detail", ""), problem
            ) from None
        except urllib.error.URLError as e:
            raise RouterUnavailable(f"no ctas-router answers at {self.url}: {e.reason}") from None

    def ingest(
        self,
        document: Any,
        at: datetime | str | None = None,
        priority: str | None = None,
        latency: str | None = None,
        data_type: str | None = None,
    ) -> dict[str, Any]:
        """``POST /v1/ingest``: a STIX bundle, a MISP export or records — a path, bytes
        (gzip or not) or a dict/list. What was accepted, per part, how many objects each
        tier gets (``routed``: the router's routing rules decide, by ``priority``,
        ``latency`` and ``data_type`` as declared here and each object's kind, age and
        size), the ids and each report's analysis (scored at ``at``, default now)."""
        query = _query(at=at, priority=priority, latency=latency, data_type=data_type)
        return self._call("POST", "/v1/ingest" + query, _body(document))

    def lookup(
        self,
        value: str,
        kind: str | None = None,
        model: str | None = None,
        at: datetime | str | None = None,
        behaviour: bool = False,
    ) -> dict[str, Any] | None:
        """``GET /v1/indicators/{value}``: what the router knows of an indicator (written
        any way: defanged, any case), its score now, explained; None when unknown. With
        ``behaviour``, also ``"behaviour"``: the anomalous hours and behaviour events of
        the day before ``at``, judged in the cold tier (or ``{"error": …}`` saying why
        not)."""
        path = "/v1/indicators/" + urllib.parse.quote(value, safe="")
        flag = "true" if behaviour else None
        query = _query(kind=kind, model=model, at=at, behaviour=flag)
        return self._call("GET", path + query, ok404=True)

    def lookup_many(
        self,
        values: list[str],
        kind: str | None = None,
        model: str | None = None,
        at: datetime | str | None = None,
        partial: bool = False,
    ) -> list[dict[str, Any]]:
        """``POST /v1/indicators/lookup``: up to 10,000 values at once, each
        ``{"value", "found", "indicator"}`` or ``{"value", "found": false, "reason"}``, in
        the order asked. RouterError 503 when a lower tier did not answer (a value it
        alone could know would read as not found), unless ``partial`` takes the answers
        with such values marked by their reason."""
        body: dict[str, Any] = {"values": list(values)}
        if kind is not None:
            body["kind"] = kind
        answer = self._call(
            "POST", "/v1/indicators/lookup" + _query(model=model, at=at), json.dumps(body).encode()
        )
        if answer["unavailable"] and not partial:
            raise RouterError(
                503,
                "A tier did not answer",
                "; ".join(answer["unavailable"])
                + ": values not in the hot tier may be known there; pass partial=True to"
                " take the answers",
                answer,
            )
        return answer["results"]

    def analyze(
        self,
        report: dict[str, Any],
        pattern_set: str | None = None,
        resolution: int | None = None,
        model: str | None = None,
        at: datetime | str | None = None,
    ) -> dict[str, Any]:
        """``POST /v1/analyze``: one report analysed with the cold tier's warninglists and
        pattern sets."""
        query = _query(pattern_set=pattern_set, resolution=resolution, model=model, at=at)
        return self._call("POST", "/v1/analyze" + query, json.dumps(report).encode())

    def record(self, id: str) -> dict[str, Any] | None:
        """``GET /v1/records/{id}``: a record, report, indicator or entity by its id."""
        return self._call("GET", "/v1/records/" + urllib.parse.quote(id, safe=""), ok404=True)

    def neighbors(
        self, id: str, depth: int = 1, types: list[str] | None = None, page: int = 1000
    ) -> list[dict[str, Any]]:
        """``GET /v1/graph/{id}/neighbors``: every object within ``depth`` edges (1-3) of
        ``id`` in the graph, along edges of ``types`` (``USES`` or ``uses``; all if None),
        nearest first, each with its ``distance`` and the edge it was reached by
        (``via``); the pages followed by their cursors. RouterError 404 when the graph
        has no such object."""
        path = "/v1/graph/" + urllib.parse.quote(id, safe="") + "/neighbors"
        found: list[dict[str, Any]] = []
        cursor = None
        while True:
            query = _query(
                depth=depth, types=",".join(types) if types else None, limit=page, cursor=cursor
            )
            answer = self._call("GET", path + query)
            found.extend(answer["neighbors"])
            cursor = answer["next"]
            if cursor is None:
                return found

    def reports(
        self,
        bbox: tuple[float, float, float, float] | None = None,
        h3: str | int | None = None,
        since: datetime | str | None = None,
        until: datetime | str | None = None,
        page: int = 1000,
        partial: bool = False,
    ) -> list[dict[str, Any]]:
        """``GET /v1/reports``: the reports (flat records' observations among them) seen
        in ``bbox`` (west, south, east, north in degrees; west > east crosses the
        antimeridian), in the H3 cell ``h3`` (hex string or int, resolution 7 or
        coarser) and from ``since`` (inclusive) to ``until`` (exclusive), newest first,
        each with the indicators it names, from the warm and the cold tier; the pages
        followed by their cursors. RouterError 422 naming the parameter at fault; 503
        when a tier did not answer, unless ``partial`` takes what the other holds."""
        pages = self.report_pages(bbox, h3, since, until, page, partial)
        return [report for found in pages for report in found]

    def report_pages(
        self,
        bbox: tuple[float, float, float, float] | None = None,
        h3: str | int | None = None,
        since: datetime | str | None = None,
        until: datetime | str | None = None,
        page: int = 1000,
        partial: bool = False,
    ) -> Iterator[list[dict[str, Any]]]:
        """:meth:`reports` a page at a time, as each arrives (a progress bar's steps)."""
        cursor = None
        while True:
            query = _query(
                bbox=",".join(repr(float(x)) for x in bbox) if bbox else None,
                h3=format(h3, "x") if isinstance(h3, int) else h3,
                since=since,
                until=until,
                limit=page,
                cursor=cursor,
            )
            answer = self._call("GET", "/v1/reports" + query)
            if answer["unavailable"] and not partial:
                tiers = " and ".join(answer["unavailable"])
                raise RouterError(
                    503,
                    "A tier did not answer",
                    f"the {tiers} tier did not answer, so the reports would be only the"
                    " other's; pass partial=True to take them",
                    answer,
                )
            yield answer["reports"]
            cursor = answer["next"]
            if cursor is None:
                return

    def status(self) -> dict[str, Any]:
        """``GET /v1/status``: records per tier, what is pending, dead letters, errors."""
        return self._call("GET", "/v1/status")

    def metrics(self) -> list[tuple[str, dict[str, str], float]]:
        """``GET /metrics``: every sample of the Prometheus text format as ``(name,
        labels, value)``, ``HELP`` and ``TYPE`` lines left out."""
        headers = {"Authorization": f"Bearer {self._token}"} if self._token else {}
        request = urllib.request.Request(self.url + "/metrics", headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                text = response.read().decode()
        except urllib.error.HTTPError as e:
            raise RouterError(e.code, str(e.reason), e.read().decode(errors="replace")) from None
        except urllib.error.URLError as e:
            raise RouterUnavailable(f"no ctas-router answers at {self.url}: {e.reason}") from None
        return [parse_sample(line) for line in text.splitlines() if line and line[0] != "#"]

    def ready(self) -> dict[str, Any]:
        """``GET /readyz``: ``{"ready": bool, "tiers": {name: {"up", "required", ...}}}``,
        each tier asked now; ``detail`` names the required tiers down when not ready."""
        try:
            return self._call("GET", "/readyz")
        except RouterError as e:
            if e.status != 503 or "tiers" not in e.problem:
                raise
            return {"ready": False, "tiers": e.problem["tiers"], "detail": e.detail}

    def wait_synced(self, timeout: float = 60.0, poll: float = 0.2) -> dict[str, Any]:
        """The status once every tier has what was acknowledged; TimeoutError naming what
        is still pending after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            status = self.status()
            if status.get("synced"):
                return status
            if time.monotonic() >= deadline:
                pending = {
                    name: tier.get("pending")
                    for name, tier in status.get("tiers", {}).items()
                    if tier.get("pending")
                }
                raise TimeoutError(f"the tiers are not in sync after {timeout} s: {pending}")
            time.sleep(poll)
