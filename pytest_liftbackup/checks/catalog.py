"""Catalog lookups every kind of check needs: a name from a check file as SQL, its relation, its columns."""

from __future__ import annotations

from typing import Any

import psycopg

from pytest_liftbackup._errors import CheckError
from pytest_liftbackup.checks.names import qualified, split_qualified

Conn = psycopg.Connection[Any]
TABLE_KINDS = "('r', 'p', 'f')"  # ordinary, partitioned and foreign tables
# The check file's schema: the first on the search_path after pg_catalog (see checks/runner), else public.
DEFAULT_SCHEMA = "SELECT coalesce((current_schemas(false))[2], 'public')"


def table_sql(name: str) -> str:
    parts = split_qualified(name)
    assert parts is not None, name  # validated when the file was read
    return qualified(*parts)


def relation_oid(conn: Conn, name: str, *, tables_only: bool = False) -> int | None:
    """The relation `name` resolves to (search_path applies); tables_only: views and the like do not count."""
    kinds = f" AND c.relkind IN {TABLE_KINDS}" if tables_only else ""
    row = conn.execute(
        f"SELECT c.oid FROM pg_class c WHERE c.oid = to_regclass(%s){kinds}", (table_sql(name),)
    ).fetchone()
    return int(row[0]) if row else None


def require_relation(conn: Conn, name: str, *, what: str = "table", tables_only: bool = False) -> int:
    """The relation's oid, or the CheckError that makes the check an error rather than a failure."""
    oid = relation_oid(conn, name, tables_only=tables_only)
    if oid is None:
        raise CheckError(f"{what} {name} does not exist in the restored database")
    return oid


def column_names(conn: Conn, oid: int, attnums: list[int]) -> list[str]:
    """Column names for attribute numbers, in the order given (a key's order)."""
    names = dict(
        conn.execute(
            "SELECT attnum, attname FROM pg_attribute WHERE attrelid = %s AND attnum = ANY (%s)",
            (oid, attnums),
        ).fetchall()
    )
    return [names[n] for n in attnums]


def primary_key(conn: Conn, oid: int) -> list[str]:
    """The primary key's columns in key order; empty when the table has none."""
    row = conn.execute(
        "SELECT conkey::int[] FROM pg_constraint WHERE conrelid = %s AND contype = 'p'", (oid,)
    ).fetchone()
    return column_names(conn, oid, list(row[0])) if row else []


# Operators and functions outside pg_catalog, not part of an extension, that take only built-in types
# and share a name with one of PostgreSQL's own. PostgreSQL picks the closest argument types whatever
# the search_path order, so one of these (`=(oid, regclass)`, `=(varchar, varchar)`) would be chosen over
# the built-in one in a check's SQL and could decide its result. Run with search_path = pg_catalog only.
_SHADOWS = """
WITH builtin_types AS (
    SELECT t.oid FROM pg_type t WHERE t.typnamespace = 'pg_catalog'::regnamespace
), own AS (
    SELECT d.classid, d.objid FROM pg_depend d WHERE d.deptype = 'e'
)
SELECT format('operator %s.%s(%s, %s)', n.nspname, o.oprname,
              coalesce(format_type(nullif(o.oprleft, 0), NULL), 'NONE'),
              coalesce(format_type(nullif(o.oprright, 0), NULL), 'NONE'))
FROM pg_operator o JOIN pg_namespace n ON n.oid = o.oprnamespace
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND (o.oprleft = 0 OR o.oprleft IN (SELECT oid FROM builtin_types))
  AND (o.oprright = 0 OR o.oprright IN (SELECT oid FROM builtin_types))
  AND EXISTS (SELECT 1 FROM pg_operator b
              WHERE b.oprnamespace = 'pg_catalog'::regnamespace AND b.oprname = o.oprname)
  AND NOT EXISTS (SELECT 1 FROM own WHERE own.classid = 'pg_operator'::regclass AND own.objid = o.oid)
UNION ALL
SELECT format('function %s.%s(%s)', n.nspname, p.proname, pg_get_function_identity_arguments(p.oid))
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND NOT EXISTS (SELECT 1 FROM unnest(p.proargtypes) a WHERE a NOT IN (SELECT oid FROM builtin_types))
  AND EXISTS (SELECT 1 FROM pg_proc b
              WHERE b.pronamespace = 'pg_catalog'::regnamespace AND b.proname = p.proname)
  AND NOT EXISTS (SELECT 1 FROM own WHERE own.classid = 'pg_proc'::regclass AND own.objid = p.oid)
ORDER BY 1
"""


def shadows_of_builtins(conn: Conn) -> list[str]:
    """What the restored database defines that could stand in for PostgreSQL's own in check SQL."""
    return [str(row[0]) for row in conn.execute(_SHADOWS).fetchall()]
