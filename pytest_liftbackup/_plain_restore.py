"""The native engine for plain SQL dumps: psycopg 3, statement by statement, COPY over the COPY protocol.

It reads the dump twice. The first pass (`scan`) runs nothing: it hashes the file, refuses
any psql meta-command other than pg_dump's own before a single statement runs, notes the roles
named, and proves the file complete (pg_dump's trailer, every COPY block closed). The second
pass (`execute`) runs it, with psql's semantics (autocommit, stop at the first error).
"""

from __future__ import annotations

import hashlib
import re
import zlib
from dataclasses import dataclass, field
from typing import Any

import psycopg

from ._dumpfile import DumpInfo, open_plain
from ._errors import RestoreError
from ._extensions import superuser_statement
from ._janitor import conninfo_from
from ._roles import RoleTally, sets_ownership_or_privileges
from ._sqlscript import UNDERSTOOD_META, CopyBlock, MetaCommand, ScriptSyntaxError, SqlScript, Statement

_COPY_BATCH = 1 << 18
_COPY_CONTEXT_LINE = re.compile(r"\bCOPY \S+, line (\d+)")
_DATABASE_ENTRIES = frozenset({"DATABASE", "DATABASE PROPERTIES"})


@dataclass
class ScanResult:
    sha256: str
    roles: RoleTally


@dataclass
class PlainStats:
    skipped: dict[str, int] = field(default_factory=dict)
    superuser_statements: int = 0  # extension statements re-composed and run by the superuser
    warnings: list[str] = field(default_factory=list)


def _read_errors(info: DumpInfo, exc: BaseException) -> RestoreError:
    kind = info.extras.get("outer", "none")
    what = f"the {kind} data is corrupt or cut short" if kind != "none" else "the file cannot be read"
    return RestoreError(f"{info.path}: {what} ({exc}); the backup is damaged, take a new one")


def scan(info: DumpInfo) -> ScanResult:
    """Check the whole file without running anything; raises RestoreError naming file and line."""
    digest = hashlib.sha256()
    roles = RoleTally()
    connected: str | None = None
    restrict_key: str | None = None
    try:
        with open_plain(info, digest) as stream:
            script = SqlScript(stream)
            for event in script:
                if isinstance(event, MetaCommand):
                    if event.name not in UNDERSTOOD_META:
                        raise RestoreError(
                            f"{info.path}:{event.line}: refused the psql meta-command \\{event.name}: "
                            "pg_dump never writes it and a dump must not run commands on this machine; "
                            "nothing was restored",
                            location=f"line {event.line}",
                            statement=f"\\{event.name} {event.args}",
                        )
                    if event.name == "restrict":
                        restrict_key = event.args
                    elif event.name == "unrestrict" and event.args != restrict_key:
                        raise RestoreError(
                            f"{info.path}:{event.line}: \\unrestrict with a key that no "
                            "\\restrict set; the file was edited or spliced"
                        )
                    elif event.name in ("connect", "c"):
                        target = event.args.split()[-1] if event.args.split() else ""
                        if connected is not None and target != connected:
                            raise RestoreError(
                                f"{info.path}:{event.line}: a second \\connect (to {target}): this is "
                                "pg_dumpall output of several databases; dump one database with pg_dump"
                            )
                        connected = target
                    continue
                statement = event.statement if isinstance(event, CopyBlock) else event
                roles.add(statement)
            if not script.complete:
                raise RestoreError(
                    f"{info.path}: the dump is cut short: it ends at line {script.lines} without the "
                    "'-- PostgreSQL database dump complete' line pg_dump writes last; the backup is "
                    "incomplete, take a new one",
                    location=f"line {script.lines}",
                )
    except ScriptSyntaxError as exc:
        raise RestoreError(
            f"{info.path}:{exc.line}: the dump is cut short: {exc}; take a new backup",
            location=f"line {exc.line}",
        ) from None
    except RestoreError:
        raise
    except (OSError, EOFError, zlib.error) as exc:
        raise _read_errors(info, exc) from None
    except Exception as exc:  # zstandard / lz4 errors have their own types
        if type(exc).__module__.split(".")[0] in ("zstandard", "lz4", "_lz4"):
            raise _read_errors(info, exc) from None
        raise
    return ScanResult(digest.hexdigest(), roles)


def _skip_reason(statement: Statement, restores_ownership: bool) -> str | None:
    entry = statement.entry
    if entry and entry.type in _DATABASE_ENTRIES:
        return "CREATE/ALTER DATABASE (restored into the throwaway database instead)"
    if not restores_ownership and sets_ownership_or_privileges(statement):
        return "ownership and privileges (not restored on an existing server)"
    return None


def execute(
    info: DumpInfo,
    conninfo: dict[str, str],
    *,
    restores_ownership: bool,
    superuser: dict[str, str] | None = None,
) -> PlainStats:
    """Run the dump into the database; the first error stops it and is raised as RestoreError.

    With `superuser` (our own server only), extensions are created as `_extensions` describes.
    """
    stats = PlainStats()
    admin = psycopg.connect(conninfo_from(superuser), autocommit=True) if superuser else None
    try:
        with psycopg.connect(conninfo_from(conninfo), autocommit=True) as conn:
            conn.add_notice_handler(lambda diag: _warning(stats, diag))
            cur = conn.cursor()
            with open_plain(info) as stream:
                for event in SqlScript(stream):
                    if isinstance(event, MetaCommand):
                        continue  # only pg_dump's own are left after scan(); none changes what runs
                    statement = event.statement if isinstance(event, CopyBlock) else event
                    reason = _skip_reason(statement, restores_ownership)
                    if reason:
                        stats.skipped[reason] = stats.skipped.get(reason, 0) + 1
                        continue
                    elevated = superuser_statement(statement) if admin is not None else None
                    try:
                        if isinstance(event, CopyBlock):
                            _copy(cur, event)
                        elif elevated is not None and admin is not None:
                            admin.execute(elevated)
                            stats.superuser_statements += 1
                        else:
                            cur.execute(statement.sql)
                    except psycopg.Error as exc:
                        raise _restore_error(info, statement, exc) from None
    finally:
        if admin is not None:
            admin.close()
    return stats


def _copy(cur: psycopg.Cursor[Any], block: CopyBlock) -> None:
    batch = bytearray()
    with cur.copy(block.statement.sql) as copy:
        for row in block.data:
            batch += row
            if len(batch) >= _COPY_BATCH:
                copy.write(batch)
                batch = bytearray()
        if batch:
            copy.write(batch)


def _warning(stats: PlainStats, diag: psycopg.errors.Diagnostic) -> None:
    if diag.severity_nonlocalized in ("WARNING",) and len(stats.warnings) < 50:
        stats.warnings.append(f"{diag.severity}: {diag.message_primary}")


def _restore_error(info: DumpInfo, statement: Statement, exc: psycopg.Error) -> RestoreError:
    diag = exc.diag
    line = statement.line
    context = diag.context or ""
    copy_line = _COPY_CONTEXT_LINE.search(context)
    if copy_line:
        line = statement.line + int(copy_line.group(1))
    primary = diag.message_primary or str(exc).strip()
    detail = "\n".join(
        part
        for part in (
            f"DETAIL: {diag.message_detail}" if diag.message_detail else "",
            f"HINT: {diag.message_hint}" if diag.message_hint else "",
            f"CONTEXT: {context}" if context else "",
            f"SQLSTATE: {diag.sqlstate}" if diag.sqlstate else "",
        )
        if part
    )
    where = f" ({statement.entry})" if statement.entry else ""
    return RestoreError(
        f"{info.path}:{line}: restore failed{where}: {primary}",
        location=f"line {line}{where}",
        statement=statement.sql.decode("utf-8", "replace"),
        detail=detail,
    )
