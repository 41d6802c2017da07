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
from collections.abc import Generator, Iterator
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
_COPY_FROM_STDIN = re.compile(rb"COPY\b.*\bFROM\s+stdin\b", re.IGNORECASE | re.DOTALL)


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
        return bool(_COPY_FROM_STDIN.match(self.sql, skip_comments(self.sql)))


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


def identifier(raw: str) -> str:
    """An SQL identifier as PostgreSQL reads it: a quoted one unquoted, any other folded to lower case."""
    return raw[1:-1].replace('""', '"') if raw.startswith('"') else raw.lower()


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
        buf = bytearray()  # the statement read so far
        quoting = _Quoting()
        self._in_statement = False
        self._start_line = 0
        self._entry: TocEntry | None = None
        while line := self._readline():
            if len(buf) > self.max_line:
                raise LineTooLong(
                    f"the statement that starts at line {self._start_line} is longer than "
                    f"{self.max_line >> 20} MiB; the file is damaged or crafted",
                    self.lines,
                )
            idle = not self._in_statement or _only_comments(bytes(buf))  # a /* comment */ starts nothing
            if quoting.state == "normal" and idle and self._between_statements(line):
                continue
            pos, n = 0, len(line)
            while pos < n:
                if quoting.state != "normal":
                    pos = quoting.skip(line, pos, buf)
                    continue
                m = _NORMAL_SPECIAL.search(line, pos)
                if m is None:
                    buf += line[pos:]
                    break
                tok, at = m.group(), m.start()
                if tok == b";":
                    buf += line[pos : at + 1]
                    pos = yield from self._statement_ends(buf, line, at + 1)
                elif tok == b"\\":
                    buf += line[pos:at]
                    yield self._meta_command(line, at)
                    if not bytes(buf).strip():
                        buf.clear()
                        self._in_statement = False
                    break
                elif tok == b"--":
                    ends = skip_comments(line, at)  # a \r ends the comment too, as psql's lexer has it
                    if not line[ends:].strip():
                        buf += line[pos:]
                        break
                    buf += line[pos:ends]
                    pos = ends
                else:
                    buf += line[pos : m.end()]
                    pos = quoting.opens(tok, line, at, m.end(), buf)
        if (inside := quoting.inside()) is not None:
            raise ScriptSyntaxError(
                f"the file ends inside {inside} that starts at line {self._start_line}", self.lines
            )
        if self._in_statement and not _only_comments(bytes(buf)):
            raise ScriptSyntaxError(
                f"the file ends inside a statement that starts at line {self._start_line} (no closing ;)",
                self.lines,
            )

    def _between_statements(self, line: bytes) -> bool:
        """A blank or comment line between statements (a TOC header names what follows): True when
        there is nothing to read in it; else the line starts a statement."""
        stripped = line.strip()
        if stripped.startswith(b"--") and skip_comments(stripped) == len(stripped):  # a \r ends it early
            if stripped == TRAILER:
                self.complete = True
            if header := _TOC_HEADER.match(stripped):
                self._entry = TocEntry(
                    *((part or b"").decode("utf-8", "replace") for part in header.groups())
                )
            return True
        if not stripped:
            return True
        self._start_line = self.lines
        self._in_statement = True
        return False

    def _statement_ends(self, buf: bytearray, line: bytes, pos: int) -> Generator[Event, None, int]:
        """The `;` before `pos` ends the statement in `buf`: yield it (with its COPY rows); returns
        where reading this line goes on (its end after COPY FROM stdin, whose rows start below)."""
        statement = Statement(bytes(buf).strip(), self._start_line, self._entry)
        buf.clear()
        self._in_statement = False
        if statement.is_copy_from_stdin:  # psql ignores the rest of this line too
            known = self._known.get(self.offset)
            if known is not None:
                yield CopyBlock(statement, known.start, known.end, known.lines)
                self._skip_copy_data(known)
            else:
                block = CopyBlock(statement, self.offset)
                block.data = self._copy_data(block)
                yield block
                for _ in block.data:  # skip rows the consumer did not read
                    pass
            return len(line)
        yield statement
        rest = line[pos:].strip()
        if not rest or rest.startswith(b"--"):
            return len(line)
        self._start_line = self.lines
        self._in_statement = True
        return pos

    def _meta_command(self, line: bytes, at: int) -> MetaCommand:
        """The psql meta-command at `at` (the rest of the line is its arguments)."""
        name_match = _META_NAME.match(line, at)
        name = (name_match.group(1) or b"").decode("utf-8", "replace") if name_match else ""
        end = name_match.end() if name_match else at + 1
        self._entry = None  # what follows \\connect belongs to no TOC entry until the next header
        return MetaCommand(name, line[end:].strip().decode("utf-8", "replace"), self.lines)


def skip_comments(text: bytes, pos: int = 0) -> int:
    """Where the first token after `pos` starts, past blanks, `--` comments (which end at a line
    break, \\r included, as in PostgreSQL's lexer) and nested /* comments */."""
    n = len(text)
    while pos < n:
        if text[pos : pos + 1].isspace():
            pos += 1
        elif text.startswith(b"--", pos):
            ends = [at for at in (text.find(b"\n", pos), text.find(b"\r", pos)) if at >= 0]
            pos = min(ends) + 1 if ends else n
        elif text.startswith(b"/*", pos):
            depth, pos = 1, pos + 2
            while depth and (m := _BLOCK_SPECIAL.search(text, pos)):
                depth += 1 if m.group() == b"/*" else -1
                pos = m.end()
            if depth:
                return pos
        else:
            return pos
    return n


def _only_comments(text: bytes) -> bool:
    """Whether what is left at the end holds nothing but comments and blanks: psql sends it, and the
    server runs nothing (a file may end with a /* comment */ that no ; follows)."""
    return skip_comments(text) == len(text)


class _Quoting:
    """Where a statement stands, across lines: in a quoted string or identifier, a dollar-quoted
    body or a (nested) block comment, where `;` and `\\` mean nothing; else "normal"."""

    def __init__(self) -> None:
        self.state = "normal"  # normal | squote | equote | dquote | dollar | block
        self._tag = b""
        self._depth = 0

    def inside(self) -> str | None:
        """What the statement is inside of, for an error at the end of the file; None when nothing."""
        return {
            "normal": None,
            "squote": "a quoted string",
            "equote": "a quoted string",
            "dquote": "a quoted identifier",
            "dollar": f"a {self._tag.decode('utf-8', 'replace')} quoted body",
            "block": "a /* comment */",
        }[self.state]

    def opens(self, tok: bytes, line: bytes, at: int, pos: int, buf: bytearray) -> int:
        """`tok` (a quote, `$` or `/*`, at `at`, already in `buf`) may open a quoted part: returns
        where reading goes on."""
        if tok == b"'":
            prev, before = line[at - 1 : at], line[at - 2 : at - 1] if at >= 2 else b""
            escaped = prev in (b"E", b"e") and not (before and _IDENT_CHAR.match(before))
            self.state = "equote" if escaped else "squote"
        elif tok == b'"':
            self.state = "dquote"
        elif tok == b"/*":
            self.state, self._depth = "block", 1
        elif tok == b"$":
            prev = line[at - 1 : at]
            if prev and _IDENT_CHAR.match(prev):
                return pos  # part of an identifier such as a$b
            if tag := _DOLLAR_TAG.match(line, at):
                self._tag = tag.group()
                buf += line[pos : tag.end()]
                self.state = "dollar"
                return tag.end()
        return pos

    def skip(self, line: bytes, pos: int, buf: bytearray) -> int:
        """Copy the quoted part from `pos` into `buf`, up to where it closes (back to normal) or the
        end of the line; returns where reading goes on."""
        if self.state in ("squote", "dquote"):
            quote = b"'" if self.state == "squote" else b'"'
            at = line.find(quote, pos)
            if at < 0:
                buf += line[pos:]
                return len(line)
            if line[at + 1 : at + 2] == quote:  # doubled quote stays inside
                buf += line[pos : at + 2]
                return at + 2
            buf += line[pos : at + 1]
            self.state = "normal"
            return at + 1
        if self.state == "dollar":
            at = line.find(self._tag, pos)
            if at < 0:
                buf += line[pos:]
                return len(line)
            buf += line[pos : at + len(self._tag)]
            self.state = "normal"
            return at + len(self._tag)
        special = _EQUOTE_SPECIAL if self.state == "equote" else _BLOCK_SPECIAL
        m = special.search(line, pos)
        if m is None:
            buf += line[pos:]
            return len(line)
        buf += line[pos : m.end()]
        if self.state == "equote":
            if m.group() == b"'":
                self.state = "normal"
        else:  # block comments nest, as in PostgreSQL
            self._depth += 1 if m.group() == b"/*" else -1
            if self._depth == 0:
                self.state = "normal"
        return m.end()
