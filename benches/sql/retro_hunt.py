"""A retro-hunt: a pattern set of every ATT&CK software name over 10 MB of reports, with
ctas_matches against PostgreSQL's own regular expressions on the same rows.

    python benches/sql/retro_hunt.py CORPUS ATTACK_BUNDLE_GZ

Shows that the hunt costs the reading of the rows, not the compiling: the first call in
a new backend (compiles the set) against the next ones, and both against a LIKE that
reads every byte of every row and matches nothing (the floor).
"""

from __future__ import annotations

import gzip
import json
import re
import sys
import time

import benchdb
import psycopg


def software_names(bundle_path: str) -> list[str]:
    bundle = json.load(gzip.open(bundle_path))
    names = {
        o["name"]
        for o in bundle["objects"]
        if o["type"] in ("malware", "tool")
        and not o.get("revoked")
        and not o.get("x_mitre_deprecated")
    }
    return sorted(names)


def main() -> None:
    corpus, bundle = sys.argv[1], sys.argv[2]
    names = software_names(bundle)
    conn = benchdb.connect()
    rows = benchdb.load_reports(conn, corpus)
    conn.execute("DELETE FROM ctas_pattern_sets WHERE name LIKE 'bench-%'")
    sets = {"bench-attack-100": names[:100], "bench-attack-all": names}
    for set_name, subset in sets.items():
        conn.execute("INSERT INTO ctas_pattern_sets (name) VALUES (%s)", (set_name,))
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO ctas_patterns (set_name, pattern_id, regex) VALUES (%s, %s, %s)",
                [(set_name, n, rf"(?i)\b{re.escape(n)}\b") for n in subset],
            )
    floor = benchdb.median_seconds(
        conn, "SELECT count(*) FROM ioc_reports WHERE body LIKE '%zq#xj%'", 3
    )
    results = [("LIKE '%zq#xj%' (reads every byte, matches nothing): the floor", floor, None)]
    for set_name, subset in sets.items():
        query = f"SELECT count(*) FROM ioc_reports WHERE ctas_matches(body, '{set_name}')"
        with psycopg.connect(conn.info.dsn, autocommit=True) as fresh:
            fresh.execute("SET max_parallel_workers_per_gather = 0")
            start = time.perf_counter()
            hits = fresh.execute(query).fetchone()[0]
            first = time.perf_counter() - start
        results.append(
            (f"ctas_matches, {len(subset)} patterns, first call in a new backend", first, hits)
        )
        results.append(
            (
                f"ctas_matches, {len(subset)} patterns, next calls",
                benchdb.median_seconds(conn, query, 3),
                hits,
            )
        )
    pg_patterns = [rf"\m{re.escape(n)}\M" for n in names[:100]]
    start = time.perf_counter()
    hits = conn.execute(
        "SELECT count(*) FROM ioc_reports WHERE body ~* ANY(%s)", (pg_patterns,)
    ).fetchone()[0]
    results.append(("PostgreSQL body ~* ANY(100 patterns)", time.perf_counter() - start, hits))

    print(f"{rows} reports, {len(names)} ATT&CK software names\n")
    print("| query | seconds | × floor | rows matched |")
    print("|---|---|---|---|")
    for name, secs, hits in results:
        print(f"| {name} | {secs:.3f} | {secs / floor:.2f} | {'' if hits is None else hits} |")
    conn.execute("DELETE FROM ctas_pattern_sets WHERE name LIKE 'bench-%'")
    conn.execute("DROP TABLE ioc_reports")


if __name__ == "__main__":
    main()
