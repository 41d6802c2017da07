"""`liftbackup backup`: pg_dump into a folder, with a manifest beside the file."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from pytest_liftbackup.api.backup import take_backup
from pytest_liftbackup.cli._console import Console, Exit
from pytest_liftbackup.cli._options import add_dsn, add_json


def add_parser(commands: Any) -> None:
    parser: argparse.ArgumentParser = commands.add_parser(
        "backup",
        help="back up a database into DIR, with a manifest",
        description="Run pg_dump into DIR/<db>_backup_YYYYMMDD_HHMMSS.sql (written under a temporary name, "
        "renamed when complete) and write <file>.manifest.json beside it: sha256 and size, pg_dump and "
        "server versions, per-table row counts and content digests read in pg_dump's own snapshot, the "
        "newest Flyway version. Each backup is logged in DIR/liftbackup.log.",
    )
    add_dsn(parser, "the database to back up")
    parser.add_argument("--dir", type=Path, required=True, help="the backup folder")
    parser.add_argument(
        "--format", choices=("plain", "custom"), default="plain", help="plain SQL (default) or custom"
    )
    parser.add_argument(
        "--encrypt-to",
        action="append",
        metavar="RECIPIENT",
        help="encrypt with age to this public key (age1...) or file of keys (repeatable); "
        "the file gets .age and is readable by the age tool",
    )
    parser.add_argument(
        "--pg-bin", action="append", default=[], metavar="DIR", help="PostgreSQL bin folder for pg_dump"
    )
    add_json(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, console: Console) -> int:
    with console.progress(None, "B", "pg_dump") as advance:
        done = take_backup(
            args.dsn,
            args.dir,
            fmt=args.format,
            encrypt_to=args.encrypt_to,
            pg_bin=tuple((folder, "--pg-bin") for folder in args.pg_bin),
            progress=advance,
        )
    manifest = done.manifest
    rows = sum(t.rows for t in manifest.tables.values())
    console.say(f"backup:   {done.path}")
    console.say(f"manifest: {done.manifest_path}")
    console.say(
        f"          {manifest.size} bytes, sha256 {manifest.sha256}, "
        f"{len(manifest.tables)} tables, {rows} rows, "
        f"Flyway {manifest.flyway_version or 'none'}, {done.seconds:.1f} s"
    )
    console.result({"backup": str(done.path), "manifest": str(done.manifest_path), **manifest.as_json()})
    return Exit.OK
