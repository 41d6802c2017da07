"""`liftbackup schedule`: the weekly backup-and-verify job (ADR-0012: Tuesdays 08:00) for this platform.

Printed by default, so it can be read and pasted; `--install` puts it in place: a systemd user timer, a
crontab line, or a Windows scheduled task. The job's connection holds no password: the job finds it
where libpq looks (PGPASSFILE/~/.pgpass, a service file), as a scheduled job should.

Each platform reads the job's text its own way, and a path or DSN is the user's text: every word is
quoted for the reader that will split it (sh after cron's `%` rule, systemd.syntax, cmd.exe and the
Microsoft C runtime), and what no quoting can carry is refused, naming the setting: a control
character anywhere (a newline would start a second crontab line), a backslash before `%` in a crontab
line, and on Windows the characters cmd.exe reads inside quotes or that end them (`"%!^&|<>`). The cron
job writes its own log (`liftbackup --log`), never through a shell's `>>` that follows a planted link.
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import psycopg

from pytest_liftbackup.cli._console import Console, Exit
from pytest_liftbackup.cli._options import BadInput, add_dsn, add_json

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
NAME = "liftbackup-weekly"
JOB_LOG = "liftbackup-job.log"
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_CMD_SPECIAL = re.compile(r'["%!^&|<>]')  # cmd.exe: special inside quotes (%, !), or ends them
_CMD_ESCAPE = re.compile(r'([\^&|<>()"%!])')


def add_parser(commands: Any) -> None:
    parser: argparse.ArgumentParser = commands.add_parser(
        "schedule",
        help="print (or --install) the weekly backup-and-verify job for this platform",
        description="The weekly job: `liftbackup backup`, then `liftbackup verify` of the folder (its newest "
        "backup), by default on Tuesdays at 08:00 as ADR-0012 decided. Printed for this platform "
        "(a systemd timer on Linux with systemd, a Windows scheduled task, a crontab line elsewhere), "
        "or put in place with --install. The DSN must not hold a password: the job reads it from "
        "~/.pgpass or a service file.",
    )
    add_dsn(parser, "the database the job backs up")
    parser.add_argument("--dir", type=Path, required=True, help="the backup folder")
    parser.add_argument("--checks", type=Path, help="check files the job verifies with")
    parser.add_argument("--day", choices=DAYS, default="tue", help="day of the week (default tue)")
    parser.add_argument("--time", default="08:00", help="HH:MM, local time (default 08:00)")
    parser.add_argument("--platform", choices=("systemd", "cron", "windows"), help="default: this machine's")
    parser.add_argument("--install", action="store_true", help="install the job instead of printing it")
    add_json(parser)
    parser.set_defaults(run=run)


def this_platform() -> str:
    if sys.platform == "win32":
        return "windows"
    return "systemd" if Path("/run/systemd/system").is_dir() else "cron"


def job_command(args: argparse.Namespace, platform: str, log: Path | None = None) -> list[list[str]]:
    """The two commands the job runs, with absolute paths (a scheduler has no shell profile), each
    appending its output to `log` if given; BadInput if the platform's line cannot carry them."""
    if not args.dsn:
        raise BadInput("--dsn: the job needs to know which database to back up")
    try:
        if psycopg.conninfo.conninfo_to_dict(args.dsn).get("password"):
            raise BadInput(
                "--dsn: holds a password, which a scheduled job would keep in plain text; put it in "
                "~/.pgpass (or a service file) and leave it out of the DSN"
            )
    except psycopg.ProgrammingError:
        raise BadInput(
            "--dsn: not a valid connection string; expected postgresql://user@host:port/db"
        ) from None
    folder = str(args.dir.resolve())
    checks = str(args.checks.resolve()) if args.checks else ""
    writable(
        platform,
        {
            "--dsn": args.dsn,
            "--dir": folder,
            "--checks": checks,
            "the Python interpreter's path": sys.executable,
        },
    )
    me = [sys.executable, "-m", "pytest_liftbackup"] + (["--log", str(log)] if log else [])
    verify = [*me, "verify", folder] + (["--checks", checks] if checks else [])
    return [[*me, "backup", "--dsn", args.dsn, "--dir", folder], verify]


def writable(platform: str, named: dict[str, str]) -> None:
    """BadInput naming the first setting whose text the platform's job line cannot carry."""
    for setting, text in named.items():
        if found := _CONTROL.search(text):
            raise BadInput(
                f"{setting}: holds a control character ({found[0].encode('unicode_escape').decode()}), "
                "which would end the scheduler's line and start another; choose one without"
            )
        if platform == "cron" and "\\%" in text:
            raise BadInput(
                f"{setting}: holds a backslash before %, which no crontab line can carry (cron reads "
                "\\% as %, and % alone as a new line); choose one without"
            )
        if platform == "windows" and (found := _CMD_SPECIAL.search(text)):
            raise BadInput(
                f"{setting}: holds {found[0]}, which cmd.exe reads specially in a scheduled task's "
                "command even inside quotes; choose one without"
                + (" (a service file can name the database: service=NAME)" if setting == "--dsn" else "")
            )


def _time(text: str) -> tuple[int, int]:
    match = re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)", text)
    if match is None:
        raise BadInput(f"--time: {text!r} is not HH:MM")
    return int(match[1]), int(match[2])


def render(platform: str, commands: list[list[str]], day: str, hour: int, minute: int) -> dict[str, str]:
    """{file name or "command": its text} for the platform, every word quoted for its reader."""
    if platform == "windows":
        line = " && ".join(subprocess.list2cmdline(c) for c in commands)
        task = [
            "schtasks",
            "/Create",
            "/F",
            "/SC",
            "WEEKLY",
            "/D",
            day.upper(),
            "/ST",
            f"{hour:02d}:{minute:02d}",
        ]
        # schtasks parses its arguments as the C runtime does (list2cmdline); a caret before each
        # character cmd.exe reads specially makes the pasted line reach schtasks exactly so.
        task_line = subprocess.list2cmdline([*task, "/TN", NAME, "/TR", f'cmd /c "{line}"'])
        return {"command": _CMD_ESCAPE.sub(r"^\1", task_line)}
    if platform == "cron":
        weekday = (DAYS.index(day) + 1) % 7
        entry = " && ".join(shlex.join(c) for c in commands).replace("%", "\\%")  # cron: % is a newline
        return {"crontab": f"{minute} {hour} * * {weekday} {entry}  # {NAME}"}
    # One ExecStart= per command (a oneshot service runs them in turn, stopping at a failure): no shell.
    service = (
        "[Unit]\nDescription=liftbackup: weekly backup of the database, then its verification\n\n"
        "[Service]\nType=oneshot\n" + "".join(f"ExecStart={_unit_words(c)}\n" for c in commands)
    )
    timer = (
        "[Unit]\nDescription=liftbackup: weekly backup and verification\n\n"
        f"[Timer]\nOnCalendar={day.capitalize()} *-*-* {hour:02d}:{minute:02d}:00\nPersistent=true\n\n"
        "[Install]\nWantedBy=timers.target\n"
    )
    return {f"{NAME}.service": service, f"{NAME}.timer": timer}


def _unit_words(command: list[str]) -> str:
    """A command line as systemd.syntax reads it: each word in double quotes with C escapes, and `%`
    (a specifier) and `$` (a variable) doubled."""
    return " ".join(
        '"' + w.replace("\\", "\\\\").replace('"', '\\"').replace("%", "%%").replace("$", "$$") + '"'
        for w in command
    )


def run(args: argparse.Namespace, console: Console) -> int:
    platform = args.platform or this_platform()
    hour, minute = _time(args.time)
    log = args.dir.resolve() / JOB_LOG if platform == "cron" else None  # systemd has the journal
    job = render(platform, job_command(args, platform, log), args.day, hour, minute)
    if not args.install:
        for name, text in job.items():
            console.say(f"# {name}" if name != "command" else "# run this in a Windows command prompt:")
            console.say(text.rstrip("\n"))
        console.result({"platform": platform, "job": job, "installed": False})
        return Exit.OK
    return _install(platform, job, console)


def _install(platform: str, job: dict[str, str], console: Console) -> int:
    if platform == "windows":
        done = subprocess.run(job["command"], shell=True, capture_output=True, text=True)
        return _told(console, done, f"scheduled task {NAME}", platform, job)
    if platform == "cron":
        current = subprocess.run(["crontab", "-l"], capture_output=True, text=True)
        lines = [line for line in current.stdout.splitlines() if not line.endswith(f"# {NAME}")]
        done = subprocess.run(
            ["crontab", "-"], input="\n".join([*lines, job["crontab"]]) + "\n", capture_output=True, text=True
        )
        return _told(console, done, "crontab line", platform, job)
    config = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    units = config / "systemd" / "user"
    units.mkdir(parents=True, exist_ok=True)
    for name, text in job.items():
        (units / name).write_text(text, encoding="utf-8")
    console.say(f"wrote {units / f'{NAME}.service'} and {units / f'{NAME}.timer'}")
    reload = subprocess.run(["systemctl", "--user", "daemon-reload"], capture_output=True, text=True)
    if reload.returncode == 0:
        enable = subprocess.run(
            ["systemctl", "--user", "enable", "--now", f"{NAME}.timer"], capture_output=True, text=True
        )
        return _told(console, enable, f"systemd timer {NAME}.timer", platform, job)
    return _told(console, reload, f"systemd timer {NAME}.timer", platform, job)


def _told(
    console: Console, done: subprocess.CompletedProcess[str], what: str, platform: str, job: dict[str, str]
) -> int:
    if done.returncode != 0:
        why = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no message"]
        console.problem(f"the {what} was not installed: {why[0]}")
        if platform == "systemd":
            console.problem(
                f"the unit files are in place; enable them with: systemctl --user enable --now {NAME}.timer"
            )
        return Exit.ERROR
    console.say(f"installed the {what}")
    console.result({"platform": platform, "job": job, "installed": True})
    return Exit.OK
