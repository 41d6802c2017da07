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
import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import pytest
import sqlglot
from psycopg.sql import Composable
from sqlglot import exp

from pytest_liftbackup.api import Restorer, RestorerConfig, find_dumps, load_checks, run_checks
from pytest_liftbackup.api.manifest import restored_differences
from pytest_liftbackup.server import binaries as _binaries
from pytest_liftbackup.server.databases import EMPTY_SEARCH_PATH, READER, SUPERUSER, conninfo_from
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


@dataclass
class Ran:
    """All statements of ours run elevated by the restores: (module, statement text)."""

    statements: set[tuple[str, str]] = field(default_factory=set)
    # (module, user) of statements on a connection opened without the empty search_path: the superuser's
    # must never be, nor the reader's row counts (the check connections set it in each transaction)
    path_unset: set[tuple[str, str]] = field(default_factory=set)


KINDS = ("plain", "custom", "directory")


def restore_and_check(hostile: Hostile, checks: Path, ran: Ran) -> dict[str, Run]:
    """Restore, check, count and digest each dump in-process on one server, as `liftbackup verify` does,
    then look: canary files and rows, settings left on the database. Our elevated SQL goes into `ran`."""
    found = find_dumps([getattr(hostile, kind) for kind in KINDS])
    config = RestorerConfig(pg_bin=((str(hostile.binaries.bindir), "tests"),), jobs=2)
    runs = {}
    with recording(ran), Restorer(found, config) as restorer:
        for kind, dump in zip(KINDS, found, strict=True):
            hostile.clear()
            outcome = restorer.restore(dump)
            if not outcome.ok:
                runs[kind] = Run(False, outcome.error_text(), [], [], [], [], hostile.canaries())
                continue
            done = run_checks(restorer, dump, load_checks([checks]))
            differences = restored_differences(hostile.manifest(), restorer.read_connection(dump), 600)
            assert outcome.database is not None
            admin = {**restorer.admin_conninfo(), "options": "-c search_path="}
            with psycopg.connect(conninfo_from({**admin, "dbname": outcome.database.name})) as conn:
                rows = conn.execute("SELECT * FROM public.canary").fetchall()
                # what the dump set on its database or roles in it: none (our temp_file_limit aside)
                settings = conn.execute(
                    "SELECT c.setting FROM pg_catalog.pg_db_role_setting s JOIN pg_catalog.pg_database d "
                    "ON d.oid OPERATOR(pg_catalog.=) s.setdatabase, pg_catalog.unnest(s.setconfig) c(setting) "
                    "WHERE d.datname OPERATOR(pg_catalog.=) %s "
                    "AND NOT pg_catalog.starts_with(c.setting, 'temp_file_limit=')",
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
def elevated_sql() -> Ran:
    return Ran()


@pytest.fixture(scope="session")
def runs18(hostile18: Hostile, hostile_checks: Path, elevated_sql: Ran) -> dict[str, Run]:
    return restore_and_check(hostile18, hostile_checks, elevated_sql)


@pytest.fixture(scope="session")
def runs15(hostile15: Hostile, hostile_checks: Path, elevated_sql: Ran) -> dict[str, Run]:
    return restore_and_check(hostile15, hostile_checks, elevated_sql)


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


# -- every statement of ours that ran elevated names its operators, functions and types in pg_catalog --

PACKAGE = Path(__file__).resolve().parents[2] / "pytest_liftbackup"
# The check kinds' SQL runs as the reader behind the shadow guard, with the user's own names in it.
GUARDED = {"checks/schema.py", "checks/data.py", "checks/flyway.py"}


def _ours(frame: Any) -> str | None:
    """The package module nearest the top of the stack, relative to the package."""
    while frame is not None:
        path = Path(frame.f_code.co_filename)
        if path.is_relative_to(PACKAGE):
            return str(path.relative_to(PACKAGE))
        frame = frame.f_back
    return None


@contextmanager
def recording(ran: Ran) -> Iterator[None]:
    """Note every statement of ours (text, not the dump's bytes) run as the superuser or the reader,
    and the restorer's lookups whose answers the superuser acts on (restore/elevation)."""
    original_execute, original_copy = psycopg.Cursor.execute, psycopg.Cursor.copy

    def note(cursor: psycopg.Cursor[Any], query: Any, params: Any) -> None:
        if isinstance(query, bytes):
            return  # the dump's own statements
        module = _ours(sys._getframe(2))
        if module is None or module in GUARDED:
            return
        if cursor.connection.info.user not in (SUPERUSER, READER) and module != "restore/elevation.py":
            return
        if EMPTY_SEARCH_PATH not in cursor.connection.info.get_parameters().get("options", ""):
            ran.path_unset.add((module, cursor.connection.info.user))
        text = query.as_string(cursor.connection) if isinstance(query, Composable) else str(query)
        ran.statements.add((module, text.replace("%%", "%") if params is not None else text))

    def execute(self: psycopg.Cursor[Any], query: Any, params: Any = None, **kwargs: Any) -> Any:
        note(self, query, params)
        return original_execute(self, query, params, **kwargs)

    def copy(self: psycopg.Cursor[Any], statement: Any, params: Any = None, **kwargs: Any) -> Any:
        note(self, statement, params)
        return original_copy(self, statement, params, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(psycopg.Cursor, "execute", execute)
        patch.setattr(psycopg.Cursor, "copy", copy)
        yield


# Expressions that are syntax, not a lookup by name (COALESCE, CASE, ARRAY[...], ROW(...), casts).
_SYNTAX = (exp.Coalesce, exp.Case, exp.If, exp.Cast, exp.Array, exp.Exists, exp.CurrentUser, exp.Any, exp.All)
# Operators that are keywords, not looked up: AND, OR, NOT, IS [NOT] NULL, a.b, (...)
_KEYWORDS = (exp.And, exp.Or, exp.Not, exp.Is, exp.Dot, exp.Paren)
_DDL = re.compile(
    r"^(ALTER (TABLE|DATABASE|ROLE|LANGUAGE)|CREATE (ROLE|DATABASE|EXTENSION)|COMMENT ON EXTENSION|"
    r"GRANT|REVOKE|SHOW|DROP)\b"
)


def _qualified(node: exp.Expression) -> bool:
    parent = node.parent
    return (
        isinstance(parent, exp.Dot)
        and parent.expression is node
        and isinstance(parent.this, exp.Identifier)
        and parent.this.name == "pg_catalog"
    )


def _syntax_call(node: exp.Expression) -> bool:
    """ROW(...), and the ANY/ALL of `x OPERATOR(pg_catalog.=) ANY (array)`: syntax that reads like a call."""
    if not isinstance(node, exp.Anonymous):
        return False
    name = str(node.this).upper()
    return name == "ROW" or (name in ("ANY", "ALL") and isinstance(node.parent, exp.Operator))


def _in_query(table: exp.Table) -> bool:
    """A relation read by a query (not the object a GRANT or DROP names)."""
    return table.find_ancestor(exp.From, exp.Join) is not None


def unqualified(text: str) -> list[str]:
    """What in `text` PostgreSQL would look up through the search_path: each as a short description."""
    found = []
    for statement in sqlglot.parse(text, read="postgres"):
        if statement is None:
            continue
        if isinstance(statement, exp.Command):
            bare = re.sub(r"'(?:[^']|'')*'", "''", text)
            if not _DDL.match(text) or "(" in bare:
                found.append(f"a statement sqlglot cannot read: {text[:80]}")
            continue
        ctes = {cte.alias for cte in statement.find_all(exp.CTE)}
        for node in statement.walk():
            if isinstance(node, _KEYWORDS) or _syntax_call(node):
                continue
            if isinstance(node, exp.Operator):
                if not str(node.args["operator"]).startswith("pg_catalog."):
                    found.append(f"operator {node.args['operator']}")
            elif isinstance(node, exp.Collate):
                if not (isinstance(node.expression, exp.Column) and node.expression.table == "pg_catalog"):
                    found.append(f"collation {node.expression.sql('postgres')}")
            elif isinstance(node, (exp.Binary, exp.In, exp.Between, exp.Neg)):
                found.append(f"operator {node.key}: {node.sql('postgres')[:60]}")
            elif isinstance(node, exp.Func) and not isinstance(node, _SYNTAX) and not _qualified(node):
                found.append(f"function {node.sql('postgres')[:60]}")
            elif isinstance(node, exp.DataType) and node.this != exp.DataType.Type.ARRAY:
                kind = node.args.get("kind")
                if node.this != exp.DataType.Type.USERDEFINED or not (
                    isinstance(kind, exp.Dot) and kind.this.name == "pg_catalog"
                ):
                    found.append(f"type {node.sql('postgres')}")
            elif isinstance(node, exp.Table) and not node.db and node.name not in ctes and _in_query(node):
                found.append(f"relation {node.name}")
    return found


@pytest.mark.parametrize("version", [18, 15])
def test_every_statement_we_run_elevated_names_pg_catalog(
    version: int, request: pytest.FixtureRequest, elevated_sql: Ran
) -> None:
    """Parsed with sqlglot, every statement the restores above ran as the superuser or the reader (and
    elevation's lookups) names its operators, functions, types, relations and collations in pg_catalog;
    every superuser connection had search_path='' set at connect."""
    request.getfixturevalue(f"runs{version}")
    modules = {module for module, _ in elevated_sql.statements}
    assert {"restore/elevation.py", "restore/engine.py", "api/manifest.py", "checks/catalog.py"} <= modules
    assert {"server/databases.py", "server/throwaway.py", "restore/limits.py"} <= modules
    unset = {(module, user) for module, user in elevated_sql.path_unset if user == SUPERUSER}
    assert unset == set(), "superuser connections opened without search_path=''"
    reader = {module for module, user in elevated_sql.path_unset if user == READER}
    assert reader <= {"checks/runner.py", "checks/catalog.py", "api/manifest.py"}, reader
    problems = {
        f"{module}: {problem} in {text[:100]!r}"
        for module, text in sorted(elevated_sql.statements)
        for problem in unqualified(text)
    }
    assert not problems, "\n".join(sorted(problems))


def test_the_sql_check_finds_what_a_shadow_would_take() -> None:
    """The check itself: each kind of name PostgreSQL would look up finds its way into the list, and a
    DO block (whose body sqlglot cannot read) is refused."""
    found = unqualified(
        "SELECT count(*), x::text FROM pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname NOT LIKE 'pg%' AND c.relkind IN ('r') AND c.x OPERATOR(public.=) 1 AND -c.y "
        'ORDER BY 1 COLLATE "C"'
    )
    assert sorted(found) == [
        'collation "C"',
        "function COUNT(*)",
        "operator eq: n.oid = c.relnamespace",
        "operator in: c.relkind IN ('r')",
        "operator like: n.nspname NOT LIKE 'pg%'",
        "operator neg: -c.y",
        "operator public.=",
        "relation pg_class",
        "type TEXT",
    ]
    assert unqualified("DO $$ BEGIN PERFORM 1; END $$") == [
        "a statement sqlglot cannot read: DO $$ BEGIN PERFORM 1; END $$"
    ]
    assert unqualified("ALTER TABLE ONLY a.b DISABLE TRIGGER ALL") == []
