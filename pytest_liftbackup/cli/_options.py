"""Options several subcommands share: where the server is, the checks, the restore's limits, --json."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from pytest_liftbackup._errors import LiftbackupError
from pytest_liftbackup.api import RestorerConfig
from pytest_liftbackup.restore.limits import DEFAULT_MAX_SIZE, DEFAULT_TIMEOUT, Limits
from pytest_liftbackup.server.live import password_warning


class BadInput(Exception):
    """An option the command cannot use: the message names it."""


def add_json(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print one JSON document instead of text")


class _GivenDsn(argparse.Action):
    """--dsn on the command line: one warning if it holds a password (the process list shows it)."""

    def __call__(
        self, parser: argparse.ArgumentParser, namespace: Any, values: Any, option: Any = None
    ) -> None:
        if warning := password_warning(str(values)):
            print(f"liftbackup: {warning}", file=sys.stderr, flush=True)
        setattr(namespace, self.dest, values)


def add_dsn(parser: argparse.ArgumentParser, required_note: str) -> None:
    parser.add_argument(
        "--dsn",
        action=_GivenDsn,
        default=os.environ.get("LIFTBACKUP_DSN"),
        help=f"{required_note} (postgresql://user@host:port/db; env LIFTBACKUP_DSN). Passwords come from "
        "libpq's usual places: ~/.pgpass, PGPASSFILE, a service file (never put one on the command line)",
    )


def add_verification(parser: argparse.ArgumentParser) -> None:
    """The options `verify` and `restore` share with the pytest plugin."""
    group = parser.add_argument_group("verification (as the pytest plugin's --liftbackup-* options)")
    group.add_argument(
        "--checks", action="append", default=[], metavar="PATH", help="check file or folder (repeatable)"
    )
    group.add_argument(
        "--migrations", type=Path, metavar="DIR", help="Flyway migrations folder for the Flyway checks"
    )
    group.add_argument("--report", type=Path, metavar="FILE", help="write the JSON verdict here")
    group.add_argument("--markdown", type=Path, metavar="FILE", help="write the Markdown verdict here")
    group.add_argument(
        "--identity", type=Path, metavar="FILE", help="age identity file for encrypted backups"
    )
    group.add_argument(
        "--pg-bin", action="append", default=[], metavar="DIR", help="PostgreSQL bin folder to use"
    )
    group.add_argument("--trusted", action="store_true", help="restore as superuser: only for your own dumps")
    group.add_argument(
        "--timeout", type=float, default=DEFAULT_TIMEOUT, metavar="SECONDS", help="per restore"
    )
    group.add_argument(
        "--max-size", default=DEFAULT_MAX_SIZE, metavar="SIZE", help="20G, 500M or 50x the dump"
    )
    group.add_argument(
        "--jobs", type=int, default=os.cpu_count() or 1, metavar="N", help="connections side by side"
    )


def restorer_config(args: argparse.Namespace) -> RestorerConfig:
    try:
        limits = Limits(args.timeout, args.max_size)
    except LiftbackupError as exc:
        raise BadInput(str(exc)) from None
    return RestorerConfig(
        pg_bin=tuple((folder, "--pg-bin") for folder in args.pg_bin),
        jobs=max(1, args.jobs),
        trusted=args.trusted,
        limits=limits,
    )
