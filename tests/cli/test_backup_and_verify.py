"""`liftbackup backup` and `liftbackup verify`: the manifest, what verification proves with it, encryption."""

from __future__ import annotations

import json
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest

from tests.cli.conftest import PASSWORD, Live, liftbackup, said
from tests.conftest import Scratch, servers_under
from tests.helpers import REPO

CHECKS = REPO / "checks"
NAME = re.compile(r"^lift_[0-9a-f]{6}_backup_\d{8}_\d{6}\.sql$")


def backup(live: Live, folder: Path, *more: str) -> Path:
    done = liftbackup("backup", "--dsn", live.dsn, "--dir", folder, *more)
    assert done.returncode == 0, said(done)
    (made,) = [p for p in folder.iterdir() if not p.name.endswith((".json", ".log"))]
    return made


def test_backup_writes_the_dump_a_manifest_of_what_the_database_held_and_a_log_line(
    live: Live, tmp_path: Path
) -> None:
    done = liftbackup("backup", "--dsn", live.dsn, "--dir", tmp_path, "--json")
    assert done.returncode == 0, said(done)
    report = json.loads(done.stdout)
    dump = Path(report["backup"])
    assert NAME.match(dump.name) and dump.parent == tmp_path
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [dump.name, dump.name + ".manifest.json", "liftbackup.log"]
    )
    manifest = json.loads((tmp_path / (dump.name + ".manifest.json")).read_text())
    import hashlib

    assert manifest["sha256"] == hashlib.sha256(dump.read_bytes()).hexdigest()
    assert manifest["size"] == dump.stat().st_size
    assert manifest["database"] == live.name and manifest["format"] == "plain" and not manifest["encrypted"]
    assert manifest["flyway_version"] == "13"
    assert manifest["server_version"].startswith("18") and manifest["pg_dump_version"].startswith("18")
    facts = live.facts()
    assert {name: (t["rows"], t["digest"]) for name, t in manifest["tables"].items()} == {
        name: (t.rows, t.digest) for name, t in facts.items()
    }
    assert manifest["tables"]["lift_simulator.lift_system"]["rows"] == 12
    log = (tmp_path / "liftbackup.log").read_text()
    assert f"backup {live.name} -> {dump.name}" in log
    assert PASSWORD not in dump.read_text() + json.dumps(manifest) + log


def test_the_manifest_describes_the_dump_even_while_the_application_writes(
    live: Live, tmp_path: Path
) -> None:
    """The facts are read in pg_dump's own snapshot: rows committed during the backup are in neither."""
    with psycopg.connect(live.dsn) as app:
        app.execute("LOCK TABLE lift_simulator.scenario IN ACCESS EXCLUSIVE MODE")  # holds pg_dump back
        proc = subprocess.Popen(
            [sys.executable, "-m", "pytest_liftbackup", "backup", "--dsn", live.dsn, "--dir", str(tmp_path)],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        _wait_for_backend(live, "pg_dump")
        app.rollback()  # the lock goes; now the application writes while pg_dump reads
    live.execute("INSERT INTO lift_simulator.lift_system (system_key, display_name) VALUES ('late', 'Late')")
    _out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    dump = next(p for p in tmp_path.iterdir() if p.suffix == ".sql")
    manifest = json.loads((tmp_path / (dump.name + ".manifest.json")).read_text())
    assert b"'late'" not in dump.read_bytes() and b"\tlate\t" not in dump.read_bytes()
    assert manifest["tables"]["lift_simulator.lift_system"]["rows"] in (12, 13)
    verified = liftbackup("verify", dump)
    assert verified.returncode == 0, said(verified)  # the manifest and the dump agree


def _wait_for_backend(live: Live, application: str) -> None:
    for _ in range(200):
        rows = live.execute(
            f"SELECT 1 FROM pg_stat_activity WHERE datname = '{live.name}' AND application_name = '{application}'",
            "postgres",
        )
        if rows:
            return
        time.sleep(0.05)
    raise AssertionError(f"no {application} session appeared")


def test_an_interrupted_backup_leaves_no_file_and_no_pg_dump(live: Live, tmp_path: Path) -> None:
    with psycopg.connect(live.dsn) as app:
        app.execute("LOCK TABLE lift_simulator.scenario IN ACCESS EXCLUSIVE MODE")
        proc = subprocess.Popen(
            [sys.executable, "-m", "pytest_liftbackup", "backup", "--dsn", live.dsn, "--dir", str(tmp_path)],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        _wait_for_backend(live, "pg_dump")
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "interrupted" in err and PASSWORD not in out + err
    assert [p.name for p in tmp_path.iterdir()] == []  # no partial file, no manifest
    # pg_dump was killed; its backend, waiting for the lock, notices once the lock goes: give it a moment
    gone = f"SELECT 1 FROM pg_stat_activity WHERE datname = '{live.name}' AND application_name = 'pg_dump'"
    for _ in range(100):
        if not live.execute(gone, "postgres"):
            break
        time.sleep(0.05)
    else:
        raise AssertionError("the killed pg_dump's session stayed on the server")


def test_verify_proves_the_restore_complete_against_the_manifest(
    live: Live, tmp_path: Path, scratch: Scratch
) -> None:
    dump = backup(live, tmp_path)
    done = liftbackup("verify", tmp_path, "--checks", CHECKS, "--report", tmp_path / "v.json", "--json")
    assert done.returncode == 0, said(done)
    verdict = json.loads(done.stdout)
    (entry,) = verdict["dumps"]
    checks = {c["nodeid"]: c["outcome"] for c in entry["checks"]}
    manifest = f"{dump}.manifest.json"
    assert checks[f"{manifest}::manifest::file"] == "passed"
    assert checks[f"{manifest}::manifest::tables"] == "passed"
    assert sum(1 for o in checks.values() if o == "passed") == 40
    assert json.loads((tmp_path / "v.json").read_text())["verdict"] == "passed"
    record = json.loads(Path(f"{dump}.verified.json").read_text())
    assert record["passed"] is True
    assert scratch.leftovers() == [] and servers_under(scratch.tmpdir) == []


def _without_one_row(dump: Path, table: str) -> None:
    """Cut the first data row out of the table's COPY block: the dump still restores cleanly."""
    lines = dump.read_text().splitlines(keepends=True)
    start = next(i for i, line in enumerate(lines) if line.startswith(f"COPY {table} "))
    del lines[start + 1]
    dump.write_text("".join(lines))


def test_a_dump_that_lost_a_row_restores_cleanly_and_verify_catches_it(live: Live, tmp_path: Path) -> None:
    dump = backup(live, tmp_path)
    _without_one_row(dump, "lift_simulator.simulation_run")  # no key points at its rows
    done = liftbackup("verify", dump)
    text = said(done)
    assert done.returncode == 1, text
    assert f"FAILED {dump}: restored in" in text
    assert "the file's sha256 is not the manifest's: it changed after the backup was written" in text
    assert "lift_simulator.simulation_run: 95 rows restored, the manifest says 96" in text
    assert json.loads(Path(f"{dump}.verified.json").read_text())["passed"] is False


def test_a_row_changed_in_place_is_caught_by_the_digest(live: Live, tmp_path: Path) -> None:
    dump = backup(live, tmp_path)
    manifest = Path(f"{dump}.manifest.json")
    text = dump.read_text()
    edited = text.replace("\tLift system 1\t", "\tLift system one\t", 1)
    assert edited != text
    dump.write_text(edited)
    data = json.loads(manifest.read_text())
    data["sha256"], data["size"] = (
        __import__("hashlib").sha256(dump.read_bytes()).hexdigest(),
        dump.stat().st_size,
    )
    manifest.write_text(json.dumps(data))  # as if the source itself had been tampered with
    done = liftbackup("verify", dump)
    assert done.returncode == 1
    assert "lift_simulator.lift_system: 12 rows as the manifest says, but their content differs" in said(done)


def test_a_manifest_that_is_not_json_is_an_error_naming_it(live: Live, tmp_path: Path) -> None:
    dump = backup(live, tmp_path)
    Path(f"{dump}.manifest.json").write_text("{not json")
    done = liftbackup("verify", dump)
    assert done.returncode == 1
    assert f"{dump}.manifest.json: not a readable liftbackup manifest" in said(done)


def test_bad_input_is_one_clear_line_and_exit_2(tmp_path: Path) -> None:
    done = liftbackup("verify", tmp_path / "missing.sql")
    assert done.returncode == 2
    assert (
        done.stderr
        == f"liftbackup: {tmp_path / 'missing.sql'}: no such file or directory; pass the path of a pg_dump backup\n"
    )
    done = liftbackup("verify", tmp_path, "--max-size", "lots")
    assert done.returncode == 2 and "--max-size: 'lots' is not a size" in done.stderr
    done = liftbackup(
        "backup", "--dsn", "host=/nonexistent port=1 user=x password=hunter2", "--dir", tmp_path / "new"
    )
    assert done.returncode == 4 and "cannot connect to x@/nonexistent:1/" in done.stderr
    assert not (tmp_path / "new").exists()  # a typo in the DSN leaves no folder behind
    assert "hunter2" not in done.stdout + done.stderr and "Traceback" not in done.stderr


@pytest.fixture
def age_key(tmp_path: Path) -> tuple[str, Path]:
    import pyrage

    identity = pyrage.x25519.Identity.generate()
    key = tmp_path / "key.txt"
    key.write_text(f"# created for the test\n{identity}\n")
    return str(identity.to_public()), key


def test_an_encrypted_backup_verifies_with_its_identity_only(
    live: Live, tmp_path: Path, age_key: tuple[str, Path]
) -> None:
    recipient, key = age_key
    folder = tmp_path / "backups"
    dump = backup(live, folder, "--encrypt-to", recipient)
    assert dump.name.endswith(".sql.age") and dump.read_bytes().startswith(b"age-encryption.org/v1\n")
    assert b"lift_simulator" not in dump.read_bytes()
    manifest = json.loads(Path(f"{dump}.manifest.json").read_text())
    assert manifest["encrypted"] is True
    without = liftbackup("verify", dump)
    assert without.returncode == 2
    assert (
        f"{dump}: an encrypted backup (age); pass the identity file that decrypts it with --identity=FILE"
        in without.stderr
    )
    done = liftbackup("verify", dump, "--identity", key)
    assert done.returncode == 0, said(done)
    assert f"PASSED {dump}:" in done.stdout
    other = tmp_path / "other.txt"
    import pyrage

    other.write_text(f"{pyrage.x25519.Identity.generate()}\n")
    wrong = liftbackup("verify", dump, "--identity", other)
    assert wrong.returncode == 2
    assert f"{dump}: cannot decrypt this backup" in wrong.stderr and "Traceback" not in wrong.stderr


def test_the_age_tool_reads_an_encrypted_backup(
    live: Live, tmp_path: Path, age_key: tuple[str, Path]
) -> None:
    """Interoperability: the file is standard age, not something only pyrage reads."""
    age = shutil.which("age")
    if age is None:
        if __import__("os").environ.get("LIFTBACKUP_TEST_NEEDS_AGE"):  # set by .ci/run, which installs it
            pytest.fail("the age tool is missing: apt-get install age")
        pytest.skip("the age tool is not installed (apt-get install age)")
    recipient, key = age_key
    dump = backup(live, tmp_path / "b", "--encrypt-to", recipient)
    plain = subprocess.run(
        [age, "--decrypt", "-i", str(key), str(dump)], capture_output=True, check=True
    ).stdout
    assert plain.startswith(b"--\n-- PostgreSQL database dump\n")
    assert b"COPY lift_simulator.lift_system " in plain


def test_a_custom_format_backup_verifies_with_its_manifest(live: Live, tmp_path: Path) -> None:
    dump = backup(live, tmp_path, "--format", "custom")
    assert dump.suffix == ".dump" and dump.read_bytes().startswith(b"PGDMP")
    done = liftbackup("verify", dump, "--json")
    assert done.returncode == 0, said(done)
    (entry,) = json.loads(done.stdout)["dumps"]
    assert entry["format"] == "custom"
    assert {c["nodeid"].rsplit("::", 1)[1]: c["outcome"] for c in entry["checks"]} == {
        "file": "passed",
        "tables": "passed",
    }
