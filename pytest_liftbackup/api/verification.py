"""`verify`: restore each dump and run the checks on it, in one call."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from pytest_liftbackup.api.checks import load_checks, run_checks
from pytest_liftbackup.api.restorer import Restorer, RestorerConfig, find_dumps
from pytest_liftbackup.report.verdict import Verdict, restore_record


def verify(
    dumps: Iterable[str | Path],
    checks: Iterable[str | Path] = (),
    migrations: Path | None = None,
    config: RestorerConfig | None = None,
) -> Verdict:
    """Restore each dump and run the checks on it, in one call, leaving nothing behind."""
    found = find_dumps(dumps)
    loaded = load_checks(checks, migrations)
    verdict_ = Verdict(found)
    with Restorer(found, config) as restorer:
        for dump in found:
            outcome = restorer.restore(dump)
            verdict_.add_restore(dump.id, restore_record(outcome))
            verdict_.results[dump.id]["passed" if outcome.ok else "failed"] += 1
            for done in run_checks(restorer, dump, loaded):
                verdict_.add_check(dump.id, f"{done.check.spec.path}::{done.check.name}", done.record)
                verdict_.results[dump.id][_pytest_word(done.outcome)] += 1
        verdict_.server_version = restorer.server_version
    return verdict_


def _pytest_word(outcome: str) -> str:
    """A check's outcome counted as pytest counts items: a warned check passes."""
    return "passed" if outcome == "warned" else outcome
