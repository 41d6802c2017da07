"""lift_simulator dumps of a chosen size, built from the project's own fixture migrations and seed data.

    python benchmarks/lift_dumps.py medium      # prints the plain and custom-format dump paths

Each size is built once (migrations V1..V13 on a throwaway server, seeded, then `pg_dump -F p` and
`pg_dump -F c`) and cached under `benchmarks/.dumps/`, keyed by the size, the migrations, the seed
data and the PostgreSQL version, so a rerun starts at once and a changed migration rebuilds.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402

from pytest_liftbackup.server import binaries as _binaries  # noqa: E402
from pytest_liftbackup.server.throwaway import ThrowawayServer  # noqa: E402
from tests.lift_simulator import build  # noqa: E402

CACHE = Path(os.environ.get("LIFTBACKUP_BENCH_DUMPS", ROOT / "benchmarks" / ".dumps"))

# systems x 21 rows each (a system, 4 versions, 8 scenarios, 8 runs).
SIZES = {
    "small": {"systems": 90, "padding": 0},  # about 1 MB
    "medium": {"systems": 3800, "padding": 0},  # about 50 MB
    "large": {"systems": 24000, "padding": 0},  # about 300 MB, 500k rows: like the reference dump
}
# What makes a real lift_simulator restore slow is its jsonb: per-floor settings in each version's config
# and passenger flows in each scenario, under GIN indexes. The seed's configs are small, so the benchmark
# dumps get realistic ones (the keys the checks read stay as they are).
REALISTIC_JSON = """
SET search_path TO lift_simulator;
UPDATE lift_system_version v SET config = v.config || jsonb_build_object('floors',
    (SELECT jsonb_agg(jsonb_build_object('floor', f, 'label', 'L' || f,
                                         'capacityKg', 400 + (v.id * 7 + f * 13) % 900,
                                         'doorMs', 1500 + (v.id + f) % 700, 'express', (v.id + f) % 5 = 0))
     FROM generate_series(0, (v.config->>'maxFloor')::int) AS f));
UPDATE scenario s SET scenario_json = s.scenario_json || jsonb_build_object('flows',
    (SELECT jsonb_agg(jsonb_build_object('tick', t * 37 + s.id % 31, 'from', (s.id + t) % 12,
                                         'to', (s.id * 3 + t) % 17, 'group', 1 + (s.id + t) % 6))
     FROM generate_series(1, 8) AS t));
"""
NAME = "lift_simulator_backup_20260120_080000"


@dataclass(frozen=True)
class LiftDumps:
    size: str
    plain: Path
    custom: Path


def _key(size: str, binaries: _binaries.PgBinaries) -> str:
    digest = hashlib.sha256(repr((SIZES[size], REALISTIC_JSON, binaries.version)).encode())
    for path in [*sorted(build.MIGRATIONS.glob("*.sql")), build.HERE / "seed.sql", build.HERE / "build.py"]:
        digest.update(path.name.encode() + path.read_bytes())
    return f"{size}-{digest.hexdigest()[:12]}"


def lift_dumps(size: str, binaries: _binaries.PgBinaries | None = None) -> LiftDumps:
    """The cached dumps of this size, built first when missing."""
    binaries = binaries or _binaries.choose(
        _binaries.candidates([]), None, ("postgres", "pg_dump", "psql", "pg_restore"), "benchmarks"
    )
    folder = CACHE / _key(size, binaries)
    dumps = LiftDumps(size, folder / f"{NAME}.sql", folder / f"{NAME}.dump")
    if dumps.plain.exists() and dumps.custom.exists():
        return dumps
    building = folder.with_name(folder.name + f".building-{os.getpid()}")
    shutil.rmtree(building, ignore_errors=True)
    building.mkdir(parents=True)
    server = ThrowawayServer(binaries)
    try:
        source = build.create_source(server.admin_conninfo(), binaries.tool("pg_dump"), **SIZES[size])
        lift = psycopg.conninfo.make_conninfo(**{**server.admin_conninfo(), "dbname": build.DATABASE})
        with psycopg.connect(lift, autocommit=True) as conn:
            conn.execute(REALISTIC_JSON.encode())
        source.dump(building / dumps.plain.name, "-F", "p")
        source.dump(building / dumps.custom.name, "-F", "c")
    finally:
        server.close()
    try:
        building.rename(folder)  # whole or not at all, also with two builds at once
    except OSError:
        shutil.rmtree(building, ignore_errors=True)
    return dumps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("size", choices=sorted(SIZES))
    args = parser.parse_args()
    dumps = lift_dumps(args.size)
    for path in (dumps.plain, dumps.custom):
        print(f"{path}  ({path.stat().st_size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
