"""A corpus of realistic threat-report text for the IOC extraction benchmarks.

    python -m ctas.bench.corpus OUT [MEGABYTES]   (default 10)

Deterministic (fixed seed): the same bytes on every machine, so Rust (criterion), SQL
and the Python extractors read the same text. Reports mix prose, defanged and plain
indicators of every kind, tables of hashes and addresses, version strings, file names
and detection names, as vendor reports do.
"""

from __future__ import annotations

import random
import sys

SEED = 20261127
R = random.Random(SEED)

WORDS = (
    "the actor campaign loader beacon payload stage second first infrastructure server "
    "victim network lateral movement credential dumping persistence registry scheduled task "
    "service dropper implant backdoor exfiltration archive encrypted traffic observed "
    "analysts identified attributed operators targeting government energy sector sample "
    "compiled timestamp configuration decoded strings mutex named pipe command control "
    "phishing attachment macro document spearphishing exploit vulnerability patched "
    "unpatched appliance firewall edge device web shell uploaded executed obfuscated "
    "PowerShell script downloaded from hosted on resolved to registered domain certificate"
).split()
TLDS = ["com", "net", "org", "info", "ru", "cn", "io", "xyz", "top", "de", "co.uk", "online"]
EXTS = ["exe", "dll", "ps1", "docm", "xlsm", "zip", "lnk", "hta", "js", "vbs", "iso", "pdf"]


# While `labelled` runs: the IPv4 addresses and hashes planted in the report being made.
_planted: dict[str, set[str]] | None = None


def _plant(kind: str, value: str) -> str:
    if _planted is not None:
        _planted[kind].add(value)
    return value


def hexs(n: int) -> str:
    return "".join(R.choice("0123456789abcdef") for _ in range(n))


def label() -> str:
    return (
        "".join(
            R.choice("abcdefghijklmnopqrstuvwxyz0123456789-") for _ in range(R.randint(4, 12))
        ).strip("-")
        or "cdn"
    )


def domain() -> str:
    return ".".join(label() for _ in range(R.randint(1, 3))) + "." + R.choice(TLDS)


def ipv4() -> str:
    return ".".join(str(R.randint(1, 254)) for _ in range(4))


def defang(s: str) -> str:
    style = R.random()
    if style < 0.4:
        return s
    if style < 0.7:
        return s.replace(".", "[.]")
    if style < 0.85:
        return s.replace(".", "(.)")
    return s.rsplit(".", 1)[0] + "[.]" + s.rsplit(".", 1)[1]


def indicator() -> str:
    k = R.random()
    if k < 0.15:
        return defang(_plant("ipv4", ipv4()))
    if k < 0.30:
        return defang(domain())
    if k < 0.45:
        scheme = R.choice(["http", "https", "hxxp", "hxxps"])
        path = "/".join(label() for _ in range(R.randint(1, 3)))
        host = defang(domain())
        page = f"{path}.{R.choice(['php', 'html', 'aspx'])}?id={R.randint(1, 9999)}"
        return f"{scheme}://{host}/{page}"
    if k < 0.55:
        n = R.choice([32, 40, 64])
        return _plant({32: "md5", 40: "sha1", 64: "sha256"}[n], hexs(n))
    if k < 0.60:
        return f"{label()}{R.choice(['[@]', '@', '[at]'])}{defang(domain())}"
    if k < 0.65:
        return f"CVE-20{R.randint(10, 26)}-{R.randint(1000, 49999)}"
    if k < 0.70:
        return f"T{R.randint(1001, 1650)}" + (
            f".{R.randint(1, 12):03d}" if R.random() < 0.5 else ""
        )
    if k < 0.75:
        return f"{label()}.{R.choice(EXTS)}"
    if k < 0.78:
        return "HKLM\\Software\\Microsoft\\Windows\\CurrentVersion\\Run\\" + label()
    if k < 0.81:
        return f"2001:db8:{R.randint(1, 9999):x}::{R.randint(1, 9999):x}"
    if k < 0.84:
        return f"AS{R.randint(1000, 65000)}"
    if k < 0.88:
        return f"version {R.randint(1, 9)}.{R.randint(0, 9)}.{R.randint(0, 9)}.{R.randint(0, 99)}"
    if k < 0.91:
        return R.choice(
            ["Win32/Agent.ABC", "MSIL/KillDisk.I", "Trojan.Win32.Agent.xyz", "archive.zip"]
        )
    return f"{ipv4()}/{R.choice([8, 16, 24, 32])}"


def sentence() -> str:
    words = [R.choice(WORDS) for _ in range(R.randint(8, 22))]
    for _ in range(R.randint(0, 2)):
        words.insert(R.randrange(len(words)), indicator())
    words[0] = words[0].capitalize()
    return " ".join(words) + R.choice([".", ".", ".", ";", ":"])


def table() -> str:
    rows = ["| indicator | type | first seen |", "|---|---|---|"]
    for _ in range(R.randint(3, 12)):
        ind, role = indicator(), R.choice(["C2", "payload", "dropper", "exfil"])
        month, day = R.randint(1, 12), R.randint(1, 28)
        rows.append(f"| {ind} | {role} | 2026-{month:02d}-{day:02d} |")
    return "\n".join(rows)


def report() -> str:
    parts = []
    for _ in range(R.randint(3, 8)):
        parts.append(" ".join(sentence() for _ in range(R.randint(2, 7))))
        if R.random() < 0.3:
            parts.append(table())
    return "\n\n".join(parts)


def corpus(megabytes: float) -> list[str]:
    """Reports adding up to `megabytes` of UTF-8, the same ones on every call."""
    R.seed(SEED)
    reports, size = [], 0
    while size < megabytes * 1_000_000:
        r = report()
        reports.append(r)
        size += len(r.encode()) + 1
    return reports


def labelled(megabytes: float) -> list[tuple[str, dict[str, set[str]]]]:
    """The reports of `corpus(megabytes)`, each with the IPv4 addresses and hashes
    planted in it on their own (not in a CIDR block, a URL or a version string): the
    truth an extractor's recall is measured against."""
    global _planted
    R.seed(SEED)
    out, size = [], 0
    try:
        while size < megabytes * 1_000_000:
            _planted = {"ipv4": set(), "md5": set(), "sha1": set(), "sha256": set()}
            r = report()
            out.append((r, _planted))
            size += len(r.encode()) + 1
    finally:
        _planted = None
    return out


if __name__ == "__main__":
    out = sys.argv[1]
    mb = float(sys.argv[2]) if len(sys.argv) > 2 else 10
    reports = corpus(mb)
    # One report per line, newlines inside a report escaped as \n (a form COPY reads too).
    with open(out, "w") as f:
        for r in reports:
            f.write(r.replace("\\", "\\\\").replace("\n", "\\n") + "\n")
    print(f"{len(reports)} reports, {sum(len(r) for r in reports) / 1e6:.1f} MB -> {out}")
