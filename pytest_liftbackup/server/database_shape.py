"""The dump's own CREATE DATABASE: the encoding, locale and provider the throwaway database gets.

A plain dump made with `pg_dump -C`, and every archive, says how its database was created. Skipping
that statement (the throwaway database stands in) must not hide what it would have failed on, so the
throwaway database is created the way it says, as far as this server can:

- a template other than template0 (pg_dump always writes template0), an unknown encoding, an encoding
  the locale cannot hold: the real restore fails, so the restore fails, with PostgreSQL's words;
- a locale or locale provider this machine lacks (a CI container has only C and C.UTF-8, the
  production server has en_US.UTF-8; a build without ICU) or a tablespace this server lacks: the
  backup is not at fault, so the database is created with locale C (and the default tablespace) and
  the run says so in a warning: checks that depend on sort order may see another order here.

The statement's text never runs: its options are read one by one and ours is composed from them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import errors, sql

from pytest_liftbackup._errors import LiftbackupError

DATABASE_ENTRIES = frozenset({"DATABASE", "DATABASE PROPERTIES"})  # TOC entries of the database itself
_LOCALE_KEYS: tuple[str, ...] = ("LOCALE_PROVIDER", "LOCALE", "LC_COLLATE", "LC_CTYPE", "ICU_LOCALE")
_LOCALE_KEYS += ("ICU_RULES", "BUILTIN_LOCALE")
_KEYS = frozenset({"TEMPLATE", "ENCODING", "TABLESPACE", *_LOCALE_KEYS})
_VALUE = r"""'[^']*(?:''[^']*)*'|"(?:[^"]|"")[^"]*(?:""[^"]*)*"|[A-Za-z0-9_]+"""
_OPTION = re.compile(rf"\s*([A-Za-z_]+)\s*=\s*({_VALUE})")
_HEAD = re.compile(r"""^CREATE DATABASE (?:"(?:[^"]|"")[^"]*(?:""[^"]*)*"|[A-Za-z0-9_$]+)(?: WITH)?""")


class ShapeError(LiftbackupError):
    """The dump's CREATE DATABASE would fail on any server: its restore with psql stops there."""


@dataclass(frozen=True)
class DatabaseShape:
    """The options of the dump's CREATE DATABASE that shape the database (others are left out)."""

    options: tuple[tuple[str, str], ...]

    def get(self, key: str) -> str | None:
        return next((value for k, value in self.options if k == key), None)

    def describe(self) -> str:
        return ", ".join(f"{k.lower()} {v}" for k, v in self.options if k != "TEMPLATE") or "defaults"


def parse(statement: bytes | str) -> DatabaseShape | None:
    """The shape of a pg_dump `CREATE DATABASE x WITH KEY = value ...;`, or None for another statement."""
    text = statement.decode("utf-8", "replace") if isinstance(statement, bytes) else statement
    head = _HEAD.match(text.strip())
    if head is None:
        return None
    rest = text.strip()[head.end() :].rstrip(";")
    options: list[tuple[str, str]] = []
    position = 0
    while match := _OPTION.match(rest, position):
        key, raw = match.group(1).upper(), match.group(2)
        if key in _KEYS:
            options.append((key, _unquote(raw)))
        position = match.end()
    return DatabaseShape(tuple(options))


def _unquote(raw: str) -> str:
    if raw.startswith("'"):
        return raw[1:-1].replace("''", "'")
    if raw.startswith('"'):
        return raw[1:-1].replace('""', '"')
    return raw.lower()


def create(conn: psycopg.Connection[Any], name: str, shape: DatabaseShape | None) -> list[str]:
    """CREATE DATABASE `name` FROM template0, shaped as the dump asks as far as this server can.

    Returns the warnings for what this server could not give; raises ShapeError when no server could.
    (pytest-postgresql's janitor creates databases from a template only: no encoding or locale.)
    """
    options = dict(shape.options) if shape else {}
    template = options.pop("TEMPLATE", "template0")
    if template != "template0":
        raise ShapeError(
            f"the dump's CREATE DATABASE copies template {template}, where pg_dump always writes template0: "
            f"a restore with psql copies whatever {template} holds on that server, or fails without it; "
            "dump the database again with pg_dump"
        )
    warnings: list[str] = []
    fell_back = False
    for _ in range(3):
        try:
            conn.execute(_statement(name, options))
            return warnings
        except (errors.WrongObjectType, errors.FeatureNotSupported) as exc:
            if fell_back or not any(key in options for key in _LOCALE_KEYS):
                raise _shape_error(exc) from None  # nothing left to fall back from
            fell_back = True
            wanted = ", ".join(f"{k.lower()} {options[k]}" for k in _LOCALE_KEYS if k in options)
            for key in _LOCALE_KEYS:
                options.pop(key, None)
            options.update(LOCALE_PROVIDER="libc", LOCALE="C")
            warnings.append(
                f"this server cannot create the dump's database with {wanted} ({_said(exc)}): restored "
                "with locale C instead, so checks that depend on sort order may see another order; "
                "a server with that locale restores it as it was"
            )
        except errors.UndefinedObject as exc:
            if "TABLESPACE" not in options:
                raise _shape_error(exc) from None
            warnings.append(
                f"this server has no tablespace {options.pop('TABLESPACE')} for the dump's database: "
                "restored into the default tablespace"
            )
        except psycopg.Error as exc:
            raise _shape_error(exc) from None
    raise ShapeError("the dump's CREATE DATABASE could not be followed")  # pragma: no cover


def _statement(name: str, options: Mapping[str, str]) -> sql.Composed:
    parts = [sql.SQL("CREATE DATABASE {} TEMPLATE template0").format(sql.Identifier(name))]
    for key, value in options.items():
        if key in ("LOCALE_PROVIDER", "TABLESPACE"):
            parts.append(sql.SQL(f"{key} {{}}").format(sql.Identifier(value)))
        else:
            parts.append(sql.SQL(f"{key} {{}}").format(sql.Literal(value)))
    return sql.SQL(" ").join(parts)


def _said(exc: psycopg.Error) -> str:
    return exc.diag.message_primary or str(exc).strip()


def _shape_error(exc: psycopg.Error) -> ShapeError:
    return ShapeError(
        f"the dump's CREATE DATABASE would fail: {_said(exc)}; a restore with psql stops there, "
        "so the backup does not restore as it is"
    )
