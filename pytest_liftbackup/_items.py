"""The restore as a pytest item: `DUMPNAME::restore` passes or fails with the restore's own message."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest

from ._errors import LiftbackupError
from ._run_report import DUMP_PROPERTY, PROPERTY, restore_record

if TYPE_CHECKING:
    from ._dumpfile import DumpInfo
    from ._session import LiftbackupSession

SESSION_KEY = pytest.StashKey["LiftbackupSession"]()


class RestoreFailed(LiftbackupError):
    pass


class DumpCollector(pytest.Collector):
    """One dump: its restore item (its checks hang under their check files)."""

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
            return str(excinfo.value)
        return super().repr_failure(excinfo)

    def reportinfo(self) -> tuple[Any, int | None, str]:
        return self.dump.path, None, "restore"  # pytest turns dots in a longer domain into ::


def restore_collector_ids(state: LiftbackupSession) -> list[tuple[str, str]]:
    """(dump id, node id of its collector): the file name, or the id when two dumps share a name."""
    names = [d.name for d in state.dumps]
    return [(d.id, d.name if names.count(d.name) == 1 else d.id) for d in state.dumps]


def dump_items(session: pytest.Session, state: LiftbackupSession) -> list[pytest.Item]:
    items: list[pytest.Item] = []
    for dump, (_, nodeid) in zip(state.dumps, restore_collector_ids(state), strict=True):
        collector = DumpCollector.from_parent(session, name=nodeid, nodeid=nodeid, dump=dump)
        for item in session.genitems(collector):  # counted and reported like any collected item
            state.item_dumps[item.nodeid] = dump.id
            items.append(item)
    return items
