"""Refuse, before anything runs, check SQL that could change something: checks only ever look.

sqlglot parses the SQL as PostgreSQL. Accepted: one query (SELECT, WITH, VALUES, TABLE, set
operations) with no data-modifying CTE, no SELECT INTO, no row locks, and none of the functions
that act on the server rather than read it. This is the early, friendly refusal with file and
line; the checks also run in READ ONLY transactions as a non-superuser role, which PostgreSQL
itself enforces.
"""

from __future__ import annotations

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError

# Callable from a SELECT, yet they act: on other sessions, the server, files, locks or sequences.
_ACTING_FUNCTIONS = frozenset(
    {
        "set_config",
        "pg_terminate_backend",
        "pg_cancel_backend",
        "pg_reload_conf",
        "pg_rotate_logfile",
        "pg_sleep",
        "pg_sleep_for",
        "pg_sleep_until",
        "pg_notify",
        "pg_switch_wal",
        "pg_create_restore_point",
        "pg_promote",
        "pg_logical_emit_message",
        "pg_read_file",
        "pg_read_binary_file",
        "pg_ls_dir",
        "pg_stat_file",
        "nextval",
        "setval",
        "query_to_xml",
        "query_to_xml_and_xmlschema",
        "cursor_to_xml",
        "dblink",
        "dblink_exec",
        "lo_import",
        "lo_export",
        "lo_unlink",
        "lo_create",
        "lo_put",
        "lo_from_bytea",
    }
)
_ACTING_PREFIXES = ("pg_advisory", "pg_try_advisory", "dblink_")
_WRITES = (
    exp.Insert,
    exp.Update,
    exp.Delete,
    exp.Merge,
    exp.Into,
    exp.Lock,
    exp.Command,
    exp.Create,
    exp.Drop,
)


class NotReadOnly(Exception):
    """Why the SQL is refused, in one sentence."""


def _function_name(node: exp.Func) -> str:
    if isinstance(node, exp.Anonymous):
        return str(node.name).lower()
    return node.sql_name().lower()


def check_read_only(sql: str) -> exp.Query | exp.Subquery | exp.Values:
    """The parsed query, or NotReadOnly saying what is wrong with it."""
    try:
        return _only_reads(_one_statement(sql))
    except RecursionError:  # the parser and the walk recurse per nesting level
        raise NotReadOnly("SQL nested too deeply to parse; simplify it") from None


def _one_statement(sql: str) -> exp.Expr:
    try:
        statements = [s for s in sqlglot.parse(sql, read="postgres") if s is not None]
    except ParseError as exc:
        errors = exc.errors[0] if exc.errors else {}
        where = f" (line {errors.get('line')}, column {errors.get('col')})" if errors else ""
        first = str(exc).splitlines()[0]
        raise NotReadOnly(f"SQL that does not parse{where}: {first}") from None
    if len(statements) != 1:
        raise NotReadOnly(f"{len(statements)} statements where one query is expected")
    return statements[0]


def _only_reads(query: exp.Expr) -> exp.Query | exp.Subquery | exp.Values:
    if not isinstance(query, exp.Query | exp.Subquery | exp.Values):
        raise NotReadOnly(f"a {query.key.upper()} statement where a read-only query is expected")
    for node in query.walk():
        if isinstance(node, _WRITES):
            what = "SELECT INTO" if isinstance(node, exp.Into) else node.key.upper()
            if isinstance(node, exp.Lock):
                what = "a row lock (FOR UPDATE/SHARE)"
            raise NotReadOnly(f"{what} inside the query: checks only read")
        if isinstance(node, exp.Func):
            name = _function_name(node)
            if name in _ACTING_FUNCTIONS or name.startswith(_ACTING_PREFIXES):
                raise NotReadOnly(f"function {name}() acts on the server: checks only read")
    return query


def referenced_columns(expression_sql: str) -> list[str]:
    """Column names an expression mentions, in order: shown next to the key in failure samples."""
    try:
        parsed = sqlglot.parse_one(expression_sql, read="postgres")
    except ParseError:
        return []
    names: list[str] = []
    for column in parsed.find_all(exp.Column):
        if column.name and column.name not in names:
            names.append(column.name)
    return names
