"""Restore time of a ~100 MB plain lift_simulator dump: native engine vs `psql -f`, one server, one run.

    python benchmarks/plain_vs_psql.py [--systems 20000] [--padding 700] [--rounds 3]

Prints each round and the medians. Rounds alternate the two engines so drift on a shared machine
hits both alike. (Issue 4 turns this into pytest-benchmark benchmarks.)
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pytest_liftbackup.dump.inspect import inspect_dump  # noqa: E402
from pytest_liftbackup.dump.locate import LocatedDump  # noqa: E402
from pytest_liftbackup.restore import plain as _plain_restore  # noqa: E402
from pytest_liftbackup.server import binaries as _binaries  # noqa: E402
from pytest_liftbackup.server.throwaway import ThrowawayServer  # noqa: E402
from tests.lift_simulator import build  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--systems", type=int, default=20000)
    parser.add_argument("--padding", type=int, default=700)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    binaries = _binaries.choose(_binaries.candidates([]), None, ("postgres", "pg_dump", "psql"), "benchmark")
    out = Path(tempfile.mkdtemp(prefix="lb-bench-"))
    origin = ThrowawayServer(binaries)
    try:
        source = build.create_source(
            origin.admin_conninfo(), binaries.tool("pg_dump"), systems=args.systems, padding=args.padding
        )
        dump = source.dump(out / "lift_simulator_backup_20260120_080000.sql", "-F", "p")
    finally:
        origin.close()
    server = ThrowawayServer(binaries)  # restores go to a fresh server, as in a real run
    try:
        info = inspect_dump(LocatedDump(dump, str(dump), "given"), "bench")
        print(f"dump: {info.size / 1e6:.1f} MB, PostgreSQL {binaries.version}, {os.cpu_count()} CPUs")
        scanned = _plain_restore.scan(info)
        server.roles.ensure(scanned.roles.roles)
        native, psql = [], []
        for round_no in range(1, args.rounds + 1):
            db = server.create_database("native", owner=scanned.roles.main_owner)
            t = time.perf_counter()
            _plain_restore.scan(info)
            _plain_restore.execute(info, db.restore_conninfo, restores_ownership=True)
            native.append(time.perf_counter() - t)
            server.drop_database(db)
            db = server.create_database("psql", owner=scanned.roles.main_owner)
            t = time.perf_counter()
            build.psql_file(binaries.tool("psql"), db.restore_conninfo, dump)
            psql.append(time.perf_counter() - t)
            server.drop_database(db)
            print(f"round {round_no}: native {native[-1]:.2f} s, psql -f {psql[-1]:.2f} s")
        mn, mp = statistics.median(native), statistics.median(psql)
        print(
            f"median: native {mn:.2f} s ({info.size / 1e6 / mn:.1f} MB/s), psql -f {mp:.2f} s "
            f"({info.size / 1e6 / mp:.1f} MB/s); native/psql = {mn / mp:.2f}"
        )
    finally:
        server.close()
        for f in out.iterdir():
            f.unlink()
        out.rmdir()


if __name__ == "__main__":
    main()
