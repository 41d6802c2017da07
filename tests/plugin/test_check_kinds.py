"""Every kind of the check vocabulary: passes on the good lift_simulator dump, fails on a dump built to
break it, with the text users see asserted. One pytest run covers both dumps (`name[good]`/`name[broken]`)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Dumps
from tests.helpers import run_in
from tests.lift_simulator import build

SYSTEM = "(SELECT id FROM lift_system WHERE system_key = '{}')"

BROKEN = f"""
SET ROLE lift_admin;
CREATE TABLE simulation_scenario (id int);
ALTER TABLE lift_system ALTER COLUMN display_name TYPE text;
ALTER TABLE lift_system ALTER COLUMN created_at DROP DEFAULT;
ALTER TABLE lift_system ADD COLUMN legacy_floor int;
ALTER TABLE lift_system ALTER COLUMN display_name DROP NOT NULL;
UPDATE lift_system SET display_name = NULL WHERE system_key = 'system-2';
INSERT INTO lift_system (system_key, display_name, created_at) VALUES ('system-lonely', 'No versions', now());
ALTER TABLE simulation_run DROP CONSTRAINT simulation_run_pkey;
DELETE FROM simulation_run;
ALTER TABLE scenario DROP CONSTRAINT fk_scenario_lift_system_version;
UPDATE scenario SET lift_system_version_id = 999999 WHERE id = 1;
ALTER TABLE scenario ADD CONSTRAINT fk_scenario_lift_system_version FOREIGN KEY (lift_system_version_id)
    REFERENCES lift_system_version (id) ON DELETE CASCADE NOT VALID;
DROP INDEX uq_lift_system_version_single_published;
CREATE INDEX uq_lift_system_version_single_published ON lift_system_version (lift_system_id) WHERE is_published;
DROP INDEX idx_scenario_name;
ALTER TABLE lift_system_version DROP CONSTRAINT chk_lift_system_version_status;
UPDATE lift_system_version SET status = 'PUBLISHED', is_published = true, published_at = now()
    WHERE version_number = 4 AND lift_system_id = {SYSTEM.format("system-3")};
UPDATE lift_system_version SET status = 'BROKEN' WHERE version_number = 1 AND lift_system_id = {SYSTEM.format("system-7")};
UPDATE lift_system_version SET config = config || '{{"minFloor": 9, "maxFloor": 2}}'
    WHERE version_number = 2 AND lift_system_id = {SYSTEM.format("system-5")};
ALTER TABLE lift_system_version ADD CONSTRAINT chk_lift_system_version_status
    CHECK (status IN ('DRAFT', 'PUBLISHED')) NOT VALID;
DROP TRIGGER scenario_update_timestamp ON scenario;
DROP TRIGGER lift_system_update_timestamp ON lift_system;
CREATE TRIGGER lift_system_update_timestamp AFTER UPDATE ON lift_system
    FOR EACH ROW EXECUTE FUNCTION update_timestamp();
ALTER FUNCTION update_timestamp() RENAME TO touch_updated_at;
ALTER TABLE flyway_schema_history DROP COLUMN execution_time;
UPDATE flyway_schema_history SET success = false WHERE version = '13';
UPDATE flyway_schema_history SET installed_rank = 20 WHERE version = '7';
UPDATE flyway_schema_history SET checksum = 1 WHERE version = '5';
CREATE FUNCTION sneaky() RETURNS int LANGUAGE sql
    AS $$ INSERT INTO lift_simulator.lift_system (system_key, display_name) VALUES ('x', 'y') RETURNING 1 $$;
"""

KINDS_YML = """\
schema: lift_simulator
checks:
  tables:
    tables: [lift_system, lift_system_version, scenario, simulation_run, flyway_schema_history]
    exactly: true
    absent: [simulation_scenario]
  columns:
    table: lift_system
    columns:
      id: bigserial
      system_key: {type: "character varying(120)", nullable: false}
      display_name: {type: varchar(200), nullable: false}
      description: text
      created_at: {type: timestamp with time zone, default: now()}
      updated_at: {type: timestamptz, default: CURRENT_TIMESTAMP}
    exactly: true
  primary_key:
    table: simulation_run
    primary_key: id
  foreign_keys:
    table: scenario
    foreign_keys:
      - {name: fk_scenario_lift_system_version, columns: lift_system_version_id,
         references: lift_system_version(id), on_delete: restrict}
  indexes_unique:
    table: lift_system_version
    indexes:
      uq_lift_system_version_single_published: {columns: [lift_system_id], unique: true, where: is_published}
  indexes_missing:
    table: scenario
    indexes:
      idx_scenario_name: {columns: [name], method: btree}
      idx_scenario_json: {method: gin}
  check_constraints:
    table: lift_system_version
    check_constraints:
      chk_lift_system_version_status: status IN ('DRAFT', 'PUBLISHED', 'ARCHIVED')
  triggers_timing:
    table: lift_system
    triggers:
      lift_system_update_timestamp: {function: update_timestamp, timing: before, events: [update], level: row}
  triggers_missing:
    table: scenario
    triggers:
      scenario_update_timestamp: null
  functions:
    functions: [update_timestamp]
  flyway_history: {flyway_history: true}
  flyway_no_failed: {flyway_no_failed: true}
  flyway_ranks_contiguous: {flyway_ranks_contiguous: true}
  flyway_latest_version: {flyway_latest_version: 13}
  flyway_migrations: {flyway_migrations: migrations}
  row_count_min:
    row_count: simulation_run
    where: status = 'FAILED'
    min: 1
  row_count_exactly: {row_count: lift_system, exactly: 12}
  row_count_max: {row_count: lift_system, max: 12}
  not_empty: {not_empty: [lift_system, simulation_run]}
  not_null: {table: lift_system, not_null: display_name, key: system_key}
  unique:
    table: lift_system_version
    unique: lift_system_id
    where: is_published
  accepted_values:
    table: lift_system_version
    column: status
    accepted_values: [DRAFT, PUBLISHED, ARCHIVED]
  relationship:
    table: scenario
    relationship: lift_system_version_id -> lift_system_version(id)
  expression:
    query: |
      SELECT s.system_key, v.version_number, v.config
      FROM lift_system_version v JOIN lift_system s ON s.id = v.lift_system_id
    expression: (config ->> 'minFloor')::int <= (config ->> 'maxFloor')::int
    key: [system_key, version_number]
  sql:
    sql: SELECT system_key FROM lift_system s WHERE NOT EXISTS
         (SELECT 1 FROM lift_system_version v WHERE v.lift_system_id = s.id)
  # thresholds and severity
  within_count_threshold: {table: lift_system, not_null: display_name, max_failures: 1}
  within_percent_threshold:
    table: lift_system_version
    expression: (config ->> 'minFloor')::int <= (config ->> 'maxFloor')::int
    max_failures: 5%
  over_percent_threshold:
    table: lift_system_version
    expression: (config ->> 'minFloor')::int <= (config ->> 'maxFloor')::int
    max_failures: 1%
  severity_warn:
    table: lift_system_version
    unique: lift_system_id
    where: is_published
    severity: warn
  warn_above:
    table: lift_system
    not_null: display_name
    max_failures: 3
    warn_above: 0
  # checks that cannot run are errors, not failures
  broken_sql: {sql: SELECT no_such_column FROM lift_system}
  too_slow: {sql: "SELECT 1 FROM generate_series(1, 300000000) g HAVING count(*) < 0", timeout: 0.3}
"""

GUARD_YML = """\
schema: lift_simulator
checks:
  sneaky_write:
    sql: SELECT lift_simulator.sneaky()
"""

# check -> (first line on the broken dump, or None when it must still pass there; outcome there)
EXPECTED: dict[str, tuple[str, str]] = {
    "tables": ("tables: 2 differences: Extra tables: lift_simulator.simulation_scenario", "failed"),
    "columns": ("lift_system: 4 differences: Extra columns in lift_system: legacy_floor", "failed"),
    "primary_key": ("simulation_run has no primary key, want (id)", "failed"),
    "foreign_keys": (
        "scenario foreign key fk_scenario_lift_system_version on_delete: have cascade, want restrict",
        "failed",
    ),
    "indexes_unique": (
        "index uq_lift_system_version_single_published unique: have false, want true",
        "failed",
    ),
    "indexes_missing": ("Missing indexes on scenario: idx_scenario_name", "failed"),
    "check_constraints": (
        "check constraint chk_lift_system_version_status: have CHECK (status::text = ANY (ARRAY['DRAFT'::",
        "failed",
    ),
    "triggers_timing": (
        "lift_system: 2 differences: trigger lift_system_update_timestamp function: have touch_updated_at",
        "failed",
    ),
    "triggers_missing": ("Missing triggers on scenario: scenario_update_timestamp", "failed"),
    "functions": ("Missing function: update_timestamp", "failed"),
    "flyway_history": (
        "lift_simulator.flyway_schema_history is not a Flyway history table: missing columns execution_time",
        "failed",
    ),
    "flyway_no_failed": (
        "1 failed migration in lift_simulator.flyway_schema_history: 13 (add update timestamp triggers)",
        "failed",
    ),
    "flyway_ranks_contiguous": (
        "lift_simulator.flyway_schema_history: installed_rank jumps from 6 to 8",
        "failed",
    ),
    "flyway_latest_version": (
        "latest applied version in lift_simulator.flyway_schema_history is 12, want 13",
        "failed",
    ),
    "flyway_migrations": ("1 migration differs from", "failed"),
    "row_count_min": ("simulation_run where status = 'FAILED' has 0 rows, want at least 1", "failed"),
    "row_count_exactly": ("lift_system has 13 rows, want exactly 12", "failed"),
    "row_count_max": ("lift_system has 13 rows, want at most 12", "failed"),
    "not_empty": ("1 of 2 tables are empty: simulation_run", "failed"),
    "not_null": ("1 row of lift_system has NULL in display_name: system-2", "failed"),
    "unique": (
        "1 value of (lift_system_id) occurs more than once in lift_system_version where is_published (2 rows): 3",
        "failed",
    ),
    "accepted_values": (
        "1 row of lift_system_version has status not in (DRAFT, PUBLISHED, ARCHIVED), seen 'BROKEN' x1: ",
        "failed",
    ),
    "relationship": (
        "1 row of scenario points at no row of lift_system_version(id) by lift_system_version_id: 1",
        "failed",
    ),
    "expression": (
        "1 row of the query fails ((config ->> 'minFloor')::int <= (config ->> 'maxFloor')::int): (system-5, 2)",
        "failed",
    ),
    "sql": ("the query returned 1 failing row: system-lonely", "failed"),
    "within_count_threshold": ("1 row of lift_system has NULL in display_name: 2", "passed"),  # keyed by id
    "within_percent_threshold": ("1 row of lift_system_version fails", "passed"),
    "over_percent_threshold": ("1 row of lift_system_version fails", "failed"),
    "severity_warn": ("1 value of (lift_system_id) occurs more than once", "warned"),
    "warn_above": ("1 row of lift_system has NULL in display_name", "warned"),
}
ALWAYS_ERRORS = {
    "broken_sql": 'column "no_such_column" does not exist',
    "too_slow": "ran longer than its timeout of 0.3 s",
}


@pytest.fixture(scope="session")
def kinds_run(
    source: build.SourceDatabase, dumps: Dumps, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    work = tmp_path_factory.mktemp("kinds")
    shutil.copy(dumps.plain, work / "good.sql")
    source.variant("broken", BROKEN, work)
    checks = work / "checks"
    checks.mkdir()
    (checks / "kinds.yml").write_text(KINDS_YML)
    (checks / "guard.yml").write_text(GUARD_YML)
    shutil.copytree(build.MIGRATIONS, checks / "migrations")
    proc = run_in(
        work,
        "-rA",
        "-W",
        "default",
        f"--liftbackup={work}/good.sql",
        f"--liftbackup={work}/broken.sql",
        "--liftbackup-report=verdict.json",
        "--liftbackup-markdown=summary.md",
        "--junitxml=junit.xml",
        GITHUB_STEP_SUMMARY=str(work / "step_summary.md"),
    )
    verdict = json.loads((work / "verdict.json").read_text())
    return {"verdict": verdict, "out": proc.stdout + proc.stderr, "work": work, "returncode": proc.returncode}


def checks_of(run: dict[str, Any], dump: str) -> dict[str, dict[str, Any]]:
    entry = next(d for d in run["verdict"]["dumps"] if d["id"] == dump)
    return {c["check"]: c for c in entry["checks"]}


def test_every_kind_passes_on_the_good_dump(kinds_run: dict[str, Any]) -> None:
    good = checks_of(kinds_run, "good")
    outcomes = {name: c["outcome"] for name, c in good.items() if name not in ALWAYS_ERRORS}
    assert outcomes == dict.fromkeys(outcomes, "passed") | {"sneaky_write": "error"}
    assert "function lift_simulator.sneaky() does not exist" in good["sneaky_write"]["error"]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_kind_fails_on_the_broken_dump_with_its_text(kinds_run: dict[str, Any], name: str) -> None:
    first_line, outcome = EXPECTED[name]
    check = checks_of(kinds_run, "broken")[name]
    assert check["outcome"] == outcome
    assert check["headline"].startswith(first_line), check["headline"]


def test_kinds_cover_the_whole_vocabulary() -> None:
    from pytest_liftbackup.checks.vocabulary import KINDS

    kinds = {
        name.split("_")[0] if name.startswith(("indexes", "triggers", "row_count")) else name
        for name in EXPECTED
    }
    assert set(KINDS) <= kinds | {"indexes", "triggers", "row_count"}


@pytest.mark.parametrize(("name", "message"), sorted(ALWAYS_ERRORS.items()))
def test_a_check_that_cannot_run_is_an_error_with_its_reason(
    kinds_run: dict[str, Any], name: str, message: str
) -> None:
    for dump in ("good", "broken"):
        check = checks_of(kinds_run, dump)[name]
        assert check["outcome"] == "error"
        assert message in check["error"]
        assert check["error"].startswith(f"check {name!r} could not run (checks/kinds.yml:")
    assert "raise 'timeout' in the check file" in checks_of(kinds_run, "good")["too_slow"]["error"]


def test_a_writing_function_is_stopped_by_the_read_only_transaction(kinds_run: dict[str, Any]) -> None:
    check = checks_of(kinds_run, "broken")["sneaky_write"]
    assert check["outcome"] == "error"
    assert "cannot execute INSERT in a read-only transaction" in check["error"]
    assert (
        checks_of(kinds_run, "broken")["row_count_exactly"]["headline"]
        == "lift_system has 13 rows, want exactly 12"
    )


def test_failure_report_has_counts_sample_sql_and_location(kinds_run: dict[str, Any]) -> None:
    out = kinds_run["out"]
    start = out.index("_ not_null[broken] _")
    block = out[start : out.index("\n_", start + 10)]
    assert "1 row of lift_system has NULL in display_name: system-2\n" in block
    assert "  failing: 1 of 13 tested (max_failures 0)\n" in block
    assert "  sample (1 of 1, by system_key):\n    system_key=system-2  display_name=NULL\n" in block
    assert (
        "  all failures: SET search_path = pg_catalog, lift_simulator, public; "
        "SELECT t.system_key, t.display_name FROM lift_system t WHERE true AND "
        "(t.display_name IS NULL) ORDER BY t.system_key\n" in block
    )
    assert "  check: checks/kinds.yml:" in block and "(not_null)" in block
    assert "Traceback" not in block


def test_schema_failures_use_have_and_want_lines(kinds_run: dict[str, Any]) -> None:
    details = checks_of(kinds_run, "broken")["columns"]["details"]
    assert details == [
        "Extra columns in lift_system: legacy_floor",
        "lift_system.display_name type: have text, want varchar(200)",
        "lift_system.display_name nullable: have NULL allowed, want NOT NULL",
        "lift_system.created_at default: have none, want now()",
    ]


def test_warnings_pass_the_run_but_are_reported(kinds_run: dict[str, Any]) -> None:
    out = kinds_run["out"]
    assert "PASSED checks/kinds.yml::severity_warn[broken]" in out
    assert "CheckWarning: 1 value of (lift_system_id) occurs more than once" in out
    assert "checks/kinds.yml:" in out.split("CheckWarning")[0].splitlines()[-1]


def test_node_ids_carry_the_dump_and_junit_names_them(kinds_run: dict[str, Any]) -> None:
    junit = (kinds_run["work"] / "junit.xml").read_text()
    assert 'name="not_null[broken]"' in junit
    assert 'classname="checks.kinds.yml"' in junit or "kinds.yml" in junit
    assert '<property name="liftbackup"' in junit


def test_json_report_has_dump_facts_restore_and_each_check(kinds_run: dict[str, Any]) -> None:
    verdict = kinds_run["verdict"]
    assert verdict["verdict"] == "failed"
    assert kinds_run["returncode"] == 1
    broken = next(d for d in verdict["dumps"] if d["id"] == "broken")
    assert broken["format"] == "plain" and broken["pg_dump_version"]
    assert len(broken["sha256"]) == 64
    assert broken["restore"]["restore"] == "passed"
    assert broken["restore"]["tables"]["lift_simulator.lift_system"] == 13
    check = next(c for c in broken["checks"] if c["check"] == "unique")
    assert check["failures"] == 1 and check["tested"] == 13 and check["max_failures"] == "0"
    assert check["sample"][0]["lift_system_id"] == 3 and check["sample"][0]["duplicates"] == 2
    assert check["nodeid"] == "checks/kinds.yml::unique[broken]"


def test_markdown_summary_goes_to_the_file_and_the_step_summary(kinds_run: dict[str, Any]) -> None:
    work: Path = kinds_run["work"]
    text = (work / "summary.md").read_text()
    assert text == (work / "step_summary.md").read_text()
    assert text.startswith("## liftbackup: FAILED\n")
    assert "| `broken.sql` | passed |" in text
    assert "### FAILED: `checks/kinds.yml::not_null[broken]`" in text
    assert "### WARNED: `checks/kinds.yml::severity_warn[broken]`" in text
