"""Database text made safe to show: in a terminal (no control sequences) and in Markdown (no way out of
its code span or block).

A restored dump is untrusted, and its values reach check reports, restore errors and the Markdown
summary that GitHub renders on the run's page. A value holding a backtick fence could close the code
block and add headings, images or links (an image URL is fetched by the reader's browser: a way out for
data); an ANSI escape could rewrite a terminal line. Hand-written because it is a few lines and no
library does exactly this pair of jobs.
"""

from __future__ import annotations

import re

# C0 and C1 controls but tab and newline, and the bidirectional/zero-width marks that can hide text.
_HIDDEN = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
_TICKS = re.compile("`+")


def printable(text: str) -> str:
    """The text with every control character written out as an escape (`\\x1b`), tab and newline kept."""
    return _HIDDEN.sub(_escape, text)


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 256 else f"\\u{code:04x}"


def _longest_ticks(text: str) -> int:
    return max((len(run) for run in _TICKS.findall(text)), default=0)


def code_block(text: str) -> list[str]:
    """A fenced block nothing inside can close: the fence is longer than any backtick run in the text."""
    fence = "`" * max(3, _longest_ticks(text) + 1)
    return [fence + "text", printable(text), fence]


def inline_code(text: str) -> str:
    """A code span for a table cell or heading: one line, pipes escaped, delimiters longer than any run."""
    body = printable(text).replace("\n", " ").replace("|", "\\|")
    ticks = "`" * (_longest_ticks(body) + 1)
    pad = " " if body.startswith("`") or body.endswith("`") else ""
    return f"{ticks}{pad}{body}{pad}{ticks}"
