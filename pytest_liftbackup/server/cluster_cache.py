"""Data folders kept between runs: an initialized cluster (so a run need not initdb) and reusable restores.

initdb takes about 1.7 s here and its result is always the same for one PostgreSQL version and set of
options, so it runs once and later servers start from a copy (about 0.2 s). `reuse`
keeps the stopped cluster of a restore, keyed by the dump's sha256 and the PostgreSQL version, and
the next run starts it instead of restoring again. Entries are written under a temporary name and
renamed into place, so a run that dies half-way never leaves an entry that looks whole.

Entries are root's (or the user's) in a folder of mode 700; each fetched copy is handed to the
fetching run's server user, and gets that run's superuser password before it first listens
(server/throwaway), so no password of an earlier run opens it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

import platformdirs

from pytest_liftbackup._leftovers import alive
from pytest_liftbackup.server.unprivileged import OsUser

CACHE_ENV = "LIFTBACKUP_CACHE_DIR"
_OFF = ("", "0", "off", "none", "no")


def cache_root(configured: str | None) -> Path | None:
    """The cache folder: the option/environment value, else the platform's user cache; None when off."""
    if configured is not None:
        return None if configured.strip().lower() in _OFF else Path(configured).expanduser()
    return Path(platformdirs.user_cache_dir("pytest-liftbackup", appauthor=False))


# Changed whenever what an entry holds changes meaning (2: SCRAM logins, clusters of per-run users);
# worktrees of one plugin version share the cache, so the version alone does not tell.
FORMAT = 2


def key(*parts: object) -> str:
    return hashlib.sha256(repr((FORMAT, *parts)).encode()).hexdigest()[:20]


def _private_mkdir(path: Path) -> None:
    path.mkdir(parents=True, exist_ok=True)
    if sys.platform != "win32":
        path.chmod(0o700)


def _give_to(path: Path, user: OsUser | None) -> None:
    """Copied folders belong to us; the server user must own its data folder (and PostgreSQL wants 0700)."""
    if user is not None:
        _chown_all(path, user.uid, user.gid)


def _chown_all(path: Path, uid: int, gid: int) -> None:
    for folder, dirs, files in os.walk(path):
        os.chown(folder, uid, gid)
        for name in dirs + files:
            os.chown(os.path.join(folder, name), uid, gid, follow_symlinks=False)


def _alive(pid: str) -> bool:
    """Whether the process named in a half-written entry's name still runs (it may finish it)."""
    return pid.isdigit() and alive(int(pid))


class ClusterCache:
    def __init__(self, root: Path) -> None:
        self.root = root

    def _entry(self, kind: str, name: str) -> Path:
        return self.root / kind / name

    def fetch(self, kind: str, name: str, target: Path, user: OsUser | None, *, take: bool = False) -> bool:
        """Put the cached data folder at `target` (copied, or moved out when `take`); False on a miss."""
        entry = self._entry(kind, name)
        try:
            if not (entry / "PG_VERSION").is_file():
                return False
        except OSError:  # another user's cache (a LIFTBACKUP_CACHE_DIR shared with root): a miss
            return False
        try:
            if take:
                claimed = entry.with_name(f"{entry.name}.taken-{os.getpid()}")
                entry.rename(claimed)  # atomic: a second run at the same time misses instead of sharing
                shutil.move(str(claimed), str(target))
            else:
                shutil.copytree(entry, target, symlinks=True)
        except OSError:
            shutil.rmtree(target, ignore_errors=True)
            return False
        _give_to(target, user)
        if sys.platform != "win32":
            target.chmod(0o700)
        return True

    def meta(self, kind: str, name: str) -> dict[str, Any] | None:
        """What was stored with the entry (`store(..., meta=)`), or None."""
        try:
            found = json.loads(self._entry(kind, name).with_suffix(".json").read_text())
        except (OSError, ValueError):
            return None
        return found if isinstance(found, dict) else None

    def store(
        self, kind: str, name: str, source: Path, *, move: bool = False, meta: dict[str, Any] | None = None
    ) -> None:
        """Keep a stopped cluster's data folder under `name` (replacing any older entry)."""
        entry = self._entry(kind, name)
        partial = entry.with_name(f"{entry.name}.partial-{os.getpid()}")
        try:
            _private_mkdir(entry.parent)
            shutil.rmtree(partial, ignore_errors=True)
            if move:
                shutil.move(str(source), str(partial))
                if sys.platform != "win32" and os.geteuid() == 0:
                    # the run's user is removed at its end: a later user given its uid owns nothing here
                    _chown_all(partial, 0, 0)
            else:
                shutil.copytree(source, partial, symlinks=True, ignore=shutil.ignore_patterns("postmaster.*"))
            shutil.rmtree(entry, ignore_errors=True)
            partial.rename(entry)
            if meta is not None:
                entry.with_suffix(".json").write_text(json.dumps(meta, default=str))
        except OSError:
            shutil.rmtree(partial, ignore_errors=True)  # a cache that cannot be written only costs time

    def prune(self, kind: str, keep: int) -> None:
        """Remove all but the `keep` newest entries (and what an interrupted run left half-written)."""
        folder = self.root / kind
        with contextlib.suppress(OSError):
            for stale in [*folder.glob("*.partial-*"), *folder.glob("*.taken-*")]:
                if not _alive(stale.name.rsplit("-", 1)[-1]):
                    shutil.rmtree(stale, ignore_errors=True)
        for old in sorted(self.entries(kind), key=lambda p: p.stat().st_mtime, reverse=True)[keep:]:
            self.discard(kind, old.name)

    def discard(self, kind: str, name: str) -> None:
        entry = self._entry(kind, name)
        shutil.rmtree(entry, ignore_errors=True)
        entry.with_suffix(".json").unlink(missing_ok=True)

    def entries(self, kind: str) -> list[Path]:
        folder = self.root / kind
        with contextlib.suppress(OSError):
            return sorted(p for p in folder.iterdir() if (p / "PG_VERSION").is_file())
        return []
