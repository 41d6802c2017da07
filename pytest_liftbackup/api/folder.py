"""A backup folder as the command sees it: backups by their file-name timestamp, each with its manifest
and the record of its last verification; files it does not recognise are never touched. A file named
like a backup that is not a regular file of the folder (a symbolic link, a FIFO, a device, a hard link,
someone else's file: see dump/files.py) is no backup: it is listed apart, with why."""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from pytest_liftbackup._errors import LiftbackupError
from pytest_liftbackup.api.manifest import SUFFIX as MANIFEST_SUFFIX
from pytest_liftbackup.dump import files as _files

VERIFIED_SUFFIX = ".verified.json"
# The names `liftbackup backup` writes (and the lift simulator's scripts did): plain, custom, compressed
# or encrypted. Anything else in the folder is someone else's.
_NAME = re.compile(
    r"^(?P<db>.+?)_backup_(?P<stamp>\d{8}_\d{6})(?P<ext>\.(?:sql|dump|backup)(?:\.(?:gz|zst|lz4))?(?:\.age)?)$"
)


@dataclass(frozen=True)
class Backup:
    path: Path
    database: str
    taken: datetime  # from the file name (local time, as the name was written)

    @property
    def manifest(self) -> Path:
        return self.path.with_name(self.path.name + MANIFEST_SUFFIX)

    @property
    def verified(self) -> Path:
        return self.path.with_name(self.path.name + VERIFIED_SUFFIX)

    def companions(self) -> list[Path]:
        """The files that belong to this backup and go with it: its manifest and verification record
        (a link of that name too: removing a link never touches what it points to)."""
        return [p for p in (self.manifest, self.verified) if os.path.lexists(p)]

    def last_verification(self) -> dict[str, Any] | None:
        """The record `verify` left, if it is a regular file of the folder (a planted link is none)."""
        try:
            with _files.open_entry(self.verified, _files.owners_of(self.path.parent)) as stream:
                found = json.loads(stream.read().decode("utf-8"))
        except (OSError, ValueError, LiftbackupError):
            return None
        return found if isinstance(found, dict) else None


@dataclass
class Listing:
    """A folder's backups, oldest first, and the entries named like backups that are not used, with why."""

    backups: list[Backup] = field(default_factory=list)
    refused: dict[Path, str] = field(default_factory=dict)

    def refusals(self) -> list[str]:
        """One line per entry not used, naming it and why."""
        return [_files.refusal(path, why) for path, why in self.refused.items()]


def parse_name(path: Path) -> Backup | None:
    """The backup a file name describes (regardless of what the file is), or None."""
    match = _NAME.match(path.name)
    if match is None:
        return None
    try:
        taken = datetime.strptime(match["stamp"], "%Y%m%d_%H%M%S")
    except ValueError:
        return None
    return Backup(path, match["db"], taken)


def list_folder(folder: Path) -> Listing:
    """The backups in `folder` (lstat: regular files of ours only) and the entries refused."""
    listing, owners = Listing(), _files.owners_of(folder)
    for path in sorted(folder.iterdir()):
        if (backup := parse_name(path)) is None or (path.is_dir() and not path.is_symlink()):
            continue  # a folder is no backup file (nor a planted one: it redirects nothing)
        if why := _files.problem_of(path, owners):
            listing.refused[path] = why
        else:
            listing.backups.append(backup)
    listing.backups.sort(key=lambda b: (b.taken, b.path.name))
    return listing


def record_verification(backup_path: Path, passed: bool, summary: str) -> Path:
    """Remember the outcome of this verification beside the backup, for `liftbackup status`."""
    target = backup_path.with_name(backup_path.name + VERIFIED_SUFFIX)
    record = {
        "verified": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "passed": passed,
        "summary": summary,
    }
    _files.write_atomically(target, (json.dumps(record, indent=2) + "\n").encode("utf-8"))
    return target
