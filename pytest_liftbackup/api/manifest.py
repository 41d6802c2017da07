"""The manifest written beside a backup, and the facts it holds about the database it came from.

`<backup>.manifest.json` records the file (sha256, size), where it came from (database, server and
pg_dump versions, time, newest Flyway version) and, per table, the row count and a content digest,
read in the very snapshot pg_dump dumped. After a restore the same facts are read again and compared:
a dump that restores cleanly but lost rows (an edited file, a COPY block cut and stitched) is caught.

The digest is sha256 over the table's rows as text, sorted byte-wise, with every setting that shapes
how values print fixed (time zone, date style, float digits, bytea output), so that the same rows give
the same digest on any server and any locale.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from pytest_liftbackup._errors import DumpInputError, LiftbackupError, Setting
from pytest_liftbackup.server.databases import LOCK_TIMEOUT
from pytest_liftbackup.server.watchdog import Watchdog

SUFFIX = ".manifest.json"
FORMAT = 1
# How values print, fixed for the digest: the server's defaults and the user's settings vary.
_PRINT_SETTINGS = {
    "search_path": "pg_catalog",
    "TimeZone": "UTC",
    "DateStyle": "ISO, MDY",
    "IntervalStyle": "postgres",
    "extra_float_digits": "1",
    "bytea_output": "hex",
    "row_security": "off",  # a policy hiding rows is an error, never a short digest
}
_TABLES = (
    "SELECT n.nspname, c.relname FROM pg_catalog.pg_class c "
    "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
    "WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
    "AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%' ORDER BY 1, 2"
)


@dataclass(frozen=True)
class TableFacts:
    rows: int
    digest: str


@dataclass
class Manifest:
    """What a backup is and what it holds."""

    file: str  # the backup's file name (beside the manifest)
    sha256: str  # of the file as stored (encrypted, if it is)
    size: int
    created: str  # ISO 8601, UTC
    database: str
    server_version: str
    pg_dump_version: str
    format: str  # plain or custom
    encrypted: bool = False
    flyway_version: str | None = None
    tables: dict[str, TableFacts] = field(default_factory=dict)
    format_version: int = FORMAT

    def as_json(self) -> dict[str, Any]:
        return asdict(self)

    def write(self, path: Path) -> None:
        """Written under a temporary name and renamed: a half-written manifest never exists."""
        partial = path.with_name(f".{path.name}.partial")
        partial.write_text(json.dumps(self.as_json(), indent=2, sort_keys=True) + "\n", encoding="utf-8")
        partial.replace(path)

    @classmethod
    def read(cls, path: Path) -> Manifest:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            tables = {
                name: TableFacts(int(t["rows"]), str(t["digest"])) for name, t in data["tables"].items()
            }
            known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__ and k != "tables"}
            manifest = cls(**known, tables=tables)
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise DumpInputError(
                f"{path}: not a readable liftbackup manifest ({type(exc).__name__}: {exc}); "
                "move it away, or take a new backup with `liftbackup backup`"
            ) from None
        if manifest.format_version > FORMAT:
            raise DumpInputError(
                f"{path}: manifest format {manifest.format_version} is newer than this liftbackup "
                f"reads ({FORMAT}); upgrade pytest-liftbackup"
            )
        return manifest


def manifest_path(backup: Path) -> Path:
    return backup.with_name(backup.name + SUFFIX)


def read_facts(conn: psycopg.Connection[Any]) -> tuple[dict[str, TableFacts], str | None]:
    """Row count and digest of every ordinary table, and the newest applied Flyway version.

    Runs in the connection's current transaction (begun here if none is): for a backup, the one
    whose snapshot pg_dump dumps."""
    for name, value in _PRINT_SETTINGS.items():
        conn.execute("SELECT pg_catalog.set_config(%s, %s, true)", (name, value))
    tables = conn.execute(_TABLES).fetchall()
    facts = {f"{schema}.{table}": _table_facts(conn, schema, table) for schema, table in tables}
    flyway = None
    for schema, table in tables:
        if table == "flyway_schema_history":
            flyway = _flyway_version(conn, schema, table) or flyway
    return facts, flyway


def _table_facts(conn: psycopg.Connection[Any], schema: str, table: str) -> TableFacts:
    name = sql.Identifier(schema, table)
    digest, rows = hashlib.sha256(), 0
    # A qualified star names the whole row even when the table has a column called like the alias.
    row = "ROW(liftbackup_row.*)::pg_catalog.text"
    query = sql.SQL(f'COPY (SELECT {row} FROM ONLY {{}} liftbackup_row ORDER BY {row} COLLATE "C") TO STDOUT')
    with conn.cursor() as cur, cur.copy(query.format(name)) as copy:
        for chunk in copy:
            digest.update(chunk)
            rows += bytes(chunk).count(b"\n")
    return TableFacts(rows, digest.hexdigest())


def _flyway_version(conn: psycopg.Connection[Any], schema: str, table: str) -> str | None:
    query = sql.SQL(
        "SELECT version FROM {} WHERE success AND version IS NOT NULL ORDER BY installed_rank DESC LIMIT 1"
    ).format(sql.Identifier(schema, table))
    try:
        with conn.transaction():  # a savepoint: a table of that name but another shape is not fatal
            row = conn.execute(query).fetchone()
    except psycopg.Error:
        return None
    return str(row[0]) if row else None


def restored_differences(manifest: Manifest, conn: psycopg.Connection[Any], timeout: float) -> list[str]:
    """What the database behind `conn` (a restore of the manifest's backup) holds otherwise, read in a
    transaction of its own, in `timeout` seconds at most (the restore's limit: ended by a watchdog,
    whatever the dump's code catches), waiting no longer than LOCK_TIMEOUT for any lock."""
    watchdog = Watchdog(conn, timeout)
    try:
        with watchdog, conn.transaction(force_rollback=True):
            conn.execute("SELECT pg_catalog.set_config('lock_timeout', %s, true)", (LOCK_TIMEOUT,))
            found, _ = read_facts(conn)
    except psycopg.Error:
        if not watchdog.fired:
            raise
        raise LiftbackupError(
            f"reading the restored tables for their digests ran longer than {timeout:g} s (",
            Setting.TIMEOUT,
            "); it was stopped",
        ) from None
    return differences(manifest, found)


def differences(manifest: Manifest, found: dict[str, TableFacts]) -> list[str]:
    """What the restored database holds that the backup's source did not, table by table."""
    lines = []
    for name in sorted(manifest.tables.keys() | found.keys()):
        want, got = manifest.tables.get(name), found.get(name)
        if want is None:
            lines.append(f"{name}: in the restored database, not in the manifest")
        elif got is None:
            lines.append(f"{name}: in the manifest ({want.rows} rows), missing after the restore")
        elif want.rows != got.rows:
            lines.append(f"{name}: {got.rows} rows restored, the manifest says {want.rows}")
        elif want.digest != got.digest:
            lines.append(f"{name}: {got.rows} rows as the manifest says, but their content differs")
    return lines
