"""The errors users see: one clear sentence each, never a traceback as the headline."""

from __future__ import annotations


class LiftbackupError(Exception):
    """A problem the user can fix (bad path, not a dump, no suitable binaries...).

    The message is the whole report: it names the file and says what to do.
    """


class DumpInputError(LiftbackupError):
    """The dump given cannot be used at all (missing, empty, not a dump): found before any server starts."""


class RestoreError(LiftbackupError):
    """The restore failed: the dump's location, the statement and PostgreSQL's message."""

    def __init__(self, message: str, *, location: str = "", statement: str = "", detail: str = "") -> None:
        super().__init__(message)
        self.location = location
        self.statement = statement
        self.detail = detail

    def report(self) -> str:
        """The multi-line text shown for a failed restore item."""
        lines = [str(self)]
        if self.location:
            lines.append(f"  at: {self.location}")
        if self.statement:
            lines.append("  statement: " + _excerpt(self.statement))
        if self.detail:
            lines.extend("  " + line for line in self.detail.splitlines())
        return "\n".join(lines)


def _excerpt(text: str, limit: int = 400) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


class CheckError(LiftbackupError):
    """A check that could not run (its table is missing, its SQL is broken): an error, not a failure."""


class CheckFailed(LiftbackupError):
    """A check found more failures than it allows: the message is the whole report."""


class CheckWarning(UserWarning):
    """A check with `severity: warn` (or above `warn_above`) found failures: reported, the run passes."""
