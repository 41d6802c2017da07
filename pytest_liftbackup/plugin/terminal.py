"""What the run prints: the header (which dumps, from where) and a summary per dump."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pytest_liftbackup._safe_text import shown
from pytest_liftbackup.dump.inspect import DumpInfo
from pytest_liftbackup.plugin.run_report import restore_record
from pytest_liftbackup.plugin.state import LiftbackupSession
from pytest_liftbackup.restore.limits import human_size
from pytest_liftbackup.server.live import password_warning


def shown_path(path: Path, base: Path) -> Path:
    """Relative to where pytest was started when inside it: `checks/lift_simulator.yml:12`."""
    try:
        return Path(os.path.relpath(path, base)) if path.resolve().is_relative_to(base.resolve()) else path
    except ValueError:  # another drive on Windows
        return path


def header_lines(state: LiftbackupSession, invocation_dir: Path) -> list[str]:
    """The collection header; each line `shown`: file names and the dumps' header facts are untrusted."""
    return [shown(line) for line in _header(state, invocation_dir)]


def _header(state: LiftbackupSession, invocation_dir: Path) -> list[str]:
    settings = state.settings
    lines = [f"liftbackup: {len(state.dumps)} dump(s) from {settings.dumps_source}"]
    for dump in state.dumps:
        lines.append(
            f"  {dump.given} [{dump.how}]: {dump.format}"
            f"{'' if dump.compression in ('none', dump.format) else ', ' + dump.compression}, "
            f"{human_size(dump.size)}, pg_dump {dump.pg_dump_version or '?'}, "
            f"server {dump.server_version or '?'}"
        )
    if settings.checks:
        shown = ", ".join(
            f"{shown_path(p, invocation_dir)}{'/' if p.is_dir() else ''}" for p in settings.checks
        )
        lines.append(f"liftbackup: checks: {shown} from {settings.checks_source}")
    else:
        lines.append("liftbackup: checks: none (no checks/ folder under the rootdir, no --liftbackup-checks)")
    if settings.migrations:
        lines.append(f"liftbackup: Flyway migrations: {settings.migrations}")
    if settings.dsn:
        lines.append(f"liftbackup: server: existing, from {settings.dsn_source}")
        if settings.dsn_source.startswith("command line") and (warning := password_warning(settings.dsn)):
            lines.append(f"liftbackup: {warning}")
    else:
        lines.append("liftbackup: server: throwaway, started when the first restore runs")
    return lines


def _database(info: DumpInfo) -> str:
    if not info.database:
        return "database not named in the dump"
    return f"database {info.database}" + (
        " (guessed from the file name)" if info.database_from != "dump" else ""
    )


NO_CHECKSUM = (
    " (a damaged byte in the data would restore as another value unnoticed: keep a manifest "
    "from `liftbackup backup`, or a sha256, beside the backup)"
)


def outcome_lines(info: DumpInfo, record: dict[str, Any], results: dict[str, int]) -> list[str]:
    """One dump's summary, from its restore record (`plugin/run_report.restore_record`): the same whether
    this process restored it or an xdist worker did."""
    lines = [
        f"{info.name}",
        f"  file:     {info.given}",
        f"  format:   {info.format}, compression {info.compression}, {human_size(info.size)}, "
        f"sha256 {record.get('sha256') or info.sha256 or '?'}",
        f"  versions: pg_dump {info.pg_dump_version or '?'}, source server {info.server_version or '?'}, "
        f"{_database(info)}",
        f"  checksum: {info.integrity}" + (NO_CHECKSUM if info.integrity == "none" else ""),
    ]
    tables, rows, seconds = len(record.get("tables", {})), record.get("rows", 0), record.get("seconds", 0.0)
    if record["restore"] == "passed" and record.get("reused"):
        lines.append(
            f"  restore:  skipped, unchanged dump (--liftbackup-reuse): {record['engine']}; "
            f"{tables} tables, {rows} rows"
        )
    elif record["restore"] == "passed":
        speed = info.size / 1e6 / seconds if seconds > 0 else 0.0
        lines.append(
            f"  restore:  passed in {seconds:.2f} s ({speed:.1f} MB/s) by {record['engine']}; "
            f"{tables} tables, {rows} rows"
        )
    else:
        first = (record.get("error") or "not run").splitlines()[0]
        lines.append(f"  restore:  FAILED after {seconds:.2f} s: {first}")
    if record.get("mode"):
        lines.append(f"  mode:     {record['mode']}")
    if record.get("roles_created"):
        lines.append(f"  roles:    created NOLOGIN for ownership: {', '.join(record['roles_created'])}")
    if record.get("superuser_statements"):
        lines.append(
            f"  superuser: {record['superuser_statements']} statement(s) re-composed from names "
            "and run as superuser, or run with a right lent for them"
        )
    for reason, count in record.get("skipped_statements", {}).items():
        lines.append(f"  skipped:  {count} statement(s): {reason}")
    for warning in record.get("warnings", [])[:5]:
        lines.append(f"  warning:  {warning}")
    tally = ", ".join(f"{n} {k}" for k, n in sorted(results.items())) or "none run"
    lines.append(f"  items:    {tally}")
    return lines


def summary_lines(state: LiftbackupSession) -> list[str]:
    """The terminal summary; each line `shown`: it quotes the dumps' names, warnings, roles, errors."""
    return [shown(line) for line in _summary(state)]


def _summary(state: LiftbackupSession) -> list[str]:
    lines: list[str] = []
    if state.host_description:
        lines.append(f"server: {state.host_description}")
        settings = state.server_settings
        if settings:
            lines.append("settings: " + ", ".join(f"{k}={v or repr(v)}" for k, v in settings.items()))
    for dump in state.dumps:
        outcome = state.outcomes.get(dump.id)
        record = restore_record(outcome) if outcome else state.run_report.dumps[dump.id]["restore"]
        if record is None or (outcome is not None and not outcome.ok and outcome.error is None):
            lines.append(f"{dump.name}: not restored (no item needed it)")
            continue
        lines.extend(outcome_lines(dump, record, dict(state.run_report.results[dump.id])))
    lines.extend(state.run_report.written)
    return lines
