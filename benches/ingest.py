"""STIX ingest, by benchmark (benches/RESULTS.md): MITRE ATT&CK (24,771 objects)

- acknowledged by the router (release build, POST /v1/ingest, fresh data directory and
  database each run): objects/s until the 202, and the time until the cold tier, then
  every tier (SurrealDB, PostgreSQL, Neo4j) holds it;
- through SQL, `SELECT ctas_ingest_stix(bundle)` into a fresh database: objects/s;
- the peer in the same run: a plain COPY of the very rows the ingest stored, into the
  same tables emptied (same indexes and constraints), so the cold load's cost over the
  floor PostgreSQL itself sets is a ratio.

    python benches/ingest.py ROUTER_BINARY GRAPH_LOAD_BINARY ATTACK_BUNDLE.json.gz [RUNS]

GRAPH_LOAD_BINARY is ctas_router/examples/graph_load, which empties Neo4j before each
router run, so every run writes the graph from nothing.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

import psycopg
from psycopg import sql

TABLES = ["sources", "entities", "reports", "indicators", "sightings", "relationships"]


def admin_dsn() -> str:
    return os.environ["CTAS_PG_DSN"]


def fresh_db(name: str) -> str:
    with psycopg.connect(admin_dsn(), autocommit=True) as c:
        c.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        c.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return f"{admin_dsn()} dbname={name}"


def get(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=10) as r:
        return json.load(r)


def peak_rss_mb(pid: int) -> float:
    """The process's peak resident set so far (VmHWM), in MB."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM")


# Where nothing listens: a tier that is down.
NOWHERE = {
    "cold": {"CTAS_PG_DSN": "host=127.0.0.1 port=9 user=ctas dbname=ctas connect_timeout=1"},
    "graph": {"NEO4J_URI": "bolt://127.0.0.1:9"},
}


def router_run(
    binary: str, graph_load: str, body: bytes, objects: int, down: str | None = None
) -> tuple[float, float, float, float, float, float]:
    """Seconds to the 202, to the cold tier holding everything, and to every tier (warm,
    cold, graph) holding it; the router's peak resident memory before the request, at
    the 202 and once the cold tier holds it (MB). With a tier ``down`` (nothing listens
    where it should be), "every tier" is every other tier, and the cold figure is the
    warm tier's when cold is the one down."""
    dsn = fresh_db("ctas_bench_ingest_router")
    subprocess.run([graph_load, "--empty"], check=True)
    # The schema first (the router would apply it on its first write, inside the clock).
    with psycopg.connect(dsn, autocommit=True) as c:
        c.execute("SET client_min_messages = warning")
        c.execute("CREATE EXTENSION ctas")
        c.execute("SELECT ctas_schema_upgrade()")
    port = 8096
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as data:
        env = {**os.environ, "CTAS_PG_DSN": dsn, "CTAS_LOG": "warn", **NOWHERE.get(down, {})}
        proc = subprocess.Popen(
            [binary, "serve", "--listen", f"127.0.0.1:{port}", "--data-dir", data],
            env=env,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.time() + 60
            while True:
                try:
                    get(f"{url}/healthz")
                    break
                except OSError:
                    if time.time() > deadline:
                        raise
                    time.sleep(0.1)
            req = urllib.request.Request(
                f"{url}/v1/ingest", data=body, headers={"Content-Type": "application/json"}
            )
            rss_before = peak_rss_mb(proc.pid)
            t0 = time.perf_counter()
            with urllib.request.urlopen(req, timeout=600) as r:
                answer = json.load(r)
            acked = time.perf_counter() - t0
            rss_acked = peak_rss_mb(proc.pid)
            assert sum(answer["objects"].values()) == objects, answer
            first = "warm" if down == "cold" else "cold"
            while True:
                if get(f"{url}/v1/status")["tiers"][first]["pending"] == 0:
                    break
                time.sleep(0.02)
            cold_done = time.perf_counter() - t0
            rss_cold = peak_rss_mb(proc.pid)
            up = [t for t in ("warm", "cold", "graph") if t != down]
            while True:
                tiers = get(f"{url}/v1/status")["tiers"]
                if all(tiers[t]["pending"] == 0 for t in up):
                    break
                time.sleep(0.02)
            every_tier = time.perf_counter() - t0
            if down is not None:
                # The tier down waits for all of it, nothing lost: its outbox holds it.
                assert tiers[down]["pending"] >= objects, tiers
            return acked, cold_done, every_tier, rss_before, rss_acked, rss_cold
        finally:
            proc.terminate()
            proc.wait(timeout=60)


def sql_run(bundle_text: str) -> tuple[float, float, float]:
    """Seconds of ctas_ingest_stix; of a COPY of the rows it stored into the same tables
    emptied; of the rows' export (not counted in either)."""
    dsn = fresh_db("ctas_bench_ingest_sql")
    with psycopg.connect(dsn, autocommit=True) as c:
        c.execute("SET client_min_messages = warning")
        c.execute("CREATE EXTENSION ctas")
        c.execute("SELECT ctas_schema_upgrade()")
        t0 = time.perf_counter()
        c.execute("SELECT ctas_ingest_stix(%s::jsonb)", (bundle_text,))
        ingest = time.perf_counter() - t0
        dumps = {}
        t0 = time.perf_counter()
        for t in TABLES:
            buf = io.BytesIO()
            with c.cursor().copy(f"COPY ctas.{t} TO STDOUT") as cp:
                for chunk in cp:
                    buf.write(chunk)
            dumps[t] = buf.getvalue()
        export = time.perf_counter() - t0
        c.execute("TRUNCATE " + ", ".join(f"ctas.{t}" for t in TABLES) + " CASCADE")
        t0 = time.perf_counter()
        with c.transaction():
            for t in TABLES:
                with c.cursor().copy(f"COPY ctas.{t} FROM STDIN") as cp:
                    cp.write(dumps[t])
        copy = time.perf_counter() - t0
    return ingest, copy, export


def main() -> None:
    binary, graph_load, bundle_path = sys.argv[1], sys.argv[2], sys.argv[3]
    runs = int(sys.argv[4]) if len(sys.argv) > 4 else 5
    raw = open(bundle_path, "rb").read()
    text = gzip.decompress(raw).decode() if raw[:2] == b"\x1f\x8b" else raw.decode()
    objects = len(json.loads(text)["objects"])
    body = text.encode()
    print(
        f"ATT&CK: {objects} objects, {len(body) / 1e6:.1f} MB of JSON;"
        f" {runs} runs each, median (min-max)"
    )

    def line(name, secs, per=None):
        med, lo, hi = statistics.median(secs), min(secs), max(secs)
        rate = f", {objects / med:,.0f} objects/s" if per is None else ""
        print(f"  {name:<52} {med:6.2f} s ({lo:.2f}-{hi:.2f}){rate}")

    acked, cold, every, rss0, rss1, rss2 = zip(
        *(router_run(binary, graph_load, body, objects) for _ in range(runs)), strict=True
    )
    line("router: POST /v1/ingest until 202 (acknowledged)", acked)
    line("router: until the cold tier holds it all", cold)
    line("router: until every tier (warm, cold, graph) holds it", every)
    for down in ("graph", "cold"):
        d_acked, d_first, d_every, *_ = zip(
            *(router_run(binary, graph_load, body, objects, down) for _ in range(runs)),
            strict=True,
        )
        line(f"router, {down} down: until 202 (acknowledged)", d_acked)
        first = "warm" if down == "cold" else "cold"
        line(f"router, {down} down: until the {first} tier holds it all", d_first)
        line(f"router, {down} down: until every other tier holds it", d_every)
        ratio = statistics.median(d_acked) / statistics.median(acked)
        print(f"  acknowledgement with {down} down / with every tier up: {ratio:.2f}")
    med = statistics.median
    print(
        f"  router peak memory (VmHWM): {med(rss0):.0f} MB before, {med(rss1):.0f} MB at the"
        f" 202, {med(rss2):.0f} MB once the cold tier holds it ({len(body) / 1e6:.0f} MB of JSON)"
    )
    ingest, copy, _ = zip(*(sql_run(text) for _ in range(runs)), strict=True)
    line("SQL: SELECT ctas_ingest_stix(bundle)", ingest)
    line("peer: COPY of the same rows into the same tables", copy, per=False)
    ratios = [i / c for i, c in zip(ingest, copy, strict=True)]
    print(f"  ctas_ingest_stix / COPY, per run: {', '.join(f'{r:.2f}' for r in ratios)}")


if __name__ == "__main__":
    main()
