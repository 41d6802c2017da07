"""Turn what the user passed (a file, a glob, a backup folder) into the dump paths to test.

A path named explicitly is the user's own choice: a symbolic link given is followed (once, here: the
dump is its target, and says so). What a folder or a glob finds is not: such an entry must be a regular
file (or a directory-format dump's folder) with one link, owned by this user or the folder's owner
(dump/files.py), by lstat; otherwise it is refused with one line naming it.
"""

from __future__ import annotations

import glob
import os
import re
from dataclasses import dataclass
from pathlib import Path

from pytest_liftbackup._errors import DumpInputError
from pytest_liftbackup.dump import files as _files

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
        return [_entry(Path(m), spec, f"matches {spec}") for m in matches]
    path = Path(expanded)
    if not path.exists():
        raise DumpInputError(f"{spec}: no such file or directory; pass the path of a pg_dump backup")
    if path.is_dir() and not (path / "toc.dat").exists():
        return [_newest_in(path, spec)]
    if path.is_symlink():  # the user's own link: followed once, to a path whose last part is no link
        target = Path(os.path.realpath(path))
        return [_explicit(target, spec, f"given, a symbolic link to {target}")]
    return [_explicit(path, spec, "given")]


def _explicit(path: Path, spec: str, how: str) -> LocatedDump:
    """A path the user named: a regular file or a folder (a directory-format dump), nothing else."""
    if path.is_dir() or path.is_file():
        return LocatedDump(path, spec, how)
    raise DumpInputError(
        f"{spec}: not a regular file (a named pipe, a device or a socket); pass the path of a pg_dump backup"
    )


def _entry(path: Path, spec: str, how: str) -> LocatedDump:
    """A file a folder or a glob found: used only if it is a regular file or folder of that folder."""
    if why := _entry_problem(path, _files.owners_of(path.parent)):
        raise DumpInputError(_files.refusal(path, why))
    return LocatedDump(path, spec, how)


def _entry_problem(path: Path, owners: frozenset[int]) -> str | None:
    """Why the folder entry `path` is not used (None: it is): a real folder counts as the entry."""
    if path.is_dir() and not path.is_symlink():
        return None
    return _files.problem_of(path, owners)


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
        and (p.is_symlink() or not p.is_dir() or (p / "toc.dat").exists())
    ]
    if not candidates:
        raise DumpInputError(
            f"{spec}: this folder holds no backup (no files, and no toc.dat, so it is not a "
            "directory-format dump either); pass a dump file or a folder of backups"
        )
    stamped = [p for p in candidates if backup_timestamp(p.name)]
    if stamped:
        newest = max(stamped, key=lambda p: (backup_timestamp(p.name), p.name))
        return _entry(newest, spec, f"newest of {len(stamped)} backups in {spec} by file-name timestamp")
    newest = max(candidates, key=lambda p: (p.lstat().st_mtime, p.name))
    return _entry(newest, spec, f"newest of {len(candidates)} files in {spec} by modification time")
