"""One pytest session's dumps and restores: the engine's Restorer, and what the plugin tracks around it
(which items test which dump, what pytest's collection met, what xdist workers reported)."""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import os
from pathlib import Path
from typing import Any

import psycopg

from pytest_liftbackup.api import Restorer, RestorerConfig, check_files, found_dumps
from pytest_liftbackup.dump.inspect import DumpInfo
from pytest_liftbackup.plugin.options import Settings
from pytest_liftbackup.plugin.run_report import RunReport
from pytest_liftbackup.restore.engine import RestoreOutcome
from pytest_liftbackup.server.databases import elevated


class LiftbackupSession:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._decrypted = contextlib.ExitStack()  # encrypted dumps' decrypted copies, until close()
        self.dumps: list[DumpInfo] = self._decrypted.enter_context(
            found_dumps(settings.dumps, settings.identity)
        )
        self.restorer = Restorer(
            self.dumps,
            RestorerConfig(
                pg_bin=settings.pg_bin,
                dsn=settings.dsn,
                jobs=settings.jobs,
                trusted=settings.trusted,
                limits=settings.limits,
                reuse=settings.reuse,
                cache_dir=settings.cache_dir,
            ),
        )
        self.outcomes: dict[str, RestoreOutcome] = self.restorer.outcomes
        self.item_dumps: dict[str, str] = {}  # test nodeid -> dump id, for the summary
        self.collected_files: set[Path] = set()  # dump and check files pytest's collection met
        self.restore_items: set[str] = set()  # dumps whose restore item is in this run (after -k, --lf)
        self._failures_shown: set[str] = set()
        self.workers_host: tuple[str, dict[str, str]] = ("", {})  # under xdist: the servers workers ran
        self.workers_kept: list[str] = []  # under xdist, --liftbackup-keep: what the workers left running
        self.run_report = RunReport(self.dumps, settings.report, settings.markdown, self.outcomes)

    @functools.cached_property
    def check_files(self) -> list[Path]:
        """The check files of the run, found once: pytest asks about every file it meets."""
        return check_files(self.settings.checks)

    @functools.cached_property
    def check_paths(self) -> set[Path]:
        return {path.resolve() for path in self.check_files}

    @functools.cached_property
    def dump_paths(self) -> dict[Path, DumpInfo]:
        """Each dump by the path pytest meets: the file given (an encrypted one, not its decrypted copy)."""
        return {dump.given.resolve(): dump for dump in self.dumps}

    @functools.cached_property
    def file_names(self) -> frozenset[str]:
        """The names of the dump and check files, as given and as resolved: pytest asks about every file
        under the rootdir, and only a file of one of these names needs resolving to tell (a file met
        under another name is still run, by `dump_items`/`check_items`)."""
        paths = [*self.check_files, *(dump.given for dump in self.dumps)]
        return frozenset(name for path in paths for name in (path.name, path.resolve().name))

    @property
    def progress(self) -> Any:
        return self.restorer.config.progress

    @progress.setter
    def progress(self, progress: Any) -> None:
        """Told how far a restore is (the plugin's TerminalProgress)."""
        self.restorer.config = dataclasses.replace(self.restorer.config, progress=progress)

    def dump(self, dump_id: str) -> DumpInfo:
        return self.restorer.dump(dump_id)

    @property
    def host_description(self) -> str:
        return self.restorer.host_description or self.workers_host[0]

    @property
    def server_settings(self) -> dict[str, str]:
        return self.restorer.server_settings or self.workers_host[1]

    def outcome(self, dump_id: str) -> RestoreOutcome:
        """The restore of one dump, done on first request and remembered for the session."""
        outcome = self.restorer.outcome(dump_id)
        self.run_report.server_version = self.run_report.server_version or self.restorer.server_version
        return outcome

    def check_connection(self, dump_id: str) -> psycopg.Connection[Any]:
        return self.restorer.check_connection(dump_id)

    def keep(self) -> list[str]:
        return self.restorer.keep()

    def restore_again(self, dump_id: str) -> RestoreOutcome:
        return self.restorer.restore_again(dump_id)

    def drop(self, outcome: RestoreOutcome) -> None:
        self.restorer.drop(outcome)

    def failure_shown(self, dump_id: str) -> bool:
        """Whether the failed restore of this dump is already shown as a failure in this run: by its
        restore item, or else by the first check that asked (which says so; the others skip)."""
        shown = dump_id in self.restore_items or dump_id in self._failures_shown
        self._failures_shown.add(dump_id)
        return shown

    def timing_facts(self, outcome: RestoreOutcome) -> dict[str, Any]:
        """What a saved benchmark run keeps beside the time: sizes, rows, server and settings."""
        assert outcome.database is not None
        admin = self.restorer.admin_conninfo()
        with elevated(admin) as conn:
            row = conn.execute("SELECT pg_catalog.pg_database_size(%s)", (outcome.database.name,)).fetchone()
        return {
            "dump_file": outcome.info.path.name,
            "dump_mb": round(outcome.info.size / 1e6, 2),
            "database_mb": round(int(row[0]) / 1e6, 2) if row else None,
            "rows": outcome.rows,
            "tables": len(outcome.tables),
            "engine": outcome.engine,
            "jobs": self.settings.jobs,
            "postgresql": self.restorer.server_version,
            "cpu_count": os.cpu_count(),
            "settings": self.server_settings,
        }

    def close(self) -> None:
        """Drop every database this run created, stop the server, remove temporary files. Idempotent."""
        try:
            self.restorer.close()
        finally:
            self._decrypted.close()
