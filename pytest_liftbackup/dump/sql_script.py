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
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from typing import IO

TRAILER = b"-- PostgreSQL database dump complete"
MAX_LINE = 256 << 20  # longer lines are refused: reading one costs its length in memory
CHECK_EVERY = 1 << 20  # bytes read, or tokens of one line lexed, between two calls of a reader's `check`

# psql meta-commands that pg_dump itself writes; every other one is refused.
UNDERSTOOD_META = frozenset({"connect", "c", "restrict", "unrestrict"})

# The arguments pg_dump writes: `\\restrict KEY` / `\\unrestrict KEY` (letters and digits), and
# `\\connect DBNAME`, `\\connect -reuse-previous=on "dbname='NAME'"` (pg_dump -C). Anything else,
# a backtick (psql runs it as a shell command) or a backslash (a second meta-command) above all, is
# refused: the plugin never runs meta-commands, but psql, the reference restore, would.
_RESTRICT_KEY = re.compile(r"[A-Za-z0-9]{1,256}")
# A database name is at most 63 bytes: arguments far longer are not pg_dump's (and re would need
# memory for each character of a long quoted name).
_MAX_META_ARGS = 1024
_CONNECT_NAME = r"""(?:[A-Za-z_][A-Za-z0-9_$]*|"(?:[^"]|"")[^"]*(?:""[^"]*)*")"""
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
_BLANKS = re.compile(rb"[ \t\n\r\x0b\x0c]*")  # what bytes.isspace() and bytes.strip() call blank
_LINE_BREAK = re.compile(rb"[\n\r]")
# Blanks and ended -- comments, a bounded number at a time: re keeps memory for each repetition of a group.
_SKIPPED = re.compile(rb"(?:[ \t\n\r\x0b\x0c]+|--[^\n\r]*[\n\r]){1,4096}")
_NOTHING_MORE = re.compile(rb"[ \t\n\r\x0b\x0c]*(?:--|\Z)")  # blanks, then a -- comment or the end
_TOC_PARTS = (b"; Type: ", b"; Schema: ", b"; Owner:")


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
        plain = len(args) <= _MAX_META_ARGS and _CONNECT_ARGS.fullmatch(args)
        return None if plain else "not a plain database name"
    return None


class ScriptSyntaxError(Exception):
    """The script ends inside a quote, comment or COPY block: it was cut short."""

    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.line = line


class LineTooLong(ScriptSyntaxError):
    """A line or statement longer than the reader's `max_line`: refused before it fills memory."""


class SqlScript:
    """Events of one plain dump, read once from a binary stream, in time linear in its size.

    After iteration, `complete` says whether pg_dump's trailer was seen and `lines` how many
    lines were read. With `known_copies` (start offset -> the block, from an earlier pass over the
    same seekable text), COPY rows are not read at all: the stream seeks past them. `check` is
    called about every `CHECK_EVERY` bytes or tokens: it raises to stop the reading (a time limit).
    """

    def __init__(
        self,
        stream: IO[bytes],
        known_copies: dict[int, CopyBlock] | None = None,
        max_line: int = MAX_LINE,
        check: Callable[[], None] | None = None,
    ) -> None:
        self._stream = stream
        self.max_line = max_line
        self._known = known_copies or {}
        self._check = check or (lambda: None)
        self._next_check = CHECK_EVERY
        self.lines = 0
        self.offset = 0
        self.complete = False

    def _readline(self) -> bytes:
        line = self._stream.readline(self.max_line + 1)
        if line:
            self.lines += 1
            self.offset += len(line)
            if self.offset >= self._next_check:
                self._next_check = self.offset + CHECK_EVERY
                self._check()
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
        self._leading = leading = _Leading()  # what buf holds, as each line is read
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
            if (
                quoting.state == "normal"
                and (not self._in_statement or leading.only_comments(buf))  # a /* comment */ starts nothing
                and self._between_statements(line)
            ):
                continue
            pos, n, ticks = 0, len(line), CHECK_EVERY
            while pos < n:
                ticks -= 1
                if not ticks:  # a long line of many tokens takes long too
                    ticks = CHECK_EVERY
                    self._check()
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
                    if leading.blank(buf):
                        buf.clear()
                        leading.reset()
                        self._in_statement = False
                    break
                elif tok == b"--":
                    ends = skip_comments(line, at, self._check)  # a \r ends it too, as in psql's lexer
                    buf += line[pos:ends]  # what follows is read on: all of it when it is blank
                    pos = ends
                else:
                    buf += line[pos : m.end()]
                    pos = quoting.opens(tok, line, at, m.end(), buf)
        if (inside := quoting.inside()) is not None:
            raise ScriptSyntaxError(
                f"the file ends inside {inside} that starts at line {self._start_line}", self.lines
            )
        if self._in_statement and not leading.only_comments(buf):
            raise ScriptSyntaxError(
                f"the file ends inside a statement that starts at line {self._start_line} (no closing ;)",
                self.lines,
            )

    def _between_statements(self, line: bytes) -> bool:
        """A blank or comment line between statements (a TOC header names what follows): True when
        there is nothing to read in it; else the line starts a statement."""
        stripped = line.strip()
        if stripped.startswith(b"--") and skip_comments(stripped, 0, self._check) == len(
            stripped
        ):  # \r ends it
            if stripped == TRAILER:
                self.complete = True
            if _may_be_toc_header(stripped) and (header := _TOC_HEADER.match(stripped)):
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
        self._leading.reset()
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
        if _NOTHING_MORE.match(line, pos):  # the rest of the line is blank or a comment
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


def skip_comments(text: bytes | bytearray, pos: int = 0, check: Callable[[], None] | None = None) -> int:
    """Where the first token after `pos` starts, past blanks, `--` comments (which end at a line
    break, \\r included, as in PostgreSQL's lexer) and nested /* comments */; each byte looked at once.
    `check` is called every few thousand comments (a reader's, see SqlScript)."""
    n = len(text)
    rounds = 0
    while pos < n:
        rounds += 1
        if check is not None and not rounds % 4096:
            check()
        if skipped := _SKIPPED.match(text, pos):
            pos = skipped.end()
            continue
        if text.startswith(b"--", pos):  # no line break ends it: the rest is comment
            return n
        if not text.startswith(b"/*", pos):
            return pos
        depth, pos = 1, pos + 2
        while depth and (m := _BLOCK_SPECIAL.search(text, pos)):
            depth += 1 if m.group() == b"/*" else -1
            pos = m.end()
        if depth:
            return pos
    return n


def _may_be_toc_header(line: bytes) -> bool:
    """Whether `_TOC_HEADER` can match: its parts in order, one `; Owner:` followed by what the pattern
    takes. Found in one pass; the pattern alone tries every way to split a line that fails, which on
    a long comment line full of `; Type: ` takes time cubic in its length."""
    prefix = b"-- Data for Name: " if line.startswith(b"-- Data for Name: ") else b"-- Name: "
    if not line.startswith(prefix):
        return False
    at = len(prefix)
    for part in _TOC_PARTS[:2]:
        if (at := line.find(part, at)) < 0:
            return False
        at += len(part)
    while (at := line.find(_TOC_PARTS[2], at)) >= 0:
        at += len(_TOC_PARTS[2])
        if at == len(line) or line.startswith((b" ", b"; Tablespace:"), at):
            return True
    return False


class _Leading:
    """Whether the statement read so far holds only blanks (`blank`), or only blanks and comments
    (`only_comments`: `skip_comments` of it reaches its end; psql sends such a rest, and the server
    runs nothing). The same answers as looking at the whole statement each time, but each byte is
    looked at once as the statement grows: asked on every line, that made a statement of many lines
    take time quadratic in its length. `reset` when the statement is emptied."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self._blank_end = 0  # the statement is blank up to here
        self._mode = "top"  # where the skip_comments scan stands: top | line | block | stopped
        self._pos = 0  # where it goes on (top, line)
        self._depth = 0  # block comments nest
        self._block_end = 0  # block: where skip_comments would stop, inside the unclosed comment
        self._search = 0  # block: where the search for /* and */ goes on

    def blank(self, text: bytearray) -> bool:
        self._blank_end = _BLANKS.match(text, self._blank_end).end()  # type: ignore[union-attr]
        return self._blank_end == len(text)

    def only_comments(self, text: bytearray) -> bool:
        n = len(text)
        while self._mode != "stopped" and self._step(text, n):
            pass
        if self._mode == "top":
            return self._pos >= n
        return self._mode == "line" or (self._mode == "block" and self._block_end == n)

    def _step(self, text: bytearray, n: int) -> bool:
        """One token further; False when the statement's end is reached (or the next byte decides)."""
        if self._mode == "top":
            self._pos = pos = _BLANKS.match(text, self._pos).end()  # type: ignore[union-attr]
            two = bytes(text[pos : pos + 2])
            if two in (b"", b"-", b"/"):
                return False
            if two == b"--":
                self._mode, self._pos = "line", pos + 2
            elif two == b"/*":
                self._mode, self._depth, self._block_end = "block", 1, pos + 2
                self._search = pos + 2
            else:
                self._mode = "stopped"
        elif self._mode == "line":
            if (m := _LINE_BREAK.search(text, self._pos)) is None:
                self._pos = n
                return False
            self._mode, self._pos = "top", m.end()
        else:
            if (m := _BLOCK_SPECIAL.search(text, self._search)) is None:
                self._search = max(self._search, n - 1)  # a */ may start at the last byte
                return False
            self._depth += 1 if m.group() == b"/*" else -1
            self._block_end = self._search = m.end()
            if not self._depth:
                self._mode, self._pos = "top", m.end()
        return True


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
