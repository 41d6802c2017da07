"""Turn what the user passed (a file, a glob, a backup folder) into the dump paths to test."""

from __future__ import annotations

import glob
import os
import re
from dataclasses import dataclass
from pathlib import Path

from pytest_liftbackup._errors import DumpInputError

# <name>_backup_YYYYMMDD_HHMMSS.<ext>, the lift simulator's (and many teams') naming convention.
_BACKUP_NAME = re.compile(r"^(?P<db>.+?)_backup_(?P<stamp>\d{8}_\d{6})(?:\.[A-Za-z0-9.]+)?$")
# Files that sit next to backups but are not backups themselves.
_SIDECARS = (".sha256", ".md5", ".json", ".log", ".txt", ".md", ".manifest")


@dataclass(frozen=True)
class LocatedDump:
    path: Path
    spec: str
    how: str  # why this file: "given", "matches GLOB", "newest in DIR by file-name timestamp", ...


def backup_timestamp(name: str) -> str | None:
    """`YYYYMMDD_HHMMSS` from a `<name>_backup_YYYYMMDD_HHMMSS.<ext>` file name, or None."""
    match = _BACKUP_NAME.match(name)
    return match.group("stamp") if match else None


def database_from_name(name: str) -> str | None:
    match = _BACKUP_NAME.match(name)
    return match.group("db") if match else None


def locate(specs: list[str]) -> list[LocatedDump]:
    """Every dump the specs name, in order, each once."""
    found: list[LocatedDump] = []
    seen: set[Path] = set()
    for spec in specs:
        for located in _locate_one(spec):
            key = located.path.resolve()
            if key not in seen:
                seen.add(key)
                found.append(located)
    return found


def _locate_one(spec: str) -> list[LocatedDump]:
    expanded = os.path.expanduser(spec)
    if glob.has_magic(expanded):
        matches = sorted(glob.glob(expanded))
        if not matches:
            raise DumpInputError(f"{spec}: no file matches this pattern; check the path and the quoting")
        return [LocatedDump(Path(m), spec, f"matches {spec}") for m in matches]
    path = Path(expanded)
    if not path.exists():
        raise DumpInputError(f"{spec}: no such file or directory; pass the path of a pg_dump backup")
    if path.is_dir() and not (path / "toc.dat").exists():
        return [_newest_in(path, spec)]
    return [LocatedDump(path, spec, "given")]


_DATA_FILE = re.compile(r"^\d+\.dat(?:\.(?:gz|lz4|zst))?$")


def _newest_in(folder: Path, spec: str) -> LocatedDump:
    if any(_DATA_FILE.match(p.name) for p in folder.iterdir()):
        raise DumpInputError(
            f"{spec}: a directory-format dump without its toc.dat (it holds pg_dump data files such as "
            "NNNN.dat.gz): the dump is incomplete; copy the whole folder again or take a new backup"
        )
    candidates = [
        p
        for p in folder.iterdir()
        if not p.name.startswith(".")
        and not p.name.lower().endswith(_SIDECARS)
        and (p.is_file() or (p / "toc.dat").exists())
    ]
    if not candidates:
        raise DumpInputError(
            f"{spec}: this folder holds no backup (no files, and no toc.dat, so it is not a "
            "directory-format dump either); pass a dump file or a folder of backups"
        )
    stamped = [p for p in candidates if backup_timestamp(p.name)]
    if stamped:
        newest = max(stamped, key=lambda p: (backup_timestamp(p.name), p.name))
        return LocatedDump(newest, spec, f"newest of {len(stamped)} backups in {spec} by file-name timestamp")
    newest = max(candidates, key=lambda p: (p.stat().st_mtime, p.name))
    return LocatedDump(newest, spec, f"newest of {len(candidates)} files in {spec} by modification time")
