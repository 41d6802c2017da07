"""A hostile source database for the elevated-paths suite, made on a real server and dumped by its pg_dump.

Every trap calls `public.fired(name)`: run by a superuser in a restored database (`liftbackup_*`)
it writes a canary file (`COPY ... TO PROGRAM 'touch DIR/name'`) and a row in `public.canary`, silently,
so that today's code would pass; run by our reader it raises `liftbackup-canary: ...` (the reader can
write nothing); run by the dump's own roles, or on the source database, it does nothing.

- shadows of the operators and functions our SQL uses, exact matches (`!~~(name, name)`, `=(oid,
  regclass)`, `=(oid, integer)`) and identical signatures (`=(name, name)`, `<>(name, name)`,
  `=("char", "char")`, `set_config`, `pg_has_role`, `count(*)`...), each in `public`, in a schema named
  after our superuser (`liftbackup_superuser`, the `"$user"` of its default search_path) and in `first`,
  which a trap puts first in the database's search_path during the restore (`ALTER DATABASE ... SET
  search_path = first, public, pg_catalog`, from a CHECK constraint evaluated as the rows load);
- a cast from a table's row type to text (the digest casts rows to text);
- traps in a column default, a CHECK constraint, an index expression and a trigger;
- `ALTER TABLE app.owned OWNER TO hostile_other` (and app.t), where hostile_other may not create in `app`: the
  restore lends it CREATE (restore/elevation), the superuser's path of issue 29;
- citext (created by the superuser from its names) and a large object (granted to the reader);
- in the plain dump, pg_dump --disable-triggers' `ALTER TABLE app.t DISABLE/ENABLE TRIGGER ALL`.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

from pytest_liftbackup.api.manifest import Manifest, TableFacts, read_facts
from pytest_liftbackup.server.binaries import PgBinaries
from pytest_liftbackup.server.databases import conninfo_from, pg_env
from pytest_liftbackup.server.throwaway import ThrowawayServer

DATABASE = "hostile"
OWNER, OTHER = "hostile_owner", "hostile_other"
SCHEMAS = ("public", "liftbackup_superuser", "first")
CANARY_PREFIX = "liftbackup-canary"

# (operator, left, right, the built-in it stands in for)
OPERATORS = [
    ("!~~", "name", "name", "$1::pg_catalog.text OPERATOR(pg_catalog.!~~) $2::pg_catalog.text"),
    ("~~", "name", "name", "$1::pg_catalog.text OPERATOR(pg_catalog.~~) $2::pg_catalog.text"),
    ("=", "name", "name", "$1 OPERATOR(pg_catalog.=) $2"),
    ("<>", "name", "name", "$1 OPERATOR(pg_catalog.<>) $2"),
    ("=", '"char"', '"char"', "$1 OPERATOR(pg_catalog.=) $2"),
    ("=", "oid", "oid", "$1 OPERATOR(pg_catalog.=) $2"),
    ("=", "oid", "regclass", "$1 OPERATOR(pg_catalog.=) $2::pg_catalog.oid"),
    ("=", "oid", "integer", "$1 OPERATOR(pg_catalog.=) $2::pg_catalog.oid"),
    ("<>", "integer", "integer", "$1 OPERATOR(pg_catalog.<>) $2"),
    ("=", "text", "text", "$1 OPERATOR(pg_catalog.=) $2"),
]
# (function, its arguments, result, the built-in call)
FUNCTIONS = [
    ("set_config", "text, text, boolean", "text", "pg_catalog.set_config($1, $2, $3)"),
    ("pg_has_role", "name, oid, text", "boolean", "pg_catalog.pg_has_role($1, $2, $3)"),
    ("has_schema_privilege", "text, oid, text", "boolean", "pg_catalog.has_schema_privilege($1, $2, $3)"),
    ("to_regclass", "text", "regclass", "pg_catalog.to_regclass($1)"),
    ("pg_database_size", "name", "bigint", "pg_catalog.pg_database_size($1)"),
    ("pg_backend_pid", "", "integer", "pg_catalog.pg_backend_pid()"),
    ("current_database", "", "name", "pg_catalog.current_database()"),
    ("format_type", "oid, integer", "text", "pg_catalog.format_type($1, $2)"),
    ("format", "text, text", "text", "pg_catalog.format($1, $2)"),
    (
        "pg_get_function_identity_arguments",
        "oid",
        "text",
        "pg_catalog.pg_get_function_identity_arguments($1)",
    ),
    ("unnest", "oid[]", "SETOF oid", "pg_catalog.unnest($1)"),
]


def _fired(canary_dir: Path) -> str:
    return f"""
CREATE TABLE public.canary (who text, db text, trap text);
CREATE FUNCTION public.fired(trap text) RETURNS boolean LANGUAGE plpgsql AS $f$
BEGIN
  IF pg_catalog.current_database() OPERATOR(pg_catalog.!~~) 'liftbackup%' THEN
    RETURN true;
  END IF;
  IF pg_catalog.current_setting('is_superuser') OPERATOR(pg_catalog.=) 'on' THEN
    EXECUTE pg_catalog.format('COPY (SELECT 1) TO PROGRAM %L',
                              'cat >/dev/null; touch ''{canary_dir}/' OPERATOR(pg_catalog.||) trap OPERATOR(pg_catalog.||) '''');
    BEGIN  -- the table comes later in the dump than some traps
      INSERT INTO public.canary VALUES (CURRENT_USER, pg_catalog.current_database(), trap);
    EXCEPTION WHEN undefined_table THEN NULL;
    END;
  ELSIF CURRENT_USER OPERATOR(pg_catalog.=) 'liftbackup_reader' THEN
    RAISE EXCEPTION '{CANARY_PREFIX}: % ran as %', trap, CURRENT_USER;
  END IF;
  RETURN true;
END $f$;
CREATE FUNCTION public.fired_at(integer) RETURNS integer LANGUAGE sql IMMUTABLE
    AS $f$ SELECT CASE WHEN public.fired('index') THEN $1 END $f$;
CREATE FUNCTION public.set_path() RETURNS boolean LANGUAGE plpgsql AS $f$
BEGIN
  IF pg_catalog.current_database() OPERATOR(pg_catalog.~~) 'liftbackup%' THEN
    EXECUTE pg_catalog.format('ALTER DATABASE %I SET search_path = first, public, pg_catalog',
                              pg_catalog.current_database());
  END IF;
  RETURN true;
END $f$;
CREATE FUNCTION public.trigger_trap() RETURNS trigger LANGUAGE plpgsql AS $f$
BEGIN
  PERFORM public.fired('trigger');
  RETURN NEW;
END $f$;
"""


def _shadows(schema: str) -> str:
    parts = []
    for number, (op, left, right, builtin) in enumerate(OPERATORS):
        func = f"{schema}.op_{number}"
        name = f"{schema}.{op}({left},{right})".replace('"', "")
        parts.append(
            f"CREATE FUNCTION {func}({left}, {right}) RETURNS boolean LANGUAGE sql "
            f"AS $f$ SELECT public.fired('{name}') AND {builtin} $f$;\n"
            f"CREATE OPERATOR {schema}.{op} (LEFTARG = {left}, RIGHTARG = {right}, FUNCTION = {func});"
        )
    for fname, args, result, builtin in FUNCTIONS:
        name = f"{schema}.{fname}({args})"
        body = (
            f"SELECT {builtin} WHERE public.fired('{name}')"
            if result.startswith("SETOF")
            else f"SELECT CASE WHEN public.fired('{name}') THEN {builtin} END"
        )
        parts.append(
            f"CREATE FUNCTION {schema}.{fname}({args}) RETURNS {result} LANGUAGE sql AS $f${body}$f$;"
        )
    parts.append(
        f"CREATE FUNCTION {schema}.count_step(bigint) RETURNS bigint LANGUAGE sql "
        f"AS $f$ SELECT CASE WHEN public.fired('{schema}.count(*)') THEN $1 + 1 END $f$;\n"
        f"CREATE AGGREGATE {schema}.count(*) (SFUNC = {schema}.count_step, STYPE = bigint, INITCOND = '0');"
    )
    return "\n".join(parts)


TABLES = """
CREATE TABLE app.t (
    id integer PRIMARY KEY,
    note text DEFAULT (CASE WHEN public.fired('default') THEN 'x' END),
    CONSTRAINT t_check CHECK (public.fired('check'))
);
CREATE INDEX t_expression ON app.t (public.fired_at(id));
CREATE TRIGGER t_trigger BEFORE INSERT OR UPDATE ON app.t FOR EACH ROW EXECUTE FUNCTION public.trigger_trap();
INSERT INTO app.t (id, note) VALUES (1, 'one'), (2, 'two');
CREATE TABLE app.path_trap (id integer, CONSTRAINT path_check CHECK (public.set_path()));
INSERT INTO app.path_trap VALUES (1);
CREATE FUNCTION public.row_text(app.t) RETURNS text LANGUAGE sql
    AS $f$ SELECT CASE WHEN public.fired('cast') THEN $1.note END $f$;
CREATE CAST (app.t AS text) WITH FUNCTION public.row_text(app.t);
CREATE TABLE app.owned (id integer);
INSERT INTO app.owned VALUES (1);
SELECT pg_catalog.lo_from_bytea(0, 'large object');
"""


def source_sql(canary_dir: Path) -> list[str]:
    """The statements that make the hostile database, run as its owner (citext is a trusted extension)."""
    return [
        "CREATE EXTENSION citext WITH SCHEMA public",
        f"CREATE SCHEMA app AUTHORIZATION {OWNER}",
        f"CREATE SCHEMA liftbackup_superuser AUTHORIZATION {OWNER}",
        f"CREATE SCHEMA first AUTHORIZATION {OWNER}",
        _fired(canary_dir),
        TABLES,
        *(_shadows(schema) for schema in SCHEMAS),
    ]


@dataclass
class Hostile:
    """The hostile database's dumps, the facts a manifest would hold about it, and the folder where a
    trap run by a superuser leaves its canary."""

    binaries: PgBinaries
    canary: Path
    plain: Path
    custom: Path
    directory: Path
    facts: dict[str, TableFacts]

    def canaries(self) -> list[str]:
        return sorted(p.name for p in self.canary.iterdir())

    def clear(self) -> None:
        """Forget the canaries of an earlier test: each test shows its own."""
        for path in self.canary.iterdir():
            path.unlink()

    def manifest(self) -> Manifest:
        return Manifest(
            "", "", 0, "", DATABASE, self.binaries.version, self.binaries.version, "", tables=self.facts
        )


def with_triggers_statements(plain: Path) -> None:
    """pg_dump --disable-triggers' statements around app.t's rows: the superuser runs ours for them."""
    raw = plain.read_bytes()
    copy = raw.index(b"COPY app.t ")
    end = raw.index(b"\\.\n", copy) + 3
    raw = (
        raw[:copy]
        + b"ALTER TABLE app.t DISABLE TRIGGER ALL;\n\n"
        + raw[copy:end]
        + (b"\nALTER TABLE app.t ENABLE TRIGGER ALL;\n" + raw[end:])
    )
    plain.write_bytes(raw)


def canary_folder() -> Path:
    """A folder the server's OS user (`nobody` when we are root) may write into."""
    folder = Path(tempfile.mkdtemp(prefix="lb-canary-", dir="/tmp" if os.name != "nt" else None))
    folder.chmod(0o1777)
    return folder


def build_hostile(server: ThrowawayServer, out: Path) -> Hostile:
    """The hostile database on `server`, dumped by its pg_dump plain, custom and directory."""
    canary = canary_folder()
    admin = server.admin_conninfo()
    with psycopg.connect(conninfo_from(admin), autocommit=True) as conn:
        for role in (OWNER, OTHER):
            conn.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(sql.Identifier(role)))
        conn.execute(
            sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(DATABASE), sql.Identifier(OWNER))
        )
    with psycopg.connect(conninfo_from({**admin, "dbname": DATABASE}), autocommit=True) as conn:
        conn.execute("SET search_path = public")
        conn.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(OWNER)))  # every object is the dump's
        for statement in source_sql(canary):
            conn.execute(statement.encode())
        conn.execute("RESET ROLE")
        for table in ("app.t", "app.owned"):  # app.owned comes after the shadows in the dump
            conn.execute(sql.SQL(f"ALTER TABLE {table} OWNER TO {{}}").format(sql.Identifier(OTHER)))
    with psycopg.connect(conninfo_from({**admin, "dbname": DATABASE})) as conn:
        facts, _ = read_facts(conn)
    env = {**os.environ, **pg_env({**admin, "dbname": DATABASE})}
    dumps = []
    for suffix, fmt in ((".sql", "p"), (".dump", "c"), ("_dir", "d")):
        target = out / f"hostile_backup_20260101_00000{len(dumps)}{suffix}"
        subprocess.run(
            [str(server.binaries.tool("pg_dump")), "-F", fmt, "-f", str(target)], check=True, env=env
        )
        dumps.append(target)
    with_triggers_statements(dumps[0])
    return Hostile(server.binaries, canary, *dumps, facts=facts)
