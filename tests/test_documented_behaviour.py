"""Behaviours the README promises that the other test files do not already pin down."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_liftbackup._binaries import PgBinaries, embedded_bindir
from tests.conftest import Scratch
from tests.helpers import assert_clean, output, run
from tests.lift_simulator.build import SourceDatabase

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "examples" / "lift_simulator_backup_20260120_080000.sql"


def test_the_readme_sample_restores(pytester: pytest.Pytester, scratch: Scratch) -> None:
    result = run(pytester, f"--liftbackup={SAMPLE}")
    text = output(result)
    assert result.ret == 0, text
    assert "restore:  passed in" in text and "5 tables, 266 rows" in text
    assert "roles:    created NOLOGIN for ownership: lift_admin" in text
    assert_clean(scratch)


def test_a_dump_made_with_create_database_restores_into_the_throwaway_database(
    source: SourceDatabase, pytester: pytest.Pytester, scratch: Scratch, tmp_path: Path
) -> None:
    dump = source.dump(tmp_path / "lift_simulator_backup_20260120_080000.sql", "-F", "p", "-C")
    assert b"CREATE DATABASE lift_simulator" in dump.read_bytes()
    result = run(pytester, f"--liftbackup={dump}")
    text = output(result)
    assert result.ret == 0, text
    assert (
        "skipped:  2 statement(s): CREATE/ALTER DATABASE (restored into the throwaway database instead)"
        in text
    )
    assert "5 tables, 266 rows" in text


def test_pg_bin_names_the_binaries(
    pytester: pytest.Pytester, scratch: Scratch, pg_binaries: PgBinaries
) -> None:
    bindir = embedded_bindir()
    result = run(pytester, f"--liftbackup={SAMPLE}", f"--liftbackup-pg-bin={bindir}")
    assert f"PostgreSQL 18.6 from {bindir} (command line (--liftbackup-pg-bin))" in output(result)
    result.assert_outcomes(passed=1)


def test_pg_bin_that_holds_no_postgresql_is_one_clear_error(
    pytester: pytest.Pytester, scratch: Scratch, tmp_path: Path
) -> None:
    result = run(pytester, f"--liftbackup={SAMPLE}", f"--liftbackup-pg-bin={tmp_path}")
    text = output(result)
    assert result.ret == 1
    assert f"{tmp_path} (command line (--liftbackup-pg-bin)): no PostgreSQL binaries there" in text
    assert "Traceback" not in text
    assert_clean(scratch)


def test_run_as_names_a_user_that_does_not_exist(
    pytester: pytest.Pytester, scratch: Scratch, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    if os.name == "nt" or os.geteuid() != 0:
        pytest.skip("LIFTBACKUP_RUN_AS matters only when pytest runs as root")
    monkeypatch.setenv("LIFTBACKUP_RUN_AS", "no_such_user_here")
    result = run(pytester, f"--liftbackup={SAMPLE}")
    assert "the user 'no_such_user_here' to run it as does not exist. Set LIFTBACKUP_RUN_AS" in output(result)
    assert result.ret == 1
    assert_clean(scratch)
