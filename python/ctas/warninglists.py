"""Load MISP warninglists into the ctas_warninglists table.

    python -m ctas.warninglists load DIR_OR_FILE [...]

Every ``*.json`` (or ``*/list.json``, as MISP's repository lays them out) is loaded with
``ctas_warninglist_load`` in one transaction: either all lists load or none does, and a
list that cannot be read is named with the reason. Progress goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import psycopg

import ctas
from ctas.files import json_files


def load(conn: psycopg.Connection, files: list[Path], progress=sys.stderr) -> tuple[int, int]:
    """Load every file in one transaction; returns (lists, entries)."""
    entries = 0
    with conn.transaction():
        for n, f in enumerate(files, 1):
            try:
                data = json.loads(f.read_text())
            except (OSError, ValueError) as e:
                raise SystemExit(f"ctas.warninglists: {f}: not JSON: {e}") from None
            try:
                conn.execute("SELECT ctas_warninglist_load(%s::jsonb)", (json.dumps(data),))
            except psycopg.Error as e:
                raise SystemExit(f"ctas.warninglists: {f}: {e.diag.message_primary or e}") from None
            entries += len(data.get("list", []))
            print(
                f"\r[{n}/{len(files)}] {entries:,} entries  {f.name[:40]:<40}",
                end="",
                file=progress,
                flush=True,
            )
    print(file=progress)
    return len(files), entries


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ctas.warninglists", description=__doc__.split("\n")[0]
    )
    sub = parser.add_subparsers(dest="command", required=True)
    load_cmd = sub.add_parser("load", help="load warninglists from files or directories")
    load_cmd.add_argument("paths", nargs="+")
    args = parser.parse_args(argv)
    files = json_files(args.paths, "ctas.warninglists", "list.json")
    with ctas.connect() as conn:
        lists, entries = load(conn, files)
    print(f"loaded {lists} warninglists ({entries:,} entries) into ctas_warninglists")
    return 0


if __name__ == "__main__":
    sys.exit(main())
