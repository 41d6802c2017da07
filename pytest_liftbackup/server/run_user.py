"""An OS user of the run's own, for its PostgreSQL servers when pytest runs as root.

A user shared with anything else (`nobody`) would let every process of that user (on the machine,
or started by another run's dump) enter the servers' folders and sockets. So a run as root creates a
system user `liftbackup-<random>` with useradd (no home, no login shell, its own group), and removes
it with userdel when it ends (at exit: also after a failure or Ctrl-C, and SIGTERM unwinds like
Ctrl-C). While it lives the run holds a lock on `/run/liftbackup-users/<name>.lock`, taken before the
user exists; a run killed outright (SIGKILL) leaves its user, and `reap()` in a later run removes
every user of ours (by name and comment) whose lock nobody holds, after killing what still runs as
it. A user kept on purpose (--liftbackup-keep) gets a `<name>.kept` mark instead and is left alone.

Linux only: without useradd (macOS, BusyBox) `create()` returns None and the caller falls back.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import stat
import subprocess
import threading
import time
from pathlib import Path

from pytest_liftbackup._errors import LiftbackupError

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]

PREFIX = "liftbackup-"
COMMENT = "pytest-liftbackup run user, removed when its run ends"
_SBIN = "/usr/sbin:/sbin:/usr/bin:/bin"


class RunUser:
    """The user this process created: `name`, and the lock that says the run still lives."""

    def __init__(self, name: str, fd: int) -> None:
        self.name = name
        self._fd: int | None = fd
        self._pid = os.getpid()  # a forked child inherits this object, not the user
        self._lock = threading.Lock()

    def keep(self) -> str:
        """The user outlives the run (a kept server runs as it): no later run may reap it. Returns
        the shell command that removes it once its servers are stopped."""
        claims_dir().joinpath(f"{self.name}.kept").touch(mode=0o600)
        self.release(remove=False)
        return f"{{ userdel {self.name} && rm -f {claims_dir() / self.name}.*; }} 2>/dev/null || true"

    def release(self, remove: bool = True) -> None:
        """Remove the user (once; what still runs as it is killed first) and let go of the lock."""
        with self._lock:
            if self._fd is None or os.getpid() != self._pid:
                return
            try:
                if remove:
                    _remove(self.name)
                    (claims_dir() / f"{self.name}.lock").unlink(missing_ok=True)
            finally:
                os.close(self._fd)
                self._fd = None


def claims_dir() -> Path:
    """Where runs hold their users' locks: a folder of root's in /run (cleared at boot, as are the
    runs that held them)."""
    base = Path("/run") if Path("/run").is_dir() else Path("/var/run")
    folder = base / "liftbackup-users"
    with contextlib.suppress(FileExistsError):
        folder.mkdir(mode=0o700)
    st = folder.lstat()
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != 0 or st.st_mode & 0o077:
        raise LiftbackupError(f"{folder} is not a folder of root's with mode 700; remove it and run again")
    return folder


def create() -> RunUser | None:
    """A new system user for this run, or None where there is no useradd. Raises LiftbackupError
    when useradd fails."""
    useradd = shutil.which("useradd", path=_SBIN)
    if useradd is None or fcntl is None:
        return None
    name = PREFIX + secrets.token_hex(6)  # 23 characters: names may have 32
    fd = os.open(claims_dir() / f"{name}.lock", os.O_CREAT | os.O_RDWR | os.O_CLOEXEC, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)  # held before the user exists: a reaper never sees it unclaimed
    nologin = shutil.which("nologin", path=_SBIN) or "/bin/false"
    command = [useradd, "--system", "--user-group", "--no-create-home", "--home-dir", "/nonexistent"]
    done = _run([*command, "--shell", nologin, "--comment", COMMENT, name])
    if done.returncode != 0:
        os.close(fd)
        (claims_dir() / f"{name}.lock").unlink(missing_ok=True)
        raise LiftbackupError(
            f"pytest runs as root and PostgreSQL refuses to; creating a user of the run's own for it "
            f"failed ({' '.join(done.stdout.split())[-300:]}). Set LIFTBACKUP_RUN_AS to an existing "
            "unprivileged user that nothing else runs as."
        )
    return RunUser(name, fd)


def reap(skip: str = "") -> list[str]:
    """Remove the users of runs that are gone (their lock free or lost); what was removed."""
    if fcntl is None or os.geteuid() != 0:
        return []
    import pwd

    folder = claims_dir()
    done = []
    for entry in pwd.getpwall():
        name = entry.pw_name
        if not name.startswith(PREFIX) or entry.pw_gecos != COMMENT or name == skip:
            continue
        if (folder / f"{name}.kept").exists():
            continue
        fd = os.open(folder / f"{name}.lock", os.O_CREAT | os.O_RDWR | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            continue  # a live run holds it
        try:
            if _remove(name):
                (folder / f"{name}.lock").unlink(missing_ok=True)
                done.append(f"OS user {name}")
        finally:
            os.close(fd)
    return done


def _remove(name: str) -> bool:
    """Kill every process of the user, then remove it (and its group); whether it is gone."""
    import grp
    import pwd

    try:
        uid = pwd.getpwnam(name).pw_uid
    except KeyError:
        return True
    _kill_all_of(uid)
    # --force: zombies (a killed server's, in a container whose init reaps none) would make it refuse
    _run([shutil.which("userdel", path=_SBIN) or "userdel", "--force", name])
    with contextlib.suppress(KeyError):
        grp.getgrnam(name)
        _run([shutil.which("groupdel", path=_SBIN) or "groupdel", name])
    try:
        pwd.getpwnam(name)
    except KeyError:
        return True
    return False


def _kill_all_of(uid: int) -> None:
    """SIGKILL every process running as `uid` (a user only this run's servers run as), and wait
    (up to 5 s) until none is left."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        pids = [pid for pid in _pids() if _uid_of(pid) == uid]
        if not pids:
            return
        for pid in pids:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.05)


def _pids() -> list[int]:
    with contextlib.suppress(OSError):
        return [int(p) for p in os.listdir("/proc") if p.isdigit()]
    return []


def _uid_of(pid: int) -> int | None:
    """The real uid of a live (not zombie) process, from /proc."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    if fields.get("State", "").strip().startswith("Z"):
        return None
    return int(fields["Uid"].split()[0]) if "Uid" in fields else None


def _run(command: list[str]) -> subprocess.CompletedProcess[str]:
    """useradd and friends wait (up to 15 s) for a lock on /etc/passwd another run may hold."""
    return subprocess.run(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=120, check=False
    )
