"""`take_backup`: pg_dump into a backup folder, with a manifest of what the database held.

The file is written under a hidden temporary name and renamed only once pg_dump has finished and the
file is on disk, so a half-written file never looks like a backup (an interrupted backup leaves
nothing). Row counts and digests are read in the transaction whose snapshot pg_dump dumps
(`pg_export_snapshot` + `pg_dump --snapshot`), so the manifest describes exactly the dump even while
the application writes.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any

import psycopg

from pytest_liftbackup._errors import LiftbackupError
from pytest_liftbackup._safe_text import shown
from pytest_liftbackup.api.manifest import Manifest, manifest_path, read_facts
from pytest_liftbackup.dump import encryption
from pytest_liftbackup.dump import files as _files
from pytest_liftbackup.dump.inspect import major_of
from pytest_liftbackup.server import binaries as _binaries
from pytest_liftbackup.server import live
from pytest_liftbackup.server.databases import server_version_of
from pytest_liftbackup.server.libpq_env import tool_env

EXTENSIONS = {"plain": ".sql", "custom": ".dump"}
LOG_NAME = "liftbackup.log"


@dataclass(frozen=True)
class BackupResult:
    path: Path
    manifest_path: Path
    manifest: Manifest
    seconds: float


# What a database name may keep in a file name: no path separator, no dot (no `..`, no hidden file), no
# control character, nothing a shell or a scheduler reads specially.
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")
_STEM_MAX = 48


def file_stem(database: str) -> str:
    """The database name as the start of a file name: itself when it is made of letters, digits, `_`
    and `-` only (and not too long), else those characters kept (others as `-`, at most 48) and a
    hash of the whole name, so that two databases never share a name by the replacing."""
    if not _UNSAFE.search(database) and 0 < len(database) <= _STEM_MAX:
        return database
    kept = _UNSAFE.sub("-", database)[:_STEM_MAX]
    return f"{kept}-{hashlib.sha256(database.encode('utf-8', 'surrogatepass')).hexdigest()[:12]}"


def backup_name(database: str, fmt: str, when: datetime, encrypted: bool = False) -> str:
    """`<db>_backup_YYYYMMDD_HHMMSS.sql` (or `.dump`), `.age` added when encrypted; `<db>` is the
    database's `file_stem`."""
    stem = f"{file_stem(database)}_backup_{when:%Y%m%d_%H%M%S}{EXTENSIONS[fmt]}"
    return stem + (encryption.SUFFIX if encrypted else "")


def take_backup(
    dsn: str | None,
    folder: Path,
    *,
    fmt: str = "plain",
    encrypt_to: list[str] | None = None,
    pg_bin: tuple[tuple[str, str], ...] = (),
    now: datetime | None = None,
    progress: Callable[[int], Any] | None = None,
) -> BackupResult:
    """Back up the database `dsn` names into `folder`; raises LiftbackupError, leaving nothing behind."""
    if fmt not in EXTENSIONS:
        raise LiftbackupError(f"{fmt}: not a backup format; choose plain (the default) or custom")
    to = encryption.recipients(encrypt_to) if encrypt_to else None
    started = time.perf_counter()
    with live.connect(dsn, autocommit=False) as conn:
        # One REPEATABLE READ transaction: its snapshot is exported to pg_dump and read for the facts.
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        conn.read_only = True
        version = server_version_of(conn)
        pg_dump = _binaries.choose(
            _binaries.candidates(list(pg_bin)),
            major_of(version),
            ("pg_dump",),
            f"the backup of {live.described(conn)}",
        )
        database = conn.info.dbname
        folder.mkdir(parents=True, exist_ok=True)  # once the server answered: a typo leaves no folder
        if os.path.lexists(folder / LOG_NAME):  # a planted log is refused before pg_dump runs
            _files.open_log(folder / LOG_NAME).close()
        when = now or datetime.now()
        path = folder / backup_name(database, fmt, when, encrypted=to is not None)
        if os.path.lexists(path) or os.path.lexists(manifest_path(path)):
            raise LiftbackupError(f"{path}: a backup of that name exists already; wait a second and retry")
        snapshot = str(_one(conn, "SELECT pg_catalog.pg_export_snapshot()"))
        partial = _files.temporary_beside(path)
        try:
            dumped = _PgDump(pg_dump, conn, snapshot, fmt, to, progress)
            digest, size = dumped.into(partial, lambda: read_facts(conn))
            facts, flyway = dumped.facts
            conn.rollback()
            partial.replace(path)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        _files.sync_folder(folder)
    manifest = Manifest(
        file=path.name,
        sha256=digest,
        size=size,
        created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        database=database,
        server_version=version,
        pg_dump_version=pg_dump.version,
        format=fmt,
        encrypted=to is not None,
        flyway_version=flyway,
        tables=facts,
    )
    if to is not None:
        manifest.seal(to)  # no table's digest in clear beside an encrypted file (api/manifest)
    manifest.write(manifest_path(path))
    seconds = time.perf_counter() - started
    log(
        folder,
        f"backup {file_stem(database)} -> {path.name}: {size} bytes, {len(facts)} tables, sha256 {digest}, "
        f"pg_dump {pg_dump.version}, {seconds:.1f} s",
    )
    return BackupResult(path, manifest_path(path), manifest, seconds)


def _one(conn: psycopg.Connection[Any], query: str) -> Any:
    row = conn.execute(query).fetchone()
    assert row is not None
    return row[0]


def log(folder: Path, line: str) -> None:
    """One line per action in the folder's liftbackup.log: what happened to these backups, and when
    (appended without following a planted link; see dump/files.py)."""
    stamp = datetime.now().astimezone().isoformat(timespec="seconds")
    # shown: one line, though it names files of the folder
    _files.append_text(folder / LOG_NAME, f"{stamp} {shown(line)}\n")


class _Sink:
    """The file being written: every byte hashed and counted as it goes to disk."""

    def __init__(self, stream: IO[bytes], progress: Callable[[int], Any] | None) -> None:
        self._stream, self._progress = stream, progress
        self.digest, self.size = hashlib.sha256(), 0

    def write(self, data: bytes) -> int:
        self.digest.update(data)
        self.size += len(data)
        self._stream.write(data)
        if self._progress is not None:
            self._progress(len(data))
        return len(data)

    def flush(self) -> None:
        self._stream.flush()


class _PgDump:
    """pg_dump of the exported snapshot, streamed (and encrypted, if asked) into a file."""

    def __init__(
        self,
        binaries: _binaries.PgBinaries,
        conn: psycopg.Connection[Any],
        snapshot: str,
        fmt: str,
        to: list[Any] | None,
        progress: Callable[[int], Any] | None,
    ) -> None:
        self._args = [
            str(binaries.tool("pg_dump")),
            f"--format={fmt}",
            f"--snapshot={snapshot}",
            "--no-password",
        ]
        self._settings, self._major = live.settings(conn), binaries.major  # given to pg_dump by tool_env
        self._where = live.described(conn)
        self._to, self._progress = to, progress
        self.facts: Any = None
        self._failure: BaseException | None = None

    def into(self, partial: Path, read_facts: Callable[[], Any]) -> tuple[str, int]:
        """Run pg_dump into `partial` while `read_facts` reads the same snapshot; sha256 and size."""
        with (
            tool_env(self._settings, self._major, tool="pg_dump") as env,
            tempfile.TemporaryFile() as errors,
            os.fdopen(_files.create_private(partial), "wb") as out,
        ):
            proc = subprocess.Popen(self._args, stdout=subprocess.PIPE, stderr=errors, env=env)
            sink = _Sink(out, self._progress)
            assert proc.stdout is not None
            copier = threading.Thread(target=self._copy, args=(proc.stdout, sink), daemon=True)
            copier.start()
            try:
                self.facts = read_facts()
                copier.join()
                code = proc.wait()
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
                copier.join()
            if code != 0 or self._failure is not None:
                errors.seek(0)
                said = errors.read().decode("utf-8", "replace").strip().splitlines()[-3:]
                why = "; ".join(said) or f"{type(self._failure).__name__}: {self._failure}"
                raise LiftbackupError(f"pg_dump of {self._where} failed (exit {code}): {why}")
            out.flush()
            os.fsync(out.fileno())
        return sink.digest.hexdigest(), sink.size

    def _copy(self, source: IO[bytes], sink: _Sink) -> None:
        try:
            if self._to is not None:
                encryption.encrypt(source, sink, self._to)
            else:
                while chunk := source.read(1 << 20):
                    sink.write(chunk)
        except BaseException as exc:  # reported by into(), in the calling thread
            self._failure = exc
            source.close()
