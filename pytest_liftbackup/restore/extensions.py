"""Extensions that only a superuser may create (pgvector, PostGIS...), without trusting the dump.

The restore runs as a non-superuser, so `CREATE EXTENSION vector` from a dump would fail. A statement
that has exactly the shape pg_dump writes, for an extension on the ELEVATED list, is parsed into names,
and our own statement, composed from those names with psycopg's quoting, is run by the superuser: the
dump's text itself never runs with superuser rights. ELEVATED holds only extensions that cannot reach
outside the database: no other server, file, program, or other database's data. Those that can
(REACHING_OUT) are refused by name before anything runs, unless trusted; any other
extension stays with the restorer, and PostgreSQL decides (its trusted extensions need no superuser).
"""

from __future__ import annotations

import re

from psycopg import sql

from pytest_liftbackup._errors import Given, Part, Setting
from pytest_liftbackup.dump.sql_script import Statement, identifier
from pytest_liftbackup.server.binaries import PgBinaries
from pytest_liftbackup.server.databases import elevated

ELEVATED = frozenset(
    {
        # PostgreSQL's own, trusted or harmless: data types, indexes, text search, trigger functions
        *("amcheck", "autoinc", "bloom", "btree_gin", "btree_gist", "citext", "cube", "dict_int"),
        *("dict_xsyn", "earthdistance", "fuzzystrmatch", "hstore", "insert_username", "intagg"),
        *("intarray", "isn", "lo", "ltree", "moddatetime", "pg_trgm", "pgcrypto", "pgstattuple"),
        *("refint", "seg", "tablefunc", "tcn", "tsm_system_rows", "tsm_system_time", "unaccent"),
        "uuid-ossp",
        "plpgsql",  # in every database: pg_dump 9.1 to 10 write its CREATE (a no-op) and its COMMENT
        # widely used third-party types and functions
        *("vector", "postgis", "postgis_topology", "postgis_sfcgal", "address_standardizer"),
        *("address_standardizer_data_us", "h3", "h3_postgis", "pgrouting", "pg_hashids"),
    }
)
# Reach other servers (dblink, postgres_fdw), files (file_fdw, adminpack, pg_prewarm's dump file, xml2's
# XSLT), programs (untrusted languages), or other databases' data (WAL, shared buffers, query texts).
REACHING_OUT = frozenset(
    {
        *("dblink", "postgres_fdw", "file_fdw", "adminpack", "pg_prewarm", "xml2", "old_snapshot"),
        *("plperlu", "plpythonu", "plpython2u", "plpython3u", "pltclu", "pljavau", "plv8u"),
        *("pg_walinspect", "pg_logicalinspect", "pg_buffercache", "pg_stat_statements", "pageinspect"),
        *("pg_surgery", "pg_visibility", "pg_freespacemap", "pgrowlocks", "sslinfo", "postgis_raster"),
        *("mysql_fdw", "oracle_fdw", "tds_fdw", "multicorn", "http", "pgsql_http", "pg_net", "pg_cron"),
    }
)
_IDENT = r'(?:"(?:[^"]|"")[^"]*(?:""[^"]*)*"|[a-z_][a-z0-9_$]*)'
_ANY_CREATE = re.compile(
    rf"^\s*CREATE\s+(?:EXTENSION|(?:OR\s+REPLACE\s+)?(?:TRUSTED\s+)?(?:PROCEDURAL\s+)?LANGUAGE)"
    rf"\s+(?:IF\s+NOT\s+EXISTS\s+)?({_IDENT})",
    re.IGNORECASE,
)
_CREATE = re.compile(rf"^CREATE EXTENSION IF NOT EXISTS ({_IDENT}) WITH SCHEMA ({_IDENT});$")
_COMMENT = re.compile(rf"^COMMENT ON EXTENSION ({_IDENT}) IS '([^']*(?:''[^']*)*)';$", re.DOTALL)


def note(statement: Statement, wanted: set[str], trusted: bool) -> tuple[Part, ...]:
    """Add the extension the statement creates to `wanted`. Returns why the dump is refused when it
    creates an extension or language on the REACHING_OUT list and is not trusted, else nothing."""
    head = statement.sql[:200].decode("utf-8", "replace")
    match = _ANY_CREATE.match(head)
    if match is None:
        return ()
    name = identifier(match.group(1))
    if re.match(r"\s*CREATE\s+EXTENSION", head, re.IGNORECASE):
        wanted.add(name)
    if name in REACHING_OUT and not trusted:
        return (
            f"the dump creates {name}, which can reach other servers, files, programs or other databases "
            "from inside PostgreSQL; restore such a dump only if you trust it, with ",
            Setting.TRUSTED,
            "; nothing was restored",
        )
    return ()


def missing(admin: dict[str, str], wanted: set[str]) -> list[str]:
    """Those of `wanted` the server cannot create: not among its available extensions."""
    if not wanted:
        return []  # no connection for the many dumps that create none
    with elevated(admin) as conn:
        rows = conn.execute("SELECT name FROM pg_catalog.pg_available_extensions").fetchall()
    return sorted(wanted - {str(row[0]) for row in rows})


def unavailable(names: list[str], server: str, elsewhere: list[PgBinaries]) -> tuple[Part, ...]:
    """Why the restore stops before it starts, and what to do: `elsewhere` are installations found on
    this machine that have every extension named."""
    fix: tuple[Part, ...]
    if elsewhere:
        found = "; ".join(f"PostgreSQL {b.version} in {b.bindir} has it" for b in elsewhere)
        fix = (f"{found}: pass ", Given(Setting.PG_BIN, str(elsewhere[0].bindir)))
    else:
        fix = (
            "no PostgreSQL installation found on this machine has it: install your distribution's "
            "postgresql-contrib package (uuid-ossp, pgcrypto...) and pass its bin folder with ",
            Given(Setting.PG_BIN, "DIR"),
        )
    return (
        f"the dump creates extension {', '.join(names)}, which the server ({server}) does not have, so its "
        "restore would fail; ",
        *fix,
        " (or, with ",
        Setting.DSN,
        ", install it on that server); nothing was restored",
    )


def with_hint(message: str, context: str = "") -> tuple[Part, ...]:
    """PostgreSQL's refusal of something only a superuser may do, or of temporary files past the size
    budget, with what the user can do about it.

    `context` is the rest of what PostgreSQL said (its HINT), where "superuser" often stands.
    """
    if "permission denied to create extension" in message:
        return (
            f"{message}; only a superuser may create it, and the plugin does so only for extensions that "
            "cannot reach outside the database: pass ",
            Setting.TRUSTED,
            " if you trust this dump",
        )
    if "temp_file_limit" in message:  # set from the size budget (server/databases.limit_temp_files)
        return (f"{message}, set from ", Setting.MAX_SIZE, "; raise it if the backup is really yours")
    if "superuser" in f"{message} {context}".lower():
        return (
            f"{message}; this dump needs a superuser for that, which an untrusted dump never gets: pass ",
            Setting.TRUSTED,
            " if the dump is yours",
        )
    return (message,)


def superuser_statement(statement: Statement) -> sql.Composed | None:
    """Our own rewrite of a pg_dump extension statement, or None when it is not one."""
    entry = statement.entry
    if entry is None or entry.type not in ("EXTENSION", "COMMENT"):
        return None
    text = statement.sql.decode("utf-8", "replace")
    if entry.type == "EXTENSION" and (m := _CREATE.match(text)) and identifier(m.group(1)) in ELEVATED:
        return sql.SQL("CREATE EXTENSION IF NOT EXISTS {} WITH SCHEMA {}").format(
            sql.Identifier(identifier(m.group(1))), sql.Identifier(identifier(m.group(2)))
        )
    is_comment = entry.type == "COMMENT" and entry.name.startswith("EXTENSION ")
    if is_comment and (m := _COMMENT.match(text)) and identifier(m.group(1)) in ELEVATED:
        return sql.SQL("COMMENT ON EXTENSION {} IS {}").format(
            sql.Identifier(identifier(m.group(1))), sql.Literal(m.group(2).replace("''", "'"))
        )
    return None
