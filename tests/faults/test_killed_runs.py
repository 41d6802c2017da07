"""A run killed with SIGKILL leaves its server and folders; the next run removes them, and never
what a live run is using."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import PLAIN_NAME, Dumps, Scratch, servers_under
from tests.helpers import assert_clean, output, run, slow_dump

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="no SIGKILL, no flock on Windows")


def _start(pytester: pytest.Pytester, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
        cwd=pytester.path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def postmasters(scratch: Scratch) -> list[str]:
    """The running servers under the scratch folder (not initdb's single-user postgres)."""
    return [line for line in servers_under(scratch.tmpdir) if "unix_socket_directories" in line]


def _wait_for_server(scratch: Scratch, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    while not postmasters(scratch):
        assert proc.poll() is None and time.monotonic() < deadline, "the restore never started"
        time.sleep(0.1)
    time.sleep(1.0)  # the restore is under way: the dump sleeps in its first statement


def test_the_next_run_removes_what_a_killed_run_left(
    dumps: Dumps, pytester: pytest.Pytester, scratch: Scratch, tmp_path: Path
) -> None:
    slow = slow_dump(dumps.plain, tmp_path / PLAIN_NAME)
    killed = _start(pytester, f"--liftbackup={slow}")
    _wait_for_server(scratch, killed)
    os.kill(killed.pid, signal.SIGKILL)
    killed.communicate(timeout=30)
    left = sorted(p.name for p in scratch.tmpdir.iterdir())
    assert servers_under(scratch.tmpdir) and any(name.startswith("liftbackup-") for name in left)

    result = run(pytester, f"--liftbackup={dumps.plain}")
    assert result.ret == 0, output(result)
    text = output(result)
    server_folder = next(name for name in left if name.startswith("liftbackup-") and "-work-" not in name)
    # the killed run's server is stopped by this run, or had stopped by itself already (its parent gone)
    # when this run looked: a race on a loaded machine; either way the folder goes and no server is left
    assert f"removed what a killed run had left: {scratch.tmpdir / server_folder}" in text
    assert servers_under(scratch.tmpdir) == []
    assert_clean(scratch)


def test_a_live_runs_server_and_folders_are_never_touched(
    dumps: Dumps, pytester: pytest.Pytester, scratch: Scratch, tmp_path: Path
) -> None:
    slow = slow_dump(dumps.plain, tmp_path / PLAIN_NAME)
    live = _start(pytester, f"--liftbackup={slow}")
    try:
        _wait_for_server(scratch, live)
        before = postmasters(scratch)
        result = run(pytester, f"--liftbackup={dumps.plain}")  # a second run on the same machine
        assert result.ret == 0, output(result)
        assert "removed what a killed run had left" not in output(result)
        assert postmasters(scratch) == before and live.poll() is None
    finally:
        live.send_signal(signal.SIGINT)
        live.communicate(timeout=60)
    assert servers_under(scratch.tmpdir) == []
    assert_clean(scratch)


def test_a_kept_server_is_not_removed_by_the_next_run(
    dumps: Dumps, pytester: pytest.Pytester, scratch: Scratch
) -> None:
    kept = run(pytester, f"--liftbackup={dumps.plain}", "--liftbackup-keep")
    assert kept.ret == 0
    remove = next(line.split("remove:", 1)[1].strip() for line in kept.outlines if "remove:" in line)
    try:
        again = run(pytester, f"--liftbackup={dumps.plain}")
        assert again.ret == 0 and "removed what a killed run had left" not in output(again)
        assert len(servers_under(scratch.tmpdir)) == 1
    finally:
        subprocess.run(["bash", "-c", remove], check=True)
    assert_clean(scratch)


def test_a_server_killed_mid_restore_fails_the_restore_clearly(
    dumps: Dumps, pytester: pytest.Pytester, scratch: Scratch, tmp_path: Path
) -> None:
    slow = slow_dump(dumps.plain, tmp_path / PLAIN_NAME)
    proc = _start(pytester, f"--liftbackup={slow}")
    _wait_for_server(scratch, proc)
    (line,) = postmasters(scratch)
    data = Path(line.split(" -D ", 1)[1].split()[0])
    os.kill(int((data / "postmaster.pid").read_text().split()[0]), signal.SIGKILL)
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 1, out
    assert "the PostgreSQL server stopped during the restore" in out, out
    assert "Traceback" not in out
    assert postmasters(scratch) == []
    assert_clean(scratch)
    assert run(pytester, f"--liftbackup={dumps.plain}").ret == 0


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_interrupted_during_the_checks_leaves_nothing(
    sig: signal.Signals, dumps: Dumps, pytester: pytest.Pytester, scratch: Scratch
) -> None:
    # slow, and writing no temporary file (those stop at temp_file_limit, set from the size budget): a
    # set-returning function in the select list streams its rows, one in FROM would store them
    pytester.makefile(
        ".yml",
        slow="checks:\n  slow:\n    sql: SELECT n FROM (SELECT count(*) AS n FROM (SELECT generate_series(1, 3000000000)) s) x WHERE n < 0\n",
    )
    proc = _start(
        pytester, f"--liftbackup={dumps.plain}", f"--liftbackup-checks={pytester.path / 'slow.yml'}"
    )
    deadline = time.monotonic() + 60
    while not _slow_check_running(scratch):
        assert proc.poll() is None and time.monotonic() < deadline, "the check never started"
        time.sleep(0.1)
    proc.send_signal(sig)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode != 0, out
    assert postmasters(scratch) == []
    assert_clean(scratch)


def _slow_check_running(scratch: Scratch) -> bool:
    """A reader's SELECT seen twice a second apart: the slow check, not the restore's quick row count."""
    if not _reader_selecting(scratch):
        return False
    time.sleep(1.0)
    return _reader_selecting(scratch)


def _reader_selecting(scratch: Scratch) -> bool:
    """Whether a reader's backend of a server under the scratch folder runs a SELECT: ps shows each
    backend's role and command (the servers let no one in without their run's own password)."""
    out = subprocess.run(["ps", "-ww", "-eo", "pid=,ppid=,args="], capture_output=True, text=True).stdout
    rows = [line.split(None, 2) for line in out.splitlines() if len(line.split(None, 2)) == 3]
    servers = {pid for pid, _, args in rows if args in postmasters(scratch)}
    return any(
        ppid in servers and "liftbackup_reader" in args and args.endswith(" SELECT") for _, ppid, args in rows
    )
