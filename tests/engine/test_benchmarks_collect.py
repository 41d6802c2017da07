"""The benchmarks (`pytest benchmarks/`, README "Restore speed") still import and collect: they run
outside the default suite, so a moved module would otherwise break them unnoticed."""

from __future__ import annotations

import subprocess
import sys

from tests.helpers import REPO


def test_the_benchmarks_collect() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "benchmarks/", "--collect-only", "-q", "-p", "no:cacheprovider"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "test_c_liftbackup_plain_restore[medium]" in done.stdout
    assert "test_rerun_with_reuse[small]" in done.stdout
