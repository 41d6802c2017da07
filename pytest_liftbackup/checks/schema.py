"""Schema checks read from PostgreSQL's catalogs, reported the pgTAP way: missing/extra, have/want."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psycopg

from pytest_liftbackup.checks import sql_normal as _sqlnormal
from pytest_liftbackup.checks.catalog import (
    DEFAULT_SCHEMA,
    TABLE_KINDS,
    column_names,
    primary_key,
    relation_oid,
    require_relation,
)
from pytest_liftbackup.checks.names import split_qualified, split_reference
from pytest_liftbackup.checks.result import CheckResult
from pytest_liftbackup.checks.vocabulary import CheckSpec

KINDS = (
    "tables",
    "columns",
    "primary_key",
    "foreign_keys",
    "indexes",
    "check_constraints",
    "triggers",
    "functions",
)
_ACTIONS = {"a": "no action", "r": "restrict", "c": "cascade", "n": "set null", "d": "set default"}

Conn = psycopg.Connection[Any]


def _oid(conn: Conn, name: str) -> int | None:
    return relation_oid(conn, name, tables_only=True)


def _table_oid(conn: Conn, name: str) -> int:
    return require_relation(conn, name, tables_only=True)


def _result(subject: str, details: list[str], tested: int, passed: str) -> CheckResult:
    if not details:
        return CheckResult(passed, 0, tested, table=subject)
    headline = details[0] if len(details) == 1 else f"{subject}: {len(details)} differences: {details[0]}"
    return CheckResult(
        headline, len(details), tested, details=details[1:] if len(details) == 1 else details, table=subject
    )


def run(spec: CheckSpec, conn: Conn) -> CheckResult:
    return {
        "tables": _tables,
        "columns": _columns,
        "primary_key": _primary_key,
        "foreign_keys": _foreign_keys,
        "indexes": _indexes,
        "check_constraints": _check_constraints,
        "triggers": _triggers,
        "functions": _functions,
    }[spec.kind](spec, conn)


def _tables(spec: CheckSpec, conn: Conn) -> CheckResult:
    wanted = spec.get("tables") or []
    oids = {name: _oid(conn, name) for name in wanted}
    details = []
    missing = [n for n, oid in oids.items() if oid is None]
    if missing:
        details.append("Missing tables: " + ", ".join(missing))
    if spec.get("exactly"):
        schemas = sorted({_schema_of(conn, n) for n in wanted})
        present = conn.execute(
            "SELECT c.oid, n.nspname || '.' || c.relname "
            "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            f"WHERE n.nspname = ANY (%s) AND c.relkind IN {TABLE_KINDS} AND NOT c.relispartition ORDER BY 2",
            (schemas,),
        ).fetchall()
        extra = [name for oid, name in present if oid not in set(oids.values())]
        if extra:
            details.append("Extra tables: " + ", ".join(extra))
    unwanted = [n for n in spec.get("absent") or [] if _oid(conn, n) is not None]
    if unwanted:
        details.append("Tables that should not exist: " + ", ".join(unwanted))
    return _result("tables", details, len(wanted), f"all {len(wanted)} tables exist")


def _schema_of(conn: Conn, name: str) -> str:
    schema, _ = split_qualified(name) or (None, name)
    if schema:
        return schema
    row = conn.execute(DEFAULT_SCHEMA).fetchone()
    return str(row[0]) if row else "public"


def _columns(spec: CheckSpec, conn: Conn) -> CheckResult:
    table = spec.get("table")
    oid = _table_oid(conn, table)
    rows = conn.execute(
        "SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull, "
        "pg_get_expr(d.adbin, d.adrelid) "
        "FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum "
        "WHERE a.attrelid = %s AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
        (oid,),
    ).fetchall()
    have = {r[0]: r for r in rows}
    wanted = dict(spec.get("columns"))
    details = []
    missing = [c for c in wanted if c not in have]
    if missing:
        details.append(f"Missing columns in {table}: " + ", ".join(missing))
    if spec.get("exactly"):
        extra = [c for c in have if c not in wanted]
        if extra:
            details.append(f"Extra columns in {table}: " + ", ".join(extra))
    unwanted = [c for c in spec.get("absent") or [] if c in have]
    if unwanted:
        details.append(f"Columns that should not exist in {table}: " + ", ".join(unwanted))
    for name, want in wanted.items():
        if name in have:
            details.extend(_column_differences(table, name, want, have[name]))
    return _result(table, details, len(wanted), f"{table}: all {len(wanted)} columns as described")


def _column_differences(table: str, name: str, want: dict[str, Any], have: tuple[Any, ...]) -> list[str]:
    _, have_type, not_null, default = have
    out = []
    if "type" in want and _sqlnormal.type_name(want["type"]) != _sqlnormal.type_name(have_type):
        out.append(f"{table}.{name} type: have {have_type}, want {want['type']}")
    serial = "type" in want and _sqlnormal.is_serial(want["type"]) and "default" not in want
    if serial and not str(default or "").startswith("nextval("):
        out.append(f"{table}.{name} default: have {default or 'none'}, want nextval(...) ({want['type']})")
    if "nullable" in want and want["nullable"] == bool(not_null):
        out.append(
            f"{table}.{name} nullable: have {'NOT NULL' if not_null else 'NULL allowed'}, "
            f"want {'NULL allowed' if want['nullable'] else 'NOT NULL'}"
        )
    if "default" in want:
        wanted_default = want["default"]
        if wanted_default is None:
            if default is not None:
                out.append(f"{table}.{name} default: have {default}, want none")
        elif default is None or _sqlnormal.expression(str(wanted_default)) != _sqlnormal.expression(default):
            out.append(f"{table}.{name} default: have {default or 'none'}, want {wanted_default}")
    return out


def _primary_key(spec: CheckSpec, conn: Conn) -> CheckResult:
    table = spec.get("table")
    want = list(spec.get("primary_key"))
    have = primary_key(conn, _table_oid(conn, table))
    if have == want:
        return CheckResult(f"{table} has primary key ({', '.join(want)})", 0, 1, table=table)
    have_text = f"({', '.join(have)})" if have else "none"
    return CheckResult(
        f"{table}: primary key is {have_text}, want ({', '.join(want)})"
        if have
        else f"{table} has no primary key, want ({', '.join(want)})",
        1,
        1,
        details=[f"have: {have_text}", f"want: ({', '.join(want)})"],
        table=table,
    )


def _foreign_keys(spec: CheckSpec, conn: Conn) -> CheckResult:
    table = spec.get("table")
    oid = _table_oid(conn, table)
    have = conn.execute(
        "SELECT conname, conkey::int[], confrelid, confkey::int[], confdeltype, confupdtype "
        "FROM pg_constraint "
        "WHERE conrelid = %s AND contype = 'f' ORDER BY conname",
        (oid,),
    ).fetchall()
    found = [
        (name, column_names(conn, oid, list(keys)), ref, column_names(conn, ref, list(refkeys)), dele, upd)
        for name, keys, ref, refkeys, dele, upd in have
    ]
    details = []
    for name, want in spec.get("foreign_keys"):
        parent, parent_columns = split_reference(want["references"]) or ("", [])
        parent_oid = _oid(conn, parent)
        shape = f"({', '.join(want['columns'])}) -> {want['references']}"
        match = [
            f
            for f in found
            if (not name or f[0] == name)
            and f[1] == want["columns"]
            and f[2] == parent_oid
            and f[3] == parent_columns
        ]
        if not match:
            by_name = [f for f in found if name and f[0] == name]
            have_text = (
                f"({', '.join(by_name[0][1])}) -> {by_name[0][2]}({', '.join(by_name[0][3])})"
                if by_name
                else "none"
            )
            details.append(
                f"Missing foreign key {name + ' ' if name else ''}{shape} on {table} (have: {have_text})"
            )
            continue
        for key, index in (("on_delete", 4), ("on_update", 5)):
            have_action = _ACTIONS[str(match[0][index])]
            if key in want and have_action != want[key].lower().replace("_", " "):
                details.append(
                    f"{table} foreign key {match[0][0]} {key}: have {have_action}, want {want[key]}"
                )
    return _result(table, details, len(spec.get("foreign_keys")), f"{table}: foreign keys as described")


_ONE = {"indexes": "index", "check constraints": "check constraint", "triggers": "trigger"}


def _named(
    spec: CheckSpec,
    conn: Conn,
    what: str,
    query: str,
    differences: Callable[[int, str, dict[str, Any], tuple[Any, ...]], list[str]],
) -> CheckResult:
    """Indexes, check constraints, triggers: named objects of one table, each compared with its entry.

    `query` lists the table's objects, name first; `differences` says what differs for one of them.
    """
    table = spec.get("table")
    oid = _table_oid(conn, table)
    have = {r[0]: r for r in conn.execute(query.encode(), (oid,)).fetchall()}
    wanted = dict(spec.get(spec.kind))
    details = []
    missing = [n for n in wanted if n not in have]
    unclaimed = [n for n in have if n not in wanted]
    twins = {}  # a missing name -> an unwanted object with exactly the wanted definition
    for name in missing:
        if wanted[name]:  # an entry with no details matches anything: no twin to name
            twin = next((n for n in unclaimed if not differences(oid, name, wanted[name], have[n])), None)
            if twin is not None:
                twins[name] = twin
                unclaimed.remove(twin)
    if len(twins) < len(missing):
        details.append(f"Missing {what} on {table}: " + ", ".join(n for n in missing if n not in twins))
    one = _ONE[what]
    details += [
        f"Missing {one} {name} on {table}; the same {one} exists as {twin}" for name, twin in twins.items()
    ]
    for name, want in wanted.items():
        if name in have:
            details.extend(differences(oid, name, want, have[name]))
    return _result(table, details, len(wanted), f"{table}: all {len(wanted)} {what} as described")


def _indexes(spec: CheckSpec, conn: Conn) -> CheckResult:
    def differences(oid: int, name: str, want: dict[str, Any], have: tuple[Any, ...]) -> list[str]:
        _, unique, primary, method, predicate, index_oid, nkeys, options = have
        out = []
        if "columns" in want:
            columns = []
            for k in range(1, nkeys + 1):
                row = conn.execute("SELECT pg_get_indexdef(%s, %s, true)", (index_oid, k)).fetchone()
                desc = " desc" if options and options[k - 1] & 1 else ""
                columns.append(f"{row[0] if row else '?'}{desc}")
            want_columns = [" ".join(c.lower().split()) for c in want["columns"]]
            want_columns = [c[:-4] if c.endswith(" asc") else c for c in want_columns]
            if [c.lower() for c in columns] != want_columns:
                out.append(
                    f"index {name} columns: have ({', '.join(columns)}), want ({', '.join(want['columns'])})"
                )
        for key, value in (("unique", unique), ("primary", primary)):
            if key in want and want[key] != value:
                out.append(f"index {name} {key}: have {str(value).lower()}, want {str(want[key]).lower()}")
        if "method" in want and want["method"].lower() != method:
            out.append(f"index {name} method: have {method}, want {want['method']}")
        if "where" in want and (
            predicate is None or _sqlnormal.expression(want["where"]) != _sqlnormal.expression(predicate)
        ):
            out.append(f"index {name} where: have {predicate or 'none (not partial)'}, want {want['where']}")
        return out

    return _named(
        spec,
        conn,
        "indexes",
        "SELECT c.relname, i.indisunique, i.indisprimary, am.amname, pg_get_expr(i.indpred, i.indrelid), "
        "i.indexrelid, i.indnkeyatts, i.indoption::int2[] "
        "FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am am ON am.oid = c.relam "
        "WHERE i.indrelid = %s",
        differences,
    )


def _check_constraints(spec: CheckSpec, conn: Conn) -> CheckResult:
    def differences(oid: int, name: str, want: dict[str, Any], have: tuple[Any, ...]) -> list[str]:
        _, definition, attnums = have
        out = []
        body = definition.removeprefix("CHECK ").removesuffix(" NOT VALID")
        if "expression" in want and _sqlnormal.expression(want["expression"]) != _sqlnormal.expression(body):
            out.append(f"check constraint {name}: have {definition}, want CHECK ({want['expression']})")
        if "columns" in want:
            columns = column_names(conn, oid, list(attnums or []))
            if sorted(columns) != sorted(want["columns"]):
                out.append(f"check constraint {name} columns: have {columns}, want {want['columns']}")
        return out

    return _named(
        spec,
        conn,
        "check constraints",
        "SELECT conname, pg_get_constraintdef(oid, true), conkey::int[] FROM pg_constraint "
        "WHERE conrelid = %s AND contype = 'c'",
        differences,
    )


_TIMING = {2: "before", 64: "instead of"}
_EVENTS = ((4, "insert"), (8, "delete"), (16, "update"), (32, "truncate"))


def _triggers(spec: CheckSpec, conn: Conn) -> CheckResult:
    def differences(oid: int, name: str, want: dict[str, Any], have: tuple[Any, ...]) -> list[str]:
        _, function, tgtype = have
        timing = next((t for bit, t in _TIMING.items() if tgtype & bit), "after")
        events = [e for bit, e in _EVENTS if tgtype & bit]
        level = "row" if tgtype & 1 else "statement"
        want_function = (split_qualified(want.get("function", "")) or (None, ""))[1].removesuffix("()")
        out = []
        if "function" in want and want_function != function:
            out.append(f"trigger {name} function: have {function}, want {want['function']}")
        if "timing" in want and want["timing"].lower() != timing:
            out.append(f"trigger {name} timing: have {timing}, want {want['timing']}")
        if "events" in want and sorted(e.lower() for e in want["events"]) != sorted(events):
            out.append(f"trigger {name} events: have {', '.join(events)}, want {', '.join(want['events'])}")
        if "level" in want and want["level"].lower() != level:
            out.append(f"trigger {name} level: have {level}, want {want['level']}")
        return out

    return _named(
        spec,
        conn,
        "triggers",
        "SELECT t.tgname, p.proname, t.tgtype FROM pg_trigger t JOIN pg_proc p ON p.oid = t.tgfoid "
        "WHERE t.tgrelid = %s AND NOT t.tgisinternal",
        differences,
    )


def _functions(spec: CheckSpec, conn: Conn) -> CheckResult:
    details = []
    wanted = spec.get("functions")
    for name, want in wanted:
        schema, bare = split_qualified(name) or (None, name)
        bare = bare.removesuffix("()")
        rows = conn.execute(
            "SELECT l.lanname, pg_get_function_result(p.oid) FROM pg_proc p "
            "JOIN pg_namespace n ON n.oid = p.pronamespace JOIN pg_language l ON l.oid = p.prolang "
            f"WHERE p.proname = %s AND n.nspname = coalesce(%s, ({DEFAULT_SCHEMA}))",
            (bare, schema),
        ).fetchall()
        if not rows:
            details.append(f"Missing function: {name}")
            continue
        language, returns = rows[0]
        if "language" in want and want["language"].lower() != language:
            details.append(f"function {name} language: have {language}, want {want['language']}")
        if "returns" in want and _sqlnormal.type_name(want["returns"]) != _sqlnormal.type_name(returns):
            details.append(f"function {name} returns: have {returns}, want {want['returns']}")
    return _result("functions", details, len(wanted), f"all {len(wanted)} functions exist")
