"""Which roles a dump's statements name, and which statements only set ownership or privileges."""

from __future__ import annotations

import re
from collections import Counter

from pytest_liftbackup.dump.sql_script import Statement

_IDENT = rb'(?:"(?:[^"]|"")[^"]*(?:""[^"]*)*"|[A-Za-z_\x80-\xff][A-Za-z0-9_$\x80-\xff]*)'
_LIST = rb"((?:GROUP\s+)?" + _IDENT + rb"(?:\s*,\s*(?:GROUP\s+)?" + _IDENT + rb")*)"
_PATTERNS = [
    re.compile(rb"\bOWNER\s+TO\s+" + _LIST, re.IGNORECASE),
    re.compile(rb"^GRANT\b.*?\bTO\s+" + _LIST, re.IGNORECASE | re.DOTALL),
    re.compile(rb"^REVOKE\b.*?\bFROM\s+" + _LIST, re.IGNORECASE | re.DOTALL),
    re.compile(rb"\bGRANTED\s+BY\s+" + _LIST, re.IGNORECASE),
    re.compile(rb"\bFOR\s+(?:ROLE|USER)\s+" + _LIST, re.IGNORECASE),
    re.compile(rb"^CREATE\s+POLICY\b.*?\bTO\s+" + _LIST, re.IGNORECASE | re.DOTALL),
    re.compile(rb"^SET\s+(?:SESSION\s+AUTHORIZATION|ROLE)\s+'?(" + _IDENT + rb")", re.IGNORECASE),
]
_NOT_ROLES = frozenset({"public", "current_user", "session_user", "current_role", "default", "none"})
_OWNERSHIP = re.compile(
    rb"^(ALTER\b.*\bOWNER\s+TO\b|SET\s+SESSION\s+AUTHORIZATION\b)", re.IGNORECASE | re.DOTALL
)
_PRIVILEGE_TYPES = frozenset({"ACL", "DEFAULT ACL"})
_IDENT_RE = re.compile(_IDENT)


def _names(listing: bytes) -> set[str]:
    names = set()
    for raw in _IDENT_RE.findall(listing):
        if raw.upper() == b"GROUP":
            continue
        if raw.startswith(b'"'):
            name = raw[1:-1].replace(b'""', b'"').decode("utf-8", "replace")
        else:
            name = raw.decode("utf-8", "replace").lower()
            if name in _NOT_ROLES:
                continue
        names.add(name)
    return names


class RoleTally:
    """Roles a dump names, and which one owns most of its objects (the database owner, in practice)."""

    def __init__(self) -> None:
        self.roles: set[str] = set()
        self._owners: Counter[str] = Counter()

    def add(self, statement: Statement) -> None:
        self.roles |= roles_in(statement)
        if statement.entry and statement.entry.owner not in ("", "-"):
            self._owners[statement.entry.owner] += 1

    @property
    def main_owner(self) -> str | None:
        return self._owners.most_common(1)[0][0] if self._owners else None


def roles_in(statement: Statement) -> set[str]:
    """Roles named as owners, grantees or grantors. Cheap for the statements that name none."""
    found: set[str] = set()
    if statement.entry and statement.entry.owner not in ("", "-"):
        found.add(statement.entry.owner)
    head = statement.sql[:16].upper()
    if not head.startswith((b"ALTER", b"GRANT", b"REVOKE", b"CREATE POLICY", b"SET")):
        return found
    for pattern in _PATTERNS:
        for match in pattern.finditer(statement.sql):
            found |= _names(match.group(1))
    return found


def sets_ownership_or_privileges(statement: Statement) -> bool:
    """True for `ALTER ... OWNER TO`, GRANT/REVOKE of an ACL entry, and SET SESSION AUTHORIZATION."""
    if statement.entry and statement.entry.type in _PRIVILEGE_TYPES:
        return True
    return bool(_OWNERSHIP.match(statement.sql))
