"""Behaviours the README promises that the other test files do not already pin down."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from pytest_liftbackup.server.binaries import PgBinaries, embedded_bindir
from pytest_liftbackup.server.databases import conninfo_from
from pytest_liftbackup.server.throwaway import ThrowawayServer
from tests.conftest import Dumps, Scratch
from tests.helpers import REPO, assert_clean, output, run
from tests.lift_simulator.build import SourceDatabase

ROOT = REPO
SAMPLE = ROOT / "examples" / "lift_simulator_backup_20260120_080000.sql"


def test_the_readme_sample_restores(pytester: pytest.Pytester, scratch: Scratch) -> None:
    result = run(pytester, f"--liftbackup={SAMPLE}")
    text = output(result)
    assert result.ret == 0, text
    assert "restore:  passed in" in text and "5 tables, 266 rows" in text
    assert "roles:    created NOLOGIN for ownership: lift_admin" in text
    assert_clean(scratch)


def test_a_dump_made_with_create_database_restores_into_the_throwaway_database(
    source: SourceDatabase, pytester: pytest.Pytester, scratch: Scratch, tmp_path: Path
) -> None:
    dump = source.dump(tmp_path / "lift_simulator_backup_20260120_080000.sql", "-F", "p", "-C")
    assert b"CREATE DATABASE lift_simulator" in dump.read_bytes()
    result = run(pytester, f"--liftbackup={dump}")
    text = output(result)
    assert result.ret == 0, text
    assert (
        "skipped:  2 statement(s): the source database's CREATE/ALTER DATABASE, comment and grants "
        "(the throwaway database stands in)" in text
    )
    assert "5 tables, 266 rows" in text


def test_pg_bin_names_the_binaries(
    pytester: pytest.Pytester, scratch: Scratch, pg_binaries: PgBinaries
) -> None:
    bindir = embedded_bindir()
    result = run(pytester, f"--liftbackup={SAMPLE}", f"--liftbackup-pg-bin={bindir}")
    assert f"PostgreSQL 18.6 from {bindir} (command line (--liftbackup-pg-bin))" in output(result)
    result.assert_outcomes(passed=1)


def test_pg_bin_that_holds_no_postgresql_is_one_clear_error(
    pytester: pytest.Pytester, scratch: Scratch, tmp_path: Path
) -> None:
    result = run(pytester, f"--liftbackup={SAMPLE}", f"--liftbackup-pg-bin={tmp_path}")
    text = output(result)
    assert result.ret == 1
    assert f"{tmp_path} (command line (--liftbackup-pg-bin)): no PostgreSQL binaries there" in text
    assert "Traceback" not in text
    assert_clean(scratch)


def test_run_as_names_a_user_that_does_not_exist(
    pytester: pytest.Pytester, scratch: Scratch, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    if os.name == "nt" or os.geteuid() != 0:
        pytest.skip("LIFTBACKUP_RUN_AS matters only when pytest runs as root")
    monkeypatch.setenv("LIFTBACKUP_RUN_AS", "no_such_user_here")
    result = run(pytester, f"--liftbackup={SAMPLE}")
    assert "the user 'no_such_user_here' to run it as does not exist. Set LIFTBACKUP_RUN_AS" in output(result)
    assert result.ret == 1
    assert_clean(scratch)


EXTENSION_DB = """
CREATE EXTENSION vector;
CREATE TABLE embedding (id int PRIMARY KEY, v vector(3));
INSERT INTO embedding VALUES (1, '[1,2,3]'), (2, '[4,5,6]');
"""


@pytest.fixture(scope="module")
def vector_dump(source_server, pg_binaries: PgBinaries, tmp_path_factory: pytest.TempPathFactory) -> Path:  # type: ignore[no-untyped-def]
    """A real pg_dump of a database using pgvector, an extension only a superuser may create."""
    import os
    import subprocess

    import psycopg

    from pytest_liftbackup.server.databases import conninfo_from, pg_env

    admin = source_server.admin_conninfo()
    with psycopg.connect(conninfo_from(admin), autocommit=True) as conn:
        conn.execute("CREATE ROLE vector_owner NOLOGIN")
        conn.execute("CREATE DATABASE vectors OWNER vector_owner")
    with psycopg.connect(conninfo_from({**admin, "dbname": "vectors"}), autocommit=True) as conn:
        conn.execute(EXTENSION_DB.encode())
        conn.execute("ALTER TABLE embedding OWNER TO vector_owner")
        conn.execute("COMMENT ON EXTENSION vector IS 'it''s vectors; with a quote'")
    out = tmp_path_factory.mktemp("vectors") / "vectors_backup_20260120_080000.sql"
    env = {**os.environ, **pg_env({**admin, "dbname": "vectors"})}
    subprocess.run([str(pg_binaries.tool("pg_dump")), "-F", "p", "-f", str(out)], env=env, check=True)
    return out


def test_an_extension_only_a_superuser_may_create_restores(
    vector_dump: Path, pytester: pytest.Pytester, scratch: Scratch
) -> None:
    pytester.makepyfile(
        "def test_vectors(liftbackup_db):\n"
        "    assert liftbackup_db.execute('SELECT count(*) FROM public.embedding').fetchone() == (2,)\n"
        "    c = liftbackup_db.execute(\"SELECT obj_description(oid, 'pg_extension') FROM pg_extension"
        " WHERE extname = 'vector'\").fetchone()\n"
        '    assert c == ("it\'s vectors; with a quote",)\n'
    )
    result = run(pytester, f"--liftbackup={vector_dump}")
    text = output(result)
    assert result.ret == 0, text
    result.assert_outcomes(passed=2)
    assert "superuser: 2 statement(s) re-composed from names and run as superuser" in text


def test_an_extension_statement_not_shaped_like_pg_dumps_runs_as_the_restorer(
    vector_dump: Path, pytester: pytest.Pytester, scratch: Scratch, tmp_path: Path
) -> None:
    odd = tmp_path / vector_dump.name
    odd.write_bytes(
        vector_dump.read_bytes().replace(
            b"CREATE EXTENSION IF NOT EXISTS vector WITH SCHEMA public;",
            b"CREATE EXTENSION vector SCHEMA public;",
        )
    )
    result = run(pytester, f"--liftbackup={odd}")
    assert 'restore failed (EXTENSION vector): permission denied to create extension "vector"' in output(
        result
    )
    result.assert_outcomes(failed=1)


def test_an_archive_with_such_an_extension_restores_too(
    source: SourceDatabase,
    vector_dump: Path,
    pytester: pytest.Pytester,
    scratch: Scratch,
    tmp_path: Path,
    pg_binaries: PgBinaries,
) -> None:
    import os
    import subprocess

    from pytest_liftbackup.server.databases import pg_env

    archive = tmp_path / "vectors.dump"
    env = {**os.environ, **pg_env({**source.admin, "dbname": "vectors"})}
    subprocess.run([str(pg_binaries.tool("pg_dump")), "-F", "c", "-f", str(archive)], env=env, check=True)
    result = run(pytester, f"--liftbackup={archive}")
    text = output(result)
    assert result.ret == 0, text
    assert "superuser: 2 statement(s)" in text
    assert "1 tables, 2 rows" in text


@pytest.mark.parametrize("fmt", ["p", "c"])
def test_the_source_databases_comment_settings_and_grants_in_a_create_dump_are_skipped(
    fmt: str,
    source_server: ThrowawayServer,
    source: SourceDatabase,
    pytester: pytest.Pytester,
    scratch: Scratch,
    tmp_path: Path,
) -> None:
    """`pg_dump -C` writes the source database's comment, settings and grants after `\\connect`: they are
    about a database the throwaway one stands in for, so they are skipped as pg_restore skips them."""
    name = f"with_properties_{fmt}"
    with psycopg.connect(conninfo_from(source_server.admin_conninfo()), autocommit=True) as conn:
        for statement in (
            f"CREATE DATABASE {name} OWNER lift_admin",
            f"COMMENT ON DATABASE {name} IS 'the lift database'",
            f"ALTER DATABASE {name} SET work_mem = '8MB'",
            f"REVOKE CONNECT ON DATABASE {name} FROM PUBLIC",
            f"GRANT CONNECT ON DATABASE {name} TO lift_admin",
        ):
            conn.execute(statement)  # type: ignore[call-overload]
    dump = source.dump(tmp_path / f"{name}.dump", "-F", fmt, "-C", database=name)
    result = run(pytester, f"--liftbackup={dump}")
    text = output(result)
    assert result.ret == 0, text
    if fmt == "p":
        assert (
            "skipped:  6 statement(s): the source database's CREATE/ALTER DATABASE, comment and grants"
            in text
        )


OLD_PUBLIC = b"""--
-- Name: public; Type: SCHEMA; Schema: -; Owner: lift_admin
--

CREATE SCHEMA public;


ALTER SCHEMA public OWNER TO lift_admin;

--
-- Name: SCHEMA public; Type: COMMENT; Schema: -; Owner: lift_admin
--

COMMENT ON SCHEMA public IS 'standard public schema';

"""


def test_create_schema_public_of_pg_dump_10_and_older_is_skipped_and_said(
    dumps: Dumps, pytester: pytest.Pytester, scratch: Scratch, tmp_path: Path
) -> None:
    """pg_dump up to 10 wrote `CREATE SCHEMA public`; psql's restore prints an error everyone ignores."""
    raw = dumps.plain.read_bytes()
    at = raw.index(b"--\n-- Name: lift_simulator; Type: SCHEMA")
    dump = tmp_path / "lift_simulator_backup_20260120_080000.sql"
    dump.write_bytes(raw[:at] + OLD_PUBLIC + raw[at:])
    result = run(pytester, f"--liftbackup={dump}")
    text = output(result)
    assert result.ret == 0, text
    assert (
        "skipped:  1 statement(s): CREATE SCHEMA public from pg_dump 10 or older (the schema exists already, "
        "as in psql's restore)"
    ) in text


EVENT_TRIGGER = b"""
CREATE FUNCTION public.log_ddl() RETURNS event_trigger LANGUAGE plpgsql AS $$BEGIN END$$;
CREATE EVENT TRIGGER log_ddl ON ddl_command_start EXECUTE FUNCTION public.log_ddl();
"""


@pytest.mark.parametrize("trusted", [False, True], ids=["untrusted", "trusted"])
def test_a_statement_only_a_superuser_may_run_says_how_to_trust_the_dump(
    trusted: bool, dumps: Dumps, pytester: pytest.Pytester, scratch: Scratch, tmp_path: Path
) -> None:
    raw = dumps.plain.read_bytes()
    at = raw.index(b"\n--\n-- PostgreSQL database dump complete")
    dump = tmp_path / "lift_simulator_backup_20260120_080000.sql"
    dump.write_bytes(raw[:at] + EVENT_TRIGGER + raw[at:])
    result = run(pytester, f"--liftbackup={dump}", *(["--liftbackup-trusted"] if trusted else []))
    text = output(result)
    if trusted:
        assert result.ret == 0, text
        return
    assert result.ret == 1, text
    assert (
        'permission denied to create event trigger "log_ddl"; this dump needs a superuser for that, which an '
        "untrusted dump never gets: pass --liftbackup-trusted if the dump is yours"
    ) in text


@pytest.mark.parametrize("locale", ["de_DE.UTF-8", "C.utf8"])
def test_a_locale_this_machine_lacks_is_a_warning_in_the_summary_and_the_report(
    locale: str,
    source_server: ThrowawayServer,
    source: SourceDatabase,
    pytester: pytest.Pytester,
    scratch: Scratch,
    tmp_path: Path,
) -> None:
    """The dump's CREATE DATABASE asks for a locale: the throwaway database gets it, or locale C and a
    warning when this machine lacks it; a damaged CREATE DATABASE leaves nothing behind."""
    name = "with_locale" if locale == "C.utf8" else "with_missing_locale"
    with psycopg.connect(conninfo_from(source_server.admin_conninfo()), autocommit=True) as conn:
        conn.execute(
            f"CREATE DATABASE {name} OWNER lift_admin TEMPLATE template0 LOCALE 'C.utf8'"  # type: ignore[arg-type]
        )
    dump = source.dump(tmp_path / f"{name}.sql", "-F", "p", "-C", database=name)
    dump.write_bytes(dump.read_bytes().replace(b"LOCALE = 'C.utf8'", f"LOCALE = '{locale}'".encode()))
    pytester.makepyfile(
        "def test_collation(liftbackup_db):\n"
        "    row = liftbackup_db.execute('SELECT datcollate FROM pg_database WHERE datname = "
        "current_database()').fetchone()\n"
        "    print('COLLATE', row[0])\n"
    )
    result = run(pytester, f"--liftbackup={dump}", "--liftbackup-report=r.json", "-s")
    text = output(result)
    assert result.ret == 0, text
    report = (pytester.path / "r.json").read_text()
    if locale == "C.utf8":
        assert "COLLATE C.utf8" in text
        assert "warning:" not in text
        return
    assert "COLLATE C\n" in text
    assert (
        "  warning:  this server cannot create the dump's database with locale_provider libc, locale "
        'de_DE.UTF-8 (invalid LC_COLLATE locale name: "de_DE.UTF-8"): restored with locale C instead'
    ) in text
    assert "restored with locale C instead" in report


def test_a_create_database_no_server_could_run_fails_and_leaves_nothing(
    source_server: ThrowawayServer,
    source: SourceDatabase,
    pytester: pytest.Pytester,
    scratch: Scratch,
    tmp_path: Path,
) -> None:
    with psycopg.connect(conninfo_from(source_server.admin_conninfo()), autocommit=True) as conn:
        conn.execute("CREATE DATABASE with_bad_encoding OWNER lift_admin TEMPLATE template0 LOCALE 'C.utf8'")
    dump = source.dump(tmp_path / "with_bad_encoding.sql", "-F", "p", "-C", database="with_bad_encoding")
    dump.write_bytes(dump.read_bytes().replace(b"ENCODING = 'UTF8'", b"ENCODING = 'LATIN1'"))
    result = run(pytester, f"--liftbackup={dump}")
    text = output(result)
    assert result.ret == 1, text
    assert (
        f'{dump}: the dump\'s CREATE DATABASE would fail: encoding "LATIN1" does not match locale '
        '"C.utf8"; a restore with psql stops there, so the backup does not restore as it is; nothing was '
        "restored"
    ) in text
    assert "Traceback" not in text
    assert_clean(scratch)
