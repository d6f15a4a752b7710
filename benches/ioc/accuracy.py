"""IOC extraction accuracy on real vendor reports: CTAS and four Python peers, same run.

    python benches/ioc/accuracy.py [--record benches/ioc/peers.json]

The corpus is `reports.py`'s (Avast's and ESET's reports, truth from the authors' own
lists). CTAS
runs through SQL (`ctas_extract_iocs`, the release build `make bench-ioc-accuracy`
installs); iocextract, ioc-finder, iocsearcher and msticpy run as their documentation
shows, each on the whole text of every report. Every value any tool reports goes
through the same refang and normalisation (`reports.norm`) before it is compared.

Per kind: the listed values, each tool's recall, and its extras split into
verified-wrong (a listed value cut short or run on) and unlisted (not in the authors'
list: often right, such as a domain inside a listed URL, sometimes not). A tool that
does not extract a kind at all shows "–". `--record` writes the peers' figures, which
the regression test (`tests/python/test_ioc_reports.py`) holds CTAS to without running
the peers again.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections import defaultdict
from datetime import date
from importlib import metadata
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "sql"))

import benchdb  # noqa: E402
import reports  # noqa: E402

PEERS = ("iocextract", "ioc-finder", "iocsearcher", "msticpy")


def ctas_tool():
    conn = benchdb.connect()

    def run(text: str) -> dict[str, set[str]]:
        out: dict[str, set[str]] = defaultdict(set)
        for kind, value in conn.execute(
            "SELECT kind, value FROM ctas_extract_iocs(%s)", (text,)
        ).fetchall():
            out[kind].add(value)
        return out

    return run, set(reports.KINDS)


def iocextract_tool():
    import iocextract

    def run(text: str) -> dict[str, set[str]]:
        return {
            "url": set(iocextract.extract_urls(text, refang=True)),
            "ipv4": set(iocextract.extract_ipv4s(text, refang=True)),
            "ipv6": set(iocextract.extract_ipv6s(text)),
            "email": set(iocextract.extract_emails(text, refang=True)),
            "md5": set(iocextract.extract_md5_hashes(text)),
            "sha1": set(iocextract.extract_sha1_hashes(text)),
            "sha256": set(iocextract.extract_sha256_hashes(text)),
        }

    return run, set(reports.KINDS) - {"domain"}


def iocfinder_tool():
    from ioc_finder import find_iocs

    names = {
        "urls": "url",
        "domains": "domain",
        "ipv4s": "ipv4",
        "ipv6s": "ipv6",
        "email_addresses": "email",
        "md5s": "md5",
        "sha1s": "sha1",
        "sha256s": "sha256",
    }

    def run(text: str) -> dict[str, set[str]]:
        found = find_iocs(text, included_ioc_types=list(names))
        return {kind: set(found.get(t, [])) for t, kind in names.items()}

    return run, set(reports.KINDS)


def iocsearcher_tool():
    from iocsearcher.searcher import Searcher

    searcher = Searcher()
    names = {
        "url": "url",
        "fqdn": "domain",
        "ip4": "ipv4",
        "ip6": "ipv6",
        "email": "email",
        "md5": "md5",
        "sha1": "sha1",
        "sha256": "sha256",
    }

    def run(text: str) -> dict[str, set[str]]:
        out: dict[str, set[str]] = defaultdict(set)
        for ioc in searcher.search_data(text):
            if ioc.name in names:
                out[names[ioc.name]].add(ioc.value)
            elif ioc.name == "onionAddress":  # reported without its ".onion"
                out["domain"].add(ioc.value + ".onion")
        return out

    return run, set(reports.KINDS)


def msticpy_tool():
    # msticpy's domain check asks tldextract, which tries to download the public suffix
    # list and logs the failure at every call here (no network); it then uses its copy.
    logging.getLogger("tldextract").setLevel(logging.CRITICAL)
    from msticpy.transform.iocextract import IoCExtract

    extractor = IoCExtract()
    names = {
        "url": "url",
        "dns": "domain",
        "ipv4": "ipv4",
        "ipv6": "ipv6",
        "email": "email",
        "md5_hash": "md5",
        "sha1_hash": "sha1",
        "sha256_hash": "sha256",
    }

    def run(text: str) -> dict[str, set[str]]:
        found = extractor.extract(src=text)
        return {kind: set(found.get(t, ())) for t, kind in names.items()}

    return run, set(reports.KINDS)


TOOLS = {
    "ctas": ctas_tool,
    "iocextract": iocextract_tool,
    "ioc-finder": iocfinder_tool,
    "iocsearcher": iocsearcher_tool,
    "msticpy": msticpy_tool,
}


def evaluate(corpus: list[dict], tools: dict) -> tuple[dict, list]:
    """Per tool, per kind, the Score; and CTAS's misses and verified-wrong extras."""
    scores: dict[str, dict[str, reports.Score]] = {}
    notes = []
    for name, make in tools.items():
        run, kinds = make()
        per_kind: dict[str, reports.Score] = {}
        for r in corpus:
            found = run(r["text"])
            found = {k: v for k, v in found.items() if k in kinds}
            reports.score(found, r["truth"], r["text"], per_kind)
            if name == "ctas":
                for kind in reports.KINDS:
                    listed = set(r["truth"].get(kind, ()))
                    got = {reports.norm(kind, v) for v in found.get(kind, ())}
                    notes += [(r["id"], kind, "missed", v) for v in sorted(listed - got)]
                    notes += [
                        (r["id"], kind, "wrong", v)
                        for v in sorted(got - listed)
                        if reports.verified_wrong(v, listed, r["text"])
                    ]
        scores[name] = {k: s for k, s in per_kind.items() if k in kinds}
    return scores, notes


def overall(per_kind: dict[str, reports.Score]) -> reports.Score:
    total = reports.Score()
    for s in per_kind.values():
        total.listed += s.listed
        total.found += s.found
        total.wrong += s.wrong
        total.unlisted += s.unlisted
    return total


def table(scores: dict, corpus: list[dict]) -> str:
    names = list(scores)
    lines = [
        f"{len(corpus)} reports ("
        + ", ".join(f"{src.repo} at {src.commit[:7]}" for src in reports.SOURCES)
        + "); "
        "cells: recall, verified-wrong / unlisted extras\n",
        "| kind | listed | " + " | ".join(names) + " |",
        "|---|---|" + "---|" * len(names),
    ]
    kinds = [k for k in reports.KINDS if any(k in s and s[k].listed for s in scores.values())]
    for kind in [*kinds, "all"]:
        cells = []
        listed = 0
        for n in names:
            s = overall(scores[n]) if kind == "all" else scores[n].get(kind)
            if s is None:
                cells.append("–")
                continue
            listed = max(listed, s.listed)
            cells.append(f"{s.recall:.3f}, {s.wrong} / {s.unlisted}")
        label = "**all**" if kind == "all" else kind
        lines.append(f"| {label} | {listed} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--record", type=Path, help="write the peers' figures to this file")
    parser.add_argument("--only", help="comma-separated tools (default: all)")
    args = parser.parse_args()
    tools = TOOLS
    if args.only:
        tools = {n: TOOLS[n] for n in args.only.split(",")}
    corpus = reports.load()
    scores, notes = evaluate(corpus, tools)
    print(table(scores, corpus))
    print("\nCTAS's misses and verified-wrong extras:")
    for report, kind, what, value in notes:
        print(f"- {report}: {kind} {what} {value!r}")
    if args.record:
        peers = {
            n: {k: {"listed": s.listed, "found": s.found, "wrong": s.wrong} for k, s in v.items()}
            for n, v in scores.items()
            if n in PEERS
        }
        versions = {n: metadata.version(n) for n in PEERS}
        record = {
            "corpus": reports.corpus_path().name,
            "date": date.today().isoformat(),
            "versions": versions,
            "peers": peers,
        }
        args.record.write_text(json.dumps(record, indent=1, sort_keys=True) + "\n")
        print(f"\npeers' figures written to {args.record}")


if __name__ == "__main__":
    main()
