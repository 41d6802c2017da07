"""How far a long restore is, in pytest's terminal: quiet for quick ones, readable in CI logs.

Nothing is shown for a restore that ends within a few seconds, nor with `-q`. In a terminal one line
is rewritten in place; in a log (not a terminal, or `CI` set) a new line is written each time the
restore passes another tenth of the dump, so a night's log reads as ten lines, not thousands.
"""

from __future__ import annotations

import contextlib
import os
from typing import Any

import pytest

from pytest_liftbackup._safe_text import shown
from pytest_liftbackup.restore.engine import Progress
from pytest_liftbackup.restore.limits import human_size

SHOW_AFTER = 2.0  # seconds: quicker restores print nothing


class TerminalProgress:
    def __init__(self, config: pytest.Config) -> None:
        self._reporter: Any = config.pluginmanager.get_plugin("terminalreporter")
        self._capture: Any = config.pluginmanager.get_plugin("capturemanager")
        self._quiet = config.get_verbosity() < 0 or self._reporter is None
        self._live = bool(self._reporter and self._reporter.isatty and not os.environ.get("CI"))
        self._shown_tenth = -1
        self._rewriting = False

    def __call__(self, progress: Progress) -> None:
        if self._quiet or progress.seconds < SHOW_AFTER:
            return
        percent = 100 * progress.done // progress.total if progress.total else 0
        if progress.unit == "bytes":
            how_far = f"{human_size(progress.done)} of {human_size(progress.total)}), {progress.rows:,} rows"
        else:
            how_far = f"{progress.done:,} of {progress.total:,} {progress.unit})"
        line = shown(
            f"liftbackup: restoring {progress.dump}: {percent}% ({how_far}, {progress.seconds:.0f} s"
        )
        with self._uncaptured():
            if self._live:
                if not self._rewriting:
                    self._reporter.ensure_newline()
                self._reporter.rewrite(line, erase=True)
                self._rewriting = True
            elif percent // 10 > self._shown_tenth:
                self._reporter.ensure_newline()
                self._reporter.write_line(line)
                self._shown_tenth = percent // 10

    def done(self) -> None:
        """The restore is over: the live line makes room for pytest's own output."""
        if self._rewriting:
            with self._uncaptured():
                self._reporter.rewrite("", erase=True)
                self._reporter.rewrite("")
        self._shown_tenth, self._rewriting = -1, False

    def _uncaptured(self) -> Any:
        """The restore runs inside a test item, whose output pytest captures (as live logging does)."""
        if self._capture is None:
            return contextlib.nullcontext()
        return self._capture.global_and_fixture_disabled()
