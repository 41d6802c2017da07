"""The manifest written beside a backup, and the facts it holds about the database it came from.

`<backup>.manifest.json` records the file (sha256, size), where it came from (database, server and
pg_dump versions, time, newest Flyway version) and, per table, the row count and a content digest,
read in the very snapshot pg_dump dumped. After a restore the same facts are read again and compared:
a dump that restores cleanly but lost rows (an edited file, a COPY block cut and stitched) is caught.

The digest is sha256 over the table's rows as text, sorted byte-wise, with every setting that shapes
how values print fixed (time zone, date style, float digits, bytea output), so that the same rows give
the same digest on any server and any locale.

An unsalted digest of a small table is a guess away from its content (a table of one 4-digit PIN: 10,000
guesses), so the manifest of an encrypted backup holds no per-table fact in clear: the table names,
row counts and digests are `sealed`, an age file (base64) encrypted to the backup's own recipients.
`verify` with the identity opens it and proves every table as before; without it, the manifest says
only what the file is (sha256, size, versions, time).
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from pytest_liftbackup._errors import DumpInputError, LiftbackupError, Setting
from pytest_liftbackup.dump import encryption
from pytest_liftbackup.dump import files as _files
from pytest_liftbackup.restore.engine import ORDINARY_TABLES
from pytest_liftbackup.server.databases import LOCK_TIMEOUT
from pytest_liftbackup.server.watchdog import Watchdog

SUFFIX = ".manifest.json"
FORMAT = 2  # the newest read: 1 has its tables in clear, 2 (of an encrypted backup) has them sealed
CLEAR = 1
# How values print, fixed for the digest: the server's defaults and the user's settings vary.
_PRINT_SETTINGS = {
    "search_path": "",  # only pg_catalog, implicitly: every name below is qualified too
    "TimeZone": "UTC",
    "DateStyle": "ISO, MDY",
    "IntervalStyle": "postgres",
    "extra_float_digits": "1",
    "bytea_output": "hex",
    "row_security": "off",  # a policy hiding rows is an error, never a short digest
}


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
    format_version: int = CLEAR
    sealed: str = ""  # base64 of an age file holding the tables (an encrypted backup's manifest)

    def as_json(self) -> dict[str, Any]:
        """The manifest as written: the tables only in clear when not sealed."""
        found = asdict(self)
        if self.sealed:
            found["tables"] = {}
        else:
            del found["sealed"]
        return found

    def seal(self, to: list[Any]) -> None:
        """Encrypt the tables to the recipients `to`: written, the manifest shows none of them."""
        tables = json.dumps({name: asdict(facts) for name, facts in self.tables.items()}, sort_keys=True)
        self.sealed = base64.b64encode(encryption.seal(tables.encode(), to)).decode("ascii")
        self.format_version = FORMAT

    def unsealed(self, identity: Path | None, path: Path) -> Manifest:
        """This manifest with its sealed tables read with `identity` (itself when nothing is sealed)."""
        if not self.sealed:
            return self
        if identity is None:
            raise DumpInputError(
                f"{path}: its tables are sealed to the backup's recipients; pass the identity file"
            )
        try:
            data = json.loads(encryption.unseal(base64.b64decode(self.sealed, validate=True), identity, path))
            tables = {name: TableFacts(int(t["rows"]), str(t["digest"])) for name, t in data.items()}
        except (binascii.Error, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise DumpInputError(f"{path}: its sealed tables are damaged ({type(exc).__name__})") from None
        return dataclasses.replace(self, tables=tables)

    def write(self, path: Path) -> None:
        """Written under a random temporary name (0600), fsynced and renamed: a half-written manifest
        never exists, and a link planted at its name is replaced, never followed."""
        text = json.dumps(self.as_json(), indent=2, sort_keys=True) + "\n"
        _files.write_atomically(path, text.encode("utf-8"))

    @classmethod
    def read(cls, path: Path) -> Manifest:
        with _files.open_entry(path, _files.owners_of(path.parent)) as stream:  # a planted link: refused
            raw = stream.read()
        try:
            data = json.loads(raw.decode("utf-8"))
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


def read_manifest(path: Path, identity: Path | None = None) -> Manifest:
    """The manifest at `path`, its sealed tables (if any) opened with `identity`."""
    return Manifest.read(path).unsealed(identity, path)


def manifest_path(backup: Path) -> Path:
    return backup.with_name(backup.name + SUFFIX)


def read_facts(conn: psycopg.Connection[Any]) -> tuple[dict[str, TableFacts], str | None]:
    """Row count and digest of every ordinary table, and the newest applied Flyway version.

    Runs in the connection's current transaction (begun here if none is): for a backup, the one
    whose snapshot pg_dump dumps."""
    for name, value in _PRINT_SETTINGS.items():
        conn.execute("SELECT pg_catalog.set_config(%s, %s, true)", (name, value))
    tables = conn.execute(ORDINARY_TABLES).fetchall()
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
    query = sql.SQL(
        f'COPY (SELECT {row} FROM ONLY {{}} liftbackup_row ORDER BY {row} COLLATE pg_catalog."C") TO STDOUT'
    )
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
