"""Check files as users write them: malformed ones are collection errors naming file, line and key;
write statements are refused before anything runs; selection (-k, -m, --lf, xdist) works as for tests."""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path

import pytest

from tests.conftest import Dumps, Scratch, truncated_plain
from tests.helpers import assert_clean, output, run

GOOD = """\
schema: lift_simulator
marks: [lift]
checks:
  systems_exist: {row_count: lift_system, min: 1}
  status_values:
    table: lift_system_version
    column: status
    accepted_values: [DRAFT, PUBLISHED, ARCHIVED]
    marks: [nightly]
  always_fails:
    sql: SELECT system_key FROM lift_system WHERE system_key = 'system-1'
"""


def write_checks(pytester: pytest.Pytester, **files: str) -> None:
    folder = pytester.path / "checks"
    folder.mkdir(exist_ok=True)
    for name, text in files.items():
        (folder / f"{name}.yml").write_text(textwrap.dedent(text))


MALFORMED = {
    "typo_in_key": (
        """\
        checks:
          published_unique:
            table: lift_system_version
            unique: [lift_system_id]
            wher: is_published
        """,
        "checks/bad.yml:5: unknown key 'wher' in check 'published_unique' (unique) (did you mean 'where'?); "
        "accepted keys: description, key, marks, max_failures, message, query, sample, severity, table, "
        "timeout, unique, warn_above, where",
    ),
    "typo_in_kind": (
        """\
        checks:
          published_unique:
            table: lift_system_version
            uniqe: [lift_system_id]
        """,
        "checks/bad.yml:3: check 'published_unique' needs exactly one kind key, has none (did you mean 'unique'?); "
        "kinds: tables, columns, primary_key, foreign_keys, indexes, check_constraints, triggers, functions, "
        "flyway_history, flyway_no_failed, flyway_ranks_contiguous, flyway_latest_version, flyway_migrations, "
        "row_count, not_empty, not_null, unique, accepted_values, relationship, expression, sql",
    ),
    "delete_statement": (
        """\
        checks:
          cleanup:
            sql: DELETE FROM lift_simulator.lift_system
        """,
        "checks/bad.yml:3: check 'cleanup', 'sql': a DELETE statement where a read-only query is expected",
    ),
    "data_modifying_cte": (
        """\
        checks:
          sneaky:
            sql: |
              WITH gone AS (DELETE FROM lift_simulator.lift_system RETURNING *)
              SELECT * FROM gone
        """,
        "checks/bad.yml:3: check 'sneaky', 'sql': DELETE inside the query: checks only read",
    ),
    "injection_in_where": (
        """\
        checks:
          not_null_names:
            table: lift_system
            not_null: [display_name]
            where: "true); DROP TABLE lift_system; --"
        """,
        "checks/bad.yml:5: check 'not_null_names', 'where': 3 statements where one query is expected",
    ),
    "acting_function": (
        """\
        checks:
          kill:
            sql: SELECT pg_terminate_backend(pid) FROM pg_stat_activity
        """,
        "checks/bad.yml:3: check 'kill', 'sql': function pg_terminate_backend() acts on the server: checks only read",
    ),
    "select_into": (
        """\
        checks:
          copy_out:
            sql: SELECT * INTO stolen FROM lift_simulator.lift_system
        """,
        "checks/bad.yml:3: check 'copy_out', 'sql': SELECT INTO inside the query: checks only read",
    ),
    "bad_yaml": (
        """\
        checks:
          a: {row_count: lift_system, min: 1
          b: {row_count: lift_system, min: 1}
        """,
        "checks/bad.yml:3: not valid YAML: expected ',' or '}', but got ':'",
    ),
    "wrong_type": (
        """\
        checks:
          a:
            row_count: lift_system
            min: some
        """,
        "checks/bad.yml:4: 'min' in check 'a' (row_count) must be a whole number, 0 or more, got 'some'",
    ),
    "bad_threshold": (
        """\
        checks:
          a:
            table: lift_system
            not_null: display_name
            max_failures: lots
        """,
        "checks/bad.yml:5: 'max_failures' in check 'a' (not_null) must be a count (3) or a percentage of the rows "
        "tested (\"5%\"), got 'lots'",
    ),
    "missing_key": (
        """\
        checks:
          a:
            table: lift_system_version
            accepted_values: [DRAFT]
        """,
        "checks/bad.yml:3: check 'a' (accepted_values) is missing the key 'column'; accepted keys: "
        "accepted_values, column, description, key, marks, max_failures, message, query, sample, severity, "
        "table, timeout, warn_above, where",
    ),
    "duplicate_check": (
        """\
        checks:
          a: {row_count: lift_system, min: 1}
          a: {row_count: lift_system, min: 2}
        """,
        "checks/bad.yml:3: duplicate key 'a' (first at line 2)",
    ),
    "unknown_top_key": (
        """\
        schemas: lift_simulator
        checks: {}
        """,
        "checks/bad.yml:1: unknown key 'schemas' at the top of the file (did you mean 'schema'?); "
        "accepted keys: schema, flyway, marks, checks",
    ),
    "nested_typo": (
        """\
        checks:
          idx:
            table: lift_system
            indexes:
              uq_lift_system_system_key: {colums: [system_key]}
        """,
        "checks/bad.yml:5: unknown key 'colums' in indexes entry 'uq_lift_system_system_key' (did you mean "
        "'columns'?); accepted keys: columns, method, primary, unique, where",
    ),
    "bad_message_placeholder": (
        """\
        checks:
          a:
            row_count: lift_system
            min: 1
            message: "{count} systems"
        """,
        "checks/bad.yml:5: check 'a': 'message' uses {count}; placeholders: {failures}, {tested}, {table}, "
        "{name}, {keys}",
    ),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_file_is_a_collection_error_with_file_line_and_key(
    pytester: pytest.Pytester, dumps: Dumps, scratch: Scratch, case: str
) -> None:
    text, message = MALFORMED[case]
    write_checks(pytester, bad=text)
    result = run(pytester, f"--liftbackup={dumps.plain}")
    assert result.ret == pytest.ExitCode.INTERRUPTED
    out = output(result)
    assert "ERROR collecting checks/bad.yml" in out
    assert message in out, out
    assert "Traceback" not in out and "INTERNALERROR" not in out
    assert "Interrupted: 1 error during collection" in out
    assert_clean(scratch)


def test_other_files_still_run_with_continue_on_collection_errors(
    pytester: pytest.Pytester, dumps: Dumps, scratch: Scratch
) -> None:
    write_checks(pytester, good=GOOD, bad=MALFORMED["typo_in_key"][0])
    result = run(pytester, f"--liftbackup={dumps.plain}", "--continue-on-collection-errors")
    result.assert_outcomes(passed=3, failed=1, errors=1)
    assert_clean(scratch)


def test_checks_are_selected_with_k_and_marks_from_yaml(pytester: pytest.Pytester, dumps: Dumps) -> None:
    write_checks(pytester, good=GOOD)
    pytester.makeini("[pytest]\nmarkers =\n    lift\n    nightly\n")
    result = run(pytester, f"--liftbackup={dumps.plain}", "-m", "nightly", "-v", "--strict-markers")
    result.assert_outcomes(passed=1)
    assert "checks/good.yml::status_values PASSED" in output(result)
    result = run(pytester, f"--liftbackup={dumps.plain}", "-k", "systems_exist", "--liftbackup-report=v.json")
    result.assert_outcomes(passed=1)  # the restore item deselected: the restore still runs, for the check
    restore = json.loads((pytester.path / "v.json").read_text())["dumps"][0]["restore"]
    assert restore["restore"] == "passed" and restore["rows"] == 266
    result = run(pytester, f"--liftbackup={dumps.plain}", "-m", "lift and not nightly")
    result.assert_outcomes(passed=1, failed=1)


def test_collect_only_lists_readable_node_ids_per_dump(
    pytester: pytest.Pytester, dumps: Dumps, scratch: Scratch
) -> None:
    write_checks(pytester, good=GOOD)
    result = run(
        pytester, f"--liftbackup={dumps.plain}", f"--liftbackup={dumps.custom}", "--collect-only", "-q"
    )
    lines = [line for line in result.outlines if "::" in line]
    assert "checks/good.yml::systems_exist[lift_simulator_backup_20260120_080000]" in lines
    assert "checks/good.yml::systems_exist[lift]" in lines
    assert f"{dumps.custom.resolve().as_posix()}::restore" in lines  # outside the rootdir: in full
    assert len(lines) == 2 + 2 * 3
    assert_clean(scratch)


def test_last_failed_reruns_only_the_failing_check(pytester: pytest.Pytester, dumps: Dumps) -> None:
    write_checks(pytester, good=GOOD)
    first = pytester.runpytest_subprocess(f"--liftbackup={dumps.plain}")
    first.assert_outcomes(passed=3, failed=1)
    again = pytester.runpytest_subprocess(f"--liftbackup={dumps.plain}", "--lf", "-v")
    again.assert_outcomes(failed=1)  # passed checks deselected, the dump file skipped: as pytest does
    assert "checks/good.yml::always_fails FAILED" in output(again)
    assert "::restore" not in output(again)


def test_xdist_workers_run_the_checks_and_the_report_has_them_all(
    pytester: pytest.Pytester, dumps: Dumps, scratch: Scratch
) -> None:
    write_checks(pytester, good=GOOD)
    result = run(pytester, f"--liftbackup={dumps.plain}", "-n", "2", "--liftbackup-report=out.json")
    result.assert_outcomes(passed=3, failed=1)
    verdict = json.loads((pytester.path / "out.json").read_text())
    (dump,) = verdict["dumps"]
    assert dump["restore"]["restore"] == "passed"
    assert sorted(c["check"] for c in dump["checks"]) == ["always_fails", "status_values", "systems_exist"]
    assert verdict["verdict"] == "failed"
    assert_clean(scratch)


def test_missing_checks_path_is_a_usage_error(
    pytester: pytest.Pytester, dumps: Dumps, scratch: Scratch
) -> None:
    result = run(pytester, f"--liftbackup={dumps.plain}", "--liftbackup-checks=nowhere/checks")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "--liftbackup-checks: " in output(
        result
    ) and "nowhere/checks does not exist (from command line" in output(result)
    assert_clean(scratch)


def test_checks_are_not_collected_without_a_dump(pytester: pytest.Pytester) -> None:
    write_checks(pytester, bad=MALFORMED["typo_in_key"][0])
    pytester.makepyfile(test_plain="def test_one():\n    pass\n")
    result = run(pytester)
    result.assert_outcomes(passed=1)


def test_checks_option_env_and_ini_resolution(
    pytester: pytest.Pytester, dumps: Dumps, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = pytester.path / "elsewhere"
    folder.mkdir()
    (folder / "mine.yaml").write_text(GOOD)
    pytester.makeini("[pytest]\nliftbackup_checks = elsewhere/mine.yaml\n")
    result = run(pytester, f"--liftbackup={dumps.plain}", "--collect-only")
    assert "<CheckItem systems_exist>" in output(result)
    assert "liftbackup: checks: elsewhere/mine.yaml from ini (liftbackup_checks)" in output(result)
    monkeypatch.setenv("LIFTBACKUP_CHECKS", str(folder))
    result = run(pytester, f"--liftbackup={dumps.plain}", "--collect-only")
    assert "from environment (LIFTBACKUP_CHECKS)" in output(result)


def test_migrations_option_wins_over_the_folder_named_in_the_file(
    pytester: pytest.Pytester, dumps: Dumps, scratch: Scratch
) -> None:
    from tests.lift_simulator import build

    write_checks(
        pytester,
        flyway="""\
        schema: lift_simulator
        flyway:
          migrations: db/migration
        checks:
          flyway_migrations: {flyway_migrations: true}
        """,
    )
    result = run(pytester, f"--liftbackup={dumps.plain}", "-k", "flyway")
    result.assert_outcomes(errors=1, deselected=1)
    assert (
        f"check 'flyway_migrations' could not run (checks/flyway.yml:5): migrations folder "
        f"{pytester.path / 'checks' / 'db' / 'migration'} does not exist" in output(result)
    )
    result = run(
        pytester, f"--liftbackup={dumps.plain}", f"--liftbackup-migrations={build.MIGRATIONS}", "-k", "flyway"
    )
    result.assert_outcomes(passed=1, deselected=1)
    assert_clean(scratch)


def test_xdist_gives_each_dump_to_one_worker_so_each_is_restored_once(
    pytester: pytest.Pytester, dumps: Dumps, scratch: Scratch
) -> None:
    """With -n 2 and two dumps, a dump's restore, its checks and its fixture tests share one worker."""
    write_checks(pytester, good=GOOD)
    pytester.makepyfile(test_mine="def test_rows(liftbackup_dump):\n    assert liftbackup_dump.rows > 0\n")
    result = run(pytester, f"--liftbackup={dumps.plain}", f"--liftbackup={dumps.gzip}", "-n", "2", "-v")
    result.assert_outcomes(passed=8, failed=2)
    workers: dict[str, set[str]] = {}
    ids = {"lift_simulator_backup_20260120_080000", "lift_simulator_backup_20260121_080000"}
    for line in result.outlines:
        match = re.match(r"\[(gw\d)\] .*(?:PASSED|FAILED) (\S+)", line)
        if match:
            dump = next(i for i in ids if i in match.group(2))
            workers.setdefault(dump, set()).add(match.group(1))
    assert set(workers) == ids and all(len(w) == 1 for w in workers.values()), workers
    assert workers[min(ids)] != workers[max(ids)]  # and the two dumps went to different workers
    assert_clean(scratch)


def test_dump_scope_reads_the_dump_from_any_item_id() -> None:
    from pytest_liftbackup.plugin.distribution import SCOPE_PREFIX, dump_scope

    dumps = [("lift-a", "lift-a.sql"), ("b", "b.sql")]
    assert dump_scope("lift-a.sql::restore", dumps) == SCOPE_PREFIX + "lift-a"
    assert dump_scope("checks/x.yml::published_unique[b]", dumps) == SCOPE_PREFIX + "b"
    assert dump_scope("test_mine.py::test_rows[lift-a]", dumps) == SCOPE_PREFIX + "lift-a"
    assert dump_scope("test_mine.py::test_rows[3-lift-a-x]", dumps) == SCOPE_PREFIX + "lift-a"
    assert dump_scope("test_mine.py::test_rows[lift]", dumps) is None
    assert dump_scope("test_other.py::test_plain", dumps) is None
    assert dump_scope("checks/x.yml::published_unique", [("b", "b.sql")]) == SCOPE_PREFIX + "b"


def test_a_node_id_copied_from_a_failed_line_selects_that_item(
    pytester: pytest.Pytester, dumps: Dumps
) -> None:
    """FAILED lines name checks and restores by path, so they can be pasted back on the command line."""
    write_checks(pytester, good=GOOD)
    first = run(pytester, f"--liftbackup={dumps.plain}", "-rA")
    failed = next(line.split()[1] for line in first.outlines if line.startswith("FAILED "))
    passed_restore = next(
        line.split()[1] for line in first.outlines if "::restore" in line and "PASSED" in line
    )
    assert failed == "checks/good.yml::always_fails"
    again = run(pytester, failed, f"--liftbackup={dumps.plain}", "-v")
    again.assert_outcomes(passed=1, failed=1)  # the check asked for, and the restore it needs
    assert "checks/good.yml::always_fails FAILED" in output(again)
    assert "systems_exist" not in output(again)
    only = run(pytester, passed_restore, f"--liftbackup={dumps.plain}", "-v")
    only.assert_outcomes(passed=1)
    assert "lift_simulator_backup_20260120_080000.sql::restore PASSED" in output(only)


def test_a_test_file_given_alone_runs_no_check_unless_asked(pytester: pytest.Pytester, dumps: Dumps) -> None:
    write_checks(pytester, good=GOOD)
    pytester.makepyfile(test_mine="def test_mine(liftbackup_db):\n    pass\n")
    alone = run(pytester, "test_mine.py", f"--liftbackup={dumps.plain}", "-v")
    alone.assert_outcomes(passed=2)  # the restore and the test
    assert "checks/good.yml" not in output(alone)
    asked = run(pytester, "test_mine.py", f"--liftbackup={dumps.plain}", "--liftbackup-checks=checks")
    asked.assert_outcomes(passed=4, failed=1)
    everything = run(pytester, f"--liftbackup={dumps.plain}")  # no path: the rootdir, checks/ with it
    everything.assert_outcomes(passed=4, failed=1)


def test_a_malformed_check_file_is_one_collection_error(pytester: pytest.Pytester, dumps: Dumps) -> None:
    write_checks(pytester, bad="checks:\n  - name: x\n    sql: SELECT 1\n    bogus: 2\n")
    result = run(pytester, f"--liftbackup={dumps.plain}")
    assert output(result).count("ERROR collecting checks/bad.yml") == 1, output(result)
    assert result.ret == 2


def test_checks_of_a_failed_restore_skip_at_their_yaml_line(
    pytester: pytest.Pytester, dumps: Dumps, scratch: Scratch, tmp_path: Path
) -> None:
    """One failed restore is one failure; its checks skip, located at their line in the check file.
    When its restore item is not in the run (-k), the first check errors instead: never a silent pass."""
    write_checks(pytester, good=GOOD)
    cut = truncated_plain(dumps.plain, tmp_path / "lift_simulator_backup_20260120_080000.sql", b"COPY ")
    result = run(pytester, f"--liftbackup={cut}", "-rs")
    result.assert_outcomes(failed=1, skipped=3)
    text = output(result)
    assert "ERROR" not in text
    assert (
        "SKIPPED [1] checks/good.yml:4: restore of lift_simulator_backup_20260120_080000.sql failed" in text
    )
    without = run(pytester, f"--liftbackup={cut}", "-k", "not restore")
    without.assert_outcomes(errors=1, skipped=2, deselected=1)
    assert_clean(scratch)


def test_a_skipped_check_is_located_at_its_yaml_line(pytester: pytest.Pytester, dumps: Dumps) -> None:
    write_checks(
        pytester,
        flyway="schema: lift_simulator\nchecks:\n  history:\n    flyway_migrations: true\n",
    )
    result = run(pytester, f"--liftbackup={dumps.plain}", "-rs")
    result.assert_outcomes(passed=1, skipped=1)
    assert "SKIPPED [1] checks/flyway.yml:3: " in output(result)
    assert "_check_items.py" not in output(result)


def test_under_xdist_the_summary_shows_what_the_workers_restored(
    pytester: pytest.Pytester, dumps: Dumps, scratch: Scratch
) -> None:
    """With -n 2 the controller restores nothing: its summary, item counts and server line come from
    the workers, and agree with pytest's own counts."""
    write_checks(pytester, good=GOOD)
    pytester.makepyfile(test_mine="def test_mine(liftbackup_db):\n    pass\n")
    single = run(pytester, f"--liftbackup={dumps.plain}", f"--liftbackup={dumps.custom}")
    spread = run(pytester, f"--liftbackup={dumps.plain}", f"--liftbackup={dumps.custom}", "-n", "2")
    for result in (single, spread):
        result.assert_outcomes(passed=2 + 2 * 3, failed=2)
        text = output(result)
        assert "not restored" not in text
        assert text.count("  items:    1 failed, 4 passed") == 2, text  # restore, 2 checks, the test
        assert text.count("  restore:  passed in ") == 2
        assert "server: throwaway PostgreSQL 18" in text
    assert "(one per xdist worker)" in output(spread)


def test_the_summary_says_where_the_database_name_comes_from(
    pytester: pytest.Pytester, dumps: Dumps, scratch: Scratch
) -> None:
    result = run(pytester, f"--liftbackup={dumps.plain}", f"--liftbackup={dumps.custom}")
    text = output(result)
    assert "source server 18.6, database lift_simulator (guessed from the file name)" in text  # plain, no -C
    assert "source server 18.6, database lift_simulator\n" in text  # the archive names it


def test_the_json_report_describes_itself_and_counts_as_pytest_does(
    pytester: pytest.Pytester, dumps: Dumps, scratch: Scratch
) -> None:
    import datetime

    from pytest_liftbackup import __version__

    write_checks(pytester, good=GOOD)
    pytester.makepyfile(test_mine="def test_mine(liftbackup_db):\n    pass\n")
    result = run(pytester, f"--liftbackup={dumps.plain}", "--liftbackup-report=out.json")
    result.assert_outcomes(passed=4, failed=1)
    verdict = json.loads((pytester.path / "out.json").read_text())
    assert verdict["liftbackup_report"] == 2
    assert verdict["description"].startswith("pytest-liftbackup restore test")
    created = datetime.datetime.fromisoformat(verdict["created"])
    assert abs((datetime.datetime.now(datetime.timezone.utc) - created).total_seconds()) < 120
    assert verdict["versions"]["pytest_liftbackup"] == __version__
    assert verdict["versions"]["postgresql"].startswith("18.")
    assert set(verdict["versions"]) == {"pytest_liftbackup", "pytest", "python", "postgresql"}
    assert verdict["totals"] == {
        "restores": {"passed": 1},
        "checks": {"passed": 2, "failed": 1},
        "items": {"passed": 4, "failed": 1},  # what pytest printed: restore, 3 checks, the test
    }
    (dump,) = verdict["dumps"]
    assert (dump["database"], dump["database_from"]) == ("lift_simulator", "file name")
    assert "restore passed" not in json.dumps(verdict["totals"])


def test_messages_agree_with_their_count_and_numbers_sort_as_numbers(
    pytester: pytest.Pytester, dumps: Dumps
) -> None:
    write_checks(
        pytester,
        numbers="""\
        schema: lift_simulator
        checks:
          numbers_repeat:
            message: "{failures:group repeats|groups repeat}: {keys}"
            query: SELECT 1 AS k, x AS n FROM generate_series(8, 11) x
            unique: [k]
            key: [k, n]
        """,
    )
    result = run(pytester, f"--liftbackup={dumps.plain}")
    text = output(result)
    assert "1 group repeats: " in text
    assert "n=8, 9, 10, 11" in text  # not 10, 11, 8, 9


def test_github_actions_annotates_failed_checks_at_their_line(
    pytester: pytest.Pytester, dumps: Dumps, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_checks(pytester, good=GOOD)
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.delenv("GITHUB_WORKSPACE", raising=False)
    result = run(pytester, f"--liftbackup={dumps.plain}")
    lines = [line for line in result.outlines if line.startswith("::")]
    assert len(lines) == 1, result.outlines
    assert lines[0].startswith(
        "::error file=checks/good.yml,line=10,title=always_fails (failed%2C liftbackup check on "
        "lift_simulator_backup_20260120_080000.sql)::the query returned 1 failing row: system-1%0A"
    )
    monkeypatch.delenv("GITHUB_ACTIONS")
    assert not [
        line for line in run(pytester, f"--liftbackup={dumps.plain}").outlines if line.startswith("::")
    ]
