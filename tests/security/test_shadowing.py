"""Class 6: the dump cannot decide a check's result by defining operators or functions that
PostgreSQL would pick over its own (a closer argument-type match wins whatever the search_path).
Such a dump makes every check an error naming the object; extensions' own operators (intarray's
`&&(int[], int[])`) do not count, but one the dump adds to an extension it created does (issue 29,
item 4); pg_catalog comes first, so no relation of the dump stands in for a catalog table."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import PLAIN_NAME, Dumps, Scratch
from tests.helpers import assert_clean, output, run
from tests.security.conftest import hostile_plain

CHECKS = """\
schema: lift_simulator
checks:
  tables_exist:
    tables: [lift_system, no_such_table]
  status_values:
    table: lift_system_version
    column: status
    accepted_values: [NOTHING]
"""

ALWAYS_TRUE = """
CREATE FUNCTION lift_simulator.always_true({left}, {right}) RETURNS boolean
    LANGUAGE sql IMMUTABLE AS 'SELECT true';
CREATE OPERATOR lift_simulator.= (LEFTARG = {left}, RIGHTARG = {right}, FUNCTION = lift_simulator.always_true);
"""


@pytest.mark.parametrize(
    ("left", "right", "shown"),
    [
        ("oid", "regclass", "operator lift_simulator.=(oid, regclass)"),
        (
            "character varying",
            "character varying",
            "operator lift_simulator.=(character varying, character varying)",
        ),
    ],
    ids=["catalog-lookup", "data-check"],
)
def test_an_operator_that_shadows_a_builtin_makes_checks_errors_not_passes(
    left: str,
    right: str,
    shown: str,
    dumps: Dumps,
    pytester: pytest.Pytester,
    scratch: Scratch,
    tmp_path: Path,
) -> None:
    dump = hostile_plain(dumps.plain, tmp_path / PLAIN_NAME, ALWAYS_TRUE.format(left=left, right=right))
    (pytester.path / "checks").mkdir()
    (pytester.path / "checks" / "c.yml").write_text(CHECKS)
    result = run(pytester, f"--liftbackup={dump}")
    text = output(result)
    result.assert_outcomes(passed=1, errors=2)
    assert f"the dump defines {shown}, which PostgreSQL would pick instead of its own built-in" in text
    assert_clean(scratch)


# citext is trusted: not in pg_dump's shape, the restorer creates it itself and owns it, so it may add
# its own operator to it. Members of an extension used to be skipped: tables_exist then passed.
ADDED_TO_EXTENSION = (
    "CREATE EXTENSION citext SCHEMA public;\n"
    + ALWAYS_TRUE.format(left="oid", right="regclass")
    + "ALTER EXTENSION citext ADD FUNCTION lift_simulator.always_true(oid, regclass);\n"
    "ALTER EXTENSION citext ADD OPERATOR lift_simulator.=(oid, regclass);\n"
)


def test_an_operator_the_dump_adds_to_an_extension_still_counts_as_the_dumps(
    dumps: Dumps, pytester: pytest.Pytester, scratch: Scratch, tmp_path: Path
) -> None:
    dump = hostile_plain(dumps.plain, tmp_path / PLAIN_NAME, ADDED_TO_EXTENSION)
    (pytester.path / "checks").mkdir()
    (pytester.path / "checks" / "c.yml").write_text(CHECKS)
    result = run(pytester, f"--liftbackup={dump}")
    text = output(result)
    result.assert_outcomes(passed=1, errors=2)
    assert "the dump defines operator lift_simulator.=(oid, regclass), which PostgreSQL would pick" in text
    assert_clean(scratch)


def test_the_same_checks_fail_honestly_on_the_plain_dump(
    dumps: Dumps, pytester: pytest.Pytester, scratch: Scratch
) -> None:
    (pytester.path / "checks").mkdir()
    (pytester.path / "checks" / "c.yml").write_text(CHECKS)
    result = run(pytester, f"--liftbackup={dumps.plain}")
    result.assert_outcomes(passed=1, failed=2)
    assert "Missing tables: no_such_table" in output(result)


EXTENSION = """
--
-- Name: intarray; Type: EXTENSION; Schema: -; Owner: -
--

CREATE EXTENSION IF NOT EXISTS intarray WITH SCHEMA public;
"""
RELATION = """
CREATE VIEW lift_simulator.pg_constraint AS SELECT * FROM pg_catalog.pg_constraint WHERE false;
"""


def test_extension_operators_and_look_alike_relations_do_not_change_results(
    dumps: Dumps, pytester: pytest.Pytester, scratch: Scratch, tmp_path: Path
) -> None:
    dump = hostile_plain(dumps.plain, tmp_path / PLAIN_NAME, EXTENSION + RELATION)
    (pytester.path / "checks").mkdir()
    (pytester.path / "checks" / "c.yml").write_text(
        "schema: lift_simulator\nchecks:\n  pk:\n    table: lift_system\n    primary_key: [id]\n"
        "  overlap:\n    sql: SELECT 1 WHERE NOT ARRAY[1, 2] && ARRAY[2, 3]\n"
    )
    result = run(pytester, f"--liftbackup={dump}")
    text = output(result)
    assert result.ret == 0, text
    result.assert_outcomes(passed=3)
