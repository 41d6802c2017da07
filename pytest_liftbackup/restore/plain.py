"""The native engine for plain SQL dumps: psycopg 3, statement by statement, COPY over the COPY protocol.

It reads the dump twice. The first pass (`scan`) runs nothing: it hashes the file, refuses
any psql meta-command other than pg_dump's own before a single statement runs, notes the roles
named, proves the file complete (pg_dump's trailer, every COPY block closed) and notes where each
block of COPY rows lies (a compressed dump is decompressed once, into a spool file, for that).
The second pass (`execute`) runs it with psql's semantics (autocommit, stop at the first error),
over `jobs` connections: COPY blocks, indexes and constraints run side by side when they touch
different tables (`restore/tasks`, `restore/pool`); the rows are never read by this pass.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import psycopg
from psycopg.pq import TransactionStatus

from pytest_liftbackup._errors import RestoreError
from pytest_liftbackup._safe_text import shown
from pytest_liftbackup.dump.inspect import DumpInfo, open_plain
from pytest_liftbackup.dump.sql_script import (
    UNDERSTOOD_META,
    CopyBlock,
    LineTooLong,
    MetaCommand,
    ScriptSyntaxError,
    SqlScript,
    Statement,
    meta_arguments_refused,
)
from pytest_liftbackup.restore import elevation
from pytest_liftbackup.restore.extensions import note, superuser_statement, with_hint
from pytest_liftbackup.restore.limits import UNLIMITED, deadline_check, over_budget
from pytest_liftbackup.restore.owners import deferred
from pytest_liftbackup.restore.owners import refused as owners_refused
from pytest_liftbackup.restore.pool import TaskFailed, TaskPool, run_statement
from pytest_liftbackup.restore.roles import RoleTally
from pytest_liftbackup.restore.skips import RestoreStats, skip_reason
from pytest_liftbackup.restore.tasks import setting_key, task_for
from pytest_liftbackup.server.database_shape import DatabaseShape
from pytest_liftbackup.server.database_shape import parse as database_shape
from pytest_liftbackup.server.databases import conninfo_from, into_dump_database

_COPY_CONTEXT_LINE = re.compile(r"\bCOPY \S+, line (\d+)")


@dataclass
class ScanResult:
    sha256: str
    roles: RoleTally
    text: Path  # the SQL text: the dump itself, or its decompressed spool
    copies: dict[int, CopyBlock] = field(default_factory=dict)  # by the offset where the rows start
    extensions: set[str] = field(default_factory=set)  # the extensions the dump creates
    shape: DatabaseShape | None = None  # what its CREATE DATABASE asks for (a dump made with -C)

    def discard(self) -> None:
        """Remove the decompressed spool of a compressed dump (the dump itself is never touched)."""
        if self.spooled:
            self.text.unlink(missing_ok=True)

    @property
    def spooled(self) -> bool:
        return self.text.name.startswith(_SPOOL_PREFIX)


_SPOOL_PREFIX = "liftbackup-spool-"
_PROGRESS_EVERY = 0.5  # seconds


class _Tee:
    """A readline() source that also writes what it reads to `out` (the decompressed spool), up to
    `budget` bytes (`max_size`): a compression bomb stops there."""

    def __init__(self, stream: IO[bytes], out: IO[bytes], budget: int, what: str) -> None:
        self._stream, self._out = stream, out
        self._left, self._budget, self._what = budget, budget, what

    def readline(self, limit: int = -1) -> bytes:
        line = self._stream.readline(limit)
        self._left -= len(line)
        if self._left < 0:
            raise over_budget(self._what, self._budget)
        self._out.write(line)
        return line


def _read_errors(info: DumpInfo, exc: BaseException) -> RestoreError:
    kind = info.extras.get("outer", "none")
    what = f"the {kind} data is corrupt or cut short" if kind != "none" else "the file cannot be read"
    return RestoreError(f"{info.path}: {what} ({exc}); the backup is damaged, take a new one")


def scan(
    info: DumpInfo,
    spool_dir: Path | None = None,
    *,
    trusted: bool = False,
    budget: int | None = None,
    deadline: float | None = None,
) -> ScanResult:
    """Check the whole file without running anything; raises RestoreError naming file and line.

    A compressed dump is decompressed into a spool file in `spool_dir` (removed by `discard()`, or
    here when the scan fails), so that the restore can read COPY rows by offset. Past `deadline`
    (of time.monotonic()) the scan stops with the time-limit error.
    """
    spool: IO[bytes] | None = None
    name = ""
    if info.extras.get("outer", "none") != "none":
        fd, name = tempfile.mkstemp(prefix=_SPOOL_PREFIX, suffix=".sql", dir=spool_dir)
        spool = os.fdopen(fd, "wb", buffering=1 << 20)
    try:
        check = deadline_check(deadline, str(info.path))
        result = _scan(info, spool, trusted, UNLIMITED if budget is None else budget, check)
    except BaseException:
        if spool is not None:
            spool.close()
            os.unlink(name)
        raise
    if spool is not None:
        spool.close()
        result.text = Path(name)
    return result


def _scan(
    info: DumpInfo, spool: IO[bytes] | None, trusted: bool, budget: int, check: Callable[[], None] | None
) -> ScanResult:
    # Hashed as it is read, at no extra pass; unless already hashed (a reuse miss needed the key first).
    digest = hashlib.sha256() if info.sha256 is None else None
    roles = RoleTally()
    extensions: set[str] = set()
    connected: str | None = None
    restrict_key: str | None = None
    copies: list[CopyBlock] = []
    shape: DatabaseShape | None = None
    try:
        with open_plain(info, digest) as stream:
            source = _Tee(stream, spool, budget, str(info.path)) if spool is not None else stream
            script = SqlScript(source, check=check)  # type: ignore[arg-type]
            for event in script:
                if isinstance(event, MetaCommand):
                    if event.name not in UNDERSTOOD_META:
                        raise RestoreError(
                            f"{info.path}:{event.line}: refused the psql meta-command \\{event.name}: "
                            "pg_dump never writes it and a dump must not run commands on this machine; "
                            "nothing was restored",
                            location=f"line {event.line}",
                            statement=f"\\{event.name} {event.args}",
                        )
                    if why := meta_arguments_refused(event):
                        raise RestoreError(
                            f"{info.path}:{event.line}: refused \\{event.name} with arguments pg_dump never "
                            f"writes ({why}): psql would run them; nothing was restored",
                            location=f"line {event.line}",
                            statement=f"\\{event.name} {event.args}",
                        )
                    if event.name == "restrict":
                        restrict_key = event.args
                    elif event.name == "unrestrict" and event.args != restrict_key:
                        raise RestoreError(
                            f"{info.path}:{event.line}: \\unrestrict with a key that no "
                            "\\restrict set; the file was edited or spliced"
                        )
                    elif event.name in ("connect", "c"):
                        target = event.args.split()[-1] if event.args.split() else ""
                        if connected is not None and target != connected:
                            raise RestoreError(
                                f"{info.path}:{event.line}: a second \\connect (to {target}): this is "
                                "pg_dumpall output of several databases; dump one database with pg_dump"
                            )
                        connected = target
                    continue
                if isinstance(event, CopyBlock):
                    copies.append(event)
                statement = event.statement if isinstance(event, CopyBlock) else event
                if refused := note(statement, extensions, trusted):
                    raise RestoreError(
                        f"{info.path}:{statement.line}: ", *refused, location=f"line {statement.line}"
                    )
                roles.add(statement)
                if statement.entry and statement.entry.type == "DATABASE" and shape is None:
                    shape = database_shape(statement.sql)
            if not script.complete:
                raise RestoreError(
                    f"{info.path}: the dump is cut short: it ends at line {script.lines} without the "
                    "'-- PostgreSQL database dump complete' line pg_dump writes last; the backup is "
                    "incomplete, take a new one",
                    location=f"line {script.lines}",
                )
    except LineTooLong as exc:
        raise RestoreError(
            f"{info.path}:{exc.line}: {exc}; nothing was restored", location=f"line {exc.line}"
        ) from None
    except ScriptSyntaxError as exc:
        raise RestoreError(
            f"{info.path}:{exc.line}: the dump is cut short: {exc}; take a new backup",
            location=f"line {exc.line}",
        ) from None
    except RestoreError:
        raise
    except (OSError, EOFError, zlib.error) as exc:
        raise _read_errors(info, exc) from None
    except Exception as exc:  # zstandard / lz4 errors have their own types
        if type(exc).__module__.split(".")[0] in ("zstandard", "lz4", "_lz4"):
            raise _read_errors(info, exc) from None
        raise
    for block in copies:
        block.data = iter(())
    return ScanResult(
        digest.hexdigest() if digest is not None else str(info.sha256),
        roles,
        info.path,
        {block.start: block for block in copies},
        extensions,
        shape,
    )


def execute(
    info: DumpInfo,
    scanned: ScanResult,
    conninfo: dict[str, str],
    *,
    restores_ownership: bool,
    superuser: dict[str, str] | None = None,
    jobs: int = 1,
    progress: Callable[[int, int], None] | None = None,
    deadline: float | None = None,
    owners: list[Statement] | None = None,
) -> RestoreStats:
    """Run the dump into the database; the first error stops it and is raised as RestoreError.

    With `owners` (staging restored as our staging role), the ownership statements of pg_dump's shape
    are collected there instead of run (restore/owners applies them after the last statement).

    With `superuser` (our own server's maintenance database; never the dump's text), extensions are
    created as `restore/extensions` describes and `restore/elevation` helps where it allows.
    With `jobs` > 1, tasks run on that many extra connections while barriers run here.
    `progress(bytes read, COPY rows handed over)` is called about twice a second. Past `deadline`,
    reading the statements stops with the time-limit error (the guard ends what runs on the server).
    """
    stats = RestoreStats()
    notice: Callable[[Any], None] = lambda diag: _warning(stats, diag)  # noqa: E731
    target = conninfo_from(conninfo)
    admin = into_dump_database(superuser, conninfo["dbname"]) if superuser else None
    pool = TaskPool(target, jobs, scanned.text, notice) if jobs > 1 else None
    settings: dict[str, bytes] = {}  # in force at this point of the dump, replayed by the workers
    try:
        with (
            psycopg.connect(target, autocommit=True) as conn,
            open(scanned.text, "rb") as text,
            open(scanned.text, "rb") as rows,
        ):
            conn.add_notice_handler(notice)
            script = SqlScript(text, scanned.copies, check=deadline_check(deadline, str(info.path)))
            rows_seen, next_report = 0, time.monotonic() + _PROGRESS_EVERY
            for event in script:
                if progress is not None and time.monotonic() >= next_report:
                    progress(script.offset, rows_seen)
                    next_report = time.monotonic() + _PROGRESS_EVERY
                if isinstance(event, MetaCommand):
                    continue  # only pg_dump's own are left after scan(); none changes what runs
                copy = event if isinstance(event, CopyBlock) else None
                rows_seen += copy.lines if copy is not None else 0
                statement = event.statement if isinstance(event, CopyBlock) else event
                reason = skip_reason(statement, restores_ownership)
                if reason:
                    stats.skip(reason)
                    continue
                if owners is not None and _collected(info, statement, owners):
                    continue
                if admin is not None and copy is None:
                    statement = elevation.as_restorer(conn, statement)
                elevated = superuser_statement(statement) if admin is not None else None
                idle = conn.info.transaction_status == TransactionStatus.IDLE
                task = task_for(statement, copy) if pool and elevated is None and idle else None
                if task is not None and pool is not None and pool.knows(task):
                    task.settings = tuple(settings.values())
                    pool.submit(task)
                    continue
                key = setting_key(statement)
                if pool is not None and key is None:
                    pool.barrier()
                try:
                    if elevated is not None and admin is not None:
                        admin.execute(elevated)
                        stats.superuser_statements += 1
                    elif admin is not None and copy is None:
                        stats.superuser_statements += elevation.run(admin, conn, statement)
                    else:
                        run_statement(conn, statement, copy, rows, idle=idle)
                except psycopg.Error as exc:
                    raise _restore_error(info, statement, exc) from None
                if key is not None:
                    settings.pop(key, None)
                    settings[key] = statement.sql
            if pool is not None:
                pool.barrier()
    except TaskFailed as failed:
        raise _restore_error(info, failed.statement, failed.error) from None
    finally:
        if pool is not None:
            pool.close()
        if admin is not None:
            admin.close()
    return stats


def _collected(info: DumpInfo, statement: Statement, owners: list[Statement]) -> bool:
    """True when `statement` joins the ownership statements applied later; raises for a dump the
    staging role cannot follow (restore/owners.refused)."""
    if (refusal := owners_refused(info, statement)) is not None:
        raise refusal
    if deferred(statement):
        owners.append(statement)
        return True
    return False


def _warning(stats: RestoreStats, diag: psycopg.errors.Diagnostic) -> None:
    if diag.severity_nonlocalized in ("WARNING",) and len(stats.warnings) < 50:
        stats.warnings.append(f"{diag.severity}: {diag.message_primary}")


def _restore_error(info: DumpInfo, statement: Statement, exc: psycopg.Error) -> RestoreError:
    diag = exc.diag
    line = statement.line
    context = diag.context or ""
    copy_line = _COPY_CONTEXT_LINE.search(context)
    if copy_line:
        line = statement.line + int(copy_line.group(1))
    primary = with_hint(diag.message_primary or str(exc).strip(), diag.message_hint or "")
    detail = "\n".join(  # one line each: the dump's text may hold newlines of its own
        shown(part)
        for part in (
            f"DETAIL: {diag.message_detail}" if diag.message_detail else "",
            f"HINT: {diag.message_hint}" if diag.message_hint else "",
            f"CONTEXT: {context}" if context else "",
            f"SQLSTATE: {diag.sqlstate}" if diag.sqlstate else "",
        )
        if part
    )
    where = f" ({statement.entry})" if statement.entry else ""
    return RestoreError(
        f"{info.path}:{line}: restore failed{where}: ",
        *primary,
        location=f"line {line}{where}",
        statement=statement.sql.decode("utf-8", "replace"),
        detail=detail,
    )
