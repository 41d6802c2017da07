"""Real backups restore as psql would: one generated dump per class that real backups fell into.

Each case builds a source database, dumps it with pg_dump (some edited into what an older pg_dump, or
a hand, wrote), and restores it twice: by the oracle, a superuser running ADR-0012's procedure on a
server of its own (`psql -f` into a new database, or into `postgres` for a `-C` dump; `pg_restore`
likewise), and by the plugin. They must agree on pass or fail, and where both pass, on the database
(pg_dump of each, compared as text: encoding, objects, owners, grants and rows).

The oracle's verdict follows what users do: psql and pg_restore go on after an error, and the run
passes when the only errors are ones the issue lists as ignored by everyone (`schema "public" already
exists` from pg_dump 10 and older). Two documented departures, asserted as such:
- a locale or provider this machine lacks fails the oracle here, and only warns in the plugin (the
  backup restores on a server that has it, see `server/database_shape`);
- a statement only a superuser may run (event trigger) fails the plugin untrusted, by design; trusted,
  the two agree.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest

from pytest_liftbackup import find_dumps
from pytest_liftbackup.restore.engine import RestoreOptions, RestoreOutcome, restore
from pytest_liftbackup.restore.limits import Limits
from pytest_liftbackup.restore.skips import CREATE_PUBLIC
from pytest_liftbackup.server.binaries import PgBinaries, having
from pytest_liftbackup.server.databases import conninfo_from, pg_env
from pytest_liftbackup.server.throwaway import ThrowawayServer
from tests.security.conftest import rename_in_toc

IGNORED_BY_EVERYONE = ('schema "public" already exists',)


@dataclass(frozen=True)
class Case:
    statements: tuple[str, ...]  # run in the source database as its owner (RESET ROLE: as superuser)
    roles: tuple[str, ...] = ("alice",)  # the source server's roles (the target server has them too)
    owner: str = "alice"
    create: str = ""  # options of the source's CREATE DATABASE
    fmt: str = "p"
    parts: tuple[tuple[str, ...], ...] = ((),)  # pg_dump arguments of each part, concatenated
    created: bool = False  # pg_dump -C
    edit: Callable[[bytes], bytes] | None = None  # what another pg_dump (or a hand) wrote instead
    toc_edit: tuple[str, str] | None = None  # the same in a directory archive's toc.dat
    oracle: bool = True  # the oracle's verdict: restores
    plugin: bool = True  # the plugin's verdict
    warning: str = ""  # the plugin's warning, when it passes with one
    error: str = ""  # the plugin's error, when it fails
    trusted: bool = False
    checks: tuple[tuple[str, object], ...] = field(default=())  # (query, value) in the plugin's database


LIFT = (
    "CREATE TABLE public.lift (id int PRIMARY KEY, name text NOT NULL)",
    "INSERT INTO public.lift VALUES (1, 'café'), (2, 'Ünïcode?')",
)


def _sub(old: bytes, new: bytes) -> Callable[[bytes], bytes]:
    def edit(raw: bytes) -> bytes:
        assert old in raw, old
        return raw.replace(old, new)

    return edit


def _before_first_object(block: bytes) -> Callable[[bytes], bytes]:
    def edit(raw: bytes) -> bytes:
        at = raw.index(b"--\n-- Name: ")
        return raw[:at] + block + raw[at:]

    return edit


SEVERAL_OWNERS = (
    *LIFT,
    "RESET ROLE",  # handing objects to other roles takes a superuser here
    "ALTER TABLE public.lift OWNER TO bob",
    "CREATE SCHEMA ops AUTHORIZATION carol",
    "CREATE TABLE ops.trip (id int PRIMARY KEY, lift int REFERENCES public.lift)",
    "ALTER TABLE ops.trip OWNER TO alice",
    "INSERT INTO ops.trip VALUES (10, 1), (11, 2)",
    "CREATE FUNCTION public.trips() RETURNS bigint LANGUAGE sql AS 'SELECT count(*) FROM ops.trip'",
    "ALTER FUNCTION public.trips() OWNER TO carol",
    "CREATE VIEW ops.busy AS SELECT lift, count(*) FROM ops.trip GROUP BY lift",
    "ALTER VIEW ops.busy OWNER TO bob",
    "GRANT USAGE ON SCHEMA ops TO bob",
    "GRANT SELECT ON ops.trip TO bob",
    "GRANT CREATE ON SCHEMA public TO carol",
)
TRIGGERS = (
    *LIFT,
    "CREATE TABLE public.trip (id int PRIMARY KEY, lift int REFERENCES public.lift)",
    "INSERT INTO public.trip VALUES (10, 1), (11, 2)",
    "CREATE FUNCTION public.no_more() RETURNS trigger LANGUAGE plpgsql AS "
    "$$BEGIN RAISE EXCEPTION 'no new trips'; END$$",
    "CREATE TRIGGER no_more BEFORE INSERT ON public.trip FOR EACH ROW EXECUTE FUNCTION public.no_more()",
)
PLPGSQL_9_0 = b"""--
-- Name: plpgsql; Type: PROCEDURAL LANGUAGE; Schema: -; Owner: postgres
--

CREATE OR REPLACE PROCEDURAL LANGUAGE plpgsql;


ALTER PROCEDURAL LANGUAGE plpgsql OWNER TO postgres;

"""
PLPGSQL_9_1 = b"""--
-- Name: plpgsql; Type: EXTENSION; Schema: -; Owner:\x20
--

CREATE EXTENSION IF NOT EXISTS plpgsql WITH SCHEMA pg_catalog;


--
-- Name: EXTENSION plpgsql; Type: COMMENT; Schema: -; Owner:\x20
--

COMMENT ON EXTENSION plpgsql IS 'PL/pgSQL procedural language';

"""
OLD_PUBLIC = b"""--
-- Name: public; Type: SCHEMA; Schema: -; Owner: postgres
--

CREATE SCHEMA public;


ALTER SCHEMA public OWNER TO postgres;

"""
UUID_OSSP = b"""--
-- Name: uuid-ossp; Type: EXTENSION; Schema: -; Owner: -
--

CREATE EXTENSION IF NOT EXISTS "uuid-ossp" WITH SCHEMA public;

"""
EVENT_TRIGGER = b"""--
-- Name: log_ddl; Type: EVENT TRIGGER; Schema: -; Owner: alice
--

CREATE FUNCTION public.log_ddl() RETURNS event_trigger LANGUAGE plpgsql AS $$BEGIN END$$;
CREATE EVENT TRIGGER log_ddl ON ddl_command_start EXECUTE FUNCTION public.log_ddl();

"""
LATIN1 = "TEMPLATE template0 ENCODING 'LATIN1' LOCALE 'C'"
C_UTF8 = "TEMPLATE template0 ENCODING 'UTF8' LOCALE 'C.utf8'"
DB_PROPERTIES = (
    *LIFT,
    "COMMENT ON DATABASE {db} IS 'the lift database'",
    "ALTER DATABASE {db} SET work_mem = '8MB'",
    "REVOKE CONNECT ON DATABASE {db} FROM PUBLIC",
    "GRANT CONNECT ON DATABASE {db} TO bob",
)
ENCODING = (
    "SELECT pg_catalog.pg_encoding_to_char(encoding) FROM pg_database WHERE datname = current_database()"
)

CASES: dict[str, Case] = {
    "several_owners_plain": Case(SEVERAL_OWNERS, roles=("alice", "bob", "carol")),
    "several_owners_custom": Case(SEVERAL_OWNERS, roles=("alice", "bob", "carol"), fmt="c"),
    "several_owners_directory": Case(SEVERAL_OWNERS, roles=("alice", "bob", "carol"), fmt="d"),
    "use_set_session_authorization": Case(LIFT, parts=(("--use-set-session-authorization",),)),
    # each object created by its owner: bob may not create in public, carol not in the database
    "use_set_session_authorization_several_owners": Case(
        SEVERAL_OWNERS,
        roles=("alice", "bob", "carol"),
        parts=(("--use-set-session-authorization",),),
        oracle=False,
        plugin=False,
        error="permission denied for database",
    ),
    "disable_triggers": Case(TRIGGERS, parts=(("-s",), ("-a", "--disable-triggers"))),
    "plpgsql_language_pg_dump_9_0": Case(
        LIFT, roles=("alice", "postgres"), edit=_before_first_object(PLPGSQL_9_0)
    ),
    "plpgsql_extension_pg_dump_9_1_to_10": Case(LIFT, edit=_before_first_object(PLPGSQL_9_1)),
    "create_schema_public_pg_dump_10": Case(
        LIFT, roles=("alice", "postgres"), edit=_before_first_object(OLD_PUBLIC)
    ),
    "create_schema_public_archive_pg_dump_10": Case(
        (*LIFT, "RESET ROLE", "ALTER SCHEMA public OWNER TO postgres"),
        roles=("alice", "postgres"),
        fmt="d",
        toc_edit=("-- *not* creating schema, since initdb creates it\n", "CREATE SCHEMA public;\n"),
    ),
    "old_toc_headers_pg_dump_9": Case(
        LIFT, edit=_sub(b"; Owner: alice\n", b"; Owner: alice; Tablespace: \n")
    ),
    "source_database_statements_plain": Case(DB_PROPERTIES, roles=("alice", "bob"), created=True),
    "source_database_statements_custom": Case(DB_PROPERTIES, roles=("alice", "bob"), created=True, fmt="c"),
    "create_database_latin1_plain": Case(LIFT, create=LATIN1, created=True, checks=((ENCODING, "LATIN1"),)),
    "create_database_latin1_custom": Case(
        LIFT, create=LATIN1, created=True, fmt="c", checks=((ENCODING, "LATIN1"),)
    ),
    "create_database_other_template": Case(
        LIFT,
        created=True,
        edit=_sub(b"TEMPLATE = template0", b"TEMPLATE = lift_template"),
        oracle=False,
        plugin=False,
        error="the dump's CREATE DATABASE copies template lift_template, where pg_dump always writes template0",
    ),
    "create_database_encoding_not_of_locale": Case(
        LIFT,
        create=C_UTF8,
        created=True,
        edit=_sub(b"ENCODING = 'UTF8'", b"ENCODING = 'LATIN1'"),
        oracle=False,
        plugin=False,
        error='the dump\'s CREATE DATABASE would fail: encoding "LATIN1" does not match locale "C.utf8"',
    ),
    "create_database_locale_missing_here": Case(
        LIFT,
        create=C_UTF8,
        created=True,
        edit=_sub(b"LOCALE = 'C.utf8'", b"LOCALE = 'de_DE.UTF-8'"),
        oracle=False,
        warning="this server cannot create the dump's database with locale_provider libc, locale de_DE.UTF-8",
        checks=((ENCODING, "UTF8"),),
    ),
    "create_database_icu_missing_here": Case(
        LIFT,
        create=C_UTF8,
        created=True,
        edit=_sub(b"LOCALE_PROVIDER = libc", b"LOCALE_PROVIDER = icu ICU_LOCALE = 'und'"),
        oracle=False,
        warning="this server cannot create the dump's database with locale_provider icu, locale C.utf8, "
        "icu_locale und",
    ),
    "extension_missing_here": Case(
        LIFT,
        edit=_before_first_object(UUID_OSSP),
        oracle=False,
        plugin=False,
        error="the dump creates extension uuid-ossp, which the server",
    ),
    "event_trigger_untrusted": Case(
        LIFT,
        edit=_before_first_object(EVENT_TRIGGER),
        plugin=False,
        error="this dump needs a superuser for that",
    ),
    "event_trigger_trusted": Case(LIFT, edit=_before_first_object(EVENT_TRIGGER), trusted=True),
}


@pytest.fixture(scope="module")
def servers(pg_binaries: PgBinaries) -> Iterator[tuple[ThrowawayServer, ThrowawayServer]]:
    """The oracle's server and the plugin's: each starts empty, as a real target server would."""
    oracle = ThrowawayServer(pg_binaries)
    try:
        plugin = ThrowawayServer(pg_binaries)
    except BaseException:
        oracle.close()
        raise
    yield oracle, plugin
    plugin.close()
    oracle.close()


def _execute(admin: dict[str, str], *statements: str) -> None:
    with psycopg.connect(conninfo_from(admin), autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement.encode())


def _ensure_roles(server: ThrowawayServer, roles: tuple[str, ...]) -> None:
    for role in roles:
        _execute(
            server.admin_conninfo(),
            f"DO $$BEGIN CREATE ROLE {role} NOLOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END$$",
        )


def _tool(
    binaries: PgBinaries, name: str, conninfo: dict[str, str], *args: str
) -> subprocess.CompletedProcess[str]:
    """Output decoded byte for byte (surrogateescape): a LATIN1 database dumps LATIN1 text."""
    env = {**os.environ, **pg_env(conninfo)}
    return subprocess.run(
        [str(binaries.tool(name)), *args],
        capture_output=True,
        text=True,
        encoding="utf-8",
        errors="surrogateescape",
        env=env,
    )


def make_dump(name: str, case: Case, source: ThrowawayServer, binaries: PgBinaries, folder: Path) -> Path:
    _ensure_roles(source, case.roles)
    admin = source.admin_conninfo()
    _execute(admin, f"CREATE DATABASE {name} OWNER {case.owner} {case.create}")
    statements = (f"SET ROLE {case.owner}", *(s.format(db=name) for s in case.statements))
    _execute({**admin, "dbname": name}, *statements)
    target = folder / (f"{name}.sql" if case.fmt == "p" else f"{name}.{case.fmt}dump")
    text = b""
    for part in case.parts:
        args = ["-d", name, "-F", case.fmt, *(["-C"] if case.created else []), *part]
        if case.fmt != "p":
            _done(_tool(binaries, "pg_dump", admin, *args, "-f", str(target)), target)
            if case.toc_edit:
                rename_in_toc(target / "toc.dat", *case.toc_edit)
            return target
        done = _tool(binaries, "pg_dump", admin, *args, "--restrict-key=rb")
        assert done.returncode == 0, done.stderr
        text += done.stdout.encode("utf-8", "surrogateescape")
    target.write_bytes(case.edit(text) if case.edit else text)
    return target


def _done(done: subprocess.CompletedProcess[str], target: Path) -> Path:
    assert done.returncode == 0, done.stderr
    return target


def oracle_restore(
    name: str, case: Case, dump: Path, server: ThrowawayServer, binaries: PgBinaries
) -> str | None:
    """ADR-0012's procedure as a superuser; the restored database's name, or None when it failed."""
    _ensure_roles(server, case.roles)
    admin = server.admin_conninfo()
    target = name
    if not case.created:
        target = f"oracle_{name}"
        _execute(admin, f"CREATE DATABASE {target} OWNER {case.owner} TEMPLATE template0")
    into = admin if case.created else {**admin, "dbname": target}
    if case.fmt == "p":
        done = _tool(binaries, "psql", into, "-X", "-q", "-f", str(dump))
    else:
        done = _tool(
            binaries,
            "pg_restore",
            into,
            *(["--create"] if case.created else []),
            "-d",
            into["dbname"],
            str(dump),
        )
    errors = [line for line in done.stderr.splitlines() if "ERROR:" in line or "error:" in line]
    real = [e for e in errors if not any(ignored in e for ignored in IGNORED_BY_EVERYONE)]
    real = [e for e in real if "errors ignored on restore" not in e]
    return None if real else target


def plugin_restore(
    name: str, case: Case, dump: Path, server: ThrowawayServer, binaries: PgBinaries
) -> RestoreOutcome:
    info = find_dumps([dump])[0]
    outcome = RestoreOutcome(info)
    restore(outcome, lambda: server, binaries, server.workdir, RestoreOptions(2, case.trusted, Limits()))
    return outcome


def dump_text(binaries: PgBinaries, server: ThrowawayServer, database: str) -> str:
    done = _tool(binaries, "pg_dump", server.admin_conninfo(database), "--restrict-key=oracle")
    assert done.returncode == 0, done.stderr
    return re.sub(r"(?m)^-- Dumped (from|by) .*$", "", done.stdout)


@pytest.mark.parametrize("name", list(CASES))
def test_the_plugin_and_a_superuser_restore_agree(
    name: str,
    source_server: ThrowawayServer,
    servers: tuple[ThrowawayServer, ThrowawayServer],
    pg_binaries: PgBinaries,
    tmp_path: Path,
) -> None:
    case = CASES[name]
    oracle_server, plugin_server = servers
    dump = make_dump(f"rb_{name}", case, source_server, pg_binaries, tmp_path)
    by_oracle = oracle_restore(f"rb_{name}", case, dump, oracle_server, pg_binaries)
    outcome = plugin_restore(f"rb_{name}", case, dump, plugin_server, pg_binaries)
    assert (by_oracle is not None) == case.oracle, f"the oracle's verdict on {name}"
    assert outcome.ok == case.plugin, outcome.error_text()
    if case.error:
        assert case.error in outcome.error_text()
        assert outcome.database is None or not outcome.tables
    if case.warning:
        assert any(case.warning in warning for warning in outcome.warnings), outcome.warnings
    else:
        assert not [w for w in outcome.warnings if "this server" in w], outcome.warnings
    if not outcome.ok:
        return
    assert outcome.database is not None
    assert outcome.tables.get("public.lift") == 2
    if "create_schema_public" in name:
        assert outcome.skipped.get(CREATE_PUBLIC) == 1, outcome.skipped
    assert all(not role.endswith(":") and ";" not in role for role in outcome.roles_created)
    for query, value in case.checks:
        with psycopg.connect(conninfo_from(outcome.database.read_conninfo)) as conn:
            row = conn.execute(query.encode()).fetchone()
        assert row is not None and row[0] == value, query
    if by_oracle is not None:
        assert dump_text(pg_binaries, plugin_server, outcome.database.name) == dump_text(
            pg_binaries, oracle_server, by_oracle
        )


def test_an_extension_missing_here_names_the_installation_that_has_it(
    servers: tuple[ThrowawayServer, ThrowawayServer], pg_binaries: PgBinaries, tmp_path: Path
) -> None:
    """uuid-ossp is not in the embedded wheel: the error names an installation on this machine that has
    it and is new enough for the dump (Debian's postgresql-contrib here), and restoring with those
    binaries works; on a machine with none, it says so and how to get one."""
    assert "uuid-ossp" not in pg_binaries.extensions() and "vector" in pg_binaries.extensions()
    found = having(["uuid-ossp"], None)
    if not found:
        case = CASES["extension_missing_here"]
        outcome = plugin_restore(
            "rb_uuid",
            case,
            make_dump("rb_uuid", case, servers[0], pg_binaries, tmp_path),
            servers[1],
            pg_binaries,
        )
        assert "no PostgreSQL installation found on this machine has it" in outcome.error_text()
        return
    source, target = ThrowawayServer(found[0]), ThrowawayServer(found[0])
    try:  # a real uuid-ossp, dumped by that installation's pg_dump
        case = Case((*LIFT, 'CREATE EXTENSION "uuid-ossp"', "SELECT public.uuid_generate_v4()"))
        dump = make_dump("rb_uuid", case, source, found[0], tmp_path)
        assert b'CREATE EXTENSION IF NOT EXISTS "uuid-ossp"' in dump.read_bytes()
        outcome = plugin_restore("rb_uuid", case, dump, servers[1], pg_binaries)
        assert f"PostgreSQL {found[0].version} in {found[0].bindir} has it: pass pg_bin=" in (
            outcome.error_text()
        )
        again = plugin_restore("rb_uuid", case, dump, target, found[0])
    finally:
        source.close()
        target.close()
    assert again.ok, again.error_text()
    assert again.tables["public.lift"] == 2
