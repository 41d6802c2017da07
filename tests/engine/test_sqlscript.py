"""The plain-dump lexer: statements, COPY blocks and meta-commands where psql would see them."""

from __future__ import annotations

import io

import pytest

from pytest_liftbackup.dump.sql_script import CopyBlock, MetaCommand, ScriptSyntaxError, SqlScript, Statement


def events(text: bytes) -> list[object]:
    result: list[object] = []
    for event in SqlScript(io.BytesIO(text)):
        if isinstance(event, CopyBlock):
            result.append(("COPY", event.statement.sql, b"".join(event.data)))
        elif isinstance(event, Statement):
            result.append(event.sql)
        else:
            result.append(event)
    return result


def test_semicolons_inside_quotes_comments_and_dollar_bodies_do_not_end_a_statement() -> None:
    sql = (
        b"SELECT 'a;b''c', E'x\\';y', \"we;ird\"\"x\", $f$ ; $f$, $$;$$, a$b$c;"
        b" /* c ; /* nested ; */ ; */ SELECT 2;\n"
    )
    assert events(sql) == [
        b"SELECT 'a;b''c', E'x\\';y', \"we;ird\"\"x\", $f$ ; $f$, $$;$$, a$b$c;",
        b"/* c ; /* nested ; */ ; */ SELECT 2;",
    ]


def test_a_statement_over_several_lines_keeps_its_first_line_number() -> None:
    script = SqlScript(io.BytesIO(b"\n\nCREATE TABLE t (\n  a int\n);\nSELECT 1;\n"))
    lines = [e.line for e in script if isinstance(e, Statement)]
    assert lines == [3, 6]


def test_copy_data_is_passed_through_untouched_including_backslashes() -> None:
    sql = b"COPY t (a) FROM stdin;\n1\tx\\ny\n\\! not a command in COPY data\n\\.\nSELECT 1;\n"
    assert events(sql) == [
        ("COPY", b"COPY t (a) FROM stdin;", b"1\tx\\ny\n\\! not a command in COPY data\n"),
        b"SELECT 1;",
    ]


def test_meta_commands_are_reported_with_their_line_even_mid_statement() -> None:
    found = [
        e
        for e in SqlScript(io.BytesIO(b"\\restrict k1\nSELECT 1 \\! rm -rf /\n;\n\\i other.sql\n"))
        if isinstance(e, MetaCommand)
    ]
    assert found == [
        MetaCommand("restrict", "k1", 1),
        MetaCommand("!", "rm -rf /", 2),
        MetaCommand("i", "other.sql", 4),
    ]


def test_a_backslash_inside_a_standard_string_is_not_a_meta_command() -> None:
    assert events(b"SELECT 'C:\\temp\\!x';\n") == [b"SELECT 'C:\\temp\\!x';"]


def test_toc_headers_name_the_object_each_statement_restores() -> None:
    script = SqlScript(
        io.BytesIO(
            b"--\n-- Name: t; Type: TABLE; Schema: lift_simulator; Owner: lift_admin\n--\n\nCREATE TABLE t ();\n"
        )
    )
    (statement,) = list(script)
    assert str(statement.entry) == "TABLE lift_simulator.t"
    assert statement.entry.owner == "lift_admin"


def test_the_trailer_marks_the_script_complete() -> None:
    script = SqlScript(io.BytesIO(b"SELECT 1;\n--\n-- PostgreSQL database dump complete\n--\n"))
    list(script)
    assert script.complete
    cut = SqlScript(io.BytesIO(b"SELECT 1;\n"))
    list(cut)
    assert not cut.complete


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (b"COPY t (a) FROM stdin;\n1\n2\n", "the COPY data that starts at line 1 is cut short"),
        (b"SELECT 'open\n", "ends inside a quoted string that starts at line 1"),
        (b"CREATE FUNCTION f() AS $body$\nBEGIN\n", "ends inside a $body$ quoted body"),
        (b"SELECT 1\n", "ends inside a statement that starts at line 1 (no closing ;)"),
    ],
)
def test_a_script_cut_short_is_an_error_naming_where(text: bytes, message: str) -> None:
    with pytest.raises(
        ScriptSyntaxError, match=message.replace("$", r"\$").replace("(", r"\(").replace(")", r"\)")
    ):
        events(text)


def test_a_toc_header_without_an_owner_still_starts_a_new_entry() -> None:
    text = (
        b"-- Name: vector; Type: EXTENSION; Schema: -; Owner: -\n\nCREATE EXTENSION IF NOT EXISTS vector;\n"
        b"-- Name: EXTENSION vector; Type: COMMENT; Schema: -; Owner: \n\nCOMMENT ON EXTENSION vector IS 'v';\n"
    )
    first, second = list(SqlScript(io.BytesIO(text)))
    assert (first.entry.type, second.entry.type, second.entry.owner) == ("EXTENSION", "COMMENT", "")


@pytest.mark.parametrize(
    "header",
    [
        b"-- Name: lift_system; Type: TABLE; Schema: lift_simulator; Owner: lift_admin; Tablespace: ",
        b"-- Name: lift_system; Type: TABLE; Schema: lift_simulator; Owner: lift_admin; Tablespace: fast",
        b"-- Name: lift_system; Type: TABLE; Schema: lift_simulator; Owner: lift_admin",
    ],
    ids=["pg_dump-8-9-empty-tablespace", "tablespace", "modern"],
)
def test_toc_headers_of_every_pg_dump_version_name_the_owner(header: bytes) -> None:
    """pg_dump 8 and 9 end headers with '; Tablespace: ' (trailing space): no role 'X; Tablespace:'."""
    [statement] = SqlScript(io.BytesIO(header + b"\n--\n\nCREATE TABLE t (a int);\n"))
    assert isinstance(statement, Statement) and statement.entry is not None
    assert statement.entry.owner == "lift_admin"
