"""`liftbackup verify`: the plugin's restore and checks without pytest, plus the manifest's proof."""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path
from typing import Any

from pytest_liftbackup._safe_text import shown
from pytest_liftbackup.api import verify
from pytest_liftbackup.api.folder import record_verification
from pytest_liftbackup.cli._console import Console, Exit
from pytest_liftbackup.cli._options import add_json, add_verification, restorer_config


def add_parser(commands: Any) -> None:
    parser: argparse.ArgumentParser = commands.add_parser(
        "verify",
        help="restore backups into a throwaway PostgreSQL and run the checks",
        description="Restore each backup into a throwaway PostgreSQL (started here, removed at the end) and "
        "run the checks on it. With <file>.manifest.json beside a backup, also check the file's sha256 and, "
        "after the restore, every table's row count and content digest against the manifest. The outcome "
        "is recorded beside each backup (<file>.verified.json) for `liftbackup status`.",
    )
    parser.add_argument(
        "dumps", nargs="+", metavar="FILE_OR_DIR", help="backup files, globs or folders (newest)"
    )
    add_verification(parser)
    add_json(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, console: Console) -> int:
    config = restorer_config(args)
    with console.restores("restore") as told:
        verdict = verify(
            args.dumps,
            checks=args.checks,
            migrations=args.migrations,
            config=replace(config, progress=told),
            identity=args.identity,
        )
    document = verdict.as_json(0)
    for line in verdict.write(args.report, args.markdown):
        console.say(line)
    for dump in document["dumps"]:
        passed, summary = summarize(dump)
        try:
            record_verification(Path(dump["file"]), passed, summary)
        except OSError as exc:
            console.problem(
                f"{shown(dump['file'])}: the outcome could not be recorded beside it ({exc.strerror})"
            )
        console.say(f"{'PASSED' if passed else 'FAILED'} {shown(dump['file'])}: {summary}")
        for problem in problems(dump):
            console.say("  " + problem.replace("\n", "\n  "))
    console.result(document)
    return Exit.OK if document["verdict"] == "passed" else Exit.FAILED


def summarize(dump: dict[str, Any]) -> tuple[bool, str]:
    """Whether one backup passed, and a line that says how."""
    restore = dump["restore"]
    outcomes: dict[str, int] = {}
    for check in dump["checks"]:
        outcomes[check["outcome"]] = outcomes.get(check["outcome"], 0) + 1
    passed = restore["restore"] == "passed" and not outcomes.get("failed") and not outcomes.get("error")
    checks = ", ".join(f"{n} {outcome}" for outcome, n in sorted(outcomes.items())) or "no checks"
    if restore["restore"] != "passed":
        return False, f"restore {restore['restore']}; checks: {checks}"
    return (
        passed,
        f"restored in {restore.get('seconds', 0):.1f} s, {len(restore.get('tables', {}))} tables, "
        + (f"{restore.get('rows', 0)} rows; checks: {checks}"),
    )


def problems(dump: dict[str, Any]) -> list[str]:
    found = []
    if dump["restore"].get("error"):
        found.append(str(dump["restore"]["error"]))
    for check in dump["checks"]:
        if check["outcome"] in ("failed", "error"):
            text = check.get("error") or check.get("report", "")
            found.append(f"{check['outcome'].upper()} {check['nodeid']}: {text}")
    return found
