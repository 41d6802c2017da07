"""Property-based: for scripts hypothesis writes (standard, E'' and dollar-quoted literals with
semicolons, quotes and backslashes, nested comments, COPY blocks with escapes, CRLF lines), the native
engine's database and `psql -f`'s are the same."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pytest_liftbackup.server.binaries import PgBinaries
from pytest_liftbackup.server.databases import conninfo_from
from pytest_liftbackup.server.throwaway import ThrowawayServer
from tests.engine.test_oracle import native_restore
from tests.lift_simulator import build

# Pieces rather than characters: the sequences a splitter must not take for syntax.
PIECES = [*"ab;'\"$\\\n\t -/*éü電.", "\\.", "$x$", "$$", "/*", "*/", "--", "\r\n"]
TEXT = st.lists(st.sampled_from(PIECES), max_size=10).map("".join)


def _standard(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _escaped(value: str) -> str:
    table = {"\\": "\\\\", "'": "\\'", "\n": "\\n", "\t": "\\t"}
    return "E'" + "".join(table.get(c, c) for c in value) + "'"


def _dollar(value: str, tag: str) -> str:
    return (
        f"${tag}${value}${tag}$" if f"${tag}$" not in value and not value.endswith("$") else _standard(value)
    )


def _copy_field(value: str) -> str:
    table = {"\\": "\\\\", "\n": "\\n", "\t": "\\t", "\r": "\\r"}
    return "".join(table.get(c, c) for c in value)


@st.composite
def scripts(draw: st.DrawFn) -> tuple[str, bool]:
    parts = ["CREATE TABLE public.t (id serial PRIMARY KEY, v text);"]
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(
            st.sampled_from(["standard", "escaped", "dollar", "copy", "line comment", "block comment"])
        )
        value = draw(TEXT)
        if kind == "standard":
            parts.append(f"INSERT INTO public.t (v) VALUES ({_standard(value)});")
        elif kind == "escaped":
            parts.append(f"INSERT INTO public.t (v) VALUES ({_escaped(value)});")
        elif kind == "dollar":
            tag = draw(st.sampled_from(["", "q", "body"]))
            parts.append(f"INSERT INTO public.t (v) VALUES ({_dollar(value, tag)});")
        elif kind == "copy":
            rows = draw(st.lists(TEXT, min_size=1, max_size=3))
            block = "\n".join(_copy_field(r) for r in rows)
            parts.append(f"COPY public.t (v) FROM stdin;\n{block}\n\\.")
        elif kind == "line comment":
            parts.append("-- " + value.replace("\n", " ") + " ;")
        else:
            parts.append(
                "/* outer " + value.replace("*/", "").replace("/*", "") + " /* nested ; ' */ still */"
            )
    crlf = draw(st.booleans())
    return "\n".join(parts) + "\n", crlf


def _as_dump(body: str, crlf: bool, path: Path) -> Path:
    text = "--\n-- PostgreSQL database dump\n--\n\nSET client_encoding = 'UTF8';\n" + body
    text += "\n--\n-- PostgreSQL database dump complete\n--\n\n"
    data = text.encode()
    path.write_bytes(data.replace(b"\n", b"\r\n") if crlf else data)
    return path


def _rows(server: ThrowawayServer, dbname: str) -> list[tuple[object, ...]]:
    with psycopg.connect(conninfo_from(server.admin_conninfo(dbname))) as conn:
        return conn.execute("SELECT id, v FROM public.t ORDER BY id").fetchall()


@pytest.fixture(scope="module")
def server(pg_binaries: PgBinaries) -> Iterator[ThrowawayServer]:
    server = ThrowawayServer(pg_binaries)
    yield server
    server.close()


@settings(max_examples=40, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(script=scripts())
def test_the_native_engine_and_psql_agree(
    script: tuple[str, bool],
    server: ThrowawayServer,
    pg_binaries: PgBinaries,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    body, crlf = script
    dump = _as_dump(body, crlf, tmp_path_factory.mktemp("prop") / "prop.sql")
    oracle = server.create_database("psql")
    try:
        psql_error = None
        try:
            build.psql_file(pg_binaries.tool("psql"), oracle.restore_conninfo, dump)
        except Exception as exc:  # psql refused the script: the engine must refuse it too
            psql_error = exc
        try:
            native = native_restore(server, dump)
        except Exception as exc:
            assert psql_error is not None, (
                f"the engine failed where psql did not: {exc}\n{dump.read_text()!r}"
            )
            return
        try:
            assert psql_error is None, (
                f"psql failed where the engine did not: {psql_error}\n{dump.read_text()!r}"
            )
            assert _rows(server, native.name) == _rows(server, oracle.name), dump.read_text()
        finally:
            server.drop_database(native)
    finally:
        server.drop_database(oracle)
