"""A selective restore: some tables' rows replaced in the live database by a restored copy's, at once.

In one transaction on the live database: triggers off (`session_replication_role = replica`, so no
application trigger fires and no ON DELETE CASCADE reaches other tables), the tables emptied and
filled from the staging copy with COPY, their sequences set as the copy has them, then every foreign
key that touches them checked by query. Any key that would break, or any difference in the tables'
columns between the two databases, rolls everything back: the live data is as it was.

Each named table's own rows, and nothing else: `DELETE FROM ONLY`, `COPY t TO` (which reads a table's
own rows only), counts `FROM ONLY`. What a DELETE or COPY on a named table could still reach, with
triggers off, is refused (exit 3) before anything changes, unless it is named too:
- its inheritance children and partitions (a partitioned table holds no rows of its own: naming it
  and all its partitions replaces the partitions' rows);
- the tables named by a DELETE rule that fires in replica mode (`ENABLE ALWAYS` or `ENABLE REPLICA`);
  ordinary rules, like ordinary triggers, do not fire with `session_replication_role = replica`
  (COPY fires no rule at all). The tables are emptied rule-writers first, and each must be empty
  before it is filled again, or everything is rolled back.
What no naming can make safe is refused outright: a trigger on DELETE or INSERT that fires in replica
mode (its function may write any table), and a firing DELETE rule that runs instead of the delete or
calls a function outside pg_catalog. The whole-database restore has none of these limits.
Foreign keys are checked as PostgreSQL checks them: a table's own rows (ONLY), a partitioned table's
through all its partitions, each key once (on its partitioned root, not on each partition's clone).
"""

from __future__ import annotations

import graphlib
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from pytest_liftbackup._errors import Given, LiftbackupError, Setting
from pytest_liftbackup._safe_text import shown


class TablesRefused(LiftbackupError):
    """The selective restore would break the live database; nothing was changed."""


@dataclass(frozen=True)
class Table:
    schema: str
    name: str
    oid: int
    kind: str = "r"  # pg_class.relkind: 'r' a table, 'p' a partitioned table

    def __str__(self) -> str:
        return f"{self.schema}.{self.name}"

    @property
    def ident(self) -> sql.Identifier:
        return sql.Identifier(self.schema, self.name)

    @property
    def own_rows(self) -> sql.Composable:
        """The table's own rows in a FROM: ONLY for a table, all of it for a partitioned one (whose
        rows are its partitions', as its foreign keys see them)."""
        return sql.SQL("ONLY {}").format(self.ident) if self.kind == "r" else self.ident


def resolve(conn: psycopg.Connection[Any], names: list[str]) -> list[Table]:
    """`schema.table` or a table name found in exactly one schema, as the live database has them."""
    found = []
    for given in names:
        schema, _, name = given.rpartition(".")
        rows = conn.execute(
            "SELECT n.nspname, c.relname, c.oid::int, c.relkind::text FROM pg_catalog.pg_class c "
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


_FIRES_WITH_TRIGGERS_OFF = {"A": "ENABLE ALWAYS", "R": "ENABLE REPLICA"}  # pg_trigger, pg_rewrite
_ANY_OID = "OPERATOR(pg_catalog.=) ANY(%s::pg_catalog.oid[])"


def reach(conn: psycopg.Connection[Any], tables: list[Table]) -> list[Table]:
    """Refuse what a DELETE or COPY of `tables` with triggers off would reach beyond them; the order to
    empty them in (a rule's table before the tables its rule writes)."""
    if unknowable := _firing_triggers(conn, tables) + _unknowable_rules(conn, tables):
        raise TablesRefused(
            f"{'; '.join(unknowable)}: each fires even with triggers off, and what it writes cannot be "
            "known. Restore the whole database, or make it an ordinary trigger or rule "
            "(ALTER TABLE ... ENABLE TRIGGER or ENABLE RULE) for the restore; nothing was changed"
        )
    by_oid = {t.oid: t for t in tables}
    reached = _children(conn, tables)
    writes: dict[Table, set[Table]] = {
        t: set() for t in tables
    }  # table: the named tables whose rules write it
    for rule, owner, how, target, oid in _rule_tables(conn, tables):
        if oid in by_oid:
            writes[by_oid[oid]].add(by_oid[owner])
        else:
            reached.append(
                f"{shown(target)} (named by rule {shown(rule)} on {shown(str(by_oid[owner]))}, {how})"
            )
    if reached:
        raise TablesRefused(
            f"the tables named reach tables not named: {'; '.join(reached)}. Name them too (",
            Setting.TABLE,
            "), or restore the whole database; nothing was changed",
        )
    try:
        return list(graphlib.TopologicalSorter(writes).static_order())
    except graphlib.CycleError:  # rules writing each other's tables: emptied() finds what came back
        return tables


def _children(conn: psycopg.Connection[Any], tables: list[Table]) -> list[str]:
    """Inheritance children and partitions of the named tables that are not named themselves."""
    oids = [t.oid for t in tables]
    rows = conn.execute(
        "SELECT n.nspname, c.relname, c.relispartition, pn.nspname, p.relname "
        "FROM pg_catalog.pg_inherits i "
        "JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) i.inhrelid "
        "JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace "
        "JOIN pg_catalog.pg_class p ON p.oid OPERATOR(pg_catalog.=) i.inhparent "
        "JOIN pg_catalog.pg_namespace pn ON pn.oid OPERATOR(pg_catalog.=) p.relnamespace "
        f"WHERE i.inhparent {_ANY_OID} AND NOT i.inhrelid {_ANY_OID} ORDER BY 1, 2",
        (oids, oids),
    ).fetchall()
    return [
        f"{shown(f'{r[0]}.{r[1]}')} ({'a partition' if r[2] else 'an inheritance child'} of "
        f"{shown(f'{r[3]}.{r[4]}')})"
        for r in rows
    ]


def _firing_rules(
    conn: psycopg.Connection[Any], tables: list[Table]
) -> list[tuple[int, str, int, str, bool]]:
    """(oid, name, its table's oid, how it is enabled, instead?) of each DELETE rule of the named tables
    that fires with triggers off (COPY fires no rule)."""
    rows = conn.execute(
        "SELECT r.oid::pg_catalog.int8, r.rulename, r.ev_class::pg_catalog.int8, "
        "r.ev_enabled::pg_catalog.text, r.is_instead FROM pg_catalog.pg_rewrite r "
        f"WHERE r.ev_class {_ANY_OID} "
        "AND r.ev_type OPERATOR(pg_catalog.=) '4' "
        "AND r.ev_enabled OPERATOR(pg_catalog.=) ANY('{A,R}'::pg_catalog.\"char\"[]) ORDER BY 2",
        ([t.oid for t in tables],),
    ).fetchall()
    return [(int(r[0]), str(r[1]), int(r[2]), _FIRES_WITH_TRIGGERS_OFF[r[3]], bool(r[4])) for r in rows]


def _rule_tables(conn: psycopg.Connection[Any], tables: list[Table]) -> list[tuple[str, int, str, str, int]]:
    """(rule, its table's oid, how it is enabled, a relation it names, that one's oid) for every other
    relation a firing DELETE rule of a named table names (written or read: its dependencies tell)."""
    found = []
    for rule_oid, rule, owner, how, _ in _firing_rules(conn, tables):
        rows = conn.execute(
            "SELECT DISTINCT n.nspname, c.relname, c.oid::pg_catalog.int8 FROM pg_catalog.pg_depend d "
            "JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) d.refobjid "
            "JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace "
            "WHERE d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_rewrite'::pg_catalog.regclass "
            "AND d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass "
            "AND d.objid OPERATOR(pg_catalog.=) %s::pg_catalog.oid "
            "AND d.refobjid OPERATOR(pg_catalog.<>) %s::pg_catalog.oid ORDER BY 1, 2",
            (rule_oid, owner),
        ).fetchall()
        found += [(rule, owner, how, f"{r[0]}.{r[1]}", int(r[2])) for r in rows]
    return found


def _unknowable_rules(conn: psycopg.Connection[Any], tables: list[Table]) -> list[str]:
    """Firing DELETE rules no naming makes safe: run instead of the delete, or call a function or
    operator of the database's own (it may write anything)."""
    by_oid = {t.oid: t for t in tables}
    found = []
    for rule_oid, rule, owner, how, instead in _firing_rules(conn, tables):
        calls = conn.execute(
            "SELECT pg_catalog.count(*) FROM pg_catalog.pg_depend d "
            "LEFT JOIN pg_catalog.pg_proc f ON d.refclassid OPERATOR(pg_catalog.=) "
            "'pg_catalog.pg_proc'::pg_catalog.regclass AND f.oid OPERATOR(pg_catalog.=) d.refobjid "
            "LEFT JOIN pg_catalog.pg_operator o ON d.refclassid OPERATOR(pg_catalog.=) "
            "'pg_catalog.pg_operator'::pg_catalog.regclass AND o.oid OPERATOR(pg_catalog.=) d.refobjid "
            "WHERE d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_rewrite'::pg_catalog.regclass "
            "AND d.objid OPERATOR(pg_catalog.=) %s::pg_catalog.oid "
            "AND COALESCE(f.pronamespace, o.oprnamespace) "
            "OPERATOR(pg_catalog.<>) 'pg_catalog'::pg_catalog.regnamespace",
            (rule_oid,),
        ).fetchone()
        what = "runs instead of the delete" if instead else "calls a function" if calls and calls[0] else ""
        if what:
            found.append(f"rule {shown(rule)} on {shown(str(by_oid[owner]))} ({how}, on DELETE, {what})")
    return found


def _firing_triggers(conn: psycopg.Connection[Any], tables: list[Table]) -> list[str]:
    """Triggers of the named tables that fire on our DELETE or COPY (INSERT) with triggers off."""
    by_oid = {t.oid: t for t in tables}
    rows = conn.execute(
        "SELECT t.tgrelid::pg_catalog.int8, t.tgname, t.tgenabled::pg_catalog.text, "
        "t.tgtype::pg_catalog.int4 FROM pg_catalog.pg_trigger t "
        f"WHERE t.tgrelid {_ANY_OID} "
        "AND t.tgenabled OPERATOR(pg_catalog.=) ANY('{A,R}'::pg_catalog.\"char\"[]) "
        "AND (t.tgtype::pg_catalog.int4 OPERATOR(pg_catalog.&) 12) OPERATOR(pg_catalog.<>) 0 ORDER BY 2",
        ([t.oid for t in tables],),
    ).fetchall()
    found = []
    for table, name, enabled, kind in rows:
        events = " or ".join(e for bit, e in ((4, "INSERT"), (8, "DELETE")) if kind & bit)
        found.append(
            f"trigger {shown(name)} on {shown(str(by_oid[int(table)]))} "
            f"({_FIRES_WITH_TRIGGERS_OFF[enabled]}, on {events})"
        )
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
    """(name, referencing table, its columns, referenced table, its columns, their kinds) of every key
    touching them or a partitioned table they are partitions of (a partition's keys are its root's)."""
    oids = [t.oid for t in tables]
    row = conn.execute(
        "SELECT pg_catalog.array_agg(a.relid::pg_catalog.int8) "
        "FROM pg_catalog.unnest(%s::pg_catalog.oid[]) t(oid), pg_catalog.pg_partition_ancestors(t.oid) a",
        (oids,),
    ).fetchone()
    oids += [int(o) for o in (row[0] if row and row[0] else [])]
    return conn.execute(
        "SELECT con.conname, cn.nspname, c.relname, "
        "  ARRAY(SELECT a.attname FROM unnest(con.conkey) WITH ORDINALITY k(n, i) "
        "        JOIN pg_catalog.pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.n "
        "        ORDER BY k.i), "
        "  fn.nspname, f.relname, "
        "  ARRAY(SELECT a.attname FROM unnest(con.confkey) WITH ORDINALITY k(n, i) "
        "        JOIN pg_catalog.pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.n "
        "        ORDER BY k.i), "
        "  c.relkind::pg_catalog.text, f.relkind::pg_catalog.text "
        "FROM pg_catalog.pg_constraint con "
        "JOIN pg_catalog.pg_class c ON c.oid = con.conrelid "
        "JOIN pg_catalog.pg_namespace cn ON cn.oid = c.relnamespace "
        "JOIN pg_catalog.pg_class f ON f.oid = con.confrelid "
        "JOIN pg_catalog.pg_namespace fn ON fn.oid = f.relnamespace "
        "WHERE con.contype = 'f' AND con.conparentid OPERATOR(pg_catalog.=) 0 "
        "AND (con.conrelid = ANY(%s) OR con.confrelid = ANY(%s)) ORDER BY 1",
        (oids, oids),
    ).fetchall()


def _broken(conn: psycopg.Connection[Any], key: tuple[Any, ...]) -> int:
    _, schema, table, columns, fschema, ftable, fcolumns, kind, fkind = key
    match = sql.SQL(" AND ").join(
        sql.SQL("p.{} = c.{}").format(sql.Identifier(fc), sql.Identifier(col))
        for col, fc in zip(columns, fcolumns, strict=True)
    )
    not_null = sql.SQL(" AND ").join(
        sql.SQL("c.{} IS NOT NULL").format(sql.Identifier(col)) for col in columns
    )
    query = sql.SQL(
        "SELECT pg_catalog.count(*) FROM {} c WHERE {} AND NOT EXISTS (SELECT 1 FROM {} p WHERE {})"
    ).format(
        Table(schema, table, 0, kind).own_rows, not_null, Table(fschema, ftable, 0, fkind).own_rows, match
    )
    row = conn.execute(query).fetchone()
    return int(row[0]) if row else 0


def replace_tables(
    live: psycopg.Connection[Any], staging: psycopg.Connection[Any], names: list[str]
) -> dict[str, int]:
    """Replace the rows of the named tables in `live` by `staging`'s, in one transaction; rows per table.

    `live` must not be in autocommit mode: the caller's transaction is committed here, or rolled back
    with TablesRefused."""
    copied: dict[str, int] = {}
    try:
        tables = resolve(live, names)
        order = reach(live, tables)
        for table in tables:
            mine, theirs = _columns(live, table), _columns(staging, table)
            if mine != theirs:
                raise TablesRefused(
                    f"{table}: its columns differ between the live database ({', '.join(mine)}) and the "
                    f"backup ({', '.join(theirs) or 'no such table'}); "
                    "a selective restore needs the same schema"
                )
        live.execute("SET LOCAL session_replication_role = replica")
        for table in order:
            live.execute(sql.SQL("DELETE FROM ONLY {}").format(table.ident))
        _emptied(live, tables)
        for table in tables:
            copied[str(table)] = _copy_rows(live, staging, table)
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


def _emptied(live: psycopg.Connection[Any], tables: list[Table]) -> None:
    """Every named table is empty once all are emptied (a firing rule of one may have written another
    after that one's delete: rules writing each other's tables)."""
    for table in tables:
        row = live.execute(sql.SQL("SELECT pg_catalog.count(*) FROM ONLY {}").format(table.ident)).fetchone()
        if row and row[0]:
            raise TablesRefused(
                f"{shown(str(table))}: {row[0]} rows were written into it again by a rule while the tables "
                "named were emptied; restore the whole database; nothing was changed"
            )


def _copy_rows(live: psycopg.Connection[Any], staging: psycopg.Connection[Any], table: Table) -> int:
    """The table's own rows from staging (`COPY t TO` reads no child's rows); a partitioned table has
    none of its own (its named partitions bring theirs)."""
    if table.kind != "r":
        return 0
    columns = sql.SQL(", ").join(map(sql.Identifier, _columns(live, table)))
    out = sql.SQL("COPY {} ({}) TO STDOUT").format(table.ident, columns)
    into = sql.SQL("COPY {} ({}) FROM STDIN").format(table.ident, columns)
    with staging.cursor().copy(out) as source, live.cursor().copy(into) as sink:
        for chunk in source:
            sink.write(chunk)
    row = live.execute(sql.SQL("SELECT pg_catalog.count(*) FROM ONLY {}").format(table.ident)).fetchone()
    return int(row[0]) if row else 0


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
