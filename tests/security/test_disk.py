"""Class 8, disk: the pre-check names the folder, what is free and what is needed."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from pytest_liftbackup._errors import LiftbackupError
from pytest_liftbackup.restore.limits import Limits, check_disk, human_size


def test_too_little_disk_space_is_one_clear_error(tmp_path: Path) -> None:
    free = shutil.disk_usage(tmp_path).free
    with pytest.raises(LiftbackupError) as raised:
        check_disk(tmp_path, free * 2, "backup.sql")
    assert str(raised.value).startswith(f"backup.sql: not enough disk space in {tmp_path}: ")
    assert f"about {human_size(free * 2)} needed; free some space or point TMPDIR at a bigger disk" in str(
        raised.value
    )
    check_disk(tmp_path, 1, "backup.sql")  # room enough: nothing said


def test_the_size_budget_reads_sizes_and_multiples() -> None:
    assert Limits(max_size="500M").max_bytes(10) == 500 << 20
    assert Limits(max_size="2G").max_bytes(10) == 2 << 30
    assert Limits(max_size="50x").max_bytes(100 << 20) == 5000 << 20
    assert Limits().max_bytes(1000) == 1 << 30  # the floor
