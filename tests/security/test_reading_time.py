"""Class 8, reading: a small dump that takes long to read is stopped by --liftbackup-timeout.

Reading a dump runs no SQL, so the restore guard (which ends sessions on the server) cannot stop it:
the reader checks the deadline itself. Each dump here reads in time linear in its size, but more of
it than a 2-second limit allows; before reading was linear these took hours (quadratic in the
statement's length), and nothing stopped them.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from pytest_liftbackup import find_dumps
from pytest_liftbackup._errors import RestoreError
from pytest_liftbackup.dump import archive_toc
from pytest_liftbackup.restore import plain as _plain_restore
from pytest_liftbackup.server.throwaway import ThrowawayServer
from tests.conftest import PLAIN_NAME, Dumps, Scratch
from tests.helpers import assert_clean, output, run
from tests.lift_simulator import build
from tests.security.conftest import make_database

TIME_LIMIT = "the restore ran past its time limit (--liftbackup-timeout); it was stopped"
NEWLINES = 40_000_000  # one statement of 40 million lines: about 40 s to read here, 10 s on a fast machine


def many_lines(plain: Path, target: Path, newlines: int = NEWLINES) -> Path:
    """The real dump, gzipped, with the issue's statement before its data: `SELECT 1`, newlines, `;`."""
    raw = plain.read_bytes()
    at = raw.index(b"SET row_security = off;\n") + len(b"SET row_security = off;\n")
    with gzip.open(target, "wb", compresslevel=6) as out:
        out.write(raw[:at] + b"SELECT 1")
        for _ in range(newlines // 1_000_000):
            out.write(b"\n" * 1_000_000)
        out.write(b";\n" + raw[at:])
    return target


def test_a_tiny_plain_dump_that_reads_slowly_stops_at_the_time_limit(
    dumps: Dumps, pytester: pytest.Pytester, scratch: Scratch, tmp_path: Path
) -> None:
    dump = many_lines(dumps.plain, tmp_path / (PLAIN_NAME + ".gz"))
    assert dump.stat().st_size < 1 << 20  # a few hundred kB on disk
    result = run(pytester, f"--liftbackup={dump}", "--liftbackup-timeout=2")
    text = output(result)
    assert result.ret == 1, text
    assert f"{dump}: {TIME_LIMIT}" in text
    assert "  mode:" not in text  # stopped while it was read: no database was made for it
    assert_clean(scratch)  # the decompressed spool is gone too


def test_an_archive_whose_definition_reads_slowly_stops_at_the_time_limit(
    source_server: ThrowawayServer,
    source: build.SourceDatabase,
    pytester: pytest.Pytester,
    scratch: Scratch,
    tmp_path: Path,
) -> None:
    """A TOC entry's definition (a COMMENT of 40 million newlines) reaches the reader through
    pg_restore's listing of the schema, which is read before anything is restored."""
    make_database(
        source_server,
        "long_definition",
        "CREATE TABLE note (id int PRIMARY KEY)",
        "DO $$ BEGIN EXECUTE pg_catalog.format('COMMENT ON TABLE note IS %L', "
        f"pg_catalog.repeat(E'\\n', {NEWLINES})); END $$",
        owner=build.OWNER,
    )
    dump = source.dump(tmp_path / "long_definition.dump", "-F", "c", database="long_definition")
    result = run(pytester, f"--liftbackup={dump}", "--liftbackup-timeout=2")
    text = output(result)
    assert result.ret == 1, text
    assert f"{dump}: {TIME_LIMIT}" in text
    assert "  mode:" not in text  # stopped while it was read: no database was made for it
    assert_clean(scratch)


def test_the_restore_pass_stops_reading_at_the_deadline_too(
    dumps: Dumps, source_server: ThrowawayServer, tmp_path: Path
) -> None:
    """The second pass splits the text again: past the deadline it stops, with no statement running
    on the server for the guard to end (here: a deadline already passed, after a scan without one)."""
    dump = many_lines(dumps.plain, tmp_path / (PLAIN_NAME + ".gz"), 3_000_000)  # past the first check
    info = find_dumps([dump])[0]
    scanned = _plain_restore.scan(info, tmp_path)
    database = source_server.create_database("deadline", owner=scanned.roles.main_owner)
    try:
        with pytest.raises(RestoreError) as raised:
            _plain_restore.execute(
                info, scanned, database.restore_conninfo, restores_ownership=True, deadline=0.0
            )
    finally:
        scanned.discard()
        source_server.drop_database(database)
    assert str(raised.value).startswith(f"{dump}: the restore ran past its time limit (")


def test_reading_a_directory_archives_table_of_contents_is_checked_too(
    dumps: Dumps, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every few thousand entries (here: every one) toc.dat's reader calls the restore's check."""
    monkeypatch.setattr(archive_toc, "_CHECK_EVERY", 1)
    seen: list[int] = []

    def check() -> None:
        seen.append(1)
        if len(seen) == 3:
            raise TimeoutError("stop")

    with pytest.raises(TimeoutError):
        archive_toc.check_directory(dumps.directory, check)
    assert len(archive_toc.data_files(dumps.directory / "toc.dat")) > 3  # it had more to read
