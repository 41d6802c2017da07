"""Regenerate the sample dump the README runs: lift_simulator migrations V1..V13 plus seed data,
dumped with `pg_dump -F p` as the team's weekly job does. Run from the repository root:

    python examples/make_sample.py
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pytest_liftbackup import _binaries  # noqa: E402
from pytest_liftbackup.server.throwaway import ThrowawayServer  # noqa: E402
from tests.lift_simulator import build  # noqa: E402

SAMPLE = ROOT / "examples" / "lift_simulator_backup_20260120_080000.sql"


def main() -> None:
    binaries = _binaries.choose(_binaries.candidates([]), None, ("postgres", "pg_dump"), "make_sample")
    server = ThrowawayServer(binaries)
    try:
        source = build.create_source(server.admin_conninfo(), binaries.tool("pg_dump"))
        source.dump(SAMPLE, "-F", "p", "--restrict-key=liftbackupsample")
    finally:
        server.close()
    print(f"wrote {SAMPLE}")


if __name__ == "__main__":
    main()
