"""Custom, directory and tar archives go through pg_restore from the chosen binaries."""

from __future__ import annotations

import functools
import io
import os
import re
import shutil
import subprocess
import tarfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from pytest_liftbackup._errors import RestoreError
from pytest_liftbackup.dump.archive_toc import UnsafeArchive, check_directory
from pytest_liftbackup.dump.inspect import DumpInfo, _decompressor
from pytest_liftbackup.dump.sql_script import SqlScript, Statement
from pytest_liftbackup.restore import elevation
from pytest_liftbackup.restore.elevation import new_owner
from pytest_liftbackup.restore.extensions import note, superuser_statement, with_hint
from pytest_liftbackup.restore.limits import TIME_LIMIT, UNLIMITED, bounded_copy, deadline_check
from pytest_liftbackup.restore.roles import RoleTally
from pytest_liftbackup.restore.skips import CREATE_PUBLIC, NOT_OWNED, RestoreStats, skip_reason
from pytest_liftbackup.server.binaries import PgBinaries
from pytest_liftbackup.server.database_shape import DatabaseShape
from pytest_liftbackup.server.database_shape import parse as database_shape
from pytest_liftbackup.server.databases import conninfo_from, into_dump_database
from pytest_liftbackup.server.libpq_env import tool_env
from pytest_liftbackup.server.unprivileged import OsUser, make_private_dir, reachable_binaries

_MAX_MEMBERS = 200_000  # a directory dump has a file per table (and large object)
_TOC_ENTRY = re.compile(r"from TOC entry (\d+); \d+ \d+ (.+)$")
_ERROR = re.compile(r"^pg_restore: error: (.*)$")
_PROCESSING = re.compile(r"^pg_restore: (creating|processing data for|processing item|executing) (.*)$")


@dataclass(frozen=True)
class ArchiveAccess:
    """An archive pg_restore may read, and how to run pg_restore on it.

    The archive is proved to hold only its own files (`dump/archive_toc`). When pytest runs as root,
    pg_restore into a throwaway server runs as the unprivileged user that runs the server, on a private
    copy only that user can read: whatever a crafted archive names, it can open nothing root could and
    that user cannot. Into the user's own server (`as_us`: staging beside the main database, an existing
    server) it runs as ourselves, with our HOME: our ~/.pgpass and TLS files are ours, and no other OS
    user's process may read its environment.
    """

    archive: Path
    binaries: PgBinaries
    folder: Path  # holds every copy made for this archive
    user: OsUser | None = None

    def discard(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)

    @functools.cached_property
    def toc_list(self) -> str:
        """pg_restore --list of the archive, read once (the use-list and the progress count need it)."""
        return self.run(["--list"], timeout=600).stdout.decode("utf-8", "replace")

    def run(
        self,
        args: list[str],
        env: dict[str, str] | None = None,
        timeout: float | None = None,
        on_line: Callable[[bytes], None] | None = None,
        as_us: bool = False,
    ) -> subprocess.CompletedProcess[bytes]:
        """pg_restore on the archive, in `env` (ours if None), as the archive's user unless `as_us`. With
        `on_line`, each line of its stderr is handed over as it comes (its stdout is not kept then);
        interrupted, pg_restore is killed before this returns."""
        extra: dict[str, Any] = self.user.popen_kwargs() if self.user and not as_us else {}
        command = [str(self.binaries.tool("pg_restore")), *args, str(self.archive)]
        where = {"env": dict(os.environ) if env is None else env, "cwd": self.archive.parent, **extra}
        if on_line is None:
            return subprocess.run(command, capture_output=True, timeout=timeout, check=False, **where)
        lines: list[bytes] = []
        with subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, **where) as proc:
            try:
                assert proc.stderr is not None
                for line in proc.stderr:
                    lines.append(line)
                    on_line(line)
                proc.wait(timeout)
            except BaseException:
                proc.kill()
                proc.wait()
                raise
        return subprocess.CompletedProcess(command, proc.returncode, b"", b"".join(lines))


def prepare(
    info: DumpInfo,
    binaries: PgBinaries,
    workdir: Path,
    user: OsUser | None,
    budget: int = UNLIMITED,
    deadline: float | None = None,
) -> ArchiveAccess:
    """Check the archive, and give it (and pg_restore) to `user` when pytest runs as root.

    Everything made for it lies in one folder under `workdir`, removed by `ArchiveAccess.discard()`.
    Reading a directory archive's table of contents stops at `deadline` with the time-limit error.
    """
    folder = make_private_dir(workdir / f"{info.id}.archive", user)
    try:
        archive = readable_archive(info, folder, budget)
        is_dir = archive.is_dir()
        try:
            files = (
                check_directory(archive, deadline_check(deadline, str(info.path))) if is_dir else [archive]
            )
        except (UnsafeArchive, OSError) as exc:
            raise RestoreError(
                f"{info.path}: refused: {exc}; a pg_dump archive only names its own files, "
                "so this one was crafted or damaged; nothing was restored"
            ) from None
        if user is None:
            return ArchiveAccess(archive, binaries, folder)
        private = make_private_dir(folder / "private", user)
        for source in files:
            target = private / (source.name if is_dir else "archive")
            _copy_no_follow(source, target)
            os.chown(target, user.uid, user.gid)
        if archive.is_relative_to(folder) and is_dir:  # our unpacked copy: the private one replaces it
            shutil.rmtree(archive)
        elif archive.is_relative_to(folder):
            archive.unlink()
        staged = reachable_binaries(binaries, user, make_private_dir(folder / "bin", user))
        return ArchiveAccess(private if is_dir else private / "archive", staged, folder, user)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise


def readable_archive(info: DumpInfo, workdir: Path, budget: int) -> Path:
    """A path pg_restore can read: the dump itself, or an unpacked/decompressed copy under `workdir`."""
    outer = info.extras.get("outer", "none")
    if info.format == "directory (in tarball)":
        return _unwrap_directory(info, workdir, budget)
    if outer == "none":
        return info.path
    target = workdir / (info.id + (".tar" if info.format == "tar" else ".dump"))
    try:
        with _decompressor(info.path, outer) as source, open(target, "wb") as sink:
            bounded_copy(source, sink, budget, str(info.path))
    except RestoreError:
        raise
    except Exception as exc:
        raise RestoreError(
            f"{info.path}: the {outer} data is corrupt or cut short ({exc}); "
            "the backup is damaged, take a new one"
        ) from None
    return target


def _unwrap_directory(info: DumpInfo, workdir: Path, budget: int) -> Path:
    """Unpack the wrapped directory dump; an untrusted tarball may only write regular files below it."""
    toc_member = Path(info.extras["toc_member"])
    top = toc_member.parent.name
    target = workdir / f"{info.id}.unpacked"
    target.mkdir()
    try:
        with (
            _decompressor(info.path, info.extras.get("outer", "none")) as stream,
            tarfile.open(fileobj=stream, mode="r|") as tar,
        ):
            for count, member in enumerate(tar):
                if count > _MAX_MEMBERS:
                    raise RestoreError(
                        f"{info.path}: the tarball holds more than {_MAX_MEMBERS} files; "
                        "no directory-format dump does, so it was crafted or damaged"
                    )
                parts = Path(member.name).parts
                if not member.isfile() or len(parts) != 2 or parts[0] != top or parts[1] in ("..", "."):
                    continue  # links, devices, nested or escaping paths: never written
                source = tar.extractfile(member)
                assert source is not None
                with open(target / parts[1], "wb") as sink:
                    budget -= bounded_copy(source, sink, budget, str(info.path))
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise RestoreError(
            f"{info.path}: the tarball is corrupt or cut short ({exc}); take a new backup"
        ) from None
    return target


def _copy_no_follow(source: Path, target: Path) -> None:
    fd = os.open(source, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    with os.fdopen(fd, "rb") as src, open(target, "wb") as sink:
        shutil.copyfileobj(src, sink, 1 << 20)


_CONSEQUENCE = "a worker process died unexpectedly"


def _stderr_summary(stderr: bytes) -> tuple[str, str, str]:
    """(message, TOC entry, statement) from pg_restore's --verbose stderr."""
    text = stderr.decode("utf-8", "replace")
    message = entry = statement = ""
    last_step = ""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if m := _PROCESSING.match(line):
            last_step = f"{m.group(1)} {m.group(2)}"
        elif m := _TOC_ENTRY.search(line):
            entry = f"TOC entry {m.group(1)}: {m.group(2)}"
        elif (m := _ERROR.match(line)) and (not message or message.startswith(_CONSEQUENCE)):
            message = m.group(1)  # the first cause: a worker's death is what follows one, not why
        elif line.startswith("Command was:") and not statement:
            statement = "\n".join([line[len("Command was:") :].strip(), *lines[i + 1 : i + 4]]).strip()
    if not entry and last_step:
        entry = f"while {last_step}"
    if not message:
        message = text.strip().splitlines()[-1] if text.strip() else "pg_restore failed without a message"
    return message, entry, statement


def _cause_of_worker_death(access: ArchiveAccess) -> str | None:
    """pg_restore -j sometimes reports only that a worker died (seen under load: the worker's own error
    never reached stderr). Reading the whole archive again, into nothing and with no server, finds a
    damaged one's error; None when the archive reads whole (the cause was elsewhere)."""
    done = access.run(["-f", os.devnull], timeout=600)
    if done.returncode == 0:
        return None
    message = _stderr_summary(done.stderr)[0]
    return None if message.startswith(_CONSEQUENCE) else message


@dataclass
class ArchivePlan:
    """What reading the archive's schema told us before restoring it."""

    roles: RoleTally
    # extension name -> our re-composed statements for it (see restore/extensions)
    extensions: dict[str, list[sql.Composed]] = field(default_factory=dict)
    wanted_extensions: set[str] = field(default_factory=set)  # every extension the archive creates
    shape: DatabaseShape | None = None  # what its CREATE DATABASE asks for (every archive has one)
    ownership: list[Statement] = field(default_factory=list)  # its ALTER ... OWNER TO, in restore order
    default_acls: list[Statement] = field(default_factory=list)  # its ALTER DEFAULT PRIVILEGES FOR ROLE
    stats: RestoreStats = field(default_factory=RestoreStats)  # what is skipped (see restore/skips)
    excluded: list[str] = field(default_factory=list)  # "DESC - TAG" of TOC entries pg_restore skips


def check_and_plan(
    info: DumpInfo, access: ArchiveAccess, *, trusted: bool = False, deadline: float | None = None
) -> ArchivePlan:
    """Read the archive's schema (proving it readable): the roles it names, the extensions it creates,
    and its CREATE DATABASE (printed with --create, whether or not pg_dump was given -C). Past
    `deadline` (of time.monotonic()) pg_restore is stopped, or the reading, with the time-limit error."""
    limit = 600.0 if deadline is None else min(600.0, max(deadline - time.monotonic(), 0.01))
    try:
        done = access.run(["--schema-only", "--create", "-f", "-"], timeout=limit)
    except subprocess.TimeoutExpired:
        if deadline is not None and time.monotonic() > deadline:
            raise RestoreError(f"{info.path}: ", *TIME_LIMIT) from None
        raise
    if done.returncode != 0:
        message, entry, _ = _stderr_summary(done.stderr)
        raise RestoreError(f"{info.path}: pg_restore cannot read this archive: {message}", location=entry)
    plan = ArchivePlan(RoleTally())
    for event in SqlScript(io.BytesIO(done.stdout), check=deadline_check(deadline, str(info.path))):
        if isinstance(event, Statement):
            if why := note(event, plan.wanted_extensions, trusted):
                raise RestoreError(f"{info.path}: ", *why, location=str(event.entry or ""))
            plan.roles.add(event)
            if event.entry and event.entry.type == "DATABASE" and plan.shape is None:
                plan.shape = database_shape(event.sql)
            if reason := skip_reason(event, restores_ownership=True):
                plan.stats.skip(reason)
                if reason == CREATE_PUBLIC:
                    plan.excluded.append("SCHEMA - public")
                continue  # the source database's are not restored without --create anyway
            if new_owner(event):
                plan.ownership.append(event)
            if event.entry is not None and event.entry.type == "DEFAULT ACL":
                plan.default_acls.append(event)
            composed = superuser_statement(event)
            if composed is not None and event.entry is not None:
                name = event.entry.name.removeprefix("EXTENSION ")
                plan.extensions.setdefault(name, []).append(composed)
    return plan


def _create_extensions(plan: ArchivePlan, superuser: dict[str, str], database: str) -> int:
    """Create the plan's extensions as superuser; their TOC entries join `plan.excluded`.

    Returns how many statements the superuser ran.
    """
    ran = 0
    with into_dump_database(superuser, database) as conn:
        for name, statements in plan.extensions.items():
            try:
                for statement in statements:
                    conn.execute(statement)
            except psycopg.Error:
                continue  # e.g. its schema comes later in the dump: pg_restore will try, and say why
            plan.excluded += [f"EXTENSION - {name}", f"COMMENT - EXTENSION {name}"]
            ran += len(statements)
    return ran


def _use_list(access: ArchiveAccess, excluded: list[str]) -> list[str]:
    """pg_restore options that restore every TOC entry but the `excluded` ones ("DESC - TAG")."""
    if not excluded:
        return []
    skip = re.compile(r"^\d+; \d+ \d+ (?:" + "|".join(map(re.escape, excluded)) + r")(?: |$)")
    kept = [line for line in access.toc_list.splitlines() if not skip.match(line)]
    use_list = access.folder / "use.list"
    use_list.write_text("\n".join(kept) + "\n")
    if access.user is not None:
        os.chown(use_list, access.user.uid, access.user.gid)
    return [f"--use-list={use_list}"]


def restore(
    info: DumpInfo,
    access: ArchiveAccess,
    conninfo: dict[str, str],
    *,
    restores_ownership: bool,
    jobs: int = 1,
    plan: ArchivePlan | None = None,
    superuser: dict[str, str] | None = None,
    progress: Callable[[int, int], None] | None = None,
    as_us: bool = False,
    owners_later: bool = False,
) -> RestoreStats:
    """Run pg_restore; returns what was skipped and what the superuser did (extensions, elevation).
    `superuser`: how to reach our own server's maintenance database as superuser.

    `progress(TOC entries done, TOC entries in all)` is called about twice a second; `as_us`: the server
    is the user's own, pg_restore runs as ourselves (see ArchiveAccess); `owners_later`: the plan's
    ownership statements are left to the caller (restore/owners)."""
    args = ["--exit-on-error", "--verbose", "--no-password"]
    plan = plan or ArchivePlan(RoleTally())
    stats = RestoreStats(dict(plan.stats.skipped))
    if plan.extensions and superuser:
        stats.superuser_statements += _create_extensions(plan, superuser, conninfo["dbname"])
    # owners_later: default privileges name their role, which the restoring role may not act for
    args += _use_list(access, plan.excluded + (["DEFAULT ACL"] if owners_later else []))
    if not restores_ownership:
        args += ["--no-owner", "--no-privileges"]
    elif superuser or owners_later:
        args.append("--no-owner")  # ownership is set afterwards (see _set_owners, restore/owners)
    if jobs > 1 and info.format in ("custom", "directory", "directory (in tarball)"):
        args.append(f"--jobs={jobs}")
    args += ["--dbname", conninfo["dbname"]]
    on_line = _counter(access, progress) if progress else None
    owner = None if as_us else access.user
    settings = {k: v for k, v in conninfo.items() if k != "dbname"}
    with tool_env(settings, access.binaries.major, owner, "pg_restore", access.folder) as env:
        done = access.run(args, env, on_line=on_line, as_us=as_us)
    if done.returncode != 0:
        message, entry, statement = _stderr_summary(done.stderr)
        if message.startswith(_CONSEQUENCE):
            message = _cause_of_worker_death(access) or message
        if "corrupt archive" in message or "end of file" in message:
            message += "; the archive is damaged or cut short; take a new backup"
        hinted = with_hint(message, done.stderr.decode("utf-8", "replace"))
        raise RestoreError(
            f"{info.path}: restore failed{f' ({entry})' if entry else ''}: ",
            *hinted,
            location=entry,
            statement=statement,
        )
    if restores_ownership and superuser and not owners_later:
        stats.superuser_statements += _set_owners(info, plan, conninfo, superuser)
    if not restores_ownership:
        stats.skip(NOT_OWNED)
    return stats


def _counter(access: ArchiveAccess, progress: Callable[[int, int], None]) -> Callable[[bytes], None]:
    """Counts the entries pg_restore --verbose says it works on, against those in its list."""
    total = sum(1 for line in access.toc_list.splitlines() if line[:1].isdigit())
    seen = [0, time.monotonic()]

    def on_line(line: bytes) -> None:
        if _PROCESSING.match(line.decode("utf-8", "replace").rstrip("\n")):
            seen[0] += 1
            if time.monotonic() - seen[1] >= 0.5:
                seen[1] = time.monotonic()
                progress(min(int(seen[0]), total), total)

    return on_line


def _set_owners(
    info: DumpInfo, plan: ArchivePlan, conninfo: dict[str, str], superuser: dict[str, str]
) -> int:
    """Hand each object to its owner as the restorer, after pg_restore ran without them: a new owner
    that may not create in the object's schema gets that right lent for the statement (restore/elevation).
    The superuser's connection opens after the settings pg_restore's run left on the database are reset."""
    helped = 0
    with (
        into_dump_database(superuser, conninfo["dbname"]) as admin,
        psycopg.connect(conninfo_from(conninfo), autocommit=True) as conn,
    ):
        for statement in plan.ownership:
            try:
                helped += elevation.run(admin, conn, statement)
            except psycopg.Error as exc:
                hinted = with_hint(exc.diag.message_primary or str(exc), exc.diag.message_hint or "")
                raise RestoreError(
                    f"{info.path}: restore failed ({statement.entry}): ",
                    *hinted,
                    location=str(statement.entry or ""),
                    statement=statement.sql.decode("utf-8", "replace"),
                ) from None
    return helped
