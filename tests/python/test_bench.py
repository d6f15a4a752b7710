"""``python -m ctas.bench`` as a user runs it: the table, the JSON the issue names, the
exit status, and a missing peer named rather than skipped. (The figures themselves go in
benches/RESULTS.md; no test here judges a speed.)"""

import json
import subprocess
import sys

from ctas.bench import corpus


def run(*args, code=""):
    return subprocess.run(
        [
            sys.executable,
            "-c",
            code + "from ctas.bench.__main__ import main; sys.exit(main())",
            *args,
        ]
        if code
        else [sys.executable, "-m", "ctas.bench", *args],
        capture_output=True,
        text=True,
        check=False,
    )


def test_the_suite_writes_its_table_and_json(tmp_path):
    out = tmp_path / "bench.json"
    done = run("--quick", "--only", "scoring", "dbscan", "--json", str(out))
    assert done.returncode == 0, done.stderr
    assert "[1/2] scoring" in done.stderr and "[2/2] dbscan" in done.stderr
    assert done.stdout.splitlines()[0].split()[:3] == ["workload", "size", "python"]
    report = json.loads(out.read_text())
    rows = {w["workload"]: w for w in report["workloads"]}
    assert set(rows) == {"scoring", "geospatial: DBSCAN"}
    for w in rows.values():
        assert {"workload", "python_s", "rust_s", "ratio", "match"} <= set(w)
        assert w["match"] is True
        assert w["ratio"] == w["python_s"] / w["rust_s"]
    assert report["quick"] is True


def test_a_missing_peer_is_named_with_the_command_that_installs_it():
    done = run("--quick", "--only", "dbscan", code="import sys; sys.modules['sklearn'] = None\n")
    assert done.returncode == 3
    assert "scikit-learn is not installed: pip install './python[bench]'" in done.stderr


def test_a_bad_workload_name_is_refused_with_the_choices():
    done = run("--only", "nothing")
    assert done.returncode == 2 and "invalid choice: 'nothing'" in done.stderr


def test_the_planted_truth_is_in_the_text():
    # The truth the extraction workloads score against: each planted value stands in its
    # report (refanged), and the labelled reports are corpus()'s.
    labelled = corpus.labelled(0.2)
    assert [t for t, _ in labelled] == corpus.corpus(0.2)
    for text, truth in labelled:
        # Lower case: a sentence that starts with a hash capitalises it.
        plain = text.replace("[.]", ".").replace("(.)", ".").lower()
        for values in truth.values():
            for v in values:
                assert v in plain


def test_the_database_workload_says_why_it_did_not_run(tmp_path, monkeypatch):
    monkeypatch.setenv("CTAS_URL", "http://127.0.0.1:9")
    out = tmp_path / "bench.json"
    done = run("--quick", "--only", "database", "--json", str(out))
    assert done.returncode == 0, done.stderr
    assert "database: not run: no ctas-router answers at http://127.0.0.1:9" in done.stdout
    assert json.loads(out.read_text())["not_run"]["database"].startswith("no ctas-router")
