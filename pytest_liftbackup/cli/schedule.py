"""`liftbackup schedule`: the weekly backup-and-verify job for this platform."""

from __future__ import annotations

import argparse
from typing import Any

from pytest_liftbackup.cli._console import Console, Exit


def add_parser(commands: Any) -> None:
    parser: argparse.ArgumentParser = commands.add_parser("schedule", help="print the weekly backup job")
    parser.add_argument("--json", action="store_true", help=argparse.SUPPRESS)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, console: Console) -> int:
    console.say("not yet")
    return Exit.OK
