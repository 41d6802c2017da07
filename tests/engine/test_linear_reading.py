"""Reading in linear time changes no split: degenerate scripts split as psql's rules say, the
incremental bookkeeping agrees with looking at the whole statement, and a reader's `check` is
called inside one long line too (benchmarks/test_degenerate_reading.py shows the times)."""

from __future__ import annotations

import io
import re
import tracemalloc

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_liftbackup.dump import sql_script
from pytest_liftbackup.dump.sql_script import Event, MetaCommand, SqlScript, Statement, skip_comments

_BLOCK = re.compile(rb"/\*|\*/")


def reference_skip(text: bytes, pos: int = 0) -> int:
    """skip_comments as it was written first, a byte at a time: the definition the fast one keeps."""
    n = len(text)
    while pos < n:
        if text[pos : pos + 1].isspace():
            pos += 1
        elif text.startswith(b"--", pos):
            ends = [at for at in (text.find(b"\n", pos), text.find(b"\r", pos)) if at >= 0]
            pos = min(ends) + 1 if ends else n
        elif text.startswith(b"/*", pos):
            depth, pos = 1, pos + 2
            while depth and (m := _BLOCK.search(text, pos)):
                depth += 1 if m.group() == b"/*" else -1
                pos = m.end()
            if depth:
                return pos
        else:
            return pos
    return n


def events(text: bytes) -> list[Event]:
    return list(SqlScript(io.BytesIO(text)))


PIECES = [b"-", b"/", b"*", b"--", b"/*", b"*/", b"\r", b"\n", b" ", b"\t", b"\x0b", b"a", b";", b"x"]
TEXTS = st.lists(st.sampled_from(PIECES), max_size=40).map(b"".join)


@settings(max_examples=500, deadline=None)
@given(TEXTS, st.integers(0, 5))
def test_skip_comments_is_the_byte_at_a_time_definition(text: bytes, start: int) -> None:
    assert skip_comments(text, min(start, len(text))) == reference_skip(text, min(start, len(text)))


@settings(max_examples=500, deadline=None)
@given(TEXTS, st.lists(st.integers(1, 5), max_size=40))
def test_the_statement_so_far_is_judged_as_if_read_whole(text: bytes, cuts: list[int]) -> None:
    """As a statement grows by pieces, `_Leading` answers what looking at all of it would."""
    leading, buf, at = sql_script._Leading(), bytearray(), 0
    for cut in [*cuts, len(text)]:
        buf += text[at : at + cut]
        at += cut
        assert leading.only_comments(buf) == (reference_skip(bytes(buf)) == len(buf)), bytes(buf)
        assert leading.blank(buf) == (not bytes(buf).strip()), bytes(buf)


HEADER_PIECES = [b"; Type: ", b"; Schema: ", b"; Owner:", b"; Tablespace:", b" ", b"x", b";", b"Data for "]


@settings(max_examples=500, deadline=None)
@given(
    st.sampled_from([b"-- Name: ", b"-- Data for Name: ", b"-- Nam"]),
    st.lists(st.sampled_from(HEADER_PIECES)),
)
def test_a_toc_header_is_tried_exactly_when_the_pattern_can_match(head: bytes, parts: list[bytes]) -> None:
    line = head + b"".join(parts)
    assert sql_script._may_be_toc_header(line) == bool(sql_script._TOC_HEADER.match(line)), line


@pytest.mark.parametrize(
    ("text", "sql", "line"),
    [
        (b"SELECT 1" + b"\n" * 100_000 + b";\n", b"SELECT 1" + b"\n" * 100_000 + b";", 1),  # the issue's
        (b"\n/* c */\n" + b"\n" * 100_000 + b"SELECT 1;\n", b"/* c */\nSELECT 1;", 100_003),  # starts nothing
        (b"SELECT 1\n" + b"-- c\n" * 50_000 + b";\n", b"SELECT 1\n" + b"-- c\n" * 50_000 + b";", 1),
        (b"SELECT $q$" + b"x;\n" * 50_000 + b"$q$;\n", b"SELECT $q$" + b"x;\n" * 50_000 + b"$q$;", 1),
        (b"SELECT '" + b"x;\n" * 50_000 + b"';\n", b"SELECT '" + b"x;\n" * 50_000 + b"';", 1),
        (b"SELECT E'" + b"\\';" * 50_000 + b"';\n", b"SELECT E'" + b"\\';" * 50_000 + b"';", 1),
        (b"/*" * 50_000 + b"*/" * 50_000 + b"SELECT 1;\n", b"/*" * 50_000 + b"*/" * 50_000 + b"SELECT 1;", 1),
        (
            b"SELECT " + b"(" * 50_000 + b")" * 50_000 + b";\n",
            b"SELECT " + b"(" * 50_000 + b")" * 50_000 + b";",
            1,
        ),
    ],
    ids=[
        "newlines",
        "after a comment",
        "comment lines",
        "dollar body",
        "string",
        "E string",
        "nesting",
        "parentheses",
    ],
)
def test_degenerate_statements_split_as_psql_reads_them(text: bytes, sql: bytes, line: int) -> None:
    [statement] = events(text)
    assert isinstance(statement, Statement)
    assert (statement.sql.strip(), statement.line) == (sql, line)


def test_many_statements_and_meta_commands_on_long_lines() -> None:
    found = events(b"SELECT 1;" * 100_000 + b"\n" + b"SELECT 2\n" + b"x \\c db\n" * 1000 + b";\n")
    assert sum(isinstance(e, Statement) and e.sql == b"SELECT 1;" for e in found) == 100_000
    assert sum(isinstance(e, MetaCommand) for e in found) == 1000
    assert isinstance(found[-1], Statement) and found[-1].sql == b"SELECT 2\n" + b"x " * 1000 + b";"


def test_a_long_comment_line_full_of_header_parts_is_just_a_comment() -> None:
    """The header pattern alone tried every split of such a line: minutes for 20 kB, cubic."""
    found = events(b"-- Name: " + b"; Type: ; Schema: " * 1200 + b"\nSELECT 1;\n")
    assert [(e.sql, e.entry) for e in found if isinstance(e, Statement)] == [(b"SELECT 1;", None)]


def test_the_check_is_called_inside_one_long_line(monkeypatch: pytest.MonkeyPatch) -> None:
    """Once as the line is read, then every CHECK_EVERY tokens: a line of many tokens is stopped too."""
    monkeypatch.setattr(sql_script, "CHECK_EVERY", 1000)
    calls: list[int] = []

    def check() -> None:
        calls.append(1)
        if len(calls) == 2:
            raise TimeoutError("stop")

    read: list[Event] = []
    with pytest.raises(TimeoutError):
        read.extend(SqlScript(io.BytesIO(b";" * 5000 + b"\n"), check=check))
    assert len(calls) == 2
    assert 0 < len(read) < 5000


def test_a_line_of_a_million_comments_is_read_in_constant_memory() -> None:
    """One pattern repeated over every comment kept re's memory for each: 230 MB for these 3 MB."""
    tracemalloc.start()
    try:
        found = events(b"--\r" * 1_000_000 + b"\nSELECT 1 " + b"--\r" * 1_000_000 + b";\n")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert [e.sql[:9] for e in found if isinstance(e, Statement)] == [b"SELECT 1 "]
    assert peak < 16 << 20  # the 3 MB statement and its line, and no more


def test_the_check_is_called_inside_one_run_of_comments() -> None:
    calls: list[int] = []

    def check() -> None:
        calls.append(1)
        raise TimeoutError("stop")

    with pytest.raises(TimeoutError):
        skip_comments(b"/* */" * 10_000, 0, check)
    assert calls == [1]


def test_a_connect_with_a_name_no_database_has_is_refused_without_matching_it() -> None:
    tracemalloc.start()
    try:
        why = sql_script.meta_arguments_refused(MetaCommand("connect", '"' + "a" * 1_000_000 + '"', 1))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert why == "not a plain database name"
    assert peak < 4 << 20  # matching it took 120 MB


@pytest.mark.parametrize(
    "text",
    [
        b"ALTER TABLE public.t OWNER TO %s;",
        b"GRANT SELECT ON TABLE public.t TO %s;",
        b"CREATE INDEX i ON public.%s USING btree (id);",
    ],
    ids=["owner", "grant", "index"],
)
def test_a_huge_quoted_name_is_matched_in_memory_of_its_size(text: bytes) -> None:
    """A quoted identifier written as `"(?:[^"]|"")+"` kept re's memory for every character (2.3 GB
    for a 20 MB name); the role and task patterns read names while the dump is scanned."""
    from pytest_liftbackup.restore import roles, tasks

    statement = Statement(text % (b'"' + b"a" * 4_000_000 + b'""b"'), 1, None)
    tracemalloc.start()
    try:
        found = roles.roles_in(statement)
        task = tasks.task_for(statement)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 64 << 20  # a few copies of the 4 MB statement, not a record per character
    assert found == ({"a" * 4_000_000 + '"b'} if b"INDEX" not in text else set())
    assert (task is not None) == (b"INDEX" in text)
