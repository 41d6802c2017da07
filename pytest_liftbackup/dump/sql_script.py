"""Split a plain pg_dump script into statements, COPY blocks and psql meta-commands, streaming.

Hand-written because no library fits: sqlglot and sqlparse parse SQL but not psql scripts (they
know neither backslash meta-commands nor inline `COPY ... FROM stdin` data), and both need the
whole text in memory. This lexer follows psql's own rules for where a statement ends
(quotes, E'' strings, dollar quotes, nested comments) and where a meta-command starts (a
backslash outside any quote), reads bytes line by line so memory stays constant, and never
executes anything: it only says what is there.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO

TRAILER = b"-- PostgreSQL database dump complete"
MAX_LINE = 256 << 20  # longer lines are refused: reading one costs its length in memory

# psql meta-commands that pg_dump itself writes; every other one is refused.
UNDERSTOOD_META = frozenset({"connect", "c", "restrict", "unrestrict"})

# The arguments pg_dump writes: `\\restrict KEY` / `\\unrestrict KEY` (letters and digits), and
# `\\connect DBNAME`, `\\connect -reuse-previous=on "dbname='NAME'"` (pg_dump -C). Anything else,
# a backtick (psql runs it as a shell command) or a backslash (a second meta-command) above all, is
# refused: the plugin never runs meta-commands, but psql, the reference restore, would.
_RESTRICT_KEY = re.compile(r"[A-Za-z0-9]{1,256}")
_CONNECT_NAME = r"""(?:[A-Za-z_][A-Za-z0-9_$]*|"(?:[^"]|"")+")"""
_CONNECT_ARGS = re.compile(
    rf"""(?:-reuse-previous=on +"dbname='(?:[^'"]|'')+'"|{_CONNECT_NAME}(?: +{_CONNECT_NAME})?)"""
)
_NORMAL_SPECIAL = re.compile(rb"""['"$;\\]|--|/\*""")
_DOLLAR_TAG = re.compile(rb"\$(?:[A-Za-z_\x80-\xff][A-Za-z_0-9\x80-\xff]*)?\$")
_IDENT_CHAR = re.compile(rb"[A-Za-z_0-9\x80-\xff$]")
_META_NAME = re.compile(rb"\\([A-Za-z]+|[^A-Za-z\s])?")
_TOC_HEADER = re.compile(
    rb"^-- (?:Data for )?Name: (.*?); Type: (.*?); Schema: (.*?); Owner:(?: (.*?))?(?:; Tablespace:.*)?$"
)
_EQUOTE_SPECIAL = re.compile(rb"\\.|''|'", re.DOTALL)
_BLOCK_SPECIAL = re.compile(rb"/\*|\*/")
_COPY_FROM_STDIN = re.compile(rb"^\s*COPY\b.*\bFROM\s+stdin\b", re.IGNORECASE | re.DOTALL)


@dataclass(frozen=True)
class TocEntry:
    """pg_dump's `-- Name: ...; Type: ...` comment above each object: names what a statement restores."""

    name: str
    type: str
    schema: str
    owner: str

    def __str__(self) -> str:
        where = f"{self.schema}." if self.schema not in ("-", "") else ""
        return f"{self.type} {where}{self.name}"


@dataclass
class Statement:
    sql: bytes
    line: int
    entry: TocEntry | None

    @property
    def is_copy_from_stdin(self) -> bool:
        return bool(_COPY_FROM_STDIN.match(self.sql))


@dataclass
class CopyBlock:
    """A `COPY ... FROM stdin;` statement; `data` yields its rows' bytes until the `\\.` line.

    `start` and `end` are the byte offsets of the rows in the (decompressed) script: `end` is known
    once the rows are read. A restore hands the span to another connection, which reads it itself.
    """

    statement: Statement
    start: int
    end: int = -1
    lines: int = 0
    data: Iterator[bytes] = field(repr=False, default_factory=lambda: iter(()))


@dataclass(frozen=True)
class MetaCommand:
    name: str
    args: str
    line: int


Event = Statement | CopyBlock | MetaCommand


def meta_arguments_refused(meta: MetaCommand) -> str | None:
    """Why the arguments of one of pg_dump's own meta-commands are not what pg_dump writes, or None."""
    args = meta.args
    if "`" in args:
        return "a backtick, which psql runs as a shell command"
    if "\\" in args:
        return "a backslash, which starts another meta-command"
    if meta.name in ("restrict", "unrestrict"):
        return None if _RESTRICT_KEY.fullmatch(args) else "a key that is not letters and digits"
    if meta.name in ("connect", "c"):
        return None if _CONNECT_ARGS.fullmatch(args) else "not a plain database name"
    return None


class ScriptSyntaxError(Exception):
    """The script ends inside a quote, comment or COPY block: it was cut short."""

    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.line = line


class LineTooLong(ScriptSyntaxError):
    """A line or statement longer than the reader's `max_line`: refused before it fills memory."""


class SqlScript:
    """Events of one plain dump, read once from a binary stream.

    After iteration, `complete` says whether pg_dump's trailer was seen and `lines` how many
    lines were read. With `known_copies` (start offset -> the block, from an earlier pass over the
    same seekable text), COPY rows are not read at all: the stream seeks past them.
    """

    def __init__(
        self, stream: IO[bytes], known_copies: dict[int, CopyBlock] | None = None, max_line: int = MAX_LINE
    ) -> None:
        self._stream = stream
        self.max_line = max_line
        self._known = known_copies or {}
        self.lines = 0
        self.offset = 0
        self.complete = False

    def _readline(self) -> bytes:
        line = self._stream.readline(self.max_line + 1)
        if line:
            self.lines += 1
            self.offset += len(line)
            if len(line) > self.max_line:
                raise LineTooLong(
                    f"line {self.lines} is longer than {self.max_line >> 20} MiB; no pg_dump line of a "
                    "restorable size is, so the file is damaged or crafted",
                    self.lines,
                )
        return line

    def _copy_data(self, block: CopyBlock) -> Iterator[bytes]:
        start_line = self.lines
        while True:
            at = self.offset
            line = self._readline()
            if not line:
                raise ScriptSyntaxError(
                    f"the COPY data that starts at line {start_line} is cut short: "
                    "the file ends before its \\. terminator",
                    self.lines,
                )
            if line.rstrip(b"\r\n") == b"\\.":
                block.end, block.lines = at, self.lines - start_line - 1
                return
            yield line

    def _skip_copy_data(self, known: CopyBlock) -> None:
        self._stream.seek(known.end)
        self.offset = known.end
        self.lines += known.lines
        terminator = self._readline()
        if terminator.rstrip(b"\r\n") != b"\\.":
            raise ScriptSyntaxError("the file changed since it was scanned", self.lines)

    def __iter__(self) -> Iterator[Event]:
        buf = bytearray()
        in_statement = False
        start_line = 0
        entry: TocEntry | None = None
        state = "normal"  # normal | squote | equote | dquote | dollar | block
        dollar_tag = b""
        depth = 0
        while True:
            line = self._readline()
            if not line:
                break
            if len(buf) > self.max_line:
                raise LineTooLong(
                    f"the statement that starts at line {start_line} is longer than "
                    f"{self.max_line >> 20} MiB; the file is damaged or crafted",
                    self.lines,
                )
            if state == "normal" and not in_statement:
                stripped = line.strip()
                if not stripped:
                    continue
                if stripped.startswith(b"--"):
                    if stripped == TRAILER:
                        self.complete = True
                    header = _TOC_HEADER.match(stripped)
                    if header:
                        entry = TocEntry(
                            *((part or b"").decode("utf-8", "replace") for part in header.groups())
                        )
                    continue
                start_line = self.lines
                in_statement = True
            pos = 0
            n = len(line)
            while pos < n:
                if state == "normal":
                    m = _NORMAL_SPECIAL.search(line, pos)
                    if m is None:
                        buf += line[pos:]
                        pos = n
                        break
                    tok = m.group()
                    at = m.start()
                    if tok == b";":
                        buf += line[pos : at + 1]
                        pos = at + 1
                        stmt = Statement(bytes(buf).strip(), start_line, entry)
                        buf.clear()
                        in_statement = False
                        if stmt.is_copy_from_stdin:
                            # The rest of this line is ignored by psql too for COPY FROM stdin.
                            known = self._known.get(self.offset)
                            if known is not None:
                                yield CopyBlock(stmt, known.start, known.end, known.lines)
                                self._skip_copy_data(known)
                            else:
                                block = CopyBlock(stmt, self.offset)
                                block.data = self._copy_data(block)
                                yield block
                                for _ in block.data:  # skip rows the consumer did not read
                                    pass
                            pos = n
                            break
                        yield stmt
                        rest = line[pos:].strip()
                        if not rest or rest.startswith(b"--"):
                            pos = n
                        else:
                            start_line = self.lines
                            in_statement = True
                        continue
                    if tok == b"\\":
                        name_match = _META_NAME.match(line, at)
                        name = (name_match.group(1) or b"").decode("utf-8", "replace") if name_match else ""
                        end = name_match.end() if name_match else at + 1
                        args = line[end:].strip().decode("utf-8", "replace")
                        buf += line[pos:at]
                        yield MetaCommand(name, args, self.lines)
                        entry = None  # what follows \connect belongs to no TOC entry until the next header
                        pos = n
                        if not bytes(buf).strip():
                            buf.clear()
                            in_statement = False
                        break
                    if tok == b"--":
                        buf += line[pos:]
                        pos = n
                        break
                    buf += line[pos : m.end()]
                    pos = m.end()
                    if tok == b"'":
                        prev = line[at - 1 : at]
                        before = line[at - 2 : at - 1] if at >= 2 else b""
                        escaped = prev in (b"E", b"e") and not (before and _IDENT_CHAR.match(before))
                        state = "equote" if escaped else "squote"
                    elif tok == b'"':
                        state = "dquote"
                    elif tok == b"/*":
                        state, depth = "block", 1
                    elif tok == b"$":
                        prev = line[at - 1 : at]
                        if prev and _IDENT_CHAR.match(prev):
                            continue  # part of an identifier such as a$b
                        tag = _DOLLAR_TAG.match(line, at)
                        if tag:
                            dollar_tag = tag.group()
                            buf += line[pos : tag.end()]
                            pos = tag.end()
                            state = "dollar"
                elif state in ("squote", "dquote"):
                    quote = b"'" if state == "squote" else b'"'
                    at = line.find(quote, pos)
                    if at < 0:
                        buf += line[pos:]
                        pos = n
                        break
                    if line[at + 1 : at + 2] == quote:  # doubled quote stays inside
                        buf += line[pos : at + 2]
                        pos = at + 2
                        continue
                    buf += line[pos : at + 1]
                    pos = at + 1
                    state = "normal"
                elif state == "equote":
                    m = _EQUOTE_SPECIAL.search(line, pos)
                    if m is None:
                        buf += line[pos:]
                        pos = n
                        break
                    buf += line[pos : m.end()]
                    pos = m.end()
                    if m.group() == b"'":
                        state = "normal"
                elif state == "dollar":
                    at = line.find(dollar_tag, pos)
                    if at < 0:
                        buf += line[pos:]
                        pos = n
                        break
                    buf += line[pos : at + len(dollar_tag)]
                    pos = at + len(dollar_tag)
                    state = "normal"
                else:  # block comment, nested as in PostgreSQL
                    m = _BLOCK_SPECIAL.search(line, pos)
                    if m is None:
                        buf += line[pos:]
                        pos = n
                        break
                    buf += line[pos : m.end()]
                    pos = m.end()
                    depth += 1 if m.group() == b"/*" else -1
                    if depth == 0:
                        state = "normal"
        if state != "normal":
            kind = {
                "squote": "a quoted string",
                "equote": "a quoted string",
                "dquote": "a quoted identifier",
                "dollar": f"a {dollar_tag.decode('utf-8', 'replace')} quoted body",
                "block": "a /* comment */",
            }[state]
            raise ScriptSyntaxError(
                f"the file ends inside {kind} that starts at line {start_line}", self.lines
            )
        if in_statement and bytes(buf).strip():
            raise ScriptSyntaxError(
                f"the file ends inside a statement that starts at line {start_line} (no closing ;)",
                self.lines,
            )
