"""The restore-time regression gate: --liftbackup-benchmark with pytest-benchmark's save and compare.

The commands are the README's: save a baseline, then compare each new backup with
`--benchmark-compare --benchmark-compare-fail=median:N%`. A dump made slower on purpose (one extra
index whose expression sleeps 10 ms a row: about 1 s more, whatever the machine's noise) fails the
gate; the unchanged dump passes it.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from tests.conftest import Dumps
from tests.helpers import output, run, run_in
from tests.lift_simulator.build import SourceDatabase

SLOW_INDEX = """
SET ROLE lift_admin;
CREATE FUNCTION slow_key(v bigint) RETURNS bigint LANGUAGE plpgsql IMMUTABLE
    AS $$ BEGIN PERFORM pg_sleep(0.01); RETURN v; END $$;
CREATE INDEX idx_scenario_slow_key ON scenario (slow_key(id));
"""
GATE = ["--benchmark-compare", "--benchmark-compare-fail=median:100%"]


@pytest.fixture(scope="module")
def gate_folder(source: SourceDatabase, dumps: Dumps, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Last week's backup, this week's unchanged one, and this week's with the slow index: one series."""
    folder = tmp_path_factory.mktemp("gate")
    shutil.copy(dumps.plain, folder / "lift_simulator_backup_20260113_080000.sql")
    shutil.copy(dumps.plain, folder / "lift_simulator_backup_20260120_080000.sql")
    slowed = source.variant("lift_slowed", SLOW_INDEX, folder)
    slowed.rename(folder / "lift_simulator_backup_20260127_080000.sql")
    return folder


def benchmark_run(folder: Path, dump: str, *args: str) -> tuple[int, str]:
    done = run_in(
        folder,
        f"--liftbackup={dump}",
        "--liftbackup-benchmark",
        "--benchmark-min-rounds=3",
        "--benchmark-storage=store",
        *args,
    )
    return done.returncode, done.stdout + done.stderr


@pytest.fixture(scope="module")
def baseline(gate_folder: Path) -> Path:
    code, out = benchmark_run(
        gate_folder, "lift_simulator_backup_20260113_080000.sql", "--benchmark-save=base"
    )
    assert code == 0, out
    [saved] = (gate_folder / "store").rglob("0001_base.json")
    return saved


def test_a_saved_run_holds_the_restore_time_and_what_was_restored(baseline: Path) -> None:
    [bench] = json.loads(baseline.read_text())["benchmarks"]
    assert bench["fullname"] == "liftbackup::restore_time[lift_simulator_backup]"
    assert bench["stats"]["rounds"] == 3 and bench["stats"]["median"] > 0
    info = bench["extra_info"]
    assert info["dump_file"] == "lift_simulator_backup_20260113_080000.sql"
    assert info["rows"] > 0 and info["tables"] == 5 and info["database_mb"] > 1
    assert info["postgresql"] and info["cpu_count"] and info["settings"]["fsync"] == "off"


def test_the_gate_passes_an_unchanged_backup(gate_folder: Path, baseline: Path) -> None:
    code, out = benchmark_run(gate_folder, "lift_simulator_backup_20260120_080000.sql", *GATE)
    assert code == 0, out
    assert "restore_time[lift_simulator_backup] (0001_base)" in out
    assert "restore_time[lift_simulator_backup] (NOW)" in out
    assert "Performance has regressed" not in out


def test_the_gate_fails_a_backup_whose_restore_got_slower(gate_folder: Path, baseline: Path) -> None:
    code, out = benchmark_run(gate_folder, "lift_simulator_backup_20260127_080000.sql", *GATE)
    assert code != 0, out
    assert "Performance has regressed" in out
    assert "restore_time[lift_simulator_backup] (0001_base) - Field 'median'" in out
    assert "Field 'median' has failed PercentageRegressionCheck" in out
    assert "liftbackup: the restore got slower than the saved run" in out
    assert "Traceback" not in out and "PerformanceRegression" not in out


def test_the_trend_picture_shows_time_and_size_of_the_saved_runs(gate_folder: Path, baseline: Path) -> None:
    code, out = benchmark_run(
        gate_folder, "lift_simulator_backup_20260120_080000.sql", "--benchmark-autosave"
    )
    assert code == 0, out
    from pytest_liftbackup import trend

    assert trend.main(["--storage", str(gate_folder / "store"), "--output", str(gate_folder / "t.svg")]) == 0
    svg = (gate_folder / "t.svg").read_text()
    assert svg.startswith("<?xml") and "<svg" in svg
    assert "Median restore time per saved run" in svg and "Restored database size per saved run" in svg
    assert "restore time (s)" in svg and "database size (MB)" in svg
    assert svg.count(">lift_simulator_backup<") == 2  # the whole series name, in each chart's legend
    assert "kozea.github.io" not in svg and 'href="http' not in svg  # nothing loaded from the web
    points = trend.saved_points(gate_folder / "store")
    assert len(points) >= 2 and all(p.database_mb for p in points)
    shown = set(re.findall(r">(20\d\d-\d\d-\d\d[ \d:.]*)<", svg))
    assert len(shown) == len({p.when for p in points})  # each run a label of its own, none repeated


def test_without_saved_runs_the_trend_command_says_how_to_make_some(tmp_path: Path) -> None:
    from pytest_liftbackup import trend

    assert trend.main(["--storage", str(tmp_path), "--output", str(tmp_path / "t.svg")]) == 1
    assert not (tmp_path / "t.svg").exists()


def test_without_pytest_benchmark_the_option_says_which_extra_to_install(
    pytester: pytest.Pytester, dumps: Dumps
) -> None:
    result = run(pytester, f"--liftbackup={dumps.plain}", "--liftbackup-benchmark", "-p", "no:benchmark")
    assert result.ret == 4  # a usage error, before anything starts
    assert (
        "--liftbackup-benchmark times restores with pytest-benchmark, which is not installed: "
        "pip install 'pytest-liftbackup[benchmark]'"
    ) in output(result)
