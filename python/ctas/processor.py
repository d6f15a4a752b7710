"""The plan's threat-intelligence processor: a feed of reports in, one analysis out —
the patterns matched, the indicators that correlate reports, where they are hot, how
their number moves over time, and how confident the feed is.

A thin layer over the idiomatic API (``ctas.analyze``, ``ctas.getis_ord``,
``ctas.anomalies``): each report is analysed by the core as SQL and the router analyse
it, in a worker thread (the core releases the GIL), so an event loop stays free.
"""

from __future__ import annotations

import asyncio
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np

import ctas

SEVERITIES = ["info", "low", "medium", "high", "critical"]


def reports_of(threat_data: Any) -> list[dict[str, Any]]:
    """The reports a feed holds: one report ``{"text", ...}``, a list of them, a dict with
    ``"reports"``, or plain text (one report observed now)."""
    if isinstance(threat_data, str):
        return [{"text": threat_data}]
    if isinstance(threat_data, Mapping):
        if "reports" in threat_data:
            return reports_of(list(threat_data["reports"]))
        if "text" in threat_data:
            return [dict(threat_data)]
        raise ValueError(
            'threat_data: a report needs "text" (or give {"reports": [...]}), '
            f"got the keys {sorted(threat_data)}"
        )
    if isinstance(threat_data, Sequence):
        out = []
        for i, r in enumerate(threat_data):
            if isinstance(r, str):
                out.append({"text": r})
            elif isinstance(r, Mapping) and "text" in r:
                out.append(dict(r))
            else:
                raise ValueError(f'threat_data[{i}]: a report is a str or a dict with "text"')
        return out
    raise TypeError(
        "threat_data: expected a report, a list of reports or text, "
        f"got {type(threat_data).__name__}"
    )


def _when(report: Mapping[str, Any], at: datetime) -> datetime:
    t = report.get("observed_at")
    if isinstance(t, datetime):
        return t
    if isinstance(t, str):
        return datetime.fromisoformat(t.replace("Z", "+00:00"))
    return at


class ThreatIntelligenceProcessor:
    """Analyses feeds: ``await ThreatIntelligenceProcessor().process_threat_feed(data)``.

    ``warninglists`` and ``pattern_set`` are ``ctas.Warninglists`` / ``ctas.PatternSet``;
    ``resolution`` the H3 resolution of the report cells; ``model`` the decay model.
    """

    def __init__(
        self,
        warninglists: ctas.Warninglists | None = None,
        pattern_set: ctas.PatternSet | None = None,
        resolution: int = 7,
        model: str = "ctas:admiralty",
    ) -> None:
        self.warninglists = warninglists
        self.pattern_set = pattern_set
        self.resolution = resolution
        self.model = model

    def analyse(self, threat_data: Any, at: datetime | None = None) -> dict[str, Any]:
        """What :meth:`process_threat_feed` gives, in the calling thread."""
        at = at or datetime.now(UTC)
        reports = reports_of(threat_data)
        analyses = [
            ctas.analyze(
                r,
                warninglists=self.warninglists,
                pattern_set=self.pattern_set,
                resolution=self.resolution,
                model=self.model,
                at=at,
            )
            for r in reports
        ]
        return {
            "reports": len(reports),
            "patterns": [{"report": i, **m} for i, a in enumerate(analyses) for m in a["matches"]],
            "correlations": correlations(analyses),
            "geospatial": geospatial(analyses),
            "behavioral": behavioral([_when(r, at) for r in reports]),
            "confidence": confidence(analyses),
            "severity": max(
                (a["severity"] for a in analyses), key=SEVERITIES.index, default="info"
            ),
            "analyses": analyses,
        }

    async def process_threat_feed(
        self, threat_data: Any, at: datetime | None = None
    ) -> dict[str, Any]:
        """The analysis of a feed: ``patterns`` matched (with the report's index),
        ``correlations`` (indicators named by more than one report, the rarest first),
        ``geospatial`` (reports per H3 cell, Gi* hotspots), ``behavioral`` (reports per
        hour and the hours out of the ordinary), ``confidence`` (the reports' mean STIX
        confidence), the highest ``severity``, and each report's ``analyses``."""
        return await asyncio.to_thread(self.analyse, threat_data, at)


def correlations(analyses: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Indicators that more than one report names, not on a warninglist; those shared by
    fewest reports first (a value every report names ties nothing together)."""
    named: dict[tuple[str, str], set[int]] = defaultdict(set)
    for i, a in enumerate(analyses):
        for ioc in a["iocs"]:
            if not ioc["warninglists"]:
                named[(ioc["kind"], ioc["value"])].add(i)
    shared = [
        {"kind": k, "value": v, "reports": sorted(rs)}
        for (k, v), rs in named.items()
        if len(rs) > 1
    ]
    return sorted(shared, key=lambda c: (len(c["reports"]), c["kind"], c["value"]))


def geospatial(analyses: list[dict[str, Any]]) -> dict[str, Any]:
    """Reports per H3 cell and, with two cells or more, Gi* over those counts: the cells
    significantly hot (z > 1.96, p < 0.05)."""
    counts = Counter(a["h3_cell"] for a in analyses if a.get("h3_cell"))
    out: dict[str, Any] = {"cells": dict(counts), "hotspots": []}
    if len(counts) < 2:
        return out
    cells = [int(c, 16) for c in counts]
    g = ctas.getis_ord(cells, [float(n) for n in counts.values()], k=1)
    out["hotspots"] = [
        {"cell": format(int(c), "x"), "z_score": float(z), "p_value": float(p)}
        for c, z, p in zip(g["cell"], g["z_score"], g["p_value"], strict=True)
        if z > 1.96 and p < 0.05
    ]
    return out


def behavioral(times: list[datetime]) -> dict[str, Any]:
    """Reports per hour (the core counts the hours between as zero) and the hours the
    online detector flags."""
    if not times:
        return {"hours": 0, "anomalies": []}
    hours = Counter(t.astimezone(UTC).replace(minute=0, second=0, microsecond=0) for t in times)
    ts = sorted(hours)
    judged = ctas.anomalies(ts, np.array([hours[t] for t in ts], dtype=float))
    return {
        "hours": len(judged["ts"]),
        "anomalies": [
            {
                "hour": judged["ts"][i]
                .astype("datetime64[us]")
                .item()
                .replace(tzinfo=UTC)
                .isoformat(),
                "reports": int(judged["value"][i]),
                "expected": float(judged["expected"][i]),
                "score": float(judged["anomaly_score"][i]),
            }
            for i in np.flatnonzero(judged["is_anomaly"])
        ],
    }


def confidence(analyses: list[dict[str, Any]]) -> float | None:
    """The mean STIX confidence of the reports that have one."""
    given = [a["confidence"] for a in analyses if a.get("confidence") is not None]
    return sum(given) / len(given) if given else None
