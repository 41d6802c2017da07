"""A backup folder as the command sees it: backups by their file-name timestamp, each with its manifest
and the record of its last verification; files it does not recognise are never touched."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from pytest_liftbackup.api.manifest import SUFFIX as MANIFEST_SUFFIX

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
        """The files that belong to this backup and go with it: its manifest and verification record."""
        return [p for p in (self.manifest, self.verified) if p.exists()]

    def last_verification(self) -> dict[str, Any] | None:
        try:
            found = json.loads(self.verified.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return found if isinstance(found, dict) else None


def parse_name(path: Path) -> Backup | None:
    match = _NAME.match(path.name)
    if match is None or not path.is_file():
        return None
    try:
        taken = datetime.strptime(match["stamp"], "%Y%m%d_%H%M%S")
    except ValueError:
        return None
    return Backup(path, match["db"], taken)


def backups_in(folder: Path) -> list[Backup]:
    """The backups in `folder`, oldest first."""
    found = [b for p in sorted(folder.iterdir()) if (b := parse_name(p)) is not None]
    return sorted(found, key=lambda b: (b.taken, b.path.name))


def record_verification(backup_path: Path, passed: bool, summary: str) -> Path:
    """Remember the outcome of this verification beside the backup, for `liftbackup status`."""
    target = backup_path.with_name(backup_path.name + VERIFIED_SUFFIX)
    record = {
        "verified": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "passed": passed,
        "summary": summary,
    }
    partial = target.with_name(f".{target.name}.partial")
    partial.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    partial.replace(target)
    return target
