"""The workloads of ``python -m ctas.bench``: each times the Python baseline, the best
Python peer and the Rust core (``ctas``) on the same input in the same run, and checks
that their answers match.

Peers are imported when a workload runs; a missing one is named with the command that
installs it (``pip install './python[bench]'``), never skipped in silence.
"""

from __future__ import annotations

import importlib
import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

import ctas
from ctas.bench import corpus
from ctas.reference import score as ref


@dataclass
class Result:
    """One workload's row: seconds of each path, ratios to the Rust path, and whether
    the answers match (``detail`` says how that was judged)."""

    workload: str
    size: str
    python: str
    python_s: float
    peer: str | None
    peer_s: float | None
    rust_s: float
    match: bool
    detail: str
    ratio: float = field(init=False)
    peer_ratio: float | None = field(init=False)

    def __post_init__(self) -> None:
        self.ratio = self.python_s / self.rust_s
        self.peer_ratio = None if self.peer_s is None else self.peer_s / self.rust_s

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def goal(self) -> bool:
        """The issue's goal: 20 times the baseline, and ahead of the best peer."""
        return self.ratio >= 20 and (self.peer_ratio is None or self.peer_ratio > 1)


class PeerMissing(RuntimeError):
    """A peer library is not installed."""


class NotRun(RuntimeError):
    """A workload whose service is not running (the database workload without a router
    or a database): the table says so, with the reason."""


def need(module: str, package: str):
    try:
        return importlib.import_module(module)
    except ImportError as e:
        raise PeerMissing(
            f"the peer {package} is not installed: pip install './python[bench]' ({e})"
        ) from e


def timed(f: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = f()
    return time.perf_counter() - start, result


# --- scoring ------------------------------------------------------------------------


def scoring(quick: bool) -> Result:
    """Decay of a million (base, elapsed) rows on MISP's curve: the specification's
    formula in a Python loop, numpy's vectorised formula, ``ctas.decay`` on arrays."""
    n = 100_000 if quick else 1_000_000
    rng = np.random.default_rng(1)
    base, elapsed = rng.uniform(0, 100, n), rng.uniform(-5, 200, n)
    lifetime, speed = 120.0, 2.0
    py_s, py = timed(
        lambda: [
            ref.decay(b, t, lifetime, speed)
            for b, t in zip(base.tolist(), elapsed.tolist(), strict=True)
        ]
    )

    def vectorised():
        frac = np.clip(elapsed / lifetime, 0, None)
        return np.where(frac >= 1, 0.0, np.maximum(0.0, base * (1 - frac ** (1 / speed))))

    np_s, by_numpy = timed(vectorised)
    rust_s, rust = timed(lambda: ctas.decay(base, elapsed, lifetime, speed))
    worst = max(np.abs(rust - np.array(py)).max(), np.abs(rust - by_numpy).max())
    return Result(
        "scoring",
        f"{n:,} rows",
        "reference loop",
        py_s,
        "numpy",
        np_s,
        rust_s,
        bool(worst < 1e-9),
        f"largest difference {worst:.1e}",
    )


# --- geospatial ---------------------------------------------------------------------


def cells(quick: bool) -> Result:
    """The H3 cell of a million points: the ``h3`` package point by point (its API has
    no array form), ``ctas.latlng_to_cells`` on arrays."""
    h3 = need("h3", "h3")
    n = 100_000 if quick else 1_000_000
    rng = np.random.default_rng(2)
    lats, lngs = rng.uniform(-80, 80, n), rng.uniform(-180, 180, n)
    py_s, by_h3 = timed(
        lambda: [
            h3.str_to_int(h3.latlng_to_cell(a, b, 9))
            for a, b in zip(lats.tolist(), lngs.tolist(), strict=True)
        ]
    )
    rust_s, rust = timed(lambda: ctas.latlng_to_cells(lats, lngs, 9))
    same = int((rust == np.array(by_h3, dtype=np.uint64)).sum())
    return Result(
        "geospatial: cells",
        f"{n:,} points",
        "h3 per point",
        py_s,
        None,
        None,
        rust_s,
        same == n,
        f"{same:,} of {n:,} cells equal",
    )


def hotspots(quick: bool) -> Result:
    """Gi* of 100,000 cells with their k-ring: PySAL esda's ``G_Local(star=True)`` with
    libpysal weights built from the same cells, and ``ctas.getis_ord``."""
    h3 = need("h3", "h3")
    need("esda", "esda")
    from esda.getisord import G_Local
    from libpysal.weights import W

    target = 10_000 if quick else 100_000
    k = 1
    while 3 * k * (k + 1) + 1 < target:
        k += 1
    disk = h3.grid_disk(h3.latlng_to_cell(48.8566, 2.3522, 9), k)[:target]
    rng = random.Random(7)
    values = [rng.expovariate(0.2) for _ in disk]

    def esda():
        present = set(disk)
        nb = {c: [x for x in h3.grid_disk(c, 1) if x in present and x != c] for c in disk}
        w = W(nb, silence_warnings=True)
        order = {c: i for i, c in enumerate(disk)}
        g = G_Local(
            np.array([values[order[c]] for c in w.id_order]),
            w,
            transform="B",
            star=True,
            permutations=0,
        )
        return dict(zip(w.id_order, g.Zs, strict=True))

    py_s, by_esda = timed(esda)
    ints = np.array([h3.str_to_int(c) for c in disk], dtype=np.uint64)
    rust_s, rust = timed(lambda: ctas.getis_ord(ints, values, 1))
    want = np.array([by_esda[c] for c in disk])
    worst = float(np.abs(rust["z_score"] - want).max())
    return Result(
        "geospatial: Gi*",
        f"{len(disk):,} cells",
        "esda (weights + G_Local)",
        py_s,
        None,
        None,
        rust_s,
        worst < 1e-9,
        f"largest z difference {worst:.1e}",
    )


def dbscan(quick: bool) -> Result:
    """DBSCAN of 100,000 points with eps in metres: scikit-learn's with the haversine
    metric on a ball tree, and ``ctas.dbscan``. The same noise and the same clusters of
    core points match (a border point within reach of two clusters may join either)."""
    need("sklearn", "scikit-learn")
    from sklearn.cluster import DBSCAN

    n = 20_000 if quick else 100_000
    rng = np.random.default_rng(3)
    centres = rng.uniform([48.6, 2.0], [49.1, 2.7], (60, 2))
    per = int(n * 0.8) // len(centres)
    pts = np.vstack(
        [c + rng.normal(0, 0.004, (per, 2)) for c in centres]
        + [rng.uniform([48.6, 2.0], [49.1, 2.7], (n - per * len(centres), 2))]
    )
    eps, min_points = 150.0, 8
    model = DBSCAN(
        eps=eps / 6371008.8, min_samples=min_points, metric="haversine", algorithm="ball_tree"
    )
    py_s, fitted = timed(lambda: model.fit(np.radians(pts)))
    rust_s, rust = timed(lambda: ctas.dbscan(pts[:, 0], pts[:, 1], eps, min_points))
    want = fitted.labels_
    same_noise = bool(np.array_equal(rust == -1, want == -1))
    core = fitted.core_sample_indices_
    pairs = set(zip(rust[core].tolist(), want[core].tolist(), strict=True))
    same_core = len(pairs) == len({a for a, _ in pairs}) == len({b for _, b in pairs})
    return Result(
        "geospatial: DBSCAN",
        f"{len(pts):,} points",
        "scikit-learn (haversine)",
        py_s,
        None,
        None,
        rust_s,
        same_noise and same_core,
        f"{len(set(want.tolist())) - 1} clusters; noise {'equal' if same_noise else 'differs'},"
        f" core partition {'equal' if same_core else 'differs'}",
    )


# --- indicators and reports ---------------------------------------------------------

# The kinds planted on their own in the generated reports (``corpus.labelled``), whose
# truth is known: recall and wrong finds are counted on them.
COMPARED = ("ipv4", "md5", "sha1", "sha256")


def _iocextract_values(iocextract, text: str) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {k: set() for k in COMPARED}
    found["ipv4"].update(iocextract.extract_ipv4s(text, refang=True))
    for h in iocextract.extract_hashes(text):
        kind = {32: "md5", 40: "sha1", 64: "sha256"}.get(len(h))
        if kind:
            found[kind].add(h.lower())
    return found


def _finder_values(finder, text: str) -> dict[str, set[str]]:
    got = finder.find_iocs(text)
    return {k: {v.lower() for v in got.get(k + "s", [])} for k in COMPARED}


def _ctas_values(iocs) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {k: set() for k in COMPARED}
    for kind, value in iocs:
        if kind in found:
            found[kind].add(value)
    return found


def _accuracy(found: list[dict[str, set[str]]], truth: list[dict[str, set[str]]]):
    """(recall, wrong finds) over the planted kinds: a wrong find is a value of those
    kinds that was not planted on its own (a CIDR block's address, a version string)."""
    hit = sum(len(f[k] & t[k]) for f, t in zip(found, truth, strict=True) for k in COMPARED)
    planted = sum(len(t[k]) for t in truth for k in COMPARED)
    wrong = sum(len(f[k] - t[k]) for f, t in zip(found, truth, strict=True) for k in COMPARED)
    return hit / planted, wrong


def _accurate(recall: float, wrong: int) -> bool:
    return recall == 1.0 and wrong == 0


def extraction(quick: bool) -> Result:
    """IOC extraction from 10 MB of generated reports (``ctas.bench.corpus``): iocextract
    (the common baseline), ioc-finder (the most complete peer), ``ctas.extract_iocs``.
    Match: every IPv4 address and hash planted on its own found, and none that was not
    (accuracy on real vendor reports is ``make bench-ioc-accuracy``'s)."""
    iocextract = need("iocextract", "iocextract")
    finder = need("ioc_finder", "ioc-finder")
    labelled = corpus.labelled(1 if quick else 10)
    reports, truth = [r for r, _ in labelled], [t for _, t in labelled]
    megabytes = sum(len(r.encode()) for r in reports) / 1e6
    py_s, by_iocextract = timed(lambda: [_iocextract_values(iocextract, r) for r in reports])
    peer_s, by_finder = timed(lambda: [_finder_values(finder, r) for r in reports])
    rust_s, rust = timed(lambda: [ctas.extract_iocs(r) for r in reports])
    mine = _accuracy([_ctas_values((i.kind, i.value) for i in x) for x in rust], truth)
    theirs = _accuracy(by_iocextract, truth)
    finders = _accuracy(by_finder, truth)
    return Result(
        "IOC extraction",
        f"{megabytes:.1f} MB",
        "iocextract",
        py_s,
        "ioc-finder",
        peer_s,
        rust_s,
        _accurate(*mine),
        "recall of planted IPv4/hashes and wrong finds: "
        f"ctas {mine[0]:.3f}/{mine[1]}, iocextract {theirs[0]:.3f}/{theirs[1]},"
        f" ioc-finder {finders[0]:.3f}/{finders[1]}",
    )


def _reports(n: int) -> list[tuple[dict[str, Any], dict[str, set[str]]]]:
    """n reports with a place and a time, each with its planted truth."""
    rng = random.Random(11)
    labelled = corpus.labelled(n * 600 / 1e6)
    t0 = datetime(2026, 10, 1, tzinfo=UTC)
    out = []
    for i in range(n):
        text, truth = labelled[i % len(labelled)]
        report = {
            "text": text,
            "lat": rng.uniform(-60, 70),
            "lng": rng.uniform(-180, 180),
            "observed_at": (t0 + timedelta(minutes=rng.randint(0, 60 * 24 * 60))).isoformat(),
        }
        out.append((report, truth))
    return out


def threat_processing(quick: bool) -> Result:
    """Analysis of 10,000 reports — indicators, H3 cell, decayed score: a Python pipeline
    of the peers (iocextract, h3, the specification's decay) against ``ctas.analyze``.
    Match: the cells and scores equal, every planted IPv4 address and hash found and
    none that was not."""
    iocextract = need("iocextract", "iocextract")
    h3 = need("h3", "h3")
    n = 1_000 if quick else 10_000
    labelled = _reports(n)
    reports, truth = [r for r, _ in labelled], [t for _, t in labelled]
    at = datetime(2026, 12, 1, tzinfo=UTC)
    model = next(m for m in ctas.decay_models() if m["name"] == "ctas:admiralty")
    lifetime, speed = model["curve"]["lifetime_days"], model["curve"]["speed"]
    base = model["default_base_score"]

    def pipeline():
        out = []
        for r in reports:
            elapsed = (at - datetime.fromisoformat(r["observed_at"])) / timedelta(days=1)
            out.append(
                (
                    _iocextract_values(iocextract, r["text"]),
                    h3.latlng_to_cell(r["lat"], r["lng"], 7),
                    ref.decay(base, elapsed, lifetime, speed),
                )
            )
        return out

    py_s, by_python = timed(pipeline)
    rust_s, rust = timed(lambda: [ctas.analyze(r, at=at) for r in reports])
    cells_equal = all(a["h3_cell"] == p[1] for a, p in zip(rust, by_python, strict=True))
    worst = max(abs(a["score"]["score"] - p[2]) for a, p in zip(rust, by_python, strict=True))
    mine = _accuracy(
        [_ctas_values((i["kind"], i["value"]) for i in a["iocs"]) for a in rust], truth
    )
    theirs = _accuracy([p[0] for p in by_python], truth)
    return Result(
        "threat processing",
        f"{n:,} reports",
        "iocextract + h3 + decay",
        py_s,
        None,
        None,
        rust_s,
        cells_equal and worst < 1e-9 and _accurate(*mine),
        f"cells {'equal' if cells_equal else 'differ'}, largest score difference {worst:.1e},"
        f" recall/wrong finds ctas {mine[0]:.3f}/{mine[1]},"
        f" iocextract {theirs[0]:.3f}/{theirs[1]}",
    )


def _services():
    """The router (``CTAS_URL``) and the database (``CTAS_PG_DSN``) the database
    workloads use; NotRun naming the one that does not answer."""
    from ctas.router import Router, RouterUnavailable

    router = Router()
    try:
        router.status()
    except RouterUnavailable as e:
        raise NotRun(str(e)) from None
    psycopg = need("psycopg", "psycopg")
    try:
        conn = ctas.connect(autocommit=True)
    except psycopg.OperationalError as e:
        raise NotRun(f"no database: {str(e).strip()}") from None
    return router, conn


def database(quick: bool) -> Result:
    """Indicator lookups, 10,000 values of which half are known: through ctas-router's
    hot tier (``POST /v1/indicators/lookup``, ``CTAS_URL``) against the cold tier through
    psycopg (``SELECT … FROM ctas.indicators WHERE value = ANY(…)``, ``CTAS_PG_DSN``).
    Ingests the known half first through the router (source ``ctas-bench``). Runs when
    both answer; the table says why not otherwise."""
    router, conn = _services()
    n = 1_000 if quick else 10_000
    values = [f"bench-{i:05d}.ctas-bench.top" for i in range(n)]
    known = values[::2]
    for start in range(0, len(known), 5_000):
        router.ingest(
            [
                {"kind": "domain", "value": v, "source": "ctas-bench"}
                for v in known[start : start + 5_000]
            ]
        )
    router.wait_synced(600)
    with conn:
        py_s, rows = timed(
            lambda: conn.execute(
                "SELECT value FROM ctas.indicators WHERE kind = 'domain' AND value = ANY(%s)",
                (values,),
            ).fetchall()
        )
    rust_s, answers = timed(lambda: router.lookup_many(values))
    by_sql = {r[0] for r in rows}
    by_router = {a["value"] for a in answers if a["found"]}
    return Result(
        "database: lookups",
        f"{n:,} values",
        "psycopg, cold tier (= ANY)",
        py_s,
        None,
        None,
        rust_s,
        by_sql == by_router == set(known),
        f"{len(by_router):,} known through the router, {len(by_sql):,} in the cold tier",
    )


def ingest(quick: bool) -> Result:
    """Durable ingest of 10,000 flat records, 5,000 a request: through ctas-router
    (``POST /v1/ingest``: validated, routed, and acknowledged once in the hot tier's log
    on disk) against psycopg's ``COPY`` of the same rows into a table of the cold tier's
    database, committed (the plainest durable write PostgreSQL has). Both hold every
    record after: the router answers each by lookup, the table counts them."""
    router, conn = _services()
    n = 1_000 if quick else 10_000
    run = f"{random.getrandbits(32):08x}"
    seen = datetime(2026, 11, 1, tzinfo=UTC)
    records = [
        {
            "kind": "domain",
            "value": f"ingest-{run}-{i:05d}.ctas-bench.top",
            "source": "ctas-bench",
            "observed_at": (seen + timedelta(seconds=i)).isoformat(),
        }
        for i in range(n)
    ]
    with conn:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS ctas_bench_ingest"
            " (kind text, value text, source text, observed_at timestamptz)"
        )
        conn.execute("TRUNCATE ctas_bench_ingest")

        def copy() -> None:
            with conn.transaction(), conn.cursor() as cur:
                with cur.copy(
                    "COPY ctas_bench_ingest (kind, value, source, observed_at) FROM STDIN"
                ) as c:
                    for r in records:
                        c.write_row((r["kind"], r["value"], r["source"], r["observed_at"]))

        py_s, _ = timed(copy)
        copied = conn.execute("SELECT count(*) FROM ctas_bench_ingest").fetchone()[0]
        conn.execute("DROP TABLE ctas_bench_ingest")

    def through_router() -> int:
        return sum(router.ingest(records[i : i + 5_000])["accepted"] for i in range(0, n, 5_000))

    rust_s, accepted = timed(through_router)
    values = [r["value"] for r in records]
    known = sum(a["found"] for a in router.lookup_many(values))
    return Result(
        "database: ingest",
        f"{n:,} records",
        "psycopg, COPY into a table",
        py_s,
        None,
        None,
        rust_s,
        copied == accepted == known == n,
        f"{accepted:,} acknowledged by the router and {known:,} found by lookup, {copied:,} copied",
    )


WORKLOADS: dict[str, Callable[[bool], Result]] = {
    "threat": threat_processing,
    "ioc": extraction,
    "scoring": scoring,
    "cells": cells,
    "hotspots": hotspots,
    "dbscan": dbscan,
    "database": database,
    "ingest": ingest,
}
