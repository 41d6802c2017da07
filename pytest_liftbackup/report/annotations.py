"""GitHub Actions annotations: a failed check shows on its line of the check file in the pull request.

When `GITHUB_ACTIONS` is `true`, the summary ends with one workflow command per failed, erroring or
warned check (`::error file=checks/x.yml,line=N,title=...::report`) and per failed restore. The
records are the JSON report's, so xdist workers' results are annotated too. Each line of a message is
`shown` first (no value of the dump's can end it or start a command: `_safe_text`), then escaped as
GitHub wants: `%`, CR and LF in messages, and `:` and `,` as well in properties. No other line the run
prints can start a workflow command, so none can stop these with `::stop-commands::`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pytest_liftbackup._safe_text import shown, shown_lines

_LEVELS = {"failed": "error", "error": "error", "warned": "warning"}
_MAX = 4000  # GitHub shows the first lines; the rest is in the log above


def wanted() -> bool:
    return os.environ.get("GITHUB_ACTIONS") == "true"


def _message(text: str) -> str:
    text = text if len(text) <= _MAX else text[: _MAX - 3] + "..."
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _property(text: str) -> str:
    return _message(shown(text)).replace(":", "%3A").replace(",", "%2C")


def _command(level: str, message: str, title: str, file: str = "", line: int | None = None) -> str:
    where = [f"file={_property(file)}"] if file else []
    if file and line:
        where.append(f"line={line}")
    props = ",".join([*where, f"title={_property(title)}"])
    return f"::{level} {props}::{_message(shown_lines(message))}"


def workflow_commands(dumps: list[dict[str, Any]], started_in: Path) -> list[str]:
    """The workflow commands for a run's JSON report `dumps`; check files (named relative to where
    pytest started) are given relative to the workspace, as GitHub wants."""
    base = Path(os.environ.get("GITHUB_WORKSPACE") or started_in)
    lines = []
    for dump in dumps:
        restore = dump["restore"]
        if restore.get("restore") == "failed":
            lines.append(
                _command(
                    "error", restore.get("error") or "", f"restore of {dump['name']} failed (liftbackup)"
                )
            )
        for check in dump["checks"]:
            level = _LEVELS.get(check["outcome"])
            if level is None:
                continue
            path = started_in / check["file"]
            try:
                shown = path.resolve().relative_to(base.resolve()).as_posix()
            except ValueError:
                shown = path.as_posix()
            text = check.get("report") or check.get("error") or check.get("headline") or ""
            title = f"{check['check']} ({check['outcome']}, liftbackup check on {dump['name']})"
            lines.append(_command(level, text, title, shown, int(check["line"])))
    return lines
