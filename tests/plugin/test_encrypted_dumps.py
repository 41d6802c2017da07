"""Backups encrypted with age (`liftbackup backup --encrypt-to`) under pytest: --liftbackup-identity."""

from __future__ import annotations

from pathlib import Path

import pyrage
import pytest

from tests.conftest import Dumps, Scratch
from tests.helpers import assert_clean, output, run


@pytest.fixture
def encrypted(dumps: Dumps, tmp_path: Path) -> tuple[Path, Path]:
    identity = pyrage.x25519.Identity.generate()
    key = tmp_path / "key.txt"
    key.write_text(f"{identity}\n")
    dump = tmp_path / f"{dumps.plain.name}.age"
    dump.write_bytes(pyrage.encrypt(dumps.plain.read_bytes(), [identity.to_public()]))
    return dump, key


def test_an_encrypted_dump_restores_with_its_identity_and_leaves_no_decrypted_copy(
    encrypted: tuple[Path, Path], pytester: pytest.Pytester, scratch: Scratch
) -> None:
    dump, key = encrypted
    result = run(pytester, f"--liftbackup={dump}", f"--liftbackup-identity={key}", "-v")
    assert result.ret == 0, output(result)
    result.stdout.fnmatch_lines([f"  {dump} ?given, decrypted?: plain, *", f"*{dump.name}::restore PASSED*"])
    assert_clean(scratch)


def test_without_its_identity_an_encrypted_dump_is_one_clear_error(
    encrypted: tuple[Path, Path], pytester: pytest.Pytester, scratch: Scratch
) -> None:
    dump, _ = encrypted
    result = run(pytester, f"--liftbackup={dump}")
    assert result.ret == 4
    result.stderr.fnmatch_lines(
        [
            f"ERROR: {dump}: an encrypted backup (age); pass the identity file that decrypts it with --liftbackup-identity=FILE"
        ]
    )
    other = dump.parent / "other.txt"
    other.write_text(f"{pyrage.x25519.Identity.generate()}\n")
    result = run(pytester, f"--liftbackup={dump}", f"--liftbackup-identity={other}")
    assert result.ret == 4
    result.stderr.fnmatch_lines([f"ERROR: {dump}: cannot decrypt this backup*"])
    assert_clean(scratch)
