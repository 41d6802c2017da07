"""Class 2: an untrusted dump cannot make the superuser create an extension that reaches outside the
database. dblink/postgres_fdw in pg_dump's own shape, in a custom archive, or hidden in a DO block:
refused by name (or stopped by PostgreSQL), the second server untouched. --liftbackup-trusted
restores such a dump, and the summary says so."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from pytest_liftbackup.server.binaries import PgBinaries
from pytest_liftbackup.server.databases import conninfo_from
from pytest_liftbackup.server.throwaway import ThrowawayServer
from tests.conftest import PLAIN_NAME, Dumps, Scratch, second_server
from tests.helpers import assert_clean, output, run
from tests.lift_simulator import build
from tests.security.conftest import hostile_plain, make_database

PASSWORD = "known-ci-Passw0rd"


@pytest.fixture(scope="module")
def victim(pg_binaries: PgBinaries) -> Iterator[ThrowawayServer]:
    """A second real server, like a CI service container with a known password and precious data."""
    server = second_server(
        pg_binaries,
        f"CREATE ROLE ci LOGIN SUPERUSER PASSWORD '{PASSWORD}'",
        "CREATE TABLE precious (id int); INSERT INTO precious VALUES (1)",
    )
    yield server
    server.close()


def precious_rows(server: ThrowawayServer) -> int:
    with psycopg.connect(conninfo_from(server.admin_conninfo())) as conn:
        row = conn.execute("SELECT count(*) FROM precious").fetchone()
    return int(row[0]) if row else -1


def attack(server: ThrowawayServer) -> str:
    info = server.admin_conninfo()
    target = f"host={info['host']} port={info['port']} dbname=postgres user=ci password={PASSWORD}"
    return f"SELECT dblink_exec('{target}', 'DELETE FROM precious');"


PG_DUMP_SHAPE = """
--
-- Name: {name}; Type: EXTENSION; Schema: -; Owner: -
--

CREATE EXTENSION IF NOT EXISTS {name} WITH SCHEMA public;
"""


@pytest.mark.parametrize("name", ["dblink", "postgres_fdw"])
def test_an_extension_that_reaches_out_is_refused_by_name(
    name: str,
    dumps: Dumps,
    victim: ThrowawayServer,
    pytester: pytest.Pytester,
    scratch: Scratch,
    tmp_path: Path,
) -> None:
    sql = PG_DUMP_SHAPE.format(name=name) + (attack(victim) if name == "dblink" else "")
    dump = hostile_plain(dumps.plain, tmp_path / PLAIN_NAME, sql, before_data=True)
    result = run(pytester, f"--liftbackup={dump}")
    text = output(result)
    assert result.ret == 1, text
    assert (
        f"the dump creates {name}, which can reach other servers, files, programs or other databases "
        "from inside PostgreSQL; restore such a dump only if you trust it, with --liftbackup-trusted; "
        "nothing was restored"
    ) in text
    assert precious_rows(victim) == 1
    assert_clean(scratch)


def test_the_same_in_a_custom_archive(
    source_server: ThrowawayServer,
    source: build.SourceDatabase,
    victim: ThrowawayServer,
    pytester: pytest.Pytester,
    scratch: Scratch,
    tmp_path: Path,
) -> None:
    make_database(source_server, "with_dblink", "CREATE EXTENSION dblink")
    archive = source.dump(tmp_path / "with_dblink.dump", "-F", "c", database="with_dblink")
    result = run(pytester, f"--liftbackup={archive}")
    text = output(result)
    assert result.ret == 1, text
    assert "the dump creates dblink, which can reach other servers" in text
    assert precious_rows(victim) == 1
    assert_clean(scratch)


def test_an_extension_created_another_way_is_stopped_by_postgresql(
    dumps: Dumps, victim: ThrowawayServer, pytester: pytest.Pytester, scratch: Scratch, tmp_path: Path
) -> None:
    sql = "DO $$ BEGIN EXECUTE 'CREATE EXTENSION dblink SCHEMA public'; END $$;\n" + attack(victim)
    dump = hostile_plain(dumps.plain, tmp_path / PLAIN_NAME, sql, before_data=True)
    result = run(pytester, f"--liftbackup={dump}")
    text = output(result)
    assert result.ret == 1, text
    assert (
        'permission denied to create extension "dblink"; only a superuser may create it, and the plugin '
        "does so only for extensions that cannot reach outside the database: pass --liftbackup-trusted "
        "if you trust this dump"
    ) in text
    assert precious_rows(victim) == 1
    assert_clean(scratch)


@pytest.mark.parametrize("how", ["option", "environment"])
def test_trusted_restores_it_as_superuser_and_says_so(
    how: str,
    dumps: Dumps,
    pytester: pytest.Pytester,
    scratch: Scratch,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    dump = hostile_plain(
        dumps.plain, tmp_path / PLAIN_NAME, PG_DUMP_SHAPE.format(name="dblink"), before_data=True
    )
    if how == "environment":
        monkeypatch.setenv("LIFTBACKUP_TRUSTED", "1")
    flag = ["--liftbackup-trusted"] if how == "option" else []
    result = run(pytester, f"--liftbackup={dump}", *flag, "--liftbackup-report=v.json")
    text = output(result)
    assert result.ret == 0, text
    assert "mode:     trusted: restored as superuser liftbackup_superuser" in text
    assert '"mode": "trusted' in (pytester.path / "v.json").read_text()
    assert_clean(scratch)


def test_the_default_mode_is_untrusted_and_says_so(
    dumps: Dumps, pytester: pytest.Pytester, scratch: Scratch
) -> None:
    result = run(pytester, f"--liftbackup={dumps.plain}")
    text = output(result)
    assert result.ret == 0, text
    assert "mode:     untrusted: restored as liftbackup_restorer_" in text
    assert "(no superuser, own role, no login after the restore)" in text


@pytest.mark.parametrize("needed", ["lift_geo_missing", '"uuid-ossp-missing"'])
def test_an_extension_the_server_does_not_have_fails_before_restoring(
    needed: str, dumps: Dumps, pytester: pytest.Pytester, scratch: Scratch, tmp_path: Path
) -> None:
    dump = hostile_plain(
        dumps.plain, tmp_path / PLAIN_NAME, PG_DUMP_SHAPE.format(name=needed), before_data=True
    )
    result = run(pytester, f"--liftbackup={dump}", "--liftbackup-report=v.json")
    text = output(result)
    assert result.ret == 1, text
    name = needed.strip('"')
    assert f"the dump creates extension {name}, which the server (throwaway PostgreSQL" in text
    assert "no PostgreSQL installation found on this machine has it: install your distribution's " in text
    assert '"tables": {}' in (pytester.path / "v.json").read_text()  # nothing was restored
    assert_clean(scratch)
