"""Server start with and without the cached initialized cluster, and a rerun with --liftbackup-reuse."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from benchmarks._results import RESULTS
from benchmarks.lift_dumps import LiftDumps
from benchmarks.test_restore import rounds, run_pytest, whole_run_args, whole_run_place
from pytest_liftbackup.server import binaries as _binaries
from pytest_liftbackup.server.cluster_cache import ClusterCache
from pytest_liftbackup.server.throwaway import ThrowawayServer


@pytest.mark.parametrize("start", ["initdb", "cached cluster"])
def test_server_start(
    benchmark: Any, start: str, binaries: _binaries.PgBinaries, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    benchmark.group = "server start"
    cache = ClusterCache(tmp_path / "cache") if start == "cached cluster" else None
    started: list[ThrowawayServer] = []

    def stop_previous() -> None:
        while started:
            started.pop().close()

    try:
        benchmark.pedantic(
            lambda: started.append(ThrowawayServer(binaries, cache=cache)),
            setup=stop_previous,
            rounds=rounds(request.config),
            warmup_rounds=1,
        )
    finally:
        stop_previous()
    stats = getattr(benchmark, "stats", None)
    if stats is not None and stats.stats.data:
        RESULTS.extra.append(f"server start ({start}) median {stats.stats.median:.2f} s")


def test_rerun_with_reuse(
    benchmark: Any, size: str, request: pytest.FixtureRequest, tmp_path: Path, dumps: LiftDumps
) -> None:
    """Later runs on an unchanged dump: sha256 of the dump, start the kept cluster, run the checks."""
    benchmark.group = "rerun with --liftbackup-reuse"
    project, env = whole_run_place(tmp_path)
    args = [*whole_run_args(dumps.plain), "--liftbackup-reuse"]
    benchmark.pedantic(lambda: run_pytest(args, project, env), rounds=rounds(request.config), warmup_rounds=1)
    stats = getattr(benchmark, "stats", None)
    if stats is not None and stats.stats.data:
        RESULTS.extra.append(f"{size}: rerun with --liftbackup-reuse median {stats.stats.median:.2f} s")
