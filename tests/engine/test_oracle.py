"""Correctness oracle: the native engine gives the same database as `psql -X -v ON_ERROR_STOP=1 -f`."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import psycopg
import pytest

from pytest_liftbackup import find_dumps
from pytest_liftbackup.restore import archive as _archive_restore
from pytest_liftbackup.restore import plain as _plain_restore
from pytest_liftbackup.server.binaries import PgBinaries
from pytest_liftbackup.server.databases import Database, conninfo_from, pg_env
from pytest_liftbackup.server.throwaway import ThrowawayServer
from tests.conftest import Dumps
from tests.lift_simulator import build

# The domain name has dotless i (U+0131) on purpose, as pagila's has.
EXOTIC = r"""
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE DOMAIN "bıgınt" AS bigint CHECK (VALUE >= 0);
CREATE TABLE measurement (id "bıgınt", logdate date NOT NULL, feeling mood, note text)
    PARTITION BY RANGE (logdate);
CREATE TABLE measurement_2026 PARTITION OF measurement FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
CREATE FUNCTION semi(x text) RETURNS text LANGUAGE plpgsql AS $outer$
BEGIN
    RETURN x || $inner$; -- not the end; $inner$ || E'\\;' || ';';
END;
$outer$;
CREATE VIEW happy AS SELECT * FROM measurement WHERE feeling = 'happy';
CREATE MATERIALIZED VIEW feelings AS SELECT feeling, count(*) FROM measurement GROUP BY feeling;
COMMENT ON TABLE measurement IS 'semicolons; ''quotes''; and $$dollars$$';
INSERT INTO measurement VALUES
    (1, '2026-01-02', 'happy', E'tab\there\nnewline \\ backslash'),
    (2, '2026-02-03', 'sad', NULL),
    (3, '2026-03-04', 'ok', '\. not a terminator'),
    (4, '2026-03-05', 'ok', '電梯 ünïcødé');
REFRESH MATERIALIZED VIEW feelings;
SELECT lo_from_bytea(0, 'large object bytes');
-- post-data on a partitioned table, a quoted mixed-case name and an FK: what parallel restore splits up
ALTER TABLE measurement ADD PRIMARY KEY (id, logdate);
CREATE INDEX ON measurement (feeling);
CREATE TABLE "Odd.Table" ("Id" int PRIMARY KEY, m_id "bıgınt", m_date date,
    FOREIGN KEY (m_id, m_date) REFERENCES measurement (id, logdate) ON DELETE CASCADE);
CREATE INDEX "Odd.Index" ON "Odd.Table" (m_date) WHERE "Id" > 1;
INSERT INTO "Odd.Table" VALUES (1, 1, '2026-01-02'), (2, 3, '2026-03-04');
COMMENT ON INDEX "Odd.Index" IS 'a comment on a quoted index, run once the index is built';
-- made after the rows, as pg_dump restores it: had it fired while a restore loads them, the notes
-- would come back upper-cased
CREATE FUNCTION shout() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN NEW.note := upper(NEW.note); RETURN NEW; END$$;
CREATE TRIGGER "Loud" BEFORE INSERT OR UPDATE OF note ON measurement FOR EACH ROW EXECUTE FUNCTION shout();
COMMENT ON TRIGGER "Loud" ON measurement IS 'must not fire while the dump loads';
"""


def pg_dump_text(binaries: PgBinaries, database: Database) -> str:
    env = {**os.environ, **pg_env(database.restore_conninfo)}
    done = subprocess.run(
        [str(binaries.tool("pg_dump")), "--restrict-key=oracle", "-d", database.name],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    return done.stdout


def native_owner(server: ThrowawayServer, database: Database) -> str:
    with psycopg.connect(conninfo_from(server.admin_conninfo()), autocommit=True) as conn:
        row = conn.execute(
            "SELECT datdba::regrole::text FROM pg_database WHERE datname = %s", (database.name,)
        ).fetchone()
    assert row is not None
    return str(row[0])


def native_restore(server: ThrowawayServer, dump: Path, jobs: int = 1) -> Database:
    info = find_dumps([dump])[0]
    scanned = _plain_restore.scan(info, server.workdir)
    server.roles.ensure(scanned.roles.roles)
    database = server.create_database("native", owner=scanned.roles.main_owner)
    try:
        _plain_restore.execute(info, scanned, database.restore_conninfo, restores_ownership=True, jobs=jobs)
    finally:
        scanned.discard()
    return database


@pytest.fixture(scope="module")
def server(pg_binaries: PgBinaries) -> ThrowawayServer:
    server = ThrowawayServer(pg_binaries)
    yield server  # type: ignore[misc]
    server.close()


@pytest.fixture(scope="module")
def exotic_dump(
    source_server: ThrowawayServer, pg_binaries: PgBinaries, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    admin = source_server.admin_conninfo()
    with psycopg.connect(conninfo_from(admin), autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_roles WHERE rolname = 'postgres'").fetchone():
            conn.execute("CREATE ROLE postgres NOLOGIN")  # the owner most real dumps name
        conn.execute("CREATE DATABASE exotic OWNER postgres")
    with psycopg.connect(conninfo_from({**admin, "dbname": "exotic"}), autocommit=True) as conn:
        conn.execute("SET ROLE postgres")
        conn.execute(EXOTIC.encode())
    out = tmp_path_factory.mktemp("exotic") / "exotic.sql"
    env = {**os.environ, **pg_env({**admin, "dbname": "exotic"})}
    subprocess.run([str(pg_binaries.tool("pg_dump")), "-F", "p", "-f", str(out)], env=env, check=True)
    return out


@pytest.mark.parametrize("which", ["lift_simulator", "exotic"])
def test_native_engine_equals_psql(
    which: str, dumps: Dumps, exotic_dump: Path, server: ThrowawayServer, pg_binaries: PgBinaries
) -> None:
    dump = dumps.plain if which == "lift_simulator" else exotic_dump
    native = native_restore(server, dump)
    by_psql = server.create_database("psql", owner=native_owner(server, native))
    build.psql_file(pg_binaries.tool("psql"), by_psql.restore_conninfo, dump)
    native_text, psql_text = pg_dump_text(pg_binaries, native), pg_dump_text(pg_binaries, by_psql)
    assert native_text == psql_text
    assert "CREATE TABLE" in native_text and "COPY " in native_text  # compared something real


def test_every_archive_format_gives_the_same_database(
    dumps: Dumps, server: ThrowawayServer, pg_binaries: PgBinaries, tmp_path: Path
) -> None:
    expected = pg_dump_text(pg_binaries, native_restore(server, dumps.plain))
    for fmt in ("custom", "directory", "tar", "wrapped_directory", "custom_gzipped"):
        path = dumps.all_formats()[fmt]
        info = find_dumps([path])[0]
        access = _archive_restore.prepare(info, pg_binaries, server.workdir, server.os_user)
        database = server.create_database(fmt, owner="lift_admin")
        _archive_restore.restore(info, access, database.restore_conninfo, restores_ownership=True, jobs=2)
        access.discard()
        assert pg_dump_text(pg_binaries, database) == expected, fmt


@pytest.mark.parametrize("which", ["plain", "gzip", "zstd", "lz4", "exotic"])
def test_parallel_restore_equals_serial(
    which: str, dumps: Dumps, exotic_dump: Path, server: ThrowawayServer, pg_binaries: PgBinaries
) -> None:
    """COPY blocks, indexes and constraints spread over connections give the serial engine's database."""
    dump = exotic_dump if which == "exotic" else getattr(dumps, which)
    serial = pg_dump_text(pg_binaries, native_restore(server, dump, jobs=1))
    for jobs in (2, 4):
        assert pg_dump_text(pg_binaries, native_restore(server, dump, jobs=jobs)) == serial, jobs
    assert "CREATE INDEX" in serial and "COPY " in serial
    assert not list(server.workdir.glob("liftbackup-spool-*")), "the decompressed spool was left behind"
