"""The backup folder's files, read and written so that nothing planted in the folder can redirect us.

A backup folder is often written by one user (the backup job's) and read by another (root, a CI
runner). Whoever can write the folder could plant a symbolic link named like the newest backup (root
would then restore any file it can read), a FIFO (the run would hang), a hard link to someone else's
file, or a link named like our log (our next line would go into a shell start-up file). So an entry of
a folder counts as a backup only when `lstat` says it is a regular file with one link, owned by this
user or by the folder's owner; every file is opened with `O_NOFOLLOW` (a swap after the check cannot
redirect the open) and checked again on the open descriptor; files of ours are created with
`O_EXCL|O_NOFOLLOW`, mode 0600, under a random temporary name, fsynced and renamed into place.
"""

from __future__ import annotations

import os
import secrets
import stat
from collections.abc import Callable
from pathlib import Path
from typing import IO

from pytest_liftbackup._errors import DumpInputError
from pytest_liftbackup._safe_text import shown

NO_FOLLOW = getattr(os, "O_NOFOLLOW", 0)  # Windows has no symbolic-link following to refuse here
_BINARY = getattr(os, "O_BINARY", 0)
_NON_BLOCK = getattr(os, "O_NONBLOCK", 0)  # opening a planted FIFO fails or returns, never waits
_CHECKS_OWNER = os.name == "posix"  # Windows reports uid 0 for every file
PRIVATE = 0o600


def owners_of(folder: Path) -> frozenset[int]:
    """Who may own a backup in `folder`: this user, and the folder's owner (the backup job's user)."""
    try:
        return frozenset({os.geteuid(), os.stat(folder).st_uid}) if _CHECKS_OWNER else frozenset()
    except OSError:
        return frozenset({os.geteuid()})


def what_is_wrong(found: os.stat_result, owners: frozenset[int] | None) -> str | None:
    """Why a file with this status is not one of the folder's own regular files, or None if it is;
    with `owners` None, only that it is a regular file (a file the user named: its links are theirs)."""
    mode = found.st_mode
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if not stat.S_ISREG(mode):
        return "not a regular file"
    if owners is None:
        return None
    if found.st_nlink > 1:
        return f"a hard link ({found.st_nlink} names for one file)"
    if _CHECKS_OWNER and found.st_uid not in owners:
        return f"owned by uid {found.st_uid}, neither this user ({os.geteuid()}) nor the folder's owner"
    return None


def refusal(path: Path, why: str) -> str:
    """The one line that says why a file of the folder is not used."""
    return (
        f"{shown(str(path))}: {shown(why)}, not a regular file of its folder: it is not read; remove it, "
        "or name the backup you mean explicitly"
    )


def problem_of(path: Path, owners: frozenset[int]) -> str | None:
    """What is wrong with the folder entry `path` (by lstat: a link is never followed), or None."""
    try:
        return what_is_wrong(os.lstat(path), owners)
    except OSError as exc:
        return f"unreadable ({exc.strerror})"


def open_entry(path: Path, owners: frozenset[int] | None = None) -> IO[bytes]:
    """`path` opened for reading without following a final symbolic link, and checked on the open file
    (a swap between a check and this open cannot redirect it): a regular file (and, with `owners`, with
    one link and of one of them); DumpInputError otherwise."""
    return _open_checked(path, os.O_RDONLY, owners, refusal)


def create_private(path: Path) -> int:
    """A new file at `path`, mode 0600, that did not exist (no link followed, nothing overwritten)."""
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | NO_FOLLOW | _BINARY, PRIVATE)


def temporary_beside(path: Path) -> Path:
    """A hidden name beside `path` no one can guess: where a file is written before it is renamed."""
    return path.with_name(f".{path.name}.partial-{secrets.token_hex(8)}")


def write_atomically(path: Path, data: bytes) -> None:
    """`data` as the file `path`, which never exists half-written: written (0600) under a random
    temporary name, fsynced, renamed over `path` (a link at `path` is replaced, never followed)."""
    partial = temporary_beside(path)
    fd = create_private(partial)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    sync_folder(path.parent)


def sync_folder(folder: Path) -> None:
    """The folder's entries on disk (a rename survives a crash); nothing to do where folders cannot
    be opened (Windows)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def append_text(path: Path, text: str) -> None:
    """`text` added at the end of the log `path`, created 0600 if missing; a log that is a symbolic
    link, a FIFO, a hard link or someone else's file is refused (LiftbackupError), never written."""
    with open_log(path) as out:
        out.write(text.encode("utf-8"))


def open_log(path: Path) -> IO[bytes]:
    """The log file `path` opened to append (O_APPEND|O_CREAT|O_NOFOLLOW, 0600), checked on the open
    descriptor: a regular file with one link, of this user or of the folder's owner."""
    return _open_checked(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, owners_of(path.parent), _log_refusal)


def open_folder_entry(folder: int, path: Path, refuse: Callable[[Path, str], str]) -> IO[bytes]:
    """The entry `path.name` of the open folder `folder` (so no link on the way is followed either),
    opened and checked as `open_entry` opens a file; DumpInputError worded by `refuse` otherwise."""
    return _open_checked(path, os.O_RDONLY, None, refuse, folder)


def _open_checked(
    path: Path,
    flags: int,
    owners: frozenset[int] | None,
    refuse: Callable[[Path, str], str],
    folder: int | None = None,
) -> IO[bytes]:
    """`path` opened with `flags` (never following a final link, never blocking on a FIFO) and checked
    on the open descriptor by what_is_wrong; DumpInputError worded by `refuse` otherwise. With
    `folder` (an open folder's descriptor), its entry `path.name` is opened."""
    name = path if folder is None else path.name
    try:
        fd = os.open(name, flags | NO_FOLLOW | _NON_BLOCK | _BINARY, PRIVATE, dir_fd=folder)
    except OSError as exc:
        raise DumpInputError(refuse(path, _unopened(name, exc, folder))) from None
    try:
        if wrong := what_is_wrong(os.fstat(fd), owners):
            raise DumpInputError(refuse(path, wrong))
        if _NON_BLOCK:
            os.set_blocking(fd, True)
        return os.fdopen(fd, "ab" if flags & os.O_APPEND else "rb")
    except BaseException:
        os.close(fd)
        raise


def _unopened(path: Path | str, exc: OSError, folder: int | None = None) -> str:
    """Why `path` (in the open `folder`, if given) could not be opened: what it is (a link, a FIFO
    without a reader), else the error."""
    try:
        found = what_is_wrong(os.lstat(path, dir_fd=folder), None)
    except OSError:
        found = None
    return found or f"cannot be opened ({exc.strerror})"


def _log_refusal(path: Path, why: str) -> str:
    return f"{path}: {why}, not a log file of ours: nothing was written to it; remove it and run again"
