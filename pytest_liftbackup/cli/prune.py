"""`liftbackup prune`: grandfather-father-son retention in a backup folder."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from pytest_liftbackup._safe_text import shown
from pytest_liftbackup.api.backup import log
from pytest_liftbackup.api.folder import list_folder
from pytest_liftbackup.api.retention import plan
from pytest_liftbackup.cli._console import Console, Exit
from pytest_liftbackup.cli._options import BadInput, add_json


def add_parser(commands: Any) -> None:
    parser: argparse.ArgumentParser = commands.add_parser(
        "prune",
        help="delete old backups, keeping daily, weekly and monthly ones",
        description="Grandfather-father-son retention by the file-name timestamp, per database: keep the "
        "newest backup of each of the last N days, weeks and months that have one, and always the newest "
        "backup. A backup goes with its manifest and verification record; files that are not backups "
        "(other names, a manifest without its backup) are never touched.",
    )
    parser.add_argument("--dir", type=Path, required=True, help="the backup folder")
    parser.add_argument("--keep-daily", type=int, default=0, metavar="N")
    parser.add_argument("--keep-weekly", type=int, default=0, metavar="N")
    parser.add_argument("--keep-monthly", type=int, default=0, metavar="N")
    parser.add_argument("--dry-run", action="store_true", help="list what would go; delete nothing")
    add_json(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, console: Console) -> int:
    counts = {"daily": args.keep_daily, "weekly": args.keep_weekly, "monthly": args.keep_monthly}
    if any(n < 0 for n in counts.values()):
        raise BadInput("--keep-daily, --keep-weekly and --keep-monthly count backups: 0 or more")
    if not any(counts.values()):
        raise BadInput("say what to keep: --keep-daily N, --keep-weekly N and/or --keep-monthly N")
    if not args.dir.is_dir():
        raise BadInput(f"{args.dir}: no such folder; pass the backup folder with --dir")
    listing = list_folder(args.dir)
    for line in listing.refusals():
        console.say(f"skipped {line}")
    decided = plan(listing.backups, counts)
    removed: list[str] = []
    for backup in decided.drop:
        files = [backup.path, *backup.companions()]
        if args.dry_run:
            console.say(f"would delete {', '.join(shown(p.name) for p in files)}")
            continue
        backup.path.unlink()  # the backup first: a failure here leaves it whole, with its manifest
        for companion in files[1:]:
            companion.unlink(missing_ok=True)
        removed += [str(p) for p in files]
        console.say(f"deleted {', '.join(shown(p.name) for p in files)}")
        log(args.dir, f"prune: deleted {', '.join(p.name for p in files)}")
    for backup, why in decided.keep.items():
        console.say(f"kept   {shown(backup.path.name)} ({', '.join(why)})")
    console.result(
        {
            "dry_run": args.dry_run,
            "kept": {str(b.path): why for b, why in decided.keep.items()},
            "deleted" if not args.dry_run else "would_delete": [str(b.path) for b in decided.drop],
            "skipped": {str(path): why for path, why in listing.refused.items()},
        }
    )
    return Exit.OK
