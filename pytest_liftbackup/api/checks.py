"""Check files loaded and run on a restored dump: `load_checks`, `run_checks`."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pytest_liftbackup._errors import LiftbackupError
from pytest_liftbackup.api.restorer import Restorer
from pytest_liftbackup.checks import yaml_lines as _yaml_lines
from pytest_liftbackup.checks.result import CheckResult, as_record, verdict
from pytest_liftbackup.checks.runner import Scope, run_check, scope_for, validate
from pytest_liftbackup.checks.vocabulary import CheckSpec, parse_file
from pytest_liftbackup.dump.inspect import DumpInfo


@dataclass(frozen=True)
class Check:
    """One check of a check file, with what it needs to run (the file's schema, Flyway settings)."""

    spec: CheckSpec
    scope: Scope
    file_marks: tuple[str, ...] = ()  # the check file's `marks:` (pytest marks in the plugin)

    @property
    def name(self) -> str:
        return self.spec.name


@dataclass
class CheckOutcome:
    """What running one check found: `outcome` is passed, failed, warned, skipped or error."""

    check: Check
    outcome: str
    record: dict[str, Any]  # as in the JSON report: counts, sample, the SQL listing all failures
    result: CheckResult | None = None

    @property
    def report(self) -> str:
        return str(self.record.get("report") or self.record.get("error") or self.record.get("headline", ""))


def check_files(paths: Iterable[Path]) -> list[Path]:
    """The YAML files named, and those under the folders named, in a stable order."""
    found: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            found += sorted(p for p in path.rglob("*") if p.suffix in (".yml", ".yaml") and p.is_file())
        else:
            found.append(path)
    return list(dict.fromkeys(found))


def load_file(path: Path, shown: Path | None = None, migrations: Path | None = None) -> list[Check]:
    """The checks of one file, validated (their SQL proven read-only) before anything runs.
    Raises CheckFileError naming `file:line` (shown as `shown`)."""
    from pytest_liftbackup.checks.vocabulary import CheckFileError

    shown = shown or path
    try:
        check_file = parse_file(shown, _yaml_lines.load(path))
    except _yaml_lines.YamlError as exc:
        raise CheckFileError(shown, exc.line, str(exc)) from None
    for spec in check_file.checks:
        validate(spec)
    scope = scope_for(check_file, migrations)
    return [Check(spec, scope, tuple(check_file.marks)) for spec in check_file.checks]


def load_checks(paths: Iterable[str | Path], migrations: Path | None = None) -> list[Check]:
    """Every check of the files (and folders of `*.yml`) given, in file order."""
    return [
        check for path in check_files(map(Path, paths)) for check in load_file(path, migrations=migrations)
    ]


def run_checks(restorer: Restorer, dump: DumpInfo, checks: Iterable[Check]) -> list[CheckOutcome]:
    """Run the checks on the dump's restored database (restoring it first if need be). A failed
    restore makes every check an error that says so."""
    outcome = restorer.restore(dump)
    found: list[CheckOutcome] = []
    for check in checks:
        if not outcome.ok:
            first = outcome.error_text().splitlines()[0]
            message = f"restore of {dump.name} failed: {first}"
            found.append(CheckOutcome(check, "error", as_record(check.spec, None, "error", message)))
            continue
        try:
            result = run_check(restorer.read_connection(dump), check.spec, check.scope)
        except LiftbackupError as exc:
            found.append(CheckOutcome(check, "error", as_record(check.spec, None, "error", str(exc))))
            continue
        said = verdict(check.spec, result)
        found.append(CheckOutcome(check, said, as_record(check.spec, result, said), result))
    return found
