"""How far one restore may go: time, expanded size, line length, and the guard that enforces them.

A dump is untrusted input: a 3 MB gzip can inflate to gigabytes, an archive can hold a compressed bomb,
a statement can sleep forever. Every restore has a deadline (`timeout`) and a size budget
(`max_size`, by default 50 times the dump file with a 1 GB floor) that bounds the text it
decompresses and the database it builds (a line longer than `dump/sql_script.MAX_LINE` is refused as it is
read). The guard watches the restore from a thread and, past a limit, ends the restore's sessions on
the server, so the restore fails with the reason instead of hanging or filling the disk; the reading
of the dump itself (scan, splitting) checks the same deadline as it goes (`deadline_check`).
"""

from __future__ import annotations

import os
import re
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, TYPE_CHECKING, Any

from pytest_liftbackup._errors import LiftbackupError, Part, RestoreError, Setting

if TYPE_CHECKING:  # imported when a guard runs: options are read by every pytest run, cheaply
    import psycopg

DEFAULT_TIMEOUT = 6 * 3600.0
DEFAULT_MAX_SIZE = "50x"
UNLIMITED = 1 << 62  # a budget for callers that set none
SIZE_FLOOR = 1 << 30  # a multiple of a tiny dump still allows this much
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?\s*$", re.IGNORECASE)
_MULTIPLE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*x\s*$", re.IGNORECASE)
_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}


def human_size(size: float) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{size:.1f} GB"


@dataclass(frozen=True)
class Limits:
    timeout: float = DEFAULT_TIMEOUT
    max_size: str = DEFAULT_MAX_SIZE

    def __post_init__(self) -> None:
        if not (_SIZE.match(self.max_size) or _MULTIPLE.match(self.max_size)):
            raise LiftbackupError(
                Setting.MAX_SIZE,
                f": {self.max_size!r} is not a size; write 20G, 500M or 50x (times the dump)",
            )
        if self.timeout <= 0:
            raise LiftbackupError(Setting.TIMEOUT, f": {self.timeout:g} is not a positive number of seconds")

    def max_bytes(self, dump_size: int) -> int:
        """The budget for what one dump expands to: decompressed text, unpacked files, the database."""
        if m := _MULTIPLE.match(self.max_size):
            return max(int(float(m.group(1)) * dump_size), SIZE_FLOOR)
        m = _SIZE.match(self.max_size)
        assert m is not None
        return int(float(m.group(1)) * _UNITS[m.group(2).lower()])


class TooBig(RestoreError):
    """What the dump expands to went past the size limit."""


def over_budget(what: str, budget: int) -> TooBig:
    return TooBig(
        f"{what} expands past {human_size(budget)} (",
        Setting.MAX_SIZE,
        "); a backup this size is unlikely, a crafted or damaged one likely. "
        "Raise the limit if it is really yours",
    )


def bounded_copy(source: IO[bytes], sink: IO[bytes], budget: int, what: str) -> int:
    """copyfileobj that stops past `budget` bytes; returns how many were copied."""
    copied = 0
    while chunk := source.read(1 << 20):
        copied += len(chunk)
        if copied > budget:
            raise over_budget(what, budget)
        sink.write(chunk)
    return copied


def check_disk(folder: Path, needed: int, what: str) -> None:
    """Fail before restoring when the folder's disk cannot hold about `needed` more bytes."""
    free = shutil.disk_usage(folder).free
    if free < needed:
        raise LiftbackupError(
            f"{what}: not enough disk space in {folder}: {human_size(free)} free, "
            f"about {human_size(needed)} needed; free some space or point TMPDIR at a bigger disk"
        )


TIME_LIMIT: tuple[Part, ...] = ("the restore ran past its time limit (", Setting.TIMEOUT, "); it was stopped")


def deadline_check(deadline: float | None, what: str) -> Callable[[], None] | None:
    """For the readers of a dump (its scan, the splitting into statements, pg_restore's listing): the
    guard cannot stop Python reading, so the reader calls this and gets the guard's time-limit error
    once `deadline` (of time.monotonic()) has passed. None without a deadline."""
    if deadline is None:
        return None

    def check() -> None:
        if time.monotonic() > deadline:
            raise RestoreError(f"{what}: ", *TIME_LIMIT)

    return check


class RestoreGuard:
    """Ends a restore's sessions when it passes its deadline or its database outgrows the budget."""

    def __init__(
        self,
        admin: Callable[[], psycopg.Connection[Any]],
        database: str,
        deadline: float,
        max_bytes: int | None,
        poll: float = 0.5,
    ) -> None:
        self._admin, self._database, self._deadline, self._max = admin, database, deadline, max_bytes
        self._poll = poll
        self._temp_files = TempFiles(database)
        self._done = threading.Event()
        self.tripped: tuple[Part, ...] = ()
        self._thread = threading.Thread(target=self._watch, name="liftbackup-guard", daemon=True)

    def __enter__(self) -> RestoreGuard:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._done.set()
        self._thread.join()

    def final_look(self) -> tuple[Part, ...]:
        """Once more, after the restore: a database that outgrew the budget between two looks fails too."""
        with self._admin() as conn:
            return self.tripped or self._reason(conn)

    def _watch(self) -> None:
        import psycopg

        from pytest_liftbackup.server.databases import end_sessions

        try:
            with self._admin() as conn:
                conn.autocommit = True
                while not self._done.wait(self._poll):
                    self.tripped = self._reason(conn)
                    if self.tripped:
                        end_sessions(conn, database=self._database)
                        return
        except psycopg.Error:
            return  # the server went away: the restore itself reports that

    def _reason(self, conn: psycopg.Connection[Any]) -> tuple[Part, ...]:
        """Why the restore must stop, as message parts; empty while it may go on."""
        if time.monotonic() > self._deadline:
            return TIME_LIMIT
        if self._max is not None:
            row = conn.execute("SELECT pg_catalog.pg_database_size(%s)", (self._database,)).fetchone()
            size = int(row[0]) if row else 0
            what = "the restored database"
            if size <= self._max:
                size += self._temp_files.size(conn)
                what += " and its temporary files"
            if size > self._max:
                return (f"{what} grew past {human_size(self._max)} (", Setting.MAX_SIZE, "); it was stopped")
        return ()


_TEMP_FILE = re.compile(r"^pgsql_tmp(\d+)\.")


class TempFiles:
    """The temporary files a database's sessions write (a sort or hash spilling to disk, in every
    tablespace's pgsql_tmp), which pg_database_size does not count. Read from the server's folders
    when this machine can see them (a server of ours); else, or where the settings are hidden from the
    DSN's user, nothing is counted and temp_file_limit alone bounds them."""

    def __init__(self, database: str) -> None:
        self._database = database
        self._folders: list[Path] | None = None

    def size(self, conn: psycopg.Connection[Any]) -> int:
        if self._folders is None:
            self._folders = _temp_folders(conn)
        if not self._folders:
            return 0
        rows = conn.execute(
            "SELECT pid FROM pg_catalog.pg_stat_activity WHERE datname OPERATOR(pg_catalog.=) %s",
            (self._database,),
        ).fetchall()
        pids = {str(row[0]) for row in rows}
        return sum(_tree_size(entry) for entry in _entries(self._folders) if _owner(entry.name) in pids)


def _temp_folders(conn: psycopg.Connection[Any]) -> list[Path]:
    import psycopg

    try:
        row = conn.execute("SELECT pg_catalog.current_setting('data_directory')").fetchone()
        rows = conn.execute(
            "SELECT pg_catalog.pg_tablespace_location(oid) FROM pg_catalog.pg_tablespace"
        ).fetchall()
    except psycopg.Error:  # not a superuser, nor in pg_read_all_settings
        return []
    folders = [Path(row[0]) / "base" / "pgsql_tmp"] if row else []
    for (location,) in rows:
        if location:
            folders += Path(location).glob("PG_*/pgsql_tmp")
    return folders


def _entries(folders: list[Path]) -> list[os.DirEntry[str]]:
    found = []
    for folder in folders:
        try:
            found += list(os.scandir(folder))
        except OSError:  # none yet, or not ours to read
            continue
    return found


def _owner(name: str) -> str:
    """The pid in a temporary file's name (`pgsql_tmp<pid>.<n>`, a shared set `...<n>.fileset`)."""
    m = _TEMP_FILE.match(name)
    return m.group(1) if m else ""


def _tree_size(entry: os.DirEntry[str]) -> int:
    """A file's size, or a folder's files' (parallel workers share a fileset folder); 0 once gone."""
    try:
        if not entry.is_dir(follow_symlinks=False):
            return entry.stat(follow_symlinks=False).st_size
        return sum(_tree_size(inner) for inner in os.scandir(entry.path))
    except OSError:
        return 0
