"""Reading time of degenerate plain dumps of 1, 10 and 100 MB: linear in the size, whatever the shape.

    pytest benchmarks/test_degenerate_reading.py --benchmark-min-rounds=3

Each round is what a restore does with the text before and while running it, with no server: the
scan (hash, meta-commands, roles, completeness) and the second pass that splits it into statements
again. The summary prints MB/s per shape and size: a flat row is linear time (issue 29: the issue's
shape took 72 s for 1.7 MB, 485 s for 4 MB, before reading was made linear).
"""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

import pytest

from benchmarks._results import RESULTS
from benchmarks.test_restore import rounds
from pytest_liftbackup import find_dumps
from pytest_liftbackup.dump.inspect import DumpInfo
from pytest_liftbackup.dump.sql_script import SqlScript
from pytest_liftbackup.restore import plain as _plain_restore

MB = 1_000_000
HEAD = b"--\n-- PostgreSQL database dump\n--\n\nSET row_security = off;\n\n"
TAIL = b"\n--\n-- PostgreSQL database dump complete\n--\n\n"


def _repeat(unit: bytes, size: int) -> bytes:
    return unit * (size // len(unit))


# shape -> the degenerate part of `size` bytes
SHAPES = {
    "newlines in one statement": lambda size: b"SELECT 1" + b"\n" * size + b";\n",  # the dump
    "a comment of many lines": lambda size: b"/*" + _repeat(b"comment line\n", size) + b"*/\nSELECT 1;\n",
    "a dollar-quoted body": lambda size: b"SELECT $q$" + _repeat(b"body; 'line'\n", size) + b"$q$;\n",
    "a string literal": lambda size: b"SELECT '" + _repeat(b'text; "line\n', size) + b"';\n",
    "tiny statements": lambda size: _repeat(b"SELECT 1;\n", size),
    "one line of header parts": lambda size: b"-- Name: " + _repeat(b"; Type: ; Schema: ", size) + b"\n",
}


def _dump(folder: Path, shape: str, mb: int) -> DumpInfo:
    """The dump of this shape and size: pg_dump's first and last lines around the degenerate part."""
    path = folder / f"degenerate_{mb}mb.sql"
    path.write_bytes(HEAD + SHAPES[shape](mb * MB) + TAIL)
    return find_dumps([path])[0]


def _read(info: DumpInfo) -> None:
    scanned = _plain_restore.scan(info)
    with open(scanned.text, "rb") as text:
        for _ in SqlScript(text, scanned.copies):
            pass


@pytest.mark.parametrize("mb", [1, 10, 100])
@pytest.mark.parametrize("shape", list(SHAPES))
def test_degenerate_reading(
    benchmark: Any, shape: str, mb: int, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    benchmark.group = f"reading: {shape}"
    info = _dump(tmp_path, shape, mb)
    try:
        benchmark.pedantic(_read, args=(info,), rounds=rounds(request.config))
    finally:
        info.path.unlink()
    stats = getattr(benchmark, "stats", None)
    if stats is not None and stats.stats.data:
        median = statistics.median(stats.stats.data)
        speed = info.size / 1e6 / median
        benchmark.extra_info["mb_per_s"] = round(speed, 2)
        RESULTS.extra.append(
            f"reading {shape:<27} {info.size / 1e6:>6.1f} MB  {median:>7.2f} s  {speed:>6.2f} MB/s"
        )
