"""Fixtures of the restore benchmarks: cached lift_simulator dumps, a stock and a tuned server, fresh databases.

    pytest benchmarks/                       # small and medium dumps
    pytest benchmarks/ --size=large          # the ~300 MB dump (opt-in)

Every round restores into a fresh empty database; the databases are dropped by the fixtures'
finalizers, so nothing is left behind also with --benchmark-disable (which skips pedantic teardowns).
"""

from __future__ import annotations

import os
import statistics
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.lift_dumps import SIZES, LiftDumps, lift_dumps  # noqa: E402
from pytest_liftbackup import _binaries  # noqa: E402
from pytest_liftbackup._janitor import Database  # noqa: E402
from pytest_liftbackup._server import ThrowawayServer, stock_settings  # noqa: E402

LABELS = {
    "a": "(a) psql -f, stock server",
    "b": "(b) pg_restore -j, tuned server",
    "c": "(c) liftbackup, plain dump",
    "d": "(d) whole pytest run",
}


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--size",
        action="append",
        choices=sorted(SIZES),
        help="dump sizes to benchmark (repeatable; default: small and medium; large is opt-in)",
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "size" in metafunc.fixturenames:
        sizes = metafunc.config.getoption("size") or ["small", "medium"]
        metafunc.parametrize("size", sizes, scope="session")


@dataclass
class Results:
    """Medians per (size, benchmark), printed side by side with their ratios at the end."""

    medians: dict[tuple[str, str], float] = field(default_factory=dict)
    facts: dict[str, dict[str, Any]] = field(default_factory=dict)
    extra: list[str] = field(default_factory=list)


RESULTS = Results()


def record(benchmark: Any, size: str, letter: str) -> None:
    stats = getattr(benchmark, "stats", None)
    if stats is not None and stats.stats.data:
        RESULTS.medians[(size, letter)] = statistics.median(stats.stats.data)


@pytest.fixture(scope="session")
def binaries() -> _binaries.PgBinaries:
    return _binaries.choose(
        _binaries.candidates([]), None, ("postgres", "pg_dump", "psql", "pg_restore"), "benchmarks"
    )


@pytest.fixture(scope="session")
def dumps(size: str, binaries: _binaries.PgBinaries) -> LiftDumps:
    return lift_dumps(size, binaries)


@pytest.fixture(scope="session")
def tuned_server(binaries: _binaries.PgBinaries) -> Iterator[ThrowawayServer]:
    """The plugin's own server: restore-friendly settings (fsync off, WAL minimal, ...)."""
    server = ThrowawayServer(binaries)
    server.roles.ensure(["lift_admin"])
    yield server
    server.close()


@pytest.fixture(scope="session")
def stock_server(binaries: _binaries.PgBinaries) -> Iterator[ThrowawayServer]:
    """A server as initdb leaves it: what ADR-0012's manual `psql -f` restore goes into."""
    server = ThrowawayServer(binaries, settings=stock_settings())
    server.roles.ensure(["lift_admin"])
    yield server
    server.close()


@pytest.fixture
def fresh_database() -> Iterator[Callable[[ThrowawayServer], Database]]:
    """Makes an empty database per round; every one is dropped at the end, whatever happened."""
    made: list[tuple[ThrowawayServer, Database]] = []

    def make(server: ThrowawayServer) -> Database:
        for old_server, old in made:  # the previous round's database: one at a time on disk
            old_server.drop_database(old)
        made.clear()
        database = server.create_database("bench", owner="lift_admin")
        made.append((server, database))
        return database

    yield make
    for server, database in made:
        server.drop_database(database)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not RESULTS.medians:
        return
    write = terminalreporter.write_line
    terminalreporter.section("restore benchmarks: medians and ratios measured in this run")
    write(f"{os.cpu_count()} CPUs; " + "; ".join(RESULTS.extra))
    header = f"{'size':<7} {'dump':>9} " + " ".join(f"{LABELS[k]:>32}" for k in "abcd")
    write(header + f" {'c/a':>6} {'c/b':>6} {'d/a':>6}")
    for size in dict.fromkeys(s for s, _ in RESULTS.medians):
        facts = RESULTS.facts.get(size, {})
        cells = []
        for letter in "abcd":
            value = RESULTS.medians.get((size, letter))
            cells.append(f"{value:>30.2f} s" if value is not None else f"{'-':>32}")

        def ratio(x: str, y: str, size: str = size) -> str:
            top, bottom = RESULTS.medians.get((size, x)), RESULTS.medians.get((size, y))
            return f"{top / bottom:>6.2f}" if top and bottom else f"{'-':>6}"

        dump = f"{facts.get('dump_mb', 0):.1f} MB"
        write(f"{size:<7} {dump:>9} " + " ".join(cells) + f" {ratio('c', 'a')} {ratio('c', 'b')} {ratio('d', 'a')}")
