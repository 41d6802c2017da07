"""`liftbackup prune` (grandfather-father-son by file-name timestamp) and `liftbackup status`."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from tests.cli.conftest import liftbackup


def weekly_backups(folder: Path, weeks: int, newest: datetime) -> list[str]:
    """A year of the ADR's schedule (Tuesdays 08:00), each with its manifest: names only, as prune reads."""
    names = []
    for week in range(weeks):
        taken = newest - timedelta(weeks=week)
        name = f"lift_simulator_backup_{taken:%Y%m%d_%H%M%S}.sql"
        (folder / name).write_text("-- a backup\n")
        (folder / f"{name}.manifest.json").write_text("{}")
        names.append(name)
    return names


def test_prune_keeps_daily_weekly_and_monthly_backups_and_deletes_each_with_its_manifest(
    tmp_path: Path,
) -> None:
    newest = datetime(2026, 11, 17, 8, 0, 0)  # a Tuesday
    names = weekly_backups(tmp_path, 52, newest)
    (tmp_path / "lift_simulator_backup_20261117_080000.sql.verified.json").write_text("{}")
    strangers = [
        "notes.txt",
        "lift_simulator_backup_20200101_000000.sql.manifest.json",
        "other.sql",
        "liftbackup.log",
    ]
    for name in strangers:
        (tmp_path / name).write_text("not ours")
    done = liftbackup(
        "prune", "--dir", tmp_path, "--keep-daily", "7", "--keep-weekly", "4", "--keep-monthly", "6", "--json"
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    kept = sorted(Path(p).name for p in report["kept"])
    # 7 daily = the 7 newest weekly backups; 4 weekly inside those; 6 monthly: the newest of each month
    # (Nov..Jun), of which Nov, Oct (Oct 27?) ... are already kept or added.
    months = {}
    for name in names:
        stamp = datetime.strptime(name[22:37], "%Y%m%d_%H%M%S")
        months.setdefault((stamp.year, stamp.month), name)
    expected = set(names[:7]) | set(list(months.values())[:6])
    assert kept == sorted(expected)
    assert report["kept"][str(tmp_path / names[0])] == ["newest", "daily 1", "weekly 1", "monthly 1"]
    remaining = {p.name for p in tmp_path.iterdir()}
    for name in names:
        assert (name in remaining) == (name in expected)
        assert (f"{name}.manifest.json" in remaining) == (name in expected)  # never one without the other
    assert set(strangers) <= remaining  # files it did not recognise, and a manifest without its backup
    assert "lift_simulator_backup_20261117_080000.sql.verified.json" in remaining
    assert "prune: deleted" in (tmp_path / "liftbackup.log").read_text()


def test_prune_dry_run_lists_and_deletes_nothing(tmp_path: Path) -> None:
    weekly_backups(tmp_path, 10, datetime(2026, 11, 17, 8))
    before = sorted(p.name for p in tmp_path.iterdir())
    done = liftbackup("prune", "--dir", tmp_path, "--keep-weekly", "2", "--dry-run")
    assert done.returncode == 0
    assert done.stdout.count("would delete ") == 8
    assert (
        "would delete lift_simulator_backup_20260915_080000.sql, lift_simulator_backup_20260915_080000.sql.manifest.json"
        in done.stdout
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_prune_never_deletes_the_newest_backup_of_each_database(tmp_path: Path) -> None:
    weekly_backups(tmp_path, 3, datetime(2026, 11, 17, 8))
    (tmp_path / "other_db_backup_20200101_080000.sql").write_text("old, but the only one of other_db")
    done = liftbackup("prune", "--dir", tmp_path, "--keep-monthly", "1")
    assert done.returncode == 0, done.stderr
    left = sorted(p.name for p in tmp_path.iterdir() if p.suffix == ".sql")
    assert left == ["lift_simulator_backup_20261117_080000.sql", "other_db_backup_20200101_080000.sql"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "say what to keep: --keep-daily N, --keep-weekly N and/or --keep-monthly N"),
        (["--keep-daily", "-1"], "--keep-daily, --keep-weekly and --keep-monthly count backups: 0 or more"),
    ],
)
def test_prune_without_a_rule_refuses(tmp_path: Path, args: list[str], message: str) -> None:
    weekly_backups(tmp_path, 3, datetime(2026, 11, 17, 8))
    done = liftbackup("prune", "--dir", tmp_path, *args)
    assert done.returncode == 2 and done.stderr == f"liftbackup: {message}\n"
    assert len(list(tmp_path.iterdir())) == 6


def test_status_is_healthy_for_a_recent_verified_backup_and_not_for_an_old_or_failed_one(
    tmp_path: Path,
) -> None:
    now = datetime.now().replace(microsecond=0)
    recent = f"lift_simulator_backup_{now - timedelta(days=2):%Y%m%d_%H%M%S}.sql"
    (tmp_path / recent).write_text("-- backup\n")
    (tmp_path / f"{recent}.verified.json").write_text(
        json.dumps({"verified": "2026-11-20T08:00:00+00:00", "passed": True})
    )
    done = liftbackup("status", tmp_path)
    assert done.returncode == 0, done.stdout
    assert "passed 2026-11-20T08:00:00+00:00" in done.stdout and "UNHEALTHY" not in done.stdout
    (tmp_path / f"{recent}.verified.json").write_text(
        json.dumps({"verified": "2026-11-21T08:00:00+00:00", "passed": False})
    )
    done = liftbackup("status", tmp_path, "--json")
    assert done.returncode == 1
    report = json.loads(done.stdout)
    assert report["healthy"] is False
    assert report["problems"] == [
        f"lift_simulator: the newest backup failed its last verification: {tmp_path / recent}"
    ]
    (tmp_path / f"{recent}.verified.json").unlink()
    done = liftbackup("status", tmp_path, "--max-age", "36h")
    assert done.returncode == 1
    assert "UNHEALTHY lift_simulator: the newest backup is 2.0 days old (limit 36h)" in done.stdout
    assert liftbackup("status", tmp_path).returncode == 0  # 8 days by default: a missed weekly run
    assert liftbackup("status", tmp_path, "--max-age", "soon").returncode == 2
    empty = tmp_path / "empty"
    empty.mkdir()
    done = liftbackup("status", empty)
    assert done.returncode == 1 and "no backups" in done.stdout
