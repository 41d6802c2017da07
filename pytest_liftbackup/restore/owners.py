"""The dump's ownership statements, applied by us after the whole dump ran as the staging role.

The staging role (server/staging_role) is a member of no role, so `ALTER ... OWNER TO r` and `ALTER
DEFAULT PRIVILEGES FOR ROLE r ...` cannot run as it. They are collected during the restore and run
after its last statement, by the DSN's user on an `elevated` connection, so no code of the dump runs
while a right is lent. Only a statement of exactly the shape pg_dump writes is collected (one pattern
per object kind: a qualified name, an argument type list for routines and operators, never an ALTER
TABLE subcommand list); any other runs as the staging role, where PostgreSQL refuses it. A role that
would give the dump's code more than the dump's owners have (a superuser, one of the predefined roles
that reach files and programs, a role of ours, `pg_*`) is refused, naming it and `--trusted`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import psycopg
from psycopg import sql

from pytest_liftbackup._errors import Part, RestoreError, Setting
from pytest_liftbackup._safe_text import shown
from pytest_liftbackup.dump.inspect import DumpInfo
from pytest_liftbackup.dump.sql_script import Statement, identifier
from pytest_liftbackup.restore.extensions import with_hint
from pytest_liftbackup.server.databases import OURS, into_dump_database, is_superuser

_IDENT = r'(?:"(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)'
_QNAME = rf"(?:({_IDENT})\.)?{_IDENT}"
_ARGS = r'\((?:[A-Za-z0-9_$ ,.\[\]*]|"(?:[^"]|"")+")*\)'
_OPERATOR = rf"(?:({_IDENT})\.)?[-+*/<>=~!@#%^&|`?]+ ?{_ARGS}"
_KINDS = "|".join(
    (
        rf"(?:TABLE|VIEW|MATERIALIZED VIEW|SEQUENCE|FOREIGN TABLE|TYPE|DOMAIN|COLLATION|CONVERSION"
        rf"|TEXT SEARCH DICTIONARY|TEXT SEARCH CONFIGURATION|STATISTICS) {_QNAME}",
        rf"(?:FUNCTION|PROCEDURE|AGGREGATE|ROUTINE) {_QNAME} ?{_ARGS}",
        rf"OPERATOR {_OPERATOR}",
        rf"OPERATOR (?:CLASS|FAMILY) {_QNAME} USING {_IDENT}",
        rf"(?:SCHEMA|SERVER|FOREIGN DATA WRAPPER|PUBLICATION) {_IDENT}",
        r"LARGE OBJECT [0-9]+",
    )
)
_OWNER = re.compile(rf"^ALTER (?:{_KINDS}) OWNER TO ({_IDENT});$")
_DEFAULTS = re.compile(
    rf"^ALTER DEFAULT PRIVILEGES FOR ROLE ({_IDENT})(?: IN SCHEMA {_IDENT})? (?:GRANT|REVOKE) "
    r"[A-Z ,]+ ON (?:TABLES|SEQUENCES|FUNCTIONS|ROUTINES|TYPES|SCHEMAS|LARGE OBJECTS) +"
    rf"(?:TO|FROM) (?:PUBLIC|{_IDENT})(?: WITH GRANT OPTION)?;$"
)
_SESSION_AUTHORIZATION = re.compile(rb"^(?:SET|RESET) SESSION AUTHORIZATION\b")
# The predefined roles that reach the server's files and programs: a member of one is a superuser's peer.
_REACHING = ("pg_execute_server_program", "pg_read_server_files", "pg_write_server_files")


def _text(statement: Statement) -> str:
    return statement.sql.decode("utf-8", "replace").strip()


def deferred(statement: Statement) -> bool:
    """True for an ownership statement of pg_dump's shape: collected, run by `apply` at the end."""
    if not statement.sql.startswith(b"ALTER "):
        return False
    text = _text(statement)
    return bool(_OWNER.match(text) or _DEFAULTS.match(text))


def refused(info: DumpInfo, statement: Statement) -> RestoreError | None:
    """A dump written with --use-set-session-authorization: each object would be made as its owner,
    which the staging role may not become; refused with what to do."""
    if not _SESSION_AUTHORIZATION.match(statement.sql):
        return None
    return RestoreError(
        f"{info.path}:{statement.line}: refused: the dump was written with "
        "--use-set-session-authorization, which the staging role (a member of no role) cannot follow; "
        "take the backup without it, or pass ",
        Setting.TRUSTED,
        " to restore a backup you trust as the DSN's user",
        location=f"line {statement.line}",
    )


def _role_of(statement: Statement) -> tuple[str, str | None, bool]:
    """(the role the statement hands to or acts for, the object's schema, whether it is a schema)."""
    text = _text(statement)
    if match := _DEFAULTS.match(text):
        return identifier(match.group(1)), None, False
    match = _OWNER.match(text)
    assert match is not None
    schema = next((g for g in match.groups()[:-1] if g), None)
    role = identifier(match.group(match.lastindex or 0))
    return role, identifier(schema) if schema else None, text.startswith("ALTER SCHEMA ")


def _why_refused(conn: psycopg.Connection[Any], role: str) -> str | None:
    """Why `role` may not own what the dump made (None: it may)."""
    if role.startswith((OURS, "pg_")):
        return "a role of liftbackup's or a predefined one"
    row = conn.execute(
        "SELECT r.rolsuper, "
        + " OR ".join(["pg_catalog.pg_has_role(r.oid, %s, 'MEMBER')"] * len(_REACHING))
        + " FROM pg_catalog.pg_roles r WHERE r.rolname OPERATOR(pg_catalog.=) %s",
        (*_REACHING, role),
    ).fetchone()
    if row is None:
        return "a role that does not exist on this server"
    if row[0]:
        return "a superuser"
    if row[1]:
        return f"a member of {' / '.join(_REACHING)}"
    return None


def _refusal(info: DumpInfo, statement: Statement, role: str, why: str) -> RestoreError:
    parts: tuple[Part, ...] = (
        f"{info.path}:{statement.line}: refused: the dump hands its objects to {shown(role)}, {why}: "
        "its code would run with those rights; pass ",
        Setting.TRUSTED,
        " to restore a backup you trust as the DSN's user",
    )
    return RestoreError(*parts, location=f"line {statement.line}", statement=_text(statement))


def _not_pg_dumps(info: DumpInfo, statement: Statement) -> RestoreError:
    return RestoreError(
        f"{info.path}: refused {statement.entry or 'an ownership statement'}: it is not of the shape "
        "pg_dump writes, so the archive was crafted or damaged",
        statement=_text(statement),
    )


def apply(info: DumpInfo, statements: list[Statement], admin: Mapping[str, str], database: str) -> int:
    """Run the collected ownership `statements` in `database` as the DSN's user (`admin`: its
    maintenance database), after checking each role; returns how many ran. Raises RestoreError."""
    if not statements:
        return 0
    with into_dump_database(admin, database) as conn:
        superuser = is_superuser(conn)
        for statement in statements:
            if not deferred(statement):  # an archive's entry of another shape than pg_dump's
                raise _not_pg_dumps(info, statement)
            role, schema, is_schema = _role_of(statement)
            if why := _why_refused(conn, role):
                raise _refusal(info, statement, role, why)
            lent = None if superuser else _lent_for(conn, role, schema, database if is_schema else None)
            try:
                _run(conn, statement, role, lent)
            except psycopg.Error as exc:
                hinted = with_hint(exc.diag.message_primary or str(exc), exc.diag.message_hint or "")
                raise RestoreError(
                    f"{info.path}:{statement.line}: ",
                    *hinted,
                    location=f"line {statement.line}",
                    statement=_text(statement),
                ) from None
    return len(statements)


def _lent_for(
    conn: psycopg.Connection[Any], role: str, schema: str | None, database: str | None
) -> sql.Composed | None:
    """What `role` must be lent CREATE on to own the object (a non-superuser's ALTER ... OWNER asks it):
    the object's schema, or for a schema the database; None when it has it already."""
    if database is not None:
        check, on = "has_database_privilege", sql.SQL("DATABASE {}").format(sql.Identifier(database))
    elif schema is not None:
        check, on = "has_schema_privilege", sql.SQL("SCHEMA {}").format(sql.Identifier(schema))
    else:
        return None
    row = conn.execute(
        sql.SQL("SELECT pg_catalog.{}(%s, %s, 'CREATE')").format(sql.Identifier(check)),
        (role, database or schema),
    ).fetchone()
    return None if row and row[0] else on


def _run(conn: psycopg.Connection[Any], statement: Statement, role: str, lent: sql.Composed | None) -> None:
    """The statement, with CREATE on `lent` granted to `role` for it alone."""
    grantee = sql.Identifier(role)
    if lent is not None:
        conn.execute(sql.SQL("GRANT CREATE ON {} TO {}").format(lent, grantee))
    try:
        conn.execute(statement.sql)
    finally:
        if lent is not None:
            conn.execute(sql.SQL("REVOKE CREATE ON {} FROM {}").format(lent, grantee))
