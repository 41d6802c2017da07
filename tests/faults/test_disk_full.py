"""A disk that fills up during the restore: a clear failure, nothing left behind, the next run fine."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import PLAIN_NAME, Dumps

pytestmark = pytest.mark.skipif(
    sys.platform != "linux" or os.geteuid() != 0, reason="mounts a small tmpfs: Linux, as root"
)


@pytest.fixture
def small_disk() -> Iterator[Path]:
    """A 96 MB file system: room for the cluster (about 40 MB) and little more."""
    folder = Path(tempfile.mkdtemp(prefix="lb-small-disk-"))
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=96m,mode=1777", "tmpfs", str(folder)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)
        shutil.rmtree(folder, ignore_errors=True)


def _pytest_in(folder: Path, tmpdir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TMPDIR": str(tmpdir)}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--rootdir", str(folder), *args],
        cwd=folder,
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )


def test_a_disk_that_fills_during_the_restore_fails_it_clearly(
    dumps: Dumps, small_disk: Path, tmp_path: Path
) -> None:
    grows = tmp_path / PLAIN_NAME  # a small dump that builds a big table: past the start-up estimate
    grows.write_bytes(
        dumps.plain.read_bytes().replace(
            b"SET row_security = off;",
            b"SET row_security = off;\nCREATE TABLE public.filler AS SELECT repeat(md5(g::text), 40) AS x "
            b"FROM generate_series(1, 200000) g;",
            1,
        )
    )
    done = _pytest_in(tmp_path, small_disk, f"--liftbackup={grows}", "--liftbackup-cache-dir=off")
    out = done.stdout + done.stderr
    assert done.returncode == 1, out
    assert "No space left on device" in out or "the PostgreSQL server stopped during the restore" in out, out
    assert "INTERNALERROR" not in out and "Traceback" not in out
    assert sorted(p.name for p in small_disk.iterdir() if p.name != "lost+found") == []
    again = _pytest_in(tmp_path, small_disk, f"--liftbackup={dumps.plain}", "--liftbackup-cache-dir=off")
    assert again.returncode == 0, again.stdout + again.stderr
    assert [p.name for p in small_disk.iterdir()] == []
