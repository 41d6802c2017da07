"""Data checks (not_null, unique, accepted_values, relationship, expression, sql) and row counts.

Each row check is one condition that is true for a failing row; the same condition gives the count,
the sample and the SQL a person can paste to list every failure.
"""

from __future__ import annotations

from typing import Any

import psycopg

from pytest_liftbackup.checks.catalog import primary_key, require_relation, table_sql
from pytest_liftbackup.checks.names import ident, literal, split_relationship
from pytest_liftbackup.checks.readonly_sql import referenced_columns
from pytest_liftbackup.checks.result import CheckResult
from pytest_liftbackup.checks.vocabulary import CheckSpec

ROW_KINDS = ("not_null", "accepted_values", "relationship", "expression")


def _source(spec: CheckSpec) -> str:
    if spec.get("table"):
        return f"{table_sql(spec.get('table'))} t"
    return f"({spec.get('query')}) t"


def _where(spec: CheckSpec) -> str:
    return f"({spec.get('where')})" if spec.get("where") else "true"


def label(spec: CheckSpec) -> str:
    base = spec.get("table") or spec.get("row_count") or "the query"
    return f"{base} where {spec.get('where')}" if spec.get("where") else base


def _columns(names: list[str]) -> str:
    return ", ".join(f"t.{ident(c)}" for c in names)


def _relationship(spec: CheckSpec) -> tuple[list[str], str, list[str]]:
    """(child columns, parent table, parent columns) of a relationship check."""
    return split_relationship(spec.get("relationship")) or ([], "", [])


def failing_condition(spec: CheckSpec) -> str:
    """SQL true for a row that fails a row check."""
    if spec.kind == "not_null":
        return " OR ".join(f"t.{ident(c)} IS NULL" for c in spec.get("not_null"))
    if spec.kind == "accepted_values":
        column = f"t.{ident(spec.get('column'))}"
        values = ", ".join(literal(v) for v in spec.get("accepted_values"))
        return f"{column} IS NOT NULL AND {column} NOT IN ({values})"
    if spec.kind == "relationship":
        children, parent, parent_columns = _relationship(spec)
        present = " AND ".join(f"t.{ident(c)} IS NOT NULL" for c in children)
        joins = " AND ".join(
            f"p.{ident(pc)} = t.{ident(cc)}" for pc, cc in zip(parent_columns, children, strict=False)
        )
        return f"{present} AND NOT EXISTS (SELECT 1 FROM {table_sql(parent)} p WHERE {joins})"
    if spec.kind == "expression":
        return f"NOT COALESCE(({spec.get('expression')}), false)"
    raise AssertionError(spec.kind)


def _unique_groups(spec: CheckSpec, keys: list[str]) -> str:
    columns = spec.get("unique")
    cols = _columns(columns)
    present = " AND ".join(f"t.{ident(c)} IS NOT NULL" for c in columns)
    extra = [k for k in keys if k not in columns]
    agg = "".join(
        f", string_agg(t.{ident(k)}::text, ', ' ORDER BY t.{ident(k)}) AS {ident(k)}" for k in extra
    )
    return (
        f"SELECT {cols}, count(*) AS duplicates{agg} FROM {_source(spec)} "
        f"WHERE {_where(spec)} AND {present} GROUP BY {cols} HAVING count(*) > 1"
    )


def queries_to_validate(spec: CheckSpec) -> list[tuple[str, str]]:
    """(key, SQL) pairs checked read-only when the file is collected; the key names the line."""
    pieces: list[tuple[str, str]] = []
    if spec.get("query"):
        pieces.append(("query", spec.get("query")))
    if spec.get("where"):
        pieces.append(("where", f"SELECT 1 WHERE ({spec.get('where')})"))
    if spec.kind == "expression":
        pieces.append(("expression", f"SELECT ({spec.get('expression')})"))
    if spec.kind == "sql":
        pieces.append(("sql", spec.get("sql")))
    elif spec.kind in ROW_KINDS:
        pieces.append(
            (spec.kind, f"SELECT * FROM {_source(spec)} WHERE {_where(spec)} AND ({failing_condition(spec)})")
        )
    elif spec.kind == "unique":
        pieces.append(("unique", _unique_groups(spec, [])))
    elif spec.kind == "row_count":
        pieces.append(
            ("row_count", f"SELECT count(*) FROM {table_sql(spec.get('row_count'))} t WHERE {_where(spec)}")
        )
    return pieces


def _count(conn: psycopg.Connection[Any], sql: str) -> int:
    return _counts(conn, sql)[0]


def _counts(conn: psycopg.Connection[Any], sql: str) -> tuple[int, ...]:
    """The numbers of a one-row query: several counts from one pass over a table, not one pass each."""
    row = conn.execute(sql.encode()).fetchone()
    return tuple(int(value or 0) for value in row) if row else (0,)


def _dicts(conn: psycopg.Connection[Any], sql: str) -> list[dict[str, Any]]:
    cur = conn.execute(sql.encode())
    names = [d.name for d in cur.description or []]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def run(spec: CheckSpec, conn: psycopg.Connection[Any], sample: int) -> CheckResult:
    if spec.kind == "row_count":
        return _row_count(spec, conn)
    if spec.kind == "not_empty":
        return _not_empty(spec, conn)
    if spec.kind == "sql":
        return _sql(spec, conn, sample)
    table = spec.get("table")
    keys = spec.get("key") or (primary_key(conn, require_relation(conn, table)) if table else [])
    if spec.kind == "unique":
        tested = _count(conn, f"SELECT count(*) FROM {_source(spec)} WHERE {_where(spec)}")
        return _unique(spec, conn, keys, tested, sample)
    failing = failing_condition(spec)
    condition = f"{_where(spec)} AND ({failing})"
    if spec.kind == "relationship":  # NOT EXISTS in a WHERE is an anti-join; in a FILTER, a probe per row
        tested = _count(conn, f"SELECT count(*) FROM {_source(spec)} WHERE {_where(spec)}")
        failures = _count(conn, f"SELECT count(*) FROM {_source(spec)} WHERE {condition}")
    else:
        counts = f"SELECT count(*), count(*) FILTER (WHERE {failing})"
        tested, failures = _counts(conn, f"{counts} FROM {_source(spec)} WHERE {_where(spec)}")
    shown = keys + [c for c in _shown_columns(spec) if c not in keys]
    select = _columns(shown) if shown else "t.*"
    order = f" ORDER BY {_columns(keys)}" if keys else ""
    listing = f"SELECT {select} FROM {_source(spec)} WHERE {condition}{order}"
    rows = _dicts(conn, f"{listing} LIMIT {sample}") if failures and sample else []
    result = CheckResult(
        _row_headline(spec, conn, failures, condition),
        failures,
        tested,
        sample=rows,
        sample_key=keys,
        failures_sql=listing,
        table=table or "",
    )
    if not failures:
        result.summary = f"all {tested} rows of {label(spec)} pass"
    return result


def _shown_columns(spec: CheckSpec) -> list[str]:
    if spec.kind == "not_null":
        return list(spec.get("not_null"))
    if spec.kind == "accepted_values":
        return [spec.get("column")]
    if spec.kind == "relationship":
        return _relationship(spec)[0]
    return referenced_columns(spec.get("expression"))


def _row_headline(spec: CheckSpec, conn: psycopg.Connection[Any], failures: int, condition: str) -> str:
    one = failures == 1
    rows = f"{failures} row{'' if one else 's'} of {label(spec)}"
    if spec.kind == "not_null":
        return f"{rows} {'has' if one else 'have'} NULL in {', '.join(spec.get('not_null'))}"
    if spec.kind == "relationship":
        children, parent, parent_columns = _relationship(spec)
        return (
            f"{rows} {'points' if one else 'point'} at no row of {parent}({', '.join(parent_columns)}) "
            f"by {', '.join(children)}"
        )
    if spec.kind == "expression":
        return f"{rows} {'fails' if one else 'fail'} ({spec.get('expression')})"
    column = f"t.{ident(spec.get('column'))}"
    seen = _dicts(
        conn,
        f"SELECT {column}::text AS value, count(*) AS n FROM {_source(spec)} WHERE {condition} "
        f"GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 5",
    )
    values = ", ".join(f"{r['value']!r} x{r['n']}" for r in seen)
    accepted = ", ".join(str(v) for v in spec.get("accepted_values"))
    return f"{rows} {'has' if one else 'have'} {spec.get('column')} not in ({accepted}), seen {values}"


def _unique(
    spec: CheckSpec, conn: psycopg.Connection[Any], keys: list[str], tested: int, sample: int
) -> CheckResult:
    groups = _unique_groups(spec, keys)
    order = ", ".join(ident(c) for c in spec.get("unique"))
    listing = f"SELECT * FROM ({groups}) g ORDER BY {order}"
    failures, duplicated = _counts(conn, f"SELECT count(*), sum(duplicates) FROM ({groups}) g")
    cols = ", ".join(spec.get("unique"))
    result = CheckResult(
        f"{failures} value{'s' if failures != 1 else ''} of ({cols}) "
        f"{'occurs' if failures == 1 else 'occur'} more than once in {label(spec)} "
        f"({duplicated} rows)",
        failures,
        tested,
        sample=_dicts(conn, f"{listing} LIMIT {sample}") if failures and sample else [],
        sample_key=list(spec.get("unique")),
        failures_sql=listing,
        table=spec.get("table") or "",
    )
    if not failures:
        result.summary = f"({cols}) is unique over {tested} rows of {label(spec)}"
    return result


def _sql(spec: CheckSpec, conn: psycopg.Connection[Any], sample: int) -> CheckResult:
    query = spec.get("sql")
    failures = _count(conn, f"SELECT count(*) FROM ({query}) f")
    rows = _dicts(conn, f"SELECT * FROM ({query}) f LIMIT {sample}") if failures and sample else []
    return CheckResult(
        f"the query returned {failures} failing row{'s' if failures != 1 else ''}" if failures else "no rows",
        failures,
        None,
        sample=rows,
        sample_key=list(rows[0])[:1] if rows else [],
        failures_sql=" ".join(query.split()),
    )


def _row_count(spec: CheckSpec, conn: psycopg.Connection[Any]) -> CheckResult:
    table = spec.get("row_count")
    count = _count(conn, f"SELECT count(*) FROM {table_sql(table)} t WHERE {_where(spec)}")
    name = label(spec)
    wants = []
    if spec.get("exactly") is not None and count != spec.get("exactly"):
        wants.append(f"exactly {spec.get('exactly')}")
    if spec.get("min") is not None and count < spec.get("min"):
        wants.append(f"at least {spec.get('min')}")
    if spec.get("max") is not None and count > spec.get("max"):
        wants.append(f"at most {spec.get('max')}")
    summary = f"{name} has {count} row{'s' if count != 1 else ''}"
    return CheckResult(
        f"{summary}, want {' and '.join(wants)}" if wants else summary,
        1 if wants else 0,
        None,
        details=[f"have: {count} rows", f"want: {' and '.join(wants)}"] if wants else [],
        table=table,
    )


def _not_empty(spec: CheckSpec, conn: psycopg.Connection[Any]) -> CheckResult:
    tables = spec.get("not_empty")
    empty = [
        t
        for t in tables
        if not _count(conn, f"SELECT count(*) FROM (SELECT 1 FROM {table_sql(t)} LIMIT 1) s")
    ]
    if not empty:
        return CheckResult(f"none of {len(tables)} tables is empty", 0, len(tables))
    return CheckResult(
        f"{len(empty)} of {len(tables)} tables are empty: {', '.join(empty)}",
        len(empty),
        len(tables),
        details=["Empty tables: " + ", ".join(empty)],
    )
