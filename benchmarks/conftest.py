"""Restore benchmarks' fixtures: cached lift_simulator dumps, a stock and a tuned server, fresh databases.

    pytest benchmarks/                       # small and medium dumps
    pytest benchmarks/ --size=large          # the ~300 MB dump (opt-in)

Every round restores into a fresh empty database; the databases are dropped by the fixtures'
finalizers, so nothing is left behind also with --benchmark-disable (which skips pedantic teardowns).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._results import LABELS, RESULTS
from benchmarks.lift_dumps import SIZES, LiftDumps, lift_dumps
from pytest_liftbackup.server import binaries as _binaries
from pytest_liftbackup.server.databases import Database
from pytest_liftbackup.server.throwaway import ThrowawayServer, stock_settings


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


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[pytest.TestReport]:
    """A failed benchmark shows what its servers logged: a server that stops answering says why there."""
    report: pytest.TestReport = yield
    if report.failed:
        for name in ("tuned_server", "stock_server"):
            server = getattr(item, "funcargs", {}).get(name)
            if isinstance(server, ThrowawayServer):
                report.sections.append((f"{name} log (last 4000 characters)", server.log_tail(4000)))
    return report


def pytest_terminal_summary(terminalreporter: Any) -> None:
    write = terminalreporter.write_line
    if not RESULTS.medians:  # only benchmarks that restore nothing (test_degenerate_reading) ran
        for line in RESULTS.extra:
            write(line)
        return
    terminalreporter.section("restore benchmarks: medians and ratios measured in this run")
    write(f"{os.cpu_count()} CPUs, N = {os.cpu_count()}")
    for letter, label in LABELS.items():
        write(f"  ({letter}) {label}")
    columns = "".join(f"{'(' + k + ')':>9}" for k in "abcd")
    write(f"{'size':<7} {'dump':>9} {columns}    c/a   c/b   d/a")
    for size in dict.fromkeys(s for s, _ in RESULTS.medians):
        medians = {k: RESULTS.medians.get((size, k)) for k in "abcd"}
        cells = "".join(f"{v:>7.2f} s" if v is not None else f"{'-':>9}" for v in medians.values())

        def ratio(top: float | None, bottom: float | None) -> str:
            return f"{top / bottom:>6.2f}" if top and bottom else f"{'-':>6}"

        ratios = ratio(medians["c"], medians["a"]) + ratio(medians["c"], medians["b"])
        ratios += ratio(medians["d"], medians["a"])
        dump = f"{RESULTS.facts.get(size, {}).get('dump_mb', 0):.1f} MB"
        write(f"{size:<7} {dump:>9} {cells} {ratios}")
    for line in RESULTS.extra:
        write(line)
