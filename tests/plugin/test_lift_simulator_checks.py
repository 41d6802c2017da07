"""The shipped checks/lift_simulator.yml: all pass on a good backup; on a backup with one invariant
broken, exactly the matching checks fail and their first lines name the offending rows."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Dumps
from tests.helpers import REPO, run, run_in
from tests.lift_simulator import build

REPO = REPO
SHIPPED = REPO / "checks" / "lift_simulator.yml"

BREAKAGES = {
    # an older backup: V10's unique index missing, and a second published version of system-3
    "two_published": """
        DROP INDEX uq_lift_system_version_single_published;
        UPDATE lift_system_version SET status = 'PUBLISHED', is_published = true, published_at = now()
        WHERE version_number = 4 AND lift_system_id = (SELECT id FROM lift_system WHERE system_key = 'system-3');
    """,
    "failed_flyway_row": "UPDATE flyway_schema_history SET success = false WHERE version = '13';",
    # V5 edited after it ran: the history keeps the checksum of the file as it was applied
    "edited_migration": "UPDATE flyway_schema_history SET checksum = checksum + 1 WHERE version = '5';",
    # applied in production from a hotfix branch, never merged: Flyway calls it Missing
    "missing_migration": """
        INSERT INTO flyway_schema_history VALUES
        (14, '12.1', 'hotfix index', 'SQL', 'V12_1__hotfix_index.sql', 12345, 'lift_admin', now(), 3, true);
    """,
    # the backup is older than the code: V13 not in its history
    "pending_migration": "DELETE FROM flyway_schema_history WHERE version = '13';",
    "dropped_table": "DROP TABLE scenario CASCADE;",
    "orphan_run_version": """
        ALTER TABLE simulation_run DROP CONSTRAINT simulation_run_version_id_fkey;
        UPDATE simulation_run SET version_id = 999999 WHERE id = 1;
    """,
    "floor_range_inverted": """
        UPDATE lift_system_version SET config = config || '{"minFloor": 9, "maxFloor": 2}'
        WHERE version_number = 2 AND lift_system_id = (SELECT id FROM lift_system WHERE system_key = 'system-5');
    """,
}


@pytest.fixture(scope="session")
def lift_variants(
    source: build.SourceDatabase, dumps: Dumps, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    folder = tmp_path_factory.mktemp("lift_variants")
    shutil.copy(dumps.plain, folder / "good.sql")
    for name, breakage in BREAKAGES.items():
        source.variant(name, breakage, folder)
    return folder


@pytest.fixture(scope="session")
def verdict(lift_variants: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One run of the shipped checks over every variant, with the migrations folder: its JSON report."""
    work = tmp_path_factory.mktemp("lift_checks_run")
    report = work / "verdict.json"
    proc = run_in(
        work,
        "-q",
        f"--liftbackup={lift_variants}/*.sql",
        f"--liftbackup-checks={SHIPPED}",
        f"--liftbackup-migrations={build.MIGRATIONS}",
        f"--liftbackup-report={report}",
    )
    assert report.exists(), proc.stdout + proc.stderr
    data: dict[str, Any] = json.loads(report.read_text())
    data["_output"] = proc.stdout
    return data


def outcomes(verdict: dict[str, Any], dump_id: str) -> dict[str, dict[str, Any]]:
    dump = next(d for d in verdict["dumps"] if d["id"] == dump_id)
    assert dump["restore"]["restore"] == "passed", dump["restore"]
    return {c["check"]: c for c in dump["checks"]}


def not_passed(verdict: dict[str, Any], dump_id: str, outcome: str) -> set[str]:
    return {name for name, c in outcomes(verdict, dump_id).items() if c["outcome"] == outcome}


def test_good_backup_passes_every_shipped_check(verdict: dict[str, Any]) -> None:
    checks = outcomes(verdict, "good")
    assert len(checks) >= 40
    assert {n: c["outcome"] for n, c in checks.items() if c["outcome"] != "passed"} == {}


@pytest.mark.parametrize(
    ("variant", "failing", "first_line"),
    [
        (
            "two_published",
            {"lift_system_version_indexes", "published_unique"},
            {"published_unique": "1 lift system has more than one published version: system-3"},
        ),
        (
            "failed_flyway_row",
            {"flyway_no_failed", "flyway_latest_version"},
            {
                "flyway_no_failed": "1 failed migration in lift_simulator.flyway_schema_history: "
                "13 (add update timestamp triggers)",
                "flyway_latest_version": "latest applied version in lift_simulator.flyway_schema_history is 12, "
                "want 13 (V13__add_update_timestamp_triggers.sql is the newest local migration)",
            },
        ),
        (
            "edited_migration",
            {"flyway_migrations"},
            {"flyway_migrations": "1 migration differs from"},
        ),
        (
            "missing_migration",
            {"flyway_migrations"},
            {"flyway_migrations": "Missing V12_1__hotfix_index.sql"},
        ),
        (
            "pending_migration",
            {"flyway_migrations", "flyway_latest_version"},
            {"flyway_migrations": "Pending V13__add_update_timestamp_triggers.sql"},
        ),
        (
            "orphan_run_version",
            {"simulation_run_foreign_keys", "runs_have_a_version"},
            {
                "runs_have_a_version": "1 row of simulation_run points at no row of lift_system_version(id) by version_id: 1"
            },
        ),
        (
            "floor_range_inverted",
            {"config_floor_range"},
            {"config_floor_range": "1 version has a config without minFloor <= maxFloor: (system-5, 2)"},
        ),
    ],
)
def test_one_broken_invariant_fails_exactly_its_checks(
    verdict: dict[str, Any], variant: str, failing: set[str], first_line: dict[str, str]
) -> None:
    assert not_passed(verdict, variant, "failed") == failing
    assert not_passed(verdict, variant, "error") == set()
    checks = outcomes(verdict, variant)
    for name, text in first_line.items():
        assert text in checks[name]["headline"], checks[name]["headline"]


def test_edited_migration_names_version_and_both_checksums(verdict: dict[str, Any]) -> None:
    details = outcomes(verdict, "edited_migration")["flyway_migrations"]["details"]
    assert len(details) == 1
    assert details[0].startswith(
        "Checksum mismatch for version 5 (V5__add_simulation_run_tables.sql): applied to database "
    )
    applied, local = (int(x.split()[-1]) for x in details[0].split(":", 1)[1].split(","))
    assert applied == local + 1


def test_dropped_table_fails_the_tables_check_and_errors_the_checks_on_it(verdict: dict[str, Any]) -> None:
    assert not_passed(verdict, "dropped_table", "failed") == {"tables", "simulation_run_foreign_keys"}
    checks = outcomes(verdict, "dropped_table")
    assert checks["tables"]["headline"] == "Missing tables: scenario"
    errors = not_passed(verdict, "dropped_table", "error")
    assert errors == {
        "scenario_columns",
        "scenario_primary_key",
        "scenario_foreign_keys",
        "scenario_indexes",
        "scenario_triggers",
        "scenarios_have_a_version",
        "runs_have_a_scenario",
    }
    assert "table scenario does not exist in the restored database" in checks["scenario_columns"]["error"]
    assert 'relation "scenario" does not exist' in checks["runs_have_a_scenario"]["error"]


def test_failure_report_in_the_terminal_is_the_one_the_readme_shows(verdict: dict[str, Any]) -> None:
    out = verdict["_output"]
    readme = (REPO / "README.md").read_text()
    block = readme[readme.index("On a backup where system-3") :].split("```")[1]
    for line in block.strip("\n").splitlines():
        if "..." not in line:  # the file is named absolutely here: it lies outside the run's folder
            assert line.replace("  check: checks/", "") in out, line
    assert f"{SHIPPED.as_posix()}::published_unique[two_published]" in out  # outside the rootdir: in full
    assert "sample (1 of 1, by system_key):" in out
    assert "system_key=system-3  duplicates=2  version_number=3, 4" in out
    assert (
        "all failures: SET search_path = pg_catalog, lift_simulator, public; "
        "SELECT * FROM (SELECT t.system_key, count(*) AS duplicates" in out
    )


def test_the_run_is_the_same_with_the_shipped_file_found_by_default(
    pytester: pytest.Pytester, dumps: Dumps, scratch: Any
) -> None:
    (pytester.path / "checks").mkdir()
    shutil.copy(SHIPPED, pytester.path / "checks" / "lift_simulator.yml")
    result = run(pytester, f"--liftbackup={dumps.plain}", "-rs")
    result.assert_outcomes(passed=39, skipped=2)  # the restore and 38 checks; 2 need a migrations folder
    out = "\n".join(result.outlines)
    assert "liftbackup: checks: checks/ from default (checks/ under the rootdir)" in out
    assert "no migrations folder: pass --liftbackup-migrations=DIR or set flyway.migrations" in out


def test_the_fixture_schema_follows_schema_md_to_the_letter(source: build.SourceDatabase) -> None:
    """The facts of ../shared/lift_simulator/SCHEMA.md that the shipped checks rely on, read from
    the database our migrations build (so a fixture that drifts from the real schema fails here)."""
    import psycopg

    from pytest_liftbackup.server.databases import conninfo_from

    with psycopg.connect(conninfo_from({**source.admin, "dbname": build.DATABASE})) as conn:

        def rows(query: str) -> set[tuple[Any, ...]]:
            return set(conn.execute(query).fetchall())  # type: ignore[call-overload]

        indexes = rows(
            "SELECT indexname FROM pg_indexes WHERE schemaname = 'lift_simulator' AND tablename = 'simulation_run'"
        )
        assert indexes == {
            ("simulation_run_pkey",),
            ("idx_simulation_run_lift_system",),
            ("idx_simulation_run_version",),
            ("idx_simulation_run_scenario",),
            ("idx_simulation_run_status",),
            ("idx_simulation_run_created_at",),
        }
        # V11: a unique index, not a constraint; V6's idx_scenario_version is gone
        assert rows("SELECT conname FROM pg_constraint WHERE conname = 'uq_scenario_version_name'") == set()
        assert rows("SELECT 1 FROM pg_indexes WHERE indexname = 'idx_scenario_version'") == set()
        assert rows("SELECT indexdef FROM pg_indexes WHERE indexname = 'uq_scenario_version_name'") == {
            (
                "CREATE UNIQUE INDEX uq_scenario_version_name ON lift_simulator.scenario USING btree "
                "(lift_system_version_id, name)",
            )
        }
        commented = rows(
            "SELECT c.relname FROM pg_description d JOIN pg_class c ON c.oid = d.objoid "
            "WHERE d.classoid = 'pg_class'::regclass AND d.objsubid = 0 AND c.relnamespace = 'lift_simulator'::regnamespace"
        )
        tables = {"lift_system", "lift_system_version", "scenario", "simulation_run"}
        assert {(t,) for t in tables | {"idx_scenario_name", "uq_scenario_version_name"}} <= commented
        assert rows("SELECT obj_description('lift_simulator'::regnamespace, 'pg_namespace') IS NOT NULL") == {
            (True,)
        }
        assert rows("SELECT count(*) FROM pg_description WHERE classoid = 'pg_trigger'::regclass") == {(3,)}
        assert rows(
            "SELECT installed_rank, version, type, script FROM lift_simulator.flyway_schema_history "
            "WHERE installed_rank = 0"
        ) == {(0, None, "SCHEMA", '"lift_simulator"')}
        owners = rows(
            "SELECT DISTINCT pg_get_userbyid(relowner) FROM pg_class WHERE relnamespace = 'lift_simulator'::regnamespace"
        )
        assert owners == {(build.OWNER,)}


def test_an_index_under_another_name_is_named(pytester: pytest.Pytester, dumps: Dumps, scratch: Any) -> None:
    """What the old fixture's names would have said on a real backup: missing, but there as another name."""
    (pytester.path / "checks").mkdir()
    (pytester.path / "checks" / "old.yml").write_text(
        "schema: lift_simulator\nchecks:\n  run_indexes:\n    table: simulation_run\n    indexes:\n"
        "      idx_simulation_run_lift_system_id: {columns: [lift_system_id]}\n"
        "      idx_simulation_run_nowhere: {columns: [seed]}\n"
    )
    result = run(pytester, f"--liftbackup={dumps.plain}")
    out = "\n".join(result.outlines)
    result.assert_outcomes(passed=1, failed=1)
    assert "Missing indexes on simulation_run: idx_simulation_run_nowhere" in out
    assert (
        "Missing index idx_simulation_run_lift_system_id on simulation_run; "
        "the same index exists as idx_simulation_run_lift_system"
    ) in out


def test_the_sql_listing_all_failures_runs_when_pasted_into_psql(
    verdict: dict[str, Any], source_server: Any, pg_binaries: Any
) -> None:
    """Each failed check's `all failures` SQL, run by psql against the database the broken dump was
    made from, lists exactly the failures the check counted."""
    import os
    import subprocess

    from pytest_liftbackup.server.databases import pg_env

    tried = 0
    for dump in verdict["dumps"]:
        database = dump["name"].removesuffix(".sql")
        for check in dump["checks"]:
            if check["outcome"] != "failed" or not check.get("failures_sql"):
                continue
            env = {**os.environ, **pg_env(source_server.admin_conninfo(database))}
            done = subprocess.run(
                [
                    str(pg_binaries.tool("psql")),
                    "-X",
                    "-At",
                    "-v",
                    "ON_ERROR_STOP=1",
                    "-c",
                    check["failures_sql"],
                ],
                capture_output=True,
                text=True,
                env=env,
            )
            assert done.returncode == 0, (check["nodeid"], done.stderr)
            rows = [line for line in done.stdout.splitlines() if line != "SET"]  # psql -c echoes SET's tag
            assert len(rows) == check["failures"], check["nodeid"]
            tried += 1
    assert tried >= 4  # data and Flyway checks; schema checks list no rows
