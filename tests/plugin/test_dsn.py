"""--liftbackup-dsn: restore into a throwaway database on an existing server, touching nothing else."""

from __future__ import annotations

import signal
from pathlib import Path

import psycopg
import pytest

from pytest_liftbackup.server.binaries import PgBinaries
from pytest_liftbackup.server.databases import conninfo_from
from pytest_liftbackup.server.throwaway import ThrowawayServer
from tests.conftest import DSN_PASSWORD as PASSWORD
from tests.conftest import (
    PLAIN_NAME,
    Dumps,
    Scratch,
    assert_untouched,
    databases,
    dsn,
    second_server,
    write_bytes,
)
from tests.helpers import REPO, assert_clean, interrupt_mid_restore, output, run, slow_dump


@pytest.mark.parametrize("fmt", ["plain", "custom", "directory"])
def test_restores_into_a_throwaway_database_and_drops_it(
    fmt: str, dumps: Dumps, existing: ThrowawayServer, pytester: pytest.Pytester, scratch: Scratch
) -> None:
    result = run(pytester, f"--liftbackup={dumps.all_formats()[fmt]}", f"--liftbackup-dsn={dsn(existing)}")
    text = output(result)
    assert result.ret == 0, text
    result.assert_outcomes(passed=1)
    assert "server: existing PostgreSQL 18.6 at ci_user@" in text
    assert "skipped:  " in text and "ownership and privileges (not restored on an existing server)" in text
    assert "5 tables, 266 rows" in text
    assert PASSWORD not in text
    assert_untouched(existing)
    assert_clean(scratch)


def test_the_environment_gives_the_dsn(
    dumps: Dumps,
    existing: ThrowawayServer,
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    scratch: Scratch,
) -> None:
    monkeypatch.setenv("LIFTBACKUP_DSN", dsn(existing))
    result = run(pytester, f"--liftbackup={dumps.plain}")
    assert "liftbackup: server: existing, from environment (LIFTBACKUP_DSN)" in output(result)
    result.assert_outcomes(passed=1)
    assert_untouched(existing)


def test_a_failed_restore_still_drops_its_database(
    dumps: Dumps, existing: ThrowawayServer, pytester: pytest.Pytester, scratch: Scratch, tmp_path: Path
) -> None:
    broken = write_bytes(
        tmp_path / PLAIN_NAME,
        dumps.plain.read_bytes().replace(
            b"CREATE TABLE lift_simulator.scenario", b"CREATE TABLE lift_simulator.lift_system", 1
        ),
    )
    result = run(pytester, f"--liftbackup={broken}", f"--liftbackup-dsn={dsn(existing)}")
    text = output(result)
    result.assert_outcomes(failed=1)
    assert 'restore failed (TABLE lift_simulator.scenario): relation "lift_system" already exists' in text
    assert "SQLSTATE: 42P07" in text
    assert PASSWORD not in text
    assert_untouched(existing)


def test_an_unreachable_server_is_one_clear_error_without_the_password(
    dumps: Dumps, pytester: pytest.Pytester, scratch: Scratch, tmp_path: Path
) -> None:
    bad = f"postgresql://ci_user:{PASSWORD}@/postgres?host={tmp_path}&port=5999"
    result = run(pytester, f"--liftbackup={dumps.plain}", f"--liftbackup-dsn={bad}")
    text = output(result)
    assert result.ret == 1
    assert "--liftbackup-dsn: cannot connect to ci_user@" in text
    assert PASSWORD not in text
    assert "Traceback" not in text


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_interrupted_mid_restore_drops_its_database(
    sig: signal.Signals,
    dumps: Dumps,
    existing: ThrowawayServer,
    pytester: pytest.Pytester,
    scratch: Scratch,
    tmp_path: Path,
) -> None:
    slow = slow_dump(dumps.plain, tmp_path / PLAIN_NAME)
    started = lambda: any(d.startswith("liftbackup_") for d in databases(existing))  # noqa: E731
    out = interrupt_mid_restore(
        pytester, [f"--liftbackup={slow}", f"--liftbackup-dsn={dsn(existing)}"], started, sig
    )
    assert PASSWORD not in out
    assert_untouched(existing)
    assert_clean(scratch)


def test_checks_run_against_the_throwaway_database_on_the_existing_server(
    dumps: Dumps, existing: ThrowawayServer, pytester: pytest.Pytester, scratch: Scratch
) -> None:
    shipped = REPO / "checks" / "lift_simulator.yml"
    result = run(
        pytester,
        f"--liftbackup={dumps.plain}",
        f"--liftbackup-dsn={dsn(existing)}",
        f"--liftbackup-checks={shipped}",
        "--liftbackup-report=verdict.json",
    )
    text = output(result)
    assert result.ret == 0, text
    result.assert_outcomes(passed=39, skipped=2)
    assert PASSWORD not in text and PASSWORD not in (pytester.path / "verdict.json").read_text()
    assert_untouched(existing)
    assert_clean(scratch)


def test_a_sql_ascii_server_restores_without_a_traceback(
    pg_binaries: PgBinaries, dumps: Dumps, pytester: pytest.Pytester, scratch: Scratch
) -> None:
    """A server made with initdb -E SQL_ASCII (old clusters often are): its databases, the one the DSN
    names and the templates new ones come from, hold bytes without an encoding."""
    server = second_server(
        pg_binaries,
        f"CREATE ROLE ci_user LOGIN CREATEDB CREATEROLE PASSWORD '{PASSWORD}'",
        "UPDATE pg_database SET encoding = pg_char_to_encoding('SQL_ASCII')",  # as initdb -E SQL_ASCII
        "CREATE DATABASE ascii TEMPLATE template0 ENCODING 'SQL_ASCII' LOCALE 'C'",
    )
    try:
        result = run(
            pytester,
            f"--liftbackup={dumps.plain}",
            f"--liftbackup-dsn={dsn(server).replace('/postgres', '/ascii')}",
        )
        text = output(result)
        assert result.ret == 0, text
        assert "Traceback" not in text and "INTERNALERROR" not in text
        assert "restore:  passed" in text
    finally:
        server.close()


def test_keep_leaves_the_database_and_says_how_to_drop_it(
    existing: ThrowawayServer, dumps: Dumps, pytester: pytest.Pytester, scratch: Scratch
) -> None:
    result = run(
        pytester, f"--liftbackup={dumps.plain}", f"--liftbackup-dsn={dsn(existing)}", "--liftbackup-keep"
    )
    assert result.ret == 0
    text = output(result)
    assert PASSWORD not in text
    kept = [name for name in databases(existing) if name.startswith("liftbackup_")]
    assert len(kept) == 1
    assert f"dbname={kept[0]}" in text
    drop = next(line.split("remove:", 1)[1].strip() for line in result.outlines if "remove:" in line)
    with psycopg.connect(conninfo_from(existing.admin_conninfo("production")), autocommit=True) as conn:
        assert conn.execute(f"SELECT count(*) FROM pg_roles WHERE rolname = '{kept[0]}'").fetchone() == (1,)  # type: ignore[arg-type]
    with psycopg.connect(conninfo_from(existing.admin_conninfo()), autocommit=True) as conn:
        for statement in drop.rstrip(";").split("; "):
            conn.execute(statement)  # type: ignore[arg-type]
    assert_untouched(existing)
