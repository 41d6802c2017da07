"""Classes 4 and 7: dumps in one run cannot touch each other, and nothing a dump sets or hides can
change what checks see. Dump B (restored second, sharing the role lift_admin with A) tries to close,
drop and reconfigure A's database: it fails, A's checks pass. A dump that hides rows behind a forced
row-level security policy, or sets its database's settings, does not get a green check."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import Dumps, Scratch
from tests.helpers import REPO, assert_clean, output, run
from tests.security.conftest import hostile_plain

SHIPPED = REPO / "checks" / "lift_simulator.yml"

ON_EVERY_OTHER_DATABASE = """
DO $$
DECLARE d text;
BEGIN
  FOR d IN SELECT datname FROM pg_catalog.pg_database
           WHERE datname LIKE 'liftbackup%' AND datname <> current_database() LOOP
    EXECUTE pg_catalog.format({action}, d);
  END LOOP;
END $$;
"""


@pytest.mark.parametrize(
    ("action", "message"),
    [
        ("'ALTER DATABASE %I ALLOW_CONNECTIONS false'", "must be owner of database"),
        ("'ALTER DATABASE %I OWNER TO CURRENT_USER'", "must be owner of database"),
        ("'ALTER DATABASE %I SET default_transaction_read_only = off'", "must be owner of database"),
    ],
    ids=["refuse-connections", "take-ownership", "settings"],
)
def test_a_later_dump_cannot_touch_an_earlier_ones_database(
    action: str, message: str, dumps: Dumps, pytester: pytest.Pytester, scratch: Scratch, tmp_path: Path
) -> None:
    first = tmp_path / "a" / "lift_simulator_backup_20260120_080000.sql"
    first.parent.mkdir()
    first.write_bytes(dumps.plain.read_bytes())
    second = tmp_path / "b" / "lift_simulator_backup_20260127_080000.sql"
    second.parent.mkdir()
    hostile_plain(dumps.plain, second, ON_EVERY_OTHER_DATABASE.format(action=action))
    result = run(
        pytester, f"--liftbackup={first}", f"--liftbackup={second}", f"--liftbackup-checks={SHIPPED}"
    )
    text = output(result)
    assert message in text, text
    # A: its restore and 38 checks pass (2 skip without migrations); B: its restore fails, its 40 checks skip
    result.assert_outcomes(passed=39, skipped=42, failed=1)
    assert "b/lift_simulator_backup_20260127_080000.sql::restore" in text.split("short test summary")[1]
    assert_clean(scratch)


RLS = """
ALTER TABLE lift_simulator.lift_system ENABLE ROW LEVEL SECURITY;
ALTER TABLE lift_simulator.lift_system FORCE ROW LEVEL SECURITY;
CREATE POLICY hide_nulls ON lift_simulator.lift_system USING (description IS NOT NULL);
"""
RLS_CHECKS = """\
schema: lift_simulator
checks:
  descriptions:
    table: lift_system
    not_null: [description]
  all_systems:
    row_count: lift_system
    exactly: 12
"""


def test_row_level_security_hides_nothing_from_checks_and_fixtures(
    dumps: Dumps, pytester: pytest.Pytester, scratch: Scratch, tmp_path: Path
) -> None:
    dump = hostile_plain(dumps.plain, tmp_path / "lift_simulator_backup_20260120_080000.sql", RLS)
    (pytester.path / "checks").mkdir()
    (pytester.path / "checks" / "rls.yml").write_text(RLS_CHECKS)
    pytester.makepyfile(
        test_rows="""
        def test_fixture_sees_every_row(liftbackup_db, liftbackup_dump):
            assert liftbackup_dump.tables["lift_simulator.lift_system"] == 12
            row = liftbackup_db.execute("SELECT count(*) FROM lift_simulator.lift_system").fetchone()
            assert row == (12,)
        """
    )
    result = run(pytester, f"--liftbackup={dump}")
    text = output(result)
    assert "3 rows of lift_system have NULL in description" in text, text
    result.assert_outcomes(passed=3, failed=1)  # restore, row count, fixture test; not_null fails


SETTINGS = """
DO $$ BEGIN
  EXECUTE pg_catalog.format('ALTER DATABASE %I SET transform_null_equals = on', current_database());
  EXECUTE pg_catalog.format('ALTER DATABASE %I SET search_path = lift_simulator', current_database());
  EXECUTE pg_catalog.format('ALTER DATABASE %I SET row_security = on', current_database());
END $$;
"""


def test_settings_the_dump_attaches_to_its_database_are_reset(
    dumps: Dumps, pytester: pytest.Pytester, scratch: Scratch, tmp_path: Path
) -> None:
    dump = hostile_plain(dumps.plain, tmp_path / "lift_simulator_backup_20260120_080000.sql", SETTINGS)
    pytester.makepyfile(
        test_settings="""
        def test_defaults(liftbackup_db):
            assert liftbackup_db.execute("SHOW transform_null_equals").fetchone() == ("off",)
            assert liftbackup_db.execute("SHOW search_path").fetchone() == ('"$user", public',)
            assert liftbackup_db.execute("SHOW row_security").fetchone() == ("off",)
        """
    )
    result = run(pytester, f"--liftbackup={dump}")
    result.assert_outcomes(passed=2)
    assert_clean(scratch)
