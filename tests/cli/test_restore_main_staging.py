"""`liftbackup restore` into the main database within the server's means: the free space the staging
restore needs is checked before it starts, foreign sessions on staging are ended before the swap, and a
killed run's staging database is reported by later runs with the SQL that drops it."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from pytest_liftbackup.api import RestorerConfig
from pytest_liftbackup.api.main_restore import MainRestore, TargetRefused, preflight, restore_main
from pytest_liftbackup.restore.limits import human_size
from pytest_liftbackup.server.databases import conninfo_from
from pytest_liftbackup.server.target import Target
from tests.cli.conftest import PASSWORD, PG15, Live, liftbackup, said
from tests.cli.test_backup_and_verify import CHECKS, backup
from tests.cli.test_restore_main import changed_since_backup
from tests.conftest import Scratch, servers_under
from tests.helpers import REPO

UNCHANGED = "the main database was not changed"


def _dsn(main: Live) -> dict[str, str]:
    """The DSN as users should give one holding a password: in the environment, not the command line."""
    return {"LIFTBACKUP_DSN": main.dsn}


def _database_size(main: Live) -> int:
    return int(main.execute(f"SELECT pg_database_size('{main.name}')", "postgres")[0][0])


def _free(folder: Path) -> int:
    found = os.statvfs(folder)
    return found.f_bavail * found.f_frsize


def fill(folder: Path, leave_free: int) -> None:
    """The disk nearly full: a file as big as leaves `leave_free` bytes free."""
    with open(folder / "filler", "wb") as filler:
        remaining = _free(folder) - leave_free
        while remaining > 0:
            remaining -= filler.write(b"\0" * min(remaining, 1 << 20))


@contextmanager
def on_a_small_disk(main: Live) -> Iterator[Path]:
    """The main database moved onto a tmpfs of its own (a tablespace there, 64 MB more than it needs);
    everything removed and unmounted afterwards."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    user = main.server.os_user
    uid, gid = (user.uid, user.gid) if user else (os.getuid(), os.getgid())
    folder = Path(tempfile.mkdtemp(prefix="lb-small-disk-", dir="/tmp"))
    size = _database_size(main) + (64 << 20)
    options = f"size={size},uid={uid},gid={gid},mode=0700"
    subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)], check=True)
    tablespace = f"small_{main.name}"
    try:
        with main.admin() as conn:
            conn.execute(
                sql.SQL("CREATE TABLESPACE {} LOCATION {}").format(
                    sql.Identifier(tablespace), sql.Literal(str(folder))
                )
            )
            conn.execute(
                sql.SQL("ALTER DATABASE {} SET TABLESPACE {}").format(
                    sql.Identifier(main.name), sql.Identifier(tablespace)
                )
            )
        yield folder
    finally:
        with main.admin() as conn:
            for name in main.databases():  # the fixture drops them too, but the tablespace must go first
                conn.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,)
                )
                conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
            conn.execute(sql.SQL("DROP TABLESPACE IF EXISTS {}").format(sql.Identifier(tablespace)))
        subprocess.run(["umount", str(folder)], check=True)
        folder.rmdir()


def test_a_restore_that_would_not_fit_the_main_databases_disk_is_refused_with_the_figures(
    main: Live, tmp_path: Path, scratch: Scratch
) -> None:
    dump = backup(main, tmp_path / "b", *main.tools)
    changed_since_backup(main)
    needed = _database_size(main) + dump.stat().st_size  # a plain dump: its SQL text
    with on_a_small_disk(main) as folder:
        fill(folder, needed // 2)
        before = main.facts()
        backups = sorted(p.name for p in (tmp_path / "b").iterdir())
        refused = (
            "liftbackup: refused: not enough free space for the staging database: about "
            f"{human_size(needed)} needed ({main.name} is {human_size(_database_size(main))}, the backup "
            f"expands to about {human_size(dump.stat().st_size)}), {human_size(_free(folder))} free in "
            f"{folder} (tablespace small_{main.name}). Free some space there, or restore on a server with "
            f"room; {UNCHANGED}\n"
        )
        dry = liftbackup("restore", dump, "--dry-run", *main.tools, env=_dsn(main))
        assert dry.returncode == 3 and dry.stderr == refused, said(dry)
        done = liftbackup("restore", dump, "--yes", *main.tools, env=_dsn(main))
        text = said(done)
        assert done.returncode == 3, text
        assert done.stderr == refused
        # refused as step 1 begins, once the backup is copied: no verification, no safety backup
        assert "step 2/5" not in text and "throwaway" not in text
        assert main.facts() == before and main.databases() == [main.name]
        assert sorted(p.name for p in (tmp_path / "b").iterdir()) == backups
        oid = main.execute(f"SELECT oid FROM pg_database WHERE datname = '{main.name}'", "postgres")[0][0]
        (version_folder,) = folder.glob("PG_*")  # the tablespace holds the main database alone
        assert [p.name for p in version_folder.iterdir()] == [str(oid)]
    assert servers_under(scratch.tmpdir) == [] and scratch.leftovers() == []


def test_the_room_is_checked_again_before_step_4(main: Live, tmp_path: Path, scratch: Scratch) -> None:
    """The disk fills up while steps 1 to 3 run (here: as the safety backup starts): the restore is
    refused before the staging database is made."""
    dump = backup(main, tmp_path / "b", *main.tools)
    needed = _database_size(main) + dump.stat().st_size
    pg_bin = ((str(main.pg_bin), "--pg-bin"),) if main.pg_bin else ()
    request = MainRestore(dump, main.dsn, tmp_path / "b", config=RestorerConfig(pg_bin=pg_bin))
    steps: list[str] = []
    backups = {p.name for p in (tmp_path / "b").iterdir()}
    with on_a_small_disk(main) as folder:

        def on_step(step: str) -> None:
            steps.append(step)
            if step == "safety backup":
                fill(folder, needed // 2)

        with pytest.raises(TargetRefused) as refused:
            restore_main(request, preflight(request), on_step=on_step)
        assert str(refused.value).startswith(
            f"not enough free space for the staging database: about {human_size(needed)} needed ("
        )
        assert str(refused.value).endswith(f"; {UNCHANGED}")
        assert steps == ["verify", "sessions", "safety backup"]
        assert main.databases() == [main.name]
    made = sorted({p.name for p in (tmp_path / "b").iterdir()} - backups)  # the safety backup alone
    assert len(made) == 2 and made[1] == made[0] + ".manifest.json", made
    assert servers_under(scratch.tmpdir) == [] and scratch.leftovers() == []


def _start_restore(main: Live, dump: Path) -> subprocess.Popen[str]:
    """A real `liftbackup restore`, its output read until it reaches step 4."""
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "pytest_liftbackup", "restore", str(dump), "--yes"),
            *("--checks", str(CHECKS), *main.tools),
        ],
        cwd=REPO,
        env={**os.environ, **_dsn(main)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith("step 4/5"):
            return proc
    proc.kill()
    raise AssertionError(f"the restore never reached step 4: {proc.communicate()}")


def _staging_appears(main: Live) -> str:
    """The staging database's name, as soon as it exists."""
    for _ in range(3000):
        if rows := main.execute(
            "SELECT datname FROM pg_database WHERE strpos(datname, '_liftbackup_staging_') > 0", "postgres"
        ):
            return str(rows[0][0])
        time.sleep(0.01)
    raise AssertionError("no staging database appeared")


def _no_sessions_on(main: Live, database: str) -> None:
    for _ in range(300):
        if not main.execute(f"SELECT 1 FROM pg_stat_activity WHERE datname = '{database}'", "postgres"):
            return
        time.sleep(0.1)
    raise AssertionError(f"sessions stayed on {database}")


def test_a_killed_restores_staging_database_is_reported_with_the_sql_that_drops_it(
    main: Live, tmp_path: Path
) -> None:
    dump = backup(main, tmp_path / "b", *main.tools)
    changed_since_backup(main)
    before = main.facts()
    proc = _start_restore(main, dump)
    try:
        staging = _staging_appears(main)
        assert Target(main.dsn).leftover_staging() == []  # a live run's: claimed, not reported
    finally:
        proc.kill()  # SIGKILL: nothing of the run's own clean-up runs
        proc.communicate(timeout=60)
    _no_sessions_on(main, staging)
    assert main.facts() == before
    size = int(main.execute(f"SELECT pg_database_size('{staging}')", "postgres")[0][0])
    owner = str(
        main.execute(
            f"SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = '{staging}'", "postgres"
        )[0][0]
    )
    role = owner if owner.startswith("liftbackup_staging_") else None  # the rights part's role
    drop = f'DROP DATABASE "{staging}";' + (f' DROP ROLE "{role}";' if role else "")
    made = re.search(r"(\d{4})(\d{2})(\d{2})_(\d{2})(\d{2})(\d{2})", staging.split("_liftbackup_staging_")[1])
    assert made is not None
    when = "{}-{}-{} {}:{}:{}".format(*made.groups())
    warning = (
        f"liftbackup: warning: leftover staging database {staging} (made {when}, {human_size(size)}) is "
        f"claimed by no running liftbackup: a killed run's. Drop it when sure: {drop}\n"
    )

    dry = liftbackup("restore", dump, "--dry-run", "--json", *main.tools, env=_dsn(main))
    assert dry.returncode == 0, said(dry)
    assert dry.stderr == warning
    assert json.loads(dry.stdout)["leftover_staging"] == [
        {
            "database": staging,
            "made": when,
            "size": size,
            "role": role,
            "drop": drop,
        }
    ]
    back = liftbackup("rollback", "--yes", env=_dsn(main))
    assert back.stderr.startswith(warning), said(back)
    assert main.facts() == before  # the rollback found nothing to roll back to

    admin = main.server.admin_conninfo()
    psql = subprocess.run(
        [str(PG15 / "psql"), conninfo_from(admin), "-v", "ON_ERROR_STOP=1"],
        input=drop + "\n",
        capture_output=True,
        text=True,
    )
    assert psql.returncode == 0, psql.stderr
    assert main.databases() == [main.name]
    assert not main.execute(
        f"SELECT 1 FROM pg_roles WHERE rolname = '{owner}' AND rolname LIKE 'liftbackup_staging_%'",
        "postgres",
    )
    again = liftbackup("restore", dump, "--dry-run", *main.tools, env=_dsn(main))
    assert again.returncode == 0 and again.stderr == "", said(again)


def test_a_foreign_session_on_the_staging_database_is_ended_before_the_swap(
    main: Live, tmp_path: Path
) -> None:
    """A session that is not ours (here the server's superuser, whom no grant keeps out) connects to the
    staging database while step 4 runs: it is ended, and the swap goes through."""
    dump = backup(main, tmp_path / "b", *main.tools)
    at_backup = main.facts()
    changed_since_backup(main)
    proc = _start_restore(main, dump)
    try:
        staging = _staging_appears(main)
        intruder = psycopg.connect(
            conninfo_from(main.server.admin_conninfo(staging)), application_name="intruder"
        )
        out, err = proc.communicate(timeout=600)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    with intruder:
        assert proc.returncode == 0, out + err
        assert err == (
            "liftbackup: warning: sessions that were not ours were connected to the staging database and "
            f"were ended before the swap: pid {intruder.info.backend_pid}, {intruder.info.user} (intruder) "
            "from local socket\n"
        )
        with pytest.raises(psycopg.OperationalError):
            intruder.execute("SELECT 1")
    assert main.facts() == at_backup
    assert f"step 5/5: swap\nrestored {dump.name} into {main.name}; the previous database is kept as" in out


def test_when_the_free_space_cannot_be_read_one_warning_line_says_why(main: Live, tmp_path: Path) -> None:
    """The documented non-superuser DSN (CREATEDB, CREATEROLE, member of the database's owner) may not read where a
    pg_default database lives: the restore says the free space was not checked, and why, then goes on
    (here to step 1, which refuses the cut-short backup)."""
    dump = backup(main, tmp_path, *main.tools)
    role = f"lift_deployer_{main.name[5:]}"
    main.execute(
        f"CREATE ROLE {role} LOGIN CREATEDB CREATEROLE PASSWORD 'deploy' IN ROLE lift_admin", "postgres"
    )
    try:
        deployer = main.dsn.replace("user=lift_ops", f"user={role}").replace(PASSWORD, "deploy")
        warning = (
            "liftbackup: warning: the free space for the staging database was not checked: "
            f"{role} may not read the server's data_directory (a superuser or a member of "
            "pg_read_all_settings may)\n"
        )
        dry = liftbackup("restore", dump, "--dry-run", *main.tools, env={"LIFTBACKUP_DSN": deployer})
        assert dry.returncode == 0 and dry.stderr == warning, said(dry)
        text = dump.read_text()
        dump.write_text(text[: text.index("COPY lift_simulator.scenario")])
        Path(f"{dump}.manifest.json").unlink()  # else step 1 refuses the changed file before the restore
        done = liftbackup("restore", dump, "--yes", *main.tools, env={"LIFTBACKUP_DSN": deployer})
        assert done.returncode == 1, said(done)
        assert done.stderr.startswith(warning)
        assert done.stdout.splitlines()[0] == "step 1/5: verify"
        assert main.databases() == [main.name]
    finally:
        main.execute(f"DROP ROLE {role}", "postgres")


@pytest.mark.parametrize(
    ("host", "hostaddr", "here"),
    [
        ("/var/run/postgresql", "", True),
        ("localhost", "", True),
        ("127.0.0.1", "", True),
        ("::1", "", True),
        ("db.example", "127.0.0.1", True),  # hostaddr is where libpq really connects
        ("db.internal", "", False),
        ("10.0.0.5", "", False),
        ("localhost", "10.0.0.5", False),
    ],
)
def test_the_free_space_is_read_only_for_a_server_on_this_machine(
    host: str, hostaddr: str, here: bool
) -> None:
    """A socket or a loopback address: the folder the server names is this machine's; any other host's
    would be measured on the wrong disk (or a folder of the same name here)."""
    from pytest_liftbackup.server.target import _on_this_machine  # here: the module imports on older code

    assert _on_this_machine(host, hostaddr) is here
