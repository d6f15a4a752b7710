"""``python -m ctas.bench``: run the workloads, print a table, optionally write JSON.

Exit status: 0 when every workload ran and matched, 1 when an answer did not match, 2
for a bad command line, 3 when a peer library is missing (the message names it).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from datetime import UTC, datetime

import ctas
from ctas.bench.workloads import WORKLOADS, NotRun, PeerMissing, Result


def table(results: list[Result]) -> str:
    head = (
        "workload",
        "size",
        "python",
        "python s",
        "peer",
        "peer s",
        "rust s",
        "×python",
        "×peer",
        "match",
        "goal",
    )
    rows = [head]
    for r in results:
        rows.append(
            (
                r.workload,
                r.size,
                r.python,
                f"{r.python_s:.3f}",
                r.peer or "—",
                "—" if r.peer_s is None else f"{r.peer_s:.3f}",
                f"{r.rust_s:.3f}",
                f"{r.ratio:.1f}",
                "—" if r.peer_ratio is None else f"{r.peer_ratio:.1f}",
                "yes" if r.match else "NO",
                "met" if r.goal else "not met",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ctas.bench",
        description="Time the Python baseline, the best Python peer and the Rust core on "
        "the same workloads, and check that their answers match. Goal per workload: at "
        "least 20x the baseline and ahead of the peer.",
    )
    parser.add_argument("--quick", action="store_true", help="a tenth of each size: minutes")
    parser.add_argument("--json", metavar="FILE", help="write the results as JSON to FILE")
    parser.add_argument(
        "--only",
        nargs="+",
        choices=sorted(WORKLOADS),
        metavar="NAME",
        help=f"run these workloads only ({', '.join(WORKLOADS)})",
    )
    args = parser.parse_args(argv)
    chosen = args.only or list(WORKLOADS)
    results: list[Result] = []
    not_run: dict[str, str] = {}
    started = time.perf_counter()
    for n, name in enumerate(chosen, 1):
        doc = (WORKLOADS[name].__doc__ or name).split(":")[0].split(".")[0].strip()
        print(f"[{n}/{len(chosen)}] {name}: {doc} …", file=sys.stderr, flush=True)
        try:
            r = WORKLOADS[name](args.quick)
        except PeerMissing as e:
            print(f"ctas.bench: {name}: {e}", file=sys.stderr)
            return 3
        except NotRun as e:
            not_run[name] = str(e)
            print(f"      not run: {e}", file=sys.stderr, flush=True)
            continue
        results.append(r)
        print(
            f"      rust {r.rust_s:.3f} s, python {r.python_s:.3f} s ({r.ratio:.1f}x),"
            f" {'match' if r.match else 'NO MATCH'}: {r.detail}",
            file=sys.stderr,
            flush=True,
        )
    print(table(results))
    for r in results:
        print(f"{r.workload}: {r.detail}")
    for name, why in not_run.items():
        print(f"{name}: not run: {why}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(
                {
                    "date": datetime.now(UTC).isoformat(timespec="seconds"),
                    "quick": args.quick,
                    "ctas": ctas.__version__,
                    "python": platform.python_version(),
                    "machine": platform.machine(),
                    "seconds": round(time.perf_counter() - started, 1),
                    "workloads": [r.as_dict() | {"goal": r.goal} for r in results],
                    "not_run": not_run,
                },
                f,
                indent=2,
            )
    return 0 if all(r.match for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
