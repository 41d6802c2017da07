"""`liftbackup schedule`: the weekly job for each platform, and the job it prints really runs."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

from tests.cli.conftest import PASSWORD, Live, liftbackup
from tests.cli.test_backup_and_verify import CHECKS


def _no_password(live: Live) -> str:
    return live.dsn.replace(f"password={PASSWORD}", "")


def test_the_crontab_line_runs_on_tuesdays_at_eight_and_its_job_backs_up_and_verifies(
    live: Live, tmp_path: Path
) -> None:
    folder = tmp_path / "backups"
    done = liftbackup(
        "schedule", "--dsn", _no_password(live), "--dir", folder, "--checks", CHECKS, "--platform", "cron"
    )
    assert done.returncode == 0, done.stderr
    (line,) = [text for text in done.stdout.splitlines() if not text.startswith("#")]
    assert line.startswith("0 8 * * 2 ") and line.endswith("  # liftbackup-weekly")
    assert f"pytest_liftbackup --log {folder}/liftbackup-job.log backup" in line and ">>" not in line
    command = line[len("0 8 * * 2 ") : line.rindex("  # ")].replace("\\%", "%")
    ran = subprocess.run(
        ["sh", "-c", command],
        capture_output=True,
        text=True,
        env={"PGPASSWORD": PASSWORD, "PATH": "/usr/bin:/bin"},
        timeout=600,
    )
    assert ran.returncode == 0, (folder / "liftbackup-job.log").read_text()
    assert ran.stdout == ran.stderr == ""  # all of it went to the job's own log, made private
    assert (folder / "liftbackup-job.log").stat().st_mode & 0o777 == 0o600
    log = (folder / "liftbackup-job.log").read_text()
    assert re.search(r"PASSED .*_backup_\d{8}_\d{6}\.sql: restored in", log), log
    assert len(list(folder.glob("*.verified.json"))) == 1


def test_a_systemd_timer_is_written_and_a_failed_enable_says_what_to_run(live: Live, tmp_path: Path) -> None:
    config = tmp_path / "config"
    done = liftbackup(
        "schedule",
        "--dsn",
        _no_password(live),
        "--dir",
        tmp_path / "b",
        "--platform",
        "systemd",
        "--day",
        "sat",
        "--time",
        "23:30",
        "--install",
        env={"XDG_CONFIG_HOME": str(config)},
    )
    units = config / "systemd" / "user"
    timer = (units / "liftbackup-weekly.timer").read_text()
    assert "OnCalendar=Sat *-*-* 23:30:00\nPersistent=true\n" in timer
    service = (units / "liftbackup-weekly.service").read_text()
    assert f'Type=oneshot\nExecStart="{sys.executable}" "-m" "pytest_liftbackup" "backup" "--dsn"' in service
    if (
        done.returncode != 0
    ):  # no systemd user instance here (a container): the files stay, the command is given
        assert done.returncode == 4
        assert "enable them with: systemctl --user enable --now liftbackup-weekly.timer" in done.stderr
    verify = service.split("ExecStart=")[2].strip()
    assert shlex.split(verify)[:4] == [sys.executable, "-m", "pytest_liftbackup", "verify"]


def test_windows_gets_a_schtasks_command(tmp_path: Path) -> None:
    done = liftbackup(
        "schedule", "--dsn", "postgresql://ops@db/lift_simulator", "--dir", tmp_path, "--platform", "windows"
    )
    assert done.returncode == 0
    assert "schtasks /Create /F /SC WEEKLY /D TUE /ST 08:00 /TN liftbackup-weekly /TR" in done.stdout


def test_a_dsn_with_a_password_is_refused(tmp_path: Path) -> None:
    done = liftbackup("schedule", "--dsn", "postgresql://ops:hunter2@db/lift_simulator", "--dir", tmp_path)
    assert done.returncode == 2
    assert "--dsn: holds a password, which a scheduled job would keep in plain text" in done.stderr
    assert "hunter2" not in done.stdout + done.stderr
