"""The role that restores a backup into the staging database beside the main one.

A dump's code (a CHECK constraint's function, a DO block) runs as whoever restores it. The DSN's user
is often a superuser, and in the documented set-up a member of the main database's owner: as it, the
dump could make a role superuser, run a program, or change the main database itself. So staging is
restored by `liftbackup_staging_<8 hex>`: LOGIN with a random password (given to the server as a SCRAM
verifier), no attribute, member of no role; it owns the staging database alone. When the DSN's user is
not a superuser it is made a member of that role, to hand the database over and drop the role.
The role never outlives the restore: its objects go to the original's owner, and it is dropped.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Any

import psycopg
from psycopg import sql

from pytest_liftbackup._errors import LiftbackupError, Setting
from pytest_liftbackup.server import live
from pytest_liftbackup.server.databases import (
    OURS,
    conninfo_from,
    elevated,
    new_password,
    redacted,
    roll_back_prepared,
    scram_verifier,
)

PREFIX = f"{OURS}staging_"
SHOWN = f"{PREFIX}…"  # how the plan and the prompt name it before it exists


def create_role(admin: Mapping[str, str], superuser: bool, version_num: int) -> tuple[str, str]:
    """A new staging role and its password. BYPASSRLS only from a superuser (no one else may give it)."""
    name, password = f"{PREFIX}{secrets.token_hex(4)}", new_password()
    attributes = "LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION " + (
        "BYPASSRLS" if superuser else "NOBYPASSRLS"
    )
    role = sql.Identifier(name)
    with elevated(admin) as conn:
        conn.execute(
            sql.SQL("CREATE ROLE {} " + attributes + " PASSWORD {}").format(
                role, sql.Literal(scram_verifier(password))
            )
        )
        if not superuser:  # to hand the database over and drop the role afterwards
            grant = " WITH INHERIT TRUE, SET TRUE" if version_num >= 160000 else ""
            conn.execute(sql.SQL("GRANT {} TO CURRENT_USER" + grant).format(role))
    return name, password


def check_login(login: Mapping[str, str], password: str | None) -> None:
    """The staging role must log in with its password (pg_hba.conf): else one line saying what to do."""
    try:
        with psycopg.connect(conninfo_from(login), connect_timeout=10):
            pass
    except psycopg.Error as exc:
        raise LiftbackupError(
            Setting.DSN,
            f": the staging role {login['user']} cannot log in to {redacted(login)}: "
            f"{live.reason(exc, password)}. Allow password logins for roles named {PREFIX}* "
            "(pg_hba.conf), or pass ",
            Setting.TRUSTED,
            " to restore as the DSN's user with its full rights",
        ) from None


def exists(conn: psycopg.Connection[Any], role: str) -> bool:
    found = "SELECT 1 FROM pg_catalog.pg_roles WHERE rolname OPERATOR(pg_catalog.=) %s"
    return conn.execute(found, (role,)).fetchone() is not None


def hand_over(admin: Mapping[str, str], database: str, role: str, owner: str) -> None:
    """Everything `role` owns in `database`, and the database itself, goes to `owner`; its grants go."""
    with elevated({**admin, "dbname": database}) as conn:
        if not exists(conn, role):
            return
        conn.execute(
            sql.SQL("ALTER DATABASE {} OWNER TO {}").format(sql.Identifier(database), sql.Identifier(owner))
        )
        conn.execute(
            sql.SQL("REASSIGN OWNED BY {} TO {}").format(sql.Identifier(role), sql.Identifier(owner))
        )
        conn.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))


def drop_role(admin: Mapping[str, str], role: str) -> list[str]:
    """Drop the staging role (its sessions ended, what it left prepared rolled back); idempotent."""
    with elevated(admin) as conn:
        if not exists(conn, role):
            return []
    rolled_back = roll_back_prepared(admin, owner=role)
    with elevated(admin) as conn:
        conn.execute(sql.SQL("ALTER ROLE {} NOLOGIN PASSWORD NULL").format(sql.Identifier(role)))
        conn.execute(
            "SELECT pg_catalog.pg_terminate_backend(pid) FROM pg_catalog.pg_stat_activity "
            "WHERE usename OPERATOR(pg_catalog.=) %s",
            (role,),
        )
        conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))
    return rolled_back
