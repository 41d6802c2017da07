"""The run's verdict for machines and for people: JSON and a Markdown summary, from the records of
each dump's restore and checks. Both front ends fill it: the pytest plugin from its test reports
(also from xdist workers), `verify()` directly.
"""

from __future__ import annotations

import datetime
import importlib.metadata
import json
import os
import platform
import time
from collections import Counter
from pathlib import Path
from typing import Any

from pytest_liftbackup import __version__
from pytest_liftbackup._safe_text import code_block, inline_code
from pytest_liftbackup.dump.inspect import DumpInfo
from pytest_liftbackup.restore.engine import RestoreOutcome

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
        "file": str(info.given),
        "encrypted": info.encrypted is not None,
        "format": info.format,
        "compression": info.compression,
        "integrity": info.integrity,
        "size": info.size,
        "pg_dump_version": info.pg_dump_version,
        "server_version": info.server_version,
        "database": info.database,
        "database_from": info.database_from if info.database else None,
    }


def _installed(distribution: str) -> str | None:
    """A distribution's version, read from its metadata: the engine never imports pytest."""
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


class Verdict:
    """Every dump's facts, restore record, check records, and the outcomes of the items about it."""

    def __init__(self, dumps: list[DumpInfo]) -> None:
        self.dumps = {d.id: {**dump_facts(d), "restore": None, "checks": {}} for d in dumps}
        self.results: dict[str, Counter[str]] = {d.id: Counter() for d in dumps}  # item outcomes per dump
        self.started = time.time()
        self.server_version = ""  # of the server that restored

    def add_restore(self, dump_id: str, record: dict[str, Any]) -> None:
        entry = self.dumps[dump_id]
        entry["restore"] = record
        if record.get("sha256"):
            entry["sha256"] = record["sha256"]

    def add_check(self, dump_id: str, nodeid: str, record: dict[str, Any]) -> None:
        self.dumps[dump_id]["checks"][nodeid] = {"nodeid": nodeid, **record}

    def restored(self, records: dict[str, dict[str, Any]]) -> None:
        """Restore records from elsewhere (xdist workers) for dumps no restore item reported."""
        for dump_id, record in records.items():
            if dump_id in self.dumps and self.dumps[dump_id]["restore"] is None:
                self.dumps[dump_id]["restore"] = record

    @property
    def passed(self) -> bool:
        return bool(self.as_json(0)["verdict"] == "passed")

    def as_json(self, exitstatus: int = 0) -> dict[str, Any]:
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
                "pytest": _installed("pytest"),
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

    def write(self, json_path: Path | None, markdown_path: Path | None, exitstatus: int = 0) -> list[str]:
        """Write the files asked for (and GitHub's step summary); the lines that say where they went."""
        return write(self, json_path, markdown_path, exitstatus)


def write(report: Verdict, json_path: Path | None, markdown_path: Path | None, exitstatus: int) -> list[str]:
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
