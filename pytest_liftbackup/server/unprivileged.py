"""Run PostgreSQL's server tools as an unprivileged OS user when pytest runs as root.

initdb, pg_ctl and postgres refuse to run as root. When we are root we run them as a user of the
run's own (`server/run_user`: created by the run, removed at its end, a killed run's by the next),
so no other process on the machine shares the servers' uid; `LIFTBACKUP_RUN_AS` names an existing
user instead, used as is. Where no user can be created (no useradd: macOS, BusyBox) the fallback
is `nobody`, and the server's description says so: then every `nobody` process may enter its folders.
That user gets a data folder of its own inside our temporary folder, and, when the binaries sit
somewhere it cannot reach (a venv under /root), hard links of them next to it.
"""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pytest_liftbackup._errors import LiftbackupError
from pytest_liftbackup.server import run_user
from pytest_liftbackup.server.binaries import PgBinaries

RUN_AS_ENV = "LIFTBACKUP_RUN_AS"
FALLBACK = "nobody"


@dataclass(frozen=True)
class OsUser:
    name: str
    uid: int
    gid: int
    note: str = ""  # why the server shares its user with others, for the description

    def popen_kwargs(self) -> dict[str, Any]:
        return {"user": self.uid, "group": self.gid, "extra_groups": []}


_made: tuple[run_user.RunUser, OsUser] | None = None  # this process's own user, once made
_making = threading.Lock()  # servers start in threads (restore/engine)


def server_user() -> OsUser | None:
    """The user to run server tools as: None to run them as ourselves (we are not root)."""
    if sys.platform == "win32" or os.geteuid() != 0:
        return None
    named = os.environ.get(RUN_AS_ENV)
    if named:
        return _existing(named)
    global _made
    with _making:
        if _made is None:
            made = run_user.create()
            if made is None:
                note = "no useradd here to make a user of the run's own"
                return _existing(FALLBACK, note)
            atexit.register(made.release)
            _made = made, _existing(made.name)
        return _made[1]


def own_run_user() -> run_user.RunUser | None:
    """The user this process created for its servers, if it did."""
    return _made[0] if _made is not None else None


def _existing(name: str, note: str = "") -> OsUser:
    import pwd

    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        raise LiftbackupError(
            f"pytest runs as root and PostgreSQL refuses to; the user {name!r} to run it as does not exist. "
            f"Set {RUN_AS_ENV} to an existing unprivileged user."
        ) from None
    if entry.pw_uid == 0:
        raise LiftbackupError(f"{RUN_AS_ENV}={name} is root; name an unprivileged user")
    return OsUser(name, entry.pw_uid, entry.pw_gid, note)


def reap_users() -> list[str]:
    """Remove the users that killed runs had made (never this process's own)."""
    mine = own_run_user()
    return run_user.reap(skip=mine.name if mine else "")


def make_private_dir(path: Path, user: OsUser | None) -> Path:
    """A folder only the server user can enter (PostgreSQL insists on 0700 for its data folder)."""
    path.mkdir(mode=0o700)
    if user is not None:
        os.chown(path, user.uid, user.gid)
    return path


def reachable_binaries(binaries: PgBinaries, user: OsUser | None, workdir: Path) -> PgBinaries:
    """Binaries the server user can run: the same ones, or hard links (else copies) under `workdir`."""
    if user is None or _runs_as(binaries, user, workdir):
        return binaries
    install = binaries.bindir.parent
    staged = workdir / "pgsql"
    for part in ("bin", "lib", "share"):
        if (install / part).is_dir():
            try:
                shutil.copytree(install / part, staged / part, copy_function=os.link, symlinks=True)
            except OSError:
                shutil.rmtree(staged / part, ignore_errors=True)
                shutil.copytree(install / part, staged / part, symlinks=True)
    staged_binaries = PgBinaries(
        staged / "bin", binaries.version, binaries.source + ", linked for " + user.name
    )
    if not _runs_as(staged_binaries, user, workdir):
        raise LiftbackupError(
            f"PostgreSQL from {binaries.bindir} cannot be run as {user.name}, even from a copy in {staged}"
        )
    return staged_binaries


def _runs_as(binaries: PgBinaries, user: OsUser, cwd: Path) -> bool:
    try:
        done = subprocess.run(
            [str(binaries.tool("postgres")), "--version"],
            capture_output=True,
            cwd=cwd,
            timeout=30,
            **user.popen_kwargs(),
        )
    except OSError:
        return False
    return done.returncode == 0


def _enterable(path: Path, user: OsUser) -> bool:
    """Can `user` pass through every folder down to `path`? (mode bits; enough for ordinary set-ups)"""
    for folder in [path, *path.parents]:
        st = folder.stat()
        bit = 0o100 if st.st_uid == user.uid else 0o010 if st.st_gid == user.gid else 0o001
        if not st.st_mode & bit:
            return False
    return True


def temp_base(user: OsUser | None) -> str | None:
    """Where to make the server's temporary folder: the usual temp folder, unless the server user
    cannot reach it (a private TMPDIR as root), then the shared /tmp or /var/tmp."""
    import tempfile

    if user is None:
        return None
    for base in (tempfile.gettempdir(), "/tmp", "/var/tmp"):
        if Path(base).is_dir() and _enterable(Path(base), user):
            return base
    raise LiftbackupError(
        f"no temporary folder that {user.name} (who runs PostgreSQL, since pytest runs as root) can enter; "
        "set TMPDIR to a folder with mode 755 or 1777"
    )
