"""Throwaway databases, and the roles that restore into them and read them.

Databases are made from template0 (server/database_shape) and dropped here. The roles are ours: a dump is
untrusted input, so it never runs as a superuser (a superuser session could run `COPY ... TO PROGRAM`
or `LOAD`), and no dump may reach another's database:

- each restore logs in as a role of its own, `liftbackup_restorer_<hex>`, member of exactly the roles
  its dump names (created NOLOGIN, so `ALTER ... OWNER TO lift_admin` and GRANTs restore as they were);
- every throwaway database refuses connections from PUBLIC; only its restorer and the reader connect;
- once restored, the database is handed to its restorer, the restorer loses LOGIN, and any setting the
  dump attached to the database or to a role in it is reset: a later dump, acting as a role both share
  (`lift_admin`), owns nothing of the earlier one's, and nothing the dump set can change how checks read;
- checks read as `liftbackup_reader`: `pg_read_all_data`, BYPASSRLS, read-only, `row_security=off`.

Every connection of ours with rights the dump's roles lack (the superuser's; the reader's row counts)
opens through `elevated`, and into a dump's database through `into_dump_database` (see there).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import psycopg
from psycopg import sql

from pytest_liftbackup.server import libpq_env
from pytest_liftbackup.server.database_shape import DatabaseShape, create

SUPERUSER = "liftbackup_superuser"
READER = "liftbackup_reader"
OURS = "liftbackup_"  # our roles and databases: never a dump's
# Every connection that reads a restored database: nothing can write, and a row-level security policy
# that would hide rows is an error rather than a silently short answer.
READ_ONLY_OPTIONS = "-c default_transaction_read_only=on -c row_security=off"
# The longest any session of ours waits for a lock on or in a restored database: nothing but a dump's
# leftover (a prepared transaction) ever holds one there.
LOCK_TIMEOUT = "30s"


@dataclass
class Database:
    """One throwaway database: where to restore into and how to read it afterwards."""

    name: str
    restore_conninfo: dict[str, str] = field(repr=False)
    read_conninfo: dict[str, str] = field(repr=False)
    server_version: str
    restores_ownership: bool
    where: str  # for the report: never holds a password
    restorer: str = ""  # the role the dump ran as
    warnings: list[str] = field(
        default_factory=list
    )  # what the server could not give (see server/database_shape)


class Host(Protocol):
    """A server that holds throwaway databases: our own, or an existing one given by a DSN."""

    kind: str
    settings: dict[str, str]

    @property
    def server_version(self) -> str: ...

    @property
    def description(self) -> str: ...

    def admin_conninfo(self, dbname: str = ...) -> dict[str, str]: ...

    def create_database(
        self,
        hint: str,
        owner: str | None = None,
        roles: Iterable[str] = (),
        trusted: bool = False,
        shape: DatabaseShape | None = None,
    ) -> Database: ...

    def finish(self, database: Database) -> list[str]: ...

    def keep(self, databases: list[str]) -> list[str]: ...

    def drop_database(self, database: Database) -> list[str]: ...

    def close(self) -> None: ...


def conninfo_from(info: Mapping[str, str]) -> str:
    """A libpq connection string. Text comes back as UTF-8 even from a SQL_ASCII database, where
    psycopg would otherwise hand out bytes for every name (a dump sets its own encoding itself)."""
    return psycopg.conninfo.make_conninfo(**{"client_encoding": "UTF8", **info})


# Set in the startup packet, which outranks every database and role setting: only pg_catalog is searched
# (implicitly), so nothing a dump creates in public, in a schema named after our superuser (the "$user"
# of the default path) or in a schema its database setting puts first can stand in for a name of ours.
EMPTY_SEARCH_PATH = "-c search_path="


def elevated(
    info: Mapping[str, str] | str, *, autocommit: bool = True, connect_timeout: int | None = None
) -> psycopg.Connection[Any]:
    """A connection with rights a dump's roles lack, `search_path` empty from its first statement.

    The one rule for our SQL on it: every operator, function and type is schema-qualified as well
    (`OPERATOR(pg_catalog.=)`, `pg_catalog.count(*)`), which tests/security/test_elevated_sql.py
    checks on every statement the hostile-objects suite runs. A dump's exact-match operator
    (`public.!~~(name, name)` for `name NOT LIKE 'x'`) would otherwise win over pg_catalog's."""
    fields = dict(psycopg.conninfo.conninfo_to_dict(info) if isinstance(info, str) else info)
    fields["options"] = " ".join(
        part for part in (str(fields.get("options") or ""), EMPTY_SEARCH_PATH) if part
    )
    if connect_timeout is not None:
        fields["connect_timeout"] = connect_timeout
    return psycopg.connect(conninfo_from({k: str(v) for k, v in fields.items()}), autocommit=autocommit)


def into_dump_database(admin: Mapping[str, str], name: str) -> psycopg.Connection[Any]:
    """The superuser's connection into dump database `name` (`admin`: its maintenance database).

    Settings the dump attached to the database or to roles in it are reset first, from `admin`:
    they apply when a session starts, before any statement of ours (a `role`, a
    `default_transaction_read_only`, a `search_path` that `elevated` overrides anyway)."""
    reset_settings(admin, name)
    return elevated({**admin, "dbname": name})


def redacted(info: Mapping[str, str]) -> str:
    """host:port/dbname as user: what the report may show. Never the password."""
    host = info.get("host", "localhost")
    return f"{info.get('user', '?')}@{host}:{info.get('port', '5432')}/{info.get('dbname', '')}"


def pg_env(info: Mapping[str, str]) -> dict[str, str]:
    """PG* variables for a tool the tests run against a server of ours, password included: the product
    hands tools no PGPASSWORD (`server.libpq_env.tool_env` writes a password file instead)."""
    found = libpq_env.variables(info, major=10**6)
    if info.get("password"):
        found["PGPASSWORD"] = info["password"]
    return found


def database_name(hint: str, prefix: str = "liftbackup") -> str:
    """A fresh, valid, unmistakably ours database name (63 bytes at most)."""
    stem = re.sub(r"[^a-z0-9_]+", "_", hint.lower()).strip("_")[:36] or "dump"
    return f"{prefix}_{stem}_{secrets.token_hex(4)}"


def new_database(
    admin: Mapping[str, str],
    name: str,
    owner: str,
    connect: Iterable[str],
    shape: DatabaseShape | None = None,
) -> list[str]:
    """Database `name` from template0 (as pg_dump's docs ask), shaped as the dump's CREATE DATABASE
    says (`server/database_shape`), owned by `owner`, reachable only by the owner and the roles in `connect`
    (superusers aside). Returns warnings about the shape; raises ShapeError when it cannot be followed."""
    with elevated(admin) as conn:
        warnings = create(conn, name, shape)
        db = sql.Identifier(name)
        conn.execute(sql.SQL("ALTER DATABASE {} OWNER TO {}").format(db, sql.Identifier(owner)))
        conn.execute(sql.SQL("REVOKE ALL ON DATABASE {} FROM PUBLIC").format(db))
        for role in connect:
            conn.execute(sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(db, sql.Identifier(role)))
    return warnings


# The advisory-lock class of liftbackup's claims on the databases it makes on a server it shares
# (server/existing, server/target): a run's session holds one per database for its life, and lets go
# when the process ends however it ends, so a later run tells a killed run's database from a live one's.
CLAIMS = 0x6C6966


def claim(conn: psycopg.Connection[Any], name: str) -> None:
    """Claim `name` for the life of `conn`'s session (waiting while another run holds it)."""
    conn.execute("SELECT pg_catalog.pg_advisory_lock(%s, pg_catalog.hashtext(%s))", (CLAIMS, name))


def try_claim(conn: psycopg.Connection[Any], name: str) -> bool:
    """Claim `name` unless a live run holds it; True when claimed here."""
    row = conn.execute(
        "SELECT pg_catalog.pg_try_advisory_lock(%s, pg_catalog.hashtext(%s))", (CLAIMS, name)
    ).fetchone()
    return bool(row and row[0])


def unclaim(conn: psycopg.Connection[Any], name: str) -> None:
    conn.execute("SELECT pg_catalog.pg_advisory_unlock(%s, pg_catalog.hashtext(%s))", (CLAIMS, name))


def left_prepared(admin: Mapping[str, str], name: str, role: str = "") -> list[str]:
    """The restore is over: what the dump left prepared (in its database, or as its role) is rolled
    back, as `warning:` lines; the visible data are the same (a prepared transaction's are invisible)."""
    return [
        f"the dump left {found} (PREPARE TRANSACTION), which would outlive the restore: rolled back"
        for found in roll_back_prepared(admin, database=name, owner=role)
    ]


def limit_temp_files(admin: Mapping[str, str], name: str, roles: Iterable[str], budget: int) -> None:
    """Hold each session of `roles` in database `name` to `budget` bytes of temporary files
    (`temp_file_limit`, which pg_database_size does not see). Set by a superuser, as a setting of the
    role in that database: a non-superuser can neither SET, RESET nor ALTER ROLE it away (RESET ALL
    keeps it). Only a superuser may set it: with any other DSN user, nothing is set."""
    kilobytes = max(64, min(budget // 1024, (1 << 31) - 1))
    with elevated(admin) as conn:
        if not is_superuser(conn):
            return
        for role in sorted(set(roles)):
            conn.execute(
                sql.SQL("ALTER ROLE {} IN DATABASE {} SET temp_file_limit = {}").format(
                    sql.Identifier(role), sql.Identifier(name), sql.Literal(f"{kilobytes}kB")
                )
            )


# The temp_file_limit of roles in a database (limit_temp_files): kept through the reset, since only a
# superuser can set it (a dump's role can neither set nor reset it), so every such setting is ours.
_OUR_TEMP_FILE_LIMITS = (
    "SELECT r.rolname, pg_catalog.substr(c.setting, 17) FROM pg_catalog.pg_db_role_setting s "
    "JOIN pg_catalog.pg_database d ON d.oid OPERATOR(pg_catalog.=) s.setdatabase "
    "JOIN pg_catalog.pg_roles r ON r.oid OPERATOR(pg_catalog.=) s.setrole "
    "CROSS JOIN LATERAL pg_catalog.unnest(s.setconfig) AS c(setting) "
    "WHERE d.datname OPERATOR(pg_catalog.=) %s AND pg_catalog.starts_with(c.setting, 'temp_file_limit=')"
)


def reset_settings(admin: Mapping[str, str], name: str, role: str | None = None) -> None:
    """Forget every setting the dump attached to its database, to a role in it, or to `role` (the
    temp_file_limit we set on our roles stays: see _OUR_TEMP_FILE_LIMITS)."""
    with elevated(admin) as conn:
        db = sql.Identifier(name)
        conn.execute(sql.SQL("ALTER DATABASE {} RESET ALL").format(db))
        if role is not None:
            conn.execute(sql.SQL("ALTER ROLE {} RESET ALL").format(sql.Identifier(role)))
        if is_superuser(conn):
            kept = conn.execute(_OUR_TEMP_FILE_LIMITS, (name,)).fetchall()
            conn.execute(sql.SQL("ALTER ROLE ALL IN DATABASE {} RESET ALL").format(db))
            for role_name, value in kept:
                conn.execute(
                    sql.SQL("ALTER ROLE {} IN DATABASE {} SET temp_file_limit = {}").format(
                        sql.Identifier(role_name), db, sql.Literal(value)
                    )
                )


def is_superuser(conn: psycopg.Connection[Any]) -> bool:
    row = conn.execute(
        "SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname OPERATOR(pg_catalog.=) CURRENT_USER"
    ).fetchone()
    return bool(row and row[0])


def drop_database(admin: Mapping[str, str], name: str) -> list[str]:
    """Drop one database we created: its prepared transactions are rolled back and connections to it
    ended first, no lock waited for past LOCK_TIMEOUT. Returns the prepared transactions rolled back
    (see `roll_back_prepared`)."""
    if not name.startswith("liftbackup_"):
        raise AssertionError(f"refusing to drop {name!r}: not a database this plugin created")
    rolled_back = roll_back_prepared(admin, database=name)
    with elevated(admin, connect_timeout=10) as conn:
        conn.execute("SELECT pg_catalog.set_config('lock_timeout', %s, false)", (LOCK_TIMEOUT,))
        found = "SELECT 1 FROM pg_catalog.pg_database WHERE datname OPERATOR(pg_catalog.=) %s"
        if conn.execute(found, (name,)).fetchone():
            db = sql.Identifier(name)
            conn.execute(sql.SQL("ALTER DATABASE {} WITH ALLOW_CONNECTIONS false").format(db))
            end_sessions(conn, database=name)
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(db))
    return rolled_back


def end_sessions(conn: psycopg.Connection[Any], *, database: str = "", pid: int = 0) -> None:
    """Terminate, over `conn`, the backends of `database` (but `conn`'s own), or the one of `pid`."""
    conn.execute(
        "SELECT pg_catalog.pg_terminate_backend(pid) FROM pg_catalog.pg_stat_activity "
        "WHERE (datname OPERATOR(pg_catalog.=) %s OR pid OPERATOR(pg_catalog.=) %s) "
        "AND pid OPERATOR(pg_catalog.<>) pg_catalog.pg_backend_pid()",
        (database or None, pid or None),
    )


def roll_back_prepared(admin: Mapping[str, str], *, database: str = "", owner: str = "") -> list[str]:
    """Roll back the prepared transactions in `database` or owned by `owner`: a dump's `PREPARE
    TRANSACTION` outlives its session, holds its locks and keeps its database from being dropped.
    Returns them as `prepared transaction 'gid' in db`. ROLLBACK PREPARED must run in the transaction's
    database, as its owner or a superuser: a DSN user that is neither acts as the owner (SET ROLE:
    ours are granted to it); a database closed to connections (a drop cut short) is opened first."""
    with elevated(admin) as conn:
        rows = conn.execute(
            "SELECT p.gid, p.database, p.owner, d.datallowconn FROM pg_catalog.pg_prepared_xacts p "
            "JOIN pg_catalog.pg_database d ON d.datname OPERATOR(pg_catalog.=) p.database "
            "WHERE p.database OPERATOR(pg_catalog.=) %s OR p.owner OPERATOR(pg_catalog.=) %s",
            (database or None, owner or None),
        ).fetchall()
        superuser = is_superuser(conn)
        for db in {str(row[1]) for row in rows if not row[3]}:
            conn.execute(sql.SQL("ALTER DATABASE {} WITH ALLOW_CONNECTIONS true").format(sql.Identifier(db)))
    done = []
    for gid, db, role, _ in rows:
        with elevated({**admin, "dbname": db}) as conn:
            if not superuser:
                conn.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(role)))
            conn.execute(sql.SQL("ROLLBACK PREPARED {}").format(sql.Literal(gid)))
        done.append(f"prepared transaction {gid!r} in {db}")
    return done


def new_password() -> str:
    return secrets.token_urlsafe(24)


def scram_verifier(password: str) -> str:
    """What PostgreSQL stores for a SCRAM-SHA-256 password (RFC 5802/7677, 4096 iterations): given
    in CREATE/ALTER ROLE, the password itself never reaches the server, its logs or statistics."""
    salt = secrets.token_bytes(16)
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, 4096)
    stored = hashlib.sha256(hmac.new(salted, b"Client Key", "sha256").digest()).digest()
    server = hmac.new(salted, b"Server Key", "sha256").digest()
    b64 = [base64.b64encode(part).decode() for part in (salt, stored, server)]
    return f"SCRAM-SHA-256$4096:{b64[0]}${b64[1]}:{b64[2]}"


class RoleKeeper:
    """Creates the reader once, the dump's roles as they are needed, and a restorer per restore.

    The reader and each restorer log in with a random password of their own (`passwords`): the
    restorer's is handed to pg_restore, which reads the dump, so it must open nothing else."""

    def __init__(self, admin_conninfo: str) -> None:
        self._admin = admin_conninfo
        self.created: list[str] = []
        self.passwords: dict[str, str] = {READER: new_password()}
        reader = sql.Identifier(READER)
        with elevated(admin_conninfo) as conn:
            found = "SELECT 1 FROM pg_catalog.pg_roles WHERE rolname OPERATOR(pg_catalog.=) %s"
            if conn.execute(found, (READER,)).fetchone():
                # a reused cluster, made by an earlier run: its password is this run's from now on
                conn.execute(sql.SQL("ALTER ROLE {}{}").format(reader, self._secret(READER)))
                return
            conn.execute(sql.SQL("CREATE ROLE {} LOGIN BYPASSRLS{}").format(reader, self._secret(READER)))
            conn.execute(sql.SQL("GRANT pg_read_all_data TO {}").format(reader))

    def _secret(self, role: str) -> sql.Composable:
        verifier = scram_verifier(self.passwords[role])
        return sql.SQL(" PASSWORD {}").format(sql.Literal(verifier))

    def ensure(self, roles: Iterable[str]) -> list[str]:
        """Create the missing roles NOLOGIN. Returns those created.

        Roles that already exist (predefined `pg_*` roles, ours) are never handed to a dump: a dump
        naming `pg_execute_server_program` gets an error, not its powers.
        """
        wanted = sorted({r for r in roles if r and not r.startswith((OURS, "pg_"))})
        made: list[str] = []
        if not wanted:
            return made
        with elevated(self._admin) as conn:
            existing = {row[0] for row in conn.execute("SELECT rolname FROM pg_catalog.pg_roles")}
            for role in wanted:
                if role not in existing:
                    conn.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(sql.Identifier(role)))
                    made.append(role)
        self.created += made
        return made

    def new_restorer(self, roles: Iterable[str]) -> str:
        """A LOGIN role for one restore, member of those of `roles` this keeper created, and no other."""
        name = f"{OURS}restorer_{secrets.token_hex(4)}"
        self.passwords[name] = new_password()
        with elevated(self._admin) as conn:
            role = sql.Identifier(name)
            conn.execute(sql.SQL("CREATE ROLE {} LOGIN BYPASSRLS{}").format(role, self._secret(name)))
            for member_of in sorted(set(roles) & set(self.created)):
                conn.execute(sql.SQL("GRANT {} TO {}").format(sql.Identifier(member_of), role))
        return name

    def retire(self, restorer: str) -> None:
        """The restore is over: its role logs in no more."""
        self.passwords.pop(restorer, None)
        with elevated(self._admin) as conn:
            conn.execute(sql.SQL("ALTER ROLE {} NOLOGIN PASSWORD NULL").format(sql.Identifier(restorer)))


def server_version_of(conn: psycopg.Connection[Any]) -> str:
    row = conn.execute("SHOW server_version").fetchone()
    return str(row[0]).split()[0] if row else "?"
