"""What the command shows: exit codes, human text or JSON, progress bars, the confirmation prompt."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from pytest_liftbackup._errors import flags
from pytest_liftbackup._safe_text import json_text, shown, shown_lines


class Exit:
    """The command's exit codes (documented in docs/cli.md): distinct, so that scripts can tell them apart."""

    OK = 0
    FAILED = 1  # verification failed: a check, the manifest, the restore; `status`: unhealthy
    BAD_INPUT = 2  # wrong path, not a dump, bad option, unreadable manifest or key
    REFUSED = 3  # not done on purpose: sessions connected, no confirmation, a missing privilege
    ERROR = 4  # the work failed (pg_dump, the server); the target was left as it was
    INTERRUPTED = 130  # Ctrl-C or SIGTERM; cleaned up


class Refused(Exception):
    """The command would not do it: the message says why and what to do."""


spelling = flags("--")  # the engine's settings as this command's options, in messages


class Console:
    """Human text on stdout (problems on stderr), or one JSON document with `--json`. Every line passes
    `shown_lines` (file names, database names and errors quoting the dump are untrusted), so a cron job's
    log or a CI job's output gets one line per line we meant, none a workflow command."""

    def __init__(self, as_json: bool) -> None:
        self.as_json = as_json

    def say(self, line: str = "") -> None:
        if not self.as_json:
            print(shown_lines(line), flush=True)

    def problem(self, line: str) -> None:
        print(shown_lines(f"liftbackup: {line}"), file=sys.stderr, flush=True)

    def result(self, document: dict[str, Any]) -> None:
        if self.as_json:
            print(json_text(document))

    @contextmanager
    def progress(self, total: int | None, unit: str, what: str) -> Iterator[Callable[[int], Any]]:
        """A progress bar on a terminal (tqdm), nothing otherwise; yields `advance(n)`."""
        from tqdm import tqdm

        quiet = self.as_json or not sys.stderr.isatty()
        with tqdm(total=total, unit=unit, unit_scale=True, desc=what, disable=quiet, leave=False) as bar:
            yield bar.update

    @contextmanager
    def restores(self, what: str) -> Iterator[Callable[[Any], None]]:
        """A bar for restores (the engine's `Progress` reports, one restore after another)."""
        with self.progress(None, "B", what) as advance:
            seen = [0]

            def told(progress: Any) -> None:
                advance(max(0, progress.done - seen[0]))  # a new restore starts from 0 again
                seen[0] = progress.done

            yield told

    def confirm(self, database: str, action: str) -> None:
        """Ask for the database's name before a destructive step; `--yes` skips this."""
        if not sys.stdin.isatty():
            raise Refused(f"{action} needs a confirmation: run it on a terminal, or pass --yes in scripts")
        print(
            shown(f"{action}. Type the database name ({database}) to go on: "),
            end="",
            file=sys.stderr,
            flush=True,
        )
        if sys.stdin.readline().strip() != database:
            raise Refused("not confirmed; nothing was changed")
