"""A selective restore: some tables' rows replaced in the live database by a restored copy's, at once.

In one transaction on the live database: triggers off (`session_replication_role = replica`, so no
application trigger fires and no ON DELETE CASCADE reaches other tables), the tables emptied and
filled from the staging copy with COPY, their sequences set as the copy has them, then every foreign
key that touches them checked by query. Any key that would break, or any difference in the tables'
columns between the two databases, rolls everything back: the live data is as it was.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from pytest_liftbackup._errors import Given, LiftbackupError, Setting


class TablesRefused(LiftbackupError):
    """The selective restore would break the live database; nothing was changed."""


@dataclass(frozen=True)
class Table:
    schema: str
    name: str
    oid: int

    def __str__(self) -> str:
        return f"{self.schema}.{self.name}"

    @property
    def ident(self) -> sql.Identifier:
        return sql.Identifier(self.schema, self.name)


def resolve(conn: psycopg.Connection[Any], names: list[str]) -> list[Table]:
    """`schema.table` or a table name found in exactly one schema, as the live database has them."""
    found = []
    for given in names:
        schema, _, name = given.rpartition(".")
        rows = conn.execute(
            "SELECT n.nspname, c.relname, c.oid::int FROM pg_catalog.pg_class c "
            "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'p') "
            "AND c.relname = %s AND (%s = '' OR n.nspname = %s) "
            "AND n.nspname NOT IN ('pg_catalog', 'information_schema')",
            (name, schema, schema),
        ).fetchall()
        if len(rows) != 1:
            where = (
                "no table"
                if not rows
                else f"{len(rows)} tables ({', '.join(f'{r[0]}.{r[1]}' for r in rows)})"
            )
            raise TablesRefused(
                Given(Setting.TABLE, given),
                f": {where} of that name in the live database; write schema.table",
            )
        found.append(Table(*rows[0]))
    return found


def _columns(conn: psycopg.Connection[Any], table: Table) -> list[str]:
    rows = conn.execute(
        "SELECT a.attname FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_class c ON c.oid = a.attrelid "
        "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s AND c.relname = %s "
        "AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = '' ORDER BY a.attnum",
        (table.schema, table.name),
    ).fetchall()
    return [str(r[0]) for r in rows]


def _foreign_keys(conn: psycopg.Connection[Any], tables: list[Table]) -> list[tuple[Any, ...]]:
    """(name, referencing table, its columns, referenced table, its columns) of every key touching them."""
    oids = [t.oid for t in tables]
    return conn.execute(
        "SELECT con.conname, cn.nspname, c.relname, "
        "  ARRAY(SELECT a.attname FROM unnest(con.conkey) WITH ORDINALITY k(n, i) "
        "        JOIN pg_catalog.pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.n "
        "        ORDER BY k.i), "
        "  fn.nspname, f.relname, "
        "  ARRAY(SELECT a.attname FROM unnest(con.confkey) WITH ORDINALITY k(n, i) "
        "        JOIN pg_catalog.pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.n "
        "        ORDER BY k.i) "
        "FROM pg_catalog.pg_constraint con "
        "JOIN pg_catalog.pg_class c ON c.oid = con.conrelid "
        "JOIN pg_catalog.pg_namespace cn ON cn.oid = c.relnamespace "
        "JOIN pg_catalog.pg_class f ON f.oid = con.confrelid "
        "JOIN pg_catalog.pg_namespace fn ON fn.oid = f.relnamespace "
        "WHERE con.contype = 'f' AND (con.conrelid = ANY(%s) OR con.confrelid = ANY(%s)) ORDER BY 1",
        (oids, oids),
    ).fetchall()


def _broken(conn: psycopg.Connection[Any], key: tuple[Any, ...]) -> int:
    _, schema, table, columns, fschema, ftable, fcolumns = key
    match = sql.SQL(" AND ").join(
        sql.SQL("p.{} = c.{}").format(sql.Identifier(fc), sql.Identifier(col))
        for col, fc in zip(columns, fcolumns, strict=True)
    )
    not_null = sql.SQL(" AND ").join(
        sql.SQL("c.{} IS NOT NULL").format(sql.Identifier(col)) for col in columns
    )
    query = sql.SQL("SELECT count(*) FROM {} c WHERE {} AND NOT EXISTS (SELECT 1 FROM {} p WHERE {})").format(
        sql.Identifier(schema, table), not_null, sql.Identifier(fschema, ftable), match
    )
    row = conn.execute(query).fetchone()
    return int(row[0]) if row else 0


def replace_tables(
    live: psycopg.Connection[Any], staging: psycopg.Connection[Any], names: list[str]
) -> dict[str, int]:
    """Replace the rows of the named tables in `live` by `staging`'s, in one transaction; rows per table.

    `live` must not be in autocommit mode: the caller's transaction is committed here, or rolled back
    with TablesRefused."""
    tables = resolve(live, names)
    copied: dict[str, int] = {}
    try:
        for table in tables:
            mine, theirs = _columns(live, table), _columns(staging, table)
            if mine != theirs:
                raise TablesRefused(
                    f"{table}: its columns differ between the live database ({', '.join(mine)}) and the "
                    f"backup ({', '.join(theirs) or 'no such table'}); "
                    "a selective restore needs the same schema"
                )
        live.execute("SET LOCAL session_replication_role = replica")
        for table in tables:
            live.execute(sql.SQL("DELETE FROM {}").format(table.ident))
        for table in tables:
            columns = sql.SQL(", ").join(map(sql.Identifier, _columns(live, table)))
            out = sql.SQL("COPY {} ({}) TO STDOUT").format(table.ident, columns)
            into = sql.SQL("COPY {} ({}) FROM STDIN").format(table.ident, columns)
            with staging.cursor().copy(out) as source, live.cursor().copy(into) as sink:
                for chunk in source:
                    sink.write(chunk)
            row = live.execute(sql.SQL("SELECT count(*) FROM {}").format(table.ident)).fetchone()
            copied[str(table)] = int(row[0]) if row else 0
            _copy_sequences(live, staging, table)
        for key in _foreign_keys(live, tables):
            if broken := _broken(live, key):
                raise TablesRefused(
                    f"foreign key {key[0]} from {key[1]}.{key[2]} to {key[4]}.{key[5]} would break: {broken} "
                    f"rows of {key[1]}.{key[2]} would reference rows the backup does not have. Restore those "
                    "tables too (",
                    Setting.TABLE,
                    "), or the whole database; nothing was changed",
                )
        live.commit()
    except BaseException:
        live.rollback()
        raise
    finally:
        staging.rollback()
    return copied


def _copy_sequences(live: psycopg.Connection[Any], staging: psycopg.Connection[Any], table: Table) -> None:
    """Sequences owned by the table's columns (serial, identity) continue where the backup's did."""
    query = (
        "SELECT s.relname, sn.nspname FROM pg_catalog.pg_depend d "
        "JOIN pg_catalog.pg_class s ON s.oid = d.objid AND s.relkind = 'S' "
        "JOIN pg_catalog.pg_namespace sn ON sn.oid = s.relnamespace "
        "JOIN pg_catalog.pg_class t ON t.oid = d.refobjid "
        "JOIN pg_catalog.pg_namespace tn ON tn.oid = t.relnamespace "
        "WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.deptype IN ('a', 'i') "
        "AND tn.nspname = %s AND t.relname = %s"
    )
    for name, schema in live.execute(query, (table.schema, table.name)).fetchall():
        ident = sql.Identifier(schema, name)
        row = staging.execute(sql.SQL("SELECT last_value, is_called FROM {}").format(ident)).fetchone()
        if row is not None:
            live.execute(
                "SELECT pg_catalog.setval(%s::regclass, %s, %s)", (ident.as_string(live), row[0], row[1])
            )
