"""`liftbackup restore` restores the bytes it verified, and only into the database they are a backup of.

Step 1 copies the backup into a private folder (hashing it, against its manifest) and every later
step reads only that copy; the backup's database (manifest, archive header, file name) is compared
with the target's; the plan and the prompt say what step 1 found."""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from pytest_liftbackup.api import RestorerConfig
from pytest_liftbackup.api.main_restore import MainRestore, preflight, restore_main
from pytest_liftbackup.server.databases import conninfo_from
from tests.cli.conftest import Live, liftbackup, said
from tests.cli.test_backup_and_verify import CHECKS, backup
from tests.cli.test_restore_main import _on_a_terminal, changed_since_backup
from tests.conftest import Scratch

UNCHANGED = "the main database was not changed"
NO_NAME = "no manifest, no database name in the dump, and its file name is not <db>_backup_YYYYMMDD_HHMMSS"
NO_TIME = "no manifest, no time in the dump, and its file name is not <db>_backup_YYYYMMDD_HHMMSS"


@pytest.fixture
def private_tmp(scratch: Scratch, monkeypatch: pytest.MonkeyPatch) -> Scratch:
    """The temporary folder of an in-process restore: the scratch one (tempfile reads TMPDIR again)."""
    monkeypatch.setattr(tempfile, "tempdir", None)
    return scratch


def request_for(main: Live, dump: Path, safety: Path) -> MainRestore:
    pg_bin = ((str(main.pg_bin), "tests"),) if main.pg_bin else ()
    return MainRestore(dump, main.dsn, safety, config=RestorerConfig(jobs=2, pg_bin=pg_bin))


def admin_dsn(main: Live) -> str:
    return conninfo_from(main.server.admin_conninfo(main.name))


def problems(done: subprocess.CompletedProcess[str]) -> list[str]:
    """What the command said on stderr, but the warning about the tests' DSN holding a password."""
    return [line for line in done.stderr.splitlines() if not line.startswith("liftbackup: warning: --dsn")]


def copies(folder: Path) -> list[Path]:
    return sorted(folder.glob("liftbackup-copy-*"))


def manifest_of(dump: Path) -> Path:
    return dump.with_name(dump.name + ".manifest.json")


def test_a_backup_swapped_after_step_1_is_not_what_goes_in(
    main: Live, tmp_path: Path, private_tmp: Scratch
) -> None:
    """Someone who may write the backup folder replaces the file (and regenerates its manifest) once
    step 1 has verified it: what goes into the main database is still what was verified."""
    dump = backup(main, tmp_path / "a", *main.tools)
    verified = main.facts()
    changed_since_backup(main)
    other = backup(main, tmp_path / "b", *main.tools)
    swapped = main.facts()
    main.execute("DELETE FROM lift_simulator.simulation_run WHERE id % 3 = 0")  # neither backup's state
    assert verified != swapped and main.facts() not in (verified, swapped)
    planted = json.loads(manifest_of(other).read_text())
    planted["file"] = dump.name
    manifest_of(other).write_text(json.dumps(planted))

    def swap_at(step: str) -> None:
        if step == "safety backup":
            os.replace(other, dump)
            os.replace(manifest_of(other), manifest_of(dump))

    request = request_for(main, dump, tmp_path / "safety")
    restore_main(request, preflight(request), on_step=swap_at)
    assert main.facts() == verified
    assert copies(private_tmp.tmpdir) == []


@pytest.mark.parametrize("fails_at", ["sessions", "staging"])
def test_the_private_copy_is_only_ours_and_gone_after_a_failure(
    fails_at: str, main: Live, tmp_path: Path, private_tmp: Scratch
) -> None:
    dump = backup(main, tmp_path / "b", *main.tools)
    before = main.facts()
    seen: list[str] = []

    def look_then_fail(step: str) -> None:
        if step != fails_at:
            return
        (folder,) = copies(private_tmp.tmpdir)
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
        for name in (dump.name, manifest_of(dump).name):
            copy = folder / name
            assert stat.S_IMODE(copy.lstat().st_mode) == 0o600 and stat.S_ISREG(copy.lstat().st_mode)
            assert copy.read_bytes() == (dump.parent / name).read_bytes()
        seen.append(step)
        raise KeyboardInterrupt(f"injected at {step}")

    request = request_for(main, dump, tmp_path / "b")
    with pytest.raises(KeyboardInterrupt):
        restore_main(request, preflight(request), on_step=look_then_fail)
    assert seen == [fails_at]
    assert copies(private_tmp.tmpdir) == [] and private_tmp.leftovers() == []
    assert main.facts() == before and main.databases() == [main.name]


@pytest.fixture
def hr(main: Live) -> Iterator[str]:
    """A second database on the main server, `hr`, made from the same template (and so alike)."""
    main.execute("CREATE DATABASE hr TEMPLATE lift_simulator OWNER lift_admin", "postgres")
    main.execute("UPDATE lift_simulator.lift_system SET display_name = 'of hr'", "hr")
    yield main.dsn.replace(f"dbname={main.name}", "dbname=hr")
    main.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = 'hr'", "postgres")
    main.execute("DROP DATABASE IF EXISTS hr", "postgres")


def backup_of(dsn: str, folder: Path, *more: str) -> Path:
    done = liftbackup("backup", "--dsn", dsn, "--dir", folder, *more)
    assert done.returncode == 0, said(done)
    (made,) = [p for p in folder.iterdir() if not p.name.endswith((".json", ".log"))]
    return made


def test_a_backup_of_another_database_goes_in_only_with_from_database_naming_it(
    main: Live, hr: str, tmp_path: Path
) -> None:
    dump = backup_of(hr, tmp_path / "hr", *main.tools)
    of_hr = main.facts("hr")
    before = main.facts()
    files = sorted(p.name for p in dump.parent.iterdir())

    done = liftbackup("restore", dump, "--dsn", main.dsn, "--yes", *main.tools)
    assert done.returncode == 3, said(done)
    assert (
        f"liftbackup: refused: {dump}: a backup of the database hr (from its manifest), not of {main.name}; "
        f"to restore it into {main.name} all the same, pass --from-database hr; {UNCHANGED}"
    ) in done.stderr.splitlines()
    assert "step 2/5" not in done.stdout

    wrong = liftbackup("restore", dump, "--dsn", main.dsn, "--yes", "--from-database", "payroll", *main.tools)
    assert wrong.returncode == 3, said(wrong)
    assert (
        f"liftbackup: refused: {dump}: a backup of the database hr (from its manifest), not of payroll as "
        f"--from-database says; pass --from-database hr to restore it into {main.name}; {UNCHANGED}"
    ) in wrong.stderr.splitlines()
    assert main.facts() == before and main.databases() == [main.name]
    assert sorted(p.name for p in dump.parent.iterdir()) == files  # no safety backup taken

    right = liftbackup("restore", dump, "--dsn", main.dsn, "--yes", "--from-database", "hr", *main.tools)
    assert right.returncode == 0, said(right)
    assert (
        f"source: the database hr (from its manifest), restored into {main.name} as --from-database hr says"
        in right.stdout.splitlines()
    )
    assert main.facts() == of_hr


def test_without_a_manifest_the_dump_or_its_file_name_says_the_database_or_the_plan_says_unknown(
    main: Live, hr: str, tmp_path: Path
) -> None:
    custom = backup_of(hr, tmp_path / "custom", "--format", "custom", *main.tools)
    manifest_of(custom).unlink()
    renamed = custom.rename(custom.with_name(f"{main.name}_backup_20260101_000000.dump"))  # the header wins
    done = liftbackup("restore", renamed, "--dsn", main.dsn, "--dry-run", *main.tools)
    assert done.returncode == 3, said(done)
    assert (
        f"liftbackup: refused: {renamed}: a backup of the database hr (from its archive header), not of "
        f"{main.name}; to restore it into {main.name} all the same, pass --from-database hr; {UNCHANGED}"
    ) in done.stderr.splitlines()

    plain = backup(main, tmp_path / "plain", *main.tools)
    manifest_of(plain).unlink()
    named = plain.rename(plain.with_name("hr_backup_20261201_033000.sql"))
    done = liftbackup("restore", named, "--dsn", main.dsn, "--dry-run", *main.tools)
    assert done.returncode == 3, said(done)
    assert (
        f"liftbackup: refused: {named}: a backup of the database hr (from its file name), not of "
        f"{main.name}; to restore it into {main.name} all the same, pass --from-database hr; {UNCHANGED}"
    ) in done.stderr.splitlines()
    done = liftbackup("restore", named, "--dsn", main.dsn, "--dry-run", "--from-database", "hr", *main.tools)
    assert done.returncode == 0, said(done)
    assert "taken: 2026-12-01 03:30:00 (from its file name)" in done.stdout.splitlines()

    unknown = named.rename(named.with_name("weekly.sql"))
    done = liftbackup("restore", unknown, "--dsn", main.dsn, "--dry-run", *main.tools)
    assert done.returncode == 0, said(done)
    lines = done.stdout.splitlines()
    assert f"source: unknown ({NO_NAME}): make sure it is a backup of {main.name}" in lines
    assert f"taken: unknown ({NO_TIME})" in lines
    assert "passed: the restore" in lines
    done = liftbackup(
        "restore", unknown, "--dsn", main.dsn, "--dry-run", "--from-database", "hr", *main.tools
    )
    assert done.returncode == 0, said(done)
    assert (
        f"source: unknown ({NO_NAME}); restored into {main.name} as a backup of hr, as --from-database says"
        in done.stdout.splitlines()
    )
    assert main.databases() == [main.name]


def test_a_directory_format_backup_is_copied_entry_by_entry_and_a_link_in_it_refused(
    main: Live, tmp_path: Path
) -> None:
    folder = tmp_path / "lift.dir"
    subprocess.run(
        [str(main.server.binaries.tool("pg_dump")), "-Fd", "-f", str(folder), "-d", admin_dsn(main)],
        check=True,
    )
    done = liftbackup("restore", folder, "--dsn", main.dsn, "--dry-run", *main.tools)
    assert done.returncode == 0, said(done)
    lines = done.stdout.splitlines()
    assert f"source: the database {main.name} (from its archive header), the one restored into" in lines
    assert "passed: the restore" in lines
    (folder / "extra.dat").symlink_to("/etc/passwd")
    done = liftbackup("restore", folder, "--dsn", main.dsn, "--dry-run", *main.tools)
    assert done.returncode == 2, said(done)
    assert (
        f"liftbackup: {folder / 'extra.dat'}: a symbolic link, not a file of the directory-format backup: "
        "nothing was restored; a pg_dump folder holds plain files only, take a new backup"
    ) in done.stderr.splitlines()


def test_a_file_that_differs_from_its_manifest_is_refused_in_step_1(main: Live, tmp_path: Path) -> None:
    dump = backup(main, tmp_path, *main.tools)
    with dump.open("a") as out:
        out.write("-- edited after the backup\n")
    done = liftbackup("restore", dump, "--dsn", main.dsn, "--yes", *main.tools)
    assert done.returncode == 1, said(done)
    assert problems(done) == [
        f"liftbackup: {dump}: its sha256 is not the one {dump.name}.manifest.json records: the file "
        f"changed after the backup was written; {UNCHANGED}"
    ]
    assert main.databases() == [main.name]


def test_the_plan_and_the_prompt_show_what_step_1_found(main: Live, tmp_path: Path) -> None:
    dump = backup(main, tmp_path, *main.tools)
    manifest = json.loads(manifest_of(dump).read_text())
    found = [
        f"backup: {dump}, {manifest['size']} bytes, sha256 {manifest['sha256']}",
        f"taken: {manifest['created']} (from its manifest)",
        f"source: the database {main.name} (from its manifest), the one restored into",
        "passed: the restore, manifest::file, manifest::tables",
    ]
    done = liftbackup("restore", dump, "--dsn", main.dsn, "--dry-run", *main.tools)
    assert done.returncode == 0, said(done)
    assert done.stdout.splitlines() == [
        f"1. copy {dump} into a private temporary folder, hashing it (its size is needed there), check the "
        f"copy against its manifest and that it is a backup of {main.name}, and verify the copy in a "
        "throwaway PostgreSQL (restore, checks from none, manifest); the later steps read only the copy",
        f"2. refuse if there are other sessions on {main.name}",
        f"3. back up {main.name} into {tmp_path} and verify that backup",
        f"4. restore into a staging database beside {main.name} as liftbackup_staging_… (the dump's owners' rights) "
        "and run the checks there",
        f"5. rename {main.name} to {main.name}_pre_restore_YYYYMMDD_HHMMSS (the time of the swap) and the staging database to {main.name}, "
        "in one transaction",
        *found,
    ]
    as_json = liftbackup(
        "restore", dump, "--dsn", main.dsn, "--dry-run", "--json", "--checks", CHECKS, *main.tools
    )
    assert as_json.returncode == 0, said(as_json)
    facts = json.loads(as_json.stdout)["backup"]
    assert (facts["source_database"], facts["source_database_from"]) == (main.name, "its manifest")
    assert (facts["taken"], facts["size"], facts["sha256"]) == (
        manifest["created"],
        manifest["size"],
        manifest["sha256"],
    )
    assert facts["passed"][:3] == ["the restore", "manifest::file", "manifest::tables"]
    assert re.fullmatch(r"\d+ checks( \(\d+ skipped\))?", facts["passed"][3]), facts["passed"]
    before = main.facts()
    asked = _on_a_terminal(["restore", str(dump), "--dsn", main.dsn, *main.tools], "not-the-name")
    assert asked.returncode == 3, said(asked)
    assert asked.stdout.splitlines() == ["step 1/5: verify", *found]
    assert problems(asked) == [
        f"restore {dump.name} into {main.name}, restored as liftbackup_staging_… (the dump's owners' rights). "
        f"Type the database name ({main.name}) to go on: "
        "liftbackup: refused: not confirmed; nothing was changed"
    ]
    assert main.facts() == before and main.databases() == [main.name]
