"""Flyway's side of a backup: its history table checked, and compared with a folder of migrations.

No Python library reads Flyway's history or computes its checksums, so the rules are written here
from Flyway's documented behaviour: file names `V<version>__<words>.sql` and `R__<words>.sql`,
versions compared part by part (`1.10` after `1.9`; `_` in a version means `.`), the checksum is a
signed CRC-32 over the UTF-8 text with a leading BOM and every CR/LF removed, and the states
`flyway info` prints (Success, Failed, Pending, Ignored, Missing, Future, Outdated...).
"""

from __future__ import annotations

import itertools
import re
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg

from pytest_liftbackup._errors import CheckError, Given, Setting, word
from pytest_liftbackup.checks.catalog import relation_oid, require_relation, table_sql
from pytest_liftbackup.checks.result import CheckResult, counted
from pytest_liftbackup.checks.vocabulary import CheckSpec

KINDS = (
    "flyway_history",
    "flyway_no_failed",
    "flyway_ranks_contiguous",
    "flyway_latest_version",
    "flyway_migrations",
)
COLUMNS = (
    "installed_rank",
    "version",
    "description",
    "type",
    "script",
    "checksum",
    "installed_by",
    "installed_on",
    "execution_time",
    "success",
)
_FILE = re.compile(r"^(?P<prefix>[VR])(?P<version>[^_]*)__(?P<words>.+)\.sql$")
Conn = psycopg.Connection[Any]


def checksum(data: bytes) -> int:
    """Flyway's checksum of a SQL migration (test vector: `SELECT 1;` gives 78787420)."""
    text = data.decode("utf-8")
    text = text.removeprefix("\ufeff")
    crc = zlib.crc32(text.replace("\r", "").replace("\n", "").encode("utf-8"))
    return crc - (1 << 32) if crc >= 1 << 31 else crc


def version_key(version: str) -> tuple[int, ...]:
    return tuple(int(p) if p.isdigit() else 0 for p in version.replace("_", ".").split("."))


@dataclass(frozen=True)
class LocalMigration:
    version: str | None  # None for a repeatable migration
    description: str
    script: str
    checksum: int


def local_migrations(folder: Path) -> list[LocalMigration]:
    """Every V and R migration under `folder` (recursively, as Flyway scans a location)."""
    if not folder.is_dir():
        raise CheckError(
            f"migrations folder {folder} does not exist (set by ", Setting.MIGRATIONS, " or the check file)"
        )
    found = []
    for path in sorted(folder.rglob("*.sql")):
        match = _FILE.match(path.name)
        if not match or (match["prefix"] == "V") != bool(match["version"]):
            continue
        version = match["version"].replace("_", ".") if match["prefix"] == "V" else None
        found.append(
            LocalMigration(
                version,
                match["words"].replace("_", " "),
                path.relative_to(folder).as_posix(),
                checksum(path.read_bytes()),
            )
        )
    return found


@dataclass(frozen=True)
class Applied:
    rank: int
    version: str | None
    description: str
    type: str
    script: str
    checksum: int | None
    success: bool


def history(conn: Conn, table: str) -> list[Applied]:
    require_relation(conn, table, what="Flyway history table")
    rows = conn.execute(
        "SELECT installed_rank, version, description, type, script, checksum, success "
        f"FROM {table_sql(table)} ORDER BY installed_rank"
    ).fetchall()
    return [Applied(*r) for r in rows]


def _versioned(applied: list[Applied]) -> list[Applied]:
    return [a for a in applied if a.version is not None]


def latest_applied(applied: list[Applied]) -> Applied | None:
    done = [a for a in _versioned(applied) if a.success]
    return max(done, key=lambda a: version_key(a.version or ""), default=None)


def run(spec: CheckSpec, conn: Conn, table: str, migrations: Path | None) -> CheckResult:
    if spec.kind == "flyway_history":
        return _history(conn, table)
    applied = history(conn, table)
    if spec.kind == "flyway_no_failed":
        return _no_failed(applied, table)
    if spec.kind == "flyway_ranks_contiguous":
        return _ranks(applied, table)
    if migrations is None and (spec.kind == "flyway_migrations" or spec.get(spec.kind) == "local"):
        return CheckResult(
            "",
            skipped=word(
                "no migrations folder: pass ", Given(Setting.MIGRATIONS, "DIR"), " or set flyway.migrations"
            ),
        )
    local = local_migrations(migrations) if migrations is not None else []
    if spec.kind == "flyway_latest_version":
        return _latest(applied, str(spec.get(spec.kind)), local, table)
    return compare(applied, local, migrations or Path("."))


def _history(conn: Conn, table: str) -> CheckResult:
    oid = relation_oid(conn, table)
    if oid is None:
        return CheckResult(
            f"Flyway history table {table} does not exist", 1, 1, details=[f"Missing tables: {table}"]
        )
    have = [
        r[0]
        for r in conn.execute(
            "SELECT attname FROM pg_attribute WHERE attrelid = %s AND attnum > 0 AND NOT attisdropped",
            (oid,),
        ).fetchall()
    ]
    missing = [c for c in COLUMNS if c not in have]
    if missing:
        return CheckResult(
            f"{table} is not a Flyway history table: missing columns {', '.join(missing)}",
            len(missing),
            len(COLUMNS),
            details=[f"Missing columns in {table}: {', '.join(missing)}"],
        )
    applied = history(conn, table)
    latest = latest_applied(applied)
    return CheckResult(
        f"{table}: {len(applied)} rows, latest version {latest.version if latest else 'none'}", 0, 1
    )


def _no_failed(applied: list[Applied], table: str) -> CheckResult:
    failed = [a for a in applied if not a.success]
    if not failed:
        return CheckResult(f"no failed migration in {len(applied)} rows of {table}", 0, len(applied))
    names = ", ".join(f"{a.version or 'repeatable'} ({a.description})" for a in failed)
    return CheckResult(
        f"{counted(len(failed), 'failed migration', 'failed migrations')} in {table}: {names}",
        len(failed),
        len(applied),
        details=[f"Detected failed migration to version {a.version} ({a.description})" for a in failed],
        sample=[
            {"installed_rank": a.rank, "version": a.version, "description": a.description, "script": a.script}
            for a in failed
        ],
        sample_key=["installed_rank"],
        failures_sql=f"SELECT * FROM {table_sql(table)} WHERE NOT success ORDER BY installed_rank",
    )


def _ranks(applied: list[Applied], table: str) -> CheckResult:
    ranks = [a.rank for a in applied]
    problems = []
    start = ranks[0] if ranks else 1
    if start not in (0, 1):
        problems.append(f"installed_rank starts at {start}, want 0 or 1")
    problems += [f"installed_rank jumps from {a} to {b}" for a, b in itertools.pairwise(ranks) if b != a + 1]
    if ranks and ranks[0] == 0 and applied[0].type != "SCHEMA":
        problems.append(f"installed_rank 0 is a {applied[0].type} row, want Flyway's SCHEMA row")
    if not problems:
        return CheckResult(
            f"installed_rank {start}..{ranks[-1] if ranks else start} without gaps", 0, len(ranks)
        )
    return CheckResult(f"{table}: {problems[0]}", len(problems), len(ranks), details=problems[1:])


def _latest(applied: list[Applied], want: str, local: list[LocalMigration], table: str) -> CheckResult:
    latest = latest_applied(applied)
    have = latest.version if latest else None
    if want == "local":
        newest = max(
            (m for m in local if m.version), key=lambda m: version_key(m.version or ""), default=None
        )
        if newest is None:
            raise CheckError("flyway_latest_version: local, but the migrations folder holds no V migration")
        want, hint = str(newest.version), f" ({newest.script} is the newest local migration)"
    else:
        hint = ""
    if have is not None and version_key(have) == version_key(want):
        return CheckResult(f"latest applied version is {have}", 0, 1)
    return CheckResult(
        f"latest applied version in {table} is {have or 'none'}, want {want}{hint}",
        1,
        1,
        details=[f"have: {have or 'none'}", f"want: {want}"],
    )


def compare(applied: list[Applied], local: list[LocalMigration], folder: Path) -> CheckResult:
    """What `flyway validate` and `flyway info` would say, each problem named with Flyway's state."""
    problems: list[str] = []
    rows: list[dict[str, Any]] = []
    local_versions = {version_key(m.version): m for m in local if m.version}
    versioned = [a for a in _versioned(applied) if a.type not in ("BASELINE", "JDBC", "SPRING_JDBC")]
    newest_local = max(local_versions, default=())
    applied_keys = {version_key(a.version or "") for a in versioned}
    for a in versioned:
        mine = local_versions.get(version_key(a.version or ""))
        if mine is None:
            future = version_key(a.version or "") > newest_local
            state = (
                ("Future" if future else "Missing")
                if a.success
                else ("Failed (Future)" if future else "Failed (Missing)")
            )
            problems.append(
                f"{state}: version {a.version} ({a.description}, {a.script}) applied but not in {folder}"
            )
            rows.append({"version": a.version, "state": state, "script": a.script})
        elif a.checksum != mine.checksum:
            problems.append(
                f"Checksum mismatch for version {a.version} ({mine.script}): "
                f"applied to database {a.checksum}, resolved locally {mine.checksum}"
            )
            rows.append({"version": a.version, "state": "checksum mismatch", "script": mine.script})
        elif a.description != mine.description:
            problems.append(
                f"Description mismatch for version {a.version}: applied {a.description!r}, "
                f"resolved locally {mine.description!r}"
            )
            rows.append({"version": a.version, "state": "description mismatch", "script": mine.script})
    newest_applied = max(applied_keys, default=())
    for key, mine in sorted(local_versions.items()):
        if key not in applied_keys:
            state = "Pending" if key > newest_applied else "Ignored"
            why = (
                "the backup is older than the code" if state == "Pending" else "lower than an applied version"
            )
            problems.append(f"{state}: {mine.script} (version {mine.version}) not applied: {why}")
            rows.append({"version": mine.version, "state": state, "script": mine.script})
    problems += _repeatables(applied, local, folder, rows)
    tested = len(versioned) + len(local_versions)
    if not problems:
        return CheckResult(f"all {len(versioned)} applied migrations match {folder}", 0, tested)
    head = "; ".join(f"{r['state']} {r['script']}" for r in rows[:3])
    more = f"; and {len(problems) - 3} more" if len(problems) > 3 else ""
    return CheckResult(
        f"{counted(len(problems), 'migration differs', 'migrations differ')} from {folder}: {head}{more}",
        len(problems),
        tested,
        details=problems,
        sample=rows,
        sample_key=["version"],
    )


def _repeatables(
    applied: list[Applied], local: list[LocalMigration], folder: Path, rows: list[dict[str, Any]]
) -> list[str]:
    latest: dict[str, Applied] = {}
    for a in applied:
        if a.version is None and a.type == "SQL":
            latest[a.description] = a  # ordered by rank: the last application counts
    problems = []
    mine = {m.description: m for m in local if m.version is None}
    for description, a in latest.items():
        if description not in mine:
            problems.append(f"Missing: repeatable {a.script} applied but not in {folder}")
            rows.append({"version": None, "state": "Missing", "script": a.script})
        elif mine[description].checksum != a.checksum:
            problems.append(f"Outdated: repeatable {mine[description].script} changed since it was applied")
            rows.append({"version": None, "state": "Outdated", "script": mine[description].script})
    for description, m in mine.items():
        if description not in latest:
            problems.append(f"Pending: repeatable {m.script} never applied")
            rows.append({"version": None, "state": "Pending", "script": m.script})
    return problems
