"""Names from check files turned into SQL, quoted only where PostgreSQL needs it: shown SQL stays readable."""

from __future__ import annotations

import re

_BARE = re.compile(r"^[a-z_][a-z0-9_$]*$")
# PostgreSQL's reserved key words (appendix C, "reserved" and "reserved (can be function or type)").
_RESERVED = frozenset(
    [
        "all",
        "analyse",
        "analyze",
        "and",
        "any",
        "array",
        "as",
        "asc",
        "asymmetric",
        "authorization",
        "binary",
        "both",
        "case",
        "cast",
        "check",
        "collate",
        "collation",
        "column",
        "concurrently",
        "constraint",
        "create",
        "cross",
        "current_catalog",
        "current_date",
        "current_role",
        "current_schema",
        "current_time",
        "current_timestamp",
        "current_user",
        "default",
        "deferrable",
        "desc",
        "distinct",
        "do",
        "else",
        "end",
        "except",
        "false",
        "fetch",
        "for",
        "foreign",
        "freeze",
        "from",
        "full",
        "grant",
        "group",
        "having",
        "ilike",
        "in",
        "initially",
        "inner",
        "intersect",
        "into",
        "is",
        "isnull",
        "join",
        "lateral",
        "leading",
        "left",
        "like",
        "limit",
        "localtime",
        "localtimestamp",
        "natural",
        "not",
        "notnull",
        "null",
        "offset",
        "on",
        "only",
        "or",
        "order",
        "outer",
        "overlaps",
        "placing",
        "primary",
        "references",
        "returning",
        "right",
        "select",
        "session_user",
        "similar",
        "some",
        "symmetric",
        "system_user",
        "table",
        "tablesample",
        "then",
        "to",
        "trailing",
        "true",
        "union",
        "unique",
        "user",
        "using",
        "variadic",
        "verbose",
        "when",
        "where",
        "window",
        "with",
    ]
)
_PART = r'(?:"(?:[^"]|"")[^"]*(?:""[^"]*)*"|[^".\s()]+)'
_QUALIFIED = re.compile(rf"^\s*({_PART})(?:\s*\.\s*({_PART}))?\s*$")


def ident(name: str) -> str:
    return name if _BARE.match(name) and name not in _RESERVED else '"' + name.replace('"', '""') + '"'


def _unquote(part: str) -> str:
    return part[1:-1].replace('""', '"') if part.startswith('"') else part


def split_qualified(name: str) -> tuple[str | None, str] | None:
    """`schema.table`, `table` or `"Odd Name"` as (schema or None, name); None when it is not a name."""
    match = _QUALIFIED.match(name)
    if not match:
        return None
    first, second = match.group(1), match.group(2)
    if second is None:
        return None, _unquote(first)
    return _unquote(first), _unquote(second)


def qualified(schema: str | None, name: str) -> str:
    return f"{ident(schema)}.{ident(name)}" if schema else ident(name)


def literal(value: object) -> str:
    """A SQL literal for accepted values: strings quoted, numbers and booleans as they are."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


_REFERENCE = re.compile(r"^\s*(?P<table>[^()]+?)\s*\(\s*(?P<columns>[^()]+)\)\s*$")


def split_reference(text: str) -> tuple[str, list[str]] | None:
    """`lift_system(id)` or `s.t(a, b)` as (table, [columns]); None when it is not of that shape."""
    match = _REFERENCE.match(text)
    if not match:
        return None
    columns = [c.strip() for c in match.group("columns").split(",")]
    if not all(columns) or split_qualified(match.group("table")) is None:
        return None
    return match.group("table"), [_unquote(c) for c in columns]


def split_relationship(text: str) -> tuple[list[str], str, list[str]] | None:
    """`lift_system_id -> lift_system(id)` or `(a, b) -> p(x, y)` as (children, parent, parent columns)."""
    child, arrow, reference = text.partition("->")
    parent = split_reference(reference) if arrow else None
    children = [_unquote(c.strip()) for c in child.strip().removeprefix("(").removesuffix(")").split(",")]
    if parent is None or not all(children) or len(children) != len(parent[1]):
        return None
    return children, parent[0], parent[1]
