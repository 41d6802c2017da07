"""Real PostgreSQL for every test: a source server holding lift_simulator, dumped in every format."""

from __future__ import annotations

import gzip
import io
import os
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import lz4.frame
import psycopg
import pytest
import zstandard

from pytest_liftbackup.server import binaries as _binaries
from pytest_liftbackup.server.databases import conninfo_from
from pytest_liftbackup.server.throwaway import ThrowawayServer, restore_settings
from tests.lift_simulator import build

pytest_plugins = ["pytester"]

# The runs under test must not pick up the caller's settings, nor append to a real CI step summary.
for _name in (
    "LIFTBACKUP_DUMP",
    "LIFTBACKUP_DSN",
    "LIFTBACKUP_CHECKS",
    "LIFTBACKUP_MIGRATIONS",
    "LIFTBACKUP_REPORT",
    "LIFTBACKUP_MARKDOWN",
    "LIFTBACKUP_TRUSTED",
    "LIFTBACKUP_TIMEOUT",
    "LIFTBACKUP_MAX_SIZE",
    "LIFTBACKUP_IDENTITY",
    "GITHUB_STEP_SUMMARY",
):
    os.environ.pop(_name, None)

PLAIN_NAME = "lift_simulator_backup_20260120_080000.sql"


@pytest.fixture(scope="session")
def pg_binaries() -> _binaries.PgBinaries:
    return _binaries.choose(_binaries.candidates([]), None, ("postgres", "pg_dump", "psql"), "tests")


@pytest.fixture(scope="session")
def source_server(pg_binaries: _binaries.PgBinaries) -> Iterator[ThrowawayServer]:
    server = ThrowawayServer(pg_binaries)
    yield server
    server.close()


def second_server(
    binaries: _binaries.PgBinaries,
    *statements: str,
    server_settings: dict[str, str] | None = None,
    **in_database: str,
) -> ThrowawayServer:
    """Another real server, standing in for a CI service container or a shared test server: the
    statements run as its superuser, then each `database=statement` in that database. With
    `server_settings`, the server starts with those (instead of a throwaway server's)."""
    server = ThrowawayServer(binaries, settings=server_settings)
    try:
        with psycopg.connect(conninfo_from(server.admin_conninfo()), autocommit=True) as conn:
            for statement in statements:
                conn.execute(statement)  # type: ignore[call-overload]
        for database, statement in in_database.items():
            with psycopg.connect(conninfo_from(server.admin_conninfo(database)), autocommit=True) as conn:
                conn.execute(statement)  # type: ignore[call-overload]
    except BaseException:
        server.close()
        raise
    return server


@pytest.fixture(scope="session")
def source(source_server: ThrowawayServer, pg_binaries: _binaries.PgBinaries) -> build.SourceDatabase:
    return build.create_source(source_server.admin_conninfo(), pg_binaries.tool("pg_dump"))


@dataclass
class Dumps:
    folder: Path
    plain: Path
    gzip: Path
    zstd: Path
    lz4: Path
    custom: Path
    custom_gzipped: Path
    directory: Path
    tar: Path
    wrapped_directory: Path

    def all_formats(self) -> dict[str, Path]:
        return {k: v for k, v in vars(self).items() if k != "folder"}


@pytest.fixture(scope="session")
def dumps(source: build.SourceDatabase, tmp_path_factory: pytest.TempPathFactory) -> Dumps:
    """The same lift_simulator database, dumped by pg_dump in every format the plugin reads."""
    out = tmp_path_factory.mktemp("dumps")
    plain = source.dump(out / PLAIN_NAME, "-F", "p")
    raw = plain.read_bytes()
    gz = write_bytes(out / "lift_simulator_backup_20260121_080000.sql.gz", gzip.compress(raw))
    zst = write_bytes(
        out / "lift_simulator_backup_20260122_080000.sql.zst", zstandard.ZstdCompressor().compress(raw)
    )
    lz4_file = write_bytes(out / "lift_simulator_backup_20260123_080000.sql.lz4", lz4.frame.compress(raw))
    custom = source.dump(out / "lift.dump", "-F", "c")
    (out / "custom.dump.gz").write_bytes(gzip.compress(custom.read_bytes()))
    directory = source.dump(out / "lift_dir", "-F", "d")
    source.dump(out / "lift.tar", "-F", "t")
    with tarfile.open(out / "lift_dir.tar.gz", "w:gz") as tar:
        tar.add(directory, arcname="lift_dir")
    return Dumps(
        out,
        plain,
        gz,
        zst,
        lz4_file,
        custom,
        out / "custom.dump.gz",
        directory,
        out / "lift.tar",
        out / "lift_dir.tar.gz",
    )


@dataclass
class Scratch:
    """A private TMPDIR for one pytest run, to prove the run leaves nothing behind."""

    tmpdir: Path

    def leftovers(self) -> list[str]:
        return sorted(p.name for p in self.tmpdir.iterdir())


def servers_under(folder: Path) -> list[str]:
    """Command lines of postmasters whose data folder lies under `folder`."""
    out = subprocess.run(["ps", "-ww", "-eo", "args"], capture_output=True, text=True).stdout
    return [line for line in out.splitlines() if "postgres" in line and str(folder) in line]


@pytest.fixture
def scratch(monkeypatch: pytest.MonkeyPatch) -> Iterator[Scratch]:
    """TMPDIR for the pytest under test (reachable by `nobody` when we are root), checked afterwards."""
    base = Path(tempfile.mkdtemp(prefix="lb-scratch-", dir="/tmp" if os.name != "nt" else None))
    base.chmod(0o755)
    monkeypatch.setenv("TMPDIR", str(base))
    yield Scratch(base)
    assert servers_under(base) == [], "a PostgreSQL server outlived the run"
    shutil.rmtree(base, ignore_errors=True)


def write_bytes(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def truncated_plain(plain: Path, out: Path, marker: bytes) -> Path:
    """The dump cut just before `marker`: what a full disk or a killed backup job leaves."""
    raw = plain.read_bytes()
    return write_bytes(out, raw[: raw.index(marker)])


def open_bytes(data: bytes) -> io.BytesIO:
    return io.BytesIO(data)


# A second server for --liftbackup-dsn: a CI service container or a shared test server.
DSN_PASSWORD = "s3cret-Pa55word"


@pytest.fixture(scope="module")
def existing(pg_binaries: _binaries.PgBinaries) -> Iterator[ThrowawayServer]:
    """A second, separate server standing in for a CI service container, with a precious database."""
    server = shared_server(pg_binaries)
    yield server
    server.close()


def shared_server(pg_binaries: _binaries.PgBinaries, **server_settings: str) -> ThrowawayServer:
    """The `existing` server: a CI user that may create roles and databases, and a precious database."""
    return second_server(
        pg_binaries,
        f"CREATE ROLE ci_user LOGIN CREATEDB CREATEROLE PASSWORD '{DSN_PASSWORD}'",
        "CREATE DATABASE production OWNER ci_user",
        server_settings={**restore_settings(), **server_settings} if server_settings else None,
        production="CREATE TABLE precious (id int); INSERT INTO precious VALUES (1), (2)",
    )


def dsn(server: ThrowawayServer) -> str:
    info = server.admin_conninfo()
    return f"postgresql://ci_user:{DSN_PASSWORD}@/postgres?host={info['host']}&port={info['port']}"


def databases(server: ThrowawayServer) -> list[str]:
    with psycopg.connect(conninfo_from(server.admin_conninfo()), autocommit=True) as conn:
        return sorted(r[0] for r in conn.execute("SELECT datname FROM pg_database WHERE NOT datistemplate"))


def assert_untouched(server: ThrowawayServer) -> None:
    assert databases(server) == ["postgres", "production"]
    with psycopg.connect(conninfo_from(server.admin_conninfo("production"))) as conn:
        assert conn.execute("SELECT count(*) FROM precious").fetchone() == (2,)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Long tests (marker `slow`: soak, large dumps) run only when asked for with `-m slow`."""
    if "slow" in (config.getoption("markexpr", "") or ""):
        return
    skip = pytest.mark.skip(reason="opt-in: run with -m slow")
    for item in items:
        if item.get_closest_marker("slow"):
            item.add_marker(skip)
