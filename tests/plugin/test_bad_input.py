"""Bad input: one clear line naming the file and what to do, a failing run, nothing left behind."""

from __future__ import annotations

import gzip
import os
import re
from pathlib import Path

import pytest

from tests.conftest import Dumps, Scratch, truncated_plain, write_bytes
from tests.helpers import assert_clean, output, run

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4


def assert_one_clear_error(result: pytest.RunResult, expected: str, exit_code: int) -> None:
    text = output(result)
    assert result.ret == exit_code, text
    assert expected in text, text
    assert "Traceback" not in text
    assert not re.search(r'File ".*", line \d+|\.py:\d+: in ', text)  # no stack frames either


def assert_usage_error(result: pytest.RunResult, expected: str) -> None:
    assert_one_clear_error(result, expected, pytest.ExitCode.USAGE_ERROR)
    errors = [line for line in result.errlines if line.startswith("ERROR:")]
    assert errors == [f"ERROR: {expected}"] or (len(errors) == 1 and expected in errors[0]), result.errlines


def test_a_path_that_does_not_exist(pytester: pytest.Pytester, scratch: Scratch, tmp_path: Path) -> None:
    missing = tmp_path / "nope" / "backup.sql"
    result = run(pytester, f"--liftbackup={missing}")
    assert_usage_error(result, f"{missing}: no such file or directory; pass the path of a pg_dump backup")
    assert_clean(scratch)


def test_a_glob_that_matches_nothing(pytester: pytest.Pytester, scratch: Scratch, tmp_path: Path) -> None:
    result = run(pytester, f"--liftbackup={tmp_path}/*.sql")
    assert_usage_error(
        result, f"{tmp_path}/*.sql: no file matches this pattern; check the path and the quoting"
    )


def test_an_empty_file(pytester: pytest.Pytester, scratch: Scratch, tmp_path: Path) -> None:
    empty = write_bytes(tmp_path / "lift_simulator_backup_20260120_080000.sql", b"")
    result = run(pytester, f"--liftbackup={empty}")
    assert_usage_error(result, f"{empty}: the file is empty; the backup job wrote nothing, check its log")
    assert_clean(scratch)


@pytest.mark.parametrize(
    ("content", "what"),
    [
        (PNG, "it is a PNG image"),
        (os.urandom(4096).replace(b"\x1f\x8b", b"xx").replace(b"PGDMP", b"xxxxx"), "it holds binary data"),
        (b"SELECT 1;\n", "it is text without the '-- PostgreSQL database dump' header pg_dump writes"),
    ],
    ids=["png", "random-bytes", "sql-not-from-pg_dump"],
)
def test_a_file_that_is_not_a_dump(
    content: bytes, what: str, pytester: pytest.Pytester, scratch: Scratch, tmp_path: Path
) -> None:
    bad = write_bytes(tmp_path / "backup.sql", content)
    result = run(pytester, f"--liftbackup={bad}")
    assert_usage_error(result, f"{bad}: not a pg_dump backup ({what}); pass a file written by pg_dump")
    assert_clean(scratch)


def test_a_truncated_gzip(dumps: Dumps, pytester: pytest.Pytester, scratch: Scratch, tmp_path: Path) -> None:
    data = dumps.gzip.read_bytes()
    cut = write_bytes(tmp_path / "lift_simulator_backup_20260120_080000.sql.gz", data[: len(data) // 2])
    result = run(pytester, f"--liftbackup={cut}")
    assert_usage_error(result, f"{cut}: the gzip data is corrupt or cut short")
    assert_clean(scratch)


def test_a_gzip_cut_after_its_first_64k_fails_the_restore(
    dumps: Dumps, pytester: pytest.Pytester, scratch: Scratch, tmp_path: Path
) -> None:
    """The header reads fine; the damage is found by the full pass before anything runs."""
    raw = dumps.plain.read_bytes()
    big = raw.replace(
        b"SET statement_timeout = 0;", b"SET statement_timeout = 0;\n" + b"-- padding\n" * 20000
    )
    data = gzip.compress(big)
    cut = write_bytes(tmp_path / "lift_simulator_backup_20260120_080000.sql.gz", data[: len(data) - 200])
    result = run(pytester, f"--liftbackup={cut}")
    assert_one_clear_error(result, f"{cut}: the gzip data is corrupt or cut short", 1)
    result.assert_outcomes(failed=1)
    assert_clean(scratch)


def test_a_custom_archive_cut_short(
    dumps: Dumps, pytester: pytest.Pytester, scratch: Scratch, tmp_path: Path
) -> None:
    data = dumps.custom.read_bytes()
    cut = write_bytes(tmp_path / "lift.dump", data[: len(data) - 3000])
    result = run(pytester, f"--liftbackup={cut}")
    text = output(result)
    assert_one_clear_error(result, f"{cut}: restore failed (", 1)
    assert "possibly corrupt archive" in text or "end of file" in text, text
    assert "the archive is damaged or cut short; take a new backup" in text
    result.assert_outcomes(failed=1)
    assert_clean(scratch)


def test_a_directory_without_toc_dat(
    dumps: Dumps, pytester: pytest.Pytester, scratch: Scratch, tmp_path: Path
) -> None:
    broken = tmp_path / "lift_dir"
    broken.mkdir()
    for part in dumps.directory.iterdir():
        if part.name != "toc.dat":
            (broken / part.name).write_bytes(part.read_bytes())
    result = run(pytester, f"--liftbackup={broken}")
    assert_usage_error(result, f"{broken}: a directory-format dump without its toc.dat")
    assert_clean(scratch)


def test_an_empty_folder(pytester: pytest.Pytester, scratch: Scratch, tmp_path: Path) -> None:
    result = run(pytester, f"--liftbackup={tmp_path}")
    assert_usage_error(result, f"{tmp_path}: this folder holds no backup")


def test_a_plain_dump_newer_than_every_server(
    dumps: Dumps, pytester: pytest.Pytester, scratch: Scratch, tmp_path: Path
) -> None:
    newer = write_bytes(
        tmp_path / "lift_simulator_backup_20260120_080000.sql",
        dumps.plain.read_bytes().replace(
            b"-- Dumped by pg_dump version 18.6", b"-- Dumped by pg_dump version 99.1"
        ),
    )
    result = run(pytester, f"--liftbackup={newer}")
    assert_one_clear_error(
        result,
        f"{newer} needs PostgreSQL 99 or newer with postgres, initdb, pg_ctl, "
        "but the binaries found are: 18.6 (",
        1,
    )
    assert "pass its bin folder with --liftbackup-pg-bin=DIR" in output(result)
    assert "server: throwaway PostgreSQL" not in output(result)  # no server was started for nothing
    assert_clean(scratch)


def test_a_custom_archive_newer_than_every_pg_restore(
    dumps: Dumps, pytester: pytest.Pytester, scratch: Scratch, tmp_path: Path
) -> None:
    data = dumps.custom.read_bytes()
    header, rest = data[:200].replace(b"18.6", b"99.6"), data[200:]
    newer = write_bytes(tmp_path / "lift.dump", header + rest)
    result = run(pytester, f"--liftbackup={newer}")
    assert_one_clear_error(
        result, f"{newer} (custom archive) needs PostgreSQL 99 or newer with pg_restore", 1
    )
    assert_clean(scratch)


@pytest.mark.parametrize(
    "meta",
    [
        "\\! touch {canary}",
        "\\copy lift_simulator.lift_system TO '{canary}'",
        "\\o {canary}",
        "\\i {canary}",
        "\\set ON_ERROR_STOP off",
    ],
)
def test_a_forbidden_meta_command_is_refused_before_anything_runs(
    meta: str, dumps: Dumps, pytester: pytest.Pytester, scratch: Scratch, tmp_path: Path
) -> None:
    canary = tmp_path / "SOMEFILE"
    raw = dumps.plain.read_bytes()
    line = raw[: raw.index(b"CREATE TABLE")].count(b"\n") + 1
    evil = raw.replace(b"CREATE TABLE", meta.format(canary=canary).encode() + b"\nCREATE TABLE", 1)
    dump = write_bytes(tmp_path / "lift_simulator_backup_20260120_080000.sql", evil)
    result = run(pytester, f"--liftbackup={dump}")
    name = meta.split()[0]
    assert_one_clear_error(
        result, f"{dump}:{line}: refused the psql meta-command {name}: pg_dump never writes it", 1
    )
    assert "nothing was restored" in output(result)
    assert "server: throwaway PostgreSQL" not in output(result)  # refused before a server was started
    assert not canary.exists()
    assert_clean(scratch)


@pytest.mark.parametrize(
    ("marker", "expected"),
    [
        (b"--\n-- PostgreSQL database dump complete", "the dump is cut short: it ends at line"),
        (b"\\.\n", "the COPY data that starts at line"),
    ],
    ids=["no-trailer", "copy-cut-short"],
)
def test_a_truncated_plain_dump_fails_even_if_every_statement_succeeds(
    marker: bytes, expected: str, dumps: Dumps, pytester: pytest.Pytester, scratch: Scratch, tmp_path: Path
) -> None:
    cut = truncated_plain(dumps.plain, tmp_path / "lift_simulator_backup_20260120_080000.sql", marker)
    result = run(pytester, f"--liftbackup={cut}")
    assert_one_clear_error(result, expected, 1)
    assert "take a new backup" in output(result) or "take a new one" in output(result)
    result.assert_outcomes(failed=1)
    assert_clean(scratch)


def test_a_bug_of_the_plugin_is_called_one_and_not_an_interruption(
    pytester: pytest.Pytester, dumps: Dumps, scratch: Scratch
) -> None:
    """A plugin bug during the restore (simulated: our own restore step raises) fails the restore item
    naming it as ours, with its traceback below; the run goes on and leaves nothing behind."""
    pytester.makeconftest(
        "import pytest_liftbackup.api.restorer as s\n"
        "def broken(*args, **kwargs):\n"
        "    raise RuntimeError('boom')\n"
        "s.restore = broken\n"
    )
    result = run(pytester, f"--liftbackup={dumps.plain}")
    text = output(result)
    assert result.ret == 1
    assert (
        "pytest-liftbackup failed while restoring (RuntimeError: boom); this is a bug in the plugin, not in "
        "the dump: please report it with the traceback below"
    ) in text
    assert "in broken" in text  # the traceback, below the message
    assert "interrupted" not in text
    assert_clean(scratch)
