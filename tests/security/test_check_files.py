"""Class 10: a check file cannot stall or exhaust collection. Aliases as keys (billion laughs),
alias expansion, recursive aliases and SQL nested too deep for the parser are ordinary collection
errors with file and line."""

from __future__ import annotations

import pytest

from tests.conftest import Dumps, Scratch
from tests.helpers import assert_clean, output, run

LAUGHS = "".join(f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 10)}]\n" for i in range(1, 10))

HOSTILE = {
    "alias_as_key": (
        "l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
        + LAUGHS
        + "checks:\n  ? *l9\n  : {row_count: x}\n",
        "checks/bad.yml:1: aliases expand this document to more than 100000 values; write it out plainly",
    ),
    "list_as_key": (
        "checks:\n  ? [a, b]\n  : {row_count: x}\n",
        "checks/bad.yml:2: a key must be a plain name, not a list, mapping or alias of one",
    ),
    "alias_expansion": (
        "l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + LAUGHS + "checks: {}\n",
        "checks/bad.yml:1: aliases expand this document to more than 100000 values; write it out plainly",
    ),
    "recursive_alias": (
        "loop: &loop [*loop]\nchecks: {}\n",
        "checks/bad.yml:1: aliases expand this document to more than 100000 values; write it out plainly",
    ),
    "deep_yaml": (
        "checks: " + "[" * 5000 + "]" * 5000 + "\n",
        "checks/bad.yml:1: nested too deeply to read; flatten the structure",
    ),
    "deep_sql": (
        "checks:\n  deep:\n    sql: SELECT " + "(" * 3000 + "1" + ")" * 3000 + "\n",
        "checks/bad.yml:3: check 'deep', 'sql': SQL nested too deeply to parse; simplify it",
    ),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_check_file_is_a_located_collection_error(
    case: str, pytester: pytest.Pytester, dumps: Dumps, scratch: Scratch
) -> None:
    text, message = HOSTILE[case]
    (pytester.path / "checks").mkdir()
    (pytester.path / "checks" / "bad.yml").write_text(text)
    result = run(pytester, f"--liftbackup={dumps.plain}")
    out = output(result)
    assert result.ret == pytest.ExitCode.INTERRUPTED, out
    assert message in out, out
    assert "Traceback" not in out and "RecursionError" not in out and "INTERNALERROR" not in out
    assert_clean(scratch)
