"""The dashboard in a real browser (Debian's Chromium driven by Playwright) against a real
ctas-router (sled, SurrealDB, PostgreSQL, Neo4j) holding what the test ingested through
it: a planted hot spot of reports in Berlin among scattered ones, and a Unit 42 STIX
bundle. What each page shows is checked against the router's API, the cold tier's SQL,
Uber's h3 package and PySAL esda's Gi*; the map's canvas must hold the hot spot's colour
and a click on it must list that cell's reports. Screenshots are kept as artefacts in
$CTAS_RUN/logs/test-results/dashboard/."""

from __future__ import annotations

import datetime as dt
import io
import os
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import h3
import numpy as np
import psycopg
import pytest
from esda.getisord import G_Local
from libpysal.weights import W
from PIL import Image
from playwright.sync_api import Page, expect, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from scipy.stats import norm

from conftest import SHARED_DATA, free_port, fresh_database, serve_router
from ctas.client import analyzed_reports, correlated_reports
from ctas.dashboard.hotspots import BANDS, band_of
from ctas.dashboard.reports import LISTED

DATABASE = "ctas_pydashboard"
READ = "dashboard-read-token-0123456789"
WRITE = "dashboard-write-token-0123456789"
CHROMIUM = "/usr/bin/chromium"
# Headless Chromium draws WebGL (the map) only in software: SwiftShader through ANGLE.
CHROMIUM_ARGS = ["--use-angle=swiftshader", "--enable-unsafe-swiftshader", "--no-sandbox"]
HOT_99 = (215, 48, 39)  # the colour of the 99 % hot band
BERLIN = h3.latlng_to_cell(52.52, 13.405, 7)
C2 = "hotspot-c2.top"
ASTAROTH = SHARED_DATA / "stix" / "unit42" / "AstarothMalware.json"
# A page reruns its script on each load; on a busy machine that takes seconds.
expect.set_options(timeout=30_000)
ARTEFACTS = Path(os.environ.get("CTAS_RUN", "/tmp")) / "logs" / "test-results" / "dashboard"


def planted() -> list[dict]:
    """12 reports in Berlin's cell, 6 in each of its neighbours, one in each of 40 cells
    scattered around; seven days, the newest a Berlin one."""
    rng = np.random.default_rng(7)
    records = []

    def at(cell: str, i: int, day: int, value: str, kind: str, text: str) -> dict:
        lat, lng = h3.cell_to_latlng(cell)
        # An id of its own: each sighting is a report of its own, even of one value.
        n = len(records)
        return {
            "id": f"indicator--{uuid.uuid5(uuid.NAMESPACE_URL, f'dashboard-test/{n}')}",
            "kind": kind,
            "value": value,
            "source": "dashboard-test",
            "observed_at": f"2026-11-{16 + day:02d}T{i % 24:02d}:{i % 60:02d}:00Z",
            "lat": lat,
            "lng": lng,
            "description": text,
        }

    for i in range(12):
        text = f"Beacon {i} to {C2.replace('.top', '[.]top')} from an infected host"
        records.append(at(BERLIN, i, i % 6, C2, "domain", text))
    ring = [c for c in h3.grid_disk(BERLIN, 1) if c != BERLIN]
    for j, cell in enumerate(ring):
        for i in range(6):
            value = f"198.51.100.{10 * j + i}"
            records.append(at(cell, i, i % 6, value, "ipv4", f"Scan from {value}"))
    scattered: set[str] = set()
    while len(scattered) < 40:
        cell = h3.latlng_to_cell(rng.uniform(51.9, 53.1), rng.uniform(12.4, 14.4), 7)
        if h3.grid_distance(cell, BERLIN) > 3:
            scattered.add(cell)
    for k, cell in enumerate(sorted(scattered)):
        value = f"203.0.113.{k + 1}"
        records.append(at(cell, k, k % 6, value, "ipv4", f"Scan from {value}"))
    # The newest of all: a Berlin beacon, so the Reports page opens on it.
    records.append(at(BERLIN, 23, 6, C2, "domain", f"Beacon to {C2} again, the newest"))
    return records


SINCE = dt.datetime(2026, 11, 16, tzinfo=dt.UTC)
UNTIL = dt.datetime(2026, 11, 23, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def router(tmp_path_factory):
    # The Reports page analyses and correlates with the extension's functions.
    dsn = fresh_database(DATABASE, extension=True)
    data = tmp_path_factory.mktemp("router")
    env = {**os.environ, "CTAS_PG_DSN": dsn, "CTAS_READ_TOKENS": READ, "CTAS_WRITE_TOKENS": WRITE}
    proc, client, log = serve_router(data, env, WRITE)
    client.ingest(planted())
    client.ingest(ASTAROTH)
    client.wait_synced(120)
    client.dsn = dsn
    yield client
    proc.terminate()
    assert proc.wait(30) == 0, (data / "router.log").read_text()
    log.close()


def serve_dashboard(env: dict[str, str], log: Path) -> tuple[subprocess.Popen, str]:
    """``python -m ctas.dashboard`` on a free port, once Streamlit says it is healthy."""
    port = free_port()
    out = log.open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "ctas.dashboard", "--port", str(port)],
        env=env,
        stdout=out,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as answer:
                if answer.read() == b"ok":
                    return proc, url
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail("the dashboard did not start:\n" + log.read_text())
        time.sleep(0.3)


@pytest.fixture(scope="module")
def dashboard(router, tmp_path_factory):
    env = {**os.environ, "CTAS_URL": router.url, "CTAS_TOKEN": READ, "CTAS_PG_DSN": router.dsn}
    log = tmp_path_factory.mktemp("dashboard") / "streamlit.log"
    proc, url = serve_dashboard(env, log)
    yield url
    proc.terminate()
    proc.wait(30)


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: scripts/install.sh installs Debian's chromium")
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, request):
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, device_scale_factor=1)
    tab = context.new_page()
    tab.set_default_timeout(60_000)
    yield tab
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    tab.screenshot(path=ARTEFACTS / f"{request.node.name}.png", full_page=True)
    context.close()


def rows(page: Page, key: str) -> list[dict[str, str]]:
    """The rows of the table in the container ``key``, as {header: text}."""
    table = page.locator(f".st-key-{key} table")
    expect(table).to_be_visible()
    headers = [h.strip() for h in table.locator("thead th").all_inner_texts()]
    found = []
    for tr in table.locator("tbody tr").all():
        cells = [c.strip() for c in tr.locator("th, td").all_inner_texts()]
        found.append(dict(zip(headers[-len(cells) :], cells, strict=True)))
    return found


def hot_pixels(page: Page) -> tuple[np.ndarray, Image.Image]:
    """Where the map's canvas has the 99 % hot colour (as (y, x)), once it has any."""
    canvas = page.locator('[data-testid="stDeckGlJsonChart"] canvas').first
    expect(canvas).to_be_visible()
    deadline = time.monotonic() + 30
    while True:
        shot = Image.open(io.BytesIO(canvas.screenshot())).convert("RGB")
        pixels = np.asarray(shot).astype(int)
        near = np.abs(pixels - np.array(HOT_99)).sum(axis=2) <= 12
        if near.sum() > 50 or time.monotonic() > deadline:
            return np.argwhere(near), shot
        time.sleep(0.5)


def esda_z(counts: dict[str, int]) -> dict[str, float]:
    """PySAL esda's Gi* (binary weights, the ring of present cells around each)."""
    present = set(counts)
    neighbours = {c: [n for n in h3.grid_disk(c, 1) if n in present and n != c] for c in counts}
    w = W(neighbours, silence_warnings=True)
    y = np.array([float(counts[c]) for c in w.id_order])
    g = G_Local(y, w, transform="B", star=True, permutations=0)
    return dict(zip(w.id_order, g.Zs, strict=True))


def test_hotspots_map_cells_and_a_click(router, dashboard, page):
    page.goto(dashboard)
    expect(page.get_by_role("heading", name="Hotspots")).to_be_visible()
    reports = router.reports(since=SINCE, until=UNTIL)
    located = [r for r in reports if r["lat"] is not None]
    window = f"{len(reports):,} reports from 2026-11-16 to 2026-11-23"
    expect(page.get_by_text(window)).to_be_visible()
    expect(page.get_by_text(f"{len(located):,} of them located")).to_be_visible()

    # Each cell's count from the reports' places (h3's own cell), Gi* from esda.
    counts: dict[str, int] = {}
    for r in located:
        cell = h3.latlng_to_cell(r["lat"], r["lng"], 7)
        counts[cell] = counts.get(cell, 0) + 1
    z = esda_z(counts)
    shown = rows(page, "hotspots-cells")
    assert shown[0]["cell"] == BERLIN and shown[0]["reports"] == str(counts[BERLIN])
    assert shown[0]["band"] == "Hot spot, 99 % confidence"
    for row in shown:
        assert int(row["reports"]) == counts[row["cell"]], row
        assert float(row["z"]) == pytest.approx(z[row["cell"]], abs=0.005), row
    hottest = sorted(z.values(), reverse=True)[: len(shown)]
    assert [float(r["z"]) for r in shown] == pytest.approx(hottest, abs=0.005)
    expect(page.get_by_text("1 hot cluster(s) of cells")).to_be_visible()

    # The map is drawn: the canvas has the hot band's colour; a click on it lists the
    # reports of the cell clicked, as the router answers them by that cell.
    where, shot = hot_pixels(page)
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=ARTEFACTS / "hotspots.png")
    shot.save(ARTEFACTS / "hotspots-canvas.png")
    assert len(where) > 50, "the map's canvas has no pixel of the hot spot's colour"
    # The hot pixel nearest the middle of them all: inside a hexagon, not on an outline.
    y, x = where[np.abs(where - np.median(where, axis=0)).sum(axis=1).argmin()]
    canvas = page.locator('[data-testid="stDeckGlJsonChart"] canvas').first
    box = canvas.bounding_box()
    # deck.gl's view sits over the canvas and takes the pointer: click the page there.
    heading = page.get_by_role("heading", name="Reports in cell")
    # On a loaded machine deck.gl may take the first click before its picking is ready:
    # click again, a few times, until the page lists the cell.
    for _ in range(5):
        page.mouse.click(box["x"] + float(x), box["y"] + float(y))
        try:
            heading.wait_for(timeout=10_000)
            break
        except PlaywrightTimeout:
            continue
    expect(heading).to_be_visible()
    cell = heading.inner_text().split()[-1]
    assert z[cell] >= 2.576, f"clicked {cell}, not a 99 % hot cell"
    in_cell = router.reports(h3=cell, since=SINCE, until=UNTIL)
    listed = rows(page, "hotspots-cell-reports")
    assert len(listed) == len(in_cell) == counts[cell]
    assert [r["title"] for r in listed] == [r["title"] for r in in_cell]


def test_lookup_explains_and_draws_the_decay(router, dashboard, page):
    page.goto(f"{dashboard}/lookup")
    expect(page.get_by_role("heading", name="Lookup")).to_be_visible()
    field = page.get_by_label("Indicator")
    field.fill("HOTSPOT-C2[.]top")  # as an analyst pastes it: defanged, in capitals
    field.press("Enter")
    expect(page.get_by_text("Score now")).to_be_visible()
    found = router.lookup(C2)
    score = found["score"]
    metric = page.locator('[data-testid="stMetricValue"]').first
    assert metric.inner_text() == f"{score['score']:.1f}"
    expect(page.get_by_role("heading", name=f"domain {C2}")).to_be_visible()
    crossing = dt.datetime.fromisoformat(score["valid_until"]).date().isoformat()
    expect(page.get_by_text(f"falls below {score['threshold']:g} on {crossing}")).to_be_visible()
    sources = rows(page, "lookup-explanation")
    assert [s["source"] for s in sources] == [s["source"] for s in score["sources"]]
    assert [s["contribution"] for s in sources] == [
        f"{s['contribution']:.2f}" for s in score["sources"]
    ]
    # The decay curve is drawn (Vega renders it into a canvas or an SVG).
    chart = page.locator('[data-testid="stVegaLiteChart"]').first
    expect(chart).to_be_visible()
    reports = rows(page, "lookup-reports")
    assert sorted(r["id"] for r in reports) == sorted(found["reports"])


def test_lookup_shows_the_entities_an_indicator_is_tied_to(router, dashboard, page):
    tied = None
    for values in router.reports(since=dt.datetime(2022, 9, 1, tzinfo=dt.UTC), until=SINCE):
        for indicator in values["indicators"]:
            found = router.lookup(indicator["value"])
            named = [r for r in found["related"] if r["object_type"] != "report" and r["name"]]
            if named:
                tied = (found, named)
                break
        if tied:
            break
    assert tied, "the Astaroth bundle ties no indicator to a named entity"
    found, named = tied
    page.goto(f"{dashboard}/lookup?value={found['value']}")
    shown = rows(page, "lookup-related")
    assert {r["name"] for r in shown} >= {r["name"] for r in named}


def test_reports_mark_indicators_and_rank_correlations(router, dashboard, page):
    page.goto(f"{dashboard}/reports")
    expect(page.get_by_role("heading", name="Reports", exact=True)).to_be_visible()
    newest = router.reports(since=SINCE, until=UNTIL, page=1)[0]
    everything = router.reports(since=SINCE, until=UNTIL)
    expect(page.get_by_text(f"{len(everything)} reports from")).to_be_visible()
    expect(page.get_by_text(f"the newest {LISTED} listed")).to_be_visible()
    listed = rows(page, "reports-list")
    assert [r["title"] for r in listed] == [r["title"] for r in everything[:LISTED]]
    assert listed[0]["title"] == newest["title"]
    with psycopg.connect(router.dsn) as conn:
        analyses = analyzed_reports(conn, [r["id"] for r in everything[:LISTED]])
    assert [r["severity"] for r in listed] == [
        analyses[r["id"]]["severity"] for r in everything[:LISTED]
    ]
    # The newest report is open: its indicator marked where the text names it.
    marks = page.locator(".ctas-report-text mark")
    expect(marks.first).to_be_visible()
    assert marks.all_inner_texts() == [C2]
    assert marks.first.get_attribute("title") == f"domain: {C2}"
    with psycopg.connect(router.dsn) as conn:
        ties = correlated_reports(conn, newest["id"])
    shown = rows(page, "reports-correlated")
    assert len(shown) == len(ties) == 12
    assert [r["weight"] for r in shown] == [f"{t.weight:.2f}" for t in ties]
    marks.first.scroll_into_view_if_needed()  # the screenshot shows the text


def test_operations_show_each_tier(router, dashboard, page):
    page.goto(f"{dashboard}/operations")
    expect(page.get_by_text("Ready: every required tier answers.")).to_be_visible()
    status = router.status()
    shown = {r["tier"]: r for r in rows(page, "operations-tiers")}
    assert list(shown) == ["hot", "warm", "cold", "graph"]
    for tier, row in shown.items():
        held = status["tiers"][tier]
        assert row["records"] == ("" if held["records"] is None else f"{held['records']:,}")
        assert row["state"].startswith("up"), row
        if tier != "hot":
            assert row["outbox"] == "0" and row["dead letters"] == "0", row


def test_a_router_that_does_not_answer_is_named_not_a_stack_trace(tmp_path, browser):
    port = free_port()  # nothing listens there
    env = {**os.environ, "CTAS_URL": f"http://127.0.0.1:{port}"}
    proc, url = serve_dashboard(env, tmp_path / "streamlit.log")
    try:
        tab = browser.new_page()
        tab.goto(url)
        expect(tab.get_by_text(f"no ctas-router answers at http://127.0.0.1:{port}")).to_be_visible(
            timeout=60_000
        )
        expect(tab.get_by_text("Check that the router runs")).to_be_visible()
        assert "Traceback" not in tab.content()
        ARTEFACTS.mkdir(parents=True, exist_ok=True)
        tab.screenshot(path=ARTEFACTS / "router-down.png")
    finally:
        proc.terminate()
        proc.wait(30)


@pytest.mark.parametrize(("confidence", "hot", "cold"), [(0.90, 2, 4), (0.95, 1, 5), (0.99, 0, 6)])
def test_bands_are_two_sided_confidence_of_the_normal(confidence, hot, cold):
    # The z that leaves (1 - confidence) / 2 in each tail, from scipy's normal.
    z = norm.ppf(1 - (1 - confidence) / 2)
    assert band_of(z + 0.001) is BANDS[hot] and band_of(-z - 0.001) is BANDS[cold]
    inner = band_of(z - 0.001)
    assert inner is not BANDS[hot] and inner.hot
    assert f"{confidence:.0%}".replace("%", " %") in BANDS[hot].label
