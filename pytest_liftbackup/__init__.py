"""pytest-liftbackup: restore testing for PostgreSQL backups.

`pytest --liftbackup=backup.sql` restores the dump into a throwaway PostgreSQL and runs the
restore and the declarative checks (docs/checks.md) as test items. The public names are the
types its fixtures give and the warning that `severity: warn` checks raise.
"""

from pytest_liftbackup._errors import CheckWarning, DumpInputError, LiftbackupError, RestoreError
from pytest_liftbackup.dump.inspect import DumpInfo
from pytest_liftbackup.restore.engine import RestoreOutcome

__all__ = [
    "CheckWarning",
    "DumpInfo",
    "DumpInputError",
    "LiftbackupError",
    "RestoreError",
    "RestoreOutcome",
    "__version__",
]
__version__ = "0.2.0"
