"""Gi* hotspots against PySAL's esda and CARTO's documented example."""

import random

import h3
import numpy as np
import psycopg
import pytest
from esda.getisord import G_Local
from libpysal.weights import W


def getis_ord_sql(conn, cells, values, k=1, kernel="uniform"):
    rows = conn.execute(
        "SELECT cell, z_score, p_value FROM ctas_h3_getis_ord(%s::bigint[], %s::float8[], %s, %s)",
        (cells, values, k, kernel),
    ).fetchall()
    return {c: (z, p) for c, z, p in rows}


def test_cartos_documented_example(conn):
    cells = [
        h3.str_to_int(h3.latlng_to_cell(lat, lng, 7))
        for lat, lng in [(40.0, -3.0), (-33.0, 151.0), (35.0, 139.0)]
    ]
    got = getis_ord_sql(conn, cells, [51, 28, 19])
    want = [1.3606194139870578, -0.34633948719670504, -1.0142799267903513]
    for cell, z in zip(cells, want, strict=True):
        assert got[cell][0] == pytest.approx(z, abs=1e-12)


@pytest.mark.parametrize(("seed", "k"), [(1, 1), (2, 2), (3, 1), (4, 3)])
def test_agrees_with_esda_g_local_star_binary(conn, seed, k):
    rng = random.Random(seed)
    centre = h3.latlng_to_cell(rng.uniform(-60, 60), rng.uniform(-180, 180), 8)
    # A neighbourhood with holes, so that some cells have fewer neighbours than others.
    cells = [c for c in h3.grid_disk(centre, 7) if rng.random() < 0.8]
    values = [rng.expovariate(0.1) + (40 if h3.grid_distance(centre, c) <= 2 else 0) for c in cells]
    present = set(cells)
    neighbours = {c: [n for n in h3.grid_disk(c, k) if n in present and n != c] for c in cells}
    w = W(neighbours, silence_warnings=True)
    y = np.array([values[cells.index(c)] for c in w.id_order])
    g = G_Local(y, w, transform="B", star=True, permutations=0)
    want = dict(zip(w.id_order, g.Zs, strict=True))
    got = getis_ord_sql(conn, [h3.str_to_int(c) for c in cells], values, k)
    for c in cells:
        assert got[h3.str_to_int(c)][0] == pytest.approx(want[c], abs=1e-9), c
    # esda's p_norm is one-sided; ours is two-sided.
    for c, p in zip(w.id_order, g.p_norm, strict=True):
        assert got[h3.str_to_int(c)][1] == pytest.approx(2 * p, abs=1e-9)


def test_kernels_weigh_near_rings_more(conn):
    centre = h3.latlng_to_cell(52.52, 13.405, 8)
    cells = h3.grid_disk(centre, 6)
    values = [100.0 if h3.grid_distance(centre, c) == 0 else 1.0 for c in cells]
    ints = [h3.str_to_int(c) for c in cells]
    centre_int = h3.str_to_int(centre)
    for kernel in ["uniform", "triangular", "quadratic", "quartic", "gaussian"]:
        z_centre = getis_ord_sql(conn, ints, values, 2, kernel)[centre_int][0]
        assert z_centre > 0, kernel
    assert (
        getis_ord_sql(conn, ints, values, 2, "triangular")[centre_int][0]
        > getis_ord_sql(conn, ints, values, 2, "uniform")[centre_int][0]
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (([1], [1.0], 1, "uniform"), "cells must be a valid H3 cell index"),
        ((["CELL"], [1.0, 2.0], 1, "uniform"), "same length"),
        ((["CELL"], [1.0], 1, "cosine"), "kernel must be one of"),
        ((["CELL"], [1.0], -1, "uniform"), "k must be an integer in [0, 1000]"),
        ((["CELL", "CELL"], [1.0, 2.0], 1, "uniform"), "same cell twice"),
    ],
)
def test_bad_input_names_the_argument(conn, args, message):
    cell = h3.str_to_int(h3.latlng_to_cell(0, 0, 5))
    cells = [cell if c == "CELL" else c for c in args[0]]
    with pytest.raises(psycopg.errors.InvalidParameterValue) as err:
        getis_ord_sql(conn, cells, *args[1:])
    assert message in str(err.value)


def test_null_values_are_refused(conn):
    with pytest.raises(psycopg.errors.NullValueNotAllowed):
        conn.execute(
            "SELECT * FROM ctas_h3_getis_ord(ARRAY[ctas_h3_cell(0, 0, 5)], ARRAY[NULL::float8])"
        )
