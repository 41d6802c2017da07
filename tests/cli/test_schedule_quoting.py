"""`liftbackup schedule` with hostile paths and DSNs: each platform's text is parsed back the way its
reader splits it (cron's `%` rule then a real /bin/sh; systemd.syntax, and `systemd-analyze verify`;
cmd.exe then the Microsoft C runtime) and must give exactly the commands meant, or be refused with one
line naming the setting."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.conftest import liftbackup

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="the hostile names are POSIX file names")

DSN = "postgresql://ops@db:5432/lift_simulator?application_name=a%20b&sslmode=prefer"
WINDOWS_DSN = "postgresql://ops@db:5432/lift_simulator?application_name=a+b"  # cmd.exe: no % nor &
# What a folder name may hold on every platform: quotes, spaces, $, backtick, ;, #, *, (), \, ', ~
COMMON = "we'ekly $HOME `id` ;#*(x)~ \\n"
# And on cron and systemd also what cmd.exe reads specially: %, ", &, |, ^, <, >, !
POSIX_ONLY = '%h %% "q" & | ^ < > ! ${PATH}'


def schedule(platform: str, folder: Path, checks: Path, dsn: str = DSN) -> subprocess.CompletedProcess[str]:
    return liftbackup("schedule", "--dsn", dsn, "--dir", folder, "--checks", checks, "--platform", platform)


def meant(folder: Path, checks: Path, log: bool, dsn: str = DSN) -> list[list[str]]:
    """The two commands the job must run."""
    me = [sys.executable, "-m", "pytest_liftbackup"] + (
        ["--log", f"{folder}/liftbackup-job.log"] if log else []
    )
    return [
        [*me, "backup", "--dsn", dsn, "--dir", str(folder)],
        [*me, "verify", str(folder), "--checks", str(checks)],
    ]


def hostile(tmp_path: Path, posix: bool) -> tuple[Path, Path]:
    text = COMMON + (POSIX_ONLY if posix else "")
    return tmp_path / f"backups {text}", tmp_path / f"checks {text}"


# cron ------------------------------------------------------------------------------------------------


def cron_command(line: str) -> str:
    """The command cron hands to /bin/sh, by Vixie cron's rule (do_command.c): `\\%` is `%`, a `%`
    alone ends the command (the rest becomes its stdin), a backslash before anything else stays."""
    fields = line.split(None, 5)
    assert len(fields) == 6 and fields[:5] == ["0", "8", "*", "*", "2"], line
    out, escaped = [], False
    for ch in fields[5]:
        if escaped:
            if ch == "%":
                out[-1] = "%"
            else:
                out.append(ch)
            escaped = False
            continue
        if ch == "\\":
            escaped = True
            out.append(ch)
            continue
        assert ch != "%", f"an unescaped % ends the command: {line!r}"
        out.append(ch)
    return "".join(out)


def test_cron_with_hostile_paths_and_dsn_runs_exactly_the_meant_commands(tmp_path: Path) -> None:
    folder, checks = hostile(tmp_path, posix=True)
    done = schedule("cron", folder, checks)
    assert done.returncode == 0, done.stderr
    (line,) = [text for text in done.stdout.splitlines() if not text.startswith("#")]
    command = cron_command(line)
    # A real shell parses it; the interpreter's own word is swapped for a program that records argv.
    recorder = tmp_path / "record argv"
    out = tmp_path / "argv.jsonl"
    recorder.write_text(
        f"#!{sys.executable}\nimport json, sys\nopen({str(out)!r}, 'a').write(json.dumps(sys.argv) + '\\n')\n"
    )
    recorder.chmod(0o755)
    words = shlex.quote(sys.executable)
    assert command.count(words) == 2
    ran = subprocess.run(
        ["/bin/sh", "-c", command.replace(words, shlex.quote(str(recorder)))],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "HOME": "/nonexistent"},
    )
    assert ran.returncode == 0, ran.stderr
    got = [json.loads(text) for text in out.read_text().splitlines()]
    assert [[sys.executable, *argv[1:]] for argv in got] == meant(folder, checks, log=True)


def test_cron_refuses_a_backslash_before_percent(tmp_path: Path) -> None:
    done = schedule("cron", tmp_path / "a\\%b", tmp_path)
    assert done.returncode == 2
    assert "--dir: holds a backslash before %, which no crontab line can carry" in done.stderr
    assert done.stdout == ""


# systemd ---------------------------------------------------------------------------------------------

_C_ESCAPES = {"n": "\n", "t": "\t", "\\": "\\", '"': '"', "'": "'", "s": " ", "a": "\a", "r": "\r"}


def systemd_exec(value: str) -> list[str]:
    """An ExecStart= value as systemd reads it: specifiers (`%%` is `%`, any other `%x` is expanded,
    which a job must not need), then words split with quotes and C escapes, then `$$` is `$` and
    `$NAME`/`${NAME}` a variable (which a job must not hold)."""
    assert not re.search(r"%[^%]", value.replace("%%", "")), f"a specifier: {value!r}"
    value = value.replace("%%", "%")
    words, i = [], 0
    while i < len(value):
        if value[i] == " ":
            i += 1
            continue
        quote = value[i] if value[i] in "\"'" else None
        i += 1 if quote else 0
        word = []
        while i < len(value) and (value[i] != quote if quote else value[i] != " "):
            if value[i] == "\\":
                word.append(_C_ESCAPES[value[i + 1]])
                i += 2
            else:
                word.append(value[i])
                i += 1
        assert not quote or i < len(value), f"unbalanced quoting: {value!r}"
        i += 1
        words.append("".join(word))
    for word in words:
        rest = word.replace("$$", "")
        assert not re.search(r"\$[{A-Za-z_]", rest), f"a variable: {word!r}"
    return [word.replace("$$", "$") for word in words]


def test_systemd_with_hostile_paths_and_dsn_runs_exactly_the_meant_commands(tmp_path: Path) -> None:
    folder, checks = hostile(tmp_path, posix=True)
    done = schedule("systemd", folder, checks)
    assert done.returncode == 0, done.stderr
    service = done.stdout.split("# liftbackup-weekly.service\n", 1)[1].split("# liftbackup-weekly.timer")[0]
    lines = [text[len("ExecStart=") :] for text in service.splitlines() if text.startswith("ExecStart=")]
    assert [systemd_exec(text) for text in lines] == meant(folder, checks, log=False)
    if shutil.which("systemd-analyze"):  # systemd's own reader: no quoting or escape complaint
        unit = tmp_path / "liftbackup-weekly.service"
        unit.write_text(service)
        checked = subprocess.run(
            ["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=60
        )
        assert not re.search(r"quoting|escape|specifier", checked.stderr, re.I), checked.stderr


# Windows ---------------------------------------------------------------------------------------------


def cmd_commands(line: str) -> list[str]:
    """What cmd.exe runs for `line`: carets outside quotes escape the next character, a quote toggles
    quoting, `&&` outside quotes separates commands; any other unquoted &, |, <, > or a % is a failure
    (it would pipe, redirect, chain or expand)."""
    commands, current, quoted, i = [], [], False, 0
    while i < len(line):
        ch = line[i]
        assert ch != "%", f"cmd.exe expands %: {line!r}"
        if ch == "^" and not quoted:
            current.append(line[i + 1])
            i += 2
            continue
        if ch == '"':
            quoted = not quoted
        elif not quoted and line.startswith("&&", i):
            commands.append("".join(current).strip())
            current, i = [], i + 2
            continue
        elif not quoted:
            assert ch not in "&|<>", f"unquoted {ch} in {line!r}"
        current.append(ch)
        i += 1
    commands.append("".join(current).strip())
    return commands


def c_runtime_argv(line: str) -> list[str]:
    """A command line split as the Microsoft C runtime (CommandLineToArgvW) does: 2n backslashes and a
    quote are n backslashes and a toggle, 2n+1 are n and a literal quote; others are literal."""
    argv: list[str] = []
    word: list[str] | None = None
    quoted, i = False, 0
    while i < len(line):
        ch = line[i]
        if ch in " \t" and not quoted:
            if word is not None:
                argv.append("".join(word))
                word = None
            i += 1
            continue
        word = word if word is not None else []
        if ch == "\\":
            run = len(line) - i - len(line[i:].lstrip("\\"))
            if line[i + run : i + run + 1] == '"':
                word.append("\\" * (run // 2))
                if run % 2:
                    word.append('"')
                    i += run + 1
                else:
                    i += run
                continue
            word.append("\\" * run)
            i += run
            continue
        if ch == '"':
            quoted = not quoted
        else:
            word.append(ch)
        i += 1
    if word is not None:
        argv.append("".join(word))
    return argv


def test_windows_with_hostile_paths_gives_schtasks_and_the_task_exactly_the_meant_commands(
    tmp_path: Path,
) -> None:
    folder, checks = hostile(tmp_path, posix=False)
    done = schedule("windows", folder, checks, WINDOWS_DSN)
    assert done.returncode == 0, done.stderr
    (line,) = [text for text in done.stdout.splitlines() if not text.startswith("#")]
    (pasted,) = cmd_commands(line)  # typed into a command prompt: one command, schtasks
    argv = c_runtime_argv(pasted)
    assert argv[:3] == ["schtasks", "/Create", "/F"] and argv[-2] == "/TR"
    action = argv[-1]
    assert action.startswith('cmd /c "') and action.endswith('"')
    # cmd /c with more than two quotes drops the first and the last, then runs the rest
    parts = cmd_commands(action[len('cmd /c "') : -1])
    assert [c_runtime_argv(part) for part in parts] == meant(folder, checks, log=False, dsn=WINDOWS_DSN)


@pytest.mark.parametrize("char", ["&", "|", "^", "%", '"', "<", "!"])
def test_windows_refuses_what_cmd_reads_inside_quotes_or_that_ends_them(tmp_path: Path, char: str) -> None:
    done = schedule("windows", tmp_path / f"R{char}D backups", tmp_path, WINDOWS_DSN)
    assert done.returncode == 2
    assert f"--dir: holds {char}, which cmd.exe reads specially in a scheduled task's command" in done.stderr
    assert done.stdout == ""


# every platform --------------------------------------------------------------------------------------


@pytest.mark.parametrize("platform", ["cron", "systemd", "windows"])
@pytest.mark.parametrize(
    ("setting", "char", "shown"),
    [("--dir", "\n", "\\n"), ("--checks", "\r", "\\r"), ("--dsn", "\n", "\\n"), ("--dsn", "\x1b", "\\x1b")],
)
def test_a_control_character_is_refused_naming_the_setting(
    tmp_path: Path, platform: str, setting: str, char: str, shown: str
) -> None:
    second = f"{char}0 * * * * touch {tmp_path}/pwned"
    folder = tmp_path / ("b" + (second if setting == "--dir" else ""))
    checks = tmp_path / ("c" + (second if setting == "--checks" else ""))
    dsn = (
        "host=db user=ops dbname=lift_simulator application_name='job"
        + (second if setting == "--dsn" else "")
        + "'"
    )
    done = schedule(platform, folder, checks, dsn)
    assert done.returncode == 2, done.stdout
    assert f"{setting}: holds a control character ({shown}), which would end the scheduler's line" in (
        done.stderr
    )
    assert done.stdout == ""
