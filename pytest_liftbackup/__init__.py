"""pytest-liftbackup: restore testing for PostgreSQL backups.

`pytest --liftbackup=backup.sql` restores the dump into a throwaway PostgreSQL and runs the restore
and the declarative checks (docs/checks.md) as test items. Without pytest, the same engine is one
call away: `verify(["backup.sql"], checks=["checks"])` (docs/api.md). The names below are imported
when first used, so loading the plugin stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from pytest_liftbackup._errors import (
    CheckWarning,
    DumpInputError,
    LiftbackupError,
    RestoreError,
    Setting,
    use_spelling,
)

if TYPE_CHECKING:
    from pytest_liftbackup.api import (
        Check,
        CheckOutcome,
        Limits,
        Progress,
        Restorer,
        RestorerConfig,
        Verdict,
        find_dumps,
        load_checks,
        run_checks,
        verify,
    )
    from pytest_liftbackup.dump.inspect import DumpInfo
    from pytest_liftbackup.restore.engine import RestoreOutcome

__version__ = "0.2.0"

_LAZY = {
    **dict.fromkeys(
        ("Check", "CheckOutcome", "Restorer", "RestorerConfig", "Verdict", "find_dumps", "load_checks"),
        "pytest_liftbackup.api",
    ),
    **dict.fromkeys(("run_checks", "verify", "Limits", "Progress"), "pytest_liftbackup.api"),
    "DumpInfo": "pytest_liftbackup.dump.inspect",
    "RestoreOutcome": "pytest_liftbackup.restore.engine",
}

__all__ = [
    "Check",
    "CheckOutcome",
    "CheckWarning",
    "DumpInfo",
    "DumpInputError",
    "LiftbackupError",
    "Limits",
    "Progress",
    "RestoreError",
    "RestoreOutcome",
    "Restorer",
    "RestorerConfig",
    "Setting",
    "Verdict",
    "__version__",
    "find_dumps",
    "load_checks",
    "run_checks",
    "use_spelling",
    "verify",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'pytest_liftbackup' has no attribute {name!r}")
