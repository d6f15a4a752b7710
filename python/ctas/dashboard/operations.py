"""Operations: each tier's state and what it holds, what waits to reach it (the outbox's
depth and the age of its oldest entry) and what failed (dead letters, last error): the
router's ``/readyz``, ``/v1/status`` and ``/metrics``."""

from __future__ import annotations

from typing import Any

import streamlit as st

from ctas.dashboard.sources import explained, router

TIERS = ("hot", "warm", "cold", "graph")


def tiers(
    ready: dict[str, Any], status: dict[str, Any], samples: list[tuple[str, dict, float]]
) -> list[dict[str, Any]]:
    """One row per tier from the router's three answers."""
    by_tier: dict[str, dict[str, float]] = {}
    for name, labels, value in samples:
        if "tier" in labels:
            by_tier.setdefault(labels["tier"], {})[name] = value
    rows = []
    for tier in TIERS:
        held = status["tiers"][tier]
        state = ready["tiers"].get(tier, {})
        metric = by_tier.get(tier, {})
        if held.get("off") or state.get("off"):
            shown = "off"
        elif tier == "hot":
            shown = "up"
        else:
            shown = "up" if state.get("up") else "down"
        lag = metric.get("ctas_outbox_lag_seconds")
        size = metric.get("ctas_store_size_bytes")
        rows.append(
            {
                "tier": tier,
                "state": shown + (" (required)" if state.get("required") else ""),
                "records": "" if held.get("records") is None else f"{held['records']:,}",
                "outbox": "" if tier == "hot" else f"{held['pending']:,}",
                "lag (s)": "" if lag is None else f"{lag:.1f}",
                "dead letters": "" if tier == "hot" else f"{held['dead_letters']:,}",
                "store (MiB)": "" if size is None else f"{size / 2**20:.1f}",
                "last error": held.get("last_error")
                or held.get("error")
                or state.get("error")
                or "",
            }
        )
    return rows


def page() -> None:
    st.title("Operations")
    st.caption(f"The router at {router().url}: each tier now.")
    st.button("Refresh")
    with explained("Asking the router for its state"):
        ready = router().ready()
        status = router().status()
        samples = router().metrics()
    if ready["ready"]:
        st.success("Ready: every required tier answers.")
    else:
        st.error(f"Not ready: {ready.get('detail', 'a required tier is down')}", icon="⚠️")
    st.markdown(
        "Every tier holds what was acknowledged."
        if status["synced"]
        else "Some acknowledged records are still on their way to a tier (outbox)."
    )
    st.container(key="operations-tiers").table(tiers(ready, status, samples))
