"""ctas_h3_cell against the reference: the `h3` Python package (Uber's C library)."""

import random

import h3
import psycopg
import pytest

import ctas

POINTS = 100_000
RESOLUTIONS = range(16)


def random_points(seed: int) -> tuple[list[float], list[float]]:
    rng = random.Random(seed)
    lats = [rng.uniform(-90.0, 90.0) for _ in range(POINTS)]
    lngs = [rng.uniform(-180.0, 180.0) for _ in range(POINTS)]
    # The edges of the domain, where a wrong range check or wrap shows first.
    lats[:6] = [90.0, -90.0, 0.0, 89.999999, -0.0, 45.0]
    lngs[:6] = [180.0, -180.0, 0.0, 179.999999, -180.0, 180.0]
    return lats, lngs


@pytest.mark.parametrize("res", RESOLUTIONS)
def test_cells_equal_the_h3_package_on_random_points(conn, res):
    lats, lngs = random_points(seed=res)
    rows = conn.execute(
        "SELECT ctas_h3_cell(lat, lng, %s) FROM unnest(%s::float8[], %s::float8[])"
        " WITH ORDINALITY AS p(lat, lng, n) ORDER BY n",
        (res, lats, lngs),
    ).fetchall()
    got = [r[0] for r in rows]
    cells = (h3.latlng_to_cell(lat, lng, res) for lat, lng in zip(lats, lngs, strict=True))
    want = [h3.str_to_int(c) for c in cells]
    mismatches = [(lats[i], lngs[i], got[i], want[i]) for i in range(POINTS) if got[i] != want[i]]
    assert len(got) == POINTS
    assert not mismatches, f"{len(mismatches)} mismatches at res {res}, first: {mismatches[:3]}"


def test_client_wrapper_returns_the_cell(conn):
    assert hex(ctas.client.h3_cell(conn, 37.775938728915946, -122.41795063018799, 9)) == (
        "0x8928308280fffff"
    )


@pytest.mark.parametrize(
    ("lat", "lng", "res", "argument"),
    [
        (90.000001, 0.0, 5, "lat"),
        (float("nan"), 0.0, 5, "lat"),
        (0.0, 180.5, 5, "lng"),
        (0.0, float("-inf"), 5, "lng"),
        (0.0, 0.0, 16, "res"),
        (0.0, 0.0, -1, "res"),
    ],
)
def test_bad_input_is_sqlstate_22023_naming_the_argument(conn, lat, lng, res, argument):
    with pytest.raises(psycopg.errors.InvalidParameterValue) as err:
        conn.execute("SELECT ctas_h3_cell(%s, %s, %s)", (lat, lng, res))
    assert err.value.sqlstate == "22023"
    assert str(err.value).startswith(f"{argument} must be")


def test_null_in_null_out(conn):
    assert conn.execute("SELECT ctas_h3_cell(NULL, 0, 5)").fetchone() == (None,)


def test_declared_immutable_strict_parallel_safe(conn):
    row = conn.execute(
        "SELECT provolatile, proisstrict, proparallel FROM pg_proc WHERE proname = 'ctas_h3_cell'"
    ).fetchone()
    assert row == ("i", True, "s")
