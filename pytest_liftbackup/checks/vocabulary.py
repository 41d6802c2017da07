"""The check-file vocabulary: which kinds exist, the keys each accepts, and their types.

Written here rather than with a schema library: the errors must name the file, the line, the key
and the accepted keys in one sentence (with a "did you mean"), and the YAML line numbers come from
our own loader; jsonschema and pydantic report paths, not lines, and would add a dependency.
"""

from __future__ import annotations

import difflib
import re
import string
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pytest_liftbackup.checks.names import split_qualified, split_reference, split_relationship
from pytest_liftbackup.checks.yaml_lines import LocatedDict, LocatedList


class CheckFileError(Exception):
    """A malformed check file: the message names file:line and what to change."""

    def __init__(self, path: Path, line: int, message: str) -> None:
        super().__init__(f"{path}:{line}: {message}")
        self.path = path
        self.line = line


class _Invalid(Exception):
    pass


@dataclass(frozen=True)
class Threshold:
    """`max_failures: 3` or `max_failures: "5%"` (of the rows tested)."""

    count: int | None = 0
    percent: float | None = None

    def exceeded(self, failures: int, tested: int | None) -> bool:
        if self.percent is not None:
            return failures > 0 and (not tested or failures * 100.0 / tested > self.percent)
        return failures > (self.count or 0)

    def __str__(self) -> str:
        return f"{self.percent:g}%" if self.percent is not None else str(self.count)


# -- value types: each returns the normalised value or raises _Invalid with what was expected --


def _str(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float) or str(value).strip() == "":
        raise _Invalid("a non-empty text")
    return str(value)


def _strlist(value: Any) -> list[str]:
    items = [value] if isinstance(value, str | int) and not isinstance(value, bool) else value
    if not isinstance(items, list) or not items:
        raise _Invalid("a name or a non-empty list of names")
    return [_str(v) for v in items]


def _bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise _Invalid("true or false")
    return value


def _count(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise _Invalid("a whole number, 0 or more")
    return value


def _seconds(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise _Invalid("a number of seconds above 0")
    return float(value)


_PERCENT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*%\s*$")


def _threshold(value: Any) -> Threshold:
    if isinstance(value, str) and (match := _PERCENT.match(value)) and float(match.group(1)) <= 100:
        return Threshold(None, float(match.group(1)))
    try:
        return Threshold(_count(value))
    except _Invalid:
        raise _Invalid('a count (3) or a percentage of the rows tested ("5%")') from None


def _severity(value: Any) -> str:
    if value not in ("error", "warn"):
        raise _Invalid("error or warn")
    return str(value)


def _table(value: Any) -> str:
    text = _str(value)
    if split_qualified(text) is None:
        raise _Invalid("a table name, optionally schema-qualified (lift_simulator.lift_system)")
    return text


def _tables(value: Any) -> list[str]:
    return [_table(v) for v in _strlist(value)]


def _reference(value: Any) -> str:
    text = _str(value)
    if split_reference(text) is None:
        raise _Invalid("a parent table and its columns, like lift_system(id)")
    return text


def _relationship(value: Any) -> str:
    text = _str(value)
    if split_relationship(text) is None:
        raise _Invalid("child columns, an arrow and the parent: lift_system_id -> lift_system(id)")
    return text


def _values(value: Any) -> list[Any]:
    if not isinstance(value, list) or not value or any(isinstance(v, dict | list) for v in value):
        raise _Invalid("a non-empty list of values")
    return list(value)


def _path_or_true(value: Any) -> str | bool:
    if value is True:
        return True
    return _str(value)


def _flag(value: Any) -> bool:
    if value is not True:
        raise _Invalid("true")
    return True


def _anything(value: Any) -> Any:
    return value


@dataclass(frozen=True)
class Key:
    parse: Callable[[Any], Any]
    required: bool = False


COMMON: dict[str, Key] = {
    "description": Key(_str),
    "message": Key(_str),
    "severity": Key(_severity),
    "max_failures": Key(_threshold),
    "warn_above": Key(_threshold),
    "marks": Key(_strlist),
    "sample": Key(_count),
    "timeout": Key(_seconds),
}
_SOURCE = {"table": Key(_table), "query": Key(_str), "where": Key(_str), "key": Key(_strlist)}
_ON_TABLE = {"table": Key(_table, required=True)}
_FLYWAY = {"table": Key(_table)}

# kind -> the keys it accepts besides COMMON; the kind's own key carries its main value.
KINDS: dict[str, dict[str, Key]] = {
    "tables": {"tables": Key(_tables), "exactly": Key(_bool), "absent": Key(_tables)},
    "columns": {"columns": Key(_anything), **_ON_TABLE, "exactly": Key(_bool), "absent": Key(_strlist)},
    "primary_key": {"primary_key": Key(_strlist), **_ON_TABLE},
    "foreign_keys": {"foreign_keys": Key(_anything), **_ON_TABLE},
    "indexes": {"indexes": Key(_anything), **_ON_TABLE},
    "check_constraints": {"check_constraints": Key(_anything), **_ON_TABLE},
    "triggers": {"triggers": Key(_anything), **_ON_TABLE},
    "functions": {"functions": Key(_anything)},
    "flyway_history": {"flyway_history": Key(_flag), **_FLYWAY},
    "flyway_no_failed": {"flyway_no_failed": Key(_flag), **_FLYWAY},
    "flyway_ranks_contiguous": {"flyway_ranks_contiguous": Key(_flag), **_FLYWAY},
    "flyway_latest_version": {"flyway_latest_version": Key(_str), **_FLYWAY},  # a version, or "local"
    "flyway_migrations": {"flyway_migrations": Key(_path_or_true), **_FLYWAY},
    "row_count": {
        "row_count": Key(_table),
        "exactly": Key(_count),
        "min": Key(_count),
        "max": Key(_count),
        "where": Key(_str),
    },
    "not_empty": {"not_empty": Key(_tables)},
    "not_null": {"not_null": Key(_strlist), **_SOURCE},
    "unique": {"unique": Key(_strlist), **_SOURCE},
    "accepted_values": {"accepted_values": Key(_values), "column": Key(_str, required=True), **_SOURCE},
    "relationship": {"relationship": Key(_relationship), **_SOURCE},
    "expression": {"expression": Key(_str), **_SOURCE},
    "sql": {"sql": Key(_str)},
}

# Nested entries of the schema kinds: entry keys and their types.
NESTED: dict[str, dict[str, Key]] = {
    "columns": {"type": Key(_str), "nullable": Key(_bool), "default": Key(_anything)},
    "indexes": {
        "columns": Key(_strlist),
        "unique": Key(_bool),
        "where": Key(_str),
        "method": Key(_str),
        "primary": Key(_bool),
    },
    "foreign_keys": {
        "columns": Key(_strlist, required=True),
        "references": Key(_reference, required=True),
        "on_delete": Key(_str),
        "on_update": Key(_str),
        "name": Key(_str),
    },
    "triggers": {"function": Key(_str), "timing": Key(_str), "events": Key(_strlist), "level": Key(_str)},
    "functions": {"language": Key(_str), "returns": Key(_str)},
    "check_constraints": {"expression": Key(_str), "columns": Key(_strlist)},
}

PLACEHOLDERS = ("failures", "tested", "table", "name", "keys")
FILE_KEYS = ("schema", "flyway", "marks", "checks")
FLYWAY_KEYS = ("table", "migrations")
_NAME = re.compile(r"^[A-Za-z0-9_.\-]+$")


@dataclass(frozen=True)
class CheckSpec:
    """One check as written: validated keys and where each came from."""

    name: str
    kind: str
    path: Path
    line: int
    values: dict[str, Any]
    key_lines: dict[str, int] = field(default_factory=dict)

    def get(self, key: str, default: Any = None) -> Any:
        return self.values.get(key, default)

    def line_of(self, key: str) -> int:
        return self.key_lines.get(key, self.line)

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}"

    @property
    def severity(self) -> str:
        return str(self.values.get("severity", "error"))

    @property
    def max_failures(self) -> Threshold:
        value = self.values.get("max_failures")
        return value if isinstance(value, Threshold) else Threshold(0)


def _suggest(word: str, accepted: list[str]) -> str:
    close = difflib.get_close_matches(word, accepted, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def check_keys(path: Path, mapping: LocatedDict, accepted: dict[str, Key], what: str) -> dict[str, Any]:
    """Each key known, each required key present, each value of its type; else CheckFileError."""
    names = sorted(accepted)
    values: dict[str, Any] = {}
    for key, raw in mapping.items():
        if key not in accepted:
            raise CheckFileError(
                path,
                mapping.line_of(key),
                f"unknown key {key!r} in {what}{_suggest(key, names)}; accepted keys: {', '.join(names)}",
            )
        try:
            values[key] = accepted[key].parse(raw)
        except _Invalid as exc:
            raise CheckFileError(
                path, mapping.line_of(key), f"{key!r} in {what} must be {exc}, got {raw!r}"
            ) from None
    for key, spec in accepted.items():
        if spec.required and key not in values:
            raise CheckFileError(
                path, mapping.line, f"{what} is missing the key {key!r}; accepted keys: {', '.join(names)}"
            )
    return values


def entries(
    spec: CheckSpec, raw: Any, *, allow_list_of_names: bool = False
) -> list[tuple[str, dict[str, Any]]]:
    """The named entries of a schema kind (`indexes: {name: {...}}`), each checked against NESTED."""
    accepted = NESTED[spec.kind]
    line = spec.line_of(spec.kind)
    if allow_list_of_names and isinstance(raw, list | str):
        return [(name, {}) for name in _strlist(raw)]
    if spec.kind == "foreign_keys":
        if not isinstance(raw, LocatedList) or not raw:
            raise CheckFileError(spec.path, line, "'foreign_keys' must be a list of {columns, references}")
        found = []
        for index, item in enumerate(raw):
            if not isinstance(item, LocatedDict):
                raise CheckFileError(
                    spec.path, raw.line_of(index), "each foreign key is {columns, references}"
                )
            found.append((str(item.get("name", "")), check_keys(spec.path, item, accepted, "a foreign key")))
        return found
    if not isinstance(raw, LocatedDict) or not raw:
        raise CheckFileError(spec.path, line, f"{spec.kind!r} must be a mapping of names to their details")
    found = []
    for name, value in raw.items():
        if value is None:
            found.append((name, {}))
        elif isinstance(value, LocatedDict):
            found.append((name, check_keys(spec.path, value, accepted, f"{spec.kind} entry {name!r}")))
        elif spec.kind == "columns" and isinstance(value, str):
            found.append((name, {"type": value}))
        elif spec.kind == "check_constraints" and isinstance(value, str):
            found.append((name, {"expression": value}))
        else:
            raise CheckFileError(
                spec.path,
                raw.line_of(name),
                f"{spec.kind} entry {name!r} must be a mapping of {', '.join(sorted(accepted))}"
                + (" or a type" if spec.kind == "columns" else ""),
            )
    return found


def parse_check(path: Path, name: str, body: Any, line: int) -> CheckSpec:
    if not _NAME.match(name):
        raise CheckFileError(path, line, f"check name {name!r}: use letters, digits, _ . and - only")
    if not isinstance(body, LocatedDict):
        raise CheckFileError(path, line, f"check {name!r} must be a mapping with one kind key ({_kinds()})")
    kinds = [k for k in body if k in KINDS]
    if len(kinds) != 1:
        unknown = [k for k in body if k not in KINDS and k not in COMMON and k not in _ALL_KIND_KEYS]
        hint = _suggest(unknown[0], list(KINDS)) if unknown and not kinds else ""
        found = f"has {', '.join(kinds)}" if kinds else "has none"
        raise CheckFileError(
            path, body.line, f"check {name!r} needs exactly one kind key, {found}{hint}; kinds: {_kinds()}"
        )
    kind = kinds[0]
    values = check_keys(path, body, {**COMMON, **KINDS[kind]}, f"check {name!r} ({kind})")
    needs_source = kind in ("not_null", "unique", "accepted_values", "relationship", "expression")
    if needs_source and ("table" in values) == ("query" in values):
        raise CheckFileError(path, body.line, f"check {name!r} ({kind}) needs either 'table' or 'query'")
    if kind == "row_count" and not {"exactly", "min", "max"} & set(values):
        raise CheckFileError(path, body.line, f"check {name!r} (row_count) needs 'exactly', 'min' or 'max'")
    if "message" in values and (problem := check_message_template(values["message"])):
        raise CheckFileError(path, body.line_of("message"), f"check {name!r}: {problem}")
    spec = CheckSpec(name, kind, path, line, values, dict(body.key_lines))
    if kind in NESTED:  # nested entries are checked now too: a typo is a collection error
        values[kind] = entries(spec, body[kind], allow_list_of_names=kind == "functions")
    return spec


_ALL_KIND_KEYS = {k for keys in KINDS.values() for k in keys}


def _kinds() -> str:
    return ", ".join(KINDS)


@dataclass(frozen=True)
class CheckFile:
    path: Path
    schema: str | None
    flyway_table: str | None
    migrations: Path | None
    marks: tuple[str, ...]
    checks: list[CheckSpec]


def parse_file(path: Path, document: Any) -> CheckFile:
    if document is None:
        return CheckFile(path, None, None, None, (), [])
    if not isinstance(document, LocatedDict):
        raise CheckFileError(path, 1, f"a check file is a mapping with the keys {', '.join(FILE_KEYS)}")
    for key in document:
        if key not in FILE_KEYS:
            raise CheckFileError(
                path,
                document.line_of(key),
                f"unknown key {key!r} at the top of the file{_suggest(key, list(FILE_KEYS))}; "
                f"accepted keys: {', '.join(FILE_KEYS)}",
            )
    schema = _top(path, document, "schema", _str)
    marks = tuple(_top(path, document, "marks", _strlist) or ())
    flyway_table, migrations = None, None
    flyway = document.get("flyway")
    if flyway is not None:
        if not isinstance(flyway, LocatedDict):
            raise CheckFileError(
                path, document.line_of("flyway"), "'flyway' must be a mapping: table, migrations"
            )
        values = check_keys(path, flyway, {"table": Key(_table), "migrations": Key(_str)}, "'flyway'")
        flyway_table = values.get("table")
        if "migrations" in values:
            migrations = (path.parent / values["migrations"]).resolve()
    checks_raw = document.get("checks")
    if checks_raw is None:
        raise CheckFileError(path, document.line, "no 'checks:' mapping in the file")
    if not isinstance(checks_raw, LocatedDict):
        raise CheckFileError(
            path, document.line_of("checks"), "'checks' must be a mapping of check names to checks"
        )
    checks = [parse_check(path, name, body, checks_raw.line_of(name)) for name, body in checks_raw.items()]
    return CheckFile(path, schema, flyway_table, migrations, marks, checks)


def _top(path: Path, document: LocatedDict, key: str, parse: Callable[[Any], Any]) -> Any:
    if key not in document:
        return None
    try:
        return parse(document[key])
    except _Invalid as exc:
        raise CheckFileError(path, document.line_of(key), f"{key!r} must be {exc}") from None


def check_message_template(template: str) -> str | None:
    """None when `message` only uses known placeholders; else what is wrong with it."""
    try:
        fields = [f for _, f, _, _ in string.Formatter().parse(template) if f is not None]
    except ValueError as exc:
        return f"'message' is not a valid template: {exc} (write {{{{ and }}}} for braces)"
    unknown = [f for f in fields if f not in PLACEHOLDERS]
    if unknown:
        return f"'message' uses {{{unknown[0]}}}; placeholders: " + ", ".join(
            f"{{{p}}}" for p in PLACEHOLDERS
        )
    return None
