"""The benchmarks (`pytest benchmarks/`, README "Restore speed") still import and collect: they run
outside the default suite, so a moved module would otherwise break them unnoticed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.helpers import REPO


def pytest_in_repo(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_benchmarks_collect() -> None:
    done = pytest_in_repo("benchmarks/", "--collect-only", "-q")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "test_c_liftbackup_plain_restore[medium]" in done.stdout
    assert "test_rerun_with_reuse[small]" in done.stdout


def test_a_failing_benchmark_shows_its_servers_log(tmp_path: Path) -> None:
    """A benchmark server that stops answering says why in its log: a failure prints the end of it."""
    (tmp_path / "test_fails.py").write_text(
        "def test_fails(tuned_server):\n    raise AssertionError('the server stopped answering')\n"
    )
    done = pytest_in_repo("-p", "benchmarks.conftest", str(tmp_path))
    assert done.returncode == 1, done.stdout + done.stderr
    assert "tuned_server log (last 4000 characters)" in done.stdout
    assert "database system is ready to accept connections" in done.stdout


def test_phases_prints_the_restores_timeline(tmp_path: Path) -> None:
    """`python benchmarks/phases.py SIZE` (README "Restore speed": where the time goes)."""
    done = subprocess.run(
        [sys.executable, "benchmarks/phases.py", "small", "--jobs", "2"],
        cwd=REPO,
        env={**os.environ, "LIFTBACKUP_BENCH_DUMPS": str(tmp_path / "dumps")},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "first pass (scan, sha256): " in done.stdout
    assert (
        "COPY lift_simulator.lift_system_version (" in done.stdout
        or "task time per kind: copy" in done.stdout
    )
