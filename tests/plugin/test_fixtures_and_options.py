"""Fixtures for users' tests, restore failures pointing at the restore item, and option resolution."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import PLAIN_NAME, Dumps, Scratch, truncated_plain
from tests.helpers import assert_clean, output, run

USER_TESTS = """
import psycopg
import pytest

def test_rows(liftbackup_db):
    assert liftbackup_db.execute("SELECT count(*) FROM lift_simulator.lift_system").fetchone()[0] == 12

def test_read_only(liftbackup_db):
    with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
        liftbackup_db.execute("DELETE FROM lift_simulator.lift_system")

def test_cannot_switch_off_read_only(liftbackup_db):
    liftbackup_db.rollback()
    liftbackup_db.read_only = False
    liftbackup_db.execute("SET default_transaction_read_only = off")
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        liftbackup_db.execute("DELETE FROM lift_simulator.lift_system")

def test_dump_facts(liftbackup_dump):
    assert liftbackup_dump.info.format == "plain"
    assert liftbackup_dump.info.pg_dump_version == "18.6"
    assert len(liftbackup_dump.info.sha256) == 64
    assert liftbackup_dump.seconds > 0
    assert liftbackup_dump.tables["lift_simulator.lift_system_version"] == 48
"""


def test_users_tests_get_a_read_only_connection_and_the_dump_facts(
    dumps: Dumps, pytester: pytest.Pytester, scratch: Scratch
) -> None:
    pytester.makepyfile(test_user=USER_TESTS)
    result = run(pytester, "-v", f"--liftbackup={dumps.plain}")
    assert result.ret == 0, output(result)
    result.assert_outcomes(passed=5)
    result.stdout.fnmatch_lines(
        ["*test_user.py::test_rows[[]lift_simulator_backup_20260120_080000[]] PASSED*"]
    )
    assert "items:    5 passed" in output(result)
    assert_clean(scratch)


def test_a_failed_restore_makes_users_tests_errors_that_point_at_it(
    dumps: Dumps, pytester: pytest.Pytester, scratch: Scratch, tmp_path: Path
) -> None:
    cut = truncated_plain(dumps.plain, tmp_path / PLAIN_NAME, b"--\n-- PostgreSQL database dump complete")
    pytester.makepyfile(test_user=USER_TESTS)
    result = run(pytester, f"--liftbackup={cut}", "-rs")
    result.assert_outcomes(failed=1, skipped=4)  # one failure says why; the tests that need it skip
    text = output(result)
    message = f"restore of {PLAIN_NAME} failed (see {PLAIN_NAME}::restore): {cut}: the dump is cut short"
    assert "= ERRORS =" not in text
    assert text.split("short test summary info")[1].count(message) == 4  # a SKIPPED line per test
    assert "Traceback" not in text
    # without the restore item in the run, the tests error instead: never a silent pass
    alone = run(pytester, f"--liftbackup={cut}", "-k", "not restore")
    alone.assert_outcomes(errors=4, deselected=1)
    sections = output(alone).split("= ERRORS =")[1].split("short test summary info")[0]
    assert sections.count("ERROR at setup of") == 4
    assert sections.count(message) == 4
    assert_clean(scratch)


def test_environment_and_ini_give_the_dump_and_the_header_says_which(
    dumps: Dumps, pytester: pytest.Pytester, scratch: Scratch, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makeini(f"[pytest]\nliftbackup_dump = {dumps.custom}\n")
    result = run(pytester)
    assert "liftbackup: 1 dump(s) from ini (liftbackup_dump)" in output(result)
    assert f"{dumps.custom} [given]" in output(result)
    monkeypatch.setenv("LIFTBACKUP_DUMP", str(dumps.plain))
    result = run(pytester)
    assert "liftbackup: 1 dump(s) from environment (LIFTBACKUP_DUMP)" in output(result)
    assert f"{dumps.plain} [given]" in output(result)
    result = run(pytester, f"--liftbackup={dumps.tar}")
    assert "liftbackup: 1 dump(s) from command line (--liftbackup)" in output(result)
    assert f"{dumps.tar} [given]" in output(result)
    result.assert_outcomes(passed=1)


def test_a_backup_folder_means_its_newest_backup(
    dumps: Dumps, pytester: pytest.Pytester, scratch: Scratch, tmp_path: Path
) -> None:
    folder = tmp_path / "lift_simulator"
    folder.mkdir()
    for stamp in ("20260106_080000", "20260120_080000", "20260113_080000"):
        shutil.copy(dumps.plain, folder / f"lift_simulator_backup_{stamp}.sql")
    (folder / "lift_simulator_backup_20260127_080000.sql.sha256").write_text("not a backup")
    os.utime(folder / "lift_simulator_backup_20260106_080000.sql")  # newest mtime, oldest name
    result = run(pytester, f"--liftbackup={folder}")
    text = output(result)
    assert (
        f"{folder}/lift_simulator_backup_20260120_080000.sql [newest of 3 backups in {folder} by file-name "
        "timestamp]" in text
    )
    result.assert_outcomes(passed=1)


def test_a_glob_takes_every_match(dumps: Dumps, pytester: pytest.Pytester, scratch: Scratch) -> None:
    result = run(pytester, f"--liftbackup={dumps.folder}/lift_simulator_backup_*")
    assert "liftbackup: 4 dump(s)" in output(result)
    result.assert_outcomes(passed=4)


def _python_runs_as_nobody() -> bool:
    try:
        return (
            subprocess.run(
                [sys.executable, "-c", "import pytest_liftbackup"],
                user=65534,
                group=65534,
                extra_groups=[],
                capture_output=True,
                cwd="/",
            ).returncode
            == 0
        )
    except OSError:
        return False


@pytest.mark.skipif(
    sys.platform == "win32" or os.geteuid() != 0, reason="only root can run pytest as another user"
)
def test_works_as_an_ordinary_user(dumps: Dumps, scratch: Scratch) -> None:
    """As root the suite proves the root path; this runs the same job as the unprivileged `nobody`.

    (When this interpreter lives under /root, nobody cannot start it: then the ordinary-user path is
    the one CI's macOS/Windows/Linux runners take, which run as a normal user.)
    """
    if not _python_runs_as_nobody():
        pytest.skip(f"{sys.executable} cannot be run by nobody (it lives in a folder only root can enter)")
    shutil.copy(dumps.plain, scratch.tmpdir / PLAIN_NAME)
    os.chown(scratch.tmpdir, 65534, 65534)
    env = {"PATH": os.environ["PATH"], "TMPDIR": str(scratch.tmpdir), "HOME": str(scratch.tmpdir)}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            f"--liftbackup={scratch.tmpdir / PLAIN_NAME}",
        ],
        cwd=scratch.tmpdir,
        env=env,
        capture_output=True,
        text=True,
        user=65534,
        group=65534,
        extra_groups=[],
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "running as OS user" not in done.stdout  # ran as itself: no user switch needed
    assert "1 passed" in done.stdout
    os.unlink(scratch.tmpdir / PLAIN_NAME)
    assert scratch.leftovers() == []


def test_keep_leaves_the_server_running_and_says_how_to_look_and_remove_it(
    dumps: Dumps, pytester: pytest.Pytester, scratch: Scratch
) -> None:
    import subprocess

    from tests.conftest import servers_under

    result = run(pytester, f"--liftbackup={dumps.plain}", "--liftbackup-keep")
    assert result.ret == 0
    text = output(result)
    assert "kept running: throwaway PostgreSQL 18" in text
    inspect = next(line.split("inspect:", 1)[1].strip() for line in result.outlines if "inspect:" in line)
    remove = next(line.split("remove:", 1)[1].strip() for line in result.outlines if "remove:" in line)
    assert "password" not in inspect
    looked = subprocess.run(
        ["bash", "-c", inspect + " -XAt -c 'SELECT count(*) FROM lift_simulator.lift_system'"],
        capture_output=True,
        text=True,
    )
    assert looked.returncode == 0 and looked.stdout.strip() == "12", looked.stderr
    assert servers_under(scratch.tmpdir)  # still running after pytest ended
    assert subprocess.run(["bash", "-c", remove]).returncode == 0
    for _ in range(50):
        if not servers_under(scratch.tmpdir):
            break
        import time

        time.sleep(0.1)
    assert not servers_under(scratch.tmpdir)
    assert scratch.leftovers() == []


def test_a_long_restore_says_how_far_it_is_in_ci_logs_and_not_with_q(
    dumps: Dumps, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A restore that takes a while (here: the lift dump with a pause before each table's rows)
    prints a line per tenth of the dump in a CI log, and nothing with -q."""
    raw = dumps.plain.read_bytes().replace(b"\nCOPY ", b"\nSELECT pg_sleep(0.7);\nCOPY ")
    slow = tmp_path / PLAIN_NAME
    slow.write_bytes(raw)
    monkeypatch.setenv("CI", "true")
    result = run(pytester, f"--liftbackup={slow}")
    assert result.ret == 0
    lines = [line for line in result.outlines if line.startswith("liftbackup: restoring ")]
    assert lines, output(result)
    assert re.fullmatch(
        rf"liftbackup: restoring {PLAIN_NAME}: \d+% \([\d.]+ kB of [\d.]+ kB\), [\d,]+ rows, \d+ s", lines[0]
    ), lines
    percents = [int(re.search(r": (\d+)%", line).group(1)) for line in lines]  # type: ignore[union-attr]
    assert len({p // 10 for p in percents}) == len(percents)  # one line per tenth, never more
    quiet = run(pytester, f"--liftbackup={slow}", "-q")
    assert not [line for line in quiet.outlines if "restoring" in line]


def test_a_long_archive_restore_counts_its_toc_entries(
    source_server: Any,
    source: Any,
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """pg_restore's own --verbose lines, counted against its list: three tables whose rows take a
    second each to check."""
    from tests.security.conftest import make_database

    make_database(
        source_server,
        "slow_rows",
        "CREATE FUNCTION public.slow(int) RETURNS bool LANGUAGE sql AS 'SELECT pg_sleep(0.1) IS NOT NULL'",
        *(f"CREATE TABLE public.t{i} (id int CHECK (public.slow(id)))" for i in range(3)),
        *(f"INSERT INTO public.t{i} SELECT generate_series(1, 10)" for i in range(3)),
        owner="lift_admin",
    )
    archive = source.dump(tmp_path / "slow_rows.dump", "-F", "c", database="slow_rows")
    monkeypatch.setenv("CI", "true")
    result = run(pytester, f"--liftbackup={archive}", "--liftbackup-jobs=1")
    assert result.ret == 0, output(result)
    lines = [line for line in result.outlines if line.startswith("liftbackup: restoring ")]
    assert lines, output(result)
    assert re.fullmatch(
        r"liftbackup: restoring slow_rows.dump: \d+% \(\d+ of \d+ TOC entries\), \d+ s", lines[0]
    )
