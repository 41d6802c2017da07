"""The main database a backup is restored into, and the few operations that touch it.

Nothing here changes the main database's data: a backup is restored into a staging database beside it
(created with the original's owner, encoding and locale), which takes the main database's name in one
transaction (`ALTER DATABASE ... RENAME` twice), the original staying as `<db>_pre_restore_<time>`.
Rolling back is the same swap the other way. Every name this module creates starts with the main
database's name and says what it is; it drops only staging databases it created.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg import sql

from pytest_liftbackup._errors import LiftbackupError, Setting
from pytest_liftbackup.server import live, staging_role
from pytest_liftbackup.server.database_properties import copy_properties, forget_settings
from pytest_liftbackup.server.database_shape import DatabaseShape
from pytest_liftbackup.server.databases import (
    READ_ONLY_OPTIONS,
    Database,
    is_superuser,
    left_prepared,
    redacted,
    reset_settings,
    roll_back_prepared,
    server_version_of,
)

PRE_RESTORE = "_pre_restore_"
ROLLED_BACK = "_rolled_back_"
STAGING = "_liftbackup_staging_"


class TargetRefused(LiftbackupError):
    """The target is not in a state to change (sessions connected, a privilege missing)."""


@dataclass(frozen=True)
class Session:
    pid: int
    user: str
    application: str
    client: str

    def __str__(self) -> str:
        app = f" ({self.application})" if self.application else ""
        return f"pid {self.pid}, {self.user}{app} from {self.client or 'local socket'}"


def stamp(now: datetime | None = None) -> str:
    return f"{now or datetime.now():%Y%m%d_%H%M%S}"


class Target:
    """The main database on its server: sessions, privileges, staging, swap, rollback."""

    kind = "staging"  # as a Host: the engine restores into its staging database

    def __init__(self, dsn: str | None) -> None:
        with live.connect(dsn) as conn:
            self.database = conn.info.dbname
            self.user = conn.info.user
            self.superuser = is_superuser(conn)
            self._version = server_version_of(conn)
            self._version_num = conn.info.server_version
            self._password = conn.info.password
            self._where = live.described(conn)
            info = live.settings(conn)  # TLS files, channel binding...: for pg_restore into staging too
        if self.database in ("postgres", "template0", "template1"):
            raise LiftbackupError(
                f"{self._where}: name the application's database in the DSN, not {self.database}"
            )
        self._admin = {**info, "dbname": "postgres"}
        self.settings: dict[str, str] = {}
        self.staging: str | None = None
        self.promoted = False
        self._role: str | None = None  # the staging role, while it exists

    # -- as a Host for the restore engine -------------------------------------------------------------
    @property
    def server_version(self) -> str:
        return self._version

    @property
    def description(self) -> str:
        return f"PostgreSQL {self._version} at {self._where} (staging beside {self.database})"

    def admin_conninfo(self, dbname: str = "") -> dict[str, str]:
        return dict(self._admin, dbname=dbname or "postgres")

    def create_database(
        self,
        hint: str,
        owner: str | None = None,
        roles: Iterable[str] = (),
        trusted: bool = False,
        shape: DatabaseShape | None = None,
    ) -> Database:
        """The staging database: the original's encoding, locale and tablespace (not the dump's, which
        a plain dump does not carry), closed to PUBLIC. Untrusted, it is owned by a staging role of ours
        that the dump restores as (server/staging_role); trusted, by the original's owner, the dump
        restoring as the DSN's user."""
        name = f"{self.database[:30]}{STAGING}{stamp()}"
        if trusted:
            with self.admin() as conn:
                conn.execute(self._create_like_original(conn, name))
                _close_to_public(conn, name)
            self.staging = name
            login = self.admin_conninfo(name)
            read = {**login, "options": READ_ONLY_OPTIONS}
            return Database(name, login, read, self._version, True, redacted(login), self.user)
        return self._create_for_staging_role(name)

    def _create_for_staging_role(self, name: str) -> Database:
        """Staging owned by a new staging role, which must log in with its password; on any failure
        neither is left."""
        try:
            role, password = staging_role.create_role(self._admin, self.superuser, self._version_num)
        except psycopg.errors.InsufficientPrivilege:
            raise TargetRefused(
                f"{self.user} may not create the staging role the dump restores as (CREATEROLE); "
                "grant it, or pass ",
                Setting.TRUSTED,
                f" to restore as {self.user} with its full rights",
            ) from None
        self._role = role
        login = {**self.admin_conninfo(name), "user": role, "password": password}
        try:
            with self.admin() as conn:
                conn.execute(self._create_like_original(conn, name, role))
                self.staging = name
                _close_to_public(conn, name)
            staging_role.check_login(login, password)
        except BaseException:
            self._drop_staging(name)
            raise
        read = {**self.admin_conninfo(name), "options": READ_ONLY_OPTIONS}
        return Database(name, login, read, self._version, True, redacted(login), role)

    def finish(self, database: Database) -> list[str]:
        """A prepared transaction the dump left would hold its locks past the restore: rolled back.
        Settings the dump attached to staging are forgotten; the staging role's objects and the
        database go to the original's owner, and the role is dropped."""
        warnings = left_prepared(self._admin, database.name, self._role or "")
        reset_settings(self._admin, database.name)
        self._retire_role(database.name)
        return warnings

    def _retire_role(self, database: str | None) -> None:
        if self._role is None:
            return
        if database is not None:
            staging_role.hand_over(self._admin, database, self._role, self._owner())
        staging_role.drop_role(self._admin, self._role)
        self._role = None

    def _owner(self) -> str:
        with self.admin() as conn:
            row = conn.execute(
                "SELECT pg_catalog.pg_get_userbyid(datdba) FROM pg_catalog.pg_database "
                "WHERE datname OPERATOR(pg_catalog.=) %s",
                (self.database,),
            ).fetchone()
        assert row is not None
        return str(row[0])

    def keep(self, databases: list[str]) -> list[str]:
        return []

    def drop_database(self, database: Database) -> list[str]:
        """Drop the staging database (and the staging role, if still there), unless it became the main
        database."""
        if self.promoted or database.name != self.staging:
            self._retire_role(None)
            return []
        return self._drop_staging(database.name)

    def _drop_staging(self, name: str) -> list[str]:
        rolled_back = roll_back_prepared(self._admin, database=name)
        with self.admin() as conn:
            _end_sessions(conn, name)
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
        self.staging = None
        self._retire_role(None)
        return rolled_back

    def close(self) -> None:
        pass

    # -- the main database ----------------------------------------------------------------------------
    def admin(self) -> psycopg.Connection[Any]:
        return live.connect(psycopg.conninfo.make_conninfo(**self._admin))

    def sessions(self, database: str | None = None, settle: float = 3.0) -> list[Session]:
        """Other sessions connected to the database (the application, a psql someone left open).

        A session whose client has just closed (our own pg_dump, a check's connection) stays listed
        for a moment while its backend exits: asked again for up to `settle` seconds before it counts."""
        deadline = time.monotonic() + settle
        with self.admin() as conn:
            while True:
                rows = conn.execute(
                    "SELECT pid, coalesce(usename, ''), coalesce(application_name, ''), "
                    "coalesce(host(client_addr), '') FROM pg_catalog.pg_stat_activity "
                    "WHERE datname = %s AND pid <> pg_catalog.pg_backend_pid() ORDER BY pid",
                    (database or self.database,),
                ).fetchall()
                if not rows or time.monotonic() > deadline:
                    return [Session(*row) for row in rows]
                time.sleep(0.1)

    def terminate_sessions(self) -> list[Session]:
        """End the other sessions on the main database; those ended."""
        with self.admin() as conn:
            ended = self.sessions(settle=0)
            _end_sessions(conn, self.database)
        return ended

    def missing_privileges(
        self, terminate: bool, selective: bool, as_staging_role: bool = False
    ) -> list[str]:
        """What the DSN's role lacks for the steps asked for, in words (`as_staging_role`: staging is
        restored as a role of ours, which it must create)."""
        if self.superuser:
            return []
        with self.admin() as conn:
            row = conn.execute(
                "SELECT r.rolcreatedb, pg_catalog.pg_has_role(current_user, d.datdba, 'MEMBER'), "
                "r.rolcreaterole, "
                "pg_catalog.pg_has_role(current_user, 'pg_signal_backend', 'MEMBER') "
                "FROM pg_catalog.pg_roles r, pg_catalog.pg_database d "
                "WHERE r.rolname = current_user AND d.datname = %s",
                (self.database,),
            ).fetchone()
        assert row is not None
        createdb, owner, createrole, signal = row
        missing = []
        if not createdb:
            missing.append(f"CREATEDB (to create the staging database and rename {self.database})")
        if not owner:
            missing.append(
                f"membership in the owner of {self.database} (to rename it and give the new one its owner)"
            )
        if as_staging_role and not createrole:
            missing.append(
                "CREATEROLE (to create the role the backup is restored as; or pass --trusted to restore "
                f"it as {self.user} with its full rights)"
            )
        if terminate and not signal:
            missing.append("pg_signal_backend (to end the other sessions, as asked)")
        if selective:
            missing.append("SUPERUSER (a selective restore replaces rows with triggers off)")
        return missing

    def swap(self, now: datetime | None = None) -> str:
        """The staging database becomes the main one in one transaction; the original's new name."""
        assert self.staging is not None
        kept = f"{self.database[:40]}{PRE_RESTORE}{stamp(now)}"
        self._rename_pair(self.database, kept, self.staging, self.database)
        self.promoted = True
        return kept

    def rollback(self, now: datetime | None = None) -> tuple[str, str]:
        """The newest `<db>_pre_restore_*` becomes the main database again; (it, the replaced one's name)."""
        with self.admin() as conn:
            rows = conn.execute(
                "SELECT datname FROM pg_catalog.pg_database WHERE datname LIKE %s ORDER BY datname DESC",
                (self.database[:40].replace("_", r"\_") + r"\_pre\_restore\_%",),
            ).fetchall()
        if not rows:
            raise TargetRefused(
                f"no {self.database}{PRE_RESTORE}* database on {self._where}: nothing to roll back to"
            )
        previous = str(rows[0][0])
        replaced = f"{self.database[:40]}{ROLLED_BACK}{stamp(now)}"
        self._rename_pair(self.database, replaced, previous, self.database)
        return previous, replaced

    def _rename_pair(self, first: str, first_to: str, second: str, second_to: str) -> None:
        for name in (first, second):
            if found := self.sessions(name):
                raise TargetRefused(
                    f"{name} has other sessions: {'; '.join(map(str, found))}. ",
                    "Stop the application, or pass ",
                    Setting.TERMINATE_CONNECTIONS,
                )
        rename = sql.SQL("ALTER DATABASE {} RENAME TO {}")
        try:
            with self.admin() as conn, conn.transaction():
                conn.execute(rename.format(sql.Identifier(first), sql.Identifier(first_to)))
                conn.execute(rename.format(sql.Identifier(second), sql.Identifier(second_to)))
        except psycopg.Error as exc:
            raise TargetRefused(
                f"the swap was not done, {self.database} is as it was: {exc.diag.message_primary or exc}"
            ) from None

    def _create_like_original(
        self, conn: psycopg.Connection[Any], name: str, owner: str | None = None
    ) -> sql.Composed:
        locale = (
            "datlocale"
            if self._version_num >= 170000
            else "daticulocale"
            if self._version_num >= 150000
            else "NULL"
        )
        provider = "datlocprovider" if self._version_num >= 150000 else "'c'"
        row = conn.execute(
            sql.SQL(
                "SELECT pg_catalog.pg_get_userbyid(datdba), pg_catalog.pg_encoding_to_char(encoding), "
                "datcollate, datctype, {}::text, {}::text, "
                "(SELECT t.spcname FROM pg_catalog.pg_tablespace t WHERE t.oid = dattablespace) "
                "FROM pg_catalog.pg_database WHERE datname = %s"
            ).format(sql.SQL(provider), sql.SQL(locale)),
            (self.database,),
        ).fetchone()
        assert row is not None
        original_owner, encoding, collate, ctype, provider_code, icu, tablespace = row
        parts = [
            sql.SQL("CREATE DATABASE {} WITH TEMPLATE template0 OWNER {} ENCODING {}").format(
                sql.Identifier(name), sql.Identifier(owner or original_owner), sql.Literal(encoding)
            ),
            sql.SQL("LC_COLLATE {} LC_CTYPE {}").format(sql.Literal(collate), sql.Literal(ctype)),
        ]
        if tablespace != "pg_default":  # template0's: naming it would ask a non-superuser for CREATE on it
            parts.append(sql.SQL("TABLESPACE {}").format(sql.Identifier(tablespace)))
        if provider_code == "i" and icu:
            parts.append(sql.SQL("LOCALE_PROVIDER icu ICU_LOCALE {}").format(sql.Literal(icu)))
        elif provider_code == "b" and icu:
            parts.append(sql.SQL("LOCALE_PROVIDER builtin BUILTIN_LOCALE {}").format(sql.Literal(icu)))
        return sql.SQL(" ").join(parts)

    def copy_properties(self) -> None:
        """Give the staging database what the original has beside its contents: grants, settings,
        connection limit, comment."""
        assert self.staging is not None
        with self.admin() as conn:
            forget_settings(conn, self.staging, self.superuser)
            copy_properties(conn, self.database, self.staging)


def _close_to_public(conn: psycopg.Connection[Any], name: str) -> None:
    """No one but its owner (and superusers) connects to staging until the swap gives it the
    original's grants (database_properties.copy_properties)."""
    conn.execute(sql.SQL("REVOKE ALL ON DATABASE {} FROM PUBLIC").format(sql.Identifier(name)))


def _end_sessions(conn: psycopg.Connection[Any], database: str) -> None:
    for _ in range(50):
        rows = conn.execute(
            "SELECT pg_catalog.pg_terminate_backend(pid) FROM pg_catalog.pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_catalog.pg_backend_pid()",
            (database,),
        ).fetchall()
        if not rows:
            return
        time.sleep(0.1)
