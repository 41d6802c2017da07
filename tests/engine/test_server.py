"""The throwaway server, as other processes on the machine see it."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from pytest_liftbackup.server.binaries import PgBinaries
from pytest_liftbackup.server.throwaway import ThrowawayServer


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")
def test_the_server_carries_no_mark_another_pytest_run_would_kill(pg_binaries: PgBinaries) -> None:
    """mirakuru kills, when a process that loaded it exits, every process whose `mirakuru_uuid`
    contains that process's pid: on a machine running other pytest runs as the same user, any of them
    could kill this server. The server carries no such mark."""
    server = ThrowawayServer(pg_binaries)
    try:
        pid = (server.workdir / "data" / "postmaster.pid").read_text().split()[0]
        environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        assert any(entry.startswith(b"PATH=") for entry in environ)  # read the real environment
        assert not [entry for entry in environ if entry.startswith(b"mirakuru_uuid=")]
    finally:
        server.close()
