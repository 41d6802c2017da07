"""--liftbackup-reuse and the cluster cache: what a rerun on an unchanged dump skips, and what it never reuses."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import Dumps, Scratch
from tests.helpers import assert_clean, output, run


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A cache folder of this test's own, through LIFTBACKUP_CACHE_DIR."""
    monkeypatch.setenv("LIFTBACKUP_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


REUSED = "restore:  skipped, unchanged dump (--liftbackup-reuse): reused: restored by native (psycopg)"


def test_reuse_skips_the_restore_of_an_unchanged_dump_and_never_of_a_changed_one(
    pytester: pytest.Pytester, dumps: Dumps, scratch: Scratch, cache_dir: Path
) -> None:
    dump = shutil.copy(dumps.plain, pytester.path / "lift_simulator_backup_20260120_080000.sql")
    first = run(pytester, f"--liftbackup={dump}", "--liftbackup-reuse")
    first.assert_outcomes(passed=1)
    assert "restore:  passed in" in output(first)
    kept = list((cache_dir / "restored").glob("*.json"))
    assert len(kept) == 1, "the restored cluster was not kept"

    again = run(pytester, f"--liftbackup={dump}", "--liftbackup-reuse")
    again.assert_outcomes(passed=1)
    assert REUSED in output(again)

    pytester.makepyfile(
        test_rows="def test_rows(liftbackup_dump, liftbackup_db):\n"
        "    n = liftbackup_db.execute('SELECT count(*) FROM lift_simulator.lift_system').fetchone()[0]\n"
        "    assert n == liftbackup_dump.tables['lift_simulator.lift_system'] > 0\n"
    )
    third = run(pytester, f"--liftbackup={dump}", "--liftbackup-reuse")
    third.assert_outcomes(passed=2)  # the reused database is really there, with the rows the restore counted
    assert REUSED in output(third)

    with open(dump, "ab") as changed:  # one byte more: another sha256, never the old database
        changed.write(b"\n")
    fourth = run(pytester, f"--liftbackup={dump}", "--liftbackup-reuse")
    fourth.assert_outcomes(passed=2)
    assert "restore:  passed in" in output(fourth) and REUSED not in output(fourth)
    assert_clean(scratch)


def test_without_reuse_nothing_but_the_initialized_cluster_is_kept(
    pytester: pytest.Pytester, dumps: Dumps, scratch: Scratch, cache_dir: Path
) -> None:
    run(pytester, f"--liftbackup={dumps.plain}").assert_outcomes(passed=1)
    assert [p.parent.name for p in (cache_dir).glob("*/*")] == ["initialized"]
    shutil.rmtree(cache_dir)
    run(pytester, f"--liftbackup={dumps.plain}", "--liftbackup-cache-dir=off").assert_outcomes(passed=1)
    assert not cache_dir.exists(), "--liftbackup-cache-dir=off still wrote the cache"
    assert_clean(scratch)


def test_a_damaged_cached_cluster_is_replaced_not_fatal(
    pytester: pytest.Pytester, dumps: Dumps, scratch: Scratch, cache_dir: Path
) -> None:
    run(pytester, f"--liftbackup={dumps.plain}").assert_outcomes(passed=1)
    [entry] = (cache_dir / "initialized").iterdir()
    (entry / "global" / "pg_control").write_bytes(b"garbage")
    run(pytester, f"--liftbackup={dumps.plain}").assert_outcomes(passed=1)
    assert (entry / "global" / "pg_control").stat().st_size > 100, "the damaged entry was not rebuilt"
    assert_clean(scratch)
