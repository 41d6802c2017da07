"""`liftbackup restore` into the main database, and `liftbackup rollback`."""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path
from typing import Any

import psycopg

from pytest_liftbackup._errors import LiftbackupError
from pytest_liftbackup._safe_text import shown
from pytest_liftbackup.api.main_restore import (
    STEPS,
    MainRestore,
    MainRestoreResult,
    Target,
    VerificationFailed,
    do_rollback,
    plan_rollback,
    preflight,
    restore_main,
    space_precheck,
)
from pytest_liftbackup.cli._console import Console, Exit
from pytest_liftbackup.cli._options import add_dsn, add_json, add_verification, restorer_config
from pytest_liftbackup.cli.verify import problems
from pytest_liftbackup.restore.limits import human_size


def add_parser(commands: Any) -> None:
    parser: argparse.ArgumentParser = commands.add_parser(
        "restore",
        help="restore a backup into the main database, safely (verify, safety backup, staging, swap)",
        description="Restore FILE into the database the DSN names: 1. verify it in a throwaway server; "
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
        "--dry-run", action="store_true", help="check the preconditions and print the plan; change nothing"
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
    )
    if not args.dump.exists():
        console.problem(f"{args.dump}: no such file; pass the backup to restore")
        return Exit.BAD_INPUT
    target = preflight(request)
    leftovers = report_leftovers(console, target)
    plan = _plan(request, target.database)
    if args.dry_run:
        if unchecked := space_precheck(request, target):
            console.problem(unchecked)
        for line in plan:
            console.say(line)
        console.result(
            {"dry_run": True, "database": target.database, "plan": plan, "leftover_staging": leftovers}
        )
        return Exit.OK
    if not args.yes:
        action = f"restore {args.dump.name} into {target.database}" + (
            f" (tables {', '.join(args.table)})" if args.table else ""
        )
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
                on_swapped=on_swapped,
                on_warning=console.problem,
            )
    except VerificationFailed as exc:
        console.problem(str(exc))
        if exc.verdict is not None:
            for dump in exc.verdict.as_json(0)["dumps"]:
                for problem in problems(dump):
                    console.problem("  " + problem)
        return Exit.FAILED
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


def _plan(request: MainRestore, database: str) -> list[str]:
    last = (
        f"5. replace the rows of {', '.join(request.tables)} in {database} in one transaction, "
        "checking foreign keys"
        if request.tables
        else f"5. rename {database} to {database}_pre_restore_<time> and the staging database to "
        f"{database}, in one transaction"
    )
    return [
        f"1. verify {request.dump} in a throwaway PostgreSQL (restore, checks from "
        f"{', '.join(request.checks) or 'none'}, manifest)",
        f"2. {'end' if request.terminate_connections else 'refuse if there are'} other sessions "
        f"on {database}",
        f"3. back up {database} into {request.backup_dir} and verify that backup",
        f"4. restore into a staging database beside {database} and run the checks there",
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
