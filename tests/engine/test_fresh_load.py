"""COPY into a table the dump has just created: TRUNCATE + COPY FREEZE in one transaction, only where
psql's plain COPY would give the same table (restore/fresh_load)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from pytest_liftbackup.server.binaries import PgBinaries
from pytest_liftbackup.server.databases import conninfo_from
from pytest_liftbackup.server.throwaway import ThrowawayServer
from tests.conftest import Dumps
from tests.engine.test_oracle import native_restore, pg_dump_text
from tests.lift_simulator import build

# Not pg_dump's output, but what a plain dump may hold: rows inserted before a COPY into the same
# table, two COPY blocks into one table, triggers made before the rows load (one on TRUNCATE, which
# must not fire), an FK made before them (its triggers refuse a TRUNCATE of the table it
# references), a partitioned table.
SERIAL_ONLY = r"""CREATE TABLE public.twice (id integer);
COPY public.twice (id) FROM stdin;
1
\.
COPY public.twice (id) FROM stdin;
2
\.
CREATE TABLE public.parent (id integer PRIMARY KEY);
CREATE TABLE public.child (parent_id integer REFERENCES public.parent (id));
COPY public.parent (id) FROM stdin;
1
\.
COPY public.child (parent_id) FROM stdin;
1
\.
COPY public.parted_low (id) FROM stdin;
6
\.
"""
CRAFTED = r"""SET client_encoding = 'UTF8';
SELECT pg_catalog.set_config('search_path', '', false);
CREATE TABLE public.kept (id integer, note text);
INSERT INTO public.kept VALUES (1, 'inserted before the COPY');
COPY public.kept (id, note) FROM stdin;
2	copied
\.
CREATE TABLE public.shouted (note text);
CREATE FUNCTION public.shout() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN NEW.note := upper(NEW.note); RETURN NEW; END$$;
CREATE TRIGGER loud BEFORE INSERT ON public.shouted FOR EACH ROW EXECUTE FUNCTION public.shout();
COPY public.shouted (note) FROM stdin;
made loud by the trigger, as psql's COPY would
\.
CREATE TABLE public.truncations (of_table text);
CREATE FUNCTION public.note_truncate() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN INSERT INTO public.truncations VALUES (TG_TABLE_NAME); RETURN NULL; END$$;
CREATE TABLE public.watched (id integer);
CREATE TRIGGER noted BEFORE TRUNCATE ON public.watched FOR EACH STATEMENT EXECUTE FUNCTION public.note_truncate();
COPY public.watched (id) FROM stdin;
1
\.
CREATE TABLE public.parted (id integer) PARTITION BY RANGE (id);
CREATE TABLE public.parted_low PARTITION OF public.parted FOR VALUES FROM (0) TO (100);
COPY public.parted (id) FROM stdin;
5
\.
{serial}CREATE TABLE public.fresh (id integer, doc jsonb);
COPY public.fresh (id, doc) FROM stdin;
1	{"a": 1}
2	{"b": [1, 2]}
\.

--
-- PostgreSQL database dump complete
--
"""


@pytest.fixture(scope="module")
def server(pg_binaries: PgBinaries) -> Iterator[ThrowawayServer]:
    server = ThrowawayServer(pg_binaries)
    yield server
    server.close()


def frozen_pages(server: ThrowawayServer, database: str, table: str) -> int:
    with psycopg.connect(conninfo_from(server.admin_conninfo(database)), autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS pg_visibility")
        row = conn.execute(
            "SELECT all_frozen FROM pg_visibility_map_summary(%s::regclass)", (table,)
        ).fetchone()
        assert row is not None
        return int(row[0])


@pytest.mark.parametrize("jobs", [1, 2])
def test_rows_already_there_triggers_fks_and_partitions_load_as_psql_loads_them(
    jobs: int, server: ThrowawayServer, pg_binaries: PgBinaries, tmp_path: Path
) -> None:
    dump = tmp_path / "crafted.sql"
    # The parallel engine orders COPY blocks by the table each names: two blocks into one table, an FK
    # made before the rows (pg_dump adds them after) or rows for one partition sent by two names may
    # load in another order (none is lost): serial only.
    dump.write_text(CRAFTED.replace("{serial}", SERIAL_ONLY if jobs == 1 else ""))
    native = native_restore(server, dump, jobs=jobs)
    by_psql = server.create_database("psql", owner=None)
    build.psql_file(pg_binaries.tool("psql"), by_psql.restore_conninfo, dump)
    text, psql_text = (
        re.sub(r"liftbackup_restorer_[0-9a-f]+", "RESTORER", pg_dump_text(pg_binaries, database))
        for database in (native, by_psql)
    )  # no OWNER TO in it: each restore's own role owns what it made
    assert text == psql_text
    assert "1\tinserted before the COPY" in text and "MADE LOUD BY THE TRIGGER" in text
    assert frozen_pages(server, native.name, "public.fresh") == 1  # the fast way where it may
    assert frozen_pages(server, native.name, "public.kept") == 0  # not where rows were there


def test_the_lift_simulator_tables_are_loaded_frozen(dumps: Dumps, server: ThrowawayServer) -> None:
    database = native_restore(server, dumps.plain, jobs=2)
    for table in ("lift_system", "lift_system_version", "scenario", "simulation_run"):
        assert frozen_pages(server, database.name, f"lift_simulator.{table}") > 0, table
