"""The restore as a pytest item: `DUMPNAME::restore` passes or fails with the restore's own message."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from pytest_liftbackup._errors import LiftbackupError
from pytest_liftbackup._safe_text import shown, shown_lines
from pytest_liftbackup.plugin.run_report import DUMP_PROPERTY, PROPERTY, restore_record

if TYPE_CHECKING:
    from pytest_liftbackup.dump.inspect import DumpInfo
    from pytest_liftbackup.plugin.state import LiftbackupSession

SESSION_KEY = pytest.StashKey["LiftbackupSession"]()


class RestoreFailed(LiftbackupError):
    pass


class DumpCollector(pytest.File):
    """One dump file: its restore item (its checks hang under their check files).

    Collected like any test file, so its node id is its path and `pytest PATH::restore` selects it."""

    def __init__(self, *, dump: DumpInfo, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.dump = dump

    def collect(self) -> list[pytest.Item]:
        return [RestoreItem.from_parent(self, name="restore", dump=self.dump)]


class RestoreItem(pytest.Item):
    def __init__(self, *, dump: DumpInfo, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.dump = dump
        self.user_properties.append((DUMP_PROPERTY, dump.id))

    def runtest(self) -> None:
        outcome = self.config.stash[SESSION_KEY].outcome(self.dump.id)
        self.user_properties.append((PROPERTY, json.dumps(restore_record(outcome), default=str)))
        if not outcome.ok:
            raise RestoreFailed(outcome.error_text())

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        if isinstance(excinfo.value, LiftbackupError):
            return shown_lines(str(excinfo.value))  # its values were shown where it was worded
        return super().repr_failure(excinfo)

    def reportinfo(self) -> tuple[Any, int | None, str]:
        return self.dump.given, None, "restore"  # pytest turns dots in a longer domain into ::


def node_path(path: Path, rootpath: Path) -> str:
    """The node id pytest gives a file: its path under the rootdir; in full when outside it (pytest
    would give a bare name there, which no command line can select). `shown`: pytest prints it as it is,
    and a file name is untrusted (a backup folder's)."""
    try:
        return shown(path.resolve().relative_to(rootpath.resolve()).as_posix())
    except ValueError:
        return shown(path.resolve().as_posix())


def restore_collector_ids(state: LiftbackupSession, rootpath: Path) -> list[tuple[str, str]]:
    """(dump id, node id of its collector): the dump's path, as pytest names files."""
    return [(d.id, node_path(d.given, rootpath)) for d in state.dumps]


def dump_collector(state: LiftbackupSession, file_path: Path, parent: pytest.Collector) -> pytest.File | None:
    """The collector of `file_path` when it is a dump given with --liftbackup, else None."""
    dump = state.dump_paths.get(file_path.resolve())
    if dump is None:
        return None
    nodeid = node_path(file_path, parent.config.rootpath)
    return DumpCollector.from_parent(parent, path=file_path, nodeid=nodeid, dump=dump)


def dump_items(session: pytest.Session, state: LiftbackupSession) -> list[pytest.Item]:
    """The restore items of the dumps pytest's own collection did not reach (outside the paths
    given or the testpaths): a restore is what --liftbackup asks for, so it always runs."""
    items: list[pytest.Item] = []
    for dump, (_, nodeid) in zip(
        state.dumps, restore_collector_ids(state, session.config.rootpath), strict=True
    ):
        if dump.given.resolve() in state.collected_files:
            continue
        collector = DumpCollector.from_parent(session, path=dump.given, nodeid=nodeid, dump=dump)
        items += session.genitems(collector)  # counted and reported like any collected item
    return items
