"""Read the header of a pg_dump archive (custom `-F c`, or `toc.dat` of directory and tar formats).

Hand-written because no Python library reads pg_dump's archive format; the layout follows
PostgreSQL's `ReadHead()` in pg_backup_archiver.c: magic, format version, integer and offset
sizes, format, compression, creation time, database name, server and pg_dump versions.
Only the header is read here; `dump/archive_toc` goes on to the table of contents with the same reader.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import IO

MAGIC = b"PGDMP"
_FORMATS = {1: "custom", 3: "tar", 5: "directory"}
_COMPRESSION = {0: "none", 1: "gzip", 2: "lz4", 3: "zstd"}


class ArchiveHeaderError(Exception):
    pass


@dataclass(frozen=True)
class ArchiveHeader:
    archive_version: tuple[int, int, int]
    format: str
    compression: str
    created: str | None
    database: str | None
    server_version: str | None
    pg_dump_version: str | None
    int_size: int = 4
    offset_size: int = 8


class Reader:
    def __init__(self, stream: IO[bytes]) -> None:
        self._stream = stream
        self.int_size = 4

    def byte(self) -> int:
        data = self._stream.read(1)
        if not data:
            raise ArchiveHeaderError("the archive header is cut short")
        return data[0]

    def int(self) -> int:
        sign = self.byte()
        data = self._stream.read(self.int_size)
        if len(data) != self.int_size:
            raise ArchiveHeaderError("the archive header is cut short")
        value = int.from_bytes(data, "little")
        return -value if sign else value

    def str(self) -> str | None:
        length = self.int()
        if length < 0:
            return None
        if length > 1 << 20:
            raise ArchiveHeaderError("the archive header holds an implausible string length")
        data = self._stream.read(length)
        if len(data) != length:
            raise ArchiveHeaderError("the archive header is cut short")
        return data.decode("utf-8", "replace")

    def skip_str(self) -> bool:
        """Pass over a string of any length (a table of contents' SQL) without keeping it; False for NULL."""
        length = self.int()
        while length > 0:
            chunk = self._stream.read(min(length, 1 << 20))
            if not chunk:
                raise ArchiveHeaderError("the archive's table of contents is cut short")
            length -= len(chunk)
        return length == 0


def read_archive_header(stream: IO[bytes]) -> ArchiveHeader:
    """The header; `stream` is left where the table of contents starts."""
    if stream.read(5) != MAGIC:
        raise ArchiveHeaderError("no PGDMP signature")
    r = Reader(stream)
    vmaj, vmin = r.byte(), r.byte()
    vrev = r.byte() if (vmaj, vmin) > (1, 0) else 0
    version = (vmaj, vmin, vrev)
    if version < (1, 10, 0):
        raise ArchiveHeaderError(f"archive format {vmaj}.{vmin} is older than pg_dump 8.4 and not supported")
    r.int_size = r.byte()
    if not 1 <= r.int_size <= 32:
        raise ArchiveHeaderError("the archive header is corrupt (integer size)")
    offset_size = r.byte()
    fmt = _FORMATS.get(r.byte(), "unknown")
    if version >= (1, 15, 0):
        compression = _COMPRESSION.get(r.byte(), "unknown")
    else:
        level = r.int()
        compression = "none" if level == 0 else "gzip"  # -1: zlib's default level, still gzip
    sec, minute, hour, mday, mon, year, _isdst = (r.int() for _ in range(7))
    created = f"{year + 1900:04d}-{mon + 1:02d}-{mday:02d} {hour:02d}:{minute:02d}:{sec:02d}"
    database = r.str()
    server_version = r.str()
    pg_dump_version = r.str()
    return ArchiveHeader(
        version, fmt, compression, created, database, server_version, pg_dump_version, r.int_size, offset_size
    )
