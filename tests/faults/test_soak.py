"""Soak (opt-in: `pytest -m slow tests/faults/test_soak.py -s`): many dumps restored and checked in a
row on one server; memory, open files and processes stay flat, nothing accumulates on disk."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from pytest_liftbackup import Restorer, RestorerConfig, find_dumps, load_checks, run_checks
from tests.conftest import Dumps, Scratch, servers_under
from tests.helpers import REPO

ROUNDS = 120


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _footprint(scratch: Scratch) -> dict[str, float]:
    postgres = subprocess.run(["ps", "-ww", "-e", "-o", "args="], capture_output=True, text=True).stdout
    return {
        "rss_mb": round(_rss_mb(), 1),
        "open_files": len(os.listdir("/proc/self/fd")),
        "postgres_processes": sum(1 for line in postgres.splitlines() if str(scratch.tmpdir) in line),
        "temp_files": sum(1 for _ in scratch.tmpdir.rglob("*")),
        "threads": len(os.listdir("/proc/self/task")),
    }


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc")
def test_many_restores_in_a_row_leave_nothing_growing(
    dumps: Dumps, scratch: Scratch, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(scratch.tmpdir))  # this process read TMPDIR before
    for i in range(ROUNDS):
        shutil.copy(
            dumps.plain if i % 3 else dumps.custom,
            tmp_path / f"lift_simulator_backup_2026{i:04d}_080000.{'sql' if i % 3 else 'dump'}",
        )
    found = find_dumps(sorted(tmp_path.iterdir()))
    checks = load_checks([REPO / "checks"])
    seen = []
    with Restorer(found, RestorerConfig(jobs=2, cache_dir="off")) as restorer:
        for i, dump in enumerate(found):
            outcome = restorer.restore(dump)
            assert outcome.ok, outcome.error_text()
            outcomes = run_checks(restorer, dump, checks)
            assert all(o.outcome in ("passed", "skipped") for o in outcomes), [
                o.record for o in outcomes if o.outcome not in ("passed", "skipped")
            ]
            restorer.drop(outcome)
            restorer.close_connections()
            if i in (9, len(found) - 1):  # after a warm-up, and at the end
                seen.append(_footprint(scratch))
    start, end = seen
    print(f"\nsoak: {len(found)} restores, {len(checks)} checks each; after 10: {start}; at the end: {end}")
    assert end["open_files"] <= start["open_files"] + 2
    assert end["postgres_processes"] <= start["postgres_processes"] + 2
    assert end["threads"] <= start["threads"] + 1
    assert end["temp_files"] <= start["temp_files"] + 50
    assert end["rss_mb"] <= start["rss_mb"] + 60
    assert servers_under(scratch.tmpdir) == [] and scratch.leftovers() == []
