"""Deadlines a dump cannot trap: a session of ours on a restored database ended from outside.

`statement_timeout` only cancels a query, and a dump's PL/pgSQL can catch that
(`EXCEPTION WHEN query_canceled THEN` loop again) inside a view, a default or an index expression that
our query reaches. A terminated backend cannot be caught. So every query we run on a restored
database (checks, row counts, digests) runs under a `Watchdog`, which at the deadline ends the
session's backend from an administrator's connection (one the dump's roles cannot signal), as the
restore guard (restore/limits) does for the restore. Every lock wait of those sessions is bounded too
(`databases.LOCK_TIMEOUT`): a lock held by something the dump left cannot stall us.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Mapping
from types import TracebackType
from typing import Any

import psycopg

from pytest_liftbackup.server.databases import elevated, end_sessions

_ADMINS: weakref.WeakKeyDictionary[psycopg.Connection[Any], dict[str, str]] = weakref.WeakKeyDictionary()


def entrust(conn: psycopg.Connection[Any], admin: Mapping[str, str]) -> psycopg.Connection[Any]:
    """Remember how to reach `conn`'s server as one who may end its session (and the dump's roles may
    not end): watchdogs of `conn` connect that way."""
    _ADMINS[conn] = dict(admin)
    return conn


class Watchdog:
    """Ends `conn`'s backend when it is still busy `seconds` from now; `fired` says whether it did.

    A connection whose backend was ended is closed on exit, so the next user opens a new one."""

    def __init__(self, conn: psycopg.Connection[Any], seconds: float) -> None:
        admin = _ADMINS.get(conn)
        if admin is None:
            raise AssertionError("a watched connection needs entrust(): no way to end its session")
        self._conn, self._admin, self._seconds = conn, admin, max(seconds, 0.0)
        self._pid = conn.info.backend_pid
        self._done = threading.Event()
        self.fired = False
        self._thread = threading.Thread(target=self._watch, name="liftbackup-watchdog", daemon=True)

    def __enter__(self) -> Watchdog:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._done.set()
        self._thread.join()
        if self.fired:
            self._conn.close()

    def _watch(self) -> None:
        if self._done.wait(self._seconds):
            return
        self.fired = True
        try:
            with elevated(self._admin, connect_timeout=10) as admin:
                end_sessions(admin, pid=self._pid)
        except psycopg.Error:
            return  # the server went away: the watched session with it
