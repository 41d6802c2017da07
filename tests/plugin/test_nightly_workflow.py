"""The nightly workflow: scheduled and dispatchable, runs the documented pytest command, and its fetch
step (run here with bash) picks the backup from the configured place or fails with a clear error."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.helpers import REPO

WORKFLOW = REPO / ".github" / "workflows" / "nightly-restore.yml"


@pytest.fixture(scope="module")
def workflow() -> dict:  # type: ignore[type-arg]
    return yaml.safe_load(WORKFLOW.read_text())


def step(workflow: dict, name: str) -> dict:  # type: ignore[type-arg]
    return next(s for s in workflow["jobs"]["restore-test"]["steps"] if s.get("name") == name)


def test_scheduled_and_dispatchable(workflow: dict) -> None:  # type: ignore[type-arg]
    triggers = workflow[True]  # YAML 1.1 reads the key `on` as true
    assert triggers["schedule"][0]["cron"]
    assert "backup" in triggers["workflow_dispatch"]["inputs"]


def test_runs_the_documented_command_and_publishes_every_report(workflow: dict) -> None:  # type: ignore[type-arg]
    run = step(workflow, "Restore and run the checks")["run"]
    for part in (
        '--liftbackup="$DUMP"',
        "--liftbackup-checks=checks/",
        '--junitxml="$REPORTS/junit.xml"',
        '--liftbackup-report="$REPORTS/verdict.json"',
        '--liftbackup-markdown="$REPORTS/summary.md"',
    ):
        assert part in run
    assert step(workflow, "Publish the JUnit report")["with"]["report_paths"] == "reports/junit.xml"
    assert step(workflow, "Keep the reports")["with"]["path"] == "reports/"
    assert step(workflow, "Open an issue when the nightly restore test fails")["if"].startswith("failure()")


def fetch(workflow: dict, tmp_path: Path, **env: str) -> tuple[subprocess.CompletedProcess[str], str]:  # type: ignore[type-arg]
    script = step(workflow, "Fetch the newest backup")["run"]
    output_file = tmp_path / "github_output"
    output_file.write_text("")
    proc = subprocess.run(
        ["bash", "-c", script],
        cwd=tmp_path,
        env={**os.environ, "REPORTS": "reports", "GITHUB_OUTPUT": str(output_file), **env},
        capture_output=True,
        text=True,
    )
    return proc, output_file.read_text()


def test_fetch_uses_the_backup_folder_the_runner_sees(workflow: dict, tmp_path: Path) -> None:  # type: ignore[type-arg]
    proc, outputs = fetch(workflow, tmp_path, BACKUP_DIR="/var/backups/lift_simulator")
    assert proc.returncode == 0, proc.stderr
    assert outputs == "dump=/var/backups/lift_simulator\n"


def test_fetch_prefers_the_backup_given_by_hand(workflow: dict, tmp_path: Path) -> None:  # type: ignore[type-arg]
    _, outputs = fetch(workflow, tmp_path, INPUT_BACKUP="/tmp/one.sql", BACKUP_DIR="/var/backups")
    assert outputs == "dump=/tmp/one.sql\n"


def test_fetch_without_a_location_fails_with_what_to_set(workflow: dict, tmp_path: Path) -> None:  # type: ignore[type-arg]
    proc, _ = fetch(workflow, tmp_path)
    assert proc.returncode == 1
    assert "::error::No backup location: set the repository variable LIFTBACKUP_BACKUP_DIR" in proc.stdout
