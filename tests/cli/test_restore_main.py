"""`liftbackup restore` into the main database and `liftbackup rollback`: the data is never at risk."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from pytest_liftbackup.api import RestorerConfig
from pytest_liftbackup.api.main_restore import STEPS, MainRestore, preflight, restore_main
from tests.cli.conftest import PASSWORD, Live, liftbackup, running, said
from tests.cli.test_backup_and_verify import CHECKS, backup
from tests.conftest import Scratch, servers_under
from tests.helpers import REPO


def changed_since_backup(live: Live) -> None:
    """What the application did after the backup: the restore must undo it, the rollback redo it."""
    live.execute("DELETE FROM lift_simulator.simulation_run WHERE id % 2 = 0")
    live.execute("UPDATE lift_simulator.lift_system SET display_name = 'renamed' WHERE id = 1")


def test_restore_replaces_the_database_keeps_the_old_one_and_rollback_swaps_back(
    live: Live, tmp_path: Path
) -> None:
    live.execute(f"GRANT CONNECT ON DATABASE {live.name} TO lift_app")
    live.execute(f"REVOKE CONNECT ON DATABASE {live.name} FROM PUBLIC")
    live.execute(f"ALTER DATABASE {live.name} SET work_mem = '7MB'")
    live.execute(f'ALTER DATABASE {live.name} SET search_path = "$user", lift_simulator')
    live.execute(f"ALTER ROLE lift_app IN DATABASE {live.name} SET statement_timeout = '5s'")
    live.execute(f"COMMENT ON DATABASE {live.name} IS 'the lift simulator'")
    dump = backup(live, tmp_path / "backups")
    at_backup = live.facts()
    changed_since_backup(live)
    after_change = live.facts()
    done = liftbackup("restore", dump, "--dsn", live.dsn, "--yes", "--checks", CHECKS, "--json")
    assert done.returncode == 0, said(done)
    report = json.loads(done.stdout)
    assert live.facts() == at_backup
    previous = report["previous"]
    assert previous.startswith(f"{live.name}_pre_restore_")
    assert live.facts(previous) == after_change  # nothing lost: the replaced data is all there
    assert sorted(live.databases()) == sorted([live.name, previous])
    shape = """SELECT pg_get_userbyid(datdba), (SELECT array_agg(a::text ORDER BY a::text) FROM unnest(datacl) a)::text,
                datconnlimit, shobj_description(oid, 'pg_database'),
                (SELECT array_agg(coalesce(pg_get_userbyid(setrole), '-') || ':' || array_to_string(setconfig, ',')
                 ORDER BY setrole) FROM pg_db_role_setting WHERE setdatabase = d.oid)
                FROM pg_database d WHERE datname = '{}'"""
    new, old = (live.execute(shape.format(name), "postgres")[0] for name in (live.name, previous))
    assert new[0] == "lift_admin" and (new[1], new[2], new[4]) == (old[1], old[2], old[4])
    assert (
        new[3] == "the lift simulator" and '"comment": "the lift simulator"' in old[3]
    )  # kept in the record
    assert "lift_app=c/" in str(new[1]) and "=Tc/" not in str(new[1])
    safety = Path(report["safety_backup"])
    assert safety.parent == tmp_path / "backups" and Path(f"{safety}.manifest.json").exists()
    assert "restore " in (tmp_path / "backups" / "liftbackup.log").read_text()

    back = liftbackup("rollback", "--dsn", live.dsn, "--yes")
    assert back.returncode == 0, said(back)
    assert live.facts() == after_change
    assert any(name.startswith(f"{live.name}_rolled_back_") for name in live.databases())
    assert live.facts(next(n for n in live.databases() if "_rolled_back_" in n)) == at_backup


def test_restore_refuses_while_the_application_is_connected_and_can_end_its_sessions(
    live: Live, tmp_path: Path
) -> None:
    dump = backup(live, tmp_path)
    changed_since_backup(live)
    before = live.facts()
    app = psycopg.connect(
        live.dsn.replace("user=lift_ops", "user=lift_app").replace(PASSWORD, "app")
        + " application_name=lift-simulator"
    )
    try:
        done = liftbackup("restore", dump, "--dsn", live.dsn, "--yes")
        assert done.returncode == 3, said(done)
        assert (
            f"liftbackup: refused: {live.name} has other sessions: pid {app.info.backend_pid}, lift_app (lift-simulator)"
            in done.stderr
        )
        assert "Stop the application first, or pass --terminate-connections to end them" in done.stderr
        assert live.facts() == before and live.databases() == [live.name]
        done = liftbackup("restore", dump, "--dsn", live.dsn, "--yes", "--terminate-connections")
        assert done.returncode == 0, said(done)
        with pytest.raises(psycopg.OperationalError):
            app.execute("SELECT 1")
    finally:
        app.close()
    assert live.facts() != before


def test_without_yes_and_without_a_terminal_nothing_happens(live: Live, tmp_path: Path) -> None:
    dump = backup(live, tmp_path)
    done = liftbackup("restore", dump, "--dsn", live.dsn)
    assert done.returncode == 3
    assert "needs a confirmation: run it on a terminal, or pass --yes in scripts" in done.stderr
    assert live.databases() == [live.name]


def test_dry_run_prints_the_plan_and_changes_nothing(live: Live, tmp_path: Path) -> None:
    dump = backup(live, tmp_path)
    before = sorted(p.name for p in tmp_path.iterdir())
    done = liftbackup("restore", dump, "--dsn", live.dsn, "--dry-run")
    assert done.returncode == 0, said(done)
    assert done.stdout.splitlines()[0].startswith(f"1. copy {dump} into a private temporary folder")
    assert "verify the copy in a throwaway PostgreSQL (restore, checks from none, manifest)" in done.stdout
    assert (
        f"5. rename {live.name} to {live.name}_pre_restore_YYYYMMDD_HHMMSS (the time of the swap) and the staging database to {live.name}"
        in done.stdout
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == before and live.databases() == [live.name]


def test_a_role_without_the_privileges_is_refused_before_anything_runs(live: Live, tmp_path: Path) -> None:
    dump = backup(live, tmp_path)
    weak = live.dsn.replace("user=lift_ops", "user=lift_weak").replace(PASSWORD, "weak")
    done = liftbackup("restore", dump, "--dsn", weak, "--yes")
    assert done.returncode == 3
    assert "liftbackup: refused: lift_weak lacks what this restore needs: CREATEDB" in done.stderr
    assert f"membership in the owner of {live.name}" in done.stderr
    assert live.databases() == [live.name]


def test_a_failing_backup_is_never_restored(live: Live, tmp_path: Path) -> None:
    dump = backup(live, tmp_path)
    text = dump.read_text()
    dump.write_text(text[: text.index("COPY lift_simulator.scenario")])  # cut short
    Path(f"{dump}.manifest.json").unlink()  # with it, step 1 refuses before any restore (its sha256 differs)
    before = live.facts()
    done = liftbackup("restore", dump, "--dsn", live.dsn, "--yes")
    assert done.returncode == 1
    assert f"{dump}: the backup failed verification; the main database was not changed" in done.stderr
    assert f"liftbackup:   {dump}: the dump is cut short" in done.stderr  # the file given, not its copy
    assert live.facts() == before and live.databases() == [live.name]
    assert [p.name for p in tmp_path.iterdir() if "_backup_" in p.name and p.suffix == ".sql"] == [dump.name]


def test_checks_that_fail_on_the_staging_database_stop_the_restore(live: Live, tmp_path: Path) -> None:
    """Step 4: checks pass in the throwaway server and fail on the main server's staging database (here:
    a check that fails only there, by the database's name): the staging database goes, the main one
    stays."""
    checks = tmp_path / "checks.yml"
    checks.write_text(
        "checks:\n  not_in_staging:\n    sql: SELECT current_database() WHERE current_database() LIKE '%\\_liftbackup\\_staging\\_%'\n"
    )
    dump = backup(live, tmp_path / "b")
    changed_since_backup(live)
    before = live.facts()
    done = liftbackup("restore", dump, "--dsn", live.dsn, "--yes", "--checks", checks)
    text = said(done)
    assert done.returncode == 1, text
    assert "step 4/5: staging" in text and "step 5/5" not in text
    assert "checks failed on the staging database; the main database was not changed" in text
    assert "not_in_staging" in text
    assert live.facts() == before and live.databases() == [live.name]


@pytest.mark.parametrize("step", STEPS)
def test_a_failure_at_any_step_leaves_the_main_database_as_it_was(
    step: str, live: Live, tmp_path: Path, scratch: Scratch
) -> None:
    dump = backup(live, tmp_path / "b")
    changed_since_backup(live)
    before = live.facts()
    request = MainRestore(dump, live.dsn, tmp_path / "b", config=RestorerConfig(jobs=2))

    def fail_at(now: str) -> None:
        if now == step:
            raise KeyboardInterrupt(f"injected at {step}")

    with pytest.raises(KeyboardInterrupt):
        restore_main(request, preflight(request), on_step=fail_at)
    assert live.facts() == before
    assert live.databases() == [live.name]  # no staging database left
    assert servers_under(scratch.tmpdir) == [] and scratch.leftovers() == []


@pytest.mark.parametrize("signal_number", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_interrupted_on_the_staging_database_leaves_nothing(
    signal_number: int, live: Live, tmp_path: Path, scratch: Scratch
) -> None:
    """A real signal while step 4's checks run on the staging database (a check that is slow only
    there): the staging database goes, the main one stays."""
    checks = tmp_path / "slow.yml"
    checks.write_text(
        "checks:\n  slow_on_staging:\n    sql: |\n"
        "      SELECT n FROM (SELECT CASE WHEN current_database() LIKE '%staging%'\n"
        "        THEN (SELECT count(*) FROM generate_series(1, 2000000000)) ELSE 0 END AS n) AS x WHERE n < 0\n"
    )
    dump = backup(live, tmp_path / "b")
    changed_since_backup(live)
    before = live.facts()
    proc = running(
        "restore",
        dump,
        "--dsn",
        live.dsn,
        "--yes",
        "--checks",
        checks,
    )
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith("step 4/5"):
            break
    for _ in range(200):  # the slow check is running on the staging database
        if live.execute(
            "SELECT 1 FROM pg_stat_activity WHERE query LIKE '%generate_series(1, 2000000000)%' "
            "AND pid <> pg_backend_pid() AND datname LIKE '%staging%'",
            "postgres",
        ):
            break
        __import__("time").sleep(0.05)
    else:
        raise AssertionError("the slow check never ran on the staging database")
    proc.send_signal(signal_number)
    _out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "liftbackup: interrupted" in err and "Traceback" not in err
    assert live.facts() == before and live.databases() == [live.name]
    assert servers_under(scratch.tmpdir) == [] and scratch.leftovers() == []


def test_selective_restore_replaces_only_the_tables_named(live: Live, tmp_path: Path) -> None:
    dump = backup(live, tmp_path / "b")
    at_backup = live.facts()
    live.execute("UPDATE lift_simulator.lift_system_version SET status = 'DRAFT'")
    live.execute("DELETE FROM lift_simulator.simulation_run WHERE id % 2 = 0")
    runs = live.facts()["lift_simulator.simulation_run"]
    done = liftbackup("restore", dump, "--dsn", live.dsn, "--yes", "--table", "lift_system_version", "--json")
    assert done.returncode == 0, said(done)
    assert json.loads(done.stdout)["replaced"] == {"lift_simulator.lift_system_version": 48}
    now = live.facts()
    assert now["lift_simulator.lift_system_version"] == at_backup["lift_simulator.lift_system_version"]
    assert now["lift_simulator.simulation_run"] == runs  # not named: untouched
    assert live.databases() == [live.name]


def test_selective_restore_refuses_when_other_tables_keys_would_break(live: Live, tmp_path: Path) -> None:
    dump = backup(live, tmp_path / "b")
    live.execute(
        "INSERT INTO lift_simulator.lift_system (system_key, display_name) VALUES ('new', 'New'); "
        "INSERT INTO lift_simulator.lift_system_version (lift_system_id, version_number, status, is_published, config) "
        "SELECT id, 1, 'DRAFT', false, '{\"minFloor\": 0, \"maxFloor\": 3}' FROM lift_simulator.lift_system WHERE system_key = 'new'"
    )
    before = live.facts()
    done = liftbackup("restore", dump, "--dsn", live.dsn, "--yes", "--table", "lift_simulator.lift_system")
    assert done.returncode == 3, said(done)
    assert (
        "foreign key lift_system_version_lift_system_id_fkey from lift_simulator.lift_system_version to lift_simulator.lift_system would break: 1 rows"
        in done.stderr
    )
    assert "nothing was changed" in done.stderr
    assert live.facts() == before and live.databases() == [live.name]


def _on_a_terminal(args: list[str], typed: str) -> subprocess.CompletedProcess[str]:
    """The command with a terminal as its standard input, someone typing `typed` at the prompt."""
    import os

    main, terminal = os.openpty()
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "pytest_liftbackup", *args],
            cwd=REPO,
            stdin=terminal,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        os.write(main, typed.encode() + b"\n")
        out, err = proc.communicate(timeout=300)
    finally:
        os.close(main)
        os.close(terminal)
    return subprocess.CompletedProcess(args, proc.returncode, out, err)


def test_the_prompt_asks_for_the_database_name_before_restoring_and_rolling_back(
    live: Live, tmp_path: Path
) -> None:
    dump = backup(live, tmp_path)
    changed_since_backup(live)
    before = live.facts()
    wrong = _on_a_terminal(["restore", str(dump), "--dsn", live.dsn], "lift_simulator")
    assert wrong.returncode == 3, said(wrong)
    assert (
        f"restore {dump.name} into {live.name}, restored as liftbackup_staging_… (the dump's owners' rights). "
        f"Type the database name ({live.name}) to go on: " in wrong.stderr
    )
    assert "liftbackup: refused: not confirmed; nothing was changed" in wrong.stderr
    assert live.facts() == before and live.databases() == [live.name]
    right = _on_a_terminal(["restore", str(dump), "--dsn", live.dsn], live.name)
    assert right.returncode == 0, said(right)
    assert live.facts() != before
    back = _on_a_terminal(["rollback", "--dsn", live.dsn, "--json"], live.name)
    assert back.returncode == 0, said(back)
    assert json.loads(back.stdout[back.stdout.index("{") :])["database"] == live.name
    assert live.facts() == before


def test_a_selective_restore_refuses_when_the_live_schema_moved_on(live: Live, tmp_path: Path) -> None:
    dump = backup(live, tmp_path / "b")
    live.execute("ALTER TABLE lift_simulator.lift_system_version ADD COLUMN notes text")
    before = live.facts()
    done = liftbackup("restore", dump, "--dsn", live.dsn, "--yes", "--table", "lift_system_version")
    assert done.returncode == 3, said(done)
    assert "lift_simulator.lift_system_version: its columns differ between the live database (" in done.stderr
    assert (
        "notes) and the backup (" in done.stderr
        and "a selective restore needs the same schema" in done.stderr
    )
    assert live.facts() == before and live.databases() == [live.name]


def test_a_selective_restore_needs_a_superuser(live: Live, tmp_path: Path) -> None:
    dump = backup(live, tmp_path)
    weak = live.dsn.replace("user=lift_ops", "user=lift_weak").replace(PASSWORD, "weak")
    done = liftbackup("restore", dump, "--dsn", weak, "--yes", "--table", "lift_system")
    assert done.returncode == 3
    assert "SUPERUSER (a selective restore replaces rows with triggers off)" in done.stderr
