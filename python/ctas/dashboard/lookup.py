"""Lookup: is this indicator known, how bad is it now, why, and for how long.

The router's answer (``GET /v1/indicators/{value}``: refanged, normalised, hot → warm →
cold), its score explained source by source, and the score's decay curve drawn from the
model's own polynomial (``ctas.decay``) with the threshold and the day the score crosses
it."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import altair as alt
import numpy as np
import streamlit as st

import ctas
from ctas.client import reports_titled
from ctas.dashboard.sources import cold, explained, router


def model_named(name: str) -> dict[str, Any] | None:
    """The decay model ``name`` among those CTAS ships."""
    return next((m for m in ctas.decay_models() if m["name"] == name), None)


def curve(score: dict[str, Any], model: dict[str, Any], points: int = 200) -> list[dict[str, Any]]:
    """The score from its reference time until past the day it crosses the threshold
    (or the model's lifetime), as the model's polynomial decays the base."""
    lifetime, speed = model["curve"]["lifetime_days"], model["curve"]["speed"]
    crossing = ctas.days_until(score["base"], score["threshold"], lifetime, speed)
    horizon = max(score["elapsed_days"], crossing or lifetime) * 1.25 or lifetime
    days = np.linspace(0.0, horizon, points)
    values = ctas.decay(score["base"], days, lifetime, speed)
    start = datetime.fromisoformat(score["reference_time"])
    return [
        {"day": start + timedelta(days=float(d)), "score": float(v)}
        for d, v in zip(days, values, strict=True)
    ]


def decay_chart(score: dict[str, Any], model: dict[str, Any]) -> alt.LayerChart:
    points = alt.Data(values=[{**p, "day": p["day"].isoformat()} for p in curve(score, model)])
    line = (
        alt.Chart(points)
        .mark_line(color="#d7301f")
        .encode(
            x=alt.X("day:T", title="day"),
            y=alt.Y("score:Q", title="score", scale=alt.Scale(domain=[0, 100])),
        )
    )
    marks = [{"score": score["threshold"], "what": f"threshold {score['threshold']:g}"}]
    threshold = (
        alt.Chart(alt.Data(values=marks))
        .mark_rule(strokeDash=[6, 4], color="#555")
        .encode(y="score:Q", tooltip=["what:N"])
    )
    now = (
        alt.Chart(alt.Data(values=[{"day": score["at"], "score": score["score"]}]))
        .mark_point(size=90, filled=True, color="#2c7bb6")
        .encode(x="day:T", y="score:Q", tooltip=["day:T", "score:Q"])
    )
    layers = [line, threshold, now]
    if score.get("valid_until"):
        crossing = alt.Data(values=[{"day": score["valid_until"]}])
        layers.append(
            alt.Chart(crossing)
            .mark_rule(color="#2c7bb6", strokeDash=[2, 2])
            .encode(x="day:T", tooltip=["day:T"])
        )
    return alt.layer(*layers).properties(height=300)


def explanation(score: dict[str, Any]) -> list[dict[str, Any]]:
    """Each source's part of the base score."""
    return [
        {
            "source": s["source"],
            "base": f"{s['base']:.1f}",
            "from": s["from"],
            "contribution": f"{s['contribution']:.2f}",
        }
        for s in score["sources"]
    ]


def page() -> None:
    st.title("Lookup")
    st.caption(
        "An indicator as you have it — defanged (hxxp, [.]), in capitals, any IPv6"
        " spelling — with its score now, why, and when it decays below the threshold."
    )
    names = [m["name"] for m in ctas.decay_models()]
    left, right = st.columns([3, 1])
    with left:
        value = st.text_input(
            "Indicator", value=st.query_params.get("value", ""), key="lookup-value"
        )
    with right:
        model = st.selectbox("Decay model", names, index=names.index("ctas:admiralty"))
    if not value.strip():
        st.info("Type an IP address, domain, URL, hash or e-mail address and press Enter.")
        return
    st.query_params["value"] = value
    with explained(f"Looking up {value!r}"), st.spinner("Asking the router…"):
        found = router().lookup(value.strip(), model=model)
    if found is None:
        st.warning(f"{value!r} is not known to any tier (looked up as {ctas.refang(value)!r}).")
        return
    score = found["score"]
    st.subheader(f"{found['kind']} {found['value']}")
    a, b, c, d = st.columns(4)
    a.metric("Score now", f"{score['score']:.1f}", help=f"out of 100, model {score['model']}")
    b.metric("Threshold", f"{score['threshold']:g}")
    c.metric("Sightings", found["sightings"])
    d.metric("Answered by", f"{found['tier']} tier")
    until = score.get("valid_until")
    if until is None:
        crossing = f" The score never reaches {score['threshold']:g}."
    elif until > score["at"]:
        crossing = f" The score falls below {score['threshold']:g} on **{until[:10]}**."
    else:
        crossing = f" The score fell below {score['threshold']:g} on **{until[:10]}**."
    st.markdown(
        f"First seen **{found['first_seen']}**, last seen **{found['last_seen']}**." + crossing
    )
    st.markdown(
        f"Base **{score['base']:.2f}** from {len(score['sources'])} source(s)"
        f" and {score['independent_sightings']} independent sighting(s)"
        f" (boost {score['sighting_boost']:.2f}), decayed over"
        f" **{score['elapsed_days']:.1f}** days since {score['reference_time']}."
    )
    if score["sources"]:
        st.container(key="lookup-explanation").table(explanation(score))
    else:
        st.markdown(
            "No source gave a base score: the model's default base, raised by its sightings."
        )

    curve_model = model_named(score["model"])
    if curve_model is not None:
        st.subheader("How the score decays")
        st.altair_chart(decay_chart(score, curve_model), width="stretch")

    st.subheader("Tied to")
    related = [
        {
            "type": r["object_type"],
            "name": r["name"] or r["id"],
            "relationship": r["type"] if r["outgoing"] else f"{r['type']} (incoming)",
            "via": r["via"] or "",
        }
        for r in found["related"]
        if r["object_type"] != "report"
    ]
    if related:
        st.container(key="lookup-related").table(related)
    else:
        st.markdown("No entity is tied to it by a relationship.")
    st.subheader(f"Named in {len(found['reports'])} report(s)")
    titles: dict[str, str | None] = {}
    if found["reports"]:
        with explained("Reading the reports' titles from the cold tier"):
            titles = reports_titled(cold(), found["reports"])
    st.container(key="lookup-reports").table(
        [{"report": titles.get(r) or r, "id": r} for r in found["reports"]]
    )
    st.markdown("Reported by " + ", ".join(s["name"] for s in found["sources"]) + ".")
