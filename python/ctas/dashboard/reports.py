"""Reports: what was reported in a window, how severe, the indicators in each text, and
the reports tied to one by the indicators they share, the rarest ties first.

The list comes from the router (warm and cold tiers); each report's text, analysis
(``ctas_analyze_row``: indicators where they stand, patterns, score, severity) and
correlations (``ctas_correlated_reports``) from the cold tier."""

from __future__ import annotations

import html
from typing import Any

import streamlit as st

from ctas.client import analyzed_reports, correlated_reports, report, reports_titled
from ctas.dashboard.sources import cold, explained, fetch_reports, remembered, warn_if_cut, window

SEVERITY_COLOURS = {
    "critical": "#a50026",
    "high": "#d73027",
    "medium": "#f46d43",
    "low": "#fdae61",
    "info": "#74add1",
}
LISTED = 50


def marked(body: str, iocs: list[dict[str, Any]]) -> str:
    """The text as HTML, each indicator found in it inside a ``<mark>`` titled with its
    kind and normalised value. Positions are ``ctas_extract_iocs``'s: 1-based
    characters, end exclusive."""
    spans = sorted((i["start_pos"] - 1, i["end_pos"] - 1, i) for i in iocs)
    out, at = [], 0
    for start, end, ioc in spans:
        if start < at:  # an indicator inside another (a domain in its URL): the outer one
            continue
        out.append(html.escape(body[at:start]))
        title = html.escape(f"{ioc['kind']}: {ioc['value']}", quote=True)
        out.append(f'<mark title="{title}">{html.escape(body[start:end])}</mark>')
        at = end
    out.append(html.escape(body[at:]))
    return "".join(out).replace("\n", "<br>")


def badge(severity: str) -> str:
    colour = SEVERITY_COLOURS.get(severity, "#999")
    return (
        f'<span class="ctas-severity" style="background:{colour};color:white;'
        f'padding:0.1em 0.5em;border-radius:0.3em">{html.escape(severity)}</span>'
    )


def page() -> None:
    st.title("Reports")
    st.caption(
        "Reports of a window, newest first, with the cold tier's analysis; pick one to"
        " read it with its indicators marked and the reports it shares rare indicators with."
    )
    since, until = window("reports-days")
    with explained("Fetching the reports"):
        reports = remembered(
            ("reports", since, until, None), lambda: fetch_reports(since, until, None)
        )
    warn_if_cut(reports)
    if not reports:
        st.info("No report in this window: widen the days.")
        return
    listed = reports[:LISTED]
    with explained("Analysing the reports in the cold tier"), st.spinner("Analysing…"):
        analyses = analyzed_reports(cold(), [r["id"] for r in listed])
    st.markdown(
        f"**{len(reports):,}** reports from {since:%Y-%m-%d} to {until:%Y-%m-%d} (exclusive)"
        + (f"; the newest {LISTED} listed." if len(reports) > LISTED else ".")
    )
    st.container(key="reports-list").table(
        [
            {
                "observed": r["observed_at"],
                "title": r["title"] or r["id"],
                "source": r["source"] or "",
                "severity": analyses.get(r["id"], {}).get("severity", "not in the cold tier"),
                "score": (
                    f"{analyses[r['id']]['score']['score']:.1f}" if r["id"] in analyses else ""
                ),
                "indicators": len(r["indicators"]),
            }
            for r in listed
        ]
    )

    labels = {r["id"]: f"{r['observed_at'][:10]} · {r['title'] or r['id']}" for r in listed}
    chosen = st.selectbox(
        "Read a report", list(labels), format_func=labels.__getitem__, key="reports-chosen"
    )
    with explained("Reading the report from the cold tier"):
        row = report(cold(), chosen)
        ties = correlated_reports(cold(), chosen) if row else []
        titles = reports_titled(cold(), [t.related_report for t in ties])
    if row is None:
        st.warning(f"{chosen} is not in the cold tier yet (or its routing rules keep it out).")
        return
    analysis = analyses[chosen]
    st.subheader(row.title or row.id)
    st.markdown(
        f"{badge(analysis['severity'])} score **{analysis['score']['score']:.1f}** ·"
        f" {html.escape(row.source or 'no source')} · observed {row.observed_at:%Y-%m-%d %H:%M}"
        f" UTC · {len(analysis['iocs'])} indicator(s) in the text",
        unsafe_allow_html=True,
    )
    st.markdown(
        f'<div class="ctas-report-text" style="max-height:24em;overflow:auto;'
        f'border:1px solid #ddd;padding:0.8em">{marked(row.body, analysis["iocs"])}</div>',
        unsafe_allow_html=True,
    )
    if analysis["matches"]:
        st.markdown("Patterns matched:")
        st.table(
            [
                {"pattern": m["pattern_id"], "severity": m["severity"], "ATT&CK": m["attack_id"]}
                for m in analysis["matches"]
            ]
        )
    st.subheader("Correlated reports, rarest ties first")
    if not ties:
        st.markdown("No other report shares an indicator with it.")
        return
    observed = {r["id"]: r["observed_at"] for r in reports}
    st.container(key="reports-correlated").table(
        [
            {
                "observed": observed.get(t.related_report, ""),
                "report": titles.get(t.related_report) or t.related_report,
                "shared": t.shared,
                "weight": f"{t.weight:.2f}",
                "shared indicators": ", ".join(t.shared_indicators),
            }
            for t in ties
        ]
    )
