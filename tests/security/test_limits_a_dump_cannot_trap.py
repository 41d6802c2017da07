"""Class 8, continued: limits a dump cannot step around. A function that catches the cancel of
statement_timeout, a sort that writes temporary files, a prepared transaction that outlives the
restore: each is ended, counted or rolled back, and the run says which limit it hit."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.conftest import Scratch
from tests.helpers import assert_clean, output
from tests.lift_simulator import build

# A run under test that hangs fails here instead of hanging the suite.
HANG = 240

# lift_system_version becomes a view over a function that waits forever, catching every cancel.
CATCHES_CANCEL = """
SET ROLE lift_admin;
ALTER TABLE lift_system_version RENAME TO lift_system_version_data;
CREATE FUNCTION versions() RETURNS SETOF lift_system_version_data LANGUAGE plpgsql AS $$
BEGIN
    LOOP
        BEGIN
            PERFORM pg_catalog.pg_sleep(0.1);
        EXCEPTION WHEN query_canceled THEN
            NULL;
        END;
    END LOOP;
END $$;
CREATE VIEW lift_system_version AS SELECT * FROM versions();
"""
# The shipped checklist's check, with a short timeout.
EVERY_SYSTEM_HAS_A_VERSION = """\
schema: lift_simulator
checks:
  every_system_has_a_version:
    timeout: 2
    sql: |
      SELECT s.system_key
      FROM lift_system s
      WHERE NOT EXISTS (SELECT 1 FROM lift_system_version v WHERE v.lift_system_id = s.id)
  lift_systems_exist:
    row_count: lift_system
    min: 1
"""


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    """pytest with the plugin in a subprocess that may not outlive HANG seconds."""
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", *args, timeout=HANG)


@pytest.fixture(scope="module")
def trapping_dump(source: build.SourceDatabase, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return source.variant("catches_cancel", CATCHES_CANCEL, tmp_path_factory.mktemp("trap"))


def test_a_check_whose_view_catches_the_cancel_is_ended_at_its_timeout(
    trapping_dump: Path, pytester: pytest.Pytester, scratch: Scratch
) -> None:
    (pytester.path / "checks").mkdir()
    (pytester.path / "checks" / "c.yml").write_text(EVERY_SYSTEM_HAS_A_VERSION)
    result = run(pytester, f"--liftbackup={trapping_dump}")
    text = output(result)
    result.assert_outcomes(passed=2, errors=1)  # the restore, the next check on a new session; the trap
    assert (
        "check 'every_system_has_a_version' could not run (checks/c.yml:3): it ran longer than its "
        "timeout of 2 s; raise 'timeout' in the check file"
    ) in text
    assert_clean(scratch)


@pytest.mark.skipif(sys.platform == "win32", reason="the command's run is the same code")
def test_verify_ends_the_trapped_check_too(
    trapping_dump: Path, pytester: pytest.Pytester, scratch: Scratch
) -> None:
    checks = pytester.path / "c.yml"
    checks.write_text(EVERY_SYSTEM_HAS_A_VERSION)
    result = pytester.run(
        sys.executable,
        "-m",
        "pytest_liftbackup",
        "verify",
        str(trapping_dump),
        f"--checks={checks}",
        timeout=HANG,
    )
    text = output(result)
    assert result.ret == 1, text
    assert "it ran longer than its timeout of 2 s; raise 'timeout' in the check file" in text
    assert_clean(scratch)
