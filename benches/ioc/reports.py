"""Real vendor reports with their authors' own IOC lists: the IOC accuracy corpus.

    python benches/ioc/reports.py [OUT]     build it (default $CTAS_CACHE/ioc-corpus)

Two vendors publish a report's indicators as text and, beside it, as lists:

- Avast (github.com/avast/ioc, Detection Rule License 1.1): per campaign a Markdown
  `README.md` (headings, code blocks, tables, links, defanged values) and plain lists
  (`samples.sha256`, `samples.sha1`, `samples.md5`, `network.txt`).
- ESET (github.com/eset/malware-ioc, BSD-2-Clause): an AsciiDoc `README.adoc` (tables,
  monospace, listing blocks, link macros) and MISP events with typed attributes. Only
  the three campaigns whose MISP events are in the project's shared data (sshdoor,
  mozi, glupteba) are read: the rest of that repository is kept aside for an
  independent evaluation and must not be used or tuned to.

The lists are the truth; a value is kept only where it stands in the report's text, so
a tool is never asked for what the text does not hold. The corpus is built from each
repository at a pinned commit, read from a local snapshot
(`$CTAS_SNAPSHOTS/<owner>+<name>/repo`, a git directory) or cloned from GitHub, and
written once to the cache as JSON lines; nothing of it is committed here.

This module also holds the scoring shared by the benchmark (`accuracy.py`) and the
regression test: a reference refang written from the defanging conventions analysts
use, the normalisation both sides go through, and recall with extras split into
verified-wrong (a truncated or run-on form of a listed value) and unlisted.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import subprocess
import sys
import tempfile
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CACHE = Path(os.environ.get("CTAS_CACHE", "/var/cache/ctas"))


def _snapshots() -> Path:
    """Where the pinned repositories' snapshots are: `CTAS_SNAPSHOTS`, else `.mirror`
    beside the checkout, else the workplace's (a clone made elsewhere, as CI's is)."""
    if "CTAS_SNAPSHOTS" in os.environ:
        return Path(os.environ["CTAS_SNAPSHOTS"])
    beside = ROOT.parent / ".mirror"
    for place in (beside, Path("/work/.mirror")):
        if place.is_dir():
            return place
    return beside


SNAPSHOTS = _snapshots()


@dataclass(frozen=True)
class Source:
    repo: str
    commit: str
    licence: str


AVAST = Source(
    repo="avast/ioc",
    commit="e385a6358edfd0d107b3bb53b384aa2926af22e1",  # 2025-10-29
    licence="Detection Rule License 1.1",
)
ESET = Source(
    repo="eset/malware-ioc",
    commit="f9c1102417f469167bcb40f24e14badeeaf9dc70",  # 2024-10-15
    licence="BSD-2-Clause",
)
SOURCES = (AVAST, ESET)
# The only ESET campaigns read (see above).
ESET_CAMPAIGNS = ("glupteba", "mozi", "sshdoor")

# The kinds the corpus has truth for, with CTAS's names.
KINDS = ("url", "domain", "ipv4", "ipv6", "email", "md5", "sha1", "sha256")
HASH_FILES = {"samples.md5": "md5", "samples.sha1": "sha1", "samples.sha256": "sha256"}
HASH_LEN = {"md5": 32, "sha1": 40, "sha256": 64}


def corpus_path(out: Path | None = None) -> Path:
    name = "-".join(f"{src.repo.split('/')[0]}-{src.commit[:7]}" for src in SOURCES)
    return (out or CACHE / "ioc-corpus") / f"{name}.jsonl"


# --- the reference refang -------------------------------------------------------------

# The defanging conventions of vendor reports and of the tools' own documentation
# (iocextract's and ioc-finder's READMEs list the same ones): brackets or parentheses
# around a dot, colon, "@" or "://", the words dot/at in brackets, and hxxp/hXXp/fxp
# schemes. Written here from those conventions, not from CTAS, so the scores do not
# check CTAS against itself.
_FANGS = [
    (re.compile(r"[\[\(\{]\s*(?:\.|dot)\s*[\]\)\}]", re.I), "."),
    (re.compile(r"[\[\(\{]\s*(?::|colon)\s*[\]\)\}]", re.I), ":"),
    (re.compile(r"[\[\(\{]\s*(?:@|at)\s*[\]\)\}]", re.I), "@"),
    (re.compile(r"[\[\(\{]\s*://\s*[\]\)\}]"), "://"),
    (re.compile(r"[\[\(\{]/[\]\)\}]"), "/"),
    (re.compile(r"\bh(?:xx|XX|tt)p(s?)(?=:|\[:)", re.I), r"http\1"),
    (re.compile(r"\bfxp(?=:|\[:)", re.I), "ftp"),
]


def refang(text: str) -> str:
    for pattern, repl in _FANGS:
        text = pattern.sub(repl, text)
    return text


def norm(kind: str, value: str) -> str:
    """One form for a value, whoever found it: refanged; hosts, e-mails and hashes in
    lower case; a URL without its scheme and trailing slash (the lists write some URLs
    without a scheme), its host in lower case; an IPv6 address in its compressed form."""
    v = refang(value.strip())
    if kind == "url":
        v = re.sub(r"^[a-z][a-z0-9+.-]*://", "", v, flags=re.I)
        host, sep, rest = v.partition("/")
        return host.lower() + sep + rest.rstrip("/") if rest else host.lower()
    if kind == "ipv6":
        try:
            return str(ipaddress.ip_address(v))
        except ValueError:
            return v.lower()
    return v.lower().rstrip(".")


# --- building the corpus --------------------------------------------------------------

_HOST = re.compile(r"^(?=.{1,253}$)(?:[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$", re.I)
_EMAIL = re.compile(r"^[a-z0-9._%+-]+@(?:[a-z0-9-]+\.)+[a-z]{2,63}$", re.I)


def classify(token: str) -> tuple[str, str] | None:
    """The kind and value of one entry of a `network.txt` list, or None for the lists'
    headings and separators."""
    t = refang(token.strip().strip(",;"))
    if not t or set(t) <= set("-=#*"):
        return None
    if _EMAIL.match(t):
        return "email", t
    if "://" in t:
        return "url", t
    host, _, path = t.partition("/")
    bare = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    try:
        ip = ipaddress.ip_address(bare.strip("[]"))
        if path:
            return "url", t
        return ("ipv4" if ip.version == 4 else "ipv6"), str(ip)
    except ValueError:
        pass
    if _HOST.match(bare):
        return ("url", t) if path else ("domain", bare)
    return None


def occurs(value: str, haystack: str) -> bool:
    """Whether `value` stands in `haystack` (refanged, lower case) as a whole: not a
    part of a longer name, address or path (`evil.com` is not in `www.evil.com`)."""
    pattern = r"(?<![\w.-])" + re.escape(value.lower()) + r"(?![\w/-])"
    return re.search(pattern, haystack) is not None


def _git(git_dir: Path, *args: str) -> bytes:
    return subprocess.run(
        ["git", f"--git-dir={git_dir}", *args], check=True, capture_output=True
    ).stdout


def _repository(source: Source, scratch: Path) -> Path:
    """A git directory holding the pinned commit: the local snapshot, else a clone."""
    snapshot = SNAPSHOTS / source.repo.replace("/", "+") / "repo"
    scratch.mkdir(parents=True, exist_ok=True)
    for candidate in (snapshot, scratch / "clone" / ".git"):
        if candidate.is_dir():
            try:
                _git(candidate, "cat-file", "-e", f"{source.commit}^{{commit}}")
                return candidate
            except subprocess.CalledProcessError:
                pass
    url = f"https://github.com/{source.repo}"
    done = subprocess.run(
        ["git", "clone", "-q", "--no-checkout", url, str(scratch / "clone")],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        sys.exit(
            f"cannot read {source.repo} at {source.commit}: no snapshot at {snapshot} "
            f"and `git clone {url}` failed: {done.stderr.strip()}"
        )
    return scratch / "clone" / ".git"


def _keep(text: str, listed: dict[str, set[str]]) -> tuple[dict, int]:
    """The listed values that stand in `text`, normalised; and how many do not."""
    haystack = refang(text).lower()
    truth, absent = {}, 0
    for kind, values in listed.items():
        kept = sorted({norm(kind, v) for v in values if occurs(refang(v), haystack)})
        absent += len(values) - len(kept)
        if kept:
            truth[kind] = kept
    return truth, absent


def _hashes(body: str, kind: str) -> set[str]:
    """The hashes of a `samples.*` list: its words of the kind's length in hex."""
    return {t for t in body.split() if re.fullmatch(f"[0-9a-fA-F]{{{HASH_LEN[kind]}}}", t)}


def _avast(git_dir: Path) -> list[dict]:
    c = AVAST.commit
    files = _git(git_dir, "ls-tree", "-r", "--name-only", c).decode().split("\n")
    by_dir: dict[str, set[str]] = defaultdict(set)
    for f in files:
        if f.count("/") == 1:
            d, name = f.split("/")
            by_dir[d].add(name)
    reports = []
    for d in sorted(by_dir):
        names = by_dir[d]
        lists = [n for n in names if n in HASH_FILES or n == "network.txt"]
        if "README.md" not in names or not lists:
            continue
        text = _git(git_dir, "show", f"{c}:{d}/README.md").decode("utf-8")
        listed: dict[str, set[str]] = defaultdict(set)
        for name in lists:
            body = _git(git_dir, "show", f"{c}:{d}/{name}").decode("utf-8")
            for token in body.split():
                if name in HASH_FILES:
                    listed[HASH_FILES[name]] |= _hashes(token, HASH_FILES[name])
                elif (found := classify(token)) is not None:
                    listed[found[0]].add(found[1])
        truth, absent = _keep(text, listed)
        if truth:
            reports.append(
                {"id": f"avast/{d}", "text": text, "truth": truth, "not_in_text": absent}
            )
    return reports


# MISP attribute types -> the kinds of their values ("a|b" types hold two values).
MISP_KINDS = {
    "domain": "domain",
    "hostname": "domain",
    "ip-dst": "ip",
    "ip-src": "ip",
    "url": "url",
    "link": "url",
    "email": "email",
    "email-src": "email",
    "email-dst": "email",
    "md5": "md5",
    "sha1": "sha1",
    "sha256": "sha256",
}


def _misp_values(event, listed: dict[str, set[str]]) -> None:
    if isinstance(event, list):
        for e in event:
            _misp_values(e, listed)
        return
    if not isinstance(event, dict):
        return
    if "type" in event and "value" in event and "category" in event:
        for t, v in zip(event["type"].split("|"), str(event["value"]).split("|"), strict=False):
            t = {"filename": "", "port": ""}.get(t, t)
            kind = MISP_KINDS.get(t)
            if kind == "ip":
                try:
                    kind = "ipv4" if ipaddress.ip_address(v).version == 4 else "ipv6"
                except ValueError:
                    continue
            if kind:
                listed[kind].add(v)
    for value in event.values():
        _misp_values(value, listed)


def _eset(git_dir: Path) -> list[dict]:
    c = ESET.commit
    reports = []
    for d in ESET_CAMPAIGNS:
        names = _git(git_dir, "ls-tree", "-r", "--name-only", c, f"{d}/").decode().split()
        text = _git(git_dir, "show", f"{c}:{d}/README.adoc").decode("utf-8")
        listed: dict[str, set[str]] = defaultdict(set)
        for name in names:
            base = name.rsplit("/", 1)[1]
            body = _git(git_dir, "show", f"{c}:{name}").decode("utf-8")
            if base in HASH_FILES:
                listed[HASH_FILES[base]] |= _hashes(body, HASH_FILES[base])
            elif name.endswith(".json"):
                _misp_values(json.loads(body), listed)
        truth, absent = _keep(text, listed)
        reports.append({"id": f"eset/{d}", "text": text, "truth": truth, "not_in_text": absent})
    return reports


def build(out: Path | None = None) -> Path:
    path = corpus_path(out)
    reports = []
    with tempfile.TemporaryDirectory() as scratch:
        for source, read in ((AVAST, _avast), (ESET, _eset)):
            reports += read(_repository(source, Path(scratch) / source.repo.replace("/", "+")))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with tmp.open("w") as f:
        for r in reports:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    tmp.replace(path)
    return path


def load(out: Path | None = None) -> list[dict]:
    """The corpus, built first if the cache does not hold it yet."""
    path = corpus_path(out)
    if not path.exists():
        build(out)
    return [json.loads(line) for line in path.read_text().splitlines()]


# --- scoring --------------------------------------------------------------------------


@dataclass
class Score:
    listed: int = 0
    found: int = 0
    wrong: int = 0
    unlisted: int = 0

    @property
    def recall(self) -> float:
        return self.found / self.listed if self.listed else 1.0


# What may follow a value and still belong to it (RFC 3986's characters of a URI);
# anything else after a listed value is markup or prose run into it.
_URI_CHARS = re.compile(r"^[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]*$")
_TRAILING = ".,;:!?)]}'\"*`"


def verified_wrong(extra: str, listed: set[str], text: str) -> bool:
    """A listed value cut short or run on, which the authors' list shows to be wrong,
    not merely unlisted: `extra` is part of a listed value and does not occur in the
    text once those values are blanked out (it was only ever read out of them), or it
    is a listed value with markup or punctuation run on to it."""
    e = extra.lower()
    longer = [t.lower() for t in listed if t != extra and e in t.lower()]
    if longer:
        blanked = refang(text).lower()
        for t in sorted(longer, key=len, reverse=True):
            blanked = blanked.replace(t, " " * len(t))
        if e not in blanked:
            return True
    for t in listed:
        t = t.lower()
        if t != e and (e.startswith(t) or e.endswith(t)):
            rest = e[len(t) :] if e.startswith(t) else e[: -len(t)]
            if not _URI_CHARS.match(rest) or not rest.strip(_TRAILING):
                return True
    return False


def score(
    found: dict[str, set[str]], truth: dict[str, list[str]], text: str, into: dict[str, Score]
):
    """Adds one report's outcome for one tool to `into`, per kind."""
    for kind in KINDS:
        listed = set(truth.get(kind, ()))
        got = {norm(kind, v) for v in found.get(kind, ())}
        s = into.setdefault(kind, Score())
        s.listed += len(listed)
        s.found += len(listed & got)
        for extra in got - listed:
            if verified_wrong(extra, listed, text):
                s.wrong += 1
            else:
                s.unlisted += 1


if __name__ == "__main__":
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else None
    built = build(out)
    rows = [json.loads(line) for line in built.read_text().splitlines()]
    per_kind: dict[str, int] = defaultdict(int)
    for r in rows:
        for kind, values in r["truth"].items():
            per_kind[kind] += len(values)
    print(f"{built}: {len(rows)} reports, " + ", ".join(f"{k} {n}" for k, n in per_kind.items()))
