"""Hostile dumps for the security tests, generated from real pg_dump output of a small database."""

from __future__ import annotations

import secrets
from pathlib import Path

import psycopg
import pytest

from pytest_liftbackup.server.databases import conninfo_from
from pytest_liftbackup.server.throwaway import ThrowawayServer
from tests.lift_simulator import build

LO_DATABASE = "with_large_object"


def make_database(server: ThrowawayServer, name: str, *statements: str, owner: str | None = None) -> None:
    """A database on `server` with the statements run in it (as `owner`, who owns it, when given)."""
    admin = server.admin_conninfo()
    with psycopg.connect(conninfo_from(admin), autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}" + (f" OWNER {owner}" if owner else ""))  # type: ignore[arg-type]
    with psycopg.connect(conninfo_from({**admin, "dbname": name}), autocommit=True) as conn:
        if owner:
            conn.execute(f"SET ROLE {owner}")  # type: ignore[arg-type]
        for statement in statements:
            conn.execute(statement)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def lo_source(source_server: ThrowawayServer, source: build.SourceDatabase) -> build.SourceDatabase:
    """A database with a table and a large object: its directory dump has a blobs TOC."""
    make_database(
        source_server,
        LO_DATABASE,
        "CREATE TABLE note (id int PRIMARY KEY, body text)",
        "INSERT INTO note VALUES (1, 'plain row'), (2, 'another')",
        "SELECT lo_from_bytea(0, 'large object body')",
        owner=build.OWNER,
    )
    return source


@pytest.fixture
def secret_file(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A root-only file standing in for /etc/shadow or a CI credentials file, and its content."""
    folder = tmp_path_factory.mktemp("secret")
    content = "TOPSECRET-" + secrets.token_hex(8)
    path = folder / "credentials"
    path.write_text(content + "\n")
    path.chmod(0o600)
    return path, content


def toc_string(text: str) -> bytes:
    """A string as pg_dump writes it into toc.dat (int size 4): sign byte, length, bytes."""
    data = text.encode()
    return b"\x00" + len(data).to_bytes(4, "little") + data


def rename_in_toc(toc: Path, old: str, new: str) -> None:
    raw = toc.read_bytes()
    assert raw.count(toc_string(old)) == 1, old
    toc.write_bytes(raw.replace(toc_string(old), toc_string(new)))


TRAILER = b"\n--\n-- PostgreSQL database dump complete"


def hostile_plain(plain: Path, target: Path, sql: str, *, before_data: bool = False) -> Path:
    """The real dump with `sql` added: after its session settings, or just before pg_dump's trailer."""
    raw = plain.read_bytes()
    if before_data:
        raw = raw.replace(
            b"SET row_security = off;\n", b"SET row_security = off;\n" + sql.encode() + b"\n", 1
        )
    else:
        raw = raw.replace(TRAILER, b"\n" + sql.encode() + b"\n" + TRAILER, 1)
    target.write_bytes(raw)
    return target
