"""`liftbackup restore` into the main database, and `liftbackup rollback`."""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path
from typing import Any

from pytest_liftbackup.api.main_restore import (
    STEPS,
    MainRestore,
    VerificationFailed,
    preflight,
    restore_main,
    rollback_main,
)
from pytest_liftbackup.cli._console import Console, Exit
from pytest_liftbackup.cli._options import add_dsn, add_json, add_verification, restorer_config
from pytest_liftbackup.cli.verify import problems
from pytest_liftbackup.server.staging_role import SHOWN


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
        help="undo the last restore: the <db>_pre_restore_* database takes the main name again",
        description="Swap back after `liftbackup restore`: the newest <db>_pre_restore_<time> database "
        "becomes "
        "<db> again, and the restored one is kept as <db>_rolled_back_<time> (nothing is dropped).",
    )
    add_dsn(back, "the main database")
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
    plan = _plan(request, target.database, _restored_as(request, target.user))
    if args.dry_run:
        for line in plan:
            console.say(line)
        console.result({"dry_run": True, "database": target.database, "plan": plan})
        return Exit.OK
    if not args.yes:
        action = (
            f"restore {args.dump.name} into {target.database}"
            + (f" (tables {', '.join(args.table)})" if args.table else "")
            + f", restored {_restored_as(request, target.user)}"
        )
        console.confirm(target.database, action)
    try:
        with console.restores("restore") as told:
            request.config = replace(request.config, progress=told)
            done = restore_main(
                request, target, on_step=lambda step: console.say(f"step {STEPS.index(step) + 1}/5: {step}")
            )
    except VerificationFailed as exc:
        console.problem(str(exc))
        if exc.verdict is not None:
            for dump in exc.verdict.as_json(0)["dumps"]:
                for problem in problems(dump):
                    console.problem("  " + problem)
        return Exit.FAILED
    if done.previous:
        console.say(
            f"restored {args.dump.name} into {done.database}; "
            f"the previous database is kept as {done.previous}"
        )
        console.say(
            f"undo:     liftbackup rollback --dsn <the same DSN>   (or drop {done.previous} when sure)"
        )
    else:
        console.say(
            f"replaced rows of {', '.join(f'{t} ({n})' for t, n in done.replaced.items())} in {done.database}"
        )
        console.say(f"undo:     liftbackup restore {done.safety.path} --table ... (the safety backup)")
    console.say(f"safety backup: {done.safety.path}")
    console.result(
        {
            "database": done.database,
            "previous": done.previous,
            "safety_backup": str(done.safety.path),
            "replaced": done.replaced,
            "ended_sessions": done.ended_sessions,
        }
    )
    return Exit.OK


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
        else f"5. rename {database} to {database}_pre_restore_<time> and the staging database to "
        f"{database}, in one transaction"
    )
    return [
        f"1. verify {request.dump} in a throwaway PostgreSQL (restore, checks from "
        f"{', '.join(request.checks) or 'none'}, manifest)",
        f"2. {'end' if request.terminate_connections else 'refuse if there are'} other sessions "
        f"on {database}",
        f"3. back up {database} into {request.backup_dir} and verify that backup",
        f"4. restore into a staging database beside {database} {restored_as} and run the checks there",
        last,
    ]


def run_rollback(args: argparse.Namespace, console: Console) -> int:
    if not args.yes:
        from pytest_liftbackup.api.main_restore import Target

        console.confirm(Target(args.dsn).database, "roll back the last restore")
    database, previous, replaced = rollback_main(args.dsn, args.terminate_connections)
    console.say(f"rolled back: {previous} is {database} again; the restored database is kept as {replaced}")
    console.result({"database": database, "restored_from": previous, "kept_as": replaced})
    return Exit.OK
