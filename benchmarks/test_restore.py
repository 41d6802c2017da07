"""Restore time of one lift_simulator dump, four ways side by side, on the same machine in the same run.

(a) ADR-0012's manual procedure: `psql -X -v ON_ERROR_STOP=1 -f` into a stock-configured server;
(b) `pg_restore -j N` of the custom-format dump into the plugin's tuned server;
(c) this project's restore of the plain dump (scan, then N connections), into the tuned server;
(d) the whole `pytest --liftbackup=DUMP` run with the shipped lift_simulator checks, server start included.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
import pytest

from benchmarks._results import RESULTS, record
from benchmarks.lift_dumps import LiftDumps
from pytest_liftbackup.dump.inspect import inspect_dump
from pytest_liftbackup.dump.locate import LocatedDump
from pytest_liftbackup.restore import plain as _plain_restore
from pytest_liftbackup.restore.engine import count_rows
from pytest_liftbackup.server import binaries as _binaries
from pytest_liftbackup.server.databases import Database, conninfo_from, pg_env
from pytest_liftbackup.server.throwaway import ThrowawayServer
from tests.lift_simulator import build

ROOT = Path(__file__).resolve().parent.parent
JOBS = os.cpu_count() or 1
ROUNDS_OPTION = "benchmark_min_rounds"


def rounds(config: pytest.Config) -> int:
    """pytest-benchmark's --benchmark-min-rounds (default 5) sets the rounds of every benchmark here."""
    return max(1, int(config.getoption(ROUNDS_OPTION)))


SHOWN_SETTINGS = (
    "fsync",
    "wal_level",
    "max_wal_size",
    "maintenance_work_mem",
    "max_parallel_maintenance_workers",
)


def describe(
    benchmark: Any, size: str, dumps: LiftDumps, server: ThrowawayServer, database: Database
) -> None:
    settings_in_force = {}
    with psycopg.connect(conninfo_from(server.admin_conninfo(database.name))) as conn:
        for name in SHOWN_SETTINGS:
            row = conn.execute(f"SHOW {name}").fetchone()
            settings_in_force[name] = row[0] if row else "?"
    rows = sum(count_rows(database.read_conninfo, server.admin_conninfo(), 3600).values())
    facts = {
        "dump_mb": round(dumps.plain.stat().st_size / 1e6, 1),
        "custom_mb": round(dumps.custom.stat().st_size / 1e6, 1),
        "rows": rows,
        "postgresql": server.server_version,
        "cpu_count": os.cpu_count(),
        "jobs": JOBS,
    }
    benchmark.extra_info.update({**facts, "settings": settings_in_force})
    RESULTS.facts.setdefault(size, {}).update(facts)


Setup = Callable[[], tuple[tuple[Any, ...], dict[str, Any]]]


def fresh_rounds(
    server: ThrowawayServer, fresh_database: Callable[[ThrowawayServer], Database]
) -> tuple[Setup, list[Database]]:
    """A pedantic setup giving each round the superuser's conninfo to a new empty database; the databases."""
    databases: list[Database] = []

    def setup() -> tuple[tuple[Any, ...], dict[str, Any]]:
        databases.append(fresh_database(server))
        return (server.admin_conninfo(databases[-1].name),), {}

    return setup, databases


def test_a_psql_into_stock_server(
    benchmark: Any,
    size: str,
    dumps: LiftDumps,
    stock_server: ThrowawayServer,
    binaries: _binaries.PgBinaries,
    fresh_database: Callable[[ThrowawayServer], Database],
    request: pytest.FixtureRequest,
) -> None:
    benchmark.group = f"restore {size}"
    setup, databases = fresh_rounds(stock_server, fresh_database)

    benchmark.pedantic(
        lambda conninfo: build.psql_file(binaries.tool("psql"), conninfo, dumps.plain),
        setup=setup,
        rounds=rounds(request.config),
    )
    describe(benchmark, size, dumps, stock_server, databases[-1])
    record(benchmark, size, "a")


def test_b_pg_restore_jobs_into_tuned_server(
    benchmark: Any,
    size: str,
    dumps: LiftDumps,
    tuned_server: ThrowawayServer,
    binaries: _binaries.PgBinaries,
    fresh_database: Callable[[ThrowawayServer], Database],
    request: pytest.FixtureRequest,
) -> None:
    benchmark.group = f"restore {size}"
    setup, databases = fresh_rounds(tuned_server, fresh_database)

    def pg_restore(conninfo: dict[str, str]) -> None:
        subprocess.run(
            [
                str(binaries.tool("pg_restore")),
                f"--jobs={JOBS}",
                "--exit-on-error",
                "-d",
                conninfo["dbname"],
                str(dumps.custom),
            ],
            env={**os.environ, **pg_env(conninfo)},
            check=True,
            capture_output=True,
        )

    benchmark.pedantic(pg_restore, setup=setup, rounds=rounds(request.config))
    describe(benchmark, size, dumps, tuned_server, databases[-1])
    record(benchmark, size, "b")


def test_c_liftbackup_plain_restore(
    benchmark: Any,
    size: str,
    dumps: LiftDumps,
    tuned_server: ThrowawayServer,
    fresh_database: Callable[[ThrowawayServer], Database],
    request: pytest.FixtureRequest,
) -> None:
    benchmark.group = f"restore {size}"
    info = inspect_dump(LocatedDump(dumps.plain, str(dumps.plain), "given"), size)
    databases: list[Database] = []

    def setup() -> tuple[tuple[Any, ...], dict[str, Any]]:
        databases.append(fresh_database(tuned_server))
        return (databases[-1],), {}

    def native(database: Database) -> None:
        scanned = _plain_restore.scan(info, tuned_server.workdir)
        _plain_restore.execute(info, scanned, database.restore_conninfo, restores_ownership=True, jobs=JOBS)

    benchmark.pedantic(native, setup=setup, rounds=rounds(request.config))
    describe(benchmark, size, dumps, tuned_server, databases[-1])
    record(benchmark, size, "c")


def run_pytest(args: list[str], cwd: Path, env: dict[str, str]) -> int:
    """One `pytest --liftbackup` run in a subprocess; returns its peak resident memory in kB (wait4)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "pytest", *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    output = process.stdout.read() if process.stdout else b""
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    assert process.returncode == 0, output.decode(errors="replace")[-3000:]
    return int(usage.ru_maxrss)


def whole_run_place(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """Where a whole run starts and its environment: as on a user's machine after its first run, the
    cluster cache filled (by the warm-up round) outside the project, and Python's bytecode cached (this
    machine sets PYTHONDONTWRITEBYTECODE, which would make every round compile the plugin again)."""
    project = tmp_path / "project"
    project.mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    return project, {**env, "LIFTBACKUP_CACHE_DIR": str(tmp_path / "cache")}


def whole_run_args(dump: Path) -> list[str]:
    return [
        f"--liftbackup={dump}",
        f"--liftbackup-checks={ROOT / 'checks'}",
        f"--liftbackup-migrations={ROOT / 'tests' / 'lift_simulator' / 'migrations'}",
        "-p",
        "no:cacheprovider",
        "-p",
        "no:hypothesispytest",  # a test dependency of this repository, not of a user's run (0.2 s)
        "-q",
    ]


def test_d_whole_pytest_run(
    benchmark: Any, size: str, dumps: LiftDumps, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """Server start (from the cached initialized cluster, as on any machine after its first run), restore,
    all 40 lift_simulator checks, teardown."""
    benchmark.group = f"restore {size}"
    project, env = whole_run_place(tmp_path)
    peaks: list[int] = []
    benchmark.pedantic(
        lambda: peaks.append(run_pytest(whole_run_args(dumps.plain), project, env)),
        rounds=rounds(request.config),
        warmup_rounds=1,  # fills the cluster cache, as the first run on a machine does
    )
    benchmark.extra_info["peak_rss_mb"] = round(max(peaks) / 1024, 1)
    benchmark.extra_info["dump_mb"] = round(dumps.plain.stat().st_size / 1e6, 1)
    RESULTS.extra.append(f"{size}: peak memory of the whole run {max(peaks) / 1024:.0f} MB")
    record(benchmark, size, "d")
