"""COPY into a table the dump has only just created: in one transaction with a TRUNCATE, and FREEZE.

With `wal_level=minimal` (the throwaway server's), rows loaded into a table truncated in the same
transaction write no WAL, and `COPY ... FREEZE` stores them frozen and all-visible, so the index
builds and the checks that read them next set no hint bits: 3-5% less CPU on the 319 MB
lift_simulator dump, where the restore is CPU-bound. pg_restore -j loads tables the same way.

A TRUNCATE may only do what psql's plain COPY would not notice, so it is used only where the table
is an ordinary table with no rows yet (an earlier INSERT or COPY block keeps its rows), no trigger
(a TRUNCATE trigger would fire; an FK's triggers would refuse it), no rule and no row security.
Anything else, or any error before the rows are sent, and the COPY runs as psql runs it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import psycopg
from psycopg import errors, sql

from pytest_liftbackup.restore.tasks import copy_target

# pg_dump's own shape only, so that "WITH (FREEZE)" can be added: no options of its own.
_PLAIN_COPY = re.compile(rb"COPY\s+.+?\s+FROM\s+stdin\s*;?\s*\Z", re.IGNORECASE | re.DOTALL)
_FRESH = """
SELECT n.nspname, c.relname
FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.oid = pg_catalog.to_regclass(%s) AND c.relkind = 'r' AND NOT c.relrowsecurity
  AND NOT EXISTS (SELECT FROM pg_catalog.pg_trigger t WHERE t.tgrelid = c.oid)
  AND NOT EXISTS (SELECT FROM pg_catalog.pg_rewrite r WHERE r.ev_class = c.oid)
"""


class _NotFresh(Exception):
    """The table is not one a TRUNCATE leaves as psql would: load it the plain way."""


def freeze_statement(statement: bytes) -> bytes | None:
    """The COPY with FREEZE added, or None when it is not pg_dump's plain `COPY t (...) FROM stdin;`."""
    if not _PLAIN_COPY.match(statement):
        return None
    return statement.rstrip().rstrip(b";").rstrip() + b" WITH (FREEZE)"


def load_fresh(
    conn: psycopg.Connection[Any],
    statement: bytes,
    send_rows: Callable[[psycopg.Connection[Any], bytes], None],
) -> bool:
    """TRUNCATE and COPY FREEZE in one transaction; False (nothing done) when the table does not allow
    it. `send_rows(conn, copy_statement)` runs the COPY. Errors in the rows themselves are raised as
    the plain COPY would raise them (same statement, same line numbers)."""
    frozen = freeze_statement(statement)
    target = copy_target(statement)
    if frozen is None or target is None:
        return False
    sending = False
    try:
        with conn.transaction():
            row = conn.execute(_FRESH, (target,)).fetchone()
            if row is None:
                raise _NotFresh
            table = sql.SQL("{}.{}").format(sql.Identifier(row[0]), sql.Identifier(row[1]))
            has_rows = conn.execute(sql.SQL("SELECT EXISTS (SELECT FROM ONLY {})").format(table)).fetchone()
            if has_rows is None or has_rows[0]:
                raise _NotFresh
            conn.execute(sql.SQL("TRUNCATE ONLY {}").format(table))
            sending = True
            send_rows(conn, frozen)
    except _NotFresh:
        return False
    except errors.ObjectNotInPrerequisiteState:  # COPY FREEZE refused: load it the plain way
        return False
    except psycopg.Error:
        if sending:
            raise  # the rows: the plain COPY would fail on them just so
        return False  # the check or the TRUNCATE (a privilege, a lock): as psql would, without them
    return True
