"""Running pytest with the plugin in a real subprocess, as users do."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import Scratch

REPO = Path(__file__).resolve().parent.parent  # the repository


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", *[str(a) for a in args])


def run_in(folder: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """pytest with the plugin in `folder`, outside pytester: for session-scoped runs shared by many tests."""
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
        cwd=folder,
        capture_output=True,
        text=True,
        env={**{k: v for k, v in os.environ.items() if not k.startswith("PYTEST_XDIST")}, **env},
    )


def output(result: pytest.RunResult) -> str:
    return "\n".join(result.outlines + result.errlines)


def assert_clean(scratch: Scratch) -> None:
    left = scratch.leftovers()
    inside = sorted(str(p.relative_to(scratch.tmpdir)) for p in scratch.tmpdir.rglob("*"))[:15]
    assert left == [], f"the run left files behind in {scratch.tmpdir}: {inside}"


def interrupt_mid_restore(
    pytester: pytest.Pytester, args: list[str], started: Callable[[], bool], sig: signal.Signals
) -> str:
    """Run pytest, wait until `started()` says the restore is under way, send `sig`; its output.

    The run must fail (an interrupted restore never passes).
    """
    proc = subprocess.Popen(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
        cwd=pytester.path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not started():
        assert proc.poll() is None and time.monotonic() < deadline, "the restore never started"
        time.sleep(0.1)
    time.sleep(0.5)
    proc.send_signal(sig)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode != 0, out
    return out


def slow_dump(plain: Path, target: Path) -> Path:
    """The dump with a two-minute sleep before its first object: time to interrupt it."""
    target.write_bytes(
        plain.read_bytes().replace(
            b"SET row_security = off;", b"SET row_security = off;\nSELECT pg_sleep(120);", 1
        )
    )
    return target
