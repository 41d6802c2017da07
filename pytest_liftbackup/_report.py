"""What the run prints: the header (which dumps, from where) and a summary per dump."""

from __future__ import annotations

import os
from pathlib import Path

from ._limits import human_size
from ._restore import RestoreOutcome
from ._session import LiftbackupSession


def shown_path(path: Path, base: Path) -> Path:
    """Relative to where pytest was started when inside it: `checks/lift_simulator.yml:12`."""
    try:
        return Path(os.path.relpath(path, base)) if path.resolve().is_relative_to(base.resolve()) else path
    except ValueError:  # another drive on Windows
        return path


def header_lines(state: LiftbackupSession, invocation_dir: Path) -> list[str]:
    settings = state.settings
    lines = [f"liftbackup: {len(state.dumps)} dump(s) from {settings.dumps_source}"]
    for dump in state.dumps:
        lines.append(
            f"  {dump.path} [{dump.how}]: {dump.format}"
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
    else:
        lines.append("liftbackup: server: throwaway, started when the first restore runs")
    return lines


def outcome_lines(outcome: RestoreOutcome, results: dict[str, int]) -> list[str]:
    info = outcome.info
    lines = [
        f"{info.name}",
        f"  file:     {info.path}",
        f"  format:   {info.format}, compression {info.compression}, {human_size(info.size)}, "
        f"sha256 {info.sha256 or '?'}",
        f"  versions: pg_dump {info.pg_dump_version or '?'}, source server {info.server_version or '?'}, "
        f"database {info.database or '?'}",
    ]
    if outcome.ok and outcome.reused:
        lines.append(
            f"  restore:  skipped, unchanged dump (--liftbackup-reuse): {outcome.engine}; "
            f"{len(outcome.tables)} tables, {outcome.rows} rows"
        )
    elif outcome.ok:
        lines.append(
            f"  restore:  passed in {outcome.seconds:.2f} s ({outcome.mb_per_s:.1f} MB/s) "
            f"by {outcome.engine}; {len(outcome.tables)} tables, {outcome.rows} rows"
        )
    else:
        first = outcome.error_text().splitlines()[0] if outcome.error else "not run"
        lines.append(f"  restore:  FAILED after {outcome.seconds:.2f} s: {first}")
    if outcome.mode:
        lines.append(f"  mode:     {outcome.mode}")
    if outcome.roles_created:
        lines.append(f"  roles:    created NOLOGIN for ownership: {', '.join(outcome.roles_created)}")
    if outcome.elevated:
        lines.append(
            f"  superuser: {outcome.elevated} statement(s) re-composed from names "
            "and run as superuser, or run with a right lent for them"
        )
    for reason, count in outcome.skipped.items():
        lines.append(f"  skipped:  {count} statement(s): {reason}")
    for warning in outcome.warnings[:5]:
        lines.append(f"  warning:  {warning}")
    tally = ", ".join(f"{n} {k}" for k, n in sorted(results.items())) or "none run"
    lines.append(f"  items:    {tally}")
    return lines


def summary_lines(state: LiftbackupSession) -> list[str]:
    lines: list[str] = []
    if state.host_description:
        lines.append(f"server: {state.host_description}")
        settings = state.server_settings
        if settings:
            lines.append("settings: " + ", ".join(f"{k}={v or repr(v)}" for k, v in settings.items()))
    for dump in state.dumps:
        outcome = state.outcomes.get(dump.id)
        if outcome is None:
            lines.append(f"{dump.name}: not restored (no item needed it)")
            continue
        lines.extend(outcome_lines(outcome, dict(state.results[dump.id])))
    lines.extend(state.run_report.written)
    return lines
