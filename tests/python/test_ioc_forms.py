"""The forms analysts write indicators in, through SQL: held to the core's table
(`ctas_core/tests/ioc-forms.json`, written from each markup's specification), with the
span of each indicator checked against Python's own indexing of the text."""

import json
from pathlib import Path

import pytest

import ctas

TABLE = json.loads(
    (Path(__file__).resolve().parents[2] / "ctas_core" / "tests" / "ioc-forms.json").read_text()
)


@pytest.mark.parametrize("form", TABLE["forms"], ids=[f["form"] for f in TABLE["forms"]])
def test_each_form_gives_exactly_its_indicators(conn, form):
    text = form["text"]
    rows = ctas.client.extract_iocs(conn, text)
    assert sorted((r.kind, r.value) for r in rows) == sorted(map(tuple, form["iocs"]))
    for r in rows:
        assert text[r.start_pos - 1 : r.end_pos - 1] == r.raw, r
