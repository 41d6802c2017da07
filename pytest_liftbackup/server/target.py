"""The main database a backup is restored into, and the few operations that touch it.

Nothing here changes the main database's data: a backup is restored into a staging database beside it
(created with the original's owner, encoding and locale), which takes the main database's name in one
transaction (`ALTER DATABASE ... RENAME` twice), the original staying as `<db>_pre_restore_<time>`
with a record of what it is in its comment, written in that transaction. Rolling back is the same swap
the other way, only to a recorded copy of this database (kept_names.py: the names, always within 63
bytes, and the records). It drops only staging databases it created.
"""

from __future__ import annotations

import ipaddress
import os
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import psycopg
from psycopg import sql

from pytest_liftbackup._errors import LiftbackupError, Setting
from pytest_liftbackup._safe_text import shown
from pytest_liftbackup.server import live, staging_role
from pytest_liftbackup.server.database_properties import copy_properties
from pytest_liftbackup.server.database_shape import DatabaseShape
from pytest_liftbackup.server.databases import (
    READ_ONLY_OPTIONS,
    Database,
    claim,
    elevated,
    is_superuser,
    left_prepared,
    redacted,
    reset_settings,
    roll_back_prepared,
    server_version_of,
    try_claim,
    unclaim,
)
from pytest_liftbackup.server.kept_names import (
    PRE_RESTORE,
    ROLLED_BACK,
    STAGING,
    Kept,
    Record,
    Selective,
    free_name,
    kept_copies,
    latest_for,
    now_utc,
)

_STAGING_ROLE = re.compile(rf"^{re.escape(staging_role.PREFIX)}[0-9a-f]{{8}}$")  # as create_role names them
_STAMP = re.compile(r"(\d{4})(\d{2})(\d{2})_(\d{2})(\d{2})(\d{2})")
_LOCAL_HOSTS = ("localhost",)


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


@dataclass(frozen=True)
class Space:
    """Where the server puts the main database's files, and how much room is left there."""

    needed: int  # bytes: the main database's size plus what the backup expands to
    database_size: int
    folder: str  # the tablespace's location or the data directory, as the server names it
    tablespace: str
    free: int | None  # None: the server could not be asked (see `unknown`)
    unknown: str = ""  # why the free space could not be read


@dataclass(frozen=True)
class Leftover:
    """A staging database on the server that no live run claims: a killed run's."""

    database: str
    made: str  # when, read from its name's time stamp
    size: int | None  # None when the DSN's user may not read it
    role: str | None  # its owner when that is a staging role of ours (liftbackup_staging_<8 hex>)

    @property
    def commands(self) -> str:
        """The SQL that removes it, names quoted as PostgreSQL reads them."""
        drop = f"DROP DATABASE {sql.Identifier(self.database).as_string()};"
        return drop + (f" DROP ROLE {sql.Identifier(self.role).as_string()};" if self.role else "")


class Target:
    """The main database on its server: sessions, privileges, staging, swap, rollback."""

    kind = "staging"  # as a Host: the engine restores into its staging database
    _claims: psycopg.Connection[Any] | None = None  # holds this run's claim on its staging database

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
        name = self.new_name(STAGING)
        self._claim(name)
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
        # Read (row counts, checks, the manifest's digests) as the staging role too, never as the DSN's
        # user: a function of the dump a check calls (in a view, a default) runs with the reader's rights.
        read = {**login, "options": READ_ONLY_OPTIONS}
        return Database(name, login, read, self._version, True, redacted(login), role)

    def finish(self, database: Database) -> list[str]:
        """A prepared transaction the dump left would hold its locks past the restore: rolled back.
        Settings the dump attached to staging or to the staging role are forgotten. The staging role
        stays, to read staging, until `hand_over`."""
        warnings = left_prepared(self._admin, database.name, self._role or "")
        reset_settings(self._admin, database.name, self._role)
        return warnings

    def hand_over(self) -> None:
        """Staging has been read for the last time: the staging role's objects and the database go to
        the original's owner, and the role is dropped (its sessions ended)."""
        self._retire_role(self.staging)

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
        if self._claims is not None:  # the staging database is dropped or renamed by now
            self._claims.close()
            self._claims = None

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
                found = _sessions_on(conn, database or self.database)
                if not found or time.monotonic() > deadline:
                    return found
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

    def new_name(self, marker: str, now: datetime | None = None) -> str:
        """A name of this kind for a database beside the main one, that no database has yet."""
        with self.admin() as conn:
            name, free = free_name(conn, self.database, marker, now)
        if not free:
            raise TargetRefused(
                f"{shown(name)} exists already on {self._where}: another run made it this second; "
                "wait a second and run again"
            )
        return name

    def swap(self, backup: str = "", now: datetime | None = None) -> str:
        """The staging database becomes the main one in one transaction, the original recorded as the
        copy this restore replaced; the original's new name, as the server has it."""
        assert self.staging is not None
        kept = self.new_name(PRE_RESTORE, now)

        def record(conn: psycopg.Connection[Any], oids: tuple[int, int]) -> None:
            main_oid, staging_oid = oids
            comment = _comment(conn, main_oid)
            made = Record(
                "pre_restore", self.database, staging_oid, main_oid, now_utc(), backup, "full", comment
            )
            _write_record(conn, kept, made)

        kept = self._rename_pair(self.database, kept, self.staging, self.database, record)
        self.promoted = True
        return kept

    def rollback_choice(self, to: str | None = None) -> Kept:
        """The recorded copy a rollback swaps in: the one the current main database replaced by a
        whole-database restore not yet rolled back, or `to` if it is a recorded copy of this database."""
        with self.admin() as conn:
            main_oid, copies = kept_copies(conn, self.database)
        if to is not None:
            return self._named_copy(to, copies)
        latest = latest_for(main_oid, copies)
        if latest is None:
            raise TargetRefused(
                f"nothing recorded for {shown(self.database)} on {self._where}: no kept copy says the "
                "current database replaced it; nothing to roll back to" + _pass_to(copies)
            )
        if latest.record.selective:
            last = latest.record.selective[-1]
            raise TargetRefused(
                f"the last restore into {shown(self.database)} was selective (tables "
                f"{', '.join(map(shown, last.tables))}, {last.time}) and kept no copy; a rollback would "
                f"lose every write since {shown(latest.name)} was kept. Undo it from its safety backup: "
                f"liftbackup restore {shown(last.safety_backup)} --table ..."
            )
        if latest.record.kind != "pre_restore":
            raise TargetRefused(
                f"{shown(self.database)} is rolled back already ({shown(latest.name)} is the restore "
                "that rollback undid); to swap in another copy, name it: liftbackup rollback --to NAME"
                + _pass_to(copies)
            )
        return latest

    def _named_copy(self, to: str, copies: list[Kept]) -> Kept:
        for copy in copies:
            if copy.name == to:
                return copy
        raise TargetRefused(
            f"{shown(to)} is not a copy recorded for {shown(self.database)} on {self._where}: "
            "rollback --to swaps in only one of those" + _pass_to(copies)
        )

    def rollback(self, copy: Kept, now: datetime | None = None) -> tuple[str, str]:
        """The recorded copy becomes the main database again (with its own comment back), the current
        one recorded as rolled back; (the copy's old name, the replaced one's name)."""
        replaced = self.new_name(ROLLED_BACK, now)

        def record(conn: psycopg.Connection[Any], oids: tuple[int, int]) -> None:
            main_oid, copy_oid = oids
            if copy_oid != copy.oid:
                raise TargetRefused(f"{shown(copy.name)} changed while asking; nothing was changed")
            comment = _comment(conn, main_oid)
            made = Record(
                "rolled_back", self.database, copy_oid, main_oid, now_utc(), copy.name, "rollback", comment
            )
            _write_record(conn, replaced, made)
            _write_comment(conn, self.database, copy.record.comment)

        replaced = self._rename_pair(self.database, replaced, copy.name, self.database, record)
        return copy.name, replaced

    def record_selective(self, backup: str, safety_backup: str, tables: list[str]) -> str | None:
        """A selective restore kept no copy: noted in the record of the copy the current main database
        replaced (so a rollback refuses and names this safety backup); that copy's name, or None."""
        with self.admin() as conn, conn.transaction():
            main_oid, copies = kept_copies(conn, self.database)
            latest = latest_for(main_oid, copies)
            if latest is None:
                return None
            done = Selective(now_utc(), backup, safety_backup, tables)
            _write_record(conn, latest.name, latest.record.with_selective(done))
        return latest.name

    def _rename_pair(
        self,
        first: str,
        first_to: str,
        second: str,
        second_to: str,
        then: Callable[[psycopg.Connection[Any], tuple[int, int]], None],
    ) -> str:
        """Both renames and `then(conn, (first's OID, second's OID))` in one transaction; `first`'s new
        name as pg_database has it."""
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
                oids = (_oid(conn, first), _oid(conn, second))
                conn.execute(rename.format(sql.Identifier(first), sql.Identifier(first_to)))
                conn.execute(rename.format(sql.Identifier(second), sql.Identifier(second_to)))
                then(conn, oids)
                row = conn.execute(
                    "SELECT datname FROM pg_catalog.pg_database "
                    "WHERE oid OPERATOR(pg_catalog.=) %s::pg_catalog.oid",
                    (oids[0],),
                ).fetchone()
        except psycopg.Error as exc:
            raise TargetRefused(
                f"the swap was not done, {self.database} is as it was: {exc.diag.message_primary or exc}"
            ) from None
        assert row is not None
        return str(row[0])

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
        connection limit, comment. The settings the dump made on staging are gone already: `finish`
        reset them (databases.reset_settings) before anything read staging."""
        assert self.staging is not None
        with self.admin() as conn:
            copy_properties(conn, self.database, self.staging)

    # -- staging within the server's means, and what killed runs left -----------------------------------
    def space_for_staging(self, expanded: int) -> Space:
        """The room the staging restore needs (the main database's size plus `expanded`, what the backup
        expands to) and the room left where the server keeps the main database's files: read from the
        folder itself (os.statvfs), so only when the server runs on this machine and tells where."""
        with elevated(self._admin) as conn:
            row = conn.execute(
                "SELECT pg_catalog.pg_database_size(d.oid), t.spcname, "
                "pg_catalog.pg_tablespace_location(t.oid) FROM pg_catalog.pg_database d "
                "JOIN pg_catalog.pg_tablespace t ON t.oid OPERATOR(pg_catalog.=) d.dattablespace "
                "WHERE d.datname OPERATOR(pg_catalog.=) %s",
                (self.database,),
            ).fetchone()
            assert row is not None
            size, tablespace, location = int(row[0]), str(row[1]), str(row[2] or "")
            folder, unknown = (location, "") if os.path.isabs(location) else self._data_directory(conn)
            if location and not unknown and not os.path.isabs(location):  # an in-place tablespace
                folder = os.path.join(folder, location)
        space = Space(size + expanded, size, folder, tablespace, None, unknown)
        if not unknown:
            space = self._statvfs(space)
        return space

    def _data_directory(self, conn: psycopg.Connection[Any]) -> tuple[str, str]:
        """(the server's data directory, "") or ("", why it cannot be read)."""
        try:
            row = conn.execute("SELECT pg_catalog.current_setting('data_directory')").fetchone()
        except psycopg.errors.InsufficientPrivilege:
            return "", (
                f"{self.user} may not read the server's data_directory "
                "(a superuser or a member of pg_read_all_settings may)"
            )
        assert row is not None
        return str(row[0]), ""

    def _statvfs(self, space: Space) -> Space:
        """`space` with the free bytes of its folder, or why they cannot be read from here."""
        host = self._admin.get("host", "")
        if not _on_this_machine(host, self._admin.get("hostaddr", "")):
            why = f"the server runs at {host}, not on this machine"
            return replace(space, unknown=why)
        base = os.path.join(space.folder, "base") if space.tablespace == "pg_default" else space.folder
        for folder in (base, space.folder):
            try:
                found = os.statvfs(folder)
            except OSError:
                continue
            return replace(space, free=found.f_bavail * found.f_frsize)
        why = f"{space.folder} cannot be read here (the server may run in a container or as another user)"
        return replace(space, unknown=why)

    def end_staging_sessions(self) -> list[Session]:
        """Anything still connected to the staging database once our own connections are closed is not
        ours (a superuser's psql, a role its grants let in): ended, or the swap would fail after all
        the work. Those ended."""
        assert self.staging is not None
        with elevated(self._admin) as conn:
            deadline = time.monotonic() + 3.0  # our just-closed connections are given time to go
            while (found := _sessions_on(conn, self.staging)) and time.monotonic() < deadline:
                time.sleep(0.1)
            _end_sessions(conn, self.staging)
        return found

    def _claim(self, name: str) -> None:
        """Claim staging database `name` for this run's life: a session-level advisory lock on its name,
        which ends with the process however it ends, so later runs tell a killed run's database from a
        live one's."""
        if self._claims is None:
            self._claims = elevated({**self._admin, "application_name": "liftbackup"})
        claim(self._claims, name)

    def leftover_staging(self) -> list[Leftover]:
        """Every staging database on the server (ours by name) that no live run claims."""
        with elevated(self._admin) as conn:
            rows = conn.execute(
                "SELECT d.datname, d.oid, pg_catalog.pg_get_userbyid(d.datdba) "
                "FROM pg_catalog.pg_database d "
                "WHERE pg_catalog.strpos(d.datname::pg_catalog.text, %s) OPERATOR(pg_catalog.>) 0 ORDER BY 1",
                (STAGING,),
            ).fetchall()
            return [
                Leftover(name, _made(name), _size(conn, oid), owner if _STAGING_ROLE.match(owner) else None)
                for name, oid, owner in rows
                if _unclaimed(conn, name)
            ]


def _pass_to(copies: list[Kept]) -> str:
    if not copies:
        return ""
    return "; recorded copies: " + ", ".join(
        f"{shown(c.name)} ({c.record.kind}, {c.record.time})" for c in copies
    )


def _oid(conn: psycopg.Connection[Any], name: str) -> int:
    row = conn.execute(
        "SELECT oid::pg_catalog.int8 FROM pg_catalog.pg_database WHERE datname OPERATOR(pg_catalog.=) %s",
        (name,),
    ).fetchone()
    if row is None:
        raise TargetRefused(f"{shown(name)} is not on the server (any more); nothing was changed")
    return int(row[0])


def _comment(conn: psycopg.Connection[Any], oid: int) -> str | None:
    row = conn.execute(
        "SELECT pg_catalog.shobj_description(%s::pg_catalog.oid, 'pg_database')", (oid,)
    ).fetchone()
    return None if row is None or row[0] is None else str(row[0])


def _write_record(conn: psycopg.Connection[Any], name: str, record: Record) -> None:
    _write_comment(conn, name, record.text())


def _write_comment(conn: psycopg.Connection[Any], name: str, comment: str | None) -> None:
    conn.execute(
        sql.SQL("COMMENT ON DATABASE {} IS {}").format(
            sql.Identifier(name), sql.Literal(comment) if comment is not None else sql.SQL("NULL")
        )
    )


def _close_to_public(conn: psycopg.Connection[Any], name: str) -> None:
    """No one but its owner (and superusers) connects to staging until the swap gives it the
    original's grants (database_properties.copy_properties)."""
    conn.execute(sql.SQL("REVOKE ALL ON DATABASE {} FROM PUBLIC").format(sql.Identifier(name)))


def _end_sessions(conn: psycopg.Connection[Any], database: str) -> None:
    """End every other backend on `database`, asking again (for up to 5 s) until none is left."""
    for _ in range(50):
        rows = conn.execute(
            "SELECT pg_catalog.pg_terminate_backend(pid) FROM pg_catalog.pg_stat_activity "
            "WHERE datname OPERATOR(pg_catalog.=) %s "
            "AND pid OPERATOR(pg_catalog.<>) pg_catalog.pg_backend_pid()",
            (database,),
        ).fetchall()
        if not rows:
            return
        time.sleep(0.1)


def _on_this_machine(host: str, hostaddr: str) -> bool:
    """A Unix socket or a loopback address (`hostaddr`, where libpq connects, when given): the server's
    folders are this machine's."""
    if not hostaddr and (not host or host.startswith(("/", "@")) or host in _LOCAL_HOSTS):
        return True
    try:
        return ipaddress.ip_address(hostaddr or host).is_loopback
    except ValueError:
        return False


def _sessions_on(conn: psycopg.Connection[Any], database: str) -> list[Session]:
    rows = conn.execute(
        "SELECT pid, coalesce(usename, ''), coalesce(application_name, ''), "
        "coalesce(pg_catalog.host(client_addr), '') FROM pg_catalog.pg_stat_activity "
        "WHERE datname OPERATOR(pg_catalog.=) %s AND pid OPERATOR(pg_catalog.<>) pg_catalog.pg_backend_pid() "
        "ORDER BY pid",
        (database,),
    ).fetchall()
    return [Session(*row) for row in rows]


def _unclaimed(conn: psycopg.Connection[Any], name: str) -> bool:
    """No live run holds the claim on `name` (taken and let go at once: a probe, not a claim)."""
    if not try_claim(conn, name):
        return False
    unclaim(conn, name)
    return True


def _size(conn: psycopg.Connection[Any], oid: int) -> int | None:
    try:
        row = conn.execute("SELECT pg_catalog.pg_database_size(%s::pg_catalog.oid)", (oid,)).fetchone()
    except psycopg.errors.InsufficientPrivilege:
        return None
    return int(row[0]) if row else None


def _made(name: str) -> str:
    """When a staging database was made, from the time stamp its name carries."""
    if found := _STAMP.search(name[name.find(STAGING) :]):
        y, m, d, hh, mm, ss = found.groups()
        return f"{y}-{m}-{d} {hh}:{mm}:{ss}"
    return "at an unknown time"
