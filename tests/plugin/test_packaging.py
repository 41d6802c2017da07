"""The package as users install it: README command 1 in a fresh virtualenv, without the extras, then
README command 2 in the same folder, as an unprivileged user (root is the CI run itself)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import REPO

ROOT = REPO
pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="the README's commands are POSIX shell")


def readme_commands() -> list[str]:
    """The first line of the README's first two ```bash blocks: install-and-run, install-and-test."""
    blocks = re.findall(r"^```bash\n(.*?)\n```", (ROOT / "README.md").read_text(), re.M | re.S)
    return [block.splitlines()[0] for block in blocks[:2]]


def as_user(command: str, folder: Path, home: Path) -> subprocess.CompletedProcess[str]:
    """`command` in bash, in `folder`, as `nobody` when we are root (pytest's bytecode lands in the
    installed package then, as for any user: root's environment here keeps none)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV", "PYTEST"))}
    env["HOME"] = str(home)
    env["PATH"] = ":".join(p for p in env["PATH"].split(":") if not p.startswith(sys.prefix))
    prefix: list[str] = []
    if os.geteuid() == 0:
        prefix = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "--"]
    return subprocess.run(
        [*prefix, "bash", "-c", command], cwd=folder, env=env, capture_output=True, text=True, timeout=900
    )


@pytest.fixture
def clone() -> Iterator[Path]:
    """The repository's files as a fresh clone has them, owned by the user who runs the commands."""
    base = Path(tempfile.mkdtemp(prefix="lb-clone-"))
    base.chmod(0o755)
    target = base / "clone"
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True)
    for name in tracked.stdout.splitlines():
        if (ROOT / name).is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, target / name)
    (base / "home").mkdir()
    if os.geteuid() == 0:
        subprocess.run(["chown", "-R", "nobody:nogroup", str(target), str(base / "home")], check=True)
    yield target
    shutil.rmtree(base, ignore_errors=True)


def test_readme_commands_one_after_the_other_as_a_user(clone: Path) -> None:
    first, second = readme_commands()
    home = clone.parent / "home"
    done = as_user(first + " -p no:cacheprovider", clone, home)
    out = done.stdout + done.stderr
    assert done.returncode == 0, out
    assert re.search(r"\n=+ 39 passed, 2 skipped in ", out), out
    assert "benchmark:" not in out  # pytest-benchmark is an extra: not installed, no header
    assert not (clone / ".benchmarks").exists()
    no_extra = as_user(". .venv/bin/activate && python -m pytest_liftbackup.trend", clone, home)
    assert "pip install 'pytest-liftbackup[benchmark]'" in no_extra.stdout + no_extra.stderr
    command = as_user(". .venv/bin/activate && liftbackup --version && liftbackup verify --help", clone, home)
    assert command.returncode == 0 and command.stdout.startswith("liftbackup 0."), command.stderr
    assert "--identity FILE" in command.stdout
    no_age = as_user(
        ". .venv/bin/activate && liftbackup backup --dsn 'host=/nonexistent' --dir d --encrypt-to age1x",
        clone,
        home,
    )
    assert no_age.returncode == 4  # pyrage is the [age] extra: a clear line, not a traceback
    assert (
        "age encryption needs pyrage, which is not installed: pip install 'pytest-liftbackup[age]'"
        in no_age.stderr
    )
    # command 2 as written, narrowed to one quick test file: the full suite is the CI run itself
    done = as_user(second + " tests/engine/test_sqlscript.py -q -p no:cacheprovider", clone, home)
    out = done.stdout + done.stderr
    assert done.returncode == 0, out
    assert re.search(r"\d+ passed", out), out
    where = as_user(
        ". .venv/bin/activate && cd / && python -c 'import pytest_liftbackup as p; print(p.__file__)'",
        clone,
        home,
    )
    assert where.stdout.strip() == str(clone / "pytest_liftbackup" / "__init__.py"), (
        where.stdout + where.stderr
    )
