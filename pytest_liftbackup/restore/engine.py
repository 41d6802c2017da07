"""Restore one dump into a fresh database and say how it went: the step between dump file and tests."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from pytest_liftbackup._errors import LiftbackupError, RestoreError, Setting
from pytest_liftbackup._safe_text import shown
from pytest_liftbackup.dump.inspect import DumpInfo, sha256_of_path
from pytest_liftbackup.dump.sql_script import Statement
from pytest_liftbackup.restore import archive as _archive_restore
from pytest_liftbackup.restore import extensions as _extensions
from pytest_liftbackup.restore import plain as _plain_restore
from pytest_liftbackup.restore.limits import TIME_LIMIT, Limits, RestoreGuard, check_disk
from pytest_liftbackup.restore.roles import RoleTally
from pytest_liftbackup.server.binaries import PgBinaries, having
from pytest_liftbackup.server.database_shape import DatabaseShape, ShapeError
from pytest_liftbackup.server.databases import LOCK_TIMEOUT, Database, Host, elevated, limit_temp_files
from pytest_liftbackup.server.target import Target
from pytest_liftbackup.server.throwaway import ThrowawayServer
from pytest_liftbackup.server.unprivileged import server_user
from pytest_liftbackup.server.watchdog import Watchdog, entrust


@dataclass
class RestoreOutcome:
    """What `liftbackup_dump` gives tests and what the summary prints."""

    info: DumpInfo
    database: Database | None = None
    error: LiftbackupError | None = None
    seconds: float = 0.0
    engine: str = ""
    tables: dict[str, int] = field(default_factory=dict)
    roles_created: list[str] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    elevated: int = (
        0  # statements re-composed and run by the superuser (restore/extensions, restore/elevation)
    )
    mode: str = ""  # who ran the dump: untrusted (a role of its own) or trusted
    reused: bool = False  # reuse found this dump's restore kept by an earlier run
    kept_facts: dict[str, Any] = field(default_factory=dict)
    # Staging restored as our staging role: the dump's ownership statements, collected for
    # restore/owners.apply once nothing reads the database as that role any more (api/main_restore).
    deferred_owners: list[Statement] | None = None

    def facts(self) -> dict[str, Any]:
        """What a later run needs to stand in for this restore when it reuses the database."""
        assert self.database is not None
        if self.reused:
            return dict(self.kept_facts)  # still the facts of the run that restored it
        return {
            "database": self.database.name,
            "engine": self.engine,
            "seconds": self.seconds,
            "tables": self.tables,
            "roles_created": self.roles_created,
            "skipped": self.skipped,
            "warnings": self.warnings,
            "elevated": self.elevated,
            "mode": self.mode,
            "sha256": self.info.sha256,
            "dump": str(self.info.path),
            "stored": time.strftime("%Y-%m-%d %H:%M:%S"),
        }

    def stand_in(self, facts: dict[str, Any], database: Database) -> None:
        """Take the facts of the kept restore instead of restoring again."""
        self.database, self.reused, self.kept_facts = database, True, dict(facts)
        when = f"{facts['stored']} in {facts['seconds']:.1f} s"
        self.engine = f"reused: restored by {facts['engine']} on {when}"
        self.tables = dict(facts["tables"])
        self.roles_created = list(facts["roles_created"])
        self.skipped = dict(facts["skipped"])
        self.warnings = list(facts["warnings"])
        self.elevated = int(facts["elevated"])
        self.mode = str(facts.get("mode", ""))

    @property
    def ok(self) -> bool:
        return self.error is None and self.database is not None

    @property
    def rows(self) -> int:
        return sum(self.tables.values())

    @property
    def mb_per_s(self) -> float:
        return self.info.size / 1e6 / self.seconds if self.seconds > 0 else 0.0

    def error_text(self) -> str:
        """The error as shown to people: PostgreSQL's messages quote the dump, so each value is `shown`."""
        return self.error.report(shown) if isinstance(self.error, RestoreError) else shown(str(self.error))


def _mode(host_kind: str, restorer: str, trusted: bool) -> str:
    """Who ran the dump, for the summary and the JSON report."""
    if trusted:
        who = "superuser" if host_kind == "throwaway" else "the DSN's user"
        return f"trusted: restored as {who} {restorer}"
    after = "dropped after the run" if host_kind in ("existing", "staging") else "no login after the restore"
    return f"untrusted: restored as {restorer} (no superuser, own role, {after})"


def count_rows(conninfo: dict[str, str], admin: Mapping[str, str], seconds: float) -> dict[str, int]:
    """Exact row counts of every ordinary table (partitions counted, their parents not).

    Read as checks read (the reader, row security off), on an `elevated` connection: nothing the dump
    defines can stand in for `count` or an operator here; in `seconds` at most (a watchdog ends the
    session, reaching the server as `admin`), no lock waited for past LOCK_TIMEOUT.
    """
    counts: dict[str, int] = {}
    with elevated(conninfo) as conn:
        watchdog = Watchdog(entrust(conn, admin), seconds)
        try:
            with watchdog:
                _count_rows(conn, counts)
        except psycopg.Error:
            if watchdog.fired:
                raise RestoreError(*TIME_LIMIT) from None
            raise
    return counts


# Every ordinary table of the dump's (row counts here, digests in api/manifest).
ORDINARY_TABLES = (
    "SELECT n.nspname, c.relname FROM pg_catalog.pg_class c "
    "JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace "
    "WHERE c.relkind OPERATOR(pg_catalog.=) 'r' "
    "AND n.nspname OPERATOR(pg_catalog.<>) 'pg_catalog' "
    "AND n.nspname OPERATOR(pg_catalog.<>) 'information_schema' "
    "AND n.nspname OPERATOR(pg_catalog.!~~) 'pg\\_toast%' "
    "AND n.nspname OPERATOR(pg_catalog.!~~) 'pg\\_temp%' ORDER BY 1, 2"
)


def _count_rows(conn: psycopg.Connection[Any], counts: dict[str, int]) -> None:
    conn.execute("SELECT pg_catalog.set_config('lock_timeout', %s, false)", (LOCK_TIMEOUT,))
    for schema, table in conn.execute(ORDINARY_TABLES).fetchall():
        name = sql.SQL("{}.{}").format(sql.Identifier(schema), sql.Identifier(table))
        try:
            row: Any = conn.execute(sql.SQL("SELECT pg_catalog.count(*) FROM {}").format(name)).fetchone()
        except psycopg.errors.InsufficientPrivilege as exc:
            raise LiftbackupError(
                f"table {schema}.{table} cannot be read in full: {exc.diag.message_primary}. "
                "Its row-level security policy would hide rows from checks; give the DSN a superuser "
                "so the reader bypasses row security"
            ) from None
        counts[f"{schema}.{table}"] = int(row[0])


@dataclass(frozen=True)
class Progress:
    """How far one restore is: for people watching a long one."""

    dump: str
    done: int  # bytes of SQL text read (plain), or TOC entries worked on (archives)
    total: int
    rows: int  # COPY rows handed to the server (plain)
    seconds: float
    unit: str = "bytes"  # or "TOC entries"


@dataclass(frozen=True)
class RestoreOptions:
    """How to restore: connections side by side, whether the dump is trusted, its limits, and who
    is told how far it is (plain dumps)."""

    jobs: int = 1
    trusted: bool = False  # a superuser (or the DSN's user) runs the dump
    limits: Limits = field(default_factory=Limits)
    progress: Callable[[Progress], None] | None = None


# What an archive is taken to expand to while restored, in multiples of its size (its data is compressed).
ARCHIVE_EXPANSION = 3


@dataclass
class _Read:
    """A dump read and checked before any server is asked for: what restoring it needs."""

    roles: RoleTally
    expanded: int  # bytes of SQL text or archive the restore will read
    extensions: set[str]  # the extensions the dump creates: the server must have them
    shape: DatabaseShape | None  # the encoding and locale its CREATE DATABASE asks for
    scanned: _plain_restore.ScanResult | None = None
    access: _archive_restore.ArchiveAccess | None = None
    plan: _archive_restore.ArchivePlan | None = None

    def discard(self) -> None:
        if self.scanned is not None:
            self.scanned.discard()
        if self.access is not None:
            self.access.discard()


def _read(
    outcome: RestoreOutcome,
    pg_restore: PgBinaries | None,
    workdir: Path,
    trusted: bool,
    limits: tuple[int, float],
) -> _Read:
    """The dump read and checked within `limits`: (the size budget, the deadline of time.monotonic())."""
    info = outcome.info
    budget, deadline = limits
    if info.is_plain:
        outcome.engine = "native (psycopg)"
        scanned = _plain_restore.scan(info, workdir, trusted=trusted, budget=budget, deadline=deadline)
        info.sha256 = scanned.sha256
        size = scanned.text.stat().st_size
        return _Read(scanned.roles, size, scanned.extensions, scanned.shape, scanned=scanned)
    assert pg_restore is not None
    outcome.engine = f"pg_restore {pg_restore.version}"
    info.sha256 = info.sha256 or sha256_of_path(info.path)  # a reuse miss hashed it already
    access = _archive_restore.prepare(info, pg_restore, workdir, server_user(), budget, deadline)
    try:
        plan = _archive_restore.check_and_plan(info, access, trusted=trusted, deadline=deadline)
    except BaseException:
        access.discard()
        raise
    expanded = info.size * ARCHIVE_EXPANSION
    return _Read(plan.roles, expanded, plan.wanted_extensions, plan.shape, access=access, plan=plan)


def _run(
    outcome: RestoreOutcome,
    read: _Read,
    database: Database,
    superuser: dict[str, str] | None,
    options: RestoreOptions,
    deadline: float,
    as_us: bool,
    owners: list[Statement] | None = None,
) -> None:
    """`owners`: where the dump's ownership statements are collected instead of run (restore/owners)."""
    info, jobs, started = outcome.info, options.jobs, time.perf_counter()
    tell = options.progress

    def plain_progress(done: int, rows: int) -> None:
        if tell is not None:
            tell(Progress(info.name, done, read.expanded, rows, time.perf_counter() - started))

    def archive_progress(done: int, total: int) -> None:
        if tell is not None:
            tell(Progress(info.name, done, total, 0, time.perf_counter() - started, "TOC entries"))

    if read.scanned is not None:
        stats = _plain_restore.execute(
            info,
            read.scanned,
            database.restore_conninfo,
            restores_ownership=database.restores_ownership,
            superuser=superuser,
            jobs=jobs,
            progress=plain_progress if tell else None,
            deadline=deadline,
            owners=owners,
        )
    else:
        assert read.access is not None
        stats = _archive_restore.restore(
            info,
            read.access,
            database.restore_conninfo,
            restores_ownership=database.restores_ownership,
            jobs=jobs,
            plan=read.plan,
            superuser=superuser,
            progress=archive_progress if tell else None,
            as_us=as_us,
            owners_later=owners is not None,
        )
        if owners is not None and read.plan is not None:
            owners += read.plan.ownership + read.plan.default_acls
    outcome.skipped = stats.skipped
    outcome.elevated = stats.superuser_statements
    outcome.warnings += stats.warnings


def restore(
    outcome: RestoreOutcome,
    get_host: Callable[[], Host],
    pg_restore: PgBinaries | None,
    workdir: Path,
    options: RestoreOptions | None = None,
) -> None:
    """Fill `outcome` by restoring its dump into a new database; errors land in `outcome.error`.

    The dump is checked in full before anything runs on the server that `get_host()` gives. A dump
    of `START_BESIDE_SCAN` bytes or more has its server started beside that check (`_HostStart`);
    a smaller one is checked first, so a refused one starts no server. The restore runs under a
    guard that stops it past its time limit or size budget; the time limit counts from here, and
    reading the dump (the check, the splitting into statements) stops at it too.
    """
    options = options or RestoreOptions()
    info = outcome.info
    started = time.perf_counter()
    deadline = time.monotonic() + options.limits.timeout
    budget = options.limits.max_bytes(info.size)
    host: Host | None = None
    try:
        starting = _HostStart(get_host, beside_scan=info.size >= START_BESIDE_SCAN)
        try:
            read = _read(outcome, pg_restore, workdir, options.trusted, (budget, deadline))
        except BaseException:
            starting.join()
            raise
        try:
            waited = time.perf_counter()
            host = starting.result()
            started += time.perf_counter() - waited  # a server start is not part of the restore
            throwaway = isinstance(host, ThrowawayServer)
            if isinstance(host, ThrowawayServer):
                check_disk(host.workdir, 2 * read.expanded, str(info.path))
            if lacking := _extensions.missing(host.admin_conninfo(), read.extensions):
                elsewhere = having(lacking, info.required_major) if throwaway else []
                raise RestoreError(
                    f"{info.path}: ", *_extensions.unavailable(lacking, host.description, elsewhere)
                )
            database = _new_database(outcome, host, read, options.trusted)
            as_staging_role = host.kind == "staging" and not options.trusted
            if host.kind != "staging":  # the staging database becomes the user's: no setting of ours
                readers = (database.restorer, database.read_conninfo["user"])
                limit_temp_files(host.admin_conninfo(), database.name, readers, budget)
            elif as_staging_role:  # set on our staging role, dropped with it
                limit_temp_files(host.admin_conninfo(), database.name, [database.restorer], budget)
            superuser = _superuser_for(host, throwaway, options.trusted)
            owners: list[Statement] | None = [] if as_staging_role else None
            admin = lambda: elevated(host.admin_conninfo(), autocommit=False)  # noqa: E731
            try:
                with RestoreGuard(admin, database.name, deadline, budget) as guard:
                    try:
                        _run(
                            outcome,
                            read,
                            database,
                            superuser,
                            options,
                            deadline,
                            as_us=not throwaway,
                            owners=owners,
                        )
                        outcome.deferred_owners = owners  # applied once the staging checks ran
                    except (LiftbackupError, psycopg.Error) as exc:
                        if guard.tripped:
                            raise RestoreError(f"{info.path}: ", *guard.tripped) from None
                        if as_staging_role and isinstance(exc, RestoreError):
                            raise _as_staging_role(exc, database.restorer) from None
                        raise
                if reason := guard.final_look():
                    raise RestoreError(f"{info.path}: ", *reason)
            finally:
                outcome.warnings += host.finish(database)
        finally:
            read.discard()
        outcome.seconds = time.perf_counter() - started
        outcome.tables = count_rows(
            database.read_conninfo, host.admin_conninfo(), deadline - time.monotonic()
        )
    except LiftbackupError as exc:
        outcome.error = _server_stopped(info, host) or exc
        outcome.seconds = time.perf_counter() - started
    except psycopg.Error as exc:
        failed = LiftbackupError(f"{info.path}: the server failed during the restore: {exc}")
        outcome.error = _server_stopped(info, host) or failed
        outcome.seconds = time.perf_counter() - started


# From this size on (of the file: a compressed dump is bigger to scan) the server starts beside the
# scan: the scan takes about 0.3 s per 100 MB here, a start from the cluster cache 0.3 s.
START_BESIDE_SCAN = 32 << 20


class _HostStart:
    """The server, asked for beside the dump's safety scan (`beside_scan`) or once it has passed:
    neither needs the other. Nothing runs on the server before the scan has passed; a failed or
    interrupted scan still waits for the start to end, so the run's cleanup finds the server."""

    def __init__(self, get_host: Callable[[], Host], *, beside_scan: bool) -> None:
        self._get_host = get_host
        self._host: Host | None = None
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None
        if beside_scan:
            self._thread = threading.Thread(target=self._start, name="liftbackup-host-start")
            self._thread.start()

    def _start(self) -> None:
        try:
            self._host = self._get_host()
        except BaseException as exc:  # handed to the restore, which raises it in its own thread
            self._error = exc

    def join(self) -> None:
        if self._thread is not None:
            self._thread.join()

    def result(self) -> Host:
        if self._thread is None:
            return self._get_host()
        self._thread.join()
        if self._error is not None:
            raise self._error
        assert self._host is not None
        return self._host


def _as_staging_role(error: RestoreError, role: str) -> RestoreError:
    """A privilege the staging role lacks (a role, a program, another database): whose rights the
    backup ran with, and the way out for a backup one trusts."""
    if Setting.TRUSTED in error.parts:  # restore/extensions.with_hint said it already
        return error
    if "SQLSTATE: 42501" not in error.detail and "permission denied" not in str(error):
        return error
    return RestoreError(
        *error.parts,
        f" (the backup runs as {role}, with its owners' rights only; pass ",
        Setting.TRUSTED,
        " to restore a backup you trust as the DSN's user)",
        location=error.location,
        statement=error.statement,
        detail=error.detail,
    )


def _superuser_for(host: Host, throwaway: bool, trusted: bool) -> dict[str, str] | None:
    """Who creates ELEVATED extensions and gives restore/elevation's help: our own server's superuser,
    or the DSN's user restoring staging as our staging role when it is a superuser; else no one."""
    if trusted:
        return None
    if throwaway or (isinstance(host, Target) and host.superuser):
        return host.admin_conninfo()
    return None


def _server_stopped(info: DumpInfo, host: Host | None) -> RestoreError | None:
    """When our own server is gone, that is the failure, not whatever the restore's connection said."""
    if not isinstance(host, ThrowawayServer) or host.running():
        return None
    return RestoreError(
        f"{info.path}: the PostgreSQL server stopped during the restore (killed from outside, or out of "
        "memory); nothing says the dump is at fault: run again, and look at the machine's memory and logs"
    )


def _new_database(outcome: RestoreOutcome, host: Host, read: _Read, trusted: bool) -> Database:
    """The dump's roles (throwaway server only) and a database for it; the outcome records both."""
    owner = None
    roles = read.roles
    if isinstance(host, ThrowawayServer):
        outcome.roles_created = host.roles.ensure(roles.roles)
        owner = roles.main_owner if roles.main_owner in host.roles.created else None
    hint = outcome.info.database or outcome.info.id
    try:
        database: Database = host.create_database(
            hint, owner=owner, roles=roles.roles, trusted=trusted, shape=read.shape
        )
    except ShapeError as exc:
        raise RestoreError(f"{outcome.info.path}: {exc}; nothing was restored") from None
    outcome.database = database
    outcome.warnings += database.warnings
    outcome.mode = _mode(host.kind, database.restorer, trusted)
    return database
