"""The engine's public API: restore pg_dump backups into a throwaway PostgreSQL and check them,
with or without pytest. The pytest plugin and `verify()` are its two front ends.

    from pytest_liftbackup import verify

    verdict = verify(["backups/lift_simulator_backup_20260120_080000.sql"], checks=["checks"])
    verdict.write(Path("verdict.json"), Path("verdict.md"))
    print("passed" if verdict.passed else "failed")

The steps one by one: `find_dumps` (files in, header facts out), a `Restorer` (a server, started
when first needed, and each dump restored once into a locked-down database of its own; a context
manager that removes everything on exit), `load_checks` and `run_checks` (the declarative checks of
docs/checks.md), and a `Verdict` (JSON and Markdown). Errors carry their data (`LiftbackupError`
and subclasses); words about command-line options are the front ends'.
"""

from pytest_liftbackup.api.checks import Check, CheckOutcome, check_files, load_checks, load_file, run_checks
from pytest_liftbackup.api.restorer import Restorer, RestorerConfig, find_dumps, found_dumps
from pytest_liftbackup.api.verification import verify
from pytest_liftbackup.checks.vocabulary import CheckFileError
from pytest_liftbackup.report.verdict import Verdict
from pytest_liftbackup.restore.engine import Progress
from pytest_liftbackup.restore.limits import Limits

__all__ = [
    "Check",
    "CheckFileError",
    "CheckOutcome",
    "Limits",
    "Progress",
    "Restorer",
    "RestorerConfig",
    "Verdict",
    "check_files",
    "find_dumps",
    "found_dumps",
    "load_checks",
    "load_file",
    "run_checks",
    "verify",
]
