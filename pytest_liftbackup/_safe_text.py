"""Database and file text made safe to show: in a terminal, a log or a CI job's output (no control
sequence, no line of its own, no workflow command) and in Markdown (no way out of its code span or block).

A restored dump is untrusted, and its values reach check reports, restore errors, the summary and the
Markdown that GitHub renders on the run's page; so do the names of files in a backup folder. A value
holding a backtick fence could close the code block and add headings, images or links (an image URL is
fetched by the reader's browser: a way out for data); an ANSI escape could rewrite a terminal line; a
newline could start a line of its own: in a cron job's log, or as a GitHub workflow command
(`::error file=x::`, `::add-mask::`, `::stop-commands::`, which would silence our own annotations).

`shown` is the one way such text reaches people: it writes out every control character (`\\x1b`,
newline and carriage return as `\\n`, `\\r`), so a value stays on the line we print it on, and under
GitHub Actions it also breaks the two spellings the runner obeys: `::` at the start of a line (after
spaces, which the runner skips) and `##[` anywhere in one. `shown_lines` applies it to each line of a
multi-line text of ours (a failure report), whose values were already `shown` where it was composed:
every line we write passes it last. Each line is escaped rather than the block wrapped in
`::stop-commands::<token>` ... `::<token>::`: the escaping holds in every place the text goes (the
terminal, pytest's report, a log, a file someone prints later), needs no pair of lines to stay together
in pytest's output, and a run killed between the two would have silenced everything after it.
Hand-written because it is a few lines and no library does exactly these jobs.
"""

from __future__ import annotations

import json
import os
import re

# C0 and C1 controls but tab and newline, the line and paragraph separators, and the bidirectional and
# zero-width marks that can hide text.
_HIDDEN = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff]")
_TICKS = re.compile("`+")
# What GitHub's runner reads as a workflow command: `::name ...::` at the start of a line once leading
# white space is trimmed, and the older `##[name ...]` anywhere in a line.
_COMMAND_START = re.compile(r"^(\s*):(?=:)")
_OLD_COMMAND = "##["


def printable(text: str) -> str:
    """The text with every control character written out as an escape (`\\x1b`, `\\r`), tab and newline
    kept: the part of `shown` that keeps lines, which `shown` writes out too."""
    return _HIDDEN.sub(_escape, text)


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code == 0x0D:
        return "\\r"
    return f"\\x{code:02x}" if code < 256 else f"\\u{code:04x}"


def _in_github_actions() -> bool:
    return os.environ.get("GITHUB_ACTIONS") == "true"


def shown(text: str) -> str:
    """The text as one line, every control character written out (newline as `\\n`, carriage return as
    `\\r`); under GitHub Actions a leading `::` is written `\\x3a:` and `##[` is written `##\\x5b`, so no
    line that starts with it, or holds it, is a workflow command."""
    line = printable(text).replace("\n", "\\n")
    if _in_github_actions():
        line = _COMMAND_START.sub(r"\1\\x3a", line).replace(_OLD_COMMAND, "##\\x5b")
    return line


def shown_lines(text: str) -> str:
    """A multi-line text of ours (its values already `shown`) with each line passed through `shown`."""
    return "\n".join(shown(line) for line in text.split("\n"))


def json_text(document: object) -> str:
    """The document as indented JSON for a terminal: JSON escapes controls and newlines in strings, and
    under GitHub Actions `##[` is written `##\\u005b` (the same data), so no line holds a workflow command."""
    text = json.dumps(document, indent=2, default=str)
    return text.replace(_OLD_COMMAND, "##\\u005b") if _in_github_actions() else text


def _longest_ticks(text: str) -> int:
    return max((len(run) for run in _TICKS.findall(text)), default=0)


def code_block(text: str) -> list[str]:
    """A fenced block nothing inside can close: the fence is longer than any backtick run in the text."""
    fence = "`" * max(3, _longest_ticks(text) + 1)
    return [fence + "text", shown_lines(text), fence]


def inline_code(text: str) -> str:
    """A code span for a table cell or heading: one line, pipes escaped, delimiters longer than any run."""
    body = shown(text).replace("|", "\\|")
    ticks = "`" * (_longest_ticks(body) + 1)
    pad = " " if body.startswith("`") or body.endswith("`") else ""
    return f"{ticks}{pad}{body}{pad}{ticks}"
