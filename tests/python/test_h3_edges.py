# ruff: noqa: E501  (SQL reads better unbroken)
"""h3-pg's everyday remainder — areas, edge lengths, great-circle distance, grid paths,
base cells, pentagons, icosahedron faces, vertices and directed edges — checked cell by
cell against the `h3` Python package (the H3 C library's own binding), on random cells
of every resolution and on every pentagon."""

import json
import math
import random

import h3
import psycopg
import pytest


def cells_to_check():
    rng = random.Random(7)
    cells = [
        h3.latlng_to_cell(rng.uniform(-89.9, 89.9), rng.uniform(-179.9, 179.9), res)
        for res in range(16)
        for _ in range(12)
    ]
    # Pentagons (five neighbours, five vertices, several faces) and the antimeridian.
    cells += [h3.get_pentagons(res)[i] for res in (0, 5, 10, 15) for i in (0, 7)]
    cells += [h3.latlng_to_cell(10.0, 179.9999, res) for res in (2, 9)]
    return cells


CELLS = cells_to_check()


def one(conn, query, *args):
    return conn.execute(query, args).fetchone()[0]


def test_cell_area_in_every_unit_matches_h3(conn):
    for c in CELLS:
        i = h3.str_to_int(c)
        for unit in ("km^2", "m^2", "rads^2"):
            got = one(conn, "SELECT ctas_h3_cell_area(%s, %s)", i, unit)
            assert got == pytest.approx(h3.cell_area(c, unit), rel=1e-7), (c, unit)
        assert one(conn, "SELECT ctas_h3_cell_area(%s)", i) == pytest.approx(
            h3.cell_area(c, "km^2"), rel=1e-7
        )


def test_inspection_matches_h3(conn):
    for c in CELLS:
        i = h3.str_to_int(c)
        row = conn.execute(
            "SELECT ctas_h3_get_base_cell_number(%s), ctas_h3_is_pentagon(%s),"
            " ctas_h3_get_icosahedron_faces(%s)",
            (i, i, i),
        ).fetchone()
        assert row == (
            h3.get_base_cell_number(c),
            h3.is_pentagon(c),
            sorted(h3.get_icosahedron_faces(c)),
        ), c


def test_directed_edges_match_h3(conn):
    for c in CELLS:
        i = h3.str_to_int(c)
        edges = [
            r[0] for r in conn.execute("SELECT * FROM ctas_h3_origin_to_directed_edges(%s)", (i,))
        ]
        want = [h3.str_to_int(e) for e in h3.origin_to_directed_edges(c)]
        assert sorted(edges) == sorted(want), c
        for e in edges:
            es = h3.int_to_str(e)
            row = conn.execute(
                "SELECT ctas_h3_is_valid_directed_edge(%s), ctas_h3_get_directed_edge_origin(%s),"
                " ctas_h3_get_directed_edge_destination(%s), ctas_h3_edge_length(%s, 'm'),"
                " ctas_h3_edge_length(%s, 'rads'), ctas_h3_edge_length(%s),"
                " ctas_h3_directed_edge_to_boundary_geojson(%s)",
                (e,) * 7,
            ).fetchone()
            origin, dest = h3.directed_edge_to_cells(es)
            assert row[:3] == (True, i, h3.str_to_int(dest)), es
            assert h3.int_to_str(row[1]) == origin
            assert row[3] == pytest.approx(h3.edge_length(es, "m"), rel=1e-7)
            assert row[4] == pytest.approx(h3.edge_length(es, "rads"), rel=1e-7)
            assert row[5] == pytest.approx(h3.edge_length(es, "km"), rel=1e-7)
            line = row[6]
            assert line["type"] == "LineString"
            want_line = [[lng, lat] for lat, lng in h3.directed_edge_to_boundary(es)]
            got_line = [c for point in line["coordinates"] for c in point]
            assert got_line == pytest.approx([c for p in want_line for c in p], abs=1e-9), es
            assert one(conn, "SELECT ctas_h3_cells_to_directed_edge(%s, %s)", i, row[2]) == e


def test_vertices_match_h3(conn):
    for c in CELLS:
        i = h3.str_to_int(c)
        got = [r[0] for r in conn.execute("SELECT * FROM ctas_h3_cell_to_vertexes(%s)", (i,))]
        want = [h3.str_to_int(v) for v in h3.cell_to_vertexes(c)]
        assert got == want, c
        for v in got:
            x, y = conn.execute(
                "SELECT p[0], p[1] FROM ctas_h3_vertex_to_latlng(%s) AS p", (v,)
            ).fetchone()
            lat, lng = h3.vertex_to_latlng(h3.int_to_str(v))
            assert (y, x) == pytest.approx((lat, lng), abs=1e-9)
            assert one(conn, "SELECT ctas_h3_is_valid_vertex(%s)", v)
        assert not one(conn, "SELECT ctas_h3_is_valid_vertex(%s)", i)


def test_great_circle_distance_matches_h3(conn):
    rng = random.Random(11)
    for _ in range(200):
        a = (rng.uniform(-90, 90), rng.uniform(-180, 180))
        b = (rng.uniform(-90, 90), rng.uniform(-180, 180))
        for unit in ("km", "m", "rads"):
            got = one(
                conn,
                "SELECT ctas_h3_great_circle_distance(point(%s, %s), point(%s, %s), %s)",
                a[1],
                a[0],
                b[1],
                b[0],
                unit,
            )
            assert got == pytest.approx(h3.great_circle_distance(a, b, unit), rel=1e-7)
    # Antipodes on H3's sphere: half its circumference.
    assert one(
        conn, "SELECT ctas_h3_great_circle_distance(point(0, 0), point(180, 0), 'rads')"
    ) == pytest.approx(math.pi)


def test_grid_paths_match_h3(conn):
    rng = random.Random(5)
    checked = 0
    for _ in range(60):
        res = rng.randrange(0, 11)
        lat, lng = rng.uniform(-70, 70), rng.uniform(-170, 170)
        a = h3.latlng_to_cell(lat, lng, res)
        b = h3.latlng_to_cell(lat + rng.uniform(-3, 3), lng + rng.uniform(-3, 3), res)
        try:
            want = [h3.str_to_int(c) for c in h3.grid_path_cells(a, b)]
        except h3.H3BaseException:
            with pytest.raises(psycopg.errors.InvalidParameterValue, match="no grid path"):
                conn.execute(
                    "SELECT * FROM ctas_h3_grid_path_cells(%s, %s)",
                    (h3.str_to_int(a), h3.str_to_int(b)),
                )
            continue
        got = [
            r[0]
            for r in conn.execute(
                "SELECT * FROM ctas_h3_grid_path_cells(%s, %s)",
                (h3.str_to_int(a), h3.str_to_int(b)),
            )
        ]
        assert got == want, (a, b)
        checked += 1
    assert checked >= 40


@pytest.mark.parametrize(
    ("query", "sqlstate", "message"),
    [
        (
            "SELECT ctas_h3_cell_area(ctas_h3_cell(0, 0, 5), 'acres')",
            "22023",
            "unit must be one of 'km^2', 'm^2', 'rads^2', got \"acres\"",
        ),
        (
            "SELECT ctas_h3_edge_length(ctas_h3_cell(0, 0, 5))",
            "22023",
            "edge must be a valid H3 directed edge index",
        ),
        (
            "SELECT ctas_h3_edge_length(1, 'km')",
            "22023",
            "edge must be a valid H3 directed edge index, got 1",
        ),
        (
            "SELECT ctas_h3_great_circle_distance(point(0, 91), point(0, 0))",
            "22023",
            "lat must be a finite number in [-90, 90], got 91",
        ),
        (
            "SELECT ctas_h3_great_circle_distance(point(0, 0), point(0, 0), 'miles')",
            "22023",
            "unit must be one of 'km', 'm', 'rads'",
        ),
        (
            "SELECT ctas_h3_cells_to_directed_edge(ctas_h3_cell(0, 0, 5), ctas_h3_cell(40, 40, 5))",
            "22023",
            "origin and destination must be neighbouring cells",
        ),
        (
            "SELECT * FROM ctas_h3_grid_path_cells(ctas_h3_cell(0, 0, 5), ctas_h3_cell(0, 0, 6))",
            "22023",
            "no grid path from origin to destination",
        ),
        (
            "SELECT * FROM ctas_h3_grid_path_cells(ctas_h3_cell(0, 0, 15), ctas_h3_cell(0, 170, 15))",
            "22023",
            "no grid path",
        ),
        (
            "SELECT ctas_h3_vertex_to_latlng(ctas_h3_cell(0, 0, 5))",
            "22023",
            "vertex must be a valid H3 vertex index",
        ),
        ("SELECT ctas_h3_is_pentagon(-1)", "22023", "cell must be a valid H3 cell index, got -1"),
        (
            "SELECT ctas_h3_get_directed_edge_origin(0)",
            "22023",
            "edge must be a valid H3 directed edge index, got 0",
        ),
    ],
)
def test_bad_arguments_are_named(conn, query, sqlstate, message):
    with pytest.raises(psycopg.Error) as e:
        conn.execute(query)
    assert e.value.sqlstate == sqlstate
    assert message in str(e.value)


def test_boundary_is_valid_geojson(conn):
    e = h3.origin_to_directed_edges(h3.latlng_to_cell(51.5, -0.12, 9))[0]
    line = one(conn, "SELECT ctas_h3_directed_edge_to_boundary_geojson(%s)", h3.str_to_int(e))
    assert json.loads(json.dumps(line))["type"] == "LineString"
    assert len(line["coordinates"]) == 2


@pytest.mark.parametrize("res", range(8, 16))
def test_a_cell_across_the_antimeridian_has_its_spherical_area(conn, res):
    # The C library (and h3o, before) sums lat/lng triangles there: 5 % off at res 15.
    from test_package import spherical_area_m2

    c = h3.latlng_to_cell(0.0, 180.0, res)
    got = one(conn, "SELECT ctas_h3_cell_area(%s, 'm^2')", h3.str_to_int(c))
    assert got == pytest.approx(spherical_area_m2(h3.cell_to_boundary(c)), rel=1e-6)
