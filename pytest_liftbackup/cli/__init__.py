"""The `liftbackup` command: back up with a manifest, verify, prune, report health, restore into the
main database safely, and roll back. Built on the engine's API (pytest_liftbackup.api), like the pytest
plugin; this package only parses arguments, shows results and picks exit codes (see _console.Exit).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import traceback
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from types import FrameType

import psycopg

from pytest_liftbackup import __version__
from pytest_liftbackup._errors import DumpInputError, LiftbackupError, RestoreError, use_spelling
from pytest_liftbackup._safe_text import shown
from pytest_liftbackup.api import CheckFileError
from pytest_liftbackup.api.main_restore import TablesRefused, TargetRefused, VerificationFailed
from pytest_liftbackup.cli import backup, prune, status, verify
from pytest_liftbackup.cli import restore as restore
from pytest_liftbackup.cli import schedule as schedule
from pytest_liftbackup.cli._console import Console, Exit, Refused, spelling
from pytest_liftbackup.cli._options import BadInput
from pytest_liftbackup.dump.files import open_log

COMMANDS = (backup, verify, prune, status, restore, schedule)


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="liftbackup",
        description="Verified PostgreSQL backups: back up with a manifest, verify by restoring, prune, "
        "and restore into the main database without risking its data.",
        epilog="Exit codes: 0 done, 1 verification failed (or unhealthy), 2 bad input, 3 refused, "
        "4 the work failed (target unchanged), 130 interrupted. See docs/cli.md.",
    )
    top.add_argument("--version", action="version", version=f"liftbackup {__version__}")
    top.add_argument(
        "--log",
        type=Path,
        metavar="FILE",
        help="append everything the command prints to FILE instead (created 0600; a symbolic link, FIFO, "
        "hard link or someone else's file there is refused): the scheduled job's log",
    )
    commands = top.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMANDS:
        module.add_parser(commands)
    return top


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: Sequence[str] | None = None) -> int:
    """Run one subcommand; the exit code says how it went."""
    use_spelling(spelling)
    args = parser().parse_args(argv)
    if args.log is None:
        return _run(args)
    try:
        with _output_to(args.log):
            return _run(args)
    except DumpInputError as exc:  # the log itself was refused: said on the terminal, nothing run
        Console(False).problem(str(exc))
        return Exit.BAD_INPUT


@contextmanager
def _output_to(log: Path) -> Iterator[None]:
    """stdout and stderr (ours and every child's) appended to `log`, opened by us without following a
    link (never a shell's `>>`), for the block."""
    with suppress(OSError):  # the job's first run: the backup folder is new (else open_log says why)
        log.parent.mkdir(parents=True, exist_ok=True)
    with open_log(log) as out:
        sys.stdout.flush()
        sys.stderr.flush()
        saved = os.dup(1), os.dup(2)
        os.dup2(out.fileno(), 1)
        os.dup2(out.fileno(), 2)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            for fd, saved_fd in enumerate(saved, start=1):
                os.dup2(saved_fd, fd)
                os.close(saved_fd)


def _run(args: argparse.Namespace) -> int:
    """The subcommand, its errors turned into one line and an exit code."""
    console = Console(getattr(args, "json", False))
    if signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, None):
        signal.signal(signal.SIGTERM, _interrupt)  # a stopped job unwinds like Ctrl-C: nothing left behind
    try:
        return int(args.run(args, console))
    except (Refused, TargetRefused, TablesRefused) as exc:
        console.problem(f"refused: {exc}")
        return Exit.REFUSED
    except (DumpInputError, BadInput, CheckFileError) as exc:
        console.problem(str(exc))
        return Exit.BAD_INPUT
    except VerificationFailed as exc:
        console.problem(str(exc))
        return Exit.FAILED
    except LiftbackupError as exc:
        console.problem(shown(str(exc)) if isinstance(exc, RestoreError) else str(exc))  # quotes the dump
        return Exit.ERROR
    except KeyboardInterrupt:
        console.problem("interrupted; what this run had started was removed")
        return Exit.INTERRUPTED
    except psycopg.Error as exc:
        console.problem(f"PostgreSQL said: {shown(str(exc).strip()) or type(exc).__name__}")  # quotes data
        return Exit.ERROR
    except Exception as exc:  # a bug of ours: a clear headline, then the traceback to report
        console.problem(
            f"internal error ({type(exc).__name__}: {shown(str(exc))}); this is a bug in liftbackup, please "
            "report it with the traceback below"
        )
        traceback.print_exc()
        return Exit.ERROR


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
