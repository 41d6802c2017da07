"""The names `restore` gives the databases it keeps, the record each carries, and what `rollback` may
swap back: names that fit PostgreSQL's 63 bytes and say whose they are, rollback of one recorded
restore only, and nothing after the swap failing the command (issue 30, items 5, 6 and 9)."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from psycopg import sql

from tests.cli.conftest import Live, liftbackup, running, said
from tests.cli.test_backup_and_verify import CHECKS, backup
from tests.helpers import REPO

TIME = r"\d{8}_\d{6}"  # the whole time: YYYYMMDD_HHMMSS


@contextmanager
def databases(main: Live, *names: str) -> Iterator[list[Live]]:
    """Copies of lift_simulator under these names on main's server; dropped at the end, with every
    database whose name starts as theirs do (what a restore or a rollback kept beside them)."""
    made: list[Live] = []
    try:
        for name in names:
            with main.admin() as conn:
                conn.execute(
                    sql.SQL("CREATE DATABASE {} TEMPLATE lift_simulator OWNER lift_admin").format(
                        sql.Identifier(name)
                    )
                )
            made.append(Live(main.server, name, pg_bin=main.pg_bin))
        yield made
    finally:
        with main.admin() as conn:
            for name in names:
                prefix = name.encode()[:16].decode("utf-8", "ignore")
                rows = conn.execute(
                    "SELECT datname FROM pg_database WHERE starts_with(datname, %s)", (prefix,)
                ).fetchall()
                for (other,) in rows:
                    conn.execute(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (other,)
                    )
                    conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(other)))


def on_server(main: Live) -> set[str]:
    return {str(r[0]) for r in main.execute("SELECT datname FROM pg_database", "postgres")}


def hashed(database: str, marker: str) -> re.Pattern[str]:
    """The name a long database's kept copy gets: its name cut at a character boundary, 8 hex of its
    sha256, the marker and the whole time, 63 bytes at most."""
    tail = f"_{hashlib.sha256(database.encode()).hexdigest()[:8]}{marker}"
    room = 63 - len(tail.encode()) - 15
    cut = database.encode()[:room].decode("utf-8", "ignore")
    return re.compile(re.escape(cut + tail) + TIME)


def restore(db: Live, main: Live, dump: Path, *more: str) -> subprocess.CompletedProcess[str]:
    return liftbackup("restore", dump, "--dsn", db.dsn, "--yes", *main.tools, *more)


def kept_as(done: subprocess.CompletedProcess[str]) -> str:
    found = re.search(r"the previous database is kept as (\S+)\n", done.stdout)
    assert found, said(done)
    return found.group(1)


def test_rollback_of_a_database_without_a_record_refuses_though_another_shares_its_long_prefix(
    main: Live, tmp_path: Path
) -> None:
    prod_name, test_name = (f"customer_portal_application_database_v2_{x}" for x in ("prod", "test"))
    with databases(main, prod_name, test_name) as (prod, test):
        dump = backup(test, tmp_path, *main.tools)
        test.execute("DELETE FROM lift_simulator.simulation_run WHERE id % 2 = 0")
        done = restore(test, main, dump, "--json")
        assert done.returncode == 0, said(done)
        kept = json.loads(done.stdout)["previous"]
        prod_before, kept_before = prod.facts(), main.facts(kept)

        back = liftbackup("rollback", "--dsn", prod.dsn, "--yes")
        assert back.returncode == 3, said(back)
        assert f"liftbackup: refused: nothing recorded for {prod_name} on lift_ops@" in back.stderr
        assert (
            ": no kept copy says the current database replaced it; nothing to roll back to\n" in back.stderr
        )
        assert prod.facts() == prod_before and main.facts(kept) == kept_before
        assert {prod_name, test_name, kept} <= on_server(main)
        assert hashed(test_name, "_pre_restore_").fullmatch(kept) and len(kept.encode()) <= 63


def test_a_long_non_ascii_name_keeps_the_whole_time_and_two_restores_in_a_row_both_succeed(
    main: Live, tmp_path: Path
) -> None:
    name = "aufzug_wartungsprotokoll_übersicht_nord"  # the 63-byte cut falls inside the ü
    with databases(main, name) as (db,):
        dump = backup(db, tmp_path, *main.tools)
        first = restore(db, main, dump)
        assert first.returncode == 0, said(first)
        second = restore(db, main, dump)
        assert second.returncode == 0, said(second)
        kept = [kept_as(first), kept_as(second)]
        assert kept[0] != kept[1] and set(kept) <= on_server(main)
        for made in kept:
            assert hashed(name, "_pre_restore_").fullmatch(made) and len(made.encode()) <= 63
            assert made.startswith("aufzug_wartungsprotokoll__")  # cut before the ü, not inside it

        back = liftbackup("rollback", "--dsn", db.dsn, "--yes")
        assert back.returncode == 0, said(back)
        found = re.search(
            f"rolled back: (\\S+) is {name} again; the restored database is kept as (\\S+)\n", back.stdout
        )
        assert found, said(back)
        assert found.group(1) == kept[1]  # the copy the current database replaced, not an older one
        assert hashed(name, "_rolled_back_").fullmatch(found.group(2)) and found.group(2) in on_server(main)


def test_rollback_after_a_selective_restore_refuses_and_names_its_safety_backup(
    main: Live, tmp_path: Path
) -> None:
    dump = backup(main, tmp_path, *main.tools)
    done = restore(main, main, dump)
    assert done.returncode == 0, said(done)
    kept = kept_as(done)
    main.execute("UPDATE lift_simulator.lift_system_version SET status = 'DRAFT'")
    main.execute("DELETE FROM lift_simulator.simulation_run WHERE id % 2 = 0")
    selective = restore(main, main, dump, "--table", "lift_system_version", "--json")
    assert selective.returncode == 0, said(selective)
    safety = json.loads(selective.stdout)["safety_backup"]
    before = main.facts()

    back = liftbackup("rollback", "--dsn", main.dsn, "--yes")
    assert back.returncode == 3, said(back)
    assert (
        f"liftbackup: refused: the last restore into {main.name} was selective (tables "
        "lift_simulator.lift_system_version, " in back.stderr
    )
    assert (
        f") and kept no copy; a rollback would lose every write since {kept} was kept. Undo it from its "
        f"safety backup: liftbackup restore {safety} --table ...\n" in back.stderr
    )
    assert main.facts() == before and kept in on_server(main)


def test_a_second_rollback_needs_to_and_to_takes_only_a_recorded_copy_of_this_database(
    main: Live, tmp_path: Path
) -> None:
    dump = backup(main, tmp_path, *main.tools)
    at_backup = main.facts()
    main.execute("DELETE FROM lift_simulator.simulation_run WHERE id % 2 = 0")
    after_change = main.facts()
    done = restore(main, main, dump)
    assert done.returncode == 0, said(done)
    kept = kept_as(done)
    asked = liftbackup("rollback", "--dsn", main.dsn)  # no terminal: the question is the refusal
    assert asked.returncode == 3, said(asked)
    assert re.search(
        f"liftbackup: refused: roll back {main.name} to {kept} \\(kept \\d+ s ago, replaced by the restore "
        f"of {re.escape(str(dump))}\\) needs a confirmation: run it on a terminal, or pass --yes in scripts\n",
        asked.stderr,
    ), said(asked)
    back = liftbackup("rollback", "--dsn", main.dsn, "--yes")
    assert back.returncode == 0, said(back)
    assert re.search(
        f"rollback: {kept} \\(kept \\d+ s ago, replaced by the restore of {re.escape(str(dump))}\\) "
        f"becomes {main.name} again\n",
        back.stdout,
    ), said(back)
    rolled = re.search(r"the restored database is kept as (\S+)\n", back.stdout)
    assert rolled and main.facts() == after_change
    rolled_back = rolled.group(1)

    again = liftbackup("rollback", "--dsn", main.dsn, "--yes")
    assert again.returncode == 3, said(again)
    assert (
        f"liftbackup: refused: {main.name} is rolled back already ({rolled_back} is the restore that "
        "rollback undid); to swap in another copy, name it: liftbackup rollback --to NAME; recorded "
        f"copies: {rolled_back} (rolled_back, " in again.stderr
    )
    with databases(main, f"{main.name}_other") as (other,):
        record = main.execute(
            f"SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = '{rolled_back}'"
        )
        other.execute(f"COMMENT ON DATABASE {other.name} IS '{record[0][0]}'")  # copied: not its OID
        for wrong in (other.name, "postgres", "no_such_database"):
            refused = liftbackup("rollback", "--dsn", main.dsn, "--yes", "--to", wrong)
            assert refused.returncode == 3, said(refused)
            assert (
                f"liftbackup: refused: {wrong} is not a copy recorded for {main.name} on " in refused.stderr
            )
            assert ": rollback --to swaps in only one of those; recorded copies: " in refused.stderr
        assert main.facts() == after_change and other.name in on_server(main)

        chosen = liftbackup("rollback", "--dsn", main.dsn, "--yes", "--to", rolled_back)
        assert chosen.returncode == 0, said(chosen)
        assert (
            f"rolled back: {rolled_back} is {main.name} again; the restored database is kept as "
            in chosen.stdout
        )
        assert main.facts() == at_backup
        assert rolled_back not in on_server(main)


def test_a_log_line_that_cannot_be_written_after_the_swap_is_a_warning_and_the_undo_is_printed(
    main: Live, tmp_path: Path
) -> None:
    dump = backup(main, tmp_path, *main.tools)
    log = tmp_path / "liftbackup.log"
    run = running(
        "restore",
        dump,
        "--dsn",
        main.dsn,
        "--yes",
        "--checks",
        CHECKS,
        *main.tools,
    )
    assert run.stdout is not None
    seen = []
    for line in run.stdout:
        seen.append(line)
        if line.startswith("step 4/5: staging"):
            os.link(log, tmp_path / "another-name")  # two names: open_log will not append to it
            break
    rest, err = run.communicate(timeout=600)
    out = "".join(seen) + rest
    assert run.returncode == 0, out + err
    kept = re.search(f"restored {dump.name} into {main.name}; the previous database is kept as (\\S+)\n", out)
    assert kept and kept.group(1) in on_server(main)
    assert "undo:     liftbackup rollback --dsn <the same DSN>" in out
    assert (
        f"liftbackup: warning: the restore is done, but its line in the log was not written: {log}: a hard "
        "link (2 names for one file), not a log file of ours: nothing was written to it; remove it and run "
        "again"
    ) in err.splitlines()


def test_with_json_a_log_line_that_cannot_be_written_after_the_swap_leaves_the_result_complete(
    main: Live, tmp_path: Path
) -> None:
    dump = backup(main, tmp_path, *main.tools)
    log = tmp_path / "liftbackup.log"
    command = [sys.executable, "-m", "pytest_liftbackup", "restore", str(dump), "--dsn", main.dsn]
    run = subprocess.Popen(
        [*command, "--yes", "--json", "--checks", str(CHECKS), *main.tools],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )
    staging = f"{main.name}_liftbackup_staging_"
    while run.poll() is None and not any(name.startswith(staging) for name in on_server(main)):
        time.sleep(0.05)
    os.link(log, tmp_path / "another-name")  # during step 4: the safety backup's line is written
    out, err = run.communicate(timeout=600)
    assert run.returncode == 0, out + err
    report = json.loads(out)
    warning = (
        f"the restore is done, but its line in the log was not written: {log}: a hard link (2 names for "
        "one file), not a log file of ours: nothing was written to it; remove it and run again"
    )
    assert report["warnings"] == [warning] and f"liftbackup: warning: {warning}" in err.splitlines()
    assert report["database"] == main.name and report["previous"] in on_server(main)
    assert Path(report["safety_backup"]).exists()


def test_a_kept_name_that_is_taken_is_refused_before_the_swap(main: Live) -> None:
    from datetime import datetime

    from pytest_liftbackup.api.main_restore import Target, TargetRefused
    from pytest_liftbackup.server.kept_names import PRE_RESTORE

    when = datetime(2026, 12, 4, 9, 30, 15)
    taken = f"{main.name}_pre_restore_20261204_093015"
    with databases(main, taken):
        target = Target(main.dsn)
        try:
            target.new_name(PRE_RESTORE, when)
        except TargetRefused as exc:
            assert str(exc) == (
                f"{taken} exists already on lift_ops@{main.server.admin_conninfo()['host']}:"
                f"{main.server.admin_conninfo()['port']}/{main.name}: another run made it this second; "
                "wait a second and run again"
            )
        else:
            raise AssertionError(f"{taken} was given out twice")
        now = f"{main.name}_pre_restore_{datetime.now():%Y%m%d_%H%M%S}"
        main.execute(f"CREATE DATABASE {now}", "postgres")
        try:
            later = target.new_name(PRE_RESTORE)
            assert (
                later != now
                and later > now
                and re.fullmatch(re.escape(main.name) + "_pre_restore_" + TIME, later)
            )
        finally:
            main.execute(f"DROP DATABASE {now}", "postgres")
