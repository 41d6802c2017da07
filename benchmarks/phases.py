"""Where a plain restore's time goes: each task on a timeline, and how busy the CPUs were.

    python benchmarks/phases.py medium            # or small / large; --jobs N (default: the CPU count)

Restores the benchmark dump of that size (benchmarks/lift_dumps.py) once into the tuned throwaway
server and prints the scan, every task longer than 10 ms with its start, end and connection, the
time per kind of task (copy, index, constraint, ...) and the share of both CPUs in use during the
restore (Linux: from /proc/stat). The README's "where the time goes" comes from this.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.lift_dumps import SIZES, lift_dumps  # noqa: E402
from pytest_liftbackup.dump.inspect import inspect_dump  # noqa: E402
from pytest_liftbackup.dump.locate import LocatedDump  # noqa: E402
from pytest_liftbackup.restore import plain  # noqa: E402
from pytest_liftbackup.restore import pool as _pool  # noqa: E402
from pytest_liftbackup.restore.tasks import Task  # noqa: E402
from pytest_liftbackup.server import binaries as _binaries  # noqa: E402
from pytest_liftbackup.server.throwaway import ThrowawayServer  # noqa: E402


def busy_cpu_seconds() -> float:
    """CPU time spent busy by the whole machine so far (all CPUs), or 0 where /proc/stat is missing."""
    try:
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except OSError:
        return 0.0
    return (sum(fields) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")  # all but idle and iowait


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("size", choices=sorted(SIZES))
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    dumps = lift_dumps(args.size)
    timeline: list[tuple[float, float, str, Task]] = []
    started = [0.0]
    run_task = _pool._Worker.run

    def timed(worker: _pool._Worker, task: Task) -> None:  # the pool has no hook: wrap its worker's run
        begin = time.perf_counter()
        run_task(worker, task)
        end = time.perf_counter() - started[0]
        timeline.append((begin - started[0], end, threading.current_thread().name, task))

    _pool._Worker.run = timed  # type: ignore[method-assign]
    server = ThrowawayServer(_binaries.choose(_binaries.candidates([]), None, ("postgres",), "phases"))
    try:
        server.roles.ensure(["lift_admin"])
        database = server.create_database("phases", owner="lift_admin")
        info = inspect_dump(LocatedDump(dumps.plain, str(dumps.plain), "given"), args.size)
        begin = time.perf_counter()
        scanned = plain.scan(info, server.workdir)
        scan = time.perf_counter() - begin
        cpu, started[0] = busy_cpu_seconds(), time.perf_counter()
        plain.execute(info, scanned, database.restore_conninfo, restores_ownership=True, jobs=args.jobs)
        wall, cpu = time.perf_counter() - started[0], busy_cpu_seconds() - cpu
    finally:
        server.close()
    print(f"{dumps.plain.name} ({dumps.plain.stat().st_size / 1e6:.1f} MB), jobs {args.jobs}")
    print(f"first pass (scan, sha256): {scan:.2f} s; restore: {wall:.2f} s")
    per_kind: dict[str, float] = defaultdict(float)
    for begin, end, thread, task in sorted(timeline, key=lambda t: t[0]):
        per_kind[task.kind] += end - begin
        if end - begin > 0.01:
            what = " ".join(task.statement.sql.decode("utf-8", "replace").split())[:90]
            print(f"  {begin:6.2f} {end:6.2f}  {thread[-1]}  {what}")
    print("task time per kind: " + ", ".join(f"{kind} {seconds:.2f} s" for kind, seconds in per_kind.items()))
    if cpu:
        cpus = os.cpu_count() or 1
        share = cpu / (cpus * wall)
        print(f"CPU busy during the restore: {cpu:.1f} CPU-s of {cpus * wall:.1f} ({share:.0%})")


if __name__ == "__main__":
    main()
