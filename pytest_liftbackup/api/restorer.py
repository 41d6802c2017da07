"""Dumps found and restored: `find_dumps`, and a `Restorer` that owns a server and the restores in it."""

from __future__ import annotations

import dataclasses
import os
import shutil
import signal
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any

import psycopg

from pytest_liftbackup._errors import LiftbackupError, RestoreError
from pytest_liftbackup._leftovers import Claim, claimed_folder, reap
from pytest_liftbackup.dump.encryption import decrypted
from pytest_liftbackup.dump.inspect import DumpInfo, inspect_dump, major_of, sha256_of_path
from pytest_liftbackup.dump.locate import LocatedDump, locate
from pytest_liftbackup.restore.engine import Progress, RestoreOptions, RestoreOutcome, restore
from pytest_liftbackup.restore.limits import Limits
from pytest_liftbackup.server import binaries as _binaries
from pytest_liftbackup.server.cluster_cache import ClusterCache, cache_root, key
from pytest_liftbackup.server.databases import Host, conninfo_from
from pytest_liftbackup.server.unprivileged import reap_users, server_user, temp_base
from pytest_liftbackup.server.watchdog import entrust


def dump_ids(names: list[tuple[str, str]]) -> list[str]:
    """Readable unique ids: the file name without extensions, widened on clashes (name, folder, number)."""
    ids = [name.split(".")[0] or name for name, _ in names]
    widenings: tuple[Callable[[int], str], ...] = (
        lambda i: names[i][0],
        lambda i: f"{names[i][1]}/{names[i][0]}",
        lambda i: f"{names[i][1]}/{names[i][0]}-{i + 1}",
    )
    for widen in widenings:
        clashes = {ident for ident, n in Counter(ids).items() if n > 1}
        ids = [widen(i) if ident in clashes else ident for i, ident in enumerate(ids)]
    return ids


def find_dumps(specs: Iterable[str | Path]) -> list[DumpInfo]:
    """The dumps named by files, globs or backup folders (the newest `*_backup_YYYYMMDD_HHMMSS` in a
    folder), each read for its header facts; ids unique and readable. Raises LiftbackupError."""
    return _inspected(locate([str(spec) for spec in specs]), {})


@contextmanager
def found_dumps(specs: Iterable[str | Path], identity: Path | None = None) -> Iterator[list[DumpInfo]]:
    """`find_dumps`, with the age-encrypted ones decrypted with `identity` into a private folder that
    lasts for the block (each such dump's `encrypted` names the file given)."""
    located = locate([str(spec) for spec in specs])
    with decrypted([d.path for d in located], identity) as copies:
        yield _inspected(located, {original: copy for copy, original in copies.items()})


def _inspected(located: list[LocatedDump], copy_of: dict[Path, Path]) -> list[DumpInfo]:
    """Each dump read (its decrypted copy, if it has one), with an id made from the name given."""
    ids = dump_ids([(d.path.name, d.path.parent.name) for d in located])
    found = []
    for given, dump_id in zip(located, ids, strict=True):
        copy = copy_of.get(given.path)
        info = inspect_dump(dataclasses.replace(given, path=copy) if copy else given, dump_id)
        if copy is not None:
            info.encrypted, info.how = given.path, f"{given.how}, decrypted"
        found.append(info)
    return found


@dataclass(frozen=True)
class RestorerConfig:
    """Where and how to restore; every field has the plugin's default."""

    pg_bin: tuple[tuple[str, str], ...] = ()  # (folder, where it was named): only these binaries
    dsn: str | None = None  # an existing server instead of a throwaway one
    jobs: int = field(default_factory=lambda: os.cpu_count() or 1)
    trusted: bool = False  # the dumps are yours: restore them as superuser
    limits: Limits = field(default_factory=Limits)
    reuse: bool = False  # keep each restored cluster, and reuse it while the dump is unchanged
    cache_dir: str | None = None  # None: the user cache folder; "off": nothing kept between runs
    progress: Callable[[Progress], Any] | None = None  # told how far a long restore is


class Restorer:
    """A server (started when first needed) and the dumps restored into it, each once.

    `restore(dump)` gives a RestoreOutcome (its error, never raised, when it failed),
    `read_connection(dump)` a read-only connection to its database, and `close()` (or leaving the
    `with` block) drops the databases, stops the server and removes every temporary file.
    """

    def __init__(
        self, dumps: Sequence[DumpInfo], config: RestorerConfig | None = None, host: Host | None = None
    ) -> None:
        """`host`: restore there instead of a server of our own (the staging beside a main database)."""
        self.config = config or RestorerConfig()
        self.dumps = list(dumps)
        self.outcomes: dict[str, RestoreOutcome] = {}
        self.server_version = host.server_version if host is not None else ""
        self._kept = False
        self._host: Host | None = host
        self._given_host = host is not None
        self._host_error: LiftbackupError | None = None
        self._candidates: list[_binaries.PgBinaries] | None = None
        self._server: _binaries.PgBinaries | None = None
        self._workdir: Path | None = None
        self._workdir_claim: Claim | None = None
        self.reaped: list[str] = []  # what killed runs had left, removed before this one made its own
        self._lock = threading.Lock()
        self._previous_sigterm: Any = None
        self._check_connections: dict[str, psycopg.Connection[Any]] = {}
        root = cache_root(self.config.cache_dir)
        self.cache = ClusterCache(root) if root is not None else None
        self._own_hosts: dict[str, tuple[Any, str]] = {}  # reuse: dump id -> (server, key)

    def __enter__(self) -> Restorer:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    @property
    def restore_options(self) -> RestoreOptions:
        config = self.config
        return RestoreOptions(config.jobs, config.trusted, config.limits, config.progress)

    def dump(self, dump_id: str) -> DumpInfo:
        return next(d for d in self.dumps if d.id == dump_id)

    @property
    def host_description(self) -> str:
        return str(self._host.description) if self._host is not None else ""

    @property
    def server_settings(self) -> dict[str, str]:
        return dict(self._host.settings) if self._host is not None else {}

    def candidates(self) -> list[_binaries.PgBinaries]:
        if self._candidates is None:
            self._candidates = _binaries.candidates(list(self.config.pg_bin))
        return self._candidates

    def _server_major_needed(self) -> int | None:
        """The newest major any dump needs that some candidate has: one server serves them all."""
        best = max((b.major for b in self.candidates() if b.has(*_binaries.SERVER_TOOLS)), default=0)
        majors = [d.required_major for d in self.dumps if d.required_major and d.required_major <= best]
        return max(majors, default=None)

    def _server_binaries(self) -> _binaries.PgBinaries:
        """One choice for the session's throwaway servers: new enough for every dump binaries can serve."""
        if self._server is None:
            self._server = _binaries.choose(
                self.candidates(),
                self._server_major_needed(),
                (*_binaries.SERVER_TOOLS, "pg_restore"),
                "the throwaway server",
            )
        return self._server

    def _binaries_for(self, info: DumpInfo) -> _binaries.PgBinaries | None:
        """Before any server starts, what this dump needs: a throwaway server new enough (a dump no
        binaries can serve fails alone, the others go on) and, for an archive, a pg_restore that reads it."""
        needed = info.required_major
        pg_restore = None
        if not info.is_plain:
            why = f"{info.path} ({info.format} archive)"
            pg_restore = _binaries.choose(self.candidates(), needed, ("pg_restore",), why)
        starts_server = not (self.config.dsn or self._given_host)
        if starts_server and needed and self._server_binaries().major < needed:
            raise _binaries.none_suitable(self.candidates(), needed, _binaries.SERVER_TOOLS, str(info.path))
        return pg_restore

    def _start_host(self) -> Host:
        self._install_sigterm()
        if self.config.dsn:
            from pytest_liftbackup.server.existing import ExistingServer

            server = ExistingServer(self.config.dsn)
            self.reaped += server.reaped
            return server
        from pytest_liftbackup.server.throwaway import ThrowawayServer

        return ThrowawayServer(self._server_binaries(), cache=self.cache)

    @property
    def reusing(self) -> bool:
        return self.config.reuse and not (self.config.dsn or self._given_host) and self.cache is not None

    def _restore_reusing(self, outcome: RestoreOutcome, pg_restore: _binaries.PgBinaries | None) -> None:
        """`reuse`: each dump on a server of its own, whose cluster is kept for the next run."""
        from pytest_liftbackup import __version__
        from pytest_liftbackup.server.throwaway import ThrowawayServer

        self._install_sigterm()
        info = outcome.info
        binaries = self._server_binaries()
        info.sha256 = info.sha256 or sha256_of_path(info.path)
        name = key(info.sha256, binaries.version, __version__)
        host = ThrowawayServer(binaries, cache=self.cache, reuse=name)
        self._own_hosts[info.id] = (host, name)
        facts = self.cache.meta("restored", name) if host.reused and self.cache else None
        if facts is not None:
            outcome.stand_in(facts, host.database(facts["database"]))
            return
        assert self._workdir is not None
        restore(outcome, lambda: host, pg_restore, self._workdir, self.restore_options)

    def outcome(self, dump_id: str) -> RestoreOutcome:
        """The restore of one dump, done on first request and remembered for the session."""
        with self._lock:
            if dump_id not in self.outcomes:
                # Recorded before it runs: an interrupted restore's database is still dropped by close().
                outcome = self.outcomes[dump_id] = RestoreOutcome(self.dump(dump_id))
                started = time.perf_counter()
                try:
                    try:
                        self._restore(outcome)
                    finally:
                        done = getattr(self.config.progress, "done", None)  # a live line to clear
                        if done is not None:
                            done()
                except LiftbackupError as exc:  # no binaries for it, the server did not start...
                    outcome.seconds = time.perf_counter() - started
                    outcome.error = exc
                except Exception as exc:  # a bug of ours: the restore item fails with it, the run goes on
                    outcome.seconds = time.perf_counter() - started
                    outcome.error = RestoreError(
                        f"{outcome.info.path}: pytest-liftbackup failed while restoring "
                        f"({type(exc).__name__}: {exc}); this is a bug in the plugin, not in the dump: "
                        "please report it with the traceback below",
                        detail=traceback.format_exc(),
                    )
                except BaseException:
                    outcome.seconds = time.perf_counter() - started
                    outcome.error = LiftbackupError(f"{outcome.info.path}: the restore was interrupted")
                    raise
            return self.outcomes[dump_id]

    def keep(self) -> list[str]:
        """Leave the servers and databases of this run in place; how to reach them."""
        self._kept = True
        databases = {d: o.database.name for d, o in self.outcomes.items() if o.database is not None}
        lines: list[str] = []
        if self._host is not None:
            lines += self._host.keep([name for d, name in databases.items() if d not in self._own_hosts])
        for dump_id, (server, _) in self._own_hosts.items():
            lines += server.keep([databases[dump_id]] if dump_id in databases else [])
        return lines

    def restore(self, dump: DumpInfo | str) -> RestoreOutcome:
        """The restore of one dump, done on first request and remembered."""
        return self.outcome(dump if isinstance(dump, str) else dump.id)

    def read_connection(self, dump: DumpInfo | str) -> psycopg.Connection[Any]:
        """A read-only connection to the dump's restored database, as the reader role (shared)."""
        return self.check_connection(dump if isinstance(dump, str) else dump.id)

    def restore_again(self, dump_id: str) -> RestoreOutcome:
        """A new restore of the dump on the session's server, apart from the checks' one (benchmarks)."""
        outcome = RestoreOutcome(self.dump(dump_id))
        self._restore(outcome, reuse=False)
        return outcome

    def drop(self, outcome: RestoreOutcome) -> None:
        if outcome.database is not None and self._host is not None:
            self._host.drop_database(outcome.database)
            outcome.database = None

    def admin_conninfo(self) -> dict[str, str]:
        """How to reach the server as its administrator (for measurements); the server must be up."""
        assert self._host is not None
        return dict(self._host.admin_conninfo())

    def check_connection(self, dump_id: str) -> psycopg.Connection[Any]:
        """One read-only connection per restored dump, as the reader role, shared by its checks."""
        conn = self._check_connections.get(dump_id)
        if conn is None or conn.closed:
            outcome = self.outcome(dump_id)
            assert outcome.database is not None
            conn = psycopg.connect(conninfo_from(outcome.database.read_conninfo))
            conn.read_only = True
            self._check_connections[dump_id] = entrust(conn, self._host_of(dump_id).admin_conninfo())
        return conn

    def _host_of(self, dump_id: str) -> Host:
        """The server holding the dump's restored database: its own (reuse) or the session's."""
        own = self._own_hosts.get(dump_id)
        host = own[0] if own is not None else self._host
        assert host is not None
        return host

    def _restore(self, outcome: RestoreOutcome, reuse: bool = True) -> None:
        info = outcome.info
        try:
            pg_restore = self._binaries_for(info)
            if self._workdir is None:
                user = server_user()  # pg_restore runs as that user when we are root: it must pass through
                self.reaped += reap(temp_base(user), None)  # what killed runs left: before making our own
                self.reaped += reap_users()  # the OS users they made, once their servers are stopped
                self._workdir_claim = claimed_folder("work-", temp_base(user))
                self._workdir = self._workdir_claim.folder
                if user is not None:
                    os.chmod(self._workdir, 0o711)
            if reuse and self.reusing:
                self._restore_reusing(outcome, pg_restore)
            else:
                self._install_sigterm()  # here: the server starts in another thread (engine._HostStart)
                restore(
                    outcome, lambda: self._host_for(info), pg_restore, self._workdir, self.restore_options
                )
        except LiftbackupError as exc:
            outcome.error = exc

    def _host_for(self, info: DumpInfo) -> Host:
        """The server, started on first use, checked to be new enough for this dump."""
        if self._host is None and self._host_error is None:
            try:
                self._host = self._start_host()
                self.server_version = self._host.server_version
            except LiftbackupError as exc:
                self._host_error = exc
        if self._host_error is not None:
            raise self._host_error
        assert self._host is not None
        server_major = major_of(self._host.server_version)
        needed = info.required_major
        if needed and server_major and server_major < needed:
            raise LiftbackupError(
                f"{info.path}: written by pg_dump {info.pg_dump_version}, but the server runs "
                f"PostgreSQL {self._host.server_version}; restore into PostgreSQL {needed} or newer"
            )
        return self._host

    def _install_sigterm(self) -> None:
        """SIGTERM (a CI job cancelled) unwinds like Ctrl-C, so the server and databases are removed."""
        if threading.current_thread() is not threading.main_thread():
            return
        if signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, None):

            def _interrupt(signum: int, frame: FrameType | None) -> None:
                raise KeyboardInterrupt(f"signal {signum}")

            self._previous_sigterm = signal.signal(signal.SIGTERM, _interrupt)

    def close_connections(self) -> None:
        """Close the read-only connections the checks shared (a database with sessions cannot be renamed)."""
        for conn in self._check_connections.values():
            conn.close()
        self._check_connections.clear()

    def close(self) -> None:
        """Drop every database this run created, stop the server, remove temporary files. Idempotent."""
        self.close_connections()
        if self._kept:
            self._own_hosts, self._host = {}, None
        own, self._own_hosts = self._own_hosts, {}
        for dump_id, (server, name) in own.items():
            outcome = self.outcomes.get(dump_id)
            kept = outcome is not None and outcome.ok
            server.close(keep_as=name if kept else None, meta=outcome.facts() if kept and outcome else None)
        host, self._host = self._host, None
        try:
            if host is not None:
                for outcome in self.outcomes.values():
                    if outcome.database is not None:
                        try:
                            host.drop_database(outcome.database)
                        except Exception:
                            if host.kind != "throwaway":
                                raise
                host.close()
        finally:
            if self._workdir is not None:
                shutil.rmtree(self._workdir, ignore_errors=True)
                self._workdir = None
            if self._workdir_claim is not None:
                self._workdir_claim.release()
                self._workdir_claim = None
            if self._previous_sigterm is not None:
                signal.signal(signal.SIGTERM, self._previous_sigterm)
                self._previous_sigterm = None
