"""ctas_dbscan against PostGIS's ST_ClusterDBSCAN on the same points.

PostGIS clusters planar geometry, so its points are projected first with an azimuthal
equidistant projection on a sphere of the same radius, centred on the data: within the
5 km the points span, its distances differ from the great-circle ones by less than
1e-6 relative (0.2 mm at eps = 200 m), far below the spacing of random points near eps.
"""

import math
import random

import psycopg
import pytest

R = 6371008.8
CENTRE = (48.8566, 2.3522)


def points(seed: int, clusters: int, per_cluster: int, noise: int):
    rng = random.Random(seed)
    lat0, lng0 = CENTRE
    deg_lat = 1 / 111_195
    deg_lng = deg_lat / 0.658
    out = []
    for _ in range(clusters):
        cy, cx = rng.uniform(-2000, 2000), rng.uniform(-2000, 2000)
        for _ in range(per_cluster):
            out.append(
                (
                    lat0 + (cy + rng.gauss(0, 120)) * deg_lat,
                    lng0 + (cx + rng.gauss(0, 120)) * deg_lng,
                )
            )
    for _ in range(noise):
        out.append(
            (lat0 + rng.uniform(-2500, 2500) * deg_lat, lng0 + rng.uniform(-2500, 2500) * deg_lng)
        )
    return out


@pytest.fixture(scope="module")
def gis(conn):
    conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    return conn


def run_both(conn, pts, eps, minpoints):
    ids = list(range(1, len(pts) + 1))
    lats = [p[0] for p in pts]
    lngs = [p[1] for p in pts]
    ours = dict(
        conn.execute(
            "SELECT id, cluster_id"
            " FROM ctas_dbscan(%s::bigint[], %s::float8[], %s::float8[], %s, %s)",
            (ids, lats, lngs, eps, minpoints),
        ).fetchall()
    )
    proj = f"+proj=aeqd +lat_0={CENTRE[0]} +lon_0={CENTRE[1]} +R={R} +units=m +no_defs"
    theirs = dict(
        conn.execute(
            "SELECT id, ST_ClusterDBSCAN("
            "   ST_Transform(ST_SetSRID(ST_MakePoint(lng, lat), 4326), %s), %s, %s)"
            "   OVER (ORDER BY id)"
            " FROM unnest(%s::bigint[], %s::float8[], %s::float8[]) AS p(id, lat, lng)",
            (proj, eps, minpoints, ids, lats, lngs),
        ).fetchall()
    )
    return ours, theirs


def partition(assignment):
    groups = {}
    for point, cluster in assignment.items():
        if cluster is not None:
            groups.setdefault(cluster, set()).add(point)
    return {frozenset(g) for g in groups.values()}


def great_circle(a, b):
    (la1, lo1), (la2, lo2) = (map(math.radians, a), map(math.radians, b))
    h = (
        math.sin((la2 - la1) / 2) ** 2
        + math.cos(la1) * math.cos(la2) * math.sin((lo2 - lo1) / 2) ** 2
    )
    return 2 * R * math.asin(math.sqrt(h))


@pytest.mark.parametrize(("seed", "eps", "minpoints"), [(1, 150, 5), (2, 200, 4), (3, 100, 3)])
def test_same_clusters_as_st_clusterdbscan(gis, seed, eps, minpoints):
    pts = points(seed, clusters=6, per_cluster=60, noise=200)
    ours, theirs = run_both(gis, pts, eps, minpoints)
    ids = range(1, len(pts) + 1)
    near = {i: {j for j in ids if great_circle(pts[i - 1], pts[j - 1]) <= eps} for i in ids}
    core = {i for i in ids if len(near[i]) >= minpoints}
    # Noise and the clusters of core points are fully determined: they must agree.
    assert {p for p, c in ours.items() if c is None} == {p for p, c in theirs.items() if c is None}
    assert partition({p: ours[p] for p in core}) == partition({p: theirs[p] for p in core})
    # A border point may be within eps of cores of two clusters; PostGIS picks either,
    # CTAS the nearest. Both must pick a cluster that has such a core point.
    for p in set(ids) - core:
        for result in (ours, theirs):
            if result[p] is not None:
                assert any(result[q] == result[p] for q in near[p] & core)
    assert len(partition(ours)) == len(partition(theirs)) >= 4


def test_bad_input_is_named(gis):
    with pytest.raises(psycopg.errors.InvalidParameterValue) as err:
        gis.execute("SELECT * FROM ctas_dbscan(ARRAY[1], ARRAY[0.0], ARRAY[0.0], -5, 3)")
    assert "eps must be a finite number of metres >= 0, got -5" in str(err.value)
    with pytest.raises(psycopg.errors.InvalidParameterValue) as err:
        gis.execute("SELECT * FROM ctas_dbscan(ARRAY[1, 2], ARRAY[0.0], ARRAY[0.0], 5, 3)")
    assert "ids and lats must have the same length" in str(err.value)
    with pytest.raises(psycopg.errors.InvalidParameterValue) as err:
        gis.execute("SELECT * FROM ctas_dbscan(ARRAY[1], ARRAY[91.0], ARRAY[0.0], 5, 3)")
    assert "lat must be" in str(err.value)
