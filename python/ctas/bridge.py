"""The plan's bridge: intelligence in, sent down the path its urgency and age call for.

``await CTASBridge().process_intelligence(data)`` takes the plan's envelope —
``{"priority", "latency_requirement", "data_type", "payload"}`` — and decides the path:

- **hot** when ``priority`` is ``critical``, ``latency_requirement`` is ``real_time`` or
  ``data_type`` is ``threat_feed`` or ``live_intelligence``: analysed now;
- **warm** otherwise, while the data is recent (observed within ``warm_window``);
- **cold** for the rest: history.

Every path is analysed by the core (``ThreatIntelligenceProcessor``). With a router
configured (``router=`` a URL or a ``Router``; by default ``CTAS_URL`` from the
environment when it is set; ``router=None``: none) the payload is also ingested
through it — STIX bundles and MISP exports as they are, reports as report records —
with the envelope's ``priority``, ``latency_requirement`` (as ``latency``) and
``data_type``, so that the router's routing rules decide which tiers each object goes
to (docs/routing.md); the answer says what the router accepted and where it went
(``ingested["routed"]``).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from ctas.processor import ThreatIntelligenceProcessor, reports_of
from ctas.router import Router

HOT_DATA_TYPES = ("threat_feed", "live_intelligence")

# The default of CTASBridge(router=...): the router CTAS_URL names, if it names one.
FROM_ENVIRONMENT: Any = object()


def path_of(data: Mapping[str, Any], now: datetime, warm_window: timedelta) -> str:
    """hot, warm or cold for an envelope (see the module's documentation)."""
    if (
        data.get("priority") == "critical"
        or data.get("latency_requirement") == "real_time"
        or data.get("data_type") in HOT_DATA_TYPES
    ):
        return "hot"
    newest = None
    for r in _reports(data.get("payload")):
        t = r.get("observed_at")
        if isinstance(t, str):
            t = datetime.fromisoformat(t.replace("Z", "+00:00"))
        if isinstance(t, datetime) and (newest is None or t > newest):
            newest = t
    if newest is None or now - newest <= warm_window:
        return "warm"
    return "cold"


def _is_document(payload: Any) -> bool:
    """A STIX bundle or a MISP export: the router reads them whole."""
    return isinstance(payload, Mapping) and (
        payload.get("type") == "bundle" or "Event" in payload or "response" in payload
    )


def _reports(payload: Any) -> list[dict[str, Any]]:
    if payload is None or _is_document(payload):
        return []
    return reports_of(payload)


def _records(reports: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Reports as the router's report records."""
    out = []
    for r in reports:
        source = r.get("source")
        record = {
            "kind": "report",
            "value": r["text"],
            "source": source.get("name") if isinstance(source, Mapping) else source,
            "observed_at": r.get("observed_at"),
            "lat": r.get("lat"),
            "lng": r.get("lng"),
            "tags": r.get("tags", []),
        }
        out.append({k: v for k, v in record.items() if v is not None})
    return out


class CTASBridge:
    """Routes intelligence to the hot, warm or cold path; see the module."""

    def __init__(
        self,
        router: Router | str | None = FROM_ENVIRONMENT,
        processor: ThreatIntelligenceProcessor | None = None,
        warm_window: timedelta = timedelta(days=30),
    ) -> None:
        if router is FROM_ENVIRONMENT:
            router = Router() if os.environ.get("CTAS_URL") else None
        self.router = Router(router) if isinstance(router, str) else router
        self.processor = processor or ThreatIntelligenceProcessor()
        self.warm_window = warm_window

    async def process_intelligence(self, data: Mapping[str, Any]) -> dict[str, Any]:
        """``{"path", "analysis", "ingested"}``: the path chosen, the processor's analysis
        of the payload's reports (None for a STIX or MISP document), and what the router
        accepted (None without a router)."""
        if not isinstance(data, Mapping) or "payload" not in data:
            raise ValueError(
                'data: expected {"priority", "latency_requirement", "data_type", "payload"}'
            )
        now = datetime.now(UTC)
        payload = data["payload"]
        path = path_of(data, now, self.warm_window)
        reports = _reports(payload)
        analysis = await self.processor.process_threat_feed(reports, now) if reports else None
        ingested = None
        if self.router is not None:
            body = payload if _is_document(payload) else _records(reports)
            ingested = await asyncio.to_thread(
                self.router.ingest,
                body,
                priority=data.get("priority"),
                latency=data.get("latency_requirement"),
                data_type=data.get("data_type"),
            )
        return {"path": path, "analysis": analysis, "ingested": ingested}
