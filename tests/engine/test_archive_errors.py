"""pg_restore's errors as a restore reports them (restore/archive)."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from pytest_liftbackup import find_dumps
from pytest_liftbackup.restore import archive as _archive_restore
from pytest_liftbackup.server.binaries import PgBinaries
from pytest_liftbackup.server.unprivileged import server_user
from tests.conftest import Dumps, write_bytes


def test_when_pg_restore_says_only_that_a_worker_died_the_archive_is_read_again_for_the_cause(
    dumps: Dumps, pg_binaries: PgBinaries, tmp_path: Path
) -> None:
    """Seen under load: `pg_restore -j2` of a cut-short archive printed only "a worker process died
    unexpectedly". Reading the archive again, into nothing, names what is wrong with it."""
    data = dumps.custom.read_bytes()
    cut = write_bytes(tmp_path / "lift.dump", data[: len(data) - 3000])
    work = Path(tempfile.mkdtemp(prefix="lb-archive-", dir="/tmp"))
    work.chmod(0o711)  # pg_restore runs as nobody when we are root: it must pass through
    try:
        for path, damaged in ((cut, True), (dumps.custom, False)):
            (info,) = find_dumps([path])
            access = _archive_restore.prepare(info, pg_binaries, work, server_user())
            try:
                cause = _archive_restore._cause_of_worker_death(access)
            finally:
                access.discard()
            if damaged:
                assert cause is not None and ("end of file" in cause or "corrupt archive" in cause), cause
            else:
                assert cause is None, cause
    finally:
        shutil.rmtree(work, ignore_errors=True)
