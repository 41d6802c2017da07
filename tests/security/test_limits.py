"""Class 8: no dump can hang a run or fill the disk. A gzip bomb, a gzipped custom archive and a
tarball that inflate past --liftbackup-max-size, a line too long to read, a database that outgrows
the budget while restoring, and a statement that sleeps past --liftbackup-timeout: each fails with
one clear message, quickly, leaving nothing behind. Bad limit values are usage errors."""

from __future__ import annotations

import gzip
import io
import tarfile
import time
from pathlib import Path

import pytest

from pytest_liftbackup.server.throwaway import ThrowawayServer
from tests.conftest import PLAIN_NAME, Dumps, Scratch, write_bytes
from tests.helpers import assert_clean, output, run
from tests.lift_simulator import build
from tests.security.conftest import hostile_plain, make_database

MB = 1 << 20


def gzip_bomb(plain: Path, target: Path, padding_mb: int) -> Path:
    """The real dump, gzipped, with `padding_mb` of comment lines inside: tiny on disk, huge inflated."""
    raw = plain.read_bytes()
    header_end = raw.index(b"SET statement_timeout")
    pad = (b"-- " + b"x" * 1021 + b"\n") * 1024  # 1 MiB of comment lines
    with gzip.open(target, "wb", compresslevel=9) as out:
        out.write(raw[:header_end])
        for _ in range(padding_mb):
            out.write(pad)
        out.write(raw[header_end:])
    return target


def test_a_gzip_bomb_stops_at_the_size_budget(
    dumps: Dumps, pytester: pytest.Pytester, scratch: Scratch, tmp_path: Path
) -> None:
    bomb = gzip_bomb(dumps.plain, tmp_path / "lift_simulator_backup_20260120_080000.sql.gz", 64)
    assert bomb.stat().st_size < MB
    result = run(pytester, f"--liftbackup={bomb}", "--liftbackup-max-size=16M")
    text = output(result)
    assert result.ret == 1, text
    assert f"{bomb} expands past 16.8 MB (--liftbackup-max-size); a backup this size is unlikely" in text
    assert_clean(scratch)


def test_the_default_budget_is_a_multiple_of_the_file_with_a_floor(
    dumps: Dumps, pytester: pytest.Pytester, scratch: Scratch
) -> None:
    result = run(pytester, f"--liftbackup={dumps.gzip}", "--liftbackup-max-size=2x")
    assert result.ret == 0, output(result)  # 2 x a 9 kB file is under the 1 GB floor


@pytest.mark.parametrize("kind", ["custom-gzipped", "tarball"])
def test_archives_that_inflate_past_the_budget(
    kind: str, dumps: Dumps, pytester: pytest.Pytester, scratch: Scratch, tmp_path: Path
) -> None:
    if kind == "custom-gzipped":
        data = dumps.custom.read_bytes() + b"\0" * (40 * MB)
        bomb = write_bytes(tmp_path / "bomb.dump.gz", gzip.compress(data, compresslevel=9))
    else:
        bomb = tmp_path / "bomb.tar.gz"
        with tarfile.open(bomb, "w:gz") as tar:
            tar.add(dumps.directory, arcname="dump")
            info = tarfile.TarInfo("dump/9999.dat")
            info.size = 40 * MB
            tar.addfile(info, io.BytesIO(b"\0" * info.size))
    result = run(pytester, f"--liftbackup={bomb}", "--liftbackup-max-size=8M")
    text = output(result)
    assert result.ret == 1, text
    assert "expands past 8.4 MB (--liftbackup-max-size)" in text
    assert_clean(scratch)


def test_a_line_too_long_to_read_is_refused(
    dumps: Dumps, pytester: pytest.Pytester, scratch: Scratch, tmp_path: Path
) -> None:
    raw = dumps.plain.read_bytes()
    long_line = b"-- " + b"y" * (257 * MB) + b"\n"
    dump = tmp_path / PLAIN_NAME
    with open(dump, "wb") as out:
        out.write(
            raw[: raw.index(b"SET statement_timeout")]
            + long_line
            + raw[raw.index(b"SET statement_timeout") :]
        )
    result = run(pytester, f"--liftbackup={dump}")
    text = output(result)
    assert result.ret == 1, text
    assert (
        "is longer than 256 MiB; no pg_dump line of a restorable size is, so the file is damaged or crafted"
        in text
    )
    assert_clean(scratch)


def test_a_statement_that_sleeps_past_the_timeout_is_stopped(
    dumps: Dumps, pytester: pytest.Pytester, scratch: Scratch, tmp_path: Path
) -> None:
    dump = hostile_plain(dumps.plain, tmp_path / PLAIN_NAME, "SELECT pg_sleep(100000);", before_data=True)
    began = time.monotonic()
    result = run(pytester, f"--liftbackup={dump}", "--liftbackup-timeout=3")
    text = output(result)
    assert result.ret == 1, text
    assert "the restore ran past its time limit (--liftbackup-timeout); it was stopped" in text
    assert time.monotonic() - began < 60
    assert_clean(scratch)


GROW = """
CREATE TABLE public.filler AS SELECT g, pg_catalog.repeat('z', 1000) AS pad
FROM pg_catalog.generate_series(1, 60000) AS g;
"""


def test_a_database_that_outgrows_the_budget_is_stopped(
    dumps: Dumps, pytester: pytest.Pytester, scratch: Scratch, tmp_path: Path
) -> None:
    dump = hostile_plain(dumps.plain, tmp_path / PLAIN_NAME, GROW, before_data=True)
    result = run(pytester, f"--liftbackup={dump}", "--liftbackup-max-size=40M")
    text = output(result)
    assert result.ret == 1, text
    assert "the restored database grew past 41.9 MB (--liftbackup-max-size); it was stopped" in text
    assert_clean(scratch)


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ("--liftbackup-max-size=lots", "--liftbackup-max-size: 'lots' is not a size; write 20G, 500M or 50x"),
        ("--liftbackup-timeout=soon", "--liftbackup-timeout: expected seconds, got 'soon'"),
        ("--liftbackup-timeout=0", "--liftbackup-timeout: 0 is not a positive number of seconds"),
    ],
)
def test_bad_limits_are_usage_errors(
    option: str, message: str, dumps: Dumps, pytester: pytest.Pytester, scratch: Scratch
) -> None:
    result = run(pytester, f"--liftbackup={dumps.plain}", option)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert message in output(result)
    assert_clean(scratch)


def test_a_custom_archive_whose_data_inflates_in_the_database_is_stopped(
    source_server: ThrowawayServer,
    source: build.SourceDatabase,
    pytester: pytest.Pytester,
    scratch: Scratch,
    tmp_path: Path,
) -> None:
    """pg_restore inflates the archive's own compressed data into the database: the database budget."""
    make_database(
        source_server,
        "inflating",
        "CREATE TABLE filler AS SELECT g, repeat('z', 1000) AS pad FROM generate_series(1, 60000) g",
        owner=build.OWNER,
    )
    archive = source.dump(tmp_path / "inflating.dump", "-F", "c", "-Z", "9", database="inflating")
    assert archive.stat().st_size < 2 * MB
    result = run(pytester, f"--liftbackup={archive}", "--liftbackup-max-size=40M")
    text = output(result)
    assert result.ret == 1, text
    assert "the restored database grew past 41.9 MB (--liftbackup-max-size); it was stopped" in text
    assert_clean(scratch)
