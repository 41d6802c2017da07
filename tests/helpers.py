"""Running pytest with the plugin in a real subprocess, as users do."""

from __future__ import annotations

import pytest

from tests.conftest import Scratch


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", *[str(a) for a in args])


def output(result: pytest.RunResult) -> str:
    return "\n".join(result.outlines + result.errlines)


def assert_clean(scratch: Scratch) -> None:
    assert scratch.leftovers() == [], "the run left files behind"
