"""IOC extraction accuracy: CTAS (through SQL) and ioc-finder on ioc-finder's own cases.

    python benches/sql/ioc_accuracy.py [../shared/data/ioc/iocfinder_cases.jsonl]

Each case is {"text", "expected": {ioc-finder type: [values]}, "args"}. ioc-finder's type
names are mapped onto CTAS kinds for the types both extract; values are compared after
the same normalisation on both sides (case, IPv6 form, ASN spelling). ioc-finder options
are honoured where CTAS has the same notion: `included_ioc_types` limits the types scored,
`parse_domain_from_url=False` leaves URL hosts out, and e-mail domains count as domains
unless `parse_domain_from_email_address=False` (CTAS reports the e-mail, not its domain).

Prints per-type recall and precision of both tools, then every expected value CTAS
misses and every value it adds, so a disagreement can be read rather than guessed at.
"""

from __future__ import annotations

import ipaddress
import json
import os
import sys
from collections import defaultdict
from pathlib import Path

import benchdb
from ioc_finder import find_iocs
from ioc_finder.ioc_finder import SUPPORTED_IOC_TYPES

DATA = Path(
    os.environ.get("CTAS_SHARED_DATA", Path(__file__).resolve().parents[3] / "shared" / "data")
)
CASES = DATA / "ioc" / "iocfinder_cases.jsonl"

# ioc-finder type -> CTAS kinds whose values answer it.
SHARED = {
    "domains": ["domain"],
    "urls": ["url"],
    "ipv4s": ["ipv4"],
    "ipv6s": ["ipv6"],
    "ipv4_cidrs": ["cidr"],
    "email_addresses": ["email"],
    "md5s": ["md5"],
    "sha1s": ["sha1"],
    "sha256s": ["sha256"],
    "sha512s": ["sha512"],
    "ssdeeps": ["ssdeep"],
    "imphashes": ["imphash"],
    "cves": ["cve"],
    "asns": ["asn"],
    "attack_techniques": ["attack_technique"],
    "attack_tactics": ["attack_tactic"],
    "attack_mitigations": ["attack_mitigation"],
    "mac_addresses": ["mac"],
    "bitcoin_addresses": ["bitcoin"],
    "monero_addresses": ["monero"],
    "registry_key_paths": ["registry_key"],
}


# Values the cases expect that are the mistakes CTAS is built not to make.
DELIBERATE = {
    (
        "bitcoin_addresses",
        "18ddf28a71089acdbab5038f58044c0a",
    ): "an MD5 (imphash), no base58check checksum",
    ("domains", "abc.py"): "a Python file name",
    ("domains", "test.py"): "a Python file name",
    (
        "domains",
        "cba0019_file_00002_pdf.zip",
    ): "a file name; `_` is not allowed in a host name's label",
}


def norm(kind: str, value: str) -> str:
    v = value.strip()
    if kind in ("ipv6s",):
        try:
            return str(ipaddress.ip_address(v.split("%")[0]))
        except ValueError:
            return v.lower()
    if kind == "asns":
        digits = v.upper().removeprefix("ASN").removeprefix("AS").strip()
        return "AS" + digits
    if kind == "mac_addresses":
        return "".join(c for c in v.lower() if c in "0123456789abcdef")
    if kind in ("registry_key_paths", "bitcoin_addresses", "monero_addresses", "ssdeeps"):
        return v
    if kind == "urls":
        return v.lower().rstrip("/")
    return v.lower()


def flatten(values) -> list[str]:
    if isinstance(values, dict):  # ATT&CK ids come per matrix
        return [v for vs in values.values() for v in vs]
    return list(values)


def ctas_found(conn, text: str, args: dict) -> dict[str, set[str]]:
    rows = conn.execute(
        "SELECT kind, value, start_pos, end_pos FROM ctas_extract_iocs(%s)", (text,)
    ).fetchall()
    urls = [(s, e) for k, _, s, e in rows if k == "url"]
    out: dict[str, set[str]] = defaultdict(set)
    for kind, value, start, end in rows:
        for ftype, kinds in SHARED.items():
            if kind not in kinds:
                continue
            if ftype == "domains" and any(us <= start and end <= ue for us, ue in urls):
                before = text[: start - 1]
                is_host = before.endswith(("://", "@"))
                in_path = not is_host and "?" not in text[before.rfind("/", 0) : start - 1]
                if is_host and args.get("parse_domain_from_url") is False:
                    continue
                if in_path and args.get("parse_from_url_path") is False:
                    continue
            out[ftype].add(norm(ftype, value))
        if kind == "email" and args.get("parse_domain_from_email_address") is not False:
            domain = value.rsplit("@", 1)[1].lower()
            out["ipv4s" if domain.startswith("[") else "domains"].add(domain.strip("[]"))
        if kind == "cidr" and ":" not in value:
            out["ipv4s"].add(value.split("/")[0])
    return out


def finder_found(text: str, args: dict) -> dict[str, set[str]]:
    # The cases were written when every type was parsed by default; 9.x parses a few
    # unless told, so name them all unless the case names its own.
    found = find_iocs(text, **{"included_ioc_types": SUPPORTED_IOC_TYPES, **args})
    return {t: {norm(t, v) for v in flatten(found.get(t, []))} for t in SHARED}


def main() -> None:
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else CASES
    cases = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    conn = benchdb.connect()
    tally = {tool: defaultdict(lambda: [0, 0, 0]) for tool in ("ctas", "ioc-finder")}  # tp, fp, fn
    misses, extras = [], []
    for case in cases:
        args = case.get("args") or {}
        scored = [t for t in SHARED if t in args.get("included_ioc_types", SHARED)]
        expected = {t: {norm(t, v) for v in flatten(case["expected"].get(t, []))} for t in SHARED}
        complete = {norm("urls", v) for v in case["expected"].get("urls_complete", [])}
        for tool, got in (
            ("ctas", ctas_found(conn, case["text"], args)),
            ("ioc-finder", finder_found(case["text"], args)),
        ):
            for t in scored:
                g, e = got.get(t, set()), expected[t]
                if t == "urls" and tool == "ctas":
                    # ioc-finder keeps two forms of a URL: `urls` cut at a comma or after
                    # the user info, `urls_complete` whole. CTAS reports the whole URL;
                    # it answers the cut form it contains.
                    g = {next((x for x in e if x in v), v) if v in complete else v for v in g}
                tally[tool][t][0] += len(g & e)
                tally[tool][t][1] += len(g - e)
                tally[tool][t][2] += len(e - g)
                if tool == "ctas":
                    misses += [(case["id"], t, v) for v in sorted(e - g)]
                    extras += [(case["id"], t, v) for v in sorted(g - e)]

    def pct(a: int, b: int) -> str:
        return f"{100 * a / b:.0f}%" if b else "–"

    def scores(c: list[int], f: list[int]) -> str:
        """Recall and precision of CTAS, then of ioc-finder, from (tp, fp, fn)."""
        cells = [pct(t[0], t[0] + t[k]) for t in (c, f) for k in (2, 1)]
        return " | ".join(cells)

    print(f"{len(cases)} cases from {path.name}\n")
    print(
        "| type | expected | CTAS recall | CTAS precision "
        "| ioc-finder recall | ioc-finder precision |"
    )
    print("|---|---|---|---|---|---|")
    totals = {tool: [0, 0, 0] for tool in tally}
    for t in SHARED:
        c, f = tally["ctas"][t], tally["ioc-finder"][t]
        n = c[0] + c[2]
        if n == 0 and c[1] == 0 and f[1] == 0:
            continue
        for tool, v in (("ctas", c), ("ioc-finder", f)):
            totals[tool] = [a + b for a, b in zip(totals[tool], v, strict=True)]
        print(f"| {t} | {n} | {scores(c, f)} |")
    c, f = totals["ctas"], totals["ioc-finder"]
    print(f"| **all shared types** | {c[0] + c[2]} | {scores(c, f)} |")
    deliberate = [m for m in misses if (m[1], m[2]) in DELIBERATE]
    rest = len(misses) - len(deliberate)
    print(
        f"\nCTAS recall leaving out the {len(deliberate)} expected values that are the mistakes"
        f" CTAS is built not to make: {pct(c[0], c[0] + rest)}"
    )
    print("\nExpected by ioc-finder, not found by CTAS:")
    for case_id, t, v in misses:
        why = DELIBERATE.get((t, v))
        print(f"- {case_id}: {t} {v!r}" + (f" (deliberate: {why})" if why else ""))
    print("\nFound by CTAS, not expected by ioc-finder:")
    for case_id, t, v in extras:
        print(f"- {case_id}: {t} {v!r}")


if __name__ == "__main__":
    main()
