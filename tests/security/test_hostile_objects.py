"""Class 9 (issue 29, items 1 and 4): no query of ours runs the dump's code with rights the dump lacks.

A real pg_dump of a hostile database (tests/security/hostile.py) shadows every operator, function and
cast our SQL uses, in every schema PostgreSQL could look in (public, a schema named after our
superuser, a schema a trap puts first in the database's search_path during the restore), and hides
traps in a default, a check constraint, an index expression and a trigger. Restored plain, from a
custom archive (ownership set afterwards, with a lent CREATE right) and from a directory archive,
on PostgreSQL 18 and 15, then checked, counted and compared with its manifest's digests: no trap runs
as the superuser (no canary file, no canary row) or as the reader (no `liftbackup-canary` error).
Today's code ran `liftbackup_superuser.!~~(name, name)` as superuser, and `pytest --liftbackup` passed.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import pytest

from pytest_liftbackup.api import Restorer, RestorerConfig, find_dumps, load_checks, run_checks
from pytest_liftbackup.api.manifest import restored_differences
from pytest_liftbackup.server import binaries as _binaries
from pytest_liftbackup.server.databases import conninfo_from
from pytest_liftbackup.server.throwaway import ThrowawayServer
from tests.conftest import Scratch
from tests.helpers import REPO, assert_clean, output, run
from tests.security.hostile import CANARY_PREFIX, Hostile, build_hostile

PG15 = Path("/usr/lib/postgresql/15/bin")
CHECKS = """\
schema: app
checks:
  tables_exist:
    tables: [t, no_such_table]
  notes:
    table: t
    column: note
    accepted_values: [NOTHING]
"""


@pytest.fixture(scope="session")
def hostile18(source_server: ThrowawayServer, tmp_path_factory: pytest.TempPathFactory) -> Hostile:
    return build_hostile(source_server, tmp_path_factory.mktemp("hostile18"))


@pytest.fixture(scope="session")
def hostile15(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hostile]:
    if not (PG15 / "pg_dump").exists():
        pytest.skip(f"PostgreSQL 15 is not installed in {PG15}")
    binaries = _binaries.candidates([(str(PG15), "tests")])[0]
    server = ThrowawayServer(binaries)
    try:
        yield build_hostile(server, tmp_path_factory.mktemp("hostile15"))
    finally:
        server.close()


@dataclass
class Run:
    """What one restore of a hostile dump, its checks and its manifest comparison gave."""

    ok: bool
    error: str
    checks: list[dict[str, Any]]
    differences: list[str]
    canary_rows: list[tuple[Any, ...]]
    settings: list[tuple[Any, ...]]
    files: list[str] = field(default_factory=list)


KINDS = ("plain", "custom", "directory")


def restore_and_check(hostile: Hostile, checks: Path) -> dict[str, Run]:
    """Restore, check, count and digest each dump in-process on one server, as `liftbackup verify` does,
    then look: canary files and rows, settings left on the database."""
    found = find_dumps([getattr(hostile, kind) for kind in KINDS])
    config = RestorerConfig(pg_bin=((str(hostile.binaries.bindir), "tests"),), jobs=2)
    runs = {}
    with Restorer(found, config) as restorer:
        for kind, dump in zip(KINDS, found, strict=True):
            hostile.clear()
            outcome = restorer.restore(dump)
            if not outcome.ok:
                runs[kind] = Run(False, outcome.error_text(), [], [], [], [], hostile.canaries())
                continue
            done = run_checks(restorer, dump, load_checks([checks]))
            differences = restored_differences(hostile.manifest(), restorer.read_connection(dump))
            assert outcome.database is not None
            admin = {**restorer.admin_conninfo(), "options": "-c search_path="}
            with psycopg.connect(conninfo_from({**admin, "dbname": outcome.database.name})) as conn:
                rows = conn.execute("SELECT * FROM public.canary").fetchall()
                settings = conn.execute(
                    "SELECT s.setconfig FROM pg_catalog.pg_db_role_setting s JOIN pg_catalog.pg_database d "
                    "ON d.oid OPERATOR(pg_catalog.=) s.setdatabase WHERE d.datname OPERATOR(pg_catalog.=) %s",
                    (outcome.database.name,),
                ).fetchall()
            runs[kind] = Run(
                True, "", [d.record for d in done], differences, rows, settings, hostile.canaries()
            )
    return runs


@pytest.fixture(scope="session")
def hostile_checks(tmp_path_factory: pytest.TempPathFactory) -> Path:
    checks = tmp_path_factory.mktemp("hostile-checks")
    (checks / "c.yml").write_text(CHECKS)
    return checks


@pytest.fixture(scope="session")
def runs18(hostile18: Hostile, hostile_checks: Path) -> dict[str, Run]:
    return restore_and_check(hostile18, hostile_checks)


@pytest.fixture(scope="session")
def runs15(hostile15: Hostile, hostile_checks: Path) -> dict[str, Run]:
    return restore_and_check(hostile15, hostile_checks)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("version", [18, 15])
def test_no_trap_runs_with_our_rights(version: int, kind: str, request: pytest.FixtureRequest) -> None:
    done: Run = request.getfixturevalue(f"runs{version}")[kind]
    assert done.files == [], f"a trap ran as the superuser: {done.files}"
    assert done.ok, done.error
    assert done.canary_rows == []
    assert done.settings == []  # the trap's ALTER DATABASE ... SET search_path was reset
    assert done.differences == []  # digests and row counts match the source's
    said = repr(done.checks)
    assert CANARY_PREFIX not in said
    assert [c["outcome"] for c in done.checks] == ["error", "error"]
    assert "which PostgreSQL would pick instead of its own built-in" in said


def test_the_plugin_run_of_issue_29_runs_no_trap(
    hostile18: Hostile, pytester: pytest.Pytester, scratch: Scratch
) -> None:
    """`pytest --liftbackup=dump.sql` on the dump that shadows `!~~(name, name)` in the schema named
    after our superuser and needs a lent CREATE right: the trap ran as superuser, and the run passed."""
    hostile18.clear()
    result = run(pytester, f"--liftbackup={hostile18.plain}")
    text = output(result)
    assert hostile18.canaries() == [], text
    result.assert_outcomes(passed=1)
    assert CANARY_PREFIX not in text
    assert_clean(scratch)


def test_liftbackup_verify_runs_no_trap(hostile18: Hostile, tmp_path: Path) -> None:
    """`liftbackup verify` of the custom archive (ownership set after pg_restore, CREATE lent)."""
    hostile18.clear()
    done = subprocess.run(
        [sys.executable, "-m", "pytest_liftbackup", "verify", str(hostile18.custom)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert hostile18.canaries() == [], done.stdout + done.stderr
    assert done.returncode == 0, done.stdout + done.stderr
    assert CANARY_PREFIX not in done.stdout + done.stderr
