"""The SQL examples in the documentation, run through psql and compared with the text
printed under them, so the docs cannot drift from what the extension does.

An example is a ```sql block followed directly by a ```text block holding psql's output.
"""

import doctest
import os
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
EXAMPLE = re.compile(r"```sql\n(?P<sql>.*?)```\s*\n```text\n(?P<out>.*?)```", re.DOTALL)


def examples():
    for doc in DOCS:
        text = doc.read_text()
        for m in EXAMPLE.finditer(text):
            line = text.count("\n", 0, m.start()) + 1
            yield pytest.param(m["sql"], m["out"], id=f"{doc.relative_to(ROOT)}:{line}")


def normalise(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.strip("\n").splitlines()).strip("\n")


def test_the_docs_have_examples():
    assert len(list(examples())) >= 2


@pytest.mark.parametrize(("sql", "expected"), examples())
def test_sql_example_prints_what_the_docs_say(dsn, sql, expected):
    # NOTICEs such as "extension already exists" depend on the database, not the example.
    env = {**os.environ, "PAGER": "", "PGOPTIONS": "-c client_min_messages=warning"}
    run = subprocess.run(
        ["psql", dsn, "-X", "-q", "-v", "ON_ERROR_STOP=0", "-P", "pager=off"],
        input=sql,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        check=False,
    )
    # psql prefixes errors read from stdin with their line; an interactive user sees none.
    printed = re.sub(r"^psql:<stdin>:\d+: ", "", run.stdout, flags=re.MULTILINE)
    assert normalise(printed) == normalise(expected)


PYTHON_DOCS = [doc for doc in DOCS if ">>> " in doc.read_text()]


def test_a_guide_has_python_examples():
    assert ROOT / "docs" / "python.md" in PYTHON_DOCS


@pytest.mark.parametrize("doc", PYTHON_DOCS, ids=lambda d: str(d.relative_to(ROOT)))
def test_python_examples_print_what_the_docs_say(doc):
    # doctest reads the >>> lines of the Markdown as it would a docstring's.
    result = doctest.testfile(
        str(doc),
        module_relative=False,
        optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE,
        verbose=False,
    )
    assert result.attempted > 0
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed (above)"
