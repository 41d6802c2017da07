"""The backup folder is ours: whoever can write it (the backup job's user) cannot make a verification
restore another file, hang it, or make our next log line land in a file of theirs choosing.

Real symlinks, FIFOs, devices and hard links in temporary folders, real pg_dump output; the end-to-end
cases run the `liftbackup` command, which restores into a real throwaway PostgreSQL."""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from pytest_liftbackup._errors import DumpInputError
from pytest_liftbackup.api.backup import log
from pytest_liftbackup.api.folder import Backup, parse_name, record_verification
from pytest_liftbackup.api.manifest import Manifest
from pytest_liftbackup.api.restorer import find_dumps
from pytest_liftbackup.dump.inspect import inspect_dump, sha256_of_path
from pytest_liftbackup.dump.locate import locate
from tests.cli.conftest import liftbackup
from tests.conftest import Dumps, Scratch
from tests.helpers import assert_clean, output, run

pytestmark = pytest.mark.skipif(os.name == "nt", reason="symbolic links, FIFOs and owners as POSIX has them")

NOBODY = 65534
OLDER = "lift_simulator_backup_20260106_080000.sql"
NEWEST = "lift_simulator_backup_20260120_080000.sql"


@pytest.fixture
def folder(tmp_path: Path, dumps: Dumps) -> Path:
    """A backup folder holding one real backup, the older one."""
    made = tmp_path / "backups"
    made.mkdir()
    shutil.copy(dumps.plain, made / OLDER)
    return made


@pytest.fixture
def secret_dump(tmp_path: Path, dumps: Dumps) -> Path:
    """A dump only root may read, elsewhere on the machine: what a planted link would point at."""
    private = tmp_path / "root-only"
    private.mkdir(mode=0o700)
    copy = private / "payroll.sql"
    shutil.copy(dumps.plain, copy)
    copy.chmod(0o600)
    return copy


def plant(kind: str, at: Path, secret: Path) -> None:
    """Something named like a backup that is not one of the folder's regular files."""
    if kind == "symlink":
        at.symlink_to(secret)
    elif kind == "fifo":
        os.mkfifo(at)
    elif kind == "device":
        os.mknod(at, 0o600 | stat.S_IFCHR, os.makedev(1, 3))  # what /dev/null is
    elif kind == "hardlink":
        os.link(secret, at)
    else:  # a regular file, but someone else's, in a folder that is not theirs
        shutil.copy(secret, at)
        os.chown(at, NOBODY, NOBODY)


WHY = {
    "symlink": "a symbolic link",
    "fifo": "a named pipe (FIFO)",
    "device": "a device",
    "hardlink": "a hard link (2 names for one file)",
    "foreign": f"owned by uid {NOBODY}, neither this user (0) nor the folder's owner",
}


def test_verify_refuses_a_symlink_named_like_the_newest_backup_and_restores_nothing(
    folder: Path, secret_dump: Path
) -> None:
    (folder / NEWEST).symlink_to(secret_dump)
    done = liftbackup("verify", folder)
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr == (
        f"liftbackup: {folder / NEWEST}: a symbolic link, not a regular file of its folder: it is not read; "
        "remove it, or name the backup you mean explicitly\n"
    )
    assert "PASSED" not in done.stdout and not list(folder.glob("*.verified.json"))


@pytest.mark.parametrize("kind", list(WHY))
def test_a_folder_entry_named_like_the_newest_backup_must_be_a_regular_file_of_ours(
    folder: Path, secret_dump: Path, kind: str
) -> None:
    if kind in ("device", "foreign") and os.geteuid() != 0:
        pytest.skip("planting a device or someone else's file takes root")
    plant(kind, folder / NEWEST, secret_dump)
    with pytest.raises(DumpInputError) as refused:
        find_dumps([folder])
    assert str(refused.value).startswith(f"{folder / NEWEST}: {WHY[kind]}, not a regular file of its folder")
    with pytest.raises(DumpInputError, match=re.escape(WHY[kind])):
        find_dumps([f"{folder}/*_backup_*"])  # what a glob finds is a folder's entry too


@pytest.mark.skipif(os.geteuid() != 0, reason="changing a file's owner takes root")
def test_files_of_the_folders_owner_are_backups_of_that_folder(folder: Path) -> None:
    os.chown(folder, NOBODY, NOBODY)
    os.chown(folder / OLDER, NOBODY, NOBODY)
    (found,) = find_dumps([folder])
    assert found.path == folder / OLDER


def test_a_symlink_named_explicitly_is_followed_once_and_the_dump_says_to_what(
    folder: Path, tmp_path: Path
) -> None:
    link = tmp_path / "latest.sql"
    link.symlink_to(folder / OLDER)
    (found,) = find_dumps([link])
    assert found.path == folder / OLDER
    assert found.how == f"given, a symbolic link to {folder / OLDER}"


def test_a_swap_to_a_link_after_the_folder_was_read_is_refused_at_the_open(
    folder: Path, secret_dump: Path
) -> None:
    (located,) = locate([str(folder)])
    assert located.path == folder / OLDER
    (folder / OLDER).unlink()
    (folder / OLDER).symlink_to(secret_dump)  # between the check and the open
    with pytest.raises(DumpInputError, match="a symbolic link, not a regular file of its folder"):
        inspect_dump(located, "x")
    with pytest.raises(DumpInputError, match="a symbolic link, not a regular file of its folder"):
        sha256_of_path(located.path)


def recent_name(days_ago: int) -> str:
    return f"lift_simulator_backup_{datetime.now() - timedelta(days=days_ago):%Y%m%d_%H%M%S}.sql"


def test_status_names_a_planted_link_as_unhealthy_and_does_not_count_it(
    folder: Path, secret_dump: Path
) -> None:
    yesterday, today = recent_name(1), recent_name(0)
    (folder / OLDER).rename(folder / yesterday)
    (folder / today).symlink_to(secret_dump)
    done = liftbackup("status", folder, "--json")
    assert done.returncode == 1, done.stdout
    report = json.loads(done.stdout)
    assert [Path(b["file"]).name for b in report["backups"]] == [yesterday]
    assert report["problems"] == [
        f"{folder / today}: a symbolic link, not a regular file of its folder: it is not read; "
        "remove it, or name the backup you mean explicitly"
    ]


def test_prune_skips_a_planted_link_and_never_deletes_it(folder: Path, secret_dump: Path) -> None:
    today, planted = recent_name(0), folder / recent_name(30)
    (folder / OLDER).rename(folder / today)
    planted.symlink_to(secret_dump)
    done = liftbackup("prune", "--dir", folder, "--keep-daily", "1")
    assert done.returncode == 0, done.stderr
    assert f"skipped {planted}: a symbolic link, not a regular file of its folder" in done.stdout
    assert planted.is_symlink() and secret_dump.exists()
    assert (folder / today).exists()


def test_a_manifest_or_a_verification_record_that_is_a_link_is_not_read(folder: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere.json"
    elsewhere.write_text(json.dumps({"verified": "2026-01-01T00:00:00+00:00", "passed": True, "summary": ""}))
    backup = parse_name(folder / OLDER)
    assert isinstance(backup, Backup)
    backup.verified.symlink_to(elsewhere)
    assert backup.last_verification() is None
    backup.manifest.symlink_to(elsewhere)
    with pytest.raises(DumpInputError, match="a symbolic link, not a regular file of its folder"):
        Manifest.read(backup.manifest)


def test_records_and_manifests_are_written_0600_under_a_name_no_one_can_plant(
    folder: Path, tmp_path: Path
) -> None:
    victim = tmp_path / "bashrc"
    victim.write_text("original\n")
    # The names the writes used to go through: links there must lead nowhere now.
    (folder / f".{OLDER}.verified.json.partial").symlink_to(victim)
    (folder / f".{OLDER}.manifest.json.partial").symlink_to(victim)
    written = record_verification(folder / OLDER, True, "restored")
    manifest = Manifest(OLDER, "0" * 64, 1, "2026-01-01T00:00:00+00:00", "lift", "18", "18", "plain")
    manifest.write(folder / f"{OLDER}.manifest.json")
    assert victim.read_text() == "original\n"
    for path in (written, folder / f"{OLDER}.manifest.json"):
        assert stat.S_ISREG(path.lstat().st_mode) and path.stat().st_mode & 0o777 == 0o600
    assert Manifest.read(folder / f"{OLDER}.manifest.json") == manifest


@pytest.mark.parametrize("kind", ["symlink", "hardlink", "fifo"])
def test_the_folder_log_is_never_written_through_a_planted_file(
    folder: Path, tmp_path: Path, kind: str
) -> None:
    victim = tmp_path / "profile"
    victim.write_text("original\n")
    plant(kind, folder / "liftbackup.log", victim)
    with pytest.raises(
        DumpInputError, match=re.escape(f"liftbackup.log: {WHY[kind]}, not a log file of ours")
    ):
        log(folder, "prune: deleted x\nrm -rf ~")
    assert victim.read_text() == "original\n"


@pytest.mark.parametrize("kind", ["symlink", "hardlink", "fifo"])
def test_the_job_log_given_with_log_is_never_written_through_a_planted_file(
    folder: Path, tmp_path: Path, kind: str
) -> None:
    victim = tmp_path / "profile"
    victim.write_text("original\n")
    job_log = folder / "liftbackup-job.log"
    plant(kind, job_log, victim)
    done = liftbackup("--log", job_log, "status", folder)
    assert done.returncode == 2
    assert done.stderr == (
        f"liftbackup: {job_log}: {WHY[kind]}, not a log file of ours: nothing was written to it; "
        "remove it and run again\n"
    )
    assert victim.read_text() == "original\n"


def test_the_job_log_is_created_private_and_holds_all_the_command_said(folder: Path) -> None:
    job_log = folder / "liftbackup-job.log"
    for _ in range(2):
        done = liftbackup("--log", job_log, "status", folder)
        assert done.returncode == 1 and done.stdout == done.stderr == ""  # the backup is old: unhealthy
    assert job_log.stat().st_mode & 0o777 == 0o600
    text = job_log.read_text()
    assert text.count("UNHEALTHY lift_simulator: the newest backup is") == 2
    assert text.count(f"{OLDER}\n") == 2


def test_the_plugin_refuses_a_fifo_named_like_the_newest_backup_without_waiting_on_it(
    folder: Path, pytester: pytest.Pytester, scratch: Scratch
) -> None:
    os.mkfifo(folder / NEWEST)  # opening it to read would wait for a writer forever
    result = run(pytester, f"--liftbackup={folder}")
    text = output(result)
    assert result.ret == pytest.ExitCode.USAGE_ERROR, text
    assert (
        f"ERROR: {folder / NEWEST}: a named pipe (FIFO), not a regular file of its folder: it is not read; "
        "remove it, or name the backup you mean explicitly"
    ) in result.errlines
    assert "Traceback" not in text
    assert_clean(scratch)
