"""The run's verdict gathered from pytest: `--liftbackup-report` JSON and the Markdown summary.

The verdict itself is report/verdict's. Records travel on pytest's own test reports
(`user_properties`), so the process that writes the files
sees every dump's restore and every check also when xdist workers ran them; JUnit XML gets the same
records as properties through pytest's own `--junitxml`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pytest_liftbackup.dump.inspect import DumpInfo
from pytest_liftbackup.report.verdict import Verdict, restore_record
from pytest_liftbackup.restore.engine import RestoreOutcome

__all__ = ["DUMP_PROPERTY", "PROPERTY", "RunReport", "records_of", "restore_record"]

PROPERTY = "liftbackup"  # user_properties: the JSON record of a restore or a check
DUMP_PROPERTY = "liftbackup_dump"  # user_properties: which dump an item tested


def records_of(report: pytest.TestReport) -> tuple[str | None, dict[str, Any] | None]:
    """(dump id, the last liftbackup record) carried by one test report."""
    dump_id, record = None, None
    for name, value in report.user_properties:
        if name == DUMP_PROPERTY:
            dump_id = str(value)
        elif name == PROPERTY:
            record = json.loads(str(value))
    return dump_id, record


class RunReport(Verdict):
    """Registered as a pytest plugin: gathers the records from test reports, writes the files when the
    session ends (in the controller, under xdist)."""

    def __init__(
        self,
        dumps: list[DumpInfo],
        json_path: Path | None,
        markdown_path: Path | None,
        outcomes: dict[str, RestoreOutcome] | None = None,
    ) -> None:
        super().__init__(dumps)
        self.outcomes = outcomes if outcomes is not None else {}  # this process's restores, by dump id
        self.json_path = json_path
        self.markdown_path = markdown_path
        self.written: list[str] = []

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self.add(report)

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if hasattr(session.config, "workerinput"):  # an xdist worker: the controller writes the files
            return
        # A dump restored for its checks while its restore item was deselected (-k) still has a record.
        for dump_id, entry in self.dumps.items():
            outcome = self.outcomes.get(dump_id)
            if entry["restore"] is None and outcome is not None and (outcome.ok or outcome.error):
                entry["restore"] = restore_record(outcome)
        self.written = self.write(self.json_path, self.markdown_path, int(exitstatus))

    def add(self, report: pytest.TestReport) -> None:
        dump_id, record = records_of(report)
        if dump_id in self.results and (report.when == "call" or not report.passed):
            self.results[dump_id]["error" if report.when != "call" and report.failed else report.outcome] += 1
        if dump_id not in self.dumps or record is None:
            return
        if "restore" in record:
            self.add_restore(dump_id, record)
        else:
            self.add_check(dump_id, report.nodeid, record)
