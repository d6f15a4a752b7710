"""Write the upgrade script of the ctas extension between two of its install scripts.

    python scripts/extension_upgrade.py OLD.sql NEW.sql OUT.sql

pgrx writes an install script as blocks (`/* <begin connected objects> */ ...`), one per
function or extension_sql! block, in dependency order. The upgrade is every block of NEW
that OLD does not have (compared without pgrx's `-- file:line` comments, which move
whenever code does), in NEW's order. A block that exists in both but changed cannot be
upgraded this way: the script stops and names it, so a changed signature is handled by
hand (DROP/CREATE) rather than shipped wrong. The one change it can ship is of a block
made only of COMMENT ON statements: running a COMMENT again replaces the old text.
"""

from __future__ import annotations

import re
import sys

BLOCK = re.compile(
    r"/\* <begin connected objects> \*/\n(.*?)/\* </end connected objects> \*/", re.DOTALL
)
LOCATION = re.compile(r"^-- [\w/]+\.rs:\d+\n", re.MULTILINE)
NAME = re.compile(r"^-- (ctas_pg::\S+)$", re.MULTILINE)
# What an extension_sql! block creates: its identity, so that a block whose text changed
# is found as changed rather than as new.
CREATES = re.compile(
    r"^CREATE\s+(?:OR\s+REPLACE\s+)?(FUNCTION|PROCEDURE|TABLE|VIEW|TYPE|TRIGGER|AGGREGATE)\s+([\w.\"]+)",
    re.MULTILINE | re.IGNORECASE,
)


HEADER = re.compile(r"^(?=-- (?:ctas_pg::|requires:|finalize|bootstrap))", re.MULTILINE)


def blocks(path: str) -> list[tuple[str, str]]:
    """(identity, text) of each entity: a function (named by pgrx's path comment) or an
    extension_sql! block (its text). pgrx may put several entities in one group of
    connected objects; they are split at pgrx's header comments."""
    out = []
    for m in BLOCK.finditer(open(path).read()):
        group = LOCATION.sub("", m.group(1))
        for part in HEADER.split(group):
            text = part.strip()
            if not text or text.startswith("/*\nThis file is auto generated"):
                continue
            name = NAME.search(text)
            creates = sorted(" ".join(m) for m in CREATES.findall(text))
            out.append((name.group(1) if name else ("; ".join(creates) or text), text))
    return out


def only_comments(text: str) -> bool:
    """Whether every statement of a block is a COMMENT ON (which may be run again)."""
    code = "\n".join(line for line in text.splitlines() if not line.startswith("--"))
    statements = [s.strip() for s in re.split(r";\s*\n", code) if s.strip()]
    return bool(statements) and all(
        re.match(r"COMMENT\s+ON\s", s, re.IGNORECASE) for s in statements
    )


def main() -> None:
    old_path, new_path, out_path = sys.argv[1:4]
    old = dict(blocks(old_path))
    added, changed = [], []
    for name, text in blocks(new_path):
        if name not in old:
            added.append(text)
        elif old[name] != text:
            if only_comments(text):
                added.append(text)
            else:
                changed.append(name)
    new_names = {name for name, _ in blocks(new_path)}
    # A block of comments alone is named by its text: changed, it is "removed" here and
    # its new text added above, which replaces the comments.
    removed = [name for name in old if name not in new_names and not only_comments(old[name])]
    if changed or removed:
        sys.exit(
            "changed or removed between the versions, upgrade them by hand: "
            + ", ".join(changed + removed)
        )
    with open(out_path, "w") as f:
        f.write(
            f"-- Upgrade of the ctas extension: the objects of {new_path.split('/')[-1]} that\n"
        )
        f.write(f"-- {old_path.split('/')[-1]} lacks. Written by scripts/extension_upgrade.py.\n")
        f.write('\\echo Use "ALTER EXTENSION ctas UPDATE" to load this file. \\quit\n\n')
        for text in added:
            f.write(text + "\n\n")
    print(f"{len(added)} objects added -> {out_path}")


if __name__ == "__main__":
    main()
