"""Which database a backup is of, and when it was taken: compared with the target before a restore.

The backup's own word, in this order: its manifest (`database`, `created`); else what pg_dump wrote in
the dump (an archive's header names its database and time, a plain dump its database only with
`CREATE DATABASE`); else the file name in the scheme `liftbackup backup` writes
(`<db>_backup_YYYYMMDD_HHMMSS...`, `<db>` the database's `file_stem`). None of them is authenticated:
this stops the wrong backup going in by mistake (a backup of `hr` into `lift_simulator`), not a
forged one.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pytest_liftbackup._errors import Part
from pytest_liftbackup._safe_text import shown
from pytest_liftbackup.api.backup import file_stem
from pytest_liftbackup.api.manifest import Manifest
from pytest_liftbackup.dump.inspect import DumpInfo
from pytest_liftbackup.dump.locate import backup_timestamp, database_from_name

MANIFEST = "its manifest"
FILE_NAME = "its file name"
NAME_SCHEME = "<db>_backup_YYYYMMDD_HHMMSS"
UNKNOWN_DATABASE = f"no manifest, no database name in the dump, and its file name is not {NAME_SCHEME}"
UNKNOWN_TIME = f"no manifest, no time in the dump, and its file name is not {NAME_SCHEME}"
FROM_DATABASE = "--from-database"


@dataclass(frozen=True)
class Source:
    """Where a backup comes from, as far as it says: each fact with what says it (or why unknown)."""

    database: str | None  # from a file name: its `<db>` part (a `file_stem`)
    database_from: str
    taken: str | None
    taken_from: str

    def is_of(self, name: str) -> bool:
        """Whether the backup says it is of the database `name`."""
        if self.database is None:
            return False
        return self.database == (file_stem(name) if self.database_from == FILE_NAME else name)


def source_of(manifest: Manifest | None, info: DumpInfo, file_name: str) -> Source:
    """What the backup `file_name` (its manifest, if any, and the dump's header facts) says."""
    database, database_from = _database(manifest, info, file_name)
    taken, taken_from = _taken(manifest, info, file_name)
    return Source(database, database_from, taken, taken_from)


def _database(manifest: Manifest | None, info: DumpInfo, file_name: str) -> tuple[str | None, str]:
    if manifest is not None and manifest.database:
        return manifest.database, MANIFEST
    if info.database and info.database_from == "dump":
        return info.database, "its CREATE DATABASE" if info.is_plain else "its archive header"
    if named := database_from_name(file_name):
        return named, FILE_NAME
    return None, UNKNOWN_DATABASE


def _taken(manifest: Manifest | None, info: DumpInfo, file_name: str) -> tuple[str | None, str]:
    if manifest is not None and manifest.created:
        return manifest.created, MANIFEST
    if info.created:
        return info.created, "its archive header, in the local time of the machine that dumped it"
    if stamp := backup_timestamp(file_name):
        return f"{stamp[:4]}-{stamp[4:6]}-{stamp[6:8]} {stamp[9:11]}:{stamp[11:13]}:{stamp[13:]}", FILE_NAME
    return None, UNKNOWN_TIME


def refusal(given: Path, source: Source, target: str, from_database: str | None) -> tuple[Part, ...] | None:
    """Why the backup `given` may not go into `target`, or None: a backup of another database needs
    `--from-database` naming that database; a `--from-database` the backup contradicts is refused."""
    claimed = from_database if from_database is not None else target
    if source.database is None or source.is_of(claimed):
        return None
    said = f"{shown(str(given))}: a backup of the database {shown(source.database)}"
    said += f" (from {source.database_from})"
    if from_database is None:
        return (
            f"{said}, not of {shown(target)}; to restore it into {shown(target)} all the same, pass "
            f"{FROM_DATABASE} {shown(source.database)}",
        )
    return (
        f"{said}, not of {shown(from_database)} as {FROM_DATABASE} says; pass {FROM_DATABASE} "
        f"{shown(source.database)} to restore it into {shown(target)}",
    )
