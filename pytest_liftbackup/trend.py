"""Restore time and database size over the runs saved by `--liftbackup-benchmark --benchmark-save/autosave`.

    python -m pytest_liftbackup.trend [--storage .benchmarks] [--output restore-trend.svg]

Reads pytest-benchmark's saved JSON files and draws, per dump series, the median restore time and
the restored database's size for each saved run, as an SVG a browser opens (pygal, the library
behind pytest-benchmark's own --benchmark-histogram, which compares runs but cannot show sizes).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from ._restore_benchmark import ITEM_NAME, PARENT


@dataclass(frozen=True)
class Point:
    series: str
    when: datetime
    median_s: float
    database_mb: float | None


def saved_points(storage: Path) -> list[Point]:
    """Every saved `SERIES::restore_time` measurement under `storage`, oldest first."""
    points: list[Point] = []
    for path in sorted(storage.rglob("*.json")):
        try:
            run = json.loads(path.read_text())
            when = datetime.fromisoformat(str(run["datetime"]).replace("Z", "+00:00"))
            benchmarks = run["benchmarks"]
        except (OSError, ValueError, KeyError, TypeError):
            continue  # not a pytest-benchmark file
        for bench in benchmarks:
            fullname = str(bench.get("fullname", ""))
            prefix = f"{PARENT}::{ITEM_NAME}["
            if not (fullname.startswith(prefix) and fullname.endswith("]")):
                continue
            size = bench.get("extra_info", {}).get("database_mb")
            points.append(
                Point(fullname[len(prefix) : -1], when, float(bench["stats"]["median"]), size and float(size))
            )
    return sorted(points, key=lambda p: p.when)


def render(points: list[Point], output: Path) -> None:
    import pygal

    chart = pygal.DateTimeLine(
        title="Restore time and database size per saved run",
        x_title="saved run",
        y_title="median restore time (s)",
        x_label_rotation=30,
        x_value_formatter=lambda when: when.strftime("%Y-%m-%d %H:%M"),
        legend_at_bottom=True,
    )
    for series in dict.fromkeys(p.series for p in points):
        mine = [p for p in points if p.series == series]
        chart.add(f"{series}: restore time (s)", [(p.when, p.median_s) for p in mine])
        sizes = [(p.when, p.database_mb) for p in mine if p.database_mb is not None]
        if sizes:
            chart.add(f"{series}: database size (MB)", sizes, secondary=True)
    chart.render_to_file(str(output))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pytest_liftbackup.trend", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--storage", type=Path, default=Path(".benchmarks"), help="pytest-benchmark storage folder"
    )
    parser.add_argument("--output", type=Path, default=Path("restore-trend.svg"), help="SVG file to write")
    args = parser.parse_args(argv)
    if importlib.util.find_spec("pygal") is None:
        print(
            "the trend picture is drawn with pygal, which is not installed: "
            "pip install 'pytest-liftbackup[benchmark]'",
            file=sys.stderr,
        )
        return 2
    points = saved_points(args.storage)
    if not points:
        print(
            f"{args.storage}: no saved restore_time runs; save some with "
            "pytest --liftbackup=DUMP --liftbackup-benchmark --benchmark-autosave",
            file=sys.stderr,
        )
        return 1
    render(points, args.output)
    runs = len({p.when for p in points})
    print(f"{args.output}: {len(points)} measurements from {runs} saved runs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
