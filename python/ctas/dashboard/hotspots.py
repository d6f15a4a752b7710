"""Hotspots: where the reports of a window are significantly concentrated.

Reports per H3 cell (at the resolution asked; the tiers place them at 7), Getis-Ord Gi*
of those counts among each cell's ring of neighbours (``ctas.getis_ord``, as PySAL's
``G_Local(star=True)``), cells coloured by the significance band of their z-score, and
the hot cells (95 % and above) joined into clusters and outlined. The map draws
hexagons on a plain background: no basemap tiles, so it works with no network."""

from __future__ import annotations

import html
import math
from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np
import pydeck as pdk
import streamlit as st

import ctas
from ctas.dashboard.sources import (
    explained,
    fetch_reports,
    parse_bbox,
    remembered,
    warn_if_cut,
    window,
)


@dataclass(frozen=True)
class Band:
    """A significance band of Gi*'s z-score: two-sided confidence, as ArcGIS's Hot Spot
    Analysis (Getis-Ord Gi*) bins and colours it."""

    label: str
    lowest: float  # the band holds z >= lowest (hot) or z <= -lowest (cold)
    hot: bool
    colour: tuple[int, int, int]


BANDS = (
    Band("Hot spot, 99 % confidence", 2.576, True, (215, 48, 39)),
    Band("Hot spot, 95 % confidence", 1.960, True, (252, 141, 89)),
    Band("Hot spot, 90 % confidence", 1.645, True, (254, 224, 144)),
    Band("Not significant", 0.0, True, (204, 204, 204)),
    Band("Cold spot, 90 % confidence", 1.645, False, (224, 243, 248)),
    Band("Cold spot, 95 % confidence", 1.960, False, (145, 191, 219)),
    Band("Cold spot, 99 % confidence", 2.576, False, (69, 117, 180)),
)
NOT_SIGNIFICANT = BANDS[3]
# Cells at or above this z are joined into outlined clusters (95 % confidence).
CLUSTER_Z = 1.960
# Rows a table shows; the map shows every cell.
SHOWN = 20


def band_of(z: float) -> Band:
    """The band of a z-score (NaN, where Gi* has nothing to compare: not significant)."""
    if math.isnan(z):
        return NOT_SIGNIFICANT
    # The most confident band first: a z of -2.7 is in the cold 99 % band, not the 90 %.
    for band in sorted(BANDS, key=lambda b: -b.lowest):
        if band is not NOT_SIGNIFICANT and (z >= band.lowest if band.hot else z <= -band.lowest):
            return band
    return NOT_SIGNIFICANT


def cells_of(reports: list[dict[str, Any]], resolution: int) -> list[dict[str, Any]]:
    """One row per cell at ``resolution`` holding a located report: the cell (hex, as
    h3-js and h3-pg print it), its reports, z-score, p-value and band; hottest first."""
    placed = [
        ctas.cell_to_parent(int(r["h3_cell"], 16), resolution) for r in reports if r["h3_cell"]
    ]
    if not placed:
        return []
    counts = Counter(placed)
    cells = np.array(sorted(counts), dtype=np.uint64)
    n = np.array([counts[c] for c in cells.tolist()], dtype=np.float64)
    if len(cells) > 1:
        gi = ctas.getis_ord(cells, n, k=1)
        z = dict(zip(gi["cell"].tolist(), gi["z_score"].tolist(), strict=True))
        p = dict(zip(gi["cell"].tolist(), gi["p_value"].tolist(), strict=True))
    else:  # Gi* of one cell compares it with nothing
        z, p = {int(cells[0]): math.nan}, {int(cells[0]): math.nan}
    rows = []
    for cell, count in zip(cells.tolist(), n.tolist(), strict=True):
        band = band_of(z[cell])
        rows.append(
            {
                "cell": format(cell, "x"),
                "reports": int(count),
                "z": z[cell],
                "p": p[cell],
                "band": band.label,
                "colour": list(band.colour),
            }
        )
    rows.sort(key=lambda r: (-(r["z"] if not math.isnan(r["z"]) else -math.inf), r["cell"]))
    return rows


def clusters_of(rows: list[dict[str, Any]]) -> list[ctas.CellCluster]:
    """The hot cells (z at or above :data:`CLUSTER_Z`) joined where they touch."""
    hot = [r for r in rows if not math.isnan(r["z"]) and r["z"] >= CLUSTER_Z]
    if not hot:
        return []
    cells = np.array([int(r["cell"], 16) for r in hot], dtype=np.uint64)
    return ctas.cell_clusters(cells, np.array([float(r["reports"]) for r in hot]))


def view_of(rows: list[dict[str, Any]], width: int = 900, height: int = 520) -> pdk.ViewState:
    """A view that frames every cell in a map of ``width`` × ``height`` pixels (Web
    Mercator: 256 pixels for the world at zoom 0, a degree of latitude 1/cos(lat) times
    a degree of longitude)."""
    points = [ctas.cell_to_latlng(int(r["cell"], 16)) for r in rows]
    lats, lngs = [p[0] for p in points], [p[1] for p in points]
    middle = (max(lats) + min(lats)) / 2
    lng_span = max(max(lngs) - min(lngs), 0.05)
    lat_span = max(max(lats) - min(lats), 0.05) / max(math.cos(math.radians(middle)), 0.1)
    zoom = min(
        math.log2(width * 360 / (256 * lng_span)), math.log2(height * 360 / (256 * lat_span))
    )
    return pdk.ViewState(
        latitude=middle,
        longitude=(max(lngs) + min(lngs)) / 2,
        zoom=max(0.0, min(13.0, zoom - 0.4)),
    )


def legend(rows: list[dict[str, Any]]) -> str:
    """The bands as HTML swatches in a row, each with its number of cells."""
    counts = Counter(r["band"] for r in rows)
    items = "".join(
        f'<span class="ctas-band" style="margin-right:1.2em;white-space:nowrap">'
        f'<span style="display:inline-block;width:0.9em;height:0.9em;background:rgb{band.colour};'
        f'border:1px solid #888;margin-right:0.35em;vertical-align:middle"></span>'
        f"{html.escape(band.label)}: {counts.get(band.label, 0)}</span>"
        for band in BANDS
    )
    return f'<div class="ctas-legend" style="line-height:2">{items}</div>'


def page() -> None:
    st.title("Hotspots")
    st.caption(
        "Reports per H3 cell and the cells where they are significantly concentrated among"
        " their neighbours (Getis-Ord Gi*, the ring of cells around each). Click a cell to"
        " list its reports."
    )
    left, middle, right = st.columns([2, 2, 1])
    with left:
        since, until = window("hotspots-days")
    with middle:
        area = st.text_input("Area: west,south,east,north (empty: everywhere)", key="hotspots-area")
    with right:
        resolution = st.selectbox("H3 resolution", [7, 6, 5, 4, 3], key="hotspots-res")
    try:
        bbox = parse_bbox(area)
    except ValueError as e:
        st.error(f"The area is not understood: {e}. Example: 13.0,52.3,13.8,52.7", icon="⚠️")
        st.stop()

    with explained("Fetching the reports"):
        reports = remembered(
            ("reports", since, until, bbox), lambda: fetch_reports(since, until, bbox)
        )
    warn_if_cut(reports)
    located = [r for r in reports if r["h3_cell"]]
    st.markdown(
        f"**{len(reports):,}** reports from {since:%Y-%m-%d} to"
        f" {until:%Y-%m-%d} (exclusive), **{len(located):,}** of them located."
    )
    rows = cells_of(reports, resolution)
    if not rows:
        st.info("No located report in this window and area: widen the days or the area.")
        return
    clusters = clusters_of(rows)

    layers = [
        pdk.Layer(
            "H3HexagonLayer",
            id="cells",
            data=rows,
            get_hexagon="cell",
            get_fill_color="colour",
            get_line_color=[255, 255, 255],
            line_width_min_pixels=1,
            stroked=True,
            filled=True,
            extruded=False,
            pickable=True,
            auto_highlight=True,
        ),
        pdk.Layer(
            "GeoJsonLayer",
            id="clusters",
            data={
                "type": "FeatureCollection",
                "features": [
                    {"type": "Feature", "geometry": c.outline, "properties": {"cluster": c.id}}
                    for c in clusters
                ],
            },
            stroked=True,
            filled=False,
            get_line_color=[20, 20, 20],
            line_width_min_pixels=3,
            pickable=False,
        ),
    ]
    deck = pdk.Deck(
        layers=layers,
        initial_view_state=view_of(rows),
        map_style=None,
        tooltip={"text": "{cell}\n{reports} reports\n{band}"},
    )
    event = st.pydeck_chart(
        deck, on_select="rerun", selection_mode="single-object", key="hotspots-map", height=520
    )
    st.markdown(legend(rows), unsafe_allow_html=True)
    st.markdown(
        f"**{len(clusters)}** hot cluster(s) of cells at 95 % confidence or more, outlined."
    )

    picked = (event.selection.get("objects") or {}).get("cells") or []
    if picked:
        cell = picked[0]["cell"]
        inside = [
            r
            for r in located
            if ctas.cell_to_parent(int(r["h3_cell"], 16), resolution) == int(cell, 16)
        ]
        st.subheader(f"Reports in cell {cell}")
        st.container(key="hotspots-cell-reports").table(
            [
                {
                    "observed": r["observed_at"],
                    "title": r["title"],
                    "source": r["source"],
                    "indicators": len(r["indicators"]),
                }
                for r in inside[:SHOWN]
            ]
        )
        if len(inside) > SHOWN:
            st.caption(f"the newest {SHOWN} of {len(inside):,}")
    st.subheader("Cells, hottest first")
    st.container(key="hotspots-cells").table(
        [
            {
                "cell": r["cell"],
                "reports": r["reports"],
                "z": "" if math.isnan(r["z"]) else f"{r['z']:.2f}",
                "p": "" if math.isnan(r["p"]) else f"{r['p']:.4f}",
                "band": r["band"],
            }
            for r in rows[:SHOWN]
        ]
    )
    if len(rows) > SHOWN:
        st.caption(f"the {SHOWN} hottest of {len(rows):,} cells")
