"""`pytest --liftbackup=DUMP` restores every pg_dump format, reports it, and cleans up."""

from __future__ import annotations

import io
import signal
from pathlib import Path

import pytest

from tests.conftest import PLAIN_NAME, Dumps, Scratch, servers_under
from tests.helpers import assert_clean, interrupt_mid_restore, output, run, slow_dump

FORMATS = {
    "plain": "plain, compression none",
    "gzip": "plain, compression gzip",
    "zstd": "plain, compression zstd",
    "lz4": "plain, compression lz4",
    "custom": "custom, compression gzip",
    "custom_gzipped": "custom, compression gzip",
    "directory": "directory, compression gzip",
    "tar": "tar, compression none",
    "wrapped_directory": "directory (in tarball), compression gzip",
}


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_every_format_restores_with_zero_errors(
    fmt: str, dumps: Dumps, pytester: pytest.Pytester, scratch: Scratch
) -> None:
    dump = dumps.all_formats()[fmt]
    result = run(pytester, f"--liftbackup={dump}")
    text = output(result)
    assert result.ret == 0, text
    result.assert_outcomes(passed=1)
    assert f"{dump.name}::restore PASSED" in text or f"{dump.name} ." in text
    assert f"format:   {FORMATS[fmt]}" in text
    assert "versions: pg_dump 18.6, source server 18.6, database lift_simulator" in text
    assert "5 tables, 266 rows" in text
    assert_clean(scratch)


def test_all_formats_in_one_run_share_one_server(
    dumps: Dumps, pytester: pytest.Pytester, scratch: Scratch
) -> None:
    args = [f"--liftbackup={p}" for p in dumps.all_formats().values()]
    result = run(pytester, "-v", *args)
    assert result.ret == 0, output(result)
    result.assert_outcomes(passed=len(args))
    result.stdout.fnmatch_lines([f"*{dumps.plain.name}::restore PASSED*", "*lift.dump::restore PASSED*"])
    assert output(result).count("server: throwaway PostgreSQL 18.6") == 1
    assert_clean(scratch)


def test_summary_and_header_report_the_dump_facts(
    dumps: Dumps, pytester: pytest.Pytester, scratch: Scratch
) -> None:
    result = run(pytester, f"--liftbackup={dumps.plain}")
    text = output(result)
    assert "liftbackup: 1 dump(s) from command line (--liftbackup)" in text
    assert f"{dumps.plain} [given]: plain" in text
    assert "sha256 " in text and "sha256 ?" not in text
    assert "restore:  passed in" in text and "MB/s) by native (psycopg)" in text
    assert "roles:    created NOLOGIN for ownership: lift_admin" in text
    assert "settings: fsync=off, synchronous_commit=off, full_page_writes=off, wal_level=minimal" in text
    assert "maintenance_work_mem=512MB" in text
    assert "items:    1 passed" in text
    assert "checksum: none (a damaged byte in the data would restore as another value unnoticed" in text
    gzipped = output(run(pytester, f"--liftbackup={dumps.gzip}", f"--liftbackup={dumps.custom_gzipped}"))
    assert gzipped.count("checksum: gzip CRC-32\n") == 2


def test_without_liftbackup_nothing_is_collected_and_fixtures_skip(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_uses_db(liftbackup_db):\n    pass\n")
    result = run(pytester, "-rs")
    result.assert_outcomes(skipped=1)
    assert "no dump to test: pass --liftbackup=DUMP" in output(result)
    text = output(result)
    assert "liftbackup: " not in text  # no header lines
    assert "= liftbackup =" not in text  # no summary section


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_interrupted_mid_restore_leaves_no_server_and_no_folder(
    sig: signal.Signals, dumps: Dumps, pytester: pytest.Pytester, scratch: Scratch, tmp_path: Path
) -> None:
    slow = slow_dump(dumps.plain, tmp_path / PLAIN_NAME)
    interrupt_mid_restore(
        pytester, [f"--liftbackup={slow}"], lambda: bool(servers_under(scratch.tmpdir)), sig
    )
    assert servers_under(scratch.tmpdir) == []
    assert_clean(scratch)


@pytest.mark.parametrize(("level", "shown"), [(-1, "gzip"), (0, "none"), (6, "gzip")])
def test_archive_compression_of_pg_dump_before_16_is_read_from_its_level(level: int, shown: str) -> None:
    """Archives before format 1.15 store a zlib level; -1 is zlib's default, so gzip."""
    from pytest_liftbackup.dump.archive_header import read_archive_header

    def int_(value: int) -> bytes:
        return bytes([1 if value < 0 else 0]) + abs(value).to_bytes(4, "little")

    def str_(text: str) -> bytes:
        return int_(len(text)) + text.encode()

    head = (
        b"PGDMP"
        + bytes([1, 14, 0, 4, 8, 1])
        + int_(level)
        + b"".join(int_(v) for v in (0, 0, 8, 20, 0, 126, 0))
    )
    head += str_("lift_simulator") + str_("15.4") + str_("15.4")
    assert read_archive_header(io.BytesIO(head)).compression == shown
