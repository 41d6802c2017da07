"""`liftbackup restore`: staging is restored with the dump owners' rights, never the DSN user's.

Each backup here is a real pg_dump of a copy of lift_simulator with extra objects; every test runs against
the embedded PostgreSQL 18 and the system PostgreSQL 15 (fixture `main`)."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pytest_liftbackup.server.databases import pg_env
from tests.cli.conftest import PASSWORD, Live, liftbackup, running, said
from tests.cli.test_backup_and_verify import backup

STAGING_ROLES = "SELECT rolname FROM pg_roles WHERE rolname LIKE 'liftbackup\\_staging\\_%'"
# Owner and grants of every schema, relation and routine of the dump's (not PostgreSQL's own).
OWNERS = """
SELECT 'schema', nspname, pg_get_userbyid(nspowner), (SELECT array_agg(a::text ORDER BY a::text) FROM unnest(nspacl) a)::text FROM pg_namespace
 WHERE nspname NOT LIKE 'pg\\_%' AND nspname <> 'information_schema'
UNION ALL
SELECT 'relation', n.nspname || '.' || c.relname, pg_get_userbyid(c.relowner), (SELECT array_agg(a::text ORDER BY a::text) FROM unnest(c.relacl) a)::text
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname NOT LIKE 'pg\\_%' AND n.nspname <> 'information_schema'
UNION ALL
SELECT 'routine', n.nspname || '.' || p.oid::regprocedure::text, pg_get_userbyid(p.proowner), (SELECT array_agg(a::text ORDER BY a::text) FROM unnest(p.proacl) a)::text
  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
 WHERE n.nspname NOT LIKE 'pg\\_%' AND n.nspname <> 'information_schema'
ORDER BY 1, 2
"""

DEFAULTS = (
    "SELECT pg_get_userbyid(defaclrole), defaclnamespace::regnamespace::text, defaclobjtype, "
    "(SELECT array_agg(a::text ORDER BY a::text) FROM unnest(defaclacl) a)::text FROM pg_default_acl ORDER BY 1, 2, 3"
)

AS_STAGING = (
    "(the backup runs as liftbackup_staging_{}, with its owners' rights only; pass --trusted to restore "
    "a backup you trust as the DSN's user)"
)


def _staging_role(text: str) -> str:
    """The 8 hex digits of the staging role a message names (a new one each run)."""
    found = re.search(r"as liftbackup_staging_([0-9a-f]{8}), with", text)
    assert found, text
    return found.group(1)


def _rolsuper(main: Live, role: str) -> bool | None:
    rows = main.execute(f"SELECT rolsuper FROM pg_roles WHERE rolname = '{role}'", "postgres")
    return bool(rows[0][0]) if rows else None


@pytest.fixture
def app_role(main: Live) -> Iterator[None]:
    """lift_app as the application's login; made an ordinary role again whatever a test did to it."""
    yield
    main.execute("ALTER ROLE lift_app NOSUPERUSER", "postgres")


@pytest.fixture
def canary_dir() -> Iterator[Path]:
    """A folder the server's OS user may write in: a program run by the server would leave a file."""
    folder = Path(tempfile.mkdtemp(prefix="liftbackup-canary-"))
    folder.chmod(0o1777)
    yield folder
    shutil.rmtree(folder)


def _tamper(dump: Path, sql: str) -> None:
    """Add `sql` after the dump's header, and regenerate its manifest (an unencrypted manifest is
    not authenticated: whoever can write the backup folder can do this)."""
    text = dump.read_text()
    header = "SET row_security = off;\n"
    assert header in text
    dump.write_text(text.replace(header, header + "\n" + sql + "\n", 1))
    manifest = Path(f"{dump}.manifest.json")
    facts = json.loads(manifest.read_text())
    facts["sha256"] = hashlib.sha256(dump.read_bytes()).hexdigest()
    facts["size"] = dump.stat().st_size
    manifest.write_text(json.dumps(facts))


@pytest.mark.parametrize("form", ["plain", "custom"])
def test_an_honest_backup_cannot_make_its_application_role_superuser(
    form: str, main: Live, tmp_path: Path, app_role: None, canary_dir: Path
) -> None:
    """Its owners, grants and default privileges restore as they were all the same."""
    canary = canary_dir / "canary"
    main.execute(
        "CREATE SCHEMA app AUTHORIZATION lift_admin; GRANT USAGE, CREATE ON SCHEMA app TO lift_app; "
        "SET ROLE lift_app; "
        "CREATE FUNCTION app.plausible(v integer) RETURNS boolean LANGUAGE plpgsql AS $f$ BEGIN "
        "IF (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user) THEN "
        "EXECUTE 'ALTER ROLE lift_app SUPERUSER'; "
        f"EXECUTE $c$COPY (SELECT 1) TO PROGRAM 'touch {canary}'$c$; "
        "END IF; RETURN v > 0; END $f$; "
        "CREATE TABLE app.reading (v integer CHECK (app.plausible(v))); "
        "INSERT INTO app.reading VALUES (1), (2), (3); "
        "GRANT SELECT ON app.reading TO lift_admin; CREATE VIEW app.readings AS SELECT v FROM app.reading; "
        "CREATE SEQUENCE app.counter; RESET ROLE; "
        "ALTER DEFAULT PRIVILEGES FOR ROLE lift_admin IN SCHEMA lift_simulator GRANT SELECT ON TABLES TO lift_app; "
        "ALTER DEFAULT PRIVILEGES FOR ROLE lift_app GRANT SELECT ON TABLES TO lift_admin"
    )
    dump = backup(main, tmp_path / "backups", "--format", form, *main.tools)
    done = liftbackup("restore", dump, "--dsn", main.dsn, "--yes", "--json", *main.tools)
    assert done.returncode == 0, said(done)
    assert _rolsuper(main, "lift_app") is False
    assert not canary.exists()
    previous = json.loads(done.stdout)["previous"]
    restored = main.execute(OWNERS)
    assert restored == main.execute(OWNERS, previous)
    assert main.execute(DEFAULTS) == main.execute(DEFAULTS, previous) != []
    owners = {(kind, name): owner for kind, name, owner, _ in restored}
    assert owners[("relation", "app.reading")] == "lift_app"
    assert owners[("routine", "app.app.plausible(integer)")] == "lift_app"
    assert owners[("schema", "app")] == owners[("relation", "lift_simulator.lift_system")] == "lift_admin"
    assert main.execute(STAGING_ROLES, "postgres") == []


def test_a_tampered_backup_cannot_create_a_superuser(main: Live, tmp_path: Path) -> None:
    dump = backup(main, tmp_path, *main.tools)
    _tamper(
        dump,
        "DO $$ BEGIN IF (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user) THEN "
        "CREATE ROLE lift_intruder LOGIN SUPERUSER PASSWORD 'in'; END IF; END $$;",
    )
    try:
        done = liftbackup("restore", dump, "--dsn", main.dsn, "--yes", *main.tools)
        assert done.returncode == 0, said(done)
        assert _rolsuper(main, "lift_intruder") is None
        assert f"restored {dump.name} into {main.name}; the previous database is kept as" in done.stdout
    finally:
        main.execute("DROP ROLE IF EXISTS lift_intruder", "postgres")
    assert main.execute(STAGING_ROLES, "postgres") == []


def test_a_dump_acting_only_in_staging_cannot_change_the_main_database(main: Live, tmp_path: Path) -> None:
    dump = backup(main, tmp_path, *main.tools)
    in_staging = "IF current_database() LIKE '%\\_liftbackup\\_staging\\_%' THEN"
    _tamper(
        dump,
        f"DO $$ BEGIN {in_staging} "
        f"EXECUTE 'ALTER DATABASE {main.name} SET default_transaction_read_only = on'; "
        f"EXECUTE 'COMMENT ON DATABASE {main.name} IS ''planted'''; END IF; END $$;\n"
        f"DO $$ BEGIN {in_staging} RAISE EXCEPTION 'failing on purpose'; END IF; END $$;",
    )
    done = liftbackup("restore", dump, "--dsn", main.dsn, "--yes", *main.tools)
    assert done.returncode == 1, said(done)
    assert "the restore into the staging database failed; the main database was not changed" in done.stderr
    setting = "SELECT setconfig FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase WHERE datname = '{}'"
    assert main.execute(setting.format(main.name), "postgres") == []
    comment = f"SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = '{main.name}'"
    assert main.execute(comment, "postgres") == [(None,)]
    main.execute(
        "CREATE TABLE lift_simulator.still_writable (x integer); DROP TABLE lift_simulator.still_writable"
    )
    assert main.databases() == [main.name]
    assert main.execute(STAGING_ROLES, "postgres") == []


@pytest.mark.parametrize("user", ["superuser", "deployer"])
def test_settings_a_dump_attached_to_staging_do_not_survive_the_swap(
    user: str, main: Live, tmp_path: Path
) -> None:
    """The superuser DSN and the documented non-superuser one: CREATEDB, CREATEROLE, member of the
    database's owner."""
    if user == "deployer":
        main.execute(
            "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'lift_deploy') THEN "
            f"CREATE ROLE lift_deploy LOGIN CREATEDB CREATEROLE PASSWORD '{PASSWORD}'; "
            "GRANT lift_admin TO lift_deploy; END IF; END $$",
            "postgres",
        )
        main.user = "lift_deploy"
    dump = backup(main, tmp_path, *main.tools)
    _tamper(
        dump,
        "DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET search_path = shadow, public', "
        "current_database()); END $$;",
    )
    done = liftbackup("restore", dump, "--dsn", main.dsn, "--yes", *main.tools)
    assert done.returncode == 0, said(done)
    setting = "SELECT setconfig FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase WHERE datname = '{}'"
    assert main.execute(setting.format(main.name), "postgres") == []
    assert main.execute(STAGING_ROLES, "postgres") == []


def test_objects_given_to_a_superuser_are_refused_unless_trusted(main: Live, tmp_path: Path) -> None:
    main.execute(
        "CREATE TABLE lift_simulator.audit (x integer); ALTER TABLE lift_simulator.audit OWNER TO lift_ops"
    )
    dump = backup(main, tmp_path / "b", *main.tools)
    line = dump.read_text().splitlines().index("ALTER TABLE lift_simulator.audit OWNER TO lift_ops;") + 1
    before = main.facts()

    plan = liftbackup("restore", dump, "--dsn", main.dsn, "--dry-run", *main.tools)
    assert plan.returncode == 0, said(plan)
    assert (
        f"4. restore into a staging database beside {main.name} as liftbackup_staging_… "
        "(the dump's owners' rights) and run the checks there"
    ) in plan.stdout.splitlines()
    asked = liftbackup("restore", dump, "--dsn", main.dsn, *main.tools)
    assert (
        f"liftbackup: refused: restore {dump.name} into {main.name}, restored as liftbackup_staging_… "
        "(the dump's owners' rights) needs a confirmation"
    ) in asked.stderr

    done = liftbackup("restore", dump, "--dsn", main.dsn, "--yes", *main.tools)
    assert done.returncode == 1, said(done)
    assert (
        f"{dump}:{line}: refused: the dump hands its objects to lift_ops, a superuser: its code would run "
        "with those rights; pass --trusted to restore a backup you trust as the DSN's user"
    ) in done.stderr
    assert main.facts() == before and main.databases() == [main.name]
    assert main.execute(STAGING_ROLES, "postgres") == []

    trusted = [*main.tools, "--trusted"]
    plan = liftbackup("restore", dump, "--dsn", main.dsn, "--dry-run", *trusted)
    assert (
        f"4. restore into a staging database beside {main.name} as lift_ops with its full rights "
        "(--trusted) and run the checks there"
    ) in plan.stdout.splitlines()
    asked = liftbackup("restore", dump, "--dsn", main.dsn, *trusted)
    assert (
        f"liftbackup: refused: restore {dump.name} into {main.name}, restored as lift_ops with its full "
        "rights (--trusted) needs a confirmation"
    ) in asked.stderr
    done = liftbackup("restore", dump, "--dsn", main.dsn, "--yes", *trusted)
    assert done.returncode == 0, said(done)
    owner = "SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid = 'lift_simulator.audit'::regclass"
    assert main.execute(owner) == [("lift_ops",)]


def _before_the_trailer(dump: Path, sql: str) -> int:
    """Add `sql` as the dump's last statement (every object exists by then); the line it is on."""
    text = dump.read_text()
    trailer = "--\n-- PostgreSQL database dump complete"
    at = text.index(trailer)
    dump.write_text(text[:at] + sql + "\n\n" + text[at:])
    _tamper(dump, "")  # the manifest regenerated
    return next(n for n, line in enumerate(dump.read_text().splitlines(), 1) if line == sql)


def test_an_owner_statement_with_more_in_it_never_runs_as_the_dsn_user(main: Live, tmp_path: Path) -> None:
    main.execute("GRANT CREATE ON SCHEMA lift_simulator TO lift_app")  # the verification's restore may
    dump = backup(main, tmp_path, *main.tools)
    line = _before_the_trailer(
        dump, "ALTER TABLE lift_simulator.lift_system ADD CONSTRAINT planted CHECK (true), OWNER TO lift_app;"
    )
    before = main.facts()
    done = liftbackup("restore", dump, "--dsn", main.dsn, "--yes", *main.tools)
    assert done.returncode == 1, said(done)
    refused = (
        'must be able to SET ROLE "lift_app"' if main.major >= 16 else 'must be member of role "lift_app"'
    )
    assert (
        "the restore into the staging database failed; the main database was not changed: "
        f"{dump}:{line}: restore failed (ACL SCHEMA lift_simulator): {refused} "
        + AS_STAGING.format(_staging_role(done.stderr))
    ) in done.stderr
    assert main.facts() == before and main.databases() == [main.name]
    assert main.execute(STAGING_ROLES, "postgres") == []


def test_a_dump_made_with_set_session_authorization_is_refused_unless_trusted(
    main: Live, tmp_path: Path
) -> None:
    dump = tmp_path / f"{main.name}.sql"
    pg_dump = (main.pg_bin / "pg_dump") if main.pg_bin else main.server.binaries.tool("pg_dump")
    made = subprocess.run(
        [str(pg_dump), "--use-set-session-authorization", "-f", str(dump), main.name],
        env={**os.environ, **pg_env(main.server.admin_conninfo(main.name))},
        capture_output=True,
        text=True,
    )
    assert made.returncode == 0, made.stderr
    line = next(
        n
        for n, text in enumerate(dump.read_text().splitlines(), 1)
        if text.startswith("SET SESSION AUTHORIZATION")
    )
    done = liftbackup("restore", dump, "--dsn", main.dsn, "--yes", *main.tools)
    assert done.returncode == 1, said(done)
    assert (
        f"{dump}:{line}: refused: the dump was written with --use-set-session-authorization, which the "
        "staging role (a member of no role) cannot follow; take the backup without it, or pass --trusted "
        "to restore a backup you trust as the DSN's user"
    ) in done.stderr
    assert main.databases() == [main.name] and main.execute(STAGING_ROLES, "postgres") == []
    done = liftbackup("restore", dump, "--dsn", main.dsn, "--yes", "--trusted", *main.tools)
    assert done.returncode == 0, said(done)


def test_a_non_superuser_needs_createrole_unless_trusted(main: Live, tmp_path: Path) -> None:
    main.execute(
        "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'lift_nocreaterole') THEN "
        f"CREATE ROLE lift_nocreaterole LOGIN CREATEDB PASSWORD '{PASSWORD}'; "
        "GRANT lift_admin TO lift_nocreaterole; END IF; END $$",
        "postgres",
    )
    main.user = "lift_nocreaterole"
    dump = backup(main, tmp_path, *main.tools)
    done = liftbackup("restore", dump, "--dsn", main.dsn, "--yes", *main.tools)
    assert done.returncode == 3, said(done)
    assert (
        "liftbackup: refused: lift_nocreaterole lacks what this restore needs: CREATEROLE (to create the "
        "role the backup is restored as; or pass --trusted to restore it as lift_nocreaterole with its "
        "full rights); the main database was not changed"
    ) in done.stderr
    assert main.databases() == [main.name]
    plan = liftbackup("restore", dump, "--dsn", main.dsn, "--dry-run", "--trusted", *main.tools)
    assert plan.returncode == 0, said(plan)


@pytest.fixture
def tablespace(main: Live) -> Iterator[str]:
    """A tablespace the main database lives in; dropped after the databases in it."""
    name = f"ts_{main.name}"
    folder = main.server.workdir / name
    folder.mkdir()
    if main.server.os_user is not None:
        os.chown(folder, main.server.os_user.uid, main.server.os_user.gid)
    main.execute(f"CREATE TABLESPACE {name} LOCATION '{folder}'", "postgres")
    main.execute(f"ALTER DATABASE {main.name} SET TABLESPACE {name}", "postgres")
    yield name
    for other in main.databases():
        main.execute(f"DROP DATABASE IF EXISTS {other} WITH (FORCE)", "postgres")
    main.execute(f"DROP TABLESPACE {name}", "postgres")
    shutil.rmtree(folder, ignore_errors=True)


def test_staging_is_closed_to_public_until_the_swap_and_in_the_original_tablespace(
    main: Live, tmp_path: Path, tablespace: str
) -> None:
    checks = tmp_path / "checks.yml"
    checks.write_text(
        "checks:\n  closed_to_public:\n    sql: SELECT r.rolname FROM pg_catalog.pg_roles r WHERE r.rolname = "
        "'lift_weak' AND pg_catalog.has_database_privilege(r.oid, current_database(), 'CONNECT')\n"
    )
    dump = backup(main, tmp_path / "b", *main.tools)
    done = liftbackup("restore", dump, "--dsn", main.dsn, "--yes", "--checks", checks, *main.tools)
    assert done.returncode == 0, said(done)
    row = main.execute(
        "SELECT t.spcname, d.datacl IS NULL OR has_database_privilege('lift_weak', d.datname, 'CONNECT') "
        f"FROM pg_database d JOIN pg_tablespace t ON t.oid = d.dattablespace WHERE d.datname = '{main.name}'",
        "postgres",
    )
    assert row == [(tablespace, True)]
    assert main.execute(f"SELECT has_database_privilege('lift_weak', '{main.name}', 'TEMP')", "postgres") == [
        (True,)
    ]


def test_what_needs_a_superuser_in_the_database_is_done_for_the_staging_role(
    main: Live, tmp_path: Path
) -> None:
    """bloom (not a trusted extension) is created by the superuser DSN, and the staging role's sessions
    hold to temp_file_limit (the dump checks it as it runs; no setting of ours is left afterwards)."""
    main.execute(
        "CREATE EXTENSION bloom; SET ROLE lift_admin; CREATE TABLE lift_simulator.tagged (x integer); "
        "CREATE INDEX tagged_bloom ON lift_simulator.tagged USING bloom (x); RESET ROLE"
    )
    dump = backup(main, tmp_path, *main.tools)
    _before_the_trailer(
        dump,
        "DO $$ BEGIN IF current_database() LIKE '%\\_liftbackup\\_staging\\_%' "
        "AND current_setting('temp_file_limit') = '-1' THEN RAISE EXCEPTION 'no temp_file_limit'; END IF; END $$;",
    )
    done = liftbackup("restore", dump, "--dsn", main.dsn, "--yes", *main.tools)
    assert done.returncode == 0, said(done)
    index = "SELECT amname FROM pg_class c JOIN pg_am a ON a.oid = c.relam WHERE relname = 'tagged_bloom'"
    assert main.execute(index) == [("bloom",)]
    settings = "SELECT setconfig FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase WHERE datname = '{}'"
    assert main.execute(settings.format(main.name), "postgres") == []
    assert main.execute(STAGING_ROLES, "postgres") == []


def test_a_program_the_dump_runs_in_staging_is_refused_saying_why(main: Live, tmp_path: Path) -> None:
    dump = backup(main, tmp_path, *main.tools)
    line = _before_the_trailer(
        dump,
        "DO $$ BEGIN IF current_database() LIKE '%\\_liftbackup\\_staging\\_%' THEN "
        "COPY (SELECT 1) TO PROGRAM 'true'; END IF; END $$;",
    )
    done = liftbackup("restore", dump, "--dsn", main.dsn, "--yes", *main.tools)
    assert done.returncode == 1, said(done)
    assert (
        "liftbackup: the restore into the staging database failed; the main database was not changed: "
        f"{dump}:{line}: restore failed (FK CONSTRAINT " in done.stderr
    )
    role = AS_STAGING.format(_staging_role(done.stderr)) if main.major >= 16 else ""
    refused = (
        f"permission denied to COPY to or from an external program {role}"
        if main.major >= 16
        else "must be superuser or have privileges of the pg_execute_server_program role to COPY to or "
        "from an external program; this dump needs a superuser for that, which an untrusted dump never "
        "gets: pass --trusted if the dump is yours"
    )
    assert f"): {refused}\n" in done.stderr
    assert main.databases() == [main.name] and main.execute(STAGING_ROLES, "postgres") == []


def test_interrupted_while_the_dump_runs_as_the_staging_role_leaves_no_role(
    main: Live, tmp_path: Path
) -> None:
    dump = backup(main, tmp_path, *main.tools)
    _before_the_trailer(
        dump,
        "DO $$ BEGIN IF current_database() LIKE '%\\_liftbackup\\_staging\\_%' THEN "
        "PERFORM pg_catalog.pg_sleep(120); END IF; END $$;",
    )
    proc = running(
        "restore",
        dump,
        "--dsn",
        main.dsn,
        "--yes",
        *main.tools,
    )
    sleeping = (
        "SELECT usename FROM pg_stat_activity WHERE query LIKE '%pg_sleep(120)%' "
        "AND pid <> pg_backend_pid() AND datname LIKE '%\\_liftbackup\\_staging\\_%'"
    )
    try:
        for _ in range(600):
            if found := main.execute(sleeping, "postgres"):
                break
            time.sleep(0.1)
        else:
            raise AssertionError("the dump never ran in the staging database")
        assert str(found[0][0]).startswith("liftbackup_staging_")  # the dump runs as our role, not lift_ops
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130, err
    assert "liftbackup: interrupted" in err and "Traceback" not in err
    assert main.databases() == [main.name] and main.execute(STAGING_ROLES, "postgres") == []


@pytest.mark.parametrize(
    ("role", "why"),
    [
        (
            "lift_runner",
            "a member of pg_execute_server_program / pg_read_server_files / pg_write_server_files",
        ),
        ("lift_gone", "a role that does not exist on this server"),
    ],
)
def test_objects_given_to_a_role_reaching_files_or_to_no_role_are_refused(
    role: str, why: str, main: Live, tmp_path: Path
) -> None:
    main.execute(
        f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{role}') THEN "
        f"CREATE ROLE {role} NOLOGIN; END IF; END $$"
        + ("; GRANT pg_read_server_files TO lift_runner" if role == "lift_runner" else ""),
        "postgres",
    )
    main.execute(
        f"CREATE TABLE lift_simulator.audit (x integer); ALTER TABLE lift_simulator.audit OWNER TO {role}"
    )
    dump = backup(main, tmp_path, *main.tools)
    line = dump.read_text().splitlines().index(f"ALTER TABLE lift_simulator.audit OWNER TO {role};") + 1
    if role == "lift_gone":
        main.execute("DROP TABLE lift_simulator.audit")
        main.execute("DROP ROLE lift_gone", "postgres")
    before = main.facts()
    done = liftbackup("restore", dump, "--dsn", main.dsn, "--yes", *main.tools)
    assert done.returncode == 1, said(done)
    assert (
        f"{dump}:{line}: refused: the dump hands its objects to {role}, {why}: its code would run with those "
        "rights; pass --trusted to restore a backup you trust as the DSN's user"
    ) in done.stderr
    assert main.facts() == before and main.databases() == [main.name]
    assert main.execute(STAGING_ROLES, "postgres") == []


def test_checks_on_staging_read_it_as_the_staging_role_not_as_the_dsn_user(
    main: Live, tmp_path: Path, app_role: None, canary_dir: Path
) -> None:
    """A check that reads a view calls the dump's function with the reader's rights: on staging the
    reader is the staging role (on the base: the DSN's superuser, which ran the program)."""
    canary = canary_dir / "canary"
    main.execute(
        "CREATE SCHEMA app AUTHORIZATION lift_admin; "
        "CREATE FUNCTION app.probe() RETURNS integer LANGUAGE plpgsql AS $f$ BEGIN "
        "IF (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user) THEN "
        f"EXECUTE $c$COPY (SELECT 1) TO PROGRAM 'touch {canary}'$c$; "
        "EXECUTE 'ALTER ROLE lift_app SUPERUSER'; "
        "END IF; RETURN 1; END $f$; "
        "ALTER FUNCTION app.probe() OWNER TO lift_admin; "
        "CREATE VIEW app.probed AS SELECT app.probe() AS x; ALTER VIEW app.probed OWNER TO lift_admin"
    )
    checks = tmp_path / "checks.yml"
    checks.write_text("schema: app\nchecks:\n  probed:\n    sql: SELECT x FROM app.probed WHERE x <> 1\n")
    dump = backup(main, tmp_path / "backups", *main.tools)
    done = liftbackup("restore", dump, "--dsn", main.dsn, "--yes", "--checks", checks, *main.tools)
    assert not canary.exists()  # on the base it does: COPY TO PROGRAM runs in a read-only transaction
    assert done.returncode == 0, said(done)
    assert _rolsuper(main, "lift_app") is False
    owners = {row[1]: row[2] for row in main.execute(OWNERS) if row[1].startswith("app.")}
    assert owners == {"app.app.probe()": "lift_admin", "app.probed": "lift_admin"}
    assert main.execute(STAGING_ROLES, "postgres") == []
