"""The repository's own GitHub workflows cannot be turned against it: every action pinned to a commit,
no checkout leaving its token in .git, no job with more than it asks for, and zizmor finds nothing."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
import yaml

from tests.helpers import REPO

WORKFLOWS = sorted((REPO / ".github" / "workflows").glob("*.yml"))
PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")


def steps(workflow: dict) -> list[dict]:  # type: ignore[type-arg]
    return [step for job in workflow["jobs"].values() for step in job.get("steps", [])]


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_actions_are_pinned_and_checkouts_keep_no_token(path) -> None:  # type: ignore[no-untyped-def]
    workflow = yaml.safe_load(path.read_text())
    uses = [step for step in steps(workflow) if "uses" in step]
    assert uses
    for step in uses:
        assert PINNED.match(step["uses"]), step["uses"]
        if step["uses"].startswith("actions/checkout@"):
            assert step["with"]["persist-credentials"] is False
    # the version each pin stands for is written beside it, for whoever updates it
    assert all(
        re.search(r"@[0-9a-f]{40} # v\d", line) for line in path.read_text().splitlines() if "uses:" in line
    )


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_no_permission_unless_a_job_asks(path) -> None:  # type: ignore[no-untyped-def]
    workflow = yaml.safe_load(path.read_text())
    assert workflow["permissions"] == {}
    for name, job in workflow["jobs"].items():
        assert "permissions" in job, name
        assert "write-all" not in str(job["permissions"]), name


def test_zizmor_finds_nothing() -> None:
    zizmor = shutil.which("zizmor")
    assert zizmor, "zizmor is a test dependency: pip install -e '.[test]'"
    proc = subprocess.run(
        [zizmor, "--offline", "--no-progress", str(REPO / ".github" / "workflows")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
