"""Throwaway databases and the roles that restore into them.

Creating and dropping goes through pytest-postgresql's DatabaseJanitor. The roles are ours:
a dump is untrusted input, so it is restored by `liftbackup_restorer`, who owns the database
but is not a superuser (a superuser session could run `COPY ... TO PROGRAM` or `LOAD`). The roles
the dump's objects belong to (`lift_admin`...) are created NOLOGIN and granted to the restorer, so
`ALTER ... OWNER TO lift_admin` and GRANTs restore as they were, with zero errors.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import psycopg
from psycopg import sql
from pytest_postgresql.janitor import DatabaseJanitor

SUPERUSER = "liftbackup_superuser"
RESTORER = "liftbackup_restorer"
READER = "liftbackup_reader"
INTERNAL_ROLES = frozenset({SUPERUSER, RESTORER, READER})
READ_ONLY_OPTIONS = "-c default_transaction_read_only=on"


@dataclass
class Database:
    """One throwaway database: where to restore into and how to read it afterwards."""

    name: str
    restore_conninfo: dict[str, str] = field(repr=False)
    read_conninfo: dict[str, str] = field(repr=False)
    server_version: str
    restores_ownership: bool
    where: str  # for the report: never holds a password


class Host(Protocol):
    """A server that holds throwaway databases: our own, or an existing one given by --liftbackup-dsn."""

    kind: str
    settings: dict[str, str]

    @property
    def server_version(self) -> str: ...

    @property
    def description(self) -> str: ...

    def admin_conninfo(self, dbname: str = ...) -> dict[str, str]: ...

    def create_database(self, hint: str, owner: str | None = None) -> Database: ...

    def drop_database(self, database: Database) -> None: ...

    def close(self) -> None: ...


def conninfo_from(info: Mapping[str, str]) -> str:
    return psycopg.conninfo.make_conninfo(**info)


def redacted(info: Mapping[str, str]) -> str:
    """host:port/dbname as user: what the report may show. Never the password."""
    host = info.get("host", "localhost")
    return f"{info.get('user', '?')}@{host}:{info.get('port', '5432')}/{info.get('dbname', '')}"


def pg_env(info: Mapping[str, str]) -> dict[str, str]:
    """Connection settings for pg_restore/psql as PG* variables: a password in argv would show in ps."""
    names = {
        "host": "PGHOST",
        "port": "PGPORT",
        "user": "PGUSER",
        "password": "PGPASSWORD",
        "dbname": "PGDATABASE",
        "options": "PGOPTIONS",
        "sslmode": "PGSSLMODE",
    }
    return {names[k]: v for k, v in info.items() if k in names and v}


def database_name(hint: str, prefix: str = "liftbackup") -> str:
    """A fresh, valid, unmistakably ours database name (63 bytes at most)."""
    stem = re.sub(r"[^a-z0-9_]+", "_", hint.lower()).strip("_")[:36] or "dump"
    return f"{prefix}_{stem}_{secrets.token_hex(4)}"


def _janitor(admin: Mapping[str, str], dbname: str, template: str | None = "template0") -> DatabaseJanitor:
    return DatabaseJanitor(
        user=admin.get("user", ""),
        host=admin.get("host", ""),
        port=admin.get("port", "5432"),
        password=admin.get("password"),
        dbname=dbname,
        template_dbname=template,
        maintenance_dbname=admin.get("dbname", "postgres"),
        connection_timeout=10,
    )


def create_database(host: Host, hint: str, *, restores_ownership: bool, owner: str | None = None) -> Database:
    """A new database from template0 (as pg_dump's docs ask).

    Owned by the dump's main owner when there is one (a NOLOGIN role the restorer is a member of):
    since PostgreSQL 15 only the database owner may create in `public`, and `ALTER ... OWNER TO`
    needs the new owner to have that right, as it had on the server the dump came from.
    """
    admin = host.admin_conninfo()
    name = database_name(hint)
    _janitor(admin, name).init()
    if restores_ownership:
        with psycopg.connect(conninfo_from(admin), autocommit=True) as conn:
            conn.execute(
                sql.SQL("ALTER DATABASE {} OWNER TO {}").format(
                    sql.Identifier(name), sql.Identifier(owner or RESTORER)
                )
            )
    return database_on(host, name, restores_ownership=restores_ownership)


def database_on(host: Host, name: str, *, restores_ownership: bool) -> Database:
    """How to reach database `name` on `host`: as the restorer and as the reader on our own server."""
    admin = host.admin_conninfo()
    base = {k: v for k, v in admin.items() if k != "dbname"}
    restore = {**base, "dbname": name}
    read = {**base, "dbname": name, "options": READ_ONLY_OPTIONS}
    if restores_ownership:
        password = admin.get("password")
        restore = {**restore, "user": RESTORER}
        read = {**read, "user": READER}
        if password is None:
            restore.pop("password", None)
            read.pop("password", None)
    return Database(name, restore, read, host.server_version, restores_ownership, redacted(restore))


def drop_database(admin: Mapping[str, str], name: str) -> None:
    """Drop one database we created: connections to it are ended first."""
    if not name.startswith("liftbackup_"):
        raise AssertionError(f"refusing to drop {name!r}: not a database this plugin created")
    _janitor(admin, name, template=None).drop()


class RoleKeeper:
    """Creates the internal roles once, then the dump's roles as they are needed."""

    def __init__(self, admin_conninfo: str, password: str | None = None) -> None:
        self._admin = admin_conninfo
        self.created: list[str] = []
        with psycopg.connect(admin_conninfo, autocommit=True) as conn:
            if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (RESTORER,)).fetchone():
                return  # a reused cluster: made by an earlier run
            secret = sql.SQL(" PASSWORD {}").format(sql.Literal(password)) if password else sql.SQL("")
            conn.execute(sql.SQL("CREATE ROLE {} LOGIN BYPASSRLS{}").format(sql.Identifier(RESTORER), secret))
            conn.execute(sql.SQL("CREATE ROLE {} LOGIN{}").format(sql.Identifier(READER), secret))
            conn.execute(sql.SQL("GRANT pg_read_all_data TO {}").format(sql.Identifier(READER)))

    def ensure(self, roles: Iterable[str]) -> list[str]:
        """Create the missing roles NOLOGIN and let the restorer act as them. Returns those created.

        Roles that already exist (predefined `pg_*` roles, ours) are never granted: a dump naming
        `pg_execute_server_program` gets an error, not its powers.
        """
        wanted = sorted({r for r in roles if r and r not in INTERNAL_ROLES and not r.startswith("pg_")})
        made: list[str] = []
        if not wanted:
            return made
        with psycopg.connect(self._admin, autocommit=True) as conn:
            existing = {row[0] for row in conn.execute("SELECT rolname FROM pg_roles")}
            for role in wanted:
                if role in existing:
                    continue
                conn.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(sql.Identifier(role)))
                conn.execute(sql.SQL("GRANT {} TO {}").format(sql.Identifier(role), sql.Identifier(RESTORER)))
                made.append(role)
        self.created += made
        return made


def server_version_of(conn: psycopg.Connection[Any]) -> str:
    row = conn.execute("SHOW server_version").fetchone()
    return str(row[0]).split()[0] if row else "?"
