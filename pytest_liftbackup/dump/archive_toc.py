"""The files a directory-format archive will make pg_restore open, proved to stay inside the dump.

pg_restore opens whatever file name a TOC entry of `toc.dat` (or a line of a `blobs*.toc`) names,
relative to the dump folder: `../../etc/shadow` or an absolute path would be read and restored into
the database. So before anything runs, every name must be a plain file name, and every file in the
folder a regular file with one link (no symlink or hard link out of it). Hand-written because no
Python library reads pg_dump's table of contents; the layout follows PostgreSQL's `ReadToc()`.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pytest_liftbackup.dump.archive_header import (
    ArchiveHeader,
    ArchiveHeaderError,
    Reader,
    read_archive_header,
)

# What pg_dump writes: 1234.dat, blobs.toc, blobs_1234.toc, blob_16385.dat (pg_restore adds .gz...).
_PLAIN_NAME = re.compile(r"[A-Za-z0-9_]+(?:\.[A-Za-z0-9]+)*")
_SUFFIXES = ("", ".gz", ".lz4", ".zst")


class UnsafeArchive(Exception):
    """The archive names or holds a file outside itself: the sentence says which."""


@dataclass(frozen=True)
class TocFile:
    dump_id: int
    desc: str
    tag: str
    filename: str


_CHECK_EVERY = 4096  # entries read between two calls of `check`


def data_files(toc_path: Path, check: Callable[[], None] | None = None) -> list[TocFile]:
    """The data file each entry of a directory archive's toc.dat names (entries without one left out).

    Read in time linear in the file (definitions are skipped in chunks, never kept); `check` is called
    every few thousand entries and raises to stop (a time limit)."""
    with open(toc_path, "rb") as stream:
        header = read_archive_header(stream)
        try:
            return _entries(Reader(stream), header, check or (lambda: None))
        except (ArchiveHeaderError, UnicodeDecodeError, ValueError) as exc:
            raise UnsafeArchive(f"its table of contents cannot be read ({exc})") from None


def _entries(r: Reader, header: ArchiveHeader, check: Callable[[], None]) -> list[TocFile]:
    r.int_size = header.int_size
    version = header.archive_version
    files = []
    for number in range(r.int()):
        if number % _CHECK_EVERY == _CHECK_EVERY - 1:
            check()
        dump_id = r.int()
        r.int()  # had a data dumper
        r.skip_str()  # table oid
        r.skip_str()  # oid
        tag, desc = r.str() or "", r.str() or ""
        if version >= (1, 11, 0):
            r.int()  # section
        for _ in range(3):  # definition, drop and copy statements
            r.skip_str()
        r.skip_str()  # namespace
        r.skip_str()  # tablespace
        if version >= (1, 14, 0):
            r.skip_str()  # table access method
        if version >= (1, 16, 0):
            r.int()  # relkind
        r.skip_str()  # owner
        r.skip_str()  # "false": no WITH OIDS
        while r.skip_str():  # dependencies, up to a NULL
            pass
        filename = r.str()  # the directory format's extra TOC data
        if filename:
            files.append(TocFile(dump_id, desc, tag, filename))
    return files


def _check_name(name: str, where: str) -> None:
    if not _PLAIN_NAME.fullmatch(name):
        raise UnsafeArchive(f"{where} names the file {name!r}, not a plain file name inside the dump")


def _check_file(path: Path) -> None:
    st = os.lstat(path)
    if stat.S_ISLNK(st.st_mode):
        raise UnsafeArchive(f"{path.name} is a symbolic link (to {os.readlink(path)}); a dump has files only")
    if not stat.S_ISREG(st.st_mode):
        raise UnsafeArchive(f"{path.name} is not a regular file; a dump folder holds plain files only")
    if st.st_nlink != 1:
        raise UnsafeArchive(
            f"{path.name} has {st.st_nlink} hard links, so it may be a file from elsewhere on this machine; "
            "copy the dump folder (cp -r) and test the copy"
        )


def check_directory(folder: Path, check: Callable[[], None] | None = None) -> list[Path]:
    """Every file the archive in `folder` will open, each checked; UnsafeArchive naming the first bad one.

    `check` is called as the table of contents is read, to stop a long reading (`data_files`)."""
    for entry in folder.iterdir():
        _check_file(entry)
    wanted = [folder / "toc.dat"]
    for item in data_files(folder / "toc.dat", check):
        _check_name(item.filename, f"TOC entry {item.dump_id} ({item.desc} {item.tag})")
        present = [folder / (item.filename + s) for s in _SUFFIXES if (folder / (item.filename + s)).exists()]
        wanted += present
        if item.desc in ("BLOBS", "BLOB METADATA") and present:
            wanted += _blob_files(folder, present[0])
    return wanted


def _blob_files(folder: Path, blobs_toc: Path) -> list[Path]:
    """The large-object files a `blobs*.toc` names, one `OID FILENAME` line each."""
    found = []
    text = blobs_toc.read_bytes().decode("utf-8", "replace") if blobs_toc.suffix == ".toc" else ""
    for number, line in enumerate(text.splitlines(), 1):
        parts = line.split(" ", 1)
        if len(parts) != 2 or not parts[0].isdigit():
            raise UnsafeArchive(f"{blobs_toc.name}:{number} is not an 'OID FILENAME' line")
        _check_name(parts[1], f"{blobs_toc.name}:{number}")
        found += [folder / (parts[1] + s) for s in _SUFFIXES if (folder / (parts[1] + s)).exists()]
    return found
