"""The JSON files a command line names: files as given, directories by their ``*.json``."""

from __future__ import annotations

from pathlib import Path


def json_files(paths: list[str], tool: str, nested: str | None = None) -> list[Path]:
    """Every file of `paths`, and the ``*.json`` of each directory (and ``*/<nested>``
    when given, as MISP's warninglists repository lays its lists out), in order. A path
    that does not exist, or no file at all, ends the program with a message naming
    `tool`."""
    files: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            files += sorted(p.glob("*.json"))
            if nested:
                files += sorted(p.glob(f"*/{nested}"))
        elif p.is_file():
            files.append(p)
        else:
            raise SystemExit(f"{tool}: {p}: no such file or directory")
    if not files:
        raise SystemExit(f"{tool}: no .json files in {' '.join(paths)}")
    return files
