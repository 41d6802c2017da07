"""The `liftbackup` command against a real "main" server: the team's PostgreSQL, holding lift_simulator.

Each test gets its own copy of the database (CREATE DATABASE ... TEMPLATE), reached by a DSN with a
password, and runs the command as a real process."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from pytest_liftbackup.api.manifest import TableFacts, read_facts
from pytest_liftbackup.server import binaries as _binaries
from pytest_liftbackup.server.databases import conninfo_from
from pytest_liftbackup.server.throwaway import ThrowawayServer
from tests.helpers import REPO
from tests.lift_simulator import build

PASSWORD = "s3cret-Pa55word-never-shown"
PG15 = Path("/usr/lib/postgresql/15/bin")


@dataclass
class Live:
    """One copy of lift_simulator on the main server, as the application's database."""

    server: ThrowawayServer
    name: str
    user: str = "lift_ops"
    pg_bin: Path | None = None  # the server's own binaries, when they are not the tests' default

    @property
    def tools(self) -> list[str]:
        """`--pg-bin DIR` for a command that must use this server's own pg_dump and pg_restore."""
        return ["--pg-bin", str(self.pg_bin)] if self.pg_bin else []

    @property
    def major(self) -> int:
        return int(self.server.server_version.split(".")[0])

    @property
    def dsn(self) -> str:
        admin = self.server.admin_conninfo()
        return psycopg.conninfo.make_conninfo(
            host=admin["host"], port=admin["port"], user=self.user, password=PASSWORD, dbname=self.name
        )

    def admin(self, dbname: str = "postgres") -> psycopg.Connection[Any]:
        return psycopg.connect(conninfo_from(self.server.admin_conninfo(dbname)), autocommit=True)

    def facts(self, dbname: str | None = None) -> dict[str, TableFacts]:
        """Row counts and digests of every table: equal facts, equal data."""
        with psycopg.connect(conninfo_from(self.server.admin_conninfo(dbname or self.name))) as conn:
            found, _ = read_facts(conn)
        return found

    def databases(self) -> list[str]:
        with self.admin() as conn:
            rows = conn.execute(
                "SELECT datname FROM pg_database WHERE datname LIKE %s ORDER BY 1", (self.name + "%",)
            )
            return [str(r[0]) for r in rows]

    def execute(self, statement: str, dbname: str | None = None) -> list[tuple[Any, ...]]:
        with self.admin(dbname or self.name) as conn:
            cur = conn.execute(statement.encode())
            return cur.fetchall() if cur.description else []


def _team_server(binaries: _binaries.PgBinaries) -> ThrowawayServer:
    """The team's server: lift_simulator (the template of each test's copy) and an operator role."""
    server = ThrowawayServer(binaries)
    try:
        build.create_source(server.admin_conninfo(), binaries.tool("pg_dump"))
        with psycopg.connect(conninfo_from(server.admin_conninfo()), autocommit=True) as conn:
            conn.execute(
                sql.SQL("CREATE ROLE lift_ops LOGIN SUPERUSER PASSWORD {}").format(sql.Literal(PASSWORD))
            )
            conn.execute("CREATE ROLE lift_app LOGIN PASSWORD 'app'")
            conn.execute("CREATE ROLE lift_weak LOGIN PASSWORD 'weak'")
    except BaseException:
        server.close()
        raise
    return server


@pytest.fixture(scope="session")
def main_server(pg_binaries: _binaries.PgBinaries) -> Iterator[ThrowawayServer]:
    """The team's server on the tests' default PostgreSQL (the embedded 18)."""
    server = _team_server(pg_binaries)
    yield server
    server.close()


@pytest.fixture(scope="session")
def main_server15() -> Iterator[ThrowawayServer]:
    """The team's server on the system's PostgreSQL 15 (the lift simulator's version)."""
    if not (PG15 / "pg_dump").exists():
        pytest.skip(f"PostgreSQL 15 is not installed in {PG15}")
    server = _team_server(_binaries.candidates([(str(PG15), "tests")])[0])
    yield server
    server.close()


def _copy(server: ThrowawayServer, pg_bin: Path | None = None) -> Iterator[Live]:
    """A fresh copy of lift_simulator on `server`, dropped (with all it left beside it) afterwards."""
    name = f"lift_{secrets.token_hex(3)}"
    db = Live(server, name, pg_bin=pg_bin)
    with db.admin() as conn:
        conn.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE lift_simulator OWNER lift_admin").format(
                sql.Identifier(name)
            )
        )
    yield db
    with db.admin() as conn:
        for other in db.databases():
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (other,)
            )
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(other)))


@pytest.fixture
def live(main_server: ThrowawayServer) -> Iterator[Live]:
    yield from _copy(main_server)


@pytest.fixture(params=["18", "15"])
def main(request: pytest.FixtureRequest) -> Iterator[Live]:
    """lift_simulator on each real server a main-database test runs against: the embedded 18 and the
    system 15 (with its own pg_dump and pg_restore: see `Live.tools`)."""
    if request.param == "15":
        yield from _copy(request.getfixturevalue("main_server15"), PG15)
    else:
        yield from _copy(request.getfixturevalue("main_server"))


def liftbackup(
    *args: str | Path, env: dict[str, str] | None = None, stdin: str | None = None, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    """The command as users run it: `python -m pytest_liftbackup`, a real process."""
    return subprocess.run(
        [sys.executable, "-m", "pytest_liftbackup", *map(str, args)],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        input=stdin,
        timeout=timeout,
        cwd=REPO,
    )


def running(*args: str | Path, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    """The command started as a real process, its output read as it comes (to signal it mid-step)."""
    return subprocess.Popen(
        [sys.executable, "-m", "pytest_liftbackup", *map(str, args)],
        cwd=REPO,
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def said(done: subprocess.CompletedProcess[str]) -> str:
    """Everything the command printed; never the password."""
    text = done.stdout + done.stderr
    assert PASSWORD not in text
    return text
