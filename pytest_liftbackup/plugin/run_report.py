"""The run's verdict for machines and for people: `--liftbackup-report` JSON and a Markdown summary.

Records travel on pytest's own test reports (`user_properties`), so the process that writes the files
sees every dump's restore and every check also when xdist workers ran them; JUnit XML gets the same
records as properties through pytest's own `--junitxml`.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from pytest_liftbackup import __version__
from pytest_liftbackup._safe_text import code_block, inline_code
from pytest_liftbackup.dump.inspect import DumpInfo
from pytest_liftbackup.restore.engine import RestoreOutcome

PROPERTY = "liftbackup"  # user_properties: the JSON record of a restore or a check
DUMP_PROPERTY = "liftbackup_dump"  # user_properties: which dump an item tested
SCHEMA_VERSION = 2  # 2: description, created, versions; totals split into restores, checks and items
DESCRIPTION = (
    "pytest-liftbackup restore test: each pg_dump backup restored into a throwaway PostgreSQL, "
    "and the declarative checks run on it"
)


def restore_record(outcome: RestoreOutcome) -> dict[str, Any]:
    return {
        "restore": "passed" if outcome.ok else "failed",
        "seconds": round(outcome.seconds, 3),
        "engine": outcome.engine,
        "sha256": outcome.info.sha256,
        "tables": dict(outcome.tables),
        "rows": outcome.rows,
        "error": outcome.error_text() if outcome.error else None,
        "mode": outcome.mode,
        "roles_created": list(outcome.roles_created),
        "skipped_statements": dict(outcome.skipped),
        "warnings": list(outcome.warnings),
        "superuser_statements": outcome.elevated,
        "reused": outcome.reused,
    }


def dump_facts(info: DumpInfo) -> dict[str, Any]:
    return {
        "id": info.id,
        "name": info.name,
        "file": str(info.path),
        "format": info.format,
        "compression": info.compression,
        "size": info.size,
        "pg_dump_version": info.pg_dump_version,
        "server_version": info.server_version,
        "database": info.database,
        "database_from": info.database_from if info.database else None,
    }


def records_of(report: pytest.TestReport) -> tuple[str | None, dict[str, Any] | None]:
    """(dump id, the last liftbackup record) carried by one test report."""
    dump_id, record = None, None
    for name, value in report.user_properties:
        if name == DUMP_PROPERTY:
            dump_id = str(value)
        elif name == PROPERTY:
            record = json.loads(str(value))
    return dump_id, record


class RunReport:
    """Registered as a pytest plugin: gathers the records, writes the files when the session ends."""

    def __init__(
        self,
        dumps: list[DumpInfo],
        json_path: Path | None,
        markdown_path: Path | None,
        outcomes: dict[str, RestoreOutcome] | None = None,
    ) -> None:
        self.dumps = {d.id: {**dump_facts(d), "restore": None, "checks": {}} for d in dumps}
        self.results: dict[str, Counter[str]] = {d.id: Counter() for d in dumps}  # item outcomes per dump
        self.outcomes = outcomes if outcomes is not None else {}  # this process's restores, by dump id
        self.started = time.time()
        self.json_path = json_path
        self.markdown_path = markdown_path
        self.written: list[str] = []
        self.server_version = ""  # of the server that restored (set by the session)

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
        self.written = write(self, self.json_path, self.markdown_path, int(exitstatus))

    def add(self, report: pytest.TestReport) -> None:
        dump_id, record = records_of(report)
        if dump_id in self.results and (report.when == "call" or not report.passed):
            self.results[dump_id]["error" if report.when != "call" and report.failed else report.outcome] += 1
        if dump_id not in self.dumps or record is None:
            return
        entry = self.dumps[dump_id]
        if "restore" in record:
            entry["restore"] = record
            if record.get("sha256"):
                entry["sha256"] = record["sha256"]
        else:
            entry["checks"][report.nodeid] = {"nodeid": report.nodeid, **record}

    def restored(self, records: dict[str, dict[str, Any]]) -> None:
        """Restore records from elsewhere (xdist workers) for dumps no restore item reported."""
        for dump_id, record in records.items():
            if dump_id in self.dumps and self.dumps[dump_id]["restore"] is None:
                self.dumps[dump_id]["restore"] = record

    def as_json(self, exitstatus: int) -> dict[str, Any]:
        dumps = []
        restores: Counter[str] = Counter()
        checks: Counter[str] = Counter()
        items: Counter[str] = Counter()  # pytest's outcomes of every item about a dump: its own counts
        for dump_id, entry in self.dumps.items():
            entry_checks = list(entry["checks"].values())
            checks.update(c["outcome"] for c in entry_checks)
            restore = entry["restore"] or {"restore": "not run"}
            restores[restore["restore"]] += 1
            items.update(self.results[dump_id])
            dumps.append({**entry, "restore": restore, "checks": entry_checks})
        failed = checks["failed"] + checks["error"] + restores["failed"]
        return {
            "liftbackup_report": SCHEMA_VERSION,
            "description": DESCRIPTION,
            "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "versions": {
                "pytest_liftbackup": __version__,
                "pytest": pytest.__version__,
                "python": platform.python_version(),
                "postgresql": self.server_version or None,
            },
            "verdict": "failed" if failed or exitstatus not in (0, 5) else "passed",
            "pytest_exit_status": exitstatus,
            "seconds": round(time.time() - self.started, 3),
            "totals": {"restores": dict(restores), "checks": dict(checks), "items": dict(items)},
            "dumps": dumps,
        }

    def markdown(self, verdict: dict[str, Any]) -> str:
        lines = [f"## liftbackup: {verdict['verdict'].upper()}", ""]
        lines += ["| Dump | Restore | Time | Tables | Rows | Checks |", "|---|---|---|---|---|---|"]
        problems = []
        for dump in verdict["dumps"]:
            restore = dump["restore"]
            tally = Counter(c["outcome"] for c in dump["checks"])
            checks = ", ".join(f"{n} {k}" for k, n in sorted(tally.items())) or "none"
            lines.append(
                f"| {inline_code(dump['name'])} | {restore['restore']} | {restore.get('seconds', 0):.2f} s | "
                f"{len(restore.get('tables', {}))} | {restore.get('rows', 0)} | {checks} |"
            )
            if restore.get("error"):
                problems.append((inline_code(f"{dump['name']}::restore"), "failed", restore["error"]))
            for check in dump["checks"]:
                if check["outcome"] in ("failed", "error", "warned"):
                    text = check.get("error") or check.get("report", "")
                    problems.append((inline_code(check["nodeid"]), check["outcome"], text))
        for nodeid, outcome, text in problems:
            lines += ["", f"### {outcome.upper()}: {nodeid}", "", *code_block(text)]
        return "\n".join(lines) + "\n"


def write(
    report: RunReport, json_path: Path | None, markdown_path: Path | None, exitstatus: int
) -> list[str]:
    """Write the files asked for; the lines that say where they went."""
    verdict = report.as_json(exitstatus)
    said = []
    if json_path is not None:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(verdict, indent=2, default=str) + "\n", encoding="utf-8")
        said.append(f"JSON report: {json_path}")
    text = report.markdown(verdict)
    if markdown_path is not None:
        markdown_path.parent.mkdir(parents=True, exist_ok=True)
        markdown_path.write_text(text, encoding="utf-8")
        said.append(f"Markdown summary: {markdown_path}")
    step_summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if step_summary:
        with open(step_summary, "a", encoding="utf-8") as handle:  # GitHub: each step appends
            handle.write(text)
        said.append("Markdown summary: $GITHUB_STEP_SUMMARY")
    return said
