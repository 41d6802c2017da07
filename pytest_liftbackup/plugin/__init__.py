"""pytest-liftbackup's hooks and options: nothing else. The data flows through the subpackages in order:
dump/ (the file) -> server/ (binaries, throwaway or existing server, databases) -> restore/ (plain
engine, pg_restore, roles, extensions) -> checks/ (check files, running them) -> report/ and this
package's items, fixtures and terminal summary. Without --liftbackup nothing here does any work.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pytest_liftbackup._errors import LiftbackupError, api_spelling, use_spelling
from pytest_liftbackup.plugin import options as _settings
from pytest_liftbackup.plugin.fixtures import liftbackup_db, liftbackup_dump, liftbackup_target, parametrize
from pytest_liftbackup.plugin.items import SESSION_KEY

__all__ = ["liftbackup_db", "liftbackup_dump", "liftbackup_target"]


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("liftbackup", "restore testing of PostgreSQL backups")
    for dest, env, ini, help_text in _settings.ALL:
        flag = "--" + dest.replace("_", "-")
        kwargs: dict[str, Any] = {"metavar": "VALUE"}
        if dest in _settings.REPEATABLE:
            kwargs["action"] = "append"
        elif dest in _settings.FLAGS:
            kwargs = {"action": "store_true", "default": None}
        group.addoption(flag, dest=dest, help=f"{help_text} [env {env}, ini {ini}]", **kwargs)
        if dest in _settings.REPEATABLE:
            parser.addini(ini, help=help_text, type="args")
        else:
            parser.addini(ini, help=help_text, type="string")


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    settings = _settings.resolve(config)
    if not settings.active:
        return
    use_spelling(_settings.spelling)
    from pytest_liftbackup.plugin.state import LiftbackupSession

    try:
        state = config.stash[SESSION_KEY] = LiftbackupSession(settings)
    except LiftbackupError as exc:  # may name a dump's file, or quote it
        from pytest_liftbackup._safe_text import shown_lines

        raise pytest.UsageError(shown_lines(str(exc))) from None
    config.pluginmanager.register(state.run_report, "liftbackup-run-report")
    from pytest_liftbackup.plugin.progress import TerminalProgress

    state.progress = TerminalProgress(config)
    if config.pluginmanager.hasplugin("xdist") and not hasattr(config, "workerinput"):
        from pytest_liftbackup.plugin.distribution import scheduler_plugin
        from pytest_liftbackup.plugin.items import restore_collector_ids

        dumps = restore_collector_ids(state, config.rootpath)
        config.pluginmanager.register(scheduler_plugin(state, dumps), "liftbackup-xdist")
    if settings.benchmark:
        if not config.pluginmanager.hasplugin("benchmark"):
            raise pytest.UsageError(
                "--liftbackup-benchmark times restores with pytest-benchmark, which is not installed: "
                "pip install 'pytest-liftbackup[benchmark]'"
            )
        from pytest_liftbackup.plugin.benchmark import RegressionGate

        config.pluginmanager.register(RegressionGate(), "liftbackup-regression-gate")


def pytest_unconfigure(config: pytest.Config) -> None:
    state = config.stash.get(SESSION_KEY, None)
    if state is not None:
        del config.stash[SESSION_KEY]
        state.close()
        use_spelling(api_spelling)


def pytest_report_header(config: pytest.Config) -> list[str] | None:
    state = config.stash.get(SESSION_KEY, None)
    if state is None:
        return None
    from pytest_liftbackup.plugin.terminal import header_lines

    return header_lines(state, config.invocation_params.dir)


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    """Dump files and check files met by pytest's own collection (paths given, testpaths)."""
    state = parent.config.stash.get(SESSION_KEY, None)
    if state is None or file_path.suffix in (".py", ".pyc") or file_path.name not in state.file_names:
        return None
    from pytest_liftbackup.plugin.check_items import check_collector
    from pytest_liftbackup.plugin.items import dump_collector

    collector = dump_collector(state, file_path, parent) or check_collector(state, file_path, parent)
    if collector is not None:
        state.collected_files.add(file_path.resolve())  # added again by nothing, even if it fails
    return collector


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    parametrize(metafunc)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    state = config.stash.get(SESSION_KEY, None)
    if state is None:
        return
    from pytest_liftbackup.plugin.check_items import check_items
    from pytest_liftbackup.plugin.items import dump_items

    items[:0] = dump_items(session, state) + check_items(session, state)
    if state.settings.benchmark:
        from pytest_liftbackup.plugin.benchmark import benchmark_items

        items += benchmark_items(session, state)
    for item in items:
        dump = getattr(item, "dump", None)
        callspec = getattr(item, "callspec", None)
        if dump is not None:
            state.item_dumps[item.nodeid] = dump.id
        elif callspec is not None and callspec.params.get("liftbackup_target"):
            state.item_dumps[item.nodeid] = callspec.params["liftbackup_target"]


def pytest_collection_finish(session: pytest.Session) -> None:
    state = session.config.stash.get(SESSION_KEY, None)
    if state is not None:
        from pytest_liftbackup.plugin.items import RestoreItem

        state.restore_items = {item.dump.id for item in session.items if isinstance(item, RestoreItem)}


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Tests that use a dump's fixtures carry its id on their reports, like restores and checks."""
    state = item.config.stash.get(SESSION_KEY, None)
    if state is not None and item.nodeid in state.item_dumps:
        from pytest_liftbackup.plugin.run_report import DUMP_PROPERTY

        if not any(name == DUMP_PROPERTY for name, _ in item.user_properties):
            item.user_properties.append((DUMP_PROPERTY, state.item_dumps[item.nodeid]))


def pytest_sessionfinish(session: pytest.Session) -> None:
    state = session.config.stash.get(SESSION_KEY, None)
    workeroutput = getattr(session.config, "workeroutput", None)
    if state is not None and workeroutput is not None:  # an xdist worker: the controller reports
        from pytest_liftbackup.plugin.distribution import OUTPUT_KEY, worker_output

        workeroutput[OUTPUT_KEY] = worker_output(state)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    state = terminalreporter.config.stash.get(SESSION_KEY, None)
    if state is None:
        return
    from pytest_liftbackup.plugin.terminal import summary_lines

    terminalreporter.section("liftbackup")
    for line in summary_lines(state):
        terminalreporter.write_line(line)
    from pytest_liftbackup._safe_text import shown

    for left in state.restorer.reaped:
        terminalreporter.write_line(shown(f"removed what a killed run had left: {left}"))
    if state.settings.keep:
        for line in [*state.keep(), *state.workers_kept]:
            terminalreporter.write_line(shown(line))
    from pytest_liftbackup.report import annotations as _annotations

    if _annotations.wanted():
        dumps = state.run_report.as_json(0)["dumps"]
        for line in _annotations.workflow_commands(dumps, terminalreporter.config.invocation_params.dir):
            terminalreporter.write_line(line)
