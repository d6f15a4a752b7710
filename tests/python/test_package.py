"""The core as a Python package (``import ctas``, no database), checked three ways: against
the extension's SQL on the same input (one core, two faces: the same answers), against
others' code (the ``h3`` package, PySAL esda, scikit-learn, ``stix2``, statsmodels) or a
published formula, and for what a Python user meets: errors naming the argument, the
GIL released, types as the stubs say."""

import ast
import datetime as dt
import inspect
import math
import random
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import h3
import iocextract
import numpy as np
import psycopg
import pytest
from esda.getisord import G_Local
from hypothesis import given, settings
from hypothesis import strategies as st
from libpysal.weights import W
from sklearn.cluster import DBSCAN
from statsmodels.tsa.seasonal import STL

import ctas
from ctas.reference import score as ref
from test_ids import stix2_id

ROOT = Path(__file__).resolve().parents[2]
UTC = dt.UTC

# --- the package itself -------------------------------------------------------------


def stub_functions():
    tree = ast.parse((ROOT / "python/ctas/_core.pyi").read_text())
    out = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            out[node.name] = node
        elif isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, ast.FunctionDef):
                    out[f"{node.name}.{item.name}"] = item
    return out


def parameters(fn):
    return [
        (p.name, None if p.default is inspect.Parameter.empty else p.default)
        for p in inspect.signature(fn).parameters.values()
    ]


def stub_parameters(node):
    defaults = [None] * (len(node.args.args) - len(node.args.defaults)) + [
        ast.literal_eval(d) for d in node.args.defaults
    ]
    return [(a.arg, d) for a, d in zip(node.args.args, defaults, strict=True)]


def test_the_stubs_name_every_function_and_parameter_the_module_has():
    stubs = stub_functions()
    module = {
        name: obj
        for name, obj in vars(ctas._core).items()
        if callable(obj) and not name.startswith("_") and not isinstance(obj, type)
    }
    assert set(module) == {n for n in stubs if "." not in n}
    for name, fn in module.items():
        assert parameters(fn) == stub_parameters(stubs[name]), name
    # Methods and constructors too (pyo3 writes self as positional-only).
    for name, node in stubs.items():
        if "." not in name:
            continue
        cls, method = name.split(".")
        if method == "__init__":
            assert [("self", None), *parameters(getattr(ctas, cls))] == stub_parameters(node), name
        elif not method.startswith("__"):
            assert parameters(getattr(getattr(ctas, cls), method)) == stub_parameters(node), name


def test_every_name_the_package_exports_exists():
    for name in ctas.__all__:
        assert getattr(ctas, name) is not None, name
    assert ctas.__version__ == ctas._core.__version__


def test_import_ctas_needs_no_database_client():
    # psycopg made unimportable: the core still works, and the client says what is missing.
    code = (
        "import sys; sys.modules['psycopg'] = None\n"
        "import ctas\n"
        "assert [i.value for i in ctas.extract_iocs('see evil[.]com')] == ['evil.com']\n"
        "try:\n    ctas.connect\nexcept ImportError as e:\n    print('ImportError', e)\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert run.stdout.startswith("ImportError ctas.connect needs psycopg")


def test_long_work_releases_the_gil():
    # While the cells of two million points are computed (about a second) in this thread,
    # another keeps running Python; holding the GIL, the core would stop it (no bytecode
    # runs meanwhile, so Python never takes the GIL back).
    rng = np.random.default_rng(1)
    lats, lngs = rng.uniform(48, 49, 2_000_000), rng.uniform(2, 3, 2_000_000)
    ticks = []
    started, done = threading.Event(), threading.Event()

    def tick():
        started.set()
        while not done.is_set():
            ticks.append(1)
            time.sleep(0.001)

    t = threading.Thread(target=tick)
    t.start()
    started.wait()
    before = len(ticks)
    ctas.latlng_to_cells(lats, lngs, 9)
    during = len(ticks) - before
    done.set()
    t.join()
    assert during >= 20


def test_ctrl_c_stops_long_work_part_way():
    # Twenty million points take seconds; SIGINT a moment after the call starts ends it
    # with KeyboardInterrupt, as any Python loop would, rather than after the work.
    # Python leaves SIGINT ignored when it starts with it ignored (a job started in the
    # background of a shell without job control): the child hears it as a terminal would.
    code = (
        "import signal, sys, numpy as np, ctas\n"
        "signal.signal(signal.SIGINT, signal.default_int_handler)\n"
        "lats = np.full(20_000_000, 48.5); lngs = np.full(20_000_000, 2.5)\n"
        "print('go', flush=True)\n"
        "ctas.latlng_to_cells(lats, lngs, 9)\n"
        "print('finished', flush=True)\n"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert child.stdout.readline().strip() == "go"
    time.sleep(0.3)
    child.send_signal(signal.SIGINT)
    out, err = child.communicate(timeout=120)
    assert "finished" not in out
    assert child.returncode != 0 and "KeyboardInterrupt" in err


# --- the same answers as SQL ----------------------------------------------------------

FRAGMENTS = [
    "evil.com",
    "evil[.]com",
    "hxxps://Bad.Example.ORG/a?b=1",
    "http://203.0.113.9:8080/x",
    "203.0.113[.]7",
    "2001:db8::1",
    "user@mail.example.net",
    "user[at]mail[.]example[.]net",
    "44d88612fea8a8f36de82e1278abb02f",
    "CVE-2024-3094",
    "AS13335",
    "T1059.001",
    "élan",
    "naïve.café",
    "file.exe",
    "(",
    ")",
    ".",
    ",",
    '"',
    "`",
]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.sampled_from(FRAGMENTS), max_size=12),
    st.lists(st.sampled_from([" ", "\n", "", "; "]), min_size=12, max_size=12),
)
def test_extraction_is_sqls_with_pythons_offsets(conn, parts, seps):
    text = "".join(p + s for p, s in zip(parts, seps, strict=False))
    got = [(i.kind, i.value, i.raw, i.start + 1, i.end + 1) for i in ctas.extract_iocs(text)]
    want = conn.execute(
        "SELECT kind, value, raw, start_pos, end_pos FROM ctas_extract_iocs(%s)", (text,)
    ).fetchall()
    assert got == [tuple(r) for r in want]
    for i in ctas.extract_iocs(text):
        assert text[i.start : i.end] == i.raw


@pytest.mark.parametrize("value", FRAGMENTS)
def test_kind_normal_form_refang_and_ids_are_sqls(conn, value):
    row = conn.execute(
        "SELECT ctas_ioc_kind(%s), ctas_ioc_normalise(%s), ctas_refang(%s), ctas_defang(%s)",
        (value,) * 4,
    ).fetchone()
    assert (
        ctas.ioc_kind(value),
        ctas.normalise(value),
        ctas.refang(value),
        ctas.defang(value),
    ) == row
    kind = ctas.ioc_kind(value)
    if kind:
        ids = conn.execute(
            "SELECT ctas_indicator_id(%s, %s), ctas_observable_id(%s, %s)", (kind, value) * 2
        ).fetchone()
        assert (ctas.indicator_id(kind, value), ctas.observable_id(kind, value)) == ids


def test_analyze_is_ctas_analyze(conn):
    report = {
        "text": "Loader beacons to hxxp://cdn-update[.]top/a and 198.51.100.23; see CVE-2024-3094.",
        "lat": 50.45,
        "lng": 30.52,
        "observed_at": "2026-11-01T08:00:00Z",
        "source": {"name": "cert-ua", "reliability": "B", "credibility": "2"},
        "tags": ["tlp:clear"],
    }
    at = dt.datetime(2026, 11, 20, tzinfo=UTC)
    want = conn.execute(
        "SELECT ctas_analyze(%s::jsonb, NULL, 8, 'ctas:admiralty', %s)",
        (psycopg.types.json.Json(report), at),
    ).fetchone()[0]
    assert ctas.analyze(report, resolution=8, at=at) == want


@settings(max_examples=100, deadline=None)
@given(
    base=st.floats(0, 100),
    lifetime=st.floats(0.01, 1000),
    speed=st.floats(0.05, 10),
    elapsed=st.floats(-10, 2000),
)
def test_decay_is_the_specifications(base, lifetime, speed, elapsed):
    want = ref.decay(base, elapsed, lifetime, speed)
    assert ctas.decay(base, elapsed, lifetime, speed) == pytest.approx(want, rel=1e-12, abs=1e-12)
    arr = ctas.decay(np.full(3, base), np.array([elapsed, 0.0, lifetime]), lifetime, speed)
    assert arr.tolist() == pytest.approx([want, base, 0.0], rel=1e-12, abs=1e-12)
    until = ctas.days_until(base, base / 2, lifetime, speed)
    assert until == pytest.approx(ref.days_until(base, base / 2, lifetime, speed), rel=1e-12)


@pytest.mark.parametrize(
    "scale", ["admiralty-credibility", "dni", "wep", "0-10", "none-low-med-high"]
)
def test_confidence_scales_are_stix_appendix_a(scale):
    for low, high, value, label in ref.SCALES[scale]:
        assert ctas.confidence_from(scale, label) == value
        for c in (low, high):
            assert ctas.confidence_to(scale, c) == label


def test_score_is_ctas_score(conn):
    evidence = {
        "kind": "ipv4",
        "sources": [{"name": "a", "confidence": 70}, {"name": "b", "reliability": "B"}],
        "sightings": [{"at": "2026-11-02T00:00:00Z", "source": "edr"}],
    }
    at = dt.datetime(2026, 11, 30, 12, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    for model in ("opencti", "misp:nids-simple", "ctas:admiralty"):
        want = conn.execute(
            "SELECT ctas_score(%s::jsonb, %s, %s)", (psycopg.types.json.Json(evidence), model, at)
        ).fetchone()[0]
        assert ctas.score(evidence, model, at) == want


# --- others' code -------------------------------------------------------------------


def test_cells_of_a_million_points_are_the_h3_packages():
    rng = np.random.default_rng(7)
    n = 1_000_000
    lats, lngs = rng.uniform(-89.9, 89.9, n), rng.uniform(-180, 180, n)
    cells = ctas.latlng_to_cells(lats, lngs, 9)
    assert cells.dtype == np.uint64 and len(cells) == n
    for i in rng.choice(n, 2000, replace=False):
        assert int(cells[i]) == h3.str_to_int(h3.latlng_to_cell(lats[i], lngs[i], 9))


@settings(max_examples=200, deadline=None)
@given(lat=st.floats(-89.99, 89.99), lng=st.floats(-180, 180), res=st.integers(0, 15))
def test_cell_functions_are_the_h3_packages(conn, lat, lng, res):
    cell = ctas.latlng_to_cell(lat, lng, res)
    s = h3.latlng_to_cell(lat, lng, res)
    assert (
        cell
        == h3.str_to_int(s)
        == conn.execute("SELECT ctas_h3_cell(%s, %s, %s)", (lat, lng, res)).fetchone()[0]
    )
    assert ctas.cell_to_latlng(s) == pytest.approx(h3.cell_to_latlng(s), abs=1e-9)
    # Degrees agree to 1e-9 (0.1 mm); near the poles the two libraries differ by 1e-11.
    got, want = ctas.cell_to_boundary(cell), h3.cell_to_boundary(s)
    assert np.array(got) == pytest.approx(np.array(want), abs=1e-9)
    assert ctas.get_resolution(cell) == h3.get_resolution(s)
    # Areas against the spherical polygon of h3's boundary: for a cell across the
    # antimeridian the C library's area is off (5 % at resolution 15), as h3o's was;
    # elsewhere h3o is within 2e-6 of it (by the pole; the C library within 2e-5).
    assert ctas.cell_area(cell, "m^2") == pytest.approx(spherical_area_m2(want), rel=1e-5)
    assert sorted(ctas.grid_disk(cell, 2)) == sorted(h3.str_to_int(c) for c in h3.grid_disk(s, 2))
    if res > 0:
        assert ctas.cell_to_parent(cell) == h3.str_to_int(h3.cell_to_parent(s, res - 1))
    if res < 15:
        assert sorted(ctas.cell_to_children(cell)) == sorted(
            h3.str_to_int(c) for c in h3.cell_to_children(s, res + 1)
        )


EARTH_RADIUS_M = 6371007.180918475  # H3's authalic sphere


def spherical_area_m2(boundary):
    """The area of a polygon of great-circle edges given as (lat, lng) vertices: the sum of
    the solid angles of the triangles from its centre (Van Oosterom and Strackee, 1983);
    for a small polygon, the plane area of its gnomonic projection, whose edges are
    straight (the solid angles would lose their digits)."""
    v = np.array(
        [
            [
                math.cos(math.radians(a)) * math.cos(math.radians(o)),
                math.cos(math.radians(a)) * math.sin(math.radians(o)),
                math.sin(math.radians(a)),
            ]
            for a, o in boundary
        ]
    )
    c = v.sum(axis=0)
    c /= np.linalg.norm(c)
    nxt = np.roll(v, -1, axis=0)
    if np.max(np.linalg.norm(v - c, axis=1)) > 1e-3:
        num = np.einsum("j,ij->i", c, np.cross(v, nxt))
        den = 1 + v @ c + np.einsum("ij,ij->i", v, nxt) + nxt @ c
        return abs(2 * np.arctan2(num, den).sum()) * EARTH_RADIUS_M**2
    e1 = np.cross(c, [0.0, 0.0, 1.0] if abs(c[2]) < 0.9 else [1.0, 0.0, 0.0])
    e1 /= np.linalg.norm(e1)
    e2 = np.cross(c, e1)
    p = v / (v @ c)[:, None]
    x, y = p @ e1, p @ e2
    return abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))) / 2 * EARTH_RADIUS_M**2


def kernel_weight(kernel, d, k):
    u = d / (k + 1)
    return {
        "uniform": 1.0,
        "triangular": 1 - u,
        "quadratic": 1 - u * u,
        "quartic": (1 - u * u) ** 2,
        "gaussian": math.exp(-u * u / 2),
    }[kernel]


def gi_star(values, weights):
    """Gi* (Ord and Getis 1995, eq. 2.9, the self included), from the formula."""
    x = np.asarray(values)
    n, mean, s = len(x), x.mean(), x.std()
    out = []
    for w in weights:
        wi = np.asarray(w)
        sw, sw2 = wi.sum(), (wi * wi).sum()
        out.append((wi @ x - mean * sw) / (s * math.sqrt((n * sw2 - sw * sw) / (n - 1))))
    return np.array(out)


@pytest.mark.parametrize("kernel", ["uniform", "triangular", "quadratic", "quartic", "gaussian"])
@pytest.mark.parametrize(("seed", "k"), [(1, 1), (2, 2)])
def test_gi_star_is_esdas_and_the_formulas_with_every_kernel(seed, k, kernel):
    rng = random.Random(seed)
    centre = h3.latlng_to_cell(rng.uniform(-60, 60), rng.uniform(-180, 180), 8)
    cells = [c for c in h3.grid_disk(centre, 6) if rng.random() < 0.8]
    values = [rng.expovariate(0.1) + (40 if h3.grid_distance(centre, c) <= 2 else 0) for c in cells]
    got = ctas.getis_ord([h3.str_to_int(c) for c in cells], values, k, kernel)
    assert got["cell"].tolist() == [h3.str_to_int(c) for c in cells]
    index = {c: i for i, c in enumerate(cells)}
    weights = []
    for c in cells:
        w = [0.0] * len(cells)
        for other in h3.grid_disk(c, k):
            if other in index:
                w[index[other]] = kernel_weight(kernel, h3.grid_distance(c, other), k)
        weights.append(w)
    assert got["z_score"] == pytest.approx(gi_star(values, weights), abs=1e-9)
    if kernel == "uniform":
        neighbours = {c: [n for n in h3.grid_disk(c, k) if n in index and n != c] for c in cells}
        w = W(neighbours, silence_warnings=True)
        g = G_Local(
            np.array([values[index[c]] for c in w.id_order]),
            w,
            transform="B",
            star=True,
            permutations=0,
        )
        esda = dict(zip(w.id_order, g.Zs, strict=True))
        assert got["z_score"] == pytest.approx([esda[c] for c in cells], abs=1e-9)
        assert got["p_value"] == pytest.approx(
            [2 * p for p in g.p_norm[[w.id_order.index(c) for c in cells]]], abs=1e-9
        )


@pytest.mark.parametrize(
    ("seed", "eps", "min_points"), [(1, 150.0, 4), (2, 300.0, 8), (3, 80.0, 3)]
)
def test_dbscan_is_scikit_learns_with_the_haversine_metric(seed, eps, min_points):
    rng = np.random.default_rng(seed)
    centres = rng.uniform([48.80, 2.30], [48.90, 2.40], (6, 2))
    pts = np.vstack(
        [c + rng.normal(0, 0.0015, (300, 2)) for c in centres]
        + [rng.uniform([48.78, 2.28], [48.92, 2.42], (400, 2))]
    )
    got = ctas.dbscan(pts[:, 0], pts[:, 1], eps, min_points)
    sk = DBSCAN(
        eps=eps / 6371008.8, min_samples=min_points, metric="haversine", algorithm="ball_tree"
    )
    sk.fit(np.radians(pts))
    want = sk.labels_
    # Noise is noise in both; core points are partitioned alike.
    assert set(np.flatnonzero(got == -1)) == set(np.flatnonzero(want == -1))
    core = sk.core_sample_indices_
    pairs = {(int(a), int(b)) for a, b in zip(got[core], want[core], strict=True)}
    assert len(pairs) == len({a for a, _ in pairs}) == len({b for _, b in pairs})
    # A border point may be reached from two clusters; either is right, as long as a core
    # point of the cluster CTAS chose is within eps (CTAS takes the nearest core point).
    core_set = set(core.tolist())
    rad = np.radians(pts)
    for i in np.flatnonzero(got >= 0):
        if i in core_set:
            continue
        members = [j for j in core if got[j] == got[i]]
        d = 2 * np.arcsin(
            np.sqrt(
                np.sin((rad[members, 0] - rad[i, 0]) / 2) ** 2
                + np.cos(rad[i, 0])
                * np.cos(rad[members, 0])
                * np.sin((rad[members, 1] - rad[i, 1]) / 2) ** 2
            )
        )
        assert d.min() * 6371008.8 <= eps + 1e-6


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        ("domain", "Evil.COM"),
        ("ipv4", "203.0.113.9"),
        ("ipv6", "2001:DB8::1"),
        ("url", "http://evil.com/a"),
        ("email", "a@b.example"),
        ("md5", "44D88612FEA8A8F36DE82E1278ABB02F"),
        ("sha256", "a" * 64),
    ],
)
def test_observable_ids_are_stix2s(kind, value):
    normal = ctas.normalise(value) or value.lower()
    assert ctas.observable_id(kind, value) == stix2_id(kind, normal)


def test_stl_is_statsmodels():
    rng = np.random.default_rng(3)
    t = np.arange(24 * 21)
    y = 10 + 0.01 * t + 4 * np.sin(2 * np.pi * t / 24) + rng.normal(0, 1, len(t))
    got = ctas.stl(y, 24, seasonal=7)
    want = STL(y, period=24, seasonal=7).fit()
    assert got["trend"] == pytest.approx(want.trend, abs=1e-6)
    assert got["seasonal"] == pytest.approx(want.seasonal, abs=1e-6)
    assert got["resid"] == pytest.approx(want.resid, abs=1e-6)


def test_anomalies_are_ctas_anomalies(conn):
    rng = np.random.default_rng(5)
    t0 = dt.datetime(2026, 10, 1, tzinfo=UTC)
    ts = [t0 + dt.timedelta(hours=i) for i in range(24 * 10)]
    vals = rng.poisson(6 + 4 * np.sin(2 * np.pi * np.arange(len(ts)) / 24)).astype(float)
    vals[200] = 60
    for method, mode in [
        ("auto", "online"),
        ("seasonal", "retrospective"),
        ("esd", "retrospective"),
    ]:
        got = ctas.anomalies(ts, vals, method, mode)
        rows = conn.execute(
            "SELECT ts, value, expected, lower, upper, anomaly_score, is_anomaly "
            "FROM ctas_anomalies(%s, %s, %s, %s)",
            (ts, vals.tolist(), method, mode),
        ).fetchall()
        assert got["ts"].astype("datetime64[us]").tolist() == [
            r[0].replace(tzinfo=None) for r in rows
        ]
        for name, col in [
            ("value", 1),
            ("expected", 2),
            ("lower", 3),
            ("upper", 4),
            ("anomaly_score", 5),
        ]:
            want = [math.nan if r[col] is None else r[col] for r in rows]
            assert got[name] == pytest.approx(want, nan_ok=True, rel=1e-12, abs=1e-12), (
                method,
                name,
            )
        assert got["is_anomaly"].tolist() == [r[6] for r in rows]
        assert got["is_anomaly"][200]
    # numpy datetime64 in any unit gives the same.
    again = ctas.anomalies(got["ts"].astype("datetime64[s]"), vals, "esd", "retrospective")
    assert again["is_anomaly"].tolist() == got["is_anomaly"].tolist()


# --- what a Python user meets -------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "exception", "message"),
    [
        (lambda: ctas.latlng_to_cell(91, 0, 7), ctas.CtasError, "lat must be"),
        (
            lambda: ctas.latlng_to_cells([1.0, 2.0], [1.0], 7),
            ctas.CtasError,
            "lngs: must be as long as lats",
        ),
        (
            lambda: ctas.latlng_to_cells([1.0, 2.0], [1.0, 200.0], 7),
            ctas.CtasError,
            "point 1: lng must be",
        ),
        (lambda: ctas.latlng_to_cell("north", 0, 7), TypeError, "while processing 'lat'"),
        (lambda: ctas.get_resolution(12345), ctas.CtasError, "cell must be a valid H3 cell"),
        (lambda: ctas.cell_to_latlng("zz"), ctas.CtasError, "not an H3 index in hexadecimal"),
        (lambda: ctas.decay(120, 1, 30, 1), ctas.CtasError, "base must be a number in [0, 100]"),
        (
            lambda: ctas.decay([1.0, 2.0], [1.0], 30, 1),
            ctas.CtasError,
            "elapsed_days: must be as long as base",
        ),
        (lambda: ctas.score({"sources": "x"}), ctas.CtasError, "evidence: invalid type"),
        (lambda: ctas.score({}, "no-such-model"), ctas.CtasError, "no-such-model"),
        (
            lambda: ctas.score({}, at=dt.datetime(2026, 1, 1)),
            ctas.CtasError,
            "at: is a naive datetime",
        ),
        (lambda: ctas.PatternSet({"bad": "a("}), ctas.CtasError, "bad"),
        (
            lambda: ctas.PatternSet([{"id": "x", "pattern": "a", "severity": "huge"}]),
            ctas.CtasError,
            "severity",
        ),
        (lambda: ctas.PatternSet([("only-id",)]), ctas.CtasError, "patterns[0]"),
        (lambda: ctas.PatternSet({"a": "a"}).matches("a" * 20, limit=5), ctas.CtasError, "5"),
        (
            lambda: ctas.Warninglists([{"name": "x", "type": "cidr", "list": ["300.0.0.0/8"]}]),
            ctas.CtasError,
            "300.0.0.0/8",
        ),
        (
            lambda: ctas.Warninglists([]).hits("a", kind="colour"),
            ctas.CtasError,
            "kind: must be one of",
        ),
        (lambda: ctas.analyze({"lat": 1}), ctas.CtasError, "report"),
        (lambda: ctas.analyze({"text": "x"}, resolution=16), ctas.CtasError, "resolution"),
        (
            lambda: ctas.getis_ord([1, 2], [1.0], 1),
            ctas.CtasError,
            "values: must be as long as cells",
        ),
        (lambda: ctas.getis_ord([], [], 1, "cosine"), ctas.CtasError, "kernel must be one of"),
        (lambda: ctas.dbscan([0.0], [0.0], -1, 2), ctas.CtasError, "eps"),
        (
            lambda: ctas.anomalies([dt.datetime(2026, 1, 1)], [1.0]),
            ctas.CtasError,
            "ts[0]: is a naive datetime",
        ),
        (lambda: ctas.anomalies(["x"], [1.0]), ctas.CtasError, "ts[0]: must be a datetime"),
        (
            lambda: ctas.anomalies([dt.datetime(2026, 1, 1, tzinfo=UTC)], [1.0], method="stl"),
            ctas.CtasError,
            "method must be one of",
        ),
        (
            lambda: ctas.anomalies([dt.datetime(2026, 1, 1, tzinfo=UTC)] * 2, [1.0, 2.0]),
            ctas.CtasError,
            "ascending",
        ),
        (lambda: ctas.stl([1.0] * 10, 1), ctas.CtasError, "period"),
    ],
)
def test_bad_input_is_an_exception_naming_what_was_wrong(call, exception, message):
    with pytest.raises(exception) as e:
        call()
    # pyo3 names the argument of a wrong type in a note, which tracebacks print.
    assert message in str(e.value) + " ".join(getattr(e.value, "__notes__", []))
    assert isinstance(e.value, ValueError) or exception is TypeError


def test_warninglists_flag_known_benign_values():
    lists = ctas.Warninglists(
        [
            {
                "name": "Public DNS",
                "type": "cidr",
                "list": ["8.8.8.0/24"],
                "matching_attributes": ["ip-dst"],
            },
            {"name": "Top domains", "type": "hostname", "list": ["google.com"]},
        ]
    )
    assert len(lists) == 2 and lists.names == ["Public DNS", "Top domains"]
    found = {
        i.value: i.warninglists
        for i in ctas.extract_iocs("8.8.8.8 mail.google[.]com evil.com", lists)
    }
    assert found == {"8.8.8.8": ["Public DNS"], "mail.google.com": ["Top domains"], "evil.com": []}
    assert lists.hits("8.8.8[.]8") == ["Public DNS"]


def test_objects_print_as_python_writes_them():
    [i] = ctas.extract_iocs("it's evil[.]com")
    assert (
        repr(i) == "Ioc(kind='domain', value='evil.com', raw='evil[.]com', start=5, end=15, "
        "warninglists=[])"
    )
    [m] = ctas.PatternSet({"q": "it's"}).matches("it's")
    assert (
        repr(m)
        == "PatternMatch(pattern_id='q', start=0, end=4, matched=\"it's\", severity='medium')"
    )


PIECES = ["[a-z]+", r"\d{2,4}", "ab", "(?:foo|bar)", "x[0-9]", r"\w\d", "[aeiou]{2}", "é+"]


@settings(max_examples=150, deadline=None)
@given(
    patterns=st.lists(
        st.lists(st.sampled_from(PIECES), min_size=1, max_size=3).map("".join),
        min_size=1,
        max_size=5,
    ),
    text=st.text(alphabet="abfoxr0123é -", max_size=60),
)
def test_pattern_sets_match_where_pythons_re_does(patterns, text):
    # Patterns that cannot match the empty string, where Rust's regex and Python's re
    # both take the leftmost-first match and go on after it.
    ids = [f"p{i}" for i in range(len(patterns))]
    got = [
        (m.pattern_id, m.start, m.end, m.matched)
        for m in ctas.PatternSet(dict(zip(ids, patterns, strict=True))).matches(text)
    ]
    want = sorted(
        (
            (pid, m.start(), m.end(), m.group())
            for pid, p in zip(ids, patterns, strict=True)
            for m in re.finditer(p, text)
        ),
        key=lambda x: (x[1], ids.index(x[0]), x[2]),
    )
    assert got == want


@settings(max_examples=150, deadline=None)
@given(
    host=st.lists(st.from_regex(r"[a-z][a-z0-9]{1,8}", fullmatch=True), min_size=1, max_size=3),
    tld=st.sampled_from(["com", "net", "org", "ru", "top", "io"]),
    path=st.from_regex(r"(/[a-z0-9]{1,6}){0,3}", fullmatch=True),
    scheme=st.sampled_from(["http", "https"]),
    style=st.sampled_from(["hxxp", "[.]", "(.)", "[:]//", "none"]),
)
def test_defanged_urls_come_back_as_iocextract_refangs_them(host, tld, path, scheme, style):
    url = f"{scheme}://{'.'.join(host)}.{tld}{path}"
    defanged = {
        "hxxp": url.replace("http", "hxxp", 1),
        "[.]": url.replace(".", "[.]"),
        "(.)": url.replace(".", "(.)"),
        "[:]//": url.replace("://", "[:]//"),
        "none": url,
    }[style]
    assert url in list(iocextract.extract_urls(defanged, refang=True))
    assert ctas.normalise(defanged) == url
    assert ctas.refang(defanged) == url
