"""ctas_postgis: the H3 functions for PostGIS geometry and geography, on real PostGIS."""

import random

import psycopg
import pytest


@pytest.fixture(scope="module")
def gis(conn):
    conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    conn.execute("CREATE EXTENSION IF NOT EXISTS ctas_postgis")
    return conn


def test_geometry_and_geography_points_give_the_same_cells(gis):
    rng = random.Random(3)
    points = [(rng.uniform(-89, 89), rng.uniform(-179.9, 179.9)) for _ in range(500)]
    lats, lngs = zip(*points, strict=True)
    rows = gis.execute(
        "SELECT ctas_h3_cell(lat, lng, 9),"
        "       ctas_h3_cell(ST_SetSRID(ST_MakePoint(lng, lat), 4326), 9),"
        "       ctas_h3_cell(ST_SetSRID(ST_MakePoint(lng, lat), 4326)::geography, 9)"
        " FROM unnest(%s::float8[], %s::float8[]) AS p(lat, lng)",
        (list(lats), list(lngs)),
    ).fetchall()
    assert all(a == b == c for a, b, c in rows)


def test_a_cell_contains_its_centre_and_its_points(gis):
    row = gis.execute(
        "SELECT ST_Contains(b, ctas_h3_cell_to_geometry(c)),"
        "       ST_Contains(b, ST_SetSRID(ST_MakePoint(-0.1246, 51.5007), 4326)),"
        "       ST_SRID(b), GeometryType(b), ST_NPoints(b)"
        " FROM ctas_h3_cell(51.5007, -0.1246, 9) AS c, ctas_h3_cell_to_boundary_geometry(c) AS b"
    ).fetchone()
    assert row == (True, True, 4326, "POLYGON", 7)


def test_touching_cells_merge_into_one_outline(gis):
    row = gis.execute(
        "SELECT GeometryType(m), ST_NumGeometries(m), ST_SRID(m)"
        " FROM ctas_h3_cells_to_multipolygon(ARRAY(SELECT ctas_h3_grid_disk("
        "   ctas_h3_cell(51.5007, -0.1246, 9), 2))) AS m"
    ).fetchone()
    assert row == ("MULTIPOLYGON", 1, 4326)


@pytest.mark.parametrize(
    ("geom", "message"),
    [
        ("ST_SetSRID(ST_MakePoint(500000, 180000), 27700)", "geom must have SRID 4326"),
        (
            "ST_MakePoint(-0.12, 51.5)",
            "geom must have SRID 4326 (WGS 84 longitude/latitude), got SRID 0",
        ),
        (
            "ST_SetSRID(ST_MakeLine(ST_MakePoint(0, 0), ST_MakePoint(1, 1)), 4326)",
            "geom must be a POINT, got LINESTRING",
        ),
    ],
)
def test_bad_geometry_is_22023_with_a_hint(gis, geom, message):
    with pytest.raises(psycopg.errors.InvalidParameterValue) as err:
        gis.execute(f"SELECT ctas_h3_cell({geom}, 9)")
    assert message in str(err.value)
    assert err.value.diag.message_hint


def test_polygon_geometry_to_cells_equals_the_geojson_form(gis):
    geom = (
        "ST_SetSRID(ST_MakePolygon(ST_MakeLine(ARRAY[ST_MakePoint(2.30, 48.84),"
        " ST_MakePoint(2.38, 48.84), ST_MakePoint(2.38, 48.88), ST_MakePoint(2.30, 48.88),"
        " ST_MakePoint(2.30, 48.84)])), 4326)"
    )
    agg = "SELECT array_agg(c ORDER BY c) FROM ctas_h3_polygon_to_cells({}, 9) c"
    a = gis.execute(agg.format(geom))
    b = gis.execute(agg.format(f"ST_AsGeoJSON({geom})::jsonb"))
    cells = a.fetchone()[0]
    assert cells == b.fetchone()[0]
    assert len(cells) > 100
    inside = gis.execute(
        f"SELECT bool_and(ST_Contains({geom}, ctas_h3_cell_to_geometry(c)))"
        " FROM unnest(%s::bigint[]) c",
        (cells,),
    ).fetchone()[0]
    assert inside
    with pytest.raises(psycopg.errors.InvalidParameterValue) as err:
        gis.execute("SELECT ctas_h3_polygon_to_cells(ST_SetSRID(ST_MakePoint(0, 0), 4326), 9)")
    assert "geom must be a POLYGON or MULTIPOLYGON, got POINT" in str(err.value)


def test_reports_carry_a_geometry_once_postgis_is_there(gis):
    gis.execute("SELECT ctas_schema_upgrade()")
    report = (
        '{"text": "Test-geom: 192.0.2.9", "observed_at": "2035-01-01T00:00:00Z",'
        ' "lat": 10.5, "lng": 20.25}'
    )
    rid = gis.execute("SELECT ctas_ingest_report(%s::jsonb)", (report,)).fetchone()[0]
    try:
        row = gis.execute(
            "SELECT ST_AsText(geom), ST_SRID(geom) FROM ctas.reports WHERE id = %s", (rid,)
        ).fetchone()
        assert row == ("POINT(20.25 10.5)", 4326)
        # Applied once: a second upgrade has nothing to add.
        assert gis.execute("SELECT count(*) FROM ctas_schema_upgrade()").fetchone()[0] == 0
    finally:
        gis.execute("DELETE FROM ctas.reports WHERE id = %s", (rid,))
        gis.execute(
            "DELETE FROM ctas.indicators i"
            " WHERE NOT EXISTS (SELECT 1 FROM ctas.sightings s WHERE s.indicator_id = i.id)"
        )
