"""A throwaway server is private: as root it runs as an OS user of its run's own (never `nobody`),
gone when the run ends or, for a killed run, once the next run has reaped it; every login proves a
password of that server's own, on the socket too; nothing of pytest's environment reaches it."""

from __future__ import annotations

import os
import pwd
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from pytest_liftbackup.server import binaries as _binaries
from pytest_liftbackup.server.cluster_cache import ClusterCache
from pytest_liftbackup.server.databases import READER, SUPERUSER, conninfo_from
from pytest_liftbackup.server.throwaway import ThrowawayServer
from tests.conftest import PLAIN_NAME, Dumps, Scratch, servers_under
from tests.helpers import output, run, slow_dump

AS_ROOT = sys.platform != "win32" and os.geteuid() == 0
as_root = pytest.mark.skipif(not AS_ROOT, reason="the server changes user only when pytest runs as root")
CANARY = "LIFTBACKUP_TEST_CANARY"

# A run of its own: starts a throwaway server, says who runs it and where, waits for a line on stdin.
_HOLD = """
import sys
from pytest_liftbackup.server import binaries
from pytest_liftbackup.server.throwaway import ThrowawayServer
server = ThrowawayServer(binaries.choose(binaries.candidates([]), None, binaries.SERVER_TOOLS, "test"))
print(server.os_user.name if server.os_user else "", server.admin_conninfo()["host"], flush=True)
sys.stdin.readline()
server.close()
"""


@pytest.fixture(scope="module")
def server(pg_binaries: _binaries.PgBinaries) -> Iterator[ThrowawayServer]:
    server = ThrowawayServer(pg_binaries)
    yield server
    server.close()


def _hold(env: dict[str, str] | None = None) -> tuple[subprocess.Popen[str], str, str]:
    """A second run holding a server: the process, its server's OS user and socket folder."""
    proc = subprocess.Popen(
        [sys.executable, "-c", _HOLD],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )
    assert proc.stdout is not None
    user, host = proc.stdout.readline().split()
    return proc, user, host


def _end(proc: subprocess.Popen[str]) -> None:
    proc.communicate("\n", timeout=120)


def _exists(user: str) -> bool:
    try:
        pwd.getpwnam(user)
    except KeyError:
        return False
    return True


def _psql(server: ThrowawayServer, role: str, as_nobody: bool = False) -> subprocess.CompletedProcess[str]:
    """psql to the server as `role`, with no password: as us, or as the OS user nobody."""
    info = server.admin_conninfo()
    where = ["-h", info["host"], "-p", info["port"], "-U", role, "-d", "postgres"]
    command = [str(server.binaries.tool("psql")), "-w", "-X", *where, "-c", "SELECT 1"]
    env = {"PATH": os.environ["PATH"]}
    if as_nobody:
        nobody = pwd.getpwnam("nobody")
        return subprocess.run(
            command,
            capture_output=True,
            text=True,
            env=env,
            cwd="/",
            user=nobody.pw_uid,
            group=nobody.pw_gid,
            extra_groups=[],
        )
    return subprocess.run(command, capture_output=True, text=True, env=env, cwd="/")


@as_root
def test_another_os_user_cannot_reach_a_running_server_even_knowing_its_socket(
    server: ThrowawayServer,
) -> None:
    assert server.os_user is not None and server.os_user.name != "nobody"
    for role in (SUPERUSER, READER):
        done = _psql(server, role, as_nobody=True)
        assert done.returncode != 0 and "Permission denied" in done.stderr, done.stderr


def test_every_login_needs_the_servers_password_even_on_its_socket(server: ThrowawayServer) -> None:
    """Root (or the invoking user) passes the socket folder's mode, and still cannot log in without it."""
    for role in (SUPERUSER, READER):
        done = _psql(server, role)
        assert done.returncode != 0 and "no password supplied" in done.stderr, done.stderr
    with psycopg.connect(conninfo_from(server.admin_conninfo())) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_the_socket_and_data_folders_are_the_server_users_alone(server: ThrowawayServer) -> None:
    for folder in (server.workdir / "run", server.workdir / "data"):
        st = folder.stat()
        assert st.st_mode & 0o777 == 0o700
        assert st.st_uid == (server.os_user.uid if server.os_user else os.getuid())


def test_no_password_is_in_a_command_line_or_left_in_a_file(server: ThrowawayServer) -> None:
    database = server.create_database("argv")
    try:
        passwords = {server.admin_conninfo()["password"], *server.roles.passwords.values()}
        command_lines = subprocess.run(["ps", "-ww", "-eo", "args"], capture_output=True, text=True).stdout
        assert len(passwords) == 3 and not [p for p in passwords if p in command_lines]
        files = [p for p in server.workdir.rglob("*") if p.is_file() and not p.is_socket()]
        assert files and not [f for f in files if any(p.encode() in f.read_bytes() for p in passwords)]
    finally:
        server.drop_database(database)


def test_pytests_environment_does_not_reach_the_server(
    pg_binaries: _binaries.PgBinaries, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(CANARY, "secret")
    fresh = ThrowawayServer(pg_binaries)
    try:
        pid = (fresh.workdir / "data" / "postmaster.pid").read_text().split()[0]
        environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        assert environ and not [v for v in environ if v.startswith(CANARY.encode()) or b"secret" in v]
        assert any(v.startswith(b"PATH=") for v in environ)
    finally:
        fresh.close()


def test_a_cached_cluster_does_not_open_to_the_password_of_the_run_that_made_it(
    pg_binaries: _binaries.PgBinaries, tmp_path: Path
) -> None:
    """Each run sets its own superuser password on the copy before it listens; a kept restored
    cluster (reuse) also forgets the earlier run's reader password."""
    cache = ClusterCache(tmp_path / "cache")
    first = ThrowawayServer(pg_binaries, cache=cache, reuse="kept")
    old = {SUPERUSER: first.admin_conninfo()["password"], READER: first.roles.passwords[READER]}
    first.close(keep_as="kept")
    for reuse in (None, "kept"):
        again = ThrowawayServer(pg_binaries, cache=cache, reuse=reuse)
        try:
            assert again.reused if reuse else again.from_cache
            for role, password in old.items():
                info = {**again.admin_conninfo(), "user": role, "password": password}
                with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
                    psycopg.connect(conninfo_from(info)).close()
            reader = again.database("postgres").read_conninfo
            with psycopg.connect(conninfo_from(reader)) as conn:
                assert conn.execute("SELECT current_user").fetchone() == (READER,)
        finally:
            again.close()


@as_root
def test_two_concurrent_runs_use_users_of_their_own_removed_when_they_end() -> None:
    first, user_a, _ = _hold()
    second, user_b, _ = _hold()
    try:
        assert user_a != user_b and not {user_a, user_b} & {"nobody"}
        assert _exists(user_a) and _exists(user_b)
    finally:
        _end(first)
        _end(second)
    assert not _exists(user_a) and not _exists(user_b)


@as_root
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_an_interrupted_runs_user_is_removed_as_it_ends(
    sig: signal.Signals, dumps: Dumps, pytester: pytest.Pytester, scratch: Scratch, tmp_path: Path
) -> None:
    slow = slow_dump(dumps.plain, tmp_path / PLAIN_NAME)
    proc = subprocess.Popen(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", f"--liftbackup={slow}"],
        cwd=pytester.path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    user = ""
    while not user:  # the server's OS user, once it runs (the dump sleeps two minutes before it ends)
        assert proc.poll() is None, proc.communicate()[0]
        lines = [line for line in servers_under(scratch.tmpdir) if "unix_socket_directories" in line]
        user = Path(lines[0].split(" -D ", 1)[1].split()[0]).owner() if lines else ""
        time.sleep(0.1)
    assert user.startswith("liftbackup-") and _exists(user)
    proc.send_signal(sig)
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode != 0, out
    assert not _exists(user)


@as_root
def _removed_by_another_run(user: str) -> bool:
    """True when a run on another worker of this machine removed the killed run's user first (the
    reaper's lock folder has no lock of that user's any more, and the user is gone)."""
    return not _exists(user) and not any(Path("/run/liftbackup-users").glob(f"{user}.lock"))


def test_a_killed_runs_user_is_removed_by_the_next_run_and_a_live_runs_never(
    dumps: Dumps, pytester: pytest.Pytester, scratch: Scratch
) -> None:
    env = {"TMPDIR": str(scratch.tmpdir)}
    killed, dead_user, _ = _hold(env)
    live, live_user, _ = _hold(env)
    try:
        os.kill(killed.pid, signal.SIGKILL)
        killed.communicate(timeout=30)
        assert _exists(dead_user)
        result = run(pytester, f"--liftbackup={dumps.plain}")
        assert result.ret == 0, output(result)
        # OS users are the machine's: any run that starts meanwhile (another xdist worker's) may be the
        # next run that removes it; this run says so when it was the one
        said_here = f"removed what a killed run had left: OS user {dead_user}" in output(result)
        assert said_here or _removed_by_another_run(dead_user), output(result)
        assert not _exists(dead_user)
        assert _exists(live_user) and live.poll() is None
    finally:
        _end(live)
    assert not _exists(live_user)


def test_a_kept_server_opens_to_its_passfile_and_its_user_stays_until_removed(
    dumps: Dumps, pytester: pytest.Pytester, scratch: Scratch
) -> None:
    """--liftbackup-keep prints no password: the inspect command names a passfile only we can read;
    the run's user (as root) survives the next run's reaper and goes with the printed remove command."""
    kept = run(pytester, f"--liftbackup={dumps.plain}", "--liftbackup-keep")
    assert kept.ret == 0, output(kept)
    lines = {
        line.split(":", 1)[0].strip(): line.split(":", 1)[1].strip() for line in kept.outlines if ":" in line
    }
    inspect, remove = lines["inspect"], lines["remove"]
    passfile = Path(inspect.split("passfile=", 1)[1].split()[0].rstrip("'"))
    password = passfile.read_text().strip().rsplit(":", 1)[1]
    assert password not in output(kept) and passfile.stat().st_mode & 0o777 == 0o600
    header = next(line for line in kept.outlines if "kept running:" in line)
    user = header.split("running as OS user ", 1)[1].split(",")[0].split()[0] if AS_ROOT else ""
    try:
        again = run(pytester, f"--liftbackup={dumps.plain}")
        assert again.ret == 0 and "removed what a killed run had left" not in output(again)
        done = subprocess.run(
            ["bash", "-c", f"{inspect} -X -A -t -c 'SELECT current_user'"], capture_output=True, text=True
        )
        assert done.stdout.strip() == READER, done.stderr
        assert not AS_ROOT or _exists(user)
    finally:
        subprocess.run(["bash", "-c", remove], check=True)
    assert not AS_ROOT or not _exists(user)


@as_root
def test_a_user_named_in_liftbackup_run_as_is_used_as_it_is_and_kept() -> None:
    name = "lbtest-" + os.urandom(4).hex()
    subprocess.run(
        ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name], check=True
    )
    try:
        proc, user, _ = _hold({"LIFTBACKUP_RUN_AS": name})
        _end(proc)
        assert user == name and _exists(name)
    finally:
        subprocess.run(["userdel", name], check=True)


@as_root
def test_without_useradd_the_fallback_is_nobody_and_the_description_says_so(
    pg_binaries: _binaries.PgBinaries, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pytest_liftbackup.server import run_user, unprivileged

    monkeypatch.setattr(unprivileged, "_made", None)
    monkeypatch.setattr(run_user, "create", lambda: None)  # what it returns without useradd (macOS)
    fallback = ThrowawayServer(pg_binaries)
    try:
        assert fallback.description.endswith(
            "running as OS user nobody (no useradd here to make a user of the run's own)"
        )
    finally:
        fallback.close()
