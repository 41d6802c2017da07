"""docs/checks.md: every YAML example in it runs as written against the lift_simulator dump, every kind
is documented, and the documented ways to treat warnings work."""

from __future__ import annotations

import json
import re

import pytest

from pytest_liftbackup.checks.vocabulary import KINDS
from tests.conftest import Dumps
from tests.helpers import REPO, output, run
from tests.lift_simulator import build

DOC = REPO / "docs" / "checks.md"
EXAMPLES = re.findall(r"```yaml\n(.*?)```", DOC.read_text(), re.S)


def test_every_kind_has_an_example() -> None:
    for kind in KINDS:
        assert any(re.search(rf"[\s{{]{kind}:", block) for block in EXAMPLES), kind


@pytest.fixture
def documented(pytester: pytest.Pytester) -> int:
    folder = pytester.path / "checks"
    folder.mkdir()
    for number, block in enumerate(EXAMPLES):
        (folder / f"doc_{number:02d}.yml").write_text(block)
    return sum(block.count("\n  ") for block in EXAMPLES)


def test_documented_examples_pass_on_the_lift_simulator_dump(
    pytester: pytest.Pytester, dumps: Dumps, documented: int
) -> None:
    result = run(
        pytester,
        f"--liftbackup={dumps.plain}",
        f"--liftbackup-migrations={build.MIGRATIONS}",
        "--liftbackup-report=out.json",
    )
    assert result.ret == 0, output(result)
    verdict = json.loads((pytester.path / "out.json").read_text())
    checks = {c["nodeid"]: c["outcome"] for c in verdict["dumps"][0]["checks"]}
    assert len(checks) >= 28
    (warned,) = [n for n in checks if n.endswith("::display_names_mostly_set")]
    assert checks.pop(warned) == "warned"  # 3 of 12 descriptions are NULL: 25 %
    assert set(checks.values()) == {"passed"}


def test_warnings_become_failures_with_a_warnings_filter(
    pytester: pytest.Pytester, dumps: Dumps, documented: int
) -> None:
    result = run(
        pytester,
        f"--liftbackup={dumps.plain}",
        "-W",
        "error::pytest_liftbackup.CheckWarning",
        "-k",
        "display_names_mostly_set",
    )
    result.assert_outcomes(failed=1, deselected=result.parseoutcomes()["deselected"])
    assert "3 rows of lift_system have NULL in description" in output(result)
