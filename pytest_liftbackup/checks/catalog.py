"""Catalog lookups every kind of check needs: a name from a check file as SQL, its relation, its columns."""

from __future__ import annotations

from typing import Any

import psycopg

from pytest_liftbackup._errors import CheckError
from pytest_liftbackup.checks.names import qualified, split_qualified

Conn = psycopg.Connection[Any]
_KINDS = ("r", "p", "f")  # ordinary, partitioned and foreign tables
TABLE_KINDS = "(" + ", ".join(f"'{kind}'" for kind in _KINDS) + ")"
_KIND_ARRAY = "ARRAY[" + ", ".join(f"'{kind}'" for kind in _KINDS) + ']::pg_catalog."char"[]'
# The check file's schema: the first on the search_path after pg_catalog (see checks/runner), else public.
DEFAULT_SCHEMA = "SELECT coalesce((pg_catalog.current_schemas(false))[2], 'public')"


def table_sql(name: str) -> str:
    parts = split_qualified(name)
    assert parts is not None, name  # validated when the file was read
    return qualified(*parts)


def relation_oid(conn: Conn, name: str, *, tables_only: bool = False) -> int | None:
    """The relation `name` resolves to (search_path applies); tables_only: views and the like do not count."""
    kinds = f" AND c.relkind OPERATOR(pg_catalog.=) ANY ({_KIND_ARRAY})" if tables_only else ""
    row = conn.execute(
        f"SELECT c.oid FROM pg_catalog.pg_class c "
        f"WHERE c.oid OPERATOR(pg_catalog.=) pg_catalog.to_regclass(%s)::pg_catalog.oid{kinds}",
        (table_sql(name),),
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
            "SELECT attnum, attname FROM pg_catalog.pg_attribute "
            "WHERE attrelid OPERATOR(pg_catalog.=) %s AND attnum OPERATOR(pg_catalog.=) ANY (%s)",
            (oid, attnums),
        ).fetchall()
    )
    return [names[n] for n in attnums]


def primary_key(conn: Conn, oid: int) -> list[str]:
    """The primary key's columns in key order; empty when the table has none."""
    row = conn.execute(
        "SELECT conkey::pg_catalog.int4[] FROM pg_catalog.pg_constraint "
        "WHERE conrelid OPERATOR(pg_catalog.=) %s AND contype OPERATOR(pg_catalog.=) 'p'",
        (oid,),
    ).fetchone()
    return column_names(conn, oid, list(row[0])) if row else []


# Operators and functions outside pg_catalog that take only built-in types and share a name with one of
# PostgreSQL's own. PostgreSQL picks the closest argument types whatever the search_path order, so one
# of these (`=(oid, regclass)`, `=(varchar, varchar)`) would be chosen over the built-in one in a
# check's SQL and could decide its result.
#
# An extension's own members do not count, and only those: a member counts as the dump's unless a
# superuser owns it. An extension's script runs as a superuser (ours, creating it from its names, or
# the bootstrap superuser for a trusted extension), so everything it makes is a superuser's; a
# dump's roles are never superusers and cannot give an object to one, so an operator a dump makes and
# adds to an extension it owns (`ALTER EXTENSION citext ADD OPERATOR lift_simulator.=(oid, regclass)`)
# stays its own. Every name is qualified: the query must not run a shadow itself.
_SHADOWS = """
WITH builtin_types AS (
    SELECT t.oid FROM pg_catalog.pg_type t
    WHERE t.typnamespace OPERATOR(pg_catalog.=) 'pg_catalog'::pg_catalog.regnamespace
), extensions AS (
    SELECT d.classid, d.objid FROM pg_catalog.pg_depend d WHERE d.deptype OPERATOR(pg_catalog.=) 'e'
), superusers AS (
    SELECT r.oid FROM pg_catalog.pg_roles r WHERE r.rolsuper
)
SELECT pg_catalog.format('operator %s.%s(%s, %s)', n.nspname, o.oprname,
              CASE WHEN o.oprleft OPERATOR(pg_catalog.=) 0::pg_catalog.oid THEN 'NONE'
                   ELSE pg_catalog.format_type(o.oprleft, NULL) END,
              CASE WHEN o.oprright OPERATOR(pg_catalog.=) 0::pg_catalog.oid THEN 'NONE'
                   ELSE pg_catalog.format_type(o.oprright, NULL) END)
FROM pg_catalog.pg_operator o JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) o.oprnamespace
WHERE n.nspname OPERATOR(pg_catalog.<>) ALL (ARRAY['pg_catalog', 'information_schema']::pg_catalog.name[])
  AND (o.oprleft OPERATOR(pg_catalog.=) 0::pg_catalog.oid
       OR o.oprleft OPERATOR(pg_catalog.=) ANY (ARRAY(SELECT b.oid FROM builtin_types b)))
  AND (o.oprright OPERATOR(pg_catalog.=) 0::pg_catalog.oid
       OR o.oprright OPERATOR(pg_catalog.=) ANY (ARRAY(SELECT b.oid FROM builtin_types b)))
  AND EXISTS (SELECT 1 FROM pg_catalog.pg_operator b
              WHERE b.oprnamespace OPERATOR(pg_catalog.=) 'pg_catalog'::pg_catalog.regnamespace
                AND b.oprname OPERATOR(pg_catalog.=) o.oprname)
  AND NOT (o.oprowner OPERATOR(pg_catalog.=) ANY (ARRAY(SELECT s.oid FROM superusers s))
           AND EXISTS (SELECT 1 FROM extensions e
                       WHERE e.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_operator'::pg_catalog.regclass
                         AND e.objid OPERATOR(pg_catalog.=) o.oid))
UNION ALL
SELECT pg_catalog.format('function %s.%s(%s)', n.nspname, p.proname,
                         pg_catalog.pg_get_function_identity_arguments(p.oid))
FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) p.pronamespace
WHERE n.nspname OPERATOR(pg_catalog.<>) ALL (ARRAY['pg_catalog', 'information_schema']::pg_catalog.name[])
  AND p.proargtypes::pg_catalog.oid[] OPERATOR(pg_catalog.<@) ARRAY(SELECT b.oid FROM builtin_types b)
  AND EXISTS (SELECT 1 FROM pg_catalog.pg_proc b
              WHERE b.pronamespace OPERATOR(pg_catalog.=) 'pg_catalog'::pg_catalog.regnamespace
                AND b.proname OPERATOR(pg_catalog.=) p.proname)
  AND NOT (p.proowner OPERATOR(pg_catalog.=) ANY (ARRAY(SELECT s.oid FROM superusers s))
           AND EXISTS (SELECT 1 FROM extensions e
                       WHERE e.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_proc'::pg_catalog.regclass
                         AND e.objid OPERATOR(pg_catalog.=) p.oid))
ORDER BY 1
"""


def shadows_of_builtins(conn: Conn) -> list[str]:
    """What the restored database defines that could stand in for PostgreSQL's own in check SQL."""
    return [str(row[0]) for row in conn.execute(_SHADOWS).fetchall()]
