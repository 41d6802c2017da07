"""Class 1: an archive cannot make pg_restore read a file outside the dump. A data file name in
toc.dat that climbs out or is absolute, a blobs TOC line that does, a data file that is a symlink or a
hard link to a secret: each dump is refused before anything runs, naming the entry, and the secret
appears nowhere. The same through a tarball wrapping the directory dump."""

from __future__ import annotations

import os
import shutil
import tarfile
import tempfile
from pathlib import Path

import pytest

from pytest_liftbackup import find_dumps
from pytest_liftbackup.restore.archive import prepare
from pytest_liftbackup.server.binaries import PgBinaries
from pytest_liftbackup.server.unprivileged import server_user, temp_base
from tests.conftest import Scratch
from tests.helpers import assert_clean, output, run
from tests.lift_simulator import build
from tests.security.conftest import LO_DATABASE, rename_in_toc

REFUSED = (
    "a pg_dump archive only names its own files, so this one was crafted or damaged; nothing was restored"
)


@pytest.fixture
def folder(lo_source: build.SourceDatabase, tmp_path: Path) -> Path:
    """A real directory-format dump (uncompressed) of a database with a table and a large object."""
    return lo_source.dump(tmp_path / "dump", "-F", "d", "-Z", "0", database=LO_DATABASE)


def data_file(folder: Path) -> str:
    return next(p.name for p in folder.iterdir() if p.name[0].isdigit())


def run_refused(pytester: pytest.Pytester, dump: Path, expected: str, secret: str) -> str:
    result = run(pytester, f"--liftbackup={dump}", "--liftbackup-report=v.json")
    text = output(result)
    assert result.ret == 1, text
    assert expected in text, text
    assert REFUSED in text
    assert secret not in text and secret not in (pytester.path / "v.json").read_text()
    assert "Traceback" not in text
    return text


@pytest.mark.parametrize("how", ["climbing", "absolute"])
def test_a_data_file_name_outside_the_dump_is_refused(
    how: str,
    folder: Path,
    secret_file: tuple[Path, str],
    pytester: pytest.Pytester,
    scratch: Scratch,
) -> None:
    secret, content = secret_file
    name = data_file(folder)
    evil = "../" * 12 + str(secret).lstrip("/") if how == "climbing" else str(secret)
    rename_in_toc(folder / "toc.dat", name, evil)
    run_refused(pytester, folder, f"names the file {evil!r}, not a plain file name inside the dump", content)
    assert_clean(scratch)


def test_a_blobs_toc_line_outside_the_dump_is_refused(
    folder: Path,
    secret_file: tuple[Path, str],
    pytester: pytest.Pytester,
    scratch: Scratch,
) -> None:
    secret, content = secret_file
    blobs = next(folder.glob("blobs*.toc"))
    oid = blobs.read_text().split()[0]
    blobs.write_text(f"{oid} {'../' * 12}{str(secret).lstrip('/')}\n")
    run_refused(pytester, folder, f"{blobs.name}:1 names the file", content)
    assert_clean(scratch)


@pytest.mark.parametrize("link", ["symlink", "hardlink"])
def test_a_data_file_linked_to_a_secret_is_refused(
    link: str,
    folder: Path,
    secret_file: tuple[Path, str],
    pytester: pytest.Pytester,
    scratch: Scratch,
) -> None:
    secret, content = secret_file
    name = data_file(folder)
    (folder / name).unlink()
    if link == "symlink":
        (folder / name).symlink_to(secret)
        expected = f"{name} is a symbolic link (to {secret})"
    else:
        os.link(secret, folder / name)
        expected = f"{name} has 2 hard links, so it may be a file from elsewhere on this machine"
    run_refused(pytester, folder, expected, content)
    assert_clean(scratch)


def test_the_same_through_a_tarball_wrapping_the_directory_dump(
    folder: Path,
    secret_file: tuple[Path, str],
    pytester: pytest.Pytester,
    scratch: Scratch,
    tmp_path: Path,
) -> None:
    secret, content = secret_file
    evil = "../" * 12 + str(secret).lstrip("/")
    rename_in_toc(folder / "toc.dat", data_file(folder), evil)
    tarball = tmp_path / "wrapped.tar.gz"
    with tarfile.open(tarball, "w:gz") as tar:
        tar.add(folder, arcname="dump")
    shutil.rmtree(folder)
    run_refused(pytester, tarball, f"names the file {evil!r}, not a plain file name inside the dump", content)
    assert_clean(scratch)


def test_a_good_directory_dump_with_a_large_object_restores(
    folder: Path, pytester: pytest.Pytester, scratch: Scratch
) -> None:
    pytester.makepyfile(
        test_lo="""
        def test_the_reader_reads_the_large_object(liftbackup_db):
            row = liftbackup_db.execute(
                "SELECT convert_from(lo_get(oid), 'UTF8') FROM pg_largeobject_metadata"
            ).fetchone()
            assert row == ("large object body",)
        """
    )
    result = run(pytester, f"--liftbackup={folder}")
    assert result.ret == 0, output(result)
    result.assert_outcomes(passed=2)
    assert "1 tables, 2 rows" in output(result)
    assert_clean(scratch)


@pytest.mark.skipif(server_user() is None, reason="pg_restore changes user only when pytest runs as root")
def test_as_root_pg_restore_gets_a_private_copy_owned_by_the_server_user(
    folder: Path, pg_binaries: PgBinaries
) -> None:
    info = find_dumps([folder])[0]
    user = server_user()
    assert user is not None
    work = Path(tempfile.mkdtemp(dir=temp_base(user)))  # as the session's folder: passable by the user
    work.chmod(0o711)
    access = prepare(info, pg_binaries, work, user)
    try:
        assert access.user == user and not access.archive.is_relative_to(folder)
        owners = {p.stat().st_uid for p in [access.archive, *access.archive.iterdir()]}
        assert owners == {user.uid}
        assert access.run(["--list"]).returncode == 0  # pg_restore, run as that user, reads it
    finally:
        access.discard()
    assert not (work / "d.archive").exists()
    work.rmdir()
