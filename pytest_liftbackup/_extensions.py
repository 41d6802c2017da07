"""Extensions that only a superuser may create (pgvector, PostGIS...), without trusting the dump.

The restore runs as a non-superuser, so `CREATE EXTENSION vector` from a dump would fail. A statement
that has exactly the shape pg_dump writes is parsed into names, and our own statement, composed from
those names with psycopg's quoting, is run by the superuser: the dump's text itself never runs with
superuser rights. Anything else stays with the restorer (and fails clearly if it needs more).
"""

from __future__ import annotations

import re

from psycopg import sql

from ._sqlscript import Statement

_IDENT = r'(?:"(?:[^"]|"")+"|[a-z_][a-z0-9_$]*)'
_CREATE = re.compile(rf"^CREATE EXTENSION IF NOT EXISTS ({_IDENT}) WITH SCHEMA ({_IDENT});$")
_COMMENT = re.compile(rf"^COMMENT ON EXTENSION ({_IDENT}) IS '((?:[^']|'')*)';$", re.DOTALL)


def _ident(raw: str) -> str:
    return raw[1:-1].replace('""', '"') if raw.startswith('"') else raw


def superuser_statement(statement: Statement) -> sql.Composed | None:
    """Our own rewrite of a pg_dump extension statement, or None when it is not one."""
    entry = statement.entry
    if entry is None or entry.type not in ("EXTENSION", "COMMENT"):
        return None
    text = statement.sql.decode("utf-8", "replace")
    if entry.type == "EXTENSION" and (m := _CREATE.match(text)):
        return sql.SQL("CREATE EXTENSION IF NOT EXISTS {} WITH SCHEMA {}").format(
            sql.Identifier(_ident(m.group(1))), sql.Identifier(_ident(m.group(2)))
        )
    if entry.type == "COMMENT" and entry.name.startswith("EXTENSION ") and (m := _COMMENT.match(text)):
        return sql.SQL("COMMENT ON EXTENSION {} IS {}").format(
            sql.Identifier(_ident(m.group(1))), sql.Literal(m.group(2).replace("''", "'"))
        )
    return None
