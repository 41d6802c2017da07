"""Which statements of a plain dump may run side by side, read from the SQL that pg_dump writes.

`pg_restore -j` knows each entry's dependencies from the archive's table of contents; a plain dump
has no such list, so the objects a statement touches are read from the statement itself (no
library parses these few pg_dump shapes into table names, and sqlglot would cost a parse per
statement): `COPY t FROM stdin`, `CREATE INDEX i ON t`, `ALTER TABLE t ADD CONSTRAINT` (with the
table an FK references), `SELECT pg_catalog.setval('s', ...)`, `CREATE TRIGGER g ... ON t`, and
`COMMENT ON INDEX i` / `COMMENT ON TRIGGER g ON t` when the index or trigger is made by a task
not yet known to be done (else the comment waits as a barrier). Any other statement is a barrier:
it runs alone, after everything before it, as psql would run it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from pytest_liftbackup.dump.sql_script import CopyBlock, Statement

_IDENT = rb'(?:"(?:[^"]|"")[^"]*(?:""[^"]*)*"|[A-Za-z_\x80-\xff][A-Za-z0-9_$\x80-\xff]*)'
_NAME = rb"(" + _IDENT + rb"(?:\." + _IDENT + rb")?)"
_COPY = re.compile(rb"COPY\s+" + _NAME, re.IGNORECASE)
_INDEX = re.compile(
    rb"CREATE\s+(?:UNIQUE\s+)?INDEX\s+(" + _IDENT + rb")\s+ON\s+(?:ONLY\s+)?" + _NAME + rb"\s", re.IGNORECASE
)
_CONSTRAINT = re.compile(rb"ALTER\s+TABLE\s+(?:ONLY\s+)?" + _NAME + rb"\s+ADD\s+CONSTRAINT\s", re.IGNORECASE)
_REFERENCES = re.compile(rb"\sREFERENCES\s+" + _NAME, re.IGNORECASE)
_PART = re.compile(rb'"((?:[^"]|"")[^"]*(?:""[^"]*)*)"|([^".]+)')
_TRIGGER = re.compile(
    rb"CREATE\s+TRIGGER\s+(" + _IDENT + rb")\s+(?:BEFORE|AFTER|INSTEAD\s+OF)\s.*?\sON\s+" + _NAME + rb"\s",
    re.IGNORECASE | re.DOTALL,
)
_COMMENT_ON_INDEX = re.compile(rb"COMMENT\s+ON\s+INDEX\s+" + _NAME + rb"\s+IS\s", re.IGNORECASE)
_COMMENT_ON_TRIGGER = re.compile(
    rb"COMMENT\s+ON\s+TRIGGER\s+(" + _IDENT + rb")\s+ON\s+" + _NAME + rb"\s+IS\s", re.IGNORECASE
)
_SETVAL = re.compile(rb"SELECT\s+pg_catalog\.setval\(\s*'((?:[^']|'')+)'", re.IGNORECASE)
_SETTING = re.compile(
    rb"(?:SET|RESET)\s+(?:SESSION\s+)?([A-Za-z_.]+(?:\s+AUTHORIZATION)?)"
    rb"|SELECT\s+pg_catalog\.set_config\(\s*'([A-Za-z_.]+)'\s*,\s*'[^']*(?:''[^']*)*'\s*,\s*false\s*\)\s*;$",
    re.IGNORECASE,
)

# Two tasks on one table may run together only when both are COPY, both CREATE INDEX or both CREATE
# TRIGGER (neither needs the other; the server's locks order the rest); otherwise the later waits for
# the earlier.
SHAREABLE = frozenset({"copy", "index", "trigger"})
# Every COPY also touches this, and every trigger waits for it: a trigger never exists while rows
# are loaded (pg_dump makes them after the data), also on a partition a COPY fills by its own name.
_ROWS = "rows of any table"


@dataclass(eq=False)
class Task:
    """Statements of one TOC entry that can run on any connection once the tasks it waits for are done."""

    kind: str  # copy | index | constraint | setval | trigger | comment
    objects: tuple[str, ...]
    statement: Statement
    copy: CopyBlock | None = None
    settings: tuple[bytes, ...] = ()  # the session settings in force where it stands in the dump
    waits_for: int = 0
    followers: list[Task] = field(default_factory=list)
    done: bool = False


def _name(raw: bytes) -> str:
    """One spelling per object: quotes removed, unquoted parts folded to lower case as PostgreSQL does."""
    parts = [quoted.replace(b'""', b'"') if quoted else bare.lower() for quoted, bare in _PART.findall(raw)]
    return "\0".join(part.decode("utf-8", "replace") for part in parts)


def setting_key(statement: Statement) -> str | None:
    """The name of the session setting a `SET`/`RESET`/`set_config(..., false)` statement changes."""
    match = _SETTING.match(statement.sql)
    if match is None:
        return None
    return (match.group(1) or match.group(2)).decode().lower()


def _index_key(table: str, index: bytes) -> str:
    """An index by its qualified name: pg_dump names it bare, in its table's schema."""
    schema = table.rsplit("\0", 1)[0] + "\0" if "\0" in table else ""
    return "index " + schema + _name(index)


def _trigger_key(trigger: bytes, table: str) -> str:
    return "trigger " + _name(trigger) + " on " + table


def copy_target(statement: bytes) -> str | None:
    """The table a `COPY ... FROM stdin` names, as written (quotes kept: `to_regclass` reads it)."""
    match = _COPY.match(statement)
    return match.group(1).decode("utf-8", "replace") if match else None


def task_for(statement: Statement, copy: CopyBlock | None = None) -> Task | None:
    """The task this statement is, or None when it must run as a barrier."""
    text = statement.sql
    if copy is not None:
        match = _COPY.match(text)
        return Task("copy", (_name(match.group(1)), _ROWS), statement, copy) if match else None
    if match := _INDEX.match(text):
        table = _name(match.group(2))
        return Task("index", (table, _index_key(table, match.group(1))), statement)
    if match := _TRIGGER.match(text):
        table = _name(match.group(2))
        return Task("trigger", (table, _trigger_key(match.group(1), table), _ROWS), statement)
    if match := _COMMENT_ON_INDEX.match(text):
        return Task("comment", ("index " + _name(match.group(1)),), statement)
    if match := _COMMENT_ON_TRIGGER.match(text):
        return Task("comment", (_trigger_key(match.group(1), _name(match.group(2))),), statement)
    if match := _CONSTRAINT.match(text):
        tables = [_name(match.group(1))] + [_name(m.group(1)) for m in _REFERENCES.finditer(text)]
        return Task("constraint", tuple(dict.fromkeys(tables)), statement)
    if match := _SETVAL.match(text):
        return Task("setval", ("sequence " + match.group(1).decode("utf-8", "replace"),), statement)
    return None


@dataclass
class _Group:
    kind: str
    members: list[Task]
    before: list[Task]


class TaskOrder:
    """Links each new task to the unfinished earlier tasks it must wait for (same object, other kind)."""

    def __init__(self) -> None:
        self._groups: dict[str, _Group] = {}

    def knows(self, task: Task) -> bool:
        """Whether every object the task needs is made by a task since the last barrier. A comment whose
        index or trigger is not (made earlier, or spelled otherwise) runs as a barrier instead: then
        whatever made its object is surely done."""
        return task.kind != "comment" or all(obj in self._groups for obj in task.objects)

    def link(self, task: Task) -> None:
        waits: dict[int, Task] = {}
        for obj in task.objects:
            group = self._groups.get(obj)
            if group is None:
                self._groups[obj] = _Group(task.kind, [task], [])
                continue
            if group.kind == task.kind and task.kind in SHAREABLE:
                earlier = group.before
                group.members.append(task)
            else:
                earlier = group.members
                self._groups[obj] = _Group(task.kind, [task], [t for t in group.members if not t.done])
            for other in earlier:
                if not other.done:
                    waits[id(other)] = other
        for other in waits.values():
            other.followers.append(task)
        task.waits_for = len(waits)

    def clear(self) -> None:
        """After a barrier every earlier task is done: nothing left to wait for."""
        self._groups.clear()
