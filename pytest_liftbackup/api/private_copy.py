"""A private copy of a backup, hashed while it is copied: the bytes verified are the bytes restored.

A restore into the main database reads its backup more than once (the throwaway verification, the
staging restore, the manifest comparison), minutes apart. Read from the backup folder each time, a
file swapped in between (by whoever may write that folder) would go into production unverified. So
step 1 reads the backup once, never following a link (`files.open_entry`; a directory-format backup
entry by entry from its open folder), into a claimed private folder (0700, files 0600, created with
`O_EXCL|O_NOFOLLOW`), computing its sha256 on the way (the scheme of `inspect.sha256_of_path`, so a
manifest's sha256 compares); the manifest beside it is copied too, and every later step reads only
the copies. The folder is removed when the block ends, however it ends; a killed run's is claimed, so
the next run reaps it. The copy takes the backup's size in the temporary folder: checked first.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from pytest_liftbackup._errors import DumpInputError
from pytest_liftbackup._leftovers import claimed_folder
from pytest_liftbackup._safe_text import shown
from pytest_liftbackup.api.manifest import manifest_path
from pytest_liftbackup.dump import files as _files
from pytest_liftbackup.restore.limits import check_disk

PRIVATE_FOLDER = 0o700
_CHUNK = 1 << 20
_DIRECTORY = getattr(os, "O_DIRECTORY", 0)


@dataclass(frozen=True)
class PrivateCopy:
    """The copy of one backup: read only these, never the original again."""

    original: Path
    path: Path  # named like the original, in a private folder
    sha256: str  # of the bytes copied
    size: int  # bytes copied
    manifest: Path | None  # the copy of the original's manifest, beside `path` (None: it has none)


@contextmanager
def private_copy(original: Path) -> Iterator[PrivateCopy]:
    """`original` (a file, or a directory-format backup's folder) and its manifest copied into a
    private temporary folder, removed when the block ends; DumpInputError for a link or a special
    file where a backup's file should be, LiftbackupError when the temporary folder's disk is short."""
    claim = claimed_folder("copy-")
    try:
        os.chmod(claim.folder, PRIVATE_FOLDER)
        check_disk(claim.folder, _size_of(original), shown(str(original)))
        copy = claim.folder / original.name
        digest = hashlib.sha256()
        copier = _copy_folder if original.is_dir() else _copy_file
        size = copier(original, copy, digest)
        manifest = _copy_manifest(original, copy)
        yield PrivateCopy(original, copy, digest.hexdigest(), size, manifest)
    finally:
        shutil.rmtree(claim.folder, ignore_errors=True)
        claim.release()


def _size_of(original: Path) -> int:
    """About what the copy will take (a folder: its files' sizes)."""
    if original.is_dir():
        return sum(entry.stat(follow_symlinks=False).st_size for entry in os.scandir(original))
    return original.stat().st_size


def _copy_file(original: Path, copy: Path, digest: Any) -> int:
    """The file named by the user (a regular file: a final link is not followed) copied and hashed."""
    with _files.open_entry(original) as source:
        return _copy_stream(source, copy, digest)


def _copy_stream(source: IO[bytes], copy: Path, digest: Any) -> int:
    """`source` written into the new private file `copy`, fed to `digest` on the way; bytes copied."""
    size = 0
    with os.fdopen(_files.create_private(copy), "wb") as sink:
        while chunk := source.read(_CHUNK):
            digest.update(chunk)
            sink.write(chunk)
            size += len(chunk)
    return size


def _copy_folder(original: Path, copy: Path, digest: Any) -> int:
    """A directory-format backup copied entry by entry from its open folder (no link followed, in the
    folder or on the way to a file), hashed as `sha256_of_path` hashes a folder: each file's name and
    bytes, sorted by name. A link, a special file or a hard link in it is refused (a pg_dump folder
    holds plain files only)."""
    folder = os.open(original, os.O_RDONLY | _DIRECTORY | _files.NO_FOLLOW)
    try:
        os.mkdir(copy, PRIVATE_FOLDER)
        size = 0
        for name in sorted(os.listdir(folder)):
            digest.update(name.encode() + b"\0")
            with _folder_entry(folder, original / name) as source:
                size += _copy_stream(source, copy / name, digest)
        return size
    finally:
        os.close(folder)


def _folder_entry(folder: int, path: Path) -> IO[bytes]:
    """The entry `path.name` of the open `folder`, opened without following a link, checked on the
    open file to be a regular file (dump/files.open_folder_entry) with one name."""
    source = _files.open_folder_entry(folder, path, _not_ours)
    links = os.fstat(source.fileno()).st_nlink
    if links > 1:
        source.close()
        raise DumpInputError(_not_ours(path, f"a hard link ({links} names for one file)"))
    return source


def _not_ours(path: Path, why: str) -> str:
    return (
        f"{shown(str(path))}: {shown(why)}, not a file of the directory-format backup: nothing was "
        "restored; a pg_dump folder holds plain files only, take a new backup"
    )


def _copy_manifest(original: Path, copy: Path) -> Path | None:
    """The manifest beside `original`, if there is one, copied beside `copy` (read as `Manifest.read`
    reads it: a link, a special file or someone else's file at its name is refused)."""
    beside = manifest_path(original)
    if not os.path.lexists(beside):
        return None
    with _files.open_entry(beside, _files.owners_of(beside.parent)) as source:
        _copy_stream(source, manifest_path(copy), hashlib.sha256())
    return manifest_path(copy)
