"""Run one check against the restored database: read-only transaction, timeout, the file's schema.

Every kind lands in one of three modules (schema, Flyway, data); this is the only place that opens a
transaction, so no check can leave anything behind: the transaction is always rolled back.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg

from pytest_liftbackup._errors import CheckError
from pytest_liftbackup._safe_text import shown
from pytest_liftbackup.checks import data as _data_checks
from pytest_liftbackup.checks import flyway as _flyway
from pytest_liftbackup.checks import schema as _schema_checks
from pytest_liftbackup.checks.catalog import shadows_of_builtins
from pytest_liftbackup.checks.names import ident
from pytest_liftbackup.checks.readonly_sql import NotReadOnly, check_read_only
from pytest_liftbackup.checks.result import CheckResult
from pytest_liftbackup.checks.vocabulary import CheckFile, CheckFileError, CheckSpec
from pytest_liftbackup.server.databases import LOCK_TIMEOUT
from pytest_liftbackup.server.watchdog import Watchdog

DEFAULT_TIMEOUT = 300.0
_SHADOWS_SEEN: weakref.WeakKeyDictionary[psycopg.Connection[Any], list[str]] = weakref.WeakKeyDictionary()
DEFAULT_SAMPLE = 5


@dataclass(frozen=True)
class Scope:
    """Where a check file's names resolve: its schema, Flyway history table and migrations folder."""

    schema: str | None
    flyway_table: str
    migrations_option: Path | None  # the front end's migrations setting: wins over any folder a file names
    file_migrations: Path | None  # the file's flyway.migrations

    def migrations(self, spec: CheckSpec) -> Path | None:
        """The option, else the check's own folder (relative to its file), else the file's folder."""
        own = spec.get("flyway_migrations") if spec.kind == "flyway_migrations" else None
        if self.migrations_option is None and isinstance(own, str):
            return (spec.path.parent / own).resolve()
        return self.migrations_option or self.file_migrations


def scope_for(check_file: CheckFile, migrations_option: Path | None) -> Scope:
    table = check_file.flyway_table or (
        f"{ident(check_file.schema)}.flyway_schema_history" if check_file.schema else "flyway_schema_history"
    )
    return Scope(check_file.schema, table, migrations_option, check_file.migrations)


def validate(spec: CheckSpec) -> None:
    """Refuse, at collection, any SQL of this check that is not a read-only query."""
    for key, sql in _data_checks.queries_to_validate(spec):
        try:
            check_read_only(sql)
        except NotReadOnly as exc:
            raise CheckFileError(
                spec.path, spec.line_of(key), f"check {spec.name!r}, {key!r}: {exc}"
            ) from None


def _trusted_names(conn: psycopg.Connection[Any], scope: Scope) -> None:
    """Make every name in check SQL mean PostgreSQL's own first, and refuse a dump that shadows one.

    pg_catalog comes first on the search_path, so no relation or same-typed function of the dump can
    stand in for a catalog or built-in one; a dump that defines a closer match for a built-in operator
    or function (chosen whatever the path order) makes the check an error, naming the object.
    """
    conn.execute("SELECT pg_catalog.set_config('search_path', 'pg_catalog', true)")
    shadows = _SHADOWS_SEEN.get(conn)
    if shadows is None:  # a restored database only ever gets read: one look per connection will do
        shadows = _SHADOWS_SEEN[conn] = shadows_of_builtins(conn)
    if shadows:
        more = f" and {len(shadows) - 5} more" if len(shadows) > 5 else ""
        raise CheckError(
            f"the dump defines {', '.join(shown(s) for s in shadows[:5])}{more}, which PostgreSQL would "
            "pick instead of its own built-in in a check's SQL; no check can be trusted on this database. "
            "If the backup is yours, look at how that got into it"
        )
    conn.execute("SELECT pg_catalog.set_config('search_path', %s, true)", (search_path(scope),))


def search_path(scope: Scope) -> str:
    """Where the names in a check's SQL are looked up: PostgreSQL's own first, then the check file's."""
    return f"pg_catalog, {ident(scope.schema)}, public" if scope.schema else 'pg_catalog, "$user", public'


def _pasteable(result: CheckResult, scope: Scope) -> CheckResult:
    """The SQL listing all failures, as it runs when pasted into psql: with the checks' search_path."""
    if result.failures_sql:
        result.failures_sql = f"SET search_path = {search_path(scope)}; {result.failures_sql}"
    return result


def run_check(conn: psycopg.Connection[Any], spec: CheckSpec, scope: Scope) -> CheckResult:
    """The check's result; its `timeout` holds even against a dump's function that catches the
    cancel (the watchdog ends the session), and no lock wait lasts longer than LOCK_TIMEOUT."""
    timeout = float(spec.get("timeout", DEFAULT_TIMEOUT))
    watchdog = Watchdog(conn, timeout)
    try:
        with watchdog, conn.transaction(force_rollback=True):
            return _run_in_transaction(conn, spec, scope, timeout)
    except CheckError as exc:
        raise CheckError(f"check {spec.name!r} could not run ({spec.where}): {exc}") from None
    except psycopg.Error as exc:
        if watchdog.fired or isinstance(exc, psycopg.errors.QueryCanceled):
            raise CheckError(
                f"check {spec.name!r} could not run ({spec.where}): it ran longer than its timeout of "
                f"{timeout:g} s; raise 'timeout' in the check file"
            ) from None
        raise _database_error(spec, exc) from None


def _run_in_transaction(
    conn: psycopg.Connection[Any], spec: CheckSpec, scope: Scope, timeout: float
) -> CheckResult:
    _trusted_names(conn, scope)
    conn.execute("SELECT pg_catalog.set_config('statement_timeout', %s, true)", (f"{int(timeout * 1000)}ms",))
    conn.execute("SELECT pg_catalog.set_config('lock_timeout', %s, true)", (LOCK_TIMEOUT,))
    if spec.kind in _schema_checks.KINDS:
        return _schema_checks.run(spec, conn)
    if spec.kind in _flyway.KINDS:
        table = spec.get("table") or scope.flyway_table
        return _pasteable(_flyway.run(spec, conn, table, scope.migrations(spec)), scope)
    sample = int(spec.get("sample", DEFAULT_SAMPLE))
    return _pasteable(_data_checks.run(spec, conn, sample), scope)


def _database_error(spec: CheckSpec, exc: psycopg.Error) -> CheckError:
    """What PostgreSQL said, with its detail, hint and SQLSTATE, one per line."""
    diag = exc.diag
    lines = [f"check {spec.name!r} could not run ({spec.where}): {diag.message_primary or exc}"]
    lines += [
        f"  {label}: {value}"
        for label, value in (("DETAIL", diag.message_detail), ("HINT", diag.message_hint))
        if value
    ]
    if diag.sqlstate:
        lines.append(f"  SQLSTATE: {diag.sqlstate}")
    return CheckError("\n".join(shown(line) for line in lines))  # the data's newlines: \\n
