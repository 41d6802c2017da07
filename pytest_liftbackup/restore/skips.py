"""Statements of good dumps that are skipped rather than run, and why: one rule for every format.

- the source database's own CREATE/ALTER DATABASE, comment and grants (`pg_dump -C`): the throwaway
  database stands in for it (its encoding and locale are followed, see `server/database_shape`), as
  `pg_restore` without `--create` skips them;
- `CREATE SCHEMA public` from pg_dump 10 and older: the schema exists in every database, and the
  error psql and pg_restore print for it is the one every user ignores;
- ownership and privileges on an existing server (a DSN), as `pg_restore -O -x`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from pytest_liftbackup.dump.sql_script import Statement
from pytest_liftbackup.restore.roles import sets_ownership_or_privileges
from pytest_liftbackup.server.database_shape import DATABASE_ENTRIES

SOURCE_DATABASE = (
    "the source database's CREATE/ALTER DATABASE, comment and grants (the throwaway database stands in)"
)
CREATE_PUBLIC = (
    "CREATE SCHEMA public from pg_dump 10 or older (the schema exists already, as in psql's restore)"
)
NOT_OWNED = "ownership and privileges (not restored on an existing server)"
_CREATE_PUBLIC = re.compile(rb"^CREATE SCHEMA public;$")
_ABOUT_AN_OBJECT = frozenset({"COMMENT", "ACL", "SECURITY LABEL"})  # named "DATABASE x" for the database


@dataclass
class RestoreStats:
    """What a restore skipped, what the superuser did for it, and PostgreSQL's warnings."""

    skipped: dict[str, int] = field(default_factory=dict)
    superuser_statements: int = 0  # statements re-composed and run by the superuser (or lent a right)
    warnings: list[str] = field(default_factory=list)

    def skip(self, reason: str) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + 1


def skip_reason(statement: Statement, restores_ownership: bool) -> str | None:
    """Why `statement` is skipped, or None when it runs."""
    entry = statement.entry
    if entry and (
        entry.type in DATABASE_ENTRIES
        or (entry.type in _ABOUT_AN_OBJECT and entry.name.startswith("DATABASE "))
    ):
        return SOURCE_DATABASE
    if entry and entry.type == "SCHEMA" and entry.name == "public" and _CREATE_PUBLIC.match(statement.sql):
        return CREATE_PUBLIC
    if not restores_ownership and sets_ownership_or_privileges(statement):
        return NOT_OWNED
    return None
