"""IOC extraction speed: ctas_extract_iocs in SQL against ctas_core (criterion) and
against iocextract and ioc-finder, on the same corpus in the same run.

    python benches/sql/ioc_speed.py CORPUS CRITERION_DIR

CORPUS is python/ctas/bench/corpus.py's output (one report per line); CRITERION_DIR holds the
estimates criterion wrote for ioc/extract_reports just before (scripts/bench.sh ioc runs
both). Prints a Markdown table of MB/s and ratios.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import benchdb
import iocextract
from ioc_finder import find_iocs
from ioc_finder.ioc_finder import SUPPORTED_IOC_TYPES


def reports(corpus: Path) -> list[str]:
    lines = corpus.read_text().splitlines()
    return [line.replace("\\n", "\n").replace("\\\\", "\\") for line in lines]


def timed(fn) -> tuple[float, int]:
    start = time.perf_counter()
    n = fn()
    return time.perf_counter() - start, n


def main() -> None:
    corpus, criterion = Path(sys.argv[1]), Path(sys.argv[2])
    texts = reports(corpus)
    mb = sum(len(t.encode()) for t in texts) / 1e6
    estimates = json.loads(
        (criterion / "ioc" / "extract_reports" / "new" / "estimates.json").read_text()
    )
    core = estimates["median"]["point_estimate"] / 1e9

    conn = benchdb.connect()
    assert benchdb.load_reports(conn, corpus) == len(texts)
    query = "SELECT count(*) FROM ioc_reports, ctas_extract_iocs(body)"
    sql_plain = benchdb.median_seconds(conn, query, 3)
    found = conn.execute(query).fetchone()[0]

    results = [
        ("ctas_core::ioc::extract (criterion median)", core, None),
        ("SQL: count(*) FROM reports, ctas_extract_iocs(body)", sql_plain, found),
    ]
    t, n = timed(lambda: sum(len(list(iocextract.extract_iocs(x, refang=True))) for x in texts))
    results.append(("iocextract 1.16.1 extract_iocs(refang=True)", t, n))
    t, n = timed(lambda: sum(len(find_iocs(x)) for x in texts))
    results.append(("ioc-finder 9.4.1 find_iocs (default types)", t, None))
    t, n = timed(
        lambda: sum(len(find_iocs(x, included_ioc_types=SUPPORTED_IOC_TYPES)) for x in texts)
    )
    results.append(("ioc-finder 9.4.1 find_iocs (all types)", t, None))

    print(f"{len(texts)} reports, {mb:.1f} MB ({corpus.name})\n")
    print("| extractor | seconds | MB/s | × ctas_core time | indicators |")
    print("|---|---|---|---|---|")
    for name, secs, n in results:
        shown = "" if n is None else f"{n:,}"
        print(f"| {name} | {secs:.3f} | {mb / secs:.1f} | {secs / core:.2f} | {shown} |")
    conn.execute("DROP TABLE ioc_reports")


if __name__ == "__main__":
    main()
