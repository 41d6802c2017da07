"""Every libpq setting of a connection, handed to pg_dump, pg_restore or psql without argv.

A process's arguments are visible to every user of the machine (`ps`), and a password in its environment
to every process of the same OS user (`/proc/PID/environ`), so the tools get each setting as the PG*
variable libpq documents for it ("Environment Variables" in the libpq chapter), the password in a 0600
password file in a private folder removed afterwards, and the few settings libpq has no variable for
(sslpassword, keepalives...) in a 0600 service file beside it.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from pytest_liftbackup._errors import Given, LiftbackupError, Setting
from pytest_liftbackup.server.unprivileged import OsUser

# keyword -> (variable, first major version whose libpq reads it): an older tool ignores an unknown
# variable without a word, so a setting it cannot honour is an error rather than silently dropped
# (unless it is the keyword's default, which an older tool behaves as anyway: _DEFAULTS).
VARIABLES: dict[str, tuple[str, int]] = {
    "host": ("PGHOST", 0),
    "hostaddr": ("PGHOSTADDR", 0),
    "port": ("PGPORT", 0),
    "dbname": ("PGDATABASE", 0),
    "user": ("PGUSER", 0),
    "passfile": ("PGPASSFILE", 0),
    "require_auth": ("PGREQUIREAUTH", 16),
    "channel_binding": ("PGCHANNELBINDING", 13),
    "service": ("PGSERVICE", 0),
    "servicefile": ("PGSERVICEFILE", 0),
    "options": ("PGOPTIONS", 0),
    "application_name": ("PGAPPNAME", 0),
    "sslmode": ("PGSSLMODE", 0),
    "requiressl": ("PGREQUIRESSL", 0),
    "sslnegotiation": ("PGSSLNEGOTIATION", 17),
    "sslcompression": ("PGSSLCOMPRESSION", 0),
    "sslcert": ("PGSSLCERT", 0),
    "sslkey": ("PGSSLKEY", 0),
    "sslcertmode": ("PGSSLCERTMODE", 16),
    "sslrootcert": ("PGSSLROOTCERT", 0),
    "sslcrl": ("PGSSLCRL", 0),
    "sslcrldir": ("PGSSLCRLDIR", 14),
    "sslsni": ("PGSSLSNI", 14),
    "requirepeer": ("PGREQUIREPEER", 0),
    "ssl_min_protocol_version": ("PGSSLMINPROTOCOLVERSION", 13),
    "ssl_max_protocol_version": ("PGSSLMAXPROTOCOLVERSION", 13),
    "min_protocol_version": ("PGMINPROTOCOLVERSION", 18),
    "max_protocol_version": ("PGMAXPROTOCOLVERSION", 18),
    "gssencmode": ("PGGSSENCMODE", 12),
    "krbsrvname": ("PGKRBSRVNAME", 0),
    "gsslib": ("PGGSSLIB", 0),
    "gssdelegation": ("PGGSSDELEGATION", 16),
    "connect_timeout": ("PGCONNECT_TIMEOUT", 0),
    "client_encoding": ("PGCLIENTENCODING", 0),
    "target_session_attrs": ("PGTARGETSESSIONATTRS", 12),
    "load_balance_hosts": ("PGLOADBALANCEHOSTS", 16),
}
_DEFAULTS = {
    "require_auth": "",
    "sslcertmode": "allow",
    "sslnegotiation": "postgres",
    "load_balance_hosts": "disable",
    "gssdelegation": "0",
    "min_protocol_version": "3.0",
    "max_protocol_version": "3.0",
    "channel_binding": "prefer",
    "sslcrldir": "",
    "sslsni": "1",
    "ssl_min_protocol_version": "TLSv1.2",
    "ssl_max_protocol_version": "",
    "target_session_attrs": "any",
    "gssencmode": "prefer",
}
_SERVICE = "liftbackup"  # our section of the private service file


def _passfile_line(password: str) -> str:
    """`*:*:*:*:password`, `:` and `\\` escaped as the password file wants; the file holds nothing else."""
    if "\n" in password or "\r" in password:
        raise LiftbackupError("the password holds a line break, which no libpq password file can carry")
    return "*:*:*:*:" + password.replace("\\", "\\\\").replace(":", "\\:") + "\n"


def _service_text(settings: Mapping[str, str]) -> str:
    lines = [f"[{_SERVICE}]"]
    for key, value in settings.items():
        if "\n" in value or "\r" in value:
            raise LiftbackupError(f"the connection setting {key} holds a line break; no tool can be given it")
        lines.append(f"{key}={value}")
    return "\n".join(lines) + "\n"


def variables(info: Mapping[str, str], major: int, tool: str = "the tool") -> dict[str, str]:
    """The PG* variables for `info` (without its password), for a tool of PostgreSQL `major`."""
    found: dict[str, str] = {}
    for key, value in info.items():
        if key not in VARIABLES or not value:
            continue
        name, since = VARIABLES[key]
        if major < since and value == _DEFAULTS.get(key):
            continue
        if major < since:
            raise LiftbackupError(
                f"the connection setting {key} needs {tool} {since} or later, and this one is {major}: "
                "install a newer PostgreSQL client and pass its bin folder with ",
                Given(Setting.PG_BIN, "DIR"),
            )
        found[name] = value
    return found


@contextmanager
def tool_env(
    info: Mapping[str, str],
    major: int,
    owner: OsUser | None = None,
    tool: str = "the tool",
    base: Path | None = None,
) -> Iterator[dict[str, str]]:
    """The environment for one tool run against the connection `info` describes: ours (HOME, PATH...)
    with every PG* variable of our own replaced by the connection's; a password only in a 0600 file.

    `owner` is the OS user the tool runs as when not as ourselves (the throwaway server's): its files
    are given to it, in a folder made under `base` (one it can enter). Everything written is removed
    on exit."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    password = info.get("password", "")
    rest = {k: v for k, v in info.items() if k not in VARIABLES and k != "password" and v}
    env.update(variables(info, major, tool))
    if not password and not rest:
        yield env
        return
    if rest and "service" in info:
        raise LiftbackupError(
            f"the connection names a service and sets {', '.join(sorted(rest))}, which libpq reads only from "
            "a service file: put those settings in the service's own section"
        )
    folder = Path(tempfile.mkdtemp(prefix="liftbackup-libpq-", dir=base))  # 0700: only we (and root) enter
    try:
        files = []
        if password:
            files.append(write_passfile(folder / "pgpass", password))
            env["PGPASSFILE"] = str(files[-1])
        if rest:
            files.append(_private(folder / "pg_service.conf", _service_text(rest)))
            env.update(PGSERVICEFILE=str(files[-1]), PGSERVICE=_SERVICE)
        if owner is not None:
            for path in (folder, *files):
                os.chown(path, owner.uid, owner.gid)
        yield env
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def write_passfile(path: Path, password: str) -> Path:
    """A new libpq password file at `path` holding `password` for every server and user, mode 0600."""
    return _private(path, _passfile_line(password))


def _private(path: Path, text: str) -> Path:
    """A new file only its owner may read: created 0600, never through a name someone planted."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)
    return path
