"""`liftbackup restore` into the main database, and `liftbackup rollback`."""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import psycopg

from pytest_liftbackup._errors import LiftbackupError
from pytest_liftbackup._safe_text import shown, shown_lines
from pytest_liftbackup.api.backup_source import Source
from pytest_liftbackup.api.checks import load_checks
from pytest_liftbackup.api.main_restore import (
    STEPS,
    BackupFacts,
    MainRestore,
    MainRestoreResult,
    Target,
    VerificationFailed,
    check_room,
    do_rollback,
    plan_rollback,
    preflight,
    restore_main,
    verified_backup,
)
from pytest_liftbackup.cli._console import Console, Exit, Refused
from pytest_liftbackup.cli._options import add_dsn, add_json, add_verification, restorer_config
from pytest_liftbackup.cli.verify import problems
from pytest_liftbackup.restore.limits import human_size
from pytest_liftbackup.server.kept_names import PRE_RESTORE, fitted
from pytest_liftbackup.server.staging_role import SHOWN


def add_parser(commands: Any) -> None:
    parser: argparse.ArgumentParser = commands.add_parser(
        "restore",
        help="restore a backup into the main database, safely (verify, safety backup, staging, swap)",
        description="Restore FILE into the database the DSN names: 1. copy it into a private temporary "
        "folder (hashed, against its manifest), check it is a backup of that database (or of "
        "--from-database), and verify the copy in a throwaway server (the later steps read only the copy); "
        "2. refuse "
        "while other sessions are connected; 3. take and verify a safety backup of the current database; "
        "4. restore into a staging database beside it and run the checks there; 5. swap the names in one "
        "transaction, keeping the original as <db>_pre_restore_<time>. A failure at any step leaves the "
        "database as it was. `liftbackup rollback` swaps back.",
    )
    parser.add_argument("dump", type=Path, metavar="FILE", help="the backup to restore")
    add_dsn(parser, "the main database to restore into")
    parser.add_argument(
        "--backup-dir", type=Path, help="where the safety backup goes (default: FILE's folder)"
    )
    parser.add_argument(
        "--table",
        action="append",
        default=[],
        metavar="TABLE",
        help="replace only these tables' rows (repeatable)",
    )
    parser.add_argument(
        "--terminate-connections", action="store_true", help="end other sessions instead of refusing"
    )
    parser.add_argument(
        "--from-database",
        metavar="NAME",
        help="FILE is a backup of the database NAME, not of the DSN's: restore it all the same",
    )
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="check the preconditions, verify FILE (step 1) and print the plan; change nothing",
    )
    parser.add_argument("--yes", action="store_true", help="do not ask for confirmation (scripts)")
    add_verification(parser)
    add_json(parser)
    parser.set_defaults(run=run)
    back: argparse.ArgumentParser = commands.add_parser(
        "rollback",
        help="undo the last restore: the copy it kept takes the main name again",
        description="Swap back after `liftbackup restore`: the copy the current database replaced "
        "(recorded in its comment) becomes <db> again, and the restored one is kept as "
        "<db>_rolled_back_<time> (nothing is dropped). After a selective restore, or a rollback, it "
        "refuses: name the copy with --to.",
    )
    add_dsn(back, "the main database")
    back.add_argument(
        "--to", metavar="NAME", help="swap in this recorded copy of the database (a kept database's name)"
    )
    back.add_argument(
        "--terminate-connections", action="store_true", help="end other sessions instead of refusing"
    )
    back.add_argument("--yes", action="store_true", help="do not ask for confirmation (scripts)")
    add_json(back)
    back.set_defaults(run=run_rollback)


def run(args: argparse.Namespace, console: Console) -> int:
    request = MainRestore(
        dump=args.dump,
        dsn=args.dsn,
        backup_dir=args.backup_dir or args.dump.resolve().parent,
        checks=args.checks,
        migrations=args.migrations,
        config=restorer_config(args),
        identity=args.identity,
        terminate_connections=args.terminate_connections,
        tables=args.table,
        from_database=args.from_database,
    )
    if not args.dump.exists():
        console.problem(f"{args.dump}: no such file; pass the backup to restore")
        return Exit.BAD_INPUT
    target = preflight(request)
    leftovers = report_leftovers(console, target)
    restored_as = _restored_as(request, target.user)
    plan = _plan(request, target.database, restored_as)
    if args.dry_run:
        return _dry_run(request, target, plan, console, leftovers)
    action = (
        f"restore {args.dump.name} into {target.database}"
        + (f" (tables {', '.join(args.table)})" if args.table else "")
        + f", restored {restored_as}"
    )
    if not args.yes and not sys.stdin.isatty():  # refused before anything runs; asked after step 1
        raise Refused(f"{action} needs a confirmation: run it on a terminal, or pass --yes in scripts")

    found: list[BackupFacts] = []

    def approve(facts: BackupFacts) -> None:
        """Before step 2: what step 1 found, then the question (unless --yes)."""
        found.append(facts)
        asking = not args.yes
        for line in _facts(facts, target.database, request.from_database):
            _tell(console, line, asking)
        if asking:
            console.confirm(target.database, action)

    swapped: list[MainRestoreResult] = []  # once the swap committed, nothing fails the command

    def on_swapped(result: MainRestoreResult) -> None:
        swapped.append(result)
        _say_done(console, args.dump.name, result)

    try:
        with console.restores("restore") as told:
            request.config = replace(request.config, progress=told)
            done = restore_main(
                request,
                target,
                on_step=lambda step: console.say(f"step {STEPS.index(step) + 1}/5: {step}"),
                approve=approve,
                on_swapped=on_swapped,
                on_warning=console.problem,
            )
    except VerificationFailed as exc:
        return _failed(exc, console)
    except (LiftbackupError, OSError, psycopg.Error) as exc:
        if not swapped:
            raise
        done = swapped[0]  # the staging connections' or a decrypted copy's clean-up, after the swap
        done.warnings.append(f"the restore is done, but the clean-up after it failed: {exc}")
    for warning in done.warnings:
        console.problem(f"warning: {warning}")
    console.result(
        {
            "database": done.database,
            "previous": done.previous,
            "safety_backup": str(done.safety.path),
            "replaced": done.replaced,
            "ended_sessions": done.ended_sessions,
            "ended_on_staging": done.ended_on_staging,
            "warnings": done.warnings,
            "backup": _facts_json(found[0]),
            "leftover_staging": leftovers,
        }
    )
    return Exit.OK


def _say_done(console: Console, dump: str, done: MainRestoreResult) -> None:
    """The moment the swap committed: the kept name and the undo, before anything else can fail."""
    if done.previous:
        console.say(f"restored {dump} into {done.database}; the previous database is kept as {done.previous}")
        console.say(
            f"undo:     liftbackup rollback --dsn <the same DSN>   (or drop {done.previous} when sure)"
        )
    else:
        console.say(
            f"replaced rows of {', '.join(f'{t} ({n})' for t, n in done.replaced.items())} in {done.database}"
        )
        console.say(f"undo:     liftbackup restore {done.safety.path} --table ... (the safety backup)")
    console.say(f"safety backup: {done.safety.path}")
    if done.ended_on_staging:
        console.problem(
            "warning: sessions that were not ours were connected to the staging database and were ended "
            f"before the swap: {'; '.join(done.ended_on_staging)}"
        )


def _failed(exc: VerificationFailed, console: Console) -> int:
    """A verification on the way failed: its line, then what failed (naming the file given, not the
    private copy that was verified)."""
    lines = [str(exc)]
    if exc.verdict is not None:
        lines += ["  " + problem for dump in exc.verdict.as_json(0)["dumps"] for problem in problems(dump)]
    for line in lines:
        for copy, original in exc.copies.items():
            line = line.replace(copy, original)
        console.problem(line)
    return Exit.FAILED


def _dry_run(
    request: MainRestore, target: Target, plan: list[str], console: Console, leftovers: list[dict[str, Any]]
) -> int:
    """The plan, then step 1 (it changes nothing on the main server: the room for staging checked
    first, as a restore does) and what it found."""
    database = target.database

    def room(info: Any) -> None:
        check_room(request, target, info, console.problem)

    for line in plan:
        console.say(line)
    checks = load_checks(request.checks, request.migrations)
    try:
        with console.restores("verify") as told:
            request.config = replace(request.config, progress=told)
            with verified_backup(request, database, checks, lambda step: None, room) as (_, facts):
                pass
    except VerificationFailed as exc:
        return _failed(exc, console)
    found = _facts(facts, database, request.from_database)
    for line in found:
        console.say(line)
    console.result(
        {
            "dry_run": True,
            "database": database,
            "plan": plan,
            "backup": _facts_json(facts),
            "found": found,
            "leftover_staging": leftovers,
        }
    )
    return Exit.OK


def _facts(facts: BackupFacts, database: str, from_database: str | None) -> list[str]:
    """What step 1 found, as the plan and the prompt show it."""
    source = facts.source
    taken = f"{source.taken} (from {source.taken_from})" if source.taken else f"unknown ({source.taken_from})"
    return [
        f"backup: {facts.given}, {facts.size} bytes, sha256 {facts.sha256}",
        f"taken: {taken}",
        f"source: {_source_line(source, database, from_database)}",
        f"passed: {', '.join(facts.passed)}",
    ]


def _source_line(source: Source, database: str, from_database: str | None) -> str:
    """Which database the backup is of, compared with the one it goes into."""
    if source.database is None:
        if from_database is not None:
            return (
                f"unknown ({source.database_from}); restored into {database} as a backup of "
                f"{from_database}, as --from-database says"
            )
        return f"unknown ({source.database_from}): make sure it is a backup of {database}"
    said = f"the database {source.database} (from {source.database_from})"
    if source.is_of(database):
        return f"{said}, the one restored into"
    return f"{said}, restored into {database} as --from-database {from_database} says"


def _facts_json(facts: BackupFacts) -> dict[str, Any]:
    source = facts.source
    return {
        "file": str(facts.given),
        "size": facts.size,
        "sha256": facts.sha256,
        "source_database": source.database,
        "source_database_from": source.database_from,
        "taken": source.taken,
        "taken_from": source.taken_from,
        "passed": facts.passed,
    }


def _tell(console: Console, line: str, asking: bool) -> None:
    """A line of what step 1 found: beside the prompt (stderr) when asking with --json."""
    if console.as_json and asking:
        print(shown_lines(line), file=sys.stderr, flush=True)
    else:
        console.say(line)


def _restored_as(request: MainRestore, user: str) -> str:
    """Whose rights the dump's code runs with in step 4."""
    if request.config.trusted:
        return f"as {user} with its full rights (--trusted)"
    return f"as {SHOWN} (the dump's owners' rights)"


def _plan(request: MainRestore, database: str, restored_as: str) -> list[str]:
    last = (
        f"5. replace the rows of {', '.join(request.tables)} in {database} in one transaction, "
        "checking foreign keys"
        if request.tables
        else f"5. rename {database} to {fitted(database, PRE_RESTORE, 'YYYYMMDD_HHMMSS')} (the time of the "
        f"swap) and the staging database to {database}, in one transaction"
    )
    of = database if request.from_database is None else f"{request.from_database} (--from-database)"
    return [
        f"1. copy {request.dump} into a private temporary folder, hashing it (its size is needed there), "
        f"check the copy against its manifest and that it is a backup of {of}, and verify the copy in a "
        f"throwaway PostgreSQL (restore, checks from {', '.join(request.checks) or 'none'}, manifest); "
        "the later steps read only the copy",
        f"2. {'end' if request.terminate_connections else 'refuse if there are'} other sessions "
        f"on {database}",
        f"3. back up {database} into {request.backup_dir} and verify that backup",
        f"4. restore into a staging database beside {database} {restored_as} and run the checks there",
        last,
    ]


def report_leftovers(console: Console, target: Target) -> list[dict[str, Any]]:
    """One warning line per staging database a killed run left on the server, with the SQL that drops
    it (and the same for --json). Reported, not dropped: see docs/cli.md ("Leftover staging databases")."""
    found = target.leftover_staging()
    for left in found:
        size = human_size(left.size) if left.size is not None else "size unknown"
        console.problem(
            f"warning: leftover staging database {shown(left.database)} (made {left.made}, {size}) is "
            f"claimed by no running liftbackup: a killed run's. Drop it when sure: {shown(left.commands)}"
        )
    return [{**vars(left), "drop": left.commands} for left in found]


def run_rollback(args: argparse.Namespace, console: Console) -> int:
    target = Target(args.dsn)
    leftovers = report_leftovers(console, target)
    plan = plan_rollback(args.dsn, args.terminate_connections, args.to, target)
    database, copy = plan.target.database, plan.copy
    what = f"{copy.name} (kept {plan.age} ago, {_kept_by(copy.record.kind, copy.record.backup)})"
    console.say(f"rollback: {what} becomes {database} again")
    if not args.yes:
        console.confirm(database, f"roll back {database} to {what}")
    database, previous, replaced = do_rollback(plan, args.terminate_connections)
    console.say(f"rolled back: {previous} is {database} again; the restored database is kept as {replaced}")
    console.result(
        {
            "database": database,
            "restored_from": previous,
            "kept_as": replaced,
            "kept_at": copy.record.time,
            "backup": copy.record.backup,
            "leftover_staging": leftovers,
        }
    )
    return Exit.OK


def _kept_by(kind: str, backup: str) -> str:
    if kind == "pre_restore":
        return f"replaced by the restore of {backup}"
    return f"replaced by the rollback to {backup}"
