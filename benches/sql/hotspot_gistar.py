"""Gi* on 100,000 H3 cells: ctas_h3_getis_ord in SQL against PySAL esda, same cells.

    make bench-hotspot          # or: scripts/bench.sh hotspot [cells]

esda is timed twice: G_Local alone, given the weights, and with the k-ring weights
built from the same cells (what a user of esda has to do first). ctas is timed twice:
inside the database, from a table of (cell, value) to an aggregate of the results, and
from Python lists through psycopg to Python rows (where sending and receiving 100,000
rows costs more than Gi* itself). A last query returns the same 100,000 rows from the
stored arrays with no Gi* (unnest): what PostgreSQL itself spends on the rows. Median of
3 runs for esda, of 15 for each query (each takes tens of milliseconds, where this
machine's noise is a few).
"""

from __future__ import annotations

import random
import statistics
import sys
import time

import benchdb
import h3
import numpy as np
from esda.getisord import G_Local
from libpysal.weights import W

RUNS = 3
SQL_RUNS = 15


def timed(f, runs=RUNS):
    times, result = [], None
    for _ in range(runs):
        start = time.perf_counter()
        result = f()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main() -> None:
    target = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    k_disk = 1
    while 3 * k_disk * (k_disk + 1) + 1 < target:
        k_disk += 1
    centre = h3.latlng_to_cell(48.8566, 2.3522, 9)
    rng = random.Random(7)
    cells = h3.grid_disk(centre, k_disk)[:target]
    values = [rng.expovariate(0.2) for _ in cells]
    ints = [h3.str_to_int(c) for c in cells]
    print(
        f"{len(cells):,} cells at resolution 9, k = 1, uniform kernel,"
        f" median of {RUNS} (esda) and {SQL_RUNS} (SQL)\n"
    )

    def build_weights():
        present = set(cells)
        nb = {c: [n for n in h3.grid_disk(c, 1) if n in present and n != c] for c in cells}
        return W(nb, silence_warnings=True)

    t_weights, w = timed(build_weights)
    order = {c: i for i, c in enumerate(cells)}
    y = np.array([values[order[c]] for c in w.id_order])
    t_esda, g = timed(lambda: G_Local(y, w, transform="B", star=True, permutations=0))

    with benchdb.connect() as conn:
        conn.execute("DROP TABLE IF EXISTS cell_values")
        conn.execute("CREATE TABLE cell_values (cell bigint, value float8)")
        with conn.cursor().copy("COPY cell_values FROM STDIN") as copy:
            for row in zip(ints, values, strict=True):
                copy.write_row(row)
        conn.execute("VACUUM ANALYZE cell_values")
        in_db = (
            "SELECT count(*), sum(g.z_score)"
            " FROM (SELECT array_agg(cell) AS c, array_agg(value) AS v FROM cell_values) a,"
            " ctas_h3_getis_ord(a.c, a.v, 1) g"
        )
        t_in_db, _ = timed(lambda: conn.execute(in_db).fetchall(), SQL_RUNS)
        conn.execute("DROP TABLE IF EXISTS cell_arrays")
        conn.execute(
            "CREATE TABLE cell_arrays AS SELECT array_agg(cell) AS c, array_agg(value) AS v"
            " FROM cell_values"
        )
        gi_only = "SELECT count(*), sum(z_score) FROM cell_arrays, ctas_h3_getis_ord(c, v, 1)"
        t_gi, _ = timed(lambda: conn.execute(gi_only).fetchall(), SQL_RUNS)
        rows_only = "SELECT count(*), sum(x) FROM cell_arrays, unnest(c, v) u(cell, x)"
        t_rows, _ = timed(lambda: conn.execute(rows_only).fetchall(), SQL_RUNS)
        # 100,000 result rows overflow the default work_mem (4 MB), so the tuplestore
        # holding them spills to a temporary file; with more, it stays in memory.
        conn.execute("SET work_mem = '64MB'")
        t_gi_mem, _ = timed(lambda: conn.execute(gi_only).fetchall(), SQL_RUNS)
        conn.execute("RESET work_mem")
        query = "SELECT cell, z_score FROM ctas_h3_getis_ord(%s::bigint[], %s::float8[], 1)"
        t_ctas, rows = timed(lambda: conn.execute(query, (ints, values)).fetchall())

    got = dict(rows)
    worst = max(abs(got[h3.str_to_int(c)] - z) for c, z in zip(w.id_order, g.Zs, strict=True))
    print(f"largest |z(ctas) - z(esda)|: {worst:.2e}\n")
    print("| run | seconds | esda G_Local ÷ this | esda with weights ÷ this |")
    print("|---|---|---|---|")
    rows_out = [
        ("esda: weights from k-rings + G_Local", t_weights + t_esda),
        ("esda: G_Local alone, weights given", t_esda),
        ("ctas_h3_getis_ord, arrays stored: Gi* and an aggregate of it", t_gi),
        ("ctas_h3_getis_ord, arrays stored, with work_mem = 64MB", t_gi_mem),
        ("ctas_h3_getis_ord in the database: table -> arrays -> Gi* -> aggregate", t_in_db),
        ("ctas_h3_getis_ord from Python arrays to Python rows", t_ctas),
        ("no Gi*: the stored arrays as 100,000 rows (unnest) and the aggregate", t_rows),
    ]
    for name, secs in rows_out:
        print(f"| {name} | {secs:.3f} | {t_esda / secs:.1f} | {(t_weights + t_esda) / secs:.1f} |")


if __name__ == "__main__":
    main()
