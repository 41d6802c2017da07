"""Fixtures for users' own tests: the restored database (read-only) and what is known of the dump."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

from pytest_liftbackup._safe_text import shown
from pytest_liftbackup.plugin.items import SESSION_KEY

if TYPE_CHECKING:
    import psycopg

    from pytest_liftbackup.restore.engine import RestoreOutcome

TARGET = "liftbackup_target"


def parametrize(metafunc: pytest.Metafunc) -> None:
    """Tests that use the fixtures run once per dump, with the dump's id in the test id."""
    if TARGET not in metafunc.fixturenames:
        return
    state = metafunc.config.stash.get(SESSION_KEY, None)
    ids = [d.id for d in state.dumps] if state else []
    metafunc.parametrize(TARGET, ids or [None], ids=ids or ["no-dump"], indirect=True, scope="session")


@pytest.fixture(scope="session")
def liftbackup_target(request: pytest.FixtureRequest) -> RestoreOutcome:
    """The restore of this test's dump. When it failed, the tests that use it skip, pointing at
    `DUMP::restore`, which fails with the reason; an error instead when that item is not in the run."""
    dump_id = getattr(request, "param", None)
    state = request.config.stash.get(SESSION_KEY, None)
    if dump_id is None or state is None:
        pytest.skip("no dump to test: pass --liftbackup=DUMP")
    outcome = state.outcome(dump_id)
    if not outcome.ok:
        first = outcome.error_text().splitlines()[0]
        message = shown(f"restore of {outcome.info.name} failed (see {outcome.info.name}::restore): {first}")
        if state.failure_shown(dump_id):  # its restore item fails with it: the tests skip, saying why
            pytest.skip(message)
        pytest.fail(message, pytrace=False)
    return outcome


@pytest.fixture
def liftbackup_dump(liftbackup_target: RestoreOutcome) -> RestoreOutcome:
    """Header facts (`.info`), restore duration (`.seconds`) and rows per table (`.tables`)."""
    return liftbackup_target


@pytest.fixture
def liftbackup_db(liftbackup_target: RestoreOutcome) -> Iterator[psycopg.Connection[Any]]:
    """A read-only psycopg connection to the restored database; tests can look, never change."""
    import psycopg

    from pytest_liftbackup.server.databases import conninfo_from

    assert liftbackup_target.database is not None
    conn = psycopg.connect(conninfo_from(liftbackup_target.database.read_conninfo))
    conn.read_only = True
    try:
        yield conn
    finally:
        conn.close()
