"""`restore_main`: a backup into the application's own database, never risking the data it holds.

1. verify the backup in a throwaway server (restore + checks, and its manifest); stop if anything fails;
2. refuse while other sessions are connected (or end them, if asked);
3. take a safety backup of the current database with a manifest, and verify it (the rollback plan);
4. restore into a staging database beside the main one and run the checks there;
5. swap: the main database becomes `<db>_pre_restore_<time>`, the staging one takes its name, in one
   transaction (or, for a selective restore, the chosen tables' rows are replaced in one transaction).
Until step 5 commits, the main database is not touched; every failure drops what was created and
says so. `rollback_main` swaps back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from pytest_liftbackup._errors import LiftbackupError, Part, Setting
from pytest_liftbackup.api.backup import BackupResult, log, take_backup
from pytest_liftbackup.api.checks import load_checks, run_checks
from pytest_liftbackup.api.manifest import manifest_path, read_manifest, restored_differences
from pytest_liftbackup.api.restorer import Restorer, RestorerConfig, found_dumps
from pytest_liftbackup.api.verification import verify, verify_found
from pytest_liftbackup.dump import encryption
from pytest_liftbackup.dump.inspect import DumpInfo
from pytest_liftbackup.report.verdict import Verdict
from pytest_liftbackup.server import live
from pytest_liftbackup.server.table_copy import TablesRefused, replace_tables
from pytest_liftbackup.server.target import Target, TargetRefused

__all__ = ["STEPS", "MainRestore", "TablesRefused", "Target", "TargetRefused", "VerificationFailed"]

STEPS = ("verify", "sessions", "safety backup", "staging", "swap")
UNCHANGED = "the main database was not changed"


class VerificationFailed(LiftbackupError):
    """A verification on the way failed: the backup, the safety backup or the staging database."""

    def __init__(self, message: str, verdict: Verdict | None = None) -> None:
        super().__init__(message)
        self.verdict = verdict


@dataclass
class MainRestore:
    """What to restore where, and how carefully."""

    dump: Path
    dsn: str | None
    backup_dir: Path  # where the safety backup goes
    checks: list[str] = field(default_factory=list)
    migrations: Path | None = None
    config: RestorerConfig = field(default_factory=RestorerConfig)
    identity: Path | None = None
    terminate_connections: bool = False
    tables: list[str] = field(default_factory=list)  # a selective restore of these tables' rows


@dataclass
class MainRestoreResult:
    database: str
    previous: str | None  # the original's name after the swap (None for a selective restore)
    safety: BackupResult
    replaced: dict[str, int] = field(default_factory=dict)  # selective: rows per table
    ended_sessions: list[str] = field(default_factory=list)


def preflight(request: MainRestore) -> Target:
    """Before anything runs: the DSN works, the role may do every step, no one else is connected."""
    target = Target(request.dsn)
    if missing := target.missing_privileges(
        request.terminate_connections, bool(request.tables), as_staging_role=not request.config.trusted
    ):
        raise TargetRefused(f"{target.user} lacks what this restore needs: {'; '.join(missing)}; {UNCHANGED}")
    if not request.terminate_connections and (sessions := target.sessions()):
        raise TargetRefused(*_busy(target.database, sessions))
    return target


def _busy(database: str, sessions: list[Any]) -> tuple[Part, ...]:
    return (
        f"{database} has other sessions: {'; '.join(map(str, sessions))}. ",
        "Stop the application first, or pass ",
        Setting.TERMINATE_CONNECTIONS,
        f" to end them; {UNCHANGED}",
    )


def restore_main(
    request: MainRestore, target: Target, on_step: Callable[[str], Any] = lambda step: None
) -> MainRestoreResult:
    """Run the five steps; raises (VerificationFailed, TargetRefused, LiftbackupError) with the main
    database as it was, or returns what was done."""
    checks = load_checks(request.checks, request.migrations)  # read once: for step 1 and step 4
    with found_dumps([request.dump], request.identity) as (info,):  # decrypted once, too
        on_step("verify")
        verdict = verify_found([info], checks, request.config, request.identity)
        if not verdict.passed:
            raise VerificationFailed(f"{request.dump}: the backup failed verification; {UNCHANGED}", verdict)
        on_step("sessions")
        ended = [str(s) for s in target.terminate_sessions()] if request.terminate_connections else []
        if sessions := target.sessions():
            raise TargetRefused(*_busy(target.database, sessions))
        on_step("safety backup")
        safety = take_backup(
            request.dsn,
            request.backup_dir,
            encrypt_to=_safety_recipients(request, info),
            pg_bin=request.config.pg_bin,
        )
        checked = verify([safety.path], config=request.config, identity=request.identity)
        if not checked.passed:
            raise VerificationFailed(
                f"{safety.path}: the safety backup failed verification; {UNCHANGED}", checked
            )
        on_step("staging")
        with Restorer([info], request.config, host=target) as restorer:
            outcome = restorer.restore(info)
            if not outcome.ok:
                raise VerificationFailed(
                    f"the restore into the staging database failed; {UNCHANGED}: {outcome.error_text()}"
                )
            failed = [o for o in run_checks(restorer, info, checks) if o.outcome in ("failed", "error")]
            if failed:
                said = "\n".join(
                    f"{o.check.name}: {o.record.get('error') or o.record.get('report', '')}" for o in failed
                )
                raise VerificationFailed(f"checks failed on the staging database; {UNCHANGED}:\n{said}")
            _compare_manifest(request.dump, restorer, info, request.identity)
            on_step("swap")
            result = MainRestoreResult(target.database, None, safety, ended_sessions=ended)
            if request.tables:
                result.replaced = _replace(request, restorer, info)
            else:
                restorer.close_connections()
                if request.terminate_connections:
                    target.terminate_sessions()
                target.copy_properties()
                result.previous = target.swap()
    what = f"tables {', '.join(result.replaced)}" if request.tables else "the whole database"
    log(
        request.backup_dir,
        f"restore {request.dump.name} -> {target.database} ({what}); safety backup {safety.path.name}",
    )
    return result


def _safety_recipients(request: MainRestore, info: DumpInfo) -> list[str] | None:
    """An encrypted backup's safety backup is encrypted too: to the public keys of the identity that
    decrypted it (not to recipients a manifest names: whoever may write the backup folder could name
    their own), so whoever could read the backup can read its safety backup, and no one else."""
    if info.encrypted is None or request.identity is None:
        return None
    return encryption.public_keys(request.identity)


def _compare_manifest(original: Path, restorer: Restorer, info: Any, identity: Path | None) -> None:
    beside = manifest_path(original)
    if not beside.exists():
        return
    if problems := restored_differences(
        read_manifest(beside, identity), restorer.read_connection(info), restorer.config.limits.timeout
    ):
        raise VerificationFailed(
            f"the staging database differs from {beside.name}; {UNCHANGED}:\n" + "\n".join(problems)
        )


def _replace(request: MainRestore, restorer: Restorer, info: Any) -> dict[str, int]:
    with live.connect(request.dsn, autocommit=False) as conn:
        return replace_tables(conn, restorer.read_connection(info), request.tables)


def rollback_main(
    dsn: str | None, terminate: bool = False, now: datetime | None = None
) -> tuple[str, str, str]:
    """The main database back as it was before the last restore: (database, its restored name, the
    name the replaced one keeps)."""
    target = Target(dsn)
    if missing := target.missing_privileges(terminate, False):
        raise TargetRefused(f"{target.user} lacks what a rollback needs: {'; '.join(missing)}")
    if terminate:
        target.terminate_sessions()
    previous, replaced = target.rollback(now)
    return target.database, previous, replaced
