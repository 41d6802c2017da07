"""Class 5: arguments of pg_dump's own meta-commands cannot smuggle in a shell command or another
meta-command. The plugin never runs meta-commands, but psql (the reference restore) would, so such a
dump is refused before anything runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import PLAIN_NAME, Dumps, Scratch, write_bytes
from tests.helpers import assert_clean, output, run


@pytest.mark.parametrize(
    ("line", "why"),
    [
        (b"\\connect lift_simulator \\! touch {marker}", "a backslash, which starts another meta-command"),
        (b"\\connect `touch {marker}`", "a backtick, which psql runs as a shell command"),
        (b"\\restrict k1 \\o |touch {marker}", "a backslash, which starts another meta-command"),
        (b"\\connect -reuse-previous=on \"dbname='x' host=evil.example\"", "not a plain database name"),
        (b"\\restrict 'k1'", "a key that is not letters and digits"),
    ],
    ids=["connect-shell", "connect-backtick", "restrict-pipe", "connect-host", "restrict-quoted"],
)
def test_smuggled_meta_command_arguments_are_refused(
    line: bytes, why: str, dumps: Dumps, pytester: pytest.Pytester, scratch: Scratch, tmp_path: Path
) -> None:
    marker = tmp_path / "marker"
    hostile = dumps.plain.read_bytes().replace(
        b"SET statement_timeout = 0;",
        line.replace(b"{marker}", str(marker).encode()) + b"\nSET statement_timeout = 0;",
        1,
    )
    dump = write_bytes(tmp_path / PLAIN_NAME, hostile)
    result = run(pytester, f"--liftbackup={dump}")
    text = output(result)
    assert result.ret == 1, text
    assert f"with arguments pg_dump never writes ({why}): psql would run them; nothing was restored" in text
    assert not marker.exists()
    assert_clean(scratch)


def test_pg_dump_create_database_connect_line_is_accepted(
    dumps: Dumps, pytester: pytest.Pytester, scratch: Scratch, tmp_path: Path
) -> None:
    """`pg_dump -C` writes `\\connect -reuse-previous=on "dbname='NAME'"`: that shape restores."""
    dump = write_bytes(
        tmp_path / PLAIN_NAME,
        dumps.plain.read_bytes().replace(
            b"SET statement_timeout = 0;",
            b"\\connect -reuse-previous=on \"dbname='lift_simulator'\"\nSET statement_timeout = 0;",
            1,
        ),
    )
    result = run(pytester, f"--liftbackup={dump}")
    assert result.ret == 0, output(result)
