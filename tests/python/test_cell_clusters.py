"""ctas_h3_cell_clusters: connected cells, their weight, centroid and outline (checked
with PostGIS: a valid MultiPolygon covering exactly the union of the cells)."""

import json
import random

import h3
import psycopg
import pytest


@pytest.fixture(scope="module")
def gis(conn):
    conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    conn.execute("CREATE EXTENSION IF NOT EXISTS ctas_postgis")
    return conn


def clusters(conn, cells, weights, min_weight=0.0, gap=0):
    return conn.execute(
        "SELECT cluster_id, cells, total_weight, centroid::text, outline"
        " FROM ctas_h3_cell_clusters(%s::bigint[], %s::float8[], %s, %s)",
        (cells, weights, min_weight, gap),
    ).fetchall()


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_components_match_a_reference_and_outlines_cover_the_cells(gis, seed):
    rng = random.Random(seed)
    centre = h3.latlng_to_cell(rng.uniform(-60, 60), rng.uniform(-170, 170), 8)
    cells = [c for c in h3.grid_disk(centre, 8) if rng.random() < 0.45]
    weights = [rng.uniform(0, 10) for _ in cells]
    kept = {c for c, w in zip(cells, weights, strict=True) if w >= 3}
    # Reference: flood fill over touching kept cells.
    comps, seen = [], set()
    for c in cells:
        if c in kept and c not in seen:
            stack, comp = [c], set()
            while stack:
                x = stack.pop()
                if x in seen:
                    continue
                seen.add(x)
                comp.add(x)
                stack.extend(n for n in h3.grid_disk(x, 1) if n in kept and n not in seen)
            comps.append(comp)
    got = clusters(gis, [h3.str_to_int(c) for c in cells], weights, 3.0)
    assert {frozenset(h3.int_to_str(x) for x in row[1]) for row in got} == {
        frozenset(c) for c in comps
    }
    for _, members, total, _, outline in got:
        assert total == pytest.approx(
            sum(w for c, w in zip(cells, weights, strict=True) if h3.str_to_int(c) in members)
        )
        valid, diff = gis.execute(
            "SELECT ST_IsValid(o), ST_Area(ST_SymDifference(o,"
            "   ctas_h3_cells_to_multipolygon(%s::bigint[]))) / ST_Area(o)"
            " FROM ST_SetSRID(ST_GeomFromGeoJSON(%s::text), 4326) AS o",
            (members, json.dumps(outline)),
        ).fetchone()
        assert valid
        assert diff < 1e-9


def test_threshold_gap_and_errors(gis):
    a = h3.latlng_to_cell(0, 0, 7)
    far = sorted(h3.grid_ring(a, 2))[0]
    cells = [h3.str_to_int(a), h3.str_to_int(far)]
    assert len(clusters(gis, cells, [1.0, 1.0])) == 2
    assert len(clusters(gis, cells, [1.0, 1.0], gap=1)) == 1
    assert len(clusters(gis, cells, [1.0, 0.5], min_weight=1)) == 1
    with pytest.raises(psycopg.errors.InvalidParameterValue) as err:
        clusters(gis, cells, [1.0, 1.0], gap=-1)
    assert "gap must be an integer in [0, 999]" in str(err.value)
