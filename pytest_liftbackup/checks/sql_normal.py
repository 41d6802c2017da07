"""Compare what a check file says with what PostgreSQL prints back, despite PostgreSQL's rewriting.

The catalog gives `((status)::text = ANY ((ARRAY['DRAFT'::character varying])::text[]))` where the
migration said `status IN ('DRAFT')`, and `character varying(120)` for `varchar(120)`. sqlglot parses
both sides; casts and parentheses are dropped, `= ANY (ARRAY[...])` becomes `IN (...)`, and types go
through sqlglot's own canonical names.
"""

from __future__ import annotations

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError

_SERIALS = {"smallserial": "smallint", "serial": "integer", "bigserial": "bigint"}


def type_name(text: str) -> str:
    """A canonical spelling of a PostgreSQL type: `int4`, `integer` and `int` are one type."""
    cleaned = " ".join(text.strip().lower().split())
    cleaned = _SERIALS.get(cleaned, cleaned)
    try:
        return exp.DataType.build(cleaned, dialect="postgres").sql("postgres")
    except (ParseError, ValueError):
        return cleaned


def is_serial(text: str) -> bool:
    return text.strip().lower() in _SERIALS


def _simplify(node: exp.Expression) -> exp.Expression:
    if isinstance(node, exp.Cast | exp.Paren):
        inner: exp.Expression = node.this
        return inner
    if isinstance(node, exp.EQ) and isinstance(node.expression, exp.Any):
        inner = node.expression.this
        while isinstance(inner, exp.Paren | exp.Cast):
            inner = inner.this
        if isinstance(inner, exp.Array):
            return exp.In(this=node.this, expressions=list(inner.expressions))
    if isinstance(node, exp.EQ) and isinstance(node.expression, exp.Boolean) and node.expression.this:
        column: exp.Expression = node.this  # `is_published = true` says what `is_published` says
        return column
    return node


def expression(text: str) -> str:
    """A canonical spelling of a SQL expression, for equality tests only."""
    try:
        parsed = sqlglot.parse_one(text, read="postgres")
    except ParseError:
        return " ".join(text.lower().split())
    previous = None
    current = parsed.sql("postgres")
    while previous != current:  # casts wrap parens wrap casts: repeat until nothing changes
        parsed = parsed.transform(_simplify)
        previous, current = current, parsed.sql("postgres")
    return current
