"""pytest-xdist: every item of one dump on the same worker, so each dump is restored once, by one worker.

Each worker is its own pytest session with its own throwaway server. xdist's default `load` mode
hands items out one by one, so every worker would restore every dump. `--dist loadgroup` with
`xdist_group` marks is the usual cure but is broken with pytest 9.2 and xdist 3.8 (xdist issue 1386),
so with `-n N` and the default mode this plugs xdist's own loadscope scheduler in, with one scope
per dump: its restore item, its checks and the tests that use its fixtures. Other tests keep their
module as scope. An explicit `--dist` other than `load` is left as the user chose it.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest

from pytest_liftbackup.plugin.run_report import restore_record

if TYPE_CHECKING:
    from pytest_liftbackup.plugin.state import LiftbackupSession

SCOPE_PREFIX = "liftbackup-dump:"
OUTPUT_KEY = "liftbackup"  # in a worker's workeroutput: what the controller's summary needs


def dump_scope(nodeid: str, dumps: list[tuple[str, str]]) -> str | None:
    """The dump an item belongs to, from its node id; `dumps` holds (dump id, restore collector id)."""
    for dump_id, collector in dumps:
        if nodeid.startswith(collector + "::"):
            return SCOPE_PREFIX + dump_id
    if nodeid.endswith("]") and "[" in nodeid:
        params = nodeid[nodeid.rindex("[") + 1 : -1].split("-")
        for dump_id, _ in dumps:
            width = len(dump_id.split("-"))
            if any("-".join(params[i : i + width]) == dump_id for i in range(len(params) - width + 1)):
                return SCOPE_PREFIX + dump_id
    if len(dumps) == 1 and nodeid.split("::")[0].endswith((".yml", ".yaml")):
        return SCOPE_PREFIX + dumps[0][0]
    return None


def worker_output(state: LiftbackupSession) -> str:
    """What one worker restored, and on which server: the controller prints the summary."""
    restores = {
        dump_id: restore_record(outcome)
        for dump_id, outcome in state.outcomes.items()
        if outcome.ok or outcome.error is not None
    }
    return json.dumps(
        {
            "restores": restores,
            "server": state.host_description,
            "settings": state.server_settings,
            "postgresql": state.run_report.server_version,
            "kept": state.keep() if state.settings.keep else [],
        },
        default=str,
    )


def from_worker(state: LiftbackupSession, output: str | None) -> None:
    if not output:
        return
    data = json.loads(output)
    state.run_report.restored(data["restores"])
    state.run_report.server_version = state.run_report.server_version or data["postgresql"]
    state.workers_kept += data["kept"]
    if data["server"] and not state.workers_host[0]:
        state.workers_host = (f"{data['server']} (one per xdist worker)", dict(data["settings"]))


def scheduler_plugin(state: LiftbackupSession, dumps: list[tuple[str, str]]) -> Any:
    from xdist.scheduler import LoadScopeScheduling

    class DumpScheduling(LoadScopeScheduling):  # type: ignore[misc]
        def _split_scope(self, nodeid: str) -> str:
            return dump_scope(nodeid, dumps) or str(super()._split_scope(nodeid))

    class Plugin:
        @pytest.hookimpl(tryfirst=True)
        def pytest_xdist_make_scheduler(self, config: pytest.Config, log: Any) -> Any:
            if config.getvalue("dist") != "load":
                return None
            return DumpScheduling(config, log)

        def pytest_testnodedown(self, node: Any, error: Any) -> None:
            from_worker(state, getattr(node, "workeroutput", {}).get(OUTPUT_KEY))

    return Plugin()
