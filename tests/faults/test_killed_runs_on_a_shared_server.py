"""--liftbackup-dsn: a killed run's databases on the shared server are dropped by the next run, never
those of a run still going or kept on purpose."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest

from pytest_liftbackup.server.databases import conninfo_from
from pytest_liftbackup.server.throwaway import ThrowawayServer
from tests.conftest import DSN_PASSWORD as PASSWORD
from tests.conftest import PLAIN_NAME, Dumps, Scratch, assert_untouched, databases, dsn
from tests.helpers import assert_clean, output, run, slow_dump

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="no SIGKILL on Windows")


def _ours(server: ThrowawayServer) -> list[str]:
    return [name for name in databases(server) if name.startswith("liftbackup_")]


def _start_slow(pytester: pytest.Pytester, slow: Path, server: ThrowawayServer) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            f"--liftbackup={slow}",
            f"--liftbackup-dsn={dsn(server)}",
        ],
        cwd=pytester.path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not _ours(server):
        assert proc.poll() is None and time.monotonic() < deadline, "the restore never started"
        time.sleep(0.1)
    time.sleep(1.0)
    return proc


def test_the_next_run_drops_what_a_killed_run_left_on_the_server(
    dumps: Dumps, existing: ThrowawayServer, pytester: pytest.Pytester, scratch: Scratch, tmp_path: Path
) -> None:
    slow = slow_dump(dumps.plain, tmp_path / PLAIN_NAME)
    killed = _start_slow(pytester, slow, existing)
    (left,) = _ours(existing)
    os.kill(killed.pid, signal.SIGKILL)
    killed.communicate(timeout=30)
    time.sleep(0.5)
    assert _ours(existing) == [left]  # the dead run's database (and role) stay behind
    result = run(pytester, f"--liftbackup={dumps.plain}", f"--liftbackup-dsn={dsn(existing)}")
    assert result.ret == 0, output(result)
    assert f"removed what a killed run had left: database {left} on ci_user@" in output(result)
    assert PASSWORD not in output(result)
    assert_untouched(existing)
    with psycopg.connect(conninfo_from(existing.admin_conninfo()), autocommit=True) as conn:
        assert conn.execute(
            "SELECT count(*) FROM pg_roles WHERE rolname LIKE 'liftbackup\\_%' AND rolname NOT IN ('liftbackup_reader', 'liftbackup_superuser')"
        ).fetchone() == (0,)
    assert_clean(scratch)


def test_a_live_runs_database_on_the_server_is_never_dropped(
    dumps: Dumps, existing: ThrowawayServer, pytester: pytest.Pytester, scratch: Scratch, tmp_path: Path
) -> None:
    slow = slow_dump(dumps.plain, tmp_path / PLAIN_NAME)
    live = _start_slow(pytester, slow, existing)
    try:
        (theirs,) = _ours(existing)
        result = run(pytester, f"--liftbackup={dumps.plain}", f"--liftbackup-dsn={dsn(existing)}")
        assert result.ret == 0, output(result)
        assert "removed what a killed run had left" not in output(result)
        assert _ours(existing) == [theirs] and live.poll() is None
    finally:
        live.send_signal(signal.SIGINT)
        live.communicate(timeout=60)
    assert_untouched(existing)
    assert_clean(scratch)


def test_a_kept_database_is_left_alone_by_later_runs(
    dumps: Dumps, existing: ThrowawayServer, pytester: pytest.Pytester, scratch: Scratch
) -> None:
    kept = run(
        pytester, f"--liftbackup={dumps.plain}", f"--liftbackup-dsn={dsn(existing)}", "--liftbackup-keep"
    )
    assert kept.ret == 0
    (name,) = _ours(existing)
    again = run(pytester, f"--liftbackup={dumps.plain}", f"--liftbackup-dsn={dsn(existing)}")
    assert again.ret == 0 and "removed what a killed run had left" not in output(again)
    assert _ours(existing) == [name]
    with psycopg.connect(conninfo_from(existing.admin_conninfo()), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE "{name}"')  # type: ignore[arg-type]
        conn.execute(f'DROP ROLE IF EXISTS "{name}"')  # type: ignore[arg-type]
    assert_untouched(existing)
