"""ctas_h3_cell per row against the floor of a trivial SQL function over the same rows.

    make bench-h3               # or: scripts/bench.sh h3 [rows]

N random points in a table of the benchmarks' database; each query aggregates the
function over every row, 5 times after a warm-up, median; parallel query off.

h3-pg is not in the package registries this project installs from; its figures in
benches/RESULTS.md were measured once, from source trees brought in by hand, and are
kept there as such.
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
        results = {name: benchdb.median_seconds(conn, q, RUNS) for name, q in queries.items()}
    print(f"{rows:,} rows, median of {RUNS}, one core\n")
    benchdb.floor_table(results, rows, "floor: trivial SQL function (inlined)")


if __name__ == "__main__":
    main()
