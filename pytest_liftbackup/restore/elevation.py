"""Statements of good dumps that need a superuser, done for an untrusted dump on its own objects only.

A superuser restore (`psql -f`, `pg_restore`) runs them without a second thought; the dump's own
role may not. Each is recognised by the exact shape pg_dump writes, its names are read and looked up
as the restorer (so only objects and roles the restorer could already act on qualify), and the
superuser runs our statement composed from the names found, never the dump's text:

- `ALTER TABLE [ONLY] t DISABLE|ENABLE TRIGGER ALL` (pg_dump --disable-triggers): the system
  triggers that check foreign keys are in ALL; only on a table the restorer owns through its roles,
  so it only ever changes what that table's own rows are checked against;
- `ALTER [PROCEDURAL] LANGUAGE plpgsql OWNER TO r` (pg_dump 8.4 to 9.0): r one of the dump's roles.

One is run by the restorer in a form it may run: `SET SESSION AUTHORIZATION 'r'` (pg_dump
--use-set-session-authorization) becomes `SET ROLE r`, and its reset `RESET ROLE`; objects are then
created by r, with r's rights, as under a superuser's restore (which gives up its own rights there).

And one the restorer runs itself, with a right lent for one statement: `ALTER ... OWNER TO r`
refused because r may not create in the object's schema (objects of several owners in one schema,
`public` since PostgreSQL 15: a superuser is never asked for that right). The superuser grants r
CREATE on the schemas where r lacks it, the restorer runs the dump's statement, and the grants are
revoked at once: the schemas' privileges end as they were.

The superuser's connection is `server/databases.elevated` (an empty search_path, set at connect), and
every lookup here, the restorer's too (its answers decide what the superuser does), names its
operators and functions in pg_catalog: a dump's `public.!~~(name, name)` is never the one called.
"""

from __future__ import annotations

import re
from typing import Any

import psycopg
from psycopg import sql

from pytest_liftbackup.dump.sql_script import Statement, identifier
from pytest_liftbackup.server.databases import OURS

_NAME = r'(?:"(?:[^"]|"")[^"]*(?:""[^"]*)*"|[A-Za-z_][A-Za-z0-9_$]*)'
_TRIGGERS = re.compile(rf"^ALTER TABLE (ONLY )?({_NAME}(?:\.{_NAME})?) (DISABLE|ENABLE) TRIGGER ALL;?$")
_PLPGSQL_OWNER = re.compile(rf"^ALTER (?:PROCEDURAL )?LANGUAGE plpgsql OWNER TO ({_NAME});?$")
_OWNER_TO = re.compile(rf"^ALTER .* OWNER TO ({_NAME});?$", re.DOTALL)


_SESSION_AUTHORIZATION = re.compile(rb"^SET SESSION AUTHORIZATION '((?:[^']|'')+)';$")
_RESET_AUTHORIZATION = re.compile(rb"^(?:SET SESSION AUTHORIZATION DEFAULT|RESET SESSION AUTHORIZATION);$")


def as_restorer(conn: psycopg.Connection[Any], statement: Statement) -> Statement:
    """`statement`, or the form of it the restorer may run (SET SESSION AUTHORIZATION, see above)."""
    if not statement.sql.startswith((b"SET SESSION AUTHORIZATION", b"RESET SESSION AUTHORIZATION")):
        return statement
    if match := _SESSION_AUTHORIZATION.match(statement.sql):
        role = match.group(1).decode("utf-8", "replace").replace("''", "'")
        text = sql.SQL("SET ROLE {};").format(sql.Identifier(role)).as_bytes(conn)
    elif _RESET_AUTHORIZATION.match(statement.sql):
        text = b"RESET ROLE;"
    else:
        return statement
    return Statement(text, statement.line, statement.entry)


def _acts_as(conn: psycopg.Connection[Any], role: str) -> bool:
    """True when the restorer may act as `role`: one of its dump's roles, never one of ours."""
    if role.startswith((OURS, "pg_")):
        return False
    row = conn.execute(
        "SELECT pg_catalog.pg_has_role(CURRENT_USER, r.oid, 'USAGE') FROM pg_catalog.pg_roles r "
        "WHERE r.rolname OPERATOR(pg_catalog.=) %s",
        (role,),
    ).fetchone()
    return bool(row and row[0])


def for_superuser(conn: psycopg.Connection[Any], statement: Statement) -> sql.Composed | None:
    """Our statement for the superuser to run in place of `statement`, or None when it is not one of
    those above or names something the restorer (on `conn`) could not act on."""
    text = statement.sql.decode("utf-8", "replace").strip()
    if match := _TRIGGERS.match(text):
        row = conn.execute(
            "SELECT n.nspname, c.relname, pg_catalog.pg_has_role(CURRENT_USER, c.relowner, 'USAGE') "
            "FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n "
            "ON n.oid OPERATOR(pg_catalog.=) c.relnamespace "
            "WHERE c.oid OPERATOR(pg_catalog.=) pg_catalog.to_regclass(%s)::pg_catalog.oid",
            (match.group(2),),
        ).fetchone()
        if row is None or not row[2]:
            return None
        return sql.SQL("ALTER TABLE {}{}.{} {} TRIGGER ALL").format(
            sql.SQL("ONLY " if match.group(1) else ""),
            sql.Identifier(row[0]),
            sql.Identifier(row[1]),
            sql.SQL(match.group(3)),
        )
    if (match := _PLPGSQL_OWNER.match(text)) and _acts_as(conn, role := identifier(match.group(1))):
        return sql.SQL("ALTER LANGUAGE plpgsql OWNER TO {}").format(sql.Identifier(role))
    return None


def run(admin: psycopg.Connection[Any], conn: psycopg.Connection[Any], statement: Statement) -> bool:
    """Run `statement` for the restorer (`conn`), with the superuser's (`admin`) help where this
    module allows it; True when that help was needed. The statement's own failure is raised."""
    if statement.sql.startswith(b"ALTER ") and (composed := for_superuser(conn, statement)) is not None:
        admin.execute(composed)
        return True
    try:
        conn.execute(statement.sql)
        return False
    except psycopg.errors.InsufficientPrivilege:
        role = new_owner(statement)
        if role is None or not with_create_lent(admin, conn, statement, role):
            raise
        return True


def new_owner(statement: Statement) -> str | None:
    """The role an `ALTER ... OWNER TO r` statement hands its object to, else None."""
    if not statement.sql.startswith(b"ALTER "):
        return None
    match = _OWNER_TO.match(statement.sql.decode("utf-8", "replace").strip())
    return identifier(match.group(1)) if match else None


def with_create_lent(
    admin: psycopg.Connection[Any], conn: psycopg.Connection[Any], statement: Statement, role: str
) -> bool:
    """Run the ownership `statement` as the restorer (`conn`) with CREATE lent to `role` on the
    schemas it lacks it on. False (nothing run) when the restorer may not act as `role`."""
    if not _acts_as(conn, role):
        return False
    lacking = [
        str(row[0])
        for row in admin.execute(
            "SELECT n.nspname FROM pg_catalog.pg_namespace n "
            "WHERE n.nspname OPERATOR(pg_catalog.!~~) 'pg\\_%%' "
            "AND n.nspname OPERATOR(pg_catalog.<>) 'information_schema' "
            "AND NOT pg_catalog.has_schema_privilege(%s, n.oid, 'CREATE')",
            (role,),
        )
    ]
    grants = [(sql.Identifier(schema), sql.Identifier(role)) for schema in lacking]
    try:
        for schema, grantee in grants:
            admin.execute(sql.SQL("GRANT CREATE ON SCHEMA {} TO {}").format(schema, grantee))
        conn.execute(statement.sql)
    finally:
        for schema, grantee in grants:
            admin.execute(sql.SQL("REVOKE CREATE ON SCHEMA {} FROM {}").format(schema, grantee))
    return True
