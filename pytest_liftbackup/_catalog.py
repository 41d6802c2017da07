"""Catalog lookups every kind of check needs: a name from a check file as SQL, its relation, its columns."""

from __future__ import annotations

from typing import Any

import psycopg

from ._errors import CheckError
from ._sqlnames import qualified, split_qualified

Conn = psycopg.Connection[Any]
TABLE_KINDS = "('r', 'p', 'f')"  # ordinary, partitioned and foreign tables


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
