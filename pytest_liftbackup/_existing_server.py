"""An existing server given by --liftbackup-dsn (a CI service container, a shared test server).

Only databases this run creates are ever touched: each restore gets a fresh `liftbackup_*`
database, dropped at the end, after a failure or Ctrl-C too. Roles are cluster-wide and shared,
so none is created: ownership and grants are not restored there (as `pg_restore -O -x`).
"""

from __future__ import annotations

import psycopg

from ._errors import LiftbackupError
from ._janitor import Database, create_database, drop_database, redacted, server_version_of


class ExistingServer:
    kind = "existing"

    def __init__(self, dsn: str) -> None:
        try:
            info = psycopg.conninfo.conninfo_to_dict(dsn)
        except psycopg.ProgrammingError:
            raise LiftbackupError(
                "--liftbackup-dsn: not a valid connection string; expected postgresql://user:password@host:port/db"
            ) from None
        self._admin = {k: str(v) for k, v in info.items() if v is not None}
        self._admin.setdefault("dbname", "postgres")
        self.settings: dict[str, str] = {}
        try:
            with psycopg.connect(dsn, autocommit=True, connect_timeout=10) as conn:
                self._version = server_version_of(conn)
                self._admin.setdefault("user", conn.info.user)
                self._admin.setdefault("host", conn.info.host)
                self._admin.setdefault("port", str(conn.info.port))
        except psycopg.OperationalError as exc:
            reason = str(exc).replace(self._admin.get("password", "\0"), "***").strip().splitlines()[-1]
            raise LiftbackupError(
                f"--liftbackup-dsn: cannot connect to {redacted(self._admin)}: {reason}"
            ) from None

    @property
    def server_version(self) -> str:
        return self._version

    @property
    def description(self) -> str:
        return f"existing PostgreSQL {self._version} at {redacted(self._admin)} (--liftbackup-dsn)"

    def admin_conninfo(self, dbname: str = "") -> dict[str, str]:
        return dict(self._admin, dbname=dbname or self._admin["dbname"])

    def create_database(self, hint: str, owner: str | None = None) -> Database:
        """`owner` is ignored: no role is created or used on a shared server."""
        return create_database(self, hint, restores_ownership=False)

    def drop_database(self, database: Database) -> None:
        drop_database(self._admin, database.name)

    def close(self) -> None:
        """Nothing to stop: databases are dropped one by one by the session."""
