"""Load threat feeds — STIX 2.x bundles and MISP event exports — into the cold tier.

    python -m ctas.feeds load DIR_OR_FILE [...]

Every ``*.json`` is told apart by what it holds (a STIX bundle says ``"type":
"bundle"``; a MISP export has ``Event`` or ``response``) and stored with
``ctas_ingest_stix`` or ``ctas_ingest_misp``, all files in one transaction: either every
file loads or none does, and a file that cannot be read is named with the reason (exit
status 1). The schema is applied first if missing (``ctas_schema_upgrade()``). Progress
goes to stderr, the totals of what was new to stdout. Loading the same files again adds
nothing.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import psycopg

import ctas
from ctas.files import json_files

KINDS = ("reports", "indicators", "sightings", "relationships")


def kind_of(data) -> str | None:
    """`stix`, `misp`, or None for anything else."""
    if isinstance(data, dict) and data.get("type") == "bundle":
        return "stix"
    if isinstance(data, dict) and ("Event" in data or "response" in data):
        return "misp"
    if isinstance(data, list) and data and isinstance(data[0], dict) and "Event" in data[0]:
        return "misp"
    return None


def load(conn: psycopg.Connection, files: list[Path], progress=sys.stderr) -> dict[str, int]:
    """Load every file in one transaction; returns what was new, by table, and the files
    of each format."""
    totals = dict.fromkeys(("stix", "misp", *KINDS), 0)
    with conn.transaction():
        conn.execute("SELECT ctas_schema_upgrade()")
        for n, f in enumerate(files, 1):
            try:
                data = json.loads(f.read_text())
            except (OSError, ValueError) as e:
                raise SystemExit(f"ctas.feeds: {f}: not JSON: {e}") from None
            kind = kind_of(data)
            if kind is None:
                raise SystemExit(f"ctas.feeds: {f}: neither a STIX bundle nor a MISP event export")
            try:
                added = conn.execute(
                    f"SELECT ctas_ingest_{kind}(%s::jsonb)", (json.dumps(data),)
                ).fetchone()[0]["added"]
            except psycopg.Error as e:
                raise SystemExit(f"ctas.feeds: {f}: {e.diag.message_primary or e}") from None
            totals[kind] += 1
            for k in KINDS:
                totals[k] += added.get(k, 0)
            print(
                f"\r[{n}/{len(files)}] {totals['reports']:,} reports,"
                f" {totals['indicators']:,} indicators  {f.name[:40]:<40}",
                end="",
                file=progress,
                flush=True,
            )
    print(file=progress)
    return totals


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ctas.feeds", description=__doc__.split("\n")[0]
    )
    sub = parser.add_subparsers(dest="command", required=True)
    load_cmd = sub.add_parser(
        "load", help="load STIX bundles and MISP events from files or directories"
    )
    load_cmd.add_argument("paths", nargs="+")
    args = parser.parse_args(argv)
    files = json_files(args.paths, "ctas.feeds")
    with ctas.connect() as conn:
        t = load(conn, files)
    print(
        f"loaded {t['stix']} STIX bundles and {t['misp']} MISP exports:"
        f" new {t['reports']:,} reports, {t['indicators']:,} indicators,"
        f" {t['sightings']:,} sightings, {t['relationships']:,} relationships"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
