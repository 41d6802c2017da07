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

from pytest_liftbackup import _binaries  # noqa: E402
from pytest_liftbackup._server import ThrowawayServer  # noqa: E402
from tests.lift_simulator import build  # noqa: E402

CACHE = Path(os.environ.get("LIFTBACKUP_BENCH_DUMPS", ROOT / "benchmarks" / ".dumps"))

# systems x 21 rows each (a system, 4 versions, 8 scenarios, 8 runs); padding widens the jsonb config.
SIZES = {
    "small": {"systems": 200, "padding": 300},  # about 1 MB
    "medium": {"systems": 8000, "padding": 700},  # about 50 MB
    "large": {"systems": 27600, "padding": 1900},  # about 300 MB, 580k rows: the reference dump
}
NAME = "lift_simulator_backup_20260120_080000"


@dataclass(frozen=True)
class LiftDumps:
    size: str
    plain: Path
    custom: Path


def _key(size: str, binaries: _binaries.PgBinaries) -> str:
    digest = hashlib.sha256(repr((SIZES[size], binaries.version)).encode())
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
