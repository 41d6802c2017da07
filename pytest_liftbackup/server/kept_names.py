"""The names of the databases we create beside the main one, and the record each kept copy carries.

Names: `<db>_liftbackup_staging_<YYYYMMDD_HHMMSS>`, `<db>_pre_restore_<time>`, `<db>_rolled_back_<time>`
when that fits the 63 bytes PostgreSQL keeps of a name (bytes: a name can be non-ASCII), else
`<db cut at a character boundary>_<8 hex of sha256(db)><marker><time>`: the time is always whole, and two
databases sharing a long prefix never share a name (their hashes differ). PostgreSQL would silently cut
a longer name, so a name we print is the name it created.

Records: each kept copy says what it is in its `COMMENT ON DATABASE`, as `liftbackup record: {json}`
(kind, the main database's name, the OID of the database that took the main name, its own OID, the
time, the backup, full or selective, and the selective restores done since). A comment rather than a
registry (a table in `postgres`, a file): it is written in the swap's own transaction (COMMENT ON
DATABASE is transactional, so no swap without its record and no record without its swap), it follows
the database through renames and goes when the database is dropped (no stale entry pointing at
another database that later took the name), and it needs no table, schema or right the DSN's role may
lack on `postgres`. Its cost: the copy's own comment is replaced, so the record keeps it and it is put
back when the copy becomes the main database again; and whoever owns a database may write a comment,
so a record counts only on a database owned by the main database's owner whose OID is the one the
record names (a comment copied to another database does not count).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timezone
from typing import Any

import psycopg

MAX_BYTES = 63  # NAMEDATALEN - 1: what PostgreSQL keeps of a name
STAGING = "_liftbackup_staging_"
PRE_RESTORE = "_pre_restore_"
ROLLED_BACK = "_rolled_back_"
RECORD = "liftbackup record: "
KINDS = {PRE_RESTORE: "pre_restore", ROLLED_BACK: "rolled_back"}


def stamp(now: datetime | None = None) -> str:
    return f"{now or datetime.now():%Y%m%d_%H%M%S}"


def fitted(database: str, marker: str, when: str) -> str:
    """`<database><marker><when>`, or, when that is over 63 bytes, the database's name cut (at a
    character boundary) to leave room for `_<8 hex of its sha256>` before the marker and the time."""
    full = f"{database}{marker}{when}"
    if len(full.encode()) <= MAX_BYTES:
        return full
    tail = f"_{hashlib.sha256(database.encode()).hexdigest()[:8]}{marker}{when}"
    room = MAX_BYTES - len(tail.encode())
    return database.encode()[:room].decode("utf-8", "ignore") + tail


def exists(conn: psycopg.Connection[Any], name: str) -> bool:
    row = conn.execute(
        "SELECT pg_catalog.count(*) FROM pg_catalog.pg_database WHERE datname OPERATOR(pg_catalog.=) %s",
        (name,),
    ).fetchone()
    return bool(row and row[0])


def free_name(
    conn: psycopg.Connection[Any], database: str, marker: str, now: datetime | None = None, tries: int = 3
) -> tuple[str, bool]:
    """A name for a new database of this kind that no database has yet: (name, True); when every try
    is taken (a time given, or `tries` seconds in a row), (the last one, False). Taken means another
    run made one this second: the next second gives another name."""
    for attempt in range(tries):
        name = fitted(database, marker, stamp(now))
        if not exists(conn, name):
            return name, True
        if now is not None or attempt == tries - 1:
            break
        time.sleep(1.0 - time.time() % 1.0 + 0.01)
    return name, False


@dataclass(frozen=True)
class Selective:
    """A selective restore done on the main database while this copy was the latest one kept."""

    time: str
    backup: str
    safety_backup: str
    tables: list[str]


@dataclass(frozen=True)
class Record:
    """What a kept copy is: written in its comment at the swap that made it a copy."""

    kind: str  # pre_restore (the main database a restore replaced) or rolled_back (one a rollback did)
    database: str  # the main database's name
    replaced_by: int  # the OID of the database that took the main name at that swap
    oid: int  # its own OID
    time: str  # ISO 8601, UTC
    backup: str  # the backup restored (a rollback: the copy swapped back in)
    restore: str  # full or rollback
    comment: str | None = None  # its own comment, put back when it is the main database again
    selective: list[Selective] = field(default_factory=list)

    def text(self) -> str:
        return RECORD + json.dumps(asdict(self), ensure_ascii=False, sort_keys=True)

    def with_selective(self, done: Selective) -> Record:
        return replace(self, selective=[*self.selective, done])

    @property
    def when(self) -> datetime:
        found = datetime.fromisoformat(self.time)
        return found if found.tzinfo else found.replace(tzinfo=timezone.utc)


def now_utc() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def parsed(comment: str | None) -> Record | None:
    """The record a comment holds, or None (no record, or not one we wrote)."""
    if not comment or not comment.startswith(RECORD):
        return None
    try:
        data = json.loads(comment[len(RECORD) :])
        data["selective"] = [Selective(**s) for s in data.get("selective") or []]
        record = Record(**data)
        record.when  # noqa: B018  (a time that does not parse: not our record)
    except (ValueError, TypeError):
        return None
    if not (isinstance(record.oid, int) and isinstance(record.replaced_by, int)):
        return None
    return record


@dataclass(frozen=True)
class Kept:
    """A kept copy of the main database, as the server has it now."""

    name: str
    oid: int
    record: Record


def kept_copies(conn: psycopg.Connection[Any], database: str) -> tuple[int, list[Kept]]:
    """(the main database's OID, the copies recorded for it: newest first). A record counts only on a
    database of the main database's owner whose OID is the record's own."""
    main = conn.execute(
        "SELECT oid, datdba FROM pg_catalog.pg_database WHERE datname OPERATOR(pg_catalog.=) %s",
        (database,),
    ).fetchone()
    assert main is not None
    rows = conn.execute(
        "SELECT datname, oid::pg_catalog.int8, pg_catalog.shobj_description(oid, 'pg_database') "
        "FROM pg_catalog.pg_database WHERE datdba OPERATOR(pg_catalog.=) %s::pg_catalog.oid "
        "AND oid OPERATOR(pg_catalog.<>) %s::pg_catalog.oid",
        (main[1], main[0]),
    ).fetchall()
    found = [Kept(str(n), int(o), r) for n, o, c in rows if (r := parsed(c)) is not None]
    mine = [k for k in found if k.record.database == database and k.record.oid == k.oid]
    return int(main[0]), sorted(mine, key=lambda k: (k.record.when, k.oid), reverse=True)


def latest_for(main_oid: int, copies: Iterable[Kept]) -> Kept | None:
    """The copy the current main database replaced most recently (its last swap's record)."""
    return next((k for k in copies if k.record.replaced_by == main_oid), None)


def age(since: datetime, now: datetime | None = None) -> str:
    """`3 s`, `5 min`, `2 h 5 min`, `3 days`: how long ago, for a prompt."""
    seconds = max(0, int(((now or datetime.now(timezone.utc)) - since).total_seconds()))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min"
    if seconds < 86400:
        return f"{seconds // 3600} h {seconds % 3600 // 60} min"
    return f"{seconds // 86400} days"
