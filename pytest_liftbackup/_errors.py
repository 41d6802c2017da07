"""The errors users see: one clear sentence each, never a traceback as the headline."""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass


class Setting(enum.Enum):
    """An engine setting a message can point the user to; each front end spells it its own way
    (`--liftbackup-trusted` for pytest, `--trusted` for the command, `trusted=True` for the API)."""

    DSN = "dsn"
    TRUSTED = "trusted"
    PG_BIN = "pg_bin"
    MAX_SIZE = "max_size"
    TIMEOUT = "timeout"
    MIGRATIONS = "migrations"
    IDENTITY = "identity"
    TERMINATE_CONNECTIONS = "terminate_connections"  # the command's restore into the main database
    TABLE = "table"  # the same, of chosen tables only (repeatable: `tables=[...]` in the API)


@dataclass(frozen=True)
class Given:
    """A setting with the value to give it: `Given(Setting.PG_BIN, "DIR")` reads `--liftbackup-pg-bin=DIR`."""

    setting: Setting
    value: str


Part = str | Setting | Given
Spelling = Callable[[Setting, "str | None"], str]


def api_spelling(setting: Setting, value: str | None) -> str:
    """How the Python API names a setting: its RestorerConfig (or MainRestore) field."""
    if setting is Setting.TABLE:
        return "tables=[...]" if value is None else f"tables=[{value!r}]"
    if value is None:
        return (
            f"{setting.value}=True"
            if setting in (Setting.TRUSTED, Setting.TERMINATE_CONNECTIONS)
            else setting.value
        )
    return f"{setting.value}={value}"


def flags(prefix: str) -> Spelling:
    """Settings spelled as command-line flags: `flags("--liftbackup-")` gives `--liftbackup-pg-bin=DIR`."""

    def spell(setting: Setting, value: str | None) -> str:
        flag = prefix + setting.value.replace("_", "-")
        return flag if value is None else f"{flag}={value}"

    return spell


# The front end that is talking to the user, for the whole process (both front ends never share one): a
# module setting rather than an argument threaded through every report path, so errors are worded when
# they are shown, in whichever thread shows them.
_spelling: list[Spelling] = [api_spelling]


def use_spelling(spelling: Spelling) -> None:
    """Word settings in messages the way this front end's users type them."""
    _spelling[0] = spelling


@contextmanager
def spelled(spelling: Spelling) -> Iterator[None]:
    """`use_spelling` inside the block only (tests, a front end calling another)."""
    before = _spelling[0]
    _spelling[0] = spelling
    try:
        yield
    finally:
        _spelling[0] = before


def word(*parts: Part) -> str:
    """A message's text, with its settings spelled for the front end in use."""
    spell = _spelling[0]
    return "".join(
        part
        if isinstance(part, str)
        else spell(part, None)
        if isinstance(part, Setting)
        else spell(part.setting, part.value)
        for part in parts
    )


class LiftbackupError(Exception):
    """A problem the user can fix (bad path, not a dump, no suitable binaries...).

    The message is the whole report: it names the file and says what to do. It is given as parts, text
    and the `Setting`s to change, so each front end words the hint in its own terms when it is shown.
    """

    def __init__(self, *parts: Part) -> None:
        super().__init__(*parts)
        self.parts = parts

    def __str__(self) -> str:
        return word(*self.parts)


class DumpInputError(LiftbackupError):
    """The dump given cannot be used at all (missing, empty, not a dump): found before any server starts."""


class RestoreError(LiftbackupError):
    """The restore failed: the dump's location, the statement and PostgreSQL's message."""

    def __init__(self, *message: Part, location: str = "", statement: str = "", detail: str = "") -> None:
        super().__init__(*message)
        self.location = location
        self.statement = statement
        self.detail = detail

    def report(self, line: Callable[[str], str]) -> str:
        """The multi-line text shown for a failed restore item: `line` (`_safe_text.shown`, which this
        bottom layer cannot import) keeps each value on its line, whatever the dump's text holds."""
        lines = [line(str(self))]
        if self.location:
            lines.append(f"  at: {line(self.location)}")
        if self.statement:
            lines.append("  statement: " + line(_excerpt(self.statement)))
        if self.detail:
            lines.extend("  " + line(part) for part in self.detail.splitlines())
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
