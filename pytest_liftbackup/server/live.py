"""The team's own server (the one the app uses), reached by a DSN or libpq's usual places.

Credentials come from where libpq finds them: the DSN, PG* variables, `.pgpass`, a service file.
They never reach output or process arguments: tools started against the server get every setting of
the connection (`settings`) through libpq's PG* variables and a private password file (see
libpq_env.tool_env), and messages show user@host:port/db only.
"""

from __future__ import annotations

from typing import Any

import psycopg

from pytest_liftbackup._errors import LiftbackupError, Setting, word
from pytest_liftbackup.server.databases import conninfo_from, redacted


def parameters(dsn: str | None) -> dict[str, str]:
    """The DSN's settings (libpq fills in the rest from the environment); a bad DSN is a clear error."""
    try:
        info = psycopg.conninfo.conninfo_to_dict(dsn or "")
    except psycopg.ProgrammingError:
        raise LiftbackupError(Setting.DSN, f": not a valid connection string; expected {_SHAPE}") from None
    return {k: str(v) for k, v in info.items() if v is not None}


_SHAPE = (
    "postgresql://user@host:port/db, the password in ~/.pgpass or PGPASSFILE (or the whole DSN in "
    "LIFTBACKUP_DSN), never on the command line"
)


def password_warning(dsn: str | None) -> str | None:
    """A one-line warning for a DSN given on the command line with a password in it: every user of the
    machine can read a process's arguments (`ps`). None when there is no password (or no valid DSN)."""
    try:
        if not dsn or not psycopg.conninfo.conninfo_to_dict(dsn).get("password"):
            return None
    except psycopg.ProgrammingError:
        return None
    return word(
        "warning: ",
        Setting.DSN,
        " holds a password, which other users of this machine can read in the process list; "
        "put it in ~/.pgpass or PGPASSFILE, or give the DSN in LIFTBACKUP_DSN",
    )


def connect(
    dsn: str | None, *, dbname: str | None = None, autocommit: bool = True
) -> psycopg.Connection[Any]:
    """A connection to the live server, or an error naming where it tried (never the password)."""
    info = parameters(dsn)
    if dbname is not None:
        info["dbname"] = dbname
    try:
        return psycopg.connect(conninfo_from(info), autocommit=autocommit, connect_timeout=10)
    except psycopg.OperationalError as exc:
        raise LiftbackupError(
            Setting.DSN, f": cannot connect to {redacted(info)}: {reason(exc, info.get('password'))}"
        ) from None


def reason(exc: psycopg.Error, password: str | None) -> str:
    """PostgreSQL's last line about a failed connection, with the password (if it echoes it) masked."""
    said = str(exc).strip()
    line = said.splitlines()[-1] if said else type(exc).__name__
    return line.replace(password, "***") if password else line


def described(conn: psycopg.Connection[Any]) -> str:
    """user@host:port/db of a live connection, for messages."""
    info = conn.info
    return redacted({"user": info.user, "host": info.host, "port": str(info.port), "dbname": info.dbname})


def settings(conn: psycopg.Connection[Any]) -> dict[str, str]:
    """Every libpq setting `conn` was made with, wherever libpq found it (the DSN, PG* variables, a
    service file, the password file), aimed at the very server `conn` reached: a tool given these
    connects as `conn` did, TLS files, channel binding and all. A service is resolved already, so it is
    not named again (its values would override ours)."""
    params = {
        k: v for k, v in conn.info.get_parameters().items() if k not in ("service", "servicefile", "passfile")
    }
    params.update(host=conn.info.host, port=str(conn.info.port), user=conn.info.user, dbname=conn.info.dbname)
    if "hostaddr" in params:
        params["hostaddr"] = conn.info.hostaddr
    if conn.info.password:
        params["password"] = conn.info.password
    return params
