"""What one check found, and how it is told: a first line a person understands, then the evidence."""

from __future__ import annotations

import string
from dataclasses import dataclass, field
from typing import Any

from pytest_liftbackup._safe_text import shown
from pytest_liftbackup.checks.vocabulary import CheckSpec, Threshold

NAMES_ROWS = ("not_null", "unique", "accepted_values", "relationship", "expression", "sql")  # headline + keys


@dataclass
class CheckResult:
    summary: str  # the headline when it fails ("2 lift systems have ..."), what was seen when it passes
    failures: int = 0
    tested: int | None = None
    details: list[str] = field(default_factory=list)  # missing/extra, have/want lines
    sample: list[dict[str, Any]] = field(default_factory=list)
    sample_key: list[str] = field(default_factory=list)
    failures_sql: str | None = None
    skipped: str | None = None
    table: str = ""


def verdict(spec: CheckSpec, result: CheckResult) -> str:
    """passed, warned, failed or skipped, from the failures and the thresholds."""
    if result.skipped is not None:
        return "skipped"
    if spec.max_failures.exceeded(result.failures, result.tested):
        return "warned" if spec.severity == "warn" else "failed"
    warn_above = spec.get("warn_above")
    if isinstance(warn_above, Threshold) and warn_above.exceeded(result.failures, result.tested):
        return "warned"
    return "passed"


def keys_of(result: CheckResult, limit: int = 5) -> str:
    """The failing rows' keys, for the headline: `system-3, system-7` or `(system-3, 4)`."""
    if not result.sample_key:
        return ""
    shown = []
    for row in result.sample[:limit]:
        values = [_short(row.get(k), 40) for k in result.sample_key]
        shown.append(values[0] if len(values) == 1 else "(" + ", ".join(values) + ")")
    more = ", ..." if result.failures > len(shown) else ""
    return ", ".join(shown) + more


def headline(spec: CheckSpec, result: CheckResult) -> str:
    template = spec.get("message")
    keys = keys_of(result)
    if not template:
        return (
            f"{result.summary}: {keys}"
            if result.failures and keys and spec.kind in NAMES_ROWS
            else result.summary
        )
    values = {
        "keys": keys or "-",
        "failures": result.failures,
        "tested": "?" if result.tested is None else result.tested,
        "table": result.table,
        "name": spec.name,
    }
    return _Plurals().vformat(template, (), values)


def counted(number: int, one: str, many: str) -> str:
    """ "1 row is", "3 rows are": the count with the words that agree with it."""
    return f"{number} {one if number == 1 else many}"


class _Plurals(string.Formatter):
    """`{failures:version is|versions are}` gives "1 version is" or "3 versions are"."""

    def format_field(self, value: Any, format_spec: str) -> str:
        if "|" in format_spec and isinstance(value, int):
            return counted(value, *format_spec.split("|", 1))
        return str(super().format_field(value, format_spec))


def _row(row: dict[str, Any]) -> str:
    return "  ".join(f"{k}={_short(v)}" for k, v in row.items())


def _short(value: Any, limit: int = 60) -> str:
    text = "NULL" if value is None else shown(str(value))
    return text if len(text) <= limit else text[: limit - 3] + "..."


def report_text(spec: CheckSpec, result: CheckResult, outcome: str) -> str:
    """The failure (or warning) report: headline, counts, sample, SQL listing all failures, file:line."""
    lines = [headline(spec, result)]
    threshold = f"max_failures {spec.max_failures}"
    if result.tested is not None:
        lines.append(f"  failing: {result.failures} of {result.tested} tested ({threshold})")
    else:
        lines.append(f"  failing: {result.failures} ({threshold})")
    lines.extend("  " + d for d in result.details)
    if result.sample:
        key = f", by {', '.join(result.sample_key)}" if result.sample_key else ""
        lines.append(f"  sample ({len(result.sample)} of {result.failures}{key}):")
        lines.extend("    " + _row(row) for row in result.sample)
    if result.failures_sql:
        lines.append("  all failures: " + result.failures_sql)
    severity = ", severity warn" if outcome == "warned" and spec.severity == "warn" else ""
    lines.append(f"  check: {spec.where} ({spec.kind}{severity})")
    return "\n".join(shown(line) for line in lines)  # each line of ours one line, whatever the data holds


def as_record(spec: CheckSpec, result: CheckResult | None, outcome: str, error: str = "") -> dict[str, Any]:
    """The check in the JSON report (and JUnit properties): outcome, counts, sample."""
    record: dict[str, Any] = {
        "check": spec.name,
        "kind": spec.kind,
        "file": str(spec.path),
        "line": spec.line,
        "severity": spec.severity,
        "outcome": outcome,
    }
    if result is not None:
        record.update(
            headline=headline(spec, result),
            failures=result.failures,
            tested=result.tested,
            max_failures=str(spec.max_failures),
            details=result.details,
            sample=[{k: _json_value(v) for k, v in row.items()} for row in result.sample],
            failures_sql=result.failures_sql,
        )
        if result.skipped:
            record["skipped"] = result.skipped
        if outcome in ("failed", "warned"):
            record["report"] = report_text(spec, result, outcome)  # what the terminal and Markdown show
    if error:
        record["error"] = error
    return record


def _json_value(value: Any) -> Any:
    return value if isinstance(value, str | int | float | bool) or value is None else str(value)
