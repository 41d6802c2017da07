"""What a killed run leaves behind, found and removed by the next one, and never a live run's.

Every temporary folder a run makes (the throwaway server's, the restore's work folder, decrypted
copies) is *claimed*: the run holds an exclusive lock on a file in it for as long as it lives. The
operating system drops the lock when the process ends, however it ends (SIGKILL, OOM killer, a
cancelled CI job). So a folder whose lock another process can take belongs to no live run: its server
(found by `data/postmaster.pid`, checked to be that folder's postmaster) is stopped and the folder
removed. A folder without a lock file (being made, or kept on purpose with --liftbackup-keep) is left
alone. On Windows (no flock) nothing is claimed or reaped.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]

LOCK = ".liftbackup-owner.lock"
PREFIX = "liftbackup-"


class Claim:
    """This process's hold on a folder; `release()` (or the process ending) lets it go."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._fd: int | None = None
        if fcntl is None:
            return
        # Locked under another name, then renamed into place: a reaper never sees the lock file unlocked.
        pending = folder / f"{LOCK}.{os.getpid()}"
        fd = os.open(pending, os.O_CREAT | os.O_RDWR, 0o600)  # not inherited by child processes
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.write(fd, str(os.getpid()).encode())
        os.replace(pending, folder / LOCK)
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def disown(self) -> None:
        """The folder outlives this run on purpose (--liftbackup-keep): no later run may reap it."""
        (self.folder / LOCK).unlink(missing_ok=True)
        self.release()


def claimed_folder(kind: str = "", base: str | None = None) -> Claim:
    """A new private temporary folder (`liftbackup-<kind>...` in `base`, the temp folder by default),
    claimed by this process from the start: `claim.folder`."""
    return Claim(Path(tempfile.mkdtemp(prefix=PREFIX + kind, dir=base)))


def reap(*bases: str | Path | None) -> list[str]:
    """Remove what dead runs left in these folders (the temp folder by default); what was removed."""
    if fcntl is None:
        return []
    done: list[str] = []
    seen: set[Path] = set()
    for base in bases or (None,):
        root = Path(base or tempfile.gettempdir()).resolve()
        if root in seen or not root.is_dir():
            continue
        seen.add(root)
        for folder in sorted(root.glob(PREFIX + "*")):
            if (said := _reap_one(folder)) is not None:
                done.append(said)
    return done


def _reap_one(folder: Path) -> str | None:
    assert fcntl is not None
    try:
        fd = os.open(folder / LOCK, os.O_RDWR)
    except OSError:
        return None  # no claim: not ours to judge
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return None  # a live run holds it
        stopped = _stop_server(folder / "data")
        shutil.rmtree(folder, ignore_errors=True)
        if folder.exists():
            return None
        return f"{folder}" + (f" and its server (pid {stopped})" if stopped else "")
    finally:
        os.close(fd)


def _stop_server(data: Path) -> int | None:
    """Stop the postmaster of this data folder, if one runs; its pid."""
    try:
        pid = int((data / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    if not _runs_in(pid, data):
        return None  # gone, or the pid now belongs to another process
    for sig, wait in ((signal.SIGINT, 15.0), (signal.SIGKILL, 5.0)):  # fast shutdown, then for sure
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return pid
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if not alive(pid):
                return pid
            time.sleep(0.1)
    return pid


def alive(pid: int) -> bool:
    """Whether the process runs; a zombie (its parent, a dead run, gone) counts as stopped."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    state = _ps(pid, "stat=")
    return not state or "Z" not in state  # ps unavailable: assume it runs


def _runs_in(pid: int, data: Path) -> bool:
    """Whether `pid` is a postgres started on `data` (pids are reused)."""
    args = _ps(pid, "args=")
    return "postgres" in args and str(data) in args


def _ps(pid: int, column: str) -> str:
    try:
        return subprocess.run(
            ["ps", "-ww", "-o", column, "-p", str(pid)], capture_output=True, text=True
        ).stdout
    except OSError:
        return ""
