"""`liftbackup status`: the backups in a folder, and whether the newest is recent and verified."""

from __future__ import annotations

import argparse
import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from pytest_liftbackup._safe_text import shown
from pytest_liftbackup.api.folder import Backup, list_folder
from pytest_liftbackup.cli._console import Console, Exit
from pytest_liftbackup.cli._options import BadInput, add_json

_AGE = re.compile(r"^(\d+(?:\.\d+)?)\s*([dhm]?)$")


def add_parser(commands: Any) -> None:
    parser: argparse.ArgumentParser = commands.add_parser(
        "status",
        help="list the backups in a folder; fail when the newest is too old or failed verification",
        description="A table of the backups in DIR (date, age, size, manifest, last verification). Exits 1 "
        "when a database's newest backup is older than --max-age (the weekly schedule missed) or failed "
        "its last verification, so monitoring can call it.",
    )
    parser.add_argument("dir", type=Path, metavar="DIR", help="the backup folder")
    parser.add_argument(
        "--max-age", default="8d", help="how old the newest backup may be: 8d (default), 36h, 90m"
    )
    add_json(parser)
    parser.set_defaults(run=run)


def max_age(text: str) -> timedelta:
    match = _AGE.match(text.strip())
    if match is None:
        raise BadInput(f"--max-age: {text!r} is not an age; write 8d, 36h or 90m")
    amount, unit = float(match[1]), match[2] or "d"
    return timedelta(**{{"d": "days", "h": "hours", "m": "minutes"}[unit]: amount})


def _row(backup: Backup, now: datetime) -> dict[str, Any]:
    verified = backup.last_verification()
    return {
        "file": str(backup.path),
        "database": backup.database,
        "taken": backup.taken.isoformat(),
        "age_days": round((now - backup.taken).total_seconds() / 86400, 2),
        "size": backup.path.stat().st_size,
        "manifest": backup.manifest.exists(),
        "verified": verified.get("verified") if verified else None,
        "verification": None if verified is None else "passed" if verified.get("passed") else "failed",
    }


def run(args: argparse.Namespace, console: Console) -> int:
    limit = max_age(args.max_age)
    if not args.dir.is_dir():
        raise BadInput(f"{args.dir}: no such folder; pass the backup folder")
    now = datetime.now()
    listing = list_folder(args.dir)
    rows = [_row(b, now) for b in listing.backups]
    problems = listing.refusals()
    for database in sorted({r["database"] for r in rows}):
        newest = [r for r in rows if r["database"] == database][-1]
        if now - datetime.fromisoformat(newest["taken"]) > limit:
            problems.append(
                f"{shown(database)}: the newest backup is {newest['age_days']:.1f} days old "
                f"(limit {args.max_age})"
            )
        if newest["verification"] == "failed":
            problems.append(
                f"{shown(database)}: the newest backup failed its last verification: {shown(newest['file'])}"
            )
    if not rows:
        problems.append(f"{args.dir}: no backups (<db>_backup_YYYYMMDD_HHMMSS.sql) in this folder")
    console.say(f"{'taken':<19}  {'age':>7}  {'size':>10}  manifest  verified")
    for r in rows:
        verified = f"{r['verification']} {r['verified']}" if r["verification"] else "never"
        console.say(
            f"{r['taken'].replace('T', ' '):<19}  {r['age_days']:>6.1f}d  {r['size']:>10}  "
            f"{'yes' if r['manifest'] else 'no':<8}  {verified}  {shown(Path(r['file']).name)}"
        )
    for problem in problems:
        console.say(f"UNHEALTHY {problem}")
    console.result({"healthy": not problems, "problems": problems, "backups": rows})
    return Exit.FAILED if problems else Exit.OK
