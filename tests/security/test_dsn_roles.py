"""Class 3: with --liftbackup-dsn the dump never runs with the DSN user's rights. Against a second real
server, with a superuser DSN and with a CREATEDB+CREATEROLE user who owns other databases, a dump that
runs a program, drops, renames or creates databases, or creates a superuser fails; the marker file
never appears; the server holds exactly the databases and roles it had. A user who may not create
roles is refused before anything runs; --liftbackup-trusted restores as it."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from pytest_liftbackup.server.binaries import PgBinaries
from pytest_liftbackup.server.databases import conninfo_from
from pytest_liftbackup.server.throwaway import ThrowawayServer
from tests.conftest import PLAIN_NAME, Dumps, Scratch, second_server
from tests.helpers import assert_clean, output, run
from tests.security.conftest import hostile_plain

PASSWORD = "Dsn-pa55word"


@pytest.fixture(scope="module")
def shared(pg_binaries: PgBinaries) -> Iterator[ThrowawayServer]:
    """A shared server: a superuser, a user who owns a database and may create roles, a CREATEDB user."""
    server = second_server(
        pg_binaries,
        f"CREATE ROLE super_ci LOGIN SUPERUSER PASSWORD '{PASSWORD}'",
        f"CREATE ROLE creator LOGIN CREATEDB CREATEROLE PASSWORD '{PASSWORD}'",
        f"CREATE ROLE plain LOGIN CREATEDB PASSWORD '{PASSWORD}'",
        "CREATE DATABASE creator_db OWNER creator",
        "CREATE DATABASE plain_db OWNER plain",
        creator_db="CREATE TABLE precious (id int); INSERT INTO precious VALUES (1), (2)",
    )
    yield server
    server.close()


def dsn(server: ThrowawayServer, user: str) -> str:
    info = server.admin_conninfo()
    return f"postgresql://{user}:{PASSWORD}@/postgres?host={info['host']}&port={info['port']}"


def state(server: ThrowawayServer) -> tuple[list[str], list[str], int]:
    with psycopg.connect(conninfo_from(server.admin_conninfo()), autocommit=True) as conn:
        dbs = sorted(r[0] for r in conn.execute("SELECT datname FROM pg_database WHERE NOT datistemplate"))
        roles = sorted(r[0] for r in conn.execute("SELECT rolname FROM pg_roles WHERE rolname !~ '^pg_'"))
    with psycopg.connect(conninfo_from(server.admin_conninfo("creator_db"))) as conn:
        row = conn.execute("SELECT count(*) FROM precious").fetchone()
    return dbs, roles, int(row[0]) if row else -1


@pytest.fixture(scope="module")
def marker_dir() -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix="lb-marker-", dir="/tmp"))
    folder.chmod(0o1777)  # whoever runs the server could write here, if a dump made it run a program
    yield folder
    for child in folder.iterdir():
        child.unlink()
    folder.rmdir()


ATTACKS = {
    "program": ("COPY (SELECT 1) TO PROGRAM 'touch {marker}';", "pg_execute_server_program"),
    "drop": ("DROP DATABASE creator_db;", "must be owner of database creator_db"),
    "rename": ("ALTER DATABASE creator_db RENAME TO gone;", "must be owner of database creator_db"),
    "superuser": ("CREATE ROLE evil SUPERUSER LOGIN;", "permission denied to create role"),
    "create-database": ("CREATE DATABASE leftover;", "permission denied to create database"),
}


@pytest.mark.parametrize("user", ["super_ci", "creator"])
@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_the_dump_runs_as_an_attribute_less_role_of_its_own(
    attack: str,
    user: str,
    dumps: Dumps,
    shared: ThrowawayServer,
    marker_dir: Path,
    pytester: pytest.Pytester,
    scratch: Scratch,
    tmp_path: Path,
) -> None:
    before = state(shared)
    marker = marker_dir / f"{attack}-{user}"
    sql, message = ATTACKS[attack]
    dump = hostile_plain(dumps.plain, tmp_path / PLAIN_NAME, sql.format(marker=marker), before_data=True)
    result = run(pytester, f"--liftbackup={dump}", f"--liftbackup-dsn={dsn(shared, user)}")
    text = output(result)
    assert result.ret == 1, text
    assert message in text, text
    assert (
        "mode:     untrusted: restored as liftbackup_" in text
        and "(no superuser, own role, dropped after the run)" in text
    )
    assert not marker.exists()
    assert state(shared) == before
    assert PASSWORD not in text
    assert_clean(scratch)


def test_a_good_dump_restores_and_everything_made_for_it_is_dropped(
    dumps: Dumps, shared: ThrowawayServer, pytester: pytest.Pytester, scratch: Scratch
) -> None:
    before = state(shared)
    result = run(pytester, f"--liftbackup={dumps.plain}", f"--liftbackup-dsn={dsn(shared, 'creator')}")
    assert result.ret == 0, output(result)
    assert "5 tables, 266 rows" in output(result)
    assert (  # the DSN is on the command line, password and all
        "liftbackup: warning: --liftbackup-dsn holds a password, which other users of this machine can "
        "read in the process list; put it in ~/.pgpass or PGPASSFILE, or give the DSN in LIFTBACKUP_DSN\n"
    ) in output(result)
    assert state(shared) == before


def test_a_user_who_may_not_create_roles_is_refused_before_anything_runs(
    dumps: Dumps, shared: ThrowawayServer, pytester: pytest.Pytester, scratch: Scratch, tmp_path: Path
) -> None:
    before = state(shared)
    dump = hostile_plain(dumps.plain, tmp_path / PLAIN_NAME, "DROP DATABASE plain_db;", before_data=True)
    result = run(pytester, f"--liftbackup={dump}", f"--liftbackup-dsn={dsn(shared, 'plain')}")
    text = output(result)
    assert result.ret == 1, text
    assert (
        "--liftbackup-dsn: plain may not create roles, and the dump must not run as plain (it could reach "
        "plain's other databases). Grant plain CREATEROLE, or pass --liftbackup-trusted to restore as it "
        "a dump you trust"
    ) in text
    assert state(shared) == before
    assert "Traceback" not in text
    assert_clean(scratch)


def test_trusted_restores_as_the_dsn_user(
    dumps: Dumps, shared: ThrowawayServer, pytester: pytest.Pytester, scratch: Scratch
) -> None:
    before = state(shared)
    result = run(
        pytester,
        f"--liftbackup={dumps.plain}",
        f"--liftbackup-dsn={dsn(shared, 'plain')}",
        "--liftbackup-trusted",
    )
    text = output(result)
    assert result.ret == 0, text
    assert "mode:     trusted: restored as the DSN's user plain" in text
    assert state(shared) == before
    assert os.environ.get("LIFTBACKUP_TRUSTED") is None


@pytest.fixture
def rejecting(pg_binaries: PgBinaries) -> Iterator[ThrowawayServer]:
    """A server whose pg_hba.conf turns away the restore roles (liftbackup_lift_simulator_*)."""
    server = ThrowawayServer(pg_binaries, cache=None)
    admin = server.admin_conninfo()
    with psycopg.connect(conninfo_from(admin), autocommit=True) as conn:
        conn.execute(f"CREATE ROLE super_ci LOGIN SUPERUSER PASSWORD '{PASSWORD}'")
        hba = Path(str(conn.execute("SHOW hba_file").fetchone()[0]))  # type: ignore[index]
        hba.write_text("local all /^liftbackup_lift_simulator_ reject\n" + hba.read_text())
        conn.execute("SELECT pg_reload_conf()")
    yield server
    server.close()


def test_a_server_that_turns_the_restore_role_away_is_one_clear_error(
    dumps: Dumps, rejecting: ThrowawayServer, pytester: pytest.Pytester, scratch: Scratch
) -> None:
    before = state_of(rejecting)
    result = run(pytester, f"--liftbackup={dumps.plain}", f"--liftbackup-dsn={dsn(rejecting, 'super_ci')}")
    text = output(result)
    assert result.ret == 1, text
    assert "--liftbackup-dsn: the restore role liftbackup_lift_simulator_" in text
    assert (
        "Allow password logins for roles named liftbackup_* (pg_hba.conf), or pass --liftbackup-trusted"
        in text
    )
    assert PASSWORD not in text and "Traceback" not in text
    assert state_of(rejecting) == before
    assert_clean(scratch)


def state_of(server: ThrowawayServer) -> tuple[list[str], list[str]]:
    with psycopg.connect(conninfo_from(server.admin_conninfo()), autocommit=True) as conn:
        dbs = sorted(r[0] for r in conn.execute("SELECT datname FROM pg_database"))
        roles = sorted(r[0] for r in conn.execute("SELECT rolname FROM pg_roles"))
    return dbs, roles
