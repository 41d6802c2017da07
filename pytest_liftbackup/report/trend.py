"""Restore time and database size over the runs saved by `--liftbackup-benchmark --benchmark-save/autosave`.

    python -m pytest_liftbackup.trend [--storage .benchmarks] [--output restore-trend.svg]

Reads pytest-benchmark's saved JSON files and draws, per dump series, the median restore time and,
below it, the restored database's size for each saved run, as one self-contained SVG (no script)
that a browser opens (pygal, the library behind pytest-benchmark's own --benchmark-histogram, which
compares runs but cannot show sizes).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

ITEM_NAME = "restore_time"  # --liftbackup-benchmark's item, `liftbackup::restore_time[SERIES]`
PARENT = "liftbackup"


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


WIDTH, HEIGHT = 1000, 440  # of each of the two charts, stacked in one picture


def render(points: list[Point], output: Path) -> None:
    """Two charts, one above the other, sharing the saved runs as x axis: median restore time (s),
    then restored database size (MB); a line per dump series, its full name in the legend."""
    runs = sorted({p.when for p in points})
    label = next(  # the shortest that gives each run a label of its own
        form
        for form in ("%Y-%m-%d", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M:%S.%f")
        if len({when.strftime(form) for when in runs}) == len(runs) or form.endswith("%f")
    )
    series = list(dict.fromkeys(p.series for p in points))
    time_chart = _chart("Median restore time per saved run", "restore time (s)", "{:,.1f} s", label, runs)
    size_chart = _chart(
        "Restored database size per saved run", "database size (MB)", "{:,.0f} MB", label, runs
    )
    for name in series:
        mine = [p for p in points if p.series == name]
        time_chart.add(name, [(p.when, p.median_s) for p in mine])
        size_chart.add(name, [(p.when, p.database_mb) for p in mine if p.database_mb is not None])
    parts = [
        _inner(time_chart.render(is_unicode=True), 0),
        _inner(size_chart.render(is_unicode=True), HEIGHT),
    ]
    output.write_text(
        '<?xml version="1.0" encoding="utf-8"?>\n'
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{2 * HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {2 * HEIGHT}">\n' + "\n".join(parts) + "\n</svg>\n",
        encoding="utf-8",
    )


def _chart(title: str, y_title: str, value: str, label: str, runs: list[datetime]) -> Any:
    import pygal
    from pygal.style import CleanStyle

    style = CleanStyle(
        background="white",
        plot_background="white",
        font_family="DejaVu Sans, Arial, sans-serif",
        title_font_size=20,
        label_font_size=14,
        major_label_font_size=14,
        legend_font_size=15,
        value_font_size=13,
        tooltip_font_size=14,
    )
    return pygal.DateTimeLine(
        title=title,
        y_title=y_title,
        width=WIDTH,
        height=HEIGHT,
        explicit_size=True,
        style=style,
        js=[],  # no script from the web: the picture is a plain SVG that works offline
        x_labels=runs,
        x_labels_major_count=None if len(runs) <= 16 else 10,  # every run labelled, unless too many
        show_minor_x_labels=len(runs) <= 16,
        x_label_rotation=20,
        x_value_formatter=lambda when: when.strftime(label),
        value_formatter=value.format,
        legend_at_bottom=True,
        legend_at_bottom_columns=2,
        truncate_legend=-1,  # whole series names: they tell the dumps apart
        dots_size=4,
        margin_right=40,  # room for the last run's slanted label
        min_scale=4,
        max_scale=8,
        include_x_axis=True,
    )


def _inner(svg: str, top: int) -> str:
    """One chart's SVG document as an element of the picture, `top` pixels down."""
    body = svg[svg.index("<svg") :]
    return body.replace("<svg", f'<svg x="0" y="{top}"', 1)


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
