"""`restore_main`: a backup into the application's own database, never risking the data it holds.

1. copy the backup into a private folder, hashing it (the manifest's sha256 must match), check it is
   a backup of this database (or of `--from-database`), verify the copy in a throwaway server
   (restore + checks, and its manifest); stop if anything fails; every later step reads only the copy;
2. refuse while other sessions are connected (or end them, if asked);
3. take a safety backup of the current database with a manifest, and verify it (the rollback plan);
4. restore into a staging database beside the main one and run the checks there;
5. swap: the main database becomes `<db>_pre_restore_<time>` (recorded in its comment), the staging
   one takes its name, in one transaction (or, for a selective restore, the chosen tables' rows are
   replaced in one transaction, and noted in the record of the copy the main database replaced).
Until step 5 commits, the main database is not touched; every failure drops what was created and
says so. After it, nothing raises: the caller is told first, later problems are warnings.
`rollback_main` swaps back to the recorded copy the current main database replaced.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg

from pytest_liftbackup._errors import LiftbackupError, Part, RestoreError, Setting
from pytest_liftbackup._safe_text import shown
from pytest_liftbackup.api.backup import BackupResult, log, take_backup
from pytest_liftbackup.api.backup_source import Source, refusal, source_of
from pytest_liftbackup.api.checks import Check, load_checks, run_checks
from pytest_liftbackup.api.manifest import Manifest, manifest_path, read_manifest, restored_differences
from pytest_liftbackup.api.private_copy import PrivateCopy, private_copy
from pytest_liftbackup.api.restorer import Restorer, RestorerConfig, found_dumps
from pytest_liftbackup.api.verification import verify, verify_found
from pytest_liftbackup.dump import encryption
from pytest_liftbackup.dump.inspect import DumpInfo, open_plain
from pytest_liftbackup.dump.locate import locate
from pytest_liftbackup.dump.sql_script import Statement
from pytest_liftbackup.report.verdict import Verdict
from pytest_liftbackup.restore import owners as _owners
from pytest_liftbackup.restore.engine import ARCHIVE_EXPANSION
from pytest_liftbackup.restore.limits import human_size
from pytest_liftbackup.server import live
from pytest_liftbackup.server.kept_names import Kept, age
from pytest_liftbackup.server.table_copy import TablesRefused, reach, replace_tables, resolve
from pytest_liftbackup.server.target import Space, Target, TargetRefused

__all__ = ["STEPS", "MainRestore", "TablesRefused", "Target", "TargetRefused", "VerificationFailed"]

STEPS = ("verify", "sessions", "safety backup", "staging", "swap")
UNCHANGED = "the main database was not changed"


class VerificationFailed(LiftbackupError):
    """A verification on the way failed: the backup, the safety backup or the staging database."""

    def __init__(self, message: str, verdict: Verdict | None = None) -> None:
        super().__init__(message)
        self.verdict = verdict
        self.copies: dict[str, str] = {}  # a private copy's path -> the file it copies, for messages


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
    from_database: str | None = None  # the backup is of this database, not the target's: restore all the same


@dataclass
class MainRestoreResult:
    database: str
    previous: str | None  # the original's name after the swap (None for a selective restore)
    safety: BackupResult
    replaced: dict[str, int] = field(default_factory=dict)  # selective: rows per table
    ended_sessions: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # what failed after the swap committed
    ended_on_staging: list[str] = field(default_factory=list)  # foreign sessions ended before the swap


def preflight(request: MainRestore) -> Target:
    """Before anything runs: the DSN works, the role may do every step, no one else is connected."""
    target = Target(request.dsn)
    if missing := target.missing_privileges(
        request.terminate_connections, bool(request.tables), as_staging_role=not request.config.trusted
    ):
        raise TargetRefused(f"{target.user} lacks what this restore needs: {'; '.join(missing)}; {UNCHANGED}")
    if not request.terminate_connections and (sessions := target.sessions()):
        raise TargetRefused(*_busy(target.database, sessions))
    if request.tables:  # what the named tables reach is known now: refused before any work
        with live.connect(request.dsn) as conn:
            reach(conn, resolve(conn, request.tables))
    return target


def _busy(database: str, sessions: list[Any]) -> tuple[Part, ...]:
    return (
        f"{database} has other sessions: {'; '.join(map(str, sessions))}. ",
        "Stop the application first, or pass ",
        Setting.TERMINATE_CONNECTIONS,
        f" to end them; {UNCHANGED}",
    )


@dataclass(frozen=True)
class BackupFacts:
    """What step 1 established, shown before anything touches the main database (plan and prompt)."""

    given: Path  # the file named
    size: int  # bytes copied (and verified)
    sha256: str  # of those bytes
    source: Source  # which database it is of, and when it was taken, as far as it says
    passed: list[str]  # what passed in the throwaway verification


@contextmanager
def verified_backup(
    request: MainRestore,
    database: str,
    checks: list[Check],
    on_step: Callable[[str], Any],
    before_verify: Callable[[DumpInfo], Any] = lambda info: None,
) -> Iterator[tuple[DumpInfo, BackupFacts]]:
    """Step 1: the backup copied privately (hashed while copied, compared with its manifest),
    decrypted once, of `database` (or of `--from-database`), verified in a throwaway server; every
    later step reads only the copy, removed when the block ends. `before_verify` is given the copy
    before the (long) verification starts."""
    on_step("verify")
    (located,) = locate([str(request.dump)])
    with private_copy(located.path) as copy, found_dumps([copy.path], request.identity) as (info,):
        manifest = _matching_manifest(request.dump, copy)
        source = source_of(manifest, info, copy.path.name)
        if refused := refusal(request.dump, source, database, request.from_database):
            raise TargetRefused(*refused, f"; {UNCHANGED}")
        before_verify(info)
        verdict = verify_found([info], checks, request.config, request.identity)
        if not verdict.passed:
            said = f"{request.dump}: the backup failed verification; {UNCHANGED}"
            failed = VerificationFailed(said, verdict)
            failed.copies = {str(info.path): str(located.path), str(copy.path): str(located.path)}
            raise failed
        yield info, BackupFacts(request.dump, copy.size, copy.sha256, source, _passed(verdict, info.id))


def _matching_manifest(given: Path, copy: PrivateCopy) -> Manifest | None:
    """The copied manifest, if any, once the bytes copied are the ones it describes."""
    if copy.manifest is None:
        return None
    manifest = Manifest.read(copy.manifest)
    if manifest.sha256 != copy.sha256:
        raise VerificationFailed(
            f"{shown(str(given))}: its sha256 is not the one {shown(manifest_path(copy.original).name)} "
            f"records: the file changed after the backup was written; {UNCHANGED}"
        )
    return manifest


def _passed(verdict: Verdict, dump_id: str) -> list[str]:
    """The restore, the manifest's checks, and how many of the other checks passed (and were skipped)."""
    records = list(verdict.dumps[dump_id]["checks"].values())
    passed = ["the restore"]
    passed += [r["check"] for r in records if r.get("kind") == "manifest" and r["outcome"] == "passed"]
    others = [r for r in records if r.get("kind") != "manifest"]
    if others:
        good = sum(r["outcome"] in ("passed", "warned") for r in others)
        skipped = len(others) - good  # a failed one failed the verification
        passed.append(f"{good} checks" + (f" ({skipped} skipped)" if skipped else ""))
    return passed


def restore_main(
    request: MainRestore,
    target: Target,
    on_step: Callable[[str], Any] = lambda step: None,
    approve: Callable[[BackupFacts], Any] = lambda facts: None,
    on_swapped: Callable[[MainRestoreResult], Any] = lambda result: None,
    on_warning: Callable[[str], Any] = lambda line: None,
) -> MainRestoreResult:
    """Run the five steps; raises (VerificationFailed, TargetRefused, LiftbackupError) with the main
    database as it was, or returns what was done. `approve` is shown what step 1 found before step 2
    starts (and may raise to stop there: the confirmation). Once the swap committed, `on_swapped` is
    told first (the kept name and the undo must reach the user whatever follows) and nothing raises
    any more: a later failure is one of the result's warnings."""
    checks = load_checks(request.checks, request.migrations)  # read once: for step 1 and step 4
    expanded: list[int] = []

    def room(info: DumpInfo) -> None:  # refused before the long work, too
        expanded.append(check_room(request, target, info, on_warning))

    with (
        verified_backup(request, target.database, checks, on_step, room) as (info, facts),
        _naming_the_given(info, request.dump),
    ):
        approve(facts)
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
        check_space(target, expanded[0])  # again: the room may have gone since (the safety backup's disk)
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
            _compare_manifest(info.given, restorer, info, request.identity)  # the private copy's
            on_step("swap")
            result = MainRestoreResult(target.database, None, safety, ended_sessions=ended)
            if request.tables:
                result.replaced = _replace(request, restorer, info)
            else:
                restorer.close_connections()
                _hand_over(target, info, outcome.deferred_owners)
                if request.terminate_connections:
                    target.terminate_sessions()
                target.copy_properties()
                result.ended_on_staging = [str(s) for s in target.end_staging_sessions()]
                result.previous = target.swap(str(request.dump.resolve()))
    _after_swap(request, target, result, on_swapped)
    return result


@contextmanager
def _naming_the_given(info: DumpInfo, given: Path) -> Iterator[None]:
    """A failure's messages name the file given, not the private copy restored (`info.path`)."""
    try:
        yield
    except VerificationFailed as exc:
        exc.copies.setdefault(str(info.path), str(given))
        raise


def _hand_over(target: Target, info: DumpInfo, owners: list[Statement] | None) -> None:
    """After the last read as the staging role: the dump's ownership statements (checked, run by us:
    restore/owners), then everything the staging role still owns goes to the original's owner."""
    if owners is not None and target.staging is not None:
        try:
            _owners.apply(info, owners, target.admin_conninfo(), target.staging)
        except RestoreError as exc:
            raise VerificationFailed(
                f"the restore into the staging database failed; {UNCHANGED}: {exc.report(shown)}"
            ) from None
    target.hand_over()


def _after_swap(
    request: MainRestore,
    target: Target,
    result: MainRestoreResult,
    on_swapped: Callable[[MainRestoreResult], Any],
) -> None:
    """What follows a committed swap: the user told, the selective restore recorded, the log line; a
    failure of the last two is a warning, never the command's failure (the restore is done)."""
    on_swapped(result)
    if request.tables:
        _warn_on_failure(
            result,
            "the restore is done, but not recorded beside the kept copy (a rollback will not know of it)",
            lambda: target.record_selective(
                str(request.dump.resolve()), str(result.safety.path), list(result.replaced)
            ),
        )
    what = f"tables {', '.join(result.replaced)}" if request.tables else "the whole database"
    _warn_on_failure(
        result,
        "the restore is done, but its line in the log was not written",
        lambda: log(
            request.backup_dir,
            f"restore {request.dump.name} -> {target.database} ({what}); "
            f"safety backup {result.safety.path.name}",
        ),
    )


def _warn_on_failure(result: MainRestoreResult, what: str, step: Callable[[], Any]) -> None:
    try:
        step()
    except (LiftbackupError, OSError, psycopg.Error) as exc:
        result.warnings.append(f"{what}: {exc}")


def check_room(request: MainRestore, target: Target, info: DumpInfo, on_warning: Callable[[str], Any]) -> int:
    """The room check step 1 begins with (a restore's and --dry-run's): refused, or `on_warning` told
    it could not be made; what the backup expands to, for the check again before step 4."""
    expanded = expanded_size(info, request.config.limits.max_bytes(info.size))
    if unknown := check_space(target, expanded):
        on_warning(unknown)
    return expanded


def expanded_size(info: DumpInfo, budget: int) -> int:
    """About what the backup expands to while it is restored, as the restore engine estimates it: a
    plain dump's SQL text (counted through its compression, up to `budget`), three times an archive."""
    if not info.is_plain:
        return info.size * ARCHIVE_EXPANSION
    if info.extras.get("outer", "none") == "none":
        return info.size
    counted = 0
    with open_plain(info) as text:
        while counted <= budget and (chunk := text.read(1 << 20)):
            counted += len(chunk)
    return min(counted, budget)


def check_space(target: Target, expanded: int) -> str | None:
    """Refuse (before anything is created) when the staging restore would not fit where the server keeps
    the main database: a full disk makes PostgreSQL stop. The warning to give when it cannot be told."""
    space = target.space_for_staging(expanded)
    if space.free is None:
        return f"warning: the free space for the staging database was not checked: {shown(space.unknown)}"
    if space.free < space.needed:
        raise TargetRefused(*_no_room(target.database, space, expanded))
    return None


def _no_room(database: str, space: Space, expanded: int) -> tuple[str, ...]:
    return (
        f"not enough free space for the staging database: about {human_size(space.needed)} needed "
        f"({shown(database)} is {human_size(space.database_size)}, the backup expands to about "
        f"{human_size(expanded)}), {human_size(space.free or 0)} free in {shown(space.folder)} "
        f"(tablespace {shown(space.tablespace)}). Free some space there, or restore on a server with "
        f"room; {UNCHANGED}",
    )


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


@dataclass
class RollbackPlan:
    """What a rollback will do, known before anyone is asked: the copy it swaps in."""

    target: Target
    copy: Kept

    @property
    def age(self) -> str:
        return age(self.copy.record.when)


def plan_rollback(
    dsn: str | None, terminate: bool = False, to: str | None = None, target: Target | None = None
) -> RollbackPlan:
    """The privileges checked and the copy chosen (target.rollback_choice's rules); nothing changed."""
    target = target or Target(dsn)
    if missing := target.missing_privileges(terminate, False):
        raise TargetRefused(f"{target.user} lacks what a rollback needs: {'; '.join(missing)}")
    return RollbackPlan(target, target.rollback_choice(to))


def do_rollback(
    plan: RollbackPlan, terminate: bool = False, now: datetime | None = None
) -> tuple[str, str, str]:
    """Swap the planned copy in: (database, the copy's old name, the name the replaced one keeps)."""
    if terminate:
        plan.target.terminate_sessions()
    previous, replaced = plan.target.rollback(plan.copy, now)
    return plan.target.database, previous, replaced


def rollback_main(
    dsn: str | None, terminate: bool = False, now: datetime | None = None, to: str | None = None
) -> tuple[str, str, str]:
    """The main database back as it was before its last whole-database restore (or the recorded copy
    `to`): (database, its restored name, the name the replaced one keeps)."""
    return do_rollback(plan_rollback(dsn, terminate, to), terminate, now)
