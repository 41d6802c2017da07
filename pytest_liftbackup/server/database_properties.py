"""What a database has beside its contents, copied from one database to another on the same server:
grants, settings (per database and per role in it), connection limit and comment. A restore replaces
the main database with a new one, which must look like the old one to everything that connects."""

from __future__ import annotations

import re
from typing import Any

import psycopg
from psycopg import sql

# Settings whose value is a list (PostgreSQL stores `search_path="$user", public`): set element by element.
_LIST_SETTINGS = {"search_path", "temp_tablespaces", "session_preload_libraries", "local_preload_libraries"}
_SETTING_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*$")


def copy_properties(conn: psycopg.Connection[Any], source: str, target: str) -> None:
    """Make `target` carry `source`'s grants, settings, connection limit and comment."""
    _revoke_all(conn, target)
    _copy_grants(conn, source, sql.Identifier(target))
    _copy_settings(conn, source, sql.Identifier(target))
    row = conn.execute(
        "SELECT datconnlimit, pg_catalog.shobj_description(oid, 'pg_database') "
        "FROM pg_catalog.pg_database WHERE datname = %s",
        (source,),
    ).fetchone()
    assert row is not None
    limit, comment = row
    conn.execute(
        sql.SQL("ALTER DATABASE {} CONNECTION LIMIT {}").format(sql.Identifier(target), sql.Literal(limit))
    )
    if comment is not None:
        conn.execute(
            sql.SQL("COMMENT ON DATABASE {} IS {}").format(sql.Identifier(target), sql.Literal(comment))
        )


def _copy_grants(conn: psycopg.Connection[Any], source: str, target: sql.Identifier) -> None:
    row = conn.execute(
        "SELECT datacl IS NOT NULL FROM pg_catalog.pg_database WHERE datname = %s", (source,)
    ).fetchone()
    if not (row and row[0]):
        # the defaults, as a new database has them (staging was created closed to PUBLIC)
        conn.execute(sql.SQL("GRANT CONNECT, TEMPORARY ON DATABASE {} TO PUBLIC").format(target))
        return
    grants = conn.execute(
        "SELECT CASE WHEN a.grantee = 0 THEN NULL ELSE pg_catalog.pg_get_userbyid(a.grantee) END, "
        "a.privilege_type, a.is_grantable FROM pg_catalog.pg_database d, "
        "LATERAL pg_catalog.aclexplode(d.datacl) a WHERE d.datname = %s",
        (source,),
    ).fetchall()
    for grantee, privilege, grantable in grants:
        who = sql.SQL("PUBLIC") if grantee is None else sql.Identifier(grantee)
        option = sql.SQL(" WITH GRANT OPTION" if grantable else "")
        conn.execute(
            sql.SQL("GRANT {} ON DATABASE {} TO {}{}").format(sql.SQL(privilege), target, who, option)
        )


def _revoke_all(conn: psycopg.Connection[Any], name: str) -> None:
    """No grant on database `name` but its owner's own: from PUBLIC and from every role given one."""
    target = sql.Identifier(name)
    conn.execute(sql.SQL("REVOKE ALL ON DATABASE {} FROM PUBLIC").format(target))
    rows = conn.execute(
        "SELECT DISTINCT pg_catalog.pg_get_userbyid(a.grantee) FROM pg_catalog.pg_database d, "
        "LATERAL pg_catalog.aclexplode(d.datacl) a WHERE d.datname OPERATOR(pg_catalog.=) %s "
        "AND a.grantee OPERATOR(pg_catalog.<>) 0 AND a.grantee OPERATOR(pg_catalog.<>) d.datdba",
        (name,),
    ).fetchall()
    for (grantee,) in rows:
        conn.execute(sql.SQL("REVOKE ALL ON DATABASE {} FROM {}").format(target, sql.Identifier(grantee)))


def _copy_settings(conn: psycopg.Connection[Any], source: str, target: sql.Identifier) -> None:
    rows = conn.execute(
        "SELECT CASE WHEN s.setrole = 0 THEN NULL ELSE pg_catalog.pg_get_userbyid(s.setrole) END, "
        "s.setconfig "
        "FROM pg_catalog.pg_db_role_setting s JOIN pg_catalog.pg_database d ON d.oid = s.setdatabase "
        "WHERE d.datname = %s",
        (source,),
    ).fetchall()
    for role, config in rows:
        for item in config:
            name, _, value = item.partition("=")
            if not _SETTING_NAME.match(name):
                continue  # not a name PostgreSQL would have stored
            values = _elements(value) if name.lower() in _LIST_SETTINGS else [value]
            setting = sql.SQL("{} = {}").format(sql.SQL(name), sql.SQL(", ").join(map(sql.Literal, values)))
            if role is None:
                conn.execute(sql.SQL("ALTER DATABASE {} SET {}").format(target, setting))
            else:
                conn.execute(
                    sql.SQL("ALTER ROLE {} IN DATABASE {} SET {}").format(
                        sql.Identifier(role), target, setting
                    )
                )


def _elements(value: str) -> list[str]:
    """`"$user", public` -> ['$user', 'public']: a list setting as PostgreSQL prints it."""
    found = re.findall(r'\s*(?:"([^"]*(?:""[^"]*)*)"|([^,]+?))\s*(?:,|$)', value)
    return [quoted.replace('""', '"') if quoted else plain for quoted, plain in found if quoted or plain]
