"""DBSCAN of N points: ctas_dbscan against PostGIS ST_ClusterDBSCAN on the same points.

    make bench-dbscan           # or: scripts/bench.sh dbscan [points]

Points: clustered around 2,000 centres (about 160 m across) plus 20 % uniform noise,
within 50 km of Paris.
PostGIS clusters them projected (azimuthal equidistant on the same sphere, centred on
the data), CTAS on the sphere; both with eps = 50 m, minpoints = 5, in the database
ctas_bench, from a table to the number of clusters (the highest id + 1: both number
clusters from 0 without gaps; a count(DISTINCT) would add the same sort of a million ids
to both) and of noise points. The clusters agree as tests/python/test_dbscan.py checks;
here their counts are compared. A third query does what ctas_dbscan's interface costs
PostgreSQL without the clustering: the three arrays built from the table and a million
rows returned. Median of RUNS (1 by default at 1M points: PostGIS takes long).
"""

from __future__ import annotations

import statistics
import sys
import time

import benchdb

R = 6371008.8
CENTRE = (48.8566, 2.3522)
EPS, MINPOINTS = 50.0, 5
SRID = 990001
PROJ = f"+proj=aeqd +lat_0={CENTRE[0]} +lon_0={CENTRE[1]} +R={R} +units=m +no_defs"


def timed(conn, query, runs):
    times, result = [], None
    for _ in range(runs):
        start = time.perf_counter()
        result = conn.execute(query).fetchone()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    with benchdb.connect() as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
        have = conn.execute("SELECT to_regclass('dbscan_points') IS NOT NULL").fetchone()[0]
        if not have or conn.execute("SELECT count(*) FROM dbscan_points").fetchone()[0] != n:
            print(f"generating {n:,} points ...", file=sys.stderr)
            conn.execute("DROP TABLE IF EXISTS dbscan_points")
            conn.execute(
                """
                CREATE TABLE dbscan_points AS
                WITH centres AS (
                    SELECT c, 48.8566 + (random() - 0.5) * 0.9 AS lat0,
                              2.3522 + (random() - 0.5) * 1.35 AS lng0
                    FROM generate_series(1, 2000) c
                )
                SELECT i AS id,
                       CASE WHEN i %% 5 = 0 THEN 48.8566 + (random() - 0.5) * 0.9
                            ELSE lat0 + (random() - 0.5) * 0.0015 END AS lat,
                       CASE WHEN i %% 5 = 0 THEN 2.3522 + (random() - 0.5) * 1.35
                            ELSE lng0 + (random() - 0.5) * 0.0022 END AS lng
                FROM generate_series(1, %s) i JOIN centres ON c = 1 + i %% 2000
                """,
                (n,),
            )
            # A spatial_ref_sys entry, so that PROJ sets the projection up once, not per row.
            conn.execute(
                "INSERT INTO spatial_ref_sys (srid, auth_name, auth_srid, proj4text)"
                " VALUES (%s, 'ctas', %s, %s) ON CONFLICT (srid) DO UPDATE"
                " SET proj4text = EXCLUDED.proj4text",
                (SRID, SRID, PROJ),
            )
            conn.execute(
                "ALTER TABLE dbscan_points ADD COLUMN geom geometry;"
                " UPDATE dbscan_points SET geom = ST_Transform("
                f"   ST_SetSRID(ST_MakePoint(lng, lat), 4326), {SRID})"
            )
            conn.execute("VACUUM ANALYZE dbscan_points")
        postgis = (
            "SELECT max(cid) + 1, count(*) FILTER (WHERE cid IS NULL) FROM ("
            f" SELECT ST_ClusterDBSCAN(geom, {EPS}, {MINPOINTS}) OVER () AS cid"
            " FROM dbscan_points) s"
        )
        ctas = (
            "SELECT max(cluster_id) + 1, count(*) FILTER (WHERE cluster_id IS NULL)"
            " FROM (SELECT array_agg(id) AS i, array_agg(lat) AS la, array_agg(lng) AS lo"
            "       FROM dbscan_points) a,"
            f" ctas_dbscan(a.i, a.la, a.lo, {EPS}, {MINPOINTS})"
        )
        floor = (
            "SELECT NULL::int, count(*) FILTER (WHERE x IS NULL)"
            " FROM (SELECT array_agg(id) AS i, array_agg(lat) AS la, array_agg(lng) AS lo"
            "       FROM dbscan_points) a, unnest(a.i) x"
        )
        t_floor, r_floor = timed(conn, floor, runs)
        t_ctas, r_ctas = timed(conn, ctas, runs)
        t_postgis, r_postgis = timed(conn, postgis, runs)
    print(f"{n:,} points, eps {EPS} m, minpoints {MINPOINTS}, median of {runs}\n")
    print("| run | seconds | clusters | noise points | PostGIS ÷ this |")
    print("|---|---|---|---|---|")
    for name, secs, (clusters, noise) in [
        ("PostGIS ST_ClusterDBSCAN (projected)", t_postgis, r_postgis),
        ("ctas_dbscan (sphere)", t_ctas, r_ctas),
        ("no clustering: arrays in, a million rows out (unnest)", t_floor, r_floor),
    ]:
        counts = "| – | –" if clusters is None else f"| {clusters:,} | {noise:,}"
        print(f"| {name} | {secs:.2f} {counts} | {t_postgis / secs:.1f} |")


if __name__ == "__main__":
    main()
