"""ctas_h3_cell per row against the floor of a trivial SQL function over the same rows.

    make bench-h3               # or: scripts/bench.sh h3 [rows]

N random points in a table of the benchmarks' database; each query aggregates the
function over every row, 5 times after a warm-up, median; parallel query off.

With h3-pg installed (`scripts/h3pg.sh` builds it from source trees), its
`h3_latlng_to_cell` runs in the same run, and every row's cell is compared with ours.
"""

from __future__ import annotations

import sys

import benchdb

RUNS = 5


def main() -> None:
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    with benchdb.connect() as conn:
        conn.execute(
            "CREATE OR REPLACE FUNCTION trivial_cell(lat float8, lng float8, res int)"
            " RETURNS bigint LANGUAGE sql IMMUTABLE PARALLEL SAFE AS 'SELECT res::bigint'"
        )
        have = conn.execute("SELECT to_regclass('h3_points') IS NOT NULL").fetchone()[0]
        if not have or conn.execute("SELECT count(*) FROM h3_points").fetchone()[0] != rows:
            conn.execute("DROP TABLE IF EXISTS h3_points")
            conn.execute(
                "CREATE TABLE h3_points AS SELECT random() * 180 - 90 AS lat,"
                " random() * 360 - 180 AS lng FROM generate_series(1, %s)",
                (rows,),
            )
            conn.execute("VACUUM ANALYZE h3_points")
        queries = {
            "floor: trivial SQL function (inlined)": (
                "SELECT sum(trivial_cell(lat, lng, 9)) FROM h3_points"
            ),
            "ctas_h3_cell(lat, lng, 9)": "SELECT sum(ctas_h3_cell(lat, lng, 9) % 7) FROM h3_points",
            "ctas_h3_cell(lat, lng, 15)": (
                "SELECT sum(ctas_h3_cell(lat, lng, 15) % 7) FROM h3_points"
            ),
        }
        h3pg = conn.execute(
            "SELECT default_version FROM pg_available_extensions WHERE name = 'h3'"
        ).fetchone()
        if h3pg is None:
            print("h3-pg is not installed (scripts/h3pg.sh builds it): no comparison with it\n")
        else:
            conn.execute("CREATE EXTENSION IF NOT EXISTS h3")
            for res in (9, 15):
                queries[f"h3-pg h3_latlng_to_cell(point(lng, lat), {res})"] = (
                    f"SELECT sum(h3_latlng_to_cell(point(lng, lat), {res})::bigint % 7)"
                    " FROM h3_points"
                )
                differ = conn.execute(
                    f"SELECT count(*) FROM h3_points WHERE ctas_h3_cell(lat, lng, {res})"
                    f" <> h3_latlng_to_cell(point(lng, lat), {res})::bigint"
                ).fetchone()[0]
                print(f"resolution {res}: cells that differ from h3-pg's: {differ:,} of {rows:,}")
            print(f"h3-pg {conn.execute('SELECT h3_get_extension_version()').fetchone()[0]}\n")
        results = {name: benchdb.median_seconds(conn, q, RUNS) for name, q in queries.items()}
    print(f"{rows:,} rows, median of {RUNS}, one core\n")
    benchdb.floor_table(results, rows, "floor: trivial SQL function (inlined)")


if __name__ == "__main__":
    main()
