"""python -m ctas.feeds: the real Unit 42 STIX bundles and ESET MISP events from the
command line, into a database of its own."""

import json
import os
import subprocess
import sys

from conftest import SHARED_DATA, history_database


def run(dsn, *paths):
    env = {**os.environ, "CTAS_PG_DSN": dsn}
    return subprocess.run(
        [sys.executable, "-m", "ctas.feeds", "load", *map(str, paths)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def counts(conn):
    return conn.execute(
        "SELECT (SELECT count(*) FROM ctas.reports), (SELECT count(*) FROM ctas.indicators),"
        " (SELECT count(*) FROM ctas.relationships)"
    ).fetchone()


def test_feeds_load_from_the_command_line_once_and_bad_files_are_named(tmp_path):
    stix, misp = SHARED_DATA / "stix" / "unit42", SHARED_DATA / "misp" / "eset"
    with history_database("ctas_feeds_test") as conn:
        dsn = conn.info.dsn
        first = run(dsn, stix, misp)
        assert first.returncode == 0, first.stderr
        assert first.stdout.startswith(
            "loaded 50 STIX bundles and 23 MISP exports: new 71 reports,"
        )
        assert "[73/73]" in first.stderr
        loaded = counts(conn)
        assert loaded[0] == 71

        again = run(dsn, stix, misp)
        assert again.returncode == 0, again.stderr
        assert "new 0 reports, 0 indicators, 0 sightings, 0 relationships" in again.stdout
        assert counts(conn) == loaded

        # A file that is no feed stops the load, is named, and nothing of the load stays.
        (tmp_path / "a.json").write_text(
            json.dumps(
                {
                    "type": "bundle",
                    "id": "bundle--x",
                    "objects": [
                        {
                            "type": "report",
                            "id": "report--6b1f3c2e-5a47-4c1e-9a0e-00000000f001",
                            "name": "new",
                            "published": "2031-01-01T00:00:00Z",
                        }
                    ],
                }
            )
        )
        (tmp_path / "b.json").write_text(json.dumps({"warninglist": True}))
        bad = run(dsn, tmp_path)
        assert bad.returncode == 1
        assert f"{tmp_path / 'b.json'}: neither a STIX bundle nor a MISP event export" in bad.stderr
        assert counts(conn) == loaded
        missing = run(dsn, tmp_path / "nope")
        assert missing.returncode == 1 and "no such file or directory" in missing.stderr
