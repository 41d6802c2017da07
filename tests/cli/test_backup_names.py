"""`liftbackup backup` of databases whose names are not file names (`../../x`, a newline): the backup
stays inside --dir under a name of safe characters, and two databases never share a file name."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from tests.cli.conftest import PASSWORD, Live, liftbackup

SAFE = re.compile(r"^[A-Za-z0-9_-]{1,61}_backup_\d{8}_\d{6}\.sql$")


@contextmanager
def database_named(live: Live, name: str) -> Iterator[str]:
    """A copy of lift_simulator named `name` on the main server, and a DSN for it."""
    with live.admin() as conn:
        conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE lift_simulator").format(sql.Identifier(name)))
    admin = live.server.admin_conninfo()
    try:
        yield psycopg.conninfo.make_conninfo(
            host=admin["host"], port=admin["port"], user=live.user, password=PASSWORD, dbname=name
        )
    finally:
        with live.admin() as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))


def everything_under(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def test_a_database_named_like_a_path_is_backed_up_inside_dir(live: Live, tmp_path: Path) -> None:
    backups = tmp_path / "a" / "b" / "backups"
    with database_named(live, "../../x") as dsn:
        done = liftbackup("backup", "--dsn", dsn, "--dir", backups, "--json")
    assert done.returncode == 0, done.stderr
    (made,) = [p for p in backups.iterdir() if p.name.endswith(".sql")]
    assert SAFE.match(made.name) and made.name.startswith("------x-"), made.name
    assert everything_under(tmp_path) == [
        "a",
        "a/b",
        "a/b/backups",
        *sorted(f"a/b/backups/{n}" for n in (made.name, made.name + ".manifest.json", "liftbackup.log")),
    ]
    manifest = json.loads((backups / (made.name + ".manifest.json")).read_text())
    assert manifest["database"] == "../../x" and manifest["file"] == made.name
    for name in (made.name, made.name + ".manifest.json", "liftbackup.log"):  # only its owner reads it
        assert os.name == "nt" or (backups / name).stat().st_mode & 0o777 == 0o600, name


def test_a_database_named_with_a_newline_gets_a_one_line_file_name(live: Live, tmp_path: Path) -> None:
    with database_named(live, "lift\nrm -rf ~") as dsn:
        done = liftbackup("backup", "--dsn", dsn, "--dir", tmp_path, "--json")
    assert done.returncode == 0, done.stderr
    names = [p.name for p in tmp_path.iterdir()]
    (made,) = [n for n in names if n.endswith(".sql")]
    assert SAFE.match(made), made
    assert not any("\n" in n for n in names)
    assert "\n" not in (tmp_path / "liftbackup.log").read_text().rstrip("\n")  # one line per backup
    assert json.loads(done.stdout)["database"] == "lift\nrm -rf ~"


def test_names_made_safe_never_meet_and_stay_short() -> None:
    from pytest_liftbackup.api.backup import file_stem

    assert file_stem("lift_simulator") == "lift_simulator"
    assert file_stem("a-b") == "a-b"
    assert len({file_stem(n) for n in ("a/b", "a-b", "a\\b", "a.b", "a b", "A/B")}) == 6
    assert len(file_stem("é" * 31)) <= 61 and file_stem(".hidden")[0] != "."
    assert file_stem("x" * 63) != file_stem("x" * 62)


@pytest.mark.skipif(os.name == "nt", reason="a symbolic link needs a privilege on Windows")
def test_a_planted_folder_log_stops_the_backup_before_pg_dump(live: Live, tmp_path: Path) -> None:
    victim = tmp_path / "profile"
    victim.write_text("original\n")
    backups = tmp_path / "backups"
    backups.mkdir()
    (backups / "liftbackup.log").symlink_to(victim)
    done = liftbackup("backup", "--dsn", live.dsn, "--dir", backups)
    assert done.returncode == 2
    assert f"{backups / 'liftbackup.log'}: a symbolic link, not a log file of ours" in done.stderr
    assert victim.read_text() == "original\n"
    assert [p.name for p in backups.iterdir()] == ["liftbackup.log"]  # no backup, no partial file


@pytest.mark.skipif(os.name == "nt", reason="a symbolic link needs a privilege on Windows")
def test_a_link_planted_at_the_backups_name_stops_the_backup(live: Live, tmp_path: Path) -> None:
    from pytest_liftbackup._errors import LiftbackupError
    from pytest_liftbackup.api.backup import take_backup

    when = datetime(2026, 11, 17, 8, 0, 0)
    planted = tmp_path / "lift_simulator_backup_20261117_080000.sql"
    planted.symlink_to(tmp_path / "nowhere")  # dangling: exists() is False, the name is taken all the same
    dsn = live.dsn.replace(f"dbname={live.name}", "dbname=lift_simulator")
    with pytest.raises(LiftbackupError, match="a backup of that name exists already"):
        take_backup(dsn, tmp_path, now=when)
    assert planted.is_symlink() and not (tmp_path / "nowhere").exists()
    assert [p.name for p in tmp_path.iterdir()] == [planted.name]  # nothing written, not even the log
