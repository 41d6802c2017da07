"""Check files as pytest collectors and each check as an item (one per dump when there are several).

A check runs in `setup`, so a check that cannot run (its table missing, its SQL broken, the restore
failed) is an ERROR, while one that runs and finds too many failures is a FAILURE, as with fixtures.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from pytest_liftbackup._errors import CheckFailed, CheckWarning, LiftbackupError
from pytest_liftbackup._safe_text import shown, shown_lines
from pytest_liftbackup.api import load_file
from pytest_liftbackup.checks.result import CheckResult, as_record, verdict
from pytest_liftbackup.checks.runner import Scope, run_check
from pytest_liftbackup.checks.vocabulary import CheckFileError, CheckSpec
from pytest_liftbackup.plugin.items import SESSION_KEY, node_path
from pytest_liftbackup.plugin.run_report import DUMP_PROPERTY, PROPERTY
from pytest_liftbackup.plugin.terminal import shown_path

if TYPE_CHECKING:
    from pytest_liftbackup.dump.inspect import DumpInfo
    from pytest_liftbackup.plugin.state import LiftbackupSession


class CheckFileCollector(pytest.File):
    def __init__(self, *, dumps: list[DumpInfo], migrations: Path | None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.dumps = dumps
        self.migrations = migrations

    def collect(self) -> list[pytest.Item]:
        shown = shown_path(self.path, self.config.invocation_params.dir)
        checks = load_file(self.path, shown, self.migrations)
        items: list[pytest.Item] = []
        for check in checks:
            for dump in self.dumps:
                name = check.name if len(self.dumps) == 1 else f"{check.name}[{dump.id}]"
                item = CheckItem.from_parent(self, name=name, spec=check.spec, scope=check.scope, dump=dump)
                for mark in (*check.file_marks, *(check.spec.get("marks") or [])):
                    item.add_marker(mark)
                items.append(item)
        return items

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        if isinstance(excinfo.value, CheckFileError):
            return shown_lines(str(excinfo.value))
        return super().repr_failure(excinfo)


class CheckItem(pytest.Item):
    def __init__(self, *, spec: CheckSpec, scope: Scope, dump: DumpInfo, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.spec = spec
        self.scope = scope
        self.dump = dump
        self.result: CheckResult | None = None
        self.user_properties.append((DUMP_PROPERTY, dump.id))

    def _record(self, outcome: str, error: str = "") -> dict[str, Any]:
        record = as_record(self.spec, self.result, outcome, error)
        self.user_properties.append((PROPERTY, json.dumps(record, default=str)))
        return record

    def setup(self) -> None:
        state: LiftbackupSession = self.config.stash[SESSION_KEY]
        restore = state.outcome(self.dump.id)
        if not restore.ok:
            first = restore.error_text().splitlines()[0]
            message = shown(f"restore of {self.dump.name} failed (see {self.dump.name}::restore): {first}")
            if state.failure_shown(self.dump.id):  # its restore item (or an earlier check) failed with it
                self._record("skipped", message)
                raise pytest.skip.Exception(message, _use_item_location=True)
            self._record("error", message)
            pytest.fail(message, pytrace=False)
        try:
            conn = state.check_connection(self.dump.id)
            self.result = run_check(conn, self.spec, self.scope)
        except LiftbackupError as exc:
            self._record("error", str(exc))
            pytest.fail(shown_lines(str(exc)), pytrace=False)

    def runtest(self) -> None:
        assert self.result is not None
        outcome = verdict(self.spec, self.result)
        record = self._record(outcome)
        if outcome == "skipped":  # reported at the check's line in its YAML file
            raise pytest.skip.Exception(shown(self.result.skipped or ""), _use_item_location=True)
        if outcome == "failed":
            raise CheckFailed(record["report"])
        if outcome == "warned":
            warnings.warn_explicit(
                CheckWarning(record["report"]),
                CheckWarning,
                str(self.spec.path),
                self.spec.line,
            )

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        if isinstance(excinfo.value, LiftbackupError):
            return shown_lines(str(excinfo.value))
        return super().repr_failure(excinfo)

    def reportinfo(self) -> tuple[Any, int | None, str]:
        return self.spec.path, self.spec.line - 1, self.name


def check_collector(
    state: LiftbackupSession, file_path: Path, parent: pytest.Collector
) -> pytest.File | None:
    """The collector of `file_path` when it is one of the check files, else None."""
    if file_path.resolve() not in state.check_paths:
        return None
    return CheckFileCollector.from_parent(
        parent, path=file_path, dumps=state.dumps, migrations=state.settings.migrations
    )


def check_items(session: pytest.Session, state: LiftbackupSession) -> list[pytest.Item]:
    """The items of the check files pytest's own collection did not reach, when they are wanted: no
    paths were given (pytest collects the testpaths or the rootdir), or the checks were asked for
    (--liftbackup-checks, its environment variable or ini). `pytest tests/x.py` runs no check
    otherwise; `pytest checks/x.yml::name` selects one. A malformed file is a collection error."""
    explicit = session.config.args_source == pytest.Config.ArgsSource.ARGS
    if explicit and state.settings.checks_source.startswith("default"):
        return []
    items: list[pytest.Item] = []
    for path in state.check_files:
        if path.resolve() in state.collected_files:
            continue
        nodeid = node_path(path, session.config.rootpath)
        collector = CheckFileCollector.from_parent(
            session, path=path, nodeid=nodeid, dumps=state.dumps, migrations=state.settings.migrations
        )
        items += session.genitems(collector)
    return items
