"""Class 8, continued: limits a dump cannot step around. A function that catches the cancel of
statement_timeout, a sort that writes temporary files, a prepared transaction that outlives the
restore: each is ended, counted or rolled back, and the run says which limit it hit."""

from __future__ import annotations

import signal
import sys
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from pytest_liftbackup import Restorer, RestorerConfig, find_dumps, load_checks, run_checks
from pytest_liftbackup.checks import runner
from pytest_liftbackup.server import binaries as _binaries
from pytest_liftbackup.server.databases import conninfo_from
from pytest_liftbackup.server.throwaway import ThrowawayServer
from pytest_liftbackup.server.watchdog import Watchdog, entrust
from tests.conftest import PLAIN_NAME, Dumps, Scratch, assert_untouched, dsn, shared_server
from tests.helpers import assert_clean, interrupt_mid_restore, output
from tests.lift_simulator import build
from tests.security.conftest import hostile_plain

# A run under test that hangs fails here instead of hanging the suite.
HANG = 240

# lift_system_version becomes a view over a function that waits forever, catching every cancel.
CATCHES_CANCEL = """
SET ROLE lift_admin;
ALTER TABLE lift_system_version RENAME TO lift_system_version_data;
CREATE FUNCTION versions() RETURNS SETOF lift_system_version_data LANGUAGE plpgsql AS $$
BEGIN
    LOOP
        BEGIN
            PERFORM pg_catalog.pg_sleep(0.1);
        EXCEPTION WHEN query_canceled THEN
            NULL;
        END;
    END LOOP;
END $$;
CREATE VIEW lift_system_version AS SELECT * FROM versions();
"""
# The shipped checklist's check, with a short timeout.
EVERY_SYSTEM_HAS_A_VERSION = """\
schema: lift_simulator
checks:
  every_system_has_a_version:
    timeout: 2
    sql: |
      SELECT s.system_key
      FROM lift_system s
      WHERE NOT EXISTS (SELECT 1 FROM lift_system_version v WHERE v.lift_system_id = s.id)
  lift_systems_exist:
    row_count: lift_system
    min: 1
"""


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    """pytest with the plugin in a subprocess that may not outlive HANG seconds."""
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", *args, timeout=HANG)


@pytest.fixture(scope="module")
def trapping_dump(source: build.SourceDatabase, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return source.variant("catches_cancel", CATCHES_CANCEL, tmp_path_factory.mktemp("trap"))


def test_a_check_whose_view_catches_the_cancel_is_ended_at_its_timeout(
    trapping_dump: Path, pytester: pytest.Pytester, scratch: Scratch
) -> None:
    (pytester.path / "checks").mkdir()
    (pytester.path / "checks" / "c.yml").write_text(EVERY_SYSTEM_HAS_A_VERSION)
    result = run(pytester, f"--liftbackup={trapping_dump}")
    text = output(result)
    result.assert_outcomes(passed=2, errors=1)  # the restore, the next check on a new session; the trap
    assert (
        "check 'every_system_has_a_version' could not run (checks/c.yml:3): it ran longer than its "
        "timeout of 2 s; raise 'timeout' in the check file"
    ) in text
    assert_clean(scratch)


@pytest.mark.skipif(sys.platform == "win32", reason="the command's run is the same code")
def test_verify_ends_the_trapped_check_too(
    trapping_dump: Path, pytester: pytest.Pytester, scratch: Scratch
) -> None:
    checks = pytester.path / "c.yml"
    checks.write_text(EVERY_SYSTEM_HAS_A_VERSION)
    result = pytester.run(
        sys.executable,
        "-m",
        "pytest_liftbackup",
        "verify",
        str(trapping_dump),
        f"--checks={checks}",
        timeout=HANG,
    )
    text = output(result)
    assert result.ret == 1, text
    assert "it ran longer than its timeout of 2 s; raise 'timeout' in the check file" in text
    assert_clean(scratch)


# A transaction of the dump that outlives its session, holding a lock every row count needs.
PREPARED = """
BEGIN;
LOCK TABLE lift_simulator.lift_system IN ACCESS EXCLUSIVE MODE;
PREPARE TRANSACTION 'held_by_the_dump';
"""


@pytest.fixture(scope="module")
def preparing(pg_binaries: _binaries.PgBinaries) -> Iterator[ThrowawayServer]:
    """The shared server, as many are configured: prepared transactions allowed."""
    server = shared_server(pg_binaries, max_prepared_transactions="10")
    yield server
    server.close()


def leftovers(server: ThrowawayServer) -> list[str]:
    """What liftbackup may have left on the server: databases, roles, prepared transactions."""
    with psycopg.connect(conninfo_from(server.admin_conninfo()), autocommit=True) as conn:
        rows = conn.execute(
            "SELECT 'database ' || datname FROM pg_database WHERE datname LIKE 'liftbackup\\_%' "
            "UNION ALL SELECT 'role ' || rolname FROM pg_roles WHERE rolname LIKE 'liftbackup\\_%' "
            "AND rolname NOT IN ('liftbackup_superuser', 'liftbackup_reader') "
            "UNION ALL SELECT 'prepared ' || gid FROM pg_prepared_xacts"
        ).fetchall()
    return sorted(row[0] for row in rows)


def test_a_prepared_transaction_of_the_dump_is_rolled_back_after_the_restore(
    dumps: Dumps, preparing: ThrowawayServer, pytester: pytest.Pytester, scratch: Scratch, tmp_path: Path
) -> None:
    dump = hostile_plain(dumps.plain, tmp_path / PLAIN_NAME, PREPARED)
    result = run(pytester, f"--liftbackup={dump}", f"--liftbackup-dsn={dsn(preparing)}")
    text = output(result)
    assert result.ret == 0, text  # the row counts and checks did not wait for its lock
    assert "warning:  the dump left prepared transaction 'held_by_the_dump' in liftbackup_" in text
    assert "(PREPARE TRANSACTION), which would outlive the restore: rolled back" in text
    assert leftovers(preparing) == []
    assert_untouched(preparing)
    assert_clean(scratch)


def _prepared(server: ThrowawayServer) -> bool:
    return any(found.startswith("prepared ") for found in leftovers(server))


def test_an_interrupted_restore_leaves_no_prepared_transaction_database_or_role(
    dumps: Dumps, preparing: ThrowawayServer, pytester: pytest.Pytester, scratch: Scratch, tmp_path: Path
) -> None:
    dump = hostile_plain(dumps.plain, tmp_path / PLAIN_NAME, PREPARED + "SELECT pg_catalog.pg_sleep(120);")
    args = [f"--liftbackup={dump}", f"--liftbackup-dsn={dsn(preparing)}"]
    interrupt_mid_restore(pytester, args, lambda: _prepared(preparing), signal.SIGINT)
    assert leftovers(preparing) == []
    assert_untouched(preparing)
    assert_clean(scratch)


@pytest.mark.skipif(sys.platform == "win32", reason="no SIGKILL on Windows")
def test_the_next_run_removes_what_a_killed_run_left_prepared(
    dumps: Dumps, preparing: ThrowawayServer, pytester: pytest.Pytester, scratch: Scratch, tmp_path: Path
) -> None:
    dump = hostile_plain(dumps.plain, tmp_path / PLAIN_NAME, PREPARED + "SELECT pg_catalog.pg_sleep(120);")
    args = [f"--liftbackup={dump}", f"--liftbackup-dsn={dsn(preparing)}"]
    interrupt_mid_restore(pytester, args, lambda: _prepared(preparing), signal.SIGKILL)
    left = leftovers(preparing)
    (database,) = [found.split()[1] for found in left if found.startswith("database ")]
    assert left == [f"database {database}", "prepared held_by_the_dump", f"role {database}"]
    result = run(pytester, f"--liftbackup={dumps.plain}", f"--liftbackup-dsn={dsn(preparing)}")
    text = output(result)
    assert result.ret == 0, text
    assert (
        f"removed what a killed run had left: database {database} on ci_user@" in text
        and f"prepared transaction 'held_by_the_dump' in {database} on ci_user@" in text
    ), text
    assert leftovers(preparing) == []
    assert_untouched(preparing)


def test_the_throwaway_server_refuses_prepared_transactions(
    dumps: Dumps, pytester: pytest.Pytester, scratch: Scratch, tmp_path: Path
) -> None:
    dump = hostile_plain(dumps.plain, tmp_path / PLAIN_NAME, PREPARED)
    result = run(pytester, f"--liftbackup={dump}")
    text = output(result)
    assert result.ret == 1, text
    assert "prepared transactions are disabled" in text
    assert_clean(scratch)


SORT = "SELECT count(*) FROM (SELECT g FROM pg_catalog.generate_series(1, {rows}) g ORDER BY g DESC) s;"
TEMP_LIMIT = (
    '"temp_file_limit" (40960kB), set from --liftbackup-max-size; raise it if the backup is really yours'
)


# What the restorer might try first, and what PostgreSQL then says.
LIFTING = {
    "": "temporary file size exceeds " + TEMP_LIMIT,
    "DO $$ BEGIN EXECUTE pg_catalog.format('ALTER ROLE CURRENT_USER IN DATABASE %I RESET ALL', "
    "pg_catalog.current_database()); END $$;": "temporary file size exceeds " + TEMP_LIMIT,
    "SET temp_file_limit = -1;": 'permission denied to set parameter "temp_file_limit"',
}


@pytest.mark.parametrize("lifting", LIFTING, ids=["sort", "reset-all", "set"])
def test_a_sort_in_the_dump_stops_at_the_size_budget(
    lifting: str, dumps: Dumps, pytester: pytest.Pytester, scratch: Scratch, tmp_path: Path
) -> None:
    """Temporary files are no database: temp_file_limit, set on the restorer in its database by the
    superuser, holds them to the budget, and the dump cannot lift it."""
    sql = f"{lifting}\n{SORT.format(rows=10_000_000)}"
    dump = hostile_plain(dumps.plain, tmp_path / PLAIN_NAME, sql, before_data=True)
    result = run(pytester, f"--liftbackup={dump}", "--liftbackup-max-size=40M")
    text = output(result)
    assert result.ret == 1, text
    assert LIFTING[lifting] in text
    assert_clean(scratch)


def test_a_sort_a_dump_may_allow_itself_is_stopped_by_the_disk_watch(
    dumps: Dumps, pytester: pytest.Pytester, scratch: Scratch, tmp_path: Path
) -> None:
    """A trusted dump runs as the superuser, who may lift temp_file_limit: the guard counts the files."""
    sql = "SET temp_file_limit = -1;\n" + SORT.format(rows=40_000_000)
    dump = hostile_plain(dumps.plain, tmp_path / PLAIN_NAME, sql, before_data=True)
    result = run(pytester, f"--liftbackup={dump}", "--liftbackup-max-size=40M", "--liftbackup-trusted")
    text = output(result)
    assert result.ret == 1, text
    assert (
        "the restored database and its temporary files grew past 41.9 MB (--liftbackup-max-size); "
        "it was stopped"
    ) in text
    assert_clean(scratch)


SORTED_VIEW = """
CREATE VIEW lift_simulator.numbers AS SELECT g FROM pg_catalog.generate_series(1, 10000000) g ORDER BY g DESC;
"""


def test_a_check_reading_a_sorting_view_stops_at_the_size_budget(
    dumps: Dumps, pytester: pytest.Pytester, scratch: Scratch, tmp_path: Path
) -> None:
    """The reader's sessions in the restored database are held to the budget too."""
    dump = hostile_plain(dumps.plain, tmp_path / PLAIN_NAME, SORTED_VIEW)
    (pytester.path / "checks").mkdir()
    (pytester.path / "checks" / "c.yml").write_text(
        "schema: lift_simulator\nchecks:\n  no_negatives:\n    sql: SELECT g FROM numbers WHERE g < 0\n"
    )
    result = run(pytester, f"--liftbackup={dump}", "--liftbackup-max-size=40M")
    text = output(result)
    result.assert_outcomes(passed=1, errors=1)
    assert "check 'no_negatives' could not run (checks/c.yml:3): temporary file size exceeds" in text
    assert_clean(scratch)


def test_a_check_waits_for_a_lock_no_longer_than_the_lock_timeout(
    dumps: Dumps, scratch: Scratch, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A lock on the restored database (nothing but a dump's leftover could hold one) ends a check's
    wait at lock_timeout, well before its own timeout (300 s by default)."""
    monkeypatch.setattr(runner, "LOCK_TIMEOUT", "1s")
    (tmp_path / "c.yml").write_text(
        "schema: lift_simulator\nchecks:\n  some:\n    row_count: lift_system\n    min: 1\n"
    )
    found = find_dumps([dumps.plain])
    with Restorer(found, RestorerConfig(jobs=1)) as restorer:
        outcome = restorer.restore(found[0])
        assert outcome.ok and outcome.database is not None
        held = {**restorer.admin_conninfo(), "dbname": outcome.database.name}
        with psycopg.connect(conninfo_from(held)) as holder:
            holder.execute("LOCK TABLE lift_simulator.lift_system IN ACCESS EXCLUSIVE MODE")
            (done,) = run_checks(restorer, found[0], load_checks([tmp_path / "c.yml"]))
    assert done.outcome == "error", done.report
    assert "canceling statement due to lock timeout" in done.report
    assert scratch.leftovers() == []


CATCHING_LOOP = """
DO $$ BEGIN
    LOOP
        BEGIN
            PERFORM pg_catalog.pg_sleep(0.1);
        EXCEPTION WHEN query_canceled THEN
            NULL;
        END;
    END LOOP;
END $$
"""


def test_the_watchdog_ends_a_session_that_catches_every_cancel(preparing: ThrowawayServer) -> None:
    """What the row counts and the manifest digests run under too (restore/engine, api/manifest)."""
    admin = preparing.admin_conninfo()
    with psycopg.connect(conninfo_from({**admin, "dbname": "production"}), autocommit=True) as conn:
        conn.execute("SET statement_timeout = '200ms'")
        watchdog = Watchdog(entrust(conn, admin), 1.0)
        with pytest.raises(psycopg.OperationalError), watchdog:
            conn.execute(CATCHING_LOOP)
        assert watchdog.fired and conn.closed


def test_the_next_run_removes_a_role_a_killed_run_left_without_its_database(
    dumps: Dumps, preparing: ThrowawayServer, pytester: pytest.Pytester, scratch: Scratch
) -> None:
    """Killed between dropping its database and its role: the role alone is found and dropped."""
    role = "liftbackup_lift_simulator_0123abcd"
    with psycopg.connect(dsn(preparing), autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {role} LOGIN")  # type: ignore[arg-type]
    result = run(pytester, f"--liftbackup={dumps.plain}", f"--liftbackup-dsn={dsn(preparing)}")
    text = output(result)
    assert result.ret == 0, text
    assert f"removed what a killed run had left: role {role} on ci_user@" in text
    assert leftovers(preparing) == []
    assert_untouched(preparing)


@pytest.mark.parametrize("superuser", [True, False], ids=["superuser-dsn", "createrole-dsn"])
def test_on_an_existing_server_only_a_superuser_dsn_sets_temp_file_limit(
    superuser: bool,
    dumps: Dumps,
    preparing: ThrowawayServer,
    pytester: pytest.Pytester,
    scratch: Scratch,
    tmp_path: Path,
) -> None:
    dump = hostile_plain(dumps.plain, tmp_path / PLAIN_NAME, SORT.format(rows=3_000_000), before_data=True)
    info = preparing.admin_conninfo()
    where = dsn(preparing)
    if superuser:
        where = f"postgresql://{info['user']}:{info['password']}@/postgres?host={info['host']}&port={info['port']}"
    result = run(pytester, f"--liftbackup={dump}", f"--liftbackup-dsn={where}", "--liftbackup-max-size=16M")
    text = output(result)
    if superuser:
        assert result.ret == 1, text
        assert '"temp_file_limit" (16384kB), set from --liftbackup-max-size' in text
    else:
        assert result.ret == 0, text
    assert leftovers(preparing) == []
    assert_untouched(preparing)
