"""What a dump file is, from its content: format, compression and the header facts pg_dump wrote."""

from __future__ import annotations

import gzip
import hashlib
import io
import queue
import re
import tarfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from pytest_liftbackup._errors import DumpInputError, Given, Setting
from pytest_liftbackup.dump import files as _files
from pytest_liftbackup.dump.archive_header import MAGIC, ArchiveHeaderError, read_archive_header
from pytest_liftbackup.dump.locate import LocatedDump, database_from_name

_GZIP, _ZSTD, _LZ4 = b"\x1f\x8b", b"\x28\xb5\x2f\xfd", b"\x04\x22\x4d\x18"
_PLAIN_MARK = b"-- PostgreSQL database dump"
_FROM_VERSION = re.compile(rb"^-- Dumped from database version (\S+)", re.MULTILINE)
_BY_VERSION = re.compile(rb"^-- Dumped by pg_dump version (\S+)", re.MULTILINE)
_CREATE_DATABASE = re.compile(rb'^CREATE DATABASE ("(?:[^"]|"")[^"]*(?:""[^"]*)*"|\w+)', re.MULTILINE)
_HEAD_BYTES = 64 * 1024

_KNOWN_BINARY = {
    b"\x89PNG": "a PNG image",
    b"%PDF": "a PDF document",
    b"PK\x03\x04": "a zip archive",
    b"\xff\xd8\xff": "a JPEG image",
    b"SQLite format 3": "an SQLite database",
    b"BZh": "a bzip2 file (decompress it first)",
    b"\xfd7zXZ": "an xz file (decompress it first)",
}


@dataclass
class DumpInfo:
    """Header facts of one dump, shown in the report and given to tests as `liftbackup_dump.info`."""

    path: Path
    id: str
    format: str  # plain | custom | directory | tar | directory (in tarball)
    compression: str  # none | gzip | zstd | lz4 (outside the archive) or the archive's own
    size: int
    pg_dump_version: str | None
    server_version: str | None
    database: str | None
    created: str | None = None
    database_from: str = "dump"  # where `database` comes from: "dump", or "file name" (a guess)
    how: str = "given"
    sha256: str | None = None
    extras: dict[str, Any] = field(default_factory=dict)
    encrypted: Path | None = None  # `path` is the decrypted copy of this age-encrypted file

    @property
    def given(self) -> Path:
        """The file the user named: what reports show and pytest's node ids are made of."""
        return self.encrypted or self.path

    @property
    def name(self) -> str:
        return self.given.name

    @property
    def integrity(self) -> str:
        """What notices a damaged byte in the data: a checksum of the compression, or nothing. Without
        one, a flipped bit in a value restores as another value; only a manifest's sha256 tells."""
        outer = self.extras.get("outer", "none")
        if outer != "none":
            return {"gzip": "gzip CRC-32"}.get(outer) or (
                f"{outer} content checksum" if self.extras.get("outer_checksum") else "none"
            )
        if self.compression == "gzip":  # inside an archive: zlib streams, Adler-32 each
            return "zlib Adler-32 per data block"
        return "none"

    @property
    def is_plain(self) -> bool:
        return self.format == "plain"

    @property
    def required_major(self) -> int | None:
        """The oldest PostgreSQL major that can restore it: that of the pg_dump that wrote it."""
        majors = [m for m in (major_of(self.pg_dump_version), major_of(self.server_version)) if m]
        return max(majors) if majors else None


def major_of(version: str | None) -> int | None:
    """15 from '15.4', '15beta2' or '15.18 (Debian ...)'; 9 from '9.6.24' (kept simple: pre-10 is 9)."""
    if not version:
        return None
    match = re.match(r"(\d+)", version)
    return int(match.group(1)) if match else None


def _decompressor(path: Path, compression: str) -> IO[bytes]:
    raw: IO[bytes] = _files.open_entry(path)  # handed to the decompressor, closed with it
    if compression == "gzip":
        return gzip.GzipFile(fileobj=raw)  # type: ignore[return-value]
    if compression == "zstd":
        import zstandard

        return zstandard.ZstdDecompressor().stream_reader(raw, closefd=True)
    if compression == "lz4":
        import lz4.frame

        return lz4.frame.open(raw, "rb")  # type: ignore[no-any-return]
    return raw


def _compression_of(head: bytes) -> str:
    for magic, name in ((_GZIP, "gzip"), (_ZSTD, "zstd"), (_LZ4, "lz4")):
        if head.startswith(magic):
            return name
    return "none"


def _frame_checksum(head: bytes) -> bool:
    """Whether a zstd or lz4 frame carries a checksum of its content (both are optional)."""
    if head.startswith(_ZSTD) and len(head) > 4:
        return bool(head[4] & 0x04)  # Frame_Header_Descriptor: Content_Checksum_flag
    if head.startswith(_LZ4) and len(head) > 4:
        return bool(head[4] & 0x04)  # FLG: C.Checksum
    return False


def _is_tar(head: bytes) -> bool:
    return len(head) >= 262 and head[257:262] == b"ustar"


def inspect_dump(located: LocatedDump, dump_id: str) -> DumpInfo:
    """Detect the format from content (never from the extension) and read the header facts."""
    path = located.path
    if path.is_dir():
        return _inspect_directory(path, located, dump_id)
    size = path.stat().st_size
    if size == 0:
        raise DumpInputError(f"{path}: the file is empty; the backup job wrote nothing, check its log")
    with _files.open_entry(path) as raw:
        outer = raw.read(8)
    checksum = _frame_checksum(outer)
    if outer == b"age-encr":
        raise DumpInputError(
            f"{path}: an encrypted backup (age); pass the identity file that decrypts it with ",
            Given(Setting.IDENTITY, "FILE"),
        )
    compression = _compression_of(outer)
    try:
        with _decompressor(path, compression) as stream:
            head = stream.read(_HEAD_BYTES)
    except Exception as exc:  # OSError/EOFError from gzip; zstandard and lz4 raise their own types
        raise DumpInputError(f"{path}: the {compression} data is corrupt or cut short ({exc})") from None
    common: dict[str, Any] = {"path": path, "id": dump_id, "size": size, "how": located.how}
    if head.startswith(MAGIC):
        header = read_archive_header(io.BytesIO(head))
        return DumpInfo(
            format="custom",
            compression=compression if compression != "none" else header.compression,
            pg_dump_version=header.pg_dump_version,
            server_version=header.server_version,
            database=header.database,
            created=header.created,
            extras={
                "archive_version": ".".join(map(str, header.archive_version)),
                "outer": compression,
                "outer_checksum": checksum,
            },
            **common,
        )
    if _is_tar(head):
        return _inspect_tar(path, compression, common)
    if _PLAIN_MARK in head[:4096] and b"\x00" not in head:
        from_v, by_v, created_db = (
            _FROM_VERSION.search(head),
            _BY_VERSION.search(head),
            _CREATE_DATABASE.search(head),
        )
        database = created_db.group(1).decode().strip('"') if created_db else database_from_name(path.name)
        return DumpInfo(
            database_from="dump" if created_db else "file name",
            format="plain",
            compression=compression,
            pg_dump_version=by_v.group(1).decode() if by_v else None,
            server_version=from_v.group(1).decode() if from_v else None,
            database=database,
            extras={"outer": compression, "outer_checksum": checksum},
            **common,
        )
    raise DumpInputError(f"{path}: not a pg_dump backup ({_describe(head)}); pass a file written by pg_dump")


def _describe(head: bytes) -> str:
    for magic, what in _KNOWN_BINARY.items():
        if head.startswith(magic):
            return f"it is {what}"
    if b"\x00" in head[:4096]:
        return "it holds binary data"
    try:
        head[:4096].decode("utf-8")
    except UnicodeDecodeError:
        return "it holds binary data"
    return "it is text without the '-- PostgreSQL database dump' header pg_dump writes"


def _inspect_directory(path: Path, located: LocatedDump, dump_id: str) -> DumpInfo:
    toc = path / "toc.dat"
    try:
        with _files.open_entry(toc) as stream:
            header = read_archive_header(stream)
    except ArchiveHeaderError as exc:
        raise DumpInputError(f"{toc}: not a pg_dump directory-format archive ({exc})") from None
    size = sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return DumpInfo(
        path=path,
        id=dump_id,
        format="directory",
        compression=header.compression,
        size=size,
        pg_dump_version=header.pg_dump_version,
        server_version=header.server_version,
        database=header.database,
        created=header.created,
        how=located.how,
        extras={"archive_version": ".".join(map(str, header.archive_version)), "outer": "none"},
    )


def _inspect_tar(path: Path, compression: str, common: dict[str, Any]) -> DumpInfo:
    """A pg_dump tar (toc.dat at the top) or a tarball that wraps a directory-format dump."""
    try:
        with _decompressor(path, compression) as stream, tarfile.open(fileobj=stream, mode="r|") as tar:
            for member in tar:
                parts = Path(member.name).parts
                if parts and parts[-1] == "toc.dat" and member.isfile() and len(parts) <= 2:
                    extracted = tar.extractfile(member)
                    assert extracted is not None
                    header = read_archive_header(extracted)
                    wrapped = len(parts) == 2
                    return DumpInfo(
                        format="directory (in tarball)" if wrapped else "tar",
                        compression=compression if compression != "none" else header.compression,
                        pg_dump_version=header.pg_dump_version,
                        server_version=header.server_version,
                        database=header.database,
                        created=header.created,
                        extras={
                            "archive_version": ".".join(map(str, header.archive_version)),
                            "outer": compression,
                            "toc_member": member.name,
                        },
                        **common,
                    )
    except (tarfile.TarError, OSError, EOFError, ArchiveHeaderError) as exc:
        raise DumpInputError(f"{path}: a tar file that cannot be read as a pg_dump archive ({exc})") from None
    raise DumpInputError(
        f"{path}: a tar file without toc.dat, so neither a pg_dump tar archive nor a directory-format dump"
    )


class _HashingReader(io.RawIOBase):
    """Passes a file through, feeding every byte read to sha256: hashing costs no extra pass. The
    hashing runs in a thread of its own (hashlib lets go of the GIL), beside the scan that reads:
    0.35 s of a 319 MB dump's 0.9 s scan here. `close()` waits for it: the digest is whole then."""

    def __init__(self, raw: IO[bytes], digest: Any) -> None:
        self._raw = raw
        self._digest = digest
        self._chunks: queue.Queue[bytes | None] = queue.Queue(maxsize=8)  # at most 8 MiB in flight
        self._hasher = threading.Thread(target=self._hash, name="liftbackup-sha256", daemon=True)
        self._hasher.start()

    def _hash(self) -> None:
        while (chunk := self._chunks.get()) is not None:
            self._digest.update(chunk)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        n = self._raw.readinto(buffer)  # type: ignore[attr-defined]
        if n:
            self._chunks.put(bytes(memoryview(buffer)[:n]))  # the buffer is the reader's, reused
        return int(n or 0)

    def close(self) -> None:
        if not self.closed:
            self._chunks.put(None)
            self._hasher.join()
        self._raw.close()
        super().close()


@contextmanager
def open_plain(info: DumpInfo, digest: Any | None = None) -> Iterator[IO[bytes]]:
    """The decompressed SQL text of a plain dump, as a buffered binary stream (constant memory)."""
    raw: IO[bytes] = _files.open_entry(info.path)  # closed below
    if digest is not None:
        raw = io.BufferedReader(_HashingReader(raw, digest), 1 << 20)
    compression = info.extras.get("outer", "none")
    try:
        if compression == "gzip":
            stream: IO[bytes] = gzip.GzipFile(fileobj=raw)  # type: ignore[assignment]
        elif compression == "zstd":
            import zstandard

            stream = io.BufferedReader(zstandard.ZstdDecompressor().stream_reader(raw), 1 << 20)
        elif compression == "lz4":
            import lz4.frame

            stream = lz4.frame.open(raw, "rb")
        else:
            stream = raw if digest is not None else io.BufferedReader(raw, 1 << 20)  # type: ignore[type-var]
        yield stream
    finally:
        raw.close()


def _regular(path: Path) -> bool:
    return path.is_file() and not path.is_symlink()


def sha256_of_path(path: Path) -> str:
    """sha256 of a file, or of a directory dump (each file's relative name and bytes, sorted by name)."""
    digest = hashlib.sha256()
    # In a directory dump, links are left to the archive check, which refuses them by name.
    files = sorted(p for p in path.rglob("*") if _regular(p)) if path.is_dir() else [path]
    for file in files:
        if path.is_dir():
            digest.update(file.relative_to(path).as_posix().encode() + b"\0")
        with _files.open_entry(file) as stream:
            while chunk := stream.read(1 << 20):
                digest.update(chunk)
    return digest.hexdigest()
