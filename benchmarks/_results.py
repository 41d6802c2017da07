"""Medians of this run's benchmarks, kept per (dump size, benchmark) to print them side by side with ratios.

Its own module: pytest imports conftest.py under another name than the benchmark modules would.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Any

LABELS = {
    "a": "psql -f into a stock server",
    "b": "pg_restore -j N of the custom dump into the tuned server",
    "c": "liftbackup's restore of the plain dump (N connections)",
    "d": "whole pytest --liftbackup run: server start, restore, 40 lift_simulator checks",
}


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
