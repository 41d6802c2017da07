"""An existing server given by a DSN (a CI service container, a shared test server).

Only what this run creates is ever touched. The DSN's user is often a superuser, and a dump run with
its rights could run programs on the database host or drop other databases. So each restore gets a
fresh `liftbackup_*` database owned by a fresh role of the same name, with no attributes (no
superuser, CREATEDB, CREATEROLE or replication), that logs in with a random password: the dump runs
as that role, checks read as it, and both are dropped at the end (after a failure or Ctrl-C too).
Where no such role can be made or can log in, the run refuses rather than fall back; with
`trusted` the DSN's own user restores, for dumps from your own servers.
Roles are cluster-wide and shared, so ownership and grants are not restored (as `pg_restore -O -x`).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable

import psycopg
from psycopg import sql

from pytest_liftbackup._errors import LiftbackupError, Setting
from pytest_liftbackup.server import live
from pytest_liftbackup.server.database_shape import DatabaseShape, ShapeError
from pytest_liftbackup.server.databases import (
    READ_ONLY_OPTIONS,
    Database,
    claim,
    conninfo_from,
    database_name,
    drop_database,
    elevated,
    is_superuser,
    left_prepared,
    new_database,
    redacted,
    reset_settings,
    roll_back_prepared,
    server_version_of,
    try_claim,
    unclaim,
)

_KEPT = "kept by liftbackup on purpose"
# The restore roles _new_role makes (named like their database: see databases.database_name).
_OUR_ROLE = "^liftbackup_(?!restorer_)[a-z0-9_]+_[0-9a-f]{8}$"


class ExistingServer:
    kind = "existing"

    def __init__(self, dsn: str) -> None:
        self._admin = live.parameters(dsn)
        self._admin.setdefault("dbname", "postgres")
        self.settings: dict[str, str] = {}
        self.kept = False
        with live.connect(dsn, dbname=self._admin["dbname"]) as conn:
            self._version = server_version_of(conn)
            self._version_num = conn.info.server_version
            self._superuser = is_superuser(conn)
            # every setting libpq found (DSN, PG* variables, service file): pg_restore gets them all
            self._admin = {**live.settings(conn), "dbname": self._admin["dbname"]}
        # Held for the whole run: an advisory lock per database this run makes. A killed run's
        # session ends and its locks with it, so the next run can tell its databases from live ones.
        self._claims = elevated({**self._admin, "application_name": "liftbackup"})
        self.reaped = self._reap()

    @property
    def server_version(self) -> str:
        return self._version

    @property
    def description(self) -> str:
        return f"existing PostgreSQL {self._version} at {redacted(self._admin)}"

    def admin_conninfo(self, dbname: str = "") -> dict[str, str]:
        return dict(self._admin, dbname=dbname or self._admin["dbname"])

    def create_database(
        self,
        hint: str,
        owner: str | None = None,
        roles: Iterable[str] = (),
        trusted: bool = False,
        shape: DatabaseShape | None = None,
    ) -> Database:
        """`owner` and `roles` are not used: no role of the dump is created on a shared server.
        `shape`: the encoding and locale the dump's CREATE DATABASE asks for (see server/database_shape)."""
        name = database_name(hint)
        claim(self._claims, name)
        if trusted:
            warnings = new_database(self._admin, name, self._admin["user"], [], shape)
            login = self.admin_conninfo(name)
        else:
            login = self._new_role(name)
            try:
                warnings = new_database(self._admin, name, name, [], shape)
                with psycopg.connect(conninfo_from(login), connect_timeout=10):
                    pass
            except ShapeError:
                self._drop(name)
                raise
            except psycopg.Error as exc:
                self._drop(name)
                raise LiftbackupError(
                    Setting.DSN,
                    f": the restore role {name} cannot log in to {redacted(login)}: "
                    f"{live.reason(exc, self._admin.get('password'))}. "
                    "Allow password logins for roles named liftbackup_* (pg_hba.conf), or pass ",
                    Setting.TRUSTED,
                    " to restore as the DSN's user",
                ) from None
        read = {**login, "options": READ_ONLY_OPTIONS}
        return Database(name, login, read, self._version, False, redacted(login), login["user"], warnings)

    def _new_role(self, name: str) -> dict[str, str]:
        """A role with no attributes, logging in with a random password; the DSN's user may act as it."""
        password = secrets.token_urlsafe(24)
        role = sql.Identifier(name)
        bypass = "BYPASSRLS" if self._superuser else "NOBYPASSRLS"  # only a superuser may grant it
        try:
            with elevated(self._admin) as conn:
                attributes = "LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION " + bypass
                conn.execute(
                    sql.SQL("CREATE ROLE {} " + attributes + " PASSWORD {}").format(
                        role, sql.Literal(password)
                    )
                )
                if not self._superuser:  # to hand it the database and drop it later
                    grant = " WITH INHERIT TRUE, SET TRUE" if self._version_num >= 160000 else ""
                    conn.execute(sql.SQL("GRANT {} TO CURRENT_USER" + grant).format(role))
        except psycopg.errors.InsufficientPrivilege:
            user = self._admin["user"]
            raise LiftbackupError(
                Setting.DSN,
                f": {user} may not create roles, and the dump must not run as {user} "
                f"(it could reach {user}'s other databases). Grant {user} CREATEROLE, or pass ",
                Setting.TRUSTED,
                " to restore as it a dump you trust",
            ) from None
        return {**self.admin_conninfo(name), "user": name, "password": password}

    def keep(self, databases: list[str]) -> list[str]:
        """Leave the restored databases (and their roles) in place after the run."""
        self.kept = True
        lines = [f"kept on {self.description}:"]
        with elevated(self._admin) as conn:
            for name in databases:  # marked, so that later runs leave them alone
                conn.execute(
                    sql.SQL("COMMENT ON DATABASE {} IS {}").format(sql.Identifier(name), sql.Literal(_KEPT))
                )
        for name in databases:
            shown = {k: v for k, v in self.admin_conninfo(name).items() if k != "password"}
            where = psycopg.conninfo.make_conninfo(**shown)
            lines.append(f"  inspect:  psql '{where}'")
            lines.append(f"  remove:   DROP DATABASE {name}; DROP ROLE IF EXISTS {name};")
        return lines

    def finish(self, database: Database) -> list[str]:
        """What the dump left prepared is rolled back, and settings it attached to its database or role
        are forgotten, before checks read it. Returns warnings."""
        own_role = database.restorer if database.restorer != self._admin["user"] else None
        warnings = left_prepared(self._admin, database.name, own_role or "")
        reset_settings(self._admin, database.name, own_role)
        return warnings

    def drop_database(self, database: Database) -> list[str]:
        return self._drop(database.name, with_role=database.restorer == database.name)

    def _drop(self, name: str, with_role: bool = True) -> list[str]:
        """Drop the database, then the role of the same name that owned it (ours: made by _new_role);
        the prepared transactions of either are rolled back first. Returns those."""
        rolled_back = roll_back_prepared(self._admin, owner=name) if with_role else []
        rolled_back += drop_database(self._admin, name)
        if with_role:
            with elevated(self._admin) as conn:
                conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(name)))
        unclaim(self._claims, name)
        return rolled_back

    def _reap(self) -> list[str]:
        """Drop the databases and roles of runs that were killed, and roll back what they left prepared:
        ours by name, claimed by no live session, not kept on purpose. Those this user may not drop are
        left alone."""
        where = redacted(self._admin)
        reaped = []
        for name, with_role, is_database in self._unclaimed():
            try:
                rolled_back = self._drop(name, with_role=with_role)
            except (psycopg.Error, AssertionError):
                self._unclaim(name)
                continue
            reaped.append(f"{'database' if is_database else 'role'} {name} on {where}")
            reaped += [f"{found} on {where}" for found in rolled_back]
        return reaped

    def _unclaimed(self) -> list[tuple[str, bool, bool]]:
        """Our databases and our roles left without one, that no live run claims (claimed here until
        dropped): name, whether a role of that name exists, whether it is a database."""
        rows = self._claims.execute(
            "SELECT d.datname, EXISTS (SELECT 1 FROM pg_catalog.pg_roles r "
            "WHERE r.rolname OPERATOR(pg_catalog.=) d.datname), true FROM pg_catalog.pg_database d "
            "WHERE d.datname OPERATOR(pg_catalog.~~) %s AND coalesce("
            "pg_catalog.shobj_description(d.oid, 'pg_database'), '') OPERATOR(pg_catalog.<>) %s "
            "UNION ALL SELECT r.rolname, true, false FROM pg_catalog.pg_roles r "
            "WHERE r.rolname OPERATOR(pg_catalog.~) %s AND r.rolcanlogin AND NOT r.rolsuper "
            "AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_database d "
            "WHERE d.datname OPERATOR(pg_catalog.=) r.rolname)",
            ("liftbackup\\_%", _KEPT, _OUR_ROLE),
        ).fetchall()
        found = []
        for name, has_role, is_database in rows:
            if try_claim(self._claims, name):  # else a live run's
                found.append((str(name), bool(has_role), bool(is_database)))
        return found

    def _unclaim(self, name: str) -> None:
        unclaim(self._claims, name)

    def close(self) -> None:
        """Nothing to stop: databases are dropped one by one by the session; the claims go."""
        self._claims.close()
