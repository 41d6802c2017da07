"""--liftbackup-benchmark: each dump's restore timed by pytest-benchmark: `liftbackup::restore_time[SERIES]`.

The item is an ordinary pytest-benchmark test, so `--benchmark-min-rounds`, `--benchmark-save`,
`--benchmark-autosave`, `--benchmark-compare` and `--benchmark-compare-fail` work as usual. Its
SERIES is the dump's file name without the date stamp (`lift_simulator_backup_20260120_080000.sql`
-> `lift_simulator_backup`): pytest-benchmark compares runs by test name, so this week's backup is
compared with the runs saved from earlier weeks' backups. Every round restores into a new database
on the session's server, which is dropped straight after (also with --benchmark-disable).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import pytest

from pytest_liftbackup._safe_text import shown
from pytest_liftbackup.plugin.items import SESSION_KEY
from pytest_liftbackup.report.trend import ITEM_NAME, PARENT

if TYPE_CHECKING:
    from pytest_liftbackup.plugin.state import LiftbackupSession

_STAMP = re.compile(r"[_-]?\d{8}(?:[_T-]?\d{4,6})?")


def series_name(file_name: str) -> str:
    stem = file_name.split(".")[0]
    return _STAMP.sub("", stem) or stem


def _restore_time(benchmark: Any, request: pytest.FixtureRequest) -> None:
    state: LiftbackupSession = request.config.stash[SESSION_KEY]
    dump_id = request.node.stash[DUMP_KEY]
    facts: dict[str, Any] = {}

    def one_restore() -> None:
        outcome = state.restore_again(dump_id)
        try:
            if not outcome.ok:
                pytest.fail(
                    f"the restore failed, so it cannot be timed: {outcome.error_text()}", pytrace=False
                )
            facts.update(state.timing_facts(outcome))
        finally:
            state.drop(outcome)

    benchmark.group = "liftbackup restore"
    benchmark.pedantic(one_restore, rounds=max(1, int(request.config.getoption("benchmark_min_rounds"))))
    benchmark.extra_info.update(facts)


DUMP_KEY = pytest.StashKey[str]()


class _Series(pytest.Collector):
    def collect(self) -> list[pytest.Item]:
        raise NotImplementedError  # its one item is made by benchmark_items


def item_name(series: str) -> str:
    return f"{ITEM_NAME}[{series}]"


def benchmark_items(session: pytest.Session, state: LiftbackupSession) -> list[pytest.Item]:
    """One `restore_time[SERIES]` item per dump (SERIES is the dump's id when two dumps share one)."""
    series = [series_name(d.path.name) for d in state.dumps]
    parent = _Series.from_parent(session, name=PARENT, nodeid=PARENT)
    items: list[pytest.Item] = []
    for dump, name in zip(state.dumps, series, strict=True):
        shown = name if series.count(name) == 1 else dump.id
        item = pytest.Function.from_parent(parent, name=item_name(shown), callobj=_restore_time)
        item.stash[DUMP_KEY] = dump.id
        items.append(item)
    return items


class RegressionGate:
    """pytest-benchmark ends a failed `--benchmark-compare-fail` with a bare traceback from its summary
    hook; this says instead which dump's restore got slower, by how much, and fails the run (exit 1)."""

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> Any:
        try:
            return (yield)
        except Exception as exc:
            if type(exc).__name__ != "PerformanceRegression":
                raise
            bench_session = getattr(session.config, "_benchmarksession", None)
            regressions = list(getattr(bench_session, "performance_regressions", []))
            reporter = session.config.pluginmanager.get_plugin("terminalreporter")
            lines = [shown(f"{name} - {failure}") for name, failure in regressions]
            if reporter is not None:
                reporter.section("liftbackup: the restore got slower than the saved run", sep="-", red=True)
                for line in lines:
                    reporter.write_line(line)
                reporter.write_line(
                    "the --benchmark-compare-fail threshold was exceeded: look for what grew (new indexes, "
                    "more rows; see the database size in the saved runs) before the day this backup is needed"
                )
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
            return None
