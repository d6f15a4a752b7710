"""IOC accuracy on real vendor reports as a regression test: CTAS, through SQL, on the
corpus of `benches/ioc/reports.py` (Avast's and ESET's reports, truth from the authors'
own lists), held to the best peer's figures per kind as `make bench-ioc-accuracy` last
recorded them (`benches/ioc/peers.json`; the peers are not run again here)."""

import json
from collections import defaultdict
from pathlib import Path

import pytest
import reports

import ctas

PEERS = json.loads((Path(reports.__file__).parent / "peers.json").read_text())


@pytest.fixture(scope="module")
def ctas_scores(conn):
    corpus = reports.load()
    scores: dict[str, reports.Score] = {}
    for r in corpus:
        found = defaultdict(set)
        for row in ctas.client.extract_iocs(conn, r["text"]):
            found[row.kind].add(row.value)
        reports.score(found, r["truth"], r["text"], scores)
    return scores


def test_the_peers_figures_are_for_this_corpus():
    assert PEERS["corpus"] == reports.corpus_path().name


# The kinds the corpus lists values of (its reports give no MD5, SHA-1 or IPv6 address).
LISTED = [
    k for k in reports.KINDS if any(p.get(k, {}).get("listed") for p in PEERS["peers"].values())
]


@pytest.mark.parametrize("kind", LISTED)
def test_recall_is_at_least_the_best_peers(ctas_scores, kind):
    mine = ctas_scores[kind]
    best, peer = max(
        (p[kind]["found"] / p[kind]["listed"], name)
        for name, p in PEERS["peers"].items()
        if kind in p
    )
    assert mine.listed == PEERS["peers"][peer][kind]["listed"]
    assert mine.recall >= best, f"{kind}: CTAS {mine.recall:.4f} < {peer} {best:.4f}"


def test_no_more_verified_wrong_values_than_the_best_peer(ctas_scores):
    mine = sum(s.wrong for s in ctas_scores.values())
    fewest = min(sum(k["wrong"] for k in p.values()) for p in PEERS["peers"].values())
    assert mine <= fewest, f"CTAS cut or ran on {mine} listed values; a peer only {fewest}"


def test_overall_recall_meets_the_goal(ctas_scores):
    listed = sum(s.listed for s in ctas_scores.values())
    found = sum(s.found for s in ctas_scores.values())
    assert found / listed >= 0.998, f"{found} of {listed}"
